/*
 * The program's part in its checkpoints (include/cairn.h): callbacks,
 * critical sections, checkpoints of itself, and what a callback may ask.
 *
 * A checkpoint request (from `cairn checkpoint` or from the program) is run
 * by the manager as a chain: wait until no thread is inside a critical
 * section; run the thread-context callbacks, each of which continues the
 * chain when it calls cairn_checkpoint(CAIRN_READY); at the end of the chain
 * stop the threads (each runs its own signal-context callbacks the same way,
 * in threads.c, and parks at the end of its chain) and write the image
 * (dump.c). The outcome travels back up the chains: 0 continuing, 1
 * restarted (the whole stack of callbacks is in the image, so after a
 * restart cairn_checkpoint() returns a second time, with 1), -1 failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/blcr_glue.h"
#include "runtime/callbacks.h"
#include "runtime/control.h"
#include "runtime/runtime.h"

#define MAX_CALLBACKS 256

struct callback {
	cairn_callback_t fn;
	void *arg;
	int flags;
	uintptr_t owner; /* signal context: the registering thread (its TLS) */
};

static struct callback cbs[MAX_CALLBACKS];
static int ncbs;
static pthread_mutex_t cb_lock = PTHREAD_MUTEX_INITIALIZER;

/* A chain in progress: the thread-context one on the manager, or a
 * signal-context one in a thread's handler. */
struct chain {
	int idx[MAX_CALLBACKS];
	int n, pos;
	int called[MAX_CALLBACKS]; /* callback at depth d called cairn_checkpoint */
	int depth;
	int (*final)(void *);
	void *final_arg;
	int outcome;
	int done; /* final has run */
};

static __thread struct chain *cur_chain __attribute__((tls_model("initial-exec")));
static __thread int cs_depth __attribute__((tls_model("initial-exec")));

static volatile int cs_count;
volatile int rt_ckpt_state; /* 0 idle, 1 pending (waiting for critical sections), 2 active */
static volatile int perm_refused;
static char perm_msg[512];

/* refusal of the checkpoint in progress, from any thread or context */
volatile int rt_refused;
char rt_refuse_msg[512];
static volatile int refuse_kind, refuse_code;

static long futex(volatile int *p, int op, int val, const struct timespec *ts)
{
	return syscall(SYS_futex, p, op, val, ts, NULL, 0);
}

static uintptr_t self_key(void)
{
	return (uintptr_t)&cur_chain;
}

EXPORT int cairn_register_callback(cairn_callback_t fn, void *arg, int flags)
{
	int ctx = flags & (CAIRN_THREAD_CONTEXT | CAIRN_SIGNAL_CONTEXT);

	if (!fn || (ctx != CAIRN_THREAD_CONTEXT && ctx != CAIRN_SIGNAL_CONTEXT)) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&cb_lock);
	int id = ncbs;
	if (id >= MAX_CALLBACKS) {
		pthread_mutex_unlock(&cb_lock);
		errno = ENOSPC;
		return -1;
	}
	cbs[id].arg = arg;
	cbs[id].flags = ctx;
	cbs[id].owner = self_key();
	__atomic_store_n(&cbs[id].fn, fn, __ATOMIC_RELEASE);
	__atomic_store_n(&ncbs, id + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&cb_lock);
	return id;
}

EXPORT int cairn_replace_callback(int id, cairn_callback_t fn, void *arg, int flags)
{
	int ctx = flags & (CAIRN_THREAD_CONTEXT | CAIRN_SIGNAL_CONTEXT);

	pthread_mutex_lock(&cb_lock);
	if (id < 0 || id >= ncbs || (fn && ctx != CAIRN_THREAD_CONTEXT && ctx != CAIRN_SIGNAL_CONTEXT)) {
		pthread_mutex_unlock(&cb_lock);
		errno = EINVAL;
		return -1;
	}
	__atomic_store_n(&cbs[id].fn, NULL, __ATOMIC_RELEASE);
	cbs[id].arg = arg;
	if (fn) {
		cbs[id].flags = ctx;
		cbs[id].owner = self_key();
	}
	__atomic_store_n(&cbs[id].fn, fn, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&cb_lock);
	return 0;
}

