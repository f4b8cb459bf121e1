/*
 * The delete stage: objects whose local file is gone.  With --delete
 * they are removed with DeleteObjects, up to 1,000 keys a request, in
 * quiet mode so that the answer lists only the keys that failed; a key
 * that XML 1.0 cannot carry (a control byte) goes alone, with
 * DeleteObject.  With --tag-deleted each object gets PutObjectTagging
 * Deleted=True, DeletedAt=<the run's start, UTC> instead, for a
 * lifecycle rule to expire later.  Every request goes through the
 * transfer engine, several at once.
 */
#include "config.h"

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#include "extern.h"
#include "s3.h"

/* S3's limit of keys per DeleteObjects request. */
#define DELETE_BATCH	1000

/* One delete_run. */
struct delrun {
	struct run		*run;
	size_t			 next;		/* next action to look at */
	char			*tagging;	/* the PutObjectTagging body */
	char			 tagging_md5[32]; /* its Content-MD5 */
};

/* One request: its objects, and its body when it is DeleteObjects. */
struct delcall {
	struct delrun		*dr;
	enum ACT		 act;		/* ACT_DELETE or ACT_TAG */
	const char		*verb;		/* "delete" or "tag" */
	int			 multi;		/* DeleteObjects */
	struct {
		struct entry	*e;
		char		*key;		/* full object key */
		int		 failed;	/* named in an <Error> */
	}			*v;
	size_t			 n;
	struct buf		 body;
};

/*
 * Whether XML 1.0 can carry the key: no control byte but tab, newline
 * and carriage return, and neither U+FFFE nor U+FFFF (the key is UTF-8).
 */
static int
delete_xml_ok(const char *key)
{
	const unsigned char *p;

	for (p = (const unsigned char *)key; *p != '\0'; p++) {
		if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
			return 0;
		if (p[0] == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf))
			return 0;
	}
	return 1;
}

/*
 * Append "s" as XML character data.  Tab, newline and carriage return
 * go as references, which parsers keep as they are (a literal CR would
 * be read as a newline).
 */
static void
delete_xml_escape(struct buf *b, const char *s)
{
	static const char special[] = "&<>\"'\t\n\r";
	static const char *const ref[] = { "&amp;", "&lt;", "&gt;",
	    "&quot;", "&apos;", "&#9;", "&#10;", "&#13;" };
	size_t run;

	for (;;) {
		run = strcspn(s, special);
		buf_append(b, s, run);
		if (s[run] == '\0')
			break;
		s += run;
		run = strchr(special, *s++) - special;
		buf_append(b, ref[run], strlen(ref[run]));
	}
}

/* A new request for "act" with room for "cap" objects. */
static struct delcall *
delete_call_new(struct delrun *dr, enum ACT act, size_t cap)
{
	struct delcall *dc;

	dc = xcalloc(1, sizeof(*dc));
	dc->dr = dr;
	dc->act = act;
	dc->verb = act == ACT_TAG ? "tag" : "delete";
	dc->v = xcalloc(cap, sizeof(*dc->v));
	return dc;
}

/*
 * The request failed for object "i" with "msg": count it, and report
 * it unless "quiet".
 */
static void
delete_fail(struct delcall *dc, size_t i, const char *msg, int quiet)
{
	struct entry *e = dc->v[i].e;

	dc->v[i].failed = 1;
	if (!quiet)
		report_error(dc->dr->run->rep, e->key, "%s failed: %s", dc->verb,
		    msg);
	run_failed(dc->dr->run, e, dc->verb, msg);
}

/*
 * The call failed as a whole: every object failed.  A fatal failure
 * is reported once for the run, and stops it.
 */
