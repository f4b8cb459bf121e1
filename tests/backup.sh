#!/bin/bash
# Incremental backup end to end against s3rver, read back with the AWS
# CLI and rclone, with requests counted by the test proxy.
. "${top_srcdir:-.}/tests/lib.sh"

s3rver_start
p3() { "$P3BACKUP" --no-progress "$@"; }
# User objects only: p3backup's own index lives under .p3backup/.
user_puts() {
	tail -n +$((REQMARK + 1)) "$REQLOG" | awk -F '\t' '$1 == "PUT"' |
	    grep -v '/\.p3backup/' | grep -c "^PUT	/$1/[^	?]"
}

# A tree with every awkward name the issue lists.
src=$T/src
mkdir -p "$src/a/b/c" "$src/empty dir with spaces" "$src/ü日本/€"
echo "top" > "$src/top.txt"
: > "$src/empty file"
echo "nested" > "$src/a/b/c/deep.bin"
head -c 70000 /dev/urandom > "$src/a/random.bin"
head -c 2000000 /dev/urandom > "$src/a/b/big.bin"
echo "unicode" > "$src/ü日本/€/naïve café.txt"
for n in "sp ace" "plus+sign" "eq=ual" "amp&x" "semi;colon" "com,ma" \
    "at@x" 'dollar$x' "bang!x" "quote'x" "paren(x)" "brack[x]" \
    "tilde~x" "hash#x" "pct%41" "q?x"; do
	echo "$n" > "$src/$n"
done
expected_keys() {
	(cd "$src" && find . -type f | sed 's|^\./||'
	 cd "$src" && find . -mindepth 1 -type d -empty | sed 's|^\./||; s|$|/|') |
	    LC_ALL=C sort
}
listed_keys() {
	awscli s3api list-objects-v2 --bucket "$1" --query 'Contents[].Key' \
	    --output json | python3 -c 'import json,sys
for k in json.load(sys.stdin) or []:
    if not k.startswith(".p3backup/"): print(k)' | LC_ALL=C sort
}

# aws s3 sync compares mtimes with LastModified, which has whole
# seconds: let the tree's mtimes fall in an earlier second than the upload.
sleep 1
b=$(new_bucket backup)
mark_requests
out=$(p3 "$b" "$src" 2>"$T/err"); st=$?
is "$st" 0 "first backup exits 0"
nfiles=$(expected_keys | wc -l)
contains "$out" "uploaded $nfiles " "summary counts $nfiles uploads"
is "$(listed_keys "$b")" "$(expected_keys)" "the AWS CLI lists exactly the tree's keys"
is "$(user_puts "$b")" "$nfiles" "one PUT per file and empty directory (server side)" || diag "$(tail -n +$((REQMARK + 1)) "$REQLOG")"
is "$(count_requests HEAD)" 1 "one HEAD (the bucket), none per file"

# Content read back byte for byte, by an independent client.
mkdir -p "$T/back"
awscli s3 sync "s3://$b" "$T/back" --exclude '.p3backup/*' >/dev/null 2>&1
# The AWS CLI makes no directory for a "dir/" marker; the marker itself
# is checked just below.
mkdir -p "$T/back/empty dir with spaces"
diff -r "$src" "$T/back" >"$T/diff" 2>&1; ok $? "downloaded tree equals the source"
[ -s "$T/diff" ] && diag "$(head -5 "$T/diff")"
sz=$(awscli s3api head-object --bucket "$b" --key "empty dir with spaces/" \
    --query ContentLength --output text)
is "$sz" 0 "empty directory stored as a zero-byte marker"

# mtimes as rclone stores and reads them.
export RCLONE_CONFIG_T_TYPE=s3 RCLONE_CONFIG_T_PROVIDER=Other \
    RCLONE_CONFIG_T_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID RCLONE_CONFIG_T_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY \
    RCLONE_CONFIG_T_ENDPOINT=$S3_ENDPOINT RCLONE_CONFIG_T_REGION=us-east-1
