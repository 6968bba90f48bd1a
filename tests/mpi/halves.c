/* Which half holds what, as the application sees it: an ordinary MPICH
 * program (not linked against cairn; cairn's extensions are looked up with
 * dlsym) that, after MPI_Init and traffic, checks
 *   - maps: with a split lower half (cairn_mpi_lower_window), no mapping
 *     outside the window belongs to the lower half: none of MPICH's own
 *     library, UCX, hwloc, the helper, /dev/shm; each mapping made since
 *     before MPI_Init lies in the window; the window holds MPICH;
 *   - fds: the lower half's descriptors include the inherited PMI_FD, and
 *     every descriptor opened since before MPI_Init is among them;
 *   - threads: every thread but the application's main one is one of
 *     the lower half's own (cairn_mpi_lower_tids), and only those;
 *   - callbacks: a user reduction op and an error handler, called by the
 *     lower half, run as the application's thread (its TLS, pthread_self);
 *   - signal: the application's SIGUSR1 handler runs while the rank waits
 *     in MPI_Recv (sent from another thread of the application);
 *   - cairn's signal: under cairn's runtime, sigaction(64) is refused (the
 *     runtime keeps it) and the lower half has set nothing for it;
 * and prints the 8-byte ping-pong half round trip and crossings per call.
 *
 *   halves [ITERS]      (under mpiexec, 2 ranks or more)
 *
 * Rank 0 prints "ok NAME: ..." or "FAIL NAME: ..." per check (the verdict
 * agreed by all ranks), "info ..." lines, and exits non-zero on a failure.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <mpi.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../lib/procmaps.h"

static int rank = -1, size, failures;
static pthread_t main_thread;
static unsigned long wbase, wsize; /* the split window, if any */
static int in_window(unsigned long a, unsigned long b)
{
	return wsize && a >= wbase && b <= wbase + wsize;
}

/* All ranks agree; rank 0 prints the verdict, a failing rank its detail. */
static void check(int ok, const char *name, const char *detail)
{
	int all = ok;
	MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
	if (!ok)
		printf("    rank %d: %s: %s\n", rank, name, detail);
	fflush(stdout);
	MPI_Barrier(MPI_COMM_WORLD);
	if (rank == 0)
		printf("%s %s: %s\n", all ? "ok" : "FAIL", name, all ? detail : "see the ranks' lines");
	fflush(stdout);
	failures += !all;
}

/* Lower-half code runs on the caller's stack: grow it before the first
 * snapshot so that its growth is not a new mapping. */
static __attribute__((noinline)) void grow_stack(void)
{
	volatile char pad[1 << 20];
	for (size_t i = 0; i < sizeof(pad); i += 4096)
		pad[i] = 1;
}

/* files only the lower half maps (MPICH's own libmpich, not cairn's) */
static int lower_only(const char *path)
{
	static const char *const names[] = { "libucp", "libucs", "libuct", "libucm",
					     "libhwloc", "cairn-mpi-lower", "/dev/shm" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strstr(path, names[i]))
			return 1;
	return strstr(path, "libmpich") && !strstr(path, "cairn-mpi");
}

