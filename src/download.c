/*
 * The restore direction: the plan's downloads through the transfer
 * engine, written so that a file under its real name is always whole.
 *
 * Each object is fetched into a temporary file in its target directory
 * (fsutil.c): with one GET, or, from cfg->multipart_threshold on, with
 * ranged GETs of the upload's part size, fed to the engine one by one
 * like the parts of a multipart upload (so all calls share the --jobs
 * slots) and written with pwrite at their offsets: never a whole
 * object in memory.  When every byte is in, the file is checked (its
 * size, then its content against the listed ETag), given the stored
 * mtime, fsync'd and renamed over the target (dlfile.c).  A failure
 * removes the temporary file; a kill -9 leaves it behind, and the next
 * run removes it from each directory it writes into (unless another
 * live run holds it: see fsutil.c).
 *
 * Directories are walked from a descriptor of the root and never
 * through a symlink, and keys that could leave the root are refused
 * before anything is asked of the server.  A symlink or directory under
 * a file's name is left alone and reported, never replaced.  An object
 * whose key ends in ".rclonelink" is fetched the same way, then becomes
 * a symlink named without the suffix (link.c), which may replace a
 * symlink or a file of that name; one over LINK_MAX bytes is refused
 * before it is fetched.
 *
 * Archived objects (GLACIER, DEEP_ARCHIVE, the Intelligent-Tiering
 * archive tiers) answer GET with 403 InvalidObjectState: they are
 * counted as pending, not failed, and with --restore-request a
 * RestoreObject request is sent for each (what the answers mean, and
 * that request's body, are archive.c's).
 */
#include "config.h"

#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "extern.h"
#include "s3.h"

/* A directory, by identity, already cleared of stale temporary files. */
struct dlseen {
	UT_hash_handle	 hh;
	struct dlid {
		dev_t	 dev;
		ino_t	 ino;
	}		 id;
};

/* One download_run. */
struct download {
	struct run	*run;
	size_t		 next;		/* next action to start */
	size_t		 pending;	/* archived objects not readable yet */
	struct dlfile	*big;		/* a large object being fetched in ranges */
	int		 rootfd;
	struct dlseen	*seen;
	struct dlfile	*live;		/* files not finished yet */
};

/*
 * Whether the "len" bytes of relative "key" can be written under the
 * root: not empty, no leading '/', no empty, "." or ".." segment, no NUL
 * byte.  Directory markers are checked without their trailing '/'.
 * Returns NULL when it can, else the reason (a static string).
 */
const char *
download_key_check(const char *key, size_t len)
{
	size_t i, seg;

	if (len == 0)
		return "empty key";
	if (memchr(key, '\0', len) != NULL)
		return "NUL byte in the key";
	if (key[0] == '/')
		return "absolute path";
	for (seg = 0, i = 0; i <= len; i++) {
		if (i < len && key[i] != '/')
			continue;
		if (i == seg)
			return "empty path segment";
		if (i - seg == 1 && key[seg] == '.')
			return "\".\" path segment";
		if (i - seg == 2 && key[seg] == '.' && key[seg + 1] == '.')
			return "\"..\" path segment";
		seg = i + 1;
	}
	return NULL;
}

/*
 * Parse Last-Modified as S3 sends it (RFC 7231 IMF-fixdate, always GMT:
 * "Sun, 22 Nov 2026 03:04:05 GMT") into seconds since the epoch in *sec.
 * The obsolete RFC 850 and asctime forms are not accepted: S3 never
 * sends them.  Returns 0, or -1 when malformed.
 */
int
download_http_date(const char *s, int64_t *sec)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	/* IMF-fixdate; the program never calls setlocale, so names are C's. */
	end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	*sec = (int64_t)timegm(&tm);
	return 0;
}

