/* The boundary between cairn's MPI upper half and a lower half.
 *
 * A lower half is anything that holds a real MPI library with MPICH's ABI
 * and hands the upper half a table of its functions, indexed by enum mpi_fn
 * (generated from api/, see build/gen/mpi/mpi_gen.h). The upper half never
 * calls the real library otherwise: every crossing goes through the table
 * and is bracketed by the provider's enter/leave hooks, and every call the
 * lower half makes back into the application (user reduction operations,
 * error handlers) is bracketed by cb_enter/cb_leave. In the split process
 * the hooks switch the thread pointer to the lower half's libc and back;
 * the dlmopen provider only counts.
 *
 * Providers (chosen at run time by CAIRN_MPI_LOWER):
 *   dlmopen  the real libmpich.so.12 loaded in a new link-map namespace.
 *            A TEST PROVIDER: its mappings mix with the application's, so a
 *            process using it cannot be checkpointed.
 *   split    the lower-half helper program in the reserved window of
 *            src/split (not wired in yet).
 * A lower half for another ABI (Open MPI) would be one more provider that
 * fills the same table with translating functions.
 */
#ifndef CAIRN_MPI_LOWER_H
#define CAIRN_MPI_LOWER_H

struct mpi_lower {
	const char *name;
	void **fn; /* MPI_FN_COUNT entries, by enum mpi_fn */
	void (*enter)(void); /* before each call into the lower half */
	void (*leave)(void); /* after it returns */
	void (*cb_enter)(void); /* the lower half calls the application */
	void (*cb_leave)(void); /* ... and the application returns */
	unsigned long (*crossings)(void); /* by the calling thread, or NULL */
	int thread_level; /* highest MPI_THREAD_* the provider can carry */
};

/* Each provider: fill *l, or return -1 with a message in err (no abort). */
int mpi_lower_dlmopen(struct mpi_lower *l, char *err, unsigned long errlen);

extern struct mpi_lower mpi_lower;
extern void **mpi_fn;

/* Load the provider named by CAIRN_MPI_LOWER once; abort the rank with a
 * clear message if it cannot be loaded (a hung job is worse). */
void mpi_lower_load(void);

static inline void cross_enter(void)
{
	mpi_lower.enter();
}

static inline void cross_leave(void)
{
	mpi_lower.leave();
}

static inline void callback_enter(void)
{
	mpi_lower.cb_enter();
}

static inline void callback_leave(void)
{
	mpi_lower.cb_leave();
}

#endif
