#!/bin/bash
# Client-side encryption end to end (doc/encryption.md): a backup with
# --encrypt-key stores no plaintext, a re-run uploads nothing (by size,
# --mtime and --checksum), a restore with --decrypt-key gives back the
# tree and its mtimes; tampered objects (a flipped byte, truncated,
# two objects swapped) are refused and never written; a wrong or missing
# key is a clear error; --compress stores compressible files smaller;
# an encrypted multipart upload killed half-way resumes and decrypts.
. "${top_srcdir:-.}/tests/lib.sh"

s3rver_start
K=$T/keys
mkdir -p "$K"
for k in one two; do
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 \
	    -out "$K/$k.pem" 2>/dev/null &&
	    openssl pkey -in "$K/$k.pem" -pubout -out "$K/$k.pub" 2>/dev/null ||
	    { echo "Bail out! openssl cannot make RSA keys"; exit 99; }
done
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null |
    openssl pkey -pubout -out "$K/small.pub" 2>/dev/null

MARKER=PLAINTEXT-MARKER-7f3a9c
src=$T/src
mkdir -p "$src/sub dir" "$src/empty"
for i in $(seq 1 20); do
	printf '%s file %d\n' "$MARKER" "$i" > "$src/sub dir/f$i.txt"
done
: > "$src/zero.bin"
# Past the in-memory limit (1 MiB): encoded through a temporary file.
python3 -c 'import sys
open(sys.argv[1], "wb").write((sys.argv[2] + "\n").encode() * 100000)' \
    "$src/medium.txt" "$MARKER"
# Exactly two chunks of 64 KiB, and an incompressible file.
head -c 131072 /dev/urandom > "$src/two-chunks.bin"
head -c 300000 /dev/urandom > "$src/random.bin"
# A multipart file (threshold 8M, parts 5M): 4 parts, marker inside.
{ head -c $((13 * 1024 * 1024)) /dev/urandom; echo "$MARKER"; } > "$src/big.bin"
touch -d '2021-03-04 05:06:07.123456789' "$src/sub dir/f1.txt"

p3() {
	"$P3BACKUP" --no-progress --multipart-threshold 8M --part-size 5M "$@"
}
b=$(new_bucket crypt)

# Usage errors come before any request.
mark_requests
out=$(p3 --compress "$b" "$src" 2>&1); st=$?
is "$st" 2 "--compress without --encrypt-key: exit 2"
contains "$out" "--compress needs --encrypt-key" "and says why"
out=$(p3 --restore --encrypt-key "$K/one.pub" "$b" "$T/x" 2>&1); st=$?
is "$st" 2 "--encrypt-key with --restore: exit 2"
out=$(p3 --decrypt-key "$K/one.pem" "$b" "$src" 2>&1); st=$?
is "$st" 2 "--decrypt-key without --restore: exit 2"
out=$(p3 --encrypt-key "$K/small.pub" "$b" "$src" 2>&1); st=$?
is "$st" 2 "a 2048-bit key: exit 2"
contains "$out" "small.pub" "the error names the key file"
contains "$out" "3072" "and the required size"
out=$(p3 --encrypt-key "$T/missing.pub" "$b" "$src" 2>&1); st=$?
is "$st" 2 "a missing key file: exit 2"
is "$(tail -n +$((REQMARK + 1)) "$REQLOG" | wc -l)" 0 "no request was made by the refused runs"

# The backup.
mark_requests
out=$(p3 --encrypt-key "$K/one.pub" --json "$b" "$src" 2>"$T/err"); st=$?
is "$st" 0 "encrypted backup exits 0"
contains "$out" '"uploaded":26' "26 objects uploaded (25 files, 1 marker)" ||
    diag "$out $(cat "$T/err")"
