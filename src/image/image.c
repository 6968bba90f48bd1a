/*
 * Sectioned, checksummed image files (format.h).
 *
 * Writing is sequential: sections follow the header slot, each starting at
 * its alignment with zero padding before it; the index follows the last
 * section, and the header, which names the index and the file's size, is
 * written last at offset 0. A reader therefore refuses any file whose writer
 * did not finish. Large writes go to the file straight from the caller's
 * memory or through a bounce buffer (put_large); small ones are staged in a
 * buffer from mmap (never malloc: see image.h).
 */
#include "image/image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define STAGE (1u << 20)
#define BOUNCE (8u << 20)
#define HUGE (2u << 20)
#define SLICE (256u << 10) /* copied and hashed while in the cache */

static const char zeros[IMG_PAGE];

uint64_t img_hash(const void *p, size_t len)
{
	return XXH3_64bits(p, len);
}

static void raw_write(struct img_writer *w, const void *p, size_t len)
{
	const char *c = p;

	while (len && !w->err) {
		ssize_t n = write(w->fd, c, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			w->err = n < 0 ? errno : EIO;
			return;
		}
		c += n;
		len -= (size_t)n;
	}
}

static void set_direct(struct img_writer *w, int on);

static void flush(struct img_writer *w)
{
	if (w->buflen) {
		set_direct(w, 0);
		raw_write(w, w->buf, w->buflen);
	}
	w->buflen = 0;
}

/* Large page-aligned pieces bypass the page cache (O_DIRECT): a checkpoint
 * writes once and never reads back, and on a VM whose free memory goes back
 * to the host, filling the page cache costs more than the disk. The file
 * descriptor is switched lazily; a filesystem without O_DIRECT stays
 * buffered. */
static void set_direct(struct img_writer *w, int on)
{
	if (w->direct == on || w->no_direct)
		return;
	int fl = fcntl(w->fd, F_GETFL);
	if (fl < 0 || fcntl(w->fd, F_SETFL, on ? fl | O_DIRECT : fl & ~O_DIRECT) < 0) {
		w->no_direct = 1;
		return;
	}
	w->direct = on;
}

/* A program's memory is in 4 KiB pages, scattered, and one request to the
 * disk holds at most max_segments of them: on virtio (254 segments) 1 MiB,
 * where the disk would take max_sectors_kb (4 MiB) at once. Where the pages
 * cannot fill a request, large writes are copied into a buffer of 2 MiB
 * pages first, whose requests are whole. Measured on this project's VM
 * (Firecracker virtio-blk, 2 writers x 256 MiB, fsync'd, alternating):
 * 0.40-0.45 s through the buffer against 0.51-0.55 s straight from the
 * program's pages, and 0.78 s against 0.97 s for 4 writers; the requests
 * went from 1.0-1.4 MiB to 3.5 MiB on average. Where the pages fill the
 * requests anyway (NVMe, whose requests are small), or the file's device is
 * not a block device (NFS), the copy would only cost, and is not made. */
static int read_number(const char *path, unsigned long *v)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *end;
	*v = strtoul(buf, &end, 10);
	return end == buf ? -1 : 0;
}

static int pages_fill_requests(int fd)
{
	struct stat st;
	char path[96];
	unsigned long seg, kb;

	if (fstat(fd, &st) < 0)
		return 1;
	for (int part = 0; part < 2; part++) {
		/* a partition's queue is its disk's */
		const char *up = part ? "/.." : "";
		snprintf(path, sizeof(path), "/sys/dev/block/%u:%u%s/queue/max_segments",
			 major(st.st_dev), minor(st.st_dev), up);
		if (read_number(path, &seg) < 0)
			continue;
		snprintf(path, sizeof(path), "/sys/dev/block/%u:%u%s/queue/max_sectors_kb",
			 major(st.st_dev), minor(st.st_dev), up);
		if (read_number(path, &kb) < 0)
			return 1;
		return (uint64_t)kb * 1024 <= (uint64_t)seg * IMG_PAGE;
	}
	return 1;
}

