/*
 * syscalls: threads blocked in system calls when the checkpoint comes
 * resume as if nothing happened: no EINTR, no early return. Blocked across
 * it: read() on a pipe (fed after go), nanosleep(3 s), poll() and select()
 * with 2 s timeouts on an empty pipe, pthread_cond_timedwait (futex) timing
 * out after 2.5 s, and another signalled after go. Each timed call must
 * report its timeout and have slept at least as long as it asked, by
 * CLOCK_MONOTONIC.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "zdtm.h"

enum { READ, SLEEP, POLL, SELECT, CONDTO, CONDSIG, N };
static const char *names[N] = {"read", "nanosleep", "poll", "select", "cond_timedwait(timeout)",
			       "cond_timedwait(signalled)"};
static const double wants[N] = {0, 3.0, 2.0, 2.0, 2.5, 0};
static const long expect_ret[N] = {1, 0, 0, 0, ETIMEDOUT, 0};

static int feed[2], empty[2];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond;
static volatile int started[N], cond_flag;
static long ret[N];
static int err[N];
static double took[N];

static struct timespec deadline(double s)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (long)s;
	ts.tv_nsec += (long)((s - (long)s) * 1e9);
	if (ts.tv_nsec >= 1000000000)
		ts.tv_sec++, ts.tv_nsec -= 1000000000;
	return ts;
}

static void *worker(void *arg)
{
	int k = (int)(long)arg;
	double t0 = zdtm_now();
	struct timespec ts = {3, 0};
	struct pollfd pfd = {.fd = empty[0], .events = POLLIN};
	struct timeval tv = {2, 0};
	fd_set set;
	char c;

	errno = 0;
	started[k] = 1;
	switch (k) {
	case READ:
		ret[k] = read(feed[0], &c, 1);
		if (ret[k] == 1 && c != 'x')
			ret[k] = -100;
		break;
	case SLEEP:
		ret[k] = nanosleep(&ts, NULL);
		break;
	case POLL:
		ret[k] = poll(&pfd, 1, 2000);
		break;
	case SELECT:
		FD_ZERO(&set);
		FD_SET(empty[0], &set);
		ret[k] = select(empty[0] + 1, &set, NULL, NULL, &tv);
		break;
	case CONDTO:
	case CONDSIG:
		ts = deadline(k == CONDTO ? 2.5 : 60);
		pthread_mutex_lock(&mu);
		ret[k] = 0;
		while (!(k == CONDSIG && cond_flag) && ret[k] == 0)
			ret[k] = pthread_cond_timedwait(&cond, &mu, &ts);
		pthread_mutex_unlock(&mu);
		break;
	}
	err[k] = ret[k] < 0 ? errno : 0; /* errno means nothing after a success */
	took[k] = zdtm_now() - t0;
	return NULL;
}

int main(void)
{
	pthread_condattr_t ca;
	pthread_t t[N];
	struct timespec nap = {0, 100 * 1000 * 1000};

	zdtm_check(pipe(feed) == 0 && pipe(empty) == 0, "pipe");
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cond, &ca);
	for (int k = 0; k < N; k++)
		zdtm_check(pthread_create(&t[k], NULL, worker, (void *)(long)k) == 0, "pthread_create");
	for (int k = 0; k < N; k++)
		while (!started[k])
			sched_yield();
	nanosleep(&nap, NULL); /* let them all enter the kernel */
	zdtm_ready();
	zdtm_wait_go();

	zdtm_check(write(feed[1], "x", 1) == 1, "write to the pipe");
	pthread_mutex_lock(&mu);
	cond_flag = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mu);
	for (int k = 0; k < N; k++)
		pthread_join(t[k], NULL);
	for (int k = 0; k < N; k++) {
		zdtm_check(err[k] != EINTR, "%s failed with EINTR (returned %ld)", names[k], ret[k]);
		zdtm_check(ret[k] == expect_ret[k], "%s returned %ld (%s), expected %ld", names[k],
		       ret[k], strerror(err[k]), expect_ret[k]);
		zdtm_check(took[k] >= wants[k], "%s returned after %.3f s, before its %.3f s", names[k],
		       took[k], wants[k]);
	}
	zdtm_pass();
}
