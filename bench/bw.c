/*
 * The limits bench/run compares with, measured on this machine now:
 *   bw write DIR   1 GiB written to DIR with write() then fsync, in GB/s
 *   bw read DIR    the same file read back (drop the page cache first)
 *   bw memcpy      1 GiB copied in 64 MiB blocks into pre-faulted memory
 *   bw fill DIR    the file read (O_DIRECT) into 1 GiB of freshly mapped
 *                  memory (huge pages): what any restore must at least do
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define GIB (1ull << 30)
#define BLK (64u << 20)

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	char path[4096];
	char *buf = mmap(NULL, BLK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	for (size_t i = 0; i < BLK; i++)
		buf[i] = (char)(i * 2654435761u >> 13);
	if (argc < 2)
		return 2;
	if (strcmp(argv[1], "memcpy") == 0) {
		char *dst = mmap(NULL, GIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		double t0 = now();
		for (size_t off = 0; off < GIB; off += BLK)
			memcpy(dst + off, buf, BLK);
		printf("%.3f\n", GIB / (now() - t0) / 1e9);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/bw.tmp", argv[2]);
	if (strcmp(argv[1], "write") == 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		double t0 = now();
		for (size_t off = 0; off < GIB; off += BLK)
			if (write(fd, buf, BLK) != BLK)
				return 1;
		fsync(fd);
		printf("%.3f\n", GIB / (now() - t0) / 1e9);
		close(fd);
		return 0;
	}
	if (strcmp(argv[1], "fill") == 0) {
		int fd = open(path, O_RDONLY | O_DIRECT);
		char *dst = mmap(NULL, GIB + (2u << 20), PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		dst = (char *)(((unsigned long)dst + (2u << 20) - 1) & ~((2ul << 20) - 1));
		madvise(dst, GIB, MADV_HUGEPAGE);
		double t0 = now();
		for (size_t off = 0; off < GIB; off += BLK)
			if (pread(fd, dst + off, BLK, (off_t)off) != BLK)
				return 1;
		printf("%.3f\n", GIB / (now() - t0) / 1e9);
		return 0;
	}
	int fd = open(path, O_RDONLY);
	double t0 = now();
	while (read(fd, buf, BLK) > 0)
		;
	printf("%.3f\n", GIB / (now() - t0) / 1e9);
	return 0;
}
