/*
 * Multipart upload of one large file, resumable across crashes.
 *
 * The file is read once, part after part in order, each part into its
 * own buffer (so memory stays near jobs x part size), hashed (and
 * sealed, with --encrypt-key) a few parts ahead by a thread of
 * readahead.c, and sent with Content-MD5.  A journal (journal.c) records the upload id and
 * every part the server has acknowledged, so a run killed half-way is
 * continued by the next one: parts the journal vouches for are read and
 * hashed again (to prove the file is unchanged) but not sent.  The
 * upload is completed only when every part is in, and counted only when
 * the final ETag is the one the parts give ("md5 of md5s-N"), or the
 * whole file's MD5 on servers that report that.  A file that changes
 * while it is read is never completed: its upload is aborted and the
 * file reported.
 */
#include "config.h"

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/base64.h>
#include <mbedtls/md.h>
#include <mbedtls/md5.h>

#include "extern.h"
#include "s3.h"

enum MP_STATE {
	MP_STARTING,		/* waiting for Create or ListParts */
	MP_SENDING,		/* parts go out */
	MP_COMPLETING,		/* CompleteMultipartUpload under way */
	MP_ENDED
};

struct mpfile {
	struct upload		*up;
	struct entry		*e;
	char			*okey;		/* object key */
	int			 fd;
	struct stat		 st;		/* the file when we began */
	struct journal		 j;
	enum MP_STATE		 state;
	uint32_t		 inflight;	/* calls under way */
	uint32_t		 sent;		/* parts sent this run */
	int			 failed;	/* give up once calls drain */
	int			 changed;	/* the file changed: abort */
	int			 feeding;	/* still up->mp */
	char			*complete_body;
	mbedtls_md5_context	 whole;		/* MD5 of the whole object */
	int			 encrypted;	/* --encrypt-key */
	struct crypt_obj	 obj;		/* ...its data key and header */
	mbedtls_md_context_t	 hmac;		/* ...keyed plaintext checksum */
	struct readahead	*ra;		/* parts prepared ahead */
	int			 sse;		/* part ETags may be no MD5 */
	char			**petag;	/* the server's part ETags where
						   they are not the MD5s */
};

struct mppart {
	struct mpfile		*mp;
	uint32_t		 n;		/* 0-based */
	char			*buf;
};

static void mp_finish(struct mpfile *);

/*
 * The part size of a file of "size" bytes.  Encrypted parts hold whole
 * chunks (doc/encryption.md), so theirs is a multiple of CRYPT_CHUNK.
 */
static uint64_t
mp_part_size(const struct upload *up, uint64_t size)
{
	uint64_t part;

	part = checksum_part_size(size, up->cfg->part_size);
	if (up->key != NULL && part % CRYPT_CHUNK != 0)
		part += CRYPT_CHUNK - part % CRYPT_CHUNK;
	return part;
}

/* The identity of the endpoint for the journal. */
char *
multipart_endpoint(const struct upload *up)
{
	if (up->cfg->endpoint != NULL)
		return xstrdup(up->cfg->endpoint);
	return xasprintf("aws:%s", s3_region(up->s3));
}

static struct s3_call *
mp_call(struct mpfile *mp, const char *method, s3_done_fn done, void *arg)
{
	struct s3_call *c;

	c = s3_call_new(method, mp->up->bucket, mp->okey);
	c->done = done;
	c->arg = arg;
	mp->inflight++;
	return c;
}

/*
 * Keep the server's ETag of part "i" (0-based) when it is not the part's
 * MD5 (SSE-KMS, SSE-C): CompleteMultipartUpload must name it.
 */
static void
mp_keep_etag(struct mpfile *mp, uint32_t i, const char *etag)
{
	if (mp->petag == NULL)
		mp->petag = xcalloc(mp->j.nparts, sizeof(*mp->petag));
	free(mp->petag[i]);
	mp->petag[i] = xstrdup(etag);
}

