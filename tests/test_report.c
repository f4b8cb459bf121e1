/*
 * Unit tests for report.c's JSON output: the --report file (JSON Lines)
 * written by report_open/report_record/report_close, read back line by
 * line with jansson, and the summary of report_summary, --json and
 * text, caught by pointing stdout at a temporary file.
 */
#include "config.h"

#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <pthread.h>

#include "extern.h"
#include "tap.h"

#define MD5_HEX		"00112233445566778899aabbccddeeff"
/* Quotes, a backslash, a newline, a tab, é and U+2713 CHECK MARK. */
#define NASTY_ERROR \
	"server said \"no\" \\ twice\nline 2\t\xc3\xa9 \xe2\x9c\x93"
#define BAD_KEY		"bad\xff\xfe.bin"
#define FIRST_LINE	"{\"key\":\"dir/a file.txt\"," \
	"\"object\":\"pfx/dir/a file.txt\",\"action\":\"upload\"," \
	"\"size\":1234,\"mtime\":\"1700000000.5\",\"md5\":\"" MD5_HEX "\"," \
	"\"result\":\"ok\",\"error\":null}\n"

static char tmpdir[4096];

static void
bail(const char *what, const char *path)
{
	printf("Bail out! %s %s: %s\n", what, path, strerror(errno));
	exit(99);
}

/* A zeroed entry for "key", as table_get makes them.  Caller frees. */
static struct entry *
mkentry(const char *key)
{
	struct entry *e;

	e = xcalloc(1, sizeof(*e) + strlen(key) + 1);
	memcpy(e->key, key, strlen(key) + 1);
	return e;
}

/* Settings for a run with no terminal: no progress line. */
static void
mkconfig(struct config *cfg, const char *prefix, const char *report_path)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->prefix = (char *)prefix;
	cfg->report_path = (char *)report_path;
	cfg->max_uploads = -1;
	cfg->progress = 0;
}

/* Field "name" of "obj" is the string "want". */
static void
is_field_str(json_t *obj, const char *name, const char *want, const char *what)
{
	json_t *v = json_object_get(obj, name);

	ok(json_is_string(v), "%s: \"%s\" is a string", what, name);
	is_str(json_is_string(v) ? json_string_value(v) : NULL, want,
	    "%s: \"%s\"", what, name);
}

/* Field "name" of "obj" is present and null. */
static void
is_field_null(json_t *obj, const char *name, const char *what)
{
	json_t *v = json_object_get(obj, name);

	ok(v != NULL && json_is_null(v), "%s: \"%s\" is null", what, name);
}

/* Field "name" of "obj" is the integer "want". */
static void
is_field_int(json_t *obj, const char *name, json_int_t want, const char *what)
{
	json_t *v = json_object_get(obj, name);

	ok(json_is_integer(v) && json_integer_value(v) == want,
	    "%s: \"%s\" is the integer %lld", what, name, (long long)want);
}

/*
 * Read the file "path" into a NULL-terminated array of its lines (each
 * with its '\n'), *n set to their count.  Caller frees each and all.
 */
static char **
read_lines(const char *path, size_t *n)
{
	char **v = NULL, *line = NULL;
	size_t cap = 0;
	FILE *fp;

	*n = 0;
	if ((fp = fopen(path, "r")) == NULL)
		bail("open", path);
	while (getline(&line, &cap, fp) != -1) {
		v = xrealloc(v, (*n + 2) * sizeof(*v));
		v[(*n)++] = xstrdup(line);
	}
	free(line);
	fclose(fp);
	v = xrealloc(v, (*n + 1) * sizeof(*v));
	v[*n] = NULL;
	return v;
}

