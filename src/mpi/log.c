/* The log of the calls that made the application's MPI objects (log.h).
 *
 * Records are appended in the order the calls completed, whatever the
 * thread: each is [function index, length, arguments], 8-byte aligned, in
 * a buffer of the upper half (saved with the rank). Objects freed since
 * are replayed too (their frees are records as well): a later object may
 * have been made from them, and replaying in order gives every virtual
 * handle the real handle it has at the checkpoint. Before each image the
 * log drops the records of objects that are gone and that nothing live
 * was made from (mpi_log_compact; communicators as the ranks agree), so
 * that a program that makes and frees datatypes or communicators in a
 * loop keeps a log, image and replay the size of what it holds. Replaying the
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

#include "mpi/flight.h"
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
 * kinds than datatypes, groups, infos and communicators, hand-written
 * records, and followers of objects no record made are always needed
 * (and keep what they read). Handles are reused once freed, so each
 * record's reads are resolved to the producer of the object the handle
 * named at that point of the log.
 *
 * A record that makes a communicator is a collective: every member of
 * the communicator it was made from (its parent) has the same record,
 * and every one must replay it or none. So communicators are compacted
 * only in a job's checkpoint, where the ranks agree: such a record is
 * known to the job by an id, the same on every member (its parent's id,
 * and how many such records on that parent came before it: MPI has the
 * members make them in one order; MPI_COMM_WORLD's and MPI_COMM_SELF's
 * are their handles), and the ranks exchange the ids of those they need
 * until none needs one another dropped. One whose parent has no id (made
 * by MPI_Comm_create_group, whose members are a subgroup, by
 * MPI_Intercomm_create, by MPI_Comm_idup, or by a hand-written record) is
 * always needed, as are MPI_Comm_idup's records; while any rank holds a
 * distributed graph's record (hand-written: what it read is not
 * described), every such record is. */
#define REFS_MAX 64

struct crec {
	size_t off, size;
	int needed, follow; /* follow: the producer this record follows, or -1 */
	size_t dep0, ndep; /* its reads' producers, in deps[] */
	int coll; /* a collective that made a communicator, known by id */
	uint64_t id;
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

static int pinit(struct pmap *m)
{
	*m = (struct pmap){ mgrow(NULL, 0, 1024 * sizeof(uint64_t)), mgrow(NULL, 0, 1024 * sizeof(int)),
			    1024, 0 };
	return m->key && m->rec ? 0 : -1;
}

static void pdone(struct pmap *m)
{
	mfree(m->key, m->cap * sizeof(uint64_t));
	mfree(m->rec, m->cap * sizeof(int));
}

static int pset(struct pmap *m, int kind, int v, int rec)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct pmap b = { mgrow(NULL, 0, m->cap * 2 * sizeof(uint64_t)),
				  mgrow(NULL, 0, m->cap * 2 * sizeof(int)), m->cap * 2, 0 };
		if (!b.key || !b.rec) {
			pdone(&b);
			return -1;
		}
		for (size_t i = 0; i < m->cap; i++)
			if (m->key[i]) {
				size_t j = pslot(&b, m->key[i] - 1);
				b.key[j] = m->key[i];
				b.rec[j] = m->rec[i];
				b.n++;
			}
		pdone(m);
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

/* The set of the ids other ranks need, in a pmap (an id as kind and v). */
static int pset_id(struct pmap *m, uint64_t id)
{
	return pset(m, (int)(uint32_t)(id >> 32), (int)(uint32_t)id, 1);
}

static int pget_id(const struct pmap *m, uint64_t id)
{
	return pget(m, (int)(uint32_t)(id >> 32), (int)(uint32_t)id);
}

static int compactable_kind(int k, int dir, int job)
{
	return k == MK_DATATYPE || k == MK_GROUP || k == MK_INFO ||
	       (k == MK_COMM && (job || dir == LOG_IN)) || /* (MPI_Comm_group is local) */
	       (k == MK_ERRHANDLER && dir == LOG_IN); /* (MPI_Comm_set_errhandler) */
}

static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t h = a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b4e019ULL) * 0xc2b2ae3d27d4eb4fULL;
	return h ^ h >> 31;
}

