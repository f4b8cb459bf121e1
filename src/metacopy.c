/*
 * The metadata stage: a file whose mode or owner alone changed
 * (ACT_META) gets them on its object by a CopyObject onto the same key,
 * x-amz-metadata-directive REPLACE, which sends no content.  REPLACE
 * keeps no header of the old object, so every one an upload gives goes
 * again: x-amz-meta-mtime (the object's own), md5chksum (when the MD5
 * is known), the p3-* headers of an encrypted object (from what the
 * index or a HEAD told, never re-derived from this run's key), the
 * content type, --storage-class, and the file's mode and owner as they
 * are now.  A 200 answer that carries an <Error> is a failure.
 * Requests go through the transfer engine, several at once.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "s3.h"

/* One metacopy_run: the cursor over the plan. */
struct metarun {
	struct run		*run;
	size_t			 next;
};

/* One CopyObject under way. */
struct metacall {
	struct metarun		*mr;
	struct entry		*e;
	struct stat		 st;		/* the file: its mode and owner */
	int64_t			 msec;		/* the x-amz-meta-mtime sent */
	int32_t			 mnsec;
};

/* "e" failed with "msg": say so unless "quiet", count and record it. */
static void
metacopy_fail(struct run *run, struct entry *e, const char *msg, int quiet)
{
	if (!quiet)
		report_error(run->rep, e->key, "update metadata failed: %s", msg);
	run_failed(run, e, "update metadata", msg);
}

/*
 * The copy of "e" stored, with ETag "etag" (unquoted; "" when the answer
 * gave none, as for a copy the ETag is the content's and so unchanged):
 * the object now has the mtime sent and the file's mode and owner.
 */
static void
metacopy_stored(struct metacall *mc, const char *etag)
{
	struct entry *e = mc->e;
	struct run *run = mc->mr->run;
	unsigned char md5[16];
	int md5_known = 0, notmd5 = e->rnotmd5;

	if (entry_md5(e) != NULL) {
		memcpy(md5, entry_md5(e), sizeof(md5));
		md5_known = 1;
	}
	if (etag[0] != '\0') {
		table_set_etag(e, etag);
		if (md5_known)
			entry_set_md5(e, md5);
		else
			e->rnotmd5 = notmd5;
	}
	e->rmtime_sec = mc->msec;
	e->rmtime_nsec = mc->mnsec;
	e->rmtime_known = 1;
	e->rperm = meta_perm(mc->st.st_mode, mc->st.st_uid, mc->st.st_gid);
	e->rperm_known = 1;
	e->rtagged = 0;		/* a new version carries no tags */
	/* As for an upload: sse.c sent the lock with the copy. */
	if (run->cfg->lock_days > 0)
		entry_rmeta(e)->lock_until = run->cfg->lock_until;
	else if (e->rx != NULL)
		e->rx->lock_until = 0;
	run->rep->metadata_updated++;
	report_action(run->rep, "update metadata", NULL, e->key);
	report_record(run->rep, e, "update metadata", "ok", NULL);
}

/* A CopyObject ended: account for its object. */
static void
metacopy_done(struct s3_call *c, void *arg)
{
	struct metacall *mc = arg;
	struct run *run = mc->mr->run;
	struct buf etag;
	char *msg;
	int r;

	memset(&etag, 0, sizeof(etag));
	if (!c->ok) {
		msg = run_call_failed(run, mc->e->key, c, "update metadata");
		run_failed(run, mc->e, "update metadata", msg);
		free(msg);
		goto out;
	}
	r = xml_root_field(c->resp.data, c->resp.len, "CopyObjectResult",
	    "ETag", &etag);
	if (r == -1) {
		metacopy_fail(run, mc->e, "the server's answer is no "
		    "CopyObjectResult", 0);
		goto out;
	}
	metacopy_stored(mc, r == 1 ? xml_unquote(&etag) : "");
out:
	buf_free(&etag);
	s3_call_free(c);
	free(mc);
}

/*
 * Add the encryption headers of e's encrypted object, as recorded
 * (plan_copyable made sure its plaintext size and key id are known).
 */
