/*
 * Unit tests for crypt.c and encode.c: loading keys (and refusing the
 * wrong ones with a clear reason), the size arithmetic, the known-answer
 * vectors of tests/data/crypt (made by tests/crypt_ref.py, see README
 * there), round trips through encode_file/decode_file in memory and
 * through temporary files, with and without compression, tampering of
 * every kind the format claims to catch, files that change while read,
 * and objects made here decrypted by the reference implementation, which
 * was written from doc/encryption.md alone.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/md.h>
#include <mbedtls/md5.h>
#include <zstd.h>

#include "extern.h"
#include "tap.h"

/* key1's id and checksum key, computed with openssl (see the README). */
#define KEY1_ID	\
	"a0c5a6126e8eb01059089a605693cf542683daff65b724333ec64fc1be9ed118"
#define KEY1_CKEY \
	"ecd66a1a573bcb1f1e3c854259fb717fa08dd1fc00a027d83fa8dceb38d4de8f"
#define KEY1_HLEN	(CRYPT_FIXED + 384)
#define OKEY		"home/user/report.pdf"

#define WHY_CHUNK	"corrupted (a chunk does not authenticate)"
#define WHY_ZSTD	"corrupted (bad compressed data)"
#define STORED		(CRYPT_CHUNK + CRYPT_TAG)

static char tmpdir[4096];
static struct crypt_key *pub1, *priv1, *priv2;

static void fatal(const char *) __attribute__((noreturn));

/* Bail out: the test itself cannot go on. */
static void
fatal(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(99);
}

/* $top_srcdir/"rel" (static buffer, one at a time). */
static const char *
srcpath(const char *rel)
{
	static char path[4096];
	const char *top;

	if ((top = getenv("top_srcdir")) == NULL)
		top = ".";
	snprintf(path, sizeof(path), "%s/%s", top, rel);
	return path;
}

/* tests/data/crypt/"name" (static buffer). */
static const char *
datapath(const char *name)
{
	static char rel[256];

	snprintf(rel, sizeof(rel), "tests/data/crypt/%s", name);
	return srcpath(rel);
}

/* tmpdir/"rel" (static buffer, one at a time). */
static const char *
tmppath(const char *rel)
{
	static char path[sizeof(tmpdir) + 32];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	return path;
}

static void
put(const char *path, const void *data, size_t len)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1 ||
	    (len > 0 && write(fd, data, len) != (ssize_t)len) ||
	    close(fd) == -1)
		fatal(path);
}

/* The whole file "path"; the caller frees. */
static unsigned char *
slurp(const char *path, size_t *len)
{
	unsigned char *p;
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &st) == -1)
		fatal(path);
	p = xmalloc((size_t)st.st_size);
	if (read(fd, p, (size_t)st.st_size) != st.st_size)
		fatal(path);
	close(fd);
	*len = (size_t)st.st_size;
	return p;
}

/* The KAT pattern: byte j is j % 251. */
static unsigned char *
pattern(size_t len)
{
	unsigned char *p;
	size_t j;

	p = xmalloc(len);
	for (j = 0; j < len; j++)
		p[j] = (unsigned char)(j % 251);
	return p;
}

/* Bytes that do not compress (xorshift64), or with "alpha" 16 letters. */
static unsigned char *
noise(size_t len, uint64_t seed, int alpha)
{
	unsigned char *p;
	size_t j;

	p = xmalloc(len);
	for (j = 0; j < len; j++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		p[j] = alpha ? (unsigned char)('a' + (seed >> 40) % 16) :
		    (unsigned char)(seed >> 32);
	}
	return p;
}

static int
parse_hex(const char *s, unsigned char *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return -1;
	return hex_decode(s, n, out);
}

/* crypt_key_load on tests/data/crypt/"name"; *why freed into "reason". */
static struct crypt_key *
load(const char *name, int private, char *reason, size_t size)
{
	struct crypt_key *k;
	char *why = NULL;

	k = crypt_key_load(name[0] == '/' ? name : datapath(name), private,
	    &why);
	snprintf(reason, size, "%s", why != NULL ? why : "");
	free(why);
	return k;
}

