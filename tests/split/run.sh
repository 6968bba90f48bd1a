#!/usr/bin/env bash
# The split process (src/split): a lower-half helper (lower.c) loaded into
# the window of an upper half (split_test.c), called, confined and timed;
# then the real MPICH as the lower half (mpi_split.c), under mpiexec.
# Prints one "PASS split/..." or "FAIL split/..." line per check, and
# "info split/..." lines with the measured costs; exits non-zero if any
# check failed. Builds what it needs with `make split`.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
bt=$top/build/tests/split
T=$(mktemp -d /tmp/cairn-split.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0

if ! make -s -C "$top" split >"$T/build.log" 2>&1; then
	echo "FAIL split/build: make split failed"
	sed 's/^/    | /' "$T/build.log" | tail -n 40
	exit 1
fi
if grep -qi warning "$T/build.log"; then
	echo "FAIL split/build: warnings"
	sed 's/^/    | /' "$T/build.log" | tail -n 40
	fails=$((fails + 1))
fi

# run NAME CMD...: relay the program's lines, their names prefixed with
# NAME's directory part (nobody/load: nobody/); a crash or a non-zero status
# without a FAIL line of its own is a failure too
run() {
	local name=$1 pre rc
	shift
	pre=${name%/*}/
	[ "$pre" = "$name/" ] && pre=
	timeout 300 "$@" 2>"$T/err" | sed "s#^\(PASS\|FAIL\|info\) split/#\1 split/$pre#" >"$T/out"
	rc=${PIPESTATUS[0]}
	cat "$T/out"
	if grep -q '^FAIL ' "$T/out"; then
		fails=$((fails + $(grep -c '^FAIL ' "$T/out")))
	elif [ $rc -ne 0 ]; then
		echo "FAIL split/$name: exit status $rc"
		fails=$((fails + 1))
	fi
	[ $rc -ne 0 ] && [ -s "$T/err" ] && sed 's/^/    ! /' "$T/err" | tail -n 20
	return 0
}

run load "$bt/split_test" load "$bt/lower"
run cycles "$bt/split_test" cycles "$bt/lower"
run bench "$bt/split_test" bench "$bt/lower"
run exit "$bt/split_test" exit "$bt/lower"
run missing "$bt/split_test" missing "$T/no-such-helper"
run cross "$bt/split_test" cross "$bt/lower"
run threads "$bt/split_test" threads "$bt/lower"
run signals "$bt/split_test" signals "$bt/lower"
run fds "$bt/split_test" fds "$bt/lower"
run notpie "$bt/split_test" notpie "$bt/lower_nopie"
run notelf "$bt/split_test" notelf "$here/run.sh"
run nolib "$bt/split_test" nolib "$bt/lower_nolib"

# The real MPICH in the lower half (mpi_split.c), against the same logic
# linked with MPICH natively (mpi_native.c). This machine may have fewer
# cores than ranks: 4 ranks busy-polling on 2 cores make the ping-pong
# slow, so it is short there.
mpi() {
	local n=$1 iters=$2 native
	if readelf -d "$bt/mpi_split" | grep -q 'NEEDED.*mpi'; then
		echo "FAIL split/mpi-n$n/not-linked: mpi_split is linked with MPI"
		fails=$((fails + 1))
	fi
	run mpi-n$n timeout 120 mpiexec.mpich -n "$n" "$bt/mpi_split" \
		"mpi-n$n" "$n" "$bt/mpi_lower" "$iters"
	native=$(timeout 120 mpiexec.mpich -n "$n" "$bt/mpi_native" "$iters" 2>&1 |
		sed -n 's/^native-latency \([0-9.]*\) us.*/\1/p')
	if [ -n "$native" ]; then
		echo "info split/mpi-n$n/latency-native: native $native us half round trip (same ping-pong, linked with MPICH, $iters round trips)"
	else
		echo "FAIL split/mpi-n$n/native: the native baseline did not run"
		fails=$((fails + 1))
	fi
}
if [ -x "$bt/mpi_split" ] && command -v mpiexec.mpich >/dev/null; then
	mpi 2 5000
	mpi 4 200
else
	echo "info split/mpi: skipped (MPICH's headers or mpiexec.mpich missing)"
fi

# seccomp with no_new_privs needs no privilege: the same, as nobody
if [ "$(id -u)" = 0 ] && setpriv --reuid=nobody --regid=nogroup --clear-groups \
	test -x "$bt/split_test" -a -r "$bt/lower" 2>/dev/null; then
	run nobody/load setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$bt/split_test" load "$bt/lower"
fi

[ $fails -eq 0 ]
