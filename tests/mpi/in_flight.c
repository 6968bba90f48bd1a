/* Messages in flight across a job's checkpoint (tests/mpi/job.sh).
 *
 *   in_flight DIR ROUNDS STEPS [skew | skew-stuck | split-lag]
 *
 * Each round, every rank sends every rank (itself included) a batch of
 * messages: on MPI_COMM_WORLD and on a split communicator, with three
 * tags, plain (MPI_Send, MPI_Isend, MPI_Bsend) and as a strided vector
 * datatype, all small enough to complete at once. Then it computes for
 * STEPS steps without calling MPI (a checkpoint taken then finds every
 * message of the round sent and none received: they are in flight), and
 * only then receives them, with MPI_Probe/MPI_Iprobe on MPI_ANY_SOURCE and
 * MPI_ANY_TAG, checking each message's content and that messages from one
 * sender with one tag arrive in the order they were sent. Rank 0 prints
 * "answer N" (a sum over everything received) and "ok" when every check
 * held, and "nodes N", the number of shared-memory nodes MPI sees at the
 * end. Rounds end with a barrier. Each rank writes DIR/ready.RANK (its PID) when the quiet phase of
 * round 1 starts.
 *
 * skew: in round 1, rank 0 enters an MPI_Bcast as root before its quiet
 * phase, the others after theirs: a checkpoint then must be refused (a
 * collective is in progress), and the job goes on. The other rounds' quiet
 * phases are STEPS/12 long, so that round 1 starts soon.
 * skew-stuck: the same, but the others first wait for a message rank 0
 * sends only after its quiet phase (their own is short): held at its gate
 * as the rank ahead, rank 0 would never send it, so a checkpoint must give
 * up (no rank runs forward) and the job go on.
 * split-lag: in round 1, the others enter an MPI_Comm_split (a call that
 * cannot be interrupted) at once while rank 0 computes STEPS steps before
 * it; every rank then reduces over the new communicator.
 */
#define _GNU_SOURCE
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "phases.h"

#define PER_TAG 4 /* messages per (destination, tag, communicator) */
#define NTAGS 3
#define LEN 32 /* ints per message */


static void fill(int *m, int src, int dst, int round, int tag, int k, int comm)
{
	for (int i = 0; i < LEN; i++)
		m[i] = src * 1000003 + dst * 10007 + round * 101 + tag * 13 + k * 7 + comm * 5 + i;
}

