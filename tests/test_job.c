/*
 * Unit tests for job.c: job files (--config), their keys read through
 * opttab.c's table as --config does, and their lock.  Job files are
 * written into a mkdtemp(3) directory; XDG_STATE_HOME points there too,
 * so the locks are taken in a private state directory.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"
#include "tap.h"

static char tmpdir[4096];
static char jobdir[4200];	/* tmpdir/jobs */
static char statedir[4200];	/* tmpdir/state/p3backup */
static char msg[4096];		/* stderr of the last load or lock */

static void
bail(const char *what, const char *path)
{
	printf("Bail out! %s %s: %s\n", what, path, strerror(errno));
	exit(99);
}

/* Write "content" to jobdir/name; returns the path (caller frees). */
static char *
put_job(const char *name, const char *content)
{
	char *path;
	size_t len = strlen(content);
	int fd;

	path = xasprintf("%s/%s", jobdir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    write(fd, content, len) != (ssize_t)len || close(fd) == -1)
		bail("write", path);
	return path;
}

/* opttab_job_load of jobdir/name holding "content", stderr into msg. */
static int
load(struct config *cfg, const char *name, const char *content)
{
	char *path;
	int h, rc;

	path = put_job(name, content);
	if ((h = tap_capture_begin()) == -1)
		exit(99);
	rc = opttab_job_load(cfg, path);
	tap_capture_end(h, msg, sizeof(msg));
	free(path);
	return rc;
}

/* job_lock with stderr into msg. */
static int
lock(const struct config *cfg)
{
	int h, rc;

	if ((h = tap_capture_begin()) == -1)
		exit(99);
	rc = job_lock(cfg);
	tap_capture_end(h, msg, sizeof(msg));
	return rc;
}

/* Whether msg contains "FILE:rest", FILE being jobdir/name. */
static int
said(const char *name, const char *rest)
{
	char *want;
	int found;

	want = xasprintf("%s/%s:%s", jobdir, name, rest);
	found = strstr(msg, want) != NULL;
	if (!found)
		tap_diag("stderr: %s", msg);
	free(want);
	return found;
}

#define FULL \
	"# every key\n" \
	"[job]\n" \
	"bucket = photos-backup\n" \
	"directory = data\n" \
	"prefix = /host/photos//\n" \
	"include = *.txt\n" \
	"include = *.md\n" \
	"exclude = secret.txt\n" \
	"exclude_from = excludes\n" \
	"storage_class = STANDARD_IA\n" \
	"mtime = true\n" \
	"checksum = yes\n" \
	"follow_symlinks = 1\n" \
	"delete = true\n" \
	"max_delete = 10\n" \
	"max_uploads = 500\n" \
	"jobs = 4\n" \
	"endpoint_url = http://127.0.0.1:9000\n" \
	"region = eu-west-1\n" \
	"profile = backup\n" \
	"report = reports/run.jsonl\n"

static void
test_full(void)
{
	struct config cfg;
	char *want;

	free(put_job("excludes", "# one pattern a line\nold.txt\n"));
	config_init(&cfg);
	ok(load(&cfg, "full.conf", FULL) == 0 && msg[0] == '\0',
	    "a job file with every key loads, silently");
	is_str(cfg.bucket, "photos-backup", "bucket");
	want = xasprintf("%s/data", jobdir);
	is_str(cfg.directory, want, "relative directory: from the job file's "
	    "directory");
	free(want);
	is_str(cfg.prefix, "host/photos", "prefix normalised as --prefix");
	ok(cfg.filter != NULL && filter_has_includes(cfg.filter),
	    "include makes a filter with includes");
	ok(cfg.filter != NULL && filter_file(cfg.filter, "a/b.txt") &&
	    filter_file(cfg.filter, "c.md"), "both include lines count");
	ok(cfg.filter != NULL && !filter_file(cfg.filter, "x.log"),
	    "a file no include matches is left out");
	ok(cfg.filter != NULL && !filter_file(cfg.filter, "secret.txt"),
	    "exclude");
	ok(cfg.filter != NULL && !filter_file(cfg.filter, "old.txt"),
	    "exclude_from, relative to the job file's directory");
	is_str(cfg.storage_class, "STANDARD_IA", "storage_class");
	ok(cfg.mtime == 1 && cfg.checksum == 1 && cfg.follow_symlinks == 1,
	    "mtime, checksum, follow_symlinks");
	ok(cfg.delete_mode == DELETE_OBJECTS, "delete");
	ok(cfg.max_delete == 10 && cfg.max_uploads == 500 && cfg.jobs == 4,
	    "max_delete, max_uploads, jobs");
	is_str(cfg.opt_endpoint, "http://127.0.0.1:9000", "endpoint_url");
	is_str(cfg.opt_region, "eu-west-1", "region");
	ok(cfg.profile != NULL && strcmp(cfg.profile, "backup") == 0 &&
	    cfg.profile_explicit == 1, "profile, explicit as --profile");
	want = xasprintf("%s/reports/run.jsonl", jobdir);
	is_str(cfg.report_path, want, "report, relative to the job file");
	free(want);
	ok(cfg.dry_run == 0 && cfg.json == 0 && cfg.progress == -1,
	    "keys not in the file keep their defaults");
	config_free(&cfg);
}

