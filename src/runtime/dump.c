/*
 * Taking a checkpoint: the driver that stops the program, writes every kind
 * of state into an image, makes it durable, and lets the program go on.
 *
 * The image is written under a temporary name (an O_TMPFILE, or a hidden
 * name where the filesystem lacks it) in the destination directory, flushed,
 * and renamed over the final name only when complete: an older image there
 * stays valid until the new one is. All of it runs on the manager thread
 * while the other threads are parked, so nothing here calls malloc or stdio
 * (see util.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "runtime/callbacks.h"
#include "runtime/control.h"
#include "runtime/runtime.h"

uint64_t strtab_add(struct strtab *s, const char *str)
{
	size_t n = strlen(str) + 1;

	if (s->len + n > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1 << 16;
		while (cap < s->len + n)
			cap *= 2;
		char *p = scratch_alloc(cap);
		if (!p)
			return 0;
		if (s->buf)
			memcpy(p, s->buf, s->len);
		scratch_free(s->buf, s->cap);
		s->buf = p;
		s->cap = cap;
	}
	if (s->len == 0)
		s->buf[s->len++] = 0; /* offset 0 is the empty string */
	memcpy(s->buf + s->len, str, n);
	s->len += n;
	return s->len - n;
}

static uint64_t xcr0(void)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

static void capture_limits(void)
{
	rt.rlim_changed = 0;
	for (int r = 0; r < NRLIM; r++) {
		getrlimit(r, &rt.rlim_ckpt[r]);
		if (rt.rlim_ckpt[r].rlim_cur != rt.rlim_start[r].rlim_cur ||
		    rt.rlim_ckpt[r].rlim_max != rt.rlim_start[r].rlim_max)
			rt.rlim_changed |= 1u << r;
	}
}

static void capture_manager(void)
{
	struct img_thread *t = &rt.manager.t;
	stack_t ss;
	uint64_t fs;

	memset(t, 0, sizeof(*t));
	__asm__ volatile("mov %%fs:0, %0" : "=r"(fs));
	t->tid = (uint32_t)rt_tid;
	t->flags = THREAD_MANAGER | (rt_tid == rt.pid ? THREAD_MAIN : 0);
	t->fs_base = fs;
	syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &t->sigmask, 8);
	syscall(SYS_get_robust_list, 0, &t->robust_head, &t->robust_len);
	if (prctl(PR_GET_TID_ADDRESS, &t->tid_addr) < 0)
		t->tid_addr = fs + rt.tid_offset;
	if (syscall(SYS_sigaltstack, NULL, &ss) == 0) {
		t->altstack_sp = (uint64_t)ss.ss_sp;
		t->altstack_size = ss.ss_size;
		t->altstack_flags = ss.ss_flags & ~SS_ONSTACK;
	}
	prctl(PR_GET_NAME, t->name);
	t->nice = 20 - (int)syscall(SYS_getpriority, PRIO_PROCESS, 0);
}