struct compaction {
	struct crec *r;
	size_t n, rcap;
	int *deps;
	size_t ndeps, capdeps;
	struct pmap m; /* (kind, handle) -> producer */
	struct pmap ord; /* parent (producer, or predefined handle) -> its collectives so far */
	int unknown; /* a hand-written record: its reads are not known */
};

static int add_dep(struct compaction *C, int p)
{
	if (C->ndeps == C->capdeps) {
		size_t nc = C->capdeps ? C->capdeps * 2 : 4096;
		int *b = mgrow(C->deps, C->capdeps * sizeof(int), nc * sizeof(int));
		if (!b)
			return -1;
		C->deps = b;
		C->capdeps = nc;
	}
	C->deps[C->ndeps++] = p;
	C->r[C->n].ndep++;
	return 0;
}

/* A record that made a communicator from one parent: its id, or 0 with
 * the record needed (its parent has none). */
static void coll_id(struct compaction *C, struct crec *c, int fn, int parent, int comm_in)
{
	if (comm_in != 1 || fn == F_MPI_Comm_create_group) {
		c->needed = 1;
		return;
	}
	int pp = pget(&C->m, MK_COMM, parent);
	uint64_t base;
	if (pp >= 0 && C->r[pp].coll)
		base = C->r[pp].id;
	else if (pp < 0 && (parent == MPI_COMM_WORLD || parent == MPI_COMM_SELF))
		base = (uint32_t)parent;
	else {
		c->needed = 1;
		return;
	}
	int okind = pp >= 0 ? 1 : 2, ov = pp >= 0 ? pp : parent;
	int k = pget(&C->ord, okind, ov) + 1; /* (-1: none yet) */
	if (pset(&C->ord, okind, ov, k) < 0) {
		c->needed = 1;
		return;
	}
	c->coll = 1;
	/* (never 0, nor all ones: a pmap key is the id + 1, and 0 is none) */
	c->id = (mix(base, (uint64_t)k) | 1) & ~(1ULL << 63);
}

/* 1 above: each record's reads' producers, what it makes or follows. */
static int describe(struct compaction *C, int job)
{
	struct mpi_log_ref o[REFS_MAX];

	for (size_t off = 0; off + 8 <= len;) {
		uint32_t head[2];
		memcpy(head, buf + off, sizeof(head));
		if (head[1] < 8 || off + head[1] > len)
			return -1;
		if (C->n == C->rcap) {
			size_t nc = C->rcap ? C->rcap * 2 : 1024;
			struct crec *b = mgrow(C->r, C->rcap * sizeof(*b), nc * sizeof(*b));
			if (!b)
				return -1;
			C->r = b;
			C->rcap = nc;
		}
		struct crec *c = &C->r[C->n];
		*c = (struct crec){ off, head[1], 0, -1, C->ndeps, 0, 0, 0 };
		struct mpi_log_reader R = { buf + off + 8, buf + off + head[1], 0 };
		int k = mpi_log_refs((int)head[0], &R, o, REFS_MAX), outs = 0;
		int comm_in = 0, comm_out = 0, parent = 0;
		if (k < 0 && head[0] == F_MPI_Comm_idup) {
			/* (comm, newcomm, request): kept, with its parent, and
			 * not one the ranks agree on (one some rank has not
			 * started is in the others' logs only: extra.c) */
			int cn[2] = { 0, 0 };
			mpi_log_get(&R, &cn[0], sizeof(int));
			mpi_log_get(&R, &cn[1], sizeof(int));
			int p = pget(&C->m, MK_COMM, cn[0]);
			if (job && (mpi_log_bad(&R) || (p >= 0 && add_dep(C, p) < 0) ||
				    pset(&C->m, MK_COMM, cn[1], (int)C->n) < 0))
				return -1;
			c->needed = 1;
			k = 0;
		} else if (k < 0) {
			c->needed = 1; /* hand-written */
			/* (keyvals, ops and error handlers read no object) */
			C->unknown |= head[0] == F_MPI_Dist_graph_create ||
				      head[0] == F_MPI_Dist_graph_create_adjacent;
		}
		for (int i = 0; i < k; i++) {
			if (!compactable_kind(o[i].kind, o[i].dir, job)) {
				c->needed = 1;
				o[i].kind = -1; /* not followed below */
				continue;
			}
			outs += o[i].dir == LOG_OUT;
			if (o[i].kind == MK_COMM && o[i].dir == LOG_IN && !comm_in++)
				parent = o[i].v;
			comm_out += o[i].kind == MK_COMM && o[i].dir == LOG_OUT;
		}
		if (comm_out)
			coll_id(C, c, (int)head[0], parent, comm_in);
		for (int i = 0; i < k; i++) {
			if (o[i].kind < 0 || o[i].dir == LOG_OUT)
				continue;
			int p = pget(&C->m, o[i].kind, o[i].v);
			if (!c->needed && !outs && c->follow < 0 && (o[i].dir == LOG_INOUT || i == 0)) {
				/* the object it changes or frees */
				c->follow = p;
				c->needed |= p < 0;
				continue;
			}
			if (p >= 0 && add_dep(C, p) < 0)
				return -1;
		}
		for (int i = 0; i < k; i++)
			if (o[i].kind >= 0 && o[i].dir == LOG_OUT && pset(&C->m, o[i].kind, o[i].v, (int)C->n) < 0)
				return -1;
		C->n++;
		off += head[1];
	}
	return 0;
}

