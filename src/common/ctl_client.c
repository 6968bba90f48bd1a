/*
 * The requester's side of the control channel (ctl_client.h).
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/ctl_client.h"

static int proc_owner(pid_t pid, uid_t *uid, char *comm, size_t clen)
{
	char path[64], buf[4096];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	*uid = (uid_t)-1;
	comm[0] = 0;
	while (fgets(buf, sizeof(buf), f)) {
		if (strncmp(buf, "Uid:", 4) == 0)
			*uid = (uid_t)strtoul(buf + 4, NULL, 10);
		if (strncmp(buf, "Name:", 5) == 0) {
			snprintf(comm, clen, "%.63s", buf + 6);
			comm[strcspn(comm, "\n")] = 0;
		}
	}
	fclose(f);
	return 0;
}

/* Fields of /proc/PID/stat after the command name: state, ppid, pgrp,
 * session. */
static int proc_stat(pid_t pid, char *state, pid_t *ppid, pid_t *pgrp, pid_t *sid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	int ok = -1;

	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f)) {
		char *p = strrchr(buf, ')');
		int a, b, c;
		if (p && sscanf(p + 1, " %c %d %d %d", state, &a, &b, &c) == 4) {
			*ppid = a;
			*pgrp = b;
			*sid = c;
			ok = 0;
		}
	}
	fclose(f);
	return ok;
}

char proc_state(pid_t pid)
{
	char st;
	pid_t a, b, c;
	return proc_stat(pid, &st, &a, &b, &c) < 0 ? 0 : st;
}

int proc_gone(pid_t pid)
{
	char st = proc_state(pid);
	return st == 0 || st == 'Z' || st == 'X';
}

int proc_scope(int scope, pid_t target, pid_t *out, int max)
{
	int n = 0;

	if (scope == 0) {
		if (proc_gone(target)) {
			errno = ESRCH;
			return -1;
		}
		if (max > 0)
			out[0] = target;
		return 1;
	}
	/* one pass over /proc; a tree needs the parent links, so keep them */
	size_t cap = 1024, np = 0;
	pid_t(*all)[2] = malloc(cap * sizeof(*all));
	DIR *d = opendir("/proc");
	struct dirent *e;
	if (!d || !all) {
		free(all);
		if (d)
			closedir(d);
		return -1;
	}
	while ((e = readdir(d))) {
		char *end;
		long v = strtol(e->d_name, &end, 10);
		char st;
		pid_t ppid, pgrp, sid;
		if (*end || v <= 0 || proc_stat((pid_t)v, &st, &ppid, &pgrp, &sid) < 0 || st == 'Z' ||
		    st == 'X')
			continue;
		if (scope == 1 || scope == 2) {
			if ((scope == 1 ? pgrp : sid) == target) {
				if (n < max)
					out[n] = (pid_t)v;
				n++;
			}
			continue;
		}
		if (np == cap) {
			cap *= 2;
			void *p = realloc(all, cap * sizeof(*all));
			if (!p)
				break;
			all = p;
		}
		all[np][0] = (pid_t)v;
		all[np][1] = ppid;
		np++;
	}
	closedir(d);
	if (scope == 3) {
		/* breadth first from target over the parent links */
		pid_t *q = malloc((np + 1) * sizeof(*q));
		size_t qn = 0;
		int found = 0;
		for (size_t i = 0; i < np; i++)
			if (all[i][0] == target)
				found = 1;
		if (q && found) {
			q[qn++] = target;
			for (size_t h = 0; h < qn; h++)
				for (size_t i = 0; i < np; i++)
					if (all[i][1] == q[h] && all[i][0] != target)
						q[qn++] = all[i][0];
			for (size_t i = 0; i < qn; i++) {
				if (n < max)
					out[n] = q[i];
				n++;
			}
		}
		free(q);
	}
	free(all);
	if (n == 0)
		errno = ESRCH;
	return n ? n : -1;
}

#define SAY(...) snprintf(msg, len, __VA_ARGS__)