static void
test_values(void)
{
	struct config cfg;

	config_init(&cfg);
	ok(load(&cfg, "d.conf", "[job]\nbucket = default\n"
	    "directory = /srv/data\nprefix = /\n") == 0,
	    "bucket default, absolute directory, prefix /");
	ok(cfg.bucket == NULL, "bucket \"default\": generated (NULL)");
	is_str(cfg.directory, "/srv/data", "an absolute directory is kept");
	ok(cfg.prefix == NULL, "prefix / is no prefix");
	ok(cfg.filter == NULL && cfg.storage_class == NULL && cfg.jobs == 16 &&
	    cfg.max_uploads == -1 && cfg.max_delete == -1 &&
	    cfg.profile_explicit == 0, "no filter, defaults kept");
	config_free(&cfg);

	config_init(&cfg);
	ok(load(&cfg, "e.conf", "[job]\nprefix = a\nprefix =\nbucket = bx1\n"
	    "bucket = by2\n") == 0 && cfg.prefix == NULL &&
	    strcmp(cfg.bucket, "by2") == 0,
	    "the last line of a key wins; \"prefix =\" clears it");
	config_free(&cfg);
}

static void
test_bools(void)
{
	static const char *yes[] = { "true", "TRUE", "yes", "Yes", "1" };
	static const char *no[] = { "false", "False", "no", "NO", "0" };
	struct config cfg;
	char *text;
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		config_init(&cfg);
		text = xasprintf("[job]\nmtime = %s\n", yes[i]);
		ok(load(&cfg, "b.conf", text) == 0 && cfg.mtime == 1,
		    "\"%s\" is true", yes[i]);
		free(text);
		config_free(&cfg);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		config_init(&cfg);
		cfg.checksum = 1;
		text = xasprintf("[job]\nchecksum = %s\n", no[i]);
		ok(load(&cfg, "b.conf", text) == 0 && cfg.checksum == 0,
		    "\"%s\" is false", no[i]);
		free(text);
		config_free(&cfg);
	}

	config_init(&cfg);
	ok(load(&cfg, "t.conf", "[job]\ntag_deleted = yes\n") == 0 &&
	    cfg.delete_mode == DELETE_TAG, "tag_deleted");
	config_free(&cfg);
	config_init(&cfg);
	ok(load(&cfg, "t.conf", "[job]\ndelete = yes\ndelete = no\n") == 0 &&
	    cfg.delete_mode == DELETE_NONE, "delete then delete = no: none");
	config_free(&cfg);
	config_init(&cfg);
	ok(load(&cfg, "t.conf", "[job]\ndelete = yes\ntag_deleted = no\n")
	    == 0 && cfg.delete_mode == DELETE_OBJECTS,
	    "tag_deleted = no leaves delete alone");
	config_free(&cfg);
}

