/* Messages in flight: what the checkpoint of a job needs for a consistent
 * cut (ckpt.c).
 *
 * Every rank counts the point-to-point messages it has sent to, and
 * received from, each rank of MPI_COMM_WORLD (a message is sent when its
 * send is posted, received when a receive completes with it, or when
 * MPI_Mprobe takes it), and the collectives it has started on each
 * communicator. The generated wrappers call the hooks below (`p2p` in the
 * api's overrides): sends count before the call (undone if it fails),
 * receives after it, from the status (the application's, or one of ours
 * when it passed MPI_STATUS_IGNORE). Requests remember what they are
 * (struct mpi_req_flight): a receive's completion counts once, whichever
 * call observes it; a persistent send counts at each start. Receives and
 * persistent requests also remember what was posted, so that the cut
 * (cut.c) can take a receive back and post it again, or make a persistent
 * request again in a new lower half.
 *
 * Communicators are known to the whole job by an id agreed at the first
 * checkpoint that sees them (ckpt.c), kept in their cache.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpi/cut.h"
#include "mpi/flight.h"
#include "mpi/upper.h"

uint64_t *fl_sent, *fl_recvd;
int fl_size = -1, fl_rank = -1;
MPI_Comm fl_ctl = MPI_COMM_NULL; /* the lower half's: a private dup of MPI_COMM_WORLD */
static MPI_Comm fl_self = MPI_COMM_NULL; /* and of MPI_COMM_SELF: held messages' delivery */

static int lower_world_size(int *size, int *rank)
{
	long t = cross_enter();
	int rc = MPI_FN(MPI_Comm_size)(MPI_COMM_WORLD, size);
	if (rc == MPI_SUCCESS)
		rc = MPI_FN(MPI_Comm_rank)(MPI_COMM_WORLD, rank);
	cross_leave(t);
	return rc;
}

/* MPICH's blocking calls spin until they complete; where ranks outnumber
 * cores, a rank spinning for a peer that shares its core keeps that peer
 * from running, and each of the protocol's collectives cost 5-20 ms (4
 * ranks on 2 CPUs). So the protocol starts them non-blocking and tests,
 * sleeping between tests once the first ones failed. */
int fl_ctl_wait(int rc, MPI_Request *req)
{
	for (unsigned i = 0; rc == MPI_SUCCESS; i++) {
		int done = 0;
		long t = cross_enter();
		rc = MPI_FN(MPI_Test)(req, &done, MPI_STATUS_IGNORE);
		cross_leave(t);
		if (done)
			break;
		if (i >= 32) {
			struct timespec ts = {0, 50000};
			nanosleep(&ts, NULL);
		}
	}
	return rc;
}

/* After MPI_Init (local.c) or a restart's MPI_Init_thread (ckpt.c). */
void flight_init(void)
{
	int size, rank;

	if (lower_world_size(&size, &rank) != MPI_SUCCESS)
		mpi_die("cannot learn MPI_COMM_WORLD's size");
	if (!fl_sent) {
		fl_sent = calloc((size_t)size, sizeof(*fl_sent));
		fl_recvd = calloc((size_t)size, sizeof(*fl_recvd));
		if (!fl_sent || !fl_recvd)
			mpi_die("out of memory for the message counts (%d ranks)", size);
		fl_size = size;
		fl_rank = rank;
	} else if (size != fl_size || rank != fl_rank) {
		mpi_die("restarted as rank %d of %d; the image is of rank %d of %d", rank, size,
			fl_rank, fl_size);
	}
	MPI_Comm ctl = MPI_COMM_NULL, self = MPI_COMM_NULL;
	long t = cross_enter();
	int rc = MPI_FN(MPI_Comm_dup)(MPI_COMM_WORLD, &ctl);
	if (rc == MPI_SUCCESS)
		rc = MPI_FN(MPI_Comm_dup)(MPI_COMM_SELF, &self);
	if (rc == MPI_SUCCESS) /* a truncated delivery is the application's error */
		rc = MPI_FN(MPI_Comm_set_errhandler)(self, MPI_ERRORS_RETURN);
	cross_leave(t);
	if (rc != MPI_SUCCESS)
		mpi_die("cannot make cairn's own communicators");
	fl_ctl = ctl;
	fl_self = self;
}

