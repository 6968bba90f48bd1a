#!/bin/bash
# stopped_process: `cairn checkpoint` of a process under cairn that is
# stopped (SIGSTOP) says so at once instead of waiting for a runtime that
# cannot answer, and the process checkpoints fine once continued.
NAME=stopped_process
source "$(dirname "$0")/common.bash"
need_cairn
build_prog

start_prog "$T/p" 4 || finish
kill -STOP "$PROG_PID"
ckpt "$T/o" "$T/e" -o "$T/img" "$PROG_PID"
expect_refusal "checkpoint of a stopped process" 1 "$T/e" 'is stopped' "$CK_STATUS"
check "no image was written" test ! -e "$T/img"
kill -CONT "$PROG_PID"
ckpt "$T/o" "$T/e" -o "$T/img" "$PROG_PID"
check "once continued it checkpoints" test "$CK_STATUS" = 0
expect_prog_ok "$T/p" "the program finished with the right answer"
finish
