/*
 * zdtm: the little library every tests/zdtm program links with.
 *
 * A test sets up one piece of state, calls zdtm_ready(), waits in
 * zdtm_wait_go() while the harness checkpoints (and perhaps kills and
 * restarts) it, then checks that the state is intact and still works, and
 * ends with zdtm_pass() or zdtm_fail(). The harness and the test talk
 * through files in $ZDTM_DIR: the test creates "ready"; the harness creates
 * "go", whose one line says "MODE PID" (the mode of this run and the PID the
 * process is expected to have now).
 */
#ifndef ZDTM_H
#define ZDTM_H

#include <stddef.h>
#include <sys/types.h>

void zdtm_ready(void);
void zdtm_wait_go(void);
/* Non-blocking: has "go" appeared? Cheap enough for a compute loop (looks
 * at the file at most once per 10 ms, so it may answer up to 10 ms late).
 * Thread-safe, like everything here: tests poll from several threads. */
int zdtm_go(void);
/* After go: "plain", "continue", "restart", "restart2", ... ("" if unknown) */
const char *zdtm_mode(void);
/* After go: the PID the harness expects the process to have (0 if unknown) */
pid_t zdtm_expected_pid(void);
/* "$ZDTM_DIR/name" in buf */
void zdtm_path(char *buf, size_t len, const char *name);
double zdtm_now(void); /* CLOCK_MONOTONIC, seconds */

void zdtm_pass(void) __attribute__((noreturn));
void zdtm_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#define zdtm_check(cond, ...)                   \
	do {                                    \
		if (!(cond))                    \
			zdtm_fail(__VA_ARGS__); \
	} while (0)

#endif
