/*
 * image_roundtrip: what the image writer puts in a file, the reader gives
 * back, byte for byte.
 *
 * Writes an image with small sections, an empty one, an odd-sized one and a
 * multi-MiB PAGES section fed in pieces of every size (some staged, some
 * written straight through), a multi-MiB section through img_put_stable, a
 * page-aligned one fed in page-aligned pieces (img_put and img_put_stable
 * in turn), reads it back with img_open, img_verify and img_load, and
 * compares; three times: as the writer chooses, through a bounce buffer the
 * test gives (smaller than the pieces, and it must be used), and with none. Also: the PAGES section starts 4 KiB-aligned, the
 * header fields the caller owns survive, the writer never calls malloc (it
 * runs while other threads may hold the allocator's locks), an image with no
 * sections is valid, and a write error (EBADF, ENOSPC from /dev/full) is
 * reported by img_writer_finish instead of producing a file.
 */
#ifndef XXH_STATIC_LINKING_ONLY
#define XXH_STATIC_LINKING_ONLY
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image.h"

#define NAME "image_roundtrip"

static int failures;

static void fail(const char *f, ...)
{
	va_list ap;

	printf("FAIL unit/" NAME ": ");
	va_start(ap, f);
	vprintf(f, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	failures++;
}

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fail(__VA_ARGS__);                                                         \
	} while (0)

/* Counting allocator: the writer must not reach it. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
static int counting, mallocs;

void *malloc(size_t n)
{
	if (counting)
		mallocs++;
	return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	if (counting)
		mallocs++;
	return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	if (counting)
		mallocs++;
	return __libc_realloc(p, n);
}

/* xorshift64*: the same bytes on every libc. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ull;
}

static void fill(void *p, size_t len)
{
	unsigned char *c = p;
	for (size_t i = 0; i < len; i++)
		c[i] = (unsigned char)(rnd() >> 56);
}

struct sec_spec {
	uint32_t type;
	uint64_t align;
	size_t len;
	unsigned char *data;
	int stable;  /* written with img_put_stable (2: in turn with img_put) */
	int aligned; /* fed in page-aligned pieces */
};

static int temp_file(char *path, size_t len)
{
	const char *dir = getenv("TMPDIR");
	snprintf(path, len, "%s/cairn-unit-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0) {
		fail("mkstemp %s: %s", path, strerror(errno));
		exit(1);
	}
	return fd;
}

/* Feeds data to img_put in pieces of varying size: 1 byte, odd sizes, and
 * pieces larger than half the staging buffer that are written directly. */
static void put_pieces(struct img_writer *w, const unsigned char *p, size_t len, int stable,
		       int aligned)
{
	static const size_t sizes[] = {1, 7, 4096, 100000, 3, 700000, 65536, 1 << 20, 2 << 20, 13};
	static const size_t pages[] = {4096, 3 << 20, 1 << 20, 8192, (2 << 20) + 4096, 524288};
	const size_t *sz = aligned ? pages : sizes;
	size_t nsz = aligned ? sizeof(pages) / sizeof(pages[0]) : sizeof(sizes) / sizeof(sizes[0]);
	size_t i = 0, k = 0;

	while (i < len) {
		size_t n = sz[k++ % nsz];
		if (n > len - i)
			n = len - i;
		uint64_t before = img_section_pos(w);
		if (stable == 1 || (stable == 2 && k % 2))
			img_put_stable(w, p + i, n);
		else
			img_put(w, p + i, n);
		CHECK(img_section_pos(w) == before + n, "img_section_pos did not advance by %zu", n);
		i += n;
	}
}

enum { WRITER_CHOOSES, OUR_BOUNCE, NO_BOUNCE };

