/*
 * The per-state tests' tiny library. A test sets up one piece of state,
 * calls zdtm_ready(), waits in zdtm_wait_go() (meanwhile the runner may
 * checkpoint it, kill it and restart it), then checks that its state is
 * intact and still works, and reports with zdtm_pass() or zdtm_fail().
 * ZDTM_DIR names the directory of the ready and go files.
 */
#ifndef ZDTM_H
#define ZDTM_H

void zdtm_ready(void);
void zdtm_wait_go(void);
int zdtm_go(void); /* non-blocking: has go been given? */
__attribute__((noreturn)) void zdtm_pass(void);
__attribute__((noreturn, format(printf, 1, 2))) void zdtm_fail(const char *fmt, ...);
#define zdtm_check(cond, ...)                   \
	do {                                    \
		if (!(cond))                    \
			zdtm_fail(__VA_ARGS__); \
	} while (0)

#endif