touch -d '2021-03-04 05:06:07.123456789' "$src/top.txt"
echo "new-mtime" > "$src/mt.txt"; touch -d '2019-12-31 23:59:58' "$src/mt.txt"
p3 --mtime "$b" "$src" >/dev/null 2>&1
line=$(env -u AWS_CA_BUNDLE rclone lsl "T:$b/top.txt" 2>/dev/null)
contains "$line" "2021-03-04 05:06:07.123456789" "rclone reads the file's mtime (ns)"
line=$(env -u AWS_CA_BUNDLE rclone lsl "T:$b/mt.txt" 2>/dev/null)
contains "$line" "2019-12-31 23:59:58.000000000" "rclone reads a whole-second mtime"
mt=$(awscli s3api head-object --bucket "$b" --key top.txt \
    --query Metadata.mtime --output text)
is "$mt" "1614834367.123456789" "x-amz-meta-mtime in rclone's format"
out=$(awscli s3 sync "$src" "s3://$b" --dryrun 2>&1)
is "$out" "" "aws s3 sync --dryrun has nothing to do after p3backup"

# Second run on an unchanged tree: nothing uploaded.
mark_requests
out=$(p3 "$b" "$src" 2>&1); st=$?
is "$st" 0 "no-op run exits 0"
is "$(count_uploads)" 0 "no-op run: no PUT at all (server side)"
contains "$out" "uploaded 0 " "no-op run reports 0 uploads"

# Append to one file, add one: exactly two uploads.
echo "more" >> "$src/a/b/c/deep.bin"
echo "added" > "$src/a/added.txt"
mark_requests
out=$(p3 -v "$b" "$src" 2>&1); st=$?
is "$st" 0 "incremental run exits 0"
is "$(user_puts "$b")" 2 "append + add: exactly 2 uploads (server side)"
contains "$out" "upload a/added.txt" "-v names the new file"

# Same size, new content, another mtime: --size-only skips it, the
# default (size and the stored mtime, from the index) sends it.
printf 'TOP\n' > "$src/top.txt"
touch -d '2022-01-01 00:00:00' "$src/top.txt"
mark_requests
p3 --size-only "$b" "$src" >/dev/null 2>&1
is "$(user_puts "$b")" 0 "--size-only: a same-size change is skipped"
out=$(p3 -n "$b" "$src" 2>&1)
contains "$out" "would upload (mtime) top.txt" "the plan names the reason: mtime"
mark_requests
p3 "$b" "$src" >/dev/null 2>&1; st=$?
is "$st" 0 "default: the run with a same-size change exits 0"
is "$(user_puts "$b")" 1 "default: a same-size change with another mtime is uploaded"
is "$(count_requests HEAD '/top\.txt	')" 0 "the stored mtime came from the index: no HEAD"
awscli s3 cp "s3://$b/top.txt" "$T/top.back" >/dev/null 2>&1
cmp -s "$src/top.txt" "$T/top.back"; ok $? "the new content is stored"

# --mtime on an unchanged tree: no HEAD per file, no PUT.
mark_requests
p3 --mtime "$b" "$src" >/dev/null 2>&1; st=$?
is "$st" 0 "--mtime no-op exits 0"
is "$(count_requests HEAD)" 1 "--mtime no-op: only the bucket HEAD"
is "$(count_uploads)" 0 "--mtime no-op: no PUT"

# A stale index never hides a change: rewrite an object behind our back
# (same size, other content) and the index must not vouch for it.
printf 'XYZ\n' > "$T/other"
awscli s3 cp "$T/other" "s3://$b/top.txt" >/dev/null 2>&1
mark_requests
p3 --mtime "$b" "$src" >/dev/null 2>&1
is "$(count_requests HEAD '/top\.txt	')" 1 "an object changed behind our back is asked with HEAD"
is "$(user_puts "$b")" 1 "and re-uploaded (it has no stored mtime)"

