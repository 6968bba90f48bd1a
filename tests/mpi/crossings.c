/* How many times each MPI call crosses into the lower half: run under
 * cairn, it reads cairn_mpi_crossings() (looked up with dlsym: the program
 * is not linked against cairn). Prints crossings per call for a ping-pong
 * loop (expected 1) and for MPI_Comm_rank/size (expected 0), and exits
 * non-zero if they differ. Natively it says so and exits 0. */
#include <dlfcn.h>
#include <mpi.h>
#include <stdio.h>

#define N 1000

int main(int argc, char **argv)
{
	int rank, size, x = 0, bad = 0;
	MPI_Init(&argc, &argv);
	unsigned long (*crossings)(void) = (unsigned long (*)(void))dlsym(RTLD_DEFAULT, "cairn_mpi_crossings");
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	if (!crossings) {
		if (rank == 0)
			printf("native: no crossings to count\n");
		MPI_Finalize();
		return 0;
	}
	MPI_Barrier(MPI_COMM_WORLD);
	unsigned long c0 = crossings();
	double t0 = MPI_Wtime();
	for (int i = 0; i < N; i++) {
		if (rank == 0) {
			MPI_Send(&x, 1, MPI_INT, 1, 0, MPI_COMM_WORLD);
			MPI_Recv(&x, 1, MPI_INT, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		} else if (rank == 1) {
			MPI_Recv(&x, 1, MPI_INT, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
			x++;
			MPI_Send(&x, 1, MPI_INT, 0, 0, MPI_COMM_WORLD);
		}
	}
	double t1 = MPI_Wtime();
	unsigned long c1 = crossings();
	for (int i = 0; i < N; i++) {
		MPI_Comm_rank(MPI_COMM_WORLD, &rank);
		MPI_Comm_size(MPI_COMM_WORLD, &size);
	}
	unsigned long c2 = crossings();
	MPI_Request r;
	for (int i = 0; i < N && rank < 2; i++) {
		MPI_Irecv(&x, 1, MPI_INT, 1 - rank, 1, MPI_COMM_WORLD, &r);
		MPI_Send(&x, 1, MPI_INT, 1 - rank, 1, MPI_COMM_WORLD);
		MPI_Wait(&r, MPI_STATUS_IGNORE);
	}
	unsigned long c3 = crossings();
	if (rank < 2) {
		double pp = (double)(c1 - c0) / (2.0 * N), rs = (double)(c2 - c1) / (2.0 * N),
		       nb = (double)(c3 - c2) / (3.0 * N);
		printf("rank %d: crossings per call: send/recv ping-pong %.2f, comm_rank/size %.2f, "
		       "irecv/send/wait %.2f; half round trip %.2f us\n",
		       rank, pp, rs, nb, (t1 - t0) * 1e6 / (2.0 * N));
		bad = pp != 1.0 || rs != 0.0 || nb != 1.0;
	}
	MPI_Finalize();
	return bad;
}
