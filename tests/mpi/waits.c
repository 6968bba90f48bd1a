/* Blocking calls wait in the lower half in a way that can be interrupted
 * (src/mpi/wait.h), and still complete as natively.
 *
 * For each kind of blocking call, rank 0 joins late (after 150 ms) while
 * the other ranks already wait in the call; meanwhile a timer in each of
 * those ranks fires after 30 ms, and its signal handler (the application's,
 * running while the thread sits inside MPI) asks cairn to interrupt every
 * wait (cairn_mpi_interrupt_waits, looked up with dlsym: the program is
 * not linked against cairn). Each waiting rank then checks that its call
 * was interrupted at least once (cairn_mpi_wait_interruptions) and that the
 * result is right. The report (report.h) is the same natively, where there
 * is nothing to interrupt; under cairn one more line, "info waits: ...",
 * says how many calls were interrupted.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

#include "report.h"

#define LATE_MS 150
#define ALARM_MS 30

static void (*interrupt_waits)(void);
static unsigned long (*interruptions)(void);
static int rank, size, waited, interrupted;

static void on_alarm(int sig)
{
	(void)sig;
	if (interrupt_waits)
		interrupt_waits();
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) < 0)
		;
}

static unsigned long before;

/* Rank 0 comes late; the others arm the timer that interrupts their wait. */
static void arrive(void)
{
	if (rank == 0) {
		sleep_ms(LATE_MS);
		return;
	}
	before = interruptions ? interruptions() : 0;
	struct itimerval it = { { 0, 0 }, { 0, ALARM_MS * 1000 } };
	setitimer(ITIMER_REAL, &it, NULL);
}

/* After the call: under cairn, a rank that waited was interrupted. */
static void left(const char *what)
{
	if (rank == 0 || !interruptions)
		return;
	waited++;
	unsigned long n = interruptions() - before;
	if (n > 0)
		interrupted++;
	CHECK(n > 0, "%s: the wait was not interrupted", what);
}

