/*
 * Unit tests for table.c: the key table, merging the scan's table with
 * the listing's, ETag parsing, and rclone's mtime format.  The pinned
 * mtime strings were observed from rclone v1.60.1-DEV (Debian 12)
 * writing x-amz-meta-mtime to s3rver 3.7.1.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "tap.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* MD5 of the empty string, the ETag of an empty object. */
#define EMPTY_MD5	"d41d8cd98f00b204e9800998ecf8427e"

static const unsigned char empty_md5[16] = {
	0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00, 0xb2, 0x04,
	0xe9, 0x80, 0x09, 0x98, 0xec, 0xf8, 0x42, 0x7e
};

static void
test_get_find(void)
{
	struct table tbl = { 0 };
	struct entry *e, *again;
	static const unsigned char zero[sizeof(*e)];

	ok(table_find(&tbl, "a", 1) == NULL, "find in an empty table");
	e = table_get(&tbl, "a/b.txt", 7);
	ok(e != NULL && strcmp(e->key, "a/b.txt") == 0 &&
	    e->hh.keylen == 7, "get adds the key");
	ok(!e->local && !e->remote && !e->dir && !e->rmtime_known &&
	    !e->retag_md5 && e->lsize == 0 && e->rsize == 0 &&
	    e->lmtime_sec == 0 && e->rmtime_nsec == 0 && e->rparts == 0 &&
	    memcmp(e->rmd5, zero, sizeof(e->rmd5)) == 0,
	    "a new entry is zeroed");
	e->local = 1;
	e->lsize = 42;
	again = table_get(&tbl, "a/b.txt", 7);
	ok(again == e && again->local && again->lsize == 42,
	    "get finds the same entry again");
	ok(tbl.n == 1, "one entry after two gets");
	ok(table_find(&tbl, "a/b.txt", 7) == e, "find the key");
	ok(table_find(&tbl, "a/b", 3) == NULL, "find a missing prefix");
	ok(table_find(&tbl, "a/b.txt/", 8) == NULL, "find a missing longer key");
	ok(table_find(&tbl, "A/B.TXT", 7) == NULL, "find is case-sensitive");

	/* Only keylen bytes count, not the NUL. */
	again = table_get(&tbl, "a/b.txt", 3);
	ok(again != e && strcmp(again->key, "a/b") == 0,
	    "get with a shorter keylen is another key");
	ok(tbl.n == 2, "two entries");
	table_free(&tbl);
	ok(tbl.hash == NULL && tbl.n == 0 && tbl.nlocal == 0 &&
	    tbl.nremote == 0, "table_free empties the table");
	table_free(&tbl);
	ok(tbl.hash == NULL && tbl.n == 0, "table_free on an empty table");

	/* table_add appends without indexing, in order. */
	e = table_add(&tbl, "x/y", 3);
	again = table_add(&tbl, "x", 1);
	ok(tbl.n == 2 && tbl.v[0] == e && tbl.v[1] == again &&
	    ENTRY_KEYLEN(e) == 3 && strcmp(e->key, "x/y") == 0,
	    "add appends in order, with the key length");
	ok(table_find(&tbl, "x/y", 3) == NULL, "add does not index");
	table_free(&tbl);
}

/* Keys are bytes: anything but the NUL we store after them. */
static void
test_special_keys(void)
{
	static const struct {
		const char	*key;
		size_t		 len;
	} keys[] = {
		{ "sp ace", 6 },
		{ "line\nfeed", 9 },
		{ "tab\there", 8 },
		{ "%2F+%20", 7 },
		{ "\x01\x02", 2 },
		{ "\xc3\xa9t\xc3\xa9", 6 },
		{ "\xff\xfe", 2 },
		{ "\x80", 1 },
		{ "dir/", 4 },
		{ "dir", 3 },
		{ "nul\0a", 5 },
		{ "nul\0b", 5 },
		{ "nul", 3 },
	};
	struct entry *e[NELEM(keys)];
	struct table tbl = { 0 };
	size_t i, good = 0;

	for (i = 0; i < NELEM(keys); i++)
		e[i] = table_get(&tbl, keys[i].key, keys[i].len);
	ok(tbl.n == NELEM(keys), "%zu distinct keys",
	    NELEM(keys));
	for (i = 0; i < NELEM(keys); i++)
		if (table_find(&tbl, keys[i].key, keys[i].len) == e[i] &&
		    table_get(&tbl, keys[i].key, keys[i].len) == e[i] &&
		    memcmp(e[i]->key, keys[i].key, keys[i].len) == 0 &&
		    e[i]->key[keys[i].len] == '\0')
			good++;
	ok(good == NELEM(keys), "special keys found again with their bytes "
	    "(%zu of %zu)", good, NELEM(keys));
	ok(tbl.n == NELEM(keys), "no entry added by finding");
	table_free(&tbl);
}

