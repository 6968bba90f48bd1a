/*
 * The cairn image format, version 1: the contract between the runtime that
 * writes an image and the restart side that reads it.
 *
 * A file is a 4 KiB header, then typed sections, then an index of sections.
 * The header is written last, so a file killed midway has no valid header.
 * Every byte is covered: the header by its own checksum, each section by
 * its checksum, the index by a checksum kept in the header, and the padding
 * between sections must be zero. Multi-byte fields are little-endian
 * (x86_64 only, for now), structures are fixed-size and padded explicitly so
 * that the same bytes mean the same thing to every compiler.
 *
 * Page data (section PAGES) starts 4 KiB-aligned and each chunk of it is a
 * whole number of pages, so a restore can read straight into place.
 * Variable-length strings live in STRTAB and are referenced by offset.
 */
#ifndef CAIRN_IMAGE_FORMAT_H
#define CAIRN_IMAGE_FORMAT_H

#include <stdint.h>

#define IMG_MAGIC "CAIRNIMG"
#define IMG_VERSION 1
#define IMG_HEADER_SIZE 4096
#define IMG_PAGE 4096
#define IMG_MAX_SECTIONS 64

enum img_section_type {
	SEC_META = 1,    /* struct img_meta, one */
	SEC_VMAS = 2,    /* struct img_vma[] */
	SEC_CHUNKS = 3,  /* struct img_chunk[] */
	SEC_PAGES = 4,   /* raw pages */
	SEC_THREADS = 5, /* struct img_thread[] */
	SEC_SIGACTS = 6, /* struct img_sigaction[64] (signals 1..64) */
	SEC_SIGPEND = 7, /* struct img_sigpend[] */
	SEC_TIMERS = 8,  /* struct img_timer[] */
	SEC_FDS = 9,     /* struct img_fd[] */
	SEC_BLOBS = 10,  /* raw bytes referenced by fds (pipe data, files) */
	SEC_STRTAB = 11  /* NUL-terminated strings */
};

struct img_section {
	uint32_t type;
	uint32_t flags;
	uint64_t offset;
	uint64_t size;
	uint64_t checksum; /* XXH3-64 of the section's bytes */
};

struct img_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;
	uint32_t arch; /* ELF e_machine: 62 = x86_64 */
	uint32_t page_size;
	uint64_t file_size;
	uint64_t index_offset;
	uint32_t nsections;
	uint32_t pad0;
	uint64_t index_checksum;
	uint64_t xfeatures; /* XCR0 of the checkpointed CPU */
	uint64_t created_ns;
	uint32_t pid;
	uint32_t uid;
	char kernel[65];  /* uname release */
	char machine[31]; /* uname machine */
	char libc[32];    /* gnu_get_libc_version() */
	uint64_t vdso_size;
	uint64_t vdso_hash; /* XXH3 of the vDSO's bytes */
	uint64_t vvar_size; /* all [vvar*] mappings together */
	uint64_t reserved[32];
	uint64_t checksum; /* XXH3 of the first header bytes up to this field */
};

/* Process-wide state. */
struct img_meta {
	uint32_t pid;
	uint32_t ppid;
	uint32_t uid;
	uint32_t gid;
	uint32_t umask;
	uint32_t personality;
	uint64_t start_brk;
	uint64_t brk;
	uint64_t cwd;  /* strtab */
	uint64_t exe;  /* strtab */
	uint64_t comm; /* strtab */
	uint32_t tid_offset;  /* offsetof(struct pthread, tid) in this libc */
	int32_t rseq_offset;  /* __rseq_offset, from the thread pointer */
	uint32_t rseq_size;   /* __rseq_size, 0 if none */
	uint32_t nthreads;
	uint64_t restore_info; /* address of the runtime's struct restore_info */
	uint64_t rlim_cur[16];
	uint64_t rlim_max[16];
	uint64_t rlim_changed; /* bit per resource the program changed */
	uint64_t ckpt_ns;      /* CLOCK_REALTIME at the checkpoint */
	uint64_t mono_ns;      /* CLOCK_MONOTONIC at the checkpoint */
	uint64_t reserved[8];
};

