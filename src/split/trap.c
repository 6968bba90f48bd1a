/*
 * SIGNAL-SAFE: confinement of the lower half to the window.
 *
 * A seccomp filter traps the system calls that create or remove mappings
 * (mmap, munmap, mremap, brk, shmat, shmdt), plus rt_sigaction and
 * exit_group, but only when the instruction pointer lies inside the window:
 * the upper half pays for the filter and nothing else. The SIGSYS handler
 * then performs the call itself, inside the window, and puts the result in
 * the saved rax, which the kernel restores on return from the handler.
 *
 * The handler runs on a lower-half thread, with the lower half's thread
 * pointer: raw system calls only, no errno, no TLS, and no stack protector
 * (this file is built with -fno-stack-protector). It never calls libc; only
 * trap_install, at the end, which runs in the upper half, does.
 *
 * Why each call is trapped:
 *   mmap      without MAP_FIXED, the kernel would pick an address anywhere;
 *             it gets one from the window's free list instead. MAP_FIXED
 *             and MAP_FIXED_NOREPLACE are allowed inside the window only
 *             (NOREPLACE would always fail on the reservation: it becomes
 *             MAP_FIXED over free window space).
 *   munmap    would punch a hole in the reservation: re-reserve instead.
 *   mremap    a growing mapping would move anywhere: move it to window
 *             space; a shrinking one leaves a hole: re-reserve the tail.
 *   brk       the heap is process-wide: the lower half gets a private
 *             emulated heap inside the window.
 *   shmat     SysV segments bypass mmap: place them with SHM_REMAP.
 *   shmdt     leaves a hole: re-reserve.
 *   rt_sigaction  trapped from everywhere, the application's calls too
 *             (but not signal.c's own, which carry a cookie): each half's
 *             dispositions are recorded and the kernel gets a wrapper that
 *             runs each half's handlers with its own thread pointer.
 *   open, socket, pipe, dup, close and the rest of the calls that create
 *             or free descriptors: performed and recorded (fd.c).
 *   exit_group    before the hand-off, a helper that fails (a missing
 *             library, a bad argument) would take the whole process with
 *             it; split_load reports its status instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <string.h>

#include "split/internal.h"

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1
#endif

/* The lower half's emulated heap: its break moves inside a range taken
 * from the window on the first brk. Past it, malloc falls back to mmap. */
#define HEAP_MAX (4ul << 30)

/* SysV attachments, whose size shmdt does not give. */
#define MAX_SHM 256

uint64_t trap_count[SPLIT_NTRAPS];
uint64_t trap_refused;

static uintptr_t heap_base, heap_cur, heap_end; /* heap_end: mapped up to */
static int heap_lock;

static struct {
	uintptr_t addr;
	size_t len;
} shm[MAX_SHM];
static int shm_lock;

static void spin_take(int *l)
{
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		__builtin_ia32_pause();
}

static void spin_give(int *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

static long refuse(void)
{
	__atomic_add_fetch(&trap_refused, 1, __ATOMIC_RELAXED);
	return -EPERM;
}

static long do_mmap(uintptr_t addr, size_t len, long prot, long flags, long fd,
		    long off)
{
	size_t n = PAGE_UP(len);
	int was_free, noreplace = !!(flags & MAP_FIXED_NOREPLACE);
	long r;

	if (!len || n < len)
		return -EINVAL;
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		if (addr & (PAGE - 1))
			return -EINVAL;
		if (!split_in_window(addr, n))
			return refuse();
		/* as in the kernel, NOREPLACE wins over a MAP_FIXED beside it */
		was_free = window_claim(addr, n, noreplace);
		if (was_free < 0)
			return was_free;
		if (noreplace && !was_free)
			return -EEXIST;
	} else {
		/* honour a hint that names free window space, as the kernel
		 * would; otherwise first fit */
		int hint_ok = addr && !(addr & (PAGE - 1)) &&
			      split_in_window(addr, n) &&
			      window_claim(addr, n, 1) == 1;
		if (!hint_ok && !(addr = window_alloc(n)))
			return -ENOMEM;
		was_free = 1;
	}
	flags = (flags & ~MAP_FIXED_NOREPLACE) | MAP_FIXED;
	r = split_sys6(SYS_mmap, addr, len, prot, flags, fd, off);
	if (r < 0 && r > -4096 && was_free == 1)
		window_release(addr, n);
	return r;
}

