/* One-sided windows whose memory MPI allocates.
 *
 * A checkpoint saves the upper half and not the lower half's window, so the
 * memory an application gets from MPI must be the upper half's:
 *
 *   MPI_Win_allocate         the upper half's heap (as MPI_Alloc_mem), then
 *                            MPI_Win_create over it in the lower half.
 *   MPI_Win_allocate_shared  one segment per call shared by the ranks of
 *                            the communicator (all on one node): a POSIX
 *                            shared memory object that rank 0 creates and
 *                            unlinks once every rank has mapped it, mapped
 *                            by the upper half outside the lower half's
 *                            window; contiguous by rank, as MPI's default.
 *                            Each rank then creates the real window over its
 *                            part, and MPI_Win_shared_query is answered
 *                            here. (A checkpoint will have to save that
 *                            mapping once per node and map it back at the
 *                            same address in every rank.)
 *
 * MPICH sees windows of flavor MPI_WIN_FLAVOR_CREATE; MPI_Win_get_attr
 * reports the flavor the application asked for.
 *
 * Shared windows are created in MPICH from the page boundary below each
 * rank's part, with a displacement unit of 1, and every one-sided call
 * shifts its target_disp accordingly (mpi_win_disp, called by the generated
 * wrappers): MPICH 4.0.2 over UCX misplaces puts into a window that starts
 * inside a page another process's window shares (a put to rank 1's
 * element 1 lands in rank 0's; tests/mpi/rma.c's shared part). MPI_WIN_BASE,
 * MPI_WIN_SIZE and MPI_WIN_DISP_UNIT are then answered here.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mpi/upper.h"

struct win_rec {
	int flavor; /* MPI_WIN_FLAVOR_ALLOCATE or _SHARED */
	void *heap; /* allocate: the upper half's heap block */
	void *map; /* shared: the whole segment */
	size_t maplen;
	int n; /* shared: ranks, and each one's part */
	MPI_Aint *size, *disp, *off;
	void *mybase; /* shared: this rank's part, as the application knows it */
	MPI_Aint mysize;
	int mydisp;
};

static long page_size(void)
{
	static long ps;
	if (!ps)
		ps = sysconf(_SC_PAGESIZE);
	return ps;
}

static const int flavor_allocate = MPI_WIN_FLAVOR_ALLOCATE;
static const int flavor_shared = MPI_WIN_FLAVOR_SHARED;

static void rec_free(struct win_rec *w)
{
	if (!w)
		return;
	free(w->heap);
	if (w->map)
		munmap(w->map, w->maplen);
	free(w->size);
	free(w);
}

static int allocate(MPI_Aint size, MPI_Aint disp_unit, int large, MPI_Info info, MPI_Comm comm,
		    void *baseptr, MPI_Win *win)
{
	MPI_LOWER_READY();
	int r_info = h_in(MK_INFO, info), r_comm = h_in(MK_COMM, comm), real = MPI_WIN_NULL, rc;
	struct win_rec *w = calloc(1, sizeof(*w));
	void *mem = size > 0 ? malloc((size_t)size) : NULL;
	if (!w || (size > 0 && !mem)) {
		free(w);
		free(mem);
		return MPI_ERR_NO_MEM;
	}
	long t = cross_enter();
	if (large)
		rc = MPI_FN(MPI_Win_create_c)(mem, size, disp_unit, r_info, r_comm, &real);
	else
		rc = MPI_FN(MPI_Win_create)(mem, size, (int)disp_unit, r_info, r_comm, &real);
	cross_leave(t);
	if (rc != MPI_SUCCESS) {
		free(w);
		free(mem);
		return rc;
	}
	w->flavor = MPI_WIN_FLAVOR_ALLOCATE;
	w->heap = mem;
	*win = h_out(MK_WIN, real);
	*h_win_extra(*win) = w;
	*(void **)baseptr = mem;
	return rc;
}

int mpi_impl_Win_allocate(MPI_Aint size, int disp_unit, MPI_Info info, MPI_Comm comm, void *baseptr,
			  MPI_Win *win)
{
	return allocate(size, disp_unit, 0, info, comm, baseptr, win);
}

int mpi_impl_Win_allocate_c(MPI_Aint size, MPI_Aint disp_unit, MPI_Info info, MPI_Comm comm,
			    void *baseptr, MPI_Win *win)
{
	return allocate(size, disp_unit, 1, info, comm, baseptr, win);
}

/* What the real MPI_Win_allocate_shared would say about bad arguments
 * (or a communicator spanning nodes): let it say so. */
static int shared_by_mpich(MPI_Aint size, MPI_Aint disp_unit, int large, MPI_Info info,
			   MPI_Comm comm, void *baseptr, MPI_Win *win)
{
	int real = MPI_WIN_NULL, rc;
	int r_info = h_in(MK_INFO, info), r_comm = h_in(MK_COMM, comm);
	long t = cross_enter();
	if (large)
		rc = MPI_FN(MPI_Win_allocate_shared_c)(size, disp_unit, r_info, r_comm, baseptr, &real);
	else
		rc = MPI_FN(MPI_Win_allocate_shared)(size, (int)disp_unit, r_info, r_comm, baseptr,
						     &real);
	cross_leave(t);
	if (rc == MPI_SUCCESS) /* never: it refused what we refused */
		*win = h_out(MK_WIN, real);
	return rc;
}

