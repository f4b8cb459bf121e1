#!/bin/bash
# Symlinks in rclone's --links form (issue 15, links): a link "x" is the
# object "x.rclonelink" whose body is the target, with the link's own
# mtime and mode 120777; a restore makes the link again, atomically,
# and never writes through one.  Hostile link objects (a target over
# 4095 bytes, a NUL) are refused per file; a file "x.rclonelink" next
# to a link "x" is a conflict.  rclone -l both ways on Ceph RGW.
. "${top_srcdir:-.}/tests/lib.sh"

s3rver_start
p3() { "$P3BACKUP" --no-progress "$@"; }
body() { awscli s3 cp "s3://$1/$2" - 2>/dev/null; }
mtime() { stat -c %Y "$1"; }

src=$T/src
mkdir -p "$src/d/sub"
echo hello > "$src/d/file.txt"
echo inside > "$src/d/sub/in.txt"
ln -s file.txt "$src/d/rel"
ln -s /nonexistent/p3b-dangling "$src/abs"
ln -s d/sub "$src/todir"
touch -h -d '2020-01-02 03:04:05' "$src/d/rel" "$src/abs" "$src/todir"
b=$(new_bucket links)

p3 "$b" "$src" >"$T/out" 2>"$T/err"; st=$?
is "$st" 0 "a backup with links exits 0 ($(head -c 200 "$T/err"))"
is "$(body "$b" d/rel.rclonelink)" "file.txt" "d/rel.rclonelink holds the relative target"
is "$(body "$b" abs.rclonelink)" "/nonexistent/p3b-dangling" "a dangling absolute link is backed up"
is "$(body "$b" todir.rclonelink)" "d/sub" "a link to a directory is backed up as a link"
awscli s3 ls "s3://$b/todir/" >"$T/ls" 2>&1
is "$(grep -c in.txt "$T/ls")" 0 "the directory behind it is not followed"
is "$(awscli s3api head-object --bucket "$b" --key d/rel.rclonelink \
    --query Metadata.mode --output text 2>/dev/null)" 120777 "x-amz-meta-mode 120777"
is "$(awscli s3api head-object --bucket "$b" --key abs.rclonelink \
    --query ContentLength --output text 2>/dev/null)" 25 "the body is the target, no NUL"

mark_requests
p3 "$b" "$src" >/dev/null 2>&1; st=$?
is "$st" 0 "a second backup exits 0"
is "$(count_uploads)" 0 "unchanged links: nothing uploaded"
rm "$src/d/rel"
ln -s sub/in.txt "$src/d/rel"
mark_requests
p3 "$b" "$src" >/dev/null 2>&1
is "$(count_requests PUT rclonelink)" 1 "a changed target: one upload"
is "$(body "$b" d/rel.rclonelink)" "sub/in.txt" "with the new target"

# Restore into an empty directory.
p3 --restore "$b" "$T/r1" >/dev/null 2>"$T/err"; st=$?
is "$st" 0 "a restore with links exits 0 ($(head -c 200 "$T/err"))"
for l in d/rel abs todir; do
	[ -L "$T/r1/$l" ]; ok $? "$l is restored as a symlink"
	is "$(readlink "$T/r1/$l")" "$(readlink "$src/$l")" "$l: same target"
done
is "$(mtime "$T/r1/abs")" "$(mtime "$src/abs")" "the link's own mtime is restored"
is "$(cat "$T/r1/d/rel")" inside "the relative link resolves in the restore"
[ ! -e "$T/r1/abs.rclonelink" ]; ok $? "no file named .rclonelink is made"
is "$(ls -a "$T/r1" | grep -c '^\.p3b-')" 0 "no temporary name left behind"

# Incremental restore: the links are there already.
mark_requests
p3 --restore -v "$b" "$T/r1" >"$T/out" 2>&1; st=$?
is "$st" 0 "a second restore exits 0"
is "$(count_requests GET 'rclonelink')" 0 "same target and mtime: not fetched again"
rm "$T/r1/abs"
ln -s elsewhere "$T/r1/abs"
touch -h -d '2001-01-01' "$T/r1/abs"
p3 --restore "$b" "$T/r1" >/dev/null 2>&1
is "$(readlink "$T/r1/abs")" "/nonexistent/p3b-dangling" "a changed link is replaced"

# --delete of a removed link deletes its object.
rm "$src/todir"
p3 --delete "$b" "$src" >/dev/null 2>&1
is "$(awscli s3 ls "s3://$b/todir.rclonelink" 2>/dev/null | wc -l)" 0 "--delete removes todir.rclonelink"

