/*
 * The split process's internal face: what its files share. Everything here
 * may be used from the SIGSYS handler, which runs with the lower half's
 * thread pointer: raw system calls only, no errno, no TLS, no libc.
 */
#ifndef CAIRN_SPLIT_INTERNAL_H
#define CAIRN_SPLIT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "split/split.h"

#define PAGE 4096ul
#define PAGE_DOWN(x) ((uintptr_t)(x) & ~(PAGE - 1))
#define PAGE_UP(x) (((uintptr_t)(x) + PAGE - 1) & ~(PAGE - 1))

static inline long split_sys6(long n, long a, long b, long c, long d, long e,
			      long f)
{
	long r;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8),
			   "r"(r9)
			 : "rcx", "r11", "memory");
	return r;
}

/* window.c: the reservation, with a first-fit list of its free ranges.
 * Lengths are whole pages. */
int window_reserve(void);                  /* 0 or -errno */
uintptr_t window_alloc(size_t len);        /* 0 if no room */
int window_claim(uintptr_t a, size_t len, int only_if_free); /* 1: was free */
long window_release(uintptr_t a, size_t len); /* 0 or -errno */
size_t window_free_bytes(void);

/* trap.c */
int trap_install(void); /* the SIGSYS handler and the seccomp filter */
extern uint64_t trap_count[SPLIT_NTRAPS];
extern uint64_t trap_refused;

/* switch.S and load.c: the state of the crossing */
extern uintptr_t split_upper_fs; /* the loading thread's thread pointer */
extern uintptr_t split_lower_fs; /* the lower main thread's */
extern uint64_t split_upper_sigmask;
extern uint64_t split_ncross;
extern char split_fsgsbase;
extern volatile int split_loading; /* between entering and the hand-off */
extern void *const *split_table;
extern long split_ntable;

long split_enter(uintptr_t entry, uintptr_t sp);
void split_handoff(void *const *table, long n);
/* Back to split_enter's caller, which returns V. */
__attribute__((noreturn)) void split_return(long v);

#endif
