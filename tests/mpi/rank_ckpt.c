/* One rank's checkpoint and restart through the split process: an MPI
 * program (COMM_WORLD only) that exchanges messages, then computes for a
 * while without calling MPI, then combines its results with MPI. While it
 * computes, the test (tests/mpi/ckpt.sh) checkpoints each rank with
 * `cairn checkpoint`, lets the job finish or kills it, and restarts the
 * images under a fresh mpiexec: each restored rank gets a new lower half
 * and MPI_Init in it, and must reach the same answer.
 *
 *   rank_ckpt DIR STEPS [objects | hold-op]
 *
 * objects: make communicators (dup, split, from a group, Cartesian, and
 * one split from a dup that is freed before the quiet phase), groups and
 * a derived datatype, a user reduction operation, a user error handler set
 * on the duplicate and MPI_ERRORS_RETURN on the split, two infos (one
 * from MPI_Info_dup, keys set and deleted), an attribute with copy and
 * delete callbacks on the duplicate and on a dup of it, datatypes'
 * attributes (on the vector, copied by a dup of it, and on MPI_INT), a
 * windows' keyval, topologies (a row of a 2-D grid from MPI_Cart_sub, a
 * ring as MPI_Graph_create, MPI_Dist_graph_create_adjacent with weights,
 * MPI_Dist_graph_create unweighted), the duplicate's error handler and
 * hints as MPI_Comm_get_errhandler/get_info give them, a darray and a
 * large-count struct datatype, before the quiet phase, and use them after it (a restart must make them again in the new
 * lower half): the op reduces, an error on the duplicate calls the
 * handler, one on the split returns its code.
 * hold-win: keep a one-sided window through the quiet phase (a
 * checkpoint must be refused, naming it: cairn does not rebuild those).
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

static void user_sum(void *in, void *inout, int *len, MPI_Datatype *type)
{
	(void)type;
	for (int i = 0; i < *len; i++)
		((long *)inout)[i] += ((long *)in)[i];
}

static int handled; /* calls of the user error handler */
static int copies, deletes; /* calls of the attribute callbacks */
static long attr_value = 77;

static int copy_attr(MPI_Comm comm, int keyval, void *extra, void *in, void *out, int *flag)
{
	(void)comm;
	(void)keyval;
	(void)extra;
	copies++;
	*(void **)out = in;
	*flag = 1;
	return MPI_SUCCESS;
}

static int delete_attr(MPI_Comm comm, int keyval, void *val, void *extra)
{
	(void)comm;
	(void)keyval;
	(void)extra;
	deletes += val == &attr_value;
	return MPI_SUCCESS;
}

static int type_copies, type_deletes;
static long type_value = 55, int_value = 66;

static int type_copy(MPI_Datatype t, int keyval, void *extra, void *in, void *out, int *flag)
{
	(void)t;
	(void)keyval;
	type_copies += extra == &type_value;
	*(void **)out = in;
	*flag = 1;
	return MPI_SUCCESS;
}

static int type_delete(MPI_Datatype t, int keyval, void *val, void *extra)
{
	(void)t;
	(void)keyval;
	type_deletes += extra == &type_value && (val == &type_value || val == &int_value);
	return MPI_SUCCESS;
}

