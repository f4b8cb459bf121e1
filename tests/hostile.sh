#!/bin/bash
# Hostile and odd input, one case at a time, each with the message and
# the exit code p3backup promises (README, "What p3backup guarantees"):
# a tree that changes under the run, names S3 cannot take, a server that
# lies, stalls or refuses, and a disk that fills up during a restore.
# Server-side faults come from tests/s3proxy.py: each case that needs one
# starts its own proxy in front of the same s3rver (extra_proxy).
. "${top_srcdir:-.}/tests/lib.sh"

s3rver_start
p3() { timeout 120 "$P3BACKUP" --no-progress "$@"; }
# User keys of bucket $1, one per line, sorted; newlines in keys as \n.
listed_keys() {
	awscli s3api list-objects-v2 --bucket "$1" --query 'Contents[].Key' \
	    --output json 2>/dev/null | python3 -c 'import json,sys
for k in json.load(sys.stdin) or []:
    if not k.startswith(".p3backup/"): print(k.replace("\n", "\\n"))' |
	    LC_ALL=C sort
}
nkeys() { listed_keys "$1" | grep -c .; }
has_object() {
	awscli s3api head-object --bucket "$1" --key "$2" >/dev/null 2>&1
}

# The tmpfs of the last case (extra proxies: lib.sh).
MNT=
hostile_cleanup() {
	[ -n "$MNT" ] && umount "$MNT" 2>/dev/null
	extra_proxy_stop
}
trap 'hostile_cleanup; cleanup' EXIT

# when_uploading BUCKET CMD: run CMD in the background as soon as the
# first file PUT of BUCKET reaches the server, that is once the scan is
# over and the plan is being carried out.
when_uploading() {
	local b=$1
	shift
	(
		for _ in $(seq 1 1200); do
			grep -q "^PUT	/$b/[^	]" "$REQLOG" && break
			sleep 0.02
		done
		"$@"
	) &
	RACER=$!
}

# ---- 1. The tree changes between the scan and the upload -------------
# 1,500 small files go up one at a time (--jobs 1, key order); the two
# last ones are pulled away as soon as the first upload starts: one is
# deleted, one replaced by a directory.
src=$T/race
mkdir -p "$src"
python3 -c 'import os, sys
for i in range(1500):
    fd = os.open("%s/f%05d.txt" % (sys.argv[1], i), os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"%d\n" % i)
    os.close(fd)' "$src"
echo "gone soon" > "$src/zz-vanishes.txt"
echo "a dir soon" > "$src/zz-becomes-dir.txt"
swap() {
	rm -f "$src/zz-vanishes.txt" "$src/zz-becomes-dir.txt"
	mkdir "$src/zz-becomes-dir.txt"
}
b=$(new_bucket race)
when_uploading "$b" swap
p3 --jobs 1 "$b" "$src" >"$T/out" 2>"$T/err"; st=$?
wait "$RACER"
is "$st" 1 "files pulled away during the run: exit 1"
contains "$(cat "$T/err")" "zz-vanishes.txt: No such file or directory" \
    "a file deleted after the scan is named, with the cause"
contains "$(cat "$T/err")" "zz-becomes-dir.txt: no longer a regular file" \
    "a file replaced by a directory is named, with the cause"
contains "$(cat "$T/out")" "failed 2" "both are counted as failed"
is "$(nkeys "$b")" 1500 "every other file is uploaded"

# ---- 2. A file that grows while it is read and sent ------------------
# 20 MiB, then 64 KiB blocks appended, each filled with its own number:
# whatever the timing, the object must be absent or exactly the file as
# it was at some moment (a prefix of the final file, 20 MiB plus whole
# blocks).
grow=$T/grow
mkdir -p "$grow"
head -c $((20 << 20)) /dev/urandom > "$grow/growing.bin"
prefix_state() {
	python3 - "$grow/growing.bin" "$T/obj" <<'PY'
import os, sys
f, o = open(sys.argv[1], "rb").read(), sys.argv[2]
if not os.path.exists(o):
    print("absent"); sys.exit(0)
obj = open(o, "rb").read()
n, base = len(obj), 20 << 20
ok = n >= base and (n - base) % 65536 == 0 and f[:n] == obj
print("prefix" if ok else "MIXED size=%d" % n)
PY
}
for mode in single multipart; do
	case $mode in
	single) opts= ;;
	multipart) opts="--multipart-threshold 8M --part-size 5M" ;;
	esac
	python3 - "$grow/growing.bin" <<'PY' &
