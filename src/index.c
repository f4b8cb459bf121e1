/*
 * The index: where stored mtimes come from without a request per file.
 *
 * At the end of every run that changed anything, p3backup writes one
 * object, "[PREFIX/].p3backup/index", listing for each object it knows
 * the key, size, ETag and x-amz-meta-mtime.  The next run reads it
 * (one GET) and believes an mtime only for an object whose size and
 * ETag in this run's listing are exactly those the index recorded, so
 * an index that is stale, foreign or tampered with can make p3backup
 * upload too much, never skip a changed file.  Objects the index does
 * not vouch for are asked about with HEAD, when --mtime needs them.
 *
 * Format: a first line "p3backup-index 1", then one line per object:
 * "KEY SIZE ETAG MTIME [FLAG]..." with KEY percent-encoded as for SigV4
 * (so it has no spaces or newlines), ETAG as hex MD5 with an optional
 * "-N", MTIME in rclone's format or "-" when unknown, and these flags:
 * "D" when the object is tagged Deleted=True by --tag-deleted (so it is
 * not tagged again); "E" or "E<SIZE>" when it is encrypted
 * (doc/encryption.md), with its plaintext size when known; "K<HEX>" the
 * first 8 bytes of its key id; "H<HEX>" its keyed plaintext checksum
 * (64 hex digits); "M<HEX>" the MD5 of its bytes when the ETag does
 * not show it (multipart, SSE-KMS, SSE-C); "L<SECONDS>" the Object Lock
 * retain-until date of the version (--lock-days), in seconds since the
 * epoch, so that extending locks asks nothing per object; "P<HEX>" the
 * mode (permission bits), owner and group of the file it holds, as the
 * 8 hex digits of their 32-bit meta_perm hash, so that a chmod or chown
 * alone is seen without a HEAD (an object without "P" is not compared;
 * a HEAD that reads x-amz-meta-mode, -uid and -gid fills it in).  An
 * object without "E" is plain.  Lines are sorted by key, so an unchanged
 * set of objects gives a byte-identical index and no PUT is needed.
 */
#include "config.h"

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <mbedtls/md5.h>

#include "extern.h"
#include "s3.h"

#define INDEX_MAGIC	"p3backup-index 1"
/*
 * " D L<20 digits> P<8 hex> E<20 digits> K<16 hex> H<64 hex> M<32 hex>"
 * and the NUL, with room.
 */
#define INDEX_FLAGS_MAX	192

/* Exactly 2 * n hex digits at "s" (NULL: none) into out[n].  0, or -1. */
static int
index_hex(const char *s, unsigned char *out, size_t n)
{
	if (s == NULL || strlen(s) != 2 * n)
		return -1;
	return hex_decode(s, n, out);
}

/*
 * Parse the flags of an index line into "probe" (rtagged, rcrypt, rx,
 * rperm).
 * Returns 0, or -1 when one is malformed.
 */
static int
index_flags(char *flags, struct entry *probe)
{
	struct rmeta *rx;
	unsigned char pb[4];
	uint64_t n;
	char *f;

	while ((f = strsep(&flags, " ")) != NULL) {
		if (strcmp(f, "D") == 0)
			probe->rtagged = 1;
		else if (f[0] == 'E') {
			rx = entry_rcrypt(probe);
			if (f[1] == '\0')
				continue;
			if (decimal_parse(f + 1, INT64_MAX, &n) == -1)
				return -1;
			rx->psize = (int64_t)n;
		} else if (f[0] == 'H') {
			rx = entry_rcrypt(probe);
			if (index_hex(f + 1, rx->hmac, sizeof(rx->hmac)) == -1)
				return -1;
			rx->hmac_known = 1;
		} else if (f[0] == 'M') {
			rx = entry_rmeta(probe);
			if (index_hex(f + 1, rx->md5, sizeof(rx->md5)) == -1)
				return -1;
			rx->md5_known = 1;
		} else if (f[0] == 'L') {
			if (decimal_parse(f + 1, INT64_MAX, &n) == -1 || n == 0)
				return -1;
			entry_rmeta(probe)->lock_until = (int64_t)n;
		} else if (f[0] == 'P') {
			if (index_hex(f + 1, pb, sizeof(pb)) == -1)
				return -1;
			probe->rperm = (uint32_t)pb[0] << 24 |
			    (uint32_t)pb[1] << 16 | (uint32_t)pb[2] << 8 | pb[3];
			probe->rperm_known = 1;
		} else if (f[0] == 'K') {
			rx = entry_rcrypt(probe);
			if (index_hex(f + 1, rx->keyid, sizeof(rx->keyid)) == -1)
				return -1;
			rx->keyid_known = 1;
		} else
			return -1;
	}
	return 0;
}