static long do_munmap(uintptr_t addr, size_t len)
{
	if ((addr & (PAGE - 1)) || !len)
		return -EINVAL;
	if (!split_in_window(addr, PAGE_UP(len)))
		return refuse();
	return window_release(addr, PAGE_UP(len));
}

static long do_mremap(uintptr_t old, size_t olen, size_t nlen, long flags,
		      uintptr_t dest)
{
	size_t on = PAGE_UP(olen), nn = PAGE_UP(nlen);
	long r;

	if ((old & (PAGE - 1)) || !nlen)
		return -EINVAL;
	if (!split_in_window(old, on ? on : PAGE))
		return refuse();
	if (!(flags & MREMAP_FIXED) && nn <= on && on) {
		/* shrink (or same size) in place: the tail goes back */
		if (nn < on) {
			r = window_release(old + nn, on - nn);
			if (r < 0)
				return r;
		}
		return old;
	}
	if (flags & MREMAP_FIXED) {
		if (!(flags & MREMAP_MAYMOVE) || (dest & (PAGE - 1)))
			return -EINVAL;
		if (!split_in_window(dest, nn))
			return refuse();
		if (window_claim(dest, nn, 0) < 0)
			return -ENOMEM;
	} else {
		/* growing: the space after a mapping is reserved, so the
		 * kernel could never grow it in place; move it to free space */
		if (!(flags & MREMAP_MAYMOVE))
			return -ENOMEM;
		dest = window_alloc(nn);
		if (!dest)
			return -ENOMEM;
	}
	r = split_sys6(SYS_mremap, old, olen, nlen,
		       flags | MREMAP_MAYMOVE | MREMAP_FIXED, dest, 0);
	if (r < 0 && r > -4096) {
		window_release(dest, nn);
		return r;
	}
	/* the old range is now a hole, unless it was a duplication (old
	 * length 0) or the caller asked to keep it (MREMAP_DONTUNMAP) */
	if (on && !(flags & MREMAP_DONTUNMAP))
		window_release(old, on);
	return r;
}

static long do_brk(uintptr_t want)
{
	uintptr_t end;
	long r;

	spin_take(&heap_lock);
	if (!heap_base) {
		heap_base = window_alloc(HEAP_MAX);
		heap_cur = heap_end = heap_base;
	}
	if (!heap_base || want < heap_base || want > heap_base + HEAP_MAX)
		goto out; /* the kernel's answer to a bad brk: the old break */
	end = PAGE_UP(want);
	if (end != heap_end) {
		int grow = end > heap_end;
		uintptr_t lo = grow ? heap_end : end, hi = grow ? end : heap_end;
		r = split_sys6(SYS_mmap, lo, hi - lo,
			       grow ? PROT_READ | PROT_WRITE : PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED |
				       (grow ? 0 : MAP_NORESERVE),
			       -1, 0);
		if (r < 0 && r > -4096)
			goto out;
		heap_end = end;
	}
	heap_cur = want;
out:
	r = (long)heap_cur;
	spin_give(&heap_lock);
	return r;
}

static long do_shmat(long id, uintptr_t addr, long flg)
{
	struct shmid_ds ds;
	size_t n;
	long r;
	int i, was_free = 1;

	r = split_sys6(SYS_shmctl, id, IPC_STAT, (long)&ds, 0, 0, 0);
	if (r < 0)
		return r;
	n = PAGE_UP(ds.shm_segsz);
	if (addr) {
		if (flg & SHM_RND)
			addr = PAGE_DOWN(addr); /* SHMLBA is a page on x86_64 */
		if ((addr & (PAGE - 1)) || !split_in_window(addr, n))
			return addr & (PAGE - 1) ? -EINVAL : refuse();
		was_free = window_claim(addr, n, !(flg & SHM_REMAP));
		if (was_free < 0)
			return was_free;
		if (!was_free && !(flg & SHM_REMAP))
			return -EINVAL; /* the kernel's answer to a busy range */
	} else if (!(addr = window_alloc(n))) {
		return -ENOMEM;
	}
	r = split_sys6(SYS_shmat, id, addr, flg | SHM_REMAP, 0, 0, 0);
	if (r < 0 && r > -4096) {
		if (was_free == 1)
			window_release(addr, n);
		return r;
	}
	spin_take(&shm_lock);
	for (i = 0; i < MAX_SHM && shm[i].len; i++)
		;
	if (i < MAX_SHM) { /* else its shmdt leaves a hole: a leak, not harm */
		shm[i].addr = addr;
		shm[i].len = n;
	}
	spin_give(&shm_lock);
	return r;
}

