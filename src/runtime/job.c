/*
 * A rank's side of a job checkpoint (common/jobproto.h).
 *
 * In a process started by a job's coordinator (CAIRN_JOB in the
 * environment), the runtime connects to the coordinator and serves its
 * requests on the manager thread: a CKPT runs one checkpoint of this
 * process (callbacks, image) into the path the coordinator chose; what the
 * callbacks must agree on with the other ranks they exchange through
 * cairn_job_allgather (cairn's MPI library: its vote, lower_glue.h); the
 * result goes back as DONE, and the rank waits for the coordinator's
 * verdict: COMMIT (with KILL: the job ends here) or ABORT.
 *
 * CAIRN_JOB_SIGNAL names the job's checkpoint signal: this process keeps
 * it from the program (signals.c) and, when a launcher forwards it, asks
 * the coordinator for a checkpoint of the whole job.
 *
 * Both variables are removed from the environment, so that the program's
 * own children do not join the job. A restarted process joins the job of
 * the `cairn restart` that brought it back.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/jobproto.h"
#include "runtime/callbacks.h"
#include "runtime/control.h"
#include "runtime/lower_glue.h"
#include "runtime/runtime.h"

int rt_job_fd = -1;
int rt_job_signal;
static volatile int trigger_pending;
static struct ckpt_request *job_active; /* the CKPT being served */
static char job_abort_msg[1024];
static int job_size = -1; /* ranks in the job, as the launcher said */
static int job_retry; /* this round's refusal may pass a moment later */
static int done_sent; /* this round's DONE is sent (job_after_image) */
static int verdict_in; /* and its verdict received */
static int job_ending; /* COMMIT of a --kill round: the process ends */
static uint32_t round_flags;

