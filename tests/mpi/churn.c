/* Datatypes, groups and communicators made and freed in a loop, across a
 * job's checkpoints (tests/mpi/job.sh): the log of the calls that made MPI
 * objects must not keep what is gone (src/mpi/log.c compacts it), and what
 * is live must still be made again after a restart.
 *
 *   churn DIR ROUNDS PER STEPS [COMMS]
 *
 * Every round, every rank makes PER datatypes, each a vector of a
 * contiguous base that is freed at once (the vector lives on, made from a
 * freed type), committed, named, and freed again, but every PER/4th of
 * them is kept to the end, and two groups (MPI_COMM_WORLD's, and
 * MPI_Group_incl of it) made and freed; COMMS times, it duplicates
 * MPI_COMM_WORLD (MPI_ERRORS_RETURN set on it), splits the duplicate by
 * parity, and again with only
 * the even ranks in (MPI_UNDEFINED: the odd ones get MPI_COMM_NULL), and
 * frees all three, but keeps (named) the round's last parity split, made
 * from a freed duplicate, and the even ranks keep one of the splits only
 * they are in (the odd ranks must make it again after a restart all the
 * same: they took part in making it, and in its duplicate); it makes a communicator of a group it frees at
 * once (MPI_Comm_create), kept every other round; then it sends its right
 * neighbour a message laid out by the round's last kept vector and checks
 * the one from its left;
 * then it computes for STEPS steps without MPI (DIR/ready.RANK, its PID,
 * is written when round 0's starts). At the end every kept vector carries
 * a message again, and every kept communicator sums its members' ranks. Rank 0 prints "answer N" and "ok" if every check held.
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
		fprintf(stderr, "usage: churn DIR ROUNDS PER STEPS [COMMS]\n");
		return 2;
	}
	const char *dir = argv[1];
	int rounds = atoi(argv[2]), per = atoi(argv[3]), comms = argc > 5 ? atoi(argv[5]) : 0;
	long steps = atol(argv[4]);
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	int keep_every = per / 4 > 0 ? per / 4 : 1;
	int nkept = 0, cap = rounds * (per / keep_every + 1);
	MPI_Datatype *kept = calloc((size_t)cap, sizeof(*kept));
	int *seed = calloc((size_t)cap, sizeof(*seed));
	MPI_Comm *kc = calloc((size_t)rounds * 3 + 1, sizeof(*kc));
	long *kc_sum = calloc((size_t)rounds * 3 + 1, sizeof(*kc_sum));
	int *kc_named = calloc((size_t)rounds * 3 + 1, sizeof(*kc_named));
	int nkc = 0;
	long parity_sum = 0, even_sum = 0, world_sum = (long)size * (size - 1) / 2;
	for (int i = rank % 2; i < size; i += 2)
		parity_sum += i;
	for (int i = 0; i < size; i += 2)
		even_sum += i;

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
		for (int i = 0; i < comms; i++) {
			MPI_Comm d, s, u;
			MPI_Comm_dup(MPI_COMM_WORLD, &d);
			MPI_Comm_set_errhandler(d, MPI_ERRORS_RETURN);
			MPI_Comm_split(d, rank % 2, rank, &s);
			MPI_Comm_split(d, rank % 2 ? MPI_UNDEFINED : 0, rank, &u);
			MPI_Comm_free(&d);
			bad += (u == MPI_COMM_NULL) != (rank % 2);
			if (u != MPI_COMM_NULL && i == comms / 2) {
				/* kept by the even ranks only */
				kc_sum[nkc] = even_sum;
				kc[nkc++] = u;
			} else if (u != MPI_COMM_NULL) {
				MPI_Comm_free(&u);
			}
			if (i == comms - 1) {
				MPI_Comm_set_name(s, "kept");
				kc_sum[nkc] = parity_sum;
				kc_named[nkc] = 1;
				kc[nkc++] = s;
			} else {
				MPI_Comm_free(&s);
			}
		}
		if (comms) {
			MPI_Group cgr;
			MPI_Comm c;
			MPI_Comm_group(MPI_COMM_WORLD, &cgr);
			MPI_Comm_create(MPI_COMM_WORLD, cgr, &c);
			MPI_Group_free(&cgr);
			if (r % 2 == 0) {
				kc_sum[nkc] = world_sum;
				kc[nkc++] = c;
			} else {
				MPI_Comm_free(&c);
			}
		}
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
	for (int k = 0; k < nkc; k++) {
		long sum = -1;
		MPI_Allreduce(&(long){ rank }, &sum, 1, MPI_LONG, MPI_SUM, kc[k]);
		bad += sum != kc_sum[k];
		total += sum;
		char name[MPI_MAX_OBJECT_NAME] = "";
		int nl = 0;
		MPI_Comm_get_name(kc[k], name, &nl);
		bad += kc_named[k] && strcmp(name, "kept") != 0;
		MPI_Comm_free(&kc[k]);
	}
	long pair[2] = { total, bad }, all[2];
	MPI_Allreduce(pair, all, 2, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
	if (rank == 0) {
		printf("answer %ld\n", all[0]);
		printf(all[1] ? "bad %ld\n" : "ok\n", all[1]);
	}
	free(kept);
	free(seed);
	free(kc);
	free(kc_sum);
	free(kc_named);
	MPI_Finalize();
	return all[1] != 0;
}
