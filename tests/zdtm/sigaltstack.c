/*
 * sigaltstack: alternate signal stacks are per thread and survive. The main
 * thread and a second thread each have their own; a third has none. After
 * go sigaltstack() reports each as it was, and an SA_ONSTACK handler runs on
 * the stack of the thread it interrupts (or on the ordinary one).
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zdtm.h"

#define SZ (64 * 1024)

static volatile int started, go;
static __thread char *mine; /* this thread's alternate stack, or NULL */
static __thread volatile int on_alt, in_handler, saw_onstack;

static void on_usr1(int sig)
{
	char here;
	stack_t now;

	(void)sig;
	in_handler = 1;
	on_alt = mine && &here >= mine && &here < mine + SZ;
	saw_onstack = sigaltstack(NULL, &now) == 0 && (now.ss_flags & SS_ONSTACK);
}

static void check(const char *who)
{
	stack_t now;

	zdtm_check(sigaltstack(NULL, &now) == 0, "%s: sigaltstack fails", who);
	if (mine)
		zdtm_check(now.ss_sp == mine && now.ss_size == SZ && now.ss_flags == 0,
			   "%s: alternate stack %p+%zu flags %#x, expected %p+%d", who, now.ss_sp,
			   now.ss_size, now.ss_flags, (void *)mine, SZ);
	else
		zdtm_check(now.ss_flags & SS_DISABLE, "%s: an alternate stack appeared", who);
	pthread_kill(pthread_self(), SIGUSR1);
	zdtm_check(in_handler, "%s: the handler did not run", who);
	zdtm_check(on_alt == (mine != NULL) && saw_onstack == (mine != NULL),
		   "%s: the handler ran %s the alternate stack", who, on_alt ? "on" : "off");
}

static void setup(int with_stack)
{
	stack_t ss = {.ss_size = SZ};

	if (!with_stack)
		return;
	mine = ss.ss_sp = malloc(SZ);
	zdtm_check(mine && sigaltstack(&ss, NULL) == 0, "sigaltstack");
}

static void *thread(void *arg)
{
	struct timespec nap = {0, 2 * 1000 * 1000};

	setup(arg != NULL);
	__sync_fetch_and_add(&started, 1);
	while (!go)
		nanosleep(&nap, NULL);
	check(arg ? "thread with an alternate stack" : "thread without");
	return NULL;
}

int main(void)
{
	struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_ONSTACK};
	struct timespec nap = {0, 1000 * 1000};
	pthread_t t[2];

	sigaction(SIGUSR1, &sa, NULL);
	setup(1);
	pthread_create(&t[0], NULL, thread, (void *)1);
	pthread_create(&t[1], NULL, thread, NULL);
	while (started < 2)
		nanosleep(&nap, NULL);
	zdtm_ready();
	zdtm_wait_go();
	go = 1;
	check("main thread");
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	zdtm_pass();
}
