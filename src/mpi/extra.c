/* Hand-written crossings besides windows (win.c) and callbacks
 * (callbacks.c): large-count user ops, window and file error handlers,
 * datatype decoding, distributed graphs, neighbourhood counts, MPI_T
 * handles bound to objects, MPI-IO's Fortran handles.
 */
#include <stdlib.h>

#include "mpi/flight.h"
#include "mpi/log.h"
#include "mpi/upper.h"

int mpi_impl_Op_create_c(MPI_User_function_c *user_fn, int commute, MPI_Op *op)
{
	return mpi_op_create(F_MPI_Op_create_c, (void *)mpi_op_c_trampoline(user_fn), commute, op);
}

int mpi_impl_Win_create_errhandler(MPI_Win_errhandler_function *win_errhandler_fn, MPI_Errhandler *errhandler)
{
	return mpi_errhandler_create(F_MPI_Win_create_errhandler,
				     (void *)mpi_win_errhandler_trampoline(win_errhandler_fn), errhandler);
}

int mpi_impl_File_create_errhandler(MPI_File_errhandler_function *file_errhandler_fn, MPI_Errhandler *errhandler)
{
	return mpi_errhandler_create(F_MPI_File_create_errhandler,
				     (void *)mpi_file_errhandler_trampoline(file_errhandler_fn), errhandler);
}

/* The datatypes MPI_Type_get_contents returns are new references (derived
 * ones must be freed by the caller): each gets a virtual handle. How many
 * it wrote is the envelope's count, asked in the same crossing. */
static void types_out(MPI_Datatype *v, const MPI_Datatype *real, long n, long max)
{
	for (long i = 0; i < n && i < max; i++)
		v[i] = h_out(MK_DATATYPE, real[i]);
}

int mpi_impl_Type_get_contents(MPI_Datatype datatype, int max_integers, int max_addresses,
			       int max_datatypes, int array_of_integers[], MPI_Aint array_of_addresses[],
			       MPI_Datatype array_of_datatypes[])
{
	MPI_Datatype stack[MPI_STACK_ARRAY];
	MPI_Datatype *r = stack;
	if (max_datatypes > MPI_STACK_ARRAY && !(r = malloc(sizeof(*r) * (size_t)max_datatypes)))
		return MPI_ERR_NO_MEM;
	MPI_LOWER_READY();
	int real = h_in(MK_DATATYPE, datatype), ni = 0, na = 0, nd = 0, comb = 0;
	long t = cross_enter();
	int rc = MPI_FN(MPI_Type_get_contents)(real, max_integers, max_addresses, max_datatypes,
					       array_of_integers, array_of_addresses, r);
	if (rc == MPI_SUCCESS)
		rc = MPI_FN(MPI_Type_get_envelope)(real, &ni, &na, &nd, &comb);
	cross_leave(t);
	if (rc == MPI_SUCCESS)
		types_out(array_of_datatypes, r, nd, max_datatypes);
	if (r != stack)
		free(r);
	return rc;
}

int mpi_impl_Type_get_contents_c(MPI_Datatype datatype, MPI_Count max_integers,
				 MPI_Count max_addresses, MPI_Count max_large_counts,
				 MPI_Count max_datatypes, int array_of_integers[],
				 MPI_Aint array_of_addresses[], MPI_Count array_of_large_counts[],
				 MPI_Datatype array_of_datatypes[])
{
	MPI_Datatype stack[MPI_STACK_ARRAY];
	MPI_Datatype *r = stack;
	if (max_datatypes > MPI_STACK_ARRAY && !(r = malloc(sizeof(*r) * (size_t)max_datatypes)))
		return MPI_ERR_NO_MEM;
	int real = h_in(MK_DATATYPE, datatype), comb = 0;
	MPI_Count ni = 0, na = 0, nl = 0, nd = 0;
	MPI_LOWER_READY();
	long t = cross_enter();
	int rc = MPI_FN(MPI_Type_get_contents_c)(real, max_integers, max_addresses, max_large_counts,
						 max_datatypes, array_of_integers, array_of_addresses,
						 array_of_large_counts, r);
	if (rc == MPI_SUCCESS)
		rc = MPI_FN(MPI_Type_get_envelope_c)(real, &ni, &na, &nl, &nd, &comb);
	cross_leave(t);
	if (rc == MPI_SUCCESS)
		types_out(array_of_datatypes, r, (long)nd, (long)max_datatypes);
	if (r != stack)
		free(r);
	return rc;
}

