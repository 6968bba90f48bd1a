/* The log of the calls that made the application's MPI objects (log.h).
 *
 * Records are appended in the order the calls completed, whatever the
 * thread: each is [function index, length, arguments], 8-byte aligned, in
 * a buffer of the upper half (saved with the rank). Objects freed since
 * are replayed too (their frees are records as well): a later object may
 * have been made from them, and replaying in order gives every virtual
 * handle the real handle it has at the checkpoint. Before each image the
 * log drops the records of local objects that are gone and that nothing
 * live was made from (mpi_log_compact), so that a program that makes and
 * frees datatypes in a loop keeps a log, image and replay the size of
 * what it holds. Replaying the
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
#include <sys/mman.h>

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

/* The log's buffer and the compaction's tables are mapped on their own,
 * so that what a compaction gives back leaves the process (and its
 * images): heap memory would stay in its arena (the compaction runs on
 * the manager thread), and in every image after. */
static void *mgrow(void *p, size_t old, size_t n)
{
	void *b = p ? mremap(p, old, n, MREMAP_MAYMOVE)
		    : mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return b == MAP_FAILED ? NULL : b;
}

static void mfree(void *p, size_t n)
{
	if (p)
		munmap(p, n);
}

static void grow(size_t n)
{
	if (len + n <= cap || oom)
		return;
	size_t c = cap ? cap : 65536;
	while (c < len + n)
		c *= 2;
	uint8_t *b = mgrow(buf, cap, c);
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

/* The compaction (mpi_log_compact). A record that makes objects
 * (outputs) is a producer: needed if one of the objects it made is live,
 * or if a needed record read one. A record that only changes or frees an
 * object (MPI_Type_commit, MPI_Type_free, MPI_Info_set...) follows the
 * producer of that object: needed if it is. Records that name other
 * kinds than datatypes, groups and infos (communicators, but for one only
 * read, as by MPI_Comm_group: the records that make or free them are
 * collective, and every rank must replay the same ones), hand-written
 * records, and followers of objects no record made are always needed.
 * Handles are reused once freed, so each record's reads are resolved to
 * the producer of the object the handle named at that point of the log. */
#define REFS_MAX 64

struct crec {
	size_t off, size;
	int needed, follow; /* follow: the producer this record follows, or -1 */
	size_t dep0, ndep; /* its reads' producers, in deps[] */
};

struct pmap { /* (kind, handle) -> the record that made it last */
	uint64_t *key;
	int *rec;
	size_t cap, n;
};

static uint64_t pkey(int kind, int v)
{
	return ((uint64_t)(unsigned)kind << 32) | (unsigned)v;
}

static size_t pslot(const struct pmap *m, uint64_t k)
{
	size_t i = (size_t)((k * 0x9e3779b97f4a7c15ULL) >> 20) & (m->cap - 1);
	while (m->key[i] && m->key[i] != k + 1)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static int pget(const struct pmap *m, int kind, int v)
{
	size_t i = pslot(m, pkey(kind, v));
	return m->key[i] ? m->rec[i] : -1;
}

static int pset(struct pmap *m, int kind, int v, int rec)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct pmap b = { mgrow(NULL, 0, m->cap * 2 * sizeof(uint64_t)),
				  mgrow(NULL, 0, m->cap * 2 * sizeof(int)), m->cap * 2, 0 };
		if (!b.key || !b.rec) {
			mfree(b.key, b.cap * sizeof(uint64_t));
			mfree(b.rec, b.cap * sizeof(int));
			return -1;
		}
		for (size_t i = 0; i < m->cap; i++)
			if (m->key[i]) {
				size_t j = pslot(&b, m->key[i] - 1);
				b.key[j] = m->key[i];
				b.rec[j] = m->rec[i];
				b.n++;
			}
		mfree(m->key, m->cap * sizeof(uint64_t));
		mfree(m->rec, m->cap * sizeof(int));
		*m = b;
	}
	size_t i = pslot(m, pkey(kind, v));
	if (!m->key[i]) {
		m->key[i] = pkey(kind, v) + 1;
		m->n++;
	}
	m->rec[i] = rec;
	return 0;
}

static int compactable_kind(int k)
{
	return k == MK_DATATYPE || k == MK_GROUP || k == MK_INFO;
}

static size_t last_compacted; /* the log's length after the last compaction */

