/*
 * Job files (--config FILE): the settings of one backup in an INI file,
 * so that a cron line or a systemd unit is one short command, and the
 * lock that keeps two runs of the same job from overlapping.
 *
 *	[job]
 *	bucket = photos-backup
 *	directory = /srv/photos
 *	exclude = *.tmp
 *	exclude = cache/
 *	mtime = yes
 *
 * Every key sets what its option sets, checked by the same functions of
 * options.c; the command line is parsed after the job file, so it wins.
 * include and exclude add one pattern per line; for the other keys the
 * last line wins.  Relative paths (directory, exclude_from, report,
 * encrypt_key) are taken from the job file's directory, not from
 * wherever cron or systemd happen to start the run.
 *
 * The lock is an flock(2) on $XDG_STATE_HOME/p3backup/lock-HASH, HASH
 * the SHA-256 of the job file's real path, held for the whole run; the
 * kernel drops it when the process ends, however it ends.  The file is
 * never removed: removing it would let a third run lock a new file while
 * the second still holds the old one.
 */
#include "config.h"

#include <sys/file.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "extern.h"
#include "s3.h"

/* Every key a job file may set; anything else is an error. */
static const char *const job_keys[] = {
	"bucket", "directory", "prefix", "include", "exclude",
	"exclude_from", "storage_class", "mtime", "size_only", "checksum",
	"follow_symlinks", "delete", "tag_deleted", "max_delete",
	"max_uploads", "jobs", "endpoint_url", "region", "profile", "report",
	"encrypt_key", "compress", "sse", "sse_kms_key_id", "sse_c_key_file",
	"acl", "request_payer", NULL
};

struct job {
	struct config	*cfg;
	const char	*path;		/* the job file, for messages */
	char		*dir;		/* its directory; NULL: the current one */
};

/*
 * "value" as a path: kept when absolute, else taken from the job
 * file's directory.  Caller frees.
 */
static char *
job_path(const struct job *job, const char *value)
{
	if (value[0] == '/' || job->dir == NULL)
		return xstrdup(value);
	return xasprintf("%s/%s", job->dir, value);
}

/*
 * A boolean: true/yes/1 or false/no/0, in any case, into *out; "what"
 * names it in the message.  Returns 0, or -1 after reporting.
 */
static int
job_bool(const char *what, const char *value, int *out)
{
	if (strcasecmp(value, "true") == 0 || strcasecmp(value, "yes") == 0 ||
	    strcmp(value, "1") == 0)
		*out = 1;
	else if (strcasecmp(value, "false") == 0 ||
	    strcasecmp(value, "no") == 0 || strcmp(value, "0") == 0)
		*out = 0;
	else {
		warnx("%s %s: must be true or false (yes/no, 1/0)", what,
		    value);
		return -1;
	}
	return 0;
}

/*
 * delete and tag_deleted: "true" chooses "mode", "false" undoes only
 * that mode; both true in one job is an error.  Returns 0 or -1.
 */
static int
job_delete(struct config *cfg, const char *what, const char *value,
    int mode)
{
	int on;

	if (job_bool(what, value, &on) == -1)
		return -1;
	if (on && cfg->delete_mode != DELETE_NONE && cfg->delete_mode != mode) {
		warnx("%s: delete and tag_deleted cannot both be true", what);
		return -1;
	}
	if (on)
		cfg->delete_mode = mode;
	else if (cfg->delete_mode == mode)
		cfg->delete_mode = DELETE_NONE;
	return 0;
}

/* Replace the string in "slot" by "value", which it takes over. */
static void
job_set(char **slot, char *value)
{
	free(*slot);
	*slot = value;
}

const char *
job_comment_hint(const char *value)
{
	const char *p;

	for (p = value; (p = strpbrk(p, "#;")) != NULL; p++)
		if (p > value && (p[-1] == ' ' || p[-1] == '\t'))
			return " (a comment goes on a line of its own: \"#\" or "
			    "\";\" after a value is part of it)";
	return "";
}

