/*
 * Tests for versions.c: ListObjectVersions pages, read from the saved
 * responses tests/data/xml/versions-*.xml (see SOURCE there: AWS's
 * documented example, Ceph RGW's real answers, hand-written edge
 * cases) and from pages built in memory.  versions_list() needs a
 * server that answers ?versions, which s3rver does not (405).
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

#define MAXSEEN	16

/* What the callback saw: copies of every entry. */
struct seen {
	size_t	 n;
	int	 stop_at;	/* return -1 on this call (1-based); 0 never */
	struct {
		char	*key;
		size_t	 keylen;
		char	*id;
		int	 latest;
		int	 dm;
		int64_t	 size;
		char	*etag;
		char	*mtime;
		char	*sclass;
	} e[MAXSEEN];
};

/* One expected entry. */
struct want {
	const char	*key;
	size_t		 keylen;
	const char	*id;
	int		 latest;
	int		 dm;
	int64_t		 size;
	const char	*etag;
	const char	*mtime;
	const char	*sclass;
};

#define KEY(s)	(s), sizeof(s) - 1

static char *
dupnull(const char *s)
{
	return s == NULL ? NULL : xstrdup(s);
}

static int
collect(void *arg, const struct versions_entry *ve)
{
	struct seen *s = arg;

	if (s->n >= MAXSEEN)
		return -1;
	s->e[s->n].key = xstrndup(ve->key, ve->keylen);
	s->e[s->n].keylen = ve->keylen;
	s->e[s->n].id = dupnull(ve->version_id);
	s->e[s->n].latest = ve->is_latest;
	s->e[s->n].dm = ve->delete_marker;
	s->e[s->n].size = ve->size;
	s->e[s->n].etag = dupnull(ve->etag);
	s->e[s->n].mtime = dupnull(ve->last_modified);
	s->e[s->n].sclass = dupnull(ve->storage_class);
	s->n++;
	return s->stop_at != 0 && (int)s->n == s->stop_at ? -1 : 0;
}

static void
seen_free(struct seen *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->e[i].key);
		free(s->e[i].id);
		free(s->e[i].etag);
		free(s->e[i].mtime);
		free(s->e[i].sclass);
	}
	memset(s, 0, sizeof(*s));
}

static void
page_free(struct versions_page *page)
{
	free(page->next_key_marker);
	free(page->next_version_id_marker);
	memset(page, 0, sizeof(*page));
}

/*
 * A page that must be rejected (asked with encoding-type=url) with one
 * line containing "want", and leave no marker to free.
 */
static void
check_reject(const char *name, const char *doc, size_t len, const char *want)
{
	struct seen *s = xcalloc(1, sizeof(*s));
	struct versions_page page;
	int rc;

	tap_quiet();
	rc = versions_parse_page(doc, len, 1, collect, s, &page);
	tap_one_line(name, tap_quieted(), want);
	ok(rc == -1, "%s: rejected", name);
	ok(page.next_key_marker == NULL && page.next_version_id_marker == NULL,
	    "%s: no marker left to free", name);
	seen_free(s);
	free(s);
}

/*
 * Parse the fixture "file", which must succeed, and compare every
 * field of every entry with the "n" of "want", then the page's fields.
 */
