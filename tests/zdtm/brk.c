/*
 * brk: the program break and the malloc heap survive. Before the
 * checkpoint: thousands of small malloc blocks (some freed), a few large
 * ones, then sbrk(+N) filled with a pattern. After go: everything intact,
 * sbrk(0) is where it was and agrees with the kernel's brk, sbrk(+M) gives
 * fresh zeroed memory right after, sbrk(-K) gives some back, and malloc
 * keeps working for thousands more blocks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtm.h"

#define NBLK 20000
#define NBIG 4
#define BRK_N (1024 * 1024 + 123)
#define BRK_M (256 * 1024)
#define BRK_K (100 * 1024)

static unsigned char *blk[2 * NBLK];
static size_t blen[2 * NBLK];

static unsigned char pat(size_t i, size_t j)
{
	return (unsigned char)(i * 131 + j * 7 + (i >> 8));
}

static void alloc_blocks(int from, int to)
{
	for (int i = from; i < to; i++) {
		blen[i] = 1 + (i * 37) % 300;
		if (i % NBLK < NBIG)
			blen[i] = (1 + i % 3) << 20; /* mmap'ed by malloc */
		blk[i] = malloc(blen[i]);
		zdtm_check(blk[i], "malloc(%zu) failed", blen[i]);
		for (size_t j = 0; j < blen[i]; j++)
			blk[i][j] = pat(i, j);
	}
	for (int i = from; i < to; i += 3) { /* holes in the heap */
		free(blk[i]);
		blk[i] = NULL;
	}
}

static void check_blocks(int from, int to)
{
	for (int i = from; i < to; i++)
		for (size_t j = 0; blk[i] && j < blen[i]; j++)
			zdtm_check(blk[i][j] == pat(i, j), "malloc block %d byte %zu changed", i, j);
}

int main(void)
{
	unsigned char *base, *end, *more;

	alloc_blocks(0, NBLK);
	base = sbrk(BRK_N);
	zdtm_check(base != (void *)-1, "sbrk(%d) failed", BRK_N);
	for (size_t j = 0; j < BRK_N; j++)
		base[j] = pat(j >> 12, j);
	end = sbrk(0);
	zdtm_check(end == base + BRK_N, "sbrk(0) = %p after sbrk(+N) from %p", (void *)end,
	       (void *)base);
	zdtm_ready();
	zdtm_wait_go();

	for (size_t j = 0; j < BRK_N; j++)
		zdtm_check(base[j] == pat(j >> 12, j), "sbrk'ed byte %zu changed", j);
	zdtm_check(sbrk(0) == end, "sbrk(0) moved from %p to %p", (void *)end, sbrk(0));
	zdtm_check((void *)syscall(SYS_brk, 0) == end, "the kernel's brk is %p, glibc's %p",
	       (void *)syscall(SYS_brk, 0), (void *)end);
	more = sbrk(BRK_M);
	zdtm_check(more == end, "sbrk(+%d) = %p, expected %p", BRK_M, (void *)more, (void *)end);
	for (size_t j = 0; j < BRK_M; j++)
		zdtm_check(more[j] == 0, "new brk memory byte %zu is not zero", j);
	memset(more, 0xa5, BRK_M);
	zdtm_check(sbrk(-BRK_K) == more + BRK_M, "sbrk(-%d) failed", BRK_K);
	zdtm_check(sbrk(0) == more + BRK_M - BRK_K, "sbrk(0) wrong after shrinking");
	zdtm_check(more[BRK_M - BRK_K - 1] == 0xa5, "brk memory below the new break changed");
	check_blocks(0, NBLK);

	alloc_blocks(NBLK, 2 * NBLK);
	check_blocks(0, 2 * NBLK);
	for (int i = 0; i < 2 * NBLK; i++)
		free(blk[i]);
	zdtm_pass();
}
