/* cairn's MPI upper half: the face its parts and the generated wrappers use.
 *
 * The application calls cairn's libmpich.so.12 (MPICH's ABI). It sees only
 * virtual handles; the real ones belong to the lower half (lower.h). Each
 * generated wrapper (tools/mpigen.py) translates handles in, crosses once,
 * and translates handles out. Predefined handles (MPI_COMM_WORLD, MPI_INT,
 * MPI_SUM, MPI_REQUEST_NULL...) have the same value on both sides.
 */
#ifndef CAIRN_MPI_UPPER_H
#define CAIRN_MPI_UPPER_H

#include <mpi.h>
#include <stddef.h>
#include <stdnoreturn.h>

#include "mpi_gen.h"
#include "mpi/lower.h"

#define CAIRN_MPI_API __attribute__((visibility("default")))

/* Arrays of handles up to this length are translated on the stack. */
#define MPI_STACK_ARRAY 32

/* At the top of every function that may cross, before any handle is
 * translated: the call is inside the MPI library until the function
 * returns (a checkpoint waits until no thread is, ckpt.c), and the lower
 * half is loaded. A declaration: its cleanup runs at the return. */
#define MPI_LOWER_READY()                                                                  \
	int mpi_guard_ __attribute__((cleanup(mpi_call_end), unused)) = mpi_call_begin()

/* ckpt.c: the calls in progress. mpi_depth is this thread's nesting;
 * mpi_inside the threads with mpi_depth > 0; while mpi_gate is set (a
 * checkpoint or a restart holds the library), threads wait before they
 * enter. */
extern __thread int mpi_depth __attribute__((tls_model("initial-exec")));
extern int mpi_inside;
extern volatile int mpi_gate;
void mpi_gate_wait(void);

static inline int mpi_call_begin(void)
{
	if (mpi_depth++ == 0) {
		__atomic_add_fetch(&mpi_inside, 1, __ATOMIC_SEQ_CST);
		if (__builtin_expect(__atomic_load_n(&mpi_gate, __ATOMIC_SEQ_CST), 0))
			mpi_gate_wait();
	}
	if (__builtin_expect(mpi_fn == NULL, 0))
		mpi_lower_load();
	return 0;
}

static inline void mpi_call_end(int *guard)
{
	(void)guard;
	if (--mpi_depth == 0)
		__atomic_sub_fetch(&mpi_inside, 1, __ATOMIC_RELEASE);
}

#define MPI_FN(name) ((__typeof__(&P##name))mpi_fn[F_##name])

/* Handle kinds with virtual handles (the `kinds:` of the overrides). */
enum mpi_kind {
	MK_COMM,
	MK_GROUP,
	MK_DATATYPE,
	MK_OP,
	MK_REQUEST,
	MK_MESSAGE,
	MK_ERRHANDLER,
	MK_INFO,
	MK_KEYVAL,
	MK_WIN,
	MK_COUNT
};

/* handles.c: virtual <-> real. Unknown handles from the application become
 * an invalid real handle (0), so that MPICH reports the error as it would
 * natively. */
int h_in(enum mpi_kind k, int v);
int h_out(enum mpi_kind k, int real);
/* A new virtual request with no real one (MPI_REQUEST_NULL): an emulated
 * persistent collective, inactive (flight.c). */
int h_out_inactive(void);
/* The virtual handle v released (its real one already is). */
void h_release(enum mpi_kind k, int v);
/* v's real handle is now real (a null one included: v stays live). */
void h_set_real(enum mpi_kind k, int v, int real);
int h_update(enum mpi_kind k, int v, int real_before, int real_after);
int *h_in_array(enum mpi_kind k, const int *v, int n, int *stackbuf, int nstack);
void h_update_array(enum mpi_kind k, int *v, const int *real, int n);
void h_array_done(int *real, int *stackbuf);
void h_request_keep(int vreq, int *heap_array);
/* Datatypes and ops a request names, which a checkpoint may need to post
 * or start it again (a receive's datatype, a collective's): the
 * application may free them once the request is made, so h_hold counts
 * the request (0 if v is not a live virtual handle: a predefined one),
 * and MPI_Type_free/MPI_Op_free of a held one only marks it
 * (h_free_deferred: 1, *v set to the null handle); h_unhold returns 1
 * when the last hold of one so marked goes: the caller frees it then. */
int h_hold(enum mpi_kind k, int v);
int h_unhold(enum mpi_kind k, int v);
int h_free_deferred(enum mpi_kind k, int *v);
/* The same for the arrays of the request's new activation (a start, or a
 * restart), those of the last one freed. */