static void
check_file(const char *file, int url_encoded, const struct want *want,
    size_t n, int truncated, const char *next_key, const char *next_id)
{
	struct seen *s = xcalloc(1, sizeof(*s));
	struct versions_page page;
	size_t i, len;
	char *doc = tap_fixture("xml", file, &len);
	int rc;

	tap_quiet();
	rc = versions_parse_page(doc, len, url_encoded, collect, s, &page);
	tap_one_line(file, tap_quieted(), NULL);
	ok(rc == 0, "%s: parsed", file);
	ok(s->n == n && page.count == (long)n, "%s: %zu entries (saw %zu, "
	    "count %ld)", file, n, s->n, page.count);
	for (i = 0; i < n && i < s->n; i++) {
		ok(s->e[i].keylen == want[i].keylen &&
		    memcmp(s->e[i].key, want[i].key, want[i].keylen) == 0,
		    "%s: entry %zu: key (%zu bytes)", file, i, want[i].keylen);
		is_str(s->e[i].id, want[i].id, "%s: entry %zu: version id",
		    file, i);
		ok(s->e[i].latest == want[i].latest,
		    "%s: entry %zu: is_latest %d", file, i, want[i].latest);
		ok(s->e[i].dm == want[i].dm,
		    "%s: entry %zu: delete_marker %d", file, i, want[i].dm);
		ok(s->e[i].size == want[i].size, "%s: entry %zu: size %"
		    PRId64 " (got %" PRId64 ")", file, i, want[i].size,
		    s->e[i].size);
		is_str(s->e[i].etag, want[i].etag, "%s: entry %zu: etag",
		    file, i);
		is_str(s->e[i].mtime, want[i].mtime,
		    "%s: entry %zu: last modified", file, i);
		is_str(s->e[i].sclass, want[i].sclass,
		    "%s: entry %zu: storage class", file, i);
	}
	ok(page.truncated == truncated, "%s: truncated %d", file, truncated);
	is_str(page.next_key_marker, next_key, "%s: next key marker", file);
	is_str(page.next_version_id_marker, next_id,
	    "%s: next version id marker", file);
	page_free(&page);
	free(doc);
	seen_free(s);
	free(s);
}

#define NWANT(w)	(sizeof(w) / sizeof((w)[0]))

/* The API reference's example: one <Version>, then markers interleaved. */
static void
test_aws(void)
{
	static const struct want w[] = {
		{ KEY("my-image.jpg"), "3/L4kqtJl40Nr8X8gdRQBpUMLUo", 1, 0,
		    434234, "fba9dede5f27731c9771645a39863328",
		    "2009-10-12T17:50:30.000Z", "STANDARD" },
		{ KEY("my-second-image.jpg"),
		    "03jpff543dhffds434rfdsFDN943fdsFkdmqnh892", 1, 1, -1,
		    NULL, "2009-11-12T17:50:30.000Z", NULL },
		{ KEY("my-second-image.jpg"),
		    "QUpfdndhfd8438MNFDN93jdnJFkdmqnh893", 0, 0, 166434,
		    "9b2cf535f27731c974343645a3985328",
		    "2009-10-10T17:50:30.000Z", "STANDARD" },
		{ KEY("my-third-image.jpg"),
		    "03jpff543dhffds434rfdsFDN943fdsFkdmqnh892", 1, 1, -1,
		    NULL, "2009-10-15T17:50:30.000Z", NULL },
		{ KEY("my-third-image.jpg"), "UIORUnfndfhnw89493jJFJ", 0, 0,
		    64, "772cf535f27731c974343645a3985328",
		    "2009-10-11T12:50:30.000Z", "STANDARD" },
	};

	check_file("versions-aws.xml", 0, w, NWANT(w), 0, NULL, NULL);
	/* No <EncodingType>: nothing is decoded, the '/' id included. */
	check_file("versions-aws.xml", 1, w, NWANT(w), 0, NULL, NULL);
}

/*
 * Ceph RGW 16.2.15: three pages of max-keys=3, then the whole bucket
 * without encoding-type.  RGW encodes the keys ('/' too, space as
 * %20) but sends NextKeyMarker raw.
 */
