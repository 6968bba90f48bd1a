/* Thread-local storage in several threads. */
#include <pthread.h>
#include <string.h>
#include "zdtm.h"

static __thread int counter = 5;
static __thread char name[32] = "initial";
static pthread_barrier_t bar;

static void *work(void *arg)
{
	long id = (long)arg;
	counter += (int)id * 100;
	memset(name, 'a' + (int)id, 31);
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar); /* across the checkpoint */
	for (int i = 0; i < 31; i++)
		if (name[i] != 'a' + id)
			return (void *)0;
	return (void *)(long)(counter == 5 + (int)id * 100);
}

int main(void)
{
	pthread_t t[4];
	pthread_barrier_init(&bar, NULL, 5);
	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, work, (void *)(i + 1));
	counter = 42;
	pthread_barrier_wait(&bar);
	zdtm_ready();
	zdtm_wait_go();
	pthread_barrier_wait(&bar);
	for (int i = 0; i < 4; i++) {
		void *ok;
		pthread_join(t[i], &ok);
		zdtm_check(ok == (void *)1, "thread %d lost its TLS", i + 1);
	}
	zdtm_check(counter == 42 && strcmp(name, "initial") == 0, "main thread lost its TLS");
	zdtm_pass();
}
