/*
 * mmap: anonymous mappings of every kind come back with their contents
 * and their protections: private RW; read-only (writing must fault);
 * PROT_NONE guard pages around a RW area (touching must fault, and their
 * old contents reappear when made accessible); MAP_SHARED (still shared: an
 * mremap alias sees writes); 1 GiB touched every 64 MiB; 16 MiB never
 * touched; and one area with mprotect'ed sub-ranges.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "zdtm.h"

#define PG 4096
#define BIG (1ul << 30)
#define STEP (64ul << 20)

static sigjmp_buf env;

static void on_segv(int sig)
{
	siglongjmp(env, sig);
}

static int faults(volatile char *p, int write)
{
	if (sigsetjmp(env, 1))
		return 1;
	if (write)
		*p = *p;
	else
		(void)*p;
	return 0;
}

static char *map(size_t len, int prot, int flags)
{
	char *p = mmap(NULL, len, prot, flags | MAP_ANONYMOUS, -1, 0);
	zdtm_check(p != MAP_FAILED, "mmap(%zu) failed", len);
	return p;
}

static void fill(char *p, size_t len, int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (char)(i * 13 + seed + (i >> 12));
}

/* bytes [from, to) of a region filled with fill(p, ..., seed) */
static void same(const char *p, size_t from, size_t to, int seed, const char *what)
{
	for (size_t i = from; i < to; i++)
		zdtm_check(p[i] == (char)(i * 13 + seed + (i >> 12)), "%s: byte %zu changed", what, i);
}

int main(void)
{
	struct sigaction sa = {.sa_handler = on_segv};
	char *rw, *ro, *guard, *shared, *alias, *big, *never, *mix;

	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	rw = map(64 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	fill(rw, 64 * PG, 1);
	ro = map(8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	fill(ro, 8 * PG, 2);
	zdtm_check(mprotect(ro, 8 * PG, PROT_READ) == 0, "mprotect");
	guard = map(6 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	fill(guard, 6 * PG, 3);
	mprotect(guard, PG, PROT_NONE);
	mprotect(guard + 5 * PG, PG, PROT_NONE);
	shared = map(16 * PG, PROT_READ | PROT_WRITE, MAP_SHARED);
	fill(shared, 16 * PG, 4);
	big = map(BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE);
	for (size_t off = 0; off < BIG; off += STEP)
		big[off + 100] = (char)(off / STEP + 1);
	never = map(16 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	mix = map(16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	fill(mix, 16 * PG, 5);
	mprotect(mix + 4 * PG, 4 * PG, PROT_READ);
	mprotect(mix + 10 * PG, 2 * PG, PROT_NONE);
	mprotect(mix + 14 * PG, 1 * PG, PROT_READ | PROT_EXEC);
	zdtm_ready();
	zdtm_wait_go();

	same(rw, 0, 64 * PG, 1, "private RW");
	same(ro, 0, 8 * PG, 2, "read-only");
	zdtm_check(faults(ro + 3 * PG, 1), "writing a read-only mapping did not fault");
	same(guard, PG, 5 * PG, 3, "guarded");
	zdtm_check(faults(guard, 0) && faults(guard + 5 * PG + 10, 0), "a PROT_NONE guard page is readable");
	zdtm_check(!faults(guard + PG, 1), "the guarded area is not writable");
	zdtm_check(mprotect(guard, 6 * PG, PROT_READ) == 0, "mprotect of the guards");
	same(guard, 0, 6 * PG, 3, "guard pages made readable");
	same(shared, 0, 16 * PG, 4, "shared");
	alias = mremap(shared, 0, 16 * PG, MREMAP_MAYMOVE);
	zdtm_check(alias != MAP_FAILED, "mremap alias of the shared mapping failed (not shared any more?)");
	alias[5 * PG + 1] = 'Z';
	zdtm_check(shared[5 * PG + 1] == 'Z', "the shared mapping is not shared with its alias");
	for (size_t off = 0; off < BIG; off += STEP) {
		zdtm_check(big[off + 100] == (char)(off / STEP + 1), "sparse page at %zu changed", off);
		zdtm_check(big[off + STEP / 2] == 0, "untouched sparse page at %zu not zero", off + STEP / 2);
	}
	for (size_t off = 0; off < (16 << 20); off += PG)
		zdtm_check(never[off] == 0, "never-touched page at %zu is not zero", off);
	never[12345] = 1;
	same(mix, 0, 10 * PG, 5, "mixed, pages 0-9");
	same(mix, 12 * PG, 16 * PG, 5, "mixed, pages 12-15");
	zdtm_check(faults(mix + 5 * PG, 1), "mixed: write to the read-only page 5 did not fault");
	zdtm_check(faults(mix + 14 * PG, 1), "mixed: write to the r-x page 14 did not fault");
	zdtm_check(faults(mix + 10 * PG, 0), "mixed: PROT_NONE page 10 is readable");
	zdtm_check(!faults(mix + 3 * PG, 1) && !faults(mix + 12 * PG, 1), "mixed: RW page not writable");
	zdtm_check(mprotect(mix, 16 * PG, PROT_READ) == 0, "mprotect");
	same(mix, 10 * PG, 12 * PG, 5, "mixed, PROT_NONE pages 10-11");
	zdtm_pass();
}
