/*
 * libcr.so.0: BLCR's user interface (include/libcr.h) over cairn's own
 * (include/cairn.h and, for what BLCR has and cairn.h does not, the
 * runtime's blcr_glue.h).
 *
 * Callbacks. libcr keeps BLCR's registrations itself and gives the runtime
 * one callback per group: one thread-context dispatcher for the process,
 * and one signal-context dispatcher in each thread that registers
 * signal-context callbacks. A dispatcher runs its group's callbacks as a
 * chain (thread context in registration order, signal context in reverse
 * order): cr_checkpoint() in a callback runs the rest of the chain, and at
 * its end calls cairn_checkpoint(); the outcome comes back up the chain.
 *
 * Requests. A checkpoint of this process goes through
 * cairn_request_checkpoint_fd(); one of another process goes through its
 * control socket (src/common/ctl_client.c), with the descriptor passed
 * along. A handle is a pointer to a struct request, checked against the
 * list of live ones.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/ctl_client.h"
#include "libcr.h"
#include "runtime/blcr_glue.h"

#define API __attribute__((visibility("default")))
#define TLS __thread __attribute__((tls_model("initial-exec")))

/* ---- registrations ---- */

struct cb {
	cr_callback_t fn;
	void *arg;
};

struct group {
	struct cb *cbs;
	int n, cap;
	int reverse; /* run last registered first (signal context) */
};

static struct group thread_group;
static pthread_mutex_t thread_lock = PTHREAD_MUTEX_INITIALIZER;

/* A chain of one group in progress (BLCR's nesting of cr_checkpoint()). */
struct frame {
	int index; /* the callback running */
	int called;
	struct frame *up;
};

struct dispatch {
	struct group *g;
	int n;          /* callbacks in the chain (the group's size at the start) */
	int pos;        /* next one to run, counted in running order */
	int done, outcome;
	int failed;     /* a callback of this chain refused: outcome is -code */
	int ctx;        /* CR_THREAD_CONTEXT or CR_SIGNAL_CONTEXT */
	struct frame *top;
	struct cr_checkpoint_info ck;
	struct cr_restart_info rs;
};

static TLS struct dispatch *cur;   /* the chain this thread is running */
static TLS int client_id = -1;      /* cr_init() */
static TLS int cs_depth;
static TLS struct group sig_group;  /* this thread's signal-context callbacks */
static TLS int sig_native = -1;     /* its dispatcher's id in the runtime */
static TLS int hold_thread = CR_HOLD_DFLT;

static int next_client = 0;
static int hold_init = CR_HOLD_BOTH, hold_uninit = CR_HOLD_BOTH;
static int persist;
static cr_hook_fn_t hooks[CR_NUM_HOOKS];
static int thread_native = -1;

/* The reason of this process's own refusal, for cr_checkpoint()'s value. */
static volatile int last_refusal_code;

static int chain_next(struct dispatch *d);
static void libcr_init(void);
static int check_program_needed(struct dl_phdr_info *info, size_t size, void *arg);

static int order_index(struct dispatch *d, int pos)
{
	return d->g->reverse ? d->n - 1 - pos : pos;
}

/* Maps the runtime's outcome to BLCR's: 0 continuing, 1 restarted,
 * -code when failed. */
static int blcr_outcome(int rc)
{
	if (rc >= 0)
		return rc > 0 ? 1 : 0;
	if (errno == ECANCELED) {
		int code = last_refusal_code;
		return -(code ? code : CR_ETEMPFAIL);
	}
	return -(errno ? errno : EIO);
}

static void fill_checkpoint_info(struct dispatch *d)
{
	struct cairn_checkpoint_info ci;
	int sig = 0, scope = 0, target = 0;

	memset(&d->ck, 0, sizeof(d->ck));
	if (cairn_get_checkpoint_info(&ci) == 0) {
		d->ck.dest = ci.path;
		d->ck.requester = ci.requester;
	}
	if (cairn_blcr_request_info(&sig, &scope, &target) == 0) {
		d->ck.signal = sig;
		d->ck.scope = (cr_scope_t)scope;
		d->ck.target = target ? target : getpid();
	}
}

/* Runs the chain from its current position. SIGNAL SAFE when the
 * callbacks are. */
