/*
 * loop: a computation running when the checkpoint comes keeps its running
 * checksum. The loop runs in chunks until go; the number of chunks done is
 * then enough to recompute the same checksum from scratch, which must match
 * bit for bit. A heap buffer updated by the loop is checked the same way.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zdtm.h"

#define CHUNK 200000
#define BUF (1 << 20)

struct state {
	uint64_t x, sum;
	unsigned char *buf;
};

static void chunk(struct state *s)
{
	uint64_t x = s->x, sum = s->sum;

	for (int i = 0; i < CHUNK; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		sum = sum * 31 + (x >> 11);
		s->buf[x & (BUF - 1)] += (unsigned char)sum;
	}
	s->x = x;
	s->sum = sum;
}

static void init(struct state *s)
{
	s->x = 0x9e3779b97f4a7c15ull;
	s->sum = 0;
	s->buf = calloc(1, BUF);
	zdtm_check(s->buf, "calloc failed");
}

int main(void)
{
	struct state run, ref;
	struct timespec pause = {0, 1000 * 1000};
	long n = 0;

	init(&run);
	for (; n < 10; n++)
		chunk(&run);
	zdtm_ready();
	/* mostly computing, sometimes resting so the harness gets a core */
	while (!zdtm_go()) {
		chunk(&run);
		n++;
		if (n % 4 == 0)
			nanosleep(&pause, NULL);
	}
	for (int i = 0; i < 10; i++, n++)
		chunk(&run);

	init(&ref);
	for (long i = 0; i < n; i++)
		chunk(&ref);
	zdtm_check(run.x == ref.x, "generator state %#llx, recomputed %#llx after %ld chunks",
	       (unsigned long long)run.x, (unsigned long long)ref.x, n);
	zdtm_check(run.sum == ref.sum, "checksum %#llx, recomputed %#llx after %ld chunks",
	       (unsigned long long)run.sum, (unsigned long long)ref.sum, n);
	zdtm_check(memcmp(run.buf, ref.buf, BUF) == 0, "heap buffer differs from its recomputation");
	zdtm_pass();
}
