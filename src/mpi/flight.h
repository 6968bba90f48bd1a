/* Messages in flight: the counts a job's checkpoint agrees on (flight.c). */
#ifndef CAIRN_MPI_FLIGHT_H
#define CAIRN_MPI_FLIGHT_H

#include <mpi.h>
#include <stdint.h>

#include "mpi/upper.h"

/* Per rank of MPI_COMM_WORLD: messages sent to it, received from it. */
extern uint64_t *fl_sent, *fl_recvd;
extern int fl_size, fl_rank;
/* cairn's own communicator (the lower half's handle), for the protocol */
extern MPI_Comm fl_ctl;

void flight_init(void);
/* Completes a request of cairn's own traffic on fl_ctl (the cut's and the
 * log's collectives) without keeping a CPU busy meanwhile; rc is the
 * starting call's, returned as it is if that failed. */
int fl_ctl_wait(int rc, MPI_Request *req);
/* Messages sent and received, collectives started and communicators made
 * so far: a rank whose count moves is making progress. */
uint64_t flight_progress(void);
/* comm's rank in MPI_COMM_WORLD (comm's remote group if inter); -1 for
 * MPI_PROC_NULL and the like. */
int flight_world_rank(MPI_Comm comm, int rank);

/* Hooks of the generated wrappers (`p2p` in the overrides). */
void flight_sent(MPI_Comm comm, int dest, int delta);
void flight_recvd(MPI_Comm comm, const MPI_Status *st);
/* A collective started on comm: its number there (1 up); one seen
 * complete. */
long long flight_coll(MPI_Comm comm);
void flight_coll_done(MPI_Comm comm, long long cidx);
/* A non-blocking collective's request: which one, how to start it again. */
void flight_mark_coll(MPI_Request vreq, MPI_Comm comm, long long cidx, int again, const long *args,
		      int nargs);
void flight_new_comm(MPI_Comm comm);
/* MPI_Comm_idup's request (collective number cidx on comm) and newcomm,
 * whose id is derived from comm's and cidx (no call on it may be made
 * before it is complete). */
void flight_idup(MPI_Request vreq, MPI_Comm comm, MPI_Comm newcomm, long long cidx);
/* An error of a call cairn carries out itself (an emulated persistent
 * collective's, an MPI_Isendrecv's), reported as MPICH reports one:
 * through comm's error handler. */
int flight_error(MPI_Comm comm, int code);
/* A persistent collective's request (counted at each start), emulated:
 * no request in MPICH while it is inactive; each start starts the
 * non-blocking form again, described as for flight_mark_coll, so the cut
 * treats it as a non-blocking collective. */
int flight_pcoll_init(MPI_Request *request, MPI_Comm comm, int again, const long *args, int nargs);
/* MPI_Start, MPI_Startall of emulated persistent collectives, and
 * MPI_Request_free of those and of MPI_Isendrecv's requests: 1 and *rc if
 * the call was for one (or, for MPI_Startall, held one), 0 for the
 * generated wrapper to go on. */
int flight_pcoll_start(MPI_Request *request, int *rc);
int flight_pcoll_startall(int count, MPI_Request *requests, int *rc);
int flight_request_free(MPI_Request *request, int *rc);
void flight_mark(MPI_Request vreq, int kind, MPI_Comm comm, int peer);
void flight_mark_post(MPI_Request vreq, int kind, int init, MPI_Comm comm, int peer, void *buf,
		      MPI_Count count, MPI_Datatype type, int tag);
/* The datatypes and ops a request names, held until it is released
 * (h_hold): a receive's (flight_mark_post), a collective's (generated). */
void flight_hold(MPI_Request vreq, int kind, int v);
void flight_hold_array(MPI_Request vreq, int kind, const int *v, int n);
void flight_unhold(struct mpi_req_flight *f);
void flight_cancel(MPI_Request vreq);
void flight_freed(MPI_Request vreq);
/* A message matched by MPI_Mprobe/MPI_Improbe: what it is, from its
 * status (held by the next checkpoint until it is received). */
void flight_message(MPI_Message vmsg, MPI_Comm comm, const MPI_Status *st);
/* MPI_Mrecv/MPI_Imrecv of a message a checkpoint holds: 1 and *rc if it is
 * one (delivered into buf from the upper half), 0 otherwise. request NULL
 * for MPI_Mrecv. */
int flight_message_take(void *buf, MPI_Count count, MPI_Datatype type, MPI_Message *message,
			MPI_Status *status, MPI_Request *request, int *rc);
/* A blocking call's twin became a request of the application's (wait.c). */
void flight_adopt(MPI_Request vreq, const struct mpi_req_flight *what);
void flight_start(MPI_Request vreq);
void flight_done(MPI_Request vreq, const MPI_Status *st);
/* MPI_Isendrecv*'s pairs (pair.c). Every call that completes requests
 * tests the open ones first (flight_pairs_progress); a wait in the lower
 * half waits on flight_pairs_word() (mpi_wait_stop, or a word that is
 * always set while a pair is open: the wait polls from here), and after
 * MPI_WAIT_INTERRUPTED calls flight_pairs_interrupted(that word). */
extern volatile int fl_pairs_open;
extern const volatile int fl_pairs_poll;
void flight_pairs_progress(void);
static inline const volatile int *flight_pairs_word(void)
{
	if (__builtin_expect(!__atomic_load_n(&fl_pairs_open, __ATOMIC_RELAXED), 1))
		return &mpi_wait_stop;
	flight_pairs_progress();
	return __atomic_load_n(&fl_pairs_open, __ATOMIC_RELAXED) ? &fl_pairs_poll : &mpi_wait_stop;
}
void flight_pairs_interrupted(const volatile int *word);
/* A pair's request released (handles.c), cancelled (MPI_Cancel), freed
 * by the application (MPI_Request_free). */
void flight_pair_released(struct mpi_req_flight *f);
void flight_pair_free(MPI_Request *request);
void flight_pair_cancel(struct mpi_req_flight *f);
/* The cut (cut.c): pairs the application freed before they completed
 * (fn(their record)); a pair's receive taken back before the drain (0, or
 * -1 with msg); its send, to complete after the drain (NULL: none);
 * after the image, the receive posted again, and after a restart the
 * request made again (vreq 0: a freed pair's). */
void pair_cut_orphans(void (*fn)(struct mpi_req_flight *f, void *arg), void *arg);
int pair_cut_take_back(struct mpi_req_flight *f, char *msg, size_t len);
MPI_Request *pair_cut_send(struct mpi_req_flight *f);
void pair_cut_again(int vreq, struct mpi_req_flight *f, int restarted);

/* Statuses to pass down when the application ignores them. */
MPI_Status *flight_statuses(MPI_Status *app, int n, MPI_Status *stack, int nstack);
void flight_statuses_done(MPI_Status *used, MPI_Status *app, MPI_Status *stack);

#endif