# What the server keeps: s3rver's data directory; on Ceph RGW (whose
# OSD keeps data in memory) every object as the S3 API hands it out.
stored() {
	if on_s3rver; then
		echo "$S3_DATA"
	else
		rm -rf "$T/stored-$1"
		awscli s3 sync "s3://$1" "$T/stored-$1" >/dev/null 2>&1
		echo "$T/stored-$1"
	fi
}
grep -rl "$MARKER" "$(stored "$b")" >/dev/null 2>&1
[ $? -ne 0 ]; ok $? "no stored object holds the plaintext marker"
# The same search finds it in a plain backup: the check can fail.
mkdir -p "$T/plainsrc"
cp "$src/sub dir/f2.txt" "$T/plainsrc/"
bp=$(new_bucket crypt-plain)
p3 "$bp" "$T/plainsrc" >/dev/null 2>&1
grep -rl "$MARKER" "$(stored "$bp")" >/dev/null 2>&1; ok $? \
    "(the search finds the marker in an unencrypted backup)"
plain=$(stat -c %s "$src/sub dir/f2.txt")
stored=$(awscli s3api head-object --bucket "$b" --key "sub dir/f2.txt" \
    --query ContentLength --output text 2>/dev/null)
[ -n "$stored" ] && [ "$stored" -gt "$plain" ]; ok $? \
    "a stored object is larger than its file ($plain -> $stored bytes)"
meta=$(awscli s3api head-object --bucket "$b" --key "sub dir/f2.txt" \
    --query Metadata --output json 2>/dev/null)
contains "$meta" '"p3-crypt": "1"' "the object says it is encrypted"
contains "$meta" "\"p3-size\": \"$plain\"" "and its plaintext size"

# Re-runs upload nothing: by size, by stored mtime, by keyed checksum.
for how in "" --mtime --checksum; do
	mark_requests
	out=$(p3 --encrypt-key "$K/one.pub" $how --json "$b" "$src" 2>&1); st=$?
	is "$st" 0 "re-run ${how:-by size} exits 0"
	is "$(count_uploads)" 0 "re-run ${how:-by size} uploads nothing"
	# The index holds the mtimes and keyed checksums: no HEAD per file.
	is "$(count_requests HEAD "/$b/[^	]")" 0 "re-run ${how:-by size} sends no object HEAD"
done
# Same size and mtime, other content: --checksum sees it.
touch -r "$src/sub dir/f3.txt" "$T/stamp"
printf '%s FILE 3\n' "$MARKER" | tr 'a-z' 'A-Z' > "$src/sub dir/f3.txt"
touch -r "$T/stamp" "$src/sub dir/f3.txt"
mark_requests
p3 --encrypt-key "$K/one.pub" --checksum "$b" "$src" >/dev/null 2>&1
is "$(count_requests PUT '/sub%20dir/f3\.txt	')" 1 \
    "--checksum: same size and mtime, other content: uploaded"

# The backup's settings live with it: a run that forgets --encrypt-key
# stops before any upload (also as a dry run) instead of replacing
# sealed objects with plaintext (issue 12 #2).
printf '%s new file\n' "$MARKER" > "$src/new.txt"
awscli s3 cp "s3://$b/.p3backup/settings" "$T/settings.json" >/dev/null 2>&1
python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["format"]==1 and len(o["encrypt_key_id"])==64 and o["compress"] is False, o' "$T/settings.json"
ok $? "the settings object records the key id, no compression"
for dry in "" -n; do
	mark_requests
	out=$(p3 $dry "$b" "$src" 2>&1); st=$?
	is "$st" 2 "a run ${dry:+(dry) }without --encrypt-key on an encrypted backup: exit 2"
	contains "$out" "is encrypted (key " "${dry:+dry: }it says the backup is encrypted"
	contains "$out" "give --encrypt-key PUBLIC.pem" "${dry:+dry: }and what to do"
	is "$(count_requests PUT)" 0 "${dry:+dry: }nothing is uploaded"
