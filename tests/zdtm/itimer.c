/* An interval timer (setitimer) stays armed with its interval. */
#include <signal.h>
#include <sys/time.h>
#include "zdtm.h"

static volatile int fired;
static void h(int s)
{
	fired++;
}

int main(void)
{
	struct itimerval it = {{7, 0}, {30, 0}}, now;
	signal(SIGALRM, h);
	setitimer(ITIMER_REAL, &it, NULL);
	zdtm_ready();
	zdtm_wait_go();
	getitimer(ITIMER_REAL, &now);
	zdtm_check(now.it_value.tv_sec > 0 || now.it_value.tv_usec > 0, "the timer is disarmed");
	zdtm_check(now.it_value.tv_sec < 30, "the timer did not keep running");
	zdtm_check(now.it_interval.tv_sec == 7 && now.it_interval.tv_usec == 0, "interval lost");
	it.it_value.tv_sec = 0;
	it.it_value.tv_usec = 20000;
	setitimer(ITIMER_REAL, &it, NULL);
	while (!fired)
		;
	zdtm_pass();
}
