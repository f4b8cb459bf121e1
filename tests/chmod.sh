#!/bin/bash
# A metadata-only change is not an upload (issue 15): after a chmod or
# chown alone, a backup copies the object onto itself (CopyObject,
# x-amz-metadata-directive REPLACE) with the new x-amz-meta-mode, -uid
# and -gid, its mtime, content and ETag unchanged; one PUT, no body.
# The index records the mode and owner, so unchanged runs (also with
# --mtime and --checksum) ask nothing per file; --dry-run says "would
# update metadata"; encrypted objects keep decrypting after the copy.
. "${top_srcdir:-.}/tests/lib.sh"

s3rver_start
p3() { "$P3BACKUP" --no-progress "$@"; }
head_of() {	# head_of BUCKET KEY: "mode uid gid mtime etag" as stored
	awscli s3api head-object --bucket "$1" --key "$2" \
	    --query '[Metadata.mode, Metadata.uid, Metadata.gid, Metadata.mtime, ETag]' \
	    --output text 2>/dev/null
}
body_of() {	# body_of BUCKET KEY: the object's bytes on stdout
	awscli s3 cp "s3://$1/$2" - 2>/dev/null
}
# The PUTs of KEY since the mark (its path ends in /KEY, maybe ?query).
puts_of() { count_requests PUT "/$1([?]|	)"; }

src=$T/src
mkdir -p "$src/d"
echo "the file that changes mode" > "$src/d/a.txt"
echo "an untouched one" > "$src/b.txt"
chmod 0644 "$src/d/a.txt" "$src/b.txt"
b=$(new_bucket chmod)

p3 "$b" "$src" >/dev/null 2>"$T/err"; st=$?
is "$st" 0 "a first backup exits 0 ($(head -c 200 "$T/err"))"
before=$(head_of "$b" d/a.txt)
set -- $before
is "$1 $2 $3" "100644 0 0" "recorded as 100644, root's"
mtime0=$4 etag0=$5

# chmod: one PUT of the key, a copy; content, mtime and ETag stay.
chmod 0700 "$src/d/a.txt"
out=$(p3 --dry-run "$b" "$src" 2>&1); st=$?
is "$st" 0 "--dry-run after a chmod exits 0"
contains "$out" "would update metadata d/a.txt" "--dry-run: would update metadata"
contains "$out" "would update metadata of 1" "and counts it in the summary"
mark_requests
out=$(p3 "$b" "$src" 2>&1); st=$?
is "$st" 0 "a backup after a chmod exits 0 ($out)"
contains "$out" "uploaded 0" "uploads nothing"
contains "$out" "updated metadata of 1" "updates one object's metadata"
is "$(puts_of d/a.txt)" 1 "exactly one PUT of the key"
is "$(count_uploads)" 2 "and no other but the index's"
set -- $(head_of "$b" d/a.txt)
is "$1 $2 $3" "100700 0 0" "x-amz-meta-mode is now 100700"
is "$4" "$mtime0" "x-amz-meta-mtime unchanged"
is "$5" "$etag0" "the ETag unchanged"
is "$(body_of "$b" d/a.txt)" "the file that changes mode" "the content unchanged"

# chown: the same.
chown 1234:2345 "$src/d/a.txt"
mark_requests
out=$(p3 --json "$b" "$src" 2>&1); st=$?
is "$st" 0 "a backup after a chown exits 0"
contains "$out" '"metadata_updated":1' "--json counts metadata_updated"
contains "$out" '"uploaded":0' "and no upload"
is "$(puts_of d/a.txt)" 1 "exactly one PUT of the key"
set -- $(head_of "$b" d/a.txt)
is "$1 $2 $3" "100700 1234 2345" "uid 1234, gid 2345 recorded"
is "$4 $5" "$mtime0 $etag0" "mtime and ETag unchanged"

# Nothing changed: nothing sent, nothing asked per file.
for opt in "" --mtime --checksum; do
	mark_requests
	out=$(p3 $opt "$b" "$src" 2>&1); st=$?
	is "$st" 0 "a third run ${opt:-plain} exits 0 ($out)"
	is "$(count_uploads)" 0 "${opt:-plain}: no PUT but the run log"
	is "$(count_requests HEAD '/(d/a|b)\.txt')" 0 "${opt:-plain}: no HEAD per file"
done

# A restore gives the new mode and owner.
p3 --restore "$b" "$T/r1" >/dev/null 2>&1
is "$(stat -c '%a %u %g' "$T/r1/d/a.txt")" "700 1234 2345" "a restore applies them"

# An older backup's index (no "P"): not a change, no mass copy.
ob=$(new_bucket chmod-old)
p3 "$ob" "$src" >/dev/null 2>&1
ix=$(body_of "$ob" .p3backup/index | sed 's/ P[0-9a-f]*//')
printf '%s\n' "$ix" > "$T/index.old"
awscli s3 cp "$T/index.old" "s3://$ob/.p3backup/index" >/dev/null 2>&1
chmod 0600 "$src/b.txt"
mark_requests
out=$(p3 "$ob" "$src" 2>&1); st=$?
is "$st" 0 "a run over an index without modes exits 0"
is "$(count_uploads)" 0 "copies nothing: unknown is no change"
# ...unless --mtime's HEAD read them (no index): then the chmod is seen.
awscli s3 rm "s3://$ob/.p3backup/index" >/dev/null 2>&1
mark_requests
out=$(p3 --mtime "$ob" "$src" 2>&1); st=$?
is "$st" 0 "--mtime after the index lost its modes exits 0 ($out)"
contains "$out" "updated metadata of 1" "the HEAD's mode shows the chmod"
set -- $(head_of "$ob" b.txt)
is "$1" "100600" "b.txt is now 100600"

# Encrypted: the copy keeps the p3-* headers; it still decrypts.
K=$T/keys
rsa_key "$K"
eb=$(new_bucket chmod-crypt)
p3 --encrypt-key "$K/k.pub" "$eb" "$src" >/dev/null 2>&1
chmod 0640 "$src/d/a.txt"
mark_requests
out=$(p3 --encrypt-key "$K/k.pub" "$eb" "$src" 2>&1); st=$?
is "$st" 0 "an encrypted backup after a chmod exits 0 ($out)"
contains "$out" "updated metadata of 1" "updates the metadata"
contains "$out" "uploaded 0" "uploads nothing"
is "$(puts_of d/a.txt)" 1 "one PUT of the key"
is "$(awscli s3api head-object --bucket "$eb" --key d/a.txt \
    --query 'Metadata."p3-crypt"' --output text 2>/dev/null)" 1 \
    "x-amz-meta-p3-crypt kept"
mark_requests
out=$(p3 --checksum --encrypt-key "$K/k.pub" "$eb" "$src" 2>&1); st=$?
is "$(count_uploads)" 0 "an encrypted --checksum re-run: nothing sent"
p3 --restore --decrypt-key "$K/k.pem" "$eb" "$T/r2" >/dev/null 2>"$T/err"; st=$?
is "$st" 0 "the restore decrypts ($(head -c 200 "$T/err"))"
diff -r "$src" "$T/r2" >/dev/null; ok $? "and gives back the tree"
is "$(stat -c '%a %u %g' "$T/r2/d/a.txt")" "640 1234 2345" "with the new mode"

finish
