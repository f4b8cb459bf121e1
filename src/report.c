/*
 * The report stage: what the user sees.  A progress line on a terminal,
 * one line per action with -v, errors as they happen, and at the end a
 * one-line summary or, with --json, one JSON object on stdout.
 */
#include "config.h"

#include <err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"

#define PROGRESS_EVERY_MS	200

void
report_init(struct report *r, const struct config *cfg)
{
	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	r->start_ms = now_ms();
	if (cfg->progress == -1)
		r->progress = isatty(STDERR_FILENO) && log_level >= 0 &&
		    !cfg->json;
	else
		r->progress = cfg->progress;
}

/* Take the progress line off the screen before printing anything else. */
static void
report_clear(struct report *r)
{
	if (r->drawn) {
		fputs("\r\033[K", stderr);
		r->drawn = 0;
	}
}

/* "12.3 MiB" style sizes for people. */
static void
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

void
report_action(struct report *r, const char *verb, const char *why,
    const char *key)
{
	char *safe;

	/* A dry run shows its plan unless -q; otherwise only -v does. */
	if (log_level < 0 || (log_level < 1 && !r->cfg->dry_run))
		return;
	report_clear(r);
	safe = printable(key);
	if (why != NULL)
		printf("%s (%s) %s\n", verb, why, safe);
	else
		printf("%s %s\n", verb, safe);
	free(safe);
}

void
report_error(struct report *r, const char *key, const char *fmt, ...)
{
	char *safe, *msg;
	va_list ap;

	report_clear(r);
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		err(3, "vasprintf");
	va_end(ap);
	safe = printable(key);
	warnx("%s: %s", safe, msg);
	free(safe);
	free(msg);
	fflush(stdout);
}

void
report_progress(struct report *r, int force)
{
	char done[32], rate[32];
	uint64_t now, ms;

	if (!r->progress)
		return;
	now = now_ms();
	if (!force && now - r->last_draw_ms < PROGRESS_EVERY_MS)
		return;
	r->last_draw_ms = now;
	ms = now - r->start_ms;
	report_bytes(r->uploaded_bytes, done);
	report_bytes(ms > 0 ? r->uploaded_bytes * 1000 / ms : 0, rate);
	fprintf(stderr, "\r\033[K%zu/%zu files  %s  %s/s  %zu failed",
	    r->uploaded, r->to_upload, done, rate, r->failed);
	fflush(stderr);
	r->drawn = 1;
}

void
report_summary(struct report *r, const char *bucket)
{
	char bytes[32];
	double secs;

	report_clear(r);
	secs = (double)(now_ms() - r->start_ms) / 1000.0;
	if (r->cfg->json) {
		/* Bucket names are [a-z0-9.-]: nothing in them needs escaping. */
		printf("{\"bucket\":\"%s\",\"scanned\":%zu,\"uploaded\":%zu,"
		    "\"uploaded_bytes\":%llu,\"skipped\":%zu,\"deleted\":%zu,"
		    "\"tagged\":%zu,\"downloaded\":%zu,\"failed\":%zu,"
		    "\"elapsed_seconds\":%.3f}\n", bucket, r->scanned,
		    r->uploaded, (unsigned long long)r->uploaded_bytes,
		    r->skipped, r->deleted, r->tagged, r->downloaded,
		    r->failed, secs);
		return;
	}
	if (log_level < 0)
		return;
	report_bytes(r->uploaded_bytes, bytes);
	printf("%s%s: scanned %zu, uploaded %zu (%s), skipped %zu, "
	    "failed %zu in %.1fs\n", r->cfg->dry_run ? "dry run: " : "",
	    bucket, r->scanned, r->uploaded, bytes, r->skipped, r->failed,
	    secs);
}
