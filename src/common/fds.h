/*
 * What `cairn run` (and cr_run, and a program linked with -lcr started
 * directly) does with the descriptors it inherits.
 */
#ifndef CAIRN_COMMON_FDS_H
#define CAIRN_COMMON_FDS_H

/* Closes inherited descriptors above 2 that no checkpoint could save
 * (pipes, sockets and the like, whose other end is another process), so
 * that they cannot make every checkpoint fail. */
void close_unsaveable(void);

/* The same descriptors, listed instead (up to max; returns how many). */
int list_unsaveable(int *fds, int max);

#endif