static void check_maps(const struct maps *before)
{
	static struct maps after;
	char detail[1024] = "";
	int bad = 0, mpich_in = 0;

	if (read_maps(&after) < 0) {
		check(0, "maps", "cannot read /proc/self/maps");
		return;
	}
	for (int i = 0; i < after.n; i++) {
		const struct mapping *m = &after.m[i];
		unsigned long a = m->start;
		if (strstr(m->path, "libmpich") && !strstr(m->path, "cairn-mpi") &&
		    in_window(m->start, m->end))
			mpich_in = 1;
		if (lower_only(m->path) && !in_window(m->start, m->end)) {
			snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail),
				 " lower file outside: %lx-%lx %s;", m->start, m->end, m->path);
			bad = 1;
		}
		/* the parts of this mapping no earlier mapping covered; the
		 * upper half's brk heap and main stack may grow (the lower
		 * half's brk is a heap in the window) */
		if (!strcmp(m->path, "[heap]") || !strcmp(m->path, "[stack]"))
			continue;
		for (int j = 0; j < before->n && a < m->end; j++) {
			const struct mapping *o = &before->m[j];
			if (o->end <= a || o->start >= m->end)
				continue;
			if (o->start > a && !in_window(a, o->start)) {
				snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail),
					 " new outside: %lx-%lx %s;", a, o->start, m->path);
				bad = 1;
			}
			a = o->end;
		}
		if (a < m->end && !in_window(a, m->end)) {
			snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail),
				 " new outside: %lx-%lx %s;", a, m->end, m->path);
			bad = 1;
		}
	}
	if (!mpich_in) {
		snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail),
			 " MPICH's library is not in the window;");
		bad = 1;
	}
	check(!bad, "maps", bad ? detail : "after MPI_Init and traffic, nothing of the lower half "
					   "outside the window, every new mapping inside it");
}

/* The process's threads are the application's one (this main thread),
 * cairn's runtime's manager if it runs here (named cairn-manager), and
 * exactly those the lower half says are its own. */
static void check_threads(int (*lower_tids)(int *, int))
{
	char detail[512];
	int tids[256], n = lower_tids ? lower_tids(tids, 256) : -1, ntasks = 0, unknown = 0;
	int main_lower = 0, dead = 0;
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		int tid = atoi(e->d_name), in = 0;
		char comm[64] = "", cpath[64];
		snprintf(cpath, sizeof(cpath), "/proc/self/task/%d/comm", tid);
		FILE *cf = fopen(cpath, "r");
		if (cf) {
			if (!fgets(comm, sizeof(comm), cf))
				comm[0] = 0;
			fclose(cf);
		}
		if (!strcmp(comm, "cairn-manager\n"))
			continue; /* the runtime's, an upper thread */
		ntasks++;
		for (int i = 0; i < n; i++)
			in |= tids[i] == tid;
		if (tid == getpid())
			main_lower |= in;
		else
			unknown += !in;
	}
	if (d)
		closedir(d);
	for (int i = 0; i < n; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/task/%d", tids[i]);
		dead += access(path, F_OK) != 0;
	}
	snprintf(detail, sizeof(detail),
		 "%d threads: the application's main and %d of the lower half's (not the main: %s; "
		 "unknown %d, gone %d)",
		 ntasks, n, main_lower ? "NO" : "yes", unknown, dead);
	check(n > 0 && !main_lower && !unknown && !dead && ntasks == n + 1, "threads", detail);
}

static void check_fds(const unsigned char *before, int (*lower_fds)(int *, int))
{
	static unsigned char now[MAX_FDS / 8];
	int fds[256], n, pmi = -1, pmi_ok = 0, stray = -1;
	const char *v = getenv("PMI_FD");
	char detail[512];

	read_fds(now);
	n = lower_fds(fds, 256);
	if (v && *v)
		pmi = atoi(v);
	for (int i = 0; i < n && i < 256; i++)
		if (fds[i] == pmi)
			pmi_ok = 1;
	for (int fd = 0; fd < MAX_FDS; fd++) {
		int low = 0;
		for (int i = 0; i < n && i < 256; i++)
			low |= fds[i] == fd;
		if (fd_is_set(now, fd) && !fd_is_set(before, fd) && !low)
			stray = fd;
	}
	snprintf(detail, sizeof(detail),
		 "%d lower descriptors, PMI_FD=%s %s, every new one among them (stray %d)", n,
		 v ? v : "(unset)", pmi_ok ? "among them" : "NOT among them", stray);
	check(n > 0 && pmi >= 0 && pmi_ok && stray < 0, "fds", detail);
}

static __thread int tls_op_calls, tls_eh_calls;
static volatile int op_wrong_thread, eh_wrong_thread;

