#!/bin/bash
# Job files (--config FILE) end to end against s3rver: a backup described
# in an INI file and run with one short command from another directory,
# the command line overriding the job, and the lock that keeps two runs
# of one job from overlapping.  Results are read back with the AWS CLI.
. "${top_srcdir:-.}/tests/lib.sh"

s3rver_start

# The keys of bucket $1, p3backup's own objects left out, sorted.
listed_keys() {
	awscli s3api list-objects-v2 --bucket "$1" --query 'Contents[].Key' \
	    --output json | python3 -c 'import json,sys
for k in json.load(sys.stdin) or []:
    if "/.p3backup/" not in "/" + k: print(k)' | LC_ALL=C sort
}

# The job's lock file, computed as job.c does: lock-SHA256(realpath).
lock_path() {
	local real
	real=$(realpath "$1")
	echo "$HOME/.local/state/p3backup/lock-$(printf '%s' "$real" |
	    sha256sum | cut -c1-64)"
}

jobdir=$T/jobs
mkdir -p "$jobdir/src/sub"
echo "one" > "$jobdir/src/a.txt"
echo "two" > "$jobdir/src/sub/b.txt"
echo "noise" > "$jobdir/src/debug.log"
b=$(new_bucket jobs)
job=$jobdir/nightly.conf
cat > "$job" <<EOF
# The nightly backup of src/ (relative: next to this file).
[job]
bucket = $b
directory = src
prefix = /nightly/
exclude = *.log
endpoint_url = $S3_ENDPOINT
region = us-east-1
jobs = 2
mtime = yes
EOF

# From / and without AWS_ENDPOINT_URL: everything comes from the job.
out=$(cd / && env -u AWS_ENDPOINT_URL "$P3BACKUP" --config "$job" \
    --no-progress 2>"$T/err"); st=$?
is "$st" 0 "p3backup --config JOB exits 0"
[ "$st" -eq 0 ] || diag "$(cat "$T/err")"
is "$(listed_keys "$b" | tr '\n' ' ')" "nightly/a.txt nightly/sub/b.txt " \
    "the job's bucket, directory, prefix and exclude are used"
contains "$out" "uploaded 2 " "summary counts 2 uploads"

# Again: nothing to do (mtime = yes reads the index, changes nothing).
mark_requests
out=$(cd / && "$P3BACKUP" --config "$job" --no-progress 2>&1); st=$?
is "$st" 0 "second run of the job exits 0"
is "$(count_uploads)" 0 "second run: no PUT (server side)"

# getopt takes an unambiguous prefix of --config: so does the job
# loader (it used to ignore "--conf" and back up "." to a new bucket).
for spelling in "--conf $job" "--con=$job"; do
	out=$(cd / && "$P3BACKUP" $spelling -n --no-progress 2>&1); st=$?
	is "$st" 0 "p3backup ${spelling%%[ =]*} JOB -n: exit 0"
	contains "$out" "dry run: $b: scanned" "${spelling%%[ =]*}: the job's bucket is used"
done

# The command line overrides the job file.
out=$(cd / && "$P3BACKUP" --config "$job" --no-progress --prefix other \
    2>&1); st=$?
is "$st" 0 "--config JOB --prefix other exits 0"
is "$(listed_keys "$b" | grep -c '^other/')" 2 \
    "--prefix on the command line wins over the job's prefix"

# The way to compare: the command line's overrides the job's, and a
# job that says both size_only and mtime contradicts itself.
sed 's/^mtime = yes$/size_only = yes/' "$job" > "$jobdir/size.conf"
out=$(cd / && "$P3BACKUP" --config "$jobdir/size.conf" --mtime -n \
    --no-progress 2>&1); st=$?
is "$st" 0 "size_only = yes in the job, --mtime on the command line: exit 0"
# ...and a job's checksum does not survive a --size-only given there.
sed 's/^mtime = yes$/checksum = yes/' "$job" > "$jobdir/sum.conf"
out=$(cd / && "$P3BACKUP" --config "$jobdir/sum.conf" --size-only -n \
    --no-progress 2>&1); st=$?
is "$st" 0 "checksum = yes in the job, --size-only on the command line: exit 0 ($out)"
printf 'mtime = yes\n' >> "$jobdir/size.conf"
err=$(cd / && "$P3BACKUP" --config "$jobdir/size.conf" -n --no-progress 2>&1); st=$?
is "$st" 2 "size_only = yes and mtime = yes in one job: exit 2"
contains "$err" "$jobdir/size.conf: size_only and mtime contradict" "the file and the contradiction are named"