static void count_error(MPI_Comm *comm, int *code, ...)
{
	(void)comm;
	handled += *code != MPI_SUCCESS;
}

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
	const char *mode = argc > 3 ? argv[3] : "";
	MPI_Win held_win = MPI_WIN_NULL;
	static long win_mem[16];
	if (!strcmp(mode, "hold-win"))
		MPI_Win_create(win_mem, sizeof(win_mem), sizeof(long), MPI_INFO_NULL, MPI_COMM_WORLD,
			       &held_win);
	int kv = MPI_KEYVAL_INVALID, tkv = MPI_KEYVAL_INVALID, wkv = MPI_KEYVAL_INVALID;
	MPI_Datatype vec2 = MPI_DATATYPE_NULL, darr = MPI_DATATYPE_NULL, st_c = MPI_DATATYPE_NULL;
	MPI_Comm row = MPI_COMM_NULL, graph = MPI_COMM_NULL, adj = MPI_COMM_NULL, dgraph = MPI_COMM_NULL;
	MPI_Errhandler geh = MPI_ERRHANDLER_NULL;
	MPI_Info ginfo = MPI_INFO_NULL;
	int dims2[2] = { 0, 0 };
	MPI_Comm dup2 = MPI_COMM_NULL;
	MPI_Op uop = MPI_OP_NULL;
	MPI_Errhandler ueh = MPI_ERRHANDLER_NULL;
	MPI_Info info = MPI_INFO_NULL, info2 = MPI_INFO_NULL;
	MPI_Comm dup = MPI_COMM_NULL, half = MPI_COMM_NULL, fromgroup = MPI_COMM_NULL,
		 cart = MPI_COMM_NULL, orphan = MPI_COMM_NULL;
	MPI_Group wg = MPI_GROUP_NULL, evens = MPI_GROUP_NULL;
	MPI_Datatype vec = MPI_DATATYPE_NULL;
	if (!strcmp(mode, "objects")) {
		MPI_Comm tmp;
		MPI_Comm_dup(MPI_COMM_WORLD, &dup);
		MPI_Comm_set_name(dup, "cairn-dup");
		MPI_Comm_split(MPI_COMM_WORLD, rank % 2, -rank, &half);
		MPI_Comm_group(MPI_COMM_WORLD, &wg);
		int ev[64], nev = 0;
		for (int r = 0; r < size && nev < 64; r += 2)
			ev[nev++] = r;
		MPI_Group_incl(wg, nev, ev, &evens);
		MPI_Comm_create(MPI_COMM_WORLD, evens, &fromgroup);
		int dims[1] = { size }, periods[1] = { 1 };
		MPI_Cart_create(MPI_COMM_WORLD, 1, dims, periods, 0, &cart);
		MPI_Comm_dup(MPI_COMM_WORLD, &tmp);
		MPI_Comm_split(tmp, 0, rank, &orphan);
		MPI_Comm_free(&tmp);
		MPI_Type_vector(3, 2, 4, MPI_LONG, &vec);
		MPI_Type_commit(&vec);
		MPI_Op_create(user_sum, 1, &uop);
		MPI_Comm_create_errhandler(count_error, &ueh);
		MPI_Comm_set_errhandler(dup, ueh);
		MPI_Comm_set_errhandler(half, MPI_ERRORS_RETURN);
		MPI_Info tmpinfo;
		MPI_Info_create(&tmpinfo);
		MPI_Info_set(tmpinfo, "cairn_a", "one");
		MPI_Info_set(tmpinfo, "cairn_b", "two");
		MPI_Info_dup(tmpinfo, &info);
		MPI_Info_free(&tmpinfo);
		MPI_Info_delete(info, "cairn_a");
		MPI_Info_set(info, "cairn_c", rank % 2 ? "odd" : "even");
		MPI_Info_create(&info2);
		/* an attribute on the duplicate, copied by a dup of it */
		MPI_Comm_create_keyval(copy_attr, delete_attr, &kv, NULL);
		MPI_Comm_set_attr(dup, kv, &attr_value);
		MPI_Comm_dup(dup, &dup2);
		/* datatypes' attributes: on the vector (copied by its dup), on
		 * a predefined type; a windows' keyval with no window */
		MPI_Type_create_keyval(type_copy, type_delete, &tkv, &type_value);
		MPI_Type_set_attr(vec, tkv, &type_value);
		MPI_Type_set_attr(MPI_INT, tkv, &int_value);
		MPI_Type_dup(vec, &vec2);
		MPI_Win_create_keyval(MPI_WIN_NULL_COPY_FN, MPI_WIN_NULL_DELETE_FN, &wkv, NULL);
		/* topologies */
		MPI_Comm grid;
		int per2[2] = { 0, 0 }, keep[2] = { 1, 0 };
		MPI_Dims_create(size, 2, dims2);
		MPI_Cart_create(MPI_COMM_WORLD, 2, dims2, per2, 0, &grid);
		MPI_Cart_sub(grid, keep, &row);
		MPI_Comm_free(&grid);
		int gidx[64], gedges[128];
		for (int r = 0; r < size && r < 64; r++) {
			gedges[2 * r] = (r + size - 1) % size;
			gedges[2 * r + 1] = (r + 1) % size;
			gidx[r] = 2 * r + 2;
		}
		MPI_Graph_create(MPI_COMM_WORLD, size, gidx, gedges, 0, &graph);
		int asrc[1] = { (rank + size - 1) % size }, adst[1] = { (rank + 1) % size };
		int aw_in[1] = { 10 + asrc[0] }, aw_out[1] = { 10 + rank };
		MPI_Dist_graph_create_adjacent(MPI_COMM_WORLD, 1, asrc, aw_in, 1, adst, aw_out,
					       MPI_INFO_NULL, 0, &adj);
		int me[1] = { rank }, one[1] = { 1 }, to[1] = { (rank + 2) % size };
		MPI_Dist_graph_create(MPI_COMM_WORLD, 1, me, one, to, MPI_UNWEIGHTED, MPI_INFO_NULL, 0,
				      &dgraph);
		/* handed out by getters */
		MPI_Comm_get_errhandler(dup, &geh);
		MPI_Comm_get_info(dup, &ginfo);
		/* more datatype constructors */
		int gs[1] = { 4 * size }, ds[1] = { MPI_DISTRIBUTE_BLOCK }, da[1] = { MPI_DISTRIBUTE_DFLT_DARG },
		    ps[1] = { size };
		MPI_Type_create_darray(size, rank, 1, gs, ds, da, ps, MPI_ORDER_C, MPI_LONG, &darr);
		MPI_Type_commit(&darr);
		MPI_Count bl[2] = { 1, 2 }, dp[2] = { 0, 3 * (MPI_Count)sizeof(long) };
		MPI_Datatype tys[2] = { MPI_LONG, MPI_LONG };
		MPI_Type_create_struct_c(2, bl, dp, tys, &st_c);
		MPI_Type_commit(&st_c);
	}
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

	if (held_win != MPI_WIN_NULL)
		MPI_Win_free(&held_win);
	if (!strcmp(mode, "objects")) {
		/* each object, in the (maybe new) lower half */
		char name[MPI_MAX_OBJECT_NAME];
		int len = 0, hr = -1, hs = -1, res = 0;
		MPI_Comm_get_name(dup, name, &len);
		long v = 1, s = 0;
		MPI_Allreduce(&v, &s, 1, MPI_LONG, MPI_SUM, dup);
		if (strcmp(name, "cairn-dup") || s != size) {
			fprintf(stderr, "rank %d: dup: name '%s', sum %ld\n", rank, name, s);
			bad++;
		}
		MPI_Comm_rank(half, &hr);
		MPI_Comm_size(half, &hs);
		MPI_Allreduce(&v, &s, 1, MPI_LONG, MPI_SUM, half);
		int mine = 0;
		MPI_Allreduce(&rank, &mine, 1, MPI_INT, MPI_MAX, half);
		if (s != hs || hs != (size + 1 - rank % 2) / 2 || mine != (size - 1) - ((size - 1) % 2 != rank % 2)) {
			fprintf(stderr, "rank %d: split: rank %d of %d, sum %ld, max %d\n", rank, hr, hs, s,
				mine);
			bad++;
		}
		if ((rank % 2 == 0) != (fromgroup != MPI_COMM_NULL)) {
			fprintf(stderr, "rank %d: comm_create gave %s\n", rank,
				fromgroup == MPI_COMM_NULL ? "nothing" : "a communicator");
			bad++;
		} else if (fromgroup != MPI_COMM_NULL) {
			MPI_Allreduce(&v, &s, 1, MPI_LONG, MPI_SUM, fromgroup);
			if (s != (size + 1) / 2) {
				fprintf(stderr, "rank %d: comm_create: sum %ld\n", rank, s);
				bad++;
			}
		}
		int src = -1, dst = -1;
		MPI_Cart_shift(cart, 0, 1, &src, &dst);
		if (src != (rank + size - 1) % size || dst != (rank + 1) % size) {
			fprintf(stderr, "rank %d: cart shift %d %d\n", rank, src, dst);
			bad++;
		}
		MPI_Allreduce(&v, &s, 1, MPI_LONG, MPI_SUM, orphan);
		MPI_Group og;
		MPI_Comm_group(orphan, &og);
		MPI_Group_compare(og, wg, &res);
		if (s != size || res != MPI_IDENT) {
			fprintf(stderr, "rank %d: split of a freed dup: sum %ld, group %d\n", rank, s, res);
			bad++;
		}
		MPI_Group_free(&og);
		long out[12], in[12];
		for (int i = 0; i < 12; i++)
			out[i] = rank * 100 + i, in[i] = -1;
		MPI_Sendrecv(out, 1, vec, (rank + 1) % size, 5, in, 1, vec, (rank + size - 1) % size, 5,
			     MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		int from = (rank + size - 1) % size;
		if (in[0] != from * 100 || in[1] != from * 100 + 1 || in[2] != -1 ||
		    in[4] != from * 100 + 4 || in[9] != from * 100 + 9) {
			fprintf(stderr, "rank %d: vector type: %ld %ld %ld %ld\n", rank, in[0], in[1], in[2],
				in[9]);
			bad++;
		}
		long us = 0, uv = rank + 1;
		MPI_Allreduce(&uv, &us, 1, MPI_LONG, uop, MPI_COMM_WORLD);
		if (us != (long)size * (size + 1) / 2) {
			fprintf(stderr, "rank %d: user op: sum %ld\n", rank, us);
			bad++;
		}
		/* an error on each: a rank that does not exist */
		int erc = MPI_Send(&uv, 1, MPI_LONG, size + 5, 0, dup);
		int hrc = MPI_Send(&uv, 1, MPI_LONG, size + 5, 0, half);
		if (handled != 1 || erc == MPI_SUCCESS || hrc == MPI_SUCCESS) {
			fprintf(stderr, "rank %d: error handlers: %d calls, codes %d %d\n", rank, handled,
				erc, hrc);
			bad++;
		}
		/* the infos, as they were made */
		char val[64] = "";
		int nkeys = -1, flag = 0, flag2 = 1;
		MPI_Info_get_nkeys(info, &nkeys);
		MPI_Info_get(info, "cairn_c", (int)sizeof(val) - 1, val, &flag);
		char none[8];
		MPI_Info_get(info, "cairn_a", (int)sizeof(none) - 1, none, &flag2);
		int n2 = -1;
		MPI_Info_get_nkeys(info2, &n2);
		if (nkeys != 2 || !flag || strcmp(val, rank % 2 ? "odd" : "even") || flag2 || n2 != 0) {
			fprintf(stderr, "rank %d: info: %d keys, cairn_c '%s' (%d), cairn_a %d, empty %d\n",
				rank, nkeys, val, flag, flag2, n2);
			bad++;
		}
		MPI_Info_free(&info);
		MPI_Info_free(&info2);
		/* the attributes, once each, their callbacks not called again */
		void *a1 = NULL, *a2 = NULL;
		int f1 = 0, f2 = 0;
		MPI_Comm_get_attr(dup, kv, &a1, &f1);
		MPI_Comm_get_attr(dup2, kv, &a2, &f2);
		int c0 = copies;
		MPI_Comm_free(&dup2);
		MPI_Comm_free_keyval(&kv);
		if (!f1 || !f2 || a1 != &attr_value || a2 != &attr_value || c0 != 1 || deletes != 1) {
			fprintf(stderr, "rank %d: attributes: %d %d %p %p, %d copies, %d deletes\n", rank,
				f1, f2, a1, a2, c0, deletes);
			bad++;
		}
		/* datatypes' attributes, once each, callbacks not called again;
		 * the dup still works as a type */
		void *t1 = NULL, *t2 = NULL, *t3 = NULL;
		int g1 = 0, g2 = 0, g3 = 0;
		MPI_Type_get_attr(vec, tkv, &t1, &g1);
		MPI_Type_get_attr(vec2, tkv, &t2, &g2);
		MPI_Type_get_attr(MPI_INT, tkv, &t3, &g3);
		int tc = type_copies, td0 = type_deletes;
		long tin[12];
		for (int i = 0; i < 12; i++)
			tin[i] = -1;
		MPI_Sendrecv(out, 1, vec2, (rank + 1) % size, 6, tin, 1, vec2, (rank + size - 1) % size, 6,
			     MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		MPI_Type_free(&vec2);
		MPI_Type_delete_attr(MPI_INT, tkv);
		MPI_Type_free_keyval(&tkv);
		int wk2 = MPI_KEYVAL_INVALID;
		MPI_Win_free_keyval(&wkv);
		MPI_Win_create_keyval(MPI_WIN_NULL_COPY_FN, MPI_WIN_NULL_DELETE_FN, &wk2, NULL);
		MPI_Win_free_keyval(&wk2);
		if (!g1 || !g2 || !g3 || t1 != &type_value || t2 != &type_value || t3 != &int_value ||
		    tc != 1 || td0 != 0 || type_deletes != 2 || tin[4] != from * 100 + 4 ||
		    wkv != MPI_KEYVAL_INVALID) {
			fprintf(stderr,
				"rank %d: datatypes' attributes: %d %d %d %p %p %p, %d copies, %d then %d "
				"deletes, dup's data %ld, win keyval %d\n",
				rank, g1, g2, g3, t1, t2, t3, tc, td0, type_deletes, tin[4], wkv);
			bad++;
		}
		MPI_Op_free(&uop);
		MPI_Errhandler_free(&ueh);
		MPI_Comm_free(&dup);
		if (deletes != 2) {
			fprintf(stderr, "rank %d: %d deletes after the dup's free\n", rank, deletes);
			bad++;
		}
		MPI_Comm_free(&half);
		if (fromgroup != MPI_COMM_NULL)
			MPI_Comm_free(&fromgroup);
		MPI_Comm_free(&cart);
		/* topologies, made again */
		int rs = -1, rsum = 0, nn = -1, nb[2] = { -1, -1 }, ind = -1, outd = -1, wt = -1;
		MPI_Comm_size(row, &rs);
		MPI_Allreduce(&rank, &rsum, 1, MPI_INT, MPI_SUM, row);
		int rwant = 0;
		for (int r = rank % dims2[1]; r < size; r += dims2[1])
			rwant += r;
		if (rs != dims2[0] || rsum != rwant) {
			fprintf(stderr, "rank %d: cart_sub row: size %d (want %d), sum %d (want %d)\n", rank,
				rs, dims2[0], rsum, rwant);
			bad++;
		}
		MPI_Graph_neighbors_count(graph, rank, &nn);
		MPI_Graph_neighbors(graph, rank, 2, nb);
		int gin[2] = { -1, -1 };
		MPI_Neighbor_allgather(&rank, 1, MPI_INT, gin, 1, MPI_INT, graph);
		if (nn != 2 || nb[0] != (rank + size - 1) % size || nb[1] != (rank + 1) % size ||
		    gin[0] != nb[0] || gin[1] != nb[1]) {
			fprintf(stderr, "rank %d: graph: %d neighbours %d %d, gathered %d %d\n", rank, nn,
				nb[0], nb[1], gin[0], gin[1]);
			bad++;
		}
		int s1[1] = { -1 }, sw1[1] = { -1 }, d1[1] = { -1 }, dw1[1] = { -1 }, wtd = -1;
		MPI_Dist_graph_neighbors_count(adj, &ind, &outd, &wtd);
		MPI_Dist_graph_neighbors(adj, 1, s1, sw1, 1, d1, dw1);
		int ain = -1;
		MPI_Neighbor_allgather(&rank, 1, MPI_INT, &ain, 1, MPI_INT, adj);
		if (ind != 1 || outd != 1 || !wtd || s1[0] != (rank + size - 1) % size ||
		    sw1[0] != 10 + s1[0] || d1[0] != (rank + 1) % size || dw1[0] != 10 + rank ||
		    ain != s1[0]) {
			fprintf(stderr, "rank %d: adjacent graph: %d in %d out, %d(%d) -> %d(%d), got %d\n",
				rank, ind, outd, s1[0], sw1[0], d1[0], dw1[0], ain);
			bad++;
		}
		MPI_Dist_graph_neighbors_count(dgraph, &ind, &outd, &wt);
		int din = -1;
		MPI_Neighbor_allgather(&rank, 1, MPI_INT, &din, 1, MPI_INT, dgraph);
		if (ind != 1 || outd != 1 || wt || din != (rank + size - 2) % size) {
			fprintf(stderr, "rank %d: dist graph: %d in %d out weighted %d, got %d\n", rank, ind,
				outd, wt, din);
			bad++;
		}
		MPI_Comm_free(&row);
		MPI_Comm_free(&graph);
		MPI_Comm_free(&adj);
		MPI_Comm_free(&dgraph);
		/* the getters' objects: the handler works on another communicator */
		int gnk = -1, h0 = handled;
		MPI_Info_get_nkeys(ginfo, &gnk);
		int irc = MPI_Info_free(&ginfo);
		MPI_Comm gd;
		MPI_Comm_dup(MPI_COMM_WORLD, &gd);
		MPI_Comm_set_errhandler(gd, geh);
		int grc = MPI_Send(&uv, 1, MPI_LONG, size + 5, 0, gd);
		MPI_Comm_free(&gd);
		int frc = MPI_Errhandler_free(&geh);
		if (gnk < 0 || irc != MPI_SUCCESS || grc == MPI_SUCCESS || handled != h0 + 1 ||
		    frc != MPI_SUCCESS) {
			fprintf(stderr, "rank %d: getters: info %d keys (free %d), handler %d calls, "
				"code %d, free %d\n", rank, gnk, irc, handled - h0, grc, frc);
			bad++;
		}
		/* the darray and the large-count struct */
		long big[64], dl[64];
		for (int i = 0; i < 64; i++)
			big[i] = i, dl[i] = -1;
		MPI_Sendrecv(big, 1, darr, rank, 7, dl, 4, MPI_LONG, rank, 7, MPI_COMM_WORLD,
			     MPI_STATUS_IGNORE);
		long sl[3] = { -1, -1, -1 };
		MPI_Sendrecv(big, 1, st_c, rank, 8, sl, 3, MPI_LONG, rank, 8, MPI_COMM_WORLD,
			     MPI_STATUS_IGNORE);
		if (dl[0] != 4 * rank || dl[3] != 4 * rank + 3 || sl[0] != 0 || sl[1] != 3 || sl[2] != 4) {
			fprintf(stderr, "rank %d: darray %ld..%ld, struct_c %ld %ld %ld\n", rank, dl[0],
				dl[3], sl[0], sl[1], sl[2]);
			bad++;
		}
		MPI_Type_free(&darr);
		MPI_Type_free(&st_c);
		MPI_Comm_free(&orphan);
		MPI_Group_free(&evens);
		MPI_Group_free(&wg);
		MPI_Type_free(&vec);
		if (type_deletes != 3) {
			fprintf(stderr, "rank %d: %d datatype attribute deletes after the vector's free\n",
				rank, type_deletes);
			bad++;
		}
	}

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
