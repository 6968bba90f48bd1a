/*
 * fpu: floating-point state survives, per thread. Three threads run with
 * different rounding modes (x87 and SSE), sticky flags and MXCSR controls,
 * and keep chaotic computations live in XMM, YMM and (where the CPU has it)
 * ZMM registers until go; each then recomputes the same number of chunks
 * from scratch and must get the same bits, and its rounding must still act.
 */
#include <fenv.h>
#include <immintrin.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "zdtm.h"

#define CHUNK 50000
static atomic_int started;

#define TGT(x) __attribute__((target(x), noinline))

static void sse_chunk(double v[8])
{
	double a = v[0], b = v[1], c = v[2], d = v[3];

	for (int i = 0; i < CHUNK; i++) {
		a = 3.9 * a * (1.0 - a);
		b = 3.7 * b * (1.0 - b);
		c = 3.8 * c * (1.0 - c) + a * 1e-9;
		d = 3.6 * d * (1.0 - d) + b * 1e-9;
	}
	v[0] = a, v[1] = b, v[2] = c, v[3] = d;
}

TGT("avx") static void avx_chunk(double v[8])
{
	__m256d x = _mm256_loadu_pd(v), y = _mm256_loadu_pd(v + 4);
	__m256d r = _mm256_set_pd(3.9, 3.8, 3.7, 3.6), one = _mm256_set1_pd(1.0);

	for (int i = 0; i < CHUNK; i++) {
		x = _mm256_mul_pd(_mm256_mul_pd(r, x), _mm256_sub_pd(one, x));
		y = _mm256_mul_pd(_mm256_mul_pd(r, y), _mm256_sub_pd(one, y));
	}
	_mm256_storeu_pd(v, x);
	_mm256_storeu_pd(v + 4, y);
}

TGT("avx512f") static void avx512_chunk(double v[8])
{
	__m512d x = _mm512_loadu_pd(v), r = _mm512_set1_pd(3.85), one = _mm512_set1_pd(1.0);

	for (int i = 0; i < CHUNK; i++)
		x = _mm512_mul_pd(_mm512_mul_pd(r, x), _mm512_sub_pd(one, x));
	_mm512_storeu_pd(v, x);
}

struct job {
	const char *name;
	int round;
	unsigned csr_extra; /* MXCSR bits set on top of the rounding mode */
	void (*chunk)(double v[8]);
};

static void seed(double v[8])
{
	for (int i = 0; i < 8; i++)
		v[i] = 0.1 + 0.07 * i;
}

static void check_round(const struct job *j)
{
	static const uint64_t third[4] = {0x3FD5555555555555ull, 0x3FD5555555555555ull,
					  0x3FD5555555555556ull, 0x3FD5555555555555ull};
	static const int modes[4] = {FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO};
	volatile double one = 1.0, three = 3.0, r;
	volatile long double lone = 1.0L, lthree = 3.0L, lr, lnear;
	unsigned csr = _mm_getcsr(), m = (csr >> 13) & 3;
	uint64_t bits;

	zdtm_check(fegetround() == j->round, "%s: fegetround() %#x, expected %#x", j->name,
	       fegetround(), j->round);
	zdtm_check(modes[m] == j->round, "%s: MXCSR %#x has rounding %u", j->name, csr, m);
	zdtm_check((csr & j->csr_extra) == j->csr_extra, "%s: MXCSR %#x lost bits %#x", j->name, csr,
	       j->csr_extra);
	r = one / three;
	memcpy(&bits, (const void *)&r, 8);
	zdtm_check(bits == third[m], "%s: 1.0/3.0 = %#llx in rounding mode %u", j->name,
	       (unsigned long long)bits, m);
	lr = lone / lthree;
	fesetround(FE_TONEAREST);
	lnear = lone / lthree;
	fesetround(j->round);
	zdtm_check((j->round == FE_UPWARD) == (lr == lnear), "%s: x87 1/3 does not round as set",
	       j->name);
}

static void *run(void *arg)
{
	const struct job *j = arg;
	double v[8], w[8];
	long n = 0;

	fesetround(j->round);
	_mm_setcsr(_mm_getcsr() | j->csr_extra);
	seed(v);
	if (j->csr_extra & 0x8040) { /* FTZ and DAZ must act after go */
		volatile double tiny = 2.2250738585072014e-308, half = 0.5, one = 1.0, den;
		den = 4.9406564584124654e-324;
		zdtm_check(tiny * half == 0.0 && den * one == 0.0, "%s: FTZ/DAZ not acting", j->name);
	}
	if (j->chunk == sse_chunk) {
		volatile double zero = 0.0, inf = 1.0 / zero; /* sticky divide-by-zero flag */
		(void)inf;
	}
	atomic_fetch_add(&started, 1);
	while (!zdtm_go()) {
		j->chunk(v);
		n++;
	}
	check_round(j);
	if (j->chunk == sse_chunk)
		zdtm_check(_mm_getcsr() & 0x4, "%s: MXCSR lost the sticky divide-by-zero flag", j->name);
	seed(w);
	for (long i = 0; i < n; i++)
		j->chunk(w);
	zdtm_check(memcmp(v, w, sizeof v) == 0, "%s: values differ from their recomputation (%ld chunks)",
	       j->name, n);
	return NULL;
}

int main(void)
{
	struct job jobs[3] = {
		{"main/sse/downward", FE_DOWNWARD, 0, sse_chunk},
		{"thread/avx/upward", FE_UPWARD, 0x8040, sse_chunk},
		{"thread/avx512/towardzero", FE_TOWARDZERO, 0, sse_chunk},
	};
	pthread_t t[2];

	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx"))
		jobs[1].chunk = avx_chunk;
	if (__builtin_cpu_supports("avx512f"))
		jobs[2].chunk = avx512_chunk;
	for (int i = 0; i < 2; i++)
		zdtm_check(pthread_create(&t[i], NULL, run, &jobs[i + 1]) == 0, "pthread_create");
	while (started < 2)
		sched_yield();
	zdtm_ready();
	run(&jobs[0]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	zdtm_pass();
}
