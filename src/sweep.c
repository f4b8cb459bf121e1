/*
 * The resume journals of uploads that are gone: after an upload stage,
 * a journal of this endpoint, bucket, DIRECTORY and prefix whose file
 * this run no longer uploads in parts (deleted, excluded, shrunk below
 * the threshold) can never be resumed.  It is removed and its upload
 * aborted, whose stored parts the server would otherwise keep (and
 * bill) until a lifecycle rule clears them.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "extern.h"

/* Whether the file of "key" (relative) is no longer a multipart upload. */
static int
sweep_gone(void *arg, const char *key)
{
	const struct upload *up = arg;
	const struct action *a;

	a = plan_find(up->plan, key);
	return a == NULL || !a->e->local || a->e->dir ||
	    (uint64_t)a->e->lsize < up->cfg->multipart_threshold;
}

/* Abort the upload of a swept journal: one request, its answer noted. */
static void
sweep_abort(void *arg, const char *key, const char *upload_id)
{
	struct upload *up = arg;
	struct s3_call *c;
	char *name, *msg;

	c = s3_call_new("DELETE", up->bucket, key);
	s3_call_query(c, "uploadId", upload_id);
	name = printable(key);
	if (s3_exec(up->s3, c) == -1 && c->status != 404) {
		msg = s3_call_errstr(c);
		logmsg(1, "%s: removed the resume journal of a file no longer "
		    "uploaded in parts; its upload could not be aborted: %s",
		    name, msg);
		free(msg);
	} else
		logmsg(1, "%s: removed the resume journal of a file no longer "
		    "uploaded in parts, and aborted its upload", name);
	free(name);
	s3_call_free(c);
}

void
multipart_sweep(struct upload *up)
{
	char *endpoint, *prefix;

	if (up->realroot == NULL)
		return;
	endpoint = multipart_endpoint(up);
	prefix = up->cfg->prefix != NULL ? xasprintf("%s/", up->cfg->prefix) :
	    xstrdup("");
	journal_sweep(endpoint, up->bucket, up->realroot, prefix, sweep_gone,
	    sweep_abort, up);
	free(prefix);
	free(endpoint);
}