static void bounce_init(struct img_writer *w)
{
	if (pages_fill_requests(w->fd))
		return;
	size_t len = BOUNCE + HUGE;
	char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return;
	char *b = (char *)(((uintptr_t)m + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
	/* without transparent huge pages the copy would gain nothing */
	char mode[96] = "";
	int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, mode, sizeof(mode) - 1);
		mode[n > 0 ? n : 0] = 0;
		close(fd);
	}
	if (strstr(mode, "[never]") || madvise(b, BOUNCE, MADV_HUGEPAGE) < 0) {
		munmap(m, len);
		return;
	}
	w->map = m;
	w->maplen = len;
	w->bounce = b;
	w->bouncecap = BOUNCE;
}

int img_writer_init(struct img_writer *w, int fd)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->buf = mmap(NULL, STAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w->buf == MAP_FAILED) {
		w->buf = NULL;
		return -1;
	}
	w->bufcap = STAGE;
	w->off = IMG_HEADER_SIZE;
	if (lseek(fd, IMG_HEADER_SIZE, SEEK_SET) < 0) {
		w->err = errno;
		return -1;
	}
	bounce_init(w);
	return 0;
}

void img_writer_free(struct img_writer *w)
{
	if (w->buf)
		munmap(w->buf, w->bufcap);
	if (w->map)
		munmap(w->map, w->maplen);
	w->buf = NULL;
	w->map = w->bounce = NULL;
}

/* Writes p (page-aligned length, at a page-aligned offset) with O_DIRECT
 * if it can, or through the cache. */
static void write_aligned(struct img_writer *w, const void *p, size_t len, int direct_ok)
{
	set_direct(w, direct_ok);
	raw_write(w, p, len);
	if (w->direct && w->err == EINVAL) {
		/* refused after all: write it through the cache */
		w->err = 0;
		w->no_direct = 1;
		set_direct(w, 0);
		off_t at = (off_t)w->off;
		if (lseek(w->fd, at, SEEK_SET) == at)
			raw_write(w, p, len);
	}
}

/* A piece of len bytes at the current offset goes through the bounce
 * buffer (page-aligned in the file, O_DIRECT still possible). */
static int bounced(const struct img_writer *w, size_t len)
{
	return w->bounce && !w->no_direct && (w->off | len) % IMG_PAGE == 0;
}

/* Large pieces: through the bounce buffer, a slice at a time (hashed, if
 * asked, while the slice is in the cache: the hash is of the bytes written,
 * even if the source changes meanwhile), or straight from p. */
static void put_large(struct img_writer *w, const char *p, size_t len, int hash)
{
	flush(w);
	if (bounced(w, len)) {
		while (len && !w->err) {
			size_t n = len < w->bouncecap ? len : w->bouncecap;
			for (size_t k = 0; k < n; k += SLICE) {
				size_t m = n - k < SLICE ? n - k : SLICE;
				memcpy(w->bounce + k, p + k, m);
				if (hash)
					XXH3_64bits_update(&w->hash, w->bounce + k, m);
			}
			write_aligned(w, w->bounce, n, 1);
			w->off += n;
			p += n;
			len -= n;
		}
		return;
	}
	if (hash)
		XXH3_64bits_update(&w->hash, p, len);
	write_aligned(w, p, len, (w->off | len | (uintptr_t)p) % IMG_PAGE == 0);
	w->off += len;
}

static void put_unhashed(struct img_writer *w, const void *p, size_t len)
{
	if (len >= w->bufcap / 2) {
		put_large(w, p, len, 0);
		return;
	}
	if (w->buflen + len > w->bufcap)
		flush(w);
	memcpy(w->buf + w->buflen, p, len);
	w->buflen += len;
	w->off += len;
}

void img_section_begin(struct img_writer *w, uint32_t type, uint64_t align)
{
	if (w->nsec >= IMG_MAX_SECTIONS) {
		w->err = w->err ? w->err : E2BIG;
		return;
	}
	while (w->off % align) {
		uint64_t n = align - w->off % align;
		put_unhashed(w, zeros, n > sizeof(zeros) ? sizeof(zeros) : n);
	}
	struct img_section *s = &w->sec[w->nsec];
	s->type = type;
	s->offset = w->off;
	XXH3_64bits_reset(&w->hash);
	w->open = 1;
}

