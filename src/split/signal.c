/*
 * SIGNAL-SAFE: both halves' signal handlers, each run with its own thread
 * pointer.
 *
 * The kernel holds one disposition per signal, but two libcs and their
 * users set them: the application (and its libc, and cairn's runtime) and
 * the lower half (MPICH: SIGUSR1; UCX: SEGV, BUS, ILL, FPE, HUP; the lower
 * libc: 33). A handler must run with the thread pointer of the half it
 * belongs to, and a signal may arrive while a thread is in either half. So
 * rt_sigaction is trapped from everywhere (trap.c): each half's calls are
 * recorded here (each reads back its own), and the kernel gets, for every
 * signal either half handles, one wrapper (on_signal) that picks the
 * handler and switches the thread pointer around it.
 *
 * Which half a signal goes to:
 *   - a fault (SEGV, BUS, ILL, FPE, TRAP raised by the kernel) goes to the
 *     half whose code faulted, judged by the current thread pointer; to the
 *     other half if that one has no handler;
 *   - any other signal goes to the application, unless the application
 *     left it at SIG_DFL and the lower half set something (then the lower
 *     half's handler, or its SIG_IGN: MPI libraries ignore SIGPIPE, as they
 *     would in a plain MPI program). The application wins a conflict: it
 *     is what is checkpointed, and its handler is what it expects to run.
 * With which thread pointer:
 *   - the application's handler: the thread's upper one, read from the
 *     thread pair when the thread is inside the lower half (thread.c). A
 *     thread of the lower half's own (UCX's progress thread) has none: the
 *     signal is sent on to the loading thread instead;
 *   - the lower half's handler: the thread's lower one; a thread that never
 *     crossed borrows the loading thread's (rare: lower handlers are for
 *     signals the application does not handle).
 * SA_RESETHAND is emulated (the kernel would reset the wrapper); the mask
 * during a handler is the union of both halves' masks.
 *
 * Everything here runs in signal handlers or the SIGSYS handler, with
 * either half's thread pointer: raw system calls only, no TLS, no stack
 * protector (built with -fno-stack-protector).
 */
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>

#include "split/internal.h"

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif

enum { APP, LOW };

static struct ksigaction acts[2][65];
static unsigned seq[65]; /* odd while acts[*][sig] changes */
static int lock;
uint64_t signal_count[3];

static int has_handler(const struct ksigaction *a)
{
	return a->handler != (uintptr_t)SIG_DFL &&
	       a->handler != (uintptr_t)SIG_IGN;
}

static int is_fault(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL ||
	       sig == SIGFPE || sig == SIGTRAP;
}

static long sys_sigaction(long sig, const struct ksigaction *k,
			  struct ksigaction *old)
{
	return split_sys6(SYS_rt_sigaction, sig, (long)k, (long)old, 8, 0,
			  (long)TRAP_COOKIE);
}

static void on_signal(int sig, siginfo_t *si, void *uc);

/* The kernel's action for SIG, from both records. Under the lock. */
static long kernel_update(int sig)
{
	const struct ksigaction *app = &acts[APP][sig], *low = &acts[LOW][sig];
	const struct ksigaction *own =
		app->handler != (uintptr_t)SIG_DFL ? app : low;
	const unsigned long pass = SA_ONSTACK | SA_RESTART | SA_NODEFER |
				   SA_NOCLDSTOP | SA_NOCLDWAIT;
	struct ksigaction k;

	if (sig == SIGSYS)
		return 0; /* trap.c's handler stays, and passes others on */
	if (has_handler(own) ||
	    (is_fault(sig) && (has_handler(app) || has_handler(low)))) {
		if (!has_handler(own))
			own = has_handler(app) ? app : low;
		k.handler = (uintptr_t)on_signal;
		k.flags = (own->flags & pass) | SA_SIGINFO | SA_RESTORER;
		k.mask = app->mask | low->mask;
	} else {
		k = *own;
		k.flags = (k.flags & pass) | SA_RESTORER;
	}
	k.restorer = (uintptr_t)split_restore_rt;
	return sys_sigaction(sig, &k, NULL);
}