static long do_shmdt(uintptr_t addr)
{
	size_t n = 0;
	long r;

	if (!split_in_window(addr, PAGE))
		return refuse();
	r = split_sys6(SYS_shmdt, addr, 0, 0, 0, 0, 0);
	if (r < 0)
		return r;
	spin_take(&shm_lock);
	for (int i = 0; i < MAX_SHM; i++)
		if (shm[i].len && shm[i].addr == addr) {
			n = shm[i].len;
			shm[i].len = 0;
			break;
		}
	spin_give(&shm_lock);
	if (n)
		window_release(addr, n);
	return 0;
}

static long do_exit_group(long status)
{
	if (split_loading) {
		/* undo the handler's blocking of SIGSYS (we leave it by a jump,
		 * not by sigreturn), then resume split_load */
		split_sys6(SYS_rt_sigprocmask, SIG_SETMASK,
			   (long)&split_upper_sigmask, 0, 8, 0, 0);
		split_return(1 + (status & 0xff));
	}
	return split_sys6(SYS_exit_group, status, 0, 0, 0, 0, 0);
}

/* The lower half's rt_sigprocmask, done on the mask the handler returns
 * to (a mask set inside a handler would be undone by sigreturn). SIGSYS
 * stays unblocked: a trapped call with SIGSYS blocked makes the kernel kill
 * the process, and the lower libc blocks every signal around thread
 * creation (ROMIO's AIO threads, UCX's), then maps the new stack. */
static long do_sigprocmask(void *uctx, long how, const uint64_t *set, uint64_t *old,
			   long size)
{
	uint64_t *mask = (uint64_t *)&((ucontext_t *)uctx)->uc_sigmask;
	uint64_t cur = *mask, next = cur;

	if (size != 8)
		return -EINVAL;
	if (set) {
		if (how == SIG_BLOCK)
			next = cur | *set;
		else if (how == SIG_UNBLOCK)
			next = cur & ~*set;
		else if (how == SIG_SETMASK)
			next = *set;
		else
			return -EINVAL;
	}
	if (old)
		*old = cur;
	/* the kernel never blocks KILL and STOP; we never block SIGSYS */
	next &= ~((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1)) | (1ull << (SIGSYS - 1)));
	*mask = next;
	return 0;
}

static void on_sigsys(int sig, siginfo_t *si, void *uctx)
{
	greg_t *g = ((ucontext_t *)uctx)->uc_mcontext.gregs;
	long a0 = g[REG_RDI], a1 = g[REG_RSI], a2 = g[REG_RDX];
	long a3 = g[REG_R10], a4 = g[REG_R8], a5 = g[REG_R9];
	int lower = split_in_window((uintptr_t)si->si_call_addr, 1);
	enum split_trap kind;
	long r;

	if (si->si_code != SYS_SECCOMP) {
		signal_sigsys_other(sig, si, uctx);
		return;
	}
	if (si->si_syscall == SYS_rt_sigaction) {
		kind = lower ? SPLIT_SIGACTION : SPLIT_UPPER_SIGACTION;
		r = signal_set(lower, a0, (const struct ksigaction *)a1,
			       (struct ksigaction *)a2, a3);
		goto done;
	}
	if (!lower) {
		signal_sigsys_other(sig, si, uctx);
		return;
	}
	thread_note_lower();
	switch (si->si_syscall) {
	case SYS_mmap:
		kind = SPLIT_MMAP;
		r = do_mmap(a0, a1, a2, a3, a4, a5);
		break;
	case SYS_munmap:
		kind = SPLIT_MUNMAP;
		r = do_munmap(a0, a1);
		break;
	case SYS_mremap:
		kind = SPLIT_MREMAP;
		r = do_mremap(a0, a1, a2, a3, a4);
		break;
	case SYS_brk:
		kind = SPLIT_BRK;
		r = do_brk(a0);
		break;
	case SYS_shmat:
		kind = SPLIT_SHMAT;
		r = do_shmat(a0, a1, a2);
		break;
	case SYS_shmdt:
		kind = SPLIT_SHMDT;
		r = do_shmdt(a0);
		break;
	case SYS_rt_sigprocmask:
		kind = SPLIT_SIGMASK;
		r = do_sigprocmask(uctx, a0, (const uint64_t *)a1, (uint64_t *)a2, a3);
		break;
	case SYS_exit_group:
		__atomic_add_fetch(&trap_count[SPLIT_EXIT], 1, __ATOMIC_RELAXED);
		r = do_exit_group(a0);
		return;
	default:
		if (!fd_trapped(si->si_syscall)) {
			signal_sigsys_other(sig, si, uctx);
			return;
		}
		kind = SPLIT_FD;
		r = fd_call(si->si_syscall, a0, a1, a2, a3, a4, a5);
	}
done:
	__atomic_add_fetch(&trap_count[kind], 1, __ATOMIC_RELAXED);
	g[REG_RAX] = r;
}

