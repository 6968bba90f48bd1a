/*
 * The job's coordinator: what `cairn mpirun` and `cairn restart DIR`
 * become while the job runs.
 *
 * It starts the launcher with CAIRN_JOB=HOST:PORT:TOKEN in its
 * environment; every rank's runtime connects back (common/jobproto.h). A
 * checkpoint of the job (asked by `cairn checkpoint DIR|PID`, by the job's
 * signal sent to this process or forwarded to a rank, or by the interval)
 * is one round:
 *
 *   1. DIR/ckpt.N.partial/ is made; every rank is told CKPT N and its
 *      image's path there;
 *   2. the ranks exchange what they must agree on (GATHER/ALL: cairn's MPI
 *      library votes there, so that either every rank is checkpointed or
 *      none is);
 *   3. each rank writes its image and says DONE;
 *   4. if all succeeded, the coordinator reads each image's identity,
 *      writes MANIFEST (flushed), renames the directory to DIR/ckpt.N,
 *      points DIR/latest at it, removes the oldest beyond --keep, and
 *      tells the ranks COMMIT (with --kill they end); otherwise ABORT and
 *      the partial directory is removed.
 *
 * The previous checkpoint stays valid throughout: nothing of it changes
 * until the new one is complete. A rank that ends during a round abandons
 * it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/job.h"
#include "cli/load.h"
#include "cli/manifest.h"
#include "common/jobproto.h"
#include "runtime/control.h"

#define MAX_RANKS 4096
/* a checkpoint refused for a passing reason is tried again every
 * RETRY_NS, up to RETRY_MAX times in a row (10 s) without a rank running
 * forward; while ranks behind in a collective run forward to it, for up to
 * FORWARD_NS from the first attempt */
#define RETRY_NS 200000000ull
#define RETRY_MAX 50
#define FORWARD_NS (600ull * 1000000000ull)

struct conn {
	int fd;
	int rank, pid;
	char host[64];
	int gathered; /* its GATHER of this round is in */
	int done;     /* its DONE of this round is in */
	struct job_done d;
	void *blob;
	uint32_t bloblen;
};

static struct {
	const struct job_spec *js;
	char dir[2048];
	int dir_ready;
	int lock_fd;
	char token[JOB_TOKEN_LEN + 1];
	int tcp_fd, ctl_fd, sig_fd;
	char ctl_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char alias_path[PATH_MAX];
	pid_t launcher;
	int size; /* ranks in the job, from their HELLO */
	struct conn *c[MAX_RANKS];
	/* the round in progress */
	int active;
	unsigned number;
	unsigned flags;
	uint64_t t0;
	uint64_t t_first; /* the first attempt's start, when it was tried again */
	int client; /* the `cairn checkpoint` waiting for it, or -1 */
	int aborted;
	char why[1000];
	int wait_exit;	/* reply to client once the launcher has ended */
	int tries;         /* rounds refused for a passing reason, in a row */
	int stuck;         /* of them, the last ones in a row with no rank running forward */
	uint64_t retry_at; /* when to try again (0: not) */
	unsigned retry_flags;
	int queued;          /* a `cairn checkpoint` that came during a round, or -1 */
	unsigned queued_flags;
	struct ctl_reply pending;
} J;

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("cairn: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---- options ---- */

int job_option(int argc, char **argv, int i, struct job_spec *js)
{
	const char *a = argv[i];
	const char *names[] = {"--dir", "--interval", "--keep", "--signal"};

	for (int k = 0; k < 4; k++) {
		size_t l = strlen(names[k]);
		const char *v;
		int used;
		if (!strncmp(a, names[k], l) && a[l] == '=') {
			v = a + l + 1;
			used = 1;
		} else if (!strcmp(a, names[k])) {
			if (i + 1 >= argc) {
				say("%s needs a value", names[k]);
				return -1;
			}
			v = argv[i + 1];
			used = 2;
		} else {
			continue;
		}
		char *end;
		long n = 0;
		if (k == 0) {
			js->dir = v;
			return used;
		}
		if (k == 3) {
			int s = cli_signal(v);
			if (s <= 0 || s == SIGKILL || s == SIGSTOP || s >= 64) {
				say("--signal: '%s' is not a signal cairn can use", v);
				return -1;
			}
			js->signal = s;
			return used;
		}
		n = strtol(v, &end, 10);
		if (*end || n < (k == 2 ? 1 : 0) || n > 100000000) {
			say("%s: '%s' is not a number of %s", names[k], v, k == 1 ? "seconds" : "checkpoints");
			return -1;
		}
		if (k == 1)
			js->interval = (int)n;
		else
			js->keep = (int)n;
		return used;
	}
	return 0;
}

/* ---- the checkpoint directory ---- */

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			if (mkdir(tmp, mode) < 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

static void fsync_path(const char *p)
{
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

static void rm_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char sub[PATH_MAX + 300];

	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		unlink(sub);
	}
	if (d)
		closedir(d);
	rmdir(path);
}

/* ckpt.N (committed) or ckpt.N.partial; N, or 0 if name is neither. */
static unsigned ckpt_number(const char *name, int *partial)
{
	char *end;
	if (strncmp(name, "ckpt.", 5) || name[5] < '1' || name[5] > '9')
		return 0;
	unsigned long n = strtoul(name + 5, &end, 10);
	if (n == 0 || n > 1000000000ul)
		return 0;
	*partial = !strcmp(end, ".partial");
	if (*end && !*partial)
		return 0;
	return (unsigned)n;
}

/* The committed checkpoints of dir, sorted; returns how many. */
static int list_committed(const char *dir, unsigned *out, int max)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d))) {
		int partial;
		unsigned k = ckpt_number(e->d_name, &partial);
		if (k && !partial && n < max)
			out[n++] = k;
	}
	if (d)
		closedir(d);
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && out[j - 1] > out[j]; j--) {
			unsigned t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

static unsigned next_number(void)
{
	DIR *d = opendir(J.dir);
	struct dirent *e;
	unsigned max = 0;

	while (d && (e = readdir(d))) {
		int partial;
		unsigned k = ckpt_number(e->d_name, &partial);
		if (k > max)
			max = k;
	}
	if (d)
		closedir(d);
	return max + 1;
}

/* DIR/job: who coordinates the job, for `cairn checkpoint DIR`. */
static void write_job_file(void)
{
	char p[2100];
	snprintf(p, sizeof(p), "%s/job", J.dir);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f) {
		fprintf(f, "pid %d\nlauncher %d\n", (int)getpid(), (int)J.launcher);
		fclose(f);
	} else if (fd >= 0) {
		close(fd);
	}
}

