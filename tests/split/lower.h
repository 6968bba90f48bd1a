/*
 * The table the test helper (lower.c) hands to the upper half
 * (split_test.c): index of each function.
 */
#ifndef SPLIT_TEST_LOWER_H
#define SPLIT_TEST_LOWER_H

enum lower_fn {
	L_ADD,       /* (a, b, c) -> a * b + c */
	L_NOP,       /* () -> 0 */
	L_CHURN,     /* (bytes, seed) -> pieces allocated, or -1 */
	L_THREAD,    /* (x) -> what a lower-half thread made of x, or -1 */
	L_MAPCYCLES, /* (n, size) -> cycles done, or -errno */
	L_MAP_AT,    /* (addr, len) -> mmap(MAP_FIXED) result or -errno */
	L_WHERE,     /* (what) -> an address the lower half uses (enum where) */
	L_FORMAT,    /* (buf, size, x) -> snprintf's result */
	L_SIGACTION, /* (sig) -> 1 if the lower half reads back its handler */
	L_SHM,       /* (size) -> where a SysV segment was attached, or -errno */
	L_MREMAP,    /* (size) -> where a grown mapping moved, or -errno */
	L_BRK0,      /* (n) -> n raw brk(0) calls (trapped, nothing to do) */
	L_MANY,      /* l_many_fn: twelve arguments, some on the stack */
	L_GUARDS,    /* (out[2]) -> the canary and pointer guard this TCB holds */
	L_ERRNO,     /* (v) -> sets the lower errno to v, returns &errno */
	L_TP,        /* () -> the lower thread pointer in use (%fs:0) */
	L_TLS,       /* (v) -> a lower __thread variable's old value; sets v */
	L_SIGUSR2,   /* () -> installs a counting SIGUSR2 handler: 1, or -errno */
	L_SIGCOUNT,  /* (tp_out) -> SIGUSR2 deliveries; *tp_out: the last one's
			thread pointer */
	L_SPIN,      /* (ms) -> spins ms milliseconds inside the lower half */
	L_FDS,       /* (out[16]) -> descriptors opened (some closed again) */
	L_LTHREAD,   /* (ms) -> the tid of a lower-only thread spinning ms
			milliseconds (detached) */
	L_FAULT,     /* (0) -> installs a SIGSEGV handler that unprotects the
			page, 1; (1) -> writes to a read-only page of its
			own and returns how many faults its handler saw */
	L_NFUNCS
};

/* Calls run on the caller's stack (a crossing switches the thread pointer
 * only), so W_ENV, the lower half's environment, stands for the lower
 * half's own initial stack. */
typedef long (*l_many_fn)(long, long, long, long, long, long, double, long,
			  double, long, long, long);

/* L_FDS fills out[] with: the pipe's two ends, the socketpair's two, an
 * eventfd, an epoll, /dev/null, its dup, a dup2 target, an fcntl F_DUPFD
 * (these ten stay open), then two closed ones: the count is 12. */
#define L_FDS_OPEN 10

enum where { W_SMALL, W_LARGE, W_ENV, W_TLS, W_BRK, W_NWHERE };

#endif
