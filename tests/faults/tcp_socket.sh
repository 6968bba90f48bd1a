#!/bin/bash
# tcp_socket: a program with an open TCP connection cannot be checkpointed
# (cairn does not save sockets): `cairn checkpoint` fails (exit 1) with a
# message naming the descriptor number and saying it is a TCP socket; no
# image is left; the program keeps running and finishes normally.
NAME=tcp_socket
source "$(dirname "$0")/common.bash"
need_cairn
build_prog
PY=$(command -v /usr/bin/python3 python3 | head -1)

# a server on 127.0.0.1 that accepts and holds connections until stdin ends
mkfifo "$T/srv.in"
timeout -s KILL 300 "$PY" -c '
import socket, sys, threading
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
def serve():
    while True:
        c, _ = s.accept(); held.append(c)
threading.Thread(target=serve, daemon=True).start()
sys.stdin.read()
' "$T/port" <"$T/srv.in" &
PIDS+=($!)
exec 9>"$T/srv.in"
for i in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
if [ ! -s "$T/port" ]; then
	fail "the test's TCP server did not start"
	finish
fi
export CAIRN_TEST_PORT=$(cat "$T/port")
start_prog "$T/p" 2 || finish
unset CAIRN_TEST_PORT
echo "# the program's TCP socket is descriptor $PROG_FD"

mkdir "$T/ck"
ckpt "$T/o" "$T/e" -o "$T/ck/img" "$PROG_PID"
expect_refusal "checkpoint with a TCP connection open" 1 "$T/e" \
	"(^|[^0-9])$PROG_FD([^0-9]|$).*tcp|tcp.*(^|[^0-9])$PROG_FD([^0-9]|$)" "$CK_STATUS"
check "no image (nor temporary file) left" test -z "$(ls -A "$T/ck")"
check "the program is still running" alive "$PROG_PID"
expect_prog_ok "$T/p" "the program finished normally"
exec 9>&-
finish
