/*
 * The report stage: what the user sees.  A progress line on a terminal,
 * one line per action with -v, errors as they happen, and at the end a
 * one-line summary or, with --json, one JSON object on stdout.  With
 * --report FILE, one JSON object per entry's outcome in FILE (JSON
 * Lines).  JSON is written with jansson, never escaped by hand.
 */
#include "config.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <pthread.h>

#include "extern.h"

#define PROGRESS_EVERY_MS	200

/*
 * Set up "r" (zeroed first) for a run with settings "cfg" (which must
 * outlive it): the clock starts, and the progress line is drawn with
 * cfg->progress, or when auto on a terminal's stderr without -q or
 * --json (stderr is then taken over, report_take_stderr).  Also makes
 * jansson allocate through xmalloc, so that running out of memory there
 * is fatal like everywhere else.
 */
void
report_init(struct report *r, const struct config *cfg)
{
	json_set_alloc_funcs(xmalloc, free);
	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	r->start_ms = now_ms();
	if (cfg->progress == -1)
		r->progress = isatty(STDERR_FILENO) && log_level >= 0 &&
		    !cfg->json;
	else
		r->progress = cfg->progress;
	/* Messages must take the progress line off the screen first. */
	if (r->progress)
		report_take_stderr();
}

/*
 * stderr, taken over (report_take_stderr) when there is a progress line
 * to keep apart from messages, or --json's "error" to keep: every
 * warnx, from any file or thread, goes through report_tee, which still
 * writes it to fd 2.  The progress line is drawn on the real stderr.
 */
static FILE			*report_real;	/* NULL until taken over */
static volatile sig_atomic_t	 report_drawn;	/* a progress line is up */
static int			 report_bol = 1; /* at a line's start */
static char	report_cur[512];	/* the line being written */
static size_t	report_curlen;
static char	report_last[512];	/* the main thread's last line */
static char	report_other[512];	/* another thread's last line */
static char	report_cause[512];	/* report_keep_cause's */
static pthread_t report_main;		/* the thread that took stderr */

#define REPORT_CLEAR	"\r\033[K"	/* back to column 0, erase the line */

/* write(2) all of it; async-signal-safe. */
static void
report_write(const char *buf, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(STDERR_FILENO, buf, n)) == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += w;
		n -= (size_t)w;
	}
}

/* The progress line off the screen, if up; async-signal-safe. */
static void
report_erase(void)
{
	if (report_drawn) {
		report_write(REPORT_CLEAR, sizeof(REPORT_CLEAR) - 1);
		report_drawn = 0;
	}
}

static ssize_t
report_tee(void *cookie, const char *buf, size_t n)
{
	char *line;
	size_t i;

	(void)cookie;
	/* A message starts: the progress line goes first. */
	if (n > 0 && report_bol)
		report_erase();
	report_write(buf, n);
	/*
	 * The scan thread's notes must not pass for the error that ended
	 * the run: lines of other threads are kept apart.
	 */
	line = pthread_equal(pthread_self(), report_main) ? report_last :
	    report_other;
	for (i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			memcpy(line, report_cur, report_curlen);
			line[report_curlen] = '\0';
			report_curlen = 0;
		} else if (report_curlen < sizeof(report_cur) - 1)
			report_cur[report_curlen++] = buf[i];
	}
	if (n > 0)
		report_bol = buf[n - 1] == '\n';
	return (ssize_t)n;
}

/*
 * Take over stderr (for --json, and under a progress line): what is
 * written there still goes to fd 2, but a progress line is cleared
 * before each message, and the last line is kept for report_json's
 * "error".  Once; harmless when repeated; if the stream cannot be made,
 * messages go out as they are and "error" stays null.
 */
void
report_take_stderr(void)
{
	cookie_io_functions_t io = { NULL, report_tee, NULL, NULL };
	FILE *fp;

	if (report_real != NULL)
		return;
	fflush(stderr);
	if ((fp = fopencookie(NULL, "w", io)) == NULL)
		return;		/* messages as they are, "error" null */
	setvbuf(fp, NULL, _IONBF, 0);
	report_main = pthread_self();
	report_real = stderr;
	stderr = fp;
}