static void
free_lines(char **v)
{
	size_t i;

	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static int
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Stop capturing stderr, and drop the last newline of what came. */
static void
capture_end(int h, char *msg, size_t size)
{
	size_t n;

	tap_capture_end(h, msg, size);
	n = strlen(msg);
	if (n > 0 && msg[n - 1] == '\n')
		msg[n - 1] = '\0';
}

/* Parse one line: one JSON object, nothing after it. */
static json_t *
parse_line(const char *line, const char *what)
{
	json_error_t jerr;
	json_t *obj;

	obj = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
	ok(json_is_object(obj), "%s: the line is one JSON object%s%s", what,
	    obj == NULL ? ": " : "", obj == NULL ? jerr.text : "");
	return obj;
}

/*
 * Six outcomes through report_record, then the file read back: one
 * line each, every field with its value and type.
 */
static void
test_records(void)
{
	struct config cfg;
	struct report r;
	struct entry *up, *skip, *fail, *nl, *bad, *tag;
	json_t *o;
	char path[4200], **lines;
	size_t n;
	FILE *fp;
	int i;

	snprintf(path, sizeof(path), "%s/report.jsonl", tmpdir);
	/* Something already there is replaced, not appended to. */
	if ((fp = fopen(path, "w")) == NULL || fputs("old junk\n", fp) == EOF ||
	    fclose(fp) == EOF)
		bail("write", path);

	mkconfig(&cfg, "pfx", path);
	report_init(&r, &cfg);
	ok(report_open(&r) == 0 && r.jsonl != NULL, "report_open: opened");

	up = mkentry("dir/a file.txt");
	up->local = up->remote = up->retag_md5 = 1;
	up->lsize = up->rsize = 1234;
	up->lmtime_sec = 1700000000;
	up->lmtime_nsec = 500000000;
	for (i = 0; i < 16; i++)
		up->rmd5[i] = (unsigned char)(i * 0x11);
	report_record(&r, up, "upload", "ok", NULL);

	skip = mkentry("b.txt");
	skip->local = skip->remote = skip->retag_md5 = 1;
	skip->lsize = skip->rsize = 10;
	skip->lmtime_sec = 1600000000;
	report_record(&r, skip, "skip", "skipped", NULL);

	/* U+00FC and U+1F600 in the key; the old ETag stays on the entry. */
	fail = mkentry("\xc3\xbc/\xf0\x9f\x98\x80.txt");
	fail->local = fail->remote = fail->retag_md5 = 1;
	fail->lsize = 99;
	fail->rsize = 98;
	fail->lmtime_sec = 1;
	fail->lmtime_nsec = 1;
	report_record(&r, fail, "upload", "failed", NASTY_ERROR);

	/* A multipart ETag is not the content's MD5. */
	nl = mkentry("new\nline.txt");
	nl->local = nl->remote = nl->retag_md5 = 1;
	nl->lsize = nl->rsize = 20 * 1024 * 1024;
	nl->rparts = 3;
	nl->lmtime_sec = 1700000001;
	report_record(&r, nl, "upload", "ok", NULL);

	/* Gone locally: the remote size, no mtime. */
	bad = mkentry(BAD_KEY);
	bad->remote = bad->retag_md5 = 1;
	bad->rsize = 77;
	bad->lsize = 5;
	report_record(&r, bad, "delete", "ok", NULL);

	tag = mkentry("old/t.txt");
	tag->remote = 1;
	tag->rsize = 3;
	report_record(&r, tag, "tag", "failed", "broken \xc3(");

	report_close(&r);
	ok(r.jsonl == NULL, "report_close: closed");
	report_close(&r);
	ok(r.jsonl == NULL, "report_close: a second call does nothing");
	/* Without an open file, a record is a no-op. */
	report_record(&r, up, "upload", "ok", NULL);

	lines = read_lines(path, &n);
	ok(n == 6, "six records, six lines (got %zu)", n);
	for (i = 0; i < (int)n; i++)
		ok(strchr(lines[i], '\n') == lines[i] + strlen(lines[i]) - 1,
		    "line %d ends in its only newline", i + 1);
	if (n != 6)
		goto out;

	is_str(lines[0], FIRST_LINE, "upload ok: the exact compact line");
	o = parse_line(lines[0], "upload ok");
	ok(json_object_size(o) == 8, "upload ok: eight fields");
	is_field_str(o, "key", "dir/a file.txt", "upload ok");
	is_field_str(o, "object", "pfx/dir/a file.txt", "upload ok");
	is_field_str(o, "action", "upload", "upload ok");
	is_field_int(o, "size", 1234, "upload ok");
	is_field_str(o, "mtime", "1700000000.5", "upload ok");
	is_field_str(o, "md5", MD5_HEX, "upload ok");
	is_field_str(o, "result", "ok", "upload ok");
	is_field_null(o, "error", "upload ok");
	json_decref(o);

	o = parse_line(lines[1], "skip");
	ok(json_object_size(o) == 8, "skip: eight fields");
	is_field_str(o, "key", "b.txt", "skip");
	is_field_str(o, "object", "pfx/b.txt", "skip");
	is_field_str(o, "action", "skip", "skip");
	is_field_int(o, "size", 10, "skip");
	is_field_str(o, "mtime", "1600000000", "skip");
	is_field_null(o, "md5", "skip");
	is_field_str(o, "result", "skipped", "skip");
	is_field_null(o, "error", "skip");
	json_decref(o);

	o = parse_line(lines[2], "failure");
	is_field_str(o, "key", "\xc3\xbc/\xf0\x9f\x98\x80.txt", "failure");
	is_field_str(o, "object", "pfx/\xc3\xbc/\xf0\x9f\x98\x80.txt",
	    "failure");
	is_field_str(o, "action", "upload", "failure");
	is_field_int(o, "size", 99, "failure");
	is_field_str(o, "mtime", "1.000000001", "failure");
	is_field_null(o, "md5", "failure");
	is_field_str(o, "result", "failed", "failure");
	is_field_str(o, "error", NASTY_ERROR, "failure");
	json_decref(o);

	o = parse_line(lines[3], "newline key");
	is_field_str(o, "key", "new\nline.txt", "newline key");
	is_field_str(o, "object", "pfx/new\nline.txt", "newline key");
	is_field_int(o, "size", 20 * 1024 * 1024, "newline key");
	is_field_null(o, "md5", "newline key (multipart)");
	is_field_str(o, "result", "ok", "newline key");
	json_decref(o);

	o = parse_line(lines[4], "invalid UTF-8 key");
	ok(json_object_size(o) == 10, "invalid UTF-8 key: ten fields");
	is_field_null(o, "key", "invalid UTF-8 key");
	is_field_str(o, "key_hex", "626164fffe2e62696e", "invalid UTF-8 key");
	is_field_null(o, "object", "invalid UTF-8 key");
	is_field_str(o, "object_hex", "7066782f626164fffe2e62696e",
	    "invalid UTF-8 key");
	is_field_str(o, "action", "delete", "invalid UTF-8 key");
	is_field_int(o, "size", 77, "invalid UTF-8 key (remote size)");
	is_field_null(o, "mtime", "invalid UTF-8 key (no local file)");
	is_field_null(o, "md5", "invalid UTF-8 key (not an upload)");
	is_field_str(o, "result", "ok", "invalid UTF-8 key");
	is_field_null(o, "error", "invalid UTF-8 key");
	json_decref(o);

	o = parse_line(lines[5], "tag failure");
	is_field_str(o, "key", "old/t.txt", "tag failure");
	is_field_str(o, "action", "tag", "tag failure");
	is_field_int(o, "size", 3, "tag failure");
	is_field_null(o, "mtime", "tag failure");
	is_field_str(o, "result", "failed", "tag failure");
	is_field_null(o, "error", "tag failure (not UTF-8)");
	is_field_str(o, "error_hex", "62726f6b656e20c328", "tag failure");
	ok(json_object_get(o, "key_hex") == NULL,
	    "tag failure: no key_hex for a UTF-8 key");
	json_decref(o);
out:
	free_lines(lines);
	free(up);
	free(skip);
	free(fail);
	free(nl);
	free(bad);
	free(tag);
}

/* No --prefix: the object key is the key. */
static void
test_no_prefix(void)
{
	struct config cfg;
	struct report r;
	struct entry *e;
	struct stat st;
	char path[4200], **lines;
	size_t n;
	json_t *o;

	snprintf(path, sizeof(path), "%s/noprefix.jsonl", tmpdir);
	mkconfig(&cfg, NULL, path);
	report_init(&r, &cfg);
	ok(report_open(&r) == 0, "no prefix: report_open");
	e = mkentry("x/y");
	e->local = 1;
	e->lsize = 0;
	report_record(&r, e, "defer", "skipped", NULL);
	report_close(&r);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644,
	    "a new report file has mode 0644 (umask 022)");
	lines = read_lines(path, &n);
	ok(n == 1, "no prefix: one line");
	if (n == 1) {
		o = parse_line(lines[0], "no prefix");
		is_field_str(o, "object", "x/y", "no prefix");
		is_field_str(o, "action", "defer", "no prefix");
		is_field_int(o, "size", 0, "no prefix");
		is_field_str(o, "mtime", "0", "no prefix");
		json_decref(o);
	}
	free_lines(lines);
	free(e);

	/* No --report at all: nothing opened, records are no-ops. */
	mkconfig(&cfg, NULL, NULL);
	report_init(&r, &cfg);
	ok(report_open(&r) == 0 && r.jsonl == NULL,
	    "without --report: report_open opens nothing");
	e = mkentry("z");
	report_record(&r, e, "upload", "ok", NULL);
	report_close(&r);
	ok(1, "without --report: report_record and report_close are no-ops");
	free(e);
}

