/* Anonymous mappings of every kind: private RW, read-only, guard pages,
 * shared, sparse, untouched, and mprotect'ed sub-ranges. */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include "zdtm.h"

#define P 4096
static sigjmp_buf jb;
static void segv(int s)
{
	siglongjmp(jb, 1);
}

static int faults(volatile char *p, int write)
{
	if (sigsetjmp(jb, 1))
		return 1;
	if (write)
		*p = 1;
	else
		(void)*p;
	return 0;
}

int main(void)
{
	char *rw = mmap(NULL, 64 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *ro = mmap(NULL, 4 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *guard = mmap(NULL, 3 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *sh = mmap(NULL, 16 * P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char *sparse = mmap(NULL, 1024 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *never = mmap(NULL, 256 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *split = mmap(NULL, 8 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (int i = 0; i < 64 * P; i++)
		rw[i] = (char)(i ^ 0x5a);
	memset(ro, 0x77, 4 * P);
	mprotect(ro, 4 * P, PROT_READ);
	memset(guard, 0x11, 3 * P);
	mprotect(guard + P, P, PROT_NONE);
	for (int i = 0; i < 16 * P; i++)
		sh[i] = (char)(i * 3);
	for (int i = 0; i < 1024; i += 100)
		sparse[i * P + 17] = (char)i;
	memset(split, 0x33, 8 * P);
	mprotect(split + 2 * P, 2 * P, PROT_READ);
	mprotect(split + 5 * P, P, PROT_READ | PROT_EXEC);
	signal(SIGSEGV, segv);
	zdtm_ready();
	zdtm_wait_go();
	for (int i = 0; i < 64 * P; i++)
		zdtm_check(rw[i] == (char)(i ^ 0x5a), "private mapping changed at %d", i);
	for (int i = 0; i < 4 * P; i++)
		zdtm_check(ro[i] == 0x77, "read-only mapping changed");
	zdtm_check(faults(ro, 1), "read-only mapping became writable");
	zdtm_check(guard[0] == 0x11 && guard[2 * P] == 0x11, "guarded mapping changed");
	zdtm_check(faults(guard + P, 0), "guard page became readable");
	for (int i = 0; i < 16 * P; i++)
		zdtm_check(sh[i] == (char)(i * 3), "shared mapping changed");
	for (int i = 0; i < 1024; i++)
		zdtm_check(sparse[i * P + 17] == (i % 100 == 0 ? (char)i : 0), "sparse page %d", i);
	for (int i = 0; i < 256 * P; i += P)
		zdtm_check(never[i] == 0, "untouched mapping is not zero");
	for (int i = 0; i < 8 * P; i++)
		zdtm_check(split[i] == 0x33, "split mapping changed");
	zdtm_check(faults(split + 2 * P, 1) && !faults(split + 4 * P, 1) && faults(split + 5 * P, 1),
		   "sub-range protections changed");
	rw[5] = 9;
	sh[5] = 9;
	zdtm_check(rw[5] == 9 && sh[5] == 9, "mappings not writable any more");
	zdtm_pass();
}
