/* A computation with live state in registers and memory across checkpoints. */
#include <stdint.h>
#include "zdtm.h"

int main(void)
{
	uint64_t x = 88172645463325252ull, sum = 0, n = 0;
	zdtm_ready();
	while (!zdtm_go()) {
		for (int i = 0; i < 100000; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			sum += x;
		}
		n++;
	}
	/* recompute from scratch: the same n rounds must give the same state */
	uint64_t y = 88172645463325252ull, s2 = 0;
	for (uint64_t r = 0; r < n; r++)
		for (int i = 0; i < 100000; i++) {
			y ^= y << 13;
			y ^= y >> 7;
			y ^= y << 17;
			s2 += y;
		}
	zdtm_check(x == y && sum == s2, "state differs after %llu rounds", (unsigned long long)n);
	zdtm_pass();
}
