/*
 * The split process: a "lower half" program living inside this process.
 *
 * The upper half (the application and cairn) loads a small helper program,
 * the lower half, into one reserved address window, with its own copy of
 * the dynamic loader and of libc, and calls functions in it. Everything the
 * lower half maps (its loader, its libraries, its heap, its threads' stacks,
 * its shared memory) stays inside the window, so at checkpoint time
 * "everything outside the window" is exactly the upper half. The MPI layer
 * builds on this: the helper is then a program linked against the real MPI
 * (DESIGN.md, "MPI jobs: the split process").
 *
 * The helper's side of the protocol is split/helper.h: its main() fills a
 * table with pointers to the functions the upper half may call and calls
 * split_helper_main(), which hands the table (and a few services of its
 * own, such as making lower thread pointers) to split_load(). The hand-off
 * never returns to the helper: split_load() returns in the upper half
 * instead. A helper that exits before (a missing library, a bad argument)
 * makes split_load fail with its status.
 *
 * Crossing. Both libcs own the thread pointer (FS): TLS, errno, the stack
 * canary. Lower-half code must run with a lower thread pointer, so a call
 * into the lower half is
 *
 *     split_token t = split_enter();
 *     rc = table->MPI_Send(buf, n, type, dest, tag, comm);
 *     split_leave(t);
 *
 * with any signature the compiler can call: the crossing switches FS only,
 * on the caller's own stack. Between the two, the caller must not touch the
 * upper half's TLS (errno included: read it before or after) nor call upper
 * libc. The stack protector is fine: both libcs read the same canary
 * because the lower half was given the same AT_RANDOM bytes (checked by
 * tests/split). Each upper thread gets its own lower thread pointer on its
 * first crossing (split_enter's slow path, thread.c).
 *
 * Files: window.c (the reservation and its free list), load.c (userland
 * exec of the helper), switch.S (entering, handing off), thread.c (a lower
 * thread pointer per upper thread), trap.c (the seccomp filter and the
 * SIGSYS handler that confine the lower half), signal.c (both halves'
 * signal handlers, each run with its own thread pointer), fd.c (the lower
 * half's descriptors).
 *
 * Limits: one lower half per process. Lower calls run on the calling
 * thread's stack: MPI's frames are deep, so small application thread stacks
 * may need to grow. Where both halves handle a signal, the application's
 * handler runs (MPICH's SIGUSR1 does not), except for faults raised in
 * lower code; a lower handler on a thread that never crossed borrows the
 * loading thread's lower TCB. The lower half's sigaltstack and sigprocmask
 * act on the calling upper thread, as in a plain MPI program. Descriptors
 * the lower half receives over a socket (SCM_RIGHTS) or inherits at exec
 * (Hydra's PMI_FD) are not tracked unless registered (split_add_lower_fd); a descriptor the application closes
 * and reopens under a number the lower half had stays marked lower until
 * the lower half closes it.
 */
#ifndef CAIRN_SPLIT_H
#define CAIRN_SPLIT_H

#include <stddef.h>
#include <stdint.h>

/* The window: fixed, so that a restarted process finds it in the same
 * place; a multiple of 4 GiB at a 4 GiB boundary (trap.c's filter compares
 * the high 32 bits of the instruction pointer only). */
#define SPLIT_WINDOW_BASE 0x500000000000ul
#define SPLIT_WINDOW_SIZE (64ul << 30)

/* What a helper hands over besides its table: the few things only lower
 * code can do for the upper half. split/helper.h fills it. */
#define SPLIT_SERVICES_VERSION 1
struct split_services {
	long version;
	/* A new lower thread, parked for good with all but synchronous
	 * signals blocked, whose thread pointer an upper thread borrows:
	 * *TP gets it, *RELEASE the word that, set to 1 and woken
	 * (FUTEX_WAKE), lets the thread end. 0 or -errno. */
	long (*thread_new)(uintptr_t *tp, int **release);
	void (*flush)(void); /* fflush(NULL) */
};

/* What the helper's main calls with its table; it does not return. */
typedef void (*split_handoff_fn)(void *const *table, long n,
				 const struct split_services *svc);

/* Loads HELPER (a PIE) into the window and runs it up to its hand-off.
 * ARGS (NULL-terminated, may be NULL) follow the hand-off address in its
 * argv. Returns the number of functions in its table, or -1 with the
 * reason in split_error(). Once per process. */
long split_load(const char *helper, const char *const *args);

/* The reason the last split_load failed. */
const char *split_error(void);

/* Function I of the lower half's table, or NULL. */
void *split_fn(long i);

/* --- crossing --------------------------------------------------------- */

typedef uintptr_t split_token; /* the upper thread pointer to go back to */

/* This thread's lower thread pointer (0 until its first crossing), the
 * switch method, the crossing count: what the inline crossing needs. */
extern __thread uintptr_t split_tp_lower
	__attribute__((tls_model("initial-exec")));
extern char split_fsgsbase;
extern uint64_t split_ncross;

/* The slow path of the first crossing of a thread: makes its lower thread
 * pointer (thread.c). Aborts with a message if there is no lower half. */
uintptr_t split_thread_attach(void);

/* Sets the thread pointer without touching TLS or errno: wrfsbase when the
 * CPU and kernel allow it, else arch_prctl(ARCH_SET_FS) as a raw call. */
