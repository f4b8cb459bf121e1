/*
 * The list stage: every object under the backup's prefix into the
 * remote side of a table, keyed like the scan's keys (prefix removed).
 * p3backup's own objects (".p3backup/...") are left out.
 */
#include "config.h"

#include <err.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

struct list_ctx {
	struct table	*tbl;
	size_t		 skip;		/* bytes of "prefix/" to remove */
};

static int
list_add(void *arg, const struct list_entry *le)
{
	struct list_ctx *ctx = arg;
	struct entry *e;
	const char *key;
	size_t len;

	if (le->keylen <= ctx->skip)
		return 0;		/* the prefix's own "P/" marker */
	key = le->key + ctx->skip;
	len = le->keylen - ctx->skip;
	if (list_reserved(key, len))
		return 0;
	e = table_get(ctx->tbl, key, len);
	if (!e->remote)
		ctx->tbl->nremote++;
	e->remote = 1;
	e->rsize = le->size;
	e->dir = len > 0 && key[len - 1] == '/';
	table_set_etag(e, le->etag != NULL ? le->etag : "");
	/* Where no stored mtime is known, the mtime compare falls back on it. */
	if (le->last_modified != NULL && !e->rmtime_known &&
	    lastmod_parse(le->last_modified, &e->rmtime_sec) == 0)
		e->rlastmod = 1;
	return 0;
}

int
list_reserved(const char *key, size_t len)
{
	const size_t rlen = sizeof(RESERVED_PREFIX) - 1;
	size_t i;

	/*
	 * At any depth: a whole-bucket listing sees the index of every job
	 * stored under a prefix ("host1/alice/.p3backup/index").
	 */
	for (i = 0; i + rlen <= len; i++)
		if ((i == 0 || key[i - 1] == '/') &&
		    memcmp(key + i, RESERVED_PREFIX, rlen) == 0)
			return 1;
	return 0;
}

char *
list_object_key(const struct config *cfg, const char *key)
{
	if (cfg->prefix == NULL)
		return xstrdup(key);
	return xasprintf("%s/%s", cfg->prefix, key);
}

int
list_bucket(struct s3 *s3, const char *bucket, struct table *tbl)
{
	struct list_ctx ctx;
	char *prefix = NULL;
	int rc;

	ctx.tbl = tbl;
	ctx.skip = 0;
	if (s3->cfg->prefix != NULL) {
		prefix = xasprintf("%s/", s3->cfg->prefix);
		ctx.skip = strlen(prefix);
	}
	rc = s3_list(s3, bucket, prefix, list_add, &ctx);
	free(prefix);
	return rc;
}