# An object without a stored mtime (another tool wrote it): by default
# the file goes up only when it is newer than the object's LastModified,
# and nothing is asked per object.
printf 'foreign\n' > "$src/foreign.txt"
awscli s3 cp "$src/foreign.txt" "s3://$b/foreign.txt" >/dev/null 2>&1
touch -d '2020-01-01 00:00:00' "$src/foreign.txt"
mark_requests
p3 "$b" "$src" >/dev/null 2>&1; st=$?
is "$st" 0 "foreign object, older file: exit 0"
is "$(user_puts "$b")" 0 "foreign object newer than its file: left alone"
is "$(count_requests HEAD '/foreign\.txt	')" 0 "and not asked with HEAD"
touch -d "@$(($(date +%s) + 120))" "$src/foreign.txt"
out=$(p3 -n "$b" "$src" 2>&1)
contains "$out" "would upload (mtime) foreign.txt" "named as an mtime change"
mark_requests
p3 "$b" "$src" >/dev/null 2>&1
is "$(user_puts "$b")" 1 "file newer than the foreign object's LastModified: uploaded"
mark_requests
p3 "$b" "$src" >/dev/null 2>&1
is "$(user_puts "$b")" 0 "once uploaded, its stored mtime matches: no upload"
rm "$src/foreign.txt"
awscli s3 rm "s3://$b/foreign.txt" >/dev/null 2>&1

# --size-only contradicts --mtime and --checksum: exit 2.
p3 --size-only --mtime "$b" "$src" >/dev/null 2>"$T/err"; st=$?
is "$st" 2 "--size-only --mtime: exit 2"
contains "$(cat "$T/err")" "--size-only and --mtime" "the message names both"
p3 --checksum --size-only "$b" "$src" >/dev/null 2>&1
is "$?" 2 "--checksum --size-only: exit 2"

# --dry-run changes nothing anywhere.
echo "dry" > "$src/dry.txt"
mark_requests
out=$(p3 --dry-run "$b" "$src" 2>&1); st=$?
is "$st" 0 "--dry-run exits 0"
contains "$out" "would upload (new) dry.txt" "--dry-run prints the plan"
is "$(count_requests PUT)" 0 "--dry-run: no PUT"
nb=$(new_bucket dryrun)
p3 --dry-run "$nb" "$src" >/dev/null 2>&1
awscli s3api head-bucket --bucket "$nb" >/dev/null 2>&1
[ $? -ne 0 ]; ok $? "--dry-run creates no bucket"

# --json: one object with every field.
out=$(p3 --json "$b" "$src" 2>/dev/null)
echo "$out" | python3 -c 'import json,sys
o=json.load(sys.stdin)
need=["bucket","scanned","uploaded","uploaded_bytes","skipped","deleted","tagged","downloaded","failed","elapsed_seconds"]
missing=[k for k in need if k not in o]
assert not missing, missing
assert all(isinstance(o[k],(int,float)) for k in need if k!="bucket")
assert o["uploaded"]==1 and o["failed"]==0, o'
ok $? "--json prints one object with every field ($out)"

# --json is the only thing on stdout, whatever else is asked: -v and -n
# lines go to stderr; a dry run counts what it would do.
echo "json1" > "$src/json1.txt"
echo "json22" > "$src/json2.txt"
mark_requests
p3 --json -v -n "$b" "$src" >"$T/out" 2>"$T/err"; st=$?
is "$st" 0 "--json -v -n exits 0"
python3 - "$T/out" <<'PY'
import json, sys
o = json.loads(open(sys.argv[1]).read())
assert o["dry_run"] is True and o["uploaded"] == 2 and o["uploaded_bytes"] == 13, o
assert o["exit_code"] == 0 and o["error"] is None, o
PY
ok $? "stdout is one JSON object: dry_run true, uploaded 2 (planned), 13 bytes"
contains "$(cat "$T/err")" "would upload (new) json1.txt" "the plan went to stderr"
is "$(count_requests PUT)" 0 "the dry run sent no PUT"
p3 --json -n >"$T/out" 2>"$T/err"
python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["bucket"].startswith("p3backup-"), o' "$T/out"
ok $? "a dry run to a generated bucket: stdout is JSON alone"
contains "$(cat "$T/err")" "would create bucket p3backup-" "would create bucket went to stderr"
rm "$src/json1.txt" "$src/json2.txt"

