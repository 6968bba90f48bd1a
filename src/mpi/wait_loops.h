/* The waiting forms of the calls that wait on what the application already
 * has (requests, incoming messages): loops over their test forms, entered
 * again from the start after an interruption (wait.h). Included once per
 * side by the generated lower_wait.c. Each returns what the blocking call
 * would, once it would have returned. */
#ifndef CAIRN_MPI_WAIT_LOOPS_H
#define CAIRN_MPI_WAIT_LOOPS_H

#include <stdlib.h>

#include "mpi/wait.h"

int WAIT_NAME(MPI_Wait)(MPI_Request *request, MPI_Status *status, const volatile int *wait_stop)
{
	return mpi_wait_loop(request, status, wait_stop);
}

int WAIT_NAME(MPI_Waitall)(int count, MPI_Request array_of_requests[],
			   MPI_Status array_of_statuses[], const volatile int *wait_stop)
{
	for (;;) {
		int done = 0;
		int rc = LOWER_CALL(MPI_Testall)(count, array_of_requests, &done, array_of_statuses);

		if (rc != MPI_SUCCESS || done)
			return rc;
		if (*wait_stop)
			return MPI_WAIT_INTERRUPTED;
	}
}

/* MPI_Testany says done with MPI_UNDEFINED when no request is active, as
 * MPI_Waitany then returns at once. */
int WAIT_NAME(MPI_Waitany)(int count, MPI_Request array_of_requests[], int *indx,
			   MPI_Status *status, const volatile int *wait_stop)
{
	for (;;) {
		int done = 0;
		int rc = LOWER_CALL(MPI_Testany)(count, array_of_requests, indx, &done, status);

		if (rc != MPI_SUCCESS || done)
			return rc;
		if (*wait_stop)
			return MPI_WAIT_INTERRUPTED;
	}
}

/* MPI_Testsome may complete none (outcount 0): MPI_Waitsome waits for one,
 * or returns MPI_UNDEFINED at once when none is active. */
int WAIT_NAME(MPI_Waitsome)(int incount, MPI_Request array_of_requests[], int *outcount,
			    int array_of_indices[], MPI_Status array_of_statuses[],
			    const volatile int *wait_stop)
{
	for (;;) {
		int rc = LOWER_CALL(MPI_Testsome)(incount, array_of_requests, outcount,
						  array_of_indices, array_of_statuses);

		if (rc != MPI_SUCCESS || *outcount != 0)
			return rc;
		if (*wait_stop)
			return MPI_WAIT_INTERRUPTED;
	}
}

int WAIT_NAME(MPI_Probe)(int source, int tag, MPI_Comm comm, MPI_Status *status,
			 const volatile int *wait_stop)
{
	for (;;) {
		int found = 0, rc = LOWER_CALL(MPI_Iprobe)(source, tag, comm, &found, status);

		if (rc != MPI_SUCCESS || found)
			return rc;
		if (*wait_stop)
			return MPI_WAIT_INTERRUPTED;
	}
}

int WAIT_NAME(MPI_Mprobe)(int source, int tag, MPI_Comm comm, MPI_Message *message,
			  MPI_Status *status, const volatile int *wait_stop)
{
	for (;;) {
		int found = 0;
		int rc = LOWER_CALL(MPI_Improbe)(source, tag, comm, &found, message, status);

		if (rc != MPI_SUCCESS || found)
			return rc;
		if (*wait_stop)
			return MPI_WAIT_INTERRUPTED;
	}
}

/* MPI_Sendrecv and MPI_Sendrecv_replace post a receive and a send, as
 * MPICH's own blocking forms do (its MPI_Isendrecv and
 * MPI_Isendrecv_replace, in 4.0.2, fill the status wrongly and crash on
 * derived datatypes), and test both. _replace sends a packed copy, made
 * in this half's heap and freed here, or by WAIT_NAME(free) after an
 * interruption (the upper half owns the pair then). */
static int pair_loop(struct mpi_wait_pair *pair, MPI_Status *status, const volatile int *stop)
{
	for (;;) {
		MPI_Status st[2];
		int done = 0, rc = LOWER_CALL(MPI_Testall)(2, pair->req, &done, st);

		if (rc == MPI_ERR_IN_STATUS)
			rc = st[0].MPI_ERROR != MPI_SUCCESS ? st[0].MPI_ERROR : st[1].MPI_ERROR;
		if (rc != MPI_SUCCESS || done) {
			if (status != MPI_STATUS_IGNORE)
				*status = st[0];
			free(pair->tmp);
			pair->tmp = NULL;
			return rc;
		}
		if (*stop)
			return MPI_WAIT_INTERRUPTED;
	}
}