done
# A bucket written before the settings object: the index says what the
# objects are.
awscli s3 rm "s3://$b/.p3backup/settings" >/dev/null 2>&1
out=$(p3 "$b" "$src" 2>&1); st=$?
is "$st" 2 "without the settings object: still exit 2 (the objects are encrypted)"
# Nor the index (a first run killed before writing it): a HEAD asks.
awscli s3 cp "s3://$b/.p3backup/index" "$T/index.saved" >/dev/null 2>&1
awscli s3 rm "s3://$b/.p3backup/index" >/dev/null 2>&1
mark_requests
out=$(p3 "$b" "$src" 2>&1); st=$?
is "$st" 2 "without settings and index: still exit 2 (a HEAD shows a sealed object)"
is "$(count_requests PUT)" 0 "nothing is uploaded, no settings recorded"
awscli s3 cp "$T/index.saved" "s3://$b/.p3backup/index" >/dev/null 2>&1
mark_requests
out=$(p3 --encrypt-key "$K/one.pub" "$b" "$src" 2>&1); st=$?
is "$st" 0 "with the key: exit 0" || diag "$out"
is "$(count_requests PUT '/new\.txt	')" 1 "the new file is uploaded, sealed"
is "$(count_requests PUT '/\.p3backup/settings	')" 1 "and the settings are recorded again"
awscli s3 cp "s3://$b/new.txt" - 2>/dev/null | grep -q "$MARKER"
[ $? -ne 0 ]; ok $? "the object holds no plaintext"
# Another key is a change of settings too.
mark_requests
out=$(p3 --encrypt-key "$K/two.pub" "$b" "$src" 2>&1); st=$?
is "$st" 2 "another --encrypt-key without --new-settings: exit 2"
contains "$out" "is encrypted for key " "it names the recorded key"
contains "$out" "--new-settings seals every object again" "and the way to change it"
is "$(count_requests PUT)" 0 "nothing is uploaded"

# Restore with the private key: the same tree, the same mtimes.
out=$(p3 --restore --decrypt-key "$K/one.pem" "$b" "$T/back" 2>&1); st=$?
is "$st" 0 "restore with --decrypt-key exits 0" || diag "$out"
diff -r "$src" "$T/back" >/dev/null 2>&1; ok $? "diff -r: the restored tree equals the source"
is "$(stat -c %y "$T/back/sub dir/f1.txt")" "$(stat -c %y "$src/sub dir/f1.txt")" \
    "the mtime comes back to the nanosecond"
mark_requests
p3 --restore --decrypt-key "$K/one.pem" "$b" "$T/back" >/dev/null 2>&1
is "$(count_requests GET '/sub%20dir/')" 0 "a second restore downloads nothing"

# Wrong key, missing key: clear errors, nothing written.
out=$(p3 --restore --decrypt-key "$K/two.pem" "$b" "$T/wrong" 2>&1); st=$?
is "$st" 1 "restore with another key: exit 1"
contains "$out" "encrypted for another key" "and says so"
[ ! -e "$T/wrong/sub dir/f2.txt" ]; ok $? "and writes no file"
mark_requests
out=$(p3 --restore "$b" "$T/nokey" 2>&1); st=$?
is "$st" 2 "restore without a key: exit 2, before any download"
is "$(printf '%s\n' "$out" | grep -c -- "--decrypt-key")" 1 "said once, naming the option ($out)"
is "$(count_requests GET '/sub%20dir/')" 0 "no object is downloaded"
[ ! -e "$T/nokey" ]; ok $? "and nothing is made"
out=$(p3 --restore --decrypt-key "$K/one.pub" "$b" "$T/pub" 2>&1); st=$?
is "$st" 2 "a public key given as --decrypt-key: exit 2"