static void
test_ceph(void)
{
	static const char weird[] = "docs/b c+d%e \xe2\x82\xac.txt";
	static const struct want p1[] = {
		{ KEY("docs/a.txt"), "kREHwChgBvAw.6Gsz4bW1fTkN83lFQv", 1, 0,
		    19, "f266ad7ec608618ed2bfe40e64b9c8f4",
		    "2026-12-03T18:26:43.576Z", "STANDARD" },
		{ KEY("docs/a.txt"), "bPH-4zgDDfFvG-MRMVc2H4oG5KcHk9p", 0, 0,
		    15, "27f60b341727cb8ed1de139b0da7c173",
		    "2026-12-03T18:26:40.062Z", "STANDARD_IA" },
		{ KEY("docs/a.txt"), "LGjv-9JcK1AwjT0PEhzAgcNVvOOox7r", 0, 0,
		    4, "5bbf5a52328e7439ae6e719dfe712200",
		    "2026-12-03T18:26:36.540Z", "STANDARD" },
	};
	static const struct want p2[] = {
		{ KEY(weird), "uWtJHR7tw5canThAgxNxkUD9nzaD.nq", 1, 1, -1,
		    NULL, "2026-12-03T18:26:45.204Z", NULL },
		{ KEY(weird), "DHtPVbbtDVrixW-nJUU5hKUeOwFGLB8", 0, 0, 0,
		    "d41d8cd98f00b204e9800998ecf8427e",
		    "2026-12-03T18:26:41.864Z", "STANDARD" },
		{ KEY(weird), "BW8v.NiBdLXQw1UVms9I9M0yCcTqOZs", 0, 0, 15,
		    "27f60b341727cb8ed1de139b0da7c173",
		    "2026-12-03T18:26:38.312Z", "STANDARD" },
	};
	static const struct want p3[] = {
		{ KEY("gone.txt"), "lkIdAPFqmyUHpMuNisomvKWQ6toiz34", 1, 1, -1,
		    NULL, "2026-12-03T18:26:46.921Z", NULL },
		{ KEY("pre.txt"), "null", 1, 0, 4,
		    "5bbf5a52328e7439ae6e719dfe712200",
		    "2026-12-03T18:26:54.740Z", "STANDARD" },
		{ KEY("z.bin"), "EdAYLdPBFFfVGl-kSLnDIfj-toS5t6y", 1, 0, 19,
		    "f266ad7ec608618ed2bfe40e64b9c8f4",
		    "2026-12-03T18:26:48.659Z", "STANDARD" },
	};
	struct want all[9];

	check_file("versions-ceph-page1.xml", 1, p1, NWANT(p1), 1,
	    "docs/a.txt", "LGjv-9JcK1AwjT0PEhzAgcNVvOOox7r");
	check_file("versions-ceph-page2.xml", 1, p2, NWANT(p2), 1, weird,
	    "BW8v.NiBdLXQw1UVms9I9M0yCcTqOZs");
	check_file("versions-ceph-page3.xml", 1, p3, NWANT(p3), 0, NULL,
	    NULL);

	memcpy(all, p1, sizeof(p1));
	memcpy(all + 3, p2, sizeof(p2));
	memcpy(all + 6, p3, sizeof(p3));
	check_file("versions-ceph-raw.xml", 1, all, NWANT(all), 0, NULL, NULL);
	check_file("versions-ceph-raw.xml", 0, all, NWANT(all), 0, NULL, NULL);
}

