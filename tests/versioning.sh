#!/bin/bash
# Versioning, on by default: a bucket p3backup creates keeps old copies
# (PutBucketVersioning), every backup of an existing bucket asks for its
# state once (GetBucketVersioning) and says in one line when old copies
# are lost, and --no-versioning (job key no_versioning) does neither.
# A restore asks nothing.  Against s3rver, which has no versioning: it
# takes PUT ?versioning for a CreateBucket (409 BucketAlreadyExists) and
# answers GET ?versioning with a listing, so every backup warns and goes
# on.  Against Ceph RGW (make check-ceph) the states are real.
. "${top_srcdir:-.}/tests/lib.sh"
: "${S3TOOL:=$top_builddir/tests/s3tool}"

s3rver_start
p3() { "$P3BACKUP" --no-progress "$@"; }

src=$T/src
mkdir -p "$src"
echo one > "$src/a.txt"
echo two > "$src/b.txt"
warned() { grep -c "replaces its only copy" "$T/err"; }
vreqs() {
	echo $(( $(count_requests GET '\?versioning') +
	    $(count_requests PUT '\?versioning') ))
}
status() {
	awscli s3api get-bucket-versioning --bucket "$1" --query Status \
	    --output text 2>/dev/null
}

# A bucket p3backup creates.
b=$(new_bucket vers)
mark_requests
p3 "$b" "$src" >/dev/null 2>"$T/err"; st=$?
is "$st" 0 "a backup into a new bucket exits 0"
is "$(count_requests PUT '\?versioning')" 1 "one PutBucketVersioning for the bucket it created"
is "$(count_requests GET '\?versioning')" 0 "and no GetBucketVersioning: it knows"
if on_s3rver; then
	is "$(warned)" 1 "s3rver refuses versioning: one warning line"
	grep -q "cannot turn versioning on (HTTP 409 BucketAlreadyExists)" "$T/err"
	ok $? "naming the refusal ($(head -c 300 "$T/err"))"
	is "$(wc -l < "$T/err")" 1 "and nothing else on stderr"
else
	is "$(warned)" 0 "no warning: versioning is on"
	is "$(status "$b")" Enabled "the bucket's versioning is Enabled"
	skip 1 "s3rver only"
fi
awscli s3 cp "s3://$b/a.txt" "$T/a.back" >/dev/null 2>&1
cmp -s "$src/a.txt" "$T/a.back"; ok $? "the files are backed up all the same"

# The same bucket again: one GET, no PUT.
echo changed > "$src/a.txt"
mark_requests
p3 "$b" "$src" >/dev/null 2>"$T/err"; st=$?
is "$st" 0 "a second backup exits 0"
is "$(count_requests GET '\?versioning')" 1 "one GetBucketVersioning a run"
is "$(count_requests PUT '\?versioning')" 0 "and no PutBucketVersioning"
if on_s3rver; then
	is "$(warned)" 1 "s3rver reports no versioning: one warning line"
	grep -q "bucket $b: the server does not report versioning" "$T/err"
	ok $? "saying the server does not report it"
else
	is "$(warned)" 0 "no warning on a versioned bucket"
	n=$(awscli s3api list-object-versions --bucket "$b" --prefix a.txt \
	    --query 'length(Versions)' --output text)
	is "$n" 2 "the changed file's old copy is kept (2 versions)"
fi

# --no-versioning: no request, no warning; a job file's key too.
mark_requests
p3 --no-versioning "$b" "$src" >/dev/null 2>"$T/err"; st=$?
is "$st" 0 "--no-versioning exits 0"
is "$(vreqs)" 0 "--no-versioning: no versioning request"
is "$(warned)" 0 "--no-versioning: no warning"
printf '[job]\nbucket = %s\ndirectory = %s\nno_versioning = true\n' \
    "$b" "$src" > "$T/job.conf"
mark_requests
p3 --config "$T/job.conf" >/dev/null 2>"$T/err"; st=$?
is "$st" 0 "a job with no_versioning = true exits 0"
is "$(vreqs)" 0 "no_versioning: no versioning request"
is "$(warned)" 0 "no_versioning: no warning"

b2=$(new_bucket vers-off)
mark_requests
p3 --no-versioning "$b2" "$src" >/dev/null 2>"$T/err"; st=$?
is "$st" 0 "--no-versioning into a new bucket exits 0"
is "$(vreqs)" 0 "the new bucket is not versioned"
if on_s3rver; then
	skip 1 "Ceph RGW only: s3rver has no versioning state"
else
	is "$(status "$b2")" None "its versioning stays off"
fi

# A dry run into a bucket that does not exist creates nothing, asks
# nothing; a restore asks nothing either.
mark_requests
p3 -n "$(new_bucket vers-dry)" "$src" >/dev/null 2>"$T/err"
is "$(vreqs)" 0 "a dry run of a new bucket: no versioning request"
mark_requests
p3 --restore "$b" "$T/restored" >/dev/null 2>"$T/err"; st=$?
is "$st" 0 "a restore exits 0"
is "$(vreqs)" 0 "a restore: no versioning request"
is "$(warned)" 0 "a restore: no warning"

