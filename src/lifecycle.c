/*
 * --history-days N: how long the history lasts.  One lifecycle rule of
 * p3backup's own in the bucket, its ID "p3backup-history" (with
 * ":PREFIX" under --prefix), expires noncurrent versions under the
 * prefix N days after they became noncurrent and removes delete markers
 * left with no version behind them.  The bucket's other rules are kept
 * as they are: the configuration is read (GetBucketLifecycleConfiguration),
 * ours replaced or added, and written back only when it changed.
 * --history-days 0 removes ours (and the configuration, when no rule is
 * left).  A store without lifecycle support gets a warning; the backup
 * goes on.
 *
 * The document is edited with libxml2's tree API: the other rules are
 * written back element for element, whatever they hold.
 */
#include "config.h"

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "extern.h"
#include "s3.h"
#include "history.h"

#define LIFECYCLE_ID		"p3backup-history"
/* The bucket-wide setting of transitions that rides on the requests. */
#define LIFECYCLE_MINSIZE	"x-amz-transition-default-minimum-object-size"
/* IDs are at most 255 characters: longer prefixes go by their hash. */
#define LIFECYCLE_PREFIX_MAX	200

/* The ID of p3backup's rule for "prefix" (NULL: none); caller frees. */
char *
lifecycle_id(const char *prefix)
{
	char hex[65];

	if (prefix == NULL)
		return xstrdup(LIFECYCLE_ID);
	if (strlen(prefix) <= LIFECYCLE_PREFIX_MAX)
		return xasprintf("%s:%s", LIFECYCLE_ID, prefix);
	sha256_hex(prefix, strlen(prefix), hex);
	return xasprintf("%s:sha256:%s", LIFECYCLE_ID, hex);
}

/* The first child element of "n" named "name", or NULL. */
static xmlNode *
lifecycle_child(xmlNode *n, const char *name)
{
	xmlNode *c;

	for (c = n != NULL ? n->children : NULL; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)c->name, name) == 0)
			return c;
	return NULL;
}

/* Whether child "name" of "n" has the text "want" (NULL: is absent). */
static int
lifecycle_text_is(xmlNode *n, const char *name, const char *want)
{
	xmlNode *c = lifecycle_child(n, name);
	xmlChar *text;
	int same;

	if (c == NULL || want == NULL)
		return c == NULL && want == NULL;
	text = xmlNodeGetContent(c);
	same = strcmp(text != NULL ? (const char *)text : "", want) == 0;
	xmlFree(text);
	return same;
}

/*
 * Whether rule "r" is the one lifecycle_rule makes for "prefix" and
 * "days": its filter prefix (in <Filter>, or a bare <Prefix> as Ceph RGW
 * answers for an empty one), status, and both expirations.
 */
static int
lifecycle_same(xmlNode *r, const char *prefix, const char *days)
{
	xmlNode *f = lifecycle_child(r, "Filter"), *x;
	int all;

	/* <Filter/>: every key. */
	all = f != NULL && f->children == NULL && *prefix == '\0';
	if (!all && !lifecycle_text_is(f != NULL ? f : r, "Prefix", prefix))
		return 0;
	x = lifecycle_child(r, "Expiration");
	return lifecycle_text_is(r, "Status", "Enabled") &&
	    lifecycle_text_is(x, "ExpiredObjectDeleteMarker", "true") &&
	    lifecycle_text_is(lifecycle_child(r, "NoncurrentVersionExpiration"),
	    "NoncurrentDays", days);
}

/* Add p3backup's rule "id" for "prefix" and "days" to "root". */
static void
lifecycle_rule(xmlNode *root, xmlNs *ns, const char *id, const char *prefix,
    const char *days)
{
	xmlNode *r, *n;

	r = xmlNewChild(root, ns, BAD_CAST "Rule", NULL);
	xmlNewTextChild(r, ns, BAD_CAST "ID", BAD_CAST id);
	n = xmlNewChild(r, ns, BAD_CAST "Filter", NULL);
	xmlNewTextChild(n, ns, BAD_CAST "Prefix", BAD_CAST prefix);
	xmlNewChild(r, ns, BAD_CAST "Status", BAD_CAST "Enabled");
	n = xmlNewChild(r, ns, BAD_CAST "Expiration", NULL);
	xmlNewChild(n, ns, BAD_CAST "ExpiredObjectDeleteMarker",
	    BAD_CAST "true");
	n = xmlNewChild(r, ns, BAD_CAST "NoncurrentVersionExpiration", NULL);
	xmlNewChild(n, ns, BAD_CAST "NoncurrentDays", BAD_CAST days);
}

/*
 * The lifecycle configuration "doc" ("len" bytes; NULL: the bucket has
 * none) with p3backup's rule "id" for keys under "prefix" ("" for all)
 * set to expire noncurrent versions after "days" days, or removed when
 * "days" is 0; every other rule kept.  *out is the new document (caller
 * frees), or NULL when no rule is left; *changed is 0 when "doc" says
 * that already.  Returns 0, or -1 when "doc" is not a lifecycle
 * configuration.  Pure.
 */
