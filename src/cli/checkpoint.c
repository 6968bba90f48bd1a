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
#include "runtime/control.h"

static const char help[] =
	"usage: cairn checkpoint [-o FILE] [--kill] PID\n"
	"\n"
	"Saves process PID (started with `cairn run` or `cairn restart`) to FILE,\n"
	"by default context.PID in the current directory. Returns when the image is\n"
	"complete and flushed to disk, and prints its path, size, the time taken and\n"
	"how long the program was paused. The program continues, unless --kill is\n"
	"given: then it is ended once the image is durable.\n"
	"\n"
	"The image is written by the process itself, with mode 0600; an older FILE\n"
	"is replaced only by a complete image. Only the process's owner or root may\n"
	"checkpoint it. Exit status 0 on success, 1 on failure.\n";

static int proc_uid(pid_t pid, uid_t *uid, char *comm, size_t clen)
{
	char path[64], buf[4096];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	*uid = (uid_t)-1;
	comm[0] = 0;
	while (fgets(buf, sizeof(buf), f)) {
		if (strncmp(buf, "Uid:", 4) == 0)
			*uid = (uid_t)strtoul(buf + 4, NULL, 10);
		if (strncmp(buf, "Name:", 5) == 0) {
			snprintf(comm, clen, "%.63s", buf + 6);
			comm[strcspn(comm, "\n")] = 0;
		}
	}
	fclose(f);
	return 0;
}

/* The state letter of /proc/PID/stat ('R', 'S', 'T', 'Z'...), or 0. */
static char proc_state(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	char st = 0;
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f)) {
		char *p = strrchr(buf, ')');
		if (p && p[1] && p[2])
			st = p[2];
	}
	fclose(f);
	return st;
}

static int gone(pid_t pid)
{
	char st = proc_state(pid);
	return st == 0 || st == 'Z' || st == 'X';
}

int cmd_checkpoint(int argc, char **argv)
{
	const char *out = NULL;
	unsigned flags = 0;
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
		else if (!pidarg && argv[i][0] != '-')
			pidarg = argv[i];
		else {
			fprintf(stderr, "cairn: checkpoint: unexpected argument '%s'\n%s", argv[i], help);
			return 2;
		}
	}
	char *end;
	long pidl = pidarg ? strtol(pidarg, &end, 10) : 0;
	if (!pidarg || *end || pidl <= 0 || pidl > INT32_MAX) {
		fprintf(stderr, "cairn: checkpoint needs the PID of a process\n%s", help);
		return 2;
	}
	pid_t pid = (pid_t)pidl;
	uid_t uid;
	char comm[64];
	if (proc_uid(pid, &uid, comm, sizeof(comm)) < 0) {
		fprintf(stderr, "cairn: there is no process with PID %d\n", (int)pid);
		return 1;
	}

	/* the image path, absolute: the process may have another cwd */
	struct ctl_request req;
	memset(&req, 0, sizeof(req));
	req.magic = CTL_MAGIC;
	req.version = CTL_VERSION;
	req.flags = flags;
	char name[PATH_MAX];
	if (out)
		snprintf(name, sizeof(name), "%s", out);
	else
		snprintf(name, sizeof(name), "context.%d", (int)pid);
	if (name[0] == '/') {
		snprintf(req.path, sizeof(req.path), "%s", name);
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd))) {
			fprintf(stderr, "cairn: cannot find the current directory: %s\n", strerror(errno));
			return 1;
		}
		if ((size_t)snprintf(req.path, sizeof(req.path), "%s/%s", cwd, name) >= sizeof(req.path)) {
			fprintf(stderr, "cairn: the image path is too long\n");
			return 1;
		}
	}
	struct stat st;
	if (stat(req.path, &st) == 0 && S_ISDIR(st.st_mode)) {
		fprintf(stderr, "cairn: %s is a directory; give the image's file name\n", req.path);
		return 1;
	}

	char dir[256];
	struct sockaddr_un sa;
	ctl_rundir(uid, dir, sizeof(dir));
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr,
			"cairn: process %d (%s) is not running under cairn (start it with 'cairn run')\n",
			(int)pid, comm);
		return 1;
	}
	if (st.st_uid != uid || (st.st_mode & 0077)) {
		fprintf(stderr, "cairn: control directory %s is not private to user %u; refusing to use it\n",
			dir, (unsigned)uid);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%d", dir, (int)pid) >=
	    sizeof(sa.sun_path)) {
		fprintf(stderr, "cairn: control directory %s is too long a path\n", dir);
		return 1;
	}
	if (lstat(sa.sun_path, &st) < 0 && (errno == EACCES || errno == EPERM)) {
		fprintf(stderr, "cairn: you may not checkpoint process %d (%s): it belongs to user %u\n",
			(int)pid, comm, (unsigned)uid);
		return 1;
	}
	if (lstat(sa.sun_path, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		fprintf(stderr,
			"cairn: process %d (%s) is not running under cairn (start it with 'cairn run')\n",
			(int)pid, comm);
		return 1;
	}
	char state = proc_state(pid);
	if (state == 'T' || state == 't') {
		fprintf(stderr,
			"cairn: process %d (%s) is stopped; its runtime cannot answer until it is "
			"continued (kill -CONT %d)\n",
			(int)pid, comm, (int)pid);
		return 1;
	}
	if (state == 'Z') {
		fprintf(stderr, "cairn: process %d (%s) has exited\n", (int)pid, comm);
		return 1;
	}

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EACCES || errno == EPERM)
			fprintf(stderr,
				"cairn: you may not checkpoint process %d (%s): it belongs to user %u\n",
				(int)pid, comm, (unsigned)uid);
		else
			fprintf(stderr,
				"cairn: process %d (%s) is not running under cairn (start it with 'cairn run')\n",
				(int)pid, comm);
		return 1;
	}
	if (send(fd, &req, sizeof(req), MSG_NOSIGNAL) != (ssize_t)sizeof(req)) {
		fprintf(stderr, "cairn: cannot talk to process %d: %s\n", (int)pid, strerror(errno));
		return 1;
	}
	struct ctl_reply rep;
	size_t got = 0;
	while (got < sizeof(rep)) {
		ssize_t n = recv(fd, (char *)&rep + got, sizeof(rep) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got < sizeof(rep) || rep.magic != CTL_MAGIC) {
		fprintf(stderr, "cairn: process %d ended or stopped answering during the checkpoint; "
				"no image was written to %s\n",
			(int)pid, req.path);
		return 1;
	}
	rep.msg[sizeof(rep.msg) - 1] = 0;
	if (rep.status != 0) {
		fprintf(stderr, "cairn: checkpoint of process %d failed: %s\n", (int)pid, rep.msg);
		return 1;
	}
	if (flags & CTL_KILL) {
		/* return only once the process is gone, so that a restart can
		 * never run beside it */
		for (int i = 0; i < 1000 && !gone(pid); i++) {
			struct timespec ts = {0, 10000000};
			nanosleep(&ts, NULL);
		}
	}
	printf("checkpoint %s: %llu bytes in %.3f s, paused %.3f s\n", req.path,
	       (unsigned long long)rep.size, (double)rep.total_ns / 1e9, (double)rep.pause_ns / 1e9);
	return 0;
}