int main(int argc, char **argv)
{
	int i;
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	interrupt_waits = (void (*)(void))dlsym(RTLD_DEFAULT, "cairn_mpi_interrupt_waits");
	interruptions = (unsigned long (*)(void))dlsym(RTLD_DEFAULT, "cairn_mpi_wait_interruptions");
	struct sigaction sa = { .sa_handler = on_alarm };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	MPI_Barrier(MPI_COMM_WORLD);

	/* MPI_Recv: rank 0 sends late to every other rank. */
	arrive();
	if (rank == 0) {
		for (i = 1; i < size; i++)
			MPI_Send(&i, 1, MPI_INT, i, 1, MPI_COMM_WORLD);
	} else {
		int v = -1;
		MPI_Status st;
		MPI_Recv(&v, 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
		CHECK(v == rank && st.MPI_SOURCE == 0 && st.MPI_TAG == 1, "recv %d from %d tag %d", v,
		      st.MPI_SOURCE, st.MPI_TAG);
		say("recv: %d", v);
	}
	left("MPI_Recv");

	/* MPI_Ssend: completes only once rank 0 posts the receive. */
	arrive();
	if (rank == 0) {
		for (i = 1; i < size; i++) {
			int v;
			MPI_Recv(&v, 1, MPI_INT, i, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
			CHECK(v == 10 * i, "ssend from %d: %d", i, v);
		}
		say("ssend: all received");
	} else {
		int v = 10 * rank;
		MPI_Ssend(&v, 1, MPI_INT, 0, 2, MPI_COMM_WORLD);
	}
	left("MPI_Ssend");

	/* A large MPI_Send (rendezvous): 4 MiB. */
	enum { BIG = 1 << 20 };
	int *big = malloc(BIG * sizeof(int));
	arrive();
	if (rank == 0) {
		for (i = 1; i < size; i++) {
			MPI_Recv(big, BIG, MPI_INT, i, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
			CHECK(big[0] == i && big[BIG - 1] == i + BIG - 1, "big from %d: %d %d", i, big[0],
			      big[BIG - 1]);
		}
		say("big send: all received");
	} else {
		for (i = 0; i < BIG; i++)
			big[i] = rank + i;
		MPI_Send(big, BIG, MPI_INT, 0, 3, MPI_COMM_WORLD);
	}
	left("MPI_Send (4 MiB)");

	/* MPI_Sendrecv and MPI_Sendrecv_replace with a derived datatype, with
	 * rank 0 (everyone's partner) late. */
	MPI_Datatype vec;
	MPI_Type_vector(3, 2, 4, MPI_INT, &vec);
	MPI_Type_commit(&vec);
	arrive();
	if (rank == 0) {
		for (i = 1; i < size; i++) {
			int buf[12], got[6];
			for (int k = 0; k < 12; k++)
				buf[k] = 100 * i + k;
			MPI_Status st;
			MPI_Sendrecv(buf, 1, vec, i, 4, got, 6, MPI_INT, i, 4, MPI_COMM_WORLD, &st);
			int n;
			MPI_Get_count(&st, MPI_INT, &n);
			CHECK(n == 6 && got[0] == i && got[5] == i + 5, "sendrecv at 0 from %d: %d ints", i,
			      n);
		}
	} else {
		int mine[6], got[12] = { 0 };
		for (int k = 0; k < 6; k++)
			mine[k] = rank + k;
		MPI_Status st;
		MPI_Sendrecv(mine, 6, MPI_INT, 0, 4, got, 1, vec, 0, 4, MPI_COMM_WORLD, &st);
		int n;
		MPI_Get_count(&st, vec, &n);
		CHECK(n == 1 && st.MPI_SOURCE == 0 && got[0] == 100 * rank && got[1] == 100 * rank + 1 &&
			      got[4] == 100 * rank + 4 && got[9] == 100 * rank + 9 && got[2] == 0,
		      "sendrecv: count %d source %d: %d %d %d %d", n, st.MPI_SOURCE, got[0], got[1],
		      got[4], got[9]);
		say("sendrecv: %d %d %d", got[0], got[4], got[9]);
	}
	left("MPI_Sendrecv");
	arrive();
	if (rank == 0) {
		for (i = 1; i < size; i++) {
			int buf[12];
			for (int k = 0; k < 12; k++)
				buf[k] = 1000 * i + k;
			MPI_Sendrecv_replace(buf, 1, vec, i, 5, i, 5, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
			CHECK(buf[0] == -i && buf[1] == -i - 1 && buf[4] == -i - 2 && buf[2] == 1000 * i + 2,
			      "replace at 0: %d %d %d %d", buf[0], buf[1], buf[4], buf[2]);
		}
	} else {
		int buf[12];
		for (int k = 0; k < 12; k++)
			buf[k] = -rank - k;
		MPI_Status st;
		MPI_Sendrecv_replace(buf, 6, MPI_INT, 0, 5, 0, 5, MPI_COMM_WORLD, &st);
		CHECK(buf[0] == 1000 * rank && buf[1] == 1000 * rank + 1 && buf[2] == 1000 * rank + 4 &&
			      buf[5] == 1000 * rank + 9 && st.MPI_SOURCE == 0,
		      "replace: %d %d %d %d from %d", buf[0], buf[1], buf[2], buf[5], st.MPI_SOURCE);
		say("sendrecv_replace: %d %d", buf[0], buf[5]);
	}
	left("MPI_Sendrecv_replace");
	MPI_Type_free(&vec);

	/* MPI_Probe, then MPI_Mprobe and MPI_Mrecv, each message sent late. */
	for (int matched = 0; matched < 2; matched++) {
		arrive();
		if (rank == 0) {
			for (i = 1; i < size; i++) {
				int v[3] = { i, i, i };
				MPI_Send(v, 3 - matched, MPI_INT, i, 6 + matched, MPI_COMM_WORLD);
			}
		} else {
			MPI_Status st;
			MPI_Message m = MPI_MESSAGE_NULL;
			int n, v[3] = { -1, -1, -1 };
			if (matched) {
				MPI_Mprobe(0, 7, MPI_COMM_WORLD, &m, &st);
				MPI_Get_count(&st, MPI_INT, &n);
				MPI_Mrecv(v, 2, MPI_INT, &m, &st);
			} else {
				MPI_Probe(0, 6, MPI_COMM_WORLD, &st);
				MPI_Get_count(&st, MPI_INT, &n);
				MPI_Recv(v, 3, MPI_INT, 0, 6, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
			}
			CHECK(n == 3 - matched && st.MPI_TAG == 6 + matched && v[0] == rank &&
				      m == MPI_MESSAGE_NULL,
			      "%s: %d ints tag %d, %d", matched ? "mprobe" : "probe", n, st.MPI_TAG, v[0]);
			say("%s: %d ints, %d", matched ? "mprobe" : "probe", n, v[0]);
		}
		left(matched ? "MPI_Mprobe" : "MPI_Probe");
	}

	/* MPI_Wait, MPI_Waitall, MPI_Waitany, MPI_Waitsome on receives that
	 * rank 0 satisfies late. */
	const char *names[] = { "MPI_Wait", "MPI_Waitall", "MPI_Waitany", "MPI_Waitsome" };
	for (int form = 0; form < 4; form++) {
		MPI_Barrier(MPI_COMM_WORLD);
		arrive();
		if (rank == 0) {
			for (i = 1; i < size; i++) {
				int v[2] = { form * 10 + i, form * 10 + i + 1 };
				MPI_Send(&v[0], 1, MPI_INT, i, 8, MPI_COMM_WORLD);
				MPI_Send(&v[1], 1, MPI_INT, i, 9, MPI_COMM_WORLD);
			}
		} else {
			int v[2] = { -1, -1 }, idx = -1, out = 0, idxs[2];
			MPI_Request rq[2];
			MPI_Status sts[2];
			MPI_Irecv(&v[0], 1, MPI_INT, 0, 8, MPI_COMM_WORLD, &rq[0]);
			MPI_Irecv(&v[1], 1, MPI_INT, 0, 9, MPI_COMM_WORLD, &rq[1]);
			switch (form) {
			case 0:
				MPI_Wait(&rq[0], &sts[0]);
				MPI_Wait(&rq[1], &sts[1]);
				break;
			case 1:
				MPI_Waitall(2, rq, sts);
				break;
			case 2:
				MPI_Waitany(2, rq, &idx, &sts[0]);
				MPI_Waitany(2, rq, &idx, &sts[0]);
				break;
			case 3:
				while (out != MPI_UNDEFINED)
					MPI_Waitsome(2, rq, &out, idxs, sts);
				break;
			}
			CHECK(v[0] == form * 10 + rank && v[1] == v[0] + 1 && rq[0] == MPI_REQUEST_NULL &&
				      rq[1] == MPI_REQUEST_NULL,
			      "%s: %d %d", names[form], v[0], v[1]);
			say("%s: %d %d", names[form], v[0], v[1]);
		}
		left(names[form]);
	}

	/* Collectives, rank 0 late: barrier, bcast from 0, allreduce, reduce to
	 * rank 1 (it waits for rank 0's part), alltoallw, comm_dup. */
	arrive();
	MPI_Barrier(MPI_COMM_WORLD);
	left("MPI_Barrier");

	arrive();
	int b = rank == 0 ? 4242 : -1;
	MPI_Bcast(&b, 1, MPI_INT, 0, MPI_COMM_WORLD);
	CHECK(b == 4242, "bcast %d", b);
	left("MPI_Bcast");

	arrive();
	long mine = rank + 1, sum = 0;
	MPI_Allreduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
	CHECK(sum == (long)size * (size + 1) / 2, "allreduce %ld", sum);
	left("MPI_Allreduce");

	arrive();
	sum = -1;
	MPI_Reduce(&mine, &sum, 1, MPI_LONG, MPI_MAX, 1, MPI_COMM_WORLD);
	CHECK(rank != 1 || sum == size, "reduce %ld", sum);
	if (rank == 1)
		left("MPI_Reduce");
	else if (rank > 1) { /* non-roots may leave before rank 0 arrives */
		struct itimerval off = { { 0, 0 }, { 0, 0 } };
		setitimer(ITIMER_REAL, &off, NULL);
	}

	int *sc = calloc(size, sizeof(int)), *sd = calloc(size, sizeof(int));
	int *sv = malloc(size * sizeof(int)), *rv = malloc(size * sizeof(int));
	MPI_Datatype *tys = malloc(size * sizeof(MPI_Datatype));
	for (i = 0; i < size; i++) {
		sc[i] = 1, sd[i] = i * (int)sizeof(int), sv[i] = rank * 100 + i, rv[i] = -1;
		tys[i] = MPI_INT;
	}
	arrive();
	MPI_Alltoallw(sv, sc, sd, tys, rv, sc, sd, tys, MPI_COMM_WORLD);
	int ok = 1;
	for (i = 0; i < size; i++)
		ok &= rv[i] == i * 100 + rank;
	CHECK(ok, "alltoallw");
	left("MPI_Alltoallw");

	arrive();
	MPI_Comm dup;
	MPI_Comm_dup(MPI_COMM_WORLD, &dup);
	int drank;
	MPI_Comm_rank(dup, &drank);
	CHECK(drank == rank, "dup rank %d", drank);
	left("MPI_Comm_dup");
	say("collectives: bcast %d, allreduce %ld, alltoallw %s, dup rank %d", b, mine, ok ? "ok" : "BAD",
	    drank);
	MPI_Comm_free(&dup);
	free(big), free(sc), free(sd), free(sv), free(rv), free(tys);

	int total_w = 0, total_i = 0;
	MPI_Reduce(&waited, &total_w, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
	MPI_Reduce(&interrupted, &total_i, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
	if (rank == 0 && interruptions)
		printf("info waits: %d of %d blocking calls interrupted while waiting\n", total_i,
		       total_w);
	return report_end();
}