static void
test_keys(void)
{
	static const char *same[][2] = {
		{ "key1.pub.pem", "0" }, { "key1.rsapub.pem", "0" },
		{ "key1.pem", "1" }, { "key1.rsa.pem", "1" },
	};
	struct crypt_key *k;
	char why[256], id[65];
	size_t i;

	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		k = load(same[i][0], same[i][1][0] == '1', why, sizeof(why));
		if (!ok(k != NULL, "%s loads", same[i][0])) {
			tap_diag("%s", why);
			continue;
		}
		hex_encode(crypt_key_id(k), 32, id);
		is_str(id, KEY1_ID, "%s: key id is openssl's", same[i][0]);
		hex_encode(crypt_checksum_key(k), 32, id);
		is_str(id, KEY1_CKEY, "%s: checksum key", same[i][0]);
		ok(crypt_header_len(k) == KEY1_HLEN, "%s: header length",
		    same[i][0]);
		crypt_key_free(k);
	}

	k = load("rsa2048.pub.pem", 0, why, sizeof(why));
	ok(k == NULL, "RSA-2048 refused");
	is_str(why, "RSA key of 2048 bits; at least 3072 are required",
	    "RSA-2048: reason");
	k = load("key2.enc.pem", 1, why, sizeof(why));
	ok(k == NULL && strstr(why, "passphrase-protected keys are not "
	    "supported") == why, "encrypted PKCS#8 refused: %s", why);
	k = load("key2.enc-traditional.pem", 1, why, sizeof(why));
	ok(k == NULL && strstr(why, "passphrase-protected keys are not "
	    "supported") == why, "encrypted PKCS#1 refused: %s", why);
	k = load("missing.pem", 0, why, sizeof(why));
	ok(k == NULL, "missing file refused");
	is_str(why, strerror(ENOENT), "missing file: reason");
	put(tmppath("garbage.pem"), "-----BEGIN GARBAGE-----\nxyz\n", 28);
	k = load(tmppath("garbage.pem"), 0, why, sizeof(why));
	ok(k == NULL, "garbage refused");
	is_str(why, "not a PEM key file", "garbage: reason");
	k = load(tmppath("garbage.pem"), 1, why, sizeof(why));
	is_str(why, "not a PEM key file", "garbage as private: reason");
	k = load("key1.pub.pem", 1, why, sizeof(why));
	ok(k == NULL, "public key given for the private one refused");
	is_str(why, "a public key; restoring needs the private key",
	    "public for private: reason");
	k = load("key1.pem", 0, why, sizeof(why));
	ok(k == NULL, "private key given for the public one refused");
	is_str(why, "a private key; backups need only the public key "
	    "(openssl pkey -pubout)", "private for public: reason");
	k = load("key2.enc.pem", 0, why, sizeof(why));
	ok(k == NULL && strncmp(why, "a private key;", 14) == 0,
	    "encrypted private key for the public one: %s", why);
	k = load("ec.pub.pem", 0, why, sizeof(why));
	ok(k == NULL, "EC key refused");
	is_str(why, "not an RSA key (EC)", "EC key: reason");
}

static void
test_sizes(void)
{
	static const struct {
		uint64_t	size, chunks;
	} t[] = {
		{ 0, 1 }, { 1, 1 }, { 65535, 1 }, { 65536, 1 }, { 65537, 2 },
		{ 131072, 2 }, { 131073, 3 }, { 5ULL << 40, 80ULL << 20 },
	};
	unsigned char hdr[CRYPT_FIXED];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ok(crypt_nchunks(t[i].size) == t[i].chunks, "nchunks(%llu)",
		    (unsigned long long)t[i].size);
		ok(crypt_size(KEY1_HLEN, t[i].size) ==
		    KEY1_HLEN + t[i].size + CRYPT_TAG * t[i].chunks,
		    "crypt_size(%llu)", (unsigned long long)t[i].size);
	}
	ok(crypt_sealed_len(0) == 16 && crypt_sealed_len(65535) == 65551 &&
	    crypt_sealed_len(65536) == 65552 &&
	    crypt_sealed_len(65537) == 65569, "crypt_sealed_len");
	memset(hdr, 0, sizeof(hdr));
	ok(crypt_header_peek(hdr, sizeof(hdr)) == -1, "peek: zeros");
	memcpy(hdr, "P3BENC\1\0\0\1\0\0\1\200\0\0", 16);
	ok(crypt_header_peek(hdr, sizeof(hdr)) == KEY1_HLEN, "peek: v1");
	hdr[6] = 2;
	ok(crypt_header_peek(hdr, sizeof(hdr)) == -1, "peek: version 2");
	hdr[6] = 1;
	hdr[7] = 0x80;
	ok(crypt_header_peek(hdr, sizeof(hdr)) == -1, "peek: unknown flag");
	hdr[7] = 0;
	hdr[10] = 2;
	ok(crypt_header_peek(hdr, sizeof(hdr)) == -1, "peek: chunk size");
	hdr[10] = 1;
	hdr[12] = 8;
	ok(crypt_header_peek(hdr, sizeof(hdr)) == -1, "peek: L > 1024");
}

