/* The split lower half: the real MPICH in the split process (src/split).
 *
 * The helper program cairn-mpi-lower (lower_helper.c: a PIE linked with
 * the real libmpich, holding the generated lower_table.c) is loaded into
 * the reserved window with its own loader and libc; its table is MPICH's
 * PMPI_ functions by enum mpi_fn. It is found in libexec/cairn/ next to
 * this library's lib/cairn-mpi/ (build tree and install tree alike; dladdr
 * says where this library is), or at CAIRN_MPI_HELPER.
 *
 * Crossings are split_enter/split_leave, inlined in every wrapper
 * (lower.h); callbacks switch back to the calling thread's upper thread
 * pointer, looked up from the lower one (split_upper_tp: no TLS, no lock,
 * any number of threads at once).
 *
 * Descriptors the lower half inherits instead of opening (Hydra's PMI_FD)
 * are registered as the lower half's, so that a checkpoint skips them;
 * after a restart they are the new job's (split_environ, ckpt.c).
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/rawsys.h"
#include "mpi/upper.h"

#define HELPER_FROM_LIB "../../libexec/cairn/cairn-mpi-lower"

static void *table[MPI_FN_COUNT];

static long split_enter_hook(void)
{
	mpi_ncross++;
	return (long)split_enter();
}

static void split_leave_hook(long t)
{
	split_leave((split_token)t);
}

/* Runs with the lower half's thread pointer, called by MPICH: raw system
 * calls only until the upper thread pointer is back. */
static long split_cb_enter(void)
{
	uintptr_t cur = split_get_tp(), up = split_upper_tp();
	static const char msg[] = "cairn: an MPI callback from a thread of the lower half's own "
				  "cannot run the application's function\n";

	if (!up) {
		raw_sys6(SYS_write, 2, (long)msg, sizeof(msg) - 1, 0, 0, 0);
		raw_sys6(SYS_exit_group, 134, 0, 0, 0, 0, 0);
	}
	if (up == cur)
		return 0; /* already in the upper half */
	split_set_tp(up);
	return (long)cur;
}

static void split_cb_leave(long t)
{
	if (t)
		split_set_tp((uintptr_t)t);
}

static unsigned long split_crossings(void)
{
	return mpi_ncross;
}

static int helper_path(char *out, size_t len, char *err, unsigned long errlen)
{
	const char *env = getenv("CAIRN_MPI_HELPER");
	Dl_info info;
	char *slash;

	if (env && *env) {
		snprintf(out, len, "%s", env);
		return 0;
	}
	if (!dladdr((void *)helper_path, &info) || !info.dli_fname) {
		snprintf(err, errlen, "cannot tell where cairn's libmpich.so.12 is (dladdr)");
		return -1;
	}
	if (!realpath(info.dli_fname, out)) {
		snprintf(err, errlen, "%s: %m", info.dli_fname);
		return -1;
	}
	slash = strrchr(out, '/');
	if (!slash || (size_t)(slash + 1 - out) + sizeof(HELPER_FROM_LIB) > len) {
		snprintf(err, errlen, "%s: path too long", out);
		return -1;
	}
	strcpy(slash + 1, HELPER_FROM_LIB);
	return 0;
}

/* Hydra's PMI descriptor, inherited at exec: the lower half's MPICH uses
 * it (PMI_PORT instead means a socket it opens itself, tracked as such). */
static const char *lower_getenv(const char *name)
{
	extern char **environ;
	char *const *env = split_environ ? split_environ : environ;
	size_t n = strlen(name);

	for (; env && *env; env++)
		if (!strncmp(*env, name, n) && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

static void register_inherited(void)
{
	static const char *const vars[] = { "PMI_FD", "PMIX_FD" };

	/* what else `cairn run --mpi` saw the launcher leave open, in the
	 * process that it started (a restart closed the old ones) */
	const char *list = split_environ ? NULL : getenv("CAIRN_MPI_LAUNCHER_FDS");
	while (list && *list) {
		char *end;
		long fd = strtol(list, &end, 10);
		if (end == list)
			break;
		if (fd > 2 && fd <= INT_MAX && fcntl((int)fd, F_GETFD) >= 0)
			split_add_lower_fd((int)fd);
		list = *end == ',' ? end + 1 : end;
	}

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = lower_getenv(vars[i]);
		char *end;
		long fd;

		if (!v || !*v)
			continue;
		fd = strtol(v, &end, 10);
		if (*end || fd < 0 || fd > INT_MAX || fcntl((int)fd, F_GETFD) < 0)
			continue;
		split_add_lower_fd((int)fd);
	}
}

int mpi_lower_split(struct mpi_lower *l, char *err, unsigned long errlen)
{
	char path[PATH_MAX];
	long n;

	if (helper_path(path, sizeof(path), err, errlen) < 0)
		return -1;
	if (access(path, X_OK) < 0) {
		snprintf(err, errlen, "the lower-half helper %s: %m", path);
		return -1;
	}
	n = split_load(path, NULL);
	if (n < 0) {
		snprintf(err, errlen, "%s", split_error());
		return -1;
	}
	if (n != MPI_FN_COUNT) {
		snprintf(err, errlen, "%s hands over %ld functions, cairn's MPI expects %d: "
			 "a helper from another build?", path, n, MPI_FN_COUNT);
		return -1;
	}
	for (long i = 0; i < n; i++) {
		table[i] = split_fn(i);
		if (!table[i]) {
			snprintf(err, errlen, "%s: no %s in its table", path, mpi_fn_names[i]);
			return -1;
		}
		if (table[i] == dlsym(RTLD_DEFAULT, mpi_fn_names[i]) ||
		    !split_in_window((uintptr_t)table[i], 1)) {
			snprintf(err, errlen, "%s: its %s is not the lower half's: it loaded cairn's "
				 "libmpich.so.12 instead of MPICH's", path, mpi_fn_names[i]);
			return -1;
		}
	}
	register_inherited();
	*l = (struct mpi_lower){
		.name = "split",
		.fn = table,
		.enter = split_enter_hook,
		.leave = split_leave_hook,
		.cb_enter = split_cb_enter,
		.cb_leave = split_cb_leave,
		.crossings = split_crossings,
		.thread_level = MPI_THREAD_MULTIPLE,
		.inline_split = 1,
	};
	return 0;
}