/* MPI_UNWEIGHTED and MPI_WEIGHTS_EMPTY are addresses of the library's data:
 * the application has the upper half's (data.c), MPICH compares with the
 * values of its own MPI_UNWEIGHTED and MPI_WEIGHTS_EMPTY, whose addresses
 * the lower half's table holds. */
static const int *weights_in(const int *w)
{
	if (w == MPI_UNWEIGHTED)
		return *(int *const *)MPI_LOWER_DATA(MPI_UNWEIGHTED);
	if (w == MPI_WEIGHTS_EMPTY)
		return *(int *const *)MPI_LOWER_DATA(MPI_WEIGHTS_EMPTY);
	return w;
}

/* Distributed graphs are made again after a restart: their calls are
 * logged by hand (the weights may be the two special addresses, which the
 * log keeps as such: a tag, then the array). */
enum { W_ARRAY, W_UNWEIGHTED, W_EMPTY };

static void log_weights(struct mpi_log_rec *L, const int *w, int n)
{
	int tag = w == MPI_UNWEIGHTED ? W_UNWEIGHTED : w == MPI_WEIGHTS_EMPTY ? W_EMPTY : W_ARRAY;
	mpi_log_put(L, &tag, sizeof(tag));
	mpi_log_array(L, tag == W_ARRAY ? w : NULL, tag == W_ARRAY && n > 0 ? (size_t)n * sizeof(int) : 0);
}

/* the weights as the lower half wants them; n: how many the array must hold */
static const int *get_weights(struct mpi_log_reader *R, size_t n)
{
	int tag = W_ARRAY;
	size_t nb = 0;
	mpi_log_get(R, &tag, sizeof(tag));
	const int *w = mpi_log_get_array(R, &nb);
	if (tag == W_UNWEIGHTED)
		return weights_in(MPI_UNWEIGHTED);
	if (tag == W_EMPTY)
		return weights_in(MPI_WEIGHTS_EMPTY);
	return nb == n * sizeof(int) ? w : NULL; /* NULL: MPICH reports it */
}

static void log_ints(struct mpi_log_rec *L, const int *a, int n)
{
	mpi_log_array(L, a, a && n > 0 ? (size_t)n * sizeof(int) : 0);
}

/* The end of a distributed graph's record: the new communicator, made
 * again after a restart, and its id for the job. */
static void graph_made(struct mpi_log_rec *L, MPI_Comm *comm_dist_graph)
{
	mpi_log_put(L, comm_dist_graph, sizeof(*comm_dist_graph));
	mpi_log_end(L);
	h_mark_rebuilt(MK_COMM, *comm_dist_graph);
	flight_new_comm(*comm_dist_graph);
}

static int sum_ints(const int *a, int n)
{
	int s = 0;
	for (int i = 0; a && i < n; i++)
		s += a[i];
	return s;
}

