/* The dlmopen lower half: a TEST PROVIDER.
 *
 * The real libmpich.so.12 (CAIRN_MPI_REAL, default Debian's) is loaded with
 * dlmopen(LM_ID_NEWLM) into a namespace of its own, with its own copy of
 * libc and of every library it needs, and the table is filled by looking up
 * each PMPI_ name there. No thread-pointer switch is needed: both namespaces
 * share one loader and one thread pointer layout. That is also why it cannot
 * be checkpointed: the real library's mappings lie among the application's,
 * and nothing tells them apart. The split-process provider exists for that.
 *
 * The blocking calls' waiting forms are the upper half's copy of
 * lower_wait.c, calling through the table (wait.h).
 *
 * The hooks count crossings per thread, so tests can check that each MPI
 * call crosses at most once.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "mpi/upper.h"

#define REAL_MPICH "/usr/lib/x86_64-linux-gnu/libmpich.so.12"

static void *table[MPI_FN_COUNT];
static __thread unsigned long crossings __attribute__((tls_model("initial-exec")));

static long count_enter(void)
{
	crossings++;
	return 0;
}

static void nothing(long token)
{
}

static long no_token(void)
{
	return 0;
}

static unsigned long get_crossings(void)
{
	return crossings;
}

int mpi_lower_dlmopen(struct mpi_lower *l, char *err, unsigned long errlen)
{
	const char *path = getenv("CAIRN_MPI_REAL");
	if (!path || !*path)
		path = REAL_MPICH;
	void *h = dlmopen(LM_ID_NEWLM, path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(err, errlen, "dlmopen(%s): %s", path, dlerror());
		return -1;
	}
	for (int i = 0; i < MPI_FN_COUNT; i++) {
		if (i >= MPI_FN_FIRST_WAIT) { /* the waiting forms: ours (lower_wait.c) */
			table[i] = mpi_dlm_wait_table[i - MPI_FN_FIRST_WAIT];
			continue;
		}
		table[i] = dlsym(h, mpi_fn_names[i]);
		if (!table[i]) {
			snprintf(err, errlen, "%s does not define %s: is it MPICH 4.0's ABI?", path,
				 mpi_fn_names[i]);
			dlclose(h);
			return -1;
		}
	}
	*l = (struct mpi_lower){
		.name = "dlmopen",
		.fn = table,
		.enter = count_enter,
		.leave = nothing,
		.cb_enter = no_token,
		.cb_leave = nothing,
		.crossings = get_crossings,
		.thread_level = MPI_THREAD_MULTIPLE,
	};
	return 0;
}