static int chain_next(struct dispatch *d)
{
	while (d->pos < d->n && !__atomic_load_n(&d->g->cbs[order_index(d, d->pos)].fn, __ATOMIC_ACQUIRE))
		d->pos++;
	if (d->pos == d->n) {
		if (!d->done) {
			d->done = 1;
			int rc = cairn_checkpoint(CAIRN_READY, NULL);
			d->outcome = blcr_outcome(rc);
			if (d->outcome > 0) {
				struct cairn_restart_info ri;
				memset(&d->rs, 0, sizeof(d->rs));
				if (cairn_get_restart_info(&ri) == 0) {
					d->rs.src = ri.path;
					d->rs.requester = ri.requester;
				}
			}
		}
		return d->outcome;
	}
	struct frame f = {.index = order_index(d, d->pos++), .called = 0, .up = d->top};
	struct cb *cb = &d->g->cbs[f.index];
	cr_callback_t fn = __atomic_load_n(&cb->fn, __ATOMIC_ACQUIRE);
	d->top = &f;
	if (fn)
		fn(cb->arg);
	/* returning without cr_checkpoint() lets the rest run after it */
	if (!f.called && !d->done)
		chain_next(d);
	d->top = f.up;
	return d->outcome;
}

static void run_hook(cr_hook_event_t ev)
{
	cr_hook_fn_t h = __atomic_load_n(&hooks[ev], __ATOMIC_ACQUIRE);
	if (h)
		h(ev);
}

static int run_group(struct group *g, int ctx)
{
	struct dispatch d;

	if (ctx == CR_THREAD_CONTEXT)
		last_refusal_code = 0; /* a new checkpoint starts here */
	memset(&d, 0, sizeof(d));
	d.g = g;
	d.ctx = ctx;
	d.n = __atomic_load_n(&g->n, __ATOMIC_ACQUIRE);
	fill_checkpoint_info(&d);
	struct dispatch *saved = cur;
	cur = &d;
	chain_next(&d);
	cur = saved;
	if (d.outcome >= 0) {
		int rst = d.outcome > 0;
		if (ctx == CR_THREAD_CONTEXT)
			run_hook(rst ? CR_HOOK_RSTRT_THREAD_CONTEXT : CR_HOOK_CONT_THREAD_CONTEXT);
		else
			run_hook(rst ? CR_HOOK_RSTRT_SIGNAL_CONTEXT : CR_HOOK_CONT_SIGNAL_CONTEXT);
	}
	return 0;
}

static int thread_dispatch(void *arg)
{
	(void)arg;
	return run_group(&thread_group, CR_THREAD_CONTEXT);
}

static int signal_dispatch(void *arg)
{
	(void)arg;
	return run_group(&sig_group, CR_SIGNAL_CONTEXT);
}

static void no_callbacks_hook(int outcome)
{
	if (outcome >= 0)
		run_hook(outcome > 0 ? CR_HOOK_RSTRT_NO_CALLBACKS : CR_HOOK_CONT_NO_CALLBACKS);
}

/* A program linked with -lcr but started without cr_run: the runtime came
 * in as our dependency, after libc, and is dormant. Run the program again
 * (same PID, nothing of it has run yet) with the runtime preloaded. */
/* Does the program itself name libcr.so.0 among the libraries it needs?
 * Then libcr was loaded with the program, before anything of it ran, and
 * running it again is safe. (Loaded later by dlopen, or through another
 * library, libcr must not restart a program that is already running.) */
struct needed_query {
	const char *soname;
	int yes;
};

static int needed_by_program(const char *soname)
{
	struct needed_query f = {soname, 0};

	dl_iterate_phdr(check_program_needed, &f);
	return f.yes;
}

static int check_program_needed(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct needed_query *f = arg;
	const ElfW(Dyn) *dyn = NULL;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
	if (!dyn)
		return 1; /* the first object is the program: stop there */
	uintptr_t strtab = 0;
	for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++)
		if (d->d_tag == DT_STRTAB)
			strtab = d->d_un.d_ptr;
	/* ld.so may or may not have relocated the entry in place */
	if (strtab && strtab < info->dlpi_addr)
		strtab += info->dlpi_addr;
	for (const ElfW(Dyn) *d = dyn; strtab && d->d_tag != DT_NULL; d++)
		if (d->d_tag == DT_NEEDED && strcmp((const char *)strtab + d->d_un.d_val, f->soname) == 0)
			f->yes = 1;
	return 1;
}

static void reexec_preloaded(char **argv)
{
	extern char **environ;
	Dl_info di;
	char pre[8192];

	if (cairn_blcr_runtime_active() || !argv || getenv("CAIRN_LIBCR_REEXEC") ||
	    !needed_by_program("libcr.so.0"))
		return;
	if (!dladdr((void *)cairn_blcr_runtime_active, &di) || !di.dli_fname)
		return;
	const char *old = getenv("LD_PRELOAD");
	if ((size_t)snprintf(pre, sizeof(pre), "%s%s%s", di.dli_fname, old && *old ? ":" : "",
			     old ? old : "") >= sizeof(pre))
		return;
	/* by its path, not /proc/self/exe, so that it keeps its name */
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return;
	exe[n] = 0;
	setenv("LD_PRELOAD", pre, 1);
	setenv("CAIRN_LIBCR_REEXEC", "1", 1);
	/* Unlike cr_run, inherited descriptors are kept: whoever started
	 * the program directly may have handed them on purpose. */
	execve(exe, argv, environ);
	/* could not: go on without checkpoint support */
	unsetenv("CAIRN_LIBCR_REEXEC");
	if (old)
		setenv("LD_PRELOAD", old, 1);
	else
		unsetenv("LD_PRELOAD");
}

