#!/bin/bash
# Reliability under random faults: the test proxy gives 12% of requests
# (seeded, repeatable) one fault among 503 SlowDown, 500 InternalError,
# a dropped connection, a stalled answer (past --timeout) and a flipped
# byte in the request body (400 BadDigest).  A backup of many small files
# and one multipart file must still end with exit 0 and every object
# right (read straight from s3rver, past the faults); a re-run uploads
# nothing; a restore through the same faults is exact; a second restore
# downloads nothing.
# FAULTS_SEED=N replays another sequence of faults.
PROXY_ARGS="--fault-rate 0.12 --seed ${FAULTS_SEED:-7} --stall-seconds 6"
. "${top_srcdir:-.}/tests/lib.sh"

s3rver_start
opts="--no-progress --multipart-threshold 8M --part-size 5M --timeout 3 --retries 10 -j 8"
NFILES=400

src=$T/src
mkdir -p "$src"
for d in 0 1 2 3 4 5 6 7; do mkdir -p "$src/dir $d"; done
for i in $(seq 1 "$NFILES"); do
	head -c $(((i * 7919) % 6000)) /dev/urandom > "$src/dir $((i % 8))/f$i.bin"
done
head -c $((20 * 1024 * 1024)) /dev/urandom > "$src/big.bin"

b=$(new_bucket faults)
out=$("$P3BACKUP" $opts -v "$b" "$src" 2>&1); st=$?
is "$st" 0 "backup through random faults exits 0" || diag "$(echo "$out" | grep -v retry | tail -5)"
contains "$out" "uploaded $((NFILES + 1)) " "every file counted once"
contains "$out" "BadDigest" "-v tells about a retried BadDigest (flipped byte)"
contains "$out" "InternalError" "-v tells about a retried InternalError"
contains "$out" "SlowDown" "-v tells about a retried SlowDown"

# Each kind of fault happened (status field of the proxy's log).
for f in 503 500 drop stall flip; do
	n=$(awk -F '\t' -v f="$f" '$3 == f' "$REQLOG" | wc -l)
	[ "$n" -ge 1 ]; ok $? "the proxy injected fault \"$f\" ($n times)"
done

mkdir -p "$T/back"
aws --endpoint-url "$S3_DIRECT" s3 sync "s3://$b" "$T/back" \
    --exclude '.p3backup/*' >/dev/null 2>&1
diff -r "$src" "$T/back" >"$T/diff" 2>&1; ok $? "every object equals its file (read from s3rver directly)"
[ -s "$T/diff" ] && diag "$(head -5 "$T/diff")"
etag=$(aws --endpoint-url "$S3_DIRECT" s3api head-object --bucket "$b" \
    --key big.bin --query ETag --output text 2>/dev/null | tr -d '"')
is "$etag" "$(md5sum < "$src/big.bin" | cut -d' ' -f1)" \
    "the multipart object's ETag (s3rver: whole-object MD5) is the file's MD5"
ls "$HOME/.local/state/p3backup/" 2>/dev/null | grep -q journal
[ $? -ne 0 ]; ok $? "no multipart journal is left"

mark_requests
out=$("$P3BACKUP" $opts --mtime "$b" "$src" 2>&1); st=$?
is "$st" 0 "re-run through faults exits 0" || diag "$out"
is "$(count_uploads)" 0 "re-run uploads nothing"

# Restore through the same faults, big.bin in ranged GETs.
dst=$T/dst
mark_requests
out=$("$P3BACKUP" $opts -v --restore "$b" "$dst" 2>&1); st=$?
is "$st" 0 "restore through random faults exits 0" || diag "$(echo "$out" | grep -v retry | tail -5)"
diff -r "$src" "$dst" >"$T/diff" 2>&1; ok $? "diff -r: the restored tree equals the source"
[ -s "$T/diff" ] && diag "$(head -5 "$T/diff")"
[ "$(count_requests GET "/$b/big\.bin	206")" -ge 4 ]; ok $? "big.bin came in ranged GETs"
is "$(find "$dst" -name '.p3b-*.tmp' | wc -l)" 0 "no temporary file is left"
faulted=$(tail -n +$((REQMARK + 1)) "$REQLOG" | awk -F '\t' '$3 !~ /^[0-9]+$/ || $3 >= 500' | wc -l)
[ "$faulted" -ge 1 ]; ok $? "the restore met faults too ($faulted)"

mark_requests
out=$("$P3BACKUP" $opts --json --restore "$b" "$dst" 2>"$T/err"); st=$?
is "$st" 0 "a second restore exits 0" || diag "$(cat "$T/err")"
is "$(printf '%s' "$out" | python3 -c 'import json,sys
print(json.load(sys.stdin)["downloaded"])')" 0 "a second restore downloads nothing"
is "$(count_requests GET "/$b/[^.?]")" 0 "and sends no GET of an object"

finish
