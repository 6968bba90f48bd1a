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
 * windows' keyval, before the quiet phase, and use them after it (a restart must make them again in the new
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
	MPI_Datatype vec2 = MPI_DATATYPE_NULL;
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
