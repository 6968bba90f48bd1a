/* Working directory, umask, and resource limits the program changed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zdtm.h"

int main(void)
{
	char sub[4096], cwd[4096];
	snprintf(sub, sizeof(sub), "%s/sub dir", getenv("ZDTM_DIR"));
	mkdir(sub, 0755);
	if (chdir(sub) < 0)
		zdtm_fail("chdir");
	umask(027);
	struct rlimit nofile, core;
	getrlimit(RLIMIT_NOFILE, &nofile);
	nofile.rlim_cur = 200;
	setrlimit(RLIMIT_NOFILE, &nofile);
	core.rlim_cur = 4096;
	core.rlim_max = 1 << 20;
	setrlimit(RLIMIT_CORE, &core);
	zdtm_ready();
	zdtm_wait_go();
	zdtm_check(getcwd(cwd, sizeof(cwd)) && strcmp(cwd, sub) == 0, "cwd is %s", cwd);
	mode_t m = umask(0);
	zdtm_check(m == 027, "umask %03o", m);
	struct rlimit now;
	getrlimit(RLIMIT_NOFILE, &now);
	zdtm_check(now.rlim_cur == 200, "RLIMIT_NOFILE soft limit %llu", (unsigned long long)now.rlim_cur);
	getrlimit(RLIMIT_CORE, &now);
	zdtm_check(now.rlim_cur == 4096 && now.rlim_max == 1 << 20, "RLIMIT_CORE");
	zdtm_pass();
}
