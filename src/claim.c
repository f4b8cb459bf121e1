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

/* Whether .p3backup/claim of "bucket" holds "body": ours after all. */
static int
claim_is_ours(struct s3 *s3, const char *bucket, const char *body)
{
	struct s3_call *c;
	int ours;

	c = s3_call_new("GET", bucket, RESERVED_PREFIX "claim");
	ours = s3_exec(s3, c) == 0 && c->resp.len == strlen(body) &&
	    memcmp(c->resp.data, body, c->resp.len) == 0;
	s3_call_free(c);
	return ours;
}

/*
 * Claim a bucket this run created for a generated name: PUT
 * .p3backup/claim (a body unique to this run) with If-None-Match: *
 * (asked again on 409, up to 4 times; a 412 for a claim holding this
 * run's own body, whose answer was lost, is ours).  Returns 0 when
 * claimed, 1 when another run claimed it, -1 after reporting.  A server
 * without conditional writes (501, said with -v), or one that ignores
 * the header, lets every run win.
 */
int
claim_bucket(struct s3 *s3, const char *bucket)
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
		rc = claim_is_ours(s3, bucket, body) ? 0 : 1;
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
	free(body);
	s3_call_free(c);
	return rc;
}