static void lock_all(uint64_t *old)
{
	uint64_t all = ~0ull;

	/* a handler on this thread must not find the record half written */
	split_sys6(SYS_rt_sigprocmask, SIG_SETMASK, (long)&all, (long)old, 8,
		   0, 0);
	while (__atomic_exchange_n(&lock, 1, __ATOMIC_ACQUIRE))
		__builtin_ia32_pause();
}

static void unlock_all(const uint64_t *old)
{
	__atomic_store_n(&lock, 0, __ATOMIC_RELEASE);
	split_sys6(SYS_rt_sigprocmask, SIG_SETMASK, (long)old, 0, 8, 0, 0);
}

static void record(int half, int sig, const struct ksigaction *a)
{
	__atomic_add_fetch(&seq[sig], 1, __ATOMIC_ACQ_REL);
	acts[half][sig] = *a;
	__atomic_add_fetch(&seq[sig], 1, __ATOMIC_ACQ_REL);
}

static void read_acts(int sig, struct ksigaction *app, struct ksigaction *low)
{
	unsigned s;

	do {
		while ((s = __atomic_load_n(&seq[sig], __ATOMIC_ACQUIRE)) & 1)
			__builtin_ia32_pause();
		*app = acts[APP][sig];
		*low = acts[LOW][sig];
	} while (__atomic_load_n(&seq[sig], __ATOMIC_ACQUIRE) != s);
}

long signal_set(int lower, long sig, const struct ksigaction *act,
		struct ksigaction *oact, size_t setsize)
{
	struct ksigaction a, o;
	uint64_t mask;
	long r = 0;

	if (sig < 1 || sig > 64 || setsize != 8)
		return -EINVAL;
	if (act && (sig == SIGKILL || sig == SIGSTOP))
		return -EINVAL;
	if (act)
		a = *act; /* act and oact may be the same memory */
	lock_all(&mask);
	o = acts[lower ? LOW : APP][sig];
	if (act) {
		record(lower ? LOW : APP, sig, &a);
		r = kernel_update(sig);
		if (r < 0)
			record(lower ? LOW : APP, sig, &o);
	}
	unlock_all(&mask);
	if (r == 0 && oact)
		*oact = o;
	return r;
}

int signal_import(void)
{
	uint64_t mask;
	long r;

	lock_all(&mask);
	for (int sig = 1; sig <= 64; sig++) {
		struct ksigaction k;
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		r = sys_sigaction(sig, NULL, &k);
		if (r < 0)
			continue; /* not a valid signal here */
		acts[APP][sig] = k;
		if (has_handler(&k) && kernel_update(sig) < 0)
			break;
	}
	unlock_all(&mask);
	return 0;
}

/* SA_RESETHAND: the handler runs once, then the disposition is SIG_DFL. */
static void reset_hand(int half, int sig)
{
	struct ksigaction dfl = {0};
	uint64_t mask;

	lock_all(&mask);
	record(half, sig, &dfl);
	kernel_update(sig);
	unlock_all(&mask);
}

/* What the kernel would have done for a signal nobody handles. */
static void default_action(int sig, const struct ksigaction *app)
{
	struct ksigaction dfl = {.flags = SA_RESTORER,
				 .restorer = (uintptr_t)split_restore_rt};
	long pid = split_sys6(SYS_getpid, 0, 0, 0, 0, 0, 0);
	long tid = split_sys6(SYS_gettid, 0, 0, 0, 0, 0, 0);

	if (app->handler == (uintptr_t)SIG_IGN || sig == SIGCHLD ||
	    sig == SIGCONT || sig == SIGURG || sig == SIGWINCH)
		return;
	if (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
		split_sys6(SYS_tgkill, pid, tid, SIGSTOP, 0, 0, 0);
		return;
	}
	/* terminate (or dump core): with the default disposition, a fault
	 * recurs on return; anything else is raised again and delivered
	 * when the handler's mask is lifted */
	sys_sigaction(sig, &dfl, NULL);
	if (!is_fault(sig))
		split_sys6(SYS_tgkill, pid, tid, sig, 0, 0, 0);
}

