/*
 * The lower half of the split tests: a plain program linked against libc
 * and libpthread, loaded into the window by split_test.c. Its main hands
 * its table to the upper half (src/split/split.h); with the argument
 * "exit" it exits first instead, as a broken helper would.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lower.h"
#include "split/helper.h"

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

static long l_many(long a, long b, long c, long d, long e, long f, double x,
		   long g, double y, long h, long i, long j)
{
	return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + (long)(x * 7) +
	       8 * g + (long)(y * 9) + 10 * h + 11 * i + 12 * j;
}

/* The words of the TCB the stack protector and the pointer mangling read
 * (glibc x86_64: %fs:0x28, %fs:0x30). */
static long l_guards(long out)
{
	uintptr_t *o = (uintptr_t *)out;

	__asm__ volatile("movq %%fs:0x28, %0" : "=r"(o[0]));
	__asm__ volatile("movq %%fs:0x30, %0" : "=r"(o[1]));
	return 0;
}

static long l_errno(long v)
{
	errno = (int)v;
	return (long)&errno;
}

static long l_tp(void)
{
	uintptr_t tp;

	__asm__ volatile("movq %%fs:0, %0" : "=r"(tp));
	return (long)tp;
}

static __thread long tls_slot = -1;
static long l_tls(long v)
{
	long old = tls_slot;

	tls_slot = v;
	return old;
}

static volatile long usr2_count;
static volatile uintptr_t usr2_tp;
static __thread long usr2_tls; /* touched: it must be a lower TCB */
static void on_usr2(int sig)
{
	int saved = errno;

	usr2_tls++;
	usr2_tp = (uintptr_t)l_tp();
	usr2_count++;
	errno = saved;
}

static long l_sigusr2(void)
{
	struct sigaction sa = {.sa_handler = on_usr2, .sa_flags = SA_RESTART};

	return sigaction(SIGUSR2, &sa, NULL) < 0 ? -errno : 1;
}

static long l_sigcount(long tp_out)
{
	*(uintptr_t *)tp_out = usr2_tp;
	return usr2_count;
}

/* Mostly plain arithmetic, so that a signal finds the instruction pointer
 * in the helper's code rather than in the vDSO's clock_gettime. */
static long l_spin(long ms)
{
	struct timespec t0, t;
	volatile long spins = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		for (int i = 0; i < 200000; i++)
			spins++;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 +
			 (t.tv_nsec - t0.tv_nsec) / 1000000 <
		 ms);
	return spins;
}

static volatile int lthread_tid;

static void *lthread_main(void *arg)
{
	lthread_tid = (int)syscall(SYS_gettid);
	l_spin((long)arg);
	return NULL;
}

static long l_lthread(long ms)
{
	pthread_attr_t a;
	pthread_t t;

	lthread_tid = 0;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &a, lthread_main, (void *)ms))
		return -1;
	pthread_attr_destroy(&a);
	while (!lthread_tid)
		sched_yield();
	return lthread_tid;
}

static volatile long segv_count;
static char *segv_page;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	segv_count++;
	mprotect((void *)((uintptr_t)si->si_addr & ~4095ul), 4096,
		 PROT_READ | PROT_WRITE);
}

static long l_fault(long what)
{
	struct sigaction sa = {.sa_sigaction = on_segv, .sa_flags = SA_SIGINFO};

	if (what == 0)
		return sigaction(SIGSEGV, &sa, NULL) < 0 ? -errno : 1;
	segv_page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	if (segv_page == MAP_FAILED)
		return -errno;
	*(volatile char *)segv_page = 1; /* faults once, then goes on */
	munmap(segv_page, 4096);
	return segv_count;
}

static long l_fds(long out)
{
	int *o = (int *)out, p[2], sv[2], n = 0;

	if (pipe(p) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return -errno;
	o[n++] = p[0];
	o[n++] = p[1];
	o[n++] = sv[0];
	o[n++] = sv[1];
	o[n++] = eventfd(0, EFD_CLOEXEC);
	o[n++] = epoll_create1(EPOLL_CLOEXEC);
	o[n++] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	o[n++] = dup(o[6]);
	o[n++] = dup2(o[6], 200);
	o[n++] = fcntl(o[6], F_DUPFD_CLOEXEC, 300);
	/* two that are closed again */
	o[n++] = open("/dev/null", O_RDONLY);
	close(o[n - 1]);
	o[n++] = socket(AF_INET, SOCK_DGRAM, 0);
	close(o[n - 1]);
	for (int i = 0; i < n; i++)
		if (o[i] < 0)
			return -errno;
	return n;
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
		[L_MANY] = l_many,
		[L_GUARDS] = l_guards,
		[L_ERRNO] = l_errno,
		[L_TP] = l_tp,
		[L_TLS] = l_tls,
		[L_SIGUSR2] = l_sigusr2,
		[L_SIGCOUNT] = l_sigcount,
		[L_SPIN] = l_spin,
		[L_FDS] = l_fds,
		[L_LTHREAD] = l_lthread,
		[L_FAULT] = l_fault,
	};

	if (argc > 2 && !strcmp(argv[2], "exit"))
		exit(3);
	return split_helper_main(argc, argv, table, L_NFUNCS);
}