/* Apply one index line to the table when the listing vouches for it. */
static void
index_apply(struct index *ix, struct table *tbl, char *line)
{
	char *key, *size, *etag, *mtime;
	struct entry *e, probe;
	unsigned char md5[16];
	int64_t sec = 0;
	int32_t nsec = 0;
	uint64_t n;
	int known;

	memset(&probe, 0, sizeof(probe));
	line[strcspn(line, "\n")] = '\0';
	key = strsep(&line, " ");
	size = strsep(&line, " ");
	etag = strsep(&line, " ");
	mtime = strsep(&line, " ");
	if (key == NULL || size == NULL || etag == NULL || mtime == NULL ||
	    url_decode(&ix->key, key, strlen(key), 0) == -1 ||
	    ix->key.len == 0)
		goto bad;
	known = strcmp(mtime, "-") != 0;
	if (decimal_parse(size, INT64_MAX, &n) == -1 ||
	    (known && mtime_parse(mtime, &sec, &nsec) == -1) ||
	    (line != NULL && index_flags(line, &probe) == -1))
		goto bad;
	table_set_etag(&probe, etag);
	if (!probe.retag_md5)
		goto bad;
	e = table_find(tbl, ix->key.data, ix->key.len);
	if (e == NULL || !e->remote || e->rsize != (int64_t)n ||
	    !e->retag_md5 || e->rparts != probe.rparts ||
	    memcmp(e->rmd5, probe.rmd5, sizeof(e->rmd5)) != 0)
		goto out;
	if (known) {
		e->rmtime_sec = sec;
		e->rmtime_nsec = nsec;
		e->rmtime_known = 1;
	}
	e->rtagged = probe.rtagged;
	e->rperm = probe.rperm;
	e->rperm_known = probe.rperm_known;
	/* The line describes this very object: plain unless it says "E". */
	free(e->rx);
	e->rx = probe.rx;
	probe.rx = NULL;
	e->rcrypt = probe.rcrypt == RCRYPT_YES ? RCRYPT_YES : RCRYPT_NO;
	if (e->rx != NULL && e->rx->md5_known) {
		memcpy(md5, e->rx->md5, sizeof(md5));
		entry_set_md5(e, md5);
	}
	ix->vouched++;
	goto out;
bad:
	ix->malformed++;
out:
	free(probe.rx);
}

/*
 * Zero "ix", GET the index object ([PREFIX/].p3backup/index; its version
 * "version" unless NULL) and apply
 * each line to the remote entry of "tbl" it describes when the listing
 * vouches for it (same size and ETag): its stored mtime, the Deleted tag
 * (rtagged), whether it is encrypted (plaintext size, key id, keyed
 * checksum) and the MD5 of its bytes.  The index's MD5 is kept in ix->md5
 * for index_save.  A missing, foreign or unreadable index is not an error
 * (said, unless missing; malformed lines are counted and said).  Returns
 * 0, or -1 (reported) on a fatal call error, or when a backup cannot read
 * it for want of the SSE-C key.  Free "ix" with index_free.
 */
