/*
 * blcr_prog: a program written the way BLCR's users wrote them, against
 * <libcr.h> alone (plus libc and pthreads), for tests/blcr/run.sh. It is
 * built unchanged with -lcr. The mode is argv[1]; argv[2] is a directory
 * DIR for the files it shares with the test. The program writes DIR/ready
 * once set up, waits for DIR/go where said, checks its own state, and
 * prints its findings on stdout (only at its end, so that nothing sits in
 * stdio's buffer when an image is taken).
 *
 *   count DIR [RC]  computes a checksum: a paced first half, then waits for
 *                   DIR/go, then the second half. Prints
 *                   "result HEX verify=ok" (the run recomputed from
 *                   scratch agrees) and exits RC (default 0). A thread-
 *                   context callback appends to DIR/info what each
 *                   checkpoint looked like ("ckpt dest=... signal=N"),
 *                   whether cr_forward_checkpoint() said ENOSYS ("forward
 *                   enosys"), "cont" or "restarted src=...
 *                   requester=self|PID", and after a restart creates
 *                   DIR/up.PID. SIGUSR1 is counted
 *                   and reported ("usr1=N").
 *   basic DIR       two threads compute (main and worker); a thread-context
 *                   callback, two signal-context callbacks in the main
 *                   thread (A then B) and one in the worker (C) log their
 *                   "before" and "after" work. Prints the logs, the
 *                   checkpoint and restart info the callbacks saw, and the
 *                   results.
 *   refuse DIR      the thread-context callback refuses the first checkpoint
 *                   with CR_CHECKPOINT_TEMP_FAILURE_CODE(42).
 *   permfail DIR    the thread-context callback refuses with
 *                   CR_CHECKPOINT_PERM_FAILURE (the process is then ended).
 *   self DIR        checkpoints itself with cr_request_checkpoint() into
 *                   DIR/self.ctx; prints "continued ..." or "restarted ...".
 *   legacy DIR      the same with cr_request_file(DIR/legacy.ctx).
 *   cs DIR          a critical section holds off a checkpoint; a second
 *                   thread watches cr_status() and cr_tryenter_cs().
 *   hold DIR        sits in a critical section until DIR/leave exists.
 *   parent DIR      has a child process until DIR/go exists.
 *   misc DIR        library calls without a checkpoint: cr_strerror,
 *                   spinlocks, errors; prints "ok NAME" / "bad NAME: why"
 *                   lines, then "misc done".
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libcr.h>

static const char *dir;

/* ---- files shared with the test ---- */

static void path_of(char *p, size_t len, const char *name)
{
	snprintf(p, len, "%s/%s", dir, name);
}

static int exists(const char *name)
{
	char p[4096];
	path_of(p, sizeof(p), name);
	return access(p, F_OK) == 0;
}

static void touch(const char *name)
{
	char p[4096];
	path_of(p, sizeof(p), name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0)
		close(fd);
}

static void wait_for(const char *name)
{
	while (!exists(name))
		usleep(10000);
}

/* appends a line to DIR/name (thread context or normal code only) */
static void append(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append(const char *name, const char *fmt, ...)
{
	char p[4096], line[8192];
	va_list ap;
	path_of(p, sizeof(p), name);
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	int fd = open(p, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)n) < 0) {
		/* nothing to do: the test sees the line missing */
	}
	close(fd);
}

/* ---- the computation: state in the heap, a running checksum ---- */

#define WORDS (1 << 16) /* 512 KiB */
#define HALF1 400       /* paced steps before go */
#define HALF2 2000      /* steps after go */