static void
test_encoded(void)
{
	static const struct want w[] = {
		{ KEY("dir/+plus"), "v1", 1, 0, 1,
		    "00000000000000000000000000000001",
		    "2024-05-01T10:00:01.000Z", "GLACIER" },
		{ KEY("dir/only a marker"), "m1", 1, 1, -1, NULL,
		    "2024-05-01T10:00:02.000Z", NULL },
		{ KEY("dir/a b+c%\xe2\x82\xac.txt"), "v%2B2", 1, 0, INT64_MAX,
		    "00000000000000000000000000000002-3",
		    "2024-05-01T10:00:04.000Z", NULL },
		{ KEY("dir/a b+c%\xe2\x82\xac.txt"), "v%2B3+x", 0, 0, 0,
		    "00000000000000000000000000000003",
		    "2024-05-01T10:00:03.000Z", "STANDARD" },
	};
	static const struct want raw[] = {
		{ KEY("dir/%2Bplus"), "v1", 1, 0, 1,
		    "00000000000000000000000000000001",
		    "2024-05-01T10:00:01.000Z", "GLACIER" },
		{ KEY("dir/only+a+marker"), "m1", 1, 1, -1, NULL,
		    "2024-05-01T10:00:02.000Z", NULL },
		{ KEY("dir/a+b%2Bc%25%E2%82%AC.txt"), "v%2B2", 1, 0,
		    INT64_MAX, "00000000000000000000000000000002-3",
		    "2024-05-01T10:00:04.000Z", NULL },
		{ KEY("dir/a+b%2Bc%25%E2%82%AC.txt"), "v%2B3+x", 0, 0, 0,
		    "00000000000000000000000000000003",
		    "2024-05-01T10:00:03.000Z", "STANDARD" },
	};
	static const struct want only[] = {
		{ KEY("gone.txt"), "lkIdAPFqmyUHpMuNisomvKWQ6toiz34", 1, 1, -1,
		    NULL, "2026-12-03T18:26:46.921Z", NULL },
	};

	/* <EncodingType> comes last: the page is read ahead for it. */
	check_file("versions-urlencoded.xml", 1, w, NWANT(w), 1,
	    "dir/a b+c%\xe2\x82\xac.txt", "v%2B3+x");
	/* Not asked for: keys and marker as sent. */
	check_file("versions-urlencoded.xml", 0, raw, NWANT(raw), 1,
	    "dir/a+b%2Bc%25%E2%82%AC.txt", "v%2B3+x");
	check_file("versions-marker-only.xml", 1, only, NWANT(only), 0, NULL,
	    NULL);
}

