/*
 * The command line: getopt_long over the command-line contract (README,
 * p3backup(1)), into the settings struct.  Options whose feature is not
 * built yet are accepted by name and refused with a usage error (exit
 * 2), so scripts written against the documented contract fail loudly,
 * not silently.
 */
#include "config.h"

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "s3.h"

enum {
	OPT_ENDPOINT = 256,
	OPT_REGION,
	OPT_PROFILE,
	OPT_PATH_STYLE,
	OPT_PREFIX,
	OPT_MTIME,
	OPT_SIZE_ONLY,
	OPT_CHECKSUM,
	OPT_INCLUDE,
	OPT_EXCLUDE,
	OPT_STORAGE_CLASS,
	OPT_MAX_UPLOADS,
	OPT_DELETE,
	OPT_TAG_DELETED,
	OPT_MP_THRESHOLD,
	OPT_PART_SIZE,
	OPT_RESTORE,
	OPT_ENCRYPT_KEY,
	OPT_DECRYPT_KEY,
	OPT_JSON,
	OPT_PROGRESS,
	OPT_NO_PROGRESS,
	OPT_FOLLOW_SYMLINKS,
	OPT_RETRIES,
	OPT_TIMEOUT,
	OPT_COMPRESS,
	OPT_NEW_SETTINGS,
	OPT_EXCLUDE_FROM,
	OPT_MAX_DELETE,
	OPT_REPORT,
	OPT_CONFIG,
	OPT_INCLUDE_DELETED,
	OPT_RESTORE_REQUEST,
	OPT_RESTORE_TIER,
	OPT_SSE,
	OPT_SSE_KMS_KEY_ID,
	OPT_SSE_C_KEY_FILE,
	OPT_ACL,
	OPT_REQUEST_PAYER,
};

static const struct option longopts[] = {
	{ "endpoint-url",	required_argument, NULL, OPT_ENDPOINT },
	{ "region",		required_argument, NULL, OPT_REGION },
	{ "profile",		required_argument, NULL, OPT_PROFILE },
	{ "path-style",		no_argument,	   NULL, OPT_PATH_STYLE },
	{ "prefix",		required_argument, NULL, OPT_PREFIX },
	{ "dry-run",		no_argument,	   NULL, 'n' },
	{ "mtime",		no_argument,	   NULL, OPT_MTIME },
	{ "size-only",		no_argument,	   NULL, OPT_SIZE_ONLY },
	{ "checksum",		no_argument,	   NULL, OPT_CHECKSUM },
	{ "jobs",		required_argument, NULL, 'j' },
	{ "include",		required_argument, NULL, OPT_INCLUDE },
	{ "exclude",		required_argument, NULL, OPT_EXCLUDE },
	{ "storage-class",	required_argument, NULL, OPT_STORAGE_CLASS },
	{ "max-uploads",	required_argument, NULL, OPT_MAX_UPLOADS },
	{ "delete",		no_argument,	   NULL, OPT_DELETE },
	{ "tag-deleted",	no_argument,	   NULL, OPT_TAG_DELETED },
	{ "multipart-threshold", required_argument, NULL, OPT_MP_THRESHOLD },
	{ "part-size",		required_argument, NULL, OPT_PART_SIZE },
	{ "restore",		no_argument,	   NULL, OPT_RESTORE },
	{ "encrypt-key",	required_argument, NULL, OPT_ENCRYPT_KEY },
	{ "decrypt-key",	required_argument, NULL, OPT_DECRYPT_KEY },
	{ "json",		no_argument,	   NULL, OPT_JSON },
	{ "quiet",		no_argument,	   NULL, 'q' },
	{ "verbose",		no_argument,	   NULL, 'v' },
	{ "progress",		no_argument,	   NULL, OPT_PROGRESS },
	{ "no-progress",	no_argument,	   NULL, OPT_NO_PROGRESS },
	{ "follow-symlinks",	no_argument,	   NULL, OPT_FOLLOW_SYMLINKS },
	{ "exclude-from",	required_argument, NULL, OPT_EXCLUDE_FROM },
	{ "max-delete",		required_argument, NULL, OPT_MAX_DELETE },
	{ "report",		required_argument, NULL, OPT_REPORT },
	{ "config",		required_argument, NULL, OPT_CONFIG },
	{ "include-deleted",	no_argument,	   NULL, OPT_INCLUDE_DELETED },
	{ "restore-request",	required_argument, NULL, OPT_RESTORE_REQUEST },
	{ "restore-tier",	required_argument, NULL, OPT_RESTORE_TIER },
	{ "retries",		required_argument, NULL, OPT_RETRIES },
	{ "timeout",		required_argument, NULL, OPT_TIMEOUT },
	{ "compress",		no_argument,	   NULL, OPT_COMPRESS },
	{ "new-settings",	no_argument,	   NULL, OPT_NEW_SETTINGS },
	{ "sse",		required_argument, NULL, OPT_SSE },
	{ "sse-kms-key-id",	required_argument, NULL, OPT_SSE_KMS_KEY_ID },
	{ "sse-c-key-file",	required_argument, NULL, OPT_SSE_C_KEY_FILE },
	{ "acl",		required_argument, NULL, OPT_ACL },
	{ "request-payer",	optional_argument, NULL, OPT_REQUEST_PAYER },
	{ "help",		no_argument,	   NULL, 'h' },
	{ "version",		no_argument,	   NULL, 'V' },
	{ NULL,			0,		   NULL, 0 }
};