static void roundtrip(int mode)
{
	const size_t pages_len = (5u << 20) + 3 * 4096; /* 5 MiB + 3 pages */
	struct img_meta meta;
	static const char strtab[] = "\0/usr/bin/prog\0/home/u\0prog";
	struct sec_spec specs[] = {
		{SEC_META, 8, sizeof(meta), NULL, 0},
		{SEC_VMAS, 8, 3 * sizeof(struct img_vma), NULL, 0},
		{SEC_FDS, 8, 0, NULL, 0}, /* empty section */
		{SEC_BLOBS, 1, 1001, NULL, 0}, /* odd size: padding follows */
		{SEC_PAGES, IMG_PAGE, pages_len, NULL, 0},
		{SEC_THREADS, 8, 2 * sizeof(struct img_thread), NULL, 0},
		{SEC_SIGACTS, 8, 64 * sizeof(struct img_sigaction), NULL, 0},
		{SEC_SIGPEND, 8, (3u << 20) + 5, NULL, 1}, /* big, through the stager */
		{SEC_CHUNKS, IMG_PAGE, (9u << 20) + 8192, NULL, 2, 1}, /* page-aligned pieces */
		{SEC_STRTAB, 1, sizeof(strtab), NULL, 0},
	};
	const unsigned nspecs = sizeof(specs) / sizeof(specs[0]);
	char path[4096], err[512];
	struct img_writer w;
	struct img_header h;
	struct img_reader r;
	int fd = temp_file(path, sizeof(path));

	memset(&meta, 0, sizeof(meta));
	meta.pid = 4242;
	meta.brk = 0x1234000;
	meta.rlim_cur[3] = 8 << 20;
	for (unsigned i = 0; i < nspecs; i++) {
		specs[i].data = malloc(specs[i].len ? specs[i].len : 1);
		if (specs[i].type == SEC_META)
			memcpy(specs[i].data, &meta, sizeof(meta));
		else if (specs[i].type == SEC_STRTAB)
			memcpy(specs[i].data, strtab, sizeof(strtab));
		else
			fill(specs[i].data, specs[i].len);
	}

	memset(&h, 0, sizeof(h));
	h.xfeatures = 0x2e7;
	h.created_ns = 1700000000123456789ull;
	h.pid = 4242;
	h.uid = 1000;
	snprintf(h.kernel, sizeof(h.kernel), "6.1.0-test");
	snprintf(h.machine, sizeof(h.machine), "x86_64");
	snprintf(h.libc, sizeof(h.libc), "2.36");
	h.vdso_size = 8192;
	h.vdso_hash = 0x0123456789abcdefull;
	h.vvar_size = 16384;

	counting = 1;
	mallocs = 0;
	CHECK(img_writer_init(&w, fd) == 0, "img_writer_init failed: %s", strerror(errno));
	/* the bounce buffer: 1 MiB (the pieces are up to 3 MiB), marked */
	static char *ours;
	if (!ours)
		ours = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mode != WRITER_CHOOSES) {
		if (w.map)
			munmap(w.map, w.maplen);
		w.map = w.bounce = mode == OUR_BOUNCE ? ours : NULL;
		w.maplen = w.bouncecap = mode == OUR_BOUNCE ? 1 << 20 : 0;
		memset(ours, 0x5a, 1 << 20);
	}
	for (unsigned i = 0; i < nspecs; i++) {
		img_section_begin(&w, specs[i].type, specs[i].align);
		CHECK(img_section_pos(&w) == 0, "new section %u does not start at position 0", i);
		put_pieces(&w, specs[i].data, specs[i].len, specs[i].stable, specs[i].aligned);
		img_section_end(&w);
	}
	int rc = img_writer_finish(&w, &h);
	int e = errno;
	if (mode == OUR_BOUNCE)
		w.map = NULL; /* ours */
	img_writer_free(&w);
	counting = 0;
	CHECK(mode != OUR_BOUNCE || ours[0] != 0x5a || ours[(1 << 20) - 1] != 0x5a,
	      "the writer did not use the bounce buffer it was given");
	CHECK(rc == 0, "img_writer_finish failed: %s", strerror(e));
	CHECK(mallocs == 0, "the writer called malloc/calloc/realloc %d times", mallocs);
	CHECK(w.err == 0, "writer recorded error %d", w.err);

	struct stat sb;
	fstat(fd, &sb);
	CHECK(h.file_size == (uint64_t)sb.st_size, "header says %llu bytes, file has %lld",
	      (unsigned long long)h.file_size, (long long)sb.st_size);
	CHECK(h.nsections == nspecs, "header has %u sections, expected %u", h.nsections, nspecs);

	/* Read back through a fresh descriptor, as restart would. */
	int rfd = open(path, O_RDONLY);
	CHECK(rfd >= 0, "reopen %s: %s", path, strerror(errno));
	err[0] = 0;
	rc = img_open(&r, rfd, err, sizeof(err));
	CHECK(rc == 0, "img_open refused a fresh image: %s", err);
	if (rc == 0) {
		rc = img_verify(&r, err, sizeof(err));
		CHECK(rc == 0, "img_verify refused a fresh image: %s", err);
	}
	if (rc == 0) {
		CHECK(memcmp(r.hdr.magic, IMG_MAGIC, 8) == 0, "bad magic read back");
		CHECK(r.hdr.version == IMG_VERSION, "version %u", r.hdr.version);
		CHECK(r.hdr.arch == 62, "arch %u", r.hdr.arch);
		CHECK(r.hdr.page_size == IMG_PAGE, "page size %u", r.hdr.page_size);
		CHECK(r.hdr.header_size == IMG_HEADER_SIZE, "header size %u", r.hdr.header_size);
		CHECK(r.hdr.xfeatures == 0x2e7, "xfeatures not kept");
		CHECK(r.hdr.created_ns == 1700000000123456789ull, "created_ns not kept");
		CHECK(r.hdr.pid == 4242 && r.hdr.uid == 1000, "pid/uid not kept");
		CHECK(strcmp(r.hdr.kernel, "6.1.0-test") == 0, "kernel '%s'", r.hdr.kernel);
		CHECK(strcmp(r.hdr.machine, "x86_64") == 0, "machine '%s'", r.hdr.machine);
		CHECK(strcmp(r.hdr.libc, "2.36") == 0, "libc '%s'", r.hdr.libc);
		CHECK(r.hdr.vdso_size == 8192 && r.hdr.vdso_hash == 0x0123456789abcdefull &&
			      r.hdr.vvar_size == 16384,
		      "vdso fields not kept");
		CHECK(r.file_size == h.file_size, "reader file size %llu",
		      (unsigned long long)r.file_size);
		CHECK(r.hdr.nsections == nspecs, "read %u sections", r.hdr.nsections);
		CHECK(r.hdr.index_offset % 8 == 0, "index offset %llu not 8-aligned",
		      (unsigned long long)r.hdr.index_offset);
		uint64_t prev_end = IMG_HEADER_SIZE;
		for (unsigned i = 0; i < nspecs && i < r.hdr.nsections; i++) {
			const struct img_section *s = &r.sec[i];
			CHECK(s->type == specs[i].type, "section %u has type %u, expected %u", i,
			      s->type, specs[i].type);
			CHECK(s->size == specs[i].len, "section %u size %llu, expected %zu", i,
			      (unsigned long long)s->size, specs[i].len);
			CHECK(s->offset % specs[i].align == 0, "section %u at %llu not %llu-aligned",
			      i, (unsigned long long)s->offset, (unsigned long long)specs[i].align);
			CHECK(s->offset >= prev_end, "section %u overlaps the previous one", i);
			CHECK(s->offset - prev_end < specs[i].align,
			      "section %u leaves %llu bytes of padding for alignment %llu", i,
			      (unsigned long long)(s->offset - prev_end),
			      (unsigned long long)specs[i].align);
			CHECK(s->checksum == img_hash(specs[i].data, specs[i].len),
			      "section %u checksum is not XXH3 of its bytes", i);
			prev_end = s->offset + s->size;
			const struct img_section *f = img_find(&r, specs[i].type);
			CHECK(f == s, "img_find(%s) did not find section %u",
			      img_section_name(specs[i].type), i);
		}
		const struct img_section *pg = img_find(&r, SEC_PAGES);
		CHECK(pg && pg->offset % 4096 == 0, "PAGES section not 4096-aligned");
		CHECK(strcmp(img_section_name(SEC_PAGES), "pages") == 0, "name of PAGES");
		CHECK(strcmp(img_section_name(999), "unknown") == 0, "name of type 999");
		CHECK(img_find(&r, SEC_TIMERS) == NULL, "img_find found a TIMERS section");

		for (unsigned i = 0; i < nspecs; i++) {
			size_t len = 12345;
			err[0] = 0;
			void *p = img_load(&r, specs[i].type, &len, err, sizeof(err));
			CHECK(p != NULL, "img_load(%s): %s", img_section_name(specs[i].type), err);
			if (!p)
				continue;
			CHECK(len == specs[i].len, "img_load(%s) gave %zu bytes, expected %zu",
			      img_section_name(specs[i].type), len, specs[i].len);
			CHECK(len != specs[i].len || memcmp(p, specs[i].data, len) == 0,
			      "img_load(%s) content differs", img_section_name(specs[i].type));
			free(p);
		}
		size_t len = 0;
		err[0] = 0;
		void *p = img_load(&r, SEC_TIMERS, &len, err, sizeof(err));
		CHECK(p == NULL && err[0], "img_load of a missing section did not fail with a message");
		free(p);

		/* The header page read straight from disk. */
		struct img_header raw;
		CHECK(pread(rfd, &raw, sizeof(raw), 0) == (ssize_t)sizeof(raw), "pread header");
		CHECK(raw.checksum == img_hash(&raw, offsetof(struct img_header, checksum)),
		      "header checksum is not XXH3 of the bytes before it");
		CHECK(raw.index_checksum == img_hash(r.sec, raw.nsections * sizeof(r.sec[0])),
		      "index checksum is not XXH3 of the index");

		/* A loaded strtab reads back through img_str. */
		p = img_load(&r, SEC_STRTAB, &len, err, sizeof(err));
		if (p) {
			const char *s1 = img_str(p, len, 1);
			CHECK(s1 && strcmp(s1, "/usr/bin/prog") == 0, "img_str offset 1");
			const char *s0 = img_str(p, len, 0);
			CHECK(s0 && *s0 == 0, "img_str offset 0 is not the empty string");
			free(p);
		}
	}
	close(rfd);
	close(fd);
	unlink(path);
	for (unsigned i = 0; i < nspecs; i++)
		free(specs[i].data);
}

