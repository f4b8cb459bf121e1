#!/bin/bash
# --restore --as-of TIME: the ransomware drill.  Back up a tree, note
# the time, damage every file (other bytes, another size), delete one,
# add one, back up with --delete; restoring as of the noted time (or the
# first run's id) gives the original tree with its mtimes, the deleted
# file included and the added one absent; restoring into the damaged
# directory repairs it and deletes nothing.  Needs versioning: the drill
# runs on Ceph RGW (make check-ceph); on s3rver, which has no
# ListObjectVersions, the options' checks and the clear failure.
. "${top_srcdir:-.}/tests/lib.sh"

s3rver_start
p3() { "$P3BACKUP" --no-progress "$@"; }

# What needs no server: TIME's forms.
p3 --as-of 2026-12-03T10:00:00Z b "$T/x" >/dev/null 2>"$T/err"; st=$?
is "$st" 2 "--as-of without --restore: exit 2"
contains "$(cat "$T/err")" "only with --restore" "saying so"
for bad in yesterday 2026-02-30 "2026-12-03 25:00" 2026-12-03T10:00:00 \
    "2026-12-03T10:00:00Z-xyz" ""; do
	p3 --restore --as-of "$bad" b "$T/x" >/dev/null 2>"$T/err"; st=$?
	is "$st" 2 "--as-of \"$bad\": exit 2"
done
contains "$(cat "$T/err")" "not a run id (see --history), YYYY-MM-DDTHH:MM:SSZ" "the message names the forms"
is "$(count_requests GET)$(count_requests HEAD)" "00" "no request for a bad TIME"

if on_s3rver; then
	b=$(new_bucket asof)
	mkdir -p "$T/s"
	echo one > "$T/s/a"
	p3 "$b" "$T/s" >/dev/null 2>&1
	p3 --restore --as-of 2030-01-01T00:00:00Z "$b" "$T/r" >/dev/null 2>"$T/err"; st=$?
	is "$st" 3 "s3rver has no ListObjectVersions: exit 3"
	contains "$(cat "$T/err")" "list versions" "the message names the listing"
	[ ! -e "$T/r" ]; ok $? "and nothing is created"
	finish
fi

K=$T/keys
rsa_key "$K"

# mtimes to the nanosecond: stat's %Y.%y is not enough, use %.9Y.
tree() {
	(cd "$1" && find . -type f | LC_ALL=C sort | while read -r f; do
		printf '%s %s %s\n' "$f" "$(stat -c '%s %.9Y' "$f")" \
		    "$(md5sum < "$f" | cut -c1-32)"
	done)
}

src=$T/src
mkdir -p "$src/sub dir"
echo "alpha" > "$src/a.txt"
echo "bravo bravo" > "$src/b.txt"
printf 'charlie\n%.0s' $(seq 1 100) > "$src/sub dir/c.txt"
head -c 6000000 /dev/urandom > "$src/big.bin"
touch -d '2024-05-06 07:08:09.123456789' "$src/a.txt"
touch -d '2023-01-02 03:04:05' "$src/b.txt"
touch -d '2022-03-04 05:06:07.5' "$src/sub dir/c.txt"
tree "$src" > "$T/orig.tree"
cp -a "$src" "$T/orig"

for mode in plain encrypted; do
	b=$(new_bucket "asof-$mode")
	key=
	dkey=
	if [ $mode = encrypted ]; then
		key="--encrypt-key $K/k.pub"
		dkey="--decrypt-key $K/k.pem"
	fi
	rm -rf "$src"
	cp -a "$T/orig" "$src"
	p3 $key --multipart-threshold 5M --part-size 5M "$b" "$src" >/dev/null 2>&1
	is "$?" 0 "$mode: the first backup exits 0"
	id1=$(p3 --history --json "$b" | jq -r '.[0].run_id')
	sleep 1.1
	noted=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	sleep 1.1
	# The damage: every file other bytes of another size, one deleted,
	# one added.
	for f in a.txt "sub dir/c.txt" big.bin; do
		printf 'ENCRYPTED BY RANSOMWARE %s\n' "$f" > "$src/$f"
	done
	rm "$src/b.txt"
	echo "ransom note" > "$src/README-RANSOM.txt"
	cp -a "$src" "$T/damaged-$mode"
	p3 $key --delete --max-delete 10 "$b" "$src" >/dev/null 2>&1
	is "$?" 0 "$mode: the damaged backup with --delete exits 0"
	awscli s3api head-object --bucket "$b" --key b.txt >/dev/null 2>&1
	[ $? -ne 0 ]; ok $? "$mode: b.txt is gone from the bucket's current view"

	for t in "$noted" "$id1"; do
		rm -rf "$T/r"
		p3 --restore $dkey --as-of "$t" "$b" "$T/r" >"$T/out" 2>&1; st=$?
		is "$st" 0 "$mode: --restore --as-of $t exits 0"
		tree "$T/r" > "$T/r.tree"
		diff "$T/orig.tree" "$T/r.tree" >"$T/diff"; st=$?
		is "$st" 0 "$mode: as of $t: the original tree, bytes and mtimes ($(head -c 300 "$T/diff"))"
	done
	# In local time, to the minute after the noted second.
	local_t=$(date -d "$noted" '+%Y-%m-%d %H:%M:%S')
	rm -rf "$T/r"
	p3 --restore $dkey --as-of "$local_t" "$b" "$T/r" >/dev/null 2>&1
	tree "$T/r" > "$T/r.tree"
	cmp -s "$T/orig.tree" "$T/r.tree"; ok $? "$mode: local time \"$local_t\" too"

	# Into the damaged directory: repaired, the added file kept.
	p3 --restore $dkey --as-of "$noted" -n "$b" "$src" >"$T/out" 2>&1; st=$?
	is "$st" 0 "$mode: the dry run exits 0"
	is "$(grep -c '^would download' "$T/out")" 4 "$mode: --dry-run lists the 4 files that would come back"
	cmp -s "$src/a.txt" "$T/damaged-$mode/a.txt"; ok $? "$mode: and changes nothing"
	p3 --restore $dkey --as-of "$noted" "$b" "$src" >/dev/null 2>&1; st=$?
	is "$st" 0 "$mode: restoring into the damaged directory exits 0"
	rm "$src/README-RANSOM.txt" 2>/dev/null; st=$?
	is "$st" 0 "$mode: the file added since is still there (nothing deleted)"
	tree "$src" > "$T/r.tree"
	diff "$T/orig.tree" "$T/r.tree" >"$T/diff"; st=$?
	is "$st" 0 "$mode: the damaged directory is repaired ($(head -c 300 "$T/diff"))"

	# Cost: the same restore again fetches nothing.
	mark_requests
	p3 --restore $dkey --as-of "$noted" "$b" "$src" >/dev/null 2>&1; st=$?
	is "$st" 0 "$mode: a second restore exits 0"
	is "$(count_requests GET '[?&]versions')" 1 "$mode: one ListObjectVersions page"
	is "$(count_requests GET "	/$b/[^.?	]")" 0 "$mode: no GET of a file"
	is "$(count_requests HEAD "	/$b/[^?	]")" 0 "$mode: no HEAD of a file"