/* The fixed data key and header of the known answers. */
static void
kat_inputs(unsigned char key[32], unsigned char **hdr, size_t *hlen,
    char **okey)
{
	char *s;
	size_t n;

	s = tap_fixture("crypt", "kat.datakey", &n);
	if (parse_hex(s, key, 32) == -1) {
		printf("Bail out! kat.datakey is not 64 hex digits\n");
		exit(99);
	}
	free(s);
	*hdr = (unsigned char *)tap_fixture("crypt", "kat.header", hlen);
	*okey = tap_fixture("crypt", "kat.okey", &n);
}

static void
test_kat(void)
{
	static const size_t sizes[] = { 0, 1, 65536, 65537, 200000 };
	struct crypt_obj obj, opened;
	unsigned char key[32], *hdr, *plain, *got, *back;
	char *okey, *want, name[64];
	const char *why;
	size_t i, hlen, wlen, n, half;
	uint64_t c;

	kat_inputs(key, &hdr, &hlen, &okey);
	ok(crypt_obj_resume(&obj, key, hdr, hlen, okey) == 0, "KAT: resume");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(name, sizeof(name), "kat-%zu.sealed", sizes[i]);
		want = tap_fixture("crypt", name, &wlen);
		plain = pattern(sizes[i] + 1);
		got = xmalloc(crypt_sealed_len(sizes[i]));
		n = crypt_seal(&obj, 0, 1, plain, sizes[i], got);
		ok(n == wlen && memcmp(got, want, n) == 0,
		    "KAT %zu: crypt_seal matches crypt_ref.py", sizes[i]);
		/* In pieces of whole chunks, as multipart parts are made. */
		if (sizes[i] > CRYPT_CHUNK) {
			half = CRYPT_CHUNK;
			n = crypt_seal(&obj, 0, 0, plain, half, got);
			n += crypt_seal(&obj, 1, 1, plain + half,
			    sizes[i] - half, got + n);
			ok(n == wlen && memcmp(got, want, n) == 0,
			    "KAT %zu: sealed in two calls", sizes[i]);
		}
		back = xmalloc(CRYPT_CHUNK);
		for (c = 0; c < crypt_nchunks(sizes[i]); c++) {
			n = c + 1 < crypt_nchunks(sizes[i]) ? STORED :
			    wlen - c * STORED;
			if (crypt_open_chunk(&obj, c, c + 1 ==
			    crypt_nchunks(sizes[i]), (unsigned char *)want +
			    c * STORED, n, back) == -1 ||
			    memcmp(back, plain + c * CRYPT_CHUNK,
			    n - CRYPT_TAG) != 0)
				break;
		}
		ok(c == crypt_nchunks(sizes[i]), "KAT %zu: chunks open",
		    sizes[i]);
		free(back);
		free(got);
		free(plain);
		free(want);
	}
	ok(crypt_open_chunk(&obj, 0, 0, hdr, 15, hdr) == -1,
	    "a chunk shorter than its tag does not open");
	crypt_obj_free(&obj);
	crypt_obj_free(&obj);
	ok(obj.gcm == NULL, "crypt_obj_free twice is fine");

	ok(crypt_obj_open(&opened, priv1, hdr, hlen, okey, &why) == 0,
	    "KAT header opens with key1.pem");
	ok(memcmp(opened.key, key, 32) == 0 && opened.flags == 0 &&
	    opened.hlen == hlen, "KAT header: the fixed data key");
	crypt_obj_free(&opened);
	ok(crypt_obj_open(&opened, priv2, hdr, hlen, okey, &why) == -1,
	    "KAT header with key2.pem fails");
	is_str(why, "encrypted for another key", "key2: reason");
	ok(crypt_obj_open(&opened, pub1, hdr, hlen, okey, &why) == -1,
	    "KAT header with the public key fails");
	is_str(why, "a public key cannot decrypt", "public key: reason");
	ok(crypt_obj_open(&opened, priv1, hdr, hlen - 1, okey, &why) == -1,
	    "a short header fails");
	is_str(why, "truncated", "short header: reason");
	free(hdr);
	free(okey);
}

