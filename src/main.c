/*
 * p3backup: back up a directory to an S3 bucket, uploading only what is
 * new or changed.  main() is the pipeline, stage by stage:
 *
 *   options/config -> scan (thread) ----------------------------------\
 *                                                                     >-> index
 *   credentials -> bucket -> versioning -> lock -> lifecycle -> list -/
 *     -> checksum -> settings -> plan
 *   backup:  -> upload -> sweep -> lock extend -> delete -> index save
 *            -> report -> run log
 *   restore: -> download -> report
 *
 * The stages that talk to the bucket share one struct run (run.c), set
 * up once here.
 *
 * This file decides exit codes: 0 in sync, 1 some files failed,
 * 2 usage or configuration error (nothing done), 3 fatal during the run.
 * Elsewhere only what no run survives (out of memory, a crypto library
 * without SHA-256, an internal limit broken) ends it, with
 * errx(EXIT_FATAL, ...).
 */
#include "config.h"

#include <err.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libxml/parser.h>

#include "extern.h"
#include "s3.h"
#include "history.h"

struct scanjob {
	const char		*root;
	const struct config	*cfg;
	struct table		 tbl;
	struct scan_stats	 stats;
	pthread_t		 tid;
	int			 rc;
};

/*
 * SIGINT/SIGTERM: the first lets the requests under way finish (the
 * resume journal stays consistent) and starts nothing new; the second
 * exits at once.
 */
static void
on_signal(int sig)
{
	static const char msg[] = "p3backup: interrupted: finishing the "
	    "requests under way (again to quit at once)\n";

	(void)sig;
	if (stop_requested)
		_exit(EXIT_FATAL);
	stop_requested = 1;
	report_signal_note(msg, sizeof(msg) - 1);
}

/*
 * --checksum: compare the same-size files with what their objects hold;
 * those that differ by their ETag alone get one HEAD (an SSE-KMS or
 * SSE-C ETag is no MD5; md5chksum may tell) and a second look.
 * Returns 0, or -1 on a fatal error (reported).
 */
static int
check_content(struct run *run, struct scanjob *sj, size_t *failed)
{
	struct entry **v = NULL;
	size_t n = 0;
	int rc = -1;

	checksum_table(sj->root, run->cfg, &sj->tbl, failed);
	if (index_head_doubtful(run, &sj->tbl, &v, &n) == -1)
		goto out;
	checksum_again(sj->root, run->cfg, v, n, failed);
	rc = 0;
out:
	free(v);
	return rc;
}

static void *
scan_thread(void *arg)
{
	struct scanjob *sj = arg;
	struct stat st;

	/* A dry-run restore into a directory that is not there yet. */
	if (sj->cfg->restore && stat(sj->root, &st) == -1 && errno == ENOENT) {
		sj->rc = 0;
		return NULL;
	}
	sj->rc = scan_tree(sj->root, sj->cfg, &sj->tbl, &sj->stats);
	return NULL;
}

/*
 * DIRECTORY must exist and be a directory before anything is sent.  A
 * restore may name one that is missing: then its nearest existing
 * ancestor must be a directory, so that make_directory can create it
 * once the bucket is known to exist; and what it writes into must be
 * writable.  Messages name the job file's line the directory came
 * from.  Sets *missing.
 */
static int
check_directory(const struct config *cfg, const char *dir, int *missing)
{
	struct stat st;
	char *path = NULL, *slash, *from;
	const char *hint = "", *parent;
	int rc = -1;

	*missing = 0;
	from = cfg->directory_from != NULL ? xasprintf("%s: directory ",
	    cfg->directory_from) : xstrdup("");
	if (cfg->directory_from != NULL)
		hint = job_comment_hint(dir);
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			warnx("%s%s: not a directory%s", from, dir, hint);
		else if (cfg->restore && access(dir, W_OK) == -1)
			warn("%s%s: cannot be written", from, dir);
		else
			rc = 0;
		goto out;
	}
	if (!cfg->restore || (errno != ENOENT && errno != ENOTDIR)) {
		if (errno == ENOENT)
			warnx("%s%s: no such directory%s", from, dir, hint);
		else
			warn("%s%s", from, dir);
		goto out;
	}
	path = xstrdup(dir);
	while ((slash = strrchr(path, '/')) != NULL) {
		*slash = '\0';
		if (*path == '\0' || stat(path, &st) == 0)
			break;
	}
	parent = slash == NULL ? "." : *path == '\0' ? "/" : path;
	/* The loop stopped at "." or "/" without asking it. */
	if ((slash == NULL || *path == '\0') && stat(parent, &st) == -1)
		warn("%s%s: cannot be created", from, dir);
	else if (!S_ISDIR(st.st_mode))
		warnx("%s%s: cannot be created: %s is not a directory", from,
		    dir, parent);
	else if (access(parent, W_OK) == -1)
		warn("%s%s: cannot be created: %s", from, dir, parent);
	else {
		*missing = 1;
		rc = 0;
	}
