/*
 * Memory: which mappings exist and which of their pages must be stored.
 *
 * Every mapping in /proc/self/maps is recorded with its address,
 * protections and backing. Pages are stored only where the file or the
 * kernel cannot give them back: /proc/self/pagemap tells which pages are
 * present (or swapped) and which of a private file mapping's pages are still
 * the file's own. Pages never touched, and anonymous pages that are all
 * zero, are not stored. Shared file mappings are left to the file. A mapping
 * whose file was deleted or replaced is stored whole.
 *
 * The runtime's own scratch buffers (own[]) are cut out of the mappings.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime/runtime.h"

#define PM_PRESENT (1ull << 63)
#define PM_SWAP (1ull << 62)
#define PM_FILE (1ull << 61)
#define RUN_MAX (64u << 20) /* bytes per write() */

struct vec {
	char *p;
	size_t len, cap, elem;
};

static void *vec_push(struct vec *v)
{
	if ((v->len + 1) * v->elem > v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 1 << 20;
		char *p = scratch_alloc(cap);
		if (!p)
			return NULL;
		if (v->p)
			memcpy(p, v->p, v->len * v->elem);
		scratch_free(v->p, v->cap);
		v->p = p;
		v->cap = cap;
	}
	return v->p + v->elem * v->len++;
}

static void vec_free(struct vec *v)
{
	scratch_free(v->p, v->cap);
	memset(v, 0, sizeof(*v));
}

/* All of /proc/self/maps in a scratch buffer. */
static char *read_maps(size_t *cap)
{
	for (size_t sz = 1 << 20;; sz *= 4) {
		char *buf = scratch_alloc(sz);
		if (!buf)
			return NULL;
		ssize_t n = read_file("/proc/self/maps", buf, sz);
		if (n >= 0 && (size_t)n < sz - 1) {
			*cap = sz;
			return buf;
		}
		scratch_free(buf, sz);
		if (sz > (256u << 20))
			return NULL;
	}
}

struct line {
	uint64_t start, end, pgoff, ino;
	unsigned maj, min;
	char perms[5];
	const char *path; /* NUL-terminated inside the maps buffer */
};

