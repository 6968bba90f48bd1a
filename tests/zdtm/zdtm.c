/*
 * zdtm: the test side of the harness protocol (see zdtm.h).
 * Output goes through write(2) so that a test may report from any thread
 * without caring about stdio's buffers or locks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "zdtm.h"

static char mode[32];
static pid_t expected_pid;
static __thread double last_poll; /* per thread: each polls on its own */

static const char *dir(void)
{
	const char *d = getenv("ZDTM_DIR");

	if (!d || !*d)
		zdtm_fail("ZDTM_DIR is not set");
	return d;
}

void zdtm_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir(), name);
}

double zdtm_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void say(const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(1, s, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		s += n;
		len -= n;
	}
}

void zdtm_pass(void)
{
	say("PASS\n", 5);
	_exit(0);
}

void zdtm_fail(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n = snprintf(buf, sizeof buf, "FAIL: ");

	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof buf - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof buf - 2)
		n = sizeof buf - 2;
	buf[n++] = '\n';
	say(buf, n);
	_exit(1);
}

void zdtm_ready(void)
{
	char tmp[4096], fin[4096], line[32];
	int fd, n;

	zdtm_path(tmp, sizeof tmp, "ready.tmp");
	zdtm_path(fin, sizeof fin, "ready");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		zdtm_fail("cannot create %s: %s", tmp, strerror(errno));
	n = snprintf(line, sizeof line, "%d\n", (int)getpid());
	if (write(fd, line, n) != n || close(fd) != 0)
		zdtm_fail("cannot write %s: %s", tmp, strerror(errno));
	if (rename(tmp, fin) != 0)
		zdtm_fail("cannot rename %s: %s", tmp, strerror(errno));
}

static int go_seen(void)
{
	char path[4096], buf[64] = "";
	int fd, pid = 0;
	ssize_t n;

	zdtm_path(path, sizeof path, "go");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n > 0) {
		buf[n] = 0;
		if (sscanf(buf, "%31s %d", mode, &pid) >= 1)
			expected_pid = pid;
	}
	return 1;
}

int zdtm_go(void)
{
	double now = zdtm_now();

	if (now - last_poll < 0.01)
		return 0;
	last_poll = now;
	return go_seen();
}

void zdtm_wait_go(void)
{
	struct timespec ts = {0, 10 * 1000 * 1000};

	while (!go_seen())
		nanosleep(&ts, NULL);
}

const char *zdtm_mode(void)
{
	return mode;
}

pid_t zdtm_expected_pid(void)
{
	return expected_pid;
}
