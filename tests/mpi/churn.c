/* Datatypes and groups made and freed in a loop, across a job's
 * checkpoints (tests/mpi/job.sh): the log of the calls that made MPI
 * objects must not keep what is gone (src/mpi/log.c compacts it), and what
 * is live must still be made again after a restart.
 *
 *   churn DIR ROUNDS PER STEPS
 *
 * Every round, every rank makes PER datatypes, each a vector of a
 * contiguous base that is freed at once (the vector lives on, made from a
 * freed type), committed, named, and freed again, but every PER/4th of
 * them is kept to the end, and two groups (MPI_COMM_WORLD's, and
 * MPI_Group_incl of it) made and freed; then it sends its right neighbour a message laid
 * out by the round's last kept vector and checks the one from its left;
 * then it computes for STEPS steps without MPI (DIR/ready.RANK, its PID,
 * is written when round 0's starts). At the end every kept vector carries
 * a message again. Rank 0 prints "answer N" and "ok" if every check held.
 */
#define _GNU_SOURCE
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phases.h"

#define LEN 6 /* elements of a vector: LEN blocks of 2 ints, stride 3 bases */

static int sendrecv_vec(MPI_Datatype vec, int rank, int size, int seed)
{
	/* the vector covers LEN blocks of 2 bases of 2 ints, 3 bases apart */
	int out[LEN * 3 * 2], in[LEN * 3 * 2], bad = 0;
	int left = (rank + size - 1) % size, right = (rank + 1) % size;
	for (int i = 0; i < LEN * 6; i++)
		out[i] = seed * 1000 + rank * 100 + i, in[i] = -1;
	MPI_Sendrecv(out, 1, vec, right, 4, in, 1, vec, left, 4, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
	for (int i = 0; i < LEN * 6; i++) {
		int covered = i % 6 < 4 && i < (LEN - 1) * 6 + 4;
		int want = covered ? seed * 1000 + left * 100 + i : -1;
		bad += in[i] != want;
	}
	return bad;
}

int main(int argc, char **argv)
{
	int rank, size, bad = 0;
	long total = 0;

	if (argc < 5) {
		fprintf(stderr, "usage: churn DIR ROUNDS PER STEPS\n");
		return 2;
	}
	const char *dir = argv[1];
	int rounds = atoi(argv[2]), per = atoi(argv[3]);
	long steps = atol(argv[4]);
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	int keep_every = per / 4 > 0 ? per / 4 : 1;
	int nkept = 0, cap = rounds * (per / keep_every + 1);
	MPI_Datatype *kept = calloc((size_t)cap, sizeof(*kept));
	int *seed = calloc((size_t)cap, sizeof(*seed));

	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < per; i++) {
			MPI_Datatype base, vec;
			MPI_Type_contiguous(2, MPI_INT, &base);
			MPI_Type_vector(LEN, 2, 3, base, &vec);
			MPI_Type_free(&base);
			MPI_Type_commit(&vec);
			MPI_Type_set_name(vec, "churned");
			if (i % keep_every == keep_every - 1 && nkept < cap) {
				seed[nkept] = r * per + i;
				kept[nkept++] = vec;
			} else {
				MPI_Type_free(&vec);
			}
		}
		int ranks[2] = { rank, (rank + 1) % size };
		MPI_Group wg, g;
		MPI_Comm_group(MPI_COMM_WORLD, &wg);
		MPI_Group_incl(wg, size > 1 ? 2 : 1, ranks, &g);
		MPI_Group_free(&wg);
		int gs = -1;
		MPI_Group_size(g, &gs);
		bad += gs != (size > 1 ? 2 : 1);
		MPI_Group_free(&g);
		bad += sendrecv_vec(kept[nkept - 1], rank, size, seed[nkept - 1]);
		total += nkept;
		if (r == 0)
			mark_ready(dir, rank);
		quiet(steps);
	}
	for (int k = 0; k < nkept; k++) {
		char name[MPI_MAX_OBJECT_NAME] = "";
		int nl = 0;
		MPI_Type_get_name(kept[k], name, &nl);
		bad += strcmp(name, "churned") != 0;
		bad += sendrecv_vec(kept[k], rank, size, seed[k]);
		MPI_Type_free(&kept[k]);
	}
	long pair[2] = { total, bad }, all[2];
	MPI_Allreduce(pair, all, 2, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
	if (rank == 0) {
		printf("answer %ld\n", all[0]);
		printf(all[1] ? "bad %ld\n" : "ok\n", all[1]);
	}
	free(kept);
	free(seed);
	MPI_Finalize();
	return all[1] != 0;
}
