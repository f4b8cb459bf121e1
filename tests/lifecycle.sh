#!/bin/bash
# --history-days N (job key history_days): p3backup's lifecycle rule
# "p3backup-history[:PREFIX]" expires noncurrent versions after N days
# and removes expired delete markers; the bucket's other rules stay as
# they were; an unchanged rule is not written again; 0 removes it.  A
# store without lifecycle (s3rver) gets one warning and the backup goes
# on.  The rules themselves on Ceph RGW (make check-ceph).
. "${top_srcdir:-.}/tests/lib.sh"

s3rver_start
p3() { "$P3BACKUP" --no-progress "$@"; }
rules() {
	awscli s3api get-bucket-lifecycle-configuration --bucket "$1" \
	    --output json 2>/dev/null | jq -c '[.Rules[] | {ID, P: (.Filter.Prefix // .Prefix), N: .NoncurrentVersionExpiration.NoncurrentDays, M: .Expiration.ExpiredObjectDeleteMarker, D: .Expiration.Days}] | sort_by(.ID)'
}

src=$T/src
mkdir -p "$src"
echo one > "$src/a.txt"
b=$(new_bucket life)

p3 --history-days -1 "$b" "$src" >/dev/null 2>&1; st=$?
is "$st" 2 "--history-days -1: exit 2"

if on_s3rver; then
	mark_requests
	p3 --history-days 30 "$b" "$src" >/dev/null 2>"$T/err"; st=$?
	is "$st" 0 "a store without lifecycle: the backup goes on (exit 0)"
	contains "$(cat "$T/err")" "bucket $b: " "a warning names the bucket"
	contains "$(cat "$T/err")" "--history-days not applied" "and says the rule is not set ($(grep lifecycle "$T/err"))"
	is "$(count_requests PUT '\?lifecycle')" 0 "no PutBucketLifecycleConfiguration"
	is "$(count_requests PUT "/$b/a\\.txt")" 1 "the file is backed up"
	finish
fi

# Another rule of the bucket's own, before p3backup's.
p3 "$b" "$src" >/dev/null 2>&1
awscli s3api put-bucket-lifecycle-configuration --bucket "$b" --lifecycle-configuration \
    '{"Rules":[{"ID":"logs","Filter":{"Prefix":"logs/"},"Status":"Enabled","Expiration":{"Days":30}}]}'
mark_requests
p3 --history-days 30 "$b" "$src" >/dev/null 2>"$T/err"; st=$?
is "$st" 0 "--history-days 30 exits 0 ($(head -c 200 "$T/err"))"
is "$(rules "$b")" '[{"ID":"logs","P":"logs/","N":null,"M":null,"D":30},{"ID":"p3backup-history","P":"","N":30,"M":true,"D":null}]' \
    "the bucket's rule stays; p3backup's expires noncurrent versions after 30 days and expired delete markers"
is "$(count_requests PUT '\?lifecycle')" 1 "one PutBucketLifecycleConfiguration"
mark_requests
p3 --history-days 30 "$b" "$src" >/dev/null 2>&1
is "$(count_requests GET '\?lifecycle')" 1 "the next run reads the rules once"
is "$(count_requests PUT '\?lifecycle')" 0 "and writes nothing: unchanged"
p3 -n --history-days 7 "$b" "$src" >"$T/out" 2>&1
contains "$(cat "$T/out")" "would set bucket $b lifecycle rule p3backup-history: noncurrent versions expire after 7 days" "a dry run says what it would set"
is "$(rules "$b" | jq -c '.[1].N')" 30 "and sets nothing"
printf '[job]\nbucket = %s\ndirectory = %s\nhistory_days = 7\nprefix = host1\n' "$b" "$src" > "$T/job.conf"
p3 --config "$T/job.conf" >/dev/null 2>&1; st=$?
is "$st" 0 "a job with history_days = 7 and a prefix exits 0"
is "$(rules "$b")" '[{"ID":"logs","P":"logs/","N":null,"M":null,"D":30},{"ID":"p3backup-history","P":"","N":30,"M":true,"D":null},{"ID":"p3backup-history:host1","P":"host1/","N":7,"M":true,"D":null}]' \
    "a rule of its own for the prefix, the others kept"
p3 --history-days 10 "$b" "$src" >/dev/null 2>&1
is "$(rules "$b" | jq -c '[.[] | .N]')" '[null,10,7]' "another N replaces the rule's days"
p3 --history-days 0 "$b" "$src" >/dev/null 2>&1
is "$(rules "$b" | jq -c '[.[] | .ID]')" '["logs","p3backup-history:host1"]' "0 removes p3backup's rule, only that one"
p3 --config "$T/job.conf" --history-days 0 >/dev/null 2>&1
awscli s3api put-bucket-lifecycle-configuration --bucket "$b" --lifecycle-configuration \
    '{"Rules":[{"ID":"p3backup-history","Filter":{"Prefix":""},"Status":"Enabled","Expiration":{"ExpiredObjectDeleteMarker":true},"NoncurrentVersionExpiration":{"NoncurrentDays":3}}]}'
mark_requests
p3 --history-days 0 "$b" "$src" >/dev/null 2>"$T/err"; st=$?
is "$st" 0 "removing the last rule exits 0 ($(head -c 200 "$T/err"))"
is "$(count_requests DELETE '\?lifecycle')" 1 "no rule left: DeleteBucketLifecycle"
is "$(rules "$b")" "" "and the bucket has no rules"

finish
