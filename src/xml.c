/*
 * S3 response documents on libxml2's streaming reader (xmlTextReader):
 * the walk the parsers share (here, in list.c for ListObjectsV2 pages
 * and in mpdoc.c for the multipart upload answers), <Error> documents
 * and the DeleteObjects answer.
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
#include "s3.h"

/* libxml2 2.12 passes the structured error as const. */
#if LIBXML_VERSION >= 21200
#define XML_ERROR_ARG	const xmlError *
#else
#define XML_ERROR_ARG	xmlErrorPtr
#endif

#define XML_OPTIONS	(XML_PARSE_NONET | XML_PARSE_NOCDATA)

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
int
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
xml_err_start(void *arg, int depth, const char *name)
{
	(void)arg;
	if (depth == 0 && strcmp(name, "Error") != 0)
		return XML_WALK_FAIL;
	return XML_WALK_GO;
}

static int
xml_err_end(void *arg, int depth, const char *name, const struct buf *text)
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
 * by "err"; free them with xml_error_free().  Returns 0, or -1 without
 * a message when the body is empty, not XML, or not an S3 error
 * document (every field is then NULL).
 */
int
xml_parse_error(const char *buf, size_t len, struct s3_error *err)
{
	struct xml_walker w = { xml_err_start, xml_err_end, err };
	struct xml_diag diag;
	int rc = -1;

	memset(err, 0, sizeof(*err));
	if (xml_walk(buf, len, &w, &diag) != XML_WALK_GO || err->code == NULL)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		xml_error_free(err);
	return rc;
}

/*
 * Free the strings "err" owns and clear them; accepts NULL and a
 * struct whose fields are NULL.
 */
void
xml_error_free(struct s3_error *err)
{
	if (err == NULL)
		return;
	free(err->code);
	free(err->message);
	free(err->region);
	err->code = err->message = err->region = NULL;
}

/*
 * S3 keeps a slow answer (CompleteMultipartUpload, a big DeleteObjects)
 * alive with white space, which may come before the XML declaration,
 * where XML allows none: skip it (lines then count from the
 * declaration).
 */
void
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

/*
 * For a walker collecting the children of one element: when "name" is
 * one of the "n" names in "names", say names[i], keep "text" as
 * field[i] and set bit i of *have.  Returns 1 when it was, else 0.
 */
int
xml_keep_field(const char *const *names, int n, const char *name,
    const struct buf *text, struct buf *field, int *have)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(name, names[i]) == 0) {
			buf_reset(&field[i]);
			buf_append(&field[i], text->data, text->len);
			*have |= 1 << i;
			return 1;
		}
	return 0;
}

/* What xml_root_field's walk looks for and has seen. */
struct xml_rootdoc {
	const char	*root;
	const char	*field;
	struct buf	*out;
	int		 root_ok;
	int		 found;
};

static int
xml_root_start(void *arg, int depth, const char *name)
{
	struct xml_rootdoc *d = arg;

	if (depth == 0)
		d->root_ok = strcmp(name, d->root) == 0;
	return d->root_ok ? XML_WALK_GO : XML_WALK_STOP;
}

static int
xml_root_end(void *arg, int depth, const char *name, const struct buf *text)
{
	struct xml_rootdoc *d = arg;

	if (depth != 1 || d->found || strcmp(name, d->field) != 0)
		return XML_WALK_GO;
	buf_reset(d->out);
	buf_append(d->out, text->data != NULL ? text->data : "", text->len);
	d->found = 1;
	return XML_WALK_GO;
}

/*
 * For a one-setting document such as <VersioningConfiguration>: the
 * text of the first child "field" of the root element "root" of "doc"
 * ("len" bytes) into "out" (NUL-terminated).  Returns 1 when found, 0
 * when the root has no such child, -1 when the document has another
 * root or is malformed.  Pure.
 */
int
xml_root_field(const char *doc, size_t len, const char *root,
    const char *field, struct buf *out)
{
	struct xml_rootdoc d = { root, field, out, 0, 0 };
	struct xml_walker w = { xml_root_start, xml_root_end, &d };
	struct xml_diag diag;

	if (xml_walk(doc, len, &w, &diag) != XML_WALK_GO || !d.root_ok)
		return -1;
	return d.found;
}

/*
 * Strip one pair of surrounding quotes, '"' or a literal "&quot;", from
 * an ETag in "etag" (in place).  Returns where the unquoted text starts.
 */
const char *
xml_unquote(struct buf *etag)
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

/* The children of a DeleteResult <Error> we keep, and their names. */
enum XML_DEL_FIELD {
	XML_DEL_KEY,
	XML_DEL_CODE,
	XML_DEL_MESSAGE,
	XML_DEL_NFIELDS
};
static const char *const xml_del_names[XML_DEL_NFIELDS] = {
	"Key", "Code", "Message"
};

/* One DeleteObjects answer being read. */
struct xml_del_ctx {
	xml_delete_fn	 fn;
	void		*arg;
	int		 is_error;	/* the root is <Error> */
	int		 in_error;	/* inside a per-key <Error> */
	int		 have;		/* 1 << XML_DEL_* seen in this <Error> */
	struct buf	 field[XML_DEL_NFIELDS];
};

static int
xml_del_start(void *arg, int depth, const char *name)
{
	struct xml_del_ctx *ctx = arg;

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
xml_del_end(void *arg, int depth, const char *name, const struct buf *text)
{
	struct xml_del_ctx *ctx = arg;
	int i;

	if (ctx->is_error || !ctx->in_error)
		return XML_WALK_GO;
	if (depth == 2) {
		xml_keep_field(xml_del_names, XML_DEL_NFIELDS, name, text,
		    ctx->field, &ctx->have);
		return XML_WALK_GO;
	}
	if (depth != 1)
		return XML_WALK_GO;
	ctx->in_error = 0;
	if (!(ctx->have & 1 << XML_DEL_KEY) || ctx->field[XML_DEL_KEY].len == 0) {
		warnx("delete: <Error> without <Key>");
		return XML_WALK_FAIL;
	}
	for (i = 0; i < XML_DEL_NFIELDS; i++)
		if (!(ctx->have & 1 << i)) {
			buf_reset(&ctx->field[i]);
			buf_append(&ctx->field[i], "", 0);
		}
	return ctx->fn(ctx->arg, ctx->field[XML_DEL_KEY].data,
	    ctx->field[XML_DEL_CODE].data, ctx->field[XML_DEL_MESSAGE].data) == 0 ?
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
xml_parse_delete_result(const char *buf, size_t len, xml_delete_fn fn,
    void *arg)
{
	struct xml_del_ctx ctx;
	struct xml_walker w = { xml_del_start, xml_del_end, &ctx };
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
			xml_error_free(&err);
		}
		goto out;
	}
	rc = 0;
out:
	for (i = 0; i < XML_DEL_NFIELDS; i++)
		buf_free(&ctx.field[i]);
	return rc;
}
