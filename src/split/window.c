/*
 * SIGNAL-SAFE: the window, one reserved range of address space that holds
 * the lower half and everything it maps.
 *
 * The window is reserved PROT_NONE once; a range in use is a real mapping
 * laid over the reservation with MAP_FIXED, and a range given back is laid
 * over again with PROT_NONE, so the window never has holes another mapping
 * could fall into. Which ranges are free is kept in a sorted array of
 * disjoint, non-adjacent extents, searched first-fit: a bump allocator ran
 * out after about 1000 cycles of 64 MiB mmap/munmap; reuse does not.
 *
 * This runs in the SIGSYS handler on lower-half threads (trap.c): no libc
 * calls, and loops written so that the compiler does not turn them into
 * memmove (this file is built with -fno-tree-loop-distribute-patterns). A
 * spinlock serialises the lower half's threads; the handler never nests on
 * one thread (SIGSYS is blocked while it runs), so it cannot self-deadlock.
 */
#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "split/internal.h"

/* Enough for a badly fragmented window; running out fails the lower
 * half's call with ENOMEM rather than losing track of a range. */
#define MAX_EXTENTS 8192

struct extent {
	uintptr_t start, end;
};

static struct extent ext[MAX_EXTENTS];
static int next;
static int lock;

static void lock_take(void)
{
	while (__atomic_exchange_n(&lock, 1, __ATOMIC_ACQUIRE))
		__builtin_ia32_pause();
}

static void lock_give(void)
{
	__atomic_store_n(&lock, 0, __ATOMIC_RELEASE);
}

/* Open a gap of N slots at I (N may be negative: close one). */
static int ext_shift(int i, int n)
{
	if (next + n > MAX_EXTENTS)
		return -ENOMEM;
	if (n > 0)
		for (int j = next - 1; j >= i; j--)
			ext[j + n] = ext[j];
	else
		for (int j = i; j + (-n) < next; j++)
			ext[j] = ext[j - n];
	next += n;
	return 0;
}

int window_reserve(void)
{
	long r = split_sys6(SYS_mmap, SPLIT_WINDOW_BASE, SPLIT_WINDOW_SIZE,
			    PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
				    MAP_FIXED_NOREPLACE,
			    -1, 0);
	if (r < 0 && r > -4096)
		return (int)r;
	if ((uintptr_t)r != SPLIT_WINDOW_BASE) { /* kernel before 4.17: a hint */
		split_sys6(SYS_munmap, r, SPLIT_WINDOW_SIZE, 0, 0, 0, 0);
		return -EEXIST;
	}
	ext[0].start = SPLIT_WINDOW_BASE;
	ext[0].end = SPLIT_WINDOW_BASE + SPLIT_WINDOW_SIZE;
	next = 1;
	return 0;
}

uintptr_t window_alloc(size_t len)
{
	uintptr_t a = 0;

	len = PAGE_UP(len);
	if (!len)
		return 0;
	lock_take();
	for (int i = 0; i < next; i++) {
		if (ext[i].end - ext[i].start < len)
			continue;
		a = ext[i].start;
		ext[i].start += len;
		if (ext[i].start == ext[i].end)
			ext_shift(i, -1);
		break;
	}
	lock_give();
	return a;
}

static int is_free_locked(uintptr_t a, uintptr_t b)
{
	for (int i = 0; i < next && ext[i].start < b; i++)
		if (ext[i].start <= a && b <= ext[i].end)
			return 1;
	return 0;
}

/* Take [a, a + len) out of the free extents. With ONLY_IF_FREE, only if it
 * is all free (else nothing is taken and 0 returned): a hint, or
 * MAP_FIXED_NOREPLACE. Without, whatever part of it is free: a MAP_FIXED may
 * legitimately replace ranges the lower half already uses. Returns 1 if it
 * was all free, 0 if not, -ENOMEM if the list is full. */
int window_claim(uintptr_t a, size_t len, int only_if_free)
{
	uintptr_t b = a + PAGE_UP(len);
	int all, i = 0;

	lock_take();
	all = is_free_locked(a, b);
	if (only_if_free && !all)
		i = next; /* take nothing */
	while (i < next && ext[i].start < b) {
		struct extent *e = &ext[i];
		if (e->end <= a) {
			i++;
		} else if (e->start >= a && e->end <= b) { /* swallowed */
			ext_shift(i, -1);
		} else if (e->start < a && e->end > b) { /* split in two */
			if (ext_shift(i + 1, 1) < 0) {
				all = -ENOMEM;
				break;
			}
			ext[i + 1].start = b;
			ext[i + 1].end = e->end;
			e->end = a;
			break;
		} else if (e->start < a) { /* keeps its head */
			e->end = a;
			i++;
		} else { /* keeps its tail */
			e->start = b;
			break;
		}
	}
	lock_give();
	return all;
}

/* Give [a, a + len) back: reserve it PROT_NONE again (which also unmaps
 * what was there) and merge it with the free extents it overlaps or
 * touches. */
long window_release(uintptr_t a, size_t len)
{
	uintptr_t b = a + PAGE_UP(len);
	long r;
	int i, j;

	r = split_sys6(SYS_mmap, a, b - a, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
		       -1, 0);
	if (r < 0 && r > -4096)
		return r;
	lock_take();
	for (i = 0; i < next && ext[i].end < a; i++)
		;
	for (j = i; j < next && ext[j].start <= b; j++) {
		if (ext[j].start < a)
			a = ext[j].start;
		if (ext[j].end > b)
			b = ext[j].end;
	}
	/* extents i..j-1 become the one extent [a, b) */
	r = ext_shift(i, 1 - (j - i));
	if (r == 0) {
		ext[i].start = a;
		ext[i].end = b;
	}
	lock_give();
	return r;
}

size_t window_free_bytes(void)
{
	size_t n = 0;

	lock_take();
	for (int i = 0; i < next; i++)
		n += ext[i].end - ext[i].start;
	lock_give();
	return n;
}

int split_in_window(uintptr_t p, size_t len)
{
	return p >= SPLIT_WINDOW_BASE && len <= SPLIT_WINDOW_SIZE &&
	       p - SPLIT_WINDOW_BASE <= SPLIT_WINDOW_SIZE - len;
}

/* After a restart: the window is not mapped (it was not saved). */
void window_forget(void)
{
	next = 0;
	lock = 0;
}
