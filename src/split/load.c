/*
 * Loading the lower half: a userland exec into the window.
 *
 * The kernel's execve would replace the process, so we do its work
 * ourselves: map a second copy of the dynamic loader and the helper (a PIE)
 * into the window from their ELF program headers, build a fresh initial
 * stack inside the window (argc, argv, envp, auxv), and jump to the second
 * loader's entry. It maps the helper's libraries, including a second libc,
 * sets up a thread pointer of its own and runs the helper's main, which
 * hands its function table back (split.h).
 *
 * What the second loader and libc change that is the process's, not the
 * thread's, and what we do about it:
 *   - every mapping: confined to the window by trap.c's filter, installed
 *     before the jump;
 *   - the thread pointer: switch.S keeps it and puts ours back;
 *   - the robust-futex list head and the TID address of this thread, which
 *     the second libc registers for its own TCB: saved here and put back;
 *   - rseq: the second registration fails (already registered), which the
 *     second libc takes as "no rseq", harmlessly;
 *   - signal handlers: recorded per half, run by a wrapper (signal.c).
 * Both libcs must agree on the stack canary and the pointer guard, which
 * libc derives from AT_RANDOM: the lower half gets the same 16 bytes.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "split/internal.h"

#define LOWER_LOADER "/lib64/ld-linux-x86-64.so.2"
#define STACK_SIZE (8ul << 20)
#define MAX_PHDRS 64
#ifndef HWCAP2_FSGSBASE
#define HWCAP2_FSGSBASE (1 << 1)
#endif
#ifndef AT_MINSIGSTKSZ
#define AT_MINSIGSTKSZ 51
#endif

uintptr_t split_upper_fs;
uintptr_t split_lower_fs;
uint64_t split_upper_sigmask;
uint64_t split_ncross;
char split_fsgsbase;
volatile int split_loading;
void *const *split_table;
long split_ntable;
const struct split_services *split_svc;

static char errbuf[512];

struct elf_image {
	uintptr_t base; /* where vaddr 0 lands */
	uintptr_t lo, hi; /* the window range it takes */
	uintptr_t entry, phdr;
	size_t phnum;
};

static __attribute__((format(printf, 1, 2))) void set_error(const char *fmt,
							       ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
}

const char *split_error(void)
{
	return errbuf;
}

static long set_error_errno(const char *what, const char *path, int err)
{
	set_error("split: %s %s: %s", what, path, strerror(err));
	return -1;
}

static int elf_prot(uint32_t flags)
{
	return (flags & PF_R ? PROT_READ : 0) | (flags & PF_W ? PROT_WRITE : 0) |
	       (flags & PF_X ? PROT_EXEC : 0);
}

/* Map one PT_LOAD segment over its window range, as the kernel's ELF loader
 * would: the file's pages, then the rest of the last file page zeroed,
 * then anonymous pages up to p_memsz. */
static int map_segment(int fd, uintptr_t base, const Elf64_Phdr *ph)
{
	uintptr_t start = PAGE_DOWN(base + ph->p_vaddr);
	uintptr_t fend = base + ph->p_vaddr + ph->p_filesz;
	uintptr_t mend = base + ph->p_vaddr + ph->p_memsz;
	int prot = elf_prot(ph->p_flags);

	if (ph->p_filesz) {
		/* writable while we zero the tail of the last file page */
		int p = fend < mend ? prot | PROT_WRITE : prot;
		void *m = mmap((void *)start, PAGE_UP(fend) - start, p,
			       MAP_PRIVATE | MAP_FIXED, fd,
			       PAGE_DOWN(ph->p_offset));
		if (m == MAP_FAILED)
			return -1;
		if (fend < mend) {
			memset((void *)fend, 0, PAGE_UP(fend) - fend);
			if (p != prot &&
			    mprotect((void *)start, PAGE_UP(fend) - start,
				     prot) < 0)
				return -1;
		}
		start = PAGE_UP(fend);
	}
	if (PAGE_UP(mend) > start &&
	    mmap((void *)start, PAGE_UP(mend) - start, prot,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
		 0) == MAP_FAILED)
		return -1;
	return 0;
}

