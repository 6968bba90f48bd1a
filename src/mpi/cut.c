/* The consistent cut of a job's checkpoint: no message lost, none twice.
 *
 * Runs on the runtime's manager thread while every rank is in its
 * checkpoint (the vote, ckpt.c, has passed) and no application thread is
 * in the MPI library. Before the image (cut_before):
 *
 *   1. The ranks compare how many collectives each has started on each
 *      communicator (known to the job by the id it got when it was made,
 *      flight_new_comm) and the last each saw complete: a rank that has
 *      completed a collective another has not entered (the root of a
 *      broadcast) would leave that collective's messages in a lower half
 *      that the checkpoint throws away, so such a checkpoint is refused
 *      (the coordinator tries again a moment later, for as long as the
 *      ranks behind run forward: cut_judge). Ranks that wait in a
 *      collective another has not started are fine: the collective stays
 *      pending on a continue, and is started again in the new lower half
 *      after a restart, where nobody has started it yet.
 *   2. The ranks exchange how many messages each sent to each other
 *      (flight.c); every rank then receives, from every communicator it
 *      holds, whatever was sent to it and not yet received, until its
 *      counts match: those messages are kept in this (upper) half, so they
 *      are in the image.
 *   3. Pending requests: before the drain, every receive still posted
 *      (MPI_Irecv, a blocking receive's twin, a started persistent
 *      receive, an MPI_Isendrecv's receive: pair.c) is cancelled, so that
 *      the messages it would have matched
 *      are drained instead; one that cannot be cancelled has completed,
 *      and is counted. After the drain every other pending request (sends,
 *      an MPI_Isendrecv's send, non-blocking collectives every rank has
 *      started, MPI_Imrecv) can complete, and is completed. Only
 *      collectives some rank has not started are left in the lower half
 *      (step 1); generalized requests are the application's, left alone;
 *      a persistent collective is emulated by its non-blocking form
 *      (flight.c), and is one while it is active.
 *      Messages matched by MPI_Mprobe and not yet received are received
 *      into this half (flight_message_take delivers them).
 *   4. All ranks agree that each succeeded.
 *
 * After the image (cut_after: on continue, or after a restart once the
 * new lower half has made the communicators again), each rank hands the
 * messages it kept back to their senders, which send them again, with
 * their tags, on their communicators, before the application runs: the
 * receivers then match them as MPI would have, in order, wildcards and
 * probes included, with no change to the application's receive path.
 * Each receive taken back is posted again, in the order the application
 * posted them; each request completed by the cut gets a stand-in, a
 * generalized request already complete whose status is the one the
 * request completed with, so MPI_Wait, MPI_Test and the rest report it as
 * they would have (a persistent request's stand-in becomes the persistent
 * request again, inactive, when it is seen complete: handles.c); after a
 * restart, persistent requests and generalized requests are made again
 * in the new lower half.
 */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpi/cut.h"
#include "mpi/flight.h"
#include "mpi/upper.h"

#define GID_SELF (-1LL)

struct kept {
	int comm; /* virtual */
	int source, tag; /* in comm */
	int64_t bytes;
	void *data;
};

static struct kept *kept;
static size_t nkept, capkept;
/* what this rank sent again after the last cut (freed after the next) */
static void *resent;

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct comm_ent {
	int vcomm, real, inter;
	struct mpi_comm_cache *c;
	long long min_seq; /* the fewest collectives any rank started on it */
};

struct comm_list {
	struct comm_ent *e;
	int n;
	size_t cap;
};

static void add_comm(int vcomm, struct mpi_comm_cache *c, void *arg)
{
	struct comm_list *l = arg;
	l->e = mpi_grow(l->e, (size_t)l->n, &l->cap, sizeof(*l->e), 16, "the communicator list");
	struct comm_ent *e = &l->e[l->n++];
	memset(e, 0, sizeof(*e));
	e->vcomm = vcomm;
	e->c = c;
	e->real = h_in(MK_COMM, vcomm);
	e->inter = c->inter;
	e->min_seq = c->coll_seq;
}

static void add_usable_comm(int vcomm, struct mpi_comm_cache *c, void *arg)
{
	if (!c->idup_pending) /* (not a communicator yet) */
		add_comm(vcomm, c, arg);
}

static void list_comms(struct comm_list *l)
{
	memset(l, 0, sizeof(*l));
	add_comm(MPI_COMM_WORLD, h_comm_cache(MPI_COMM_WORLD), l);
	h_comm_each(add_usable_comm, l);
}

/* 1 above: every rank's communicators (their ids, given when they were
 * made: flight_new_comm), how many collectives it started on each and the
 * last it saw complete, to all, over cairn's own communicator: never a
 * collective on the application's, where one rank may be a collective
 * ahead. A rank may have started collectives others have not (it waits in
 * them: they stay pending, or are started again after a restart), but none
 * may have completed one another has not started: its part is over, and
 * the messages it left for the others would be lost with the lower half. */