import os, struct, sys, time
i = 0
while True:
    i += 1
    with open(sys.argv[1], "ab") as fh:
        fh.write(struct.pack(">Q", i) * 8192)
    time.sleep(0.01)
PY
	appender=$!
	b=$(new_bucket grow)
	p3 $opts "$b" "$grow" >"$T/out" 2>"$T/err"; st=$?
	kill "$appender"; wait "$appender" 2>/dev/null
	[ "$st" -eq 0 ] || [ "$st" -eq 1 ]; ok $? "$mode: a growing file: exit 0 or 1 (got $st)"
	rm -f "$T/obj"
	aws --endpoint-url "$S3_DIRECT" s3 cp "s3://$b/growing.bin" "$T/obj" >/dev/null 2>&1
	state=$(prefix_state)
	if [ "$st" -eq 0 ]; then
		is "$state" prefix "$mode: exit 0, and the object is the file as it was at one moment"
	else
		contains "$(cat "$T/err")" "growing.bin: changed while" "$mode: exit 1 names the growing file"
		case $state in
		absent|prefix) ok 0 "$mode: the object is absent or one whole state ($state)" ;;
		*) ok 1 "$mode: the object is absent or one whole state"; diag "$state" ;;
		esac
	fi
	diag "$mode: exit $st, object $state"
done

# ---- 3. Permission denied --------------------------------------------
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	perm=$T/perm
	mkdir -p "$perm/closed" "$perm/open"
	echo "fine" > "$perm/open/fine.txt"
	echo "secret" > "$perm/secret.txt"
	echo "inside" > "$perm/closed/inside.txt"
	chmod 755 "$T" "$perm" "$perm/open"
	chmod 644 "$perm/open/fine.txt"
	chmod 000 "$perm/secret.txt" "$perm/closed"
	b=$(new_bucket perm)
	mkdir -m 777 "$T/state.nobody"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
	    env HOME=/nonexistent XDG_STATE_HOME="$T/state.nobody" \
	    timeout 60 "$(nobody_binary)" --no-progress "$b" "$perm" 2>&1); st=$?
	is "$st" 1 "permission denied (as uid 65534): exit 1"
	contains "$out" "secret.txt: Permission denied" "the unreadable file is named with the cause"
	contains "$out" "closed: cannot open directory: Permission denied" "the unreadable directory too"
	contains "$out" "failed 2" "both are counted as failed"
	is "$(listed_keys "$b" | tr '\n' ' ')" "open/fine.txt " "the rest is backed up"
	chmod 755 "$perm/closed"
else
	skip 5 "needs root and setpriv to drop privileges"
fi

# ---- 4. Symlink loops with --follow-symlinks ------------------------
loop=$T/loop
mkdir -p "$loop/sub"
echo "real" > "$loop/sub/real.txt"
ln -s .. "$loop/sub/up"
ln -s self "$loop/self"
b=$(new_bucket loop)
p3 --follow-symlinks "$b" "$loop" >"$T/out" 2>"$T/err"; st=$?
is "$st" 1 "symlink loops with --follow-symlinks: exit 1, and the run ends"
contains "$(cat "$T/err")" "sub/up: symlink loop, not followed" "a loop back to an ancestor is reported"
contains "$(cat "$T/err")" "self: cannot follow symbolic link: Too many levels of symbolic links" \
    "a link to itself is reported"
contains "$(cat "$T/out")" "failed 2" "both are counted as failed"
is "$(listed_keys "$b" | tr '\n' ' ')" "sub/real.txt " "the real file is backed up once"

# ---- 5. A FIFO --------------------------------------------------------
fifo=$T/fifo
mkdir -p "$fifo"
mkfifo "$fifo/pipe"
echo "x" > "$fifo/x.txt"
b=$(new_bucket fifo)
p3 "$b" "$fifo" >"$T/out" 2>"$T/err"; st=$?
is "$st" 0 "a FIFO: exit 0 (skipped, never opened)"
contains "$(cat "$T/err")" "pipe: FIFO, skipped" "the FIFO is reported"
is "$(listed_keys "$b" | tr '\n' ' ')" "x.txt " "only the regular file is stored"

