/*
 * The encrypted object format, version 1 (doc/encryption.md): a header
 * that carries a random data key wrapped for the recipient's RSA key
 * with OAEP, then the plaintext cut into 64 KiB chunks, each sealed with
 * AES-256-GCM under a nonce and additional data that bind it to its
 * index, to being the last chunk or not, to the header and to the
 * object's key.  Pure: no I/O but reading the key file, and no key
 * material is ever printed.
 *
 * A struct crypt_key may be shared by threads: mbedTLS locks its RSA
 * contexts itself (MBEDTLS_THREADING_C, on in Debian's build).  A
 * struct crypt_obj belongs to one thread at a time.
 */
#include "config.h"

#ifndef HAVE_GETRANDOM
#error "crypt.c needs getrandom(2) for its data keys"
#endif
#include <sys/random.h>

#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/gcm.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha256.h>

#include "extern.h"

#define CRYPT_KEYLEN	32	/* AES-256 data key */
#define CRYPT_NONCE	12
#define CRYPT_AADLEN	73	/* two hashes, the index, the final flag */
#define CRYPT_MIN_WRAP	256	/* wrapped key lengths a v1 header holds */
#define CRYPT_MAX_WRAP	(CRYPT_MAX_HDR - CRYPT_FIXED)
#define CRYPT_DERMAX	2048	/* a DER public key of 8192 bits fits */
#define CRYPT_CKLABEL	"p3backup checksum key 1"

struct crypt_key {
	mbedtls_pk_context pk;
	int		 private;
	size_t		 nbytes;	/* modulus = wrapped key bytes */
	unsigned char	 id[32];	/* SHA-256 of the DER public key */
	unsigned char	 ckey[32];	/* the keyed checksum's key */
};

