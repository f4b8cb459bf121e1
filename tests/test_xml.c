/*
 * Tests for xml.c: ListObjectsV2 pages, <Error> documents, the
 * multipart upload answers (Initiate, Complete, ListParts) and the
 * DeleteObjects answer, read
 * from the saved responses in tests/data/xml (see SOURCE there) and
 * from pages built in memory.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "extern.h"
#include "s3.h"
#include "tap.h"

#define MAXSEEN	1100

/* What the callback saw: copies of every entry. */
struct seen {
	size_t	 n;
	int	 stop_at;	/* return -1 on this call (1-based); 0 never */
	struct {
		char	*key;
		size_t	 keylen;
		int64_t	 size;
		char	*etag;
		char	*mtime;
		char	*sclass;
	} e[MAXSEEN];
};

static char *
dupnull(const char *s)
{
	return s == NULL ? NULL : xstrdup(s);
}

static int
collect(void *arg, const struct list_entry *le)
{
	struct seen *s = arg;

	if (s->n >= MAXSEEN)
		return -1;
	s->e[s->n].key = xstrndup(le->key, le->keylen);
	s->e[s->n].keylen = le->keylen;
	s->e[s->n].size = le->size;
	s->e[s->n].etag = dupnull(le->etag);
	s->e[s->n].mtime = dupnull(le->last_modified);
	s->e[s->n].sclass = dupnull(le->storage_class);
	s->n++;
	return s->stop_at != 0 && (int)s->n == s->stop_at ? -1 : 0;
}

static void
seen_free(struct seen *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->e[i].key);
		free(s->e[i].etag);
		free(s->e[i].mtime);
		free(s->e[i].sclass);
	}
	memset(s, 0, sizeof(*s));
}

/*
 * Parse "doc" with stderr sent to a temporary file; the messages
 * printed go to "msgs" (caller frees).
 */
static int
parse_quiet(const char *doc, size_t len, int url_encoded, struct seen *s,
    struct list_page *page, char **msgs)
{
	int rc;

	tap_quiet();
	rc = list_parse_page(doc, len, url_encoded, collect, s, page);
	*msgs = xstrdup(tap_quieted());
	return rc;
}

/* A page that must be rejected with one line containing "want". */
static void
check_reject(const char *name, const char *doc, size_t len, int url_encoded,
    const char *want)
{
	struct seen *s = xcalloc(1, sizeof(*s));
	struct list_page page;
	char *msgs;
	int rc;

	rc = parse_quiet(doc, len, url_encoded, s, &page, &msgs);
	ok(rc == -1, "%s: rejected", name);
	ok(page.next_token == NULL, "%s: no token left to free", name);
	tap_one_line(name, msgs, want);
	free(msgs);
	seen_free(s);
	free(s);
}

static void
check_reject_file(const char *file, int url_encoded, const char *want)
{
	size_t len;
	char *doc = tap_fixture("xml", file, &len);

	check_reject(file, doc, len, url_encoded, want);
	free(doc);
}

/* Parse a fixture that must succeed; "s" receives the entries. */
static int
parse_file(const char *file, int url_encoded, struct seen *s,
    struct list_page *page)
{
	size_t len;
	char *doc = tap_fixture("xml", file, &len), *msgs;
	int rc;

	rc = parse_quiet(doc, len, url_encoded, s, page, &msgs);
	ok(rc == 0, "%s: parsed", file);
	tap_one_line(file, msgs, NULL);
	free(msgs);
	free(doc);
	return rc;
}

static void
check_entry(const struct seen *s, size_t i, const char *key, size_t keylen,
    int64_t size, const char *etag, const char *mtime, const char *sclass)
{
	if (i >= s->n) {
		ok(0, "entry %zu exists", i);
		return;
	}
	ok(s->e[i].keylen == keylen &&
	    memcmp(s->e[i].key, key, keylen) == 0,
	    "entry %zu: key (%zu bytes)", i, keylen);
	ok(s->e[i].size == size, "entry %zu: size %" PRId64, i, size);
	is_str(s->e[i].etag, etag, "entry %zu: etag", i);
	is_str(s->e[i].mtime, mtime, "entry %zu: last modified", i);
	is_str(s->e[i].sclass, sclass, "entry %zu: storage class", i);
}

#define KEY(s)	(s), sizeof(s) - 1

static void
test_basic(void)
{
	struct seen *s = xcalloc(1, sizeof(*s));
	struct list_page page;

	parse_file("list-basic.xml", 0, s, &page);
	ok(s->n == 3 && page.count == 3, "list-basic: 3 entries");
	ok(page.truncated == 0 && page.next_token == NULL,
	    "list-basic: last page");
	check_entry(s, 0, KEY("ExampleObject.txt"), 857,
	    "599bab3ed2c697f1d26842727561fd94", "2013-09-17T18:07:53.000Z",
	    "REDUCED_REDUNDANCY");
	check_entry(s, 1, KEY("my-image.jpg"), 434234,
	    "fba9dede5f27731c9771645a39863328", "2009-10-12T17:50:30.000Z",
	    "STANDARD");
	check_entry(s, 2, KEY("photos/2006/January/big.bin"), INT64_MAX,
	    "d41d8cd98f00b204e9800998ecf8427e-12", "2024-01-31T23:59:59.123Z",
	    NULL);
	seen_free(s);

	/* url_encoded with no <EncodingType>: plain keys stay as they are. */
	parse_file("list-basic.xml", 1, s, &page);
	ok(s->n == 3 && strcmp(s->e[2].key, "photos/2006/January/big.bin") == 0,
	    "list-basic: same with url_encoded");
	seen_free(s);

	parse_file("list-empty.xml", 1, s, &page);
	ok(s->n == 0 && page.count == 0, "list-empty: no entries");
	ok(page.truncated == 0 && page.next_token == NULL,
	    "list-empty: last page");
	seen_free(s);

	parse_file("list-truncated.xml", 0, s, &page);
	ok(s->n == 2 && page.count == 2, "list-truncated: 2 entries");
	ok(page.truncated == 1, "list-truncated: truncated");
	is_str(page.next_token,
	    "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=+&x",
	    "list-truncated: token verbatim");
	check_entry(s, 1, KEY("happyface2.jpg"), 0,
	    "70ee1738b6b21e2c8a43f3a5ab0eee71", "2014-11-21T19:40:05.000Z",
	    "STANDARD");
	free(page.next_token);
	seen_free(s);

	/* Tokens are never decoded, even with url_encoded. */
	parse_file("list-truncated.xml", 1, s, &page);
	is_str(page.next_token,
	    "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=+&x",
	    "list-truncated: token verbatim with url_encoded");
	free(page.next_token);
	seen_free(s);
	free(s);
}