/* Add "key" as the scan would record it. */
static struct entry *
add_local(struct table *tbl, const char *key, int64_t size, int64_t sec,
    int32_t nsec)
{
	struct entry *e;

	e = table_add(tbl, key, strlen(key));
	e->local = 1;
	e->lsize = size;
	e->lmtime_sec = sec;
	e->lmtime_nsec = nsec;
	tbl->nlocal++;
	return e;
}

/* Add "key" as the listing (and a HEAD for the mtime) would record it. */
static struct entry *
add_remote(struct table *tbl, const char *key, int64_t size,
    const char *etag, const char *mtime)
{
	struct entry *e;

	e = table_get(tbl, key, strlen(key));
	e->remote = 1;
	e->rsize = size;
	table_set_etag(e, etag);
	if (mtime != NULL && mtime_parse(mtime, &e->rmtime_sec,
	    &e->rmtime_nsec) == 0)
		e->rmtime_known = 1;
	tbl->nremote++;
	return e;
}

/* The entry of "key" in "tbl", by a walk (a merged table has no index). */
static struct entry *
named(const struct table *tbl, const char *key)
{
	struct entry *e;
	size_t i;

	TABLE_FOREACH(tbl, i, e)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

static void
test_merge(void)
{
	struct table local = { 0 }, remote = { 0 }, empty = { 0 };
	struct entry *e, *ronly;

	add_local(&local, "both", 10, 1577934245, 123456789);
	add_local(&local, "both-nomtime", 20, 5, 6);
	add_local(&local, "local-only", 30, 7, 8);
	add_local(&local, "d/", 0, 0, 0)->dir = 1;
	add_remote(&remote, "both", 11, EMPTY_MD5 "-3", "1577934245.5");
	add_remote(&remote, "both-nomtime", 20, "not-an-md5", NULL);
	ronly = add_remote(&remote, "remote-only", 40, EMPTY_MD5, "-1.25");
	add_remote(&remote, "d/", 0, EMPTY_MD5, NULL);

	table_merge(&local, &remote);
	ok(remote.hash == NULL && remote.n == 0 && remote.nlocal == 0 &&
	    remote.nremote == 0, "merge leaves the source empty");
	ok(local.n == 5, "5 keys after the merge, got %zu",
	    local.n);
	ok(local.nlocal == 4 && local.nremote == 4,
	    "counts summed: nlocal %zu nremote %zu", local.nlocal,
	    local.nremote);

	e = named(&local, "both");
	ok(e != NULL && e->local && e->remote, "overlap: both sides");
	ok(e != NULL && e->lsize == 10 && e->lmtime_sec == 1577934245 &&
	    e->lmtime_nsec == 123456789, "overlap: local fields kept");
	ok(e != NULL && e->rsize == 11 && e->rmtime_known &&
	    e->rmtime_sec == 1577934245 && e->rmtime_nsec == 500000000,
	    "overlap: size and mtime copied");
	ok(e != NULL && e->retag_md5 && e->rparts == 3 &&
	    memcmp(e->rmd5, empty_md5, 16) == 0, "overlap: ETag copied");

	e = named(&local, "both-nomtime");
	ok(e != NULL && e->local && e->remote && e->rsize == 20 &&
	    !e->rmtime_known && !e->retag_md5 && e->lmtime_sec == 5,
	    "overlap without mtime or MD5 ETag");

	e = named(&local, "local-only");
	ok(e != NULL && e->local && !e->remote && e->rsize == 0,
	    "disjoint local key untouched");

	e = named(&local, "remote-only");
	ok(e == ronly && !e->local && e->remote && e->rsize == 40 &&
	    e->rmtime_known && e->rmtime_sec == -2 &&
	    e->rmtime_nsec == 750000000 && e->retag_md5 && e->rparts == 0,
	    "disjoint remote key moved with its fields");

	e = named(&local, "d/");
	ok(e != NULL && e->dir && e->local && e->remote,
	    "directory marker on both sides");

	table_merge(&local, &empty);
	ok(local.n == 5 && local.nlocal == 4,
	    "merging an empty table changes nothing");
	table_merge(&empty, &local);
	ok(local.n == 0 && empty.n == 5 &&
	    empty.nlocal == 4 && empty.nremote == 4,
	    "merging into an empty table moves everything");
	table_free(&empty);
	table_free(&local);
	table_free(&remote);
}

/* Parse "etag" into a fresh entry (and one holding an earlier ETag). */
static void
etag_ok(const char *etag, int parts, const char *what)
{
	struct entry e, old;

	memset(&e, 0, sizeof(e));
	table_set_etag(&e, etag);
	ok(e.retag_md5 && e.rparts == parts &&
	    memcmp(e.rmd5, empty_md5, 16) == 0, "etag %s: md5, %d parts",
	    what, parts);
	memset(&old, 0, sizeof(old));
	old.retag_md5 = 1;
	old.rparts = 7;
	table_set_etag(&old, etag);
	ok(old.retag_md5 && old.rparts == parts, "etag %s: replaces", what);
}

static void
etag_bad(const char *etag, const char *what)
{
	struct entry e, old;

	memset(&e, 0, sizeof(e));
	table_set_etag(&e, etag);
	ok(!e.retag_md5 && e.rparts == 0, "etag %s: rejected", what);
	memset(&old, 0, sizeof(old));
	table_set_etag(&old, EMPTY_MD5 "-2");
	table_set_etag(&old, etag);
	ok(!old.retag_md5 && old.rparts == 0,
	    "etag %s: clears an earlier ETag", what);
}

static void
test_etag(void)
{
	etag_ok(EMPTY_MD5, 0, "hex32");
	etag_ok(EMPTY_MD5 "-3", 3, "hex32-3");
	etag_ok(EMPTY_MD5 "-1", 1, "hex32-1");
	etag_ok(EMPTY_MD5 "-10000", 10000, "hex32-10000");
	etag_ok("D41D8CD98F00B204E9800998ECF8427E", 0, "upper-case hex");
	etag_ok("D41d8CD98f00B204e9800998ECF8427e-2", 2, "mixed-case hex");

	etag_bad("xyz", "xyz");
	etag_bad("", "empty");
	etag_bad("d41d8cd98f00b204e9800998ecf8427", "31 hex digits");
	etag_bad(EMPTY_MD5 "0", "33 hex digits");
	etag_bad("g41d8cd98f00b204e9800998ecf8427e", "non-hex digit");
	etag_bad(EMPTY_MD5 "-0", "-0");
	etag_bad(EMPTY_MD5 "-10001", "-10001");
	etag_bad(EMPTY_MD5 "-3x", "-3x");
	etag_bad(EMPTY_MD5 "-", "dash without parts");
	etag_bad(EMPTY_MD5 "--3", "--3");
	etag_bad(EMPTY_MD5 "-+3", "-+3");
	etag_bad(EMPTY_MD5 "- 3", "dash space 3");
	etag_bad(EMPTY_MD5 "-99999999999999999999", "huge part count");
	etag_bad("\"" EMPTY_MD5 "\"", "still quoted");
}

/* The accepted inputs of mtime_parse and what they mean. */
static const struct {
	const char	*s;
	int64_t		 sec;
	int32_t		 nsec;
} mtime_good[] = {
	{ "1700000000", 1700000000, 0 },
	{ "1700000000.5", 1700000000, 500000000 },
	{ "1700000000.123456789", 1700000000, 123456789 },
	/* Beyond nanoseconds the digits are dropped, as rclone does. */
	{ "1700000000.1234567891", 1700000000, 123456789 },
	{ "1700000000.9999999999", 1700000000, 999999999 },
	{ "0", 0, 0 },
	{ "-0", 0, 0 },
	{ "0.000000001", 0, 1 },
	{ "-1", -1, 0 },
	{ "-1.25", -2, 750000000 },
	{ "-0.5", -1, 500000000 },
	{ "1577934245.0000001", 1577934245, 100 },
	{ "1700000000.000", 1700000000, 0 },
	{ "4102444800.999999999", INT64_C(4102444800), 999999999 },
};

static void
test_mtime_parse(void)
{
	static const char *const bad[] = { "", "abc", "1.", "1.2.3", "1e9",
	    " 1", "1 ", "-", "+1", ".5", "-.5", "1.-2", "1,5", "0x10",
	    "99999999999999999999" };
	int64_t sec;
	int32_t nsec;
	size_t i;

	for (i = 0; i < NELEM(mtime_good); i++) {
		sec = -7;
		nsec = -7;
		ok(mtime_parse(mtime_good[i].s, &sec, &nsec) == 0 &&
		    sec == mtime_good[i].sec && nsec == mtime_good[i].nsec,
		    "mtime_parse \"%s\": %lld s %d ns", mtime_good[i].s,
		    (long long)sec, (int)nsec);
	}
	for (i = 0; i < NELEM(bad); i++)
		ok(mtime_parse(bad[i], &sec, &nsec) == -1,
		    "mtime_parse rejects \"%s\"", bad[i]);
}

/*
 * rclone's x-amz-meta-mtime, observed from rclone v1.60.1-DEV against
 * s3rver 3.7.1 for files touched to these times: the fraction keeps at
 * most 9 digits, trailing zeros are dropped and the dot with them, and
 * times before the epoch are "-" and the distance to it.
 */
static const struct {
	int64_t		 sec;
	int32_t		 nsec;
	const char	*s;
} rclone_seen[] = {
	{ 1577934245, 123456789, "1577934245.123456789" },
	{ 1577934245, 0, "1577934245" },
	{ 1577934245, 120000000, "1577934245.12" },
	{ 1577934245, 500000000, "1577934245.5" },
	{ 1577934245, 100, "1577934245.0000001" },
	{ 0, 0, "0" },
	{ -2, 750000000, "-1.25" },
	{ -1, 500000000, "-0.5" },
	{ INT64_C(4102444800), 999999999, "4102444800.999999999" },
};

static void
test_mtime_format(void)
{
	char out[32];
	int64_t sec;
	int32_t nsec;
	size_t i;

	for (i = 0; i < NELEM(rclone_seen); i++) {
		mtime_format(rclone_seen[i].sec, rclone_seen[i].nsec, out);
		is_str(out, rclone_seen[i].s, "mtime_format as rclone: %s",
		    rclone_seen[i].s);
		ok(mtime_parse(rclone_seen[i].s, &sec, &nsec) == 0 &&
		    sec == rclone_seen[i].sec && nsec == rclone_seen[i].nsec,
		    "mtime_parse reads rclone's %s", rclone_seen[i].s);
	}
	mtime_format(-1, 0, out);
	is_str(out, "-1", "mtime_format -1 s");

	/* Every accepted value comes back from its formatted string. */
	for (i = 0; i < NELEM(mtime_good); i++) {
		mtime_format(mtime_good[i].sec, mtime_good[i].nsec, out);
		ok(mtime_parse(out, &sec, &nsec) == 0 &&
		    sec == mtime_good[i].sec && nsec == mtime_good[i].nsec,
		    "round trip \"%s\" via \"%s\"", mtime_good[i].s, out);
	}
	/* The widest values fit out[32]. */
	mtime_format(INT64_MIN + 1, 1, out);
	is_str(out, "-9223372036854775806.999999999", "mtime_format far past");
	mtime_format(INT64_MAX, 999999999, out);
	is_str(out, "9223372036854775807.999999999", "mtime_format far future");
}

/* util.c's hex_decode, which table_set_etag and the index use. */
static void
test_hex_decode(void)
{
	unsigned char out[4];

	memset(out, 0, sizeof(out));
	ok(hex_decode("00fFa5C3", 4, out) == 0 && out[0] == 0x00 &&
	    out[1] == 0xff && out[2] == 0xa5 && out[3] == 0xc3,
	    "hex_decode: either case");
	ok(hex_decode("00ff", 4, out) == -1, "hex_decode: a short string stops");
	ok(hex_decode("00fg", 2, out) == -1, "hex_decode: not a hex digit");
	ok(hex_decode("0", 1, out) == -1, "hex_decode: an odd digit count");
	ok(hex_decode("zz", 0, out) == 0, "hex_decode: nothing to decode");
}

int
main(void)
{
	test_hex_decode();
	test_get_find();
	test_special_keys();
	test_merge();
	test_etag();
	test_mtime_parse();
	test_mtime_format();
	return tap_done();
}
