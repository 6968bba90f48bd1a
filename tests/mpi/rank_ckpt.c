/* One rank's checkpoint and restart through the split process: an MPI
 * program (COMM_WORLD only) that exchanges messages, then computes for a
 * while without calling MPI, then combines its results with MPI. While it
 * computes, the test (tests/mpi/ckpt.sh) checkpoints each rank with
 * `cairn checkpoint`, lets the job finish or kills it, and restarts the
 * images under a fresh mpiexec: each restored rank gets a new lower half
 * and MPI_Init in it, and must reach the same answer.
 *
 *   rank_ckpt DIR STEPS [hold-comm]
 *
 * hold-comm: keep a duplicate of MPI_COMM_WORLD through the quiet phase (a
 * checkpoint must then be refused, naming it, until cairn rebuilds
 * communicators after a restart).
 * Each rank writes DIR/ready.RANK (its PID) when its quiet phase starts:
 * STEPS steps of 100000 multiplications, then the same again to check. Rank 0 prints "answer N" and "ok" when every
 * check holds, and every rank exits non-zero otherwise.
 */
#define _GNU_SOURCE
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int rank, size, bad = 0;
	if (argc < 3) {
		fprintf(stderr, "usage: rank_ckpt DIR STEPS\n");
		return 2;
	}
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);

	/* Traffic before: a ring and a reduction. */
	long token = rank, sum = 0;
	for (int i = 0; i < 100; i++) {
		long in;
		MPI_Sendrecv(&token, 1, MPI_LONG, (rank + 1) % size, 1, &in, 1, MPI_LONG,
			     (rank + size - 1) % size, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		token = in + 1;
	}
	MPI_Allreduce(&token, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
	long want = 0;
	for (int r = 0; r < size; r++)
		want += r + 100;
	if (sum != want) {
		fprintf(stderr, "rank %d: ring sum %ld, not %ld\n", rank, sum, want);
		bad++;
	}
	MPI_Comm held = MPI_COMM_NULL;
	if (argc > 3 && !strcmp(argv[3], "hold-comm"))
		MPI_Comm_dup(MPI_COMM_WORLD, &held);
	MPI_Barrier(MPI_COMM_WORLD);

	/* The quiet phase: no MPI, a known result, a marker for the test. */
	char path[4096];
	snprintf(path, sizeof(path), "%s/ready.%d", argv[1], rank);
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		MPI_Abort(MPI_COMM_WORLD, 2);
	}
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	unsigned long long x = (unsigned long long)rank + 1, steps = strtoull(argv[2], NULL, 10);
	for (unsigned long long s = 0; s < steps; s++)
		for (int i = 0; i < 100000; i++)
			x = x * 6364136223846793005ull + 1442695040888963407ull;
	/* Recompute from scratch to check the state survived. */
	unsigned long long y = (unsigned long long)rank + 1;
	for (unsigned long long s = 0; s < steps * 100000; s++)
		y = y * 6364136223846793005ull + 1442695040888963407ull;
	if (x != y) {
		fprintf(stderr, "rank %d: computed state differs after %llu steps\n", rank, steps);
		bad++;
	}

	if (held != MPI_COMM_NULL)
		MPI_Comm_free(&held);

	/* Traffic after: in the restored job, through the new lower half. */
	long one = (long)(x & 0xffff), all = 0, check = 0;
	MPI_Allreduce(&one, &all, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
	long *every = malloc(sizeof(long) * size);
	MPI_Allgather(&one, 1, MPI_LONG, every, 1, MPI_LONG, MPI_COMM_WORLD);
	for (int r = 0; r < size; r++)
		check += every[r];
	if (check != all) {
		fprintf(stderr, "rank %d: allgather sums to %ld, allreduce says %ld\n", rank, check,
			all);
		bad++;
	}
	token = rank;
	for (int i = 0; i < 100; i++) {
		long in;
		MPI_Sendrecv(&token, 1, MPI_LONG, (rank + 1) % size, 2, &in, 1, MPI_LONG,
			     (rank + size - 1) % size, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		token = in + 1;
	}
	MPI_Allreduce(&token, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
	if (sum != want) {
		fprintf(stderr, "rank %d: ring sum after %ld, not %ld\n", rank, sum, want);
		bad++;
	}
	int allbad = 0;
	MPI_Allreduce(&bad, &allbad, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
	if (rank == 0) {
		printf("answer %ld\n%s\n", all, allbad ? "FAILED" : "ok");
		fflush(stdout);
	}
	free(every);
	MPI_Finalize();
	return allbad != 0;
}
