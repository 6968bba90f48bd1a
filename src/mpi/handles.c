/* Virtual handles: what the application holds instead of MPICH's handles.
 *
 * A virtual handle looks like one of MPICH's own indirect handles: bits
 * 30-31 are 3, bits 26-29 are MPICH's object type (so MPI_Comm_c2f and any
 * code that peeks at the type bits keep working), bits 0-25 index a table
 * per kind. The table maps the index to the lower half's real handle, which
 * a restart will replace; the application's value never changes.
 *
 * Predefined handles (MPICH kinds 0 "null" and 1 "builtin", and the direct
 * pair types like MPI_FLOAT_INT) are passed through both ways unchanged.
 *
 * Lookups are lock-free: entries live in blocks that are never moved or
 * freed, and a block is published before any index into it is handed out.
 * Allocation and release take the kind's mutex.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/cut.h"
#include "mpi/flight.h"
#include "mpi/upper.h"

#define BLOCK_SHIFT 12
#define BLOCK_SIZE (1u << BLOCK_SHIFT)
#define INDEX_BITS 26
#define MAX_BLOCKS ((1u << INDEX_BITS) / BLOCK_SIZE)

struct hobj {
	_Atomic int real; /* 0: free */
	int next_free;
	int rebuilt; /* made by a logged call (log.c): a restart makes it again */
	int holds; /* datatypes, ops: requests that name it (h_hold) */
	int app_freed; /* freed by the application while held: freed when not */
	struct mpi_req_flight fl; /* requests (flight.c) */
	union {
		struct mpi_comm_cache comm;
		int type_size; /* -1: not asked yet */
		int *keep[2]; /* request: arrays the lower half reads until done */
		void *extra; /* win: win.c's record */
	} u;
};

struct htable {
	pthread_mutex_t lock;
	_Atomic(struct hobj *) blocks[MAX_BLOCKS];
	_Atomic unsigned top; /* entries ever handed out */
	int free_head; /* -1: none */
	unsigned type_bits; /* MPICH's object type, bits 26-29 */
};

static struct htable tables[MK_COUNT];

/* MPICH's object types (src/include/mpir_objects.h); messages are requests. */
static const unsigned mpich_type[MK_COUNT] = {
	[MK_COMM] = 1,	   [MK_GROUP] = 2, [MK_DATATYPE] = 3,   [MK_OP] = 6,
	[MK_REQUEST] = 11, [MK_MESSAGE] = 11, [MK_ERRHANDLER] = 5, [MK_INFO] = 7,
	[MK_KEYVAL] = 9, [MK_WIN] = 8,
};

static struct mpi_comm_cache world_cache = { .rank = -1, .size = -1, .group_size = -1,
					      .nin = -1, .nout = -1, .inter = 0 };
static struct mpi_comm_cache self_cache = { .rank = -1, .size = -1, .group_size = -1,
					     .nin = -1, .nout = -1, .inter = 0 };

__attribute__((constructor)) static void handles_init(void)
{
	for (int k = 0; k < MK_COUNT; k++) {
		pthread_mutex_init(&tables[k].lock, NULL);
		tables[k].free_head = -1;
		tables[k].type_bits = mpich_type[k];
	}
}

static int predefined_real(int real)
{
	unsigned kind = (unsigned)real >> 30;
	return kind < 2 || (kind == 2 && mpi_predefined_direct(real));
}

int h_is_virtual(int v)
{
	return ((unsigned)v >> 30) == 3;
}

static struct hobj *entry(enum mpi_kind k, int v)
{
	unsigned u = (unsigned)v;
	if ((u >> 30) != 3 || ((u >> INDEX_BITS) & 0xf) != tables[k].type_bits)
		return NULL;
	unsigned idx = u & ((1u << INDEX_BITS) - 1);
	if (idx >= atomic_load_explicit(&tables[k].top, memory_order_acquire))
		return NULL;
	struct hobj *b = atomic_load_explicit(&tables[k].blocks[idx >> BLOCK_SHIFT],
					      memory_order_acquire);
	return b ? &b[idx & (BLOCK_SIZE - 1)] : NULL;
}

