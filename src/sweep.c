/*
 * The resume journals of uploads that are gone: after an upload stage,
 * a journal of this endpoint, bucket, DIRECTORY and prefix whose file
 * is no longer a large regular file there (deleted, shrunk below the
 * threshold) can never be resumed.  It is removed and its upload
 * aborted, whose stored parts the server would otherwise keep (and
 * bill) until a lifecycle rule clears them.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "s3.h"

/*
 * Whether the file of "key" (relative) is no longer a multipart upload.
 * What the plan does not hold is looked at on disk: a file the scan
 * could not read, or that the filters leave out now, keeps its journal.
 */
static int
sweep_gone(void *arg, const char *key)
{
	const struct run *run = arg;
	const struct action *a;
	struct stat st;
	char *path;
	int gone;

	a = plan_find(run->plan, key);
	if (a != NULL && a->e->local)
		return a->e->dir ||
		    (uint64_t)a->e->lsize < run->cfg->multipart_threshold;
	path = xasprintf("%s/%s", run->realroot, key);
	gone = lstat(path, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size < run->cfg->multipart_threshold;
	free(path);
	return gone;
}

/* Abort the upload of a swept journal: one request, its answer noted. */
static void
sweep_abort(void *arg, const char *key, const char *upload_id)
{
	struct run *run = arg;
	struct s3_call *c;
	char *name, *msg;

	c = s3_call_new("DELETE", run->bucket, key);
	s3_call_query(c, "uploadId", upload_id);
	name = printable(key);
	if (s3_exec(run->s3, c) == -1 && c->status != 404) {
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

/*
 * After a whole upload stage: remove the resume journals of this
 * endpoint, bucket, DIRECTORY (run->realroot) and prefix whose file is no
 * longer a large regular file there (deleted, shrunk, or a directory; a
 * file the plan does not hold is looked at on disk) and abort their
 * uploads, whose parts would otherwise cost.  Best effort: an abort that
 * fails is noted with -v; a journal that cannot be read or locked is
 * warned about as journals are and left alone, as is one another run
 * holds.  Does nothing without run->realroot.
 */
void
sweep_run(struct run *run)
{
	char *endpoint;

	if (run->realroot == NULL)
		return;
	endpoint = run_endpoint(run);
	journal_sweep(endpoint, run->bucket, run->realroot,
	    run->cfg->prefix != NULL ? run->cfg->prefix : "", sweep_gone,
	    sweep_abort, run);
	free(endpoint);
}
