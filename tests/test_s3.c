/*
 * Unit tests for the S3 request layer that need no server: addressing
 * (which Host a call signs), error classification and messages, the
 * retry backoff, and the bucket-name rules.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "extern.h"
#include "s3.h"
#include "tap.h"

/* The value of header "name" in the call's prepared header list. */
static const char *
header_of(const struct s3_call *c, const char *name)
{
	const struct curl_slist *l;
	size_t n = strlen(name);

	for (l = s3_call_sent_headers(c); l != NULL; l = l->next)
		if (strncasecmp(l->data, name, n) == 0 && l->data[n] == ':')
			return l->data + n + 2;
	return NULL;
}

static void
check_host(const char *endpoint, int path_style, const char *region,
    const char *bucket, const char *want)
{
	struct config cfg;
	struct s3 *s3;
	struct s3_call *c;
	CURL *easy;

	config_init(&cfg);
	cfg.endpoint = endpoint != NULL ? xstrdup(endpoint) : NULL;
	cfg.path_style = path_style;
	cfg.region = xstrdup(region);
	cfg.creds.access_key = xstrdup("AKIDEXAMPLE");
	cfg.creds.secret_key = xstrdup("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
	if ((s3 = s3_new(&cfg)) == NULL) {
		ok(0, "s3_new for %s", endpoint ? endpoint : "AWS");
		config_free(&cfg);
		return;
	}
	easy = curl_easy_init();
	c = s3_call_new("GET", bucket, "k");
	ok(s3_call_prepare(s3, c, easy) == 0, "prepare %s", want);
	is_str(header_of(c, "host"), want, "host for bucket %s via %s%s",
	    bucket, endpoint ? endpoint : "AWS", path_style ? " (path)" : "");
	ok(header_of(c, "Authorization") != NULL &&
	    strstr(header_of(c, "Authorization"), "SignedHeaders=host;"
	    "x-amz-content-sha256;x-amz-date") != NULL,
	    "signed headers listed");
	ok(strstr(header_of(c, "Authorization"), region) != NULL,
	    "credential scope names region %s", region);
	s3_call_free(c);
	curl_easy_cleanup(easy);
	s3_free(s3);
	config_free(&cfg);
}

static void
check_error(long status, const char *code, int fatal, const char *want)
{
	struct s3_call *c;
	char *msg;

	c = s3_call_new("GET", "b", "k");
	c->status = status;
	if (code != NULL)
		c->err.code = xstrdup(code);
	c->err.message = xstrdup("server text");
	msg = s3_call_errstr(c);
	ok(strstr(msg, want) != NULL, "message for %ld %s: %s", status,
	    code ? code : "-", msg);
	ok(s3_call_fatal(c) == fatal, "%s is %sfatal", code ? code : "status",
	    fatal ? "" : "not ");
	free(msg);
	s3_call_free(c);
}

int
main(void)
{
	struct s3_call *c;
	uint64_t d;
	char name[BUCKET_DEFAULT_LEN], base[BUCKET_DEFAULT_LEN];
	int i, inrange;

	curl_global_init(CURL_GLOBAL_DEFAULT);

	check_host(NULL, 0, "eu-west-1", "mybucket",
	    "mybucket.s3.eu-west-1.amazonaws.com");
	check_host(NULL, 1, "eu-west-1", "mybucket",
	    "s3.eu-west-1.amazonaws.com");
	check_host(NULL, 0, "us-east-1", "my.dotted.bucket",
	    "s3.us-east-1.amazonaws.com");
	check_host("http://127.0.0.1:9000", 1, "us-east-1", "b1x",
	    "127.0.0.1:9000");
	check_host("https://minio.example.com", 0, "us-east-1", "b1x",
	    "b1x.minio.example.com");

	/* Response headers the engine hands us. */
	c = s3_call_new("HEAD", "b", "k");
	s3_call_header_line(c, "ETag: \"d41d8cd98f00b204e9800998ecf8427e\"\r\n",
	    42);
	s3_call_header_line(c, "x-amz-meta-mtime: 1700000000.5\r\n", 32);
	s3_call_header_line(c, "Content-Length: 1234\r\n", 22);
	s3_call_header_line(c, "X-Amz-Bucket-Region: eu-central-1\r\n", 35);
	is_str(c->etag, "d41d8cd98f00b204e9800998ecf8427e", "ETag unquoted");
	is_str(c->meta_mtime, "1700000000.5", "x-amz-meta-mtime kept");
	ok(c->content_length == 1234, "content length parsed");
	is_str(c->bucket_region, "eu-central-1", "bucket region, any case");
	s3_call_free(c);

	check_error(403, "SignatureDoesNotMatch", 1,
	    "signature does not match: check your secret key");
	check_error(403, "InvalidAccessKeyId", 1, "check your access key");
	check_error(403, "RequestTimeTooSkewed", 1, "fix the system time");
	check_error(400, "ExpiredToken", 1, "session token has expired");
	check_error(404, "NoSuchBucket", 1, "bucket does not exist");
	check_error(400, "BadDigest", 0, "HTTP 400 BadDigest: server text");
	check_error(403, "AccessDenied", 0, "access denied");
	check_error(503, "SlowDown", 1, "HTTP 503 SlowDown");

	/* Backoff grows, is bounded, and keeps at least half its step. */
	inrange = 1;
	for (i = 0; i < 200; i++) {
		d = xfer_backoff_ms(1);
		inrange &= d >= 100 && d <= 200;
	}
	ok(inrange, "first retry waits 100-200 ms");
	inrange = 1;
	for (i = 0; i < 200; i++) {
		d = xfer_backoff_ms(4);
		inrange &= d >= 800 && d <= 1600;
	}
	ok(inrange, "fourth retry waits 800-1600 ms");
	inrange = 1;
	for (i = 0; i < 200; i++)
		inrange &= xfer_backoff_ms(30) <= 20000;
	ok(inrange, "backoff is capped at 20 s");

	/* Bucket names. */
	ok(bucket_check("my-bucket.1") == NULL, "valid name accepted");
	ok(bucket_check("ab") != NULL, "2 characters refused");
	ok(bucket_check("a23456789012345678901234567890123456789012345678901234567890123") == NULL,
	    "63 characters accepted");
	ok(bucket_check("a234567890123456789012345678901234567890123456789012345678901234") != NULL,
	    "64 characters refused");
	ok(bucket_check("MyBucket") != NULL, "upper case refused");
	ok(bucket_check("my_bucket") != NULL, "underscore refused");
	ok(bucket_check("-bucket") != NULL, "leading hyphen refused");
	ok(bucket_check("bucket-") != NULL, "trailing hyphen refused");
	ok(bucket_check("my..bucket") != NULL, "adjacent periods refused");
	ok(bucket_check("192.168.5.4") != NULL, "IP address refused");
	ok(bucket_check("xn--bucket") != NULL, "xn-- prefix refused");
	ok(bucket_check("bucket-s3alias") != NULL, "-s3alias suffix refused");
	bucket_default_name(0, name);
	ok(strlen(name) == 24 && strncmp(name, "p3backup-", 9) == 0,
	    "generated name %s", name);
	ok(bucket_check(name) == NULL, "generated name is valid");
	memcpy(base, name, sizeof(base));
	bucket_default_next(base, 1, name);
	is_str(name, base, "the first candidate is the name itself");
	bucket_default_next(base, 2, name);
	ok(strlen(name) == 26 && strcmp(name + 24, "-2") == 0 &&
	    strncmp(name, base, 24) == 0, "the second: %s", name);
	ok(bucket_check(name) == NULL, "...a valid bucket name");
	bucket_default_next(base, 99, name);
	ok(strcmp(name + 24, "-99") == 0 && bucket_check(name) == NULL,
	    "the last: %s", name);

	curl_global_cleanup();
	return tap_done();
}
