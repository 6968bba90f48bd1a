/*
 * The control channel between `cairn checkpoint` and a process's runtime:
 * one Unix stream socket per process, at RUNDIR/PID, in a directory of mode
 * 0700 owned by the process's user. One request, one reply.
 */
#ifndef CAIRN_CONTROL_H
#define CAIRN_CONTROL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#define CTL_MAGIC 0x314c54434e524143ull /* "CARNCTL1" */
#define CTL_VERSION 2
#define CTL_KILL 1u /* end the process once the image is durable */
#define CTL_FD 2u   /* the image goes to the descriptor sent with the request */
/* runtime-internal: a job checkpoint (runtime/job.c), never on the wire */
#define CTL_JOB 4u

struct ctl_request {
	uint64_t magic;
	uint32_t version;
	uint32_t flags;
	int32_t signal; /* sent to the process after the image, or 0 */
	int32_t scope;  /* what the requester named (BLCR's cr_scope_t) */
	int32_t target; /* the pid, pgid or sid it named */
	uint32_t pad;
	/* absolute path of the image; with CTL_FD, what the descriptor is,
	 * for messages and cr_get_checkpoint_info() */
	char path[4096];
};

/* Why a program refused a checkpoint (ctl_reply.refusal). */
enum {
	REFUSAL_NONE,
	REFUSAL_TEMP, /* refused this time; the program continues */
	REFUSAL_PERM, /* refused; the program ends once the requester knows */
	REFUSAL_OMIT, /* the program left itself out (BLCR's omit) */
};

/* ctl_reply.kind */
#define CTL_REPLY_PROCESS 0
#define CTL_REPLY_JOB 1 /* from a job's coordinator; msg sums it up (src/cli/job.c) */

struct ctl_reply {
	uint64_t magic;
	int32_t status;   /* 0, or an errno value */
	uint32_t refusal; /* REFUSAL_* */
	uint64_t size;
	uint64_t total_ns;
	uint64_t pause_ns;
	int32_t code; /* the refusing callback's own code (1..65535), or 0 */
	uint32_t kind; /* CTL_REPLY_* */
	char msg[2048]; /* what went wrong, for a human */
};

/* The directory holding the sockets of user uid's processes. */
static inline void ctl_rundir(uid_t uid, char *buf, size_t len)
{
	const char *env = getenv("CAIRN_RUNDIR");

	if (env && *env)
		snprintf(buf, len, "%s", env);
	else
		snprintf(buf, len, "/tmp/cairn-%u", (unsigned)uid);
}

#endif