int mpi_impl_Dist_graph_create(MPI_Comm comm_old, int n, const int sources[], const int degrees[],
			       const int destinations[], const int weights[], MPI_Info info,
			       int reorder, MPI_Comm *comm_dist_graph)
{
	MPI_LOWER_READY();
	int rc_comm = h_in(MK_COMM, comm_old), r_info = h_in(MK_INFO, info), real = MPI_COMM_NULL;
	const int *w = weights_in(weights);
	long t = cross_enter();
	int rc = MPI_FN(MPI_Dist_graph_create)(rc_comm, n, sources, degrees, destinations, w, r_info,
					       reorder, &real);
	cross_leave(t);
	if (rc != MPI_SUCCESS)
		return rc;
	*comm_dist_graph = h_out(MK_COMM, real);
	int nedges = sum_ints(degrees, n);
	struct mpi_log_rec *L = mpi_log_begin(F_MPI_Dist_graph_create);
	mpi_log_put(L, &comm_old, sizeof(comm_old));
	mpi_log_put(L, &n, sizeof(n));
	log_ints(L, sources, n);
	log_ints(L, degrees, n);
	log_ints(L, destinations, nedges);
	log_weights(L, weights, nedges);
	mpi_log_put(L, &reorder, sizeof(reorder));
	graph_made(L, comm_dist_graph);
	return rc;
}

int mpi_impl_Dist_graph_create_adjacent(MPI_Comm comm_old, int indegree, const int sources[],
					const int sourceweights[], int outdegree,
					const int destinations[], const int destweights[],
					MPI_Info info, int reorder, MPI_Comm *comm_dist_graph)
{
	MPI_LOWER_READY();
	int rc_comm = h_in(MK_COMM, comm_old), r_info = h_in(MK_INFO, info), real = MPI_COMM_NULL;
	const int *sw = weights_in(sourceweights), *dw = weights_in(destweights);
	long t = cross_enter();
	int rc = MPI_FN(MPI_Dist_graph_create_adjacent)(rc_comm, indegree, sources, sw, outdegree,
							destinations, dw, r_info, reorder, &real);
	cross_leave(t);
	if (rc != MPI_SUCCESS)
		return rc;
	*comm_dist_graph = h_out(MK_COMM, real);
	struct mpi_log_rec *L = mpi_log_begin(F_MPI_Dist_graph_create_adjacent);
	mpi_log_put(L, &comm_old, sizeof(comm_old));
	mpi_log_put(L, &indegree, sizeof(indegree));
	log_ints(L, sources, indegree);
	log_weights(L, sourceweights, indegree);
	mpi_log_put(L, &outdegree, sizeof(outdegree));
	log_ints(L, destinations, outdegree);
	log_weights(L, destweights, outdegree);
	mpi_log_put(L, &reorder, sizeof(reorder));
	graph_made(L, comm_dist_graph);
	return rc;
}

/* The records above, in a new lower half (mpi_log_replay_manual). */
int mpi_dist_graph_replay(int fn, struct mpi_log_reader *R)
{
	int vold = 0, n = 0, nout = 0, reorder = 0, v = 0, real = MPI_COMM_NULL, rc;
	size_t nb = 0;
	const int *src, *deg = NULL, *dst, *w, *w2 = NULL;

	mpi_log_get(R, &vold, sizeof(vold));
	mpi_log_get(R, &n, sizeof(n));
	src = mpi_log_get_array(R, NULL);
	if (fn == F_MPI_Dist_graph_create) {
		deg = mpi_log_get_array(R, NULL);
		dst = mpi_log_get_array(R, &nb);
		w = get_weights(R, nb / sizeof(int));
	} else {
		w = get_weights(R, (size_t)(n > 0 ? n : 0));
		mpi_log_get(R, &nout, sizeof(nout));
		dst = mpi_log_get_array(R, NULL);
		w2 = get_weights(R, (size_t)(nout > 0 ? nout : 0));
	}
	mpi_log_get(R, &reorder, sizeof(reorder));
	mpi_log_get(R, &v, sizeof(v));
	if (mpi_log_bad(R))
		return -1;
	long t = cross_enter();
	if (fn == F_MPI_Dist_graph_create)
		rc = MPI_FN(MPI_Dist_graph_create)(h_in(MK_COMM, vold), n, src, deg, dst, w,
						   MPI_INFO_NULL, reorder, &real);
	else
		rc = MPI_FN(MPI_Dist_graph_create_adjacent)(h_in(MK_COMM, vold), n, src, w, nout, dst,
							    w2, MPI_INFO_NULL, reorder, &real);
	cross_leave(t);
	if (rc == MPI_SUCCESS)
		h_rebind(MK_COMM, v, real);
	return rc;
}