/* The send could not be posted: take the receive back. */
static int pair_abandon(struct mpi_wait_pair *pair, int rc)
{
	LOWER_CALL(MPI_Cancel)(&pair->req[0]);
	LOWER_CALL(MPI_Wait)(&pair->req[0], MPI_STATUS_IGNORE);
	free(pair->tmp);
	pair->tmp = NULL;
	return rc;
}

#define SENDRECV_FORM(NAME, COUNT_T, ISEND, IRECV)                                                \
	int WAIT_NAME(NAME)(const void *sendbuf, COUNT_T sendcount, MPI_Datatype sendtype, int dest, \
			    int sendtag, void *recvbuf, COUNT_T recvcount, MPI_Datatype recvtype,     \
			    int source, int recvtag, MPI_Comm comm, MPI_Status *status,               \
			    struct mpi_wait_pair *wait_pair, const volatile int *wait_stop)           \
	{                                                                                          \
		int rc = LOWER_CALL(IRECV)(recvbuf, recvcount, recvtype, source, recvtag, comm,    \
					   &wait_pair->req[0]);                                    \
		if (rc != MPI_SUCCESS)                                                             \
			return rc;                                                                 \
		rc = LOWER_CALL(ISEND)(sendbuf, sendcount, sendtype, dest, sendtag, comm,          \
				       &wait_pair->req[1]);                                        \
		if (rc != MPI_SUCCESS)                                                             \
			return pair_abandon(wait_pair, rc);                                        \
		return pair_loop(wait_pair, status, wait_stop);                                    \
	}

SENDRECV_FORM(MPI_Sendrecv, int, MPI_Isend, MPI_Irecv)
SENDRECV_FORM(MPI_Sendrecv_c, MPI_Count, MPI_Isend_c, MPI_Irecv_c)

#define SENDRECV_REPLACE_FORM(NAME, COUNT_T, PACK_SIZE, PACK, ISEND, IRECV)                      \
	int WAIT_NAME(NAME)(void *buf, COUNT_T count, MPI_Datatype datatype, int dest, int sendtag, \
			    int source, int recvtag, MPI_Comm comm, MPI_Status *status,              \
			    struct mpi_wait_pair *wait_pair, const volatile int *wait_stop)          \
	{                                                                                         \
		COUNT_T size = 0, pos = 0;                                                        \
		int rc = LOWER_CALL(PACK_SIZE)(count, datatype, comm, &size);                     \
		if (rc != MPI_SUCCESS)                                                            \
			return rc;                                                                \
		wait_pair->tmp = malloc(size ? (size_t)size : 1);                                 \
		if (!wait_pair->tmp)                                                              \
			return MPI_ERR_NO_MEM;                                                    \
		rc = LOWER_CALL(PACK)(buf, count, datatype, wait_pair->tmp, size, &pos, comm);    \
		if (rc == MPI_SUCCESS)                                                            \
			rc = LOWER_CALL(IRECV)(buf, count, datatype, source, recvtag, comm,       \
					       &wait_pair->req[0]);                               \
		if (rc != MPI_SUCCESS) {                                                          \
			free(wait_pair->tmp);                                                     \
			wait_pair->tmp = NULL;                                                    \
			return rc;                                                                \
		}                                                                                 \
		rc = LOWER_CALL(ISEND)(wait_pair->tmp, pos, MPI_PACKED, dest, sendtag, comm,      \
				       &wait_pair->req[1]);                                       \
		if (rc != MPI_SUCCESS)                                                            \
			return pair_abandon(wait_pair, rc);                                       \
		return pair_loop(wait_pair, status, wait_stop);                                   \
	}

SENDRECV_REPLACE_FORM(MPI_Sendrecv_replace, int, MPI_Pack_size, MPI_Pack, MPI_Isend, MPI_Irecv)
SENDRECV_REPLACE_FORM(MPI_Sendrecv_replace_c, MPI_Count, MPI_Pack_size_c, MPI_Pack_c, MPI_Isend_c,
		      MPI_Irecv_c)

/* What a pair form allocated, once the upper half has completed the pair
 * after an interruption: freed by the half whose heap it is in. */
void WAIT_NAME(free)(void *tmp)
{
	free(tmp);
}

#endif
