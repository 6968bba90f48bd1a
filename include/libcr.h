/*
 * libcr.h: BLCR's user interface (BLCR 0.8.x names, types, constants and
 * semantics), implemented by cairn's libcr.so.0 over cairn's own interface
 * (cairn.h). A program written for BLCR compiles unchanged and links with
 * -lcr (pkg-config libcr); run it directly, or under cr_run, and
 * checkpoint it with cr_checkpoint; restart it with cr_restart.
 *
 * Differences from BLCR, all of them refusals rather than silent changes:
 *  - One process per context file. A request whose scope (tree, process
 *    group, session) holds more than one process fails with ENOSYS.
 *  - A context file descriptor (cr_fd) must be a regular file positioned at
 *    offset 0; the image needs to be seekable.
 *  - Restart gives the process a new PID (cr_restart's --no-restore-pid).
 *  - cr_request_restart() and cr_forward_checkpoint() fail with ENOSYS.
 *  - A program linked with -lcr but started without cr_run runs itself
 *    again at once (same PID, before main) with cairn's runtime preloaded.
 *    libcr loaded by dlopen needs cr_run (cr_init() fails with ENOSYS).
 *
 * Functions return -1 (or NULL) with errno set on failure unless said
 * otherwise; errno may hold one of the CR_E* codes of blcr_common.h, which
 * cr_strerror() describes.
 */
#ifndef _CRLIB_H
#define _CRLIB_H 1

#include <errno.h>
#include <sys/select.h>
#include <sys/types.h>

#include <blcr_common.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int cr_version_t;
#define CR_CHECKPOINT_ARGS_VERSION 1
#define CR_RESTART_ARGS_VERSION 1

#define CR_MAX_CALLBACKS 0x1FFFFFF

typedef int (*cr_callback_t)(void *);
typedef int cr_client_id_t;
typedef int cr_callback_id_t;
typedef unsigned int cr_spinlock_t;

/* cr_get_checkpoint_info(): the checkpoint in progress. */
struct cr_checkpoint_info {
	int signal;          /* sent to the process once the image is taken, or 0 */
	const char *dest;    /* the context file */
	pid_t requester;     /* who asked (0 when not known) */
	pid_t target;        /* the pid, pgid or sid the request named */
	cr_scope_t scope;
};

/* cr_get_restart_info(): the restart this process came from. */
struct cr_restart_info {
	pid_t requester; /* the cr_restart process (now this one) */
	const char *src; /* the context file */
};

/* cr_status() */
enum { CR_STATE_IDLE, CR_STATE_PENDING, CR_STATE_ACTIVE };

/* cr_request_checkpoint(): fill with cr_initialize_checkpoint_args_t()
 * first, then set at least cr_scope and cr_fd. */
typedef struct cr_checkpoint_args {
	cr_version_t cr_version;
	cr_scope_t cr_scope;
	pid_t cr_target;          /* 0: the calling process */
	int cr_fd;                /* where the image goes, or CR_DEST_CWD */
	int cr_signal;            /* sent to the target after the checkpoint */
	unsigned int cr_timeout;  /* seconds to wait for the target; 0: forever */
	unsigned int cr_flags;    /* CR_CHKPT_* */
} cr_checkpoint_args_t;

typedef struct cr_restart_args {
	cr_version_t cr_version;
	int cr_fd;
	int cr_signal;
	unsigned int cr_flags;
	struct cr_rstrt_relocate *cr_relocate;
} cr_restart_args_t;

typedef unsigned long cr_checkpoint_handle_t;
typedef unsigned long cr_restart_handle_t;

/* Context of a callback (cr_register_callback flags). */
#define CR_THREAD_CONTEXT 0x4000000
#define CR_SIGNAL_CONTEXT 0x2000000

/* The client id callbacks pass to cr_enter_cs() and friends. */
#define CR_ID_CALLBACK ((cr_client_id_t)(-1))

#define CR_SPINLOCK_INITIALIZER 0U

typedef enum {
	CR_HOOK_CONT_SIGNAL_CONTEXT = 0, /* continuing, thread with callbacks */
	CR_HOOK_CONT_THREAD_CONTEXT,     /* continuing, the callback thread */
	CR_HOOK_CONT_NO_CALLBACKS,       /* continuing, thread without callbacks */
	CR_HOOK_RSTRT_SIGNAL_CONTEXT,    /* restarted, thread with callbacks */
	CR_HOOK_RSTRT_THREAD_CONTEXT,    /* restarted, the callback thread */
	CR_HOOK_RSTRT_NO_CALLBACKS,      /* restarted, thread without callbacks */
	CR_NUM_HOOKS
} cr_hook_event_t;
typedef void (*cr_hook_fn_t)(cr_hook_event_t);
#define CR_HOOK_FN_ERROR ((cr_hook_fn_t)(~0UL))

