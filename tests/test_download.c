/*
 * Unit tests for download.c and fsutil.c: which keys may be written
 * under the root, the HTTP date of Last-Modified, what S3's answers
 * mean for an archived object (from the saved error documents in
 * tests/data/xml, see SOURCE there), the RestoreObject body, the
 * symlink-safe directory walk and the temporary files, and a
 * download_run that needs no server: refused keys, a symlink in the
 * target tree, a directory marker, and a GET to a closed port that
 * leaves no temporary file behind.  s3rver never answers as S3 does
 * for archived objects, so a small HTTP server in a thread plays S3
 * for those answers (InvalidObjectState, RestoreObject 202 and 409),
 * for Last-Modified without x-amz-meta-mtime, and for content that is
 * not what was asked for.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"
#include "s3.h"
#include "tap.h"

#define HELLO_MD5	"5d41402abc4b2a76b9719d911017c592"
#define BIG		(6 * 1024 * 1024)

static char tmpdir[4096];

/* One canned answer of the fake server, for requests whose line has "match". */
struct answer {
	const char	*match;
	const char	*status;	/* "403 Forbidden" */
	const char	*headers;	/* extra lines, each ending in CRLF */
	const char	*fixture;	/* body from tests/data/xml, or NULL */
	const char	*body;		/* else this body; NULL: BIG bytes */
};

static const struct answer answers[] = {
	{ "GET /bkt/cold.bin ", "403 Forbidden", "", "invalid-object-state.xml",
	    NULL },
	{ "POST /bkt/cold.bin?restore= ", "202 Accepted", "", NULL, "" },
	{ "GET /bkt/busy.bin ", "403 Forbidden", "",
	    "invalid-object-state-tiering.xml", NULL },
	{ "POST /bkt/busy.bin?restore= ", "409 Conflict", "",
	    "restore-in-progress.xml", NULL },
	{ "GET /bkt/old.txt ", "200 OK", "ETag: \"" HELLO_MD5 "\"\r\n"
	    "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n", NULL, "hello" },
	{ "GET /bkt/bad.txt ", "200 OK", "ETag: \"" HELLO_MD5 "\"\r\n", NULL,
	    "hellx" },
	{ "GET /bkt/short.txt ", "200 OK", "", NULL, "hello" },
	{ "GET /bkt/norange.bin ", "200 OK", "", NULL, NULL },
};

/* The fake S3: one request per connection, answered from answers[]. */
struct fake {
	int		 lfd;
	int		 port;
	pthread_t	 tid;
	int		 stop;
	char		 *big;
	pthread_mutex_t	 lock;
	struct buf	 log;		/* request lines and POST bodies */
};

static void
bail(const char *what, const char *path)
{
	printf("Bail out! %s %s: %s\n", what, path, strerror(errno));
	exit(99);
}

/* Read one request from "fd" into "req": headers and body. */
static int
fake_read(int fd, struct buf *req)
{
	char chunk[4096], *end, *cl;
	size_t want = 0, hlen;
	ssize_t n;

	for (;;) {
		if ((end = strstr(req->data != NULL ? req->data : "",
		    "\r\n\r\n")) != NULL) {
			hlen = end + 4 - req->data;
			cl = strcasestr(req->data, "\ncontent-length:");
			want = cl != NULL && cl < end ?
			    strtoul(cl + 16, NULL, 10) : 0;
			if (req->len >= hlen + want)
				return 0;
		}
		if ((n = read(fd, chunk, sizeof(chunk))) <= 0)
			return -1;
		buf_append(req, chunk, (size_t)n);
	}
}

