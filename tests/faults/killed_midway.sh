#!/bin/bash
# killed_midway: a checkpoint interrupted by SIGKILL never leaves a partial
# image under the final name.
#  - `cairn checkpoint` of a program holding 300 MiB is killed shortly after
#    it starts (several delays): the final name is, at every moment, either
#    absent or a complete valid image; the program keeps running, can be
#    checkpointed again, and finishes with the right answer.
#  - the program itself is killed during its own checkpoint write: the
#    checkpoint fails with a message, the older image under the final name
#    is byte-identical and valid, and no temporary file is left; with no
#    older image, nothing at all appears under the final name.
NAME=killed_midway
source "$(dirname "$0")/common.bash"
need_cairn
build_prog

# watch_final FILE SECONDS: for SECONDS, whenever FILE exists it must pass
# `cairn inspect`. Sets WHY and returns 1 otherwise.
watch_final() {
	local f=$1 end=$((SECONDS + $2))
	while [ $SECONDS -lt "$end" ]; do
		if [ -e "$f" ]; then
			cp "$f" "$T/snap" 2>/dev/null || continue
			if ! timeout -s KILL 60 "$CAIRN" inspect "$T/snap" >/dev/null 2>"$T/ie"; then
				WHY="$f existed but was not a complete image: $(head -c 300 "$T/ie") ($(stat -c %s "$T/snap") bytes)"
				return 1
			fi
		fi
		sleep 0.1
	done
	return 0
}

# 1. the client is killed
start_prog "$T/p" 300 || finish
mkdir "$T/ck"
for delay in 0.02 0.1 0.3 0.6; do
	rm -f "$T/ck/img"
	"$CAIRN" checkpoint -o "$T/ck/img" "$PROG_PID" >"$T/o" 2>"$T/e" &
	cpid=$!
	PIDS+=("$cpid")
	sleep "$delay"
	kill -KILL "$cpid" 2>/dev/null
	wait "$cpid" 2>/dev/null
	if watch_final "$T/ck/img" 4; then
		state=absent
		[ -e "$T/ck/img" ] && state="a complete image"
		pass "cairn checkpoint killed after $delay s: the final name is $state"
	else
		fail "cairn checkpoint killed after $delay s: $WHY"
	fi
	left=$(ls -A "$T/ck" | grep -vx img)
	check "no temporary file left after killing cairn checkpoint at $delay s ($(echo $left))" \
		test -z "$left"
	check "the program still runs after its checkpointer was killed at $delay s" alive "$PROG_PID"
done
ckpt "$T/o" "$T/e" -o "$T/ck/after" "$PROG_PID"
if [ "$CK_STATUS" = 0 ] && timeout 60 "$CAIRN" inspect "$T/ck/after" >/dev/null 2>&1; then
	pass "the program can be checkpointed again afterwards"
else
	fail "checkpoint after the killed ones: status $CK_STATUS: $(cat "$T/e")"
fi
expect_prog_ok "$T/p" "the program finished with the right answer"

# 2. the program is killed while it writes its image
start_prog "$T/q" 300 || finish
mkdir "$T/ck2"
ckpt "$T/o" "$T/e" -o "$T/ck2/img" "$PROG_PID"
if [ "$CK_STATUS" != 0 ]; then
	fail "cannot make the older image: $(cat "$T/e")"
	finish
fi
old=$(sha256sum <"$T/ck2/img")
"$CAIRN" checkpoint -o "$T/ck2/img" "$PROG_PID" >"$T/o" 2>"$T/e" &
cpid=$!
PIDS+=("$cpid")
sleep 0.2
kill -KILL "$PROG_PID"
for i in $(seq 300); do
	kill -0 "$cpid" 2>/dev/null || break
	sleep 0.1
done
wait "$cpid"
st=$?
if [ "$st" = 0 ]; then
	fail "the checkpoint completed before the program was killed (0.2 s): cannot test; make the program bigger"
else
	expect_refusal "cairn checkpoint reports that the program died" 1 "$T/e" \
		'died|killed|exited|ended|gone|connection|no longer|lost' "$st"
	if [ "$(sha256sum <"$T/ck2/img")" = "$old" ] &&
		timeout 60 "$CAIRN" inspect "$T/ck2/img" >/dev/null 2>&1; then
		pass "the older image is byte-identical and valid"
	else
		fail "the older image changed or is invalid"
	fi
	left=$(ls -A "$T/ck2")
	check "no temporary file is left (directory holds: $(echo $left))" test "$left" = img
fi

# 3. the same with no older image: nothing at all under the final name
start_prog "$T/s" 300 || finish
mkdir "$T/ck3"
"$CAIRN" checkpoint -o "$T/ck3/img" "$PROG_PID" >"$T/o" 2>"$T/e" &
cpid=$!
PIDS+=("$cpid")
sleep 0.2
kill -KILL "$PROG_PID"
wait "$cpid"
st=$?
if [ "$st" = 0 ]; then
	fail "the checkpoint completed before the program was killed (0.2 s): cannot test"
else
	left=$(ls -A "$T/ck3")
	check "program killed during its first checkpoint: the directory is empty (holds: $(echo $left))" \
		test -z "$left"
fi
finish
