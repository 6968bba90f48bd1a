/*
 * Reading an image for the command line: after the image layer has checked
 * every checksum, check that the records make sense together (counts,
 * string offsets, chunks inside the page data and inside their regions), so
 * that nothing later has to trust a field it did not check.
 */
#include "cli/load.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *vma_kind_name(uint32_t kind)
{
	static const char *const n[] = {"?",    "anon", "shared-anon", "file", "shared-file",
					"heap", "stack", "vdso", "vvar", "vvar_vclock"};
	return kind < sizeof(n) / sizeof(n[0]) ? n[kind] : "?";
}

const char *fd_kind_name(uint32_t kind)
{
	static const char *const n[] = {"?",   "std", "file", "dir", "device",
					"deleted-file", "pipe", "dup"};
	return kind < sizeof(n) / sizeof(n[0]) ? n[kind] : "?";
}

const char *load_str(const struct loaded *l, uint64_t off)
{
	const char *s = img_str(l->strtab, l->strtab_len, off);
	return s ? s : "?";
}

static int section(struct loaded *l, uint32_t type, size_t elem, void **out, size_t *count,
		   int required, char *err, size_t errlen)
{
	size_t len = 0;

	*out = NULL;
	*count = 0;
	if (!img_find(&l->r, type)) {
		if (!required)
			return 0;
		snprintf(err, errlen, "has no '%s' section", img_section_name(type));
		return -1;
	}
	*out = img_load(&l->r, type, &len, err, errlen);
	if (!*out)
		return -1;
	if (elem && len % elem) {
		snprintf(err, errlen, "is corrupt (section '%s' has a partial record)",
			 img_section_name(type));
		return -1;
	}
	*count = elem ? len / elem : len;
	return 0;
}

static int check(struct loaded *l, char *err, size_t errlen)
{
	uint64_t pages_len = l->pages ? l->pages->size : 0;

#define BAD(...)                                            \
	do {                                                \
		int n_ = snprintf(err, errlen, "is inconsistent ("); \
		n_ += snprintf(err + n_, errlen - (size_t)n_, __VA_ARGS__); \
		snprintf(err + n_, errlen - (size_t)n_, ")"); \
		return -1;                                  \
	} while (0)

	if (l->strtab_len && l->strtab[l->strtab_len - 1] != 0)
		BAD("string table is not terminated");
	if (!img_str(l->strtab, l->strtab_len, l->meta->cwd) ||
	    !img_str(l->strtab, l->strtab_len, l->meta->exe))
		BAD("bad string reference in meta");
	if (l->nthreads == 0 || l->nthreads > 65536)
		BAD("%zu threads", l->nthreads);
	for (size_t i = 0; i < l->nvmas; i++) {
		struct img_vma *v = &l->vmas[i];
		if (v->start >= v->end || (v->start | v->end) % IMG_PAGE || v->end > (1ull << 47))
			BAD("region %zu has bad bounds", i);
		if (i && v->start < l->vmas[i - 1].end)
			BAD("region %zu overlaps the previous one", i);
		if (!v->kind || v->kind > VMA_VVAR_VCLOCK)
			BAD("region %zu has unknown kind %u", i, v->kind);
		if (!img_str(l->strtab, l->strtab_len, v->path))
			BAD("region %zu has a bad path reference", i);
		if (v->first_chunk > l->nchunks || v->nchunks > l->nchunks - v->first_chunk)
			BAD("region %zu has bad chunk references", i);
		for (uint64_t k = 0; k < v->nchunks; k++) {
			struct img_chunk *c = &l->chunks[v->first_chunk + k];
			if (c->vaddr < v->start || c->vaddr % IMG_PAGE || c->npages == 0 ||
			    c->npages > (v->end - c->vaddr) / IMG_PAGE)
				BAD("chunk %llu lies outside its region",
				    (unsigned long long)(v->first_chunk + k));
			if (c->data_off % IMG_PAGE || c->data_off > pages_len ||
			    c->npages * IMG_PAGE > pages_len - c->data_off)
				BAD("chunk %llu lies outside the page data",
				    (unsigned long long)(v->first_chunk + k));
		}
	}
	for (size_t i = 0; i < l->nfds; i++) {
		struct img_fd *f = &l->fds[i];
		if (f->fd < 0 || f->fd > (1 << 20) || !f->kind || f->kind > FD_DUP)
			BAD("descriptor record %zu", i);
		if (!img_str(l->strtab, l->strtab_len, f->path))
			BAD("descriptor %d has a bad path reference", f->fd);
		if (f->data_off > l->blobs_len || f->data_len > l->blobs_len - f->data_off)
			BAD("descriptor %d has data outside the blobs", f->fd);
		if (f->kind == FD_STD && f->std_of > 2)
			BAD("descriptor %d", f->fd);
		if (i && f->fd <= l->fds[i - 1].fd)
			BAD("descriptors are not in order");
	}
	for (size_t i = 0; i < l->nfds; i++)
		if (l->fds[i].kind == FD_DUP) {
			size_t k;
			for (k = 0; k < i; k++)
				if (l->fds[k].fd == l->fds[i].dup_of && l->fds[k].kind != FD_DUP)
					break;
			if (k == i)
				BAD("descriptor %d duplicates an unknown one", l->fds[i].fd);
		}
	for (size_t i = 0; i < l->ntimers; i++)
		if (l->timers[i].kind == TIMER_POSIX && l->timers[i].thread >= l->nthreads)
			BAD("timer %zu aims at an unknown thread", i);
#undef BAD
	return 0;
}

