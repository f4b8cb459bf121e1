/*
 * S3 Object Lock (--lock-days N, --lock-mode): a history that the
 * backup host's own keys cannot erase.  Every version p3backup writes
 * carries a retention until the run's start plus N days (the headers
 * are sse.c's, on PutObject and CreateMultipartUpload alike).  This
 * file checks, before anything is written, that the bucket has Object
 * Lock (GetObjectLockConfiguration: a bucket without it would refuse
 * every PUT), and keeps the current version of an unchanged file locked:
 * when the index says its retention ends within N/2 days (or does not
 * say), PutObjectRetention moves it to the run's date.  Retention is
 * only ever extended: nothing here needs to bypass a lock.  A refused
 * extension (a version locked longer, or in COMPLIANCE mode, than this
 * run would) is asked about (GetObjectRetention) and counted done when
 * the version is locked at least as long.
 */
#include "config.h"

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "extern.h"
#include "s3.h"
#include "history.h"

/*
 * Whether a GetObjectLockConfiguration answer "doc" ("len" bytes) says
 * Object Lock is enabled: <ObjectLockConfiguration> with
 * <ObjectLockEnabled>Enabled.  Pure.
 */
int
lock_parse(const char *doc, size_t len)
{
	struct buf v;
	int on;

	memset(&v, 0, sizeof(v));
	on = xml_root_field(doc, len, "ObjectLockConfiguration",
	    "ObjectLockEnabled", &v) == 1 && strcmp(v.data, "Enabled") == 0;
	buf_free(&v);
	return on;
}

/*
 * --lock-days needs a bucket with Object Lock: ask "bucket" for its
 * configuration.  Returns 0 when it has it, -2 when it has not (one
 * line saying what to do: a usage error, nothing is written), -1 when
 * the request failed otherwise (reported).
 */
int
lock_check(struct s3 *s3, const char *bucket)
{
	struct s3_call *c;
	char *msg;
	int rc = -2;

	c = s3_call_new("GET", bucket, NULL);
	s3_call_query(c, "object-lock", "");
	if (s3_exec(s3, c) == 0 && lock_parse(c->resp.data, c->resp.len)) {
		logmsg(1, "bucket %s: Object Lock enabled", bucket);
		rc = 0;
	} else if (c->ok || c->status == 404 || c->status == 400 ||
	    c->status == 405 || c->status == 501) {
		/* 404 ObjectLockConfigurationNotFoundError; else no support. */
		msg = c->ok ? xstrdup("not enabled") : xasprintf("HTTP %ld%s%s",
		    c->status, c->err.code != NULL ? " " : "",
		    c->err.code != NULL ? c->err.code : "");
		warnx("bucket %s: no Object Lock (%s): --lock-days needs a "
		    "bucket created with Object Lock (p3backup creates new "
		    "buckets so); nothing written", bucket, msg);
		free(msg);
	} else {
		msg = s3_call_errstr(c);
		warnx("bucket %s: Object Lock: %s", bucket, msg);
		free(msg);
		rc = -1;
	}
	s3_call_free(c);
	return rc;
}

/* One pass of PutObjectRetention over the entries running short. */
struct lockrun {
	struct run	*run;
	struct entry	**v;
	size_t		 n;
	size_t		 next;
	char		*body;		/* the <Retention> document */
	char		 md5[32];	/* its Content-MD5 */
	size_t		 extended;
};

/*
 * The retain-until date a GetObjectRetention answer "doc" ("len" bytes)
 * gives, in seconds, or 0 when it gives none.  Pure.
 */
int64_t
lock_parse_retention(const char *doc, size_t len)
{
	struct buf v;
	int64_t sec = 0;

	memset(&v, 0, sizeof(v));
	if (xml_root_field(doc, len, "Retention", "RetainUntilDate",
	    &v) != 1 || lastmod_parse(v.data, &sec) == -1)
		sec = 0;
	buf_free(&v);
	return sec;
}

/* A refused extension, asked about with GetObjectRetention. */
struct lockask {
	struct lockrun	*lr;
	struct entry	*e;
	char		*why;		/* the refusal, for the message */
};

static void
lock_asked_done(struct s3_call *c, void *arg)
{
	struct lockask *la = arg;
	struct run *run = la->lr->run;
	int64_t until = 0;
	char *msg;

	if (c->ok)
		until = lock_parse_retention(c->resp.data, c->resp.len);
	if (until >= (int64_t)run->cfg->lock_until) {
		/* Locked as long or longer already: another mode or N. */
		entry_rmeta(la->e)->lock_until = until;
		la->lr->extended++;
	} else {
		msg = xasprintf("extending its lock failed: %s", la->why);
		report_error(run->rep, la->e->key, "%s", msg);
		run_failed(run, la->e, "lock", msg);
		free(msg);
	}
	free(la->why);
	free(la);
	s3_call_free(c);
}

