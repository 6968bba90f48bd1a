/*
 * FREESTANDING: one raw x86_64 system call, for code that runs where libc
 * must not be called (the restorer, the split process's SIGSYS handler).
 * Returns the kernel's value: negative errno on failure.
 */
#ifndef CAIRN_COMMON_RAWSYS_H
#define CAIRN_COMMON_RAWSYS_H

static inline long raw_sys6(long n, long a, long b, long c, long d, long e, long f)
{
	long r;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return r;
}

#endif
