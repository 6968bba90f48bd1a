/*
 * cairn restart: check an image completely, prepare what can be prepared
 * with libc at hand, then exec the freestanding restorer.
 *
 * Everything that can refuse the image happens first, while this is still
 * an ordinary process and nothing has been created: every checksum, the
 * records' consistency, the CPU's register state, the kernel's vDSO, the
 * files the image maps and the descriptors it had. Then descriptors are
 * opened at their numbers (the restorer inherits them across exec), the
 * working directory and umask are set, a plan is written for the restorer
 * (plan.h) and the restorer is exec'd without address randomization (so its
 * brk starts below the image's heap). It becomes the program; our PID,
 * terminal and parent stay the program's.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/job.h"
#include "cli/load.h"
#include "restore/plan.h"
#include "split/split.h"

static const char help[] =
	"usage: cairn restart [--signal SIG] IMAGE\n"
	"\n"
	"Brings the process saved in IMAGE back, in the foreground, as this process\n"
	"(same PID as this command). Its stdin, stdout and stderr are this command's\n"
	"(where they were the ones it was started with); its exit status, or its\n"
	"death by a signal, becomes this command's. The whole image is verified\n"
	"first: a truncated, corrupt or foreign image, or one that does not fit this\n"
	"machine, is refused before anything is done, with exit status 125.\n"
	"--signal SIG sends the restored process signal SIG (a number or a name:\n"
	"STOP, TERM...) as it resumes.\n"
	"\n"
	"cairn restart [OPTIONS] DIR, with the checkpoint directory of an MPI job,\n"
	"continues the whole job (`cairn restart DIR --help` tells more).\n";

static const char *image_path;

__attribute__((format(printf, 1, 2), noreturn)) static void refuse(const char *f, ...)
{
	va_list ap;
	fprintf(stderr, "cairn: image %s ", image_path);
	va_start(ap, f);
	vfprintf(stderr, f, ap);
	va_end(ap);
	fprintf(stderr, "; nothing was restored\n");
	exit(125);
}

static uint64_t xcr0(void)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

/* The running kernel's vDSO, to compare with the image's. */
static void check_vdso(const struct loaded *l)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	uint64_t vsize = 0, vhash = 0, vvar = 0;

	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long s, e;
		if (sscanf(line, "%llx-%llx", &s, &e) != 2)
			continue;
		if (strstr(line, "[vdso]")) {
			vsize = e - s;
			vhash = img_hash((const void *)s, e - s);
		} else if (strstr(line, "[vvar")) {
			vvar += e - s;
		}
	}
	if (f)
		fclose(f);
	const struct img_header *h = &l->r.hdr;
	if (h->vdso_size != vsize || h->vdso_hash != vhash || h->vvar_size != vvar)
		refuse("was taken on a kernel with a different vDSO layout (kernel %s; "
		       "vDSO %llu bytes there, %llu here); it can only be restarted on a machine "
		       "running the same kernel build",
		       h->kernel, (unsigned long long)h->vdso_size, (unsigned long long)vsize);
}

struct opened {
	char *path;
	int fd;
	int writable;
};

static struct opened *files;
static size_t nfiles;
static int maxfd_used = 2; /* highest descriptor the program will have */

/* Opens each file the image maps once, checking it is the same file. */
static int open_mapped(const struct loaded *l, const struct img_vma *v)
{
	const char *path = load_str(l, v->path);
	int writable = v->kind == VMA_FILE_SHARED && (v->prot & PROT_WRITE);
	struct stat st;

	for (size_t i = 0; i < nfiles; i++)
		if (strcmp(files[i].path, path) == 0 && files[i].writable == writable)
			return files[i].fd;
	int fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		refuse("maps %s, which cannot be opened here: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != v->file_size ||
	    (int64_t)st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec != v->mtime_ns) {
		if (v->kind == VMA_FILE)
			refuse("maps %s, which has changed since the checkpoint (size or modification "
			       "time differ); the program would see the new file's contents",
			       path);
	}
	files = realloc(files, (nfiles + 1) * sizeof(*files));
	files[nfiles].path = strdup(path);
	files[nfiles].fd = fd;
	files[nfiles].writable = writable;
	nfiles++;
	return fd;
}

