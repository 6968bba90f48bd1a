/* MPI_Isendrecv and MPI_Isendrecv_replace: one request of the
 * application's for a receive and a send.
 *
 * MPICH's own (4.0.2) fill the status wrongly and crash on derived
 * datatypes, and their request is one the cut could neither take back nor
 * make again. So cairn posts the receive and the send itself, as two
 * requests of the lower half (the parts), and gives the application a
 * generalized request of its own (a stand-in, cut.c) that it completes,
 * with the receive's status, once both parts are complete. Nothing in
 * MPICH completes it: every call that completes requests (MPI_Test*,
 * MPI_Wait*, MPI_Request_get_status) first tests the open pairs here
 * (flight_pairs_progress), and a wait that could block while a pair is
 * open polls (flight_pairs_word) rather than waiting in the lower half.
 *
 * For the cut, the application's request is a receive (its record is
 * FL_PAIR, with the receive's description): a checkpoint takes the
 * receive part back and posts it again after the image, completes the
 * send part after the drain, and after a restart makes the generalized
 * request again (cut.c, pair_cut_*). A pair the application freed before
 * it completed (MPI_Request_free) lives on here, with a copy of its
 * record, until its parts complete.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/cut.h"
#include "mpi/flight.h"
#include "mpi/upper.h"

struct fl_pair {
	MPI_Request part[2]; /* real: the receive, the send (MPI_REQUEST_NULL once complete) */
	MPI_Status st; /* the receive's status, once complete: what the request reports */
	void *tmp; /* _replace: the packed copy sent */
	MPI_Request greq; /* real: the stand-in */
	int vreq; /* the application's request; 0 once it freed it */
	int recv_done; /* st is the receive's */
	int repost; /* the cut took the receive back: posted again after the image */
	int done; /* both parts complete: the stand-in was completed */
	struct mpi_req_flight fl; /* the record, once the application freed its request */
};

static pthread_mutex_t pairs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fl_pair **pairs;
static size_t npairs, cappairs;
volatile int fl_pairs_open; /* pairs not done */
const volatile int fl_pairs_poll = 1;

/* p's record: the application's request's, or the copy kept once it was
 * freed */
static struct mpi_req_flight *record(struct fl_pair *p)
{
	return p->vreq ? h_req_flight(p->vreq) : &p->fl;
}

static void drop(size_t i)
{
	flight_unhold(&pairs[i]->fl); /* a freed one's (the record's, until then) */
	free(pairs[i]);
	pairs[i] = pairs[--npairs];
}

/* Both parts of p are complete (or failed: rc): count the receive, report
 * its status through the stand-in. */
static void finish(struct fl_pair *p, const MPI_Status *recv_st, int rc)
{
	if (!p->recv_done) {
		p->st = *recv_st;
		p->recv_done = 1;
		flight_recvd(record(p)->comm, &p->st);
	}
	p->st.MPI_ERROR = rc;
	free(p->tmp);
	p->tmp = NULL;
	p->done = 1;
	__atomic_sub_fetch(&fl_pairs_open, 1, __ATOMIC_RELAXED);
	long t = cross_enter();
	rc = MPI_FN(MPI_Grequest_complete)(p->greq);
	if (rc == MPI_SUCCESS && !p->vreq) /* freed by the application: by us now */
		rc = MPI_FN(MPI_Wait)(&p->greq, MPI_STATUS_IGNORE);
	cross_leave(t);
	if (rc != MPI_SUCCESS)
		mpi_die("cannot complete an MPI_Isendrecv's request (MPI error %d)", rc);
}

