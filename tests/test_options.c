/*
 * Unit tests for options.c and opttab.c: every command-line option lands
 * in its field of struct config, and a job file's key in the same one.
 * Job files are written into a mkdtemp(3) directory.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "tap.h"

static char tmpdir[4096];
static char msg[4096];		/* stderr of the last parse */

/* options_parse of "p3backup" and the NULL-ended arguments. */
static int
parse(struct config *cfg, ...)
{
	char *argv[64];
	va_list ap;
	int argc = 0, h, rc;

	argv[argc++] = "p3backup";
	va_start(ap, cfg);
	while (argc < 63 && (argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	if ((h = tap_capture_begin()) == -1)
		exit(99);
	rc = options_parse(cfg, argc, argv);
	tap_capture_end(h, msg, sizeof(msg));
	if (msg[0] != '\0')
		tap_diag("stderr: %s", msg);
	return rc;
}

/* Write "content" to tmpdir/name; returns the path (caller frees). */
static char *
put_file(const char *name, const char *content)
{
	char *path;
	FILE *fp;

	path = xasprintf("%s/%s", tmpdir, name);
	if ((fp = fopen(path, "w")) == NULL || fputs(content, fp) == EOF ||
	    fclose(fp) == EOF) {
		printf("Bail out! write %s: %s\n", path, strerror(errno));
		exit(99);
	}
	return path;
}

static void
test_every_option(void)
{
	struct config cfg;
	char *excludes;

	excludes = put_file("excludes", "old.txt\n");
	config_init(&cfg);
	ok(parse(&cfg, "--endpoint-url", "http://127.0.0.1:9000",
	    "--region", "eu-west-1", "--profile", "backup", "--path-style",
	    "--prefix", "/host//", "-n", "--checksum", "-j", "3",
	    "--include", "*.txt", "--exclude", "secret.txt",
	    "--exclude-from", excludes, "--follow-symlinks",
	    "--storage-class", "GLACIER", "--max-uploads", "7",
	    "--tag-deleted", "--max-delete", "9", "--multipart-threshold",
	    "8M", "--part-size", "6M", "--retries", "2", "--timeout", "30",
	    "--report", "run.jsonl", "--progress",
	    "--encrypt-key", "pub.pem", "--compress", "--new-settings",
	    "--no-versioning", "--sse", "aws:kms", "--sse-kms-key-id", "key-1", "--acl",
	    "bucket-owner-full-control", "--request-payer", "bkt", "src",
	    NULL) == OPT_RUN, "a command line with every backup option");
	is_str(cfg.opt_endpoint, "http://127.0.0.1:9000", "--endpoint-url");
	is_str(cfg.opt_region, "eu-west-1", "--region");
	ok(cfg.profile != NULL && strcmp(cfg.profile, "backup") == 0 &&
	    cfg.profile_explicit == 1, "--profile, explicit");
	ok(cfg.opt_path_style == 1, "--path-style");
	is_str(cfg.prefix, "host", "--prefix without '/' at its ends");
	ok(cfg.dry_run == 1, "-n");
	ok(cfg.checksum == 1 && cfg.mtime == 0 && cfg.size_only == 0,
	    "--checksum");
	ok(cfg.jobs == 3, "-j");
	ok(cfg.filter != NULL && filter_file(cfg.filter, "a.txt") &&
	    !filter_file(cfg.filter, "a.md") &&
	    !filter_file(cfg.filter, "secret.txt") &&
	    !filter_file(cfg.filter, "old.txt"),
	    "--include, --exclude, --exclude-from");
	ok(cfg.follow_symlinks == 1, "--follow-symlinks");
	is_str(cfg.storage_class, "GLACIER", "--storage-class");
	ok(cfg.max_uploads == 7 && cfg.max_delete == 9,
	    "--max-uploads, --max-delete");
	ok(cfg.delete_mode == DELETE_TAG, "--tag-deleted");
	ok(cfg.multipart_threshold == 8 * 1024 * 1024 &&
	    cfg.part_size == 6 * 1024 * 1024,
	    "--multipart-threshold, --part-size");
	ok(cfg.max_retries == 2 && cfg.timeout == 30, "--retries, --timeout");
	ok(cfg.json == 0 && cfg.progress == 1, "--progress");
	is_str(cfg.report_path, "run.jsonl", "--report: as given");
	is_str(cfg.encrypt_key, "pub.pem", "--encrypt-key: as given");
	ok(cfg.compress == 1 && cfg.new_settings == 1,
	    "--compress, --new-settings");
	ok(cfg.no_versioning == 1, "--no-versioning");
	ok(cfg.sse != NULL && strcmp(cfg.sse, "aws:kms") == 0 &&
	    cfg.sse_kms_key_id != NULL &&
	    strcmp(cfg.sse_kms_key_id, "key-1") == 0,
	    "--sse, --sse-kms-key-id");
	is_str(cfg.acl, "bucket-owner-full-control", "--acl");
	ok(cfg.request_payer == 1, "--request-payer");
	ok(strcmp(cfg.bucket, "bkt") == 0 && strcmp(cfg.directory, "src") == 0
	    && cfg.directory_from == NULL, "BUCKET and DIRECTORY");
	config_free(&cfg);
	free(excludes);

	config_init(&cfg);
	ok(parse(&cfg, "--restore", "--include-deleted", "--restore-request",
	    "5", "--restore-tier", "Bulk", "--decrypt-key", "key.pem",
	    "--sse-c-key-file", "ssec.key", "--request-payer=requester",
	    "--no-progress", "--max-up", "4", "s3://bkt/p//", "dst",
	    NULL) == OPT_RUN, "a command line with every restore option");
	ok(cfg.restore == 1 && cfg.include_deleted == 1 &&
	    cfg.restore_days == 5, "--restore, --include-deleted, "
	    "--restore-request");
	is_str(cfg.restore_tier, "Bulk", "--restore-tier");
	is_str(cfg.decrypt_key, "key.pem", "--decrypt-key");
	is_str(cfg.sse_c_key_file, "ssec.key", "--sse-c-key-file");
	ok(cfg.request_payer == 1, "--request-payer=requester");
	ok(cfg.progress == 0, "--no-progress");
	ok(cfg.max_uploads == 4, "an unambiguous prefix: --max-up");
	ok(strcmp(cfg.bucket, "bkt") == 0 && cfg.prefix != NULL &&
	    strcmp(cfg.prefix, "p") == 0, "s3://BUCKET/PREFIX");
	config_free(&cfg);

	config_init(&cfg);
	ok(parse(&cfg, "--delete", "--tag-deleted", "--delete", "--size-only",
	    "b", "d", NULL) == OPT_RUN && cfg.delete_mode == DELETE_OBJECTS &&
	    cfg.size_only == 1, "--delete, --tag-deleted: the last one wins");
	config_free(&cfg);

	config_init(&cfg);
	ok(parse(&cfg, "-v", "-v", "b", "d", NULL) == OPT_RUN &&
	    log_level == 2, "-vv");
	config_free(&cfg);
	config_init(&cfg);
	ok(parse(&cfg, "-q", "b", "d", NULL) == OPT_RUN && log_level == -1,
	    "-q");
	log_level = 0;
	config_free(&cfg);
}

/* A job's keys set the fields of their options; argv wins over them. */
static void
test_job_keys(void)
{
	struct config cfg;
	char *job, *want;

	job = put_file("all.conf", "[job]\n"
	    "bucket = bkt\n"
	    "directory = src\n"
	    "checksum = yes\n"
	    "follow_symlinks = true\n"
	    "compress = 1\n"
	    "encrypt_key = pub.pem\n"
	    "request_payer = yes\n"
	    "sse = AES256\n"
	    "acl = private\n"
	    "report = run.jsonl\n"
	    "delete = yes\n"
	    "max_delete = 3\n"
	    "no_versioning = yes\n");
	config_init(&cfg);
	ok(parse(&cfg, "--config", job, NULL) == OPT_RUN, "a job file alone");
	want = xasprintf("%s/src", tmpdir);
	ok(strcmp(cfg.directory, want) == 0 && cfg.directory_from != NULL &&
	    strstr(cfg.directory_from, "all.conf:3") != NULL,
	    "directory from the job file's directory, its line kept");
	free(want);
	want = xasprintf("%s/pub.pem", tmpdir);
	is_str(cfg.encrypt_key, want, "encrypt_key from the job's directory");
	free(want);
	ok(cfg.checksum == 1 && cfg.follow_symlinks == 1 && cfg.compress == 1 &&
	    cfg.request_payer == 1 && cfg.delete_mode == DELETE_OBJECTS &&
	    cfg.max_delete == 3 && cfg.no_versioning == 1,
	    "the job's booleans and numbers");
	ok(strcmp(cfg.sse, "AES256") == 0 && strcmp(cfg.acl, "private") == 0,
	    "sse, acl");
	config_free(&cfg);

	config_init(&cfg);
	ok(parse(&cfg, "--config", job, "--tag-deleted", "--size-only",
	    "--max-delete", "8", NULL) == OPT_RUN &&
	    cfg.delete_mode == DELETE_TAG && cfg.size_only == 1 &&
	    cfg.checksum == 0 && cfg.max_delete == 8,
	    "the command line's --tag-deleted, --size-only, --max-delete win");
	config_free(&cfg);
	free(job);
}

/*
 * A flag takes no value even when getopt hands one over: musl's getopt
 * leaves the previous option's optarg in place after a short flag, so
 * "--prefix x -n" reaches opttab_option('n', "x").
 */
static void
test_stale_optarg(void)
{
	unsigned char given[OPTTAB_MAX];
	struct config cfg;
	int h, rc;

	config_init(&cfg);
	memset(given, 0, sizeof(given));
	if ((h = tap_capture_begin()) == -1)
		exit(99);
	rc = opttab_option(&cfg, 'n', "x", given);
	tap_capture_end(h, msg, sizeof(msg));
	ok(rc == 0 && cfg.dry_run == 1 && msg[0] == '\0',
	    "-n with a stale optarg is still a dry run (%s)", msg);
	config_free(&cfg);
}

/* Last: --json takes stderr over for the rest of the process. */
static void
test_json(void)
{
	struct config cfg;

	config_init(&cfg);
	ok(parse(&cfg, "--json", "b", "d", NULL) == OPT_RUN && cfg.json == 1,
	    "--json");
	config_free(&cfg);
}

int
main(void)
{
	const char *t;

	t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_options.XXXXXX",
	    t != NULL && t[0] != '\0' ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror(tmpdir);
		return 99;
	}
	test_every_option();
	test_job_keys();
	test_stale_optarg();
	test_json();
	ok(tap_rmtree(tmpdir) == 0, "temporary tree removed");
	return tap_done();
}
