/* Data symbols that MPICH's libmpich.so.12 exports besides its functions.
 * Binaries built against MPICH may refer to them (MPI_UNWEIGHTED,
 * MPI_F_STATUS_IGNORE, MPI_DUP_FN = MPIR_Dup_fn...), so the upper half
 * defines them too. Their addresses are the upper half's: a call that
 * passes one to the lower half must translate it (the Dist_graph functions
 * are stubs until they do).
 */
#include <string.h>

#include "mpi/upper.h"

#define DATA __attribute__((visibility("default")))

DATA int MPIR_C_MPI_UNWEIGHTED;
DATA int MPIR_C_MPI_WEIGHTS_EMPTY;
DATA int *const MPI_UNWEIGHTED = &MPIR_C_MPI_UNWEIGHTED;
DATA int *const MPI_WEIGHTS_EMPTY = &MPIR_C_MPI_WEIGHTS_EMPTY;

DATA MPI_Fint *MPI_F_STATUS_IGNORE;
DATA MPI_Fint *MPI_F_STATUSES_IGNORE;
DATA MPI_F08_status MPIR_F08_MPI_STATUS_IGNORE_OBJ;
DATA MPI_F08_status MPIR_F08_MPI_STATUSES_IGNORE_OBJ[1];
DATA MPI_F08_status *MPI_F08_STATUS_IGNORE = &MPIR_F08_MPI_STATUS_IGNORE_OBJ;
DATA MPI_F08_status *MPI_F08_STATUSES_IGNORE = &MPIR_F08_MPI_STATUSES_IGNORE_OBJ[0];
DATA int MPIR_F08_MPI_IN_PLACE;
DATA int MPIR_F08_MPI_BOTTOM;
DATA struct MPIR_T_pvar_handle_s *const MPI_T_PVAR_ALL_HANDLES = (struct MPIR_T_pvar_handle_s *)-1;

/* MPI_DUP_FN: the attribute copy function that duplicates the value. */
DATA int MPIR_Dup_fn(MPI_Comm comm, int keyval, void *extra_state, void *attribute_val_in,
		     void *attribute_val_out, int *flag)
{
	memcpy(attribute_val_out, &attribute_val_in, sizeof(void *));
	*flag = 1;
	return MPI_SUCCESS;
}
