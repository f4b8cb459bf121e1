#!/bin/bash
# Servers whose ETags are not the MD5 of the content, and the server-side
# options: an SSE-KMS bucket (tests/s3proxy.py --kms answers as AWS does
# for one: ETags that are no MD5, x-amz-server-side-encryption: aws:kms),
# rclone's x-amz-meta-md5chksum, --sse/--sse-kms-key-id/--acl/
# --request-payer on the wire, and, on Ceph RGW (make check-ceph), SSE-C
# and the ACL as the server keeps it.
. "${top_srcdir:-.}/tests/lib.sh"

PROXY_ARGS="--log-header x-amz-server-side-encryption
    --log-header x-amz-server-side-encryption-aws-kms-key-id
    --log-header x-amz-acl --log-header x-amz-request-payer
    --log-header x-amz-server-side-encryption-customer-algorithm"
s3rver_start
p3() { timeout 300 "$P3BACKUP" --no-progress "$@"; }
# Requests of the last run (since mark_requests) in log $1.
since() { tail -n +$((MARK + 1)) "$1"; }
mark() { MARK=$(wc -l < "$1"); }

src=$T/src
mkdir -p "$src/d"
for i in $(seq 1 40); do
	printf 'file %s %s\n' "$i" "$(head -c $((i * 37)) /dev/urandom | base64)" \
	    > "$src/d/f$i.txt"
done
head -c $((12 * 1024 * 1024)) /dev/urandom > "$src/big.bin"
MP="--multipart-threshold 5M --part-size 5M"

# ---- 1. An SSE-KMS bucket: ETags are no MD5 -----------------------------
# The --kms proxy rewrites the part ETags of signed CompleteMultipartUpload
# bodies, which only a server that checks no signature accepts; Ceph's
# own SSE-KMS answers plain MD5 ETags.  So sections 1 and 2: s3rver only.
extra_proxy kms --kms $PROXY_ARGS
if on_s3rver; then
kms() { AWS_ENDPOINT_URL=$HP_URL p3 $MP "$@"; }
b=$(new_bucket kms)
mark "$HP_LOG"
out=$(kms "$b" "$src" 2>&1); st=$?
is "$st" 0 "SSE-KMS bucket: the backup exits 0"
contains "$out" "uploaded 41" "every file counted uploaded"
etag=$(aws --endpoint-url "$HP_URL" s3api head-object --bucket "$b" \
    --key d/f1.txt --query ETag --output text | tr -d '"')
[ "$etag" != "$(md5sum < "$src/d/f1.txt" | cut -c1-32)" ]
ok $? "the proxy answers like SSE-KMS: the ETag is not the content's MD5"
aws --endpoint-url "$S3_DIRECT" s3 sync "s3://$b" "$T/back1" \
    --exclude '.p3backup/*' >/dev/null 2>&1
diff -r "$src" "$T/back1" >/dev/null 2>&1; ok $? "the bucket equals the tree"

mark "$HP_LOG"
out=$(kms "$b" "$src" 2>&1); st=$?
is "$st" 0 "no-op run exits 0"
is "$(since "$HP_LOG" | grep '^PUT' | grep -vc '/\.p3backup/runs/')" 0 "a no-op run uploads nothing"
mark "$HP_LOG"
out=$(kms --mtime "$b" "$src" 2>&1); st=$?
is "$st" 0 "--mtime no-op exits 0"
n=$(since "$HP_LOG" | wc -l)
# HEAD and GetBucketVersioning of the bucket, the listing, the index,
# the run log.
[ "$n" -le 6 ]; ok $? "--mtime no-op: a handful of requests for 41 files ($n)"
is "$(since "$HP_LOG" | grep -c '^HEAD	/'"$b"'/[^	]')" 0 "...and no HEAD of an object"

# Same size, same mtime, other content: --checksum uploads it, only it.
touch -r "$src/d/f7.txt" "$T/stamp"
tr 'a-z' 'A-Z' < "$src/d/f7.txt" > "$T/f7" && cat "$T/f7" > "$src/d/f7.txt"
touch -r "$T/stamp" "$src/d/f7.txt"
mark "$HP_LOG"
kms --mtime "$b" "$src" >/dev/null 2>&1
is "$(since "$HP_LOG" | grep '^PUT' | grep -vc '/\.p3backup/runs/')" 0 "an --mtime run misses a same-size, same-mtime change"
mark "$HP_LOG"
out=$(kms --checksum "$b" "$src" 2>&1); st=$?
is "$st" 0 "--checksum run exits 0"
is "$(since "$HP_LOG" | grep '^PUT' | grep -v '/.p3backup/' | cut -f2)" \
    "/$b/d/f7.txt" "--checksum uploads the changed file and nothing else"