/* An image with no sections at all is still a valid image. */
static void empty_image(void)
{
	char path[4096], err[512];
	struct img_writer w;
	struct img_header h;
	struct img_reader r;
	int fd = temp_file(path, sizeof(path));

	memset(&h, 0, sizeof(h));
	CHECK(img_writer_init(&w, fd) == 0, "img_writer_init (empty)");
	CHECK(img_writer_finish(&w, &h) == 0, "img_writer_finish (empty): %s", strerror(errno));
	img_writer_free(&w);
	CHECK(h.file_size == IMG_HEADER_SIZE && h.nsections == 0,
	      "empty image: %llu bytes, %u sections", (unsigned long long)h.file_size, h.nsections);
	err[0] = 0;
	CHECK(img_open(&r, fd, err, sizeof(err)) == 0 && img_verify(&r, err, sizeof(err)) == 0,
	      "empty image refused: %s", err);
	CHECK(img_find(&r, SEC_META) == NULL, "empty image has a META section");
	close(fd);
	unlink(path);
}

/* Write errors surface from img_writer_finish, with errno. */
static void write_error(const char *what, int fd, int want)
{
	static unsigned char big[3 << 20];
	struct img_writer w;
	struct img_header h;

	memset(&h, 0, sizeof(h));
	if (img_writer_init(&w, fd) < 0) {
		CHECK(w.err == want, "%s: img_writer_init failed with %d, expected %d", what, w.err,
		      want);
		img_writer_free(&w);
		return;
	}
	img_section_begin(&w, SEC_META, 8);
	img_put(&w, big, 100);
	img_section_end(&w);
	img_section_begin(&w, SEC_PAGES, IMG_PAGE);
	img_put(&w, big, sizeof(big));
	img_section_end(&w);
	errno = 0;
	int rc = img_writer_finish(&w, &h);
	int e = errno;
	CHECK(rc == -1, "%s: img_writer_finish succeeded", what);
	CHECK(e == want && w.err == want, "%s: errno %d (%s), w.err %d, expected %d (%s)", what, e,
	      strerror(e), w.err, want, strerror(want));
	img_writer_free(&w);
}

