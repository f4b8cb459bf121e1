/*
 * Claiming a generated bucket: CreateBucket answers 200 to every run
 * that races for one name (AWS us-east-1 and Ceph RGW, for a bucket of
 * ours), so the run that created it also writes .p3backup/claim with
 * If-None-Match: *, which only one writer wins.
 */
#include "config.h"

#include <sys/random.h>

#include <err.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "extern.h"
#include "s3.h"
#include "history.h"

/*
 * Whether .p3backup/claim of "bucket" (its version "version_id", or the
 * current one when NULL) holds "body": ours.
 */
static int
claim_is_ours(struct s3 *s3, const char *bucket, const char *version_id,
    const char *body)
{
	struct s3_call *c;
	int ours;

	c = s3_call_new("GET", bucket, RESERVED_PREFIX "claim");
	if (version_id != NULL)
		s3_call_query(c, "versionId", version_id);
	ours = s3_exec(s3, c) == 0 && c->resp.len == strlen(body) &&
	    memcmp(c->resp.data, body, c->resp.len) == 0;
	s3_call_free(c);
	return ours;
}

/* The versions of .p3backup/claim, oldest last (as S3 lists them). */
struct claim_versions {
	size_t	 n;
	char	*oldest;	/* version id */
};

static int
claim_version(void *arg, const struct versions_entry *v)
{
	struct claim_versions *cv = arg;

	if (v->delete_marker || v->keylen != strlen(RESERVED_PREFIX "claim") ||
	    memcmp(v->key, RESERVED_PREFIX "claim", v->keylen) != 0)
		return 0;
	cv->n++;
	free(cv->oldest);
	cv->oldest = xstrdup(v->version_id);
	return 0;
}

/*
 * Once versioning is on, a racing run's conditional PUT may go through
 * as a new version (Ceph RGW 16 ignores If-None-Match on a versioned
 * bucket), so the claim is the oldest version of .p3backup/claim: the
 * winner's was written before versioning, which only the winner turns
 * on.  Returns 1 when it is ours (or the versions cannot be listed:
 * said with -v), 0 when another run's is older.
 */
static int
claim_oldest_is_ours(struct s3 *s3, const char *bucket, const char *body)
{
	struct claim_versions cv = { 0, NULL };
	int ours = 1;

	if (versions_list(s3, bucket, RESERVED_PREFIX "claim", claim_version,
	    &cv) == -1)
		logmsg(1, "bucket %s: its claim's versions cannot be listed",
		    bucket);
	else if (cv.n > 1)
		ours = claim_is_ours(s3, bucket, cv.oldest, body);
	free(cv.oldest);
	return ours;
}

/*
 * Claim a bucket this run created for a generated name: PUT
 * .p3backup/claim (a body unique to this run) with If-None-Match: *
 * (asked again on 409, up to 4 times; a 412 for a claim holding this
 * run's own body, whose answer was lost, is ours).  Returns 0 when
 * claimed, 1 when another run claimed it, -1 after reporting.  A server
 * without conditional writes (501, said with -v), or one that ignores
 * the header, lets every run win.  With "versioning", the winner then
 * turns versioning on (versioning_enable) and checks that its claim is
 * still the oldest.
 */
int
claim_bucket(struct s3 *s3, const char *bucket, int versioning)
{
	struct s3_call *c = NULL;
	unsigned char nonce[8];
	char *body, *msg, hex[17];
	int rc = -1, tries;

	/* Unique to this run, so that a 412 after a lost answer is ours. */
	if (getrandom(nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce))
		memset(nonce, 0, sizeof(nonce));
	hex_encode(nonce, sizeof(nonce), hex);
	body = xasprintf("p3backup %s, pid %ld, %lld, %s\n", PACKAGE_VERSION,
	    (long)getpid(), (long long)time(NULL), hex);
	/* AWS answers a write racing another with 409: ask again. */
	for (tries = 0; tries < 4; tries++) {
		s3_call_free(c);
		c = s3_call_new("PUT", bucket, RESERVED_PREFIX "claim");
		s3_call_body(c, body, strlen(body), "text/plain");
		/* Written once: the second writer gets 412. */
		s3_call_header(c, "If-None-Match", "*");
		if (s3_exec(s3, c) == 0 || c->status != 409)
			break;
	}
	if (c->ok)
		rc = 0;
	else if (c->status == 412)
		rc = claim_is_ours(s3, bucket, NULL, body) ? 0 : 1;
	else if (c->status == 501) {
		/* No conditional writes here: as if the condition held. */
		logmsg(1, "bucket %s: the server cannot claim it (HTTP 501)",
		    bucket);
		rc = 0;
	} else {
		msg = s3_call_errstr(c);
		warnx("bucket %s: cannot claim it: %s", bucket, msg);
		free(msg);
	}
	if (rc == 0 && versioning) {
		switch (versioning_enable(s3, bucket)) {
		case -1:
			rc = -1;
			break;
		case 1:
			rc = claim_oldest_is_ours(s3, bucket, body) ? 0 : 1;
			break;
		}
	}
	free(body);
	s3_call_free(c);
	return rc;
}