/* The filter, built at install time. It looks at the system call number
 * first and, for every call it never traps, answers ALLOW without reading
 * anything else: the kernel (Linux >= 5.11) sees that such a call's verdict
 * depends on its number alone and caches it in a bitmap, so the
 * application's calls, and the arch_prctl of every crossing, skip the
 * filter altogether (measured here, without FSGSBASE: a crossing's two
 * arch_prctl calls took 100-250 ns more when every call read the
 * instruction pointer; an 8-byte MPI ping-pong's half round trip lost
 * about 0.3 us by the change). Then:
 * rt_sigaction traps from anywhere (unless it carries signal.c's cookie);
 * the lower half's calls that map or unmap memory, create or close
 * descriptors (fcntl: F_DUPFD and F_DUPFD_CLOEXEC only) and exit_group
 * trap when the instruction pointer is in the window, which is a multiple
 * of 4 GiB at a 4 GiB boundary, so the high half of the instruction
 * pointer decides. */
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define ARG_HI(i) (ARG_LO(i) + 4)
#define IP_HI (offsetof(struct seccomp_data, instruction_pointer) + 4)
#define WIN_HI_LO ((uint32_t)(SPLIT_WINDOW_BASE >> 32))
#define WIN_HI_END ((uint32_t)((SPLIT_WINDOW_BASE + SPLIT_WINDOW_SIZE) >> 32))
_Static_assert((SPLIT_WINDOW_BASE | SPLIT_WINDOW_SIZE) % (1ul << 32) == 0,
	       "the filter needs a window aligned to 4 GiB");

static const int lower_trapped[] = {
	SYS_mmap, SYS_munmap, SYS_mremap, SYS_brk, SYS_shmat, SYS_shmdt,
	SYS_exit_group, SYS_open, SYS_openat, SYS_openat2, SYS_creat,
	SYS_socket, SYS_socketpair, SYS_accept, SYS_accept4, SYS_pipe,
	SYS_pipe2, SYS_eventfd, SYS_eventfd2, SYS_epoll_create,
	SYS_epoll_create1, SYS_dup, SYS_dup2, SYS_dup3, SYS_memfd_create,
	SYS_timerfd_create, SYS_signalfd, SYS_signalfd4, SYS_inotify_init,
	SYS_inotify_init1, SYS_fanotify_init, SYS_userfaultfd,
	SYS_perf_event_open, SYS_pidfd_open, SYS_pidfd_getfd,
	SYS_io_uring_setup, SYS_close, SYS_close_range, SYS_rt_sigprocmask,
};

#define NLOWER (sizeof(lower_trapped) / sizeof(lower_trapped[0]))
#define MAX_FILTER (NLOWER + 32)

/* Jump targets: the next instruction, or a label. */
enum { NEXT, TRAP, ALLOW, SIGACT, FCNTL, IN_WINDOW, NLABELS };

struct fbuild {
	struct sock_filter f[MAX_FILTER];
	unsigned char jt[MAX_FILTER], jf[MAX_FILTER];
	int label[NLABELS];
	int n;
};

static void emit(struct fbuild *b, uint16_t code, uint32_t k, int jt, int jf)
{
	b->f[b->n] = (struct sock_filter)BPF_JUMP(code, k, 0, 0);
	b->jt[b->n] = jt;
	b->jf[b->n] = jf;
	b->n++;
}

#define LABEL(b, l) ((b)->label[(l)] = (b)->n)
#define LD(b, off) emit(b, BPF_LD | BPF_W | BPF_ABS, (off), NEXT, NEXT)
#define JEQ(b, k, t, f) emit(b, BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f))
#define JGE(b, k, t, f) emit(b, BPF_JMP | BPF_JGE | BPF_K, (k), (t), (f))
#define RET(b, v) emit(b, BPF_RET | BPF_K, (v), NEXT, NEXT)

