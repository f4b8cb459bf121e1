#!/bin/bash
# One backup (with a multipart file) and one restore under valgrind:
# no definite or indirect leak, no invalid read or write.  Valgrind and
# ASan do not mix, so the program is compiled here once more, plainly
# (-O1 -g, no sanitizer), from the same sources.
. "${top_srcdir:-.}/tests/lib.sh"

if ! command -v valgrind >/dev/null 2>&1; then
	skip 10 "valgrind is not installed"
	finish
fi

# The plain build: every source file of the program, one gcc call.
# shellcheck disable=SC2046
if ! gcc -std=gnu11 -O1 -g -o "$T/p3backup" \
    -I"$top_builddir" -I"$top_srcdir/src" -DSYSCONFDIR='"/etc"' \
    "$top_srcdir"/src/*.c \
    $(pkg-config --cflags --libs libcurl libxml-2.0 jansson libzstd) \
    -lmbedcrypto -lpthread >"$T/cc.log" 2>&1; then
	echo "Bail out! cannot build a plain p3backup for valgrind"
	cat "$T/cc.log" >&2
	exit 99
fi

s3rver_start

vg() {
	valgrind --leak-check=full \
	    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
	    --track-fds=no --log-file="$1" "$T/p3backup" --no-progress \
	    --multipart-threshold 8M --part-size 5M "${@:2}"
}

src=$T/src
mkdir -p "$src/a/b" "$src/c" "$src/empty"
for i in $(seq 1 30); do
	echo "file $i" > "$src/a/f$i.txt"
	head -c $((i * 997)) /dev/urandom > "$src/c/g$i.bin"
done
echo deep > "$src/a/b/deep.txt"
head -c $((12 * 1024 * 1024)) /dev/urandom > "$src/big.bin"

b=$(new_bucket vg)
mark_requests
vg "$T/vg-backup.log" "$b" "$src" >"$T/out" 2>&1; st=$?
is "$st" 0 "backup under valgrind exits 0 (99: valgrind errors)" ||
    { cat "$T/out" "$T/vg-backup.log" | head -60 | sed 's/^/# /'; }
grep -q "ERROR SUMMARY: 0 errors" "$T/vg-backup.log" 2>/dev/null
ok $? "backup: no leak, no invalid access"
is "$(count_requests PUT 'partNumber=')" 3 "12 MiB went up in three 5 MiB parts"

dst=$T/dst
vg "$T/vg-restore.log" --restore "$b" "$dst" >"$T/out" 2>&1; st=$?
is "$st" 0 "restore under valgrind exits 0 (99: valgrind errors)" ||
    { cat "$T/out" "$T/vg-restore.log" | head -60 | sed 's/^/# /'; }
grep -q "ERROR SUMMARY: 0 errors" "$T/vg-restore.log" 2>/dev/null
ok $? "restore: no leak, no invalid access"
diff -r "$src" "$dst" >/dev/null 2>&1
ok $? "the restored tree equals the source"

# Encrypted and compressed (the multipart file too), and back.
keys=$top_srcdir/tests/data/crypt
b2=$(new_bucket vg-crypt)
vg "$T/vg-crypt.log" --encrypt-key "$keys/key1.pub.pem" --compress "$b2" \
    "$src" >"$T/out" 2>&1; st=$?
is "$st" 0 "encrypted backup under valgrind exits 0" ||
    { cat "$T/out" "$T/vg-crypt.log" | head -60 | sed 's/^/# /'; }
vg "$T/vg-decrypt.log" --restore --decrypt-key "$keys/key1.pem" "$b2" \
    "$T/dst2" >"$T/out" 2>&1; st=$?
is "$st" 0 "decrypting restore under valgrind exits 0" ||
    { cat "$T/out" "$T/vg-decrypt.log" | head -60 | sed 's/^/# /'; }
diff -r "$src" "$T/dst2" >/dev/null 2>&1
ok $? "the decrypted tree equals the source"

# A no-op re-run: the listing and index paths, nothing to send.
vg "$T/vg-noop.log" "$b" "$src" >"$T/out" 2>&1; st=$?
is "$st" 0 "no-op re-run under valgrind exits 0" ||
    { cat "$T/out" "$T/vg-noop.log" | head -60 | sed 's/^/# /'; }

finish
