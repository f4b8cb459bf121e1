/*
 * Unit tests for plan.c: every combination of what the scan and the
 * listing can say about one key, the --checksum verdicts with and
 * without --mtime, the order of the plan, its counts, and a table of
 * 100,000 keys.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "tap.h"

#define LSEC	INT64_C(1577934245)
#define LNSEC	123456789

/* How the object's mtime relates to the local one. */
enum REL {
	REL_EQUAL,
	REL_NSEC,		/* differs only in the nanoseconds */
	REL_SEC,		/* a second later than the file's */
	REL_OLD			/* a second earlier than the file's */
};

static const char *const relname[] = { "mtime equal", "nsec differs",
    "sec later", "sec earlier" };

/* The way to compare: --size-only, the default, --mtime. */
enum MODE {
	M_SIZE,
	M_DEFAULT,
	M_MTIME
};

static const char *const modename[] = { "--size-only", "default",
    "--mtime" };

/* What is known of the object's mtime. */
enum KNOWN {
	K_NONE,			/* nothing */
	K_LISTED,		/* the listing's LastModified (rlastmod) */
	K_STORED		/* x-amz-meta-mtime (rmtime_known) */
};

static const char *const knownname[] = { "mtime unknown",
    "LastModified only", "stored mtime" };

/* One key as the scan and the listing saw it, and the verdict wanted. */
struct pcase {
	int		 remote;
	int		 samesize;
	enum MODE	 mode;
	enum KNOWN	 known;
	enum REL	 rel;
	int		 dir;		/* a directory marker */
	enum ACT	 act;
	enum REASON	 why;
};

#define U	ACT_UPLOAD, REASON_MTIME
#define S	ACT_SKIP, REASON_SAME

/*
 * A file present locally and in the bucket with the same size: the
 * only place where the mode, what is known and the mtimes matter.
 * (Directory markers are skipped in every one of these cases.)
 */
static const struct pcase same_size[] = {
	/* --size-only: the size decides alone */
	{ 1, 1, M_SIZE, K_NONE,   REL_EQUAL, 0, S },
	{ 1, 1, M_SIZE, K_NONE,   REL_OLD,   0, S },
	{ 1, 1, M_SIZE, K_LISTED, REL_EQUAL, 0, S },
	{ 1, 1, M_SIZE, K_LISTED, REL_OLD,   0, S },
	{ 1, 1, M_SIZE, K_STORED, REL_EQUAL, 0, S },
	{ 1, 1, M_SIZE, K_STORED, REL_NSEC,  0, S },
	{ 1, 1, M_SIZE, K_STORED, REL_SEC,   0, S },
	{ 1, 1, M_SIZE, K_STORED, REL_OLD,   0, S },
	/* default: nothing known is no difference */
	{ 1, 1, M_DEFAULT, K_NONE,   REL_EQUAL, 0, S },
	{ 1, 1, M_DEFAULT, K_NONE,   REL_OLD,   0, S },
	/* default: only a file newer than LastModified (in seconds) */
	{ 1, 1, M_DEFAULT, K_LISTED, REL_EQUAL, 0, S },
	{ 1, 1, M_DEFAULT, K_LISTED, REL_NSEC,  0, S },
	{ 1, 1, M_DEFAULT, K_LISTED, REL_SEC,   0, S },
	{ 1, 1, M_DEFAULT, K_LISTED, REL_OLD,   0, U },
	/* default: a stored mtime must be equal to the nanosecond */
	{ 1, 1, M_DEFAULT, K_STORED, REL_EQUAL, 0, S },
	{ 1, 1, M_DEFAULT, K_STORED, REL_NSEC,  0, U },
	{ 1, 1, M_DEFAULT, K_STORED, REL_SEC,   0, U },
	{ 1, 1, M_DEFAULT, K_STORED, REL_OLD,   0, U },
	/* --mtime: an object without a stored mtime is uploaded */
	{ 1, 1, M_MTIME, K_NONE,   REL_EQUAL, 0, U },
	{ 1, 1, M_MTIME, K_LISTED, REL_EQUAL, 0, U },
	{ 1, 1, M_MTIME, K_LISTED, REL_SEC,   0, U },
	{ 1, 1, M_MTIME, K_LISTED, REL_OLD,   0, U },
	{ 1, 1, M_MTIME, K_STORED, REL_EQUAL, 0, S },
	{ 1, 1, M_MTIME, K_STORED, REL_NSEC,  0, U },
	{ 1, 1, M_MTIME, K_STORED, REL_SEC,   0, U },
	{ 1, 1, M_MTIME, K_STORED, REL_OLD,   0, U },
};

#undef U
#undef S

static struct config cfg;

/* Add "key" to "tbl" as seen locally and/or remotely. */
static struct entry *
add(struct table *tbl, const char *key, int local, int remote)
{
	struct entry *e;

	e = table_get(tbl, key, strlen(key));
	if (local && !e->local) {
		e->local = 1;
		tbl->nlocal++;
	}
	if (remote && !e->remote) {
		e->remote = 1;
		tbl->nremote++;
	}
	return e;
}