/*
 * report_open of --report "path" fails, opens nothing, and says so in
 * a message holding "want1" and "want2".
 */
static void
open_fails(const char *path, const char *what, const char *want1,
    const char *want2)
{
	struct config cfg;
	struct report r;
	char msg[1024];
	int h;

	mkconfig(&cfg, NULL, path);
	report_init(&r, &cfg);
	if ((h = tap_capture_begin()) == -1)
		exit(99);
	ok(report_open(&r) == -1 && r.jsonl == NULL,
	    "%s: report_open fails, nothing open", what);
	capture_end(h, msg, sizeof(msg));
	ok(strstr(msg, want1) != NULL && strstr(msg, want2) != NULL,
	    "%s: the message says why (%s)", what, msg);
}

/*
 * Each file's --report error is its own first one, whatever other files
 * report meanwhile; report_keep stores without printing.
 */
static void
test_own_errors(void)
{
	struct config cfg;
	struct report r;
	char msg[1024];
	int h;

	mkconfig(&cfg, NULL, NULL);
	report_init(&r, &cfg);
	if ((h = tap_capture_begin()) == -1)
		exit(99);
	report_error(&r, "a.bin", "part 3 failed: HTTP 500");
	report_error(&r, "b.txt", "Permission denied");
	report_error(&r, "a.bin", "a later message");
	report_keep(&r, "c.txt", "the session token has expired");
	capture_end(h, msg, sizeof(msg));
	is_str(report_error_of(&r, "a.bin"), "part 3 failed: HTTP 500",
	    "a file's first error is its own");
	is_str(report_error_of(&r, "b.txt"), "Permission denied",
	    "another file's error does not replace it");
	is_str(report_error_of(&r, "c.txt"), "the session token has expired",
	    "report_keep stores an error");
	ok(strstr(msg, "c.txt") == NULL, "report_keep prints nothing (%s)",
	    msg);
	ok(report_error_of(&r, "d.txt") == NULL, "no error: NULL");
	report_close(&r);
	ok(r.errors == NULL, "report_close frees them");
}

