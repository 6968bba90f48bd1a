#!/bin/bash
# run_refusals: `cairn run` refuses what it cannot run under the runtime,
# before the program starts: a statically linked binary (exit 125, message
# says statically linked, the program does not run), a program that does
# not exist, a file that is not executable (125, clear messages).
NAME=run_refusals
source "$(dirname "$0")/common.bash"
need_cairn

cat >"$T/static.c" <<'C'
#include <stdio.h>
int main(int argc, char **argv)
{
	FILE *f = fopen(argv[1], "w");
	if (f)
		fputs("ran\n", f);
	puts("the static program ran");
	return 0;
}
C
if ! gcc -static -O1 -o "$T/static" "$T/static.c" 2>"$T/gcc.err"; then
	fail "cannot build a static binary: $(cat "$T/gcc.err")"
	finish
fi
timeout -s KILL 30 "$CAIRN" run -- "$T/static" "$T/ran" >"$T/o" 2>"$T/e"
expect_refusal "cairn run of a static binary" 125 "$T/e" 'static' "$?"
check "the static binary did not run" test ! -e "$T/ran" -a ! -s "$T/o"

timeout -s KILL 30 "$CAIRN" run -- "$T/no-such-program" >"$T/o" 2>"$T/e"
expect_refusal "cairn run of a missing program" 125 "$T/e" \
	"no-such-program.*(no such file|not found|does not exist)" "$?"

cp /bin/true "$T/notexec"
chmod 644 "$T/notexec"
timeout -s KILL 30 "$CAIRN" run -- "$T/notexec" >"$T/o" 2>"$T/e"
expect_refusal "cairn run of a file that is not executable" 125 "$T/e" \
	"notexec.*(permission|not executable)" "$?"
finish
