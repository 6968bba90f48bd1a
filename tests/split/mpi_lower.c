/*
 * The lower half of the split MPI test: a plain program linked with the
 * real MPICH, whose table holds MPICH's own functions (mpi_ops.h's order),
 * loaded into the window by mpi_split.c.
 */
#include "mpi_ops.h"
#include "split/helper.h"

int main(int argc, char **argv)
{
	static void *table[M_NFUNCS] = {
		[M_INIT] = (void *)MPI_Init,
		[M_INIT_THREAD] = (void *)MPI_Init_thread,
		[M_COMM_RANK] = (void *)MPI_Comm_rank,
		[M_COMM_SIZE] = (void *)MPI_Comm_size,
		[M_SEND] = (void *)MPI_Send,
		[M_RECV] = (void *)MPI_Recv,
		[M_SENDRECV] = (void *)MPI_Sendrecv,
		[M_ALLREDUCE] = (void *)MPI_Allreduce,
		[M_BARRIER] = (void *)MPI_Barrier,
		[M_FINALIZE] = (void *)MPI_Finalize,
		[M_WTIME] = (void *)MPI_Wtime,
	};

	return split_helper_main(argc, argv, table, M_NFUNCS);
}
