/*
 * The plan: a pure function from the merged table and the options to
 * the ordered list of what to do with each key.  No I/O, no globals.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "extern.h"

/*
 * Whether the sizes of the file and the object of "e" disagree.  An
 * encrypted object is compared by its plaintext size when its metadata
 * (or the index) told it, else by the size encryption gives the file.
 * A backup also sends again what is not in the run's form: plain
 * objects with --encrypt-key, encrypted ones without.  A restore takes
 * either form.
 */
static int
plan_size_differs(const struct entry *e, const struct config *cfg)
{
	uint64_t sealed;

	if (e->dir)
		return e->lsize != e->rsize;
	sealed = cfg->crypt_hlen > 0 ?
	    crypt_size(cfg->crypt_hlen, (uint64_t)e->lsize) : 0;
	switch (e->rcrypt) {
	case RCRYPT_YES:
		if (!cfg->restore && cfg->encrypt_key == NULL)
			return 1;
		if (e->rx != NULL && e->rx->psize >= 0)
			return e->lsize != e->rx->psize;
		return cfg->crypt_hlen == 0 || (uint64_t)e->rsize != sealed;
	case RCRYPT_NO:
		if (!cfg->restore && cfg->encrypt_key != NULL)
			return 1;
		return e->lsize != e->rsize;
	default:
		if (cfg->restore)
			return e->lsize != e->rsize && (cfg->crypt_hlen == 0 ||
			    (uint64_t)e->rsize != sealed);
		if (cfg->encrypt_key != NULL)
			return (uint64_t)e->rsize != sealed;
		return e->lsize != e->rsize;
	}
}

/*
 * Whether the file's mtime and the object's differ.  Compared unless
 * --size-only, or --checksum without --mtime (content decides then).
 * A stored mtime (x-amz-meta-mtime, from the index or a HEAD) must
 * equal the file's to the nanosecond.  Without one, the object counts
 * as older than the file when the file's mtime is later than the
 * object's LastModified (whole seconds), as aws s3 sync does; with
 * --mtime a backup instead uploads it, so that it gets one (a restore
 * has nothing better than LastModified, which it gives the file).
 */
static int
plan_mtime_differs(const struct entry *e, const struct config *cfg)
{
	if (cfg->size_only || (cfg->checksum && !cfg->mtime))
		return 0;
	if (e->rmtime_known)
		return e->lmtime_sec != e->rmtime_sec ||
		    e->lmtime_nsec != e->rmtime_nsec;
	if (cfg->mtime && !cfg->restore)
		return 1;
	return e->rlastmod && e->lmtime_sec > e->rmtime_sec;
}

/*
 * Whether an entry that is both local and remote differs, and why; or
 * REASON_SAME.  Directory markers carry no mtime or content worth comparing:
 * presence and size decide for them.  The mtime is looked at before
 * --checksum, so with --mtime --checksum an mtime change is named as such.
 */
static enum REASON
plan_why_compare(const struct entry *e, const struct config *cfg)
{
	if (plan_size_differs(e, cfg))
		return REASON_SIZE;
	/* After a key change, what the old key sealed is sealed again. */
	if (!cfg->restore && cfg->crypt_keyid != NULL &&
	    e->rcrypt == RCRYPT_YES && e->rx != NULL && e->rx->keyid_known &&
	    memcmp(e->rx->keyid, cfg->crypt_keyid, CRYPT_KEYID_SHORT) != 0)
		return REASON_KEY;
	if (e->dir)
		return REASON_SAME;
	if (plan_mtime_differs(e, cfg))
		return REASON_MTIME;
	if (cfg->checksum) {
		switch (e->csum) {
		case CSUM_DIFF:
			return REASON_CHECKSUM;
		case CSUM_UNKNOWN:
			/* Never skip what we could not check. */
			return REASON_UNVERIFIABLE;
		case CSUM_NONE:
			/*
			 * checksum_table could not read the file: it has
			 * reported it and counted it as failed, and an
			 * upload would only fail to read it again.
			 */
		case CSUM_SAME:
			break;
		}
	}
	/* Only a backup, and only against a mode and owner on record. */
	if (!cfg->restore && e->rperm_known && e->lperm != e->rperm)
		return REASON_META;
	return REASON_SAME;
}

/*
 * Whether REASON_META's object "e" can take its new metadata by a
 * CopyObject onto itself: not past CopyObject's 5 GiB, not with SSE-C
 * (the source's key is not sent), and not an object whose encryption
 * headers are not all known (they are sent again).  Otherwise it is
 * uploaded.
 */
static int
plan_copyable(const struct entry *e, const struct config *cfg)
{
	if ((uint64_t)e->rsize > METACOPY_MAX || cfg->sse_c_key_file != NULL)
		return 0;
	if (e->rcrypt == RCRYPT_NO)
		return 1;
	return e->rcrypt == RCRYPT_YES && e->rx != NULL &&
	    e->rx->psize >= 0 && e->rx->keyid_known;
}