static void *
fake_serve(void *arg)
{
	struct fake *fk = arg;
	struct buf req, out;
	const struct answer *a;
	const char *body;
	char *doc = NULL, *head, *eol;
	size_t i, len;
	int fd;

	memset(&req, 0, sizeof(req));
	memset(&out, 0, sizeof(out));
	while ((fd = accept(fk->lfd, NULL, NULL)) != -1 && !fk->stop) {
		buf_reset(&req);
		buf_reset(&out);
		if (fake_read(fd, &req) == -1) {
			close(fd);
			continue;
		}
		eol = strstr(req.data, "\r\n");
		pthread_mutex_lock(&fk->lock);
		buf_append(&fk->log, req.data, eol - req.data);
		buf_append(&fk->log, "\n", 1);
		if (strncmp(req.data, "POST ", 5) == 0) {
			body = strstr(req.data, "\r\n\r\n") + 4;
			buf_append(&fk->log, body, strlen(body));
			buf_append(&fk->log, "\n", 1);
		}
		pthread_mutex_unlock(&fk->lock);
		for (i = 0, a = NULL; i < sizeof(answers) / sizeof(answers[0]);
		    i++)
			if (strncmp(req.data, answers[i].match,
			    strlen(answers[i].match)) == 0)
				a = &answers[i];
		if (a == NULL) {
			head = xasprintf("HTTP/1.1 404 Not Found\r\n"
			    "Content-Length: 0\r\nConnection: close\r\n\r\n");
			body = "";
			len = 0;
		} else {
			doc = a->fixture != NULL ?
			    tap_fixture("xml", a->fixture, &len) : NULL;
			body = doc != NULL ? doc : a->body != NULL ? a->body :
			    fk->big;
			if (doc == NULL)
				len = a->body != NULL ? strlen(a->body) : BIG;
			head = xasprintf("HTTP/1.1 %s\r\nContent-Length: %zu\r\n"
			    "Connection: close\r\n%s\r\n", a->status, len,
			    a->headers);
		}
		buf_append(&out, head, strlen(head));
		buf_append(&out, body, len);
		(void)!write(fd, out.data, out.len);
		close(fd);
		free(head);
		free(doc);
		doc = NULL;
	}
	if (fd != -1)
		close(fd);
	buf_free(&req);
	buf_free(&out);
	return NULL;
}

static void
fake_start(struct fake *fk)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);

	memset(fk, 0, sizeof(*fk));
	pthread_mutex_init(&fk->lock, NULL);
	fk->big = xcalloc(1, BIG);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fk->lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(fk->lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fk->lfd, 16) == -1 ||
	    getsockname(fk->lfd, (struct sockaddr *)&sin, &slen) == -1)
		bail("cannot listen", "127.0.0.1");
	fk->port = ntohs(sin.sin_port);
	if (pthread_create(&fk->tid, NULL, fake_serve, fk) != 0)
		bail("cannot start", "the fake server");
}

/* Wake the server out of accept() with one last connection, and wait. */
static void
fake_stop(struct fake *fk)
{
	struct sockaddr_in sin;
	int fd;

	fk->stop = 1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(fk->port);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) != -1) {
		(void)connect(fd, (struct sockaddr *)&sin, sizeof(sin));
		close(fd);
	}
	pthread_join(fk->tid, NULL);
	close(fk->lfd);
	free(fk->big);
	buf_free(&fk->log);
	pthread_mutex_destroy(&fk->lock);
}

/* A path under the temporary directory; caller frees. */
static char *
tpath(const char *rel)
{
	return xasprintf("%s/%s", tmpdir, rel);
}

static void
touch(const char *rel)
{
	char *p = tpath(rel);
	int fd;

	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1)
		bail("cannot create", p);
	close(fd);
	free(p);
}

static int
exists(const char *rel)
{
	struct stat st;
	char *p = tpath(rel);
	int r;

	r = lstat(p, &st) == 0;
	free(p);
	return r;
}

/* How many names of temporary files the directory "rel" holds. */
static int
count_tmp(const char *rel)
{
	struct dirent *de;
	DIR *dir;
	char *p = tpath(rel);
	int n = 0;

	if ((dir = opendir(p)) == NULL)
		bail("cannot open", p);
	while ((de = readdir(dir)) != NULL)
		n += fsutil_is_tmpname(de->d_name);
	closedir(dir);
	free(p);
	return n;
}

