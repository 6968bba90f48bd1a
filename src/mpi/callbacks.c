/* Calls from the lower half back into the application.
 *
 * MPICH calls a user reduction operation or error handler with no user
 * data, so the upper half cannot pass it a closure. Instead it gives the
 * lower half one of a fixed set of trampolines; trampoline N knows slot N,
 * which holds the application's function. Each trampoline runs with the
 * lower half's thread pointer (in the split process), so it brackets the
 * application's function with callback_enter/leave, which switch back, and
 * turns the real handles it is given into the application's virtual ones.
 *
 * A slot holds one function for the life of the process, shared by every
 * op or handler made with it: MPI lets a program free an error handler
 * still set on a communicator, or an op a pending collective uses, and the
 * real object lives on, calling the trampoline. So at most NSLOTS distinct
 * functions of each kind.
 */
#include <pthread.h>

#include "mpi/upper.h"

#define NSLOTS 64

struct slots {
	pthread_mutex_t lock;
	void *fn[NSLOTS];
};

static struct slots ops = { PTHREAD_MUTEX_INITIALIZER, { 0 } };
static struct slots ops_c = { PTHREAD_MUTEX_INITIALIZER, { 0 } };
static struct slots ehs = { PTHREAD_MUTEX_INITIALIZER, { 0 } };
static struct slots win_ehs = { PTHREAD_MUTEX_INITIALIZER, { 0 } };
static struct slots file_ehs = { PTHREAD_MUTEX_INITIALIZER, { 0 } };

/* fn's slot: the one it already has, or a free one (-1: none left) */
static int slot_take(struct slots *s, void *fn)
{
	int i, got = -1;
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < NSLOTS && s->fn[i]; i++)
		if (s->fn[i] == fn) {
			got = i;
			break;
		}
	if (got < 0 && i < NSLOTS) {
		__atomic_store_n(&s->fn[i], fn, __ATOMIC_RELEASE);
		got = i;
	}
	pthread_mutex_unlock(&s->lock);
	return got;
}

static void op_call(int slot, void *in, void *inout, int *len, MPI_Datatype *type)
{
	MPI_User_function *fn = __atomic_load_n((MPI_User_function **)&ops.fn[slot], __ATOMIC_ACQUIRE);
	long t = callback_enter();
	MPI_Datatype vtype = h_real_to_virtual(MK_DATATYPE, *type);
	fn(in, inout, len, &vtype);
	callback_leave(t);
}

static void op_c_call(int slot, void *in, void *inout, MPI_Count *len, MPI_Datatype *type)
{
	MPI_User_function_c *fn = __atomic_load_n((MPI_User_function_c **)&ops_c.fn[slot], __ATOMIC_ACQUIRE);
	long t = callback_enter();
	MPI_Datatype vtype = h_real_to_virtual(MK_DATATYPE, *type);
	fn(in, inout, len, &vtype);
	callback_leave(t);
}

static void win_eh_call(int slot, MPI_Win *win, int *code)
{
	MPI_Win_errhandler_function *fn =
		__atomic_load_n((MPI_Win_errhandler_function **)&win_ehs.fn[slot], __ATOMIC_ACQUIRE);
	long t = callback_enter();
	MPI_Win vwin = h_real_to_virtual(MK_WIN, *win);
	fn(&vwin, code);
	callback_leave(t);
}

static void file_eh_call(int slot, MPI_File *file, int *code)
{
	MPI_File_errhandler_function *fn =
		__atomic_load_n((MPI_File_errhandler_function **)&file_ehs.fn[slot], __ATOMIC_ACQUIRE);
	long t = callback_enter();
	MPI_File vfile = hf_real_to_virtual(*file);
	fn(&vfile, code);
	callback_leave(t);
}

static void eh_call(int slot, MPI_Comm *comm, int *code)
{
	MPI_Comm_errhandler_function *fn =
		__atomic_load_n((MPI_Comm_errhandler_function **)&ehs.fn[slot], __ATOMIC_ACQUIRE);
	long t = callback_enter();
	MPI_Comm vcomm = h_real_to_virtual(MK_COMM, *comm);
	fn(&vcomm, code);
	callback_leave(t);
}