/* Why the local entry "e" needs an upload, or REASON_SAME. */
static enum REASON
plan_why(const struct entry *e, const struct config *cfg)
{
	if (!e->remote)
		return REASON_NEW;
	/* Tagged as deleted, and back: upload it, which clears the tags. */
	if (e->rtagged)
		return REASON_REAPPEARED;
	return plan_why_compare(e, cfg);
}

/*
 * Byte order of the keys, the order of an S3 listing.  memcmp compares
 * as unsigned char, so bytes >= 0x80 sort after ASCII, and a key sorts
 * before every key it is a prefix of.
 */
static int
plan_cmp(const void *pa, const void *pb)
{
	const struct entry *a = ((const struct action *)pa)->e;
	const struct entry *b = ((const struct action *)pb)->e;
	size_t la = ENTRY_KEYLEN(a), lb = ENTRY_KEYLEN(b);
	int c;

	if ((c = memcmp(a->key, b->key, la < lb ? la : lb)) != 0)
		return c;
	return (la > lb) - (la < lb);
}

/*
 * Whether the filters cover the object of entry "e": only then is it
 * ours to delete, tag or restore.  A marker "dir/" is judged as the
 * directory "dir" (and not at all once there are --include patterns,
 * which name files).
 */
static int
plan_covered(const struct entry *e, const struct config *cfg)
{
	char *path;
	int keep;

	if (cfg->filter == NULL)
		return 1;
	path = xstrndup(e->key, ENTRY_KEYLEN(e) - (e->dir ? 1 : 0));
	keep = e->dir ? !filter_prune_dir(cfg->filter, path) &&
	    !filter_has_includes(cfg->filter) : filter_file(cfg->filter, path);
	free(path);
	return keep;
}

/*
 * Whether the remote-only entry "e" is to be deleted or tagged: only in
 * those modes, only objects the filters cover, and not again once
 * tagged.
 */
static int
plan_gone(const struct entry *e, const struct config *cfg)
{
	if (cfg->delete_mode == DELETE_NONE)
		return 0;
	if (cfg->delete_mode == DELETE_TAG && e->rtagged)
		return 0;
	return plan_covered(e, cfg);
}

/*
 * Fill "plan" (zeroed by the caller, or freed before) with the actions
 * for "tbl", sorted by key.  A local entry is uploaded when the key is
 * missing in the bucket, the sizes differ, or its object is tagged as
 * deleted; also when the mtimes differ (plan_mtime_differs); with
 * cfg->checksum (after checksum_table set e->csum) also when the content
 * differs or cannot be checked.  When only the file's mode or owner
 * differs from the object's recorded ones (rperm; unknown is no
 * difference) it gets ACT_META, or an upload when plan_copyable says
 * no.  It is skipped otherwise.  Uploads past
 * cfg->max_uploads (in key order) are deferred.  A remote-only entry is
 * deleted (--delete) or tagged (--tag-deleted) when the filters cover
 * it; if that would touch more than cfg->max_delete objects (default:
 * half of the bucket's), none is touched and plan->refused says how many
 * were spared.  No I/O.  The actions point into "tbl", which must outlive
 * the plan.  The caller frees the plan with plan_free.
 */
void
plan_build(const struct table *tbl, const struct config *cfg,
    struct plan *plan)
{
	struct entry *e;
	size_t ti;
	struct action *a;
	size_t n = 0, nremote = 0, i;
	long cap;

	memset(plan, 0, sizeof(*plan));
	TABLE_FOREACH(tbl, ti, e) {
		n++;
		nremote += e->remote;
	}
	plan->v = xcalloc(n, sizeof(*plan->v));
	TABLE_FOREACH(tbl, ti, e) {
		if (!e->local) {
			if (!e->remote || !plan_gone(e, cfg))
				continue;
			a = &plan->v[plan->n++];
			a->e = e;
			a->why = REASON_GONE;
			a->act = cfg->delete_mode == DELETE_TAG ? ACT_TAG :
			    ACT_DELETE;
			plan->ndelete++;
			continue;
		}
		a = &plan->v[plan->n++];
		a->e = e;
		a->why = plan_why(e, cfg);
		if (a->why == REASON_SAME) {
			a->act = ACT_SKIP;
			plan->nskip++;
		} else if (a->why == REASON_META && plan_copyable(e, cfg)) {
			a->act = ACT_META;
			plan->nmeta++;
		} else {
			a->act = ACT_UPLOAD;
			plan->nupload++;
			plan->upload_bytes += (uint64_t)e->lsize;
		}
	}
	qsort(plan->v, plan->n, sizeof(*plan->v), plan_cmp);