done

# Cost: an unchanged tree of 1500 files as of now, restored into
# itself: about N/1000 listing requests (2 pages) and no GET of a file.
b=$(new_bucket asof-many)
mkdir -p "$T/many"
for i in $(seq 1 1500); do echo "$i" > "$T/many/f$i"; done
p3 "$b" "$T/many" >/dev/null 2>&1
sleep 1.1
mark_requests
p3 --restore --as-of "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$b" "$T/many" >/dev/null 2>&1; st=$?
is "$st" 0 "1500 unchanged files as of now: exit 0"
is "$(count_requests GET '[?&]versions')" 2 "2 ListObjectVersions pages for 1500 files"
is "$(count_requests GET "	/$b/[^.?	]")" 0 "no GET of a file"
is "$(count_requests GET)" 4 "4 GETs in all: 2 pages, the index and the settings"

# Before the first backup: nothing to restore.
b=$(new_bucket asof-none)
p3 "$b" "$T/many" >/dev/null 2>&1
p3 --restore --as-of 2001-01-01T00:00:00Z "$b" "$T/none" >/dev/null 2>"$T/err"; st=$?
is "$st" 1 "as of a time before the first backup: exit 1"
contains "$(cat "$T/err")" "nothing to restore under s3://$b/ as of 2001-01-01T00:00:00Z" "saying so"
[ ! -e "$T/none" ]; ok $? "and creating nothing"
p3 --restore --as-of 2001-01-01T00:00:00Z-0123abcd "$b" "$T/none" >/dev/null 2>"$T/err"; st=$?
is "$st" 2 "an unknown run id: exit 2"
contains "$(cat "$T/err")" "--as-of 2001-01-01T00:00:00Z-0123abcd: no such run in s3://$b/" "naming the run"

# --prefix and filters; --tag-deleted's tags hold as of then.
b=$(new_bucket asof-prefix)
rm -rf "$src"
mkdir -p "$src/d"
echo one > "$src/d/one.txt"
echo two > "$src/d/two.txt"
echo keep > "$src/keep.txt"
p3 --prefix host/job "$b" "$src" >/dev/null 2>&1
sleep 1.1
mid=$(date -u +%Y-%m-%dT%H:%M:%SZ)
rm "$src/d/two.txt"
sleep 1.1
p3 --prefix host/job --tag-deleted "$b" "$src" >/dev/null 2>&1
sleep 1.1
noted=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1.1
echo "ONE CHANGED" > "$src/d/one.txt"
p3 --prefix host/job "$b" "$src" >/dev/null 2>&1
rm -rf "$T/r"
p3 --restore --prefix host/job --as-of "$noted" "$b" "$T/r" >/dev/null 2>&1; st=$?
is "$st" 0 "--prefix: --as-of exits 0"
is "$(cd "$T/r" && find . -type f | LC_ALL=C sort | tr '\n' ' ')" "./d/one.txt ./keep.txt " \
    "the tagged file is left out as at the time (as --tag-deleted does)"
is "$(cat "$T/r/d/one.txt")" one "the file as it was then"
rm -rf "$T/r"
p3 --restore --prefix host/job --as-of "$noted" --include-deleted --include 'd/*' "$b" "$T/r" >/dev/null 2>&1
is "$(cd "$T/r" && find . -type f | LC_ALL=C sort | tr '\n' ' ')" "./d/one.txt ./d/two.txt " \
    "--include-deleted and --include: the tagged file too, filtered"

# No index at TIME (its first version expired, say): today's index, whose
# Deleted tag came later, must not be used; the tree as then, in full.
old=$(awscli s3api list-object-versions --bucket "$b" --prefix host/job/.p3backup/index \
    --query 'Versions[-1].VersionId' --output text)
awscli s3api delete-object --bucket "$b" --key host/job/.p3backup/index --version-id "$old" >/dev/null 2>&1
rm -rf "$T/r"
p3 --restore --prefix host/job --as-of "$mid" "$b" "$T/r" >/dev/null 2>&1; st=$?
is "$st" 0 "as of a time without an index version: exit 0"
is "$(cd "$T/r" && find . -type f | LC_ALL=C sort | tr '\n' ' ')" "./d/one.txt ./d/two.txt ./keep.txt " \
    "the file tagged only later is restored: no later index is used"

finish