static void
test_errors(void)
{
	static const struct {
		const char	*text;
		const char	*said;	/* after "FILE:" */
	} bad[] = {
		{ "[job]\nbucket = bkt\ncolour = blue\n",
		    "3: unknown key colour" },
		{ "[job]\nmtime = maybe\n",
		    "2: mtime maybe: must be true or false" },
		{ "[job]\n\nstorage_class = COLD\n",
		    "3: storage_class COLD: not a storage class" },
		{ "[job]\njobs = 0\n",
		    "2: jobs 0: must be a whole number from 1 to 256" },
		{ "[job]\njobs = 4x\n", "2: jobs 4x: must be a whole number" },
		{ "[job]\nmax_uploads = -1\n",
		    "2: max_uploads -1: must be a whole number" },
		{ "[job]\nmax_delete = many\n",
		    "2: max_delete many: must be a whole number" },
		{ "[job]\ncolour =\n", "2: unknown key colour" },
		{ "[job]\ndirectory =\n", "2: directory: empty value" },
		{ "bucket = bkt\n", "1: \"bucket\" outside any [section]" },
		{ "[job]\nbucket = bkt\n[other]\nregion = x\n",
		    "4: region: outside the [job] section" },
		{ "[job]\ndelete = yes\ntag_deleted = yes\n",
		    "3: tag_deleted: delete and tag_deleted cannot both be true" },
		{ "[job]\nbucket b\n", "2: expected \"[section]\"" },
		{ "[job]\n\nbucket = Photos\n", "3: bucket: \"Photos\": may "
		    "contain only lower-case letters, digits, '.' and '-'" },
		{ "[job]\nbucket = bkt # nightly\n", "2: bucket: \"bkt # "
		    "nightly\": may contain only lower-case letters, digits, "
		    "'.' and '-' (a comment goes on a line of its own: \"#\" "
		    "or \";\" after a value is part of it)" },
	};
	struct config cfg;
	char *path, *want;
	size_t i;
	int h, rc;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		config_init(&cfg);
		ok(load(&cfg, "bad.conf", bad[i].text) == -1 &&
		    said("bad.conf", bad[i].said), "error: %s", bad[i].said);
		config_free(&cfg);
	}

	config_init(&cfg);
	ok(load(&cfg, "bad.conf", "[job]\nexclude_from = no-such-list\n")
	    == -1 && strstr(msg, "no-such-list") != NULL,
	    "a missing exclude_from file is an error naming it");
	config_free(&cfg);

	config_init(&cfg);
	path = xasprintf("%s/nope.conf", jobdir);
	want = xasprintf("nope.conf: %s", strerror(ENOENT));
	if ((h = tap_capture_begin()) == -1)
		exit(99);
	rc = opttab_job_load(&cfg, path);
	tap_capture_end(h, msg, sizeof(msg));
	ok(rc == -1 && strstr(msg, want) != NULL,
	    "a missing job file: -1 and \"%s\"", want);
	free(path);
	free(want);
	config_free(&cfg);
}

/* A job_fn that notes each line as "WHERE|WHAT|VALUE|PATH;" in "arg". */
static int
note_line(void *arg, const struct job_line *line)
{
	char *seen = arg;
	size_t len = strlen(seen);

	snprintf(seen + len, 4096 - len, "%s|%s|%s|%s;", line->where,
	    line->what, line->value, line->path);
	return strcmp(line->name, "stop") == 0 ? -1 : 0;
}

/* job_load itself: each line of [job] to the caller's function. */
static void
test_lines(void)
{
	char seen[4096], *path, *want;
	int h, rc;

	path = put_job("lines.conf", "# lines\n[job]\nkey = a/b\n\n"
	    "other = /abs\nstop = x\nlast = y\n");
	seen[0] = '\0';
	if ((h = tap_capture_begin()) == -1)
		exit(99);
	rc = job_load(path, note_line, seen);
	tap_capture_end(h, msg, sizeof(msg));
	want = xasprintf("%s:3|%s:3: key|a/b|%s/a/b;%s:5|%s:5: other|/abs|"
	    "/abs;%s:6|%s:6: stop|x|%s/x;", path, path, jobdir, path, path,
	    path, path, jobdir);
	ok(rc == -1 && msg[0] == '\0', "job_load: -1 when the function "
	    "says so, nothing more reported");
	is_str(seen, want, "job_load: FILE:LINE, the key, the value and "
	    "the value as a path, in order, up to the stop");
	free(want);
	free(path);
}

/* options_parse of "argc" arguments, stderr into msg. */
static int
parse(struct config *cfg, int argc, char *argv[])
{
	int h, rc;

	if ((h = tap_capture_begin()) == -1)
		exit(99);
	rc = options_parse(cfg, argc, argv);
	tap_capture_end(h, msg, sizeof(msg));
	return rc;
}

/* The command line, parsed after the job file, overrides it. */
static void
test_options(void)
{
	struct config cfg;
	char *path, *arg, *argv[12];

	path = xasprintf("%s/full.conf", jobdir);
	argv[0] = "p3backup";
	argv[1] = "--prefix";
	argv[2] = "other";
	argv[3] = "--config";
	argv[4] = path;
	argv[5] = "--jobs";
	argv[6] = "3";
	argv[7] = "--region";
	argv[8] = "us-west-2";
	argv[9] = "b2";
	argv[10] = "/srv";
	argv[11] = NULL;
	config_init(&cfg);
	ok(parse(&cfg, 11, argv) == OPT_RUN,
	    "options_parse with --config FILE");
	is_str(cfg.job_path, path, "cfg->job_path is the job file");
	ok(cfg.prefix != NULL && strcmp(cfg.prefix, "other") == 0 &&
	    cfg.jobs == 3 && strcmp(cfg.opt_region, "us-west-2") == 0,
	    "--prefix, --jobs, --region override the job, wherever they are");
	ok(strcmp(cfg.bucket, "b2") == 0 &&
	    strcmp(cfg.directory, "/srv") == 0,
	    "BUCKET and DIRECTORY override the job's");
	ok(cfg.storage_class != NULL && cfg.mtime == 1 &&
	    cfg.max_uploads == 500, "what the command line leaves is the job's");
	config_free(&cfg);

	arg = xasprintf("--config=%s", path);
	argv[1] = arg;
	argv[2] = NULL;
	config_init(&cfg);
	ok(parse(&cfg, 2, argv) == OPT_RUN && cfg.bucket != NULL &&
	    strcmp(cfg.bucket, "photos-backup") == 0, "--config=FILE");
	config_free(&cfg);
	free(arg);
	free(path);

	path = put_job("unknown.conf", "[job]\nspeed = fast\n");
	argv[1] = "--config";
	argv[2] = path;
	argv[3] = NULL;
	config_init(&cfg);
	ok(parse(&cfg, 3, argv) == OPT_USAGE &&
	    said("unknown.conf", "2: unknown key speed"),
	    "a bad job file is a usage error (exit 2)");
	config_free(&cfg);
	free(path);
}