mark "$HP_LOG"
kms --checksum "$b" "$src" >/dev/null 2>&1
is "$(since "$HP_LOG" | grep '^PUT' | grep -vc '/\.p3backup/runs/')" 0 "a --checksum re-run uploads nothing"

# A restore through the same bucket: verified without ETag = MD5.
out=$(kms --restore "$b" "$T/restored" 2>&1); st=$?
is "$st" 0 "restore from the SSE-KMS bucket exits 0"
diff -r "$src" "$T/restored" >/dev/null 2>&1; ok $? "the restored tree equals the source"

# ---- 2. rclone's md5chksum on a multipart object ----------------------
# rclone writes x-amz-meta-md5chksum on multipart uploads; behind an
# SSE-KMS bucket that is the only MD5 there is.  p3backup compares it.
b2=$(new_bucket rclone)
awscli s3 mb "s3://$b2" >/dev/null 2>&1
mkdir -p "$T/rc"
cp -p "$src/big.bin" "$T/rc/big.bin"
RCLONE_CONFIG_T_TYPE=s3 RCLONE_CONFIG_T_PROVIDER=Other \
    RCLONE_CONFIG_T_ENDPOINT=$HP_URL RCLONE_CONFIG_T_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID \
    RCLONE_CONFIG_T_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY \
    RCLONE_CONFIG_T_FORCE_PATH_STYLE=true \
    rclone copy --s3-upload-cutoff 5M --s3-chunk-size 5M "$T/rc" "t:$b2" \
    >"$T/rclone.out" 2>&1
ok $? "rclone copies a multipart object through the SSE-KMS proxy"
md5=$(aws --endpoint-url "$HP_URL" s3api head-object --bucket "$b2" \
    --key big.bin --query Metadata.md5chksum --output text)
is "$md5" "$(openssl md5 -binary < "$src/big.bin" | base64)" \
    "rclone stored x-amz-meta-md5chksum"
mark "$HP_LOG"
out=$(kms --checksum "$b2" "$T/rc" 2>&1); st=$?
is "$st" 0 "--checksum over rclone's object exits 0"
is "$(since "$HP_LOG" | grep -c '^PUT	/'"$b2"'/big.bin')" 0 \
    "it compares md5chksum: nothing uploaded"
head -c 1 /dev/zero | dd of="$T/rc/big.bin" bs=1 seek=1000 conv=notrunc 2>/dev/null
touch -r "$src/big.bin" "$T/rc/big.bin"
mark "$HP_LOG"
kms --checksum "$b2" "$T/rc" >/dev/null 2>&1
is "$?" 0 "--checksum after a same-size change exits 0"
is "$(since "$HP_LOG" | grep -E -c '^POST	/'"$b2"'/big.bin\?upload(s=|Id=)')" 2 \
    "a changed byte under the same size and mtime is uploaded again (and completed)"

# Without the index, single-part objects are compared by their own
# md5chksum (p3backup writes it): an ETag that is no MD5 does not make
# every file "different".
aws --endpoint-url "$S3_DIRECT" s3 rm "s3://$b/.p3backup/index" >/dev/null 2>&1
mark "$HP_LOG"
out=$(kms --checksum "$b" "$src" 2>&1); st=$?
is "$st" 0 "--checksum without the index exits 0"
is "$(since "$HP_LOG" | grep '^PUT' | grep -v '/.p3backup/' | grep -vc '/big.bin?')" 0 \
    "...and uploads no single-part file: each object's md5chksum vouches for it"
# (The multipart object has no md5chksum and an SSE-KMS ETag: it cannot
# be compared, so it goes up again, as promised, and the index then
# vouches for it.)

else
	skip 23 "the SSE-KMS stand-in needs s3rver (signed bodies are rewritten)"
fi

# ---- 3. --sse, --sse-kms-key-id, --acl, --request-payer on the wire ----
b3=$(new_bucket hdr)
awscli s3 mb "s3://$b3" >/dev/null 2>&1
mark_requests
out=$(p3 $MP --acl bucket-owner-full-control --request-payer "$b3" "$src" 2>&1)
is "$?" 0 "--acl --request-payer backup exits 0"
objs() { tail -n +$((REQMARK + 1)) "$REQLOG" | grep -E "^PUT	/$b3/[^?	]*	"; }
is "$(objs | grep -c 'x-amz-acl=bucket-owner-full-control')" "$(objs | wc -l)" \
    "every PutObject carries the ACL"
