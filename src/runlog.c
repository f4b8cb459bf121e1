/*
 * The run log: every backup run that reaches the upload stage leaves one
 * small JSON object in the bucket,
 *
 *   [PREFIX/].p3backup/runs/RUNID.json
 *
 * RUNID is "YYYY-MM-DDTHH:MM:SSZ-XXXXXXXX": the run's start in UTC, then
 * 8 random hex digits so that two hosts sharing a prefix in the same
 * second differ.  Run ids sort by time, so a listing is the history in
 * order (to the second: --history orders runs of one second by their
 * start).  It is never SSE-C encrypted, so that --history needs no key:
 * it holds figures and names, no file data.  The object holds the --json summary's fields
 * (report_json_new) and "format", "run_id", "start", "end" (ISO-8601
 * UTC, to the millisecond), "host",
 * "directory", "prefix", "version" and "status".  It is written like
 * every other object, so a versioned or locked bucket keeps it so.
 *
 * --history lists them; --as-of RUNID reads one's end (runlog_end).
 */
#include "config.h"

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "extern.h"
#include "s3.h"
#include "history.h"

#define RUNLOG_DIR	RESERVED_PREFIX "runs/"
#define RUNLOG_SUFFIX	".json"
#define RUNLOG_FORMAT	1
/* Run objects fetched at once by --history. */
#define RUNLOG_BATCH	64
/* A run object is a few hundred bytes; more is not one of ours. */
#define RUNLOG_MAX	65536

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" of "t" (UTC) into out[25]. */
static void
runlog_iso_ms(const struct timespec *t, char out[25])
{
	int ms = (int)(t->tv_nsec / 1000000 % 1000);

	iso_time(t->tv_sec, out);
	out[19] = '.';
	out[20] = (char)('0' + ms / 100);
	out[21] = (char)('0' + ms / 10 % 10);
	out[22] = (char)('0' + ms % 10);
	out[23] = 'Z';
	out[24] = '\0';
}

/*
 * A new run id for a run started at "start" into out[RUNLOG_ID_LEN].
 */
void
runlog_id(const struct timespec *start, char out[RUNLOG_ID_LEN])
{
	unsigned char rnd[4];
	char iso[ISO_TIME_LEN];

	iso_time(start->tv_sec, iso);
	memcpy(out, iso, 20);
	random_fill(rnd, sizeof(rnd));
	out[20] = '-';
	hex_encode(rnd, sizeof(rnd), out + 21);
}

/*
 * Whether "s" (of "len" bytes) is a run id: the form runlog_id writes.
 */
int
runlog_id_valid(const char *s, size_t len)
{
	static const char form[] = "dddd-dd-ddTdd:dd:ddZ-xxxxxxxx";
	size_t i;

	if (len != RUNLOG_ID_LEN - 1)
		return 0;
	for (i = 0; i < len; i++) {
		switch (form[i]) {
		case 'd':
			if (s[i] < '0' || s[i] > '9')
				return 0;
			break;
		case 'x':
			if (strchr("0123456789abcdef", s[i]) == NULL ||
			    s[i] == '\0')
				return 0;
			break;
		default:
			if (s[i] != form[i])
				return 0;
		}
	}
	return 1;
}

/* The key of run "id" (NUL-terminated) under cfg's prefix; caller frees. */
static char *
runlog_key(const struct config *cfg, const char *id)
{
	char *name, *key;

	name = xasprintf("%s%s%s", RUNLOG_DIR, id, RUNLOG_SUFFIX);
	key = list_object_key(cfg, name);
	free(name);
	return key;
}

/* The word --history shows for exit status "rc". */
static const char *
runlog_status(int rc, int interrupted)
{
	if (interrupted)
		return "interrupted";
	switch (rc) {
	case EXIT_SYNC:
		return "ok";
	case EXIT_PARTIAL:
		return "partial";
	default:
		return "failed";
	}
}

/*
 * Write the run log object of the run "id" started at "start" (wall
 * clock), which is ending now with exit status "rc" and the figures of
 * run->rep.  Returns 0, or -1 after a warning: the backup itself stands.
 */