static void
test_new(void)
{
	struct crypt_obj a, b;
	unsigned char hdr[CRYPT_MAX_HDR];
	char id[65], msg[256];
	const char *why;
	int h;

	ok(crypt_obj_new(&a, pub1, OKEY, CRYPT_F_ZSTD) == 0 &&
	    crypt_obj_new(&b, pub1, OKEY, 0) == 0, "crypt_obj_new");
	ok(a.hlen == KEY1_HLEN && memcmp(a.hdr, "P3BENC\1\1\0\1\0\0\1\200\0\0",
	    16) == 0, "header fields, zstd flag");
	ok(b.hdr[7] == 0 && b.flags == 0 && a.flags == CRYPT_F_ZSTD,
	    "flags");
	hex_encode(a.hdr + 16, 32, id);
	is_str(id, KEY1_ID, "header: key id");
	ok(memcmp(a.key, b.key, 32) != 0 &&
	    memcmp(a.hdr + CRYPT_FIXED, b.hdr + CRYPT_FIXED, 384) != 0,
	    "fresh data key and wrap each time");
	memcpy(hdr, a.hdr, a.hlen);
	crypt_obj_free(&b);
	ok(crypt_obj_open(&b, priv1, hdr, KEY1_HLEN, OKEY, &why) == 0 &&
	    memcmp(a.key, b.key, 32) == 0, "own header unwraps");
	crypt_obj_free(&a);
	crypt_obj_free(&b);

	if ((h = tap_capture_begin()) == -1)
		exit(99);
	hdr[0] = 'X';
	ok(crypt_obj_resume(&a, hdr, hdr, KEY1_HLEN, OKEY) == -1,
	    "resume refuses a bad header");
	ok(crypt_obj_new(&b, pub1, OKEY, 2) == -1, "unknown flag refused");
	tap_capture_end(h, msg, sizeof(msg));
	ok(strstr(msg, "not an encrypted object") != NULL,
	    "resume: reason reported");
	ok(a.gcm == NULL && b.gcm == NULL, "failed objects left zeroed");
}

/* A limit above every plaintext here, for compressed objects. */
#define NO_LIMIT	((int64_t)1 << 30)

/* decode_file on the bytes "obj" into tmpdir/out; the plaintext in *plain. */
static int
decode_bytes(const unsigned char *obj, size_t olen, int64_t max,
    const struct crypt_key *priv, const char *okey, unsigned char **plain,
    size_t *plen, const char **why)
{
	uint64_t got = 0;
	int in, out, rc;

	put(tmppath("obj"), obj, olen);
	/* Junk longer than any plaintext here: decode must truncate it. */
	put(tmppath("out"), "junk", 4);
	if ((in = open(tmppath("obj"), O_RDONLY)) == -1 ||
	    (out = open(tmppath("out"), O_RDWR)) == -1 ||
	    ftruncate(out, 1 << 20) == -1)
		fatal("decode_bytes");
	rc = decode_file(in, olen, out, priv, okey, max, &got, why);
	close(in);
	close(out);
	*plain = slurp(tmppath("out"), plen);
	if (rc == 0 && got != *plen)
		rc = -2;
	return rc;
}