# --json and errors: usage (2) and fatal (3) still end in one object
# on stdout that holds the error; stderr has it too.
p3 --jobs 0 --json "$b" "$src" >"$T/out" 2>"$T/err"; st=$?
is "$st" 2 "--json with a usage error: exit 2"
python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["exit_code"]==2 and "--jobs" in o["error"] and o["bucket"] is None, o' "$T/out"
ok $? "the JSON names the usage error ($(cat "$T/out"))"
contains "$(cat "$T/err")" "--jobs" "stderr has it too"
p3 --json --endpoint-url http://127.0.0.1:1 --retries 0 "$b" "$src" >"$T/out" 2>/dev/null; st=$?
is "$st" 3 "--json with an unreachable endpoint: exit 3"
python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["exit_code"]==3 and "cannot connect to http://127.0.0.1:1" in o["error"], o' "$T/out"
ok $? "the JSON holds the fatal error ($(cat "$T/out"))"

# --prefix: keys (and the index) go under P/; other keys are untouched.
mark_requests
out=$(p3 --prefix "/my prefix/sub/" "$b" "$src" 2>&1); st=$?
is "$st" 0 "--prefix run exits 0"
n=$(awscli s3api list-objects-v2 --bucket "$b" --prefix "my prefix/sub/" \
    --query 'Contents[].Key' --output json | python3 -c 'import json,sys
ks=json.load(sys.stdin)
print(len([k for k in ks if not k.startswith("my prefix/sub/.p3backup/")]))')
is "$n" "$(expected_keys | wc -l)" "every file stored under the prefix"
awscli s3api head-object --bucket "$b" --key "my prefix/sub/.p3backup/index" >/dev/null 2>&1
ok $? "the prefix has its own index"
mark_requests
p3 --prefix "my prefix/sub" "$b" "$src" >/dev/null 2>&1
is "$(count_uploads)" 0 "a second --prefix run uploads nothing"
# s3://BUCKET/PREFIX, as the AWS CLI writes it, is BUCKET --prefix PREFIX.
mark_requests
p3 "s3://$b/my prefix/sub/" "$src" >/dev/null 2>&1; st=$?
is "$st" 0 "s3://BUCKET/PREFIX/ exits 0"
is "$(count_uploads)" 0 "it is the same backup as --prefix: nothing to upload"
out=$(p3 --prefix x "s3://$b/my prefix" "$src" 2>&1); st=$?
is "$st" 2 "s3://BUCKET/PREFIX with --prefix: exit 2"
contains "$out" "names a prefix, and so does --prefix" "the contradiction is named"
mark_requests
out=$(p3 "$b/my prefix" "$src" 2>&1); st=$?
is "$st" 2 "BUCKET/PREFIX without s3://: exit 2"
contains "$out" "write s3://$b/my prefix, or $b --prefix my prefix)" "the hint names both ways"
is "$(wc -l < "$REQLOG")" "$REQMARK" "and no request is sent"

# -q prints nothing on success; --progress draws a progress line.
# (s3rver keeps no versions, which p3backup says even with -q:
# tests/versioning.sh; --no-versioning accepts that.)
echo "q" > "$src/q.txt"
out=$(p3 -q --no-versioning "$b" "$src" 2>&1); st=$?
is "$st" 0 "-q run exits 0"
is "$out" "" "-q prints nothing when all is well"
echo "p" > "$src/p.txt"
err=$("$P3BACKUP" --progress "$b" "$src" 2>&1 >/dev/null)
contains "$err" "1/1 files" "--progress draws files done/total on stderr"

# Odd things in the tree: a FIFO is skipped with a note (exit 0), never
# opened; a symlink is stored as a link (tests/links.sh); an unreadable
# file fails alone (exit 1).
odd=$T/odd
mkdir -p "$odd/sub"
echo "fine" > "$odd/fine.txt"
echo "target" > "$odd/sub/target.txt"
mkfifo "$odd/a fifo"
ln -s sub/target.txt "$odd/link.txt"
bo=$(new_bucket odd)
out=$(timeout 60 "$P3BACKUP" --no-progress "$bo" "$odd" 2>&1); st=$?
is "$st" 0 "FIFO and symlink in the tree: exit 0 (skipped, not failed)"
contains "$out" "a fifo: FIFO, skipped" "the FIFO is reported"
case $out in *link.txt*) false ;; *) true ;; esac
ok $? "the symlink is no note: it is backed up as a link"
contains "$out" "left out 1 (special files)" "the summary counts the FIFO"
out=$(timeout 60 "$P3BACKUP" --no-progress -q --no-versioning "$bo" "$odd" 2>&1); st=$?
is "$st" 0 "-q over the same tree: exit 0"
is "$out" "" "-q prints not even the notes"
out=$("$P3BACKUP" -q -v "$bo" "$odd" 2>&1); st=$?
is "$st" 2 "-q -v: exit 2"
contains "$out" "-q and -v cannot be used together" "...saying why"
is "$(listed_keys "$bo" | tr '\n' ' ')" "fine.txt link.txt.rclonelink sub/target.txt " \
    "regular files and the link stored"
