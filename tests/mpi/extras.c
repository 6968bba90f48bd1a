/* Datatype decoding, distributed graphs (MPI_UNWEIGHTED), neighbourhood
 * alltoallw, large-count user ops, attribute copy/delete callbacks on
 * communicators and datatypes, generalized requests. */
#include <stdlib.h>

#include "report.h"

static int rank, size;
static __thread int tls_mark;
static int tls_ok = 1;

/* --- attribute callbacks --- */
static int comm_copies, comm_deletes, type_copies, type_deletes, old_copies;
static MPI_Comm copy_seen_comm;
static MPI_Datatype copy_seen_type;
static int copy_seen_kv;

static int comm_copy(MPI_Comm c, int kv, void *extra, void *in, void *out, int *flag)
{
	comm_copies++;
	copy_seen_comm = c;
	copy_seen_kv = kv;
	tls_ok &= tls_mark == 1000 + rank;
	/* the copy's value: a new int, 10 * the old one, plus extra_state's */
	int *v = malloc(sizeof(int));
	*v = *(int *)in * 10 + *(int *)extra;
	*(void **)out = v;
	*flag = 1;
	return MPI_SUCCESS;
}

static int comm_delete(MPI_Comm c, int kv, void *val, void *extra)
{
	comm_deletes++;
	tls_ok &= tls_mark == 1000 + rank;
	if (*(int *)val >= 100)
		free(val); /* the copies */
	return MPI_SUCCESS;
}

static int type_copy(MPI_Datatype t, int kv, void *extra, void *in, void *out, int *flag)
{
	type_copies++;
	copy_seen_type = t;
	tls_ok &= tls_mark == 1000 + rank;
	*(void **)out = in;
	*flag = 1;
	return MPI_SUCCESS;
}

static int type_delete(MPI_Datatype t, int kv, void *val, void *extra)
{
	type_deletes++;
	return MPI_SUCCESS;
}

static int old_copy(MPI_Comm c, int kv, void *extra, void *in, void *out, int *flag)
{
	old_copies++;
	*flag = 0; /* not copied */
	return MPI_SUCCESS;
}

/* --- generalized requests --- */
static int gq_calls, gf_calls, gc_calls;
static int greq_query(void *extra, MPI_Status *st)
{
	gq_calls++;
	tls_ok &= tls_mark == 1000 + rank;
	MPI_Status_set_elements(st, MPI_INT, *(int *)extra);
	MPI_Status_set_cancelled(st, 0);
	st->MPI_SOURCE = MPI_UNDEFINED;
	st->MPI_TAG = MPI_UNDEFINED;
	return MPI_SUCCESS;
}
static int greq_free(void *extra)
{
	gf_calls++;
	return MPI_SUCCESS;
}
static int greq_cancel(void *extra, int complete)
{
	gc_calls++;
	return MPI_SUCCESS;
}

/* --- large-count op --- */
static int op_c_calls;
static void maxabs_c(void *in, void *inout, MPI_Count *len, MPI_Datatype *t)
{
	op_c_calls++;
	tls_ok &= tls_mark == 1000 + rank;
	int *a = in, *b = inout;
	for (MPI_Count i = 0; i < *len; i++)
		if (abs(a[i]) > abs(b[i]))
			b[i] = a[i];
}

static void decode(MPI_Datatype t, const char *what)
{
	int ni, na, nd, comb;
	MPI_Type_get_envelope(t, &ni, &na, &nd, &comb);
	int ints[16];
	MPI_Aint addrs[16];
	MPI_Datatype types[16];
	for (int i = 0; i < 16; i++)
		types[i] = MPI_DATATYPE_NULL;
	MPI_Type_get_contents(t, ni, na, nd, ints, addrs, types);
	char line[256];
	int len = snprintf(line, sizeof(line), "%s: combiner %d ints", what, comb);
	for (int i = 0; i < ni; i++)
		len += snprintf(line + len, sizeof(line) - len, " %d", ints[i]);
	len += snprintf(line + len, sizeof(line) - len, " addrs");
	for (int i = 0; i < na; i++)
		len += snprintf(line + len, sizeof(line) - len, " %ld", (long)addrs[i]);
	len += snprintf(line + len, sizeof(line) - len, " type sizes");
	for (int i = 0; i < nd; i++) {
		int sz = -1;
		CHECK(types[i] != MPI_DATATYPE_NULL, "%s: type %d", what, i);
		MPI_Type_size(types[i], &sz);
		len += snprintf(line + len, sizeof(line) - len, " %d", sz);
		int ni2, na2, nd2, comb2;
		MPI_Type_get_envelope(types[i], &ni2, &na2, &nd2, &comb2);
		if (comb2 != MPI_COMBINER_NAMED)
			MPI_Type_free(&types[i]);
	}
	CHECK(nd < 16 && types[nd] == MPI_DATATYPE_NULL, "%s: nothing written past the envelope", what);
	say("%s", line);
}