/*
 * The run is stopping for what the main thread said last: keep that as
 * report_json's "error", whatever is printed after it.  Only the first
 * call counts.
 */
void
report_keep_cause(void)
{
	if (report_cause[0] == '\0')
		memcpy(report_cause, report_last, sizeof(report_cause));
}

/*
 * For a signal handler: clear the progress line, then write the "n"
 * bytes of "msg" to fd 2.
 */
void
report_signal_note(const char *msg, size_t n)
{
	report_erase();
	report_write(msg, n);
}

/* "12.3 MiB" style sizes for people, into out[32]. */
void
report_bytes(uint64_t n, char out[32])
{
	static const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(out, 32, "%llu B", (unsigned long long)n);
	else
		snprintf(out, 32, "%.1f %s", v, unit[i]);
}

/*
 * Where human lines go: stdout, or stderr under --json.
 */
FILE *
report_stream(const struct config *cfg)
{
	return cfg->json ? stderr : stdout;
}

/*
 * One line "VERB (WHY) KEY" for an action ("upload", "would upload",
 * "skip") on report_stream's stream, with -v or in a dry run, never with
 * -q; "why" may be NULL; the key made printable.
 */
void
report_action(struct report *r, const char *verb, const char *why,
    const char *key)
{
	char *safe;

	/* A dry run shows its plan unless -q; otherwise only -v does. */
	if (log_level < 0 || (log_level < 1 && !r->cfg->dry_run))
		return;
	report_erase();
	safe = printable(key);
	if (why != NULL)
		fprintf(report_stream(r->cfg), "%s (%s) %s\n", verb, why, safe);
	else
		fprintf(report_stream(r->cfg), "%s %s\n", verb, safe);
	free(safe);
}

/*
 * Keep "msg" (owned) for the --report line of "key": its own first
 * error, whatever other files in flight report meanwhile.
 */
static void
report_store(struct report *r, const char *key, char *msg)
{
	struct report_err *fe;

	HASH_FIND_STR(r->errors, key, fe);
	if (fe != NULL) {
		free(msg);
		return;
	}
	fe = xmalloc(sizeof(*fe) + strlen(key) + 1);
	memcpy(fe->key, key, strlen(key) + 1);
	fe->msg = msg;
	HASH_ADD_STR(r->errors, key, fe);
}

/*
 * "KEY: message" (printf-style, the key made printable) on stderr; does
 * not count anything.  The first message of each key is kept for its
 * --report line (report_error_of).
 */
void
report_error(struct report *r, const char *key, const char *fmt, ...)
{
	char *safe, *msg;
	va_list ap;

	report_erase();
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		err(EXIT_FATAL, "vasprintf");
	va_end(ap);
	safe = printable(key);
	warnx("%s: %s", safe, msg);
	free(safe);
	report_store(r, key, msg);
	fflush(stdout);
}

/*
 * Keep a copy of "msg" for key's --report line without printing it (an
 * error already said once for the whole run), unless the key has one.
 */
void
report_keep(struct report *r, const char *key, const char *msg)
{
	report_store(r, key, xstrdup(msg));
}

/*
 * The first message kept for "key" (report_error, report_keep), or
 * NULL; owned by "r" until report_close.
 */
const char *
report_error_of(const struct report *r, const char *key)
{
	struct report_err *fe;

	HASH_FIND_STR(r->errors, key, fe);
	return fe != NULL ? fe->msg : NULL;
}

/*
 * Redraw the progress line on the real stderr (at most 5 times a second
 * unless "force"): files done of rep->to_upload, bytes, rate and
 * failures.  Nothing unless r->progress.
 */
void
report_progress(struct report *r, int force)
{
	char done[32], rate[32];
	uint64_t now, ms, bytes;
	size_t n;

	if (!r->progress)
		return;
	now = now_ms();
	if (!force && now - r->last_draw_ms < PROGRESS_EVERY_MS)
		return;
	r->last_draw_ms = now;
	ms = now - r->start_ms;
	/* The plan's transfers: uploads, or downloads in a restore. */
	n = r->cfg->restore ? r->downloaded : r->uploaded;
	bytes = r->cfg->restore ? r->downloaded_bytes : r->sent_bytes;
	report_bytes(bytes, done);
	report_bytes(ms > 0 ? bytes * 1000 / ms : 0, rate);
	fprintf(report_real != NULL ? report_real : stderr,
	    REPORT_CLEAR "%zu/%zu files  %s  %s/s  %zu failed",
	    n, r->to_upload, done, rate, r->failed);
	fflush(report_real != NULL ? report_real : stderr);
	report_drawn = 1;
}