/* report_open and report_record failing, each with one message. */
static void
test_errors(void)
{
	struct config cfg;
	struct report r;
	struct entry *e;
	char path[4200], msg[1024], want[4400];
	int h;

	snprintf(path, sizeof(path), "%s/missing/dir/r.jsonl", tmpdir);
	snprintf(want, sizeof(want), "%s: %s", path, strerror(ENOENT));
	open_fails(path, "missing directory", want, want);
	/* A directory cannot be written, even by root. */
	snprintf(want, sizeof(want), "%s: %s", tmpdir, strerror(EISDIR));
	open_fails(tmpdir, "a directory", want, want);
	open_fails("-", "--report -", "--report -", "standard output");

	/* A full disk: reported once, then the records are dropped. */
	if (access("/dev/full", W_OK) == -1) {
		ok(1, "# SKIP no /dev/full");
		return;
	}
	mkconfig(&cfg, NULL, "/dev/full");
	report_init(&r, &cfg);
	ok(report_open(&r) == 0, "/dev/full: report_open");
	e = mkentry("k");
	e->local = 1;
	if ((h = tap_capture_begin()) == -1)
		exit(99);
	report_record(&r, e, "upload", "ok", NULL);
	report_record(&r, e, "upload", "ok", NULL);
	report_close(&r);
	capture_end(h, msg, sizeof(msg));
	snprintf(want, sizeof(want), "/dev/full: %s", strerror(ENOSPC));
	ok(strstr(msg, want) != NULL, "/dev/full: the write error is "
	    "reported (%s)", msg);
	ok(strchr(msg, '\n') == NULL, "/dev/full: only once (%s)", msg);
	ok(r.jsonl == NULL, "/dev/full: the file is closed");
	free(e);
}