enum img_vma_kind {
	VMA_ANON = 1,        /* private anonymous */
	VMA_ANON_SHARED = 2, /* shared anonymous (or deleted shm) */
	VMA_FILE = 3,        /* private mapping of a file */
	VMA_FILE_SHARED = 4, /* shared mapping of a file */
	VMA_HEAP = 5,        /* the brk heap */
	VMA_STACK = 6,       /* the main thread's stack (grows down) */
	VMA_VDSO = 7,        /* kernel's: moved into place, not stored */
	VMA_VVAR = 8,
	VMA_VVAR_VCLOCK = 9
};

#define VMA_MADV_HUGEPAGE 1u
#define VMA_MADV_NOHUGEPAGE 2u
#define VMA_MADV_DONTFORK 4u
#define VMA_MADV_WIPEONFORK 8u
#define VMA_MADV_DONTDUMP 16u
#define VMA_GROWSDOWN 32u

struct img_vma {
	uint64_t start;
	uint64_t end;
	uint32_t prot; /* PROT_* */
	uint32_t kind;
	uint32_t madv; /* VMA_MADV_* */
	uint32_t pad0;
	uint64_t pgoff; /* file offset, bytes */
	uint64_t path;  /* strtab, 0 = none */
	uint64_t dev;
	uint64_t ino;
	uint64_t file_size;
	int64_t mtime_ns;
	uint64_t first_chunk;
	uint64_t nchunks;
	uint64_t stored; /* bytes stored in PAGES */
};

/* A run of stored pages; data_off is relative to the PAGES section. */
struct img_chunk {
	uint64_t vaddr;
	uint64_t npages;
	uint64_t data_off;
};

/* Saved by cairn_ctx_save(): what a thread needs to resume in the runtime. */
struct img_ctx {
	uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip;
	uint32_t mxcsr;
	uint16_t fpucw;
	uint16_t pad0;
};

struct img_thread {
	uint32_t tid;
	uint32_t flags; /* THREAD_* */
	uint64_t fs_base;
	struct img_ctx ctx;
	uint64_t sigmask;     /* mask to set before jumping into ctx */
	uint64_t robust_head; /* set_robust_list() */
	uint64_t robust_len;
	uint64_t tid_addr; /* set_tid_address / CLONE_CHILD_CLEARTID */
	uint64_t altstack_sp;
	uint64_t altstack_size;
	int32_t altstack_flags;
	uint32_t pad1;
	char name[16];
	int32_t nice; /* getpriority() of the thread */
	uint32_t pad2;
	uint64_t reserved[3];
};

#define THREAD_MAIN 1u    /* the thread group leader */
#define THREAD_MANAGER 2u /* cairn's manager thread (ctx outside a handler) */

struct img_sigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

struct img_sigpend {
	uint32_t thread; /* index into THREADS, or ~0 for process-wide */
	uint32_t pad0;
	uint8_t info[128]; /* siginfo_t */
};

enum img_timer_kind { TIMER_ITIMER = 1, TIMER_POSIX = 2 };

struct img_timer {
	uint32_t kind;
	int32_t id;    /* ITIMER_* or the kernel timer id */
	int32_t clock; /* posix: clockid */
	int32_t signo;
	int32_t notify; /* SIGEV_* */
	uint32_t thread; /* posix SIGEV_THREAD_ID: index into THREADS */
	uint64_t value; /* sigev_value */
	uint64_t value_ns;
	uint64_t interval_ns;
};

enum img_fd_kind {
	FD_STD = 1,      /* one of the restarter's fds 0..2 (path = which) */
	FD_REG = 2,      /* regular file by path */
	FD_DIR = 3,      /* directory by path */
	FD_CHR = 4,      /* character device by path */
	FD_DELETED = 5,  /* deleted regular file, contents in BLOBS */
	FD_PIPE = 6,     /* pipe end, with unread data in BLOBS */
	FD_DUP = 7       /* same open file as fd 'dup_of' */
};

struct img_fd {
	int32_t fd;
	uint32_t kind;
	uint32_t flags; /* open flags: O_ACCMODE | O_APPEND | O_NONBLOCK ... */
	uint32_t cloexec;
	uint64_t pos;
	uint64_t path; /* strtab */
	int32_t dup_of;
	uint32_t pipe_id; /* pipes: same id = same pipe */
	uint64_t data_off; /* in BLOBS */
	uint64_t data_len;
	uint64_t pipe_size; /* F_GETPIPE_SZ */
	uint32_t std_of;  /* FD_STD: which restarter fd (0..2) */
	uint32_t mode;    /* FD_DELETED: st_mode & 07777 */
};

#endif
