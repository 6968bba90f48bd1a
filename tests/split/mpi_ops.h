/*
 * The MPI calls the split MPI test makes, as a table of pointers with
 * MPI's own signatures, and the logic both the split program (mpi_split.c:
 * each pointer crosses into a lower half linked with MPICH) and the native
 * one (mpi_native.c: each pointer is MPICH's function) run, so that their
 * timings compare the same code. mpi.h is included for its types and
 * constants only: the split program is not linked with MPI.
 */
#ifndef SPLIT_TEST_MPI_OPS_H
#define SPLIT_TEST_MPI_OPS_H

#include <mpi.h>

/* The lower half's table (mpi_lower.c), in this order. */
enum mpi_fn {
	M_INIT,
	M_INIT_THREAD,
	M_COMM_RANK,
	M_COMM_SIZE,
	M_SEND,
	M_RECV,
	M_SENDRECV,
	M_ALLREDUCE,
	M_BARRIER,
	M_FINALIZE,
	M_WTIME,
	M_NFUNCS
};

struct mpi_ops {
	int (*init)(int *, char ***);
	int (*init_thread)(int *, char ***, int, int *);
	int (*comm_rank)(MPI_Comm, int *);
	int (*comm_size)(MPI_Comm, int *);
	int (*send)(const void *, int, MPI_Datatype, int, int, MPI_Comm);
	int (*recv)(void *, int, MPI_Datatype, int, int, MPI_Comm,
		    MPI_Status *);
	int (*sendrecv)(const void *, int, MPI_Datatype, int, int, void *, int,
			MPI_Datatype, int, int, MPI_Comm, MPI_Status *);
	int (*allreduce)(const void *, void *, int, MPI_Datatype, MPI_Op,
			 MPI_Comm);
	int (*barrier)(MPI_Comm);
	int (*finalize)(void);
	double (*wtime)(void);
};

/* An 8-byte ping-pong between ranks 0 and 1, ITERS round trips after a
 * warm-up; the others wait at the closing barrier. Returns the half round
 * trip in seconds on ranks 0 and 1 (0 elsewhere), or -1 if a message came
 * back wrong. */
static inline double mpi_pingpong(const struct mpi_ops *m, int rank, int iters)
{
	long long v = 0, got = 0;
	double t0 = 0, t = 0;
	int bad = 0;

	for (int i = -iters / 10; i < iters && rank < 2; i++) {
		if (i == 0)
			t0 = m->wtime();
		if (rank == 0) {
			v = i * 3 + 1;
			m->send(&v, 1, MPI_LONG_LONG, 1, 7, MPI_COMM_WORLD);
			m->recv(&got, 1, MPI_LONG_LONG, 1, 8, MPI_COMM_WORLD,
				MPI_STATUS_IGNORE);
			bad |= got != v + 1;
		} else {
			m->recv(&got, 1, MPI_LONG_LONG, 0, 7, MPI_COMM_WORLD,
				MPI_STATUS_IGNORE);
			got++;
			m->send(&got, 1, MPI_LONG_LONG, 0, 8, MPI_COMM_WORLD);
		}
	}
	if (rank < 2)
		t = (m->wtime() - t0) / (2.0 * iters);
	m->barrier(MPI_COMM_WORLD);
	return bad ? -1 : t;
}

#endif
