/* Requests pending across a job's checkpoint (tests/mpi/job.sh).
 *
 *   pending DIR ITERS STEPS
 *
 * Every iteration, every rank
 *   - keeps a window of W receives posted (MPI_Irecv) from its left
 *     neighbour and W sends (MPI_Isend, MPI_Issend in turn) to its right
 *     one, completing the oldest of each (MPI_Wait, MPI_Waitany,
 *     MPI_Testsome): each message must be the next one its sender sent;
 *   - starts a persistent receive from the right and a persistent send to
 *     the left (MPI_Recv_init, MPI_Send_init on a duplicate communicator
 *     with a derived datatype) and two persistent collectives on the pairs
 *     below (MPI_Allreduce_init, and MPI_Alltoallw_init with an array of
 *     datatypes, a derived one among them), all by one MPI_Startall,
 *     computes, and completes them (MPI_Waitall); the derived datatypes
 *     were freed once the requests were made (MPI lets the requests keep
 *     them);
 *   - starts an MPI_Iallreduce and another on a communicator split in
 *     pairs (ranks reversed), and an MPI_Comm_idup of the pairs, computes,
 *     and waits for them; then a blocking MPI_Allreduce on the pairs and
 *     one on their new duplicate, which it frees;
 *   - every fourth iteration, rank 0 computes for 6*STEPS steps without
 *     calling MPI while the others wait for it in MPI_Recv (every other
 *     time) or in MPI_Sendrecv_replace; two iterations later, the same
 *     while the others wait in a collective rank 0 has not started (a
 *     blocking MPI_Allreduce on the duplicate; MPI_Ibcast from rank 0, or
 *     a persistent MPI_Bcast_init's MPI_Start, and MPI_Wait);
 *   - ends with an MPI_Allreduce of what it checked.
 * Every iteration also sends its right neighbour a message that the
 * neighbour matches (MPI_Mprobe) before computing and receives after it
 * (MPI_Mrecv, or MPI_Imrecv and MPI_Wait, with a derived datatype every
 * third time).
 * Two generalized requests (MPI_Grequest_start) live through the run: one
 * completed at once, one completed halfway (MPI_Test must not see it
 * complete before); both are waited for at the end, and their query and
 * free functions must report and run as natively (a restart makes them
 * again in the new lower half).
 * A checkpoint at any moment thus finds receives posted and not matched,
 * sends not complete, persistent requests active or not, a collective
 * started by every rank and not complete, and ranks blocked in receives
 * while another computes. Rank 0 prints "answer N" (a sum over everything
 * received) and "ok" when every check held. Each rank writes
 * DIR/ready.RANK (its PID) after the first iteration. With "lag", rank 0
 * computes for 40*STEPS steps in the second iteration while the others
 * wait in the MPI_Allreduce: a checkpoint taken then finds them there;
 * "plag" is the same with a persistent MPI_Alltoallw_init on
 * MPI_COMM_WORLD instead, "ilag" with an MPI_Comm_idup of the duplicate
 * (waited for, used, freed).
 */
#define _GNU_SOURCE
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "phases.h"

#define W 4 /* receives and sends kept in flight on the ring */
#define LEN 64 /* ints per ring message */
#define PLEN 16 /* ints per persistent message */


static int greq_frees;

static int greq_query(void *extra, MPI_Status *st)
{
	int *tag = extra;
	MPI_Status_set_elements(st, MPI_INT, *tag - 30);
	MPI_Status_set_cancelled(st, 0);
	st->MPI_SOURCE = MPI_UNDEFINED;
	st->MPI_TAG = *tag;
	return MPI_SUCCESS;
}

static int greq_free(void *extra)
{
	greq_frees += *(int *)extra > 30;
	return MPI_SUCCESS;
}

static int greq_cancel(void *extra, int complete)
{
	(void)extra;
	(void)complete;
	return MPI_SUCCESS;
}

static int value(int src, int seq, int i)
{
	return src * 1000003 + seq * 101 + i * 7;
}