/*
 * Open cfg->report_path for the JSON Lines report: created or truncated,
 * mode 0644 (before the umask), kept in r->jsonl.  "-" is refused:
 * standard output carries the summary and the -v lines.  Nothing to do
 * without --report.  Returns 0, or -1 (reported).
 */
int
report_open(struct report *r)
{
	const char *path = r->cfg->report_path;
	FILE *fp = NULL;
	int fd = -1, rc = -1;

	if (path == NULL) {
		rc = 0;
		goto out;
	}
	if (strcmp(path, "-") == 0) {
		warnx("--report -: not allowed, standard output carries "
		    "the summary; name a file");
		goto out;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		warn("%s", path);
		if (fd != -1)
			close(fd);
		goto out;
	}
	r->jsonl = fp;
	rc = 0;
out:
	return rc;
}

/*
 * Free the messages kept for --report lines (report_error_of says NULL
 * after) and close the --report file, if open, reporting a write error
 * (every line was flushed, so that is the last one failing to reach the
 * disk).  Safe to call again, and on a report that was never opened.
 */
void
report_close(struct report *r)
{
	FILE *fp = r->jsonl;
	struct report_err *fe, *tmp;

	HASH_ITER(hh, r->errors, fe, tmp) {
		HASH_DEL(r->errors, fe);
		free(fe->msg);
		free(fe);
	}
	if (fp == NULL)
		return;
	r->jsonl = NULL;
	if (fclose(fp) == EOF)
		warn("%s", r->cfg->report_path);
}

/*
 * A JSON string for "s" (NUL-terminated), or null when "s" is NULL or
 * not valid UTF-8, which JSON strings must be.  Never NULL: jansson
 * allocates through xmalloc.
 */
static json_t *
report_json_str(const char *s)
{
	json_t *v = NULL;

	if (s != NULL)
		v = json_stringn(s, strlen(s));
	return v != NULL ? v : json_null();
}

/*
 * When "s" could not be written as the string "name" of "obj" (it was
 * not UTF-8, and report_json_str made it null), add "name_hex" with the
 * hex of its bytes so that nothing is lost.
 */
static void
report_json_hex(json_t *obj, const char *name, const char *s)
{
	char *field, *hex;
	size_t len;

	if (s != NULL && json_is_null(json_object_get(obj, name))) {
		len = strlen(s);
		hex = xmalloc(2 * len + 1);
		hex_encode((const unsigned char *)s, len, hex);
		field = xasprintf("%s_hex", name);
		json_object_set_new(obj, field, json_string(hex));
		free(field);
		free(hex);
	}
}

/*
 * Append one line to the --report file for the outcome of "e":
 *
 *   {"key":K,"object":O,"action":A,"size":N,"mtime":M,"md5":H,
 *    "result":R,"error":E}
 *
 * K is the key relative to DIRECTORY and the --prefix, O the full object
 * key; A the action ("upload", "skip", "defer", "delete", "tag",
 * "download", "mkdir"); N the local size when the file exists, else the
 * object's size; M the local mtime in rclone's format, or null without a
 * local file; H the hex MD5 of what an "upload" stored with result "ok"
 * (null otherwise, and for a multipart upload, whose ETag is not the
 * content's MD5); R the result ("ok", "failed", "skipped", "pending");
 * E null or the error message.  A string that is not UTF-8 is null,
 * with "key_hex", "object_hex" or "error_hex" added holding its bytes in
 * hex.  The line is flushed so that a crash leaves whole lines.  A no-op
 * without --report; a write error is reported, the file closed and
 * later records dropped.
 */
