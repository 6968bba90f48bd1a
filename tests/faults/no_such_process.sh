#!/bin/bash
# no_such_process: `cairn checkpoint` of a PID that does not exist, or of a
# process not started under cairn, fails with a message that says which
# (exit 1), and leaves that process alone.
NAME=no_such_process
source "$(dirname "$0")/common.bash"
need_cairn

pid=999999
while kill -0 "$pid" 2>/dev/null; do pid=$((pid + 1)); done
ckpt "$T/o" "$T/e" -o "$T/img" "$pid"
expect_refusal "checkpoint of PID $pid (no such process)" 1 "$T/e" 'no (such )?process' "$CK_STATUS"

sleep 60 &
sp=$!
PIDS+=("$sp")
ckpt "$T/o" "$T/e" -o "$T/img" "$sp"
expect_refusal "checkpoint of a plain sleep" 1 "$T/e" \
	'not (running |started )?(under|with|by) cairn' "$CK_STATUS"
check "the plain sleep is still alive" alive "$sp"
check "no image was written" test ! -e "$T/img"

ckpt "$T/o" "$T/e" -o "$T/img" notapid
if [ "$CK_STATUS" != 0 ] && [ "$CK_STATUS" -lt 124 ] && head -c 6 "$T/e" | grep -q '^cairn:'; then
	pass "checkpoint of 'notapid' is refused"
else
	fail "checkpoint of 'notapid': status $CK_STATUS: $(cat "$T/e")"
fi
finish
