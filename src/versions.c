/*
 * ListObjectVersions: every version and delete marker under a prefix,
 * page by page, read with xml.c's walk and the helpers list.c shares
 * with every listing parser.  Nothing here decides what a version
 * means for a restore; callers get the entries in the server's order
 * (by key, newest first within a key).
 */
#include "config.h"

#include <err.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "s3.h"

#define VERSIONS_WHAT	"listing versions"

/* The children of <Version> and <DeleteMarker> we keep, and their names. */
enum VERSIONS_FIELD {
	VERSIONS_KEY,
	VERSIONS_ID,
	VERSIONS_LATEST,
	VERSIONS_SIZE,
	VERSIONS_ETAG,
	VERSIONS_MTIME,
	VERSIONS_CLASS,
	VERSIONS_NFIELDS
};
static const char *const versions_names[VERSIONS_NFIELDS] = {
	"Key", "VersionId", "IsLatest", "Size", "ETag", "LastModified",
	"StorageClass"
};

struct versions_ctx {
	const char	*doc;		/* the whole page, for the pre-scan */
	size_t		 doclen;
	int		 decode;	/* -1 not known yet, 0 raw, 1 decode */
	versions_entry_fn fn;
	void		*arg;
	struct versions_page *page;
	int		 is_error;	/* the root is <Error> */
	const char	*in_entry;	/* "Version", "DeleteMarker" or NULL */
	int		 have;		/* 1 << VERSIONS_* seen in this entry */
	struct buf	 field[VERSIONS_NFIELDS];
	struct buf	 dkey;		/* the decoded key */
	struct buf	 last_key;	/* the last entry's key, decoded */
	struct buf	 marker;	/* NextKeyMarker as sent */
	int		 have_marker;
};

/* The text of field "f" of this entry, or NULL when absent. */
static char *
versions_get(struct versions_ctx *ctx, enum VERSIONS_FIELD f)
{
	return ctx->have & (1 << f) ? ctx->field[f].data : NULL;
}

/* The entry's key, decoded when the page is encoded; NULL on error. */
static struct buf *
versions_key(struct versions_ctx *ctx)
{
	struct buf *key = &ctx->field[VERSIONS_KEY];

	if (versions_get(ctx, VERSIONS_KEY) == NULL) {
		warnx("%s: <%s> without <Key>", VERSIONS_WHAT, ctx->in_entry);
		return NULL;
	}
	if (ctx->decode == -1 && (ctx->decode = list_encoding_url(
	    VERSIONS_WHAT, ctx->doc, ctx->doclen)) == -1)
		return NULL;
	if (ctx->decode == 1) {
		if (list_key_decode(VERSIONS_WHAT, &ctx->dkey, key) == -1)
			return NULL;
		key = &ctx->dkey;
	}
	if (key->len == 0) {
		warnx("%s: <%s> with an empty <Key>", VERSIONS_WHAT,
		    ctx->in_entry);
		return NULL;
	}
	return key;
}

/* Check and hand one finished <Version> or <DeleteMarker> to the callback. */
static int
versions_entry_done(struct versions_ctx *ctx)
{
	struct versions_entry e;
	struct buf *key;
	const char *id, *latest, *size;

	if ((key = versions_key(ctx)) == NULL)
		return XML_WALK_FAIL;
	memset(&e, 0, sizeof(e));
	e.key = key->data;
	e.keylen = key->len;
	e.delete_marker = strcmp(ctx->in_entry, "DeleteMarker") == 0;
	e.size = -1;
	/* Passed back as version-id-marker: an empty one would restart. */
	if ((id = versions_get(ctx, VERSIONS_ID)) == NULL || id[0] == '\0') {
		warnx("%s: %s: <%s> without <VersionId>", VERSIONS_WHAT,
		    e.key, ctx->in_entry);
		return XML_WALK_FAIL;
	}
	e.version_id = id;
	if ((latest = versions_get(ctx, VERSIONS_LATEST)) != NULL &&
	    list_parse_bool(VERSIONS_WHAT, "IsLatest", latest,
	    &e.is_latest) == -1)
		return XML_WALK_FAIL;
	if (!e.delete_marker) {
		if ((size = versions_get(ctx, VERSIONS_SIZE)) == NULL) {
			warnx("%s: %s: <Version> without <Size>",
			    VERSIONS_WHAT, e.key);
			return XML_WALK_FAIL;
		}
		if (list_parse_size(VERSIONS_WHAT, e.key, size,
		    &e.size) == -1)
			return XML_WALK_FAIL;
		e.etag = versions_get(ctx, VERSIONS_ETAG) != NULL ?
		    xml_unquote(&ctx->field[VERSIONS_ETAG]) : NULL;
		e.storage_class = versions_get(ctx, VERSIONS_CLASS);
	}
	e.last_modified = versions_get(ctx, VERSIONS_MTIME);
	buf_reset(&ctx->last_key);
	buf_append(&ctx->last_key, key->data, key->len);
	ctx->page->count++;
	return ctx->fn(ctx->arg, &e) == 0 ? XML_WALK_GO : XML_WALK_FAIL;
}