/* Map the ELF shared object or PIE at PATH into the window. */
static int map_elf(const char *path, struct elf_image *im)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[MAX_PHDRS];
	uintptr_t lo = UINTPTR_MAX, hi = 0, where;
	size_t i, sz;
	int fd;

	memset(im, 0, sizeof(*im));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return set_error_errno("cannot open", path, errno);
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr)) {
		set_error("split: %s is not an x86_64 ELF file", path);
		goto err;
	}
	if (eh.e_type != ET_DYN) {
		set_error("split: %s is not position-independent (link it with "
			  "-pie)",
			  path);
		goto err;
	}
	if (eh.e_phnum == 0 || eh.e_phnum > MAX_PHDRS) {
		set_error("split: %s has %u program headers", path, eh.e_phnum);
		goto err;
	}
	sz = eh.e_phnum * sizeof(Elf64_Phdr);
	if (pread(fd, ph, sz, eh.e_phoff) != (ssize_t)sz) {
		set_error("split: %s is truncated (program headers)", path);
		goto err;
	}
	for (i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_vaddr % PAGE != ph[i].p_offset % PAGE) {
			set_error("split: %s: segment %zu is misaligned", path,
				  i);
			goto err;
		}
		if (PAGE_DOWN(ph[i].p_vaddr) < lo)
			lo = PAGE_DOWN(ph[i].p_vaddr);
		if (PAGE_UP(ph[i].p_vaddr + ph[i].p_memsz) > hi)
			hi = PAGE_UP(ph[i].p_vaddr + ph[i].p_memsz);
	}
	if (hi <= lo) {
		set_error("split: %s has nothing to load", path);
		goto err;
	}
	/* the whole span at once: gaps between segments stay reserved */
	where = window_alloc(hi - lo);
	if (!where) {
		set_error("split: no room in the window for %s", path);
		goto err;
	}
	im->base = where - lo;
	im->lo = where;
	im->hi = where + (hi - lo);
	for (i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && map_segment(fd, im->base, &ph[i])) {
			set_error_errno("cannot map", path, errno);
			goto err;
		}
		if (ph[i].p_type == PT_PHDR)
			im->phdr = im->base + ph[i].p_vaddr;
	}
	/* no PT_PHDR: the headers are where the file offset puts them */
	for (i = 0; !im->phdr && i < eh.e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset <= eh.e_phoff &&
		    eh.e_phoff + sz <= ph[i].p_offset + ph[i].p_filesz)
			im->phdr = im->base + ph[i].p_vaddr +
				   (eh.e_phoff - ph[i].p_offset);
	im->phnum = eh.e_phnum;
	im->entry = im->base + eh.e_entry;
	close(fd);
	return 0;
err:
	if (im->lo)
		window_release(im->lo, im->hi - im->lo);
	close(fd);
	return -1;
}

/* The initial stack, built downwards from TOP as the kernel lays it out:
 * strings and AT_RANDOM's bytes at the top, then (16-aligned) argc, argv,
 * NULL, envp, NULL, auxv pairs, AT_NULL. The pointer arrays are gathered
 * upwards from LO meanwhile: the stack is its own scratch, so loading does
 * not touch the upper half's heap. */
struct stack {
	uintptr_t lo, top;
	char **scratch; /* at lo, growing up */
	size_t nscratch;
};

static char *stack_push(struct stack *s, const void *p, size_t n)
{
	uintptr_t used = (uintptr_t)(s->scratch + s->nscratch);
	if (s->top - used < n + 4096) /* keep a page for the frames */
		return NULL;
	s->top -= n;
	memcpy((void *)s->top, p, n);
	return (char *)s->top;
}

static int stack_str(struct stack *s, const char *str)
{
	char *p = stack_push(s, str, strlen(str) + 1);
	if (p)
		s->scratch[s->nscratch++] = p;
	return p ? 0 : -1;
}

/* What a helper must not inherit from the upper half's environment: it
 * would load cairn's runtime, or an auditor, into the lower half. */
static int env_skipped(const char *e)
{
	return !strncmp(e, "LD_PRELOAD=", 11) || !strncmp(e, "LD_AUDIT=", 9);
}

