/*
 * imgtool: crafts "foreign but well-formed" images for the fault tests by
 * rewriting a header field of an existing image and recomputing the header
 * checksum, so that only cairn's compatibility checks can refuse the result.
 *
 *   imgtool set FILE FIELD N    FIELD: arch version vdso_hash vdso_size
 *                               xfeatures page_size pid uid
 *   imgtool get FILE FIELD      prints the field (decimal)
 *   imgtool layout FILE         one line per region, "KIND NAME OFFSET LENGTH":
 *                               header, section, padding, index
 *
 * N is decimal or 0x-hex. Not a test: built by the fault scripts with
 *   gcc -O1 -g -D_GNU_SOURCE -Isrc tests/tools/imgtool.c -lxxhash
 * It needs only the format (format.h) and XXH3, not the image layer, so that
 * it works whatever state the reader is in.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "image/format.h"

static const struct field {
	const char *name;
	size_t off, size;
} fields[] = {
	{"arch", offsetof(struct img_header, arch), 4},
	{"version", offsetof(struct img_header, version), 4},
	{"vdso_hash", offsetof(struct img_header, vdso_hash), 8},
	{"vdso_size", offsetof(struct img_header, vdso_size), 8},
	{"xfeatures", offsetof(struct img_header, xfeatures), 8},
	{"page_size", offsetof(struct img_header, page_size), 4},
	{"pid", offsetof(struct img_header, pid), 4},
	{"uid", offsetof(struct img_header, uid), 4},
	{"file_size", offsetof(struct img_header, file_size), 8},
	{"nsections", offsetof(struct img_header, nsections), 4},
};

static const char *const section_names[] = {
	"?", "meta", "vmas", "chunks", "pages", "threads", "sigactions",
	"sigpending", "timers", "fds", "blobs", "strtab",
};

static int usage(void)
{
	fprintf(stderr, "usage: imgtool set FILE FIELD N | get FILE FIELD | layout FILE\n"
			"fields: arch version vdso_hash vdso_size xfeatures page_size pid uid "
			"file_size nsections\n");
	return 2;
}

static const struct field *find_field(const char *name)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(fields[i].name, name) == 0)
			return &fields[i];
	fprintf(stderr, "imgtool: unknown field '%s'\n", name);
	return NULL;
}

static int read_header(int fd, const char *file, struct img_header *h)
{
	if (pread(fd, h, sizeof(*h), 0) != (ssize_t)sizeof(*h)) {
		fprintf(stderr, "imgtool: %s: cannot read a header\n", file);
		return -1;
	}
	if (memcmp(h->magic, IMG_MAGIC, 8) != 0) {
		fprintf(stderr, "imgtool: %s: not a cairn image\n", file);
		return -1;
	}
	return 0;
}

static int layout(int fd, const char *file)
{
	struct img_header h;
	struct img_section sec[IMG_MAX_SECTIONS];
	uint64_t pos = IMG_HEADER_SIZE;

	if (read_header(fd, file, &h) < 0)
		return 1;
	if (h.nsections > IMG_MAX_SECTIONS ||
	    pread(fd, sec, h.nsections * sizeof(sec[0]), (off_t)h.index_offset) !=
		    (ssize_t)(h.nsections * sizeof(sec[0]))) {
		fprintf(stderr, "imgtool: %s: cannot read the index\n", file);
		return 1;
	}
	printf("header header 0 %d\n", IMG_HEADER_SIZE);
	for (uint32_t i = 0; i <= h.nsections; i++) {
		uint64_t next = i < h.nsections ? sec[i].offset : h.index_offset;
		if (next > pos)
			printf("padding - %llu %llu\n", (unsigned long long)pos,
			       (unsigned long long)(next - pos));
		if (i == h.nsections)
			break;
		printf("section %s %llu %llu\n",
		       sec[i].type < sizeof(section_names) / sizeof(section_names[0])
			       ? section_names[sec[i].type]
			       : "unknown",
		       (unsigned long long)sec[i].offset, (unsigned long long)sec[i].size);
		pos = sec[i].offset + sec[i].size;
	}
	printf("index index %llu %llu\n", (unsigned long long)h.index_offset,
	       (unsigned long long)(h.nsections * sizeof(sec[0])));
	return 0;
}

int main(int argc, char **argv)
{
	struct img_header h;
	const struct field *f;
	uint64_t v = 0;
	int fd;

	if (argc == 3 && strcmp(argv[1], "layout") == 0) {
		fd = open(argv[2], O_RDONLY);
		if (fd < 0) {
			fprintf(stderr, "imgtool: %s: %s\n", argv[2], strerror(errno));
			return 1;
		}
		return layout(fd, argv[2]);
	}
	if (argc == 4 && strcmp(argv[1], "get") == 0) {
		if (!(f = find_field(argv[3])))
			return 2;
		fd = open(argv[2], O_RDONLY);
		if (fd < 0 || read_header(fd, argv[2], &h) < 0)
			return 1;
		memcpy(&v, (char *)&h + f->off, f->size);
		printf("%llu\n", (unsigned long long)v);
		return 0;
	}
	if (argc != 5 || strcmp(argv[1], "set") != 0)
		return usage();
	if (!(f = find_field(argv[3])))
		return 2;
	char *end;
	errno = 0;
	v = strtoull(argv[4], &end, 0);
	if (errno || !*argv[4] || *end) {
		fprintf(stderr, "imgtool: '%s' is not a number\n", argv[4]);
		return 2;
	}
	fd = open(argv[2], O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "imgtool: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	if (read_header(fd, argv[2], &h) < 0)
		return 1;
	memcpy((char *)&h + f->off, &v, f->size); /* little-endian */
	h.checksum = XXH3_64bits(&h, offsetof(struct img_header, checksum));
	if (pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || fsync(fd) < 0) {
		fprintf(stderr, "imgtool: %s: cannot write: %s\n", argv[2], strerror(errno));
		return 1;
	}
	close(fd);
	return 0;
}