/* The directory, locked for this job; its job file names the coordinator. */
static int dir_prepare(char *err, size_t len)
{
	char p[PATH_MAX + 32];

	if (J.dir_ready)
		return 0;
	if (mkdir_p(J.dir, 0700) < 0) {
		snprintf(err, len, "cannot make the checkpoint directory %.900s: %s", J.dir, strerror(errno));
		return -1;
	}
	snprintf(p, sizeof(p), "%s/.lock", J.dir);
	J.lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (J.lock_fd < 0 || flock(J.lock_fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, len, "the checkpoint directory %.900s is in use by another job%s%s", J.dir,
			 J.lock_fd < 0 ? ": " : "", J.lock_fd < 0 ? strerror(errno) : "");
		if (J.lock_fd >= 0)
			close(J.lock_fd);
		J.lock_fd = -1;
		return -1;
	}
	/* what an abandoned coordinator left */
	DIR *d = opendir(J.dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		int partial;
		if (ckpt_number(e->d_name, &partial) && partial) {
			snprintf(p, sizeof(p), "%s/%s", J.dir, e->d_name);
			rm_tree(p);
		}
	}
	if (d)
		closedir(d);
	J.dir_ready = 1;
	write_job_file();
	return 0;
}

/* ---- talking to the ranks ---- */

static int nlive(void)
{
	int n = 0;
	for (int r = 0; r < MAX_RANKS; r++)
		n += J.c[r] != NULL;
	return n;
}

static void drop(int r)
{
	struct conn *c = J.c[r];
	if (!c)
		return;
	close(c->fd);
	free(c->blob);
	free(c);
	J.c[r] = NULL;
}

static void to_all(uint32_t type, const void *p, uint32_t len)
{
	for (int r = 0; r < MAX_RANKS; r++)
		if (J.c[r] && job_send(J.c[r]->fd, type, p, len) < 0)
			drop(r);
}

static void reply_client(const struct ctl_reply *rep)
{
	if (J.client < 0)
		return;
	if (send(J.client, rep, sizeof(*rep), MSG_NOSIGNAL) < 0)
		(void)0; /* the asker is gone */
	close(J.client);
	J.client = -1;
}

static void fail_reply(int client, int status, const char *msg)
{
	struct ctl_reply rep;
	memset(&rep, 0, sizeof(rep));
	rep.magic = CTL_MAGIC;
	rep.status = status;
	rep.kind = CTL_REPLY_JOB;
	snprintf(rep.msg, sizeof(rep.msg), "%s", msg);
	if (client >= 0) {
		if (send(client, &rep, sizeof(rep), MSG_NOSIGNAL) < 0)
			(void)0;
		close(client);
	} else {
		say("job checkpoint not taken: %s", msg);
	}
}

/* No round in progress or due, and the job not ending after a --kill: a
 * new round may start (by the interval, the signal, a rank's request). */
static int idle(void)
{
	return !J.active && !J.retry_at && !J.wait_exit;
}

static void start_round(unsigned flags, int client)
{
	char err[1024], p[2200];

	if (J.active || J.retry_at) {
		fail_reply(client, EBUSY, "a checkpoint of this job is in progress");
		return;
	}
	if (J.wait_exit) {
		fail_reply(client, ESRCH, "the job is ending after checkpoint --kill");
		return;
	}
	if (J.size <= 0 || nlive() < J.size) {
		snprintf(err, sizeof(err),
			 J.size <= 0 ? "no rank has joined the job yet"
				     : "only %d of the job's %d ranks have joined it",
			 nlive(), J.size);
		fail_reply(client, EAGAIN, err);
		return;
	}
	if (dir_prepare(err, sizeof(err)) < 0) {
		fail_reply(client, EIO, err);
		return;
	}
	J.number = next_number();
	snprintf(p, sizeof(p), "%s/ckpt.%u.partial", J.dir, J.number);
	if (mkdir(p, 0700) < 0) {
		snprintf(err, sizeof(err), "cannot make %.900s: %s", p, strerror(errno));
		fail_reply(client, EIO, err);
		return;
	}
	J.active = 1;
	J.flags = flags;
	J.client = client;
	J.aborted = 0;
	J.why[0] = 0;
	J.t0 = mono_ns();
	if (!J.tries) {
		J.t_first = J.t0;
		J.stuck = 0;
	}
	struct job_ckpt ck;
	for (int r = 0; r < MAX_RANKS; r++) {
		if (!J.c[r])
			continue;
		J.c[r]->gathered = J.c[r]->done = 0;
		memset(&ck, 0, sizeof(ck));
		ck.number = J.number;
		ck.flags = flags;
		snprintf(ck.path, sizeof(ck.path), "%s/rank.%d", p, r);
		if (job_send(J.c[r]->fd, JOB_CKPT, &ck, sizeof(ck)) < 0)
			drop(r);
	}
}

