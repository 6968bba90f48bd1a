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
	"usage: cairn run [--keep-fds] [--mpi] [--] PROG [ARGS...]\n"
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
	"--keep-fds keeps them. Exit status 125 if cairn cannot start PROG.\n"
	"\n"
	"--mpi: PROG is an MPI rank (started by mpiexec; see `cairn mpirun`). It\n"
	"must use an MPI library with MPICH's ABI (libmpich.so.12 or libmpi.so.12);\n"
	"cairn's own (lib/cairn-mpi) is put first in LD_LIBRARY_PATH so that every\n"
	"MPI call lands in cairn, and inherited descriptors are kept (the launcher's\n"
	"connection belongs to the MPI library).\n";

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

/* The MPI library PROG would load, as the dynamic loader resolves it
 * (directly or through other libraries): 1 MPICH's ABI, 0 none, -1 another
 * ABI (named in other). */
static int mpi_abi(const char *prog, char *other, size_t olen)
{
	char cmd[PATH_MAX + 64], line[PATH_MAX + 256];
	int found = 0;

	other[0] = 0;
	/* ld.so's own listing (what ldd prints), without running PROG */
	snprintf(cmd, sizeof(cmd), "/lib64/ld-linux-x86-64.so.2 --list '%s' 2>/dev/null", prog);
	if (strchr(prog, '\''))
		return 0;
	FILE *f = popen(cmd, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char name[256];
		if (sscanf(line, " %255s", name) != 1)
			continue;
		if (strcmp(name, "libmpich.so.12") == 0 || strcmp(name, "libmpi.so.12") == 0)
			found = 1;
		else if (!found && strncmp(name, "libmpi.so.", 10) == 0)
			snprintf(other, olen, "%s", name);
	}
	pclose(f);
	if (found)
		return 1;
	return other[0] ? -1 : 0;
}

/* --mpi: cairn's MPI library first in the library path. */
static int setup_mpi(const char *prog)
{
	char dir[PATH_MAX], lib[PATH_MAX + 32], other[256];

	if (cli_sibling("lib/cairn-mpi", dir, sizeof(dir)) < 0 ||
	    (snprintf(lib, sizeof(lib), "%s/libmpich.so.12", dir), access(lib, R_OK) < 0)) {
		fprintf(stderr,
			"cairn: this cairn has no MPI support (no %s/libmpich.so.12; it is built "
			"when MPICH's headers are installed)\n",
			dir);
		return -1;
	}
	int abi = mpi_abi(prog, other, sizeof(other));
	if (abi < 0) {
		fprintf(stderr,
			"cairn: %s uses %s, another MPI ABI than MPICH's; cairn supports programs "
			"built with MPICH's ABI (libmpich.so.12, mpicc.mpich) for now\n",
			prog, other);
		return -1;
	}
	if (abi == 0) {
		fprintf(stderr,
			"cairn: %s does not use an MPI library (no libmpich.so.12 or libmpi.so.12 "
			"among its libraries); --mpi is for MPI programs\n",
			prog);
		return -1;
	}
	const char *old = getenv("LD_LIBRARY_PATH");
	size_t n = strlen(dir) + (old ? strlen(old) : 0) + 2;
	char *v = malloc(n);
	if (!v)
		return -1;
	snprintf(v, n, "%s%s%s", dir, old && *old ? ":" : "", old && *old ? old : "");
	setenv("LD_LIBRARY_PATH", v, 1);
	free(v);
	/* What the launcher left open besides PMI_FD (Hydra's listening
	 * socket...) belongs to the MPI lower half, which a checkpoint leaves
	 * out (src/mpi/lower_split.c reads this). */
	int fds[64], nfd = list_unsaveable(fds, 64);
	char list[64 * 12] = "";
	size_t len = 0;
	for (int i = 0; i < nfd && i < 64; i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%d", i ? "," : "", fds[i]);
	setenv("CAIRN_MPI_LAUNCHER_FDS", list, 1);
	return 0;
}

int cmd_run(int argc, char **argv)
{
	char prog[PATH_MAX], lib[PATH_MAX];
	int i = 1;

	if (wants_help(argc, argv)) {
		fputs(help, stdout);
		return 0;
	}
	int keep_fds = 0, mpi = 0;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "--keep-fds") == 0) {
			keep_fds = 1;
		} else if (strcmp(argv[i], "--mpi") == 0) {
			mpi = 1;
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
	if (mpi && setup_mpi(prog) < 0)
		return 125;
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