/* Abort an upload we will not complete; servers without the call are fine. */
static void
mp_abort_done(struct s3_call *c, void *arg)
{
	struct mpfile *mp = arg;

	if (!c->ok && c->status != 404 && c->status != 405 &&
	    c->status != 501)
		logmsg(1, "%s: could not abort the unfinished upload (HTTP %ld)",
		    mp->e->key, c->status);
	s3_call_free(c);
	mp->inflight--;
	mp_finish(mp);
}

static void
mp_abort(struct mpfile *mp, const char *upload_id)
{
	struct s3_call *c;

	c = mp_call(mp, "DELETE", mp_abort_done, mp);
	s3_call_query(c, "uploadId", upload_id);
	xfer_submit(s3_xfer(mp->up->s3), c);
}

/* Write mp's journal; a failure is this file's error. 0, or -1. */
static int
mp_journal_save(struct mpfile *mp)
{
	if (journal_save(&mp->j) == 0)
		return 0;
	report_error(mp->up->rep, mp->e->key, "its resume journal cannot be "
	    "written (see above)");
	return -1;
}

/* The end of one call: report failures that stop this file. */
static int
mp_call_failed(struct mpfile *mp, struct s3_call *c, const char *what)
{
	char *msg;

	if (c->ok)
		return 0;
	msg = s3_call_errstr(c);
	if (s3_call_fatal(c) && !mp->up->fatal) {
		mp->up->fatal = 1;
		report_error(mp->up->rep, mp->e->key, "%s", msg);
	} else if (s3_call_fatal(c))
		report_keep(mp->up->rep, mp->e->key, msg);
	else
		report_error(mp->up->rep, mp->e->key, "%s failed: %s", what, msg);
	free(msg);
	mp->failed = 1;
	return 1;
}

static void
mp_create_done(struct s3_call *c, void *arg)
{
	struct mpfile *mp = arg;

	mp->inflight--;
	if (!sse_etag_is_md5(c))
		mp->sse = 1;
	if (!mp_call_failed(mp, c, "CreateMultipartUpload")) {
		if (mpdoc_parse_initiate(c->resp.data, c->resp.len,
		    &mp->j.upload_id) == -1 || mp_journal_save(mp) == -1)
			mp->failed = 1;
		else
			mp->state = MP_SENDING;
	}
	s3_call_free(c);
	mp_finish(mp);
}

/* CreateMultipartUpload, with the metadata the object will carry. */
static void
mp_create(struct mpfile *mp)
{
	struct s3_call *c;
	char mtime[32];

	c = mp_call(mp, "POST", mp_create_done, mp);
	s3_call_query(c, "uploads", "");
	s3_call_header(c, "content-type", "application/octet-stream");
	mtime_format(mp->st.st_mtim.tv_sec, mp->st.st_mtim.tv_nsec, mtime);
	s3_call_header(c, "x-amz-meta-mtime", mtime);
	/* The keyed checksum is known only at the end: the index keeps it. */
	if (mp->encrypted)
		upload_crypt_headers(c, mp->up->key, mp->j.size, NULL);
	if (mp->up->cfg->storage_class != NULL)
		s3_call_header(c, "x-amz-storage-class",
		    mp->up->cfg->storage_class);
	xfer_submit(s3_xfer(mp->up->s3), c);
}

/* ListParts: forget journal parts the server does not hold as recorded. */
static int
mp_list_part(void *arg, const struct mpdoc_part *lp)
{
	struct mpfile *mp = arg;
	char hex[33];
	uint32_t i = lp->number - 1;

	if (lp->number == 0 || i >= mp->j.nparts || !mp->j.done[i])
		return 0;
	hex_encode(mp->j.md5s + 16 * i, 16, hex);
	if (strcasecmp(hex, lp->etag) == 0)
		mp->j.done[i] = PART_CONFIRMED;
	else if (mp->sse && lp->etag[0] != '\0') {
		/*
		 * SSE-KMS and SSE-C part ETags are no MD5.  The part was
		 * journaled only after the server took it with our
		 * Content-MD5: that it is there is the confirmation.
		 */
		mp->j.done[i] = PART_CONFIRMED;
		mp_keep_etag(mp, i, lp->etag);
	}
	return 0;
}

/* The abort of a stale upload found by multipart_forget. */
static void
mp_forget_done(struct s3_call *c, void *arg)
{
	(void)arg;
	s3_call_free(c);
}

