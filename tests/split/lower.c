/*
 * The lower half of the split tests: a plain program linked against libc
 * and libpthread, loaded into the window by split_test.c. Its main hands
 * its table to the upper half (src/split/split.h); with the argument
 * "exit" it exits first instead, as a broken helper would.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lower.h"

static long l_add(long a, long b, long c)
{
	return a * b + c;
}

static long l_nop(void)
{
	return 0;
}

/* Allocate BYTES in pieces of mixed sizes (most small, from the brk heap;
 * some large, from mmap), up to 512 live at a time, each filled with a
 * pattern that is checked before it is freed. */
static long l_churn(long bytes, long seed)
{
	enum { LIVE = 512 };
	static unsigned char *p[LIVE];
	static size_t n[LIVE];
	unsigned long x = (unsigned long)seed | 1;
	long pieces = 0, done = 0, bad = 0;

	memset(n, 0, sizeof(n));
	while (done < bytes) {
		int i = (int)(pieces % LIVE);
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		if (n[i]) {
			for (size_t k = 0; k < n[i]; k += 997)
				bad |= p[i][k] != (unsigned char)(i + n[i]);
			free(p[i]);
		}
		n[i] = x % 8 ? 16 + x % 8192 : (128 << 10) + x % (1 << 20);
		if (!(p[i] = malloc(n[i])))
			return -1;
		memset(p[i], (unsigned char)(i + n[i]), n[i]);
		done += n[i];
		pieces++;
	}
	for (int i = 0; i < LIVE; i++)
		if (n[i]) {
			bad |= p[i][n[i] - 1] != (unsigned char)(i + n[i]);
			free(p[i]);
		}
	return bad ? -1 : pieces;
}

static __thread long tls_value = 7;

static void *thread_main(void *arg)
{
	long x = (long)arg;
	char *buf = malloc(1 << 20); /* the thread's own arena: mmap */

	if (!buf || tls_value != 7)
		return (void *)-1l;
	tls_value = x;
	memset(buf, 1, 1 << 20);
	x = tls_value * 2 + buf[12345];
	free(buf);
	return (void *)x;
}

static long l_thread(long x)
{
	pthread_t t;
	void *r;

	tls_value = 1;
	if (pthread_create(&t, NULL, thread_main, (void *)x) ||
	    pthread_join(t, &r))
		return -1;
	return tls_value == 1 ? (long)r : -1;
}

static long l_mapcycles(long cycles, long size)
{
	for (long i = 0; i < cycles; i++) {
		char *m = mmap(NULL, size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			return -errno;
		m[0] = m[size - 1] = 1;
		if (munmap(m, size) < 0)
			return -errno;
	}
	return cycles;
}

static long l_map_at(long addr, long len)
{
	void *m = mmap((void *)addr, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	return m == MAP_FAILED ? -errno : (long)m;
}

static long l_where(long what)
{
	long r = 0;
	void *p;

	switch (what) {
	case W_SMALL:
	case W_LARGE:
		p = malloc(what == W_SMALL ? 64 : 1 << 20);
		r = (long)p;
		free(p);
		break;
	case W_ENV:
		r = (long)environ;
		break;
	case W_TLS:
		r = (long)&errno;
		break;
	case W_BRK:
		r = (long)sbrk(0);
		break;
	}
	return r;
}

static long l_format(long buf, long size, long x)
{
	return snprintf((char *)buf, size, "lower %ld %.3f", x, x / 4.0);
}

static void on_signal(int sig)
{
	(void)sig;
}

static long l_sigaction(long sig)
{
	struct sigaction sa = {.sa_handler = on_signal}, back;

	if (sigaction(sig, &sa, NULL) || sigaction(sig, NULL, &back))
		return -errno;
	return back.sa_handler == on_signal;
}

static long l_shm(long size)
{
	int id = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600);
	char *p;

	if (id < 0)
		return -errno;
	p = shmat(id, NULL, 0);
	shmctl(id, IPC_RMID, NULL);
	if (p == (void *)-1)
		return -errno;
	p[0] = p[size - 1] = 1;
	if (shmdt(p) < 0)
		return -errno;
	return (long)p;
}

static long l_mremap(long size)
{
	char *m = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *g;
	long r;

	if (m == MAP_FAILED)
		return -errno;
	m[0] = 42;
	g = mremap(m, size, 4 * size, MREMAP_MAYMOVE);
	if (g == MAP_FAILED)
		return -errno;
	g[4 * size - 1] = 1;
	r = g[0] == 42 ? (long)g : -EIO;
	if (mremap(g, 4 * size, size, 0) != g || munmap(g, size) < 0)
		return -errno;
	return r;
}

static long l_brk0(long n)
{
	long r = 0;

	for (long i = 0; i < n; i++)
		r |= syscall(SYS_brk, 0) <= 0;
	return r ? -1 : n;
}

int main(int argc, char **argv)
{
	static void *table[L_NFUNCS] = {
		[L_ADD] = l_add,
		[L_NOP] = l_nop,
		[L_CHURN] = l_churn,
		[L_THREAD] = l_thread,
		[L_MAPCYCLES] = l_mapcycles,
		[L_MAP_AT] = l_map_at,
		[L_WHERE] = l_where,
		[L_FORMAT] = l_format,
		[L_SIGACTION] = l_sigaction,
		[L_SHM] = l_shm,
		[L_MREMAP] = l_mremap,
		[L_BRK0] = l_brk0,
	};
	void (*handoff)(void *const *, long);

	if (argc < 2) {
		fprintf(stderr, "%s: the lower half of tests/split; run by "
				"split_test, not by hand\n",
			argv[0]);
		return 2;
	}
	if (argc > 2 && !strcmp(argv[2], "exit"))
		exit(3);
	handoff = (void (*)(void *const *, long))strtoul(argv[1], NULL, 16);
	handoff(table, L_NFUNCS);
	return 1; /* not reached */
}
