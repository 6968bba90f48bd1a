/*
 * The runtime's start and its manager thread.
 *
 * libcairn.so is preloaded by `cairn run`. Its constructor learns what it
 * needs of this libc (where struct pthread keeps the TID, the rseq area),
 * notes the descriptors and limits the program started with, installs the
 * checkpoint signal handler and starts the manager: a thread that waits on
 * the control socket and runs checkpoints (dump.c). After a restart the
 * manager thread is the one that finishes the job (restored_finish()).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "runtime/callbacks.h"
#include "runtime/lower_glue.h"
#include "runtime/control.h"
#include "runtime/runtime.h"

struct rt_state rt;
struct restore_info cairn_restore_info;
const struct cairn_lower_half *rt_lower;

EXPORT int cairn_lower_half_register(const struct cairn_lower_half *lh)
{
	if (!rt.ready)
		return -1;
	if (lh && lh->version != CAIRN_LOWER_HALF_VERSION)
		return -1;
	__atomic_store_n(&rt_lower, lh, __ATOMIC_RELEASE);
	return 0;
}

EXPORT char *const *cairn_restart_environ(void)
{
	static char *vec[1024];
	const struct restore_info *ri = &cairn_restore_info;
	uint32_t len = ri->env_len < RESTORE_ENV_MAX ? ri->env_len : RESTORE_ENV_MAX;
	size_t n = 0;

	if (!rt.generation || !len)
		return NULL;
	for (uint32_t off = 0; off < len && n + 1 < sizeof(vec) / sizeof(vec[0]);) {
		const char *s = ri->env + off;
		size_t l = strnlen(s, len - off);
		if (off + l >= len)
			break; /* unterminated: drop */
		vec[n++] = (char *)s;
		off += (uint32_t)l + 1;
	}
	vec[n] = NULL;
	return vec;
}
extern int64_t rt_mono_adjust;

extern const int __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

static void *manager_main(void *arg);

/* Where this libc keeps a thread's TID inside its struct pthread: found by
 * looking for our TID near the thread pointer, then checked in a second
 * thread. */
static unsigned find_tid_offset(void)
{
	char *self = (char *)pthread_self();
	pid_t tid = sys_gettid();

	for (unsigned off = 0; off < 2048; off += 4)
		if (*(pid_t *)(self + off) == tid)
			return off;
	return 0;
}

static int make_rundir(char *dir, size_t len)
{
	struct stat st;

	ctl_rundir(getuid(), dir, len);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -1;
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
	    (st.st_mode & 0077)) {
		rt_log("control directory %s is not a private directory of ours", dir);
		return -1;
	}
	return 0;
}

/* Removes sockets of processes that no longer exist. */
static void clean_rundir(const char *dir)
{
	char buf[4096], path[512];
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return;
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (long off = 0; off < n;) {
			struct {
				uint64_t ino;
				int64_t off;
				unsigned short reclen;
				unsigned char type;
				char name[];
			} *d = (void *)(buf + off);
			off += d->reclen;
			char *end;
			long pid = strtol(d->name, &end, 10);
			if (*end || pid <= 0 || pid == rt.pid)
				continue;
			if (kill((pid_t)pid, 0) < 0 && errno == ESRCH) {
				fmt(path, sizeof(path), "%s/%s", dir, d->name);
				unlink(path);
			}
		}
	}
	close(fd);
}

int control_listen(void)
{
	char dir[256];
	struct sockaddr_un sa;
	int fd;

	if (make_rundir(dir, sizeof(dir)) < 0)
		return -1;
	clean_rundir(dir);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	fmt(sa.sun_path, sizeof(sa.sun_path), "%s/%d", dir, (int)rt.pid);
	unlink(sa.sun_path);
	mode_t old = umask(0077);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || listen(fd, 8) < 0) {
		close(fd);
		return -1;
	}
	fmt(rt.sock_path, sizeof(rt.sock_path), "%s", sa.sun_path);
	rt.listen_fd = fd_high(fd);
	return 0;
}

static void note_limits(void)
{
	for (int r = 0; r < NRLIM; r++)
		getrlimit(r, &rt.rlim_start[r]);
}