/*
 * "e" is skipped: its object is in the bucket already.  A kill between
 * CompleteMultipartUpload and the removal of the journal leaves a
 * journal that no later run would touch: one for this very version of
 * the file, every part stored.  Remove it.  A journal for another
 * version is stale: removed by journal_open, its upload aborted as in
 * multipart_begin.  One with parts missing is left to resume.
 */
void
multipart_forget(struct upload *up, struct entry *e)
{
	struct journal j;
	struct s3_call *c;
	char *dir, *endpoint, *okey, *stale = NULL;
	uint32_t i, stored = 0;
	int r;

	if (e->dir || e->lsize <= 0 ||
	    (uint64_t)e->lsize < up->cfg->multipart_threshold)
		return;
	/* No journal directory: nothing to forget, and nothing to create. */
	dir = journal_dir();
	r = dir != NULL && access(dir, F_OK) == 0;
	free(dir);
	if (!r)
		return;
	endpoint = multipart_endpoint(up);
	okey = list_object_key(up->cfg, e->key);
	r = journal_open(&j, endpoint, up->bucket, okey, (uint64_t)e->lsize,
	    e->lmtime_sec, e->lmtime_nsec, mp_part_size(up, (uint64_t)e->lsize),
	    &stale);
	free(endpoint);
	if (r == 1) {
		for (i = 0; i < j.nparts; i++)
			stored += j.done[i] != 0;
		if (stored == j.nparts) {
			logmsg(1, "%s: removed the journal of an upload completed "
			    "by an interrupted run", e->key);
			journal_remove(&j);
		}
	}
	if (r != -1)
		journal_free(&j);
	if (stale != NULL) {
		c = s3_call_new("DELETE", up->bucket, okey);
		s3_call_query(c, "uploadId", stale);
		c->done = mp_forget_done;
		xfer_submit(s3_xfer(up->s3), c);
		free(stale);
	}
	free(okey);
}

/*
 * Forget the journal's upload (aborting it first when "abort") and
 * create a new one.
 */
static void
mp_start_over(struct mpfile *mp, int abort)
{
	uint32_t i;

	if (abort)
		mp_abort(mp, mp->j.upload_id);
	for (i = 0; i < mp->j.nparts; i++)
		mp->j.done[i] = PART_MISSING;
	free(mp->j.upload_id);
	mp->j.upload_id = NULL;
	journal_remove(&mp->j);
	mp_create(mp);
}

static void
mp_listparts_done(struct s3_call *c, void *arg)
{
	struct mpfile *mp = arg;
	uint32_t i, marker = 0;
	int truncated = 0;

	mp->inflight--;
	if (c->ok && mpdoc_parse_parts(c->resp.data, c->resp.len,
	    mp_list_part, mp, &truncated, &marker) == 0) {
		/* Only what the server confirmed counts as stored. */
		for (i = 0; i < mp->j.nparts; i++)
			mp->j.done[i] = mp->j.done[i] == PART_CONFIRMED ?
			    PART_STORED : PART_MISSING;
		if (truncated)
			logmsg(1, "%s: more than 1000 parts; the rest are sent "
			    "again", mp->e->key);
	} else if (c->status == 404) {
		/*
		 * The upload is gone (NoSuchUpload; Ceph RGW 16 says
		 * NoSuchKey): start a new one.
		 */
		s3_call_free(c);
		mp_start_over(mp, 0);
		return;
	} else if (mp->sse) {
		/*
		 * Part ETags that are no MD5 cannot come from the journal,
		 * and CompleteMultipartUpload must name them: start again.
		 */
		logmsg(1, "%s: cannot list stored parts (HTTP %ld) of an "
		    "encrypted upload; starting again", mp->e->key, c->status);
		s3_call_free(c);
		mp_start_over(mp, 1);
		return;
	} else
		/* No ListParts here (s3rver): trust the journal. */
		logmsg(1, "%s: cannot list stored parts (HTTP %ld); trusting "
		    "the journal", mp->e->key, c->status);
	for (i = 0; i < mp->j.nparts; i++)
		mp->j.done[i] = mp->j.done[i] != PART_MISSING ? PART_STORED :
		    PART_MISSING;
	mp->state = MP_SENDING;
	s3_call_free(c);
	mp_finish(mp);
}

