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
#define CTL_VERSION 1
#define CTL_KILL 1u /* end the process once the image is durable */

struct ctl_request {
	uint64_t magic;
	uint32_t version;
	uint32_t flags;
	char path[4096]; /* absolute path of the image */
};

struct ctl_reply {
	uint64_t magic;
	int32_t status; /* 0, or an errno value */
	uint32_t pad0;
	uint64_t size;
	uint64_t total_ns;
	uint64_t pause_ns;
	uint32_t new_pid; /* unused for now */
	uint32_t pad1;
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
