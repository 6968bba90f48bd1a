/* MPI_Isendrecv and MPI_Isendrecv_replace across a job's checkpoints
 * (tests/mpi/job.sh).
 *
 *   pairs DIR ITERS STEPS
 *
 * Every iteration, every rank
 *   - receives, by two blocking receives, the two messages its left
 *     neighbour sends first thing in each iteration: the first matches the
 *     receive of the freed pair below, posted an iteration earlier (MPI
 *     matches in order), whose buffer then holds it;
 *   - starts an MPI_Isendrecv on the ring (to the right, from the left) and
 *     an MPI_Isendrecv_replace with its partner (rank ^ 1; MPI_PROC_NULL if
 *     none), with a strided datatype every other time, made for them and
 *     freed once they are posted;
 *   - starts an MPI_Isendrecv (to the right with tag 9, from the left with
 *     tag 8, matched next iteration, into a datatype of one int) and frees
 *     its request and that datatype at once (its send buffer is left
 *     alone for an iteration);
 *   - computes for STEPS steps; every fourth iteration rank 0 computes six
 *     times as long while the others wait for it in MPI_Wait on an
 *     MPI_Isendrecv with it;
 *   - completes both pairs, in turn by MPI_Wait, MPI_Waitall, MPI_Waitany,
 *     MPI_Test, MPI_Testall, MPI_Testsome and MPI_Request_get_status, and
 *     checks what arrived; receives the freed pair's tag-9 message;
 *   - ends with an MPI_Barrier.
 * Every value received, and every status (source, tag, elements), is
 * checked against what its sender must have sent. MPICH 4.0.2's own
 * MPI_Isendrecv fills statuses wrongly, crashes on derived datatypes and
 * cannot free a request that is not complete: this program runs under
 * cairn only (job.sh compares it with an uninterrupted run there). Rank 0 prints "answer N" (a sum over every rank's checks) and
 * "ok" when every check held; each
 * rank writes DIR/ready.RANK after the first iteration.
 */
#define _GNU_SOURCE
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phases.h"

#define LEN 48

static int value(int src, int seq, int i)
{
	return src * 1000003 + seq * 101 + i * 7;
}

static int bad;

static void check_status(const MPI_Status *st, int source, int tag, int elements)
{
	int n = -1;
	MPI_Get_elements(st, MPI_INT, &n);
	if ((st->MPI_SOURCE != source || st->MPI_TAG != tag || n != elements)) {
		fprintf(stderr, "status: source %d tag %d elements %d; want %d %d %d\n", st->MPI_SOURCE,
			st->MPI_TAG, n, source, tag, elements);
		bad++;
	}
}

/* Complete q[0..1] one way of seven (st: their statuses). */
static void complete(int how, MPI_Request q[2], MPI_Status st[2])
{
	int flag = 0, idx = -1, n = 0, ids[2];
	MPI_Status s1[2];
	switch (how) {
	case 0:
		MPI_Wait(&q[0], &st[0]);
		MPI_Wait(&q[1], &st[1]);
		break;
	case 1:
		MPI_Waitall(2, q, st);
		break;
	case 2:
		for (int k = 0; k < 2; k++) {
			MPI_Waitany(2, q, &idx, &s1[0]);
			st[idx] = s1[0];
		}
		bad += idx == MPI_UNDEFINED;
		break;
	case 3:
		for (int k = 0; k < 2; k++)
			for (flag = 0; !flag;)
				MPI_Test(&q[k], &flag, &st[k]);
		break;
	case 4:
		while (!flag)
			MPI_Testall(2, q, &flag, st);
		break;
	case 5:
		while (n < 2) {
			int got = 0;
			MPI_Testsome(2, q, &got, ids, s1);
			for (int k = 0; k < got && got != MPI_UNDEFINED; k++)
				st[ids[k]] = s1[k];
			n += got == MPI_UNDEFINED ? 0 : got;
		}
		break;
	default:
		/* MPI_Request_get_status leaves the request; MPI_Wait frees it */
		for (int k = 0; k < 2; k++) {
			for (flag = 0; !flag;)
				MPI_Request_get_status(q[k], &flag, &st[k]);
			MPI_Status again;
			MPI_Wait(&q[k], &again);
			bad += again.MPI_SOURCE != st[k].MPI_SOURCE || again.MPI_TAG != st[k].MPI_TAG;
		}
		break;
	}
	bad += q[0] != MPI_REQUEST_NULL || q[1] != MPI_REQUEST_NULL;
}

