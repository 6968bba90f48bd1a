/* Output for the MPI tests: each rank appends lines to its report; at the
 * end rank 0 prints every rank's report in rank order, so that the output
 * of a run does not depend on scheduling and can be compared exactly with
 * the native run. CHECK() records a failure; report_end() returns non-zero
 * if any rank failed. */
#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define REPORT_MAX 8192
static char report_buf[REPORT_MAX];
static int report_len, report_bad;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(report_buf + report_len, REPORT_MAX - report_len, fmt, ap);
	va_end(ap);
	if (n > 0 && report_len + n < REPORT_MAX - 1) {
		report_len += n;
		report_buf[report_len++] = '\n';
		report_buf[report_len] = 0;
	}
}

#define CHECK(cond, ...)                                                             \
	do {                                                                             \
		if (!(cond)) {                                                               \
			report_bad++;                                                            \
			say("BAD %s:%d: %s", __FILE__, __LINE__, #cond);                         \
			say(__VA_ARGS__);                                                        \
		}                                                                            \
	} while (0)

static int report_end(void)
{
	int rank, size, bad = 0;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	static char all[64][REPORT_MAX];
	MPI_Gather(report_buf, REPORT_MAX, MPI_CHAR, all, REPORT_MAX, MPI_CHAR, 0, MPI_COMM_WORLD);
	MPI_Allreduce(&report_bad, &bad, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
	if (rank == 0) {
		for (int r = 0; r < size && r < 64; r++)
			printf("== rank %d\n%s", r, all[r]);
		printf("%s: %d failed checks\n", bad ? "FAILED" : "ok", bad);
		fflush(stdout);
	}
	MPI_Finalize();
	return bad != 0;
}
