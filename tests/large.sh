#!/bin/bash
# The large cases (make check-large): a 1 GiB file uploads in bounded
# memory, and a 300 MiB upload killed half-way resumes.
. "${top_srcdir:-.}/tests/lib.sh"

s3rver_start
parts() { count_requests PUT 'partNumber='; }
src=$T/src
mkdir -p "$src"

# 1 GiB with --jobs 4 --part-size 8M: peak RSS under 100 MiB.  ASan's
# quarantine would keep freed part buffers; turn it off for the count.
head -c $((1024 * 1024 * 1024)) /dev/urandom > "$src/giga.bin"
b=$(new_bucket giga)
mark_requests
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0:thread_local_quarantine_size_kb=0" \
    /usr/bin/time -f "%M" -o "$T/rss" "$P3BACKUP" --no-progress -j 4 \
    --part-size 8M "$b" "$src" >/dev/null 2>"$T/err"; st=$?
is "$st" 0 "1 GiB upload exits 0"
is "$(parts)" 128 "1 GiB in 8 MiB parts: 128 parts (server side)"
rss=$(cat "$T/rss")
[ "$rss" -lt $((100 * 1024)) ]; ok $? "peak RSS ${rss} KB stays under 100 MiB"
etag=$(aws --endpoint-url "$S3_DIRECT" s3api head-object --bucket "$b" \
    --key giga.bin --query ETag --output text | tr -d '"')
is "$etag" "$(md5sum < "$src/giga.bin" | cut -d' ' -f1)" "the server's MD5 of the stored object is the file's"
rm -f "$src/giga.bin"

# kill -9 half-way through 300 MiB in 5 MiB parts (60 parts).
head -c $((300 * 1024 * 1024)) /dev/urandom > "$src/big.bin"
b2=$(new_bucket kill)
mark_requests
"$P3BACKUP" --no-progress -j 4 --part-size 5M "$b2" "$src" >/dev/null 2>&1 &
pid=$!
wait_requests 34 60 PUT 'partNumber='
kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
first=$(parts)
[ "$first" -ge 34 ] && [ "$first" -lt 60 ]; ok $? "killed after $first of 60 parts"
mark_requests
out=$("$P3BACKUP" --no-progress -v --part-size 5M "$b2" "$src" 2>&1); st=$?
is "$st" 0 "the re-run exits 0"
again=$(parts)
[ "$again" -lt 30 ]; ok $? "the re-run stores fewer than half the parts again ($again)"
etag=$(aws --endpoint-url "$S3_DIRECT" s3api head-object --bucket "$b2" \
    --key big.bin --query ETag --output text | tr -d '"')
is "$etag" "$(md5sum < "$src/big.bin" | cut -d' ' -f1)" "the resumed object is complete and correct"
ls "$HOME/.local/state/p3backup/"*.journal >/dev/null 2>&1
[ $? -ne 0 ]; ok $? "the journal is gone"

finish
