/*
 * Signals: keeping the checkpoint signal to ourselves, counting the
 * program's own signals, and saving dispositions.
 *
 * CKPT_SIGNAL (64) is invisible: sigaction() on it fails like glibc's own
 * reserved signals, masks never block it, and SIGRTMAX reads 63.
 * The program's handlers are installed through a trampoline that counts
 * deliveries per thread (rt_app_signals); the wrappers in wrap.c use the
 * count to tell an EINTR caused by a checkpoint, which they hide, from one
 * caused by the program's own signal, which they return.
 */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/runtime.h"

struct app_handler {
	void *fn;
	int flags;
};
static struct app_handler app[65];

static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);
static int (*real_sigprocmask)(int, const sigset_t *, sigset_t *);
static int (*real_pthread_sigmask)(int, const sigset_t *, sigset_t *);
static int (*real_sigsuspend)(const sigset_t *);
static int (*real_sigwaitinfo)(const sigset_t *, siginfo_t *);
static int (*real_sigtimedwait)(const sigset_t *, siginfo_t *, const struct timespec *);
static int (*real_sigwait)(const sigset_t *, int *);
static int (*real_signalfd)(int, const sigset_t *, int);

#define RESOLVE(name) (real_##name ? real_##name : resolve((void **)&real_##name, #name))

static void *resolve(void **slot, const char *name)
{
	*slot = dlsym(RTLD_NEXT, name);
	return *slot;
}

void signals_init(void)
{
	RESOLVE(sigaction);
	RESOLVE(sigprocmask);
	RESOLVE(pthread_sigmask);
	RESOLVE(sigsuspend);
	RESOLVE(sigwaitinfo);
	RESOLVE(sigtimedwait);
	RESOLVE(sigwait);
	RESOLVE(signalfd);
}

int signals_real_sigaction(int sig, const struct sigaction *sa, struct sigaction *old)
{
	return ((__typeof__(real_sigaction))RESOLVE(sigaction))(sig, sa, old);
}

static void trampoline(int sig, siginfo_t *si, void *uc)
{
	struct app_handler h = app[sig];

	rt_app_signals++;
	if (h.flags & SA_SIGINFO)
		((void (*)(int, siginfo_t *, void *))h.fn)(sig, si, uc);
	else if (h.fn)
		((void (*)(int))h.fn)(sig);
}

/* Masks never hold the checkpoint signal, nor the job's (job.c). */
static const sigset_t *without_ckpt(const sigset_t *in, sigset_t *copy)
{
	int job = rt_job_signal > 0 && in && sigismember(in, rt_job_signal);

	if (!in || (!sigismember(in, CKPT_SIGNAL) && !job))
		return in;
	*copy = *in;
	sigdelset(copy, CKPT_SIGNAL);
	if (job)
		sigdelset(copy, rt_job_signal);
	return copy;
}

/* What the program set for the job's signal, which it never receives. */
static struct sigaction job_virtual;

EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct sigaction mine, prev;
	struct app_handler before;

	if (sig == CKPT_SIGNAL) {
		errno = EINVAL;
		return -1;
	}
	if (sig < 1 || sig > 64)
		return ((__typeof__(real_sigaction))RESOLVE(sigaction))(sig, act, old);
	if (sig == rt_job_signal) {
		struct sigaction prev_virtual = job_virtual;
		if (act)
			job_virtual = *act;
		if (old)
			*old = prev_virtual;
		return 0;
	}
	before = app[sig];
	if (act) {
		mine = *act;
		sigdelset(&mine.sa_mask, CKPT_SIGNAL);
		if (act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN) {
			app[sig].fn = (void *)act->sa_handler;
			app[sig].flags = act->sa_flags;
			mine.sa_sigaction = trampoline;
			mine.sa_flags |= SA_SIGINFO;
		}
		act = &mine;
	}
	int rc = ((__typeof__(real_sigaction))RESOLVE(sigaction))(sig, act, &prev);
	if (rc < 0) {
		if (act)
			app[sig] = before;
		return rc;
	}
	if (old) {
		*old = prev;
		if (prev.sa_sigaction == trampoline) {
			old->sa_handler = (void (*)(int))before.fn;
			old->sa_flags = (prev.sa_flags & ~SA_SIGINFO) | (before.flags & SA_SIGINFO);
		}
	}
	return 0;
}

typedef void (*sighandler_fn)(int);

static sighandler_fn install(int sig, sighandler_fn h, int flags)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = h;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

EXPORT sighandler_fn signal(int sig, sighandler_fn h)
{
	return install(sig, h, SA_RESTART);
}

