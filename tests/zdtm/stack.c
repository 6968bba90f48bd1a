/*
 * stack: stacks survive and still grow. A 512 KiB array live in main's
 * frame keeps its contents; after go, recursion grows the main stack by
 * several MiB (it must still grow down on demand), and a thread with a
 * 16 MiB stack recurses just as deep.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>

#include "zdtm.h"

#define FRAME 1024

static uint64_t deep(int n)
{
	volatile unsigned char pad[FRAME];
	uint64_t below;

	memset((unsigned char *)pad, n & 0xff, sizeof pad);
	below = n == 0 ? 0 : deep(n - 1);
	for (int i = 0; i < FRAME; i += 97)
		zdtm_check(pad[i] == (n & 0xff), "frame %d changed during the recursion", n);
	return below + (uint64_t)n * pad[FRAME - 1];
}

static uint64_t expect(int n)
{
	uint64_t s = 0;

	for (int i = 0; i <= n; i++)
		s += (uint64_t)i * (i & 0xff);
	return s;
}

static int depth;

static void *thread(void *arg)
{
	(void)arg;
	return (void *)(uintptr_t)(deep(depth) == expect(depth));
}

int main(void)
{
	volatile char big[512 * 1024];
	struct rlimit rl;
	pthread_attr_t at;
	pthread_t t;
	void *ok;

	getrlimit(RLIMIT_STACK, &rl);
	depth = 6 << 10; /* about 6 MiB of frames */
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (8u << 20))
		depth = (rl.rlim_cur - (1 << 20)) / (FRAME + 128);
	for (unsigned i = 0; i < sizeof big; i++)
		big[i] = (char)(i * 13 + (i >> 12));
	zdtm_ready();
	zdtm_wait_go();

	for (unsigned i = 0; i < sizeof big; i++)
		zdtm_check(big[i] == (char)(i * 13 + (i >> 12)), "stack array byte %u changed", i);
	zdtm_check(deep(depth) == expect(depth), "deep recursion on the main stack gave a wrong sum");
	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, 16 << 20);
	zdtm_check(pthread_create(&t, &at, thread, NULL) == 0, "pthread_create");
	zdtm_check(pthread_join(t, &ok) == 0 && ok == (void *)1,
		   "deep recursion in a new thread gave a wrong sum");
	zdtm_pass();
}