/* Describe case "c" in "out". */
static void
describe(const struct pcase *c, int local, char *out, size_t len)
{
	snprintf(out, len, "%s%s, %s, %s, %s, %s, %s",
	    local ? "local" : "not local",
	    c->remote ? " + remote" : ", not remote",
	    c->samesize ? "same size" : "size differs",
	    modename[c->mode], knownname[c->known],
	    relname[c->rel], c->dir ? "dir marker" : "file");
}

/* Build a one-key table for case "c" and check the verdict. */
static void
check_case(const struct pcase *c, int local)
{
	struct table tbl = { 0 };
	struct plan plan;
	struct entry *e;
	char what[256];

	describe(c, local, what, sizeof(what));
	e = add(&tbl, c->dir ? "d/" : "f", local, c->remote);
	e->dir = (unsigned)c->dir;
	e->lsize = c->dir ? 0 : 100;
	e->lmtime_sec = LSEC;
	e->lmtime_nsec = LNSEC;
	if (c->remote) {
		e->rsize = c->samesize ? e->lsize : e->lsize + 1;
		/* Unknown mtimes hold the values too: "unknown" must decide. */
		e->rmtime_known = c->known == K_STORED;
		e->rlastmod = c->known == K_LISTED;
		e->rmtime_sec = LSEC + (c->rel == REL_SEC) - (c->rel == REL_OLD);
		/* LastModified has whole seconds. */
		e->rmtime_nsec = c->known == K_LISTED ? 0 :
		    LNSEC + (c->rel == REL_NSEC);
	}
	cfg.mtime = c->mode == M_MTIME;
	cfg.size_only = c->mode == M_SIZE;
	plan_build(&tbl, &cfg, &plan);
	if (!local)
		ok(plan.n == 0 && plan.nupload == 0 && plan.nskip == 0,
		    "%s: no action", what);
	else if (ok(plan.n == 1 && plan.v[0].e == e, "%s: one action",
	    what)) {
		ok(plan.v[0].act == c->act, "%s: %s", what,
		    c->act == ACT_UPLOAD ? "upload" : "skip");
		is_str(plan_reason(plan.v[0].why), plan_reason(c->why),
		    "%s: reason", what);
	}
	plan_free(&plan);
	table_free(&tbl);
}

/*
 * Every combination of remote, size, mode, what is known of the
 * object's mtime, mtime relation and dir, for a local entry and for a
 * remote-only one.
 */
static void
test_cases(void)
{
	struct pcase c;
	size_t i;
	int local;

	for (local = 1; local >= 0; local--) {
		for (i = 0; i < sizeof(same_size) / sizeof(same_size[0]); i++)
			check_case(&same_size[i], local);
		memset(&c, 0, sizeof(c));
		for (c.remote = 0; c.remote <= 1; c.remote++)
		for (c.samesize = 0; c.samesize <= 1; c.samesize++)
		for (c.mode = M_SIZE; c.mode <= M_MTIME; c.mode++)
		for (c.known = K_NONE; c.known <= K_STORED; c.known++)
		for (c.rel = REL_EQUAL; c.rel <= REL_OLD; c.rel++)
		for (c.dir = 0; c.dir <= 1; c.dir++) {
			/* The same-size files are in the table above. */
			if (c.remote && c.samesize && !c.dir)
				continue;
			/* A marker of the same size is there: skipped. */
			c.act = c.remote && c.samesize ? ACT_SKIP : ACT_UPLOAD;
			c.why = !c.remote ? REASON_NEW : c.samesize ?
			    REASON_SAME : REASON_SIZE;
			check_case(&c, local);
		}
	}
}

/* How the stored mtime looks to --mtime in the --checksum cases. */
enum MT {
	MT_OFF,			/* no --mtime, stored mtime equal */
	MT_OFF_DIFF,		/* no --mtime, stored mtime differs */
	MT_EQUAL,		/* --mtime, stored mtime equal */
	MT_DIFF			/* --mtime, stored mtime differs */
};

static const char *const mtname[] = { "no --mtime", "no --mtime, differs",
    "--mtime equal", "--mtime differs" };
static const char *const csumname[] = { "CSUM_NONE", "CSUM_SAME",
    "CSUM_DIFF", "CSUM_UNKNOWN" };

/* One same-size file with a --checksum verdict, and what to do. */
struct ccase {
	int		 checksum;	/* --checksum */
	enum MT		 mt;
	enum CSUM	 csum;
	enum ACT	 act;
	enum REASON	 why;
};

