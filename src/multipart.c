/*
 * Multipart upload of one large file, resumable across crashes.
 *
 * The file is read once, part after part in order, each part into its
 * own buffer (so memory stays near jobs x part size), hashed (and
 * sealed, with --encrypt-key) a few parts ahead by a thread of
 * readahead.c, and sent with Content-MD5.  A journal (journal.c)
 * records the upload id and every part the server has acknowledged, so
 * a run killed half-way is continued by the next one: parts the journal
 * vouches for are read and hashed again (to prove the file is
 * unchanged) but not sent.  The upload is completed (mpcomplete.c) only
 * when every part is in, and counted only when the final ETag is the
 * one the parts give ("md5 of md5s-N"), or the whole file's MD5 on
 * servers that report that.  A file that changes while it is read is
 * never completed: its upload is aborted and the file reported.
 *
 * A driver: upload.c starts an upload with the run's context
 * (multipart_begin) and feeds its parts (multipart_feed); the upload
 * ends by itself, counted through run.c.  Nothing here calls upload.c.
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
	struct run		*run;
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
	int			 feeding;	/* parts still to be fed */
	struct mpcomplete	 mc;		/* its completion */
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
 * The part size for a file of "size" bytes: checksum_part_size, rounded
 * up to a multiple of CRYPT_CHUNK when the run encrypts (encrypted parts
 * hold whole chunks, doc/encryption.md).
 */
uint64_t
multipart_part_size(const struct run *run, uint64_t size)
{
	uint64_t part;

	part = checksum_part_size(size, run->cfg->part_size);
	if (run->key != NULL && part % CRYPT_CHUNK != 0)
		part += CRYPT_CHUNK - part % CRYPT_CHUNK;
	return part;
}

static struct s3_call *
mp_call(struct mpfile *mp, const char *method, s3_done_fn done, void *arg)
{
	struct s3_call *c;

	c = s3_call_new(method, mp->run->bucket, mp->okey);
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
	xfer_submit(s3_xfer(mp->run->s3), c);
}

/* The answer to multipart_abort: nothing more to do. */
static void
multipart_abort_done(struct s3_call *c, void *arg)
{
	(void)arg;
	s3_call_free(c);
}

/*
 * Abort the upload "upload_id" of "okey" (full key), left over: the
 * request is submitted to the engine and its answer ignored (fire and
 * forget).
 */
void
multipart_abort(struct run *run, const char *okey, const char *upload_id)
{
	struct s3_call *c;

	c = s3_call_new("DELETE", run->bucket, okey);
	s3_call_query(c, "uploadId", upload_id);
	c->done = multipart_abort_done;
	xfer_submit(s3_xfer(run->s3), c);
}

/* Write mp's journal; a failure is this file's error. 0, or -1. */
static int
mp_journal_save(struct mpfile *mp)
{
	if (journal_save(&mp->j) == 0)
		return 0;
	report_error(mp->run->rep, mp->e->key, "its resume journal cannot be "
	    "written (see above)");
	return -1;
}