# Tampering, through the S3 API so that the ETags match the new bytes.
# replace KEY FILE: store FILE as KEY with the encrypted object's metadata.
replace() {
	awscli s3api put-object --bucket "$b" --key "$1" --body "$2" \
	    --metadata "p3-crypt=1,p3-size=$3" >/dev/null 2>&1
}
get() {
	awscli s3 cp "s3://$b/$1" "$2" >/dev/null 2>&1
}
get "sub dir/f4.txt" "$T/o4"
get "sub dir/f5.txt" "$T/o5"
get "sub dir/f6.txt" "$T/o6"
get "medium.txt" "$T/om"
python3 - "$T/o4" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) - 20] ^= 0x01
open(p, "wb").write(b)
PY
replace "sub dir/f4.txt" "$T/o4" 20
head -c $(( $(stat -c %s "$T/om") - 70000 )) "$T/om" > "$T/om.cut"
replace "medium.txt" "$T/om.cut" "$(stat -c %s "$src/medium.txt")"
replace "sub dir/f5.txt" "$T/o6" 20
replace "sub dir/f6.txt" "$T/o5" 20
# A plain object slipped in (no metadata at all), and a genuine one
# stripped of its metadata: with the key, every object is decrypted.
printf 'attacker content\n' > "$T/evil"
awscli s3api put-object --bucket "$b" --key "sub dir/f9.txt" --body "$T/evil" \
    >/dev/null 2>&1
get "sub dir/f10.txt" "$T/o10"
awscli s3api put-object --bucket "$b" --key "sub dir/f10.txt" --body "$T/o10" \
    >/dev/null 2>&1
# Intact bytes, but metadata that disagrees with them.
get "sub dir/f8.txt" "$T/o8"
replace "sub dir/f8.txt" "$T/o8" 999
get "sub dir/f11.txt" "$T/o11"
replace "sub dir/f11.txt" "$T/o11" 12x
out=$(p3 --restore --decrypt-key "$K/one.pem" "$b" "$T/tampered" 2>&1); st=$?
is "$st" 1 "restore of tampered objects: exit 1"
for f in "sub dir/f4.txt" medium.txt "sub dir/f5.txt" "sub dir/f6.txt"; do
	printf '%s\n' "$out" | grep -F "$f" | grep -q "corrupted\|truncated"
	ok $? "$f: reported as corrupted"
	[ ! -e "$T/tampered/$f" ]; ok $? "$f: not written"
done
printf '%s\n' "$out" | grep -F "sub dir/f9.txt" | grep -q "not an encrypted object"
ok $? "a plain object is refused when restoring with --decrypt-key"
[ ! -e "$T/tampered/sub dir/f9.txt" ]; ok $? "and not written"
cmp -s "$src/sub dir/f10.txt" "$T/tampered/sub dir/f10.txt"; ok $? \
    "an encrypted object without its metadata is still decrypted"
printf '%s\n' "$out" | grep -F "sub dir/f8.txt" | grep -q "metadata says 999"
ok $? "an object whose metadata disagrees with its plaintext size is reported"
[ ! -e "$T/tampered/sub dir/f8.txt" ]; ok $? "and not written"
printf '%s\n' "$out" | grep -F "sub dir/f11.txt" | grep -q "p3-size is not a size"
ok $? "malformed metadata is reported"
[ ! -e "$T/tampered/sub dir/f11.txt" ]; ok $? "and that file is not written"
cmp -s "$src/sub dir/f7.txt" "$T/tampered/sub dir/f7.txt"; ok $? \
    "an untouched object is still restored"
[ -z "$(find "$T/tampered" -name '.p3b-*')" ]; ok $? "no temporary file is left"

# --compress: compressible files shrink, others are stored as they are.
b2=$(new_bucket crypt-z)
out=$(p3 --encrypt-key "$K/one.pub" --compress "$b2" "$src" 2>&1); st=$?
is "$st" 0 "--compress backup exits 0" || diag "$out"
stored=$(awscli s3api head-object --bucket "$b2" --key medium.txt \
    --query ContentLength --output text 2>/dev/null)
[ -n "$stored" ] && [ "$stored" -lt $(( $(stat -c %s "$src/medium.txt") / 10 )) ]
ok $? "a compressible file is stored at under a tenth ($stored bytes)"
stored=$(awscli s3api head-object --bucket "$b2" --key random.bin \
    --query ContentLength --output text 2>/dev/null)