# Stores without versioning answer 501 NotImplemented; a key may not be
# allowed to ask (403 AccessDenied): a warning, and the backup goes on.
for code in 501 403; do
	extra_proxy "vers-$code" --versioning-answer "$code"
	echo "$code" > "$src/c$code.txt"
	p3 --endpoint-url "$HP_URL" "$b" "$src" >/dev/null 2>"$T/err"; st=$?
	is "$st" 0 "GetBucketVersioning answered $code: the backup exits 0"
	grep -q "bucket $b: no versioning state (HTTP $code " "$T/err"
	ok $? "$code: one line says so ($(head -c 200 "$T/err"))"
	is "$(warned)" 1 "$code: exactly one warning"
	awscli s3api head-object --bucket "$b" --key "c$code.txt" >/dev/null 2>&1
	ok $? "$code: the new file is backed up"
	b4=$(new_bucket "vers-new-$code")
	p3 --endpoint-url "$HP_URL" "$b4" "$src" >/dev/null 2>"$T/err"; st=$?
	is "$st" 0 "PutBucketVersioning answered $code: a new bucket's backup exits 0"
	grep -q "bucket $b4: cannot turn versioning on (HTTP $code " "$T/err"
	ok $? "$code: naming the refusal"
	extra_proxy_stop
done

# An existing bucket that keeps no versions, or only suspended ones.
if on_s3rver; then
	skip 5 "Ceph RGW only: s3rver has no versioning state"
else
	b3=$(new_bucket vers-plain)
	awscli s3api create-bucket --bucket "$b3" >/dev/null 2>&1
	p3 "$b3" "$src" >/dev/null 2>"$T/err"; st=$?
	is "$st" 0 "an unversioned bucket still backs up (exit 0)"
	grep -q "bucket $b3: versioning is off: a changed or deleted file replaces its only copy" "$T/err"
	ok $? "with one warning line ($(head -c 300 "$T/err"))"
	is "$(warned)" 1 "exactly one"
	awscli s3api put-bucket-versioning --bucket "$b3" \
	    --versioning-configuration Status=Suspended >/dev/null 2>&1
	p3 "$b3" "$src" >/dev/null 2>"$T/err"
	grep -q "bucket $b3: versioning is suspended" "$T/err"
	ok $? "a suspended bucket is named so"
	is "$(status "$b3")" Suspended "and p3backup leaves an existing bucket's setting alone"
fi

# versions_list (the --as-of listing) against a real server: more
# versions than one page holds (Ceph RGW answers 312 a page), keys that
# need encoding, delete markers, a key with only a delete marker; every
# line as the AWS CLI lists them.
if on_s3rver; then
	skip 3 "Ceph RGW only: s3rver has no ListObjectVersions (405)"
else
	b5=$(new_bucket vers-list)
	awscli s3api create-bucket --bucket "$b5" >/dev/null 2>&1
	awscli s3api put-bucket-versioning --bucket "$b5" \
	    --versioning-configuration Status=Enabled >/dev/null 2>&1
	echo v > "$T/v"
	fails=0
	for i in $(seq 1 170); do
		for k in "d/sp ace+plus%pct €.txt" "d/b.txt"; do
			"$S3TOOL" put "$b5" "$k" "$T/v" || fails=$((fails + 1))
		done
	done
	awscli s3api delete-object --bucket "$b5" --key d/b.txt >/dev/null 2>&1
	awscli s3api delete-object --bucket "$b5" --key d/never.txt >/dev/null 2>&1
	is "$fails" 0 "340 versions written"
	"$S3TOOL" lsv "$b5" d/ > "$T/lsv" 2>"$T/err"; st=$?
	is "$st" 0 "versions_list over several pages exits 0 ($(head -c 200 "$T/err"))"
	awscli s3api list-object-versions --bucket "$b5" --prefix d/ \
	    --output json | python3 -c 'import json, sys
d = json.load(sys.stdin)
for v in d.get("Versions", []):
    print("V %d %d %s %s %s" % (v["IsLatest"], v["Size"],
        v["ETag"].strip(chr(34)), v["VersionId"], v["Key"]))
for m in d.get("DeleteMarkers", []):
    print("D %d -1 - %s %s" % (m["IsLatest"], m["VersionId"], m["Key"]))' |
	    LC_ALL=C sort > "$T/awsv"
	is "$(LC_ALL=C sort "$T/lsv" | cmp - "$T/awsv" >/dev/null && echo same ||
	    echo "differ: $(wc -l < "$T/lsv") vs $(wc -l < "$T/awsv") lines")" same \
	    "every version and delete marker as the AWS CLI lists them ($(wc -l < "$T/awsv"))"
fi
finish
