/* Point-to-point: every send mode, blocking and not, persistent requests,
 * probe and matched probe, wildcards, and the request handles MPI nulls. */
#include <stdlib.h>

#include "report.h"

static int rank, size;

static void fill(int *b, int n, int seed)
{
	for (int i = 0; i < n; i++)
		b[i] = seed * 1000 + i;
}

static int same(const int *b, int n, int seed)
{
	for (int i = 0; i < n; i++)
		if (b[i] != seed * 1000 + i)
			return 0;
	return 1;
}

/* Ring exchange: everyone sends to right, receives from left. */
static void modes(void)
{
	int right = (rank + 1) % size, left = (rank + size - 1) % size;
	int out[100], in[100];
	MPI_Status st;
	int count;

	fill(out, 100, rank);
	/* Standard, in two steps so that no mode can deadlock. */
	for (int phase = 0; phase < 2; phase++) {
		if ((rank % 2) == phase)
			MPI_Send(out, 100, MPI_INT, right, 1, MPI_COMM_WORLD);
		else
			MPI_Recv(in, 100, MPI_INT, left, 1, MPI_COMM_WORLD, &st);
		if (size % 2 && rank == 0 && phase == 0)
			MPI_Recv(in, 100, MPI_INT, left, 1, MPI_COMM_WORLD, &st);
		if (size % 2 && rank == size - 1 && phase == 1)
			MPI_Send(out, 100, MPI_INT, right, 1, MPI_COMM_WORLD);
	}
	MPI_Get_count(&st, MPI_INT, &count);
	CHECK(same(in, 100, left) && count == 100 && st.MPI_SOURCE == left && st.MPI_TAG == 1,
	      "standard send");
	say("send/recv from %d: count %d tag %d", st.MPI_SOURCE, count, st.MPI_TAG);

	/* Synchronous, non-blocking receive first. */
	MPI_Request r;
	MPI_Irecv(in, 100, MPI_INT, left, 2, MPI_COMM_WORLD, &r);
	MPI_Ssend(out, 100, MPI_INT, right, 2, MPI_COMM_WORLD);
	MPI_Wait(&r, &st);
	CHECK(r == MPI_REQUEST_NULL, "wait must null the request");
	CHECK(same(in, 100, left), "ssend");
	say("ssend ok");

	/* Ready: the receive is posted before the barrier. */
	MPI_Irecv(in, 100, MPI_INT, left, 3, MPI_COMM_WORLD, &r);
	MPI_Barrier(MPI_COMM_WORLD);
	MPI_Rsend(out, 100, MPI_INT, right, 3, MPI_COMM_WORLD);
	MPI_Wait(&r, MPI_STATUS_IGNORE);
	CHECK(same(in, 100, left), "rsend");
	say("rsend ok");

	/* Buffered, with an attached buffer that we get back. */
	int bsize = 100 * sizeof(int) + MPI_BSEND_OVERHEAD;
	char *buf = malloc(bsize), *back;
	MPI_Buffer_attach(buf, bsize);
	MPI_Bsend(out, 100, MPI_INT, right, 4, MPI_COMM_WORLD);
	MPI_Recv(in, 100, MPI_INT, left, 4, MPI_COMM_WORLD, &st);
	MPI_Buffer_detach(&back, &bsize);
	CHECK(back == buf && bsize == (int)(100 * sizeof(int) + MPI_BSEND_OVERHEAD), "detach");
	CHECK(same(in, 100, left), "bsend");
	say("bsend ok");

	/* Non-blocking sends of every mode, completed by Waitall. */
	MPI_Request rs[8];
	int ins[4][100];
	MPI_Buffer_attach(buf, bsize);
	for (int i = 0; i < 4; i++)
		MPI_Irecv(ins[i], 100, MPI_INT, left, 10 + i, MPI_COMM_WORLD, &rs[4 + i]);
	MPI_Barrier(MPI_COMM_WORLD);
	MPI_Isend(out, 100, MPI_INT, right, 10, MPI_COMM_WORLD, &rs[0]);
	MPI_Issend(out, 100, MPI_INT, right, 11, MPI_COMM_WORLD, &rs[1]);
	MPI_Ibsend(out, 100, MPI_INT, right, 12, MPI_COMM_WORLD, &rs[2]);
	MPI_Irsend(out, 100, MPI_INT, right, 13, MPI_COMM_WORLD, &rs[3]);
	MPI_Status sts[8];
	MPI_Waitall(8, rs, sts);
	int nulls = 0;
	for (int i = 0; i < 8; i++)
		nulls += rs[i] == MPI_REQUEST_NULL;
	CHECK(nulls == 8, "waitall must null all requests (%d)", nulls);
	for (int i = 0; i < 4; i++)
		CHECK(same(ins[i], 100, left) && sts[4 + i].MPI_TAG == 10 + i, "isend mode %d", i);
	MPI_Buffer_detach(&back, &bsize);
	free(buf);
	say("isend/issend/ibsend/irsend ok, %d requests nulled", nulls);

	/* Sendrecv and Sendrecv_replace. */
	MPI_Sendrecv(out, 100, MPI_INT, right, 20, in, 100, MPI_INT, left, 20, MPI_COMM_WORLD, &st);
	CHECK(same(in, 100, left), "sendrecv");
	int rep[100];
	fill(rep, 100, rank);
	MPI_Sendrecv_replace(rep, 100, MPI_INT, right, 21, left, 21, MPI_COMM_WORLD, &st);
	CHECK(same(rep, 100, left), "sendrecv_replace");
	say("sendrecv ok");
}

