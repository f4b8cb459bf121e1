/*
 * Unit tests for filter.c: the glob matcher (through one --include,
 * which keeps exactly the files a pattern matches), exclude and include
 * semantics, directory pruning, --exclude-from and malformed patterns.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"
#include "tap.h"

struct match_case {
	const char	*pattern;
	const char	*path;
	int		 want;
};

/* Pattern against file path: does an --include of it keep the file? */
static const struct match_case match_cases[] = {
	/* a name pattern matches the last segment at any depth */
	{ "*.jpg", "a.jpg", 1 },
	{ "*.jpg", "photos/2020/a.jpg", 1 },
	{ "*.jpg", ".jpg", 1 },
	{ "*.jpg", "a.jpeg", 0 },
	{ "*.jpg", "a.JPG", 0 },
	{ "*.jpg", "a.jpg/b.txt", 0 },
	{ "a.jpg", "x/a.jpg", 1 },
	{ "a.jpg", "xa.jpg", 0 },
	{ "*", "anything/at/all", 1 },
	/* '?' is one byte, never '/' */
	{ "?.txt", "a.txt", 1 },
	{ "?.txt", "ab.txt", 0 },
	{ "?.txt", ".txt", 0 },
	{ "a?b", "a/b", 0 },
	{ "x/a?b", "x/a/b", 0 },
	/* with '/': the path from the root; '*' stays in its segment */
	{ "a/*.jpg", "a/x.jpg", 1 },
	{ "a/*.jpg", "a/b/x.jpg", 0 },
	{ "a/*.jpg", "b/a/x.jpg", 0 },
	{ "a/*", "a/x", 1 },
	{ "a/*", "a/x/y", 0 },
	{ "*/x", "a/x", 1 },
	{ "*/x", "a/b/x", 0 },
	/* leading '/': anchored, then dropped */
	{ "/top.txt", "top.txt", 1 },
	{ "/top.txt", "d/top.txt", 0 },
	{ "//top.txt", "top.txt", 1 },
	{ "/a/b", "a/b", 1 },
	/* '**' as a whole segment: start, middle, end */
	{ "**/x.jpg", "x.jpg", 1 },
	{ "**/x.jpg", "a/b/x.jpg", 1 },
	{ "**/x.jpg", "ax.jpg", 0 },
	{ "a/**/x.jpg", "a/x.jpg", 1 },
	{ "a/**/x.jpg", "a/b/x.jpg", 1 },
	{ "a/**/x.jpg", "a/b/c/d/x.jpg", 1 },
	{ "a/**/x.jpg", "ab/x.jpg", 0 },
	{ "a/**/x.jpg", "a/bx.jpg", 0 },
	{ "a/**/x.jpg", "b/a/x.jpg", 0 },
	{ "a/**/b/**/c", "a/b/c", 1 },
	{ "a/**/b/**/c", "a/x/b/y/z/c", 1 },
	{ "a/**/b/**/c", "a/x/y/c", 0 },
	{ "a/**/**/b", "a/b", 1 },
	{ "a/**/**/b", "a/x/y/b", 1 },
	{ "**/**/x", "x", 1 },
	{ "**/**/x", "a/b/x", 1 },
	{ "a/**/**", "a/b/c", 1 },
	{ "a*", "a", 1 },
	{ "*a*", "a", 1 },
	{ "a/**", "a/x", 1 },
	{ "a/**", "a/b/c", 1 },
	{ "a/**", "a", 0 },
	{ "a/**", "ab/c", 0 },
	{ "**", "x", 1 },
	{ "**", "a/b/c", 1 },
	{ "**/", "a/b", 1 },		/* any directory: keeps what is in one */
	{ "**/", "top", 0 },
	/* '**' inside a segment: '*' that crosses '/' */
	{ "a**b", "axxb", 1 },
	{ "a**b", "x/axxb", 1 },
	{ "x/a**b", "x/ab", 1 },
	{ "x/a**b", "x/a/c/b", 1 },
	{ "x/a**b", "x/a/c/d", 0 },
	{ "x/**.jpg", "x/a/b.jpg", 1 },
	/* classes */
	{ "[abc].txt", "b.txt", 1 },
	{ "[abc].txt", "d.txt", 0 },
	{ "[a-c]x", "bx", 1 },
	{ "[a-c]x", "dx", 0 },
	{ "[a-c0-9]", "7", 1 },
	{ "[!a]x", "bx", 1 },
	{ "[!a]x", "ax", 0 },
	{ "[^a]x", "bx", 1 },
	{ "[^a]x", "ax", 0 },
	{ "[]]", "]", 1 },
	{ "[!]]", "]", 0 },
	{ "[a-]", "-", 1 },
	{ "[z-a]", "m", 0 },		/* a reversed range is empty */
	{ "a/x[/]y", "a/x/y", 0 },		/* a class never matches '/' */
	{ "a/x[!a]y", "a/x/y", 0 },
	{ "[*]", "*", 1 },
	{ "[*]", "a", 0 },
	/* backslash escapes */
	{ "\\*.txt", "*.txt", 1 },
	{ "\\*.txt", "a.txt", 0 },
	{ "a\\?", "a?", 1 },
	{ "a\\?", "ab", 0 },
	{ "\\[x]", "[x]", 1 },
	{ "\\[x]", "x", 0 },
	{ "[\\]]", "]", 1 },
	{ "[a\\-c]", "b", 0 },
	{ "[a\\-c]", "-", 1 },
	{ "a\\\\b", "a\\b", 1 },
	{ "\\a", "a", 1 },
	/* bytes, not characters: UTF-8 goes through unchanged */
	{ "caf\xc3\xa9*", "caf\xc3\xa9.jpg", 1 },
	{ "caf\xc3\xa9*", "cafe.jpg", 0 },
	{ "*\xe2\x98\x83*", "a/x\xe2\x98\x83y", 1 },
	{ "\xe6\x97\xa5/*.txt", "\xe6\x97\xa5/a.txt", 1 },
	{ "caf??", "caf\xc3\xa9", 1 },	/* '?' is one byte */
	{ "caf?", "caf\xc3\xa9", 0 },
	{ "[\xc3]*", "\xc3\xa9", 1 },
	/* exact, case-sensitive */
	{ "README", "README", 1 },
	{ "README", "readme", 0 },
	{ "README", "README.md", 0 },
	{ "a.b", "axb", 0 },
};