static uintptr_t build_stack(struct stack *s, const char *path,
			     const char *const *argv, int argc,
			     const struct elf_image *prog,
			     const struct elf_image *ldso)
{
	extern char **environ;
	char *const *env = split_environ ? split_environ : environ;
	const char *plat = (const char *)getauxval(AT_PLATFORM);
	char *execfn, *random, *platform = NULL;
	uint64_t aux[64], *sp;
	size_t words, nenv;
	int na = 0, i;

	s->scratch = (char **)s->lo;
	s->nscratch = 0;
	if (stack_str(s, path) < 0)
		goto err;
	for (i = 0; i < argc; i++)
		if (stack_str(s, argv[i]) < 0)
			goto err;
	for (i = 0; env && env[i]; i++)
		if (!env_skipped(env[i]) && stack_str(s, env[i]) < 0)
			goto err;
	if (plat && stack_str(s, plat) < 0)
		goto err;
	if (!(random = stack_push(s, (void *)getauxval(AT_RANDOM), 16)))
		goto err;
	execfn = s->scratch[0];
	if (plat)
		platform = s->scratch[--s->nscratch];
	nenv = s->nscratch - 1 - argc;

#define AUX(k, v)                          \
	do {                               \
		aux[na++] = (k);           \
		aux[na++] = (uint64_t)(v); \
	} while (0)
	AUX(AT_PHDR, prog->phdr);
	AUX(AT_PHENT, sizeof(Elf64_Phdr));
	AUX(AT_PHNUM, prog->phnum);
	AUX(AT_PAGESZ, PAGE);
	AUX(AT_BASE, ldso->base);
	AUX(AT_FLAGS, 0);
	AUX(AT_ENTRY, prog->entry);
	AUX(AT_UID, getuid());
	AUX(AT_EUID, geteuid());
	AUX(AT_GID, getgid());
	AUX(AT_EGID, getegid());
	AUX(AT_SECURE, 0);
	AUX(AT_RANDOM, random);
	AUX(AT_HWCAP, getauxval(AT_HWCAP));
	AUX(AT_HWCAP2, getauxval(AT_HWCAP2));
	AUX(AT_CLKTCK, getauxval(AT_CLKTCK));
	AUX(AT_EXECFN, execfn);
	if (getauxval(AT_SYSINFO_EHDR))
		AUX(AT_SYSINFO_EHDR, getauxval(AT_SYSINFO_EHDR));
	if (platform)
		AUX(AT_PLATFORM, platform);
	if (getauxval(AT_MINSIGSTKSZ))
		AUX(AT_MINSIGSTKSZ, getauxval(AT_MINSIGSTKSZ));
	AUX(AT_NULL, 0);
#undef AUX

	words = 1 + (argc + 1) + (nenv + 1) + na;
	if (s->top - (uintptr_t)(s->scratch + s->nscratch) < words * 8 + 4096)
		goto err;
	sp = (uint64_t *)((s->top - words * 8) & ~15ul);
	s->top = (uintptr_t)sp;
	*sp++ = argc;
	for (i = 0; i < argc; i++)
		*sp++ = (uint64_t)s->scratch[1 + i];
	*sp++ = 0;
	for (size_t j = 0; j < nenv; j++)
		*sp++ = (uint64_t)s->scratch[1 + argc + j];
	*sp++ = 0;
	memcpy(sp, aux, na * 8);
	return s->top;
err:
	set_error("split: the arguments and environment do not fit the "
		  "lower half's %lu MiB stack",
		  STACK_SIZE >> 20);
	return 0;
}

static int done;
char *const *split_environ;

void split_forget(void)
{
	thread_forget();
	window_forget();
	trap_forget();
	signal_forget();
	fd_forget();
	split_upper_fs = split_lower_fs = 0;
	split_loading = 0;
	split_table = NULL;
	split_ntable = 0;
	split_svc = NULL;
	done = 0;
}