# A link x next to a file x.rclonelink: reported, neither stored.
cb=$(new_bucket links-conflict)
mkdir -p "$T/c"
echo real > "$T/c/x.rclonelink"
ln -s target "$T/c/x"
echo fine > "$T/c/ok.txt"
p3 "$cb" "$T/c" >/dev/null 2>"$T/err"; st=$?
is "$st" 1 "a conflict exits 1"
is "$(grep -c 'x.rclonelink' "$T/err")" 1 "one line names it ($(head -c 200 "$T/err"))"
contains "$(cat "$T/err")" "/x: symbolic link and the file x.rclonelink" "naming both"
is "$(awscli s3 ls "s3://$cb/x.rclonelink" 2>/dev/null | wc -l)" 0 "nothing under x.rclonelink"
is "$(body "$cb" ok.txt)" fine "the rest is backed up"
is "$(cat "$T/c/x.rclonelink")" real "the file is left as it is"

# Hostile link objects: refused per file, nothing made, the rest restored.
hb=$(new_bucket links-hostile)
head -c 10240 /dev/zero | tr '\0' a > "$T/long.rclonelink"
printf 'a\0b' > "$T/nul.rclonelink"
echo ok > "$T/good.txt"
awscli s3 mb "s3://$hb" >/dev/null 2>&1
awscli s3 cp "$T/long.rclonelink" "s3://$hb/long.rclonelink" >/dev/null 2>&1
awscli s3 cp "$T/nul.rclonelink" "s3://$hb/nul.rclonelink" >/dev/null 2>&1
awscli s3 cp "$T/good.txt" "s3://$hb/good.txt" >/dev/null 2>&1
p3 --restore "$hb" "$T/r2" >/dev/null 2>"$T/err"; st=$?
is "$st" 1 "hostile link objects: exit 1"
contains "$(grep long "$T/err")" "link target longer than 4095 bytes" "a 10 KB target is refused"
contains "$(grep nul "$T/err")" "link target holds a NUL byte" "a NUL is refused"
[ ! -e "$T/r2/long" ] && [ ! -L "$T/r2/long" ]; ok $? "nothing is made for the long one"
[ ! -e "$T/r2/nul" ] && [ ! -L "$T/r2/nul" ]; ok $? "nor for the NUL one"
is "$(cat "$T/r2/good.txt")" ok "the rest is restored"
is "$(ls -a "$T/r2" | grep -c '^\.p3b-')" 0 "no temporary name left behind"

# A link out of DIRECTORY, and a key planted behind it.
eb=$(new_bucket links-evil)
printf '../../outside' > "$T/evil.rclonelink"
awscli s3 mb "s3://$eb" >/dev/null 2>&1
awscli s3 cp "$T/evil.rclonelink" "s3://$eb/evil.rclonelink" >/dev/null 2>&1
awscli s3 cp "$T/good.txt" "s3://$eb/evil/planted.txt" >/dev/null 2>&1
mkdir -p "$T/deep/r3"
p3 --restore "$eb" "$T/deep/r3" >/dev/null 2>"$T/err"; st=$?
is "$st" 1 "a key behind a link: exit 1"
[ ! -e "$T/outside" ] && [ ! -e "$T/deep/outside" ]
ok $? "nothing is written through the link, outside DIRECTORY"
contains "$(grep -F evil "$T/err")" "evil" "what was refused is said ($(head -c 300 "$T/err"))"

if on_s3rver; then
	finish
fi

# rclone -l both ways (Ceph RGW).
rclone_remote
env -u AWS_CA_BUNDLE rclone copy -l "T:$b" "$T/rc1" \
    --exclude '.p3backup/**' >"$T/rclone.out" 2>&1
ok $? "rclone copy -l of p3backup's bucket ($(head -c 200 "$T/rclone.out"))"
for l in d/rel abs; do
	is "$(readlink "$T/rc1/$l")" "$(readlink "$src/$l")" "rclone makes $l the same link"
done
rb=$(new_bucket links-rclone)
env -u AWS_CA_BUNDLE rclone copy -l "$src" "T:$rb" >"$T/rclone.out" 2>&1
ok $? "rclone copy -l of the tree ($(head -c 200 "$T/rclone.out"))"
p3 --restore "$rb" "$T/r4" >/dev/null 2>"$T/err"; st=$?
is "$st" 0 "p3backup restores rclone's bucket ($(head -c 200 "$T/err"))"
for l in d/rel abs; do
	[ -L "$T/r4/$l" ]; ok $? "$l is a symlink"
	is "$(readlink "$T/r4/$l")" "$(readlink "$src/$l")" "$l: rclone's target"
done

finish