struct seqent {
	long long gid, seq, done;
};

/* the last agreement found this rank ahead only (cut_hold) */
static int hold;

int cut_hold(void)
{
	return hold;
}

/* After a refused attempt (here, or in the vote before the cut: ckpt.c):
 * are the ranks not held running forward? A rank runs forward if it was
 * computing when the attempt came (no thread waiting in MPI) or if its
 * counts of messages, collectives and communicators moved since the last
 * refused attempt. A rank held at its gate does not count. If none runs
 * forward, the ranks behind wait for one that is held (a message it has
 * not sent yet): waiting longer will not help. */
static int64_t *last_count; /* per rank, at the last refused attempt */
static int last_n, last_valid, forward;

int cut_judge(const struct mpi_progress *all, int n)
{
	if (n != last_n) {
		free(last_count);
		last_count = calloc((size_t)n, sizeof(*last_count));
		if (!last_count)
			mpi_die("out of memory");
		last_n = n;
		last_valid = 0;
	}
	int fw = !last_valid;
	for (int r = 0; r < n; r++) {
		if (!all[r].held && (!all[r].waiting || (last_valid && all[r].count != last_count[r])))
			fw = 1;
		last_count[r] = all[r].count;
	}
	last_valid = 1;
	return fw;
}

int cut_forward(void)
{
	return forward;
}

static void judge_forward(void)
{
	struct mpi_progress mine = { hold, mpi_ckpt_waiting() > 0, (int64_t)flight_progress() };
	struct mpi_progress *all = calloc((size_t)fl_size, sizeof(*all));
	if (!all)
		mpi_die("out of memory");
	MPI_Request r;
	long t = cross_enter();
	int rc = MPI_FN(MPI_Iallgather)(&mine, (int)sizeof(mine), MPI_BYTE, all, (int)sizeof(mine),
					MPI_BYTE, fl_ctl, &r);
	cross_leave(t);
	rc = fl_ctl_wait(rc, &r);
	forward = rc == MPI_SUCCESS && cut_judge(all, fl_size);
	free(all);
}

static int agree_comms(struct comm_list *l, char *msg, size_t len)
{
	struct seqent *mine = calloc((size_t)l->n + 1, sizeof(*mine));
	int *counts = calloc((size_t)fl_size, sizeof(int)), *displs = calloc((size_t)fl_size, sizeof(int));
	if (!mine || !counts || !displs)
		mpi_die("out of memory");
	int n = 0;
	for (int i = 0; i < l->n; i++) {
		struct comm_ent *e = &l->e[i];
		long long gid = e->vcomm == MPI_COMM_WORLD ? 0 : e->c->gid;
		if (e->vcomm != MPI_COMM_WORLD && !gid)
			continue; /* made by no call cairn knows: refused elsewhere */
		mine[n].gid = gid;
		mine[n].seq = e->c->coll_seq;
		mine[n].done = e->c->coll_done;
		n++;
	}
	int mycount = n * (int)(sizeof(struct seqent) / sizeof(long long));
	MPI_Request r;
	long t = cross_enter();
	int rc = MPI_FN(MPI_Iallgather)(&mycount, 1, MPI_INT, counts, 1, MPI_INT, fl_ctl, &r);
	cross_leave(t);
	rc = fl_ctl_wait(rc, &r);
	int tot = 0;
	for (int p = 0; rc == MPI_SUCCESS && p < fl_size; p++) {
		displs[p] = tot;
		tot += counts[p];
	}
	struct seqent *all = rc == MPI_SUCCESS ? malloc(sizeof(long long) * ((size_t)tot + 2)) : NULL;
	if (rc == MPI_SUCCESS && !all)
		mpi_die("out of memory");
	if (rc == MPI_SUCCESS) {
		t = cross_enter();
		rc = MPI_FN(MPI_Iallgatherv)(mine, mycount, MPI_LONG_LONG, all, counts, displs,
					     MPI_LONG_LONG, fl_ctl, &r);
		cross_leave(t);
		rc = fl_ctl_wait(rc, &r);
	}
	free(counts);
	free(displs);
	if (rc != MPI_SUCCESS) {
		free(mine);
		free(all);
		snprintf(msg, len, "cannot compare the collectives started (MPI error %d)", rc);
		return -1;
	}
	int ok = 1, ahead = 0, behind = 0;
	size_t nall = (size_t)tot / (sizeof(struct seqent) / sizeof(long long));
	for (int i = 0; i < n; i++) {
		long long lo = mine[i].seq, hi = mine[i].done;
		for (size_t j = 0; j < nall; j++)
			if (all[j].gid == mine[i].gid) {
				lo = all[j].seq < lo ? all[j].seq : lo;
				hi = all[j].done > hi ? all[j].done : hi;
			}
		int vcomm = MPI_COMM_WORLD;
		for (int k = 0; k < l->n; k++)
			if ((l->e[k].vcomm == MPI_COMM_WORLD ? 0 : l->e[k].c->gid) == mine[i].gid) {
				vcomm = l->e[k].vcomm;
				l->e[k].min_seq = lo;
			}
		if (hi <= lo)
			continue;
		ahead |= mine[i].seq > lo;
		behind |= mine[i].seq < hi;
		if (!ok)
			continue;
		char name[MPI_MAX_OBJECT_NAME] = "";
		int nl = 0;
		t = cross_enter();
		MPI_FN(MPI_Comm_get_name)(h_in(MK_COMM, vcomm), name, &nl);
		cross_leave(t);
		snprintf(msg, len,
			 "a collective is in progress on communicator %s (a rank has completed "
			 "collective %lld on it, another has started only %lld)",
			 name[0] ? name : "(unnamed)", hi, lo);
		ok = 0;
	}
	hold = ahead && !behind;
	free(mine);
	free(all);
	return ok ? 0 : -1;
}

