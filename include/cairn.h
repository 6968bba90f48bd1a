/*
 * cairn.h: how a program or library takes part in its own checkpoints.
 *
 * Link with -lcairn (pkg-config cairn), or run under `cairn run`: either way
 * the runtime libcairn.so is in the process and these functions work. All of
 * them return -1 with errno set on failure unless said otherwise.
 *
 * CALLBACKS
 * Some state no checkpointer can save: a TCP connection, a device, a lease.
 * Whoever holds it registers a callback, which runs when a checkpoint is
 * taken. A callback does its "before" work, calls cairn_checkpoint(), and
 * does its "after" work once that call returns:
 *
 *     static int cb(void *arg)
 *     {
 *         close_connection(arg);               // before
 *         int rc = cairn_checkpoint(CAIRN_READY, NULL);
 *         if (rc < 0)
 *             reopen_connection(arg);          // the checkpoint failed
 *         else if (rc == 0)
 *             reopen_connection(arg);          // continuing
 *         else
 *             connect_again_elsewhere(arg);    // restarted from the image
 *         return 0;
 *     }
 *
 * A callback that returns without calling cairn_checkpoint() is treated as
 * if it had called it at its end (it has no "after" work).
 *
 * Two contexts, as in BLCR:
 *   CAIRN_THREAD_CONTEXT  the callback runs in cairn's own manager thread
 *       while the program's threads are still running. It may block, take
 *       locks, allocate, do I/O and talk to other threads.
 *   CAIRN_SIGNAL_CONTEXT  the callback runs in the thread that registered
 *       it, inside the checkpoint signal handler, with every signal blocked,
 *       after the thread-context callbacks' "before" work. Only
 *       async-signal-safe calls are allowed (see signal-safety(7)); it must
 *       not take locks another thread may hold.
 *
 * Order. On checkpoint: thread-context callbacks run their "before" work in
 * the order they were registered; then each thread runs its signal-context
 * callbacks' "before" work, in registration order, and stops; the image is
 * written. After the image (continue, failure or restart) the "after" work
 * runs in the reverse order: each thread's signal-context callbacks (last
 * registered first) before that thread returns to the program, then the
 * thread-context callbacks (last registered first), on the manager thread,
 * while the program already runs again.
 *
 * Refusing. A callback that cannot let the checkpoint happen calls
 * cairn_checkpoint(CAIRN_TEMP_FAILURE or CAIRN_PERM_FAILURE, "why") instead
 * of CAIRN_READY. No image is kept (an older one at that path stays), the
 * program continues, callbacks that already ran their "before" work see
 * cairn_checkpoint() return -1 with errno ECANCELED, and whoever asked for
 * the checkpoint gets the message. A permanent failure refuses every later
 * checkpoint too.
 */
#ifndef CAIRN_H
#define CAIRN_H

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CAIRN_THREAD_CONTEXT 0x1
#define CAIRN_SIGNAL_CONTEXT 0x2

typedef int (*cairn_callback_t)(void *arg);

/* Registers fn(arg) in the given context; returns an id (>= 0). Signal
 * context callbacks belong to the calling thread. */
int cairn_register_callback(cairn_callback_t fn, void *arg, int flags);
/* Replaces callback id by fn(arg) (fn NULL: removes it). Same context and
 * thread rules as registering. */
int cairn_replace_callback(int id, cairn_callback_t fn, void *arg, int flags);

/* Inside a callback. */
#define CAIRN_READY 0
#define CAIRN_TEMP_FAILURE 1
#define CAIRN_PERM_FAILURE 2
/* CAIRN_READY: lets the checkpoint proceed; returns 0 when the process
 * continues after it, 1 when it was restarted from the image, -1 (errno)
 * when the checkpoint failed or was refused. The FAILURE forms refuse the
 * checkpoint with msg (may be NULL) and return -1 with errno ECANCELED.
 * Outside a callback: -1 with errno EINVAL. */
int cairn_checkpoint(int how, const char *msg);

/* Asking for a checkpoint of oneself. */
#define CAIRN_CKPT_KILL 0x1 /* end the process once the image is durable */
/* send signal sig (1..63) to the process once the image is durable */
#define CAIRN_CKPT_SIGNAL(sig) ((unsigned)(sig) << 8)
typedef int cairn_handle_t;
/* Starts a checkpoint of this process into path (NULL: context.PID in the
 * current directory); returns a handle at once. Do not hold a lock that a
 * thread-context callback takes. */
cairn_handle_t cairn_request_checkpoint(const char *path, unsigned flags);
/* The same, into fd: a regular file open for writing, at offset 0, which
 * the caller keeps (the image is written from its start; nothing renames
 * it). The descriptor is not part of the image. */
cairn_handle_t cairn_request_checkpoint_fd(int fd, unsigned flags);
/* Waits up to timeout_ms (negative: forever) for the request to end.
 * Returns 0 when the process continues after a successful checkpoint, 1
 * when it has been restarted from that checkpoint, -1 with errno ETIMEDOUT
 * (still running), ECANCELED (refused; cairn_last_error() says why) or
 * another errno (the checkpoint failed). */
int cairn_poll_checkpoint(cairn_handle_t h, int timeout_ms);
/* Request and wait: 0 continuing, 1 restarted, -1 failed. */
int cairn_checkpoint_self(const char *path, unsigned flags);
/* Why the last checkpoint this process asked for failed (static text). */
const char *cairn_last_error(void);

/* Critical sections: code that must not be cut by a checkpoint. A
 * checkpoint requested while any thread is inside one starts once the last
 * one is left. They nest. tryenter returns 0 on success and -1 (errno
 * EAGAIN) while a checkpoint is in progress. Not for signal handlers. */
void cairn_enter_cs(void);
int cairn_tryenter_cs(void);
void cairn_leave_cs(void);

/* While a checkpoint is in progress (inside a callback): where the image
 * goes and who asked. */
struct cairn_checkpoint_info {
	const char *path;
	int kill;             /* the process ends after the image */
	pid_t requester;      /* 0 when not known */
	uid_t requester_uid;
};
int cairn_get_checkpoint_info(struct cairn_checkpoint_info *info);

/* After a restart: where the image came from. */
struct cairn_restart_info {
	const char *path;
	pid_t requester; /* the `cairn restart` process, now this one */
};
int cairn_get_restart_info(struct cairn_restart_info *info);

/* 0 idle, 1 a checkpoint is pending (waiting for critical sections),
 * 2 a checkpoint is being taken. */
int cairn_status(void);

#ifdef __cplusplus
}
#endif
#endif
