/* Blocked pending signals, standard and real-time (queued several times,
 * with values), survive and are delivered in order once unblocked. */
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include "zdtm.h"

static int got[16], vals[16], n;
static void h(int s, siginfo_t *si, void *uc)
{
	if (n < 16) {
		got[n] = s;
		vals[n] = si->si_value.sival_int;
		n++;
	}
}

int main(void)
{
	int rt = SIGRTMIN + 2;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = h;
	sa.sa_flags = SA_SIGINFO;
	/* handlers must not nest, or the kernel runs the last one first */
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR1);
	sigaddset(&sa.sa_mask, rt);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(rt, &sa, NULL);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, rt);
	sigprocmask(SIG_BLOCK, &s, NULL);
	union sigval v;
	v.sival_int = 11;
	sigqueue(getpid(), SIGUSR1, v);
	for (int i = 0; i < 3; i++) {
		v.sival_int = 100 + i;
		sigqueue(getpid(), rt, v);
	}
	zdtm_ready();
	zdtm_wait_go();
	sigset_t p;
	sigpending(&p);
	zdtm_check(sigismember(&p, SIGUSR1) && sigismember(&p, rt), "pending signals lost");
	sigprocmask(SIG_UNBLOCK, &s, NULL);
	zdtm_check(n == 4, "%d signals delivered, expected 4", n);
	zdtm_check(got[0] == SIGUSR1 && vals[0] == 11, "SIGUSR1 or its value lost");
	for (int i = 0; i < 3; i++)
		zdtm_check(got[1 + i] == rt && vals[1 + i] == 100 + i, "real-time signal %d wrong", i);
	zdtm_pass();
}
