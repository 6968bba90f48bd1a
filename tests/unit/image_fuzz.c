/*
 * image_fuzz: the reader never accepts a damaged image and never crashes.
 *
 * From a valid image of a few hundred KiB:
 *   1. every byte of the header and of the index, every byte of the padding
 *      between sections, and a sample of each section's bytes, flipped one
 *      at a time: each image is refused by img_open or img_verify;
 *   2. truncated to many lengths: refused, and the message says so
 *      ("truncated", "empty" or "not a complete");
 *   3. thousands of random mutations (writes, insertions, deletions,
 *      truncations) from a fixed seed: never accepted, never a crash;
 *      then mutations of the header and index fields with their checksums
 *      recomputed, which only the structural checks can catch: an accepted
 *      image must still be structurally sound;
 *   4. garbage appended: refused.
 * Also: foreign files (ELF, text, zeros, a pipe) and well-formed foreign
 * headers (another architecture, a newer version) are refused with a
 * message that names the problem, and img_str stays inside its table.
 *
 * Images live in a memfd, so nothing touches the disk.
 */
#ifndef XXH_STATIC_LINKING_ONLY
#define XXH_STATIC_LINKING_ONLY
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image.h"

#define NAME "image_fuzz"

static int failures;
static const char *phase = "setup";
static long iteration = -1;

static void fail(const char *f, ...)
{
	va_list ap;

	if (failures >= 30) { /* enough to see the pattern */
		failures++;
		return;
	}
	printf("FAIL unit/" NAME ": [%s] ", phase);
	va_start(ap, f);
	vprintf(f, ap);
	va_end(ap);
	printf("\n");
	failures++;
}

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fail(__VA_ARGS__);                                                         \
	} while (0)

/* A crash is a failure too: say where it happened. */
static void on_crash(int sig)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg),
			 "FAIL unit/" NAME ": [%s] crashed with signal %d at iteration %ld\n", phase,
			 sig, iteration);
	if (write(1, msg, (size_t)n) < 0) {
	}
	_exit(2);
}

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ull;
}
static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static unsigned char *orig;
static size_t orig_len;
static struct img_header ohdr;
static struct img_section osec[IMG_MAX_SECTIONS];
static int mfd; /* holds the image under test */

static void set_file(const unsigned char *p, size_t len)
{
	if (ftruncate(mfd, 0) < 0 || (len && pwrite(mfd, p, len, 0) != (ssize_t)len) ||
	    ftruncate(mfd, (off_t)len) < 0) {
		printf("FAIL unit/" NAME ": cannot write the memfd: %s\n", strerror(errno));
		exit(1);
	}
}

/* 0 if the reader accepts the file in mfd, -1 with err set if it refuses. */
static int try_image(char *err, size_t errlen, struct img_reader *out)
{
	struct img_reader r;

	err[0] = 0;
	if (img_open(&r, mfd, err, errlen) < 0 || img_verify(&r, err, errlen) < 0) {
		if (!err[0])
			fail("refused without a message");
		return -1;
	}
	if (out)
		*out = r;
	return 0;
}