static void
test_encoded(void)
{
	struct seen *s = xcalloc(1, sizeof(*s));
	struct list_page page;

	parse_file("list-urlencoded.xml", 1, s, &page);
	ok(s->n == 8 && page.count == 8, "list-urlencoded: 8 entries");
	check_entry(s, 0, KEY("a b"), 1, "00000000000000000000000000000001",
	    "2024-05-01T10:00:00.000Z", "STANDARD");
	check_entry(s, 1, KEY("c+d"), 2, "00000000000000000000000000000002",
	    "2024-05-01T10:00:00.000Z", "STANDARD");
	check_entry(s, 2, KEY("\xe2\x82\xac.txt"), 3,
	    "00000000000000000000000000000003", "2024-05-01T10:00:00.000Z",
	    "STANDARD");
	check_entry(s, 3, KEY("dir/run books/x.txt"), 4,
	    "00000000000000000000000000000004", "2024-05-01T10:00:00.000Z",
	    "STANDARD");
	check_entry(s, 4, KEY("dir/encoded/slash"), 5,
	    "00000000000000000000000000000005", "2024-05-01T10:00:00.000Z",
	    "STANDARD");
	check_entry(s, 5, KEY("100%.csv"), 6,
	    "00000000000000000000000000000006", "2024-05-01T10:00:00.000Z",
	    "STANDARD");
	check_entry(s, 6, KEY("line\nbreak\r\x01"), 7,
	    "00000000000000000000000000000007", "2024-05-01T10:00:00.000Z",
	    "STANDARD");
	check_entry(s, 7, KEY("x&y<z>"), 8,
	    "00000000000000000000000000000008", "2024-05-01T10:00:00.000Z",
	    "STANDARD");
	seen_free(s);

	/* Not asked for: the caller gets what the server sent. */
	parse_file("list-urlencoded.xml", 0, s, &page);
	ok(s->n == 8 && strcmp(s->e[0].key, "a+b") == 0 &&
	    strcmp(s->e[2].key, "%E2%82%AC.txt") == 0,
	    "list-urlencoded: raw keys without url_encoded");
	seen_free(s);

	/* <EncodingType> after the entries still counts. */
	parse_file("list-encoding-last.xml", 1, s, &page);
	ok(s->n == 2, "list-encoding-last: 2 entries");
	check_entry(s, 0, KEY("a b"), 1, "1", "2024-05-01T10:00:00Z", NULL);
	check_entry(s, 1, KEY("c+d"), 2, "2", "2024-05-01T10:00:00Z", NULL);
	seen_free(s);

	/* s3rver ignores encoding-type=url: its keys must not be decoded. */
	parse_file("s3rver-list-urlignored.xml", 1, s, &page);
	ok(s->n == 7 && page.count == 7, "s3rver: 7 entries");
	check_entry(s, 0, KEY("100%.csv"), 5,
	    "5d41402abc4b2a76b9719d911017c592", "2026-11-22T02:31:47.000Z",
	    "STANDARD");
	check_entry(s, 1, KEY("a b.txt"), 5,
	    "5d41402abc4b2a76b9719d911017c592", "2026-11-22T02:31:47.000Z",
	    "STANDARD");
	check_entry(s, 2, KEY("a+b.txt"), 5,
	    "5d41402abc4b2a76b9719d911017c592", "2026-11-22T02:31:47.000Z",
	    "STANDARD");
	ok(s->n == 7 && strcmp(s->e[4].key, "it's.txt") == 0 &&
	    strcmp(s->e[5].key, "x&y<z>.txt") == 0 &&
	    strcmp(s->e[6].key, "\xe2\x82\xac.txt") == 0,
	    "s3rver: escaped keys");
	seen_free(s);

	parse_file("s3rver-list-truncated.xml", 1, s, &page);
	ok(s->n == 2 && page.truncated == 1, "s3rver: truncated page");
	is_str(page.next_token, "1c40Pn4Z+dpmDGCgi2O/+aLcBU+iakwUk6GyHmGyO+o=",
	    "s3rver: token verbatim");
	free(page.next_token);
	seen_free(s);
	free(s);
}

static void
test_entities(void)
{
	struct seen *s = xcalloc(1, sizeof(*s));
	struct list_page page;

	parse_file("list-entities.xml", 1, s, &page);
	ok(s->n == 5, "list-entities: 5 entries");
	check_entry(s, 0, KEY("Tom & Jerry <1>.txt"), 10, "0123",
	    "2024-05-01T10:00:00.000Z", "GLACIER");
	check_entry(s, 1, KEY("caf\xc3\xa9 \xe2\x82\xac it's \"q\""), 11,
	    "noquotes", NULL, NULL);
	check_entry(s, 2, KEY(" "), 12, NULL, NULL, NULL);
	check_entry(s, 3, KEY("a<b>&amp;c"), 13, NULL, NULL, NULL);
	check_entry(s, 4, KEY("a+b%20c"), 14, NULL, NULL, NULL);
	seen_free(s);
	free(s);
}

