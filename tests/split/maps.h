/*
 * Where the split tests' mappings are: tests/lib/procmaps.h reads them,
 * this says which lie in the window.
 */
#ifndef SPLIT_TEST_MAPS_H
#define SPLIT_TEST_MAPS_H

#include "../lib/procmaps.h"
#include "split/split.h"

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

#endif
