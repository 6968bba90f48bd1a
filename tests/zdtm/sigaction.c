/* Signal handlers and their flags come back and still run. */
#include <signal.h>
#include <string.h>
#include "zdtm.h"

static volatile int hits[65];
static void h1(int s)
{
	hits[s]++;
}
static void h2(int s, siginfo_t *si, void *uc)
{
	hits[s] += si->si_signo == s ? 10 : 1000;
}

static const struct {
	int sig, flags;
	int info;
} set[] = {
	{SIGUSR1, SA_RESTART, 0},
	{SIGUSR2, SA_SIGINFO | SA_NODEFER, 1},
	{SIGHUP, SA_RESETHAND, 0},
	{SIGWINCH, SA_SIGINFO | SA_RESTART, 1},
};

int main(void)
{
	for (unsigned i = 0; i < sizeof(set) / sizeof(set[0]); i++) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		if (set[i].info)
			sa.sa_sigaction = h2;
		else
			sa.sa_handler = h1;
		sa.sa_flags = set[i].flags;
		sigemptyset(&sa.sa_mask);
		sigaddset(&sa.sa_mask, SIGTERM);
		sigaction(set[i].sig, &sa, NULL);
	}
	signal(SIGPIPE, SIG_IGN);
	zdtm_ready();
	zdtm_wait_go();
	for (unsigned i = 0; i < sizeof(set) / sizeof(set[0]); i++) {
		struct sigaction sa;
		sigaction(set[i].sig, NULL, &sa);
		void *want = set[i].info ? (void *)h2 : (void *)h1;
		zdtm_check((void *)sa.sa_handler == want, "signal %d: handler changed", set[i].sig);
		zdtm_check((sa.sa_flags & (SA_RESTART | SA_SIGINFO | SA_NODEFER | SA_RESETHAND)) ==
				   set[i].flags,
			   "signal %d: flags %#x, expected %#x", set[i].sig, sa.sa_flags, set[i].flags);
		zdtm_check(sigismember(&sa.sa_mask, SIGTERM), "signal %d: mask lost", set[i].sig);
		raise(set[i].sig);
		zdtm_check(hits[set[i].sig] == (set[i].info ? 10 : 1), "signal %d: handler did not run",
			   set[i].sig);
	}
	struct sigaction sa;
	sigaction(SIGHUP, NULL, &sa);
	zdtm_check(sa.sa_handler == SIG_DFL, "SA_RESETHAND did not reset SIGHUP");
	sigaction(SIGPIPE, NULL, &sa);
	zdtm_check(sa.sa_handler == SIG_IGN, "SIGPIPE is no longer ignored");
	zdtm_pass();
}