static void
test_key_check(void)
{
	static const struct {
		const char	*key;
		const char	*why;	/* NULL: accepted */
	} keys[] = {
		{ "a.txt", NULL },
		{ "dir/sub/file", NULL },
		{ "a b/\xc3\xbc.txt", NULL },
		{ "...", NULL },
		{ "..a", NULL },
		{ "a..", NULL },
		{ ".hidden/.x", NULL },
		{ "a/.../b", NULL },
		{ "../escape", "\"..\" path segment" },
		{ "a/../../escape2", "\"..\" path segment" },
		{ "a/..", "\"..\" path segment" },
		{ "/abs", "absolute path" },
		{ "//abs", "absolute path" },
		{ "a//b", "empty path segment" },
		{ "a/./b", "\".\" path segment" },
		{ "./a", "\".\" path segment" },
		{ ".", "\".\" path segment" },
		{ "..", "\"..\" path segment" },
		/* A backslash is an ordinary byte on POSIX. */
		{ "a\\b", NULL },
		{ "..\\..\\x", NULL },
		{ "", "empty key" },
		{ "a/b/", "empty path segment" },
	};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		is_str(download_key_check(keys[i].key, strlen(keys[i].key)),
		    keys[i].why, "key check: \"%s\"", keys[i].key);
	/* Directory markers are checked without their '/'. */
	is_str(download_key_check("a/b/", 3), NULL, "key check: marker a/b/");
	is_str(download_key_check("a/../", 4), "\"..\" path segment",
	    "key check: marker a/../");
	is_str(download_key_check("/", 0), "empty key", "key check: marker /");
	is_str(download_key_check("a\0b", 3), "NUL byte in the key",
	    "key check: a NUL byte inside the length");
	is_str(download_key_check("ab/..", 2), NULL,
	    "key check: only \"len\" bytes are looked at");
}

static void
test_http_date(void)
{
	static const char *bad[] = {
		"", "2026-11-22T03:04:05Z", "Sun, 22 Nov 2026 03:04:05 UTC",
		"Sun, 22 Nov 2026 03:04:05 GMT x", "Sun, 22 Nov 2026 03:04 GMT",
		"Sun, 22 Foo 2026 03:04:05 GMT", "1795316645",
	};
	int64_t sec = -1;
	size_t i;

	ok(download_http_date("Sun, 22 Nov 2026 03:04:05 GMT", &sec) == 0 &&
	    sec == 1795316645, "http date: IMF-fixdate (%lld)", (long long)sec);
	ok(download_http_date("Sun, 06 Nov 1994 08:49:37 GMT", &sec) == 0 &&
	    sec == 784111777, "http date: the RFC 7231 example");
	ok(download_http_date("Thu, 01 Jan 1970 00:00:00 GMT", &sec) == 0 &&
	    sec == 0, "http date: the epoch");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(download_http_date(bad[i], &sec) == -1,
		    "http date: refused \"%s\"", bad[i]);
}

