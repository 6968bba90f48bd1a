/* Random all-to-all traffic across a job's checkpoints (tests/mpi/job.sh).
 *
 *   traffic DIR ROUNDS STEPS
 *
 * Each round, every rank draws the same plan from a generator seeded by
 * the round: for every sender and receiver, 0 to 3 messages, each with a
 * random tag (of 3), length (1 to 300 ints) and communicator
 * (MPI_COMM_WORLD, or a split of it with the ranks reversed). Each rank
 * posts its sends (MPI_Isend, MPI_Issend or MPI_Send, by a random draw)
 * in a random order of receivers, computes for STEPS steps without calling
 * MPI (a checkpoint then finds the round's messages in flight), and
 * receives what the plan says it gets, by MPI_Probe or MPI_Iprobe with
 * MPI_ANY_SOURCE and MPI_ANY_TAG on either communicator in turn. Every
 * message must be the next one its sender sent it with that tag on that
 * communicator, with the planned length and content. Rounds end with a
 * barrier. Rank 0 prints "answer N" (a sum over everything received) and
 * "ok" when every check held; each rank writes DIR/ready.RANK (its PID)
 * when the first round's quiet phase starts.
 */
#define _GNU_SOURCE
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phases.h"

#define MAXMSG 3
#define NTAGS 3
#define MAXLEN 300
#define MAXRANKS 16

struct msg {
	int n;		   /* messages from this sender to this receiver */
	int tag[MAXMSG];   /* of each, in the order sent */
	int len[MAXMSG];
	int comm[MAXMSG];  /* 0: MPI_COMM_WORLD, 1: the reversed split */
	int mode[MAXMSG];  /* 0 MPI_Isend, 1 MPI_Issend, 2 MPI_Send */
};

static uint64_t rng;