/* 1 when a filter with the single include "pattern" keeps "path". */
static int
include_keeps(const char *pattern, const char *path)
{
	struct filter *f = filter_new();
	int keep = -1;

	if (filter_add(f, 1, pattern) == 0)
		keep = filter_file(f, path);
	filter_free(f);
	return keep;
}

static void
test_matcher(void)
{
	const struct match_case *c;
	size_t i, n = sizeof(match_cases) / sizeof(match_cases[0]);

	for (i = 0; i < n; i++) {
		c = &match_cases[i];
		ok(include_keeps(c->pattern, c->path) == c->want,
		    "match \"%s\" on \"%s\": %d", c->pattern, c->path, c->want);
	}
}

/* Patterns that backtrack exponentially in a naive matcher. */
static void
test_pathological(void)
{
	char path[101], deep[201];
	uint64_t start;
	size_t i;
	int ok1 = 1, ok2 = 1, ok3 = 1;

	memset(path, 'a', 100);
	path[100] = '\0';
	for (i = 0; i < 200; i += 2) {
		deep[i] = 'a';
		deep[i + 1] = '/';
	}
	deep[199] = '\0';
	start = now_ms();
	for (i = 0; i < 100; i++) {
		ok1 &= include_keeps("*a*a*a*a*a*a*a*a*b", path) == 0;
		ok2 &= include_keeps("*a*a*a*a*a*a*a*a*a", path) == 1;
		ok3 &= include_keeps("/**a**a**a**a**a**a**a**b", deep) == 0;
	}
	ok(ok1, "\"*a*a*a*a*a*a*a*a*b\" does not match 100 a's");
	ok(ok2, "\"*a*a*a*a*a*a*a*a*a\" matches 100 a's");
	ok(ok3, "\"/**a**a...**b\" does not match a/a/.../a");
	ok(now_ms() - start < 2000, "300 pathological matches in %llu ms",
	    (unsigned long long)(now_ms() - start));
}