# ---- 6. Paths longer than PATH_MAX -----------------------------------
# 17 nested directories of 254-byte names (over 4,300 bytes deep), a
# file at every level: keys over 1024 bytes are refused, the rest goes.
deep=$T/deep
python3 - "$deep" <<'PY'
import os, sys
os.mkdir(sys.argv[1])
fd = os.open(sys.argv[1], os.O_RDONLY)
for level in range(17):
    f = os.open("f.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
    os.write(f, b"level %d\n" % level)
    os.close(f)
    name = chr(ord("a") + level) * 254
    os.mkdir(name, dir_fd=fd)
    nfd = os.open(name, os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = nfd
PY
b=$(new_bucket deep)
p3 "$b" "$deep" >"$T/out" 2>"$T/err"; st=$?
is "$st" 1 "paths deeper than PATH_MAX: exit 1"
contains "$(cat "$T/err")" "f.txt: object key longer than 1024 bytes" "a file whose key is too long is reported"
contains "$(cat "$T/out")" "failed 2" "the too-long file and directory are counted as failed"
is "$(nkeys "$b")" 5 "the keys that fit are stored (four files and a marker)"

# ---- 7. Names with a newline, names that are not UTF-8 ---------------
names=$T/names
mkdir -p "$names"
printf 'two\nlines\n' > "$names/new"$'\n'"line.txt"
echo "bad" > "$names/bad"$'\xff'".txt"
echo "ok" > "$names/ok.txt"
b=$(new_bucket names)
p3 "$b" "$names" >"$T/out" 2>"$T/err"; st=$?
is "$st" 1 "a name that is not UTF-8: exit 1"
contains "$(cat "$T/err")" 'bad\xff.txt: name is not valid UTF-8' "it is reported, escaped on one line"
is "$(listed_keys "$b" | tr '\n' ' ')" 'new\nline.txt ok.txt ' "the name with a newline is stored as is"
p3 --restore "$b" "$T/names-back" >"$T/out" 2>"$T/err"; st=$?
is "$st" 0 "restore of a name with a newline: exit 0"
cmp -s "$names/new"$'\n'"line.txt" "$T/names-back/new"$'\n'"line.txt"; ok $? "it comes back under its exact name"

# ---- 8. Keys at the limit: 1024 bytes go, 1025 do not ---------------
lim=$T/lim
d=$(printf 'a%.0s' $(seq 204))/$(printf 'b%.0s' $(seq 204))/$(printf 'c%.0s' $(seq 204))/$(printf 'd%.0s' $(seq 204))
mkdir -p "$lim/$d"
k1024=$d/$(printf 'x%.0s' $(seq 204))
k1025=$d/$(printf 'y%.0s' $(seq 205))
echo 1024 > "$lim/$k1024"
echo 1025 > "$lim/$k1025"
is "${#k1024}/${#k1025}" "1024/1025" "the keys are 1024 and 1025 bytes long"
b=$(new_bucket limit)
p3 "$b" "$lim" >"$T/out" 2>"$T/err"; st=$?
is "$st" 1 "a 1025-byte key: exit 1"
contains "$(cat "$T/err")" "yyyy: object key longer than 1024 bytes" "the 1025-byte key is refused"
has_object "$b" "$k1024"; ok $? "the 1024-byte key is stored"
has_object "$b" "$k1025"; [ $? -ne 0 ]; ok $? "the 1025-byte key is not"

# ---- 9. 100,000 files in one directory (dry run) --------------------
many=$T/many
mkdir -p "$many"
python3 -c 'import os, sys
d = os.open(sys.argv[1], os.O_RDONLY)
for i in range(100000):
    os.close(os.open("file%06d" % i, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=d))' "$many"
b=$(new_bucket many)
start=$(date +%s)
timeout 120 "$P3BACKUP" --no-progress --dry-run "$b" "$many" >"$T/out" 2>"$T/err"; st=$?
secs=$(( $(date +%s) - start ))
is "$st" 0 "100,000 files in one directory, --dry-run: exit 0"
is "$(grep -c '^would upload (new) file' "$T/out")" 100000 "the plan has 100,000 uploads"
[ "$secs" -le 60 ]; ok $? "and takes ${secs}s (at most 60)"
rm -rf "$many"

# ---- 10. A listing that is not XML, or cut short ---------------------
lst=$T/lst
mkdir -p "$lst"
for i in 1 2 3 4 5 6; do echo "$i" > "$lst/file-$i.txt"; done
b=$(new_bucket listing)
p3 "$b" "$lst" >/dev/null 2>&1
echo "new" > "$lst/new.txt"
for mode in truncate garbage; do
	extra_proxy "list-$mode" --corrupt-list "$mode"
	p3 --endpoint-url "$HP_URL" --no-versioning "$b" "$lst" >"$T/out" \
	    2>"$T/err"; st=$?
	is "$st" 3 "listing answered with $mode XML: exit 3"
	contains "$(cat "$T/err")" "listing: malformed XML" "$mode: the message says so"
	is "$(wc -l < "$T/err")" 1 "$mode: in one line"
	is "$(awk -F '\t' '$1 == "PUT"' "$HP_LOG" | wc -l)" 0 "$mode: nothing is uploaded"
done

# ---- 11. HTTP 200 with an <Error> body for CompleteMultipartUpload ---
mp=$T/mp
mkdir -p "$mp"
head -c $((6 << 20)) /dev/urandom > "$mp/big.bin"
echo small > "$mp/small.txt"
b=$(new_bucket err200)
extra_proxy err200 --error-200 big.bin
p3 --endpoint-url "$HP_URL" --retries 1 --multipart-threshold 5M --part-size 5M \
    "$b" "$mp" >"$T/out" 2>"$T/err"; st=$?
is "$st" 1 "CompleteMultipartUpload answered 200 with an <Error>: exit 1"
contains "$(cat "$T/err")" "big.bin" "the file is named"
contains "$(cat "$T/err")" "InternalError" "with the server's error code"
contains "$(cat "$T/out")" "uploaded 1 " "it is not counted as uploaded"
is "$(awk -F '\t' '$1 == "POST" && $2 ~ /uploadId=/' "$HP_LOG" | wc -l)" 2 "the completion was retried once"
has_object "$b" big.bin; [ $? -ne 0 ]; ok $? "no object was made"
p3 --multipart-threshold 5M --part-size 5M "$b" "$mp" >"$T/out" 2>"$T/err"; st=$?
is "$st" 0 "the next run, with an honest server: exit 0"
aws --endpoint-url "$S3_DIRECT" s3 cp "s3://$b/big.bin" "$T/big.back" >/dev/null 2>&1
cmp -s "$mp/big.bin" "$T/big.back"; ok $? "and the object equals the file"

# ---- 12. A server that accepts connections and never answers --------
python3 -c 'import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
held = []
while True:
    held.append(s.accept()[0])' "$T/mute.port" &
EXTRA_PIDS="$EXTRA_PIDS $!"
for _ in $(seq 1 100); do [ -s "$T/mute.port" ] && break; sleep 0.1; done
start=$(date +%s)
p3 --endpoint-url "http://127.0.0.1:$(cat "$T/mute.port")" --timeout 2 \
    --retries 1 "$(new_bucket mute)" "$lst" >"$T/out" 2>"$T/err"; st=$?
secs=$(( $(date +%s) - start ))
is "$st" 3 "a server that never answers: exit 3"
[ "$secs" -le 20 ]; ok $? "within 20 s (took ${secs}s)"
contains "$(cat "$T/err")" "did not answer in time" "the message says the server did not answer"
diag "$(cat "$T/err")"

# ---- 13. Clock skew --------------------------------------------------
extra_proxy skew --skew
p3 --endpoint-url "$HP_URL" "$b" "$lst" >"$T/out" 2>"$T/err"; st=$?
is "$st" 3 "RequestTimeTooSkewed: exit 3"
contains "$(cat "$T/err")" "clock" "the message points at the clock"

# ---- 14. An expired session token ------------------------------------
AWS_SESSION_TOKEN=expired p3 "$b" "$lst" >"$T/out" 2>"$T/err"; st=$?
is "$st" 3 "an expired session token: exit 3"
contains "$(cat "$T/err")" "session token has expired" "the message says so"

# ---- 15. Disk full during a restore ----------------------------------
full=$T/full
mkdir -p "$full"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=2m tmpfs "$full" 2>/dev/null; then
	MNT=$full
	src5=$T/src5
	mkdir -p "$src5"
	head -c $((5 << 20)) /dev/urandom > "$src5/five.bin"
	echo "small" > "$src5/small.txt"
	b=$(new_bucket full)
	p3 "$b" "$src5" >/dev/null 2>&1
	p3 --restore "$b" "$full" >"$T/out" 2>"$T/err"; st=$?
	is "$st" 1 "restore onto a full disk: exit 1"
	contains "$(cat "$T/err")" "five.bin: " "the file is named"
	contains "$(cat "$T/err")" "No space left on device" "with the cause"
	[ ! -e "$full/five.bin" ]; ok $? "no partial file under the real name"
	is "$(ls -A "$full" | grep -c '\.p3b-')" 0 "no temporary file left behind"
	cmp -s "$src5/small.txt" "$full/small.txt"; ok $? "the file that fits is restored"
	umount "$full" && MNT=
else
	skip 6 "mounting a small tmpfs is not permitted here"
fi

hostile_cleanup
finish
