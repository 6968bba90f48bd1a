/* One-sided windows: every creation flavor, every access and
 * synchronization mode, attributes with callbacks, error handlers. Memory
 * MPI allocates for windows must be the upper half's: outside the lower
 * half's window (checked when cairn's library is loaded). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>

#include "report.h"

static int rank, size;
static __thread int tls_mark;

/* Memory given by MPI lies outside the lower half (under cairn's split). */
static int outside_lower(const void *p)
{
	int (*win)(unsigned long *, unsigned long *) =
		(int (*)(unsigned long *, unsigned long *))dlsym(RTLD_DEFAULT, "cairn_mpi_lower_window");
	unsigned long b, s;
	if (!win || win(&b, &s) != 0)
		return 1;
	return (uintptr_t)p < b || (uintptr_t)p >= b + s;
}

static MPI_Win seen_win;
static int copies, deletes, eh_calls, eh_code, tls_ok = 1;

static int win_copy(MPI_Win w, int kv, void *extra, void *in, void *out, int *flag)
{
	copies++;
	*flag = 0;
	return MPI_SUCCESS;
}

static int win_delete(MPI_Win w, int kv, void *val, void *extra)
{
	deletes++;
	seen_win = w;
	tls_ok &= tls_mark == 1000 + rank;
	*(int *)extra += *(int *)val;
	return MPI_SUCCESS;
}

static void win_eh(MPI_Win *w, int *code, ...)
{
	eh_calls++;
	eh_code = *code;
	seen_win = *w;
	tls_ok &= tls_mark == 1000 + rank;
}

static void flavor(MPI_Win w, int want, const char *what)
{
	int *f, flag = 0;
	MPI_Win_get_attr(w, MPI_WIN_CREATE_FLAVOR, &f, &flag);
	CHECK(flag && *f == want, "%s: flavor %d, want %d", what, flag ? *f : -1, want);
}