static void build_image(void)
{
	static unsigned char pages[256 << 10], misc[64 << 10];
	static const char strtab[] = "\0/bin/true\0/tmp\0true\0x";
	struct img_writer w;
	struct img_header h;
	int fd = memfd_create("cairn-base", 0);

	for (size_t i = 0; i < sizeof(pages); i++)
		pages[i] = (unsigned char)(rnd() >> 56);
	for (size_t i = 0; i < sizeof(misc); i++)
		misc[i] = (unsigned char)(rnd() >> 56);
	memset(&h, 0, sizeof(h));
	h.xfeatures = 0x207;
	h.pid = 77;
	snprintf(h.machine, sizeof(h.machine), "x86_64");
	if (fd < 0 || img_writer_init(&w, fd) < 0) {
		printf("FAIL unit/" NAME ": cannot start the base image\n");
		exit(1);
	}
	/* pieces below half the staging buffer: this test is about the reader */
	img_section_begin(&w, SEC_META, 8);
	img_put(&w, misc, sizeof(struct img_meta));
	img_section_end(&w);
	img_section_begin(&w, SEC_VMAS, 8);
	img_put(&w, misc + 1000, 3 * sizeof(struct img_vma));
	img_section_end(&w);
	img_section_begin(&w, SEC_CHUNKS, 8);
	img_put(&w, misc + 3000, 5 * sizeof(struct img_chunk));
	img_section_end(&w);
	img_section_begin(&w, SEC_PAGES, IMG_PAGE);
	for (size_t i = 0; i < sizeof(pages); i += 65536)
		img_put(&w, pages + i, 65536);
	img_section_end(&w);
	img_section_begin(&w, SEC_THREADS, 8);
	img_put(&w, misc + 5000, 2 * sizeof(struct img_thread));
	img_section_end(&w);
	img_section_begin(&w, SEC_BLOBS, 1);
	img_put(&w, misc + 9000, 1001);
	img_section_end(&w);
	img_section_begin(&w, SEC_SIGACTS, IMG_PAGE); /* a page of padding before it */
	img_put(&w, misc + 12000, 64 * sizeof(struct img_sigaction));
	img_section_end(&w);
	img_section_begin(&w, SEC_STRTAB, 1);
	img_put(&w, strtab, sizeof(strtab)); /* odd size: padding before the index */
	img_section_end(&w);
	if (img_writer_finish(&w, &h) < 0) {
		printf("FAIL unit/" NAME ": cannot write the base image: %s\n", strerror(errno));
		exit(1);
	}
	img_writer_free(&w);

	orig_len = (size_t)lseek(fd, 0, SEEK_END);
	orig = malloc(orig_len);
	if (pread(fd, orig, orig_len, 0) != (ssize_t)orig_len) {
		printf("FAIL unit/" NAME ": cannot read the base image back\n");
		exit(1);
	}
	close(fd);
	memcpy(&ohdr, orig, sizeof(ohdr));
	memcpy(osec, orig + ohdr.index_offset, ohdr.nsections * sizeof(osec[0]));

	char err[512];
	set_file(orig, orig_len);
	if (try_image(err, sizeof(err), NULL) < 0) {
		printf("FAIL unit/" NAME ": the base image is refused: %s\n", err);
		exit(1);
	}
}

/* ---- 1. single-byte flips ---- */

static long nflips;

static void flip_at(size_t pos, unsigned char mask)
{
	char err[512];
	unsigned char b = orig[pos] ^ mask;

	iteration = (long)pos;
	if (pwrite(mfd, &b, 1, (off_t)pos) != 1)
		exit(1);
	CHECK(try_image(err, sizeof(err), NULL) < 0, "byte %zu ^ 0x%02x accepted", pos, mask);
	if (pwrite(mfd, &orig[pos], 1, (off_t)pos) != 1)
		exit(1);
	nflips++;
}

static void flips(void)
{
	size_t hdr_len = IMG_HEADER_SIZE;
	size_t idx = ohdr.index_offset, idx_len = ohdr.nsections * sizeof(struct img_section);
	uint64_t pos = IMG_HEADER_SIZE;
	long padding = 0;

	set_file(orig, orig_len);
	phase = "flip header";
	for (size_t i = 0; i < hdr_len; i++) {
		flip_at(i, (unsigned char)(1u << (i % 8)));
		flip_at(i, 0xff);
	}
	phase = "flip index";
	for (size_t i = idx; i < idx + idx_len; i++) {
		flip_at(i, (unsigned char)(1u << (i % 8)));
		flip_at(i, 0xff);
	}
	for (uint32_t s = 0; s <= ohdr.nsections; s++) {
		uint64_t next = s < ohdr.nsections ? osec[s].offset : ohdr.index_offset;
		phase = "flip padding";
		for (uint64_t i = pos; i < next; i++, padding++)
			flip_at(i, (unsigned char)(1u << (i % 8)));
		if (s == ohdr.nsections)
			break;
		phase = "flip section";
		const struct img_section *sec = &osec[s];
		uint64_t step = sec->size / 600 + 1;
		for (uint64_t i = 0; i < sec->size; i += step)
			flip_at(sec->offset + i, (unsigned char)(1u << (i % 8)));
		if (sec->size)
			flip_at(sec->offset + sec->size - 1, 0x80);
		pos = sec->offset + sec->size;
	}
	phase = "flip";
	iteration = -1;
	CHECK(padding > 4000, "the base image has only %ld bytes of padding", padding);
	CHECK(nflips > 5000, "only %ld flips", nflips);

	/* The messages point at the damage. */
	char err[512];
	unsigned char b;
	b = orig[40] ^ 1;
	pwrite(mfd, &b, 1, 40);
	try_image(err, sizeof(err), NULL);
	CHECK(strstr(err, "corrupt") && strstr(err, "header"), "header flip: '%s'", err);
	pwrite(mfd, &orig[40], 1, 40);
	const struct img_section *pg = NULL;
	for (uint32_t s = 0; s < ohdr.nsections; s++)
		if (osec[s].type == SEC_PAGES)
			pg = &osec[s];
	size_t at = pg->offset + 5000;
	b = orig[at] ^ 4;
	pwrite(mfd, &b, 1, (off_t)at);
	try_image(err, sizeof(err), NULL);
	CHECK(strstr(err, "pages") && strstr(err, "checksum"), "pages flip: '%s'", err);
	pwrite(mfd, &orig[at], 1, (off_t)at);
	b = orig[idx + 3] ^ 4;
	pwrite(mfd, &b, 1, (off_t)(idx + 3));
	try_image(err, sizeof(err), NULL);
	CHECK(strstr(err, "index"), "index flip: '%s'", err);
	pwrite(mfd, &orig[idx + 3], 1, (off_t)(idx + 3));
	CHECK(try_image(err, sizeof(err), NULL) == 0, "base image refused after flips: %s", err);
}

