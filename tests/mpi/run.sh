#!/bin/sh
# cairn's MPI upper half: unmodified MPICH programs (built by mpicc.mpich,
# never relinked) run natively and with cairn's libmpich.so.12 first in the
# library path (lower half: the dlmopen test provider); outputs must match
# exactly. Prints PASS/FAIL lines; exits non-zero if anything failed.
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

native() { timeout "$TIMEOUT" "$MPIEXEC" -n "$1" "$T/$2"; }
cairn() {
	LD_LIBRARY_PATH=$LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} CAIRN_MPI_LOWER=dlmopen \
		timeout "$TIMEOUT" "$MPIEXEC" -n "$1" "$T/$2"
}

for t in p2p coll types comm; do
	for n in 2 4; do
		name=$t-n$n
		native "$n" "$t" >"$OUT/$name.native" 2>&1
		rn=$?
		cairn "$n" "$t" >"$OUT/$name.cairn" 2>&1
		rc=$?
		if [ $rn -ne 0 ]; then
			fail "$name" "native run failed ($rn)"
			sed 's/^/    /' "$OUT/$name.native" | tail -20
		elif [ $rc -ne 0 ]; then
			fail "$name" "run under cairn failed ($rc)"
			sed 's/^/    /' "$OUT/$name.cairn" | tail -20
		elif ! cmp -s "$OUT/$name.native" "$OUT/$name.cairn"; then
			fail "$name" "output differs from the native run"
			diff "$OUT/$name.native" "$OUT/$name.cairn" | head -20 | sed 's/^/    /'
		else
			pass "$name"
		fi
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

# Unsupported functions abort loudly, naming themselves.
cairn 1 unsupported >"$OUT/unsup" 2>&1
rc=$?
if [ $rc -ne 0 ] && grep -q '^cairn: MPI_Win_fence is not supported yet' "$OUT/unsup" &&
	! grep -q 'returned' "$OUT/unsup"; then
	pass unsupported-aborts
else
	fail unsupported-aborts "rc $rc: $(head -3 "$OUT/unsup")"
fi

# A lower half that cannot load fails clearly instead of hanging.
LD_LIBRARY_PATH=$LIB CAIRN_MPI_LOWER=dlmopen CAIRN_MPI_REAL=/nonexistent/libmpich.so.12 \
	timeout 60 "$MPIEXEC" -n 2 "$T/crossings" >"$OUT/bad" 2>&1
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q 'cairn: cannot load the MPI lower half' "$OUT/bad"; then
	pass bad-lower-half
else
	fail bad-lower-half "rc $rc: $(head -3 "$OUT/bad")"
fi

# Crossings per call: 1 for point-to-point, 0 for rank/size.
if cairn 2 crossings >"$OUT/cross" 2>&1 && grep -q 'crossings per call' "$OUT/cross"; then
	pass crossings
else
	fail crossings
fi
sed 's/^/    /' "$OUT/cross"

[ $fails -eq 0 ]
