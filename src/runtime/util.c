/*
 * Small helpers for the runtime. Everything here may run while the
 * program's other threads are stopped at arbitrary points (possibly holding
 * malloc's or stdio's locks), so nothing here uses malloc or stdio.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "runtime/runtime.h"

void *scratch_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void scratch_free(void *p, size_t len)
{
	if (p)
		munmap(p, len);
}

/* Reads a (small, /proc) file whole; returns its length, NUL-terminated. */
ssize_t read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0)
		return -1;
	while (got + 1 < len) {
		ssize_t n = read(fd, buf + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = 0;
	return (ssize_t)got;
}

void fmt(char *buf, size_t len, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	vsnprintf(buf, len, f, ap);
	va_end(ap);
}

uint64_t now_ns(int clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Diagnostics go to stderr only when CAIRN_DEBUG is set. */
void rt_log(const char *f, ...)
{
	static int on = -1;
	char buf[512];
	va_list ap;

	if (on < 0) {
		const char *e = getenv("CAIRN_DEBUG");
		on = e && *e;
	}
	if (!on)
		return;
	int n = snprintf(buf, sizeof(buf), "cairn[%d]: ", (int)getpid());
	va_start(ap, f);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, f, ap);
	va_end(ap);
	n = (int)strlen(buf);
	if (n < (int)sizeof(buf) - 1)
		buf[n++] = '\n';
	if (write(2, buf, (size_t)n) < 0) {
	}
}

pid_t sys_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* Moves a runtime descriptor to 1000 or above, out of the program's way
 * (programs often expect their own descriptors to be small numbers). */
int fd_high(int fd)
{
	int high = fcntl(fd, F_DUPFD_CLOEXEC, 1000);

	if (high < 0)
		return fd;
	close(fd);
	return high;
}
