/*
 * The list stage: every object under the backup's prefix into the
 * remote side of a table, keyed like the scan's keys (prefix removed).
 * p3backup's own objects (".p3backup/...") are left out.  The
 * ListObjectsV2 requests and their pages, read with xml.c's walk, are
 * here too, with what every listing page parser shares (versions.c's
 * for ListObjectVersions too): the walk's reports, the encoding, keys,
 * sizes and booleans.
 */
#include "config.h"

#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "s3.h"

/* The children of <Contents> we keep, and their element names. */
enum LIST_FIELD {
	LIST_KEY,
	LIST_SIZE,
	LIST_ETAG,
	LIST_MTIME,
	LIST_CLASS,
	LIST_NFIELDS
};
static const char *const list_names[LIST_NFIELDS] = {
	"Key", "Size", "ETag", "LastModified", "StorageClass"
};

struct list_page_ctx {
	const char	*doc;		/* the whole page, for the pre-scan */
	size_t		 doclen;
	int		 decode;	/* -1 not known yet, 0 raw, 1 decode */
	list_entry_fn	 fn;
	void		*arg;
	struct list_page *page;
	int		 is_error;	/* the root is <Error> */
	int		 in_contents;	/* inside a <Contents> */
	int		 have;		/* 1 << LIST_* seen in this <Contents> */
	struct buf	 field[LIST_NFIELDS];
	struct buf	 dkey;		/* the decoded key */
};

static int
list_enc_end(void *arg, int depth, const char *name, const struct buf *text)
{
	int *url = arg;

	if (depth != 1 || strcmp(name, "EncodingType") != 0)
		return XML_WALK_GO;
	*url = strcmp(text->data, "url") == 0;
	return XML_WALK_STOP;
}

/*
 * Whether the listing page "doc" says <EncodingType>url</EncodingType>
 * anywhere, for a parser that met an entry before the element.  S3
 * sends it before the first entry, but other servers put it last.
 * Returns 1, 0, or -1 on malformed XML (reported as "what: ...").
 */
int
list_encoding_url(const char *what, const char *doc, size_t len)
{
	struct xml_walker w;
	struct xml_diag diag;
	int url = 0;

	w.start = NULL;
	w.end = list_enc_end;
	w.arg = &url;
	if (xml_walk(doc, len, &w, &diag) == XML_WALK_BAD) {
		warnx("%s: malformed XML at line %d: %s", what,
		    diag.line, diag.msg);
		return -1;
	}
	return url;
}

/*
 * Decode the key "src" of a listing page sent with encoding-type=url
 * into "dst", as application/x-www-form-urlencoded: '+' is a space and
 * %XX a byte, whether or not the server left '/' unencoded.
 * Returns 0, or -1 on a bad escape or a decoded NUL (reported as
 * "what: ...").
 */
int
list_key_decode(const char *what, struct buf *dst, const struct buf *src)
{
	if (url_decode(dst, src->data, src->len, 1) == -1) {
		warnx("%s: key \"%s\" has an invalid %%-escape or "
		    "decodes to a NUL byte", what, src->data);
		return -1;
	}
	return 0;
}

/*
 * The <Size> "text" of the entry "key" of a listing page into *size:
 * decimal digits only, no sign, at most INT64_MAX.  Returns 0, or -1
 * (reported as "what: KEY: ...").
 */
int
list_parse_size(const char *what, const char *key, const char *text,
    int64_t *size)
{
	long long n;
	char *end;

	errno = 0;
	n = strtoll(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0) {
		warnx("%s: %s: bad <Size> \"%s\"", what, key, text);
		return -1;
	}
	*size = n;
	return 0;
}

/*
 * The text of element <name> of a listing page, "true" or "false",
 * into *val (1 or 0).  Returns 0, or -1 on anything else (reported as
 * "what: ...").
 */