static int allocate_shared(MPI_Aint size, MPI_Aint disp_unit, int large, MPI_Info info,
			   MPI_Comm comm, void *baseptr, MPI_Win *win)
{
	static int serial;
	MPI_LOWER_READY();
	int r_info = h_in(MK_INFO, info), r_comm = h_in(MK_COMM, comm);
	int n = 0, rank = 0, nshared = -1, inter = 0, real = MPI_WIN_NULL, rc;
	MPI_Comm shm = MPI_COMM_NULL;

	long t = cross_enter();
	rc = MPI_FN(MPI_Comm_test_inter)(r_comm, &inter);
	if (rc == MPI_SUCCESS && !inter)
		rc = MPI_FN(MPI_Comm_size)(r_comm, &n);
	if (rc == MPI_SUCCESS && !inter)
		rc = MPI_FN(MPI_Comm_rank)(r_comm, &rank);
	if (rc == MPI_SUCCESS && !inter)
		rc = MPI_FN(MPI_Comm_split_type)(r_comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &shm);
	if (rc == MPI_SUCCESS && !inter) {
		rc = MPI_FN(MPI_Comm_size)(shm, &nshared);
		MPI_FN(MPI_Comm_free)(&shm);
	}
	cross_leave(t);
	/* nshared is the same on every rank iff all share one node. */
	if (rc != MPI_SUCCESS || inter || nshared != n || size < 0 || disp_unit <= 0)
		return shared_by_mpich(size, disp_unit, large, info, comm, baseptr, win);

	struct win_rec *w = calloc(1, sizeof(*w));
	MPI_Aint *all = malloc(sizeof(MPI_Aint) * 3 * (size_t)n), mine[2] = { size, disp_unit };
	MPI_Aint *pairs = malloc(sizeof(MPI_Aint) * 2 * (size_t)n);
	if (!w || !all || !pairs) {
		free(w);
		free(all);
		free(pairs);
		return MPI_ERR_NO_MEM;
	}
	t = cross_enter();
	rc = MPI_FN(MPI_Allgather)(mine, 2, MPI_AINT, pairs, 2, MPI_AINT, r_comm);
	cross_leave(t);
	if (rc != MPI_SUCCESS) {
		free(w);
		free(all);
		free(pairs);
		return rc;
	}
	w->flavor = MPI_WIN_FLAVOR_SHARED;
	w->n = n;
	w->size = all;
	w->disp = all + n;
	w->off = all + 2 * n;
	size_t total = 0;
	for (int i = 0; i < n; i++) {
		w->size[i] = pairs[2 * i];
		w->disp[i] = pairs[2 * i + 1];
		w->off[i] = (MPI_Aint)total;
		total += (size_t)w->size[i];
	}
	free(pairs);
	w->maplen = total ? total : 1;

	/* Rank 0 creates the segment and names it; every rank maps it; rank 0
	 * unlinks it once all have (the allreduce). */
	char name[64] = "";
	int fd = -1, ok;
	if (rank == 0) {
		snprintf(name, sizeof(name), "/cairn-mpi-win-%d-%d", (int)getpid(), serial++);
		fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd < 0 || ftruncate(fd, (off_t)w->maplen) < 0)
			name[0] = 0;
	}
	t = cross_enter();
	rc = MPI_FN(MPI_Bcast)(name, sizeof(name), MPI_CHAR, 0, r_comm);
	cross_leave(t);
	if (rank != 0 && name[0])
		fd = shm_open(name, O_RDWR, 0);
	w->map = MAP_FAILED;
	if (fd >= 0 && name[0])
		w->map = mmap(NULL, w->maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (fd >= 0)
		close(fd);
	int mapped = w->map != MAP_FAILED;
	t = cross_enter();
	if (rc == MPI_SUCCESS)
		rc = MPI_FN(MPI_Allreduce)(&mapped, &ok, 1, MPI_INT, MPI_MIN, r_comm);
	cross_leave(t);
	if (rank == 0 && name[0])
		shm_unlink(name);
	if (!mapped)
		w->map = NULL;
	if (rc != MPI_SUCCESS || !ok) {
		rec_free(w);
		return rc != MPI_SUCCESS ? rc : MPI_ERR_NO_MEM;
	}

	char *base = (char *)w->map + w->off[rank];
	MPI_Aint shift = w->off[rank] % page_size();
	t = cross_enter();
	if (large)
		rc = MPI_FN(MPI_Win_create_c)(base - shift, size + shift, 1, r_info, r_comm, &real);
	else
		rc = MPI_FN(MPI_Win_create)(base - shift, size + shift, 1, r_info, r_comm, &real);
	cross_leave(t);
	if (rc != MPI_SUCCESS) {
		rec_free(w);
		return rc;
	}
	w->mybase = base;
	w->mysize = size;
	w->mydisp = (int)disp_unit;
	*win = h_out(MK_WIN, real);
	*h_win_extra(*win) = w;
	*(void **)baseptr = base;
	return rc;
}