static int
versions_start(void *arg, int depth, const char *name)
{
	struct versions_ctx *ctx = arg;

	if (depth == 0 && strcmp(name, "ListVersionsResult") != 0) {
		if (strcmp(name, "Error") == 0)
			ctx->is_error = 1;
		else
			warnx("%s: unexpected root element <%s>",
			    VERSIONS_WHAT, name);
		return XML_WALK_FAIL;
	}
	if (depth == 1 && (strcmp(name, "Version") == 0 ||
	    strcmp(name, "DeleteMarker") == 0)) {
		ctx->in_entry = strcmp(name, "Version") == 0 ?
		    "Version" : "DeleteMarker";
		ctx->have = 0;
	}
	return XML_WALK_GO;
}

static int
versions_end(void *arg, int depth, const char *name, const struct buf *text)
{
	struct versions_ctx *ctx = arg;
	struct versions_page *page = ctx->page;
	int rc;

	if (depth == 2 && ctx->in_entry != NULL) {
		xml_keep_field(versions_names, VERSIONS_NFIELDS, name, text,
		    ctx->field, &ctx->have);
		return XML_WALK_GO;
	}
	if (depth != 1)
		return XML_WALK_GO;
	if (ctx->in_entry != NULL) {
		rc = versions_entry_done(ctx);
		ctx->in_entry = NULL;
		return rc;
	}
	if (strcmp(name, "IsTruncated") == 0) {
		if (list_parse_bool(VERSIONS_WHAT, name, text->data,
		    &page->truncated) == -1)
			return XML_WALK_FAIL;
	} else if (strcmp(name, "NextKeyMarker") == 0) {
		/* Decoded at the end, when the encoding is known. */
		buf_reset(&ctx->marker);
		buf_append(&ctx->marker, text->data, text->len);
		ctx->have_marker = 1;
	} else if (strcmp(name, "NextVersionIdMarker") == 0) {
		/* Version ids are opaque: passed back exactly as received. */
		free(page->next_version_id_marker);
		page->next_version_id_marker = xstrdup(text->data);
	} else if (strcmp(name, "EncodingType") == 0 && ctx->decode == -1)
		ctx->decode = strcmp(text->data, "url") == 0;
	return XML_WALK_GO;
}

/*
 * The page's NextKeyMarker, decoded, into page->next_key_marker.
 * S3 encodes it with the keys; Ceph RGW 16 sends it raw while it
 * encodes the keys.  Both make it the last entry's key, so a marker
 * equal to that key as decoded is taken as it is: when S3 sent it, it
 * held nothing to decode.  Returns 0, or -1 (reported).
 */
static int
versions_marker(struct versions_ctx *ctx)
{
	struct versions_page *page = ctx->page;

	if (!ctx->have_marker)
		return 0;
	if (ctx->decode == 1 && (ctx->last_key.data == NULL ||
	    strcmp(ctx->marker.data, ctx->last_key.data) != 0)) {
		if (list_key_decode(VERSIONS_WHAT, &ctx->dkey,
		    &ctx->marker) == -1)
			return -1;
		page->next_key_marker = xstrdup(ctx->dkey.data);
	} else
		page->next_key_marker = xstrdup(ctx->marker.data);
	return 0;
}