static void abort_round(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void abort_round(const char *fmt, ...)
{
	va_list ap;
	if (J.aborted)
		return;
	J.aborted = 1;
	va_start(ap, fmt);
	vsnprintf(J.why, sizeof(J.why), fmt, ap);
	va_end(ap);
	struct job_commit a;
	memset(&a, 0, sizeof(a));
	a.number = J.number;
	snprintf(a.msg, sizeof(a.msg), "%s", J.why);
	/* ranks waiting in an exchange learn it now; the others after DONE */
	for (int r = 0; r < MAX_RANKS; r++)
		if (J.c[r] && J.c[r]->gathered && !J.c[r]->done) {
			J.c[r]->gathered = 0;
			if (job_send(J.c[r]->fd, JOB_ABORT, &a, sizeof(a)) < 0)
				drop(r);
		}
}

static void human_size(uint64_t b, char *out, size_t len)
{
	if (b >= 10ull << 30)
		snprintf(out, len, "%.1f GiB", (double)b / (1 << 30));
	else if (b >= 10ull << 20)
		snprintf(out, len, "%.1f MiB", (double)b / (1 << 20));
	else
		snprintf(out, len, "%.1f KiB", (double)b / 1024);
}

/* Every rank has answered (or is gone): commit or abandon. */
static void finish_round(void)
{
	char part[2200], fin[2200], p[2400], err[1024];
	struct ctl_reply rep;
	struct manifest m;
	uint64_t total = 0, pause = 0;

	memset(&rep, 0, sizeof(rep));
	rep.magic = CTL_MAGIC;
	rep.kind = CTL_REPLY_JOB;
	snprintf(part, sizeof(part), "%s/ckpt.%u.partial", J.dir, J.number);
	snprintf(fin, sizeof(fin), "%s/ckpt.%u", J.dir, J.number);
	if (!J.aborted && nlive() < J.size)
		abort_round("a rank ended during the checkpoint");
	memset(&m, 0, sizeof(m));
	if (!J.aborted) {
		m.number = J.number;
		m.ranks = J.size;
		m.time = (long long)time(NULL);
		if (!getcwd(m.cwd, sizeof(m.cwd)))
			snprintf(m.cwd, sizeof(m.cwd), "/");
		m.nlauncher = J.js->nlauncher;
		m.noptions = J.js->noptions;
		m.nprogram = J.js->nprogram;
		for (int i = 0; i < m.nlauncher && i < MANIFEST_MAX_WORDS; i++)
			m.launcher[i] = J.js->launcher[i];
		for (int i = 0; i < m.noptions && i < MANIFEST_MAX_WORDS; i++)
			m.options[i] = J.js->options[i];
		for (int i = 0; i < m.nprogram && i < MANIFEST_MAX_WORDS; i++)
			m.program[i] = J.js->program[i];
		m.rank = calloc((size_t)J.size, sizeof(*m.rank));
		for (int r = 0; r < J.size && m.rank; r++) {
			struct conn *c = J.c[r];
			snprintf(p, sizeof(p), "%s/rank.%d", part, r);
			if (image_identity(p, &m.rank[r].checksum, &m.rank[r].size, err, sizeof(err)) < 0) {
				abort_round("rank %d: %s", r, err);
				break;
			}
			snprintf(m.rank[r].host, sizeof(m.rank[r].host), "%s", c->host);
			m.rank[r].pid = c->pid;
			total += m.rank[r].size;
			if (c->d.pause_ns > pause)
				pause = c->d.pause_ns;
		}
		snprintf(p, sizeof(p), "%s/%s", part, MANIFEST_NAME);
		if (!J.aborted && (!m.rank || manifest_write(p, &m, err, sizeof(err)) < 0))
			abort_round("%s", m.rank ? err : "out of memory");
		free(m.rank);
	}
	if (!J.aborted) {
		fsync_path(part);
		if (rename(part, fin) < 0)
			abort_round("cannot rename %.900s: %s", part, strerror(errno));
	}
	struct job_commit v;
	memset(&v, 0, sizeof(v));
	v.number = J.number;
	v.flags = J.flags;
	if (J.aborted) {
		snprintf(v.msg, sizeof(v.msg), "%s", J.why);
		to_all(JOB_ABORT, &v, sizeof(v));
		rm_tree(part);
		/* refused for a reason that passes (a rank inside MPI, a collective
		 * in progress): again, a moment later, for up to RETRY_MAX rounds
		 * in a row, or FORWARD_NS while ranks run forward */
		int passing = nlive() == J.size, any = 0, forward = 0;
		for (int r = 0; r < MAX_RANKS; r++)
			if (J.c[r] && J.c[r]->done && J.c[r]->d.status != 0) {
				any = 1;
				passing &= J.c[r]->d.retry != 0;
				forward |= J.c[r]->d.retry == JOB_RETRY_FORWARD;
			}
		J.stuck = forward ? 0 : J.stuck + 1;
		if (any && passing &&
		    (forward ? mono_ns() - J.t_first < FORWARD_NS : J.stuck < RETRY_MAX)) {
			J.tries++;
			J.retry_at = mono_ns() + RETRY_NS;
			J.retry_flags = J.flags;
			J.active = 0;
			return;
		}
		rep.status = ECANCELED;
		char tried[96] = "";
		if (J.tries)
			snprintf(tried, sizeof(tried), " after trying for %.0f s (%d attempts%s)",
				 (double)(mono_ns() - J.t_first) / 1e9, J.tries + 1,
				 !any || !passing ? ""
				 : forward	  ? ", ranks behind still running forward"
						  : ", the last 10 s with no rank running forward");
		snprintf(rep.msg, sizeof(rep.msg), "checkpoint %u of the job abandoned%s: %.900s", J.number,
			 tried, J.why);
		if (J.client < 0)
			say("%s", rep.msg);
		reply_client(&rep);
		J.active = 0;
		return;
	}
	fsync_path(J.dir);
	/* DIR/latest -> ckpt.N, replaced atomically */
	snprintf(p, sizeof(p), "%s/.latest.tmp", J.dir);
	unlink(p);
	char target[64];
	snprintf(target, sizeof(target), "ckpt.%u", J.number);
	if (symlink(target, p) == 0) {
		char latest[PATH_MAX + 16];
		snprintf(latest, sizeof(latest), "%s/latest", J.dir);
		rename(p, latest);
	}
	/* keep the newest js->keep */
	unsigned all[1024];
	int n = list_committed(J.dir, all, 1024);
	for (int i = 0; i + J.js->keep < n; i++) {
		snprintf(p, sizeof(p), "%s/ckpt.%u", J.dir, all[i]);
		rm_tree(p);
	}
	fsync_path(J.dir);
	to_all(JOB_COMMIT, &v, sizeof(v));
	uint64_t took = mono_ns() - J.t_first;
	char hs[32];
	human_size(total, hs, sizeof(hs));
	rep.status = 0;
	rep.size = total;
	rep.total_ns = took;
	rep.pause_ns = pause;
	char tries[64] = "";
	if (J.tries)
		snprintf(tries, sizeof(tries), " (%d attempts)", J.tries + 1);
	snprintf(rep.msg, sizeof(rep.msg),
		 "checkpoint %u of the job: %d ranks, %s in %.1500s, %.3f s%s, longest pause %.3f s",
		 J.number, J.size, hs, fin, (double)took / 1e9, tries, (double)pause / 1e9);
	if (J.client < 0)
		say("%s", rep.msg);
	J.active = 0;
	if (J.flags & JOB_F_KILL) {
		J.pending = rep;
		J.wait_exit = 1; /* answer once the job is gone */
		return;
	}
	reply_client(&rep);
}

static void round_progress(void)
{
	if (!J.active)
		return;
	int live = 0, done = 0, gathered = 0;
	for (int r = 0; r < MAX_RANKS; r++) {
		if (!J.c[r])
			continue;
		live++;
		done += J.c[r]->done;
		gathered += J.c[r]->gathered;
	}
	if (live < J.size)
		abort_round("a rank ended during the checkpoint");
	if (!J.aborted && gathered == live && live > 0) {
		/* every rank's blob, in rank order */
		uint32_t len = 0;
		int same = 1;
		for (int r = 0; r < MAX_RANKS; r++)
			if (J.c[r]) {
				if (len && J.c[r]->bloblen != len)
					same = 0;
				len = J.c[r]->bloblen;
			}
		if (!same) {
			abort_round("the ranks disagree on what to exchange (different cairn versions?)");
		} else {
			size_t tot = (size_t)len * (size_t)live;
			char *all = malloc(tot ? tot : 1);
			if (!all || tot > JOB_MAX_PAYLOAD) {
				abort_round("the ranks' exchange is too large (%zu bytes)", tot);
			} else {
				size_t off = 0;
				for (int r = 0; r < MAX_RANKS; r++)
					if (J.c[r]) {
						memcpy(all + off, J.c[r]->blob, len);
						off += len;
					}
				for (int r = 0; r < MAX_RANKS; r++)
					if (J.c[r]) {
						J.c[r]->gathered = 0;
						free(J.c[r]->blob);
						J.c[r]->blob = NULL;
					}
				to_all(JOB_ALL, all, (uint32_t)tot);
			}
			free(all);
		}
	}
	if (done >= live)
		finish_round();
}

/* Rank r has ended: it and every other rank whose connection has closed
 * too (a launcher ends the others when one dies: the first one seen closed
 * is not always the one that died), as "rank R (pid P on H) and ...". */
static void ended_ranks(int r, char *out, size_t len)
{
	size_t n = 0;
	out[0] = 0;
	for (int i = 0; i < MAX_RANKS && n + 1 < len; i++) {
		struct conn *c = J.c[i];
		if (!c)
			continue;
		struct pollfd p = { .fd = c->fd, .events = POLLIN | POLLRDHUP };
		if (i != r && (poll(&p, 1, 0) != 1 || !(p.revents & (POLLHUP | POLLRDHUP | POLLERR))))
			continue;
		int w = snprintf(out + n, len - n, "%srank %d (pid %d on %s)", n ? " and " : "", i,
				 c->pid, c->host);
		n += w > 0 ? (size_t)w : 0;
	}
}

static void rank_message(int r)
{
	struct conn *c = J.c[r];
	struct job_hdr h;

	if (job_io(c->fd, &h, sizeof(h), 0) < 0 || h.magic != JOB_MAGIC || h.len > JOB_MAX_PAYLOAD) {
		if (J.active && !J.aborted) {
			char who[600];
			ended_ranks(r, who, sizeof(who));
			abort_round("%s ended during the checkpoint", who);
		}
		drop(r);
		round_progress();
		return;
	}
	void *p = malloc(h.len ? h.len : 1);
	if (!p || (h.len && job_io(c->fd, p, h.len, 0) < 0)) {
		free(p);
		drop(r);
		round_progress();
		return;
	}
	switch (h.type) {
	case JOB_TRIGGER:
		free(p);
		if (idle()) {
			J.tries = 0;
			start_round(0, -1);
		}
		return;
	case JOB_GATHER:
		if (!J.active || J.aborted) {
			struct job_commit a;
			memset(&a, 0, sizeof(a));
			a.number = J.number;
			snprintf(a.msg, sizeof(a.msg), "%s", J.active ? J.why : "no checkpoint in progress");
			free(p);
			if (job_send(c->fd, JOB_ABORT, &a, sizeof(a)) < 0)
				drop(r);
			return;
		}
		free(c->blob);
		c->blob = p;
		c->bloblen = h.len;
		c->gathered = 1;
		break;
	case JOB_DONE:
		if (!J.active || h.len != sizeof(c->d)) {
			free(p);
			return;
		}
		memcpy(&c->d, p, sizeof(c->d));
		free(p);
		c->d.msg[sizeof(c->d.msg) - 1] = 0;
		c->done = 1;
		c->gathered = 0;
		if (c->d.status != 0)
			abort_round("rank %d: %s", r, c->d.msg[0] ? c->d.msg : strerror(c->d.status));
		break;
	default:
		free(p);
		return;
	}
	round_progress();
}

static void accept_rank(void)
{
	int fd = accept4(J.tcp_fd, NULL, NULL, SOCK_CLOEXEC);
	struct job_hello h;
	uint32_t type;

	if (fd < 0)
		return;
	struct timeval tv = {5, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	int n = job_recv(fd, &type, &h, sizeof(h));
	if (n != (int)sizeof(h) || type != JOB_HELLO ||
	    strncmp(h.token, J.token, sizeof(h.token)) != 0) {
		close(fd);
		return;
	}
	tv.tv_sec = 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	h.host[sizeof(h.host) - 1] = 0;
	if (h.rank < 0 || h.rank >= MAX_RANKS || h.size <= 0 || h.size > MAX_RANKS ||
	    h.rank >= h.size || (J.size > 0 && h.size != J.size)) {
		say("a process of the job (pid %d on %s) did not say its rank (rank %d of %d): it "
		    "cannot take part in the job's checkpoints",
		    h.pid, h.host, h.rank, h.size);
		close(fd);
		return;
	}
	if (J.c[h.rank]) {
		if (J.active && !J.aborted)
			abort_round("rank %d joined the job again", h.rank);
		drop(h.rank);
	}
	struct conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->rank = h.rank;
	c->pid = h.pid;
	snprintf(c->host, sizeof(c->host), "%s", h.host);
	J.c[h.rank] = c;
	J.size = h.size;
	round_progress();
}

static void accept_client(void)
{
	int fd = accept4(J.ctl_fd, NULL, NULL, SOCK_CLOEXEC);
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct ctl_request req;

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 ||
	    (cred.uid != getuid() && cred.uid != 0)) {
		fail_reply(fd, EPERM, "only the job's owner may checkpoint it");
		return;
	}
	struct timeval tv = {5, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (job_io(fd, &req, sizeof(req), 0) < 0 || req.magic != CTL_MAGIC ||
	    req.version != CTL_VERSION) {
		fail_reply(fd, EPROTO, "malformed request (another version of cairn?)");
		return;
	}
	if (req.flags & CTL_FD) {
		fail_reply(fd, EINVAL, "a job's checkpoint goes to its directory, not to a descriptor");
		return;
	}
	if (!idle() && J.queued < 0) {
		/* after the round in progress */
		J.queued = fd;
		J.queued_flags = req.flags & CTL_KILL ? JOB_F_KILL : 0;
		return;
	}
	J.tries = 0;
	start_round(req.flags & CTL_KILL ? JOB_F_KILL : 0, fd);
}

/* ---- setting up ---- */

static int listen_tcp(char *spec, size_t len)
{
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int v6 = fd >= 0;
	if (fd < 0)
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int zero = 0;
	if (v6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof(ss));
	if (v6) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_any;
		sl = sizeof(struct sockaddr_in6);
	} else {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_ANY);
		sl = sizeof(struct sockaddr_in);
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		close(fd);
		return -1;
	}
	int port = v6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
		      : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	char host[256];
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	/* a name the ranks can resolve; this host's own otherwise */
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		snprintf(host, sizeof(host), "localhost");
	if (res)
		freeaddrinfo(res);
	const char *env = getenv("CAIRN_JOB_HOST");
	snprintf(spec, len, "%s:%d:%s", env && *env ? env : host, port, J.token);
	return fd;
}