static void persistent(void)
{
	int right = (rank + 1) % size, left = (rank + size - 1) % size;
	int out, in = -1, total = 0;
	MPI_Request r[2];
	MPI_Send_init(&out, 1, MPI_INT, right, 30, MPI_COMM_WORLD, &r[0]);
	MPI_Recv_init(&in, 1, MPI_INT, left, 30, MPI_COMM_WORLD, &r[1]);
	for (int i = 0; i < 5; i++) {
		out = rank * 10 + i;
		if (i % 2)
			MPI_Startall(2, r);
		else {
			MPI_Start(&r[1]);
			MPI_Start(&r[0]);
		}
		MPI_Waitall(2, r, MPI_STATUSES_IGNORE);
		CHECK(r[0] != MPI_REQUEST_NULL && r[1] != MPI_REQUEST_NULL,
		      "persistent requests stay allocated");
		CHECK(in == left * 10 + i, "persistent round %d", i);
		total += in;
	}
	MPI_Request_free(&r[0]);
	MPI_Request_free(&r[1]);
	CHECK(r[0] == MPI_REQUEST_NULL && r[1] == MPI_REQUEST_NULL, "request_free nulls");
	/* Ssend_init, Bsend_init, Rsend_init exist too. */
	MPI_Request s;
	MPI_Ssend_init(&out, 1, MPI_INT, right, 31, MPI_COMM_WORLD, &s);
	MPI_Irecv(&in, 1, MPI_INT, left, 31, MPI_COMM_WORLD, &r[1]);
	MPI_Start(&s);
	MPI_Wait(&r[1], MPI_STATUS_IGNORE);
	MPI_Wait(&s, MPI_STATUS_IGNORE);
	MPI_Request_free(&s);
	say("persistent: sum %d", total);
}

static void probes(void)
{
	int right = (rank + 1) % size, left = (rank + size - 1) % size;
	int out[7], in[7], flag = 0, count;
	MPI_Status st;
	MPI_Request r;
	fill(out, 7, rank);

	MPI_Isend(out, 7 - rank % 3, MPI_INT, right, 40 + rank, MPI_COMM_WORLD, &r);
	MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
	MPI_Get_count(&st, MPI_INT, &count);
	CHECK(st.MPI_SOURCE == left && st.MPI_TAG == 40 + left && count == 7 - left % 3, "probe");
	MPI_Recv(in, count, MPI_INT, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, &st);
	MPI_Wait(&r, MPI_STATUS_IGNORE);
	say("probe: source %d tag %d count %d", st.MPI_SOURCE, st.MPI_TAG, count);

	MPI_Isend(out, 5, MPI_INT, right, 50, MPI_COMM_WORLD, &r);
	do
		MPI_Iprobe(left, 50, MPI_COMM_WORLD, &flag, &st);
	while (!flag);
	MPI_Recv(in, 7, MPI_INT, MPI_ANY_SOURCE, 50, MPI_COMM_WORLD, &st);
	MPI_Get_count(&st, MPI_INT, &count);
	CHECK(count == 5 && same(in, 5, left), "iprobe");
	int done = 0;
	while (!done)
		MPI_Test(&r, &done, MPI_STATUS_IGNORE);
	CHECK(r == MPI_REQUEST_NULL, "test nulls a completed request");
	say("iprobe: count %d", count);

	MPI_Message m;
	MPI_Isend(out, 6, MPI_INT, right, 60, MPI_COMM_WORLD, &r);
	MPI_Mprobe(MPI_ANY_SOURCE, 60, MPI_COMM_WORLD, &m, &st);
	CHECK(m != MPI_MESSAGE_NULL, "mprobe message");
	MPI_Get_count(&st, MPI_INT, &count);
	MPI_Mrecv(in, count, MPI_INT, &m, &st);
	CHECK(m == MPI_MESSAGE_NULL && count == 6 && same(in, 6, left), "mrecv");
	MPI_Wait(&r, MPI_STATUS_IGNORE);

	MPI_Isend(out, 4, MPI_INT, right, 61, MPI_COMM_WORLD, &r);
	flag = 0;
	while (!flag)
		MPI_Improbe(left, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &m, &st);
	MPI_Request rr;
	MPI_Imrecv(in, 4, MPI_INT, &m, &rr);
	CHECK(m == MPI_MESSAGE_NULL, "imrecv consumes the message");
	MPI_Wait(&rr, &st);
	MPI_Get_count(&st, MPI_INT, &count);
	CHECK(count == 4 && same(in, 4, left), "imrecv");
	MPI_Wait(&r, MPI_STATUS_IGNORE);
	say("mprobe/improbe ok, tag %d", st.MPI_TAG);

	/* MPI_PROC_NULL: mprobe gives MPI_MESSAGE_NO_PROC. */
	MPI_Mprobe(MPI_PROC_NULL, 0, MPI_COMM_WORLD, &m, &st);
	CHECK(m == MPI_MESSAGE_NO_PROC && st.MPI_SOURCE == MPI_PROC_NULL, "no_proc");
}

