#!/bin/bash
# A file rewritten in place while p3backup reads and sends it: whatever
# the timing, no object may ever hold a mix of two versions, and a file
# is counted as uploaded only when its object is one whole version.
# Each version of the file is 8 MiB of one repeated byte, so a mixed
# object is easy to see.  The proxy refuses bodies whose Content-MD5
# does not match, as S3 does.
. "${top_srcdir:-.}/tests/lib.sh"

s3rver_start
src=$T/src
mkdir -p "$src"
f=$src/changing.bin
python3 -c 'import sys; open(sys.argv[1], "wb").write(b"\x01" * (8 << 20))' "$f"
echo "steady" > "$src/steady.txt"

# Rewrite the file in place, version after version, until stopped.  The
# number of versions written so far goes to $T/versions, replaced
# atomically so a reader never sees it empty.
python3 - "$f" "$T/versions" <<'PY' &
import os, sys, time
path, count = sys.argv[1], sys.argv[2]
v = 1
n = 0
while True:
    v = v % 250 + 1
    n += 1
    with open(path, "r+b") as fh:
        for off in range(0, 8 << 20, 1 << 20):
            fh.seek(off)
            fh.write(bytes([v]) * (1 << 20))
            fh.flush()
            time.sleep(0.002)
    with open(count + ".tmp", "w") as fh:
        fh.write(str(n))
    os.replace(count + ".tmp", count)
PY
writer=$!
# Start only once the writer is under way (a loaded machine is slow to
# start Python).
for _ in $(seq 1 300); do
	[ -s "$T/versions" ] && break
	sleep 0.05
done

# distinct_bytes KEY: how many different byte values the object holds.
distinct_bytes() {
	aws --endpoint-url "$S3_DIRECT" s3 cp "s3://$b/$1" "$T/obj" >/dev/null 2>&1 || {
		echo none; return; }
	python3 -c 'import sys; print(len(set(open(sys.argv[1], "rb").read())))' "$T/obj"
}

b=$(new_bucket changing)
before=$(cat "$T/versions" 2>/dev/null)
for run in 1 2 3; do
	out=$("$P3BACKUP" --no-progress -v --mtime --json "$b" "$src" 2>"$T/err"); st=$?
	grep -h "changed while" "$T/err" | sed "s/^/# /"
	[ "$st" -eq 0 ] || [ "$st" -eq 1 ]; ok $? "run $run while the file changes: exit 0 or 1 (got $st)"
	d=$(distinct_bytes changing.bin)
	case "$d" in
	none|1) ok 0 "run $run: the object is absent or one whole version ($d)" ;;
	*) ok 1 "run $run: the object is absent or one whole version"; diag "$d byte values" ;;
	esac
	if printf '%s' "$out" | grep -q '"failed":0'; then
		is "$d" 1 "run $run: counted as uploaded, and the object is whole"
	else
		contains "$(cat "$T/err")" "changing.bin" "run $run: the changing file is reported by name"
	fi
done
after=$(cat "$T/versions" 2>/dev/null)
[ "${after:-0}" -gt "${before:-0}" ]; ok $? "the writer really rewrote the file during the runs"
diag "versions written: ${before:-none} before the runs, ${after:-none} after"
kill "$writer"; wait "$writer" 2>/dev/null

# Same size, new mtime: --mtime sends the last version.
out=$("$P3BACKUP" --no-progress --mtime "$b" "$src" 2>&1); st=$?
is "$st" 0 "once the file stands still, a --mtime backup succeeds"
aws --endpoint-url "$S3_DIRECT" s3 cp "s3://$b/changing.bin" "$T/final" >/dev/null 2>&1
cmp -s "$f" "$T/final"; ok $? "and the object equals the file"

finish