void flight_message(MPI_Message vmsg, MPI_Comm comm, const MPI_Status *st)
{
	struct mpi_req_flight *f = h_msg_flight(vmsg);
	MPI_Count bytes = 0;
	if (!f)
		return;
	long t = cross_enter();
	MPI_FN(MPI_Get_elements_c)(st, MPI_BYTE, &bytes);
	cross_leave(t);
	memset(f, 0, sizeof(*f));
	f->comm = comm;
	f->peer = st->MPI_SOURCE;
	f->tag = st->MPI_TAG;
	f->count = bytes;
}

int flight_message_take(void *buf, MPI_Count count, MPI_Datatype type, MPI_Message *message,
			MPI_Status *status, MPI_Request *request, int *rc)
{
	struct mpi_req_flight *f = h_msg_flight(*message);
	if (!f || f->cut != FLC_DONE)
		return 0;
	/* the bytes to this rank over cairn's own self-communicator: MPICH
	 * lays them out in the application's datatype, truncation included */
	MPI_Status st;
	memset(&st, 0, sizeof(st));
	long t = cross_enter();
	*rc = MPI_FN(MPI_Sendrecv_c)(f->buf, f->count, MPI_BYTE, 0, 0, buf, count,
				     h_in(MK_DATATYPE, type), 0, 0, fl_self, &st);
	cross_leave(t);
	st.MPI_SOURCE = f->peer;
	st.MPI_TAG = f->tag;
	st.MPI_ERROR = *rc;
	free(f->buf);
	f->buf = NULL;
	*message = h_update(MK_MESSAGE, *message, h_in(MK_MESSAGE, *message), MPI_MESSAGE_NULL);
	if (!request) {
		if (status != MPI_STATUS_IGNORE)
			*status = st;
		return 1;
	}
	/* MPI_Imrecv: a request complete already, reporting that status */
	MPI_Status *keep = malloc(sizeof(*keep));
	if (!keep)
		mpi_die("out of memory");
	*keep = st;
	*request = h_out(MK_REQUEST, cut_standin(keep));
	h_request_keep(*request, (int *)keep);
	struct mpi_req_flight *r = h_req_flight(*request);
	if (r) {
		r->kind = FL_WAIT;
		r->comm = MPI_COMM_NULL;
		r->st = st;
		r->cut = FLC_DONE;
	}
	return 1;
}

/* The world ranks of comm's (remote) group, made once. */
static int *world_map(MPI_Comm comm, struct mpi_comm_cache *c)
{
	int *w = atomic_load_explicit(&c->world, memory_order_acquire);
	if (w)
		return w;
	int real = h_in(MK_COMM, comm), inter = 0, n = 0;
	MPI_Group g = MPI_GROUP_NULL, wg = MPI_GROUP_NULL;
	long t = cross_enter();
	int rc = MPI_FN(MPI_Comm_test_inter)(real, &inter);
	if (rc == MPI_SUCCESS)
		rc = inter ? MPI_FN(MPI_Comm_remote_group)(real, &g) : MPI_FN(MPI_Comm_group)(real, &g);
	if (rc == MPI_SUCCESS)
		rc = MPI_FN(MPI_Group_size)(g, &n);
	if (rc == MPI_SUCCESS)
		rc = MPI_FN(MPI_Comm_group)(MPI_COMM_WORLD, &wg);
	cross_leave(t);
	w = rc == MPI_SUCCESS ? malloc(sizeof(int) * ((size_t)n + 1)) : NULL;
	int *ranks = w ? malloc(sizeof(int) * ((size_t)n + 1)) : NULL;
	if (w && ranks) {
		for (int i = 0; i < n; i++)
			ranks[i] = i;
		t = cross_enter();
		rc = MPI_FN(MPI_Group_translate_ranks)(g, n, ranks, wg, w);
		cross_leave(t);
	}
	free(ranks);
	t = cross_enter();
	if (g != MPI_GROUP_NULL)
		MPI_FN(MPI_Group_free)(&g);
	if (wg != MPI_GROUP_NULL)
		MPI_FN(MPI_Group_free)(&wg);
	cross_leave(t);
	if (!w || rc != MPI_SUCCESS)
		mpi_die("cannot learn the members of a communicator");
	w[n] = -1;
	int *expected = NULL;
	if (!atomic_compare_exchange_strong(&c->world, &expected, w)) {
		free(w);
		return expected;
	}
	return w;
}