/* Paths kept by "f", joined by spaces. */
static char *
kept(const struct filter *f, const char **paths, size_t n)
{
	struct buf b = { NULL, 0, 0 };
	size_t i;

	buf_append(&b, "", 0);
	for (i = 0; i < n; i++) {
		if (!filter_file(f, paths[i]))
			continue;
		if (b.len > 0)
			buf_append(&b, " ", 1);
		buf_append(&b, paths[i], strlen(paths[i]));
	}
	return b.data;
}

static void
test_semantics(void)
{
	static const char *paths[] = {
		"a.jpg", "b.png", "c.txt", "photos/2020/d.jpg",
		"photos/2020/e.JPG", "tmp/f.jpg", "tmp/sub/g.png",
		"x/tmp/h.jpg", "tmpx/i.jpg", "tmp", "README",
		"node_modules/m.png", "a/node_modules/b/n.jpg",
		"node_modules.png", "cache/k.jpg", "y/cache/l.png",
	};
	size_t n = sizeof(paths) / sizeof(paths[0]);
	struct filter *f;
	char *got;

	/* The example. */
	f = filter_new();
	ok(filter_add(f, 1, "*.jpg") == 0 && filter_add(f, 1, "*.png") == 0 &&
	    filter_add(f, 0, "tmp/**") == 0, "example: patterns added");
	ok(filter_has_includes(f), "example: has includes");
	got = kept(f, paths, n);
	is_str(got, "a.jpg b.png photos/2020/d.jpg x/tmp/h.jpg tmpx/i.jpg "
	    "node_modules/m.png a/node_modules/b/n.jpg node_modules.png "
	    "cache/k.jpg y/cache/l.png", "example: exactly the photos "
	    "outside tmp/");
	free(got);

	/* Excludes by name reach every depth, and drop what is beneath. */
	ok(filter_add(f, 0, "node_modules") == 0 &&
	    filter_add(f, 0, "cache/") == 0, "excludes by name added");
	got = kept(f, paths, n);
	is_str(got, "a.jpg b.png photos/2020/d.jpg x/tmp/h.jpg tmpx/i.jpg "
	    "node_modules.png", "exclude by name: any parent directory");
	free(got);
	filter_free(f);

	/* Excludes only: everything else is kept. */
	f = filter_new();
	ok(filter_add(f, 0, "*.txt") == 0 && filter_add(f, 0, "/tmp") == 0,
	    "excludes only: added");
	ok(!filter_has_includes(f), "excludes only: no includes");
	got = kept(f, paths, 12);
	is_str(got, "a.jpg b.png photos/2020/d.jpg photos/2020/e.JPG "
	    "x/tmp/h.jpg tmpx/i.jpg README node_modules/m.png",
	    "excludes only");
	free(got);
	ok(!filter_file(f, "d.txt/x.jpg"), "a name exclude matches a parent "
	    "directory's name");
	filter_free(f);

	/* A path exclude drops what lies under a matching directory. */
	f = filter_new();
	ok(filter_add(f, 0, "a/*/c") == 0 && filter_add(f, 0, "build/") == 0,
	    "path excludes added");
	ok(!filter_file(f, "a/b/c"), "path exclude: the file");
	ok(!filter_file(f, "a/b/c/d/e.txt"), "path exclude: under a directory");
	ok(filter_file(f, "x/a/b/c"), "path exclude: anchored");
	ok(filter_file(f, "build"), "dir-only exclude: not a file");
	ok(!filter_file(f, "build/x.o"), "dir-only exclude: the directory");
	ok(!filter_file(f, "src/build/x.o"), "dir-only exclude: any depth");
	filter_free(f);

	/* Directory-only include: the files beneath. */
	f = filter_new();
	ok(filter_add(f, 1, "photos/") == 0 && filter_add(f, 0, "*.tmp") == 0,
	    "dir-only include added");
	ok(filter_file(f, "photos/a.jpg") && filter_file(f, "x/photos/b/c") &&
	    !filter_file(f, "photos") && !filter_file(f, "other/a.jpg") &&
	    !filter_file(f, "photos/a.tmp"),
	    "dir-only include keeps the files under such directories");
	filter_free(f);

	/* No filter, or an empty one, keeps everything. */
	ok(filter_file(NULL, "a/b") == 1 && filter_prune_dir(NULL, "a") == 0 &&
	    filter_has_includes(NULL) == 0, "NULL filter keeps everything");
	f = filter_new();
	ok(filter_file(f, "a/b") == 1 && filter_prune_dir(f, "a") == 0 &&
	    filter_has_includes(f) == 0, "empty filter keeps everything");
	filter_free(f);
	filter_free(NULL);
}