void
report_record(struct report *r, const struct entry *e, const char *action,
    const char *result, const char *error)
{
	FILE *fp = r->jsonl;
	json_t *line = NULL;
	char *object = NULL, mtime[32], md5[33];
	int has_mtime = 0, has_md5 = 0;

	if (fp == NULL)
		goto out;
	object = list_object_key(r->cfg, e->key);
	if (e->local) {
		mtime_format(e->lmtime_sec, e->lmtime_nsec, mtime);
		has_mtime = 1;
	}
	if (strcmp(action, "upload") == 0 && strcmp(result, "ok") == 0 &&
	    e->rparts == 0 && entry_md5(e) != NULL) {
		hex_encode(entry_md5(e), 16, md5);
		has_md5 = 1;
	}
	line = json_pack("{s:o, s:o, s:s, s:I, s:s?, s:s?, s:s, s:o}",
	    "key", report_json_str(e->key),
	    "object", report_json_str(object),
	    "action", action,
	    "size", (json_int_t)(e->local ? e->lsize : e->rsize),
	    "mtime", has_mtime ? mtime : NULL,
	    "md5", has_md5 ? md5 : NULL,
	    "result", result,
	    "error", report_json_str(error));
	if (line == NULL) {
		/* Only "action" or "result" not being UTF-8 gets here. */
		warnx("%s: cannot encode the record of %s", r->cfg->report_path,
		    action);
		goto out;
	}
	report_json_hex(line, "key", e->key);
	report_json_hex(line, "object", object);
	report_json_hex(line, "error", error);
	errno = 0;
	if (json_dumpf(line, fp, JSON_COMPACT) == -1 || putc('\n', fp) == EOF ||
	    fflush(fp) == EOF) {
		if (errno != 0)
			warn("%s", r->cfg->report_path);
		else
			warnx("%s: write error", r->cfg->report_path);
		/* Reported once: later records and report_close do nothing. */
		fclose(fp);
		r->jsonl = NULL;
	}
out:
	json_decref(line);
	free(object);
}

/*
 * The end of the run on stdout, unless --json or -q: one line of text
 * that names deletions, tags, metadata updates, deferred uploads and
 * what was left out only when there were any.  A dry run says what it would do.
 */
void
report_summary(struct report *r, const char *bucket)
{
	char bytes[32];
	double secs;
	int dry = r->cfg->dry_run;

	report_erase();
	if (r->cfg->json || log_level < 0)
		return;
	secs = (double)(now_ms() - r->start_ms) / 1000.0;
	printf("%s%s: ", dry ? "dry run: " : "", bucket);
	/* A restore checks the objects; the target's scan says little. */
	if (r->cfg->restore) {
		report_bytes(r->downloaded_bytes, bytes);
		printf("checked %zu object%s, %s %zu (%s)", r->objects,
		    r->objects == 1 ? "" : "s",
		    dry ? "would download" : "downloaded", r->downloaded,
		    bytes);
	} else {
		report_bytes(r->uploaded_bytes, bytes);
		printf("scanned %zu, %s %zu (%s)", r->scanned,
		    dry ? "would upload" : "uploaded", r->uploaded, bytes);
	}
	printf(", skipped %zu", r->skipped);
	if (r->deleted > 0)
		printf(", %s %zu", dry ? "would delete" : "deleted",
		    r->deleted);
	if (r->tagged > 0)
		printf(", %s %zu", dry ? "would tag" : "tagged", r->tagged);
	if (r->metadata_updated > 0)
		printf(", %s %zu", dry ? "would update metadata of" :
		    "updated metadata of", r->metadata_updated);
	if (r->deferred > 0)
		printf(", deferred %zu (--max-uploads)", r->deferred);
	if (r->pending > 0)
		printf(", pending %zu (archived)", r->pending);
	if (r->left_out > 0)
		printf(", left out %zu (special files)", r->left_out);
	printf(", failed %zu in %.1fs\n", r->failed, secs);
}

/*
 * What ended the run, without warnx's "p3backup: ": the kept cause,
 * else the main thread's last line, else another thread's (the scan's
 * own failure); NULL when nothing was said.
 */