/* The object made by encode_file, from memory or from its file. */
static unsigned char *
encoded_bytes(const struct encoded *enc)
{
	unsigned char *p;

	p = xmalloc(enc->len);
	if (enc->mem != NULL)
		memcpy(p, enc->mem, enc->len);
	else if (pread(enc->fd, p, enc->len, 0) != (ssize_t)enc->len)
		fatal("pread");
	return p;
}

/*
 * encode_file on "data", check what it made, decode it; returns the
 * object (caller frees) and its length in *olen.
 */
static unsigned char *
roundtrip(const char *what, const unsigned char *data, size_t len,
    int compress, size_t memmax, int want_z, size_t *olen)
{
	struct encoded enc;
	unsigned char md5[16], mac[32], ckey[32], *obj, *plain;
	const char *dwhy;
	char *why;
	size_t plen;
	int fd;

	put(tmppath("plain"), data, len);
	if ((fd = open(tmppath("plain"), O_RDONLY)) == -1)
		fatal("plain");
	ok(encode_file(fd, len, pub1, OKEY, compress, memmax, &enc, &why) == 0,
	    "%s: encode_file", what);
	close(fd);
	if (why != NULL)
		tap_diag("%s", why);
	free(why);
	ok(enc.compressed == want_z, "%s: compressed is %d", what, want_z);
	ok((enc.mem != NULL) == (enc.len <= memmax) &&
	    (enc.mem != NULL) == (enc.fd == -1), "%s: %s", what,
	    enc.len <= memmax ? "in memory" : "in a temporary file");
	if (!want_z)
		ok(enc.len == crypt_size(KEY1_HLEN, len), "%s: object size",
		    what);
	obj = encoded_bytes(&enc);
	ok(obj[7] == (want_z ? CRYPT_F_ZSTD : 0), "%s: header flag", what);
	mbedtls_md5_ret(obj, enc.len, md5);
	ok(memcmp(md5, enc.md5, 16) == 0, "%s: MD5 of the object", what);
	parse_hex(KEY1_CKEY, ckey, 32);
	mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), ckey,
	    32, data, len, mac);
	ok(memcmp(mac, enc.hmac, 32) == 0, "%s: keyed checksum", what);
	*olen = enc.len;
	encoded_free(&enc);
	ok(decode_bytes(obj, *olen, (int64_t)len, priv1, OKEY, &plain, &plen,
	    &dwhy) == 0 &&
	    plen == len && memcmp(plain, data, len) == 0,
	    "%s: decodes to the same bytes", what);
	free(plain);
	return obj;
}

static void
test_roundtrip(void)
{
	unsigned char *data, *obj;
	size_t olen;

	data = noise(300000, 1, 0);
	free(roundtrip("empty", data, 0, 0, 1 << 20, 0, &olen));
	free(roundtrip("empty, compress", data, 0, 1, 1 << 20, 0, &olen));
	free(roundtrip("1 byte", data, 1, 0, 1 << 20, 0, &olen));
	free(roundtrip("65536 bytes", data, 65536, 0, 1 << 20, 0, &olen));
	free(roundtrip("65537 bytes, file", data, 65537, 0, 0, 0, &olen));
	free(roundtrip("random, memory", data, 300000, 0, 1 << 20, 0, &olen));
	free(roundtrip("random, file", data, 300000, 0, 1000, 0, &olen));
	free(roundtrip("random, compress", data, 300000, 1, 1 << 20, 0,
	    &olen));
	free(roundtrip("random, compress, file", data, 300000, 1, 1000, 0,
	    &olen));
	free(data);

	data = pattern(3000000);
	obj = roundtrip("pattern, compress", data, 3000000, 1, 1 << 20, 1,
	    &olen);
	ok(olen < 10000, "pattern compresses (%zu bytes)", olen);
	free(obj);
	free(roundtrip("pattern, compress, file", data, 3000000, 1, 0, 1,
	    &olen));
	free(roundtrip("pattern, no compress", data, 3000000, 0, 1 << 20, 0,
	    &olen));
	free(data);

	/* Compresses to about half: spills to a file half way through. */
	data = noise(600000, 2, 1);
	obj = roundtrip("letters, compress, spills", data, 600000, 1, 100000,
	    1, &olen);
	ok(olen > 100000 && olen < 600000, "letters: %zu bytes", olen);
	free(obj);
	free(data);
}

