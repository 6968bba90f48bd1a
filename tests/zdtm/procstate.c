/*
 * procstate: per-process attributes the program changed stay changed: the
 * working directory (a path with a space), umask 027, lowered soft
 * RLIMIT_NOFILE, RLIMIT_CORE soft and hard, RLIMIT_CPU, the nice value, the
 * thread name (PR_SET_NAME); and the PID is the one the harness expects.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtm.h"

static const int res[] = {RLIMIT_NOFILE, RLIMIT_CORE, RLIMIT_CPU};
static const char *const resname[] = {"RLIMIT_NOFILE", "RLIMIT_CORE", "RLIMIT_CPU"};

int main(void)
{
	char sub[4096], cwd[4096], link[4096], name[17];
	struct rlimit want[3], now;
	struct stat st;
	mode_t m;
	ssize_t n;
	int fd;

	zdtm_path(sub, sizeof sub, "sub dir");
	zdtm_check(mkdir(sub, 0755) == 0 && chdir(sub) == 0 && getcwd(sub, sizeof sub),
		   "cannot enter %s", sub);
	umask(027);
	for (int i = 0; i < 3; i++)
		getrlimit(res[i], &want[i]);
	want[0].rlim_cur = 200;
	want[1].rlim_cur = 4096 * 3;
	if (want[1].rlim_max == RLIM_INFINITY || want[1].rlim_max > (1 << 20))
		want[1].rlim_max = 1 << 20;
	want[2].rlim_cur = 100000;
	for (int i = 0; i < 3; i++)
		zdtm_check(setrlimit(res[i], &want[i]) == 0, "setrlimit(%s)", resname[i]);
	zdtm_check(setpriority(PRIO_PROCESS, 0, 5) == 0, "setpriority");
	zdtm_check(prctl(PR_SET_NAME, "zdtm-procstate") == 0, "PR_SET_NAME");
	zdtm_ready();
	zdtm_wait_go();

	zdtm_check(getcwd(cwd, sizeof cwd) && strcmp(cwd, sub) == 0, "cwd is '%s', expected '%s'",
		   cwd, sub);
	n = readlink("/proc/self/cwd", link, sizeof link - 1);
	zdtm_check(n > 0 && (link[n] = 0, strcmp(link, sub) == 0), "/proc/self/cwd is '%s'",
		   n > 0 ? link : "?");
	fd = open("new-file", O_CREAT | O_WRONLY | O_EXCL, 0666);
	zdtm_check(fd >= 0 && stat(".", &st) == 0, "cannot create a file in the working directory");
	zdtm_check(fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0640,
		   "a new file got mode %03o under umask 027", st.st_mode & 0777);
	m = umask(027);
	zdtm_check(m == 027, "umask is %03o, expected 027", m);
	for (int i = 0; i < 3; i++) {
		getrlimit(res[i], &now);
		zdtm_check(now.rlim_cur == want[i].rlim_cur && now.rlim_max == want[i].rlim_max,
			   "%s is %llu/%llu, expected %llu/%llu", resname[i],
			   (unsigned long long)now.rlim_cur, (unsigned long long)now.rlim_max,
			   (unsigned long long)want[i].rlim_cur, (unsigned long long)want[i].rlim_max);
	}
	zdtm_check(getpriority(PRIO_PROCESS, 0) == 5, "nice value %d, expected 5",
		   getpriority(PRIO_PROCESS, 0));
	zdtm_check(prctl(PR_GET_NAME, name) == 0 && strcmp(name, "zdtm-procstate") == 0,
		   "thread name is '%s'", name);
	zdtm_check(zdtm_expected_pid() == 0 || getpid() == zdtm_expected_pid(),
		   "PID %d, expected %d", (int)getpid(), (int)zdtm_expected_pid());
	zdtm_pass();
}
