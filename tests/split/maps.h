/*
 * /proc/self/maps and /proc/self/fd for the split tests, read without
 * touching the heap (so that reading them does not map anything new).
 */
#ifndef SPLIT_TEST_MAPS_H
#define SPLIT_TEST_MAPS_H

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "split/split.h"

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

static inline int in_window(unsigned long a, unsigned long b)
{
	return split_in_window(a, b - a);
}

/* Every part of AFTER's mappings that BEFORE did not cover must lie in the
 * window; so must every mapping of a file only the lower half uses. */
static inline int maps_confined(const struct maps *before,
				const struct maps *after,
				const char *lower_path)
{
	int bad = 0;

	for (int i = 0; i < after->n; i++) {
		const struct mapping *m = &after->m[i];
		unsigned long a = m->start;
		for (int j = 0; j < before->n && a < m->end; j++) {
			const struct mapping *o = &before->m[j];
			if (o->end <= a || o->start >= m->end)
				continue;
			if (o->start > a && !in_window(a, o->start)) {
				printf("    new, outside the window: %lx-%lx %s\n",
				       a, o->start, m->path);
				bad = 1;
			}
			a = o->end;
		}
		if (a < m->end && !in_window(a, m->end)) {
			printf("    new, outside the window: %lx-%lx %s\n", a,
			       m->end, m->path);
			bad = 1;
		}
		if (!strcmp(m->path, lower_path) &&
		    !in_window(m->start, m->end)) {
			printf("    the helper outside the window: %lx-%lx\n",
			       m->start, m->end);
			bad = 1;
		}
	}
	return !bad;
}

/* Does the window hold a mapping of a file whose name contains NAME? */
static inline int window_has(const struct maps *mp, const char *name)
{
	for (int i = 0; i < mp->n; i++)
		if (strstr(mp->m[i].path, name) &&
		    in_window(mp->m[i].start, mp->m[i].end))
			return 1;
	return 0;
}

/* Lower-half calls run on the calling thread's stack, and MPI's frames are
 * deep: grow the main stack beforehand, so that the upper half's own stack
 * growing does not show up as a new mapping. */
static __attribute__((noinline, unused)) void grow_stack(void)
{
	volatile char pad[512 << 10];

	for (size_t i = 0; i < sizeof(pad); i += 4096)
		pad[i] = 1;
}

/* Is a file whose name contains NAME mapped outside the window? */
static inline int outside_has(const struct maps *mp, const char *name)
{
	for (int i = 0; i < mp->n; i++)
		if (strstr(mp->m[i].path, name) &&
		    !in_window(mp->m[i].start, mp->m[i].end))
			return 1;
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