/* Copies before writing and hashes the copy: right even when the source
 * changes meanwhile (it may hold the writer's own state). */
void img_put_stable(struct img_writer *w, const void *p, size_t len)
{
	const char *c = p;

	if (len >= w->bufcap / 2 && bounced(w, len)) {
		put_large(w, c, len, 1); /* copies anyway */
		return;
	}
	while (len) {
		size_t n = len < w->bufcap / 2 ? len : w->bufcap / 2;
		if (w->buflen + n > w->bufcap)
			flush(w);
		char *dst = w->buf + w->buflen;
		memcpy(dst, c, n);
		XXH3_64bits_update(&w->hash, dst, n);
		w->buflen += n;
		w->off += n;
		c += n;
		len -= n;
	}
}

void img_put(struct img_writer *w, const void *p, size_t len)
{
	if (len < w->bufcap / 2) {
		img_put_stable(w, p, len);
		return;
	}
	put_large(w, p, len, 1);
}

uint64_t img_section_pos(const struct img_writer *w)
{
	return w->off - w->sec[w->nsec].offset;
}

void img_section_end(struct img_writer *w)
{
	if (!w->open)
		return;
	struct img_section *s = &w->sec[w->nsec++];
	s->size = w->off - s->offset;
	s->checksum = XXH3_64bits_digest(&w->hash);
	w->open = 0;
}

int img_writer_finish(struct img_writer *w, struct img_header *h)
{
	uint64_t index_off;

	while (w->off % 8)
		put_unhashed(w, zeros, 1);
	index_off = w->off;
	put_unhashed(w, w->sec, w->nsec * sizeof(w->sec[0]));
	flush(w);
	set_direct(w, 0);
	if (w->err) {
		errno = w->err;
		return -1;
	}
	memcpy(h->magic, IMG_MAGIC, 8);
	h->version = IMG_VERSION;
	h->header_size = IMG_HEADER_SIZE;
	h->arch = 62;
	h->page_size = IMG_PAGE;
	h->file_size = w->off;
	h->index_offset = index_off;
	h->nsections = w->nsec;
	h->index_checksum = img_hash(w->sec, w->nsec * sizeof(w->sec[0]));
	h->checksum = img_hash(h, offsetof(struct img_header, checksum));

	char page[IMG_HEADER_SIZE];
	memset(page, 0, sizeof(page));
	memcpy(page, h, sizeof(*h));
	if (pwrite(w->fd, page, sizeof(page), 0) != (ssize_t)sizeof(page)) {
		w->err = errno ? errno : EIO;
		errno = w->err;
		return -1;
	}
	return 0;
}

/* ---- reading ---- */

static const char *const names[] = {
	[SEC_META] = "meta",	 [SEC_VMAS] = "vmas",	    [SEC_CHUNKS] = "chunks",
	[SEC_PAGES] = "pages",	 [SEC_THREADS] = "threads", [SEC_SIGACTS] = "sigactions",
	[SEC_SIGPEND] = "sigpending", [SEC_TIMERS] = "timers", [SEC_FDS] = "fds",
	[SEC_BLOBS] = "blobs",	 [SEC_STRTAB] = "strtab",
};

const char *img_section_name(uint32_t type)
{
	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	return "unknown";
}

