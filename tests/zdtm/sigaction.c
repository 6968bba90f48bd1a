/*
 * sigaction: signal dispositions survive. Handlers with SA_RESTART + a
 * mask, SA_SIGINFO, SA_NODEFER, SA_RESETHAND, an RT signal with a mask, and
 * SIG_IGN: after go, sigaction() reports for every signal exactly what it
 * did before the checkpoint, the blocked mask is the same, and raising each
 * signal runs its handler with the right mask and siginfo.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "zdtm.h"

#define NSIG_ 65
static struct sigaction before[NSIG_];
static int valid[NSIG_];
static volatile int ran[NSIG_];
static volatile int bad[NSIG_];

static int blocked(int sig)
{
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	return sigismember(&cur, sig);
}

static void plain(int sig)
{
	ran[sig]++;
	if (sig == SIGUSR1 && !(blocked(SIGUSR1) && blocked(SIGUSR2)))
		bad[sig] = 1; /* its own signal and its sa_mask must be blocked */
	if (sig == SIGHUP && blocked(SIGHUP))
		bad[sig] = 2; /* SA_NODEFER */
	if (sig == SIGRTMIN + 2 && !(blocked(SIGINT) && blocked(SIGTERM)))
		bad[sig] = 3;
}

static void info(int sig, siginfo_t *si, void *uc)
{
	ran[sig]++;
	if (!uc || si->si_signo != sig || si->si_code != SI_TKILL || si->si_pid != getpid())
		bad[sig] = 4;
}

static void set(int sig, void (*h)(int), int flags, int m1, int m2)
{
	struct sigaction sa = {.sa_handler = h, .sa_flags = flags};

	if (flags & SA_SIGINFO)
		sa.sa_sigaction = info;
	sigemptyset(&sa.sa_mask);
	if (m1)
		sigaddset(&sa.sa_mask, m1);
	if (m2)
		sigaddset(&sa.sa_mask, m2);
	zdtm_check(sigaction(sig, &sa, NULL) == 0, "sigaction(%d)", sig);
}

static int same_action(const struct sigaction *a, const struct sigaction *b)
{
	if (a->sa_handler != b->sa_handler || a->sa_flags != b->sa_flags)
		return 0;
	for (int s = 1; s < NSIG_; s++)
		if (sigismember(&a->sa_mask, s) != sigismember(&b->sa_mask, s))
			return 0;
	return 1;
}

int main(void)
{
	sigset_t mask, mask_before, mask_after;
	struct sigaction now;
	const int raised[] = {SIGUSR1, SIGUSR2, SIGHUP, SIGALRM, SIGRTMIN + 2, SIGPIPE, SIGTERM};

	set(SIGUSR1, plain, SA_RESTART, SIGUSR2, 0);
	set(SIGUSR2, NULL, SA_SIGINFO, 0, 0);
	set(SIGHUP, plain, SA_NODEFER, 0, 0);
	set(SIGALRM, plain, SA_RESETHAND, SIGQUIT, 0);
	set(SIGRTMIN + 2, plain, SA_RESTART | SA_NODEFER, SIGINT, SIGTERM);
	set(SIGRTMIN + 3, NULL, SA_SIGINFO | SA_RESTART | SA_ONSTACK, SIGRTMIN + 4, 0);
	set(SIGPIPE, SIG_IGN, 0, 0, 0);
	set(SIGTERM, SIG_IGN, SA_RESTART, 0, 0);
	sigemptyset(&mask);
	sigaddset(&mask, SIGQUIT);
	sigaddset(&mask, SIGRTMIN + 5);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	sigprocmask(SIG_BLOCK, NULL, &mask_before);
	for (int s = 1; s < NSIG_; s++)
		valid[s] = sigaction(s, NULL, &before[s]) == 0;
	zdtm_check(before[SIGUSR1].sa_handler == plain && before[SIGUSR2].sa_sigaction == info,
	       "sigaction does not report the handlers just installed");
	zdtm_ready();
	zdtm_wait_go();

	for (int s = 1; s < NSIG_; s++) {
		zdtm_check(valid[s] == (sigaction(s, NULL, &now) == 0),
		       "signal %d: sigaction() validity changed", s);
		zdtm_check(!valid[s] || same_action(&before[s], &now),
		       "signal %d: disposition changed: handler %p flags %#x, was %p flags %#x", s,
		       (void *)now.sa_handler, (unsigned)now.sa_flags, (void *)before[s].sa_handler,
		       (unsigned)before[s].sa_flags);
	}
	sigprocmask(SIG_BLOCK, NULL, &mask_after);
	for (int s = 1; s < NSIG_; s++)
		zdtm_check(sigismember(&mask_before, s) == sigismember(&mask_after, s),
		       "signal %d: blocked %d before, %d after", s, sigismember(&mask_before, s),
		       sigismember(&mask_after, s));

	for (size_t i = 0; i < sizeof raised / sizeof raised[0]; i++)
		zdtm_check(raise(raised[i]) == 0, "raise(%d)", raised[i]);
	for (size_t i = 0; i < sizeof raised / sizeof raised[0]; i++) {
		int s = raised[i], ignored = s == SIGPIPE || s == SIGTERM;

		zdtm_check(ran[s] == !ignored, "signal %d: handler ran %d times", s, ran[s]);
		zdtm_check(!bad[s], "signal %d: handler saw the wrong mask or siginfo (%d)", s, bad[s]);
	}
	sigaction(SIGALRM, NULL, &now);
	zdtm_check(now.sa_handler == SIG_DFL, "SA_RESETHAND: SIGALRM handler not reset after it ran");
	zdtm_pass();
}