static const struct ccase csum_cases[] = {
	/* without --checksum the verdict is ignored */
	{ 0, MT_OFF,   CSUM_NONE,    ACT_SKIP,   REASON_SAME },
	{ 0, MT_OFF,   CSUM_SAME,    ACT_SKIP,   REASON_SAME },
	{ 0, MT_OFF,   CSUM_DIFF,    ACT_SKIP,   REASON_SAME },
	{ 0, MT_OFF,   CSUM_UNKNOWN, ACT_SKIP,   REASON_SAME },
	{ 0, MT_EQUAL, CSUM_DIFF,    ACT_SKIP,   REASON_SAME },
	{ 0, MT_EQUAL, CSUM_UNKNOWN, ACT_SKIP,   REASON_SAME },
	{ 0, MT_DIFF,  CSUM_SAME,    ACT_UPLOAD, REASON_MTIME },
	{ 0, MT_DIFF,  CSUM_DIFF,    ACT_UPLOAD, REASON_MTIME },
	/* the default compares mtimes */
	{ 0, MT_OFF_DIFF, CSUM_SAME, ACT_UPLOAD, REASON_MTIME },
	/* --checksum alone: the content decides instead of the mtime */
	{ 1, MT_OFF_DIFF, CSUM_SAME, ACT_SKIP,   REASON_SAME },
	{ 1, MT_OFF_DIFF, CSUM_DIFF, ACT_UPLOAD, REASON_CHECKSUM },
	{ 1, MT_OFF,   CSUM_NONE,    ACT_SKIP,   REASON_SAME },
	{ 1, MT_OFF,   CSUM_SAME,    ACT_SKIP,   REASON_SAME },
	{ 1, MT_OFF,   CSUM_DIFF,    ACT_UPLOAD, REASON_CHECKSUM },
	{ 1, MT_OFF,   CSUM_UNKNOWN, ACT_UPLOAD, REASON_UNVERIFIABLE },
	/* both, mtimes equal: the content decides */
	{ 1, MT_EQUAL, CSUM_NONE,    ACT_SKIP,   REASON_SAME },
	{ 1, MT_EQUAL, CSUM_SAME,    ACT_SKIP,   REASON_SAME },
	{ 1, MT_EQUAL, CSUM_DIFF,    ACT_UPLOAD, REASON_CHECKSUM },
	{ 1, MT_EQUAL, CSUM_UNKNOWN, ACT_UPLOAD, REASON_UNVERIFIABLE },
	/* both, mtimes differ: --mtime is asked first */
	{ 1, MT_DIFF,  CSUM_NONE,    ACT_UPLOAD, REASON_MTIME },
	{ 1, MT_DIFF,  CSUM_SAME,    ACT_UPLOAD, REASON_MTIME },
	{ 1, MT_DIFF,  CSUM_DIFF,    ACT_UPLOAD, REASON_MTIME },
	{ 1, MT_DIFF,  CSUM_UNKNOWN, ACT_UPLOAD, REASON_MTIME },
};

/*
 * Plan one key (a file, or a marker when "dir") present on both sides,
 * with the same size or not, verdict "csum", under --checksum
 * "checksum" and "mt".  Sets *act and *why, or -1 when the plan does
 * not hold exactly one action.
 */
static void
csum_plan(const char *key, int dir, int samesize, int checksum, enum MT mt,
    enum CSUM csum, enum ACT *act, enum REASON *why)
{
	struct table tbl = { 0 };
	struct plan plan;
	struct entry *e;

	e = add(&tbl, key, 1, 1);
	e->dir = (unsigned)dir;
	e->lsize = dir ? 0 : 100;
	e->rsize = samesize ? e->lsize : e->lsize + 1;
	e->lmtime_sec = e->rmtime_sec = LSEC;
	e->lmtime_nsec = e->rmtime_nsec = LNSEC;
	e->rmtime_known = 1;
	if (mt == MT_DIFF || mt == MT_OFF_DIFF)
		e->rmtime_sec++;
	e->csum = (unsigned)csum;
	cfg.mtime = mt == MT_EQUAL || mt == MT_DIFF;
	cfg.checksum = checksum;
	plan_build(&tbl, &cfg, &plan);
	*act = plan.n == 1 ? plan.v[0].act : (enum ACT)-1;
	*why = plan.n == 1 ? plan.v[0].why : (enum REASON)-1;
	plan_free(&plan);
	table_free(&tbl);
}

/*
 * --checksum: every verdict with and without --mtime; directory
 * markers and size changes are never decided by the verdict.
 */
static void
test_checksum(void)
{
	const struct ccase *c;
	enum ACT act;
	enum REASON why;
	enum CSUM csum;
	enum MT mt;
	size_t i;

	for (i = 0; i < sizeof(csum_cases) / sizeof(csum_cases[0]); i++) {
		c = &csum_cases[i];
		csum_plan("f", 0, 1, c->checksum, c->mt, c->csum, &act, &why);
		ok(act == c->act, "%s, %s, %s: %s", c->checksum ?
		    "--checksum" : "no --checksum", mtname[c->mt],
		    csumname[c->csum],
		    c->act == ACT_UPLOAD ? "upload" : "skip");
		is_str(plan_reason(why), plan_reason(c->why),
		    "%s, %s, %s: reason", c->checksum ? "--checksum" :
		    "no --checksum", mtname[c->mt], csumname[c->csum]);
	}
	for (csum = CSUM_NONE; csum <= CSUM_UNKNOWN; csum++)
		for (mt = MT_OFF; mt <= MT_DIFF; mt++) {
			csum_plan("d/", 1, 1, 1, mt, csum, &act, &why);
			ok(act == ACT_SKIP && why == REASON_SAME,
			    "--checksum, dir marker, %s, %s: skip",
			    mtname[mt], csumname[csum]);
			csum_plan("f", 0, 0, 1, mt, csum, &act, &why);
			ok(act == ACT_UPLOAD && why == REASON_SIZE,
			    "--checksum, size differs, %s, %s: size",
			    mtname[mt], csumname[csum]);
		}
	cfg.checksum = 0;
}