struct work {
	uint64_t *buf;
	uint64_t state, sum;
	volatile long steps;
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static void work_init(struct work *w, uint64_t seed)
{
	w->buf = malloc(WORDS * sizeof(uint64_t));
	if (!w->buf) {
		perror("malloc");
		exit(3);
	}
	for (size_t i = 0; i < WORDS; i++)
		w->buf[i] = mix(seed * 0x9e3779b97f4a7c15ULL + i);
	w->state = seed;
	w->sum = 0;
	w->steps = 0;
}

static void work_step(struct work *w)
{
	for (int k = 0; k < 64; k++) {
		size_t a = w->state % WORDS, b = (w->state >> 24) % WORDS;
		w->buf[a] = mix(w->buf[a] ^ w->buf[b] ^ w->state);
		w->state = mix(w->state + w->buf[a]);
	}
	w->sum += w->state;
	w->steps++;
}

static uint64_t work_digest(const struct work *w)
{
	uint64_t h = w->sum ^ (uint64_t)w->steps;
	for (size_t i = 0; i < WORDS; i++)
		h = mix(h ^ w->buf[i]);
	return h;
}

/* the whole computation, paced first half, go, second half */
static void work_run(struct work *w)
{
	while (w->steps < HALF1) {
		work_step(w);
		usleep(1000);
	}
	wait_for("go");
	while (w->steps < HALF1 + HALF2)
		work_step(w);
}

/* the same computation without interruption, to check against */
static uint64_t work_expected(uint64_t seed, long steps)
{
	struct work w;
	work_init(&w, seed);
	while (w.steps < steps)
		work_step(&w);
	uint64_t h = work_digest(&w);
	free(w.buf);
	return h;
}

/* ---- async-signal-safe helpers ---- */

static void copy_str(char *dst, size_t len, const char *src)
{
	size_t i = 0;
	if (src)
		for (; src[i] && i < len - 1; i++)
			dst[i] = src[i];
	dst[i] = 0;
}

/* a per-thread (or per-context) event log, two characters an event */
struct evlog {
	char s[256];
	int n;
};

static void ev(struct evlog *l, char who, char what)
{
	if (l->n + 2 < (int)sizeof(l->s)) {
		l->s[l->n++] = who;
		l->s[l->n++] = what;
		l->s[l->n] = 0;
	}
}

static char outcome(int rc)
{
	return rc == 0 ? '0' : rc > 0 ? 'R' : 'E';
}

/* ==== count ==== */

static struct work cw;
static volatile sig_atomic_t usr1;

static void on_usr1(int sig)
{
	usr1++;
}

static int count_cb(void *arg)
{
	const struct cr_checkpoint_info *ci = cr_get_checkpoint_info();
	if (ci)
		append("info", "ckpt dest=%s signal=%d\n", ci->dest ? ci->dest : "(null)", ci->signal);
	else
		append("info", "ckpt no-info errno=%d\n", errno);
	/* cairn does not forward checkpoints (libcr.h): ENOSYS */
	errno = 0;
	int rc = cr_forward_checkpoint(CR_SCOPE_PROC, getpid());
	if (rc < 0 && errno == ENOSYS)
		append("info", "forward enosys\n");
	else
		append("info", "forward rc=%d errno=%d\n", rc, errno);
	rc = cr_checkpoint(CR_CHECKPOINT_READY);
	if (rc == 0) {
		append("info", "cont\n");
	} else if (rc > 0) {
		const struct cr_restart_info *ri = cr_get_restart_info();
		if (ri && ri->requester == getpid())
			append("info", "restarted src=%s requester=self\n", ri->src ? ri->src : "(null)");
		else if (ri)
			append("info", "restarted src=%s requester=%d\n", ri->src ? ri->src : "(null)",
			       (int)ri->requester);
		else
			append("info", "restarted no-info errno=%d\n", errno);
		char up[64];
		snprintf(up, sizeof(up), "up.%d", (int)getpid());
		touch(up);
	} else {
		append("info", "failed %d\n", rc);
	}
	return 0;
}

static int mode_count(int argc, char **argv)
{
	int rc = argc > 3 ? atoi(argv[3]) : 0;
	if (cr_init() < 0) {
		printf("cr_init: %s\n", cr_strerror(errno));
		return 1;
	}
	if (cr_register_callback(count_cb, NULL, CR_THREAD_CONTEXT) < 0) {
		printf("cr_register_callback: %s\n", cr_strerror(errno));
		return 1;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	work_init(&cw, 7);
	touch("ready");
	work_run(&cw);
	uint64_t h = work_digest(&cw);
	printf("result %016llx verify=%s usr1=%d\n", (unsigned long long)h,
	       h == work_expected(7, HALF1 + HALF2) ? "ok" : "BAD", (int)usr1);
	return rc;
}

/* ==== basic ==== */

static struct work mainw, workw;
static struct evlog tlog, mlog, wlog;
static volatile int tbefore, tafter; /* the thread-context callback's count */
static volatile int order_bad;
static char order_why[128];
static int sa_rounds, sb_rounds, sc_rounds;

struct tinfo {
	int seen;
	char dest[1024];
	int signal, requester, target, scope;
	long prog_main, prog_worker;
};
static struct tinfo tinfo[8], sinfo[8];
static char rinfo[1200];

static void order_check(int round, const char *who)
{
	int tb = __atomic_load_n(&tbefore, __ATOMIC_SEQ_CST);
	int ta = __atomic_load_n(&tafter, __ATOMIC_SEQ_CST);
	if (tb != round + 1 || ta != round) {
		if (!order_bad)
			copy_str(order_why, sizeof(order_why), who);
		order_bad = 1;
	}
}

static int basic_t(void *arg)
{
	int k = __atomic_load_n(&tbefore, __ATOMIC_SEQ_CST);
	ev(&tlog, 'T', '<');
	if (k < 8) {
		const struct cr_checkpoint_info *ci = cr_get_checkpoint_info();
		tinfo[k].seen = ci != NULL;
		if (ci) {
			copy_str(tinfo[k].dest, sizeof(tinfo[k].dest), ci->dest ? ci->dest : "(null)");
			tinfo[k].signal = ci->signal;
			tinfo[k].requester = (int)ci->requester;
			tinfo[k].target = (int)ci->target;
			tinfo[k].scope = (int)ci->scope;
		}
		tinfo[k].prog_main = mainw.steps;
		tinfo[k].prog_worker = workw.steps;
	}
	__atomic_store_n(&tbefore, k + 1, __ATOMIC_SEQ_CST);
	int rc = cr_checkpoint(CR_CHECKPOINT_READY);
	__atomic_store_n(&tafter, k + 1, __ATOMIC_SEQ_CST);
	ev(&tlog, 'T', outcome(rc));
	if (rc > 0) {
		const struct cr_restart_info *ri = cr_get_restart_info();
		if (!ri)
			snprintf(rinfo, sizeof(rinfo), "none errno=%d", errno);
		else
			snprintf(rinfo, sizeof(rinfo), "src=%s requester=%s", ri->src ? ri->src : "(null)",
				 ri->requester == getpid() ? "self" : "other");
	}
	return 0;
}

/* signal context: async-signal-safe only */
static int basic_a(void *arg)
{
	int k = sa_rounds++;
	order_check(k, "A before");
	ev(&mlog, 'A', '<');
	if (k < 8) {
		const struct cr_checkpoint_info *ci = cr_get_checkpoint_info();
		sinfo[k].seen = ci != NULL;
		if (ci) {
			copy_str(sinfo[k].dest, sizeof(sinfo[k].dest), ci->dest ? ci->dest : "(null)");
			sinfo[k].signal = ci->signal;
		}
	}
	int rc = cr_checkpoint(CR_CHECKPOINT_READY);
	ev(&mlog, 'A', outcome(rc));
	return 0;
}

static int basic_b(void *arg)
{
	order_check(sb_rounds++, "B before");
	ev(&mlog, 'B', '<');
	int rc = cr_checkpoint(CR_CHECKPOINT_READY);
	ev(&mlog, 'B', outcome(rc));
	return 0;
}

static int basic_c(void *arg)
{
	order_check(sc_rounds++, "C before");
	ev(&wlog, 'C', '<');
	int rc = cr_checkpoint(CR_CHECKPOINT_READY);
	ev(&wlog, 'C', outcome(rc));
	return 0;
}

static volatile int worker_set;

static void *basic_worker(void *arg)
{
	if (cr_init() < 0 || cr_register_callback(basic_c, NULL, CR_SIGNAL_CONTEXT) < 0) {
		printf("worker setup: %s\n", cr_strerror(errno));
		exit(1);
	}
	__atomic_store_n(&worker_set, 1, __ATOMIC_SEQ_CST);
	work_run(&workw);
	return NULL;
}

static int mode_basic(void)
{
	pthread_t th;
	if (cr_init() < 0) {
		printf("cr_init: %s\n", cr_strerror(errno));
		return 1;
	}
	work_init(&mainw, 11);
	work_init(&workw, 12);
	if (cr_register_callback(basic_t, NULL, CR_THREAD_CONTEXT) < 0 ||
	    cr_register_callback(basic_a, NULL, CR_SIGNAL_CONTEXT) < 0 ||
	    cr_register_callback(basic_b, NULL, CR_SIGNAL_CONTEXT) < 0) {
		printf("cr_register_callback: %s\n", cr_strerror(errno));
		return 1;
	}
	if (pthread_create(&th, NULL, basic_worker, NULL) != 0) {
		printf("pthread_create failed\n");
		return 1;
	}
	while (!__atomic_load_n(&worker_set, __ATOMIC_SEQ_CST))
		usleep(1000);
	touch("ready");
	work_run(&mainw);
	pthread_join(th, NULL);

	printf("log thread=%s main=%s worker=%s order=%s%s\n", tlog.s, mlog.s, wlog.s,
	       order_bad ? "bad:" : "ok", order_bad ? order_why : "");
	for (int k = 0; k < tbefore && k < 8; k++) {
		if (!tinfo[k].seen)
			printf("info %d none\n", k);
		else
			printf("info %d dest=%s signal=%d requester=%d target=%d scope=%d\n", k,
			       tinfo[k].dest, tinfo[k].signal, tinfo[k].requester, tinfo[k].target,
			       tinfo[k].scope);
		printf("progress %d main=%ld worker=%ld\n", k, tinfo[k].prog_main, tinfo[k].prog_worker);
	}
	for (int k = 0; k < sa_rounds && k < 8; k++) {
		if (!sinfo[k].seen)
			printf("sinfo %d none\n", k);
		else
			printf("sinfo %d dest=%s signal=%d\n", k, sinfo[k].dest, sinfo[k].signal);
	}
	if (rinfo[0])
		printf("rinfo %s\n", rinfo);
	uint64_t hm = work_digest(&mainw), hw = work_digest(&workw);
	int ok = hm == work_expected(11, HALF1 + HALF2) && hw == work_expected(12, HALF1 + HALF2);
	printf("result main=%016llx worker=%016llx verify=%s\n", (unsigned long long)hm,
	       (unsigned long long)hw, ok ? "ok" : "BAD");
	return 0;
}

/* ==== refuse ==== */

static struct evlog rt_log, rs_log;
static int refuse_first = 1; /* what the refused cr_checkpoint() returned */
static int refuse_calls;

static int refuse_t(void *arg)
{
	if (refuse_calls++ == 0) {
		int rc = cr_checkpoint(CR_CHECKPOINT_TEMP_FAILURE_CODE(42));
		refuse_first = rc;
		ev(&rt_log, 'T', outcome(rc));
		return 0;
	}
	int rc = cr_checkpoint(CR_CHECKPOINT_READY);
	ev(&rt_log, 'T', outcome(rc));
	return 0;
}

static int refuse_s(void *arg)
{
	int rc = cr_checkpoint(CR_CHECKPOINT_READY);
	ev(&rs_log, 'S', outcome(rc));
	return 0;
}

static int mode_refuse(void)
{
	struct work w;
	if (cr_init() < 0 || cr_register_callback(refuse_t, NULL, CR_THREAD_CONTEXT) < 0 ||
	    cr_register_callback(refuse_s, NULL, CR_SIGNAL_CONTEXT) < 0) {
		printf("setup: %s\n", cr_strerror(errno));
		return 1;
	}
	work_init(&w, 21);
	touch("ready");
	work_run(&w);
	uint64_t h = work_digest(&w);
	printf("refuse first=%d t=%s s=%s verify=%s\n", refuse_first, rt_log.s, rs_log.s,
	       h == work_expected(21, HALF1 + HALF2) ? "ok" : "BAD");
	return 0;
}

/* ==== permfail ==== */

static int perm_t(void *arg)
{
	int rc = cr_checkpoint(CR_CHECKPOINT_PERM_FAILURE);
	/* BLCR ends the process; if this returns, say so (the test looks) */
	append("perm", "returned %d\n", rc);
	return 0;
}

static int mode_permfail(void)
{
	if (cr_init() < 0 || cr_register_callback(perm_t, NULL, CR_THREAD_CONTEXT) < 0) {
		printf("setup: %s\n", cr_strerror(errno));
		return 1;
	}
	touch("ready");
	wait_for("go");
	printf("survived\n");
	return 0;
}

/* ==== self ==== */

static int mode_self(void)
{
	struct work w;
	char p[4096];
	cr_checkpoint_args_t args;
	cr_checkpoint_handle_t h;

	if (cr_init() < 0) {
		printf("cr_init: %s\n", cr_strerror(errno));
		return 1;
	}
	work_init(&w, 31);
	while (w.steps < HALF1)
		work_step(&w);
	path_of(p, sizeof(p), "self.ctx");
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		printf("open %s: %s\n", p, strerror(errno));
		return 1;
	}
	cr_initialize_checkpoint_args_t(&args);
	args.cr_scope = CR_SCOPE_PROC;
	args.cr_target = 0;
	args.cr_fd = fd;
	if (cr_request_checkpoint(&args, &h) < 0) {
		printf("cr_request_checkpoint: %s\n", cr_strerror(errno));
		return 1;
	}
	int rc, restarted = 0;
	for (;;) {
		rc = cr_poll_checkpoint(&h, NULL);
		if (rc < 0 && rc == CR_POLL_CHKPT_ERR_POST && errno == CR_ERESTARTED) {
			restarted = 1;
			break;
		}
		if (rc < 0 && errno == EINTR)
			continue;
		break;
	}
	if (!restarted && rc <= 0) {
		printf("cr_poll_checkpoint: %d: %s\n", rc, cr_strerror(errno));
		return 1;
	}
	close(fd);
	while (w.steps < HALF1 + HALF2)
		work_step(&w);
	uint64_t d = work_digest(&w);
	printf("%s verify=%s\n", restarted ? "restarted" : "continued",
	       d == work_expected(31, HALF1 + HALF2) ? "ok" : "BAD");
	return 0;
}

/* ==== legacy ==== */

static volatile int legacy_rc = -1000;

static int legacy_t(void *arg)
{
	legacy_rc = cr_checkpoint(CR_CHECKPOINT_READY);
	return 0;
}

static int mode_legacy(void)
{
	struct work w;
	char p[4096];

	if (cr_init() < 0 || cr_register_callback(legacy_t, NULL, CR_THREAD_CONTEXT) < 0) {
		printf("setup: %s\n", cr_strerror(errno));
		return 1;
	}
	work_init(&w, 41);
	while (w.steps < HALF1)
		work_step(&w);
	path_of(p, sizeof(p), "legacy.ctx");
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	cr_request_file(p);
#pragma GCC diagnostic pop
	while (w.steps < HALF1 + HALF2)
		work_step(&w);
	uint64_t d = work_digest(&w);
	const char *how = legacy_rc == 0 ? "continued" : legacy_rc > 0 ? "restarted" : "failed";
	printf("legacy %s rc=%d verify=%s\n", how, legacy_rc,
	       d == work_expected(41, HALF1 + HALF2) ? "ok" : "BAD");
	return 0;
}

/* ==== cs ==== */

static volatile int cs_left, cs_seen_left = -1, cs_status_in_cb = -1, cs_calls;
static volatile int cs_outcome = -1000;
static volatile int cs_watch, cs_watch_done, cs_saw_pending, cs_try = -1000;

static int cs_t(void *arg)
{
	cs_seen_left = cs_left;
	cs_status_in_cb = cr_status();
	cs_calls++;
	cs_outcome = cr_checkpoint(CR_CHECKPOINT_READY);
	return 0;
}

static void *cs_watcher(void *arg)
{
	cr_client_id_t id = cr_init();
	if (id < 0) {
		cs_try = -2000;
		__atomic_store_n(&cs_watch_done, 1, __ATOMIC_SEQ_CST);
		return NULL;
	}
	while (!__atomic_load_n(&cs_watch, __ATOMIC_SEQ_CST))
		usleep(1000);
	for (int i = 0; i < 2000; i++) { /* up to 20 s */
		if (cr_status() == CR_STATE_PENDING) {
			cs_saw_pending = 1;
			break;
		}
		usleep(10000);
	}
	if (cs_saw_pending) {
		int rc = cr_tryenter_cs(id);
		cs_try = rc;
		if (rc == 0) /* entered although a checkpoint is pending */
			cr_leave_cs(id);
	}
	__atomic_store_n(&cs_watch_done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static int mode_cs(void)
{
	pthread_t th;
	cr_client_id_t id = cr_init();
	if (id < 0 || cr_register_callback(cs_t, NULL, CR_THREAD_CONTEXT) < 0) {
		printf("setup: %s\n", cr_strerror(errno));
		return 1;
	}
	if (pthread_create(&th, NULL, cs_watcher, NULL) != 0)
		return 1;
	int idle_try = cr_tryenter_cs(id);
	if (idle_try == 0)
		cr_leave_cs(id);
	int st0 = cr_status();
	cr_enter_cs(id);
	cr_enter_cs(id); /* nested */
	touch("ready");
	wait_for("requested");
	__atomic_store_n(&cs_watch, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&cs_watch_done, __ATOMIC_SEQ_CST))
		usleep(1000);
	usleep(600000); /* the checkpoint must wait for this */
	int calls_in_cs = cs_calls;
	cs_left = 1;
	cr_leave_cs(id);
	cr_leave_cs(id);
	pthread_join(th, NULL);
	wait_for("go");
	printf("cs idle-try=%d status-idle=%d pending=%d tryenter=%s calls-in-cs=%d seen_left=%d "
	       "status-in-cb=%d calls=%d outcome=%c status-after=%d\n",
	       idle_try, st0, cs_saw_pending, cs_try > 0 ? ">0" : cs_try == 0 ? "0" : "<0", calls_in_cs,
	       cs_seen_left, cs_status_in_cb, cs_calls, outcome(cs_outcome), cr_status());
	return 0;
}

/* ==== hold ==== */

static int mode_hold(void)
{
	struct work w;
	cr_client_id_t id = cr_init();
	if (id < 0) {
		printf("cr_init: %s\n", cr_strerror(errno));
		return 1;
	}
	work_init(&w, 51);
	cr_enter_cs(id);
	touch("ready");
	wait_for("leave");
	cr_leave_cs(id);
	work_run(&w);
	printf("hold done verify=%s\n",
	       work_digest(&w) == work_expected(51, HALF1 + HALF2) ? "ok" : "BAD");
	return 0;
}

/* ==== parent ==== */

static int mode_parent(void)
{
	struct work w;
	if (cr_init() < 0) {
		printf("cr_init: %s\n", cr_strerror(errno));
		return 1;
	}
	pid_t me = getpid();
	pid_t child = fork();
	if (child < 0) {
		printf("fork: %s\n", strerror(errno));
		return 1;
	}
	if (child == 0) {
		while (!exists("go") && getppid() == me)
			usleep(10000);
		_exit(0);
	}
	work_init(&w, 61);
	touch("ready");
	work_run(&w);
	int st = -1;
	if (waitpid(child, &st, 0) != child)
		st = -1;
	printf("parent child-status=%d verify=%s\n", st,
	       work_digest(&w) == work_expected(61, HALF1 + HALF2) ? "ok" : "BAD");
	return 0;
}

/* ==== misc ==== */

static int misc_bad;

static void result(int ok, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void result(int ok, const char *name, const char *fmt, ...)
{
	va_list ap;
	if (ok) {
		printf("ok %s\n", name);
		return;
	}
	misc_bad++;
	printf("bad %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static int dummy_cb(void *arg)
{
	return 0;
}

static volatile int noinit_rc = -2, noinit_errno;

static void *noinit_thread(void *arg)
{
	errno = 0;
	noinit_rc = cr_register_callback(dummy_cb, NULL, CR_SIGNAL_CONTEXT);
	noinit_errno = errno;
	return NULL;
}

static cr_spinlock_t spin = CR_SPINLOCK_INITIALIZER;
static long spin_count;

static void *spin_thread(void *arg)
{
	for (int i = 0; i < 200000; i++) {
		cr_spinlock_lock(&spin);
		long v = spin_count;
		__asm__ __volatile__("" ::: "memory");
		spin_count = v + 1;
		cr_spinlock_unlock(&spin);
	}
	return NULL;
}

static void hook_fn(cr_hook_event_t ev_)
{
}

static int mode_misc(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	cr_client_id_t id = cr_init();
	result(id >= 0, "cr_init", "returned %d: %s", (int)id, cr_strerror(errno));
	int st = cr_status();
	result(st == CR_STATE_IDLE, "cr_status-idle", "cr_status() = %d", st);

	/* cr_strerror */
	static const int codes[] = {CR_ETEMPFAIL, CR_EPERMFAIL, CR_ENOSUPPORT, CR_EOMITTED,
				    CR_ERESTARTED, CR_ENOTCB, CR_ENOINIT};
	static const char *names[] = {"CR_ETEMPFAIL", "CR_EPERMFAIL", "CR_ENOSUPPORT", "CR_EOMITTED",
				      "CR_ERESTARTED", "CR_ENOTCB", "CR_ENOINIT"};
	char texts[7][256];
	int n = (int)(sizeof(codes) / sizeof(codes[0]));
	for (int i = 0; i < n; i++) {
		const char *s = cr_strerror(codes[i]);
		char name[64];
		snprintf(name, sizeof(name), "cr_strerror-%s", names[i]);
		snprintf(texts[i], sizeof(texts[i]), "%s", s ? s : "");
		char unknown[256];
		snprintf(unknown, sizeof(unknown), "%s", strerror(codes[i]));
		result(s && *s && strcmp(s, unknown) != 0, name, "gives \"%s\"", s ? s : "(null)");
	}
	int distinct = 1;
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (strcmp(texts[i], texts[j]) == 0)
				distinct = 0;
	result(distinct, "cr_strerror-distinct", "two CR_E* codes share a description");
	char enoent[256];
	snprintf(enoent, sizeof(enoent), "%s", strerror(ENOENT));
	const char *s = cr_strerror(ENOENT);
	result(s && strcmp(s, enoent) == 0, "cr_strerror-errno", "cr_strerror(ENOENT) = \"%s\"",
	       s ? s : "(null)");

	/* outside a callback */
	int rc = cr_checkpoint(CR_CHECKPOINT_READY);
	result(rc == -CR_ENOTCB, "cr_checkpoint-outside-callback", "returned %d, not -CR_ENOTCB", rc);
	errno = 0;
	const struct cr_checkpoint_info *ci = cr_get_checkpoint_info();
	result(ci == NULL && errno == CR_ENOTCB, "cr_get_checkpoint_info-outside-callback",
	       "returned %p errno %d", (const void *)ci, errno);
	const struct cr_restart_info *ri = cr_get_restart_info();
	result(ri == NULL, "cr_get_restart_info-outside-callback", "returned %p", (const void *)ri);

	/* a thread without cr_init() */
	pthread_t th;
	pthread_create(&th, NULL, noinit_thread, NULL);
	pthread_join(th, NULL);
	result(noinit_rc < 0 && noinit_errno == CR_ENOINIT, "register-without-cr_init",
	       "returned %d errno %d", noinit_rc, noinit_errno);

	/* requests that cannot be served */
	cr_checkpoint_args_t args;
	cr_checkpoint_handle_t h;
	rc = cr_initialize_checkpoint_args_t(&args);
	result(rc == 0, "cr_initialize_checkpoint_args_t", "returned %d", rc);
	pid_t gone = fork();
	if (gone == 0)
		_exit(0);
	waitpid(gone, NULL, 0);
	int fd = open("/dev/null", O_WRONLY);
	cr_initialize_checkpoint_args_t(&args);
	args.cr_scope = CR_SCOPE_PROC;
	args.cr_target = gone;
	args.cr_fd = fd;
	errno = 0;
	rc = cr_request_checkpoint(&args, &h);
	result(rc < 0 && errno == ESRCH, "request-no-such-process", "returned %d errno %d (%s)", rc,
	       errno, cr_strerror(errno));
	cr_initialize_checkpoint_args_t(&args);
	args.cr_scope = CR_SCOPE_PROC;
	args.cr_target = getppid(); /* the test's shell: no checkpoint support */
	args.cr_fd = fd;
	errno = 0;
	rc = cr_request_checkpoint(&args, &h);
	result(rc < 0 && errno == CR_ENOSUPPORT, "request-without-support", "returned %d errno %d (%s)",
	       rc, errno, cr_strerror(errno));
	cr_initialize_checkpoint_args_t(&args);
	args.cr_scope = CR_SCOPE_PROC;
	args.cr_target = 0;
	args.cr_fd = 1000; /* not open */
	close(1000);
	errno = 0;
	rc = cr_request_checkpoint(&args, &h);
	result(rc < 0 && errno == EBADF, "request-bad-fd", "returned %d errno %d (%s)", rc, errno,
	       cr_strerror(errno));
	close(fd);
	errno = 0;
	rc = cr_forward_checkpoint(CR_SCOPE_PROC, getpid());
	/* outside a callback: not supported, or not in a callback (BLCR) */
	result(rc < 0 && (errno == ENOSYS || errno == CR_ENOTCB), "cr_forward_checkpoint-outside",
	       "returned %d errno %d", rc, errno);
	cr_restart_args_t rargs;
	cr_restart_handle_t rh;
	cr_initialize_restart_args_t(&rargs);
	rargs.cr_fd = 0;
	errno = 0;
	rc = cr_request_restart(&rargs, &rh);
	result(rc < 0 && errno == ENOSYS, "cr_request_restart-enosys", "returned %d errno %d", rc, errno);

	/* critical sections without a checkpoint */
	rc = cr_tryenter_cs(id);
	result(rc == 0, "cr_tryenter_cs-idle", "returned %d", rc);
	if (rc == 0)
		cr_leave_cs(id);
	cr_enter_cs(id);
	cr_enter_cs(id);
	int l1 = cr_leave_cs(id), l2 = cr_leave_cs(id);
	result(l1 == 0 && l2 == 0, "cr_enter_cs-nested", "leave returned %d %d", l1, l2);

	/* spinlocks */
	cr_spinlock_t sl;
	cr_spinlock_init(&sl);
	int t1 = cr_spinlock_trylock(&sl);
	int t2 = cr_spinlock_trylock(&sl);
	cr_spinlock_unlock(&sl);
	int t3 = cr_spinlock_trylock(&sl);
	cr_spinlock_unlock(&sl);
	cr_spinlock_lock(&sl);
	int t4 = cr_spinlock_trylock(&sl);
	cr_spinlock_unlock(&sl);
	result(t1 != 0 && t2 == 0 && t3 != 0 && t4 == 0, "cr_spinlock-trylock",
	       "trylock free %d, held %d, freed %d, after lock %d", t1, t2, t3, t4);
	pthread_t sp[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&sp[i], NULL, spin_thread, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(sp[i], NULL);
	result(spin_count == 4 * 200000, "cr_spinlock-threads", "count %ld, not %d", spin_count,
	       4 * 200000);

	/* hooks */
	cr_hook_fn_t prev = cr_register_hook(CR_HOOK_CONT_NO_CALLBACKS, hook_fn);
	cr_hook_fn_t prev2 = cr_register_hook(CR_HOOK_CONT_NO_CALLBACKS, NULL);
	result(prev == NULL && prev2 == hook_fn, "cr_register_hook", "returned %p then %p",
	       (void *)prev, (void *)prev2);
	prev = cr_register_hook(CR_NUM_HOOKS, hook_fn);
	result(prev == CR_HOOK_FN_ERROR, "cr_register_hook-bad-event", "returned %p", (void *)prev);

	printf("misc done bad=%d\n", misc_bad);
	return misc_bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s MODE DIR [ARGS]\n", argv[0]);
		return 2;
	}
	const char *mode = argv[1];
	dir = argv[2];
	if (strcmp(mode, "count") == 0)
		return mode_count(argc, argv);
	if (strcmp(mode, "basic") == 0)
		return mode_basic();
	if (strcmp(mode, "refuse") == 0)
		return mode_refuse();
	if (strcmp(mode, "permfail") == 0)
		return mode_permfail();
	if (strcmp(mode, "self") == 0)
		return mode_self();
	if (strcmp(mode, "legacy") == 0)
		return mode_legacy();
	if (strcmp(mode, "cs") == 0)
		return mode_cs();
	if (strcmp(mode, "hold") == 0)
		return mode_hold();
	if (strcmp(mode, "parent") == 0)
		return mode_parent();
	if (strcmp(mode, "misc") == 0)
		return mode_misc();
	fprintf(stderr, "%s: unknown mode %s\n", argv[0], mode);
	return 2;
}
