#!/bin/sh
# Build the libFuzzer targets of tests/fuzz/ with clang and run each one
# for FUZZ_SECONDS on a copy of its seed corpus under tests/.fuzz/ in
# the build tree: the source corpus is never written.  Called by
# `make fuzz`, which passes:
#   CC              a clang with libFuzzer (Debian: libclang-rt-14-dev)
#   FUZZ_CPPFLAGS   -I for src/ and config.h, and -D's
#   FUZZ_LIBCFLAGS  the libraries' pkg-config CFLAGS
#   FUZZ_LIBS       the libraries to link
#   FUZZ_SOURCES    the library's sources (src/*.c, relative to top_srcdir)
#   FUZZ_SECONDS    run time per target (default 60)
#   FUZZ_JOBS       targets run at once (default: CPUs, at most 6)
#   FUZZ_TARGETS    which targets (default: all six)
#   top_srcdir, top_builddir (absolute)
# The library is compiled here with the sanitizers, never taken from
# the gcc-built src/libp3.a.  Exits 1 when a target fails to build or
# its fuzzer finds something; the input is kept under tests/.fuzz/.
set -u

: "${CC:=clang}"
: "${FUZZ_SECONDS:=60}"
: "${FUZZ_TARGETS:=list error ini key glob decode}"
: "${FUZZ_CPPFLAGS:=}" "${FUZZ_LIBCFLAGS:=}" "${FUZZ_LIBS:=}"
: "${FUZZ_SOURCES:?set by make fuzz}" "${top_srcdir:?}" "${top_builddir:?}"
if [ -z "${FUZZ_JOBS:-}" ]; then
	FUZZ_JOBS=$(nproc 2>/dev/null || echo 1)
	[ "$FUZZ_JOBS" -gt 6 ] && FUZZ_JOBS=6
fi

SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
CFLAGS_FUZZ="-g -O1 -fno-omit-frame-pointer $SAN -Wall -Wextra"
out=$top_builddir/tests/.fuzz
fuzzdir=$top_srcdir/tests/fuzz
mkdir -p "$out/obj" || exit 1

# Can this compiler build a fuzzer at all?
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' \
    >"$out/probe.c"
if ! $CC -fsanitize=fuzzer $SAN -o "$out/probe" "$out/probe.c" \
    >"$out/probe.log" 2>&1; then
	cat "$out/probe.log"
	echo "fuzz: $CC cannot build libFuzzer targets (install clang and libclang-rt-14-dev)"
	exit 1
fi

# The library, instrumented; an object is rebuilt when older than its
# source or a header (extern.h, s3.h, config.h).
echo "fuzz: compiling the library with $CC"
objs= pids=
for src in $FUZZ_SOURCES; do
	case $src in *.c) ;; *) continue ;; esac
	obj=$out/obj/$(basename "$src" .c).o
	objs="$objs $obj"
	if [ "$obj" -nt "$top_srcdir/$src" ] &&
	    [ "$obj" -nt "$top_srcdir/src/extern.h" ] &&
	    [ "$obj" -nt "$top_srcdir/src/s3.h" ] &&
	    [ "$obj" -nt "$top_builddir/config.h" ]; then
		continue
	fi
	# shellcheck disable=SC2086
	$CC $CFLAGS_FUZZ -fsanitize=fuzzer-no-link $FUZZ_CPPFLAGS \
	    $FUZZ_LIBCFLAGS -c -o "$obj" "$top_srcdir/$src" &
	pids="$pids $!"
done
built=0
for pid in $pids; do
	wait "$pid" || built=1
done
if [ "$built" -ne 0 ]; then
	echo "fuzz: the library did not build"
	exit 1
fi
rm -f "$out/libp3fuzz.a"
# shellcheck disable=SC2086
ar rcs "$out/libp3fuzz.a" $objs || exit 1

# FUZZ_TOP_SRCDIR: where a target finds its test files (decode: the
# keys) when run by hand, without $top_srcdir.
for t in $FUZZ_TARGETS; do
	# shellcheck disable=SC2086
	if ! $CC $CFLAGS_FUZZ -fsanitize=fuzzer $FUZZ_CPPFLAGS \
	    "-DFUZZ_TOP_SRCDIR=\"$top_srcdir\"" \
	    $FUZZ_LIBCFLAGS -o "$out/fuzz_$t" "$fuzzdir/fuzz_$t.c" \
	    "$out/libp3fuzz.a" $FUZZ_LIBS; then
		echo "fuzz: target $t FAILED to build"
		exit 1
	fi
done

# Run one target; its log and any crashing input go to $out/$t/.
run_one() {
	t=$1
	w=$out/$t
	rm -rf "$w"
	mkdir -p "$w/corpus"
	# Not regress/: make check runs those, and a slow one (a former
	# timeout) would slow every mutation of it down.
	cp "$fuzzdir/corpus/$t/"* "$w/corpus/"
	case $t in
	list|error) dict=$fuzzdir/xml.dict ;;
	*) dict=$fuzzdir/$t.dict ;;
	esac
	[ -f "$dict" ] && dict=-dict=$dict || dict=
	# An encrypted object needs room for a header and two 64 KiB
	# chunks, or the chunk boundaries are out of reach.
	case $t in
	decode) maxlen=135168 ;;
	*) maxlen=8192 ;;
	esac
	# -close_fd_mask=2: the parsers' warnings would drown the log;
	# libFuzzer and the sanitizers still report on their own stream.
	# shellcheck disable=SC2086
	(cd "$w" && ASAN_OPTIONS=detect_leaks=1 "$out/fuzz_$t" \
	    -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
	    -max_len=$maxlen -close_fd_mask=2 -print_final_stats=1 $dict \
	    -artifact_prefix="$w/" corpus >"$w/log" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ]; then
		tail -40 "$w/log"
		echo "fuzz: target $t FAILED (exit $rc): log $w/log," \
		    "input $(ls "$w"/crash-* "$w"/timeout-* "$w"/leak-* \
		    "$w"/oom-* 2>/dev/null | head -1)"
		return 1
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$w/log")
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$w/log")
	cov=$(grep -E '^#[0-9]+' "$w/log" | tail -1 |
	    sed -n 's/.*\(cov: [0-9]*\).*\(ft: [0-9]*\).*\(corp: [^ ]*\).*/\1 \2 \3/p')
	echo "fuzz: target $t ok: $execs runs, $speed exec/s, $cov"
}

echo "fuzz: running $FUZZ_TARGETS for ${FUZZ_SECONDS}s each, $FUZZ_JOBS at a time"
status=0
set -- $FUZZ_TARGETS
while [ $# -gt 0 ]; do
	pids=
	n=0
	while [ $# -gt 0 ] && [ "$n" -lt "$FUZZ_JOBS" ]; do
		run_one "$1" >"$out/$1.result" 2>&1 &
		pids="$pids $!:$1"
		n=$((n + 1))
		shift
	done
	for p in $pids; do
		wait "${p%%:*}" || status=1
		cat "$out/${p#*:}.result"
	done
done
[ "$status" -eq 0 ] || echo "fuzz: FAILED (see the lines above)"
exit $status
