/*
 * A process holding memory, for bench/run:
 *   memhog random N | zeros N | untouched N | threads T N
 * (N in MiB; threads: T threads each holding N MiB of random data).
 * After setup it creates $BENCH_DIR/ready, waits for $BENCH_DIR/go, checks
 * its memory against a checksum taken at setup and exits 0 if it matches.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static const char *dir;
static size_t mib;
static int mode; /* 0 random, 1 zeros, 2 untouched */

static char *file(const char *name)
{
	static char p[2][4096];
	static int i;
	i ^= 1;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static uint64_t fill(uint64_t *p, size_t n, uint64_t seed)
{
	uint64_t x = seed, sum = 0;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = x;
		sum += x;
	}
	return sum;
}

static uint64_t sum(const uint64_t *p, size_t n)
{
	uint64_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += p[i];
	return s;
}

static uint64_t *region(void)
{
	void *p = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	return p;
}

struct th {
	pthread_t t;
	uint64_t seed, want;
	int ok;
};

static void *worker(void *arg)
{
	struct th *t = arg;
	uint64_t *p = region();
	t->want = fill(p, (mib << 20) / 8, t->seed);
	__sync_synchronize();
	while (access(file("go"), F_OK))
		usleep(10000);
	t->ok = sum(p, (mib << 20) / 8) == t->want;
	return NULL;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* How long the final check took, so bench/run can tell it from the restart. */
static void report(double t0)
{
	FILE *f = fopen(file("verify"), "w");
	if (f) {
		fprintf(f, "%.3f\n", now() - t0);
		fclose(f);
	}
}

static void ready(void)
{
	FILE *f = fopen(file("ready.tmp"), "w");
	fclose(f);
	rename(file("ready.tmp"), file("ready"));
}

int main(int argc, char **argv)
{
	dir = getenv("BENCH_DIR") ? getenv("BENCH_DIR") : ".";
	if (argc < 3)
		return 2;
	if (strcmp(argv[1], "threads") == 0) {
		int n = atoi(argv[2]);
		mib = (size_t)atoi(argv[3]);
		struct th *t = calloc((size_t)n, sizeof(*t));
		for (int i = 0; i < n; i++) {
			t[i].seed = 88172645463325252ull + (uint64_t)i;
			pthread_create(&t[i].t, NULL, worker, &t[i]);
		}
		for (int i = 0; i < n; i++)
			while (!__atomic_load_n(&t[i].want, __ATOMIC_SEQ_CST))
				usleep(1000);
		ready();
		int ok = 1;
		while (access(file("go"), F_OK))
			usleep(10000);
		double t0 = now();
		for (int i = 0; i < n; i++) {
			pthread_join(t[i].t, NULL);
			ok &= t[i].ok;
		}
		report(t0);
		return !ok;
	}
	mode = strcmp(argv[1], "random") == 0 ? 0 : strcmp(argv[1], "zeros") == 0 ? 1 : 2;
	mib = (size_t)atoi(argv[2]);
	uint64_t *p = region(), want = 0;
	if (mode == 0)
		want = fill(p, (mib << 20) / 8, 88172645463325252ull);
	else if (mode == 1)
		memset(p, 0, mib << 20);
	ready();
	while (access(file("go"), F_OK))
		usleep(10000);
	double t0 = now();
	int bad = mode != 2 && sum(p, (mib << 20) / 8) != want;
	report(t0);
	return bad;
}
