/*
 * cairn: checkpoint and restart unmodified Linux programs.
 */
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static const char usage[] =
	"usage: cairn COMMAND [ARGS]\n"
	"\n"
	"  run [--mpi] [--] PROG [ARGS]  start PROG under checkpoint control (same PID)\n"
	"  mpirun [--launcher CMD] [LAUNCHER OPTIONS] PROG [ARGS]\n"
	"                                run an MPI job with every rank under cairn\n"
	"  checkpoint [-o FILE] [--kill | --signal SIG] PID\n"
	"                                save process PID to FILE (default context.PID)\n"
	"  restart [--signal SIG] IMAGE  bring a saved process back, in the foreground\n"
	"  inspect IMAGE                 show what an image holds\n"
	"\n"
	"`cairn COMMAND --help` says more about each command. Called as cr_run,\n"
	"cr_checkpoint or cr_restart, cairn takes BLCR's options (--help says them).\n";

int cli_sibling(const char *rel, char *out, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return -1;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (!slash)
		return -1;
	*slash = 0;
	slash = strrchr(exe, '/');
	if (!slash)
		return -1;
	*slash = 0;
	snprintf(out, len, "%s/%s", exe, rel);
	return access(out, F_OK);
}

int cli_signal(const char *s)
{
	static const struct {
		const char *name;
		int sig;
	} names[] = {{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"ABRT", SIGABRT},
		     {"KILL", SIGKILL}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"TERM", SIGTERM},
		     {"STOP", SIGSTOP}, {"CONT", SIGCONT}, {"TSTP", SIGTSTP}, {"ALRM", SIGALRM}};
	char *end;
	long v = strtol(s, &end, 10);

	if (*s && !*end)
		return v > 0 && v < 64 ? (int)v : -1;
	if (strncmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0)
			return names[i].sig;
	return -1;
}

int wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	/* called as one of BLCR's commands (links to this binary) */
	const char *base = strrchr(argv[0], '/');
	base = base ? base + 1 : argv[0];
	if (strcmp(base, "cr_run") == 0)
		return cmd_cr_run(argc, argv);
	if (strcmp(base, "cr_checkpoint") == 0)
		return cmd_cr_checkpoint(argc, argv);
	if (strcmp(base, "cr_restart") == 0)
		return cmd_cr_restart(argc, argv);

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(cmd, "checkpoint") == 0)
		return cmd_checkpoint(argc - 1, argv + 1);
	if (strcmp(cmd, "mpirun") == 0)
		return cmd_mpirun(argc - 1, argv + 1);
	if (strcmp(cmd, "restart") == 0)
		return cmd_restart(argc - 1, argv + 1);
	if (strcmp(cmd, "inspect") == 0)
		return cmd_inspect(argc - 1, argv + 1);
	fprintf(stderr, "cairn: unknown command '%s'\n%s", cmd, usage);
	return 2;
}
