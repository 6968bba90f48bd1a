/*
 * /proc/self/maps and /proc/self/fd, read without touching the heap (so
 * that reading them does not map anything new), for the tests that check
 * where a lower half's mappings and descriptors are (tests/split,
 * tests/mpi). libc only.
 */
#ifndef CAIRN_TEST_PROCMAPS_H
#define CAIRN_TEST_PROCMAPS_H

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_MAPS 4096

struct mapping {
	unsigned long start, end;
	char path[160];
};

struct maps {
	int n;
	struct mapping m[MAX_MAPS];
};

static char maps_buf[1 << 20];

static inline int read_maps(struct maps *mp)
{
	int fd = open("/proc/self/maps", O_RDONLY);
	size_t len = 0;
	ssize_t r;
	char *line, *nl;

	if (fd < 0)
		return -1;
	while ((r = read(fd, maps_buf + len, sizeof(maps_buf) - 1 - len)) > 0)
		len += r;
	close(fd);
	maps_buf[len] = 0;
	mp->n = 0;
	for (line = maps_buf; *line && mp->n < MAX_MAPS; line = nl + 1) {
		struct mapping *m = &mp->m[mp->n++];
		int pos = 0;
		nl = strchr(line, '\n');
		if (!nl)
			break;
		*nl = 0;
		m->path[0] = 0;
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &m->start,
			   &m->end, &pos) < 2)
			return -1;
		if (pos)
			snprintf(m->path, sizeof(m->path), "%s", line + pos);
	}
	return 0;
}

/* The open descriptors, as a bitmap of MAX_FDS bits, read with getdents64
 * (opendir would allocate); the descriptor used to read is left out. */
#define MAX_FDS 4096

static inline int read_fds(unsigned char *open_fds)
{
	static char buf[1 << 16];
	int dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY), fd;
	long n;

	if (dfd < 0)
		return -1;
	memset(open_fds, 0, MAX_FDS / 8);
	while ((n = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			off += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue;
			fd = atoi(d->d_name);
			if (fd != dfd && fd < MAX_FDS)
				open_fds[fd / 8] |= 1 << (fd % 8);
		}
	}
	close(dfd);
	return 0;
}

static inline int fd_is_set(const unsigned char *fds, int fd)
{
	return fd >= 0 && fd < MAX_FDS && (fds[fd / 8] >> (fd % 8)) & 1;
}

#endif
