/* The consistent cut of a job's checkpoint (cut.c). */
#ifndef CAIRN_MPI_CUT_H
#define CAIRN_MPI_CUT_H

#include <stddef.h>
#include <stdint.h>

/* Before the image, with every rank in its checkpoint and the library
 * quiet: agree on the communicators, refuse while a collective is in
 * progress, receive every message in flight into this half. 0, or -1 with
 * msg (every rank returns the same), CUT_AGAIN when it may pass a moment
 * later (a collective in progress). cut_after() runs in either case. */
#define CUT_AGAIN (-2)
int cut_before(char *msg, size_t len);
/* After CUT_AGAIN: this rank is ahead (it has completed a collective
 * another has not entered) and behind on none: it should stay stopped
 * while the others run forward to it. */
int cut_hold(void);
/* After CUT_AGAIN (the same on every rank): the ranks not held are running
 * forward (computing, or their counts moved since the last attempt). */
int cut_forward(void);
/* The same judgement from every rank's state at a refused attempt (also
 * the vote's, ckpt.c); the counts are remembered for the next one until
 * a cut passes. */
struct mpi_progress {
	int32_t held;	 /* held at its gate, as a rank ahead */
	int32_t waiting; /* a thread waits in MPI (or cannot leave it) */
	int64_t count;	 /* flight_progress() */
};
int cut_judge(const struct mpi_progress *all, int n);
/* After the image (continue), or after a restart once the objects are made
 * again: the messages kept are sent again by their senders. */
int cut_after(char *msg, size_t len);
/* A stand-in request, complete, whose status is *st (which must live as
 * long as the request): its real handle. */
struct MPI_Status;
int cut_standin(struct MPI_Status *st);
/* The same, not complete yet: MPI_Grequest_complete completes it. */
int cut_standin_open(struct MPI_Status *st);
/* Messages kept now. */
size_t cut_kept(void);
/* Live requests the cut cannot handle (their number; one of them). */
int cut_unknown_requests(int *one);
struct mpi_req_flight;
/* A persistent request's stand-in was seen complete (handles.c): the
 * request made again, inactive; its real handle, or 0. */
int cut_persistent_again(int vreq, struct mpi_req_flight *f);

#endif