static void test_pair(struct fl_pair *p)
{
	MPI_Status st[2];
	int flag = 0;
	memset(st, 0, sizeof(st));
	long t = cross_enter();
	int rc = MPI_FN(MPI_Testall)(2, p->part, &flag, st);
	cross_leave(t);
	if (rc == MPI_ERR_IN_STATUS)
		rc = st[0].MPI_ERROR != MPI_SUCCESS ? st[0].MPI_ERROR : st[1].MPI_ERROR;
	if (rc != MPI_SUCCESS) {
		/* the parts are MPICH's to report no more */
		p->part[0] = p->part[1] = MPI_REQUEST_NULL;
		finish(p, &st[0], rc);
	} else if (flag) {
		finish(p, &st[0], MPI_SUCCESS);
	}
}

void flight_pairs_progress(void)
{
	if (!__atomic_load_n(&fl_pairs_open, __ATOMIC_RELAXED))
		return;
	/* another thread testing them now does the same */
	if (pthread_mutex_trylock(&pairs_lock))
		return;
	for (size_t i = 0; i < npairs;) {
		struct fl_pair *p = pairs[i];
		if (!p->done)
			test_pair(p);
		if (p->done && !p->vreq)
			drop(i);
		else
			i++;
	}
	pthread_mutex_unlock(&pairs_lock);
}

void flight_pairs_interrupted(const volatile int *word)
{
	if (word != &fl_pairs_poll || __atomic_load_n(&mpi_wait_stop, __ATOMIC_SEQ_CST) ||
	    __atomic_load_n(&mpi_gate, __ATOMIC_SEQ_CST))
		mpi_wait_interrupted();
}

/* MPICH (4.0.2) refuses MPI_Request_free on a generalized request: a
 * pair's stand-in is freed here, by MPI_Wait once it is complete (now, or
 * when its parts are). */
void flight_pair_free(MPI_Request *request)
{
	struct mpi_req_flight *f = h_req_flight(*request);
	struct fl_pair *p = f->pair;
	if (p->done) {
		long t = cross_enter();
		MPI_FN(MPI_Wait)(&p->greq, MPI_STATUS_IGNORE);
		cross_leave(t);
	}
	h_release(MK_REQUEST, *request);
	*request = MPI_REQUEST_NULL;
}

void flight_pair_released(struct mpi_req_flight *f)
{
	struct fl_pair *p = f->pair;
	f->pair = NULL;
	pthread_mutex_lock(&pairs_lock);
	for (size_t i = 0; i < npairs; i++) {
		if (pairs[i] != p)
			continue;
		if (p->done) {
			drop(i);
		} else {
			/* freed before it completed: the parts go on, and the
			 * cut still sees them */
			p->fl = *f;
			p->fl.pair = p;
			p->vreq = 0;
			f->type_held = 0; /* the receive's datatype: held by p now */
			f->holds = NULL;
			f->nholds = 0;
		}
		break;
	}
	pthread_mutex_unlock(&pairs_lock);
}

/* Post the receive, then the send (of tmp's packed bytes if tmp), and
 * make the application's request. */
static int start(const void *sendbuf, MPI_Count sendcount, MPI_Datatype sendtype, int dest,
		 int sendtag, void *recvbuf, MPI_Count recvcount, MPI_Datatype recvtype, int source,
		 int recvtag, MPI_Comm comm, void *tmp, MPI_Request *request)
{
	if (!request) {
		free(tmp);
		return flight_error(comm, MPI_ERR_REQUEST);
	}
	struct fl_pair *p = calloc(1, sizeof(*p));
	if (!p)
		mpi_die("out of memory for an MPI_Isendrecv");
	p->part[0] = p->part[1] = MPI_REQUEST_NULL;
	p->tmp = tmp;
	int rcomm = h_in(MK_COMM, comm), rsend = tmp ? MPI_PACKED : h_in(MK_DATATYPE, sendtype);
	int rrecv = h_in(MK_DATATYPE, recvtype);
	flight_sent(comm, dest, 1);
	long t = cross_enter();
	int rc = MPI_FN(MPI_Irecv_c)(recvbuf, recvcount, rrecv, source, recvtag, rcomm, &p->part[0]);
	if (rc == MPI_SUCCESS) {
		rc = MPI_FN(MPI_Isend_c)(tmp ? tmp : sendbuf, sendcount, rsend, dest, sendtag, rcomm,
					 &p->part[1]);
		if (rc != MPI_SUCCESS) {
			MPI_FN(MPI_Cancel)(&p->part[0]);
			MPI_FN(MPI_Wait)(&p->part[0], MPI_STATUS_IGNORE);
		}
	}
	cross_leave(t);
	if (rc != MPI_SUCCESS) {
		flight_sent(comm, dest, -1);
		free(tmp);
		free(p);
		return rc;
	}
	p->greq = cut_standin_open(&p->st);
	*request = h_out(MK_REQUEST, p->greq);
	p->vreq = *request;
	flight_mark_post(*request, FL_PAIR, 0, comm, source, recvbuf, recvcount, recvtype, recvtag);
	h_req_flight(*request)->pair = p;
	pthread_mutex_lock(&pairs_lock);
	pairs = mpi_grow(pairs, npairs, &cappairs, sizeof(*pairs), 16, "the MPI_Isendrecv list");
	pairs[npairs++] = p;
	__atomic_add_fetch(&fl_pairs_open, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&pairs_lock);
	return MPI_SUCCESS;
}