int
runlog_write(struct run *run, const char *id, const struct timespec *start,
    int rc)
{
	const struct config *cfg = s3_config(run->s3);
	struct timespec now;
	char host[256], from[25], to[25], *text = NULL, *key, *msg;
	struct s3_call *c;
	json_t *o;
	int ret = -1;

	if (gethostname(host, sizeof(host)) == -1)
		strcpy(host, "unknown");
	host[sizeof(host) - 1] = '\0';
	clock_gettime(CLOCK_REALTIME, &now);
	runlog_iso_ms(start, from);
	runlog_iso_ms(&now, to);
	o = report_json_new(run->rep, run->bucket, 0, rc);
	json_object_set_new(o, "format", json_integer(RUNLOG_FORMAT));
	json_object_set_new(o, "run_id", json_string(id));
	json_object_set_new(o, "start", json_string(from));
	json_object_set_new(o, "end", json_string(to));
	report_json_set(o, "host", host);
	report_json_set(o, "directory", run->realroot != NULL ?
	    run->realroot : run->root);
	report_json_set(o, "prefix", cfg->prefix);
	json_object_set_new(o, "version", json_string("p3backup "
	    PACKAGE_VERSION));
	json_object_set_new(o, "status", json_string(runlog_status(rc,
	    stop_requested)));
	if ((text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_REAL_PRECISION(12))) == NULL)
		errx(EXIT_FATAL, "run log: cannot encode");
	key = runlog_key(cfg, id);
	c = s3_call_new("PUT", run->bucket, key);
	/* Readable by --history without an SSE-C key: it holds no data. */
	c->ssec_off = 1;
	s3_call_body(c, text, strlen(text), "application/json");
	if (s3_exec(run->s3, c) == -1) {
		msg = s3_call_errstr(c);
		warnx("run log %s: %s (--history will not show this run)",
		    key, msg);
		free(msg);
	} else {
		logmsg(1, "run log: %s", key);
		ret = 0;
	}
	s3_call_free(c);
	json_decref(o);
	free(text);
	free(key);
	return ret;
}

/* ---- reading the run log ---- */

/* The run ids of a listing, in its (time) order. */
struct runlog_ids {
	char	**v;
	size_t	 n;
	size_t	 cap;
	size_t	 skip;		/* length of the listing's prefix */
};

static int
runlog_listed(void *arg, const struct list_entry *le)
{
	struct runlog_ids *ids = arg;
	const char *id = le->key + ids->skip;
	size_t len = le->keylen - ids->skip;

	if (len <= strlen(RUNLOG_SUFFIX) || strcmp(id + len -
	    strlen(RUNLOG_SUFFIX), RUNLOG_SUFFIX) != 0)
		return 0;
	len -= strlen(RUNLOG_SUFFIX);
	if (!runlog_id_valid(id, len))
		return 0;
	if (ids->n == ids->cap) {
		ids->cap = ids->cap == 0 ? 64 : 2 * ids->cap;
		ids->v = xrealloc(ids->v, ids->cap * sizeof(*ids->v));
	}
	ids->v[ids->n++] = xstrndup(id, len);
	return 0;
}

/*
 * The answer "c" to the GET of run "id"'s object, parsed into *o.
 * Returns 0, or -1 (reported).
 */
static int
runlog_parse(struct s3_call *c, const char *id, json_t **o)
{
	json_error_t jerr;
	char *msg;

	*o = NULL;
	if (!c->ok) {
		msg = s3_call_errstr(c);
		warnx("run %s: %s", id, msg);
		free(msg);
		return -1;
	}
	*o = json_loadb(c->resp.data, c->resp.len, 0, &jerr);
	if (*o == NULL || !json_is_object(*o)) {
		warnx("run %s: not a run log object (%s)", id, *o == NULL ?
		    jerr.text : "not an object");
		json_decref(*o);
		*o = NULL;
		return -1;
	}
	return 0;
}

/* A GET of run "id"'s object, not yet sent. */
static struct s3_call *
runlog_get(struct s3 *s3, const char *bucket, const char *id)
{
	struct s3_call *c;
	char *key;

	key = runlog_key(s3_config(s3), id);
	c = s3_call_new("GET", bucket, key);
	c->ssec_off = 1;
	c->resp_max = RUNLOG_MAX;
	free(key);
	return c;
}

/* One --history line for run object "o". */
static void
runlog_print(const char *id, json_t *o)
{
	json_int_t changed, bytes;
	struct tm tm;
	time_t t;
	int64_t sec;
	const char *start, *status;
	char when[32], size[32];

	changed = json_integer_value(json_object_get(o, "uploaded")) +
	    json_integer_value(json_object_get(o, "deleted")) +
	    json_integer_value(json_object_get(o, "tagged"));
	bytes = json_integer_value(json_object_get(o, "uploaded_bytes"));
	start = json_string_value(json_object_get(o, "start"));
	status = json_string_value(json_object_get(o, "status"));
	strcpy(when, "?");
	if (start != NULL && lastmod_parse(start, &sec) == 0) {
		t = (time_t)sec;
		localtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	}
	report_bytes(bytes > 0 ? (uint64_t)bytes : 0, size);
	printf("%-29s  %-19s  %7lld  %10s  %s\n", id, when,
	    (long long)changed, size, status != NULL ? status : "?");
}

/* One run of --history: its id and object. */
struct runlog_run {
	const char	*id;
	json_t		*o;
};

/* qsort: by "start" (ISO-8601 of one form sorts as text), then id. */
static int
runlog_cmp(const void *pa, const void *pb)
{
	const struct runlog_run *a = pa, *b = pb;
	const char *sa, *sb;
	int c;

	sa = json_string_value(json_object_get(a->o, "start"));
	sb = json_string_value(json_object_get(b->o, "start"));
	if ((c = strcmp(sa != NULL ? sa : "", sb != NULL ? sb : "")) != 0)
		return c;
	return strcmp(a->id, b->id);
}

