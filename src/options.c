/*
 * The command line: getopt_long over the table of settings (opttab.c,
 * which job files go through too), then the positional BUCKET and
 * DIRECTORY and the checks of the whole, into the settings struct.  The
 * contract is README's and p3backup(1)'s.
 */
#include "config.h"

#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "s3.h"

/* --help: each option of opttab.c's table has its lines here. */
static void
options_help(void)
{
	fputs(
"Usage: p3backup [OPTION]... [BUCKET [DIRECTORY]]\n"
"       p3backup --restore [OPTION]... BUCKET DIRECTORY\n"
"       p3backup --history [OPTION]... BUCKET\n"
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
"      --follow-symlinks    back up what symbolic links point to, not the\n"
"                           links (stored as NAME.rclonelink by default)\n"
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
"History:\n"
"      --no-versioning      neither turn versioning on in a bucket p3backup\n"
"                           creates nor warn when a bucket keeps no versions\n"
"      --lock-days N        S3 Object Lock: every version written is locked\n"
"                           for N days, and kept locked while current; a\n"
"                           bucket p3backup creates gets Object Lock\n"
"      --lock-mode M        GOVERNANCE (default) or COMPLIANCE\n"
"      --history-days N     a lifecycle rule of p3backup's expires old\n"
"                           versions N days after they were replaced or\n"
"                           deleted (0: remove the rule); other rules stay\n"
"      --history            list the backup runs recorded in BUCKET (or\n"
"                           --prefix), oldest first; --json: a JSON array\n"
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
"      --as-of TIME         the tree as it was at TIME: a run id (see\n"
"                           --history), YYYY-MM-DDTHH:MM:SSZ (UTC) or local\n"
"                           YYYY-MM-DD[ HH:MM[:SS]]\n"
"      --include-deleted    also restore objects tagged Deleted=True\n"
"      --no-owner           as root, leave restored files to root (default:\n"
"                           the recorded uid and gid)\n"
"      --restore-special-bits  restore setuid and setgid bits too\n"
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
 * The options needed before the others, read the way getopt_long will
 * read them (so "--conf" is --config, as getopt accepts unambiguous
 * prefixes): the last --config's FILE into *config, and whether --json
 * is given into *json.  Resets getopt for the real pass.
 */
static void
options_prescan(int argc, char *argv[], const struct option *longopts,
    const char *shortopts, const char **config, int *json)
{
	const char *name;
	int ch, idx;

	*config = NULL;
	*json = 0;
	opterr = 0;
	optind = 0;		/* GNU: start afresh */
	while ((ch = getopt_long(argc, argv, shortopts, longopts,
	    &idx)) != -1) {
		if ((name = opttab_name(ch)) == NULL)
			continue;
		if (strcmp(name, "config") == 0)
			*config = optarg;
		else if (strcmp(name, "json") == 0)
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
options_early(struct config *cfg, int argc, char *argv[],
    const struct option *longopts, const char *shortopts)
{
	const char *path;

	options_prescan(argc, argv, longopts, shortopts, &path, &cfg->json);
	if (cfg->json)
		report_take_stderr();
	if (path == NULL)
		return 0;
	free(cfg->job_path);
	cfg->job_path = xstrdup(path);
	return opttab_job_load(cfg, path);
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
	opttab_prefix(cfg, slash + 1);
	return 0;
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

/* Replace the string in "slot" by a copy of "arg". */
static void
options_set(char **slot, const char *arg)
{
	free(*slot);
	*slot = xstrdup(arg);
}

/*
 * Parse argv into "cfg" (set up by config_init first): the job file of
 * --config, when given, is read first and the command line wins over it.
 * Reports usage errors itself.  Returns an OPT_RESULT: OPT_RUN to go on,
 * OPT_EXIT after --help or --version, OPT_USAGE after a usage error.
 */
int
options_parse(struct config *cfg, int argc, char *argv[])
{
	const struct option *longopts;
	const char *shortopts;
	unsigned char given[OPTTAB_MAX] = { 0 };
	int ch, idx, quiet = 0, verbose = 0, size_only, mtime, checksum;

	opttab_getopt(&longopts, &shortopts);
	if (options_early(cfg, argc, argv, longopts, shortopts) == -1)
		return OPT_USAGE;
	opterr = 0;
	optind = 0;
	while ((ch = getopt_long(argc, argv, shortopts, longopts,
	    &idx)) != -1) {
		switch (ch) {
		case 'q':
			quiet = 1;
			log_level = -1;
			break;
		case 'v':
			verbose = 1;
			if (log_level < 2)
				log_level = log_level < 0 ? 1 : log_level + 1;
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
			if (opttab_name(ch) == NULL) {
				warnx("%s: unknown option (see --help)",
				    argv[optind - 1]);
				return OPT_USAGE;
			}
			if (opttab_option(cfg, ch, optarg, given) == -1)
				return OPT_USAGE;
			break;
		}
	}
	if (quiet && verbose) {
		warnx("-q and -v cannot be used together (-q prints only "
		    "errors)");
		return OPT_USAGE;
	}
	/* The command line's way to compare replaces the job file's. */
	size_only = opttab_given(given, "size-only");
	mtime = opttab_given(given, "mtime");
	checksum = opttab_given(given, "checksum");
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
		if (options_s3_url(cfg, argv[0],
		    opttab_given(given, "prefix")) == -1)
			return OPT_USAGE;
	} else if (argc >= 1 && strcmp(argv[0], "default") != 0)
		options_set(&cfg->bucket, argv[0]);
	if (argc == 2 && cfg->history) {
		warnx("%s: --history takes no DIRECTORY (usage: p3backup "
		    "--history [OPTION]... BUCKET)", argv[1]);
		return OPT_USAGE;
	}
	if (argc == 2) {
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
	if (cfg->history && (cfg->restore || cfg->bucket == NULL)) {
		warnx(cfg->restore ? "--history and --restore: give one of "
		    "them" : "--history needs the BUCKET whose runs to list "
		    "(usage: p3backup --history [OPTION]... BUCKET)");
		return OPT_USAGE;
	}
	if (cfg->lock_mode != NULL && cfg->lock_days == 0) {
		warnx("--lock-mode %s: needs --lock-days N (how long each "
		    "version is locked)", cfg->lock_mode);
		return OPT_USAGE;
	}
	if (cfg->lock_days > 0 && cfg->lock_mode == NULL)
		cfg->lock_mode = xstrdup("GOVERNANCE");
	if (cfg->lock_days > 0)
		cfg->lock_until = time(NULL) + (time_t)cfg->lock_days * 86400;
	if (cfg->as_of != NULL && !cfg->restore) {
		warnx("--as-of %s: only with --restore (p3backup --restore "
		    "--as-of TIME BUCKET DIRECTORY)", cfg->as_of);
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

