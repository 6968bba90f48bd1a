/* Collectives, blocking and non-blocking, on MPI_COMM_WORLD and on a
 * communicator split in two (even and odd ranks). */
#include <stdlib.h>

#include "report.h"

static void run(MPI_Comm comm, const char *name, int nb)
{
	int rank, size;
	MPI_Comm_rank(comm, &rank);
	MPI_Comm_size(comm, &size);
	int v = rank + 1, x = 0, all[64], cnt[64], dsp[64], i;
	MPI_Request r;
#define DO(blocking, nonblocking)                                        \
	do {                                                                 \
		if (nb) {                                                        \
			nonblocking;                                                 \
			MPI_Wait(&r, MPI_STATUS_IGNORE);                             \
			CHECK(r == MPI_REQUEST_NULL, "nulled");                      \
		} else                                                           \
			blocking;                                                    \
	} while (0)

	DO(MPI_Barrier(comm), MPI_Ibarrier(comm, &r));
	x = rank == 0 ? 42 : 0;
	DO(MPI_Bcast(&x, 1, MPI_INT, 0, comm), MPI_Ibcast(&x, 1, MPI_INT, 0, comm, &r));
	CHECK(x == 42, "bcast");
	x = 0;
	DO(MPI_Reduce(&v, &x, 1, MPI_INT, MPI_SUM, 0, comm),
	   MPI_Ireduce(&v, &x, 1, MPI_INT, MPI_SUM, 0, comm, &r));
	CHECK(rank != 0 || x == size * (size + 1) / 2, "reduce");
	DO(MPI_Allreduce(&v, &x, 1, MPI_INT, MPI_MAX, comm),
	   MPI_Iallreduce(&v, &x, 1, MPI_INT, MPI_MAX, comm, &r));
	CHECK(x == size, "allreduce");
	DO(MPI_Gather(&v, 1, MPI_INT, all, 1, MPI_INT, 0, comm),
	   MPI_Igather(&v, 1, MPI_INT, all, 1, MPI_INT, 0, comm, &r));
	for (i = 0; rank == 0 && i < size; i++)
		CHECK(all[i] == i + 1, "gather");
	for (i = 0; i < size; i++)
		cnt[i] = 1, dsp[i] = size - 1 - i, all[i] = 100 + i;
	DO(MPI_Scatterv(all, cnt, dsp, MPI_INT, &x, 1, MPI_INT, 0, comm),
	   MPI_Iscatterv(all, cnt, dsp, MPI_INT, &x, 1, MPI_INT, 0, comm, &r));
	CHECK(x == 100 + size - 1 - rank, "scatterv");
	DO(MPI_Scatter(all, 1, MPI_INT, &x, 1, MPI_INT, 0, comm),
	   MPI_Iscatter(all, 1, MPI_INT, &x, 1, MPI_INT, 0, comm, &r));
	CHECK(x == 100 + rank, "scatter");
	DO(MPI_Gatherv(&v, 1, MPI_INT, all, cnt, dsp, MPI_INT, 0, comm),
	   MPI_Igatherv(&v, 1, MPI_INT, all, cnt, dsp, MPI_INT, 0, comm, &r));
	for (i = 0; rank == 0 && i < size; i++)
		CHECK(all[size - 1 - i] == i + 1, "gatherv");
	DO(MPI_Allgather(&v, 1, MPI_INT, all, 1, MPI_INT, comm),
	   MPI_Iallgather(&v, 1, MPI_INT, all, 1, MPI_INT, comm, &r));
	for (i = 0; i < size; i++)
		CHECK(all[i] == i + 1, "allgather");
	DO(MPI_Allgatherv(&v, 1, MPI_INT, all, cnt, dsp, MPI_INT, comm),
	   MPI_Iallgatherv(&v, 1, MPI_INT, all, cnt, dsp, MPI_INT, comm, &r));
	for (i = 0; i < size; i++)
		CHECK(all[size - 1 - i] == i + 1, "allgatherv");
	int sb[64], rb[64], sd[64], sdb[64];
	MPI_Datatype ty[64];
	for (i = 0; i < size; i++)
		sb[i] = rank * 100 + i, cnt[i] = 1, dsp[i] = i, sdb[i] = i * (int)sizeof(int), ty[i] = MPI_INT;
	DO(MPI_Alltoall(sb, 1, MPI_INT, rb, 1, MPI_INT, comm),
	   MPI_Ialltoall(sb, 1, MPI_INT, rb, 1, MPI_INT, comm, &r));
	for (i = 0; i < size; i++)
		CHECK(rb[i] == i * 100 + rank, "alltoall");
	DO(MPI_Alltoallv(sb, cnt, dsp, MPI_INT, rb, cnt, dsp, MPI_INT, comm),
	   MPI_Ialltoallv(sb, cnt, dsp, MPI_INT, rb, cnt, dsp, MPI_INT, comm, &r));
	for (i = 0; i < size; i++)
		CHECK(rb[i] == i * 100 + rank, "alltoallv");
	for (i = 0; i < size; i++)
		rb[i] = -1, sd[i] = 0;
	DO(MPI_Alltoallw(sb, cnt, sdb, ty, rb, cnt, sdb, ty, comm),
	   MPI_Ialltoallw(sb, cnt, sdb, ty, rb, cnt, sdb, ty, comm, &r));
	for (i = 0; i < size; i++)
		CHECK(rb[i] == i * 100 + rank, "alltoallw");
	for (i = 0; i < size; i++)
		sd[i] = i + rank;
	DO(MPI_Reduce_scatter_block(sd, &x, 1, MPI_INT, MPI_SUM, comm),
	   MPI_Ireduce_scatter_block(sd, &x, 1, MPI_INT, MPI_SUM, comm, &r));
	CHECK(x == size * rank + size * (size - 1) / 2, "reduce_scatter_block");
	DO(MPI_Reduce_scatter(sd, &x, cnt, MPI_INT, MPI_SUM, comm),
	   MPI_Ireduce_scatter(sd, &x, cnt, MPI_INT, MPI_SUM, comm, &r));
	CHECK(x == size * rank + size * (size - 1) / 2, "reduce_scatter");
	DO(MPI_Scan(&v, &x, 1, MPI_INT, MPI_SUM, comm), MPI_Iscan(&v, &x, 1, MPI_INT, MPI_SUM, comm, &r));
	CHECK(x == (rank + 1) * (rank + 2) / 2, "scan");
	DO(MPI_Exscan(&v, &x, 1, MPI_INT, MPI_SUM, comm), MPI_Iexscan(&v, &x, 1, MPI_INT, MPI_SUM, comm, &r));
	CHECK(rank == 0 || x == rank * (rank + 1) / 2, "exscan");
	x = v;
	DO(MPI_Allreduce(MPI_IN_PLACE, &x, 1, MPI_INT, MPI_SUM, comm),
	   MPI_Iallreduce(MPI_IN_PLACE, &x, 1, MPI_INT, MPI_SUM, comm, &r));
	CHECK(x == size * (size + 1) / 2, "in place");
	say("%s %s: size %d rank %d scan %d", nb ? "non-blocking" : "blocking", name, size, rank, x);
}

