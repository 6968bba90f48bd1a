/*
 * Descriptors: what each open descriptor is, so the restart can open it
 * again at the same number.
 *
 * Regular files, directories and devices are saved by path, access mode,
 * status flags and offset. Descriptors that share one open file (dup) are
 * found with kcmp() and saved as duplicates, so they share an offset again.
 * A file deleted while open has its contents saved; a pipe whose both ends
 * are in the process has its unread data saved (read with tee(), which
 * leaves the pipe as it was). Fds 0..2 that are still what the program
 * started with are saved as "the restarter's own". Anything else (sockets,
 * pipes to other processes, eventfds...) refuses the checkpoint with a
 * message naming the descriptor.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "runtime/runtime.h"

#define MAX_FDS 65536

void files_note_std(int restored)
{
	for (int i = 0; i < 3; i++) {
		struct stat st;
		if (restored && !rt.std_inherited[i]) {
			rt.std_valid[i] = 0;
			continue;
		}
		rt.std_valid[i] = fstat(i, &st) == 0;
		if (rt.std_valid[i]) {
			rt.std_dev[i] = st.st_dev;
			rt.std_ino[i] = st.st_ino;
		}
	}
}

static int same_file(int a, int b)
{
	pid_t pid = getpid();
	return syscall(SYS_kcmp, pid, pid, KCMP_FILE, a, b) == 0;
}

/* "addr:port" of an IPv4 or IPv6 socket address. */
static void inet_name(const struct sockaddr_storage *sa, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)sa;
		inet_ntop(AF_INET, &s->sin_addr, host, sizeof(host));
		port = ntohs(s->sin_port);
	} else if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)sa;
		inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof(host));
		port = ntohs(s->sin6_port);
	}
	fmt(out, len, sa->ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", host, port);
}

static void describe_socket(int fd, char *out, size_t len)
{
	int domain = 0, type = 0;
	socklen_t sl = sizeof(int);
	struct sockaddr_storage a, b;
	socklen_t al = sizeof(a), bl = sizeof(b);
	char la[INET6_ADDRSTRLEN + 16] = "?", pa[INET6_ADDRSTRLEN + 16];

	getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &sl);
	sl = sizeof(int);
	getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl);
	const char *kind = type == SOCK_STREAM ? "TCP" : type == SOCK_DGRAM ? "UDP" : "raw";
	if (domain == AF_INET || domain == AF_INET6) {
		if (getsockname(fd, (struct sockaddr *)&a, &al) == 0)
			inet_name(&a, la, sizeof(la));
		if (getpeername(fd, (struct sockaddr *)&b, &bl) == 0) {
			inet_name(&b, pa, sizeof(pa));
			fmt(out, len, "a %s socket (%s -> %s)", kind, la, pa);
		} else {
			fmt(out, len, "a %s socket (%s)", kind, la);
		}
	} else if (domain == AF_UNIX) {
		fmt(out, len, "a Unix %s socket", type == SOCK_STREAM ? "stream" : "datagram");
	} else {
		fmt(out, len, "a socket of family %d", domain);
	}
}

/* Copies the unread contents of a pipe without taking them out. */
static int pipe_peek(struct img_writer *w, int rfd, uint64_t *len)
{
	int p[2], avail = 0;

	*len = 0;
	if (ioctl(rfd, FIONREAD, &avail) < 0 || avail <= 0)
		return 0;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	fcntl(p[1], F_SETPIPE_SZ, avail);
	ssize_t n = tee(rfd, p[1], (size_t)avail, SPLICE_F_NONBLOCK);
	char buf[65536];
	while (n > 0) {
		ssize_t r = read(p[0], buf, sizeof(buf));
		if (r <= 0)
			break;
		img_put(w, buf, (size_t)r);
		*len += (uint64_t)r;
		n -= r;
	}
	close(p[0]);
	close(p[1]);
	return 0;
}

static int copy_file(struct img_writer *w, int fd, uint64_t size)
{
	char buf[65536];
	uint64_t off = 0;

	while (off < size) {
		ssize_t n = pread(fd, buf, sizeof(buf), (off_t)off);
		if (n <= 0)
			return -1;
		img_put(w, buf, (size_t)n);
		off += (uint64_t)n;
	}
	return 0;
}