int load_image(const char *path, struct loaded *l, int verify, char *err, size_t errlen)
{
	size_t n;
	int fd;

	memset(l, 0, sizeof(*l));
	l->r.fd = -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot be opened: %s", strerror(errno));
		return -1;
	}
	if (img_open(&l->r, fd, err, errlen) < 0)
		goto fail;
	if (verify && img_verify_skip(&l->r, verify == LOAD_DEFER_PAGES ? SEC_PAGES : 0, err,
				      errlen) < 0)
		goto fail;
	if (section(l, SEC_META, 0, (void **)&l->meta, &n, 1, err, errlen) < 0)
		goto fail;
	if (n != sizeof(struct img_meta)) {
		snprintf(err, errlen, "is inconsistent (meta section of %zu bytes)", n);
		goto fail;
	}
	size_t nsig;
	if (section(l, SEC_VMAS, sizeof(struct img_vma), (void **)&l->vmas, &l->nvmas, 1, err,
		    errlen) < 0 ||
	    section(l, SEC_CHUNKS, sizeof(struct img_chunk), (void **)&l->chunks, &l->nchunks, 1,
		    err, errlen) < 0 ||
	    section(l, SEC_THREADS, sizeof(struct img_thread), (void **)&l->threads,
		    &l->nthreads, 1, err, errlen) < 0 ||
	    section(l, SEC_SIGACTS, sizeof(struct img_sigaction), (void **)&l->sigacts, &nsig, 1,
		    err, errlen) < 0 ||
	    section(l, SEC_SIGPEND, sizeof(struct img_sigpend), (void **)&l->pend, &l->npend, 0,
		    err, errlen) < 0 ||
	    section(l, SEC_TIMERS, sizeof(struct img_timer), (void **)&l->timers, &l->ntimers, 0,
		    err, errlen) < 0 ||
	    section(l, SEC_FDS, sizeof(struct img_fd), (void **)&l->fds, &l->nfds, 1, err,
		    errlen) < 0 ||
	    section(l, SEC_BLOBS, 0, (void **)&l->blobs, &l->blobs_len, 0, err, errlen) < 0 ||
	    section(l, SEC_STRTAB, 0, (void **)&l->strtab, &l->strtab_len, 1, err, errlen) < 0)
		goto fail;
	if (nsig != 64) {
		snprintf(err, errlen, "is inconsistent (%zu signal actions)", nsig);
		goto fail;
	}
	l->pages = img_find(&l->r, SEC_PAGES);
	if (!l->pages) {
		snprintf(err, errlen, "has no 'pages' section");
		goto fail;
	}
	if (check(l, err, errlen) < 0)
		goto fail;
	uint64_t next = 0;
	l->pages_in_order = 1;
	for (size_t i = 0; i < l->nchunks; i++) {
		if (l->chunks[i].data_off != next)
			l->pages_in_order = 0;
		next = l->chunks[i].data_off + l->chunks[i].npages * IMG_PAGE;
	}
	if (next != l->pages->size)
		l->pages_in_order = 0;
	uint64_t nc = 0;
	for (size_t i = 0; i < l->nvmas; i++) {
		if (l->vmas[i].nchunks && l->vmas[i].first_chunk != nc)
			l->pages_in_order = 0;
		nc += l->vmas[i].nchunks;
	}
	if (verify == LOAD_DEFER_PAGES && !l->pages_in_order &&
	    img_verify(&l->r, err, errlen) < 0)
		goto fail;
	return 0;
fail:
	load_free(l);
	return -1;
}

void load_free(struct loaded *l)
{
	free(l->meta);
	free(l->vmas);
	free(l->chunks);
	free(l->threads);
	free(l->sigacts);
	free(l->pend);
	free(l->timers);
	free(l->fds);
	free(l->blobs);
	free(l->strtab);
	if (l->r.fd >= 0)
		close(l->r.fd);
	l->r.fd = -1;
	l->meta = NULL;
	l->vmas = NULL;
	l->chunks = NULL;
	l->threads = NULL;
	l->sigacts = NULL;
	l->pend = NULL;
	l->timers = NULL;
	l->fds = NULL;
	l->blobs = NULL;
	l->strtab = NULL;
}