out=$(timeout 60 "$P3BACKUP" --no-progress --follow-symlinks "$bo" "$odd" 2>&1); st=$?
is "$st" 0 "--follow-symlinks: exit 0"
awscli s3 cp "s3://$bo/link.txt" "$T/link.back" >/dev/null 2>&1
cmp -s "$odd/sub/target.txt" "$T/link.back"; ok $? "--follow-symlinks stores the target's content"

if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	rm -f "$odd/a fifo" "$odd/link.txt"
	echo "secret" > "$odd/unreadable.txt"
	chmod 000 "$odd/unreadable.txt"
	chmod 755 "$T" "$odd" "$odd/sub"
	chmod 644 "$odd/fine.txt" "$odd/sub/target.txt"
	bu=$(new_bucket unreadable)
	mkdir -m 777 "$T/state.nobody"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
	    env HOME=/nonexistent XDG_STATE_HOME="$T/state.nobody" \
	    "$(nobody_binary)" --no-progress "$bu" "$odd" 2>&1); st=$?
	is "$st" 1 "an unreadable file (as an unprivileged user): exit 1"
	contains "$out" "unreadable.txt: Permission denied" "the unreadable file is named with the cause"
	contains "$out" "failed 1" "it is counted as failed"
	is "$(listed_keys "$bu" | tr '\n' ' ')" "fine.txt sub/target.txt " "the rest is backed up, the failed file is not"
	# A state directory the user cannot write (a read-only home under
	# systemd, say): every run that would upload stops before any PUT.
	chmod 644 "$odd/unreadable.txt"
	echo "new" > "$odd/new.txt"
	chmod 644 "$odd/new.txt"
	mark_requests
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
	    env HOME=/nonexistent "$(nobody_binary)" --no-progress "$bu" "$odd" 2>&1); st=$?
	is "$st" 2 "an unwritable state directory: exit 2"
	contains "$out" "state directory /nonexistent/.local/state/p3backup: Permission denied (it holds the resume journals" \
	    "the message names the directory, the cause and what it is for"
	contains "$out" "set XDG_STATE_HOME to a writable directory" "and how to move it"
	is "$(count_requests PUT)" 0 "no file is uploaded, small ones neither"
else
	skip 8 "needs root and setpriv to drop privileges"
fi
# The same without privileges to drop: the state directory's parent is
# a file.
: > "$T/notadir"
echo "more" > "$src/more.txt"
mark_requests
out=$(XDG_STATE_HOME="$T/notadir" p3 "$b" "$src" 2>&1); st=$?
is "$st" 2 "a state directory that cannot be made: exit 2"
contains "$out" "state directory $T/notadir/p3backup: Not a directory" "it is named with the cause"
is "$(count_requests PUT)" 0 "and nothing is uploaded"
out=$(XDG_STATE_HOME="$T/notadir" p3 -n "$b" "$src" 2>&1); st=$?
is "$st" 0 "a dry run does not need it"
rm "$src/more.txt"