/* The end of one call: report failures that stop this file. */
static int
mp_call_failed(struct mpfile *mp, struct s3_call *c, const char *what)
{
	if (c->ok)
		return 0;
	free(run_call_failed(mp->run, mp->e->key, c, what));
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
	run_put_headers(mp->run, c, mp->encrypted, mp->j.size, NULL, &mp->st);
	xfer_submit(s3_xfer(mp->run->s3), c);
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
	const struct crypt_key *key = mp->run->key;
	struct journal *j = &mp->j;
	size_t hlen = crypt_header_len(key);

	mp->encrypted = 1;
	mbedtls_md_init(&mp->hmac);
	if (mbedtls_md_setup(&mp->hmac, mbedtls_md_info_from_type(
	    MBEDTLS_MD_SHA256), 1) != 0 || mbedtls_md_hmac_starts(&mp->hmac,
	    crypt_checksum_key(key), 32) != 0) {
		report_error(mp->run->rep, mp->e->key, "cannot set up HMAC");
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
		report_error(mp->run->rep, mp->e->key, "cannot encrypt");
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
	spec.wake_arg = s3_xfer(mp->run->s3);
	return readahead_start(&spec);
}

/*
 * Start the multipart upload of "e" from "fd" (which it takes over; "st"
 * is the file as opened), resuming from the journal when one matches.
 * Returns the upload, whose parts multipart_feed then hands to the
 * engine; NULL when it could not start (reported and counted).  The
 * upload ends by itself once its calls are done: it counts the file
 * (run_uploaded or run_failed) and frees itself.
 */
struct mpfile *
multipart_begin(struct run *run, struct entry *e, int fd,
    const struct stat *st)
{
	struct mpfile *mp;
	struct s3_call *c;
	char *endpoint, *stale = NULL;
	uint64_t psize;
	int r;

	mp = xcalloc(1, sizeof(*mp));
	mp->run = run;
	mp->e = e;
	mp->fd = fd;
	mp->st = *st;
	mp->okey = list_object_key(run->cfg, e->key);
	mp->sse = sse_etags_not_md5(run->cfg);
	mbedtls_md5_init(&mp->whole);
	mbedtls_md5_starts_ret(&mp->whole);
	psize = multipart_part_size(run, (uint64_t)st->st_size);
	endpoint = run_endpoint(run);
	r = journal_open(&mp->j, endpoint, run->bucket, mp->okey, st->st_size,
	    st->st_mtim.tv_sec, st->st_mtim.tv_nsec, psize, &stale);
	free(endpoint);
	if (r >= 0 && run->realroot != NULL) {
		mp->j.root = xstrdup(run->realroot);
		mp->j.prefix = xstrdup(run->cfg->prefix != NULL ?
		    run->cfg->prefix : "");
	}
	if (r == JOURNAL_BUSY)
		report_error(run->rep, e->key, "another p3backup run is "
		    "uploading it (its resume journal is locked); not uploaded "
		    "by this run");
	else if (r < 0)
		report_error(run->rep, e->key, "its resume journal cannot be "
		    "used (see above)");
	if (r < 0) {
		/* Counted and recorded in --report by mp_finish. */
		mp->failed = 1;
		mp->state = MP_ENDED;
		mp->inflight = 0;
		mp_finish(mp);
		return NULL;
	}
	mp->feeding = 1;
	if (run->key != NULL) {
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
		report_error(run->rep, e->key, "cannot start a thread");
		mp->failed = 1;
	}
	if (mp->failed) {
		mp->feeding = 0;
		mp_finish(mp);
		return NULL;
	}
	if (r == 1) {
		logmsg(1, "%s: resuming an interrupted upload", e->key);
		c = mp_call(mp, "GET", mp_listparts_done, mp);
		s3_call_query(c, "uploadId", mp->j.upload_id);
		xfer_submit(s3_xfer(run->s3), c);
		return mp;
	}
	mp_create(mp);
	return mp;
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
		report_error(mp->run->rep, mp->e->key, "part %u was corrupted "
		    "in transit (BadDigest)", part->n + 1);
		mp->failed = 1;
	} else if (!mp_call_failed(mp, c, "UploadPart")) {
		if (!sse_etag_is_md5(c))
			mp->sse = 1;
		other = c->etag != NULL && strcasecmp(c->etag, hex) != 0;
		if (other && !mp->sse) {
			report_error(mp->run->rep, mp->e->key, "part %u: the "
			    "server's ETag is not the MD5 of the part",
			    part->n + 1);
			mp->failed = 1;
		} else {
			/* SSE: the server checked our Content-MD5 instead. */
			if (other)
				mp_keep_etag(mp, part->n, c->etag);
			mp->j.done[part->n] = PART_STORED;
			mp->run->rep->sent_bytes += c->body_len;
			if (mp_journal_save(mp) == -1)
				mp->failed = 1;
		}
	}
	s3_call_free(c);
	free(part->buf);
	free(part);
	report_progress(mp->run->rep, 0);
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
	report_error(mp->run->rep, mp->e->key, "changed since an interrupted "
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
	char num[16], b64[32];

	if (p->buf == NULL) {
		report_error(mp->run->rep, mp->e->key, "%s", p->why);
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
	md5_base64(p->md5, b64);
	s3_call_header(c, "content-md5", b64);
	c->body = p->buf;
	c->body_len = p->len;
	c->unsigned_payload = 1;
	mp->sent++;
	xfer_submit(s3_xfer(mp->run->s3), c);
	return 1;
}

/* No more parts to feed: join the read-ahead thread, let mp finish. */
static void
mp_fed(struct mpfile *mp)
{
	readahead_stop(mp->ra);
	mp->ra = NULL;
	mp->feeding = 0;
	mp_finish(mp);
}

/*
 * Submit the next part of *mpp; returns an XFER_FEED_* value.  When
 * every part is submitted (or the file failed) *mpp is cleared;
 * completion and clean-up follow from the calls' callbacks.
 */
int
multipart_feed(struct mpfile **mpp)
{
	struct mpfile *mp = *mpp;
	struct ra_part p;
	int r;

	if (mp->state == MP_STARTING && !mp->failed && !mp->run->fatal)
		return XFER_FEED_WAIT;
	while (!mp->failed && !mp->run->fatal) {
		if ((r = readahead_take(mp->ra, &p)) == 0)
			return XFER_FEED_LATER;
		if (r == -1 || (r = mp_send_part(mp, &p)) == -1)
			break;
		if (r == 1)
			return XFER_FEED_MORE;
	}
	/* Every part is read (or we gave up): the next file may start. */
	*mpp = NULL;
	mp_fed(mp);
	return XFER_FEED_MORE;
}

/*
 * After the engine stopped early (interrupted): let go of *mpp (NULL is
 * fine) while it is still being fed, its journal kept for the next run,
 * the file counted as failed.
 */
void
multipart_stop(struct mpfile **mpp)
{
	struct mpfile *mp = *mpp;

	if (mp == NULL)
		return;
	/* Interrupted while feeding: keep the journal, count the file. */
	*mpp = NULL;
	mp->failed = 1;
	mp_fed(mp);
}

/* The completion (mpcomplete.c) ended: "ok" when the file is counted. */
static void
mp_completed(void *arg, int ok)
{
	struct mpfile *mp = arg;

	mp->inflight--;
	if (!ok)
		mp->failed = 1;
	mp->state = MP_ENDED;
	mp_finish(mp);
}

/* Every part is stored: complete the upload (mpcomplete.c). */
static void
mp_complete(struct mpfile *mp)
{
	struct mpcomplete *mc = &mp->mc;

	mc->run = mp->run;
	mc->e = mp->e;
	mc->okey = mp->okey;
	mc->j = &mp->j;
	mc->petag = mp->petag;
	mc->st = &mp->st;
	mc->size = mp->encrypted ? crypt_size(mp->obj.hlen, mp->j.size) :
	    mp->j.size;
	/* Every part was read: the digests are complete. */
	mbedtls_md5_finish_ret(&mp->whole, mc->whole);
	mc->sealed = mp->encrypted;
	if (mp->encrypted)
		mbedtls_md_hmac_finish(&mp->hmac, mc->hmac);
	mc->sse = mp->sse;
	mc->done = mp_completed;
	mc->arg = mp;
	mp->state = MP_COMPLETING;
	mp->inflight++;
	mpcomplete_start(mc);
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
	if (mp->state == MP_SENDING && !mp->failed && !mp->run->fatal) {
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
	if (mp->failed)
		run_failed(mp->run, mp->e, "upload",
		    report_error_of(mp->run->rep, mp->e->key));
	readahead_stop(mp->ra);
	mbedtls_md5_free(&mp->whole);
	mbedtls_md_free(&mp->hmac);
	crypt_obj_free(&mp->obj);
	close(mp->fd);
	for (i = 0; mp->petag != NULL && i < mp->j.nparts; i++)
		free(mp->petag[i]);
	free(mp->petag);
	journal_free(&mp->j);
	free(mp->okey);
	free(mp);
}