/* Descriptors are prepared in two steps: open everything (any failure
 * refuses the image), then put each at its number. */
struct prepared {
	int fd; /* our temporary descriptor, -1 when not used */
};

static int open_flags(uint32_t flags)
{
	return (int)(flags & (O_ACCMODE | O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME | O_SYNC |
			      O_DSYNC | O_LARGEFILE)) |
	       O_CLOEXEC | O_NOCTTY;
}

static char *dir_of(const char *path)
{
	char *d = strdup(path);
	char *slash = strrchr(d, '/');
	if (slash && slash != d)
		*slash = 0;
	else
		strcpy(d, slash ? "/" : ".");
	return d;
}

static void prepare_fd(const struct loaded *l, const struct img_fd *f, struct prepared *p)
{
	const char *path = load_str(l, f->path);
	int fd = -1;

	p->fd = -1;
	switch (f->kind) {
	case FD_REG:
	case FD_CHR:
		fd = open(path, open_flags(f->flags));
		if (fd < 0)
			refuse("had %s open at descriptor %d, which cannot be opened here: %s", path,
			       f->fd, strerror(errno));
		if (f->kind == FD_REG || f->pos)
			lseek(fd, (off_t)f->pos, SEEK_SET);
		break;
	case FD_DIR:
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			refuse("had directory %s open at descriptor %d, which cannot be opened here: %s",
			       path, f->fd, strerror(errno));
		lseek(fd, (off_t)f->pos, SEEK_SET);
		break;
	case FD_DELETED: {
		/* A new unnamed file in the same directory, with the contents. */
		char *clean = strdup(path);
		char *del = strstr(clean, " (deleted)");
		if (del)
			*del = 0;
		char *dir = dir_of(clean);
		int t = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, f->mode ? f->mode : 0600);
		if (t < 0)
			t = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, f->mode ? f->mode : 0600);
		free(dir);
		free(clean);
		if (t < 0)
			refuse("had a deleted file open at descriptor %d and no temporary file can "
			       "hold it: %s",
			       f->fd, strerror(errno));
		const char *data = l->blobs + f->data_off;
		for (uint64_t done = 0; done < f->data_len;) {
			ssize_t n = write(t, data + done, f->data_len - done);
			if (n <= 0)
				refuse("had a deleted file open at descriptor %d that cannot be "
				       "recreated: %s",
				       f->fd, strerror(errno));
			done += (uint64_t)n;
		}
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", t);
		fd = open(proc, open_flags(f->flags));
		close(t);
		if (fd < 0)
			refuse("cannot reopen the deleted file of descriptor %d: %s", f->fd,
			       strerror(errno));
		lseek(fd, (off_t)f->pos, SEEK_SET);
		break;
	}
	default:
		break;
	}
	p->fd = fd;
}

/* Pipes are made in pairs; this fills both ends of every pipe. */
static void prepare_pipes(const struct loaded *l, struct prepared *all)
{
	for (size_t i = 0; i < l->nfds; i++) {
		const struct img_fd *f = &l->fds[i];
		if (f->kind != FD_PIPE || all[i].fd >= 0)
			continue;
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0)
			refuse("had pipes that cannot be recreated: %s", strerror(errno));
		if (f->pipe_size)
			fcntl(p[1], F_SETPIPE_SZ, (int)f->pipe_size);
		/* data from the record of the pipe's read end that has it */
		for (size_t k = 0; k < l->nfds; k++) {
			const struct img_fd *g = &l->fds[k];
			if (g->kind == FD_PIPE && g->pipe_id == f->pipe_id && g->data_len) {
				const char *d = l->blobs + g->data_off;
				for (uint64_t done = 0; done < g->data_len;) {
					ssize_t n = write(p[1], d + done, g->data_len - done);
					if (n <= 0)
						refuse("had %llu bytes in a pipe that do not fit "
						       "in a new one",
						       (unsigned long long)g->data_len);
					done += (uint64_t)n;
				}
			}
		}
		for (size_t k = 0; k < l->nfds; k++) {
			const struct img_fd *g = &l->fds[k];
			if (g->kind != FD_PIPE || g->pipe_id != f->pipe_id || all[k].fd >= 0)
				continue;
			int end = (g->flags & O_ACCMODE) == O_RDONLY ? p[0] : p[1];
			all[k].fd = fcntl(end, F_DUPFD_CLOEXEC, 3);
			if (g->flags & O_NONBLOCK)
				fcntl(all[k].fd, F_SETFL, O_NONBLOCK);
		}
		close(p[0]);
		close(p[1]);
	}
}

