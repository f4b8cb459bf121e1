/*
 * Unit tests for journal.c, the resume journal of multipart uploads.
 * XDG_STATE_HOME (or HOME) points into a mkdtemp(3) directory; each
 * test opens, saves and reopens journals there and checks the files,
 * their modes, the stale upload ids handed back and the messages.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"
#include "tap.h"

#define EP	"https://s3.example.com:9000"
#define BUCKET	"bkt"
#define KEY	"dir/file.bin"
#define SIZE	13		/* four parts of 4 bytes */
#define PART	4
#define SEC	1700000000
#define NSEC	123456789

/* A journal for EP/BUCKET/KEY as journal.c writes it: parts 1 and 3. */
#define MD5_1	"00112233445566778899aabbccddeeff"
#define MD5_3	"ffeeddccbbaa99887766554433221100"
#define IDENT \
	"endpoint https%3A%2F%2Fs3.example.com%3A9000\n" \
	"bucket bkt\n" \
	"key dir%2Ffile.bin\n"
#define HEAD	"p3backup-journal 1\n" IDENT
#define NUMS \
	"size 13\n" \
	"mtime 1700000000.123456789\n" \
	"part_size 4\n" \
	"nparts 4\n"
#define VALID	HEAD "upload_id UP\n" NUMS "1 " MD5_1 "\n3 " MD5_3 "\n"

static char tmpdir[4096];
static char statedir[4200];	/* tmpdir/state/p3backup */

static void
bail(const char *what, const char *path)
{
	printf("Bail out! %s %s: %s\n", what, path, strerror(errno));
	exit(99);
}

static void
put_file(const char *path, const char *content, size_t len)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    write(fd, content, len) != (ssize_t)len || close(fd) == -1)
		bail("write", path);
}

static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static int
mode_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/*
 * The number of entries in "dir" but the lock files ("HASH.lock", held
 * while a journal is open); *tmp set when one is a temp file.
 */
static int
dir_count(const char *dir, int *tmp)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	*tmp = 0;
	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    (strlen(de->d_name) > 5 && strcmp(de->d_name +
		    strlen(de->d_name) - 5, ".lock") == 0))
			continue;
		n++;
		if (strstr(de->d_name, ".tmp.") != NULL)
			*tmp = 1;
	}
	closedir(d);
	return n;
}

