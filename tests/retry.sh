#!/bin/bash
# Retries: the test proxy answers every 7th request 503 SlowDown and
# drops the connection on every 11th.  The backup must still finish with
# exit 0 and every object right (read straight from s3rver, past the
# faults), and a re-run must upload nothing.
PROXY_ARGS="--fail-every 7 --drop-every 11"
. "${top_srcdir:-.}/tests/lib.sh"

s3rver_start
src=$T/src
mkdir -p "$src"
for i in $(seq 1 120); do
	head -c $((i * 97)) /dev/urandom > "$src/file $i.bin"
done
head -c 3000000 /dev/urandom > "$src/large.bin"

b=$(new_bucket retry)
out=$("$P3BACKUP" --no-progress -v -j 8 "$b" "$src" 2>&1); st=$?
is "$st" 0 "backup through injected faults exits 0"
contains "$out" "uploaded 121 " "every file counted once"
contains "$out" "SlowDown" "-v tells about the retried SlowDown"
[ "$(count_requests PUT)" -gt 0 ] && grep -q '	503$' "$REQLOG"; ok $? "the proxy did answer 503"
grep -q '	drop$' "$REQLOG"; ok $? "the proxy did drop connections"

mkdir -p "$T/back"
aws --endpoint-url "$S3_DIRECT" s3 sync "s3://$b" "$T/back" \
    --exclude '.p3backup/*' >/dev/null 2>&1
diff -r "$src" "$T/back" >/dev/null; ok $? "every object equals its file (read from s3rver directly)"

mark_requests
out=$("$P3BACKUP" --no-progress --mtime "$b" "$src" 2>&1); st=$?
is "$st" 0 "re-run through faults exits 0"
is "$(count_uploads)" 0 "re-run uploads nothing"

finish
