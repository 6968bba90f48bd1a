/*
 * pipes: pipes with both ends in the process keep their unread data, their
 * flags and their size. One holds 10000 bytes with O_NONBLOCK on its read
 * end only; one was resized to 128 KiB and filled to the brim. After go the
 * data reads back exactly and the pipes still work. (Pipes with one end
 * closed: pipes_closed_end.)
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtm.h"

#define BIG (128 * 1024)

static char data[BIG], buf[BIG];

static size_t drain(int fd, char *to, size_t max)
{
	size_t got = 0;

	for (;;) {
		ssize_t n = read(fd, to + got, max - got);
		if (n < 0 && errno == EAGAIN)
			return got;
		zdtm_check(n > 0, "read from a pipe: %zd (%s)", n, strerror(errno));
		got += n;
		if (got == max)
			return got;
	}
}

int main(void)
{
	int p[2], full[2];
	struct stat s0, s1;
	char c;

	for (int i = 0; i < BIG; i++)
		data[i] = (char)(i * 31 + 7 + i / 4096);
	zdtm_check(pipe(p) == 0 && pipe2(full, O_NONBLOCK) == 0, "pipe");
	zdtm_check(write(p[1], data, 10000) == 10000, "write");
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	zdtm_check(fcntl(full[1], F_SETPIPE_SZ, BIG) == BIG, "F_SETPIPE_SZ");
	zdtm_check(write(full[1], data, BIG) == BIG, "filling a pipe");
	zdtm_check(write(full[1], "x", 1) < 0 && errno == EAGAIN, "the full pipe is not full");
	zdtm_ready();
	zdtm_wait_go();

	zdtm_check(fcntl(p[0], F_GETFL) & O_NONBLOCK, "O_NONBLOCK lost on the read end");
	zdtm_check(!(fcntl(p[1], F_GETFL) & O_NONBLOCK), "O_NONBLOCK appeared on the write end");
	zdtm_check(fstat(p[0], &s0) == 0 && fstat(p[1], &s1) == 0 && s0.st_ino == s1.st_ino &&
			   S_ISFIFO(s0.st_mode),
		   "the two ends are not one pipe any more");
	zdtm_check(drain(p[0], buf, BIG) == 10000, "the pipe no longer holds 10000 bytes");
	zdtm_check(memcmp(buf, data, 10000) == 0, "the unread pipe data changed");
	zdtm_check(write(p[1], data + 5, 100) == 100, "write after go");
	zdtm_check(drain(p[0], buf, BIG) == 100 && memcmp(buf, data + 5, 100) == 0,
		   "the pipe does not work after go");

	zdtm_check(fcntl(full[0], F_GETPIPE_SZ) == BIG, "pipe size %d, expected %d",
		   fcntl(full[0], F_GETPIPE_SZ), BIG);
	zdtm_check(write(full[1], "x", 1) < 0 && errno == EAGAIN, "the full pipe is not full");
	zdtm_check(drain(full[0], buf, BIG) == BIG && memcmp(buf, data, BIG) == 0,
		   "the full pipe's data changed");
	zdtm_check(write(full[1], "y", 1) == 1 && read(full[0], &c, 1) == 1 && c == 'y',
		   "the emptied pipe does not work");
	zdtm_pass();
}
