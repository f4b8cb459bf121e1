/*
 * Unit tests for scan.c, the walk of the local tree.  Each test builds
 * a tree under a mkdtemp(3) directory, scans it and checks the keys,
 * sizes, nanosecond mtimes, counters and the messages on stderr.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <pthread.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"
#include "tap.h"

#define SPECIAL_NAME	"sp ace +=&;,@$!'()[]~#%?.txt"
/* "unicodé ☃ 日本.txt" */
#define UNICODE_NAME \
	"unicod\xc3\xa9 \xe2\x98\x83 \xe6\x97\xa5\xe6\x9c\xac.txt"

static char tmpdir[4096];
/* "long/A.../B.../C.../D...": a directory key of 1008 bytes. */
static char *longdir;
/* 1 when the main tree holds a character device (needs CAP_MKNOD). */
static int have_dev;

/* tmpdir/"rel", owned by the caller. */
static char *
tpath(const char *rel)
{
	return xasprintf("%s/%s", tmpdir, rel);
}

/* Abort the whole test run: the fixture could not be built. */
static void
bail(const char *what, const char *rel)
{
	printf("Bail out! %s %s: %s\n", what, rel, strerror(errno));
	exit(99);
}

static void
mkdir_t(const char *rel)
{
	char *p = tpath(rel);

	if (mkdir(p, 0755) == -1)
		bail("mkdir", rel);
	free(p);
}

/* Set the mtime (and atime) of tmpdir/rel to sec.nsec. */
static void
settime(const char *rel, time_t sec, long nsec)
{
	struct timespec ts[2];
	char *p = tpath(rel);

	ts[0].tv_sec = ts[1].tv_sec = sec;
	ts[0].tv_nsec = ts[1].tv_nsec = nsec;
	if (utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW) == -1)
		bail("utimensat", rel);
	free(p);
}

static void
mkfile(const char *rel, const char *content)
{
	char *p = tpath(rel);
	int fd;

	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1)
		bail("create", rel);
	if (write(fd, content, strlen(content)) != (ssize_t)strlen(content))
		bail("write", rel);
	close(fd);
	free(p);
}

static void
mklink(const char *target, const char *rel)
{
	char *p = tpath(rel);

	if (symlink(target, p) == -1)
		bail("symlink", rel);
	free(p);
}

