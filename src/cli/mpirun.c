/*
 * cairn mpirun: run an MPI job with every rank under cairn, by giving the
 * launcher `cairn run --mpi PROG ARGS` as the program to start.
 *
 * Which arguments are the launcher's and where the program starts: after
 * `--` if there is one; otherwise the first argument that is neither an
 * option nor the value of an option known to take one (Hydra's mpiexec,
 * Open MPI's mpirun, Slurm's srun). Unknown options are taken as flags;
 * `--` removes any doubt.
 */
#include <errno.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/job.h"

static const char help[] =
	"usage: cairn mpirun [--launcher CMD] [--dir DIR] [--interval SECONDS] [--keep N]\n"
	"                    [--signal SIG] [LAUNCHER OPTIONS] [--] PROG [ARGS...]\n"
	"\n"
	"Runs the MPI job `CMD LAUNCHER-OPTIONS PROG ARGS` with every rank under\n"
	"cairn (`cairn run --mpi PROG ARGS`). CMD is mpiexec.mpich by default; give\n"
	"another launcher (a site's mpiexec, `srun`) with --launcher, split on\n"
	"spaces (--launcher 'srun --mpi=pmi2'). Launcher options pass through as\n"
	"they are. PROG is the first argument that is neither an option nor an\n"
	"option's value (put `--` before it when in doubt).\n"
	"\n"
	"cairn mpirun stays beside the launcher as the job's coordinator. The job is\n"
	"checkpointed into DIR (default cairn-job.PID, made at the first checkpoint):\n"
	"by `cairn checkpoint DIR` (or the PID of cairn mpirun or of the launcher),\n"
	"by signal SIG (default USR2) sent to cairn mpirun or forwarded by the\n"
	"launcher to the ranks (which never see it), and every SECONDS with\n"
	"--interval. Each checkpoint is DIR/ckpt.N (one image per rank and a\n"
	"MANIFEST written last; DIR/latest names the newest); the newest N complete\n"
	"ones are kept (--keep, default 2). `cairn restart DIR` continues the job.\n"
	"\n"
	"The exit status is the launcher's; 125 if cairn cannot start it.\n";

/* Options of common launchers that take a value (two for -env/-genv/--mca). */
int launcher_option_values(const char *o)
{
	static const char *const one[] = {
		/* Hydra */
		"-n", "-np", "-f", "-hostfile", "-machinefile", "-hosts", "-host", "-ppn",
		"-wdir", "-configfile", "-envlist", "-genvlist", "-bind-to", "-map-by",
		"-launcher", "-launcher-exec", "-bootstrap", "-bootstrap-exec", "-rmk", "-iface",
		"-nameserver", "-prepend-pattern", "-outfile-pattern", "-errfile-pattern",
		"-binding", "-topolib", "-demux", "-membind", "-tmpdir", "-usize", "-gpus-per-proc",
		"-gpu-subdevs-per-proc", "-localhost", "-ckpointlib", "-ckpoint-prefix",
		"-ckpoint-num", "-ckpoint-interval",
		/* Open MPI */
		"-H", "--host", "--hostfile", "--machinefile", "-x", "--map-by", "--bind-to",
		"--rank-by", "--wdir", "-wd", "--npernode", "-npernode", "--npersocket", "-c",
		"--prefix", "--app", "--output-filename", "--tmpdir", "--report-bindings-to",
		"--np", "-N",
		/* srun */
		"-N", "--nodes", "--ntasks", "-w", "--nodelist", "-p", "--partition", "-t",
		"--time", "-A", "--account", "--cpus-per-task", "--ntasks-per-node", "--mpi",
		"-J", "--job-name", "-o", "--output", "-e", "--error", "--mem", "-D", "--chdir",
	};
	static const char *const two[] = {"-env", "-genv", "--mca", "-mca", "-gmca", "--gmca"};

	if (strchr(o, '='))
		return 0; /* --opt=value */
	for (size_t i = 0; i < sizeof(two) / sizeof(two[0]); i++)
		if (strcmp(o, two[i]) == 0)
			return 2;
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++)
		if (strcmp(o, one[i]) == 0)
			return 1;
	return 0;
}

int cmd_mpirun(int argc, char **argv)
{
	const char *launcher = "mpiexec.mpich";
	int i = 1;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(help, stdout);
		return 0;
	}
	struct job_spec js;
	memset(&js, 0, sizeof(js));
	js.keep = 2;
	js.signal = SIGUSR2;
	for (;;) {
		if (i + 1 < argc && strcmp(argv[i], "--launcher") == 0) {
			launcher = argv[i + 1];
			i += 2;
			continue;
		}
		if (i < argc && strncmp(argv[i], "--launcher=", 11) == 0) {
			launcher = argv[i] + 11;
			i++;
			continue;
		}
		int used = i < argc ? job_option(argc, argv, i, &js) : 0;
		if (used < 0)
			return 125;
		if (!used)
			break;
		i += used;
	}
	int opt_start = i, prog = -1, dashes = -1;
	while (i < argc) {
		if (strcmp(argv[i], "--") == 0) {
			dashes = i;
			prog = i + 1;
			break;
		}
		if (argv[i][0] != '-' || !argv[i][1]) {
			prog = i;
			break;
		}
		i += 1 + launcher_option_values(argv[i]);
	}
	if (prog < 0 || prog >= argc) {
		fprintf(stderr, "cairn: mpirun needs a program to run\n%s", help);
		return 125;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		fprintf(stderr, "cairn: cannot find the cairn binary: %s\n", strerror(errno));
		return 125;
	}
	self[n] = 0;

	/* the launcher's words, its options, then cairn run --mpi -- PROG ARGS */
	char *lcopy = strdup(launcher);
	char **v = calloc((size_t)argc + 64, sizeof(*v));
	if (!lcopy || !v) {
		fprintf(stderr, "cairn: out of memory\n");
		return 125;
	}
	int k = 0;
	for (char *save = NULL, *w = strtok_r(lcopy, " \t", &save); w && k < 48;
	     w = strtok_r(NULL, " \t", &save))
		v[k++] = w;
	if (k == 0) {
		fprintf(stderr, "cairn: --launcher is empty\n");
		return 125;
	}
	int nwords = k;
	int end_opts = dashes >= 0 ? dashes : prog;
	for (int j = opt_start; j < end_opts; j++)
		v[k++] = argv[j];
	v[k++] = self;
	v[k++] = "run";
	v[k++] = "--mpi";
	v[k++] = "--";
	for (int j = prog; j < argc; j++)
		v[k++] = argv[j];
	v[k] = NULL;
	js.exec_argv = v;
	js.launcher = v;
	js.nlauncher = nwords;
	js.options = argv + opt_start;
	js.noptions = end_opts - opt_start;
	js.program = argv + prog;
	js.nprogram = argc - prog;
	return job_run(&js);
}
