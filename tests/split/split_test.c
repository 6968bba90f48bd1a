/*
 * The upper half of the split tests: loads tests/split/lower.c into the
 * window and checks it from outside. One mode per run (a process loads one
 * lower half, and confinement is permanent):
 *
 *   split_test load LOWER     calls, lower malloc and threads, confinement
 *                             (every new mapping inside the window), and
 *                             the upper half still working afterwards
 *   split_test cycles LOWER   1024 x 64 MiB mmap/munmap in the lower half:
 *                             the window must not run out or leak
 *   split_test bench LOWER    the cost of a crossing, printed
 *   split_test exit LOWER     a helper that exits before its hand-off
 *   split_test missing PATH   a helper that does not exist
 *   split_test cross LOWER    calls with twelve arguments through
 *                             split_enter/split_leave; canary, pointer
 *                             guard and errno across the crossing
 *   split_test threads LOWER  several upper threads, each with its own
 *                             lower thread pointer, one at a time and at
 *                             once; released when they exit
 *   split_test signals LOWER  the lower half's SIGUSR2 handler and the
 *                             application's SIGUSR1/SIGHUP handlers, in
 *                             and out of lower calls, each with its own
 *                             thread pointer
 *   split_test fds LOWER      the lower half's descriptors, tracked
 *   split_test notpie|notelf|nolib PATH
 *                             helpers that cannot load
 *
 * Prints "PASS split/MODE/NAME" or "FAIL split/MODE/NAME: why" per check,
 * and "info split/NAME: ..." for measurements; exits 1 if anything failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "lower.h"
#include "split/split.h"

static int failures;
static const char *mode; /* names the checks: split/MODE/NAME */

static __attribute__((format(printf, 2, 3))) void check(int ok,
							 const char *fmt, ...)
{
	va_list ap;

	printf("%s split/%s/", ok ? "PASS" : "FAIL", mode);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	failures += !ok;
}

#include "maps.h"

/* --- the checks ---------------------------------------------------------- */

static void *F[L_NFUNCS];

static int load(const char *lower, const char *const *args)
{
	long n = split_load(lower, args);

	if (n < 0) {
		check(0, "handoff: %s", split_error());
		return -1;
	}
	check(n == L_NFUNCS, "handoff: the helper handed over %ld functions",
	      n);
	for (int i = 0; i < L_NFUNCS; i++)
		F[i] = split_fn(i);
	return n == L_NFUNCS ? 0 : -1;
}

static __thread int upper_tls = 5;
static void *upper_thread(void *arg)
{
	char *big = malloc(8 << 20);
	long r;

	if (!big)
		return NULL;
	memset(big, 3, 8 << 20);
	r = (long)arg + upper_tls + big[1 << 20];
	free(big);
	return (void *)r;
}

/* The application's own libc after all that: malloc, stdio, threads,
 * TLS, and its signal disposition. */
static void check_upper(void (*usr1)(int))
{
	char buf[64], *small = malloc(24), *large = malloc(64 << 20);
	struct sigaction sa;
	pthread_t t;
	void *r = NULL;
	int ok;

	ok = small && large;
	if (ok) {
		memset(large, 9, 64 << 20);
		ok = large[(64 << 20) - 1] == 9;
	}
	free(small);
	free(large);
	check(ok, "upper-malloc: the upper half's malloc still works");
	snprintf(buf, sizeof(buf), "%d %.2f %s", 42, 2.5, "upper");
	check(!strcmp(buf, "42 2.50 upper"),
	      "upper-stdio: the upper half's printf still works");
	ok = !pthread_create(&t, NULL, upper_thread, (void *)100) &&
	     !pthread_join(t, &r) && (long)r == 108 && upper_tls == 5;
	check(ok, "upper-thread: the upper half's threads and TLS still work "
		  "(got %ld)",
	      (long)r);
	ok = !sigaction(SIGUSR1, NULL, &sa) && sa.sa_handler == usr1;
	check(ok, "upper-signals: the lower half's sigaction left the "
		  "application's handler alone");
}

static volatile sig_atomic_t usr1_seen;
static void on_usr1(int sig)
{
	usr1_seen = sig;
}