/*
 * The ini_fn of a job file: one "name = value" into the config.
 * Returns 0, or -1 after reporting "FILE:LINE: ...".
 */
static int
job_setting(void *arg, const char *section, const char *name,
    const char *value)
{
	struct job *job = arg;
	struct config *cfg = job->cfg;
	const char *why;
	char *what, *path = NULL;
	size_t i;
	int rc = -1;

	/* Every message names the file, the line and the key. */
	what = xasprintf("%s:%zu: %s", job->path, ini_lineno(), name);
	if (strcmp(section, "job") != 0) {
		warnx("%s: outside the [job] section (in [%s])", what,
		    section);
		goto out;
	}
	for (i = 0; job_keys[i] != NULL; i++)
		if (strcmp(name, job_keys[i]) == 0)
			break;
	if (job_keys[i] == NULL) {
		warnx("%s:%zu: unknown key %s", job->path, ini_lineno(), name);
		goto out;
	}
	/* "prefix =" is the bucket's root, as --prefix ''; nothing else. */
	if (*value == '\0' && strcmp(name, "prefix") != 0) {
		warnx("%s: empty value", what);
		goto out;
	}

	if (strcmp(name, "bucket") == 0) {
		if (strcmp(value, "default") != 0 &&
		    (why = bucket_check(value)) != NULL) {
			warnx("%s: \"%s\": %s%s", what, value, why,
			    job_comment_hint(value));
			goto out;
		}
		job_set(&cfg->bucket, strcmp(value, "default") == 0 ? NULL :
		    xstrdup(value));
	} else if (strcmp(name, "directory") == 0) {
		job_set(&cfg->directory, job_path(job, value));
		job_set(&cfg->directory_from, xasprintf("%s:%zu", job->path,
		    ini_lineno()));
	}
	else if (strcmp(name, "prefix") == 0)
		options_prefix(cfg, value);
	else if (strcmp(name, "include") == 0 ||
	    strcmp(name, "exclude") == 0 || strcmp(name, "exclude_from") == 0) {
		if (cfg->filter == NULL)
			cfg->filter = filter_new();
		if (strcmp(name, "exclude_from") == 0) {
			path = job_path(job, value);
			if (filter_add_file(cfg->filter, path) == -1)
				goto out;
		} else if (filter_add(cfg->filter, name[0] == 'i', value) == -1)
			goto out;
	} else if (strcmp(name, "storage_class") == 0) {
		if (options_storage_class(what, value) == -1)
			goto out;
		job_set(&cfg->storage_class, xstrdup(value));
	} else if (strcmp(name, "mtime") == 0) {
		if (job_bool(what, value, &cfg->mtime) == -1)
			goto out;
	} else if (strcmp(name, "size_only") == 0) {
		if (job_bool(what, value, &cfg->size_only) == -1)
			goto out;
	} else if (strcmp(name, "checksum") == 0) {
		if (job_bool(what, value, &cfg->checksum) == -1)
			goto out;
	} else if (strcmp(name, "follow_symlinks") == 0) {
		if (job_bool(what, value, &cfg->follow_symlinks) == -1)
			goto out;
	} else if (strcmp(name, "delete") == 0) {
		if (job_delete(cfg, what, value, DELETE_OBJECTS) == -1)
			goto out;
	} else if (strcmp(name, "tag_deleted") == 0) {
		if (job_delete(cfg, what, value, DELETE_TAG) == -1)
			goto out;
	} else if (strcmp(name, "max_delete") == 0) {
		if (options_count(what, value, &cfg->max_delete) == -1)
			goto out;
	} else if (strcmp(name, "max_uploads") == 0) {
		if (options_count(what, value, &cfg->max_uploads) == -1)
			goto out;
	} else if (strcmp(name, "jobs") == 0) {
		if (options_number(what, value, 1, OPTIONS_JOBS_MAX,
		    &cfg->jobs) == -1)
			goto out;
	} else if (strcmp(name, "endpoint_url") == 0)
		job_set(&cfg->opt_endpoint, xstrdup(value));
	else if (strcmp(name, "region") == 0)
		job_set(&cfg->opt_region, xstrdup(value));
	else if (strcmp(name, "profile") == 0) {
		job_set(&cfg->profile, xstrdup(value));
		cfg->profile_explicit = 1;
	} else if (strcmp(name, "report") == 0)
		job_set(&cfg->report_path, job_path(job, value));
	else if (strcmp(name, "encrypt_key") == 0)
		job_set(&cfg->encrypt_key, job_path(job, value));
	else if (strcmp(name, "compress") == 0) {
		if (job_bool(what, value, &cfg->compress) == -1)
			goto out;
	} else if (strcmp(name, "sse") == 0) {
		if (sse_valid(what, value) == -1)
			goto out;
		job_set(&cfg->sse, xstrdup(value));
	}
	else if (strcmp(name, "sse_kms_key_id") == 0)
		job_set(&cfg->sse_kms_key_id, xstrdup(value));
	else if (strcmp(name, "sse_c_key_file") == 0)
		job_set(&cfg->sse_c_key_file, job_path(job, value));
	else if (strcmp(name, "acl") == 0) {
		if (sse_valid_acl(what, value) == -1)
			goto out;
		job_set(&cfg->acl, xstrdup(value));
	}
	else if (strcmp(name, "request_payer") == 0) {
		if (job_bool(what, value, &cfg->request_payer) == -1)
			goto out;
	}
	rc = 0;
out:
	free(path);
	free(what);
	return rc;
}