/*
 * A resumed journal of an upload sealed otherwise than this run would
 * (plain, encrypted, for another key) cannot be continued: abort that
 * upload and start a new one.
 */
static void
mp_drop_resume(struct mpfile *mp)
{
	uint32_t i;

	logmsg(1, "%s: the interrupted upload was %s; starting again",
	    mp->e->key, mp->j.crypt == NULL ? "not encrypted" :
	    "encrypted otherwise");
	mp_abort(mp, mp->j.upload_id);
	free(mp->j.upload_id);
	mp->j.upload_id = NULL;
	/* A new data key follows: what the old one sealed does not matter. */
	for (i = 0; i < mp->j.nparts; i++)
		mp->j.done[i] = mp->j.sealed[i] = 0;
	journal_remove(&mp->j);
}

/*
 * Set up the encryption of mp's object: on a resume ("*resumed" 1) with
 * the journal's data key and header when they are for this key, else
 * with a new data key (*resumed cleared).  Returns 0, or -1 (reported).
 */
static int
mp_crypt_begin(struct mpfile *mp, int *resumed)
{
	const struct crypt_key *key = mp->up->key;
	struct journal *j = &mp->j;
	size_t hlen = crypt_header_len(key);

	mp->encrypted = 1;
	mbedtls_md_init(&mp->hmac);
	if (mbedtls_md_setup(&mp->hmac, mbedtls_md_info_from_type(
	    MBEDTLS_MD_SHA256), 1) != 0 || mbedtls_md_hmac_starts(&mp->hmac,
	    crypt_checksum_key(key), 32) != 0) {
		report_error(mp->up->rep, mp->e->key, "cannot set up HMAC");
		return -1;
	}
	if (*resumed == 1) {
		/* Multipart objects are never compressed: flags 0. */
		if (j->crypt != NULL && j->crypt_len == 32 + hlen &&
		    j->crypt[32 + 7] == 0 &&
		    memcmp(j->crypt + 32 + 16, crypt_key_id(key), 32) == 0 &&
		    crypt_obj_resume(&mp->obj, j->crypt, j->crypt + 32, hlen,
		    mp->okey) == 0)
			return 0;
		mp_drop_resume(mp);
		*resumed = 0;
	}
	if (crypt_obj_new(&mp->obj, key, mp->okey, 0) == -1) {
		report_error(mp->up->rep, mp->e->key, "cannot encrypt");
		return -1;
	}
	free(j->crypt);
	j->crypt_len = 32 + mp->obj.hlen;
	j->crypt = xmalloc(j->crypt_len);
	memcpy(j->crypt, mp->obj.key, 32);
	memcpy(j->crypt + 32, mp->obj.hdr, mp->obj.hlen);
	return 0;
}

/* Start preparing mp's parts in a thread (readahead.c). */
static struct readahead *
mp_readahead(struct mpfile *mp)
{
	struct ra_spec spec;

	memset(&spec, 0, sizeof(spec));
	spec.fd = mp->fd;
	spec.st = &mp->st;
	spec.size = mp->j.size;
	spec.part_size = mp->j.part_size;
	spec.nparts = mp->j.nparts;
	spec.obj = mp->encrypted ? &mp->obj : NULL;
	spec.hmac = mp->encrypted ? &mp->hmac : NULL;
	spec.whole = &mp->whole;
	spec.wake = xfer_wakeup;
	spec.wake_arg = s3_xfer(mp->up->s3);
	return readahead_start(&spec);
}

