/*
 * The local tree into the table: openat(2)/readdir(3) recursion, one
 * open directory per level.  Files are never opened; an entry costs at
 * most one stat (a directory: the fstat of its descriptor).  Runs in
 * its own thread: all state is on its stack or in the caller's table.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"

/* S3's limit on the length of an object key, in bytes. */
#define SCAN_KEYMAX	1024

/* The S_IFMT bits readdir knows for an entry, or 0 when it does not. */
#ifdef DTTOIF
#define DIRENT_TYPE(de)	(DTTOIF((de)->d_type) & S_IFMT)
#else
#define DIRENT_TYPE(de)	0
#endif

/* State of one scan_tree call. */
struct walk {
	const char		*root;
	size_t			 rootlen;	/* without trailing slashes */
	size_t			 maxkey;	/* 1024 less "prefix/" */
	const char		*toolong;	/* message for longer keys */
	int			 follow;
	int			 restore;	/* walking a restore's target */
	const struct filter	*filter;	/* cfg->filter, may be NULL */
	int			 markers;	/* record empty directories */
	size_t			 filtered;	/* entries the filter left out */
	struct table		*tbl;
	struct scan_stats	*st;
	struct buf		 path;		/* key of the current entry */
};

/* The directories above the current one, for loop detection. */
struct frame {
	dev_t			 dev;
	ino_t			 ino;
	const struct frame	*up;
};

static size_t	scan_walk_dir(struct walk *, int, const struct stat *,
		    const struct frame *, int);

/*
 * Length of the well-formed UTF-8 sequence at "s" (at most "n" bytes):
 * 1 to 4, or 0 when it is ill-formed (bad lead or continuation byte,
 * truncated, overlong, a UTF-16 surrogate, or above U+10FFFF).
 */
static size_t
scan_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	/* Second byte ranges rule out overlongs, surrogates, >U+10FFFF. */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* 1 when the "n" bytes at "s" are well-formed UTF-8. */
static int
scan_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len;

	while (n > 0) {
		if ((len = scan_utf8_seq(p, n)) == 0)
			return 0;
		p += len;
		n -= len;
	}
	return 1;
}

/*
 * Append "n" bytes of "s" to "out" so that they fit on one terminal
 * line: control characters (C0, DEL, C1) and ill-formed UTF-8 become
 * \xNN, a backslash becomes \\, the rest is copied.
 */
static void
scan_escape(struct buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	char hex[5];
	size_t len, i;

	while (n > 0) {
		len = scan_utf8_seq(p, n);
		if (len == 1 && *p == '\\')
			buf_append(out, "\\\\", 2);
		else if (len > 2 || (len == 1 && *p >= 0x20 && *p != 0x7f) ||
		    (len == 2 && (p[0] != 0xc2 || p[1] >= 0xa0)))
			buf_append(out, p, len);
		else {
			len = len == 0 ? 1 : len;
			for (i = 0; i < len; i++) {
				snprintf(hex, sizeof(hex), "\\x%02x", p[i]);
				buf_append(out, hex, 4);
			}
		}
		p += len;
		n -= len;
	}
}

/*
 * Report the current entry as "ROOT/PATH: cause[: strerror(errnum)]"
 * on one line and count it in *counter.
 */
static void
scan_report(struct walk *w, size_t *counter, int errnum, const char *cause)
{
	struct buf msg = { NULL, 0, 0 };

	scan_escape(&msg, w->root, w->rootlen);
	if (w->path.len > 0 || w->rootlen == 0)
		buf_append(&msg, "/", 1);
	scan_escape(&msg, w->path.data, w->path.len);
	if (errnum == 0) {
		/* A note, not an error: -q leaves it to the summary. */
		if (log_level >= 0)
			warnx("%s: %s", msg.data, cause);
	} else {
		errno = errnum;
		if (cause == NULL)
			warn("%s", msg.data);
		else
			warn("%s: %s", msg.data, cause);
	}
	(*counter)++;
	buf_free(&msg);
}

/* Why an entry of file type "type" (S_IFMT bits) is skipped. */
static const char *
scan_skip_cause(mode_t type)
{
	if (S_ISFIFO(type))
		return "FIFO, skipped";
	if (S_ISSOCK(type))
		return "socket, skipped";
	if (S_ISCHR(type))
		return "character device, skipped";
	if (S_ISBLK(type))
		return "block device, skipped";
	return "unknown file type, skipped";
}

