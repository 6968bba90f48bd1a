/*
 * The native baseline of the split MPI test: the same ping-pong as
 * mpi_split.c (mpi_ops.h), in a plain program linked with MPICH, whose
 * pointers are MPICH's own functions. Prints the half round trip of rank 0.
 */
#include <stdio.h>
#include <stdlib.h>

#include "mpi_ops.h"

int main(int argc, char **argv)
{
	const struct mpi_ops m = {
		.init = MPI_Init,
		.init_thread = MPI_Init_thread,
		.comm_rank = MPI_Comm_rank,
		.comm_size = MPI_Comm_size,
		.send = MPI_Send,
		.recv = MPI_Recv,
		.sendrecv = MPI_Sendrecv,
		.allreduce = MPI_Allreduce,
		.barrier = MPI_Barrier,
		.finalize = MPI_Finalize,
		.wtime = MPI_Wtime,
	};
	int rank, size, iters = argc > 1 ? atoi(argv[1]) : 2000;
	double t;

	m.init(&argc, &argv);
	m.comm_rank(MPI_COMM_WORLD, &rank);
	m.comm_size(MPI_COMM_WORLD, &size);
	t = mpi_pingpong(&m, rank, iters);
	if (rank == 0)
		printf("native-latency %.3f us (%d ranks, %d round trips)\n",
		       t * 1e6, size, iters);
	m.finalize();
	return t < 0;
}