int flight_world_rank(MPI_Comm comm, int rank)
{
	if (rank < 0)
		return -1; /* MPI_PROC_NULL, MPI_ANY_SOURCE */
	if (comm == MPI_COMM_WORLD)
		return rank < fl_size ? rank : -1;
	if (comm == MPI_COMM_SELF)
		return fl_rank;
	struct mpi_comm_cache *c = h_comm_cache(comm);
	if (!c)
		return -1;
	int *w = world_map(comm, c);
	int n = 0;
	while (w[n] >= 0 && n <= rank)
		n++;
	return rank < n ? w[rank] : -1;
}

void flight_sent(MPI_Comm comm, int dest, int delta)
{
	if (!fl_sent)
		return;
	int w = flight_world_rank(comm, dest);
	if (w >= 0)
		__atomic_add_fetch(&fl_sent[w], (uint64_t)(int64_t)delta, __ATOMIC_RELAXED);
}

void flight_recvd(MPI_Comm comm, const MPI_Status *st)
{
	if (!fl_recvd || !st)
		return;
	if (st->MPI_SOURCE < 0)
		return; /* MPI_PROC_NULL */
	if (st->count_hi_and_cancelled & 1)
		return; /* cancelled (MPICH's status: MPI_Test_cancelled without crossing) */
	int w = flight_world_rank(comm, st->MPI_SOURCE);
	if (w >= 0)
		__atomic_add_fetch(&fl_recvd[w], 1, __ATOMIC_RELAXED);
}

static uint64_t fl_events; /* collectives started, communicators made */

uint64_t flight_progress(void)
{
	uint64_t n = __atomic_load_n(&fl_events, __ATOMIC_RELAXED);
	for (int p = 0; fl_sent && p < fl_size; p++)
		n += fl_sent[p] + fl_recvd[p];
	return n;
}

long long flight_coll(MPI_Comm comm)
{
	struct mpi_comm_cache *c = h_comm_cache(comm);
	__atomic_add_fetch(&fl_events, 1, __ATOMIC_RELAXED);
	return c ? __atomic_add_fetch(&c->coll_seq, 1, __ATOMIC_RELAXED) : 0;
}

