/*
 * cr_run, cr_checkpoint and cr_restart: BLCR's commands, with BLCR's
 * options, on top of cairn. The cairn binary acts as them when called by
 * those names (the build and `make install` make the links).
 *
 * cr_checkpoint opens the context file itself, as BLCR's did (so the
 * file is the requester's, in a directory the requester may write), and
 * passes the descriptor to the process, which writes its image into it.
 * The default is atomic: the image goes to .NAME.tmp beside NAME and is
 * renamed over NAME only once complete and flushed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blcr_common.h"
#include "cli/cli.h"
#include "common/ctl_client.h"

static const char *me = "cr_checkpoint";
static int quiet;

__attribute__((format(printf, 2, 3))) static int die(int code, const char *f, ...)
{
	if (!quiet) {
		va_list ap;
		fprintf(stderr, "%s: ", me);
		va_start(ap, f);
		vfprintf(stderr, f, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	code &= 0xff;
	return code ? code : 1;
}

static int read_int(const char *s, long *v)
{
	char *end;
	errno = 0;
	*v = strtol(s, &end, 0);
	return *s && !*end && !errno ? 0 : -1;
}

/* ---- cr_run ---- */

static const char run_help[] =
	"usage: cr_run [--] PROGRAM [ARGS]\n"
	"\n"
	"Runs PROGRAM with checkpoint support (cairn's `cairn run`: same PID, the\n"
	"runtime preloaded), so that cr_checkpoint can checkpoint it.\n"
	"  --run       the default\n"
	"  --omit      not supported by cairn: refused\n"
	"  --help, --version\n";

int cmd_cr_run(int argc, char **argv)
{
	int i = 1;

	me = "cr_run";
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-?") == 0) {
			fputs(run_help, stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("cr_run: version %s (cairn)\n", CR_RELEASE_VERSION);
			return 0;
		} else if (strcmp(argv[i], "--run") == 0) {
			continue;
		} else if (strcmp(argv[i], "--omit") == 0) {
			return die(2, "--omit is not supported: cairn cannot leave a process out of "
				      "checkpoints of its tree");
		} else {
			break;
		}
	}
	if (i >= argc) {
		fputs(run_help, stderr);
		return 2;
	}
	char **v = calloc((size_t)(argc - i + 3), sizeof(*v));
	if (!v)
		return die(1, "out of memory");
	v[0] = "run";
	v[1] = "--";
	for (int k = i; k < argc; k++)
		v[2 + k - i] = argv[k];
	return cmd_run(argc - i + 2, v);
}

/* ---- cr_checkpoint ---- */

static const char ckpt_help[] =
	"usage: cr_checkpoint [options] ID\n"
	"\n"
	"Checkpoints process ID (started with cr_run or cairn run, or linked with\n"
	"-lcr) into a context file, BLCR's way, on top of cairn.\n"
	"\n"
	"What ID names:\n"
	"  -T, --tree             the process and its descendants (default); cairn\n"
	"                         saves one process, so a process with children is\n"
	"                         refused (use --pid)\n"
	"  -p, --pid, --process   the process only\n"
	"  -g, --pgid, --group    a process group (of one process)\n"
	"  -s, --sid, --session   a session (of one process)\n"
	"Where the context goes:\n"
	"  -c, --cwd              context.ID in the current directory (default)\n"
	"  -f, --file FILE        FILE\n"
	"  -F, --fd FD            an open descriptor (a regular file, at offset 0)\n"
	"  -d, --dir DIR          not supported (one file per process), as in BLCR\n"
	"How it replaces an older file:\n"
	"      --atomic           written beside it, renamed over it when complete\n"
	"                         (default)\n"
	"      --backup[=NAME]    the same, the older file kept as NAME or FILE.~N~\n"
	"      --clobber          written into it directly\n"
	"      --noclobber        fails if it exists\n"
	"Signal sent to the process once the context is complete:\n"
	"      --run              none: it continues (default)\n"
	"  -S, --signal NUM       signal NUM\n"
	"      --stop, --term, --abort, --kill, --cont\n"
	"Other:\n"
	"  -t, --time SEC         give the process SEC seconds to complete\n"
	"      --sync, --nosync   the context is always flushed (cairn writes it\n"
	"                         durably): accepted\n"
	"      --save-*, --ptraced-*, --ptracer-*, --kmsg-*: accepted, no effect\n"
	"  -q, --quiet            no messages\n"
	"  -v, --verbose          say what is done\n"
	"  -?, --help, --version\n"
	"\n"
	"Exit status 0 on success; on failure the low 8 bits of the error code\n"
	"(a callback's own code when it refused with one).\n";