static void keep_msg(int comm, int source, int tag, int64_t bytes, void *data)
{
	kept = mpi_grow(kept, nkept, &capkept, sizeof(*kept), 64, "the messages in flight");
	kept[nkept++] = (struct kept){comm, source, tag, bytes, data};
}

/* 2 above. */
static int drain(struct comm_list *l, char *msg, size_t len)
{
	uint64_t *expected = calloc((size_t)fl_size, sizeof(*expected));
	if (!expected)
		mpi_die("out of memory");
	MPI_Request r;
	long t = cross_enter();
	int rc = MPI_FN(MPI_Ialltoall)(fl_sent, 1, MPI_UINT64_T, expected, 1, MPI_UINT64_T, fl_ctl, &r);
	cross_leave(t);
	rc = fl_ctl_wait(rc, &r);
	if (rc != MPI_SUCCESS) {
		free(expected);
		snprintf(msg, len, "cannot exchange the message counts (MPI error %d)", rc);
		return -1;
	}
	uint64_t last = mono_ms();
	for (;;) {
		int missing = -1;
		for (int p = 0; p < fl_size; p++)
			if (fl_recvd[p] < expected[p]) {
				missing = p;
				break;
			}
		if (missing < 0)
			break;
		int got = 0;
		for (int i = 0; i <= l->n; i++) {
			int vcomm = i < l->n ? l->e[i].vcomm : MPI_COMM_SELF;
			int real = i < l->n ? l->e[i].real : MPI_COMM_SELF;
			int flag = 0;
			MPI_Message m = MPI_MESSAGE_NULL;
			MPI_Status st;
			MPI_Count bytes = 0;
			memset(&st, 0, sizeof(st)); /* (MPICH keeps the cancelled bit) */
			t = cross_enter();
			rc = MPI_FN(MPI_Improbe)(MPI_ANY_SOURCE, MPI_ANY_TAG, real, &flag, &m, &st);
			if (rc == MPI_SUCCESS && flag)
				rc = MPI_FN(MPI_Get_elements_x)(&st, MPI_BYTE, &bytes);
			cross_leave(t);
			if (rc != MPI_SUCCESS) {
				free(expected);
				snprintf(msg, len, "cannot receive the messages in flight (MPI error %d)", rc);
				return -1;
			}
			if (!flag)
				continue;
			void *buf = malloc(bytes > 0 ? (size_t)bytes : 1);
			if (!buf)
				mpi_die("out of memory for a message in flight of %lld bytes", (long long)bytes);
			t = cross_enter();
			rc = MPI_FN(MPI_Mrecv_c)(buf, bytes, MPI_BYTE, &m, MPI_STATUS_IGNORE);
			cross_leave(t);
			if (rc != MPI_SUCCESS)
				mpi_die("cannot receive a message in flight (MPI error %d)", rc);
			keep_msg(vcomm, st.MPI_SOURCE, st.MPI_TAG, bytes, buf);
			flight_recvd(vcomm, &st);
			got = 1;
		}
		if (got) {
			last = mono_ms();
		} else if (mono_ms() - last > 60000) {
			snprintf(msg, len,
				 "%llu messages from rank %d never arrived (sent %llu, received %llu)",
				 (unsigned long long)(expected[missing] - fl_recvd[missing]), missing,
				 (unsigned long long)expected[missing], (unsigned long long)fl_recvd[missing]);
			free(expected);
			return -1;
		} else {
			struct timespec ts = {0, 20000};
			nanosleep(&ts, NULL);
		}
	}
	free(expected);
	return 0;
}

/* ---- pending requests (3 above) ---- */

struct reqent {
	int v;
	struct mpi_req_flight *f;
};