int
multipart_begin(struct upload *up, struct entry *e, int fd,
    const struct stat *st)
{
	struct mpfile *mp;
	struct s3_call *c;
	char *endpoint, *stale = NULL;
	uint64_t psize;
	int r;

	mp = xcalloc(1, sizeof(*mp));
	mp->up = up;
	mp->e = e;
	mp->fd = fd;
	mp->st = *st;
	mp->okey = list_object_key(up->cfg, e->key);
	mp->sse = sse_etags_not_md5(up->cfg);
	mbedtls_md5_init(&mp->whole);
	mbedtls_md5_starts_ret(&mp->whole);
	psize = mp_part_size(up, (uint64_t)st->st_size);
	endpoint = multipart_endpoint(up);
	r = journal_open(&mp->j, endpoint, up->bucket, mp->okey, st->st_size,
	    st->st_mtim.tv_sec, st->st_mtim.tv_nsec, psize, &stale);
	free(endpoint);
	if (r >= 0 && up->realroot != NULL) {
		mp->j.root = xstrdup(up->realroot);
		mp->j.prefix = xstrdup(up->cfg->prefix != NULL ?
		    up->cfg->prefix : "");
	}
	if (r == JOURNAL_BUSY)
		report_error(up->rep, e->key, "another p3backup run is "
		    "uploading it (its resume journal is locked); not uploaded "
		    "by this run");
	else if (r < 0)
		report_error(up->rep, e->key, "its resume journal cannot be "
		    "used (see above)");
	if (r < 0) {
		/* Counted and recorded in --report by mp_finish. */
		mp->failed = 1;
		mp->state = MP_ENDED;
		mp->inflight = 0;
		mp_finish(mp);
		return -1;
	}
	up->mp = mp;
	mp->feeding = 1;
	if (up->key != NULL) {
		if (mp_crypt_begin(mp, &r) == -1)
			mp->failed = 1;
	} else if (r == 1 && mp->j.crypt != NULL) {
		mp_drop_resume(mp);
		r = 0;
	}
	if (stale != NULL) {
		logmsg(1, "%s: the file changed since an interrupted upload; "
		    "starting again", e->key);
		mp_abort(mp, stale);
		free(stale);
	}
	if (!mp->failed && (mp->ra = mp_readahead(mp)) == NULL) {
		report_error(up->rep, e->key, "cannot start a thread");
		mp->failed = 1;
	}
	if (mp->failed) {
		mp->feeding = 0;
		up->mp = NULL;
		mp_finish(mp);
		return -1;
	}
	if (r == 1) {
		logmsg(1, "%s: resuming an interrupted upload", e->key);
		c = mp_call(mp, "GET", mp_listparts_done, mp);
		s3_call_query(c, "uploadId", mp->j.upload_id);
		xfer_submit(s3_xfer(up->s3), c);
		return 0;
	}
	mp_create(mp);
	return 0;
}

static void
mp_part_done(struct s3_call *c, void *arg)
{
	struct mppart *part = arg;
	struct mpfile *mp = part->mp;
	char hex[33];
	int other;

	mp->inflight--;
	hex_encode(mp->j.md5s + 16 * part->n, 16, hex);
	if (!c->ok && c->err.code != NULL &&
	    strcmp(c->err.code, "BadDigest") == 0) {
		/* The part sent from memory was hashed: corrupted on the way. */
		report_error(mp->up->rep, mp->e->key, "part %u was corrupted "
		    "in transit (BadDigest)", part->n + 1);
		mp->failed = 1;
	} else if (!mp_call_failed(mp, c, "UploadPart")) {
		if (!sse_etag_is_md5(c))
			mp->sse = 1;
		other = c->etag != NULL && strcasecmp(c->etag, hex) != 0;
		if (other && !mp->sse) {
			report_error(mp->up->rep, mp->e->key, "part %u: the "
			    "server's ETag is not the MD5 of the part",
			    part->n + 1);
			mp->failed = 1;
		} else {
			/* SSE: the server checked our Content-MD5 instead. */
			if (other)
				mp_keep_etag(mp, part->n, c->etag);
			mp->j.done[part->n] = PART_STORED;
			mp->up->rep->sent_bytes += c->body_len;
			if (mp_journal_save(mp) == -1)
				mp->failed = 1;
		}
	}
	s3_call_free(c);
	free(part->buf);
	free(part);
	report_progress(mp->up->rep, 0);
	mp_finish(mp);
}

