/* The MPI functions written by hand: those the upper half answers alone
 * (api overrides `local`) and the crossings that need more than a generated
 * wrapper (`manual`: state, callbacks). The generated PMPI_X calls
 * mpi_impl_X here.
 */
#include <stdlib.h>
#include <time.h>

#include "mpi/flight.h"
#include "mpi/log.h"
#include "mpi/upper.h"

static int initialized, finalized;
static int thread_provided = MPI_THREAD_SINGLE, thread_required = MPI_THREAD_SINGLE;

int mpi_state_initialized(void)
{
	return __atomic_load_n(&initialized, __ATOMIC_ACQUIRE);
}

int mpi_state_finalized(void)
{
	return __atomic_load_n(&finalized, __ATOMIC_ACQUIRE);
}

int mpi_state_thread_required(void)
{
	return thread_required;
}

/* --- Answered in the upper half ------------------------------------------ */

int mpi_impl_Comm_rank(MPI_Comm comm, int *rank)
{
	struct mpi_comm_cache *c = h_comm_cache(comm);
	if (c && c->rank >= 0) {
		*rank = c->rank;
		return MPI_SUCCESS;
	}
	MPI_LOWER_READY();
	int real = h_in(MK_COMM, comm);
	long t = cross_enter();
	int rc = MPI_FN(MPI_Comm_rank)(real, rank);
	cross_leave(t);
	if (rc == MPI_SUCCESS && c)
		c->rank = *rank;
	return rc;
}

int mpi_impl_Comm_size(MPI_Comm comm, int *size)
{
	struct mpi_comm_cache *c = h_comm_cache(comm);
	if (c && c->size >= 0) {
		*size = c->size;
		return MPI_SUCCESS;
	}
	MPI_LOWER_READY();
	int real = h_in(MK_COMM, comm);
	long t = cross_enter();
	int rc = MPI_FN(MPI_Comm_size)(real, size);
	cross_leave(t);
	if (rc == MPI_SUCCESS && c)
		c->size = *size;
	return rc;
}

int mpi_comm_group_size(MPI_Comm comm)
{
	struct mpi_comm_cache *c = h_comm_cache(comm);
	if (c && c->group_size >= 0)
		return c->group_size;
	MPI_LOWER_READY();
	int real = h_in(MK_COMM, comm), inter = 0, n = 0;
	long t = cross_enter();
	if (MPI_FN(MPI_Comm_test_inter)(real, &inter) != MPI_SUCCESS)
		inter = 0;
	int rc = inter ? MPI_FN(MPI_Comm_remote_size)(real, &n) : MPI_FN(MPI_Comm_size)(real, &n);
	cross_leave(t);
	if (rc != MPI_SUCCESS)
		return 0;
	if (c)
		c->group_size = n;
	return n;
}

int mpi_comm_is_inter(MPI_Comm comm)
{
	struct mpi_comm_cache *c = h_comm_cache(comm);
	int inter = 0;

	if (!c)
		return 0; /* not a communicator: MPICH will say so */
	if (c->inter >= 0)
		return c->inter;
	MPI_LOWER_READY();
	int real = h_in(MK_COMM, comm);
	long t = cross_enter();
	int rc = MPI_FN(MPI_Comm_test_inter)(real, &inter);
	cross_leave(t);
	if (rc != MPI_SUCCESS)
		return 0;
	c->inter = inter;
	return inter;
}

int mpi_impl_Type_size(MPI_Datatype datatype, int *size)
{
	unsigned u = (unsigned)datatype;
	/* MPICH's builtin datatypes carry their size in bits 8-15. */
	if ((u >> 30) == 1 && ((u >> 26) & 0xf) == 3) {
		*size = (int)((u >> 8) & 0xff);
		return MPI_SUCCESS;
	}
	int *cache = h_type_size_cache(datatype);
	if (cache && *cache >= 0) {
		*size = *cache;
		return MPI_SUCCESS;
	}
	MPI_LOWER_READY();
	int real = h_in(MK_DATATYPE, datatype);
	long t = cross_enter();
	int rc = MPI_FN(MPI_Type_size)(real, size);
	cross_leave(t);
	/* A datatype's size never changes; MPI_UNDEFINED is not cached. */
	if (rc == MPI_SUCCESS && cache && *size >= 0)
		*cache = *size;
	return rc;
}

