/*
 * S3 response parsers on libxml2's streaming reader (xmlTextReader):
 * ListObjectsV2 pages, one <Contents> at a time, and <Error> documents.
 * No tree is built, the network is never used, a DOCTYPE is refused
 * (so no entity is ever declared, let alone expanded), and libxml2's
 * own messages are captured instead of printed.
 */
#include "config.h"

#include <err.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlreader.h>

#include "extern.h"

/* libxml2 2.12 passes the structured error as const. */
#if LIBXML_VERSION >= 21200
#define XML_ERROR_ARG	const xmlError *
#else
#define XML_ERROR_ARG	xmlErrorPtr
#endif

#define XML_OPTIONS	(XML_PARSE_NONET | XML_PARSE_NOCDATA)

/* What a callback of xml_walk() and xml_walk() itself return. */
enum XML_WALK {
	XML_WALK_GO = 0,	/* go on; from xml_walk: root closed, all read */
	XML_WALK_STOP = 1,	/* a callback stopped early, all is well */
	XML_WALK_FAIL = -1,	/* a callback failed (and reported it) */
	XML_WALK_BAD = -2	/* not well-formed: see the diagnostic */
};

/* The first error libxml2 (or the walk) found in a document. */
struct xml_diag {
	int	 code;		/* libxml2's xmlParserErrors, 0 for ours */
	int	 line;
	int	 col;
	char	 msg[256];
};

/*
 * Element callbacks.  "depth" is 0 for the root; "text" holds the
 * character data directly collected since the element started.
 */
struct xml_walker {
	int	(*start)(void *, int depth, const char *name);
	int	(*end)(void *, int depth, const char *name,
		    const struct buf *text);
	void	*arg;
};

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

struct list_ctx {
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

static void
xml_diag_fn(void *arg, XML_ERROR_ARG e)
{
	struct xml_diag *diag = arg;
	size_t n;

	if (e == NULL || e->level < XML_ERR_ERROR || diag->msg[0] != '\0')
		return;
	diag->code = e->code;
	diag->line = e->line;
	diag->col = e->int2;
	snprintf(diag->msg, sizeof(diag->msg), "%s",
	    e->message != NULL ? e->message : "");
	/* Some messages span lines; ours is always one. */
	for (n = 0; diag->msg[n] != '\0'; n++)
		if (diag->msg[n] == '\n')
			diag->msg[n] = ' ';
	while (n > 0 && diag->msg[n - 1] == ' ')
		diag->msg[--n] = '\0';
	if (n == 0)
		snprintf(diag->msg, sizeof(diag->msg), "XML error");
}

/*
 * Whether line "line", column "col" (counted as libxml2 does, in
 * characters from 1) is just past the last byte of "doc".
 */
static int
xml_at_end(const char *doc, size_t len, int line, int col)
{
	size_t i;
	int l = 1, c = 1;

	for (i = 0; i < len; i++) {
		if (doc[i] == '\n') {
			l++;
			c = 1;
		} else if ((doc[i] & 0xc0) != 0x80)
			c++;
	}
	return line == l && col == c;
}

/*
 * Read "doc" from start to end, calling the walker on every element
 * and collecting character data (text, CDATA, whitespace, with the
 * predefined entities and character references already replaced)
 * for the callbacks.  Returns an XML_WALK value; on XML_WALK_BAD the
 * cause is in "diag" and nothing has been printed.
 */
static int
xml_walk(const char *doc, size_t len, const struct xml_walker *w,
    struct xml_diag *diag)
{
	xmlTextReaderPtr r = NULL;
	struct buf text = { NULL, 0, 0 };
	const char *name, *value;
	int depth, type, empty, st, closed = 0, rc = XML_WALK_BAD;

