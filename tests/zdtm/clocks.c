/*
 * clocks: time keeps working through the vDSO and the kernel. After go
 * CLOCK_MONOTONIC and CLOCK_BOOTTIME have not gone back, CLOCK_REALTIME,
 * gettimeofday() and time() agree with each other, the per-process and
 * per-thread CPU clocks work, and the vDSO (AT_SYSINFO_EHDR) is mapped and
 * is an ELF image.
 */
#include <elf.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/time.h>
#include <time.h>

#include "zdtm.h"

static double get(clockid_t c)
{
	struct timespec ts;

	zdtm_check(clock_gettime(c, &ts) == 0, "clock_gettime(%d)", (int)c);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	double mono0 = get(CLOCK_MONOTONIC), boot0 = get(CLOCK_BOOTTIME);
	double cpu0 = get(CLOCK_PROCESS_CPUTIME_ID), rt, tod;
	unsigned long vdso = getauxval(AT_SYSINFO_EHDR);
	struct timeval tv;
	volatile double x = 1;

	zdtm_check(vdso != 0, "no vDSO");
	zdtm_ready();
	zdtm_wait_go();

	zdtm_check(get(CLOCK_MONOTONIC) >= mono0, "CLOCK_MONOTONIC went back");
	zdtm_check(get(CLOCK_BOOTTIME) >= boot0, "CLOCK_BOOTTIME went back");
	zdtm_check(get(CLOCK_MONOTONIC_COARSE) > 0 && get(CLOCK_REALTIME_COARSE) > 0,
		   "the coarse clocks");
	rt = get(CLOCK_REALTIME);
	zdtm_check(gettimeofday(&tv, NULL) == 0, "gettimeofday");
	tod = tv.tv_sec + tv.tv_usec / 1e6;
	zdtm_check(tod - rt >= -0.001 && tod - rt < 1, "gettimeofday %.6f, CLOCK_REALTIME %.6f",
		   tod, rt);
	zdtm_check(time(NULL) >= (time_t)rt && time(NULL) - (time_t)rt <= 1, "time()");
	for (int i = 0; i < 20000000; i++)
		x = x * 1.0000001;
	zdtm_check(get(CLOCK_PROCESS_CPUTIME_ID) > 0 && get(CLOCK_THREAD_CPUTIME_ID) > 0,
		   "the CPU-time clocks");
	zdtm_check(get(CLOCK_PROCESS_CPUTIME_ID) > cpu0 || get(CLOCK_PROCESS_CPUTIME_ID) > 0.01,
		   "the process CPU clock does not advance");
	vdso = getauxval(AT_SYSINFO_EHDR);
	zdtm_check(vdso && memcmp((void *)vdso, ELFMAG, SELFMAG) == 0,
		   "the vDSO at %#lx is not an ELF image", vdso);
	zdtm_pass();
}
