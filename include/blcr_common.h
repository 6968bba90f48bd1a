/*
 * blcr_common.h: the types and constants of BLCR's user interface that
 * libcr.h builds on, with BLCR 0.8.x's names and values, so that programs
 * written for BLCR compile unchanged against cairn's libcr.
 *
 * This is cairn's own header. The kernel-module structures of BLCR (the
 * ioctl arguments) have no meaning here and are not provided.
 */
#ifndef _BLCR_COMMON_H
#define _BLCR_COMMON_H 1

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define _CR_DEPRECATED __attribute__((__deprecated__))
#else
#define _CR_DEPRECATED
#endif

/* The signal cairn uses to stop threads for a checkpoint (hidden from the
 * program: SIGRTMAX reads one less under cairn). */
#define CR_SIGNUM 64

/* The BLCR release whose interface this is, and libcr's version. */
#define CR_RELEASE_MAJOR 0
#define CR_RELEASE_MINOR 8
#define CR_RELEASE_PATCH 6
#define CR_RELEASE_VERSION "0.8.6"
#define LIBCR_MAJOR 0
#define LIBCR_MINOR 5
#define LIBCR_PATCH 5
#define LIBCR_VERSION "0.5.5"
#define CR_MODULE_MAJOR 0
#define CR_MODULE_MINOR 10
#define CR_MODULE_PATCH 3
#define CR_MODULE_VERSION "0.10.3"

/* Error codes beyond errno.h's; cr_strerror() describes them. */
enum {
	CR_MIN_ERRCODE = 2353,
	CR_ETEMPFAIL,   /* a callback asked to cancel the checkpoint for now */
	CR_EPERMFAIL,   /* a callback cancelled the checkpoint and its process is ended */
	CR_ENOSUPPORT,  /* the target does not run with checkpoint support */
	CR_EVERSION,    /* interface version not supported */
	CR_EOMITTED,    /* a callback omitted its process from the checkpoint */
	CR_EBADARCH,    /* the context file is for another architecture */
	CR_EPTRACED,    /* a target is being ptraced */
	CR_EPTRACER,    /* a target ptraces others */
	CR_ERSTRTABRT,  /* the restart was cancelled */
	CR_ERESTARTED,  /* the request belonged to the process before its restart */
	CR_ENOTCB,      /* only valid inside a checkpoint callback */
	CR_ENOINIT,     /* the calling thread has not called cr_init() */
	CR_MAX_ERRCODE
};

typedef long cr_bool_t;

typedef enum {
	cr_format_vmadump = 0,
} cr_format_t;

/* What a checkpoint request covers. cairn saves one process per image:
 * CR_SCOPE_PROC, or a tree, group or session that holds exactly one
 * process; larger ones are refused (errno ENOSYS). */
typedef enum {
	CR_SCOPE_PROC, /* the process */
	CR_SCOPE_PGRP, /* every process of a process group */
	CR_SCOPE_SESS, /* every process of a session */
	CR_SCOPE_TREE, /* the process and its descendants */
} cr_scope_t;

/* cr_checkpoint() arguments, inside a callback. */
enum {
	CR_CHECKPOINT_READY = 0,        /* go on with the checkpoint */
	CR_CHECKPOINT_TEMP_FAILURE = 1, /* cancel it; the process continues */
	CR_CHECKPOINT_PERM_FAILURE = 2, /* cancel it and end the process */
	CR_CHECKPOINT_OMIT = 4,         /* leave this process out of it */
	_CR_CHECKPOINT_STUB = 0x4000,
};
/* A failure with the caller's own code (1..65535) instead of
 * CR_ETEMPFAIL/CR_EPERMFAIL. */
#define CR_CHECKPOINT_TEMP_FAILURE_CODE(_v) (CR_CHECKPOINT_TEMP_FAILURE | ((_v) << 16))
#define CR_CHECKPOINT_PERM_FAILURE_CODE(_v) (CR_CHECKPOINT_PERM_FAILURE | ((_v) << 16))
#define CR_CHECKPOINT_ABORT_MASK \
	(CR_CHECKPOINT_TEMP_FAILURE | CR_CHECKPOINT_PERM_FAILURE | CR_CHECKPOINT_OMIT)

/* cr_fd value: write context.PID in the requester's working directory. */
#define CR_DEST_CWD (-4096)

/* cr_checkpoint_args_t.cr_flags */
#define CR_CHKPT_PROHIBIT_SELF 0x00000001 /* EDEADLK if the requester is a target */
#define CR_CHKPT_PTRACED_ALLOW 0x00000002
#define CR_CHKPT_PTRACED_SKIP 0x00000004
#define CR_CHKPT_PTRACER_SKIP 0x00000008
#define CR_CHKPT_ASYNC_ERR 0x00000010 /* report errors at reap time */
#define CR_CHKPT_DUMP_EXEC 0x0200
#define CR_CHKPT_DUMP_PRIVATE 0x0400
#define CR_CHKPT_DUMP_SHARED 0x0800
#define CR_CHKPT_DUMP_ALL (CR_CHKPT_DUMP_EXEC | CR_CHKPT_DUMP_PRIVATE | CR_CHKPT_DUMP_SHARED)

/* Path relocation at restart (cr_restart --relocate). */
struct cr_rstrt_relocate_pair {
	const char *oldpath;
	const char *newpath;
};
struct cr_rstrt_relocate {
	unsigned int count;
	struct cr_rstrt_relocate_pair path[];
};
#define CR_RSTRT_RELOCATE_SIZE(_cnt) \
	(sizeof(struct cr_rstrt_relocate) + (_cnt) * sizeof(struct cr_rstrt_relocate_pair))
#define CR_MAX_RSTRT_RELOC 16

/* cr_restart_args_t.cr_flags */
#define CR_RSTRT_ASYNC_ERR 0x00000001
#define CR_RSTRT_RESTORE_PID 0x00000002
#define CR_RSTRT_RESTORE_PGID 0x00000004
#define CR_RSTRT_RESTORE_SID 0x00000008

/* cr_hold_ctrl() */
#define CR_HOLD_READ -1
#define CR_HOLD_NONE 0
#define CR_HOLD_CONT 1
#define CR_HOLD_RSTRT 2
#define CR_HOLD_BOTH (CR_HOLD_CONT | CR_HOLD_RSTRT)
#define CR_HOLD_DFLT 4

#ifdef __cplusplus
}
#endif
#endif
