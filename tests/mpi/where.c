/* An MPI program that says, per rank, whether its MPI calls land in
 * cairn's libmpich.so.12 and whether cairn's runtime is loaded, and
 * prints one environment variable (for the launcher-option tests). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int mapped(const char *name)
{
	char line[4096];
	int yes = 0;
	FILE *f = fopen("/proc/self/maps", "r");
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, name))
			yes = 1;
	if (f)
		fclose(f);
	return yes;
}

int main(int argc, char **argv)
{
	int rank, size, sum = 0;
	char line[256];

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
	const char *v = getenv("CAIRN_TEST_VAR");
	snprintf(line, sizeof(line), "rank %d/%d sum %d upper=%s runtime=%s var=%s args=%d", rank, size,
		 sum, dlsym(RTLD_DEFAULT, "cairn_mpi_crossings") ? "cairn" : "mpich",
		 mapped("libcairn.so") ? "yes" : "no", v ? v : "-", argc - 1);
	if (rank == 0) {
		puts(line);
		for (int r = 1; r < size; r++) {
			MPI_Recv(line, sizeof(line), MPI_CHAR, r, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
			puts(line);
		}
	} else {
		MPI_Send(line, (int)strlen(line) + 1, MPI_CHAR, 0, 0, MPI_COMM_WORLD);
	}
	MPI_Finalize();
	return 0;
}