int h_in(enum mpi_kind k, int v)
{
	unsigned kind = (unsigned)v >> 30;
	if (kind == 3) {
		struct hobj *e = entry(k, v);
		return e ? atomic_load_explicit(&e->real, memory_order_acquire) : 0;
	}
	if (kind == 2 && !mpi_predefined_direct(v))
		return 0;
	return v;
}

static int virtual_of(enum mpi_kind k, unsigned idx)
{
	return (int)(0xc0000000u | (tables[k].type_bits << INDEX_BITS) | idx);
}

static void release(enum mpi_kind k, int v, struct hobj *e);

/* A new entry whose real handle is real (any, a null one included). */
static int alloc_entry(enum mpi_kind k, int real)
{
	struct htable *t = &tables[k];
	pthread_mutex_lock(&t->lock);
	unsigned idx;
	if (t->free_head >= 0) {
		idx = (unsigned)t->free_head;
		struct hobj *b = atomic_load_explicit(&t->blocks[idx >> BLOCK_SHIFT], memory_order_relaxed);
		t->free_head = b[idx & (BLOCK_SIZE - 1)].next_free;
	} else {
		idx = atomic_load_explicit(&t->top, memory_order_relaxed);
		if (idx >> BLOCK_SHIFT >= MAX_BLOCKS)
			mpi_die("more than %u live MPI handles of one kind", 1u << INDEX_BITS);
		if (!atomic_load_explicit(&t->blocks[idx >> BLOCK_SHIFT], memory_order_relaxed)) {
			struct hobj *b = calloc(BLOCK_SIZE, sizeof(*b));
			if (!b)
				mpi_die("out of memory for MPI handles");
			atomic_store_explicit(&t->blocks[idx >> BLOCK_SHIFT], b, memory_order_release);
		}
		atomic_store_explicit(&t->top, idx + 1, memory_order_release);
	}
	struct hobj *e = &atomic_load_explicit(&t->blocks[idx >> BLOCK_SHIFT],
					       memory_order_relaxed)[idx & (BLOCK_SIZE - 1)];
	memset(&e->u, 0, sizeof(e->u));
	memset(&e->fl, 0, sizeof(e->fl));
	e->rebuilt = 0;
	switch (k) {
	case MK_COMM:
		e->u.comm = (struct mpi_comm_cache)MPI_COMM_CACHE_INIT;
		break;
	case MK_DATATYPE:
		e->u.type_size = -1;
		break;
	default:
		break;
	}
	atomic_store_explicit(&e->real, real, memory_order_release);
	pthread_mutex_unlock(&t->lock);
	return virtual_of(k, idx);
}

int h_out(enum mpi_kind k, int real)
{
	if (predefined_real(real))
		return real;
	return alloc_entry(k, real);
}

int h_out_inactive(void)
{
	return alloc_entry(MK_REQUEST, MPI_REQUEST_NULL);
}

void h_release(enum mpi_kind k, int v)
{
	struct hobj *e = entry(k, v);
	if (e && atomic_load_explicit(&e->real, memory_order_acquire))
		release(k, v, e);
}

void h_set_real(enum mpi_kind k, int v, int real)
{
	struct hobj *e = entry(k, v);
	if (e && atomic_load_explicit(&e->real, memory_order_acquire))
		atomic_store_explicit(&e->real, real, memory_order_release);
}

static void release(enum mpi_kind k, int v, struct hobj *e)
{
	struct htable *t = &tables[k];
	if (k == MK_REQUEST) {
		free(e->u.keep[0]);
		free(e->u.keep[1]);
		if (e->fl.pair)
			flight_pair_released(&e->fl);
		flight_unhold(&e->fl);
	} else if (k == MK_COMM) {
		free(atomic_exchange(&e->u.comm.world, NULL));
	}
	pthread_mutex_lock(&t->lock);
	atomic_store_explicit(&e->real, 0, memory_order_release);
	e->next_free = t->free_head;
	t->free_head = (int)((unsigned)v & ((1u << INDEX_BITS) - 1));
	pthread_mutex_unlock(&t->lock);
}

