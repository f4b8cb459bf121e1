/*
 * The end of a multipart upload whose parts are all stored:
 * CompleteMultipartUpload, and the check of what it made.  The upload
 * is counted only when the final ETag is the one the parts give ("md5
 * of md5s-N"), or the whole file's MD5 on servers that report that;
 * where the server encrypts (SSE-KMS, SSE-C) no ETag is an MD5 and the
 * parts' Content-MD5 stood for it.  multipart.c starts it and hears the
 * outcome through the callback it gave: nothing here calls back into
 * multipart.c.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "extern.h"
#include "s3.h"

/*
 * The completed object's ETag "etag" (a HEAD's when the completion
 * answer had none; "head" the HEAD's answer, else NULL): count the file
 * uploaded when it is the one our parts give, or the whole file's MD5
 * (s3rver), or, where the server encrypts (SSE-KMS, SSE-C: no ETag is
 * an MD5 there and the parts' Content-MD5 was checked instead), when it
 * has our number of parts and the HEAD shows our size.
 */
static void
mpcomplete_check(struct mpcomplete *mc, const char *etag,
    const struct s3_call *head)
{
	struct entry *e = mc->e;
	char want[45], whole_hex[33], nparts[16];
	size_t elen, nlen;
	int sse, ok = 0;

	checksum_multipart_etag(mc->j->md5s, mc->j->nparts, want);
	hex_encode(mc->whole, 16, whole_hex);
	sse = mc->sse || (head != NULL && !sse_etag_is_md5(head));
	nlen = (size_t)snprintf(nparts, sizeof(nparts), "-%u", mc->j->nparts);
	elen = strlen(etag);
	if (head != NULL && head->content_length != (int64_t)mc->size)
		report_error(mc->run->rep, e->key, "the completed object has "
		    "%lld bytes, not %llu", (long long)head->content_length,
		    (unsigned long long)mc->size);
	else if (strcasecmp(etag, want) != 0 &&
	    strcasecmp(etag, whole_hex) != 0 && (!sse || elen <= nlen ||
	    strcmp(etag + elen - nlen, nparts) != 0))
		report_error(mc->run->rep, e->key, "the completed object's ETag "
		    "%s is neither %s nor the file's MD5", etag, want);
	else {
		journal_remove(mc->j);
		/* Counted once the object is whole, not part by part. */
		run_uploaded(mc->run, e, (int64_t)mc->size, mc->st, mc->sealed,
		    mc->sealed ? mc->hmac : NULL, etag, mc->whole);
		/*
		 * Ceph RGW 16 drops the lock headers of CreateMultipartUpload
		 * (and a resumed upload has an earlier run's date): not known
		 * locked, so lock_extend locks it before the run ends.
		 */
		if (e->rx != NULL)
			e->rx->lock_until = 0;
		ok = 1;
	}
	mc->done(mc->arg, ok);
}

/* The HEAD after a completion answer without an ETag. */
static void
mpcomplete_head_done(struct s3_call *c, void *arg)
{
	struct mpcomplete *mc = arg;

	if (!c->ok) {
		free(run_call_failed(mc->run, mc->e->key, c,
		    "HEAD after CompleteMultipartUpload"));
		mc->done(mc->arg, 0);
	} else if (c->etag == NULL || c->etag[0] == '\0') {
		report_error(mc->run->rep, mc->e->key, "the completed object "
		    "has no ETag");
		mc->done(mc->arg, 0);
	} else
		mpcomplete_check(mc, c->etag, c);
	s3_call_free(c);
}

static void
mpcomplete_done(struct s3_call *c, void *arg)
{
	struct mpcomplete *mc = arg;
	struct s3_call *head;
	struct s3_error err;
	char *etag = NULL;

	memset(&err, 0, sizeof(err));
	/* Sent: the body is not needed any more. */
	free(mc->body);
	mc->body = NULL;
	c->body = NULL;
	if (!sse_etag_is_md5(c))
		mc->sse = 1;
	if (!c->ok) {
		free(run_call_failed(mc->run, mc->e->key, c,
		    "CompleteMultipartUpload"));
		/* Parts the server will never take: the next run starts over. */
		if (c->err.code != NULL &&
		    (strcmp(c->err.code, "InvalidPart") == 0 ||
		    strcmp(c->err.code, "InvalidPartOrder") == 0 ||
		    strcmp(c->err.code, "NoSuchUpload") == 0))
			journal_remove(mc->j);
		mc->done(mc->arg, 0);
	} else if (mpdoc_parse_complete(c->resp.data, c->resp.len, &etag,
	    &err) == -1) {
		report_error(mc->run->rep, mc->e->key, "CompleteMultipartUpload "
		    "failed: %s", err.code != NULL ? err.code : "bad answer");
		mc->done(mc->arg, 0);
	} else if (etag[0] == '\0') {
		/* Ceph RGW 16 answers <ETag></ETag>: ask the object. */
		head = s3_call_new("HEAD", mc->run->bucket, mc->okey);
		head->done = mpcomplete_head_done;
		head->arg = mc;
		xfer_submit(s3_xfer(mc->run->s3), head);
	} else
		mpcomplete_check(mc, etag, NULL);
	free(etag);
	xml_error_free(&err);
	s3_call_free(c);
}

/*
 * Send CompleteMultipartUpload for "mc" (kept valid by the caller until
 * done runs) through the engine and check the object's ETag (a HEAD's
 * when the answer has none): the parts' multipart ETag, the whole MD5,
 * or with SSE any ETag of our part count and size.  Then done(arg, ok)
 * once: ok 1 when the file is stored (journal removed, counted by
 * run_uploaded), 0 when not (reported; the journal removed when the
 * server refused the parts).
 */
void
mpcomplete_start(struct mpcomplete *mc)
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
	for (i = 0; i < mc->j->nparts; i++) {
		hex_encode(mc->j->md5s + 16 * i, 16, hex);
		n = snprintf(line, sizeof(line), "<Part><PartNumber>%u"
		    "</PartNumber><ETag>\"%.64s\"</ETag></Part>", i + 1,
		    mc->petag != NULL && mc->petag[i] != NULL ?
		    mc->petag[i] : hex);
		buf_append(&body, line, (size_t)n);
	}
	buf_append(&body, "</CompleteMultipartUpload>", 26);
	mc->body = body.data;
	c = s3_call_new("POST", mc->run->bucket, mc->okey);
	s3_call_query(c, "uploadId", mc->j->upload_id);
	c->body = body.data;
	c->body_len = body.len;
	c->done = mpcomplete_done;
	c->arg = mc;
	xfer_submit(s3_xfer(mc->run->s3), c);
}
