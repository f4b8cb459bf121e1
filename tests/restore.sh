#!/bin/bash
# --restore end to end against s3rver: a tree backed up and restored
# byte for byte with its mtimes and empty directories, the large file in
# ranged GETs (counted by the test proxy); incremental restores; objects
# tagged deleted; hostile keys presented by the proxy's --rewrite-list
# (s3rver would write such keys outside its data directory, so they are
# never stored); kill -9 in the middle of a download; bad targets; a
# symlink in the target tree.
. "${top_srcdir:-.}/tests/lib.sh"

# The proxy reads the map on every listing: empty until the hostile case.
echo '{}' > "$T/rewrite.json"
PROXY_ARGS="--rewrite-list $T/rewrite.json"
s3rver_start
p3() { "$P3BACKUP" --no-progress "$@"; }
restore() { "$P3BACKUP" --no-progress --restore --multipart-threshold 8M \
    --part-size 5M "$@"; }

# The value of field $2 in the JSON object $1.
json_field() {
	printf '%s' "$1" | python3 -c 'import json,sys
print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}

# Files of tree $1 whose mtime (to the nanosecond) differs in tree $2.
mtime_diff() {
	(cd "$1" && find . -type f -print0) | while IFS= read -r -d '' f; do
		[ "$(stat -c %.9Y "$1/$f")" = "$(stat -c %.9Y "$2/$f" 2>/dev/null)" ] ||
		    printf '%s\n' "$f"
	done
}

# Temporary files of ours left anywhere under $1.
tmp_files() {
	find "$1" -name '.p3b-*.tmp' | wc -l
}

# (a) A tree: nested directories, an empty directory with spaces, an
# empty file, names with UTF-8 and characters URLs and XML escape, and
# a 30 MiB file; mtimes with nanoseconds.
src=$T/src
mkdir -p "$src/d1/d2/d3" "$src/empty dir with spaces" "$src/ünï/日本"
touch -d '2019-05-06 07:08:09.987654321' "$src/empty dir with spaces"
echo "deep" > "$src/d1/d2/d3/deep.txt"
echo "top" > "$src/top.txt"
: > "$src/empty.txt"
echo "unicode" > "$src/ünï/日本/ファイル.txt"
echo "special" > "$src/sp ace & amp's \"q\" <lt>.txt"
echo "plus" > "$src/plus+eq=%25;semi#hash?.txt"
head -c $((30 * 1024 * 1024)) /dev/urandom > "$src/big.bin"
touch -d '2021-03-04 05:06:07.123456789' "$src/top.txt"
touch -d '1999-12-31 23:59:59.5' "$src/d1/d2/d3/deep.txt"
touch -d '2020-02-29 12:00:00.000000001' "$src/big.bin"
b=$(new_bucket restore)
p3 "$b" "$src" >/dev/null 2>"$T/err"; st=$?
is "$st" 0 "backup of the tree exits 0"

dst=$T/restored/dst
mark_requests
out=$(restore "$b" "$dst" 2>&1); st=$?
is "$st" 0 "restore into a new directory exits 0" || diag "$out"
diff -r "$src" "$dst" >"$T/diff" 2>&1; ok $? "diff -r: the restored tree equals the source"
[ -s "$T/diff" ] && diag "$(head -5 "$T/diff")"
[ -d "$dst/empty dir with spaces" ]; ok $? "the empty directory with spaces is there"
is "$(stat -c %.9Y "$dst/empty dir with spaces")" \
    "$(stat -c %.9Y "$src/empty dir with spaces")" "and has its mtime (from the index)"
[ -f "$dst/empty.txt" ] && [ ! -s "$dst/empty.txt" ]; ok $? "the empty file is there, empty"
is "$(mtime_diff "$src" "$dst")" "" "every file's mtime is restored to the nanosecond"
is "$(count_requests GET "/$b/big\.bin	206")" 6 \
    "the 30 MiB file came in six ranged GETs of 5 MiB (206)"