static void
test_reject(void)
{
	static const char head[] = "<ListBucketResult><EncodingType>url"
	    "</EncodingType><IsTruncated>false</IsTruncated><Contents><Key>";
	static const char tail[] = "</Key><Size>1</Size></Contents>"
	    "</ListBucketResult>";
	static const char nul[] = "<ListBucketResult>\0</ListBucketResult>";
	static const struct {
		const char	*name;
		const char	*doc;
		int		 url;
		const char	*want;
	} cases[] = {
		{ "escape at end", "a%", 1, "invalid %-escape" },
		{ "short escape", "a%4", 1, "invalid %-escape" },
		{ "non-hex escape", "a%zz", 1, "invalid %-escape" },
		{ "escaped NUL", "a%00b", 1, "NUL byte" },
		{ "empty key", "", 0, "empty <Key>" },
		{ "empty decoded key", "", 1, "empty <Key>" },
	};
	static const struct {
		const char	*name;
		const char	*doc;
		const char	*want;
	} docs[] = {
		{ "empty body", "", "malformed XML at line 0: empty document" },
		{ "not XML", "garbage", "malformed XML at line 1" },
		{ "not UTF-8", "<ListBucketResult><Name>\xff\xfe</Name>"
		    "</ListBucketResult>", "Input is not proper UTF-8, "
		    "indicate encoding ! Bytes: 0xFF 0xFE" },
		{ "HTML", "<html><body>502</body></html>",
		    "unexpected root element <html>" },
		{ "DOCTYPE", "<!DOCTYPE x [<!ENTITY e \"v\">]>"
		    "<ListBucketResult>&e;</ListBucketResult>",
		    "DOCTYPE not allowed" },
		{ "trailing junk", "<ListBucketResult/>junk",
		    "Extra content at the end" },
		{ "size overflow", "<ListBucketResult><Contents><Key>k</Key>"
		    "<Size>9223372036854775808</Size></Contents>"
		    "</ListBucketResult>", "k: bad <Size>" },
		{ "size not a number", "<ListBucketResult><Contents><Key>k"
		    "</Key><Size>12kB</Size></Contents></ListBucketResult>",
		    "k: bad <Size> \"12kB\"" },
		{ "size with a sign", "<ListBucketResult><Contents><Key>k"
		    "</Key><Size>+1</Size></Contents></ListBucketResult>",
		    "bad <Size>" },
		{ "no size", "<ListBucketResult><Contents><Key>k</Key>"
		    "</Contents></ListBucketResult>",
		    "k: <Contents> without <Size>" },
		{ "bad IsTruncated", "<ListBucketResult><IsTruncated>yes"
		    "</IsTruncated></ListBucketResult>",
		    "bad <IsTruncated> \"yes\"" },
		{ "empty token", "<ListBucketResult><IsTruncated>true"
		    "</IsTruncated><NextContinuationToken/></ListBucketResult>",
		    "no <NextContinuationToken>" },
	};
	size_t i;
	char *doc;

	check_reject_file("bad-unclosed.xml", 0,
	    "listing: malformed XML at line 8: Opening and ending tag "
	    "mismatch: Key line 6 and Contents");
	check_reject_file("bad-truncated.xml", 0,
	    "listing: malformed XML at line ");
	check_reject_file("error-nosuchbucket.xml", 0,
	    "listing: server error NoSuchBucket: The specified bucket does "
	    "not exist");
	check_reject_file("s3rver-error-nosuchbucket.xml", 1,
	    "server error NoSuchBucket");
	/* s3rver writes HTML entities such as &euro; that XML lacks. */
	check_reject_file("s3rver-error-nosuchkey.xml", 1,
	    "listing: malformed XML at line 2: Entity 'euro' not defined");
	check_reject_file("list-truncated-notoken.xml", 0,
	    "listing: <IsTruncated> is true but no <NextContinuationToken>");
	check_reject_file("list-nokey.xml", 0,
	    "listing: <Contents> without <Key>");
	check_reject_file("list-negsize.xml", 0,
	    "listing: a: bad <Size> \"-1\"");
	check_reject_file("error-html.html", 0, "listing: malformed XML");

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		doc = xasprintf("%s%s%s", head, cases[i].doc, tail);
		check_reject(cases[i].name, doc, strlen(doc), cases[i].url,
		    cases[i].want);
		free(doc);
	}
	check_reject("NUL byte", nul, sizeof(nul) - 1, 0,
	    "Char 0x0 out of allowed range");
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		check_reject(docs[i].name, docs[i].doc, strlen(docs[i].doc),
		    0, docs[i].want);
}

static void
test_stop(void)
{
	struct seen *s = xcalloc(1, sizeof(*s));
	struct list_page page;
	size_t len;
	char *doc = tap_fixture("xml", "list-truncated.xml", &len), *msgs;
	int rc;

	s->stop_at = 1;
	rc = parse_quiet(doc, len, 0, s, &page, &msgs);
	ok(rc == -1, "callback -1: parse fails");
	ok(s->n == 1, "callback -1: no call after it");
	ok(msgs[0] == '\0', "callback -1: nothing printed");
	ok(page.next_token == NULL, "callback -1: no token left to free");
	free(msgs);
	free(doc);
	seen_free(s);
	free(s);
}

