#!/bin/bash
# image_mode: images are private (mode 0600) whatever the umask, the default
# name is context.PID in the current directory, and `cairn checkpoint`
# prints the one line the contract promises.
NAME=image_mode
source "$(dirname "$0")/common.bash"
need_cairn
build_prog

umask 000
start_prog "$T/p" 2 || finish
mkdir -m 777 "$T/ck" "$T/cwd"

ckpt "$T/o" "$T/e" -o "$T/ck/img" "$PROG_PID"
if [ "$CK_STATUS" != 0 ]; then
	fail "cairn checkpoint -o $T/ck/img: status $CK_STATUS: $(cat "$T/e")"
else
	mode=$(stat -c %a "$T/ck/img")
	check "new image has mode 0600 under umask 000 (got $mode)" test "$mode" = 600
	size=$(stat -c %s "$T/ck/img")
	line=$(cat "$T/o")
	if [[ "$line" =~ ^checkpoint\ $T/ck/img:\ $size\ bytes\ in\ [0-9]+\.[0-9]+\ s,\ paused\ [0-9]+\.[0-9]+\ s$ ]] &&
		[ "$(wc -l <"$T/o")" = 1 ]; then
		pass "prints 'checkpoint PATH: N bytes in T s, paused P s'"
	else
		fail "stdout is '$line', expected 'checkpoint $T/ck/img: $size bytes in T s, paused P s'"
	fi
fi

# replacing a world-writable file
: >"$T/ck/old"
chmod 666 "$T/ck/old"
ckpt "$T/o" "$T/e" -o "$T/ck/old" "$PROG_PID"
mode=$(stat -c %a "$T/ck/old")
check "image replacing a mode-666 file has mode 0600 (got $mode; status $CK_STATUS)" test "$mode" = 600

# the default name
(cd "$T/cwd" && timeout -s KILL 120 "$CAIRN" checkpoint "$PROG_PID" >"$T/o" 2>"$T/e")
st=$?
if [ "$st" = 0 ] && [ -f "$T/cwd/context.$PROG_PID" ]; then
	mode=$(stat -c %a "$T/cwd/context.$PROG_PID")
	check "default image context.PID has mode 0600 (got $mode)" test "$mode" = 600
else
	fail "cairn checkpoint PID in $T/cwd: status $st, files: $(ls -A "$T/cwd"), stderr: $(cat "$T/e")"
fi
expect_prog_ok "$T/p" "the program finished with the right answer"
finish