/* ---- 2. truncation ---- */

static void truncate_to(size_t len)
{
	char err[512];

	iteration = (long)len;
	set_file(orig, len);
	if (try_image(err, sizeof(err), NULL) == 0) {
		fail("truncated to %zu of %zu bytes: accepted", len, orig_len);
		return;
	}
	CHECK(strstr(err, "truncated") || strstr(err, "empty") || strstr(err, "not a complete"),
	      "truncated to %zu of %zu bytes: message '%s' does not say so", len, orig_len, err);
}

static void truncations(void)
{
	static const size_t fixed[] = {0, 1, 2, 4, 7, 8, 9, 100, 1000, 4095, 4096, 4097, 8191};
	const size_t hs = sizeof(struct img_header);
	phase = "truncate";
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		truncate_to(fixed[i]);
	truncate_to(hs - 1);
	truncate_to(hs);
	truncate_to(hs + 1);
	for (size_t len = 8192; len < orig_len; len += 4096)
		truncate_to(len);
	for (uint32_t s = 0; s < ohdr.nsections; s++) {
		truncate_to(osec[s].offset);
		truncate_to(osec[s].offset + 1);
		if (osec[s].size > 1)
			truncate_to(osec[s].offset + osec[s].size - 1);
		truncate_to(osec[s].offset + osec[s].size);
	}
	truncate_to(ohdr.index_offset);
	truncate_to(ohdr.index_offset + 1);
	truncate_to(orig_len - sizeof(struct img_section));
	truncate_to(orig_len - 1);
	iteration = -1;
}

/* ---- 3. random mutations ---- */

static unsigned char *work;
static size_t work_len, work_cap;

static size_t rand_pos(size_t len)
{
	uint64_t k = below(10);

	if (!len)
		return 0;
	if (k < 3) /* the header fields */
		return below(len < sizeof(struct img_header) ? len : sizeof(struct img_header));
	if (k < 5 && ohdr.index_offset < len) /* the index */
		return ohdr.index_offset + below(len - ohdr.index_offset);
	return below(len);
}

static void mutate_once(void)
{
	size_t p = rand_pos(work_len), n;

	switch (below(6)) {
	case 0: /* write one byte */
		if (work_len)
			work[p] = (unsigned char)rnd();
		break;
	case 1: /* overwrite a run */
		n = 1 + below(16);
		for (size_t i = 0; i < n && p + i < work_len; i++)
			work[p + i] = (unsigned char)rnd();
		break;
	case 2: /* insert */
		n = 1 + below(64);
		if (work_len + n > work_cap)
			break;
		memmove(work + p + n, work + p, work_len - p);
		for (size_t i = 0; i < n; i++)
			work[p + i] = (unsigned char)rnd();
		work_len += n;
		break;
	case 3: /* delete */
		n = 1 + below(64);
		if (p + n > work_len)
			n = work_len - p;
		memmove(work + p, work + p + n, work_len - p - n);
		work_len -= n;
		break;
	case 4: /* truncate */
		work_len = below(work_len + 1);
		break;
	case 5: /* zero a run */
		n = 1 + below(8);
		for (size_t i = 0; i < n && p + i < work_len; i++)
			work[p + i] = 0;
		break;
	}
}

