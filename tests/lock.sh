#!/bin/bash
# Object Lock: --lock-days N (--lock-mode, job keys lock_days and
# lock_mode) locks every version p3backup writes, the index and the run
# log included; a bucket p3backup creates gets Object Lock; a bucket
# without it is exit 2 before anything is written; an unchanged file's
# version is extended (PutObjectRetention) when, and only when, its lock
# runs short.  s3rver has no Object Lock: there, the refusals; the rest
# on Ceph RGW (make check-ceph).
. "${top_srcdir:-.}/tests/lib.sh"

s3rver_start
p3() { "$P3BACKUP" --no-progress "$@"; }

src=$T/src
mkdir -p "$src/d"
echo one > "$src/a.txt"
echo two > "$src/d/b.txt"
head -c 6000000 /dev/urandom > "$src/big.bin"

# Usage errors: nothing sent.
p3 --lock-mode GOVERNANCE b "$src" >/dev/null 2>"$T/err"; st=$?
is "$st" 2 "--lock-mode without --lock-days: exit 2"
contains "$(cat "$T/err")" "needs --lock-days N" "saying what is missing"
p3 --lock-days 1 --lock-mode governance b "$src" >/dev/null 2>"$T/err"; st=$?
is "$st" 2 "--lock-mode governance (lower case): exit 2"
contains "$(cat "$T/err")" "must be GOVERNANCE or COMPLIANCE" "naming the modes"
p3 --lock-days 0 b "$src" >/dev/null 2>&1; st=$?
is "$st" 2 "--lock-days 0: exit 2"
is "$(count_requests PUT)$(count_requests GET)" "00" "no request for a usage error"

# A bucket without Object Lock: exit 2, nothing written.
b=$(new_bucket nolock)
awscli s3 mb "s3://$b" >/dev/null 2>&1
mark_requests
p3 --lock-days 1 "$b" "$src" >/dev/null 2>"$T/err"; st=$?
is "$st" 2 "--lock-days on a bucket without Object Lock: exit 2"
contains "$(cat "$T/err")" "bucket $b: no Object Lock (" "the message names the bucket"
contains "$(cat "$T/err")" "needs a bucket created with Object Lock" "and says what is needed"
is "$(count_requests PUT)$(count_requests POST)" "00" "no object written"
printf '[job]\nbucket = %s\ndirectory = %s\nlock_days = 1\n' "$b" "$src" > "$T/job.conf"
p3 --config "$T/job.conf" >/dev/null 2>&1; st=$?
is "$st" 2 "a job's lock_days = 1 too"
p3 -n --lock-days 1 "$b" "$src" >/dev/null 2>&1; st=$?
is "$st" 2 "and a dry run says so too"

if on_s3rver; then
	finish
fi

lockof() {
	awscli s3api head-object --bucket "$1" --key "$2" \
	    --query '[ObjectLockMode, ObjectLockRetainUntilDate]' --output text 2>/dev/null
}
until_of() { date -u -d "$(lockof "$1" "$2" | cut -f2)" +%s 2>/dev/null || echo 0; }
near() {	# near EPOCH WANT: within ten minutes
	[ "$1" -ge $(( $2 - 600 )) ] && [ "$1" -le $(( $2 + 600 )) ]
}

b=$(new_bucket lock)
now=$(date -u +%s)
p3 --lock-days 1 --multipart-threshold 5M --part-size 5M "$b" "$src" >/dev/null 2>"$T/err"; st=$?
is "$st" 0 "--lock-days 1 into a new bucket exits 0 ($(head -c 200 "$T/err"))"
is "$(awscli s3api get-object-lock-configuration --bucket "$b" \
    --query ObjectLockConfiguration.ObjectLockEnabled --output text)" Enabled \
    "the bucket p3backup created has Object Lock"
is "$(awscli s3api get-bucket-versioning --bucket "$b" --query Status --output text)" Enabled \
    "and versioning"