EXPORT sighandler_fn bsd_signal(int sig, sighandler_fn h)
{
	return install(sig, h, SA_RESTART);
}

EXPORT sighandler_fn sysv_signal(int sig, sighandler_fn h)
{
	return install(sig, h, SA_RESETHAND | SA_NODEFER);
}

EXPORT sighandler_fn __sysv_signal(int sig, sighandler_fn h)
{
	return install(sig, h, SA_RESETHAND | SA_NODEFER);
}

EXPORT int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	sigset_t c;
	return ((__typeof__(real_sigprocmask))RESOLVE(sigprocmask))(how, without_ckpt(set, &c), old);
}

EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	sigset_t c;
	return ((__typeof__(real_pthread_sigmask))RESOLVE(pthread_sigmask))(how, without_ckpt(set, &c), old);
}

/* sigsuspend always ends with EINTR; one caused by a checkpoint alone is
 * not the program's business, so suspend again. */
EXPORT int sigsuspend(const sigset_t *mask)
{
	sigset_t c;
	const sigset_t *m = without_ckpt(mask, &c);
	int rc;

	for (;;) {
		unsigned seen = rt_app_signals;
		rc = ((__typeof__(real_sigsuspend))RESOLVE(sigsuspend))(m);
		if (rc < 0 && errno == EINTR && rt_app_signals == seen)
			continue;
		return rc;
	}
}

EXPORT int pause(void)
{
	sigset_t cur;

	((__typeof__(real_pthread_sigmask))RESOLVE(pthread_sigmask))(SIG_BLOCK, NULL, &cur);
	return sigsuspend(&cur);
}

EXPORT int sigwaitinfo(const sigset_t *set, siginfo_t *info)
{
	sigset_t c;
	const sigset_t *s = without_ckpt(set, &c);
	int rc;

	for (;;) {
		unsigned seen = rt_app_signals;
		rc = ((__typeof__(real_sigwaitinfo))RESOLVE(sigwaitinfo))(s, info);
		if (rc < 0 && errno == EINTR && rt_app_signals == seen)
			continue;
		return rc;
	}
}

EXPORT int sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *ts)
{
	sigset_t c;
	const sigset_t *s = without_ckpt(set, &c);
	struct timespec left;
	uint64_t deadline = 0;
	int rc;

	if (ts)
		deadline = now_ns(CLOCK_MONOTONIC) + (uint64_t)ts->tv_sec * 1000000000ull +
			   (uint64_t)ts->tv_nsec;
	for (;;) {
		unsigned seen = rt_app_signals, ck = rt_ckpt_count;
		rc = ((__typeof__(real_sigtimedwait))RESOLVE(sigtimedwait))(s, info, ts);
		if (rc < 0 && errno == EINTR && rt_app_signals == seen && rt_ckpt_count != ck) {
			if (ts) {
				uint64_t now = now_ns(CLOCK_MONOTONIC);
				uint64_t rem = now < deadline ? deadline - now : 0;
				left.tv_sec = (time_t)(rem / 1000000000ull);
				left.tv_nsec = (long)(rem % 1000000000ull);
				ts = &left;
			}
			continue;
		}
		return rc;
	}
}

EXPORT int sigwait(const sigset_t *set, int *sig)
{
	sigset_t c;
	return ((__typeof__(real_sigwait))RESOLVE(sigwait))(without_ckpt(set, &c), sig);
}

EXPORT int signalfd(int fd, const sigset_t *mask, int flags)
{
	sigset_t c;
	return ((__typeof__(real_signalfd))RESOLVE(signalfd))(fd, without_ckpt(mask, &c), flags);
}

EXPORT int __libc_current_sigrtmax(void)
{
	return CKPT_SIGNAL - 1;
}

/* The kernel's view of every disposition, trampolines included: the
 * restored runtime has the same table at the same addresses. */
void signals_write(struct img_writer *w)
{
	struct img_sigaction sa[64];
	struct {
		uint64_t handler, flags, restorer, mask;
	} k;

	memset(sa, 0, sizeof(sa));
	for (int sig = 1; sig <= 64; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (syscall(SYS_rt_sigaction, sig, NULL, &k, 8) == 0) {
			sa[sig - 1].handler = k.handler;
			sa[sig - 1].flags = k.flags;
			sa[sig - 1].restorer = k.restorer;
			sa[sig - 1].mask = k.mask;
		}
	}
	img_section_begin(w, SEC_SIGACTS, 8);
	img_put(w, sa, sizeof(sa));
	img_section_end(w);
}