# Generated bucket names: bare p3backup in a directory, and "default".
before=$(awscli s3api list-buckets --query 'Buckets[].Name' --output text | tr '\t' '\n' | sort)
mkdir -p "$T/dir with spaces"; echo x > "$T/dir with spaces/f.txt"
out=$(cd "$T/dir with spaces" && p3 2>&1); st=$?
is "$st" 0 "bare p3backup exits 0"
name=$(printf '%s\n' "$out" | sed -n 's/^bucket: //p')
[[ "$name" =~ ^p3backup-[0-1][0-9]-[0-3][0-9]-[0-9][0-9]-[0-2][0-9][0-5][0-9][0-6][0-9]$ ]]
ok $? "generated name $name has the form p3backup-MM-DD-YY-HHMMSS"
is "$(awscli s3 ls "s3://$name/f.txt" | awk '{print $4}')" "f.txt" "the new bucket holds the file"
sleep 1
out=$(p3 default "$T/dir with spaces" 2>&1); st=$?
is "$st" 0 "p3backup default DIR exits 0"
name2=$(printf '%s\n' "$out" | sed -n 's/^bucket: //p')
[ -n "$name2" ] && [ "$name2" != "$name" ]; ok $? "\"default\" generates a second name ($name2)"
after=$(awscli s3api list-buckets --query 'Buckets[].Name' --output text | tr '\t' '\n' | sort)
# (Other scripts share a Ceph RGW: count only generated names.)
is "$(comm -13 <(echo "$before") <(echo "$after") | grep -c '^p3backup-')" 2 \
    "exactly two buckets were created"

# A generated name is always a new bucket: when it is taken (another
# run of the same second), the next one, NAME-2.
# From the next second on: the runs above named buckets after this one.
t=$(($(date +%s) + 1))
for i in 0 1 2 3 4 5; do
	"$S3TOOL" mb "$(date -d "@$((t + i))" +p3backup-%m-%d-%y-%H%M%S)" >/dev/null 2>&1
done
while [ "$(date +%s)" -lt "$t" ]; do sleep 0.1; done
out=$(cd "$T/dir with spaces" && p3 2>&1); st=$?
is "$st" 0 "bare p3backup when its name is taken: exit 0"
name3=$(printf '%s\n' "$out" | sed -n 's/^bucket: //p')
[[ "$name3" =~ ^p3backup-[0-9-]{15}-2$ ]]; ok $? "it takes the next name ($name3)"
is "$(awscli s3 ls "s3://${name3%-2}" | wc -l)" 0 "the bucket of that name is left untouched"
is "$(awscli s3 ls "s3://$name3/f.txt" | awk '{print $4}')" "f.txt" "the new one holds the file"

# The claim's answers as AWS gives them (through the proxy): 412, another
# run won: the next name; 409, a write raced ours: asked again.
extra_proxy claim --claim-answers 412,409
out=$(cd "$T/dir with spaces" && "$P3BACKUP" --no-progress \
    --endpoint-url "$HP_URL" 2>&1); st=$?
is "$st" 0 "a claim answered 412: exit 0"
name4=$(printf '%s\n' "$out" | sed -n 's/^bucket: //p')
[[ "$name4" =~ ^p3backup-[0-9-]{15}-[0-9]+$ ]]; ok $? "it moves on to a next name ($name4)"
is "$(grep -c 'PUT	/[^	]*/\.p3backup/claim	' "$HP_LOG")" 3 \
    "the claim was sent three times: 412, 409, then 200"
is "$(awscli s3 ls "s3://$name4/f.txt" | awk '{print $4}')" "f.txt" "the claimed bucket holds the file"
extra_proxy_stop

# Two runs racing for one name: both get 200 from CreateBucket (a
# bucket of ours), but only one wins the claim (a PUT with
# If-None-Match: *), and the other takes the next name.  Each round
# starts both within the same second where it can.  s3rver ignores
# If-None-Match, so there the race is not decided.
if on_s3rver; then
	skip 3 "s3rver ignores If-None-Match: the claim cannot decide a race"
else
for round in 1 2 3; do
	while [ "$(date +%N | cut -c1)" -gt 2 ]; do sleep 0.05; done
	(cd "$T/dir with spaces" && p3 >"$T/race1" 2>&1) & p1=$!
	(cd "$T/dir with spaces" && p3 >"$T/race2" 2>&1) & p2=$!
	wait "$p1"; s1=$?; wait "$p2"; s2=$?
	n1=$(sed -n 's/^bucket: //p' "$T/race1")
	n2=$(sed -n 's/^bucket: //p' "$T/race2")
	[ "$s1" -eq 0 ] && [ "$s2" -eq 0 ] && [ -n "$n1" ] && [ "$n1" != "$n2" ]
	ok $? "round $round: two racing runs, two buckets ($n1, $n2; exit $s1, $s2)"
done
fi

finish
