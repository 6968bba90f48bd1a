#!/usr/bin/env bash
# `make install` gives a BLCR user what BLCR gave: headers, libcr.so, the
# pkg-config files and the cr_* commands. A program written for BLCR is
# built with `pkg-config --cflags --libs libcr` against the installed tree
# only, run with the installed cr_run, checkpointed with cr_checkpoint,
# killed, restarted with cr_restart, and finishes with the right answer.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$here/../..
CHECK_CLEANUP='pkill -9 -f "$T/" 2>/dev/null'
. "$top/tests/lib/check.bash"
check_begin blcr/install
P=$T/prefix
if make -s -C "$top" install PREFIX="$P" >"$T/make.log" 2>&1; then
	pass "make install PREFIX=... works"
else
	fail "make install: $(tail -5 "$T/make.log")"
	exit 1
fi
missing=0
for f in include/libcr.h include/blcr_common.h include/cairn.h lib/libcr.so.0 lib/libcr.so \
	lib/libcairn.so lib/pkgconfig/libcr.pc lib/pkgconfig/cairn.pc bin/cr_run bin/cr_checkpoint \
	bin/cr_restart bin/cairn libexec/cairn/cairn-restore; do
	[ -e "$P/$f" ] || { fail "$f is not installed"; missing=1; }
done
[ $missing -eq 0 ] && pass "headers, libraries, pkg-config files and commands are installed"
export PKG_CONFIG_PATH=$P/lib/pkgconfig
flags=$(pkg-config --cflags --libs libcr) || fail "pkg-config does not know libcr"
[ "$(pkg-config --modversion libcr)" = "0.8.6" ] && pass "pkg-config libcr gives BLCR's version" ||
	fail "pkg-config --modversion libcr: $(pkg-config --modversion libcr)"
pkg-config --cflags --libs cairn | grep -q -- "-lcairn" && pass "pkg-config cairn links -lcairn" ||
	fail "pkg-config cairn: $(pkg-config --cflags --libs cairn)"

# A BLCR program: a callback counts checkpoints and learns the outcome; the
# main loop computes; the answer is checked against a closed form.
cat >"$T/prog.c" <<'PROG'
#include <libcr.h>
#include <stdio.h>
#include <unistd.h>
static volatile int ckpts, restarts;
static int cb(void *arg)
{
	int rc = cr_checkpoint(CR_CHECKPOINT_READY);
	ckpts++;
	if (rc > 0)
		restarts++;
	return 0;
}
int main(int argc, char **argv)
{
	if (cr_init() < 0) {
		perror("cr_init");
		return 2;
	}
	if (cr_register_callback(cb, NULL, CR_THREAD_CONTEXT) < 0) {
		perror("cr_register_callback");
		return 2;
	}
	unsigned long long s = 0;
	FILE *f = fopen(argv[1], "w");
	fclose(f);
	for (unsigned long long i = 1; i <= 40; i++) {
		s += i * i;
		usleep(50000);
	}
	printf("sum %llu checkpoints %d restarts %d\n", s, ckpts, restarts);
	return s == 40ull * 41 * 81 / 6 ? 0 : 1;
}
PROG
# only the installed tree: no -I or -L into the source tree
if gcc -o "$T/prog" "$T/prog.c" $flags >"$T/cc.log" 2>&1; then
	pass "a BLCR program builds with pkg-config libcr"
else
	fail "build: $(cat "$T/cc.log")"
	exit 1
fi
cd "$T" || exit 1
"$P/bin/cr_run" "$T/prog" "$T/started" >"$T/out" 2>"$T/err" &
pid=$!
for ((i = 0; i < 200; i++)); do [ -e "$T/started" ] && break; sleep 0.05; done
sleep 0.3
if "$P/bin/cr_checkpoint" --kill -f "$T/prog.ctx" "$pid" 2>"$T/ck.err"; then
	pass "installed cr_checkpoint --kill"
else
	fail "cr_checkpoint: $(cat "$T/ck.err")"
fi
wait "$pid" 2>/dev/null
timeout 60 "$P/bin/cr_restart" "$T/prog.ctx" >"$T/out2" 2>"$T/err2"
rc=$?
if [ $rc -eq 0 ] && grep -q "^sum 22140 checkpoints 1 restarts 1\$" "$T/out2"; then
	pass "installed cr_restart: the program finishes with the right answer and saw its restart"
else
	fail "cr_restart (status $rc): $(cat "$T/out2" "$T/err2")"
fi
check_end