static void
lock_extend_done(struct s3_call *c, void *arg)
{
	struct lockrun *lr = c->arg2;
	struct entry *e = arg;
	struct lockask *la;
	struct s3_call *ask;
	char *msg, *key;

	if (c->ok) {
		entry_rmeta(e)->lock_until = (int64_t)lr->run->cfg->lock_until;
		lr->extended++;
	} else if (c->status == 400 || c->status == 403) {
		/*
		 * A lock that would be shortened is refused: ask how long
		 * the version is locked before calling it a failure.
		 */
		la = xcalloc(1, sizeof(*la));
		la->lr = lr;
		la->e = e;
		la->why = s3_call_errstr(c);
		key = list_object_key(lr->run->cfg, e->key);
		ask = s3_call_new("GET", lr->run->bucket, key);
		free(key);
		s3_call_query(ask, "retention", "");
		ask->done = lock_asked_done;
		ask->arg = la;
		xfer_submit(s3_xfer(lr->run->s3), ask);
	} else {
		msg = run_call_failed(lr->run, e->key, c,
		    "extending its lock");
		run_failed(lr->run, e, "lock", msg);
		free(msg);
	}
	s3_call_free(c);
}

static int
lock_extend_feed(void *arg)
{
	struct lockrun *lr = arg;
	struct s3_call *c;
	struct entry *e;
	char *key;

	if (lr->next == lr->n || lr->run->fatal)
		return XFER_FEED_DONE;
	e = lr->v[lr->next++];
	key = list_object_key(lr->run->cfg, e->key);
	c = s3_call_new("PUT", lr->run->bucket, key);
	free(key);
	s3_call_query(c, "retention", "");
	c->body = lr->body;
	c->body_len = strlen(lr->body);
	s3_call_header(c, "content-md5", lr->md5);
	s3_call_header(c, "content-type", "application/xml");
	c->done = lock_extend_done;
	c->arg = e;
	c->arg2 = lr;
	xfer_submit(s3_xfer(lr->run->s3), c);
	return XFER_FEED_MORE;
}

/*
 * Whether the current version of remote entry "e" needs its retention
 * moved to "until": it ends before "soon", or is not known.
 */
static int
lock_short(const struct entry *e, time_t soon)
{
	return e->remote && (e->rx == NULL ||
	    e->rx->lock_until < (int64_t)soon);
}

/*
 * --lock-days: extend to cfg->lock_until the retention of every object
 * of "tbl" (the current versions) whose retention, as the index
 * recorded it, ends within half of --lock-days, or is not recorded.  A
 * version uploaded this run has the new date already.  A refusal fails
 * that file (the run ends with status 1).  Returns 0, or -1 when the
 * run cannot go on (reported).
 */
int
lock_extend(struct run *run, struct table *tbl)
{
	const struct config *cfg = run->cfg;
	struct lockrun lr;
	struct entry *e;
	char until[ISO_TIME_LEN];
	time_t soon;
	size_t ti;
	int rc;

	memset(&lr, 0, sizeof(lr));
	lr.run = run;
	run->fatal = 0;
	soon = time(NULL) + (time_t)cfg->lock_days * 86400 / 2;
	lr.v = xcalloc(tbl->n + 1, sizeof(*lr.v));
	TABLE_FOREACH(tbl, ti, e)
		if (lock_short(e, soon))
			lr.v[lr.n++] = e;
	if (lr.n == 0) {
		free(lr.v);
		return 0;
	}
	iso_time(cfg->lock_until, until);
	lr.body = xasprintf("<Retention xmlns=\"%s\"><Mode>%s</Mode>"
	    "<RetainUntilDate>%s</RetainUntilDate></Retention>", S3_XMLNS,
	    cfg->lock_mode, until);
	content_md5(lr.body, strlen(lr.body), lr.md5);
	logmsg(1, "lock: extending the retention of %zu object(s) to %s",
	    lr.n, until);
	xfer_set_feed(s3_xfer(run->s3), lock_extend_feed, &lr);
	rc = xfer_run(s3_xfer(run->s3)) == -1 || run->fatal ? -1 : 0;
	if (lr.extended > 0)
		logmsg(0, "lock: %zu object(s) locked until %s or later",
		    lr.extended, until);
	free(lr.body);
	free(lr.v);
	return rc;
}