int main(int argc, char **argv)
{
	int rank;
	MPI_Comm half;
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_split(MPI_COMM_WORLD, rank % 2, -rank, &half);
	for (int nb = 0; nb < 2; nb++) {
		run(MPI_COMM_WORLD, "world", nb);
		run(half, "half", nb);
	}
	/* Persistent collectives (MPI 4): waited, tested, started with
	 * MPI_Startall beside a persistent send and receive, with arrays of
	 * datatypes; inactive ones complete at once with an empty status. */
	int size, v = rank, x = 0, b = -1, flag = 0, al[64], sb[64], cnt[64], dsp[64];
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	MPI_Request r, pr[4];
	MPI_Status st;
	MPI_Allreduce_init(&v, &x, 1, MPI_INT, MPI_SUM, half, MPI_INFO_NULL, &r);
	CHECK(r != MPI_REQUEST_NULL, "allreduce_init made a request");
	/* (MPICH 4.0.2 tests one never started as incomplete, and MPI_Waitany
	 * returns an inactive one's index: neither is tested here) */
	for (int i = 0; i < 3; i++) {
		v = rank + i;
		MPI_Start(&r);
		if (i == 1) {
			do
				MPI_Test(&r, &flag, MPI_STATUS_IGNORE);
			while (!flag);
		} else {
			MPI_Wait(&r, MPI_STATUS_IGNORE);
		}
		CHECK(r != MPI_REQUEST_NULL, "persistent collective kept after completion");
		say("allreduce_init round %d: %d", i, x);
	}
	MPI_Wait(&r, &st);
	CHECK(r != MPI_REQUEST_NULL && st.MPI_TAG == MPI_ANY_TAG, "inactive waited");
	MPI_Request_get_status(r, &flag, MPI_STATUS_IGNORE);
	CHECK(flag, "inactive get_status");
	MPI_Request_free(&r);
	CHECK(r == MPI_REQUEST_NULL, "persistent collective freed");
	int right = (rank + 1) % size, left = (rank + size - 1) % size, out = 0, in = -1;
	MPI_Bcast_init(&b, 1, MPI_INT, size - 1, MPI_COMM_WORLD, MPI_INFO_NULL, &pr[0]);
	MPI_Send_init(&out, 1, MPI_INT, right, 5, MPI_COMM_WORLD, &pr[1]);
	MPI_Recv_init(&in, 1, MPI_INT, left, 5, MPI_COMM_WORLD, &pr[2]);
	for (int i = 0; i < size; i++)
		sb[i] = rank * 10 + i, cnt[i] = 1, dsp[i] = size - 1 - i;
	MPI_Alltoallv_init(sb, cnt, dsp, MPI_INT, al, cnt, dsp, MPI_INT, MPI_COMM_WORLD, MPI_INFO_NULL,
			   &pr[3]);
	for (int i = 0; i < 3; i++) {
		b = rank == size - 1 ? 7 * i + 1 : -1;
		out = rank * 100 + i;
		MPI_Startall(4, pr);
		MPI_Waitall(4, pr, MPI_STATUSES_IGNORE);
		int good = b == 7 * i + 1 && in == left * 100 + i;
		for (int k = 0; k < size; k++)
			good &= al[size - 1 - k] == k * 10 + size - 1 - rank + (rank == size - 1 ? i : 0);
		CHECK(good, "startall of persistent collectives and point-to-point");
		CHECK(pr[0] != MPI_REQUEST_NULL && pr[3] != MPI_REQUEST_NULL, "kept after waitall");
		sb[0]++;
	}
	/* arrays of datatypes, a derived one among them: MPI_Alltoallw_init,
	 * and MPI_Neighbor_alltoallw_init on a ring (a periodic 1-D grid) */
	MPI_Datatype one, tys[64];
	MPI_Type_contiguous(1, MPI_INT, &one);
	MPI_Type_commit(&one);
	int sdb[64];
	for (int i = 0; i < size; i++)
		tys[i] = i % 2 ? one : MPI_INT, cnt[i] = 1, sdb[i] = i * (int)sizeof(int);
	MPI_Alltoallw_init(sb, cnt, sdb, tys, al, cnt, sdb, tys, MPI_COMM_WORLD, MPI_INFO_NULL, &r);
	for (int i = 0; i < 2; i++) {
		for (int k = 0; k < size; k++)
			sb[k] = rank * 100 + k * 10 + i;
		MPI_Start(&r);
		MPI_Wait(&r, MPI_STATUS_IGNORE);
		int good = 1;
		for (int k = 0; k < size; k++)
			good &= al[k] == k * 100 + rank * 10 + i;
		CHECK(good, "alltoallw_init round");
	}
	MPI_Request_free(&r);
	MPI_Comm ring;
	int dims[1] = { size }, periods[1] = { 1 };
	MPI_Cart_create(MPI_COMM_WORLD, 1, dims, periods, 0, &ring);
	int nc[2] = { 1, 1 }, ns[2], nr[2];
	MPI_Aint nd[2] = { 0, sizeof(int) };
	MPI_Datatype nt[2] = { one, MPI_INT };
	MPI_Neighbor_alltoallw_init(ns, nc, nd, nt, nr, nc, nd, nt, ring, MPI_INFO_NULL, &r);
	for (int i = 0; i < 2; i++) {
		ns[0] = rank * 2 + i, ns[1] = rank * 2 + 1 + i, nr[0] = nr[1] = -1;
		MPI_Start(&r);
		MPI_Wait(&r, MPI_STATUS_IGNORE);
		/* (two ranks: both neighbours are the other one, whose two
		 * messages match in the order they were sent) */
		int want0 = size == 2 ? left * 2 + i : left * 2 + 1 + i, want1 = right * 2 + i + (size == 2);
		CHECK(nr[0] == want0 && nr[1] == want1, "neighbor_alltoallw_init round");
		say("neighbor_alltoallw_init round %d: %d %d", i, nr[0], nr[1]);
	}
	MPI_Request_free(&r);
	MPI_Comm_free(&ring);
	MPI_Type_free(&one);
	MPI_Barrier_init(half, MPI_INFO_NULL, &r);
	MPI_Start(&r);
	int idx = -1;
	MPI_Waitany(1, &r, &idx, MPI_STATUS_IGNORE);
	CHECK(idx == 0, "barrier_init waited by waitany");
	MPI_Request_free(&r);
	for (int i = 0; i < 4; i++)
		MPI_Request_free(&pr[i]);
	say("persistent bcast %d recv %d alltoallv %d", b, in, al[0]);
	MPI_Comm_free(&half);
	CHECK(half == MPI_COMM_NULL, "comm_free nulls");
	return report_end();
}