is "$(count_requests GET "/$b/big\.bin	200")" 0 "and in no whole GET"
is "$(tmp_files "$T/restored")" 0 "no temporary file is left"
is "$(stat -c %a "$dst/top.txt")" "$(printf '%o' $((0644 & ~$(umask))))" \
    "files are created 0644 less the umask"

# (b) Incremental: two files changed (same size, other size), one gone.
# The same-size edit has another mtime: only --size-only misses it.
printf 'TOP\n' > "$dst/top.txt"
echo "a longer line than before" > "$dst/d1/d2/d3/deep.txt"
rm "$dst/ünï/日本/ファイル.txt"
out=$(restore -n "$b" "$dst" 2>&1)
contains "$out" "dry run: $b: checked 8 objects, would download 3 (" "the summary names the objects checked (7 files, 1 empty directory)"
out=$(restore --size-only --json "$b" "$dst" 2>"$T/err"); st=$?
is "$st" 0 "incremental restore --size-only exits 0"
is "$(json_field "$out" downloaded)" 2 "--size-only: the other size and the missing file"
is "$(cat "$dst/top.txt")" "TOP" "--size-only leaves the same-size edit"
mark_requests
out=$(restore --json "$b" "$dst" 2>"$T/err"); st=$?
is "$st" 0 "incremental restore exits 0"
is "$(json_field "$out" downloaded)" 1 "by default the same-size edit (other mtime) is restored too"
is "$(count_requests GET "/$b/[^.?]")" 1 "one GET of an object"
diff -r "$src" "$dst" >/dev/null 2>&1; ok $? "the files equal the source again"
is "$(mtime_diff "$src" "$dst")" "" "and have their mtimes"
mark_requests
out=$(restore --json "$b" "$dst" 2>"$T/err"); st=$?
is "$st" 0 "a third run exits 0"
is "$(json_field "$out" downloaded)" 0 "a third run downloads nothing"
is "$(count_requests GET "/$b/[^.?]")" 0 "and sends no GET of an object"

# An object another tool wrote (no stored mtime): the restored file
# takes its LastModified, so the next restore finds it the same; a file
# edited since (newer than LastModified, same size) is restored again.
bf=$(new_bucket foreign)
awscli s3 mb "s3://$bf" >/dev/null 2>&1
printf 'foreign\n' > "$T/foreign.txt"
awscli s3 cp "$T/foreign.txt" "s3://$bf/f.txt" >/dev/null 2>&1
lm=$(awscli s3api head-object --bucket "$bf" --key f.txt --query LastModified --output text)
restore "$bf" "$T/dst-f" >/dev/null 2>&1; st=$?
is "$st" 0 "restore of a foreign object exits 0"
is "$(stat -c %Y "$T/dst-f/f.txt")" "$(date -d "$lm" +%s)" "the file has the object's LastModified"
out=$(restore --json "$bf" "$T/dst-f" 2>/dev/null)
is "$(json_field "$out" downloaded)" 0 "a second restore downloads nothing"
printf 'FOREIGN\n' > "$T/dst-f/f.txt"
touch -d "@$(($(date +%s) + 120))" "$T/dst-f/f.txt"
out=$(restore --json "$bf" "$T/dst-f" 2>/dev/null)
is "$(json_field "$out" downloaded)" 1 "a same-size edit newer than LastModified is restored"
is "$(cat "$T/dst-f/f.txt")" "foreign" "with the object's content"

# --prefix: keys under P/, restored without it.
bp=$(new_bucket prefix)
p3 --prefix "p/q" "$bp" "$src/d1" >/dev/null 2>&1
out=$(restore --prefix "p/q" "$bp" "$T/dst-prefix" 2>&1); st=$?
is "$st" 0 "restore with --prefix exits 0"
diff -r "$src/d1" "$T/dst-prefix" >/dev/null 2>&1; ok $? "the prefix is taken off the keys"

