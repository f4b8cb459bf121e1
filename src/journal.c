/*
 * The resume journal: what an interrupted multipart upload has stored,
 * so that the next run goes on from there.  One file per upload under
 * state_dir(), named by the SHA-256 of "ENDPOINT\0BUCKET\0KEY", valid
 * only for the file's size, mtime and part size recorded in it.  It is
 * replaced atomically (temporary file, fsync, rename, fsync of the
 * directory), so a SIGKILL or a power loss leaves the old or the new.
 *
 * Format: lines ending in '\n', strings percent-encoded as for SigV4
 * (no spaces or newlines left), numbers in decimal, fields in order:
 *
 *	p3backup-journal 1
 *	endpoint ENDPOINT
 *	bucket BUCKET
 *	key KEY
 *	upload_id UPLOADID
 *	size BYTES
 *	mtime SEC.NSEC		(NSEC nine digits)
 *	part_size BYTES
 *	nparts N		(ceil(size / part_size))
 *	root DIRECTORY		(optional: the backed-up directory's real
 *				 path, for journal_sweep...)
 *	prefix PREFIX		(...and the run's --prefix, maybe empty;
 *				 present when root is)
 *	crypt HEX		(--encrypt-key only: the data key and the
 *				 object's header, doc/encryption.md)
 *	PARTNUMBER MD5HEX	(one per stored part, increasing)
 *	PARTNUMBER MD5HEX sent	(encrypted uploads: a part about to be sent,
 *				 recorded first, not acknowledged yet)
 *
 * The crypt line lets the next run seal the same bytes again; the file
 * is mode 0600, and the data key only opens an object whose plaintext
 * this host holds anyway.
 *
 * The identity is checked before the upload id is trusted, so a copied
 * or colliding file never hands back another key's upload.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>

#include "extern.h"

#define JOURNAL_MAGIC	"p3backup-journal 1"
/* Far above 10,000 part lines and three 1 KiB names, encoded. */
#define JOURNAL_MAX	(1024 * 1024)

/*
 * Read the file at "path" into "text".  Returns 1, 0 when there is no
 * file, -1 on an error (reported).  Stops past JOURNAL_MAX bytes.
 */