int main(int argc, char **argv)
{
	int rank, size, bad = 0;
	long total = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: pending DIR ITERS STEPS [lag|plag|ilag]\n");
		return 2;
	}
	int plag = argc > 4 && !strcmp(argv[4], "plag");
	int ilag = argc > 4 && !strcmp(argv[4], "ilag");
	int lag = plag || ilag || (argc > 4 && !strcmp(argv[4], "lag"));
	const char *dir = argv[1];
	int iters = atoi(argv[2]);
	long steps = atol(argv[3]);

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	int left = (rank + size - 1) % size, right = (rank + 1) % size;

	/* the ring: receive slots filled in posting order */
	static int rbuf[W][LEN], sbuf[W][LEN];
	MPI_Request rreq[W], sreq[W];
	int rseq[W], next_post = 0, next_want = 0, rhead = 0;
	for (int k = 0; k < W; k++) {
		rreq[k] = sreq[k] = MPI_REQUEST_NULL;
		rseq[k] = -1;
	}
	for (int k = 0; k < W && next_post < iters; k++, next_post++) {
		MPI_Irecv(rbuf[k], LEN, MPI_INT, left, 7, MPI_COMM_WORLD, &rreq[k]);
		rseq[k] = next_post;
	}

	/* persistent requests on a duplicate, with a derived datatype */
	MPI_Comm pcomm;
	MPI_Datatype ptype;
	MPI_Comm_dup(MPI_COMM_WORLD, &pcomm);
	MPI_Type_contiguous(PLEN, MPI_INT, &ptype);
	MPI_Type_commit(&ptype);
	static int psend[PLEN], precv[PLEN];
	MPI_Request preq[4];
	MPI_Recv_init(precv, 1, ptype, right, 9, pcomm, &preq[0]);
	MPI_Send_init(psend, 1, ptype, left, 9, pcomm, &preq[1]);
	MPI_Type_free(&ptype); /* the requests keep it */
	bad += ptype != MPI_DATATYPE_NULL;

	/* pairs of ranks, numbered backwards */
	MPI_Comm pairs;
	int prank, psize;
	MPI_Comm_split(MPI_COMM_WORLD, rank / 2, -rank, &pairs);
	MPI_Comm_rank(pairs, &prank);
	MPI_Comm_size(pairs, &psize);
	int pfirst = rank / 2 * 2; /* the pair's lowest world rank */

	/* persistent collectives: a sum over the pairs, a broadcast from 0 */
	static long pc_in, pc_sum, pb_word;
	MPI_Allreduce_init(&pc_in, &pc_sum, 1, MPI_LONG, MPI_SUM, pairs, MPI_INFO_NULL, &preq[2]);
	MPI_Request pbcast;
	MPI_Bcast_init(&pb_word, 1, MPI_LONG, 0, MPI_COMM_WORLD, MPI_INFO_NULL, &pbcast);
	/* an exchange over the pairs, the second block in a derived type */
	static int pw_in[2], pw_out[2];
	int pw_cnt[2] = { 1, 1 }, pw_dsp[2] = { 0, sizeof(int) };
	MPI_Datatype one, pw_ty[2];
	MPI_Type_contiguous(1, MPI_INT, &one);
	MPI_Type_commit(&one);
	pw_ty[0] = MPI_INT;
	pw_ty[1] = one;
	MPI_Alltoallw_init(pw_in, pw_cnt, pw_dsp, pw_ty, pw_out, pw_cnt, pw_dsp, pw_ty, pairs,
			   MPI_INFO_NULL, &preq[3]);
	/* (plag) the same over every rank */
	static int ww_in[64], ww_out[64];
	int ww_cnt[64], ww_dsp[64];
	MPI_Datatype ww_ty[64];
	for (int i = 0; i < size && i < 64; i++)
		ww_cnt[i] = 1, ww_dsp[i] = i * (int)sizeof(int), ww_ty[i] = i % 2 ? one : MPI_INT;
	MPI_Request pw_world;
	MPI_Alltoallw_init(ww_in, ww_cnt, ww_dsp, ww_ty, ww_out, ww_cnt, ww_dsp, ww_ty, MPI_COMM_WORLD,
			   MPI_INFO_NULL, &pw_world);
	MPI_Type_free(&one); /* the requests keep it */

	/* generalized requests: one complete, one open until halfway */
	static int gtag_done = 33, gtag_open = 34;
	MPI_Request g_done, g_open;
	MPI_Grequest_start(greq_query, greq_free, greq_cancel, &gtag_done, &g_done);
	MPI_Grequest_start(greq_query, greq_free, greq_cancel, &gtag_open, &g_open);
	MPI_Grequest_complete(g_done);

	for (int it = 0; it < iters; it++) {
		/* a send on the ring, into the oldest send slot */
		int s = it % W;
		if (sreq[s] != MPI_REQUEST_NULL)
			MPI_Wait(&sreq[s], MPI_STATUS_IGNORE);
		for (int i = 0; i < LEN; i++)
			sbuf[s][i] = value(rank, it, i);
		if (it % 2)
			MPI_Issend(sbuf[s], LEN, MPI_INT, right, 7, MPI_COMM_WORLD, &sreq[s]);
		else
			MPI_Isend(sbuf[s], LEN, MPI_INT, right, 7, MPI_COMM_WORLD, &sreq[s]);

		/* persistent: start both, compute, complete */
		for (int i = 0; i < PLEN; i++)
			psend[i] = value(rank, it, i) + 3;
		pc_in = (long)it * 1000 + rank;
		pw_in[0] = pw_in[1] = it * 10 + rank;
		MPI_Startall(4, preq);

		/* a collective every rank starts now and completes later */
		long mine = it + rank, sum = -1;
		MPI_Request coll;
		MPI_Iallreduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD, &coll);
		/* a message matched now, received after computing */
		int mout[5], min[10];
		for (int i = 0; i < 5; i++)
			mout[i] = value(rank, it, i) + 11;
		MPI_Send(mout, 5, MPI_INT, right, 21, MPI_COMM_WORLD);
		MPI_Message mmsg;
		MPI_Status mst;
		MPI_Mprobe(left, 21, MPI_COMM_WORLD, &mmsg, &mst);
		long smine = (long)it * 100 + prank, smax = -1;
		MPI_Request scoll, idreq;
		MPI_Iallreduce(&smine, &smax, 1, MPI_LONG, MPI_MAX, pairs, &scoll);
		MPI_Comm idc;
		MPI_Comm_idup(pairs, &idc, &idreq);

		quiet(steps);

		/* rank 0 computes alone; the others wait for it in a receive */
		if (it % 4 == 3) {
			int word = it * 7 + 1;
			if (rank == 0) {
				quiet(steps * 6);
				for (int r = 1; r < size; r++) {
					if (it % 8 == 3) {
						MPI_Send(&word, 1, MPI_INT, r, 11, MPI_COMM_WORLD);
					} else {
						int w2 = word;
						MPI_Sendrecv_replace(&w2, 1, MPI_INT, r, 12, r, 13, MPI_COMM_WORLD,
								     MPI_STATUS_IGNORE);
						bad += w2 != word + r;
						total += w2;
					}
				}
			} else {
				int got = -1;
				MPI_Status st;
				if (it % 8 == 3) {
					MPI_Recv(&got, 1, MPI_INT, 0, 11, MPI_COMM_WORLD, &st);
				} else {
					got = word + rank;
					MPI_Sendrecv_replace(&got, 1, MPI_INT, 0, 13, 0, 12, MPI_COMM_WORLD, &st);
				}
				bad += got != word || st.MPI_SOURCE != 0;
				total += got;
			}
		}

		/* rank 0 computes alone; the others wait for it in a collective
		 * it has not started (a blocking MPI_Allreduce on the duplicate,
		 * or MPI_Ibcast from rank 0 and MPI_Wait) */
		if (it % 4 == 1) {
			long v = it + rank, vs = -1;
			if (rank == 0)
				quiet(lag && it == 1 ? steps * 40 : steps * 6);
			if (ilag && it == 1) {
				MPI_Comm dc;
				MPI_Request dr;
				MPI_Comm_idup(pcomm, &dc, &dr);
				MPI_Wait(&dr, MPI_STATUS_IGNORE);
				MPI_Allreduce(&v, &vs, 1, MPI_LONG, MPI_SUM, dc);
				MPI_Comm_free(&dc);
				bad += vs != (long)it * size + (long)size * (size - 1) / 2 || dc != MPI_COMM_NULL;
				total += vs;
			} else if (plag && it == 1) {
				for (int i = 0; i < size; i++)
					ww_in[i] = rank * 100 + i;
				MPI_Start(&pw_world);
				MPI_Wait(&pw_world, MPI_STATUS_IGNORE);
				for (int i = 0; i < size; i++)
					bad += ww_out[i] != i * 100 + rank;
				total += ww_out[size - 1];
			} else if (it % 8 == 1) {
				MPI_Allreduce(&v, &vs, 1, MPI_LONG, MPI_SUM, pcomm);
				bad += vs != (long)it * size + (long)size * (size - 1) / 2;
				total += vs;
			} else if (it % 16 == 5) {
				/* (a blocking MPI_Bcast would not match MPI_Ibcast) */
				MPI_Request b;
				if (rank == 0)
					v = it * 5 + 2;
				MPI_Ibcast(&v, 1, MPI_LONG, 0, MPI_COMM_WORLD, &b);
				MPI_Wait(&b, MPI_STATUS_IGNORE);
				bad += v != it * 5 + 2;
				total += v;
			} else {
				pb_word = rank == 0 ? it * 5 + 3 : -1;
				MPI_Start(&pbcast);
				MPI_Wait(&pbcast, MPI_STATUS_IGNORE);
				bad += pb_word != it * 5 + 3 || pbcast == MPI_REQUEST_NULL;
				total += pb_word;
			}
		}

		/* the oldest ring receive: the next message its sender sent */
		int h = rhead;
		MPI_Status st;
		if (it % 3 == 0) {
			MPI_Wait(&rreq[h], &st);
		} else {
			/* MPI_Waitany on the oldest alone: the others may complete
			 * too, but the oldest must hold the oldest message */
			int idx = -1;
			MPI_Waitany(1, &rreq[h], &idx, &st);
			bad += idx != 0;
		}
		int cnt = -1;
		MPI_Get_count(&st, MPI_INT, &cnt);
		bad += cnt != LEN || st.MPI_SOURCE != left || st.MPI_TAG != 7;
		for (int i = 0; i < LEN; i++)
			bad += rbuf[h][i] != value(left, next_want, i);
		bad += rseq[h] != next_want;
		total += rbuf[h][LEN - 1] % 1000;
		next_want++;
		if (next_post < iters) {
			MPI_Irecv(rbuf[h], LEN, MPI_INT, left, 7, MPI_COMM_WORLD, &rreq[h]);
			rseq[h] = next_post++;
		}
		rhead = (rhead + 1) % W;

		/* some sends may have completed meanwhile */
		int outc = 0, idx[W];
		MPI_Testsome(W, sreq, &outc, idx, MPI_STATUSES_IGNORE);

		MPI_Status pst[4];
		MPI_Waitall(4, preq, pst);
		for (int i = 0; i < psize; i++)
			bad += pw_out[i] != it * 10 + (psize == 2 ? pfirst + 1 - i : rank);
		total += pw_out[0] % 100;
		for (int i = 0; i < PLEN; i++)
			bad += precv[i] != value(right, it, i) + 3;
		bad += pst[0].MPI_SOURCE != right || pst[0].MPI_TAG != 9;
		bad += pc_sum != (long)it * 1000 * psize + (psize == 2 ? 2 * pfirst + 1 : pfirst);
		total += precv[0] % 1000 + pc_sum % 1000;

		MPI_Wait(&coll, MPI_STATUS_IGNORE);
		bad += sum != (long)it * size + (long)size * (size - 1) / 2;
		total += sum;
		/* the matched message: into ints, or every other int */
		MPI_Status mst2;
		int mcount = -1;
		for (int i = 0; i < 10; i++)
			min[i] = -1;
		MPI_Datatype every2;
		MPI_Type_vector(5, 1, 2, MPI_INT, &every2);
		MPI_Type_commit(&every2);
		int third = it % 3 == 2, stride = third ? 2 : 1;
		if (it % 2) {
			MPI_Mrecv(min, third ? 1 : 5, third ? every2 : MPI_INT, &mmsg, &mst2);
		} else {
			MPI_Request mreq;
			MPI_Imrecv(min, third ? 1 : 5, third ? every2 : MPI_INT, &mmsg, &mreq);
			MPI_Wait(&mreq, &mst2);
		}
		MPI_Type_free(&every2);
		MPI_Get_count(&mst2, MPI_INT, &mcount);
		for (int i = 0; i < 5; i++)
			bad += min[i * stride] != value(left, it, i) + 11;
		bad += mmsg != MPI_MESSAGE_NULL || mst2.MPI_SOURCE != left || mst2.MPI_TAG != 21 ||
		       mst.MPI_SOURCE != left || (third ? mcount != MPI_UNDEFINED && mcount != 5 : mcount != 5);
		total += min[0] % 100;
		MPI_Wait(&scoll, MPI_STATUS_IGNORE);
		bad += smax != (long)it * 100 + psize - 1;
		int wsum = -1, isum = -1;
		MPI_Allreduce(&rank, &wsum, 1, MPI_INT, MPI_SUM, pairs);
		bad += wsum != (psize == 2 ? 2 * pfirst + 1 : pfirst);
		MPI_Wait(&idreq, MPI_STATUS_IGNORE);
		MPI_Allreduce(&rank, &isum, 1, MPI_INT, MPI_SUM, idc);
		bad += isum != wsum || idreq != MPI_REQUEST_NULL;
		MPI_Comm_free(&idc);
		total += smax % 7 + wsum;

		long pair[2] = {total, bad}, all[2];
		MPI_Allreduce(pair, all, 2, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
		if (it == iters - 1) {
			total = all[0];
			bad = (int)all[1];
		}
		if (it == 0)
			mark_ready(dir, rank);
		if (it < iters / 2) {
			int gflag = 1;
			MPI_Test(&g_open, &gflag, MPI_STATUS_IGNORE);
			bad += gflag != 0;
		} else if (it == iters / 2) {
			MPI_Grequest_complete(g_open);
		}
	}
	MPI_Status gst[2];
	int gn[2] = { -1, -1 };
	MPI_Wait(&g_done, &gst[0]);
	MPI_Wait(&g_open, &gst[1]);
	MPI_Get_count(&gst[0], MPI_INT, &gn[0]);
	MPI_Get_count(&gst[1], MPI_INT, &gn[1]);
	if (gst[0].MPI_TAG != 33 || gst[1].MPI_TAG != 34 || gn[0] != 3 || gn[1] != 4 ||
	    greq_frees != 2 || g_done != MPI_REQUEST_NULL || g_open != MPI_REQUEST_NULL) {
		fprintf(stderr, "rank %d: generalized requests: tags %d %d, counts %d %d, %d frees\n",
			rank, gst[0].MPI_TAG, gst[1].MPI_TAG, gn[0], gn[1], greq_frees);
		bad++;
	}
	MPI_Waitall(W, sreq, MPI_STATUSES_IGNORE);
	MPI_Comm_free(&pairs);
	MPI_Request_free(&preq[0]);
	MPI_Request_free(&preq[1]);
	MPI_Request_free(&preq[2]);
	MPI_Request_free(&preq[3]);
	MPI_Request_free(&pw_world);
	MPI_Request_free(&pbcast);
	MPI_Comm_free(&pcomm);
	if (rank == 0) {
		printf("answer %ld\n", total);
		printf(bad ? "bad %d\n" : "ok\n", bad);
	}
	MPI_Finalize();
	return 0;
}