	memset(diag, 0, sizeof(*diag));
	buf_append(&text, "", 0);
	if (len == 0 || len > INT_MAX) {
		snprintf(diag->msg, sizeof(diag->msg), "%s",
		    len == 0 ? "empty document" : "document too large");
		goto out;
	}
	if ((r = xmlReaderForMemory(doc, (int)len, NULL, NULL,
	    XML_OPTIONS)) == NULL) {
		snprintf(diag->msg, sizeof(diag->msg), "cannot start reader");
		goto out;
	}
	xmlTextReaderSetStructuredErrorHandler(r, xml_diag_fn, diag);
	/* Stop at the first error, even one the reader would read past. */
	while ((st = xmlTextReaderRead(r)) == 1 && diag->msg[0] == '\0') {
		type = xmlTextReaderNodeType(r);
		switch (type) {
		case XML_READER_TYPE_ELEMENT:
		case XML_READER_TYPE_END_ELEMENT:
			depth = xmlTextReaderDepth(r);
			name = (const char *)xmlTextReaderConstLocalName(r);
			if (name == NULL)
				name = "";
			if (type == XML_READER_TYPE_ELEMENT) {
				empty = xmlTextReaderIsEmptyElement(r);
				buf_reset(&text);
				if (w->start != NULL &&
				    (rc = w->start(w->arg, depth, name)) != 0)
					goto out;
				if (!empty)
					break;
			}
			if ((rc = w->end(w->arg, depth, name, &text)) != 0)
				goto out;
			if (depth == 0)
				closed = 1;
			break;
		case XML_READER_TYPE_TEXT:
		case XML_READER_TYPE_CDATA:
		case XML_READER_TYPE_WHITESPACE:
		case XML_READER_TYPE_SIGNIFICANT_WHITESPACE:
			value = (const char *)xmlTextReaderConstValue(r);
			if (value != NULL)
				buf_append(&text, value, strlen(value));
			break;
		case XML_READER_TYPE_DOCUMENT_TYPE:
			diag->line = xmlTextReaderGetParserLineNumber(r);
			snprintf(diag->msg, sizeof(diag->msg),
			    "DOCTYPE not allowed");
			break;
		default:
			break;
		}
	}
	/*
	 * libxml2 2.9 says "Extra content at the end of the document" for
	 * a body cut inside an element; say what happened instead.
	 */
	if ((diag->msg[0] == '\0' && (st != 0 || !closed)) ||
	    (diag->code == XML_ERR_DOCUMENT_END &&
	    xml_at_end(doc, len, diag->line, diag->col))) {
		if (diag->line == 0)
			diag->line = xmlTextReaderGetParserLineNumber(r);
		snprintf(diag->msg, sizeof(diag->msg),
		    "document ends early, inside an element");
	}
	rc = diag->msg[0] == '\0' ? XML_WALK_GO : XML_WALK_BAD;
out:
	xmlFreeTextReader(r);
	buf_free(&text);
	return rc;
}

static int
err_start(void *arg, int depth, const char *name)
{
	(void)arg;
	if (depth == 0 && strcmp(name, "Error") != 0)
		return XML_WALK_FAIL;
	return XML_WALK_GO;
}

static int
err_end(void *arg, int depth, const char *name, const struct buf *text)
{
	struct s3_error *err = arg;
	char **field = NULL;

	if (depth != 1)
		return XML_WALK_GO;
	if (strcmp(name, "Code") == 0)
		field = &err->code;
	else if (strcmp(name, "Message") == 0)
		field = &err->message;
	else if (strcmp(name, "Region") == 0)
		field = &err->region;
	if (field != NULL) {
		free(*field);
		*field = xstrdup(text->data);
	}
	return XML_WALK_GO;
}

/*
 * Parse the <Error> document in "buf" into "err": <Code> (required),
 * <Message> and <Region> (NULL when absent).  The strings are owned
 * by "err"; free them with s3_error_free().  Returns 0, or -1 without
 * a message when the body is empty, not XML, or not an S3 error
 * document (every field is then NULL).
 */
int
xml_parse_error(const char *buf, size_t len, struct s3_error *err)
{
	struct xml_walker w = { err_start, err_end, err };
	struct xml_diag diag;
	int rc = -1;

	memset(err, 0, sizeof(*err));
	if (xml_walk(buf, len, &w, &diag) != XML_WALK_GO || err->code == NULL)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		s3_error_free(err);
	return rc;
}

/*
 * Free the strings "err" owns and clear them; accepts NULL and a
 * struct whose fields are NULL.
 */
void
s3_error_free(struct s3_error *err)
{
	if (err == NULL)
		return;
	free(err->code);
	free(err->message);
	free(err->region);
	err->code = err->message = err->region = NULL;
}

static int
enc_end(void *arg, int depth, const char *name, const struct buf *text)
{
	int *url = arg;

	if (depth != 1 || strcmp(name, "EncodingType") != 0)
		return XML_WALK_GO;
	*url = strcmp(text->data, "url") == 0;
	return XML_WALK_STOP;
}

/*
 * Whether the page says <EncodingType>url</EncodingType> anywhere.
 * S3 sends the element before the first <Contents>, but other servers
 * put it last, so when a <Contents> comes first the page is read once
 * more up to it.  Returns 1, 0, or -1 on malformed XML (reported).
 */
static int
list_prescan(const struct list_ctx *ctx)
{
	struct xml_walker w;
	struct xml_diag diag;
	int url = 0;

	w.start = NULL;
	w.end = enc_end;
	w.arg = &url;
	if (xml_walk(ctx->doc, ctx->doclen, &w, &diag) == XML_WALK_BAD) {
		warnx("listing: malformed XML at line %d: %s",
		    diag.line, diag.msg);
		return -1;
	}
	return url;
}

/*
 * Decode "src" as application/x-www-form-urlencoded into "dst": '+' is
 * a space and %XX a byte, whether or not S3 left '/' unencoded.
 * Returns 0, or -1 on a bad escape or a decoded NUL (reported).
 */
static int
list_urldecode(struct buf *dst, const struct buf *src)
{
	if (url_decode(dst, src->data, src->len, 1) == -1) {
		warnx("listing: key \"%s\" has an invalid %%-escape or "
		    "decodes to a NUL byte", src->data);
		return -1;
	}
	return 0;
}

/* Strip one pair of surrounding quotes, '"' or a literal "&quot;". */
static const char *
list_etag(struct buf *etag)
{
	char *s = etag->data;
	size_t n = etag->len;

	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s[n - 1] = '\0';
		return s + 1;
	}
	if (n >= 12 && strncmp(s, "&quot;", 6) == 0 &&
	    strcmp(s + n - 6, "&quot;") == 0) {
		s[n - 6] = '\0';
		return s + 6;
	}
	return s;
}