static void random_mutations(void)
{
	const long iters = 6000;
	long unchanged = 0;
	char err[512];

	phase = "random mutation";
	work_cap = orig_len + 4096;
	work = malloc(work_cap);
	for (iteration = 0; iteration < iters; iteration++) {
		memcpy(work, orig, orig_len);
		work_len = orig_len;
		for (uint64_t k = 1 + below(4); k; k--)
			mutate_once();
		if (work_len == orig_len && memcmp(work, orig, orig_len) == 0) {
			unchanged++;
			continue;
		}
		set_file(work, work_len);
		CHECK(try_image(err, sizeof(err), NULL) < 0,
		      "iteration %ld: a changed image (%zu bytes) was accepted", iteration, work_len);
	}
	iteration = -1;
	CHECK(unchanged < iters / 10, "%ld of %ld mutations changed nothing", unchanged, iters);
}

/* Recomputes the header checksum (and optionally the index checksum) so
 * that only the structural checks stand between the reader and the data. */
static void resign(unsigned char *buf, size_t len, int index_too)
{
	struct img_header h;

	memcpy(&h, buf, sizeof(h));
	if (index_too && h.nsections <= IMG_MAX_SECTIONS && h.index_offset <= len &&
	    h.nsections * sizeof(struct img_section) <= len - h.index_offset)
		h.index_checksum = img_hash(buf + h.index_offset,
					    h.nsections * sizeof(struct img_section));
	h.checksum = img_hash(&h, offsetof(struct img_header, checksum));
	memcpy(buf, &h, sizeof(h));
}

/* What img_open promises about an image it accepts. */
static void check_sound(const struct img_reader *r, size_t len, const char *what)
{
	const struct img_header *h = &r->hdr;
	uint64_t pos = IMG_HEADER_SIZE;

	CHECK(h->file_size == len && r->file_size == len, "%s: accepted with file_size %llu for %zu bytes",
	      what, (unsigned long long)h->file_size, len);
	CHECK(h->nsections <= IMG_MAX_SECTIONS, "%s: accepted with %u sections", what,
	      h->nsections);
	CHECK(h->index_offset >= IMG_HEADER_SIZE &&
		      h->index_offset + (uint64_t)h->nsections * sizeof(struct img_section) == len,
	      "%s: accepted with index at %llu", what, (unsigned long long)h->index_offset);
	CHECK(h->version == IMG_VERSION && h->arch == 62 && h->page_size == IMG_PAGE &&
		      h->header_size == IMG_HEADER_SIZE,
	      "%s: accepted with version %u arch %u page %u header %u", what, h->version, h->arch,
	      h->page_size, h->header_size);
	for (uint32_t i = 0; i < h->nsections && i < IMG_MAX_SECTIONS; i++) {
		const struct img_section *s = &r->sec[i];
		CHECK(s->offset >= pos && s->offset <= h->index_offset &&
			      s->size <= h->index_offset - s->offset,
		      "%s: accepted with section %u at %llu+%llu", what, i,
		      (unsigned long long)s->offset, (unsigned long long)s->size);
		if (s->offset >= pos && s->offset <= h->index_offset &&
		    s->size <= h->index_offset - s->offset)
			pos = s->offset + s->size;
	}
}

static uint64_t interesting(uint64_t old)
{
	static const uint64_t v[] = {0,
				     1,
				     8,
				     31,
				     32,
				     64,
				     65,
				     4095,
				     4096,
				     4097,
				     0x7fffffff,
				     0x80000000,
				     0xffffffff,
				     0x100000000ull,
				     0x7fffffffffffffffull,
				     0x8000000000000000ull,
				     0xffffffffffffffffull};
	switch (below(5)) {
	case 0:
		return v[below(sizeof(v) / sizeof(v[0]))];
	case 1:
		return old + below(65) - 32;
	case 2:
		return old + (below(9) - 4) * sizeof(struct img_section);
	case 3:
		return 0 - old + below(3) * 4096;
	default:
		return rnd();
	}
}

