/*
 * itimer: interval timers stay armed. ITIMER_REAL at 30 s with a 7 s
 * interval and ITIMER_VIRTUAL at 100 s: after go both are still armed
 * (0 < value <= what was set, interval kept) and have not fired; a new
 * 0.2 s ITIMER_REAL then fires SIGALRM, and its interval re-arms it.
 */
#include <signal.h>
#include <sys/time.h>
#include <time.h>

#include "zdtm.h"

static volatile int alarms, vtalarms;

static void on_alarm(int sig)
{
	if (sig == SIGALRM)
		alarms++;
	else
		vtalarms++;
}

static double secs(struct timeval tv)
{
	return tv.tv_sec + tv.tv_usec / 1e6;
}

int main(void)
{
	struct itimerval real = {{7, 0}, {30, 0}}, virt = {{0, 0}, {100, 0}}, now;
	struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
	struct timespec nap = {0, 5 * 1000 * 1000};
	double end;

	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGVTALRM, &sa, NULL);
	zdtm_check(setitimer(ITIMER_REAL, &real, NULL) == 0, "setitimer(ITIMER_REAL)");
	zdtm_check(setitimer(ITIMER_VIRTUAL, &virt, NULL) == 0, "setitimer(ITIMER_VIRTUAL)");
	zdtm_ready();
	zdtm_wait_go();

	zdtm_check(alarms == 0 && vtalarms == 0, "a timer fired early (%d, %d)", alarms, vtalarms);
	zdtm_check(getitimer(ITIMER_REAL, &now) == 0, "getitimer(ITIMER_REAL)");
	zdtm_check(secs(now.it_value) > 0 && secs(now.it_value) <= 30,
		   "ITIMER_REAL: %.6f s left, expected (0, 30]", secs(now.it_value));
	zdtm_check(now.it_interval.tv_sec == 7 && now.it_interval.tv_usec == 0,
		   "ITIMER_REAL: interval %.6f s, expected 7", secs(now.it_interval));
	zdtm_check(getitimer(ITIMER_VIRTUAL, &now) == 0, "getitimer(ITIMER_VIRTUAL)");
	/* CPU-time timers count in ticks: the kernel may round up by one */
	zdtm_check(secs(now.it_value) > 90 && secs(now.it_value) <= 100.02,
		   "ITIMER_VIRTUAL: %.6f s left, expected (90, 100]", secs(now.it_value));

	real.it_value.tv_sec = 0;
	real.it_value.tv_usec = 200 * 1000;
	real.it_interval = real.it_value;
	zdtm_check(setitimer(ITIMER_REAL, &real, NULL) == 0, "setitimer after go");
	end = zdtm_now() + 5;
	while (alarms < 2 && zdtm_now() < end)
		nanosleep(&nap, NULL);
	zdtm_check(alarms >= 2, "a 0.2 s periodic ITIMER_REAL set after go fired %d times in 5 s",
		   alarms);
	zdtm_pass();
}
