/*
 * Safe paths for the restore direction: directories opened one
 * component at a time from a descriptor of the root, never through a
 * symlink, and temporary files that a crashed run may leave behind,
 * recognised and removed by the next one.
 *
 * A temporary file is held under an exclusive flock(2) for as long as
 * its writer lives, so fsutil_clean_stale removes only those whose
 * process is gone (a lock dies with its process, kill -9 included),
 * never those of another restore running into the same tree.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>
#ifdef HAVE_GETRANDOM
#include <sys/random.h>
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"

#define TMP_PREFIX	".p3b-"
#define TMP_SUFFIX	".tmp"
#define TMP_HEXLEN	8
/* Names taken by chance in a row before giving up. */
#define TMP_TRIES	16

/*
 * "n" random bytes: getrandom, else /dev/urandom, else weak but unique
 * enough (names, never keys).
 */
void
random_fill(unsigned char *p, size_t n)
{
	ssize_t got = -1;
	size_t i;
	int fd;

#ifdef HAVE_GETRANDOM
	got = getrandom(p, n, GRND_NONBLOCK);
#endif
	if (got != (ssize_t)n &&
	    (fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) != -1) {
		got = read(fd, p, n);
		close(fd);
	}
	if (got != (ssize_t)n)
		for (i = 0; i < n; i++)
			p[i] = (unsigned char)(random() ^ getpid() ^ now_ms());
}

/*
 * Why the component "comp" (shown as the path "shown") could not be
 * opened as a directory, with errno from that attempt: a message the
 * caller frees.
 */