double mpi_impl_Wtime(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double mpi_impl_Wtick(void)
{
	struct timespec ts;
	if (clock_getres(CLOCK_MONOTONIC, &ts) != 0)
		return 1e-9;
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int mpi_impl_Initialized(int *flag)
{
	*flag = __atomic_load_n(&initialized, __ATOMIC_ACQUIRE);
	return MPI_SUCCESS;
}

int mpi_impl_Finalized(int *flag)
{
	*flag = __atomic_load_n(&finalized, __ATOMIC_ACQUIRE);
	return MPI_SUCCESS;
}

int mpi_impl_Get_version(int *version, int *subversion)
{
	*version = MPI_VERSION;
	*subversion = MPI_SUBVERSION;
	return MPI_SUCCESS;
}

int mpi_impl_Query_thread(int *provided)
{
	*provided = thread_provided;
	return MPI_SUCCESS;
}

MPI_Aint mpi_impl_Aint_add(MPI_Aint base, MPI_Aint disp)
{
	return base + disp;
}

MPI_Aint mpi_impl_Aint_diff(MPI_Aint addr1, MPI_Aint addr2)
{
	return addr1 - addr2;
}

int mpi_impl_Pcontrol(const int level)
{
	return MPI_SUCCESS;
}

/* Memory the application gets from MPI must be saved with it: take it from
 * the application's own heap, not the lower half's. */
int mpi_impl_Alloc_mem(MPI_Aint size, MPI_Info info, void *baseptr)
{
	void *p = malloc(size > 0 ? (size_t)size : 1);
	if (!p)
		return MPI_ERR_NO_MEM;
	*(void **)baseptr = p;
	return MPI_SUCCESS;
}

int mpi_impl_Free_mem(void *base)
{
	free(base);
	return MPI_SUCCESS;
}

/* --- Crossings with state --------------------------------------------------- */

int mpi_impl_Init(int *argc, char ***argv)
{
	MPI_LOWER_READY();
	long t = cross_enter();
	int rc = MPI_FN(MPI_Init)(argc, argv);
	cross_leave(t);
	if (rc == MPI_SUCCESS) {
		flight_init();
		__atomic_store_n(&initialized, 1, __ATOMIC_RELEASE);
	}
	return rc;
}

/* Report honestly: never more than the lower half can carry. */
int mpi_impl_Init_thread(int *argc, char ***argv, int required, int *provided)
{
	MPI_LOWER_READY();
	if (required > mpi_lower.thread_level)
		required = mpi_lower.thread_level;
	long t = cross_enter();
	int rc = MPI_FN(MPI_Init_thread)(argc, argv, required, provided);
	cross_leave(t);
	if (rc == MPI_SUCCESS) {
		if (*provided > mpi_lower.thread_level)
			*provided = mpi_lower.thread_level;
		thread_provided = *provided;
		thread_required = required;
		flight_init();
		__atomic_store_n(&initialized, 1, __ATOMIC_RELEASE);
	}
	return rc;
}

int mpi_impl_Finalize(void)
{
	MPI_LOWER_READY();
	long t = cross_enter();
	int rc = MPI_FN(MPI_Finalize)();
	cross_leave(t);
	if (rc == MPI_SUCCESS)
		__atomic_store_n(&finalized, 1, __ATOMIC_RELEASE);
	return rc;
}

/* Both op-creating calls: the application's function behind a trampoline,
 * the lower half's function F. */
int mpi_op_create(enum mpi_fn f, void *tramp, int commute, MPI_Op *op)
{
	int real = MPI_OP_NULL;
	MPI_LOWER_READY();
	int (*create)(void *, int, MPI_Op *) = (int (*)(void *, int, MPI_Op *))mpi_fn[f];
	long t = cross_enter();
	int rc = create(tramp, commute, &real);
	cross_leave(t);
	if (rc != MPI_SUCCESS)
		return rc;
	*op = h_out(MK_OP, real);
	/* made again after a restart (mpi_log_replay_manual) */
	struct mpi_log_rec *L = mpi_log_begin(f);
	mpi_log_put(L, &tramp, sizeof(tramp));
	mpi_log_put(L, &commute, sizeof(commute));
	mpi_log_put(L, op, sizeof(*op));
	mpi_log_end(L);
	h_mark_rebuilt(MK_OP, *op);
	return rc;
}

int mpi_impl_Op_create(MPI_User_function *user_fn, int commute, MPI_Op *op)
{
	return mpi_op_create(F_MPI_Op_create, (void *)mpi_op_trampoline(user_fn), commute, op);
}

/* Every errhandler-creating call: the application's function behind a
 * trampoline, the lower half's function F (all of them take the function
 * and return the errhandler). */
int mpi_errhandler_create(enum mpi_fn f, void *tramp, MPI_Errhandler *errhandler)
{
	int real = MPI_ERRHANDLER_NULL;
	MPI_LOWER_READY();
	int (*create)(void *, MPI_Errhandler *) = (int (*)(void *, MPI_Errhandler *))mpi_fn[f];
	long t = cross_enter();
	int rc = create(tramp, &real);
	cross_leave(t);
	if (rc != MPI_SUCCESS)
		return rc;
	*errhandler = h_out(MK_ERRHANDLER, real);
	struct mpi_log_rec *L = mpi_log_begin(f);
	mpi_log_put(L, &tramp, sizeof(tramp));
	mpi_log_put(L, errhandler, sizeof(*errhandler));
	mpi_log_end(L);
	h_mark_rebuilt(MK_ERRHANDLER, *errhandler);
	return rc;
}

/* The records of the two functions above, in a new lower half: the same
 * trampolines (they live in this half, restored with it), the same
 * virtual handles, new real ones. */
int mpi_log_replay_manual(int fn, struct mpi_log_reader *R)
{
	void *tramp = NULL;
	int v = 0, commute = 0, real = 0, rc;
	long t;

	if (fn == F_MPI_Comm_create_keyval || fn == F_MPI_Keyval_create ||
	    fn == F_MPI_Type_create_keyval || fn == F_MPI_Win_create_keyval)
		return mpi_keyval_replay(fn, R);
	if (fn == F_MPI_Dist_graph_create || fn == F_MPI_Dist_graph_create_adjacent)
		return mpi_dist_graph_replay(fn, R);
	if (fn == F_MPI_Comm_idup)
		return mpi_idup_replay(R);
	mpi_log_get(R, &tramp, sizeof(tramp));
	switch (fn) {
	case F_MPI_Op_create:
	case F_MPI_Op_create_c:
		mpi_log_get(R, &commute, sizeof(commute));
		mpi_log_get(R, &v, sizeof(v));
		if (mpi_log_bad(R))
			return -1;
		t = cross_enter();
		rc = ((int (*)(void *, int, MPI_Op *))mpi_fn[fn])(tramp, commute, &real);
		cross_leave(t);
		if (rc == MPI_SUCCESS)
			h_rebind(MK_OP, v, real);
		return rc;
	case F_MPI_Comm_create_errhandler:
	case F_MPI_Errhandler_create:
	case F_MPI_Win_create_errhandler:
	case F_MPI_File_create_errhandler:
		mpi_log_get(R, &v, sizeof(v));
		if (mpi_log_bad(R))
			return -1;
		t = cross_enter();
		rc = ((int (*)(void *, MPI_Errhandler *))mpi_fn[fn])(tramp, &real);
		cross_leave(t);
		if (rc == MPI_SUCCESS)
			h_rebind(MK_ERRHANDLER, v, real);
		return rc;
	default:
		return -1;
	}
}

int mpi_impl_Comm_create_errhandler(MPI_Comm_errhandler_function *comm_errhandler_fn,
				    MPI_Errhandler *errhandler)
{
	return mpi_errhandler_create(F_MPI_Comm_create_errhandler,
				     (void *)mpi_errhandler_trampoline(comm_errhandler_fn), errhandler);
}

int mpi_impl_Errhandler_create(MPI_Comm_errhandler_function *comm_errhandler_fn,
			       MPI_Errhandler *errhandler)
{
	return mpi_errhandler_create(F_MPI_Errhandler_create,
				     (void *)mpi_errhandler_trampoline(comm_errhandler_fn), errhandler);
}

/* The buffer of buffered sends lives in the application's memory (saved);
 * MPICH's record of it does not: a restart attaches it again
 * (mpi_buffer_reattach). */
static void *bsend_buf;
static MPI_Count bsend_size;

int mpi_impl_Buffer_attach_c(void *buffer, MPI_Count size)
{
	MPI_LOWER_READY();
	long t = cross_enter();
	int rc = MPI_FN(MPI_Buffer_attach_c)(buffer, size);
	cross_leave(t);
	if (rc == MPI_SUCCESS) {
		bsend_buf = buffer;
		bsend_size = size;
	}
	return rc;
}

int mpi_impl_Buffer_attach(void *buffer, int size)
{
	return mpi_impl_Buffer_attach_c(buffer, size);
}

int mpi_impl_Buffer_detach_c(void *buffer_addr, MPI_Count *size)
{
	MPI_LOWER_READY();
	long t = cross_enter();
	int rc = MPI_FN(MPI_Buffer_detach_c)(buffer_addr, size);
	cross_leave(t);
	if (rc == MPI_SUCCESS)
		bsend_buf = NULL;
	return rc;
}

int mpi_impl_Buffer_detach(void *buffer_addr, int *size)
{
	MPI_Count n = 0;
	int rc = mpi_impl_Buffer_detach_c(buffer_addr, &n);
	if (rc == MPI_SUCCESS)
		*size = n > 0x7fffffff ? 0x7fffffff : (int)n;
	return rc;
}

int mpi_buffer_reattach(void)
{
	if (!bsend_buf)
		return MPI_SUCCESS;
	long t = cross_enter();
	int rc = MPI_FN(MPI_Buffer_attach_c)(bsend_buf, bsend_size);
	cross_leave(t);
	return rc;
}