/* A 1000-entry truncated page, encoded, built the way S3 writes it. */
static void
test_big(void)
{
	struct seen *s = xcalloc(1, sizeof(*s));
	struct list_page page;
	struct buf doc = { NULL, 0, 0 };
	char *part, want[64];
	size_t i, bad = 0;
	int rc;

	part = xasprintf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/"
	    "2006-03-01/\"><Name>b</Name><Prefix></Prefix>"
	    "<NextContinuationToken>tok%%2B</NextContinuationToken>"
	    "<KeyCount>1000</KeyCount><MaxKeys>1000</MaxKeys>"
	    "<EncodingType>url</EncodingType>"
	    "<IsTruncated>true</IsTruncated>");
	buf_append(&doc, part, strlen(part));
	free(part);
	for (i = 0; i < 1000; i++) {
		part = xasprintf("<Contents><Key>dir+%zu/file%%2B%04zu</Key>"
		    "<LastModified>2024-05-01T10:00:00.000Z</LastModified>"
		    "<ETag>&quot;%032zx&quot;</ETag><Size>%zu</Size>"
		    "<StorageClass>STANDARD</StorageClass></Contents>\n",
		    i / 100, i, i, i * 1000003);
		buf_append(&doc, part, strlen(part));
		free(part);
	}
	buf_append(&doc, "</ListBucketResult>", 19);

	rc = list_parse_page(doc.data, doc.len, 1, collect, s, &page);
	ok(rc == 0, "1000 entries: parsed");
	ok(s->n == 1000 && page.count == 1000, "1000 entries: all seen");
	ok(page.truncated == 1, "1000 entries: truncated");
	is_str(page.next_token, "tok%2B", "1000 entries: token verbatim");
	for (i = 0; i < s->n; i++) {
		snprintf(want, sizeof(want), "dir %zu/file+%04zu", i / 100, i);
		if (strcmp(s->e[i].key, want) != 0 ||
		    s->e[i].keylen != strlen(want) ||
		    s->e[i].size != (int64_t)(i * 1000003) ||
		    strlen(s->e[i].etag) != 32 ||
		    strtoul(s->e[i].etag, NULL, 16) != i)
			bad++;
	}
	ok(bad == 0, "1000 entries: every field in order (%zu bad)", bad);
	free(page.next_token);
	buf_free(&doc);
	seen_free(s);
	free(s);
}

static void
check_error(const char *file, int want_rc, const char *code,
    const char *message, const char *region)
{
	struct s3_error err;
	size_t len;
	char *doc = tap_fixture("xml", file, &len);
	int rc;

	rc = xml_parse_error(doc, len, &err);
	ok(rc == want_rc, "%s: returns %d", file, want_rc);
	is_str(err.code, code, "%s: code", file);
	is_str(err.message, message, "%s: message", file);
	is_str(err.region, region, "%s: region", file);
	xml_error_free(&err);
	free(doc);
}

static void
test_error(void)
{
	struct s3_error err;

	check_error("error-nosuchbucket.xml", 0, "NoSuchBucket",
	    "The specified bucket does not exist", NULL);
	check_error("error-signature.xml", 0, "SignatureDoesNotMatch",
	    "The request signature we calculated does not match the "
	    "signature you provided. Check your key and signing method.",
	    NULL);
	check_error("error-redirect.xml", 0, "PermanentRedirect",
	    "The bucket you are attempting to access must be addressed "
	    "using the specified endpoint. Please send all future requests "
	    "to this endpoint.", NULL);
	check_error("error-region.xml", 0, "AuthorizationHeaderMalformed",
	    "The authorization header is malformed; the region 'us-east-1' "
	    "is wrong; expecting 'eu-west-1'", "eu-west-1");
	check_error("s3rver-error-nosuchbucket.xml", 0, "NoSuchBucket",
	    "The specified bucket does not exist", NULL);
	/* s3rver writes HTML entities such as &euro; that XML lacks. */
	check_error("s3rver-error-nosuchkey.xml", -1, NULL, NULL, NULL);
	check_error("error-html.html", -1, NULL, NULL, NULL);
	check_error("list-basic.xml", -1, NULL, NULL, NULL);
	check_error("bad-truncated.xml", -1, NULL, NULL, NULL);

	ok(xml_parse_error("", 0, &err) == -1 && err.code == NULL,
	    "empty body: -1");
	ok(xml_parse_error("<Error><Message>m</Message></Error>", 35,
	    &err) == -1 && err.message == NULL, "<Error> without <Code>: -1");
	ok(xml_parse_error("<Error><Code>SlowDown</Code></Error>", 36,
	    &err) == 0 && strcmp(err.code, "SlowDown") == 0 &&
	    err.message == NULL && err.region == NULL,
	    "<Error> with only <Code>");
	xml_error_free(&err);
	xml_error_free(&err);
	xml_error_free(NULL);
	ok(1, "xml_error_free twice and on NULL");
}

/* Multipart upload answers: InitiateMultipartUpload, Complete, ListParts. */

static void
check_initiate(const char *what, const char *doc, size_t len,
    const char *want_id, const char *want_msg)
{
	char *id = (char *)"unset";
	int rc;

	tap_quiet();
	rc = mpdoc_parse_initiate(doc, len, &id);
	tap_one_line(what, tap_quieted(), want_msg);
	ok(rc == (want_id != NULL ? 0 : -1), "%s: returns %d", what,
	    want_id != NULL ? 0 : -1);
	is_str(id, want_id, "%s: upload id", what);
	free(id);
}

static void
check_initiate_file(const char *file, const char *want_id,
    const char *want_msg)
{
	size_t len;
	char *doc = tap_fixture("xml", file, &len);

	check_initiate(file, doc, len, want_id, want_msg);
	free(doc);
}

#define DOC(s)	(s), sizeof(s) - 1

