/* Descriptors: files at their offsets and modes, O_APPEND, dup'd ones sharing
 * an offset, close-on-exec flags, a deleted file, devices, a directory. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "zdtm.h"

static char dir[4096];
static const char *at(const char *name)
{
	static char p[4][4096];
	static int i;
	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

int main(void)
{
	snprintf(dir, sizeof(dir), "%s", getenv("ZDTM_DIR"));
	int w = open(at("data"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (write(w, "0123456789abcdef", 16) != 16)
		zdtm_fail("write");
	int r = open(at("data"), O_RDONLY);
	lseek(r, 5, SEEK_SET);
	int ap = open(at("log"), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (write(ap, "first\n", 6) != 6)
		zdtm_fail("write");
	int d = dup(w);
	lseek(w, 3, SEEK_SET);
	int del = open(at("gone"), O_RDWR | O_CREAT | O_TRUNC, 0640);
	if (write(del, "deleted but open", 16) != 16)
		zdtm_fail("write");
	lseek(del, 8, SEEK_SET);
	unlink(at("gone"));
	int dn = open("/dev/null", O_WRONLY);
	int dz = open("/dev/zero", O_RDONLY);
	int du = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	int dd = open(dir, O_RDONLY | O_DIRECTORY);
	zdtm_ready();
	zdtm_wait_go();
	char buf[32];
	zdtm_check(lseek(r, 0, SEEK_CUR) == 5, "read-only offset");
	zdtm_check(read(r, buf, 3) == 3 && memcmp(buf, "567", 3) == 0, "read-only contents");
	zdtm_check(lseek(d, 0, SEEK_CUR) == 3, "dup'd descriptor lost the shared offset");
	zdtm_check(write(w, "X", 1) == 1 && lseek(d, 0, SEEK_CUR) == 4, "offset not shared after write");
	zdtm_check((fcntl(w, F_GETFL) & O_ACCMODE) == O_RDWR, "access mode of the RW file");
	zdtm_check((fcntl(r, F_GETFL) & O_ACCMODE) == O_RDONLY, "access mode of the RO file");
	zdtm_check(fcntl(ap, F_GETFL) & O_APPEND, "O_APPEND lost");
	zdtm_check(fcntl(ap, F_GETFD) & FD_CLOEXEC, "FD_CLOEXEC lost");
	zdtm_check(!(fcntl(w, F_GETFD) & FD_CLOEXEC), "FD_CLOEXEC appeared");
	zdtm_check(fcntl(du, F_GETFD) & FD_CLOEXEC, "FD_CLOEXEC lost on a device");
	zdtm_check(write(ap, "second\n", 7) == 7, "append write");
	int lg = open(at("log"), O_RDONLY);
	zdtm_check(read(lg, buf, 13) == 13 && memcmp(buf, "first\nsecond\n", 13) == 0, "append log");
	zdtm_check(lseek(del, 0, SEEK_CUR) == 8, "deleted file offset");
	zdtm_check(read(del, buf, 8) == 8 && memcmp(buf, "but open", 8) == 0, "deleted file contents");
	zdtm_check(write(dn, "x", 1) == 1, "/dev/null");
	zdtm_check(read(dz, buf, 4) == 4 && buf[0] == 0 && buf[3] == 0, "/dev/zero");
	zdtm_check(read(du, buf, 16) == 16, "/dev/urandom");
	int in = openat(dd, "data", O_RDONLY);
	zdtm_check(in >= 0 && read(in, buf, 4) == 4 && memcmp(buf, "012X", 4) == 0, "openat on the directory");
	zdtm_pass();
}