static void
options_help(void)
{
	fputs(
"Usage: p3backup [OPTION]... [BUCKET [DIRECTORY]]\n"
"       p3backup --restore [OPTION]... BUCKET DIRECTORY\n"
"Back up DIRECTORY (default: the current directory) to the S3 bucket BUCKET,\n"
"uploading only new and changed files.  Without BUCKET, or with the word\n"
"\"default\", a new bucket p3backup-MM-DD-YY-HHMMSS is created and named.\n"
"\n"
"Where:\n"
"      --endpoint-url URL   S3-compatible endpoint (AWS_ENDPOINT_URL_S3,\n"
"                           AWS_ENDPOINT_URL, profile endpoint_url)\n"
"      --region R           region (AWS_REGION, AWS_DEFAULT_REGION, profile)\n"
"      --profile P          profile in ~/.aws/config and ~/.aws/credentials\n"
"      --path-style         path-style addressing (automatic for IP and\n"
"                           localhost endpoints)\n"
"      --prefix P           store keys under P/ in the bucket\n"
"\n"
"What:\n"
"  -n, --dry-run            print the plan, change nothing anywhere\n"
"      --size-only          compare sizes only (default: size and mtime)\n"
"      --mtime              compare stored mtimes exactly, asking the bucket\n"
"                           for those the index lacks\n"
"      --checksum           compare size and content (MD5 / multipart ETag)\n"
"                           instead of the mtime\n"
"      --include GLOB       back up only matching files (repeatable)\n"
"      --exclude GLOB       leave matching files and directories out\n"
"      --exclude-from FILE  exclude patterns, one per line\n"
"      --follow-symlinks    back up what symbolic links point to\n"
"      --storage-class C    STANDARD, STANDARD_IA, ONEZONE_IA,\n"
"                           INTELLIGENT_TIERING, GLACIER, GLACIER_IR,\n"
"                           DEEP_ARCHIVE or REDUCED_REDUNDANCY\n"
"      --max-uploads N      upload at most N files this run (key order)\n"
"      --delete             delete objects whose local file is gone\n"
"      --tag-deleted        tag them Deleted=True, DeletedAt=... instead\n"
"      --max-delete N       allow deleting/tagging up to N objects (default:\n"
"                           refuse more than half of the bucket)\n"
"      --config FILE        read a job file; options given here override it\n"
"\n"
"Encryption (doc/encryption.md):\n"
"      --encrypt-key PUB.pem  encrypt every object for this RSA public key\n"
"                           (AES-256-GCM; this host cannot decrypt them)\n"
"      --compress           zstd before encrypting, when it saves space\n"
"      --new-settings       this run's encryption settings replace the\n"
"                           ones recorded in the bucket (a new key, or\n"
"                           encryption on or off): else such a run stops\n"
"      --decrypt-key KEY.pem  with --restore: the matching private key\n"
"\n"
"Server side:\n"
"      --sse AES256|aws:kms server-side encryption of every object written\n"
"      --sse-kms-key-id ID  the KMS key for --sse aws:kms\n"
"      --sse-c-key-file FILE  SSE-C: the server encrypts with this 256-bit\n"
"                           key and keeps none; needed again to restore\n"
"      --acl CANNED         canned ACL on every object written (e.g.\n"
"                           bucket-owner-full-control)\n"
"      --request-payer      the bucket is requester-pays: pay for requests\n"
"\n"
"Restore:\n"
"      --restore            download BUCKET (or --prefix) into DIRECTORY:\n"
"                           missing and changed files only, written safely\n"
"      --include-deleted    also restore objects tagged Deleted=True\n"
"      --restore-request DAYS  ask S3 to restore archived (GLACIER,\n"
"                           DEEP_ARCHIVE) objects for DAYS days\n"
"      --restore-tier T     Standard (default), Bulk or Expedited\n"
"\n"
"How:\n"
"  -j, --jobs N             concurrent transfers (default 16)\n"
"      --multipart-threshold SIZE  multipart upload from this size (64M)\n"
"      --part-size SIZE     multipart part size (16M; raised to fit\n"
"                           10,000 parts); SIZE takes K, M, G\n"
"      --retries N          retries of a failed request (default 5)\n"
"      --timeout SECONDS    give up on a stalled request (default 60)\n"
"\n"
"Output:\n"
"      --json               one JSON object on stdout at the end, nothing\n"
"                           else there (also on errors)\n"
"      --report FILE        one JSON line per file: action and outcome\n"
"  -q, --quiet              print only errors (not with -v)\n"
"  -v, --verbose            list every action (-vv: every request)\n"
"      --progress, --no-progress   progress line (default: on a terminal)\n"
"  -h, --help               this help\n"
"  -V, --version            the version\n"
"\n"

"Credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN\n"
"or the shared files, as for the AWS CLI.\n"
"Exit status: 0 in sync, 1 some files failed, 2 usage or configuration error,\n"
"3 fatal error during the run.  See p3backup(1).\n", stdout);
}