int files_write(struct img_writer *w, struct strtab *st, const int *skip, int nskip, char *err,
		size_t errlen)
{
	size_t cap = MAX_FDS * sizeof(struct img_fd);
	struct img_fd *fds = scratch_alloc(cap);
	char dbuf[4096], path[64], target[4096];
	int n = 0, rc = -1;
	int dirfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (!fds || dirfd < 0) {
		fmt(err, errlen, "cannot list descriptors");
		goto out;
	}
	for (int i = 0; i < 3; i++)
		rt.std_inherited[i] = 0;
	img_section_begin(w, SEC_BLOBS, 8);
	for (;;) {
		long got = syscall(SYS_getdents64, dirfd, dbuf, sizeof(dbuf));
		if (got <= 0)
			break;
		for (long off = 0; off < got;) {
			struct {
				uint64_t ino;
				int64_t off;
				unsigned short reclen;
				unsigned char type;
				char name[];
			} *d = (void *)(dbuf + off);
			off += d->reclen;
			if (d->name[0] < '0' || d->name[0] > '9')
				continue;
			int fd = atoi(d->name), skipped = fd == dirfd;
			for (int k = 0; k < nskip; k++)
				skipped |= skip[k] == fd;
			if (rt_lower && rt_lower->is_fd(fd))
				skipped = 1; /* the lower half's: not saved */
			if (skipped || n >= MAX_FDS)
				continue;
			struct img_fd *f = &fds[n];
			struct stat sb;
			memset(f, 0, sizeof(*f));
			f->fd = fd;
			f->dup_of = -1;
			if (fstat(fd, &sb) < 0)
				continue;
			int fl = fcntl(fd, F_GETFL);
			f->flags = (uint32_t)fl;
			f->cloexec = (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
			fmt(path, sizeof(path), "/proc/self/fd/%d", fd);
			ssize_t tl = readlink(path, target, sizeof(target) - 1);
			target[tl > 0 ? tl : 0] = 0;

			if (fd < 3 && rt.std_valid[fd] && sb.st_dev == rt.std_dev[fd] &&
			    sb.st_ino == rt.std_ino[fd]) {
				f->kind = FD_STD;
				f->std_of = (uint32_t)fd;
				rt.std_inherited[fd] = 1;
				n++;
				continue;
			}
			/* same open file as one already seen? */
			for (int k = 0; k < n; k++)
				if (fds[k].kind != FD_DUP && same_file(fds[k].fd, fd)) {
					f->kind = FD_DUP;
					f->dup_of = fds[k].fd;
					break;
				}
			if (f->kind == FD_DUP) {
				n++;
				continue;
			}
			f->path = strtab_add(st, target);
			if (S_ISREG(sb.st_mode)) {
				f->pos = (uint64_t)lseek(fd, 0, SEEK_CUR);
				if (sb.st_nlink == 0) {
					f->kind = FD_DELETED;
					f->mode = sb.st_mode & 07777;
					f->data_off = img_section_pos(w);
					f->data_len = (uint64_t)sb.st_size;
					if (copy_file(w, fd, (uint64_t)sb.st_size) < 0) {
						fmt(err, errlen,
						    "cannot read the deleted file open at fd %d (%s)", fd,
						    target);
						goto out;
					}
				} else {
					f->kind = FD_REG;
				}
			} else if (S_ISDIR(sb.st_mode)) {
				f->kind = FD_DIR;
				f->pos = (uint64_t)lseek(fd, 0, SEEK_CUR);
			} else if (S_ISCHR(sb.st_mode) || S_ISBLK(sb.st_mode)) {
				f->kind = FD_CHR;
				off_t pos = lseek(fd, 0, SEEK_CUR);
				f->pos = pos > 0 ? (uint64_t)pos : 0;
			} else if (S_ISFIFO(sb.st_mode) && strncmp(target, "pipe:[", 6) == 0) {
				f->kind = FD_PIPE;
				f->pipe_id = (uint32_t)sb.st_ino;
				int ps = fcntl(fd, F_GETPIPE_SZ);
				f->pipe_size = ps > 0 ? (uint64_t)ps : 0;
				if ((fl & O_ACCMODE) == O_RDONLY) {
					int first = 1;
					for (int k = 0; k < n; k++)
						if (fds[k].kind == FD_PIPE &&
						    fds[k].pipe_id == f->pipe_id &&
						    (fds[k].flags & O_ACCMODE) == O_RDONLY)
							first = 0;
					if (first) {
						f->data_off = img_section_pos(w);
						if (pipe_peek(w, fd, &f->data_len) < 0) {
							fmt(err, errlen,
							    "cannot read the data in the pipe at fd %d",
							    fd);
							goto out;
						}
					}
				}
			} else {
				char what[256];
				if (S_ISSOCK(sb.st_mode))
					describe_socket(fd, what, sizeof(what));
				else if (S_ISFIFO(sb.st_mode))
					fmt(what, sizeof(what), "a named pipe (%s)", target);
				else
					fmt(what, sizeof(what), "%s", target);
				fmt(err, errlen,
				    "descriptor %d is %s, which cairn cannot save; close it before "
				    "the checkpoint (a checkpoint callback can do that)",
				    fd, what);
				goto out;
			}
			n++;
		}
	}
	img_section_end(w);

	/* Every pipe needs both its ends in the process. */
	for (int i = 0; i < n; i++) {
		if (fds[i].kind != FD_PIPE)
			continue;
		int r = 0, wr = 0;
		for (int k = 0; k < n; k++)
			if (fds[k].kind == FD_PIPE && fds[k].pipe_id == fds[i].pipe_id) {
				r |= (fds[k].flags & O_ACCMODE) == O_RDONLY;
				wr |= (fds[k].flags & O_ACCMODE) == O_WRONLY;
			}
		/* One end only: fine if the process closed the other itself
		 * (no writer: POLLHUP on a read end; no reader: POLLERR on a
		 * write end); the restart recreates it the same way. */
		struct pollfd pf = {.fd = fds[i].fd, .events = 0};
		if ((!r || !wr) && poll(&pf, 1, 0) == 1 && (pf.revents & (r ? POLLHUP : POLLERR)))
			continue;
		if (!r || !wr) {
			fmt(err, errlen,
			    "descriptor %d is the %s end of a pipe whose other end is outside the process, "
			    "which cairn cannot save",
			    fds[i].fd, (fds[i].flags & O_ACCMODE) == O_RDONLY ? "read" : "write");
			goto out;
		}
	}
	img_section_begin(w, SEC_FDS, 8);
	img_put(w, fds, (size_t)n * sizeof(*fds));
	img_section_end(w);
	rc = w->err ? -1 : 0;
	if (rc)
		fmt(err, errlen, "writing the image failed: %s", strerror(w->err));
out:
	if (dirfd >= 0)
		close(dirfd);
	scratch_free(fds, cap);
	return rc;
}
