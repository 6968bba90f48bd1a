/* Blocking MPI calls wait in the lower half, interruptibly.
 *
 * A checkpoint needs every application thread out of the lower half (its
 * stack and registers there are not saved). So no blocking call is passed
 * to MPICH as is: each one the api's overrides mark `waits` is either
 *
 *   - posted as its non-blocking twin (MPI_Recv as MPI_Irecv, MPI_Barrier
 *     as MPI_Ibarrier...) and completed by mpi_wait_loop, in the same
 *     crossing (the generated cairn_wait_X of lower_wait.c), or
 *   - a loop of its own over the test form (MPI_Wait*, MPI_Probe,
 *     MPI_Mprobe: wait_loops.h).
 *
 * Between two tests the loop reads a word of the upper half (the wait_stop
 * argument: mpi_wait_stop). When it is set, the wait gives up with
 * MPI_WAIT_INTERRUPTED, which no MPI call returns; the upper half then
 * runs mpi_wait_interrupted() with the thread out of the lower half and
 * waits again: a twin's posted request becomes an ordinary request of the
 * application's, waited for by MPI_Wait (mpi_wait_resume), a loop is
 * entered again from the start. The MPI call returns only when the
 * operation is complete, as it would natively.
 *
 * This header is compiled on both sides: in the lower half (MPI_LOWER_SIDE,
 * calling MPICH's PMPI_ functions by name) and in the upper half for the
 * dlmopen test provider (calling through the table). Only MPI functions and
 * the stop word are used: no TLS, no libc of either half.
 */
#ifndef CAIRN_MPI_WAIT_H
#define CAIRN_MPI_WAIT_H

#include <mpi.h>

#include "mpi_gen.h"

/* Negative: MPICH's error codes are never negative. */
#define MPI_WAIT_INTERRUPTED (-0x77a17)

#ifdef MPI_LOWER_SIDE
#define LOWER_CALL(name) P##name
#define WAIT_NAME(name) cairn_wait_##name
#else
#include "mpi/upper.h"
#define LOWER_CALL(name) MPI_FN(name)
#define WAIT_NAME(name) dlm_wait_##name
extern void *const mpi_dlm_wait_table[MPI_FN_WAIT_COUNT];
#endif

/* Test *req until it completes (MPI_SUCCESS or its error: the request is
 * then freed, *st filled) or *stop is set (MPI_WAIT_INTERRUPTED: *req is
 * still pending). */
static inline int mpi_wait_loop(MPI_Request *req, MPI_Status *st, const volatile int *stop)
{
	for (;;) {
		int done = 0, rc = LOWER_CALL(MPI_Test)(req, &done, st);

		if (rc != MPI_SUCCESS || done)
			return rc;
		if (*stop)
			return MPI_WAIT_INTERRUPTED;
	}
}

#endif
