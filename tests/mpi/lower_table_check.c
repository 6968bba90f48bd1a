/* The lower half's generated table (lower_table.c), built against the real
 * MPICH: every entry must be the function its name says, in index order. */
#include <dlfcn.h>
#include <stdio.h>

#include "mpi_gen.h"

extern void *const cairn_mpi_lower_table[MPI_FN_COUNT];

int main(void)
{
	int bad = 0;
	for (int i = 0; i < MPI_FN_COUNT; i++) {
		void *want = dlsym(RTLD_DEFAULT, mpi_fn_names[i]);
		if (!cairn_mpi_lower_table[i] || cairn_mpi_lower_table[i] != want) {
			printf("entry %d (%s) is %p, the library's is %p\n", i, mpi_fn_names[i],
			       cairn_mpi_lower_table[i], want);
			bad++;
		}
	}
	printf("%d entries, %d wrong\n", MPI_FN_COUNT, bad);
	return bad != 0;
}
