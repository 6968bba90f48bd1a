#include <dlfcn.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* mpi_pp BYTES ITERS [allreduce]: half round trip (us) and bandwidth
 * (MB/s) between ranks 0 and 1, and FS switches (crossings x 2) per MPI
 * call; with "allreduce", the time of one MPI_Allreduce summing BYTES / 8
 * doubles (at least one) over all ranks instead of the round trip */
int main(int argc, char **argv)
{
	int rank;
	long bytes = atol(argv[1]), iters = atol(argv[2]);
	int coll = argc > 3 && strcmp(argv[3], "allreduce") == 0;
	int nd = bytes / 8 ? (int)(bytes / 8) : 1;
	char *buf = calloc(1, bytes > 8 ? bytes : 8);
	double *out = calloc((size_t)nd, sizeof(double));
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	unsigned long (*cross)(void) = (unsigned long (*)(void))dlsym(RTLD_DEFAULT, "cairn_mpi_crossings");
	for (int warm = 1; warm >= 0; warm--) {
		long n = warm ? iters / 10 + 1 : iters;
		MPI_Barrier(MPI_COMM_WORLD);
		unsigned long c0 = cross ? cross() : 0;
		double t0 = MPI_Wtime();
		for (long i = 0; i < n; i++) {
			if (coll) {
				MPI_Allreduce(buf, out, nd, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
			} else if (rank == 0) {
				MPI_Send(buf, (int)bytes, MPI_CHAR, 1, 0, MPI_COMM_WORLD);
				MPI_Recv(buf, (int)bytes, MPI_CHAR, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
			} else if (rank == 1) {
				MPI_Recv(buf, (int)bytes, MPI_CHAR, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
				MPI_Send(buf, (int)bytes, MPI_CHAR, 0, 0, MPI_COMM_WORLD);
			}
		}
		double t = MPI_Wtime() - t0;
		unsigned long c1 = cross ? cross() : 0;
		if (!warm && rank == 0)
			printf("%.3f %.1f %.2f\n", t * 1e6 / ((coll ? 1.0 : 2.0) * n),
			       (coll ? 1.0 : 2.0) * n * bytes / t / 1e6,
			       2.0 * (double)(c1 - c0) / ((coll ? 1.0 : 2.0) * n));
	}
	MPI_Finalize();
	return 0;
}
