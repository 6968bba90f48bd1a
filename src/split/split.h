/*
 * The split process: a "lower half" program living inside this process.
 *
 * The upper half (the application and cairn) loads a small helper program,
 * the lower half, into one reserved address window, with its own copy of
 * the dynamic loader and of libc, and calls functions in it. Everything the
 * lower half maps (its loader, its libraries, its heap, its threads' stacks,
 * its shared memory) stays inside the window, so at checkpoint time
 * "everything outside the window" is exactly the upper half. The MPI layer
 * will build on this: the helper is then a program linked against the real
 * MPI (DESIGN.md, "MPI jobs: the split process").
 *
 * The helper's side of the protocol: split_load() runs it as
 *     HELPER 0xADDR ARGS...
 * where 0xADDR is the address of a split_handoff_fn. The helper's main()
 * fills a table with pointers to the functions the upper half may call and
 * calls the hand-off with it, which never returns: split_load() returns in
 * the upper half instead, and the lower half's main thread stays parked
 * there for good. The helper must not exit before that (if it does,
 * split_load fails with its exit status; its atexit handlers and stdio
 * flushing never run: flush what matters before returning from a call).
 *
 * Files: window.c (the reservation and its free list), load.c (userland
 * exec of the helper), switch.S (entering, handing off, crossing), trap.c
 * (the seccomp filter and the SIGSYS handler that confine the lower half).
 *
 * Limits for now: one lower half per process; only the thread that called
 * split_load may call split_call (each upper thread will need its own lower
 * thread pointer); the lower half's signal handlers are recorded but never
 * run; upper signal handlers that run while a call is inside the lower half
 * run with the lower half's thread pointer.
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

/* What the helper's main calls with its table; it does not return. */
typedef void (*split_handoff_fn)(void *const *table, long n);

/* Loads HELPER (a PIE) into the window and runs it up to its hand-off.
 * ARGS (NULL-terminated, may be NULL) follow the hand-off address in its
 * argv. Returns the number of functions in its table, or -1 with the
 * reason in split_error(). Once per process. */
long split_load(const char *helper, const char *const *args);

/* The reason the last split_load failed. */
const char *split_error(void);

/* Function I of the lower half's table, or NULL. */
void *split_fn(long i);

/* Calls FN, a lower-half function taking up to five integer or pointer
 * arguments and returning an integer, with the lower half's thread pointer
 * in place for the duration of the call. */
long split_call(void *fn, long a0, long a1, long a2, long a3, long a4);
#define split_call0(fn) split_call((fn), 0, 0, 0, 0, 0)
#define split_call1(fn, a) split_call((fn), (long)(a), 0, 0, 0, 0)
#define split_call2(fn, a, b) split_call((fn), (long)(a), (long)(b), 0, 0, 0)
#define split_call3(fn, a, b, c) \
	split_call((fn), (long)(a), (long)(b), (long)(c), 0, 0)

/* The confined calls, as counted by trap.c. */
enum split_trap {
	SPLIT_MMAP,
	SPLIT_MUNMAP,
	SPLIT_MREMAP,
	SPLIT_BRK,
	SPLIT_SHMAT,
	SPLIT_SHMDT,
	SPLIT_SIGACTION,
	SPLIT_EXIT,
	SPLIT_NTRAPS
};

struct split_stats {
	uint64_t crossings;             /* split_call()s */
	uint64_t trapped[SPLIT_NTRAPS]; /* lower-half system calls, by kind */
	uint64_t refused;    /* lower-half calls that reached out of the window */
	size_t window_free;  /* bytes of the window not in use */
	int fsgsbase;        /* the thread pointer switch uses wrfsbase */
};
void split_stats(struct split_stats *st);

/* Does [p, p + len) lie inside the window? */
int split_in_window(uintptr_t p, size_t len);

#endif
