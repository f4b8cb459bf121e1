/*
 * S3 response parsers on libxml2's streaming reader (xmlTextReader):
 * ListObjectsV2 pages, one <Contents> at a time, <Error> documents, and
 * the multipart upload answers (Initiate, Complete, ListParts) and the
 * DeleteObjects answer.
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

/* The children of a ListParts <Part> we keep, and their element names. */
enum PART_FIELD {
	PART_NUMBER,
	PART_SIZE,
	PART_ETAG,
	PART_NFIELDS
};
static const char *const part_names[PART_NFIELDS] = {
	"PartNumber", "Size", "ETag"
};

/* One multipart upload response being read. */
struct mp_ctx {
	const char	*root;		/* the root element expected */
	const char	*want;		/* the child kept in field[0], or NULL */
	int		 is_error;	/* the root is <Error> */
	int		 in_part;	/* inside a <Part> */
	int		 have;		/* 1 << PART_* (1 for "want") seen */
	struct buf	 field[PART_NFIELDS];
	list_part_fn	 fn;		/* ListParts only */
	void		*arg;
	int		*truncated;
	uint32_t	*next_marker;
};

/*
 * S3 keeps a slow answer (CompleteMultipartUpload, a big DeleteObjects)
 * alive with white space, which may come before the XML declaration,
 * where XML allows none: skip it (lines then count from the
 * declaration).
 */
static void
xml_skip_keepalive(const char **buf, size_t *len)
{
	size_t n;

	for (n = 0; n < *len && (*buf)[n] != '\0' &&
	    strchr(" \t\r\n", (*buf)[n]) != NULL; n++)
		;
	if (*len - n >= 5 && memcmp(*buf + n, "<?xml", 5) == 0) {
		*buf += n;
		*len -= n;
	}
}

/* Parse "s", decimal digits only, into *n: -1 unless min <= *n <= max. */
static int
mp_number(const char *s, long long min, long long max, long long *n)
{
	char *end;

	errno = 0;
	*n = strtoll(s, &end, 10);
	return s[0] >= '0' && s[0] <= '9' && *end == '\0' && errno == 0 &&
	    *n >= min && *n <= max ? 0 : -1;
}

/*
 * Read child "f" of this <Part> as a number into *n; "num" names the
 * part in the message, 0 while unknown.  Returns 0, or -1 (reported).
 */
static int
mp_part_field(struct mp_ctx *ctx, enum PART_FIELD f, long long min,
    long long max, long long num, long long *n)
{
	char where[32] = "";

	if (num > 0)
		snprintf(where, sizeof(where), "part %lld: ", num);
	if (!(ctx->have & 1 << f))
		warnx("multipart: %s<Part> without <%s>", where, part_names[f]);
	else if (mp_number(ctx->field[f].data, min, max, n) == -1)
		warnx("multipart: %sbad <%s> \"%s\"", where, part_names[f],
		    ctx->field[f].data);
	else
		return 0;
	return -1;
}

/* Check and hand one finished <Part> to the callback. */
static int
mp_part_done(struct mp_ctx *ctx)
{
	struct list_part p;
	long long num, size;

	if (mp_part_field(ctx, PART_NUMBER, 1, MP_MAX_PARTS, 0, &num) == -1 ||
	    mp_part_field(ctx, PART_SIZE, 0, INT64_MAX, num, &size) == -1)
		return XML_WALK_FAIL;
	memset(&p, 0, sizeof(p));
	p.number = (uint32_t)num;
	p.size = size;
	p.etag = ctx->have & 1 << PART_ETAG ?
	    list_etag(&ctx->field[PART_ETAG]) : "";
	if (p.etag[0] == '\0') {
		warnx("multipart: part %lld: <Part> without <ETag>", num);
		return XML_WALK_FAIL;
	}
	return ctx->fn(ctx->arg, &p) == 0 ? XML_WALK_GO : XML_WALK_FAIL;
}