int
index_load(struct index *ix, struct s3 *s3, const char *bucket,
    const char *version, struct table *tbl)
{
	mbedtls_md5_context ctx;
	struct s3_call *c = NULL;
	unsigned char md5[16];
	char *key = NULL, *line = NULL, *msg;
	size_t cap = 0;
	ssize_t n;
	FILE *fp = NULL;
	int rc = -1;

	memset(ix, 0, sizeof(*ix));
	mbedtls_md5_init(&ctx);
	mbedtls_md5_starts_ret(&ctx);
	if ((fp = tmpfile()) == NULL) {
		warn("index: temporary file");
		goto out;
	}
	key = list_object_key(s3_config(s3), INDEX_NAME);
	c = s3_call_new("GET", bucket, key);
	if (version != NULL)
		s3_call_query(c, "versionId", version);
	c->out_fd = fileno(fp);
	if (s3_exec(s3, c) == -1) {
		if (c->status == 404)
			rc = 0;		/* first run: no index yet */
		else if (sse_c_hint(s3_config(s3), c) != NULL &&
		    !s3_config(s3)->restore)
			/* The backups here are SSE-C: never go on without. */
			warnx("index %s: %s (HTTP %ld): a backup without the key "
			    "would store files unencrypted; nothing uploaded",
			    key, sse_c_hint(s3_config(s3), c), c->status);
		else {
			msg = s3_call_errstr(c);
			warnx("index %s: %s; asking the bucket instead", key, msg);
			free(msg);
			rc = s3_call_fatal(c) ? -1 : 0;
		}
		goto out;
	}
	/*
	 * Its MD5 tells index_save whether anything changed: the ETag
	 * would not (SSE-KMS and SSE-C ETags are no MD5).
	 */
	rewind(fp);
	if ((n = getline(&line, &cap, fp)) == -1 ||
	    strcmp(line, INDEX_MAGIC "\n") != 0) {
		warnx("index %s: not a p3backup index; ignored", key);
		rc = 0;
		goto out;
	}
	mbedtls_md5_update_ret(&ctx, (unsigned char *)line, (size_t)n);
	while ((n = getline(&line, &cap, fp)) != -1) {
		mbedtls_md5_update_ret(&ctx, (unsigned char *)line, (size_t)n);
		index_apply(ix, tbl, line);
	}
	mbedtls_md5_finish_ret(&ctx, md5);
	ix->md5 = xmalloc(33);
	hex_encode(md5, 16, ix->md5);
	if (ix->malformed > 0)
		warnx("index %s: %zu malformed line(s) ignored", key,
		    ix->malformed);
	logmsg(1, "index: %zu stored mtime(s) vouched for by the listing",
	    ix->vouched);
	rc = 0;
out:
	mbedtls_md5_free(&ctx);
	free(line);
	free(key);
	if (fp != NULL)
		fclose(fp);
	s3_call_free(c);
	return rc;
}

static int
index_cmp(const void *a, const void *b)
{
	const struct entry *ea = *(struct entry *const *)a;
	const struct entry *eb = *(struct entry *const *)b;

	return strcmp(ea->key, eb->key);
}

/*
 * " D", " M<hex>", " L<seconds>", " E<size>", " K<hex>", " H<hex>": e's
 * line's flags.
 */
