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
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
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

/* --- /proc/self/maps, read without touching the heap ------------------ */

#define MAX_MAPS 4096

struct mapping {
	unsigned long start, end;
	char path[160];
};

struct maps {
	int n;
	struct mapping m[MAX_MAPS];
};

static char maps_buf[1 << 20];

static int read_maps(struct maps *mp)
{
	int fd = open("/proc/self/maps", O_RDONLY);
	size_t len = 0;
	ssize_t r;
	char *line, *nl;

	if (fd < 0)
		return -1;
	while ((r = read(fd, maps_buf + len, sizeof(maps_buf) - 1 - len)) > 0)
		len += r;
	close(fd);
	maps_buf[len] = 0;
	mp->n = 0;
	for (line = maps_buf; *line && mp->n < MAX_MAPS; line = nl + 1) {
		struct mapping *m = &mp->m[mp->n++];
		int pos = 0;
		nl = strchr(line, '\n');
		if (!nl)
			break;
		*nl = 0;
		m->path[0] = 0;
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &m->start,
			   &m->end, &pos) < 2)
			return -1;
		if (pos)
			snprintf(m->path, sizeof(m->path), "%s", line + pos);
	}
	return 0;
}

static int in_window(unsigned long a, unsigned long b)
{
	return split_in_window(a, b - a);
}

/* Every part of AFTER's mappings that BEFORE did not cover must lie in the
 * window; so must every mapping of a file only the lower half uses. */
static int maps_confined(const struct maps *before, const struct maps *after,
			 const char *lower_path)
{
	int bad = 0;

	for (int i = 0; i < after->n; i++) {
		const struct mapping *m = &after->m[i];
		unsigned long a = m->start;
		for (int j = 0; j < before->n && a < m->end; j++) {
			const struct mapping *o = &before->m[j];
			if (o->end <= a || o->start >= m->end)
				continue;
			if (o->start > a && !in_window(a, o->start)) {
				printf("    new, outside the window: %lx-%lx %s\n",
				       a, o->start, m->path);
				bad = 1;
			}
			a = o->end;
		}
		if (a < m->end && !in_window(a, m->end)) {
			printf("    new, outside the window: %lx-%lx %s\n", a,
			       m->end, m->path);
			bad = 1;
		}
		if (!strcmp(m->path, lower_path) &&
		    !in_window(m->start, m->end)) {
			printf("    the helper outside the window: %lx-%lx\n",
			       m->start, m->end);
			bad = 1;
		}
	}
	return !bad;
}

/* Does the window hold a mapping of a file whose name contains NAME? */
static int window_has(const struct maps *mp, const char *name)
{
	for (int i = 0; i < mp->n; i++)
		if (strstr(mp->m[i].path, name) &&
		    in_window(mp->m[i].start, mp->m[i].end))
			return 1;
	return 0;
}

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
				"missing LOWER\n");
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
	fprintf(stderr, "split_test: unknown mode %s\n", argv[1]);
	return 2;
}