#define T(n)                                                                                \
	static void op_##n(void *a, void *b, int *len, MPI_Datatype *t)                     \
	{                                                                                   \
		op_call(n, a, b, len, t);                                                   \
	}                                                                                   \
	static void eh_##n(MPI_Comm *c, int *code, ...)                                     \
	{                                                                                   \
		eh_call(n, c, code);                                                        \
	}                                                                                   \
	static void op_c_##n(void *a, void *b, MPI_Count *len, MPI_Datatype *t)            \
	{                                                                                   \
		op_c_call(n, a, b, len, t);                                                 \
	}                                                                                   \
	static void win_eh_##n(MPI_Win *w, int *code, ...)                                  \
	{                                                                                   \
		win_eh_call(n, w, code);                                                    \
	}                                                                                   \
	static void file_eh_##n(MPI_File *f, int *code, ...)                                \
	{                                                                                   \
		file_eh_call(n, f, code);                                                   \
	}
#define T8(n) T(n##0) T(n##1) T(n##2) T(n##3) T(n##4) T(n##5) T(n##6) T(n##7)
T8(0)
T8(1)
T8(2)
T8(3)
T8(4)
T8(5)
T8(6)
T8(7)
#undef T

#define T(n) op_##n,
static MPI_User_function *const op_tramp[NSLOTS] = { T8(0) T8(1) T8(2) T8(3) T8(4) T8(5) T8(6) T8(7) };
#undef T
#define T(n) eh_##n,
static MPI_Comm_errhandler_function *const eh_tramp[NSLOTS] = { T8(0) T8(1) T8(2) T8(3)
								 T8(4) T8(5) T8(6) T8(7) };
#undef T
#define T(n) op_c_##n,
static MPI_User_function_c *const op_c_tramp[NSLOTS] = { T8(0) T8(1) T8(2) T8(3)
							 T8(4) T8(5) T8(6) T8(7) };
#undef T
#define T(n) win_eh_##n,
static MPI_Win_errhandler_function *const win_eh_tramp[NSLOTS] = { T8(0) T8(1) T8(2) T8(3)
								   T8(4) T8(5) T8(6) T8(7) };
#undef T
#define T(n) file_eh_##n,
static MPI_File_errhandler_function *const file_eh_tramp[NSLOTS] = { T8(0) T8(1) T8(2) T8(3)
								     T8(4) T8(5) T8(6) T8(7) };
#undef T

MPI_User_function *mpi_op_trampoline(MPI_User_function *fn)
{
	int i = slot_take(&ops, (void *)fn);
	if (i < 0)
		mpi_die("more than %d distinct user-defined reduction functions", NSLOTS);
	return op_tramp[i];
}

MPI_User_function_c *mpi_op_c_trampoline(MPI_User_function_c *fn)
{
	int i = slot_take(&ops_c, (void *)fn);
	if (i < 0)
		mpi_die("more than %d distinct user-defined large-count reduction functions", NSLOTS);
	return op_c_tramp[i];
}

MPI_Comm_errhandler_function *mpi_errhandler_trampoline(MPI_Comm_errhandler_function *fn)
{
	int i = slot_take(&ehs, (void *)fn);
	if (i < 0)
		mpi_die("more than %d distinct user-defined error handler functions", NSLOTS);
	return eh_tramp[i];
}

MPI_Win_errhandler_function *mpi_win_errhandler_trampoline(MPI_Win_errhandler_function *fn)
{
	int i = slot_take(&win_ehs, (void *)fn);
	if (i < 0)
		mpi_die("more than %d distinct user-defined window error handler functions", NSLOTS);
	return win_eh_tramp[i];
}

MPI_File_errhandler_function *mpi_file_errhandler_trampoline(MPI_File_errhandler_function *fn)
{
	int i = slot_take(&file_ehs, (void *)fn);
	if (i < 0)
		mpi_die("more than %d distinct user-defined file error handler functions", NSLOTS);
	return file_eh_tramp[i];
}