static void
test_reason(void)
{
	is_str(plan_reason(REASON_NEW), "new", "reason new");
	is_str(plan_reason(REASON_SIZE), "size", "reason size");
	is_str(plan_reason(REASON_MTIME), "mtime", "reason mtime");
	is_str(plan_reason(REASON_KEY), "other-key", "reason other-key");
	is_str(plan_reason(REASON_CHECKSUM), "checksum", "reason checksum");
	is_str(plan_reason(REASON_UNVERIFIABLE), "unverifiable",
	    "reason unverifiable");
	is_str(plan_reason(REASON_SAME), "same", "reason same");
}

/* The plan is in byte order of the keys, like an S3 listing. */
static void
test_order(void)
{
	/* Inserted out of order; remote-only keys mixed in. */
	static const char *const in[] = { "\xff", "a/b", "z", "a b", "a",
	    "\xc3\xa9t\xc3\xa9", "~", "a/", "A", "a\x7f", "0", "\x01",
	    "a/b/", "\xc3\xa9" };
	static const char *const want[] = { "\x01", "0", "A", "a", "a b",
	    "a/", "a/b", "a/b/", "a\x7f", "z", "~", "\xc3\xa9",
	    "\xc3\xa9t\xc3\xa9", "\xff" };
	static const char *const ronly[] = { "a/c", "\x80", "a/b/c", "b" };
	struct table tbl = { 0 };
	struct plan plan;
	size_t i, n = sizeof(want) / sizeof(want[0]);

	for (i = 0; i < n; i++)
		add(&tbl, in[i], 1, i % 2);
	for (i = 0; i < sizeof(ronly) / sizeof(ronly[0]); i++)
		add(&tbl, ronly[i], 0, 1);
	cfg.mtime = 0;
	plan_build(&tbl, &cfg, &plan);
	if (ok(plan.n == n, "order: %zu actions for %zu local keys",
	    plan.n, n))
		for (i = 0; i < n; i++)
			is_str(plan.v[i].e->key, want[i],
			    "order: position %zu", i);
	for (i = 0; i < plan.n; i++)
		if (!plan.v[i].e->local)
			break;
	ok(i == plan.n, "order: remote-only keys absent");
	plan_free(&plan);
	table_free(&tbl);
}

/* plan_find: every key of the plan found, in the plan's byte order. */
static void
test_find(void)
{
	static const char *const keys[] = { "a", "a/b", "a/b/c", "a-b", "ab",
	    "\xc3\xa9t\xc3\xa9", "\xff", "b", "a/" };
	static const char *const absent[] = { "", "a/b/", "aa", "\xfe", "c" };
	struct table tbl = { 0 };
	struct plan plan;
	const struct action *a;
	struct entry *e;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		e = add(&tbl, keys[i], 1, 0);
		e->dir = keys[i][strlen(keys[i]) - 1] == '/';
	}
	cfg.mtime = 0;
	plan_build(&tbl, &cfg, &plan);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		a = plan_find(&plan, keys[i]);
		ok(a != NULL && strcmp(a->e->key, keys[i]) == 0,
		    "plan_find: key %zu found", i);
	}
	for (i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		ok(plan_find(&plan, absent[i]) == NULL,
		    "plan_find: absent key %zu not found", i);
	plan_free(&plan);
	ok(plan_find(&plan, "a") == NULL, "plan_find: an empty plan");
	table_free(&tbl);
}

/* nupload, nskip and upload_bytes, with --size-only and --mtime. */
static void
test_counts(void)
{
	struct table tbl = { 0 };
	struct plan plan;
	struct entry *e;

	e = add(&tbl, "new", 1, 0);
	e->lsize = INT64_C(6) << 30;	/* past 32 bits */
	e = add(&tbl, "size", 1, 1);
	e->lsize = 20;
	e->rsize = 5;
	e = add(&tbl, "mtime", 1, 1);
	e->lsize = e->rsize = 40;
	e->lmtime_sec = 2;
	e->rmtime_sec = 1;
	e->rmtime_known = 1;
	e = add(&tbl, "same", 1, 1);
	e->lsize = e->rsize = 80;
	e->lmtime_sec = e->rmtime_sec = 3;
	e->rmtime_known = 1;
	e = add(&tbl, "gone", 0, 1);
	e->rsize = 1000;

	cfg.mtime = 0;
	cfg.size_only = 1;
	plan_build(&tbl, &cfg, &plan);
	cfg.size_only = 0;
	ok(plan.n == 4, "counts: 4 actions, got %zu", plan.n);
	ok(plan.nupload == 2, "counts: 2 uploads, got %zu", plan.nupload);
	ok(plan.nskip == 2, "counts: 2 skips, got %zu", plan.nskip);
	ok(plan.upload_bytes == (UINT64_C(6) << 30) + 20,
	    "counts: upload_bytes %llu",
	    (unsigned long long)plan.upload_bytes);
	plan_free(&plan);

	cfg.mtime = 1;
	plan_build(&tbl, &cfg, &plan);
	ok(plan.n == 4, "counts --mtime: 4 actions, got %zu", plan.n);
	ok(plan.nupload == 3, "counts --mtime: 3 uploads, got %zu",
	    plan.nupload);
	ok(plan.nskip == 1, "counts --mtime: 1 skip, got %zu", plan.nskip);
	ok(plan.upload_bytes == (UINT64_C(6) << 30) + 20 + 40,
	    "counts --mtime: upload_bytes %llu",
	    (unsigned long long)plan.upload_bytes);
	plan_free(&plan);
	table_free(&tbl);
}