[ -n "$stored" ] && [ "$stored" -gt 300000 ]; ok $? \
    "an incompressible file is not stored compressed ($stored bytes)"
mark_requests
p3 --encrypt-key "$K/one.pub" --compress --mtime "$b2" "$src" >/dev/null 2>&1
is "$(count_uploads)" 0 "--compress re-run uploads nothing"
out=$(p3 --restore --decrypt-key "$K/one.pem" "$b2" "$T/backz" 2>&1); st=$?
is "$st" 0 "restore of compressed objects exits 0" || diag "$out"
diff -r "$src" "$T/backz" >/dev/null 2>&1; ok $? "diff -r: equal after compression"

# Compression is part of the settings.
mark_requests
out=$(p3 --encrypt-key "$K/one.pub" "$b2" "$src" 2>&1); st=$?
is "$st" 2 "a compressed backup without --compress: exit 2"
contains "$out" "is compressed: give --compress, or --new-settings" "and says so"
is "$(count_requests PUT)" 0 "nothing is uploaded"

# A new key, with --new-settings: everything sealed for the old one is
# sealed again, so the old private key can be retired.  (Keys of one
# size: sizes agree.)
mark_requests
out=$(p3 --encrypt-key "$K/two.pub" --new-settings --json "$b2" "$src" 2>&1); st=$?
is "$st" 0 "backup with another key exits 0" || diag "$out"
n=$(find "$src" -type f | wc -l)
contains "$out" "\"uploaded\":$n," "every file ($n) is sealed again for the new key"
out=$(p3 --restore --decrypt-key "$K/two.pem" "$b2" "$T/backtwo" 2>&1); st=$?
is "$st" 0 "and the new private key restores all of it" || diag "$out"
diff -r "$src" "$T/backtwo" >/dev/null 2>&1; ok $? "diff -r: equal with the new key"

# A plain backup is not encrypted behind its back either.
bp=$(new_bucket crypt-plain)
mkdir -p "$T/plain"
printf '%s plain\n' "$MARKER" > "$T/plain/p.txt"
p3 "$bp" "$T/plain" >/dev/null 2>&1
echo "more" > "$T/plain/q.txt"
mark_requests
out=$(p3 --encrypt-key "$K/one.pub" "$bp" "$T/plain" 2>&1); st=$?
is "$st" 2 "--encrypt-key on a plain backup: exit 2"
contains "$out" "is not encrypted: --new-settings encrypts it from now on" "and says how"
is "$(count_requests PUT)" 0 "nothing is uploaded"
out=$(p3 --encrypt-key "$K/one.pub" --new-settings --json "$bp" "$T/plain" 2>&1); st=$?
is "$st" 0 "with --new-settings: exit 0" || diag "$out"
contains "$out" '"uploaded":2,' "both files are uploaded, sealed"
awscli s3 cp "s3://$bp/p.txt" - 2>/dev/null | grep -q "$MARKER"
[ $? -ne 0 ]; ok $? "the plaintext object is replaced by a sealed one"

# A job file can hold the key (relative to the job file) and --compress.
mkdir -p "$T/job"
cp "$K/one.pub" "$T/job/backup.pub"
jb=$(new_bucket crypt-job)
printf '[job]\nbucket = %s\ndirectory = %s\nencrypt_key = backup.pub\ncompress = yes\n' \
    "$jb" "$src" > "$T/job/nightly.conf"
out=$(cd / && p3 --config "$T/job/nightly.conf" 2>&1); st=$?
is "$st" 0 "a job file with encrypt_key and compress: exit 0" || diag "$out"
stored=$(awscli s3api head-object --bucket "$jb" --key medium.txt \
    --query ContentLength --output text 2>/dev/null)
[ -n "$stored" ] && [ "$stored" -lt $(( $(stat -c %s "$src/medium.txt") / 10 )) ]
ok $? "the job's objects are encrypted and compressed ($stored bytes)"