void mpi_log_compact(void)
{
	pthread_mutex_lock(&lock);
	if (oom || len < 4096 || len < last_compacted + last_compacted / 4) {
		pthread_mutex_unlock(&lock);
		return;
	}
	size_t n = 0, rcap = 0, ndeps = 0, capdeps = 0;
	struct crec *r = NULL;
	int *deps = NULL;
	struct pmap m = { mgrow(NULL, 0, 1024 * sizeof(uint64_t)), mgrow(NULL, 0, 1024 * sizeof(int)),
			  1024, 0 };
	struct mpi_log_ref o[REFS_MAX];
	int fail = !m.key || !m.rec;

	/* 1. each record: its reads' producers; what it makes or follows */
	for (size_t off = 0; !fail && off + 8 <= len;) {
		uint32_t head[2];
		memcpy(head, buf + off, sizeof(head));
		if (head[1] < 8 || off + head[1] > len) {
			fail = 1;
			break;
		}
		if (n == rcap) {
			struct crec *b = mgrow(r, rcap * sizeof(*r), (rcap ? rcap * 2 : 1024) * sizeof(*r));
			if (!b) {
				fail = 1;
				break;
			}
			r = b;
			rcap = rcap ? rcap * 2 : 1024;
		}
		struct crec *c = &r[n];
		*c = (struct crec){ off, head[1], 0, -1, ndeps, 0 };
		struct mpi_log_reader R = { buf + off + 8, buf + off + head[1], 0 };
		int k = mpi_log_refs((int)head[0], &R, o, REFS_MAX), outs = 0;
		for (int i = 0; i < k; i++) {
			/* (a communicator only read: MPI_Comm_group is local) */
			if (!compactable_kind(o[i].kind) && !(o[i].kind == MK_COMM && o[i].dir == LOG_IN))
				k = -1;
			else
				outs += o[i].dir == LOG_OUT;
		}
		c->needed = k < 0;
		for (int i = 0; i < k && !fail; i++) {
			int p = pget(&m, o[i].kind, o[i].v);
			if (o[i].dir == LOG_OUT)
				continue;
			if (!outs && c->follow < 0 && (o[i].dir == LOG_INOUT || i == 0)) {
				/* the object it changes or frees */
				c->follow = p;
				c->needed |= p < 0;
				continue;
			}
			if (p < 0)
				continue;
			if (ndeps == capdeps) {
				int *b = mgrow(deps, capdeps * sizeof(*deps),
					       (capdeps ? capdeps * 2 : 4096) * sizeof(*deps));
				if (!b) {
					fail = 1;
					break;
				}
				deps = b;
				capdeps = capdeps ? capdeps * 2 : 4096;
			}
			deps[ndeps++] = p;
			c->ndep++;
		}
		for (int i = 0; i < k && !fail; i++)
			if (o[i].dir == LOG_OUT && pset(&m, o[i].kind, o[i].v, (int)n) < 0)
				fail = 1;
		/* a record that cannot be described keeps whatever it names */
		n++;
		off += head[1];
	}
	/* 2. live objects keep their producers; then to a fixpoint */
	for (size_t i = 0; !fail && i < m.cap; i++)
		if (m.key[i]) {
			uint64_t key = m.key[i] - 1;
			if (h_live((int)(key >> 32), (int)(uint32_t)key))
				r[m.rec[i]].needed = 1;
		}
	for (int changed = 1; !fail && changed;) {
		changed = 0;
		for (size_t i = n; i-- > 0;)
			if (r[i].needed)
				for (size_t d = 0; d < r[i].ndep; d++)
					r[deps[r[i].dep0 + d]].needed = 1;
		for (size_t i = 0; i < n; i++)
			if (!r[i].needed && r[i].follow >= 0 && r[r[i].follow].needed)
				changed = r[i].needed = 1;
	}
	/* 3. the needed records, in order */
	if (!fail) {
		size_t to = 0;
		for (size_t i = 0; i < n; i++) {
			if (!r[i].needed)
				continue;
			memmove(buf + to, buf + r[i].off, r[i].size);
			to += r[i].size;
		}
		len = to;
		last_compacted = len;
		/* give back what the records that are gone took */
		size_t c = 65536;
		while (c < len * 2)
			c *= 2;
		uint8_t *b = c < cap / 2 ? mgrow(buf, cap, c) : NULL;
		if (b) {
			buf = b;
			cap = c;
		}
	}
	mfree(r, rcap * sizeof(*r));
	mfree(deps, capdeps * sizeof(*deps));
	mfree(m.key, m.cap * sizeof(uint64_t));
	mfree(m.rec, m.cap * sizeof(int));
	pthread_mutex_unlock(&lock);
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
		int rc = MPI_SUCCESS;
		if (head[0] != F_MPI_Comm_idup && mpi_idup_pending(0)) {
			/* a communicator MPI_Comm_idup makes must be complete before
			 * a record names it (any, for a record not described) */
			struct mpi_log_ref o[REFS_MAX];
			struct mpi_log_reader R2 = R;
			int k = mpi_log_refs((int)head[0], &R2, o, REFS_MAX), need = k < 0;
			for (int i = 0; i < k && !need; i++)
				need = o[i].kind == MK_COMM && mpi_idup_pending(o[i].v);
			if (need)
				rc = mpi_idup_wait_all();
		}
		if (rc == MPI_SUCCESS)
			rc = mpi_log_replay_one((int)head[0], &R);
		if (rc != MPI_SUCCESS) {
			snprintf(msg, mlen, "remaking MPI object %d (%s) in the new lower half failed (%d)",
				 n, head[0] < MPI_FN_COUNT ? mpi_fn_names[head[0]] + 1 : "?", rc);
			mpi_replaying = 0;
			return -1;
		}
		off += head[1];
		n++;
	}
	int rc = mpi_idup_wait_all();
	mpi_replaying = 0;
	if (rc != MPI_SUCCESS) {
		snprintf(msg, mlen, "remaking a communicator from MPI_Comm_idup failed (%d)", rc);
		return -1;
	}
	return 0;
}