static int read_at(int fd, void *p, size_t len, uint64_t off)
{
	char *c = p;

	while (len) {
		ssize_t n = pread(fd, c, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int img_open(struct img_reader *r, int fd, char *err, size_t errlen)
{
	off_t end;

	memset(r, 0, sizeof(*r));
	r->fd = fd;
	end = lseek(fd, 0, SEEK_END);
	if (end < 0) {
		snprintf(err, errlen, "cannot be read: %s", strerror(errno));
		return -1;
	}
	r->file_size = (uint64_t)end;
	if (end == 0) {
		snprintf(err, errlen, "is empty");
		return -1;
	}
	char head[IMG_HEADER_SIZE];
	size_t got = end < IMG_HEADER_SIZE ? (size_t)end : IMG_HEADER_SIZE;
	memset(head, 0, sizeof(head));
	if (read_at(fd, head, got, 0) < 0) {
		snprintf(err, errlen, "cannot be read: %s", strerror(errno));
		return -1;
	}
	if (got < 8 && memcmp(head, IMG_MAGIC, got) == 0) {
		snprintf(err, errlen, "is truncated (%zu bytes, shorter than the header)", got);
		return -1;
	}
	if (got < 8 || memcmp(head, IMG_MAGIC, 8) != 0) {
		if (got >= 4 && memcmp(head, "\177ELF", 4) == 0)
			snprintf(err, errlen, "is not a cairn image (it is an ELF file)");
		else if (got >= 8 && memcmp(head, "\0\0\0\0\0\0\0\0", 8) == 0)
			snprintf(err, errlen,
				 "is not a complete cairn image (no header: its writer did not finish)");
		else
			snprintf(err, errlen, "is not a cairn image (bad magic number)");
		return -1;
	}
	if (got < sizeof(r->hdr)) {
		snprintf(err, errlen, "is truncated (%zu bytes, shorter than the header)", got);
		return -1;
	}
	memcpy(&r->hdr, head, sizeof(r->hdr));
	struct img_header *h = &r->hdr;
	if (img_hash(h, offsetof(struct img_header, checksum)) != h->checksum) {
		snprintf(err, errlen, "is corrupt (header checksum mismatch)");
		return -1;
	}
	for (size_t i = sizeof(*h); i < IMG_HEADER_SIZE; i++)
		if (head[i]) {
			snprintf(err, errlen, "is corrupt (non-zero byte %zu in header padding)", i);
			return -1;
		}
	if (h->version > IMG_VERSION) {
		snprintf(err, errlen,
			 "has format version %u, newer than this cairn understands (%u)",
			 h->version, IMG_VERSION);
		return -1;
	}
	if (h->version < 1 || h->header_size != IMG_HEADER_SIZE) {
		snprintf(err, errlen, "has an unknown format version %u", h->version);
		return -1;
	}
	if (h->arch != 62) {
		snprintf(err, errlen,
			 "was made on another architecture (ELF machine %u, '%.31s'); this is x86_64",
			 h->arch, h->machine);
		return -1;
	}
	if (h->page_size != IMG_PAGE) {
		snprintf(err, errlen, "uses %u-byte pages; this machine uses %u", h->page_size,
			 IMG_PAGE);
		return -1;
	}
	if (r->file_size < h->file_size) {
		snprintf(err, errlen, "is truncated (%llu of %llu bytes)",
			 (unsigned long long)r->file_size, (unsigned long long)h->file_size);
		return -1;
	}
	if (r->file_size > h->file_size) {
		snprintf(err, errlen, "has %llu unexpected bytes after its end at %llu",
			 (unsigned long long)(r->file_size - h->file_size),
			 (unsigned long long)h->file_size);
		return -1;
	}
	if (h->nsections > IMG_MAX_SECTIONS || h->index_offset < IMG_HEADER_SIZE ||
	    h->index_offset > h->file_size ||
	    h->file_size - h->index_offset != h->nsections * sizeof(struct img_section)) {
		snprintf(err, errlen, "is corrupt (bad section index position)");
		return -1;
	}
	size_t ilen = h->nsections * sizeof(struct img_section);
	if (read_at(fd, r->sec, ilen, h->index_offset) < 0) {
		snprintf(err, errlen, "cannot be read: %s", strerror(errno));
		return -1;
	}
	if (img_hash(r->sec, ilen) != h->index_checksum) {
		snprintf(err, errlen, "is corrupt (section index checksum mismatch)");
		return -1;
	}
	uint64_t pos = IMG_HEADER_SIZE;
	for (uint32_t i = 0; i < h->nsections; i++) {
		const struct img_section *s = &r->sec[i];
		if (s->offset < pos || s->offset > h->index_offset ||
		    s->size > h->index_offset - s->offset) {
			snprintf(err, errlen, "is corrupt (section %u '%s' lies outside the file)",
				 i, img_section_name(s->type));
			return -1;
		}
		pos = s->offset + s->size;
	}
	return 0;
}

/* Reads [off, off+len) in large blocks, hashing it or checking it is zero. */
static int scan(const struct img_reader *r, uint64_t off, uint64_t len, XXH3_state_t *st,
		char *buf, size_t bufsz, uint64_t *bad)
{
	while (len) {
		size_t n = len > bufsz ? bufsz : (size_t)len;
		if (read_at(r->fd, buf, n, off) < 0)
			return -1;
		if (st) {
			XXH3_64bits_update(st, buf, n);
		} else {
			for (size_t i = 0; i < n; i++)
				if (buf[i]) {
					*bad = off + i;
					return 1;
				}
		}
		off += n;
		len -= n;
	}
	return 0;
}

int img_verify(struct img_reader *r, char *err, size_t errlen)
{
	return img_verify_skip(r, 0, err, errlen);
}

int img_verify_skip(struct img_reader *r, uint32_t skip, char *err, size_t errlen)
{
	const size_t bufsz = 8u << 20;
	char *buf = mmap(NULL, bufsz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	XXH3_state_t st;
	uint64_t pos = IMG_HEADER_SIZE, bad = 0;
	int rc = -1;

	if (buf == MAP_FAILED) {
		snprintf(err, errlen, "cannot be verified: out of memory");
		return -1;
	}
	for (uint32_t i = 0; i <= r->hdr.nsections; i++) {
		uint64_t next = i < r->hdr.nsections ? r->sec[i].offset : r->hdr.index_offset;
		int z = scan(r, pos, next - pos, NULL, buf, bufsz, &bad);
		if (z < 0)
			goto ioerr;
		if (z > 0) {
			snprintf(err, errlen, "is corrupt (non-zero padding at byte %llu)",
				 (unsigned long long)bad);
			goto out;
		}
		if (i == r->hdr.nsections)
			break;
		const struct img_section *s = &r->sec[i];
		pos = s->offset + s->size;
		if (s->type == skip)
			continue;
		XXH3_64bits_reset(&st);
		if (scan(r, s->offset, s->size, &st, buf, bufsz, NULL) < 0)
			goto ioerr;
		if (XXH3_64bits_digest(&st) != s->checksum) {
			snprintf(err, errlen,
				 "is corrupt (section '%s', bytes %llu to %llu, fails its checksum)",
				 img_section_name(s->type), (unsigned long long)s->offset,
				 (unsigned long long)(s->offset + s->size));
			goto out;
		}
	}
	rc = 0;
	goto out;
ioerr:
	snprintf(err, errlen, "cannot be read: %s", strerror(errno ? errno : EIO));
out:
	munmap(buf, bufsz);
	return rc;
}

const struct img_section *img_find(const struct img_reader *r, uint32_t type)
{
	for (uint32_t i = 0; i < r->hdr.nsections; i++)
		if (r->sec[i].type == type)
			return &r->sec[i];
	return NULL;
}

void *img_load(const struct img_reader *r, uint32_t type, size_t *len, char *err,
	       size_t errlen)
{
	const struct img_section *s = img_find(r, type);
	void *p;

	if (!s) {
		snprintf(err, errlen, "has no '%s' section", img_section_name(type));
		return NULL;
	}
	p = malloc(s->size ? s->size : 1);
	if (!p) {
		snprintf(err, errlen, "section '%s' is too large (%llu bytes)",
			 img_section_name(type), (unsigned long long)s->size);
		return NULL;
	}
	if (read_at(r->fd, p, s->size, s->offset) < 0) {
		snprintf(err, errlen, "cannot be read: %s", strerror(errno ? errno : EIO));
		free(p);
		return NULL;
	}
	*len = s->size;
	return p;
}

const char *img_str(const char *tab, size_t len, uint64_t off)
{
	if (off == 0)
		return "";
	if (!tab || off >= len)
		return NULL;
	if (!memchr(tab + off, 0, len - off))
		return NULL;
	return tab + off;
}
