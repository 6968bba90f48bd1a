#!/usr/bin/env bash
# MPI_Init_thread at each level (tests/mpi/threads.c), natively and under
# `cairn mpirun`, at 2 ranks: SINGLE, FUNNELED (workers compute while the
# main thread calls MPI) and SERIALIZED (threads take turns under a mutex,
# in a fixed order and in any order) must be provided and work; MULTIPLE
# is whatever cairn reports, and if it reports it, threads calling MPI at
# once must work too. cairn's `provided` must never exceed MPICH's (it
# cannot provide more than the real library under it), MPI_Query_thread
# must agree with it, and every line must match the native run's.
# Prints PASS/FAIL lines; exits non-zero if anything failed.
# Usage: tests/mpi/threads.sh   (after make; N= ranks, default 2)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
CAIRN=${CAIRN:-$top/build/bin/cairn}
TIMEOUT=${TIMEOUT:-120}
N=${N:-2}
T=$(mktemp -d /tmp/cairn-threads.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
pass() { echo "PASS mpi/threads: $1"; }
fail() {
	echo "FAIL mpi/threads: $1"
	fails=$((fails + 1))
}
[ -x "$CAIRN" ] || { fail "$CAIRN missing: run make"; exit 1; }
if ! mpicc.mpich -std=gnu11 -O2 -g -Wall -Wextra -Wshadow -Werror -Wno-unused-parameter \
	-D_GNU_SOURCE -pthread -o "$T/threads" "$here/threads.c" 2>"$T/cc.err"; then
	fail "building threads.c: $(head -5 "$T/cc.err")"
	exit 1
fi
lvl() { sed -n 's/^rank 0\/[0-9]*: ok required [a-z]* provided \([a-z]*\)$/\1/p' "$1"; }
num() { case $1 in single) echo 0 ;; funneled) echo 1 ;; serialized) echo 2 ;; multiple) echo 3 ;; *) echo -1 ;; esac; }

# same LEVEL PROVIDED-CAIRN PROVIDED-MPICH: the runs printed the same lines
# (all of them when both provided the same; when cairn provides less than
# MULTIPLE, all but the provided level and the multiple-only lines)
same() {
	if [ "$2" = "$3" ]; then
		cmp -s "$T/$1.native" <(grep -v '^library: ' "$T/$1.cairn"; echo "library: mpich")
	else
		diff <(body "$T/$1.native" | grep -v '^rank [0-9/]*: ok multiple') \
			<(body "$T/$1.cairn" | grep -v '^rank [0-9/]*: ok multiple') >/dev/null
	fi
}
body() { grep -v '^library: ' "$1" | sed 's/ provided [a-z]*$/ provided -/'; }

for level in single funneled serialized multiple; do
	timeout "$TIMEOUT" mpiexec.mpich -n "$N" "$T/threads" $level >"$T/$level.native" 2>&1
	rn=$?
	timeout "$TIMEOUT" "$CAIRN" mpirun -n "$N" "$T/threads" $level >"$T/$level.cairn" 2>&1
	rc=$?
	pn=$(lvl "$T/$level.native") pc=$(lvl "$T/$level.cairn")
	lib=$(grep '^library: ' "$T/$level.cairn")
	if [ $rn -ne 0 ] || ! grep -q '^library: mpich$' "$T/$level.native"; then
		fail "$level: the native run failed (status $rn): $(grep -v '^rank .*: ok ' "$T/$level.native" | head -5 | tr '\n' ' ')"
	elif [ $rc -ne 0 ]; then
		fail "$level under cairn: status $rc: $(grep -v '^rank .*: ok ' "$T/$level.cairn" | head -8 | tr '\n' ' ')"
	elif ! echo "$lib" | grep -q '^library: cairn, [1-9][0-9]* crossings'; then
		fail "$level: the ranks did not run on cairn's library ($lib)"
	elif [ -z "$pc" ] || [ "$(num "$pc")" -gt "$(num "$pn")" ]; then
		fail "$level: cairn provides '$pc', more than MPICH's '$pn'"
	elif [ $level != multiple ] && [ "$pc" != "$pn" ]; then
		fail "$level: cairn provides $pc, MPICH $pn"
	elif ! same "$level" "$pc" "$pn"; then
		fail "$level: output differs from the native run: $(diff "$T/$level.native" "$T/$level.cairn" | head -6 | tr '\n' ' ')"
	else
		pass "$level at $N ranks: required $level, provided $pc (MPICH: $pn), $(grep -c ': ok ' "$T/$level.cairn") checks as natively; ${lib#library: }"
	fi
done
[ $fails -eq 0 ]