# (c) Tagged deleted: left out, unless --include-deleted.
src_c=$T/src-c
mkdir -p "$src_c"
echo "keep" > "$src_c/keep.txt"
echo "gone" > "$src_c/gone.txt"
bc=$(new_bucket tagged)
p3 "$bc" "$src_c" >/dev/null 2>&1
rm "$src_c/gone.txt"
p3 --tag-deleted "$bc" "$src_c" >/dev/null 2>&1; st=$?
is "$st" 0 "--tag-deleted run exits 0"
out=$(restore "$bc" "$T/dst-c" 2>&1); st=$?
is "$st" 0 "restore of a bucket with a tagged object exits 0"
[ -f "$T/dst-c/keep.txt" ] && [ ! -e "$T/dst-c/gone.txt" ]
ok $? "the tagged object is not restored"
out=$(restore --include-deleted "$bc" "$T/dst-c2" 2>&1); st=$?
is "$st" 0 "restore --include-deleted exits 0"
is "$(cat "$T/dst-c2/gone.txt" 2>/dev/null)" "gone" "--include-deleted restores it"

# (d) Hostile keys: the listing names ../escape, a/../../escape2, /abs
# and a//b in place of four real objects; only normal.txt is written.
src_d=$T/src-d
mkdir -p "$src_d"
for k in k1 k2 k3 k4 normal; do echo "$k" > "$src_d/$k.txt"; done
bd=$(new_bucket hostile)
p3 "$bd" "$src_d" >/dev/null 2>&1
cat > "$T/rewrite.json" <<'EOF'
{"k1.txt": "../escape", "k2.txt": "a/../../escape2", "k3.txt": "/abs",
 "k4.txt": "a//b"}
EOF
mkdir -p "$T/hostile"
mark_requests
out=$(restore "$bd" "$T/hostile/dst" 2>&1); st=$?
echo '{}' > "$T/rewrite.json"
is "$st" 1 "hostile keys: exit 1"
is "$(cat "$T/hostile/dst/normal.txt" 2>/dev/null)" "normal" "the normal key is restored"
contains "$out" "../escape: refused: \"..\" path segment" "../escape is refused"
contains "$out" "a/../../escape2: refused: \"..\" path segment" "a/../../escape2 is refused"
contains "$out" "/abs: refused: absolute path" "/abs is refused"
contains "$out" "a//b: refused: empty path segment" "a//b is refused"
is "$(ls -A "$T/hostile")" "dst" "nothing written next to the target"
is "$(ls -A "$T/hostile/dst")" "normal.txt" "nothing but normal.txt in the target"
[ ! -e "$T/escape" ] && [ ! -e "$T/escape2" ] && [ ! -e /abs ] &&
    [ ! -e /tmp/escape ] && [ ! -e /tmp/escape2 ]
ok $? "no escape file in the parent directories, /tmp or /"
is "$(count_requests GET "/$bd/[^.?]")" 1 "only the normal key was asked for"

# (e) kill -9 in the middle of the large file: the real name is absent
# or whole, never partial; the next run finishes and removes the
# temporary file.  The server's proxy is frozen (SIGSTOP) the moment a
# temporary
# file holds data, so that the kill lands mid-download.
dst_e=$T/dst-e
mkdir -p "$dst_e"
"$P3BACKUP" --no-progress --restore -j 1 --multipart-threshold 8M \
    --part-size 5M "$b" "$dst_e" >/dev/null 2>&1 &
pid=$!
caught=0
for _ in $(seq 1 2000); do
	tmp=$(find "$dst_e" -maxdepth 1 -name '.p3b-*.tmp' -size +0 2>/dev/null | head -1)
	if [ -n "$tmp" ]; then
		kill -STOP "$PROXY_PID"
		[ -e "$tmp" ] && caught=1
		break
	fi
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.01
done
kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
kill -CONT "$PROXY_PID"
if [ "$caught" -eq 1 ]; then
	ok 0 "killed with a temporary file holding part of a download"
	[ ! -e "$dst_e/big.bin" ] || cmp -s "$src/big.bin" "$dst_e/big.bin"
	ok $? "big.bin is absent or whole after the kill"
	bad=$( (cd "$dst_e" && find . -type f ! -name '.p3b-*' -print0) |
	    while IFS= read -r -d '' f; do
		cmp -s "$src/$f" "$dst_e/$f" || printf '%s\n' "$f"
	done)
	is "$bad" "" "no file under its real name is partial"
	[ "$(tmp_files "$dst_e")" -ge 1 ]; ok $? "the temporary file is left by the kill"