/* Empty tables, remote-only tables, and plan_free on a freed plan. */
static void
test_empty(void)
{
	struct table tbl = { 0 };
	struct plan plan;

	cfg.mtime = 1;
	plan_build(&tbl, &cfg, &plan);
	ok(plan.n == 0 && plan.nupload == 0 && plan.nskip == 0 &&
	    plan.upload_bytes == 0, "empty table: empty plan");
	plan_free(&plan);
	ok(plan.v == NULL && plan.n == 0, "plan_free zeroes the plan");
	plan_free(&plan);
	ok(plan.v == NULL, "plan_free twice is harmless");
	plan_free(NULL);
	ok(1, "plan_free(NULL) is harmless");

	add(&tbl, "a", 0, 1);
	add(&tbl, "b", 0, 1);
	plan_build(&tbl, &cfg, &plan);
	ok(plan.n == 0 && plan.nupload == 0 && plan.nskip == 0,
	    "remote-only table: empty plan");
	plan_free(&plan);
	table_free(&tbl);
}

/* A small deterministic generator (Knuth's MMIX LCG). */
static uint64_t
lcg(uint64_t *state)
{
	*state = *state * UINT64_C(6364136223846793005) +
	    UINT64_C(1442695040888963407);
	return *state >> 33;
}

#define BIG	100000

/*
 * 100,000 local keys of random bytes 0x01-0xff (so many above 0x80
 * and many sharing prefixes) and some remote-only ones: the plan holds
 * each local key once, in strictly increasing byte order, and the same
 * plan comes out twice.
 */
static void
test_big(void)
{
	struct table tbl = { 0 };
	struct plan plan, again;
	struct entry *e;
	char key[16];
	uint64_t state = 42;
	size_t i, len, nlocal = 0, bad = 0;

	while (nlocal < BIG) {
		len = 1 + lcg(&state) % 6;
		for (i = 0; i < len; i++)
			key[i] = (char)(1 + lcg(&state) % 255);
		key[len] = '\0';
		e = table_get(&tbl, key, len);
		if (e->local)
			continue;
		e->local = 1;
		e->lsize = (int64_t)len;
		nlocal++;
		if (nlocal % 3 == 0) {
			e->remote = 1;
			e->rsize = (int64_t)len;
		}
	}
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "r%zu", i);
		e = table_get(&tbl, key, strlen(key));
		if (!e->local)
			e->remote = 1;
	}
	cfg.mtime = 0;
	plan_build(&tbl, &cfg, &plan);
	ok(plan.n == BIG, "big: %zu actions, want %d", plan.n, BIG);
	for (i = 0; i < plan.n; i++)
		if (!plan.v[i].e->local ||
		    (i > 0 && strcmp(plan.v[i - 1].e->key,
		    plan.v[i].e->key) >= 0))
			bad++;
	ok(bad == 0, "big: strictly increasing local keys (%zu bad)", bad);
	ok(plan.nupload + plan.nskip == plan.n && plan.nskip == BIG / 3,
	    "big: %zu uploads, %zu skips", plan.nupload, plan.nskip);
	plan_build(&tbl, &cfg, &again);
	ok(again.n == plan.n && memcmp(again.v, plan.v,
	    plan.n * sizeof(*plan.v)) == 0, "big: deterministic");
	plan_free(&again);
	plan_free(&plan);
	table_free(&tbl);
}

/* The action planned for "key" in "plan", or -1 when it has none. */
static int
act_of(const struct plan *plan, const char *key)
{
	size_t i;

	for (i = 0; i < plan->n; i++)
		if (strcmp(plan->v[i].e->key, key) == 0)
			return (int)plan->v[i].act;
	return -1;
}

/* The reason planned for "key"; REASON_SAME when it has no action. */
static enum REASON
why_of(const struct plan *plan, const char *key)
{
	size_t i;

	for (i = 0; i < plan->n; i++)
		if (strcmp(plan->v[i].e->key, key) == 0)
			return plan->v[i].why;
	return REASON_SAME;
}

