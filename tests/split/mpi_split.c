/*
 * The split MPI test: an upper half NOT linked with MPI loads mpi_lower
 * (a helper linked with the real MPICH) and makes MPI calls through the
 * crossing, with MPI's own signatures (MPI_Sendrecv's twelve arguments,
 * half of them on the stack). Run by tests/split/run.sh under
 * mpiexec.mpich -n 2 and -n 4:
 *
 *   mpi_split LABEL NRANKS LOWER [ITERS]
 *
 * Checks MPI_Init_thread, a ring, Allreduce of known values, Barrier, a
 * second upper thread making MPI calls (MPI_THREAD_SERIALIZED), the
 * application's signal handler while a rank sits inside MPI_Recv, one
 * crossing per MPI call, confinement after MPI_Init and traffic (every
 * mapping made since loading inside the window; /dev/shm, UCX, hwloc and
 * MPICH there and nowhere else), the lower half's descriptors, Finalize.
 * Each check's verdict is agreed by all ranks (an Allreduce); rank 0
 * prints "PASS split/LABEL/NAME" or "FAIL ...", a failing rank adds its
 * own detail lines. Prints the ping-pong half round trip as "info".
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "maps.h"
#include "mpi_ops.h"
#include "split/split.h"

static const char *label;
static int rank = -1, size, failures, mpi_up;
static int reporter; /* the rank whose message goes with the verdict */
static struct mpi_ops lo; /* the lower half's functions, called across */

/* --- the crossing: each MPI call is one split_enter/split_leave ------- */

static int s_init(int *argc, char ***argv)
{
	split_token t = split_enter();
	int r = lo.init(argc, argv);
	split_leave(t);
	return r;
}
static int s_init_thread(int *argc, char ***argv, int req, int *prov)
{
	split_token t = split_enter();
	int r = lo.init_thread(argc, argv, req, prov);
	split_leave(t);
	return r;
}
static int s_comm_rank(MPI_Comm c, int *r_)
{
	split_token t = split_enter();
	int r = lo.comm_rank(c, r_);
	split_leave(t);
	return r;
}
static int s_comm_size(MPI_Comm c, int *s)
{
	split_token t = split_enter();
	int r = lo.comm_size(c, s);
	split_leave(t);
	return r;
}
static int s_send(const void *b, int n, MPI_Datatype d, int to, int tag,
		  MPI_Comm c)
{
	split_token t = split_enter();
	int r = lo.send(b, n, d, to, tag, c);
	split_leave(t);
	return r;
}
static int s_recv(void *b, int n, MPI_Datatype d, int from, int tag,
		  MPI_Comm c, MPI_Status *st)
{
	split_token t = split_enter();
	int r = lo.recv(b, n, d, from, tag, c, st);
	split_leave(t);
	return r;
}
static int s_sendrecv(const void *sb, int sn, MPI_Datatype sd, int to,
		      int stag, void *rb, int rn, MPI_Datatype rd, int from,
		      int rtag, MPI_Comm c, MPI_Status *st)
{
	split_token t = split_enter();
	int r = lo.sendrecv(sb, sn, sd, to, stag, rb, rn, rd, from, rtag, c,
			    st);
	split_leave(t);
	return r;
}
static int s_allreduce(const void *sb, void *rb, int n, MPI_Datatype d,
		       MPI_Op op, MPI_Comm c)
{
	split_token t = split_enter();
	int r = lo.allreduce(sb, rb, n, d, op, c);
	split_leave(t);
	return r;
}
static int s_barrier(MPI_Comm c)
{
	split_token t = split_enter();
	int r = lo.barrier(c);
	split_leave(t);
	return r;
}
static int s_finalize(void)
{
	split_token t = split_enter();
	int r = lo.finalize();
	split_leave(t);
	return r;
}
static double s_wtime(void)
{
	split_token t = split_enter();
	double r = lo.wtime();
	split_leave(t);
	return r;
}

