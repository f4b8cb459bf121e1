/*
 * Whole files into and out of the encrypted format of crypt.c.
 * Encoding reads the plaintext with pread in steps, feeds the keyed
 * checksum, optionally compresses with zstd, and seals the stream a
 * batch of chunks at a time into the object: in memory while it is
 * small, else in an unlinked temporary file.  Decoding checks each
 * chunk before its plaintext is written.  Memory stays a few MiB
 * whatever the file size, but for an object kept in memory.
 */
#include "config.h"

#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/md.h>
#include <mbedtls/md5.h>
#include <zstd.h>

#include "extern.h"

#define ENC_STEP	(1024 * 1024)	/* plaintext bytes per pread */
#define ENC_BATCH	(16 * CRYPT_CHUNK) /* stream bytes sealed at once */
#define ENC_MINMEM	(64 * 1024)	/* first in-memory allocation */
#define ENC_LEVEL	3		/* zstd's default: fast, and pays */
#define DEC_STORED	(CRYPT_CHUNK + CRYPT_TAG) /* a full stored chunk */

#define WHY_TRUNC	"truncated"
#define WHY_CHUNK	"corrupted (a chunk does not authenticate)"
#define WHY_ZSTD	"corrupted (bad compressed data)"
#define WHY_LARGE	"corrupted (more plaintext than its recorded size)"
#define WHY_NOSIZE	"compressed, and its plaintext size is not recorded"

/* Where the object goes: memory while small, then an unlinked file. */
struct sink {
	unsigned char	*mem;
	size_t		 cap;
	size_t		 memmax;
	int		 fd;		/* -1 while in memory */
	uint64_t	 len;
	mbedtls_md5_context md5;
};

/* One attempt at encoding a file, compressed or not. */
struct pass {
	struct crypt_obj obj;
	struct sink	 out;
	ZSTD_CCtx	*zc;		/* NULL: the file as it is */
	unsigned char	*zbuf;		/* the compressor's output */
	unsigned char	*pend;		/* stream bytes not sealed yet */
	size_t		 npend;
	unsigned char	*sealed;	/* one sealed batch */
	uint64_t	 chunk;		/* index of the next chunk */
	uint64_t	 streamed;	/* stream bytes so far */
};

/* One object being decoded. */
struct dec {
	struct crypt_obj obj;
	ZSTD_DCtx	*zd;		/* NULL: stored uncompressed */
	int		 zdone;		/* the zstd frame has ended */
	unsigned char	*zbuf;		/* the decompressor's output */
	int		 out;
	uint64_t	 plain;		/* plaintext bytes written */
	int64_t		 max;		/* at most this many, -1: no limit */
};

/*
 * pread(2) until "len" bytes or the end of the file, retried on EINTR.
 * The bytes read, or -1 with errno set.
 */
