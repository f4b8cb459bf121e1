/*
 * --checksum: does a local file hold what its object holds?
 *
 * A single-part object's ETag is the MD5 of its bytes.  A multipart
 * object's ETag is "hex(md5(md5(part1) .. md5(partN)))-N", and only N
 * is known, not the part size: we try every part size a client was
 * likely to use that gives exactly N parts, all in one pass over the
 * file.  An ETag of another form, or a layout none of our guesses
 * explains, is CSUM_UNKNOWN: the plan uploads such a file again rather
 * than skip it unverified.  SSE-KMS and SSE-C ETags look like an MD5
 * but are not one: for those, and for multipart objects, the MD5 of the
 * content recorded at upload (the index, or rclone's
 * x-amz-meta-md5chksum) is compared instead, in one pass.
 */
#include "config.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/base64.h>
#include <mbedtls/md.h>
#include <mbedtls/md5.h>

#include "extern.h"
#include "s3.h"

#define MIB		(1024ULL * 1024)
#define CSUM_CHUNK	(1024 * 1024)	/* bytes per pread */
#define CSUM_MAXCAND	20		/* room for every candidate below */
#define CSUM_THREADS	4

/*
 * Part sizes in MiB that clients use by default, besides the per-file
 * N-way splits.  Confirmed in their sources:
 *   5   rclone --s3-chunk-size (backend/s3/s3.go, minChunkSize)
 *   8   aws cli, boto3 (awscli/customizations/s3/transferconfig.py);
 *       s3transfer doubles it past 10,000 parts (s3transfer/utils.py,
 *       ChunksizeAdjuster): 16, 32, 64 ... 512 MiB
 *   10  s3fs-fuse -o multipart_size (man page, "MB" meaning MiB)
 *   15  s3cmd multipart_chunk_size_mb (S3/Config.py, S3/MultiPart.py)
 *   16  minio-go and mc minPartSize (constants.go; 64 in old releases)
 *   50  s5cmd --part-size (command/cp.go)
 *   100 a round size people configure
 */
static const unsigned checksum_client_mib[] = {
	5, 8, 10, 15, 16, 32, 50, 64, 100, 128, 256, 512
};

/* One part-size guess, advancing through the file with all others. */
struct cand {
	uint64_t		 part;	/* part size */
	uint64_t		 left;	/* bytes due in the current part */
	uint32_t		 nparts; /* parts finished */
	mbedtls_md5_context	 cur;	/* the current part */
	mbedtls_md5_context	 all;	/* the finished parts' digests */
};

/* Work shared by the checksum_table threads. */
struct pool {
	const char		*root;
	const struct config	*cfg;
	struct entry		**v;	/* the entries to read */
	size_t			 n;
	size_t			 next;	/* next index to take */
	size_t			 failed;
	pthread_mutex_t		 lock;
};

/*
 * The S3 multipart ETag of the "n" part digests "md5s" (16 bytes each,
 * in part order): hex MD5 of their concatenation, "-", n; into out[45]
 * (n <= MP_MAX_PARTS always fits).
 */
void
checksum_multipart_etag(const unsigned char *md5s, size_t n, char out[45])
{
	unsigned char md5[16];
	char hex[33];

	mbedtls_md5_ret(md5s, n * 16, md5);
	hex_encode(md5, sizeof(md5), hex);
	snprintf(out, 45, "%s-%zu", hex, n);
}

/* The number of parts of "part" bytes for "size" bytes: at least one. */
static uint64_t
checksum_nparts(uint64_t size, uint64_t part)
{
	if (size == 0)
		return 1;
	return size / part + (size % part != 0);
}

/* "v" rounded up to a multiple of "unit". */
static uint64_t
checksum_roundup(uint64_t v, uint64_t unit)
{
	return (v / unit + (v % unit != 0)) * unit;
}

/*
 * The part size p3backup uses for a file of "size" bytes: "want"
 * (cfg->part_size; 16 MiB when 0), at least MP_MIN_PART; when that needs
 * more than MP_MAX_PARTS parts, the smallest whole number of MiB that
 * does not; at most MP_MAX_PART.
 */
