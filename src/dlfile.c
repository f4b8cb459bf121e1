/*
 * A file of a restore being written (download.c drives it): the record
 * of its first failure, the check that its target name may be
 * replaced, and the commit once every byte is in its temporary file:
 * checked against the object's size and ETag (or decrypted, every
 * chunk authenticated, with --decrypt-key), given the stored mtime,
 * fsync'd and renamed into place.  Nothing here calls into download.c.
 */
#include "config.h"

#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "extern.h"

/*
 * "f" failed: keep the reason (printf-style) in f->error for --report,
 * mark it DLF_FAILED and, when "say", print it (report_error).  Only the
 * first failure of a file counts: later ones, and any once f is no
 * longer DLF_RUNNING, are ignored.
 */
void
dlfile_fail(struct dlfile *f, int say, const char *fmt, ...)
{
	va_list ap;

	if (f->state != DLF_RUNNING)
		return;
	f->state = DLF_FAILED;
	va_start(ap, fmt);
	if (vasprintf(&f->error, fmt, ap) == -1)
		errx(EXIT_FATAL, "vasprintf");
	va_end(ap);
	if (say)
		report_error(f->run->rep, f->e->key, "%s", f->error);
}

/*
 * Whether f's final name is absent or a regular file, or for a link
 * object (f->linkname) a symlink too (a directory or anything else is
 * never replaced, nor a symlink by a file; an lstat error fails the file
 * now rather than after the download): 1, or 0 after dlfile_fail.
 */
int
dlfile_target_ok(struct dlfile *f)
{
	struct stat st;

	if (fstatat(f->dirfd, f->name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT)
			return 1;
		/* ENAMETOOLONG, say: better now than after the download. */
		dlfile_fail(f, 1, "%s", strerror(errno));
		return 0;
	}
	if (S_ISREG(st.st_mode) || (f->linkname != NULL && S_ISLNK(st.st_mode)))
		return 1;
	dlfile_fail(f, 1, "%s", S_ISDIR(st.st_mode) ? "is a directory: not replaced" :
	    S_ISLNK(st.st_mode) ? "is a symlink: not replaced" :
	    "is not a regular file: not replaced");
	return 0;
}

/*
 * The object in f's temporary file is encrypted: decode it into a new
 * temporary file, every chunk checked (encode.c), which then replaces
 * the first.  Returns the plaintext size, or -1 (reported): nothing of
 * a tampered object reaches the real name.
 */
static int64_t
dlfile_decode(struct dlfile *f)
{
	char tmp[FSUTIL_TMPLEN];
	const char *why = NULL;
	uint64_t plain = 0;
	int fd;

	if ((fd = fsutil_tmpfile(f->dirfd, tmp)) == -1) {
		dlfile_fail(f, 1, "temporary file: %s", strerror(errno));
		return -1;
	}
	if (decode_file(f->fd, f->size, fd, f->run->key, f->okey, f->psize,
	    &plain, &why) == -1) {
		if (why != NULL)
			dlfile_fail(f, 1, "%s: not restored%s", why,
			    strcmp(why, "not an encrypted object") == 0 ?
			    " (with --decrypt-key every object must be "
			    "encrypted)" : "");
		else
			dlfile_fail(f, 1, "decrypting: %s", strerror(errno));
		goto fail;
	}
	/* The metadata is not authenticated, but a mismatch means damage. */
	if (f->psize >= 0 && (uint64_t)f->psize != plain) {
		dlfile_fail(f, 1, "decrypts to %llu bytes, its metadata says %lld: "
		    "not restored", (unsigned long long)plain,
		    (long long)f->psize);
		goto fail;
	}
	close(f->fd);
	(void)unlinkat(f->dirfd, f->tmp, 0);
	f->fd = fd;
	memcpy(f->tmp, tmp, sizeof(f->tmp));
	return (int64_t)plain;
fail:
	close(fd);
	(void)unlinkat(f->dirfd, tmp, 0);
	return -1;
}

