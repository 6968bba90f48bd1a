/*
 * tls: thread-local storage survives in every thread: __thread variables
 * with an initializer (.tdata) and without (.tbss), modified per thread,
 * stay intact at the same addresses; pthread_setspecific values too.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "zdtm.h"

#define N 5 /* index 0 is the main thread */

static __thread int tv = 42;
static __thread char tname[32] = "initial";
static __thread uint64_t tz[64];
static pthread_key_t key;
static atomic_int started, go, checked;
static void *addr[N];

static void setup(int idx)
{
	zdtm_check(tv == 42 && strcmp(tname, "initial") == 0 && tz[7] == 0,
	       "thread %d: TLS does not start from its initializers", idx);
	tv = 1000 + idx;
	snprintf(tname, sizeof tname, "thread-%d", idx);
	for (int i = 0; i < 64; i++)
		tz[i] = (uint64_t)idx << 32 | (uint64_t)i * 77;
	addr[idx] = &tv;
	pthread_setspecific(key, (void *)(intptr_t)(0x5000 + idx));
}

static void check(int idx)
{
	char want[32];

	snprintf(want, sizeof want, "thread-%d", idx);
	zdtm_check(tv == 1000 + idx, "thread %d: __thread int is %d", idx, tv);
	zdtm_check(strcmp(tname, want) == 0, "thread %d: __thread string is '%.31s'", idx, tname);
	for (int i = 0; i < 64; i++)
		zdtm_check(tz[i] == ((uint64_t)idx << 32 | (uint64_t)i * 77),
		       "thread %d: __thread array[%d] = %#llx", idx, i, (unsigned long long)tz[i]);
	zdtm_check(addr[idx] == &tv, "thread %d: &tv moved from %p to %p", idx, addr[idx], (void *)&tv);
	zdtm_check(pthread_getspecific(key) == (void *)(intptr_t)(0x5000 + idx),
	       "thread %d: pthread_getspecific = %p", idx, pthread_getspecific(key));
	/* and TLS still works for writing */
	tv += 1;
	zdtm_check(tv == 1001 + idx, "thread %d: cannot update TLS", idx);
}

static void *worker(void *arg)
{
	int idx = (int)(intptr_t)arg;
	struct timespec ts = {0, 2 * 1000 * 1000};

	setup(idx);
	atomic_fetch_add(&started, 1);
	while (!go)
		nanosleep(&ts, NULL);
	check(idx);
	atomic_fetch_add(&checked, 1);
	return NULL;
}

int main(void)
{
	pthread_t t[N];
	struct timespec ts = {0, 1000 * 1000};

	zdtm_check(pthread_key_create(&key, NULL) == 0, "pthread_key_create");
	setup(0);
	for (int i = 1; i < N; i++)
		zdtm_check(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i) == 0, "pthread_create");
	while (started < N - 1)
		nanosleep(&ts, NULL);
	for (int i = 0; i < N; i++)
		for (int j = 0; j < i; j++)
			zdtm_check(addr[i] != addr[j], "threads %d and %d share a TLS block", i, j);
	zdtm_ready();
	zdtm_wait_go();
	go = 1;
	check(0);
	for (int i = 1; i < N; i++)
		zdtm_check(pthread_join(t[i], NULL) == 0, "pthread_join");
	zdtm_check(checked == N - 1, "only %d threads checked their TLS", (int)checked);
	zdtm_pass();
}