/* cr_hold_ctrl() scopes */
enum { CR_HOLD_SCOPE_THREAD, CR_HOLD_SCOPE_INIT, CR_HOLD_SCOPE_UNINIT };

/* Per-thread setup: call once in every thread that uses libcr (not needed
 * inside callbacks). Returns the thread's client id (>= 0). */
extern cr_client_id_t cr_init(void);

/* ---- requesting checkpoints ---- */

#define cr_initialize_checkpoint_args_t(_cr_args) \
	cri_init_checkpoint_args_t(CR_CHECKPOINT_ARGS_VERSION, (_cr_args))
extern int cri_init_checkpoint_args_t(cr_version_t, cr_checkpoint_args_t *);

/* Starts a checkpoint of args->cr_target (0: this process) into
 * args->cr_fd. Returns 0 and a handle for cr_poll_checkpoint(); -1 with
 * ESRCH (no such target), EPERM (another user's), CR_ENOSUPPORT (not
 * running with checkpoint support), EBADF (cr_fd), EINVAL, EDEADLK
 * (CR_CHKPT_PROHIBIT_SELF and the target is this process), ENOSYS (more
 * than one process in the scope). With CR_CHKPT_ASYNC_ERR these are
 * reported by cr_reap_checkpoint() instead. */
extern int cr_request_checkpoint(cr_checkpoint_args_t *args, cr_checkpoint_handle_t *handle);
/* Not supported by cairn: -1 with ENOSYS inside a callback (CR_ENOTCB
 * outside one, as in BLCR). */
extern int cr_forward_checkpoint(cr_scope_t cr_scope, pid_t cr_target);
/* Waits for the request, up to *timeout (NULL: forever; the time left is
 * written back). Returns >0 when it has completed, 0 on timeout, -1 on
 * error (EINVAL: no such request; EINTR). */
extern int cr_wait_checkpoint(cr_checkpoint_handle_t *handle, struct timeval *timeout);
/* Copies the messages about the request (why it failed) into msg, up to
 * len bytes with the final NUL; returns the size they need (0: none). */
extern int cr_log_checkpoint(cr_checkpoint_handle_t *handle, unsigned int len, char *msg);
/* The outcome of a completed request, whose handle is then released:
 * >0 success; -1 with errno CR_ERESTARTED when this process was restarted
 * from that very checkpoint (also a success), EAGAIN when not complete
 * yet, or the failure: CR_ETEMPFAIL, CR_EPERMFAIL or a callback's code,
 * ESRCH (every process omitted itself), ETIMEDOUT (cr_timeout passed), an
 * I/O error... */
extern int cr_reap_checkpoint(cr_checkpoint_handle_t *handle);
#define CR_POLL_CHKPT_ERR_PRE -1  /* waiting failed */
#define CR_POLL_CHKPT_ERR_POST -2 /* the checkpoint failed (or restarted) */
#define CR_POLL_CHKPT_ERR_LOG -3  /* collecting the messages failed */
/* wait, then log (into a malloc'ed *msg_p, when msg_p is not NULL), then
 * reap: >0 done, 0 timeout, or one of the CR_POLL_CHKPT_ERR_* values. */
extern int cr_poll_checkpoint_msg(cr_checkpoint_handle_t *handle, struct timeval *timeout,
				  char **msg_p);
extern int cr_poll_checkpoint(cr_checkpoint_handle_t *handle, struct timeval *timeout);

/* ---- restart requests: not supported by cairn (use cr_restart) ---- */

#define cr_initialize_restart_args_t(_cr_args) \
	cri_init_restart_args_t(CR_RESTART_ARGS_VERSION, (_cr_args))
extern int cri_init_restart_args_t(cr_version_t, cr_restart_args_t *);
extern int cr_request_restart(cr_restart_args_t *args, cr_restart_handle_t *handle);
extern int cr_wait_restart(cr_restart_handle_t *handle, struct timeval *timeout);
extern int cr_log_restart(cr_restart_handle_t *handle, unsigned int len, char *msg);
extern int cr_reap_restart(cr_restart_handle_t *handle);
#define CR_POLL_RSTRT_ERR_PRE -1
#define CR_POLL_RSTRT_ERR_POST -2
#define CR_POLL_RSTRT_ERR_LOG -3
extern int cr_poll_restart_msg(cr_restart_handle_t *handle, struct timeval *timeout, char **msg_p);
extern int cr_poll_restart(cr_restart_handle_t *handle, struct timeval *timeout);