/*
 * Record the current path as a key; "marker" adds the trailing '/', a
 * symlink (sb says so) LINK_SUFFIX.
 */
static void
scan_record(struct walk *w, const struct stat *sb, int marker)
{
	struct entry *e;
	size_t base = w->path.len;

	if (marker)
		buf_append(&w->path, "/", 1);
	else if (S_ISLNK(sb->st_mode))
		buf_append(&w->path, LINK_SUFFIX, LINK_SUFFIX_LEN);
	/*
	 * Each path is walked once (loops are cut), so its key is new: no
	 * lookup, which at a million files was a fifth of the scan's time.
	 */
	e = table_add(w->tbl, w->path.data, w->path.len);
	w->tbl->nlocal++;
	e->local = 1;
	e->dir = marker;
	e->link = !marker && S_ISLNK(sb->st_mode);
	e->lsize = marker ? 0 : (int64_t)sb->st_size;
	e->lmtime_sec = (int64_t)sb->st_mtim.tv_sec;
	e->lmtime_nsec = (int32_t)sb->st_mtim.tv_nsec;
	e->lperm = meta_perm(sb->st_mode, sb->st_uid, sb->st_gid);
	w->path.len = base;
	w->path.data[base] = '\0';
	if (marker) {
		w->st->dirs++;
	} else {
		w->st->files++;
		w->st->bytes += (uint64_t)sb->st_size;
	}
}

/*
 * 1 when the entry "name" of "dfd" (of type "type", not followed) must
 * not be recorded because a link and a file would share one key: the
 * symlink "x" and the non-directory "x.rclonelink".  The link reports
 * the conflict (in a backup: counted as failed) and neither is
 * recorded.  In a restore's target a file "x.rclonelink" is never
 * recorded (no object is restored under that name: it is the link x's).
 */
