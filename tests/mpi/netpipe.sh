#!/usr/bin/env bash
# A real binary from Debian built against MPICH, unmodified: NetPIPE's MPI
# module (package netpipe-mpich2, /usr/bin/NPmpich2, linked with
# libmpich.so.12) runs to completion under `cairn mpirun -n 2`, in several
# of its modes, and prints the same table of message sizes as natively.
#
# That the ranks really ran on cairn's MPI and not on MPICH's: a small
# observer library, preloaded next to cairn's runtime (the binary itself is
# untouched), writes at each rank's exit which libmpich.so.12 answered
# (cairn's exports cairn_mpi_crossings), which lower half it used and how
# many calls crossed into it, and where MPICH's own libmpich.so.12 is
# mapped: under cairn only inside the lower half's window, never outside.
# The same observer on the native run must say "mpich", so the check can
# tell. Then a rank whose lower half cannot load must fail the job quickly.
#
# Prints PASS/FAIL lines; exits non-zero if anything failed.
# Usage: tests/mpi/netpipe.sh   (after make; needs netpipe-mpich2)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
CAIRN=${CAIRN:-$top/build/bin/cairn}
NP=${NPMPI:-/usr/bin/NPmpich2}
TIMEOUT=${TIMEOUT:-120}
. "$top/tests/lib/check.bash"
check_begin mpi/netpipe

if [ ! -x "$NP" ]; then
	fail "$NP missing: install netpipe-mpich2 (scripts/deps.sh)"
	exit 1
fi
[ -x "$CAIRN" ] || { fail "$CAIRN missing: run make"; exit 1; }
real=$(ldd "$NP" | awk '$1 == "libmpich.so.12" { print $3 }')
if [ -n "$real" ] && [ -e "$real" ]; then
	pass "$NP is linked with libmpich.so.12 ($real)"
else
	fail "$NP does not use libmpich.so.12: $(ldd "$NP" | tr '\n' ' ')"
	exit 1
fi
realfile=$(readlink -f "$real")
npfile=$(readlink -f "$NP")

# the observer: at exit, one line per rank in $NP_PROBE_DIR/PID
cat >"$T/probe.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((destructor)) static void probe(void)
{
	const char *dir = getenv("NP_PROBE_DIR"), *real = getenv("NP_PROBE_REAL");
	const char *exe = getenv("NP_PROBE_EXE");
	unsigned long (*cross)(void) = (unsigned long (*)(void))dlsym(RTLD_DEFAULT, "cairn_mpi_crossings");
	const char *(*lname)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "cairn_mpi_lower_name");
	int (*window)(unsigned long *, unsigned long *) =
		(int (*)(unsigned long *, unsigned long *))dlsym(RTLD_DEFAULT, "cairn_mpi_lower_window");
	unsigned long base = 0, size = 0, lo, hi;
	int in = 0, out = 0, runtime = 0, ours = 0;
	char path[4096], line[8192];
	FILE *m, *f;
	ssize_t len;

	if (!dir || !real || !exe)
		return;
	/* only the ranks, not the launcher, its proxies or timeout */
	len = readlink("/proc/self/exe", path, sizeof(path) - 1);
	if (len < 0 || (path[len] = 0, strcmp(path, exe) != 0))
		return;
	if (window && window(&base, &size) != 0)
		base = size = 0;
	m = fopen("/proc/self/maps", "r");
	while (m && fgets(line, sizeof(line), m)) {
		char *p = strchr(line, '/');
		if (!p || sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		p[strcspn(p, "\n")] = 0;
		if (strcmp(p, real) == 0) {
			if (size && lo >= base && hi <= base + size)
				in++;
			else
				out++;
		}
		if (strstr(p, "/libcairn.so"))
			runtime = 1;
		if (strstr(p, "/cairn-mpi/libmpich.so.12"))
			ours = 1;
	}
	if (m)
		fclose(m);
	snprintf(path, sizeof(path), "%s/%d", dir, (int)getpid());
	f = fopen(path, "w");
	if (!f)
		return;
	fprintf(f, "upper=%s lower=%s crossings=%lu cairn-lib-mapped=%d runtime=%d real-in-window=%d "
		"real-outside=%d\n", cross ? "cairn" : "mpich", lname ? lname() : "-",
		cross ? cross() : 0ul, ours, runtime, in, out);
	fclose(f);
}
C
if ! gcc -shared -fPIC -O2 -o "$T/probe.so" "$T/probe.c" -ldl 2>"$T/cc.err"; then
	fail "building the observer: $(head -5 "$T/cc.err")"
	exit 1
