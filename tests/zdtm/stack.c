/* The main stack: a big live frame survives, and the stack still grows. */
#include <string.h>
#include "zdtm.h"

static int deep(int n)
{
	volatile unsigned char pad[4096];
	memset((char *)pad, n & 0xff, sizeof(pad));
	if (n == 0)
		return pad[100];
	return deep(n - 1) + pad[7] - (n & 0xff) + 1;
}

int main(void)
{
	volatile char big[512 * 1024];
	for (unsigned i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 13);
	zdtm_ready();
	zdtm_wait_go();
	for (unsigned i = 0; i < sizeof(big); i++)
		zdtm_check(big[i] == (char)(i * 13), "stack frame byte %u changed", i);
	zdtm_check(deep(1500) == 1500, "deep recursion (6 MiB of stack) failed");
	zdtm_pass();
}