static void sum_op(void *in, void *inout, int *len, MPI_Datatype *type)
{
	tls_op_calls++;
	if (!pthread_equal(pthread_self(), main_thread))
		op_wrong_thread++;
	for (int i = 0; i < *len; i++)
		((int *)inout)[i] += ((int *)in)[i];
}

static void on_error(MPI_Comm *comm, int *code, ...)
{
	tls_eh_calls++;
	if (!pthread_equal(pthread_self(), main_thread))
		eh_wrong_thread++;
}

static void check_callbacks(void)
{
	MPI_Op op;
	MPI_Errhandler eh;
	MPI_Comm dup;
	int v = rank + 1, sum = 0, rc, dummy = 0;
	char detail[300];

	MPI_Op_create(sum_op, 1, &op);
	MPI_Allreduce(&v, &sum, 1, MPI_INT, op, MPI_COMM_WORLD);
	MPI_Op_free(&op);
	MPI_Comm_dup(MPI_COMM_WORLD, &dup);
	MPI_Comm_create_errhandler(on_error, &eh);
	MPI_Comm_set_errhandler(dup, eh);
	rc = MPI_Send(&dummy, 1, MPI_INT, size + 5, 0, dup); /* an invalid rank */
	MPI_Errhandler_free(&eh);
	MPI_Comm_free(&dup);
	snprintf(detail, sizeof(detail),
		 "user op: sum %d, %d calls seen in this thread's TLS, %d on another thread; "
		 "error handler: %d calls seen in TLS, %d on another thread, MPI_Send returned %s",
		 sum, tls_op_calls, op_wrong_thread, tls_eh_calls, eh_wrong_thread,
		 rc == MPI_SUCCESS ? "success" : "an error");
	/* with two ranks or more, every rank but the tree's root combines */
	check(sum == size * (size + 1) / 2 && !op_wrong_thread && tls_eh_calls == 1 &&
		      !eh_wrong_thread && rc != MPI_SUCCESS,
	      "callbacks", detail);
	int calls = tls_op_calls, total = 0;
	MPI_Allreduce(&calls, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
	check(total > 0, "callbacks-ran", "the user op ran on some rank, with its TLS");
}

static volatile int usr1_hits;

static void on_usr1(int sig)
{
	usr1_hits++;
}

static void *signaller(void *arg)
{
	struct timespec d = { 0, 100 * 1000000 };
	nanosleep(&d, NULL);
	pthread_kill(main_thread, SIGUSR1);
	return NULL;
}

static void check_signal(void)
{
	long v = -1;
	pthread_t t;
	char detail[256];

	if (rank == 0) {
		struct timespec d = { 0, 300 * 1000000 };
		nanosleep(&d, NULL);
		v = 4242;
		MPI_Send(&v, 1, MPI_LONG, 1, 3, MPI_COMM_WORLD);
	} else if (rank == 1) {
		pthread_create(&t, NULL, signaller, NULL);
		MPI_Recv(&v, 1, MPI_LONG, 0, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		pthread_join(t, NULL);
	}
	/* rank 1's figures, for rank 0's line */
	long seen[2] = { usr1_hits, v };
	MPI_Bcast(seen, 2, MPI_LONG, 1, MPI_COMM_WORLD);
	snprintf(detail, sizeof(detail),
		 "the application's SIGUSR1 handler ran %ld times while rank 1 waited in MPI_Recv "
		 "(which got %ld)", seen[0], seen[1]);
	check(seen[0] == 1 && seen[1] == 4242, "signal", detail);
}

/* Under cairn's runtime, signal 64 is the runtime's: the application cannot
 * set it, and the lower half has not. */
static void check_ckpt_signal(unsigned long long (*lower_signals)(void))
{
	struct sigaction old;
	int refused = sigaction(64, NULL, &old) < 0 && errno == EINVAL;
	unsigned long long low = lower_signals ? lower_signals() : 0;
	char detail[200];

	snprintf(detail, sizeof(detail),
		 "sigaction(64) %s for the application; the lower half has %s for it",
		 refused ? "refused" : "ALLOWED", low >> 63 & 1 ? "SET SOMETHING" : "set nothing");
	check(refused && !(low >> 63 & 1), "ckpt-signal", detail);
}

static int mapped(const char *name)
{
	static struct maps m;
	if (read_maps(&m) < 0)
		return 0;
	for (int i = 0; i < m.n; i++)
		if (strstr(m.m[i].path, name))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	static struct maps before;
	static unsigned char fds_before[MAX_FDS / 8];
	int iters = argc > 1 ? atoi(argv[1]) : 2000, x = 0, all_bad = 0;
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };

	main_thread = pthread_self();
	sigaction(SIGUSR1, &sa, NULL);
	grow_stack();
	if (read_maps(&before) < 0 || read_fds(fds_before) < 0)
		return 2;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);

	const char *(*lower_name)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "cairn_mpi_lower_name");
	int (*lower_window)(unsigned long *, unsigned long *) =
		(int (*)(unsigned long *, unsigned long *))dlsym(RTLD_DEFAULT, "cairn_mpi_lower_window");
	int (*lower_fds)(int *, int) = (int (*)(int *, int))dlsym(RTLD_DEFAULT, "cairn_mpi_lower_fds");
	unsigned long long (*lower_signals)(void) =
		(unsigned long long (*)(void))dlsym(RTLD_DEFAULT, "cairn_mpi_lower_signals");
	unsigned long (*crossings)(void) = (unsigned long (*)(void))dlsym(RTLD_DEFAULT, "cairn_mpi_crossings");
	const char *lower = lower_name ? lower_name() : "native";
	int split = lower_window && lower_window(&wbase, &wsize) == 0;

	/* traffic: a ping-pong of 8 bytes, timed; a large exchange; a reduction */
	long long w = 0;
	MPI_Barrier(MPI_COMM_WORLD);
	unsigned long c0 = crossings ? crossings() : 0;
	double t0 = MPI_Wtime();
	for (int i = 0; i < iters && rank < 2; i++) {
		if (rank == 0) {
			MPI_Send(&w, 1, MPI_LONG_LONG, 1, 0, MPI_COMM_WORLD);
			MPI_Recv(&w, 1, MPI_LONG_LONG, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		} else {
			MPI_Recv(&w, 1, MPI_LONG_LONG, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
			w++;
			MPI_Send(&w, 1, MPI_LONG_LONG, 0, 0, MPI_COMM_WORLD);
		}
	}
	double t1 = MPI_Wtime();
	unsigned long c1 = crossings ? crossings() : 0;
	if (rank == 0 && w != iters) {
		printf("    rank 0: ping-pong ended with %lld, not %d\n", w, iters);
		failures++;
	}
	static char big[2][1 << 20];
	MPI_Sendrecv(big[0], sizeof(big[0]), MPI_CHAR, (rank + 1) % size, 1, big[1], sizeof(big[1]),
		     MPI_CHAR, (rank + size - 1) % size, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
	MPI_Allreduce(&rank, &x, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
	if (x != size * (size - 1) / 2)
		failures++;

	if (rank == 0) {
		printf("info lower=%s latency-us %.3f crossings-per-call %.2f\n", lower,
		       (t1 - t0) * 1e6 / (2.0 * iters),
		       crossings ? (double)(c1 - c0) / (2.0 * iters) : 0.0);
		fflush(stdout);
	}
	if (split) {
		check_maps(&before);
		check_fds(fds_before, lower_fds);
		check_threads((int (*)(int *, int))dlsym(RTLD_DEFAULT, "cairn_mpi_lower_tids"));
	}
	check_callbacks();
	if (size >= 2)
		check_signal();
	if (mapped("libcairn.so"))
		check_ckpt_signal(lower_signals);
	MPI_Allreduce(&failures, &all_bad, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
	MPI_Finalize();
	return all_bad != 0;
}