__attribute__((constructor)) static void libcr_ctor(int argc, char **argv)
{
	(void)argc;
	reexec_preloaded(argv);
	if (cairn_blcr_runtime_active())
		unsetenv("CAIRN_LIBCR_REEXEC");
	libcr_init();
}

static void libcr_init(void)
{
	if (thread_native < 0)
		thread_native = cairn_register_callback(thread_dispatch, NULL, CAIRN_THREAD_CONTEXT);
	cairn_blcr_set_thread_hook(no_callbacks_hook);
}

API cr_client_id_t cr_init(void)
{
	if (client_id < 0)
		client_id = __atomic_fetch_add(&next_client, 1, __ATOMIC_SEQ_CST);
	if (thread_native < 0)
		libcr_init();
	if (thread_native < 0 || !cairn_blcr_runtime_active()) {
		errno = ENOSYS; /* no checkpoint support in this process */
		return -1;
	}
	return client_id;
}

static int context_of(int flags)
{
	int ctx = flags & (CR_THREAD_CONTEXT | CR_SIGNAL_CONTEXT);
	return ctx == CR_THREAD_CONTEXT || ctx == CR_SIGNAL_CONTEXT ? ctx : 0;
}

static int group_add(struct group *g, cr_callback_t fn, void *arg)
{
	if (g->n >= CR_MAX_CALLBACKS) {
		errno = ENOSPC;
		return -1;
	}
	if (g->n == g->cap) {
		/* grow by copying: a dispatcher may be reading the old array
		 * in another thread, so the old one is never freed */
		int cap = g->cap ? g->cap * 2 : 8;
		struct cb *n = calloc((size_t)cap, sizeof(*n));
		if (!n) {
			errno = ENOMEM;
			return -1;
		}
		if (g->n)
			memcpy(n, g->cbs, (size_t)g->n * sizeof(*n));
		__atomic_store_n(&g->cbs, n, __ATOMIC_RELEASE);
		g->cap = cap;
	}
	int id = g->n;
	g->cbs[id].arg = arg;
	__atomic_store_n(&g->cbs[id].fn, fn, __ATOMIC_RELEASE);
	__atomic_store_n(&g->n, id + 1, __ATOMIC_RELEASE);
	return id;
}

/* What registering and replacing have in common: not inside a callback,
 * after cr_init(), one context. Returns the context, or 0 (errno set). */
static int registration_context(int flags)
{
	int ctx = context_of(flags);

	if (cur)
		errno = EBUSY;
	else if (client_id < 0)
		errno = CR_ENOINIT;
	else if (!ctx)
		errno = EINVAL;
	else
		return ctx;
	return 0;
}