static void
test_classify(void)
{
	struct s3_error err;
	char *doc, *sc, *tier;
	size_t len;

	ok(archive_classify(200, NULL) == DL_OK, "classify: 200 is the object");
	ok(archive_classify(206, NULL) == DL_OK, "classify: 206 is a range");
	ok(archive_classify(202, NULL) == DL_RESTORE_STARTED,
	    "classify: 202 is a restore accepted");
	ok(archive_classify(404, NULL) == DL_FAILED, "classify: 404 fails");
	ok(archive_classify(0, NULL) == DL_FAILED, "classify: no answer fails");
	ok(archive_classify(403, "AccessDenied") == DL_FAILED,
	    "classify: AccessDenied fails");
	ok(archive_classify(200, "InternalError") == DL_FAILED,
	    "classify: an error document after 200 fails");

	doc = tap_fixture("xml", "invalid-object-state.xml", &len);
	ok(xml_parse_error(doc, len, &err) == 0 &&
	    archive_classify(403, err.code) == DL_ARCHIVED,
	    "classify: 403 InvalidObjectState (fixture) is archived");
	xml_error_free(&err);
	ok(archive_class(doc, len, &sc, &tier) == 0,
	    "archive class: GLACIER document parsed");
	is_str(sc, "GLACIER", "archive class: StorageClass GLACIER");
	is_str(tier, NULL, "archive class: no AccessTier");
	free(sc);
	free(tier);
	free(doc);

	doc = tap_fixture("xml", "invalid-object-state-tiering.xml", &len);
	ok(xml_parse_error(doc, len, &err) == 0 &&
	    archive_classify(403, err.code) == DL_ARCHIVED,
	    "classify: Intelligent-Tiering archive tier is archived");
	xml_error_free(&err);
	ok(archive_class(doc, len, &sc, &tier) == 0,
	    "archive class: tiering document parsed");
	is_str(sc, "INTELLIGENT_TIERING", "archive class: INTELLIGENT_TIERING");
	is_str(tier, "DEEP_ARCHIVE_ACCESS", "archive class: DEEP_ARCHIVE_ACCESS");
	free(sc);
	free(tier);
	free(doc);

	doc = tap_fixture("xml", "restore-in-progress.xml", &len);
	ok(xml_parse_error(doc, len, &err) == 0 &&
	    archive_classify(409, err.code) == DL_RESTORE_RUNNING,
	    "classify: 409 RestoreAlreadyInProgress (fixture) is running");
	xml_error_free(&err);
	ok(archive_class(doc, len, &sc, &tier) == 0 && sc == NULL &&
	    tier == NULL, "archive class: none in another error");
	free(doc);
}

static void
test_archive_class_bad(void)
{
	static const char *bad[] = {
		"<Error><StorageClass>GLACIER</StorageClass>",
		"<ListBucketResult><StorageClass>GLACIER</StorageClass>"
		    "</ListBucketResult>",
		"not xml at all",
	};
	char *sc, *tier, *doc, out[1024];
	size_t i, len;
	int cap, r;

	if ((cap = tap_capture_begin()) == -1)
		exit(99);
	for (i = 0, r = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sc = tier = (char *)"x";
		r |= archive_class(bad[i], strlen(bad[i]), &sc,
		    &tier) != -1 || sc != NULL || tier != NULL;
	}
	doc = tap_fixture("xml", "list-basic.xml", &len);
	r |= archive_class(doc, len, &sc, &tier) != -1;
	free(doc);
	tap_capture_end(cap, out, sizeof(out));
	ok(r == 0, "archive class: -1 and NULLs for a cut, another or no "
	    "document");
	is_str(out, "", "archive class: nothing printed for bad XML");
}

static void
test_restore_body(void)
{
	char *body;

	body = archive_restore_body(7, "Standard");
	is_str(body, "<RestoreRequest xmlns=\"http://s3.amazonaws.com/doc/"
	    "2006-03-01/\"><Days>7</Days><GlacierJobParameters><Tier>Standard"
	    "</Tier></GlacierJobParameters></RestoreRequest>",
	    "restore body: 7 days, Standard");
	free(body);
	body = archive_restore_body(0, "Bulk");
	is_str(body, "<RestoreRequest xmlns=\"http://s3.amazonaws.com/doc/"
	    "2006-03-01/\"><GlacierJobParameters><Tier>Bulk</Tier>"
	    "</GlacierJobParameters></RestoreRequest>",
	    "restore body: no Days for the Intelligent-Tiering tiers");
	free(body);
}

