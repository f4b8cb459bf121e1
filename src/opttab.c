/*
 * The table of settings: one row per setting, from the command line
 * (options.c runs getopt_long over it) and from job files (--config
 * FILE; job.c reads the lines): its long option as getopt_long sees it,
 * its job-file key, the kind of value and the field of struct config it
 * sets.  Both sources go through opttab_apply, so a job file is checked
 * exactly as the command line, and a new setting is one row here (and
 * its line in options.c's --help).
 *
 * The command line is parsed after the job file, so it wins.  In a job
 * file include and exclude add one pattern per line; for the other keys
 * the last line wins.  The contract is README's and p3backup(1)'s.
 */
#include "config.h"

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "extern.h"
#include "s3.h"
#include "history.h"

/* --jobs takes 1 to this. */
#define OPTTAB_JOBS_MAX	256

/* What a row's value is, and so how opttab_apply sets its field. */
enum OPTTAB_KIND {
	OPTTAB_FLAG,		/* int: the option sets "lo"; a key: a bool */
	OPTTAB_STRING,		/* char *, checked by "check" if there is one */
	OPTTAB_PATH,		/* char *; in a job file from its directory */
	OPTTAB_NUMBER,		/* int, a whole number in [lo, hi] */
	OPTTAB_COUNT,		/* long, a whole number >= 0 */
	OPTTAB_SIZE,		/* uint64_t, bytes in [lo, hi], K/M/G */
	OPTTAB_FN,		/* "fn" does it all */
	OPTTAB_ARGV		/* the command line's own: options.c acts */
};

/* Row flags. */
#define OPTTAB_EMPTY_OK		0x01	/* a key may be empty ("prefix =") */
#define OPTTAB_CHECK_LATE	0x02	/* argv's is checked by sse_check */

/* One argument to apply: from the command line or a job file's line. */
struct opttab_arg {
	const char	*what;	/* "--jobs", or "FILE:LINE: jobs" */
	const char	*where;	/* "FILE:LINE" in a job file; NULL: argv */
	const char	*value;	/* NULL: an option without its argument */
	const char	*path;	/* the value as a path (job.c's for a key) */
};

struct opttab_row;
typedef int (*opttab_fn)(struct config *, const struct opttab_row *,
	    const struct opttab_arg *);

struct opttab_row {
	const char	*name;		/* long option; NULL: a job key only */
	int		 letter;	/* short option, 0 when none */
	int		 has_arg;	/* getopt_long's */
	const char	*key;		/* job-file key; NULL: argv only */
	enum OPTTAB_KIND kind;
	size_t		 off;		/* its field in struct config */
	long long	 lo, hi;	/* bounds; a flag's value; fn's mode */
	int		(*check)(const char *what, const char *value);
	opttab_fn	 fn;
	int		 flags;		/* OPTTAB_EMPTY_OK, ... */
};

/*
 * A whole number in [min, max] into *out; "what" names it in the
 * message.  Returns 0, or -1 after reporting.
 */
static int
opttab_number(const char *what, const char *arg, long min, long max,
    int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || v < min || v > max) {
		warnx("%s %s: must be a whole number from %ld to %ld",
		    what, arg, min, max);
		return -1;
	}
	*out = (int)v;
	return 0;
}

/*
 * A size: a whole number of bytes, or with a K, M or G suffix (powers
 * of 1024), within [min, max].  -1 after reporting otherwise.
 */