static int
journal_read(const char *path, struct buf *text)
{
	char chunk[8192];
	struct stat st;
	ssize_t n = 0;
	int fd, rc = -1;

	buf_append(text, "", 0);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			rc = 0;
		else
			warn("%s", path);
		goto out;
	}
	/* One allocation: the text may hold a data key (no stale copies). */
	if (fstat(fd, &st) == 0 && st.st_size > 0 && st.st_size <= JOURNAL_MAX)
		buf_reserve(text, (size_t)st.st_size + sizeof(chunk));
	while (text->len <= JOURNAL_MAX &&
	    (n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(text, chunk, (size_t)n);
	if (n == -1) {
		warn("%s", path);
		goto out;
	}
	rc = 1;
out:
	mbedtls_platform_zeroize(chunk, sizeof(chunk));
	if (fd != -1)
		close(fd);
	return rc;
}

/*
 * The next complete line of *p without its '\n', or NULL.  With "name",
 * the value of a line "name value", or NULL for any other line.
 */
static char *
journal_line(char **p, const char *name)
{
	char *line = *p, *nl;
	size_t n;

	if ((nl = strchr(line, '\n')) == NULL)
		return NULL;
	*nl = '\0';
	*p = nl + 1;
	if (name == NULL)
		return line;
	n = strlen(name);
	return strncmp(line, name, n) == 0 && line[n] == ' ' ? line + n + 1 :
	    NULL;
}

/* 1 when "enc" is exactly the encoding of "s". */
static int
journal_encodes(const char *enc, const char *s, size_t len)
{
	char *want;
	int same;

	want = uri_encode(s, len, 0);
	same = strcmp(enc, want) == 0;
	free(want);
	return same;
}

/* The MD5 lines after "nparts": "N MD5HEX [sent]", N increasing. */
static const char *
journal_parse_parts(char *p, struct journal *old)
{
	uint64_t num, last = 0;
	char *line, *hex, *sent;

	while (*p != '\0') {
		if ((line = journal_line(&p, NULL)) == NULL)
			return "truncated part line";
		if ((hex = strchr(line, ' ')) == NULL)
			return "bad part line";
		*hex++ = '\0';
		if ((sent = strchr(hex, ' ')) != NULL) {
			*sent++ = '\0';
			if (strcmp(sent, "sent") != 0)
				return "bad part line";
		}
		if (decimal_parse(line, old->nparts, &num) == -1 ||
		    num <= last)
			return "part number out of range or out of order";
		if (strlen(hex) != 32 ||
		    hex_decode(hex, 16, old->md5s + (num - 1) * 16) == -1)
			return "bad part MD5";
		if (sent != NULL)
			old->sealed[num - 1] = 1;
		else
			old->done[num - 1] = PART_STORED;
		last = num;
	}
	return NULL;
}

/* The "crypt HEX" line into old->crypt. */
static const char *
journal_parse_crypt(char **p, struct journal *old)
{
	char *hex;
	size_t len;

	if ((hex = journal_line(p, "crypt")) == NULL)
		return "truncated crypt line";
	len = strlen(hex);
	if (len == 0 || len % 2 != 0 || len / 2 > 32 + CRYPT_MAX_HDR)
		return "bad crypt line";
	old->crypt = xmalloc(len / 2);
	old->crypt_len = len / 2;
	if (hex_decode(hex, len / 2, old->crypt) == -1)
		return "bad crypt line";
	return NULL;
}

/*
 * Parse "text" (modified) as the journal of j's identity into "old".
 * Returns NULL, or what is wrong; old->upload_id is set as soon as it
 * was read, even when a later line is wrong.
 */
static const char *
journal_parse(const struct journal *j, struct buf *text, struct journal *old)
{
	struct buf id = { NULL, 0, 0 };
	const char *why = NULL;
	char *p = text->data, *v, *dot;
	uint64_t n, nsec;

	if (text->len > JOURNAL_MAX || strlen(text->data) != text->len) {
		why = "too large or holds a NUL byte";
		goto out;
	}
	if ((v = journal_line(&p, NULL)) == NULL || strcmp(v, JOURNAL_MAGIC) != 0) {
		why = "not a version 1 journal";
		goto out;
	}
	if ((v = journal_line(&p, "endpoint")) == NULL ||
	    !journal_encodes(v, j->endpoint, strlen(j->endpoint)) ||
	    (v = journal_line(&p, "bucket")) == NULL ||
	    !journal_encodes(v, j->bucket, strlen(j->bucket)) ||
	    (v = journal_line(&p, "key")) == NULL ||
	    !journal_encodes(v, j->key, strlen(j->key))) {
		why = "not the journal of this endpoint, bucket and key";
		goto out;
	}
	if ((v = journal_line(&p, "upload_id")) == NULL ||
	    url_decode(&id, v, strlen(v), 0) == -1 || id.len == 0 ||
	    !journal_encodes(v, id.data, id.len)) {
		why = "bad upload id";
		goto out;
	}
	old->upload_id = xstrdup(id.data);
	why = "bad size, mtime or part size";
	if ((v = journal_line(&p, "size")) == NULL ||
	    decimal_parse(v, UINT64_MAX, &old->size) == -1 ||
	    (v = journal_line(&p, "mtime")) == NULL)
		goto out;
	if ((dot = strchr(v, '.')) == NULL || strlen(dot + 1) != 9)
		goto out;
	*dot = '\0';
	if (decimal_parse(dot + 1, 999999999, &nsec) == -1 ||
	    decimal_parse(v + (*v == '-'), INT64_MAX, &n) == -1)
		goto out;
	old->mtime_sec = *v == '-' ? -(int64_t)n : (int64_t)n;
	old->mtime_nsec = (int32_t)nsec;
	if ((v = journal_line(&p, "part_size")) == NULL ||
	    decimal_parse(v, UINT64_MAX, &old->part_size) == -1 ||
	    old->part_size == 0 ||
	    (v = journal_line(&p, "nparts")) == NULL ||
	    decimal_parse(v, MP_MAX_PARTS, &n) == -1 ||
	    n != old->size / old->part_size + (old->size % old->part_size != 0))
		goto out;
	old->nparts = (uint32_t)n;
	/* Whose run it was matters to journal_sweep alone. */
	if (strncmp(p, "root ", 5) == 0)
		(void)journal_line(&p, "root");
	if (strncmp(p, "prefix ", 7) == 0)
		(void)journal_line(&p, "prefix");
	old->md5s = xcalloc(old->nparts, 16);
	old->done = xcalloc(old->nparts, 1);
	old->sealed = xcalloc(old->nparts, 1);
	if (strncmp(p, "crypt ", 6) == 0 &&
	    (why = journal_parse_crypt(&p, old)) != NULL)
		goto out;
	why = journal_parse_parts(p, old);
out:
	buf_free(&id);
	return why;
}

/*
 * Remove "PATH.tmp.PID" files of journal_save whose process is gone: a
 * kill -9 between their creation and the rename leaves them behind.
 */
static void
journal_clean_tmp(const char *path)
{
	struct dirent *de;
	const char *base = strrchr(path, '/') + 1, *p;
	char *dir, *end;
	size_t blen = strlen(base);
	long pid;
	DIR *d;
	int dfd;

	dir = xstrndup(path, (size_t)(base - 1 - path));
	d = opendir(dir);
	free(dir);
	if (d == NULL)
		return;
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, base, blen) != 0 ||
		    strncmp(de->d_name + blen, ".tmp.", 5) != 0)
			continue;
		p = de->d_name + blen + 5;
		errno = 0;
		pid = strtol(p, &end, 10);
		if (*p == '\0' || *end != '\0' || errno != 0 || pid <= 0 ||
		    pid == (long)getpid())
			continue;
		if (kill((pid_t)pid, 0) == -1 && errno == ESRCH)
			(void)unlinkat(dfd, de->d_name, 0);
	}
	closedir(d);
}

