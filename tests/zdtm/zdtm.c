#include "zdtm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static char path[4096];

static const char *file(const char *name)
{
	const char *d = getenv("ZDTM_DIR");
	snprintf(path, sizeof(path), "%s/%s", d ? d : ".", name);
	return path;
}

void zdtm_ready(void)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s", file("ready.tmp"));
	FILE *f = fopen(tmp, "w");
	if (!f) {
		perror("zdtm: ready");
		exit(2);
	}
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	rename(tmp, file("ready"));
}

int zdtm_go(void)
{
	return access(file("go"), F_OK) == 0;
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