int main(int argc, char **argv)
{
	int rank, size;
	long total = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: pairs DIR ITERS STEPS\n");
		return 2;
	}
	const char *dir = argv[1];
	int iters = atoi(argv[2]);
	long steps = atol(argv[3]);

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	int left = (rank + size - 1) % size, right = (rank + 1) % size;
	int partner = (rank ^ 1) < size ? rank ^ 1 : MPI_PROC_NULL;

	static int sbuf[2 * LEN], rbuf[2 * LEN], xbuf[2 * LEN], oin[2], oout[2];

	for (int it = 0; it <= iters; it++) {
		/* the freed pair's receive (posted last iteration) matches the
		 * first of these; the blocking receive, the second */
		if (it > 0) {
			int o[2] = { value(rank, it - 1, 1), value(rank, it - 1, 2) }, x = -1;
			MPI_Send(&o[0], 1, MPI_INT, right, 8, MPI_COMM_WORLD);
			MPI_Send(&o[1], 1, MPI_INT, right, 8, MPI_COMM_WORLD);
			MPI_Recv(&x, 1, MPI_INT, left, 8, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
			bad += x != value(left, it - 1, 2) || oin[(it - 1) % 2] != value(left, it - 1, 1);
			total += x % 1000 + oin[(it - 1) % 2] % 100;
		}
		if (it == iters)
			break;

		int strided = it % 2, stride = strided ? 2 : 1;
		MPI_Datatype every2 = MPI_DATATYPE_NULL; /* LEN ints, every other one */
		if (strided) {
			MPI_Type_vector(LEN, 1, 2, MPI_INT, &every2);
			MPI_Type_commit(&every2);
		}
		MPI_Datatype type = strided ? every2 : MPI_INT;
		int count = strided ? 1 : LEN;
		memset(rbuf, 0xff, sizeof(rbuf));
		for (int i = 0; i < LEN; i++) {
			sbuf[i * stride] = value(rank, it, i);
			xbuf[i * stride] = value(rank, it, i) + 5;
		}
		MPI_Request q[2];
		MPI_Isendrecv(sbuf, count, type, right, 5, rbuf, count, type, left, 5, MPI_COMM_WORLD,
			      &q[0]);
		MPI_Isendrecv_replace(xbuf, count, type, partner, 6, partner, 6, MPI_COMM_WORLD, &q[1]);
		if (strided) /* the requests keep it */
			MPI_Type_free(&every2);

		/* freed at once: its send arrives below, its receive next time */
		MPI_Request orphan;
		MPI_Datatype o1; /* an int, freed at once too */
		MPI_Type_contiguous(1, MPI_INT, &o1);
		MPI_Type_commit(&o1);
		oout[it % 2] = value(rank, it, 3);
		MPI_Isendrecv(&oout[it % 2], 1, MPI_INT, right, 9, &oin[it % 2], 1, o1, left, 8,
			      MPI_COMM_WORLD, &orphan);
		MPI_Request_free(&orphan);
		MPI_Type_free(&o1);
		bad += orphan != MPI_REQUEST_NULL || o1 != MPI_DATATYPE_NULL;

		quiet(steps);

		/* rank 0 computes alone; the others wait for it in MPI_Wait */
		if (it % 4 == 3) {
			int word = it * 7 + 1;
			if (rank == 0) {
				quiet(steps * 6);
				for (int r = 1; r < size; r++) {
					int w = word, back = -1;
					MPI_Request l;
					MPI_Status ls;
					MPI_Isendrecv(&w, 1, MPI_INT, r, 7, &back, 1, MPI_INT, r, 7,
						      MPI_COMM_WORLD, &l);
					MPI_Wait(&l, &ls);
					check_status(&ls, r, 7, 1);
					bad += back != word + r;
					total += back;
				}
			} else {
				int w = word + rank, got = -1;
				MPI_Request l;
				MPI_Status ls;
				MPI_Isendrecv(&w, 1, MPI_INT, 0, 7, &got, 1, MPI_INT, 0, 7, MPI_COMM_WORLD,
					      &l);
				MPI_Wait(&l, &ls);
				check_status(&ls, 0, 7, 1);
				bad += got != word;
				total += got;
			}
		}

		MPI_Status st[2];
		complete(it % 7, q, st);
		check_status(&st[0], left, 5, LEN);
		if (partner != MPI_PROC_NULL)
			check_status(&st[1], partner, 6, LEN);
		for (int i = 0; i < LEN; i++) {
			bad += rbuf[i * stride] != value(left, it, i);
			int want = partner == MPI_PROC_NULL ? value(rank, it, i) + 5 : value(partner, it, i) + 5;
			bad += xbuf[i * stride] != want;
		}
		total += rbuf[(LEN - 1) * stride] % 1000 + xbuf[0] % 1000;

		int o9 = -1;
		MPI_Recv(&o9, 1, MPI_INT, left, 9, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		bad += o9 != value(left, it, 3);

		MPI_Barrier(MPI_COMM_WORLD);
		if (it == 0)
			mark_ready(dir, rank);
	}
	long pair[2] = { total, bad }, all[2];
	MPI_Allreduce(pair, all, 2, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
	total = all[0];
	bad = (int)all[1];
	if (rank == 0) {
		printf("answer %ld\n", total);
		printf(bad ? "bad %d\n" : "ok\n", bad);
	}
	MPI_Finalize();
	return 0;
}
