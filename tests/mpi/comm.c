/* Communicators and groups: dup, split, create, compare, free; group
 * algebra; names; a Cartesian topology; error handlers (MPI_ERRORS_RETURN
 * and one of the application's, called back by the library). */
#include "report.h"

static int handler_calls, handler_code, handler_comm_ok;
static MPI_Comm handler_expect;

static void handler(MPI_Comm *comm, int *code, ...)
{
	handler_calls++;
	handler_code = *code;
	handler_comm_ok = *comm == handler_expect;
}

int main(int argc, char **argv)
{
	int rank, size, res, r2, s2;
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);

	MPI_Comm dup, split, created, cart;
	MPI_Comm_dup(MPI_COMM_WORLD, &dup);
	MPI_Comm_compare(MPI_COMM_WORLD, dup, &res);
	CHECK(res == MPI_CONGRUENT, "dup congruent");
	MPI_Comm_compare(dup, dup, &res);
	CHECK(res == MPI_IDENT, "ident");
	MPI_Comm_split(dup, rank < size / 2, size - rank, &split);
	MPI_Comm_rank(split, &r2);
	MPI_Comm_size(split, &s2);
	say("split: rank %d of %d", r2, s2);
	MPI_Comm_set_name(split, "halfcomm");
	char name[MPI_MAX_OBJECT_NAME];
	int len;
	MPI_Comm_get_name(split, name, &len);
	CHECK(len == 8, "name");
	say("name %s", name);

	MPI_Group world, evens, odds, uni, inter, diff, rng;
	MPI_Comm_group(MPI_COMM_WORLD, &world);
	int ev[32], ne = 0;
	for (int i = 0; i < size; i += 2)
		ev[ne++] = i;
	MPI_Group_incl(world, ne, ev, &evens);
	MPI_Group_excl(world, ne, ev, &odds);
	MPI_Group_union(odds, evens, &uni);
	MPI_Group_intersection(world, evens, &inter);
	MPI_Group_difference(world, odds, &diff);
	int ranges[1][3] = { { 0, size - 1, 2 } };
	MPI_Group_range_incl(world, 1, ranges, &rng);
	int gs, gr;
	MPI_Group_size(uni, &gs);
	MPI_Group_rank(evens, &gr);
	MPI_Group_compare(diff, evens, &res);
	CHECK(res == MPI_IDENT, "difference == evens");
	MPI_Group_compare(rng, inter, &res);
	CHECK(res == MPI_IDENT, "range == intersection");
	MPI_Group_compare(uni, world, &res);
	CHECK(res == MPI_SIMILAR, "union similar to world (%d)", res);
	int tr_in[2] = { 0, 1 }, tr_out[2];
	MPI_Group_translate_ranks(odds, 1, tr_in, world, tr_out);
	say("group: union size %d, rank in evens %d, odd 0 is world %d", gs, gr, tr_out[0]);

	MPI_Comm_create(MPI_COMM_WORLD, evens, &created);
	if (rank % 2 == 0) {
		int cr, cs, sum;
		MPI_Comm_rank(created, &cr);
		MPI_Comm_size(created, &cs);
		MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, created);
		say("created: rank %d of %d, sum of world ranks %d", cr, cs, sum);
		MPI_Comm_free(&created);
	} else
		CHECK(created == MPI_COMM_NULL, "not a member");
	MPI_Group g2;
	MPI_Comm_group(split, &g2);
	MPI_Group fr[] = { world, evens, odds, uni, inter, diff, rng, g2 };
	for (int i = 0; i < 8; i++) {
		MPI_Group_free(&fr[i]);
		CHECK(fr[i] == MPI_GROUP_NULL, "group_free nulls");
	}

	int dims[2] = { 0, 0 }, periods[2] = { 1, 0 }, coords[2], src, dst;
	MPI_Dims_create(size, 2, dims);
	MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, 0, &cart);
	MPI_Cart_coords(cart, rank, 2, coords);
	MPI_Cart_shift(cart, 0, 1, &src, &dst);
	say("cart %dx%d: coords %d,%d shift %d->%d", dims[0], dims[1], coords[0], coords[1], src, dst);
	MPI_Comm_free(&cart);

	/* Errors returned, then the application's handler called back. */
	MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN);
	int x = 0, cls;
	int rc = MPI_Send(&x, 1, MPI_INT, size + 5, 0, dup);
	MPI_Error_class(rc, &cls);
	CHECK(rc != MPI_SUCCESS && cls == MPI_ERR_RANK, "error returned (%d)", cls);
	MPI_Errhandler eh, got;
	MPI_Comm_create_errhandler(handler, &eh);
	MPI_Comm_set_errhandler(dup, eh);
	MPI_Comm_get_errhandler(dup, &got);
	handler_expect = dup;
	MPI_Comm_call_errhandler(dup, MPI_ERR_OTHER);
	rc = MPI_Send(&x, 1, MPI_INT, size + 5, 0, dup);
	MPI_Error_class(handler_code, &cls);
	CHECK(handler_calls == 2 && handler_comm_ok && cls == MPI_ERR_RANK, "handler %d", handler_calls);
	say("errors: returned class ok, handler called %d times with its comm: %d", handler_calls,
	    handler_comm_ok);
	MPI_Errhandler_free(&eh);
	MPI_Errhandler_free(&got);
	CHECK(eh == MPI_ERRHANDLER_NULL, "errhandler_free nulls");

	int *ub, flag;
	MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &ub, &flag);
	CHECK(flag && *ub >= 32767, "tag_ub");
	char proc[MPI_MAX_PROCESSOR_NAME];
	MPI_Get_processor_name(proc, &len);
	CHECK(len > 0, "processor name");
	int ver, sub;
	MPI_Get_version(&ver, &sub);
	say("MPI %d.%d", ver, sub);
	double t0 = MPI_Wtime(), t1 = MPI_Wtime();
	CHECK(t1 >= t0 && MPI_Wtick() > 0, "wtime");
	/* non-blocking duplicates: two at once, one with hints, one of the
	 * split; complete in any order, then used */
	MPI_Comm id1, id2;
	MPI_Request ir[2];
	MPI_Info hint;
	MPI_Info_create(&hint);
	MPI_Info_set(hint, "mpi_assert_no_any_tag", "true");
	MPI_Comm_idup(split, &id1, &ir[0]);
	MPI_Comm_idup_with_info(dup, hint, &id2, &ir[1]);
	MPI_Info_free(&hint);
	MPI_Waitall(2, ir, MPI_STATUSES_IGNORE);
	CHECK(ir[0] == MPI_REQUEST_NULL && ir[1] == MPI_REQUEST_NULL, "idup requests done");
	MPI_Comm_compare(split, id1, &res);
	CHECK(res == MPI_CONGRUENT, "idup congruent");
	int isum = -1, wsum = -1;
	MPI_Allreduce(&rank, &isum, 1, MPI_INT, MPI_SUM, id1);
	MPI_Allreduce(&rank, &wsum, 1, MPI_INT, MPI_SUM, id2);
	say("idup sums %d %d", isum, wsum);
	MPI_Comm_free(&id1);
	MPI_Comm_free(&id2);
	MPI_Comm_free(&split);
	MPI_Comm_free(&dup);
	CHECK(dup == MPI_COMM_NULL && split == MPI_COMM_NULL && id1 == MPI_COMM_NULL, "freed");
	return report_end();
}
