/*
 * The one table where local files and remote objects meet, keyed by
 * object key (relative to DIRECTORY and --prefix), each key's bytes
 * stored once, inside its entry.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "extern.h"

/*
 * Find "key" (keylen bytes) through the index; NULL when absent.  Entries
 * added by table_add are not in it.
 */
struct entry *
table_find(const struct table *tbl, const char *key, size_t keylen)
{
	struct entry *e = NULL;

	HASH_FIND(hh, tbl->hash, key, keylen, e);
	return e;
}

static void
entry_free(struct entry *e)
{
	free(e->rx);
	free(e->rversion);
	free(e);
}

/* Append "e" to tbl->v. */
static void
table_push(struct table *tbl, struct entry *e)
{
	if (tbl->n == tbl->cap) {
		tbl->cap = tbl->cap < 1024 ? 1024 : tbl->cap * 2;
		tbl->v = xrealloc(tbl->v, tbl->cap * sizeof(*tbl->v));
	}
	tbl->v[tbl->n++] = e;
}

/* A new zeroed entry for "key", appended to tbl->v. */
static struct entry *
table_append(struct table *tbl, const char *key, size_t keylen)
{
	struct entry *e;

	e = xcalloc(1, sizeof(*e) + keylen + 1);
	memcpy(e->key, key, keylen);
	e->key[keylen] = '\0';
	/* The handle keeps the length even for entries not in an index. */
	e->hh.key = e->key;
	e->hh.keylen = (unsigned)keylen;
	table_push(tbl, e);
	return e;
}

/*
 * Append a zeroed entry for "key" (keylen bytes, copied), which the
 * caller knows is not in the table yet (the scan: every path is walked
 * once), without indexing it: table_find will not see it.  The table owns
 * the entry.  Never NULL.
 */
struct entry *
table_add(struct table *tbl, const char *key, size_t keylen)
{
	return table_append(tbl, key, keylen);
}

/*
 * Find "key" (keylen bytes) or append and index a zeroed entry for it
 * (the key copied, the entry owned by the table).  Never NULL.
 */
struct entry *
table_get(struct table *tbl, const char *key, size_t keylen)
{
	struct entry *e;
	unsigned hashv;

	/* One hash of the key for both the lookup and the insertion. */
	HASH_VALUE(key, keylen, hashv);
	HASH_FIND_BYHASHVALUE(hh, tbl->hash, key, keylen, hashv, e);
	if (e != NULL)
		return e;
	e = table_append(tbl, key, keylen);
	HASH_ADD_BYHASHVALUE(hh, tbl->hash, key[0], keylen, hashv, e);
	return e;
}

/*
 * Move every entry of "from" (an indexed table) into "into" (the scan's,
 * not indexed): an entry of "into" whose key "from" also has gets that
 * one's remote fields (and its struct rmeta), and the duplicate is freed;
 * the others are appended to "into" without being indexed.  The
 * nlocal/nremote counts are added up.  "from" is left empty, with no
 * index, and may be freed or reused.
 */
void
table_merge(struct table *into, struct table *from)
{
	struct entry *e, *r;
	size_t i;

	/* An empty bucket: nothing to look up, nothing to move. */
	if (from->n > 0) {
		TABLE_FOREACH(into, i, e) {
			HASH_FIND(hh, from->hash, e->key, ENTRY_KEYLEN(e), r);
			if (r == NULL)
				continue;
			e->remote = 1;
			e->rsize = r->rsize;
			e->rmtime_sec = r->rmtime_sec;
			e->rmtime_nsec = r->rmtime_nsec;
			e->rmtime_known = r->rmtime_known;
			e->rlastmod = r->rlastmod;
			memcpy(e->rmd5, r->rmd5, sizeof(e->rmd5));
			e->rparts = r->rparts;
			e->retag_md5 = r->retag_md5;
			e->rnotmd5 = r->rnotmd5;
			e->rtagged = r->rtagged;
			e->rcrypt = r->rcrypt;
			e->rperm = r->rperm;
			e->rperm_known = r->rperm_known;
			e->rx = r->rx;
			r->rx = NULL;
			e->rversion = r->rversion;
			r->rversion = NULL;
			r->merged = 1;
		}
	}
	/* The handles of from's entries are stale once its index is gone. */
	HASH_CLEAR(hh, from->hash);
	TABLE_FOREACH(from, i, r) {
		if (r->merged) {
			entry_free(r);
			continue;
		}
		table_push(into, r);
	}
	free(from->v);
	from->v = NULL;
	from->n = from->cap = 0;
	into->nlocal += from->nlocal;
	into->nremote += from->nremote;
	from->nlocal = from->nremote = 0;
}