/* The number of times "needle" occurs in "hay". */
static int
count_str(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* Open the default identity with the given file version. */
static int
jopen(struct journal *j, uint64_t size, int64_t sec, int32_t nsec,
    uint64_t part, char **stale)
{
	return journal_open(j, EP, BUCKET, KEY, size, sec, nsec, part, stale);
}

/* Open, set "id", mark parts 1 and 3 when present, save, free. */
static void
make_saved(const char *ep, const char *bucket, const char *key,
    const char *id)
{
	struct journal j;
	char *stale;

	if (journal_open(&j, ep, bucket, key, SIZE, SEC, NSEC, PART,
	    &stale) == -1)
		bail("journal_open", key);
	j.upload_id = xstrdup(id);
	memset(&j.md5s[0], 0x11, 16);
	memset(&j.md5s[32], 0x33, 16);
	j.done[0] = j.done[2] = 1;
	if (journal_save(&j) == -1)
		bail("journal_save", key);
	journal_free(&j);
	free(stale);
}

static void
test_roundtrip(void)
{
	struct journal j;
	unsigned char md5a[16], md5c[16];
	char *stale, *path, *dir, hash[65], text[64];
	int tmp, fd;
	ssize_t n;

	dir = state_dir();
	is_str(dir, statedir, "state_dir() is $XDG_STATE_HOME/p3backup");
	free(dir);
	ok(jopen(&j, SIZE, SEC, NSEC, PART, &stale) == 0 && stale == NULL,
	    "a new journal: 0, no stale upload id");
	ok(j.nparts == 4 && j.upload_id == NULL && j.size == SIZE &&
	    j.part_size == PART && j.mtime_sec == SEC && j.mtime_nsec == NSEC &&
	    memchr(j.done, 1, 4) == NULL, "identity and four parts, none done");
	ok(mode_of(statedir) == 0700, "journal directory created with 0700");
	sha256_hex(EP "\0" BUCKET "\0" KEY, sizeof(EP BUCKET KEY) + 1,
	    hash);
	path = xasprintf("%s/%s.journal", statedir, hash);
	is_str(j.path, path, "file named by SHA-256 of endpoint NUL bucket NUL key");
	ok(journal_save(&j) == 0 && !exists(path),
	    "saving without an upload id writes nothing");

	j.upload_id = xstrdup("2~abc/def+ghi=");
	memset(md5a, 0xa1, sizeof(md5a));
	memset(md5c, 0xc3, sizeof(md5c));
	memcpy(&j.md5s[0], md5a, 16);
	memcpy(&j.md5s[32], md5c, 16);
	j.done[0] = j.done[2] = 1;
	ok(journal_save(&j) == 0, "saved with parts 1 and 3");
	ok(mode_of(path) == 0600, "journal file mode 0600");
	ok(dir_count(statedir, &tmp) == 1 && !tmp, "no temporary file left");
	if ((fd = open(path, O_RDONLY)) == -1)
		bail("open", path);
	n = read(fd, text, 19);
	close(fd);
	text[n < 0 ? 0 : n] = '\0';
	is_str(text, "p3backup-journal 1\n", "first line names format version 1");
	journal_free(&j);

	ok(jopen(&j, SIZE, SEC, NSEC, PART, &stale) == 1 && stale == NULL,
	    "reopened: 1");
	is_str(j.upload_id, "2~abc/def+ghi=", "upload id restored");
	ok(j.nparts == 4 && j.done[0] == 1 && j.done[1] == 0 &&
	    j.done[2] == 1 && j.done[3] == 0, "parts 1 and 3 done, 2 and 4 not");
	ok(memcmp(&j.md5s[0], md5a, 16) == 0 &&
	    memcmp(&j.md5s[32], md5c, 16) == 0, "part MD5s restored");

	j.done[3] = 1;
	memset(&j.md5s[48], 0xd4, 16);
	ok(journal_save(&j) == 0, "saved again over the old journal");
	journal_free(&j);
	ok(jopen(&j, SIZE, SEC, NSEC, PART, &stale) == 1 &&
	    j.done[0] && !j.done[1] && j.done[2] && j.done[3] &&
	    j.md5s[48] == 0xd4 && dir_count(statedir, &tmp) == 1 && !tmp,
	    "the rewrite replaced it: parts 1, 3 and 4");

	/* An encrypted upload: its data key and header, a part sent. */
	j.crypt_len = 40;
	j.crypt = xmalloc(j.crypt_len);
	memset(j.crypt, 0x5a, j.crypt_len);
	j.sealed[1] = 1;
	memset(&j.md5s[16], 0xb2, 16);
	ok(journal_save(&j) == 0, "saved with a crypt line and a sent part");
	journal_free(&j);
	ok(jopen(&j, SIZE, SEC, NSEC, PART, &stale) == 1 && j.crypt != NULL &&
	    j.crypt_len == 40 && j.crypt[0] == 0x5a && j.crypt[39] == 0x5a,
	    "the data key and header come back");
	ok(j.sealed[1] && !j.done[1] && j.md5s[16] == 0xb2 && !j.sealed[0] &&
	    j.done[0] && j.done[2] && j.done[3],
	    "part 2 comes back sent (its MD5 kept), not done");
	journal_remove(&j);
	journal_free(&j);
	free(path);
}

/* A journal saved for (SIZE, SEC, NSEC, PART) met with another version. */
static void
stale_case(uint64_t size, int64_t sec, int32_t nsec, uint64_t part,
    const char *what)
{
	struct journal j;
	char *stale = NULL, msg[4096];
	int h, rc, gone;

	make_saved(EP, BUCKET, KEY, "UP-stale");
	if ((h = tap_capture_begin()) == -1)
		exit(99);
	rc = jopen(&j, size, sec, nsec, part, &stale);
	tap_capture_end(h, msg, sizeof(msg));
	gone = !exists(j.path);
	ok(rc == 0 && gone && j.upload_id == NULL && msg[0] == '\0' &&
	    memchr(j.done, 1, j.nparts) == NULL,
	    "%s: 0, journal removed quietly", what);
	is_str(stale, "UP-stale", "%s: old upload id handed back", what);
	free(stale);
	journal_free(&j);
	ok(jopen(&j, size, sec, nsec, part, &stale) == 0 && stale == NULL,
	    "%s: nothing left to resume", what);
	journal_remove(&j);
	journal_free(&j);
}

static void
test_stale(void)
{
	stale_case(SIZE, SEC, NSEC + 1, PART, "mtime nsec changed");
	stale_case(SIZE, SEC - 1, NSEC, PART, "mtime sec changed");
	stale_case(SIZE + 1, SEC, NSEC, PART, "size changed");
	stale_case(SIZE, SEC, NSEC, PART * 2, "part size changed");
}

static void
test_identity(void)
{
	static const char *ids[][4] = {
		{ EP, BUCKET, KEY, "id-default" },
		{ EP, BUCKET, "dir/file.bim", "id-key" },
		{ EP, "bku", KEY, "id-bucket" },
		{ "http://127.0.0.1:9000", BUCKET, KEY, "id-endpoint" },
		{ EP, "ab", "c", "id-ab-c" },
		{ EP, "a", "bc", "id-a-bc" },
	};
	struct journal j;
	char *stale;
	size_t i, n = sizeof(ids) / sizeof(ids[0]);
	int tmp, good;

	for (i = 0; i < n; i++)
		make_saved(ids[i][0], ids[i][1], ids[i][2], ids[i][3]);
	ok(dir_count(statedir, &tmp) == (int)n,
	    "endpoint, bucket and key each give their own journal");
	for (i = 0; i < n; i++) {
		good = journal_open(&j, ids[i][0], ids[i][1], ids[i][2], SIZE,
		    SEC, NSEC, PART, &stale) == 1 && stale == NULL;
		is_str(good ? j.upload_id : NULL, ids[i][3],
		    "journal %s %s/%s reopened with its own upload id",
		    ids[i][0], ids[i][1], ids[i][2]);
		journal_remove(&j);
		journal_free(&j);
	}
	ok(dir_count(statedir, &tmp) == 0, "all removed");
}

static void
test_names(void)
{
	static const char *names[][4] = {
		{ EP, BUCKET, "line\nbreak\n", "id\nwith newline" },
		{ EP, BUCKET, " sp  ace ", "id with spaces " },
		/* "unicodé ☃ 日本" */
		{ EP, BUCKET, "unicod\xc3\xa9 \xe2\x98\x83 \xe6\x97\xa5\xe6\x9c\xac",
		    "\xe2\x98\x83" },
		{ EP, BUCKET, "100% %41 %%", "%41%" },
		{ EP, BUCKET, "tab\tcr\r+&=?#", "+/=" },
		{ "http://h:1/p a\nth", "b\nb", "", "x" },
	};
	struct journal j;
	char *stale, *text;
	size_t i, n = sizeof(names) / sizeof(names[0]);
	struct stat st;
	FILE *fp;
	int lines, c, good;

	for (i = 0; i < n; i++) {
		make_saved(names[i][0], names[i][1], names[i][2], names[i][3]);
		good = journal_open(&j, names[i][0], names[i][1], names[i][2],
		    SIZE, SEC, NSEC, PART, &stale) == 1 && stale == NULL;
		text = printable(names[i][2]);
		is_str(good ? j.key : NULL, names[i][2],
		    "key \"%s\" round-trips", text);
		is_str(good ? j.upload_id : NULL, names[i][3],
		    "its upload id round-trips");
		lines = 0;
		if (stat(j.path, &st) == -1 || (fp = fopen(j.path, "r")) == NULL)
			bail("open", j.path);
		while ((c = fgetc(fp)) != EOF)
			lines += c == '\n';
		fclose(fp);
		ok(lines == 11, "no raw newline in the file (%d lines)", lines);
		free(text);
		journal_remove(&j);
		journal_free(&j);
	}
}

/* Write "len" bytes of "content" as the journal, reopen, check. */
static void
corrupt_case(const char *content, size_t len, const char *want_stale,
    const char *what)
{
	struct journal j;
	char *stale = NULL, *path, msg[4096];
	int h, rc;

	if (jopen(&j, SIZE, SEC, NSEC, PART, &stale) == -1)
		bail("journal_open", what);
	path = xstrdup(j.path);
	journal_free(&j);
	put_file(path, content, len);
	if ((h = tap_capture_begin()) == -1)
		exit(99);
	rc = jopen(&j, SIZE, SEC, NSEC, PART, &stale);
	tap_capture_end(h, msg, sizeof(msg));
	if (!ok(rc == 0 && !exists(path) && j.upload_id == NULL &&
	    j.nparts == 4 && memchr(j.done, 1, 4) == NULL &&
	    count_str(msg, path) == 1 && count_str(msg, "\n") == 1 &&
	    strstr(msg, "discarded") != NULL,
	    "%s: 0, removed, one message naming the file", what))
		tap_diag("rc %d, message: %s", rc, msg);
	is_str(stale, want_stale, "%s: stale upload id", what);
	free(stale);
	journal_free(&j);
	free(path);
}

static void
test_corrupt(void)
{
	static const struct {
		const char	*text;
		const char	*stale;
		const char	*what;
	} cases[] = {
		{ "", NULL, "empty file" },
		{ "garbage\n\x01\x02\xff", NULL, "garbage" },
		{ "p3backup-journal 2\n" IDENT "upload_id UP\n" NUMS, NULL,
		    "version 2" },
		{ "p3backup-journal 1\r\nendpoint x\r\n", NULL, "CRLF" },
		{ HEAD, NULL, "truncated after the identity" },
		{ "p3backup-journal 1\nendpoint https%3A%2F%2Fs3", NULL,
		    "truncated inside the identity" },
		{ HEAD "upload_id U", NULL, "truncated inside the upload id" },
		{ HEAD "upload_id UP\nsize 1", "UP", "truncated inside size" },
		{ HEAD "upload_id UP\n" NUMS "1 " MD5_1, "UP",
		    "truncated inside a part line" },
		{ "p3backup-journal 1\nendpoint https%3a%2f%2fs3.example.com%3a9000\n"
		    "bucket bkt\nkey dir%2Ffile.bin\nupload_id UP\n" NUMS, NULL,
		    "identity not in canonical encoding" },
		{ HEAD "upload_id UP\n" NUMS "0 " MD5_1 "\n", "UP", "part 0" },
		{ HEAD "upload_id UP\n" NUMS "5 " MD5_1 "\n", "UP",
		    "part number past nparts" },
		{ HEAD "upload_id UP\n" NUMS "18446744073709551617 " MD5_1 "\n",
		    "UP", "part number overflowing" },
		{ HEAD "upload_id UP\n" NUMS "3 " MD5_3 "\n1 " MD5_1 "\n", "UP",
		    "parts out of order" },
		{ HEAD "upload_id UP\n" NUMS "1 " MD5_1 "\n1 " MD5_1 "\n", "UP",
		    "part repeated" },
		{ HEAD "upload_id UP\n" NUMS "1 0011\n", "UP", "short MD5" },
		{ HEAD "upload_id UP\n" NUMS "1 zz112233445566778899aabbccddeeff\n",
		    "UP", "MD5 not hex" },
		{ HEAD "upload_id UP\n" NUMS "+1 " MD5_1 "\n", "UP", "signed part" },
		{ HEAD "upload_id UP\n" NUMS "\n", "UP", "blank line" },
		{ HEAD "upload_id UP\nsize 99999999999999999999\n", "UP",
		    "size overflowing" },
		{ HEAD "upload_id UP\nsize 13\nmtime 1700000000.12345678\n", "UP",
		    "mtime with eight nsec digits" },
		{ HEAD "upload_id UP\nsize 13\nmtime x.123456789\n", "UP",
		    "mtime not a number" },
		{ HEAD "upload_id UP\nsize 13\nmtime 1.123456789\npart_size 0\n",
		    "UP", "part size 0" },
		{ HEAD "upload_id UP\nsize 13\nmtime 1.123456789\npart_size 4\n"
		    "nparts 5\n", "UP", "nparts not ceil(size/part_size)" },
		{ HEAD "upload_id UP\nbucket bkt\n" NUMS, "UP", "field repeated" },
		{ HEAD "upload_id \n" NUMS, NULL, "empty upload id" },
		{ HEAD "upload_id U%0\n" NUMS, NULL, "bad escape in upload id" },
		{ HEAD "upload_id U%00P\n" NUMS, NULL, "NUL in upload id" },
		{ HEAD "upload_id U P\n" NUMS, NULL, "raw space in upload id" },
		{ "p3backup-journal 1\nendpoint https%3A%2F%2Fs3.example.com%3A9000\n"
		    "bucket bkt\nkey dir%2Fother\nupload_id UP\n" NUMS, NULL,
		    "another key's journal" },
		{ "p3backup-journal 1\nbucket bkt\nendpoint "
		    "https%3A%2F%2Fs3.example.com%3A9000\n", NULL,
		    "fields out of order" },
	};
	static const char nul[] = HEAD "upload_id UP\n" NUMS "1 " MD5_1 "\0\n";
	struct journal j;
	char *stale, *path;
	size_t i;
	int good;

	/* The format as documented is what journal.c reads. */
	ok(jopen(&j, SIZE, SEC, NSEC, PART, &stale) == 0, "fresh journal");
	path = xstrdup(j.path);
	journal_free(&j);
	put_file(path, VALID, strlen(VALID));
	good = jopen(&j, SIZE, SEC, NSEC, PART, &stale) == 1;
	ok(good && strcmp(j.upload_id, "UP") == 0 && j.done[0] &&
	    !j.done[1] && j.done[2] && !j.done[3] && j.md5s[0] == 0x00 &&
	    j.md5s[1] == 0x11 && j.md5s[32] == 0xff && j.md5s[47] == 0x00,
	    "a hand-written journal in the documented format loads");
	journal_remove(&j);
	journal_free(&j);
	free(path);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		corrupt_case(cases[i].text, strlen(cases[i].text),
		    cases[i].stale, cases[i].what);
	corrupt_case(nul, sizeof(nul) - 1, NULL, "NUL byte");
}

static void
test_remove(void)
{
	struct journal j, j2;
	char *stale, *lock, msg[256];
	int h;

	make_saved(EP, BUCKET, KEY, "UP");
	if (jopen(&j, SIZE, SEC, NSEC, PART, &stale) != 1)
		bail("journal_open", "remove");
	ok(exists(j.lock), "an open journal has its lock file");
	ok(jopen(&j2, SIZE, SEC, NSEC, PART, &stale) == JOURNAL_BUSY &&
	    j2.path == NULL, "a second open of the same journal: busy");
	journal_remove(&j);
	ok(!exists(j.path), "journal_remove deletes the file");
	ok(exists(j.lock) && jopen(&j2, SIZE, SEC, NSEC, PART, &stale) ==
	    JOURNAL_BUSY, "...but the lock stays held (the upload may start "
	    "over)");
	lock = xstrdup(j.lock);
	if ((h = tap_capture_begin()) == -1)
		exit(99);
	journal_remove(&j);
	tap_capture_end(h, msg, sizeof(msg));
	is_str(msg, "", "removing it twice is quiet");
	journal_free(&j);
	ok(!exists(lock), "journal_free of a removed journal removes its lock "
	    "file");
	ok(jopen(&j2, SIZE, SEC, NSEC, PART, &stale) == 0 && j2.lock != NULL,
	    "then a new run opens and locks a new journal");
	journal_free(&j2);
	free(lock);
	journal_free(&j);
	memset(&j, 0, sizeof(j));
	journal_remove(&j);
	journal_free(&j);
	journal_free(NULL);
	ok(1, "journal_free takes a zeroed struct and NULL");
}

static void
test_home(void)
{
	struct journal j;
	char *home, *want, *dir, *stale;
	static const char *xdg[] = { NULL, "relative/state", "" };
	size_t i;

	home = xasprintf("%s/home", tmpdir);
	want = xasprintf("%s/.local/state/p3backup", home);
	setenv("HOME", home, 1);
	for (i = 0; i < sizeof(xdg) / sizeof(xdg[0]); i++) {
		if (xdg[i] == NULL)
			unsetenv("XDG_STATE_HOME");
		else
			setenv("XDG_STATE_HOME", xdg[i], 1);
		dir = state_dir();
		is_str(dir, want, "XDG_STATE_HOME %s%s%s: HOME/.local/state",
		    xdg[i] ? "\"" : "unset", xdg[i] ? xdg[i] : "",
		    xdg[i] ? "\" ignored" : "");
		free(dir);
	}
	ok(jopen(&j, SIZE, SEC, NSEC, PART, &stale) == 0 &&
	    strncmp(j.path, want, strlen(want)) == 0 &&
	    j.path[strlen(want)] == '/', "journal under HOME/.local/state");
	ok(mode_of(want) == 0700, "HOME/.local/state/p3backup created 0700");
	journal_free(&j);
	ok(!exists("relative"), "no relative directory created");
	free(home);
	free(want);
}

static void
test_errors(void)
{
	struct journal j;
	char *stale = NULL, *path, *file, *xdg, msg[4096];
	int h, rc, tmp;

	/* A regular file where the state directory should be. */
	file = xasprintf("%s/afile", tmpdir);
	put_file(file, "x", 1);
	xdg = xasprintf("%s/state", file);
	setenv("XDG_STATE_HOME", xdg, 1);
	if ((h = tap_capture_begin()) == -1)
		exit(99);
	rc = jopen(&j, SIZE, SEC, NSEC, PART, &stale);
	tap_capture_end(h, msg, sizeof(msg));
	ok(rc == -1 && strstr(msg, file) != NULL &&
	    strstr(msg, strerror(ENOTDIR)) != NULL && j.path == NULL,
	    "directory not creatable: -1, reported with path and cause");
	free(xdg);
	free(file);
	xdg = xasprintf("%s/state", tmpdir);
	setenv("XDG_STATE_HOME", xdg, 1);
	free(xdg);

	if ((h = tap_capture_begin()) == -1)
		exit(99);
	rc = jopen(&j, SIZE, SEC, NSEC, 0, &stale);
	tap_capture_end(h, msg, sizeof(msg));
	ok(rc == -1 && strstr(msg, KEY) != NULL, "part size 0: -1, reported");

	/* A directory in the journal's place: unreadable, not replaceable. */
	if (jopen(&j, SIZE, SEC, NSEC, PART, &stale) != 0)
		bail("journal_open", "errors");
	path = xstrdup(j.path);
	if (mkdir(path, 0700) == -1)
		bail("mkdir", path);
	j.upload_id = xstrdup("UP");
	if ((h = tap_capture_begin()) == -1)
		exit(99);
	rc = journal_save(&j);
	tap_capture_end(h, msg, sizeof(msg));
	ok(rc == -1 && strstr(msg, path) != NULL &&
	    dir_count(statedir, &tmp) == 1 && !tmp,
	    "rename fails: -1, reported, no temporary file left");
	journal_free(&j);
	if ((h = tap_capture_begin()) == -1)
		exit(99);
	rc = jopen(&j, SIZE, SEC, NSEC, PART, &stale);
	tap_capture_end(h, msg, sizeof(msg));
	ok(rc == -1 && strstr(msg, path) != NULL &&
	    strstr(msg, strerror(EISDIR)) != NULL,
	    "journal unreadable: -1, reported with path and cause");
	if (rmdir(path) == -1)
		bail("rmdir", path);

	if (geteuid() == 0) {
		ok(1, "save into a read-only directory # SKIP running as root");
		ok(1, "open an unreadable journal # SKIP running as root");
		goto out;
	}
	if (jopen(&j, SIZE, SEC, NSEC, PART, &stale) != 0)
		bail("journal_open", "errors");
	j.upload_id = xstrdup("UP");
	chmod(statedir, 0500);
	if ((h = tap_capture_begin()) == -1)
		exit(99);
	rc = journal_save(&j);
	tap_capture_end(h, msg, sizeof(msg));
	chmod(statedir, 0700);
	ok(rc == -1 && strstr(msg, ".tmp.") != NULL &&
	    strstr(msg, strerror(EACCES)) != NULL &&
	    dir_count(statedir, &tmp) == 0,
	    "save into a read-only directory: -1, reported, nothing left");
	if (journal_save(&j) == -1)
		bail("journal_save", path);
	journal_free(&j);
	chmod(path, 0);
	if ((h = tap_capture_begin()) == -1)
		exit(99);
	rc = jopen(&j, SIZE, SEC, NSEC, PART, &stale);
	tap_capture_end(h, msg, sizeof(msg));
	ok(rc == -1 && strstr(msg, path) != NULL && exists(path),
	    "open an unreadable journal: -1, reported, file kept");
	unlink(path);
out:
	free(path);
}

int
main(void)
{
	const char *t;
	char *xdg;

	t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_journal.XXXXXX",
	    t != NULL && t[0] != '\0' ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror(tmpdir);
		return 99;
	}
	xdg = xasprintf("%s/state", tmpdir);
	setenv("XDG_STATE_HOME", xdg, 1);
	snprintf(statedir, sizeof(statedir), "%s/p3backup", xdg);
	free(xdg);
	test_roundtrip();
	test_stale();
	test_identity();
	test_names();
	test_corrupt();
	test_remove();
	test_home();
	test_errors();
	ok(tap_rmtree(tmpdir) == 0,
	    "temporary tree removed");
	return tap_done();
}
