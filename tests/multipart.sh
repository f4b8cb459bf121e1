#!/bin/bash
# Large files: multipart upload with verified ETags, --checksum, and
# resume after kill -9.  Parts are counted on the server side (proxy).
. "${top_srcdir:-.}/tests/lib.sh"

s3rver_start
p3() { "$P3BACKUP" --no-progress "$@"; }
parts() { count_requests PUT 'partNumber='; }

src=$T/src
mkdir -p "$src"
head -c $((100 * 1024 * 1024)) /dev/urandom > "$src/big.bin"
echo "small file" > "$src/small.txt"

# 100 MiB in 8 MiB parts: 13 parts.
b=$(new_bucket mp)
mark_requests
out=$(p3 --multipart-threshold 16M --part-size 8M "$b" "$src" 2>&1); st=$?
is "$st" 0 "multipart backup exits 0"
is "$(parts)" 13 "100 MiB in 8 MiB parts: 13 parts stored (server side)"
is "$(count_requests POST 'uploads=')" 1 "one CreateMultipartUpload"
is "$(count_requests POST 'uploadId=')" 1 "one CompleteMultipartUpload"
aws --endpoint-url "$S3_DIRECT" s3 cp "s3://$b/big.bin" "$T/big.back" >/dev/null 2>&1
cmp -s "$src/big.bin" "$T/big.back"; ok $? "the object reads back byte for byte"
# The server's own count: real servers (Ceph RGW) answer the multipart
# ETag, md5 of the part MD5s and "-13"; s3rver the whole file's MD5.
etag=$(awscli s3api head-object --bucket "$b" --key big.bin --query ETag \
    --output text | tr -d '"')
if on_s3rver; then
	want=$(md5sum < "$src/big.bin" | cut -c1-32)