/* After a call that may have replaced or released the object (MPI_Wait,
 * MPI_Comm_free, MPI_Type_commit...): MPICH sets a released handle to the
 * kind's null handle, and so must we in the application's variable. */
int h_update(enum mpi_kind k, int v, int real_before, int real_after)
{
	if (real_after == real_before)
		return v;
	struct hobj *e = entry(k, v);
	if (!e)
		return h_out(k, real_after);
	if (predefined_real(real_after)) {
		if (k == MK_REQUEST && e->fl.pcoll) {
			/* an emulated persistent collective (flight.c) completed:
			 * inactive again, as MPI leaves it */
			e->fl.cut = FLC_NONE;
			e->fl.active = 0;
			atomic_store_explicit(&e->real, MPI_REQUEST_NULL, memory_order_release);
			return v;
		}
		if (k == MK_REQUEST && e->fl.cut == FLC_DONE &&
		    (e->fl.kind == FL_PRECV || e->fl.kind == FL_PSEND)) {
			/* a persistent request's stand-in (cut.c) completed: the
			 * request itself again, inactive, as MPI leaves it */
			int r = cut_persistent_again(v, &e->fl);
			if (r) {
				atomic_store_explicit(&e->real, r, memory_order_release);
				return v;
			}
		}
		release(k, v, e);
		return real_after;
	}
	atomic_store_explicit(&e->real, real_after, memory_order_release);
	return v;
}

int *h_in_array(enum mpi_kind k, const int *v, int n, int *stackbuf, int nstack)
{
	if (!v)
		return NULL;
	int *r = stackbuf;
	if (n > nstack || !stackbuf) {
		r = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
		if (!r)
			mpi_die("out of memory translating %d MPI handles", n);
	}
	for (int i = 0; i < n; i++)
		r[i] = h_in(k, v[i]);
	return r;
}

void h_update_array(enum mpi_kind k, int *v, const int *real, int n)
{
	if (!v || !real)
		return;
	for (int i = 0; i < n; i++) {
		int before = h_in(k, v[i]);
		if (real[i] != before)
			v[i] = h_update(k, v[i], before, real[i]);
	}
}

void h_array_done(int *real, int *stackbuf)
{
	if (real != stackbuf)
		free(real);
}

/* A non-blocking or persistent call's arrays of handles must stay valid
 * until the request is released: the lower half may read them meanwhile. */
void h_request_keep(int vreq, int *heap_array)
{
	struct hobj *e = entry(MK_REQUEST, vreq);
	if (!heap_array)
		return;
	if (!e) {
		free(heap_array);
		return;
	}
	if (!e->u.keep[0])
		e->u.keep[0] = heap_array;
	else if (!e->u.keep[1])
		e->u.keep[1] = heap_array;
	else
		free(heap_array); /* never: no call passes three arrays */
}

int h_hold(enum mpi_kind k, int v)
{
	struct hobj *e = h_is_virtual(v) ? entry(k, v) : NULL;
	if (!e || !atomic_load_explicit(&e->real, memory_order_acquire))
		return 0;
	pthread_mutex_lock(&tables[k].lock);
	e->holds++;
	pthread_mutex_unlock(&tables[k].lock);
	return 1;
}

int h_unhold(enum mpi_kind k, int v)
{
	struct hobj *e = entry(k, v);
	if (!e)
		return 0;
	pthread_mutex_lock(&tables[k].lock);
	int due = --e->holds == 0 && e->app_freed;
	if (due)
		e->app_freed = 0;
	pthread_mutex_unlock(&tables[k].lock);
	return due;
}