int ctl_send(struct ctl_call *c, char *msg, size_t len)
{
	char dir[256];
	struct sockaddr_un sa;
	struct stat st;
	pid_t pid = c->pid;

	c->sock = -1;
	if (pid <= 0 || proc_owner(pid, &c->uid, c->comm, sizeof(c->comm)) < 0) {
		SAY("there is no process with PID %d", (int)pid);
		errno = ESRCH;
		return -1;
	}
	char state = proc_state(pid);
	if (state == 'Z' || state == 'X' || state == 0) {
		SAY("process %d (%s) has exited", (int)pid, c->comm);
		errno = ESRCH;
		return -1;
	}
	ctl_rundir(c->uid, dir, sizeof(dir));
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		if (errno == EACCES && c->uid != getuid() && getuid() != 0)
			goto other_user;
		goto not_cairn;
	}
	if (st.st_uid != c->uid || (st.st_mode & 0077)) {
		SAY("control directory %s is not private to user %u; refusing to use it", dir,
		    (unsigned)c->uid);
		errno = EPERM;
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%d", dir, (int)pid) >=
	    sizeof(sa.sun_path)) {
		SAY("control directory %s is too long a path", dir);
		errno = ENAMETOOLONG;
		return -1;
	}
	if (lstat(sa.sun_path, &st) < 0 && (errno == EACCES || errno == EPERM))
		goto other_user;
	if (lstat(sa.sun_path, &st) < 0 || !S_ISSOCK(st.st_mode))
		goto not_cairn;
	if (state == 'T' || state == 't') {
		SAY("process %d (%s) is stopped; its runtime cannot answer until it is "
		    "continued (kill -CONT %d)",
		    (int)pid, c->comm, (int)pid);
		errno = EAGAIN;
		return -1;
	}
	c->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->sock < 0 || connect(c->sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		ctl_close(c);
		if (e == EACCES || e == EPERM)
			goto other_user;
		goto not_cairn;
	}
	c->req.magic = CTL_MAGIC;
	c->req.version = CTL_VERSION;
	struct iovec iov = {&c->req, sizeof(c->req)};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	if (c->req.flags & CTL_FD) {
		memset(&u, 0, sizeof(u));
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		struct cmsghdr *h = CMSG_FIRSTHDR(&m);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(h), &c->image_fd, sizeof(int));
	}
	ssize_t n = sendmsg(c->sock, &m, MSG_NOSIGNAL);
	if (n != (ssize_t)sizeof(c->req)) {
		SAY("cannot talk to process %d: %s", (int)pid, n < 0 ? strerror(errno) : "short write");
		ctl_close(c);
		errno = EIO;
		return -1;
	}
	return 0;

other_user:
	SAY("you may not checkpoint process %d (%s): it belongs to user %u", (int)pid, c->comm,
	    (unsigned)c->uid);
	errno = EPERM;
	return -1;
not_cairn:
	SAY("process %d (%s) is not running under cairn (start it with 'cairn run')", (int)pid,
	    c->comm);
	errno = ENOTSUP;
	return -1;
}

int ctl_wait(struct ctl_call *c, int timeout_ms, struct ctl_reply *rep, char *msg, size_t len)
{
	size_t got = 0;
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (got < sizeof(*rep)) {
		int wait = -1;
		if (timeout_ms >= 0) {
			struct timespec t;
			clock_gettime(CLOCK_MONOTONIC, &t);
			long el = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
			wait = el >= timeout_ms ? 0 : (int)(timeout_ms - el);
		}
		struct pollfd p = {.fd = c->sock, .events = POLLIN};
		int r = poll(&p, 1, wait);
		if (r < 0) {
			if (errno == EINTR)
				return -1;
			break;
		}
		if (r == 0) {
			SAY("process %d did not finish its checkpoint in time", (int)c->pid);
			errno = ETIMEDOUT;
			return -1;
		}
		ssize_t n = recv(c->sock, (char *)rep + got, sizeof(*rep) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < sizeof(*rep) || rep->magic != CTL_MAGIC) {
		SAY("process %d ended or stopped answering during the checkpoint", (int)c->pid);
		errno = EPIPE;
		return -1;
	}
	rep->msg[sizeof(rep->msg) - 1] = 0;
	return 0;
}

void ctl_close(struct ctl_call *c)
{
	if (c->sock >= 0)
		close(c->sock);
	c->sock = -1;
}