/* Runs the chain from its current position. SIGNAL SAFE when the
 * callbacks are. */
static int run_chain(struct chain *c)
{
	if (c->pos == c->n) {
		if (c->done)
			return c->outcome;
		c->done = 1;
		c->outcome = c->final(c->final_arg);
		return c->outcome;
	}
	int d = c->depth++;
	struct callback *cb = &cbs[c->idx[c->pos++]];
	c->called[d] = 0;
	cairn_callback_t fn = __atomic_load_n(&cb->fn, __ATOMIC_ACQUIRE);
	if (fn)
		fn(cb->arg);
	/* a callback that returned without calling cairn_checkpoint() lets
	 * the rest of the chain run after it */
	if (!c->called[d] && !c->done)
		run_chain(c);
	c->depth--;
	return c->outcome;
}

static void refuse(int how, int kind, int code, const char *msg)
{
	char *dst = rt_refuse_msg;
	size_t i = 0;

	if (msg)
		for (; msg[i] && i < sizeof(rt_refuse_msg) - 1; i++)
			dst[i] = msg[i];
	if (!i) {
		const char *d = how == CAIRN_PERM_FAILURE ? "a callback refused all checkpoints"
							  : "a callback refused the checkpoint";
		for (; d[i]; i++)
			dst[i] = d[i];
	}
	dst[i] = 0;
	if (how == CAIRN_PERM_FAILURE) {
		memcpy(perm_msg, dst, sizeof(perm_msg));
		perm_refused = 1;
	}
	/* the first refusal's kind and code are the ones reported */
	if (!__atomic_load_n(&rt_refused, __ATOMIC_SEQ_CST)) {
		refuse_kind = kind;
		refuse_code = code;
	}
	__atomic_store_n(&rt_refused, 1, __ATOMIC_SEQ_CST);
}

EXPORT int cairn_checkpoint(int how, const char *msg)
{
	struct chain *c = cur_chain;

	if (!c || c->depth == 0) {
		errno = EINVAL;
		return -1;
	}
	c->called[c->depth - 1] = 1;
	if (how == CAIRN_TEMP_FAILURE || how == CAIRN_PERM_FAILURE) {
		refuse(how, REFUSAL_TEMP, 0, msg);
		errno = ECANCELED;
		return -1;
	}
	if (how != CAIRN_READY) {
		errno = EINVAL;
		return -1;
	}
	if (rt_refused && !c->done) {
		/* refused by an earlier callback: the chain stops here */
		c->done = 1;
		c->outcome = -1;
	}
	int rc = run_chain(c);
	if (rc < 0)
		errno = rt_refused ? ECANCELED : EIO;
	return rc;
}

/* libcr's refusals (blcr_glue.h): BLCR's kinds and codes. */
EXPORT int cairn_blcr_refuse(int kind, int code, const char *msg)
{
	struct chain *c = cur_chain;

	if (!c || c->depth == 0) {
		errno = EINVAL;
		return -1;
	}
	c->called[c->depth - 1] = 1;
	refuse(CAIRN_TEMP_FAILURE, kind, code & 0xffff, msg);
	errno = ECANCELED;
	return -1;
}

/* Builds and runs a chain of the callbacks of one context (and, for signal
 * context, of this thread); final() does what comes after them all. */
static int chain_run(int ctx, uintptr_t owner, int (*final)(void *), void *arg, int *had)
{
	static struct chain manager_chain;
	struct chain local, *c = ctx == CAIRN_THREAD_CONTEXT ? &manager_chain : &local;
	int n = __atomic_load_n(&ncbs, __ATOMIC_ACQUIRE);

	c->n = 0;
	c->pos = 0;
	c->depth = 0;
	c->done = 0;
	c->outcome = -1;
	c->final = final;
	c->final_arg = arg;
	for (int i = 0; i < n; i++)
		if (cbs[i].flags == ctx && __atomic_load_n(&cbs[i].fn, __ATOMIC_ACQUIRE) &&
		    (ctx == CAIRN_THREAD_CONTEXT || cbs[i].owner == owner))
			c->idx[c->n++] = i;
	if (had)
		*had = c->n;
	struct chain *saved = cur_chain;
	cur_chain = c;
	int rc = run_chain(c);
	cur_chain = saved;
	return rc;
}