static void
test_initiate(void)
{
	check_initiate_file("initiate.xml",
	    "VXBsb2FkIElEIGZvciBwM2JhY2t1cCBiaWcuYmlu.Zm9v_YmFy-QmF6", NULL);
	check_initiate_file("s3rver-initiate.xml",
	    "42c29bd86a6f26eecbd33d1f95c4fa9a", NULL);
	check_initiate("no namespace, entities", DOC("<InitiateMultipart"
	    "UploadResult><UploadId>a&amp;b&#x2B;c</UploadId>"
	    "</InitiateMultipartUploadResult>"), "a&b+c", NULL);

	check_initiate_file("initiate-noid.xml", NULL, "multipart: "
	    "<InitiateMultipartUploadResult> without <UploadId>");
	check_initiate("empty UploadId", DOC("<InitiateMultipartUploadResult>"
	    "<UploadId/></InitiateMultipartUploadResult>"), NULL,
	    "without <UploadId>");
	check_initiate("UploadId too deep", DOC("<InitiateMultipartUpload"
	    "Result><x><UploadId>a</UploadId></x>"
	    "</InitiateMultipartUploadResult>"), NULL, "without <UploadId>");
	check_initiate_file("error-nosuchbucket.xml", NULL,
	    "multipart: server error NoSuchBucket: The specified bucket "
	    "does not exist");
	check_initiate("<Error> without <Code>", DOC("<Error><Message>m"
	    "</Message></Error>"), NULL, "multipart: <Error> without <Code>");
	/* s3rver's &euro; makes its <Error> malformed: said so. */
	check_initiate_file("s3rver-error-nosuchkey.xml", NULL,
	    "multipart: malformed XML at line 2: Entity 'euro' not defined");
	check_initiate_file("complete.xml", NULL, "multipart: unexpected "
	    "root element <CompleteMultipartUploadResult>");
	check_initiate_file("error-html.html", NULL,
	    "multipart: malformed XML");
	check_initiate("empty body", "", 0, NULL,
	    "multipart: malformed XML at line 0: empty document");
	check_initiate("DOCTYPE", DOC("<!DOCTYPE x [<!ENTITY e \"v\">]>"
	    "<InitiateMultipartUploadResult><UploadId>&e;</UploadId>"
	    "</InitiateMultipartUploadResult>"), NULL, "DOCTYPE not allowed");
	check_initiate("NUL byte", DOC("<InitiateMultipartUploadResult>\0"
	    "</InitiateMultipartUploadResult>"), NULL,
	    "Char 0x0 out of allowed range");
}

static void
check_complete(const char *what, const char *doc, size_t len,
    const char *want_etag, const char *want_code, const char *want_msg)
{
	struct s3_error err;
	char *etag = (char *)"unset";
	int rc;

	tap_quiet();
	rc = mpdoc_parse_complete(doc, len, &etag, &err);
	tap_one_line(what, tap_quieted(), want_msg);
	ok(rc == (want_etag != NULL ? 0 : -1), "%s: returns %d", what,
	    want_etag != NULL ? 0 : -1);
	is_str(etag, want_etag, "%s: etag", what);
	is_str(err.code, want_code, "%s: error code", what);
	free(etag);
	xml_error_free(&err);
}

static void
check_complete_file(const char *file, const char *want_etag,
    const char *want_code, const char *want_msg)
{
	size_t len;
	char *doc = tap_fixture("xml", file, &len);

	check_complete(file, doc, len, want_etag, want_code, want_msg);
	free(doc);
}

static void
test_complete(void)
{
	struct s3_error err;
	size_t len;
	char *doc, *etag;
	int rc;

	check_complete_file("complete.xml",
	    "2f4d9f0ea06f1ecf1a6049de73b9448e-2", NULL, NULL);
	/* s3rver answers the MD5 of the whole object, not md5-of-md5s-N. */
	check_complete_file("s3rver-complete.xml",
	    "24e590da8f7d56b1b107f507d787c8c1", NULL, NULL);
	check_complete("literal quotes", DOC("<CompleteMultipartUploadResult>"
	    "<ETag>\"abc-3\"</ETag></CompleteMultipartUploadResult>"),
	    "abc-3", NULL, NULL);
	check_complete("no quotes", DOC("<CompleteMultipartUploadResult>"
	    "<ETag>abc-3</ETag></CompleteMultipartUploadResult>"),
	    "abc-3", NULL, NULL);
	check_complete("white space before the declaration", DOC(" \r\n \n"
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<CompleteMultipartUploadResult><ETag>&quot;e-2&quot;</ETag>"
	    "</CompleteMultipartUploadResult>"), "e-2", NULL, NULL);

	/* An <Error> inside a 200: filled in, not printed. */
	doc = tap_fixture("xml", "complete-200-error.xml", &len);
	tap_quiet();
	rc = mpdoc_parse_complete(doc, len, &etag, &err);
	tap_one_line("complete-200-error.xml", tap_quieted(), NULL);
	ok(rc == -1 && etag == NULL, "complete-200-error.xml: -1, no etag");
	is_str(err.code, "InternalError", "complete-200-error.xml: code");
	is_str(err.message, "We encountered an internal error. Please try "
	    "again.", "complete-200-error.xml: message");
	is_str(err.region, NULL, "complete-200-error.xml: no region");
	xml_error_free(&err);
	free(doc);
	check_complete("<Error> after white space", DOC("\n  \n<Error><Code>"
	    "SlowDown</Code></Error>"), NULL, "SlowDown", NULL);

	check_complete_file("complete-error-cut.xml", NULL, NULL,
	    "multipart: malformed XML at line 7: document ends early");
	check_complete_file("complete-truncated.xml", NULL, NULL,
	    "multipart: malformed XML at line 6: document ends early");
	check_complete("<Error> without <Code>", DOC("<Error><Message>m"
	    "</Message></Error>"), NULL, NULL,
	    "multipart: <Error> without <Code>");
	check_complete_file("initiate.xml", NULL, NULL, "multipart: "
	    "unexpected root element <InitiateMultipartUploadResult>");
	/* No ETag to check: the caller asks with HEAD instead. */
	check_complete("no ETag", DOC("<CompleteMultipartUploadResult>"
	    "<Key>k</Key></CompleteMultipartUploadResult>"), "", NULL, NULL);
	check_complete("only quotes", DOC("<CompleteMultipartUploadResult>"
	    "<ETag>&quot;&quot;</ETag></CompleteMultipartUploadResult>"),
	    "", NULL, NULL);
	/* Ceph RGW 16.2.15 answers an empty <ETag></ETag>. */
	check_complete_file("ceph-complete.xml", "", NULL, NULL);
	/* Cut after S3's keep-alive white space. */
	check_complete("white space only", DOC(" \n \n"), NULL, NULL,
	    "multipart: malformed XML at line 3: document ends early");
	/* Without a declaration, lines count in the body as received. */
	check_complete("mismatch after white space", DOC("\n\n\n"
	    "<CompleteMultipartUploadResult><ETag>x</Etag>"
	    "</CompleteMultipartUploadResult>"), NULL, NULL,
	    "multipart: malformed XML at line 4: Opening and ending tag "
	    "mismatch: ETag line 4 and Etag");
	check_complete_file("error-html.html", NULL, NULL,
	    "multipart: malformed XML");
}

