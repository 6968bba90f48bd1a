/*
 * mutexes: pthread synchronization objects in every state survive.
 * Held across the checkpoint by thread H: an ERRORCHECK mutex, a RECURSIVE
 * one (locked twice), a ROBUST one and a NORMAL one that thread C is blocked
 * on. Blocked across it: W in pthread_cond_wait, three threads in
 * pthread_barrier_wait, S in sem_wait, R in read() (cancelled after go).
 * Thread D holds a second robust mutex and exits after go without unlocking:
 * the next locker must get EOWNERDEAD. Ownership checks use glibc's cached
 * TID, so they fail if the restored TIDs and glibc's idea of them differ.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zdtm.h"

static pthread_mutex_t m_ec, m_rec, m_rob, m_rob2, m_norm = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t m_cv = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t bar;
static sem_t sem;
static int pipefd[2];
static volatile int go, held, held2, trying, got, waiting, cv_flag, woke, arrived, serial,
	sem_started, sem_ret = -2, sem_errno, reading;

static void nap(long ms)
{
	struct timespec ts = {ms / 1000, ms % 1000 * 1000000};
	nanosleep(&ts, NULL);
}

#define EXPECT(call, want) zdtm_check((e = (call)) == (want), "%s = %s, expected %s", #call, \
				  strerror(e), strerror(want))

static void *holder(void *arg)
{
	int e;
	EXPECT(pthread_mutex_lock(&m_ec), 0);
	EXPECT(pthread_mutex_lock(&m_rec), 0);
	EXPECT(pthread_mutex_lock(&m_rec), 0);
	EXPECT(pthread_mutex_lock(&m_rob), 0);
	EXPECT(pthread_mutex_lock(&m_norm), 0);
	held = 1;
	while (!go)
		nap(2);
	EXPECT(pthread_mutex_lock(&m_ec), EDEADLK);
	EXPECT(pthread_mutex_trylock(&m_rec), 0);
	EXPECT(pthread_mutex_unlock(&m_ec), 0);
	EXPECT(pthread_mutex_unlock(&m_ec), EPERM);
	for (int i = 0; i < 3; i++)
		EXPECT(pthread_mutex_unlock(&m_rec), 0);
	EXPECT(pthread_mutex_unlock(&m_rec), EPERM);
	EXPECT(pthread_mutex_unlock(&m_rob), 0);
	EXPECT(pthread_mutex_unlock(&m_norm), 0);
	return arg;
}

static void *dier(void *arg)
{
	int e;
	EXPECT(pthread_mutex_lock(&m_rob2), 0);
	held2 = 1;
	while (!go)
		nap(2);
	return arg; /* still holding m_rob2 */
}

static void *contender(void *arg)
{
	trying = 1;
	pthread_mutex_lock(&m_norm);
	got = 1;
	pthread_mutex_unlock(&m_norm);
	return arg;
}

static void *waiter(void *arg)
{
	pthread_mutex_lock(&m_cv);
	waiting = 1;
	while (!cv_flag)
		pthread_cond_wait(&cv, &m_cv);
	woke = 1;
	pthread_mutex_unlock(&m_cv);
	return arg;
}

static void *barrier_waiter(void *arg)
{
	__sync_fetch_and_add(&arrived, 1);
	if (pthread_barrier_wait(&bar) == PTHREAD_BARRIER_SERIAL_THREAD)
		__sync_fetch_and_add(&serial, 1);
	return arg;
}

static void *sem_waiter(void *arg)
{
	sem_started = 1;
	sem_ret = sem_wait(&sem);
	sem_errno = errno;
	return arg;
}

static void *reader(void *arg)
{
	char c;
	reading = 1;
	ssize_t n = read(pipefd[0], &c, 1);
	zdtm_fail("read() in the thread to be cancelled returned %zd", n);
	return arg;
}

static void join(pthread_t t, const char *what, void *want)
{
	struct timespec dl;
	void *ret;
	int e;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 10;
	e = pthread_timedjoin_np(t, &ret, &dl);
	zdtm_check(e == 0, "joining %s: %s", what, strerror(e));
	zdtm_check(ret == want, "%s returned %p, expected %p", what, ret, want);
}

int main(void)
{
	pthread_mutexattr_t a;
	pthread_t h, d, c, w, b[3], s, r;
	struct timespec dl;
	int e;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&m_ec, &a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&m_rec, &a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_NORMAL);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&m_rob, &a);
	pthread_mutex_init(&m_rob2, &a);
	pthread_barrier_init(&bar, NULL, 4);
	sem_init(&sem, 0, 0);
	zdtm_check(pipe(pipefd) == 0, "pipe");

	pthread_create(&h, NULL, holder, NULL);
	pthread_create(&d, NULL, dier, NULL);
	while (!held || !held2)
		nap(1);
	pthread_create(&c, NULL, contender, NULL);
	pthread_create(&w, NULL, waiter, NULL);
	for (int i = 0; i < 3; i++)
		pthread_create(&b[i], NULL, barrier_waiter, NULL);
	pthread_create(&s, NULL, sem_waiter, NULL);
	pthread_create(&r, NULL, reader, NULL);
	while (!trying || !waiting || arrived < 3 || !sem_started || !reading)
		nap(1);
	pthread_mutex_lock(&m_cv); /* W is inside pthread_cond_wait now */
	pthread_mutex_unlock(&m_cv);
	nap(100); /* let the others block in the kernel */
	zdtm_ready();
	zdtm_wait_go();

	EXPECT(pthread_mutex_trylock(&m_ec), EBUSY);
	EXPECT(pthread_mutex_trylock(&m_rec), EBUSY);
	EXPECT(pthread_mutex_trylock(&m_rob), EBUSY);
	EXPECT(pthread_mutex_trylock(&m_norm), EBUSY);
	zdtm_check(!got && !woke && serial == 0 && sem_ret == -2, "a blocked thread woke up early");
	go = 1;
	join(h, "the holder", NULL);
	join(c, "the contender", NULL);
	zdtm_check(got, "the contender never got the NORMAL mutex");
	join(d, "the robust owner", NULL);
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 5;
	EXPECT(pthread_mutex_timedlock(&m_rob2, &dl), EOWNERDEAD);
	EXPECT(pthread_mutex_consistent(&m_rob2), 0);
	EXPECT(pthread_mutex_unlock(&m_rob2), 0);

	pthread_mutex_lock(&m_cv);
	cv_flag = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&m_cv);
	join(w, "the condition waiter", NULL);
	zdtm_check(woke, "the condition waiter did not wake");

	if (pthread_barrier_wait(&bar) == PTHREAD_BARRIER_SERIAL_THREAD)
		__sync_fetch_and_add(&serial, 1);
	for (int i = 0; i < 3; i++)
		join(b[i], "a barrier waiter", NULL);
	zdtm_check(serial == 1, "%d barrier waiters got PTHREAD_BARRIER_SERIAL_THREAD", serial);

	zdtm_check(sem_post(&sem) == 0, "sem_post");
	join(s, "the semaphore waiter", NULL);
	zdtm_check(sem_ret == 0, "sem_wait returned %d (%s)", sem_ret, strerror(sem_errno));

	EXPECT(pthread_cancel(r), 0);
	join(r, "the cancelled reader", PTHREAD_CANCELED);

	pthread_mutex_t *all[] = {&m_ec, &m_rec, &m_rob, &m_rob2, &m_norm};
	for (int i = 0; i < 5; i++) {
		EXPECT(pthread_mutex_lock(all[i]), 0);
		EXPECT(pthread_mutex_unlock(all[i]), 0);
	}
	zdtm_pass();
}
