/*
 * The multipart upload answers: InitiateMultipartUploadResult,
 * CompleteMultipartUploadResult (which may be an <Error> sent with 200)
 * and ListPartsResult pages, read with xml.c's walk.
 */
#include "config.h"

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "s3.h"

/* The children of a ListParts <Part> we keep, and their element names. */
enum MPDOC_FIELD {
	MPDOC_NUMBER,
	MPDOC_SIZE,
	MPDOC_ETAG,
	MPDOC_NFIELDS
};
static const char *const mpdoc_names[MPDOC_NFIELDS] = {
	"PartNumber", "Size", "ETag"
};

/* One multipart upload response being read. */
struct mpdoc_ctx {
	const char	*root;		/* the root element expected */
	const char	*want;		/* the child kept in field[0], or NULL */
	int		 is_error;	/* the root is <Error> */
	int		 in_part;	/* inside a <Part> */
	int		 have;		/* 1 << MPDOC_* (1 for "want") seen */
	struct buf	 field[MPDOC_NFIELDS];
	mpdoc_part_fn	 fn;		/* ListParts only */
	void		*arg;
	int		*truncated;
	uint32_t	*next_marker;
};

/* Parse "s", decimal digits only, into *n: -1 unless min <= *n <= max. */
static int
mpdoc_number(const char *s, long long min, long long max, long long *n)
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
mpdoc_part_field(struct mpdoc_ctx *ctx, enum MPDOC_FIELD f, long long min,
    long long max, long long num, long long *n)
{
	char where[32] = "";

	if (num > 0)
		snprintf(where, sizeof(where), "part %lld: ", num);
	if (!(ctx->have & 1 << f))
		warnx("multipart: %s<Part> without <%s>", where, mpdoc_names[f]);
	else if (mpdoc_number(ctx->field[f].data, min, max, n) == -1)
		warnx("multipart: %sbad <%s> \"%s\"", where, mpdoc_names[f],
		    ctx->field[f].data);
	else
		return 0;
	return -1;
}

/* Check and hand one finished <Part> to the callback. */
static int
mpdoc_part_done(struct mpdoc_ctx *ctx)
{
	struct mpdoc_part p;
	long long num, size;

	if (mpdoc_part_field(ctx, MPDOC_NUMBER, 1, MP_MAX_PARTS, 0, &num) == -1 ||
	    mpdoc_part_field(ctx, MPDOC_SIZE, 0, INT64_MAX, num, &size) == -1)
		return XML_WALK_FAIL;
	memset(&p, 0, sizeof(p));
	p.number = (uint32_t)num;
	p.size = size;
	p.etag = ctx->have & 1 << MPDOC_ETAG ?
	    xml_unquote(&ctx->field[MPDOC_ETAG]) : "";
	if (p.etag[0] == '\0') {
		warnx("multipart: part %lld: <Part> without <ETag>", num);
		return XML_WALK_FAIL;
	}
	return ctx->fn(ctx->arg, &p) == 0 ? XML_WALK_GO : XML_WALK_FAIL;
}

static int
mpdoc_start(void *arg, int depth, const char *name)
{
	struct mpdoc_ctx *ctx = arg;

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
mpdoc_keep(struct mpdoc_ctx *ctx, int f, const struct buf *text)
{
	buf_reset(&ctx->field[f]);
	buf_append(&ctx->field[f], text->data, text->len);
	ctx->have |= 1 << f;
}

static int
mpdoc_end(void *arg, int depth, const char *name, const struct buf *text)
{
	struct mpdoc_ctx *ctx = arg;
	long long n = 0;
	int i;

	if (ctx->is_error)
		return XML_WALK_GO;
	if (depth == 2 && ctx->in_part) {
		for (i = 0; i < MPDOC_NFIELDS; i++)
			if (strcmp(name, mpdoc_names[i]) == 0)
				mpdoc_keep(ctx, i, text);
		return XML_WALK_GO;
	}
	if (depth != 1)
		return XML_WALK_GO;
	if (ctx->want != NULL && strcmp(name, ctx->want) == 0)
		mpdoc_keep(ctx, 0, text);
	else if (ctx->fn != NULL && strcmp(name, "Part") == 0) {
		ctx->in_part = 0;
		return mpdoc_part_done(ctx);
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
		    mpdoc_number(text->data, 0, MP_MAX_PARTS, &n) == -1) {
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
mpdoc_walk(const char *buf, size_t len, struct mpdoc_ctx *ctx,
    struct s3_error *err)
{
	struct xml_walker w = { mpdoc_start, mpdoc_end, ctx };
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
		xml_error_free(&own);
	}
	return -1;
}

/*
 * A copy of child "want" of root "root" in "buf" (without quotes with
 * "quoted"), or NULL when malformed or an <Error> (see mpdoc_walk), and
 * when absent or empty: reported, unless "optional", which gives "".
 */
static char *
mpdoc_value(const char *buf, size_t len, const char *root, const char *want,
    int quoted, int optional, struct s3_error *err)
{
	struct mpdoc_ctx ctx;
	char *value = NULL;
	const char *s;

	memset(&ctx, 0, sizeof(ctx));
	ctx.root = root;
	ctx.want = want;
	if (mpdoc_walk(buf, len, &ctx, err) == -1)
		goto out;
	s = !ctx.have ? "" : quoted ? xml_unquote(&ctx.field[0]) :
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
mpdoc_parse_initiate(const char *buf, size_t len, char **upload_id)
{
	*upload_id = mpdoc_value(buf, len, "InitiateMultipartUploadResult",
	    "UploadId", 0, 0, NULL);
	return *upload_id != NULL ? 0 : -1;
}

/*
 * Parse a CompleteMultipartUploadResult: *etag is set to <ETag>
 * without its quotes (caller frees), "" when it is absent or empty (as
 * Ceph RGW 16 answers), or NULL.  S3 may send an <Error> with status
 * 200: "err" is then filled (free with xml_error_free) and -1 returned
 * without a message.  Otherwise err->code stays NULL and -1 means
 * malformed XML or another root (one line).
 */
int
mpdoc_parse_complete(const char *buf, size_t len, char **etag,
    struct s3_error *err)
{
	memset(err, 0, sizeof(*err));
	*etag = mpdoc_value(buf, len, "CompleteMultipartUploadResult", "ETag",
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
mpdoc_parse_parts(const char *buf, size_t len, mpdoc_part_fn fn,
    void *arg, int *truncated, uint32_t *next_marker)
{
	struct mpdoc_ctx ctx;
	int i, rc = -1;

	*truncated = 0;
	*next_marker = 0;
	memset(&ctx, 0, sizeof(ctx));
	ctx.root = "ListPartsResult";
	ctx.fn = fn;
	ctx.arg = arg;
	ctx.truncated = truncated;
	ctx.next_marker = next_marker;
	if (mpdoc_walk(buf, len, &ctx, NULL) == -1)
		goto out;
	if (*truncated && *next_marker == 0) {
		warnx("multipart: <IsTruncated> is true but no "
		    "<NextPartNumberMarker>");
		goto out;
	}
	rc = 0;
out:
	for (i = 0; i < MPDOC_NFIELDS; i++)
		buf_free(&ctx.field[i]);
	return rc;
}