static void put_field(unsigned char *p, unsigned size, uint64_t v)
{
	memcpy(p, &v, size); /* little-endian */
}

static uint64_t get_field(const unsigned char *p, unsigned size)
{
	uint64_t v = 0;
	memcpy(&v, p, size);
	return v;
}

static void resigned_mutations(void)
{
	static const struct {
		unsigned off, size;
	} hf[] = {
		{offsetof(struct img_header, version), 4},
		{offsetof(struct img_header, header_size), 4},
		{offsetof(struct img_header, arch), 4},
		{offsetof(struct img_header, page_size), 4},
		{offsetof(struct img_header, file_size), 8},
		{offsetof(struct img_header, index_offset), 8},
		{offsetof(struct img_header, nsections), 4},
		{offsetof(struct img_header, index_checksum), 8},
	};
	const long iters = 4000;
	char err[512];
	struct img_reader r;

	phase = "resigned mutation";
	for (iteration = 0; iteration < iters; iteration++) {
		memcpy(work, orig, orig_len);
		work_len = orig_len;
		int touched_index = 0;
		for (uint64_t k = 1 + below(3); k; k--) {
			if (below(2)) {
				unsigned f = (unsigned)below(sizeof(hf) / sizeof(hf[0]));
				unsigned char *p = work + hf[f].off;
				put_field(p, hf[f].size, interesting(get_field(p, hf[f].size)));
			} else {
				/* a section's offset or size in the index */
				uint32_t s = (uint32_t)below(ohdr.nsections);
				unsigned char *p = work + ohdr.index_offset +
						   s * sizeof(struct img_section) +
						   (below(2) ? offsetof(struct img_section, offset)
							     : offsetof(struct img_section, size));
				put_field(p, 8, interesting(get_field(p, 8)));
				touched_index = 1;
			}
			if (below(4) == 0) /* and sometimes the file's length */
				work_len = orig_len + below(129) - 64;
		}
		resign(work, work_len, touched_index || below(2));
		set_file(work, work_len);
		if (try_image(err, sizeof(err), &r) == 0) {
			check_sound(&r, work_len, "resigned");
			/* and every section loads, at the size the index says */
			for (uint32_t i = 0; i < r.hdr.nsections; i++) {
				size_t len = 0;
				void *p = img_load(&r, r.sec[i].type, &len, err, sizeof(err));
				CHECK(p, "accepted image: img_load(%u) failed: %s", r.sec[i].type, err);
				free(p);
			}
		}
	}
	iteration = -1;
}

/* Index entries that are consistent in every checksum but not in layout. */
static void bad_layouts(void)
{
	char err[512];
	struct img_section *idx;
	struct img_header *h;

	phase = "bad layout";
	struct {
		const char *what;
		uint32_t sec;
		int field; /* 0 offset, 1 size */
		uint64_t value;
	} cases[] = {
		{"section inside the header", 0, 0, 0},
		{"section just before the header ends", 0, 0, IMG_HEADER_SIZE - 8},
		{"section past the index", 1, 0, ohdr.index_offset + 8},
		{"section ending past the index", ohdr.nsections - 1, 1, osec[ohdr.nsections - 1].size + 64},
		{"section with size 2^64-1", 2, 1, ~0ull},
		{"section with offset 2^64-8", 2, 0, ~0ull - 7},
		{"overlapping sections", 1, 0, osec[0].offset + 8},
		{"sections out of order", 2, 0, osec[0].offset},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		memcpy(work, orig, orig_len);
		idx = (struct img_section *)(work + ohdr.index_offset);
		if (cases[c].field == 0)
			idx[cases[c].sec].offset = cases[c].value;
		else
			idx[cases[c].sec].size = cases[c].value;
		resign(work, orig_len, 1);
		set_file(work, orig_len);
		if (try_image(err, sizeof(err), NULL) == 0)
			fail("%s: accepted", cases[c].what);
		else
			CHECK(strstr(err, "corrupt"), "%s: message '%s' does not say corrupt",
			      cases[c].what, err);
	}

	/* header-level layout */
	struct {
		const char *what;
		int field;
		uint64_t value;
	} hcases[] = {
		{"65 sections", 0, IMG_MAX_SECTIONS + 1},
		{"2^32-1 sections", 0, 0xffffffffu},
		{"index inside the header", 1, 64},
		{"file_size 0", 2, 0},
		{"file_size 2^64-1", 2, ~0ull},
	};
	for (size_t c = 0; c < sizeof(hcases) / sizeof(hcases[0]); c++) {
		memcpy(work, orig, orig_len);
		h = (struct img_header *)work;
		if (hcases[c].field == 0)
			h->nsections = (uint32_t)hcases[c].value;
		else if (hcases[c].field == 1)
			h->index_offset = hcases[c].value;
		else
			h->file_size = hcases[c].value;
		resign(work, orig_len, 0);
		set_file(work, orig_len);
		if (try_image(err, sizeof(err), NULL) == 0)
			fail("%s: accepted", hcases[c].what);
		else
			CHECK(strstr(err, "corrupt") || strstr(err, "truncated") ||
				      strstr(err, "unexpected bytes"),
			      "%s: message '%s' does not name the problem", hcases[c].what, err);
	}

	/* index_offset + nsections * 32 wraps around to the file's size */
	memcpy(work, orig, orig_len);
	h = (struct img_header *)work;
	h->nsections = IMG_MAX_SECTIONS;
	h->file_size = 2000;
	h->index_offset = 2000 - (uint64_t)IMG_MAX_SECTIONS * sizeof(struct img_section);
	resign(work, 2000, 0);
	set_file(work, 2000);
	if (try_image(err, sizeof(err), NULL) == 0)
		fail("index offset wrapping around: accepted");
	else
		CHECK(strstr(err, "corrupt"),
		      "index offset wrapping around: message '%s' does not say corrupt", err);
}

