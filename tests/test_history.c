/*
 * Unit tests for the pure parts of the history: run ids (runlog.c),
 * --as-of's TIME (asof.c), UTC and local, in two time zones, and the
 * merge of p3backup's lifecycle rule into a bucket's (lifecycle.c).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "extern.h"
#include "history.h"
#include "tap.h"

static int
valid(const char *s)
{
	return runlog_id_valid(s, strlen(s));
}

/* asof_parse of "s" in time zone "tz": its kind, the time in *t. */
static int
parse_in(const char *tz, const char *s, time_t *t)
{
	setenv("TZ", tz, 1);
	tzset();
	*t = 0;
	return asof_parse(s, t);
}

#define NS	"xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""
#define OURS(id, filter, days) "<Rule><ID>" id "</ID>" filter \
	"<Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>" \
	"true</ExpiredObjectDeleteMarker></Expiration>" \
	"<NoncurrentVersionExpiration><NoncurrentDays>" days \
	"</NoncurrentDays></NoncurrentVersionExpiration></Rule>"
#define ALL	"<Filter><Prefix></Prefix></Filter>"
#define OTHER	"<Rule><ID>logs</ID><Filter><And><Prefix>logs/</Prefix>" \
	"<Tag><Key>k</Key><Value>v</Value></Tag></And></Filter>" \
	"<Status>Enabled</Status><Transition><Days>30</Days>" \
	"<StorageClass>GLACIER</StorageClass></Transition></Rule>"
#define DOC(rules) "<?xml version=\"1.0\" encoding=\"UTF-8\"?>" \
	"<LifecycleConfiguration " NS ">" rules "</LifecycleConfiguration>"

/* lifecycle_merge of "doc" (NULL: none): its return, *out and *changed. */
static int
merge(const char *doc, const char *prefix, int days, char **out,
    int *changed)
{
	free(*out);
	*out = NULL;
	return lifecycle_merge(doc, doc != NULL ? strlen(doc) : 0,
	    *prefix != '\0' ? "p3backup-history:p" : "p3backup-history",
	    prefix, days, out, changed);
}

/* How many times "needle" is in "s". */
static int
count(const char *s, const char *needle)
{
	int n = 0;

	while (s != NULL && (s = strstr(s, needle)) != NULL) {
		n++;
		s += strlen(needle);
	}
	return n;
}

static void
test_lifecycle(void)
{
	char *out = NULL, *id, *longp;
	int changed;

	ok(merge(NULL, "", 30, &out, &changed) == 0 && changed &&
	    out != NULL && strstr(out, "<LifecycleConfiguration " NS ">" OURS(
	    "p3backup-history", ALL, "30") "</LifecycleConfiguration>") !=
	    NULL, "no configuration: one with our rule (%s)", out);
	ok(merge(DOC(OTHER), "", 30, &out, &changed) == 0 && changed &&
	    strstr(out, OTHER OURS("p3backup-history", ALL, "30")) != NULL,
	    "another rule is kept element for element, ours after it");
	ok(merge(DOC(OTHER OURS("p3backup-history", ALL, "30")), "", 30, &out,
	    &changed) == 0 && !changed, "ours as wanted: unchanged");
	ok(merge(DOC(OURS("p3backup-history", "<Prefix></Prefix>", "30")), "",
	    30, &out, &changed) == 0 && !changed,
	    "Ceph RGW's bare <Prefix> for all keys: unchanged");
	ok(merge(DOC(OURS("p3backup-history", "<Filter></Filter>", "30")), "",
	    30, &out, &changed) == 0 && !changed, "<Filter/>: unchanged");
	ok(merge(DOC(OURS("p3backup-history:p", "<Filter><Prefix>p/</Prefix>"
	    "</Filter>", "7")), "p/", 7, &out, &changed) == 0 && !changed,
	    "a prefix's rule as wanted: unchanged");
	ok(merge(DOC(OURS("p3backup-history:p", "<Filter><Prefix>q/</Prefix>"
	    "</Filter>", "7")), "p/", 7, &out, &changed) == 0 && changed &&
	    count(out, "<Prefix>p/</Prefix>") == 1 && count(out, "q/") == 0,
	    "another prefix under our ID: replaced");
	ok(merge(DOC(OURS("p3backup-history", ALL, "30") OTHER), "", 7, &out,
	    &changed) == 0 && changed && count(out, "<NoncurrentDays>") == 1 &&
	    strstr(out, OTHER OURS("p3backup-history", ALL, "7")) != NULL,
	    "other days: ours replaced, once, the other kept");
	ok(merge(DOC(OURS("p3backup-history", ALL, "30") OTHER
	    OURS("p3backup-history", ALL, "30")), "", 30, &out, &changed) ==
	    0 && changed && count(out, "p3backup-history") == 1,
	    "ours twice: one left");
	ok(merge(DOC("<Rule><ID>p3backup-history</ID>" ALL "<Status>Disabled"
	    "</Status><Expiration><ExpiredObjectDeleteMarker>true"
	    "</ExpiredObjectDeleteMarker></Expiration>"
	    "<NoncurrentVersionExpiration><NoncurrentDays>30</NoncurrentDays>"
	    "</NoncurrentVersionExpiration></Rule>"), "", 30, &out, &changed)
	    == 0 && changed && count(out, "Disabled") == 0,
	    "ours disabled (by hand): enabled again");
	ok(merge(DOC(OURS("p3backup-history", ALL, "30") OTHER), "", 0, &out,
	    &changed) == 0 && changed && count(out, "p3backup-history") == 0 &&
	    strstr(out, OTHER) != NULL, "0: ours removed, the other kept");
	ok(merge(DOC(OURS("p3backup-history", ALL, "30")), "", 0, &out,
	    &changed) == 0 && changed && out == NULL,
	    "0 and no rule left: no configuration");
	ok(merge(DOC(OTHER), "", 0, &out, &changed) == 0 && !changed,
	    "0 without ours: unchanged");
	ok(merge(NULL, "", 0, &out, &changed) == 0 && !changed && out == NULL,
	    "0 and no configuration: nothing to do");
	ok(merge("<ListBucketResult " NS "/>", "", 30, &out, &changed) == -1,
	    "another document (s3rver's listing): -1");
	ok(merge(DOC(OTHER) "<", "", 30, &out, &changed) == -1 &&
	    merge("<LifecycleConfiguration><Rule>", "", 30, &out,
	    &changed) == -1, "malformed: -1");
	free(out);

	id = lifecycle_id(NULL);
	ok(strcmp(id, "p3backup-history") == 0, "the rule ID");
	free(id);
	id = lifecycle_id("host1/alice");
	ok(strcmp(id, "p3backup-history:host1/alice") == 0,
	    "with a prefix: ID:PREFIX");
	free(id);
	longp = xmalloc(302);
	memset(longp, 'x', 301);
	longp[301] = '\0';
	id = lifecycle_id(longp);
	ok(strncmp(id, "p3backup-history:sha256:", 24) == 0 &&
	    strlen(id) == 24 + 64, "a prefix too long for an ID: its SHA-256");
	free(id);
	free(longp);
}

