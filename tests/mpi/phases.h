/* What the job tests' programs share (tests/mpi/job.sh): a phase of
 * computing without MPI, and the mark that tells the test a phase began. */
#include <stdio.h>
#include <unistd.h>

static volatile double sink;

/* STEPS steps of 100000 multiply-adds, no MPI */
static void quiet(long steps)
{
	double x = 1.0;
	for (long s = 0; s < steps; s++)
		for (int i = 0; i < 100000; i++)
			x = x * 1.0000001 + 1e-9;
	sink = x;
}

/* DIR/ready.RANK, holding this process's PID */
static void mark_ready(const char *dir, int rank)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/ready.%d", dir, rank);
	FILE *f = fopen(p, "w");
	if (f) {
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
}