#define MAXPARTS	16

/* What the ListParts callback saw. */
struct parts {
	size_t	 n;
	size_t	 stop_at;	/* return -1 on this call (1-based); 0 never */
	struct {
		uint32_t number;
		int64_t	 size;
		char	*etag;
	} p[MAXPARTS];
};

static int
collect_part(void *arg, const struct mpdoc_part *lp)
{
	struct parts *s = arg;

	if (s->n >= MAXPARTS)
		return -1;
	s->p[s->n].number = lp->number;
	s->p[s->n].size = lp->size;
	s->p[s->n].etag = dupnull(lp->etag);
	s->n++;
	return s->stop_at != 0 && s->n == s->stop_at ? -1 : 0;
}

static void
parts_free(struct parts *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->p[i].etag);
	memset(s, 0, sizeof(*s));
}

/* Parse "doc"; "want_msg" is the one line expected, NULL for none. */
static int
parse_parts(const char *what, const char *doc, size_t len, struct parts *s,
    int *truncated, uint32_t *marker, const char *want_msg)
{
	int rc;

	tap_quiet();
	rc = mpdoc_parse_parts(doc, len, collect_part, s, truncated,
	    marker);
	tap_one_line(what, tap_quieted(), want_msg);
	return rc;
}

static int
parse_parts_file(const char *file, struct parts *s, int *truncated,
    uint32_t *marker, const char *want_msg)
{
	size_t len;
	char *doc = tap_fixture("xml", file, &len);
	int rc;

	rc = parse_parts(file, doc, len, s, truncated, marker, want_msg);
	free(doc);
	return rc;
}

static void
check_part(const struct parts *s, size_t i, uint32_t number, int64_t size,
    const char *etag)
{
	if (i >= s->n) {
		ok(0, "part %zu exists", i);
		return;
	}
	ok(s->p[i].number == number && s->p[i].size == size,
	    "part %zu: number %" PRIu32 ", size %" PRId64, i, number, size);
	is_str(s->p[i].etag, etag, "part %zu: etag", i);
}

