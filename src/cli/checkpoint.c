/*
 * cairn checkpoint: ask a process's runtime for an image of it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/ctl_client.h"

static const char help[] =
	"usage: cairn checkpoint [-o FILE] [--kill | --signal SIG] PID\n"
	"       cairn checkpoint [--kill] DIR|PID   (an MPI job)\n"
	"\n"
	"Saves process PID (started with `cairn run` or `cairn restart`) to FILE,\n"
	"by default context.PID in the current directory. Returns when the image is\n"
	"complete and flushed to disk, and prints its path, size, the time taken and\n"
	"how long the program was paused. The program continues, unless --kill is\n"
	"given: then it is ended once the image is durable. --signal SIG sends it\n"
	"signal SIG (a number or a name: TERM, STOP...) once the image is durable.\n"
	"\n"
	"The image is written by the process itself, with mode 0600; an older FILE\n"
	"is replaced only by a complete image. Only the process's owner or root may\n"
	"checkpoint it. Exit status 0 on success, 1 on failure.\n"
	"\n"
	"An MPI job run by `cairn mpirun --dir DIR` is checkpointed as a whole when\n"
	"given DIR, or the PID of its cairn mpirun or of its launcher: every rank's\n"
	"image and the manifest go to DIR/ckpt.N, and the command returns when all\n"
	"are durable, printing the checkpoint's number, size, time and the longest\n"
	"pause of any rank. With --kill the job ends once the checkpoint is\n"
	"complete.\n";

/* A job's coordinator named by its directory (DIR/job) or by its
 * launcher's PID (RUNDIR/job.PID): its PID, or 0. */
static pid_t job_coordinator(const char *arg)
{
	char p[PATH_MAX + 16];
	struct stat st;
	int pid = 0;
	FILE *f;

	if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(p, sizeof(p), "%.4000s/job", arg);
		f = fopen(p, "re");
		if (f) {
			if (fscanf(f, "pid %d", &pid) != 1)
				pid = 0;
			fclose(f);
		}
		return pid;
	}
	char dir[256];
	ctl_rundir(getuid(), dir, sizeof(dir));
	snprintf(p, sizeof(p), "%s/job.%.20s", dir, arg);
	f = fopen(p, "re");
	if (f) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return pid;
}

int cmd_checkpoint(int argc, char **argv)
{
	const char *out = NULL;
	unsigned flags = 0;
	int sig = 0;
	char *pidarg = NULL;

	if (wants_help(argc, argv)) {
		fputs(help, stdout);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) && i + 1 < argc)
			out = argv[++i];
		else if (strcmp(argv[i], "--kill") == 0)
			flags |= CTL_KILL;
		else if (strcmp(argv[i], "--signal") == 0 && i + 1 < argc) {
			sig = cli_signal(argv[++i]);
			if (sig <= 0) {
				fprintf(stderr, "cairn: checkpoint: unknown signal '%s'\n", argv[i]);
				return 2;
			}
		}
		else if (!pidarg && argv[i][0] != '-')
			pidarg = argv[i];
		else {
			fprintf(stderr, "cairn: checkpoint: unexpected argument '%s'\n%s", argv[i], help);
			return 2;
		}
	}
	char *end;
	pid_t job = pidarg ? job_coordinator(pidarg) : 0;
	long pidl = pidarg ? strtol(pidarg, &end, 10) : 0;
	if (job > 0) {
		pidl = job;
	} else if (pidarg && *end) {
		struct stat dst;
		if (stat(pidarg, &dst) == 0 && S_ISDIR(dst.st_mode))
			fprintf(stderr, "cairn: %s is not the directory of a running job\n", pidarg);
		else
			fprintf(stderr, "cairn: checkpoint needs the PID of a process, or a job's "
					"directory\n%s", help);
		return job ? 1 : 2;
	}
	if (!pidarg || pidl <= 0 || pidl > INT32_MAX) {
		fprintf(stderr, "cairn: checkpoint needs the PID of a process\n%s", help);
		return 2;
	}
	pid_t pid = (pid_t)pidl;
	struct ctl_call c;
	char msg[1024];
	memset(&c, 0, sizeof(c));
	c.pid = pid;
	c.req.flags = flags;
	c.req.signal = sig;
	c.req.target = pid;

	/* the image path, absolute: the process may have another cwd */
	char name[PATH_MAX];
	if (out)
		snprintf(name, sizeof(name), "%s", out);
	else
		snprintf(name, sizeof(name), "context.%d", (int)pid);
	if (name[0] == '/') {
		snprintf(c.req.path, sizeof(c.req.path), "%s", name);
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd))) {
			fprintf(stderr, "cairn: cannot find the current directory: %s\n", strerror(errno));
			return 1;
		}
		if ((size_t)snprintf(c.req.path, sizeof(c.req.path), "%s/%s", cwd, name) >=
		    sizeof(c.req.path)) {
			fprintf(stderr, "cairn: the image path is too long\n");
			return 1;
		}
	}
	struct stat st;
	if (stat(c.req.path, &st) == 0 && S_ISDIR(st.st_mode)) {
		fprintf(stderr, "cairn: %s is a directory; give the image's file name\n", c.req.path);
		return 1;
	}
	if (ctl_send(&c, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "cairn: %s\n", msg);
		return 1;
	}
	struct ctl_reply rep;
	while (ctl_wait(&c, -1, &rep, msg, sizeof(msg)) < 0) {
		if (errno == EINTR)
			continue;
		if (job > 0)
			fprintf(stderr,
				"cairn: the job of %s (coordinator %d) ended or stopped answering during "
				"the checkpoint; no new checkpoint of it is complete\n",
				pidarg, (int)pid);
		else
			fprintf(stderr, "cairn: %s; no image was written to %s\n", msg, c.req.path);
		return 1;
	}
	ctl_close(&c);
	if (rep.kind == CTL_REPLY_JOB) {
		if (rep.status != 0) {
			fprintf(stderr, "cairn: %s\n", rep.msg);
			return 1;
		}
		printf("%s\n", rep.msg);
		return 0;
	}
	if (rep.status != 0) {
		fprintf(stderr, "cairn: checkpoint of process %d failed: %s\n", (int)pid, rep.msg);
		return 1;
	}
	if (flags & CTL_KILL) {
		/* return only once the process is gone, so that a restart can
		 * never run beside it */
		for (int i = 0; i < 1000 && !proc_gone(pid); i++) {
			struct timespec ts = {0, 10000000};
			nanosleep(&ts, NULL);
		}
	}
	printf("checkpoint %s: %llu bytes in %.3f s, paused %.3f s\n", c.req.path,
	       (unsigned long long)rep.size, (double)rep.total_ns / 1e9, (double)rep.pause_ns / 1e9);
	return 0;
}
