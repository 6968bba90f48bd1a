#!/bin/bash
# unwritable_dir: a checkpoint into a directory the program cannot write
# fails cleanly. The program runs as nobody (root could write anywhere) and
# so does `cairn checkpoint`: exit status 1, a message naming the directory,
# no file left there, and the program keeps running and finishes with the
# right answer. A directory that does not exist is refused the same way, and
# afterwards a checkpoint into a writable place still works.
NAME=unwritable_dir
source "$(dirname "$0")/common.bash"
need_root
need_cairn
build_prog

mkdir "$T/nb" "$T/ro"
chown nobody:nogroup "$T/nb"
chmod 755 "$T/ro" # root's: nobody may not write here
start_prog "$T/nb" 4 "${AS_NOBODY[@]}" || finish
CK_PREFIX=("${AS_NOBODY[@]}")

ckpt "$T/o" "$T/e" -o "$T/ro/img" "$PROG_PID"
expect_refusal "checkpoint into a directory nobody cannot write" 1 "$T/e" \
	"$T/ro.*(permission|not writable|denied)|(permission|not writable|denied).*$T/ro" "$CK_STATUS"
check "nothing was left in the directory" test -z "$(ls -A "$T/ro")"
check "the program is still running" alive "$PROG_PID"

ckpt "$T/o" "$T/e" -o "$T/missing/dir/img" "$PROG_PID"
expect_refusal "checkpoint into a directory that does not exist" 1 "$T/e" \
	'no such file|does not exist|not found' "$CK_STATUS"
check "the program is still running after that" alive "$PROG_PID"

ckpt "$T/o" "$T/e" -o "$T/nb/img" "$PROG_PID"
if [ "$CK_STATUS" = 0 ] && timeout 60 "$CAIRN" inspect "$T/nb/img" >/dev/null 2>&1; then
	pass "a checkpoint into a writable directory still works afterwards"
else
	fail "a checkpoint into a writable directory afterwards: status $CK_STATUS: $(cat "$T/e")"
fi
expect_prog_ok "$T/nb" "the program finished with the right answer"
finish
