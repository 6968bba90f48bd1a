#!/bin/bash
# other_user: only the program's own user, or root, may checkpoint it.
#  - program run as root, `cairn checkpoint` as nobody: refused (exit 1, a
#    clear message), no image, the program keeps running;
#  - program run as nobody, checkpoint by user daemon: refused the same way;
#  - program run as nobody, checkpoint by root: works; the image is written
#    with the program's own credentials (owned by nobody, mode 0600).
NAME=other_user
source "$(dirname "$0")/common.bash"
need_root
need_cairn
build_prog
AS_DAEMON=(setpriv --reuid=daemon --regid=daemon --clear-groups)
DENIED='permission|not allowed|may not|belongs to|another user|owned by|denied|not permitted'

mkdir -m 777 "$T/shared"
start_prog "$T/r" 2 || finish
CK_PREFIX=("${AS_NOBODY[@]}")
ckpt "$T/o" "$T/e" -o "$T/shared/img" "$PROG_PID"
expect_refusal "nobody cannot checkpoint root's program" 1 "$T/e" "$DENIED" "$CK_STATUS"
check "no image was written" test ! -e "$T/shared/img"
check "root's program is still running" alive "$PROG_PID"
expect_prog_ok "$T/r" "root's program finished with the right answer"

mkdir "$T/nb"
chown nobody:nogroup "$T/nb"
start_prog "$T/nb" 2 "${AS_NOBODY[@]}" || finish
CK_PREFIX=("${AS_DAEMON[@]}")
ckpt "$T/o" "$T/e" -o "$T/shared/img2" "$PROG_PID"
expect_refusal "daemon cannot checkpoint nobody's program" 1 "$T/e" "$DENIED" "$CK_STATUS"
check "no image was written by daemon's request" test ! -e "$T/shared/img2"
check "nobody's program is still running" alive "$PROG_PID"

CK_PREFIX=()
ckpt "$T/o" "$T/e" -o "$T/nb/img" "$PROG_PID"
if [ "$CK_STATUS" = 0 ] && timeout 60 "$CAIRN" inspect "$T/nb/img" >/dev/null 2>&1; then
	pass "root can checkpoint nobody's program"
	owner=$(stat -c '%U %a' "$T/nb/img")
	check "the image is nobody's, mode 0600 (got $owner)" test "$owner" = "nobody 600"
else
	fail "root cannot checkpoint nobody's program: status $CK_STATUS: $(cat "$T/e")"
fi
expect_prog_ok "$T/nb" "nobody's program finished with the right answer"
finish
