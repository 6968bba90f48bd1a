/* The log of the calls that made the application's MPI objects (log.h).
 *
 * Records are appended in the order the calls completed, whatever the
 * thread: each is [function index, length, arguments], 8-byte aligned, in
 * a buffer of the upper half (saved with the rank). Objects freed since
 * are replayed too (their frees are records as well): a later object may
 * have been made from them, and replaying in order gives every virtual
 * handle the real handle it has at the checkpoint. Replaying the
 * collective ones (MPI_Comm_dup, MPI_Comm_split...) is collective: every
 * rank replays its own log, in which they come in the order the ranks
 * called them, which the native run proved to be deadlock-free.
 *
 * Info arguments are replayed as MPI_INFO_NULL (hints; info objects are
 * not rebuilt).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/log.h"
#include "mpi/upper.h"

struct mpi_log_rec {
	size_t start; /* of the record's header */
};

struct mpi_log_reader {
	const uint8_t *p, *end;
	int bad;
};

static uint8_t *buf;
static size_t len, cap;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct mpi_log_rec cur;
static int oom;

static void grow(size_t n)
{
	if (len + n <= cap || oom)
		return;
	size_t c = cap ? cap : 4096;
	while (c < len + n)
		c *= 2;
	uint8_t *b = realloc(buf, c);
	if (!b) {
		oom = 1; /* the checkpoint will refuse (mpi_log_usable) */
		return;
	}
	buf = b;
	cap = c;
}

static void put(const void *p, size_t n)
{
	grow(n);
	if (oom)
		return;
	memcpy(buf + len, p, n);
	len += n;
}

static void align8(void)
{
	static const uint8_t zero[8];
	if (len & 7)
		put(zero, 8 - (len & 7));
}

struct mpi_log_rec *mpi_log_begin(int fn)
{
	uint32_t head[2] = { (uint32_t)fn, 0 };

	pthread_mutex_lock(&lock);
	cur.start = len;
	put(head, sizeof(head));
	return &cur;
}

void mpi_log_put(struct mpi_log_rec *L, const void *p, size_t n)
{
	(void)L;
	put(p, n);
	align8();
}

void mpi_log_array(struct mpi_log_rec *L, const void *p, size_t n)
{
	uint64_t n64 = p ? n : 0;
	(void)L;
	put(&n64, sizeof(n64));
	if (n64)
		put(p, n);
	align8();
}

void mpi_log_str(struct mpi_log_rec *L, const char *s)
{
	mpi_log_array(L, s, s ? strlen(s) + 1 : 0);
}

void mpi_log_end(struct mpi_log_rec *L)
{
	if (!oom) {
		uint32_t n = (uint32_t)(len - L->start);
		memcpy(buf + L->start + 4, &n, sizeof(n));
	}
	pthread_mutex_unlock(&lock);
}

void mpi_log_get(struct mpi_log_reader *R, void *p, size_t n)
{
	size_t step = (n + 7) & ~(size_t)7;
	if (R->bad || (size_t)(R->end - R->p) < step) {
		R->bad = 1;
		memset(p, 0, n);
		return;
	}
	memcpy(p, R->p, n);
	R->p += step;
}

const void *mpi_log_get_array(struct mpi_log_reader *R, size_t *n)
{
	uint64_t n64 = 0;
	mpi_log_get(R, &n64, sizeof(n64));
	size_t step = (n64 + 7) & ~(uint64_t)7;
	if (n)
		*n = (size_t)n64;
	if (R->bad || (uint64_t)(R->end - R->p) < step) {
		R->bad = 1;
		return NULL;
	}
	const void *p = n64 ? R->p : NULL;
	R->p += step;
	return p;
}

const char *mpi_log_get_str(struct mpi_log_reader *R)
{
	size_t n = 0;
	const char *s = mpi_log_get_array(R, &n);
	if (s && (n == 0 || s[n - 1] != 0)) {
		R->bad = 1;
		return NULL;
	}
	return s;
}

int mpi_log_bad(const struct mpi_log_reader *R)
{
	return R->bad;
}

int mpi_log_usable(void)
{
	return !oom;
}

int mpi_replaying;

int mpi_log_replay(char *msg, size_t mlen)
{
	size_t off = 0;
	int n = 0;

	mpi_replaying = 1;
	while (off + 8 <= len) {
		uint32_t head[2];
		memcpy(head, buf + off, sizeof(head));
		if (head[1] < 8 || off + head[1] > len) {
			snprintf(msg, mlen, "the log of MPI objects is damaged at record %d", n);
			mpi_replaying = 0;
			return -1;
		}
		struct mpi_log_reader R = { buf + off + 8, buf + off + head[1], 0 };
		int rc = mpi_log_replay_one((int)head[0], &R);
		if (rc != MPI_SUCCESS) {
			snprintf(msg, mlen, "remaking MPI object %d (%s) in the new lower half failed (%d)",
				 n, head[0] < MPI_FN_COUNT ? mpi_fn_names[head[0]] + 1 : "?", rc);
			mpi_replaying = 0;
			return -1;
		}
		off += head[1];
		n++;
	}
	mpi_replaying = 0;
	return 0;
}