int
list_parse_bool(const char *what, const char *name, const char *text,
    int *val)
{
	if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0) {
		warnx("%s: bad <%s> \"%s\"", what, name, text);
		return -1;
	}
	*val = strcmp(text, "true") == 0;
	return 0;
}

/*
 * Walk the listing page "doc" with "w" and say what went wrong, as
 * "what: ...": malformed XML, or the server's <Error> document when
 * the walk stopped on one (the walker sets *is_error on an <Error>
 * root); a walker's own failures are its to report.  Returns 0, or -1.
 */
int
list_walk_page(const char *what, const char *doc, size_t len,
    const struct xml_walker *w, const int *is_error)
{
	struct xml_diag diag;
	struct s3_error err;
	int rc = -1;

	switch (xml_walk(doc, len, w, &diag)) {
	case XML_WALK_GO:
		break;
	case XML_WALK_BAD:
		warnx("%s: malformed XML at line %d: %s", what,
		    diag.line, diag.msg);
		goto out;
	default:
		if (*is_error) {
			if (xml_parse_error(doc, len, &err) == 0)
				warnx("%s: server error %s: %s", what,
				    err.code, err.message != NULL ?
				    err.message : "");
			else
				warnx("%s: server sent an <Error>", what);
			xml_error_free(&err);
		}
		goto out;
	}
	rc = 0;
out:
	return rc;
}

/* The text of field "f" of this <Contents>, or NULL when absent. */
static char *
list_get(struct list_page_ctx *ctx, enum LIST_FIELD f)
{
	return ctx->have & (1 << f) ? ctx->field[f].data : NULL;
}

/* Check and hand one finished <Contents> to the callback. */
static int
list_entry_done(struct list_page_ctx *ctx)
{
	struct list_entry e;
	struct buf *key = &ctx->field[LIST_KEY];
	const char *size;

	if (list_get(ctx, LIST_KEY) == NULL) {
		warnx("listing: <Contents> without <Key>");
		return XML_WALK_FAIL;
	}
	if (ctx->decode == -1 && (ctx->decode = list_encoding_url("listing",
	    ctx->doc, ctx->doclen)) == -1)
		return XML_WALK_FAIL;
	if (ctx->decode == 1) {
		if (list_key_decode("listing", &ctx->dkey, key) == -1)
			return XML_WALK_FAIL;
		key = &ctx->dkey;
	}
	if (key->len == 0) {
		warnx("listing: <Contents> with an empty <Key>");
		return XML_WALK_FAIL;
	}
	if ((size = list_get(ctx, LIST_SIZE)) == NULL) {
		warnx("listing: %s: <Contents> without <Size>", key->data);
		return XML_WALK_FAIL;
	}
	memset(&e, 0, sizeof(e));
	if (list_parse_size("listing", key->data, size, &e.size) == -1)
		return XML_WALK_FAIL;
	e.key = key->data;
	e.keylen = key->len;
	e.etag = list_get(ctx, LIST_ETAG) != NULL ?
	    xml_unquote(&ctx->field[LIST_ETAG]) : NULL;
	e.last_modified = list_get(ctx, LIST_MTIME);
	e.storage_class = list_get(ctx, LIST_CLASS);
	ctx->page->count++;
	return ctx->fn(ctx->arg, &e) == 0 ? XML_WALK_GO : XML_WALK_FAIL;
}

static int
list_start(void *arg, int depth, const char *name)
{
	struct list_page_ctx *ctx = arg;

	if (depth == 0 && strcmp(name, "ListBucketResult") != 0) {
		if (strcmp(name, "Error") == 0)
			ctx->is_error = 1;
		else
			warnx("listing: unexpected root element <%s>", name);
		return XML_WALK_FAIL;
	}
	if (depth == 1 && strcmp(name, "Contents") == 0) {
		ctx->in_contents = 1;
		ctx->have = 0;
	}
	return XML_WALK_GO;
}

