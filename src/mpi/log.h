/* The log of the calls that made the application's MPI objects (api
 * overrides `rebuild`: communicators, groups, datatypes), so that a new
 * lower half can make them again after a restart (log.c). The generated
 * wrappers append a record after each successful call; the generated
 * replay.c reads them back in the same order. */
#ifndef CAIRN_MPI_LOG_H
#define CAIRN_MPI_LOG_H

#include <stddef.h>

struct mpi_log_rec;
struct mpi_log_reader;

struct mpi_log_rec *mpi_log_begin(int fn); /* takes the log's lock */
void mpi_log_put(struct mpi_log_rec *L, const void *p, size_t n);
void mpi_log_array(struct mpi_log_rec *L, const void *p, size_t n); /* length, then bytes */
void mpi_log_str(struct mpi_log_rec *L, const char *s);
void mpi_log_end(struct mpi_log_rec *L); /* releases the lock */

void mpi_log_get(struct mpi_log_reader *R, void *p, size_t n);
const void *mpi_log_get_array(struct mpi_log_reader *R, size_t *n);
const char *mpi_log_get_str(struct mpi_log_reader *R);
int mpi_log_bad(const struct mpi_log_reader *R); /* read past a record */

/* replay.c (generated): one record, by function index; the records of the
 * hand-written functions (user ops, error handlers: local.c) go to
 * mpi_log_replay_manual. */
int mpi_log_replay_one(int fn, struct mpi_log_reader *R);
int mpi_log_replay_manual(int fn, struct mpi_log_reader *R);

/* Set while the log is replayed: callbacks into the application are not
 * made (callbacks.c). */
extern int mpi_replaying;
/* Keyvals (callbacks.c): a record made again; the attributes of every
 * live communicator and datatype read before an image, set again after
 * the replay. */
int mpi_keyval_replay(int fn, struct mpi_log_reader *R);
void mpi_attrs_snapshot(void);
/* Distributed graphs' records (extra.c). */
int mpi_dist_graph_replay(int fn, struct mpi_log_reader *R);
/* MPI_Comm_idup's records (extra.c): started again, waited for before a
 * record that may use what they make (mpi_idup_pending: vcomm's, or any
 * for 0), and at the end of the replay. */
int mpi_idup_replay(struct mpi_log_reader *R);
int mpi_idup_pending(int vcomm);
int mpi_idup_wait_all(void);
int mpi_attrs_restore(void);

/* The handles a record names (generated, replay.c): how many (at most
 * max), or -1 if not known (hand-written records). */
enum { LOG_IN, LOG_OUT, LOG_INOUT };
struct mpi_log_ref {
	int kind; /* enum mpi_kind */
	int v; /* virtual */
	int dir; /* LOG_*: read, made, changed or freed */
};
int mpi_log_refs(int fn, struct mpi_log_reader *R, struct mpi_log_ref *o, int max);

/* Drop the records of objects that are gone and that nothing live was
 * made from (log.c): datatypes, groups and infos made and freed again,
 * and in a job's checkpoint (job: every rank calls it, past the cut)
 * communicators, as the ranks agree. Only while no thread is inside MPI
 * (a checkpoint). */
void mpi_log_compact(int job);
/* handles.c: whether the virtual handle v is live */
int h_live(int kind, int v);

/* Every record, in order, in the new lower half: 0, or -1 with a message. */
int mpi_log_replay(char *msg, size_t len);

#endif