int mpi_impl_Win_allocate_shared(MPI_Aint size, int disp_unit, MPI_Info info, MPI_Comm comm,
				 void *baseptr, MPI_Win *win)
{
	return allocate_shared(size, disp_unit, 0, info, comm, baseptr, win);
}

int mpi_impl_Win_allocate_shared_c(MPI_Aint size, MPI_Aint disp_unit, MPI_Info info, MPI_Comm comm,
				   void *baseptr, MPI_Win *win)
{
	return allocate_shared(size, disp_unit, 1, info, comm, baseptr, win);
}

static struct win_rec *rec_of(MPI_Win win)
{
	void **x = h_win_extra(win);
	return x ? *x : NULL;
}

MPI_Aint mpi_win_disp(MPI_Win win, int target_rank, MPI_Aint target_disp)
{
	struct win_rec *w = rec_of(win);
	if (!w || w->flavor != MPI_WIN_FLAVOR_SHARED || target_rank < 0 || target_rank >= w->n)
		return target_disp;
	return w->off[target_rank] % page_size() + target_disp * w->disp[target_rank];
}

static int shared_query(MPI_Win win, int rank, MPI_Aint *size, MPI_Aint *disp_unit, void *baseptr,
			int large, int *disp_int)
{
	struct win_rec *w = rec_of(win);
	if (w && w->flavor == MPI_WIN_FLAVOR_SHARED && rank >= MPI_PROC_NULL && rank < w->n) {
		int r = rank;
		if (r == MPI_PROC_NULL) /* the lowest rank with memory */
			for (r = 0; r < w->n - 1 && w->size[r] == 0; r++)
				;
		*size = w->size[r];
		if (large)
			*disp_unit = w->disp[r];
		else
			*disp_int = (int)w->disp[r];
		*(void **)baseptr = w->size[r] || rank != MPI_PROC_NULL ? (char *)w->map + w->off[r] : NULL;
		return MPI_SUCCESS;
	}
	/* Not a shared window, or a bad rank: MPICH reports the error. */
	MPI_LOWER_READY();
	int real = h_in(MK_WIN, win), rc;
	long t = cross_enter();
	if (large)
		rc = MPI_FN(MPI_Win_shared_query_c)(real, rank, size, disp_unit, baseptr);
	else
		rc = MPI_FN(MPI_Win_shared_query)(real, rank, size, disp_int, baseptr);
	cross_leave(t);
	return rc;
}

int mpi_impl_Win_shared_query(MPI_Win win, int rank, MPI_Aint *size, int *disp_unit, void *baseptr)
{
	return shared_query(win, rank, size, NULL, baseptr, 0, disp_unit);
}

int mpi_impl_Win_shared_query_c(MPI_Win win, int rank, MPI_Aint *size, MPI_Aint *disp_unit,
				void *baseptr)
{
	return shared_query(win, rank, size, disp_unit, baseptr, 1, NULL);
}

int mpi_impl_Win_free(MPI_Win *win)
{
	MPI_LOWER_READY();
	struct win_rec *w = rec_of(*win);
	int r0 = h_in(MK_WIN, *win), r = r0;
	long t = cross_enter();
	int rc = MPI_FN(MPI_Win_free)(&r);
	cross_leave(t);
	if (rc == MPI_SUCCESS && r != r0) {
		void **x = h_win_extra(*win);
		if (x)
			*x = NULL;
		rec_free(w);
	}
	*win = h_update(MK_WIN, *win, r0, r);
	return rc;
}

int mpi_impl_Win_get_attr(MPI_Win win, int win_keyval, void *attribute_val, int *flag)
{
	struct win_rec *w = rec_of(win);
	if (w && win_keyval == MPI_WIN_CREATE_FLAVOR) {
		*(const int **)attribute_val =
			w->flavor == MPI_WIN_FLAVOR_SHARED ? &flavor_shared : &flavor_allocate;
		*flag = 1;
		return MPI_SUCCESS;
	}
	if (w && w->flavor == MPI_WIN_FLAVOR_SHARED) {
		*flag = 1;
		if (win_keyval == MPI_WIN_BASE) {
			*(void **)attribute_val = w->mybase;
			return MPI_SUCCESS;
		}
		if (win_keyval == MPI_WIN_SIZE) {
			*(MPI_Aint **)attribute_val = &w->mysize;
			return MPI_SUCCESS;
		}
		if (win_keyval == MPI_WIN_DISP_UNIT) {
			*(int **)attribute_val = &w->mydisp;
			return MPI_SUCCESS;
		}
	}
	MPI_LOWER_READY();
	int r_win = h_in(MK_WIN, win), r_kv = h_in(MK_KEYVAL, win_keyval);
	long t = cross_enter();
	int rc = MPI_FN(MPI_Win_get_attr)(r_win, r_kv, attribute_val, flag);
	cross_leave(t);
	return rc;
}