static int
list_end(void *arg, int depth, const char *name, const struct buf *text)
{
	struct list_page_ctx *ctx = arg;
	struct list_page *page = ctx->page;

	if (depth == 2 && ctx->in_contents) {
		xml_keep_field(list_names, LIST_NFIELDS, name, text,
		    ctx->field, &ctx->have);
		return XML_WALK_GO;
	}
	if (depth != 1)
		return XML_WALK_GO;
	if (strcmp(name, "Contents") == 0) {
		ctx->in_contents = 0;
		return list_entry_done(ctx);
	}
	if (strcmp(name, "IsTruncated") == 0) {
		if (list_parse_bool("listing", name, text->data,
		    &page->truncated) == -1)
			return XML_WALK_FAIL;
	} else if (strcmp(name, "NextContinuationToken") == 0) {
		/* Tokens are opaque: passed back exactly as received. */
		free(page->next_token);
		page->next_token = xstrdup(text->data);
	} else if (strcmp(name, "EncodingType") == 0 && ctx->decode == -1)
		ctx->decode = strcmp(text->data, "url") == 0;
	return XML_WALK_GO;
}

/*
 * Parse one ListObjectsV2 page in "buf", calling "fn" for every
 * <Contents> in document order; the entry's strings are valid during
 * the call only.  With "url_encoded" (the request asked for
 * encoding-type=url), keys are decoded as '+' to space and %XX to a
 * byte, but only when the page says <EncodingType>url</EncodingType>:
 * servers that ignore the parameter (s3rver) send raw keys.
 * Fills "page"; page->next_token is owned by the caller.
 * Returns 0, or -1 on malformed XML, an <Error> document or a bad
 * entry (all reported with one line), or when "fn" returned non-zero
 * (not reported); page->next_token is then NULL.
 */
int
list_parse_page(const char *buf, size_t len, int url_encoded,
    list_entry_fn fn, void *arg, struct list_page *page)
{
	struct list_page_ctx ctx;
	struct xml_walker w = { list_start, list_end, &ctx };
	int i, rc = -1;

	memset(page, 0, sizeof(*page));
	memset(&ctx, 0, sizeof(ctx));
	ctx.doc = buf;
	ctx.doclen = len;
	ctx.decode = url_encoded ? -1 : 0;
	ctx.fn = fn;
	ctx.arg = arg;
	ctx.page = page;

	if (list_walk_page("listing", buf, len, &w, &ctx.is_error) == -1)
		goto out;
	if (page->truncated &&
	    (page->next_token == NULL || page->next_token[0] == '\0')) {
		warnx("listing: <IsTruncated> is true but no "
		    "<NextContinuationToken>");
		goto out;
	}
	rc = 0;
out:
	if (rc == -1) {
		free(page->next_token);
		page->next_token = NULL;
	}
	for (i = 0; i < LIST_NFIELDS; i++)
		buf_free(&ctx.field[i]);
	buf_free(&ctx.dkey);
	return rc;
}

/*
 * ListObjectsV2 over every page of "bucket" under "prefix" (NULL or "":
 * all), with encoding-type=url, calling "fn" per object as
 * list_parse_page() does.  Returns 0, or -1 (reported).
 */
int
list_objects(struct s3 *s3, const char *bucket, const char *prefix,
    list_entry_fn fn, void *arg)
{
	struct s3_call *c = NULL;
	struct list_page page;
	char *token = NULL, *msg = NULL;
	long pages = 0;
	int rc = -1;

	memset(&page, 0, sizeof(page));
	do {
		c = s3_call_new("GET", bucket, NULL);
		s3_call_query(c, "list-type", "2");
		s3_call_query(c, "encoding-type", "url");
		if (prefix != NULL && *prefix != '\0')
			s3_call_query(c, "prefix", prefix);
		if (token != NULL)
			s3_call_query(c, "continuation-token", token);
		if (s3_exec(s3, c) == -1) {
			msg = s3_call_errstr(c);
			warnx("list bucket %s: %s", bucket, msg);
			goto out;
		}
		free(token);
		token = NULL;
		if (list_parse_page(c->resp.data, c->resp.len, 1, fn, arg,
		    &page) == -1)
			goto out;
		pages++;
		token = page.next_token;
		page.next_token = NULL;
		s3_call_free(c);
		c = NULL;
	} while (page.truncated && token != NULL);
	logmsg(1, "listed bucket %s in %ld page(s)", bucket, pages);
	rc = 0;
out:
	free(msg);
	free(token);
	s3_call_free(c);
	return rc;
}

