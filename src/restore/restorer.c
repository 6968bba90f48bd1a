/*
 * FREESTANDING: the restorer. No libc, raw system calls only, no stack
 * protector; everything it needs is in the plan (plan.h).
 *
 * `cairn restart` execs this small static program (linked low, at
 * RESTORER_BASE, and started without address randomization so that the
 * kernel's brk begins right after it, below any image's heap). It:
 *   1. maps its scratch hole and reads the plan into it, moves onto a stack
 *      there, blocks every signal;
 *   2. unmaps everything but itself, the hole and the kernel's vDSO pages;
 *   3. moves the kernel's brk to the image's, so the program's later
 *      brk()/sbrk() calls keep working;
 *   4. moves the vDSO and vvar pages to where the image had them;
 *   5. maps every region at its address and reads the stored pages into it,
 *      then sets the final protections;
 *   6. sets the signal actions, starts one kernel thread per saved thread,
 *      each with its thread pointer, robust list, rseq area, alternate stack
 *      and name, and jumps each into its saved context, where the runtime
 *      takes over (threads.c, dump.c).
 * Any failure ends the process with exit status 125 and a message.
 */
#include <stddef.h>
#include <stdint.h>

#include "restore/plan.h"
#include "restore/sys.h"

/* xxHash's own single-header implementation, compiled in: the restorer
 * checks the page data as it reads it. */
#define XXH_INLINE_ALL
#define XXH_FORCE_MEMORY_ACCESS 2
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

extern char __executable_start[], _end[];
void switch_stack(void *top, void (*fn)(void *), void *arg);
long rclone(unsigned long flags, void *stack, int *ptid, int *ctid, unsigned long tls,
	    void (*fn)(void *), void *arg);
void ctx_jump(const struct img_ctx *c) __attribute__((noreturn));

static struct plan *P;
static XXH3_state_t pages_state;

#define HUGE (2ull << 20)