/*
 * Free every entry (and its struct rmeta), the index and the array; the
 * table itself is left empty and reusable.
 */
void
table_free(struct table *tbl)
{
	size_t i;

	HASH_CLEAR(hh, tbl->hash);
	for (i = 0; i < tbl->n; i++)
		entry_free(tbl->v[i]);
	free(tbl->v);
	tbl->v = NULL;
	tbl->n = tbl->cap = 0;
	tbl->nlocal = tbl->nremote = 0;
}

/* e's struct rmeta, made zeroed (psize -1) on first use; owned by "e". */
struct rmeta *
entry_rmeta(struct entry *e)
{
	if (e->rx == NULL) {
		e->rx = xcalloc(1, sizeof(*e->rx));
		e->rx->psize = -1;
	}
	return e->rx;
}

/* Mark "e" encrypted; returns its struct rmeta, as entry_rmeta. */
struct rmeta *
entry_rcrypt(struct entry *e)
{
	e->rcrypt = RCRYPT_YES;
	return entry_rmeta(e);
}

/*
 * Mark "e" as a plain object: what rmeta said of encryption (plaintext
 * size, keyed checksum, key id) is gone; an MD5 it held is kept, else the
 * struct rmeta is freed.
 */
void
entry_set_plain(struct entry *e)
{
	e->rcrypt = RCRYPT_NO;
	if (e->rx == NULL)
		return;
	if (!e->rx->md5_known && e->rx->lock_until == 0) {
		free(e->rx);
		e->rx = NULL;
		return;
	}
	e->rx->psize = -1;
	e->rx->hmac_known = e->rx->keyid_known = 0;
}

/*
 * Record "md5" (16 bytes) as the MD5 of e's object, against the ETag that
 * table_set_etag left in "e": rnotmd5 is set when that ETag is a
 * single-part MD5 but not this one (and cleared otherwise), and the MD5
 * is kept apart (rmeta) whenever the ETag does not give it.
 */
void
entry_set_md5(struct entry *e, const unsigned char *md5)
{
	struct rmeta *rx;

	e->rnotmd5 = e->retag_md5 && e->rparts == 0 &&
	    memcmp(e->rmd5, md5, 16) != 0;
	if (e->retag_md5 && e->rparts == 0 && !e->rnotmd5) {
		/* The ETag says it all. */
		if (e->rx != NULL)
			e->rx->md5_known = 0;
		return;
	}
	rx = entry_rmeta(e);
	memcpy(rx->md5, md5, 16);
	rx->md5_known = 1;
}

/*
 * The MD5 of e's content as far as known: rmeta's, else the ETag's when
 * it is a single-part MD5 not marked rnotmd5; NULL when unknown.  The
 * bytes belong to "e".
 */
const unsigned char *
entry_md5(const struct entry *e)
{
	if (e->rx != NULL && e->rx->md5_known)
		return e->rx->md5;
	if (e->retag_md5 && e->rparts == 0 && !e->rnotmd5)
		return e->rmd5;
	return NULL;
}