static void (*thread_hook)(int outcome);

EXPORT void cairn_blcr_set_thread_hook(void (*fn)(int outcome))
{
	__atomic_store_n(&thread_hook, fn, __ATOMIC_RELEASE);
}

/* In the checkpoint signal handler of a thread (threads.c). */
int callbacks_signal_chain(int (*park)(void *), void *arg)
{
	int had = 0;
	int rc = chain_run(CAIRN_SIGNAL_CONTEXT, self_key(), park, arg, &had);
	void (*hook)(int) = __atomic_load_n(&thread_hook, __ATOMIC_ACQUIRE);

	if (!had && hook)
		hook(rc);
	return rc;
}

/* ---- critical sections ---- */

EXPORT void cairn_enter_cs(void)
{
	if (cs_depth++ > 0)
		return;
	for (;;) {
		int st = __atomic_load_n(&rt_ckpt_state, __ATOMIC_SEQ_CST);
		if (st) {
			futex((volatile int *)&rt_ckpt_state, FUTEX_WAIT, st, NULL);
			continue;
		}
		__atomic_fetch_add(&cs_count, 1, __ATOMIC_SEQ_CST);
		if (!__atomic_load_n(&rt_ckpt_state, __ATOMIC_SEQ_CST))
			return;
		/* a checkpoint became pending meanwhile: let it go first */
		if (__atomic_sub_fetch(&cs_count, 1, __ATOMIC_SEQ_CST) == 0)
			futex(&cs_count, FUTEX_WAKE, 1, NULL);
	}
}

EXPORT int cairn_tryenter_cs(void)
{
	if (cs_depth > 0) {
		cs_depth++;
		return 0;
	}
	__atomic_fetch_add(&cs_count, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&rt_ckpt_state, __ATOMIC_SEQ_CST)) {
		if (__atomic_sub_fetch(&cs_count, 1, __ATOMIC_SEQ_CST) == 0)
			futex(&cs_count, FUTEX_WAKE, 1, NULL);
		errno = EAGAIN;
		return -1;
	}
	cs_depth = 1;
	return 0;
}

EXPORT void cairn_leave_cs(void)
{
	if (cs_depth <= 0)
		return;
	if (--cs_depth > 0)
		return;
	if (__atomic_sub_fetch(&cs_count, 1, __ATOMIC_SEQ_CST) == 0)
		futex(&cs_count, FUTEX_WAKE, 1, NULL);
}

EXPORT int cairn_status(void)
{
	return __atomic_load_n(&rt_ckpt_state, __ATOMIC_SEQ_CST);
}

/* ---- the manager's side ---- */

static struct ckpt_request *active;

struct final_args {
	struct ckpt_request *req;
	struct ckpt_result *res;
};

static int final_dump(void *arg)
{
	struct final_args *a = arg;

	dump_checkpoint(a->req, a->res);
	job_after_image(a->req, a->res);
	if (a->res->restored)
		return 1;
	return a->res->status == 0 ? 0 : -1;
}

/* Runs one checkpoint request on the manager thread, callbacks included. */
void callbacks_checkpoint(struct ckpt_request *req, struct ckpt_result *res)
{
	static struct final_args fa;

	memset(res, 0, sizeof(*res));
	if (perm_refused) {
		res->status = ECANCELED;
		fmt(res->msg, sizeof(res->msg), "refused by the program: %s", perm_msg);
		return;
	}
	active = req;
	rt_refused = 0;
	rt_refuse_msg[0] = 0;
	refuse_kind = REFUSAL_NONE;
	refuse_code = 0;
	__atomic_store_n(&rt_ckpt_state, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		int n = __atomic_load_n(&cs_count, __ATOMIC_SEQ_CST);
		if (!n)
			break;
		futex(&cs_count, FUTEX_WAIT, n, NULL);
	}
	__atomic_store_n(&rt_ckpt_state, 2, __ATOMIC_SEQ_CST);
	fa.req = req;
	fa.res = res;
	int rc = chain_run(CAIRN_THREAD_CONTEXT, 0, final_dump, &fa, NULL);
	if (rc >= 0 && rt_refused && !res->restored) {
		/* refused by a callback after the image was taken: impossible by
		 * construction (refusals come before), but keep the contract */
		rc = -1;
	}
	if (rt_refused && !res->restored) {
		res->status = ECANCELED;
		res->refusal = refuse_kind ? refuse_kind : REFUSAL_TEMP;
		res->code = refuse_code;
		fmt(res->msg, sizeof(res->msg), "%s: %s",
		    res->refusal == REFUSAL_OMIT ? "the program left itself out of the checkpoint"
						 : "refused by the program",
		    rt_refuse_msg);
	}
	active = NULL;
	__atomic_store_n(&rt_ckpt_state, 0, __ATOMIC_SEQ_CST);
	futex((volatile int *)&rt_ckpt_state, FUTEX_WAKE, 0x7fffffff, NULL);
}

