#!/bin/bash
# disk_full: a checkpoint that runs out of space fails cleanly. In a private
# mount namespace (the program and the checkpoint both in it), a 12 MiB
# tmpfs holds an older image of a small program; a program holding 32 MiB
# of random data is checkpointed over it. `cairn checkpoint` fails with a
# message saying there is no space; the program keeps running and finishes
# right; the older image is byte-identical and still restarts; no temporary
# file is left and the space is given back.
NAME=disk_full
if [ -z "${CAIRN_IN_NS:-}" ]; then
	export CAIRN_IN_NS=1
	if [ "$(id -u)" = 0 ]; then
		exec timeout -s KILL 600 unshare -m --propagation private "$0" "$@"
	else
		exec timeout -s KILL 600 unshare -rm --propagation private "$0" "$@"
	fi
fi
source "$(dirname "$0")/common.bash"
need_cairn
build_prog

mkdir "$T/small"
if ! mount -t tmpfs -o size=12m,mode=755 cairn-test "$T/small"; then
	fail "cannot mount a tmpfs on $T/small"
	finish
fi
ON_EXIT='umount -l "$T/small"'

make_image "$T/p1" 1 "$T/small/img" || finish
old=$(sha256sum <"$T/small/img")
echo "# older image: $(stat -c %s "$T/small/img") bytes"
used_before=$(df --output=used -B1 "$T/small" | tail -1)

start_prog "$T/p2" 32 || finish
ckpt "$T/o" "$T/e" -o "$T/small/img" "$PROG_PID"
expect_refusal "checkpoint onto a full disk" 1 "$T/e" 'no space|disk is full|full' "$CK_STATUS"
check "the program is still running" alive "$PROG_PID"
expect_prog_ok "$T/p2" "the program finished with the right answer"

if [ "$(sha256sum <"$T/small/img")" = "$old" ]; then
	pass "the older image is byte-identical"
else
	fail "the older image changed (now $(stat -c %s "$T/small/img") bytes)"
fi
left=$(ls -A "$T/small")
check "no temporary file is left (directory holds: $(echo $left))" test "$left" = img
used_after=$(df --output=used -B1 "$T/small" | tail -1)
if [ $((used_after - used_before)) -le 65536 ]; then
	pass "the space is given back"
else
	fail "the space is not given back: $used_before bytes used before, $used_after after (an open temporary file?)"
fi
restart_ok "$T/small/img" "$T/p1" "the older image still restarts and finishes right"
finish
