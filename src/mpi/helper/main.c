/*
 * LOWER HALF: cairn-mpi-lower, the program the split provider
 * (src/mpi/lower_split.c) loads into the split process's window. A PIE
 * linked with the real libmpich.so.12; its table is the generated
 * lower_table.c (MPICH's PMPI_ functions by enum mpi_fn), handed to the
 * upper half by split_helper_main (src/split/helper.h). It never returns
 * to its own main: the upper half calls its functions from then on.
 */
#include "mpi_gen.h"
#include "split/helper.h"

extern void *const cairn_mpi_lower_table[MPI_FN_COUNT];

int main(int argc, char **argv)
{
	return split_helper_main(argc, argv, cairn_mpi_lower_table, MPI_FN_COUNT);
}