/* MPI_Cart_sub's remain_dims has one entry per dimension of comm's grid. */
int mpi_cart_ndims(MPI_Comm comm)
{
	int nd = 0;
	long t = cross_enter();
	int rc = MPI_FN(MPI_Cartdim_get)(h_in(MK_COMM, comm), &nd);
	cross_leave(t);
	return rc == MPI_SUCCESS ? nd : 0;
}

int mpi_impl_Dist_graph_neighbors(MPI_Comm comm, int maxindegree, int sources[], int sourceweights[],
				  int maxoutdegree, int destinations[], int destweights[])
{
	MPI_LOWER_READY();
	int real = h_in(MK_COMM, comm);
	int *sw = (int *)weights_in(sourceweights), *dw = (int *)weights_in(destweights);
	long t = cross_enter();
	int rc = MPI_FN(MPI_Dist_graph_neighbors)(real, maxindegree, sources, sw, maxoutdegree,
						  destinations, dw);
	cross_leave(t);
	return rc;
}

/* Neighbourhood collectives take one datatype per source (recvtypes) and
 * per destination (sendtypes); the counts are the topology's, cached. */
int mpi_neighbor_count(MPI_Comm comm, int out)
{
	struct mpi_comm_cache *c = h_comm_cache(comm);
	if (c && c->nin >= 0)
		return out ? c->nout : c->nin;
	MPI_LOWER_READY();
	int real = h_in(MK_COMM, comm), topo = MPI_UNDEFINED, nin = 0, nout = 0, w = 0, rank = 0;
	long t = cross_enter();
	int rc = MPI_FN(MPI_Topo_test)(real, &topo);
	if (rc == MPI_SUCCESS && topo == MPI_CART) {
		rc = MPI_FN(MPI_Cartdim_get)(real, &nin);
		nin *= 2;
		nout = nin;
	} else if (rc == MPI_SUCCESS && topo == MPI_GRAPH) {
		rc = MPI_FN(MPI_Comm_rank)(real, &rank);
		if (rc == MPI_SUCCESS)
			rc = MPI_FN(MPI_Graph_neighbors_count)(real, rank, &nin);
		nout = nin;
	} else if (rc == MPI_SUCCESS && topo == MPI_DIST_GRAPH) {
		rc = MPI_FN(MPI_Dist_graph_neighbors_count)(real, &nin, &nout, &w);
	}
	cross_leave(t);
	if (rc != MPI_SUCCESS || topo == MPI_UNDEFINED)
		return 0; /* MPICH reports the communicator's error itself */
	if (c) {
		c->nout = nout;
		__atomic_store_n(&c->nin, nin, __ATOMIC_RELEASE);
	}
	return out ? nout : nin;
}

/* MPI_T: a variable bound to an MPI object is given a pointer to its handle. */
static void *bound_object(int bind, void *obj, union { int i; MPI_File f; } *tmp)
{
	if (!obj)
		return obj;
	switch (bind) {
	case MPI_T_BIND_MPI_COMM:
		tmp->i = h_in(MK_COMM, *(int *)obj);
		return &tmp->i;
	case MPI_T_BIND_MPI_DATATYPE:
		tmp->i = h_in(MK_DATATYPE, *(int *)obj);
		return &tmp->i;
	case MPI_T_BIND_MPI_ERRHANDLER:
		tmp->i = h_in(MK_ERRHANDLER, *(int *)obj);
		return &tmp->i;
	case MPI_T_BIND_MPI_GROUP:
		tmp->i = h_in(MK_GROUP, *(int *)obj);
		return &tmp->i;
	case MPI_T_BIND_MPI_OP:
		tmp->i = h_in(MK_OP, *(int *)obj);
		return &tmp->i;
	case MPI_T_BIND_MPI_REQUEST:
		tmp->i = h_in(MK_REQUEST, *(int *)obj);
		return &tmp->i;
	case MPI_T_BIND_MPI_WIN:
		tmp->i = h_in(MK_WIN, *(int *)obj);
		return &tmp->i;
	case MPI_T_BIND_MPI_MESSAGE:
		tmp->i = h_in(MK_MESSAGE, *(int *)obj);
		return &tmp->i;
	case MPI_T_BIND_MPI_INFO:
		tmp->i = h_in(MK_INFO, *(int *)obj);
		return &tmp->i;
	case MPI_T_BIND_MPI_FILE:
		tmp->f = hf_in(*(MPI_File *)obj);
		return &tmp->f;
	default:
		return obj;
	}
}