static int
opttab_size(const char *opt, const char *arg, uint64_t min, uint64_t max,
    uint64_t *out)
{
	unsigned long long v;
	uint64_t mult = 1;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (*end == 'K' || *end == 'k')
		mult = 1024;
	else if (*end == 'M' || *end == 'm')
		mult = 1024 * 1024;
	else if (*end == 'G' || *end == 'g')
		mult = 1024 * 1024 * 1024;
	if (mult > 1)
		end++;
	if (errno != 0 || end == arg || *arg == '-' || *end != '\0' ||
	    v > max / mult || v * mult < min) {
		warnx("%s %s: must be a size from %llu to %llu bytes "
		    "(K, M and G suffixes are powers of 1024)", opt, arg,
		    (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*out = v * mult;
	return 0;
}

/*
 * A whole number >= 0 into *out; "what" names it in the message.
 * Returns 0, or -1 after reporting.
 */
static int
opttab_count(const char *what, const char *arg, long *out)
{
	int v;

	if (opttab_number(what, arg, 0, INT_MAX, &v) == -1)
		return -1;
	*out = v;
	return 0;
}

/*
 * A boolean of a job file: true/yes/1 or false/no/0, in any case, into
 * *out; an option without an argument is true.  Returns 0, or -1 after
 * reporting.
 */
static int
opttab_bool(const struct opttab_arg *a, int *out)
{
	const char *v = a->value;

	if (v == NULL || strcasecmp(v, "true") == 0 ||
	    strcasecmp(v, "yes") == 0 || strcmp(v, "1") == 0)
		*out = 1;
	else if (strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0 ||
	    strcmp(v, "0") == 0)
		*out = 0;
	else {
		warnx("%s %s: must be true or false (yes/no, 1/0)", a->what,
		    v);
		return -1;
	}
	return 0;
}

/*
 * Whether "arg" is one of the storage classes S3 takes in
 * x-amz-storage-class; "what" names it in the message.
 * Returns 0, or -1 after reporting.
 */
static int
opttab_storage_class(const char *what, const char *arg)
{
	static const char *classes[] = { "STANDARD", "STANDARD_IA",
	    "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER", "GLACIER_IR",
	    "DEEP_ARCHIVE", "REDUCED_REDUNDANCY" };
	size_t i;

	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (strcmp(arg, classes[i]) == 0)
			return 0;
	warnx("%s %s: not a storage class (STANDARD, STANDARD_IA, "
	    "ONEZONE_IA, INTELLIGENT_TIERING, GLACIER, GLACIER_IR, "
	    "DEEP_ARCHIVE, REDUCED_REDUNDANCY)", what, arg);
	return -1;
}

/* --restore-tier: 0, or -1 after reporting. */
static int
opttab_restore_tier(const char *what, const char *arg)
{
	if (strcmp(arg, "Standard") == 0 || strcmp(arg, "Bulk") == 0 ||
	    strcmp(arg, "Expedited") == 0)
		return 0;
	warnx("%s %s: must be Standard, Bulk or Expedited", what, arg);
	return -1;
}

/* --lock-mode: 0, or -1 after reporting. */
static int
opttab_lock_mode(const char *what, const char *arg)
{
	if (strcmp(arg, "GOVERNANCE") == 0 || strcmp(arg, "COMPLIANCE") == 0)
		return 0;
	warnx("%s %s: must be GOVERNANCE or COMPLIANCE", what, arg);
	return -1;
}

/* --as-of: a TIME asof_parse reads; 0, or -1 after reporting. */
static int
opttab_as_of(const char *what, const char *arg)
{
	time_t t;

	if (asof_parse(arg, &t) != -1)
		return 0;
	warnx("%s %s: not a run id (see --history), YYYY-MM-DDTHH:MM:SSZ "
	    "(UTC) or local YYYY-MM-DD[ HH:MM[:SS]]", what, arg);
	return -1;
}

static void
opttab_set(char **slot, const char *arg)
{
	free(*slot);
	*slot = xstrdup(arg);
}

static struct filter *
opttab_filter(struct config *cfg)
{
	if (cfg->filter == NULL)
		cfg->filter = filter_new();
	return cfg->filter;
}

/*
 * Set cfg->prefix from "arg" as --prefix does: keys go under "P/", so P
 * is kept without '/' at its ends, and NULL when nothing is left.  The
 * old value is freed; the new one is owned by "cfg".
 */
void
opttab_prefix(struct config *cfg, const char *arg)
{
	size_t len;

	while (*arg == '/')
		arg++;
	len = strlen(arg);
	while (len > 0 && arg[len - 1] == '/')
		len--;
	free(cfg->prefix);
	cfg->prefix = len == 0 ? NULL : xstrndup(arg, len);
}

/* The OPTTAB_FN rows, each an opttab_fn: 0, or -1 after reporting. */

static int
opttab_set_prefix(struct config *cfg, const struct opttab_row *row,
    const struct opttab_arg *a)
{
	(void)row;
	opttab_prefix(cfg, a->value);
	return 0;
}

static int
opttab_profile(struct config *cfg, const struct opttab_row *row,
    const struct opttab_arg *a)
{
	(void)row;
	opttab_set(&cfg->profile, a->value);
	cfg->profile_explicit = 1;
	return 0;
}

/* --include (lo 1) and --exclude (lo 0). */
static int
opttab_pattern(struct config *cfg, const struct opttab_row *row,
    const struct opttab_arg *a)
{
	return filter_add(opttab_filter(cfg), (int)row->lo, a->value);
}

static int
opttab_exclude_from(struct config *cfg, const struct opttab_row *row,
    const struct opttab_arg *a)
{
	(void)row;
	return filter_add_file(opttab_filter(cfg), a->path);
}

/*
 * --delete and --tag-deleted (the mode in lo): the last one given wins.
 * In a job file "true" chooses the mode, "false" undoes only that mode,
 * and both true is an error.
 */
static int
opttab_delete(struct config *cfg, const struct opttab_row *row,
    const struct opttab_arg *a)
{
	int mode = (int)row->lo, on;

	if (opttab_bool(a, &on) == -1)
		return -1;
	if (on && a->where != NULL && cfg->delete_mode != DELETE_NONE &&
	    cfg->delete_mode != mode) {
		warnx("%s: delete and tag_deleted cannot both be true",
		    a->what);
		return -1;
	}
	if (on)
		cfg->delete_mode = mode;
	else if (cfg->delete_mode == mode)
		cfg->delete_mode = DELETE_NONE;
	return 0;
}

/* The AWS CLI's --request-payer requester, as =VALUE; a key's boolean. */
static int
opttab_request_payer(struct config *cfg, const struct opttab_row *row,
    const struct opttab_arg *a)
{
	(void)row;
	if (a->where != NULL)
		return opttab_bool(a, &cfg->request_payer);
	if (a->value != NULL && strcmp(a->value, "requester") != 0) {
		warnx("--request-payer=%s: the only value is requester",
		    a->value);
		return -1;
	}
	cfg->request_payer = 1;
	return 0;
}

/* A job's "bucket": a bucket name, or "default" for a generated one. */
static int
opttab_bucket(struct config *cfg, const struct opttab_row *row,
    const struct opttab_arg *a)
{
	const char *why;

	(void)row;
	if (strcmp(a->value, "default") == 0) {
		free(cfg->bucket);
		cfg->bucket = NULL;
		return 0;
	}
	if ((why = bucket_check(a->value)) != NULL) {
		warnx("%s: \"%s\": %s%s", a->what, a->value, why,
		    job_comment_hint(a->value));
		return -1;
	}
	opttab_set(&cfg->bucket, a->value);
	return 0;
}

/* A job's "directory", and the line that named it for later messages. */
static int
opttab_directory(struct config *cfg, const struct opttab_row *row,
    const struct opttab_arg *a)
{
	(void)row;
	opttab_set(&cfg->directory, a->path);
	opttab_set(&cfg->directory_from, a->where);
	return 0;
}

/*
 * A row's field: its offset in struct config, which does not compile
 * unless the field has the type its kind sets.
 */
#define OPTTAB_AT(field, type) (offsetof(struct config, field) + \
	0 * sizeof(_Generic(((struct config *)0)->field, type: 1)))
#define OPTTAB_INT(field)	OPTTAB_AT(field, int)
#define OPTTAB_LONG(field)	OPTTAB_AT(field, long)
#define OPTTAB_SIZE_T(field)	OPTTAB_AT(field, uint64_t)
#define OPTTAB_STR(field)	OPTTAB_AT(field, char *)

/*
 * Every setting.  getopt_long's "val" of a row is its letter, or 256
 * plus its index.  --help's text is options.c's, in this order.
 */
static const struct opttab_row opttab_rows[] = {
	{ .key = "bucket", .kind = OPTTAB_FN, .fn = opttab_bucket },
	{ .key = "directory", .kind = OPTTAB_FN, .fn = opttab_directory },
	{ .name = "endpoint-url", .has_arg = required_argument,
	    .key = "endpoint_url", .kind = OPTTAB_STRING,
	    .off = OPTTAB_STR(opt_endpoint) },
	{ .name = "region", .has_arg = required_argument, .key = "region",
	    .kind = OPTTAB_STRING, .off = OPTTAB_STR(opt_region) },
	{ .name = "profile", .has_arg = required_argument, .key = "profile",
	    .kind = OPTTAB_FN, .fn = opttab_profile },
	{ .name = "path-style", .has_arg = no_argument, .kind = OPTTAB_FLAG,
	    .off = OPTTAB_INT(opt_path_style), .lo = 1 },
	{ .name = "prefix", .has_arg = required_argument, .key = "prefix",
	    .kind = OPTTAB_FN, .fn = opttab_set_prefix,
	    .flags = OPTTAB_EMPTY_OK },
	{ .name = "dry-run", .letter = 'n', .has_arg = no_argument,
	    .kind = OPTTAB_FLAG, .off = OPTTAB_INT(dry_run), .lo = 1 },
	{ .name = "size-only", .has_arg = no_argument, .key = "size_only",
	    .kind = OPTTAB_FLAG, .off = OPTTAB_INT(size_only), .lo = 1 },
	{ .name = "mtime", .has_arg = no_argument, .key = "mtime",
	    .kind = OPTTAB_FLAG, .off = OPTTAB_INT(mtime), .lo = 1 },
	{ .name = "checksum", .has_arg = no_argument, .key = "checksum",
	    .kind = OPTTAB_FLAG, .off = OPTTAB_INT(checksum), .lo = 1 },
	{ .name = "include", .has_arg = required_argument, .key = "include",
	    .kind = OPTTAB_FN, .lo = 1, .fn = opttab_pattern },
	{ .name = "exclude", .has_arg = required_argument, .key = "exclude",
	    .kind = OPTTAB_FN, .lo = 0, .fn = opttab_pattern },
	{ .name = "exclude-from", .has_arg = required_argument,
	    .key = "exclude_from", .kind = OPTTAB_FN,
	    .fn = opttab_exclude_from },
	{ .name = "follow-symlinks", .has_arg = no_argument,
	    .key = "follow_symlinks", .kind = OPTTAB_FLAG,
	    .off = OPTTAB_INT(follow_symlinks), .lo = 1 },
	{ .name = "storage-class", .has_arg = required_argument,
	    .key = "storage_class", .kind = OPTTAB_STRING,
	    .off = OPTTAB_STR(storage_class), .check = opttab_storage_class },
	{ .name = "max-uploads", .has_arg = required_argument,
	    .key = "max_uploads", .kind = OPTTAB_COUNT,
	    .off = OPTTAB_LONG(max_uploads) },
	{ .name = "delete", .has_arg = no_argument, .key = "delete",
	    .kind = OPTTAB_FN, .lo = DELETE_OBJECTS, .fn = opttab_delete },
	{ .name = "tag-deleted", .has_arg = no_argument, .key = "tag_deleted",
	    .kind = OPTTAB_FN, .lo = DELETE_TAG, .fn = opttab_delete },
	{ .name = "max-delete", .has_arg = required_argument,
	    .key = "max_delete", .kind = OPTTAB_COUNT,
	    .off = OPTTAB_LONG(max_delete) },
	{ .name = "config", .has_arg = required_argument,
	    .kind = OPTTAB_ARGV },
	{ .name = "no-versioning", .has_arg = no_argument,
	    .key = "no_versioning", .kind = OPTTAB_FLAG,
	    .off = OPTTAB_INT(no_versioning), .lo = 1 },
	{ .name = "history", .has_arg = no_argument, .kind = OPTTAB_FLAG,
	    .off = OPTTAB_INT(history), .lo = 1 },
	{ .name = "history-days", .has_arg = required_argument,
	    .key = "history_days", .kind = OPTTAB_NUMBER,
	    .off = OPTTAB_INT(history_days), .lo = 0, .hi = 36500 },
	{ .name = "lock-days", .has_arg = required_argument,
	    .key = "lock_days", .kind = OPTTAB_NUMBER,
	    .off = OPTTAB_INT(lock_days), .lo = 1, .hi = 36500 },
	{ .name = "lock-mode", .has_arg = required_argument,
	    .key = "lock_mode", .kind = OPTTAB_STRING,
	    .off = OPTTAB_STR(lock_mode), .check = opttab_lock_mode },
	{ .name = "as-of", .has_arg = required_argument,
	    .kind = OPTTAB_STRING, .off = OPTTAB_STR(as_of),
	    .check = opttab_as_of },
	{ .name = "encrypt-key", .has_arg = required_argument,
	    .key = "encrypt_key", .kind = OPTTAB_PATH,
	    .off = OPTTAB_STR(encrypt_key) },
	{ .name = "compress", .has_arg = no_argument, .key = "compress",
	    .kind = OPTTAB_FLAG, .off = OPTTAB_INT(compress), .lo = 1 },
	{ .name = "new-settings", .has_arg = no_argument, .kind = OPTTAB_FLAG,
	    .off = OPTTAB_INT(new_settings), .lo = 1 },
	{ .name = "decrypt-key", .has_arg = required_argument,
	    .kind = OPTTAB_PATH, .off = OPTTAB_STR(decrypt_key) },
	{ .name = "sse", .has_arg = required_argument, .key = "sse",
	    .kind = OPTTAB_STRING, .off = OPTTAB_STR(sse), .check = sse_valid,
	    .flags = OPTTAB_CHECK_LATE },
	{ .name = "sse-kms-key-id", .has_arg = required_argument,
	    .key = "sse_kms_key_id", .kind = OPTTAB_STRING,
	    .off = OPTTAB_STR(sse_kms_key_id) },
	{ .name = "sse-c-key-file", .has_arg = required_argument,
	    .key = "sse_c_key_file", .kind = OPTTAB_PATH,
	    .off = OPTTAB_STR(sse_c_key_file) },
	{ .name = "acl", .has_arg = required_argument, .key = "acl",
	    .kind = OPTTAB_STRING, .off = OPTTAB_STR(acl),
	    .check = sse_valid_acl, .flags = OPTTAB_CHECK_LATE },
	{ .name = "request-payer", .has_arg = optional_argument,
	    .key = "request_payer", .kind = OPTTAB_FN,
	    .fn = opttab_request_payer },
	{ .name = "restore", .has_arg = no_argument, .kind = OPTTAB_FLAG,
	    .off = OPTTAB_INT(restore), .lo = 1 },
	{ .name = "no-owner", .has_arg = no_argument,
	    .kind = OPTTAB_FLAG, .off = OPTTAB_INT(no_owner), .lo = 1 },
	{ .name = "restore-special-bits", .has_arg = no_argument,
	    .kind = OPTTAB_FLAG, .off = OPTTAB_INT(restore_special_bits),
	    .lo = 1 },
	{ .name = "include-deleted", .has_arg = no_argument,
	    .kind = OPTTAB_FLAG, .off = OPTTAB_INT(include_deleted),
	    .lo = 1 },
	{ .name = "restore-request", .has_arg = required_argument,
	    .kind = OPTTAB_NUMBER, .off = OPTTAB_INT(restore_days), .lo = 1,
	    .hi = 30000 },
	{ .name = "restore-tier", .has_arg = required_argument,
	    .kind = OPTTAB_STRING, .off = OPTTAB_STR(restore_tier),
	    .check = opttab_restore_tier },
	{ .name = "jobs", .letter = 'j', .has_arg = required_argument,
	    .key = "jobs", .kind = OPTTAB_NUMBER, .off = OPTTAB_INT(jobs),
	    .lo = 1, .hi = OPTTAB_JOBS_MAX },
	{ .name = "multipart-threshold", .has_arg = required_argument,
	    .kind = OPTTAB_SIZE, .off = OPTTAB_SIZE_T(multipart_threshold),
	    .lo = 1, .hi = MP_MAX_PART * MP_MAX_PARTS },
	{ .name = "part-size", .has_arg = required_argument,
	    .kind = OPTTAB_SIZE, .off = OPTTAB_SIZE_T(part_size),
	    .lo = MP_MIN_PART, .hi = MP_MAX_PART },
	{ .name = "retries", .has_arg = required_argument,
	    .kind = OPTTAB_NUMBER, .off = OPTTAB_INT(max_retries), .lo = 0,
	    .hi = 20 },
	{ .name = "timeout", .has_arg = required_argument,
	    .kind = OPTTAB_NUMBER, .off = OPTTAB_INT(timeout), .lo = 1,
	    .hi = 3600 },
	{ .name = "json", .has_arg = no_argument, .kind = OPTTAB_FLAG,
	    .off = OPTTAB_INT(json), .lo = 1 },
	{ .name = "report", .has_arg = required_argument, .key = "report",
	    .kind = OPTTAB_PATH, .off = OPTTAB_STR(report_path) },
	{ .name = "quiet", .letter = 'q', .has_arg = no_argument,
	    .kind = OPTTAB_ARGV },
	{ .name = "verbose", .letter = 'v', .has_arg = no_argument,
	    .kind = OPTTAB_ARGV },
	{ .name = "progress", .has_arg = no_argument, .kind = OPTTAB_FLAG,
	    .off = OPTTAB_INT(progress), .lo = 1 },
	{ .name = "no-progress", .has_arg = no_argument, .kind = OPTTAB_FLAG,
	    .off = OPTTAB_INT(progress), .lo = 0 },
	{ .name = "help", .letter = 'h', .has_arg = no_argument,
	    .kind = OPTTAB_ARGV },
	{ .name = "version", .letter = 'V', .has_arg = no_argument,
	    .kind = OPTTAB_ARGV },
};

#define OPTTAB_NROWS	(sizeof(opttab_rows) / sizeof(opttab_rows[0]))

/*
 * Set what "row" sets from "a", checked as the row says.  Returns 0,
 * or -1 after reporting.
 */
static int
opttab_apply(struct config *cfg, const struct opttab_row *row,
    const struct opttab_arg *a)
{
	void *field = (char *)cfg + row->off;

	switch (row->kind) {
	case OPTTAB_FLAG:
		if (a->value == NULL) {
			*(int *)field = (int)row->lo;
			return 0;
		}
		return opttab_bool(a, field);
	case OPTTAB_STRING:
		/* The command line's --sse and --acl: with the others. */
		if (row->check != NULL && (a->where != NULL ||
		    !(row->flags & OPTTAB_CHECK_LATE)) &&
		    row->check(a->what, a->value) == -1)
			return -1;
		opttab_set(field, a->value);
		return 0;
	case OPTTAB_PATH:
		opttab_set(field, a->path);
		return 0;
	case OPTTAB_NUMBER:
		return opttab_number(a->what, a->value, (long)row->lo,
		    (long)row->hi, field);
	case OPTTAB_COUNT:
		return opttab_count(a->what, a->value, field);
	case OPTTAB_SIZE:
		return opttab_size(a->what, a->value, (uint64_t)row->lo,
		    (uint64_t)row->hi, field);
	case OPTTAB_FN:
		return row->fn(cfg, row, a);
	case OPTTAB_ARGV:
		break;
	}
	return 0;
}

/* The job_fn of job files: one key through its row of the table. */
static int
opttab_job_line(void *arg, const struct job_line *line)
{
	const struct opttab_row *row;
	struct opttab_arg a;
	size_t i;

	for (i = 0; i < OPTTAB_NROWS; i++)
		if (opttab_rows[i].key != NULL &&
		    strcmp(opttab_rows[i].key, line->name) == 0)
			break;
	if (i == OPTTAB_NROWS) {
		warnx("%s: unknown key %s", line->where, line->name);
		return -1;
	}
	row = &opttab_rows[i];
	/* "prefix =" is the bucket's root, as --prefix ''; nothing else. */
	if (*line->value == '\0' && !(row->flags & OPTTAB_EMPTY_OK)) {
		warnx("%s: empty value", line->what);
		return -1;
	}
	a.what = line->what;
	a.where = line->where;
	a.value = line->value;
	a.path = line->path;
	return opttab_apply(arg, row, &a);
}

/*
 * Read the job file "path" into "cfg" as --config FILE does (job_load):
 * each key goes through its setting's row and is checked as its
 * command-line option (bucket, directory, prefix, include, exclude,
 * exclude_from, storage_class, mtime, size_only, checksum,
 * follow_symlinks, delete, tag_deleted, max_delete, max_uploads, jobs,
 * endpoint_url, region, profile, report, encrypt_key, compress, sse,
 * sse_kms_key_id, sse_c_key_file, acl, request_payer).  Returns 0, or -1
 * after reporting "FILE:LINE: ..." (an unknown key, an empty or bad
 * value) or the file's error.
 */
int
opttab_job_load(struct config *cfg, const char *path)
{
	return job_load(path, opttab_job_line, cfg);
}

/*
 * getopt_long's long options and short-option string for every setting
 * that has a command-line option, built from the rows on the first call:
 * a long option's "val" is its letter, or 256 plus its row's index.  Both
 * are static: do not free.
 */
void
opttab_getopt(const struct option **longopts, const char **shortopts)
{
	static struct option lo[OPTTAB_NROWS + 1];
	static char so[2 * OPTTAB_NROWS + 2];
	const struct opttab_row *row;
	size_t i, n = 0, k = 0;

	if (so[0] == '\0') {
		so[k++] = ':';
		for (i = 0; i < OPTTAB_NROWS; i++) {
			row = &opttab_rows[i];
			if (row->name == NULL)
				continue;
			lo[n].name = row->name;
			lo[n].has_arg = row->has_arg;
			lo[n].flag = NULL;
			lo[n].val = row->letter != 0 ? row->letter :
			    256 + (int)i;
			n++;
			if (row->letter == 0)
				continue;
			so[k++] = (char)row->letter;
			if (row->has_arg == required_argument)
				so[k++] = ':';
		}
	}
	*longopts = lo;
	*shortopts = so;
}

/* The row of getopt_long's result "ch", or NULL ('?', ':'). */
static const struct opttab_row *
opttab_row(int ch)
{
	size_t i;

	if (ch >= 256 && (size_t)(ch - 256) < OPTTAB_NROWS)
		return &opttab_rows[ch - 256];
	for (i = 0; ch != ':' && i < OPTTAB_NROWS; i++)
		if (opttab_rows[i].letter == ch)
			return &opttab_rows[i];
	return NULL;
}

/*
 * The long name ("jobs") of the option for getopt_long's result "ch",
 * or NULL when "ch" is none ('?', ':').  A static string.
 */
const char *
opttab_name(int ch)
{
	const struct opttab_row *row;

	return (row = opttab_row(ch)) != NULL ? row->name : NULL;
}

_Static_assert(OPTTAB_NROWS <= OPTTAB_MAX, "raise OPTTAB_MAX");

/*
 * Apply getopt_long's result "ch" (one that opttab_name knows) and its
 * optarg "arg" to "cfg" as the command line does, and set its mark in
 * given[OPTTAB_MAX] (zeroed by the caller).  The command line's own
 * options (-h, -V, -q, -v, --config) set nothing here: the caller acts.
 * Returns 0, or -1 after reporting "--NAME VALUE: ..." (or, for a "ch"
 * opttab_name does not know, without a message).
 */
int
opttab_option(struct config *cfg, int ch, const char *arg,
    unsigned char *given)
{
	const struct opttab_row *row;
	struct opttab_arg a;
	char what[64];

	if ((row = opttab_row(ch)) == NULL)
		return -1;
	snprintf(what, sizeof(what), "--%s", row->name);
	a.what = what;
	a.where = NULL;
	/*
	 * A flag has no value, whatever optarg holds: musl's getopt leaves
	 * the previous option's there after a short flag such as -n.
	 */
	a.value = row->has_arg == no_argument ? NULL : arg;
	a.path = a.value;
	if (opttab_apply(cfg, row, &a) == -1)
		return -1;
	given[row - opttab_rows] = 1;
	return 0;
}

/*
 * Whether "given" (as opttab_option marked it) marks the option named
 * "name" ("size-only"); 0 for a name no row has.
 */
int
opttab_given(const unsigned char *given, const char *name)
{
	size_t i;

	for (i = 0; i < OPTTAB_NROWS; i++)
		if (opttab_rows[i].name != NULL &&
		    strcmp(opttab_rows[i].name, name) == 0)
			return given[i];
	return 0;
}
