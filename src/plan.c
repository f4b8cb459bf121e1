/*
 * The plan: a pure function from the merged table and the options to
 * the ordered list of what to do with each key.  No I/O, no globals.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "extern.h"

/*
 * Why the local entry "e" needs an upload, or REASON_SAME when it does
 * not.  Directory markers carry no mtime or content worth comparing:
 * presence and size decide for them.  --mtime is looked at before
 * --checksum, so with both an mtime change is named as such.
 */
static enum REASON
plan_why(const struct entry *e, int mtime, int checksum)
{
	if (!e->remote)
		return REASON_NEW;
	if (e->lsize != e->rsize)
		return REASON_SIZE;
	if (e->dir)
		return REASON_SAME;
	if (mtime) {
		/* An object without a stored mtime gets one. */
		if (!e->rmtime_known)
			return REASON_MTIME;
		if (e->lmtime_sec != e->rmtime_sec ||
		    e->lmtime_nsec != e->rmtime_nsec)
			return REASON_MTIME;
	}
	if (checksum) {
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
	return REASON_SAME;
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
	size_t la = a->hh.keylen, lb = b->hh.keylen;
	int c;

	if ((c = memcmp(a->key, b->key, la < lb ? la : lb)) != 0)
		return c;
	return (la > lb) - (la < lb);
}

/*
 * Fill "plan" with one action per local entry of "tbl", sorted by key:
 * upload when the key is missing in the bucket or the sizes differ;
 * with cfg->mtime also when the stored mtime of a file differs or is
 * unknown; with cfg->checksum (after checksum_table set e->csum) also
 * when the content differs or cannot be checked; skip otherwise.  Of
 * "cfg", only mtime and checksum are read.  Remote-only entries get no
 * action.  The actions point into "tbl", which must outlive the plan.
 * The caller frees the plan with plan_free.
 */
void
plan_build(const struct table *tbl, const struct config *cfg,
    struct plan *plan)
{
	struct entry *e, *tmp;
	struct action *a;
	size_t n = 0;

	memset(plan, 0, sizeof(*plan));
	HASH_ITER(hh, tbl->entries, e, tmp)
		if (e->local)
			n++;
	plan->v = xcalloc(n, sizeof(*plan->v));
	HASH_ITER(hh, tbl->entries, e, tmp) {
		if (!e->local)
			continue;
		a = &plan->v[plan->n++];
		a->e = e;
		a->why = plan_why(e, cfg->mtime, cfg->checksum);
		if (a->why == REASON_SAME) {
			a->act = ACT_SKIP;
			plan->nskip++;
		} else {
			a->act = ACT_UPLOAD;
			plan->nupload++;
			plan->upload_bytes += (uint64_t)e->lsize;
		}
	}
	if (plan->n > 1)
		qsort(plan->v, plan->n, sizeof(*plan->v), plan_cmp);
}

/*
 * Free the actions of "plan" (not the entries they point to) and zero
 * it.  Accepts NULL and a plan already freed or never built.
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
 * The reason as one word for messages and the dry-run listing:
 * "new", "size", "mtime", "checksum", "unverifiable" or "same".
 * A static string.
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
	case REASON_SAME:
		return "same";
	}
	return "?";
}
