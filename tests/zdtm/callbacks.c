/* Thread- and signal-context callbacks: each runs in its context, in the
 * documented order, and learns whether the process continued (0) or was
 * restarted (1). */
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include "cairn.h"
#include "zdtm.h"

enum { T1, T2, S1, S2, N };
static volatile int before[N], after[N], outcome[N], wrong_thread;
static volatile int log_[4096], nlog;
static pthread_t main_thread;

static void note(int what)
{
	int i = __atomic_fetch_add(&nlog, 1, __ATOMIC_SEQ_CST);
	if (i < 4096)
		log_[i] = what;
}

static int cb(void *arg)
{
	int id = (int)(intptr_t)arg;
	int sigctx = id == S1 || id == S2;
	if (sigctx != pthread_equal(pthread_self(), main_thread))
		wrong_thread = 1;
	before[id]++;
	note(id);
	outcome[id] = cairn_checkpoint(CAIRN_READY, NULL);
	after[id]++;
	note(100 + id);
	return 0;
}

int main(void)
{
	pid_t pid0 = getpid();
	main_thread = pthread_self();
	zdtm_check(cairn_checkpoint(CAIRN_READY, NULL) < 0, "cairn_checkpoint outside a callback");
	cairn_register_callback(cb, (void *)T1, CAIRN_THREAD_CONTEXT);
	cairn_register_callback(cb, (void *)S1, CAIRN_SIGNAL_CONTEXT);
	cairn_register_callback(cb, (void *)T2, CAIRN_THREAD_CONTEXT);
	cairn_register_callback(cb, (void *)S2, CAIRN_SIGNAL_CONTEXT);
	zdtm_ready();
	zdtm_wait_go();
	int n = before[T1];
	/* thread-context "after" work runs on the manager, maybe still now */
	for (int i = 0; i < 500 && after[T1] < n; i++)
		usleep(10000);
	zdtm_check(!wrong_thread, "a callback ran in the wrong thread");
	for (int k = 0; k < N; k++)
		zdtm_check(before[k] == n && after[k] == n, "callback %d ran %d/%d times for %d checkpoints",
			   k, before[k], after[k], n);
	if (n == 0)
		zdtm_pass(); /* run without a checkpoint */
	int want = getpid() != pid0 ? 1 : 0;
	for (int k = 0; k < N; k++)
		zdtm_check(outcome[k] == want, "callback %d saw outcome %d, expected %d", k, outcome[k], want);
	/* per checkpoint: T1 T2 S1 S2 before, then S2 before S1 and T2 before T1 after */
	int pos[200 + N];
	for (int i = 0; i < 200 + N; i++)
		pos[i] = -1;
	int base = 0;
	for (int c = 0; c < n; c++) {
		int seen = 0;
		for (int i = base; i < nlog && seen < 2 * N; i++, seen++)
			pos[log_[i] % 100 + (log_[i] >= 100 ? 100 : 0)] = i;
		zdtm_check(pos[T1] < pos[T2] && pos[T2] < pos[S1] && pos[S1] < pos[S2],
			   "checkpoint %d: callbacks began out of order", c);
		zdtm_check(pos[100 + S2] < pos[100 + S1] && pos[100 + T2] < pos[100 + T1],
			   "checkpoint %d: callbacks ended out of order", c);
		base += 2 * N;
	}
	zdtm_pass();
}
