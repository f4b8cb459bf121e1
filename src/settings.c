/*
 * The backup's defining settings, recorded with it: the object
 * "[PREFIX/].p3backup/settings" says whether the backup is encrypted
 * (for which key) and compressed.  A run that contradicts them stops
 * before any upload (or download) unless --new-settings says the
 * change is meant; so a forgotten --encrypt-key can never replace
 * encrypted objects with plaintext.  A bucket written before this
 * object existed is judged by what its objects say of themselves.
 */
#include "config.h"

#include <err.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "extern.h"
#include "s3.h"

#define SETTINGS_NAME	RESERVED_PREFIX "settings"
#define SETTINGS_FORMAT	1
#define KEYID_LEN	32		/* crypt_key_id's bytes */
#define SETTINGS_PROBES	8		/* HEADs when nothing is known */

/* "s3://BUCKET/[PREFIX/]" for messages; caller frees. */
static char *
settings_where(const struct config *cfg, const char *bucket)
{
	return xasprintf("s3://%s/%s%s", bucket, cfg->prefix != NULL ?
	    cfg->prefix : "", cfg->prefix != NULL ? "/" : "");
}

/* The first 8 bytes of a key id in hex, as people compare them. */
static void
settings_keyhex(const unsigned char *id, char out[17])
{
	hex_encode(id, 8, out);
}

/* Parse the JSON text of the object into "st".  0, or -1 if malformed. */
static int
settings_parse(const char *text, size_t len, struct settings *st)
{
	json_t *o, *v;
	const char *hex;
	int rc = -1;

	if ((o = json_loadb(text, len, 0, NULL)) == NULL)
		return -1;
	v = json_object_get(o, "format");
	if (!json_is_integer(v) || json_integer_value(v) != SETTINGS_FORMAT)
		goto out;
	v = json_object_get(o, "encrypt_key_id");
	if (json_is_string(v)) {
		hex = json_string_value(v);
		if (strlen(hex) != 2 * KEYID_LEN ||
		    hex_decode(hex, KEYID_LEN, st->keyid) == -1)
			goto out;
		st->encrypted = 1;
		st->keyid_len = KEYID_LEN;
	} else if (!json_is_null(v))
		goto out;
	v = json_object_get(o, "compress");
	if (!json_is_boolean(v))
		goto out;
	st->compress = json_is_true(v);
	rc = 0;
out:
	json_decref(o);
	return rc;
}

/* Whether "e" is an object known to be sealed, and by which key. */
static int
settings_sealed(const struct entry *e, struct settings *st)
{
	if (!e->remote || e->rcrypt != RCRYPT_YES || e->rx == NULL ||
	    !e->rx->keyid_known)
		return 0;
	st->inferred = 1;
	st->encrypted = 1;
	memcpy(st->keyid, e->rx->keyid, CRYPT_KEYID_SHORT);
	st->keyid_len = CRYPT_KEYID_SHORT;
	return 1;
}

/*
 * No settings object: what the objects say.  Any object known to be
 * encrypted (from the index or a HEAD) makes the backup encrypted, for
 * the key that sealed it.  When the index knows none, up to
 * SETTINGS_PROBES objects of unknown kind are asked with HEAD (a
 * bucket whose index is missing, as after a killed first run); when
 * those cannot be asked, nothing is recorded from the guess.
 */
static void
settings_infer(struct s3 *s3, const char *bucket, const struct table *tbl,
    struct settings *st)
{
	struct s3_call *c;
	struct entry *e;
	size_t i, asked = 0;
	char *key;

	TABLE_FOREACH(tbl, i, e)
		if (settings_sealed(e, st))
			return;
	TABLE_FOREACH(tbl, i, e) {
		if (asked == SETTINGS_PROBES)
			break;
		if (!e->remote || e->dir || e->rcrypt != RCRYPT_UNKNOWN)
			continue;
		asked++;
		key = list_object_key(s3_config(s3), e->key);
		c = s3_call_new("HEAD", bucket, key);
		free(key);
		if (s3_exec(s3, c) == 0)
			index_head_crypt(e, c);
		else
			st->unsure = 1;
		s3_call_free(c);
		if (settings_sealed(e, st))
			return;
	}
}

/*
 * GET [PREFIX/].p3backup/settings into "st" (zeroed first).  When there
 * is none, what the objects of "tbl" say (index and HEAD metadata
 * merged): any object known to be sealed makes the backup encrypted for
 * its key; when none is, up to eight objects of unknown kind are asked
 * with HEAD, what they answer recorded in their entries, and st->unsure
 * set when they cannot be asked.  When SSE-C keeps the object from being
 * read (no key, or another key), a restore goes on without it (said with
 * -v) and a backup stops.  Returns 0, or -1 (reported) when the object
 * cannot be read or is not p3backup's.
 */
