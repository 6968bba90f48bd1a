#!/usr/bin/env bash
# libcr loaded late, by dlopen, must never run the program again from the
# start (it re-executes a program only when the program itself links it):
# started directly, cr_init() says there is no checkpoint support; under
# cr_run, the same program works and its checkpoint restarts.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
CHECK_CLEANUP='pkill -9 -f "$T/" 2>/dev/null'
. "$top/tests/lib/check.bash"
check_begin blcr/dlopen
# descriptors above 2 leaked by whatever runs this would refuse checkpoints
for f in /proc/$$/fd/*; do
	fd=${f##*/}
	if [ "$fd" -gt 2 ] 2>/dev/null && [ "$fd" -ne 255 ]; then eval "exec $fd>&-" 2>/dev/null; fi
done
cat >"$T/late.c" <<'PROG'
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	/* counts how often main starts: a re-execution would start it twice */
	FILE *f = fopen(argv[1], "a");
	fprintf(f, "main\n");
	fclose(f);
	void *h = dlopen(argv[2], RTLD_NOW);
	if (!h) {
		printf("dlopen failed: %s\n", dlerror());
		return 2;
	}
	int (*init)(void) = (int (*)(void))dlsym(h, "cr_init");
	errno = 0;
	int id = init();
	printf("cr_init %s\n", id >= 0 ? "ok" : strerror(errno));
	fflush(stdout);
	if (argc > 3) {
		FILE *r = fopen(argv[3], "w");
		fclose(r);
		for (int i = 0; i < 30; i++)
			usleep(50000);
		printf("done\n");
	}
	return 0;
}
PROG
gcc -o "$T/late" "$T/late.c" -ldl || { fail "build"; exit 1; }

"$T/late" "$T/starts" "$top/build/lib/libcr.so.0" >"$T/out" 2>"$T/err"
[ "$(grep -c main "$T/starts")" = 1 ] && pass "started directly, the program runs once (no re-execution)" ||
	fail "main started $(grep -c main "$T/starts") times"
grep -q "^cr_init Function not implemented$" "$T/out" &&
	pass "started directly, cr_init() fails with ENOSYS: no checkpoint support" ||
	fail "cr_init said: $(cat "$T/out" "$T/err")"

rm -f "$T/starts"
"$top/build/bin/cr_run" "$T/late" "$T/starts" "$top/build/lib/libcr.so.0" "$T/ready" >"$T/out2" 2>&1 &
pid=$!
for ((i = 0; i < 200; i++)); do [ -e "$T/ready" ] && break; sleep 0.05; done
if "$top/build/bin/cr_checkpoint" --kill -f "$T/ctx" "$pid" >"$T/ck" 2>&1; then
	pass "under cr_run, the program that loaded libcr late is checkpointed"
else
	fail "cr_checkpoint: $(cat "$T/ck")"
fi
wait "$pid" 2>/dev/null
grep -q "^cr_init ok$" "$T/out2" && pass "under cr_run, cr_init() succeeds" || fail "cr_init under cr_run: $(cat "$T/out2")"
timeout 60 "$top/build/bin/cr_restart" "$T/ctx" >"$T/out3" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q "^done$" "$T/out3" && pass "its context restarts and finishes" ||
	fail "restart (status $rc): $(cat "$T/out3")"
[ "$(grep -c main "$T/starts")" = 1 ] && pass "main ran once in all" ||
	fail "main started $(grep -c main "$T/starts") times under cr_run"
check_end