/* ---- 4. appended garbage ---- */

static void appended(void)
{
	char err[512];
	size_t extra[] = {1, 7, 8, 32, 4096, 100000};

	phase = "append";
	work = realloc(work, 2 * orig_len + 100000);
	for (size_t k = 0; k < sizeof(extra) / sizeof(extra[0]); k++) {
		for (int zero = 0; zero < 2; zero++) {
			memcpy(work, orig, orig_len);
			for (size_t i = 0; i < extra[k]; i++)
				work[orig_len + i] = zero ? 0 : (unsigned char)rnd();
			set_file(work, orig_len + extra[k]);
			CHECK(try_image(err, sizeof(err), NULL) < 0, "%zu %s bytes appended: accepted",
			      extra[k], zero ? "zero" : "random");
		}
	}
	memcpy(work, orig, orig_len);
	memcpy(work + orig_len, orig, orig_len);
	set_file(work, 2 * orig_len);
	CHECK(try_image(err, sizeof(err), NULL) < 0, "image appended to itself: accepted");
}

/* ---- foreign files ---- */

static void foreign(void)
{
	char err[512];
	unsigned char *buf = calloc(1, 65536);

	phase = "foreign";
	int fd = open("/proc/self/exe", O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, 65536) : -1;
	if (fd >= 0)
		close(fd);
	if (n > 0) {
		set_file(buf, (size_t)n);
		CHECK(try_image(err, sizeof(err), NULL) < 0 && strstr(err, "ELF"),
		      "ELF file: '%s'", err);
	}
	static const char text[] = "root:x:0:0:root:/root:/bin/bash\n"
				   "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n";
	set_file((const unsigned char *)text, sizeof(text) - 1);
	CHECK(try_image(err, sizeof(err), NULL) < 0 && strstr(err, "not a cairn image"),
	      "text file: '%s'", err);
	memset(buf, 0, 65536);
	set_file(buf, 8192);
	CHECK(try_image(err, sizeof(err), NULL) < 0 && strstr(err, "not a complete"),
	      "zero-filled file: '%s'", err);
	for (int i = 0; i < 65536; i++)
		buf[i] = (unsigned char)rnd();
	set_file(buf, 65536);
	CHECK(try_image(err, sizeof(err), NULL) < 0, "random blob accepted");
	/* a header that starts right and goes on with random bytes */
	memcpy(buf, IMG_MAGIC, 8);
	set_file(buf, 65536);
	CHECK(try_image(err, sizeof(err), NULL) < 0, "magic + random accepted");
	free(buf);

	/* well-formed headers from elsewhere */
	struct img_header *h = (struct img_header *)work;
	memcpy(work, orig, orig_len);
	h->arch = 183;
	snprintf(h->machine, sizeof(h->machine), "aarch64");
	resign(work, orig_len, 0);
	set_file(work, orig_len);
	CHECK(try_image(err, sizeof(err), NULL) < 0 && strstr(err, "architecture"),
	      "arch 183: '%s'", err);
	memcpy(work, orig, orig_len);
	h->version = 2;
	resign(work, orig_len, 0);
	set_file(work, orig_len);
	CHECK(try_image(err, sizeof(err), NULL) < 0 && strstr(err, "newer"), "version 2: '%s'",
	      err);
	memcpy(work, orig, orig_len);
	h->version = 0;
	resign(work, orig_len, 0);
	set_file(work, orig_len);
	CHECK(try_image(err, sizeof(err), NULL) < 0 && strstr(err, "version"), "version 0: '%s'",
	      err);
	memcpy(work, orig, orig_len);
	h->page_size = 65536;
	resign(work, orig_len, 0);
	set_file(work, orig_len);
	CHECK(try_image(err, sizeof(err), NULL) < 0, "page size 65536 accepted");
	memcpy(work, orig, orig_len);
	h->header_size = 8192;
	resign(work, orig_len, 0);
	set_file(work, orig_len);
	CHECK(try_image(err, sizeof(err), NULL) < 0, "header size 8192 accepted");

	/* a descriptor that cannot seek */
	int p[2];
	if (pipe(p) == 0) {
		struct img_reader r;
		if (write(p[1], orig, 4096) < 0) {
		}
		err[0] = 0;
		CHECK(img_open(&r, p[0], err, sizeof(err)) < 0 && err[0], "a pipe was accepted");
		close(p[0]);
		close(p[1]);
	}
}