uint64_t
checksum_part_size(uint64_t size, uint64_t want)
{
	uint64_t part = want == 0 ? 16 * MIB : want;

	if (part < MP_MIN_PART)
		part = MP_MIN_PART;
	if (checksum_nparts(size, part) > MP_MAX_PARTS)
		part = checksum_roundup(checksum_nparts(size, MP_MAX_PARTS),
		    MIB);
	/* Past 48.8 TiB nothing fits; the upload reports that. */
	if (part > MP_MAX_PART)
		part = MP_MAX_PART;
	return part;
}

/* Add "part" to the "*n" sizes of "v" if it gives "nparts" parts. */
static void
checksum_cand_add(uint64_t *v, size_t *n, uint64_t size, uint64_t nparts,
    uint64_t part)
{
	size_t i;

	/* Every size that gives one part gives the same ETag. */
	if (part == 0 || *n == CSUM_MAXCAND || (nparts == 1 && *n > 0) ||
	    checksum_nparts(size, part) != nparts)
		return;
	for (i = 0; i < *n; i++)
		if (v[i] == part)
			return;
	v[(*n)++] = part;
}

/*
 * The part sizes worth trying for a "size"-byte object of "nparts"
 * parts, into v[CSUM_MAXCAND].  Returns how many.
 */
static size_t
checksum_candidates(uint64_t size, uint64_t nparts, uint64_t part_size,
    uint64_t *v)
{
	uint64_t even;
	size_t i, n = 0;

	checksum_cand_add(v, &n, size, nparts,
	    checksum_part_size(size, part_size));
	/*
	 * The smallest part that needs no more than "nparts": rclone and
	 * others raise their part size to a whole MiB this way, and any
	 * client that does so for a limit of M parts lands on the same
	 * size when its file took N <= M parts.  Some count in MB.
	 */
	even = checksum_nparts(size, nparts);
	checksum_cand_add(v, &n, size, nparts, checksum_roundup(even, MIB));
	checksum_cand_add(v, &n, size, nparts,
	    checksum_roundup(even, 1000 * 1000));
	for (i = 0; i < sizeof(checksum_client_mib) /
	    sizeof(checksum_client_mib[0]); i++)
		checksum_cand_add(v, &n, size, nparts,
		    checksum_client_mib[i] * MIB);
	return n;
}

/* Close the current part of "c": its digest goes into c->all. */
static void
checksum_cand_flush(struct cand *c)
{
	unsigned char md5[16];

	mbedtls_md5_finish_ret(&c->cur, md5);
	mbedtls_md5_update_ret(&c->all, md5, sizeof(md5));
	mbedtls_md5_starts_ret(&c->cur);
	c->left = c->part;
	c->nparts++;
}

/* Feed "len" bytes to "c", closing parts at its boundaries. */
static void
checksum_cand_update(struct cand *c, const unsigned char *p, size_t len)
{
	size_t take;

	while (len > 0) {
		take = len < c->left ? len : (size_t)c->left;
		mbedtls_md5_update_ret(&c->cur, p, take);
		c->left -= take;
		p += take;
		len -= take;
		if (c->left == 0)
			checksum_cand_flush(c);
	}
}

/* pread(2), retried on EINTR. */
static ssize_t
checksum_pread(int fd, unsigned char *buf, size_t len, uint64_t off)
{
	ssize_t n;

	do
		n = pread(fd, buf, len, (off_t)off);
	while (n == -1 && errno == EINTR);
	return n;
}

/*
 * Whether e's content can be compared at all: its MD5 is known, or its
 * ETag is one made of MD5s.
 */
static int
checksum_comparable(const struct entry *e)
{
	return entry_md5(e) != NULL || (e->retag_md5 && !e->rnotmd5);
}

/*
 * What an answer about e's object (HEAD or GET) says of its content:
 * x-amz-meta-md5chksum (rclone's base64 MD5) becomes e's MD5
 * (entry_set_md5); without it, an answer saying SSE-KMS or SSE-C marks
 * the ETag as no MD5 (rnotmd5), unless e's MD5 is already known.
 */
