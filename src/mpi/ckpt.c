/* cairn's MPI library and the runtime's checkpoints of one rank.
 *
 * Under cairn's runtime (libcairn.so preloaded: `cairn run --mpi`, `cairn
 * mpirun`), loading the split lower half registers it with the runtime
 * (runtime/lower_glue.h), so that an image leaves out its window, its
 * descriptors and its threads, and registers a thread-context callback
 * that runs before the threads are stopped:
 *
 *   1. close the gate: threads that call into the MPI library from now on
 *      wait at its entry (MPI_LOWER_READY, upper.h), before translating any
 *      handle;
 *   2. interrupt the waits (mpi_wait_stop, wait.h): threads blocked in MPI
 *      come back to the upper half and park in mpi_wait_interrupted, out
 *      of the library's count;
 *   3. wait until no thread is inside the library (mpi_inside == 0), so
 *      none is in the lower half when the runtime stops them;
 *   4. refuse, with a message naming it, what a restart could not rebuild
 *      yet (objects not made by logged calls, log.c; pending requests;
 *      open files);
 *   5. let the checkpoint happen; on continue, open the gate; after a
 *      restart, first load a new lower half (split_forget, then the split
 *      provider again with the restart's environment: the new job's PMI
 *      variables), initialise MPI in it as the application had, replay the
 *      log of the calls that made the application's objects, and then
 *      open the gate.
 *
 * This is one rank's part. A job's checkpoint protocol (consistent cut,
 * messages in flight, collectives) is built on it.
 */
#include <dlfcn.h>
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cairn.h"
#include "mpi/cut.h"
#include "mpi/flight.h"
#include "mpi/log.h"
#include "mpi/upper.h"
#include "runtime/lower_glue.h"

__thread int mpi_depth __attribute__((tls_model("initial-exec")));
int mpi_inside;
volatile int mpi_gate;
int mpi_lower_generation;

static void open_gate(void);
static uint64_t mono_ms(void);

/* A rank a collective ahead of others, after a refused attempt: its gate
 * stays closed so that the others can catch up before the next attempt
 * (cut.c, cut_hold), until this time (ms) unless an attempt comes. */
static uint64_t hold_until;
static pthread_mutex_t hold_mu = PTHREAD_MUTEX_INITIALIZER;
#define HOLD_MS 2000

/* Threads wait here while a checkpoint holds the library. */
static void gate_sleep(void)
{
	while (__atomic_load_n(&mpi_gate, __ATOMIC_SEQ_CST)) {
		if (!__atomic_load_n(&hold_until, __ATOMIC_SEQ_CST)) {
			syscall(SYS_futex, &mpi_gate, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0);
			continue;
		}
		pthread_mutex_lock(&hold_mu);
		uint64_t h = __atomic_load_n(&hold_until, __ATOMIC_SEQ_CST);
		if (h && mono_ms() >= h) {
			__atomic_store_n(&hold_until, 0, __ATOMIC_SEQ_CST);
			open_gate(); /* no attempt came: the job goes on */
		}
		pthread_mutex_unlock(&hold_mu);
		struct timespec ts = { 0, 100000000 };
		syscall(SYS_futex, &mpi_gate, FUTEX_WAIT_PRIVATE, 1, &ts, NULL, 0);
	}
}

/* Entering the library (mpi_call_begin) while the gate is closed: step
 * out of the count, wait, and enter again. */
void mpi_gate_wait(void)
{
	do {
		__atomic_sub_fetch(&mpi_inside, 1, __ATOMIC_SEQ_CST);
		gate_sleep();
		__atomic_add_fetch(&mpi_inside, 1, __ATOMIC_SEQ_CST);
	} while (__atomic_load_n(&mpi_gate, __ATOMIC_SEQ_CST));
}

/* A wait came back from the lower half (wait.c): while a checkpoint holds
 * the library, this thread is out of it. Its caller translates its handles
 * again afterwards (they change with a restart). */
static int parked; /* threads in mpi_ckpt_park */

void mpi_ckpt_park(void)
{
	if (!__atomic_load_n(&mpi_gate, __ATOMIC_SEQ_CST))
		return;
	int depth = mpi_depth;
	mpi_depth = 0;
	__atomic_add_fetch(&parked, 1, __ATOMIC_SEQ_CST);
	__atomic_sub_fetch(&mpi_inside, 1, __ATOMIC_SEQ_CST);
	gate_sleep();
	__atomic_add_fetch(&mpi_inside, 1, __ATOMIC_SEQ_CST);
	__atomic_sub_fetch(&parked, 1, __ATOMIC_SEQ_CST);
	mpi_depth = depth;
}