/*
 * Part "p" of an encrypted upload being resumed seals to other bytes
 * than an earlier run sent for it: the file changed although its size
 * and mtime did not.  Sending it would seal a second plaintext under
 * the same data key and nonces, which GCM does not survive: give the
 * upload up (mp_finish aborts it and drops the journal), and the next
 * run starts again with a new key.
 */
static int
mp_reseal_refused(struct mpfile *mp, struct ra_part *p)
{
	report_error(mp->up->rep, mp->e->key, "changed since an interrupted "
	    "upload although its size and mtime did not; that upload is "
	    "dropped and the next run sends the file again");
	free(p->buf);
	mp->failed = mp->changed = 1;
	return -1;
}

/*
 * Part "p" from the read-ahead thread: checked against the journal and
 * submitted unless an earlier run stored it.  Returns 1 when a call was
 * submitted, 0 when the part was stored already, -1 when it failed
 * (reported; mp->failed set).
 */
static int
mp_send_part(struct mpfile *mp, struct ra_part *p)
{
	struct mppart *part;
	struct s3_call *c;
	unsigned char b64[32];
	char num[16];
	size_t olen;

	if (p->buf == NULL) {
		report_error(mp->up->rep, mp->e->key, "%s", p->why);
		free(p->why);
		mp->failed = 1;
		mp->changed = p->changed;
		return -1;
	}
	if ((mp->j.done[p->n] || mp->j.sealed[p->n]) &&
	    memcmp(p->md5, mp->j.md5s + 16 * p->n, 16) != 0) {
		if (mp->encrypted)
			return mp_reseal_refused(mp, p);
		/* A journal's part that is not this content is sent again. */
		mp->j.done[p->n] = PART_MISSING;
	}
	memcpy(mp->j.md5s + 16 * p->n, p->md5, 16);
	if (mp->j.done[p->n]) {
		free(p->buf);
		return 0;
	}
	/*
	 * An encrypted part is recorded before it leaves: had it reached
	 * the server before a crash, the next run must know what it held.
	 */
	if (mp->encrypted && !mp->j.sealed[p->n]) {
		mp->j.sealed[p->n] = 1;
		if (mp_journal_save(mp) == -1) {
			free(p->buf);
			mp->failed = 1;
			return -1;
		}
	}
	part = xcalloc(1, sizeof(*part));
	part->mp = mp;
	part->n = p->n;
	part->buf = p->buf;
	c = mp_call(mp, "PUT", mp_part_done, part);
	snprintf(num, sizeof(num), "%u", part->n + 1);
	s3_call_query(c, "partNumber", num);
	s3_call_query(c, "uploadId", mp->j.upload_id);
	mbedtls_base64_encode(b64, sizeof(b64), &olen, p->md5, 16);
	s3_call_header(c, "content-md5", (char *)b64);
	c->body = p->buf;
	c->body_len = p->len;
	c->unsigned_payload = 1;
	mp->sent++;
	xfer_submit(s3_xfer(mp->up->s3), c);
	return 1;
}

/* No more parts to feed: join the read-ahead thread, let mp finish. */
static void
mp_fed(struct mpfile *mp)
{
	readahead_stop(mp->ra);
	mp->ra = NULL;
	if (mp->up->mp == mp)
		mp->up->mp = NULL;
	mp->feeding = 0;
	mp_finish(mp);
}

int
multipart_feed(struct upload *up)
{
	struct mpfile *mp = up->mp;
	struct ra_part p;
	int r;

	if (mp->state == MP_STARTING && !mp->failed && !up->fatal)
		return XFER_FEED_WAIT;
	while (!mp->failed && !up->fatal) {
		if ((r = readahead_take(mp->ra, &p)) == 0)
			return XFER_FEED_LATER;
		if (r == -1 || (r = mp_send_part(mp, &p)) == -1)
			break;
		if (r == 1)
			return XFER_FEED_MORE;
	}
	/* Every part is read (or we gave up): the next file may start. */
	mp_fed(mp);
	return XFER_FEED_MORE;
}

void
multipart_stop(struct upload *up)
{
	struct mpfile *mp = up->mp;

	if (mp == NULL)
		return;
	/* Interrupted while feeding: keep the journal, count the file. */
	mp->failed = 1;
	mp_fed(mp);
}

