/*
 * Unit tests for settings.c's judgement: which runs the recorded (or
 * inferred) settings let through, what they say when they do not, and
 * when a run records its own.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "tap.h"

static unsigned char key1[32], key2[32];

/* Recorded settings: encrypted for "id" (NULL: plain), "compress". */
static struct settings
rec(const unsigned char *id, int compress, int inferred)
{
	struct settings st;

	memset(&st, 0, sizeof(st));
	st.present = !inferred;
	st.inferred = inferred;
	if (id != NULL) {
		st.encrypted = 1;
		memcpy(st.keyid, id, 32);
		st.keyid_len = inferred ? CRYPT_KEYID_SHORT : 32;
	}
	st.compress = compress;
	return st;
}

/* A run: backup or restore, with key "id" (NULL: none). */
static struct config
run(int restore, const unsigned char *id, int compress, int new_settings)
{
	struct config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.restore = restore;
	if (id != NULL) {
		if (restore)
			cfg.decrypt_key = "k.pem";
		else
			cfg.encrypt_key = "k.pub";
		cfg.crypt_keyid = id;
	}
	cfg.compress = compress;
	cfg.new_settings = new_settings;
	return cfg;
}

/* settings_check, its message (or "") in out. */
static int
check(const struct settings *st, const struct config *cfg, char *out,
    size_t len)
{
	int h, rc;

	if ((h = tap_capture_begin()) == -1)
		exit(99);
	rc = settings_check(st, cfg, "bkt");
	tap_capture_end(h, out, len);
	return rc;
}

int
main(void)
{
	static const struct {
		int		 present, inferred;
		int		 rkey;		/* 0 plain, 1 key1, 2 key2 */
		int		 rcompress;
		int		 restore, key, compress, new_settings;
		int		 rc;
		const char	*said;		/* in the message, or NULL */
		const char	*what;
	} c[] = {
		{ 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, "nothing recorded: plain run" },
		{ 0, 0, 0, 0, 0, 1, 0, 0, 0, NULL, "nothing recorded: encrypted run" },
		{ 1, 0, 0, 0, 0, 0, 0, 0, 0, NULL, "plain, plain run" },
		{ 1, 0, 1, 0, 0, 1, 0, 0, 0, NULL, "key1, key1 run" },
		{ 1, 0, 1, 1, 0, 1, 1, 0, 0, NULL, "key1 compressed, same run" },
		{ 1, 0, 1, 0, 0, 0, 0, 0, -1, "is encrypted (key 0101010101010101): give "
		    "--encrypt-key", "key1, run without a key" },
		{ 1, 0, 1, 0, 0, 2, 0, 0, -1, "is encrypted for key 0101010101010101, "
		    "--encrypt-key is key 0202020202020202", "key1, run with key2" },
		{ 1, 0, 0, 0, 0, 1, 0, 0, -1, "is not encrypted: --new-settings",
		    "plain, run with a key" },
		{ 1, 0, 1, 1, 0, 1, 0, 0, -1, "is compressed: give --compress",
		    "compressed, run without --compress" },
		{ 1, 0, 1, 0, 0, 1, 1, 0, -1, "is not compressed: leave out "
		    "--compress", "not compressed, run with --compress" },
		{ 1, 0, 1, 0, 0, 0, 0, 1, 0, NULL, "key1, no key, --new-settings" },
		{ 1, 0, 1, 0, 0, 2, 0, 1, 0, NULL, "key1, key2, --new-settings" },
		{ 1, 0, 0, 0, 0, 1, 1, 1, 0, NULL, "plain, key1, --new-settings" },
		{ 0, 1, 1, 0, 0, 0, 0, 0, -1, "is encrypted (key 0101010101010101)",
		    "inferred key1, run without a key" },
		{ 0, 1, 1, 0, 0, 1, 0, 0, 0, NULL, "inferred key1, key1 run" },
		{ 0, 1, 1, 0, 0, 1, 1, 0, 0, NULL,
		    "inferred: compression is not known, not judged" },
		{ 1, 0, 1, 0, 1, 0, 0, 0, -1, "is encrypted (key 0101010101010101): "
		    "restore it with --decrypt-key", "restore without a key" },
		{ 1, 0, 1, 0, 1, 1, 0, 0, 0, NULL, "restore with the key" },
		{ 1, 0, 0, 0, 1, 0, 0, 0, 0, NULL, "restore of a plain backup" },
		{ 1, 0, 1, 0, 1, 0, 0, 1, -1, "--decrypt-key",
		    "--new-settings does not let a restore go without a key" },
	};
	const unsigned char *ids[] = { NULL, key1, key2 };
	struct settings st;
	struct config cfg;
	char out[1024];
	size_t i;
	int rc;

	memset(key1, 1, sizeof(key1));
	memset(key2, 2, sizeof(key2));
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		st = rec(ids[c[i].rkey], c[i].rcompress, c[i].inferred);
		st.present = c[i].present;
		cfg = run(c[i].restore, ids[c[i].key], c[i].compress,
		    c[i].new_settings);
		rc = check(&st, &cfg, out, sizeof(out));
		ok(rc == c[i].rc, "%s: %s", c[i].what, rc == 0 ? "goes on" :
		    "stops");
		if (c[i].said != NULL)
			ok(strstr(out, c[i].said) != NULL &&
			    strstr(out, "s3://bkt/ ") != NULL &&
			    strchr(out, '\n') == out + strlen(out) - 1,
			    "%s: one line naming the backup and \"%s\" (%s)",
			    c[i].what, c[i].said, out);
		else
			is_str(out, "", "%s: says nothing", c[i].what);
	}

	/* When a backup records its settings. */
	st = rec(key1, 0, 0);
	cfg = run(0, key1, 0, 0);
	ok(!settings_changed(&st, &cfg), "same settings: not written again");
	cfg = run(0, key2, 0, 1);
	ok(settings_changed(&st, &cfg), "a new key: written");
	cfg = run(0, key1, 1, 1);
	ok(settings_changed(&st, &cfg), "compression on: written");
	cfg = run(0, NULL, 0, 1);
	ok(settings_changed(&st, &cfg), "encryption off: written");
	st = rec(key1, 0, 1);
	cfg = run(0, key1, 0, 0);
	ok(settings_changed(&st, &cfg), "only inferred: written");
	memset(&st, 0, sizeof(st));
	cfg = run(0, NULL, 0, 0);
	ok(settings_changed(&st, &cfg), "nothing recorded: written");
	st = rec(NULL, 0, 0);
	ok(!settings_changed(&st, &cfg), "plain and plain: not written again");
	return tap_done();
}
