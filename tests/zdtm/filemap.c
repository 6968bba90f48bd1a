/* File mappings: a private one with some pages modified, a shared one
 * written after the checkpoint (the write reaches the file). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "zdtm.h"

#define P 4096
int main(void)
{
	char path[4096], spath[4096];
	snprintf(path, sizeof(path), "%s/private.dat", getenv("ZDTM_DIR"));
	snprintf(spath, sizeof(spath), "%s/shared.dat", getenv("ZDTM_DIR"));
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	int sfd = open(spath, O_RDWR | O_CREAT | O_TRUNC, 0644);
	char page[P];
	for (int i = 0; i < 16; i++) {
		memset(page, 'A' + i, P);
		if (write(fd, page, P) != P || write(sfd, page, P) != P)
			zdtm_fail("write");
	}
	char *pm = mmap(NULL, 16 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	char *sm = mmap(NULL, 16 * P, PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0);
	close(fd);
	close(sfd);
	for (int i = 0; i < 16; i += 3)
		memset(pm + i * P, 'a' + i, P); /* copied-on-write pages */
	(void)pm[P + 5];                         /* a page read, not written */
	zdtm_ready();
	zdtm_wait_go();
	for (int i = 0; i < 16; i++)
		for (int k = 0; k < P; k += 511)
			zdtm_check(pm[i * P + k] == (i % 3 == 0 ? 'a' + i : 'A' + i),
				   "private file mapping page %d", i);
	memset(sm + 7 * P, 'z', P);
	msync(sm, 16 * P, MS_SYNC);
	sfd = open(spath, O_RDONLY);
	if (pread(sfd, page, P, 7 * P) != P)
		zdtm_fail("pread");
	for (int k = 0; k < P; k++)
		zdtm_check(page[k] == 'z', "a write to the shared mapping did not reach the file");
	zdtm_check(sm[3 * P] == 'D', "shared mapping lost its contents");
	zdtm_pass();
}