void h_request_keep_new(int vreq, int *heap_arrays[2]);
int h_real_to_virtual(enum mpi_kind k, int real);
int h_live_unrebuilt(enum mpi_kind k, int *one);
void h_mark_rebuilt(enum mpi_kind k, int v);
void h_rebind(enum mpi_kind k, int v, int real);
int mpi_log_usable(void); /* log.c: every object made so far is logged */
int hf_live(void);
int h_is_virtual(int v);
int mpi_predefined_direct(int v); /* generated: predefined.c */
extern const int mpi_predefined_types[]; /* every predefined datatype (predefined.c) */
extern const int mpi_predefined_ntypes;

/* Per-object caches (-1: unknown), for calls answered in the upper half. */
struct mpi_comm_cache {
	int rank, size, group_size; /* group_size: remote size if inter */
	int nin, nout; /* neighbours of its topology, for neighbor_alltoallw */
	int inter; /* an intercommunicator */
	/* flight.c: the MPI_COMM_WORLD rank of each rank of its (remote)
	 * group, or NULL until asked; its job-wide id (0: none yet); the
	 * collectives this rank started on it, and the highest of them (by
	 * their number, 1 up) it has seen complete */
	int *_Atomic world;
	long long gid;
	long long coll_seq;
	long long coll_done;
	int idup_pending; /* made by MPI_Comm_idup, not yet seen complete */
};
#define MPI_COMM_CACHE_INIT \
	{ .rank = -1, .size = -1, .group_size = -1, .nin = -1, .nout = -1, .inter = -1 }
/* Every live communicator's virtual handle (MPI_COMM_WORLD and
 * MPI_COMM_SELF excepted): fn(vcomm, cache, arg) for each. */
void h_each(enum mpi_kind k, void (*fn)(int v, int real, void *arg), void *arg);
void h_comm_each(void (*fn)(int vcomm, struct mpi_comm_cache *c, void *arg), void *arg);
/* flight.c: what a request is, for the counts and for the consistent cut
 * (cut.c), which completes it, or takes it back and posts it again. */
#define MPI_COLL_ARGS 10
struct mpi_req_flight {
	int kind; /* FL_* */
	int comm; /* virtual */
	int peer; /* receives: the source; sends: the destination */
	int counted; /* this activation's receive is counted */
	/* receives and persistent requests: what was posted, to post it again */
	void *buf;
	MPI_Count count;
	int type; /* virtual */
	int tag;
	int init; /* persistent: the enum mpi_fn of the call that made it */
	int active; /* persistent: started and not yet seen complete */
	int pcoll; /* a persistent collective, emulated by its non-blocking
		    * form (flight.c): FL_WAIT while active; its real request
		    * is MPI_REQUEST_NULL while inactive */
	int cancel_asked; /* the application called MPI_Cancel on it */
	int cut; /* FLC_*: what the last cut did with it */
	int loose; /* the cut left it without a real request, to be made again */
	unsigned long long seq; /* posting order */
	MPI_Status st; /* FLC_DONE: the status the application will see */
	/* collectives: which of comm's collectives it is (1 up), and how to
	 * start it again in a new lower half: the enum mpi_fn of its
	 * non-blocking form (0: it cannot be) and its arguments, the
	 * request's excepted, handles virtual (mpi_coll_again) */
	long long cidx;
	int again;
	int idup; /* MPI_Comm_idup's: the new communicator (virtual) */
	struct fl_pair *pair; /* FL_PAIR's parts (pair.c) */
	/* what it holds (h_hold): type, and (kind, handle) pairs */
	int type_held;
	int *holds;
	int nholds;
	long args[MPI_COLL_ARGS];
};
/* Start the collective f describes again, as its non-blocking form, in
 * the lower half now loaded (generated: wrappers.c; outside a crossing).
 * Arrays of handles it translated (MPI_Ialltoallw's datatypes) are in
 * keep[] (or NULL): h_request_keep_new them with the request. */
int mpi_coll_again(const struct mpi_req_flight *f, MPI_Request *real, int *keep[2]);
enum {
	FL_NONE, /* not known to the cut: a checkpoint waits until it is complete */
	FL_RECV, /* MPI_Irecv, or a blocking receive's twin */
	FL_PRECV, /* MPI_Recv_init */
	FL_PSEND, /* MPI_Send_init and its modes */
	FL_SEND, /* MPI_Isend and its modes, or a blocking send's twin */
	FL_WAIT, /* completes once every rank is in the cut: non-blocking
		  * collectives, MPI_Imrecv */
	FL_PAIR, /* MPI_Isendrecv*: a receive and a send behind a generalized
		  * request of cairn's (pair.c); the record describes the
		  * receive, as FL_RECV's */
	FL_GREQ, /* MPI_Grequest_start: the application's own, left alone by
		  * the cut, made again after a restart (buf: its closure;
		  * active until MPI_Grequest_complete) */
};
/* FLC_AHEAD: a collective some rank has not started yet: left pending
 * (continue) or started again (restart) */