/* Decoding the "olen" bytes "obj" fails with "want". */
static void
expect_fail(const char *what, const unsigned char *obj, size_t olen,
    const struct crypt_key *priv, const char *okey, const char *want)
{
	unsigned char *plain;
	const char *why = NULL;
	size_t plen;

	ok(decode_bytes(obj, olen, NO_LIMIT, priv, okey, &plain, &plen,
	    &why) == -1,
	    "%s: refused", what);
	is_str(why, want, "%s: reason", what);
	free(plain);
}

/* A copy of "obj" with byte "off" xor 0x01. */
static unsigned char *
flip(const unsigned char *obj, size_t olen, size_t off)
{
	unsigned char *p;

	p = xmalloc(olen + 1);
	memcpy(p, obj, olen);
	p[off] ^= 0x01;
	return p;
}

static void
test_tamper(void)
{
	static const struct {
		const char	*what;
		size_t		 off;
		const char	*want;
	} flips[] = {
		{ "magic", 0, "not an encrypted object" },
		{ "version", 6, "unsupported format version" },
		{ "zstd flag", 7, WHY_CHUNK },
		{ "chunk size", 10, "unsupported format version" },
		{ "L", 12, "corrupted header" },
		{ "reserved", 15, "corrupted header" },
		{ "key id", 20, "encrypted for another key" },
		{ "wrapped key", 100, "corrupted header" },
		{ "middle chunk", KEY1_HLEN + STORED + 5, WHY_CHUNK },
		{ "first tag", KEY1_HLEN + STORED - 1, WHY_CHUNK },
	};
	unsigned char *data, *obj, *bad, *full;
	size_t olen, flen, i;

	data = noise(200000, 3, 0);
	obj = roundtrip("tamper base", data, 200000, 0, 1 << 20, 0, &olen);
	for (i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		bad = flip(obj, olen, flips[i].off);
		expect_fail(flips[i].what, bad, olen, priv1, OKEY,
		    flips[i].want);
		free(bad);
	}
	bad = flip(obj, olen, olen - 1);
	expect_fail("last tag", bad, olen, priv1, OKEY, WHY_CHUNK);
	expect_fail("truncated by 1 byte", obj, olen - 1, priv1, OKEY,
	    WHY_CHUNK);
	expect_fail("truncated at a chunk boundary", obj,
	    KEY1_HLEN + 3 * STORED, priv1, OKEY, WHY_CHUNK);
	expect_fail("header only", obj, KEY1_HLEN, priv1, OKEY, "truncated");
	expect_fail("header and 15 bytes", obj, KEY1_HLEN + 15, priv1, OKEY,
	    "truncated");
	expect_fail("half a header", obj, 200, priv1, OKEY, "truncated");
	expect_fail("40 bytes", obj, 40, priv1, OKEY, "truncated");
	expect_fail("empty object", obj, 0, priv1, OKEY,
	    "not an encrypted object");
	expect_fail("plain text", (const unsigned char *)"hello, world\n", 13,
	    priv1, OKEY, "not an encrypted object");
	memcpy(bad, obj, olen);
	memcpy(bad + KEY1_HLEN, obj + KEY1_HLEN + STORED, STORED);
	memcpy(bad + KEY1_HLEN + STORED, obj + KEY1_HLEN, STORED);
	expect_fail("two chunks swapped", bad, olen, priv1, OKEY, WHY_CHUNK);
	memcpy(bad, obj, olen);
	bad[olen] = 0;
	expect_fail("a byte appended", bad, olen + 1, priv1, OKEY, WHY_CHUNK);
	expect_fail("another object key", obj, olen, priv1, OKEY "x",
	    WHY_CHUNK);
	expect_fail("wrong private key", obj, olen, priv2, OKEY,
	    "encrypted for another key");
	expect_fail("public key", obj, olen, pub1, OKEY,
	    "a public key cannot decrypt");
	free(bad);
	free(obj);

	/* Ending with a full chunk, one more byte leaves a 1-byte chunk. */
	full = roundtrip("full chunk", data, 65536, 0, 1 << 20, 0, &flen);
	bad = xcalloc(1, flen + 1);
	memcpy(bad, full, flen);
	expect_fail("full chunk, a byte appended", bad, flen + 1, priv1, OKEY,
	    "truncated");
	free(bad);
	free(full);
	free(data);
}

