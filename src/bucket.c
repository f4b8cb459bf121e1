/*
 * Buckets: the generated default name and the checks S3 applies to
 * names, done locally so a bad name fails before any request is sent
 * (rules from the AWS S3 User Guide, "General purpose bucket naming
 * rules"), and the HeadBucket and CreateBucket requests.
 */
#include "config.h"

#include <ctype.h>
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "extern.h"
#include "s3.h"

/*
 * Check "name" against S3's bucket naming rules (length, characters,
 * adjacent periods, ends, IP-address form, reserved prefixes and
 * suffixes).  Returns NULL when it is valid, else the rule it breaks (a
 * static string).
 */
const char *
bucket_check(const char *name)
{
	static const char *bad_prefix[] = { "xn--", "sthree-", "amzn-s3-demo-" };
	static const char *bad_suffix[] = { "-s3alias", "--ol-s3", ".mrap",
	    "--x-s3", "--table-s3" };
	size_t len, i, n;
	int dots = 0, digits_only = 1;
	const char *p;

	len = strlen(name);
	if (len < 3 || len > 63)
		return "must be 3 to 63 characters long";
	for (p = name; *p != '\0'; p++) {
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) ||
		    *p == '.' || *p == '-'))
			return "may contain only lower-case letters, digits, "
			    "'.' and '-'";
		if (*p == '.') {
			dots++;
			if (p[1] == '.')
				return "must not contain two adjacent periods";
		} else if (!isdigit((unsigned char)*p))
			digits_only = 0;
	}
	if (!isalnum((unsigned char)name[0]) ||
	    !isalnum((unsigned char)name[len - 1]))
		return "must begin and end with a letter or digit";
	if (dots == 3 && digits_only)
		return "must not be formatted as an IP address";
	for (i = 0; i < sizeof(bad_prefix) / sizeof(bad_prefix[0]); i++)
		if (strncmp(name, bad_prefix[i], strlen(bad_prefix[i])) == 0)
			return "must not start with a prefix S3 reserves "
			    "(xn--, sthree-, amzn-s3-demo-)";
	for (i = 0; i < sizeof(bad_suffix) / sizeof(bad_suffix[0]); i++) {
		n = strlen(bad_suffix[i]);
		if (len >= n && strcmp(name + len - n, bad_suffix[i]) == 0)
			return "must not end with a suffix S3 reserves "
			    "(-s3alias, --ol-s3, .mrap, --x-s3, --table-s3)";
	}
	return NULL;
}

/*
 * The generated bucket name "p3backup-MM-DD-YY-HHMMSS" for local time "t",
 * into out.
 */
void
bucket_default_name(time_t t, char out[BUCKET_DEFAULT_LEN])
{
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(out, BUCKET_DEFAULT_LEN, "p3backup-%m-%d-%y-%H%M%S", &tm);
}

/*
 * The n-th candidate for a generated name into out: "base" itself for n
 * 1, else "base-N" (p3backup-12-03-26-085638-2) for N up to 99; "base"
 * itself again past 99.  "base" is cut to 24 characters.
 */
void
bucket_default_next(const char *base, int n, char out[BUCKET_DEFAULT_LEN])
{
	/* n is at most 99: 24 + 3 characters and the NUL always fit. */
	if (n <= 1 || n > 99)
		snprintf(out, BUCKET_DEFAULT_LEN, "%.24s", base);
	else
		snprintf(out, BUCKET_DEFAULT_LEN, "%.24s-%u", base,
		    (unsigned)n % 100);
}

/*
 * HeadBucket (when that gets 400 or 403 without a cause, a one-key
 * listing is asked instead, to learn it).  Returns 0 when the bucket
 * exists and is ours, 1 when it does not exist (not reported), -1 on any
 * other failure (reported; a bare 403 as belonging to another account or
 * wrong credentials).
 */
int
bucket_head(struct s3 *s3, const char *bucket)
{
	struct s3_call *c;
	char *msg = NULL;
	int rc = -1;

	c = s3_call_new("HEAD", bucket, NULL);
	if (s3_exec(s3, c) == 0) {
		rc = 0;
		goto out;
	}
	if (c->curl_code == CURLE_OK && c->status == 404) {
		rc = 1;
		goto out;
	}
	if (c->curl_code == CURLE_OK && c->err.code == NULL &&
	    (c->status == 400 || c->status == 403)) {
		/* A HEAD answer has no body: ask again to learn the cause. */
		s3_call_free(c);
		c = s3_call_new("GET", bucket, NULL);
		s3_call_query(c, "list-type", "2");
		s3_call_query(c, "max-keys", "1");
		if (s3_exec(s3, c) == 0) {
			rc = 0;
			goto out;
		}
	}
	msg = s3_call_errstr(c);
	if (c->curl_code == CURLE_OK && c->status == 403 && c->err.code == NULL)
		warnx("bucket %s: access denied (HTTP 403): it belongs to "
		    "another account, or the credentials are wrong", bucket);
	else
		warnx("bucket %s: %s", bucket, msg);
out:
	free(msg);
	s3_call_free(c);
	return rc;
}

/*
 * CreateBucket "bucket" (with a LocationConstraint outside us-east-1;
 * with Object Lock enabled under --lock-days).
 * Returns 0 when created, or already ours and "must_be_new" is 0; 1 when
 * it exists and "must_be_new" (BucketAlreadyOwnedByYou or
 * BucketAlreadyExists, without a message); -1 after reporting.
 */
int
bucket_create(struct s3 *s3, const char *bucket, int must_be_new)
{
	struct s3_call *c;
	char *body = NULL, *msg = NULL;
	int rc = -1;

	c = s3_call_new("PUT", bucket, NULL);
	/* us-east-1 is the default location and must not be named. */
	if (strcmp(s3_region(s3), "us-east-1") != 0) {
		body = xasprintf("<CreateBucketConfiguration xmlns=\""
		    S3_XMLNS "\">"
		    "<LocationConstraint>%s</LocationConstraint>"
		    "</CreateBucketConfiguration>", s3_region(s3));
		c->body = body;
		c->body_len = strlen(body);
	}
	/* --lock-days: Object Lock (and with it versioning) from the start. */
	if (s3_config(s3)->lock_days > 0)
		s3_call_header(c, "x-amz-bucket-object-lock-enabled", "true");
	if (s3_exec(s3, c) == 0) {
		rc = 0;
		goto out;
	}
	if (c->err.code != NULL &&
	    strcmp(c->err.code, "BucketAlreadyOwnedByYou") == 0) {
		rc = must_be_new;
		goto out;
	}
	if (must_be_new && c->err.code != NULL &&
	    strcmp(c->err.code, "BucketAlreadyExists") == 0) {
		rc = 1;
		goto out;
	}
	msg = s3_call_errstr(c);
	warnx("create bucket %s: %s", bucket, msg);
out:
	free(msg);
	free(body);
	s3_call_free(c);
	return rc;
}