/* Check the plain object in f's temporary file against its ETag. */
static int
dlfile_verify(struct dlfile *f)
{
	const struct config *cfg = f->run->cfg;
	struct entry *e = f->e;
	char listed[45], *safe;
	int r;

	r = checksum_file(f->fd, f->size, e, cfg->part_size);
	if (r == -1) {
		dlfile_fail(f, 1, "cannot read the temporary file back: %s",
		    strerror(errno));
		return 0;
	}
	if (r == CSUM_DIFF) {
		hex_encode(e->rmd5, sizeof(e->rmd5), listed);
		if (e->rparts > 0)
			snprintf(listed + 32, sizeof(listed) - 32, "-%u",
			    (unsigned)e->rparts);
		if (f->etag != NULL && strcasecmp(f->etag, listed) != 0)
			dlfile_fail(f, 1, "the object changed since it was listed "
			    "(ETag %s, listed %s); run again", f->etag, listed);
		else
			dlfile_fail(f, 1, "content does not match the object's ETag");
		return 0;
	}
	if (r == CSUM_UNKNOWN && log_level >= 1) {
		safe = printable(e->key);
		logmsg(1, "%s: its ETag is not an MD5 of the content: only its "
		    "size was checked", safe);
		free(safe);
	}
	return 1;
}

/*
 * Every byte of "f" is in its temporary file: check its size, then its
 * content against the ETag (plain) or decrypt it with run->key, every
 * chunk checked (encrypted); give it the stored mtime, fsync it and,
 * the target checked again (dlfile_target_ok), rename it over the target
 * (f->tmp "" then, and e's local side set).  A link object becomes a
 * link instead (link_commit; f->tmp is left for the caller to remove).
 * Failures go through dlfile_fail; the caller removes what is left.
 */
void
dlfile_commit(struct dlfile *f)
{
	struct entry *e = f->e;
	struct timespec ts[2];
	struct stat st;
	int64_t size;

	if (fstat(f->fd, &st) == -1) {
		dlfile_fail(f, 1, "temporary file: %s", strerror(errno));
		return;
	}
	if ((uint64_t)st.st_size != f->size) {
		dlfile_fail(f, 1, "received %lld bytes, the object has %llu: it "
		    "changed since it was listed; run again",
		    (long long)st.st_size, (unsigned long long)f->size);
		return;
	}
	/*
	 * An encrypted object authenticates every chunk as it is decoded;
	 * its multipart ETag would not be recomputed anyway (its first part
	 * is longer by the header).
	 */
	if (!f->encrypted && !dlfile_verify(f))
		return;
	size = (int64_t)f->size;
	if (f->encrypted && (size = dlfile_decode(f)) == -1)
		return;
	if (f->linkname != NULL) {
		link_commit(f, size);
		return;
	}
	if (meta_apply(f->fd, &f->meta, f->run->cfg) == -1) {
		dlfile_fail(f, 1, "cannot set the mode or owner: %s",
		    strerror(errno));
		return;
	}
	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1] = f->mtime_known ? f->mtime : st.st_mtim;
	if (f->mtime_known && futimens(f->fd, ts) == -1) {
		dlfile_fail(f, 1, "cannot set the mtime: %s", strerror(errno));
		return;
	}
	if (fsync(f->fd) == -1) {
		dlfile_fail(f, 1, "fsync: %s", strerror(errno));
		return;
	}
	/* renameat would replace a symlink itself; we do not even do that. */
	if (!dlfile_target_ok(f))
		return;
	if (renameat(f->dirfd, f->tmp, f->dirfd, f->name) == -1) {
		dlfile_fail(f, 1, "rename into place: %s", strerror(errno));
		return;
	}
	f->tmp[0] = '\0';
	e->local = 1;
	e->lsize = size;
	e->lmtime_sec = ts[1].tv_sec;
	e->lmtime_nsec = (int32_t)ts[1].tv_nsec;
}

