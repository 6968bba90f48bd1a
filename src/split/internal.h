/*
 * The split process's internal face: what its files share. Everything here
 * may be used from the SIGSYS handler, which runs with the lower half's
 * thread pointer: raw system calls only, no errno, no TLS, no libc.
 */
#ifndef CAIRN_SPLIT_INTERNAL_H
#define CAIRN_SPLIT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/rawsys.h"
#include "split/split.h"

#define PAGE 4096ul
#define PAGE_DOWN(x) ((uintptr_t)(x) & ~(PAGE - 1))
#define PAGE_UP(x) (((uintptr_t)(x) + PAGE - 1) & ~(PAGE - 1))

#define split_sys6 raw_sys6

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