static void
test_lock(void)
{
	struct config cfg, other;
	struct stat st;
	char real[PATH_MAX], hash[65], text[64], *lockfile, *want;
	int fd1, fd2, fd3, fd4, fd;
	ssize_t n;

	config_init(&cfg);
	cfg.job_path = xasprintf("%s/full.conf", jobdir);
	if (realpath(cfg.job_path, real) == NULL)
		bail("realpath", cfg.job_path);
	sha256_hex(real, strlen(real), hash);
	lockfile = xasprintf("%s/lock-%s", statedir, hash);

	fd1 = lock(&cfg);
	ok(fd1 >= 0 && msg[0] == '\0', "job_lock: an fd, silently");
	ok(stat(statedir, &st) == 0 && (st.st_mode & 07777) == 0700,
	    "state directory created 0700");
	ok(stat(lockfile, &st) == 0 && (st.st_mode & 07777) == 0600,
	    "lock-SHA256(realpath) created 0600");
	snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	want = xstrdup(text);
	if ((fd = open(lockfile, O_RDONLY)) == -1)
		bail("open", lockfile);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	text[n < 0 ? 0 : n] = '\0';
	is_str(text, want, "the lock file holds our pid");
	free(want);

	/* flock locks belong to the open file description: this conflicts. */
	fd2 = lock(&cfg);
	want = xasprintf("job %s is already running (lock %s)", cfg.job_path,
	    lockfile);
	ok(fd2 == -1 && strstr(msg, want) != NULL,
	    "a second lock of the same job: -1, \"already running\"");
	if (strstr(msg, want) == NULL)
		tap_diag("stderr: %s", msg);
	free(want);

	config_init(&other);
	free(put_job("other.conf", "[job]\n"));
	other.job_path = xasprintf("%s/other.conf", jobdir);
	fd3 = lock(&other);
	ok(fd3 >= 0, "another job has its own lock");

	/* The same file by another name is the same job. */
	if (chdir(jobdir) == -1)
		bail("chdir", jobdir);
	free(cfg.job_path);
	cfg.job_path = xstrdup("./full.conf");
	ok(lock(&cfg) == -1 && strstr(msg, "already running") != NULL,
	    "the same job by a relative path: already running");

	close(fd1);
	fd4 = lock(&cfg);
	ok(fd4 >= 0, "once the first fd is closed the lock is free again");
	if (chdir("/") == -1)
		bail("chdir", "/");

	free(other.job_path);
	other.job_path = xasprintf("%s/gone.conf", jobdir);
	want = xasprintf("gone.conf: %s", strerror(ENOENT));
	ok(lock(&other) == -1 && strstr(msg, want) != NULL,
	    "a job file that does not exist: -1, named");
	free(want);

	if (fd3 >= 0)
		close(fd3);
	if (fd4 >= 0)
		close(fd4);
	free(lockfile);
	config_free(&other);
	config_free(&cfg);
}

int
main(void)
{
	const char *t;
	char *xdg;

	t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_job.XXXXXX",
	    t != NULL && t[0] != '\0' ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror(tmpdir);
		return 99;
	}
	snprintf(jobdir, sizeof(jobdir), "%s/jobs", tmpdir);
	if (mkdir(jobdir, 0700) == -1)
		bail("mkdir", jobdir);
	xdg = xasprintf("%s/state", tmpdir);
	setenv("XDG_STATE_HOME", xdg, 1);
	snprintf(statedir, sizeof(statedir), "%s/p3backup", xdg);
	free(xdg);
	test_full();
	test_values();
	test_bools();
	test_errors();
	test_lines();
	test_options();
	test_lock();
	ok(tap_rmtree(tmpdir) == 0, "temporary tree removed");
	return tap_done();
}
