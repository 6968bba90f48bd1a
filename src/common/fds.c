/*
 * Descriptors a program inherits that no checkpoint could save.
 */
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fds.h"

int list_unsaveable(int *fds, int max)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int self = d ? dirfd(d) : -1, n = 0;

	while (d && (e = readdir(d)) != NULL) {
		int fd = atoi(e->d_name);
		struct stat st;
		if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd < 3 || fd == self)
			continue;
		if (fstat(fd, &st) == 0 &&
		    (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISCHR(st.st_mode) ||
		     S_ISBLK(st.st_mode)))
			continue;
		if (n < max)
			fds[n] = fd;
		n++;
	}
	if (d)
		closedir(d);
	return n;
}

void close_unsaveable(void)
{
	int fds[256], n;

	do {
		n = list_unsaveable(fds, 256);
		for (int i = 0; i < n && i < 256; i++)
			close(fds[i]);
	} while (n > 256);
}
