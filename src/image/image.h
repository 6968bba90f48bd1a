/*
 * The image layer: writes and reads the sectioned, checksummed file that
 * format.h describes. It knows nothing of processes.
 *
 * The writer never allocates with malloc and calls no stdio: it runs in the
 * runtime's manager thread while every other thread of the program is
 * stopped, possibly holding the allocator's locks.
 */
#ifndef CAIRN_IMAGE_H
#define CAIRN_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "image/format.h"

struct img_writer {
	int fd;
	int err;  /* first errno seen, 0 if none */
	uint64_t off;
	uint32_t nsec;
	int open; /* a section is being written */
	int direct, no_direct; /* O_DIRECT is on / cannot be used */
	struct img_section sec[IMG_MAX_SECTIONS];
	XXH3_state_t hash;
	char *buf; /* staging buffer for small writes */
	size_t buflen;
	size_t bufcap;
	/* bounce buffer for large page-aligned writes (huge pages, O_DIRECT);
	 * NULL when it could not be had. map/maplen: the whole mapping, for a
	 * caller that must leave it out of what it saves */
	char *bounce;
	size_t bouncecap;
	void *map;
	size_t maplen;
};

int img_writer_init(struct img_writer *w, int fd);
void img_writer_free(struct img_writer *w);
void img_section_begin(struct img_writer *w, uint32_t type, uint64_t align);
/* img_put() may write large blocks straight from p, which must not change
 * meanwhile; img_put_stable() copies first, for memory that may. */
void img_put(struct img_writer *w, const void *p, size_t len);
void img_put_stable(struct img_writer *w, const void *p, size_t len);
void img_section_end(struct img_writer *w);
/* Offset of the next byte inside the open section. */
uint64_t img_section_pos(const struct img_writer *w);
/* Writes the index and the header (fields other than the ones the writer
 * owns are taken from *h). Returns 0, or -1 with errno and w->err set. */
int img_writer_finish(struct img_writer *w, struct img_header *h);

/* Reading. img_open() maps nothing: it reads the header and the index, and
 * img_verify() reads every byte. Errors are written to err (a sentence
 * without the file name) and the functions return -1. */
struct img_reader {
	int fd;
	uint64_t file_size;
	struct img_header hdr;
	struct img_section sec[IMG_MAX_SECTIONS];
};

int img_open(struct img_reader *r, int fd, char *err, size_t errlen);
int img_verify(struct img_reader *r, char *err, size_t errlen);
/* The same, but leaves the contents of sections of type skip unchecked
 * (padding around them is still checked): for a reader that checks them as
 * it reads them. */
int img_verify_skip(struct img_reader *r, uint32_t skip, char *err, size_t errlen);
const struct img_section *img_find(const struct img_reader *r, uint32_t type);
/* Reads a whole section into a malloc'd buffer; *len gets its size. */
void *img_load(const struct img_reader *r, uint32_t type, size_t *len, char *err,
	       size_t errlen);
const char *img_section_name(uint32_t type);
uint64_t img_hash(const void *p, size_t len);

/* Checked access to a loaded STRTAB: NULL if off is out of range or the
 * string is not terminated. Offset 0 is the empty string. */
const char *img_str(const char *tab, size_t len, uint64_t off);

#endif