static void start_manager(void)
{
	pthread_t t;
	pthread_attr_t a;
	sigset_t all, old;

	rt.listen_fd = -1;
	rt.client_fd = -1;
	rt.event_fd = -1;
	if (callbacks_make_event() < 0 || control_listen() < 0) {
		rt_log("cannot create the control socket: %s", strerror(errno));
		return;
	}
	/* SIGSYS stays open: under a split lower half (src/split) a seccomp
	 * trap with SIGSYS blocked kills the process, and the manager's
	 * sigaction queries are trapped */
	sigfillset(&all);
	sigdelset(&all, CKPT_SIGNAL);
	sigdelset(&all, SIGSYS);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, 256 * 1024);
	if (pthread_create(&t, &a, manager_main, NULL) != 0)
		rt_log("cannot start the manager thread");
	pthread_attr_destroy(&a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void after_fork_child(void)
{
	rt.pid = getpid();
	rt_tid = sys_gettid();
	rt.manager_tid = 0;
	if (rt_job_fd >= 0) {
		close(rt_job_fd); /* the parent's membership of the job */
		rt_job_fd = -1;
	}
	start_manager();
}

/* The runtime works only when the program's calls reach its wrappers
 * before libc's (wrap.c, signals.c): it must come first in symbol lookup,
 * as LD_PRELOAD puts it. Loaded after libc (as a dependency of a library
 * linked into the program, like libcr), it stays dormant; libcr then
 * re-executes the program with the runtime preloaded. */
static int interposed(void)
{
	Dl_info mine, found;
	void *f = dlsym(RTLD_DEFAULT, "sigaction");

	return f && dlsym(RTLD_NEXT, "sigaction") && dladdr((void *)interposed, &mine) &&
	       dladdr(f, &found) && mine.dli_fbase == found.dli_fbase;
}

EXPORT int cairn_blcr_runtime_active(void)
{
	return rt.ready;
}

__attribute__((constructor)) static void cairn_init(void)
{
	if (rt.ready || !interposed())
		return;
	rt.pid = getpid();
	rt_tid = sys_gettid();
	rt.tid_offset = find_tid_offset();
	if (&__rseq_size && &__rseq_offset) {
		rt.rseq_size = __rseq_size;
		rt.rseq_offset = __rseq_offset;
	}
	signals_init();
	files_note_std(0);
	note_limits();
	threads_install_handler();
	pthread_atfork(NULL, NULL, after_fork_child);
	job_init();
	start_manager();
	rt.ready = 1;
}

static void reply(int fd, const struct ckpt_result *res)
{
	struct ctl_reply r;

	memset(&r, 0, sizeof(r));
	r.magic = CTL_MAGIC;
	r.status = res->status;
	r.refusal = (uint32_t)res->refusal;
	r.code = res->code;
	r.size = res->size;
	r.total_ns = res->total_ns;
	r.pause_ns = res->pause_ns;
	memcpy(r.msg, res->msg, sizeof(r.msg));
	if (send(fd, &r, sizeof(r), MSG_NOSIGNAL) < 0)
		rt_log("cannot reply: %s", strerror(errno));
}

/* Reads the request and the descriptor that may come with it. */
static int read_request(int fd, struct ctl_request *req, int *passed)
{
	char *c = (char *)req;
	size_t len = sizeof(*req);
	int first = 1;

	*passed = -1;
	while (len) {
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int))];
		} u;
		struct iovec iov = {c, len};
		struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
		if (first) {
			m.msg_control = u.buf;
			m.msg_controllen = sizeof(u.buf);
		}
		ssize_t n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		if (first) {
			struct cmsghdr *h = CMSG_FIRSTHDR(&m);
			if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS &&
			    h->cmsg_len == CMSG_LEN(sizeof(int)))
				memcpy(passed, CMSG_DATA(h), sizeof(int));
			first = 0;
		}
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/* What the requester asked for once the process has answered: the end of
 * the process, or a signal; or the end a refusing callback asked for. */
void after_reply(const struct ckpt_request *req, const struct ckpt_result *res)
{
	if (res->status == 0 && (req->flags & CTL_KILL))
		syscall(SYS_kill, rt.pid, SIGKILL);
	else if (res->status == 0 && req->signal > 0 && req->signal < CKPT_SIGNAL)
		syscall(SYS_kill, rt.pid, req->signal);
	else if (res->refusal == REFUSAL_PERM)
		syscall(SYS_kill, rt.pid, SIGKILL);
}

