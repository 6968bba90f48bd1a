/*
 * The runtime's side of include/cairn.h (callbacks.c).
 */
#ifndef CAIRN_RUNTIME_CALLBACKS_H
#define CAIRN_RUNTIME_CALLBACKS_H

#include <sys/types.h>

#include "cairn.h"

struct ckpt_request {
	char path[4096];
	unsigned flags; /* CTL_* */
	int fd;         /* with CTL_FD: where the image goes */
	int signal;     /* sent to the process after the image, or 0 */
	int scope, target; /* as the requester named it (BLCR) */
	pid_t requester;
	uid_t requester_uid;
};

struct ckpt_result;
/* Runs a checkpoint request on the manager: critical sections, callbacks,
 * the image. */
void callbacks_checkpoint(struct ckpt_request *req, struct ckpt_result *res);
/* In a thread's checkpoint handler: runs its signal-context callbacks, then
 * park(arg); returns park's outcome. */
int callbacks_signal_chain(int (*park)(void *), void *arg);
/* The manager's event descriptor for requests from the program itself. */
int callbacks_make_event(void);
void callbacks_serve_self(void);

extern volatile int rt_refused;
extern char rt_refuse_msg[512];

#endif