void
checksum_note_answer(struct entry *e, const struct s3_call *c)
{
	unsigned char md5[16];
	size_t olen;

	if (c->meta_md5 != NULL && mbedtls_base64_decode(md5, sizeof(md5),
	    &olen, (const unsigned char *)c->meta_md5,
	    strlen(c->meta_md5)) == 0 && olen == sizeof(md5))
		entry_set_md5(e, md5);
	else if (!sse_etag_is_md5(c) && (e->rx == NULL || !e->rx->md5_known))
		e->rnotmd5 = 1;
}

/*
 * Read "size" bytes of the file "fd" once, 1 MiB at a time, and compare
 * them with what is known of e's content: its MD5 (entry_md5), else the
 * multipart ETag in e->rmd5/rparts for each plausible part size (the one
 * p3backup would use with "part_size", N-way splits rounded to a MiB or
 * an MB, and the common client defaults), all hashed side by side.
 * Returns CSUM_SAME when one matches, CSUM_DIFF when none does or the
 * file is not "size" bytes long, CSUM_UNKNOWN without reading when
 * neither is known (an ETag of another form, or of SSE-KMS or SSE-C) or
 * no part size gives rparts parts, or -1 with errno set when a read fails
 * (nothing reported).
 */
int
checksum_file(int fd, uint64_t size, const struct entry *e,
    uint64_t part_size)
{
	mbedtls_md5_context whole;
	uint64_t parts[CSUM_MAXCAND], off = 0;
	struct cand *c = NULL;
	const unsigned char *known;
	unsigned char *buf = NULL, md5[16];
	size_t i, nc = 0, len;
	ssize_t n;
	int rc = -1, saved = 0;

	mbedtls_md5_init(&whole);
	mbedtls_md5_starts_ret(&whole);
	if (!checksum_comparable(e)) {
		rc = CSUM_UNKNOWN;
		goto out;
	}
	if ((known = entry_md5(e)) == NULL) {
		/* Decide before reading anything whether we can tell at all. */
		if ((nc = checksum_candidates(size, e->rparts, part_size,
		    parts)) == 0) {
			rc = CSUM_UNKNOWN;
			goto out;
		}
		c = xcalloc(nc, sizeof(*c));
		for (i = 0; i < nc; i++) {
			c[i].part = c[i].left = parts[i];
			mbedtls_md5_init(&c[i].cur);
			mbedtls_md5_init(&c[i].all);
			mbedtls_md5_starts_ret(&c[i].cur);
			mbedtls_md5_starts_ret(&c[i].all);
		}
	}
	buf = xmalloc(CSUM_CHUNK);
	while (off < size) {
		len = size - off < CSUM_CHUNK ? (size_t)(size - off) :
		    CSUM_CHUNK;
		if ((n = checksum_pread(fd, buf, len, off)) == -1) {
			saved = errno;
			goto out;
		}
		if (n == 0) {
			/* Shorter than listed: cannot be the object. */
			rc = CSUM_DIFF;
			goto out;
		}
		if (nc == 0)
			mbedtls_md5_update_ret(&whole, buf, (size_t)n);
		for (i = 0; i < nc; i++)
			checksum_cand_update(&c[i], buf, (size_t)n);
		off += (uint64_t)n;
	}
	/* One byte more tells whether the file grew. */
	if ((n = checksum_pread(fd, buf, 1, off)) == -1) {
		saved = errno;
		goto out;
	}
	rc = CSUM_DIFF;
	if (n > 0)
		goto out;
	if (nc == 0) {
		mbedtls_md5_finish_ret(&whole, md5);
		if (memcmp(md5, known, sizeof(md5)) == 0)
			rc = CSUM_SAME;
	}
	for (i = 0; i < nc; i++) {
		/* The last, short part; or the one empty part of "". */
		if (c[i].left != c[i].part || c[i].nparts == 0)
			checksum_cand_flush(&c[i]);
		mbedtls_md5_finish_ret(&c[i].all, md5);
		if (c[i].nparts == e->rparts &&
		    memcmp(md5, e->rmd5, sizeof(md5)) == 0)
			rc = CSUM_SAME;
	}
out:
	mbedtls_md5_free(&whole);
	for (i = 0; c != NULL && i < nc; i++) {
		mbedtls_md5_free(&c[i].cur);
		mbedtls_md5_free(&c[i].all);
	}
	free(c);
	free(buf);
	if (rc == -1)
		errno = saved;
	return rc;
}

