/*
 * A job checkpoint's manifest (manifest.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/manifest.h"
#include "image/format.h"

static void put_word(FILE *f, const char *key, const char *w)
{
	fprintf(f, "%s ", key);
	for (const unsigned char *p = (const unsigned char *)w; *p; p++) {
		if (*p <= 0x20 || *p == '%' || *p == 0x7f)
			fprintf(f, "%%%02X", *p);
		else
			fputc(*p, f);
	}
	fputc('\n', f);
}

static char *get_word(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	if (!out)
		return NULL;
	while (*s) {
		unsigned v;
		if (*s == '%' && sscanf(s + 1, "%2X", &v) == 1 && s[1] && s[2]) {
			*o++ = (char)v;
			s += 3;
		} else {
			*o++ = *s++;
		}
	}
	*o = 0;
	return out;
}

int manifest_write(const char *path, const struct manifest *m, char *err, size_t len)
{
	char tmp[PATH_MAX + 8];

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		snprintf(err, len, "cannot write %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fprintf(f, "cairn-job-checkpoint 1\nnumber %u\nranks %d\ntime %lld\n", m->number, m->ranks,
		m->time);
	put_word(f, "cwd", m->cwd);
	for (int i = 0; i < m->nlauncher; i++)
		put_word(f, "launcher", m->launcher[i]);
	for (int i = 0; i < m->noptions; i++)
		put_word(f, "option", m->options[i]);
	for (int i = 0; i < m->nprogram; i++)
		put_word(f, "program", m->program[i]);
	for (int r = 0; r < m->ranks; r++) {
		char key[32];
		fprintf(f, "rank %d size %" PRIu64 " checksum %016" PRIx64 "\n", r, m->rank[r].size,
			m->rank[r].checksum);
		snprintf(key, sizeof(key), "host %d", r);
		put_word(f, key, m->rank[r].host[0] ? m->rank[r].host : "?");
		fprintf(f, "pid %d %d\n", r, m->rank[r].pid);
	}
	fprintf(f, "end\n");
	int bad = fflush(f) != 0 || fsync(fd) != 0;
	bad |= fclose(f) != 0;
	if (bad || rename(tmp, path) < 0) {
		snprintf(err, len, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

void manifest_free(struct manifest *m)
{
	for (int i = 0; i < m->nlauncher; i++)
		free(m->launcher[i]);
	for (int i = 0; i < m->noptions; i++)
		free(m->options[i]);
	for (int i = 0; i < m->nprogram; i++)
		free(m->program[i]);
	free(m->rank);
	memset(m, 0, sizeof(*m));
}

int manifest_read(const char *path, struct manifest *m, char *err, size_t len)
{
	FILE *f = fopen(path, "re");
	char line[8192];
	int lineno = 0, ended = 0, version = 0;

	memset(m, 0, sizeof(*m));
	m->ranks = -1;
	if (!f) {
		snprintf(err, len, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
#define BAD(...)                                                                 \
	do {                                                                     \
		char why_[512];                                                  \
		snprintf(why_, sizeof(why_), __VA_ARGS__);                       \
		snprintf(err, len, "%s, line %d: %s", path, lineno, why_);       \
		goto fail;                                                       \
	} while (0)
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		size_t l = strlen(line);
		if (!l || line[l - 1] != '\n')
			BAD("a line is cut short or too long");
		line[--l] = 0;
		char *sp = strchr(line, ' ');
		const char *val = sp ? sp + 1 : "";
		if (sp)
			*sp = 0;
		if (lineno == 1) {
			if (strcmp(line, "cairn-job-checkpoint") || sscanf(val, "%d", &version) != 1)
				BAD("not a cairn job manifest");
			if (version != 1)
				BAD("manifest version %d; this cairn reads version 1", version);
			continue;
		}
		if (ended)
			BAD("text after the end");
		if (!strcmp(line, "number")) {
			if (sscanf(val, "%u", &m->number) != 1)
				BAD("bad number");
		} else if (!strcmp(line, "ranks")) {
			if (m->rank || sscanf(val, "%d", &m->ranks) != 1 || m->ranks < 1 ||
			    m->ranks > 1 << 20)
				BAD("bad rank count");
			m->rank = calloc((size_t)m->ranks, sizeof(*m->rank));
			if (!m->rank)
				BAD("out of memory");
		} else if (!strcmp(line, "time")) {
			if (sscanf(val, "%lld", &m->time) != 1)
				BAD("bad time");
		} else if (!strcmp(line, "cwd")) {
			char *w = get_word(val);
			if (!w || strlen(w) >= sizeof(m->cwd)) {
				free(w);
				BAD("bad cwd");
			}
			strcpy(m->cwd, w);
			free(w);
		} else if (!strcmp(line, "launcher") || !strcmp(line, "option") ||
			   !strcmp(line, "program")) {
			char **v = line[0] == 'l' ? m->launcher : line[0] == 'o' ? m->options : m->program;
			int *n = line[0] == 'l' ? &m->nlauncher : line[0] == 'o' ? &m->noptions : &m->nprogram;
			if (*n >= MANIFEST_MAX_WORDS || !(v[*n] = get_word(val)))
				BAD("too many words");
			(*n)++;
		} else if (!strcmp(line, "rank")) {
			int r;
			uint64_t size, sum;
			if (!m->rank || sscanf(val, "%d size %" SCNu64 " checksum %" SCNx64, &r, &size, &sum) != 3 ||
			    r < 0 || r >= m->ranks)
				BAD("bad rank line");
			m->rank[r].size = size;
			m->rank[r].checksum = sum;
			m->rank[r].pid = -1;
		} else if (!strcmp(line, "host")) {
			int r;
			const char *w = strchr(val, ' ');
			if (!m->rank || sscanf(val, "%d", &r) != 1 || r < 0 || r >= m->ranks || !w)
				BAD("bad host line");
			char *h = get_word(w + 1);
			snprintf(m->rank[r].host, sizeof(m->rank[r].host), "%s", h ? h : "?");
			free(h);
		} else if (!strcmp(line, "pid")) {
			int r, pid;
			if (!m->rank || sscanf(val, "%d %d", &r, &pid) != 2 || r < 0 || r >= m->ranks)
				BAD("bad pid line");
			m->rank[r].pid = pid;
		} else if (!strcmp(line, "end")) {
			ended = 1;
		} else {
			BAD("unknown entry '%s'", line);
		}
	}
	if (lineno == 0)
		BAD("empty");
	if (!ended)
		BAD("it ends early (no 'end' line): the manifest was cut short");
	if (m->ranks < 1 || !m->nprogram)
		BAD("no ranks or no program");
	for (int r = 0; r < m->ranks; r++)
		if (!m->rank[r].size)
			BAD("rank %d has no image entry", r);
	fclose(f);
	return 0;
fail:
	fclose(f);
	manifest_free(m);
	return -1;
#undef BAD
}

int image_identity(const char *path, uint64_t *checksum, uint64_t *size, char *err, size_t len)
{
	struct img_header h;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, len, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	ssize_t n = pread(fd, &h, sizeof(h), 0);
	int e = errno;
	if (fstat(fd, &st) < 0)
		st.st_size = 0;
	close(fd);
	if (n != (ssize_t)sizeof(h)) {
		snprintf(err, len, "%s is too short to be an image (%s)", path,
			 n < 0 ? strerror(e) : "truncated");
		return -1;
	}
	if (memcmp(h.magic, IMG_MAGIC, sizeof(h.magic)) != 0) {
		snprintf(err, len, "%s is not a cairn image", path);
		return -1;
	}
	*checksum = h.checksum;
	*size = (uint64_t)st.st_size;
	return 0;
}