static const struct mpi_ops m = {
	.init = s_init,
	.init_thread = s_init_thread,
	.comm_rank = s_comm_rank,
	.comm_size = s_comm_size,
	.send = s_send,
	.recv = s_recv,
	.sendrecv = s_sendrecv,
	.allreduce = s_allreduce,
	.barrier = s_barrier,
	.finalize = s_finalize,
	.wtime = s_wtime,
};

/* --- verdicts ------------------------------------------------------------ */

/* All ranks agree on OK (while MPI is up); rank 0 prints the verdict with
 * its own message, a failing rank prints its message as a detail. */
static __attribute__((format(printf, 3, 4))) void check(int ok,
							 const char *name,
							 const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int all = ok;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (mpi_up && m.allreduce(&ok, &all, 1, MPI_INT, MPI_MIN,
				  MPI_COMM_WORLD) != MPI_SUCCESS)
		all = 0;
	if (!ok)
		printf("    rank %d: %s: %s\n", rank, name, msg);
	if (rank == reporter || !mpi_up)
		printf("%s split/%s/%s: %s%s\n", all ? "PASS" : "FAIL", label,
		       name, msg, all || ok ? "" : " (see the ranks' lines)");
	fflush(stdout);
	failures += !all;
}

/* --- the application's signal handler ---------------------------------- */

static __thread int usr1_tls; /* this thread's deliveries */
static volatile int usr1_hits, usr1_bad, usr1_inside;

/* Runs with the upper half's thread pointer, or it could not touch its
 * TLS; says whether the interrupted code was the lower half's. */
static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	greg_t *g = ((ucontext_t *)uc)->uc_mcontext.gregs;

	if (split_in_window(split_get_tp(), 1))
		usr1_bad++;
	usr1_tls++;
	usr1_hits++;
	if (split_in_window(g[REG_RIP], 1))
		usr1_inside++;
}

/* --- the upper threads, made before the first snapshot of the maps ------ */

static pthread_t main_thread;
static sem_t go_signals, go_mpi, mpi_done;
static int thread_sum = -1, thread_rc = -1;
static uintptr_t thread_tp;
static long thread_pairs;

/* Sends SIGUSR1 to the main thread while it waits in MPI_Recv, then to the
 * process (which any thread may take, the lower half's own included). */
static void *signaller(void *arg)
{
	struct timespec d = {0, 100 * 1000000};

	while (sem_wait(&go_signals) < 0 && errno == EINTR)
		;
	if (rank != 1)
		return NULL;
	nanosleep(&d, NULL);
	pthread_kill(main_thread, SIGUSR1);
	d.tv_nsec = 50 * 1000000;
	nanosleep(&d, NULL);
	kill(getpid(), SIGUSR1);
	return NULL;
}

/* A second upper thread calling MPI while the main thread waits
 * (MPI_THREAD_SERIALIZED): its first crossing gets it a lower TCB. */
static void *mpi_thread(void *arg)
{
	struct split_stats st;
	int v;

	while (sem_wait(&go_mpi) < 0 && errno == EINTR)
		;
	v = rank * 100;
	thread_rc = m.allreduce(&v, &thread_sum, 1, MPI_INT, MPI_SUM,
				MPI_COMM_WORLD);
	thread_tp = split_thread_lower_tp();
	split_stats(&st);
	thread_pairs = st.threads;
	sem_post(&mpi_done);
	return NULL;
}

/* --- the checks --------------------------------------------------------- */

