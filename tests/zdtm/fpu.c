/* Rounding modes, MXCSR and live SSE/AVX values in two threads. */
#include <fenv.h>
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include "zdtm.h"

static volatile int stop;

static int rounds_to(int mode)
{
	volatile double one = 1.0, three = 3.0;
	double down, up;
	fesetround(FE_DOWNWARD);
	down = one / three;
	fesetround(FE_UPWARD);
	up = one / three;
	fesetround(mode);
	volatile double q = one / three;
	return (mode == FE_DOWNWARD && q == down) || (mode == FE_UPWARD && q == up);
}

__attribute__((target("avx"))) static void *spin(void *arg)
{
	int mode = (int)(long)arg;
	fesetround(mode);
	__m256d v = _mm256_set_pd(1.5, 2.5, 3.5, 4.5), inc = _mm256_set1_pd(1.0);
	double n = 0;
	while (!stop) {
		v = _mm256_add_pd(v, inc);
		n += 1.0;
	}
	double out[4];
	_mm256_storeu_pd(out, v);
	int ok = fegetround() == mode && out[3] == 1.5 + n && out[0] == 4.5 + n && rounds_to(mode);
	return (void *)(long)ok;
}

int main(void)
{
	pthread_t t;
	if (!__builtin_cpu_supports("avx"))
		zdtm_fail("no AVX on this CPU");
	pthread_create(&t, NULL, spin, (void *)(long)FE_UPWARD);
	fesetround(FE_DOWNWARD);
	uint32_t csr = _mm_getcsr() | _MM_FLUSH_ZERO_ON; /* leave a visible mark */
	_mm_setcsr(csr);
	zdtm_ready();
	zdtm_wait_go();
	stop = 1;
	void *ok;
	pthread_join(t, &ok);
	zdtm_check(ok == (void *)1, "the second thread lost its FPU/AVX state or rounding mode");
	zdtm_check(fegetround() == FE_DOWNWARD, "main thread's rounding mode changed");
	zdtm_check(rounds_to(FE_DOWNWARD), "main thread does not round down");
	/* exception flags (the low 6 bits) may have been raised since */
	zdtm_check((_mm_getcsr() & ~0x3fu) == (csr & ~0x3fu), "MXCSR %#x, expected %#x", _mm_getcsr(),
		   csr);
	zdtm_pass();
}