/* Moves a descriptor we hold above every number the program uses. */
static int lift(int fd, int cloexec)
{
	if (fd < 0 || fd > maxfd_used)
		return fd;
	int n = fcntl(fd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, maxfd_used + 1);
	if (n < 0)
		refuse("cannot arrange descriptors: %s", strerror(errno));
	close(fd);
	return n;
}

/* The new job's launcher descriptor (Hydra's PMI_FD), if this restart runs
 * under one: moved above the program's descriptors and left open, for the
 * lower half that cairn's MPI library starts in the restored process. Then
 * this command's environment, with PMI_FD naming the moved descriptor, goes
 * into the plan (cairn_restart_environ): as much of it as fits, the
 * launcher's variables first. Returns the descriptor, or -1. */
static int keep_launcher_fd(struct plan *P)
{
	extern char **environ;
	const char *v = getenv("PMI_FD");
	char *end, buf[64];
	int fd = -1;

	if (v && *v) {
		long n = strtol(v, &end, 10);
		if (!*end && n >= 0 && n < 65536 && fcntl((int)n, F_GETFD) >= 0) {
			fd = lift((int)n, 0);
			fcntl(fd, F_SETFD, 0);
		}
	}
	P->env_len = 0;
	for (int pass = 0; pass < 2; pass++)
		for (char **e = environ; e && *e; e++) {
			int launcher = !strncmp(*e, "PMI", 3) || !strncmp(*e, "HYDRA", 5) ||
				       !strncmp(*e, "MPI", 3) || !strncmp(*e, "CAIRN_JOB", 9);
			const char *s = *e;
			if (launcher != (pass == 0))
				continue;
			if (!strncmp(s, "PMI_FD=", 7)) {
				if (fd < 0)
					continue;
				snprintf(buf, sizeof(buf), "PMI_FD=%d", fd);
				s = buf;
			}
			size_t len = strlen(s) + 1;
			if (P->env_len + len > sizeof(P->env))
				continue;
			memcpy(P->env + P->env_len, s, len);
			P->env_len += (uint32_t)len;
		}
	return fd;
}

static void close_others(const struct loaded *l, const int *keep, int nkeep)
{
	int max = (int)sysconf(_SC_OPEN_MAX);
	for (int fd = 0; fd < max && fd < 65536; fd++) {
		int k = 0;
		for (size_t i = 0; i < l->nfds && !k; i++)
			k = l->fds[i].fd == fd;
		for (int i = 0; i < nkeep && !k; i++)
			k = keep[i] == fd;
		if (!k)
			close(fd);
	}
}

/* A hole for the restorer's scratch: outside every region of the image and
 * away from where the restorer itself and the kernel put things. */
static uint64_t find_hole(const struct loaded *l, uint64_t size)
{
	/* above the heap: the restorer grows the brk up to the heap's end
	 * before anything else is mapped there */
	uint64_t a = 0x100000000000ull;
	if (l->meta->brk + (1ull << 32) > a)
		a = (l->meta->brk + (1ull << 32)) & ~((1ull << 30) - 1);
	for (; a < 0x700000000000ull; a += 0x4000000000ull) {
		int clash = a < SPLIT_WINDOW_BASE + SPLIT_WINDOW_SIZE && a + size > SPLIT_WINDOW_BASE;
		for (size_t i = 0; i < l->nvmas && !clash; i++)
			clash = l->vmas[i].start < a + size && l->vmas[i].end > a;
		if (!clash)
			return a;
	}
	refuse("leaves no room for the restorer's scratch space");
}