static void
delete_call_failed(struct delcall *dc, struct s3_call *c)
{
	struct delrun *dr = dc->dr;
	char *msg;
	size_t i;
	int fatal;

	msg = s3_call_errstr(c);
	if ((fatal = s3_call_fatal(c)) && run_stop(dr->run))
		report_error(dr->run->rep, dc->multi ? dr->run->bucket :
		    dc->v[0].e->key, "%s failed: %s", dc->verb, msg);
	for (i = 0; i < dc->n; i++)
		delete_fail(dc, i, msg, fatal);
	free(msg);
}

static void
delete_call_free(struct delcall *dc)
{
	size_t i;

	for (i = 0; i < dc->n; i++)
		free(dc->v[i].key);
	free(dc->v);
	buf_free(&dc->body);
	free(dc);
}

/* xml_parse_delete_result callback: one key the server did not delete. */
static int
delete_key_error(void *arg, const char *key, const char *code,
    const char *message)
{
	struct delcall *dc = arg;
	size_t i;
	char *msg;

	for (i = 0; i < dc->n; i++)
		if (!dc->v[i].failed && strcmp(dc->v[i].key, key) == 0)
			break;
	if (i < dc->n) {
		msg = xasprintf("%s: %s", code[0] != '\0' ? code :
		    "no error code", message);
		delete_fail(dc, i, msg, 0);
	} else {
		msg = printable(key);
		logmsg(1, "delete: the answer names %s, which was not asked "
		    "for; ignored", msg);
	}
	free(msg);
	return 0;
}

/* A call ended: account for each of its objects. */
static void
delete_done(struct s3_call *c, void *arg)
{
	struct delcall *dc = arg;
	struct delrun *dr = dc->dr;
	struct entry *e;
	size_t i;
	int known = 1;

	/* A 200 carrying an <Error> document is not ok: all failed. */
	if (!c->ok) {
		delete_call_failed(dc, c);
		goto out;
	}
	if (dc->multi)
		known = xml_parse_delete_result(c->resp.data, c->resp.len,
		    delete_key_error, dc) == 0;
	for (i = 0; i < dc->n; i++) {
		if (dc->v[i].failed)
			continue;
		if (!known) {
			delete_fail(dc, i, "the server's answer cannot be "
			    "read; the object may remain", 0);
			continue;
		}
		e = dc->v[i].e;
		if (dc->act == ACT_TAG) {
			e->rtagged = 1;
			dr->run->rep->tagged++;
		} else {
			e->remote = 0;
			dr->run->rep->deleted++;
		}
		report_action(dr->run->rep, dc->verb, NULL, e->key);
		report_record(dr->run->rep, e, dc->verb, "ok", NULL);
	}
out:
	s3_call_free(c);
	delete_call_free(dc);
}

/*
 * Submit one DeleteObjects call for the ACT_DELETE actions from
 * dr->next on, up to DELETE_BATCH of them, stopping before an ACT_TAG
 * or a key XML cannot carry.  Returns how many it took: 0 when the
 * next action is one of those, and then nothing is submitted.
 */
static size_t
delete_submit_batch(struct delrun *dr)
{
	static const char head[] = "<Delete xmlns=\"" S3_XMLNS "\">"
	    "<Quiet>true</Quiet>";
	struct delcall *dc;
	struct action *a;
	struct s3_call *c;
	char *key;
	size_t n;

	dc = delete_call_new(dr, ACT_DELETE, DELETE_BATCH);
	dc->multi = 1;
	buf_append(&dc->body, head, sizeof(head) - 1);
	while (dr->next < dr->run->plan->n && dc->n < DELETE_BATCH) {
		a = &dr->run->plan->v[dr->next];
		if (a->act == ACT_TAG)
			break;
		if (a->act != ACT_DELETE) {
			dr->next++;
			continue;
		}
		key = list_object_key(dr->run->cfg, a->e->key);
		if (!delete_xml_ok(key)) {
			free(key);
			break;
		}
		dr->next++;
		buf_append(&dc->body, "<Object><Key>", 13);
		delete_xml_escape(&dc->body, key);
		buf_append(&dc->body, "</Key></Object>", 15);
		dc->v[dc->n].e = a->e;
		dc->v[dc->n++].key = key;
	}
	if ((n = dc->n) == 0) {
		delete_call_free(dc);
		return 0;
	}
	buf_append(&dc->body, "</Delete>", 9);
	logmsg(1, "delete: %zu object(s) in one request", n);
	c = s3_call_new("POST", dr->run->bucket, NULL);
	s3_call_query(c, "delete", "");
	s3_call_body(c, dc->body.data, dc->body.len, "application/xml");
	c->done = delete_done;
	c->arg = dc;
	xfer_submit(s3_xfer(dr->run->s3), c);
	return n;
}