static char *parse_line(char *p, struct line *l)
{
	char *end;

	l->start = strtoull(p, &end, 16);
	l->end = strtoull(end + 1, &end, 16);
	memcpy(l->perms, end + 1, 4);
	l->perms[4] = 0;
	l->pgoff = strtoull(end + 6, &end, 16);
	l->maj = (unsigned)strtoul(end + 1, &end, 16);
	l->min = (unsigned)strtoul(end + 1, &end, 16);
	l->ino = strtoull(end + 1, &end, 10);
	while (*end == ' ')
		end++;
	l->path = end;
	char *nl = strchr(end, '\n');
	if (nl)
		*nl++ = 0;
	return nl;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Decides the kind of a mapping; *whole is set when every page must be
 * stored because the backing file is gone. Returns 0 to skip it. */
static uint32_t classify(const struct line *l, struct img_vma *v, int *whole)
{
	const char *path = l->path;
	int shared = l->perms[3] == 's';
	struct stat st;

	*whole = 0;
	if (strcmp(path, "[vdso]") == 0)
		return VMA_VDSO;
	if (strcmp(path, "[vvar]") == 0)
		return VMA_VVAR;
	if (strcmp(path, "[vvar_vclock]") == 0)
		return VMA_VVAR_VCLOCK;
	if (strcmp(path, "[heap]") == 0)
		return VMA_HEAP;
	if (strcmp(path, "[stack]") == 0 || (path[0] == 0 && l->end == rt.main_stack_end)) {
		rt.main_stack_end = l->end;
		return VMA_STACK;
	}
	if (path[0] == 0 || strncmp(path, "[anon:", 6) == 0)
		return shared ? VMA_ANON_SHARED : VMA_ANON;
	if (path[0] == '[')
		return 0; /* [vsyscall] and other kernel mappings */
	if (shared && (strncmp(path, "/dev/zero", 9) == 0 || strncmp(path, "/SYSV", 5) == 0 ||
		       strncmp(path, "/memfd:", 7) == 0))
		return VMA_ANON_SHARED;
	if (ends_with(path, " (deleted)") || stat(path, &st) < 0 || st.st_ino != l->ino ||
	    major(st.st_dev) != l->maj || minor(st.st_dev) != l->min) {
		if (shared)
			return VMA_ANON_SHARED;
		*whole = 1;
		return VMA_ANON;
	}
	v->dev = st.st_dev;
	v->ino = st.st_ino;
	v->file_size = (uint64_t)st.st_size;
	v->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec;
	return shared ? VMA_FILE_SHARED : VMA_FILE;
}

static int page_is_zero(const void *p)
{
	const uint64_t *q = p;
	for (int i = 0; i < IMG_PAGE / 8; i += 4)
		if (q[i] | q[i + 1] | q[i + 2] | q[i + 3])
			return 0;
	return 1;
}

struct dumper {
	struct img_writer *w;
	struct vec chunks;
	int pagemap;
	uint64_t *pm;
	size_t pmcap; /* entries */
	uint64_t run_start, run_pages;
	/* set for the mappings holding this thread's stack or the runtime's
	 * own variables: written through a copy, since writing changes them */
	int stable;
};

static int flush_run(struct dumper *d, struct img_vma *v)
{
	if (!d->run_pages)
		return 0;
	struct img_chunk *c = vec_push(&d->chunks);
	if (!c)
		return -1;
	c->vaddr = d->run_start;
	c->npages = d->run_pages;
	c->data_off = img_section_pos(d->w);
	uint64_t s = d->run_start, e = s + d->run_pages * IMG_PAGE;
	if (d->stable)
		img_put_stable(d->w, (const void *)s, e - s);
	else
		img_put(d->w, (const void *)s, e - s);
	v->nchunks++;
	v->stored += d->run_pages * IMG_PAGE;
	d->run_pages = 0;
	return d->w->err ? -1 : 0;
}

/* Which pages of [v->start, v->end) to store; writes them as runs. */
static int dump_pages(struct dumper *d, struct img_vma *v, int whole, int store_zero)
{
	uint64_t npages = (v->end - v->start) / IMG_PAGE;
	int unreadable = !(v->prot & PROT_READ);
	int opened = 0;

	v->first_chunk = d->chunks.len;
	for (uint64_t done = 0; done < npages;) {
		size_t n = npages - done < d->pmcap ? (size_t)(npages - done) : d->pmcap;
		uint64_t addr = v->start + done * IMG_PAGE;
		if (pread(d->pagemap, d->pm, n * 8, (off_t)(addr / IMG_PAGE * 8)) != (ssize_t)(n * 8))
			return -1;
		for (size_t i = 0; i < n; i++, addr += IMG_PAGE) {
			uint64_t e = d->pm[i];
			int store;
			if (whole)
				store = 1;
			else if (v->kind == VMA_FILE)
				store = (e & PM_SWAP) || ((e & PM_PRESENT) && !(e & PM_FILE));
			else
				store = (e & (PM_PRESENT | PM_SWAP)) != 0;
			if (store && unreadable && !opened) {
				if (mprotect((void *)v->start, v->end - v->start,
					     (int)v->prot | PROT_READ) < 0)
					return -1;
				opened = 1;
			}
			if (store && !store_zero && page_is_zero((const void *)addr))
				store = 0;
			if (store && d->run_pages && d->run_start + d->run_pages * IMG_PAGE == addr &&
			    d->run_pages * IMG_PAGE < RUN_MAX) {
				d->run_pages++;
				continue;
			}
			if (flush_run(d, v) < 0)
				return -1;
			if (store) {
				d->run_start = addr;
				d->run_pages = 1;
			}
		}
		done += n;
	}
	int rc = flush_run(d, v);
	if (opened)
		mprotect((void *)v->start, v->end - v->start, (int)v->prot);
	return rc;
}

/* Mappings that may change while they are written, written through a copy
 * so that checksum and bytes agree: the manager's stack and the runtime's
 * own variables (the writer is working in them), and every thread's stack
 * and TLS block (a thread that has just parked may still be running its last
 * instructions below its saved stack pointer, and the kernel updates a
 * thread's rseq area in its TLS block whenever it returns to user space). */
static int changes_while_written(const struct img_vma *v, const struct img_writer *w,
				 const struct strtab *st)
{
#define IN(a) ((uint64_t)(a) >= v->start && (uint64_t)(a) < v->end)
	if (IN(__builtin_frame_address(0)) || IN(&rt) || IN(w) || IN(st))
		return 1;
	if (IN(rt.manager.t.fs_base))
		return 1;
	for (int i = 0; i < rt.nslots && i < MAX_THREADS; i++)
		if (IN(rt.slots[i].t.ctx.rsp) || IN(rt.slots[i].t.fs_base))
			return 1;
	return 0;
#undef IN
}

static int prot_of(const char *perms)
{
	return (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
	       (perms[2] == 'x' ? PROT_EXEC : 0);
}

int memory_write(struct img_writer *w, struct strtab *st, const struct own_range *own, int nown,
		 struct memory_info *mi, char *err, size_t errlen)
{
	size_t mcap = 0;
	char *maps = read_maps(&mcap);
	struct vec vmas = {.elem = sizeof(struct img_vma)};
	struct dumper d = {.w = w, .chunks = {.elem = sizeof(struct img_chunk)}, .pagemap = -1};
	struct own_range all[8];
	int nall = 0, rc = -1;

	memset(mi, 0, sizeof(*mi));
	if (!maps) {
		fmt(err, errlen, "cannot read /proc/self/maps");
		return -1;
	}
	for (int i = 0; i < nown && nall < 7; i++)
		all[nall++] = own[i];
	all[nall].start = (uint64_t)maps;
	all[nall++].end = (uint64_t)maps + mcap;
	d.pmcap = 1 << 16;
	d.pm = scratch_alloc(d.pmcap * 8);
	d.pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (!d.pm || d.pagemap < 0) {
		fmt(err, errlen, "cannot read /proc/self/pagemap: %s", strerror(errno));
		goto out;
	}

	img_section_begin(w, SEC_PAGES, IMG_PAGE);
	for (char *p = maps; p && *p;) {
		struct line l;
		p = parse_line(p, &l);
		struct img_vma proto;
		int whole;
		memset(&proto, 0, sizeof(proto));
		uint32_t kind = classify(&l, &proto, &whole);
		if (!kind)
			continue;
		proto.kind = kind;
		proto.prot = (uint32_t)prot_of(l.perms);
		proto.pgoff = l.pgoff;
		if (l.path[0])
			proto.path = strtab_add(st, l.path);
		if (kind == VMA_STACK)
			proto.madv |= VMA_GROWSDOWN;
		if (kind == VMA_VDSO) {
			mi->vdso_size = l.end - l.start;
			mi->vdso_hash = img_hash((const void *)l.start, l.end - l.start);
		}
		if (kind == VMA_VVAR || kind == VMA_VVAR_VCLOCK)
			mi->vvar_size += l.end - l.start;

		/* cut the runtime's scratch buffers out of this mapping */
		uint64_t pieces[18][2];
		int np = 1;
		pieces[0][0] = l.start;
		pieces[0][1] = l.end;
		for (int k = 0; k < nall; k++)
			for (int j = 0; j < np; j++) {
				uint64_t s = pieces[j][0], e = pieces[j][1];
				if (all[k].end <= s || all[k].start >= e)
					continue;
				pieces[j][0] = pieces[j][1] = 0;
				if (s < all[k].start && np < 18) {
					pieces[np][0] = s;
					pieces[np++][1] = all[k].start;
				}
				if (e > all[k].end && np < 18) {
					pieces[np][0] = all[k].end;
					pieces[np++][1] = e;
				}
			}
		for (int j = 0; j < np; j++) {
			if (pieces[j][1] <= pieces[j][0])
				continue;
			struct img_vma *v = vec_push(&vmas);
			if (!v) {
				fmt(err, errlen, "out of memory listing mappings");
				goto out;
			}
			*v = proto;
			v->start = pieces[j][0];
			v->end = pieces[j][1];
			if (kind == VMA_FILE || kind == VMA_FILE_SHARED)
				v->pgoff += v->start - l.start;
			v->first_chunk = d.chunks.len;
			d.stable = changes_while_written(v, w, st);
			if (kind == VMA_FILE_SHARED || kind == VMA_VDSO || kind == VMA_VVAR ||
			    kind == VMA_VVAR_VCLOCK)
				continue;
			if (dump_pages(&d, v, whole, kind == VMA_FILE) < 0) {
				if (w->err)
					fmt(err, errlen, "writing the image failed: %s",
					    strerror(w->err));
				else
					fmt(err, errlen, "cannot read memory at %llx-%llx: %s",
					    (unsigned long long)v->start,
					    (unsigned long long)v->end, strerror(errno));
				goto out;
			}
		}
	}
	img_section_end(w);

	img_section_begin(w, SEC_VMAS, 8);
	img_put(w, vmas.p, vmas.len * vmas.elem);
	img_section_end(w);
	img_section_begin(w, SEC_CHUNKS, 8);
	img_put(w, d.chunks.p, d.chunks.len * d.chunks.elem);
	img_section_end(w);
	rc = w->err ? -1 : 0;
	if (rc)
		fmt(err, errlen, "writing the image failed: %s", strerror(w->err));
out:
	if (d.pagemap >= 0)
		close(d.pagemap);
	scratch_free(d.pm, d.pmcap * 8);
	vec_free(&vmas);
	vec_free(&d.chunks);
	scratch_free(maps, mcap);
	return rc;
}
