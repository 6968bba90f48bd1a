/*
 * One program for the API tests in tests/api, by mode:
 *   refuse DIR      a thread-context callback refuses the first checkpoint
 *                   (temporarily), lets later ones through
 *   sigrefuse DIR   a signal-context callback refuses permanently
 *   cs DIR          a critical section holds off a checkpoint
 *   self DIR        checkpoints itself, continues, and (restarted) says so
 * It writes DIR/ready when set up, waits for DIR/go, then prints what it saw
 * and exits 0 when it all makes sense.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cairn.h"

static const char *dir;
static volatile int calls, returned, outcomes[16], left_cs, seen_left = -1;
static char info_path[4096];
static int info_kill = -1, info_uid = -1;

static int exists(const char *name)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

static void touch(const char *name)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	if (f)
		fclose(f);
}

static void wait_for(const char *name)
{
	while (!exists(name))
		usleep(10000);
}

/* A thread-context callback finishes its restart half on the manager
 * thread, concurrently with the program's threads: wait (10 s at most)
 * until every call to cairn_checkpoint() has returned before reading the
 * outcomes. */
static void wait_callbacks(void)
{
	for (int i = 0; i < 1000 && returned < calls; i++)
		usleep(10000);
}

static int refuse_first(void *arg)
{
	struct cairn_checkpoint_info ci;
	if (cairn_get_checkpoint_info(&ci) == 0) {
		snprintf(info_path, sizeof(info_path), "%s", ci.path);
		info_kill = ci.kill;
		info_uid = (int)ci.requester_uid;
	}
	int n = calls++;
	if (n == 0)
		return cairn_checkpoint(CAIRN_TEMP_FAILURE, "busy talking to the license server"), 0;
	outcomes[n] = cairn_checkpoint(CAIRN_READY, NULL);
	returned++;
	return 0;
}

static int refuse_forever(void *arg)
{
	calls++;
	cairn_checkpoint(CAIRN_PERM_FAILURE, "holding a device that cannot be saved");
	return 0;
}

static int note_cs(void *arg)
{
	seen_left = left_cs;
	int n = calls++;
	outcomes[n] = cairn_checkpoint(CAIRN_READY, NULL);
	returned++;
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argv[1];
	dir = argv[2];
	if (strcmp(mode, "refuse") == 0) {
		cairn_register_callback(refuse_first, NULL, CAIRN_THREAD_CONTEXT);
		touch("ready");
		wait_for("go");
		wait_callbacks();
		printf("calls %d outcome %d info %s kill %d uid %d\n", calls, outcomes[calls - 1],
		       info_path, info_kill, info_uid);
		return 0;
	}
	if (strcmp(mode, "sigrefuse") == 0) {
		cairn_register_callback(refuse_forever, NULL, CAIRN_SIGNAL_CONTEXT);
		touch("ready");
		wait_for("go");
		printf("calls %d\n", calls);
		return 0;
	}
	if (strcmp(mode, "cs") == 0) {
		cairn_register_callback(note_cs, NULL, CAIRN_THREAD_CONTEXT);
		cairn_enter_cs();
		cairn_enter_cs(); /* nested */
		touch("ready");
		wait_for("requested");
		usleep(700000);
		int busy = cairn_status();
		left_cs = 1;
		cairn_leave_cs();
		cairn_leave_cs();
		wait_for("go");
		wait_callbacks();
		printf("status-in-cs %d seen_left %d calls %d outcome %d\n", busy, seen_left, calls,
		       outcomes[calls - 1]);
		return 0;
	}
	if (strcmp(mode, "self") == 0) {
		char img[4096];
		snprintf(img, sizeof(img), "%s/self.img", dir);
		int rc = cairn_checkpoint_self(img, 0);
		if (rc < 0) {
			printf("self-checkpoint failed: %s\n", cairn_last_error());
			return 1;
		}
		if (rc == 1) {
			struct cairn_restart_info ri;
			cairn_get_restart_info(&ri);
			printf("restarted from %s\n", ri.path);
			return 0;
		}
		printf("continued\n");
		return 0;
	}
	return 2;
}