else
	want=$(python3 -c 'import hashlib, sys
f = open(sys.argv[1], "rb"); d = b""; n = 0
while True:
    p = f.read(8 << 20)
    if not p: break
    d += hashlib.md5(p).digest(); n += 1
print("%s-%d" % (hashlib.md5(d).hexdigest(), n))' "$src/big.bin")
fi
is "$etag" "$want" "the server's ETag counts the 13 parts (s3rver: whole MD5)"
mt=$(awscli s3api head-object --bucket "$b" --key big.bin --query Metadata.mtime --output text)
contains "$mt" "$(stat -c %Y "$src/big.bin")" "the multipart object carries x-amz-meta-mtime"
ls "$HOME/.local/state/p3backup/" 2>/dev/null | grep -q journal
[ $? -ne 0 ]; ok $? "no journal is left after a completed upload"

mark_requests
p3 --multipart-threshold 16M --part-size 8M "$b" "$src" >/dev/null 2>&1
is "$(count_uploads)" 0 "re-run uploads nothing"
mark_requests
out=$(p3 --checksum --multipart-threshold 16M --part-size 8M "$b" "$src" 2>&1); st=$?
is "$st" 0 "--checksum re-run exits 0"
is "$(count_uploads)" 0 "--checksum re-run uploads nothing (multipart ETag recomputed)"
is "$(count_requests HEAD "/$b/big")" 0 "...and asks no object with HEAD"

# The same file encrypted (--encrypt-key): 13 parts again, and no-op
# re-runs by size and by --checksum (the index's keyed checksum).
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 \
    -out "$T/key.pem" 2>/dev/null
openssl pkey -in "$T/key.pem" -pubout -out "$T/key.pub" 2>/dev/null
be=$(new_bucket mpenc)
mkdir -p "$T/encsrc"
cp -p "$src/big.bin" "$T/encsrc/"
mark_requests
p3 --encrypt-key "$T/key.pub" --multipart-threshold 16M --part-size 8M \
    "$be" "$T/encsrc" >/dev/null 2>&1
is "$?" 0 "encrypted multipart backup exits 0"
is "$(parts)" 13 "encrypted: 13 parts stored (server side)"
mark_requests
p3 --encrypt-key "$T/key.pub" --multipart-threshold 16M --part-size 8M \
    "$be" "$T/encsrc" >/dev/null 2>&1
is "$(count_uploads)" 0 "encrypted: a re-run uploads nothing"
p3 --encrypt-key "$T/key.pub" --checksum --multipart-threshold 16M \
    --part-size 8M "$be" "$T/encsrc" >/dev/null 2>&1
is "$(count_uploads)" 0 "encrypted: a --checksum re-run uploads nothing"
p3 --restore --decrypt-key "$T/key.pem" "$be" "$T/encback" >/dev/null 2>&1
is "$?" 0 "encrypted: restore exits 0"
cmp -s "$src/big.bin" "$T/encback/big.bin"; ok $? "encrypted: restored byte for byte"

# Same size, same mtime, other content: only --checksum sees it.
touch -r "$src/small.txt" "$T/stamp"
echo "SMALL FILE" > "$src/small.txt"
touch -r "$T/stamp" "$src/small.txt"
mark_requests
p3 "$b" "$src" >/dev/null 2>&1
is "$(count_uploads)" 0 "same size and mtime: skipped by default"
mark_requests
out=$(p3 -v --checksum "$b" "$src" 2>&1); st=$?
is "$(count_requests PUT '/small\.txt	')" 1 "uploaded with --checksum"
contains "$out" "upload small.txt" "-v names it"

# kill -9 in the middle of a 120 MiB upload in 5 MiB parts (24 parts).
rm -f "$src/big.bin"
head -c $((120 * 1024 * 1024)) /dev/urandom > "$src/huge.bin"
b2=$(new_bucket resume)
mark_requests
"$P3BACKUP" --no-progress -j 2 --multipart-threshold 16M --part-size 5M \
    "$b2" "$src" >/dev/null 2>&1 &
pid=$!
wait_requests 14 30 PUT 'partNumber='
kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
first=$(parts)
[ "$first" -ge 14 ] && [ "$first" -lt 24 ]; ok $? "killed after $first of 24 parts"
ls "$HOME/.local/state/p3backup/"*.journal >/dev/null 2>&1; ok $? "a journal survives the kill"
awscli s3api head-object --bucket "$b2" --key huge.bin >/dev/null 2>&1
[ $? -ne 0 ]; ok $? "no object looks complete after the kill"
mark_requests
out=$("$P3BACKUP" --no-progress -v --multipart-threshold 16M --part-size 5M \
    "$b2" "$src" 2>&1); st=$?
is "$st" 0 "the re-run exits 0"
contains "$out" "resuming an interrupted upload" "the re-run resumes"
if on_s3rver; then
	skip 1 "s3rver has no ListParts: the journal is trusted"
else
	is "$(count_requests GET 'uploadId=')" 1 "the journal is checked with ListParts"
fi
again=$(parts)
[ "$again" -lt 12 ]; ok $? "the re-run sends fewer than half the parts again ($again)"
aws --endpoint-url "$S3_DIRECT" s3 cp "s3://$b2/huge.bin" "$T/huge.back" >/dev/null 2>&1
cmp -s "$src/huge.bin" "$T/huge.back"; ok $? "the resumed object is complete and correct"
ls "$HOME/.local/state/p3backup/"*.journal >/dev/null 2>&1
[ $? -ne 0 ]; ok $? "the journal is gone"

# interrupt SIG BUCKET [PROGRESS]: a backup of $src to BUCKET, sent SIG
# once 4 parts are in; its exit status in $st, its output in $T/int.out.
interrupt() {
	mark_requests
	"$P3BACKUP" "${3:---no-progress}" -j 2 --multipart-threshold 16M \
	    --part-size 5M "$2" "$src" >"$T/int.out" 2>&1 &
	pid=$!
	wait_requests 4 30 PUT 'partNumber='
	kill "-$1" "$pid"; wait "$pid"; st=$?
}

# SIGINT: the requests under way finish, the journal stays, exit 3;
# the next run goes on from there.
b4=$(new_bucket sigint)
interrupt INT "$b4" --progress
is "$st" 3 "SIGINT: exit 3"
contains "$(cat "$T/int.out")" "interrupted" "SIGINT: says it was interrupted"
# With a progress line up, every message starts on a clean line.
python3 - "$T/int.out" <<'PY'
import re, sys
d = open(sys.argv[1], "rb").read()
assert b" failed" in d, "no progress line was drawn"
bad = [m.start() for m in re.finditer(rb"p3backup: ", d)
       if not (m.start() == 0 or d[:m.start()].endswith((b"\n", b"\r\x1b[K")))]
assert not bad, d[max(0, bad[0] - 60):bad[0] + 40]
PY
ok $? "SIGINT: the progress line is cleared before each message"
# Parts of files that did not complete are not counted as uploaded
# bytes (small.txt, 11 bytes, may have gone up).
grep -Eq "uploaded [01] \((0|11) B\)" "$T/int.out"
ok $? "SIGINT: the summary counts no bytes of unfinished files ($(grep -o 'uploaded [^,]*' "$T/int.out"))"
ls "$HOME/.local/state/p3backup/"*.journal >/dev/null 2>&1; ok $? "SIGINT: the journal is kept"
out=$("$P3BACKUP" --no-progress -v --multipart-threshold 16M --part-size 5M \
    "$b4" "$src" 2>&1); st=$?
is "$st" 0 "after SIGINT the re-run exits 0"
contains "$out" "resuming an interrupted upload" "after SIGINT the re-run resumes"
aws --endpoint-url "$S3_DIRECT" s3 cp "s3://$b4/huge.bin" "$T/huge4.back" >/dev/null 2>&1
cmp -s "$src/huge.bin" "$T/huge4.back"; ok $? "after SIGINT the object ends complete and correct"

# SIGHUP (the terminal closed under a run) stops it as SIGINT does.
b5=$(new_bucket sighup)
interrupt HUP "$b5"
is "$st" 3 "SIGHUP: exit 3, as SIGINT"
contains "$(cat "$T/int.out")" "interrupted" "SIGHUP: says it was interrupted"
ls "$HOME/.local/state/p3backup/"*.journal >/dev/null 2>&1; ok $? "SIGHUP: the journal is kept"
awscli s3api head-object --bucket "$b5" --key huge.bin >/dev/null 2>&1
[ $? -ne 0 ]; ok $? "SIGHUP: no object looks complete"

# Two runs of one tree at once: the second leaves the large file to the
# first, whose journal it finds locked, instead of fighting over it.
b6=$(new_bucket twice)
locks=$(ls "$HOME/.local/state/p3backup/" | grep -c '\.lock$')
mark_requests
"$P3BACKUP" --no-progress -j 1 --multipart-threshold 16M --part-size 5M \
    "$b6" "$src" >"$T/first.out" 2>&1 &
pid=$!
wait_requests 2 30 PUT 'partNumber='
mark_requests
out=$("$P3BACKUP" --no-progress -j 1 --multipart-threshold 16M \
    --part-size 5M --report "$T/second.jsonl" "$b6" "$src" 2>&1); st=$?
is "$st" 1 "a second run while the first uploads the file: exit 1"
python3 - "$T/second.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
huge = [r for r in rows if r["key"] == "huge.bin"]
assert len(huge) == 1, rows
assert huge[0]["result"] == "failed" and "another p3backup run" in huge[0]["error"], huge
PY
ok $? "its --report has one line for the file, failed, with its own error"
contains "$out" "another p3backup run is uploading it" "...saying why"
is "$(count_requests POST 'uploads=')" 0 "...and starting no upload of its own"
wait "$pid"; is "$?" 0 "the first run completes (exit 0)"
aws --endpoint-url "$S3_DIRECT" s3 cp "s3://$b6/huge.bin" "$T/huge6.back" >/dev/null 2>&1
cmp -s "$src/huge.bin" "$T/huge6.back"; ok $? "...and its object is the file"
is "$(ls "$HOME/.local/state/p3backup/" | grep -c '\.lock$')" "$locks" \
    "its lock file is gone with its journal"

# A journal whose file changed is not used: the upload starts again.
# kill_after N BUCKET DIR: a backup of DIR to BUCKET, one 5 MiB part
# at a time, killed -9 once N parts are in.
kill_after() {
	"$P3BACKUP" --no-progress -j 1 --multipart-threshold 16M \
	    --part-size 5M "$2" "$3" >/dev/null 2>&1 &
	pid=$!
	mark_requests
	wait_requests "$1" 30 PUT 'partNumber='
	kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
}
b3=$(new_bucket stale)
kill_after 3 "$b3" "$src"
printf 'X' | dd of="$src/huge.bin" bs=1 seek=100 conv=notrunc 2>/dev/null
out=$("$P3BACKUP" --no-progress -v --multipart-threshold 16M --part-size 5M \
    "$b3" "$src" 2>&1); st=$?
is "$st" 0 "after the file changed, the re-run exits 0"
contains "$out" "changed since an interrupted upload" "the stale journal is reported"
aws --endpoint-url "$S3_DIRECT" s3 cp "s3://$b3/huge.bin" "$T/huge3.back" >/dev/null 2>&1
cmp -s "$src/huge.bin" "$T/huge3.back"; ok $? "the object is the changed file"

# Journals of uploads that are gone: killed half-way, then the file is
# deleted.  A run of another directory to the same bucket leaves the
# journal alone; the next run of this directory removes it and aborts
# the upload, whose parts would otherwise stay.
sw=$T/sweep
mkdir -p "$sw" "$T/other-dir"
head -c $((40 * 1024 * 1024)) /dev/urandom > "$sw/gone.bin"
echo "keep" > "$sw/keep.txt"
echo "other" > "$T/other-dir/o.txt"
b7=$(new_bucket sweep)
journals() { ls "$HOME/.local/state/p3backup/" | grep -c '\.journal$'; }
before=$(journals)
kill_after 2 "$b7" "$sw"
is "$(journals)" $((before + 1)) "a killed upload leaves its journal"
grep -q "^root " "$HOME/.local/state/p3backup/"*.journal; ok $? "the journal names its directory"
p3 --multipart-threshold 16M --exclude gone.bin "$b7" "$sw" >/dev/null 2>&1
is "$(journals)" $((before + 1)) "a run that leaves the file out (it is still there) keeps it"
p3 --multipart-threshold 16M --prefix other "$b7" "$sw" >/dev/null 2>&1
is "$(journals)" $((before + 1)) "a run of the same directory under another prefix leaves it alone"
rm "$sw/gone.bin"
p3 --multipart-threshold 16M "$b7" "$T/other-dir" >/dev/null 2>&1
is "$(journals)" $((before + 1)) "a run of another directory leaves it alone"
mark_requests
out=$(p3 -v --multipart-threshold 16M "$b7" "$sw" 2>&1); st=$?
is "$st" 0 "the run after the file was deleted exits 0"
is "$(journals)" "$before" "its journal is removed"
contains "$out" "gone.bin: removed the resume journal of a file no longer uploaded in parts" "-v says so"
is "$(count_requests DELETE 'uploadId=')" 1 "and its upload is aborted"

finish