static void
test_list_parts(void)
{
	static const struct {
		const char	*name;
		const char	*doc;
		const char	*want;
	} bad[] = {
		{ "part number 0", "<Part><PartNumber>0</PartNumber><Size>1"
		    "</Size><ETag>e</ETag></Part>",
		    "multipart: bad <PartNumber> \"0\"" },
		{ "part number signed", "<Part><PartNumber>+1</PartNumber>"
		    "<Size>1</Size><ETag>e</ETag></Part>",
		    "bad <PartNumber> \"+1\"" },
		{ "no part number", "<Part><Size>1</Size><ETag>e</ETag></Part>",
		    "multipart: <Part> without <PartNumber>" },
		{ "negative size", "<Part><PartNumber>2</PartNumber><Size>-1"
		    "</Size><ETag>e</ETag></Part>",
		    "multipart: part 2: bad <Size> \"-1\"" },
		{ "size overflow", "<Part><PartNumber>2</PartNumber><Size>"
		    "9223372036854775808</Size><ETag>e</ETag></Part>",
		    "part 2: bad <Size>" },
		{ "no size", "<Part><PartNumber>7</PartNumber><ETag>e</ETag>"
		    "</Part>", "multipart: part 7: <Part> without <Size>" },
		{ "empty ETag", "<Part><PartNumber>7</PartNumber><Size>1"
		    "</Size><ETag/></Part>",
		    "multipart: part 7: <Part> without <ETag>" },
		{ "bad IsTruncated", "<IsTruncated>1</IsTruncated>",
		    "multipart: bad <IsTruncated> \"1\"" },
		{ "bad marker", "<NextPartNumberMarker>3x"
		    "</NextPartNumberMarker>",
		    "multipart: bad <NextPartNumberMarker> \"3x\"" },
		{ "marker too big", "<NextPartNumberMarker>10001"
		    "</NextPartNumberMarker>",
		    "bad <NextPartNumberMarker> \"10001\"" },
		{ "truncated, empty marker", "<IsTruncated>true</IsTruncated>"
		    "<NextPartNumberMarker/>", "multipart: <IsTruncated> is "
		    "true but no <NextPartNumberMarker>" },
		{ "truncated, marker 0", "<NextPartNumberMarker>0"
		    "</NextPartNumberMarker><IsTruncated>true</IsTruncated>",
		    "no <NextPartNumberMarker>" },
	};
	struct parts *s = xcalloc(1, sizeof(*s));
	uint32_t marker;
	size_t i, len;
	char *doc;
	int rc, trunc;

	rc = parse_parts_file("list-parts.xml", s, &trunc, &marker, NULL);
	ok(rc == 0 && s->n == 3, "list-parts.xml: 3 parts");
	ok(trunc == 1 && marker == 3, "list-parts.xml: truncated, marker 3");
	check_part(s, 0, 1, 5242880, "79b281060d337b9b2b84ccf390adcf74");
	check_part(s, 1, 2, 5242880, "7f8d2a6c5e4b3a29180716253443526f");
	check_part(s, 2, 3, 5242880, "e1f2a3b4c5d6e7f80912a3b4c5d6e7f8");
	parts_free(s);

	rc = parse_parts_file("list-parts-last.xml", s, &trunc, &marker,
	    NULL);
	ok(rc == 0 && s->n == 2, "list-parts-last.xml: 2 parts");
	ok(trunc == 0 && marker == 5,
	    "list-parts-last.xml: last page, marker 5 as sent");
	check_part(s, 0, 4, 5242880, "0a1b2c3d4e5f60718293a4b5c6d7e8f9");
	check_part(s, 1, 5, 16, "99d2843983d240483fb933700988d62e");
	parts_free(s);

	rc = parse_parts("no parts", DOC("<ListPartsResult><IsTruncated>"
	    "false</IsTruncated><NextPartNumberMarker/></ListPartsResult>"),
	    s, &trunc, &marker, NULL);
	ok(rc == 0 && s->n == 0 && trunc == 0 && marker == 0,
	    "no parts, empty marker: 0, marker 0");
	rc = parse_parts("unquoted", DOC("<ListPartsResult><Part><ETag>e"
	    "</ETag><Size>0</Size><PartNumber>10000</PartNumber></Part>"
	    "</ListPartsResult>"), s, &trunc, &marker, NULL);
	ok(rc == 0 && trunc == 0 && marker == 0, "unquoted: parsed");
	check_part(s, 0, 10000, 0, "e");
	parts_free(s);

	rc = parse_parts_file("list-parts-nomarker.xml", s, &trunc, &marker,
	    "multipart: <IsTruncated> is true but no "
	    "<NextPartNumberMarker>");
	ok(rc == -1, "list-parts-nomarker.xml: rejected");
	parts_free(s);
	rc = parse_parts_file("list-parts-noetag.xml", s, &trunc, &marker,
	    "multipart: part 2: <Part> without <ETag>");
	ok(rc == -1 && s->n == 1, "list-parts-noetag.xml: rejected at part 2");
	parts_free(s);
	rc = parse_parts_file("list-parts-badnumber.xml", s, &trunc, &marker,
	    "multipart: bad <PartNumber> \"10001\"");
	ok(rc == -1, "list-parts-badnumber.xml: rejected");
	parts_free(s);
	rc = parse_parts_file("list-parts-unclosed.xml", s, &trunc, &marker,
	    "multipart: malformed XML at line 31: Opening and ending tag "
	    "mismatch: Size line 29 and Part");
	ok(rc == -1, "list-parts-unclosed.xml: rejected");
	parts_free(s);
	rc = parse_parts_file("s3rver-error-listparts.xml", s, &trunc,
	    &marker, "multipart: server error MethodNotAllowed: The "
	    "specified method is not allowed against this resource.");
	ok(rc == -1, "s3rver-error-listparts.xml: rejected");
	/* Inside an <Error>, nothing is read as a ListParts field. */
	rc = parse_parts("<Error> with result fields", DOC("<Error><Code>X"
	    "</Code><IsTruncated>bad</IsTruncated></Error>"), s, &trunc,
	    &marker, "multipart: server error X: ");
	ok(rc == -1, "<Error> with result fields: rejected");
	rc = parse_parts_file("list-basic.xml", s, &trunc, &marker,
	    "multipart: unexpected root element <ListBucketResult>");
	ok(rc == -1, "list-basic.xml: rejected");
	rc = parse_parts("empty body", "", 0, s, &trunc, &marker,
	    "multipart: malformed XML at line 0: empty document");
	ok(rc == -1, "empty body: rejected");
	parts_free(s);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		doc = xasprintf("<ListPartsResult>%s</ListPartsResult>",
		    bad[i].doc);
		rc = parse_parts(bad[i].name, doc, strlen(doc), s, &trunc,
		    &marker, bad[i].want);
		ok(rc == -1, "%s: rejected", bad[i].name);
		parts_free(s);
		free(doc);
	}

	/* The callback stops the walk: -1, no message, no further call. */
	doc = tap_fixture("xml", "list-parts.xml", &len);
	s->stop_at = 2;
	rc = parse_parts("callback -1", doc, len, s, &trunc, &marker, NULL);
	ok(rc == -1 && s->n == 2, "callback -1: fails, no call after it");
	parts_free(s);
	free(doc);
	free(s);
}

/* DeleteObjects answers: what the per-key <Error> callback saw. */
#define MAXDELERR	8

struct delerrs {
	size_t	 n;
	size_t	 stop_at;	/* return -1 on this call (1-based); 0 never */
	struct {
		char	*key;
		char	*code;
		char	*message;
	} e[MAXDELERR];
};

static int
collect_delerr(void *arg, const char *key, const char *code,
    const char *message)
{
	struct delerrs *d = arg;

	if (d->n >= MAXDELERR)
		return -1;
	d->e[d->n].key = xstrdup(key);
	d->e[d->n].code = xstrdup(code);
	d->e[d->n].message = xstrdup(message);
	d->n++;
	return d->stop_at != 0 && d->n == d->stop_at ? -1 : 0;
}