/* Bind an AF_UNIX socket at tmpdir/"dir"/"name" (relative, to fit). */
static void
mksock(const char *dir, const char *name)
{
	struct sockaddr_un sun;
	char *p = tpath(dir);
	int s = -1, cwd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", name);
	if ((cwd = open(".", O_RDONLY | O_DIRECTORY)) == -1 || chdir(p) == -1 ||
	    (s = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(s, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		bail("socket", dir);
	close(s);
	if (fchdir(cwd) == -1)
		bail("fchdir", ".");
	close(cwd);
	free(p);
}

/*
 * Scan tmpdir/"rel" (or "rel" itself when absolute) into "tbl" with
 * the given options and filter (may be NULL), collecting stderr into
 * "err".
 */
static int
scan_filtered(const char *rel, int follow, const char *prefix,
    struct filter *filter, struct table *tbl, struct scan_stats *st,
    struct buf *err)
{
	static char text[1 << 16];
	struct config cfg;
	char *root;
	int saved, rc;

	memset(&cfg, 0, sizeof(cfg));
	cfg.follow_symlinks = follow;
	cfg.prefix = prefix ? xstrdup(prefix) : NULL;
	cfg.filter = filter;
	root = rel[0] == '/' ? xstrdup(rel) : tpath(rel);
	if ((saved = tap_capture_begin()) == -1)
		exit(99);
	rc = scan_tree(root, &cfg, tbl, st);
	tap_capture_end(saved, text, sizeof(text));
	buf_reset(err);
	buf_append(err, "", 0);
	buf_append(err, text, strlen(text));
	free(root);
	free(cfg.prefix);
	return rc;
}

static int
scan(const char *rel, int follow, const char *prefix, struct table *tbl,
    struct scan_stats *st, struct buf *err)
{
	return scan_filtered(rel, follow, prefix, NULL, tbl, st, err);
}

static size_t
count_lines(const struct buf *b)
{
	size_t i, n = 0;

	for (i = 0; i < b->len; i++)
		n += b->data[i] == '\n';
	return n;
}

/* Check that stderr holds "want", printing it otherwise. */
static void
has_msg(const struct buf *err, const char *want, const char *what)
{
	if (!ok(strstr(err->data, want) != NULL, "message: %s", what))
		tap_diag("want \"%s\" in:\n%s", want, err->data);
}


/* The entry of "key" in "tbl" (the scan's table has no index: a walk). */
static struct entry *
lookup(const struct table *tbl, const char *key, size_t len)
{
	struct entry *e;
	size_t i;

	TABLE_FOREACH(tbl, i, e)
		if (ENTRY_KEYLEN(e) == len && memcmp(e->key, key, len) == 0)
			return e;
	return NULL;
}

/* The local file "key" is recorded with "size" bytes. */
static struct entry *
has_file(const struct table *tbl, const char *key, int64_t size,
    const char *what)
{
	struct entry *e = lookup(tbl, key, strlen(key));

	ok(e != NULL && e->local && !e->dir && e->lsize == size,
	    "%s recorded, %lld bytes", what, (long long)size);
	return e;
}

static void
no_key(const struct table *tbl, const char *key, const char *what)
{
	ok(lookup(tbl, key, strlen(key)) == NULL, "no key for %s", what);
}

static void
check_stats(const struct scan_stats *st, size_t files, size_t dirs,
    size_t skipped, size_t failed, uint64_t bytes, const char *what)
{
	ok(st->files == files, "%s: %zu files (got %zu)", what, files,
	    st->files);
	ok(st->dirs == dirs, "%s: %zu markers (got %zu)", what, dirs, st->dirs);
	ok(st->skipped == skipped, "%s: %zu skipped (got %zu)", what, skipped,
	    st->skipped);
	ok(st->failed == failed, "%s: %zu failed (got %zu)", what, failed,
	    st->failed);
	ok(st->bytes == bytes, "%s: %llu bytes (got %llu)", what,
	    (unsigned long long)bytes, (unsigned long long)st->bytes);
}

/* Build tmpdir/tree, the fixture of most tests. */
static void
build_tree(void)
{
	char name[251], *p, *dev;
	int i;

	mkdir_t("tree");
	mkdir_t("tree/a");
	mkdir_t("tree/a/b");
	mkdir_t("tree/a/b/c");
	mkfile("tree/a/b/c/deep.txt", "hello");
	settime("tree/a/b/c/deep.txt", 1234567890, 123456789);
	mkdir_t("tree/a/b/e2");
	mklink("..", "tree/a/loop");
	mkdir_t("tree/empty dir with spaces");
	settime("tree/empty dir with spaces", 1500000000, 500000000);
	mkfile("tree/empty.txt", "");
	settime("tree/empty.txt", -100, 1);
	mkfile("tree/" SPECIAL_NAME, "abc");
	mkfile("tree/" UNICODE_NAME, "u");
	mkfile("tree/.hidden", "");
	mkfile("tree/...", "");
	mkfile("tree/back\\slash", "");
	mkfile("tree/new\nline.txt", "nl");
	settime("tree/new\nline.txt", 2000000000, 999999999);
	mklink("a/b/c/deep.txt", "tree/link-file");
	mklink("a/b", "tree/link-dir");
	mklink("nowhere", "tree/dang\xc2\x85ling");
	mkdir_t("tree/specials");
	p = tpath("tree/specials/fi\nfo");
	if (mkfifo(p, 0644) == -1)
		bail("mkfifo", p);
	free(p);
	mksock("tree/specials", "sock");
	dev = tpath("tree/specials/null");
	have_dev = mknod(dev, S_IFCHR | 0644, makedev(1, 3)) == 0;
	free(dev);
	mkfile("tree/\xff\xfe.bin", "");
	mkfile("tree/bad\n\xff", "");
	mkdir_t("tree/.p3backup");
	mkfile("tree/.p3backup/x", "");
	mkdir_t("tree/sub");
	mkdir_t("tree/sub/.p3backup");
	mkfile("tree/sub/.p3backup/y", "yy");

	/* long/A{250}/B{250}/C{250}/D{250} is 1008 bytes. */
	longdir = xstrdup("long");
	mkdir_t("tree/long");
	for (i = 0; i < 4; i++) {
		memset(name, 'A' + i, 250);
		name[250] = '\0';
		p = xasprintf("%s/%s", longdir, name);
		free(longdir);
		longdir = p;
		p = xasprintf("tree/%s", longdir);
		mkdir_t(p);
		free(p);
	}
	p = xasprintf("tree/%s/ooooooooooooooo", longdir);
	mkfile(p, "ok");
	free(p);
	p = xasprintf("tree/%s/xxxxxxxxxxxxxxxx", longdir);
	mkfile(p, "");
	free(p);
	memset(name, 'E', 250);
	p = xasprintf("tree/%s/%s", longdir, name);
	mkdir_t(p);
	free(p);
	p = xasprintf("tree/%s/%s/f", longdir, name);
	mkfile(p, "");
	free(p);
}

/* The keys every scan of the tree records, whatever the options. */
static void
check_common(const struct table *tbl, const char *what)
{
	struct entry *e;

	tap_diag("%s", what);
	e = has_file(tbl, "a/b/c/deep.txt", 5, "nested file");
	ok(e && e->lmtime_sec == 1234567890 && e->lmtime_nsec == 123456789,
	    "nested file: mtime to the nanosecond");
	e = has_file(tbl, "empty.txt", 0, "empty file");
	ok(e && e->lmtime_sec == -100 && e->lmtime_nsec == 1,
	    "empty file: mtime before the epoch");
	has_file(tbl, SPECIAL_NAME, 3, "name with punctuation");
	has_file(tbl, UNICODE_NAME, 1, "unicode name");
	has_file(tbl, ".hidden", 0, "dot file");
	has_file(tbl, "...", 0, "name \"...\"");
	has_file(tbl, "back\\slash", 0, "name with a backslash");
	e = has_file(tbl, "new\nline.txt", 2, "name with a newline");
	ok(e && e->lmtime_sec == 2000000000 && e->lmtime_nsec == 999999999,
	    "name with a newline: mtime");
	/* Keys with a ".p3backup/" segment are p3backup's own, at any depth. */
	no_key(tbl, "sub/.p3backup/y", "a .p3backup directory below the top");
	e = lookup(tbl, "sub/", 4);
	ok(e && e->local && e->dir, "...whose parent is left an empty marker");
	e = lookup(tbl, "empty dir with spaces/", 22);
	ok(e && e->local && e->dir && e->lsize == 0 &&
	    e->lmtime_sec == 1500000000 && e->lmtime_nsec == 500000000,
	    "empty directory: marker with its mtime");
	e = lookup(tbl, "a/b/e2/", 7);
	ok(e && e->local && e->dir, "nested empty directory: marker");
	e = lookup(tbl, "specials/", 9);
	ok(e && e->local && e->dir, "directory of special files: marker");
	no_key(tbl, "a/", "a directory with content (a/)");
	no_key(tbl, "a/b/c/", "a directory with content (a/b/c/)");
	no_key(tbl, "", "the root");
	no_key(tbl, "/", "the root marker");
	no_key(tbl, "a/loop", "a symlink loop");
	no_key(tbl, "specials/fi\nfo", "a FIFO");
	no_key(tbl, "specials/sock", "a socket");
	no_key(tbl, "\xff\xfe.bin", "an invalid UTF-8 name");
	no_key(tbl, ".p3backup/x", "the reserved .p3backup");
	no_key(tbl, ".p3backup/", "the reserved .p3backup marker");
}

/* Keys under "long/", with or without the prefix "pre". */
static void
check_long(const struct table *tbl, const struct buf *err, int prefixed)
{
	char *key;

	key = xasprintf("%s/ooooooooooooooo", longdir);
	ok(strlen(key) == 1024, "boundary key is 1024 bytes");
	if (prefixed)
		no_key(tbl, key, "a 1024-byte key after \"pre/\"");
	else
		has_file(tbl, key, 2, "a key of exactly 1024 bytes");
	free(key);
	key = xasprintf("%s/xxxxxxxxxxxxxxxx", longdir);
	no_key(tbl, key, "a 1025-byte key");
	free(key);
	has_msg(err, "/xxxxxxxxxxxxxxxx: object key longer than 1024 bytes",
	    "key too long");
	ok(strstr(err->data, "EEEE/f") == NULL,
	    "a directory with too long a key is not descended");
}

static void
test_default(void)
{
	struct table tbl = { 0 };
	struct scan_stats st;
	struct buf err = { NULL, 0, 0 };
	size_t skipped = 2 + have_dev;
	struct entry *e;

	ok(scan("tree", 0, NULL, &tbl, &st, &err) == 0, "default: scan");
	check_common(&tbl, "default options");
	check_long(&tbl, &err, 0);
	/* Four links, each its target's bytes: 14 + 3 + 2 + 7. */
	check_stats(&st, 13, 4, skipped, 6,
	    5 + 3 + 1 + 2 + 2 + 14 + 3 + 2 + 7, "default");
	ok(tbl.nlocal == 17 && tbl.n == 17,
	    "default: 17 local entries (got %zu)", tbl.nlocal);
	no_key(&tbl, "link-file", "a symlink to a file, under its own name");
	no_key(&tbl, "link-dir/c/deep.txt", "the inside of a symlink to a dir");
	e = has_file(&tbl, "link-file.rclonelink", 14,
	    "a symlink to a file: NAME.rclonelink, its target's length");
	ok(e != NULL && e->link, "...marked a link");
	e = has_file(&tbl, "link-dir.rclonelink", 3,
	    "a symlink to a directory: a link, not followed");
	ok(e != NULL && e->link, "...marked a link");
	has_file(&tbl, "a/loop.rclonelink", 2, "a symlink loop: a link");
	has_file(&tbl, "dang\xc2\x85ling.rclonelink", 7, "a dangling link");
	ok(strstr(err.data, "symbolic link") == NULL,
	    "no note about symbolic links");
	has_msg(&err, "tree/specials/fi\\x0afo: FIFO, skipped\n", "FIFO");
	has_msg(&err, "tree/specials/sock: socket, skipped\n", "socket");
	if (have_dev)
		has_msg(&err, "tree/specials/null: character device, skipped",
		    "character device");
	else
		ok(1, "character device # SKIP mknod not permitted");
	has_msg(&err, "tree/\\xff\\xfe.bin: name is not valid UTF-8\n",
	    "invalid UTF-8, escaped");
	has_msg(&err, "tree/bad\\x0a\\xff: name is not valid UTF-8\n",
	    "newline escaped");
	has_msg(&err, "tree/.p3backup: reserved name", "reserved name");
	has_msg(&err, "tree/sub/.p3backup: reserved name",
	    "reserved name below the top");
	ok(count_lines(&err) == skipped + 6,
	    "one line per skipped or failed entry (%zu lines)",
	    count_lines(&err));
	ok(strstr(err.data, "line.txt") == NULL &&
	    strstr(err.data, "slash") == NULL,
	    "nothing said about recorded names");
	table_free(&tbl);
	buf_free(&err);
}

static void
test_follow(void)
{
	struct table tbl = { 0 };
	struct scan_stats st;
	struct buf err = { NULL, 0, 0 };
	struct entry *e;

	ok(scan("tree", 1, NULL, &tbl, &st, &err) == 0, "follow: scan");
	check_common(&tbl, "--follow-symlinks");
	check_long(&tbl, &err, 0);
	check_stats(&st, 11, 5, 2 + have_dev, 8,
	    5 + 3 + 1 + 2 + 2 + 5 + 5, "follow");
	e = has_file(&tbl, "link-file", 5, "followed symlink to a file");
	ok(e && e->lmtime_sec == 1234567890 && e->lmtime_nsec == 123456789,
	    "followed symlink: the target's mtime");
	has_file(&tbl, "link-dir/c/deep.txt", 5, "file in a followed dir");
	e = lookup(&tbl, "link-dir/e2/", 12);
	ok(e && e->dir, "empty directory in a followed dir: marker");
	has_msg(&err, "tree/a/loop: symlink loop, not followed\n",
	    "symlink loop reported");
	has_msg(&err, "tree/dang\\xc2\\x85ling: cannot follow symbolic link: "
	    "No such file or directory\n", "dangling symlink");
	ok(count_lines(&err) == st.skipped + st.failed,
	    "follow: one line per skipped or failed entry");
	table_free(&tbl);
	buf_free(&err);
}

static void
test_prefix(void)
{
	struct table tbl = { 0 };
	struct scan_stats st;
	struct buf err = { NULL, 0, 0 };
	struct entry *e;
	char *key;

	ok(scan("tree", 0, "pre", &tbl, &st, &err) == 0, "prefix: scan");
	check_long(&tbl, &err, 1);
	check_stats(&st, 12, 5, 2 + have_dev, 7,
	    5 + 3 + 1 + 2 + 14 + 3 + 2 + 7, "prefix");
	has_msg(&err, "/ooooooooooooooo: object key longer than 1024 bytes "
	    "with the prefix\n", "key too long with the prefix");
	key = xasprintf("%s/", longdir);
	e = lookup(&tbl, key, strlen(key));
	ok(e != NULL && e->dir,
	    "directory whose entries all failed: marker");
	free(key);
	table_free(&tbl);
	ok(scan("tree", 0, "", &tbl, &st, &err) == 0 && st.files == 13,
	    "empty prefix: same as none");
	table_free(&tbl);
	buf_free(&err);
}

/* Strict UTF-8: what is accepted and what is not. */
static void
test_utf8(void)
{
	static const char *good[] = {
		"ok-\xf0\x9f\x98\x80",		/* U+1F600 */
		"ok-\xef\xbf\xbf",		/* U+FFFF */
		"ok-\xf4\x8f\xbf\xbf",		/* U+10FFFF */
		"ok-\xed\x9f\xbf",		/* U+D7FF */
		"ok-\xc2\x80",			/* U+0080 */
		"ok-\xe0\xa0\x80",		/* U+0800 */
		"ok-\xf0\x90\x80\x80",		/* U+10000 */
	};
	static const char *bad[] = {
		"bad-\xc0\xaf",			/* overlong '/' */
		"bad-\xc1\xbf",			/* overlong */
		"bad-\xe0\x80\xaf",		/* overlong, 3 bytes */
		"bad-\xf0\x80\x80\xaf",		/* overlong, 4 bytes */
		"bad-\xed\xa0\x80",		/* surrogate U+D800 */
		"bad-\xed\xbf\xbf",		/* surrogate U+DFFF */
		"bad-\xf4\x90\x80\x80",		/* U+110000 */
		"bad-\xf5\x80\x80\x80",		/* lead byte past U+10FFFF */
		"bad-\xf8\x88\x80\x80\x80",	/* 5-byte form */
		"bad-\xe2\x82",			/* truncated at the end */
		"bad-\xe2\x82x",		/* truncated before ASCII */
		"bad-\x80",			/* lone continuation byte */
		"bad-\xc3\xa9\xa9",		/* stray continuation byte */
	};
	struct table tbl = { 0 };
	struct scan_stats st;
	struct buf err = { NULL, 0, 0 };
	size_t i, ngood = sizeof(good) / sizeof(good[0]);
	size_t nbad = sizeof(bad) / sizeof(bad[0]);
	char *p;

	mkdir_t("utf");
	for (i = 0; i < ngood; i++) {
		p = xasprintf("utf/%s", good[i]);
		mkfile(p, "");
		free(p);
	}
	for (i = 0; i < nbad; i++) {
		p = xasprintf("utf/%s", bad[i]);
		mkfile(p, "");
		free(p);
	}
	mkdir_t("utf/dir-\xff");
	mkfile("utf/dir-\xff/f", "");

	ok(scan("utf/", 0, NULL, &tbl, &st, &err) == 0, "utf8: scan");
	for (i = 0; i < ngood; i++)
		ok(lookup(&tbl, good[i], strlen(good[i])) != NULL,
		    "valid UTF-8 accepted (%zu)", i);
	for (i = 0; i < nbad; i++)
		ok(lookup(&tbl, bad[i], strlen(bad[i])) == NULL,
		    "invalid UTF-8 rejected (%zu)", i);
	check_stats(&st, ngood, 0, 0, nbad + 1, 0, "utf8");
	has_msg(&err, "utf/dir-\\xff: name is not valid UTF-8\n",
	    "invalid directory name");
	ok(strstr(err.data, "utf//") == NULL, "trailing slash of root dropped");
	ok(strstr(err.data, "\\xff/f") == NULL,
	    "an invalid directory name is not descended");
	has_msg(&err, "utf/bad-\\xe2\\x82x: ", "truncated sequence escaped");
	table_free(&tbl);
	buf_free(&err);
}

/* The root: relative, ".", missing, not a directory. */
static void
test_root(void)
{
	struct table tbl = { 0 };
	struct scan_stats st;
	struct buf err = { NULL, 0, 0 };
	struct config cfg;
	char *p;
	int cwd;

	mkdir_t("small");
	mkdir_t("small/x");
	mkfile("small/x/y.txt", "y");

	p = tpath("small");
	memset(&cfg, 0, sizeof(cfg));
	if ((cwd = open(".", O_RDONLY | O_DIRECTORY)) == -1 || chdir(p) == -1)
		bail("chdir", p);
	ok(scan_tree(".", &cfg, &tbl, &st) == 0 && st.files == 1 &&
	    lookup(&tbl, "x/y.txt", 7) != NULL,
	    "root \".\": keys without \"./\"");
	table_free(&tbl);
	ok(scan_tree("./", &cfg, &tbl, &st) == 0 &&
	    lookup(&tbl, "x/y.txt", 7) != NULL, "root \"./\"");
	table_free(&tbl);
	if (fchdir(cwd) == -1)
		bail("fchdir", ".");
	close(cwd);
	free(p);

	ok(scan("small//", 0, NULL, &tbl, &st, &err) == 0 &&
	    lookup(&tbl, "x/y.txt", 7) != NULL &&
	    tbl.n == 1, "root with trailing slashes");
	table_free(&tbl);

	ok(scan("missing", 0, NULL, &tbl, &st, &err) == -1,
	    "missing root: -1");
	has_msg(&err, "/missing: No such file or directory\n",
	    "missing root");
	ok(scan("small/x/y.txt", 0, NULL, &tbl, &st, &err) == -1,
	    "root is a file: -1");
	has_msg(&err, "/small/x/y.txt: Not a directory\n", "root is a file");
	ok(tbl.n == 0 && tbl.nlocal == 0, "nothing recorded");
	buf_free(&err);
}

/* One scan of the main tree, run in a thread of its own. */
struct job {
	pthread_t		 tid;
	char			*root;
	struct config		 cfg;
	struct table		 tbl;
	struct scan_stats	 st;
	int			 rc;
};

static void *
job_run(void *arg)
{
	struct job *j = arg;

	j->rc = scan_tree(j->root, &j->cfg, &j->tbl, &j->st);
	return NULL;
}

/* Scans share nothing: two at once give what one gives alone. */
static void
test_threads(void)
{
	struct job jobs[2];
	char ignored[1];
	int i, saved;

	memset(jobs, 0, sizeof(jobs));
	if ((saved = tap_capture_begin()) == -1)
		exit(99);
	for (i = 0; i < 2; i++) {
		jobs[i].root = tpath("tree");
		jobs[i].cfg.follow_symlinks = i;
		if (pthread_create(&jobs[i].tid, NULL, job_run, &jobs[i]) != 0)
			bail("pthread_create", "scan");
	}
	for (i = 0; i < 2; i++)
		pthread_join(jobs[i].tid, NULL);
	tap_capture_end(saved, ignored, sizeof(ignored));
	ok(jobs[0].rc == 0 && jobs[0].st.files == 13 &&
	    jobs[0].st.failed == 6 && jobs[0].tbl.n == 17,
	    "threads: the default scan");
	ok(jobs[1].rc == 0 && jobs[1].st.files == 11 &&
	    jobs[1].st.failed == 8 && jobs[1].tbl.n == 16,
	    "threads: the --follow-symlinks scan");
	for (i = 0; i < 2; i++) {
		table_free(&jobs[i].tbl);
		free(jobs[i].root);
	}
}

/* The local keys of "tbl", sorted and joined by spaces; caller frees. */
static char *
keys_of(const struct table *tbl)
{
	struct entry *e;
	struct buf b = { NULL, 0, 0 };
	const char **v;
	size_t n = 0, i, j, k;

	v = xcalloc(tbl->n + 1, sizeof(*v));
	TABLE_FOREACH(tbl, k, e) {
		/* Insertion sort: the tables here are small. */
		for (i = n++; i > 0 && strcmp(v[i - 1], e->key) > 0; i--)
			v[i] = v[i - 1];
		v[i] = e->key;
	}
	buf_append(&b, "", 0);
	for (j = 0; j < n; j++) {
		if (j > 0)
			buf_append(&b, " ", 1);
		buf_append(&b, v[j], strlen(v[j]));
	}
	free(v);
	return b.data;
}

/*
 * Build tmpdir/filt: photos, a tmp/ and node_modules/ full of things
 * the scan would report (a symlink, a FIFO, a name that is not UTF-8)
 * and made unreadable, directories whose files are all excluded, a
 * truly empty one and one holding only a symlink.
 */
static void
build_filter_tree(void)
{
	char *p;

	mkdir_t("filt");
	mkdir_t("filt/photos");
	mkdir_t("filt/photos/2020");
	mkfile("filt/photos/2020/a.jpg", "aa");
	mkfile("filt/photos/2020/b.png", "bbb");
	mkfile("filt/photos/2020/notes.txt", "n");
	mkdir_t("filt/photos/empty");
	mkdir_t("filt/tmp");
	mkfile("filt/tmp/t.jpg", "t");
	mkdir_t("filt/tmp/deep");
	mkfile("filt/tmp/deep/x.png", "x");
	mklink("nowhere", "filt/tmp/link.jpg");
	p = tpath("filt/tmp/fifo.png");
	if (mkfifo(p, 0644) == -1)
		bail("mkfifo", p);
	free(p);
	mkdir_t("filt/tmp/bad\xff");
	mkfile("filt/tmp/bad\xff/f.jpg", "");
	mkdir_t("filt/node_modules");
	mkdir_t("filt/node_modules/pkg");
	mkfile("filt/node_modules/pkg/index.js", "js");
	mkfile("filt/node_modules/pkg/logo.png", "p");
	mklink("nowhere", "filt/node_modules/link.png");
	mkdir_t("filt/node_modules/bad\xfe");
	mkdir_t("filt/a");
	mkdir_t("filt/a/node_modules");
	mkfile("filt/a/node_modules/b.png", "b");
	mkdir_t("filt/doc");
	mkfile("filt/doc/readme.txt", "r");
	mkfile("filt/doc/cover.jpg", "cc");
	mkdir_t("filt/cache");
	mkfile("filt/cache/x.tmp", "z");
	mkdir_t("filt/nest");
	mkdir_t("filt/nest/inner");
	mkfile("filt/nest/inner/y.tmp", "y");
	mkdir_t("filt/lonely");
	mklink("nowhere", "filt/lonely/link");
	mkfile("filt/top.png", "top");
	mklink("top.png", "filt/top-link.jpg");
	mkfile("filt/skip\xff.tmp", "");
	p = tpath("filt/tmp");
	if (chmod(p, 0) == -1)
		bail("chmod", p);
	free(p);
	p = tpath("filt/node_modules");
	if (chmod(p, 0) == -1)
		bail("chmod", p);
	free(p);
}

/*
 * --include/--exclude: exactly the expected keys, markers only for
 * directories empty on disk, and excluded directories never entered:
 * what is inside them (unreadable, or a symlink, a FIFO and a bad name
 * when we are root and mode 000 means nothing) is neither reported nor
 * counted.
 */
static void
test_filter(void)
{
	struct table tbl = { 0 };
	struct scan_stats st;
	struct buf err = { NULL, 0, 0 };
	struct filter *f;
	char *got;

	build_filter_tree();

	/* The photo backup. */
	f = filter_new();
	if (filter_add(f, 1, "*.jpg") == -1 || filter_add(f, 1, "*.png") == -1 ||
	    filter_add(f, 0, "tmp/**") == -1 ||
	    filter_add(f, 0, "node_modules") == -1)
		bail("filter_add", "photos");
	ok(scan_filtered("filt", 0, NULL, f, &tbl, &st, &err) == 0,
	    "filter, includes: scan");
	got = keys_of(&tbl);
	is_str(got, "doc/cover.jpg photos/2020/a.jpg photos/2020/b.png "
	    "top-link.jpg.rclonelink top.png", "filter, includes: exactly the "
	    "photos (a link filtered by its own path), no markers");
	free(got);
	check_stats(&st, 5, 0, 0, 0, 2 + 3 + 2 + 3 + 7, "filter, includes");
	ok(count_lines(&err) == 0, "filter, includes: nothing on stderr");
	table_free(&tbl);
	filter_free(f);

	/* Excludes only: markers for directories empty on disk alone. */
	f = filter_new();
	if (filter_add(f, 0, "tmp/") == -1 ||
	    filter_add(f, 0, "node_modules") == -1 ||
	    filter_add(f, 0, "*.tmp") == -1 || filter_add(f, 0, "*.txt") == -1)
		bail("filter_add", "excludes");
	ok(scan_filtered("filt", 0, NULL, f, &tbl, &st, &err) == 0,
	    "filter, excludes: scan");
	got = keys_of(&tbl);
	is_str(got, "doc/cover.jpg lonely/link.rclonelink photos/2020/a.jpg "
	    "photos/2020/b.png photos/empty/ top-link.jpg.rclonelink top.png",
	    "filter, excludes: the kept links, no marker where files were "
	    "left out");
	free(got);
	check_stats(&st, 6, 1, 0, 0, 2 + 3 + 2 + 3 + 7 + 7, "filter, excludes");
	ok(count_lines(&err) == 0, "filter, excludes: nothing on stderr");
	table_free(&tbl);
	filter_free(f);

	/* --follow-symlinks: the kept link to a photo is a photo. */
	f = filter_new();
	if (filter_add(f, 1, "*.jpg") == -1 || filter_add(f, 0, "tmp") == -1 ||
	    filter_add(f, 0, "/node_modules/") == -1)
		bail("filter_add", "follow");
	ok(scan_filtered("filt", 1, NULL, f, &tbl, &st, &err) == 0,
	    "filter, follow: scan");
	got = keys_of(&tbl);
	is_str(got, "doc/cover.jpg photos/2020/a.jpg top-link.jpg",
	    "filter, follow: the followed link is filtered as a file");
	free(got);
	check_stats(&st, 3, 0, 0, 1, 2 + 2 + 3, "filter, follow");
	/* It could have led to a directory of photos: worth a word. */
	ok(count_lines(&err) == 1, "filter, follow: one line on stderr");
	has_msg(&err, "filt/lonely/link: cannot follow symbolic link",
	    "dangling link that might lead to photos");
	table_free(&tbl);
	filter_free(f);
	buf_free(&err);
}

/*
 * In a child (as uid/gid 65534 when we are root, so that mode 000
 * means something), scan tmpdir/perm and write "rc files dirs skipped
 * failed marker" to "out".  Exits 0, or 77 when the mode 000 directory
 * is still readable, 78 when tmpdir is out of reach, 79 when the
 * switch to uid 65534 is refused.
 */
static void
perm_child(int out, int errfd)
{
	struct table tbl = { 0 };
	struct scan_stats st;
	struct config cfg;
	char *root, *locked;
	int rc, fd;

	dup2(errfd, 2);
	if (geteuid() == 0 && (setgroups(0, NULL) == -1 ||
	    setgid(65534) == -1 || setuid(65534) == -1))
		_exit(79);
	root = tpath("perm");
	locked = tpath("perm/locked");
	if (access(root, R_OK | X_OK) == -1)
		_exit(78);
	if ((fd = open(locked, O_RDONLY | O_DIRECTORY)) != -1)
		_exit(77);
	memset(&cfg, 0, sizeof(cfg));
	rc = scan_tree(root, &cfg, &tbl, &st);
	dprintf(out, "%d %zu %zu %zu %zu %d\n", rc, st.files, st.dirs,
	    st.skipped, st.failed, lookup(&tbl, "noexec/", 7) != NULL);
	table_free(&tbl);
	free(root);
	free(locked);
	_exit(0);
}

static void
test_permission(void)
{
	char *errpath, *locked, *noexec, got[4096], msg[4096];
	int pfd[2], errfd, status, rc = -2, marker = 0;
	size_t files = 0, dirs = 0, skipped = 0, failed = 0;
	ssize_t n;
	pid_t pid;

	mkdir_t("perm");
	mkfile("perm/ok.txt", "ok");
	mkdir_t("perm/locked");
	mkfile("perm/locked/secret", "s");
	mkdir_t("perm/noexec");
	mkfile("perm/noexec/f", "f");
	errpath = tpath("perm.stderr");
	locked = tpath("perm/locked");
	noexec = tpath("perm/noexec");
	if ((errfd = open(errpath, O_RDWR | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    pipe(pfd) == -1 || chmod(tmpdir, 0755) == -1 ||
	    chmod(locked, 0) == -1 || chmod(noexec, 0644) == -1)
		bail("setup", "perm");
	free(locked);
	free(noexec);
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		bail("fork", "perm");
	if (pid == 0) {
		close(pfd[0]);
		perm_child(pfd[1], errfd);
	}
	close(pfd[1]);
	n = read(pfd[0], got, sizeof(got) - 1);
	got[n > 0 ? n : 0] = '\0';
	got[strcspn(got, "\n")] = '\0';
	close(pfd[0]);
	waitpid(pid, &status, 0);
	n = pread(errfd, msg, sizeof(msg) - 1, 0);
	msg[n > 0 ? n : 0] = '\0';
	close(errfd);
	unlink(errpath);
	free(errpath);

	if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
		ok(1, "unreadable directory # SKIP mode 000 is readable here");
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 78) {
		ok(1, "unreadable directory # SKIP %s not reachable by uid "
		    "65534", tmpdir);
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 79) {
		ok(1, "unreadable directory # SKIP cannot switch to uid 65534");
		return;
	}
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "permission: child ran (status %d)", status);
	sscanf(got, "%d %zu %zu %zu %zu %d", &rc, &files, &dirs, &skipped,
	    &failed, &marker);
	ok(rc == 0, "unreadable directory: the walk goes on");
	ok(files == 1 && failed == 2 && skipped == 0,
	    "unreadable directory: 1 file, 2 failed (%s)", got);
	ok(dirs == 1 && marker,
	    "directory of unreachable entries: marker (%s)", got);
	if (!ok(strstr(msg, "perm/locked: cannot open directory: "
	    "Permission denied\n") != NULL, "message: unreadable directory"))
		tap_diag("%s", msg);
	if (!ok(strstr(msg, "perm/noexec/f: Permission denied\n") != NULL,
	    "message: unsearchable directory"))
		tap_diag("%s", msg);
}

/* Make every directory writable again, then remove the tree. */
static int
chmod_one(const char *path, const struct stat *sb, int type,
    struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_D || type == FTW_DNR)
		chmod(path, (sb->st_mode & 07777) | 0700);
	return 0;
}

int
main(void)
{
	const char *t;

	t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_scan.XXXXXX",
	    t != NULL && t[0] != '\0' ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror(tmpdir);
		return 99;
	}
	build_tree();
	test_default();
	test_follow();
	test_prefix();
	test_threads();
	test_utf8();
	test_root();
	test_permission();
	test_filter();

	nftw(tmpdir, chmod_one, 16, FTW_PHYS);
	ok(tap_rmtree(tmpdir) == 0,
	    "temporary tree removed");
	free(longdir);
	return tap_done();
}