static inline __attribute__((always_inline)) void split_set_tp(uintptr_t tp)
{
	if (split_fsgsbase) {
		__asm__ volatile("wrfsbase %0" : : "r"(tp) : "memory");
	} else {
		long r;
		__asm__ volatile("syscall"
				 : "=a"(r)
				 : "a"(158 /* arch_prctl */),
				   "D"(0x1002 /* ARCH_SET_FS */), "S"(tp)
				 : "rcx", "r11", "memory");
		(void)r;
	}
}

/* The current thread pointer, from the TCB's pointer to itself (%fs:0):
 * ARCH_GET_FS would be a system call. */
static inline __attribute__((always_inline)) uintptr_t split_get_tp(void)
{
	uintptr_t tp;
	__asm__ volatile("movq %%fs:0, %0" : "=r"(tp));
	return tp;
}

/* Into the lower half; the "memory" clobbers keep the compiler from moving
 * upper TLS accesses across the switch. */
static inline __attribute__((always_inline)) split_token split_enter(void)
{
	uintptr_t up = split_get_tp(), low = split_tp_lower;

	if (__builtin_expect(!low, 0))
		low = split_thread_attach();
	__atomic_add_fetch(&split_ncross, 1, __ATOMIC_RELAXED);
	split_set_tp(low);
	return up;
}

/* Back to the upper half. */
static inline __attribute__((always_inline)) void split_leave(split_token t)
{
	split_set_tp(t);
}

/* FN(a0, ..., a4), a lower-half function taking up to five integer or
 * pointer arguments and returning an integer, crossed as above. */
long split_call(void *fn, long a0, long a1, long a2, long a3, long a4);
#define split_call0(fn) split_call((fn), 0, 0, 0, 0, 0)
#define split_call1(fn, a) split_call((fn), (long)(a), 0, 0, 0, 0)
#define split_call2(fn, a, b) split_call((fn), (long)(a), (long)(b), 0, 0, 0)
#define split_call3(fn, a, b, c) \
	split_call((fn), (long)(a), (long)(b), (long)(c), 0, 0)

/* The lower thread pointer this thread would use, or 0 (for tests). */
uintptr_t split_thread_lower_tp(void);

/* For a call from the lower half back into the upper half (an MPI user
 * callback): the calling thread's upper thread pointer, found from the
 * lower one in place (the current one if it is already an upper one), or
 * 0 for a thread of the lower half's own. No TLS, no errno, no libc. */
uintptr_t split_upper_tp(void);

/* Flushes the lower half's stdio (its exit() never runs). */
void split_flush(void);

/* --- what the lower half holds ---------------------------------------- */

/* Does [p, p + len) lie inside the window? */
int split_in_window(uintptr_t p, size_t len);

/* Is FD a descriptor the lower half opened (and has not closed)? */
int split_is_lower_fd(int fd);

/* Marks FD as the lower half's: one it inherited rather than opened
 * (Hydra's PMI_FD), so that a checkpoint leaves it alone. */
void split_add_lower_fd(int fd);

/* The lower half's descriptors, ascending, up to MAX of them into FDS;
 * returns how many there are. */
int split_lower_fds(int *fds, int max);
/* The TIDs of the lower half's own threads (not the upper threads that
 * borrow lower thread pointers): how many (all of them, even past max),
 * writing up to max; -1 before split_load. */
int split_lower_tids(int *tids, int max);

/* In a process restarted from an image of the upper half: the lower half
 * was not saved, and neither were its threads, descriptors, handlers, the
 * seccomp filter or the SIGSYS handler. Forget all of it, so that
 * split_load can load a new one. No other thread may cross meanwhile; the
 * upper threads' lower thread pointers are cleared (they attach again). */
void split_forget(void);

/* The environment split_load gives the lower half (NULL: the process's):
 * after a restart, the new job's (its launcher's PMI variables). */
extern char *const *split_environ;

/* The signals the lower half has set a handler or SIG_IGN for: bit
 * SIG - 1. Where the application has its own, the application's runs
 * (signal.c), except for faults raised in lower code. */
uint64_t split_lower_signals(void);

/* --- statistics ------------------------------------------------------- */

/* The trapped calls, as counted by trap.c. */
enum split_trap {
	SPLIT_MMAP,
	SPLIT_MUNMAP,
	SPLIT_MREMAP,
	SPLIT_BRK,
	SPLIT_SHMAT,
	SPLIT_SHMDT,
	SPLIT_SIGACTION,   /* the lower half's */
	SPLIT_EXIT,
	SPLIT_FD,          /* descriptor calls of the lower half (fd.c) */
	SPLIT_UPPER_SIGACTION, /* the application's, trapped from anywhere */
	SPLIT_SIGMASK,     /* the lower half's rt_sigprocmask (never blocks SIGSYS) */
	SPLIT_NTRAPS
};

struct split_stats {
	uint64_t crossings;             /* split_enter()s */
	uint64_t trapped[SPLIT_NTRAPS]; /* system calls, by kind */
	uint64_t refused;    /* lower-half calls that reached out of the window */
	uint64_t signals_lower;  /* handlers run in the lower half */
	uint64_t signals_upper;  /* handlers run in the upper half */
	uint64_t signals_forwarded; /* sent on from lower-only threads */
	uint64_t fd_untracked; /* lower descriptors too high to track */
	long threads;        /* upper threads with a lower thread pointer */
	size_t window_free;  /* bytes of the window not in use */
	int fsgsbase;        /* the thread pointer switch uses wrfsbase */
};
void split_stats(struct split_stats *st);

#endif