/*
 * The completed object's ETag "etag" (a HEAD's when the completion
 * answer had none; "head" the HEAD's answer, else NULL): count the file
 * uploaded when it is the one our parts give, or the whole file's MD5
 * (s3rver), or, where the server encrypts (SSE-KMS, SSE-C: no ETag is
 * an MD5 there and the parts' Content-MD5 was checked instead), when it
 * has our number of parts and the HEAD shows our size.
 */
static void
mp_completed(struct mpfile *mp, const char *etag, const struct s3_call *head)
{
	struct entry *e = mp->e;
	unsigned char whole[16], hmac[32];
	char want[45], whole_hex[33], nparts[16];
	uint64_t size;
	size_t elen, nlen;
	int sse;

	checksum_multipart_etag(mp->j.md5s, mp->j.nparts, want);
	mbedtls_md5_finish_ret(&mp->whole, whole);
	hex_encode(whole, 16, whole_hex);
	if (mp->encrypted)
		mbedtls_md_hmac_finish(&mp->hmac, hmac);
	size = mp->encrypted ? crypt_size(mp->obj.hlen, mp->j.size) :
	    mp->j.size;
	sse = mp->sse || (head != NULL && !sse_etag_is_md5(head));
	nlen = (size_t)snprintf(nparts, sizeof(nparts), "-%u", mp->j.nparts);
	elen = strlen(etag);
	if (head != NULL && head->content_length != (int64_t)size) {
		report_error(mp->up->rep, e->key, "the completed object has "
		    "%lld bytes, not %llu", (long long)head->content_length,
		    (unsigned long long)size);
		mp->failed = 1;
	} else if (strcasecmp(etag, want) != 0 &&
	    strcasecmp(etag, whole_hex) != 0 && (!sse || elen <= nlen ||
	    strcmp(etag + elen - nlen, nparts) != 0)) {
		report_error(mp->up->rep, e->key, "the completed object's ETag "
		    "%s is neither %s nor the file's MD5", etag, want);
		mp->failed = 1;
	} else {
		journal_remove(&mp->j);
		e->remote = 1;
		e->rsize = (int64_t)size;
		upload_crypt_entry(e, mp->encrypted ? mp->up->key : NULL,
		    (int64_t)mp->j.size, mp->encrypted ? hmac : NULL);
		e->rmtime_sec = mp->st.st_mtim.tv_sec;
		e->rmtime_nsec = mp->st.st_mtim.tv_nsec;
		e->rmtime_known = 1;
		/* Record the ETag as listings will show it (the index)... */
		table_set_etag(e, etag);
		/* ...and the MD5 that --checksum and restores compare. */
		entry_set_md5(e, whole);
		e->rtagged = 0;
		mp->up->rep->uploaded++;
		/* Counted once the object is whole, not part by part. */
		mp->up->rep->uploaded_bytes += size;
		report_action(mp->up->rep, "upload", NULL, e->key);
		report_record(mp->up->rep, e, "upload", "ok", NULL);
	}
	mp->state = MP_ENDED;
	mp_finish(mp);
}

/* The HEAD after a completion answer without an ETag. */
static void
mp_complete_head_done(struct s3_call *c, void *arg)
{
	struct mpfile *mp = arg;

	mp->inflight--;
	if (mp_call_failed(mp, c, "HEAD after CompleteMultipartUpload")) {
		mp->state = MP_ENDED;
		mp_finish(mp);
	} else if (c->etag == NULL || c->etag[0] == '\0') {
		report_error(mp->up->rep, mp->e->key, "the completed object "
		    "has no ETag");
		mp->failed = 1;
		mp->state = MP_ENDED;
		mp_finish(mp);
	} else
		mp_completed(mp, c->etag, c);
	s3_call_free(c);
}