/* A call failed for a reason other than an archived object. */
static void
dl_call_failed(struct dlfile *f, struct s3_call *c, const char *what)
{
	struct run *run = f->dl->run;
	const char *hint;
	char *msg;

	if ((hint = sse_c_hint(run->cfg, c)) != NULL)
		dlfile_fail(f, 1, "%s: not restored (HTTP %ld%s%s)", hint,
		    c->status, c->err.code != NULL ? " " : "",
		    c->err.code != NULL ? c->err.code : "");
	else if (f->state != DLF_RUNNING) {
		/* Only a file's first failure is said. */
		if (s3_call_fatal(c))
			(void)run_stop(run);
	} else {
		msg = run_call_failed(run, f->e->key, c, what);
		dlfile_fail(f, 0, "%s", msg);
		free(msg);
	}
}

/*
 * The end of a file: on success count it, else remove the temporary
 * file and count the failure or the pending archive; free "f".
 */
static void
dl_finish(struct dlfile *f)
{
	struct download *dl = f->dl;
	struct run *run = dl->run;
	struct entry *e = f->e;

	if (f->state == DLF_RUNNING) {
		run->rep->downloaded++;
		run->rep->downloaded_bytes += f->size;
		report_action(run->rep, "download", NULL, e->key);
		report_record(run->rep, e, "download", "ok", NULL);
	} else if (f->state == DLF_PENDING) {
		dl->pending++;
		report_record(run->rep, e, "download", "pending", f->error);
	} else
		run_failed(dl->run, e, "download", f->error);
	report_progress(run->rep, 0);
	if (f->tmp[0] != '\0' && f->dirfd != -1)
		(void)unlinkat(f->dirfd, f->tmp, 0);
	if (f->fd != -1)
		close(f->fd);
	if (f->dirfd != -1)
		close(f->dirfd);
	if (f->prev != NULL)
		f->prev->next_live = f->next_live;
	else
		f->dl->live = f->next_live;
	if (f->next_live != NULL)
		f->next_live->prev = f->prev;
	free(f->okey);
	free(f->linkname);
	free(f->etag);
	free(f->what);
	free(f->body);
	free(f->error);
	free(f);
}

/* Finish "f" once no call of it is under way or still to be fed. */
static void
dl_maybe_finish(struct dlfile *f)
{
	if (f->inflight == 0 && !f->feeding)
		dl_finish(f);
}

/* An answer of a successful GET: does it hold the bytes we asked for? */
static void
dl_check_answer(struct dlfile *f, struct s3_call *c)
{
	uint64_t want, off = (uint64_t)c->out_off, n;
	const char *why;
	int64_t sec;
	int32_t nsec = 0;

	want = f->range == 0 ? f->size : f->size - off < f->range ?
	    f->size - off : f->range;
	if (f->range != 0 && c->status != 206)
		dlfile_fail(f, 1, "the server ignored the Range header (HTTP %ld)",
		    c->status);
	else if (c->received != want)
		dlfile_fail(f, 1, "received %llu bytes at offset %llu, expected "
		    "%llu: the object changed since it was listed; run again",
		    (unsigned long long)c->received, (unsigned long long)off,
		    (unsigned long long)want);
	else if (c->etag != NULL && f->etag != NULL &&
	    strcmp(c->etag, f->etag) != 0)
		dlfile_fail(f, 1, "the object changed during the download (ETag "
		    "%s, then %s); run again", f->etag, c->etag);
	if (f->etag == NULL && c->etag != NULL)
		f->etag = xstrdup(c->etag);
	/* SSE-KMS and SSE-C ETags are no MD5; rclone's md5chksum helps. */
	checksum_note_answer(f->e, c);
	if (c->meta_crypt != NULL) {
		f->encrypted = 1;
		if (c->meta_psize != NULL && f->psize == -1) {
			if (decimal_parse(c->meta_psize, INT64_MAX, &n) == 0)
				f->psize = (int64_t)n;
			else
				dlfile_fail(f, 1, "x-amz-meta-p3-size is not a size: "
				    "not restored");
		}
		if (f->run->key == NULL)
			dlfile_fail(f, 1, "encrypted object: restore it with "
			    "--decrypt-key PRIVATE.pem");
	}
	if (f->mtime_known)
		return;
	/* The first answer: mode and owner too, or the file is refused. */
	if (meta_parse(c->meta_mode, c->meta_uid, c->meta_gid, &f->meta,
	    &why) == -1)
		dlfile_fail(f, 1, "%s: not restored", why);
	else if (f->meta.type == S_IFLNK && f->linkname == NULL)
		dlfile_fail(f, 1, "x-amz-meta-mode is a symlink's, the key no "
		    LINK_SUFFIX ": not restored");
	if (c->meta_mtime != NULL && mtime_parse(c->meta_mtime, &sec,
	    &nsec) == 0)
		f->mtime_known = 1;
	else if (c->last_modified != NULL &&
	    download_http_date(c->last_modified, &sec) == 0)
		f->mtime_known = 1;
	if (f->mtime_known) {
		f->mtime.tv_sec = (time_t)sec;
		f->mtime.tv_nsec = nsec;
	}
}

