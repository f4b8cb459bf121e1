#!/bin/bash
# kill -9 at seeded random points.  Backup: four runs of a tree of 200
# small files and a 25 MiB multipart file, each killed after 0.05-1.5 s,
# with a few files rewritten between runs (each version of a file is a
# whole distinct content, kept aside): after every kill each object in
# the bucket is exactly one version of its file (never a mix, never
# partial); a last run completes, the bucket then equals the tree and no
# journal is left.  Restore: four runs into one target, each killed at
# random after some of the target was removed: after every kill each
# file under its real name equals its source; a last run completes,
# diff -r is clean and no temporary file is left.
# KILLS_SEED=N replays a run (the seed is printed as a diagnostic).
. "${top_srcdir:-.}/tests/lib.sh"

s3rver_start
SEED=${KILLS_SEED:-$RANDOM}
diag "KILLS_SEED=$SEED"
RANDOM=$SEED
# Eight kill delays in [0.05, 1.5] s from the seed.
read -r -a delays <<< "$(awk -v s="$SEED" 'BEGIN { srand(s)
	for (i = 0; i < 8; i++) printf "%.2f ", 0.05 + rand() * 1.45 }')"

src=$T/src
V=$T/versions		# every version of every file: $V/PATH.vN
mkdir -p "$src" "$V"
NFILES=200

# put_version PATH N: write version N of PATH (whole, size varying).
put_version() {
	mkdir -p "$(dirname "$src/$1")" "$(dirname "$V/$1")"
	printf 'v%d %s %*s\n' "$2" "$1" $((RANDOM % 3000)) '' > "$V/$1.v$2"
	cp "$V/$1.v$2" "$src/$1"
}
big_version() {
	head -c $((25 * 1024 * 1024)) /dev/urandom > "$V/big.bin.v$1"
	cp "$V/big.bin.v$1" "$src/big.bin"
}
for i in $(seq 1 "$NFILES"); do
	put_version "d$((i % 4))/f$i.txt" 1
done
big_version 1

# check_objects LABEL: each object (read from s3rver directly) is one
# whole version of its file.
check_objects() {
	local d=$T/check-$1 bad
	mkdir -p "$d"
	aws --endpoint-url "$S3_DIRECT" s3 sync "s3://$b" "$d" \
	    --exclude '.p3backup/*' >/dev/null 2>&1
	bad=$( (cd "$d" && find . -type f -print0) |
	    while IFS= read -r -d '' f; do
		m=0
		for v in "$V/$f".v*; do
			cmp -s "$d/$f" "$v" && { m=1; break; }
		done
		[ "$m" -eq 1 ] || printf '%s ' "$f"
	done)
	is "$bad" "" "$1: every object is one whole version of its file"
	rm -rf "$d"
}

# kill_after SECONDS LABEL COMMAND...: run, kill -9 after SECONDS.
# COMMAND is p3backup itself, not a shell function: $! must be its pid.
kill_after() {
	local s=$1 label=$2 st
	shift 2
	"$@" >/dev/null 2>&1 &
	pid=$!
	sleep "$s"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null; st=$?
	if [ "$st" -eq 137 ]; then
		diag "$label: killed after ${s}s"
	else
		diag "$label: ended (exit $st) before the kill at ${s}s"
	fi
}

b=$(new_bucket kills)
backup=("$P3BACKUP" --no-progress --mtime --multipart-threshold 8M
    --part-size 5M -j 4 "$b" "$src")
for it in 1 2 3 4; do
	if [ "$it" -gt 1 ]; then
		for _ in 1 2 3 4 5 6 7 8; do
			i=$((RANDOM % NFILES + 1))
			put_version "d$((i % 4))/f$i.txt" "$it"
		done
		[ "$it" -eq 3 ] && big_version 3
	fi
	kill_after "${delays[$((it - 1))]}" "backup $it" "${backup[@]}"
	check_objects "backup kill $it"
done
out=$("${backup[@]}" 2>&1); st=$?
is "$st" 0 "the backup run after the kills exits 0" || diag "$out"
mkdir -p "$T/back"
aws --endpoint-url "$S3_DIRECT" s3 sync "s3://$b" "$T/back" \
    --exclude '.p3backup/*' >/dev/null 2>&1
diff -r "$src" "$T/back" >"$T/diff" 2>&1; ok $? "the bucket equals the final tree (read from s3rver directly)"
[ -s "$T/diff" ] && diag "$(head -5 "$T/diff")"
is "$(find "$HOME/.local/state/p3backup" -type f 2>/dev/null | wc -l)" 0 \
    "no journal is left under ~/.local/state/p3backup"

# The window between CompleteMultipartUpload and the journal's removal,
# made certain: a copy of the journal with every part stored, put back
# after the run, stands for a kill in that window.  The next run, which
# has nothing to upload, removes it.
J=$HOME/.local/state/p3backup
mkdir -p "$T/src2" "$T/saved"
cp "$src/big.bin" "$T/src2/big.bin"
b2=$(new_bucket window)
"$P3BACKUP" --no-progress -j 1 --multipart-threshold 8M --part-size 5M \
    "$b2" "$T/src2" >/dev/null 2>&1 &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
	for f in "$J"/*.journal; do
		[ "$(grep -c '^[0-9]' "$f" 2>/dev/null)" = 5 ] && cp "$f" "$T/saved/"
	done
	sleep 0.01
done
wait "$pid"
if ls "$T/saved/"*.journal >/dev/null 2>&1; then
	cp "$T/saved/"*.journal "$J/"
	out=$("$P3BACKUP" --no-progress -v --multipart-threshold 8M \
	    --part-size 5M "$b2" "$T/src2" 2>&1); st=$?
	is "$st" 0 "a run after a kill past CompleteMultipartUpload exits 0"
	contains "$out" "removed the journal of an upload completed" "it says so"
	is "$(find "$J" -type f | wc -l)" 0 "and removes the journal left behind"
else
	skip 3 "the journal with every part was not caught"
fi

# Restore: kills into one target, part of it removed before each run.
dst=$T/dst
restore=("$P3BACKUP" --no-progress --restore --mtime
    --multipart-threshold 8M --part-size 5M -j 4 "$b" "$dst")
for it in 1 2 3 4; do
	if [ "$it" -gt 1 ] && [ -d "$dst" ]; then
		find "$dst" -type f -name 'f*[05].txt' -delete
		[ $((it % 2)) -eq 0 ] && rm -f "$dst/big.bin"
	fi
	kill_after "${delays[$((it + 3))]}" "restore $it" "${restore[@]}"
	bad=$( [ -d "$dst" ] && (cd "$dst" && find . -type f ! -name '.p3b-*.tmp' -print0) |
	    while IFS= read -r -d '' f; do
		cmp -s "$src/$f" "$dst/$f" || printf '%s ' "$f"
	done)
	is "$bad" "" "restore kill $it: every file under its real name equals its source"
done
out=$("${restore[@]}" 2>&1); st=$?
is "$st" 0 "the restore run after the kills exits 0" || diag "$out"
diff -r "$src" "$dst" >"$T/diff" 2>&1; ok $? "diff -r: the restored tree equals the source"
[ -s "$T/diff" ] && diag "$(head -5 "$T/diff")"
is "$(find "$dst" -name '.p3b-*.tmp' | wc -l)" 0 "no temporary file is left"

finish