int
lifecycle_merge(const char *doc, size_t len, const char *id,
    const char *prefix, int days, char **out, int *changed)
{
	xmlDoc *d;
	xmlNode *root, *r, *next;
	xmlNs *ns;
	xmlChar *mem;
	char num[16];
	int n, rules = 0, found = 0;

	*out = NULL;
	*changed = 0;
	snprintf(num, sizeof(num), "%d", days);
	if (doc == NULL) {
		d = xmlNewDoc(BAD_CAST "1.0");
		root = xmlNewNode(NULL, BAD_CAST "LifecycleConfiguration");
		ns = xmlNewNs(root, BAD_CAST S3_XMLNS, NULL);
		xmlSetNs(root, ns);
		xmlDocSetRootElement(d, root);
	} else {
		if (len > INT32_MAX || (d = xmlReadMemory(doc, (int)len, NULL,
		    NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS |
		    XML_PARSE_NOERROR | XML_PARSE_NOWARNING)) == NULL)
			return -1;
		root = xmlDocGetRootElement(d);
		if (root == NULL || strcmp((const char *)root->name,
		    "LifecycleConfiguration") != 0) {
			xmlFreeDoc(d);
			return -1;
		}
		ns = root->ns;
	}
	for (r = root->children; r != NULL; r = next) {
		next = r->next;
		if (r->type != XML_ELEMENT_NODE ||
		    strcmp((const char *)r->name, "Rule") != 0)
			continue;
		if (!lifecycle_text_is(r, "ID", id)) {
			rules++;
			continue;
		}
		/* Ours: kept when it is what we want, else dropped. */
		if (days > 0 && !found && lifecycle_same(r, prefix, num)) {
			found = 1;
			rules++;
			continue;
		}
		*changed = 1;
		xmlUnlinkNode(r);
		xmlFreeNode(r);
	}
	if (days > 0 && !found) {
		lifecycle_rule(root, ns, id, prefix, num);
		rules++;
		*changed = 1;
	}
	if (rules > 0) {
		xmlDocDumpMemoryEnc(d, &mem, &n, "UTF-8");
		*out = xstrndup((const char *)mem, (size_t)n);
		xmlFree(mem);
	}
	xmlFreeDoc(d);
	return 0;
}

/*
 * What a failed lifecycle request "c" means: 0 for a store without
 * lifecycle (501 NotImplemented, 405), -1 when no request can succeed,
 * else 1 (refused: AccessDenied, MalformedXML...).
 */
static int
lifecycle_refused(const struct s3_call *c)
{
	if (c->status == 501 || c->status == 405)
		return 0;
	return s3_call_fatal(c) && c->status != 403 ? -1 : 1;
}

/*
 * Bring the bucket's lifecycle rule of --history-days in line: read the
 * configuration, merge (lifecycle_merge), and write it back (or delete
 * it, with no rule left) when it changed; a dry run says what it would
 * do.  Returns 0 when done or when the store has no lifecycle (a
 * warning line), 1 when the rule could not be set (a warning line: the
 * run counts it as a failure), or -1 when the failure means no request
 * can succeed (reported).
 */
int
lifecycle_apply(struct s3 *s3, const char *bucket)
{
	const struct config *cfg = s3_config(s3);
	struct s3_call *c, *put = NULL;
	char *id, *doc = NULL, *prefix, *msg, *what;
	int changed, rc = 0;

	id = lifecycle_id(cfg->prefix);
	prefix = cfg->prefix != NULL ? xasprintf("%s/", cfg->prefix) :
	    xstrdup("");
	c = s3_call_new("GET", bucket, NULL);
	s3_call_query(c, "lifecycle", "");
	/* AWS resets it to its default unless the PUT says it again. */
	c->want_header = LIFECYCLE_MINSIZE;
	if (s3_exec(s3, c) == -1 && (c->status != 404 || c->err.code == NULL ||
	    strcmp(c->err.code, "NoSuchLifecycleConfiguration") != 0)) {
		rc = lifecycle_refused(c);
		goto fail;
	}
	if (lifecycle_merge(c->ok ? c->resp.data : NULL, c->resp.len, id,
	    prefix, cfg->history_days, &doc, &changed) == -1) {
		warnx("bucket %s: its lifecycle configuration cannot be read: "
		    "--history-days not applied", bucket);
		rc = 1;
		goto out;
	}
	what = cfg->history_days > 0 ? xasprintf("rule %s: noncurrent "
	    "versions expire after %d days", id, cfg->history_days) :
	    xasprintf("rule %s removed", id);
	if (!changed)
		logmsg(1, "bucket %s: lifecycle %s (as before)", bucket, what);
	else if (cfg->dry_run)
		fprintf(report_stream(cfg), "would set bucket %s lifecycle %s\n",
		    bucket, what);
	else {
		put = s3_call_new(doc != NULL ? "PUT" : "DELETE", bucket, NULL);
		s3_call_query(put, "lifecycle", "");
		if (doc != NULL)
			s3_call_body(put, doc, strlen(doc), "application/xml");
		if (doc != NULL && c->want_value != NULL)
			s3_call_header(put, LIFECYCLE_MINSIZE, c->want_value);
		if (s3_exec(s3, put) == 0)
			logmsg(1, "bucket %s: lifecycle %s", bucket, what);
		else {
			s3_call_free(c);
			c = put;
			put = NULL;
			free(what);
			rc = lifecycle_refused(c);
			goto fail;
		}
	}
	free(what);
	goto out;
fail:
	msg = s3_call_errstr(c);
	warnx("bucket %s: lifecycle: %s%s", bucket, msg, rc >= 0 ?
	    ": --history-days not applied" : "");
	free(msg);
out:
	s3_call_free(c);
	s3_call_free(put);
	free(doc);
	free(prefix);
	free(id);
	return rc;
}
