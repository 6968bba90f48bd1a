/* MPI-IO's non-blocking and split-collective access. (Apart from io.c:
 * under the split lower half, ROMIO's POSIX AIO makes the lower libc start
 * a helper thread with every signal blocked, SIGSYS included, so the
 * trapped mmap of its stack kills the process; tests/mpi/run.sh records
 * that as a known failure until src/split handles it.) */
#include <stdio.h>
#include <unistd.h>

#include "report.h"

int main(int argc, char **argv)
{
	int rank, size, i;
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	int other = (rank + 1) % size;
	char path[256];
	if (rank == 0)
		snprintf(path, sizeof(path), "/tmp/cairn-mpi-io-nb-%d.dat", (int)getpid());
	MPI_Bcast(path, sizeof(path), MPI_CHAR, 0, MPI_COMM_WORLD);
	MPI_File fh;
	MPI_File_open(MPI_COMM_WORLD, path, MPI_MODE_CREATE | MPI_MODE_RDWR | MPI_MODE_DELETE_ON_CLOSE,
		      MPI_INFO_NULL, &fh);
	int buf[8], got[8];
	MPI_Request rq[2];
	MPI_Status st;

	/* explicit offsets */
	buf[0] = rank + 7;
	MPI_File_iwrite_at(fh, rank * (MPI_Offset)sizeof(int), buf, 1, MPI_INT, &rq[0]);
	MPI_Wait(&rq[0], &st);
	int cnt;
	MPI_Get_count(&st, MPI_INT, &cnt);
	CHECK(rq[0] == MPI_REQUEST_NULL && cnt == 1, "iwrite_at count %d", cnt);
	MPI_File_sync(fh);
	MPI_Barrier(MPI_COMM_WORLD);
	MPI_File_sync(fh);
	got[0] = -1;
	MPI_File_iread_at(fh, other * (MPI_Offset)sizeof(int), got, 1, MPI_INT, &rq[0]);
	int done = 0;
	while (!done)
		MPI_Test(&rq[0], &done, &st);
	CHECK(got[0] == other + 7, "iread_at %d", got[0]);

	/* individual file pointers */
	MPI_File_seek(fh, (16 + 2 * rank) * (MPI_Offset)sizeof(int), MPI_SEEK_SET);
	buf[0] = rank, buf[1] = -rank;
	MPI_File_iwrite(fh, buf, 2, MPI_INT, &rq[0]);
	MPI_Wait(&rq[0], MPI_STATUS_IGNORE);
	MPI_File_seek(fh, (16 + 2 * rank) * (MPI_Offset)sizeof(int), MPI_SEEK_SET);
	MPI_File_iread(fh, got, 2, MPI_INT, &rq[0]);
	MPI_Wait(&rq[0], MPI_STATUS_IGNORE);
	CHECK(got[0] == rank && got[1] == -rank, "iwrite/iread %d %d", got[0], got[1]);

	/* non-blocking collectives */
	for (i = 0; i < 4; i++)
		buf[i] = rank * 10 + i;
	MPI_File_iwrite_at_all(fh, (64 + 4 * rank) * (MPI_Offset)sizeof(int), buf, 4, MPI_INT, &rq[0]);
	MPI_Waitall(1, rq, MPI_STATUSES_IGNORE);
	MPI_File_iread_at_all(fh, (64 + 4 * other) * (MPI_Offset)sizeof(int), got, 4, MPI_INT, &rq[1]);
	MPI_Wait(&rq[1], MPI_STATUS_IGNORE);
	for (i = 0; i < 4; i++)
		CHECK(got[i] == other * 10 + i, "iread_at_all %d: %d", i, got[i]);

	/* split collectives */
	MPI_File_seek(fh, (128 + rank) * (MPI_Offset)sizeof(int), MPI_SEEK_SET);
	buf[0] = 1000 + rank;
	MPI_File_write_all_begin(fh, buf, 1, MPI_INT);
	MPI_File_write_all_end(fh, buf, &st);
	MPI_File_sync(fh);
	MPI_Barrier(MPI_COMM_WORLD);
	MPI_File_read_at_all_begin(fh, (128 + other) * (MPI_Offset)sizeof(int), got, 1, MPI_INT);
	MPI_File_read_at_all_end(fh, got, &st);
	CHECK(got[0] == 1000 + other, "split collective %d", got[0]);

	/* shared file pointer, non-blocking */
	MPI_File_seek_shared(fh, 256 * sizeof(int), MPI_SEEK_SET);
	buf[0] = rank;
	MPI_File_iwrite_shared(fh, buf, 1, MPI_INT, &rq[0]);
	MPI_Wait(&rq[0], MPI_STATUS_IGNORE);
	MPI_File_sync(fh);
	MPI_Barrier(MPI_COMM_WORLD);
	MPI_File_read_at_all(fh, 256 * sizeof(int), got, size, MPI_INT, MPI_STATUS_IGNORE);
	int seen = 0;
	for (i = 0; i < size; i++)
		seen |= 1 << got[i];
	CHECK(seen == (1 << size) - 1, "iwrite_shared: every rank once (%x)", seen);
	say("non-blocking io: %d %d %d", got[0] >= 0, cnt, done);

	MPI_File_close(&fh);
	CHECK(fh == MPI_FILE_NULL, "close");
	return report_end();
}