static int mode_load(const char *lower)
{
	static struct maps before, after;
	struct sigaction sa = {.sa_handler = on_usr1};
	struct split_stats s0, s1;
	char buf[64];
	long r, w[W_NWHERE];
	void *robust[2] = {0}, *tidaddr[2] = {0};
	size_t robust_len[2] = {0};
	int ok;

	sigaction(SIGUSR1, &sa, NULL);
	/* warm up what the checks themselves use, so that the upper half
	 * maps nothing new between the two snapshots */
	printf("info split/helper: %s\n", lower);
	fflush(stdout);
	if (read_maps(&before) < 0) {
		check(0, "maps: cannot read /proc/self/maps");
		return 1;
	}
	syscall(SYS_get_robust_list, 0, &robust[0], &robust_len[0]);
	prctl(PR_GET_TID_ADDRESS, &tidaddr[0]);
	if (load(lower, NULL) < 0)
		return 1;
	syscall(SYS_get_robust_list, 0, &robust[1], &robust_len[1]);
	prctl(PR_GET_TID_ADDRESS, &tidaddr[1]);
	check(robust[0] && robust[0] == robust[1] &&
		      robust_len[0] == robust_len[1],
	      "robust-list: this thread's robust futex list is its own again "
	      "(%p, was %p)",
	      robust[1], robust[0]);
	check(tidaddr[0] && tidaddr[0] == tidaddr[1],
	      "tid-address: this thread's TID address is its own again (%p, "
	      "was %p)",
	      tidaddr[1], tidaddr[0]);

	r = split_call3(F[L_ADD], 6, 7, 30);
	check(r == 72, "call: add(6, 7, 30) = %ld in the lower half", r);
	r = split_call3(F[L_FORMAT], buf, sizeof(buf), 10);
	check(r == 14 && !strcmp(buf, "lower 10 2.500"),
	      "call-stdio: the lower half's snprintf wrote \"%.*s\"", 20,
	      buf);

	split_stats(&s0);
	r = split_call2(F[L_CHURN], 100l << 20, 12345);
	split_stats(&s1);
	check(r > 0, "lower-malloc: 100 MiB in %ld pieces of mixed sizes, "
		     "allocated, checked, freed",
	      r);
	check(s1.trapped[SPLIT_BRK] > s0.trapped[SPLIT_BRK] &&
		      s1.trapped[SPLIT_MMAP] > s0.trapped[SPLIT_MMAP] &&
		      s1.trapped[SPLIT_MUNMAP] > s0.trapped[SPLIT_MUNMAP],
	      "lower-malloc-traps: it went through the emulated brk (%lu) "
	      "and mmap (%lu) / munmap (%lu)",
	      (unsigned long)(s1.trapped[SPLIT_BRK] - s0.trapped[SPLIT_BRK]),
	      (unsigned long)(s1.trapped[SPLIT_MMAP] - s0.trapped[SPLIT_MMAP]),
	      (unsigned long)(s1.trapped[SPLIT_MUNMAP] -
			      s0.trapped[SPLIT_MUNMAP]));

	r = split_call1(F[L_THREAD], 20);
	check(r == 41, "lower-thread: a lower-half pthread ran and was joined "
		       "(got %ld)",
	      r);

	ok = 1;
	for (int i = 0; i < W_NWHERE; i++) {
		w[i] = split_call1(F[L_WHERE], i);
		ok &= in_window(w[i], w[i] + 1);
	}
	check(ok, "lower-addresses: small and large malloc, environment, TLS "
		  "and break (%lx %lx %lx %lx %lx) are in the window",
	      w[W_SMALL], w[W_LARGE], w[W_ENV], w[W_TLS], w[W_BRK]);

	{
		/* a free spot outside the window, for the lower half to try */
		void *out = mmap(NULL, 1 << 20, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		munmap(out, 1 << 20);
		split_stats(&s0);
		r = split_call2(F[L_MAP_AT], out, 1 << 20);
		split_stats(&s1);
		ok = r == -EPERM && s1.refused == s0.refused + 1 &&
		     msync(out, 4096, MS_ASYNC) < 0 && errno == ENOMEM;
		check(ok, "confine-fixed: MAP_FIXED outside the window refused "
			  "(%ld) and nothing mapped there",
		      r);
		r = split_call2(F[L_MAP_AT], SPLIT_WINDOW_BASE +
						     SPLIT_WINDOW_SIZE - (1 << 20),
				1 << 20);
		check(r == (long)(SPLIT_WINDOW_BASE + SPLIT_WINDOW_SIZE -
				  (1 << 20)),
		      "confine-fixed-inside: MAP_FIXED inside the window "
		      "allowed (%lx)",
		      r);
	}

	r = split_call1(F[L_SHM], 3 << 20);
	check(in_window(r, r + (3 << 20)),
	      "lower-shm: a SysV segment attached inside the window (%lx)", r);
	r = split_call1(F[L_MREMAP], 8 << 20);
	check(in_window(r, r + (32 << 20)),
	      "lower-mremap: a grown mapping moved inside the window (%lx)",
	      r);
	r = split_call1(F[L_SIGACTION], SIGUSR1);
	check(r == 1, "lower-sigaction: the lower half reads back its own "
		      "handler (%ld)",
	      r);

	if (read_maps(&after) < 0) {
		check(0, "maps: cannot read /proc/self/maps");
		return 1;
	}
	check(maps_confined(&before, &after, lower),
	      "maps-confined: every mapping made since loading is inside the "
	      "window");
	check(window_has(&after, "ld-linux-x86-64") &&
		      window_has(&after, "libc.so.6") &&
		      window_has(&after, lower),
	      "maps-lower: the window holds the second loader, the second "
	      "libc and the helper");

	check_upper(on_usr1);
	raise(SIGUSR1);
	check(usr1_seen == SIGUSR1,
	      "upper-signal-delivery: SIGUSR1 reaches the application's "
	      "handler");
	r = split_call3(F[L_ADD], 2, 3, 4);
	check(r == 10, "call-again: the lower half still answers (%ld)", r);
	return failures != 0;
}

static int mode_cycles(const char *lower)
{
	struct split_stats s0, s1;
	long r;

	if (load(lower, NULL) < 0)
		return 1;
	split_stats(&s0);
	r = split_call2(F[L_MAPCYCLES], 1024, 64l << 20);
	split_stats(&s1);
	check(r == 1024, "mmap-cycles: 1024 x 64 MiB mmap/munmap in the lower "
			 "half (%ld done)",
	      r);
	check(s1.window_free == s0.window_free,
	      "mmap-cycles-no-leak: the window's free space is back to %lu "
	      "MiB (now %lu MiB)",
	      (unsigned long)(s0.window_free >> 20),
	      (unsigned long)(s1.window_free >> 20));
	return failures != 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int mode_bench(const char *lower)
{
	enum { N = 20000 };
	struct split_stats s0, s1;
	double t;
	long bad = 0;

	if (load(lower, NULL) < 0)
		return 1;
	split_stats(&s0);
	t = now();
	for (int i = 0; i < N; i++)
		bad |= split_call0(F[L_NOP]);
	t = now() - t;
	split_stats(&s1);
	printf("info split/crossing: %.0f ns per call into the lower half "
	       "and back (%d calls, FS switch by %s)\n",
	       t / N * 1e9, N, s1.fsgsbase ? "wrfsbase" : "arch_prctl");
	check(!bad && s1.crossings - s0.crossings == N,
	      "crossing-count: %lu crossings counted for %d calls",
	      (unsigned long)(s1.crossings - s0.crossings), N);
	/* wrfsbase exactly when the kernel says user space may use it */
	check(s1.fsgsbase == !!(getauxval(AT_HWCAP2) & (1ul << 1)),
	      "fs-switch: %s, as AT_HWCAP2's FSGSBASE bit (%s) says",
	      s1.fsgsbase ? "wrfsbase" : "arch_prctl",
	      getauxval(AT_HWCAP2) & (1ul << 1) ? "set" : "clear");

	t = now();
	for (int i = 0; i < N; i++)
		getppid();
	t = now() - t;
	printf("info split/syscall: %.0f ns per getppid() in the upper half, "
	       "under the filter\n",
	       t / N * 1e9);

	split_stats(&s0);
	t = now();
	bad = split_call1(F[L_BRK0], N) != N;
	t = now() - t;
	split_stats(&s1);
	printf("info split/trapped-brk0: %.0f ns per trapped brk(0) in the lower "
	       "half (%lu trapped)\n",
	       t / N * 1e9,
	       (unsigned long)(s1.trapped[SPLIT_BRK] - s0.trapped[SPLIT_BRK]));
	check(!bad && s1.trapped[SPLIT_BRK] - s0.trapped[SPLIT_BRK] == N,
	      "trap-count: %d raw brk calls from the lower half, all trapped",
	      N);

	t = now();
	for (int i = 0; i < N / 10; i++) {
		char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		m[0] = m[4095] = 1;
		munmap(m, 4096);
	}
	t = now() - t;
	printf("info split/untrapped: %.0f ns per mmap or munmap (with a page "
	       "touched) in the upper half\n",
	       t / (N / 10 * 2) * 1e9);

	split_stats(&s0);
	t = now();
	split_call2(F[L_MAPCYCLES], N / 10, 4096);
	t = now() - t;
	split_stats(&s1);
	printf("info split/trapped: %.0f ns per trapped mmap or munmap in the "
	       "lower half (%lu trapped)\n",
	       t / (N / 10 * 2) * 1e9,
	       (unsigned long)(s1.trapped[SPLIT_MMAP] - s0.trapped[SPLIT_MMAP] +
			       s1.trapped[SPLIT_MUNMAP] -
			       s0.trapped[SPLIT_MUNMAP]));
	printf("info split/crossings-total: %lu\n",
	       (unsigned long)s1.crossings);
	return failures != 0;
}

static int mode_exit(const char *lower)
{
	static const char *const args[] = {"exit", NULL};
	long n = split_load(lower, args);
	char buf[32];

	check(n < 0 && strstr(split_error(), "exited with status 3"),
	      "helper-exits: split_load reports the helper's exit (%s)",
	      split_error());
	snprintf(buf, sizeof(buf), "%d", 7);
	check(!strcmp(buf, "7"), "upper-goes-on: the upper half goes on");
	return failures != 0;
}


/* --- crossings with any signature ----------------------------------------- */

static long many_expected(long a, long b, long c, long d, long e, long f,
			  double x, long g, double y, long h, long i, long j)
{
	return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + (long)(x * 7) +
	       8 * g + (long)(y * 9) + 10 * h + 11 * i + 12 * j;
}

static __thread long upper_tls_word = 11;

static int mode_cross(const char *lower)
{
	enum { N = 20000 };
	l_many_fn many;
	struct split_stats s0, s1;
	uintptr_t up[2], low[2];
	split_token t;
	long r, want, *lerr;
	double t0;
	int e;

	if (load(lower, NULL) < 0)
		return 1;
	many = (l_many_fn)F[L_MANY];
	split_stats(&s0);
	t = split_enter();
	r = many(1, 2, 3, 4, 5, 6, 1.5, 8, 2.5, 10, 11, -12);
	split_leave(t);
	split_stats(&s1);
	want = many_expected(1, 2, 3, 4, 5, 6, 1.5, 8, 2.5, 10, 11, -12);
	check(r == want && s1.crossings - s0.crossings == 1,
	      "twelve-args: a lower function with twelve arguments (two "
	      "doubles, six on the stack) = %ld (expected %ld), one crossing",
	      r, want);

	/* both libcs read the same canary and pointer guard: AT_RANDOM */
	__asm__ volatile("movq %%fs:0x28, %0" : "=r"(up[0]));
	__asm__ volatile("movq %%fs:0x30, %0" : "=r"(up[1]));
	split_call1(F[L_GUARDS], low);
	check(up[0] && up[0] == low[0],
	      "canary: the lower TCB's stack canary is the upper one's (%#lx, "
	      "%#lx)",
	      (unsigned long)low[0], (unsigned long)up[0]);
	check(up[1] && up[1] == low[1],
	      "pointer-guard: the lower TCB's pointer guard is the upper "
	      "one's");

	/* the crossing leaves the upper errno and TLS alone */
	errno = 77;
	upper_tls_word = 12;
	t = split_enter();
	lerr = (long *)((long (*)(long))F[L_ERRNO])(1234);
	split_leave(t);
	e = errno;
	check(e == 77 && upper_tls_word == 12 &&
		      split_in_window((uintptr_t)lerr, 1) &&
		      (int *)lerr != &errno,
	      "errno: the lower half set its errno (at %p, in the window), "
	      "the upper errno is still %d",
	      (void *)lerr, e);

	t0 = now();
	for (int i = 0; i < N; i++) {
		t = split_enter();
		r = ((long (*)(void))F[L_NOP])();
		split_leave(t);
	}
	t0 = now() - t0;
	printf("info split/cross-inline: %.0f ns per split_enter + call + "
	       "split_leave\n",
	       t0 / N * 1e9);
	return failures != 0;
}

/* --- several upper threads ------------------------------------------------ */

static pthread_mutex_t serial = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t all_called; /* all alive: their TCBs differ */
static uintptr_t thread_tps[8];
static long thread_seen[8];
static volatile int concurrent_bad;

static void *serial_thread(void *arg)
{
	long i = (long)arg;

	pthread_mutex_lock(&serial); /* MPI_THREAD_SERIALIZED: one at a time */
	thread_tps[i] = split_call0(F[L_TP]);
	/* a fresh lower TLS (the variable's initial value is -1), its own */
	thread_seen[i] = split_call1(F[L_TLS], 1000 + i);
	if (split_call1(F[L_TLS], 2000 + i) != 1000 + i ||
	    split_thread_lower_tp() != thread_tps[i])
		thread_seen[i] = -2;
	pthread_mutex_unlock(&serial);
	pthread_barrier_wait(&all_called);
	return NULL;
}

static void *concurrent_thread(void *arg)
{
	long me = (long)arg * 1000000;

	for (long k = 0; k < 5000; k++)
		if (split_call1(F[L_TLS], me + k) != (k ? me + k - 1 : -1))
			concurrent_bad++;
	return NULL;
}

static int count_tasks(void)
{
	char buf[4096];
	int fd = open("/proc/self/status", O_RDONLY), n = -1;
	ssize_t len;
	char *p;

	if (fd < 0)
		return -1;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[len > 0 ? len : 0] = 0;
	p = strstr(buf, "Threads:");
	if (p)
		n = atoi(p + 8);
	return n;
}

static int mode_threads(const char *lower)
{
	enum { T = 4 };
	pthread_t t[T];
	struct split_stats st;
	uintptr_t main_tp;
	int ok, distinct = 1, tasks0, tasks1 = -1;

	if (load(lower, NULL) < 0)
		return 1;
	main_tp = split_call0(F[L_TP]);
	split_call1(F[L_TLS], 100);
	tasks0 = count_tasks();
	pthread_barrier_init(&all_called, NULL, T);
	for (long i = 0; i < T; i++)
		pthread_create(&t[i], NULL, serial_thread, (void *)i);
	for (int i = 0; i < T; i++)
		pthread_join(t[i], NULL);
	ok = 1;
	for (int i = 0; i < T; i++) {
		ok &= thread_seen[i] == -1 && split_in_window(thread_tps[i], 1);
		distinct &= thread_tps[i] != main_tp;
		for (int j = 0; j < i; j++)
			distinct &= thread_tps[i] != thread_tps[j];
	}
	check(ok && distinct,
	      "serialized: %d upper threads, one at a time, each with its own "
	      "lower thread pointer and lower TLS (%#lx %#lx ...; main %#lx)",
	      T, (unsigned long)thread_tps[0], (unsigned long)thread_tps[1],
	      (unsigned long)main_tp);
	check(split_call1(F[L_TLS], 0) == 100,
	      "loader-tls: the loading thread's lower TLS is untouched");

	for (long i = 0; i < T; i++)
		pthread_create(&t[i], NULL, concurrent_thread, (void *)(i + 1));
	for (int i = 0; i < T; i++)
		pthread_join(t[i], NULL);
	check(!concurrent_bad, "concurrent: %d threads crossing at once, "
			       "5000 times each, never saw another's lower "
			       "TLS (%d mismatches)",
	      T, concurrent_bad);

	/* exited upper threads release their parked lower threads */
	for (int i = 0; i < 100 && (tasks1 = count_tasks()) != tasks0; i++)
		usleep(10000);
	split_stats(&st);
	check(st.threads == 1 && tasks1 == tasks0,
	      "released: after the threads exit, %ld paired thread(s) and "
	      "%d kernel threads (%d before)",
	      st.threads, tasks1, tasks0);
	return failures != 0;
}

/* --- signals ------------------------------------------------------------ */

static uintptr_t main_upper_tp;
static volatile int app_hits, app_bad_tp, app_inside, hup_hits;
static __thread int app_tls;

static void on_app_signal(int sig, siginfo_t *si, void *uc)
{
	greg_t *g = ((ucontext_t *)uc)->uc_mcontext.gregs;

	if (split_get_tp() != main_upper_tp)
		app_bad_tp++;
	app_tls++; /* the upper TLS: wrong memory if FS were the lower's */
	if (split_in_window(g[REG_RIP], 1))
		app_inside++;
	if (sig == SIGHUP)
		hup_hits++;
	else
		app_hits++;
}

struct shot {
	pthread_t to;
	int sig, delay_ms;
};

static void *shooter(void *arg)
{
	struct shot *s = arg;

	usleep(s->delay_ms * 1000);
	pthread_kill(s->to, s->sig);
	return NULL;
}

static volatile int app_segv;
static char *volatile app_page;

static void on_app_segv(int sig, siginfo_t *si, void *uc)
{
	/* unprotect whatever page faulted, so that a fault routed to the
	 * wrong half fails the check instead of recurring for ever */
	app_segv++;
	mprotect((void *)((uintptr_t)si->si_addr & ~4095ul), 4096,
		 PROT_READ | PROT_WRITE);
}

/* Spin MS inside the lower half while another thread sends SIG here. */
static void signal_while_inside(int sig, int ms)
{
	struct shot s = {pthread_self(), sig, ms / 3};
	pthread_t t;

	pthread_create(&t, NULL, shooter, &s);
	split_call1(F[L_SPIN], ms);
	pthread_join(t, NULL);
}

static void *idle_thread(void *arg)
{
	usleep(300000);
	return NULL;
}

static int mode_signals(const char *lower)
{
	struct sigaction sa = {.sa_sigaction = on_app_signal,
			       .sa_flags = SA_SIGINFO | SA_RESTART}, back;
	struct split_stats st;
	uintptr_t tp = 0, lower_tp;
	pthread_t idle;
	long n, tid;

	/* one application handler from before the lower half, one after */
	sigaction(SIGUSR1, &sa, NULL);
	main_upper_tp = split_get_tp();
	if (load(lower, NULL) < 0)
		return 1;
	sigaction(SIGHUP, &sa, NULL);
	lower_tp = split_thread_lower_tp();
	check(split_call0(F[L_SIGUSR2]) == 1,
	      "lower-installs: the lower half installs its SIGUSR2 handler");

	raise(SIGUSR2);
	n = split_call1(F[L_SIGCOUNT], &tp);
	check(n == 1 && tp == lower_tp,
	      "lower-while-upper: SIGUSR2 raised in the upper half ran the "
	      "lower handler (%ld) with this thread's lower thread pointer "
	      "(%#lx)",
	      n, (unsigned long)tp);

	signal_while_inside(SIGUSR2, 300);
	n = split_call1(F[L_SIGCOUNT], &tp);
	check(n == 2 && tp == lower_tp,
	      "lower-while-lower: SIGUSR2 during a lower call ran the lower "
	      "handler (%ld)",
	      n);

	signal_while_inside(SIGUSR1, 300);
	check(app_hits == 1 && !app_bad_tp && app_tls == 1 && app_inside == 1,
	      "app-while-lower: SIGUSR1 during a lower call ran the "
	      "application's handler (%d) with the upper thread pointer (%d "
	      "wrong) and TLS (%d), interrupting lower code (%d)",
	      app_hits, app_bad_tp, app_tls, app_inside);
	signal_while_inside(SIGHUP, 300);
	check(hup_hits == 1 && !app_bad_tp && app_tls == 2 && app_inside == 2,
	      "app-after-load: a handler the application set after loading "
	      "(SIGHUP) runs the same way (%d)",
	      hup_hits);
	raise(SIGUSR1);
	check(app_hits == 2 && !app_bad_tp && app_inside == 2,
	      "app-while-upper: SIGUSR1 in the upper half runs the "
	      "application's handler (%d)",
	      app_hits);

	/* a thread that never crossed borrows the loading thread's TCB */
	pthread_create(&idle, NULL, idle_thread, NULL);
	usleep(50000);
	pthread_kill(idle, SIGUSR2);
	pthread_join(idle, NULL);
	n = split_call1(F[L_SIGCOUNT], &tp);
	check(n == 3 && tp == lower_tp,
	      "lower-on-new-thread: SIGUSR2 to a thread that never crossed "
	      "ran the lower handler (%ld)",
	      n);

	/* a lower-only thread (UCX's progress thread, say) cannot run the
	 * application's handler: the loading thread gets it instead */
	tid = split_call1(F[L_LTHREAD], 300);
	usleep(50000);
	syscall(SYS_tgkill, getpid(), tid, SIGUSR1);
	for (int i = 0; i < 100 && app_hits < 3; i++)
		usleep(10000);
	split_stats(&st);
	check(tid > 0 && app_hits == 3 && !app_bad_tp &&
		      st.signals_forwarded == 1,
	      "app-on-lower-thread: SIGUSR1 to a lower-only thread (%ld) was "
	      "sent on to the loading thread, whose handler ran with its "
	      "upper thread pointer (%d, %lu forwarded)",
	      tid, app_hits, (unsigned long)st.signals_forwarded);

	/* both halves handle SIGSEGV: a fault goes to the half that faulted */
	sa.sa_sigaction = on_app_segv;
	sigaction(SIGSEGV, &sa, NULL);
	sa.sa_sigaction = on_app_signal;
	n = split_call1(F[L_FAULT], 0);
	n = n == 1 ? split_call1(F[L_FAULT], 1) : -1;
	app_page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	*(volatile char *)app_page = 1;
	check(n == 1 && app_segv == 1,
	      "faults: a fault in lower code ran the lower SIGSEGV handler "
	      "(%ld), one in upper code the application's (%d)",
	      n, app_segv);

	check(!sigaction(SIGUSR1, NULL, &back) &&
		      back.sa_sigaction == on_app_signal &&
		      !sigaction(SIGUSR2, NULL, &back) &&
		      back.sa_handler == SIG_DFL &&
		      split_call1(F[L_SIGACTION], SIGTERM) == 1,
	      "read-back: each half reads back its own dispositions");
	split_stats(&st);
	check(st.signals_lower == 4 && st.signals_upper == 5,
	      "counts: %lu lower and %lu upper handler runs",
	      (unsigned long)st.signals_lower,
	      (unsigned long)st.signals_upper);
	return failures != 0;
}

/* --- descriptors ---------------------------------------------------------- */

static int mode_fds(const char *lower)
{
	static unsigned char before[MAX_FDS / 8], now[MAX_FDS / 8];
	int o[16], list[64], n, nl, ok = 1, all_listed = 1, upper_fd;

	read_fds(before);
	if (load(lower, NULL) < 0)
		return 1;
	n = (int)split_call1(F[L_FDS], o);
	check(n == L_FDS_OPEN + 2, "calls: the lower half opened %d "
				   "descriptors of nine kinds",
	      n);
	if (n != L_FDS_OPEN + 2)
		return 1;
	for (int i = 0; i < L_FDS_OPEN; i++)
		ok &= split_is_lower_fd(o[i]);
	check(ok, "marked: pipe, socketpair, eventfd, epoll, open, dup, dup2 "
		  "(%d), F_DUPFD (%d) are lower descriptors",
	      o[8], o[9]);
	check(!split_is_lower_fd(o[10]) && !split_is_lower_fd(o[11]),
	      "closed: the two it closed again are not (%d, %d)", o[10],
	      o[11]);
	upper_fd = open("/dev/null", O_RDONLY);
	check(upper_fd >= 0 && !split_is_lower_fd(upper_fd),
	      "upper: a descriptor the application opens (%d) is not",
	      upper_fd);
	{
		/* the application's own descriptor calls are not trapped (the
		 * filter tests the instruction pointer for these), and what
		 * they make is not the lower half's */
		struct split_stats s0, s1;
		int d1, d2;

		split_stats(&s0);
		d1 = fcntl(upper_fd, F_DUPFD_CLOEXEC, 400);
		d2 = dup(upper_fd);
		close(d2);
		split_stats(&s1);
		check(d1 >= 400 && d2 >= 0 && !split_is_lower_fd(d1) &&
			      s1.trapped[SPLIT_FD] == s0.trapped[SPLIT_FD],
		      "upper-untrapped: the application's F_DUPFD (%d), dup "
		      "and close are not trapped (%lu trapped)",
		      d1, (unsigned long)(s1.trapped[SPLIT_FD] - s0.trapped[SPLIT_FD]));
		close(d1);
	}
	nl = split_lower_fds(list, 64);
	read_fds(now);
	for (int i = 0; i < L_FDS_OPEN; i++) {
		int found = 0;
		for (int j = 0; j < nl && j < 64; j++)
			found |= list[j] == o[i];
		all_listed &= found;
	}
	ok = 1;
	for (int j = 0; j < nl && j < 64; j++)
		ok &= fd_is_set(now, list[j]) && !fd_is_set(before, list[j]);
	check(all_listed && ok && nl == L_FDS_OPEN,
	      "list: split_lower_fds lists exactly these %d, all open, none "
	      "the application's (%d listed)",
	      L_FDS_OPEN, nl);
	close(upper_fd);
	return failures != 0;
}

/* --- helpers that cannot load --------------------------------------------- */

static int mode_bad(const char *path, const char *want)
{
	long n = split_load(path, NULL);
	char buf[32];

	check(n < 0 && strstr(split_error(), want),
	      "refused: split_load fails with \"%s\" (%s)", want,
	      split_error());
	snprintf(buf, sizeof(buf), "%d", 7);
	check(!strcmp(buf, "7"), "upper-goes-on: the upper half goes on");
	return failures != 0;
}

static int mode_missing(const char *path)
{
	long n = split_load(path, NULL);

	check(n < 0 && strstr(split_error(), path) &&
		      strstr(split_error(), "No such file"),
	      "named: split_load names the missing helper (%s)",
	      split_error());
	return failures != 0;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: split_test load|cycles|bench|exit|"
				"missing|cross|threads|signals|fds|notpie|"
				"notelf|nolib LOWER\n");
		return 2;
	}
	mode = argv[1];
	if (!strcmp(argv[1], "load"))
		return mode_load(argv[2]);
	if (!strcmp(argv[1], "cycles"))
		return mode_cycles(argv[2]);
	if (!strcmp(argv[1], "bench"))
		return mode_bench(argv[2]);
	if (!strcmp(argv[1], "exit"))
		return mode_exit(argv[2]);
	if (!strcmp(argv[1], "missing"))
		return mode_missing(argv[2]);
	if (!strcmp(argv[1], "cross"))
		return mode_cross(argv[2]);
	if (!strcmp(argv[1], "threads"))
		return mode_threads(argv[2]);
	if (!strcmp(argv[1], "signals"))
		return mode_signals(argv[2]);
	if (!strcmp(argv[1], "fds"))
		return mode_fds(argv[2]);
	if (!strcmp(argv[1], "notpie"))
		return mode_bad(argv[2], "not position-independent");
	if (!strcmp(argv[1], "notelf"))
		return mode_bad(argv[2], "not an x86_64 ELF file");
	if (!strcmp(argv[1], "nolib"))
		return mode_bad(argv[2], "status 127");
	fprintf(stderr, "split_test: unknown mode %s\n", argv[1]);
	return 2;
}
