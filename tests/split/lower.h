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
	L_NFUNCS
};

/* Calls run on the caller's stack (a crossing switches the thread pointer
 * only), so W_ENV, the lower half's environment, stands for the lower
 * half's own initial stack. */
enum where { W_SMALL, W_LARGE, W_ENV, W_TLS, W_BRK, W_NWHERE };

#endif