int main(int argc, char **argv)
{
	int i;
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	tls_mark = 1000 + rank;
	int right = (rank + 1) % size, left = (rank + size - 1) % size;

	/* --- MPI_Win_create, fence: put, get, accumulate --- */
	int mem[8], got[8];
	for (i = 0; i < 8; i++)
		mem[i] = rank * 10 + i, got[i] = -1;
	MPI_Win w;
	MPI_Win_create(mem, sizeof(mem), sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &w);
	flavor(w, MPI_WIN_FLAVOR_CREATE, "create");
	void *b;
	MPI_Aint *sz;
	int *du, flag;
	MPI_Win_get_attr(w, MPI_WIN_BASE, &b, &flag);
	CHECK(flag && b == mem, "win base");
	MPI_Win_get_attr(w, MPI_WIN_SIZE, &sz, &flag);
	CHECK(flag && *sz == sizeof(mem), "win size");
	MPI_Win_get_attr(w, MPI_WIN_DISP_UNIT, &du, &flag);
	CHECK(flag && *du == sizeof(int), "disp unit");
	MPI_Win_fence(0, w);
	int val = 100 + rank;
	MPI_Put(&val, 1, MPI_INT, right, 0, 1, MPI_INT, w); /* right's mem[0] */
	MPI_Get(got, 2, MPI_INT, left, 4, 2, MPI_INT, w); /* left's mem[4..5] */
	int one = 1;
	MPI_Accumulate(&one, 1, MPI_INT, 0, 7, 1, MPI_INT, MPI_SUM, w); /* rank 0's mem[7] */
	MPI_Win_fence(0, w);
	CHECK(mem[0] == 100 + left, "put: %d", mem[0]);
	CHECK(got[0] == left * 10 + 4 && got[1] == left * 10 + 5, "get: %d %d", got[0], got[1]);
	if (rank == 0)
		CHECK(mem[7] == 7 + size, "accumulate: %d", mem[7]);
	say("fence: put %d get %d %d acc %d", mem[0], got[0], got[1], mem[7]);

	/* attributes with callbacks, names, info, group */
	int kv, extra = 0, attr = 5;
	MPI_Win_create_keyval(win_copy, win_delete, &kv, &extra);
	MPI_Win_set_attr(w, kv, &attr);
	int *ap;
	MPI_Win_get_attr(w, kv, &ap, &flag);
	CHECK(flag && ap == &attr, "win attr");
	MPI_Win_delete_attr(w, kv);
	CHECK(deletes == 1 && extra == 5 && seen_win == w, "delete callback: %d %d", deletes, extra);
	MPI_Win_set_attr(w, kv, &attr);
	MPI_Win_set_name(w, "ring");
	char name[MPI_MAX_OBJECT_NAME];
	int len;
	MPI_Win_get_name(w, name, &len);
	CHECK(!strcmp(name, "ring"), "name %s", name);
	MPI_Group g, wg;
	MPI_Win_get_group(w, &g);
	MPI_Comm_group(MPI_COMM_WORLD, &wg);
	int cmp;
	MPI_Group_compare(g, wg, &cmp);
	CHECK(cmp == MPI_IDENT, "win group");
	MPI_Group_free(&g);
	MPI_Info info;
	MPI_Win_get_info(w, &info);
	int nkeys;
	MPI_Info_get_nkeys(info, &nkeys);
	CHECK(nkeys >= 0, "win info");
	MPI_Info_free(&info);

	/* error handlers: user-defined, and errors returned */
	MPI_Errhandler eh;
	MPI_Win_create_errhandler(win_eh, &eh);
	MPI_Win_set_errhandler(w, eh);
	MPI_Win_call_errhandler(w, MPI_ERR_OTHER);
	CHECK(eh_calls == 1 && eh_code == MPI_ERR_OTHER && seen_win == w, "win errhandler");
	MPI_Errhandler e2;
	MPI_Win_get_errhandler(w, &e2);
	MPI_Errhandler_free(&e2);
	MPI_Win_set_errhandler(w, MPI_ERRORS_RETURN);
	MPI_Win_fence(0, w);
	int rc = MPI_Put(&val, 1, MPI_INT, size + 3, 0, 1, MPI_INT, w), cls;
	MPI_Error_class(rc, &cls);
	CHECK(rc != MPI_SUCCESS && cls == MPI_ERR_RANK, "put to a bad rank: class %d", cls);
	MPI_Win_fence(0, w);
	MPI_Errhandler_free(&eh);
	say("errhandler: calls %d class %d", eh_calls, cls);

	/* --- general active target: post/start/complete/wait --- */
	MPI_Group nb;
	int ranks[2] = { left, right };
	MPI_Group_incl(wg, left == right ? 1 : 2, ranks, &nb);
	MPI_Win_post(nb, 0, w);
	MPI_Win_start(nb, 0, w);
	int v2 = 200 + rank;
	MPI_Put(&v2, 1, MPI_INT, right, 1, 1, MPI_INT, w);
	MPI_Win_complete(w);
	MPI_Win_wait(w);
	CHECK(mem[1] == 200 + left, "pscw put: %d", mem[1]);
	MPI_Win_post(nb, 0, w);
	MPI_Win_start(nb, 0, w);
	MPI_Put(&v2, 1, MPI_INT, left, 2, 1, MPI_INT, w);
	MPI_Win_complete(w);
	int done = 0;
	while (!done)
		MPI_Win_test(w, &done);
	CHECK(mem[2] == 200 + right, "pscw test: %d", mem[2]);
	say("pscw: %d %d", mem[1], mem[2]);
	MPI_Group_free(&nb);
	MPI_Group_free(&wg);
	MPI_Win_free(&w);
	CHECK(w == MPI_WIN_NULL, "win_free nulls");
	CHECK(deletes == 2 && extra == 10 && copies == 0, "delete on free: %d %d", deletes, extra);
	MPI_Win_free_keyval(&kv);

	/* --- MPI_Win_allocate: passive target, atomics, request-based --- */
	long *base;
	MPI_Win_allocate(8 * sizeof(long), sizeof(long), MPI_INFO_NULL, MPI_COMM_WORLD, &base, &w);
	CHECK(outside_lower(base), "Win_allocate memory is the upper half's");
	flavor(w, MPI_WIN_FLAVOR_ALLOCATE, "allocate");
	MPI_Win_get_attr(w, MPI_WIN_BASE, &b, &flag);
	CHECK(flag && b == base, "allocate base");
	int *model;
	MPI_Win_get_attr(w, MPI_WIN_MODEL, &model, &flag);
	CHECK(flag && (*model == MPI_WIN_UNIFIED || *model == MPI_WIN_SEPARATE), "model");
	MPI_Win_lock(MPI_LOCK_EXCLUSIVE, rank, 0, w);
	for (i = 0; i < 8; i++)
		base[i] = 0;
	MPI_Win_unlock(rank, w);
	MPI_Barrier(MPI_COMM_WORLD);
	/* every rank adds to slot 0 of rank 0 and fetches the old values */
	long inc = rank + 1, old = -1, res = -1;
	MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, w);
	MPI_Fetch_and_op(&inc, &old, MPI_LONG, 0, 0, MPI_SUM, w);
	MPI_Win_flush(0, w);
	MPI_Get_accumulate(&inc, 1, MPI_LONG, &res, 1, MPI_LONG, 0, 1, 1, MPI_LONG, MPI_SUM, w);
	MPI_Win_unlock(0, w);
	CHECK(old >= 0 && old <= (long)size * (size + 1) / 2 - inc, "fetch_and_op old %ld", old);
	MPI_Barrier(MPI_COMM_WORLD);
	/* compare and swap: exactly one rank wins slot 2 */
	long mine = rank + 1, expect = 0, prev = -1;
	MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, w);
	MPI_Compare_and_swap(&mine, &expect, &prev, MPI_LONG, 0, 2, w);
	MPI_Win_unlock(0, w);
	int won = prev == 0, winners;
	MPI_Allreduce(&won, &winners, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
	CHECK(winners == 1, "compare_and_swap winners %d", winners);
	MPI_Barrier(MPI_COMM_WORLD);
	/* request-based operations in a lock_all epoch */
	MPI_Win_lock_all(0, w);
	MPI_Request rq[4];
	long pv = 1000 + rank, gv = -1, av = 1, gav = -1;
	MPI_Rput(&pv, 1, MPI_LONG, right, 3 + (rank == right), 1, MPI_LONG, w, &rq[0]);
	MPI_Raccumulate(&av, 1, MPI_LONG, 0, 5, 1, MPI_LONG, MPI_SUM, w, &rq[1]);
	MPI_Rget_accumulate(&av, 1, MPI_LONG, &gav, 1, MPI_LONG, 0, 6, 1, MPI_LONG, MPI_SUM, w, &rq[2]);
	MPI_Waitall(3, rq, MPI_STATUSES_IGNORE);
	MPI_Win_flush_all(w);
	MPI_Win_flush_local_all(w);
	MPI_Win_unlock_all(w);
	MPI_Barrier(MPI_COMM_WORLD);
	MPI_Win_lock_all(0, w);
	MPI_Rget(&gv, 1, MPI_LONG, left, 3 + (rank == left), 1, MPI_LONG, w, &rq[3]);
	MPI_Wait(&rq[3], MPI_STATUS_IGNORE);
	MPI_Win_flush_local(left, w);
	MPI_Win_sync(w);
	MPI_Win_unlock_all(w);
	CHECK(gv == 1000 + ((rank + size - 1) % size + size - 1) % size || size == 1,
	      "rput/rget: %ld", gv);
	MPI_Barrier(MPI_COMM_WORLD);
	if (rank == 0) {
		MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, w);
		CHECK(base[0] == (long)size * (size + 1) / 2, "fetch_and_op sum %ld", base[0]);
		CHECK(base[1] == (long)size * (size + 1) / 2, "get_accumulate sum %ld", base[1]);
		CHECK(base[2] >= 1 && base[2] <= size, "cas %ld", base[2]);
		CHECK(base[5] == size && base[6] == size, "raccumulate %ld %ld", base[5], base[6]);
		say("passive: sums %ld %ld %ld %ld", base[0], base[1], base[5], base[6]);
		MPI_Win_unlock(0, w);
	}
	say("rget %ld", gv);
	MPI_Win_free(&w);

	/* --- dynamic windows: attach, address exchange, detach --- */
	int *dyn = calloc(4, sizeof(int));
	MPI_Win_create_dynamic(MPI_INFO_NULL, MPI_COMM_WORLD, &w);
	flavor(w, MPI_WIN_FLAVOR_DYNAMIC, "dynamic");
	MPI_Win_attach(w, dyn, 4 * sizeof(int));
	MPI_Aint addr, raddr;
	MPI_Get_address(dyn, &addr);
	MPI_Sendrecv(&addr, 1, MPI_AINT, left, 0, &raddr, 1, MPI_AINT, right, 0, MPI_COMM_WORLD,
		     MPI_STATUS_IGNORE);
	MPI_Win_fence(0, w);
	int dv = 300 + rank;
	MPI_Put(&dv, 1, MPI_INT, right, raddr + sizeof(int), 1, MPI_INT, w);
	MPI_Win_fence(0, w);
	CHECK(dyn[1] == 300 + left, "dynamic put: %d", dyn[1]);
	say("dynamic: %d", dyn[1]);
	MPI_Win_detach(w, dyn);
	MPI_Win_free(&w);
	free(dyn);

	/* --- shared memory windows: load/store across ranks --- */
	int *sh;
	MPI_Aint mysz = (rank % 2 ? 3 : 2) * sizeof(int);
	MPI_Win_allocate_shared(mysz, sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &sh, &w);
	CHECK(outside_lower(sh), "Win_allocate_shared memory is the upper half's");
	flavor(w, MPI_WIN_FLAVOR_SHARED, "shared");
	MPI_Win_lock_all(0, w);
	for (i = 0; i < (rank % 2 ? 3 : 2); i++)
		sh[i] = rank * 100 + i;
	MPI_Win_sync(w);
	MPI_Barrier(MPI_COMM_WORLD);
	MPI_Win_sync(w);
	int *rp, rdu, sum = 0;
	MPI_Aint rsz;
	MPI_Win_shared_query(w, right, &rsz, &rdu, &rp);
	CHECK(rsz == (right % 2 ? 3 : 2) * (MPI_Aint)sizeof(int) && rdu == sizeof(int), "shared_query %ld %d",
	      (long)rsz, rdu);
	for (i = 0; i < rsz / (int)sizeof(int); i++) {
		CHECK(rp[i] == right * 100 + i, "shared load %d: %d", i, rp[i]);
		sum += rp[i];
	}
	int *p0;
	MPI_Win_shared_query(w, 0, &rsz, &rdu, &p0);
	/* contiguous by default: rank r's part follows rank r-1's */
	if (rank == 1)
		CHECK(sh == p0 + 2, "contiguous parts");
	MPI_Win_shared_query(w, MPI_PROC_NULL, &rsz, &rdu, &rp);
	CHECK(rp == p0 && rsz == 2 * sizeof(int), "shared_query(MPI_PROC_NULL)");
	/* an RMA put into a shared window lands in the same memory */
	MPI_Win_unlock_all(w);
	MPI_Win_fence(0, w);
	int sv = 500 + rank;
	MPI_Put(&sv, 1, MPI_INT, right, 0, 1, MPI_INT, w);
	MPI_Win_fence(0, w);
	CHECK(sh[0] == 500 + left, "put into a shared window: %d", sh[0]);
	int gs = -1;
	MPI_Win_fence(0, w);
	MPI_Get(&gs, 1, MPI_INT, right, 1, 1, MPI_INT, w);
	MPI_Win_fence(0, w);
	MPI_Accumulate(&one, 1, MPI_INT, left, 1, 1, MPI_INT, MPI_SUM, w);
	MPI_Win_fence(0, w);
	CHECK(gs == right * 100 + 1, "get from a shared window: %d", gs);
	CHECK(sh[1] == rank * 100 + 2, "accumulate into a shared window: %d", sh[1]);
	MPI_Win_get_attr(w, MPI_WIN_BASE, &b, &flag);
	CHECK(flag && b == sh, "shared base");
	MPI_Win_get_attr(w, MPI_WIN_SIZE, &sz, &flag);
	CHECK(flag && *sz == mysz, "shared size %ld", (long)*sz);
	MPI_Win_get_attr(w, MPI_WIN_DISP_UNIT, &du, &flag);
	CHECK(flag && *du == sizeof(int), "shared disp unit %d", *du);
	say("shared: neighbour sum %d, put %d", sum, sh[0]);
	MPI_Win_free(&w);

	/* --- large-count forms --- */
	MPI_Win_allocate_c(4 * sizeof(int), sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &sh, &w);
	CHECK(outside_lower(sh), "Win_allocate_c memory is the upper half's");
	sh[0] = sh[1] = -1;
	MPI_Win_fence(0, w);
	int cv = 700 + rank;
	MPI_Put_c(&cv, 1, MPI_INT, right, 1, 1, MPI_INT, w);
	MPI_Win_fence(0, w);
	CHECK(sh[1] == 700 + left, "put_c: %d", sh[1]);
	MPI_Win_free(&w);

	CHECK(tls_ok, "callbacks run with the application's thread-local storage");
	return report_end();
}