API cr_callback_id_t cr_register_callback(cr_callback_t func, void *arg, int flags)
{
	int ctx = registration_context(flags);

	if (!ctx)
		return -1;
	if (ctx == CR_THREAD_CONTEXT) {
		pthread_mutex_lock(&thread_lock);
		int id = group_add(&thread_group, func, arg);
		pthread_mutex_unlock(&thread_lock);
		return id;
	}
	if (sig_native < 0) {
		sig_group.reverse = 1;
		sig_native = cairn_register_callback(signal_dispatch, NULL, CAIRN_SIGNAL_CONTEXT);
		if (sig_native < 0)
			return -1;
	}
	/* a checkpoint must not see the list half changed */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int id = group_add(&sig_group, func, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return id;
}

static int replace(struct group *g, int id, cr_callback_t func, void *arg)
{
	if (id < 0 || id >= g->n) {
		errno = EINVAL;
		return -1;
	}
	__atomic_store_n(&g->cbs[id].fn, NULL, __ATOMIC_RELEASE);
	g->cbs[id].arg = arg;
	__atomic_store_n(&g->cbs[id].fn, func, __ATOMIC_RELEASE);
	return 0;
}

API int cr_replace_callback(cr_callback_id_t id, cr_callback_t func, void *arg, int flags)
{
	int ctx = registration_context(flags);

	if (!ctx)
		return -1;
	if (ctx == CR_THREAD_CONTEXT) {
		pthread_mutex_lock(&thread_lock);
		int rc = replace(&thread_group, id, func, arg);
		pthread_mutex_unlock(&thread_lock);
		return rc;
	}
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = replace(&sig_group, id, func, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

API int cr_replace_self(cr_callback_t func, void *arg, int flags)
{
	struct dispatch *d = cur;

	if (!d || !d->top) {
		errno = CR_ENOTCB;
		return -1;
	}
	if (context_of(flags) != d->ctx) {
		errno = EINVAL;
		return -1;
	}
	return replace(d->g, d->top->index, func, arg);
}

API int cr_checkpoint(int flags)
{
	struct dispatch *d = cur;

	if (!d || !d->top)
		return -CR_ENOTCB;
	d->top->called = 1;
	if (d->done)
		return d->outcome;
	int how = flags & 0xffff, code = (flags >> 16) & 0xffff;
	if (how & ~(CR_CHECKPOINT_TEMP_FAILURE | CR_CHECKPOINT_PERM_FAILURE | CR_CHECKPOINT_OMIT |
		    _CR_CHECKPOINT_STUB))
		return -EINVAL;
	how &= CR_CHECKPOINT_ABORT_MASK;
	if (how == 0)
		return chain_next(d);

	int kind;
	const char *what;
	if (how & CR_CHECKPOINT_PERM_FAILURE) {
		kind = REFUSAL_PERM;
		code = code ? code : CR_EPERMFAIL;
		what = "a callback cancelled the checkpoint and ends the process";
	} else if (how & CR_CHECKPOINT_TEMP_FAILURE) {
		kind = REFUSAL_TEMP;
		code = code ? code : CR_ETEMPFAIL;
		what = "a callback cancelled the checkpoint for now";
	} else {
		kind = REFUSAL_OMIT;
		code = CR_EOMITTED;
		what = "a callback omitted its process from the checkpoint";
	}
	/* The message, built without stdio: this may be signal context. */
	char msg[160];
	size_t l = strlen(what);
	memcpy(msg, what, l);
	if (kind != REFUSAL_OMIT) {
		char num[16];
		int nd = 0;
		for (unsigned v = (unsigned)code; v || !nd; v /= 10)
			num[nd++] = (char)('0' + v % 10);
		memcpy(msg + l, " (code ", 7);
		l += 7;
		while (nd)
			msg[l++] = num[--nd];
		msg[l++] = ')';
	}
	msg[l] = 0;
	if (!last_refusal_code)
		last_refusal_code = code;
	cairn_blcr_refuse(kind, code, msg);
	d->done = 1;
	d->failed = 1;
	d->outcome = -code;
	return d->outcome;
}

API const struct cr_checkpoint_info *cr_get_checkpoint_info(void)
{
	if (!cur) {
		errno = CR_ENOTCB;
		return NULL;
	}
	return &cur->ck;
}

API const struct cr_restart_info *cr_get_restart_info(void)
{
	if (!cur) {
		errno = CR_ENOTCB;
		return NULL;
	}
	return &cur->rs;
}

/* ---- critical sections and status ---- */

static int check_client(cr_client_id_t id)
{
	if (id == CR_ID_CALLBACK)
		return cur ? 1 : (errno = EINVAL, -1);
	if (client_id < 0) {
		errno = CR_ENOINIT;
		return -1;
	}
	if (id != client_id) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

API int cr_enter_cs(cr_client_id_t id)
{
	int c = check_client(id);
	if (c)
		return c > 0 ? 0 : -1;
	cairn_enter_cs();
	cs_depth++;
	return 0;
}

API int cr_tryenter_cs(cr_client_id_t id)
{
	int c = check_client(id);
	if (c)
		return c > 0 ? 0 : -1;
	if (cairn_tryenter_cs() < 0)
		return 1;
	cs_depth++;
	return 0;
}

API int cr_leave_cs(cr_client_id_t id)
{
	int c = check_client(id);
	if (c)
		return c > 0 ? 0 : -1;
	if (cs_depth <= 0) {
		errno = EINVAL;
		return -1;
	}
	cs_depth--;
	cairn_leave_cs();
	return 0;
}

API int cr_status(void)
{
	switch (cairn_status()) {
	case 1:
		return CR_STATE_PENDING;
	case 2:
		return CR_STATE_ACTIVE;
	default:
		return CR_STATE_IDLE;
	}
}

/* ---- requests ---- */

#define REQ_MAGIC 0x5145524c43524e43ull

struct request {
	uint64_t magic;
	struct request *next;
	int self;            /* a checkpoint of this process */
	cairn_handle_t h;    /* self: the runtime's handle */
	struct ctl_call call; /* another process */
	int own_fd;          /* a file libcr opened (CR_DEST_CWD), or -1 */
	struct timespec deadline; /* cr_timeout, or tv_sec 0 */
	int done;
	int result;          /* 1 success, 2 restarted, -1 failed (err) */
	int err;
	char msg[2048];
};

static struct request *requests;
static pthread_mutex_t req_lock = PTHREAD_MUTEX_INITIALIZER;

API int cri_init_checkpoint_args_t(cr_version_t ver, cr_checkpoint_args_t *a)
{
	if (!a || ver != 1) {
		errno = EINVAL;
		return -1;
	}
	a->cr_version = ver;
	a->cr_scope = (cr_scope_t)-1;
	a->cr_target = 0;
	a->cr_fd = -1;
	a->cr_signal = 0;
	a->cr_timeout = 0;
	a->cr_flags = 0;
	return 0;
}

static struct request *find(cr_checkpoint_handle_t *hp)
{
	struct request *r;

	if (!hp)
		return NULL;
	pthread_mutex_lock(&req_lock);
	for (r = requests; r; r = r->next)
		if ((cr_checkpoint_handle_t)r == *hp && r->magic == REQ_MAGIC)
			break;
	pthread_mutex_unlock(&req_lock);
	return r;
}

static void forget(struct request *r)
{
	pthread_mutex_lock(&req_lock);
	for (struct request **p = &requests; *p; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			break;
		}
	pthread_mutex_unlock(&req_lock);
	if (r->own_fd >= 0)
		close(r->own_fd);
	ctl_close(&r->call);
	r->magic = 0;
	free(r);
}

static void finish(struct request *r, int result, int err, const char *msg)
{
	r->done = 1;
	r->result = result;
	r->err = err;
	if (msg && msg != r->msg)
		snprintf(r->msg, sizeof(r->msg), "%.2000s", msg);
	ctl_close(&r->call);
}

/* errno for a refusal or failure reported by a target. */
static int reply_errno(int status, int refusal, int code)
{
	switch (refusal) {
	case REFUSAL_TEMP:
		return code ? code : CR_ETEMPFAIL;
	case REFUSAL_PERM:
		return code ? code : CR_EPERMFAIL;
	case REFUSAL_OMIT:
		return ESRCH;
	default:
		return status;
	}
}

API int cr_request_checkpoint(cr_checkpoint_args_t *a, cr_checkpoint_handle_t *handle)
{
	if (!a || !handle || a->cr_version != 1 || (int)a->cr_scope < CR_SCOPE_PROC ||
	    a->cr_scope > CR_SCOPE_TREE || a->cr_signal < 0 || a->cr_signal >= CR_SIGNUM) {
		errno = EINVAL;
		return -1;
	}
	struct request *r = calloc(1, sizeof(*r));
	if (!r) {
		errno = ENOMEM;
		return -1;
	}
	r->magic = REQ_MAGIC;
	r->own_fd = -1;
	r->call.sock = -1;
	int async = (a->cr_flags & CR_CHKPT_ASYNC_ERR) != 0;
	int err = 0;

	/* whom the request names */
	pid_t target = a->cr_target;
	if (target == 0)
		target = a->cr_scope == CR_SCOPE_PGRP	? getpgrp()
			 : a->cr_scope == CR_SCOPE_SESS ? getsid(0)
							: getpid();
	pid_t members[2];
	int n = proc_scope((int)(a->cr_scope == CR_SCOPE_PROC	? 0
				 : a->cr_scope == CR_SCOPE_PGRP ? 1
				 : a->cr_scope == CR_SCOPE_SESS ? 2
								: 3),
			   target, members, 2);
	if (n < 0) {
		err = ESRCH;
		snprintf(r->msg, sizeof(r->msg), "no process is named by %d", (int)target);
		goto fail;
	}
	if (n > 1) {
		err = ENOSYS;
		snprintf(r->msg, sizeof(r->msg),
			 "the request names %d processes or more (%d and %d); cairn checkpoints one "
			 "process per image",
			 n, (int)members[0], (int)members[1]);
		goto fail;
	}
	pid_t pid = members[0];
	int fd = a->cr_fd;
	char path[4096];
	if (fd == CR_DEST_CWD) {
		char cwd[3000];
		if (!getcwd(cwd, sizeof(cwd))) {
			err = errno;
			goto fail;
		}
		snprintf(path, sizeof(path), "%s/context.%d", cwd, (int)pid);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0) {
			err = errno;
			snprintf(r->msg, sizeof(r->msg), "cannot create %.1900s: %s", path, strerror(err));
			goto fail;
		}
		r->own_fd = fd;
	} else {
		char proc[64];
		if (fd < 0 || fcntl(fd, F_GETFD) < 0) {
			err = EBADF;
			snprintf(r->msg, sizeof(r->msg), "cr_fd %d is not an open descriptor", fd);
			goto fail;
		}
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		ssize_t l = readlink(proc, path, sizeof(path) - 1);
		if (l <= 0)
			snprintf(path, sizeof(path), "descriptor %d", fd);
		else
			path[l] = 0;
	}
	if (a->cr_timeout) {
		clock_gettime(CLOCK_MONOTONIC, &r->deadline);
		r->deadline.tv_sec += a->cr_timeout;
	}

	if (pid == getpid()) {
		if (a->cr_flags & CR_CHKPT_PROHIBIT_SELF) {
			err = EDEADLK;
			snprintf(r->msg, sizeof(r->msg), "the request includes the requester");
			goto fail;
		}
		unsigned fl = a->cr_signal == SIGKILL ? CAIRN_CKPT_KILL
			      : a->cr_signal    ? CAIRN_CKPT_SIGNAL(a->cr_signal)
						: 0;
		last_refusal_code = 0;
		r->self = 1;
		r->h = cairn_request_checkpoint_fd(fd, fl);
		if (r->h < 0) {
			err = errno == ENOSYS ? CR_ENOSUPPORT : errno;
			snprintf(r->msg, sizeof(r->msg), "cannot start the checkpoint: %s",
				 cr_strerror(err));
			goto fail;
		}
	} else {
		char msg[1024];
		r->call.pid = pid;
		r->call.req.flags = CTL_FD | (a->cr_signal == SIGKILL ? CTL_KILL : 0);
		r->call.req.signal = a->cr_signal == SIGKILL ? 0 : a->cr_signal;
		r->call.req.scope = (int32_t)a->cr_scope;
		r->call.req.target = target;
		snprintf(r->call.req.path, sizeof(r->call.req.path), "%s", path);
		r->call.image_fd = fd;
		if (ctl_send(&r->call, msg, sizeof(msg)) < 0) {
			err = errno == ENOTSUP ? CR_ENOSUPPORT : errno;
			snprintf(r->msg, sizeof(r->msg), "%s", msg);
			goto fail;
		}
	}
	pthread_mutex_lock(&req_lock);
	r->next = requests;
	requests = r;
	pthread_mutex_unlock(&req_lock);
	*handle = (cr_checkpoint_handle_t)r;
	return 0;

fail:
	if (async) {
		/* reported by cr_reap_checkpoint() */
		finish(r, -1, err, NULL);
		pthread_mutex_lock(&req_lock);
		r->next = requests;
		requests = r;
		pthread_mutex_unlock(&req_lock);
		*handle = (cr_checkpoint_handle_t)r;
		return 0;
	}
	if (r->own_fd >= 0) {
		close(r->own_fd);
		unlink(path);
	}
	free(r);
	errno = err;
	return -1;
}

static long ms_until(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long ms = (t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms;
}

/* Waits up to ms (negative: forever) for r; 1 done, 0 not yet, -1 EINTR. */
static int wait_request(struct request *r, long ms)
{
	if (r->done)
		return 1;
	int deadline_first = 0;
	if (r->deadline.tv_sec) {
		long left = ms_until(&r->deadline);
		if (ms < 0 || left < ms) {
			ms = left;
			deadline_first = 1;
		}
	}
	int wait = ms < 0 ? -1 : ms > 0x7fffffff ? 0x7fffffff : (int)ms;
	if (r->self) {
		int rc = cairn_poll_checkpoint(r->h, wait);
		if (rc < 0 && errno == ETIMEDOUT)
			goto timeout;
		if (rc < 0 && errno == EINTR)
			return -1;
		if (rc >= 0) {
			finish(r, rc > 0 ? 2 : 1, 0, NULL);
		} else {
			int e = errno, kind = 0, code = 0;
			cairn_blcr_self_refusal(r->h, &kind, &code);
			finish(r, -1, kind ? reply_errno(ECANCELED, kind, code) : e, cairn_last_error());
		}
		return 1;
	}
	struct ctl_reply rep;
	char msg[1024];
	if (ctl_wait(&r->call, wait, &rep, msg, sizeof(msg)) < 0) {
		if (errno == ETIMEDOUT)
			goto timeout;
		if (errno == EINTR)
			return -1;
		finish(r, -1, EIO, msg);
		return 1;
	}
	if (rep.status == 0) {
		finish(r, 1, 0, NULL);
		if (r->call.req.flags & CTL_KILL)
			for (int i = 0; i < 1000 && !proc_gone(r->call.pid); i++) {
				struct timespec ts = {0, 10000000};
				nanosleep(&ts, NULL);
			}
	} else {
		finish(r, -1, reply_errno(rep.status, (int)rep.refusal, rep.code), rep.msg);
	}
	return 1;

timeout:
	if (deadline_first) {
		/* cr_timeout: the request fails; the target is told nothing
		 * more (its image, if it comes, lands in the caller's file) */
		finish(r, -1, ETIMEDOUT, "the target did not complete the checkpoint in time");
		return 1;
	}
	return 0;
}

API int cr_wait_checkpoint(cr_checkpoint_handle_t *handle, struct timeval *timeout)
{
	struct request *r = find(handle);

	if (!r) {
		errno = EINVAL;
		return -1;
	}
	long ms = -1;
	struct timespec start;
	if (timeout) {
		if (timeout->tv_sec < 0 || timeout->tv_usec < 0) {
			errno = EINVAL;
			return -1;
		}
		ms = timeout->tv_sec * 1000 + (timeout->tv_usec + 999) / 1000;
		clock_gettime(CLOCK_MONOTONIC, &start);
	}
	int rc = wait_request(r, ms);
	if (timeout) {
		/* what is left, as select() writes it back */
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long long used = (now.tv_sec - start.tv_sec) * 1000000ll + (now.tv_nsec - start.tv_nsec) / 1000;
		long long left = timeout->tv_sec * 1000000ll + timeout->tv_usec - used;
		if (left < 0)
			left = 0;
		timeout->tv_sec = left / 1000000;
		timeout->tv_usec = left % 1000000;
	}
	if (rc < 0) {
		errno = EINTR;
		return -1;
	}
	return rc;
}

API int cr_log_checkpoint(cr_checkpoint_handle_t *handle, unsigned int len, char *msg)
{
	struct request *r = find(handle);

	if (!r) {
		errno = EINVAL;
		return -1;
	}
	size_t need = r->msg[0] ? strlen(r->msg) + 1 : 0;
	if (len && msg) {
		size_t n = need < len ? need : len - 1;
		memcpy(msg, r->msg, n);
		msg[n] = 0;
	}
	return (int)need;
}

API int cr_reap_checkpoint(cr_checkpoint_handle_t *handle)
{
	struct request *r = find(handle);

	if (!r) {
		errno = EINVAL;
		return -1;
	}
	if (!r->done) {
		errno = EAGAIN;
		return -1;
	}
	int result = r->result, err = r->err;
	forget(r);
	if (result == 1)
		return 1;
	errno = result == 2 ? CR_ERESTARTED : err;
	return -1;
}

API int cr_poll_checkpoint_msg(cr_checkpoint_handle_t *handle, struct timeval *timeout, char **msg_p)
{
	int rc = cr_wait_checkpoint(handle, timeout);
	if (rc == 0)
		return 0;
	if (rc < 0)
		return CR_POLL_CHKPT_ERR_PRE;
	if (msg_p) {
		int len = cr_log_checkpoint(handle, 0, NULL);
		*msg_p = NULL;
		if (len < 0)
			return CR_POLL_CHKPT_ERR_LOG;
		if (len > 0) {
			*msg_p = malloc((size_t)len);
			if (!*msg_p) {
				errno = ENOMEM;
				return CR_POLL_CHKPT_ERR_LOG;
			}
			cr_log_checkpoint(handle, (unsigned)len, *msg_p);
		}
	}
	if (cr_reap_checkpoint(handle) < 0)
		return CR_POLL_CHKPT_ERR_POST;
	return 1;
}

API int cr_poll_checkpoint(cr_checkpoint_handle_t *handle, struct timeval *timeout)
{
	return cr_poll_checkpoint_msg(handle, timeout, NULL);
}

API int cr_forward_checkpoint(cr_scope_t scope, pid_t target)
{
	(void)scope;
	(void)target;
	errno = cur ? ENOSYS : CR_ENOTCB;
	return -1;
}

/* Legacy self-checkpoints: synchronous, as in BLCR. */
static void legacy(const char *path, int fd)
{
	last_refusal_code = 0;
	int h = fd >= 0 ? cairn_request_checkpoint_fd(fd, 0) : cairn_request_checkpoint(path, 0);
	int rc;
	while ((rc = h < 0 ? -1 : cairn_poll_checkpoint(h, -1)) < 0 && errno == EINTR)
		;
	if (rc < 0)
		fprintf(stderr, "libcr: checkpoint of process %d failed: %s\n", (int)getpid(),
			h < 0 ? strerror(errno) : cairn_last_error());
}

API void cr_request(void)
{
	legacy(NULL, -1);
}

API void cr_request_file(const char *filename)
{
	legacy(filename, -1);
}

API void cr_request_fd(int fd)
{
	legacy(NULL, fd);
}

/* ---- restart requests: cr_restart does this ---- */

API int cri_init_restart_args_t(cr_version_t ver, cr_restart_args_t *a)
{
	if (!a || ver != 1) {
		errno = EINVAL;
		return -1;
	}
	a->cr_version = ver;
	a->cr_fd = -1;
	a->cr_signal = 0;
	a->cr_flags = CR_RSTRT_RESTORE_PID;
	a->cr_relocate = NULL;
	return 0;
}

#define NO_RESTART_REQUESTS \
	do {                     \
		errno = ENOSYS;  \
		return -1;       \
	} while (0)

API int cr_request_restart(cr_restart_args_t *args, cr_restart_handle_t *handle)
{
	(void)args;
	(void)handle;
	NO_RESTART_REQUESTS;
}

API int cr_wait_restart(cr_restart_handle_t *handle, struct timeval *timeout)
{
	(void)handle;
	(void)timeout;
	NO_RESTART_REQUESTS;
}

API int cr_log_restart(cr_restart_handle_t *handle, unsigned int len, char *msg)
{
	(void)handle;
	(void)len;
	(void)msg;
	NO_RESTART_REQUESTS;
}

API int cr_reap_restart(cr_restart_handle_t *handle)
{
	(void)handle;
	NO_RESTART_REQUESTS;
}

API int cr_poll_restart_msg(cr_restart_handle_t *handle, struct timeval *timeout, char **msg_p)
{
	(void)handle;
	(void)timeout;
	(void)msg_p;
	errno = ENOSYS;
	return CR_POLL_RSTRT_ERR_PRE;
}

API int cr_poll_restart(cr_restart_handle_t *handle, struct timeval *timeout)
{
	return cr_poll_restart_msg(handle, timeout, NULL);
}

/* ---- the rest ---- */

API void cr_spinlock_init(cr_spinlock_t *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

API int cr_spinlock_trylock(cr_spinlock_t *l)
{
	return __atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE) == 0;
}

API void cr_spinlock_lock(cr_spinlock_t *l)
{
	for (int spins = 0; !cr_spinlock_trylock(l); spins++) {
		while (__atomic_load_n(l, __ATOMIC_RELAXED)) {
			if (++spins > 1000) {
				sched_yield();
				spins = 0;
			} else {
				__builtin_ia32_pause();
			}
		}
	}
}

API void cr_spinlock_unlock(cr_spinlock_t *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

API const char *cr_strerror(int errnum)
{
	static const char *const text[] = {
		[CR_ETEMPFAIL - CR_ETEMPFAIL] = "Temporary failure: a callback cancelled the checkpoint",
		[CR_EPERMFAIL - CR_ETEMPFAIL] =
			"Permanent failure: a callback cancelled the checkpoint and ended its process",
		[CR_ENOSUPPORT - CR_ETEMPFAIL] =
			"The process does not run with checkpoint support (start it with cr_run "
			"or link it with -lcr)",
		[CR_EVERSION - CR_ETEMPFAIL] = "Interface version not supported",
		[CR_EOMITTED - CR_ETEMPFAIL] = "A callback omitted its process from the checkpoint",
		[CR_EBADARCH - CR_ETEMPFAIL] = "The context file is for another architecture",
		[CR_EPTRACED - CR_ETEMPFAIL] = "A target process is being ptraced",
		[CR_EPTRACER - CR_ETEMPFAIL] = "A target process is ptracing others",
		[CR_ERSTRTABRT - CR_ETEMPFAIL] = "The restart was cancelled",
		[CR_ERESTARTED - CR_ETEMPFAIL] = "The request belongs to the process before its restart",
		[CR_ENOTCB - CR_ETEMPFAIL] = "Only valid inside a checkpoint callback",
		[CR_ENOINIT - CR_ETEMPFAIL] = "The calling thread has not called cr_init()",
	};
	if (errnum > CR_MIN_ERRCODE && errnum < CR_MAX_ERRCODE)
		return text[errnum - CR_ETEMPFAIL];
	return strerror(errnum);
}

API cr_hook_fn_t cr_register_hook(cr_hook_event_t event, cr_hook_fn_t fn)
{
	if ((int)event < 0 || event >= CR_NUM_HOOKS || fn == CR_HOOK_FN_ERROR) {
		errno = EINVAL;
		return CR_HOOK_FN_ERROR;
	}
	if (client_id < 0 && !cur) {
		errno = CR_ENOINIT;
		return CR_HOOK_FN_ERROR;
	}
	return __atomic_exchange_n(&hooks[event], fn, __ATOMIC_ACQ_REL);
}

API int cr_hold_ctrl(int scope, int flags)
{
	int *v = scope == CR_HOLD_SCOPE_THREAD ? &hold_thread
		 : scope == CR_HOLD_SCOPE_INIT ? &hold_init
		 : scope == CR_HOLD_SCOPE_UNINIT ? &hold_uninit
						 : NULL;
	if (!v || (flags != CR_HOLD_READ && (flags < 0 || flags > CR_HOLD_DFLT)) ||
	    (flags == CR_HOLD_DFLT && scope != CR_HOLD_SCOPE_THREAD)) {
		errno = EINVAL;
		return -1;
	}
	if (client_id < 0 && !cur) {
		errno = CR_ENOINIT;
		return -1;
	}
	int old = *v;
	if (flags != CR_HOLD_READ)
		*v = flags;
	return old;
}

API int cr_inc_persist(void)
{
	return __atomic_add_fetch(&persist, 1, __ATOMIC_SEQ_CST) > 0 ? 0 : -1;
}

API int cr_dec_persist(void)
{
	return __atomic_sub_fetch(&persist, 1, __ATOMIC_SEQ_CST) >= 0 ? 0 : -1;
}