static int listen_ctl(void)
{
	char dir[256];
	struct sockaddr_un sa;

	ctl_rundir(getuid(), dir, sizeof(dir));
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -1;
	struct stat st;
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 0077))
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(dir) > sizeof(sa.sun_path) - 16)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%.90s/%d", dir, (int)getpid());
	unlink(sa.sun_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	chmod(sa.sun_path, 0600);
	snprintf(J.ctl_path, sizeof(J.ctl_path), "%s", sa.sun_path);
	return fd;
}

/* RUNDIR/job.LAUNCHERPID names the coordinator: `cairn checkpoint` given
 * the launcher's PID finds the job. */
static void alias_launcher(void)
{
	char dir[256];
	ctl_rundir(getuid(), dir, sizeof(dir));
	snprintf(J.alias_path, sizeof(J.alias_path), "%s/job.%d", dir, (int)J.launcher);
	FILE *f = fopen(J.alias_path, "we");
	if (f) {
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
}

static void cleanup(void)
{
	if (J.ctl_path[0])
		unlink(J.ctl_path);
	if (J.alias_path[0])
		unlink(J.alias_path);
	if (J.dir_ready) {
		char p[PATH_MAX + 8];
		snprintf(p, sizeof(p), "%s/job", J.dir);
		unlink(p);
	}
}

int job_run(const struct job_spec *js)
{
	char spec[512], err[1024];

	memset(&J, 0, sizeof(J));
	J.js = js;
	J.client = -1;
	J.queued = -1;
	J.lock_fd = -1;
	J.size = -1;
	unsigned char rnd[JOB_TOKEN_LEN / 2];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		say("cannot make the job's secret: %s", strerror(errno));
		return 125;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(J.token + 2 * i, 3, "%02x", rnd[i]);
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd))) {
		say("cannot find the current directory: %s", strerror(errno));
		return 125;
	}
	if (js->dir && strlen(js->dir) + strlen(cwd) > 1800) {
		say("the checkpoint directory's path is too long");
		return 125;
	}
	if (js->dir && js->dir[0] == '/')
		snprintf(J.dir, sizeof(J.dir), "%.2000s", js->dir);
	else if (js->dir)
		snprintf(J.dir, sizeof(J.dir), "%.1800s/%.200s", cwd, js->dir);
	else
		snprintf(J.dir, sizeof(J.dir), "%.1800s/cairn-job.%d", cwd, (int)getpid());
	J.tcp_fd = listen_tcp(spec, sizeof(spec));
	J.ctl_fd = listen_ctl();
	if (J.tcp_fd < 0 || J.ctl_fd < 0) {
		say("cannot open the job's sockets: %s", strerror(errno));
		return 125;
	}
	if (js->dir && dir_prepare(err, sizeof(err)) < 0) {
		say("%s", err);
		cleanup();
		return 125;
	}
	sigset_t mask, old;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	sigaddset(&mask, js->signal);
	sigprocmask(SIG_BLOCK, &mask, &old);
	J.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC);
	char sigstr[16];
	snprintf(sigstr, sizeof(sigstr), "%d", js->signal);
	setenv("CAIRN_JOB", spec, 1);
	setenv("CAIRN_JOB_SIGNAL", sigstr, 1);
	setenv("CAIRN_JOB_DIR", J.dir, 1);
	fflush(NULL);
	J.launcher = fork();
	if (J.launcher == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		execvp(js->exec_argv[0], js->exec_argv);
		fprintf(stderr, "cairn: cannot run the launcher %s: %s\n", js->exec_argv[0],
			strerror(errno));
		_exit(125);
	}
	unsetenv("CAIRN_JOB");
	if (J.launcher < 0) {
		say("cannot start the launcher: %s", strerror(errno));
		cleanup();
		return 125;
	}
	alias_launcher();
	if (J.dir_ready)
		write_job_file(); /* it names the launcher now */

	uint64_t next_due = js->interval ? mono_ns() + (uint64_t)js->interval * 1000000000ull : 0;
	int status = -1;
	for (;;) {
		struct pollfd p[3 + MAX_RANKS];
		int idx[3 + MAX_RANKS];
		int np = 0;
		p[np] = (struct pollfd){.fd = J.sig_fd, .events = POLLIN};
		idx[np++] = -1;
		p[np] = (struct pollfd){.fd = J.tcp_fd, .events = POLLIN};
		idx[np++] = -2;
		p[np] = (struct pollfd){.fd = J.ctl_fd, .events = POLLIN};
		idx[np++] = -3;
		for (int r = 0; r < MAX_RANKS; r++)
			if (J.c[r]) {
				p[np] = (struct pollfd){.fd = J.c[r]->fd, .events = POLLIN};
				idx[np++] = r;
			}
		int timeout = -1;
		uint64_t due = next_due;
		if (J.retry_at && (!due || J.retry_at < due))
			due = J.retry_at;
		if (due) {
			uint64_t now = mono_ns();
			timeout = now >= due ? 0 : (int)((due - now) / 1000000ull) + 1;
		}
		if (J.queued >= 0 && !J.active && !J.retry_at && !J.wait_exit)
			timeout = 0;
		int n = poll(p, (nfds_t)np, timeout);
		if (n < 0 && errno != EINTR)
			break;
		if (J.queued >= 0 && !J.active && !J.retry_at && !J.wait_exit) {
			int q = J.queued;
			J.queued = -1;
			J.tries = 0;
			start_round(J.queued_flags, q);
		}
		if (J.retry_at && mono_ns() >= J.retry_at && !J.active) {
			int client = J.client;
			J.retry_at = 0;
			J.client = -1;
			start_round(J.retry_flags, client);
		}
		if (next_due && mono_ns() >= next_due) {
			if (idle()) {
				J.tries = 0;
				start_round(0, -1);
			}
			next_due = mono_ns() + (uint64_t)js->interval * 1000000000ull;
		}
		if (n <= 0)
			continue;
		for (int i = 0; i < np; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (idx[i] == -1) {
				struct signalfd_siginfo si;
				if (read(J.sig_fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
					continue;
				int s = (int)si.ssi_signo;
				if (s == js->signal) {
					if (idle()) {
						J.tries = 0;
						start_round(0, -1);
					}
				} else if (s != SIGCHLD) {
					kill(J.launcher, s);
				}
				int ws;
				if (waitpid(J.launcher, &ws, WNOHANG) == J.launcher)
					status = ws;
			} else if (idx[i] == -2) {
				accept_rank();
			} else if (idx[i] == -3) {
				accept_client();
			} else if (J.c[idx[i]]) {
				rank_message(idx[i]);
			}
		}
		if (status >= 0)
			break;
	}
	/* the launcher has ended: so has the job */
	if (J.active)
		abort_round("the job ended during the checkpoint");
	for (int r = 0; r < MAX_RANKS; r++)
		drop(r);
	if (J.active)
		finish_round();
	if (J.queued >= 0)
		fail_reply(J.queued, ECANCELED, "the job ended before it could be checkpointed");
	if (J.retry_at && J.client >= 0) {
		char m[1100];
		snprintf(m, sizeof(m), "the job ended before it could be checkpointed: %.900s", J.why);
		fail_reply(J.client, ECANCELED, m);
		J.client = -1;
	}
	if (J.wait_exit) {
		reply_client(&J.pending);
		J.wait_exit = 0;
	}
	cleanup();
	if (status < 0)
		return 125;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 125;
}

/* ---- restarting a job ---- */

static const char restart_help[] =
	"usage: cairn restart [--launcher CMD] [--checkpoint N] [--dir NEWDIR]\n"
	"                     [--interval SECONDS] [--keep N] [--signal SIG]\n"
	"                     [LAUNCHER OPTIONS] DIR\n"
	"\n"
	"Continues the MPI job checkpointed in DIR (by `cairn mpirun --dir DIR`):\n"
	"its newest complete checkpoint, or number N. Every rank's image is\n"
	"verified first; a missing, corrupt or mismatched image is refused, naming\n"
	"the rank, before anything is launched. The job is launched again with the\n"
	"launcher and options it had, or with those given here (another host list,\n"
	"another launcher); the number of ranks must stay the same. cairn restart\n"
	"then coordinates the job as `cairn mpirun` does: its later checkpoints go\n"
	"to DIR (or NEWDIR).\n";

static int ranks_option(char **opts, int n)
{
	for (int i = 0; i < n; i++) {
		const char *o = opts[i];
		if ((!strcmp(o, "-n") || !strcmp(o, "-np") || !strcmp(o, "--np") ||
		     !strcmp(o, "--ntasks")) &&
		    i + 1 < n)
			return atoi(opts[i + 1]);
		if (!strncmp(o, "--ntasks=", 9) || !strncmp(o, "--np=", 5) || !strncmp(o, "-n=", 3))
			return atoi(strchr(o, '=') + 1);
	}
	return 0;
}

int job_restart(int argc, char **argv)
{
	struct job_spec js;
	const char *launcher = NULL;
	unsigned want = 0;
	int i = 1;

	if (wants_help(argc, argv)) {
		fputs(restart_help, stdout);
		return 0;
	}
	memset(&js, 0, sizeof(js));
	js.keep = 2;
	js.signal = SIGUSR2;
	for (;;) {
		if (i + 1 < argc - 1 && !strcmp(argv[i], "--launcher")) {
			launcher = argv[i + 1];
			i += 2;
			continue;
		}
		if (i + 1 < argc - 1 && !strcmp(argv[i], "--checkpoint")) {
			char *end;
			unsigned long n = strtoul(argv[i + 1], &end, 10);
			if (*end || !n || n > 1000000000ul) {
				say("restart: --checkpoint needs a checkpoint number");
				return 125;
			}
			want = (unsigned)n;
			i += 2;
			continue;
		}
		int used = i < argc - 1 ? job_option(argc - 1, argv, i, &js) : 0;
		if (used < 0)
			return 125;
		if (!used)
			break;
		i += used;
	}
	if (i >= argc) {
		fputs(restart_help, stderr);
		return 125;
	}
	const char *dir = argv[argc - 1];
	char **uopts = argv + i;
	int nuopts = argc - 1 - i;
	if (nuopts > 0 && !strcmp(uopts[nuopts - 1], "--"))
		nuopts--;

	/* which checkpoint */
	char lockp[PATH_MAX], ck[PATH_MAX], p[PATH_MAX + 64], err[1024];
	snprintf(lockp, sizeof(lockp), "%s/.lock", dir);
	int lfd = open(lockp, O_RDWR | O_CLOEXEC);
	if (lfd >= 0) {
		if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
			say("restart: the job of %s is still running (its coordinator holds the "
			    "directory); end it first, or checkpoint it with --kill",
			    dir);
			close(lfd);
			return 125;
		}
		close(lfd);
	}
	if (!want) {
		unsigned all[1024];
		int n = list_committed(dir, all, 1024);
		if (n == 0) {
			say("restart: %s is a directory that holds no complete checkpoint of a job "
			    "(no ckpt.N with a MANIFEST), and not a cairn image",
			    dir);
			return 125;
		}
		want = all[n - 1];
	}
	snprintf(ck, sizeof(ck), "%.4000s/ckpt.%u", dir, want);
	struct stat st;
	if (stat(ck, &st) < 0 || !S_ISDIR(st.st_mode)) {
		say("restart: %s has no checkpoint %u", dir, want);
		return 125;
	}
	struct manifest m;
	snprintf(p, sizeof(p), "%s/%s", ck, MANIFEST_NAME);
	if (manifest_read(p, &m, err, sizeof(err)) < 0) {
		say("restart: checkpoint %u is incomplete or damaged: %s", want, err);
		return 125;
	}
	if (m.number != want) {
		say("restart: %s says it is checkpoint %u, not %u", p, m.number, want);
		manifest_free(&m);
		return 125;
	}
	/* every rank's image, before anything is launched */
	for (int r = 0; r < m.ranks; r++) {
		uint64_t sum, size;
		struct loaded l;
		snprintf(p, sizeof(p), "%s/rank.%d", ck, r);
		if (image_identity(p, &sum, &size, err, sizeof(err)) < 0) {
			say("restart: rank %d: %s", r, err);
			manifest_free(&m);
			return 125;
		}
		if (size != m.rank[r].size || sum != m.rank[r].checksum) {
			say("restart: rank %d: %s is not the image the checkpoint recorded (%llu bytes, "
			    "header checksum %016llx; the manifest says %llu bytes, %016llx)",
			    r, p, (unsigned long long)size, (unsigned long long)sum,
			    (unsigned long long)m.rank[r].size, (unsigned long long)m.rank[r].checksum);
			manifest_free(&m);
			return 125;
		}
		if (load_image(p, &l, 1, err, sizeof(err)) < 0) {
			say("restart: rank %d: %s", r, err);
			manifest_free(&m);
			return 125;
		}
		load_free(&l);
	}
	/* the launcher, as it was or as given */
	char *lw[64];
	int nlw = 0;
	char *lcopy = launcher ? strdup(launcher) : NULL;
	if (lcopy) {
		for (char *save = NULL, *w = strtok_r(lcopy, " \t", &save); w && nlw < 48;
		     w = strtok_r(NULL, " \t", &save))
			lw[nlw++] = w;
	} else {
		for (int k = 0; k < m.nlauncher && nlw < 48; k++)
			lw[nlw++] = m.launcher[k];
	}
	if (nlw == 0) {
		say("restart: no launcher to run (--launcher)");
		manifest_free(&m);
		return 125;
	}
	char **opts = nuopts > 0 ? uopts : m.options;
	int nopts = nuopts > 0 ? nuopts : m.noptions;
	int asked = ranks_option(opts, nopts);
	if (asked && asked != m.ranks) {
		say("restart: checkpoint %u of the job has %d ranks; the launcher options ask for %d",
		    want, m.ranks, asked);
		manifest_free(&m);
		return 125;
	}
	char self[PATH_MAX];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0) {
		say("cannot find the cairn binary: %s", strerror(errno));
		manifest_free(&m);
		return 125;
	}
	self[sl] = 0;
	char abs_ck[PATH_MAX];
	if (!realpath(ck, abs_ck)) {
		say("restart: %s: %s", ck, strerror(errno));
		manifest_free(&m);
		return 125;
	}
	char nbuf[16];
	snprintf(nbuf, sizeof(nbuf), "%d", m.ranks);
	char **v = calloc((size_t)(nlw + nopts + 8), sizeof(*v));
	char **o2 = calloc((size_t)(nopts + 3), sizeof(*o2));
	if (!v || !o2) {
		say("out of memory");
		return 125;
	}
	int k = 0, no = 0;
	for (int x = 0; x < nlw; x++)
		v[k++] = lw[x];
	if (!asked) {
		o2[no++] = "-n";
		o2[no++] = nbuf;
	}
	for (int x = 0; x < nopts; x++)
		o2[no++] = opts[x];
	for (int x = 0; x < no; x++)
		v[k++] = o2[x];
	v[k++] = self;
	v[k++] = "restart";
	v[k++] = "--job-rank";
	v[k++] = abs_ck;
	v[k] = NULL;
	js.exec_argv = v;
	js.launcher = lw;
	js.nlauncher = nlw;
	js.options = o2;
	js.noptions = no;
	js.program = m.program;
	js.nprogram = m.nprogram;
	if (!js.dir)
		js.dir = dir;
	say("restarting checkpoint %u of the job (%d ranks) from %s", want, m.ranks, ck);
	int rc = job_run(&js);
	manifest_free(&m);
	free(lcopy);
	return rc;
}