struct prune_case {
	const char	*pattern;
	const char	*dir;
	int		 want;
};

static const struct prune_case prune_cases[] = {
	{ "node_modules", "node_modules", 1 },
	{ "node_modules", "a/b/node_modules", 1 },
	{ "node_modules", "a/node_modules/b", 1 },	/* below one */
	{ "node_modules", "node_modules2", 0 },
	{ "*.tmp", "x.tmp", 1 },			/* by name, too */
	{ "build/", "build", 1 },
	{ "build/", "src/build", 1 },
	{ "/build/", "src/build", 0 },
	{ "/build", "build", 1 },
	{ "a/b", "a/b", 1 },
	{ "a/b", "a/b/c", 1 },
	{ "a/b", "x/a/b", 0 },
	{ "a/b", "a", 0 },
	{ "tmp/**", "tmp", 1 },			/* everything in it */
	{ "tmp/**", "tmp/sub", 1 },
	{ "tmp/**", "x/tmp", 0 },
	{ "tmp/**", "tmpx", 0 },
	{ "tmp/*", "tmp", 1 },
	{ "tmp/**/", "tmp", 0 },		/* its files are kept */
	{ "tmp/**/", "tmp/sub", 1 },
	{ "tmp/*.o", "tmp", 0 },
	{ "**/cache/**", "cache", 1 },
	{ "**/cache/**", "x/y/cache", 1 },
	{ "**/cache/**", "x/cache/z", 1 },
	{ "**/cache/**", "x/cachex", 0 },
	{ "a/**/b", "a/x/y/b", 1 },
	{ "a/*/c", "a/b/c", 1 },
	{ "a/*/c", "a/b", 0 },
	{ "*.jpg", "photos", 0 },
};

static void
test_prune(void)
{
	const struct prune_case *c;
	struct filter *f;
	size_t i, n = sizeof(prune_cases) / sizeof(prune_cases[0]);

	for (i = 0; i < n; i++) {
		c = &prune_cases[i];
		f = filter_new();
		ok(filter_add(f, 0, c->pattern) == 0 &&
		    filter_prune_dir(f, c->dir) == c->want,
		    "prune: exclude \"%s\", directory \"%s\": %d", c->pattern,
		    c->dir, c->want);
		filter_free(f);
	}
	f = filter_new();
	ok(filter_add(f, 1, "tmp") == 0 && filter_add(f, 1, "tmp/**") == 0 &&
	    filter_add(f, 1, "tmp/") == 0 && !filter_prune_dir(f, "tmp"),
	    "prune: includes never prune");
	filter_free(f);
}

/* Write "text" to a new temporary file; its path (caller frees). */
static char *
write_temp(const char *text)
{
	const char *t = getenv("TMPDIR");
	char *path;
	FILE *fp;
	int fd;

	path = xasprintf("%s/test_filter.XXXXXX",
	    t != NULL && t[0] != '\0' ? t : "/tmp");
	if ((fd = mkstemp(path)) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		printf("Bail out! %s\n", path);
		exit(99);
	}
	fputs(text, fp);
	fclose(fp);
	return path;
}