static const char *env_of(char *const *env, const char *name)
{
	size_t n = strlen(name);

	if (!env)
		return getenv(name);
	for (; *env; env++)
		if (!strncmp(*env, name, n) && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

static int int_of(char *const *env, const char *const *names, int dflt)
{
	for (; *names; names++) {
		const char *v = env_of(env, *names);
		if (v && *v)
			return atoi(v);
	}
	return dflt;
}

static void on_job_signal(int sig, siginfo_t *si, void *uc)
{
	uint64_t one = 1;
	int e = errno;

	(void)sig;
	(void)si;
	(void)uc;
	trigger_pending = 1;
	if (rt.event_fd >= 0 && write(rt.event_fd, &one, sizeof(one)) < 0)
		(void)0;
	errno = e;
}

/* HOST:PORT:TOKEN. */
static int connect_job(const char *spec, char *token, size_t tlen)
{
	char host[256], port[16];
	const char *c1 = strchr(spec, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

	if (!c1 || !c2 || (size_t)(c1 - spec) >= sizeof(host) || (size_t)(c2 - c1 - 1) >= sizeof(port))
		return -1;
	memcpy(host, spec, (size_t)(c1 - spec));
	host[c1 - spec] = 0;
	memcpy(port, c1 + 1, (size_t)(c2 - c1 - 1));
	port[c2 - c1 - 1] = 0;
	fmt(token, tlen, "%s", c2 + 1);

	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	int fd = -1;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		fd = fd_high(fd);
	}
	return fd;
}

/* Joins the job named by env (NULL: this process's environment). */
static void job_join(char *const *env)
{
	static const char *const ranks[] = {"PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK",
					    "SLURM_PROCID", NULL};
	static const char *const sizes[] = {"PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "SLURM_NTASKS",
					    NULL};
	const char *spec = env_of(env, "CAIRN_JOB");
	const char *sig = env_of(env, "CAIRN_JOB_SIGNAL");
	struct job_hello h;

	if (!spec || !*spec)
		return;
	memset(&h, 0, sizeof(h));
	int fd = connect_job(spec, h.token, sizeof(h.token));
	if (!env) {
		unsetenv("CAIRN_JOB");
		unsetenv("CAIRN_JOB_SIGNAL");
	}
	if (fd < 0) {
		rt_log("cannot reach the job's coordinator at %s: job checkpoints will not include "
		       "this process", spec);
		return;
	}
	gethostname(h.host, sizeof(h.host) - 1);
	h.rank = int_of(env, ranks, -1);
	h.size = int_of(env, sizes, -1);
	h.pid = (int32_t)rt.pid;
	h.generation = (int32_t)rt.generation;
	if (job_send(fd, JOB_HELLO, &h, sizeof(h)) < 0) {
		close(fd);
		return;
	}
	rt_job_fd = fd;
	job_size = h.size;
	if (sig && atoi(sig) > 0 && atoi(sig) < CKPT_SIGNAL && atoi(sig) != SIGKILL &&
	    atoi(sig) != SIGSTOP) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_job_signal;
		sa.sa_flags = SA_SIGINFO | SA_RESTART;
		sigemptyset(&sa.sa_mask);
		if (signals_real_sigaction(atoi(sig), &sa, NULL) == 0)
			rt_job_signal = atoi(sig);
	}
}

void job_init(void)
{
	job_join(NULL);
}

/* On the manager, after an event: the job's signal arrived. */
void job_serve_trigger(void)
{
	if (!trigger_pending)
		return;
	trigger_pending = 0;
	if (rt_job_fd >= 0)
		job_send(rt_job_fd, JOB_TRIGGER, NULL, 0);
}

static void job_lost(void)
{
	if (rt_job_fd >= 0) {
		close(rt_job_fd);
		rt_job_fd = -1;
		rt_log("the job's coordinator is gone: job checkpoints will not include this process");
	}
}

/* Waits for the coordinator's verdict on the checkpoint just written:
 * 1 for COMMIT, 0 for ABORT or a lost coordinator. */
static int verdict(void)
{
	struct job_commit v;
	uint32_t type;

	verdict_in = 1;
	for (;;) {
		int n = job_recv(rt_job_fd, &type, &v, sizeof(v));
		if (n < 0) {
			job_lost();
			return 0;
		}
		if (type == JOB_COMMIT)
			return 1;
		if (type == JOB_ABORT)
			return 0;
		/* late ALL or ABORT of an abandoned round: skip */
	}
}

static void send_done(const struct ckpt_result *res)
{
	static struct job_done d;

	memset(&d, 0, sizeof(d));
	d.status = res->status;
	d.size = res->size;
	d.total_ns = res->total_ns;
	d.pause_ns = res->pause_ns;
	d.retry = (uint32_t)job_retry;
	fmt(d.msg, sizeof(d.msg), "%s", res->msg);
	done_sent = 1;
	if (rt_job_fd >= 0 && job_send(rt_job_fd, JOB_DONE, &d, sizeof(d)) < 0)
		job_lost();
}

/* Right after this rank's image (callbacks.c, before the callbacks' after
 * work): DONE; in a --kill round, the verdict too, so that the callbacks
 * know whether the job ends here (cairn_job_ending). */
void job_after_image(const struct ckpt_request *req, const struct ckpt_result *res)
{
	if (!(req->flags & CTL_JOB) || res->restored || !job_active)
		return;
	send_done(res);
	if ((round_flags & JOB_F_KILL) && res->status == 0 && rt_job_fd >= 0)
		job_ending = verdict();
}

EXPORT int cairn_job_ending(void)
{
	return job_ending;
}

/* On the manager, when the job's connection is readable. */
void job_serve(void)
{
	static struct job_ckpt c;
	static struct ckpt_request req;
	static struct ckpt_result res;
	uint32_t type;

	int n = job_recv(rt_job_fd, &type, &c, sizeof(c));
	if (n < 0) {
		job_lost();
		return;
	}
	if (type != JOB_CKPT)
		return; /* a verdict on a round this process was not part of */
	c.path[sizeof(c.path) - 1] = 0;
	memset(&req, 0, sizeof(req));
	memcpy(req.path, c.path, sizeof(req.path));
	req.flags = CTL_JOB;
	req.fd = -1;
	req.target = rt.pid;
	req.requester = rt.pid;
	req.requester_uid = getuid();
	job_abort_msg[0] = 0;
	job_retry = 0;
	done_sent = verdict_in = job_ending = 0;
	round_flags = c.flags;
	job_active = &req;
	callbacks_checkpoint(&req, &res);
	job_active = NULL;
	if (res.restored)
		return; /* a new process: it joined its own job (job_restored) */
	if (!done_sent)
		send_done(&res);
	if (job_ending)
		syscall(SYS_exit_group, 0); /* the job ends, complete (MPI finalized) */
	if (rt_job_fd >= 0 && !verdict_in)
		verdict();
}

/* After a restart, on the manager: the old job's connection is not in the
 * image; join the job that restarted this process. */
void job_restored(void)
{
	rt_job_fd = -1;
	job_active = NULL;
	char *const *env = cairn_restart_environ();
	if (env)
		job_join(env);
}

EXPORT int cairn_job_allgather(const void *mine, size_t len, void *all, size_t all_len)
{
	uint32_t type;

	if (!job_active || rt_job_fd < 0 || len > JOB_MAX_PAYLOAD) {
		errno = EINVAL;
		return -1;
	}
	if (job_send(rt_job_fd, JOB_GATHER, mine, (uint32_t)len) < 0) {
		job_lost();
		errno = EPIPE;
		return -1;
	}
	for (;;) {
		struct job_hdr h;
		if (job_io(rt_job_fd, &h, sizeof(h), 0) < 0 || h.magic != JOB_MAGIC) {
			job_lost();
			errno = EPIPE;
			return -1;
		}
		type = h.type;
		if (type == JOB_ALL && h.len <= all_len) {
			if (job_io(rt_job_fd, all, h.len, 0) < 0) {
				job_lost();
				errno = EPIPE;
				return -1;
			}
			return len ? (int)(h.len / len) : 0;
		}
		/* anything else is read aside: an ABORT says why */
		struct job_commit a;
		memset(&a, 0, sizeof(a));
		for (uint32_t got = 0; got < h.len;) {
			char sink[512];
			uint32_t k = h.len - got < sizeof(sink) ? h.len - got : (uint32_t)sizeof(sink);
			if (job_io(rt_job_fd, sink, k, 0) < 0) {
				job_lost();
				errno = EPIPE;
				return -1;
			}
			if (got < sizeof(a))
				memcpy((char *)&a + got, sink, k < sizeof(a) - got ? k : sizeof(a) - got);
			got += k;
		}
		if (type == JOB_ALL) {
			errno = EMSGSIZE;
			return -1;
		}
		if (type == JOB_ABORT) {
			a.msg[sizeof(a.msg) - 1] = 0;
			fmt(job_abort_msg, sizeof(job_abort_msg), "%s", a.msg);
			errno = ECANCELED;
			return -1;
		}
	}
}

EXPORT const char *cairn_job_abort_reason(void)
{
	return job_abort_msg;
}

EXPORT int cairn_job_ranks(void)
{
	return job_active ? job_size : -1;
}

EXPORT void cairn_job_retry(void)
{
	if (job_active && job_retry < JOB_RETRY)
		job_retry = JOB_RETRY;
}

/* the ranks behind are running forward (cut.c): worth waiting for longer */
EXPORT void cairn_job_forward(void)
{
	if (job_active)
		job_retry = JOB_RETRY_FORWARD;
}