/*
 * Run report_summary(r, bucket), or with "rc" >= 0 report_json(r,
 * bucket, dry_run, rc), with stdout on a temporary file and copy what
 * it printed into buf.
 */
static void
stdout_to(struct report *r, const char *bucket, int dry_run, int rc,
    char *buf, size_t size)
{
	FILE *tmp;
	size_t n;
	int saved;

	fflush(stdout);
	if ((tmp = tmpfile()) == NULL)
		bail("tmpfile", "");
	if ((saved = dup(STDOUT_FILENO)) == -1 ||
	    dup2(fileno(tmp), STDOUT_FILENO) == -1)
		bail("dup", "stdout");
	if (rc >= 0)
		report_json(r, bucket, dry_run, rc);
	else
		report_summary(r, bucket);
	fflush(stdout);
	if (dup2(saved, STDOUT_FILENO) == -1)
		bail("dup2", "stdout");
	close(saved);
	rewind(tmp);
	n = fread(buf, 1, size - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
}

static void
summary_to(struct report *r, const char *bucket, char *buf, size_t size)
{
	stdout_to(r, bucket, 0, -1, buf, size);
}

static void
set_counts(struct report *r)
{
	r->scanned = 12;
	r->uploaded = 2;
	r->uploaded_bytes = 5000000000ULL;	/* past 32 bits */
	r->skipped = 7;
	r->deleted = 3;
	r->tagged = 0;
	r->downloaded = 0;
	r->failed = 1;
	r->deferred = 4;
}

/* "s" is "D.F,": digits, a dot, one to three digits, the next field. */
static int
is_millis(const char *s)
{
	size_t n, f;

	n = strspn(s, "0123456789");
	if (n == 0 || s[n] != '.')
		return 0;
	f = strspn(s + n + 1, "0123456789");
	return f >= 1 && f <= 3 && s[n + 1 + f] == ',';
}

/* --json: one line, one object, every field p3backup(1) lists. */
static void
test_summary_json(void)
{
	static const char *count[] = { "scanned", "uploaded",
	    "uploaded_bytes", "skipped", "deleted", "tagged", "downloaded",
	    "failed", "deferred" };
	static const json_int_t want[] = { 12, 2, 5000000000LL, 7, 3, 0, 0,
	    1, 4 };
	struct config cfg;
	struct report r;
	json_error_t jerr;
	json_t *o, *v;
	char out[4096];
	const char *p, *tail;
	size_t i;

	mkconfig(&cfg, NULL, NULL);
	cfg.json = 1;
	report_init(&r, &cfg);
	set_counts(&r);
	/* Started 1.234 s ago, give or take the clock's tick. */
	r.start_ms -= 1234;
	stdout_to(&r, "p3backup-11-01-19-173930", 0, 1, out, sizeof(out));
	ok(strlen(out) > 0 && strchr(out, '\n') == out + strlen(out) - 1,
	    "--json: one line (%.*s)", (int)strcspn(out, "\n"), out);
	o = json_loads(out, JSON_REJECT_DUPLICATES, &jerr);
	ok(json_is_object(o), "--json: parses as one object%s%s",
	    o == NULL ? ": " : "", o == NULL ? jerr.text : "");
	ok(json_object_size(o) == 18, "--json: eighteen fields");
	is_field_int(o, "exit_code", 1, "--json");
	ok(json_is_false(json_object_get(o, "dry_run")), "--json: dry_run false");
	ok(json_is_null(json_object_get(o, "error")),
	    "--json: exit 1: error null");
	is_field_str(o, "bucket", "p3backup-11-01-19-173930", "--json");
	for (i = 0; i < sizeof(count) / sizeof(count[0]); i++)
		is_field_int(o, count[i], want[i], "--json");
	v = json_object_get(o, "elapsed_seconds");
	ok(json_is_real(v) && json_real_value(v) >= 1.234 &&
	    json_real_value(v) < 60, "--json: elapsed_seconds is a real");
	p = strstr(out, "\"elapsed_seconds\":");
	ok(p != NULL && is_millis(p + strlen("\"elapsed_seconds\":")),
	    "--json: elapsed_seconds in milliseconds, no binary noise");
	json_decref(o);
	ok(starts_with(out, "{\"bucket\":\"p3backup-11-01-19-173930\","
	    "\"scanned\":12,\"uploaded\":2,\"uploaded_bytes\":5000000000,"
	    "\"skipped\":7,\"deleted\":3,\"tagged\":0,\"metadata_updated\":0,"
	    "\"downloaded\":0,"
	    "\"downloaded_bytes\":0,\"pending\":0,\"failed\":1,\"deferred\":4,"
	    "\"left_out\":0,\"elapsed_seconds\":"),
	    "--json: compact, fields in a fixed order (%.*s)",
	    (int)strcspn(out, "\n"), out);
	tail = ",\"dry_run\":false,\"exit_code\":1,\"error\":null}\n";
	ok(strlen(out) > strlen(tail) &&
	    strcmp(out + strlen(out) - strlen(tail), tail) == 0,
	    "--json: dry_run, exit_code and error last");
}

/* The scan thread, noting a symlink. */
static void *
note_thread(void *arg)
{
	(void)arg;
	warnx("tree/link: symbolic link, not followed");
	return NULL;
}

/*
 * --json errors: the last line on stderr for exit statuses 2 and 3,
 * without "p3backup: "; not UTF-8 made ASCII; a run that never
 * started (usage error) has zero counts, no bucket and no time.
 */
static void
test_json_errors(void)
{
	struct config cfg;
	struct report r;
	char out[4096];
	json_t *o;
	pthread_t tid;
	int saved, devnull;

	mkconfig(&cfg, NULL, NULL);
	cfg.json = 1;
	/* What the tee writes to fd 2 is not ours to see here. */
	fflush(stderr);
	if ((saved = dup(STDERR_FILENO)) == -1 ||
	    (devnull = open("/dev/null", O_WRONLY)) == -1 ||
	    dup2(devnull, STDERR_FILENO) == -1)
		bail("dup", "stderr");
	close(devnull);
	report_take_stderr();
	memset(&r, 0, sizeof(r));
	warnx("--jobs 0: must be 1 to 64");
	stdout_to(&r, NULL, 0, 2, out, sizeof(out));
	o = json_loads(out, 0, NULL);
	is_field_str(o, "error", "--jobs 0: must be 1 to 64", "usage error");
	is_field_int(o, "exit_code", 2, "usage error");
	ok(json_is_null(json_object_get(o, "bucket")), "usage error: bucket null");
	is_field_int(o, "scanned", 0, "usage error");
	json_decref(o);

	report_init(&r, &cfg);
	r.uploaded = 3;
	warnx("bucket b: Access Denied (HTTP 403)");
	stdout_to(&r, "b", 0, 3, out, sizeof(out));
	o = json_loads(out, 0, NULL);
	is_field_str(o, "error", "bucket b: Access Denied (HTTP 403)",
	    "fatal error");
	is_field_int(o, "uploaded", 3, "fatal error: the counts so far");
	json_decref(o);

	warnx("bad\xff.txt: cannot be read");
	stdout_to(&r, "b", 1, 3, out, sizeof(out));
	o = json_loads(out, 0, NULL);
	is_field_str(o, "error", "bad?.txt: cannot be read",
	    "a message that is not UTF-8");
	ok(json_is_true(json_object_get(o, "dry_run")), "dry_run true");
	json_decref(o);

	/* Another thread's note after the fatal error is not the error. */
	warnx("cannot connect to http://127.0.0.1:1: refused");
	if (pthread_create(&tid, NULL, note_thread, NULL) != 0 ||
	    pthread_join(tid, NULL) != 0)
		bail("pthread", "");
	stdout_to(&r, "b", 0, 3, out, sizeof(out));
	o = json_loads(out, 0, NULL);
	is_field_str(o, "error", "cannot connect to http://127.0.0.1:1: refused",
	    "a scan note after the fatal error");
	json_decref(o);

	/* A stage that stopped: its cause, not "stopped: ...". */
	warnx("upload: the session token has expired");
	report_keep_cause();
	warnx("stopped: nothing more can be uploaded (see above)");
	stdout_to(&r, "b", 0, 3, out, sizeof(out));
	o = json_loads(out, 0, NULL);
	is_field_str(o, "error", "upload: the session token has expired",
	    "the kept cause");
	json_decref(o);

	/* A bucket name that is not UTF-8 (a usage error) still gives JSON. */
	stdout_to(&r, "bad\xff", 0, 2, out, sizeof(out));
	o = json_loads(out, 0, NULL);
	is_field_str(o, "bucket", "bad?", "a bucket name that is not UTF-8");
	json_decref(o);

	warnx("a.txt: Permission denied");
	stdout_to(&r, "b", 0, 1, out, sizeof(out));
	o = json_loads(out, 0, NULL);
	ok(json_is_null(json_object_get(o, "error")),
	    "exit 1: error null (per-file errors are in --report)");
	json_decref(o);
	if (dup2(saved, STDERR_FILENO) == -1)
		bail("dup2", "stderr");
	close(saved);
}

/* The text line names deletions, tags and deferrals only when any. */
static void
test_summary_text(void)
{
	struct config cfg;
	struct report r;
	char out[4096];

	mkconfig(&cfg, NULL, NULL);
	report_init(&r, &cfg);
	set_counts(&r);
	r.tagged = 5;
	summary_to(&r, "bkt", out, sizeof(out));
	ok(starts_with(out, "bkt: scanned 12, uploaded 2 (4.7 GiB), skipped 7, "
	    "deleted 3, tagged 5, deferred 4 (--max-uploads), failed 1 in "),
	    "text: deleted, tagged and deferred named (%.*s)",
	    (int)strcspn(out, "\n"), out);
	ok(strlen(out) > 2 && strcmp(out + strlen(out) - 2, "s\n") == 0,
	    "text: ends with the time");

	memset(&r, 0, sizeof(r));
	report_init(&r, &cfg);
	r.scanned = 1;
	r.skipped = 1;
	cfg.dry_run = 1;
	summary_to(&r, "bkt", out, sizeof(out));
	ok(starts_with(out, "dry run: bkt: scanned 1, would upload 0 (0 B), "
	    "skipped 1, failed 0 in "),
	    "text: no zero deleted/tagged/deferred (%.*s)",
	    (int)strcspn(out, "\n"), out);

	/* A restore names the objects it checked, not its local scan. */
	memset(&r, 0, sizeof(r));
	cfg.dry_run = 0;
	cfg.restore = 1;
	report_init(&r, &cfg);
	r.objects = 41;
	r.downloaded = 3;
	r.downloaded_bytes = 12;
	r.skipped = 38;
	summary_to(&r, "bkt", out, sizeof(out));
	ok(starts_with(out, "bkt: checked 41 objects, downloaded 3 (12 B), "
	    "skipped 38, failed 0 in "), "text: a restore's line (%.*s)",
	    (int)strcspn(out, "\n"), out);
	cfg.restore = 0;

	log_level = -1;
	summary_to(&r, "bkt", out, sizeof(out));
	is_str(out, "", "text: -q prints nothing");
	log_level = 0;
}

int
main(void)
{
	const char *t;

	umask(022);
	t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_report.XXXXXX",
	    t != NULL && t[0] != '\0' ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror(tmpdir);
		return 99;
	}
	test_records();
	test_no_prefix();
	test_errors();
	test_own_errors();
	test_summary_json();
	test_summary_text();
	test_json_errors();
	ok(tap_rmtree(tmpdir) == 0, "temporary tree removed");
	return tap_done();
}