/* Seal "stream" (already the zstd stream) as a compressed object. */
static unsigned char *
zstd_object(const unsigned char *stream, size_t len, size_t *olen)
{
	struct crypt_obj obj;
	unsigned char *p;

	if (crypt_obj_new(&obj, pub1, OKEY, CRYPT_F_ZSTD) == -1)
		exit(99);
	*olen = obj.hlen + crypt_sealed_len(len);
	p = xmalloc(*olen);
	memcpy(p, obj.hdr, obj.hlen);
	crypt_seal(&obj, 0, 1, stream, len, p + obj.hlen);
	crypt_obj_free(&obj);
	return p;
}

static void
test_bad_zstd(void)
{
	unsigned char *data, *frame, *obj, *plain;
	const char *why;
	size_t flen, olen, plen;

	data = pattern(200000);
	frame = xmalloc(ZSTD_compressBound(200000) + 1);
	flen = ZSTD_compress(frame, ZSTD_compressBound(200000), data, 200000,
	    3);
	if (ZSTD_isError(flen))
		exit(99);
	obj = zstd_object(frame, flen, &olen);
	ok(decode_bytes(obj, olen, 200000, priv1, OKEY, &plain, &plen,
	    &why) == 0 && plen == 200000 && memcmp(plain, data, plen) == 0,
	    "a zstd frame made elsewhere decodes");
	free(plain);
	/* Bounded: a compressed object expands to its recorded size only. */
	ok(decode_bytes(obj, olen, 199999, priv1, OKEY, &plain, &plen,
	    &why) == -1 && why != NULL && strstr(why, "recorded size") != NULL,
	    "zstd: one byte more than the limit is refused (%s)",
	    why != NULL ? why : "no reason");
	free(plain);
	ok(decode_bytes(obj, olen, -1, priv1, OKEY, &plain, &plen,
	    &why) == -1 && why != NULL && strstr(why, "not recorded") != NULL,
	    "zstd: no limit given is refused (%s)", why != NULL ? why :
	    "no reason");
	free(plain);
	free(obj);
	obj = zstd_object(frame, flen - 3, &olen);
	expect_fail("zstd frame cut short", obj, olen, priv1, OKEY,
	    "truncated");
	free(obj);
	frame[flen] = 0;
	obj = zstd_object(frame, flen + 1, &olen);
	expect_fail("a byte after the zstd frame", obj, olen, priv1, OKEY,
	    WHY_ZSTD);
	free(obj);
	obj = zstd_object(data, 1000, &olen);
	expect_fail("not zstd at all", obj, olen, priv1, OKEY, WHY_ZSTD);
	free(obj);
	free(frame);
	free(data);
}

static void
test_changed(void)
{
	struct encoded enc;
	unsigned char *data;
	char *why;
	int fd, z;

	data = noise(100000, 4, 0);
	put(tmppath("plain"), data, 100000);
	if ((fd = open(tmppath("plain"), O_RDONLY)) == -1)
		fatal("plain");
	for (z = 0; z <= 1; z++) {
		ok(encode_file(fd, 100001, pub1, OKEY, z, 1 << 20, &enc,
		    &why) == 1 && enc.mem == NULL && enc.fd == -1,
		    "shorter than its size: 1 (compress %d)", z);
		encoded_free(&enc);
		ok(encode_file(fd, 99999, pub1, OKEY, z, 0, &enc, &why) == 1 &&
		    enc.mem == NULL && enc.fd == -1,
		    "longer than its size: 1 (compress %d)", z);
		encoded_free(&enc);
	}
	close(fd);
	fd = open(tmppath("plain"), O_WRONLY);
	ok(encode_file(fd, 100000, pub1, OKEY, 0, 0, &enc, &why) == -1 &&
	    why != NULL, "unreadable: -1, %s", why);
	free(why);
	close(fd);
	free(data);
}