else
	skip 4 "the download ended before the kill"
fi
out=$(restore -v "$b" "$dst_e" 2>&1); st=$?
is "$st" 0 "the re-run exits 0" || diag "$out"
if [ "$caught" -eq 1 ]; then
	contains "$out" "removed 1 temporary file(s) of an interrupted restore" \
	    "the re-run says it removed the temporary file"
else
	skip 1 "the download ended before the kill"
fi
diff -r "$src" "$dst_e" >"$T/diff" 2>&1; ok $? "diff -r is clean after the re-run"
[ -s "$T/diff" ] && diag "$(head -5 "$T/diff")"
is "$(tmp_files "$dst_e")" 0 "the stale temporary file is gone"

# (f) Bad targets.
echo "a file" > "$T/afile"
out=$(restore "$b" "$T/afile" 2>&1); st=$?
is "$st" 2 "restore into a regular file: exit 2"
contains "$out" "not a directory" "it says: not a directory"
is "$(cat "$T/afile")" "a file" "the file is untouched"
out=$(restore "$b" "$T/afile/sub" 2>&1); st=$?
is "$st" 2 "restore under a regular file: exit 2"
contains "$out" "cannot be created" "it says: cannot be created"
# A new directory right under "/" (the walk up to the existing parent
# ends at the root itself).
top="/p3b-test-$$"
out=$(restore -n "$b" "$top/sub" 2>&1); st=$?
is "$st" 0 "a dry restore into a new directory under / exits 0 ($out)"
[ ! -e "$top" ]; ok $? "and makes nothing"
# A directory the user cannot write, or whose parent they cannot:
# exit 2 before any download.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	mkdir -p "$T/ro-target"
	chmod 755 "$T" "$T/ro-target"
	for target in "$T/ro-target" "$T/ro-target/new"; do
		mark_requests
		out=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
		    env HOME=/nonexistent "$(nobody_binary)" --no-progress \
		    --restore "$b" "$target" 2>&1); st=$?
		is "$st" 2 "restore into an unwritable $(basename "$target"): exit 2"
		contains "$out" "Permission denied" "it says why ($out)"
		is "$(wc -l < "$REQLOG")" "$REQMARK" "and sends no request at all"
	done
	is "$(ls -A "$T/ro-target")" "" "nothing is written there"
else
	skip 7 "needs root and setpriv to drop privileges"
fi
mkdir -p "$T/dst-nobucket"
out=$(restore "$(new_bucket nosuch)" "$T/dst-nobucket" 2>&1); st=$?
is "$st" 3 "restore from a bucket that does not exist: exit 3"
is "$(ls -A "$T/dst-nobucket")" "" "nothing written"
out=$(restore "$(new_bucket nosuch)" "$T/dst-new/sub" 2>&1); st=$?
is "$st" 3 "restore from a missing bucket into a new directory: exit 3"
[ ! -e "$T/dst-new" ]; ok $? "the directory is not created for a missing bucket"

# Filters hold in the restore direction too: an excluded file's object
# is not downloaded, and the local file is not replaced.
dst_f=$T/dst-filter
mkdir -p "$dst_f"
echo "mine, not the backup's" > "$dst_f/top.txt"
out=$(restore --exclude 'top.txt' "$b" "$dst_f" 2>&1); st=$?
is "$st" 0 "restore with --exclude: exit 0"
is "$(cat "$dst_f/top.txt")" "mine, not the backup's" "the excluded local file is not replaced"
[ -f "$dst_f/d1/d2/d3/deep.txt" ]; ok $? "the rest is restored"