int mpi_impl_T_cvar_handle_alloc(int cvar_index, void *obj_handle, MPI_T_cvar_handle *handle,
				 int *count)
{
	union { int i; MPI_File f; } tmp;
	int bind = MPI_T_BIND_NO_OBJECT;
	MPI_LOWER_READY();
	long t = cross_enter();
	int verb, scope, nl = 0, dl = 0;
	MPI_Datatype type;
	MPI_T_enum en;
	int rc = MPI_FN(MPI_T_cvar_get_info)(cvar_index, NULL, &nl, &verb, &type, &en, NULL, &dl,
					     &bind, &scope);
	cross_leave(t);
	if (rc != MPI_SUCCESS)
		return rc;
	void *obj = bound_object(bind, obj_handle, (void *)&tmp);
	t = cross_enter();
	rc = MPI_FN(MPI_T_cvar_handle_alloc)(cvar_index, obj, handle, count);
	cross_leave(t);
	return rc;
}

int mpi_impl_T_pvar_handle_alloc(MPI_T_pvar_session session, int pvar_index, void *obj_handle,
				 MPI_T_pvar_handle *handle, int *count)
{
	union { int i; MPI_File f; } tmp;
	int bind = MPI_T_BIND_NO_OBJECT;
	MPI_LOWER_READY();
	long t = cross_enter();
	int verb, cls, nl = 0, dl = 0, ro, cont, at;
	MPI_Datatype type;
	MPI_T_enum en;
	int rc = MPI_FN(MPI_T_pvar_get_info)(pvar_index, NULL, &nl, &verb, &cls, &type, &en, NULL,
					     &dl, &bind, &ro, &cont, &at);
	cross_leave(t);
	if (rc != MPI_SUCCESS)
		return rc;
	void *obj = bound_object(bind, obj_handle, (void *)&tmp);
	t = cross_enter();
	rc = MPI_FN(MPI_T_pvar_handle_alloc)(session, pvar_index, obj, handle, count);
	cross_leave(t);
	return rc;
}

MPI_Fint mpi_impl_File_c2f(MPI_File file)
{
	return hf_c2f(file);
}

MPI_File mpi_impl_File_f2c(MPI_Fint file)
{
	return hf_f2c(file);
}

/* MPI_Comm_idup and MPI_Comm_idup_with_info: a collective on comm (its
 * number there orders it for the cut), a request the cut completes once
 * every rank has started it, or leaves pending if some rank has not, and
 * a record, both forms as MPI_Comm_idup (the info is a hint). */