int job_rank_image(const char *ckpt, char *path, size_t len)
{
	static const char *const ranks[] = {"PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK",
					    "SLURM_PROCID", NULL};
	static const char *const sizes[] = {"PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "SLURM_NTASKS",
					    NULL};
	char p[PATH_MAX + 64], err[1024];
	int rank = -1, size = -1;

	for (int i = 0; ranks[i]; i++)
		if (getenv(ranks[i]) && *getenv(ranks[i])) {
			rank = atoi(getenv(ranks[i]));
			break;
		}
	for (int i = 0; sizes[i]; i++)
		if (getenv(sizes[i]) && *getenv(sizes[i])) {
			size = atoi(getenv(sizes[i]));
			break;
		}
	struct manifest m;
	snprintf(p, sizeof(p), "%.4000s/%s", ckpt, MANIFEST_NAME);
	if (manifest_read(p, &m, err, sizeof(err)) < 0) {
		say("restart: %s", err);
		return -1;
	}
	int ranks_n = m.ranks;
	manifest_free(&m);
	if (rank < 0) {
		say("restart: --job-rank needs the launcher's rank (PMI_RANK, OMPI_COMM_WORLD_RANK, "
		    "PMIX_RANK or SLURM_PROCID)");
		return -1;
	}
	if (size >= 0 && size != ranks_n) {
		say("restart: the launcher started %d ranks; the checkpoint has %d", size, ranks_n);
		return -1;
	}
	if (rank >= ranks_n) {
		say("restart: rank %d does not exist in a checkpoint of %d ranks", rank, ranks_n);
		return -1;
	}
	if ((size_t)snprintf(path, len, "%s/rank.%d", ckpt, rank) >= len) {
		say("restart: path too long");
		return -1;
	}
	return 0;
}