/*
 * Parse an S3 ETag ("hex32" or "hex32-N" with N from 1 to 10000, quotes
 * already removed, hex of either case) into e->rmd5/rparts and set
 * retag_md5; for other forms leave it clear.  Either way rnotmd5 is
 * cleared.
 */
void
table_set_etag(struct entry *e, const char *etag)
{
	unsigned char md5[16];
	char *end;
	long parts = 0;

	e->retag_md5 = 0;
	e->rnotmd5 = 0;
	e->rparts = 0;
	if (hex_decode(etag, sizeof(md5), md5) == -1)
		return;
	if (etag[32] == '-') {
		/* strtol would also take leading blanks and a sign. */
		if (!isdigit((unsigned char)etag[33]))
			return;
		parts = strtol(etag + 33, &end, 10);
		if (*end != '\0' || parts < 1 || parts > 10000)
			return;
	} else if (etag[32] != '\0')
		return;
	memcpy(e->rmd5, md5, sizeof(md5));
	e->rparts = (uint16_t)parts;
	e->retag_md5 = 1;
}

/*
 * Parse rclone's mtime format ("seconds[.fraction]", seconds possibly
 * negative; fraction digits past the 9th are ignored) into *sec and
 * *nsec, nsec from 0 to 999999999 ("-1.25" is sec -2, nsec 750000000).
 * Returns 0, or -1 when malformed or out of range.
 */
int
mtime_parse(const char *s, int64_t *sec, int32_t *nsec)
{
	int64_t v = 0;
	int32_t frac = 0;
	int digits = 0, neg = 0;

	if (*s == '-') {
		neg = 1;
		s++;
	}
	if (!isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (*s == '.') {
		for (s++; isdigit((unsigned char)*s); s++) {
			/* Beyond nanoseconds the digits carry nothing we keep. */
			if (digits < 9) {
				frac = frac * 10 + (*s - '0');
				digits++;
			}
		}
		if (digits == 0)
			return -1;
	}
	if (*s != '\0')
		return -1;
	for (; digits < 9; digits++)
		frac *= 10;
	if (neg && frac > 0) {
		/* -1.25 is 0.75 s after -2: sec -2, nsec 750000000. */
		*sec = -v - 1;
		*nsec = 1000000000 - frac;
	} else {
		*sec = neg ? -v : v;
		*nsec = frac;
	}
	return 0;
}

/*
 * Parse a listing's LastModified ("2026-12-03T14:21:06.000Z", always UTC;
 * the fraction is optional and dropped) into whole seconds *sec.  Returns
 * 0, or -1 when malformed.
 */
int
lastmod_parse(const char *s, int64_t *sec)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	/* The fraction (S3 sends milliseconds) is dropped: whole seconds. */
	if (*end == '.') {
		if (!isdigit((unsigned char)end[1]))
			return -1;
		for (end++; isdigit((unsigned char)*end); end++)
			;
	}
	if (strcmp(end, "Z") != 0)
		return -1;
	*sec = (int64_t)timegm(&tm);
	return 0;
}

/*
 * Format sec/nsec the way rclone stores it, the inverse of mtime_parse,
 * into out[32]: "seconds.fraction" without trailing zeros (and without
 * the dot when the fraction is 0), "-S.F" before the epoch.
 */
void
mtime_format(int64_t sec, int32_t nsec, char out[32])
{
	int n;

	if (sec < 0 && nsec > 0) {
		/* Back to "-S.F" for times before the epoch. */
		sec += 1;
		nsec = 1000000000 - nsec;
		n = snprintf(out, 32, "-%lld.%09d", (long long)-sec, (int)nsec);
	} else
		n = snprintf(out, 32, "%lld.%09d", (long long)sec, (int)nsec);
	/* rclone drops trailing zeros of the fraction, and the dot with them. */
	while (n > 0 && out[n - 1] == '0')
		out[--n] = '\0';
	if (n > 0 && out[n - 1] == '.')
		out[--n] = '\0';
}