static char *
fsutil_why(int at, const char *comp, const char *shown, int err)
{
	struct stat st;
	char *safe, *msg;

	safe = printable(shown);
	if (fstatat(at, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode))
		msg = xasprintf("path component %s is a symlink", safe);
	else if (err == ENOTDIR || err == ELOOP ||
	    (fstatat(at, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !S_ISDIR(st.st_mode)))
		msg = xasprintf("path component %s is not a directory", safe);
	else
		msg = xasprintf("path component %s: %s", safe, strerror(err));
	free(safe);
	return msg;
}

/*
 * Open the directory "path" ("len" bytes of '/'-separated components,
 * none empty, "." or "..": see download_key_check) under the directory
 * descriptor "rootfd", one component at a time with O_NOFOLLOW, so that
 * no symlink anywhere below the root is followed.  With "create",
 * missing components are made with mode 0755 (less the umask), and
 * *created (when not NULL) tells whether the last one was.  An empty
 * path opens the root itself again.  Returns a descriptor, or -1 with
 * *why set to a message naming the component ("path component a/b is a
 * symlink"; caller frees).
 */
int
fsutil_opendir(int rootfd, const char *path, size_t len, int create,
    int *created, char **why)
{
	const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	char *copy, *comp, *slash;
	int fd, next, made = 0;

	*why = NULL;
	copy = xstrndup(path, len);
	if ((fd = openat(rootfd, ".", flags)) == -1) {
		*why = xasprintf("the target directory: %s", strerror(errno));
		goto out;
	}
	for (comp = copy; *comp != '\0'; comp = slash + 1) {
		if ((slash = strchr(comp, '/')) != NULL)
			*slash = '\0';
		made = 0;
		next = openat(fd, comp, flags);
		if (next == -1 && errno == ENOENT && create) {
			if (mkdirat(fd, comp, 0755) == 0)
				made = 1;
			else if (errno != EEXIST) {
				/* Show the path up to this component. */
				*why = xasprintf("cannot create directory %s: %s",
				    copy, strerror(errno));
				goto out;
			}
			next = openat(fd, comp, flags);
		}
		if (next == -1) {
			*why = fsutil_why(fd, comp, copy, errno);
			goto out;
		}
		close(fd);
		fd = next;
		if (slash == NULL)
			break;
		*slash = '/';
	}
	if (created != NULL)
		*created = made;
out:
	if (*why != NULL && fd != -1) {
		close(fd);
		fd = -1;
	}
	free(copy);
	return fd;
}

/*
 * Make a new temporary name in "dirfd": ".p3b-XXXXXXXX.tmp" with 8
 * random hex digits into name[FSUTIL_TMPLEN], a file (open for reading
 * and writing, mode 0644 less the umask) or, when "target" is not NULL,
 * a symlink to it; exclusively, never through a symlink.  Returns the
 * file's descriptor, 0 for the link, or -1 with errno set.
 */
static int
fsutil_tmpmake(int dirfd, char name[FSUTIL_TMPLEN], const char *target)
{
	unsigned char rnd[TMP_HEXLEN / 2];
	char hex[TMP_HEXLEN + 1];
	int fd = -1, i;

	for (i = 0; i < TMP_TRIES; i++) {
		random_fill(rnd, sizeof(rnd));
		hex_encode(rnd, sizeof(rnd), hex);
		snprintf(name, FSUTIL_TMPLEN, TMP_PREFIX "%s" TMP_SUFFIX, hex);
		if (target != NULL)
			fd = symlinkat(target, dirfd, name);
		else
			fd = openat(dirfd, name, O_CREAT | O_EXCL | O_RDWR |
			    O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd != -1 || errno != EEXIST)
			break;
	}
	return fd;
}

/*
 * Create a new temporary file in "dirfd" (fsutil_tmpmake), open for
 * reading and writing (the content is checked before it is renamed)
 * and flock'ed against fsutil_clean_stale while it is open.  Returns
 * the descriptor, or -1 with errno set.
 */
int
fsutil_tmpfile(int dirfd, char name[FSUTIL_TMPLEN])
{
	int fd;

	/* Our own new file: the lock cannot be held by anyone else. */
	if ((fd = fsutil_tmpmake(dirfd, name, NULL)) != -1)
		(void)flock(fd, LOCK_EX | LOCK_NB);
	return fd;
}

/*
 * Create a temporary symlink to "target" in "dirfd" (fsutil_tmpmake),
 * for the caller to rename into place.  It cannot be locked: one left
 * by a crash stays (the scan leaves it out).  Returns 0, or -1 with
 * errno set.
 */
int
fsutil_tmplink(int dirfd, const char *target, char name[FSUTIL_TMPLEN])
{
	return fsutil_tmpmake(dirfd, name, target) == -1 ? -1 : 0;
}

/*
 * 1 when "name" has the form of fsutil_tmpfile's names (for the scan to
 * leave out), else 0.
 */
int
fsutil_is_tmpname(const char *name)
{
	size_t i, plen = sizeof(TMP_PREFIX) - 1;

	if (strlen(name) != FSUTIL_TMPLEN - 1 ||
	    strncmp(name, TMP_PREFIX, plen) != 0 ||
	    strcmp(name + plen + TMP_HEXLEN, TMP_SUFFIX) != 0)
		return 0;
	for (i = plen; i < plen + TMP_HEXLEN; i++)
		if (hex_digit((unsigned char)name[i]) == -1)
			return 0;
	return 1;
}

/*
 * Remove the temporary files of killed runs from "dirfd": regular files
 * named like fsutil_tmpfile's whose lock no live process holds.  Errors
 * are ignored (a file left is harmless).  Returns how many were removed.
 */
size_t
fsutil_clean_stale(int dirfd)
{
	struct dirent *de;
	struct stat st, now;
	DIR *dir;
	size_t n = 0;
	int fd;

	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return 0;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return 0;
	}
	while ((de = readdir(dir)) != NULL) {
		if (!fsutil_is_tmpname(de->d_name))
			continue;
		fd = openat(dirfd, de->d_name, O_RDONLY | O_NOFOLLOW |
		    O_NONBLOCK | O_CLOEXEC);
		if (fd == -1)
			continue;
		/* Unlink only the file we hold locked, not one put there since. */
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    flock(fd, LOCK_EX | LOCK_NB) == 0 &&
		    fstatat(dirfd, de->d_name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
		    now.st_ino == st.st_ino && now.st_dev == st.st_dev &&
		    unlinkat(dirfd, de->d_name, 0) == 0)
			n++;
		close(fd);
	}
	closedir(dir);
	return n;
}