void flight_coll_done(MPI_Comm comm, long long cidx)
{
	struct mpi_comm_cache *c = h_comm_cache(comm);
	if (!c || cidx <= 0)
		return;
	long long was = __atomic_load_n(&c->coll_done, __ATOMIC_RELAXED);
	while (was < cidx &&
	       !__atomic_compare_exchange_n(&c->coll_done, &was, cidx, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

static unsigned long long post_seq; /* the order requests were posted in */

static void mark(struct mpi_req_flight *f, int kind, MPI_Comm comm, int peer)
{
	f->kind = kind;
	f->comm = comm;
	f->peer = peer;
	f->counted = 0;
	f->active = kind != FL_PRECV && kind != FL_PSEND;
	f->cancel_asked = 0;
	f->cut = FLC_NONE;
	f->seq = __atomic_add_fetch(&post_seq, 1, __ATOMIC_RELAXED);
}

void flight_mark(MPI_Request vreq, int kind, MPI_Comm comm, int peer)
{
	struct mpi_req_flight *f = h_req_flight(vreq);
	if (f)
		mark(f, kind, comm, peer);
}

void flight_mark_post(MPI_Request vreq, int kind, int init, MPI_Comm comm, int peer, void *buf,
		      MPI_Count count, MPI_Datatype type, int tag)
{
	struct mpi_req_flight *f = h_req_flight(vreq);
	if (!f)
		return;
	mark(f, kind, comm, peer);
	f->init = init;
	f->buf = buf;
	f->count = count;
	f->type = type;
	f->tag = tag;
	f->type_held = h_hold(MK_DATATYPE, type);
}

void flight_hold(MPI_Request vreq, int kind, int v)
{
	struct mpi_req_flight *f = h_req_flight(vreq);
	if (!f || !h_hold(kind, v))
		return;
	int *h = realloc(f->holds, sizeof(int) * 2 * ((size_t)f->nholds + 1));
	if (!h)
		mpi_die("out of memory for a request's handles");
	h[2 * f->nholds] = kind;
	h[2 * f->nholds + 1] = v;
	f->holds = h;
	f->nholds++;
}

void flight_hold_array(MPI_Request vreq, int kind, const int *v, int n)
{
	for (int i = 0; v && i < n; i++)
		flight_hold(vreq, kind, v[i]);
}

/* A handle's last hold went after the application freed it: freed now,
 * as the application asked (logged then). */
static void free_held(int kind, int v)
{
	if (kind == MK_OP)
		PMPI_Op_free(&v);
	else
		PMPI_Type_free(&v);
}

void flight_unhold(struct mpi_req_flight *f)
{
	if (f->type_held && h_unhold(MK_DATATYPE, f->type))
		free_held(MK_DATATYPE, f->type);
	f->type_held = 0;
	for (int i = 0; i < f->nholds; i++)
		if (h_unhold(f->holds[2 * i], f->holds[2 * i + 1]))
			free_held(f->holds[2 * i], f->holds[2 * i + 1]);
	free(f->holds);
	f->holds = NULL;
	f->nholds = 0;
}

void flight_adopt(MPI_Request vreq, const struct mpi_req_flight *what)
{
	struct mpi_req_flight *f = h_req_flight(vreq);
	if (!f || !what)
		return;
	*f = *what; /* (a new handle: the rest of *f was zero, h_out) */
	mark(f, what->kind, what->comm, what->peer);
}

void flight_mark_coll(MPI_Request vreq, MPI_Comm comm, long long cidx, int again, const long *args,
		      int nargs)
{
	struct mpi_req_flight *f = h_req_flight(vreq);
	if (!f)
		return;
	mark(f, FL_WAIT, comm, 0);
	f->cidx = cidx;
	f->again = nargs <= MPI_COLL_ARGS ? again : 0;
	for (int i = 0; i < nargs && i < MPI_COLL_ARGS; i++)
		f->args[i] = args[i];
}

int flight_error(MPI_Comm comm, int code)
{
	int real = h_in(MK_COMM, comm);
	long t = cross_enter();
	MPI_FN(MPI_Comm_call_errhandler)(real ? real : MPI_COMM_WORLD, code);
	cross_leave(t);
	return code;
}

int flight_pcoll_init(MPI_Request *request, MPI_Comm comm, int again, const long *args, int nargs)
{
	if (!h_in(MK_COMM, comm) || comm == MPI_COMM_NULL)
		return flight_error(MPI_COMM_NULL, MPI_ERR_COMM);
	if (!request)
		return flight_error(comm, MPI_ERR_ARG);
	int v = h_out_inactive();
	struct mpi_req_flight *f = h_req_flight(v);
	mark(f, FL_WAIT, comm, 0);
	f->pcoll = 1;
	f->active = 0;
	f->again = again;
	for (int i = 0; i < nargs && i < MPI_COLL_ARGS; i++)
		f->args[i] = args[i];
	*request = v;
	return MPI_SUCCESS;
}

int flight_pcoll_start(MPI_Request *request, int *rc)
{
	struct mpi_req_flight *f = request ? h_req_flight(*request) : NULL;
	if (!f || !f->pcoll)
		return 0;
	if (f->active) {
		*rc = flight_error(f->comm, MPI_ERR_REQUEST); /* started twice */
		return 1;
	}
	/* as the generated non-blocking collectives: counted, started, marked */
	long long cidx = flight_coll(f->comm);
	MPI_Request real = MPI_REQUEST_NULL;
	int *keep[2];
	*rc = mpi_coll_again(f, &real, keep);
	if (*rc != MPI_SUCCESS) {
		free(keep[0]);
		free(keep[1]);
		return 1;
	}
	h_set_real(MK_REQUEST, *request, real);
	h_request_keep_new(*request, keep);
	f->cidx = cidx;
	f->counted = 0;
	f->cancel_asked = 0;
	f->cut = FLC_NONE;
	f->loose = 0;
	f->seq = __atomic_add_fetch(&post_seq, 1, __ATOMIC_RELAXED);
	f->active = 1;
	return 1;
}

int flight_pcoll_startall(int count, MPI_Request *requests, int *rc)
{
	int any = 0;
	for (int i = 0; requests && i < count && !any; i++) {
		struct mpi_req_flight *f = h_req_flight(requests[i]);
		any = f && f->pcoll;
	}
	if (!any)
		return 0;
	/* one at a time, in order, each as MPI_Start */
	*rc = MPI_SUCCESS;
	for (int i = 0; i < count && *rc == MPI_SUCCESS; i++)
		if (!flight_pcoll_start(&requests[i], rc))
			*rc = MPI_Start(&requests[i]);
	return 1;
}

int flight_request_free(MPI_Request *request, int *rc)
{
	struct mpi_req_flight *f = request ? h_req_flight(*request) : NULL;
	if (f && f->pair) {
		flight_pair_free(request);
		*rc = MPI_SUCCESS;
		return 1;
	}
	if (!f || !f->pcoll)
		return 0;
	if (f->active) {
		/* erroneous (MPI 4.0, 6.12.2): the collective goes on */
		*rc = flight_error(f->comm, MPI_ERR_REQUEST);
		return 1;
	}
	h_release(MK_REQUEST, *request);
	*request = MPI_REQUEST_NULL;
	*rc = MPI_SUCCESS;
	return 1;
}

void flight_cancel(MPI_Request vreq)
{
	struct mpi_req_flight *f = h_req_flight(vreq);
	if (!f)
		return;
	f->cancel_asked = 1;
	if (f->pair)
		flight_pair_cancel(f);
}

void flight_freed(MPI_Request vreq)
{
	struct mpi_req_flight *f = h_req_flight(vreq);
	if (f)
		f->cut = FLC_NONE; /* a stand-in the application frees: gone for good */
}

void flight_start(MPI_Request vreq)
{
	struct mpi_req_flight *f = h_req_flight(vreq);
	if (!f)
		return;
	if (f->kind == FL_PSEND)
		flight_sent(f->comm, f->peer, 1);
	f->counted = 0;
	f->cancel_asked = 0;
	if (f->kind == FL_PRECV || f->kind == FL_PSEND) {
		f->active = 1;
		f->seq = __atomic_add_fetch(&post_seq, 1, __ATOMIC_RELAXED);
	}
}

void flight_done(MPI_Request vreq, const MPI_Status *st)
{
	struct mpi_req_flight *f = h_req_flight(vreq);
	if (!f)
		return;
	if (f->kind == FL_PRECV || f->kind == FL_PSEND || f->pcoll)
		f->active = 0;
	if (f->kind == FL_WAIT && f->cidx)
		flight_coll_done(f->comm, f->cidx);
	if (f->idup) {
		struct mpi_comm_cache *c = h_comm_cache(f->idup);
		if (c)
			c->idup_pending = 0;
		f->idup = 0;
	}
	if ((f->kind != FL_RECV && f->kind != FL_PRECV) || f->counted)
		return;
	f->counted = 1;
	flight_recvd(f->comm, st);
}

MPI_Status *flight_statuses(MPI_Status *app, int n, MPI_Status *stack, int nstack)
{
	if (app != MPI_STATUSES_IGNORE)
		return app;
	if (n <= nstack)
		return stack;
	MPI_Status *s = malloc(sizeof(*s) * (size_t)(n > 0 ? n : 1));
	if (!s)
		mpi_die("out of memory for %d statuses", n);
	return s;
}

void flight_statuses_done(MPI_Status *used, MPI_Status *app, MPI_Status *stack)
{
	if (used != app && used != stack)
		free(used);
}

void flight_idup(MPI_Request vreq, MPI_Comm comm, MPI_Comm newcomm, long long cidx)
{
	struct mpi_req_flight *f = h_req_flight(vreq);
	struct mpi_comm_cache *c = h_comm_cache(newcomm), *pc = h_comm_cache(comm);
	if (!f || !c)
		return;
	mark(f, FL_WAIT, comm, 0);
	f->cidx = cidx;
	f->idup = newcomm;
	/* every member numbers this collective on comm alike: no agreement
	 * needed (and none possible on newcomm before it is complete). Ids
	 * flight_new_comm agrees on are below 2^52; these have bit 62 set. */
	long long parent = comm == MPI_COMM_WORLD ? 0 : comm == MPI_COMM_SELF ? -1 : pc ? pc->gid : 0;
	uint64_t h = (uint64_t)parent * 0x9e3779b97f4a7c15ULL ^ (uint64_t)cidx * 0xc2b2ae3d27d4eb4fULL;
	h ^= h >> 29;
	c->gid = (long long)((1ULL << 62) | (h & ((1ULL << 62) - 1)));
	c->inter = mpi_comm_is_inter(comm);
	c->idup_pending = 1;
	__atomic_add_fetch(&fl_events, 1, __ATOMIC_RELAXED);
}

/* A communicator was just made (every member is in the call that made
 * it, before any collective on it): its id for the whole job, the least of
 * the members' proposals. An intercommunicator's groups each learn the
 * other's least, then their own. */
void flight_new_comm(MPI_Comm comm)
{
	static long long serial;
	struct mpi_comm_cache *c = h_comm_cache(comm);

	if (!c || comm == MPI_COMM_NULL || !fl_sent || c->gid)
		return;
	__atomic_add_fetch(&fl_events, 1, __ATOMIC_RELAXED);
	long long prop = ((long long)(fl_rank + 1) << 32) | (++serial & 0xffffffffLL), r1 = 0, r2 = 0;
	int real = h_in(MK_COMM, comm), inter = 0;
	long t = cross_enter();
	int rc = MPI_FN(MPI_Comm_test_inter)(real, &inter);
	if (rc == MPI_SUCCESS)
		rc = MPI_FN(MPI_Allreduce)(&prop, &r1, 1, MPI_LONG_LONG, MPI_MIN, real);
	if (rc == MPI_SUCCESS && inter)
		rc = MPI_FN(MPI_Allreduce)(&r1, &r2, 1, MPI_LONG_LONG, MPI_MIN, real);
	cross_leave(t);
	if (rc != MPI_SUCCESS)
		mpi_die("cannot agree on a new communicator's id (MPI error %d)", rc);
	c->inter = inter;
	c->gid = inter && r2 < r1 ? r2 : r1;
}
