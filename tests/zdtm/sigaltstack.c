/* A thread's alternate signal stack comes back and SA_ONSTACK handlers run on it. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "zdtm.h"

static char *alt;
static volatile int on_alt;
static void h(int s)
{
	char here;
	on_alt = &here >= alt && &here < alt + 65536;
}

static void *work(void *arg)
{
	stack_t ss = {.ss_sp = alt, .ss_size = 65536, .ss_flags = 0};
	sigaltstack(&ss, NULL);
	while (!zdtm_go())
		;
	stack_t now;
	sigaltstack(NULL, &now);
	if (now.ss_sp != alt || now.ss_size != 65536 || (now.ss_flags & SS_DISABLE))
		return (void *)0;
	raise(SIGUSR1); /* pthread raise: to this thread */
	return (void *)(long)on_alt;
}

int main(void)
{
	pthread_t t;
	alt = malloc(65536);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = h;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGUSR1, &sa, NULL);
	pthread_create(&t, NULL, work, NULL);
	zdtm_ready();
	void *ok;
	pthread_join(t, &ok);
	zdtm_check(ok == (void *)1, "alternate stack lost or not used");
	zdtm_pass();
}