/*
 * Compare the file "fd" of "size" bytes with the keyed checksum of e's
 * encrypted object (doc/encryption.md).  Returns CSUM_SAME or
 * CSUM_DIFF, or -1 on a read error (errno set).
 */
static int
checksum_keyed(int fd, uint64_t size, const struct entry *e,
    const unsigned char hkey[32])
{
	mbedtls_md_context_t ctx;
	unsigned char mac[32], *buf;
	uint64_t off = 0;
	ssize_t n;
	int rc = -1, saved = 0;

	mbedtls_md_init(&ctx);
	buf = xmalloc(CSUM_CHUNK);
	if (mbedtls_md_setup(&ctx, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256),
	    1) != 0 || mbedtls_md_hmac_starts(&ctx, hkey, 32) != 0) {
		saved = ENOMEM;
		goto out;
	}
	while (off < size) {
		n = pread(fd, buf, CSUM_CHUNK, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			saved = errno;
			goto out;
		}
		if (n == 0)
			break;
		mbedtls_md_hmac_update(&ctx, buf, (size_t)n);
		off += (uint64_t)n;
	}
	mbedtls_md_hmac_finish(&ctx, mac);
	rc = off == size && memcmp(mac, e->rx->hmac, sizeof(mac)) == 0 ?
	    CSUM_SAME : CSUM_DIFF;
out:
	mbedtls_md_free(&ctx);
	free(buf);
	if (rc == -1)
		errno = saved;
	return rc;
}

/*
 * Open and compare the file of "e" under p->root.  Returns its enum
 * CSUM, or CSUM_NONE after reporting (under p->lock) and counting a
 * failure.
 */
static int
checksum_entry(struct pool *p, const struct entry *e)
{
	struct stat st;
	const char *why = NULL;
	char *path, *key;
	int fd, flags, rc = CSUM_NONE;

	path = xasprintf("%s/%s", p->root, e->key);
	/* Never block on a FIFO swapped in since the scan. */
	flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOATIME;
	if (!p->cfg->follow_symlinks)
		flags |= O_NOFOLLOW;
	if ((fd = open(path, flags)) == -1 && errno == EPERM)
		fd = open(path, flags & ~O_NOATIME);
	if (fd == -1) {
		why = errno == ELOOP ? "is now a symbolic link" :
		    strerror(errno);
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		why = strerror(errno);
		goto out;
	}
	/* Changed since the scan: let the upload look at it again. */
	if (!S_ISREG(st.st_mode) || st.st_size != e->lsize) {
		rc = CSUM_DIFF;
		goto out;
	}
	if (p->cfg->crypt_hkey != NULL && e->rcrypt == RCRYPT_YES)
		rc = checksum_keyed(fd, (uint64_t)e->lsize, e,
		    p->cfg->crypt_hkey);
	else
		rc = checksum_file(fd, (uint64_t)e->lsize, e,
		    p->cfg->part_size);
	if (rc == -1) {
		why = strerror(errno);
		rc = CSUM_NONE;
	}
out:
	if (why != NULL) {
		key = printable(e->key);
		pthread_mutex_lock(&p->lock);
		warnx("%s: %s", key, why);
		p->failed++;
		pthread_mutex_unlock(&p->lock);
		free(key);
	}
	if (fd != -1)
		close(fd);
	free(path);
	return rc;
}

/* Take entries from the pool until none is left. */
static void *
checksum_worker(void *arg)
{
	struct pool *p = arg;
	struct entry *e;

	for (;;) {
		pthread_mutex_lock(&p->lock);
		e = p->next < p->n ? p->v[p->next++] : NULL;
		pthread_mutex_unlock(&p->lock);
		if (e == NULL)
			break;
		/* Nobody else touches this entry until the threads end. */
		e->csum = (unsigned)checksum_entry(p, e);
	}
	return NULL;
}

/*
 * Compare the n entries of v (as checksum_entry), setting e->csum, on
 * up to CSUM_THREADS threads, this one included.
 */
static void
checksum_run(const char *root, const struct config *cfg,
    struct entry **v, size_t n, size_t *failed)
{
	pthread_t tid[CSUM_THREADS - 1];
	struct pool p;
	size_t i, started = 0, want;
	long ncpu;

