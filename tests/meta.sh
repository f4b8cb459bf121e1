#!/bin/bash
# Modes and owners in rclone's metadata dialect (issue 15, files):
# every upload records x-amz-meta-mode (st_mode in octal, type bits
# included), -uid and -gid; a restore applies them: owners as root
# (--no-owner: none), as another user the user's; setuid and setgid
# only with --restore-special-bits, the sticky bit always.  Hostile
# values refuse their file with a message, the rest is restored.
# rclone both ways on Ceph RGW (rclone misreads s3rver's listings).
. "${top_srcdir:-.}/tests/lib.sh"

s3rver_start
p3() { "$P3BACKUP" --no-progress "$@"; }
meta() {	# meta BUCKET KEY: "mode uid gid" as stored
	awscli s3api head-object --bucket "$1" --key "$2" \
	    --query '[Metadata.mode, Metadata.uid, Metadata.gid]' --output text 2>/dev/null
}
perm() { stat -c '%a %u %g' "$1"; }

src=$T/src
mkdir -p "$src/d"
printf '#!/bin/sh\necho hi\n' > "$src/script.sh"
chmod 0750 "$src/script.sh"
chown 1234:2345 "$src/script.sh"
echo secret > "$src/d/private"
chmod 0600 "$src/d/private"
echo suid > "$src/suid"
chmod 04755 "$src/suid"
echo sticky > "$src/sticky"
chmod 01644 "$src/sticky"
b=$(new_bucket meta)

p3 "$b" "$src" >/dev/null 2>"$T/err"; st=$?
is "$st" 0 "a backup exits 0 ($(head -c 200 "$T/err"))"
is "$(meta "$b" script.sh)" "100750	1234	2345" "x-amz-meta-mode 100750, uid 1234, gid 2345"
is "$(meta "$b" d/private)" "100600	0	0" "a 0600 file: 100600, owned by root"
is "$(meta "$b" suid)" "104755	0	0" "the setuid bit is recorded"

# As root: modes and owners back, setuid only when asked.
p3 --restore "$b" "$T/r1" >/dev/null 2>"$T/err"; st=$?
is "$st" 0 "a restore as root exits 0 ($(head -c 200 "$T/err"))"
is "$(perm "$T/r1/script.sh")" "750 1234 2345" "the script: 0750, 1234:2345"
is "$(perm "$T/r1/d/private")" "600 0 0" "the private file: 0600"
is "$(perm "$T/r1/suid")" "755 0 0" "setuid left out by default"
is "$(perm "$T/r1/sticky")" "1644 0 0" "the sticky bit is restored"
p3 --restore --restore-special-bits "$b" "$T/r2" >/dev/null 2>&1
is "$(perm "$T/r2/suid")" "4755 0 0" "--restore-special-bits: setuid too"
p3 --restore --no-owner "$b" "$T/r3" >/dev/null 2>&1
is "$(perm "$T/r3/script.sh")" "750 0 0" "--no-owner: the mode, root's ownership"

# As another user: the mode, the user's ownership, success.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	mkdir -m 777 "$T/r4" "$T/state.nobody"
	chmod 755 "$T"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
	    env HOME=/nonexistent XDG_STATE_HOME="$T/state.nobody" \
	    "$(nobody_binary)" --no-progress --restore "$b" "$T/r4" 2>&1); st=$?
	is "$st" 0 "a restore as nobody exits 0 ($out)"
	is "$(perm "$T/r4/script.sh")" "750 65534 65534" "as nobody: 0750, owned by nobody"
else
	skip 2 "needs root and setpriv to drop privileges"
fi

# Objects without the metadata (aws s3 cp) restore as before.
echo plain > "$T/plain.txt"
awscli s3 cp "$T/plain.txt" "s3://$b/plain.txt" >/dev/null 2>&1
rm -rf "$T/r5"
p3 --restore "$b" "$T/r5" >/dev/null 2>&1; st=$?
is "$st" 0 "an object without mode or owner restores (exit 0)"
cmp -s "$T/plain.txt" "$T/r5/plain.txt"; ok $? "with its content"

# Hostile metadata: refused per file, the rest restored.
hb=$(new_bucket meta-hostile)
p3 "$hb" "$src" >/dev/null 2>&1
put() { awscli s3 cp "$T/plain.txt" "s3://$hb/$1" --metadata "$2" >/dev/null 2>&1; }
put badmode.txt mode=777777
put dirmode.txt mode=40755
put notoctal.txt mode=0x1ff
put neguid.txt uid=-1
put biguid.txt uid=99999999999
put badgid.txt gid=staff
p3 --restore "$hb" "$T/r6" >/dev/null 2>"$T/err"; st=$?
is "$st" 1 "hostile metadata: exit 1"
for f in badmode.txt:"x-amz-meta-mode is not a regular file's mode" \
    dirmode.txt:"x-amz-meta-mode is not a regular file's mode" \
    notoctal.txt:"x-amz-meta-mode is not an octal mode" \
    neguid.txt:"x-amz-meta-uid is not a user id" \
    biguid.txt:"x-amz-meta-uid is not a user id" \
    badgid.txt:"x-amz-meta-gid is not a group id"; do
	contains "$(grep "${f%%:*}" "$T/err")" "${f#*:}: not restored" "${f%%:*}: \"${f#*:}\""
	[ ! -e "$T/r6/${f%%:*}" ]; ok $? "${f%%:*} is not written"
done
is "$(perm "$T/r6/script.sh")" "750 1234 2345" "the rest is restored with its metadata"

if on_s3rver; then
	finish
fi

# rclone both ways (Ceph RGW).
rclone_remote
env -u AWS_CA_BUNDLE rclone copy --metadata "T:$b" "$T/rc1" \
    --exclude '.p3backup/**' --exclude plain.txt >"$T/rclone.out" 2>&1
ok $? "rclone copy --metadata of p3backup's bucket ($(head -c 200 "$T/rclone.out"))"
is "$(perm "$T/rc1/script.sh")" "750 1234 2345" "rclone restores the mode and owner p3backup recorded"
is "$(perm "$T/rc1/d/private")" "600 0 0" "and the 0600 file's"
rb=$(new_bucket meta-rclone)
env -u AWS_CA_BUNDLE rclone copy --metadata "$src" "T:$rb" >"$T/rclone.out" 2>&1
ok $? "rclone copy --metadata of the tree ($(head -c 200 "$T/rclone.out"))"
p3 --restore "$rb" "$T/r7" >/dev/null 2>"$T/err"; st=$?
is "$st" 0 "p3backup restores rclone's bucket ($(head -c 200 "$T/err"))"
is "$(perm "$T/r7/script.sh")" "750 1234 2345" "with the mode and owner rclone recorded"
is "$(perm "$T/r7/d/private")" "600 0 0" "and the 0600 file's"

finish
