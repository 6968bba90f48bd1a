/*
 * posixtimer: POSIX timers keep their IDs, clocks, settings and signals.
 * A CLOCK_MONOTONIC timer armed for 30 s with a 7 s interval and a
 * CLOCK_REALTIME one left disarmed: after go timer_gettime() on the same
 * timer_t values shows them as they were, neither has fired, and both fire
 * when armed for 0.1 s, with their own signal, si_value and timer ID. A new
 * timer works too.
 */
#include <signal.h>
#include <time.h>

#include "zdtm.h"

static volatile int fired[3];
static volatile int bad;
static timer_t ids[3];

static void on_timer(int sig, siginfo_t *si, void *uc)
{
	int k = si->si_value.sival_int;

	(void)uc;
	if (k < 0 || k > 2 || si->si_code != SI_TIMER || sig != SIGRTMIN + k ||
	    si->si_timerid != (int)(long)ids[k])
		bad = 1;
	else
		fired[k]++;
}

static void make(int k, clockid_t clock)
{
	struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN + k};

	ev.sigev_value.sival_int = k;
	zdtm_check(timer_create(clock, &ev, &ids[k]) == 0, "timer_create %d", k);
}

static void fire_soon(int k)
{
	struct itimerspec its = {{0, 0}, {0, 100 * 1000 * 1000}};
	struct timespec nap = {0, 5 * 1000 * 1000};
	double end = zdtm_now() + 5;

	zdtm_check(timer_settime(ids[k], 0, &its, NULL) == 0, "timer_settime %d after go", k);
	while (!fired[k] && !bad && zdtm_now() < end)
		nanosleep(&nap, NULL);
	zdtm_check(!bad, "a timer signal came with the wrong signal, code, value or timer ID");
	zdtm_check(fired[k] == 1, "timer %d armed for 0.1 s after go fired %d times in 5 s", k,
		   fired[k]);
}

int main(void)
{
	struct sigaction sa = {.sa_sigaction = on_timer, .sa_flags = SA_SIGINFO | SA_RESTART};
	struct itimerspec its = {{7, 0}, {30, 0}}, now;

	for (int k = 0; k < 3; k++)
		sigaction(SIGRTMIN + k, &sa, NULL);
	make(0, CLOCK_MONOTONIC);
	make(1, CLOCK_REALTIME);
	zdtm_check(timer_settime(ids[0], 0, &its, NULL) == 0, "timer_settime");
	zdtm_ready();
	zdtm_wait_go();

	zdtm_check(fired[0] == 0 && fired[1] == 0 && !bad, "a timer fired before it was due");
	zdtm_check(timer_gettime(ids[0], &now) == 0, "timer_gettime on the armed timer fails");
	zdtm_check(now.it_value.tv_sec + now.it_value.tv_nsec > 0 && now.it_value.tv_sec < 30,
		   "the armed timer shows %ld.%09ld s left", (long)now.it_value.tv_sec,
		   now.it_value.tv_nsec);
	zdtm_check(now.it_interval.tv_sec == 7 && now.it_interval.tv_nsec == 0, "interval lost");
	zdtm_check(timer_getoverrun(ids[0]) == 0, "timer_getoverrun");
	zdtm_check(timer_gettime(ids[1], &now) == 0, "timer_gettime on the disarmed timer fails");
	zdtm_check(now.it_value.tv_sec == 0 && now.it_value.tv_nsec == 0 &&
			   now.it_interval.tv_sec == 0 && now.it_interval.tv_nsec == 0,
		   "the disarmed timer is armed");
	fire_soon(1);
	fire_soon(0);
	make(2, CLOCK_MONOTONIC);
	fire_soon(2);
	for (int k = 0; k < 3; k++)
		zdtm_check(timer_delete(ids[k]) == 0, "timer_delete %d", k);
	zdtm_pass();
}
