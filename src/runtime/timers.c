/*
 * Timers: interval timers (setitimer) and POSIX timers (timer_create).
 *
 * POSIX timers are listed by the kernel in /proc/self/timers; their time
 * left is read with timer_gettime(). After a restart they are created again
 * with the same kernel IDs (the program holds them as timer_t), which needs
 * prctl(PR_TIMER_CREATE_RESTORE_IDS) (Linux 6.15+); a timer aimed at a
 * thread follows that thread to its new TID.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "runtime/runtime.h"

#ifndef PR_TIMER_CREATE_RESTORE_IDS
#define PR_TIMER_CREATE_RESTORE_IDS 77
#define PR_TIMER_CREATE_RESTORE_IDS_OFF 0
#define PR_TIMER_CREATE_RESTORE_IDS_ON 1
#endif

static uint64_t tv_ns(struct timeval tv)
{
	return (uint64_t)tv.tv_sec * 1000000000ull + (uint64_t)tv.tv_usec * 1000ull;
}

static uint64_t ts_ns(struct timespec ts)
{
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Index in THREADS of the thread whose TID is tid (0 is the manager). */
static uint32_t thread_index(pid_t tid)
{
	for (int i = 0; i < rt.nslots; i++)
		if ((pid_t)rt.slots[i].t.tid == tid)
			return (uint32_t)i + 1;
	return 0;
}

int timers_capture(char *err, size_t errlen)
{
	static char buf[65536];
	int n = 0;

	for (int which = 0; which < 3; which++) {
		struct itimerval it;
		if (getitimer(which, &it) < 0 || (!it.it_value.tv_sec && !it.it_value.tv_usec))
			continue;
		struct img_timer *t = &rt.timers[n++];
		memset(t, 0, sizeof(*t));
		t->kind = TIMER_ITIMER;
		t->id = which;
		t->value_ns = tv_ns(it.it_value);
		t->interval_ns = tv_ns(it.it_interval);
	}
	if (read_file("/proc/self/timers", buf, sizeof(buf)) < 0) {
		rt.ntimers = n;
		return 0;
	}
	/* ID: 0 / signal: 14/0000000000000000 / notify: signal/pid.123 / ClockID: 1 */
	for (char *p = strstr(buf, "ID: "); p; p = strstr(p + 1, "\nID: ")) {
		if (n >= MAX_TIMERS) {
			fmt(err, errlen, "the program has more than %d timers", MAX_TIMERS);
			return -1;
		}
		struct img_timer *t = &rt.timers[n];
		char *q;
		memset(t, 0, sizeof(*t));
		t->kind = TIMER_POSIX;
		t->id = (int32_t)strtol(strchr(p, ':') + 2, NULL, 10);
		if ((q = strstr(p, "signal: ")) != NULL) {
			t->signo = (int32_t)strtol(q + 8, &q, 10);
			t->value = strtoull(q + 1, NULL, 16);
		}
		if ((q = strstr(p, "notify: ")) != NULL) {
			q += 8;
			if (strncmp(q, "thread", 6) == 0)
				t->notify = SIGEV_THREAD_ID;
			else if (strncmp(q, "signal", 6) == 0)
				t->notify = SIGEV_SIGNAL;
			else
				t->notify = SIGEV_NONE;
			char *dot = strchr(q, '.');
			if (t->notify == SIGEV_THREAD_ID && dot)
				t->thread = thread_index((pid_t)atoi(dot + 1));
		}
		if ((q = strstr(p, "ClockID: ")) != NULL)
			t->clock = (int32_t)strtol(q + 9, NULL, 10);
		struct itimerspec its;
		if (syscall(SYS_timer_gettime, t->id, &its) == 0) {
			t->value_ns = ts_ns(its.it_value);
			t->interval_ns = ts_ns(its.it_interval);
		}
		n++;
	}
	rt.ntimers = n;
	return 0;
}

void timers_write(struct img_writer *w)
{
	img_section_begin(w, SEC_TIMERS, 8);
	img_put(w, rt.timers, (size_t)rt.ntimers * sizeof(rt.timers[0]));
	img_section_end(w);
}

static struct timespec ns_ts(uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
	return ts;
}

/* In the restored process, before the program's threads run. */
void timers_restore(void)
{
	int restore_ids = 0;

	for (int i = 0; i < rt.ntimers; i++) {
		struct img_timer *t = &rt.timers[i];
		if (t->kind == TIMER_ITIMER) {
			struct itimerval it;
			it.it_value.tv_sec = (time_t)(t->value_ns / 1000000000ull);
			it.it_value.tv_usec = (long)(t->value_ns % 1000000000ull / 1000);
			if (!it.it_value.tv_sec && !it.it_value.tv_usec)
				it.it_value.tv_usec = 1;
			it.it_interval.tv_sec = (time_t)(t->interval_ns / 1000000000ull);
			it.it_interval.tv_usec = (long)(t->interval_ns % 1000000000ull / 1000);
			setitimer(t->id, &it, NULL);
			continue;
		}
		if (!restore_ids) {
			restore_ids = prctl(PR_TIMER_CREATE_RESTORE_IDS,
					    PR_TIMER_CREATE_RESTORE_IDS_ON, 0, 0, 0) == 0 ? 1 : -1;
		}
		struct sigevent sev;
		memset(&sev, 0, sizeof(sev));
		sev.sigev_notify = t->notify;
		sev.sigev_signo = t->signo;
		sev.sigev_value.sival_ptr = (void *)t->value;
		if (t->notify == SIGEV_THREAD_ID) {
			pid_t tid = t->thread == 0 ? rt_tid : rt.slots[t->thread - 1].new_tid;
			sev._sigev_un._tid = tid;
		}
		int id = t->id;
		if (syscall(SYS_timer_create, t->clock, &sev, &id) < 0 || id != t->id) {
			rt_log("cannot restore timer %d (got %d): %s", t->id, id, strerror(errno));
			continue;
		}
		struct itimerspec its;
		its.it_value = ns_ts(t->value_ns);
		its.it_interval = ns_ts(t->interval_ns);
		if (t->value_ns)
			syscall(SYS_timer_settime, id, 0, &its, NULL);
	}
	if (restore_ids > 0)
		prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_OFF, 0, 0, 0);
}