static void
index_flags_format(const struct entry *e, char out[INDEX_FLAGS_MAX])
{
	size_t len = 0;

	out[0] = '\0';
	if (e->rtagged)
		len += (size_t)snprintf(out + len, INDEX_FLAGS_MAX - len, " D");
	if (e->rx != NULL && e->rx->md5_known) {
		out[len++] = ' ';
		out[len++] = 'M';
		hex_encode(e->rx->md5, 16, out + len);
		len += 32;
	}
	if (e->rx != NULL && e->rx->lock_until > 0)
		len += (size_t)snprintf(out + len, INDEX_FLAGS_MAX - len,
		    " L%lld", (long long)e->rx->lock_until);
	if (e->rperm_known)
		len += (size_t)snprintf(out + len, INDEX_FLAGS_MAX - len,
		    " P%08lx", (unsigned long)e->rperm);
	if (e->rcrypt != RCRYPT_YES)
		return;
	if (e->rx != NULL && e->rx->psize >= 0)
		len += (size_t)snprintf(out + len, INDEX_FLAGS_MAX - len,
		    " E%lld", (long long)e->rx->psize);
	else
		len += (size_t)snprintf(out + len, INDEX_FLAGS_MAX - len, " E");
	if (e->rx != NULL && e->rx->keyid_known) {
		out[len++] = ' ';
		out[len++] = 'K';
		hex_encode(e->rx->keyid, CRYPT_KEYID_SHORT, out + len);
		len += 2 * CRYPT_KEYID_SHORT;
	}
	if (e->rx != NULL && e->rx->hmac_known) {
		out[len++] = ' ';
		out[len++] = 'H';
		hex_encode(e->rx->hmac, 32, out + len);
	}
}

/*
 * Write the index: one line, sorted by key, for every remote entry whose
 * ETag is an MD5 form and whose mtime, lock or mode is known or which
 * is tagged deleted.  Nothing is sent when it is byte-identical to the one
 * index_load read (ix->md5).  Returns 0, or -1 (reported; a failed PUT
 * only means the next --mtime run asks the bucket).
 */
int
index_save(struct index *ix, struct s3 *s3, const char *bucket,
    const struct table *tbl)
{
	mbedtls_md5_context ctx;
	struct entry *e, **v = NULL;
	size_t ti;
	unsigned char md5[16];
	char md5hex[33], mtime[32], etag[45], flags[INDEX_FLAGS_MAX], b64[32];
	char *enc, *line, *key = NULL, *msg;
	struct s3_call *c = NULL;
	size_t n = 0, i;
	long size;
	FILE *fp = NULL;
	int rc = -1;

	v = xcalloc(tbl->n + 1, sizeof(*v));
	TABLE_FOREACH(tbl, ti, e)
		if (e->remote && e->retag_md5 && (e->rmtime_known ||
		    e->rtagged || e->rperm_known || (e->rx != NULL && e->rx->lock_until > 0)))
			v[n++] = e;
	qsort(v, n, sizeof(*v), index_cmp);
	if ((fp = tmpfile()) == NULL) {
		warn("index: temporary file");
		goto out;
	}
	mbedtls_md5_init(&ctx);
	mbedtls_md5_starts_ret(&ctx);
	line = xasprintf("%s\n", INDEX_MAGIC);
	for (i = 0; ; i++) {
		fputs(line, fp);
		mbedtls_md5_update_ret(&ctx, (unsigned char *)line, strlen(line));
		free(line);
		if (i == n)
			break;
		e = v[i];
		enc = uri_encode(e->key, strlen(e->key), 1);
		hex_encode(e->rmd5, 16, etag);
		if (e->rparts > 0)
			snprintf(etag + 32, sizeof(etag) - 32, "-%u", e->rparts);
		if (e->rmtime_known)
			mtime_format(e->rmtime_sec, e->rmtime_nsec, mtime);
		else
			strcpy(mtime, "-");
		index_flags_format(e, flags);
		line = xasprintf("%s %lld %s %s%s\n", enc, (long long)e->rsize,
		    etag, mtime, flags);
		free(enc);
	}
	mbedtls_md5_finish_ret(&ctx, md5);
	mbedtls_md5_free(&ctx);
	if (fflush(fp) == EOF || ferror(fp)) {
		warn("index: temporary file");
		goto out;
	}
	hex_encode(md5, 16, md5hex);
	if (ix->md5 != NULL && strcmp(ix->md5, md5hex) == 0) {
		rc = 0;		/* unchanged: no PUT */
		goto out;
	}
	size = ftell(fp);
	md5_base64(md5, b64);
	key = list_object_key(s3_config(s3), INDEX_NAME);
	c = s3_put_new(bucket, key, fileno(fp), (uint64_t)size, b64,
	    NULL, "text/plain");
	if (s3_exec(s3, c) == -1) {
		msg = s3_call_errstr(c);
		warnx("index %s: %s (the next --mtime run will ask the bucket "
		    "instead)", key, msg);
		free(msg);
		goto out;
	}
	logmsg(1, "index: wrote %zu entries", n);
	rc = 0;
out:
	free(key);
	free(v);
	if (fp != NULL)
		fclose(fp);
	s3_call_free(c);
	return rc;
}

