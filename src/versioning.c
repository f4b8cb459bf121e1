/*
 * The bucket's versioning, which makes the backup a history: a changed
 * or deleted file keeps its old copy as a noncurrent version.  A bucket
 * p3backup creates gets versioning (unless --no-versioning), and every
 * backup of an existing bucket asks for its state once
 * (GetBucketVersioning) and says in one line when old copies are lost.
 * Neither request ever stops a backup: a server without versioning
 * (s3rver, stores that answer NotImplemented) gets the warning.
 */
#include "config.h"

#include <err.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "s3.h"
#include "history.h"

/*
 * The state a GetBucketVersioning answer "doc" ("len" bytes) gives: a
 * <VersioningConfiguration> with <Status>Enabled or Suspended, without
 * a <Status> (never enabled) VERSIONING_OFF; anything else (another
 * document, another status, malformed XML) VERSIONING_UNKNOWN.  Pure.
 */
int
versioning_parse(const char *doc, size_t len)
{
	struct buf status;
	int state;

	memset(&status, 0, sizeof(status));
	switch (xml_root_field(doc, len, "VersioningConfiguration", "Status",
	    &status)) {
	case 0:
		state = VERSIONING_OFF;
		break;
	case 1:
		state = strcmp(status.data, "Enabled") == 0 ?
		    VERSIONING_ENABLED : strcmp(status.data, "Suspended") == 0 ?
		    VERSIONING_SUSPENDED : VERSIONING_UNKNOWN;
		break;
	default:
		state = VERSIONING_UNKNOWN;
		break;
	}
	buf_free(&status);
	return state;
}

/*
 * Why a versioning request that failed without stopping the run
 * failed, short: "HTTP 501 NotImplemented" (caller frees).  The hints
 * of s3_call_errstr would mislead here: s3rver, for one, takes a PUT
 * ?versioning for a CreateBucket and answers BucketAlreadyExists.
 */
static char *
versioning_why(const struct s3_call *c)
{
	if (c->status == 0)
		return s3_call_errstr(c);
	if (c->err.code != NULL)
		return xasprintf("HTTP %ld %s", c->status, c->err.code);
	return xasprintf("HTTP %ld", c->status);
}

/*
 * Whether the failure of versioning request "c" means no request can
 * succeed.  Not a 501 NotImplemented (a store without versioning),
 * which s3_call_fatal counts with the 5xx, nor an AccessDenied (a key
 * allowed objects, not the bucket's settings): the backup goes on.
 */
static int
versioning_fatal(const struct s3_call *c)
{
	return c->status != 501 && c->status != 403 && s3_call_fatal(c);
}

/*
 * Say once that "bucket" keeps no old copies, and why ("why": the
 * state or the server's answer).
 */
static void
versioning_warn(const char *bucket, const char *why)
{
	warnx("bucket %s: %s: a changed or deleted file replaces its only "
	    "copy (turn versioning on, e.g. aws s3api put-bucket-versioning "
	    "--bucket %s --versioning-configuration Status=Enabled; "
	    "--no-versioning accepts this)", bucket, why, bucket);
}

/*
 * Turn versioning on for "bucket", which this run created
 * (PutBucketVersioning).  A refusal is said in one line; the backup
 * goes on.  Returns 1 when it is on, 0 when not (said), or -1 when the
 * failure means no request can succeed (reported).
 */
int
versioning_enable(struct s3 *s3, const char *bucket)
{
	static const char body[] = "<VersioningConfiguration xmlns=\""
	    S3_XMLNS "\"><Status>Enabled</Status></VersioningConfiguration>";
	struct s3_call *c;
	char *msg, *why;
	int rc = 0;

	c = s3_call_new("PUT", bucket, NULL);
	s3_call_query(c, "versioning", "");
	s3_call_body(c, body, strlen(body), "application/xml");
	if (s3_exec(s3, c) == 0) {
		logmsg(1, "bucket %s: versioning Enabled", bucket);
		rc = 1;
	} else if (versioning_fatal(c)) {
		msg = s3_call_errstr(c);
		warnx("bucket %s: cannot turn versioning on: %s", bucket, msg);
		free(msg);
		rc = -1;
	} else {
		msg = versioning_why(c);
		why = xasprintf("cannot turn versioning on (%s)", msg);
		versioning_warn(bucket, why);
		free(why);
		free(msg);
	}
	s3_call_free(c);
	return rc;
}

/*
 * Ask for the versioning state of "bucket" (GetBucketVersioning) and
 * say in one line when it is not Enabled: off, suspended, or a server
 * that answers something else (no versioning there).  Returns the
 * state (enum VERSIONING), or -1 when the failure means no request can
 * succeed (reported).
 */
int
versioning_check(struct s3 *s3, const char *bucket)
{
	struct s3_call *c;
	char *msg, *why;
	int state = VERSIONING_UNKNOWN;

	c = s3_call_new("GET", bucket, NULL);
	s3_call_query(c, "versioning", "");
	if (s3_exec(s3, c) == 0)
		state = versioning_parse(c->resp.data, c->resp.len);
	else if (versioning_fatal(c)) {
		msg = s3_call_errstr(c);
		warnx("bucket %s: versioning: %s", bucket, msg);
		free(msg);
		state = -1;
		goto out;
	}
	switch (state) {
	case VERSIONING_ENABLED:
		logmsg(1, "bucket %s: versioning Enabled", bucket);
		break;
	case VERSIONING_SUSPENDED:
		versioning_warn(bucket, "versioning is suspended");
		break;
	case VERSIONING_OFF:
		versioning_warn(bucket, "versioning is off");
		break;
	default:
		if (c->ok)
			why = xstrdup("the server does not report versioning");
		else {
			msg = versioning_why(c);
			why = xasprintf("no versioning state (%s)", msg);
			free(msg);
		}
		versioning_warn(bucket, why);
		free(why);
		break;
	}
out:
	s3_call_free(c);
	return state;
}
