#!/bin/bash
# Backup policies end to end: filters, storage class, --max-uploads and
# --report, each checked against what the server holds.
. "${top_srcdir:-.}/tests/lib.sh"

s3rver_start
p3() { "$P3BACKUP" --no-progress "$@"; }
keys_of() {
	awscli s3api list-objects-v2 --bucket "$1" --query 'Contents[].Key' \
	    --output json | python3 -c 'import json,sys
for k in json.load(sys.stdin) or []:
    if ".p3backup/" not in k: print(k)' | LC_ALL=C sort
}

# Filters: photos only, never tmp/.
src=$T/photos
mkdir -p "$src/2024/tmp" "$src/tmp/x" "$src/docs"
for f in a.jpg b.png c.txt 2024/d.jpg 2024/e.PNG 2024/tmp/f.jpg tmp/g.jpg \
    tmp/x/h.png docs/i.pdf docs/j.jpg; do
	echo "$f" > "$src/$f"
done
b=$(new_bucket filters)
out=$(p3 --include '*.jpg' --include '*.png' --exclude 'tmp/**' "$b" "$src" 2>&1); st=$?
is "$st" 0 "filtered backup exits 0"
is "$(keys_of "$b" | tr '\n' ' ')" "2024/d.jpg 2024/tmp/f.jpg a.jpg b.png docs/j.jpg " \
    "exactly the photos outside the top tmp/ are stored"
# --include docs, meant as the directory: a hint, and the two spellings
# it suggests keep the files under docs/.
out=$(p3 -n --include docs "$(new_bucket incdir)" "$src" 2>&1); st=$?
is "$st" 0 "--include DIR without a slash: exit 0"
contains "$out" "--include docs matched the directory docs but no file: for what is under it write --include 'docs/' (or 'docs/**')" \
    "a hint names the directory and both spellings"
for spelling in 'docs/' 'docs/**'; do
	out=$(p3 -n --include "$spelling" "$(new_bucket incdir)" "$src" 2>&1)
	contains "$out" "would upload (new) docs/j.jpg" "--include '$spelling' keeps the files under docs"
	case $out in *"matched the directory"*) false ;; *) true ;; esac
	ok $? "--include '$spelling': no hint"
done
out=$(p3 -n --include '*.jpg' "$(new_bucket incdir)" "$src" 2>&1)
case $out in *"matched the directory"*) false ;; *) true ;; esac
ok $? "an include that keeps files gets no hint"
printf '*.txt\n# a comment\n\ndocs/\n' > "$T/excludes"
b2=$(new_bucket exclfrom)
p3 --exclude-from "$T/excludes" "$b2" "$src" >/dev/null 2>&1
keys=$(keys_of "$b2")
case "$keys" in *c.txt*|*docs/*) ok 1 "--exclude-from leaves out *.txt and docs/"; diag "$keys" ;;
*) ok 0 "--exclude-from leaves out *.txt and docs/" ;; esac
contains "$keys" "tmp/x/h.png" "--exclude-from keeps the rest"

# Storage class: sent on every upload (HEAD shows it; s3rver's listing
# always says STANDARD).
b3=$(new_bucket sclass)
p3 --storage-class STANDARD_IA "$b3" "$src/docs" >/dev/null 2>&1
for k in i.pdf j.jpg; do
	sc=$(awscli s3api head-object --bucket "$b3" --key "$k" --query StorageClass --output text)
	is "$sc" "STANDARD_IA" "HEAD of $k reports STANDARD_IA"
done
mark_requests
err=$(p3 --storage-class standard_ia "$b3" "$src/docs" 2>&1); st=$?
is "$st" 2 "a storage class in the wrong case is refused: exit 2"
is "$(wc -l < "$REQLOG")" "$REQMARK" "and no request was sent"

# --max-uploads 5 of 20 new files, then the rest.
m=$T/many
mkdir -p "$m"
for i in $(seq -w 1 20); do echo "$i" > "$m/f$i"; done
b4=$(new_bucket maxup)
out=$(p3 --max-uploads 5 "$b4" "$m" 2>&1); st=$?
is "$st" 0 "--max-uploads run exits 0"
is "$(keys_of "$b4" | wc -l)" 5 "--max-uploads 5 stores exactly 5"
contains "$out" "deferred 15" "the summary says 15 remain"
out=$(p3 "$b4" "$m" 2>&1); st=$?
is "$(keys_of "$b4" | wc -l)" 20 "the next run stores the rest"

# --report: JSON lines that match the server.
echo "changed" > "$m/f01x"
p3 --report "$T/report.jsonl" "$b4" "$m" >/dev/null 2>&1
python3 - "$T/report.jsonl" > "$T/report.check" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
ups = [l for l in lines if l["action"] == "upload"]
skips = [l for l in lines if l["action"] == "skip"]
need = ["key", "action", "size", "mtime", "md5", "result", "error"]
assert all(all(k in l for k in need) for l in lines), "fields"
print(len(ups), len(skips), ups[0]["key"], ups[0]["result"], ups[0]["md5"], ups[0]["size"])
PY
read -r nup nskip ukey ures umd5 usize < "$T/report.check"
is "$nup $nskip $ukey $ures" "1 20 f01x ok" "--report: one upload (ok) and 20 skips"
etag=$(awscli s3api head-object --bucket "$b4" --key f01x --query ETag --output text | tr -d '"')
is "$umd5" "$etag" "--report's md5 is the server's ETag"
is "$usize" "$(stat -c %s "$m/f01x")" "--report's size is the file's"

finish
