/*
 * The job channel: one TCP connection from each rank's runtime to the
 * job's coordinator (`cairn mpirun`, `cairn restart DIR`: src/cli/job.c).
 * TCP, not a Unix socket, because ranks may run on other hosts.
 *
 * The coordinator puts CAIRN_JOB=HOST:PORT:TOKEN in the launcher's
 * environment; each rank's runtime connects and says HELLO with the token
 * (a secret only the job's own processes see: /proc/PID/environ is the
 * owner's), its rank and the job's size. Then, per checkpoint:
 *
 *   coordinator -> rank   CKPT      number, flags, the image's path
 *   rank -> coordinator   GATHER    a blob (the same length on every rank)
 *   coordinator -> rank   ALL       every rank's blob, in rank order
 *                         (any number of rounds: votes, message counts)
 *   rank -> coordinator   DONE      status, size, times, message
 *   coordinator -> rank   COMMIT    the checkpoint is complete (manifest
 *                                   written); with KILL the rank ends
 *                         or ABORT  it is abandoned; the rank goes on
 *
 * and at any time, rank -> coordinator TRIGGER (the rank received the
 * job's checkpoint signal from a launcher that forwards it).
 *
 * Every message is a header and a payload, integers little-endian (the
 * job's hosts are one architecture: images are not portable anyway).
 */
#ifndef CAIRN_COMMON_JOBPROTO_H
#define CAIRN_COMMON_JOBPROTO_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define JOB_MAGIC 0x4a4e5243u /* "CRNJ" */
#define JOB_MAX_PAYLOAD (1u << 24)
#define JOB_TOKEN_LEN 32

enum job_type {
	JOB_HELLO = 1,
	JOB_CKPT,
	JOB_GATHER,
	JOB_ALL,
	JOB_DONE,
	JOB_COMMIT,
	JOB_ABORT,
	JOB_TRIGGER,
};

#define JOB_F_KILL 1u

struct job_hdr {
	uint32_t magic;
	uint32_t type;
	uint32_t len; /* payload bytes */
	uint32_t pad;
};

struct job_hello {
	char token[JOB_TOKEN_LEN + 1];
	char host[63];
	int32_t rank, size, pid, generation;
};

struct job_ckpt {
	uint32_t number, flags;
	char path[4096]; /* the image of this rank */
};

/* JOB_RETRY: a passing reason (a thread inside MPI, a request pending, a
 * laggard that makes no progress); JOB_RETRY_FORWARD: ranks behind in a
 * collective are running forward to it (they compute, or their counts
 * move), so the checkpoint will pass once they get there. */
enum { JOB_RETRY = 1, JOB_RETRY_FORWARD = 2 };

struct job_done {
	int32_t status; /* 0 or an errno value */
	uint32_t retry;  /* refused for now: worth asking again shortly (JOB_RETRY_*) */
	uint64_t size, total_ns, pause_ns;
	char msg[1024];
};

struct job_commit {
	uint32_t number, flags;
	char msg[1024]; /* ABORT: why */
};

static inline int job_io(int fd, void *buf, size_t len, int out)
{
	char *p = (char *)buf;

	while (len) {
		ssize_t n = out ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EPIPE;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static inline int job_send(int fd, uint32_t type, const void *payload, uint32_t len)
{
	struct job_hdr h = {JOB_MAGIC, type, len, 0};

	if (job_io(fd, &h, sizeof(h), 1) < 0)
		return -1;
	return len ? job_io(fd, (void *)payload, len, 1) : 0;
}

/* Reads one message: its type and up to max payload bytes into buf (the
 * rest is an error: EMSGSIZE). Returns the payload length or -1. */
static inline int job_recv(int fd, uint32_t *type, void *buf, uint32_t max)
{
	struct job_hdr h;

	if (job_io(fd, &h, sizeof(h), 0) < 0)
		return -1;
	if (h.magic != JOB_MAGIC || h.len > JOB_MAX_PAYLOAD) {
		errno = EPROTO;
		return -1;
	}
	if (h.len > max) {
		errno = EMSGSIZE;
		return -1;
	}
	if (h.len && job_io(fd, buf, h.len, 0) < 0)
		return -1;
	*type = h.type;
	return (int)h.len;
}

#endif