/* The RestoreObject answer: one line saying what becomes of the object. */
static void
dl_restore_done(struct s3_call *c, void *arg)
{
	struct dlfile *f = arg;
	struct download *dl = f->dl;
	struct run *run = dl->run;
	const struct config *cfg = run->cfg;
	char *how = NULL;

	f->inflight--;
	switch (c->curl_code != CURLE_OK ? DL_FAILED :
	    archive_classify(c->status, c->err.code)) {
	case DL_RESTORE_STARTED:
		how = strstr(f->body, "<Days>") == NULL ?
		    xasprintf("restore requested (%s tier)", cfg->restore_tier ?
		    cfg->restore_tier : "Standard") :
		    xasprintf("restore requested (%d days, %s tier)",
		    cfg->restore_days, cfg->restore_tier ? cfg->restore_tier :
		    "Standard");
		break;
	case DL_RESTORE_RUNNING:
		how = xstrdup("restore in progress");
		break;
	case DL_OK:
		how = xstrdup("a restored copy is ready: run again");
		break;
	default:
		/* Not pending after all: the request itself failed. */
		how = s3_call_errstr(c);
		f->state = DLF_RUNNING;
		dlfile_fail(f, !run->fatal, "archived in %s: restore request failed: "
		    "%s", f->what, how);
		if (s3_call_fatal(c))
			(void)run_stop(run);
		break;
	}
	if (f->state == DLF_PENDING) {
		f->error = xasprintf("archived in %s: not downloadable until "
		    "restored; %s", f->what, how);
		report_error(run->rep, f->e->key, "%s", f->error);
	}
	free(how);
	s3_call_free(c);
	dl_maybe_finish(f);
}

/*
 * A GET answered InvalidObjectState: the file is pending.  Report it,
 * or send a RestoreObject request and report when it answers.
 */
static void
dl_archived(struct dlfile *f, struct s3_call *c)
{
	struct download *dl = f->dl;
	struct run *run = dl->run;
	const struct config *cfg = run->cfg;
	struct s3_call *rc;
	char b64[32], *cls, *tier;

	if (f->state != DLF_RUNNING)
		return;
	f->state = DLF_PENDING;
	(void)archive_class(c->resp.data, c->resp.len, &cls, &tier);
	if (cls == NULL && c->storage_class != NULL)
		cls = xstrdup(c->storage_class);
	f->what = tier != NULL ? xasprintf("%s (%s)", cls != NULL ? cls : "?",
	    tier) : xstrdup(cls != NULL ? cls : "an archive storage class");
	free(cls);
	if (cfg->restore_days <= 0) {
		f->error = xasprintf("archived in %s: not downloadable until "
		    "restored", f->what);
		report_error(run->rep, f->e->key, "%s", f->error);
		free(tier);
		return;
	}
	/* Intelligent-Tiering archive tiers take no Days: they do not expire. */
	f->body = archive_restore_body(tier != NULL ? 0 : cfg->restore_days,
	    cfg->restore_tier != NULL ? cfg->restore_tier : "Standard");
	free(tier);
	content_md5(f->body, strlen(f->body), b64);
	rc = s3_call_new("POST", run->bucket, f->okey);
	s3_call_query(rc, "restore", "");
	if (f->e->rversion != NULL)
		s3_call_query(rc, "versionId", f->e->rversion);
	s3_call_header(rc, "content-md5", b64);
	s3_call_header(rc, "content-type", "application/xml");
	rc->body = f->body;
	rc->body_len = strlen(f->body);
	rc->done = dl_restore_done;
	rc->arg = f;
	f->inflight++;
	xfer_submit(s3_xfer(run->s3), rc);
}