/* DeleteObject or PutObjectTagging for the action "a" alone. */
static void
delete_submit_one(struct delrun *dr, struct action *a)
{
	struct delcall *dc;
	struct s3_call *c;

	dc = delete_call_new(dr, a->act, 1);
	dc->v[0].e = a->e;
	dc->v[0].key = list_object_key(dr->run->cfg, a->e->key);
	dc->n = 1;
	if (a->act == ACT_TAG) {
		c = s3_call_new("PUT", dr->run->bucket, dc->v[0].key);
		s3_call_query(c, "tagging", "");
		s3_call_header(c, "content-md5", dr->tagging_md5);
		s3_call_header(c, "content-type", "application/xml");
		c->body = dr->tagging;
		c->body_len = strlen(dr->tagging);
	} else
		c = s3_call_new("DELETE", dr->run->bucket, dc->v[0].key);
	c->done = delete_done;
	c->arg = dc;
	xfer_submit(s3_xfer(dr->run->s3), c);
}

/* Engine callback: submit the next request, if any. */
static int
delete_feed(void *arg)
{
	struct delrun *dr = arg;
	struct action *a;

	while (dr->next < dr->run->plan->n && !dr->run->fatal) {
		a = &dr->run->plan->v[dr->next];
		if (a->act != ACT_DELETE && a->act != ACT_TAG) {
			dr->next++;
			continue;
		}
		if (a->act == ACT_TAG || delete_submit_batch(dr) == 0) {
			dr->next++;
			delete_submit_one(dr, a);
		}
		return XFER_FEED_MORE;
	}
	return XFER_FEED_DONE;
}

/*
 * Carry out run->plan's ACT_DELETE actions with DeleteObjects (at most
 * 1,000 keys a request) and its ACT_TAG actions with PutObjectTagging
 * (Deleted=True, DeletedAt=<ISO-8601 UTC>), through the transfer
 * engine.  Updates entries (remote cleared / rtagged set) and the
 * report's deleted, tagged and failed counts, with a --report line for
 * each.  Returns 0, or -1 when a fatal error stopped it (reported
 * once).
 */
int
delete_run(struct run *run)
{
	struct delrun dr;
	time_t start;
	char when[32];
	int rc = -1;

	memset(&dr, 0, sizeof(dr));
	dr.run = run;
	run->fatal = 0;
	/*
	 * DeletedAt is the run's start, the same for every object: the
	 * wall clock now, less the time since the report started.
	 */
	start = time(NULL) - (time_t)((now_ms() - run->rep->start_ms) / 1000);
	iso_time(start, when);
	dr.tagging = xasprintf("<Tagging xmlns=\"%s\"><TagSet>"
	    "<Tag><Key>Deleted</Key><Value>True</Value></Tag>"
	    "<Tag><Key>DeletedAt</Key><Value>%s</Value></Tag>"
	    "</TagSet></Tagging>", S3_XMLNS, when);
	content_md5(dr.tagging, strlen(dr.tagging), dr.tagging_md5);

	xfer_set_feed(s3_xfer(run->s3), delete_feed, &dr);
	if (xfer_run(s3_xfer(run->s3)) == -1)
		goto out;
	rc = run->fatal ? -1 : 0;
out:
	free(dr.tagging);
	return rc;
}