struct reqs {
	struct reqent *e;
	int n;
	size_t cap;
};

static void add_req(int vreq, int real, struct mpi_req_flight *f, void *arg)
{
	struct reqs *l = arg;
	(void)real;
	if (f->pcoll && !f->active)
		return; /* an inactive emulated persistent collective: nothing in MPICH */
	l->e = mpi_grow(l->e, (size_t)l->n, &l->cap, sizeof(*l->e), 64, "the list of requests");
	l->e[l->n++] = (struct reqent){vreq, f};
}

static int by_seq(const void *a, const void *b)
{
	unsigned long long x = ((const struct reqent *)a)->f->seq, y = ((const struct reqent *)b)->f->seq;
	return x < y ? -1 : x > y;
}

static void add_orphan(struct mpi_req_flight *f, void *arg)
{
	add_req(0, 0, f, arg);
}

/* Every live request, in the order they were posted (with the
 * MPI_Isendrecv's freed before they completed: vreq 0). */
static void list_reqs(struct reqs *l)
{
	memset(l, 0, sizeof(*l));
	h_req_each(add_req, l);
	pair_cut_orphans(add_orphan, l);
	if (l->n > 1)
		qsort(l->e, (size_t)l->n, sizeof(*l->e), by_seq);
}

static int persistent(const struct mpi_req_flight *f)
{
	return f->kind == FL_PRECV || f->kind == FL_PSEND;
}

/* What a checkpoint of a job cannot take with it (ckpt.c asks before the
 * vote): requests the cut does not know (their number, and one). */
int cut_unknown_requests(int *one)
{
	struct reqs l;
	int n = 0;

	list_reqs(&l);
	for (int i = 0; i < l.n; i++) {
		if (l.e[i].f->kind == FL_NONE) {
			if (!n && one)
				*one = l.e[i].v;
			n++;
		}
	}
	free(l.e);
	return n;
}

static void release_real(int v)
{
	MPI_Request r = h_in(MK_REQUEST, v);
	if (r == MPI_REQUEST_NULL || !r)
		return;
	long t = cross_enter();
	MPI_FN(MPI_Request_free)(&r);
	cross_leave(t);
}

/* A request the cut completed: its status, as MPI_Wait gave it. */
static void completed(struct mpi_req_flight *f, const MPI_Status *st)
{
	f->st = *st;
	f->st.MPI_ERROR = MPI_SUCCESS;
	f->cut = FLC_DONE;
}

/* Collectives this rank started that another has not: left pending on a
 * continue, started again after a restart (post_again). One that cannot
 * be started again (none of the MPI 4.0 collectives: mpigen's
 * coll_again_params) waits for another try. */
static int mark_ahead(struct reqs *rq, struct comm_list *l, char *msg, size_t len)
{
	for (int i = 0; i < rq->n; i++) {
		struct mpi_req_flight *f = rq->e[i].f;
		if (f->kind != FL_WAIT || f->comm == MPI_COMM_NULL || !f->cidx || f->cut != FLC_NONE)
			continue;
		long long lo = f->cidx;
		for (int k = 0; k < l->n; k++)
			if (l->e[k].vcomm == f->comm)
				lo = l->e[k].min_seq;
		if (f->cidx <= lo)
			continue;
		if (!f->again && !f->idup) {
			snprintf(msg, len,
				 "the rank waits in a collective (number %lld on its communicator) that "
				 "another rank has not started, of a kind cairn cannot start again "
				 "after a restart",
				 f->cidx);
			return -1;
		}
		f->cut = FLC_AHEAD;
		f->loose = 1;
	}
	return 0;
}

/* Messages matched (MPI_Mprobe) and not yet received: received now into
 * this half, as bytes; MPI_Mrecv/MPI_Imrecv deliver them from there
 * (flight_message_take). Counted when they were matched. */
static void hold_message(int v, int real, void *arg)
{
	int *failed = arg;
	struct mpi_req_flight *f = h_msg_flight(v);
	if (!f || f->cut == FLC_DONE || *failed)
		return;
	void *buf = malloc(f->count > 0 ? (size_t)f->count : 1);
	if (!buf)
		mpi_die("out of memory for a matched message of %lld bytes", (long long)f->count);
	MPI_Message m = real;
	long t = cross_enter();
	int rc = MPI_FN(MPI_Mrecv_c)(buf, f->count, MPI_BYTE, &m, MPI_STATUS_IGNORE);
	cross_leave(t);
	if (rc != MPI_SUCCESS) {
		free(buf);
		*failed = rc;
		return;
	}
	f->buf = buf;
	f->cut = FLC_DONE;
	h_mark_rebuilt(MK_MESSAGE, v);
}

/* Before the drain: take back every receive still posted; stand-ins of
 * an earlier cut are let go (made again after this one). */