static int isendrecv(const void *sendbuf, MPI_Count sendcount, MPI_Datatype sendtype, int dest,
		     int sendtag, void *recvbuf, MPI_Count recvcount, MPI_Datatype recvtype,
		     int source, int recvtag, MPI_Comm comm, MPI_Request *request)
{
	MPI_LOWER_READY();
	return start(sendbuf, sendcount, sendtype, dest, sendtag, recvbuf, recvcount, recvtype,
		     source, recvtag, comm, NULL, request);
}

/* The send is of a packed copy of buf, made now (the receive overwrites
 * buf), in this half's heap: a checkpoint saves it with the pair. */
static int isendrecv_replace(void *buf, MPI_Count count, MPI_Datatype datatype, int dest,
			     int sendtag, int source, int recvtag, MPI_Comm comm,
			     MPI_Request *request)
{
	MPI_LOWER_READY();
	int rcomm = h_in(MK_COMM, comm), rtype = h_in(MK_DATATYPE, datatype);
	MPI_Count size = 0, pos = 0;
	long t = cross_enter();
	int rc = MPI_FN(MPI_Pack_size_c)(count, rtype, rcomm, &size);
	cross_leave(t);
	if (rc != MPI_SUCCESS)
		return rc;
	void *tmp = malloc(size > 0 ? (size_t)size : 1);
	if (!tmp)
		return flight_error(comm, MPI_ERR_NO_MEM);
	t = cross_enter();
	rc = MPI_FN(MPI_Pack_c)(buf, count, rtype, tmp, size, &pos, rcomm);
	cross_leave(t);
	if (rc != MPI_SUCCESS) {
		free(tmp);
		return rc;
	}
	return start(NULL, pos, MPI_PACKED, dest, sendtag, buf, count, datatype, source, recvtag,
		     comm, tmp, request);
}

int mpi_impl_Isendrecv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, int dest,
		       int sendtag, void *recvbuf, int recvcount, MPI_Datatype recvtype, int source,
		       int recvtag, MPI_Comm comm, MPI_Request *request)
{
	return isendrecv(sendbuf, sendcount, sendtype, dest, sendtag, recvbuf, recvcount, recvtype,
			 source, recvtag, comm, request);
}

int mpi_impl_Isendrecv_c(const void *sendbuf, MPI_Count sendcount, MPI_Datatype sendtype,
			 int dest, int sendtag, void *recvbuf, MPI_Count recvcount,
			 MPI_Datatype recvtype, int source, int recvtag, MPI_Comm comm,
			 MPI_Request *request)
{
	return isendrecv(sendbuf, sendcount, sendtype, dest, sendtag, recvbuf, recvcount, recvtype,
			 source, recvtag, comm, request);
}