/*
 * Lock "path" (created 0600): the fd, JOURNAL_BUSY when another process
 * holds it, or -1 (reported).  A lock file is removed by its holder
 * (journal_free, once the journal is gone), so one locked after its
 * removal is the wrong file: the inode must still be the one at "path".
 */
static int
journal_lock(const char *path)
{
	struct stat a, b;
	int fd, tries, saved;

	for (tries = 0; tries < 5; tries++) {
		fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		    0600);
		if (fd == -1) {
			warn("%s", path);
			return -1;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
			saved = errno;
			close(fd);
			if (saved == EWOULDBLOCK)
				return JOURNAL_BUSY;
			errno = saved;
			warn("%s", path);
			return -1;
		}
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
		    a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			return fd;
		close(fd);
	}
	return JOURNAL_BUSY;
}

/*
 * Set up "j" for the upload of "key" from a file of the given size and
 * mtime, in parts of "part_size".  If a journal for the same endpoint,
 * bucket and key exists and matches size, mtime and part size, its
 * upload id, stored parts and data key are loaded and 1 is returned; if
 * one exists but does not match (or is malformed: warned about), its
 * upload id, if any, is put in *stale_id (caller frees; the caller
 * aborts that upload), the file is removed and 0 is returned; 0 when
 * there is none.  The state directory is created (state_ready).  The
 * journal is locked (flock on "HASH.lock") until journal_free.  Returns
 * JOURNAL_BUSY, without a message, when another run holds it; -1 on an
 * error (reported: the parts do not fit MP_MAX_PARTS, the directory, the
 * file).  On JOURNAL_BUSY or -1 "j" is left freed; otherwise the caller
 * frees it with journal_free.
 */