static void check_ring(void)
{
	int right = (rank + 1) % size, left = (rank + size - 1) % size;
	long long out = rank * 10 + 1, in = -1, in2 = -1;
	int r1, r2 = MPI_SUCCESS, r3 = MPI_SUCCESS;

	r1 = m.sendrecv(&out, 1, MPI_LONG_LONG, right, 1, &in, 1,
			MPI_LONG_LONG, left, 1, MPI_COMM_WORLD,
			MPI_STATUS_IGNORE);
	check(r1 == MPI_SUCCESS && in == left * 10 + 1, "ring-sendrecv",
	      "MPI_Sendrecv (12 arguments) around the ring: got %lld from "
	      "rank %d",
	      in, left);
	/* with Send and Recv: even ranks send first, odd ranks receive */
	out = rank * 1000 + 7;
	if (rank % 2 == 0) {
		r2 = m.send(&out, 1, MPI_LONG_LONG, right, 2, MPI_COMM_WORLD);
		r3 = m.recv(&in2, 1, MPI_LONG_LONG, left, 2, MPI_COMM_WORLD,
			    MPI_STATUS_IGNORE);
	} else {
		r3 = m.recv(&in2, 1, MPI_LONG_LONG, left, 2, MPI_COMM_WORLD,
			    MPI_STATUS_IGNORE);
		r2 = m.send(&out, 1, MPI_LONG_LONG, right, 2, MPI_COMM_WORLD);
	}
	check(r2 == MPI_SUCCESS && r3 == MPI_SUCCESS &&
		      in2 == left * 1000 + 7,
	      "ring-send-recv", "MPI_Send/MPI_Recv around the ring: got %lld",
	      in2);
}