run=$(p3 --history --json "$b" | jq -r '.[0].run_id')
for k in a.txt d/b.txt big.bin .p3backup/index ".p3backup/runs/$run.json"; do
	is "$(lockof "$b" "$k" | cut -f1)" GOVERNANCE "$k: GOVERNANCE"
	near "$(until_of "$b" "$k")" $((now + 86400))
	ok $? "$k: retained until about a day ahead ($(lockof "$b" "$k" | cut -f2))"
done

# The backup host's keys cannot remove a locked version.
vid=$(awscli s3api head-object --bucket "$b" --key a.txt --query VersionId --output text)
awscli s3api delete-object --bucket "$b" --key a.txt --version-id "$vid" >/dev/null 2>"$T/err"; st=$?
[ "$st" -ne 0 ]; ok $? "delete-object --version-id of a locked version is refused ($(grep -o 'AccessDenied' "$T/err" | head -1))"
is "$(awscli s3api head-object --bucket "$b" --key a.txt --version-id "$vid" --query VersionId --output text)" "$vid" \
    "and the version stays"

# An unchanged tree: no extension, one PUT (the run log).
mark_requests
p3 --lock-days 1 "$b" "$src" >/dev/null 2>&1; st=$?
is "$st" 0 "an unchanged locked bucket: exit 0"
is "$(count_requests PUT 'retention')" 0 "no lock extension while locks are long"
is "$(count_uploads)" 0 "and no upload"

# A lock running short (the index says it ends within N/2 days) is
# extended, only that one; the index records the new date.
awscli s3 cp "s3://$b/.p3backup/index" "$T/index" >/dev/null 2>&1
short=$(( $(date -u +%s) + 3600 ))
sed -i "/^a\.txt /s/ L[0-9]*/ L$short/" "$T/index"
grep -q "^a\.txt .* L$short\( \|\$\)" "$T/index"; ok $? "(the test shortened a.txt's recorded lock)"
awscli s3 cp "$T/index" "s3://$b/.p3backup/index" >/dev/null 2>&1
before=$(until_of "$b" a.txt)
sleep 1.1
mark_requests
p3 --lock-days 1 "$b" "$src" >/dev/null 2>"$T/err"; st=$?
is "$st" 0 "a run with a short lock exits 0"
is "$(count_requests PUT '	/'"$b"'/a\.txt\?retention')" 1 "a.txt's retention is extended (PutObjectRetention)"
is "$(count_requests PUT 'retention')" 1 "and nothing else's"
after=$(until_of "$b" a.txt)
[ "$after" -gt "$before" ]; ok $? "a.txt is now retained longer ($before -> $after)"
contains "$(cat "$T/err")" "lock: 1 object(s) locked until" "said in one line"
mark_requests
p3 --lock-days 1 "$b" "$src" >/dev/null 2>&1
is "$(count_requests PUT 'retention')" 0 "the next run extends nothing: the index has the new date"

# --delete on a locked bucket: delete markers, the versions stay.
rm "$src/d/b.txt"
p3 --lock-days 1 --delete "$b" "$src" >/dev/null 2>"$T/err"; st=$?
is "$st" 0 "--delete on a locked bucket exits 0 ($(head -c 200 "$T/err"))"
awscli s3api head-object --bucket "$b" --key d/b.txt >/dev/null 2>&1
[ $? -ne 0 ]; ok $? "the deleted file is gone from the current view"
is "$(awscli s3api list-object-versions --bucket "$b" --prefix d/b.txt \
    --query 'length(Versions)' --output text)" 1 "its locked version stays"

# COMPLIANCE, and a job file's keys.
b2=$(new_bucket lockc)
printf '[job]\nbucket = %s\ndirectory = %s\nlock_days = 2\nlock_mode = COMPLIANCE\n' \
    "$b2" "$src" > "$T/job2.conf"
now=$(date -u +%s)
p3 --config "$T/job2.conf" >/dev/null 2>&1; st=$?
is "$st" 0 "a job with lock_days = 2, lock_mode = COMPLIANCE exits 0"
is "$(lockof "$b2" a.txt | cut -f1)" COMPLIANCE "COMPLIANCE mode"
near "$(until_of "$b2" a.txt)" $((now + 2 * 86400))
ok $? "retained about two days"

finish
