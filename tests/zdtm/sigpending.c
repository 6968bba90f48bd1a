/*
 * sigpending: blocked signals pending at the checkpoint are neither lost
 * nor duplicated. Process-wide: SIGUSR1 queued with a value, SIGUSR2 sent
 * twice (one instance), SIGRTMIN+1 queued 5 times with values 1..5. Thread
 * T has SIGRTMIN+2 pending for itself alone. After go sigpending() shows
 * them; unblocked, each handler runs once per instance, with its si_value,
 * sender PID and code, in the kernel's order (lowest signal first, real-time
 * instances in the order queued), and T's signal reaches T.
 */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "zdtm.h"

#define MAX 32
static volatile int nlog, log_sig[MAX], log_val[MAX], log_code[MAX];
static volatile pid_t log_pid[MAX], log_tid[MAX];
static volatile int t_ready, go;
static pid_t sender, t_tid;

static void on_sig(int sig, siginfo_t *si, void *uc)
{
	int i = nlog++;

	(void)uc;
	if (i >= MAX)
		return;
	log_sig[i] = sig;
	log_val[i] = si->si_value.sival_int;
	log_code[i] = si->si_code;
	log_pid[i] = si->si_pid;
	log_tid[i] = gettid();
}

static void *thread(void *arg)
{
	struct timespec nap = {0, 2 * 1000 * 1000};
	sigset_t s;

	t_tid = gettid();
	t_ready = 1;
	while (!go)
		nanosleep(&nap, NULL);
	t_tid = gettid(); /* a restart may have given T a new one */
	sigemptyset(&s);
	sigaddset(&s, SIGRTMIN + 2);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	return arg;
}

int main(void)
{
	struct sigaction sa = {.sa_sigaction = on_sig, .sa_flags = SA_SIGINFO};
	const int sigs[] = {SIGUSR1, SIGUSR2, SIGRTMIN + 1, SIGRTMIN + 2};
	union sigval v;
	sigset_t all, pend;
	pthread_t t;

	sigfillset(&sa.sa_mask); /* one at a time, in the order dequeued */
	sigemptyset(&all);
	for (int i = 0; i < 4; i++) {
		sigaction(sigs[i], &sa, NULL);
		sigaddset(&all, sigs[i]);
	}
	sigprocmask(SIG_BLOCK, &all, NULL); /* inherited by T */
	pthread_create(&t, NULL, thread, NULL);
	while (!t_ready)
		sched_yield();
	sender = getpid();
	v.sival_int = 111;
	sigqueue(sender, SIGUSR1, v);
	kill(sender, SIGUSR2);
	kill(sender, SIGUSR2);
	for (int k = 1; k <= 5; k++) {
		v.sival_int = k;
		sigqueue(sender, SIGRTMIN + 1, v);
	}
	v.sival_int = 77;
	zdtm_check(pthread_sigqueue(t, SIGRTMIN + 2, v) == 0, "pthread_sigqueue");
	zdtm_ready();
	zdtm_wait_go();

	zdtm_check(nlog == 0, "%d signals were delivered while blocked", nlog);
	sigpending(&pend);
	for (int i = 0; i < 3; i++)
		zdtm_check(sigismember(&pend, sigs[i]), "signal %d is no longer pending", sigs[i]);
	zdtm_check(!sigismember(&pend, SIGRTMIN + 2),
		   "the main thread sees T's private signal as pending for itself");
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	zdtm_check(nlog == 7, "%d signals delivered to the main thread, expected 7", nlog);
	static const int want_val[7] = {111, 0, 1, 2, 3, 4, 5};
	for (int i = 0; i < 7; i++) {
		int want_sig = i == 0 ? SIGUSR1 : i == 1 ? SIGUSR2 : SIGRTMIN + 1;
		zdtm_check(log_sig[i] == want_sig, "delivery %d: signal %d, expected %d", i,
			   log_sig[i], want_sig);
		zdtm_check(i == 1 || (log_val[i] == want_val[i] && log_code[i] == SI_QUEUE),
			   "delivery %d (signal %d): value %d code %d, expected %d SI_QUEUE", i,
			   log_sig[i], log_val[i], log_code[i], want_val[i]);
		zdtm_check(i != 1 || log_code[i] == SI_USER, "SIGUSR2: code %d, not SI_USER",
			   log_code[i]);
		zdtm_check(log_pid[i] == sender, "delivery %d: si_pid %d, expected %d", i,
			   (int)log_pid[i], (int)sender);
	}
	go = 1;
	pthread_join(t, NULL);
	zdtm_check(nlog == 8, "T's private signal: %d deliveries in all, expected 8", nlog);
	zdtm_check(log_sig[7] == SIGRTMIN + 2 && log_val[7] == 77 && log_tid[7] == t_tid,
		   "T's private signal: signal %d value %d in TID %d, expected %d, 77, TID %d",
		   log_sig[7], log_val[7], (int)log_tid[7], SIGRTMIN + 2, (int)t_tid);
	zdtm_pass();
}
