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
 * The crossing is a token: enter returns what leave needs to go back (the
 * split provider's upper thread pointer: upper TLS cannot be read while the
 * lower thread pointer is in place), so a crossing reads
 *
 *     long t = cross_enter();
 *     rc = MPI_FN(MPI_Send)(...);
 *     cross_leave(t);
 *
 * and nothing between the two may touch the upper half's TLS or call the
 * upper libc (compute every argument before). The split provider's
 * crossing is inlined (no indirect call); the others go through the hooks.
 *
 * Providers (chosen at run time by CAIRN_MPI_LOWER):
 *   dlmopen  the real libmpich.so.12 loaded in a new link-map namespace.
 *            A TEST PROVIDER: its mappings mix with the application's, so a
 *            process using it cannot be checkpointed.
 *   split    (the default) the lower-half helper program,
 *            libexec/cairn/cairn-mpi-lower (a PIE linked with the real
 *            MPICH, holding the generated lower_table.c), in the reserved
 *            window of src/split, with its own loader and libc.
 * A lower half for another ABI (Open MPI) would be one more provider that
 * fills the same table with translating functions.
 */
#ifndef CAIRN_MPI_LOWER_H
#define CAIRN_MPI_LOWER_H

#include "split/split.h"

struct mpi_lower {
	const char *name;
	void **fn; /* MPI_FN_COUNT entries, by enum mpi_fn */
	long (*enter)(void); /* before each call into the lower half: a token */
	void (*leave)(long token); /* after it returns */
	long (*cb_enter)(void); /* the lower half calls the application */
	void (*cb_leave)(long token); /* ... and the application returns */
	unsigned long (*crossings)(void); /* by the calling thread, or NULL */
	int thread_level; /* highest MPI_THREAD_* the provider can carry */
	int inline_split; /* crossings are split_enter/split_leave, inlined */
};

/* Each provider: fill *l, or return -1 with a message in err (no abort). */
int mpi_lower_dlmopen(struct mpi_lower *l, char *err, unsigned long errlen);
int mpi_lower_split(struct mpi_lower *l, char *err, unsigned long errlen);

extern struct mpi_lower mpi_lower;
extern void **mpi_fn;
extern int mpi_cross_split; /* mpi_lower.inline_split, read on every call */
extern __thread unsigned long mpi_ncross __attribute__((tls_model("initial-exec")));

/* Load the provider named by CAIRN_MPI_LOWER once; abort the rank with a
 * clear message if it cannot be loaded (a hung job is worse). */
void mpi_lower_load(void);

static inline __attribute__((always_inline)) long cross_enter(void)
{
	if (__builtin_expect(mpi_cross_split, 1)) {
		mpi_ncross++; /* upper TLS: before the switch */
		return (long)split_enter();
	}
	return mpi_lower.enter();
}

static inline __attribute__((always_inline)) void cross_leave(long token)
{
	if (__builtin_expect(mpi_cross_split, 1))
		split_leave((split_token)token);
	else
		mpi_lower.leave(token);
}

/* Called by the trampolines with the lower half's thread pointer: only
 * globals may be read before callback_enter and after callback_leave. */
static inline long callback_enter(void)
{
	return mpi_lower.cb_enter();
}

static inline void callback_leave(long token)
{
	mpi_lower.cb_leave(token);
}

#endif