static void write_errors(void)
{
	char path[4096];
	int fd = temp_file(path, sizeof(path));
	close(fd);
	fd = open(path, O_RDONLY);
	write_error("read-only descriptor", fd, EBADF);
	close(fd);
	unlink(path);

	fd = open("/dev/full", O_WRONLY);
	if (fd >= 0) {
		write_error("/dev/full", fd, ENOSPC);
		close(fd);
	}
}

/* More sections than the format holds: the writer records an error. */
static void too_many_sections(void)
{
	char path[4096];
	struct img_writer w;
	struct img_header h;
	int fd = temp_file(path, sizeof(path));

	memset(&h, 0, sizeof(h));
	img_writer_init(&w, fd);
	for (int i = 0; i < IMG_MAX_SECTIONS + 1; i++) {
		img_section_begin(&w, SEC_BLOBS, 8);
		img_put(&w, "x", 1);
		img_section_end(&w);
	}
	CHECK(img_writer_finish(&w, &h) == -1, "%d sections accepted by the writer",
	      IMG_MAX_SECTIONS + 1);
	img_writer_free(&w);
	close(fd);
	unlink(path);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	roundtrip(WRITER_CHOOSES);
	roundtrip(OUR_BOUNCE);
	roundtrip(NO_BOUNCE);
	empty_image();
	write_errors();
	too_many_sections();
	if (failures)
		return 1;
	printf("PASS unit/" NAME "\n");
	return 0;
}