int h_free_deferred(enum mpi_kind k, int *v)
{
	struct hobj *e = h_is_virtual(*v) ? entry(k, *v) : NULL;
	if (!e)
		return 0;
	pthread_mutex_lock(&tables[k].lock);
	int held = e->holds > 0 && atomic_load_explicit(&e->real, memory_order_acquire);
	if (held)
		e->app_freed = 1;
	pthread_mutex_unlock(&tables[k].lock);
	if (held)
		*v = k == MK_OP ? MPI_OP_NULL : MPI_DATATYPE_NULL;
	return held;
}

void h_request_keep_new(int vreq, int *heap_arrays[2])
{
	struct hobj *e = entry(MK_REQUEST, vreq);
	if (e) {
		free(e->u.keep[0]);
		free(e->u.keep[1]);
		e->u.keep[0] = e->u.keep[1] = NULL;
	}
	h_request_keep(vreq, heap_arrays[0]);
	h_request_keep(vreq, heap_arrays[1]);
}

/* For callbacks, whose arguments the lower half gives in real handles.
 * A linear scan: callbacks that need it are rare and tables small. */
int h_real_to_virtual(enum mpi_kind k, int real)
{
	if (predefined_real(real))
		return real;
	struct htable *t = &tables[k];
	unsigned top = atomic_load_explicit(&t->top, memory_order_acquire);
	for (unsigned i = 0; i < top; i++) {
		struct hobj *b = atomic_load_explicit(&t->blocks[i >> BLOCK_SHIFT], memory_order_acquire);
		if (b && atomic_load_explicit(&b[i & (BLOCK_SIZE - 1)].real, memory_order_acquire) == real)
			return virtual_of(k, i);
	}
	return real;
}

struct mpi_comm_cache *h_comm_cache(int vcomm)
{
	if (vcomm == MPI_COMM_WORLD)
		return &world_cache;
	if (vcomm == MPI_COMM_SELF)
		return &self_cache;
	struct hobj *e = entry(MK_COMM, vcomm);
	return e && atomic_load_explicit(&e->real, memory_order_acquire) ? &e->u.comm : NULL;
}

struct mpi_req_flight *h_req_flight(int vreq)
{
	struct hobj *e = entry(MK_REQUEST, vreq);
	return e && atomic_load_explicit(&e->real, memory_order_acquire) ? &e->fl : NULL;
}

struct mpi_req_flight *h_msg_flight(int vmsg)
{
	struct hobj *e = entry(MK_MESSAGE, vmsg);
	return e && atomic_load_explicit(&e->real, memory_order_acquire) ? &e->fl : NULL;
}

void h_req_each(void (*fn)(int vreq, int real, struct mpi_req_flight *f, void *arg), void *arg)
{
	struct htable *t = &tables[MK_REQUEST];
	unsigned top = atomic_load_explicit(&t->top, memory_order_acquire);

	for (unsigned i = 0; i < top; i++) {
		struct hobj *b = atomic_load_explicit(&t->blocks[i >> BLOCK_SHIFT], memory_order_acquire);
		struct hobj *e = b ? &b[i & (BLOCK_SIZE - 1)] : NULL;
		int real = e ? atomic_load_explicit(&e->real, memory_order_acquire) : 0;
		if (real)
			fn(virtual_of(MK_REQUEST, i), real, &e->fl, arg);
	}
}

/* Every live object of kind k that the lower half made (not a predefined
 * one): fn(virtual, real, arg). */
void h_each(enum mpi_kind k, void (*fn)(int v, int real, void *arg), void *arg)
{
	struct htable *t = &tables[k];
	unsigned top = atomic_load_explicit(&t->top, memory_order_acquire);

	for (unsigned i = 0; i < top; i++) {
		struct hobj *b = atomic_load_explicit(&t->blocks[i >> BLOCK_SHIFT], memory_order_acquire);
		int real = b ? atomic_load_explicit(&b[i & (BLOCK_SIZE - 1)].real, memory_order_acquire) : 0;
		if (real && !predefined_real(real))
			fn(virtual_of(k, i), real, arg);
	}
}