/* ---- callbacks ----
 *
 * A callback does its checkpoint work, calls cr_checkpoint(), and does its
 * continue or restart work when that returns (0: continuing, >0:
 * restarted, <0: the checkpoint failed, -errno). One that returns without
 * calling cr_checkpoint() is taken as calling it at its return. Callbacks
 * return 0.
 *
 * CR_THREAD_CONTEXT: one registration for the whole process; the callback
 * runs in cairn's checkpoint thread while the program's threads still
 * run, and may do anything (block, lock, allocate, I/O). Thread-context
 * callbacks run one after the other, in the order they were registered,
 * and all of them reach cr_checkpoint() before any signal-context callback
 * starts.
 * CR_SIGNAL_CONTEXT: the registration belongs to the calling thread; the
 * callback runs in that thread, inside a signal handler, with all signals
 * blocked: only async-signal-safe calls. A thread's signal-context
 * callbacks run in the reverse order of registration (like atexit()).
 * What comes after cr_checkpoint() runs in the reverse order of what came
 * before it.
 *
 * Registering returns an id; -1 with CR_ENOINIT (no cr_init() in this
 * thread), EINVAL (flags), ENOSPC, or EBUSY (from inside a callback). */
extern cr_callback_id_t cr_register_callback(cr_callback_t func, void *arg, int flags);
/* Replaces callback id in place (func NULL: disables it). The context
 * cannot change. */
extern int cr_replace_callback(cr_callback_id_t id, cr_callback_t func, void *arg, int flags);

/* ---- critical sections ----
 * A checkpoint requested while any thread is inside a critical section is
 * taken once the last one is left. id is the thread's cr_init() id, or
 * CR_ID_CALLBACK inside a callback (then these return 0 at once). They
 * nest. tryenter returns 0 when entered, >0 when a checkpoint is pending
 * or active (do not leave then). All are async-signal-safe. */
extern int cr_enter_cs(cr_client_id_t id);
extern int cr_tryenter_cs(cr_client_id_t id);
extern int cr_leave_cs(cr_client_id_t id);

/* CR_STATE_IDLE, CR_STATE_PENDING (waiting for critical sections) or
 * CR_STATE_ACTIVE. */
extern int cr_status(void);

/* Inside a callback: CR_CHECKPOINT_READY goes on; TEMP_FAILURE cancels
 * the checkpoint (the process continues); PERM_FAILURE cancels it and ends
 * the process once the requester has been told; OMIT leaves this process
 * out (with one process per checkpoint: cancels it, and the requester sees
 * ESRCH). The *_CODE forms give the requester the caller's code instead of
 * CR_ETEMPFAIL/CR_EPERMFAIL. Returns 0 continuing, >0 restarted, or
 * -code: -CR_ETEMPFAIL, -CR_EPERMFAIL, -CR_EOMITTED, a callback's code,
 * -CR_ENOTCB outside a callback. The failure forms also skip the later
 * callbacks of the same group. */
extern int cr_checkpoint(int flags);
/* Replaces the running callback (for the next checkpoints). */
extern int cr_replace_self(cr_callback_t func, void *arg, int flags);

/* Inside a callback, before / after its cr_checkpoint() call; NULL (errno
 * CR_ENOTCB) elsewhere. The structures are per thread. */
extern const struct cr_checkpoint_info *cr_get_checkpoint_info(void);
extern const struct cr_restart_info *cr_get_restart_info(void);

/* Async-signal-safe spinlocks. trylock returns non-zero when taken. */
extern void cr_spinlock_init(cr_spinlock_t *);
extern void cr_spinlock_lock(cr_spinlock_t *);
extern void cr_spinlock_unlock(cr_spinlock_t *);
extern int cr_spinlock_trylock(cr_spinlock_t *);

/* strerror() that knows the CR_E* codes. */
extern const char *cr_strerror(int errnum);

/* Registers fn for event (NULL: none); returns the previous one, or
 * CR_HOOK_FN_ERROR. CONT/RSTRT_SIGNAL_CONTEXT hooks run in each thread
 * with signal-context callbacks, after them, in signal context;
 * CONT/RSTRT_THREAD_CONTEXT in the callback thread after its callbacks;
 * *_NO_CALLBACKS in the other threads, in signal context. */
extern cr_hook_fn_t cr_register_hook(cr_hook_event_t event, cr_hook_fn_t hook_fn);

/* Accepted for compatibility; every thread resumes as soon as its own
 * callbacks are done (returns the value set, CR_HOLD_BOTH by default). */
extern int cr_hold_ctrl(int scope, int flags);
extern int cr_inc_persist(void);
extern int cr_dec_persist(void);

/* Legacy: checkpoint this process now, into context.PID in the working
 * directory, FILE, or descriptor fd; return when it continues or has been
 * restarted. Prefer cr_request_checkpoint(). */
extern void cr_request(void) _CR_DEPRECATED;
extern void cr_request_file(const char *filename) _CR_DEPRECATED;
extern void cr_request_fd(int fd) _CR_DEPRECATED;

#ifdef __cplusplus
}
#endif
#endif
