/*
 * An image read whole into memory (except its pages) and checked for
 * consistency: what `cairn restart` and `cairn inspect` work from.
 */
#ifndef CAIRN_CLI_LOAD_H
#define CAIRN_CLI_LOAD_H

#include <stddef.h>

#include "image/image.h"

struct loaded {
	struct img_reader r;
	struct img_meta *meta;
	struct img_vma *vmas;
	size_t nvmas;
	struct img_chunk *chunks;
	size_t nchunks;
	struct img_thread *threads;
	size_t nthreads;
	struct img_sigaction *sigacts; /* 64 */
	struct img_sigpend *pend;
	size_t npend;
	struct img_timer *timers;
	size_t ntimers;
	struct img_fd *fds;
	size_t nfds;
	char *blobs;
	size_t blobs_len;
	char *strtab;
	size_t strtab_len;
	const struct img_section *pages;
	int pages_in_order; /* chunks cover the page data front to back */
};

/* Opens, verifies and parses. verify: 1 checks every byte; LOAD_DEFER_PAGES
 * leaves the page data to the restorer, which checks it as it reads it
 * (only when its chunks tile it in order, see pages_in_order). On error
 * writes a sentence to err and returns -1. */
#define LOAD_DEFER_PAGES 2
int load_image(const char *path, struct loaded *l, int verify, char *err, size_t errlen);
void load_free(struct loaded *l);
const char *load_str(const struct loaded *l, uint64_t off);
const char *vma_kind_name(uint32_t kind);
const char *fd_kind_name(uint32_t kind);

#endif
