/* Intercommunicators: MPI_COMM_WORLD split in two halves (low: world ranks
 * below size/2, high: the others) joined by MPI_Intercomm_create; test_inter,
 * remote size and group (compared, ranks translated); point-to-point across
 * (blocking and nonblocking, from MPI_ANY_SOURCE); collectives on the
 * intercommunicator (MPI_Bcast with MPI_ROOT/MPI_PROC_NULL from each side,
 * Allreduce, Allgather, Barrier, Alltoall); MPI_Intercomm_merge in both
 * orders with a collective on each result; a dup; every communicator freed.
 * Runs at 2 ranks (one per group) or more (an even number). */
#include "report.h"

int main(int argc, char **argv)
{
	int rank, size, res, flag;
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	if (size < 2 || size % 2 || size > 32) {
		if (rank == 0)
			fprintf(stderr, "intercomm: needs an even number of ranks (2..32)\n");
		MPI_Abort(MPI_COMM_WORLD, 2);
	}
	const int half = size / 2;
	const int high = rank >= half;      /* which group: 0 low, 1 high */
	const int rbase = high ? 0 : half;  /* world rank of the remote group's rank 0 */
	const int lbase = high ? half : 0;  /* world rank of the local group's rank 0 */

	MPI_Comm local, inter, dup, merged_lo, merged_hi;
	MPI_Comm_split(MPI_COMM_WORLD, high, rank, &local);
	int lrank, lsize;
	MPI_Comm_rank(local, &lrank);
	MPI_Comm_size(local, &lsize);
	CHECK(lrank == rank - lbase && lsize == half, "local rank %d of %d", lrank, lsize);

	/* Local leader 0 of each half; the remote leader named by its world rank. */
	MPI_Intercomm_create(local, 0, MPI_COMM_WORLD, rbase, 99, &inter);
	CHECK(inter != MPI_COMM_NULL, "intercomm created");
	MPI_Comm_test_inter(inter, &flag);
	CHECK(flag == 1, "test_inter on the intercomm: %d", flag);
	int flag_local;
	MPI_Comm_test_inter(local, &flag_local);
	CHECK(flag_local == 0, "test_inter on an intracomm: %d", flag_local);
	int irank, isize, rsize;
	MPI_Comm_rank(inter, &irank);
	MPI_Comm_size(inter, &isize);
	MPI_Comm_remote_size(inter, &rsize);
	CHECK(irank == lrank && isize == half && rsize == half, "inter rank %d size %d remote %d", irank,
	      isize, rsize);
	say("group %s: inter %d, rank %d of %d, remote size %d", high ? "high" : "low", flag, irank, isize,
	    rsize);
	MPI_Comm_compare(inter, inter, &res);
	CHECK(res == MPI_IDENT, "intercomm ident to itself (%d)", res);

	/* The remote group: the other half of MPI_COMM_WORLD, in order. */
	MPI_Group world_g, remote_g, local_g, expect_g;
	MPI_Comm_group(MPI_COMM_WORLD, &world_g);
	MPI_Comm_remote_group(inter, &remote_g);
	MPI_Comm_group(inter, &local_g);
	int gsize, grank;
	MPI_Group_size(remote_g, &gsize);
	MPI_Group_rank(remote_g, &grank);
	CHECK(gsize == half && grank == MPI_UNDEFINED, "remote group size %d, my rank %d", gsize, grank);
	int range[1][3] = { { rbase, rbase + half - 1, 1 } };
	MPI_Group_range_incl(world_g, 1, range, &expect_g);
	MPI_Group_compare(remote_g, expect_g, &res);
	CHECK(res == MPI_IDENT, "remote group is the other half (%d)", res);
	int res_local;
	MPI_Group_compare(remote_g, local_g, &res_local);
	CHECK(res_local == MPI_UNEQUAL, "remote group unequal to the local one (%d)", res_local);
	int in[32], out[32], outl[32];
	for (int i = 0; i < half; i++)
		in[i] = i;
	MPI_Group_translate_ranks(remote_g, half, in, world_g, out);
	MPI_Group_translate_ranks(local_g, half, in, world_g, outl);
	int trans_ok = 1;
	for (int i = 0; i < half; i++)
		trans_ok &= out[i] == rbase + i && outl[i] == lbase + i;
	CHECK(trans_ok, "translated ranks: remote 0 -> %d, local 0 -> %d", out[0], outl[0]);
	int none;
	MPI_Group_translate_ranks(remote_g, 1, in, local_g, &none);
	CHECK(none == MPI_UNDEFINED, "remote rank 0 not in the local group (%d)", none);
	say("remote group: world ranks %d..%d, compare %d/%d, remote 0 in local group: %d", out[0],
	    out[half - 1], res, res_local, none);

	/* Point-to-point: ranks in the intercomm name the remote group. */
	int v = 1000 + rank, got = -1;
	MPI_Status st;
	if (!high) {
		MPI_Send(&v, 1, MPI_INT, lrank, 7, inter);
		MPI_Recv(&got, 1, MPI_INT, MPI_ANY_SOURCE, 8, inter, &st);
	} else {
		MPI_Recv(&got, 1, MPI_INT, MPI_ANY_SOURCE, 7, inter, &st);
		MPI_Send(&v, 1, MPI_INT, lrank, 8, inter);
	}
	int cnt;
	MPI_Get_count(&st, MPI_INT, &cnt);
	CHECK(got == 1000 + rbase + lrank && st.MPI_SOURCE == lrank && st.MPI_TAG == (high ? 7 : 8) &&
	          cnt == 1,
	      "send/recv: got %d from %d tag %d count %d", got, st.MPI_SOURCE, st.MPI_TAG, cnt);
	say("send/recv: got %d from remote %d tag %d", got, st.MPI_SOURCE, st.MPI_TAG);

	/* Nonblocking: each sends to the next remote rank, receives from any. */
	int to = (lrank + 1) % half, from = (lrank + half - 1) % half;
	int sv[2] = { rank, 100 * rank }, rv[2] = { -1, -1 };
	MPI_Request rq[2];
	MPI_Status sts[2];
	MPI_Irecv(rv, 2, MPI_INT, MPI_ANY_SOURCE, 9, inter, &rq[0]);
	MPI_Isend(sv, 2, MPI_INT, to, 9, inter, &rq[1]);
	MPI_Waitall(2, rq, sts);
	CHECK(rq[0] == MPI_REQUEST_NULL && rq[1] == MPI_REQUEST_NULL, "requests freed");
	CHECK(sts[0].MPI_SOURCE == from && rv[0] == rbase + from && rv[1] == 100 * (rbase + from),
	      "isend/irecv: got %d,%d from %d", rv[0], rv[1], sts[0].MPI_SOURCE);
	say("isend/irecv: got %d,%d from remote %d", rv[0], rv[1], sts[0].MPI_SOURCE);

	/* Bcast from the low group's rank 0, then from the high group's last rank. */
	int b = (!high && lrank == 0) ? 4242 : -1;
	int root = high ? 0 : (lrank == 0 ? MPI_ROOT : MPI_PROC_NULL);
	MPI_Bcast(&b, 1, MPI_INT, root, inter);
	CHECK(b == (high ? 4242 : (lrank == 0 ? 4242 : -1)), "bcast low->high: %d", b);
	int b2[3] = { -1, -1, -1 };
	if (high && lrank == half - 1)
		b2[0] = 7, b2[1] = 8, b2[2] = 9;
	root = !high ? half - 1 : (lrank == half - 1 ? MPI_ROOT : MPI_PROC_NULL);
	MPI_Bcast(b2, 3, MPI_INT, root, inter);
	int b2_ok = (!high || lrank == half - 1) ? b2[0] == 7 && b2[1] == 8 && b2[2] == 9 : b2[0] == -1;
	CHECK(b2_ok, "bcast high->low: %d %d %d", b2[0], b2[1], b2[2]);
	say("bcast: low->high %d, high->low %d %d %d", b, b2[0], b2[1], b2[2]);

	/* Allreduce: each group gets the reduction of the other's values. */
	int mine[2] = { rank + 1, rank }, sum[2] = { 0, 0 }, esum = 0, emax = rbase + half - 1;
	for (int i = 0; i < half; i++)
		esum += rbase + i + 1;
	int mx[2];
	MPI_Allreduce(mine, sum, 1, MPI_INT, MPI_SUM, inter);
	MPI_Allreduce(&mine[1], &mx[0], 1, MPI_INT, MPI_MAX, inter);
	CHECK(sum[0] == esum && mx[0] == emax, "allreduce: sum %d (%d) max %d (%d)", sum[0], esum, mx[0],
	      emax);
	say("allreduce: remote sum %d, remote max %d", sum[0], mx[0]);

	/* Allgather: the remote group's values in its rank order. */
	int ga[32], ga_ok = 1;
	int gv = 10 * rank + 1;
	MPI_Allgather(&gv, 1, MPI_INT, ga, 1, MPI_INT, inter);
	for (int i = 0; i < half; i++)
		ga_ok &= ga[i] == 10 * (rbase + i) + 1;
	CHECK(ga_ok, "allgather: %d ... %d", ga[0], ga[half - 1]);
	say("allgather: %d .. %d", ga[0], ga[half - 1]);

	MPI_Barrier(inter);

	/* Alltoall: element j goes to remote rank j. */
	int a_s[32], a_r[32], a_ok = 1;
	for (int j = 0; j < half; j++)
		a_s[j] = 100 * rank + j, a_r[j] = -1;
	MPI_Alltoall(a_s, 1, MPI_INT, a_r, 1, MPI_INT, inter);
	for (int i = 0; i < half; i++)
		a_ok &= a_r[i] == 100 * (rbase + i) + lrank;
	CHECK(a_ok, "alltoall: %d ... %d", a_r[0], a_r[half - 1]);
	say("alltoall: %d .. %d", a_r[0], a_r[half - 1]);

	/* Merge: low group first (merged rank == world rank), then high first. */
	int mrank, msize, mexp;
	MPI_Intercomm_merge(inter, high, &merged_lo);
	MPI_Comm_rank(merged_lo, &mrank);
	MPI_Comm_size(merged_lo, &msize);
	MPI_Comm_test_inter(merged_lo, &flag);
	CHECK(mrank == rank && msize == size && flag == 0, "merge low first: rank %d of %d inter %d",
	      mrank, msize, flag);
	MPI_Intercomm_merge(inter, !high, &merged_hi);
	MPI_Comm_rank(merged_hi, &mexp);
	int want = high ? rank - half : rank + half;
	CHECK(mexp == want, "merge high first: rank %d (%d)", mexp, want);
	int order_lo[32], order_hi[32], ord_ok = 1;
	MPI_Allgather(&rank, 1, MPI_INT, order_lo, 1, MPI_INT, merged_lo);
	MPI_Allgather(&rank, 1, MPI_INT, order_hi, 1, MPI_INT, merged_hi);
	for (int i = 0; i < size; i++)
		ord_ok &= order_lo[i] == i && order_hi[i] == (i + half) % size;
	CHECK(ord_ok, "merged orders: %d.. / %d..", order_lo[0], order_hi[0]);
	int msum = -1;
	MPI_Allreduce(&rank, &msum, 1, MPI_INT, MPI_SUM, merged_hi);
	CHECK(msum == size * (size - 1) / 2, "allreduce on merged: %d", msum);
	MPI_Comm_compare(merged_lo, merged_hi, &res);
	CHECK(res == MPI_SIMILAR, "merged comms similar (%d)", res);
	say("merge: low first rank %d of %d, high first rank %d, order %d %d.., sum %d, compare %d", mrank,
	    msize, mexp, order_hi[0], order_hi[1], msum, res);

	/* A dup of the intercomm is an intercomm with the same groups. */
	MPI_Comm_dup(inter, &dup);
	MPI_Comm_test_inter(dup, &flag);
	int drs;
	MPI_Comm_remote_size(dup, &drs);
	MPI_Comm_compare(inter, dup, &res);
	CHECK(flag == 1 && drs == half && res == MPI_CONGRUENT, "dup: inter %d remote %d compare %d", flag,
	      drs, res);
	int dv = -1;
	MPI_Sendrecv(&rank, 1, MPI_INT, lrank, 11, &dv, 1, MPI_INT, MPI_ANY_SOURCE, 11, dup, &st);
	CHECK(dv == rbase + lrank && st.MPI_SOURCE == lrank, "sendrecv on dup: %d from %d", dv,
	      st.MPI_SOURCE);
	int dsum = -1;
	MPI_Allreduce(&rank, &dsum, 1, MPI_INT, MPI_SUM, dup);
	CHECK(dsum == esum - half, "allreduce on dup: %d", dsum);
	say("dup: inter %d, remote size %d, compare %d, sendrecv %d, allreduce %d", flag, drs, res, dv,
	    dsum);

	MPI_Group gfree[] = { world_g, remote_g, local_g, expect_g };
	for (int i = 0; i < 4; i++) {
		MPI_Group_free(&gfree[i]);
		CHECK(gfree[i] == MPI_GROUP_NULL, "group_free nulls");
	}
	MPI_Comm_free(&dup);
	MPI_Comm_free(&merged_hi);
	MPI_Comm_free(&merged_lo);
	MPI_Comm_free(&inter);
	MPI_Comm_free(&local);
	CHECK(dup == MPI_COMM_NULL && merged_hi == MPI_COMM_NULL && merged_lo == MPI_COMM_NULL &&
	          inter == MPI_COMM_NULL && local == MPI_COMM_NULL,
	      "all freed");
	say("freed");
	return report_end();
}