static void check_collectives(void)
{
	int v = rank + 1, sum = -1, r1, r2;
	double d = rank * 1.5, dmax = -1;

	r1 = m.allreduce(&v, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
	r2 = m.allreduce(&d, &dmax, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
	check(r1 == MPI_SUCCESS && r2 == MPI_SUCCESS &&
		      sum == size * (size + 1) / 2 && dmax == (size - 1) * 1.5,
	      "allreduce", "sum of 1..%d = %d, max of rank * 1.5 = %.1f", size,
	      sum, dmax);
	r1 = m.barrier(MPI_COMM_WORLD);
	check(r1 == MPI_SUCCESS, "barrier", "MPI_Barrier returned %d", r1);
}

static void check_thread(void)
{
	sem_post(&go_mpi);
	while (sem_wait(&mpi_done) < 0 && errno == EINTR)
		;
	check(thread_rc == MPI_SUCCESS &&
		      thread_sum == 100 * size * (size - 1) / 2 && thread_tp &&
		      thread_tp != split_thread_lower_tp() &&
		      split_in_window(thread_tp, 1) && thread_pairs == 2,
	      "second-thread",
	      "a second upper thread's MPI_Allreduce = %d (returned %d) with "
	      "its own lower thread pointer %#lx (main's %#lx, %ld paired "
	      "threads)",
	      thread_sum, thread_rc, (unsigned long)thread_tp,
	      (unsigned long)split_thread_lower_tp(), thread_pairs);
}

static void check_signal_in_recv(void)
{
	long long v = -1;
	int r = MPI_SUCCESS, ok = 1;
	double t0 = s_wtime(), waited = 0;

	if (rank == 0) {
		struct timespec d = {0, 300 * 1000000};
		nanosleep(&d, NULL);
		v = 4242;
		r = m.send(&v, 1, MPI_LONG_LONG, 1, 3, MPI_COMM_WORLD);
	} else if (rank == 1) {
		sem_post(&go_signals);
		r = m.recv(&v, 1, MPI_LONG_LONG, 0, 3, MPI_COMM_WORLD,
			   MPI_STATUS_IGNORE);
		waited = s_wtime() - t0;
		/* the process-directed one may still be on its way */
		for (int i = 0; i < 100 && usr1_hits < 2; i++)
			usleep(10000);
		ok = v == 4242 && usr1_hits == 2 && !usr1_bad &&
		     usr1_tls >= 1 && usr1_inside >= 1;
	}
	if (rank != 1)
		sem_post(&go_signals); /* its signaller has nothing to do */
	reporter = 1;
	check(r == MPI_SUCCESS && ok, "signal-in-recv",
	      "rank 1 waited %.0f ms in MPI_Recv (got %lld); SIGUSR1 to it "
	      "and to the process ran the application's handler %d times "
	      "(%d with a lower thread pointer, %d in this thread, %d "
	      "interrupting lower code)",
	      waited * 1e3, v, usr1_hits, usr1_bad, usr1_tls, usr1_inside);
	reporter = 0;
}

static void check_latency(int iters)
{
	struct split_stats s0, s1;
	long calls = rank < 2 ? 2 * (iters + iters / 10) + 2 + 1 : 1;
	double t;

	split_stats(&s0);
	t = mpi_pingpong(&m, rank, iters);
	split_stats(&s1);
	/* counts are process-wide: only this thread crosses meanwhile */
	check(t >= 0 && s1.crossings - s0.crossings == (uint64_t)calls,
	      "one-crossing-per-call",
	      "%lu crossings for %ld MPI calls in the ping-pong",
	      (unsigned long)(s1.crossings - s0.crossings), calls);
	if (rank == 0)
		printf("info split/%s/latency: split %.3f us half round trip "
		       "(8 bytes, %d round trips, %.2f crossings per MPI call, "
		       "FS switch by %s)\n",
		       label, t * 1e6, iters,
		       (double)(s1.crossings - s0.crossings) / calls,
		       s1.fsgsbase ? "wrfsbase" : "arch_prctl");
}

static void check_maps(const struct maps *before, const char *lower)
{
	static struct maps after;
	static const char *const libs[] = {"libmpich", "libucp", "libucs",
					    "libuct", "libhwloc"};
	char missing[256] = "";
	int ok;

	if (read_maps(&after) < 0) {
		check(0, "maps", "cannot read /proc/self/maps");
		return;
	}
	check(maps_confined(before, &after, lower), "maps-confined",
	      "after MPI_Init and traffic, every mapping made since loading "
	      "is inside the window");
	ok = window_has(&after, "/dev/shm") && !outside_has(&after, "/dev/shm");
	check(ok, "maps-shm", "/dev/shm segments are mapped in the window "
			      "only");
	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++)
		if (!window_has(&after, libs[i]) ||
		    outside_has(&after, libs[i]))
			snprintf(missing + strlen(missing),
				 sizeof(missing) - strlen(missing), " %s",
				 libs[i]);
	check(!missing[0], "maps-libs",
	      "MPICH, UCX (ucp, ucs, uct) and hwloc are mapped in the window "
	      "only%s%s",
	      missing[0] ? "; not so:" : "", missing);
}

static void check_fds(const unsigned char *before)
{
	static unsigned char now[MAX_FDS / 8];
	int fds[256], n, stray = -1, stale = -1, kinds = 0;
	char list[400] = "";

	read_fds(now);
	n = split_lower_fds(fds, 256);
	for (int fd = 0; fd < MAX_FDS; fd++)
		if (fd_is_set(now, fd) && !fd_is_set(before, fd) &&
		    !split_is_lower_fd(fd))
			stray = fd;
	for (int i = 0; i < n && i < 256; i++) {
		char path[64], target[128];
		ssize_t len;
		if (!fd_is_set(now, fds[i]))
			stale = fds[i];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[i]);
		len = readlink(path, target, sizeof(target) - 1);
		target[len > 0 ? len : 0] = 0;
		if (strlen(list) < sizeof(list) - 60 && kinds++ < 8)
			snprintf(list + strlen(list),
				 sizeof(list) - strlen(list), " %d:%.40s",
				 fds[i], target);
	}
	check(n > 0 && stray < 0 && stale < 0, "lower-fds",
	      "%d lower descriptors, every new one among them (stray %d), "
	      "all open (stale %d):%s",
	      n, stray, stale, list);
}