[ "$(objs | wc -l)" -ge 41 ]; ok $? "...41 files and the index ($(objs | wc -l))"
is "$(tail -n +$((REQMARK + 1)) "$REQLOG" | grep -v 'x-amz-request-payer=requester' | wc -l)" 0 \
    "every request carries x-amz-request-payer: requester (listing included)"
is "$(count_requests POST 'uploads=.*x-amz-acl=bucket-owner-full-control')" 1 \
    "CreateMultipartUpload carries the ACL"
if on_s3rver; then
	# s3rver refuses aws:kms: look at the requests through the KMS proxy.
	url=$HP_URL log=$HP_LOG
else
	url=$S3_ENDPOINT log=$REQLOG
fi
b4=$(new_bucket ssekms)
awscli s3 mb "s3://$b4" >/dev/null 2>&1
mark "$log"
out=$(AWS_ENDPOINT_URL=$url p3 $MP --sse aws:kms \
    --sse-kms-key-id "${CEPH_KMS_KEY_ID:-testkey-1}" "$b4" "$src" 2>&1); st=$?
is "$st" 0 "--sse aws:kms --sse-kms-key-id backup exits 0"
writes() {
	since "$log" | grep -E '^(PUT|POST)	/'"$b4"'/[^?	]*(	|\?uploads)' |
	    grep -v "/$b4/.p3backup/"
}
n=$(writes | wc -l)
is "$(writes |
    grep 'x-amz-server-side-encryption=aws:kms' |
    grep -c "x-amz-server-side-encryption-aws-kms-key-id=${CEPH_KMS_KEY_ID:-testkey-1}")" \
    "$n" "every PutObject and CreateMultipartUpload asks for SSE-KMS with the key"
[ "$n" -eq 41 ]; ok $? "...40 PutObject and 1 CreateMultipartUpload ($n)"

# Usage errors: exit 2 and no request.
mark_requests
for bad in "--sse AES128" "--sse-kms-key-id k" "--acl public" \
    "--request-payer=owner" "--sse AES256 --sse-c-key-file /dev/null"; do
	p3 $bad "$b3" "$src" >/dev/null 2>"$T/err"; st=$?
	is "$st" 2 "$bad: exit 2"
	is "$(wc -l < "$T/err")" 1 "$bad: one line: $(cat "$T/err")"
done
head -c 31 /dev/urandom > "$T/short.key"
p3 --sse-c-key-file "$T/short.key" "$b3" "$src" >/dev/null 2>"$T/err"
is "$?" 2 "an SSE-C key file of 31 bytes: exit 2"
contains "$(cat "$T/err")" "must hold a 256-bit key" "...saying what it must hold"
is "$(tail -n +$((REQMARK + 1)) "$REQLOG" | wc -l)" 0 "usage errors send no request"

# SSE-C headers on a GET or HEAD of a plain object are refused by AWS
# (the --ssec-plain proxy answers so): asked once more without them.
extra_proxy strict --ssec-plain
head -c 32 /dev/urandom > "$T/any.key"
out=$(AWS_ENDPOINT_URL=$HP_URL p3 --sse-c-key-file "$T/any.key" --restore \
    "$b3" "$T/mixed" 2>&1); st=$?
is "$st" 0 "a restore with --sse-c-key-file of plain objects (AWS's answers) exits 0"
diff -r "$src" "$T/mixed" >/dev/null 2>&1; ok $? "...and gives the tree"

# ---- 4. On Ceph RGW: SSE-C and the ACL the server keeps ---------------
if on_s3rver; then
	skip 26 "SSE-C and ACLs: Ceph RGW only (make check-ceph); s3rver has neither"
	finish
fi
b5=$(new_bucket acl)
p3 --acl public-read "$b5" "$src" >/dev/null 2>&1
grants=$(awscli s3api get-object-acl --bucket "$b5" --key d/f1.txt \
    --query 'Grants[].[Grantee.URI,Permission]' --output text)
contains "$grants" "http://acs.amazonaws.com/groups/global/AllUsers	READ" \
    "Ceph keeps --acl public-read: AllUsers READ"

# Cross-account: user2's bucket, whose policy lets user1 write.  With
# --acl bucket-owner-full-control the bucket's owner gets the object.
as2() { AWS_ACCESS_KEY_ID=$S3_KEY2 AWS_SECRET_ACCESS_KEY=$S3_SECRET2 "$@"; }
b7=$(new_bucket xacct)
as2 awscli s3api create-bucket --bucket "$b7" >/dev/null 2>&1
cat > "$T/policy.json" <<EOP
{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
 "Principal": {"AWS": ["arn:aws:iam:::user/$CEPH_USER"]}, "Action": ["s3:*"],
 "Resource": ["arn:aws:s3:::$b7", "arn:aws:s3:::$b7/*"]}]}