/* --delete, --tag-deleted, the safety cap and --max-uploads. */
static void
test_policies(void)
{
	struct config c;
	struct table tbl;
	struct plan plan;
	struct entry *e;
	char key[32];
	int i;

	memset(&tbl, 0, sizeof(tbl));
	config_init(&c);
	/* Ten objects; three of their files are gone. */
	for (i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "f%d", i);
		e = add(&tbl, key, i >= 3, 1);
		e->lsize = e->rsize = 5;
	}
	plan_build(&tbl, &c, &plan);
	ok(plan.ndelete == 0 && act_of(&plan, "f0") == -1,
	    "without --delete, vanished files' objects get no action");
	plan_free(&plan);

	c.delete_mode = DELETE_OBJECTS;
	plan_build(&tbl, &c, &plan);
	ok(plan.ndelete == 3 && act_of(&plan, "f0") == ACT_DELETE &&
	    act_of(&plan, "f2") == ACT_DELETE && act_of(&plan, "f3") == ACT_SKIP,
	    "--delete: exactly the three vanished objects");
	plan_free(&plan);

	c.delete_mode = DELETE_TAG;
	plan_build(&tbl, &c, &plan);
	ok(plan.ndelete == 3 && act_of(&plan, "f1") == ACT_TAG,
	    "--tag-deleted: the three vanished objects are tagged");
	plan_free(&plan);
	table_find(&tbl, "f1", 2)->rtagged = 1;
	plan_build(&tbl, &c, &plan);
	ok(plan.ndelete == 2 && act_of(&plan, "f1") == -1,
	    "--tag-deleted: an object already tagged is not tagged again");
	plan_free(&plan);

	/* A tagged object whose file is back is uploaded again. */
	table_find(&tbl, "f5", 2)->rtagged = 1;
	plan_build(&tbl, &c, &plan);
	ok(act_of(&plan, "f5") == ACT_UPLOAD &&
	    why_of(&plan, "f5") == REASON_REAPPEARED,
	    "a reappeared file of a tagged object is uploaded (%s)",
	    plan_reason(why_of(&plan, "f5")));
	plan_free(&plan);
	table_find(&tbl, "f5", 2)->rtagged = 0;
	table_find(&tbl, "f1", 2)->rtagged = 0;

	/* Six of ten gone: more than half, refused unless allowed. */
	c.delete_mode = DELETE_OBJECTS;
	for (i = 3; i < 6; i++) {
		snprintf(key, sizeof(key), "f%d", i);
		table_find(&tbl, key, 2)->local = 0;
	}
	plan_build(&tbl, &c, &plan);
	ok(plan.ndelete == 0 && plan.refused == 6 &&
	    act_of(&plan, "f0") == ACT_SKIP,
	    "deleting 6 of 10 is refused by the default cap (refused %zu)",
	    plan.refused);
	plan_free(&plan);
	c.max_delete = 6;
	plan_build(&tbl, &c, &plan);
	ok(plan.ndelete == 6 && plan.refused == 0,
	    "--max-delete 6 allows it");
	plan_free(&plan);
	c.max_delete = 5;
	plan_build(&tbl, &c, &plan);
	ok(plan.ndelete == 0 && plan.refused == 6, "--max-delete 5 does not");
	plan_free(&plan);
	c.max_delete = -1;

	/* --max-uploads: the first N uploads in key order, the rest deferred. */
	table_free(&tbl);
	c.delete_mode = DELETE_NONE;
	for (i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "n%02d", i);
		e = add(&tbl, key, 1, 0);
		e->lsize = 100 + i;
	}
	c.max_uploads = 5;
	plan_build(&tbl, &c, &plan);
	ok(plan.nupload == 5 && plan.ndefer == 15, "--max-uploads 5: 5 "
	    "uploads, 15 deferred");
	ok(act_of(&plan, "n04") == ACT_UPLOAD && act_of(&plan, "n05") ==
	    ACT_DEFER, "the first five in key order go first");
	ok(plan.upload_bytes == 100 + 101 + 102 + 103 + 104,
	    "upload bytes count only the five");
	plan_free(&plan);
	c.max_uploads = 0;
	plan_build(&tbl, &c, &plan);
	ok(plan.nupload == 0 && plan.ndefer == 20, "--max-uploads 0 defers all");
	plan_free(&plan);
	table_free(&tbl);
}

/* 100000 bytes: 2 chunks, 432 + 100000 + 32 stored. */
#define SEALED	100464
#define PLAIN	100000

/*
 * Sizes under encryption: "hlen" header bytes and 16 per 64 KiB chunk.
 * One key per case; "kind" is the object's enum RCRYPT, "psize" its
 * plaintext size from metadata (-1 unknown, or no rx at all: -2).
 */
static int
crypt_act(int restore, int encrypting, int kind, int64_t rsize,
    int64_t psize)
{
	struct table tbl = { 0 };
	struct config c = cfg;
	struct plan plan;
	struct entry *e;
	int act;

	c.restore = restore;
	c.encrypt_key = encrypting && !restore ? "k.pub" : NULL;
	c.crypt_hlen = encrypting ? 432 : 0;
	c.mtime = 0;
	e = add(&tbl, "f", 1, 1);
	e->lsize = PLAIN;
	e->rsize = rsize;
	if (kind == RCRYPT_YES && psize != -2)
		entry_rcrypt(e)->psize = psize;
	e->rcrypt = (unsigned)kind;
	if (restore)
		plan_restore(&tbl, &c, &plan);
	else
		plan_build(&tbl, &c, &plan);
	act = plan.n == 1 ? (int)plan.v[0].act : -1;
	plan_free(&plan);
	table_free(&tbl);
	return act;
}

