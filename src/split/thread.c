/*
 * A lower thread pointer for every upper thread that crosses.
 *
 * Lower-half code needs a thread pointer made by the lower libc: its TLS
 * (errno, malloc's arena, MPI's per-thread state), its stack guard, its
 * pthread_self. Sharing one between upper threads would make them trample
 * each other's lower TLS, so each upper thread borrows its own: on its
 * first crossing (split_enter's slow path) the lower half creates a thread
 * with its own pthread_create (split/helper.h), which reports its thread
 * pointer and parks for good in a futex wait with signals blocked; the
 * upper thread then runs lower code with that TCB, on its own stack. The
 * lower libc made and initialised everything in it (static TLS, DTV,
 * canary, pointer guard, robust-list head), which no other way gets right
 * without knowing the lower glibc's private layout (allocating a TCB with
 * _dl_allocate_tls leaves struct pthread uninitialised). The cost is one
 * sleeping kernel thread and a 1 MiB stack in the window per upper thread.
 * The TCB's tid field names the parked thread, not the borrower: harmless
 * for ordinary mutexes (the owner field only has to be unique per TCB),
 * wrong only for priority-inheritance futexes, which MPI does not use.
 *
 * The loading thread borrows the lower main thread's TCB, parked in the
 * hand-off. Making a TCB calls the lower pthread_create, which needs a
 * lower thread pointer itself: a spare parked thread, the spawner, serves
 * for that, under a mutex. When an upper thread exits, a key destructor
 * releases its parked thread.
 *
 * The lookups (thread_upper_of, thread_lower_of) run in signal handlers,
 * with either half's thread pointer: no TLS, no locks there. Slots are
 * published with release stores and never move.
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "split/internal.h"

#define MAX_PAIRS 4096

struct pair {
	uintptr_t upper, lower; /* both 0: a free slot */
	int *release;
};

static struct pair pairs[MAX_PAIRS];
static long npairs; /* slots in use or freed, never shrinks */
static pthread_mutex_t attach_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t exit_key;
static uintptr_t spawner_tp;
static uintptr_t spawner_user; /* the upper thread using it, for signals */

__thread uintptr_t split_tp_lower __attribute__((tls_model("initial-exec")));
int split_loader_tid;
long split_nthreads;

uintptr_t thread_upper_of(uintptr_t lower)
{
	long n = __atomic_load_n(&npairs, __ATOMIC_ACQUIRE);

	if (lower == spawner_tp)
		return __atomic_load_n(&spawner_user, __ATOMIC_ACQUIRE);
	for (long i = 0; i < n; i++)
		if (__atomic_load_n(&pairs[i].lower, __ATOMIC_RELAXED) == lower)
			return __atomic_load_n(&pairs[i].upper,
					       __ATOMIC_RELAXED);
	return 0;
}

uintptr_t thread_lower_of(uintptr_t upper)
{
	long n = __atomic_load_n(&npairs, __ATOMIC_ACQUIRE);

	for (long i = 0; i < n; i++)
		if (__atomic_load_n(&pairs[i].upper, __ATOMIC_RELAXED) == upper)
			return __atomic_load_n(&pairs[i].lower,
					       __ATOMIC_RELAXED);
	return 0;
}

/* Under attach_lock. Returns the slot, or -1 if full. */
static long pair_add(uintptr_t upper, uintptr_t lower, int *release)
{
	long i;

	for (i = 0; i < npairs && (pairs[i].upper || pairs[i].lower); i++)
		;
	if (i == MAX_PAIRS)
		return -1;
	pairs[i].release = release;
	__atomic_store_n(&pairs[i].upper, upper, __ATOMIC_RELAXED);
	__atomic_store_n(&pairs[i].lower, lower, __ATOMIC_RELEASE);
	if (i == npairs)
		__atomic_store_n(&npairs, i + 1, __ATOMIC_RELEASE);
	split_nthreads++;
	return i;
}

/* A parked lower thread, made with the spawner's thread pointer. */
static long spawn(uintptr_t *tp, int **release)
{
	uintptr_t up = split_get_tp();
	long r;

	__atomic_store_n(&spawner_user, up, __ATOMIC_RELEASE);
	split_set_tp(spawner_tp);
	r = split_svc->thread_new(tp, release);
	split_set_tp(up);
	return r;
}

/* An upper thread is exiting: let its parked thread end. Its thread
 * pointer must not be used after. */
static void thread_exit(void *slot)
{
	struct pair *p = &pairs[(long)slot - 1];
	int *release = p->release;

	if (p->upper != split_get_tp()) { /* a slot from before a restart */
		split_tp_lower = 0;
		return;
	}
	pthread_mutex_lock(&attach_lock);
	__atomic_store_n(&p->lower, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&p->upper, 0, __ATOMIC_RELEASE);
	split_nthreads--;
	pthread_mutex_unlock(&attach_lock);
	split_tp_lower = 0;
	if (release) {
		__atomic_store_n(release, 1, __ATOMIC_RELEASE);
		syscall(SYS_futex, release, FUTEX_WAKE, 1, NULL, NULL, 0);
	}
}