out:
	free(path);
	free(from);
	return rc;
}

/* Create the restore's DIRECTORY and its missing parents. */
static int
make_directory(const char *dir)
{
	char *p, *path;
	int rc = 0;

	path = xstrdup(dir);
	for (p = path + 1; rc == 0 && (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(path, 0777) == -1 && errno != EEXIST)
			rc = -1;
		*p = '/';
	}
	if (rc == 0 && mkdir(path, 0777) == -1 && errno != EEXIST)
		rc = -1;
	if (rc == -1)
		warn("%s: cannot be created", dir);
	free(path);
	return rc;
}

/*
 * Make sure the bucket is there: create it when missing (or, in a dry
 * run, say it would be).  Sets *exists.  Returns 0, or -1 (reported).
 */
static int
ensure_bucket(struct s3 *s3, char *bucket, int generated,
    int dry_run, int *exists)
{
	char base[BUCKET_DEFAULT_LEN];
	int r, n;

	*exists = 0;
	if (!generated) {
		if ((r = bucket_head(s3, bucket)) == -1)
			return -1;
		if (r == 0) {
			*exists = 1;
			return 0;
		}
		if (s3_config(s3)->restore) {
			warnx("bucket %s: no such bucket: nothing to restore",
			    bucket);
			return -1;
		}
	}
	if (dry_run) {
		fprintf(report_stream(s3_config(s3)),
		    "would create bucket %s\n", bucket);
		return 0;
	}
	if (!generated) {
		if (bucket_create(s3, bucket, 0) == -1)
			return -1;
		logmsg(1, "created bucket %s", bucket);
		return 0;
	}
	/*
	 * A generated name is always a new bucket: another run of the same
	 * second may have made it (on AWS us-east-1 CreateBucket answers
	 * 200 for a bucket of ours, so HEAD first), then take the next.
	 * Two runs racing through HEAD and CreateBucket both get 200: the
	 * conditional claim object decides between them.
	 */
	memcpy(base, bucket, BUCKET_DEFAULT_LEN);
	for (n = 1; n <= 99; n++) {
		bucket_default_next(base, n, bucket);
		if ((r = bucket_head(s3, bucket)) == -1)
			return -1;
		if (r == 0)
			continue;
		if ((r = bucket_create(s3, bucket, 1)) == -1 ||
		    (r == 0 && (r = claim_bucket(s3, bucket,
		    !s3_config(s3)->no_versioning)) == -1))
			return -1;
		if (r == 0) {
			logmsg(1, "created bucket %s", bucket);
			return 0;
		}
	}
	warnx("bucket %s: it and %s-2 to -99 exist already", base, base);
	return -1;
}

/* A transfer stage stopped early: the summary so far, and why. */
static void
stopped(struct report *rep, const char *bucket, const char *what)
{
	report_summary(rep, bucket);
	if (stop_requested)
		warnx("interrupted: the next run goes on from here");
	else {
		report_keep_cause();
		warnx("stopped: nothing more can be %s (see above)", what);
	}
}

/*
 * What the plan says of one action: the -v / dry-run line, and the
 * --report line of what will not be sent (uploads and deletions report
 * themselves when they are done).
 */
static void
note_action(struct report *rep, const struct action *a, int dry_run)
{
	static const char *verb[] = { "upload", "skip", "defer", "delete",
	    "tag", "download", "mkdir", "update metadata" };
	/* "update metadata KEY" says why already. */
	const char *why = a->act == ACT_META ? NULL : plan_reason(a->why);
	char *would;

	if (dry_run && log_level >= 0 && a->act != ACT_SKIP &&
	    a->act != ACT_DEFER) {
		would = xasprintf("would %s", verb[a->act]);
		report_action(rep, would, why, a->e->key);
		free(would);
	} else if (a->act == ACT_DEFER)
		report_action(rep, "defer", why, a->e->key);
	else if (a->act == ACT_SKIP && log_level >= 2)
		report_action(rep, "skip", why, a->e->key);
	if (a->act == ACT_SKIP || a->act == ACT_DEFER)
		report_record(rep, a->e, verb[a->act], "skipped", NULL);
}

