/*
 * An MPI job under cairn: the coordinator that `cairn mpirun` and
 * `cairn restart DIR` become (job.c).
 */
#ifndef CAIRN_CLI_JOB_H
#define CAIRN_CLI_JOB_H

struct job_spec {
	char **exec_argv;   /* what to run: the launcher, its options, the ranks' command */
	/* what the manifest records, for a later `cairn restart DIR` */
	char **launcher;    /* the launcher's words */
	int nlauncher;
	char **options;     /* its options */
	int noptions;
	char **program;     /* the application and its arguments */
	int nprogram;
	const char *dir;    /* the job's checkpoint directory, or NULL: cairn-job.PID */
	int interval;       /* seconds between periodic checkpoints, or 0 */
	int keep;           /* complete checkpoints kept (>= 1) */
	int signal;         /* the job's checkpoint signal */
};

/* Runs the job to its end; returns the exit status to give (the
 * launcher's, or 125 when cairn could not start it). */
int job_run(const struct job_spec *js);

/* cairn's own options of `cairn mpirun` and `cairn restart DIR`:
 * --dir, --interval, --keep, --signal. Returns how many arguments it
 * consumed at argv[i] (0: not one of them), or -1 after a message. */
int job_option(int argc, char **argv, int i, struct job_spec *js);

/* Number of values a launcher option takes (mpirun.c). */
int launcher_option_values(const char *o);

/* `cairn restart DIR` (a job checkpoint directory) and the per-rank
 * `cairn restart --job-rank CKPT` it launches. */
int job_restart(int argc, char **argv);
/* The image this rank restores from: the rank the launcher gave it, in
 * checkpoint directory ckpt. 0 with path filled, or -1 after a message. */
int job_rank_image(const char *ckpt, char *path, size_t len);

#endif