/* The rest of the wait/test family, with MPI_ANY_SOURCE receives. */
static void families(void)
{
	int n = size - 1, got[64], out = rank, seen = 0;
	MPI_Request r[64], s[64];
	MPI_Status st[64];
	int idx[64], outcount, flag, index;

	for (int i = 0; i < n; i++)
		MPI_Irecv(&got[i], 1, MPI_INT, MPI_ANY_SOURCE, 70, MPI_COMM_WORLD, &r[i]);
	for (int i = 0, k = 0; i < size; i++)
		if (i != rank)
			MPI_Isend(&out, 1, MPI_INT, i, 70, MPI_COMM_WORLD, &s[k++]);
	int left = n;
	while (left > 0) {
		if (left % 2) {
			MPI_Waitany(n, r, &index, &st[0]);
			CHECK(index >= 0 && r[index] == MPI_REQUEST_NULL, "waitany nulls its request");
			seen += 1 << got[index];
			left--;
		} else {
			MPI_Waitsome(n, r, &outcount, idx, st);
			for (int j = 0; j < outcount; j++) {
				CHECK(r[idx[j]] == MPI_REQUEST_NULL, "waitsome nulls");
				seen += 1 << got[idx[j]];
			}
			left -= outcount;
		}
	}
	MPI_Waitany(n, r, &index, st);
	CHECK(index == MPI_UNDEFINED, "waitany on null requests");
	CHECK(seen == ((1 << size) - 1) - (1 << rank), "every peer once (%x)", seen);
	flag = 0;
	while (!flag)
		MPI_Testall(n, s, &flag, MPI_STATUSES_IGNORE);
	for (int i = 0; i < n; i++)
		CHECK(s[i] == MPI_REQUEST_NULL, "testall nulls");
	say("waitany/waitsome/testall: peers %x", seen);

	/* Testany and Testsome. */
	for (int i = 0; i < n; i++)
		MPI_Irecv(&got[i], 1, MPI_INT, MPI_ANY_SOURCE, 71, MPI_COMM_WORLD, &r[i]);
	for (int i = 0, k = 0; i < size; i++)
		if (i != rank)
			MPI_Isend(&out, 1, MPI_INT, i, 71, MPI_COMM_WORLD, &s[k++]);
	left = n;
	seen = 0;
	while (left > 0) {
		MPI_Testany(n, r, &index, &flag, MPI_STATUS_IGNORE);
		if (flag && index != MPI_UNDEFINED) {
			seen += 1 << got[index];
			left--;
		}
		MPI_Testsome(n, r, &outcount, idx, MPI_STATUSES_IGNORE);
		for (int j = 0; j < outcount && outcount != MPI_UNDEFINED; j++) {
			seen += 1 << got[idx[j]];
			left--;
		}
	}
	MPI_Waitall(n, s, MPI_STATUSES_IGNORE);
	CHECK(seen == ((1 << size) - 1) - (1 << rank), "testany/testsome (%x)", seen);

	/* Cancel a receive nobody matches. */
	MPI_Request c;
	int dummy;
	MPI_Irecv(&dummy, 1, MPI_INT, MPI_ANY_SOURCE, 999, MPI_COMM_WORLD, &c);
	MPI_Cancel(&c);
	MPI_Wait(&c, &st[0]);
	MPI_Test_cancelled(&st[0], &flag);
	CHECK(flag && c == MPI_REQUEST_NULL, "cancelled receive");
	say("testany/testsome/cancel ok");
}

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	modes();
	persistent();
	probes();
	families();
	return report_end();
}
