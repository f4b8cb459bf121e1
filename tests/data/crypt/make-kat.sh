#!/bin/sh
# Regenerate the sealed known-answer bodies kat-N.sealed with the
# reference implementation, tests/crypt_ref.py, from the fixed data key
# (kat.datakey), header (kat.header) and object key (kat.okey).  The
# plaintext of vector N is N bytes, byte j being j % 251; it is made
# here and in tests/test_crypt.c, not stored.  Run from anywhere.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
ref=$here/../../crypt_ref.py
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for n in 0 1 65536 65537 200000; do
	python3 -c 'import sys; n = int(sys.argv[1]); sys.stdout.buffer.write(bytes(j % 251 for j in range(n)))' \
	    "$n" >"$tmp/plain"
	python3 "$ref" seal "$(cat "$here/kat.datakey")" "$here/kat.header" \
	    "$(cat "$here/kat.okey")" "$tmp/plain" "$here/kat-$n.sealed"
done