/*
 * Read --encrypt-key or --decrypt-key into *key, and note the header
 * length of its objects for the plan.  Returns 0, or -1 after a
 * one-line error naming the file.
 */
static int
load_key(struct config *cfg, struct crypt_key **key)
{
	const char *path;
	char *why = NULL;
	int private;

	private = cfg->decrypt_key != NULL;
	path = private ? cfg->decrypt_key : cfg->encrypt_key;
	if (path == NULL)
		return 0;
	if ((*key = crypt_key_load(path, private, &why)) == NULL) {
		warnx("--%s %s: %s", private ? "decrypt-key" : "encrypt-key",
		    path, why != NULL ? why : "cannot be read");
		free(why);
		return -1;
	}
	cfg->crypt_hlen = crypt_header_len(*key);
	cfg->crypt_hkey = crypt_checksum_key(*key);
	cfg->crypt_keyid = crypt_key_id(*key);
	return 0;
}

/*
 * Run the pipeline of this file's header comment, each stage once, then
 * free everything.  Returns the exit status: EXIT_SYNC (also after
 * --help or --version), EXIT_PARTIAL when some files failed, EXIT_USAGE
 * or EXIT_FATAL; with --json the summary object is printed last.
 */
int
main(int argc, char *argv[])
{
	struct config cfg;
	struct scanjob sj;
	struct table remote;
	struct index ix;
	struct plan plan;
	struct report rep;
	struct settings settings;
	struct run run;
	struct s3 *s3 = NULL;
	char genname[BUCKET_DEFAULT_LEN];
	const char *why;
	char *bucket = NULL, *state, *slash, *head, *realroot = NULL;
	int rc = EXIT_USAGE, generated, exists, started = 0;
	int json = 0, logging = 0, r;
	time_t asof = 0;
	struct timespec start;
	char *ixversion = NULL;
	char runid[RUNLOG_ID_LEN];
	int lockfd = -1, missing = 0;
	size_t pending = 0, unset = 0;
	struct crypt_key *key = NULL;
	struct sigaction sa;
	size_t i;

	clock_gettime(CLOCK_REALTIME, &start);
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* The terminal went away: stop as cleanly as on Ctrl-C. */
	sigaction(SIGHUP, &sa, NULL);
	memset(&sj, 0, sizeof(sj));
	memset(&remote, 0, sizeof(remote));
	memset(&ix, 0, sizeof(ix));
	memset(&plan, 0, sizeof(plan));
	memset(&rep, 0, sizeof(rep));
	memset(&settings, 0, sizeof(settings));
	config_init(&cfg);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	/* libxml2 2.9 wants this once, before any thread starts. */
	xmlInitParser();

	/* options/config: all checks that need no network come first. */
	switch (options_parse(&cfg, argc, argv)) {
	case OPT_EXIT:
		rc = EXIT_SYNC;
		goto out;
	case OPT_USAGE:
		/* --json (seen first) ends even this in a JSON object. */
		json = cfg.json;
		goto out;
	default:
		json = cfg.json;
		break;
	}
	sj.root = cfg.directory != NULL ? cfg.directory : ".";
	if (!cfg.history && check_directory(&cfg, sj.root, &missing) == -1)
		goto out;
	generated = cfg.bucket == NULL;
	if (generated) {
		bucket_default_name(time(NULL), genname);
		bucket = genname;
	} else
		bucket = cfg.bucket;
	if ((why = bucket_check(bucket)) != NULL) {
		slash = strchr(bucket, '/');
		head = slash != NULL ? xstrndup(bucket,
		    (size_t)(slash - bucket)) : NULL;
		if (bucket[0] == '/' || bucket[0] == '.')
			warnx("bucket name \"%s\": %s (BUCKET comes first: "
			    "p3backup [OPTION]... BUCKET DIRECTORY)", bucket, why);
		else if (head != NULL && bucket_check(head) == NULL)
			warnx("bucket name \"%s\": %s (for a prefix inside the "
			    "bucket write s3://%s, or %s --prefix %s)", bucket,
			    why, bucket, head, slash + 1);
		else
			warnx("bucket name \"%s\": %s", bucket, why);
		free(head);
		goto out;
	}
	if (load_key(&cfg, &key) == -1)
		goto out;
	if (config_load(&cfg) == -1 || (s3 = s3_new(&cfg)) == NULL)
		goto out;
	/* --history: the run log, and nothing else. */
	if (cfg.history) {
		json = 0;
		rc = runlog_history(s3, bucket);
		goto out;
	}
	/*
	 * The state directory, before anything is done: unwritable, every
	 * file would upload but the large ones, which need their journal.
	 */
	if (!cfg.restore && !cfg.dry_run) {
		if ((state = state_ready()) == NULL)
			goto out;
		free(state);
	}
	/* A job runs once at a time; its lock is held until exit. */
	if (cfg.job_path != NULL && (lockfd = job_lock(&cfg)) == -1)
		goto out;
	report_init(&rep, &cfg);
	if (report_open(&rep) == -1)
		goto out;
	/* What every stage that talks to the bucket works with. */
	run_init(&run, s3, bucket, sj.root, &plan, &rep, key);
	if (!cfg.restore)
		run.realroot = realroot = realpath(sj.root, NULL);

	/* scan (in its own thread) while the bucket is checked and listed. */
	sj.cfg = &cfg;
	if (pthread_create(&sj.tid, NULL, scan_thread, &sj) != 0) {
		warnx("cannot start the scan thread");
		rc = EXIT_FATAL;
		goto out;
	}
	started = 1;
	rc = EXIT_FATAL;
	if (ensure_bucket(s3, bucket, generated, cfg.dry_run, &exists) == -1)
		goto out;
	if (generated && !cfg.json)
		printf("bucket: %s\n", bucket);
	fflush(stdout);
	/* versioning: a backup keeps old copies, or says it does not. */
	if (!cfg.restore && !cfg.no_versioning) {
		if (exists && versioning_check(s3, bucket) == -1)
			goto out;
		/* A generated bucket's claim turned it on. */
		if (!exists && !cfg.dry_run && !generated &&
		    versioning_enable(s3, bucket) == -1)
			goto out;
	}
	/* Object Lock: the bucket must take it, before anything is written. */
	if (!cfg.restore && cfg.lock_days > 0 && (exists || !cfg.dry_run) &&
	    (r = lock_check(s3, bucket)) < 0) {
		rc = r == -2 ? EXIT_USAGE : EXIT_FATAL;
		goto out;
	}
	/* --history-days: p3backup's lifecycle rule, the others kept. */
	if (!cfg.restore && cfg.history_days >= 0 && (exists || !cfg.dry_run) &&
	    (r = lifecycle_apply(s3, bucket)) != 0) {
		if (r == -1)
			goto out;
		unset++;	/* a failure of the run, said */
	}
	/* list: the bucket now, or (--as-of) as it was then. */
	if (exists && cfg.as_of != NULL) {
		if ((r = asof_time(s3, bucket, cfg.as_of, &asof)) < 0) {
			rc = r == -2 ? EXIT_USAGE : EXIT_FATAL;
			goto out;
		}
		if (asof_list(s3, bucket, asof, &remote, &ixversion) == -1)
			goto out;
	}
	if (exists && cfg.as_of == NULL && list_bucket(s3, bucket,
	    &remote) == -1)
		goto out;
	/*
	 * The index of that moment; none then (expired, or TIME during the
	 * first run): none, never today's, whose Deleted tags and mtimes
	 * are not the past's.
	 */
	if (exists && cfg.as_of != NULL && ixversion == NULL)
		logmsg(1, "as of %s: no index then: stored mtimes from the "
		    "objects", cfg.as_of);
	else if (exists && index_load(&ix, s3, bucket, ixversion,
	    &remote) == -1)
		goto out;
	pthread_join(sj.tid, NULL);
	started = 0;
	if (sj.rc == -1)
		goto out;
	table_merge(&sj.tbl, &remote);
	if (!cfg.restore && log_level >= 0)
		filter_hints(cfg.filter);
	rep.scanned = sj.stats.files + sj.stats.dirs;
	rep.failed = sj.stats.failed + unset;
	rep.left_out = sj.stats.skipped;

	/* index: metadata the index could not vouch for. */
	if ((cfg.mtime || (cfg.checksum && cfg.crypt_hlen > 0)) && exists &&
	    index_head_missing(&run, &sj.tbl) == -1)
		goto out;
	/* checksum: content of same-size files against their ETags. */
	if (cfg.checksum && exists && check_content(&run, &sj,
	    &rep.failed) == -1)
		goto out;

	/* settings: never contradict what the backup is (its encryption). */
	if (exists && settings_load(s3, bucket, &sj.tbl, &settings) == -1)
		goto out;
	if (exists && settings_check(&settings, &cfg, bucket) == -1) {
		rc = EXIT_USAGE;
		goto out;
	}

	/* Nothing to restore is an error, and creates nothing. */
	if (cfg.restore && sj.tbl.nremote == 0) {
		warnx("nothing to restore under s3://%s/%s%s%s%s", bucket,
		    cfg.prefix != NULL ? cfg.prefix : "",
		    cfg.prefix != NULL ? "/" : "",
		    cfg.as_of != NULL ? " as of " : "",
		    cfg.as_of != NULL ? cfg.as_of : "");
		rc = EXIT_PARTIAL;
		goto out;
	}

	/* plan */
	if (cfg.restore)
		plan_restore(&sj.tbl, &cfg, &plan);
	else
		plan_build(&sj.tbl, &cfg, &plan);
	rep.to_upload = plan.nupload;
	rep.objects = cfg.restore ? plan.n : 0;
	rep.skipped = plan.nskip;
	rep.deferred = plan.ndefer;
	if (plan.refused > 0) {
		warnx("refusing to %s %zu of the bucket's %zu objects (more than "
		    "%s): check DIRECTORY, or allow it with --max-delete %zu",
		    cfg.delete_mode == DELETE_TAG ? "tag" : "delete",
		    plan.refused, sj.tbl.nremote, cfg.max_delete >= 0 ?
		    "--max-delete" : "half", plan.refused);
		rep.failed++;
	}
	for (i = 0; i < plan.n; i++)
		note_action(&rep, &plan.v[i], cfg.dry_run);
	if (cfg.dry_run) {
		/* What the run would do, counted as if done. */
		if (cfg.restore) {
			rep.downloaded = plan.nupload;
			rep.downloaded_bytes = plan.upload_bytes;
		} else {
			rep.uploaded = plan.nupload;
			rep.uploaded_bytes = plan.upload_bytes;
			rep.metadata_updated = plan.nmeta;
			if (cfg.delete_mode == DELETE_TAG)
				rep.tagged = plan.ndelete;
			else
				rep.deleted = plan.ndelete;
		}
		rc = rep.failed > 0 ? EXIT_PARTIAL : EXIT_SYNC;
		report_summary(&rep, bucket);
		goto out;
	}

	/* download: the restore direction */
	if (cfg.restore) {
		if (missing && make_directory(sj.root) == -1)
			goto out;
		if (download_run(&run, &pending) == -1 || stop_requested) {
			stopped(&rep, bucket, "downloaded");
			goto out;
		}
		rep.pending = pending;
		report_summary(&rep, bucket);
		rc = rep.failed > 0 || pending > 0 ? EXIT_PARTIAL : EXIT_SYNC;
		goto out;
	}

	/* Recorded before the first object written under them. */
	if (settings_changed(&settings, &cfg) &&
	    settings_save(s3, bucket) == -1)
		goto out;

	/* upload; from here on the run log records the run. */
	runlog_id(&start, runid);
	logging = 1;
	if (upload_run(&run) == -1 || stop_requested) {
		stopped(&rep, bucket, "uploaded");
		goto out;
	}
	sweep_run(&run);
	/* a chmod or chown alone: the objects copied onto themselves. */
	if (plan.nmeta > 0 && metacopy_run(&run) == -1) {
		report_summary(&rep, bucket);
		goto out;
	}
	/* Object Lock: unchanged files' versions stay locked. */
	if (cfg.lock_days > 0 && lock_extend(&run, &sj.tbl) == -1) {
		report_summary(&rep, bucket);
		goto out;
	}
	/* delete or tag what is gone, once the new files are safe. */
	if (plan.ndelete > 0 && delete_run(&run) == -1) {
		report_summary(&rep, bucket);
		goto out;
	}
	(void)index_save(&ix, s3, bucket, &sj.tbl);

	/* report */
	report_summary(&rep, bucket);
	rc = rep.failed > 0 ? EXIT_PARTIAL : EXIT_SYNC;
out:
	if (started)
		pthread_join(sj.tid, NULL);
	report_close(&rep);
	if (logging)
		(void)runlog_write(&run, runid, &start, rc);
	if (json)
		report_json(&rep, bucket, cfg.dry_run, rc);
	if (lockfd != -1)
		close(lockfd);
	plan_free(&plan);
	index_free(&ix);
	table_free(&remote);
	table_free(&sj.tbl);
	s3_free(s3);
	crypt_key_free(key);
	free(realroot);
	free(ixversion);
	config_free(&cfg);
	curl_global_cleanup();
	xmlCleanupParser();
	return rc;
}
