/*
 * Unit tests for sse.c: which request carries which server-side header,
 * the SSE-C key file forms, the usage checks, and what failed answers
 * and SSE answers mean.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"
#include "s3.h"
#include "tap.h"

static char tmpdir[256];

/* A key file under tmpdir holding "len" bytes of "data"; the path. */
static char *
keyfile(const char *name, const void *data, size_t len)
{
	char *path;
	int fd;

	path = xasprintf("%s/%s", tmpdir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    write(fd, data, len) != (ssize_t)len || close(fd) == -1) {
		perror(path);
		exit(99);
	}
	return path;
}

/* The value of "name" among the n headers of hv, or NULL. */
static const char *
value_of(const struct sigv4_kv *hv, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(hv[i].name, name) == 0)
			return hv[i].value;
	return NULL;
}

/* The headers of a call "method" on "key" with query "q" (or NULL). */
static size_t
headers(struct sse *sse, const char *method, const char *key, const char *q,
    struct sigv4_kv *hv)
{
	struct s3_call *c;
	size_t n;

	c = s3_call_new(method, "bkt", key);
	if (q != NULL)
		s3_call_query(c, q, q[0] == 'p' ? "1" : "");
	n = sse_headers(sse, c, hv);
	s3_call_free(c);
	return n;
}

static void
test_keyfile(void)
{
	/* 32 bytes "0123...": base64 MDEy..., its MD5 in base64. */
	static const char raw[] = "0123456789abcdef0123456789abcdef";
	static const char *b64 = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
	struct config cfg;
	struct sse sse;
	char hex[65 + 1], *path;
	size_t i;

	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", (unsigned char)raw[i]);
	hex[64] = '\n';
	hex[65] = '\0';
	config_init(&cfg);
	memset(&sse, 0, sizeof(sse));
	sse.cfg = &cfg;

	cfg.sse_c_key_file = keyfile("raw", raw, 32);
	ok(sse_load(&sse) == 0 && strcmp(sse.ssec_key, b64) == 0,
	    "32 raw bytes: the key, base64");
	ok(sse.ssec_md5 != NULL && strlen(sse.ssec_md5) == 24,
	    "...and its MD5, base64");
	sse_free(&sse);
	ok(sse.ssec_key == NULL, "sse_free clears it");
	free(cfg.sse_c_key_file);

	cfg.sse_c_key_file = keyfile("hex", hex, 65);
	ok(sse_load(&sse) == 0 && strcmp(sse.ssec_key, b64) == 0,
	    "64 hex digits and a newline: the same key");
	sse_free(&sse);
	free(cfg.sse_c_key_file);

	path = xasprintf("%s\n", b64);
	cfg.sse_c_key_file = keyfile("b64", path, strlen(path));
	free(path);
	ok(sse_load(&sse) == 0 && strcmp(sse.ssec_key, b64) == 0,
	    "44 base64 characters and a newline: the same key");
	sse_free(&sse);
	free(cfg.sse_c_key_file);

	cfg.sse_c_key_file = keyfile("short", raw, 31);
	ok(sse_load(&sse) == -1 && sse.ssec_key == NULL, "31 bytes: refused");
	free(cfg.sse_c_key_file);
	cfg.sse_c_key_file = keyfile("long", raw, 33);
	ok(sse_load(&sse) == -1, "33 bytes: refused");
	free(cfg.sse_c_key_file);
	hex[10] = 'g';
	cfg.sse_c_key_file = keyfile("badhex", hex, 65);
	ok(sse_load(&sse) == -1, "64 characters that are not hex: refused");
	free(cfg.sse_c_key_file);
	cfg.sse_c_key_file = xasprintf("%s/missing", tmpdir);
	ok(sse_load(&sse) == -1, "a missing file: refused");
	free(cfg.sse_c_key_file);
	cfg.sse_c_key_file = NULL;
	ok(sse_load(&sse) == 0 && sse.ssec_key == NULL, "no file: nothing");
	config_free(&cfg);
}