/*
 * Free what "ix" owns (its MD5 and scratch key), leaving it reusable.
 */
void
index_free(struct index *ix)
{
	free(ix->md5);
	ix->md5 = NULL;
	buf_free(&ix->key);
}

/* ---- HEAD for the objects the index does not vouch for ---- */

/* One HEAD pass. */
struct headrun {
	struct run		*run;
	struct entry		**v;
	size_t			 n;
	size_t			 next;
};

/*
 * What the p3-* metadata of HEAD (or GET) answer "c" says of e's
 * encryption: without x-amz-meta-p3-crypt "e" is plain
 * (entry_set_plain); with it, encrypted, and its plaintext size, key id
 * and keyed checksum are taken where they parse.
 */
void
index_head_crypt(struct entry *e, const struct s3_call *c)
{
	struct rmeta *rx;
	uint64_t n;

	if (c->meta_crypt == NULL) {
		entry_set_plain(e);
		return;
	}
	rx = entry_rcrypt(e);
	if (c->meta_psize != NULL &&
	    decimal_parse(c->meta_psize, INT64_MAX, &n) == 0)
		rx->psize = (int64_t)n;
	if (index_hex(c->meta_key, rx->keyid, sizeof(rx->keyid)) == 0)
		rx->keyid_known = 1;
	if (index_hex(c->meta_hmac, rx->hmac, sizeof(rx->hmac)) == 0)
		rx->hmac_known = 1;
}

/*
 * The mode and owner a HEAD answer "c" gives e's object, when it names
 * all three well (rclone's and ours do); else e->rperm stays as it was.
 */
static void
index_head_perm(struct entry *e, const struct s3_call *c)
{
	struct meta m;
	const char *why;

	if (meta_parse(c->meta_mode, c->meta_uid, c->meta_gid, &m, &why) == -1 ||
	    !m.has_mode || !m.has_uid || !m.has_gid)
		return;
	e->rperm = meta_perm(m.mode, m.uid, m.gid);
	e->rperm_known = 1;
}

static void
index_head_done(struct s3_call *c, void *arg)
{
	struct entry *e = arg;
	struct headrun *hr = c->arg2;
	char *msg;

	/* Believe it only for the object the listing showed. */
	if (c->ok && c->content_length == e->rsize) {
		if (c->meta_mtime != NULL && mtime_parse(c->meta_mtime,
		    &e->rmtime_sec, &e->rmtime_nsec) == 0)
			e->rmtime_known = 1;
		index_head_crypt(e, c);
		index_head_perm(e, c);
		checksum_note_answer(e, c);
	} else if (!c->ok && sse_c_hint(hr->run->cfg, c) != NULL &&
	    !hr->run->cfg->restore) {
		/* Uploading it again would drop its SSE-C: stop here. */
		if (run_stop(hr->run))
			warnx("%s: %s (HTTP %ld): a backup without the key would "
			    "store files unencrypted; nothing uploaded", e->key,
			    sse_c_hint(hr->run->cfg, c), c->status);
	} else if (!c->ok) {
		msg = s3_call_errstr(c);
		if (s3_call_fatal(c))
			(void)run_stop(hr->run);
		warnx("%s: HEAD failed: %s; it will be uploaded", e->key, msg);
		free(msg);
	}
	s3_call_free(c);
}

