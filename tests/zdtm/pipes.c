/* A pipe with both ends in the process keeps its unread data and flags. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "zdtm.h"

int main(void)
{
	int p[2], q[2];
	char data[10000], buf[10000];
	if (pipe(p) < 0 || pipe2(q, O_NONBLOCK) < 0)
		zdtm_fail("pipe");
	fcntl(p[1], F_SETPIPE_SZ, 65536);
	for (int i = 0; i < 10000; i++)
		data[i] = (char)(i * 31 + 7);
	if (write(p[1], data, sizeof(data)) != sizeof(data))
		zdtm_fail("write");
	zdtm_ready();
	zdtm_wait_go();
	size_t got = 0;
	while (got < sizeof(buf)) {
		ssize_t n = read(p[0], buf + got, sizeof(buf) - got);
		zdtm_check(n > 0, "read from the pipe: %zd", n);
		got += (size_t)n;
	}
	zdtm_check(memcmp(buf, data, sizeof(data)) == 0, "unread pipe data changed");
	zdtm_check(fcntl(q[0], F_GETFL) & O_NONBLOCK, "O_NONBLOCK lost");
	zdtm_check(read(q[0], buf, 1) < 0 && errno == EAGAIN, "empty non-blocking pipe should say EAGAIN");
	zdtm_check(write(q[1], "ok", 2) == 2 && read(q[0], buf, 2) == 2 && memcmp(buf, "ok", 2) == 0,
		   "the pipe does not work any more");
	zdtm_check(write(p[1], "x", 1) == 1 && read(p[0], buf, 1) == 1 && buf[0] == 'x', "first pipe");
	zdtm_pass();
}