/*
 * A GET (or one range) ended.  The last call of a file that is still
 * running commits it; then the file is finished either way.
 */
static void
dl_get_done(struct s3_call *c, void *arg)
{
	struct dlfile *f = arg;

	f->inflight--;
	if (c->ok)
		dl_check_answer(f, c);
	else if (c->curl_code == CURLE_OK &&
	    archive_classify(c->status, c->err.code) == DL_ARCHIVED)
		dl_archived(f, c);
	else
		dl_call_failed(f, c, "download");
	s3_call_free(c);
	if (f->inflight == 0 && !f->feeding && f->state == DLF_RUNNING)
		dlfile_commit(f);
	dl_maybe_finish(f);
}

/* Submit GET number "i" of "f": the whole object, or its i-th range. */
static void
dl_submit(struct dlfile *f, uint32_t i)
{
	struct download *dl = f->dl;
	struct run *run = dl->run;
	struct s3_call *c;
	uint64_t a, b;
	char range[64];

	c = s3_call_new("GET", run->bucket, f->okey);
	if (f->e->rversion != NULL)
		s3_call_query(c, "versionId", f->e->rversion);
	c->out_fd = f->fd;
	if (f->range != 0) {
		a = (uint64_t)i * f->range;
		b = a + f->range < f->size ? a + f->range - 1 : f->size - 1;
		snprintf(range, sizeof(range), "bytes=%llu-%llu",
		    (unsigned long long)a, (unsigned long long)b);
		s3_call_header(c, "range", range);
		c->out_off = (off_t)a;
	}
	c->done = dl_get_done;
	c->arg = f;
	f->inflight++;
	if (f->range != 0 && i + 1 == f->nranges) {
		f->feeding = 0;
		dl->big = NULL;
	}
	xfer_submit(s3_xfer(run->s3), c);
}

/*
 * Open the directory of "len" bytes of "key" (made when missing) and,
 * the first time this run sees it, clear it of stale temporary files.
 */
static int
dl_opendir(struct download *dl, const char *key, size_t len, char **why)
{
	struct dlseen *s;
	struct dlid id;
	struct stat st;
	char *dir, *safe;
	size_t n;
	int fd;

	if ((fd = fsutil_opendir(dl->rootfd, key, len, 1, NULL, why)) == -1 ||
	    fstat(fd, &st) == -1)
		return fd;
	memset(&id, 0, sizeof(id));
	id.dev = st.st_dev;
	id.ino = st.st_ino;
	HASH_FIND(hh, dl->seen, &id, sizeof(id), s);
	if (s != NULL)
		return fd;
	s = xcalloc(1, sizeof(*s));
	s->id = id;
	HASH_ADD(hh, dl->seen, id, sizeof(id), s);
	if ((n = fsutil_clean_stale(fd)) > 0) {
		dir = xstrndup(len > 0 ? key : ".", len > 0 ? len : 1);
		safe = printable(dir);
		logmsg(1, "%s: removed %zu temporary file(s) of an interrupted "
		    "restore", safe, n);
		free(safe);
		free(dir);
	}
	return fd;
}