/* Returns 1 when this is a restored process: fd then means nothing. */
static int serve(int fd)
{
	static struct ctl_request req;
	static struct ckpt_result res;
	static struct ckpt_request cr;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int passed = -1;

	memset(&res, 0, sizeof(res));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		res.status = EPERM;
		fmt(res.msg, sizeof(res.msg), "cannot learn who is asking");
		reply(fd, &res);
		return 0;
	}
	if (cred.uid != getuid() && cred.uid != 0) {
		res.status = EPERM;
		fmt(res.msg, sizeof(res.msg),
		    "user %u may not checkpoint process %d, which belongs to user %u",
		    (unsigned)cred.uid, (int)rt.pid, (unsigned)getuid());
		reply(fd, &res);
		return 0;
	}
	if (read_request(fd, &req, &passed) < 0 || req.magic != CTL_MAGIC ||
	    req.version != CTL_VERSION || ((req.flags & CTL_FD) && passed < 0)) {
		if (passed >= 0)
			close(passed);
		res.status = EPROTO;
		fmt(res.msg, sizeof(res.msg), "malformed request (another version of cairn?)");
		reply(fd, &res);
		return 0;
	}
	req.path[sizeof(req.path) - 1] = 0;
	rt.client_fd = fd;
	memset(&cr, 0, sizeof(cr));
	memcpy(cr.path, req.path, sizeof(cr.path));
	cr.flags = req.flags;
	cr.fd = -1;
	if (req.flags & CTL_FD)
		cr.fd = fd_high(passed);
	else if (passed >= 0)
		close(passed);
	cr.signal = req.signal;
	cr.scope = req.scope;
	cr.target = req.target;
	cr.requester = cred.pid;
	cr.requester_uid = cred.uid;
	callbacks_checkpoint(&cr, &res);
	if (res.restored) {
		/* We are a restored process; the requester belonged to the
		 * old one and its connection is gone. */
		rt.client_fd = -1;
		return 1;
	}
	if (cr.fd >= 0)
		close(cr.fd);
	reply(fd, &res);
	rt.client_fd = -1;
	close(fd);
	after_reply(&cr, &res);
	return 1;
}

static void *manager_main(void *arg)
{
	rt.manager_tid = sys_gettid();
	rt_tid = rt.manager_tid;
	pthread_setname_np(pthread_self(), "cairn-manager");
	for (;;) {
		struct pollfd p[3] = {{.fd = rt.listen_fd, .events = POLLIN},
				      {.fd = rt.event_fd, .events = POLLIN},
				      {.fd = rt_job_fd, .events = POLLIN}};
		if (poll(p, 3, -1) < 0)
			continue;
		if (p[1].revents & POLLIN) {
			callbacks_serve_self();
			job_serve_trigger();
		}
		if (rt_job_fd >= 0 && p[2].fd == rt_job_fd && (p[2].revents & (POLLIN | POLLHUP | POLLERR)))
			job_serve();
		if (!(p[0].revents & POLLIN))
			continue;
		int fd = accept4(rt.listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN)
				continue;
			rt_log("control socket failed: %s", strerror(errno));
			return NULL;
		}
		if (!serve(fd))
			close(fd);
	}
	return arg;
}

/* The restorer writes restore_info by offsets (restorer.c). */
_Static_assert(offsetof(struct restore_info, image_path) == 7 * 8, "restore_info layout");
_Static_assert(offsetof(struct restore_info, signal_after) == 7 * 8 + 4096, "restore_info layout");
_Static_assert(offsetof(struct restore_info, env_len) == 7 * 8 + 4096 + 4, "restore_info layout");
_Static_assert(offsetof(struct restore_info, env) == 7 * 8 + 4096 + 8, "restore_info layout");

/* After a restart, on the manager thread, before the program's threads run
 * again: replace what belonged to the old process. */
void restored_finish(void)
{
	rt.pid = getpid();
	rt_tid = sys_gettid();
	threads_fix_owned((pid_t)rt.manager.t.tid, rt_tid);
	rt.manager_tid = rt_tid;
	rt.generation++;
	rt_mono_adjust += (int64_t)rt.ckpt_mono - (int64_t)now_ns(CLOCK_MONOTONIC);
	threads_after_restore();
	struct restore_info *ri = &cairn_restore_info;
	int sig_after = 0;
	if (ri->magic == RESTORE_INFO_MAGIC) {
		sig_after = ri->signal_after;
		ri->signal_after = 0;
		if (ri->hole_end > ri->hole_start)
			munmap((void *)ri->hole_start, ri->hole_end - ri->hole_start);
		if (ri->restorer_end > ri->restorer_start)
			munmap((void *)ri->restorer_start, ri->restorer_end - ri->restorer_start);
		rt.main_stack_end = ri->stack_end;
		ri->magic = 0;
	}
	/* Limits the program set itself come back; the others are the new
	 * environment's. */
	for (int r = 0; r < NRLIM; r++) {
		if (rt.rlim_changed & (1u << r)) {
			if (setrlimit(r, &rt.rlim_ckpt[r]) < 0)
				rt_log("cannot restore resource limit %d: %s", r, strerror(errno));
		} else {
			getrlimit(r, &rt.rlim_start[r]);
		}
	}
	timers_restore();
	files_note_std(1);
	rt.listen_fd = -1;
	rt.event_fd = -1;
	if (callbacks_make_event() < 0 || control_listen() < 0)
		rt_log("cannot create the control socket after restart: %s", strerror(errno));
	job_restored();
	/* asked for by the restarter (cr_restart --signal): delivered when the
	 * program's threads run again, before their callbacks' restart work */
	if (sig_after > 0 && sig_after < CKPT_SIGNAL)
		syscall(SYS_kill, rt.pid, sig_after);
}
