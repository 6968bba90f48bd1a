/*
 * libc functions the runtime intercepts so that a checkpoint stays
 * invisible to the program.
 *
 * Sleeps and waits: the kernel ends nanosleep, poll, select, epoll_wait and
 * timed semaphore waits with EINTR when any handled signal arrives, even
 * with SA_RESTART. When the only signal was the checkpoint's (the program's
 * own handlers bump rt_app_signals, see signals.c), the wrapper waits again
 * for what is left of the original time, measured on a monotonic clock that
 * the runtime shifts after a restart so that the time the program spent on
 * disk does not count.
 *
 * Mutexes: glibc records the owner's TID in a mutex; a restored thread has a
 * new TID. Each thread keeps a list of the mutexes it holds (rt_held), and
 * rewrites their owner after a restart (threads.c).
 */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "runtime/runtime.h"

__thread pid_t rt_tid __attribute__((tls_model("initial-exec")));
__thread unsigned rt_ckpt_count __attribute__((tls_model("initial-exec")));
__thread unsigned rt_app_signals __attribute__((tls_model("initial-exec")));
__thread void *rt_held[MAX_HELD] __attribute__((tls_model("initial-exec")));
__thread int rt_nheld __attribute__((tls_model("initial-exec")));

int64_t rt_mono_adjust;

#define REAL(name) \
	static __typeof__(name) *real_##name; \
	if (!real_##name) \
		real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

/* The program's monotonic time: CLOCK_MONOTONIC minus time spent on disk. */
static uint64_t mono(void)
{
	return now_ns(CLOCK_MONOTONIC) + (uint64_t)rt_mono_adjust;
}

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
}

static struct timespec ns_ts(uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
	return ts;
}

static uint64_t left(uint64_t deadline)
{
	uint64_t now = mono();
	return now < deadline ? deadline - now : 0;
}

/* True when an EINTR was caused by a checkpoint and by nothing else. */
#define CKPT_ONLY(ck, as) (rt_ckpt_count != (ck) && rt_app_signals == (as))

EXPORT int clock_nanosleep(clockid_t clock, int flags, const struct timespec *req, struct timespec *rem)
{
	REAL(clock_nanosleep);
	struct timespec cur = *req;
	uint64_t deadline = mono() + ts_ns(req);

	for (;;) {
		unsigned ck = rt_ckpt_count, as = rt_app_signals;
		int rc = real_clock_nanosleep(clock, flags, &cur, rem);
		if (rc == EINTR && CKPT_ONLY(ck, as)) {
			if (!(flags & TIMER_ABSTIME))
				cur = ns_ts(left(deadline));
			continue;
		}
		return rc;
	}
}

EXPORT int nanosleep(const struct timespec *req, struct timespec *rem)
{
	REAL(nanosleep);
	struct timespec cur = *req;
	uint64_t deadline = mono() + ts_ns(req);

	for (;;) {
		unsigned ck = rt_ckpt_count, as = rt_app_signals;
		int rc = real_nanosleep(&cur, rem);
		if (rc < 0 && errno == EINTR && CKPT_ONLY(ck, as)) {
			cur = ns_ts(left(deadline));
			continue;
		}
		return rc;
	}
}

EXPORT unsigned sleep(unsigned sec)
{
	struct timespec ts = {(time_t)sec, 0}, rem = {0, 0};

	if (nanosleep(&ts, &rem) < 0)
		return (unsigned)rem.tv_sec + (rem.tv_nsec > 0);
	return 0;
}

EXPORT int usleep(useconds_t usec)
{
	struct timespec ts = {(time_t)(usec / 1000000), (long)(usec % 1000000) * 1000};
	return nanosleep(&ts, NULL);
}

EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	REAL(poll);
	uint64_t deadline = mono() + (uint64_t)(timeout > 0 ? timeout : 0) * 1000000ull;

	for (;;) {
		unsigned ck = rt_ckpt_count, as = rt_app_signals;
		int rc = real_poll(fds, n, timeout);
		if (rc < 0 && errno == EINTR && CKPT_ONLY(ck, as)) {
			if (timeout > 0)
				timeout = (int)((left(deadline) + 999999) / 1000000);
			continue;
		}
		return rc;
	}
}

EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *tmo, const sigset_t *mask)
{
	REAL(ppoll);
	struct timespec cur;
	uint64_t deadline = tmo ? mono() + ts_ns(tmo) : 0;

	for (;;) {
		unsigned ck = rt_ckpt_count, as = rt_app_signals;
		int rc = real_ppoll(fds, n, tmo, mask);
		if (rc < 0 && errno == EINTR && CKPT_ONLY(ck, as)) {
			if (tmo) {
				cur = ns_ts(left(deadline));
				tmo = &cur;
			}
			continue;
		}
		return rc;
	}
}

