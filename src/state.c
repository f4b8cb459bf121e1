/*
 * The state directory: "$XDG_STATE_HOME/p3backup" (or its default
 * under the home directory), where the resume journals of large
 * uploads (journal.c) and the locks of job files (job.c) live.  Checked
 * once by main() before anything is sent.
 */
#include "config.h"

#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"

/*
 * The state directory for this user: "$XDG_STATE_HOME/p3backup" when
 * that variable is an absolute path, else "$HOME/.local/state/p3backup"
 * (HOME from the environment, else the password database).  Caller
 * frees; NULL when there is no home.  Nothing is created or reported.
 */
char *
state_dir(void)
{
	const char *s;
	struct passwd *pw;
	char *dir = NULL;

	/* The XDG spec: a relative path in the variable is invalid. */
	if ((s = getenv("XDG_STATE_HOME")) != NULL && s[0] == '/')
		dir = xasprintf("%s/p3backup", s);
	else if ((s = getenv("HOME")) != NULL && s[0] != '\0')
		dir = xasprintf("%s/.local/state/p3backup", s);
	else if ((pw = getpwuid(getuid())) != NULL && pw->pw_dir != NULL)
		dir = xasprintf("%s/.local/state/p3backup", pw->pw_dir);
	return dir;
}

/*
 * mkdir -p "dir" (modified during the call, restored) with mode 0700.
 * Returns 0, or -1 with errno set.
 */
static int
state_mkdirs(char *dir)
{
	struct stat st;
	char *p, c;
	int rc = 0;

	for (p = dir + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (stat(dir, &st) == -1 && mkdir(dir, 0700) == -1 &&
		    errno != EEXIST)
			rc = -1;
		*p = c;
		if (c == '\0' || rc == -1)
			break;
	}
	return rc;
}

/*
 * state_dir(), created (0700, with its parents) when missing and
 * checked writable; caller frees.  NULL after one line naming the
 * directory, what it is for and how to move it (XDG_STATE_HOME).
 */
char *
state_ready(void)
{
	char *dir;

	if ((dir = state_dir()) == NULL) {
		warnx("no state directory for resume journals and job locks "
		    "(no XDG_STATE_HOME, HOME or home directory): set "
		    "XDG_STATE_HOME to a writable directory");
		return NULL;
	}
	if (state_mkdirs(dir) == -1 || access(dir, W_OK) == -1) {
		warnx("state directory %s: %s (it holds the resume journals "
		    "of large uploads and job locks): make it writable or set "
		    "XDG_STATE_HOME to a writable directory", dir,
		    strerror(errno));
		free(dir);
		return NULL;
	}
	return dir;
}