/* ---- img_str ---- */

static void strs(void)
{
	static const char tab_src[] = "\0abc\0de"; /* 8 bytes with the final NUL */
	char *tab = malloc(8), *bad = malloc(4);

	phase = "img_str";
	memcpy(tab, tab_src, 8);
	memcpy(bad, "\0abc", 4); /* last string not terminated */
	const char *s;
	s = img_str(tab, 8, 0);
	CHECK(s && *s == 0, "offset 0 is not the empty string");
	s = img_str(tab, 8, 1);
	CHECK(s && strcmp(s, "abc") == 0, "offset 1");
	s = img_str(tab, 8, 3);
	CHECK(s && strcmp(s, "c") == 0, "offset 3");
	s = img_str(tab, 8, 5);
	CHECK(s && strcmp(s, "de") == 0, "offset 5");
	s = img_str(tab, 8, 7);
	CHECK(s && *s == 0, "offset 7 (the last NUL)");
	CHECK(img_str(tab, 8, 8) == NULL, "offset == length not refused");
	CHECK(img_str(tab, 8, 9) == NULL, "offset past the end not refused");
	CHECK(img_str(tab, 8, ~0ull) == NULL, "offset 2^64-1 not refused");
	CHECK(img_str(tab, 8, 1ull << 63) == NULL, "offset 2^63 not refused");
	CHECK(img_str(bad, 4, 1) == NULL, "unterminated string not refused");
	CHECK(img_str(bad, 4, 3) == NULL, "unterminated last byte not refused");
	CHECK(img_str(tab, 0, 1) == NULL, "empty table: offset 1 not refused");
	CHECK(img_str(NULL, 0, 1) == NULL, "NULL table: offset 1 not refused");
	CHECK(img_str(NULL, 100, 5) == NULL, "NULL table with a length: not refused");
	s = img_str(NULL, 0, 0);
	CHECK(s && *s == 0, "NULL table, offset 0 is not the empty string");
	free(tab);
	free(bad);
}

int main(void)
{
	struct sigaction sa;

	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_crash;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGABRT, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);

	mfd = memfd_create("cairn-fuzz", 0);
	if (mfd < 0) {
		printf("FAIL unit/" NAME ": memfd_create: %s\n", strerror(errno));
		return 1;
	}
	build_image();
	flips();
	truncations();
	random_mutations();
	resigned_mutations();
	bad_layouts();
	appended();
	foreign();
	strs();
	if (failures) {
		if (failures > 30)
			printf("FAIL unit/" NAME ": %d failures in all\n", failures);
		return 1;
	}
	printf("# %ld flips of a %zu-byte image\n", nflips, orig_len);
	printf("PASS unit/" NAME "\n");
	return 0;
}
