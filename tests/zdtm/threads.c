/* Many threads with state in locals; TIDs as glibc sees them stay right. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "zdtm.h"

#define N 8
static volatile int stop;
static pid_t tids[N];

static void *work(void *arg)
{
	long id = (long)arg;
	uint64_t a = (uint64_t)id * 7919, n = 0;
	while (!stop) {
		a = a * 6364136223846793005ull + 1442695040888963407ull;
		n++;
	}
	uint64_t b = (uint64_t)id * 7919;
	for (uint64_t i = 0; i < n; i++)
		b = b * 6364136223846793005ull + 1442695040888963407ull;
	tids[id] = (pid_t)syscall(SYS_gettid);
	return (void *)(uintptr_t)(a == b);
}

int main(void)
{
	pthread_t t[N];
	for (long i = 0; i < N; i++)
		pthread_create(&t[i], NULL, work, (void *)i);
	zdtm_ready();
	zdtm_wait_go();
	for (int i = 0; i < N; i++)
		zdtm_check(pthread_kill(t[i], 0) == 0, "pthread_kill(thread %d, 0) fails", i);
	stop = 1;
	for (int i = 0; i < N; i++) {
		void *ok;
		zdtm_check(pthread_join(t[i], &ok) == 0, "pthread_join %d", i);
		zdtm_check(ok == (void *)1, "thread %d lost its state", i);
		for (int k = 0; k < i; k++)
			zdtm_check(tids[k] != tids[i], "two threads share TID %d", tids[i]);
	}
	zdtm_pass();
}