struct list_ctx {
	struct table	*tbl;
	size_t		 skip;		/* bytes of "prefix/" to remove */
};

/*
 * Put the object "key" ("len" bytes, the full key) of a listing into
 * the remote side of "tbl" under its key relative to the "skip" bytes
 * of "PREFIX/": its size, ETag and, where no stored mtime is known, its
 * LastModified (rlastmod).  The prefix's own "P/" marker and reserved
 * keys are left out (NULL).  Returns the entry.
 */
struct entry *
list_remote(struct table *tbl, size_t skip, const char *key, size_t len,
    int64_t size, const char *etag, const char *last_modified)
{
	struct entry *e;

	if (len <= skip)
		return NULL;
	key += skip;
	len -= skip;
	if (list_reserved(key, len))
		return NULL;
	e = table_get(tbl, key, len);
	if (!e->remote)
		tbl->nremote++;
	e->remote = 1;
	e->rsize = size;
	e->dir = len > 0 && key[len - 1] == '/';
	table_set_etag(e, etag != NULL ? etag : "");
	/* Where no stored mtime is known, the mtime compare falls back on it. */
	if (last_modified != NULL && !e->rmtime_known &&
	    lastmod_parse(last_modified, &e->rmtime_sec) == 0)
		e->rlastmod = 1;
	return e;
}

static int
list_add(void *arg, const struct list_entry *le)
{
	struct list_ctx *ctx = arg;

	(void)list_remote(ctx->tbl, ctx->skip, le->key, le->keylen, le->size,
	    le->etag, le->last_modified);
	return 0;
}

/*
 * 1 when the "len" bytes of "key" have a RESERVED_PREFIX segment, at any
 * depth (a whole-bucket listing sees every job's ".p3backup/"), else 0.
 */
int
list_reserved(const char *key, size_t len)
{
	const size_t rlen = sizeof(RESERVED_PREFIX) - 1;
	size_t i;

	/*
	 * At any depth: a whole-bucket listing sees the index of every job
	 * stored under a prefix ("host1/alice/.p3backup/index").
	 */
	for (i = 0; i + rlen <= len; i++)
		if ((i == 0 || key[i - 1] == '/') &&
		    memcmp(key + i, RESERVED_PREFIX, rlen) == 0)
			return 1;
	return 0;
}

/*
 * The full object key for relative "key": "PREFIX/key" with cfg->prefix,
 * else a copy of "key".  Caller frees.
 */
char *
list_object_key(const struct config *cfg, const char *key)
{
	if (cfg->prefix == NULL)
		return xstrdup(key);
	return xasprintf("%s/%s", cfg->prefix, key);
}

/*
 * List every object under cfg->prefix into the remote side of "tbl"
 * (list_objects), keys relative to the prefix, reserved keys
 * (list_reserved) left out; where no stored mtime is known, the
 * LastModified is kept (rlastmod).  Returns 0, or -1 (reported).
 */
int
list_bucket(struct s3 *s3, const char *bucket, struct table *tbl)
{
	struct list_ctx ctx;
	char *prefix = NULL;
	int rc;

	ctx.tbl = tbl;
	ctx.skip = 0;
	if (s3_config(s3)->prefix != NULL) {
		prefix = xasprintf("%s/", s3_config(s3)->prefix);
		ctx.skip = strlen(prefix);
	}
	rc = list_objects(s3, bucket, prefix, list_add, &ctx);
	free(prefix);
	return rc;
}