static void
metacopy_crypt_headers(struct s3_call *c, const struct entry *e)
{
	char num[24], hex[65];

	snprintf(num, sizeof(num), "%lld", (long long)e->rx->psize);
	s3_call_header(c, "x-amz-meta-p3-crypt", "1");
	s3_call_header(c, "x-amz-meta-p3-size", num);
	hex_encode(e->rx->keyid, CRYPT_KEYID_SHORT, hex);
	s3_call_header(c, "x-amz-meta-p3-key", hex);
	if (e->rx->hmac_known) {
		hex_encode(e->rx->hmac, 32, hex);
		s3_call_header(c, "x-amz-meta-p3-hmac", hex);
	}
}

/* Submit the CopyObject of action "a"; a file that cannot be read fails. */
static void
metacopy_submit(struct metarun *mr, struct action *a)
{
	struct run *run = mr->run;
	struct entry *e = a->e;
	struct metacall *mc;
	struct s3_call *c;
	char *path, *okey, *enc, *src, mtime[32], b64[32];
	int r;

	mc = xcalloc(1, sizeof(*mc));
	mc->mr = mr;
	mc->e = e;
	path = xasprintf("%s/%s", run->root, e->key);
	r = run->cfg->follow_symlinks ? stat(path, &mc->st) :
	    lstat(path, &mc->st);
	free(path);
	if (r == -1 || !S_ISREG(mc->st.st_mode)) {
		metacopy_fail(run, e, r == -1 ? "cannot stat the file" :
		    "no longer a regular file", 0);
		free(mc);
		return;
	}
	/* The object's mtime stays: only its metadata is new. */
	mc->msec = e->rmtime_known ? e->rmtime_sec : e->lmtime_sec;
	mc->mnsec = e->rmtime_known ? e->rmtime_nsec : e->lmtime_nsec;
	mtime_format(mc->msec, mc->mnsec, mtime);

	okey = list_object_key(run->cfg, e->key);
	enc = uri_encode(okey, strlen(okey), 1);
	src = xasprintf("/%s/%s", run->bucket, enc);
	c = s3_call_new("PUT", run->bucket, okey);
	s3_call_header(c, "x-amz-copy-source", src);
	s3_call_header(c, "x-amz-metadata-directive", "REPLACE");
	s3_call_header(c, "x-amz-meta-mtime", mtime);
	if (entry_md5(e) != NULL) {
		md5_base64(entry_md5(e), b64);
		s3_call_header(c, "x-amz-meta-md5chksum", b64);
	}
	if (e->rcrypt == RCRYPT_YES) {
		s3_call_header(c, "content-type", "application/octet-stream");
		metacopy_crypt_headers(c, e);
	} else
		s3_call_header(c, "content-type", upload_ctype(e->key));
	run_put_headers(run, c, 0, 0, NULL, &mc->st);
	free(src);
	free(enc);
	free(okey);
	c->body = "";
	c->body_len = 0;
	c->done = metacopy_done;
	c->arg = mc;
	xfer_submit(s3_xfer(run->s3), c);
}

/* Engine callback: submit the next copy, if any. */
static int
metacopy_feed(void *arg)
{
	struct metarun *mr = arg;
	struct action *a;

	while (mr->next < mr->run->plan->n && !mr->run->fatal) {
		a = &mr->run->plan->v[mr->next++];
		if (a->act != ACT_META)
			continue;
		metacopy_submit(mr, a);
		return XFER_FEED_MORE;
	}
	return XFER_FEED_DONE;
}

/*
 * Carry out run->plan's ACT_META actions: a CopyObject of each object
 * onto itself with the file's mode and owner as they are now, the
 * object's stored mtime and its other headers again (see the top of
 * this file), through the transfer engine.  A success records the new
 * mode and owner, mtime and ETag on the entry (for the index) and counts
 * rep->metadata_updated; a failure is reported and counted as failed,
 * with a --report line either way.  Returns 0, or -1 when a fatal error
 * stopped it (reported once).
 */
int
metacopy_run(struct run *run)
{
	struct metarun mr;

	memset(&mr, 0, sizeof(mr));
	mr.run = run;
	run->fatal = 0;
	xfer_set_feed(s3_xfer(run->s3), metacopy_feed, &mr);
	if (xfer_run(s3_xfer(run->s3)) == -1)
		return -1;
	return run->fatal ? -1 : 0;
}