int
settings_load(struct s3 *s3, const char *bucket, struct table *tbl,
    struct settings *st)
{
	struct s3_call *c;
	char *key, *msg;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	key = list_object_key(s3_config(s3), SETTINGS_NAME);
	c = s3_call_new("GET", bucket, key);
	if (s3_exec(s3, c) == -1) {
		if (c->status == 404) {
			settings_infer(s3, bucket, tbl, st);
			rc = 0;
		} else if (sse_c_hint(s3_config(s3), c) != NULL &&
		    s3_config(s3)->restore) {
			/* Written with SSE-C: the restore says so per file. */
			logmsg(1, "%s: %s", key, sse_c_hint(s3_config(s3), c));
			rc = 0;
		} else if (sse_c_hint(s3_config(s3), c) != NULL)
			warnx("%s: %s (HTTP %ld): a backup without the key would "
			    "store files unencrypted; nothing uploaded", key,
			    sse_c_hint(s3_config(s3), c), c->status);
		else {
			msg = s3_call_errstr(c);
			warnx("%s: %s", key, msg);
			free(msg);
		}
		goto out;
	}
	if (settings_parse(c->resp.data, c->resp.len, st) == -1) {
		warnx("%s: not p3backup's settings (format %d): fix or delete "
		    "the object", key, SETTINGS_FORMAT);
		goto out;
	}
	st->present = 1;
	rc = 0;
out:
	free(key);
	s3_call_free(c);
	return rc;
}

/* Whether this run's key is the recorded one (as far as recorded). */
static int
settings_same_key(const struct settings *st, const struct config *cfg)
{
	return memcmp(st->keyid, cfg->crypt_keyid, st->keyid_len) == 0;
}

/*
 * Whether this run may go on.  Nothing recorded or inferred: yes.  A
 * restore of an encrypted backup needs --decrypt-key.  A backup whose
 * encryption (on/off, key, and compression when recorded) contradicts
 * "st" may not without cfg->new_settings.  Returns 0, or -1 after one
 * line saying what is recorded and what to do (a usage error).
 */
int
settings_check(const struct settings *st, const struct config *cfg,
    const char *bucket)
{
	char *where, rec[17], cur[17];
	int rc = -1;

	if (!st->present && !st->inferred)
		return 0;
	where = settings_where(cfg, bucket);
	if (st->encrypted)
		settings_keyhex(st->keyid, rec);
	if (cfg->crypt_keyid != NULL)
		settings_keyhex(cfg->crypt_keyid, cur);
	if (cfg->restore) {
		/* Said once here, not once per object. */
		if (st->encrypted && cfg->decrypt_key == NULL)
			warnx("%s is encrypted (key %s): restore it with "
			    "--decrypt-key PRIVATE.pem", where, rec);
		else
			rc = 0;
		goto out;
	}
	if (cfg->new_settings) {
		rc = 0;
		goto out;
	}
	if (st->encrypted && cfg->encrypt_key == NULL)
		warnx("%s is encrypted (key %s): give --encrypt-key PUBLIC.pem; "
		    "--new-settings stores files unencrypted from now on",
		    where, rec);
	else if (!st->encrypted && cfg->encrypt_key != NULL)
		warnx("%s is not encrypted: --new-settings encrypts it from "
		    "now on (every file is uploaded again, sealed for key %s)",
		    where, cur);
	else if (st->encrypted && !settings_same_key(st, cfg))
		warnx("%s is encrypted for key %s, --encrypt-key is key %s: "
		    "--new-settings seals every object again for the new key",
		    where, rec, cur);
	else if (st->present && st->encrypted && st->compress != cfg->compress)
		warnx("%s is %scompressed: %s, or --new-settings", where,
		    st->compress ? "" : "not ", st->compress ? "give --compress" :
		    "leave out --compress");
	else
		rc = 0;
out:
	free(where);
	return rc;
}

/*
 * Whether a backup should record its settings: none recorded yet (even
 * when inferred from the objects), or this run's encryption, key or, when
 * encrypting, compression differs from the recorded ones.  Never when
 * nothing is recorded and the objects could not be asked (st->unsure).
 */
int
settings_changed(const struct settings *st, const struct config *cfg)
{
	int enc = cfg->encrypt_key != NULL;

	/* Never record what a guess could not establish. */
	if (st->unsure && !st->present && !st->inferred)
		return 0;
	return !st->present || st->encrypted != enc || (enc &&
	    (st->keyid_len != KEYID_LEN || !settings_same_key(st, cfg) ||
	    st->compress != cfg->compress));
}

/*
 * PUT this run's settings (compression recorded only with encryption).
 * Returns 0, or -1 (reported).
 */
int
settings_save(struct s3 *s3, const char *bucket)
{
	const struct config *cfg = s3_config(s3);
	char hex[2 * KEYID_LEN + 1], *text = NULL, *key, *msg;
	struct s3_call *c;
	json_t *o;
	int rc = -1;

	if (cfg->encrypt_key != NULL)
		hex_encode(cfg->crypt_keyid, KEYID_LEN, hex);
	o = json_pack("{s:i, s:s?, s:b, s:s}", "format", SETTINGS_FORMAT,
	    "encrypt_key_id", cfg->encrypt_key != NULL ? hex : NULL,
	    "compress", cfg->encrypt_key != NULL && cfg->compress,
	    "written_by", "p3backup " PACKAGE_VERSION);
	if (o == NULL || (text = json_dumps(o, JSON_COMPACT)) == NULL)
		errx(EXIT_FATAL, "settings: cannot encode");
	key = list_object_key(cfg, SETTINGS_NAME);
	c = s3_call_new("PUT", bucket, key);
	s3_call_body(c, text, strlen(text), "application/json");
	if (s3_exec(s3, c) == -1) {
		msg = s3_call_errstr(c);
		warnx("%s: %s", key, msg);
		free(msg);
	} else {
		logmsg(1, "settings: recorded in %s", key);
		rc = 0;
	}
	s3_call_free(c);
	json_decref(o);
	free(text);
	free(key);
	return rc;
}
