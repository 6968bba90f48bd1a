/* Derived datatypes, and user-defined reduction operations on them. */
#include <stddef.h>

#include "report.h"

struct pt {
	double x;
	int id;
	char tag;
};

static void maxpt(void *in, void *inout, int *len, MPI_Datatype *type)
{
	struct pt *a = in, *b = inout;
	for (int i = 0; i < *len; i++)
		if (a[i].x > b[i].x)
			b[i] = a[i];
}

/* Not commutative: 2x2 matrix product, in rank order. */
static void matmul(void *in, void *inout, int *len, MPI_Datatype *type)
{
	int *a = in, *b = inout, c[4];
	for (int i = 0; i < *len; i++, a += 4, b += 4) {
		c[0] = a[0] * b[0] + a[1] * b[2];
		c[1] = a[0] * b[1] + a[1] * b[3];
		c[2] = a[2] * b[0] + a[3] * b[2];
		c[3] = a[2] * b[1] + a[3] * b[3];
		for (int k = 0; k < 4; k++)
			b[k] = c[k] % 1000;
	}
}

static int seen_type_ok;
static MPI_Datatype the_quad;
static void quadsum(void *in, void *inout, int *len, MPI_Datatype *type)
{
	seen_type_ok += *type == the_quad;
	for (int i = 0; i < *len * 4; i++)
		((int *)inout)[i] += ((int *)in)[i];
}

int main(int argc, char **argv)
{
	int rank, size, i, sz;
	MPI_Aint lb, ext;
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	int right = (rank + 1) % size, left = (rank + size - 1) % size;

	MPI_Datatype con, vec, hvec, idx, hidx, st, res, quad;
	MPI_Type_contiguous(3, MPI_INT, &con);
	MPI_Type_vector(3, 2, 4, MPI_INT, &vec);
	MPI_Type_create_hvector(2, 1, 3 * sizeof(int), con, &hvec);
	int bl[3] = { 1, 2, 3 }, dp[3] = { 0, 3, 7 };
	MPI_Type_indexed(3, bl, dp, MPI_INT, &idx);
	MPI_Aint hdp[3] = { 0, 12, 32 };
	MPI_Type_create_hindexed(3, bl, hdp, MPI_INT, &hidx);
	int sbl[3] = { 1, 1, 1 };
	MPI_Aint sdp[3] = { offsetof(struct pt, x), offsetof(struct pt, id), offsetof(struct pt, tag) };
	MPI_Datatype sty[3] = { MPI_DOUBLE, MPI_INT, MPI_CHAR };
	MPI_Type_create_struct(3, sbl, sdp, sty, &st);
	MPI_Type_create_resized(st, 0, sizeof(struct pt), &res);
	MPI_Type_contiguous(4, MPI_INT, &quad);
	MPI_Datatype all[] = { con, vec, hvec, idx, hidx, res, quad };
	const char *names[] = { "contiguous", "vector", "hvector", "indexed", "hindexed", "struct", "quad" };
	for (i = 0; i < 7; i++) {
		MPI_Type_commit(&all[i]);
		MPI_Type_size(all[i], &sz);
		MPI_Type_get_extent(all[i], &lb, &ext);
		say("%s: size %d lb %ld extent %ld", names[i], sz, (long)lb, (long)ext);
	}
	con = all[0], vec = all[1], hvec = all[2], idx = all[3], hidx = all[4], res = all[5], quad = all[6];
	MPI_Type_size(MPI_DOUBLE, &sz);
	CHECK(sz == 8, "predefined size");
	MPI_Type_size(MPI_DOUBLE_INT, &sz);
	CHECK(sz == 12, "pair type size %d", sz);

	/* Send each derived type around the ring; receive as plain ints. */
	int buf[16], got[16];
	MPI_Status stt;
	for (int t = 0; t < 5; t++) {
		for (i = 0; i < 16; i++)
			buf[i] = rank * 100 + i, got[i] = -1;
		MPI_Sendrecv(buf, 1, all[t], right, t, got, 16, MPI_INT, left, t, MPI_COMM_WORLD, &stt);
		int n, e;
		MPI_Get_count(&stt, MPI_INT, &n);
		MPI_Get_elements(&stt, MPI_INT, &e);
		char line[256];
		int len = snprintf(line, sizeof(line), "%s via ring: %d ints:", names[t], n);
		for (i = 0; i < n && len < 200; i++)
			len += snprintf(line + len, sizeof(line) - len, " %d", got[i] - left * 100);
		say("%s", line);
		CHECK(n == e, "elements");
	}
	/* And receive into the derived type. */
	for (i = 0; i < 16; i++)
		buf[i] = rank, got[i] = -1;
	MPI_Sendrecv(buf, 6, MPI_INT, right, 9, got, 1, vec, left, 9, MPI_COMM_WORLD, &stt);
	int nv;
	MPI_Get_count(&stt, vec, &nv);
	say("into vector: count %d, %d %d %d %d %d %d", nv, got[0], got[1], got[2], got[3], got[4], got[5]);

	/* User ops: struct maxloc-like, non-commutative matrix product. */
	MPI_Op opmax, opmat, opquad;
	MPI_Op_create(maxpt, 1, &opmax);
	MPI_Op_create(matmul, 0, &opmat);
	MPI_Op_create(quadsum, 1, &opquad);
	int comm;
	MPI_Op_commutative(opmat, &comm);
	CHECK(!comm, "op_commutative");
	struct pt p = { (rank * 7) % size + 0.5, rank, (char)('a' + rank) }, q;
	MPI_Allreduce(&p, &q, 1, res, opmax, MPI_COMM_WORLD);
	say("max point: x %.1f id %d tag %c", q.x, q.id, q.tag);
	int m[4] = { rank + 1, 1, 0, 1 }, mr[4];
	MPI_Reduce(m, mr, 1, quad, opmat, 0, MPI_COMM_WORLD);
	if (rank == 0)
		say("matrix product: %d %d %d %d", mr[0], mr[1], mr[2], mr[3]);
	MPI_Request r;
	MPI_Iallreduce(m, mr, 1, quad, opquad, MPI_COMM_WORLD, &r);
	MPI_Wait(&r, MPI_STATUS_IGNORE);
	the_quad = quad;
	MPI_Allreduce(m, mr, 1, quad, opquad, MPI_COMM_WORLD);
	say("quad sum: %d %d %d %d", mr[0], mr[1], mr[2], mr[3]);
	CHECK(size == 1 || seen_type_ok > 0 || rank != 0, "user op sees the application's datatype handle");
	int loc[4] = { 1, 2, 3, 4 }, acc[4] = { 10, 20, 30, 40 };
	MPI_Reduce_local(loc, acc, 1, quad, opquad);
	CHECK(acc[3] == 44, "reduce_local");
	MPI_Op_free(&opmax);
	MPI_Op_free(&opmat);
	MPI_Op_free(&opquad);
	CHECK(opmax == MPI_OP_NULL, "op_free nulls");
	for (i = 0; i < 7; i++) {
		MPI_Type_free(&all[i]);
		CHECK(all[i] == MPI_DATATYPE_NULL, "type_free nulls");
	}
	MPI_Type_free(&st);
	return report_end();
}
