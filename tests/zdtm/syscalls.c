/* Threads blocked in system calls resume as the kernel would resume them:
 * read() on a pipe, nanosleep(), poll() with a timeout, a timed condition
 * wait. None sees EINTR. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include "zdtm.h"

static int pfd[2], qfd[2];
static volatile int started;

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *reader(void *a)
{
	char buf[8];
	__sync_fetch_and_add(&started, 1);
	ssize_t n = read(pfd[0], buf, 5);
	return (void *)(long)(n == 5);
}

static void *sleeper(void *a)
{
	struct timespec ts = {3, 0};
	__sync_fetch_and_add(&started, 1);
	double t0 = mono();
	int r = nanosleep(&ts, NULL);
	return (void *)(long)(r == 0 && mono() - t0 >= 2.999);
}

static void *poller(void *a)
{
	struct pollfd p = {.fd = qfd[0], .events = POLLIN};
	__sync_fetch_and_add(&started, 1);
	double t0 = mono();
	int r = poll(&p, 1, 3000);
	return (void *)(long)(r == 0 && mono() - t0 >= 2.99);
}

static void *condwaiter(void *a)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t c = PTHREAD_COND_INITIALIZER;
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 3;
	__sync_fetch_and_add(&started, 1);
	pthread_mutex_lock(&m);
	int r = pthread_cond_timedwait(&c, &m, &dl);
	pthread_mutex_unlock(&m);
	return (void *)(long)(r == ETIMEDOUT);
}

int main(void)
{
	pthread_t t[4];
	if (pipe(pfd) < 0 || pipe(qfd) < 0)
		zdtm_fail("pipe");
	pthread_create(&t[0], NULL, reader, NULL);
	pthread_create(&t[1], NULL, sleeper, NULL);
	pthread_create(&t[2], NULL, poller, NULL);
	pthread_create(&t[3], NULL, condwaiter, NULL);
	while (started < 4)
		usleep(1000);
	usleep(50000);
	zdtm_ready();
	zdtm_wait_go();
	if (write(pfd[1], "hello", 5) != 5)
		zdtm_fail("write");
	const char *what[] = {"read", "nanosleep", "poll", "pthread_cond_timedwait"};
	for (int i = 0; i < 4; i++) {
		void *ok;
		pthread_join(t[i], &ok);
		zdtm_check(ok == (void *)1, "%s returned early or failed", what[i]);
	}
	zdtm_pass();
}