/* 2 above: needed records keep their producers, followers their needed
 * producers, to a fixpoint. */
static void settle(struct compaction *C)
{
	for (int changed = 1; changed;) {
		changed = 0;
		for (size_t i = C->n; i-- > 0;)
			if (C->r[i].needed)
				for (size_t d = 0; d < C->r[i].ndep; d++)
					C->r[C->deps[C->r[i].dep0 + d]].needed = 1;
		for (size_t i = 0; i < C->n; i++)
			if (!C->r[i].needed && C->r[i].follow >= 0 && C->r[C->r[i].follow].needed)
				changed = C->r[i].needed = 1;
	}
}

static int allreduce_max(int mine, int *all)
{
	MPI_Request r;
	long t = cross_enter();
	int rc = MPI_FN(MPI_Iallreduce)(&mine, all, 1, MPI_INT, MPI_MAX, fl_ctl, &r);
	cross_leave(t);
	return fl_ctl_wait(rc, &r);
}

/* Every rank's needed collectives' ids, in *all (malloc'd): their number,
 * or -1. */
static long gather_ids(const uint64_t *mine, int n, uint64_t **all)
{
	int *counts = calloc((size_t)fl_size, sizeof(int)), *displs = calloc((size_t)fl_size, sizeof(int));
	long total = -1;
	*all = NULL;
	if (!counts || !displs)
		goto out;
	MPI_Request r;
	long t = cross_enter();
	int rc = MPI_FN(MPI_Iallgather)(&n, 1, MPI_INT, counts, 1, MPI_INT, fl_ctl, &r);
	cross_leave(t);
	rc = fl_ctl_wait(rc, &r);
	if (rc != MPI_SUCCESS)
		goto out;
	long sum = 0;
	for (int i = 0; i < fl_size; i++) {
		displs[i] = (int)sum;
		sum += counts[i];
	}
	*all = malloc(sizeof(uint64_t) * (size_t)(sum ? sum : 1));
	if (!*all || sum > 0x7fffffff)
		goto out;
	t = cross_enter();
	rc = MPI_FN(MPI_Iallgatherv)(mine, n, MPI_UINT64_T, *all, counts, displs, MPI_UINT64_T, fl_ctl,
				     &r);
	cross_leave(t);
	rc = fl_ctl_wait(rc, &r);
	if (rc == MPI_SUCCESS)
		total = sum;
out:
	free(counts);
	free(displs);
	return total;
}

