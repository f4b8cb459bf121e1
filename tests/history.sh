#!/bin/bash
# The run log: every backup run that reaches the upload stage writes
# [PREFIX/].p3backup/runs/RUNID.json, and --history lists the runs,
# oldest first (--json: an array of the run objects).  Dry runs,
# restores and runs that stop before the upload stage write none.  The
# same on Ceph RGW (make check-ceph).
. "${top_srcdir:-.}/tests/lib.sh"

s3rver_start
p3() { "$P3BACKUP" --no-progress "$@"; }
runs() {
	awscli s3api list-objects-v2 --bucket "$1" --prefix "${2:-}.p3backup/runs/" \
	    --query 'Contents[].Key' --output text 2>/dev/null | tr '\t' '\n' |
	    grep -v '^None$'
}
idform='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z-[0-9a-f]{8}$'

src=$T/src
mkdir -p "$src"
echo one > "$src/a.txt"
echo two > "$src/b.txt"
b=$(new_bucket history)

# No run yet: an empty history is no error.
awscli s3 mb "s3://$b" >/dev/null 2>&1
out=$(p3 --history "$b" 2>"$T/err"); st=$?
is "$st" 0 "--history of a bucket without runs exits 0"
is "$out" "" "and prints nothing on stdout"
contains "$(cat "$T/err")" "no runs recorded in s3://$b/.p3backup/runs/" "saying so on stderr"
is "$(p3 --history --json "$b" 2>/dev/null)" "[]" "--json: an empty array"

before=$(date -u +%s)
p3 "$b" "$src" >/dev/null 2>&1; st1=$?
echo changed > "$src/a.txt"
p3 "$b" "$src" >/dev/null 2>&1; st2=$?
after=$(date -u +%s)
is "$st1.$st2" "0.0" "two backups exit 0"
keys=$(runs "$b")
is "$(echo "$keys" | grep -c .)" 2 "two run objects under .p3backup/runs/"
ids=$(echo "$keys" | sed 's|^\.p3backup/runs/||; s|\.json$||')
is "$(echo "$ids" | grep -Ec "$idform")" 2 "named YYYY-MM-DDTHH:MM:SSZ-XXXXXXXX.json ($(echo $ids))"
# Two runs may start in the same second: --history orders by start.
hj=$(p3 --history --json "$b")
id1=$(echo "$hj" | jq -r '.[0].run_id')
id2=$(echo "$hj" | jq -r '.[1].run_id')
is "$(echo "$ids" | LC_ALL=C sort | tr '\n' ' ')" "$(printf '%s\n' "$id1" "$id2" | LC_ALL=C sort | tr '\n' ' ')" \
    "the run objects are named after the run ids"
t1=$(date -u -d "$(echo "$id1" | cut -c1-19)" +%s)
[ "$t1" -ge "$before" ] && [ "$t1" -le "$after" ]
ok $? "the run id is the start in UTC ($id1, between $before and $after)"

out=$(p3 --history "$b" 2>"$T/err"); st=$?
is "$st" 0 "--history exits 0"
is "$(echo "$out" | wc -l)" 3 "a header line and one line per run"
is "$(echo "$out" | sed -n 1p | awk '{print $1, $2, $3, $4, $5}')" "RUN STARTED CHANGED BYTES STATUS" "the header names the columns"
is "$(echo "$out" | sed -n '2p;3p' | awk '{print $1}' | tr '\n' ' ')" "$id1 $id2 " "oldest first"
local1=$(date -d "@$t1" '+%Y-%m-%d %H:%M:%S')
contains "$(echo "$out" | sed -n 2p)" "$id1  $local1" "the start in local time"
is "$(echo "$out" | sed -n 2p | awk '{print $4, $5, $6, $7}')" "2 8 B ok" "first run: 2 files changed, 8 bytes, ok"
is "$(echo "$out" | sed -n 3p | awk '{print $4, $5, $6, $7}')" "1 8 B ok" "second run: 1 file changed, 8 bytes, ok"
is "$(cat "$T/err")" "" "nothing on stderr"

json=$(p3 --history --json "$b")
is "$(echo "$json" | jq -r 'length')" 2 "--json: an array of both runs"
is "$(echo "$json" | jq -r '.[1].run_id')" "$id2" "run_id"
is "$(echo "$json" | jq -r '.[0] | [.uploaded, .uploaded_bytes, .skipped, .scanned, .exit_code, .status] | join(" ")')" \
    "2 8 0 2 0 ok" "the --json summary's counts, exit code and status (the first run first)"
[[ "$(echo "$json" | jq -r '.[0].start')" < "$(echo "$json" | jq -r '.[1].start')" ]]
ok $? "starts to the millisecond, in order ($(echo "$json" | jq -r '.[0].start'))"
is "$(echo "$json" | jq -r '.[1] | [.uploaded, .skipped] | join(" ")')" "1 1" "the second run uploaded 1, skipped 1"
is "$(echo "$json" | jq -r '.[0].directory')" "$(realpath "$src")" "directory: the real path"
is "$(echo "$json" | jq -r '.[0].host')" "$(hostname)" "host"
is "$(echo "$json" | jq -r '.[0].version')" "p3backup $("$P3BACKUP" --version | awk '{print $2}')" "version"
is "$(echo "$json" | jq -r '.[0].prefix')" "null" "prefix: null without --prefix"
is "$(echo "$json" | jq -r '.[0].bucket')" "$b" "bucket"
s=$(date -u -d "$(echo "$json" | jq -r '.[1].start')" +%s)
e=$(date -u -d "$(echo "$json" | jq -r '.[1].end')" +%s)
[ "$s" -ge "$before" ] && [ "$e" -ge "$s" ] && [ "$e" -le "$after" ]
ok $? "start and end are UTC times within the run"