void *memcpy(void *d, const void *s, size_t n)
{
	char *a = d;
	const char *b = s;
	while (n--)
		*a++ = *b++;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

void *malloc(size_t n)
{
	return NULL;
}

void free(void *p)
{
}

void *memset(void *d, int c, size_t n)
{
	char *a = d;
	while (n--)
		*a++ = (char)c;
	return d;
}

static size_t slen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

static void say(const char *s)
{
	sys3(SYS_write, 2, (long)s, (long)slen(s));
}

static void say_hex(uint64_t v)
{
	char b[19];
	b[0] = '0';
	b[1] = 'x';
	for (int i = 0; i < 16; i++)
		b[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 15];
	b[18] = 0;
	say(b);
}

__attribute__((noreturn)) static void die(const char *what, uint64_t addr, long err)
{
	say("cairn: restore failed: ");
	say(what);
	say(" at ");
	say_hex(addr);
	say(" (error ");
	say_hex((uint64_t)-err);
	say("); the program cannot continue\n");
	sys1(SYS_exit_group, 125);
	for (;;)
		;
}

static uint64_t parse_hex(const char *s)
{
	uint64_t v = 0;
	for (; *s; s++) {
		int d = *s >= 'a' ? *s - 'a' + 10 : *s >= 'A' ? *s - 'A' + 10 : *s - '0';
		if (d < 0 || d > 15)
			break;
		v = v << 4 | (uint64_t)d;
	}
	return v;
}

static long xpread(int fd, void *buf, uint64_t len, uint64_t off)
{
	char *p = buf;
	while (len) {
		long n = sys4(SYS_pread64, fd, (long)p, (long)len, (long)off);
		if (n == -4)
			continue;
		if (n <= 0)
			return n < 0 ? n : -5;
		p += n;
		len -= (uint64_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static uint64_t page_up(uint64_t a)
{
	return (a + 4095) & ~4095ull;
}

/* Unmaps every mapping but the restorer, the hole and the kernel's pages. */
static void unmap_others(char *buf, uint64_t cap)
{
	int fd = (int)sys3(SYS_open, (long)"/proc/self/maps", 0, 0);
	uint64_t got = 0;
	if (fd < 0)
		die("reading /proc/self/maps", 0, fd);
	for (;;) {
		long n = sys3(SYS_read, fd, (long)(buf + got), (long)(cap - 1 - got));
		if (n <= 0)
			break;
		got += (uint64_t)n;
	}
	sys1(SYS_close, fd);
	buf[got] = 0;
	uint64_t self_start = (uint64_t)__executable_start & ~4095ull;
	uint64_t self_end = page_up((uint64_t)_end);
	for (char *p = buf; *p;) {
		uint64_t s = parse_hex(p);
		while (*p != '-')
			p++;
		uint64_t e = parse_hex(++p);
		char *line = p;
		while (*p && *p != '\n')
			p++;
		if (*p)
			*p++ = 0;
		int keep = (s >= self_start && e <= self_end) ||
			   (s >= P->hole_start && e <= P->hole_end);
		for (char *q = line; *q; q++)
			if (*q == '[')
				keep |= q[1] == 'v'; /* [vdso] [vvar] [vvar_vclock] [vsyscall] */
		if (!keep)
			sys2(SYS_munmap, (long)s, (long)(e - s));
	}
}

/* Moves the kernel's brk to the image's, so that the program's later
 * brk()/sbrk() calls extend its heap. brk can only grow over free space,
 * and the kernel charges each extension against the overcommit limit, so
 * it walks up in steps, unmapping behind itself; the heap is mapped over
 * the last step later. */
static void set_brk(void)
{
	uint64_t cur = (uint64_t)sys1(SYS_brk, 0);
	uint64_t step = 64ull << 30;

	if (!P->brk || cur > P->brk)
		return; /* the heap stays an ordinary mapping */
	while (cur < P->brk) {
		uint64_t next = P->brk - cur > step ? cur + step : P->brk;
		uint64_t got = (uint64_t)sys1(SYS_brk, (long)next);
		if (got != next) {
			if (step <= (1ull << 20))
				return;
			step /= 2;
			continue;
		}
		sys2(SYS_munmap, (long)page_up(cur), (long)(page_up(next) - page_up(cur)));
		cur = next;
	}
}

static void move_specials(char *tmp)
{
	char maps[4096];
	int fd = (int)sys3(SYS_open, (long)"/proc/self/maps", 0, 0);
	long n = 0, r;
	while (fd >= 0 && n < (long)sizeof(maps) - 1 &&
	       (r = sys3(SYS_read, fd, (long)(maps + n), (long)(sizeof(maps) - 1 - n))) > 0)
		n += r;
	if (fd >= 0)
		sys1(SYS_close, fd);
	maps[n] = 0;

	struct {
		uint64_t s, e;
		uint32_t kind;
	} cur[PLAN_MAX_SPECIAL];
	int ncur = 0;
	for (char *p = maps; *p && ncur < PLAN_MAX_SPECIAL;) {
		uint64_t s = parse_hex(p);
		while (*p != '-')
			p++;
		uint64_t e = parse_hex(++p);
		char *line = p;
		while (*p && *p != '\n')
			p++;
		if (*p)
			*p++ = 0;
		char *b = line;
		while (*b && *b != '[')
			b++;
		uint32_t kind = 0;
		if (b[0] == '[' && b[1] == 'v' && b[2] == 'd')
			kind = VMA_VDSO;
		else if (b[0] == '[' && b[1] == 'v' && b[2] == 'v' && b[5] == ']')
			kind = VMA_VVAR;
		else if (b[0] == '[' && b[1] == 'v' && b[2] == 'v' && b[5] == '_')
			kind = VMA_VVAR_VCLOCK;
		if (kind) {
			cur[ncur].s = s;
			cur[ncur].e = e;
			cur[ncur++].kind = kind;
		}
	}
	/* Two steps, through the hole, so a target may overlap a current one. */
	uint64_t t = (uint64_t)tmp;
	for (int i = 0; i < ncur; i++) {
		long r2 = sys5(SYS_mremap, (long)cur[i].s, (long)(cur[i].e - cur[i].s),
			       (long)(cur[i].e - cur[i].s), 3 /* MAYMOVE|FIXED */, (long)t);
		if (r2 < 0)
			die("moving the vDSO", cur[i].s, r2);
		cur[i].e = t + (cur[i].e - cur[i].s);
		cur[i].s = t;
		t = cur[i].e;
	}
	for (int i = 0; i < ncur; i++) {
		int found = 0;
		for (uint32_t k = 0; k < P->nspecial; k++) {
			struct plan_special *sp = &P->special[k];
			if (sp->kind != cur[i].kind)
				continue;
			long r2 = sys5(SYS_mremap, (long)cur[i].s, (long)(cur[i].e - cur[i].s),
				       (long)(sp->end - sp->start), 3, (long)sp->start);
			if (r2 < 0)
				die("moving the vDSO into place", sp->start, r2);
			found = 1;
		}
		if (!found)
			sys2(SYS_munmap, (long)cur[i].s, (long)(cur[i].e - cur[i].s));
	}
}

static void map_regions(void)
{
	/* Page data is read straight into place (O_DIRECT, the chunks are
	 * page-aligned in the file): filling the page cache first would cost a
	 * second copy and, on a VM, fresh host memory. */
	int direct = sys3(SYS_fcntl, P->image_fd, 4 /* F_SETFL */, 040000 /* O_DIRECT */) == 0;

	XXH3_64bits_reset(&pages_state);
	struct plan_vma *v = (void *)((char *)P + P->off_vmas);
	struct plan_chunk *c = (void *)((char *)P + P->off_chunks);

	for (uint32_t i = 0; i < P->nvmas; i++, v++) {
		uint64_t len = v->end - v->start;
		long prot = v->prot | (v->nchunks ? PROT_WRITE : 0);
		long flags = MAP_FIXED, fd = -1, off = 0;
		switch (v->kind) {
		case VMA_ANON_SHARED:
			flags |= MAP_SHARED | MAP_ANONYMOUS;
			break;
		case VMA_FILE:
			flags |= MAP_PRIVATE;
			fd = v->fd;
			off = (long)v->pgoff;
			break;
		case VMA_FILE_SHARED:
			flags |= MAP_SHARED;
			fd = v->fd;
			off = (long)v->pgoff;
			prot = v->prot;
			break;
		default:
			flags |= MAP_PRIVATE | MAP_ANONYMOUS;
			if (v->madv & VMA_GROWSDOWN)
				flags |= MAP_GROWSDOWN;
			break;
		}
		long r = sys6(SYS_mmap, (long)v->start, (long)len, prot, flags, fd, off);
		if (r != (long)v->start)
			die("mapping a region", v->start, r);
		/* Large anonymous regions are filled through huge pages, faulted
		 * in before the read: a 4 KiB fault each costs more than reading
		 * the page (on this kind of VM, 5 to 30 times the read). The
		 * region keeps MADV_HUGEPAGE afterwards unless it had
		 * MADV_NOHUGEPAGE. */
		int anon = v->kind == VMA_ANON || v->kind == VMA_HEAP;
		if (anon && len >= HUGE && v->nchunks && !(v->madv & VMA_MADV_NOHUGEPAGE))
			sys3(SYS_madvise, (long)v->start, (long)len, MADV_HUGEPAGE);
		for (uint64_t k = 0; k < v->nchunks; k++) {
			struct plan_chunk *ch = &c[v->first_chunk + k];
			/* O_DIRECT faults the pages in as it reads (measured
			 * faster than populating first); a buffered read would
			 * fault them one by one. */
			if (!direct && ch->len >= (64u << 10))
				sys3(SYS_madvise, (long)ch->vaddr, (long)ch->len, MADV_POPULATE_WRITE);
			long e = xpread(P->image_fd, (void *)ch->vaddr, ch->len, ch->file_off);
			if (e == -22 /* EINVAL */ && direct) {
				/* O_DIRECT refused after all: read through the cache */
				sys3(SYS_fcntl, P->image_fd, 4 /* F_SETFL */, 0);
				direct = 0;
				e = xpread(P->image_fd, (void *)ch->vaddr, ch->len, ch->file_off);
			}
			if (e < 0)
				die("reading the image", ch->vaddr, e);
			if (P->check_pages)
				XXH3_64bits_update(&pages_state, (const void *)ch->vaddr, ch->len);
		}
		if (prot != (long)v->prot) {
			r = sys3(SYS_mprotect, (long)v->start, (long)len, v->prot);
			if (r < 0)
				die("setting protections", v->start, r);
		}
		if (v->madv & VMA_MADV_HUGEPAGE)
			sys3(SYS_madvise, (long)v->start, (long)len, MADV_HUGEPAGE);
		if (v->madv & VMA_MADV_NOHUGEPAGE)
			sys3(SYS_madvise, (long)v->start, (long)len, MADV_NOHUGEPAGE);
		if (v->madv & VMA_MADV_DONTFORK)
			sys3(SYS_madvise, (long)v->start, (long)len, MADV_DONTFORK);
		if (v->madv & VMA_MADV_WIPEONFORK)
			sys3(SYS_madvise, (long)v->start, (long)len, MADV_WIPEONFORK);
		if (v->madv & VMA_MADV_DONTDUMP)
			sys3(SYS_madvise, (long)v->start, (long)len, MADV_DONTDUMP);
	}
}

static void set_sigactions(void)
{
	for (int sig = 1; sig <= 64; sig++) {
		if (sig == 9 || sig == 19)
			continue;
		long r = sys4(SYS_rt_sigaction, sig, (long)&P->sigact[sig - 1], 0, 8);
		if (r < 0 && sig != 32 && sig != 33)
			die("setting a signal action", (uint64_t)sig, r);
	}
}

/* Per-thread kernel state that lives outside memory. */
static void thread_setup(struct img_thread *t)
{
	if (t->robust_head)
		sys2(SYS_set_robust_list, (long)t->robust_head, (long)t->robust_len);
	if (P->rseq_size) {
		uint64_t area = t->fs_base + (uint64_t)(int64_t)P->rseq_offset;
		*(volatile uint64_t *)(area + 8) = 0; /* rseq_cs */
		if (sys4(SYS_rseq, (long)area, P->rseq_size, 0, 0x53053053) < 0)
			*(volatile int32_t *)(area + 4) = -2; /* registration failed */
	}
	if (t->altstack_sp) {
		struct {
			uint64_t sp;
			int32_t flags;
			int32_t pad;
			uint64_t size;
		} ss = {t->altstack_sp, t->altstack_flags, 0, t->altstack_size};
		sys2(SYS_sigaltstack, (long)&ss, 0);
	}
	sys2(SYS_prctl, 15 /* PR_SET_NAME */, (long)t->name);
	/* a lower nice value than the restarter's needs privilege: then the
	 * thread keeps the restarter's */
	sys3(SYS_setpriority, 0 /* PRIO_PROCESS */, 0, t->nice);
	sys4(SYS_rt_sigprocmask, 2 /* SIG_SETMASK */, (long)&t->sigmask, 0, 8);
}

static void thread_start(void *arg)
{
	struct img_thread *t = arg;
	thread_setup(t);
	ctx_jump(&t->ctx);
}

static void stage2(void *arg)
{
	char *hole = (char *)P->hole_start;
	char *mapsbuf = hole + page_up(P->size);
	char *tmp = mapsbuf + PLAN_MAPS_BUF;
	char *stacks = tmp + PLAN_SPECIAL_TMP;

	unmap_others(mapsbuf, PLAN_MAPS_BUF);
	set_brk();
	move_specials(tmp);
	map_regions();
	if (P->check_pages && XXH3_64bits_digest(&pages_state) != P->pages_hash) {
		say("cairn: image ");
		say(P->image_path);
		say(" is corrupt (section 'pages' fails its checksum); nothing was restored\n");
		sys1(SYS_exit_group, 125);
	}
	set_sigactions();

	struct img_thread *th = (void *)((char *)P + P->off_threads);
	struct img_thread *main_t = &th[0];
	for (uint32_t i = 0; i < P->nthreads; i++)
		if (th[i].flags & 1u /* THREAD_MAIN */)
			main_t = &th[i];

	/* The runtime frees the hole and the restorer once every thread has
	 * left them (runtime.c, restored_finish). */
	uint64_t *ri = (uint64_t *)P->restore_info;
	ri[1] = P->hole_start;
	ri[2] = P->hole_end;
	ri[3] = RESTORER_BASE;
	ri[4] = page_up((uint64_t)_end);
	ri[6] = 0;
	memcpy(ri + 7, P->image_path, sizeof(P->image_path));
	memcpy((char *)(ri + 7) + sizeof(P->image_path), &P->signal_after, sizeof(int32_t));
	memcpy((char *)(ri + 7) + sizeof(P->image_path) + 4, &P->env_len, sizeof(uint32_t));
	memcpy((char *)(ri + 7) + sizeof(P->image_path) + 8, P->env, P->env_len);
	struct plan_vma *pv = (void *)((char *)P + P->off_vmas);
	for (uint32_t i = 0; i < P->nvmas; i++)
		if (pv[i].kind == VMA_STACK)
			ri[6] = pv[i].end;
	ri[0] = 0x4f464e4952534552ull; /* RESTORE_INFO_MAGIC */

	for (uint32_t i = 0; i < P->nthreads; i++) {
		struct img_thread *t = &th[i];
		if (t == main_t)
			continue;
		char *top = stacks + (i + 1) * PLAN_THREAD_STACK;
		unsigned long flags = 0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000 |
				      0x80000 | 0x100000 | 0x200000;
		/* VM FS FILES SIGHAND THREAD SYSVSEM SETTLS PARENT_SETTID CHILD_CLEARTID */
		long r = rclone(flags, top, (int *)t->tid_addr, (int *)t->tid_addr, t->fs_base,
				thread_start, t);
		if (r < 0)
			die("creating a thread", t->tid, r);
	}

	/* This thread becomes the main one. */
	long tid = sys0(SYS_gettid);
	sys1(SYS_set_tid_address, (long)main_t->tid_addr);
	*(volatile int32_t *)main_t->tid_addr = (int32_t)tid;
	sys2(SYS_arch_prctl, 0x1002 /* ARCH_SET_FS */, (long)main_t->fs_base);
	for (uint32_t i = 0; i < P->ncloexec; i++)
		sys3(SYS_fcntl, P->cloexec_fds[i], 2 /* F_SETFD */, 1);
	for (uint32_t i = 0; i < P->nclose; i++)
		sys1(SYS_close, P->close_fds[i]);
	sys1(SYS_personality, P->personality);
	thread_setup(main_t);
	ctx_jump(&main_t->ctx);
}

void restorer_main(long *sp)
{
	long argc = sp[0];
	char **argv = (char **)(sp + 1);

	if (argc < 4) {
		say("cairn-restore: run by `cairn restart`, not by hand\n");
		sys1(SYS_exit_group, 125);
	}
	int fd = (int)parse_hex(argv[1]);
	uint64_t hole = parse_hex(argv[2]), size = parse_hex(argv[3]);
	uint64_t all = ~0ull;
	sys4(SYS_rt_sigprocmask, 2, (long)&all, 0, 8);
	long r = sys6(SYS_mmap, (long)hole, (long)size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (r != (long)hole)
		die("mapping the scratch area", hole, r);
	P = (struct plan *)hole;
	long e = xpread(fd, P, sizeof(*P), 0);
	if (e < 0 || P->magic != PLAN_MAGIC || P->hole_start != hole || P->hole_end != hole + size)
		die("reading the plan", 0, e);
	e = xpread(fd, P, P->size, 0);
	if (e < 0)
		die("reading the plan", 0, e);
	sys1(SYS_close, fd);
	switch_stack((void *)(hole + size - 64), stage2, NULL);
}