static ssize_t
encode_pread(int fd, unsigned char *buf, size_t len, uint64_t off)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = pread(fd, buf + got, len - got, (off_t)(off + got));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* pwrite(2) all "len" bytes, retried on EINTR.  0, or -1 with errno set. */
static int
encode_pwrite(int fd, const unsigned char *buf, size_t len, uint64_t off)
{
	ssize_t n;

	while (len > 0) {
		if ((n = pwrite(fd, buf, len, (off_t)off)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static void
encode_sink_init(struct sink *s, size_t memmax)
{
	memset(s, 0, sizeof(*s));
	s->memmax = memmax;
	s->fd = -1;
	mbedtls_md5_init(&s->md5);
	mbedtls_md5_starts_ret(&s->md5);
}

static void
encode_sink_free(struct sink *s)
{
	mbedtls_md5_free(&s->md5);
	free(s->mem);
	if (s->fd != -1)
		close(s->fd);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

/* Room for "need" bytes in memory (need <= memmax), doubling up to memmax. */
static void
encode_sink_reserve(struct sink *s, size_t need)
{
	size_t cap;

	if (need <= s->cap)
		return;
	cap = s->cap < ENC_MINMEM / 2 ? ENC_MINMEM : 2 * s->cap;
	if (cap > s->memmax)
		cap = s->memmax;
	if (cap < need)
		cap = need;
	s->mem = xrealloc(s->mem, cap);
	s->cap = cap;
}

/* Move the object out of memory into a temporary file.  0, or -1 with *why. */
static int
encode_sink_spill(struct sink *s, char **why)
{
	if ((s->fd = scratch_open("enc")) == -1 ||
	    encode_pwrite(s->fd, s->mem, (size_t)s->len, 0) == -1) {
		*why = xasprintf("temporary file: %s", strerror(errno));
		return -1;
	}
	free(s->mem);
	s->mem = NULL;
	s->cap = 0;
	return 0;
}

/* Append "len" object bytes.  0, or -1 with *why. */
static int
encode_sink_write(struct sink *s, const unsigned char *p, size_t len,
    char **why)
{
	mbedtls_md5_update_ret(&s->md5, p, len);
	if (s->fd == -1 && s->len + len > s->memmax &&
	    encode_sink_spill(s, why) == -1)
		return -1;
	if (s->fd != -1) {
		if (encode_pwrite(s->fd, p, len, s->len) == -1) {
			*why = xasprintf("temporary file: %s", strerror(errno));
			return -1;
		}
	} else if (len > 0) {
		encode_sink_reserve(s, (size_t)s->len + len);
		memcpy(s->mem + s->len, p, len);
	}
	s->len += len;
	return 0;
}

/* Seal the pending stream bytes as the next chunks of the object. */
static int
encode_pass_seal(struct pass *p, int last, char **why)
{
	size_t n;

	n = crypt_seal(&p->obj, p->chunk, last, p->pend, p->npend, p->sealed);
	p->chunk += crypt_nchunks(p->npend);
	p->npend = 0;
	return encode_sink_write(&p->out, p->sealed, n, why);
}

/*
 * Add "len" bytes to the stream.  A full batch is sealed only once
 * more bytes come: until the stream ends, nobody knows which chunk is
 * the final one.
 */
static int
encode_pass_add(struct pass *p, const unsigned char *in, size_t len, char **why)
{
	size_t n;

	p->streamed += len;
	while (len > 0) {
		if (p->npend == ENC_BATCH && encode_pass_seal(p, 0, why) == -1)
			return -1;
		n = ENC_BATCH - p->npend < len ? ENC_BATCH - p->npend : len;
		memcpy(p->pend + p->npend, in, n);
		p->npend += n;
		in += n;
		len -= n;
	}
	return 0;
}

/*
 * Give "len" plaintext bytes to the stream: as they are, or through
 * the compressor, which "mode" ZSTD_e_end finishes.  0, or -1 with *why.
 */
static int
encode_pass_feed(struct pass *p, const unsigned char *in, size_t len,
    ZSTD_EndDirective mode, char **why)
{
	ZSTD_inBuffer src = { in, len, 0 };
	ZSTD_outBuffer dst;
	size_t left;

	if (p->zc == NULL)
		return encode_pass_add(p, in, len, why);
	do {
		dst.dst = p->zbuf;
		dst.size = ZSTD_CStreamOutSize();
		dst.pos = 0;
		left = ZSTD_compressStream2(p->zc, &dst, &src, mode);
		if (ZSTD_isError(left)) {
			*why = xasprintf("compression: %s",
			    ZSTD_getErrorName(left));
			return -1;
		}
		if (encode_pass_add(p, p->zbuf, dst.pos, why) == -1)
			return -1;
	} while (mode == ZSTD_e_end ? left != 0 : src.pos < src.size);
	return 0;
}

static void
encode_pass_free(struct pass *p)
{
	crypt_obj_free(&p->obj);
	encode_sink_free(&p->out);
	ZSTD_freeCCtx(p->zc);
	free(p->zbuf);
	free(p->pend);
	free(p->sealed);
	memset(p, 0, sizeof(*p));
}

/*
 * Set up a pass and write the header.  Uncompressed, the object's size
 * is known now, so a large one goes to a file at once rather than
 * through memory.  0, or -1 with *why.
 */
static int
encode_pass_init(struct pass *p, const struct crypt_key *pub, const char *okey,
    int compress, uint64_t size, size_t memmax, char **why)
{
	uint64_t osize;

	memset(p, 0, sizeof(*p));
	encode_sink_init(&p->out, memmax);
	p->pend = xmalloc(ENC_BATCH);
	p->sealed = xmalloc(crypt_sealed_len(ENC_BATCH));
	if (compress) {
		if ((p->zc = ZSTD_createCCtx()) == NULL)
			errx(EXIT_FATAL, "zstd: out of memory");
		p->zbuf = xmalloc(ZSTD_CStreamOutSize());
		if (ZSTD_isError(ZSTD_CCtx_setParameter(p->zc,
		    ZSTD_c_compressionLevel, ENC_LEVEL)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(p->zc,
		    ZSTD_c_checksumFlag, 0)) ||
		    ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(p->zc, size))) {
			*why = xstrdup("compression: cannot set up zstd");
			return -1;
		}
	}
	if (crypt_obj_new(&p->obj, pub, okey,
	    compress ? CRYPT_F_ZSTD : 0) == -1) {
		*why = xstrdup("cannot make a data key");
		return -1;
	}
	if (!compress) {
		osize = crypt_size(p->obj.hlen, size);
		if (osize > memmax) {
			if (encode_sink_spill(&p->out, why) == -1)
				return -1;
		} else
			encode_sink_reserve(&p->out, (size_t)osize);
	}
	return encode_sink_write(&p->out, p->obj.hdr, p->obj.hlen, why);
}

/*
 * Read the "size" bytes of "fd" through the pass and the checksum
 * "hmac", using "rbuf" (ENC_STEP bytes).  Returns 0 when the object is
 * complete; 1 when the file is not "size" bytes long; 2 when the
 * compressed stream has grown to the file's size, so compressing does
 * not pay; -1 with *why.
 */
static int
encode_pass_run(struct pass *p, int fd, uint64_t size,
    mbedtls_md_context_t *hmac, unsigned char *rbuf, char **why)
{
	uint64_t off = 0;
	ssize_t n;
	size_t want;

	while (off < size) {
		want = size - off < ENC_STEP ? (size_t)(size - off) : ENC_STEP;
		if ((n = encode_pread(fd, rbuf, want, off)) == -1)
			goto readerr;
		if (n == 0)
			return 1;
		mbedtls_md_hmac_update(hmac, rbuf, (size_t)n);
		if (encode_pass_feed(p, rbuf, (size_t)n, ZSTD_e_continue,
		    why) == -1)
			return -1;
		if (p->zc != NULL && p->streamed >= size)
			return 2;
		off += (uint64_t)n;
	}
	/* One byte more tells whether the file grew. */
	if ((n = encode_pread(fd, rbuf, 1, off)) == -1)
		goto readerr;
	if (n > 0)
		return 1;
	if (encode_pass_feed(p, NULL, 0, ZSTD_e_end, why) == -1)
		return -1;
	if (p->zc != NULL && p->streamed >= size)
		return 2;
	return encode_pass_seal(p, 1, why);
readerr:
	*why = xasprintf("read: %s", strerror(errno));
	return -1;
}

/*
 * One pass over the file, compressed or not; when it completes, hand
 * the object over to "enc".  Returns as encode_pass_run().
 */
static int
encode_pass(int fd, uint64_t size, const struct crypt_key *pub,
    const char *okey, int compress, size_t memmax, unsigned char *rbuf,
    struct encoded *enc, char **why)
{
	mbedtls_md_context_t hmac;
	struct pass p;
	int rc;

	mbedtls_md_init(&hmac);
	if (mbedtls_md_setup(&hmac,
	    mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1) != 0)
		errx(EXIT_FATAL, "encode: mbedTLS has no HMAC-SHA256");
	mbedtls_md_hmac_starts(&hmac, crypt_checksum_key(pub), 32);
	if ((rc = encode_pass_init(&p, pub, okey, compress, size, memmax,
	    why)) == 0)
		rc = encode_pass_run(&p, fd, size, &hmac, rbuf, why);
	if (rc == 0) {
		mbedtls_md_hmac_finish(&hmac, enc->hmac);
		mbedtls_md5_finish_ret(&p.out.md5, enc->md5);
		enc->compressed = compress;
		enc->len = p.out.len;
		enc->mem = (char *)p.out.mem;
		enc->fd = p.out.fd;
		p.out.mem = NULL;
		p.out.fd = -1;
	}
	encode_pass_free(&p);
	mbedtls_md_free(&hmac);
	return rc;
}

/*
 * Encode the plaintext file "fd" ("size" bytes as fstat saw them, read
 * with pread) as object "okey" for "pub" into "enc" (zeroed first, fd
 * -1): with "compress", zstd first, kept only when the compressed stream
 * comes out shorter than the file; otherwise that attempt is thrown away,
 * data key and all, and the file read again, since the header's flag is
 * sealed into every chunk and must be right before the first one.
 * Objects up to "memmax" bytes are built in memory, larger ones in an
 * unlinked file under $TMPDIR (or /tmp).  On 0, "enc" holds the object,
 * its MD5 and the keyed checksum of the plaintext (release with
 * encoded_free).  Returns 0; 1 when the file did not read as "size" bytes
 * (it changed), with *why NULL; -1 on an error, with a one-line reason in
 * *why (caller frees).
 */
int
encode_file(int fd, uint64_t size, const struct crypt_key *pub,
    const char *okey, int compress, size_t memmax, struct encoded *enc,
    char **why)
{
	unsigned char *rbuf;
	int rc;

	memset(enc, 0, sizeof(*enc));
	enc->fd = -1;
	*why = NULL;
	rbuf = xmalloc(ENC_STEP);
	rc = encode_pass(fd, size, pub, okey, compress, memmax, rbuf, enc, why);
	if (rc == 2)
		rc = encode_pass(fd, size, pub, okey, 0, memmax, rbuf, enc,
		    why);
	free(rbuf);
	return rc;
}

/*
 * Release what encode_file made, whatever it returned, leaving "enc"
 * empty (fd -1).  A struct encode_file never saw must have fd -1: a
 * descriptor of 0 or more is closed.
 */
void
encoded_free(struct encoded *enc)
{
	if (enc->fd >= 0)
		close(enc->fd);
	free(enc->mem);
	memset(enc, 0, sizeof(*enc));
	enc->fd = -1;
}

/*
 * Write plaintext at the end of what is written, never past d->max (a
 * small compressed object must not expand without bound).  0, or -1
 * with *why, or with errno for a write error.
 */
static int
encode_dec_write(struct dec *d, const unsigned char *p, size_t len,
    const char **why)
{
	if (d->max >= 0 && len > (uint64_t)d->max - d->plain) {
		*why = WHY_LARGE;
		return -1;
	}
	if (encode_pwrite(d->out, p, len, d->plain) == -1)
		return -1;
	d->plain += len;
	return 0;
}

/*
 * Give the plaintext of one chunk to the output: as it is, or through
 * the decompressor, which must not see bytes after its frame.  0, or -1
 * with *why, or with errno for a write error.
 */
static int
encode_dec_put(struct dec *d, const unsigned char *p, size_t len,
    const char **why)
{
	ZSTD_inBuffer src = { p, len, 0 };
	ZSTD_outBuffer dst;
	size_t left;
	int full = 0;

	if (d->zd == NULL)
		return encode_dec_write(d, p, len, why);
	/* A full output buffer may hide more output: call again. */
	while (!d->zdone && (src.pos < src.size || full)) {
		dst.dst = d->zbuf;
		dst.size = ZSTD_DStreamOutSize();
		dst.pos = 0;
		left = ZSTD_decompressStream(d->zd, &dst, &src);
		if (ZSTD_isError(left)) {
			*why = WHY_ZSTD;
			return -1;
		}
		if (encode_dec_write(d, d->zbuf, dst.pos, why) == -1)
			return -1;
		full = dst.pos == dst.size;
		d->zdone = left == 0;
	}
	if (src.pos < src.size) {
		*why = WHY_ZSTD;
		return -1;
	}
	return 0;
}

/*
 * Read the header of the "len" bytes object in "in" and open it.  Its
 * length, or -1 with *why, or with errno for a read error.  Anything
 * that is not a header we read goes to crypt_obj_open all the same:
 * it says what is wrong.
 */
static long
encode_dec_header(struct crypt_obj *obj, int in, uint64_t len,
    const struct crypt_key *priv, const char *okey, const char **why)
{
	unsigned char hdr[CRYPT_MAX_HDR];
	size_t got, want;
	ssize_t n;
	long hl;

	want = len < CRYPT_FIXED ? (size_t)len : CRYPT_FIXED;
	if ((n = encode_pread(in, hdr, want, 0)) == -1)
		return -1;
	got = (size_t)n;
	if (got == CRYPT_FIXED && (hl = crypt_header_peek(hdr, got)) != -1) {
		want = len < (uint64_t)hl ? (size_t)len : (size_t)hl;
		if ((n = encode_pread(in, hdr + got, want - got, got)) == -1)
			return -1;
		got += (size_t)n;
	}
	if (crypt_obj_open(obj, priv, hdr, got, okey, why) == -1)
		return -1;
	return (long)got;
}

/*
 * Open and write the chunks of the body, "blen" bytes after the header
 * of "hl".  0, or -1 with *why, or with errno for I/O.
 */
static int
encode_dec_body(struct dec *d, int in, long hl, uint64_t blen, const char **why)
{
	unsigned char *cbuf, *pbuf;
	uint64_t i, n, last;
	size_t clen;
	ssize_t r;
	int rc = -1;

	cbuf = xmalloc(DEC_STORED);
	pbuf = xmalloc(CRYPT_CHUNK);
	/* Every chunk but the last is full; the last has at least its tag. */
	n = (blen + DEC_STORED - 1) / DEC_STORED;
	if (n == 0 || (last = blen - (n - 1) * DEC_STORED) < CRYPT_TAG) {
		*why = WHY_TRUNC;
		goto out;
	}
	for (i = 0; i < n; i++) {
		clen = i + 1 < n ? DEC_STORED : (size_t)last;
		if ((r = encode_pread(in, cbuf, clen,
		    (uint64_t)hl + i * DEC_STORED)) == -1)
			goto out;
		if ((size_t)r < clen) {
			*why = WHY_TRUNC;
			goto out;
		}
		if (crypt_open_chunk(&d->obj, i, i + 1 == n, cbuf, clen,
		    pbuf) == -1) {
			*why = WHY_CHUNK;
			goto out;
		}
		if (encode_dec_put(d, pbuf, clen - CRYPT_TAG, why) == -1)
			goto out;
	}
	if (d->zd != NULL && !d->zdone) {
		*why = WHY_TRUNC;
		goto out;
	}
	rc = 0;
out:
	free(cbuf);
	free(pbuf);
	return rc;
}

/*
 * Decode object "okey" ("len" bytes in "in", read with pread) into the
 * file "out" (written from offset 0, then truncated to the plaintext
 * length) with "priv", writing at most "max" plaintext bytes (-1: no
 * limit; a compressed object needs one, the size recorded at upload).
 * Each chunk is checked before its plaintext is written, but a failure
 * can come after some were: on -1 "out" holds a partial file, so it must
 * be a temporary file for the caller to throw away.  Returns 0 with the
 * plaintext length in *plain (0 on failure); -1 with a static reason in
 * *why ("corrupted (a chunk does not authenticate)", "truncated",
 * "encrypted for another key", ...); or -1 on an I/O error with errno set
 * and *why NULL.
 */
int
decode_file(int in, uint64_t len, int out, const struct crypt_key *priv,
    const char *okey, int64_t max, uint64_t *plain, const char **why)
{
	struct dec d;
	long hl;
	int rc = -1, saved;

	memset(&d, 0, sizeof(d));
	d.out = out;
	d.max = max;
	*why = NULL;
	*plain = 0;
	if ((hl = encode_dec_header(&d.obj, in, len, priv, okey, why)) == -1)
		goto out;
	if (d.obj.flags & CRYPT_F_ZSTD) {
		if (max < 0) {
			*why = WHY_NOSIZE;
			goto out;
		}
		if ((d.zd = ZSTD_createDCtx()) == NULL)
			errx(EXIT_FATAL, "zstd: out of memory");
		d.zbuf = xmalloc(ZSTD_DStreamOutSize());
	}
	if (encode_dec_body(&d, in, hl, len - (uint64_t)hl, why) == -1)
		goto out;
	if (ftruncate(out, (off_t)d.plain) == -1)
		goto out;
	*plain = d.plain;
	rc = 0;
out:
	saved = errno;
	crypt_obj_free(&d.obj);
	ZSTD_freeDCtx(d.zd);
	free(d.zbuf);
	errno = saved;
	return rc;
}