EXPORT int cairn_get_checkpoint_info(struct cairn_checkpoint_info *info)
{
	struct ckpt_request *r = active;

	if (!r || !info) {
		errno = EINVAL;
		return -1;
	}
	info->path = r->path;
	info->kill = (r->flags & CTL_KILL) != 0;
	info->requester = r->requester;
	info->requester_uid = r->requester_uid;
	return 0;
}

/* libcr's view of the request in progress (blcr_glue.h). */
EXPORT int cairn_blcr_request_info(int *signal, int *scope, int *target)
{
	struct ckpt_request *r = active;

	if (!r) {
		errno = EINVAL;
		return -1;
	}
	*signal = r->flags & CTL_KILL ? SIGKILL : r->signal;
	*scope = r->scope;
	*target = r->target;
	return 0;
}

EXPORT int cairn_get_restart_info(struct cairn_restart_info *info)
{
	if (!info || !rt.generation) {
		errno = EINVAL;
		return -1;
	}
	info->path = cairn_restore_info.image_path;
	info->requester = rt.pid;
	return 0;
}

/* ---- checkpoints of oneself ---- */

static struct self_req {
	volatile int state; /* 0 free, 1 queued, 2 running, 3 done */
	int handle;
	int outcome;
	int err;
	int refusal, code;
	char msg[512];
	struct ckpt_request req;
} self;
static pthread_mutex_t self_lock = PTHREAD_MUTEX_INITIALIZER;
static int next_handle = 1;
static __thread char last_error[512];