int
journal_open(struct journal *j, const char *endpoint, const char *bucket,
    const char *key, uint64_t size, int64_t mtime_sec, int32_t mtime_nsec,
    uint64_t part_size, char **stale_id)
{
	struct buf text = { NULL, 0, 0 }, ident = { NULL, 0, 0 };
	struct journal old;
	char hash[65], *dir = NULL, *name = NULL;
	const char *why;
	int rc = -1, found;

	*stale_id = NULL;
	memset(j, 0, sizeof(*j));
	memset(&old, 0, sizeof(old));
	j->endpoint = xstrdup(endpoint);
	j->bucket = xstrdup(bucket);
	j->key = xstrdup(key);
	j->size = size;
	j->mtime_sec = mtime_sec;
	j->mtime_nsec = mtime_nsec;
	j->part_size = part_size;
	if (part_size == 0 ||
	    size / part_size + (size % part_size != 0) > MP_MAX_PARTS) {
		name = printable(key);
		warnx("journal: %s: part size %" PRIu64 " does not fit",
		    name, part_size);
		goto out;
	}
	j->nparts = (uint32_t)(size / part_size + (size % part_size != 0));
	j->md5s = xcalloc(j->nparts, 16);
	j->done = xcalloc(j->nparts, 1);
	j->sealed = xcalloc(j->nparts, 1);
	if ((dir = state_ready()) == NULL)
		goto out;
	buf_append(&ident, endpoint, strlen(endpoint) + 1);
	buf_append(&ident, bucket, strlen(bucket) + 1);
	buf_append(&ident, key, strlen(key));
	sha256_hex(ident.data, ident.len, hash);
	j->path = xasprintf("%s/%s.journal", dir, hash);
	/* One run at a time per journal: a second would fight over it. */
	j->lock = xasprintf("%s/%s.lock", dir, hash);
	if ((j->lockfd = journal_lock(j->lock)) < 0) {
		rc = j->lockfd;
		free(j->lock);
		j->lock = NULL;
		goto out;
	}
	journal_clean_tmp(j->path);
	if ((found = journal_read(j->path, &text)) == -1)
		goto out;
	rc = 0;
	if (found == 0)
		goto out;
	if ((why = journal_parse(j, &text, &old)) != NULL)
		warnx("%s: %s; journal discarded", j->path, why);
	else if (old.size == size && old.mtime_sec == mtime_sec &&
	    old.mtime_nsec == mtime_nsec && old.part_size == part_size) {
		/* Same size and part size: the same number of parts. */
		j->upload_id = old.upload_id;
		old.upload_id = NULL;
		memcpy(j->md5s, old.md5s, (size_t)j->nparts * 16);
		memcpy(j->done, old.done, j->nparts);
		memcpy(j->sealed, old.sealed, j->nparts);
		j->crypt = old.crypt;
		j->crypt_len = old.crypt_len;
		old.crypt = NULL;
		rc = 1;
		goto out;
	}
	/*
	 * The file changed (the caller reports it) or the journal is bad:
	 * the caller aborts the old upload, whose parts would otherwise cost.
	 */
	*stale_id = old.upload_id;
	old.upload_id = NULL;
	journal_remove(j);
out:
	if (rc < 0)
		journal_free(j);
	journal_free(&old);
	if (text.data != NULL)
		mbedtls_platform_zeroize(text.data, text.len);
	buf_free(&text);
	buf_free(&ident);
	free(name);
	free(dir);
	return rc;
}

/* The journal's text into "text". */
static void
journal_format(const struct journal *j, struct buf *text)
{
	char *ep, *bucket, *key, *id, *line, hex[33];
	uint32_t i;

	ep = uri_encode(j->endpoint, strlen(j->endpoint), 0);
	bucket = uri_encode(j->bucket, strlen(j->bucket), 0);
	key = uri_encode(j->key, strlen(j->key), 0);
	id = uri_encode(j->upload_id, strlen(j->upload_id), 0);
	/* One allocation: the text may hold a data key (no stale copies). */
	buf_reserve(text, 4 * (strlen(ep) + strlen(bucket) + strlen(key) +
	    strlen(id)) + (j->root != NULL ? 3 * strlen(j->root) : 0) +
	    (j->prefix != NULL ? 3 * strlen(j->prefix) : 0) +
	    2 * j->crypt_len + (size_t)j->nparts * 48 + 512);
	line = xasprintf(JOURNAL_MAGIC "\nendpoint %s\nbucket %s\nkey %s\n"
	    "upload_id %s\nsize %" PRIu64 "\nmtime %" PRId64 ".%09" PRId32
	    "\npart_size %" PRIu64 "\nnparts %" PRIu32 "\n", ep, bucket, key,
	    id, j->size, j->mtime_sec, j->mtime_nsec, j->part_size, j->nparts);
	buf_append(text, line, strlen(line));
	free(line);
	if (j->root != NULL) {
		line = uri_encode(j->root, strlen(j->root), 0);
		buf_append(text, "root ", 5);
		buf_append(text, line, strlen(line));
		free(line);
		line = uri_encode(j->prefix != NULL ? j->prefix : "",
		    j->prefix != NULL ? strlen(j->prefix) : 0, 0);
		buf_append(text, "\nprefix ", 8);
		buf_append(text, line, strlen(line));
		buf_append(text, "\n", 1);
		free(line);
	}
	if (j->crypt != NULL) {
		line = xmalloc(2 * j->crypt_len + 1);
		hex_encode(j->crypt, j->crypt_len, line);
		buf_append(text, "crypt ", 6);
		buf_append(text, line, 2 * j->crypt_len);
		buf_append(text, "\n", 1);
		mbedtls_platform_zeroize(line, 2 * j->crypt_len);
		free(line);
	}
	for (i = 0; i < j->nparts; i++) {
		if (!j->done[i] && !j->sealed[i])
			continue;
		hex_encode(&j->md5s[i * 16], 16, hex);
		line = xasprintf("%" PRIu32 " %s%s\n", i + 1, hex,
		    j->done[i] ? "" : " sent");
		buf_append(text, line, strlen(line));
		free(line);
	}
	free(ep);
	free(bucket);
	free(key);
	free(id);
}