/* --- Callbacks that get an extra_state: closures ------------------------------
 * Attribute copy/delete functions and generalized requests receive the
 * extra_state given at creation, so the upper half gives the lower half a
 * closure of its own there (the application's functions and extra_state)
 * and one fixed trampoline per signature. A keyval's closure lives as long
 * as the process: MPI may call its functions after MPI_*_free_keyval, while
 * attributes remain. A generalized request's closure is freed by its free
 * function, which MPI calls exactly once. */
#include <stdlib.h>

#include "mpi/log.h"

static void keyval_add(int v, int real, int kind);
static void keyval_rebind(int v, int real);

struct closure {
	void *copy, *del; /* keyvals: the application's functions */
	void *query, *free, *cancel; /* generalized requests */
	void *extra; /* the application's extra_state */
};

static struct closure *closure_new(void)
{
	struct closure *c = calloc(1, sizeof(*c));
	if (!c)
		mpi_die("out of memory for an MPI callback");
	return c;
}

/* MPICH reads the predefined functions as NULL (MPI_*_NULL_*_FN): those
 * need no trampoline. MPI_*_DUP_FN is the upper half's MPIR_Dup_fn: called
 * through the trampoline like any application function. */
#define ATTR_TRAMPOLINES(K, HANDLE, KIND, IN)                                                   \
	static int K##_copy_tramp(HANDLE old, int keyval, void *extra, void *in, void *out,          \
				  int *flag)                                                     \
	{                                                                                        \
		struct closure *c = extra;                                                       \
		if (mpi_replaying) { /* the attributes come back from mpi_attrs_restore */        \
			*flag = 0;                                                               \
			return MPI_SUCCESS;                                                      \
		}                                                                                \
		long t = callback_enter();                                                       \
		HANDLE v = (HANDLE)IN(KIND, old);                                                \
		int vk = h_real_to_virtual(MK_KEYVAL, keyval);                                   \
		int rc = ((MPI_##K##_copy_attr_function *)c->copy)(v, vk, c->extra, in, out, flag); \
		callback_leave(t);                                                               \
		return rc;                                                                       \
	}                                                                                        \
	static int K##_delete_tramp(HANDLE obj, int keyval, void *val, void *extra)              \
	{                                                                                        \
		struct closure *c = extra;                                                       \
		if (mpi_replaying)                                                               \
			return MPI_SUCCESS;                                                      \
		long t = callback_enter();                                                       \
		HANDLE v = (HANDLE)IN(KIND, obj);                                                \
		int vk = h_real_to_virtual(MK_KEYVAL, keyval);                                   \
		int rc = ((MPI_##K##_delete_attr_function *)c->del)(v, vk, val, c->extra);       \
		callback_leave(t);                                                               \
		return rc;                                                                       \
	}

ATTR_TRAMPOLINES(Comm, MPI_Comm, MK_COMM, h_real_to_virtual)
ATTR_TRAMPOLINES(Type, MPI_Datatype, MK_DATATYPE, h_real_to_virtual)
ATTR_TRAMPOLINES(Win, MPI_Win, MK_WIN, h_real_to_virtual)

static struct closure *attr_closure(void *copy, void *del, void *extra)
{
	struct closure *c = closure_new();
	c->copy = copy;
	c->del = del;
	c->extra = extra;
	return c;
}

/* kind: 0 comm, 1 datatype, 2 win, 3 MPI-1's MPI_Keyval_create */
static int create_keyval(int kind, void *copy, void *del, int *keyval, void *extra)
{
	struct closure *c = attr_closure(copy, del, extra);
	int real = MPI_KEYVAL_INVALID, rc;
	MPI_LOWER_READY();
	long t = cross_enter();
	switch (kind) {
	case 0:
		rc = MPI_FN(MPI_Comm_create_keyval)(copy ? Comm_copy_tramp : NULL,
						    del ? Comm_delete_tramp : NULL, &real, c);
		break;
	case 1:
		rc = MPI_FN(MPI_Type_create_keyval)(copy ? Type_copy_tramp : NULL,
						    del ? Type_delete_tramp : NULL, &real, c);
		break;
	case 2:
		rc = MPI_FN(MPI_Win_create_keyval)(copy ? Win_copy_tramp : NULL,
						   del ? Win_delete_tramp : NULL, &real, c);
		break;
	default:
		rc = MPI_FN(MPI_Keyval_create)(copy ? (MPI_Copy_function *)Comm_copy_tramp : NULL,
					       del ? (MPI_Delete_function *)Comm_delete_tramp : NULL,
					       &real, c);
		break;
	}
	cross_leave(t);
	if (rc != MPI_SUCCESS) {
		free(c);
		return rc;
	}
	*keyval = h_out(MK_KEYVAL, real);
	/* made again after a restart (mpi_keyval_replay), and the attributes
	 * of communicators and datatypes set again (mpi_attrs_restore) */
	static const int fns[] = { F_MPI_Comm_create_keyval, F_MPI_Type_create_keyval,
				   F_MPI_Win_create_keyval, F_MPI_Keyval_create };
	struct mpi_log_rec *L = mpi_log_begin(fns[kind]);
	mpi_log_put(L, &c, sizeof(c));
	mpi_log_put(L, keyval, sizeof(*keyval));
	mpi_log_end(L);
	h_mark_rebuilt(MK_KEYVAL, *keyval);
	keyval_add(*keyval, real, kind);
	return rc;
}

int mpi_keyval_replay(int fn, struct mpi_log_reader *R)
{
	struct closure *c = NULL;
	int v = 0, real = MPI_KEYVAL_INVALID, rc;
	mpi_log_get(R, &c, sizeof(c));
	mpi_log_get(R, &v, sizeof(v));
	if (mpi_log_bad(R) || !c)
		return -1;
	long t = cross_enter();
	switch (fn) {
	case F_MPI_Comm_create_keyval:
		rc = MPI_FN(MPI_Comm_create_keyval)(c->copy ? Comm_copy_tramp : NULL,
						    c->del ? Comm_delete_tramp : NULL, &real, c);
		break;
	case F_MPI_Type_create_keyval:
		rc = MPI_FN(MPI_Type_create_keyval)(c->copy ? Type_copy_tramp : NULL,
						    c->del ? Type_delete_tramp : NULL, &real, c);
		break;
	case F_MPI_Win_create_keyval:
		rc = MPI_FN(MPI_Win_create_keyval)(c->copy ? Win_copy_tramp : NULL,
						   c->del ? Win_delete_tramp : NULL, &real, c);
		break;
	default:
		rc = MPI_FN(MPI_Keyval_create)(c->copy ? (MPI_Copy_function *)Comm_copy_tramp : NULL,
					       c->del ? (MPI_Delete_function *)Comm_delete_tramp : NULL,
					       &real, c);
		break;
	}
	cross_leave(t);
	if (rc == MPI_SUCCESS) {
		h_rebind(MK_KEYVAL, v, real);
		keyval_rebind(v, real);
	}
	return rc;
}

/* --- Attributes across a restart ------------------------------------------
 * The replay makes the keyvals again and runs no application callback
 * (mpi_replaying): a communicator or datatype made again by a dup gets no
 * copies. Before every image the attributes of every live communicator
 * and datatype (predefined ones included) are read (mpi_attrs_snapshot,
 * into this half: they are in the image); after a restart they are set
 * again as they were. Windows' keyvals are made again; windows themselves
 * are not (a rank holding one refuses its checkpoint), so neither are
 * their attributes. */
struct kvent {
	int v, real; /* virtual, and the real handle it had */
	int kind;    /* as create_keyval's: 0 comm, 1 datatype, 2 win, 3 comm (MPI-1) */
};
static struct kvent *kvs;
static int nkv;
static size_t capkv;
static pthread_mutex_t kv_lock = PTHREAD_MUTEX_INITIALIZER;

static void keyval_add(int v, int real, int kind)
{
	pthread_mutex_lock(&kv_lock);
	for (int i = 0; i < nkv; i++)
		if (kvs[i].v == v) { /* a freed keyval's handle, used again */
			kvs[i] = (struct kvent){ v, real, kind };
			pthread_mutex_unlock(&kv_lock);
			return;
		}
	kvs = mpi_grow(kvs, (size_t)nkv, &capkv, sizeof(*kvs), 16, "keyvals");
	kvs[nkv++] = (struct kvent){ v, real, kind };
	pthread_mutex_unlock(&kv_lock);
}

static void keyval_rebind(int v, int real)
{
	pthread_mutex_lock(&kv_lock);
	for (int i = 0; i < nkv; i++)
		if (kvs[i].v == v)
			kvs[i].real = real;
	pthread_mutex_unlock(&kv_lock);
}

/* a keyval still live as itself: its virtual handle still names the real
 * one it was made as (a freed one's handle may be reused) */
static int keyval_live(const struct kvent *k)
{
	return k->real != MPI_KEYVAL_INVALID && h_in(MK_KEYVAL, k->v) == k->real;
}

struct attr {
	int obj, keyval; /* virtual */
	int type; /* obj is a datatype, not a communicator */
	void *val;
};
static struct attr *attrs;
static int nattrs;
static size_t capattrs;

/* the attributes of one object (a communicator, or a datatype) */
static void snap_obj(int vobj, int type)
{
	int robj = type ? h_in(MK_DATATYPE, vobj) : h_in(MK_COMM, vobj);
	for (int i = 0; i < nkv; i++) {
		if ((kvs[i].kind == 1) != type || kvs[i].kind == 2 || !keyval_live(&kvs[i]))
			continue;
		void *val = NULL;
		int flag = 0;
		long t = cross_enter();
		int rc = type ? MPI_FN(MPI_Type_get_attr)(robj, kvs[i].real, &val, &flag)
			      : MPI_FN(MPI_Comm_get_attr)(robj, kvs[i].real, &val, &flag);
		cross_leave(t);
		if (rc != MPI_SUCCESS || !flag)
			continue;
		attrs = mpi_grow(attrs, (size_t)nattrs, &capattrs, sizeof(*attrs), 16, "attributes");
		attrs[nattrs++] = (struct attr){ vobj, kvs[i].v, type, val };
	}
}

static void snap_comm(int vcomm, struct mpi_comm_cache *cc, void *arg)
{
	(void)cc;
	(void)arg;
	snap_obj(vcomm, 0);
}

static void snap_type(int vtype, int real, void *arg)
{
	(void)real;
	(void)arg;
	snap_obj(vtype, 1);
}

void mpi_attrs_snapshot(void)
{
	int comm = 0, type = 0;
	pthread_mutex_lock(&kv_lock);
	nattrs = 0;
	for (int i = 0; i < nkv; i++) {
		comm |= kvs[i].kind == 0 || kvs[i].kind == 3;
		type |= kvs[i].kind == 1;
	}
	if (comm) {
		snap_comm(MPI_COMM_WORLD, NULL, NULL);
		snap_comm(MPI_COMM_SELF, NULL, NULL);
		h_comm_each(snap_comm, NULL);
	}
	if (type) {
		for (int i = 0; i < mpi_predefined_ntypes; i++)
			snap_obj(mpi_predefined_types[i], 1);
		h_each(MK_DATATYPE, snap_type, NULL);
	}
	pthread_mutex_unlock(&kv_lock);
}

int mpi_attrs_restore(void)
{
	for (int i = 0; i < nattrs; i++) {
		int kv = h_in(MK_KEYVAL, attrs[i].keyval), rc;
		long t = cross_enter();
		if (attrs[i].type)
			rc = MPI_FN(MPI_Type_set_attr)(h_in(MK_DATATYPE, attrs[i].obj), kv, attrs[i].val);
		else
			rc = MPI_FN(MPI_Comm_set_attr)(h_in(MK_COMM, attrs[i].obj), kv, attrs[i].val);
		cross_leave(t);
		if (rc != MPI_SUCCESS)
			return rc;
	}
	return MPI_SUCCESS;
}

int mpi_impl_Comm_create_keyval(MPI_Comm_copy_attr_function *comm_copy_attr_fn,
				MPI_Comm_delete_attr_function *comm_delete_attr_fn, int *comm_keyval,
				void *extra_state)
{
	return create_keyval(0, (void *)comm_copy_attr_fn, (void *)comm_delete_attr_fn, comm_keyval,
			     extra_state);
}

int mpi_impl_Type_create_keyval(MPI_Type_copy_attr_function *type_copy_attr_fn,
				MPI_Type_delete_attr_function *type_delete_attr_fn, int *type_keyval,
				void *extra_state)
{
	return create_keyval(1, (void *)type_copy_attr_fn, (void *)type_delete_attr_fn, type_keyval,
			     extra_state);
}

int mpi_impl_Win_create_keyval(MPI_Win_copy_attr_function *win_copy_attr_fn,
			       MPI_Win_delete_attr_function *win_delete_attr_fn, int *win_keyval,
			       void *extra_state)
{
	return create_keyval(2, (void *)win_copy_attr_fn, (void *)win_delete_attr_fn, win_keyval,
			     extra_state);
}

int mpi_impl_Keyval_create(MPI_Copy_function *copy_fn, MPI_Delete_function *delete_fn, int *keyval,
			   void *extra_state)
{
	return create_keyval(3, (void *)copy_fn, (void *)delete_fn, keyval, extra_state);
}

/* Generalized requests. */
static int greq_query_tramp(void *extra, MPI_Status *status)
{
	struct closure *c = extra;
	long t = callback_enter();
	int rc = ((MPI_Grequest_query_function *)c->query)(c->extra, status);
	callback_leave(t);
	return rc;
}

static int greq_free_tramp(void *extra)
{
	struct closure *c = extra;
	long t = callback_enter();
	int rc = ((MPI_Grequest_free_function *)c->free)(c->extra);
	free(c); /* the upper libc, with the upper thread pointer */
	callback_leave(t);
	return rc;
}

static int greq_cancel_tramp(void *extra, int complete)
{
	struct closure *c = extra;
	long t = callback_enter();
	int rc = ((MPI_Grequest_cancel_function *)c->cancel)(c->extra, complete);
	callback_leave(t);
	return rc;
}

int mpi_impl_Grequest_start(MPI_Grequest_query_function *query_fn, MPI_Grequest_free_function *free_fn,
			    MPI_Grequest_cancel_function *cancel_fn, void *extra_state,
			    MPI_Request *request)
{
	struct closure *c = closure_new();
	c->query = (void *)query_fn;
	c->free = (void *)free_fn;
	c->cancel = (void *)cancel_fn;
	c->extra = extra_state;
	int real = MPI_REQUEST_NULL;
	MPI_LOWER_READY();
	long t = cross_enter();
	int rc = MPI_FN(MPI_Grequest_start)(greq_query_tramp, greq_free_tramp, greq_cancel_tramp, c,
					     &real);
	cross_leave(t);
	if (rc != MPI_SUCCESS) {
		free(c);
		return rc;
	}
	*request = h_out(MK_REQUEST, real);
	struct mpi_req_flight *f = h_req_flight(*request);
	if (f) {
		f->kind = FL_GREQ;
		f->buf = c;
		f->active = 1;
	}
	return rc;
}

int mpi_impl_Grequest_complete(MPI_Request request)
{
	MPI_LOWER_READY();
	int real = h_in(MK_REQUEST, request);
	long t = cross_enter();
	int rc = MPI_FN(MPI_Grequest_complete)(real);
	cross_leave(t);
	struct mpi_req_flight *f = h_req_flight(request);
	if (rc == MPI_SUCCESS && f && f->kind == FL_GREQ)
		f->active = 0;
	return rc;
}

int mpi_grequest_again(const struct mpi_req_flight *f, MPI_Request *real)
{
	int rc = MPI_FN(MPI_Grequest_start)(greq_query_tramp, greq_free_tramp, greq_cancel_tramp,
					     f->buf, real);
	if (rc == MPI_SUCCESS && !f->active)
		rc = MPI_FN(MPI_Grequest_complete)(*real);
	return rc;
}