static void write_meta(struct img_writer *w, struct strtab *st)
{
	struct img_meta m;
	char buf[4096];
	ssize_t n;

	memset(&m, 0, sizeof(m));
	m.pid = (uint32_t)rt.pid;
	m.ppid = (uint32_t)getppid();
	m.uid = getuid();
	m.gid = getgid();
	m.umask = umask(0);
	umask((mode_t)m.umask);
	m.personality = (uint32_t)syscall(SYS_personality, 0xffffffff);
	m.start_brk = 0;
	/* /proc/self/stat field 47 is start_brk */
	if (read_file("/proc/self/stat", buf, sizeof(buf)) > 0) {
		char *p = strrchr(buf, ')');
		int field = 2;
		for (; p && *p; p++)
			if (*p == ' ' && ++field == 47) {
				m.start_brk = strtoull(p + 1, NULL, 10);
				break;
			}
	}
	m.brk = (uint64_t)syscall(SYS_brk, 0);
	n = readlink("/proc/self/cwd", buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	m.cwd = strtab_add(st, buf);
	n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	m.exe = strtab_add(st, buf);
	if (read_file("/proc/self/comm", buf, 64) > 0) {
		buf[strcspn(buf, "\n")] = 0;
		m.comm = strtab_add(st, buf);
	}
	m.tid_offset = rt.tid_offset;
	m.rseq_offset = rt.rseq_offset;
	m.rseq_size = rt.rseq_size;
	m.nthreads = (uint32_t)rt.nslots + 1;
	m.restore_info = (uint64_t)&cairn_restore_info;
	for (int r = 0; r < NRLIM; r++) {
		m.rlim_cur[r] = rt.rlim_ckpt[r].rlim_cur;
		m.rlim_max[r] = rt.rlim_ckpt[r].rlim_max;
	}
	m.rlim_changed = rt.rlim_changed;
	m.ckpt_ns = now_ns(CLOCK_REALTIME);
	m.mono_ns = rt.ckpt_mono;
	img_section_begin(w, SEC_META, 8);
	img_put(w, &m, sizeof(m));
	img_section_end(w);
}

static void write_threads(struct img_writer *w)
{
	img_section_begin(w, SEC_THREADS, 8);
	img_put(w, &rt.manager.t, sizeof(rt.manager.t));
	for (int i = 0; i < rt.nslots; i++)
		img_put(w, &rt.slots[i].t, sizeof(rt.slots[i].t));
	img_section_end(w);

	img_section_begin(w, SEC_SIGPEND, 8);
	for (int i = 0; i < rt.nslots; i++)
		for (int k = 0; k < rt.slots[i].npending; k++) {
			struct img_sigpend p;
			memset(&p, 0, sizeof(p));
			p.thread = rt.slots[i].pending[k].shared ? ~0u : (uint32_t)(i + 1);
			memcpy(p.info, &rt.slots[i].pending[k].info, sizeof(p.info));
			img_put(w, &p, sizeof(p));
		}
	img_section_end(w);
}

/* A temporary file in the image's directory; *tmpname is set when it has a
 * name that must be removed on failure. */
static int open_temp(const char *path, char *dir, size_t dlen, char *tmpname, size_t tlen)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;

	if (n == 0)
		fmt(dir, dlen, "%s", slash ? "/" : ".");
	else
		fmt(dir, dlen, "%.*s", (int)n, path);
	tmpname[0] = 0;
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	for (int i = 0; i < 100; i++) {
		fmt(tmpname, tlen, "%s/.%s.cairn-%d-%d", dir, slash ? slash + 1 : path,
		    (int)rt.pid, i);
		fd = open(tmpname, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0)
		tmpname[0] = 0;
	return fd;
}

/* Gives the finished temporary file its final name, atomically. */
static int publish(int fd, const char *path, const char *dir, char *tmpname, size_t tlen)
{
	char proc[64];

	if (!tmpname[0]) {
		fmt(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		for (int i = 0; i < 100; i++) {
			const char *slash = strrchr(path, '/');
			fmt(tmpname, tlen, "%s/.%s.cairn-%d-%d", dir, slash ? slash + 1 : path,
			    (int)rt.pid, i);
			if (linkat(AT_FDCWD, proc, AT_FDCWD, tmpname, AT_SYMLINK_FOLLOW) == 0)
				break;
			if (errno != EEXIST) {
				tmpname[0] = 0;
				return -1;
			}
		}
	}
	if (rename(tmpname, path) < 0)
		return -1;
	tmpname[0] = 0;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* A descriptor the requester gave: the image is written into it from
 * offset 0, with no temporary name (the requester owns the file's name). */
static int check_given_fd(int fd, const char *what, struct ckpt_result *res)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		res->status = EINVAL;
		fmt(res->msg, sizeof(res->msg), "the image destination %s is not a regular file", what);
		return -1;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY) {
		res->status = EBADF;
		fmt(res->msg, sizeof(res->msg), "the image destination %s is not open for writing",
		    what);
		return -1;
	}
	if (fl & O_APPEND)
		fcntl(fd, F_SETFL, fl & ~O_APPEND);
	if (lseek(fd, 0, SEEK_CUR) != 0) {
		res->status = EINVAL;
		fmt(res->msg, sizeof(res->msg),
		    "the image destination %s must be positioned at offset 0", what);
		return -1;
	}
	if (ftruncate(fd, 0) < 0) {
		res->status = errno;
		fmt(res->msg, sizeof(res->msg), "cannot truncate %s: %s", what, strerror(errno));
		return -1;
	}
	return 0;
}

void dump_checkpoint(const struct ckpt_request *req, struct ckpt_result *res)
{
	const char *path = req->path;
	unsigned flags = req->flags;
	int given = (flags & CTL_FD) != 0;
	static struct img_writer w;
	static struct strtab st;
	static struct img_header h;
	static char dir[4096], tmpname[4200];
	uint64_t t0 = now_ns(CLOCK_MONOTONIC), tstop, tend;
	static int fd, stopped;
	int skip[5];

	memset(res, 0, sizeof(*res));
	memset(&w, 0, sizeof(w));
	stopped = 0;
	tmpname[0] = 0;
	if (given) {
		fd = req->fd;
		if (check_given_fd(fd, path, res) < 0)
			return;
	} else {
		fd = open_temp(path, dir, sizeof(dir), tmpname, sizeof(tmpname));
	}
	if (fd < 0) {
		res->status = errno;
		fmt(res->msg, sizeof(res->msg), "cannot create the image in %s: %s", dir,
		    strerror(errno));
		return;
	}
	fchmod(fd, 0600);

	tstop = now_ns(CLOCK_MONOTONIC);
	if (threads_stop(res->msg, sizeof(res->msg)) < 0) {
		res->status = EAGAIN;
		goto fail;
	}
	stopped = 1;
	if (rt_refused) {
		res->status = ECANCELED;
		fmt(res->msg, sizeof(res->msg), "refused by the program: %s", rt_refuse_msg);
		goto fail;
	}
	rt.ckpt_mono = now_ns(CLOCK_MONOTONIC) + 0;
	capture_limits();
	if (timers_capture(res->msg, sizeof(res->msg)) < 0) {
		res->status = ENOTSUP;
		goto fail;
	}
	capture_manager();

	if (cairn_ctx_save(&rt.manager.t.ctx) != 0) {
		/* This is the restored process. */
		restored_finish();
		threads_go();
		res->restored = 1;
		return;
	}

	memset(&st, 0, sizeof(st));
	if (img_writer_init(&w, fd) < 0) {
		res->status = w.err ? w.err : ENOMEM;
		fmt(res->msg, sizeof(res->msg), "cannot start writing: %s", strerror(res->status));
		goto fail;
	}
	write_meta(&w, &st);
	write_threads(&w);
	signals_write(&w);
	timers_write(&w);
	skip[0] = fd;
	skip[1] = rt.listen_fd;
	skip[2] = rt.client_fd;
	skip[3] = rt.event_fd;
	skip[4] = rt_job_fd;
	if (files_write(&w, &st, skip, 5, res->msg, sizeof(res->msg)) < 0) {
		res->status = ENOTSUP;
		goto fail;
	}
	memset(&h, 0, sizeof(h));
	{
		/* the runtime's buffers, and a lower half's window */
		const struct cairn_lower_half *lh = rt_lower;
		struct own_range own[4] = {
			{(uint64_t)w.buf, (uint64_t)w.buf + w.bufcap},
			{(uint64_t)st.buf, (uint64_t)st.buf + st.cap},
			{(uint64_t)w.map, (uint64_t)w.map + w.maplen},
			{lh ? lh->base : 0, lh ? lh->base + lh->size : 0},
		};
		struct memory_info mi;
		if (memory_write(&w, &st, own, lh ? 4 : 3, &mi, res->msg, sizeof(res->msg)) < 0) {
			res->status = w.err ? w.err : EIO;
			goto fail;
		}
		h.vdso_size = mi.vdso_size;
		h.vdso_hash = mi.vdso_hash;
		h.vvar_size = mi.vvar_size;
	}
	img_section_begin(&w, SEC_STRTAB, 8);
	img_put(&w, st.buf, st.len);
	img_section_end(&w);

	struct utsname u;
	uname(&u);
	fmt(h.kernel, sizeof(h.kernel), "%s", u.release);
	fmt(h.machine, sizeof(h.machine), "%s", u.machine);
	fmt(h.libc, sizeof(h.libc), "%s", gnu_get_libc_version());
	h.xfeatures = xcr0();
	h.created_ns = now_ns(CLOCK_REALTIME);
	h.pid = (uint32_t)rt.pid;
	h.uid = getuid();
	if (img_writer_finish(&w, &h) < 0 || fsync(fd) < 0) {
		res->status = w.err ? w.err : errno;
		fmt(res->msg, sizeof(res->msg), "writing the image failed: %s",
		    strerror(res->status));
		goto fail;
	}
	if (!given && publish(fd, path, dir, tmpname, sizeof(tmpname)) < 0) {
		res->status = errno;
		fmt(res->msg, sizeof(res->msg), "cannot rename the image to %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	res->size = h.file_size;
	img_writer_free(&w);
	scratch_free(st.buf, st.cap);
	if (!given)
		close(fd);
	tend = now_ns(CLOCK_MONOTONIC);
	if (!(flags & CTL_KILL))
		threads_release(0);
	res->total_ns = tend - t0;
	res->pause_ns = tend - tstop;
	return;

fail:
	if (w.err == ENOSPC || w.err == EDQUOT) {
		size_t l = strlen(res->msg);
		fmt(res->msg + l, sizeof(res->msg) - l, " (the disk is full; nothing was replaced)");
	}
	img_writer_free(&w);
	if (st.buf)
		scratch_free(st.buf, st.cap);
	memset(&st, 0, sizeof(st));
	if (tmpname[0])
		unlink(tmpname);
	if (given) {
		/* never leave a partial image behind in the requester's file */
		if (ftruncate(fd, 0) < 0)
			rt_log("cannot truncate the failed image: %s", strerror(errno));
	} else {
		close(fd);
	}
	if (stopped)
		threads_release(-1);
	if (!res->status)
		res->status = EIO;
}
