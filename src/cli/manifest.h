/*
 * A job checkpoint's manifest: DIR/ckpt.N/MANIFEST, written last, when
 * every rank's image is complete (src/cli/job.c). A text file, one fact
 * per line; arguments are escaped (%XX for bytes <= 0x20, '%' and 0x7f).
 *
 *   cairn-job-checkpoint 1
 *   number N
 *   ranks R
 *   time UNIXSECONDS
 *   cwd PATH
 *   launcher WORD          (once per word of the launcher command)
 *   option WORD            (once per launcher option)
 *   program WORD           (the program, then its arguments)
 *   rank R size BYTES checksum HEX
 *   host R NAME
 *   pid R PID
 *   end
 */
#ifndef CAIRN_CLI_MANIFEST_H
#define CAIRN_CLI_MANIFEST_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define MANIFEST_NAME "MANIFEST"
#define MANIFEST_MAX_WORDS 256

struct manifest_rank {
	uint64_t size;
	uint64_t checksum; /* the image header's checksum (format.h) */
	char host[64];
	int pid;
};

struct manifest {
	unsigned number;
	int ranks;
	long long time;
	char cwd[PATH_MAX];
	char *launcher[MANIFEST_MAX_WORDS];
	int nlauncher;
	char *options[MANIFEST_MAX_WORDS];
	int noptions;
	char *program[MANIFEST_MAX_WORDS];
	int nprogram;
	struct manifest_rank *rank; /* ranks of them */
};

/* Writes m to path (a temporary name, flushed, then renamed). 0 or -1
 * with a message. */
int manifest_write(const char *path, const struct manifest *m, char *err, size_t len);
/* Reads path into m (manifest_free releases it). 0 or -1 with a message
 * that says what is wrong. */
int manifest_read(const char *path, struct manifest *m, char *err, size_t len);
void manifest_free(struct manifest *m);

/* The header checksum and size of an image file: 0, or -1 with a message. */
int image_identity(const char *path, uint64_t *checksum, uint64_t *size, char *err, size_t len);

#endif
