/*
 * What cairn's MPI library (src/mpi) tells the runtime about a lower half
 * in the process (src/split), and what the runtime tells it back after a
 * restart. Exported by libcairn.so for that library only (looked up with
 * dlsym: the MPI library also runs without the runtime); not a public
 * interface.
 *
 * A registered lower half is left out of every image: its memory (the
 * window), its descriptors and its own threads, which a checkpoint neither
 * stops nor saves. The library must have every application thread out of
 * the lower half before the threads are stopped (a thread-context callback
 * does that).
 */
#ifndef CAIRN_RUNTIME_LOWER_GLUE_H
#define CAIRN_RUNTIME_LOWER_GLUE_H

#include <stddef.h>
#include <stdint.h>

#define CAIRN_LOWER_HALF_VERSION 1

struct cairn_lower_half {
	int version;
	uintptr_t base, size; /* memory that is not saved */
	int (*is_fd)(int fd); /* a descriptor that is not saved */
	/* the TIDs of threads that are not stopped or saved: how many, and
	 * up to max of them in tids (split_lower_tids) */
	int (*tids)(int *tids, int max);
};

/* lh stays the caller's (static); NULL forgets it. -1 when the runtime is
 * dormant (not preloaded). */
int cairn_lower_half_register(const struct cairn_lower_half *lh);

/* In a restarted process: the environment of the `cairn restart` that
 * brought it back (the new job's: its launcher's PMI variables, with
 * PMI_FD naming where that descriptor is now), NULL-terminated; NULL in a
 * process that was never restarted. */
char *const *cairn_restart_environ(void);

/* In a thread-context callback of a job checkpoint (runtime/job.c): how
 * many ranks the job has (-1: this is not a job checkpoint), and an
 * exchange with every rank: each gives len bytes, and all (all_len bytes)
 * receives every rank's, in rank order. Returns the number of ranks, or
 * -1 with errno: EINVAL (not a job checkpoint), ECANCELED (the coordinator
 * abandoned the checkpoint; cairn_job_abort_reason() says why), EPIPE
 * (the coordinator is gone), EMSGSIZE. */
int cairn_job_ranks(void);
int cairn_job_allgather(const void *mine, size_t len, void *all, size_t all_len);
const char *cairn_job_abort_reason(void);
/* The checkpoint is refused for a reason that may pass a moment later (a
 * request pending, a collective in progress): the coordinator tries again. */
void cairn_job_retry(void);
/* After the image, in the after work of a --kill round: 1 when the
 * checkpoint is complete and this process is about to end (the library
 * finalizes MPI, so that the launcher sees a clean end). */
int cairn_job_ending(void);

#endif
