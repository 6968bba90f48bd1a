#!/bin/bash
# missing_image: `cairn restart` of an image it cannot open says why, with
# exit status 125: a file that does not exist, a directory, and (as nobody)
# a file it may not read.
NAME=missing_image
source "$(dirname "$0")/common.bash"
need_cairn

timeout -s KILL 30 "$CAIRN" restart "$T/missing.img" >"$T/o" 2>"$T/e"
expect_refusal "restart of a missing image" 125 "$T/e" \
	"missing\.img.*(no such file|not found|does not exist)" "$?"
check "nothing on stdout" test ! -s "$T/o"

mkdir "$T/dir.img"
timeout -s KILL 30 "$CAIRN" restart "$T/dir.img" >"$T/o" 2>"$T/e"
expect_refusal "restart of a directory" 125 "$T/e" 'directory|not a regular file|not a cairn image' "$?"

if [ "$(id -u)" = 0 ]; then
	head -c 8192 /dev/zero >"$T/private.img"
	chmod 600 "$T/private.img"
	timeout -s KILL 30 setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$CAIRN" restart "$T/private.img" >"$T/o" 2>"$T/e"
	expect_refusal "restart of an image nobody may not read" 125 "$T/e" 'permission' "$?"
fi
finish