uintptr_t split_thread_attach(void)
{
	uintptr_t tp = 0;
	int *release = NULL;
	long r, slot = -1;

	if (!split_svc) {
		fprintf(stderr, "cairn: a crossing into the lower half, but no "
				"lower half is loaded (split_load first)\n");
		abort();
	}
	pthread_mutex_lock(&attach_lock);
	r = spawn(&tp, &release);
	if (r == 0)
		slot = pair_add(split_get_tp(), tp, release);
	pthread_mutex_unlock(&attach_lock);
	if (r < 0 || slot < 0) {
		fprintf(stderr, "cairn: cannot give thread %ld a lower thread "
				"pointer: %s\n",
			(long)syscall(SYS_gettid),
			r < 0 ? strerror((int)-r) : "too many threads");
		abort();
	}
	pthread_setspecific(exit_key, (void *)(slot + 1));
	split_tp_lower = tp;
	return tp;
}

int thread_setup(void)
{
	uintptr_t tp = 0;
	int *release;
	long r;

	static int have_key;

	if (!have_key && pthread_key_create(&exit_key, thread_exit))
		return -EAGAIN;
	have_key = 1;
	pthread_mutex_lock(&attach_lock);
	pair_add(split_upper_fs, split_lower_fs, NULL);
	split_tp_lower = split_lower_fs;
	/* the spawner is made with the loading thread's own lower TCB */
	spawner_tp = split_lower_fs;
	r = spawn(&tp, &release);
	spawner_tp = r == 0 ? tp : 0;
	pthread_mutex_unlock(&attach_lock);
	return (int)r;
}

uintptr_t split_thread_lower_tp(void)
{
	return split_tp_lower;
}

long split_call(void *fn, long a0, long a1, long a2, long a3, long a4)
{
	long (*f)(long, long, long, long, long) =
		(long (*)(long, long, long, long, long))fn;
	split_token t = split_enter();
	long r = f(a0, a1, a2, a3, a4);

	split_leave(t);
	return r;
}

void split_flush(void)
{
	split_token t;

	if (!split_svc)
		return;
	t = split_enter();
	split_svc->flush();
	split_leave(t);
}

uintptr_t split_upper_tp(void)
{
	uintptr_t cur = split_get_tp();

	return split_in_window(cur, 1) ? thread_upper_of(cur) : cur;
}

/* The lower half's own threads (UCX's, ROMIO's, the parked ones whose
 * thread pointers upper threads borrow): each makes a trapped call at its
 * start (the lower libc's start_thread restores the signal mask), with a
 * thread pointer in the window that no upper thread owns at that moment;
 * the SIGSYS handler notes it here. Their TIDs are read from their control
 * blocks when asked (the kernel clears the field when a thread ends). */
#define MAX_LOWER_THREADS 1024
static uintptr_t lower_tps[MAX_LOWER_THREADS];
static long nlower_tps;
static unsigned tid_offset;

void thread_note_lower(void)
{
	uintptr_t tp = split_get_tp();
	long n = __atomic_load_n(&nlower_tps, __ATOMIC_ACQUIRE);

	/* while loading, the only thread is the loading one, on what becomes
	 * split_lower_fs */
	if (split_loading || tp == split_lower_fs || !split_in_window(tp, 1) ||
	    thread_upper_of(tp))
		return;
	for (long i = 0; i < n; i++)
		if (__atomic_load_n(&lower_tps[i], __ATOMIC_RELAXED) == tp)
			return;
	n = __atomic_fetch_add(&nlower_tps, 1, __ATOMIC_ACQ_REL);
	if (n < MAX_LOWER_THREADS)
		__atomic_store_n(&lower_tps[n], tp, __ATOMIC_RELEASE);
}

/* Where glibc keeps a thread's TID in its control block: both halves run
 * the same libc file, so the upper thread's own says. */
void thread_find_tid_offset(void)
{
	char *self = (char *)pthread_self();
	pid_t tid = (pid_t)syscall(SYS_gettid);

	for (unsigned off = 0; off < 2048; off += 4)
		if (*(pid_t *)(self + off) == tid) {
			tid_offset = off;
			return;
		}
}

int split_lower_tids(int *tids, int max)
{
	long n = __atomic_load_n(&nlower_tps, __ATOMIC_ACQUIRE);
	int k = 0;

	if (!tid_offset)
		return -1;
	if (n > MAX_LOWER_THREADS)
		n = MAX_LOWER_THREADS;
	for (long i = 0; i < n; i++) {
		uintptr_t tp = __atomic_load_n(&lower_tps[i], __ATOMIC_ACQUIRE);
		int tid = tp && tp != split_lower_fs ? __atomic_load_n((int *)(tp + tid_offset), __ATOMIC_RELAXED) : 0;
		int dup = 0;

		if (tid <= 0)
			continue;
		for (int j = 0; j < k && j < max; j++)
			dup |= tids[j] == tid;
		if (dup)
			continue;
		if (k < max)
			tids[k] = tid;
		k++;
	}
	return k;
}

/* After a restart: no lower thread exists. Every upper thread that had a
 * lower thread pointer (each one of pairs) forgets it, in its own TLS
 * (initial-exec: at the same offset from every thread pointer), so that
 * its next crossing attaches again. Runs while those threads cannot cross
 * (the MPI layer holds them). */
void thread_forget(void)
{
	uintptr_t me = split_get_tp();
	intptr_t off = (intptr_t)((uintptr_t)&split_tp_lower - me);

	for (long i = 0; i < npairs; i++) {
		uintptr_t up = pairs[i].upper;
		if (up && up != me)
			*(uintptr_t *)(up + off) = 0;
		pairs[i] = (struct pair){ 0, 0, NULL };
	}
	split_tp_lower = 0;
	npairs = 0;
	split_nthreads = 0;
	spawner_tp = spawner_user = 0;
	nlower_tps = 0;
	memset(lower_tps, 0, sizeof(lower_tps));
	pthread_mutex_init(&attach_lock, NULL);
}