EXPORT int select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	REAL(select);
	fd_set r0, w0, e0;

	/* select() clears the sets and, on Linux, updates tv to the time left. */
	if (r)
		r0 = *r;
	if (w)
		w0 = *w;
	if (e)
		e0 = *e;
	for (;;) {
		unsigned ck = rt_ckpt_count, as = rt_app_signals;
		int rc = real_select(n, r, w, e, tv);
		if (rc < 0 && errno == EINTR && CKPT_ONLY(ck, as)) {
			if (r)
				*r = r0;
			if (w)
				*w = w0;
			if (e)
				*e = e0;
			continue;
		}
		return rc;
	}
}

EXPORT int pselect(int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *tmo,
	    const sigset_t *mask)
{
	REAL(pselect);
	fd_set r0, w0, e0;
	struct timespec cur;
	uint64_t deadline = tmo ? mono() + ts_ns(tmo) : 0;

	if (r)
		r0 = *r;
	if (w)
		w0 = *w;
	if (e)
		e0 = *e;
	for (;;) {
		unsigned ck = rt_ckpt_count, as = rt_app_signals;
		int rc = real_pselect(n, r, w, e, tmo, mask);
		if (rc < 0 && errno == EINTR && CKPT_ONLY(ck, as)) {
			if (r)
				*r = r0;
			if (w)
				*w = w0;
			if (e)
				*e = e0;
			if (tmo) {
				cur = ns_ts(left(deadline));
				tmo = &cur;
			}
			continue;
		}
		return rc;
	}
}

EXPORT int epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout)
{
	REAL(epoll_wait);
	uint64_t deadline = mono() + (uint64_t)(timeout > 0 ? timeout : 0) * 1000000ull;

	for (;;) {
		unsigned ck = rt_ckpt_count, as = rt_app_signals;
		int rc = real_epoll_wait(epfd, ev, max, timeout);
		if (rc < 0 && errno == EINTR && CKPT_ONLY(ck, as)) {
			if (timeout > 0)
				timeout = (int)((left(deadline) + 999999) / 1000000);
			continue;
		}
		return rc;
	}
}

EXPORT int epoll_pwait(int epfd, struct epoll_event *ev, int max, int timeout, const sigset_t *mask)
{
	REAL(epoll_pwait);
	uint64_t deadline = mono() + (uint64_t)(timeout > 0 ? timeout : 0) * 1000000ull;

	for (;;) {
		unsigned ck = rt_ckpt_count, as = rt_app_signals;
		int rc = real_epoll_pwait(epfd, ev, max, timeout, mask);
		if (rc < 0 && errno == EINTR && CKPT_ONLY(ck, as)) {
			if (timeout > 0)
				timeout = (int)((left(deadline) + 999999) / 1000000);
			continue;
		}
		return rc;
	}
}

/* Absolute deadlines: just wait again. */
EXPORT int sem_timedwait(sem_t *s, const struct timespec *abstime)
{
	REAL(sem_timedwait);
	for (;;) {
		unsigned ck = rt_ckpt_count, as = rt_app_signals;
		int rc = real_sem_timedwait(s, abstime);
		if (rc < 0 && errno == EINTR && CKPT_ONLY(ck, as))
			continue;
		return rc;
	}
}

EXPORT int sem_clockwait(sem_t *s, clockid_t clock, const struct timespec *abstime)
{
	REAL(sem_clockwait);
	for (;;) {
		unsigned ck = rt_ckpt_count, as = rt_app_signals;
		int rc = real_sem_clockwait(s, clock, abstime);
		if (rc < 0 && errno == EINTR && CKPT_ONLY(ck, as))
			continue;
		return rc;
	}
}

/* ---- mutex ownership ---- */

static void held_add(void *m)
{
	if (rt_nheld < MAX_HELD)
		rt_held[rt_nheld] = m;
	rt_nheld++;
}

static void held_del(void *m)
{
	int n = rt_nheld < MAX_HELD ? rt_nheld : MAX_HELD;

	/* most recently locked first: the usual nesting */
	for (int i = n - 1; i >= 0; i--)
		if (rt_held[i] == m) {
			rt_held[i] = rt_held[n - 1];
			rt_nheld--;
			return;
		}
	if (rt_nheld > MAX_HELD)
		rt_nheld--;
}

EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
	REAL(pthread_mutex_lock);
	int rc = real_pthread_mutex_lock(m);
	if (rc == 0)
		held_add(m);
	return rc;
}

EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
	REAL(pthread_mutex_trylock);
	int rc = real_pthread_mutex_trylock(m);
	if (rc == 0)
		held_add(m);
	return rc;
}

EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *t)
{
	REAL(pthread_mutex_timedlock);
	int rc = real_pthread_mutex_timedlock(m, t);
	if (rc == 0)
		held_add(m);
	return rc;
}

EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t c, const struct timespec *t)
{
	REAL(pthread_mutex_clocklock);
	int rc = real_pthread_mutex_clocklock(m, c, t);
	if (rc == 0)
		held_add(m);
	return rc;
}

EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
	REAL(pthread_mutex_unlock);
	int rc = real_pthread_mutex_unlock(m);
	if (rc == 0)
		held_del(m);
	return rc;
}
