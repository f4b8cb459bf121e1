/*
 * Fuzz target: object keys.  uri_encode() with and without
 * keep_slash must give only unreserved bytes and upper-case %XX, and
 * url_decode() of that must give the key back byte for byte (or refuse
 * it when the key holds a NUL byte, which no key may).  url_decode()
 * is also run on the raw input, and download_key_check() is held to
 * its promise: a key it accepts is a relative path without empty, "."
 * or ".." segments or NUL (a backslash is an ordinary byte on POSIX).
 */
#include "config.h"

#include <string.h>

#include "extern.h"
#include "targets.h"

static int
fuzz_key_unreserved(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

static int
fuzz_key_upperhex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* Check one encoding of the "len" bytes at "key" and its round trip. */
static void
fuzz_key_encode(const char *key, size_t len, int keep_slash)
{
	struct buf dec = { NULL, 0, 0 };
	char *enc;
	size_t i, elen, plain = 0;
	int nul, plus;

	enc = uri_encode(key, len, keep_slash);
	elen = strlen(enc);
	for (i = 0; i < elen; i++) {
		if (enc[i] == '%') {
			fuzz_check(i + 2 < elen &&
			    fuzz_key_upperhex((unsigned char)enc[i + 1]) &&
			    fuzz_key_upperhex((unsigned char)enc[i + 2]),
			    "key", "bad %XX in an encoded key");
			i += 2;
		} else
			fuzz_check(fuzz_key_unreserved((unsigned char)enc[i]) ||
			    (keep_slash && enc[i] == '/'), "key",
			    "reserved byte left in an encoded key");
		plain++;
	}
	fuzz_check(plain == len, "key", "encoded length does not match");

	nul = memchr(key, '\0', len) != NULL;
	/* '+' is always encoded, so both decodings must give the key. */
	for (plus = 0; plus <= 1; plus++) {
		if (url_decode(&dec, enc, elen, plus) == -1)
			fuzz_check(nul, "key", "url_decode refused an encoding");
		else {
			fuzz_check(!nul, "key", "url_decode let a NUL through");
			fuzz_check(dec.len == len && memcmp(dec.data, key,
			    len) == 0, "key", "url_decode(encode(key)) != key");
		}
	}
	buf_free(&dec);
	free(enc);
}

/* Hold download_key_check to its promise on the "len" bytes at "key". */
static void
fuzz_key_check(const char *key, size_t len)
{
	size_t i, seg = 0;

	if (download_key_check(key, len) != NULL)
		return;
	fuzz_check(len > 0 && key[0] != '/', "key",
	    "empty or absolute key accepted");
	fuzz_check(memchr(key, '\0', len) == NULL, "key",
	    "key with NUL accepted");
	for (i = 0; i <= len; i++) {
		if (i < len && key[i] != '/')
			continue;
		fuzz_check(i > seg, "key", "empty segment accepted");
		fuzz_check(!(i - seg == 1 && key[seg] == '.') &&
		    !(i - seg == 2 && memcmp(key + seg, "..", 2) == 0),
		    "key", "\".\" or \"..\" segment accepted");
		seg = i + 1;
	}
}

int
fuzz_key(const uint8_t *data, size_t size)
{
	const char *key = (const char *)data;
	struct buf dec = { NULL, 0, 0 };
	int plus;

	fuzz_key_encode(key, size, 0);
	fuzz_key_encode(key, size, 1);
	for (plus = 0; plus <= 1; plus++)
		if (url_decode(&dec, key, size, plus) == 0)
			fuzz_check(dec.len <= size && dec.data[dec.len] == '\0' &&
			    memchr(dec.data, '\0', dec.len) == NULL, "key",
			    "url_decode gave a NUL or grew");
	buf_free(&dec);
	fuzz_key_check(key, size);
	return 0;
}

#ifndef FUZZ_NO_ENTRY
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_key(data, size);
}
#endif
