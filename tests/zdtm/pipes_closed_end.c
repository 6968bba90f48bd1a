/*
 * pipes_closed_end: pipes whose other end was closed by the process itself
 * (no other process holds it) come back that way. One lost its writer after
 * data was written: the data reads back, then EOF. One lost its reader:
 * writing gives EPIPE. (The kernel tells such pipes apart from ones shared
 * with another process: poll() reports POLLHUP / POLLERR.)
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "zdtm.h"

int main(void)
{
	int eof[2], broken[2];
	struct pollfd pf[2];
	char buf[16];

	zdtm_check(pipe(eof) == 0 && pipe(broken) == 0, "pipe");
	zdtm_check(write(eof[1], "last", 4) == 4, "write");
	close(eof[1]);
	close(broken[0]);
	signal(SIGPIPE, SIG_IGN);
	zdtm_ready();
	zdtm_wait_go();

	pf[0] = (struct pollfd){.fd = eof[0], .events = POLLIN};
	pf[1] = (struct pollfd){.fd = broken[1], .events = POLLOUT};
	zdtm_check(poll(pf, 2, 0) == 2, "poll");
	zdtm_check(pf[0].revents & POLLHUP, "the writerless pipe has a writer again");
	zdtm_check(pf[1].revents & POLLERR, "the readerless pipe has a reader again");
	zdtm_check(read(eof[0], buf, sizeof buf) == 4 && memcmp(buf, "last", 4) == 0,
		   "the writerless pipe lost its data");
	zdtm_check(read(eof[0], buf, sizeof buf) == 0, "the writerless pipe does not give EOF");
	zdtm_check(write(broken[1], "x", 1) < 0 && errno == EPIPE,
		   "the readerless pipe does not give EPIPE");
	zdtm_pass();
}
