/* Mutexes held across the checkpoint (their owner TID changes at restart),
 * a condition variable and a barrier with waiters, a semaphore waiter, and a
 * cancelled thread blocked in read(). */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <unistd.h>
#include "zdtm.h"

static pthread_mutex_t errchk, recur, normal, robust;
static pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t bar;
static sem_t sem;
static int flag, pfd[2];
static volatile int held;

static void *holder(void *arg)
{
	pthread_mutex_lock(&errchk);
	pthread_mutex_lock(&recur);
	pthread_mutex_lock(&recur);
	pthread_mutex_lock(&normal);
	pthread_mutex_lock(&robust);
	held = 1;
	while (!zdtm_go())
		usleep(10000);
	int r = 0;
	r |= pthread_mutex_lock(&errchk) != EDEADLK;
	r |= pthread_mutex_unlock(&errchk) != 0;
	r |= pthread_mutex_unlock(&errchk) != EPERM;
	r |= pthread_mutex_unlock(&recur) != 0;
	r |= pthread_mutex_trylock(&recur) != 0; /* still ours: count 2 again */
	r |= pthread_mutex_unlock(&recur) != 0;
	r |= pthread_mutex_unlock(&recur) != 0;
	r |= pthread_mutex_unlock(&normal) != 0;
	r |= pthread_mutex_unlock(&robust) != 0;
	return (void *)(long)!r;
}

static void *contender(void *arg)
{
	pthread_mutex_lock(&normal); /* blocked on the holder */
	pthread_mutex_unlock(&normal);
	return (void *)1;
}

static void *waiter(void *arg)
{
	pthread_mutex_lock(&cm);
	while (!flag)
		pthread_cond_wait(&cv, &cm);
	pthread_mutex_unlock(&cm);
	return (void *)1;
}

static void *barrier_waiter(void *arg)
{
	pthread_barrier_wait(&bar);
	return (void *)1;
}

static void *sem_waiter(void *arg)
{
	return (void *)(long)(sem_wait(&sem) == 0);
}

static void *reader(void *arg)
{
	char c;
	for (;;)
		read(pfd[0], &c, 1);
	return NULL;
}

int main(void)
{
	pthread_mutexattr_t a;
	pthread_t th[7];
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&errchk, &a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&recur, &a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_NORMAL);
	pthread_mutex_init(&normal, &a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&robust, &a);
	pthread_barrier_init(&bar, NULL, 2);
	sem_init(&sem, 0, 0);
	if (pipe(pfd) < 0)
		zdtm_fail("pipe");
	pthread_create(&th[0], NULL, holder, NULL);
	while (!held)
		usleep(1000);
	pthread_create(&th[1], NULL, contender, NULL);
	pthread_create(&th[2], NULL, waiter, NULL);
	pthread_create(&th[3], NULL, barrier_waiter, NULL);
	pthread_create(&th[4], NULL, sem_waiter, NULL);
	pthread_create(&th[5], NULL, reader, NULL);
	usleep(100000);
	zdtm_ready();
	zdtm_wait_go();

	void *ok;
	pthread_join(th[0], &ok);
	zdtm_check(ok == (void *)1, "held mutexes misbehave after the checkpoint");
	pthread_join(th[1], &ok);
	zdtm_check(ok == (void *)1, "contender");
	pthread_mutex_lock(&cm);
	flag = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&cm);
	pthread_join(th[2], &ok);
	zdtm_check(ok == (void *)1, "condition variable waiter");
	pthread_barrier_wait(&bar);
	pthread_join(th[3], &ok);
	zdtm_check(ok == (void *)1, "barrier waiter");
	sem_post(&sem);
	pthread_join(th[4], &ok);
	zdtm_check(ok == (void *)1, "semaphore waiter");
	zdtm_check(pthread_cancel(th[5]) == 0, "pthread_cancel");
	pthread_join(th[5], &ok);
	zdtm_check(ok == PTHREAD_CANCELED, "cancelled thread did not end as cancelled");
	zdtm_check(pthread_mutex_trylock(&robust) == 0, "robust mutex not free");
	zdtm_pass();
}