	/* The safety cap: a wrong root must not wipe the backup. */
	cap = cfg->max_delete >= 0 ? cfg->max_delete : (long)(nremote / 2);
	if (plan->ndelete > 0 && (long)plan->ndelete > cap) {
		plan->refused = plan->ndelete;
		plan->ndelete = 0;
		for (i = 0; i < plan->n; i++)
			if (plan->v[i].act == ACT_DELETE ||
			    plan->v[i].act == ACT_TAG)
				plan->v[i].act = ACT_SKIP;
	}
	if (cfg->max_uploads >= 0 && plan->nupload > (size_t)cfg->max_uploads) {
		n = 0;
		for (i = 0; i < plan->n; i++) {
			a = &plan->v[i];
			if (a->act != ACT_UPLOAD || n++ < (size_t)cfg->max_uploads)
				continue;
			a->act = ACT_DEFER;
			a->why = REASON_LIMIT;
			plan->nupload--;
			plan->ndefer++;
			plan->upload_bytes -= (uint64_t)a->e->lsize;
		}
	}
}

/*
 * The restore direction: for every remote entry of "tbl" (the target
 * directory scanned as the local side), download when the file is
 * missing, its size differs or its mtime (as for a backup, the object's
 * unknown mtime being its LastModified); with cfg->checksum when the
 * content differs or cannot be checked.  Directory markers become
 * ACT_MKDIR when the directory is missing.  Objects tagged deleted are
 * skipped (REASON_TAGGED) unless cfg->include_deleted; objects the
 * filters leave out get no action (their local files are not touched).
 * Local-only files get no action: a restore deletes nothing.  Pure,
 * sorted by key; the actions point into "tbl".  Free with plan_free.
 */
void
plan_restore(const struct table *tbl, const struct config *cfg,
    struct plan *plan)
{
	struct entry *e;
	size_t ti;
	struct action *a;
	size_t n = 0;

	memset(plan, 0, sizeof(*plan));
	TABLE_FOREACH(tbl, ti, e)
		n += e->remote;
	plan->v = xcalloc(n, sizeof(*plan->v));
	TABLE_FOREACH(tbl, ti, e) {
		/* What the filters leave out is neither read nor written. */
		if (!e->remote || !plan_covered(e, cfg))
			continue;
		a = &plan->v[plan->n++];
		a->e = e;
		if (e->rtagged && !cfg->include_deleted)
			a->why = REASON_TAGGED;
		else if (!e->local)
			a->why = REASON_MISSING;
		else
			/* The same comparison as a backup, from the other side. */
			a->why = plan_why_compare(e, cfg);
		if (a->why == REASON_SAME || a->why == REASON_TAGGED) {
			a->act = ACT_SKIP;
			plan->nskip++;
		} else {
			a->act = e->dir ? ACT_MKDIR : ACT_DOWNLOAD;
			plan->nupload++;
			plan->upload_bytes += (uint64_t)e->rsize;
		}
	}
	qsort(plan->v, plan->n, sizeof(*plan->v), plan_cmp);
}

/* bsearch: "key" against an action's key, in plan_cmp's order. */
static int
plan_keycmp(const void *key, const void *pa)
{
	const struct entry *e = ((const struct action *)pa)->e;
	size_t la = strlen(key), lb = ENTRY_KEYLEN(e);
	int c;

	if ((c = memcmp(key, e->key, la < lb ? la : lb)) != 0)
		return c;
	return (la > lb) - (la < lb);
}

/*
 * The action for "key" (relative, as in the table) in "plan", found by
 * binary search over its sorted actions, or NULL.
 */
const struct action *
plan_find(const struct plan *plan, const char *key)
{
	if (plan->n == 0)
		return NULL;
	return bsearch(key, plan->v, plan->n, sizeof(*plan->v), plan_keycmp);
}

/*
 * Free the actions of "plan" (not the entries) and zero it; accepts a
 * zeroed plan.
 */
void
plan_free(struct plan *plan)
{
	if (plan == NULL)
		return;
	free(plan->v);
	memset(plan, 0, sizeof(*plan));
}

/*
 * The reason as one word for messages, --report and the dry-run
 * listing, a static string: "new", "size", "mtime", "checksum",
 * "unverifiable", "other-key", "reappeared", "gone", "max-uploads",
 * "missing", "tagged-deleted", "metadata" or "same" ("?" for no enum
 * REASON).
 */
const char *
plan_reason(enum REASON why)
{
	switch (why) {
	case REASON_NEW:
		return "new";
	case REASON_SIZE:
		return "size";
	case REASON_MTIME:
		return "mtime";
	case REASON_CHECKSUM:
		return "checksum";
	case REASON_UNVERIFIABLE:
		return "unverifiable";
	case REASON_KEY:
		return "other-key";
	case REASON_REAPPEARED:
		return "reappeared";
	case REASON_GONE:
		return "gone";
	case REASON_LIMIT:
		return "max-uploads";
	case REASON_MISSING:
		return "missing";
	case REASON_TAGGED:
		return "tagged-deleted";
	case REASON_META:
		return "metadata";
	case REASON_SAME:
		return "same";
	}
	return "?";
}
