/*
 * Symlinks in rclone's --links form: a link "x" is the object
 * "x.rclonelink" whose body is the link's target, byte for byte, with
 * the link's own mtime, mode ("120777") and owner in its metadata.  A
 * backup reads a link with readlink(2), never its target; a restore
 * makes it under a temporary name with symlinkat(2), gives it its mtime
 * and owner without following it and renames it into place.  A link is
 * only ever made, never written through (fsutil.c opens directories
 * without following symlinks).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"

/*
 * 1 when the "len" bytes of "key" name a link: they end in LINK_SUFFIX
 * after a non-empty last component.  Pure.
 */
int
link_key(const char *key, size_t len)
{
	return len > LINK_SUFFIX_LEN &&
	    memcmp(key + len - LINK_SUFFIX_LEN, LINK_SUFFIX,
	    LINK_SUFFIX_LEN) == 0 && key[len - LINK_SUFFIX_LEN - 1] != '/';
}

/*
 * Read the symlink "path" itself (its last component not followed):
 * its lstat into *st, with st_size set to the target's length, and its
 * target into *target (NUL-terminated, caller frees) and *len.  Returns
 * 0; 1 when it changed while being read (lstat before and after differ);
 * -1 with errno set (EINVAL: no longer a symlink; ENAMETOOLONG: target
 * over LINK_MAX bytes).
 */
int
link_read(const char *path, struct stat *st, char **target, size_t *len)
{
	struct stat after;
	char *buf;
	ssize_t n;

	*target = NULL;
	if (lstat(path, st) == -1)
		return -1;
	if (!S_ISLNK(st->st_mode)) {
		errno = EINVAL;
		return -1;
	}
	buf = xmalloc(LINK_MAX + 2);
	if ((n = readlink(path, buf, LINK_MAX + 1)) == -1 ||
	    lstat(path, &after) == -1) {
		free(buf);
		return -1;
	}
	if (n > LINK_MAX) {
		free(buf);
		errno = ENAMETOOLONG;
		return -1;
	}
	buf[n] = '\0';
	*target = buf;
	*len = (size_t)n;
	if (after.st_ino != st->st_ino || after.st_dev != st->st_dev ||
	    after.st_mtim.tv_sec != st->st_mtim.tv_sec ||
	    after.st_mtim.tv_nsec != st->st_mtim.tv_nsec)
		return 1;
	st->st_size = (off_t)n;
	return 0;
}

/*
 * Every byte of the link object of "f" is in its temporary file, "size"
 * bytes checked (or decrypted): make the link f->name in f->dirfd to
 * that target, when it holds at most LINK_MAX bytes and no NUL, under a
 * temporary name first, then give it the stored mtime and owner
 * (meta_apply_link) and rename it over f->name (which dlfile_target_ok
 * allows: absent, a file or a link).  Sets e's local side.  Failures go
 * through dlfile_fail, leaving nothing behind but f's temporary file
 * (which the caller removes, as it does on success).
 */
void
link_commit(struct dlfile *f, int64_t size)
{
	struct entry *e = f->e;
	struct timespec ts[2];
	struct stat st;
	char target[LINK_MAX + 1], tmp[FSUTIL_TMPLEN];
	const char *what = NULL;
	ssize_t n;

	if (size > LINK_MAX) {
		dlfile_fail(f, 1, "link target longer than %d bytes: not "
		    "restored", LINK_MAX);
		return;
	}
	if ((n = pread(f->fd, target, (size_t)size, 0)) != (ssize_t)size) {
		dlfile_fail(f, 1, "cannot read the temporary file back: %s",
		    n == -1 ? strerror(errno) : "short read");
		return;
	}
	if (memchr(target, '\0', (size_t)size) != NULL || size == 0) {
		dlfile_fail(f, 1, "link target %s: not restored", size == 0 ?
		    "is empty" : "holds a NUL byte");
		return;
	}
	target[size] = '\0';
	if (!dlfile_target_ok(f))
		return;
	if (fsutil_tmplink(f->dirfd, target, tmp) == -1) {
		dlfile_fail(f, 1, "cannot create a temporary link: %s",
		    strerror(errno));
		return;
	}
	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1] = f->mtime;
	if (meta_apply_link(f->dirfd, tmp, &f->meta, f->run->cfg) == -1)
		what = "cannot set the owner";
	else if (f->mtime_known && utimensat(f->dirfd, tmp, ts,
	    AT_SYMLINK_NOFOLLOW) == -1)
		what = "cannot set the mtime";
	else if (renameat(f->dirfd, tmp, f->dirfd, f->name) == -1)
		what = "rename into place";
	if (what != NULL) {
		dlfile_fail(f, 1, "%s: %s", what, strerror(errno));
		(void)unlinkat(f->dirfd, tmp, 0);
		return;
	}
	if (!f->mtime_known && fstatat(f->dirfd, f->name, &st,
	    AT_SYMLINK_NOFOLLOW) == 0)
		ts[1] = st.st_mtim;
	e->local = 1;
	e->link = 1;
	e->lsize = size;
	e->lmtime_sec = ts[1].tv_sec;
	e->lmtime_nsec = (int32_t)ts[1].tv_nsec;
}
