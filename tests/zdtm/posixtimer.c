/* POSIX timers keep their IDs and stay armed; new ones still work. */
#include <signal.h>
#include <time.h>
#include "zdtm.h"

static volatile int fired;
static void h(int s, siginfo_t *si, void *uc)
{
	if (si->si_value.sival_int == 77)
		fired++;
}

int main(void)
{
	struct sigaction sa = {0};
	sa.sa_sigaction = h;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGRTMIN, &sa, NULL);
	struct sigevent ev = {0};
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGRTMIN;
	ev.sigev_value.sival_int = 77;
	timer_t a, idle;
	timer_create(CLOCK_MONOTONIC, &ev, &a);
	timer_create(CLOCK_REALTIME, &ev, &idle); /* never armed */
	struct itimerspec its = {{7, 0}, {30, 0}}, now;
	timer_settime(a, 0, &its, NULL);
	zdtm_ready();
	zdtm_wait_go();
	zdtm_check(timer_gettime(a, &now) == 0, "timer_gettime on the old timer fails");
	zdtm_check(now.it_value.tv_sec > 0 && now.it_value.tv_sec < 30, "the timer is not armed");
	zdtm_check(now.it_interval.tv_sec == 7, "interval lost");
	zdtm_check(timer_gettime(idle, &now) == 0 && now.it_value.tv_sec == 0 && now.it_value.tv_nsec == 0,
		   "the disarmed timer is gone or armed");
	its.it_value.tv_sec = 0;
	its.it_value.tv_nsec = 20000000;
	its.it_interval.tv_sec = 0;
	timer_settime(a, 0, &its, NULL);
	while (!fired)
		;
	timer_t b;
	zdtm_check(timer_create(CLOCK_MONOTONIC, &ev, &b) == 0, "a new timer cannot be created");
	fired = 0;
	timer_settime(b, 0, &its, NULL);
	while (!fired)
		;
	zdtm_pass();
}
