/*
 * filemap: file mappings survive. A MAP_PRIVATE RW mapping of a file, with
 * some pages modified: the modifications stay and the other pages still
 * equal the file. A read-only private mapping at a file offset. A MAP_SHARED
 * mapping written before and after go: both writes reach the file (pread),
 * and a pwrite to the file shows through the mapping.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtm.h"

#define PG 4096
#define NP 16

static char content[NP * PG];

static int make(const char *name)
{
	char path[4096];
	int fd;

	zdtm_path(path, sizeof path, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	zdtm_check(fd >= 0, "cannot create %s", path);
	zdtm_check(write(fd, content, sizeof content) == sizeof content, "write %s", path);
	return fd;
}

int main(void)
{
	char *priv, *ro, *sh, buf[PG];
	int fp, fs;

	for (size_t i = 0; i < sizeof content; i++)
		content[i] = (char)(i * 7 + i / PG);
	fp = make("private.dat");
	fs = make("shared.dat");
	priv = mmap(NULL, NP * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fp, 0);
	ro = mmap(NULL, 4 * PG, PROT_READ, MAP_PRIVATE, fp, 4 * PG);
	sh = mmap(NULL, NP * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fs, 0);
	zdtm_check(priv != MAP_FAILED && ro != MAP_FAILED && sh != MAP_FAILED, "mmap failed");
	close(fp); /* the mappings alone keep the files */
	zdtm_check(priv[PG + 5] == content[PG + 5] && ro[0] == content[4 * PG], "mapping != file");
	memset(priv + 3 * PG, 'p', PG);
	memset(priv + 7 * PG + 100, 'q', 10);
	memcpy(sh + 2 * PG, "before checkpoint", 17);
	zdtm_ready();
	zdtm_wait_go();

	for (int p = 0; p < NP; p++) {
		for (int i = 0; i < PG; i++) {
			size_t o = (size_t)p * PG + i;
			char want = content[o];

			if (p == 3)
				want = 'p';
			else if (p == 7 && i >= 100 && i < 110)
				want = 'q';
			zdtm_check(priv[o] == want, "private mapping byte %zu is %#x, expected %#x", o,
			       priv[o] & 0xff, want & 0xff);
		}
	}
	zdtm_check(memcmp(ro, content + 4 * PG, 4 * PG) == 0, "read-only mapping at offset differs");
	zdtm_check(memcmp(sh + 2 * PG, "before checkpoint", 17) == 0, "shared mapping lost its write");
	zdtm_check(memcmp(sh, content, 2 * PG) == 0, "shared mapping differs from the file");
	memcpy(sh + 9 * PG + 1, "after go", 8);
	zdtm_check(msync(sh, NP * PG, MS_SYNC) == 0, "msync");
	zdtm_check(pread(fs, buf, 17, 2 * PG) == 17 && memcmp(buf, "before checkpoint", 17) == 0,
	       "the write before the checkpoint did not reach the file");
	zdtm_check(pread(fs, buf, 8, 9 * PG + 1) == 8 && memcmp(buf, "after go", 8) == 0,
	       "the write after go did not reach the file");
	zdtm_check(pwrite(fs, "via pwrite", 10, 11 * PG) == 10, "pwrite");
	zdtm_check(memcmp(sh + 11 * PG, "via pwrite", 10) == 0,
	       "a pwrite to the file does not show in its shared mapping");
	zdtm_pass();
}