static const struct {
	int		 restore, encrypting, kind;
	int64_t		 rsize, psize;
	int		 act;
	const char	*what;
} crypt_cases[] = {
	{ 0, 1, RCRYPT_UNKNOWN, SEALED, 0, ACT_SKIP,
	    "encrypting, listed only: the sealed size matches: skip" },
	{ 0, 1, RCRYPT_UNKNOWN, PLAIN, 0, ACT_UPLOAD,
	    "encrypting, listed only: a plain-sized object: upload" },
	{ 0, 1, RCRYPT_NO, PLAIN, 0, ACT_UPLOAD,
	    "encrypting, a known plain object: upload it encrypted" },
	{ 0, 1, RCRYPT_YES, 5000, PLAIN, ACT_SKIP,
	    "encrypting, compressed object of the same plaintext size: skip" },
	{ 0, 1, RCRYPT_YES, 5000, PLAIN + 1, ACT_UPLOAD,
	    "encrypting, plaintext size differs: upload" },
	{ 0, 1, RCRYPT_YES, SEALED, -2, ACT_SKIP,
	    "encrypting, encrypted object, no plaintext size: sealed size" },
	{ 0, 0, RCRYPT_YES, PLAIN, PLAIN, ACT_UPLOAD,
	    "not encrypting, an encrypted object: upload it plain" },
	{ 0, 0, RCRYPT_UNKNOWN, PLAIN, 0, ACT_SKIP,
	    "not encrypting, listed only, same size: skip" },
	{ 1, 1, RCRYPT_UNKNOWN, SEALED, 0, ACT_SKIP,
	    "restore with a key, listed only, sealed size: skip" },
	{ 1, 1, RCRYPT_UNKNOWN, PLAIN, 0, ACT_SKIP,
	    "restore with a key, listed only, plain size: skip" },
	{ 1, 1, RCRYPT_UNKNOWN, PLAIN + 7, 0, ACT_DOWNLOAD,
	    "restore with a key, other size: download" },
	{ 1, 0, RCRYPT_YES, SEALED, PLAIN + 1, ACT_DOWNLOAD,
	    "restore without a key, other plaintext size: download (and fail)" },
	{ 1, 0, RCRYPT_YES, SEALED, -2, ACT_DOWNLOAD,
	    "restore without a key, plaintext size unknown: download" },
	{ 1, 1, RCRYPT_YES, 777, PLAIN, ACT_SKIP,
	    "restore with a key, compressed, same plaintext size: skip" },
};

/* An encrypted object of the right size, sealed for key "id". */
static enum REASON
key_why(const unsigned char *id, int known)
{
	static const unsigned char mine[32] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct table tbl = { 0 };
	struct config c = cfg;
	struct plan plan;
	struct rmeta *rx;
	struct entry *e;
	enum REASON why;

	c.encrypt_key = "k.pub";
	c.crypt_hlen = 432;
	c.crypt_keyid = mine;
	e = add(&tbl, "f", 1, 1);
	e->lsize = PLAIN;
	e->rsize = SEALED;
	rx = entry_rcrypt(e);
	rx->psize = PLAIN;
	memcpy(rx->keyid, id, CRYPT_KEYID_SHORT);
	rx->keyid_known = known;
	plan_build(&tbl, &c, &plan);
	why = plan.n == 1 ? plan.v[0].why : REASON_NEW;
	plan_free(&plan);
	table_free(&tbl);
	return why;
}