static int take_back(struct reqs *l, char *msg, size_t len)
{
	for (int i = 0; i < l->n; i++) {
		struct mpi_req_flight *f = l->e[i].f;
		int v = l->e[i].v;
		if (f->cut == FLC_DONE) {
			release_real(v);
			f->loose = 1;
			continue;
		}
		if (f->kind == FL_PAIR) {
			if (pair_cut_take_back(f, msg, len) < 0)
				return -1;
			continue;
		}
		if (!(f->kind == FL_RECV || (f->kind == FL_PRECV && f->active)))
			continue;
		MPI_Request r = h_in(MK_REQUEST, v);
		MPI_Status st;
		memset(&st, 0, sizeof(st));
		long t = cross_enter();
		int rc = MPI_FN(MPI_Cancel)(&r);
		if (rc == MPI_SUCCESS)
			rc = MPI_FN(MPI_Wait)(&r, &st);
		if (rc == MPI_SUCCESS && f->kind == FL_PRECV)
			rc = MPI_FN(MPI_Request_free)(&r);
		cross_leave(t);
		if (rc != MPI_SUCCESS) {
			snprintf(msg, len, "cannot take back a posted receive (MPI error %d)", rc);
			return -1;
		}
		int cancelled = st.count_hi_and_cancelled & 1;
		f->loose = 1;
		if (cancelled && !f->cancel_asked) {
			f->cut = FLC_REPOST;
			continue;
		}
		/* it had matched a message (or the application cancelled it) */
		if (!cancelled && !f->counted) {
			flight_recvd(f->comm, &st);
			f->counted = 1;
		}
		completed(f, &st);
	}
	return 0;
}

#define COMPLETE_MS 60000

/* Complete the real request *r of f's (a send, a collective every rank has
 * started, MPI_Imrecv, an MPI_Comm_idup, an MPI_Isendrecv's send), at
 * most COMPLETE_MS after t0: its status in *st. */
