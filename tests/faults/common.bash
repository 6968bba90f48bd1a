# Shared by the fault scripts (tests/faults/*.sh); sourced, never run.
#
# Each script sets NAME, sources this file, then calls pass/fail and ends
# with `finish`. Everything a script makes lives in $T, removed on exit
# together with every process it started (their PIDs are in $PIDS).

set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CAIRN=${CAIRN:-$ROOT/build/bin/cairn}
NFAIL=0
NPASS=0
PIDS=()
CK_PREFIX=() # e.g. (setpriv --reuid=nobody ...): whom ckpt runs cairn as
ON_EXIT=     # more to undo on exit (an unmount, say), run before rm -rf
AS_NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)

T=$(mktemp -d "${TMPDIR:-/tmp}/cairn-faults-$NAME.XXXXXX")
chmod 755 "$T" # the tests that run as nobody need to reach their files

cleanup() {
	local p
	disown -a 2>/dev/null # no "Killed" notices for our own background jobs
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	# whatever still runs our test program (a restored copy, say)
	for p in $(procs_of "$T/prog"); do
		kill -KILL "$p" 2>/dev/null
	done
	[ -n "$ON_EXIT" ] && eval "$ON_EXIT"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { echo "PASS faults/$NAME${1:+: $1}"; NPASS=$((NPASS + 1)); }
fail() { echo "FAIL faults/$NAME: $*"; NFAIL=$((NFAIL + 1)); }
check() { # check DESCRIPTION CONDITION-COMMAND...
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}
finish() {
	[ "$NFAIL" -eq 0 ] && [ "$NPASS" -gt 0 ] && exit 0
	exit 1
}

need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "FAIL faults/$NAME: must run as root (it switches to user nobody)"
		exit 1
	fi
}

need_cairn() {
	if [ ! -x "$CAIRN" ]; then
		fail "$CAIRN is not built (make -C $ROOT)"
		exit 1
	fi
}

# PIDs of the processes whose executable is $1.
procs_of() {
	find /proc/[0-9]*/exe -maxdepth 0 -lname "$1" 2>/dev/null | cut -d/ -f3
}

# The test program: holds MEM MiB of random data, writes DIR/ready with
# "PID FD" once set up (FD: its TCP socket if CAIRN_TEST_PORT is set, else
# -1), counts until DIR/done exists, then checks its memory and prints
# "result counter=N mem=ok". Gives up after SECONDS (default 120).
build_prog() {
	cat >"$T/prog.c" <<'EOF'
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t fill(uint64_t *m, size_t n, int write)
{
	uint64_t x = 88172645463325252ull, h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (write)
			m[i] = x;
		h = (h ^ m[i]) * 1099511628211ull;
	}
	return h;
}

int main(int argc, char **argv)
{
	char ready[4096], tmp[4200], done[4096];
	size_t words = (argc > 2 ? strtoull(argv[2], 0, 10) : 1) << 20 >> 3;
	int secs = argc > 3 ? atoi(argv[3]) : 120, sock = -1;
	uint64_t *m = malloc(words * 8 + 8), h;
	unsigned long counter = 0;
	const char *port = getenv("CAIRN_TEST_PORT");

	if (argc < 2 || !m)
		return 2;
	h = fill(m, words, 1);
	if (port) {
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(atoi(port))};
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sock = socket(AF_INET, SOCK_STREAM, 0);
		if (sock < 0 || connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			perror("connect");
			return 2;
		}
	}
	snprintf(ready, sizeof(ready), "%s/ready", argv[1]);
	snprintf(tmp, sizeof(tmp), "%s/.ready", argv[1]);
	snprintf(done, sizeof(done), "%s/done", argv[1]);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return 2;
	fprintf(f, "%d %d\n", (int)getpid(), sock);
	fclose(f);
	rename(tmp, ready);
	time_t start = time(NULL);
	while (access(done, F_OK) != 0) {
		counter++;
		usleep(10000);
		if (time(NULL) - start > secs) {
			printf("result timeout counter=%lu\n", counter);
			return 4;
		}
	}
	int ok = fill(m, words, 0) == h;
	printf("result counter=%lu mem=%s\n", counter, ok ? "ok" : "BAD");
	return ok ? 0 : 3;
}
EOF
	gcc -O1 -o "$T/prog" "$T/prog.c" || { fail "cannot compile the test program"; exit 1; }
}

build_imgtool() {
	gcc -O1 -g -D_GNU_SOURCE -I"$ROOT/src" "$ROOT/tests/tools/imgtool.c" -lxxhash \
		-o "$T/imgtool" || { fail "cannot compile tests/tools/imgtool.c"; exit 1; }
	IMGTOOL=$T/imgtool
}