int main(int argc, char **argv)
{
	static struct maps before;
	static unsigned char fds_before[MAX_FDS / 8];
	struct sigaction sa = {.sa_sigaction = on_usr1,
			       .sa_flags = SA_SIGINFO | SA_RESTART};
	const char *lower;
	pthread_t t1, t2;
	int want, provided = -1, iters, r;
	long n;

	if (argc < 4) {
		fprintf(stderr, "usage: mpi_split LABEL NRANKS LOWER [ITERS]\n");
		return 2;
	}
	label = argv[1];
	want = atoi(argv[2]);
	lower = argv[3];
	iters = argc > 4 ? atoi(argv[4]) : 2000;

	/* the application's handler, set before the lower half exists */
	sigaction(SIGUSR1, &sa, NULL);
	main_thread = pthread_self();
	sem_init(&go_signals, 0, 0);
	sem_init(&go_mpi, 0, 0);
	sem_init(&mpi_done, 0, 0);
	pthread_create(&t1, NULL, signaller, NULL);
	pthread_create(&t2, NULL, mpi_thread, NULL);
	fflush(stdout);
	grow_stack();
	if (read_maps(&before) < 0 || read_fds(fds_before) < 0) {
		check(0, "setup", "cannot read /proc/self/maps or fd");
		return 1;
	}

	n = split_load(lower, NULL);
	if (n != M_NFUNCS) {
		check(0, "load", "%s", n < 0 ? split_error() : "wrong table");
		return 1;
	}
	lo.init = (__typeof__(lo.init))split_fn(M_INIT);
	lo.init_thread = (__typeof__(lo.init_thread))split_fn(M_INIT_THREAD);
	lo.comm_rank = (__typeof__(lo.comm_rank))split_fn(M_COMM_RANK);
	lo.comm_size = (__typeof__(lo.comm_size))split_fn(M_COMM_SIZE);
	lo.send = (__typeof__(lo.send))split_fn(M_SEND);
	lo.recv = (__typeof__(lo.recv))split_fn(M_RECV);
	lo.sendrecv = (__typeof__(lo.sendrecv))split_fn(M_SENDRECV);
	lo.allreduce = (__typeof__(lo.allreduce))split_fn(M_ALLREDUCE);
	lo.barrier = (__typeof__(lo.barrier))split_fn(M_BARRIER);
	lo.finalize = (__typeof__(lo.finalize))split_fn(M_FINALIZE);
	lo.wtime = (__typeof__(lo.wtime))split_fn(M_WTIME);

	r = m.init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
	mpi_up = r == MPI_SUCCESS;
	if (mpi_up) {
		m.comm_rank(MPI_COMM_WORLD, &rank);
		m.comm_size(MPI_COMM_WORLD, &size);
	}
	check(mpi_up && provided >= MPI_THREAD_SERIALIZED && size == want,
	      "init", "MPI_Init_thread in the lower half: rank %d of %d, "
		      "thread level %d",
	      rank, size, provided);
	if (!mpi_up)
		return 1;

	check_ring();
	check_collectives();
	check_thread();
	check_signal_in_recv();
	check_latency(iters);
	check_maps(&before, lower);
	check_fds(fds_before);

	if (rank == 0) {
		struct split_stats st;
		uint64_t sigs = split_lower_signals();
		char names[256] = "";
		split_stats(&st);
		for (int sig = 1; sig <= 64; sig++)
			if (sigs >> (sig - 1) & 1)
				snprintf(names + strlen(names),
					 sizeof(names) - strlen(names), " %d",
					 sig);
		printf("info split/%s/traps: rank 0's lower half: %lu mmap, "
		       "%lu munmap, %lu brk, %lu descriptor calls, %lu "
		       "sigaction (signals it handles or ignores:%s)\n",
		       label, (unsigned long)st.trapped[SPLIT_MMAP],
		       (unsigned long)st.trapped[SPLIT_MUNMAP],
		       (unsigned long)st.trapped[SPLIT_BRK],
		       (unsigned long)st.trapped[SPLIT_FD],
		       (unsigned long)st.trapped[SPLIT_SIGACTION], names);
	}
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	r = m.finalize();
	mpi_up = 0;
	if (r != MPI_SUCCESS || rank == 0)
		check(r == MPI_SUCCESS, "finalize", "MPI_Finalize returned %d",
		      r);
	split_flush();
	return failures != 0;
}