/*
 * Write the journal atomically (temporary file, fsync, rename, fsync of
 * the directory); nothing is written before there is an upload id.
 * Returns 0, or -1 (reported).
 */
int
journal_save(struct journal *j)
{
	struct buf text = { NULL, 0, 0 };
	char *tmp = NULL, *dir = NULL;
	int fd = -1, dfd = -1, rc = -1;
	ssize_t n = 0;
	size_t off;

	if (j->upload_id == NULL) {
		rc = 0;
		goto out;
	}
	journal_format(j, &text);
	tmp = xasprintf("%s.tmp.%ld", j->path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	for (off = 0; fd != -1 && off < text.len; off += (size_t)n)
		if ((n = write(fd, text.data + off, text.len - off)) == -1)
			break;
	if (fd == -1 || n == -1 || fsync(fd) == -1) {
		warn("%s", tmp);
		goto out;
	}
	n = close(fd);
	fd = -1;
	if (n == -1 || rename(tmp, j->path) == -1) {
		warn("%s", j->path);
		goto out;
	}
	free(tmp);
	tmp = NULL;
	/* Make the rename itself durable; EINVAL: cannot sync directories. */
	dir = xstrndup(j->path, (size_t)(strrchr(j->path, '/') - j->path));
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (fsync(dfd) == -1 && errno != EINVAL)) {
		warn("%s", dir);
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (dfd != -1)
		close(dfd);
	if (tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(dir);
	/* It may hold a data key. */
	if (text.data != NULL)
		mbedtls_platform_zeroize(text.data, text.len);
	buf_free(&text);
	return rc;
}

/*
 * Remove the journal file (the upload completed or was aborted) and any
 * temporary file of it; a missing file is fine, other errors are warned
 * about.  The lock file goes at journal_free.
 */
void
journal_remove(struct journal *j)
{
	if (j->path != NULL && unlink(j->path) == -1 && errno != ENOENT)
		warn("%s", j->path);
	if (j->path != NULL)
		journal_clean_tmp(j->path);

}

/*
 * Release the lock (removing the lock file when the journal is gone),
 * free everything "j" owns, wiping the data key, and zero it; accepts
 * NULL or a zeroed struct.
 */
void
journal_free(struct journal *j)
{
	if (j == NULL)
		return;
	if (j->lock != NULL) {
		/*
		 * No journal left (completed, aborted): its lock file goes
		 * too, removed while still held, so that a run which opened
		 * it meanwhile finds another inode there (journal_lock).
		 */
		if (j->path != NULL && access(j->path, F_OK) == -1 &&
		    errno == ENOENT)
			(void)unlink(j->lock);
		close(j->lockfd);
	}
	free(j->lock);
	free(j->path);
	free(j->root);
	free(j->prefix);
	free(j->endpoint);
	free(j->bucket);
	free(j->key);
	free(j->upload_id);
	free(j->md5s);
	free(j->done);
	free(j->sealed);
	if (j->crypt != NULL)
		mbedtls_platform_zeroize(j->crypt, j->crypt_len);
	free(j->crypt);
	memset(j, 0, sizeof(*j));
}

/*
 * A file of "size" bytes and this mtime, uploaded as "key" in parts of
 * "part_size", needs no upload this run (the plan skips it): remove its
 * journal when every part is stored (a kill between
 * CompleteMultipartUpload and the journal's removal left it; no later run
 * would touch it; said with -v).  One for another version of the file is
 * removed by journal_open and its upload id put in *stale_id (caller
 * frees, and aborts that upload).  One with parts missing is left to
 * resume.  "name" names the file in messages.  Does nothing when there
 * is no journal directory.
 */
void
journal_forget(const char *endpoint, const char *bucket, const char *key,
    uint64_t size, int64_t mtime_sec, int32_t mtime_nsec,
    uint64_t part_size, const char *name, char **stale_id)
{
	struct journal j;
	char *dir;
	uint32_t i, stored = 0;
	int r;

	*stale_id = NULL;
	/* No journal directory: nothing to forget, and nothing to create. */
	dir = state_dir();
	r = dir != NULL && access(dir, F_OK) == 0;
	free(dir);
	if (!r)
		return;
	r = journal_open(&j, endpoint, bucket, key, size, mtime_sec,
	    mtime_nsec, part_size, stale_id);
	if (r == 1) {
		for (i = 0; i < j.nparts; i++)
			stored += j.done[i] != 0;
		if (stored == j.nparts) {
			logmsg(1, "%s: removed the journal of an upload completed "
			    "by an interrupted run", name);
			journal_remove(&j);
		}
	}
	if (r != -1)
		journal_free(&j);
}

/*
 * The identity lines of a journal's "text" (modified): endpoint, bucket,
 * key, upload id and root, decoded into "out" (caller frees).  0, or -1
 * when it is no journal of ours.
 */
static int
journal_ident(struct buf *text, struct journal *out)
{
	static const char *const name[] = { "endpoint", "bucket", "key",
	    "upload_id" };
	char **slot[] = { &out->endpoint, &out->bucket, &out->key,
	    &out->upload_id };
	struct buf d = { NULL, 0, 0 };
	char *p = text->data, *v;
	size_t i;
	int rc = -1;

	if (strlen(text->data) != text->len ||
	    (v = journal_line(&p, NULL)) == NULL || strcmp(v, JOURNAL_MAGIC) != 0)
		return -1;
	for (i = 0; i < 4; i++) {
		if ((v = journal_line(&p, name[i])) == NULL)
			goto out;
		buf_reset(&d);
		if (url_decode(&d, v, strlen(v), 0) == -1)
			goto out;
		*slot[i] = xstrdup(d.data);
	}
	/* size, mtime, part_size, nparts, then the optional root. */
	for (i = 0; i < 4; i++)
		if (journal_line(&p, NULL) == NULL)
			goto out;
	if (strncmp(p, "root ", 5) == 0) {
		v = journal_line(&p, "root");
		buf_reset(&d);
		if (v == NULL || url_decode(&d, v, strlen(v), 0) == -1)
			goto out;
		out->root = xstrdup(d.data);
		v = journal_line(&p, "prefix");
		buf_reset(&d);
		if (v == NULL || url_decode(&d, v, strlen(v), 0) == -1)
			goto out;
		out->prefix = xstrdup(d.data);
	}
	rc = 0;
out:
	buf_free(&d);
	return rc;
}

/*
 * Journals of uploads that are gone: every journal of "endpoint",
 * "bucket", "root" (DIRECTORY's real path) and "prefix" (--prefix, ""
 * for none) for which gone(arg, KEY without "PREFIX/") holds is removed
 * (unless another run holds its lock), after which abort_fn(arg, KEY,
 * UPLOADID) lets the caller abort its upload.  Journals written before
 * they recorded their root are left alone, as are those another run
 * holds and those that cannot be read or locked (warned about).
 */
void
journal_sweep(const char *endpoint, const char *bucket, const char *root,
    const char *prefix, int (*gone)(void *, const char *),
    void (*abort_fn)(void *, const char *, const char *), void *arg)
{
	struct buf text = { NULL, 0, 0 };
	struct journal j;
	struct dirent *de;
	char *dir, *path, *lock;
	/* The key's "PREFIX/", when there is a prefix. */
	size_t plen = *prefix != '\0' ? strlen(prefix) + 1 : 0;
	int fd;
	DIR *d;

	if ((dir = state_dir()) == NULL || (d = opendir(dir)) == NULL) {
		free(dir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != 64 + 8 ||
		    strcmp(de->d_name + 64, ".journal") != 0)
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		lock = xasprintf("%s/%.64s.lock", dir, de->d_name);
		memset(&j, 0, sizeof(j));
		/*
		 * Journals are replaced by rename, so one is read whole
		 * without its lock; only a journal to sweep is locked (a run
		 * using it is never swept from under), and other runs'
		 * journals get no lock file of ours.
		 */
		fd = -1;
		if (journal_read(path, &text) == 1 &&
		    journal_ident(&text, &j) == 0 && j.root != NULL &&
		    strcmp(j.endpoint, endpoint) == 0 &&
		    strcmp(j.bucket, bucket) == 0 && strcmp(j.root, root) == 0 &&
		    strcmp(j.prefix, prefix) == 0 && strlen(j.key) > plen &&
		    gone(arg, j.key + plen) &&
		    (fd = journal_lock(lock)) >= 0) {
			if (unlink(path) == 0) {
				abort_fn(arg, j.key, j.upload_id);
				journal_clean_tmp(path);
			}
			(void)unlink(lock);
		}
		if (fd >= 0)
			close(fd);
		if (text.data != NULL)
			mbedtls_platform_zeroize(text.data, text.len);
		buf_free(&text);
		journal_free(&j);
		free(path);
		free(lock);
	}
	closedir(d);
	free(dir);
}