static void
test_write_error(void)
{
	unsigned char *data, *obj;
	const char *why = "x";
	uint64_t plain;
	size_t olen;
	int in, out;

	data = pattern(1000);
	obj = roundtrip("write error base", data, 1000, 0, 1 << 20, 0, &olen);
	put(tmppath("obj"), obj, olen);
	put(tmppath("ro"), "", 0);
	if ((in = open(tmppath("obj"), O_RDONLY)) == -1 ||
	    (out = open(tmppath("ro"), O_RDONLY)) == -1)
		fatal("write error");
	errno = 0;
	ok(decode_file(in, olen, out, priv1, OKEY, -1, &plain, &why) == -1 &&
	    why == NULL && errno == EBADF, "write error: -1, errno, no reason");
	close(in);
	close(out);
	free(obj);
	free(data);
}

/* Run tests/crypt_ref.py with "args"; its exit status, or -1. */
static int
run_ref(const char *const args[5])
{
	char script[4096];
	pid_t pid;
	int status;

	snprintf(script, sizeof(script), "%s", srcpath("tests/crypt_ref.py"));
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		execlp("python3", "python3", script, args[0], args[1], args[2],
		    args[3], args[4], (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* The reference implementation decrypts "data" encoded here. */
static void
ref_check(const char *what, const unsigned char *data, size_t len,
    int compress, int want_z)
{
	unsigned char *obj, *plain, *bad;
	char in[sizeof(tmpdir) + 32], out[sizeof(tmpdir) + 32], key[4096];
	const char *args[5];
	size_t olen, plen;

	obj = roundtrip(what, data, len, compress, 1 << 20, want_z, &olen);
	snprintf(in, sizeof(in), "%s", tmppath("ref.obj"));
	snprintf(out, sizeof(out), "%s", tmppath("ref.out"));
	put(in, obj, olen);
	args[0] = "decrypt";
	/* Copied: run_ref() reuses the static buffer. */
	snprintf(key, sizeof(key), "%s", datapath("key1.pem"));
	args[1] = key;
	args[2] = OKEY;
	args[3] = in;
	args[4] = out;
	if (!ok(run_ref(args) == 0, "%s: crypt_ref.py decrypts it", what))
		goto out;
	plain = slurp(out, &plen);
	ok(plen == len && memcmp(plain, data, len) == 0,
	    "%s: crypt_ref.py gives the same bytes", what);
	free(plain);
	bad = flip(obj, olen, olen - 20);
	put(in, bad, olen);
	free(bad);
	ok(run_ref(args) == 1, "%s: crypt_ref.py refuses a flipped byte",
	    what);
out:
	free(obj);
}

static void
test_ref(void)
{
	unsigned char *data;

	/* CI installs these: a missing one is a failure, not a skip. */
	if (!ok(system("command -v python3 >/dev/null && "
	    "command -v openssl >/dev/null && "
	    "command -v zstd >/dev/null") == 0,
	    "python3, openssl and zstd are installed"))
		return;
	data = noise(150000, 5, 1);
	ref_check("crypt_ref, plain", data, 150000, 0, 0);
	ref_check("crypt_ref, zstd", data, 150000, 1, 1);
	ref_check("crypt_ref, empty", data, 0, 0, 0);
	free(data);
}

int
main(void)
{
	char why[256];
	const char *t;

	t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_crypt.XXXXXX",
	    t != NULL && t[0] != '\0' ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror(tmpdir);
		return 99;
	}
	if ((pub1 = load("key1.pub.pem", 0, why, sizeof(why))) == NULL ||
	    (priv1 = load("key1.pem", 1, why, sizeof(why))) == NULL ||
	    (priv2 = load("key2.pem", 1, why, sizeof(why))) == NULL) {
		printf("Bail out! test keys: %s\n", why);
		return 99;
	}
	test_keys();
	test_sizes();
	test_kat();
	test_new();
	test_roundtrip();
	test_tamper();
	test_bad_zstd();
	test_changed();
	test_write_error();
	test_ref();
	crypt_key_free(pub1);
	crypt_key_free(priv1);
	crypt_key_free(priv2);
	ok(tap_rmtree(tmpdir) == 0, "temporary directory removed");
	return tap_done();
}