static int
index_head_feed(void *arg)
{
	struct headrun *hr = arg;
	struct s3_call *c;
	struct entry *e;
	char *key;

	if (hr->next == hr->n || hr->run->fatal)
		return 0;
	e = hr->v[hr->next++];
	key = list_object_key(hr->run->cfg, e->key);
	c = s3_call_new("HEAD", hr->run->bucket, key);
	free(key);
	if (e->rversion != NULL)
		s3_call_query(c, "versionId", e->rversion);
	c->done = index_head_done;
	c->arg = e;
	c->arg2 = hr;
	xfer_submit(s3_xfer(hr->run->s3), c);
	return 1;
}

/*
 * Whether the plan needs e's metadata that neither the listing nor the
 * index gave: the stored mtime for --mtime, the keyed checksum for
 * --checksum of encrypted objects.  Only where the sizes may match: an
 * object of another size is uploaded anyway (with encryption the
 * sizes tell little, compressed objects having any size).
 */
static int
index_needs_head(const struct entry *e, const struct config *cfg)
{
	int hmac;

	if (!e->local || !e->remote || e->dir)
		return 0;
	if (e->lsize != e->rsize && cfg->crypt_hlen == 0)
		return 0;
	if (cfg->mtime && !e->rmtime_known)
		return 1;
	hmac = e->rcrypt == RCRYPT_YES && e->rx != NULL && e->rx->hmac_known;
	return cfg->checksum && cfg->crypt_hlen > 0 && !cfg->restore &&
	    e->rcrypt != RCRYPT_NO && !hmac;
}

/*
 * HEAD the entries of "tbl" for which want(e, cfg) holds; *v (caller
 * frees) and *n are those entries.  Returns 0, or -1 when fatal.
 */
static int
index_head_where(struct run *run, struct table *tbl,
    int (*want)(const struct entry *, const struct config *),
    struct entry ***v, size_t *n)
{
	struct headrun hr;
	struct entry *e;
	size_t ti;
	int rc;

	memset(&hr, 0, sizeof(hr));
	hr.run = run;
	run->fatal = 0;
	hr.v = xcalloc(tbl->n + 1, sizeof(*hr.v));
	TABLE_FOREACH(tbl, ti, e)
		if (want(e, run->cfg))
			hr.v[hr.n++] = e;
	if (hr.n > 0)
		logmsg(1, "index: asking the bucket for the metadata of %zu "
		    "object(s)", hr.n);
	xfer_set_feed(s3_xfer(run->s3), index_head_feed, &hr);
	rc = xfer_run(s3_xfer(run->s3)) == -1 || run->fatal ? -1 : 0;
	*v = hr.v;
	*n = hr.n;
	return rc;
}

/*
 * HEAD every object of "tbl" whose metadata the plan needs and neither
 * the listing nor the index gave (a stored mtime for --mtime, the keyed
 * checksum of an encrypted object for --checksum), and take its
 * x-amz-meta-mtime and p3-* fields.  Returns 0, or -1 on a fatal error
 * (reported; run->fatal set); other failures leave them unknown.
 */
int
index_head_missing(struct run *run, struct table *tbl)
{
	struct entry **v;
	size_t n;
	int rc;

	rc = index_head_where(run, tbl, index_needs_head, &v, &n);
	free(v);
	return rc;
}

/*
 * --checksum's second look: HEAD every entry that came out different or
 * unknown by its ETag alone (checksum_doubtful), so that an SSE-KMS or
 * SSE-C ETag is recognised and rclone's (or our) md5chksum is read.
 * *v (caller frees) and *n are the entries asked, for checksum_again.
 * Returns 0, or -1 on a fatal error (reported; run->fatal set).
 */
int
index_head_doubtful(struct run *run, struct table *tbl, struct entry ***v,
    size_t *n)
{
	return index_head_where(run, tbl, checksum_doubtful, v, n);
}