/*
 * Start the download of "e": check its key, open its directory, create
 * the temporary file and submit the first GET.  Returns 1 when a call
 * was submitted, 0 when the file already ended (failed, counted).
 */
static int
dl_start(struct download *dl, struct entry *e)
{
	struct run *run = dl->run;
	const struct config *cfg = run->cfg;
	struct dlfile *f;
	const char *why, *slash;
	char *msg = NULL;
	size_t len = strlen(e->key);

	f = xcalloc(1, sizeof(*f));
	f->dl = dl;
	f->run = dl->run;
	f->e = e;
	f->fd = f->dirfd = -1;
	f->psize = -1;
	/*
	 * With a key every object must be one of ours: the metadata saying
	 * so is not authenticated, and a plain object slipped into the
	 * bucket (or an encrypted one stripped of its metadata) must not
	 * be restored as if it were.
	 */
	f->encrypted = run->key != NULL;
	f->size = e->rsize > 0 ? (uint64_t)e->rsize : 0;
	f->next_live = dl->live;
	if (dl->live != NULL)
		dl->live->prev = f;
	dl->live = f;
	if ((why = download_key_check(e->key, len)) != NULL) {
		dlfile_fail(f, 1, "refused: %s", why);
		goto out;
	}
	slash = strrchr(e->key, '/');
	f->name = slash != NULL ? slash + 1 : e->key;
	if (link_key(e->key, len)) {
		f->linkname = xstrndup(f->name, strlen(f->name) -
		    LINK_SUFFIX_LEN);
		f->name = f->linkname;
		/* Not a byte of a hostile giant is fetched. */
		if (f->size > (run->key != NULL ? crypt_size(cfg->crypt_hlen,
		    LINK_MAX) : LINK_MAX)) {
			dlfile_fail(f, 1, "link target longer than %d bytes: "
			    "not restored", LINK_MAX);
			goto out;
		}
	}
	/* The next run would take it for a crashed run's and remove it. */
	if (fsutil_is_tmpname(f->name)) {
		dlfile_fail(f, 1, "refused: the name of a temporary file of "
		    "p3backup");
		goto out;
	}
	if ((f->dirfd = dl_opendir(dl, e->key, slash != NULL ?
	    (size_t)(slash - e->key) : 0, &msg)) == -1) {
		dlfile_fail(f, 1, "%s", msg);
		goto out;
	}
	if (!dlfile_target_ok(f))
		goto out;
	if ((f->fd = fsutil_tmpfile(f->dirfd, f->tmp)) == -1) {
		f->tmp[0] = '\0';
		dlfile_fail(f, 1, "cannot create a temporary file: %s",
		    strerror(errno));
		goto out;
	}
	f->okey = list_object_key(cfg, e->key);
	if (f->size > 0 && f->size >= cfg->multipart_threshold) {
		f->range = checksum_part_size(f->size, cfg->part_size);
		f->nranges = (uint32_t)((f->size + f->range - 1) / f->range);
		if (f->nranges < 2)
			f->range = 0;
	}
	if (f->range != 0) {
		f->feeding = 1;
		dl->big = f;
		dl_submit(f, f->next++);
	} else
		dl_submit(f, 0);
out:
	free(msg);
	if (f->inflight == 0) {
		dl_finish(f);
		return 0;
	}
	return 1;
}