int main(int argc, char **argv)
{
	int rank, size, bad = 0;
	long total = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: in_flight DIR ROUNDS STEPS [skew]\n");
		return 2;
	}
	int rounds = atoi(argv[2]);
	long steps = atol(argv[3]);
	int stuck = argc > 4 && !strcmp(argv[4], "skew-stuck");
	int skew = stuck || (argc > 4 && !strcmp(argv[4], "skew"));
	int split_lag = argc > 4 && !strcmp(argv[4], "split-lag");
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	MPI_Comm half; /* everyone, renumbered backwards */
	MPI_Comm_split(MPI_COMM_WORLD, 0, size - rank, &half);
	int hrank;
	MPI_Comm_rank(half, &hrank);
	MPI_Datatype every_other; /* LEN ints from 2*LEN */
	MPI_Type_vector(LEN, 1, 2, MPI_INT, &every_other);
	MPI_Type_commit(&every_other);
	int bsize = 4 * size * NTAGS * (LEN * 4 + MPI_BSEND_OVERHEAD) + 4096;
	char *bbuf = malloc((size_t)bsize);
	MPI_Buffer_attach(bbuf, bsize);
	int *wide = malloc(sizeof(int) * 2 * LEN);
	int m[LEN];

	for (int round = 0; round < rounds; round++) {
		/* send: to every rank, every tag, both communicators */
		for (int c = 0; c < 2; c++) {
			MPI_Comm comm = c ? half : MPI_COMM_WORLD;
			int me = c ? hrank : rank;
			for (int dst = 0; dst < size; dst++)
				for (int tag = 0; tag < NTAGS; tag++)
					for (int k = 0; k < PER_TAG; k++) {
						fill(m, me, dst, round, tag, k, c);
						if (k == 0) {
							MPI_Send(m, LEN, MPI_INT, dst, tag, comm);
						} else if (k == 1) {
							MPI_Request r;
							MPI_Isend(m, LEN, MPI_INT, dst, tag, comm, &r);
							MPI_Wait(&r, MPI_STATUS_IGNORE);
						} else if (k == 2) {
							MPI_Bsend(m, LEN, MPI_INT, dst, tag, comm);
						} else {
							for (int i = 0; i < LEN; i++)
								wide[2 * i] = m[i], wide[2 * i + 1] = -1;
							MPI_Send(wide, 1, every_other, dst, tag, comm);
						}
					}
		}
		if (skew && round == 1 && rank == 0) {
			int v = 42;
			MPI_Bcast(&v, 1, MPI_INT, 0, MPI_COMM_WORLD);
		}
		if (round == 1)
			mark_ready(argv[1], rank);
		if (split_lag && round == 1) {
			MPI_Comm sc;
			if (rank == 0)
				quiet(steps);
			MPI_Comm_split(MPI_COMM_WORLD, rank % 2, rank, &sc);
			int one = 1, n = 0;
			MPI_Allreduce(&one, &n, 1, MPI_INT, MPI_SUM, sc);
			bad += n != (size + 1 - rank % 2) / 2;
			MPI_Comm_free(&sc);
		}
		int token = 0;
		if (stuck && round == 1 && rank != 0)
			MPI_Recv(&token, 1, MPI_INT, 0, 99, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		/* skew: only the phase a checkpoint is expected in is long */
		quiet((skew && (round != 1 || (stuck && rank != 0))) || split_lag ? steps / 12 : steps);
		if (stuck && round == 1 && rank == 0) {
			token = 7;
			for (int r = 1; r < size; r++)
				MPI_Send(&token, 1, MPI_INT, r, 99, MPI_COMM_WORLD);
		} else if (stuck && round == 1 && token != 7) {
			bad++;
		}
		if (skew && round == 1 && rank != 0) {
			int v = 0;
			MPI_Bcast(&v, 1, MPI_INT, 0, MPI_COMM_WORLD);
			if (v != 42)
				bad++;
		}
		/* receive with wildcards; per (communicator, sender, tag) in order */
		for (int c = 0; c < 2; c++) {
			MPI_Comm comm = c ? half : MPI_COMM_WORLD;
			int me = c ? hrank : rank;
			int next[64][NTAGS];
			memset(next, 0, sizeof(next));
			for (int n = 0; n < size * NTAGS * PER_TAG; n++) {
				MPI_Status st;
				int flag = 0, count = 0;
				if (n % 2)
					MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm, &st);
				else
					while (!flag)
						MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm, &flag, &st);
				MPI_Get_count(&st, MPI_INT, &count);
				int src = st.MPI_SOURCE, tag = st.MPI_TAG;
				if (count != LEN || src < 0 || src >= size || tag < 0 || tag >= NTAGS) {
					fprintf(stderr, "rank %d: a message of %d ints from %d, tag %d\n", rank,
						count, src, tag);
					bad++;
					MPI_Recv(m, LEN, MPI_INT, src, tag, comm, MPI_STATUS_IGNORE);
					continue;
				}
				int k = next[src][tag]++;
				if (k == 3) {
					for (int i = 0; i < 2 * LEN; i++)
						wide[i] = -7;
					MPI_Recv(wide, 1, every_other, src, tag, comm, &st);
					for (int i = 0; i < LEN; i++)
						m[i] = wide[2 * i];
					for (int i = 0; i < LEN; i++)
						if (wide[2 * i + 1] != -7)
							bad++;
				} else {
					MPI_Recv(m, LEN, MPI_INT, src, tag, comm, &st);
				}
				int want[LEN];
				fill(want, src, me, round, tag, k, c);
				if (memcmp(m, want, sizeof(want)) != 0) {
					fprintf(stderr,
						"rank %d round %d: message %d from %d (tag %d, comm %d) is "
						"wrong (out of order?)\n",
						rank, round, k, src, tag, c);
					bad++;
				}
				for (int i = 0; i < LEN; i++)
					total += m[i] % 1009;
			}
		}
		/* the next round's messages must not meet this round's receives */
		MPI_Barrier(MPI_COMM_WORLD);
	}
	long sum = 0;
	int allbad = 0;
	MPI_Allreduce(&total, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
	MPI_Allreduce(&bad, &allbad, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
	int bs;
	MPI_Buffer_detach(&bbuf, &bs);
	/* on how many nodes the job ends, as MPI sees them (a restart may be
	 * launched on other hosts) */
	MPI_Comm node;
	int nrank = 0, nodes = 0, first;
	MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
	MPI_Comm_rank(node, &nrank);
	first = nrank == 0;
	MPI_Allreduce(&first, &nodes, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
	MPI_Comm_free(&node);
	if (rank == 0) {
		printf("answer %ld\n", sum);
		printf("nodes %d\n", nodes);
		if (!allbad)
			printf("ok\n");
	}
	MPI_Type_free(&every_other);
	MPI_Comm_free(&half);
	MPI_Finalize();
	return allbad ? 1 : 0;
}