int mpi_ckpt_waiting(void)
{
	return __atomic_load_n(&parked, __ATOMIC_SEQ_CST);
}

static int (*rt_register_lower)(const struct cairn_lower_half *);
static char *const *(*rt_restart_environ)(void);
static int (*rt_checkpoint)(int, const char *);
static int (*rt_job_ranks)(void);
static int (*rt_job_allgather)(const void *, size_t, void *, size_t);
static const char *(*rt_job_abort_reason)(void);
static void (*rt_job_retry)(void);
static void (*rt_job_forward)(void);
static int (*rt_job_ending)(void);

static int is_lower_fd(int fd)
{
	return split_is_lower_fd(fd);
}

static const struct cairn_lower_half lower_half = {
	.version = CAIRN_LOWER_HALF_VERSION,
	.base = SPLIT_WINDOW_BASE,
	.size = SPLIT_WINDOW_SIZE,
	.is_fd = is_lower_fd,
	.tids = split_lower_tids,
};

static void open_gate(void)
{
	__atomic_store_n(&mpi_wait_stop, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&mpi_gate, 0, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &mpi_gate, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* How long threads may take to leave the library: a job's checkpoint is
 * tried again (ranks inside calls that cannot be interrupted, waiting for
 * others that run forward, get there meanwhile); a rank's alone is not. */
#define QUIESCE_MS 10000
#define QUIESCE_JOB_MS 2000

/* A refusal that may pass a moment later (a request still pending, a
 * thread inside a call): the job's coordinator tries again. */
static int transient;

/* 1-3 above; 0, or -1 with a message. */
static int quiesce(int job, char *msg, size_t len)
{
	uint64_t t0 = mono_ms();
	int limit = job ? QUIESCE_JOB_MS : QUIESCE_MS;

	transient = 1;
	__atomic_store_n(&mpi_gate, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&mpi_wait_stop, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&mpi_inside, __ATOMIC_SEQ_CST) > 0) {
		if (mono_ms() - t0 > (uint64_t)limit) {
			snprintf(msg, len,
				 "%d threads stayed inside MPI calls for %d s (calls that cannot be "
				 "interrupted: communicator creation, window synchronisation, MPI-IO, "
				 "intercommunicator collectives)",
				 __atomic_load_n(&mpi_inside, __ATOMIC_SEQ_CST), limit / 1000);
			return -1;
		}
		struct timespec ts = { 0, 200000 };
		nanosleep(&ts, NULL);
	}
	return 0;
}

static const char *const kind_names[MK_COUNT] = {
	[MK_COMM] = "communicator",   [MK_GROUP] = "group",	    [MK_DATATYPE] = "datatype",
	[MK_OP] = "reduction operation", [MK_REQUEST] = "request", [MK_MESSAGE] = "matched message",
	[MK_ERRHANDLER] = "error handler", [MK_INFO] = "info object", [MK_KEYVAL] = "keyval",
	[MK_WIN] = "window",
};

/* 4 above: what a new lower half would not have. Objects made by logged
 * calls (communicators, groups, datatypes: log.c) are made again. In a
 * job's checkpoint the cut (cut.c) completes or takes back pending
 * point-to-point requests, non-blocking collectives and persistent
 * requests; a checkpoint of one rank alone has no cut and waits until no
 * request is live. */
static int restorable(int job, char *msg, size_t len)
{
	transient = 0;
	if (!mpi_log_usable()) {
		snprintf(msg, len, "the log of MPI objects ran out of memory");
		return 0;
	}
	for (int k = 0; k < MK_COUNT; k++) {
		/* (in a job's checkpoint the cut knows requests, and holds
		 * matched messages) */
		if (k == MK_MESSAGE && job)
			continue;
		int one = 0;
		int n = k == MK_REQUEST && job ? cut_unknown_requests(&one)
					       : h_live_unrebuilt(k, &one);
		if (n > 0) {
			transient = k == MK_REQUEST || k == MK_MESSAGE;
			snprintf(msg, len,
				 "the rank holds %d MPI %s%s (%#x...) that cairn cannot rebuild "
				 "after a restart yet",
				 n, kind_names[k], n > 1 ? "s" : "", (unsigned)one);
			return 0;
		}
	}
	if (hf_live() > 0) {
		snprintf(msg, len, "the rank has MPI-IO files open, which cairn cannot reopen "
				   "after a restart yet");
		return 0;
	}
	return 1;
}

/* In a job checkpoint, every rank says whether it can be checkpointed:
 * 1 when all can; 0 with msg saying which cannot and why. */
struct vote {
	int32_t ok;
	int32_t transient;
	struct mpi_progress progress; /* for cut_judge */
	char msg[496];
};

static int job_vote(int ok, const struct mpi_progress *progress, char *msg, size_t len)
{
	int n = rt_job_ranks ? rt_job_ranks() : -1;

	if (n < 0)
		return ok; /* one process's checkpoint: nobody to agree with */
	struct vote mine, *all = calloc((size_t)n + 1, sizeof(*all));
	memset(&mine, 0, sizeof(mine));
	mine.ok = ok;
	mine.transient = transient;
	mine.progress = *progress;
	if (!ok) {
		size_t l = strnlen(msg, sizeof(mine.msg) - 1);
		memcpy(mine.msg, msg, l);
	}
	int got = all ? rt_job_allgather(&mine, sizeof(mine), all, ((size_t)n + 1) * sizeof(*all)) : -1;
	if (got < 0) {
		if (errno == ECANCELED)
			snprintf(msg, len, "the job's checkpoint was abandoned: %s", rt_job_abort_reason());
		else
			snprintf(msg, len, "the job's coordinator did not answer (%s)", strerror(errno));
		free(all);
		return 0;
	}
	int again = 0;
	for (int r = 0; r < got; r++)
		again |= !all[r].ok && all[r].transient;
	if (again) {
		/* worth waiting long if some rank runs forward meanwhile */
		struct mpi_progress *p = calloc((size_t)got + 1, sizeof(*p));
		for (int r = 0; p && r < got; r++)
			p[r] = all[r].progress;
		if (p && cut_judge(p, got) && rt_job_forward)
			rt_job_forward();
		else if (rt_job_retry)
			rt_job_retry();
		free(p);
	}
	for (int r = 0; r < got; r++)
		if (!all[r].ok) {
			all[r].msg[sizeof(all[r].msg) - 1] = 0;
			snprintf(msg, len, "rank %d: %s", r, all[r].msg);
			free(all);
			return 0;
		}
	free(all);
	return ok;
}

/* Before the MPI_Finalize of checkpoint --kill: the application's datatypes
 * are still committed, and MPICH would warn of each as leaked. */
static void free_type(int v, int real, void *arg)
{
	(void)v;
	(void)arg;
	MPI_FN(MPI_Type_free)(&real);
}

/* 5 above, after a restart: a new lower half, MPI initialised in it. */
static int reload(char *msg, size_t len)
{
	char *const *env = rt_restart_environ ? rt_restart_environ() : NULL;
	struct mpi_lower l = { 0 };
	char err[512] = "";

	if (!env) {
		snprintf(msg, len, "restarted without the environment of a `cairn restart`");
		return -1;
	}
	split_forget();
	split_environ = env;
	mpi_lower_generation++;
	if (mpi_lower_split(&l, err, sizeof(err)) < 0) {
		snprintf(msg, len, "cannot load a new lower half: %s", err);
		return -1;
	}
	mpi_lower = l;
	mpi_fn = l.fn;
	if (!mpi_state_initialized() || mpi_state_finalized())
		return 0;
	int provided = MPI_THREAD_SINGLE;
	long t = cross_enter();
	int rc = MPI_FN(MPI_Init_thread)(NULL, NULL, mpi_state_thread_required(), &provided);
	cross_leave(t);
	if (rc != MPI_SUCCESS) {
		snprintf(msg, len, "MPI_Init_thread in the new lower half failed (%d)", rc);
		return -1;
	}
	if (mpi_log_replay(msg, len) < 0)
		return -1;
	rc = mpi_attrs_restore();
	if (rc != MPI_SUCCESS) {
		snprintf(msg, len, "setting the attributes of communicators and datatypes again failed (%d)", rc);
		return -1;
	}
	if (mpi_buffer_reattach() != MPI_SUCCESS) {
		snprintf(msg, len, "cannot attach the buffered sends' buffer again");
		return -1;
	}
	flight_init(); /* cairn's own communicator, in the new lower half */
	return 0;
}

/* This checkpoint is a job's (kept in the image: a restart needs it). */
static int in_job;

static int on_checkpoint(void *arg)
{
	char msg[1024];
	(void)arg;

	if (!mpi_fn)
		return rt_checkpoint(CAIRN_READY, NULL) < 0 ? -1 : 0;
	if (!mpi_lower.inline_split)
		return rt_checkpoint(CAIRN_TEMP_FAILURE,
				     "the MPI lower half 'dlmopen' (a test provider) cannot be checkpointed");
	transient = 0;
	/* a hold from the last attempt ends here: this attempt has the gate */
	pthread_mutex_lock(&hold_mu);
	int held = __atomic_exchange_n(&hold_until, 0, __ATOMIC_SEQ_CST) != 0;
	pthread_mutex_unlock(&hold_mu);
	/* A job's checkpoint: the consistent cut (cut.c). A checkpoint of
	 * this rank alone (cairn checkpoint PID) has nobody to agree with. */
	in_job = rt_job_ranks && rt_job_ranks() >= 0;
	int quiet = quiesce(in_job, msg, sizeof(msg)) == 0;
	struct mpi_progress progress = { held, !quiet || mpi_ckpt_waiting() > 0,
					 (int64_t)flight_progress() };
	int ok = quiet && restorable(in_job, msg, sizeof(msg));
	if (!job_vote(ok, &progress, msg, sizeof(msg))) {
		open_gate();
		rt_checkpoint(CAIRN_TEMP_FAILURE, msg);
		return 0;
	}
	/* this thread holds the gate: its own calls into the library (the
	 * cut's) nest inside, past the gate */
	mpi_depth++;
	int cut = in_job ? cut_before(msg, sizeof(msg)) : 0;
	if (cut < 0) {
		char again[256];
		if (cut == CUT_AGAIN && cut_forward() && rt_job_forward)
			rt_job_forward();
		else if (cut == CUT_AGAIN && rt_job_retry)
			rt_job_retry();
		cut_after(again, sizeof(again));
		mpi_depth--;
		if (cut == CUT_AGAIN && cut_hold()) {
			/* threads asleep at the gate must watch the time now */
			__atomic_store_n(&hold_until, mono_ms() + HOLD_MS, __ATOMIC_SEQ_CST);
			syscall(SYS_futex, &mpi_gate, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
		} else
			open_gate();
		rt_checkpoint(CAIRN_TEMP_FAILURE, msg);
		return 0;
	}
	mpi_attrs_snapshot();
	mpi_log_compact(in_job); /* (no thread is inside MPI: quiesced) */
	mpi_depth--;
	int r = rt_checkpoint(CAIRN_READY, NULL);
	mpi_depth++;
	if (r == 0 && in_job && rt_job_ending && rt_job_ending()) {
		/* checkpoint --kill, complete: every rank ends here, MPI finalized
		 * (a rank that left without would make the launcher kill the
		 * others); the application's threads stay at the gate */
		long t = cross_enter();
		h_each(MK_DATATYPE, free_type, NULL);
		MPI_FN(MPI_Finalize)();
		cross_leave(t);
		mpi_depth--;
		return 0;
	}
	if (r > 0 && reload(msg, sizeof(msg)) < 0)
		mpi_die("after the restart: %s", msg);
	if (in_job && cut_after(msg, sizeof(msg)) < 0)
		mpi_die("after the checkpoint: %s", msg);
	mpi_depth--;
	open_gate();
	return 0;
}

/* Called once the split lower half is loaded (lower.c): tell the runtime,
 * if it runs here. */
void mpi_ckpt_attach(void)
{
	static int done;
	int (*reg_cb)(cairn_callback_t, void *, int);

	if (done++)
		return;
	rt_register_lower = (int (*)(const struct cairn_lower_half *))dlsym(RTLD_DEFAULT,
									    "cairn_lower_half_register");
	rt_restart_environ = (char *const *(*)(void))dlsym(RTLD_DEFAULT, "cairn_restart_environ");
	rt_checkpoint = (int (*)(int, const char *))dlsym(RTLD_DEFAULT, "cairn_checkpoint");
	rt_job_ranks = (int (*)(void))dlsym(RTLD_DEFAULT, "cairn_job_ranks");
	rt_job_allgather = (int (*)(const void *, size_t, void *, size_t))dlsym(RTLD_DEFAULT,
										  "cairn_job_allgather");
	rt_job_abort_reason = (const char *(*)(void))dlsym(RTLD_DEFAULT, "cairn_job_abort_reason");
	rt_job_retry = (void (*)(void))dlsym(RTLD_DEFAULT, "cairn_job_retry");
	rt_job_forward = (void (*)(void))dlsym(RTLD_DEFAULT, "cairn_job_forward");
	rt_job_ending = (int (*)(void))dlsym(RTLD_DEFAULT, "cairn_job_ending");
	if (!rt_job_allgather || !rt_job_abort_reason)
		rt_job_ranks = NULL;
	reg_cb = (int (*)(cairn_callback_t, void *, int))dlsym(RTLD_DEFAULT, "cairn_register_callback");
	if (!rt_register_lower || !rt_checkpoint || !reg_cb)
		return; /* no runtime: nothing is checkpointed */
	if (rt_register_lower(&lower_half) < 0)
		return; /* the runtime is dormant */
	reg_cb(on_checkpoint, NULL, CAIRN_THREAD_CONTEXT);
}