/*
 * Parse one ListObjectVersions page (<ListVersionsResult>, with or
 * without S3's namespace) in "doc", calling "fn" for every <Version>
 * and <DeleteMarker> in document order; the entry's strings are valid
 * during the call only.  With "url_encoded" (the request asked for
 * encoding-type=url), keys and NextKeyMarker are decoded as '+' to
 * space and %XX to a byte, but only when the page says
 * <EncodingType>url</EncodingType> (see versions_marker for the
 * marker).  Version ids are never decoded.
 * Fills "page"; its markers are owned by the caller.
 * Returns 0, or -1 on malformed XML, an <Error> document, an entry
 * without <Key> or <VersionId>, a bad <Size> or <IsLatest>, a truncated
 * page without NextKeyMarker or NextVersionIdMarker (all reported with
 * one line), or when "fn" returned non-zero (not reported); the markers
 * are then NULL.
 */
int
versions_parse_page(const char *doc, size_t len, int url_encoded,
    versions_entry_fn fn, void *arg, struct versions_page *page)
{
	struct versions_ctx ctx;
	struct xml_walker w = { versions_start, versions_end, &ctx };
	int i, rc = -1;

	memset(page, 0, sizeof(*page));
	memset(&ctx, 0, sizeof(ctx));
	ctx.doc = doc;
	ctx.doclen = len;
	ctx.decode = url_encoded ? -1 : 0;
	ctx.fn = fn;
	ctx.arg = arg;
	ctx.page = page;

	if (list_walk_page(VERSIONS_WHAT, doc, len, &w, &ctx.is_error) == -1)
		goto out;
	if (versions_marker(&ctx) == -1)
		goto out;
	if (page->truncated && (page->next_key_marker == NULL ||
	    page->next_key_marker[0] == '\0')) {
		warnx("%s: <IsTruncated> is true but no <NextKeyMarker>",
		    VERSIONS_WHAT);
		goto out;
	}
	/* Without it, the next page would skip the key's other versions. */
	if (page->truncated && (page->next_version_id_marker == NULL ||
	    page->next_version_id_marker[0] == '\0')) {
		warnx("%s: <IsTruncated> is true but no "
		    "<NextVersionIdMarker>", VERSIONS_WHAT);
		goto out;
	}
	rc = 0;
out:
	if (rc == -1) {
		free(page->next_key_marker);
		free(page->next_version_id_marker);
		page->next_key_marker = page->next_version_id_marker = NULL;
	}
	for (i = 0; i < VERSIONS_NFIELDS; i++)
		buf_free(&ctx.field[i]);
	buf_free(&ctx.dkey);
	buf_free(&ctx.last_key);
	buf_free(&ctx.marker);
	return rc;
}

/*
 * ListObjectVersions over every page of "bucket" under "prefix" (NULL
 * or "": all), with encoding-type=url, each page asked from the
 * previous one's key and version id markers, calling "fn" per entry as
 * versions_parse_page() does.  Returns 0, or -1 (reported, except
 * when "fn" returned non-zero).
 */
int
versions_list(struct s3 *s3, const char *bucket, const char *prefix,
    versions_entry_fn fn, void *arg)
{
	struct s3_call *c = NULL;
	struct versions_page page;
	char *key_marker = NULL, *id_marker = NULL, *msg = NULL;
	long pages = 0;
	int rc = -1;

	memset(&page, 0, sizeof(page));
	do {
		c = s3_call_new("GET", bucket, NULL);
		s3_call_query(c, "versions", "");
		s3_call_query(c, "encoding-type", "url");
		if (prefix != NULL && *prefix != '\0')
			s3_call_query(c, "prefix", prefix);
		if (key_marker != NULL) {
			s3_call_query(c, "key-marker", key_marker);
			s3_call_query(c, "version-id-marker", id_marker);
		}
		if (s3_exec(s3, c) == -1) {
			msg = s3_call_errstr(c);
			warnx("list versions in bucket %s: %s", bucket, msg);
			goto out;
		}
		free(key_marker);
		free(id_marker);
		key_marker = id_marker = NULL;
		if (versions_parse_page(c->resp.data, c->resp.len, 1, fn, arg,
		    &page) == -1)
			goto out;
		pages++;
		key_marker = page.next_key_marker;
		id_marker = page.next_version_id_marker;
		page.next_key_marker = page.next_version_id_marker = NULL;
		s3_call_free(c);
		c = NULL;
	} while (page.truncated);
	logmsg(1, "listed versions in bucket %s in %ld page(s)", bucket, pages);
	rc = 0;
out:
	free(msg);
	free(key_marker);
	free(id_marker);
	s3_call_free(c);
	return rc;
}