long split_load(const char *helper, const char *const *args)
{
	struct elf_image ldso, prog;
	struct stack st = {0};
	const char *argv[64];
	char handoff[32];
	uintptr_t sp, head = 0, tidaddr = 0;
	size_t headlen = 0;
	sigset_t mask;
	long r;
	int argc = 0;

	if (done++) {
		set_error("split: a lower half is already loaded");
		return -1;
	}
	snprintf(handoff, sizeof(handoff), "%#lx", (unsigned long)split_handoff);
	argv[argc++] = helper;
	argv[argc++] = handoff;
	for (; args && *args; args++) {
		if (argc == 63) {
			set_error("split: too many arguments for %s", helper);
			return -1;
		}
		argv[argc++] = *args;
	}
	argv[argc] = NULL;

	r = window_reserve();
	if (r < 0) {
		set_error("split: cannot reserve the lower half's window at "
			  "%#lx (%lu GiB): %s",
			  SPLIT_WINDOW_BASE, SPLIT_WINDOW_SIZE >> 30,
			  r == -EEXIST ? "something is mapped there already"
				       : strerror(-r));
		return -1;
	}
	if (map_elf(LOWER_LOADER, &ldso) < 0 || map_elf(helper, &prog) < 0)
		return -1;
	st.lo = window_alloc(STACK_SIZE);
	if (!st.lo || mmap((void *)st.lo, STACK_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
			   0) == MAP_FAILED) {
		set_error("split: no room for the lower half's stack");
		return -1;
	}
	st.top = st.lo + STACK_SIZE;
	sp = build_stack(&st, helper, argv, argc, &prog, &ldso);
	if (!sp)
		return -1;

	r = trap_install();
	if (r < 0) {
		set_error("split: cannot confine the lower half (seccomp): %s",
			  strerror(-r));
		return -1;
	}
	split_fsgsbase = !!(getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE);
	syscall(SYS_get_robust_list, 0, &head, &headlen);
	prctl(PR_GET_TID_ADDRESS, &tidaddr); /* fails without
						CONFIG_CHECKPOINT_RESTORE */
	sigprocmask(SIG_SETMASK, NULL, &mask);
	memcpy(&split_upper_sigmask, &mask, 8);
	__asm__ volatile("movq %%fs:0, %0" : "=r"(split_upper_fs));

	split_loader_tid = (int)syscall(SYS_gettid);
	split_loading = 1;
	r = split_start(ldso.entry, sp);
	split_loading = 0;

	syscall(SYS_set_robust_list, head, headlen);
	if (tidaddr)
		syscall(SYS_set_tid_address, tidaddr);
	if (r) {
		set_error("split: the lower half %s exited with status %ld "
			  "before handing over its functions%s",
			  helper, r - 1,
			  r - 1 == 127 ? " (127: its loader could not load it or "
					 "a library it needs; see the loader's "
					 "message above)"
				       : "");
		split_lower_fs = split_upper_fs = 0;
		return -1;
	}
	/* a helper built before the services existed leaves garbage there;
	 * the real thing lies in the helper's data, in the window */
	if (!split_in_window((uintptr_t)split_svc, sizeof(*split_svc)) ||
	    split_svc->version != SPLIT_SERVICES_VERSION) {
		set_error("split: the lower half %s speaks another version of "
			  "the hand-off (rebuild it with this split/helper.h)",
			  helper);
		split_svc = NULL;
		return -1;
	}
	thread_find_tid_offset();
	r = thread_setup();
	if (r < 0) {
		set_error("split: the lower half %s cannot make threads: %s",
			  helper, strerror((int)-r));
		split_svc = NULL;
		return -1;
	}
	return split_ntable;
}

void *split_fn(long i)
{
	return i >= 0 && i < split_ntable ? split_table[i] : NULL;
}

void split_stats(struct split_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->crossings = __atomic_load_n(&split_ncross, __ATOMIC_RELAXED);
	for (int i = 0; i < SPLIT_NTRAPS; i++)
		st->trapped[i] =
			__atomic_load_n(&trap_count[i], __ATOMIC_RELAXED);
	st->refused = __atomic_load_n(&trap_refused, __ATOMIC_RELAXED);
	st->signals_lower = __atomic_load_n(&signal_count[0], __ATOMIC_RELAXED);
	st->signals_upper = __atomic_load_n(&signal_count[1], __ATOMIC_RELAXED);
	st->signals_forwarded =
		__atomic_load_n(&signal_count[2], __ATOMIC_RELAXED);
	st->fd_untracked = __atomic_load_n(&fd_untracked, __ATOMIC_RELAXED);
	st->threads = split_nthreads;
	st->window_free = window_free_bytes();
	st->fsgsbase = split_fsgsbase;
}