void h_comm_each(void (*fn)(int vcomm, struct mpi_comm_cache *c, void *arg), void *arg)
{
	struct htable *t = &tables[MK_COMM];
	unsigned top = atomic_load_explicit(&t->top, memory_order_acquire);

	for (unsigned i = 0; i < top; i++) {
		struct hobj *b = atomic_load_explicit(&t->blocks[i >> BLOCK_SHIFT], memory_order_acquire);
		if (b && atomic_load_explicit(&b[i & (BLOCK_SIZE - 1)].real, memory_order_acquire))
			fn(virtual_of(MK_COMM, i), &b[i & (BLOCK_SIZE - 1)].u.comm, arg);
	}
}

int *h_type_size_cache(int vtype)
{
	struct hobj *e = entry(MK_DATATYPE, vtype);
	return e && atomic_load_explicit(&e->real, memory_order_acquire) ? &e->u.type_size : NULL;
}

void **h_win_extra(int vwin)
{
	struct hobj *e = entry(MK_WIN, vwin);
	return e && atomic_load_explicit(&e->real, memory_order_acquire) ? &e->u.extra : NULL;
}

/* --- MPI_File: pointer handles ---------------------------------------------
 * Virtual handle i*16 (i >= 1) is entry i-1 of a table that only grows, in
 * blocks never moved; 0 is MPI_FILE_NULL. */
#define FILE_BLOCK 1024
#define FILE_BLOCKS 1024
static _Atomic(_Atomic(MPI_File) *) file_blocks[FILE_BLOCKS];
static _Atomic unsigned file_top;
static pthread_mutex_t file_lock = PTHREAD_MUTEX_INITIALIZER;

static _Atomic(MPI_File) *file_entry(MPI_File v)
{
	uintptr_t u = (uintptr_t)v;
	if (!u || (u & 15))
		return NULL;
	unsigned long i = (u >> 4) - 1;
	if (i >= atomic_load_explicit(&file_top, memory_order_acquire))
		return NULL;
	_Atomic(MPI_File) *b = atomic_load_explicit(&file_blocks[i / FILE_BLOCK], memory_order_acquire);
	return b ? &b[i % FILE_BLOCK] : NULL;
}

MPI_File hf_in(MPI_File v)
{
	_Atomic(MPI_File) *e = file_entry(v);
	/* An unknown non-null handle: an invalid one MPICH reports as such. */
	return e ? atomic_load_explicit(e, memory_order_acquire) : NULL;
}

MPI_File hf_out(MPI_File real)
{
	if (!real)
		return NULL;
	pthread_mutex_lock(&file_lock);
	unsigned top = atomic_load_explicit(&file_top, memory_order_relaxed), i;
	for (i = 0; i < top; i++) { /* reuse a closed file's entry */
		_Atomic(MPI_File) *b = atomic_load_explicit(&file_blocks[i / FILE_BLOCK], memory_order_relaxed);
		if (!atomic_load_explicit(&b[i % FILE_BLOCK], memory_order_relaxed))
			break;
	}
	if (i == top) {
		if (i / FILE_BLOCK >= FILE_BLOCKS)
			mpi_die("more than %d open MPI files", FILE_BLOCK * FILE_BLOCKS);
		if (!atomic_load_explicit(&file_blocks[i / FILE_BLOCK], memory_order_relaxed)) {
			_Atomic(MPI_File) *b = calloc(FILE_BLOCK, sizeof(*b));
			if (!b)
				mpi_die("out of memory for MPI file handles");
			atomic_store_explicit(&file_blocks[i / FILE_BLOCK], b, memory_order_release);
		}
	}
	_Atomic(MPI_File) *b = atomic_load_explicit(&file_blocks[i / FILE_BLOCK], memory_order_relaxed);
	atomic_store_explicit(&b[i % FILE_BLOCK], real, memory_order_release);
	if (i == top)
		atomic_store_explicit(&file_top, top + 1, memory_order_release);
	pthread_mutex_unlock(&file_lock);
	return (MPI_File)(uintptr_t)(((uintptr_t)i + 1) << 4);
}