fi

# run MODE-NAME WHERE OPTS...: NetPIPE at 2 ranks, natively or under cairn,
# with the observer; T/WHERE.NAME.{out,std,probe/}
run() {
	local name=$1 where=$2
	shift 2
	local d=$T/$where.$name
	mkdir -p "$d.probe"
	(cd "$T" && if [ "$where" = native ]; then
		NP_PROBE_DIR=$d.probe NP_PROBE_REAL=$realfile NP_PROBE_EXE=$npfile LD_PRELOAD=$T/probe.so \
			timeout "$TIMEOUT" mpiexec.mpich -n 2 "$NP" "$@" -o "$d.out"
	else
		NP_PROBE_DIR=$d.probe NP_PROBE_REAL=$realfile NP_PROBE_EXE=$npfile LD_PRELOAD=$T/probe.so \
			timeout "$TIMEOUT" "$CAIRN" mpirun -n 2 "$NP" "$@" -o "$d.out"
	fi) >"$d.std" 2>&1
}
# the sizes of NetPIPE's output file, one a line
sizes() { awk '{ print $1 }' "$1" 2>/dev/null; }
# the lines of the table NetPIPE prints ("  3:       4 bytes     20 times -->")
table() { grep -E '^ *[0-9]+: +[0-9]+ bytes +[0-9]+ times -->' "$1" | awk '{ print $1, $2, $4 }'; }

