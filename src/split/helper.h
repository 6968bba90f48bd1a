/*
 * LOWER HALF: the helper program's side of the split process.
 *
 * A helper (a PIE the upper half loads with split_load) includes this file
 * in the source of its main and ends main with
 *
 *     return split_helper_main(argc, argv, table, n);
 *
 * which hands TABLE to the upper half with the services below. Everything
 * here runs in the lower half, with the lower libc: it is compiled into the
 * helper, never into the upper half.
 */
#ifndef CAIRN_SPLIT_HELPER_H
#define CAIRN_SPLIT_HELPER_H

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "split/split.h"

struct split_park {
	int release; /* set to 1 by the upper half, then woken */
	uintptr_t tp;
	sem_t ready;
};

/* A parked thread: it exists so that its TCB (thread pointer, TLS, stack
 * guard, pthread_self) is a real one made by the lower libc's own
 * pthread_create, which an upper thread then borrows for its crossings.
 * It blocks every signal the kernel can send it asynchronously, so that
 * process-directed signals go to threads that run code, and waits. */
static __attribute__((unused)) void *split_helper_parked(void *arg)
{
	struct split_park *p = arg;
	sigset_t set;

	sigfillset(&set);
	/* a blocked SIGSYS from seccomp would kill the process; faults too */
	sigdelset(&set, SIGSYS);
	sigdelset(&set, SIGSEGV);
	sigdelset(&set, SIGBUS);
	sigdelset(&set, SIGILL);
	sigdelset(&set, SIGFPE);
	pthread_sigmask(SIG_SETMASK, &set, NULL);
	__asm__ volatile("movq %%fs:0, %0" : "=r"(p->tp));
	sem_post(&p->ready);
	while (!__atomic_load_n(&p->release, __ATOMIC_ACQUIRE))
		syscall(SYS_futex, &p->release, FUTEX_WAIT, 0, NULL, NULL, 0);
	sem_destroy(&p->ready);
	free(p);
	return NULL;
}

static __attribute__((unused)) long
split_helper_thread_new(uintptr_t *tp, int **release)
{
	struct split_park *p = calloc(1, sizeof(*p));
	pthread_attr_t attr;
	pthread_t t;
	int r;

	if (!p)
		return -ENOMEM;
	sem_init(&p->ready, 0, 0);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* the borrower runs on its own stack: this one holds the TCB and
	 * static TLS (which glibc puts at its top) and a few frames */
	pthread_attr_setstacksize(&attr, 1 << 20);
	r = pthread_create(&t, &attr, split_helper_parked, p);
	pthread_attr_destroy(&attr);
	if (r) {
		sem_destroy(&p->ready);
		free(p);
		return -r;
	}
	while (sem_wait(&p->ready) < 0 && errno == EINTR)
		;
	*tp = p->tp;
	*release = &p->release;
	return 0;
}

static __attribute__((unused)) void split_helper_flush(void)
{
	fflush(NULL);
}

static inline int split_helper_main(int argc, char **argv, void *const *table,
				    long n)
{
	static const struct split_services svc = {
		.version = SPLIT_SERVICES_VERSION,
		.thread_new = split_helper_thread_new,
		.flush = split_helper_flush,
	};
	split_handoff_fn handoff;

	if (argc < 2 || argv[1][0] != '0' || argv[1][1] != 'x') {
		fprintf(stderr, "%s: a lower half for cairn's split process; "
				"loaded by split_load, not run by hand\n",
			argv[0]);
		return 2;
	}
	handoff = (split_handoff_fn)strtoul(argv[1], NULL, 16);
	handoff(table, n, &svc);
	return 1; /* not reached */
}

#endif
