/* A function cairn does not support yet must abort loudly, naming itself. */
#include <mpi.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	MPI_Win win = MPI_WIN_NULL;
	MPI_Init(&argc, &argv);
	MPI_Win_fence(0, win);
	printf("MPI_Win_fence returned\n");
	MPI_Finalize();
	return 0;
}
