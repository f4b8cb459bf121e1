/*
 * Unit tests for the pure parts of the history: run ids (runlog.c) and
 * --as-of's TIME (asof.c), UTC and local, in two time zones.
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
	return tap_done();
}