# kill_after_parts N BUCKET: an encrypted backup of $src, killed -9 once
# N parts are in, counted from here on (and the last ones settled).
kill_after_parts() {
	local pid
	mark_requests
	"$P3BACKUP" --no-progress -j 2 --multipart-threshold 8M --part-size 5M \
	    --encrypt-key "$K/one.pub" "$2" "$src" >/dev/null 2>&1 &
	pid=$!
	wait_requests "$1" 30 PUT 'partNumber='
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	settle_requests
}

# An encrypted multipart upload killed half-way resumes and decrypts.
b3=$(new_bucket crypt-mp)
rm -rf "$src/sub dir" "$src/medium.txt"
head -c $((40 * 1024 * 1024)) /dev/urandom > "$src/big.bin"
kill_after_parts 4 "$b3"
first=$(count_requests PUT 'partNumber=')
[ "$first" -ge 4 ] && [ "$first" -lt 8 ]; ok $? "killed after $first of 8 parts"
ls "$HOME/.local/state/p3backup/"*.journal >/dev/null 2>&1; ok $? "a journal survives the kill"
[ "$(stat -c %a "$HOME/.local/state/p3backup/"*.journal 2>/dev/null)" = 600 ]
ok $? "the journal, holding the data key, is mode 0600"
mark_requests
out=$(p3 -v --encrypt-key "$K/one.pub" "$b3" "$src" 2>&1); st=$?
is "$st" 0 "the re-run exits 0" || diag "$out"
contains "$out" "resuming an interrupted upload" "the re-run resumes"
again=$(count_requests PUT 'partNumber=')
[ "$again" -lt 8 ]; ok $? "it sends only the missing parts ($again)"
out=$(p3 --restore --decrypt-key "$K/one.pem" "$b3" "$T/backmp" 2>&1); st=$?
is "$st" 0 "restore of the resumed object exits 0" || diag "$out"
cmp -s "$src/big.bin" "$T/backmp/big.bin"; ok $? "and it decrypts to the file"
aws --endpoint-url "$S3_DIRECT" s3 cp "s3://$b3/big.bin" "$T/big.obj" \
    >/dev/null 2>&1 &&
    python3 "$top_srcdir/tests/crypt_ref.py" decrypt "$K/one.pem" big.bin \
    "$T/big.obj" "$T/ref.bin" >/dev/null 2>&1 &&
    cmp -s "$src/big.bin" "$T/ref.bin"
ok $? "the reference decryptor (doc/encryption.md) reads it too"

# Killed again, then the file changes without changing size or mtime:
# resuming would seal new plaintext under the old data key and nonces
# (fatal for GCM).  The resumed run must give that upload up without
# sending a part, and the run after it start again with a new key.
b4=$(new_bucket crypt-reseal)
kill_after_parts 3 "$b4"
touch -r "$src/big.bin" "$T/stamp"
printf 'CHANGED-IN-PLACE' | dd of="$src/big.bin" bs=1 seek=10 conv=notrunc 2>/dev/null
touch -r "$T/stamp" "$src/big.bin"
mark_requests
out=$(p3 -v --encrypt-key "$K/one.pub" "$b4" "$src" 2>&1); st=$?
is "$st" 1 "resuming after an in-place change: exit 1"
contains "$out" "changed since an interrupted upload although its size and mtime did not" \
    "and says why"
is "$(count_requests PUT 'partNumber=')" 0 "no part is sealed again under the old key" ||
    diag "$(tail -n +$((REQMARK + 1)) "$REQLOG")"
ls "$HOME/.local/state/p3backup/"*.journal >/dev/null 2>&1
[ $? -ne 0 ]; ok $? "the journal is dropped"
out=$(p3 --encrypt-key "$K/one.pub" "$b4" "$src" 2>&1); st=$?
is "$st" 0 "the next run exits 0" || diag "$out"
out=$(p3 --restore --decrypt-key "$K/one.pem" "$b4" "$T/backre" 2>&1); st=$?
cmp -s "$src/big.bin" "$T/backre/big.bin"; ok $? "and its object decrypts to the changed file"

finish