/*
 * Parse a whole number in [min, max] into *out; "what" names it in the
 * message.  Returns 0, or -1 after reporting.
 */
int
options_number(const char *what, const char *arg, long min, long max,
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
 * Parse a size: a whole number of bytes, or with a K, M or G suffix
 * (powers of 1024), within [min, max].  -1 after reporting otherwise.
 */
static int
options_size(const char *opt, const char *arg, uint64_t min, uint64_t max,
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
 * Whether "arg" is one of the storage classes S3 takes in
 * x-amz-storage-class; "what" names it in the message.
 * Returns 0, or -1 after reporting.
 */
int
options_storage_class(const char *what, const char *arg)
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

/*
 * A whole number >= 0 into *out; "what" names it in the message.
 * Returns 0, or -1 after reporting.
 */
int
options_count(const char *what, const char *arg, long *out)
{
	int v;

	if (options_number(what, arg, 0, INT_MAX, &v) == -1)
		return -1;
	*out = v;
	return 0;
}

static struct filter *
options_filter(struct config *cfg)
{
	if (cfg->filter == NULL)
		cfg->filter = filter_new();
	return cfg->filter;
}

/* getopt_long's short options, for both passes over argv. */
#define OPTIONS_SHORT	":nj:qvhV"

/*
 * The options needed before the others, read the way getopt_long will
 * read them (so "--conf" is --config, as getopt accepts unambiguous
 * prefixes): the last --config's FILE into *config, and whether --json
 * is given into *json.  Resets getopt for the real pass.
 */
static void
options_prescan(int argc, char *argv[], const char **config, int *json)
{
	int ch, idx;

	*config = NULL;
	*json = 0;
	opterr = 0;
	optind = 0;		/* GNU: start afresh */
	while ((ch = getopt_long(argc, argv, OPTIONS_SHORT, longopts,
	    &idx)) != -1) {
		if (ch == OPT_CONFIG)
			*config = optarg;
		else if (ch == OPT_JSON)
			*json = 1;
	}
	optind = 0;
}

/*
 * Before everything else on the command line: --json, so that even a
 * usage error (a bad job file's too) ends in the JSON object with its
 * message; and --config FILE, so that any option given there overrides
 * the job file.
 */
static int
options_job(struct config *cfg, int argc, char *argv[])
{
	const char *path;

	options_prescan(argc, argv, &path, &cfg->json);
	if (cfg->json)
		report_take_stderr();
	if (path == NULL)
		return 0;
	free(cfg->job_path);
	cfg->job_path = xstrdup(path);
	return job_load(cfg, path);
}

static void
options_set(char **slot, const char *arg)
{
	free(*slot);
	*slot = xstrdup(arg);
}

/*
 * BUCKET as the AWS CLI writes it, "s3://BUCKET[/PREFIX]": the bucket,
 * and the prefix unless --prefix was given too.  Returns 0, or -1
 * after a usage error.
 */
static int
options_s3_url(struct config *cfg, const char *url, int prefix_given)
{
	const char *b = url + 5, *slash;

	slash = strchr(b, '/');
	if (slash == b || *b == '\0') {
		warnx("%s: no bucket name (s3://BUCKET[/PREFIX])", url);
		return -1;
	}
	if (slash != NULL && slash[1] == '/') {
		warnx("%s: empty path segment (\"//\"): no restore could "
		    "write such keys", url);
		return -1;
	}
	free(cfg->bucket);
	cfg->bucket = slash != NULL ? xstrndup(b, (size_t)(slash - b)) :
	    xstrdup(b);
	if (slash == NULL || slash[strspn(slash, "/")] == '\0')
		return 0;
	if (prefix_given) {
		warnx("%s: names a prefix, and so does --prefix: give one of "
		    "them", url);
		return -1;
	}
	options_prefix(cfg, slash + 1);
	return 0;
}

/*
 * Set cfg->prefix from "arg": keys go under "P/", so P is kept without
 * slashes at its ends, and NULL when nothing is left.
 */
void
options_prefix(struct config *cfg, const char *arg)
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

/* The encryption options belong to one direction each. */
static int
options_crypt_check(const struct config *cfg)
{
	if (cfg->restore && cfg->encrypt_key != NULL) {
		warnx("--encrypt-key is for backups; restore with "
		    "--decrypt-key PRIVATE.pem");
		return -1;
	}
	if (!cfg->restore && cfg->decrypt_key != NULL) {
		warnx("--decrypt-key is for --restore; back up with "
		    "--encrypt-key PUBLIC.pem");
		return -1;
	}
	if (cfg->compress && cfg->encrypt_key == NULL) {
		warnx("--compress needs --encrypt-key (compressed objects use "
		    "the encrypted format)");
		return -1;
	}
	return sse_check(cfg);
}

int
options_parse(struct config *cfg, int argc, char *argv[])
{
	int ch, idx, quiet = 0, verbose = 0, size_only = 0, mtime = 0;
	int checksum = 0;
	int prefix_given = 0;

	if (options_job(cfg, argc, argv) == -1)
		return OPT_USAGE;
	opterr = 0;
	optind = 0;
	while ((ch = getopt_long(argc, argv, OPTIONS_SHORT, longopts,
	    &idx)) != -1) {
		switch (ch) {
		case OPT_ENDPOINT:
			options_set(&cfg->opt_endpoint, optarg);
			break;
		case OPT_REGION:
			options_set(&cfg->opt_region, optarg);
			break;
		case OPT_PROFILE:
			options_set(&cfg->profile, optarg);
			cfg->profile_explicit = 1;
			break;
		case OPT_PATH_STYLE:
			cfg->opt_path_style = 1;
			break;
		case OPT_PREFIX:
			options_prefix(cfg, optarg);
			prefix_given = 1;
			break;
		case 'n':
			cfg->dry_run = 1;
			break;
		case OPT_MTIME:
			mtime = 1;
			break;
		case OPT_SIZE_ONLY:
			size_only = 1;
			break;
		case 'j':
			if (options_number("--jobs", optarg, 1,
			    OPTIONS_JOBS_MAX, &cfg->jobs) == -1)
				return OPT_USAGE;
			break;
		case OPT_RETRIES:
			if (options_number("--retries", optarg, 0, 20,
			    &cfg->max_retries) == -1)
				return OPT_USAGE;
			break;
		case OPT_TIMEOUT:
			if (options_number("--timeout", optarg, 1, 3600,
			    &cfg->timeout) == -1)
				return OPT_USAGE;
			break;
		case OPT_JSON:
			cfg->json = 1;
			break;
		case 'q':
			quiet = 1;
			log_level = -1;
			break;
		case 'v':
			verbose = 1;
			if (log_level < 2)
				log_level = log_level < 0 ? 1 : log_level + 1;
			break;
		case OPT_PROGRESS:
			cfg->progress = 1;
			break;
		case OPT_NO_PROGRESS:
			cfg->progress = 0;
			break;
		case OPT_FOLLOW_SYMLINKS:
			cfg->follow_symlinks = 1;
			break;
		case OPT_CHECKSUM:
			checksum = 1;
			break;
		case OPT_MP_THRESHOLD:
			if (options_size("--multipart-threshold", optarg, 1,
			    MP_MAX_PART * MP_MAX_PARTS,
			    &cfg->multipart_threshold) == -1)
				return OPT_USAGE;
			break;
		case OPT_PART_SIZE:
			if (options_size("--part-size", optarg, MP_MIN_PART,
			    MP_MAX_PART, &cfg->part_size) == -1)
				return OPT_USAGE;
			break;
		case OPT_INCLUDE:
		case OPT_EXCLUDE:
			if (filter_add(options_filter(cfg), ch == OPT_INCLUDE,
			    optarg) == -1)
				return OPT_USAGE;
			break;
		case OPT_EXCLUDE_FROM:
			if (filter_add_file(options_filter(cfg), optarg) == -1)
				return OPT_USAGE;
			break;
		case OPT_STORAGE_CLASS:
			if (options_storage_class("--storage-class",
			    optarg) == -1)
				return OPT_USAGE;
			options_set(&cfg->storage_class, optarg);
			break;
		case OPT_MAX_UPLOADS:
			if (options_count("--max-uploads", optarg,
			    &cfg->max_uploads) == -1)
				return OPT_USAGE;
			break;
		case OPT_MAX_DELETE:
			if (options_count("--max-delete", optarg,
			    &cfg->max_delete) == -1)
				return OPT_USAGE;
			break;
		case OPT_DELETE:
			cfg->delete_mode = DELETE_OBJECTS;
			break;
		case OPT_TAG_DELETED:
			cfg->delete_mode = DELETE_TAG;
			break;
		case OPT_REPORT:
			options_set(&cfg->report_path, optarg);
			break;
		case OPT_CONFIG:
			break;		/* read first, in options_job */
		case OPT_RESTORE:
			cfg->restore = 1;
			break;
		case OPT_INCLUDE_DELETED:
			cfg->include_deleted = 1;
			break;
		case OPT_RESTORE_REQUEST:
			if (options_number("--restore-request", optarg, 1, 30000,
			    &cfg->restore_days) == -1)
				return OPT_USAGE;
			break;
		case OPT_RESTORE_TIER:
			if (strcmp(optarg, "Standard") != 0 &&
			    strcmp(optarg, "Bulk") != 0 &&
			    strcmp(optarg, "Expedited") != 0) {
				warnx("--restore-tier %s: must be Standard, Bulk "
				    "or Expedited", optarg);
				return OPT_USAGE;
			}
			options_set(&cfg->restore_tier, optarg);
			break;
		case OPT_ENCRYPT_KEY:
			options_set(&cfg->encrypt_key, optarg);
			break;
		case OPT_DECRYPT_KEY:
			options_set(&cfg->decrypt_key, optarg);
			break;
		case OPT_COMPRESS:
			cfg->compress = 1;
			break;
		case OPT_NEW_SETTINGS:
			cfg->new_settings = 1;
			break;
		case OPT_SSE:
			options_set(&cfg->sse, optarg);
			break;
		case OPT_SSE_KMS_KEY_ID:
			options_set(&cfg->sse_kms_key_id, optarg);
			break;
		case OPT_SSE_C_KEY_FILE:
			options_set(&cfg->sse_c_key_file, optarg);
			break;
		case OPT_ACL:
			options_set(&cfg->acl, optarg);
			break;
		case OPT_REQUEST_PAYER:
			/* The AWS CLI's --request-payer requester, as =VALUE. */
			if (optarg != NULL && strcmp(optarg, "requester") != 0) {
				warnx("--request-payer=%s: the only value is "
				    "requester", optarg);
				return OPT_USAGE;
			}
			cfg->request_payer = 1;
			break;
		case 'h':
			options_help();
			return OPT_EXIT;
		case 'V':
			printf("p3backup %s\n", PACKAGE_VERSION);
			return OPT_EXIT;
		case ':':
			warnx("%s: needs an argument (see --help)",
			    argv[optind - 1]);
			return OPT_USAGE;
		default:
			warnx("%s: unknown option (see --help)",
			    argv[optind - 1]);
			return OPT_USAGE;
		}
	}
	if (quiet && verbose) {
		warnx("-q and -v cannot be used together (-q prints only "
		    "errors)");
		return OPT_USAGE;
	}
	/* The command line's way to compare replaces the job file's. */
	if (size_only || mtime || checksum) {
		cfg->size_only = size_only;
		cfg->mtime = mtime;
		cfg->checksum = checksum;
	}
	if (cfg->size_only && (cfg->mtime || cfg->checksum)) {
		if (size_only || mtime || checksum)
			warnx("--size-only and %s contradict each other: "
			    "choose one", cfg->mtime ? "--mtime" : "--checksum");
		else
			warnx("%s: size_only and %s contradict each other: "
			    "choose one", cfg->job_path, cfg->mtime ? "mtime" :
			    "checksum");
		return OPT_USAGE;
	}
	argc -= optind;
	argv += optind;
	if (argc > 2) {
		warnx("%s: too many arguments (usage: p3backup [OPTION]... "
		    "[BUCKET [DIRECTORY]])", argv[2]);
		return OPT_USAGE;
	}
	if (argc >= 1 && strncmp(argv[0], "s3://", 5) == 0) {
		if (options_s3_url(cfg, argv[0], prefix_given) == -1)
			return OPT_USAGE;
	} else if (argc >= 1 && strcmp(argv[0], "default") != 0)
		options_set(&cfg->bucket, argv[0]);
	if (argc == 2)
	{
		options_set(&cfg->directory, argv[1]);
		free(cfg->directory_from);
		cfg->directory_from = NULL;
	}
	if (options_crypt_check(cfg) == -1)
		return OPT_USAGE;
	if (cfg->prefix != NULL && strstr(cfg->prefix, "//") != NULL) {
		warnx("--prefix %s: empty path segment (\"//\"): no restore "
		    "could write such keys", cfg->prefix);
		return OPT_USAGE;
	}
	/* cron and systemd start jobs in "/": never back that up by default. */
	if (cfg->job_path != NULL && cfg->directory == NULL) {
		warnx("%s: the job names no directory (add \"directory = "
		    "PATH\"); the current directory is never assumed for a job",
		    cfg->job_path);
		return OPT_USAGE;
	}
	if (cfg->restore && cfg->bucket == NULL) {
		warnx("--restore needs the BUCKET to restore from (usage: "
		    "p3backup --restore [OPTION]... BUCKET DIRECTORY)");
		return OPT_USAGE;
	}
	/* As aws s3 sync and rclone: never into "." by default. */
	if (cfg->restore && cfg->directory == NULL) {
		warnx("--restore needs the DIRECTORY to restore into (usage: "
		    "p3backup --restore [OPTION]... BUCKET DIRECTORY; \".\" for "
		    "the current directory)");
		return OPT_USAGE;
	}
	return OPT_RUN;
}