	memset(&p, 0, sizeof(p));
	p.root = root;
	p.cfg = cfg;
	p.v = v;
	p.n = n;
	pthread_mutex_init(&p.lock, NULL);
	/* Hashing is CPU work: a thread per CPU, at least 2 for the disk. */
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	want = ncpu < 2 ? 2 : ncpu > CSUM_THREADS ? CSUM_THREADS :
	    (size_t)ncpu;
	if (want > p.n)
		want = p.n;
	/* This thread works too, so a failed pthread_create only slows. */
	for (i = 1; i < want; i++)
		if (pthread_create(&tid[started], NULL, checksum_worker,
		    &p) == 0)
			started++;
	checksum_worker(&p);
	for (i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	*failed += p.failed;
	pthread_mutex_destroy(&p.lock);
}

/*
 * Set e->csum for every entry of "tbl": CSUM_NONE, except for files (not
 * directory markers nor symlinks) present on both sides with the same size:
 * CSUM_UNKNOWN without reading when the ETag is no MD5 and no MD5 is
 * known, else the verdict of checksum_file on "root/key".  With a key
 * (cfg->crypt_hkey), encrypted objects are compared by their keyed
 * checksum instead, whatever the object's size: CSUM_UNKNOWN when it is
 * not known, CSUM_NONE when the recorded plaintext size is not the
 * file's.  Files are opened as upload.c does; one that is no longer a
 * regular file of the scanned size is CSUM_DIFF, for the upload to look
 * at.  A few threads share the files.  A file that cannot be read is
 * reported, added to *failed and left CSUM_NONE.
 */
void
checksum_table(const char *root, const struct config *cfg,
    struct table *tbl, size_t *failed)
{
	struct entry *e, **v;
	size_t ti, n = 0;

	v = xcalloc(tbl->n + 1, sizeof(*v));
	TABLE_FOREACH(tbl, ti, e) {
		e->csum = CSUM_NONE;
		/* A link is its size and mtime: it has no content to read. */
		if (!e->local || !e->remote || e->dir || e->link)
			continue;
		if (cfg->crypt_hkey != NULL && e->rcrypt == RCRYPT_YES) {
			if (e->rx == NULL || !e->rx->hmac_known)
				e->csum = CSUM_UNKNOWN;
			else if (e->rx->psize < 0 || e->rx->psize == e->lsize)
				v[n++] = e;
			continue;
		}
		if (e->lsize != e->rsize)
			continue;
		if (!checksum_comparable(e))
			e->csum = CSUM_UNKNOWN;
		else
			v[n++] = e;
	}
	checksum_run(root, cfg, v, n, failed);
	free(v);
}

/*
 * Whether e's --checksum verdict came from its ETag alone and said
 * CSUM_DIFF or CSUM_UNKNOWN, so that its metadata (HEAD) may tell better:
 * a local and remote file of one size, no MD5 known apart from the ETag,
 * rnotmd5 not set, and no encryption key in use.
 */
int
checksum_doubtful(const struct entry *e, const struct config *cfg)
{
	return e->local && e->remote && !e->dir && !e->link &&
	    cfg->crypt_hlen == 0 && (e->csum == CSUM_DIFF || e->csum == CSUM_UNKNOWN) &&
	    e->lsize == e->rsize && (e->rx == NULL || !e->rx->md5_known) &&
	    !e->rnotmd5;
}

/*
 * Compare again, as checksum_table, those of the "n" entries of "v" whose
 * metadata (HEAD) gave an MD5 or showed an ETag that is no MD5; the
 * others keep their verdict.  "v" is reordered: the entries compared
 * again are moved to its front.
 */
void
checksum_again(const char *root, const struct config *cfg,
    struct entry **v, size_t n, size_t *failed)
{
	size_t i, m = 0;

	/* Only those the HEAD taught something: an MD5, or a lying ETag. */
	for (i = 0; i < n; i++)
		if ((v[i]->rx != NULL && v[i]->rx->md5_known) ||
		    v[i]->rnotmd5)
			v[m++] = v[i];
	checksum_run(root, cfg, v, m, failed);
}
