#!/bin/sh
# cairn's MPI upper half: unmodified MPICH programs (built by mpicc.mpich,
# never relinked) run natively and with cairn's libmpich.so.12 first in the
# library path, with each lower half (split, the default, and the dlmopen
# test provider); outputs must match exactly. Then what each half holds
# (tests/mpi/halves.c: under split, nothing of the lower half outside the
# window, PMI_FD among the lower descriptors, the application's signal
# handler during MPI_Recv), crossings per call and the latency of each.
# Prints PASS/FAIL lines; exits non-zero if anything failed.
# Usage: tests/mpi/run.sh   (after make; B= selects the build directory)

cd "$(dirname "$0")/../.." || exit 2
B=${B:-build}
T=$B/tests/mpi
LIB=$(pwd)/$B/lib/cairn-mpi
REAL=/usr/lib/x86_64-linux-gnu/libmpich.so.12
MPIEXEC=${MPIEXEC:-mpiexec.mpich}
TIMEOUT=${TIMEOUT:-120}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
fails=0

pass() { echo "PASS mpi/$1"; }
fail() { echo "FAIL mpi/$1${2:+: $2}"; fails=$((fails + 1)); }

if [ ! -x "$T/p2p" ] || [ ! -e "$LIB/libmpich.so.12" ]; then
	fail build "run make first ($T, $LIB missing)"
	exit 1
fi

LOWERS=${LOWERS:-split dlmopen}

native() { timeout "$TIMEOUT" "$MPIEXEC" -n "$1" "$T/$2"; }
# cairn N PROG [ARGS]: under cairn's library, lower half $LOWER
cairn() {
	local n=$1 p=$2
	shift 2
	LD_LIBRARY_PATH=$LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} CAIRN_MPI_LOWER=$LOWER \
		timeout "$TIMEOUT" "$MPIEXEC" -n "$n" "$T/$p" "$@"
}

# waits: blocking calls interrupted while they wait (the report is the
# native one; cairn adds an info line saying how many were interrupted).
for t in p2p coll types comm intercomm rma extras io io_nb tool waits; do
	for n in 2 4; do
		native "$n" "$t" >"$OUT/$t-n$n.native" 2>&1
		rn=$?
		for LOWER in $LOWERS; do
			name=$t-n$n/$LOWER
			cairn "$n" "$t" >"$OUT/$t-n$n.$LOWER" 2>&1
			rc=$?
			if [ $rn -ne 0 ]; then
				fail "$name" "native run failed ($rn)"
				sed 's/^/    /' "$OUT/$t-n$n.native" | tail -20
			elif [ $rc -ne 0 ]; then
				fail "$name" "run under cairn failed ($rc)"
				sed 's/^/    /' "$OUT/$t-n$n.$LOWER" | tail -20
			elif ! grep -v '^info' "$OUT/$t-n$n.$LOWER" | cmp -s "$OUT/$t-n$n.native" -; then
				fail "$name" "output differs from the native run"
				grep -v '^info' "$OUT/$t-n$n.$LOWER" | diff "$OUT/$t-n$n.native" - | head -20 |
					sed 's/^/    /'
			elif [ $t = waits ] && ! grep -q '^info waits: [1-9][0-9]* of ' "$OUT/$t-n$n.$LOWER"; then
				fail "$name" "no wait was interrupted"
			else
				pass "$name$(sed -n 's/^info waits: \(.*\) while waiting/ (\1)/p' "$OUT/$t-n$n.$LOWER")"
			fi
		done
	done
done

# Every MPI_/PMPI_ symbol of the real library is one of ours.
syms() { nm -D --defined-only "$1" | awk '{print $NF}' | grep -E '^P?MPIX?_' | sort -u; }
syms "$REAL" >"$OUT/real.syms"
syms "$LIB/libmpich.so.12" >"$OUT/ours.syms"
missing=$(comm -23 "$OUT/real.syms" "$OUT/ours.syms")
if [ -z "$missing" ] && [ -s "$OUT/real.syms" ]; then
	pass "exports ($(wc -l <"$OUT/real.syms") MPI_/PMPI_/MPIX_ symbols)"
else
	fail exports "missing: $(echo $missing | cut -c1-300)"
fi
soname=$(readelf -d "$LIB/libmpich.so.12" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ "$soname" = libmpich.so.12 ] && [ -e "$LIB/libmpi.so.12" ] && pass soname || fail soname "$soname"