static cairn_handle_t request_self(const char *path, int fd, unsigned flags)
{
	char cwd[2048];
	int sig = (int)((flags >> 8) & 0xff);

	if (!rt.ready || rt.event_fd < 0) {
		errno = ENOSYS;
		return -1;
	}
	if (sig >= CKPT_SIGNAL || (flags & ~(CAIRN_CKPT_KILL | 0xff00u))) {
		errno = EINVAL;
		return -1;
	}
	if (fd >= 0 && fcntl(fd, F_GETFD) < 0)
		return -1; /* EBADF */
	pthread_mutex_lock(&self_lock);
	if (self.state == 1 || self.state == 2) {
		pthread_mutex_unlock(&self_lock);
		errno = EBUSY;
		return -1;
	}
	memset(&self.req, 0, sizeof(self.req));
	self.req.fd = -1;
	if (fd >= 0) {
		/* a descriptor of our own, out of the program's way */
		self.req.fd = fcntl(fd, F_DUPFD_CLOEXEC, 1000);
		if (self.req.fd < 0) {
			pthread_mutex_unlock(&self_lock);
			return -1;
		}
		self.req.flags |= CTL_FD;
		fmt(self.req.path, sizeof(self.req.path), "descriptor %d", fd);
		char proc[64];
		fmt(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(proc, self.req.path, sizeof(self.req.path) - 1);
		if (n > 0)
			self.req.path[n] = 0;
	} else if (!path) {
		fmt(self.req.path, sizeof(self.req.path), "%s/context.%d",
		    getcwd(cwd, sizeof(cwd)) ? cwd : ".", (int)getpid());
	} else if (path[0] != '/') {
		fmt(self.req.path, sizeof(self.req.path), "%s/%s",
		    getcwd(cwd, sizeof(cwd)) ? cwd : ".", path);
	} else {
		fmt(self.req.path, sizeof(self.req.path), "%s", path);
	}
	self.req.flags |= flags & CAIRN_CKPT_KILL ? CTL_KILL : 0;
	self.req.signal = sig;
	self.req.target = getpid();
	self.req.requester = getpid();
	self.req.requester_uid = getuid();
	self.handle = next_handle++;
	self.err = 0;
	self.refusal = 0;
	self.code = 0;
	self.msg[0] = 0;
	__atomic_store_n(&self.state, 1, __ATOMIC_SEQ_CST);
	int h = self.handle;
	pthread_mutex_unlock(&self_lock);
	uint64_t one = 1;
	if (write(rt.event_fd, &one, sizeof(one)) != sizeof(one)) {
		if (self.req.fd >= 0)
			close(self.req.fd);
		self.state = 0;
		return -1;
	}
	return h;
}

EXPORT cairn_handle_t cairn_request_checkpoint(const char *path, unsigned flags)
{
	return request_self(path, -1, flags);
}

EXPORT cairn_handle_t cairn_request_checkpoint_fd(int fd, unsigned flags)
{
	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	return request_self(NULL, fd, flags);
}

/* libcr's view of how its own request ended (blcr_glue.h). */
EXPORT int cairn_blcr_self_refusal(cairn_handle_t h, int *kind, int *code)
{
	if (h != self.handle || self.state != 3) {
		errno = EINVAL;
		return -1;
	}
	*kind = self.refusal;
	*code = self.code;
	return 0;
}

EXPORT int cairn_poll_checkpoint(cairn_handle_t h, int timeout_ms)
{
	uint64_t deadline = timeout_ms >= 0 ? now_ns(CLOCK_MONOTONIC) + (uint64_t)timeout_ms * 1000000ull : 0;

	if (h != self.handle) {
		errno = EINVAL;
		return -1;
	}
	for (;;) {
		int st = __atomic_load_n(&self.state, __ATOMIC_SEQ_CST);
		if (st == 3)
			break;
		struct timespec ts, *tp = NULL;
		if (timeout_ms >= 0) {
			uint64_t now = now_ns(CLOCK_MONOTONIC);
			if (now >= deadline) {
				errno = ETIMEDOUT;
				return -1;
			}
			ts.tv_sec = (time_t)((deadline - now) / 1000000000ull);
			ts.tv_nsec = (long)((deadline - now) % 1000000000ull);
			tp = &ts;
		}
		futex(&self.state, FUTEX_WAIT, st, tp);
	}
	if (self.outcome < 0) {
		fmt(last_error, sizeof(last_error), "%s", self.msg);
		errno = self.err ? self.err : EIO;
		return -1;
	}
	return self.outcome;
}

EXPORT int cairn_checkpoint_self(const char *path, unsigned flags)
{
	int h = cairn_request_checkpoint(path, flags);
	return h < 0 ? -1 : cairn_poll_checkpoint(h, -1);
}

EXPORT const char *cairn_last_error(void)
{
	return last_error;
}

/* On the manager, when the event descriptor says a request is queued. */
void callbacks_serve_self(void)
{
	static struct ckpt_result res;
	uint64_t v;

	if (read(rt.event_fd, &v, sizeof(v)) < 0)
		return;
	if (__atomic_load_n(&self.state, __ATOMIC_SEQ_CST) != 1)
		return;
	self.state = 2;
	callbacks_checkpoint(&self.req, &res);
	if (self.req.fd >= 0 && !res.restored)
		close(self.req.fd);
	self.req.fd = -1;
	if (res.restored) {
		self.outcome = 1;
	} else if (res.status == 0) {
		self.outcome = 0;
	} else {
		self.outcome = -1;
		self.err = res.status;
		self.refusal = res.refusal;
		self.code = res.code;
		fmt(self.msg, sizeof(self.msg), "%s", res.msg);
	}
	__atomic_store_n(&self.state, 3, __ATOMIC_SEQ_CST);
	futex(&self.state, FUTEX_WAKE, 0x7fffffff, NULL);
	if (!res.restored)
		after_reply(&self.req, &res);
}

int callbacks_make_event(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -1;
	rt.event_fd = fd_high(fd);
	return 0;
}
