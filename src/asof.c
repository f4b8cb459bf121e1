/*
 * --as-of TIME: the bucket's tree as it was at TIME, in place of the
 * ListObjectsV2 listing.  TIME is a run id of the run log (what that run
 * left: the Last-Modified of its run log object, written last, in the
 * server's clock), "YYYY-MM-DDTHH:MM:SSZ" (UTC), or local time
 * "YYYY-MM-DD[ HH:MM[:SS]]" (a date alone is its midnight).
 *
 * ListObjectVersions lists each key's versions newest first; of those,
 * the first whose LastModified is not after TIME (whole seconds) is the
 * key's state at TIME: a version is restored by its version id, a
 * delete marker means the file did not exist.  The index of that moment
 * is found the same way, so stored mtimes cost no request per file.
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
 * Whether timegm or mktime left "tm" as "want" was written: not when
 * they normalised a day or hour that does not exist.
 */
static int
asof_same(const struct tm *tm, const struct tm *want)
{
	return tm->tm_year == want->tm_year && tm->tm_mon == want->tm_mon &&
	    tm->tm_mday == want->tm_mday && tm->tm_hour == want->tm_hour &&
	    tm->tm_min == want->tm_min && tm->tm_sec == want->tm_sec;
}

/*
 * Parse --as-of's TIME "s": a run id (ASOF_RUN, *t untouched), a UTC
 * or local time (ASOF_TIME, *t set).  A local time that does not exist
 * (February 30th, 25:00) is refused.  Returns -1 when "s" is none of
 * them.  Pure but for the time zone.
 */
int
asof_parse(const char *s, time_t *t)
{
	static const char *local[] = { "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M",
	    "%Y-%m-%d" };
	struct tm tm, want;
	const char *end;
	size_t i;

	if (runlog_id_valid(s, strlen(s)))
		return ASOF_RUN;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end != NULL && *end == '\0' && strlen(s) == 20) {
		want = tm;
		*t = timegm(&tm);
		return asof_same(&tm, &want) ? ASOF_TIME : -1;
	}
	for (i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, local[i], &tm);
		if (end == NULL || *end != '\0' || s[0] < '0' || s[0] > '9')
			continue;
		want = tm;
		tm.tm_isdst = -1;
		*t = mktime(&tm);
		return *t != (time_t)-1 && asof_same(&tm, &want) ? ASOF_TIME :
		    -1;
	}
	return -1;
}

/*
 * --as-of's TIME into *t: asof_parse, a run id through the run log.
 * Returns 0, -2 when TIME names no run of the run log (a usage error,
 * as a malformed TIME, which options.c catches first), or -1 (both
 * reported).
 */
int
asof_time(struct s3 *s3, const char *bucket, const char *arg, time_t *t)
{
	switch (asof_parse(arg, t)) {
	case ASOF_TIME:
		return 0;
	case ASOF_RUN:
		return runlog_end(s3, bucket, arg, t);
	default:
		warnx("--as-of %s: not a run id, YYYY-MM-DDTHH:MM:SSZ or "
		    "YYYY-MM-DD[ HH:MM[:SS]]", arg);
		return -1;
	}
}

/* The walk over the versions: each key's first version not after "t". */
struct asof_ctx {
	struct table	*tbl;
	time_t		 t;
	size_t		 skip;		/* bytes of "PREFIX/" */
	const char	*index_key;	/* the full key of the index */
	char		*index_version;	/* its version at "t", or NULL */
	struct buf	 last;		/* the key decided last */
	int		 decided;	/* "last" has its version */
	size_t		 versions;	/* entries seen */
	size_t		 markers;	/* keys deleted at "t" */
};

static int
asof_version(void *arg, const struct versions_entry *v)
{
	struct asof_ctx *ctx = arg;
	struct entry *e;
	int64_t sec;

	ctx->versions++;
	if (ctx->last.len != v->keylen ||
	    memcmp(ctx->last.data, v->key, v->keylen) != 0) {
		buf_reset(&ctx->last);
		buf_append(&ctx->last, v->key, v->keylen);
		ctx->decided = 0;
	}
	if (ctx->decided)
		return 0;
	if (v->last_modified == NULL ||
	    lastmod_parse(v->last_modified, &sec) == -1) {
		warnx("list versions: %.*s: bad LastModified \"%s\"",
		    (int)v->keylen, v->key, v->last_modified != NULL ?
		    v->last_modified : "");
		return -1;
	}
	if (sec > (int64_t)ctx->t)
		return 0;		/* written after TIME */
	ctx->decided = 1;
	if (v->delete_marker) {
		ctx->markers++;
		return 0;
	}
	if (v->keylen == strlen(ctx->index_key) &&
	    memcmp(v->key, ctx->index_key, v->keylen) == 0) {
		ctx->index_version = xstrdup(v->version_id);
		return 0;
	}
	e = list_remote(ctx->tbl, ctx->skip, v->key, v->keylen, v->size,
	    v->etag, v->last_modified);
	if (e != NULL) {
		free(e->rversion);
		e->rversion = xstrdup(v->version_id);
	}
	return 0;
}

/*
 * The tree under cfg->prefix as it was at "t" into the remote side of
 * "tbl", as list_bucket would list it then, each entry with the version
 * id to fetch (rversion); the version id of the index of that moment
 * into *index_version (NULL when there was none; caller frees).
 * Returns 0, or -1 (reported).
 */
int
asof_list(struct s3 *s3, const char *bucket, time_t t, struct table *tbl,
    char **index_version)
{
	const struct config *cfg = s3_config(s3);
	struct asof_ctx ctx;
	char *prefix = NULL, *ikey;
	int rc;

	memset(&ctx, 0, sizeof(ctx));
	ctx.tbl = tbl;
	ctx.t = t;
	if (cfg->prefix != NULL) {
		prefix = xasprintf("%s/", cfg->prefix);
		ctx.skip = strlen(prefix);
	}
	ikey = list_object_key(cfg, INDEX_NAME);
	ctx.index_key = ikey;
	rc = versions_list(s3, bucket, prefix, asof_version, &ctx);
	if (rc == 0)
		logmsg(1, "as of %lld: %zu objects (%zu deleted then) of %zu "
		    "versions", (long long)t, tbl->nremote, ctx.markers,
		    ctx.versions);
	*index_version = NULL;
	if (rc == 0)
		*index_version = ctx.index_version;
	else
		free(ctx.index_version);
	buf_free(&ctx.last);
	free(ikey);
	free(prefix);
	return rc;
}
