/*
 * fds: descriptors come back at their numbers, offsets, access modes and
 * flags. Regular files opened O_RDONLY, O_WRONLY, O_WRONLY|O_APPEND and
 * O_RDWR at various offsets; dup()'d descriptors (also at 100 and 200) that
 * share one offset and one set of status flags; FD_CLOEXEC where set and
 * only there; a file deleted while open (contents, offset, still writable);
 * /dev/null, /dev/zero, /dev/urandom; a directory used with openat().
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtm.h"

static char data[8192];

static int open_in_dir(const char *name, int flags)
{
	char path[4096];
	int fd;

	zdtm_path(path, sizeof path, name);
	fd = open(path, flags, 0644);
	zdtm_check(fd >= 0, "cannot open %s", path);
	return fd;
}

static void offset_is(int fd, off_t want, const char *what)
{
	off_t now = lseek(fd, 0, SEEK_CUR);
	zdtm_check(now == want, "%s: offset %lld, expected %lld", what, (long long)now,
		   (long long)want);
}

int main(void)
{
	char buf[8192], dirpath[4096];
	struct stat st;
	int ro, wo, ap, rw, d1, d100, d200, del, dnull, dzero, drand, dir, in;

	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (char)(i * 29 + 3);
	rw = open_in_dir("rw", O_RDWR | O_CREAT | O_TRUNC);
	zdtm_check(write(rw, data, sizeof data) == sizeof data, "write");
	ro = open_in_dir("rw", O_RDONLY);
	lseek(ro, 100, SEEK_SET);
	wo = open_in_dir("wo", O_WRONLY | O_CREAT | O_TRUNC);
	zdtm_check(write(wo, data, 777) == 777, "write");
	ap = open_in_dir("log", O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC);
	zdtm_check(write(ap, "first\n", 6) == 6, "write");
	lseek(rw, 1234, SEEK_SET);
	d1 = dup(rw);
	d100 = dup2(rw, 100);
	d200 = fcntl(rw, F_DUPFD_CLOEXEC, 200);
	fcntl(rw, F_SETFL, O_NONBLOCK);
	del = open_in_dir("gone", O_RDWR | O_CREAT | O_TRUNC);
	zdtm_check(write(del, data, 3000) == 3000, "write");
	lseek(del, 777, SEEK_SET);
	zdtm_path(dirpath, sizeof dirpath, "gone");
	unlink(dirpath);
	dnull = open("/dev/null", O_WRONLY);
	dzero = open("/dev/zero", O_RDONLY);
	drand = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	zdtm_path(dirpath, sizeof dirpath, "");
	dir = open(dirpath, O_RDONLY | O_DIRECTORY);
	zdtm_check(d100 == 100 && d200 == 200 && dnull >= 0 && dzero >= 0 && drand >= 0 && dir >= 0,
		   "setup");
	zdtm_ready();
	zdtm_wait_go();

	for (int fd = 0; fd < 3; fd++)
		zdtm_check(fcntl(fd, F_GETFD) >= 0, "standard descriptor %d is closed", fd);
	offset_is(ro, 100, "O_RDONLY");
	zdtm_check(read(ro, buf, 10) == 10 && memcmp(buf, data + 100, 10) == 0, "O_RDONLY contents");
	zdtm_check(write(ro, "x", 1) < 0, "an O_RDONLY descriptor became writable");
	offset_is(wo, 777, "O_WRONLY");
	zdtm_check(read(wo, buf, 1) < 0, "an O_WRONLY descriptor became readable");
	zdtm_check(write(wo, "tail", 4) == 4, "O_WRONLY write");
	zdtm_check((fcntl(rw, F_GETFL) & O_ACCMODE) == O_RDWR, "O_RDWR access mode");
	offset_is(rw, 1234, "O_RDWR");
	offset_is(d1, 1234, "dup");
	offset_is(d100, 1234, "dup2 to 100");
	offset_is(d200, 1234, "F_DUPFD_CLOEXEC to 200");
	zdtm_check(write(d100, "0123456789", 10) == 10, "write through the dup");
	offset_is(rw, 1244, "O_RDWR after a write through its dup");
	offset_is(d200, 1244, "descriptor 200 after a write through its twin");
	zdtm_check(fcntl(d1, F_GETFL) & O_NONBLOCK, "dup'd descriptors no longer share status flags");
	zdtm_check(pread(rw, buf, 20, 1234) == 20 && memcmp(buf, "0123456789", 10) == 0 &&
			   memcmp(buf + 10, data + 1244, 10) == 0,
		   "O_RDWR file contents");
	zdtm_check(fcntl(ap, F_GETFL) & O_APPEND, "O_APPEND lost");
	zdtm_check(write(ap, "second\n", 7) == 7, "append write");
	in = openat(dir, "log", O_RDONLY);
	zdtm_check(in >= 0 && read(in, buf, 20) == 13 && memcmp(buf, "first\nsecond\n", 13) == 0,
		   "the O_APPEND file (read through openat on the directory descriptor)");
	zdtm_check(fstat(dir, &st) == 0 && S_ISDIR(st.st_mode), "the directory descriptor");
	zdtm_check(fcntl(ap, F_GETFD) == FD_CLOEXEC && fcntl(drand, F_GETFD) == FD_CLOEXEC &&
			   fcntl(d200, F_GETFD) == FD_CLOEXEC,
		   "FD_CLOEXEC lost");
	zdtm_check(fcntl(rw, F_GETFD) == 0 && fcntl(d1, F_GETFD) == 0 && fcntl(d100, F_GETFD) == 0 &&
			   fcntl(ro, F_GETFD) == 0,
		   "FD_CLOEXEC appeared");
	zdtm_check(fstat(del, &st) == 0 && st.st_nlink == 0 && st.st_size == 3000,
		   "the deleted file: %lu links, %lld bytes", (unsigned long)st.st_nlink,
		   (long long)st.st_size);
	offset_is(del, 777, "deleted file");
	zdtm_check(read(del, buf, 100) == 100 && memcmp(buf, data + 777, 100) == 0,
		   "deleted file contents");
	zdtm_check(write(del, "more", 4) == 4 && pread(del, buf, 4, 877) == 4 &&
			   memcmp(buf, "more", 4) == 0,
		   "the deleted file is not writable");
	zdtm_check(write(dnull, "x", 1) == 1, "/dev/null");
	memset(buf, 1, 64);
	zdtm_check(read(dzero, buf, 64) == 64 && buf[0] == 0 && buf[63] == 0, "/dev/zero");
	memset(buf, 0, 64);
	zdtm_check(read(drand, buf, 64) == 64 && memcmp(buf, buf + 32, 32) != 0, "/dev/urandom");
	zdtm_pass();
}
