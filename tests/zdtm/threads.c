/*
 * threads: 8 threads, each holding state in its locals, survive. After go
 * each thread's kernel TID (gettid) must be the one glibc has cached for it:
 * pthread_kill() of that pthread_t must reach exactly that thread, and
 * pthread_getattr_np() must describe the stack the thread runs on. Every
 * thread is joined and returns its own result.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zdtm.h"

#define N 8
#define WORDS 512

static atomic_int started, go, release;
static _Atomic pid_t hit_tid[N];
static pid_t tid_now[N];
static __thread int my_index = -1;

static void on_usr1(int sig)
{
	(void)sig;
	if (my_index >= 0)
		hit_tid[my_index] = gettid();
}

static uint64_t fill(uint64_t *a, int idx)
{
	uint64_t sum = 0;

	for (int i = 0; i < WORDS; i++) {
		a[i] = (uint64_t)(idx + 1) * 0x100000001b3ull * (i + 7);
		sum += a[i] ^ (sum >> 3);
	}
	return sum;
}

static void *worker(void *arg)
{
	int idx = (int)(intptr_t)arg;
	uint64_t a[WORDS], b[WORDS];
	struct timespec ts = {0, 2 * 1000 * 1000};
	pthread_attr_t at;
	void *stk;
	size_t sz;
	uint64_t sum = fill(a, idx);

	my_index = idx;
	atomic_fetch_add(&started, 1);
	while (!go)
		nanosleep(&ts, NULL);

	zdtm_check(my_index == idx, "thread %d: its TLS index became %d", idx, my_index);
	zdtm_check(fill(b, idx) == sum && memcmp(a, b, sizeof a) == 0,
	       "thread %d: locals changed across the checkpoint", idx);
	tid_now[idx] = gettid();
	zdtm_check(pthread_getattr_np(pthread_self(), &at) == 0, "thread %d: pthread_getattr_np", idx);
	zdtm_check(pthread_attr_getstack(&at, &stk, &sz) == 0, "thread %d: attr_getstack", idx);
	zdtm_check((char *)a > (char *)stk && (char *)a < (char *)stk + sz,
	       "thread %d: locals at %p are outside the stack glibc reports [%p, +%zu)", idx,
	       (void *)a, stk, sz);
	pthread_attr_destroy(&at);
	atomic_fetch_add(&started, 1);
	while (!release)
		nanosleep(&ts, NULL);
	return (void *)(intptr_t)(sum | 1);
}

int main(void)
{
	pthread_t t[N];
	struct timespec ts = {0, 1000 * 1000};
	struct sigaction sa = {.sa_handler = on_usr1};
	uint64_t sums[N], scratch[WORDS];

	sigaction(SIGUSR1, &sa, NULL);
	for (int i = 0; i < N; i++) {
		sums[i] = fill(scratch, i) | 1;
		zdtm_check(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i) == 0, "pthread_create");
	}
	while (started < N)
		nanosleep(&ts, NULL);
	zdtm_ready();
	zdtm_wait_go();
	go = 1;
	{
		pthread_attr_t at;
		void *stk;
		size_t sz;

		zdtm_check(pthread_getattr_np(pthread_self(), &at) == 0, "main: pthread_getattr_np");
		zdtm_check(pthread_attr_getstack(&at, &stk, &sz) == 0, "main: attr_getstack");
		zdtm_check((char *)&ts > (char *)stk && (char *)&ts < (char *)stk + sz,
		       "main: locals at %p are outside the stack glibc reports [%p, +%zu)",
		       (void *)&ts, stk, sz);
		pthread_attr_destroy(&at);
		zdtm_check(gettid() == getpid(), "main thread's TID %d is not the PID %d", gettid(),
		       getpid());
	}
	while (started < 2 * N)
		nanosleep(&ts, NULL);

	for (int i = 0; i < N; i++) {
		double end = zdtm_now() + 5;
		int err = pthread_kill(t[i], 0);

		zdtm_check(err == 0, "pthread_kill(thread %d, 0) = %s", i, strerror(err));
		err = pthread_kill(t[i], SIGUSR1);
		zdtm_check(err == 0, "pthread_kill(thread %d, SIGUSR1) = %s", i, strerror(err));
		while (!hit_tid[i] && zdtm_now() < end)
			nanosleep(&ts, NULL);
		zdtm_check(hit_tid[i] == tid_now[i],
		       "pthread_kill(thread %d) reached TID %d, but the thread's gettid() is %d", i,
		       (int)hit_tid[i], (int)tid_now[i]);
	}
	release = 1;
	for (int i = 0; i < N; i++) {
		void *ret;
		zdtm_check(pthread_join(t[i], &ret) == 0, "pthread_join(thread %d)", i);
		zdtm_check((uint64_t)(uintptr_t)ret == sums[i], "thread %d returned %p, expected %#llx",
		       i, ret, (unsigned long long)sums[i]);
	}
	zdtm_pass();
}