MPI_File hf_update(MPI_File v, MPI_File real_before, MPI_File real_after)
{
	if (real_after == real_before)
		return v;
	_Atomic(MPI_File) *e = file_entry(v);
	if (!e)
		return hf_out(real_after);
	pthread_mutex_lock(&file_lock);
	atomic_store_explicit(e, real_after, memory_order_release);
	pthread_mutex_unlock(&file_lock);
	return real_after ? v : NULL;
}

MPI_File hf_real_to_virtual(MPI_File real)
{
	unsigned top = atomic_load_explicit(&file_top, memory_order_acquire);
	if (!real)
		return NULL;
	for (unsigned i = 0; i < top; i++) {
		_Atomic(MPI_File) *b = atomic_load_explicit(&file_blocks[i / FILE_BLOCK], memory_order_acquire);
		if (b && atomic_load_explicit(&b[i % FILE_BLOCK], memory_order_acquire) == real)
			return (MPI_File)(uintptr_t)(((uintptr_t)i + 1) << 4);
	}
	return real;
}

MPI_Fint hf_c2f(MPI_File v)
{
	return (MPI_Fint)((uintptr_t)v >> 4);
}

MPI_File hf_f2c(MPI_Fint f)
{
	return f > 0 ? (MPI_File)(uintptr_t)((uintptr_t)f << 4) : MPI_FILE_NULL;
}

int hf_live(void)
{
	unsigned top = atomic_load_explicit(&file_top, memory_order_acquire);
	int n = 0;

	for (unsigned i = 0; i < top; i++) {
		_Atomic(MPI_File) *b = atomic_load_explicit(&file_blocks[i / FILE_BLOCK], memory_order_acquire);
		n += b && atomic_load_explicit(&b[i % FILE_BLOCK], memory_order_acquire) != NULL;
	}
	return n;
}

void h_mark_rebuilt(enum mpi_kind k, int v)
{
	struct hobj *e = ((unsigned)v >> 30) == 3 ? entry(k, v) : NULL;
	if (e)
		e->rebuilt = 1;
}

/* Replaying the log (log.c): the virtual handle v is now the new lower
 * half's real handle (0 or a null handle: none). */
void h_rebind(enum mpi_kind k, int v, int real)
{
	struct hobj *e = ((unsigned)v >> 30) == 3 ? entry(k, v) : NULL;
	if (e)
		atomic_store_explicit(&e->real, predefined_real(real) ? 0 : real,
				      memory_order_release);
}

/* Live objects of kind k that a restart could not make again. */
int h_live_unrebuilt(enum mpi_kind k, int *one)
{
	struct htable *t = &tables[k];
	unsigned top = atomic_load_explicit(&t->top, memory_order_acquire);
	int n = 0;

	for (unsigned i = 0; i < top; i++) {
		struct hobj *b = atomic_load_explicit(&t->blocks[i >> BLOCK_SHIFT], memory_order_acquire);
		struct hobj *e = b ? &b[i & (BLOCK_SIZE - 1)] : NULL;
		if (e && atomic_load_explicit(&e->real, memory_order_acquire) && !e->rebuilt) {
			if (!n && one)
				*one = virtual_of(k, i);
			n++;
		}
	}
	return n;
}


int h_live(int kind, int v)
{
	if (kind < 0 || kind >= MK_COUNT || ((unsigned)v >> 30) != 3)
		return 0;
	struct hobj *e = entry((enum mpi_kind)kind, v);
	return e && atomic_load_explicit(&e->real, memory_order_acquire) != 0;
}