/* ACT_MKDIR: the directory of a marker, and its mtime when we made it. */
static void
dl_mkdir(struct download *dl, struct entry *e)
{
	struct run *run = dl->run;
	struct timespec ts[2];
	const char *why;
	char *msg = NULL;
	size_t len = strlen(e->key);
	int fd = -1, created = 0;

	/* Markers end with '/': the directory's path is the rest. */
	if ((why = download_key_check(e->key, len - 1)) != NULL)
		msg = xasprintf("refused: %s", why);
	else if ((fd = fsutil_opendir(dl->rootfd, e->key, len - 1, 1,
	    &created, &msg)) != -1 && created && e->rmtime_known) {
		ts[0].tv_sec = 0;
		ts[0].tv_nsec = UTIME_OMIT;
		ts[1].tv_sec = (time_t)e->rmtime_sec;
		ts[1].tv_nsec = e->rmtime_nsec;
		if (futimens(fd, ts) == -1)
			msg = xasprintf("cannot set the mtime: %s",
			    strerror(errno));
	}
	if (msg != NULL) {
		report_error(run->rep, e->key, "%s", msg);
		run_failed(dl->run, e, "mkdir", msg);
	} else {
		run->rep->downloaded++;
		report_action(run->rep, "mkdir", NULL, e->key);
		report_record(run->rep, e, "mkdir", "ok", NULL);
	}
	if (fd != -1)
		close(fd);
	free(msg);
}

/* Engine callback: the next range of the large file, or the next action. */
static int
dl_feed(void *arg)
{
	struct download *dl = arg;
	struct run *run = dl->run;
	struct dlfile *f;
	struct action *a;

	if ((f = dl->big) != NULL) {
		if (f->state == DLF_RUNNING && !run->fatal) {
			dl_submit(f, f->next++);
			return XFER_FEED_MORE;
		}
		/* It failed (or the run did): no more of its ranges. */
		dlfile_fail(f, 0, "stopped");
		f->feeding = 0;
		dl->big = NULL;
		dl_maybe_finish(f);
	}
	while (dl->next < run->plan->n && !run->fatal) {
		a = &run->plan->v[dl->next++];
		if (a->act == ACT_MKDIR)
			dl_mkdir(dl, a->e);
		else if (a->act == ACT_DOWNLOAD && dl_start(dl, a->e))
			return XFER_FEED_MORE;
	}
	return XFER_FEED_DONE;
}

/*
 * Carry out run->plan's ACT_DOWNLOAD and ACT_MKDIR actions under
 * run->root (with run->key, --decrypt-key, when set) through the
 * transfer engine: each file is written to a temporary name in its
 * directory, checked against the object's ETag, given its stored mtime,
 * fsync'd and renamed into place; no path component is followed through
 * a symlink, nothing is written outside the root.  Bad keys and failed
 * files are reported and counted in rep->failed; archived objects
 * (GLACIER, DEEP_ARCHIVE) are reported as pending, counted in *pending,
 * and with cfg->restore_days a RestoreObject request is made for them.
 * Files still under way when the engine stops are failed ("interrupted")
 * and their temporary files removed.  Returns 0, or -1 when a fatal
 * error stopped it or run->root cannot be opened (reported).
 */
int
download_run(struct run *run, size_t *pending)
{
	struct download dl;
	struct dlseen *s, *tmp;
	int rc = -1;

	memset(&dl, 0, sizeof(dl));
	dl.run = run;
	dl.rootfd = -1;
	run->fatal = 0;
	if ((dl.rootfd = open(run->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		warn("%s", run->root);
		goto out;
	}
	xfer_set_feed(s3_xfer(run->s3), dl_feed, &dl);
	if (xfer_run(s3_xfer(run->s3)) == 0 && !run->fatal)
		rc = 0;
	/*
	 * Interrupted before every range of a large file was sent, or the
	 * engine failed: what is left ends here, its temporary file removed.
	 */
	dl.big = NULL;
	while (dl.live != NULL) {
		dl.live->feeding = 0;
		dl.live->inflight = 0;
		dlfile_fail(dl.live, 0, "interrupted");
		dl_finish(dl.live);
	}
	report_progress(run->rep, 1);
out:
	HASH_ITER(hh, dl.seen, s, tmp) {
		HASH_DEL(dl.seen, s);
		free(s);
	}
	if (dl.rootfd != -1)
		close(dl.rootfd);
	*pending = dl.pending;
	return rc;
}