static void run(const struct ksigaction *a, int sig, siginfo_t *si, void *uc,
		uintptr_t cur, uintptr_t tp)
{
	if (tp != cur)
		split_set_fs(tp);
	if (a->flags & SA_SIGINFO)
		((void (*)(int, siginfo_t *, void *))a->handler)(sig, si, uc);
	else
		((void (*)(int))a->handler)(sig);
	if (tp != cur)
		split_set_fs(cur);
}

static void dispatch(int sig, siginfo_t *si, void *uc)
{
	uintptr_t cur = split_get_tp(), upper, tp;
	int in_lower = split_in_window(cur, 1), fault, to_low;
	struct ksigaction app, low;

	upper = in_lower ? thread_upper_of(cur) : cur;
	if (!upper && split_loading)
		upper = split_upper_fs; /* the lower loader, on our thread */
	read_acts(sig, &app, &low);
	fault = is_fault(sig) && si->si_code > 0;
	if (fault)
		to_low = has_handler(&low) && (in_lower || !has_handler(&app));
	else
		to_low = app.handler == (uintptr_t)SIG_DFL && has_handler(&low);

	if (to_low) {
		tp = in_lower ? cur : thread_lower_of(cur);
		if (!tp)
			tp = split_lower_fs;
		if (low.flags & SA_RESETHAND)
			reset_hand(LOW, sig);
		__atomic_add_fetch(&signal_count[0], 1, __ATOMIC_RELAXED);
		run(&low, sig, si, uc, cur, tp);
		return;
	}
	if (!has_handler(&app)) {
		default_action(sig, &app);
		return;
	}
	if (!upper) {
		/* a lower-only thread has no upper thread pointer to run the
		 * application's handler with: the loading thread takes it,
		 * with its siginfo when the kernel allows (it refuses a
		 * forged si_code >= 0 from a thread other than the main one) */
		long pid = split_sys6(SYS_getpid, 0, 0, 0, 0, 0, 0);
		if (fault) {
			default_action(sig, &app);
			return;
		}
		__atomic_add_fetch(&signal_count[2], 1, __ATOMIC_RELAXED);
		if (split_sys6(SYS_rt_tgsigqueueinfo, pid, split_loader_tid,
			       sig, (long)si, 0, 0) < 0)
			split_sys6(SYS_tgkill, pid, split_loader_tid, sig, 0,
				   0, 0);
		return;
	}
	if (app.flags & SA_RESETHAND)
		reset_hand(APP, sig);
	__atomic_add_fetch(&signal_count[1], 1, __ATOMIC_RELAXED);
	run(&app, sig, si, uc, cur, upper);
}

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	dispatch(sig, si, uc);
}

void signal_sigsys_other(int sig, void *si, void *uctx)
{
	dispatch(sig, si, uctx);
}

uint64_t split_lower_signals(void)
{
	uint64_t set = 0;
	struct ksigaction app, low;

	for (int sig = 1; sig <= 64; sig++) {
		read_acts(sig, &app, &low);
		if (low.handler != (uintptr_t)SIG_DFL)
			set |= 1ull << (sig - 1);
	}
	return set;
}

/* After a restart: the old lower half's handlers are gone; the
 * application's are what the kernel has now (signal_import reads them). */
void signal_forget(void)
{
	for (int sig = 0; sig <= 64; sig++) {
		acts[APP][sig] = (struct ksigaction){ 0 };
		acts[LOW][sig] = (struct ksigaction){ 0 };
		seq[sig] = 0;
	}
	lock = 0;
}