static char *
report_last_error(void)
{
	char *p = report_cause[0] != '\0' ? report_cause :
	    report_last[0] != '\0' ? report_last : report_other;
	size_t n = strlen(program_invocation_short_name);

	if (strncmp(p, program_invocation_short_name, n) == 0 &&
	    strncmp(p + n, ": ", 2) == 0)
		p += n + 2;
	return *p != '\0' ? p : NULL;
}

/* A copy of "s" (NULL stays NULL) with every non-ASCII byte as '?'. */
static char *
report_ascii(const char *s)
{
	char *a;
	size_t i;

	if (s == NULL)
		return NULL;
	a = xstrdup(s);
	for (i = 0; a[i] != '\0'; i++)
		if ((unsigned char)a[i] >= 0x80)
			a[i] = '?';
	return a;
}

/*
 * The --json summary of "r" as an object (never NULL): the counts
 * (scanned, uploaded, uploaded_bytes, skipped, deleted, tagged,
 * metadata_updated, downloaded, downloaded_bytes, pending, failed,
 * deferred, left_out; zero when the run never started), "bucket" (null when not known),
 * elapsed_seconds, dry_run, exit_code "rc" and "error": for exit
 * statuses 2 and 3 the last line of stderr, else null.  A bucket or
 * message that is not UTF-8 is given with '?' for each non-ASCII byte.
 */
json_t *
report_json_new(const struct report *r, const char *bucket, int dry_run,
    int rc)
{
	const char *msg = NULL;
	char *amsg = NULL, *abucket = NULL;
	json_t *obj;
	double secs;

	if (rc == EXIT_USAGE || rc == EXIT_FATAL)
		msg = report_last_error();
	secs = r->start_ms > 0 ? (double)(now_ms() - r->start_ms) / 1000.0 : 0;
again:
	obj = json_pack("{s:s?, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
	    " s:I, s:I, s:I, s:I, s:f, s:b, s:i, s:s?}",
	    "bucket", bucket,
	    "scanned", (json_int_t)r->scanned,
	    "uploaded", (json_int_t)r->uploaded,
	    "uploaded_bytes", (json_int_t)r->uploaded_bytes,
	    "skipped", (json_int_t)r->skipped,
	    "deleted", (json_int_t)r->deleted,
	    "tagged", (json_int_t)r->tagged,
	    "metadata_updated", (json_int_t)r->metadata_updated,
	    "downloaded", (json_int_t)r->downloaded,
	    "downloaded_bytes", (json_int_t)r->downloaded_bytes,
	    "pending", (json_int_t)r->pending,
	    "failed", (json_int_t)r->failed,
	    "deferred", (json_int_t)r->deferred,
	    "left_out", (json_int_t)r->left_out,
	    "elapsed_seconds", secs,
	    "dry_run", dry_run,
	    "exit_code", rc,
	    "error", msg);
	if (obj == NULL && amsg == NULL && abucket == NULL) {
		/*
		 * Not UTF-8: a file name in the message, or a bucket name a
		 * usage error refused.  "?" for every non-ASCII byte.
		 */
		msg = amsg = report_ascii(msg);
		bucket = abucket = report_ascii(bucket);
		if (amsg != NULL || abucket != NULL)
			goto again;
	}
	free(amsg);
	free(abucket);
	if (obj == NULL)
		errx(EXIT_FATAL, "cannot encode the JSON summary");
	return obj;
}

/*
 * Set the string "name" of "obj" to "s": null when NULL, and when not
 * UTF-8 null with "name_hex" holding its bytes in hex.
 */
void
report_json_set(json_t *obj, const char *name, const char *s)
{
	json_object_set_new(obj, name, report_json_str(s));
	report_json_hex(obj, name, s);
}

/* --json, at the very end: report_json_new's object on stdout. */
void
report_json(const struct report *r, const char *bucket, int dry_run,
    int rc)
{
	json_t *obj;

	obj = report_json_new(r, bucket, dry_run, rc);
	/* Milliseconds, without binary noise like 1.2339999999. */
	if (json_dumpf(obj, stdout, JSON_COMPACT | JSON_REAL_PRECISION(12)) == 0)
		putchar('\n');
	fflush(stdout);
	json_decref(obj);
}