static void
test_fsutil(void)
{
	char name[FSUTIL_TMPLEN], buf[3], *why = NULL, *p;
	struct stat st;
	mode_t mask;
	int root, fd, fd2, created = -1;

	if ((root = open(tmpdir, O_RDONLY | O_DIRECTORY)) == -1)
		bail("cannot open", tmpdir);
	fd = fsutil_opendir(root, "w/x/y", 5, 1, &created, &why);
	ok(fd != -1 && created == 1 && exists("w/x/y"),
	    "opendir: w/x/y made, last component created");
	if (fd != -1)
		close(fd);
	fd = fsutil_opendir(root, "w/x/y", 5, 1, &created, &why);
	ok(fd != -1 && created == 0, "opendir: again, nothing created");
	if (fd != -1)
		close(fd);
	fd = fsutil_opendir(root, "", 0, 0, &created, &why);
	ok(fd != -1 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode),
	    "opendir: the empty path is the root");
	if (fd != -1)
		close(fd);

	p = tpath("w/link");
	if (symlink(tmpdir, p) == -1)
		bail("cannot symlink", p);
	free(p);
	fd = fsutil_opendir(root, "w/link/z", 8, 1, NULL, &why);
	ok(fd == -1, "opendir: refuses a symlinked component");
	is_str(why, "path component w/link is a symlink",
	    "opendir: names the symlink");
	ok(!exists("z"), "opendir: nothing made through the symlink");
	free(why);
	touch("w/file");
	fd = fsutil_opendir(root, "w/file/z", 8, 1, NULL, &why);
	ok(fd == -1, "opendir: refuses a file component");
	is_str(why, "path component w/file is not a directory",
	    "opendir: names the file");
	free(why);
	fd = fsutil_opendir(root, "nope/z", 6, 0, NULL, &why);
	ok(fd == -1 && why != NULL && strstr(why, "nope") != NULL &&
	    strstr(why, strerror(ENOENT)) != NULL,
	    "opendir: without create, a missing component (%s)", why);
	free(why);

	/* Temporary files. */
	fd = fsutil_tmpfile(root, name);
	ok(fd != -1 && fsutil_is_tmpname(name), "tmpfile: %s", name);
	mask = umask(022);
	umask(mask);
	ok(fstatat(root, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode) && (st.st_mode & 0777) == (0644 & ~mask),
	    "tmpfile: a regular file, 0644 less the umask");
	ok(write(fd, "abc", 3) == 3 && pread(fd, buf, 3, 0) == 3 &&
	    memcmp(buf, "abc", 3) == 0, "tmpfile: open for reading and writing");
	fd2 = fsutil_tmpfile(root, name);
	ok(fd2 != -1, "tmpfile: a second one");
	ok(fsutil_clean_stale(root) == 0 && exists(name),
	    "clean: files held by a live run stay");
	close(fd2);
	ok(fsutil_clean_stale(root) == 1 && !exists(name),
	    "clean: a released one is removed");
	close(fd);
	touch(".p3b-0123abcd.tmp");
	touch(".p3b-0123ABCD.tmp");
	touch(".p3b-0123abc.tmp");
	touch(".p3b-0123abcz.tmp");
	touch("x.p3b-0123abcd.tmp");
	p = tpath(".p3b-0123abce.tmp");
	if (mkdir(p, 0755) == -1)
		bail("cannot mkdir", p);
	free(p);
	ok(fsutil_clean_stale(root) == 3, "clean: the two stale ones and the "
	    "one released above");
	ok(!exists(".p3b-0123abcd.tmp") && !exists(".p3b-0123ABCD.tmp"),
	    "clean: stale temporary files removed");
	ok(exists(".p3b-0123abc.tmp") && exists(".p3b-0123abcz.tmp") &&
	    exists("x.p3b-0123abcd.tmp") && exists(".p3b-0123abce.tmp"),
	    "clean: other names and a directory are left alone");
	ok(!fsutil_is_tmpname(".p3b-0123abcd.tmpx") &&
	    !fsutil_is_tmpname("p3b-0123abcd.tmp") &&
	    fsutil_is_tmpname(".p3b-00000000.tmp"), "is_tmpname: the form");
	close(root);
}

/*
 * download_run with nothing a server must answer, except one GET to a
 * closed port (a fatal connection failure) that must leave nothing.
 */
/* One remote entry of "size" bytes whose ETag is "etag". */
static struct entry *
remote(struct table *tbl, const char *key, int64_t size, const char *etag)
{
	struct entry *e;

	e = table_get(tbl, key, strlen(key));
	e->remote = 1;
	e->rsize = size;
	table_set_etag(e, etag);
	return e;
}

/* Plan "act" for a remote entry "key" of "size" bytes, no ETag. */
static struct entry *
planned(struct table *tbl, struct plan *plan, const char *key, int64_t size,
    enum ACT act)
{
	struct entry *e;