static void
test_crypt_sizes(void)
{
	static const unsigned char mine[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	static const unsigned char other[8] = { 1, 2, 3, 4, 5, 6, 7, 9 };
	size_t i;

	ok(key_why(mine, 1) == REASON_SAME, "sealed for this key: skip");
	ok(key_why(other, 1) == REASON_KEY, "sealed for another key: upload");
	ok(key_why(other, 0) == REASON_SAME,
	    "key not known: the size decides");

	ok(crypt_size(432, PLAIN) == SEALED,
	    "crypt_size: header + plaintext + 16 per chunk");
	for (i = 0; i < sizeof(crypt_cases) / sizeof(crypt_cases[0]); i++)
		ok(crypt_act(crypt_cases[i].restore, crypt_cases[i].encrypting,
		    crypt_cases[i].kind, crypt_cases[i].rsize,
		    crypt_cases[i].psize) == crypt_cases[i].act, "%s",
		    crypt_cases[i].what);
}

/*
 * The restore direction compares mtimes the same way, from the other
 * side: a file edited to the same size is restored again.
 */
static void
test_restore_mtime(void)
{
	static const struct {
		enum MODE	 mode;
		enum KNOWN	 known;
		int64_t		 delta;	/* object's mtime minus the file's */
		enum ACT	 act;
		const char	*what;
	} rc[] = {
		{ M_DEFAULT, K_STORED, 0, ACT_SKIP,
		    "stored mtime equal: skip" },
		{ M_DEFAULT, K_STORED, -5, ACT_DOWNLOAD,
		    "file edited since (same size): download" },
		{ M_DEFAULT, K_STORED, 5, ACT_DOWNLOAD,
		    "file older than the stored mtime: download" },
		{ M_DEFAULT, K_LISTED, 0, ACT_SKIP,
		    "LastModified equal (as a restore set it): skip" },
		{ M_DEFAULT, K_LISTED, -5, ACT_DOWNLOAD,
		    "file newer than LastModified: download" },
		{ M_DEFAULT, K_LISTED, 5, ACT_SKIP,
		    "file older than LastModified: skip" },
		{ M_MTIME, K_NONE, 0, ACT_SKIP,
		    "--mtime, nothing known: skip (no upload to make)" },
		{ M_SIZE, K_STORED, -5, ACT_SKIP,
		    "--size-only, file edited since: skip" },
	};
	struct config c = cfg;
	struct table tbl;
	struct plan plan;
	struct entry *e;
	size_t i;

	c.restore = 1;
	for (i = 0; i < sizeof(rc) / sizeof(rc[0]); i++) {
		memset(&tbl, 0, sizeof(tbl));
		e = add(&tbl, "f", 1, 1);
		e->lsize = e->rsize = 7;
		e->lmtime_sec = LSEC;
		e->lmtime_nsec = rc[i].known == K_LISTED ? 0 : LNSEC;
		e->rmtime_sec = LSEC + rc[i].delta;
		e->rmtime_nsec = rc[i].known == K_LISTED ? 0 : LNSEC;
		e->rmtime_known = rc[i].known == K_STORED;
		e->rlastmod = rc[i].known == K_LISTED;
		c.mtime = rc[i].mode == M_MTIME;
		c.size_only = rc[i].mode == M_SIZE;
		plan_restore(&tbl, &c, &plan);
		ok(plan.n == 1 && plan.v[0].act == rc[i].act &&
		    plan.v[0].why == (rc[i].act == ACT_SKIP ? REASON_SAME :
		    REASON_MTIME), "restore, %s, %s: %s", modename[rc[i].mode],
		    knownname[rc[i].known], rc[i].what);
		plan_free(&plan);
		table_free(&tbl);
	}
}

/* A mode or owner alone: ACT_META when recorded and copyable. */
static void
test_meta(void)
{
	struct config c;
	struct table tbl;
	struct plan plan;
	struct entry *e;
	static const char *const keys[] = { "big", "same", "unknown", "x" };
	size_t i;

	memset(&tbl, 0, sizeof(tbl));
	config_init(&c);
	for (i = 0; i < 4; i++) {
		e = add(&tbl, keys[i], 1, 1);
		e->lsize = e->rsize = 5;
		e->rmtime_known = 1;
		e->rcrypt = RCRYPT_NO;
		e->lperm = meta_perm(0700, 0, 0);
		e->rperm = meta_perm(0644, 0, 0);
		e->rperm_known = 1;
	}
	e = table_find(&tbl, "big", 3);
	e->lsize = e->rsize = (int64_t)METACOPY_MAX + 1;
	table_find(&tbl, "same", 4)->lperm = meta_perm(0644, 0, 0);
	table_find(&tbl, "unknown", 7)->rperm_known = 0;
	plan_build(&tbl, &c, &plan);
	ok(act_of(&plan, "x") == ACT_META && why_of(&plan, "x") == REASON_META &&
	    plan.nmeta == 1 && plan.nupload == 1,
	    "a mode change alone: ACT_META (%s)", plan_reason(why_of(&plan, "x")));
	ok(act_of(&plan, "same") == ACT_SKIP && act_of(&plan, "unknown") ==
	    ACT_SKIP, "same or unknown metadata: skipped");
	ok(act_of(&plan, "big") == ACT_UPLOAD &&
	    why_of(&plan, "big") == REASON_META,
	    "past CopyObject's 5 GiB: uploaded instead");
	plan_free(&plan);
	ok(meta_perm(0644, 0, 0) != meta_perm(0644, 0, 1) &&
	    meta_perm(0644, 1, 0) != meta_perm(0644, 0, 1) &&
	    meta_perm(0100644, 0, 0) == meta_perm(0644, 0, 0),
	    "meta_perm: owner and group apart; the type bits ignored");
	c.restore = 1;
	plan_restore(&tbl, &c, &plan);
	ok(act_of(&plan, "x") == ACT_SKIP, "a restore does not compare modes");
	plan_free(&plan);
	table_free(&tbl);
}

int
main(void)
{
	config_init(&cfg);
	test_crypt_sizes();
	test_cases();
	test_checksum();
	test_restore_mtime();
	test_reason();
	test_policies();
	test_meta();
	test_order();
	test_find();
	test_counts();
	test_empty();
	test_big();
	return tap_done();
}