static int
mp_start(void *arg, int depth, const char *name)
{
	struct mp_ctx *ctx = arg;

	if (depth == 0 && strcmp(name, ctx->root) != 0) {
		if (strcmp(name, "Error") != 0) {
			warnx("multipart: unexpected root element <%s>", name);
			return XML_WALK_FAIL;
		}
		/* Read on: an <Error> cut short is malformed, not an error. */
		ctx->is_error = 1;
	}
	if (depth == 1 && ctx->fn != NULL && strcmp(name, "Part") == 0) {
		ctx->in_part = 1;
		ctx->have = 0;
	}
	return XML_WALK_GO;
}

static void
mp_keep(struct mp_ctx *ctx, int f, const struct buf *text)
{
	buf_reset(&ctx->field[f]);
	buf_append(&ctx->field[f], text->data, text->len);
	ctx->have |= 1 << f;
}

static int
mp_end(void *arg, int depth, const char *name, const struct buf *text)
{
	struct mp_ctx *ctx = arg;
	long long n = 0;
	int i;

	if (ctx->is_error)
		return XML_WALK_GO;
	if (depth == 2 && ctx->in_part) {
		for (i = 0; i < PART_NFIELDS; i++)
			if (strcmp(name, part_names[i]) == 0)
				mp_keep(ctx, i, text);
		return XML_WALK_GO;
	}
	if (depth != 1)
		return XML_WALK_GO;
	if (ctx->want != NULL && strcmp(name, ctx->want) == 0)
		mp_keep(ctx, 0, text);
	else if (ctx->fn != NULL && strcmp(name, "Part") == 0) {
		ctx->in_part = 0;
		return mp_part_done(ctx);
	} else if (ctx->fn != NULL && strcmp(name, "IsTruncated") == 0) {
		if (strcmp(text->data, "true") != 0 &&
		    strcmp(text->data, "false") != 0) {
			warnx("multipart: bad <IsTruncated> \"%s\"", text->data);
			return XML_WALK_FAIL;
		}
		*ctx->truncated = strcmp(text->data, "true") == 0;
	} else if (ctx->fn != NULL &&
	    strcmp(name, "NextPartNumberMarker") == 0) {
		/* Empty on the last page is harmless: read as 0. */
		if (text->len > 0 &&
		    mp_number(text->data, 0, MP_MAX_PARTS, &n) == -1) {
			warnx("multipart: bad <NextPartNumberMarker> \"%s\"",
			    text->data);
			return XML_WALK_FAIL;
		}
		*ctx->next_marker = (uint32_t)n;
	}
	return XML_WALK_GO;
}

/*
 * Read the response "buf" with the callbacks above.  An <Error> root
 * fills "err" without a message when "err" is not NULL, and is
 * reported otherwise.  Returns 0, or -1: reported unless a callback
 * stopped the walk or "err" was filled.
 */
static int
mp_walk(const char *buf, size_t len, struct mp_ctx *ctx,
    struct s3_error *err)
{
	struct xml_walker w = { mp_start, mp_end, ctx };
	struct xml_diag diag;
	struct s3_error own;
	int rc;

	xml_skip_keepalive(&buf, &len);
	if ((rc = xml_walk(buf, len, &w, &diag)) == XML_WALK_BAD)
		warnx("multipart: malformed XML at line %d: %s",
		    diag.line, diag.msg);
	if (rc != XML_WALK_GO)
		return -1;
	if (!ctx->is_error)
		return 0;
	if (xml_parse_error(buf, len, err != NULL ? err : &own) == -1)
		warnx("multipart: <Error> without <Code>");
	else if (err == NULL) {
		warnx("multipart: server error %s: %s", own.code,
		    own.message != NULL ? own.message : "");
		s3_error_free(&own);
	}
	return -1;
}

/*
 * A copy of child "want" of root "root" in "buf" (without quotes with
 * "quoted"), or NULL when malformed or an <Error> (see mp_walk), and
 * when absent or empty: reported, unless "optional", which gives "".
 */
