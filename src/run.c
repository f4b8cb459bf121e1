/*
 * One run's context, shared by the stages that talk to the bucket (the
 * HEAD pass, upload, multipart, download, delete, the sweep), and what
 * each of them would otherwise repeat: saying a failed call once (a
 * fatal one once for the whole run), counting and recording a failed
 * entry, the headers of an object written, and the bookkeeping of an
 * object stored.  A stage's own state (its cursor over the plan, what
 * is under way) stays private to its file.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "s3.h"

/*
 * Fill "run" (zeroed first: realroot NULL, fatal clear), cfg taken from
 * "s3".  Nothing is copied: every pointer must outlive the run.
 */
void
run_init(struct run *run, struct s3 *s3, const char *bucket,
    const char *root, struct plan *plan, struct report *rep,
    const struct crypt_key *key)
{
	memset(run, 0, sizeof(*run));
	run->s3 = s3;
	run->cfg = s3_config(s3);
	run->bucket = bucket;
	run->root = root;
	run->plan = plan;
	run->rep = rep;
	run->key = key;
}

/*
 * Mark the run fatal.  Returns 1 the first time (the caller says why),
 * else 0.
 */
int
run_stop(struct run *run)
{
	int first = !run->fatal;

	run->fatal = 1;
	return first;
}

/*
 * Call "c" for "key" failed: say so on stderr (report_error).  A fatal
 * failure (s3_call_fatal: credentials, bucket, network) is said once,
 * as the bare message, and marks the run fatal (run_stop); after that it
 * is only kept for key's --report line (report_keep).  Any other is said
 * as "WHAT failed: MESSAGE".  Returns what was said or kept (caller
 * frees).
 */
char *
run_call_failed(struct run *run, const char *key, const struct s3_call *c,
    const char *what)
{
	char *msg, *said;

	msg = s3_call_errstr(c);
	if (!s3_call_fatal(c)) {
		said = xasprintf("%s failed: %s", what, msg);
		report_error(run->rep, key, "%s", said);
		free(msg);
		return said;
	}
	/* Say it once: every other call fails the same way. */
	if (run_stop(run))
		report_error(run->rep, key, "%s", msg);
	else
		report_keep(run->rep, key, msg);
	return msg;
}

/*
 * "e" failed for good: count it (rep->failed) and write its --report
 * line with "action", result "failed" and "error".
 */
void
run_failed(struct run *run, const struct entry *e, const char *action,
    const char *error)
{
	run->rep->failed++;
	report_record(run->rep, e, action, "failed", error);
}

/*
 * The endpoint as journals name it: cfg->endpoint, or "aws:REGION" on
 * AWS.  Caller frees.
 */
char *
run_endpoint(const struct run *run)
{
	if (run->cfg->endpoint != NULL)
		return xstrdup(run->cfg->endpoint);
	return xasprintf("aws:%s", s3_region(run->s3));
}

/*
 * Add to "c" the headers of an object this run writes beyond
 * s3_put_new's: when "sealed" (encrypted for run->key),
 * x-amz-meta-p3-crypt, -p3-size ("psize" plaintext bytes), -p3-key (the
 * key id, CRYPT_KEYID_SHORT bytes in hex) and -p3-hmac (when "hmac" is
 * not NULL); x-amz-storage-class with --storage-class; and the file's
 * mode and owner (meta_headers) when "st" is not NULL.
 */
void
run_put_headers(const struct run *run, struct s3_call *c, int sealed,
    uint64_t psize, const unsigned char hmac[32], const struct stat *st)
{
	char num[24], hex[65];

	if (sealed) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)psize);
		s3_call_header(c, "x-amz-meta-p3-crypt", "1");
		s3_call_header(c, "x-amz-meta-p3-size", num);
		hex_encode(crypt_key_id(run->key), CRYPT_KEYID_SHORT, hex);
		s3_call_header(c, "x-amz-meta-p3-key", hex);
		if (hmac != NULL) {
			hex_encode(hmac, 32, hex);
			s3_call_header(c, "x-amz-meta-p3-hmac", hex);
		}
	}
	if (run->cfg->storage_class != NULL)
		s3_call_header(c, "x-amz-storage-class",
		    run->cfg->storage_class);
	if (st != NULL)
		meta_headers(c, st);
}

/*
 * "e" was stored as an object of "size" bytes from the file as "st" saw
 * it (plaintext size, mtime), encrypted for run->key when "sealed" (keyed
 * checksum "hmac", or NULL when unknown), its ETag "etag" and the MD5 of
 * its bytes "md5": record that, and st's mode and owner, on e's remote
 * side (a new object is not tagged deleted), count it uploaded (object
 * bytes in uploaded_bytes), say so with -v (report_action) and write its
 * --report line.
 */
void
run_uploaded(struct run *run, struct entry *e, int64_t size,
    const struct stat *st, int sealed, const unsigned char *hmac,
    const char *etag, const unsigned char md5[16])
{
	struct rmeta *rx;

	e->remote = 1;
	e->rsize = size;
	if (sealed) {
		rx = entry_rcrypt(e);
		rx->psize = st->st_size;
		rx->hmac_known = hmac != NULL;
		if (hmac != NULL)
			memcpy(rx->hmac, hmac, sizeof(rx->hmac));
		memcpy(rx->keyid, crypt_key_id(run->key), CRYPT_KEYID_SHORT);
		rx->keyid_known = 1;
	} else
		entry_set_plain(e);
	e->rmtime_sec = st->st_mtim.tv_sec;
	e->rmtime_nsec = st->st_mtim.tv_nsec;
	e->rmtime_known = 1;
	/* The ETag as listings will show it (the index)... */
	table_set_etag(e, etag);
	/* ...and the MD5 that --checksum and restores compare. */
	entry_set_md5(e, md5);
	e->rtagged = 0;		/* a new object carries no tags */
	/* A marker is sent without a mode: it has none to compare. */
	e->rperm_known = !e->dir;
	e->rperm = meta_perm(st->st_mode, st->st_uid, st->st_gid);
	/*
	 * Locked until then (sse.c sent it): no extension for a while.
	 * Without --lock-days the new version has no lock, whatever the
	 * old one had.
	 */
	if (run->cfg->lock_days > 0)
		entry_rmeta(e)->lock_until = run->cfg->lock_until;
	else if (e->rx != NULL)
		e->rx->lock_until = 0;
	run->rep->uploaded++;
	run->rep->uploaded_bytes += (uint64_t)size;
	report_action(run->rep, "upload", NULL, e->key);
	report_record(run->rep, e, "upload", "ok", NULL);
}