/*
 * GET the run objects of "ids" into runs[] (64 at a time), in order;
 * *n counts those read.  Returns EXIT_SYNC, EXIT_PARTIAL when some could
 * not be read (reported), EXIT_FATAL when the engine failed.
 */
static int
runlog_fetch(struct s3 *s3, const char *bucket, const struct runlog_ids *ids,
    struct runlog_run *runs, size_t *n)
{
	struct s3_call *c[RUNLOG_BATCH];
	size_t i, j, k;
	int rc = EXIT_SYNC;
	json_t *o;

	*n = 0;
	for (i = 0; i < ids->n && rc != EXIT_FATAL; i += k) {
		k = ids->n - i < RUNLOG_BATCH ? ids->n - i : RUNLOG_BATCH;
		for (j = 0; j < k; j++) {
			c[j] = runlog_get(s3, bucket, ids->v[i + j]);
			xfer_submit(s3_xfer(s3), c[j]);
		}
		if (xfer_run(s3_xfer(s3)) == -1)
			rc = EXIT_FATAL;
		for (j = 0; j < k; j++) {
			if (rc == EXIT_FATAL)
				;
			else if (runlog_parse(c[j], ids->v[i + j], &o) == -1)
				rc = EXIT_PARTIAL;
			else {
				runs[*n].id = ids->v[i + j];
				runs[(*n)++].o = o;
			}
			s3_call_free(c[j]);
		}
	}
	return rc;
}

/*
 * --history: one line per run recorded under the bucket's (or
 * --prefix's) run log, oldest first by start, after a header line; with
 * --json one JSON array of the run objects.  Returns the exit status:
 * 0, 1 when some run objects could not be read, 3 when the run log
 * could not be listed.
 */
int
runlog_history(struct s3 *s3, const char *bucket)
{
	const struct config *cfg = s3_config(s3);
	struct runlog_ids ids;
	struct runlog_run *runs = NULL;
	char *prefix;
	json_t *arr;
	size_t i, n = 0;
	int rc;

	memset(&ids, 0, sizeof(ids));
	prefix = list_object_key(cfg, RUNLOG_DIR);
	ids.skip = strlen(prefix);
	if (list_objects(s3, bucket, prefix, runlog_listed, &ids) == -1) {
		rc = EXIT_FATAL;
		goto out;
	}
	if (ids.n == 0 && !cfg->json)
		logmsg(0, "no runs recorded in s3://%s/%s", bucket, prefix);
	runs = xcalloc(ids.n + 1, sizeof(*runs));
	if ((rc = runlog_fetch(s3, bucket, &ids, runs, &n)) == EXIT_FATAL)
		goto out;
	qsort(runs, n, sizeof(*runs), runlog_cmp);
	if (cfg->json) {
		arr = json_array();
		for (i = 0; i < n; i++)
			json_array_append(arr, runs[i].o);
		if (json_dumpf(arr, stdout, JSON_COMPACT |
		    JSON_REAL_PRECISION(12)) == 0)
			putchar('\n');
		json_decref(arr);
	} else {
		if (n > 0)
			printf("%-29s  %-19s  %7s  %10s  %s\n", "RUN",
			    "STARTED", "CHANGED", "BYTES", "STATUS");
		for (i = 0; i < n; i++)
			runlog_print(runs[i].id, runs[i].o);
	}
	fflush(stdout);
out:
	for (i = 0; i < n; i++)
		json_decref(runs[i].o);
	free(runs);
	for (i = 0; i < ids.n; i++)
		free(ids.v[i]);
	free(ids.v);
	free(prefix);
	return rc;
}

/*
 * --as-of RUNID: the end of run "id" into *end: the Last-Modified of its
 * run log object, written after everything else the run wrote and in
 * the server's clock, as the versions' LastModified are; else the "end"
 * the run recorded.  Returns 0, -2 when there is no such run, or -1
 * (both reported).
 */
int
runlog_end(struct s3 *s3, const char *bucket, const char *id, time_t *end)
{
	struct s3_call *c;
	const char *s;
	int64_t sec;
	json_t *o = NULL;
	int rc = -1;

	c = runlog_get(s3, bucket, id);
	if (s3_exec(s3, c) == -1 && c->status == 404) {
		warnx("--as-of %s: no such run in s3://%s/%s (see --history)",
		    id, bucket, c->key);
		rc = -2;
	} else if (runlog_parse(c, id, &o) == 0) {
		s = json_string_value(json_object_get(o, "end"));
		if ((c->last_modified != NULL &&
		    download_http_date(c->last_modified, &sec) == 0) ||
		    (s != NULL && lastmod_parse(s, &sec) == 0)) {
			*end = (time_t)sec;
			rc = 0;
		} else
			warnx("run %s: no end time in its run log object", id);
	}
	json_decref(o);
	s3_call_free(c);
	return rc;
}