enum {
	OPT_ATOMIC = 256,
	OPT_BACKUP,
	OPT_CLOBBER,
	OPT_NOCLOBBER,
	OPT_RUN,
	OPT_STOP,
	OPT_TERM,
	OPT_ABORT,
	OPT_KILL,
	OPT_CONT,
	OPT_SYNC,
	OPT_NOSYNC,
	OPT_IGNORED,
	OPT_VERSION,
};

static int write_backup(const char *final, const char *backup)
{
	char name[PATH_MAX + 32];
	struct stat st;

	if (stat(final, &st) < 0)
		return 0; /* nothing to keep */
	if (backup) {
		snprintf(name, sizeof(name), "%s", backup);
	} else {
		for (int n = 1;; n++) {
			snprintf(name, sizeof(name), "%s.~%d~", final, n);
			if (stat(name, &st) < 0)
				break;
		}
	}
	return rename(final, name);
}

static void fsync_dir(const char *path)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	int d = open(dirname(buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d >= 0) {
		fsync(d);
		close(d);
	}
}

int cmd_cr_checkpoint(int argc, char **argv)
{
	static const struct option opts[] = {
		{"tree", no_argument, 0, 'T'},
		{"pid", no_argument, 0, 'p'},
		{"process", no_argument, 0, 'p'},
		{"pgid", no_argument, 0, 'g'},
		{"group", no_argument, 0, 'g'},
		{"sid", no_argument, 0, 's'},
		{"session", no_argument, 0, 's'},
		{"cwd", no_argument, 0, 'c'},
		{"file", required_argument, 0, 'f'},
		{"fd", required_argument, 0, 'F'},
		{"dir", required_argument, 0, 'd'},
		{"atomic", no_argument, 0, OPT_ATOMIC},
		{"backup", optional_argument, 0, OPT_BACKUP},
		{"clobber", no_argument, 0, OPT_CLOBBER},
		{"noclobber", no_argument, 0, OPT_NOCLOBBER},
		{"run", no_argument, 0, OPT_RUN},
		{"signal", required_argument, 0, 'S'},
		{"stop", no_argument, 0, OPT_STOP},
		{"term", no_argument, 0, OPT_TERM},
		{"abort", no_argument, 0, OPT_ABORT},
		{"kill", no_argument, 0, OPT_KILL},
		{"cont", no_argument, 0, OPT_CONT},
		{"sync", no_argument, 0, OPT_SYNC},
		{"nosync", no_argument, 0, OPT_NOSYNC},
		{"save-exe", no_argument, 0, OPT_IGNORED},
		{"save-private", no_argument, 0, OPT_IGNORED},
		{"save-shared", no_argument, 0, OPT_IGNORED},
		{"save-all", no_argument, 0, OPT_IGNORED},
		{"save-none", no_argument, 0, OPT_IGNORED},
		{"ptraced-allow", no_argument, 0, OPT_IGNORED},
		{"ptraced-skip", no_argument, 0, OPT_IGNORED},
		{"ptraced-error", no_argument, 0, OPT_IGNORED},
		{"ptracer-skip", no_argument, 0, OPT_IGNORED},
		{"ptracer-error", no_argument, 0, OPT_IGNORED},
		{"kmsg-none", no_argument, 0, OPT_IGNORED},
		{"kmsg-error", no_argument, 0, OPT_IGNORED},
		{"kmsg-warning", no_argument, 0, OPT_IGNORED},
		{"time", required_argument, 0, 't'},
		{"quiet", no_argument, 0, 'q'},
		{"verbose", no_argument, 0, 'v'},
		{"help", no_argument, 0, 'h'},
		{"version", no_argument, 0, OPT_VERSION},
		{0, 0, 0, 0},
	};
	int scope = 3, verbose = 0, sig = 0, kill_after = 0, fd = -1, opened = 0;
	enum { ATOMIC, BACKUP, CLOBBER, NOCLOBBER } mode = ATOMIC;
	const char *file = NULL, *backup = NULL;
	long secs = 0, v;
	int c;

	me = "cr_checkpoint";
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+TpgscF:f:d:S:t:qvh?", opts, NULL)) != -1) {
		switch (c) {
		case 'T': scope = 3; break;
		case 'p': scope = 0; break;
		case 'g': scope = 1; break;
		case 's': scope = 2; break;
		case 'c': file = NULL; fd = -1; break;
		case 'f': file = optarg; fd = -1; break;
		case 'F':
			if (read_int(optarg, &v) < 0 || v < 0 || fcntl((int)v, F_GETFD) < 0)
				return die(EBADF, "--fd %s is not an open descriptor", optarg);
			fd = (int)v;
			break;
		case 'd':
			return die(EINVAL, "--dir is not supported: cairn writes one context "
					   "file (use --file)");
		case OPT_ATOMIC: mode = ATOMIC; break;
		case OPT_BACKUP: mode = BACKUP; backup = optarg; break;
		case OPT_CLOBBER: mode = CLOBBER; break;
		case OPT_NOCLOBBER: mode = NOCLOBBER; break;
		case OPT_RUN: sig = 0; kill_after = 0; break;
		case 'S':
			if (read_int(optarg, &v) < 0 || v <= 0 || v >= CR_SIGNUM)
				return die(EINVAL, "invalid signal '%s'", optarg);
			sig = (int)v;
			kill_after = sig == SIGKILL;
			break;
		case OPT_STOP: sig = SIGSTOP; kill_after = 0; break;
		case OPT_TERM: sig = SIGTERM; kill_after = 0; break;
		case OPT_ABORT: sig = SIGABRT; kill_after = 0; break;
		case OPT_KILL: sig = SIGKILL; kill_after = 1; break;
		case OPT_CONT: sig = SIGCONT; kill_after = 0; break;
		case OPT_SYNC:
		case OPT_NOSYNC:
		case OPT_IGNORED: break;
		case 't':
			if (read_int(optarg, &secs) < 0 || secs < 0)
				return die(EINVAL, "time limit must be a non-negative number");
			break;
		case 'q': quiet = 1; break;
		case 'v': verbose++; break;
		case OPT_VERSION: printf("cr_checkpoint: version %s (cairn)\n", CR_RELEASE_VERSION); return 0;
		case 'h': fputs(ckpt_help, stdout); return 0;
		default:
			if (optopt == '?' || (optind > 0 && strcmp(argv[optind - 1], "-?") == 0)) {
				fputs(ckpt_help, stdout);
				return 0;
			}
			fprintf(stderr, "cr_checkpoint: unknown or incomplete option '%s'\n%s",
				argv[optind - 1], ckpt_help);
			return 255;
		}
	}
	if (argc - optind != 1) {
		fputs(ckpt_help, stderr);
		return 255;
	}
	if (read_int(argv[optind], &v) < 0 || v <= 0 || v > INT32_MAX)
		return die(EINVAL, "'%s' is not a process id", argv[optind]);
	pid_t target = (pid_t)v;

	/* cairn saves one process per context file */
	pid_t who[3];
	int n = proc_scope(scope, target, who, 3);
	static const char *const scope_name[] = {"process", "process group", "session", "process"};
	if (n < 0)
		return die(ESRCH, "no %s with id %d", scope_name[scope], (int)target);
	if (n > 1) {
		if (scope == 3)
			return die(ENOSYS,
				   "process %d has child processes (%d...); cairn checkpoints one "
				   "process per context file: use --pid to checkpoint %d alone",
				   (int)target, (int)who[1], (int)target);
		return die(ENOSYS, "%s %d holds %d processes or more; cairn checkpoints one process "
				   "per context file",
			   scope_name[scope], (int)target, n);
	}
	pid_t pid = who[0];

	char final[PATH_MAX], tmp[PATH_MAX + 16];
	const char *dest;
	tmp[0] = 0;
	if (fd < 0) {
		char name[PATH_MAX];
		if (file)
			snprintf(name, sizeof(name), "%s", file);
		else
			snprintf(name, sizeof(name), "context.%d", (int)target);
		if (name[0] != '/') {
			char cwd[PATH_MAX - 256];
			if (!getcwd(cwd, sizeof(cwd)))
				return die(errno, "cannot find the current directory: %s", strerror(errno));
			if ((size_t)snprintf(final, sizeof(final), "%s/%s", cwd, name) >= sizeof(final))
				return die(ENAMETOOLONG, "the context file's path is too long");
		} else {
			snprintf(final, sizeof(final), "%s", name);
		}
		struct stat st;
		if (stat(final, &st) == 0 && S_ISDIR(st.st_mode))
			return die(EISDIR, "'%s' is a directory: --dir is not supported", final);
		int flags = O_WRONLY | O_CREAT | O_CLOEXEC;
		if (mode == ATOMIC || mode == BACKUP) {
			char b[PATH_MAX], d[PATH_MAX];
			snprintf(b, sizeof(b), "%s", final);
			snprintf(d, sizeof(d), "%s", final);
			snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dirname(d), basename(b));
			fd = open(tmp, flags | O_TRUNC, 0600);
		} else if (mode == NOCLOBBER) {
			fd = open(final, flags | O_EXCL, 0600);
			if (fd >= 0)
				snprintf(tmp, sizeof(tmp), "%s", final); /* removed on failure */
		} else {
			unlink(final);
			fd = open(final, flags | O_TRUNC, 0600);
			if (fd >= 0)
				snprintf(tmp, sizeof(tmp), "%s", final);
		}
		if (fd < 0)
			return die(errno, "cannot create the context file for '%s': %s", final,
				   strerror(errno));
		opened = 1;
		dest = final;
	} else {
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		ssize_t l = readlink(proc, final, sizeof(final) - 1);
		final[l > 0 ? l : 0] = 0;
		dest = final;
	}

	struct ctl_call call;
	char msg[2048];
	memset(&call, 0, sizeof(call));
	call.pid = pid;
	call.image_fd = fd;
	call.req.flags = CTL_FD | (kill_after ? CTL_KILL : 0);
	call.req.signal = kill_after ? 0 : sig;
	call.req.scope = scope;
	call.req.target = target;
	snprintf(call.req.path, sizeof(call.req.path), "%s", dest);
	if (verbose)
		fprintf(stderr, "cr_checkpoint: checkpointing process %d into %s\n", (int)pid, dest);
	int err = 0;
	struct ctl_reply rep;
	memset(&rep, 0, sizeof(rep));
	if (ctl_send(&call, msg, sizeof(msg)) < 0) {
		err = errno;
		if (err == ENOTSUP)
			err = CR_ENOSUPPORT;
	} else {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			int left = -1;
			if (secs) {
				clock_gettime(CLOCK_MONOTONIC, &t1);
				long el = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
				left = el >= secs * 1000 ? 0 : (int)(secs * 1000 - el);
			}
			if (ctl_wait(&call, left, &rep, msg, sizeof(msg)) == 0)
				break;
			if (errno == EINTR)
				continue;
			err = errno;
			break;
		}
		ctl_close(&call);
		if (!err && rep.status) {
			snprintf(msg, sizeof(msg), "%s", rep.msg);
			switch (rep.refusal) {
			case REFUSAL_TEMP: err = rep.code ? rep.code : CR_ETEMPFAIL; break;
			case REFUSAL_PERM: err = rep.code ? rep.code : CR_EPERMFAIL; break;
			case REFUSAL_OMIT: err = ESRCH; break;
			default: err = rep.status;
			}
		}
	}
	if (err) {
		if (tmp[0])
			unlink(tmp);
		else if (fd >= 0 && ftruncate(fd, 0) < 0)
			(void)0;
		const char *what;
		char codebuf[64];
		if (err == CR_ETEMPFAIL)
			what = "Checkpoint cancelled by application: try again later";
		else if (err == CR_EPERMFAIL)
			what = "Checkpoint cancelled by application: unable to checkpoint";
		else if (err == CR_ENOSUPPORT)
			what = "Checkpoint failed: support missing from application";
		else if (err == ESRCH && rep.refusal == REFUSAL_OMIT)
			what = "Checkpoint failed: no processes checkpointed";
		else if (rep.refusal && err != ESRCH) {
			snprintf(codebuf, sizeof(codebuf), "Checkpoint cancelled by application (code %d)",
				 err);
			what = codebuf;
		} else
			what = "Checkpoint failed";
		return die(err, "%s: %s", what, msg);
	}
	if (tmp[0] && (mode == ATOMIC || mode == BACKUP)) {
		if (mode == BACKUP && write_backup(final, backup) < 0) {
			int e = errno;
			unlink(tmp);
			return die(e, "cannot keep the older '%s': %s", final, strerror(e));
		}
		if (rename(tmp, final) < 0) {
			int e = errno;
			unlink(tmp);
			return die(e, "cannot rename the context to '%s': %s", final, strerror(e));
		}
	}
	if (opened)
		close(fd);
	if (tmp[0])
		fsync_dir(final);
	if (kill_after)
		for (int i = 0; i < 1000 && !proc_gone(pid); i++) {
			struct timespec ts = {0, 10000000};
			nanosleep(&ts, NULL);
		}
	if (verbose)
		fprintf(stderr, "cr_checkpoint: %s: %llu bytes in %.3f s, paused %.3f s\n", dest,
			(unsigned long long)rep.size, (double)rep.total_ns / 1e9,
			(double)rep.pause_ns / 1e9);
	return 0;
}