# A value with what looks like a comment after it ("#" is part of the
# value in INI): the file and line named, with the hint.
printf '[job]\nbucket = %s # nightly\ndirectory = src\n' "$b" > "$jobdir/cm1.conf"
err=$("$P3BACKUP" --config "$jobdir/cm1.conf" -n --no-progress 2>&1); st=$?
is "$st" 2 "bucket = NAME # comment: exit 2"
contains "$err" "$jobdir/cm1.conf:2: bucket: \"$b # nightly\"" "the file, line and value named"
contains "$err" "a comment goes on a line of its own" "with the hint"
printf '[job]\nbucket = %s\ndirectory = src ; the tree\n' "$b" > "$jobdir/cm2.conf"
err=$("$P3BACKUP" --config "$jobdir/cm2.conf" -n --no-progress 2>&1); st=$?
is "$st" 2 "directory = PATH ; comment: exit 2"
contains "$err" "$jobdir/cm2.conf:3: directory $jobdir/src ; the tree: no such directory (a comment" \
    "the file and line of the directory named, with the hint"
printf '[job]\nbucket = %s\ndirectory = nowhere\n' "$b" > "$jobdir/cm3.conf"
err=$("$P3BACKUP" --config "$jobdir/cm3.conf" -n --no-progress 2>&1); st=$?
is "$err" "p3backup: $jobdir/cm3.conf:3: directory $jobdir/nowhere: no such directory" \
    "a missing directory of a job names the line, without the hint"

# A bad job file: exit 2, the file, line and key named, nothing sent.
bad=$jobdir/bad.conf
printf '[job]\nbucket = %s\ncolour = blue\n' "$b" > "$bad"
mark_requests
err=$("$P3BACKUP" --config "$bad" --no-progress 2>&1); st=$?
is "$st" 2 "an unknown key: exit 2"
contains "$err" "$bad:3: unknown key colour" "the message names file:line and key"
is "$(wc -l < "$REQLOG")" "$REQMARK" "no request for a bad job file"

# A job file must name its directory: cron and systemd start in "/".
printf '[job]\nbucket = %s\n' "$b" > "$jobdir/nodir.conf"
: > "$jobdir/empty.conf"
mark_requests
for f in nodir empty; do
	err=$(cd "$jobdir" && "$P3BACKUP" --config "$jobdir/$f.conf" -n \
	    --no-progress 2>&1); st=$?
	is "$st" 2 "$f.conf (no directory): exit 2"
	contains "$err" "$jobdir/$f.conf: the job names no directory" \
	    "$f.conf: the message names the file"
done
is "$(wc -l < "$REQLOG")" "$REQMARK" "no request for a job without a directory"
err=$(cd "$jobdir" && "$P3BACKUP" --config "$jobdir/nodir.conf" -n \
    --no-progress "$b" "$jobdir" 2>&1); st=$?
is "$st" 0 "a DIRECTORY on the command line completes such a job"

err=$("$P3BACKUP" --config "$jobdir/none.conf" 2>&1); st=$?
is "$st" 2 "a missing job file: exit 2"
contains "$err" "none.conf: No such file or directory" "the missing file is named"

# The lock, held by someone else (flock(1) on the same file): refused.
lock=$(lock_path "$job")
mkdir -p "$(dirname "$lock")"
exec 9>>"$lock"
flock -n 9; ok $? "the test holds the job's lock with flock(1)"
mark_requests
err=$(cd / && "$P3BACKUP" --config "$job" --no-progress 2>&1); st=$?
is "$st" 2 "a second run of a running job: exit 2"
contains "$err" "job $job is already running (lock $lock)" \
    "the message says so and names the lock file"
is "$(wc -l < "$REQLOG")" "$REQMARK" "the refused run sent no request"
# The same job file by another name is the same job.
err=$(cd "$jobdir" && "$P3BACKUP" --config ./nightly.conf --no-progress \
    2>&1); st=$?
is "$st" 2 "the same job by a relative path is refused too"
exec 9>&-
out=$(cd / && "$P3BACKUP" --config "$job" --no-progress 2>&1); st=$?
is "$st" 0 "once the lock is released the job runs"

# Two real runs: the first stuck on an endpoint that never answers (it
# holds the lock from before its first request), the second refused.
python3 -c 'import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
time.sleep(300)' "$T/hole.port" &
hole=$!
for _ in $(seq 1 100); do [ -s "$T/hole.port" ] && break; sleep 0.1; done
"$P3BACKUP" --config "$job" --no-progress --retries 0 --timeout 120 \
    --endpoint-url "http://127.0.0.1:$(cat "$T/hole.port")" \
    >"$T/first.out" 2>&1 &
first=$!
for _ in $(seq 1 100); do
	[ "$(cat "$lock" 2>/dev/null)" = "$first" ] && break
	sleep 0.1
done
is "$(cat "$lock" 2>/dev/null)" "$first" "the running job's pid is in its lock file"
err=$("$P3BACKUP" --config "$job" --no-progress 2>&1); st=$?
is "$st" 2 "a concurrent run of the same job: exit 2"
contains "$err" "is already running" "the concurrent run says it is already running"
kill -0 "$first" 2>/dev/null; ok $? "the first run was still going"
kill -KILL "$first" 2>/dev/null
wait "$first" 2>/dev/null
kill "$hole" 2>/dev/null
wait "$hole" 2>/dev/null
# The kernel drops an flock with its process, even after kill -9.
out=$(cd / && "$P3BACKUP" --config "$job" --no-progress 2>&1); st=$?
is "$st" 0 "after the first run was killed (-9) the job runs again"

finish