	e = remote(tbl, key, size, "");
	plan->v[plan->n].act = act;
	plan->v[plan->n++].e = e;
	return e;
}

static void
test_run_offline(void)
{
	static const char *refused[] = { "../escape", "a/../../escape2",
	    "/abs", "a//b" };
	struct config cfg;
	struct s3 *s3;
	struct table tbl;
	struct plan plan;
	struct report rep;
	struct run run;
	struct entry *e;
	struct stat st;
	char out[8192], longname[301], *root, *p;
	size_t i, pending;
	int cap, rc;


	memset(&tbl, 0, sizeof(tbl));
	config_init(&cfg);
	cfg.progress = 0;
	cfg.jobs = 2;
	cfg.max_retries = 0;
	cfg.endpoint = xstrdup("http://127.0.0.1:1");
	cfg.path_style = 1;
	cfg.creds.access_key = xstrdup("AKIDEXAMPLE");
	cfg.creds.secret_key = xstrdup("secret");
	if ((s3 = s3_new(&cfg)) == NULL)
		exit(99);
	report_init(&rep, &cfg);
	root = tpath("dst");
	p = tpath("outside");
	if (mkdir(root, 0755) == -1 || mkdir(p, 0755) == -1)
		bail("cannot mkdir", root);
	free(p);
	p = tpath("dst/link");
	if (symlink("../outside", p) == -1)
		bail("cannot symlink", p);
	free(p);
	p = tpath("dst/adir");
	if (mkdir(p, 0755) == -1)
		bail("cannot mkdir", p);
	free(p);
	p = tpath("dst/sub");
	if (mkdir(p, 0755) == -1)
		bail("cannot mkdir", p);
	free(p);
	touch("dst/sub/.p3b-feedf00d.tmp");

	plan.n = 0;
	plan.v = xcalloc(16, sizeof(*plan.v));
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		planned(&tbl, &plan, refused[i], 3, ACT_DOWNLOAD);
	planned(&tbl, &plan, "link/x.txt", 3, ACT_DOWNLOAD);
	planned(&tbl, &plan, "adir", 3, ACT_DOWNLOAD);
	e = planned(&tbl, &plan, "empty dir/", 0, ACT_MKDIR);
	e->dir = 1;
	e->rmtime_known = 1;
	e->rmtime_sec = 1500000000;
	e->rmtime_nsec = 123456789;
	e = planned(&tbl, &plan, "../up/", 0, ACT_MKDIR);
	e->dir = 1;
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	planned(&tbl, &plan, longname, 3, ACT_DOWNLOAD);
	planned(&tbl, &plan, "sub/.p3b-0123abcd.tmp", 3, ACT_DOWNLOAD);
	planned(&tbl, &plan, "sub/file.txt", 5, ACT_DOWNLOAD);

	run_init(&run, s3, "bucket", root, &plan, &rep, NULL);
	if ((cap = tap_capture_begin()) == -1)
		exit(99);
	rc = download_run(&run, &pending);
	tap_capture_end(cap, out, sizeof(out));
	ok(rc == -1, "run: the closed port is fatal: -1");
	ok(rep.failed == 10, "run: 10 failed (%zu)", rep.failed);
	ok(rep.downloaded == 1 && pending == 0,
	    "run: the marker counts as done, nothing pending");
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		p = xasprintf("%s: refused: ", refused[i]);
		ok(strstr(out, p) != NULL, "run: \"%s\" reported", p);
		free(p);
	}
	ok(strstr(out, "link/x.txt: path component link is a symlink") != NULL,
	    "run: the symlink in the target tree is reported");
	ok(strstr(out, "adir: is a directory: not replaced") != NULL,
	    "run: a directory under a file's name is reported");
	ok(strstr(out, "../up/: refused: \"..\" path segment") != NULL,
	    "run: a marker with \"..\" is refused");
	ok(strstr(out, "sub/.p3b-0123abcd.tmp: refused: the name of a "
	    "temporary file of p3backup") != NULL,
	    "run: a key named like our temporary files is refused");
	p = xasprintf("%s: %s", longname, strerror(ENAMETOOLONG));
	ok(strstr(out, p) != NULL, "run: a name too long is refused before "
	    "any request");
	free(p);
	ok(strstr(out, "sub/file.txt: ") != NULL,
	    "run: the failed GET is reported");
	ok(!exists("escape") && !exists("escape2") && !exists("up") &&
	    !exists("outside/x.txt") && !exists("dst/a"),
	    "run: nothing written outside the root or through the symlink");
	p = tpath("dst/empty dir");
	ok(stat(p, &st) == 0 && S_ISDIR(st.st_mode) &&
	    st.st_mtim.tv_sec == 1500000000 &&
	    st.st_mtim.tv_nsec == 123456789,
	    "run: the marker's directory made with its mtime");
	free(p);
	ok(!exists("dst/sub/file.txt") && !exists("dst/sub/.p3b-feedf00d.tmp"),
	    "run: no file under the real name, the stale temp file removed");
	ok(count_tmp("dst") == 0 && count_tmp("dst/sub") == 0,
	    "run: the failed download left no temporary file");

	free(root);
	free(plan.v);
	table_free(&tbl);
	report_close(&rep);
	s3_free(s3);
	config_free(&cfg);
}