static void
test_headers(void)
{
	struct sigv4_kv hv[SSE_MAXHDR];
	struct config cfg;
	struct sse sse;
	size_t n;

	config_init(&cfg);
	memset(&sse, 0, sizeof(sse));
	sse.cfg = &cfg;
	ok(headers(&sse, "PUT", "k", NULL, hv) == 0, "no settings: no header");

	cfg.sse = xstrdup("aws:kms");
	cfg.sse_kms_key_id = xstrdup("alias/k");
	cfg.acl = xstrdup("bucket-owner-full-control");
	cfg.request_payer = 1;
	sse.ssec_key = xstrdup("KEY");
	sse.ssec_md5 = xstrdup("MD5");

	n = headers(&sse, "PUT", "k", NULL, hv);
	ok(n == 7, "PutObject: all seven (%zu)", n);
	is_str(value_of(hv, n, "x-amz-server-side-encryption"), "aws:kms",
	    "PutObject: SSE");
	is_str(value_of(hv, n, "x-amz-server-side-encryption-aws-kms-key-id"),
	    "alias/k", "PutObject: the KMS key");
	is_str(value_of(hv, n, "x-amz-acl"), "bucket-owner-full-control",
	    "PutObject: the ACL");
	is_str(value_of(hv, n,
	    "x-amz-server-side-encryption-customer-key"), "KEY",
	    "PutObject: the SSE-C key");
	is_str(value_of(hv, n,
	    "x-amz-server-side-encryption-customer-key-md5"), "MD5",
	    "PutObject: its MD5");
	is_str(value_of(hv, n, "x-amz-request-payer"), "requester",
	    "PutObject: requester pays");

	n = headers(&sse, "POST", "k", "uploads", hv);
	ok(n == 7 && value_of(hv, n, "x-amz-acl") != NULL,
	    "CreateMultipartUpload: all seven");
	n = headers(&sse, "PUT", "k", "partNumber", hv);
	ok(n == 4 && value_of(hv, n, "x-amz-acl") == NULL &&
	    value_of(hv, n, "x-amz-server-side-encryption") == NULL &&
	    value_of(hv, n, "x-amz-server-side-encryption-customer-key"),
	    "UploadPart: SSE-C and requester pays only");
	n = headers(&sse, "GET", "k", NULL, hv);
	ok(n == 4 && value_of(hv, n,
	    "x-amz-server-side-encryption-customer-algorithm") != NULL,
	    "GetObject: SSE-C and requester pays");
	n = headers(&sse, "HEAD", "k", NULL, hv);
	ok(n == 4, "HeadObject: SSE-C and requester pays");
	n = headers(&sse, "POST", "k", "uploadId", hv);
	ok(n == 1 && value_of(hv, n, "x-amz-request-payer") != NULL,
	    "CompleteMultipartUpload: requester pays only");
	n = headers(&sse, "PUT", "k", "tagging", hv);
	ok(n == 1, "PutObjectTagging: requester pays only");
	n = headers(&sse, "GET", NULL, "list-type", hv);
	ok(n == 1 && value_of(hv, n, "x-amz-request-payer") != NULL,
	    "ListObjectsV2: requester pays only");
	n = headers(&sse, "DELETE", "k", "uploadId", hv);
	ok(n == 1, "AbortMultipartUpload: requester pays only");
	cfg.request_payer = 0;
	n = headers(&sse, "GET", NULL, "list-type", hv);
	ok(n == 0, "without --request-payer: nothing on a listing");
	sse_free(&sse);
	config_free(&cfg);
}

/*
 * --lock-days: the two Object Lock headers on PutObject and
 * CreateMultipartUpload only (S3 refuses them elsewhere, or ignores
 * them: UploadPart, Complete, tagging, retention, bucket requests).
 */