int
main(void)
{
	struct timespec ts;
	char id[RUNLOG_ID_LEN], id2[RUNLOG_ID_LEN];
	time_t t;

	/* Run ids: the form runlog_id writes, and nothing else. */
	ok(valid("2026-12-03T19:50:45Z-b899749c"), "a run id");
	ok(!valid("2026-12-03T19:50:45Z-b899749"), "7 hex digits: no");
	ok(!valid("2026-12-03T19:50:45Z-b899749cd"), "9 hex digits: no");
	ok(!valid("2026-12-03T19:50:45Z-B899749C"), "upper-case hex: no");
	ok(!valid("2026-12-03T19:50:45Z_b899749c"), "another separator: no");
	ok(!valid("2026-12-03 19:50:45Z-b899749c"), "a space for T: no");
	ok(!valid("2026-12-03T19:50:45Z"), "a time alone: no");
	ok(!runlog_id_valid("2026-12-03T19:50:45Z-b899749c", 28),
	    "the length counts");
	ok(!runlog_id_valid("2026-12-03T19:50:45Z-b899749\0", 29),
	    "a NUL is no hex digit");
	ts.tv_sec = 1796327445;		/* 2026-12-03T19:50:45Z */
	ts.tv_nsec = 999999999;
	runlog_id(&ts, id);
	runlog_id(&ts, id2);
	ok(valid(id), "runlog_id writes a valid id (%s)", id);
	ok(strncmp(id, "2026-12-03T19:50:45Z-", 21) == 0,
	    "its start in UTC, whole seconds");
	ok(strcmp(id, id2) != 0, "two ids of one second differ");

	/* UTC: the same in every zone. */
	ok(parse_in("UTC0", "2026-12-03T19:50:45Z", &t) == ASOF_TIME &&
	    t == 1796327445, "UTC time");
	ok(parse_in("EST5EDT", "2026-12-03T19:50:45Z", &t) == ASOF_TIME &&
	    t == 1796327445, "UTC time, in New York too");
	ok(parse_in("UTC0", "2024-02-29T00:00:00Z", &t) == ASOF_TIME &&
	    t == 1709164800, "a leap day");
	ok(parse_in("UTC0", "2026-12-03T19:50:45Z-b899749c", &t) == ASOF_RUN,
	    "a run id is ASOF_RUN");

	/* Local: "YYYY-MM-DD[ HH:MM[:SS]]", a date alone its midnight. */
	ok(parse_in("UTC0", "2026-12-03 19:50:45", &t) == ASOF_TIME &&
	    t == 1796327445, "local, in UTC");
	ok(parse_in("EST5EDT", "2026-12-03 14:50:45", &t) == ASOF_TIME &&
	    t == 1796327445, "local, in New York (UTC-5 in December)");
	ok(parse_in("EST5EDT", "2026-07-01 12:00", &t) == ASOF_TIME &&
	    t == 1782921600, "local summer time (UTC-4), to the minute");
	ok(parse_in("EST5EDT", "2026-12-03", &t) == ASOF_TIME &&
	    t == 1796274000, "a date alone: its local midnight");

	/* Not TIME. */
	ok(parse_in("UTC0", "2026-02-30", &t) == -1, "February 30th: no");
	ok(parse_in("UTC0", "2026-02-30T00:00:00Z", &t) == -1,
	    "February 30th UTC: no");
	ok(parse_in("UTC0", "2026-12-03 24:00", &t) == -1, "24:00: no");
	ok(parse_in("UTC0", "2026-12-03T19:50:45", &t) == -1,
	    "ISO without Z: no (UTC or local would be a guess)");
	ok(parse_in("UTC0", "2026-12-03T19:50:45+01:00", &t) == -1,
	    "an offset: no");
	ok(parse_in("UTC0", "2026-12-03 19:50:45 ", &t) == -1,
	    "trailing space: no");
	ok(parse_in("UTC0", "yesterday", &t) == -1, "yesterday: no");
	ok(parse_in("UTC0", "", &t) == -1, "empty: no");
	ok(parse_in("UTC0", " 2026-12-03", &t) == -1, "leading space: no");
	ok(parse_in("UTC0", "2026-12-03T19:50:45Z-b899749", &t) == -1,
	    "a run id one digit short: no");
	test_lifecycle();
	return tap_done();
}
