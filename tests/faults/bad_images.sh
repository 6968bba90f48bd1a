#!/bin/bash
# bad_images: `cairn restart` refuses every damaged or foreign image before
# anything starts: exit status 125, a message on stderr that starts with
# "cairn:" and names the problem, nothing printed by the program, no process
# left behind. `cairn inspect` refuses the same images without crashing.
#
# Images: empty, truncated, single flipped bytes (header, pages, index,
# padding), foreign files (ELF, text, random blob), well-formed images from
# elsewhere made with tests/tools/imgtool (another architecture, a newer
# format, another vDSO, CPU features this machine lacks), and 200 random
# single-byte flips.
NAME=bad_images
source "$(dirname "$0")/common.bash"
need_cairn
build_prog
build_imgtool
cd "$T" || exit 1

make_image "$T/p" 4 "$T/good.img" || finish
restart_ok "$T/good.img" "$T/p" "the undamaged image restarts (control)"
touch "$T/p/done" # a program restored by mistake finishes at once, and says so

# refuse WHAT FILE REGEX [inspect-may-succeed]
refuse() {
	local what=$1 f=$2 re=$3 lenient=${4:-} st ist left problems=()
	timeout -s KILL 20 "$CAIRN" restart "$f" >"$T/r.out" 2>"$T/r.err"
	st=$?
	if [ "$st" != 125 ]; then
		problems+=("exit status $st, expected 125")
	fi
	if ! head -c 6 "$T/r.err" | grep -q '^cairn:'; then
		problems+=("stderr does not start with 'cairn:'")
	elif ! grep -Eqi -- "$re" "$T/r.err"; then
		problems+=("message does not match /$re/")
	fi
	if [ -s "$T/r.out" ]; then
		problems+=("something was printed on stdout: '$(head -c 200 "$T/r.out")'")
	fi
	left=$(procs_of "$T/prog")
	if [ -n "$left" ]; then
		problems+=("process(es) $left left running")
		kill -KILL $left 2>/dev/null
	fi
	timeout -s KILL 20 "$CAIRN" inspect "$f" >"$T/i.out" 2>"$T/i.err"
	ist=$?
	if [ -n "$lenient" ]; then
		# a valid image from another machine may be shown; it must not crash
		[ "$ist" = 0 ] || [ "$ist" = 1 ] || problems+=("cairn inspect: exit status $ist")
	elif [ "$ist" != 1 ]; then
		problems+=("cairn inspect: exit status $ist, expected 1")
	elif ! head -c 6 "$T/i.err" | grep -q '^cairn:'; then
		problems+=("cairn inspect: stderr does not start with 'cairn:': '$(head -c 200 "$T/i.err")'")
	fi
	if [ ${#problems[@]} -eq 0 ]; then
		pass "$what"
	else
		local IFS=';'
		fail "$what: ${problems[*]}; restart stderr: '$(head -c 400 "$T/r.err")'"
	fi
}

# flip FILE POS [MASK]: xor one byte in place.
flip() {
	local b
	b=$(od -An -tu1 -j"$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ ${3:-1})))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

SIZE=$(stat -c %s good.img)
PAGES_OFF=$("$IMGTOOL" layout good.img | awk '$2 == "pages" {print $3; exit}')
PAGES_LEN=$("$IMGTOOL" layout good.img | awk '$2 == "pages" {print $4; exit}')
INDEX_OFF=$("$IMGTOOL" layout good.img | awk '$1 == "index" {print $3}')
INDEX_LEN=$("$IMGTOOL" layout good.img | awk '$1 == "index" {print $4}')
PAD_OFF=$("$IMGTOOL" layout good.img | awk '$1 == "padding" {print $3; exit}')
PAD_LEN=$("$IMGTOOL" layout good.img | awk '$1 == "padding" {print $4; exit}')
if [ -z "$PAGES_OFF" ] || [ -z "$INDEX_OFF" ]; then
	fail "imgtool layout cannot read good.img: $("$IMGTOOL" layout good.img 2>&1)"
	finish
fi

# empty and truncated
: >empty.img
refuse "empty image" empty.img 'empty'
for len in 1 100 4095 4096 4097 $PAGES_OFF $((PAGES_OFF + PAGES_LEN / 2)) $INDEX_OFF $((SIZE - 1)); do
	head -c "$len" good.img >trunc.img
	refuse "image truncated to $len of $SIZE bytes" trunc.img 'truncated|not a complete'
done

# single flipped bytes
for spec in "header-magic 2" "header-version 8" "header-file-size 24" "header-checksum 490" \
	"header-padding 2000" "header-last-byte 4095" \
	"pages-first-byte $PAGES_OFF" "pages-middle $((PAGES_OFF + PAGES_LEN / 2 + 17))" \
	"pages-last-byte $((PAGES_OFF + PAGES_LEN - 1))" \
	"index-first-byte $INDEX_OFF" "index-middle $((INDEX_OFF + INDEX_LEN / 2 + 3))" \
	"last-byte $((SIZE - 1))" ${PAD_OFF:+"padding $((PAD_OFF + PAD_LEN / 2))"}; do
	set -- $spec
	cp good.img flip.img
	flip flip.img "$2" 16
	refuse "flipped byte at $2 ($1)" flip.img 'corrupt|checksum|damaged|not a cairn image'
done

# foreign files
cp "$T/prog" elf.img
refuse "an ELF binary" elf.img 'not a cairn image|ELF'
cp /etc/passwd passwd.img
refuse "/etc/passwd" passwd.img 'not a cairn image'
# BLCR context files start with a small magic number and a version
{ printf 'CR\0\0\x07\0\0\0'; head -c 200000 /dev/urandom; } >blcr.img
refuse "a BLCR-like blob" blcr.img 'not a cairn image'
head -c 200000 /dev/urandom >random.img
refuse "random bytes" random.img 'not a cairn image'

# well-formed, from elsewhere
cp good.img arch.img && "$IMGTOOL" set arch.img arch 183
refuse "an image from another architecture (arch 183)" arch.img 'architecture|aarch64|x86_64'
cp good.img version.img && "$IMGTOOL" set version.img version 2
refuse "an image of format version 2" version.img 'newer'
cp good.img vdso.img && "$IMGTOOL" set vdso.img vdso_hash $(($("$IMGTOOL" get good.img vdso_hash) ^ 0x5a5a))
refuse "an image made with another vDSO" vdso.img 'vdso' lenient
cp good.img vdso2.img && "$IMGTOOL" set vdso2.img vdso_size $(($("$IMGTOOL" get good.img vdso_size) + 4096))
refuse "an image made with a larger vDSO" vdso2.img 'vdso' lenient
XF=$("$IMGTOOL" get good.img xfeatures)
cp good.img xf.img && "$IMGTOOL" set xf.img xfeatures $((XF | (1 << 62) | (1 << 61) | (1 << 60)))
refuse "an image from a CPU with more register state (xfeatures 0x$(printf %x $((XF | (7 << 60)))))" \
	xf.img 'CPU|feature|XCR0|xsave|register' lenient

# 200 random single-byte flips
RANDOM=4242
bad=()
crashes=0
for i in $(seq 200); do
	case $((i % 4)) in
	0) pos=$((RANDOM % 4096)) ;;
	1) pos=$((INDEX_OFF + RANDOM % INDEX_LEN)) ;;
	2) pos=$((PAGES_OFF + ((RANDOM << 15 | RANDOM) % PAGES_LEN))) ;;
	*) pos=$(((RANDOM << 15 | RANDOM) % SIZE)) ;;
	esac
	mask=$((1 << (RANDOM % 8)))
	cp good.img fz.img
	flip fz.img "$pos" "$mask"
	timeout -s KILL 20 "$CAIRN" restart fz.img >"$T/r.out" 2>"$T/r.err"
	st=$?
	why=
	[ "$st" = 125 ] || why="status $st"
	head -c 6 "$T/r.err" | grep -q '^cairn:' || why="$why, stderr '$(head -c 100 "$T/r.err")'"
	[ -s "$T/r.out" ] && why="$why, stdout '$(head -c 100 "$T/r.out")'"
	grep -Eqi 'segmentation|core dumped' "$T/r.err" && why="$why, crashed"
	[ "$st" -gt 128 ] && crashes=$((crashes + 1))
	left=$(procs_of "$T/prog")
	[ -n "$left" ] && { why="$why, left $left running"; kill -KILL $left 2>/dev/null; }
	if [ $((i % 10)) = 0 ]; then
		timeout -s KILL 20 "$CAIRN" inspect fz.img >/dev/null 2>"$T/i.err"
		ist=$?
		[ "$ist" = 1 ] || why="$why, inspect status $ist"
	fi
	[ -n "$why" ] && bad+=("byte $pos ^ $mask: ${why#, }")
done
ls core* >/dev/null 2>&1 && bad+=("core files left in $T")
if [ ${#bad[@]} -eq 0 ]; then
	pass "200 random single-byte flips all refused with 125"
else
	fail "random flips: ${#bad[@]} of 200 not refused properly ($crashes crashes), e.g. ${bad[0]}${bad[1]:+; ${bad[1]}}${bad[2]:+; ${bad[2]}}"
fi

finish