int main(int argc, char **argv)
{
	int i;
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	tls_mark = 1000 + rank;
	int right = (rank + 1) % size, left = (rank + size - 1) % size;

	/* --- Type_get_envelope / Type_get_contents --- */
	MPI_Datatype vec, st, dup, named = MPI_DOUBLE;
	MPI_Type_vector(3, 2, 5, MPI_INT, &vec);
	int bl[2] = { 1, 2 };
	MPI_Aint dp[2] = { 0, 16 };
	MPI_Datatype ty[2] = { MPI_DOUBLE, vec };
	MPI_Type_create_struct(2, bl, dp, ty, &st);
	MPI_Type_dup(st, &dup);
	decode(vec, "vector");
	decode(st, "struct");
	decode(dup, "dup");
	int ni, na, nd, comb;
	MPI_Type_get_envelope(named, &ni, &na, &nd, &comb);
	CHECK(comb == MPI_COMBINER_NAMED, "named envelope");
	MPI_Count cni, cna, cnl, cnd;
	MPI_Type_get_envelope_c(st, &cni, &cna, &cnl, &cnd, &comb);
	int ints[8];
	MPI_Aint addrs[8];
	MPI_Count lc[8];
	MPI_Datatype types[8] = { 0 };
	MPI_Type_get_contents_c(st, cni, cna, cnl, cnd, ints, addrs, lc, types);
	CHECK(cnd == 2 && types[0] == MPI_DOUBLE, "contents_c predefined");
	int same_size, vs;
	MPI_Type_size(types[1], &same_size);
	MPI_Type_size(vec, &vs);
	CHECK(same_size == vs, "contents_c derived: %d %d", same_size, vs);
	MPI_Type_free(&types[1]);

	/* --- attribute copy/delete callbacks --- */
	int kv, extra = 7, val = 3;
	MPI_Comm_create_keyval(comm_copy, comm_delete, &kv, &extra);
	MPI_Comm_set_attr(MPI_COMM_WORLD, kv, &val);
	MPI_Comm c1, c2;
	MPI_Comm_dup(MPI_COMM_WORLD, &c1);
	CHECK(comm_copies == 1 && copy_seen_comm == MPI_COMM_WORLD && copy_seen_kv == kv,
	      "copy callback on dup");
	int *got, flag;
	MPI_Comm_get_attr(c1, kv, &got, &flag);
	CHECK(flag && *got == 37, "copied value %d", flag ? *got : -1);
	MPI_Comm_dup(c1, &c2);
	CHECK(copy_seen_comm == c1, "copy callback sees the virtual communicator");
	MPI_Comm_get_attr(c2, kv, &got, &flag);
	CHECK(flag && *got == 377, "copy of the copy %d", flag ? *got : -1);
	MPI_Comm_free(&c2);
	MPI_Comm_free(&c1);
	CHECK(comm_deletes == 2, "delete callbacks on free: %d", comm_deletes);
	CHECK(comm_copies == 2, "copies: %d", comm_copies);
	/* predefined copy functions: MPI_COMM_DUP_FN copies, NULL_COPY does not */
	int kd, kn;
	MPI_Comm_create_keyval(MPI_COMM_DUP_FN, MPI_COMM_NULL_DELETE_FN, &kd, NULL);
	MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, MPI_COMM_NULL_DELETE_FN, &kn, NULL);
	MPI_Comm_set_attr(MPI_COMM_WORLD, kd, &val);
	MPI_Comm_set_attr(MPI_COMM_WORLD, kn, &val);
	MPI_Comm_dup(MPI_COMM_WORLD, &c1);
	MPI_Comm_get_attr(c1, kd, &got, &flag);
	CHECK(flag && got == &val, "MPI_COMM_DUP_FN");
	MPI_Comm_get_attr(c1, kn, &got, &flag);
	CHECK(!flag, "MPI_COMM_NULL_COPY_FN");
	/* MPI-1 keyvals */
	int k1;
	MPI_Keyval_create(old_copy, MPI_NULL_DELETE_FN, &k1, NULL);
	MPI_Attr_put(c1, k1, &val);
	MPI_Comm_dup(c1, &c2);
	CHECK(old_copies == 1, "MPI_Keyval_create copy");
	MPI_Attr_get(c2, k1, &got, &flag);
	CHECK(!flag, "not copied");
	MPI_Comm_free(&c2);
	MPI_Comm_delete_attr(MPI_COMM_WORLD, kv);
	CHECK(comm_deletes == 4, "delete_attr: %d", comm_deletes);
	MPI_Comm_free(&c1);
	MPI_Comm_free_keyval(&kv);
	MPI_Comm_free_keyval(&kd);
	MPI_Comm_free_keyval(&kn);
	MPI_Keyval_free(&k1);
	CHECK(kv == MPI_KEYVAL_INVALID, "free_keyval nulls");
	/* datatypes */
	int tk;
	MPI_Type_create_keyval(type_copy, type_delete, &tk, NULL);
	MPI_Type_set_attr(vec, tk, &val);
	MPI_Datatype vdup;
	MPI_Type_dup(vec, &vdup);
	CHECK(type_copies == 1 && copy_seen_type == vec, "type copy callback");
	MPI_Type_get_attr(vdup, tk, &got, &flag);
	CHECK(flag && got == &val, "type attr copied");
	MPI_Type_free(&vdup);
	CHECK(type_deletes == 1, "type delete callback");
	MPI_Type_free_keyval(&tk);
	say("attributes: comm copies %d deletes %d, type copies %d deletes %d", comm_copies,
	    comm_deletes, type_copies, type_deletes);

	/* --- distributed graphs: a ring, unweighted and weighted --- */
	MPI_Comm ring, wring;
	int srcs[2] = { left, right }, dsts[2] = { left, right };
	MPI_Dist_graph_create_adjacent(MPI_COMM_WORLD, 2, srcs, MPI_UNWEIGHTED, 2, dsts, MPI_UNWEIGHTED,
				       MPI_INFO_NULL, 0, &ring);
	int indeg, outdeg, weighted;
	MPI_Dist_graph_neighbors_count(ring, &indeg, &outdeg, &weighted);
	CHECK(indeg == 2 && outdeg == 2 && !weighted, "unweighted graph: %d %d %d", indeg, outdeg, weighted);
	int s2[2], d2[2];
	MPI_Dist_graph_neighbors(ring, 2, s2, MPI_UNWEIGHTED, 2, d2, MPI_UNWEIGHTED);
	CHECK(s2[0] == left && s2[1] == right && d2[0] == left && d2[1] == right, "neighbors");
	int sw[2] = { 3, 4 }, dw[2] = { 5, 6 }, gsw[2], gdw[2];
	MPI_Dist_graph_create_adjacent(MPI_COMM_WORLD, 2, srcs, sw, 2, dsts, dw, MPI_INFO_NULL, 0, &wring);
	MPI_Dist_graph_neighbors_count(wring, &indeg, &outdeg, &weighted);
	CHECK(weighted, "weighted graph");
	MPI_Dist_graph_neighbors(wring, 2, s2, gsw, 2, d2, gdw);
	CHECK(gsw[0] == 3 && gsw[1] == 4 && gdw[0] == 5 && gdw[1] == 6, "weights");
	/* MPI_Dist_graph_create: rank 0 gives every edge r -> r+1 */
	MPI_Comm chain;
	int n = rank == 0 ? size : 0, *sources = malloc(sizeof(int) * size),
	    *degrees = malloc(sizeof(int) * size), *dests = malloc(sizeof(int) * size);
	for (i = 0; i < size; i++)
		sources[i] = i, degrees[i] = 1, dests[i] = (i + 1) % size;
	MPI_Dist_graph_create(MPI_COMM_WORLD, n, sources, degrees, dests, MPI_UNWEIGHTED, MPI_INFO_NULL,
			      0, &chain);
	MPI_Dist_graph_neighbors_count(chain, &indeg, &outdeg, &weighted);
	CHECK(indeg == 1 && outdeg == 1 && !weighted, "chain: %d %d %d", indeg, outdeg, weighted);
	MPI_Comm empty;
	MPI_Dist_graph_create(MPI_COMM_WORLD, 0, sources, degrees, dests, MPI_WEIGHTS_EMPTY,
			      MPI_INFO_NULL, 0, &empty);
	MPI_Dist_graph_neighbors_count(empty, &indeg, &outdeg, &weighted);
	CHECK(indeg == 0 && outdeg == 0, "empty graph");
	MPI_Comm_free(&empty);

	/* --- neighbourhood alltoallw: on the ring graph and on a cartesian ring --- */
	int sendb[2] = { rank * 10 + 1, rank * 10 + 2 }, recvb[2] = { -1, -1 };
	int cnt[2] = { 1, 1 };
	MPI_Aint sdis[2] = { 0, sizeof(int) }, rdis[2] = { 0, sizeof(int) };
	MPI_Datatype tys[2] = { MPI_INT, MPI_INT };
	MPI_Neighbor_alltoallw(sendb, cnt, sdis, tys, recvb, cnt, rdis, tys, ring);
	/* to left goes sendb[0], which left receives from its right (slot 1) */
	CHECK((recvb[0] == left * 10 + 2 && recvb[1] == right * 10 + 1) || size == 2,
	      "neighbor_alltoallw %d %d", recvb[0], recvb[1]);
	say("neighbor_alltoallw graph: %d %d", recvb[0], recvb[1]);
	MPI_Comm cart;
	int dims[1] = { size }, per[1] = { 1 };
	MPI_Cart_create(MPI_COMM_WORLD, 1, dims, per, 0, &cart);
	MPI_Request rq;
	recvb[0] = recvb[1] = -1;
	MPI_Ineighbor_alltoallw(sendb, cnt, sdis, tys, recvb, cnt, rdis, tys, cart, &rq);
	MPI_Wait(&rq, MPI_STATUS_IGNORE);
	CHECK((recvb[0] == left * 10 + 2 && recvb[1] == right * 10 + 1) || size == 2,
	      "ineighbor_alltoallw cart %d %d",
	      recvb[0], recvb[1]);
	say("neighbor_alltoallw cart: %d %d", recvb[0], recvb[1]);
	MPI_Comm_free(&cart);
	MPI_Comm_free(&ring);
	MPI_Comm_free(&wring);
	MPI_Comm_free(&chain);
	free(sources), free(degrees), free(dests);

	/* --- MPI_Op_create_c --- */
	MPI_Op op;
	MPI_Op_create_c(maxabs_c, 1, &op);
	int in[3] = { rank, -rank * 2, rank % 2 ? 5 : -5 }, out[3];
	MPI_Allreduce_c(in, out, 3, MPI_INT, op, MPI_COMM_WORLD);
	CHECK(out[0] == size - 1 && out[1] == -(size - 1) * 2 && abs(out[2]) == 5, "op_c %d %d %d",
	      out[0], out[1], out[2]);
	CHECK(op_c_calls > 0 || rank != 0 || size == 1, "op_c called");
	say("op_create_c: %d %d", out[0], out[1]);
	MPI_Op_free(&op);

	/* --- generalized requests --- */
	int elems = 4;
	MPI_Request g;
	MPI_Grequest_start(greq_query, greq_free, greq_cancel, &elems, &g);
	int done = -1;
	MPI_Status st2;
	MPI_Test(&g, &done, &st2);
	CHECK(!done && g != MPI_REQUEST_NULL, "grequest pending");
	MPI_Grequest_complete(g);
	MPI_Wait(&g, &st2);
	int count;
	MPI_Get_count(&st2, MPI_INT, &count);
	CHECK(g == MPI_REQUEST_NULL && count == 4 && gq_calls >= 1 && gf_calls == 1,
	      "grequest: count %d query %d free %d", count, gq_calls, gf_calls);
	MPI_Grequest_start(greq_query, greq_free, greq_cancel, &elems, &g);
	MPI_Cancel(&g);
	MPI_Grequest_complete(g);
	MPI_Wait(&g, &st2);
	CHECK(gc_calls == 1 && gf_calls == 2, "grequest cancel %d free %d", gc_calls, gf_calls);
	say("grequest: count %d free %d cancel %d", count, gf_calls, gc_calls);

	MPI_Type_free(&vec);
	MPI_Type_free(&st);
	MPI_Type_free(&dup);
	CHECK(tls_ok, "callbacks run with the application's thread-local storage");
	return report_end();
}
