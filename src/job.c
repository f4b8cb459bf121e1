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
 * This file knows the file, not its keys: it hands every "name = value"
 * of [job] to the caller's function (options.c's table decides what each
 * key sets and checks it as its command-line option), with the file and
 * line to name in messages and the value read as a path: a relative
 * path is taken from the job file's directory, not from wherever cron
 * or systemd happen to start the run.
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
#include <unistd.h>

#include "extern.h"
#include "s3.h"

struct job {
	const char	*path;		/* the job file, for messages */
	char		*dir;		/* its directory; NULL: the current one */
	job_fn		 fn;		/* the caller's, for every line */
	void		*arg;
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
 * A hint for a value that seems to end in an inline comment ("x # y",
 * "x ; y"), which INI job files do not have: "" when it does not, else a
 * parenthesized sentence with a leading space.  A static string.
 */
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
 * The ini_fn of a job file: one "name = value" of [job] to the caller's
 * function.  Returns 0, or -1 after reporting "FILE:LINE: ...".
 */
static int
job_line(void *arg, const char *section, const char *name,
    const char *value)
{
	struct job *job = arg;
	struct job_line line;
	char *where, *what, *path;
	int rc = -1;

	/* Every message names the file, the line and the key. */
	where = xasprintf("%s:%zu", job->path, ini_lineno());
	what = xasprintf("%s: %s", where, name);
	path = job_path(job, value);
	if (strcmp(section, "job") != 0) {
		warnx("%s: outside the [job] section (in [%s])", what,
		    section);
		goto out;
	}
	line.where = where;
	line.what = what;
	line.name = name;
	line.value = value;
	line.path = path;
	rc = job->fn(job->arg, &line);
out:
	free(path);
	free(what);
	free(where);
	return rc;
}

/*
 * Read the job file "path" (INI, section [job]) and hand every line of
 * [job] to "fn" with "arg", in order (see the top of this file); what a
 * key means is the caller's (opttab_job_load).  Returns 0, or -1 after
 * reporting: the file cannot be read (a missing one too), a syntax error
 * or a key outside [job] ("FILE:LINE: ..."), or "fn" returned -1.
 */
int
job_load(const char *path, job_fn fn, void *arg)
{
	struct job job;
	const char *slash;
	int rc = -1, found;

	job.path = path;
	job.dir = NULL;
	job.fn = fn;
	job.arg = arg;
	if ((slash = strrchr(path, '/')) != NULL)
		job.dir = xstrndup(path, (size_t)(slash - path));
	if ((found = ini_parse_file(path, job_line, &job)) == 1)
		warnx("%s: %s", path, strerror(ENOENT));
	else if (found == 0)
		rc = 0;
	free(job.dir);
	return rc;
}

/*
 * Lock the job cfg->job_path (which must be set): create the lock file
 * (0600) in the state directory (state_ready, named after the job
 * file's real path), take flock(LOCK_EX | LOCK_NB) on it and write our
 * pid into it for humans.  Returns the fd, which the caller keeps open
 * for the whole run (the lock goes with it), or -1 after reporting: "job
 * FILE is already running (lock LOCKFILE)" when another process holds
 * it, else what failed.
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
	if ((dir = state_ready()) == NULL)
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
