/* A function cairn does not support yet must abort loudly, naming itself. */
#include <mpi.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	char port[MPI_MAX_PORT_NAME];
	MPI_Init(&argc, &argv);
	MPI_Open_port(MPI_INFO_NULL, port);
	printf("MPI_Open_port returned\n");
	MPI_Finalize();
	return 0;
}
