/*
 * The split process's internal face: what its files share. What window.c,
 * trap.c, signal.c and fd.c provide, and thread.c's lookups, run in the
 * SIGSYS handler or in signal handlers, with either half's thread pointer:
 * raw system calls only, no errno, no TLS, no libc. trap_install,
 * signal_import and thread_setup run in the upper half, from split_load.
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

/* After a restart, before loading a new lower half: each file forgets
 * the old one (split_forget). */
void window_forget(void);
void trap_forget(void);
void signal_forget(void);
void fd_forget(void);
void thread_forget(void);

/* trap.c */
int trap_install(void); /* the SIGSYS handler and the seccomp filter */
extern uint64_t trap_count[SPLIT_NTRAPS];
extern uint64_t trap_refused;
/* rt_sigaction calls that carry this in their sixth argument (which the
 * kernel ignores) pass the filter: ours, installing the wrapper */
#define TRAP_COOKIE 0x53504c4954434f4bul /* "SPLITCOK" */

/* The kernel's struct sigaction. */
#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif

/* The kernel's struct sigaction (rt_sigaction's). */
struct ksigaction {
	uintptr_t handler;
	unsigned long flags;
	uintptr_t restorer;
	uint64_t mask;
};

/* signal.c: both halves' dispositions, and the wrapper that runs each
 * half's handler with its own thread pointer. */
int signal_import(void); /* the application's, before the filter */
long signal_set(int lower, long sig, const struct ksigaction *act,
		struct ksigaction *oact, size_t setsize);
/* What to do with a SIGSYS that is not a lower-half trap. */
void signal_sigsys_other(int sig, void *si, void *uctx);
extern uint64_t signal_count[3]; /* lower, upper, forwarded */
void split_restore_rt(void);      /* switch.S: the signal restorer */

/* fd.c: the lower half's descriptor calls, performed and recorded. */
int fd_trapped(long nr);
long fd_call(long nr, long a0, long a1, long a2, long a3, long a4, long a5);
extern uint64_t fd_untracked;

/* thread.c: the pairs (upper thread pointer, lower thread pointer). */
uintptr_t thread_upper_of(uintptr_t lower); /* 0: a lower-only thread */
uintptr_t thread_lower_of(uintptr_t upper); /* 0: none yet */
int thread_setup(void); /* after the hand-off, on the loading thread */
void thread_note_lower(void); /* SIGSYS handler: a lower thread's own call? */
void thread_find_tid_offset(void);
extern int split_loader_tid;  /* the loading thread, for forwarded signals */
extern long split_nthreads;

/* switch.S and load.c: the state of the crossing */
extern uintptr_t split_upper_fs; /* the loading thread's thread pointer */
extern uintptr_t split_lower_fs; /* the lower main thread's */
extern uint64_t split_upper_sigmask;
extern volatile int split_loading; /* between entering and the hand-off */
extern void *const *split_table;
extern long split_ntable;
extern const struct split_services *split_svc;

void split_set_fs(uintptr_t tp); /* switch.S, callable from asm and C */
long split_start(uintptr_t entry, uintptr_t sp);
void split_handoff(void *const *table, long n,
		   const struct split_services *svc);
/* Back to split_start's caller, which returns V. */
__attribute__((noreturn)) void split_return(long v);

#endif