static void
mp_complete_done(struct s3_call *c, void *arg)
{
	struct mpfile *mp = arg;
	struct s3_call *head;
	struct s3_error err;
	char *etag = NULL;

	mp->inflight--;
	memset(&err, 0, sizeof(err));
	if (!sse_etag_is_md5(c))
		mp->sse = 1;
	if (mp_call_failed(mp, c, "CompleteMultipartUpload")) {
		/* Parts the server will never take: the next run starts over. */
		if (c->err.code != NULL &&
		    (strcmp(c->err.code, "InvalidPart") == 0 ||
		    strcmp(c->err.code, "InvalidPartOrder") == 0 ||
		    strcmp(c->err.code, "NoSuchUpload") == 0))
			journal_remove(&mp->j);
	}
	else if (mpdoc_parse_complete(c->resp.data, c->resp.len, &etag,
	    &err) == -1) {
		report_error(mp->up->rep, mp->e->key, "CompleteMultipartUpload "
		    "failed: %s", err.code != NULL ? err.code : "bad answer");
		mp->failed = 1;
	} else if (etag[0] == '\0') {
		/* Ceph RGW 16 answers <ETag></ETag>: ask the object. */
		head = mp_call(mp, "HEAD", mp_complete_head_done, mp);
		xfer_submit(s3_xfer(mp->up->s3), head);
		goto out;
	} else {
		mp_completed(mp, etag, NULL);
		goto out;
	}
	mp->state = MP_ENDED;
	mp_finish(mp);
out:
	free(etag);
	xml_error_free(&err);
	s3_call_free(c);
}

static void
mp_complete(struct mpfile *mp)
{
	struct s3_call *c;
	struct buf body;
	char hex[33], line[160];
	uint32_t i;
	int n;

	memset(&body, 0, sizeof(body));
	n = snprintf(line, sizeof(line), "<CompleteMultipartUpload xmlns=\""
	    S3_XMLNS "\">");
	buf_append(&body, line, (size_t)n);
	for (i = 0; i < mp->j.nparts; i++) {
		hex_encode(mp->j.md5s + 16 * i, 16, hex);
		n = snprintf(line, sizeof(line), "<Part><PartNumber>%u"
		    "</PartNumber><ETag>\"%.64s\"</ETag></Part>", i + 1,
		    mp->petag != NULL && mp->petag[i] != NULL ?
		    mp->petag[i] : hex);
		buf_append(&body, line, (size_t)n);
	}
	buf_append(&body, "</CompleteMultipartUpload>", 26);
	mp->state = MP_COMPLETING;
	mp->complete_body = body.data;
	c = mp_call(mp, "POST", mp_complete_done, mp);
	s3_call_query(c, "uploadId", mp->j.upload_id);
	c->body = body.data;
	c->body_len = body.len;
	xfer_submit(s3_xfer(mp->up->s3), c);
}

/*
 * Called after every event: complete the upload when all parts are in,
 * or clean up once a failed upload has no call under way.
 */
static void
mp_finish(struct mpfile *mp)
{
	uint32_t i, stored = 0;

	if (mp->inflight > 0 || mp->feeding)
		return;
	if (mp->state == MP_SENDING && !mp->failed && !mp->up->fatal) {
		for (i = 0; i < mp->j.nparts; i++)
			stored += mp->j.done[i] != 0;
		if (stored == mp->j.nparts) {
			mp_complete(mp);
			return;
		}
		mp->failed = 1;
	}
	if (mp->state != MP_ENDED && mp->state != MP_COMPLETING &&
	    mp->changed && mp->j.upload_id != NULL) {
		/* Never complete a mixed file: drop its parts. */
		journal_remove(&mp->j);
		mp->state = MP_ENDED;
		mp_abort(mp, mp->j.upload_id);
		return;
	}
	if (mp->failed) {
		mp->up->rep->failed++;
		report_record(mp->up->rep, mp->e, "upload", "failed",
		    report_error_of(mp->up->rep, mp->e->key));
	}
	readahead_stop(mp->ra);
	mbedtls_md5_free(&mp->whole);
	mbedtls_md_free(&mp->hmac);
	crypt_obj_free(&mp->obj);
	close(mp->fd);
	for (i = 0; mp->petag != NULL && i < mp->j.nparts; i++)
		free(mp->petag[i]);
	free(mp->petag);
	journal_free(&mp->j);
	free(mp->complete_body);
	free(mp->okey);
	free(mp);
}