enum { FLC_NONE, FLC_DONE, FLC_REPOST, FLC_AHEAD };
/* Every live request: fn(vreq, real, flight record, arg). */
void h_req_each(void (*fn)(int vreq, int real, struct mpi_req_flight *f, void *arg), void *arg);
struct mpi_req_flight *h_req_flight(int vreq);
/* A matched message's record (flight.c): comm, peer (its source in comm),
 * tag, count (bytes); cut FLC_DONE once a checkpoint has received it into
 * buf (it is then delivered from there: flight_message_take). */
struct mpi_req_flight *h_msg_flight(int vmsg);
struct mpi_comm_cache *h_comm_cache(int vcomm);
/* local.c: whether vcomm is an intercommunicator (0 for an unknown one). */
int mpi_comm_is_inter(MPI_Comm vcomm);
int *h_type_size_cache(int vtype);
/* A window's upper-half record (win.c), NULL if none. */
void **h_win_extra(int vwin);
/* The displacement the lower half's window wants for the application's
 * target_disp (win.c: shifted in shared windows). */
MPI_Aint mpi_win_disp(MPI_Win win, int target_rank, MPI_Aint target_disp);

/* MPI_File is a pointer: its virtual handles are small multiples of 16
 * indexing a table of their own (never valid addresses). */
MPI_File hf_in(MPI_File v);
MPI_File hf_out(MPI_File real);
MPI_File hf_update(MPI_File v, MPI_File real_before, MPI_File real_after);
MPI_File hf_real_to_virtual(MPI_File real);
MPI_Fint hf_c2f(MPI_File v);
MPI_File hf_f2c(MPI_Fint f);

/* The number of neighbours of a topology communicator (in: sources, out:
 * destinations), as neighbourhood collectives count them. */
int mpi_neighbor_count(MPI_Comm comm, int out);

/* The number of dimensions of a Cartesian communicator (ndims_of(C)). */
int mpi_cart_ndims(MPI_Comm comm);

/* The size of the group a comm_size(C) array rule means. */
int mpi_comm_group_size(MPI_Comm comm);

/* callbacks.c */
/* A generalized request f describes, made again in a new lower half
 * (completed if the application had completed it). */
int mpi_grequest_again(const struct mpi_req_flight *f, MPI_Request *real);
/* the trampoline that calls fn (one per distinct function, for the life
 * of the process) */
MPI_User_function *mpi_op_trampoline(MPI_User_function *fn);
MPI_Comm_errhandler_function *mpi_errhandler_trampoline(MPI_Comm_errhandler_function *fn);
MPI_User_function_c *mpi_op_c_trampoline(MPI_User_function_c *fn);
MPI_Win_errhandler_function *mpi_win_errhandler_trampoline(MPI_Win_errhandler_function *fn);
MPI_File_errhandler_function *mpi_file_errhandler_trampoline(MPI_File_errhandler_function *fn);

noreturn void mpi_unsupported(const char *name, const char *why);

/* wait.c: the blocking calls' waits (wait.h). mpi_wait_stop, when set,
 * makes every wait in the lower half give up and return to the upper half,
 * which calls mpi_wait_interrupted() and waits again: mpi_wait_resume for a
 * posted twin (its real request), the loop from the start otherwise. */
extern volatile int mpi_wait_stop;
void mpi_wait_interrupted(void);
int mpi_wait_resume(MPI_Request real, MPI_Status *status, const struct mpi_req_flight *what);
int mpi_wait_resume_pair(struct mpi_wait_pair *pair, MPI_Status *status,
			 const struct mpi_req_flight what[2]);
/* ckpt.c: how many lower halves this process has loaded since its start
 * (a restart loads a new one: pointers into the old one are void). */
extern int mpi_lower_generation;

/* local.c: what the application did with MPI itself. */
int mpi_state_initialized(void);
int mpi_state_finalized(void);
int mpi_state_thread_required(void);
/* The buffered sends' buffer, attached again after a restart. */
int mpi_buffer_reattach(void);

/* ckpt.c: checkpoints of this rank under cairn's runtime. */
void mpi_ckpt_attach(void); /* once the split lower half is loaded */
void mpi_ckpt_park(void);   /* a wait came back: out while a checkpoint runs */
int mpi_ckpt_waiting(void); /* threads parked so, now */
noreturn void mpi_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* p (an array of n elements of size elem, room for *cap) with room for one
 * more: doubled, from first; out of memory dies naming what. */
void *mpi_grow(void *p, size_t n, size_t *cap, size_t elem, size_t first, const char *what);

/* local.c: both op-creating calls (MPI_Op_create, MPI_Op_create_c). */
int mpi_op_create(enum mpi_fn f, void *tramp, int commute, MPI_Op *op);
/* local.c: every errhandler-creating call, given the lower half's function
 * F and the trampoline already taken for the application's function. */
int mpi_errhandler_create(enum mpi_fn f, void *tramp, MPI_Errhandler *errhandler);

#include "mpi/wait.h"

#endif
