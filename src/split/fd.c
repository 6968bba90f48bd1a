/*
 * SIGNAL-SAFE: the lower half's descriptors.
 *
 * The lower half shares the descriptor table with the application; MPI
 * opens sockets, pipes, epoll and event descriptors, /dev/shm files. A
 * checkpoint must neither save them nor trip over them, so every call of
 * the lower half that creates, duplicates or closes a descriptor is trapped
 * (trap.c: only when the instruction pointer is in the window) and
 * performed here, and a bitmap records which numbers are the lower half's.
 *
 * Why trap rather than compare /proc/self/fd before and after each lower
 * call: a listing costs tens of microseconds per MPI call, while the
 * trapped calls are rare after MPI_Init (a trap costs about 3.5 us; the
 * application pays nothing, since the filter tests the instruction pointer
 * first). Not seen: descriptors received over a socket (SCM_RIGHTS, which
 * would mean trapping every recvmsg) and descriptors inherited at exec
 * (Hydra's PMI_FD): the MPI layer knows those by name.
 *
 * Runs in the SIGSYS handler: raw system calls, no TLS, no libc.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>

#include <string.h>

#include "split/internal.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define FD_MAX 65536

static uint64_t bits[FD_MAX / 64];
uint64_t fd_untracked;

static void mark(long fd)
{
	if (fd < 0)
		return;
	if (fd >= FD_MAX) {
		__atomic_add_fetch(&fd_untracked, 1, __ATOMIC_RELAXED);
		return;
	}
	__atomic_or_fetch(&bits[fd / 64], 1ull << (fd % 64), __ATOMIC_RELAXED);
}

static void unmark(long fd)
{
	if (fd >= 0 && fd < FD_MAX)
		__atomic_and_fetch(&bits[fd / 64], ~(1ull << (fd % 64)),
				   __ATOMIC_RELAXED);
}

int fd_trapped(long nr)
{
	switch (nr) {
	case SYS_open:
	case SYS_openat:
	case SYS_openat2:
	case SYS_creat:
	case SYS_socket:
	case SYS_socketpair:
	case SYS_accept:
	case SYS_accept4:
	case SYS_pipe:
	case SYS_pipe2:
	case SYS_eventfd:
	case SYS_eventfd2:
	case SYS_epoll_create:
	case SYS_epoll_create1:
	case SYS_dup:
	case SYS_dup2:
	case SYS_dup3:
	case SYS_fcntl: /* the filter traps F_DUPFD and F_DUPFD_CLOEXEC only */
	case SYS_memfd_create:
	case SYS_timerfd_create:
	case SYS_signalfd:
	case SYS_signalfd4:
	case SYS_inotify_init:
	case SYS_inotify_init1:
	case SYS_fanotify_init:
	case SYS_userfaultfd:
	case SYS_perf_event_open:
	case SYS_pidfd_open:
	case SYS_pidfd_getfd:
	case SYS_io_uring_setup:
	case SYS_close:
	case SYS_close_range:
		return 1;
	}
	return 0;
}

long fd_call(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	long r = split_sys6(nr, a0, a1, a2, a3, a4, a5);

	if (nr == SYS_close) {
		/* on Linux the number is free even when close fails, except
		 * for a number that was not open */
		if (r != -EBADF)
			unmark(a0);
		return r;
	}
	if (r < 0 && r > -4096)
		return r;
	switch (nr) {
	case SYS_pipe:
	case SYS_pipe2:
		mark(((int *)a0)[0]);
		mark(((int *)a0)[1]);
		break;
	case SYS_socketpair:
		mark(((int *)a3)[0]);
		mark(((int *)a3)[1]);
		break;
	case SYS_close_range:
		if (!(a2 & CLOSE_RANGE_CLOEXEC))
			for (unsigned long fd = (unsigned)a0;
			     fd <= (unsigned)a1 && fd < FD_MAX; fd++)
				unmark(fd);
		break;
	case SYS_fcntl:
		if (a1 == F_DUPFD || a1 == F_DUPFD_CLOEXEC)
			mark(r);
		break;
	default: /* the new descriptor (dup2, dup3: NEWFD) */
		mark(r);
	}
	return r;
}

void split_add_lower_fd(int fd)
{
	mark(fd);
}

int split_is_lower_fd(int fd)
{
	return fd >= 0 && fd < FD_MAX &&
	       (__atomic_load_n(&bits[fd / 64], __ATOMIC_RELAXED) >>
		(fd % 64)) & 1;
}

int split_lower_fds(int *fds, int max)
{
	int n = 0;

	for (int fd = 0; fd < FD_MAX; fd++)
		if (split_is_lower_fd(fd)) {
			if (n < max)
				fds[n] = fd;
			n++;
		}
	return n;
}

/* After a restart: none of the old lower half's descriptors exist. */
void fd_forget(void)
{
	memset(bits, 0, sizeof(bits));
}