# start_prog DIR MEM [AS...]: runs the program under cairn in the background
# (as the user AS..., a setpriv prefix, if given), waits until it is set up,
# and sets PROG_PID (the program), RUN_PID (our background job) and
# PROG_FD. Its stdout goes to DIR/out, its stderr to DIR/err, its exit status
# to DIR/status.
start_prog() {
	local dir=$1 mem=$2
	shift 2
	mkdir -p "$dir"
	rm -f "$dir/ready" "$dir/done" "$dir/status"
	(
		timeout -s KILL 300 "$@" "$CAIRN" run -- "$T/prog" "$dir" "$mem" >"$dir/out" 2>"$dir/err"
		echo $? >"$dir/status"
	) 2>/dev/null &
	RUN_PID=$!
	PIDS+=("$RUN_PID")
	local i
	for i in $(seq 300); do
		[ -s "$dir/ready" ] && break
		[ -e "$dir/status" ] && break
		sleep 0.05
	done
	if [ ! -s "$dir/ready" ]; then
		PROG_PID=
		fail "the program did not start under cairn run: $(cat "$dir/err" 2>/dev/null)"
		return 1
	fi
	read -r PROG_PID PROG_FD <"$dir/ready"
	PIDS+=("$PROG_PID")
	return 0
}

# alive PID: the process exists and is not a zombie.
alive() {
	local s
	s=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 1
	[ -n "$s" ] && [ "$s" != Z ]
}

# finish_prog DIR: tells the program to finish, waits for it, and checks
# it finished with the right answer. Returns 1 (with a message in WHY)
# otherwise.
finish_prog() {
	local dir=$1 i
	touch "$dir/done"
	for i in $(seq 400); do
		[ -e "$dir/status" ] && break
		sleep 0.05
	done
	if [ ! -e "$dir/status" ]; then
		WHY="the program did not finish within 20 s"
		return 1
	fi
	if [ "$(cat "$dir/status")" != 0 ] || ! grep -q '^result counter=[1-9][0-9]* mem=ok$' "$dir/out"; then
		WHY="the program finished with status $(cat "$dir/status"), output '$(cat "$dir/out")', stderr '$(head -c 500 "$dir/err")'"
		return 1
	fi
	return 0
}

# expect_prog_ok DIR WHAT: pass/fail on finish_prog.
expect_prog_ok() {
	if finish_prog "$1"; then pass "$2"; else fail "$2: $WHY"; fi
}

# ckpt OUT ERR ARGS...: `cairn checkpoint ARGS`, status in CK_STATUS.
ckpt() {
	local out=$1 err=$2
	shift 2
	timeout -s KILL 120 "${CK_PREFIX[@]}" "$CAIRN" checkpoint "$@" >"$out" 2>"$err"
	CK_STATUS=$?
}

# expect_refusal WHAT STATUS STDERR-FILE REGEX: exit status STATUS, stderr
# starts with "cairn:" and matches REGEX (extended, case-insensitive).
expect_refusal() {
	local what=$1 want=$2 errf=$3 re=$4 got=$5
	if [ "$got" != "$want" ]; then
		fail "$what: exit status $got, expected $want; stderr: $(head -c 600 "$errf")"
	elif ! head -c 6 "$errf" | grep -q '^cairn:'; then
		fail "$what: stderr does not start with 'cairn:': $(head -c 600 "$errf")"
	elif ! grep -Eqi -- "$re" "$errf"; then
		fail "$what: message does not match /$re/: $(head -c 600 "$errf")"
	else
		pass "$what"
		echo "#   $(head -n 1 "$errf" | head -c 300)"
	fi
}

# make_image DIR MEM IMAGE: a valid image of a fresh program, which is then
# told to finish. Returns 1 if that did not work.
make_image() {
	local dir=$1 mem=$2 img=$3
	start_prog "$dir" "$mem" || return 1
	ckpt "$dir/ck.out" "$dir/ck.err" -o "$img" "$PROG_PID"
	if [ "$CK_STATUS" != 0 ] || [ ! -s "$img" ]; then
		fail "cannot make a valid image to start from: cairn checkpoint -o $img $PROG_PID: status $CK_STATUS: $(cat "$dir/ck.err")"
		touch "$dir/done"
		return 1
	fi
	if ! finish_prog "$dir"; then
		fail "after the first checkpoint: $WHY"
		return 1
	fi
	return 0
}

# restart_ok IMAGE DIR WHAT: the image restarts, and the restored program
# finishes with the right answer once told to.
restart_ok() {
	local img=$1 dir=$2 what=$3 i
	rm -f "$dir/done" "$dir/status" "$dir/rstatus"
	(
		timeout -s KILL 60 "$CAIRN" restart "$img" >"$dir/rout" 2>"$dir/rerr"
		echo $? >"$dir/rstatus"
	) 2>/dev/null &
	PIDS+=($!)
	sleep 0.5
	touch "$dir/done"
	for i in $(seq 400); do
		[ -e "$dir/rstatus" ] && break
		sleep 0.05
	done
	if [ "$(cat "$dir/rstatus" 2>/dev/null)" = 0 ] &&
		grep -q '^result counter=[1-9][0-9]* mem=ok$' "$dir/rout"; then
		pass "$what"
	else
		fail "$what: cairn restart $img: status $(cat "$dir/rstatus" 2>/dev/null), stdout '$(head -c 300 "$dir/rout")', stderr '$(head -c 600 "$dir/rerr")'"
	fi
}