static int comm_idup(MPI_Comm comm, MPI_Info info, int with_info, MPI_Comm *newcomm,
		     MPI_Request *request)
{
	MPI_LOWER_READY();
	long long cidx = flight_coll(comm);
	int rcomm = h_in(MK_COMM, comm), rinfo = h_in(MK_INFO, info);
	MPI_Comm rnew = MPI_COMM_NULL;
	MPI_Request rreq = MPI_REQUEST_NULL;
	long t = cross_enter();
	int rc = with_info ? MPI_FN(MPI_Comm_idup_with_info)(rcomm, rinfo, newcomm ? &rnew : NULL,
							     request ? &rreq : NULL)
			   : MPI_FN(MPI_Comm_idup)(rcomm, newcomm ? &rnew : NULL, request ? &rreq : NULL);
	cross_leave(t);
	if (rc != MPI_SUCCESS)
		return rc;
	*newcomm = h_out(MK_COMM, rnew);
	*request = h_out(MK_REQUEST, rreq);
	flight_idup(*request, comm, *newcomm, cidx);
	struct mpi_log_rec *L = mpi_log_begin(F_MPI_Comm_idup);
	mpi_log_put(L, &comm, sizeof(comm));
	mpi_log_put(L, newcomm, sizeof(*newcomm));
	mpi_log_put(L, request, sizeof(*request));
	mpi_log_end(L);
	h_mark_rebuilt(MK_COMM, *newcomm);
	return rc;
}

int mpi_impl_Comm_idup(MPI_Comm comm, MPI_Comm *newcomm, MPI_Request *request)
{
	return comm_idup(comm, MPI_INFO_NULL, 0, newcomm, request);
}

int mpi_impl_Comm_idup_with_info(MPI_Comm comm, MPI_Info info, MPI_Comm *newcomm,
				 MPI_Request *request)
{
	return comm_idup(comm, info, 1, newcomm, request);
}

/* Replayed, an MPI_Comm_idup is started again; it is waited for only when
 * a later record needs its communicator, or at the end of the replay, so
 * that ranks that started their idups in different orders (legal: they
 * are non-blocking) do not wait for each other. One that some rank had not
 * started at the checkpoint (the cut left it pending) is not waited for at
 * all: it becomes the application's request again, which that rank joins
 * when it gets there. */
static struct idup_pending {
	MPI_Request real;
	int vcomm;
} *idups;
static size_t nidups, capidups;

int mpi_idup_pending(int vcomm)
{
	for (size_t i = 0; i < nidups; i++)
		if (vcomm == 0 || idups[i].vcomm == vcomm)
			return 1;
	return 0;
}

int mpi_idup_wait_all(void)
{
	int rc = MPI_SUCCESS;
	long t = cross_enter();
	for (size_t i = 0; i < nidups && rc == MPI_SUCCESS; i++)
		rc = MPI_FN(MPI_Wait)(&idups[i].real, MPI_STATUS_IGNORE);
	cross_leave(t);
	nidups = 0;
	return rc;
}

int mpi_idup_replay(struct mpi_log_reader *R)
{
	int vcomm = 0, vnew = 0, vreq = 0;
	mpi_log_get(R, &vcomm, sizeof(vcomm));
	mpi_log_get(R, &vnew, sizeof(vnew));
	mpi_log_get(R, &vreq, sizeof(vreq));
	if (mpi_log_bad(R))
		return -1;
	if (mpi_idup_pending(vcomm)) { /* its parent must be complete first */
		int rc = mpi_idup_wait_all();
		if (rc != MPI_SUCCESS)
			return rc;
	}
	MPI_Comm rnew = MPI_COMM_NULL;
	MPI_Request rreq = MPI_REQUEST_NULL;
	long t = cross_enter();
	int rc = MPI_FN(MPI_Comm_idup)(h_in(MK_COMM, vcomm), &rnew, &rreq);
	cross_leave(t);
	if (rc != MPI_SUCCESS)
		return rc;
	h_rebind(MK_COMM, vnew, rnew);
	struct mpi_req_flight *f = h_req_flight(vreq);
	if (f && f->kind == FL_WAIT && f->idup == vnew && f->cut == FLC_AHEAD) {
		h_rebind(MK_REQUEST, vreq, rreq);
		f->cut = FLC_NONE;
		f->loose = 0;
		return MPI_SUCCESS;
	}
	idups = mpi_grow(idups, nidups, &capidups, sizeof(*idups), 8, "the communicators being made");
	idups[nidups++] = (struct idup_pending){ rreq, vnew };
	return MPI_SUCCESS;
}