static int
scan_link_conflict(struct walk *w, int dfd, const char *name, mode_t type)
{
	struct stat sb;
	struct buf other = { NULL, 0, 0 };
	char *msg, *safe;
	size_t len = strlen(name);
	int clash = 0;

	if (w->follow)
		return 0;
	if (S_ISLNK(type)) {
		buf_append(&other, name, len);
		buf_append(&other, LINK_SUFFIX, LINK_SUFFIX_LEN);
		clash = !w->restore && fstatat(dfd, other.data, &sb,
		    AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(sb.st_mode);
		if (clash) {
			safe = printable(other.data);
			msg = xasprintf("symbolic link and the file %s would "
			    "both be the object %s: neither backed up", safe,
			    safe);
			scan_report(w, &w->st->failed, 0, msg);
			free(msg);
			free(safe);
		}
	} else if (S_ISREG(type) && link_key(name, len)) {
		buf_append(&other, name, len - LINK_SUFFIX_LEN);
		clash = w->restore || (fstatat(dfd, other.data, &sb,
		    AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(sb.st_mode));
	}
	buf_free(&other);
	return clash;
}

/*
 * 1 when the filter leaves out the current entry, of type "type": a
 * directory it prunes (never entered), anything else it does not keep.
 * Such entries are dropped silently, before the checks that would
 * report them, and counted in w->filtered for the marker rule.
 */
static int
scan_walk_filtered(struct walk *w, mode_t type)
{
	int out;

	if (w->filter == NULL)
		return 0;
	out = S_ISDIR(type) ? filter_prune_dir(w->filter, w->path.data) :
	    !filter_file(w->filter, w->path.data);
	if (out)
		w->filtered++;
	else if (S_ISDIR(type))
		filter_seen_dir(w->filter, w->path.data);
	return out;
}

/*
 * Open the directory "name" of "dfd" (the current path) and walk it,
 * unless it is one of its own ancestors.  "sb" is its stat when
 * already known, else NULL.  Returns the number of keys recorded.
 */
static size_t
scan_walk_descend(struct walk *w, int dfd, const char *name,
    const struct stat *sb, const struct frame *up, int vialink)
{
	const struct frame *f;
	struct stat own;
	size_t n = 0;
	int fd, flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;

	if (!w->follow)
		flags |= O_NOFOLLOW;
	if ((fd = openat(dfd, name, flags)) == -1) {
		scan_report(w, &w->st->failed, errno, "cannot open directory");
		goto out;
	}
	if (sb == NULL) {
		if (fstat(fd, &own) == -1) {
			scan_report(w, &w->st->failed, errno, NULL);
			goto out;
		}
		sb = &own;
	}
	for (f = up; f != NULL; f = f->up)
		if (f->dev == sb->st_dev && f->ino == sb->st_ino)
			break;
	if (f != NULL) {
		scan_report(w, &w->st->failed, 0, vialink ?
		    "symlink loop, not followed" :
		    "directory loop, not descended");
		goto out;
	}
	/* walk_dir owns the descriptor from here on. */
	n = scan_walk_dir(w, fd, sb, up, 0);
	fd = -1;
out:
	if (fd != -1)
		close(fd);
	return n;
}

/*
 * Handle one directory entry "name" of "dfd" whose file type is "type"
 * (S_IFMT bits from readdir, 0 when unknown); the current path already
 * ends with it.  Returns the number of keys recorded for it and below.
 */
static size_t
scan_walk_entry(struct walk *w, int dfd, const char *name, mode_t type,
    const struct frame *up)
{
	struct stat sb;
	int statted = 0, vialink = S_ISLNK(type);
	/* Whether readdir's type is final (no stat needed to know it). */
	int known = type != 0 && !(vialink && w->follow);

	/* Filter first, so that a filtered-out entry costs no stat. */
	if (known && scan_walk_filtered(w, type))
		return 0;
	/* One stat, and only when the type or the file's attributes need it. */
	if (S_ISREG(type) || S_ISLNK(type) || !known) {
		if (fstatat(dfd, name, &sb,
		    w->follow ? 0 : AT_SYMLINK_NOFOLLOW) == -1) {
			scan_report(w, &w->st->failed, errno, vialink ?
			    "cannot follow symbolic link" : NULL);
			return 0;
		}
		type = sb.st_mode & S_IFMT;
		statted = 1;
		if (!known && scan_walk_filtered(w, type))
			return 0;
	}
	if (!S_ISREG(type) && !S_ISDIR(type) && !S_ISLNK(type)) {
		scan_report(w, &w->st->skipped, 0, scan_skip_cause(type));
		return 0;
	}
	/* A restore's temporary file (a live one, or one left by a crash). */
	if (!S_ISDIR(type) && fsutil_is_tmpname(name)) {
		logmsg(1, "%s: a restore's temporary file, left out", name);
		return 0;
	}

	/* What we would record must make a valid S3 key. */
	if (!scan_utf8_valid(name, strlen(name))) {
		scan_report(w, &w->st->failed, 0, "name is not valid UTF-8");
		return 0;
	}
	/* Keys with a ".p3backup/" segment are p3backup's own. */
	if (strcmp(name, ".p3backup") == 0 && (S_ISDIR(type) ||
	    strcmp(w->path.data, ".p3backup") == 0)) {
		scan_report(w, &w->st->failed, 0,
		    "reserved name (p3backup's own objects live there)");
		return 0;
	}
	/* A directory needs room for at least its own "dir/" marker. */
	if (w->path.len + (S_ISDIR(type) ? 1 : S_ISLNK(type) ?
	    LINK_SUFFIX_LEN : 0) > w->maxkey) {
		scan_report(w, &w->st->failed, 0, w->toolong);
		return 0;
	}
	if (scan_link_conflict(w, dfd, name, type))
		return 0;
	if (S_ISDIR(type))
		return scan_walk_descend(w, dfd, name, statted ? &sb : NULL, up,
		    vialink);
	scan_record(w, &sb, 0);
	return 1;
}

/*
 * Walk the open directory "fd" (consumed) whose stat is "sb" and whose
 * key is the current path.  A directory under which nothing was
 * recorded gets a "dir/" marker: that covers a truly empty directory,
 * and also one holding only skipped or failed entries (a FIFO, a
 * socket), which a restore would otherwise not recreate, as rsync
 * does.  The root never gets one, nor does a directory that could not
 * be read to its end.
 * With a filter: when it has includes there are no markers at all (a
 * backup of "*.jpg" must not fill the bucket with every directory);
 * with excludes only, a directory gets no marker when the filter left
 * out anything in it or below it, since a marker means "empty on disk",
 * not "empty after filtering" (and a parent of an unmarked directory
 * must not be marked either, or a restore would recreate it alone).
 * Returns the number of keys recorded.
 */
static size_t
scan_walk_dir(struct walk *w, int fd, const struct stat *sb,
    const struct frame *up, int isroot)
{
	struct frame self = { sb->st_dev, sb->st_ino, up };
	struct dirent *de;
	DIR *dir;
	size_t n = 0, base, filtered = w->filtered;
	int readerr = 0;

	if ((dir = fdopendir(fd)) == NULL) {
		scan_report(w, &w->st->failed, errno, "cannot read directory");
		close(fd);
		return 0;
	}
	base = w->path.len;
	for (;;) {
		errno = 0;
		if ((de = readdir(dir)) == NULL) {
			readerr = errno;
			break;
		}
		if (de->d_name[0] == '.' && (de->d_name[1] == '\0' ||
		    (de->d_name[1] == '.' && de->d_name[2] == '\0')))
			continue;
		if (base > 0)
			buf_append(&w->path, "/", 1);
		buf_append(&w->path, de->d_name, strlen(de->d_name));
		n += scan_walk_entry(w, dirfd(dir), de->d_name, DIRENT_TYPE(de),
		    &self);
		w->path.len = base;
		w->path.data[base] = '\0';
	}
	if (readerr != 0)
		scan_report(w, &w->st->failed, readerr,
		    "cannot read directory");
	else if (n == 0 && !isroot && w->markers && w->filtered == filtered) {
		scan_record(w, sb, 1);
		n = 1;
	}
	closedir(dir);
	return n;
}

/*
 * Walk "root" and record every regular file, and every directory under
 * which nothing was recorded (as a "dir/" marker; never the root, nor a
 * directory that could not be read to its end), in "tbl" (local side,
 * with table_add: not indexed); "*st" is zeroed first and counts what was
 * met.  "root" itself is followed when it is a symlink to a directory.
 * A symlink is recorded as itself (e->link, its lstat, the key its path
 * and LINK_SUFFIX: link.c), its target never looked at, unless
 * cfg->follow_symlinks (then followed, loops reported and cut); a link
 * "x" next to a file "x.rclonelink" is reported, counted as failed and
 * neither recorded (scan_link_conflict).  FIFOs, sockets and devices are
 * skipped with a note, never opened, and counted as skipped.  A
 * restore's temporary files (and links) are left out (said with -v).  Unreadable
 * entries, directory loops and names that cannot be S3 keys (not UTF-8, a
 * key over 1024 bytes with the prefix, the reserved ".p3backup") are
 * reported and counted as failed; the walk goes on.  Reports without an
 * errno (skips, loops, bad names) are notes that -q silences.  What
 * cfg->filter leaves out is dropped silently and counted nowhere; an
 * excluded directory is not entered.  With includes no marker is
 * recorded; with excludes only, none for a directory that held something
 * filtered.
 * Only table entries outlive the call: no path is kept.  Returns 0, or -1
 * when "root" itself cannot be opened (reported, counted as failed).
 */
int
scan_tree(const char *root, const struct config *cfg, struct table *tbl,
    struct scan_stats *st)
{
	struct walk w;
	struct stat sb;
	size_t plen = 0;
	int fd, rc = -1;

	memset(st, 0, sizeof(*st));
	memset(&w, 0, sizeof(w));
	w.root = root;
	w.rootlen = strlen(root);
	while (w.rootlen > 0 && root[w.rootlen - 1] == '/')
		w.rootlen--;
	if (cfg->prefix != NULL && cfg->prefix[0] != '\0')
		plen = strlen(cfg->prefix) + 1;
	w.maxkey = plen >= SCAN_KEYMAX ? 0 : SCAN_KEYMAX - plen;
	w.toolong = plen > 0 ? "object key longer than 1024 bytes with the "
	    "prefix" : "object key longer than 1024 bytes";
	w.follow = cfg->follow_symlinks;
	w.restore = cfg->restore;
	w.filter = cfg->filter;
	w.markers = !filter_has_includes(cfg->filter);
	w.tbl = tbl;
	w.st = st;
	buf_append(&w.path, "", 0);

	if ((fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1) {
		scan_report(&w, &st->failed, errno, NULL);
		goto out;
	}
	/* walk_dir owns the descriptor from here on. */
	scan_walk_dir(&w, fd, &sb, NULL, 1);
	fd = -1;
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	buf_free(&w.path);
	return rc;
}
