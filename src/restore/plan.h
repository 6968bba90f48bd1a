/*
 * The restore plan: what `cairn restart` (which verified and parsed the
 * image with libc at hand) tells the freestanding restorer to do. The
 * restorer only executes it: map these regions, read these chunks of the
 * image into them, move the vDSO, set these signal actions, start these
 * threads. Everything is in one flat block that the restorer copies into its
 * scratch hole.
 */
#ifndef CAIRN_RESTORE_PLAN_H
#define CAIRN_RESTORE_PLAN_H

#include <stdint.h>

#include "image/format.h"

#define PLAN_MAGIC 0x4e414c504e524143ull
#define PLAN_MAX_CLOSE 64
#define PLAN_MAX_SPECIAL 4
#define PLAN_THREAD_STACK (64u << 10)
#define PLAN_MAIN_STACK (1u << 20)
#define PLAN_MAPS_BUF (8u << 20)
#define PLAN_SPECIAL_TMP (1u << 20)
#define PLAN_ENV_MAX 65536 /* = RESTORE_ENV_MAX (runtime.h) */

/* The restorer is linked here (Makefile); nothing of an image may lie in
 * [RESTORER_BASE, RESTORER_LIMIT). */
#define RESTORER_BASE 0x100000ull
#define RESTORER_LIMIT 0x200000ull

struct plan_vma {
	uint64_t start, end;
	uint32_t prot, kind;
	uint32_t madv;
	int32_t fd; /* file to map, -1 for anonymous */
	uint64_t pgoff;
	uint64_t first_chunk, nchunks;
};

struct plan_chunk {
	uint64_t vaddr, len, file_off;
};

struct plan_special {
	uint32_t kind; /* VMA_VDSO, VMA_VVAR, VMA_VVAR_VCLOCK */
	uint32_t pad0;
	uint64_t start, end;
};

struct plan {
	uint64_t magic;
	uint64_t size; /* of the whole plan */
	uint64_t hole_start, hole_end;
	uint64_t restore_info; /* address of struct restore_info (runtime.h) */
	uint64_t start_brk, brk;
	/* When check_pages is set, the restorer hashes the page data as it
	 * reads it (front to back) and refuses to resume the program unless it
	 * matches pages_hash. */
	uint64_t pages_hash;
	uint32_t check_pages;
	int32_t image_fd;
	uint32_t personality;
	uint32_t nvmas, nchunks, nthreads, nspecial;
	uint64_t off_vmas, off_chunks, off_threads;
	struct plan_special special[PLAN_MAX_SPECIAL];
	struct img_sigaction sigact[64];
	int32_t rseq_offset;
	uint32_t rseq_size;
	uint32_t nclose, ncloexec;
	int32_t close_fds[PLAN_MAX_CLOSE]; /* the restart's own descriptors */
	int32_t cloexec_fds[1024];         /* program descriptors to mark FD_CLOEXEC */
	char image_path[4096];             /* for messages */
	int32_t signal_after;              /* raised once restored (cr_restart --signal) */
	uint32_t env_len;                  /* bytes used in env */
	/* the restart's environment, NUL-separated NAME=VALUE strings, for the
	 * runtime (cairn_restart_environ: a new MPI lower half's) */
	char env[PLAN_ENV_MAX];
};

#endif
