/*
 * The upload stage: turns the plan's uploads into PutObject calls fed
 * to the transfer engine as it has room.  Each file is read once into a
 * small buffer (or hashed, then streamed, when it is larger), sent with
 * Content-MD5 and x-amz-meta-mtime, and counted as uploaded only when
 * the server's ETag equals the MD5 of the bytes we read while the file
 * stood still.  A file that changes under us is read again, a few times,
 * then reported; it is never recorded as backed up in a mixed state.
 * A symlink is sent as its target's bytes (link.c), the link itself
 * never opened.
 */
#include "config.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/md5.h>

#include "extern.h"
#include "s3.h"

/* Files up to this size are read once into memory and sent from there. */
#define SMALL_MAX	(1024 * 1024)
/* How often a file that keeps changing is read again before giving up. */
#define CHANGE_TRIES	3
#define HASH_CHUNK	(256 * 1024)

/* One upload_run. */
struct upload {
	struct run	*run;
	size_t		 next;		/* next action to start */
	struct mpfile	*mp;		/* multipart file being fed */
};

struct upjob {
	struct run	*run;
	struct entry	*e;
	char		*path;
	int		 fd;
	char		*data;		/* small files: the content */
	unsigned char	 md5[16];
	struct stat	 st;		/* the file as it was read */
	int		 tries;
	struct encoded	 enc;		/* --encrypt-key: the object */
	int		 encrypted;
};

static void upload_done(struct s3_call *, void *);

/*
 * The content type of "key" by its name's ending (a static string);
 * application/octet-stream otherwise.
 */