static void
test_lock_headers(void)
{
	static const struct { const char *method, *key, *q; int want; } t[] = {
		{ "PUT", "k", NULL, 1 },		/* PutObject */
		{ "POST", "k", "uploads", 1 },		/* CreateMultipartUpload */
		{ "PUT", "k", "partNumber", 0 },	/* UploadPart */
		{ "POST", "k", "uploadId", 0 },		/* Complete */
		{ "PUT", "k", "tagging", 0 },		/* PutObjectTagging */
		{ "PUT", "k", "retention", 0 },		/* PutObjectRetention */
		{ "GET", "k", NULL, 0 },		/* GetObject */
		{ "HEAD", "k", NULL, 0 },		/* HeadObject */
		{ "PUT", NULL, NULL, 0 },		/* CreateBucket */
		{ "PUT", NULL, "lifecycle", 0 },	/* PutBucketLifecycle */
		{ "PUT", NULL, "versioning", 0 },	/* PutBucketVersioning */
	};
	struct sigv4_kv hv[SSE_MAXHDR];
	struct config cfg;
	struct sse sse;
	const char *mode, *until;
	size_t i, n;

	config_init(&cfg);
	memset(&sse, 0, sizeof(sse));
	sse.cfg = &cfg;
	cfg.lock_days = 1;
	cfg.lock_mode = xstrdup("COMPLIANCE");
	cfg.lock_until = 1796327445;		/* 2026-12-03T19:50:45Z */
	ok(sse_load(&sse) == 0, "sse_load with --lock-days");
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		n = headers(&sse, t[i].method, t[i].key, t[i].q, hv);
		mode = value_of(hv, n, "x-amz-object-lock-mode");
		until = value_of(hv, n, "x-amz-object-lock-retain-until-date");
		if (t[i].want)
			ok(n == 2 && mode != NULL && until != NULL &&
			    strcmp(mode, "COMPLIANCE") == 0 &&
			    strcmp(until, "2026-12-03T19:50:45Z") == 0,
			    "%s %s?%s: the lock mode and date", t[i].method,
			    t[i].key, t[i].q != NULL ? t[i].q : "");
		else
			ok(n == 0, "%s %s?%s: no lock header", t[i].method,
			    t[i].key != NULL ? t[i].key : "(bucket)",
			    t[i].q != NULL ? t[i].q : "");
	}
	cfg.lock_days = 0;
	ok(sse_load(&sse) == 0 && headers(&sse, "PUT", "k", NULL, hv) == 0,
	    "without --lock-days: none");
	sse_free(&sse);
	config_free(&cfg);
}

/* sse_check on a config with these settings. */
static int
check(const char *sse, const char *kms, const char *ssec, const char *acl)
{
	struct config cfg;
	int rc;

	config_init(&cfg);
	cfg.sse = sse != NULL ? xstrdup(sse) : NULL;
	cfg.sse_kms_key_id = kms != NULL ? xstrdup(kms) : NULL;
	cfg.sse_c_key_file = ssec != NULL ? xstrdup(ssec) : NULL;
	cfg.acl = acl != NULL ? xstrdup(acl) : NULL;
	rc = sse_check(&cfg);
	config_free(&cfg);
	return rc;
}

static void
test_check(void)
{
	ok(check(NULL, NULL, NULL, NULL) == 0, "nothing set: fine");
	ok(check("AES256", NULL, NULL, NULL) == 0, "--sse AES256");
	ok(check("aws:kms", "k", NULL, NULL) == 0, "--sse aws:kms with a key");
	ok(check("aws:kms:dsse", NULL, NULL, NULL) == 0, "aws:kms:dsse");
	ok(check("aes256", NULL, NULL, NULL) == -1, "values are exact");
	ok(check(NULL, "k", NULL, NULL) == -1, "a KMS key without aws:kms");
	ok(check("AES256", "k", NULL, NULL) == -1, "a KMS key with AES256");
	ok(check("AES256", NULL, "f", NULL) == -1, "--sse with SSE-C");
	ok(check(NULL, NULL, NULL, "bucket-owner-full-control") == 0,
	    "a canned ACL");
	ok(check(NULL, NULL, NULL, "log-delivery-write") == -1,
	    "a bucket-only ACL is refused for objects");
}

