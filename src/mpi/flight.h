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
/* A persistent collective's request (counted at each start): MPICH's
 * own (flight_mark_pcoll: one cairn cannot emulate), or emulated
 * (flight_pcoll_init: no request in MPICH while it is inactive; each
 * start starts the non-blocking form again, described as for
 * flight_mark_coll, so the cut treats it as a non-blocking collective). */
void flight_mark_pcoll(MPI_Request vreq, MPI_Comm comm);
int flight_pcoll_init(MPI_Request *request, MPI_Comm comm, int again, const long *args, int nargs);
/* MPI_Start, MPI_Startall, MPI_Request_free of emulated persistent
 * collectives: 1 and *rc if the call was for one (or, for MPI_Startall,
 * held one), 0 for the generated wrapper to go on. */
int flight_pcoll_start(MPI_Request *request, int *rc);
int flight_pcoll_startall(int count, MPI_Request *requests, int *rc);
int flight_pcoll_free(MPI_Request *request, int *rc);
void flight_mark(MPI_Request vreq, int kind, MPI_Comm comm, int peer);
void flight_mark_post(MPI_Request vreq, int kind, int init, MPI_Comm comm, int peer, void *buf,
		      MPI_Count count, MPI_Datatype type, int tag);
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
/* Statuses to pass down when the application ignores them. */
MPI_Status *flight_statuses(MPI_Status *app, int n, MPI_Status *stack, int nstack);
void flight_statuses_done(MPI_Status *used, MPI_Status *app, MPI_Status *stack);

#endif