const char *
upload_ctype(const char *key)
{
	static const struct {
		const char *ext;
		const char *type;
	} types[] = {
		{ "txt", "text/plain" }, { "html", "text/html" },
		{ "htm", "text/html" }, { "css", "text/css" },
		{ "csv", "text/csv" }, { "md", "text/markdown" },
		{ "js", "text/javascript" }, { "json", "application/json" },
		{ "xml", "application/xml" }, { "pdf", "application/pdf" },
		{ "zip", "application/zip" }, { "gz", "application/gzip" },
		{ "tar", "application/x-tar" }, { "jpg", "image/jpeg" },
		{ "jpeg", "image/jpeg" }, { "png", "image/png" },
		{ "gif", "image/gif" }, { "svg", "image/svg+xml" },
		{ "webp", "image/webp" }, { "mp3", "audio/mpeg" },
		{ "mp4", "video/mp4" }, { "mov", "video/quicktime" },
	};
	const char *dot, *slash;
	size_t i;

	dot = strrchr(key, '.');
	slash = strrchr(key, '/');
	if (dot == NULL || (slash != NULL && dot < slash))
		return "application/octet-stream";
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(dot + 1, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

static int
upload_same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ino == b->st_ino && a->st_dev == b->st_dev;
}

/*
 * Read the file of job->st: into memory when small, else through MD5
 * only.  Returns 0 with job->md5 set, 1 when it did not read as
 * job->st's size, -1 on an error (reported).
 */
static int
upload_read(struct upjob *job)
{
	struct run *run = job->run;
	mbedtls_md5_context ctx;
	char *buf = NULL;
	uint64_t off = 0;
	ssize_t n;
	size_t want, cap;
	int small = 1, rc = -1;

	mbedtls_md5_init(&ctx);
	mbedtls_md5_starts_ret(&ctx);
	free(job->data);
	job->data = NULL;
	/*
	 * Small files are kept whole, to be sent from memory (one byte more
	 * than expected tells us the file grew); larger ones only pass
	 * through a chunk buffer on their way into the MD5.
	 */
	small = job->st.st_size <= SMALL_MAX;
	cap = small ? (size_t)job->st.st_size + 1 : HASH_CHUNK;
	buf = xmalloc(cap);
	if (small)
		job->data = buf;
	for (;;) {
		want = small ? cap - off : cap;
		if (want == 0)
			break;
		n = pread(job->fd, small ? buf + off : buf, want, off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			report_error(run->rep, job->e->key, "read: %s",
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		mbedtls_md5_update_ret(&ctx,
		    (unsigned char *)(small ? buf + off : buf), n);
		off += (uint64_t)n;
	}
	mbedtls_md5_finish_ret(&ctx, job->md5);
	rc = off == (uint64_t)job->st.st_size ? 0 : 1;
out:
	mbedtls_md5_free(&ctx);
	if (!small)
		free(buf);
	return rc;
}

/*
 * --encrypt-key: encode the file of job->st into the object to send
 * (encode.c), with a fresh data key each time.  Returns as upload_read.
 */
static int
upload_encode(struct upjob *job)
{
	struct run *run = job->run;
	char *okey, *why = NULL;
	int r;

	encoded_free(&job->enc);
	job->encrypted = 1;
	okey = list_object_key(run->cfg, job->e->key);
	r = encode_file(job->fd, (uint64_t)job->st.st_size, run->key, okey,
	    run->cfg->compress, SMALL_MAX, &job->enc, &why);
	free(okey);
	if (r == -1) {
		report_error(run->rep, job->e->key, "%s", why != NULL ? why :
		    "cannot be encrypted");
		free(why);
		return -1;
	}
	memcpy(job->md5, job->enc.md5, sizeof(job->md5));
	return r;
}

/*
 * A symlink (job->e->link): its target into job->data, never opening
 * it (link_read), its lstat into job->st, and with --encrypt-key the
 * target encoded like a file's content, through a scratch file.
 * Returns as upload_prepare.
 */
static int
upload_link(struct upjob *job)
{
	struct run *run = job->run;
	size_t len = 0;
	int r;

	free(job->data);
	if ((r = link_read(job->path, &job->st, &job->data, &len)) == -1) {
		report_error(run->rep, job->e->key, "%s", errno == EINVAL ?
		    "no longer a symbolic link" : errno == ENAMETOOLONG ?
		    "link target longer than 4095 bytes" : strerror(errno));
		return -1;
	}
	if (r == 1 || run->key == NULL) {
		mbedtls_md5_ret((unsigned char *)job->data, len, job->md5);
		return r;
	}
	if (job->fd != -1)
		close(job->fd);
	if ((job->fd = scratch_open("link")) == -1 ||
	    write(job->fd, job->data, len) != (ssize_t)len) {
		report_error(run->rep, job->e->key, "scratch file: %s",
		    strerror(errno));
		return -1;
	}
	return upload_encode(job);
}

/*
 * Read the file (upload_read) or encode it (upload_encode) as it stands
 * in job->st, and check that it stood still meanwhile; a symlink
 * through upload_link.  Returns 0; 1 when it changed; -1 on an error
 * (reported).
 */
static int
upload_prepare(struct upjob *job)
{
	struct run *run = job->run;
	struct stat after;
	int r;

	if (job->e->link)
		return upload_link(job);
	if (fstat(job->fd, &job->st) == -1) {
		report_error(run->rep, job->e->key, "%s", strerror(errno));
		return -1;
	}
	if (!S_ISREG(job->st.st_mode)) {
		report_error(run->rep, job->e->key, "no longer a regular file");
		return -1;
	}
	r = run->key != NULL ? upload_encode(job) : upload_read(job);
	if (r != 0)
		return r;
	if (fstat(job->fd, &after) == -1) {
		report_error(run->rep, job->e->key, "%s", strerror(errno));
		return -1;
	}
	return upload_same_stat(&job->st, &after) ? 0 : 1;
}

static void
upload_job_free(struct upjob *job)
{
	if (job == NULL)
		return;
	if (job->fd != -1)
		close(job->fd);
	encoded_free(&job->enc);
	free(job->data);
	free(job->path);
	free(job);
}

/* The job failed for good: count it. */
static void
upload_fail(struct upjob *job)
{
	run_failed(job->run, job->e, "upload",
	    report_error_of(job->run->rep, job->e->key));
	upload_job_free(job);
}

/*
 * Read (again) and submit the PutObject for "job".  Takes ownership of
 * the job: on failure it is reported, counted and freed.
 */
static void
upload_submit(struct upjob *job)
{
	struct run *run = job->run;
	const struct config *cfg = run->cfg;
	struct s3_call *c;
	char b64[32], mtime[32], *okey;
	int r;

	while ((r = upload_prepare(job)) == 1 && ++job->tries < CHANGE_TRIES)
		logmsg(1, "%s: changed while being read; reading it again",
		    job->e->key);
	if (r == 1)
		report_error(run->rep, job->e->key, "changed while being read "
		    "%d times; not backed up this run", CHANGE_TRIES);
	if (r != 0) {
		upload_fail(job);
		return;
	}
	md5_base64(job->md5, b64);
	mtime_format(job->st.st_mtim.tv_sec, job->st.st_mtim.tv_nsec, mtime);
	okey = list_object_key(cfg, job->e->key);
	if (job->encrypted) {
		c = s3_put_new(run->bucket, okey, job->enc.fd, job->enc.len,
		    b64, mtime, NULL);
		if (job->enc.mem != NULL) {
			c->body = job->enc.mem;
			c->body_len = job->enc.len;
		}
	} else {
		c = s3_put_new(run->bucket, okey, job->data != NULL ? -1 :
		    job->fd, job->st.st_size, b64, mtime,
		    upload_ctype(job->e->key));
		if (job->data != NULL) {
			c->body = job->data;
			c->body_len = job->st.st_size;
		}
	}
	free(okey);
	run_put_headers(run, c, job->encrypted, (uint64_t)job->st.st_size,
	    job->enc.hmac, &job->st);
	c->done = upload_done;
	c->arg = job;
	xfer_submit(s3_xfer(run->s3), c);
}

/* A directory marker: an empty object whose key ends in '/'. */
static void
upload_marker(struct upjob *job)
{
	struct s3_call *c;
	char mtime[32], *okey;

	mtime_format(job->e->lmtime_sec, job->e->lmtime_nsec, mtime);
	okey = list_object_key(job->run->cfg, job->e->key);
	/* MD5 of nothing, base64. */
	c = s3_put_new(job->run->bucket, okey, -1, 0,
	    "1B2M2Y8AsgTpgAmY7PhCfg==", mtime, "application/x-directory");
	free(okey);
	run_put_headers(job->run, c, 0, 0, NULL, NULL);
	c->body = "";
	c->body_len = 0;
	memcpy(job->md5, "\xd4\x1d\x8c\xd9\x8f\x00\xb2\x04"
	    "\xe9\x80\x09\x98\xec\xf8\x42\x7e", 16);
	job->st.st_size = 0;
	job->st.st_mtim.tv_sec = job->e->lmtime_sec;
	job->st.st_mtim.tv_nsec = job->e->lmtime_nsec;
	c->done = upload_done;
	c->arg = job;
	xfer_submit(s3_xfer(job->run->s3), c);
}

static void
upload_done(struct s3_call *c, void *arg)
{
	struct upjob *job = arg;
	struct run *run = job->run;
	struct entry *e = job->e;
	struct stat now;
	char md5hex[33], *etag = NULL;
	int64_t size;
	int changed;

	hex_encode(job->md5, 16, md5hex);
	if (!c->ok && c->err.code != NULL &&
	    strcmp(c->err.code, "BadDigest") == 0 &&
	    ++job->tries < CHANGE_TRIES) {
		/* The bytes sent were not the bytes hashed: the file changed. */
		logmsg(1, "%s: changed while being sent; sending it again",
		    e->key);
		s3_call_free(c);
		upload_submit(job);
		return;
	}
	if (!c->ok) {
		free(run_call_failed(run, e->key, c, "upload"));
		s3_call_free(c);
		upload_fail(job);
		return;
	}
	/*
	 * The server hashed what it received: an ETag that is an MD5 but not
	 * ours means it got other bytes than we hashed (the file changed
	 * under a streaming read).  Read it again and resend.  With SSE-KMS
	 * or SSE-C the ETag is no MD5: the server's Content-MD5 check
	 * stands for it, and the ETag is kept as listings will show it.
	 */
	if (c->etag != NULL && strlen(c->etag) == 32 &&
	    strcasecmp(c->etag, md5hex) != 0) {
		if (!sse_etag_is_md5(c) || sse_etags_not_md5(run->cfg))
			etag = xstrdup(c->etag);
		else {
			changed = !e->dir && !e->link && (fstat(job->fd, &now) == -1 ||
			    !upload_same_stat(&now, &job->st));
			s3_call_free(c);
			if (changed && ++job->tries < CHANGE_TRIES) {
				logmsg(1, "%s: changed while being sent; "
				    "sending it again", e->key);
				upload_submit(job);
				return;
			}
			report_error(run->rep, e->key, "the server's ETag does "
			    "not match the content sent%s", changed ?
			    " (file keeps changing)" : "");
			upload_fail(job);
			return;
		}
	}
	s3_call_free(c);
	size = job->encrypted ? (int64_t)job->enc.len : job->st.st_size;
	run->rep->sent_bytes += (uint64_t)size;
	run_uploaded(run, e, size, &job->st, job->encrypted, job->enc.hmac,
	    etag != NULL ? etag : md5hex, job->md5);
	free(etag);
	report_progress(run->rep, 0);
	upload_job_free(job);
}

/*
 * "e" is skipped: its object is in the bucket already.  A resume
 * journal of its file may be left over (journal_forget); abort the
 * upload of a stale one.
 */
static void
upload_forget(struct run *run, struct entry *e)
{
	char *endpoint, *okey, *stale;

	if (e->dir || e->lsize <= 0 ||
	    (uint64_t)e->lsize < run->cfg->multipart_threshold)
		return;
	endpoint = run_endpoint(run);
	okey = list_object_key(run->cfg, e->key);
	journal_forget(endpoint, run->bucket, okey, (uint64_t)e->lsize,
	    e->lmtime_sec, e->lmtime_nsec, multipart_part_size(run,
	    (uint64_t)e->lsize), e->key, &stale);
	if (stale != NULL)
		multipart_abort(run, okey, stale);
	free(stale);
	free(endpoint);
	free(okey);
}

/* Engine callback: start the next planned upload, if any. */
static int
upload_feed(void *arg)
{
	struct upload *up = arg;
	struct run *run = up->run;
	struct action *a;
	struct upjob *job;
	struct stat st;
	int fd;

	if (up->mp != NULL)
		return multipart_feed(&up->mp);
	while (up->next < run->plan->n && !run->fatal) {
		a = &run->plan->v[up->next++];
		if (a->act == ACT_SKIP)
			upload_forget(run, a->e);
		if (a->act != ACT_UPLOAD)
			continue;
		job = xcalloc(1, sizeof(*job));
		job->run = run;
		job->e = a->e;
		job->fd = -1;
		job->enc.fd = -1;	/* encoded_free closes fds >= 0 */
		if (a->e->dir) {
			upload_marker(job);
			return 1;
		}
		if (a->e->link) {
			job->path = xasprintf("%s/%.*s", run->root,
			    (int)(ENTRY_KEYLEN(a->e) - LINK_SUFFIX_LEN),
			    a->e->key);
			upload_submit(job);
			return 1;
		}
		job->path = xasprintf("%s/%s", run->root, a->e->key);
		job->fd = file_open(job->path, run->cfg->follow_symlinks);
		if (job->fd == -1) {
			report_error(run->rep, a->e->key, "%s", errno == ELOOP ?
			    "is now a symbolic link" : strerror(errno));
			upload_fail(job);
			continue;
		}
		if (fstat(job->fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    (uint64_t)st.st_size >= run->cfg->multipart_threshold) {
			/* Large: parts, resumable; the job hands over its fd. */
			fd = job->fd;
			job->fd = -1;
			upload_job_free(job);
			if ((up->mp = multipart_begin(run, a->e, fd, &st)) ==
			    NULL)
				continue;
			return multipart_feed(&up->mp);
		}
		upload_submit(job);
		return 1;
	}
	return 0;
}

/*
 * Upload every ACT_UPLOAD entry of run->plan through the transfer
 * engine, at most cfg->jobs at once; files from cfg->multipart_threshold
 * on in parts (multipart.c).  Successful uploads update the entry's
 * remote side (size, MD5, mtime) and the report; failures are reported
 * and counted in rep->failed.  A skipped file's finished or stale resume
 * journal is cleared (journal_forget).  Returns 0, or -1 when a fatal
 * error (credentials, bucket, network after retries) stopped the run
 * (reported).
 */
int
upload_run(struct run *run)
{
	struct upload up;
	int rc;

	memset(&up, 0, sizeof(up));
	up.run = run;
	run->fatal = 0;
	xfer_set_feed(s3_xfer(run->s3), upload_feed, &up);
	rc = xfer_run(s3_xfer(run->s3));
	/* Join the read-ahead thread before the engine goes away. */
	multipart_stop(&up.mp);
	if (rc == -1)
		return -1;
	report_progress(run->rep, 1);
	return run->fatal ? -1 : 0;
}
