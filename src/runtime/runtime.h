/*
 * The runtime's internal face: state shared by its files. The runtime is
 * libcairn.so, preloaded into the program by `cairn run`; it is saved and
 * restored with the program, so its variables come back with it.
 *
 * Files: runtime.c (start, manager thread, control socket), threads.c
 * (stopping threads in the checkpoint signal handler), dump.c (writing an
 * image), memory.c, files.c, signals.c, timers.c (one kind of state each),
 * wrap.c (the libc functions the runtime intercepts), restored.c (what the
 * runtime does after a restart).
 */
#ifndef CAIRN_RUNTIME_H
#define CAIRN_RUNTIME_H

#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <time.h>
#include <sys/types.h>

#include "image/image.h"
#include "runtime/lower_glue.h"

/* The runtime is built with hidden visibility, so that a program's own
 * symbols can never replace its internals; what the program may call, and
 * the libc functions it wraps, are exported explicitly. */
#define EXPORT __attribute__((visibility("default")))

#define CKPT_SIGNAL 64 /* hidden: the program sees SIGRTMAX as 63 */
#define MAX_THREADS 1024
#define MAX_PENDING 32
#define MAX_HELD 64
#define MAX_TIMERS 64
#define NRLIM 16

struct pending_sig {
	int shared;
	siginfo_t info;
};

/* One per stopped thread, filled by the thread itself in the handler. */
struct thread_slot {
	struct img_thread t;
	int npending;
	struct pending_sig pending[MAX_PENDING];
	pid_t new_tid;
};

/* Written by the restorer into the restored runtime (format.h: meta). */
#define RESTORE_ENV_MAX 65536
struct restore_info {
	uint64_t magic;
	uint64_t hole_start, hole_end;         /* restorer's scratch */
	uint64_t restorer_start, restorer_end; /* restorer's own image */
	uint64_t generation;
	uint64_t stack_end; /* the main stack, which the kernel no longer names */
	char image_path[4096]; /* the image this process was restarted from */
	int32_t signal_after;  /* to raise once restored, or 0 */
	uint32_t env_len;
	char env[RESTORE_ENV_MAX]; /* the restart's environment (lower_glue.h) */
};
#define RESTORE_INFO_MAGIC 0x4f464e4952534552ull

struct rt_state {
	int ready;
	pid_t pid;
	pid_t manager_tid;
	int listen_fd;
	int client_fd;
	int event_fd; /* requests from the program itself (callbacks.c) */
	volatile int outcome; /* of the checkpoint the threads are parked for */
	char sock_path[256];
	unsigned tid_offset;
	int rseq_offset;
	unsigned rseq_size;
	/* identity of fds 0..2 when the program started (or was restored) */
	int std_valid[3];
	dev_t std_dev[3];
	ino_t std_ino[3];
	int std_inherited[3]; /* saved as "the restarter's fd N" */
	struct rlimit rlim_start[NRLIM];
	struct rlimit rlim_ckpt[NRLIM];
	unsigned rlim_changed;
	uint64_t ckpt_mono;
	uint64_t main_stack_end; /* the main stack, which grows down */
	/* checkpoint in progress */
	volatile int nslots;
	volatile int parked;
	volatile int release_gen;
	volatile int restored_in;
	volatile int restore_go;
	struct thread_slot slots[MAX_THREADS];
	struct thread_slot manager;
	int ntimers;
	struct img_timer timers[MAX_TIMERS];
	uint64_t generation; /* restarts so far */
};

extern struct rt_state rt;
/* A lower half that images leave out (lower_glue.h), or NULL. */
extern const struct cairn_lower_half *rt_lower;
extern struct restore_info cairn_restore_info;

/* thread-local, initial-exec: safe in signal handlers */
extern __thread pid_t rt_tid;
extern __thread unsigned rt_ckpt_count;
extern __thread unsigned rt_app_signals;
extern __thread void *rt_held[MAX_HELD];
extern __thread int rt_nheld;

int cairn_ctx_save(struct img_ctx *c) __attribute__((returns_twice));

/* threads.c */
void threads_install_handler(void);
int threads_stop(char *err, size_t errlen);
void threads_release(int outcome);
void threads_after_restore(void);
void threads_go(void);
/* The mutexes this thread holds name old as owner: make it now. */
void threads_fix_owned(pid_t old, pid_t now);
int threads_count_tasks(void);

/* job.c: this process as a rank of a job (common/jobproto.h) */
extern int rt_job_fd;     /* the connection to the job's coordinator, or -1 */
extern int rt_job_signal; /* the job's checkpoint signal, kept from the program, or 0 */
void job_init(void);
void job_serve(void);
void job_serve_trigger(void);
void job_restored(void);
struct ckpt_request;
struct ckpt_result;
void job_after_image(const struct ckpt_request *req, const struct ckpt_result *res);

/* runtime.c */
int control_listen(void);
void restored_finish(void);

/* dump.c */
struct ckpt_result {
	int status;
	int restored;
	int refusal, code; /* REFUSAL_* and the program's own code (control.h) */
	uint64_t size, total_ns, pause_ns;
	char msg[2048];
};
struct ckpt_request;
void after_reply(const struct ckpt_request *req, const struct ckpt_result *res);
void dump_checkpoint(const struct ckpt_request *req, struct ckpt_result *res);

/* memory.c */
struct own_range {
	uint64_t start, end;
};

/* strtab builder used by the dump */
struct strtab {
	char *buf;
	size_t len, cap;
};
uint64_t strtab_add(struct strtab *s, const char *str);

/* memory.c writes VMAS/CHUNKS/PAGES */
struct memory_info {
	uint64_t vdso_size, vdso_hash, vvar_size;
};
int memory_write(struct img_writer *w, struct strtab *st, const struct own_range *own, int nown,
		 struct memory_info *mi, char *err, size_t errlen);
/* files.c writes FDS/BLOBS */
int files_write(struct img_writer *w, struct strtab *st, const int *skip, int nskip, char *err,
		size_t errlen);
void files_note_std(int restored);
/* signals.c */
void signals_write(struct img_writer *w);
void signals_init(void);
int signals_real_sigaction(int sig, const struct sigaction *sa, struct sigaction *old);
/* timers.c */
int timers_capture(char *err, size_t errlen);
void timers_write(struct img_writer *w);
void timers_restore(void);

/* small helpers (util.c): no malloc, no stdio, async-signal-safe */
void *scratch_alloc(size_t len);
void scratch_free(void *p, size_t len);
ssize_t read_file(const char *path, char *buf, size_t len);
void fmt(char *buf, size_t len, const char *f, ...) __attribute__((format(printf, 3, 4)));
uint64_t now_ns(int clock);
void rt_log(const char *f, ...) __attribute__((format(printf, 1, 2)));
pid_t sys_gettid(void);
int fd_high(int fd);

#endif
