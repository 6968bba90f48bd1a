/*
 * The requester's side of the control channel (runtime/control.h), shared
 * by `cairn checkpoint`, BLCR's cr_checkpoint and libcr's
 * cr_request_checkpoint(): find a process's runtime, send it a request
 * (and the image's descriptor), wait for its reply.
 */
#ifndef CAIRN_COMMON_CTL_CLIENT_H
#define CAIRN_COMMON_CTL_CLIENT_H

#include <stddef.h>
#include <sys/types.h>

#include "runtime/control.h"

struct ctl_call {
	pid_t pid;
	struct ctl_request req; /* magic and version are set by ctl_send */
	int image_fd;           /* sent when req.flags has CTL_FD */
	uid_t uid;              /* the process's owner */
	char comm[64];          /* its name, for messages */
	int sock;
};

/* Connects to process c->pid's runtime and sends c->req. Returns 0, or -1
 * with errno and a message for a human in msg: ESRCH (no such process, or
 * it has exited), EPERM (another user's), ENOTSUP (not running under
 * cairn), EAGAIN (stopped: its runtime cannot answer), EIO. */
int ctl_send(struct ctl_call *c, char *msg, size_t len);
/* Waits up to timeout_ms (negative: forever) for the reply. Returns 0
 * with *rep filled, or -1 with errno ETIMEDOUT, EINTR, or EPIPE (the
 * process ended or stopped answering). */
int ctl_wait(struct ctl_call *c, int timeout_ms, struct ctl_reply *rep, char *msg, size_t len);
void ctl_close(struct ctl_call *c);

/* The state letter of /proc/PID/stat ('R', 'S', 'T', 'Z'...), or 0. */
char proc_state(pid_t pid);
/* The process is gone or a zombie. */
int proc_gone(pid_t pid);
/* The live processes a BLCR scope names (0 process, 1 group, 2 session,
 * 3 tree: the process and its descendants), up to max of them into out;
 * returns how many there are (maybe more than max), -1 on error. */
int proc_scope(int scope, pid_t target, pid_t *out, int max);

#endif