static void
delerrs_free(struct delerrs *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->e[i].key);
		free(d->e[i].code);
		free(d->e[i].message);
	}
	memset(d, 0, sizeof(*d));
}

/*
 * Parse "doc"; expect return code "want_rc", "want_n" callbacks and
 * "want_msg" printed (one line; NULL for nothing).
 */
static void
check_delete(const char *what, const char *doc, size_t len, int want_rc,
    size_t want_n, const char *want_msg, struct delerrs *d)
{
	int rc;

	tap_quiet();
	rc = xml_parse_delete_result(doc, len, collect_delerr, d);
	tap_one_line(what, tap_quieted(), want_msg);
	ok(rc == want_rc, "%s: returns %d", what, want_rc);
	ok(d->n == want_n, "%s: %zu error(s) passed on", what, want_n);
}

static void
check_delete_file(const char *file, int want_rc, size_t want_n,
    const char *want_msg, struct delerrs *d)
{
	size_t len;
	char *doc = tap_fixture("xml", file, &len);

	check_delete(file, doc, len, want_rc, want_n, want_msg, d);
	free(doc);
}

static void
check_delerr(const struct delerrs *d, size_t i, const char *key,
    const char *code, const char *message)
{
	if (i >= d->n) {
		ok(0, "error %zu exists", i);
		return;
	}
	is_str(d->e[i].key, key, "error %zu: key", i);
	is_str(d->e[i].code, code, "error %zu: code", i);
	is_str(d->e[i].message, message, "error %zu: message", i);
}

static void
test_delete(void)
{
	struct delerrs d;
	size_t len;
	char *doc;

	memset(&d, 0, sizeof(d));
	check_delete_file("delete-result.xml", 0, 2, NULL, &d);
	check_delerr(&d, 0, "sample2.txt", "AccessDenied", "Access Denied");
	check_delerr(&d, 1, "a&b <c> \"d\" 'e'\rf", "InternalError",
	    "We encountered an internal error. Please try again.");
	delerrs_free(&d);
	check_delete_file("delete-quiet.xml", 0, 0, NULL, &d);
	/* s3rver lists every key as <Deleted>, even in quiet mode. */
	check_delete_file("s3rver-delete.xml", 0, 0, NULL, &d);
	check_delete("no namespace, white space before the declaration",
	    DOC(" \n<?xml version=\"1.0\"?>\n<DeleteResult><Error><Key>k"
	    "</Key><Code>SlowDown</Code></Error></DeleteResult>"), 0, 1,
	    NULL, &d);
	check_delerr(&d, 0, "k", "SlowDown", "");
	delerrs_free(&d);
	check_delete("<Error> with only a <Key>", DOC("<DeleteResult><Error>"
	    "<Key>k</Key></Error></DeleteResult>"), 0, 1, NULL, &d);
	check_delerr(&d, 0, "k", "", "");
	delerrs_free(&d);
	check_delete("<Key> of a <Deleted> is not an error",
	    DOC("<DeleteResult><Deleted><Key>k</Key><Code>X</Code></Deleted>"
	    "</DeleteResult>"), 0, 0, NULL, &d);

	/* The whole request failed: an <Error> document, maybe with 200. */
	check_delete_file("s3rver-delete-500.xml", -1, 0, "delete: server "
	    "error InternalError: We encountered an internal error. Please "
	    "try again.", &d);
	check_delete_file("error-nosuchbucket.xml", -1, 0, "delete: server "
	    "error NoSuchBucket: The specified bucket does not exist", &d);
	check_delete("<Error> document with a <Key>", DOC("<Error><Key>k"
	    "</Key><Code>AccessDenied</Code></Error>"), -1, 0,
	    "delete: server error AccessDenied", &d);
	check_delete("<Error> without <Code>", DOC("<Error><Message>m"
	    "</Message></Error>"), -1, 0, "delete: <Error> without <Code>",
	    &d);

	/* Malformed: the errors read before the fault were passed on. */
	check_delete_file("delete-truncated.xml", -1, 1,
	    "delete: malformed XML at line 13", &d);
	check_delerr(&d, 0, "sample2.txt", "AccessDenied", "Access Denied");
	delerrs_free(&d);
	check_delete("<Error> without <Key>", DOC("<DeleteResult><Error>"
	    "<Code>AccessDenied</Code></Error></DeleteResult>"), -1, 0,
	    "delete: <Error> without <Key>", &d);
	check_delete("empty <Key>", DOC("<DeleteResult><Error><Key/>"
	    "<Code>X</Code></Error></DeleteResult>"), -1, 0,
	    "delete: <Error> without <Key>", &d);
	check_delete_file("list-basic.xml", -1, 0,
	    "delete: unexpected root element <ListBucketResult>", &d);
	check_delete_file("error-html.html", -1, 0, "delete: malformed XML",
	    &d);
	check_delete("empty body", "", 0, -1, 0,
	    "delete: malformed XML at line 0: empty document", &d);
	check_delete("DOCTYPE", DOC("<!DOCTYPE x [<!ENTITY e \"v\">]>"
	    "<DeleteResult><Error><Key>&e;</Key></Error></DeleteResult>"), -1,
	    0, "DOCTYPE not allowed", &d);

	/* The callback stops the walk: -1, no message, no further call. */
	doc = tap_fixture("xml", "delete-result.xml", &len);
	d.stop_at = 1;
	check_delete("callback -1", doc, len, -1, 1, NULL, &d);
	delerrs_free(&d);
	free(doc);
}

int
main(void)
{
	test_basic();
	test_encoded();
	test_entities();
	test_reject();
	test_stop();
	test_big();
	test_error();
	test_initiate();
	test_complete();
	test_list_parts();
	test_delete();
	xmlCleanupParser();
	return tap_done();
}