static void
test_plain_retry(void)
{
	struct sigv4_kv hv[SSE_MAXHDR];
	struct config cfg;
	struct sse sse;
	struct s3_call *c;

	config_init(&cfg);
	memset(&sse, 0, sizeof(sse));
	sse.cfg = &cfg;
	c = s3_call_new("GET", "bkt", "k");
	c->status = 400;
	ok(!sse_c_plain_retry(&sse, c), "no SSE-C key: no second try");
	sse.ssec_key = xstrdup("KEY");
	sse.ssec_md5 = xstrdup("MD5");
	ok(sse_c_plain_retry(&sse, c) && c->ssec_off, "a GET with the key "
	    "answered 400: once more without it");
	ok(sse_headers(&sse, c, hv) == 0, "...and that try has no SSE-C "
	    "header");
	ok(!sse_c_plain_retry(&sse, c), "only once");
	s3_call_free(c);
	c = s3_call_new("GET", "bkt", "k");
	c->status = 403;
	ok(!sse_c_plain_retry(&sse, c), "403: no second try");
	s3_call_free(c);
	c = s3_call_new("PUT", "bkt", "k");
	c->status = 400;
	ok(!sse_c_plain_retry(&sse, c), "a PUT: no second try");
	s3_call_free(c);
	sse_free(&sse);
	config_free(&cfg);
}

static void
test_answers(void)
{
	struct config cfg;
	struct s3_call c;

	memset(&c, 0, sizeof(c));
	ok(sse_etag_is_md5(&c), "a plain answer: the ETag may be the MD5");
	c.sse = (char *)"AES256";
	ok(sse_etag_is_md5(&c), "SSE-S3: the ETag is still the MD5");
	c.sse = (char *)"aws:kms";
	ok(!sse_etag_is_md5(&c), "SSE-KMS: no MD5");
	c.sse = (char *)"aws:kms:dsse";
	ok(!sse_etag_is_md5(&c), "DSSE-KMS: no MD5");
	c.sse = NULL;
	c.sse_customer = (char *)"AES256";
	ok(!sse_etag_is_md5(&c), "SSE-C: no MD5");

	config_init(&cfg);
	memset(&c, 0, sizeof(c));
	c.method = "GET";
	c.status = 400;
	c.err.code = (char *)"InvalidRequest";
	ok(sse_c_hint(&cfg, &c) != NULL &&
	    strstr(sse_c_hint(&cfg, &c), "--sse-c-key-file") != NULL,
	    "AWS, no key: say --sse-c-key-file");
	c.err.code = (char *)"InvalidArgument";
	ok(sse_c_hint(&cfg, &c) != NULL, "Ceph, no key: the same");
	c.status = 403;
	c.err.code = (char *)"AccessDenied";
	ok(sse_c_hint(&cfg, &c) == NULL,
	    "without a key, 403 is only access denied");
	cfg.sse_c_key_file = xstrdup("k");
	ok(sse_c_hint(&cfg, &c) != NULL &&
	    strstr(sse_c_hint(&cfg, &c), "another SSE-C key") != NULL,
	    "AWS, another key (403): say so");
	c.status = 400;
	c.err.code = (char *)"InvalidArgument";
	ok(sse_c_hint(&cfg, &c) != NULL, "Ceph, another key (400): say so");
	c.status = 404;
	c.err.code = (char *)"NoSuchKey";
	ok(sse_c_hint(&cfg, &c) == NULL, "404: nothing to do with SSE-C");
	c.method = "HEAD";
	c.status = 400;
	c.err.code = NULL;
	ok(sse_c_hint(&cfg, &c) != NULL, "HEAD 400 (no body) with a key: "
	    "another key");
	free(cfg.sse_c_key_file);
	cfg.sse_c_key_file = NULL;
	ok(sse_c_hint(&cfg, &c) != NULL, "HEAD 400 (no body) without a key: "
	    "stored with SSE-C");
	c.method = "GET";
	ok(sse_c_hint(&cfg, &c) == NULL, "a GET 400 without a code: no "
	    "guess");
	c.curl_code = 7;
	c.method = "HEAD";
	ok(sse_c_hint(&cfg, &c) == NULL, "no answer at all: nothing");
	config_free(&cfg);
}

int
main(void)
{
	const char *t;

	t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_sse.XXXXXX",
	    t != NULL && t[0] != '\0' ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror(tmpdir);
		return 99;
	}
	test_keyfile();
	test_headers();
	test_lock_headers();
	test_check();
	test_answers();
	test_plain_retry();
	ok(tap_rmtree(tmpdir) == 0, "temporary directory removed");
	return tap_done();
}