/* The text of field "f" of this <Contents>, or NULL when absent. */
static char *
list_get(struct list_ctx *ctx, enum LIST_FIELD f)
{
	return ctx->have & (1 << f) ? ctx->field[f].data : NULL;
}

/* Check and hand one finished <Contents> to the callback. */
static int
list_entry_done(struct list_ctx *ctx)
{
	struct list_entry e;
	struct buf *key = &ctx->field[LIST_KEY];
	const char *size;
	long long n;
	char *end;

	if (list_get(ctx, LIST_KEY) == NULL) {
		warnx("listing: <Contents> without <Key>");
		return XML_WALK_FAIL;
	}
	if (ctx->decode == -1 && (ctx->decode = list_prescan(ctx)) == -1)
		return XML_WALK_FAIL;
	if (ctx->decode == 1) {
		if (list_urldecode(&ctx->dkey, key) == -1)
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
	errno = 0;
	n = strtoll(size, &end, 10);
	if (size[0] < '0' || size[0] > '9' || *end != '\0' || errno != 0) {
		warnx("listing: %s: bad <Size> \"%s\"", key->data, size);
		return XML_WALK_FAIL;
	}
	memset(&e, 0, sizeof(e));
	e.key = key->data;
	e.keylen = key->len;
	e.size = n;
	e.etag = list_get(ctx, LIST_ETAG) != NULL ?
	    list_etag(&ctx->field[LIST_ETAG]) : NULL;
	e.last_modified = list_get(ctx, LIST_MTIME);
	e.storage_class = list_get(ctx, LIST_CLASS);
	ctx->page->count++;
	return ctx->fn(ctx->arg, &e) == 0 ? XML_WALK_GO : XML_WALK_FAIL;
}

static int
list_start(void *arg, int depth, const char *name)
{
	struct list_ctx *ctx = arg;

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
	struct list_ctx *ctx = arg;
	struct list_page *page = ctx->page;
	int i;

	if (depth == 2 && ctx->in_contents) {
		for (i = 0; i < LIST_NFIELDS; i++)
			if (strcmp(name, list_names[i]) == 0) {
				buf_reset(&ctx->field[i]);
				buf_append(&ctx->field[i], text->data, text->len);
				ctx->have |= 1 << i;
			}
		return XML_WALK_GO;
	}
	if (depth != 1)
		return XML_WALK_GO;
	if (strcmp(name, "Contents") == 0) {
		ctx->in_contents = 0;
		return list_entry_done(ctx);
	}
	if (strcmp(name, "IsTruncated") == 0) {
		if (strcmp(text->data, "true") != 0 &&
		    strcmp(text->data, "false") != 0) {
			warnx("listing: bad <IsTruncated> \"%s\"", text->data);
			return XML_WALK_FAIL;
		}
		page->truncated = strcmp(text->data, "true") == 0;
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
xml_parse_list_page(const char *buf, size_t len, int url_encoded,
    list_entry_fn fn, void *arg, struct list_page *page)
{
	struct list_ctx ctx;
	struct xml_walker w = { list_start, list_end, &ctx };
	struct xml_diag diag;
	struct s3_error err;
	int i, rc = -1;

	memset(page, 0, sizeof(*page));
	memset(&ctx, 0, sizeof(ctx));
	ctx.doc = buf;
	ctx.doclen = len;
	ctx.decode = url_encoded ? -1 : 0;
	ctx.fn = fn;
	ctx.arg = arg;
	ctx.page = page;

	switch (xml_walk(buf, len, &w, &diag)) {
	case XML_WALK_GO:
		break;
	case XML_WALK_BAD:
		warnx("listing: malformed XML at line %d: %s",
		    diag.line, diag.msg);
		goto out;
	default:
		if (ctx.is_error) {
			if (xml_parse_error(buf, len, &err) == 0)
				warnx("listing: server error %s: %s", err.code,
				    err.message != NULL ? err.message : "");
			else
				warnx("listing: server sent an <Error>");
			s3_error_free(&err);
		}
		goto out;
	}
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