static char *
mp_value(const char *buf, size_t len, const char *root, const char *want,
    int quoted, int optional, struct s3_error *err)
{
	struct mp_ctx ctx;
	char *value = NULL;
	const char *s;

	memset(&ctx, 0, sizeof(ctx));
	ctx.root = root;
	ctx.want = want;
	if (mp_walk(buf, len, &ctx, err) == -1)
		goto out;
	s = !ctx.have ? "" : quoted ? list_etag(&ctx.field[0]) :
	    ctx.field[0].data;
	if (s[0] == '\0' && !optional)
		warnx("multipart: <%s> without <%s>", root, want);
	else
		value = xstrdup(s);
out:
	buf_free(&ctx.field[0]);
	return value;
}

/*
 * Parse an InitiateMultipartUploadResult: *upload_id is set to a copy
 * of <UploadId> (caller frees), or NULL.  Returns 0, or -1 on malformed
 * XML, another root (<Error> included) or a missing or empty
 * <UploadId>, reported with one line.
 */
int
xml_parse_initiate(const char *buf, size_t len, char **upload_id)
{
	*upload_id = mp_value(buf, len, "InitiateMultipartUploadResult",
	    "UploadId", 0, 0, NULL);
	return *upload_id != NULL ? 0 : -1;
}

/*
 * Parse a CompleteMultipartUploadResult: *etag is set to <ETag>
 * without its quotes (caller frees), "" when it is absent or empty (as
 * Ceph RGW 16 answers), or NULL.  S3 may send an <Error> with status
 * 200: "err" is then filled (free with s3_error_free) and -1 returned
 * without a message.  Otherwise err->code stays NULL and -1 means
 * malformed XML or another root (one line).
 */
int
xml_parse_complete(const char *buf, size_t len, char **etag,
    struct s3_error *err)
{
	memset(err, 0, sizeof(*err));
	*etag = mp_value(buf, len, "CompleteMultipartUploadResult", "ETag",
	    1, 1, err);
	return *etag != NULL ? 0 : -1;
}

/*
 * Parse one ListPartsResult page, calling "fn" for every <Part> in
 * document order; the ETag (unquoted) is valid during the call only.
 * Sets *truncated and *next_marker (<NextPartNumberMarker>, 0 when
 * absent or empty).  Returns 0, or -1 on malformed XML, an <Error>, a
 * bad <Part> or a truncated page without a marker (one line each), or
 * when "fn" returned non-zero (not reported).
 */
int
xml_parse_list_parts(const char *buf, size_t len, list_part_fn fn,
    void *arg, int *truncated, uint32_t *next_marker)
{
	struct mp_ctx ctx;
	int i, rc = -1;

	*truncated = 0;
	*next_marker = 0;
	memset(&ctx, 0, sizeof(ctx));
	ctx.root = "ListPartsResult";
	ctx.fn = fn;
	ctx.arg = arg;
	ctx.truncated = truncated;
	ctx.next_marker = next_marker;
	if (mp_walk(buf, len, &ctx, NULL) == -1)
		goto out;
	if (*truncated && *next_marker == 0) {
		warnx("multipart: <IsTruncated> is true but no "
		    "<NextPartNumberMarker>");
		goto out;
	}
	rc = 0;
out:
	for (i = 0; i < PART_NFIELDS; i++)
		buf_free(&ctx.field[i]);
	return rc;
}

/* The children of a DeleteResult <Error> we keep, and their names. */
enum DEL_FIELD {
	DEL_KEY,
	DEL_CODE,
	DEL_MESSAGE,
	DEL_NFIELDS
};
static const char *const del_names[DEL_NFIELDS] = {
	"Key", "Code", "Message"
};