/* ---- cr_restart ---- */

static const char restart_help[] =
	"usage: cr_restart [options] [FILE]\n"
	"\n"
	"Restarts the process saved in a context file, in the foreground, as this\n"
	"process (cairn restart). Its exit status becomes cr_restart's.\n"
	"  -f, --file FILE      the context file (or the last argument)\n"
	"  -F, --fd FD          read it from an open descriptor\n"
	"  -d, --dir DIR        not supported\n"
	"Signal sent to the process as it resumes:\n"
	"      --run            none (default)\n"
	"  -S, --signal NUM     signal NUM\n"
	"      --stop, --term, --abort, --kill, --cont\n"
	"Identity:\n"
	"      --no-restore-pid the process gets a new PID (what cairn does)\n"
	"      --restore-pid, --restore-pgid, --restore-sid: not supported, refused\n"
	"      --no-restore-pgid, --no-restore-sid: accepted\n"
	"Other:\n"
	"      --omit-maybe, --omit-always, --omit-never, --kmsg-*: accepted (cr_restart\n"
	"                       becomes the process; there is nothing to omit)\n"
	"      --relocate, --run-on-*: not supported, refused\n"
	"  -q, --quiet          no messages\n"
	"  -?, --help, -v, --version\n";

int cmd_cr_restart(int argc, char **argv)
{
	enum { R_RESTORE = 300, R_NORESTORE, R_UNSUPPORTED, R_IGNORED };
	static const struct option opts[] = {
		{"file", required_argument, 0, 'f'},
		{"fd", required_argument, 0, 'F'},
		{"dir", required_argument, 0, 'd'},
		{"run", no_argument, 0, OPT_RUN},
		{"signal", required_argument, 0, 'S'},
		{"stop", no_argument, 0, OPT_STOP},
		{"term", no_argument, 0, OPT_TERM},
		{"abort", no_argument, 0, OPT_ABORT},
		{"kill", no_argument, 0, OPT_KILL},
		{"cont", no_argument, 0, OPT_CONT},
		{"restore-pid", no_argument, 0, R_RESTORE},
		{"restore-pgid", no_argument, 0, R_RESTORE},
		{"restore-sid", no_argument, 0, R_RESTORE},
		{"no-restore-pid", no_argument, 0, R_NORESTORE},
		{"no-restore-pgid", no_argument, 0, R_NORESTORE},
		{"no-restore-sid", no_argument, 0, R_NORESTORE},
		{"relocate", required_argument, 0, R_UNSUPPORTED},
		{"run-on-success", required_argument, 0, R_UNSUPPORTED},
		{"run-on-fail-args", required_argument, 0, R_UNSUPPORTED},
		{"run-on-fail-temp", required_argument, 0, R_UNSUPPORTED},
		{"run-on-fail-env", required_argument, 0, R_UNSUPPORTED},
		{"run-on-fail-perm", required_argument, 0, R_UNSUPPORTED},
		{"run-on-failure", required_argument, 0, R_UNSUPPORTED},
		{"omit-maybe", no_argument, 0, R_IGNORED},
		{"omit-always", no_argument, 0, R_IGNORED},
		{"omit-never", no_argument, 0, R_IGNORED},
		{"kmsg-none", no_argument, 0, R_IGNORED},
		{"kmsg-error", no_argument, 0, R_IGNORED},
		{"kmsg-warning", no_argument, 0, R_IGNORED},
		{"quiet", no_argument, 0, 'q'},
		{"help", no_argument, 0, 'h'},
		{"version", no_argument, 0, 'v'},
		{0, 0, 0, 0},
	};
	const char *file = NULL;
	char fdpath[64];
	int sig = 0, c, idx;
	long v;

	me = "cr_restart";
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+f:F:d:S:qvh?", opts, &idx)) != -1) {
		switch (c) {
		case 'f': file = optarg; break;
		case 'F':
			if (read_int(optarg, &v) < 0 || v < 0 || fcntl((int)v, F_GETFD) < 0)
				return die(EBADF, "--fd %s is not an open descriptor", optarg);
			snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%ld", v);
			file = fdpath;
			break;
		case 'd': return die(EINVAL, "--dir is not supported: give the context file");
		case OPT_RUN: sig = 0; break;
		case 'S':
			if (read_int(optarg, &v) < 0 || v <= 0 || v >= CR_SIGNUM)
				return die(EINVAL, "invalid signal '%s'", optarg);
			sig = (int)v;
			break;
		case OPT_STOP: sig = SIGSTOP; break;
		case OPT_TERM: sig = SIGTERM; break;
		case OPT_ABORT: sig = SIGABRT; break;
		case OPT_KILL: sig = SIGKILL; break;
		case OPT_CONT: sig = SIGCONT; break;
		case R_RESTORE:
			return die(EINVAL, "--%s is not supported: cairn restarts the process with a "
					   "new PID (--no-restore-pid)",
				   opts[idx].name);
		case R_UNSUPPORTED: return die(EINVAL, "--%s is not supported by cairn", opts[idx].name);
		case R_NORESTORE:
		case R_IGNORED: break;
		case 'q': quiet = 1; break;
		case 'v': printf("cr_restart: version %s (cairn)\n", CR_RELEASE_VERSION); return 0;
		case 'h': fputs(restart_help, stdout); return 0;
		default:
			if (optind > 0 && strcmp(argv[optind - 1], "-?") == 0) {
				fputs(restart_help, stdout);
				return 0;
			}
			fprintf(stderr, "cr_restart: unknown or incomplete option '%s'\n%s",
				argv[optind - 1], restart_help);
			return 255;
		}
	}
	if (!file && argc - optind == 1)
		file = argv[optind++];
	if (!file || argc != optind) {
		fputs(restart_help, stderr);
		return 255;
	}
	char sigbuf[16];
	char *v2[5];
	int n = 0;
	v2[n++] = "restart";
	if (sig) {
		snprintf(sigbuf, sizeof(sigbuf), "%d", sig);
		v2[n++] = "--signal";
		v2[n++] = sigbuf;
	}
	v2[n++] = (char *)file;
	v2[n] = NULL;
	return cmd_restart(n, v2);
}