/*
 * Read the job file "path" into "cfg" (see the top of this file).
 * Returns 0, or -1 after reporting: the file cannot be read, a syntax
 * error, a key outside [job], an unknown key or a bad value, each as
 * "FILE:LINE: ...".
 */
int
job_load(struct config *cfg, const char *path)
{
	struct job job;
	const char *slash;
	int rc = -1, found;

	job.cfg = cfg;
	job.path = path;
	job.dir = NULL;
	if ((slash = strrchr(path, '/')) != NULL)
		job.dir = xstrndup(path, (size_t)(slash - path));
	if ((found = ini_parse_file(path, job_setting, &job)) == 1)
		warnx("%s: %s", path, strerror(ENOENT));
	else if (found == 0)
		rc = 0;
	free(job.dir);
	return rc;
}

/*
 * Lock the job cfg->job_path (which must be set): create the lock file
 * (0600) in journal_dir(), take flock(LOCK_EX | LOCK_NB) on it and
 * write our pid into it for humans.  Returns the fd, which the caller
 * keeps open for the whole run (the lock goes with it), or -1 after
 * reporting: "job FILE is already running (lock LOCKFILE)" when another
 * process holds it, else what failed.
 */
int
job_lock(const struct config *cfg)
{
	char hash[65], pid[32];
	char *real = NULL, *dir = NULL, *lock = NULL;
	int fd = -1, rc = -1, len;

	if ((real = realpath(cfg->job_path, NULL)) == NULL) {
		warn("%s", cfg->job_path);
		goto out;
	}
	if ((dir = journal_ready()) == NULL)
		goto out;
	sha256_hex(real, strlen(real), hash);
	lock = xasprintf("%s/lock-%s", dir, hash);
	if ((fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) == -1) {
		warn("%s", lock);
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			warnx("job %s is already running (lock %s)",
			    cfg->job_path, lock);
		else
			warn("%s", lock);
		goto out;
	}
	/* Only the flock counts: the pid is for whoever looks. */
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 ||
	    pwrite(fd, pid, (size_t)len, 0) != (ssize_t)len) {
		warn("%s", lock);
		goto out;
	}
	rc = fd;
out:
	if (rc == -1 && fd != -1)
		close(fd);
	free(lock);
	free(dir);
	free(real);
	return rc;
}
