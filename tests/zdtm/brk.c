/* The brk heap: contents survive and later sbrk() calls still work. */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "zdtm.h"

int main(void)
{
	char *blocks[1000];
	for (int i = 0; i < 1000; i++) {
		blocks[i] = malloc(100 + i);
		memset(blocks[i], i & 0xff, 100 + i);
	}
	char *b = sbrk(1 << 20);
	if (b == (void *)-1)
		zdtm_fail("sbrk before");
	for (int i = 0; i < (1 << 20); i++)
		b[i] = (char)(i * 7);
	zdtm_ready();
	zdtm_wait_go();
	for (int i = 0; i < (1 << 20); i++)
		zdtm_check(b[i] == (char)(i * 7), "brk heap byte %d changed", i);
	for (int i = 0; i < 1000; i++)
		for (int k = 0; k < 100 + i; k++)
			zdtm_check(blocks[i][k] == (char)(i & 0xff), "malloc block %d changed", i);
	char *end = sbrk(0);
	zdtm_check(end == b + (1 << 20), "the break moved: %p, expected %p", end, b + (1 << 20));
	char *more = sbrk(4 << 20);
	zdtm_check(more != (void *)-1, "sbrk(+4 MiB) after the checkpoint fails");
	memset(more, 1, 4 << 20);
	zdtm_check(sbrk(-(2 << 20)) != (void *)-1, "sbrk(-2 MiB) fails");
	zdtm_check(sbrk(0) == more + (2 << 20), "the break is not where it should be");
	for (int i = 0; i < 1000; i++) {
		free(blocks[i]);
		blocks[i] = malloc(5000);
		zdtm_check(blocks[i] != NULL, "malloc after the checkpoint");
		memset(blocks[i], 3, 5000);
	}
	zdtm_pass();
}