/* The ranks agree on the collectives that made communicators: a record
 * another rank needs is needed here too; rounds until no rank has
 * changed. keep_all: every one is needed (a rank could not tell). 0, or
 * -1 (every rank keeps every one then: the calls are collective). */
static int agree(struct compaction *C, int keep_all)
{
	int any = 0;
	if (allreduce_max(keep_all || C->unknown, &any) != MPI_SUCCESS)
		return -1;
	for (size_t i = 0; i < C->n; i++)
		C->r[i].needed |= any && C->r[i].coll;
	settle(C);
	if (any)
		return 0;
	for (;;) {
		size_t nmine = 0;
		for (size_t i = 0; i < C->n; i++)
			nmine += C->r[i].coll && C->r[i].needed;
		uint64_t *mine = malloc(sizeof(uint64_t) * (nmine ? nmine : 1)), *all = NULL;
		if (!mine)
			return -1;
		nmine = 0;
		for (size_t i = 0; i < C->n; i++)
			if (C->r[i].coll && C->r[i].needed)
				mine[nmine++] = C->r[i].id;
		long nall = nmine > 0x7fffffff ? -1 : gather_ids(mine, (int)nmine, &all);
		free(mine);
		struct pmap set;
		int ok = nall >= 0 && pinit(&set) == 0, changed = 0;
		for (long i = 0; ok && i < nall; i++)
			ok = pset_id(&set, all[i]) == 0;
		for (size_t i = 0; ok && i < C->n; i++)
			if (C->r[i].coll && !C->r[i].needed && pget_id(&set, C->r[i].id) >= 0)
				changed = C->r[i].needed = 1;
		free(all);
		if (nall >= 0)
			pdone(&set);
		if (changed)
			settle(C);
		if (allreduce_max(!ok ? 2 : changed, &any) != MPI_SUCCESS || any == 2) {
			for (size_t i = 0; i < C->n; i++)
				C->r[i].needed |= C->r[i].coll;
			settle(C);
			return any == 2 ? 0 : -1;
		}
		if (!any)
			return 0;
	}
}

static size_t last_compacted; /* the log's length after the last compaction */

void mpi_log_compact(int job)
{
	pthread_mutex_lock(&lock);
	int want = !oom && len >= 4096 && len >= last_compacted + last_compacted / 4, any = want;
	/* (in a job every rank takes part in the agreement, or none) */
	if (job && allreduce_max(want, &any) != MPI_SUCCESS)
		any = 0;
	if (!any) {
		pthread_mutex_unlock(&lock);
		return;
	}
	struct compaction C;
	memset(&C, 0, sizeof(C));
	int fail = pinit(&C.m) < 0 || pinit(&C.ord) < 0 || describe(&C, job) < 0;
	/* 2. live objects keep their producers; then to a fixpoint */
	for (size_t i = 0; !fail && i < C.m.cap; i++)
		if (C.m.key[i]) {
			uint64_t key = C.m.key[i] - 1;
			if (h_live((int)(key >> 32), (int)(uint32_t)key))
				C.r[C.m.rec[i]].needed = 1;
		}
	if (!fail)
		settle(&C);
	/* (a rank that could not describe its log keeps it whole) */
	if (job && agree(&C, fail) < 0)
		fail = 1;
	/* 3. the needed records, in order */
	if (!fail) {
		size_t to = 0;
		for (size_t i = 0; i < C.n; i++) {
			if (!C.r[i].needed)
				continue;
			memmove(buf + to, buf + C.r[i].off, C.r[i].size);
			to += C.r[i].size;
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
	mfree(C.r, C.rcap * sizeof(*C.r));
	mfree(C.deps, C.capdeps * sizeof(*C.deps));
	pdone(&C.m);
	pdone(&C.ord);
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
