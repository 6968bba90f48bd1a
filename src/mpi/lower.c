/* Choosing and loading the lower half, and the upper half's fatal errors.
 *
 * CAIRN_MPI_LOWER names the provider (lower.h): split (the default) or
 * dlmopen (a test provider).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpi/upper.h"

#define DEFAULT_LOWER "split"

struct mpi_lower mpi_lower;
void **mpi_fn;
int mpi_cross_split;
__thread unsigned long mpi_ncross __attribute__((tls_model("initial-exec")));

static pthread_once_t load_once = PTHREAD_ONCE_INIT;

noreturn void mpi_die(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (n > (int)sizeof(msg) - 2)
		n = (int)sizeof(msg) - 2;
	msg[n++] = '\n';
	(void)!write(2, "cairn: ", 7);
	(void)!write(2, msg, (size_t)n);
	abort();
}

void *mpi_grow(void *p, size_t n, size_t *cap, size_t elem, size_t first, const char *what)
{
	if (n < *cap)
		return p;
	size_t c = *cap ? 2 * *cap : first;
	void *q = realloc(p, c * elem);
	if (!q)
		mpi_die("out of memory for %s", what);
	*cap = c;
	return q;
}

/* Stubs generated for what the upper half cannot do yet land here: loudly,
 * never silently. */
noreturn void mpi_unsupported(const char *name, const char *why)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "cairn: %s is not supported yet\ncairn:   (%s)\n", name, why);
	if (n > (int)sizeof(msg))
		n = (int)sizeof(msg);
	(void)!write(2, msg, (size_t)(n > 0 ? n : 0));
	abort();
}

static void load(void)
{
	const char *which = getenv("CAIRN_MPI_LOWER");
	char err[512] = "";
	struct mpi_lower l = { 0 };
	int rc;

	if (!which || !*which)
		which = DEFAULT_LOWER;
	if (!strcmp(which, "split"))
		rc = mpi_lower_split(&l, err, sizeof(err));
	else if (!strcmp(which, "dlmopen"))
		rc = mpi_lower_dlmopen(&l, err, sizeof(err));
	else
		mpi_die("CAIRN_MPI_LOWER=%s: unknown lower half (known: split, dlmopen)", which);
	if (rc < 0)
		mpi_die("cannot load the MPI lower half '%s': %s", which, err);
	mpi_lower = l;
	mpi_cross_split = l.inline_split;
	__atomic_store_n(&mpi_fn, l.fn, __ATOMIC_RELEASE);
	if (l.inline_split)
		mpi_ckpt_attach();
}

void mpi_lower_load(void)
{
	pthread_once(&load_once, load);
}

/* cairn's extension, for tests and benchmarks: the number of crossings into
 * the lower half made by the calling thread, 0 if the provider keeps none. */
CAIRN_MPI_API unsigned long cairn_mpi_crossings(void)
{
	MPI_LOWER_READY();
	return mpi_lower.crossings ? mpi_lower.crossings() : 0;
}

/* cairn's extensions for tests and benchmarks (looked up with dlsym): the
 * provider in use; the split window (0 if the provider has none); the lower
 * half's descriptors (split_lower_fds, -1 without a split lower half). */
CAIRN_MPI_API const char *cairn_mpi_lower_name(void)
{
	MPI_LOWER_READY();
	return mpi_lower.name;
}

CAIRN_MPI_API int cairn_mpi_lower_window(unsigned long *base, unsigned long *size)
{
	MPI_LOWER_READY();
	if (!mpi_lower.inline_split)
		return -1;
	*base = SPLIT_WINDOW_BASE;
	*size = SPLIT_WINDOW_SIZE;
	return 0;
}

CAIRN_MPI_API int cairn_mpi_lower_fds(int *fds, int max)
{
	MPI_LOWER_READY();
	if (!mpi_lower.inline_split)
		return -1;
	return split_lower_fds(fds, max);
}

CAIRN_MPI_API unsigned long long cairn_mpi_lower_signals(void)
{
	MPI_LOWER_READY();
	return mpi_lower.inline_split ? split_lower_signals() : 0;
}

/* The lower half's own threads' TIDs (split_lower_tids), -1 without a
 * split lower half. */
CAIRN_MPI_API int cairn_mpi_lower_tids(int *tids, int max)
{
	MPI_LOWER_READY();
	if (!mpi_lower.inline_split)
		return -1;
	return split_lower_tids(tids, max);
}