static void
crypt_put_be(unsigned char *p, uint64_t v, size_t n)
{
	while (n-- > 0) {
		p[n] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static uint64_t
crypt_get_be(const unsigned char *p, size_t n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | *p++;
	return v;
}

/* "len" bytes from the kernel's generator into "p": 0, or -1 (reported). */
static int
crypt_random(unsigned char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = getrandom(p, len, 0)) == -1) {
			if (errno == EINTR)
				continue;
			warn("getrandom");
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* crypt_random() the way mbedTLS calls a generator (OAEP seed, blinding). */
static int
crypt_rng(void *unused, unsigned char *p, size_t len)
{
	(void)unused;
	return crypt_random(p, len) == 0 ? 0 : MBEDTLS_ERR_RSA_RNG_FAILED;
}

/*
 * Parse "path" into k->pk as the kind of key asked for.  NULL, or why
 * not (caller frees).  Giving one file of a pair for the other is the
 * likely mistake, so a key of the other kind is named as such.
 */
static char *
crypt_parse(struct crypt_key *k, const char *path, int private)
{
	mbedtls_pk_context other;
	int rc, orc;

	errno = 0;
	if (private)
		rc = mbedtls_pk_parse_keyfile(&k->pk, path, NULL);
	else
		rc = mbedtls_pk_parse_public_keyfile(&k->pk, path);
	if (rc == 0)
		return NULL;
	if (rc == MBEDTLS_ERR_PK_FILE_IO_ERROR)
		return xstrdup(errno != 0 ? strerror(errno) :
		    "cannot read the file");
	if (rc == MBEDTLS_ERR_PK_PASSWORD_REQUIRED ||
	    rc == MBEDTLS_ERR_PK_PASSWORD_MISMATCH)
		return xstrdup("passphrase-protected keys are not supported "
		    "(remove the passphrase with openssl pkey)");
	mbedtls_pk_init(&other);
	if (private)
		orc = mbedtls_pk_parse_public_keyfile(&other, path);
	else
		orc = mbedtls_pk_parse_keyfile(&other, path, NULL);
	mbedtls_pk_free(&other);
	if (private && orc == 0)
		return xstrdup("a public key; restoring needs the private key");
	if (!private && (orc == 0 || orc == MBEDTLS_ERR_PK_PASSWORD_REQUIRED))
		return xstrdup("a private key; backups need only the public "
		    "key (openssl pkey -pubout)");
	if (rc == MBEDTLS_ERR_PK_UNKNOWN_PK_ALG)
		return xstrdup("not an RSA key");
	return xstrdup("not a PEM key file");
}

/* Is the parsed key one we encrypt with?  NULL, or why not (caller frees). */
static char *
crypt_check(struct crypt_key *k)
{
	mbedtls_rsa_context *rsa;
	size_t bits;

	if (mbedtls_pk_get_type(&k->pk) != MBEDTLS_PK_RSA)
		return xasprintf("not an RSA key (%s)",
		    mbedtls_pk_get_name(&k->pk));
	bits = mbedtls_pk_get_bitlen(&k->pk);
	rsa = mbedtls_pk_rsa(k->pk);
	k->nbytes = mbedtls_rsa_get_len(rsa);
	if (bits < CRYPT_MIN_BITS)
		return xasprintf("RSA key of %zu bits; at least %d are "
		    "required", bits, CRYPT_MIN_BITS);
	/* The header has room for a wrapped key of 1024 bytes. */
	if (k->nbytes > CRYPT_MAX_WRAP)
		return xasprintf("RSA key of %zu bits; at most %d are "
		    "supported", bits, CRYPT_MAX_WRAP * 8);
	if (k->private && mbedtls_rsa_check_privkey(rsa) != 0)
		return xstrdup("inconsistent RSA private key");
	/* OAEP, and SHA-256 for both its hash and MGF1. */
	mbedtls_rsa_set_padding(rsa, MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA256);
	return NULL;
}

/*
 * The key id and the checksum key, both from the DER public key (which
 * mbedTLS also writes from a private key, and at the end of the buffer).
 */
static char *
crypt_ids(struct crypt_key *k)
{
	mbedtls_sha256_context h;
	unsigned char der[CRYPT_DERMAX];
	const unsigned char *p;
	int n;

	if ((n = mbedtls_pk_write_pubkey_der(&k->pk, der, sizeof(der))) <= 0)
		return xstrdup("cannot encode the public key");
	p = der + sizeof(der) - n;
	mbedtls_sha256_ret(p, (size_t)n, k->id, 0);
	mbedtls_sha256_init(&h);
	mbedtls_sha256_starts_ret(&h, 0);
	mbedtls_sha256_update_ret(&h, (const unsigned char *)CRYPT_CKLABEL,
	    strlen(CRYPT_CKLABEL));
	mbedtls_sha256_update_ret(&h, p, (size_t)n);
	mbedtls_sha256_finish_ret(&h, k->ckey);
	mbedtls_sha256_free(&h);
	return NULL;
}

/*
 * Read the RSA key in the PEM file "path": a public key
 * (SubjectPublicKeyInfo or PKCS#1), or with "private" a private key
 * (PKCS#1 or unencrypted PKCS#8), of CRYPT_MIN_BITS to 8192 bits.
 * Returns the key (free with crypt_key_free) and *why NULL, or NULL with
 * a one-line reason in *why (caller frees), which does not name the file:
 * the caller does.
 */
struct crypt_key *
crypt_key_load(const char *path, int private, char **why)
{
	struct crypt_key *k;

	k = xcalloc(1, sizeof(*k));
	k->private = private;
	mbedtls_pk_init(&k->pk);
	if ((*why = crypt_parse(k, path, private)) == NULL &&
	    (*why = crypt_check(k)) == NULL)
		*why = crypt_ids(k);
	if (*why != NULL) {
		crypt_key_free(k);
		k = NULL;
	}
	return k;
}

/* Free a key from crypt_key_load, wiping it; accepts NULL. */
void
crypt_key_free(struct crypt_key *k)
{
	if (k == NULL)
		return;
	mbedtls_pk_free(&k->pk);
	mbedtls_platform_zeroize(k, sizeof(*k));
	free(k);
}

/*
 * The header length of objects encrypted for this key: CRYPT_FIXED and
 * the wrapped key, as long as the modulus.
 */
size_t
crypt_header_len(const struct crypt_key *k)
{
	return CRYPT_FIXED + k->nbytes;
}

/*
 * The key id: SHA-256 of the public key's DER SubjectPublicKeyInfo; 32
 * bytes, owned by the key.
 */
const unsigned char *
crypt_key_id(const struct crypt_key *k)
{
	return k->id;
}

/*
 * The key of the keyed plaintext checksum (HMAC-SHA256) stored with
 * objects: SHA-256("p3backup checksum key 1" || DER public key); 32
 * bytes, owned by the key.
 */
const unsigned char *
crypt_checksum_key(const struct crypt_key *k)
{
	return k->ckey;
}

/*
 * Check the fixed part of the header among the "len" bytes at "h".
 * Returns the header length it announces, or -1 with a static reason
 * in *why.
 */
static long
crypt_hdr_check(const unsigned char *h, size_t len, const char **why)
{
	size_t magic = strlen(CRYPT_MAGIC);
	uint64_t wrap = 0;

	*why = NULL;
	if (len < magic || memcmp(h, CRYPT_MAGIC, magic) != 0)
		*why = "not an encrypted object";
	else if (len < CRYPT_FIXED)
		*why = "truncated";
	else if (h[6] != CRYPT_VERSION || (h[7] & ~CRYPT_F_ZSTD) != 0 ||
	    crypt_get_be(h + 8, 4) != CRYPT_CHUNK)
		*why = "unsupported format version";
	else if ((wrap = crypt_get_be(h + 12, 2)) < CRYPT_MIN_WRAP ||
	    wrap > CRYPT_MAX_WRAP || crypt_get_be(h + 14, 2) != 0)
		*why = "corrupted header";
	return *why != NULL ? -1 : (long)(CRYPT_FIXED + wrap);
}

/*
 * How many header bytes an object beginning with the "len" bytes at "buf"
 * has, or -1 when they are not the fixed part (CRYPT_FIXED bytes) of a
 * header of a version we read.
 */
long
crypt_header_peek(const unsigned char *buf, size_t len)
{
	const char *why;

	return crypt_hdr_check(buf, len, &why);
}

/*
 * Derive what every chunk needs from obj->key and obj->hdr: the flags,
 * the hashes that go into the additional data and the GCM context.
 * 0, or -1 (reported).
 */
static int
crypt_obj_setup(struct crypt_obj *obj, const char *okey)
{
	obj->flags = obj->hdr[7];
	mbedtls_sha256_ret(obj->hdr, obj->hlen, obj->aad, 0);
	mbedtls_sha256_ret((const unsigned char *)okey, strlen(okey),
	    obj->aad + 32, 0);
	obj->gcm = xmalloc(sizeof(mbedtls_gcm_context));
	mbedtls_gcm_init(obj->gcm);
	if (mbedtls_gcm_setkey(obj->gcm, MBEDTLS_CIPHER_ID_AES, obj->key,
	    CRYPT_KEYLEN * 8) != 0) {
		warnx("crypt: cannot set up AES-256-GCM");
		crypt_obj_free(obj);
		return -1;
	}
	return 0;
}

/*
 * Start object "okey" (the full object key, bound into every chunk) with
 * a fresh random data key wrapped for "pub" into obj->hdr with "flags"
 * (CRYPT_F_*).  Returns 0 (release "obj" with crypt_obj_free), or -1
 * (reported) with "obj" left zeroed.
 */
int
crypt_obj_new(struct crypt_obj *obj, const struct crypt_key *pub,
    const char *okey, unsigned flags)
{
	unsigned char *h = obj->hdr;

	memset(obj, 0, sizeof(*obj));
	if ((flags & ~(unsigned)CRYPT_F_ZSTD) != 0) {
		warnx("crypt: unknown flags %#x", flags);
		goto fail;
	}
	if (crypt_random(obj->key, sizeof(obj->key)) == -1)
		goto fail;
	memcpy(h, CRYPT_MAGIC, strlen(CRYPT_MAGIC));
	h[6] = CRYPT_VERSION;
	h[7] = (unsigned char)flags;
	crypt_put_be(h + 8, CRYPT_CHUNK, 4);
	crypt_put_be(h + 12, pub->nbytes, 2);
	crypt_put_be(h + 14, 0, 2);
	memcpy(h + 16, pub->id, sizeof(pub->id));
	obj->hlen = CRYPT_FIXED + pub->nbytes;
	if (mbedtls_rsa_rsaes_oaep_encrypt(mbedtls_pk_rsa(pub->pk), crypt_rng,
	    NULL, MBEDTLS_RSA_PUBLIC, NULL, 0, sizeof(obj->key), obj->key,
	    h + CRYPT_FIXED) != 0) {
		warnx("crypt: cannot wrap the data key");
		goto fail;
	}
	return crypt_obj_setup(obj, okey);
fail:
	crypt_obj_free(obj);
	return -1;
}

/*
 * As crypt_obj_new, from a journal's data key and header (hlen bytes,
 * checked to be a whole header of a version we read; the key is taken as
 * it is).  Returns 0, or -1 (reported) with "obj" left zeroed.
 */
int
crypt_obj_resume(struct crypt_obj *obj, const unsigned char key[32],
    const unsigned char *hdr, size_t hlen, const char *okey)
{
	const char *why;

	memset(obj, 0, sizeof(*obj));
	if (crypt_hdr_check(hdr, hlen, &why) != (long)hlen) {
		warnx("crypt: saved header: %s", why != NULL ? why :
		    "wrong length");
		crypt_obj_free(obj);
		return -1;
	}
	memcpy(obj->key, key, sizeof(obj->key));
	memcpy(obj->hdr, hdr, hlen);
	obj->hlen = hlen;
	return crypt_obj_setup(obj, okey);
}

/*
 * Parse the header at "hdr" (hlen bytes, from crypt_header_peek) of
 * object "okey" and unwrap its data key with "priv".  Everything that can
 * be checked without the private key is, first, so that the reason is
 * right: the key id says "another key", and an unwrap that fails for the
 * key the header names can only mean damage.  Returns 0 (release "obj"
 * with crypt_obj_free), or -1 with "obj" left zeroed and a static reason
 * in *why: "not an encrypted object", "unsupported format version",
 * "encrypted for another key", "corrupted header", "truncated", "a public
 * key cannot decrypt", or "cannot set up AES-256-GCM" (also reported).
 */
int
crypt_obj_open(struct crypt_obj *obj, const struct crypt_key *priv,
    const unsigned char *hdr, size_t hlen, const char *okey,
    const char **why)
{
	size_t olen;
	long want;
	int rc = -1;

	memset(obj, 0, sizeof(*obj));
	if ((want = crypt_hdr_check(hdr, hlen, why)) == -1)
		goto out;
	if (hlen != (size_t)want) {
		*why = hlen < (size_t)want ? "truncated" : "corrupted header";
		goto out;
	}
	if (memcmp(hdr + 16, priv->id, sizeof(priv->id)) != 0) {
		*why = "encrypted for another key";
		goto out;
	}
	if (!priv->private) {
		*why = "a public key cannot decrypt";
		goto out;
	}
	*why = "corrupted header";
	if (hlen - CRYPT_FIXED != priv->nbytes)
		goto out;
	memcpy(obj->hdr, hdr, hlen);
	obj->hlen = hlen;
	if (mbedtls_rsa_rsaes_oaep_decrypt(mbedtls_pk_rsa(priv->pk), crypt_rng,
	    NULL, MBEDTLS_RSA_PRIVATE, NULL, 0, &olen, hdr + CRYPT_FIXED,
	    obj->key, sizeof(obj->key)) != 0 || olen != sizeof(obj->key))
		goto out;
	if (crypt_obj_setup(obj, okey) == -1) {
		*why = "cannot set up AES-256-GCM";
		goto out;
	}
	*why = NULL;
	rc = 0;
out:
	if (rc == -1)
		crypt_obj_free(obj);
	return rc;
}

/*
 * Release and wipe an object's state; a zeroed one is fine.  "obj" itself
 * is the caller's.
 */
void
crypt_obj_free(struct crypt_obj *obj)
{
	if (obj->gcm != NULL) {
		mbedtls_gcm_free(obj->gcm);
		free(obj->gcm);
	}
	mbedtls_platform_zeroize(obj, sizeof(*obj));
}

/* The nonce and the additional data of chunk "index". */
static void
crypt_chunk_ad(const struct crypt_obj *obj, uint64_t index, int final,
    unsigned char iv[CRYPT_NONCE], unsigned char aad[CRYPT_AADLEN])
{
	memset(iv, 0, 4);
	crypt_put_be(iv + 4, index, 8);
	memcpy(aad, obj->aad, sizeof(obj->aad));
	crypt_put_be(aad + 64, index, 8);
	aad[72] = final ? 1 : 0;
}

/*
 * Seal the "len" plaintext bytes at "in" as chunks first, first+1, ...
 * (every chunk CRYPT_CHUNK bytes but the last; len == 0 gives one empty
 * chunk), the last one marked final when "last" is set, into "out"
 * (crypt_sealed_len(len) bytes).  A caller sealing a stream in pieces
 * passes whole chunks (len a multiple of CRYPT_CHUNK) but for the last
 * piece, since readers cut the stored body at fixed offsets.  Returns the
 * bytes written; exits (status 3) if AES-GCM fails, which is a bug.
 */
size_t
crypt_seal(struct crypt_obj *obj, uint64_t first, int last,
    const unsigned char *in, size_t len, unsigned char *out)
{
	unsigned char iv[CRYPT_NONCE], aad[CRYPT_AADLEN];
	size_t n, done = 0, w = 0;

	do {
		n = len - done < CRYPT_CHUNK ? len - done : CRYPT_CHUNK;
		crypt_chunk_ad(obj, first++, last && done + n == len, iv, aad);
		/* Fails only on impossible lengths: a bug, not an input. */
		if (mbedtls_gcm_crypt_and_tag(obj->gcm, MBEDTLS_GCM_ENCRYPT, n,
		    iv, sizeof(iv), aad, sizeof(aad), in + done, out + w,
		    CRYPT_TAG, out + w + n) != 0)
			errx(EXIT_FATAL, "crypt: AES-GCM failed");
		done += n;
		w += n + CRYPT_TAG;
	} while (done < len);
	return w;
}

/*
 * What crypt_seal writes for "len" plaintext bytes: len + CRYPT_TAG per
 * chunk.
 */
size_t
crypt_sealed_len(size_t len)
{
	return len + CRYPT_TAG * (size_t)crypt_nchunks(len);
}

/*
 * Open stored chunk "index" ("len" bytes: ciphertext and tag), "final"
 * when it is the last, into "out" (len - CRYPT_TAG bytes).  Only the
 * final chunk may be short: any other would not be where a reader cutting
 * at fixed offsets finds it.  Returns 0, or -1 when its length is wrong
 * or it does not authenticate; reports nothing.
 */
int
crypt_open_chunk(struct crypt_obj *obj, uint64_t index, int final,
    const unsigned char *in, size_t len, unsigned char *out)
{
	unsigned char iv[CRYPT_NONCE], aad[CRYPT_AADLEN];
	size_t n;

	if (len < CRYPT_TAG || len - CRYPT_TAG > CRYPT_CHUNK ||
	    (!final && len - CRYPT_TAG != CRYPT_CHUNK))
		return -1;
	n = len - CRYPT_TAG;
	crypt_chunk_ad(obj, index, final, iv, aad);
	if (mbedtls_gcm_auth_decrypt(obj->gcm, n, iv, sizeof(iv), aad,
	    sizeof(aad), in + n, CRYPT_TAG, in, out) != 0)
		return -1;
	return 0;
}

/*
 * Chunks of a plaintext of "size" bytes (1 for an empty one); no size
 * near UINT64_MAX overflows.
 */
uint64_t
crypt_nchunks(uint64_t size)
{
	return size == 0 ? 1 : (size - 1) / CRYPT_CHUNK + 1;
}

/*
 * Stored size of an uncompressed object of "size" plaintext bytes with a
 * header of "hlen": H + P + 16n (doc/encryption.md).
 */
uint64_t
crypt_size(size_t hlen, uint64_t size)
{
	return hlen + size + CRYPT_TAG * crypt_nchunks(size);
}