static unsigned draw(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static int value(int src, int dst, int round, int k, int i)
{
	return src * 1000003 + dst * 10007 + round * 101 + k * 13 + i;
}

int main(int argc, char **argv)
{
	static struct msg plan[MAXRANKS][MAXRANKS];
	static int sbuf[MAXRANKS][MAXMSG][MAXLEN], rbuf[MAXLEN];
	int rank, size, bad = 0;
	long total = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: traffic DIR ROUNDS STEPS\n");
		return 2;
	}
	int rounds = atoi(argv[2]);
	long steps = atol(argv[3]);
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	if (size > MAXRANKS)
		MPI_Abort(MPI_COMM_WORLD, 2);
	MPI_Comm comms[2] = { MPI_COMM_WORLD, MPI_COMM_NULL };
	MPI_Comm_split(MPI_COMM_WORLD, 0, size - rank, &comms[1]);

	for (int round = 0; round < rounds; round++) {
		rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)(round + 1) * 0x100000001b3ull;
		for (int s = 0; s < size; s++)
			for (int d = 0; d < size; d++) {
				struct msg *m = &plan[s][d];
				m->n = (int)draw(MAXMSG + 1);
				for (int k = 0; k < m->n; k++) {
					m->tag[k] = (int)draw(NTAGS);
					m->len[k] = 1 + (int)draw(MAXLEN);
					m->comm[k] = (int)draw(2);
					m->mode[k] = (int)draw(3);
				}
			}
		/* the receivers in a random order (the same on every rank: the
		 * plan's generator goes on) */
		int order[MAXRANKS];
		for (int d = 0; d < size; d++)
			order[d] = d;
		for (int d = size - 1; d > 0; d--) {
			int j = (int)draw((unsigned)d + 1), t = order[d];
			order[d] = order[j];
			order[j] = t;
		}
		MPI_Request reqs[MAXRANKS * MAXMSG];
		int nreq = 0;
		for (int k = 0; k < MAXMSG; k++)
			for (int i = 0; i < size; i++) {
				int d = order[(i + rank) % size];
				struct msg *m = &plan[rank][d];
				if (k >= m->n)
					continue;
				int *b = sbuf[d][k], c = m->comm[k];
				for (int j = 0; j < m->len[k]; j++)
					b[j] = value(rank, d, round, k, j);
				int peer = c ? size - 1 - d : d;
				if (m->mode[k] == 0)
					MPI_Isend(b, m->len[k], MPI_INT, peer, m->tag[k], comms[c], &reqs[nreq++]);
				else if (m->mode[k] == 1)
					MPI_Issend(b, m->len[k], MPI_INT, peer, m->tag[k], comms[c], &reqs[nreq++]);
				else
					MPI_Send(b, m->len[k], MPI_INT, peer, m->tag[k], comms[c]);
			}
		if (round == 0)
			mark_ready(argv[1], rank);
		quiet(steps);

		/* receive: per (sender, communicator, tag), the plan's order */
		int expect = 0, left[2] = { 0, 0 }, next[MAXRANKS][2][NTAGS];
		memset(next, 0, sizeof(next));
		for (int s = 0; s < size; s++) {
			expect += plan[s][rank].n;
			for (int k = 0; k < plan[s][rank].n; k++)
				left[plan[s][rank].comm[k]]++;
		}
		for (int got = 0; got < expect; got++) {
			MPI_Status st;
			int flag = 0, c = left[got % 2] ? got % 2 : 1 - got % 2, count = -1;
			if (got % 4 == 1) { /* (on a communicator with messages to come) */
				MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, comms[c], &st);
			} else {
				while (!flag) {
					MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comms[c], &flag, &st);
					c = flag ? c : 1 - c;
				}
			}
			MPI_Get_count(&st, MPI_INT, &count);
			int src = c ? size - 1 - st.MPI_SOURCE : st.MPI_SOURCE, tag = st.MPI_TAG;
			if (src < 0 || src >= size || tag < 0 || tag >= NTAGS || count < 0 || count > MAXLEN) {
				fprintf(stderr, "rank %d: a message of %d ints from %d, tag %d\n", rank, count,
					st.MPI_SOURCE, tag);
				bad++;
				MPI_Recv(MPI_BOTTOM, 0, MPI_INT, st.MPI_SOURCE, tag, comms[c], MPI_STATUS_IGNORE);
				continue;
			}
			/* which of src's messages to me this must be: the next one
			 * with this tag on this communicator */
			struct msg *m = &plan[src][rank];
			int k = -1, seen = 0;
			for (int j = 0; j < m->n && k < 0; j++)
				if (m->tag[j] == tag && m->comm[j] == c && seen++ == next[src][c][tag])
					k = j;
			next[src][c][tag]++;
			left[c]--;
			MPI_Recv(rbuf, MAXLEN, MPI_INT, st.MPI_SOURCE, tag, comms[c], MPI_STATUS_IGNORE);
			if (k < 0 || count != m->len[k]) {
				fprintf(stderr, "rank %d: round %d: unplanned message from %d (tag %d, comm %d, %d ints)\n",
					rank, round, src, tag, c, count);
				bad++;
				continue;
			}
			for (int j = 0; j < count; j++)
				if (rbuf[j] != value(src, rank, round, k, j)) {
					fprintf(stderr, "rank %d: round %d: message %d from %d wrong at %d\n", rank,
						round, k, src, j);
					bad++;
					break;
				}
			total += rbuf[0] % 1009 + count;
		}
		MPI_Waitall(nreq, reqs, MPI_STATUSES_IGNORE);
		MPI_Barrier(MPI_COMM_WORLD);
	}
	long sum = 0;
	int allbad = 0;
	MPI_Allreduce(&total, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
	MPI_Allreduce(&bad, &allbad, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
	if (rank == 0) {
		printf("answer %ld\n", sum);
		if (!allbad)
			printf("ok\n");
	}
	MPI_Comm_free(&comms[1]);
	MPI_Finalize();
	return allbad ? 1 : 0;
}