# The lower half's table, compiled against the real MPICH.
if "$T/lower_table_check" >"$OUT/table" 2>&1; then pass "lower-table ($(tail -1 "$OUT/table"))"
else fail lower-table "$(tail -3 "$OUT/table")"; fi

for LOWER in $LOWERS; do
	# Unsupported functions abort loudly, naming themselves.
	cairn 1 unsupported >"$OUT/unsup" 2>&1
	rc=$?
	if [ $rc -ne 0 ] && grep -q '^cairn: MPI_Open_port is not supported yet' "$OUT/unsup" &&
		! grep -q 'returned' "$OUT/unsup"; then
		pass unsupported-aborts/$LOWER
	else
		fail unsupported-aborts/$LOWER "rc $rc: $(head -3 "$OUT/unsup")"
	fi

	# Crossings per call: 1 for point-to-point, 0 for rank/size.
	if cairn 2 crossings >"$OUT/cross" 2>&1 && grep -q 'crossings per call' "$OUT/cross"; then
		pass crossings/$LOWER
	else
		fail crossings/$LOWER
	fi
	sed 's/^/    /' "$OUT/cross"
done

# A lower half that cannot load fails clearly instead of hanging: a missing
# real library (dlmopen), a missing helper, a helper that is not one (split).
bad_lower() { # NAME ENV...
	local name=$1
	shift
	env LD_LIBRARY_PATH=$LIB "$@" timeout 60 "$MPIEXEC" -n 2 "$T/crossings" >"$OUT/bad" 2>&1
	rc=$?
	if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q 'cairn: cannot load the MPI lower half' "$OUT/bad"; then
		pass "bad-lower-half/$name ($(grep -m1 'cannot load' "$OUT/bad" | cut -c1-150))"
	else
		fail "bad-lower-half/$name" "rc $rc: $(head -3 "$OUT/bad")"
	fi
}
bad_lower dlmopen CAIRN_MPI_LOWER=dlmopen CAIRN_MPI_REAL=/nonexistent/libmpich.so.12
bad_lower split-missing CAIRN_MPI_LOWER=split CAIRN_MPI_HELPER=/nonexistent/cairn-mpi-lower
bad_lower split-not-a-helper CAIRN_MPI_LOWER=split CAIRN_MPI_HELPER=$(pwd)/$B/tests/split/lower

# The default lower half is split.
LD_LIBRARY_PATH=$LIB CAIRN_MPI_LOWER= timeout 60 "$MPIEXEC" -n 2 "$T/halves" 20 >"$OUT/default" 2>&1
grep -q '^info lower=split ' "$OUT/default" && pass "default-lower (split)" ||
	fail default-lower "$(head -3 "$OUT/default")"

# What each half holds, as the application sees it (halves.c), at 2 and 4
# ranks; the ping-pong latency natively and with each lower half.
for n in 2 4; do
	for LOWER in $LOWERS; do
		cairn "$n" halves >"$OUT/halves" 2>&1
		rc=$?
		if [ $rc -eq 0 ] && ! grep -q '^FAIL' "$OUT/halves"; then
			pass "halves-n$n/$LOWER ($(grep -c '^ok' "$OUT/halves") checks)"
		else
			fail "halves-n$n/$LOWER" "status $rc"
		fi
		grep -v '^info' "$OUT/halves" | sed 's/^/    /'
	done
done
if [ "$LOWERS" = "split dlmopen" ]; then
	# under split, the maps and descriptor checks must have run
	LOWER=split cairn 2 halves >"$OUT/h" 2>&1
	grep -q '^ok maps:' "$OUT/h" && grep -q '^ok fds:' "$OUT/h" && pass "halves/split checks maps and fds" ||
		fail "halves/split checks maps and fds" "$(head -5 "$OUT/h")"
fi
lat=$(native 2 halves 20000 2>&1 | sed -n 's/^info lower=native latency-us \([0-9.]*\).*/\1/p')
line="8-byte ping-pong half round trip: native ${lat:-?} us"
for LOWER in $LOWERS; do
	l=$(cairn 2 halves 20000 2>&1 | sed -n 's/^info lower=[a-z]* latency-us \([0-9.]*\) crossings-per-call \([0-9.]*\).*/\1 us (\2 crossings per call)/p')
	line="$line, $LOWER ${l:-?}"
done
echo "info mpi/latency: $line"

[ $fails -eq 0 ]
