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
 * Known limit: a slot is recycled when its op is freed. MPI lets a program
 * free an op still used by a pending non-blocking collective; that would
 * call the wrong function if the slot were reused meanwhile.
 */
#include <pthread.h>

#include "mpi/upper.h"

#define NSLOTS 64

struct slots {
	pthread_mutex_t lock;
	void *fn[NSLOTS];
};

static struct slots ops = { PTHREAD_MUTEX_INITIALIZER, { 0 } };
static struct slots ehs = { PTHREAD_MUTEX_INITIALIZER, { 0 } };

static int slot_take(struct slots *s, void *fn)
{
	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < NSLOTS; i++) {
		if (!s->fn[i]) {
			s->fn[i] = fn;
			pthread_mutex_unlock(&s->lock);
			return i;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return -1;
}

static void slot_release(struct slots *s, int slot)
{
	pthread_mutex_lock(&s->lock);
	s->fn[slot] = NULL;
	pthread_mutex_unlock(&s->lock);
}

static void op_call(int slot, void *in, void *inout, int *len, MPI_Datatype *type)
{
	MPI_User_function *fn = __atomic_load_n((MPI_User_function **)&ops.fn[slot], __ATOMIC_ACQUIRE);
	long t = callback_enter();
	MPI_Datatype vtype = h_real_to_virtual(MK_DATATYPE, *type);
	fn(in, inout, len, &vtype);
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

MPI_User_function *mpi_op_trampoline(MPI_User_function *fn, int *slot)
{
	*slot = slot_take(&ops, (void *)fn);
	if (*slot < 0)
		mpi_die("more than %d user-defined reduction operations at once", NSLOTS);
	return op_tramp[*slot];
}

void mpi_op_release(int slot)
{
	slot_release(&ops, slot);
}

MPI_Comm_errhandler_function *mpi_errhandler_trampoline(MPI_Comm_errhandler_function *fn, int *slot)
{
	*slot = slot_take(&ehs, (void *)fn);
	if (*slot < 0)
		mpi_die("more than %d user-defined error handlers at once", NSLOTS);
	return eh_tramp[*slot];
}

void mpi_errhandler_release(int slot)
{
	slot_release(&ehs, slot);
}