# An unchanged tree: the run log costs one PUT.
mark_requests
p3 "$b" "$src" >/dev/null 2>&1
is "$(count_requests PUT)" 1 "an unchanged tree: one PUT, the run log's"
is "$(count_requests PUT '/\.p3backup/runs/')" 1 "which is the run log object"
is "$(runs "$b" | grep -c .)" 3 "a third run object"

# A versioned backup costs today's requests plus a constant: one
# GetBucketVersioning more than with --no-versioning (both write the
# run log).
mark_requests
p3 "$b" "$src" >/dev/null 2>&1
n1=$(tail -n +$((REQMARK + 1)) "$REQLOG" | wc -l)
mark_requests
p3 --no-versioning "$b" "$src" >/dev/null 2>&1
n2=$(tail -n +$((REQMARK + 1)) "$REQLOG" | wc -l)
is "$((n1 - n2))" 1 "versioning costs one request a run ($n1 against $n2)"

# What writes no run log: dry runs, restores, runs stopped early.
p3 -n "$b" "$src" >/dev/null 2>&1
p3 --restore "$b" "$T/restored" >/dev/null 2>&1; st=$?
is "$st" 0 "a restore exits 0"
is "$(runs "$b" | grep -c .)" 5 "a dry run and a restore write no run object"
[ ! -e "$T/restored/.p3backup" ]
ok $? "the run log is never restored as a file"
is "$(ls "$T/restored" | tr '\n' ' ')" "a.txt b.txt " "a restore gets the files only"
p3 --encrypt-key /nonexistent.pem "$b" "$src" >/dev/null 2>&1
is "$(runs "$b" | grep -c .)" 5 "a run that stops before the upload stage writes none"

# A run that ends with failures is recorded with its status.
rm "$src/a.txt" "$src/b.txt"
echo three > "$src/c.txt"
p3 --delete --max-delete 1 "$b" "$src" >/dev/null 2>&1; st=$?
is "$st" 1 "a run refusing --delete exits 1"
json=$(p3 --history --json "$b")
is "$(echo "$json" | jq -r '.[-1] | [.exit_code, .status, .uploaded] | join(" ")')" "1 partial 1" \
    "its run object says exit_code 1, status partial"
is "$(p3 --history "$b" | tail -1 | awk '{print $NF}')" partial "--history shows partial"

# --prefix: its own run log.
p3 --prefix host1/alice "$b" "$src" >/dev/null 2>&1
is "$(runs "$b" host1/alice/ | grep -c .)" 1 "--prefix: the run log under PREFIX/.p3backup/runs/"
is "$(p3 --history --prefix host1/alice "$b" | grep -c '  ok$')" 1 "--history --prefix lists that prefix's runs only"
is "$(p3 --history "s3://$b/host1/alice" --json | jq -r '.[0].prefix')" "host1/alice" "s3://BUCKET/PREFIX too, prefix recorded"
is "$(p3 --history "$b" | grep -c .)" 7 "the bucket's own history is unchanged (6 runs)"

# A run object that is not one: named, the others still listed, exit 1.
bad=".p3backup/runs/2020-01-01T00:00:00Z-00000000.json"
echo "not json" > "$T/bad"
awscli s3 cp "$T/bad" "s3://$b/$bad" >/dev/null 2>&1
awscli s3 cp "$T/bad" "s3://$b/.p3backup/runs/notarun.json" >/dev/null 2>&1
out=$(p3 --history "$b" 2>"$T/err"); st=$?
is "$st" 1 "an unreadable run object: exit 1"
contains "$(cat "$T/err")" "run 2020-01-01T00:00:00Z-00000000: not a run log object" "named with the cause"
is "$(echo "$out" | grep -c '  \(ok\|partial\)$')" 6 "the other runs are listed"
echo "$out" | grep -q notarun
is "$?" 1 "a key not named as a run is ignored"

# Usage errors.
p3 --history "$b" "$src" >/dev/null 2>"$T/err"; st=$?
is "$st" 2 "--history with a DIRECTORY: exit 2"
contains "$(cat "$T/err")" "--history takes no DIRECTORY" "saying why"
p3 --history --restore "$b" "$src" >/dev/null 2>"$T/err"; st=$?
is "$st" 2 "--history with --restore: exit 2"
p3 --history >/dev/null 2>"$T/err"; st=$?
is "$st" 2 "--history without BUCKET: exit 2"
contains "$(cat "$T/err")" "--history needs the BUCKET" "saying what is missing"
p3 --history "t-no-such-bucket-$$" >/dev/null 2>"$T/err"; st=$?
is "$st" 3 "--history of a missing bucket: exit 3"
contains "$(cat "$T/err")" "NoSuchBucket" "naming the cause"

finish