/* Returns 0, or -1 if a jump does not fit (it cannot, but say so). */
static int build_filter(struct fbuild *b)
{
	b->n = 0;
	LD(b, offsetof(struct seccomp_data, arch));
	JEQ(b, AUDIT_ARCH_X86_64, NEXT, ALLOW);
	/* the number, and nothing else, for every call that is never
	 * trapped: the kernel's verdict cache depends on it */
	LD(b, offsetof(struct seccomp_data, nr));
	JEQ(b, SYS_rt_sigaction, SIGACT, NEXT);
	JEQ(b, SYS_fcntl, FCNTL, NEXT);
	for (size_t i = 0; i < NLOWER; i++)
		JEQ(b, lower_trapped[i], IN_WINDOW, i + 1 < NLOWER ? NEXT : ALLOW);
	LABEL(b, SIGACT);
	LD(b, ARG_LO(5));
	JEQ(b, (uint32_t)TRAP_COOKIE, NEXT, TRAP);
	LD(b, ARG_HI(5));
	JEQ(b, (uint32_t)(TRAP_COOKIE >> 32), ALLOW, TRAP);
	LABEL(b, FCNTL);
	LD(b, ARG_LO(1));
	JEQ(b, F_DUPFD, IN_WINDOW, NEXT);
	JEQ(b, F_DUPFD_CLOEXEC, IN_WINDOW, ALLOW);
	LABEL(b, IN_WINDOW);
	LD(b, IP_HI);
	JGE(b, WIN_HI_LO, NEXT, ALLOW);
	JGE(b, WIN_HI_END, ALLOW, TRAP);
	LABEL(b, ALLOW);
	RET(b, SECCOMP_RET_ALLOW);
	LABEL(b, TRAP);
	RET(b, SECCOMP_RET_TRAP);
	/* labels to offsets, for the conditional jumps */
	for (int i = 0; i < b->n; i++) {
		if (BPF_CLASS(b->f[i].code) != BPF_JMP)
			continue;
		for (int k = 0; k < 2; k++) {
			int t = k ? b->jf[i] : b->jt[i];
			int off = t == NEXT ? 0 : b->label[t] - (i + 1);
			if (off < 0 || off > 255)
				return -1;
			if (k)
				b->f[i].jf = (uint8_t)off;
			else
				b->f[i].jt = (uint8_t)off;
		}
	}
	return 0;
}

/* Called from the upper half. The SIGSYS handler is installed with a raw
 * rt_sigaction and our own restorer, not through libc's sigaction: a
 * preloaded library (cairn's runtime) may wrap sigaction and put a
 * trampoline of its own before the handler, and that trampoline would run
 * with the lower half's thread pointer (touching its TLS corrupts the
 * lower libc's). no_new_privs and the
 * filter are permanent and inherited by children: a setuid program the
 * application starts loses its privileges. TSYNC gives the filter to every
 * thread of the process. Returns 0 or -errno. */
int trap_install(void)
{
	static struct fbuild b;
	struct sock_fprog prog;
	struct ksigaction sa = {
		.handler = (uintptr_t)on_sigsys,
		.flags = SA_SIGINFO | SA_RESTART | SA_RESTORER,
		.restorer = (uintptr_t)split_restore_rt,
		.mask = 0,
	};
	long r;

	if (build_filter(&b) < 0)
		return -EINVAL;
	prog.len = b.n;
	prog.filter = b.f;
	/* the application's dispositions so far, then ours for SIGSYS */
	r = signal_import();
	if (r < 0)
		return (int)r;
	/* before the filter exists: no cookie needed yet */
	r = split_sys6(SYS_rt_sigaction, SIGSYS, (long)&sa, 0, 8, 0, 0);
	if (r < 0)
		return (int)r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
		    SECCOMP_FILTER_FLAG_TSYNC, &prog);
	if (r < 0)
		return -errno;
	return r > 0 ? -ESRCH : 0; /* TSYNC: thread r could not take it */
}

/* After a restart: no heap, no attachments; the filter and the SIGSYS
 * handler are gone with the old process (trap_install makes them again). */
void trap_forget(void)
{
	heap_base = heap_cur = heap_end = 0;
	heap_lock = 0;
	memset(shm, 0, sizeof(shm));
	shm_lock = 0;
}