static int complete_real(const struct mpi_req_flight *f, MPI_Request *r, MPI_Status *st,
			 uint64_t t0, char *msg, size_t len)
{
	memset(st, 0, sizeof(*st));
	for (;;) {
		int done = 0;
		long t = cross_enter();
		int rc = MPI_FN(MPI_Test)(r, &done, st);
		if (rc == MPI_SUCCESS && done && f->kind == FL_PSEND)
			rc = MPI_FN(MPI_Request_free)(r);
		cross_leave(t);
		if (rc != MPI_SUCCESS) {
			snprintf(msg, len, "a pending request failed during the checkpoint (MPI error %d)",
				 rc);
			return -1;
		}
		if (done)
			break;
		if (mono_ms() - t0 > COMPLETE_MS) {
			snprintf(msg, len,
				 "a pending %s did not complete within %d s once every rank was in the "
				 "checkpoint",
				 f->idup		? "MPI_Comm_idup"
				 : f->kind == FL_WAIT ? "collective or matched receive"
						      : "send",
				 COMPLETE_MS / 1000);
			return -1;
		}
		struct timespec ts = {0, 20000};
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* Complete the pending request e (complete_real). */
static int complete_one(const struct reqent *e, uint64_t t0, char *msg, size_t len)
{
	struct mpi_req_flight *f = e->f;
	MPI_Request r = h_in(MK_REQUEST, e->v);
	MPI_Status st;
	if (complete_real(f, &r, &st, t0, msg, len) < 0)
		return -1;
	f->loose = 1;
	if (f->kind == FL_WAIT)
		flight_coll_done(f->comm, f->cidx);
	struct mpi_comm_cache *c = f->idup ? h_comm_cache(f->idup) : NULL;
	if (c)
		c->idup_pending = 0;
	completed(f, &st);
	return 0;
}

/* Before the drain: MPI_Comm_idup's that every rank has started are
 * completed, so that their communicators exist, and are drained like the
 * others (a member that completed one may have sent on it already): how
 * many, or -1. */
static int complete_idups(struct reqs *l, char *msg, size_t len)
{
	uint64_t t0 = mono_ms();
	int n = 0;

	for (int i = 0; i < l->n; i++) {
		struct mpi_req_flight *f = l->e[i].f;
		if (f->kind != FL_WAIT || !f->idup || f->cut != FLC_NONE)
			continue;
		if (complete_one(&l->e[i], t0, msg, len) < 0)
			return -1;
		n++;
	}
	return n;
}

/* After the drain: complete every other pending request. */
static int complete_rest(struct reqs *l, char *msg, size_t len)
{
	uint64_t t0 = mono_ms();

	for (int i = 0; i < l->n; i++) {
		struct mpi_req_flight *f = l->e[i].f;
		if (f->cut != FLC_NONE)
			continue;
		if (f->kind == FL_PAIR) {
			MPI_Request *send = pair_cut_send(f);
			MPI_Status st;
			if (send && complete_real(f, send, &st, t0, msg, len) < 0)
				return -1;
			continue;
		}
		if (!(f->kind == FL_SEND || f->kind == FL_WAIT || (f->kind == FL_PSEND && f->active)))
			continue;
		if (complete_one(&l->e[i], t0, msg, len) < 0)
			return -1;
	}
	return 0;
}

/* The stand-in of a request the cut completed: a generalized request,
 * complete, that reports the status. MPICH calls these in the lower half
 * with its thread pointer: they touch nothing but their arguments. */
static int standin_query(void *extra, MPI_Status *st)
{
	const MPI_Status *s = extra;
	st->MPI_SOURCE = s->MPI_SOURCE;
	st->MPI_TAG = s->MPI_TAG;
	st->count_lo = s->count_lo;
	st->count_hi_and_cancelled = s->count_hi_and_cancelled;
	return s->MPI_ERROR;
}

static int standin_free(void *extra)
{
	(void)extra;
	return MPI_SUCCESS;
}

static int standin_cancel(void *extra, int complete)
{
	(void)extra;
	(void)complete;
	return MPI_SUCCESS;
}

static int standin(MPI_Status *st, int complete)
{
	MPI_Request r = MPI_REQUEST_NULL;
	long t = cross_enter();
	int rc = MPI_FN(MPI_Grequest_start)(standin_query, standin_free, standin_cancel, st, &r);
	if (rc == MPI_SUCCESS && complete)
		rc = MPI_FN(MPI_Grequest_complete)(r);
	cross_leave(t);
	if (rc != MPI_SUCCESS)
		mpi_die("cannot make the stand-in of a completed request (MPI error %d)", rc);
	return r;
}

int cut_standin(MPI_Status *st)
{
	return standin(st, 1);
}

int cut_standin_open(MPI_Status *st)
{
	return standin(st, 0);
}

typedef int persist_fn(void *, int, MPI_Datatype, int, int, MPI_Comm, MPI_Request *);
typedef int persist_fn_c(void *, MPI_Count, MPI_Datatype, int, int, MPI_Comm, MPI_Request *);

/* The persistent request f, made again in the lower half (inactive): its
 * real handle, or 0. */
static int make_persistent(struct mpi_req_flight *f)
{
	static const int big[] = {F_MPI_Recv_init_c, F_MPI_Send_init_c, F_MPI_Bsend_init_c,
				  F_MPI_Ssend_init_c, F_MPI_Rsend_init_c};
	int is_c = 0;
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++)
		is_c |= f->init == big[i];
	MPI_Request r = MPI_REQUEST_NULL;
	MPI_Datatype type = h_in(MK_DATATYPE, f->type);
	MPI_Comm comm = h_in(MK_COMM, f->comm);
	long t = cross_enter();
	int rc = is_c ? ((persist_fn_c *)mpi_fn[f->init])(f->buf, f->count, type, f->peer, f->tag,
							     comm, &r)
		      : ((persist_fn *)mpi_fn[f->init])(f->buf, (int)f->count, type, f->peer,
							 f->tag, comm, &r);
	cross_leave(t);
	return rc == MPI_SUCCESS ? r : 0;
}

int cut_persistent_again(int vreq, struct mpi_req_flight *f)
{
	(void)vreq;
	f->cut = FLC_NONE;
	f->active = 0;
	return make_persistent(f);
}

/* After the image: a real request again for every request the cut took
 * back or completed, in posting order; after a restart, every persistent
 * request made again. */
static void post_again(int restarted)
{
	struct reqs l;

	list_reqs(&l);
	for (int i = 0; i < l.n; i++) {
		struct mpi_req_flight *f = l.e[i].f;
		int v = l.e[i].v, r = 0;
		if (!f->loose && !restarted)
			continue;
		f->loose = 0;
		if (f->cut == FLC_DONE) {
			h_rebind(MK_REQUEST, v, cut_standin(&f->st));
			continue;
		}
		if (f->cut == FLC_AHEAD) {
			f->cut = FLC_NONE;
			if (!restarted)
				continue; /* still pending in the same lower half */
			MPI_Request req = MPI_REQUEST_NULL;
			int *keep[2];
			int rc = mpi_coll_again(f, &req, keep);
			if (rc != MPI_SUCCESS)
				mpi_die("cannot start a collective again after the restart (MPI error %d)", rc);
			h_rebind(MK_REQUEST, v, req);
			h_request_keep_new(v, keep);
			continue;
		}
		if (f->kind == FL_PAIR) {
			pair_cut_again(v, f, restarted);
			continue;
		}
		if (f->kind == FL_GREQ) {
			if (!restarted)
				continue; /* the same lower half's request */
			MPI_Request req = MPI_REQUEST_NULL;
			long t = cross_enter();
			int rc = mpi_grequest_again(f, &req);
			cross_leave(t);
			if (rc != MPI_SUCCESS)
				mpi_die("cannot make a generalized request again after the restart (MPI "
					"error %d)", rc);
			h_rebind(MK_REQUEST, v, req);
			continue;
		}
		if (f->cut == FLC_REPOST && f->kind == FL_RECV) {
			MPI_Request req = MPI_REQUEST_NULL;
			long t = cross_enter();
			int rc = MPI_FN(MPI_Irecv_c)(f->buf, f->count, h_in(MK_DATATYPE, f->type),
						     f->peer, f->tag, h_in(MK_COMM, f->comm), &req);
			cross_leave(t);
			if (rc != MPI_SUCCESS)
				mpi_die("cannot post a receive again after the checkpoint (MPI error %d)",
					rc);
			h_rebind(MK_REQUEST, v, req);
			f->cut = FLC_NONE;
			f->counted = 0;
			continue;
		}
		if (!persistent(f))
			continue;
		r = make_persistent(f);
		if (!r)
			mpi_die("cannot make a persistent request again after the checkpoint");
		if (f->cut == FLC_REPOST) {
			MPI_Request req = r;
			long t = cross_enter();
			int rc = MPI_FN(MPI_Start)(&req);
			cross_leave(t);
			if (rc != MPI_SUCCESS)
				mpi_die("cannot start a persistent receive again (MPI error %d)", rc);
			f->counted = 0;
		}
		f->cut = FLC_NONE;
		h_rebind(MK_REQUEST, v, r);
	}
	free(l.e);
}

static int all_ok(int ok)
{
	int all = 0;
	MPI_Request r;
	long t = cross_enter();
	int rc = MPI_FN(MPI_Iallreduce)(&ok, &all, 1, MPI_INT, MPI_MIN, fl_ctl, &r);
	cross_leave(t);
	rc = fl_ctl_wait(rc, &r);
	return rc == MPI_SUCCESS && all;
}

/* The lower half cut_before ran in: cut_after knows from it whether this
 * is a restart. */
static int cut_generation;

int cut_before(char *msg, size_t len)
{
	struct comm_list l;
	struct reqs rq;

	if (!mpi_state_initialized() || mpi_state_finalized() || !fl_sent)
		return 0;
	cut_generation = mpi_lower_generation;
	hold = 0;
	free(resent); /* the last cut's: all received by now (the counts say so) */
	resent = NULL;
	list_comms(&l);
	list_reqs(&rq);
	char why[512] = "";
	int ok = agree_comms(&l, why, sizeof(why)) == 0 && mark_ahead(&rq, &l, why, sizeof(why)) == 0;
	if (!all_ok(ok)) {
		snprintf(msg, len, "%s", why[0] ? why : "another rank is inside a collective");
		judge_forward();
		free(rq.e);
		free(l.e);
		return CUT_AGAIN;
	}
	last_valid = 0; /* the next refusal starts a new judgement */
	int held = 0;
	h_each(MK_MESSAGE, hold_message, &held);
	if (held)
		snprintf(why, sizeof(why), "cannot receive a matched message (MPI error %d)", held);
	int idups = 0;
	ok = !held && take_back(&rq, why, sizeof(why)) == 0 &&
	     (idups = complete_idups(&rq, why, sizeof(why))) >= 0;
	if (ok && idups > 0) { /* their communicators are drained too */
		free(l.e);
		list_comms(&l);
	}
	ok = ok && drain(&l, why, sizeof(why)) == 0 && complete_rest(&rq, why, sizeof(why)) == 0;
	free(rq.e);
	free(l.e);
	if (!all_ok(ok)) {
		snprintf(msg, len, "%s", why[0] ? why : "another rank could not complete its part of the cut");
		return -1;
	}
	return 0;
}

size_t cut_kept(void)
{
	return nkept;
}

/* comm's virtual handle from its id, or MPI_COMM_NULL. */
struct find_gid {
	long long gid;
	int vcomm;
};

static void match_gid(int vcomm, struct mpi_comm_cache *c, void *arg)
{
	struct find_gid *f = arg;
	if (c->gid == f->gid && f->vcomm == MPI_COMM_NULL)
		f->vcomm = vcomm;
}

static int comm_of_gid(long long gid)
{
	struct find_gid f = {gid, MPI_COMM_NULL};
	if (gid == 0)
		return MPI_COMM_WORLD;
	if (gid == GID_SELF)
		return MPI_COMM_SELF;
	h_comm_each(match_gid, &f);
	return f.vcomm;
}

struct hdr {
	long long gid;
	int32_t dest, tag;
	int64_t bytes;
};

int cut_after(char *msg, size_t len)
{
	if (!mpi_state_initialized() || mpi_state_finalized() || !fl_sent)
		return 0;
	MPI_Count *scount = calloc((size_t)fl_size, sizeof(MPI_Count));
	MPI_Count *rcount = calloc((size_t)fl_size, sizeof(MPI_Count));
	MPI_Aint *sdispl = calloc((size_t)fl_size, sizeof(MPI_Aint));
	MPI_Aint *rdispl = calloc((size_t)fl_size, sizeof(MPI_Aint));
	int *owner = calloc(nkept + 1, sizeof(int));
	if (!scount || !rcount || !sdispl || !rdispl || !owner)
		mpi_die("out of memory");
	/* what goes back to each sender: a header and the bytes, per message */
	for (size_t i = 0; i < nkept; i++) {
		owner[i] = flight_world_rank(kept[i].comm, kept[i].source);
		if (owner[i] < 0)
			mpi_die("a message in flight came from an unknown rank");
		scount[owner[i]] += (MPI_Count)(sizeof(struct hdr) + (size_t)kept[i].bytes);
	}
	MPI_Aint stot = 0, rtot = 0;
	for (int p = 0; p < fl_size; p++) {
		sdispl[p] = stot;
		stot += (MPI_Aint)scount[p];
	}
	char *sbuf = malloc((size_t)stot + 1);
	MPI_Aint *fill = calloc((size_t)fl_size, sizeof(MPI_Aint));
	if (!sbuf || !fill)
		mpi_die("out of memory for %lld bytes of messages in flight", (long long)stot);
	for (size_t i = 0; i < nkept; i++) {
		int p = owner[i], me = -1;
		mpi_impl_Comm_rank(kept[i].comm, &me);
		struct mpi_comm_cache *c = h_comm_cache(kept[i].comm);
		struct hdr h = {kept[i].comm == MPI_COMM_SELF ? GID_SELF : c ? c->gid : 0, me,
				kept[i].tag, kept[i].bytes};
		char *at = sbuf + sdispl[p] + fill[p];
		memcpy(at, &h, sizeof(h));
		memcpy(at + sizeof(h), kept[i].data, (size_t)kept[i].bytes);
		fill[p] += (MPI_Aint)(sizeof(h) + (size_t)kept[i].bytes);
		free(kept[i].data);
	}
	free(fill);
	nkept = 0;
	MPI_Request cr;
	long t = cross_enter();
	int rc = MPI_FN(MPI_Ialltoall)(scount, 1, MPI_COUNT, rcount, 1, MPI_COUNT, fl_ctl, &cr);
	cross_leave(t);
	rc = fl_ctl_wait(rc, &cr);
	if (rc != MPI_SUCCESS)
		mpi_die("cannot hand the messages in flight back (MPI error %d)", rc);
	for (int p = 0; p < fl_size; p++) {
		rdispl[p] = rtot;
		rtot += (MPI_Aint)rcount[p];
	}
	char *rbuf = malloc((size_t)rtot + 1);
	if (!rbuf)
		mpi_die("out of memory for %lld bytes of messages to send again", (long long)rtot);
	t = cross_enter();
	rc = MPI_FN(MPI_Ialltoallv_c)(sbuf, scount, sdispl, MPI_BYTE, rbuf, rcount, rdispl, MPI_BYTE,
				       fl_ctl, &cr);
	cross_leave(t);
	rc = fl_ctl_wait(rc, &cr);
	if (rc != MPI_SUCCESS)
		mpi_die("cannot hand the messages in flight back (MPI error %d)", rc);
	free(sbuf);
	/* send each again, as it was sent: per receiver, in order */
	for (MPI_Aint off = 0; off < rtot;) {
		struct hdr h;
		memcpy(&h, rbuf + off, sizeof(h));
		char *data = rbuf + off + sizeof(h);
		off += (MPI_Aint)(sizeof(h) + (size_t)h.bytes);
		int vcomm = comm_of_gid(h.gid);
		if (vcomm == MPI_COMM_NULL) {
			snprintf(msg, len, "a message in flight was sent on a communicator this rank no "
					   "longer has");
			continue;
		}
		MPI_Request r = MPI_REQUEST_NULL;
		flight_sent(vcomm, h.dest, 1);
		t = cross_enter();
		rc = MPI_FN(MPI_Isend_c)(data, (MPI_Count)h.bytes, MPI_BYTE, h.dest, h.tag,
					 h_in(MK_COMM, vcomm), &r);
		if (rc == MPI_SUCCESS)
			MPI_FN(MPI_Request_free)(&r);
		cross_leave(t);
		if (rc != MPI_SUCCESS)
			mpi_die("cannot send a message in flight again (MPI error %d)", rc);
	}
	resent = rbuf;
	post_again(mpi_lower_generation != cut_generation);
	free(scount);
	free(rcount);
	free(sdispl);
	free(rdispl);
	free(owner);
	return 0;
}
