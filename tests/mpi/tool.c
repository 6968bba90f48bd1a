/* The tool information interface (MPI_T): initialization, variable and
 * category queries, a control variable read through a handle. MPI_T's
 * handles cross unchanged (they are the lower half's). */
#include <stdio.h>

#include "report.h"

int main(int argc, char **argv)
{
	int provided, ncvar = -1, npvar = -1, ncat = -1, i;
	MPI_Init(&argc, &argv);
	int rc = MPI_T_init_thread(MPI_THREAD_SINGLE, &provided);
	CHECK(rc == MPI_SUCCESS, "MPI_T_init_thread %d", rc);
	MPI_T_cvar_get_num(&ncvar);
	MPI_T_pvar_get_num(&npvar);
	MPI_T_category_get_num(&ncat);
	CHECK(ncvar > 0 && npvar >= 0 && ncat > 0, "counts %d %d %d", ncvar, npvar, ncat);
	say("cvars %d pvars %d categories %d", ncvar, npvar, ncat);

	/* every control variable's info; read the first integer one unbound */
	int nint = 0, read_one = 0;
	for (i = 0; i < ncvar; i++) {
		char name[256], desc[1024];
		int nl = sizeof(name), dl = sizeof(desc), verb, bind, scope;
		MPI_Datatype dt;
		MPI_T_enum en;
		rc = MPI_T_cvar_get_info(i, name, &nl, &verb, &dt, &en, desc, &dl, &bind, &scope);
		CHECK(rc == MPI_SUCCESS, "cvar %d info", i);
		if (rc != MPI_SUCCESS)
			continue;
		int idx = -1;
		MPI_T_cvar_get_index(name, &idx);
		CHECK(idx == i, "cvar %s index %d", name, idx);
		if (dt == MPI_INT)
			nint++;
		if (i < 3)
			say("cvar %d: %s", i, name);
		if (!read_one && dt == MPI_INT && bind == MPI_T_BIND_NO_OBJECT) {
			MPI_T_cvar_handle h;
			int count = 0, v[16];
			rc = MPI_T_cvar_handle_alloc(i, NULL, &h, &count);
			CHECK(rc == MPI_SUCCESS && count >= 1, "cvar handle");
			if (rc == MPI_SUCCESS && count <= 16) {
				MPI_T_cvar_read(h, v);
				say("cvar %s = %d", name, v[0]);
				MPI_T_cvar_handle_free(&h);
				CHECK(h == MPI_T_CVAR_HANDLE_NULL, "cvar handle free");
				read_one = 1;
			}
		}
		if (!read_one && dt == MPI_INT && bind == MPI_T_BIND_MPI_COMM) {
			MPI_T_cvar_handle h;
			int count = 0;
			MPI_Comm c = MPI_COMM_WORLD;
			CHECK(MPI_T_cvar_handle_alloc(i, &c, &h, &count) == MPI_SUCCESS, "bound cvar");
			MPI_T_cvar_handle_free(&h);
		}
	}
	say("integer cvars %d, read one %d", nint, read_one);
	for (i = 0; i < ncat && i < 3; i++) {
		char name[256], desc[1024];
		int nl = sizeof(name), dl = sizeof(desc), nc, np, nsub;
		MPI_T_category_get_info(i, name, &nl, desc, &dl, &nc, &np, &nsub);
		say("category %d: %s (%d cvars)", i, name, nc);
	}
	/* a performance variable session */
	MPI_T_pvar_session s;
	CHECK(MPI_T_pvar_session_create(&s) == MPI_SUCCESS, "pvar session");
	MPI_T_pvar_session_free(&s);
	CHECK(MPI_T_finalize() == MPI_SUCCESS, "MPI_T_finalize");
	return report_end();
}