int mpi_impl_Isendrecv_replace(void *buf, int count, MPI_Datatype datatype, int dest,
			       int sendtag, int source, int recvtag, MPI_Comm comm,
			       MPI_Request *request)
{
	return isendrecv_replace(buf, count, datatype, dest, sendtag, source, recvtag, comm, request);
}

int mpi_impl_Isendrecv_replace_c(void *buf, MPI_Count count, MPI_Datatype datatype, int dest,
				 int sendtag, int source, int recvtag, MPI_Comm comm,
				 MPI_Request *request)
{
	return isendrecv_replace(buf, count, datatype, dest, sendtag, source, recvtag, comm, request);
}

/* MPI_Cancel of a pair: both parts (the status says whether the receive
 * was). */
void flight_pair_cancel(struct mpi_req_flight *f)
{
	struct fl_pair *p = f->pair;
	if (!p || p->done)
		return;
	long t = cross_enter();
	for (int i = 0; i < 2; i++)
		if (p->part[i] != MPI_REQUEST_NULL)
			MPI_FN(MPI_Cancel)(&p->part[i]);
	cross_leave(t);
}

/* ---- the cut (cut.c): every application thread is out of MPI ---- */

void pair_cut_orphans(void (*fn)(struct mpi_req_flight *f, void *arg), void *arg)
{
	for (size_t i = 0; i < npairs; i++)
		if (!pairs[i]->vreq && !pairs[i]->done)
			fn(&pairs[i]->fl, arg);
}

int pair_cut_take_back(struct mpi_req_flight *f, char *msg, size_t len)
{
	struct fl_pair *p = f->pair;
	if (p->done || p->part[0] == MPI_REQUEST_NULL)
		return 0;
	MPI_Status st;
	memset(&st, 0, sizeof(st));
	long t = cross_enter();
	int rc = MPI_FN(MPI_Cancel)(&p->part[0]);
	if (rc == MPI_SUCCESS)
		rc = MPI_FN(MPI_Wait)(&p->part[0], &st);
	cross_leave(t);
	if (rc != MPI_SUCCESS) {
		snprintf(msg, len, "cannot take back an MPI_Isendrecv's receive (MPI error %d)", rc);
		return -1;
	}
	f->loose = 1;
	if ((st.count_hi_and_cancelled & 1) && !f->cancel_asked) {
		p->repost = 1;
		return 0;
	}
	/* it had matched a message (or the application cancelled it) */
	p->st = st;
	p->recv_done = 1;
	flight_recvd(f->comm, &st);
	return 0;
}

MPI_Request *pair_cut_send(struct mpi_req_flight *f)
{
	struct fl_pair *p = f->pair;
	if (p->done || p->part[1] == MPI_REQUEST_NULL)
		return NULL;
	f->loose = 1;
	return &p->part[1];
}

void pair_cut_again(int vreq, struct mpi_req_flight *f, int restarted)
{
	struct fl_pair *p = f->pair;
	if (restarted) {
		/* the stand-in was the old lower half's */
		p->greq = cut_standin_open(&p->st);
		if (p->done) {
			long t = cross_enter();
			int rc = MPI_FN(MPI_Grequest_complete)(p->greq);
			cross_leave(t);
			if (rc != MPI_SUCCESS)
				mpi_die("cannot complete an MPI_Isendrecv's request (MPI error %d)", rc);
		}
		if (vreq)
			h_rebind(MK_REQUEST, vreq, p->greq);
	}
	if (!p->repost)
		return;
	p->repost = 0;
	long t = cross_enter();
	int rc = MPI_FN(MPI_Irecv_c)(f->buf, f->count, h_in(MK_DATATYPE, f->type), f->peer, f->tag,
				     h_in(MK_COMM, f->comm), &p->part[0]);
	cross_leave(t);
	if (rc != MPI_SUCCESS)
		mpi_die("cannot post an MPI_Isendrecv's receive again after the checkpoint (MPI error %d)",
			rc);
}