static void
test_exclude_from(void)
{
	static const char *paths[] = {
		"a.log", "b.log\r", "keep.txt", "x/cache/f", "cache",
		"build/o", "src/build/o", "# comment", "#x", "last",
		"with space ", "with space", "a.txt",
	};
	struct filter *f;
	char *path, *got, *missing, msg[4096];
	int saved, rc;

	path = write_temp("# comment\r\n\r\n*.log\r\ncache/\n   \n\t\n"
	    "/build\r\n#x\nwith space \n\\#x\nlast");
	f = filter_new();
	if ((saved = tap_capture_begin()) == -1)
		exit(99);
	rc = filter_add_file(f, path);
	tap_capture_end(saved, msg, sizeof(msg));
	ok(rc == 0, "exclude-from: read");
	is_str(msg, "", "exclude-from: nothing said");
	ok(!filter_has_includes(f), "exclude-from: excludes only");
	got = kept(f, paths, sizeof(paths) / sizeof(paths[0]));
	is_str(got, "b.log\r keep.txt cache src/build/o # comment with space "
	    "a.txt", "exclude-from: comments, blank lines, CRLF");
	free(got);
	filter_free(f);
	unlink(path);
	free(path);

	missing = xasprintf("/nonexistent-%ld/excludes", (long)getpid());
	f = filter_new();
	if ((saved = tap_capture_begin()) == -1)
		exit(99);
	rc = filter_add_file(f, missing);
	tap_capture_end(saved, msg, sizeof(msg));
	ok(rc == -1, "exclude-from: missing file: -1");
	got = xasprintf("%s: No such file or directory\n", missing);
	ok(strstr(msg, got) != NULL, "exclude-from: missing file named");
	free(got);
	free(missing);
	filter_free(f);

	path = write_temp("ok\n*.o\nbad[\n");
	f = filter_new();
	if ((saved = tap_capture_begin()) == -1)
		exit(99);
	rc = filter_add_file(f, path);
	tap_capture_end(saved, msg, sizeof(msg));
	ok(rc == -1, "exclude-from: bad pattern: -1");
	got = xasprintf("%s:3: bad pattern \"bad[\": unclosed '['\n", path);
	if (!ok(strstr(msg, got) != NULL, "exclude-from: file and line named"))
		tap_diag("want \"%s\" in \"%s\"", got, msg);
	free(got);
	filter_free(f);
	unlink(path);
	free(path);
}

struct bad_case {
	const char	*pattern;
	const char	*message;
};

static void
test_malformed(void)
{
	static const struct bad_case bad[] = {
		{ "", "bad --include pattern \"\": empty pattern\n" },
		{ "/", "bad --include pattern \"/\": empty pattern\n" },
		{ "//", "bad --include pattern \"//\": empty pattern\n" },
		{ "[abc", "pattern \"[abc\": unclosed '['\n" },
		{ "a/[!", "pattern \"a/[!\": unclosed '['\n" },
		{ "[]", "pattern \"[]\": unclosed '['\n" },
		{ "[a\\", "pattern \"[a\\x5c\": unclosed '['\n" },
		{ "abc\\", "pattern \"abc\\x5c\": trailing backslash\n" },
		{ "x\\", "pattern \"x\\x5c\": trailing backslash\n" },
	};
	struct filter *f;
	char msg[4096], *big;
	size_t i;
	int saved, rc;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = filter_new();
		if ((saved = tap_capture_begin()) == -1)
			exit(99);
		rc = filter_add(f, 1, bad[i].pattern);
		tap_capture_end(saved, msg, sizeof(msg));
		ok(rc == -1 && !filter_has_includes(f) &&
		    filter_file(f, "x") == 1, "malformed \"%s\": -1, not added",
		    bad[i].pattern);
		if (!ok(strstr(msg, bad[i].message) != NULL,
		    "malformed \"%s\": reported", bad[i].pattern))
			tap_diag("want \"%s\" in \"%s\"", bad[i].message, msg);
		filter_free(f);
	}

	f = filter_new();
	if ((saved = tap_capture_begin()) == -1)
		exit(99);
	rc = filter_add(f, 0, "x\\\\");
	tap_capture_end(saved, msg, sizeof(msg));
	ok(rc == 0 && msg[0] == '\0', "an escaped backslash at the end is fine");
	filter_free(f);

	big = xmalloc(1026);
	memset(big, '*', 1025);
	big[1025] = '\0';
	big[0] = 'x';
	f = filter_new();
	if ((saved = tap_capture_begin()) == -1)
		exit(99);
	rc = filter_add(f, 0, big);
	tap_capture_end(saved, msg, sizeof(msg));
	ok(rc == -1 && strstr(msg, "longer than 1024 bytes") != NULL,
	    "a pattern over 1024 bytes is refused");
	big[1024] = '\0';
	ok(filter_add(f, 0, big) == 0 && !filter_file(f, "xyz"),
	    "a pattern of 1024 bytes is accepted");
	filter_free(f);
	free(big);
}

int
main(void)
{
	test_matcher();
	test_pathological();
	test_semantics();
	test_prune();
	test_exclude_from();
	test_malformed();
	return tap_done();
}