# modes: plain ping-pong, preposted receives (MPI_Irecv), synchronous
# sends, bidirectional, streaming, and the integrity check (the data
# bounced back is compared)
modes=("pingpong:" "async:-a" "ssend:-S" "bidir:-2 -a" "stream:-s" "integrity:-i")
for mode in "${modes[@]}"; do
	name=${mode%%:*}
	read -r -a opts <<<"${mode#*:}"
	base=(-u 65536 -n 20 -p 0) reps=20
	[ "$name" = integrity ] && base=(-u 16384 -n 5 -p 0) reps=5
	run "$name" native "${base[@]}" "${opts[@]}"
	rn=$?
	start=$(date +%s%N)
	run "$name" cairn "${base[@]}" "${opts[@]}"
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	n=$T/native.$name c=$T/cairn.$name
	probes=$(cat "$c.probe"/* 2>/dev/null)
	nprobes=$(ls "$c.probe" | wc -l)
	nsizes=$(sizes "$c.out" | wc -l)
	why=
	if [ $rn -ne 0 ]; then
		why="the native run failed (status $rn): $(tail -3 "$n.std" | tr '\n' ' ')"
	elif [ $rc -ne 0 ]; then
		why="status $rc under cairn mpirun: $(tail -5 "$c.std" | tr '\n' ' ')"
	elif [ "$nsizes" -lt 10 ] || [ "$(sizes "$c.out" | tail -1)" -lt 1000 ]; then
		why="no table of sizes in the output file ($nsizes lines)"
	elif ! diff <(sizes "$n.out") <(sizes "$c.out") >/dev/null; then
		why="message sizes differ from the native run: $(diff <(sizes "$n.out") <(sizes "$c.out") | head -4 | tr '\n' ' ')"
	elif [ "$name" != integrity ] && ! diff <(table "$n.std") <(table "$c.std") >/dev/null; then
		why="printed table differs from the native run: $(diff <(table "$n.std") <(table "$c.std") | head -4 | tr '\n' ' ')"
	elif [ "$name" = integrity ] && { [ "$(grep -c 'Integrity check passed' "$c.std")" -ne "$nsizes" ] ||
		grep -qi 'fail' "$c.std"; }; then
		why="integrity check: $(grep -c 'Integrity check passed' "$c.std") of $nsizes sizes passed"
	elif [ "$nprobes" -ne 2 ]; then
		why="$nprobes of 2 ranks reported at exit: $probes"
	else
		# every rank: cairn's library, the split lower half, MPICH only in
		# the window, and at least one crossing per message (sizes x repeats)
		bad=$(echo "$probes" | awk -v min=$((nsizes * reps)) '
			!/^upper=cairn lower=split / || !/cairn-lib-mapped=1 runtime=1 / ||
			!/ real-outside=0$/ || / real-in-window=0 / { print; next }
			{ split($3, a, "="); if (a[2] + 0 < min) print }')
		[ -n "$bad" ] && why="a rank did not run on cairn's MPI: $bad"
	fi
	if [ -z "$why" ]; then
		pass "NPmpich2 ${opts[*]:-(ping-pong)}: $nsizes sizes as natively, in ${ms} ms; ranks: $(echo "$probes" | awk '{ print $3 }' | tr '\n' ' ')under split, MPICH mapped only in the window"
	else
		fail "NPmpich2 ${opts[*]:-(ping-pong)}: $why"
	fi
	# the observer can tell: natively, the ranks ran on MPICH's library
	if [ "$name" = pingpong ]; then
		np=$(cat "$n.probe"/* 2>/dev/null)
		if [ "$(echo "$np" | grep -c '^upper=mpich lower=- crossings=0 cairn-lib-mapped=0 runtime=0 real-in-window=0 real-outside=[1-9]')" -eq 2 ]; then
			pass "the observer tells native ranks apart (upper=mpich, MPICH mapped outside any window)"
		else
			fail "observer on the native run: $np"
		fi
	fi
done

# NETPIPE_FULL=1: also NetPIPE's default run (sizes up to 8 MiB with
# perturbations, about 45 s each way here), natively and under cairn
if [ "${NETPIPE_FULL:-0}" = 1 ]; then
	run full native
	rn=$?
	start=$(date +%s)
	run full cairn
	rc=$?
	took=$(($(date +%s) - start))
	n=$T/native.full c=$T/cairn.full
	if [ $rn -eq 0 ] && [ $rc -eq 0 ] && [ "$(sizes "$c.out" | wc -l)" -gt 100 ] &&
		diff <(sizes "$n.out") <(sizes "$c.out") >/dev/null &&
		[ "$(grep -c '^upper=cairn lower=split .* real-outside=0$' <(cat "$c.probe"/*))" -eq 2 ]; then
		pass "NPmpich2 with its default options: $(sizes "$c.out" | wc -l) sizes up to $(sizes "$c.out" | tail -1) bytes as natively, in ${took}s under cairn"
	else
		fail "NPmpich2 default run (native $rn, cairn $rc): $(tail -3 "$c.std" | tr '\n' ' ') $(cat "$c.probe"/* 2>/dev/null)"
	fi
fi

# a rank whose lower half cannot load: the job fails at once, saying why
start=$(date +%s)
(cd "$T" && CAIRN_MPI_HELPER=$T/no-such-helper timeout 60 "$CAIRN" mpirun -n 2 "$NP" -u 64 -n 5 -p 0 \
	-o "$T/broken.out") >"$T/broken.std" 2>&1
rc=$?
took=$(($(date +%s) - start))
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "no-such-helper" "$T/broken.std"; then
	pass "with a lower half that cannot load, NPmpich2 fails in ${took}s (status $rc) with a message"
else
	fail "broken lower half (status $rc, ${took}s): $(head -5 "$T/broken.std" | tr '\n' ' ')"
fi
check_end