static void
test_reject(void)
{
	static const struct {
		const char	*file;
		const char	*want;
	} files[] = {
		{ "versions-truncated-nomarker.xml", "listing versions: "
		    "<IsTruncated> is true but no <NextKeyMarker>" },
		{ "versions-noversionid.xml", "listing versions: b: <Version> "
		    "without <VersionId>" },
		{ "versions-unclosed.xml", "listing versions: malformed XML at "
		    "line 10: Opening and ending tag mismatch: VersionId line "
		    "7 and Version" },
		/* A ListObjectsV2 page is not a versions page. */
		{ "list-basic.xml", "listing versions: unexpected root element "
		    "<ListBucketResult>" },
		{ "error-nosuchbucket.xml", "listing versions: server error "
		    "NoSuchBucket: The specified bucket does not exist" },
		{ "error-html.html", "listing versions: malformed XML" },
	};
	static const char head[] = "<ListVersionsResult>"
	    "<EncodingType>url</EncodingType>";
	static const struct {
		const char	*name;
		const char	*body;
		const char	*want;
	} cases[] = {
		{ "no key", "<Version><VersionId>v</VersionId><Size>1</Size>"
		    "</Version>", "listing versions: <Version> without <Key>" },
		{ "marker without key", "<DeleteMarker><VersionId>v"
		    "</VersionId></DeleteMarker>",
		    "listing versions: <DeleteMarker> without <Key>" },
		{ "empty key", "<Version><Key></Key><VersionId>v</VersionId>"
		    "<Size>1</Size></Version>", "<Version> with an empty <Key>" },
		{ "bad escape", "<Version><Key>a%zz</Key><VersionId>v"
		    "</VersionId><Size>1</Size></Version>",
		    "key \"a%zz\" has an invalid %-escape" },
		{ "escaped NUL", "<DeleteMarker><Key>a%00</Key><VersionId>v"
		    "</VersionId></DeleteMarker>", "NUL byte" },
		{ "marker without id", "<DeleteMarker><Key>a+b</Key>"
		    "</DeleteMarker>",
		    "listing versions: a b: <DeleteMarker> without <VersionId>" },
		{ "empty id", "<Version><Key>k</Key><VersionId/><Size>1</Size>"
		    "</Version>", "k: <Version> without <VersionId>" },
		{ "no size", "<Version><Key>k</Key><VersionId>v</VersionId>"
		    "</Version>", "listing versions: k: <Version> without "
		    "<Size>" },
		{ "negative size", "<Version><Key>k</Key><VersionId>v"
		    "</VersionId><Size>-1</Size></Version>",
		    "listing versions: k: bad <Size> \"-1\"" },
		{ "size overflow", "<Version><Key>k</Key><VersionId>v"
		    "</VersionId><Size>9223372036854775808</Size></Version>",
		    "k: bad <Size>" },
		{ "size not a number", "<Version><Key>k</Key><VersionId>v"
		    "</VersionId><Size>1kB</Size></Version>",
		    "k: bad <Size> \"1kB\"" },
		{ "bad IsLatest", "<DeleteMarker><Key>k</Key><VersionId>v"
		    "</VersionId><IsLatest>1</IsLatest></DeleteMarker>",
		    "listing versions: bad <IsLatest> \"1\"" },
		{ "bad IsTruncated", "<IsTruncated>yes</IsTruncated>",
		    "listing versions: bad <IsTruncated> \"yes\"" },
		{ "empty key marker", "<IsTruncated>true</IsTruncated>"
		    "<NextKeyMarker/><NextVersionIdMarker>v"
		    "</NextVersionIdMarker>", "no <NextKeyMarker>" },
		{ "no version id marker", "<IsTruncated>true</IsTruncated>"
		    "<NextKeyMarker>k</NextKeyMarker>",
		    "listing versions: <IsTruncated> is true but no "
		    "<NextVersionIdMarker>" },
		{ "bad marker escape", "<NextKeyMarker>a%4</NextKeyMarker>",
		    "key \"a%4\" has an invalid %-escape" },
	};
	static const struct {
		const char	*name;
		const char	*doc;
		const char	*want;
	} docs[] = {
		{ "empty body", "", "listing versions: malformed XML at line 0: "
		    "empty document" },
		{ "not XML", "garbage", "listing versions: malformed XML at "
		    "line 1" },
		{ "other root", "<ListBucketResult/>", "listing versions: "
		    "unexpected root element <ListBucketResult>" },
		{ "server error", "<Error><Code>NoSuchBucket</Code><Message>"
		    "The specified bucket does not exist</Message></Error>",
		    "listing versions: server error NoSuchBucket: The "
		    "specified bucket does not exist" },
		{ "error without code", "<Error><Message>m</Message></Error>",
		    "listing versions: server sent an <Error>" },
		{ "DOCTYPE", "<!DOCTYPE x [<!ENTITY e \"v\">]>"
		    "<ListVersionsResult>&e;</ListVersionsResult>",
		    "DOCTYPE not allowed" },
		{ "cut short", "<ListVersionsResult><Version><Key>k</Key>",
		    "listing versions: malformed XML at line 1: document "
		    "ends early" },
		{ "trailing junk", "<ListVersionsResult/>junk",
		    "Extra content at the end" },
	};
	size_t i, len;
	char *doc;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		doc = tap_fixture("xml", files[i].file, &len);
		check_reject(files[i].file, doc, len, files[i].want);
		free(doc);
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		doc = xasprintf("%s%s</ListVersionsResult>", head,
		    cases[i].body);
		check_reject(cases[i].name, doc, strlen(doc), cases[i].want);
		free(doc);
	}
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		check_reject(docs[i].name, docs[i].doc, strlen(docs[i].doc),
		    docs[i].want);
}

/* The callback's -1 stops the page, silently, with no marker to free. */
static void
test_stop(void)
{
	struct seen *s = xcalloc(1, sizeof(*s));
	struct versions_page page;
	size_t len;
	char *doc = tap_fixture("xml", "versions-ceph-page2.xml", &len);
	int rc;

	s->stop_at = 2;
	tap_quiet();
	rc = versions_parse_page(doc, len, 1, collect, s, &page);
	tap_one_line("callback -1", tap_quieted(), NULL);
	ok(rc == -1, "callback -1: parse fails");
	ok(s->n == 2, "callback -1: no call after it");
	ok(page.next_key_marker == NULL && page.next_version_id_marker == NULL,
	    "callback -1: no marker left to free");
	free(doc);
	seen_free(s);
	free(s);
}

int
main(void)
{
	test_aws();
	test_ceph();
	test_encoded();
	test_reject();
	test_stop();
	xmlCleanupParser();
	return tap_done();
}
