#include "zdtm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* Thread-safe: tests poll for go from several threads. */
static void file(char *buf, size_t len, const char *name)
{
	const char *d = getenv("ZDTM_DIR");
	snprintf(buf, len, "%s/%s", d ? d : ".", name);
}

void zdtm_ready(void)
{
	char tmp[4096], fin[4096];
	file(tmp, sizeof(tmp), "ready.tmp");
	file(fin, sizeof(fin), "ready");
	FILE *f = fopen(tmp, "w");
	if (!f) {
		perror("zdtm: ready");
		exit(2);
	}
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	rename(tmp, fin);
}

int zdtm_go(void)
{
	char go[4096];
	file(go, sizeof(go), "go");
	return access(go, F_OK) == 0;
}

void zdtm_wait_go(void)
{
	struct timespec ts = {0, 10000000};
	while (!zdtm_go())
		nanosleep(&ts, NULL);
}

void zdtm_pass(void)
{
	printf("PASS\n");
	fflush(stdout);
	exit(0);
}

void zdtm_fail(const char *fmt, ...)
{
	va_list ap;
	printf("FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(1);
}
