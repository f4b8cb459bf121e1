#!/bin/bash
# The S3 core against a real s3rver: create a bucket, list empty and
# multi-page buckets, put awkward keys, and fail clearly on a wrong
# secret without ever printing a secret.  s3rver checks every SigV4
# signature, so each success here is a signature it accepted.
. "${top_srcdir:-.}/tests/lib.sh"
: "${S3TOOL:=$top_builddir/tests/s3tool}"

s3rver_start
b=$(new_bucket basic)

"$S3TOOL" mb "$b"; ok $? "create bucket $b"
awscli s3api head-bucket --bucket "$b" >/dev/null 2>&1
ok $? "the AWS CLI sees the new bucket"
"$S3TOOL" mb "$b"; ok $? "an existing bucket of ours is reused"

out=$("$S3TOOL" ls "$b"); st=$?
is "$st" 0 "list an empty bucket"
is "$out" "" "an empty bucket lists nothing"

# Keys that need every kind of encoding in the path and the listing.
echo "hello" > "$T/f1"
keys=("sp ace.txt" "uni-ü-€-日本.txt" "plus+sign" "pct%41" "hash#x" "q?x" "amp&x" "eq=x" "a/b/c d+e%f#g?h&i=j")
for k in "${keys[@]}"; do
	"$S3TOOL" put "$b" "$k" "$T/f1"; ok $? "put key [$k]"
done
got=$("$S3TOOL" ls "$b" | cut -d' ' -f3- | sort)
want=$(printf '%s\n' "${keys[@]}" | sort)
is "$got" "$want" "our listing decodes every key exactly"
got=$(awscli s3api list-objects-v2 --bucket "$b" --query 'Contents[].Key' \
    --output text | tr '\t' '\n' | sort)
is "$got" "$want" "the AWS CLI lists exactly the keys we put"
for k in "sp ace.txt" "a/b/c d+e%f#g?h&i=j"; do
	awscli s3 cp "s3://$b/$k" "$T/back" >/dev/null 2>&1
	cmp -s "$T/f1" "$T/back"; ok $? "content of [$k] reads back"
done
mt=$(awscli s3api head-object --bucket "$b" --key "plus+sign" \
    --query 'Metadata.mtime' --output text)
want_mt=$(stat -c %Y "$T/f1")
case "$mt" in "$want_mt"*) ok 0 "x-amz-meta-mtime holds the file's mtime ($mt)" ;;
*) ok 1 "x-amz-meta-mtime holds the file's mtime"; diag "got [$mt] want [$want_mt...]" ;; esac
ctype=$(awscli s3api head-object --bucket "$b" --key "sp ace.txt" \
    --query 'ContentType' --output text)
is "$ctype" "application/octet-stream" "content type sent"

# 2,500 objects: three pages of ListObjectsV2 (1000 + 1000 + 500).
b2=$(new_bucket pages)
"$S3TOOL" mb "$b2" || ok 1 "create $b2"
mkdir -p "$T/many"
for i in $(seq -w 1 2500); do : > "$T/many/o$i"; done
awscli s3 sync "$T/many" "s3://$b2/" >/dev/null 2>&1
n=$(awscli s3 ls "s3://$b2/" | wc -l)
is "$n" 2500 "the AWS CLI put 2,500 objects"
mark_requests
out=$("$S3TOOL" ls "$b2"); st=$?
is "$st" 0 "list 2,500 objects"
is "$(printf '%s\n' "$out" | wc -l)" 2500 "every object listed once"
is "$(printf '%s\n' "$out" | cut -d' ' -f3 | sort -u | wc -l)" 2500 "no key listed twice"
is "$(count_requests GET 'list-type=2')" 3 "three pages requested (server side)"
is "$(count_requests GET 'continuation-token=')" 2 "pages two and three use the continuation token"
is "$(printf '%s\n' "$out" | head -1 | cut -d' ' -f1,2)" \
    "0 d41d8cd98f00b204e9800998ecf8427e" "size and ETag parsed"

# A wrong secret: clear message, exit 3, and no secret anywhere.
export AWS_SECRET_ACCESS_KEY=WrongSecretValue0123456789
export AWS_SESSION_TOKEN=SessionTokenValue0123456789
err=$("$S3TOOL" ls "$b" 2>&1); st=$?
is "$st" 3 "wrong secret: request fails"
contains "$err" "signature does not match: check your secret key" "wrong secret explained"
mkdir -p "$T/src"; echo data > "$T/src/x"
err=$("$P3BACKUP" -vv --no-progress "$b" "$T/src" 2>&1); st=$?
is "$st" 3 "p3backup with a wrong secret exits 3"
contains "$err" "signature does not match: check your secret key" "p3backup explains a wrong secret"
case "$err" in
*WrongSecretValue*|*SessionTokenValue*|*Signature=*|*S3RVER*)
	ok 1 "no secret, token, key or signature in -vv output"; diag "$err" ;;
*) ok 0 "no secret, token, key or signature in -vv output" ;;
esac
if printf '%s' "$err" | grep -Eq '[0-9a-f]{64}'; then
	ok 1 "no signature-like hex in -vv output"
else
	ok 0 "no signature-like hex in -vv output"
fi
unset AWS_SESSION_TOKEN
export AWS_SECRET_ACCESS_KEY=${S3_SECRET:-S3RVER}

# Nothing listens: bounded retries, then a clear error and exit 3.
start=$(date +%s)
err=$(AWS_ENDPOINT_URL=http://127.0.0.1:9 "$P3BACKUP" --retries 2 \
    --no-progress "$b" "$T/src" 2>&1); st=$?
is "$st" 3 "unreachable endpoint: exit 3"
contains "$err" "Couldn't connect to server" "unreachable endpoint explained"
contains "$err" "cannot connect to http://127.0.0.1:9:" "...naming the endpoint"
[ $(( $(date +%s) - start )) -lt 30 ]; ok $? "gives up within bounded retries"

finish
