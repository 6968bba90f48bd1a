/*
 * cairn run: exec a program in place with the runtime preloaded.
 */
#include <dirent.h>
#include <elf.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/fds.h"

static const char help[] =
	"usage: cairn run [--keep-fds] [--] PROG [ARGS...]\n"
	"\n"
	"Starts PROG under checkpoint control: cairn puts its runtime (libcairn.so)\n"
	"into LD_PRELOAD and execs PROG in place, so PROG keeps this PID, these\n"
	"descriptors and this environment. Checkpoint it later with\n"
	"`cairn checkpoint PID`. PROG must be dynamically linked (the runtime is\n"
	"loaded by the dynamic loader); scripts are fine when their interpreter is.\n"
	"\n"
	"Descriptors above 2 inherited from the caller that cairn could never save\n"
	"(pipes, sockets and the like, whose other end is another process) are\n"
	"closed before PROG starts, so that they cannot make every checkpoint fail;\n"
	"--keep-fds keeps them. Exit status 125 if cairn cannot start PROG.\n";

/* Finds PROG the way execvp would. */
static int find_program(const char *prog, char *out, size_t len)
{
	if (strchr(prog, '/')) {
		snprintf(out, len, "%s", prog);
		return access(out, X_OK);
	}
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path; *p;) {
		const char *colon = strchr(p, ':');
		size_t n = colon ? (size_t)(colon - p) : strlen(p);
		snprintf(out, len, "%.*s/%s", (int)n, n ? p : ".", prog);
		if (access(out, X_OK) == 0)
			return 0;
		p += n + (colon != NULL);
	}
	errno = ENOENT;
	return -1;
}

/* 1 if the file is an ELF executable without an interpreter. */
static int is_static_elf(const char *path)
{
	Elf64_Ehdr eh;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return 0;
	if (pread(fd, &eh, sizeof(eh), 0) == sizeof(eh) && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
	    eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr)) {
		rc = 1;
		for (int i = 0; i < eh.e_phnum; i++) {
			Elf64_Phdr ph;
			if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * sizeof(ph))) !=
			    sizeof(ph))
				break;
			if (ph.p_type == PT_INTERP)
				rc = 0;
		}
	}
	close(fd);
	return rc;
}

int cmd_run(int argc, char **argv)
{
	char prog[PATH_MAX], lib[PATH_MAX];
	int i = 1;

	if (wants_help(argc, argv)) {
		fputs(help, stdout);
		return 0;
	}
	int keep_fds = 0;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "--keep-fds") == 0) {
			keep_fds = 1;
		} else {
			fprintf(stderr, "cairn: run: unknown option '%s'\n%s", argv[i], help);
			return 125;
		}
	}
	if (i >= argc) {
		fputs(help, stderr);
		return 125;
	}
	if (find_program(argv[i], prog, sizeof(prog)) < 0) {
		fprintf(stderr, "cairn: cannot run %s: %s\n", argv[i], strerror(errno));
		return 125;
	}
	if (is_static_elf(prog)) {
		fprintf(stderr,
			"cairn: %s is statically linked; cairn's runtime is loaded by the dynamic "
			"loader (LD_PRELOAD), so only dynamically linked programs can run under it\n",
			prog);
		return 125;
	}
	if (cli_sibling("lib/libcairn.so", lib, sizeof(lib)) < 0) {
		fprintf(stderr, "cairn: cannot find the runtime at %s\n", lib);
		return 125;
	}
	const char *old = getenv("LD_PRELOAD");
	if (old && *old) {
		size_t n = strlen(lib) + strlen(old) + 2;
		char *v = malloc(n);
		snprintf(v, n, "%s %s", lib, old);
		setenv("LD_PRELOAD", v, 1);
	} else {
		setenv("LD_PRELOAD", lib, 1);
	}
	if (!keep_fds)
		close_unsaveable();
	execv(prog, argv + i);
	fprintf(stderr, "cairn: cannot run %s: %s\n", prog, strerror(errno));
	return 125;
}
