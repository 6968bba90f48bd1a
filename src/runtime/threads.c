/*
 * Stopping and resuming the program's threads.
 *
 * The manager sends CKPT_SIGNAL to every other thread. Each one, inside the
 * handler below, records what the kernel will not give the manager (its
 * thread pointer, robust list, alternate stack, name, pending signals),
 * saves a small context with cairn_ctx_save() and parks on a futex. The
 * kernel has already put the thread's full register state (general,
 * FPU/SSE/AVX, signal mask) in the signal frame on its stack, so a thread
 * restored by jumping back into that context resumes exactly when the
 * handler returns.
 *
 * SIGNAL HANDLER CODE: everything reachable from ckpt_handler() uses only
 * raw system calls and the thread's own initial-exec TLS.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/callbacks.h"
#include "runtime/runtime.h"

/* glibc's internal mutex kind bits (nptl/pthreadP.h) */
#define MUTEX_KIND_ROBUST 16
#define MUTEX_KIND_PI 32

static long futex(volatile int *uaddr, int op, int val, const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

static void wake_all(volatile int *p)
{
	futex(p, FUTEX_WAKE, 0x7fffffff, NULL);
}

static uint64_t fs_base(void)
{
	uint64_t fs;
	__asm__ volatile("mov %%fs:0, %0" : "=r"(fs));
	return fs;
}

/* Thread-private pending signals from /proc (the kernel offers no call that
 * tells private from process-wide pending). */
static uint64_t private_pending(pid_t tid)
{
	char path[64], buf[2048];
	uint64_t mask = 0;

	fmt(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	char *p = strstr(buf, "\nSigPnd:\t");
	if (!p)
		return 0;
	for (p += 9; *p && *p != '\n'; p++) {
		int d = *p >= 'a' ? *p - 'a' + 10 : *p - '0';
		mask = mask << 4 | (uint64_t)(d & 15);
	}
	return mask;
}

/* Takes the blocked pending signals off the queues, so the image can carry
 * them; they are queued again when the thread resumes (continue or restart).
 * A thread takes its own queue (sigtimedwait serves it first; /proc says
 * when it is empty). Only the thread-group leader takes the process-wide
 * queue: the kernel lets only a thread whose TID is the PID queue a signal
 * with a kernel si_code to the process, and one taker keeps their order. */
static void take_pending(struct thread_slot *s, const sigset_t *blocked)
{
	uint64_t pend = 0, blk;
	struct timespec zero = {0, 0};
	int leader = (pid_t)s->t.tid == rt.pid;

	s->npending = 0;
	if (syscall(SYS_rt_sigpending, &pend, 8) < 0 || !pend)
		return;
	memcpy(&blk, blocked, 8);
	pend &= blk & ~(1ull << (CKPT_SIGNAL - 1));
	for (int shared = 0; shared < 2 && pend; shared++) {
		if (shared && !leader)
			break;
		for (int sig = 1; sig <= 64; sig++) {
			uint64_t one = 1ull << (sig - 1);
			if (!(pend & one))
				continue;
			while (s->npending < MAX_PENDING) {
				if (!shared && !(private_pending(s->t.tid) & one))
					break;
				struct pending_sig *p = &s->pending[s->npending];
				if (syscall(SYS_rt_sigtimedwait, &one, &p->info, &zero, 8) != sig)
					break;
				p->shared = shared;
				s->npending++;
			}
		}
	}
}

static void requeue_pending(struct thread_slot *s)
{
	pid_t pid = (pid_t)syscall(SYS_getpid);

	for (int i = 0; i < s->npending; i++) {
		siginfo_t *si = &s->pending[i].info;
		if (s->pending[i].shared)
			syscall(SYS_rt_sigqueueinfo, pid, si->si_signo, si);
		else
			syscall(SYS_rt_tgsigqueueinfo, pid, rt_tid, si->si_signo, si);
	}
	s->npending = 0;
}

/* Mutexes this thread holds record its old TID as owner; an error-checking
 * or recursive mutex would refuse the thread after restart. */
void threads_fix_owned(pid_t old, pid_t now)
{
	for (int i = 0; i < rt_nheld && i < MAX_HELD; i++) {
		pthread_mutex_t *m = rt_held[i];
		if (!m)
			continue;
		if (m->__data.__owner == old)
			m->__data.__owner = now;
		/* robust and PI mutexes keep the owner's TID in the lock word */
		if (!(m->__data.__kind & (MUTEX_KIND_ROBUST | MUTEX_KIND_PI)))
			continue;
		unsigned *lock = (unsigned *)&m->__data.__lock;
		unsigned v = __atomic_load_n(lock, __ATOMIC_RELAXED);
		if ((v & FUTEX_TID_MASK) == (unsigned)old)
			__atomic_compare_exchange_n(lock, &v, (v & ~FUTEX_TID_MASK) | (unsigned)now,
						    0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
	}
}

/* The end of a thread's signal-context chain: stop here until the image is
 * written. Returns 0 (continuing), -1 (the checkpoint failed) or, in a
 * restored process, 1. */
static int park(void *arg)
{
	struct thread_slot *s = arg;
	int gen = rt.release_gen;

	if (cairn_ctx_save(&s->t.ctx) == 0) {
		__atomic_fetch_add(&rt.parked, 1, __ATOMIC_SEQ_CST);
		wake_all(&rt.parked);
		while (__atomic_load_n(&rt.release_gen, __ATOMIC_SEQ_CST) == gen)
			futex(&rt.release_gen, FUTEX_WAIT, gen, NULL);
		return rt.outcome;
	}
	/* Restored: a new process, a new TID, this stack and memory as they
	 * were when the image was written. */
	pid_t old = rt_tid;
	rt_tid = sys_gettid();
	s->new_tid = rt_tid;
	threads_fix_owned(old, rt_tid);
	__atomic_fetch_add(&rt.restored_in, 1, __ATOMIC_SEQ_CST);
	wake_all(&rt.restored_in);
	while (!__atomic_load_n(&rt.restore_go, __ATOMIC_SEQ_CST))
		futex(&rt.restore_go, FUTEX_WAIT, 0, NULL);
	return 1;
}

static void ckpt_handler(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	int saved_errno = errno;

	if (si->si_code != SI_TKILL || si->si_pid != rt.pid || !rt.ready)
		goto out;
	int idx = __atomic_fetch_add(&rt.nslots, 1, __ATOMIC_SEQ_CST);
	if (idx >= MAX_THREADS)
		goto out; /* the manager sees too many threads and aborts */
	struct thread_slot *s = &rt.slots[idx];
	if (!rt_tid)
		rt_tid = sys_gettid();
	memset(&s->t, 0, sizeof(s->t));
	s->t.tid = (uint32_t)rt_tid;
	s->t.flags = rt_tid == rt.pid ? THREAD_MAIN : 0;
	s->t.fs_base = fs_base();
	s->t.sigmask = ~0ull;
	syscall(SYS_get_robust_list, 0, &s->t.robust_head, &s->t.robust_len);
	if (prctl(PR_GET_TID_ADDRESS, &s->t.tid_addr) < 0)
		s->t.tid_addr = s->t.fs_base + rt.tid_offset;
	stack_t ss;
	if (syscall(SYS_sigaltstack, NULL, &ss) == 0) {
		s->t.altstack_sp = (uint64_t)ss.ss_sp;
		s->t.altstack_size = ss.ss_size;
		s->t.altstack_flags = ss.ss_flags & ~SS_ONSTACK;
	}
	prctl(PR_GET_NAME, s->t.name);
	s->t.nice = 20 - (int)syscall(SYS_getpriority, PRIO_PROCESS, 0);
	take_pending(s, &uc->uc_sigmask);
	callbacks_signal_chain(park, (void *)s);
	requeue_pending(s);
	rt_ckpt_count++;
out:
	errno = saved_errno;
}

void threads_install_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = ckpt_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	sigdelset(&sa.sa_mask, SIGSYS); /* see start_manager */
	signals_real_sigaction(CKPT_SIGNAL, &sa, NULL);
}

/* The lower half's own threads (lower_glue.h): never stopped, never saved.
 * Read again at each scan: the lower half may start threads meanwhile. */
static int lower_tids[MAX_THREADS];
static int nlower_tids;

static void read_lower_tids(void)
{
	const struct cairn_lower_half *lh = __atomic_load_n(&rt_lower, __ATOMIC_ACQUIRE);
	int n = lh ? lh->tids(lower_tids, MAX_THREADS) : 0;

	nlower_tids = n < 0 ? 0 : n > MAX_THREADS ? MAX_THREADS : n;
}

static int is_lower_tid(pid_t tid)
{
	for (int i = 0; i < nlower_tids; i++)
		if (lower_tids[i] == tid)
			return 1;
	return 0;
}

/* Calls fn(tid) for each thread of the process but the caller and the
 * lower half's; returns the number of calls, or -1. Raw getdents64:
 * opendir() allocates. */
static int for_each_task(int (*fn)(pid_t tid, void *arg), void *arg)
{
	char buf[4096];
	int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int count = 0;

	if (fd < 0)
		return -1;
	read_lower_tids();
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (long off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			off += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue;
			pid_t tid = (pid_t)strtol(d->d_name, NULL, 10);
			if (tid == rt_tid || is_lower_tid(tid))
				continue;
			if (fn(tid, arg) == 0)
				count++;
		}
	}
	close(fd);
	return count;
}

/* Threads already signalled in this round, so a rescan adds only new ones. */
static pid_t signalled[MAX_THREADS];
static int nsignalled;

static int signal_one(pid_t tid, void *arg)
{
	for (int i = 0; i < nsignalled; i++)
		if (signalled[i] == tid)
			return -1;
	if (nsignalled >= MAX_THREADS)
		return -1;
	if (syscall(SYS_tgkill, rt.pid, tid, CKPT_SIGNAL) < 0)
		return -1; /* it has exited */
	signalled[nsignalled++] = tid;
	return 0;
}

static int count_one(pid_t tid, void *arg)
{
	return 0;
}

int threads_count_tasks(void)
{
	return for_each_task(count_one, NULL);
}

int threads_stop(char *err, size_t errlen)
{
	uint64_t start = now_ns(CLOCK_MONOTONIC);

	rt.nslots = 0;
	rt.parked = 0;
	rt.restored_in = 0;
	rt.restore_go = 0;
	nsignalled = 0;
	for (;;) {
		if (for_each_task(signal_one, NULL) < 0) {
			fmt(err, errlen, "cannot list the process's threads");
			goto fail;
		}
		/* Wait for every signalled thread; a thread may have exited
		 * before taking the signal, so recount the live ones. */
		for (;;) {
			int parked = __atomic_load_n(&rt.parked, __ATOMIC_SEQ_CST);
			if (parked >= nsignalled)
				break;
			int live = threads_count_tasks();
			if (live >= 0 && parked >= live && live < nsignalled) {
				nsignalled = live;
				break;
			}
			if (now_ns(CLOCK_MONOTONIC) - start > 10000000000ull) {
				fmt(err, errlen,
				    "%d of %d threads did not stop within 10 s (blocking the checkpoint signal?)",
				    nsignalled - parked, nsignalled);
				goto fail;
			}
			struct timespec ts = {0, 20000000};
			futex(&rt.parked, FUTEX_WAIT, parked, &ts);
		}
		/* A thread may have been created meanwhile by a path that
		 * bypasses the pthread_create wrapper. */
		int live = threads_count_tasks();
		if (live <= rt.parked)
			break;
	}
	if (rt.nslots > MAX_THREADS) {
		fmt(err, errlen, "the program has more than %d threads", MAX_THREADS);
		goto fail;
	}
	return 0;
fail:
	threads_release(-1);
	return -1;
}

void threads_release(int outcome)
{
	rt.outcome = outcome;
	__atomic_fetch_add(&rt.release_gen, 1, __ATOMIC_SEQ_CST);
	wake_all(&rt.release_gen);
}

/* In the restored process, on the manager thread: wait until every other
 * thread has left the restorer's code and stack. */
void threads_after_restore(void)
{
	for (;;) {
		int in = __atomic_load_n(&rt.restored_in, __ATOMIC_SEQ_CST);
		if (in >= rt.nslots)
			break;
		futex(&rt.restored_in, FUTEX_WAIT, in, NULL);
	}
}

void threads_go(void)
{
	__atomic_store_n(&rt.restore_go, 1, __ATOMIC_SEQ_CST);
	wake_all(&rt.restore_go);
}