EOP
as2 awscli s3api put-bucket-policy --bucket "$b7" --policy "file://$T/policy.json"
ok $? "user2 lets user1 write into its bucket"
p3 --acl bucket-owner-full-control "$b7" "$src/d" >/dev/null 2>&1
is "$?" 0 "user1 backs up into user2's bucket with --acl bucket-owner-full-control"
grants=$(as2 awscli s3api get-object-acl --bucket "$b7" --key f1.txt \
    --query 'Grants[].[Grantee.ID,Permission]' --output text 2>&1)
contains "$grants" "$CEPH_USER2	FULL_CONTROL" "the bucket owner holds FULL_CONTROL of the object"
as2 awscli s3api get-object --bucket "$b7" --key f1.txt "$T/x1" >/dev/null 2>&1
ok $? "...and can read it"
p3 "$b7" "$src" >/dev/null 2>&1
is "$?" 0 "user1 backs up more without --acl"
as2 awscli s3api get-object --bucket "$b7" --key big.bin "$T/x2" >/dev/null 2>&1
[ $? -ne 0 ]; ok $? "(without --acl the owner cannot read user1's object: the check can fail)"

head -c 32 /dev/urandom > "$T/ssec.key"
python3 -c 'import os; print(os.urandom(32).hex())' > "$T/other.key"
b6=$(new_bucket ssec)
p3 -vv $MP --sse-c-key-file "$T/ssec.key" "$b6" "$src" >"$T/ssec.out" 2>&1; st=$?
is "$st" 0 "SSE-C backup exits 0"
grep -qF -e "$(base64 < "$T/ssec.key")" -e "$(openssl md5 -binary < "$T/ssec.key" | base64)" \
    "$T/ssec.out"
[ $? -ne 0 ]; ok $? "-vv prints neither the SSE-C key nor its MD5"
awscli s3api get-object --bucket "$b6" --key d/f1.txt "$T/plain" >/dev/null 2>&1
[ $? -ne 0 ]; ok $? "a plain GET of an SSE-C object fails"
mark_requests
out=$(p3 $MP --sse-c-key-file "$T/ssec.key" --mtime "$b6" "$src" 2>&1); st=$?
is "$st" 0 "SSE-C --mtime no-op exits 0"
is "$(count_uploads)" 0 "...uploads nothing"
out=$(p3 $MP --sse-c-key-file "$T/ssec.key" --checksum "$b6" "$src" 2>&1); st=$?
is "$st" 0 "an SSE-C --checksum re-run exits 0"
is "$(count_uploads)" 0 "...and uploads nothing"

# A backup run that forgets the key must not store files unencrypted.
echo "changed" >> "$src/d/f3.txt"
mark_requests
out=$(p3 $MP --mtime "$b6" "$src" 2>&1); st=$?
is "$st" 3 "a backup without the SSE-C key: exit 3"
contains "$out" "stored with SSE-C" "...saying why: $(echo "$out" | head -1)"
is "$(count_requests PUT)" 0 "...and nothing is uploaded (unencrypted)"
out=$(p3 $MP --sse-c-key-file "$T/ssec.key" "$b6" "$src" 2>&1); st=$?
is "$st" 0 "with the key the changed file goes up"
out=$(p3 --sse-c-key-file "$T/ssec.key" --restore "$b6" "$T/ssec-back" 2>&1); st=$?
is "$st" 0 "restore with the key exits 0"
diff -r "$src" "$T/ssec-back" >/dev/null 2>&1; ok $? "...and gives the tree"
out=$(p3 --restore "$b6" "$T/nokey" 2>&1); st=$?
is "$st" 1 "restore without the key: exit 1"
is "$(echo "$out" | grep -c 'sse-c-key-file')" 41 "one clear error per file: $(echo "$out" | grep -m1 sse-c)"
is "$(find "$T/nokey" -type f 2>/dev/null | wc -l)" 0 "...and nothing written"
out=$(p3 --sse-c-key-file "$T/other.key" --restore "$b6" "$T/wrongkey" 2>&1); st=$?
is "$st" 1 "restore with another key: exit 1"
is "$(echo "$out" | grep -c 'another SSE-C key')" 41 "one clear error per file: $(echo "$out" | grep -m1 SSE-C)"
is "$(find "$T/wrongkey" -type f 2>/dev/null | wc -l)" 0 "...and nothing written"

finish