/* Run the plan of "keys" into dst/ against the fake server. */
static int
fake_run(struct config *cfg, struct s3 *s3, struct table *tbl,
    const char **keys, size_t n, size_t *pending, struct report *rep,
    char *out, size_t outsize, const char *root)
{
	struct plan plan;
	struct run run;
	size_t i;
	int cap, rc;

	memset(&plan, 0, sizeof(plan));
	plan.v = xcalloc(n, sizeof(*plan.v));
	for (i = 0; i < n; i++) {
		plan.v[plan.n].act = ACT_DOWNLOAD;
		plan.v[plan.n++].e = table_find(tbl, keys[i], strlen(keys[i]));
	}
	report_init(rep, cfg);
	run_init(&run, s3, "bkt", root, &plan, rep, NULL);
	if ((cap = tap_capture_begin()) == -1)
		exit(99);
	rc = download_run(&run, pending);
	tap_capture_end(cap, out, outsize);
	report_close(rep);
	free(plan.v);
	return rc;
}

static void
test_run_fake(void)
{
	static const char *cold[] = { "cold.bin" };
	static const char *archived[] = { "cold.bin", "busy.bin" };
	static const char *wrong[] = { "old.txt", "bad.txt", "short.txt",
	    "norange.bin" };
	struct fake fk;
	struct config cfg;
	struct s3 *s3;
	struct table tbl;
	struct report rep;
	size_t pending;
	struct stat st;
	char out[8192], *p, *root;
	int rc;

	root = tpath("fake");
	if (mkdir(root, 0755) == -1)
		bail("cannot mkdir", root);
	fake_start(&fk);
	memset(&tbl, 0, sizeof(tbl));
	config_init(&cfg);
	cfg.progress = 0;
	cfg.jobs = 3;
	cfg.max_retries = 0;
	cfg.endpoint = xasprintf("http://127.0.0.1:%d", fk.port);
	cfg.path_style = 1;
	cfg.multipart_threshold = 1024 * 1024;
	cfg.part_size = 5 * 1024 * 1024;
	cfg.creds.access_key = xstrdup("AKIDEXAMPLE");
	cfg.creds.secret_key = xstrdup("secret");
	if ((s3 = s3_new(&cfg)) == NULL)
		exit(99);
	remote(&tbl, "cold.bin", 5, HELLO_MD5);
	remote(&tbl, "busy.bin", 5, HELLO_MD5);
	remote(&tbl, "old.txt", 5, HELLO_MD5);
	remote(&tbl, "bad.txt", 5, HELLO_MD5);
	remote(&tbl, "short.txt", 10, HELLO_MD5);
	remote(&tbl, "norange.bin", BIG, HELLO_MD5);

	rc = fake_run(&cfg, s3, &tbl, cold, 1, &pending, &rep, out,
	    sizeof(out), root);
	ok(rc == 0 && pending == 1 && rep.failed == 0 && rep.downloaded == 0,
	    "archived: pending, not failed");
	ok(strstr(out, "cold.bin: archived in GLACIER: not downloadable until "
	    "restored\n") != NULL, "archived: reported with its class");
	ok(strstr(fk.log.data, "POST") == NULL,
	    "archived: no RestoreObject without --restore-request");

	cfg.restore_days = 3;
	cfg.restore_tier = xstrdup("Bulk");
	rc = fake_run(&cfg, s3, &tbl, archived, 2, &pending, &rep, out,
	    sizeof(out), root);
	ok(rc == 0 && pending == 2 && rep.failed == 0,
	    "--restore-request: both pending, not failed");
	ok(strstr(out, "cold.bin: archived in GLACIER: not downloadable until "
	    "restored; restore requested (3 days, Bulk tier)") != NULL,
	    "--restore-request: 202 is \"restore requested\"");
	ok(strstr(out, "busy.bin: archived in INTELLIGENT_TIERING "
	    "(DEEP_ARCHIVE_ACCESS): not downloadable until restored; restore "
	    "in progress") != NULL, "--restore-request: 409 is \"restore in "
	    "progress\"");
	ok(strstr(fk.log.data, "POST /bkt/cold.bin?restore= HTTP/1.1\n"
	    "<RestoreRequest xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	    "<Days>3</Days><GlacierJobParameters><Tier>Bulk</Tier>"
	    "</GlacierJobParameters></RestoreRequest>\n") != NULL,
	    "--restore-request: POST ?restore with Days and Tier");
	ok(strstr(fk.log.data, "POST /bkt/busy.bin?restore= HTTP/1.1\n"
	    "<RestoreRequest xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
	    "<GlacierJobParameters><Tier>Bulk</Tier>") != NULL,
	    "--restore-request: no Days for an Intelligent-Tiering tier");
	ok(count_tmp("fake") == 0 && !exists("fake/cold.bin") &&
	    !exists("fake/busy.bin"),
	    "archived: no file and no temporary file");

	rc = fake_run(&cfg, s3, &tbl, wrong, 4, &pending, &rep, out,
	    sizeof(out), root);
	ok(rc == 0 && rep.downloaded == 1 && rep.failed == 3 &&
	    rep.downloaded_bytes == 5, "answers: 1 downloaded, 3 failed (%zu, "
	    "%zu)", rep.downloaded, rep.failed);
	p = tpath("fake/old.txt");
	ok(stat(p, &st) == 0 && st.st_size == 5 &&
	    st.st_mtim.tv_sec == 784111777 && st.st_mtim.tv_nsec == 0,
	    "answers: no x-amz-meta-mtime: Last-Modified gives the mtime");
	free(p);
	ok(strstr(out, "bad.txt: content does not match the object's ETag") !=
	    NULL && !exists("fake/bad.txt"), "answers: other content is refused");
	ok(strstr(out, "short.txt: received 5 bytes at offset 0, expected 10")
	    != NULL && !exists("fake/short.txt"), "answers: a short body is refused");
	ok(strstr(out, "norange.bin: the server ignored the Range header "
	    "(HTTP 200)") != NULL && !exists("fake/norange.bin"),
	    "answers: 200 to a ranged GET is refused");
	ok(count_tmp("fake") == 0, "answers: no temporary file is left");
	if (rep.failed != 3)
		tap_diag("%s", out);

	s3_free(s3);
	config_free(&cfg);
	table_free(&tbl);
	fake_stop(&fk);
	free(root);
}

int
main(void)
{
	const char *t;

	t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_download.XXXXXX",
	    t != NULL && t[0] != '\0' ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror(tmpdir);
		return 99;
	}
	test_key_check();
	test_http_date();
	test_classify();
	test_archive_class_bad();
	test_restore_body();
	test_fsutil();
	test_run_offline();
	test_run_fake();
	ok(tap_rmtree(tmpdir) == 0, "temporary directory removed");
	return tap_done();
}