int cmd_restart(int argc, char **argv)
{
	struct loaded l;
	char err[1024], restorer[PATH_MAX];

	if (wants_help(argc, argv)) {
		fputs(help, stdout);
		return 0;
	}
	/* a job's checkpoint directory: the whole job (job.c) */
	struct stat dst;
	if (argc > 1 && strcmp(argv[1], "--job-rank") != 0 && stat(argv[argc - 1], &dst) == 0 &&
	    S_ISDIR(dst.st_mode))
		return job_restart(argc, argv);
	static char rank_image[PATH_MAX + 64];
	int sig = 0, ai = 1;
	if (argc == 3 && strcmp(argv[1], "--job-rank") == 0) {
		if (job_rank_image(argv[2], rank_image, sizeof(rank_image)) < 0)
			return 125;
		argv[2] = rank_image;
		ai = 2;
	}
	for (; ai < argc && argv[ai][0] == '-' && argv[ai][1]; ai++) {
		if (strcmp(argv[ai], "--") == 0) {
			ai++;
			break;
		}
		if (strcmp(argv[ai], "--signal") == 0 && ai + 1 < argc) {
			sig = cli_signal(argv[++ai]);
			if (sig <= 0) {
				fprintf(stderr, "cairn: restart: unknown signal '%s'\n", argv[ai]);
				return 125;
			}
			continue;
		}
		fprintf(stderr, "cairn: restart: unknown option '%s'\n%s", argv[ai], help);
		return 125;
	}
	if (argc - ai != 1) {
		fputs(help, stderr);
		return 125;
	}
	image_path = argv[ai];
	if (cli_sibling("libexec/cairn/cairn-restore", restorer, sizeof(restorer)) < 0) {
		fprintf(stderr, "cairn: cannot find the restorer at %s\n", restorer);
		return 125;
	}
	if (load_image(image_path, &l, LOAD_DEFER_PAGES, err, sizeof(err)) < 0)
		refuse("%s", err);

	/* Does it fit this machine? */
	uint64_t here = xcr0();
	if (l.r.hdr.xfeatures & ~here)
		refuse("needs CPU register state this CPU lacks (XCR0 %#llx there, %#llx here)",
		       (unsigned long long)l.r.hdr.xfeatures, (unsigned long long)here);
	check_vdso(&l);
	for (size_t i = 0; i < l.nvmas; i++)
		if (l.vmas[i].start < RESTORER_LIMIT)
			refuse("has memory at %#llx, where cairn's restorer must run",
			       (unsigned long long)l.vmas[i].start);
	const char *cwd = load_str(&l, l.meta->cwd);
	struct stat st;
	if (stat(cwd, &st) < 0 || !S_ISDIR(st.st_mode))
		refuse("had its working directory at %s, which does not exist here", cwd);

	/* Files it maps, and the descriptors it had. */
	for (size_t i = 0; i < l.nfds; i++)
		if (l.fds[i].fd > maxfd_used)
			maxfd_used = l.fds[i].fd;
	int *vfd = calloc(l.nvmas + 1, sizeof(int));
	for (size_t i = 0; i < l.nvmas; i++)
		vfd[i] = (l.vmas[i].kind == VMA_FILE || l.vmas[i].kind == VMA_FILE_SHARED)
				 ? open_mapped(&l, &l.vmas[i])
				 : -1;
	struct prepared *pf = calloc(l.nfds + 1, sizeof(*pf));
	for (size_t i = 0; i < l.nfds; i++)
		pf[i].fd = -1;
	for (size_t i = 0; i < l.nfds; i++)
		if (l.fds[i].kind != FD_PIPE)
			prepare_fd(&l, &l.fds[i], &pf[i]);
	prepare_pipes(&l, pf);
	int image_fd = l.r.fd;

	/* The plan. */
	size_t nthreads = l.nthreads;
	size_t psize = sizeof(struct plan) + l.nvmas * sizeof(struct plan_vma) +
		       l.nchunks * sizeof(struct plan_chunk) + nthreads * sizeof(struct img_thread);
	struct plan *P = calloc(1, psize);
	P->magic = PLAN_MAGIC;
	P->size = psize;
	P->off_vmas = sizeof(struct plan);
	P->off_chunks = P->off_vmas + l.nvmas * sizeof(struct plan_vma);
	P->off_threads = P->off_chunks + l.nchunks * sizeof(struct plan_chunk);
	P->nvmas = (uint32_t)l.nvmas;
	P->nchunks = (uint32_t)l.nchunks;
	P->nthreads = (uint32_t)nthreads;
	P->restore_info = l.meta->restore_info;
	P->check_pages = (uint32_t)l.pages_in_order;
	char absimg[PATH_MAX];
	P->signal_after = sig;
	snprintf(P->image_path, sizeof(P->image_path), "%s",
		 realpath(image_path, absimg) ? absimg : image_path);
	P->pages_hash = l.pages->checksum;
	P->start_brk = l.meta->start_brk;
	P->brk = l.meta->brk;
	P->personality = l.meta->personality;
	P->rseq_offset = l.meta->rseq_offset;
	P->rseq_size = l.meta->rseq_size;
	memcpy(P->sigact, l.sigacts, sizeof(P->sigact));
	struct plan_vma *pv = (void *)((char *)P + P->off_vmas);
	struct plan_chunk *pc = (void *)((char *)P + P->off_chunks);
	for (size_t i = 0; i < l.nvmas; i++) {
		const struct img_vma *v = &l.vmas[i];
		pv[i].start = v->start;
		pv[i].end = v->end;
		pv[i].prot = v->prot;
		pv[i].kind = v->kind;
		pv[i].madv = v->madv;
		pv[i].fd = vfd[i];
		pv[i].pgoff = v->pgoff;
		pv[i].first_chunk = v->first_chunk;
		pv[i].nchunks = v->nchunks;
		if (v->kind >= VMA_VDSO) {
			if (P->nspecial >= PLAN_MAX_SPECIAL)
				refuse("has too many kernel mappings");
			P->special[P->nspecial].kind = v->kind;
			P->special[P->nspecial].start = v->start;
			P->special[P->nspecial].end = v->end;
			P->nspecial++;
		}
	}
	/* kernel mappings are moved, not mapped: drop them from the list */
	size_t keep = 0;
	for (size_t i = 0; i < l.nvmas; i++)
		if (pv[i].kind < VMA_VDSO)
			pv[keep++] = pv[i];
	P->nvmas = (uint32_t)keep;
	for (size_t i = 0; i < l.nchunks; i++) {
		pc[i].vaddr = l.chunks[i].vaddr;
		pc[i].len = l.chunks[i].npages * IMG_PAGE;
		pc[i].file_off = l.pages->offset + l.chunks[i].data_off;
	}
	memcpy((char *)P + P->off_threads, l.threads, nthreads * sizeof(struct img_thread));

	uint64_t hole_size = ((psize + 4095) & ~4095ull) + PLAN_MAPS_BUF + PLAN_SPECIAL_TMP +
			     (nthreads + 1) * PLAN_THREAD_STACK + PLAN_MAIN_STACK;
	P->hole_start = find_hole(&l, hole_size);
	P->hole_end = P->hole_start + hole_size;

	int plan_fd = memfd_create("cairn-plan", 0);
	if (plan_fd < 0 || write(plan_fd, P, psize) != (ssize_t)psize)
		refuse("cannot be prepared: %s", strerror(errno));

	/* From here on the process is being changed: descriptors first. */
	plan_fd = lift(plan_fd, 0);
	int launcher_fd = keep_launcher_fd(P);
	image_fd = lift(image_fd, 0);
	fcntl(image_fd, F_SETFD, 0);
	for (size_t i = 0; i < nfiles; i++) {
		files[i].fd = lift(files[i].fd, 0);
		fcntl(files[i].fd, F_SETFD, 0);
	}
	/* mapping descriptors may have moved: rebuild from the files table */
	{
		size_t j = 0;
		for (size_t i = 0; i < l.nvmas; i++) {
			if (l.vmas[i].kind >= VMA_VDSO)
				continue;
			if (l.vmas[i].kind == VMA_FILE || l.vmas[i].kind == VMA_FILE_SHARED) {
				const char *path = load_str(&l, l.vmas[i].path);
				int writable = l.vmas[i].kind == VMA_FILE_SHARED &&
					       (l.vmas[i].prot & PROT_WRITE);
				for (size_t k = 0; k < nfiles; k++)
					if (strcmp(files[k].path, path) == 0 &&
					    files[k].writable == writable)
						pv[j].fd = files[k].fd;
			}
			j++;
		}
	}
	for (size_t i = 0; i < l.nfds; i++)
		pf[i].fd = lift(pf[i].fd, 1);

	/* fds 0..2 the restarter lacks become /dev/null, so FD_STD has a source */
	for (int s = 0; s < 3; s++)
		if (fcntl(s, F_GETFD) < 0) {
			int n = open("/dev/null", O_RDWR);
			if (n >= 0 && n != s) {
				dup2(n, s);
				close(n);
			}
		}
	/* restarter's std fds that the program uses elsewhere: copy first */
	int std_copy[3];
	for (int s = 0; s < 3; s++)
		std_copy[s] = fcntl(s, F_DUPFD_CLOEXEC, maxfd_used + 1);
	P->ncloexec = 0;
	for (size_t i = 0; i < l.nfds; i++) {
		const struct img_fd *f = &l.fds[i];
		int src = -1;
		if (f->kind == FD_STD)
			src = std_copy[f->std_of];
		else if (f->kind != FD_DUP)
			src = pf[i].fd;
		if (src < 0)
			continue;
		if (dup2(src, f->fd) < 0)
			refuse("cannot place descriptor %d: %s", f->fd, strerror(errno));
	}
	for (size_t i = 0; i < l.nfds; i++) {
		const struct img_fd *f = &l.fds[i];
		if (f->kind == FD_DUP && dup2(f->dup_of, f->fd) < 0)
			refuse("cannot place descriptor %d: %s", f->fd, strerror(errno));
		if (f->cloexec && P->ncloexec < sizeof(P->cloexec_fds) / sizeof(int))
			P->cloexec_fds[P->ncloexec++] = f->fd;
	}
	for (size_t i = 0; i < l.nfds; i++)
		if (pf[i].fd >= 0)
			close(pf[i].fd);
	for (int s = 0; s < 3; s++)
		close(std_copy[s]);

	/* descriptors the restorer needs, and closes before the program runs */
	int keepfds[PLAN_MAX_CLOSE + 1];
	int nk = 0;
	keepfds[nk++] = plan_fd;
	keepfds[nk++] = image_fd;
	for (size_t i = 0; i < nfiles && nk < PLAN_MAX_CLOSE; i++)
		keepfds[nk++] = files[i].fd;
	if (nfiles + 2 > PLAN_MAX_CLOSE)
		refuse("maps more than %d files", PLAN_MAX_CLOSE - 2);
	P->image_fd = image_fd;
	P->nclose = (uint32_t)nk;
	memcpy(P->close_fds, keepfds, sizeof(int) * (size_t)nk);
	/* rewrite the plan with the final descriptor numbers */
	if (pwrite(plan_fd, P, psize, 0) != (ssize_t)psize)
		refuse("cannot be prepared: %s", strerror(errno));
	if (launcher_fd >= 0 && nk < PLAN_MAX_CLOSE)
		keepfds[nk] = launcher_fd; /* kept open, not closed by the restorer */
	close_others(&l, keepfds, nk + (launcher_fd >= 0));

	if (chdir(cwd) < 0)
		refuse("cannot enter %s: %s", cwd, strerror(errno));
	umask((mode_t)l.meta->umask);

	char a1[32], a2[32], a3[32];
	snprintf(a1, sizeof(a1), "%x", plan_fd);
	snprintf(a2, sizeof(a2), "%llx", (unsigned long long)P->hole_start);
	snprintf(a3, sizeof(a3), "%llx", (unsigned long long)hole_size);
	char *args[] = {"cairn-restore", a1, a2, a3, NULL};
	char *envp[] = {NULL};
	personality(ADDR_NO_RANDOMIZE);
	execve(restorer, args, envp);
	fprintf(stderr, "cairn: cannot run the restorer %s: %s\n", restorer, strerror(errno));
	return 125;
}
