/* The upper half's side of the interruptible waits (wait.h).
 *
 * Whatever needs the application's threads out of the lower half (the
 * checkpoint protocol) sets mpi_wait_stop; each thread waiting in the
 * lower half comes back, calls mpi_wait_interrupted() here with its own
 * thread pointer, and waits again once that returns.
 */
#include "mpi/flight.h"
#include "mpi/upper.h"

volatile int mpi_wait_stop;
static unsigned long interruptions;

/* Runs on the interrupted thread, outside the lower half. */
void mpi_wait_interrupted(void)
{
	__atomic_add_fetch(&interruptions, 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&mpi_gate, __ATOMIC_SEQ_CST))
		mpi_ckpt_park(); /* a checkpoint: until it is over */
	else
		__atomic_store_n(&mpi_wait_stop, 0, __ATOMIC_RELEASE); /* cairn_mpi_interrupt_waits */
}

/* A blocking call's twin was posted and is not complete: it becomes a
 * request like the application's own, known to the cut as what it is
 * (flight.c: a checkpoint takes a receive back and posts it again,
 * completes a send), waited for by MPI_Wait (which may be interrupted in
 * turn). */
int mpi_wait_resume(MPI_Request real, MPI_Status *status, const struct mpi_req_flight *what)
{
	MPI_Request v = h_out(MK_REQUEST, real);

	flight_adopt(v, what);
	mpi_wait_interrupted();
	return PMPI_Wait(&v, status);
}

/* The same for a receive and a send posted together (MPI_Sendrecv*):
 * complete both, then free the lower half's packed copy (a crossing),
 * unless a restart has replaced that lower half meanwhile. */
int mpi_wait_resume_pair(struct mpi_wait_pair *pair, MPI_Status *status,
			 const struct mpi_req_flight what[2])
{
	MPI_Request v[2] = { h_out(MK_REQUEST, pair->req[0]), h_out(MK_REQUEST, pair->req[1]) };
	MPI_Status st[2];
	int rc, gen = mpi_lower_generation;

	flight_adopt(v[0], &what[0]);
	flight_adopt(v[1], &what[1]);
	mpi_wait_interrupted();
	rc = PMPI_Waitall(2, v, st);
	if (rc == MPI_ERR_IN_STATUS)
		rc = st[0].MPI_ERROR != MPI_SUCCESS ? st[0].MPI_ERROR : st[1].MPI_ERROR;
	if (status != MPI_STATUS_IGNORE)
		*status = st[0];
	if (pair->tmp && gen == mpi_lower_generation) {
		void *tmp = pair->tmp;
		long t = cross_enter();
		((mpi_wait_fn_free *)mpi_fn[F_wait_free])(tmp);
		cross_leave(t);
	}
	return rc;
}

/* cairn's extensions, for tests (dlsym): interrupt every wait in the lower
 * half now (async-signal-safe), and how many waits were interrupted. */
CAIRN_MPI_API void cairn_mpi_interrupt_waits(void)
{
	__atomic_store_n(&mpi_wait_stop, 1, __ATOMIC_RELEASE);
}

CAIRN_MPI_API unsigned long cairn_mpi_wait_interruptions(void)
{
	return __atomic_load_n(&interruptions, __ATOMIC_RELAXED);
}