# (g) A symlink in the target tree pointing outside it: nothing is
# written through it, as a directory or as the file's own name.
src_g=$T/src-g
mkdir -p "$src_g/link"
echo "inner" > "$src_g/link/x.txt"
echo "plain" > "$src_g/file.txt"
echo "ok" > "$src_g/fine.txt"
bg=$(new_bucket symlink)
p3 "$bg" "$src_g" >/dev/null 2>&1
dst_g=$T/dst-g
mkdir -p "$dst_g" "$T/outside"
echo "target" > "$T/outside/target"
ln -s "$T/outside" "$dst_g/link"
ln -s "$T/outside/target" "$dst_g/file.txt"
out=$(restore "$bg" "$dst_g" 2>&1); st=$?
is "$st" 1 "a symlink in the target tree: exit 1"
contains "$out" "link/x.txt: path component link is a symlink" "the symlinked directory is reported"
contains "$out" "file.txt: is a symlink: not replaced" "the symlink under a file's name is reported"
case $out in *--follow-symlinks*) false ;; *) true ;; esac
ok $? "no hint at --follow-symlinks, which a restore does not use"
case $out in *"$dst_g/link:"*|*"$dst_g/file.txt:"*) false ;; *) true ;; esac
ok $? "the links themselves draw no note (no object names them)"
[ ! -e "$T/outside/x.txt" ]; ok $? "nothing written through the directory symlink"
is "$(cat "$T/outside/target")" "target" "nothing written through the file symlink"
[ -L "$dst_g/link" ] && [ -L "$dst_g/file.txt" ]; ok $? "both symlinks are left as they were"
is "$(cat "$dst_g/fine.txt" 2>/dev/null)" "ok" "the other file is restored"



# What a backup stores, a restore gives back: a backslash is an
# ordinary byte in a POSIX name (aws and rclone restore it too).
src_bs=$T/src-bs
mkdir -p "$src_bs/dir\\x"
echo "back" > "$src_bs/back\\slash.txt"
echo "in" > "$src_bs/dir\\x/in\\.txt"
bb=$(new_bucket bslash)
p3 "$bb" "$src_bs" >/dev/null 2>&1; ok $? "names with a backslash back up (exit 0)"
out=$(restore "$bb" "$T/bs-back" 2>&1); st=$?
is "$st" 0 "...and restore (exit 0)"
diff -r "$src_bs" "$T/bs-back" >/dev/null 2>&1; ok $? "...under their exact names"


# p3backup's own objects at any depth: a whole-bucket restore of a
# bucket holding a job under a prefix writes no ".p3backup" files, and
# a tree holding such a directory does not upload it.
bj=$(new_bucket jobs)
p3 --prefix host1/alice "$bj" "$src_bs" >/dev/null 2>&1
out=$(restore "$bj" "$T/whole" 2>&1); st=$?
is "$st" 0 "whole-bucket restore of a prefixed job: exit 0"
is "$(find "$T/whole" -name .p3backup | wc -l)" 0 "...writes no .p3backup of the job"
[ -f "$T/whole/host1/alice/back\\slash.txt" ]; ok $? "...and restores the job's files"
mkdir -p "$T/deep/x/.p3backup"; echo i > "$T/deep/x/.p3backup/index"; echo f > "$T/deep/f"
bj2=$(new_bucket deep)
out=$(p3 "$bj2" "$T/deep" 2>&1); st=$?
is "$st" 1 "a tree with x/.p3backup/: exit 1"
contains "$out" "x/.p3backup: reserved name" "...naming it"
is "$("$S3TOOL" ls "$bj2" | awk '{print $3}' | grep -c 'x/.p3backup')" 0 "...and nothing of it is uploaded"

# --prefix with an empty segment: refused in both directions.
for d in "" --restore; do
	out=$(p3 $d --prefix 'a//b' "$bj" "$T/pfx" 2>&1); st=$?
	is "$st" 2 "--prefix a//b ${d:-(backup)}: exit 2"
	contains "$out" "empty path segment" "...saying why"
done

# A restore that finds nothing fails (exit 1) and creates nothing.
out=$(restore --prefix nosuchprefix "$b" "$T/none" 2>&1); st=$?
is "$st" 1 "--restore of an empty prefix: exit 1"
contains "$out" "nothing to restore under s3://$b/nosuchprefix/" "...saying so"
[ ! -e "$T/none" ]; ok $? "...and no directory is made"

finish
