/*
 * What libcr (src/blcr) needs from the runtime beyond include/cairn.h:
 * BLCR's kinds of refusal and their codes, the request's BLCR fields, and
 * a hook for threads that have no callbacks. Exported by libcairn.so for
 * libcr only; not a public interface.
 */
#ifndef CAIRN_RUNTIME_BLCR_GLUE_H
#define CAIRN_RUNTIME_BLCR_GLUE_H

#include "cairn.h"

/* Inside a callback: refuses the checkpoint with a REFUSAL_* kind
 * (control.h) and a code the requester sees; -1 with ECANCELED like
 * cairn_checkpoint()'s failure forms. */
int cairn_blcr_refuse(int kind, int code, const char *msg);
/* The signal, scope and target of the request in progress. */
int cairn_blcr_request_info(int *signal, int *scope, int *target);
/* How this process's own request h ended, once it has. */
int cairn_blcr_self_refusal(cairn_handle_t h, int *kind, int *code);
/* fn(outcome) runs in each thread that has no signal-context callbacks,
 * in its checkpoint handler, once the checkpoint is over (outcome 0
 * continuing, 1 restarted, -1 failed). */
void cairn_blcr_set_thread_hook(void (*fn)(int outcome));

/* 1 when the runtime runs (it was preloaded), 0 when it is dormant. */
int cairn_blcr_runtime_active(void);

#endif