/* One DeleteObjects answer being read. */
struct del_ctx {
	delete_error_fn	 fn;
	void		*arg;
	int		 is_error;	/* the root is <Error> */
	int		 in_error;	/* inside a per-key <Error> */
	int		 have;		/* 1 << DEL_* seen in this <Error> */
	struct buf	 field[DEL_NFIELDS];
};

static int
del_start(void *arg, int depth, const char *name)
{
	struct del_ctx *ctx = arg;

	if (depth == 0 && strcmp(name, "DeleteResult") != 0) {
		if (strcmp(name, "Error") != 0) {
			warnx("delete: unexpected root element <%s>", name);
			return XML_WALK_FAIL;
		}
		/* Read on: an <Error> cut short is malformed, not an error. */
		ctx->is_error = 1;
	}
	if (depth == 1 && !ctx->is_error && strcmp(name, "Error") == 0) {
		ctx->in_error = 1;
		ctx->have = 0;
	}
	return XML_WALK_GO;
}

static int
del_end(void *arg, int depth, const char *name, const struct buf *text)
{
	struct del_ctx *ctx = arg;
	int i;

	if (ctx->is_error || !ctx->in_error)
		return XML_WALK_GO;
	if (depth == 2) {
		for (i = 0; i < DEL_NFIELDS; i++)
			if (strcmp(name, del_names[i]) == 0) {
				buf_reset(&ctx->field[i]);
				buf_append(&ctx->field[i], text->data,
				    text->len);
				ctx->have |= 1 << i;
			}
		return XML_WALK_GO;
	}
	if (depth != 1)
		return XML_WALK_GO;
	ctx->in_error = 0;
	if (!(ctx->have & 1 << DEL_KEY) || ctx->field[DEL_KEY].len == 0) {
		warnx("delete: <Error> without <Key>");
		return XML_WALK_FAIL;
	}
	for (i = 0; i < DEL_NFIELDS; i++)
		if (!(ctx->have & 1 << i)) {
			buf_reset(&ctx->field[i]);
			buf_append(&ctx->field[i], "", 0);
		}
	return ctx->fn(ctx->arg, ctx->field[DEL_KEY].data,
	    ctx->field[DEL_CODE].data, ctx->field[DEL_MESSAGE].data) == 0 ?
	    XML_WALK_GO : XML_WALK_FAIL;
}

/*
 * Parse a DeleteResult (the answer to DeleteObjects) in "buf", calling
 * "fn" for every per-key <Error> in document order with its <Key>,
 * <Code> and <Message> ("" when absent), valid during the call only.
 * <Deleted> entries are ignored: in quiet mode S3 lists only failures.
 * Returns 0, or -1 on malformed XML, another root (an <Error> document
 * included: S3 may send one with status 200) or an <Error> without
 * <Key>, reported with one line, or when "fn" returned non-zero (not
 * reported).
 */
int
xml_parse_delete_result(const char *buf, size_t len, delete_error_fn fn,
    void *arg)
{
	struct del_ctx ctx;
	struct xml_walker w = { del_start, del_end, &ctx };
	struct xml_diag diag;
	struct s3_error err;
	int i, rc = -1;

	memset(&ctx, 0, sizeof(ctx));
	ctx.fn = fn;
	ctx.arg = arg;
	xml_skip_keepalive(&buf, &len);
	switch (xml_walk(buf, len, &w, &diag)) {
	case XML_WALK_GO:
		break;
	case XML_WALK_BAD:
		warnx("delete: malformed XML at line %d: %s", diag.line,
		    diag.msg);
		goto out;
	default:
		goto out;
	}
	if (ctx.is_error) {
		if (xml_parse_error(buf, len, &err) == -1)
			warnx("delete: <Error> without <Code>");
		else {
			warnx("delete: server error %s: %s", err.code,
			    err.message != NULL ? err.message : "");
			s3_error_free(&err);
		}
		goto out;
	}
	rc = 0;
out:
	for (i = 0; i < DEL_NFIELDS; i++)
		buf_free(&ctx.field[i]);
	return rc;
}
