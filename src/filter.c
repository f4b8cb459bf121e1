/*
 * --include / --exclude / --exclude-from: glob patterns on the relative
 * paths of the scan ("a/b/c.jpg"), compared byte by byte, case
 * sensitive, without the locale.
 *
 * A pattern is compiled once into tokens: a literal byte, '?', a
 * class, '*' (no '/'), '**' (anything, '/' included) and "**" as a
 * whole segment followed by '/' (zero or more whole segments).  A
 * match runs the tokens as an NFA over the string, one set of live
 * token positions per byte: O(tokens x bytes) whatever the pattern, so
 * "*a*a*a*a*b" cannot backtrack exponentially.  fnmatch(3) is not used:
 * FNM_PATHNAME has no '**'.
 *
 * A pattern without '/' (a trailing '/' aside) tests one name: a file's
 * last segment, or any segment of a directory path; with '/', or a
 * leading '/' (dropped), a path from the root.  A trailing '/' means
 * directories only.  An exclude drops a file that it matches and every
 * file under a directory that it matches; an include keeps a file that
 * it matches (a directory-only one: the files under a matching
 * directory).  Excludes win.
 */
#include "config.h"

#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

/* Longest pattern accepted, in bytes: S3 keys are at most 1024. */
#define FILTER_PATMAX	1024

enum TOK {
	TOK_BYTE,		/* the byte tok.byte */
	TOK_ANY,		/* '?': one byte but '/' */
	TOK_CLASS,		/* [...]: one byte of the set, never '/' */
	TOK_STAR,		/* '*': any bytes but '/' */
	TOK_STARSTAR,		/* '**' inside a segment or at the end */
	TOK_SEGSTAR		/* "**" + "/" as whole segment: "" or ".../" */
};

struct tok {
	unsigned char	 type;		/* enum TOK */
	unsigned char	 byte;
	uint16_t	 cls;		/* TOK_CLASS: index into pat.cls */
};

struct pat {
	struct tok	*tok;
	size_t		 ntok;
	unsigned char	(*cls)[32];	/* 256-bit byte sets */
	size_t		 ncls;
	int		 include;
	int		 anchored;	/* matches paths, not names */
	int		 dironly;	/* had a trailing '/' */
	int		 subtree;	/* ends in '/' then '*' or '**' */
};

/*
 * What an include met during a scan, for filter_hints.  Kept apart from
 * the patterns: matching is logically const, this is bookkeeping.
 */
struct pat_use {
	char		*text;		/* the pattern as given */
	size_t		 files;		/* files it kept */
	char		*dir;		/* the first directory it names */
};

struct filter {
	struct pat	*pats;
	size_t		 npats;
	size_t		 nincl;
	struct pat_use	*use;		/* one per pattern */
};

/*
 * Parse the class at s[*i] (just after the '[') up to its ']' into a
 * new set of "p"; "*i" is left after the ']'.  Returns 0, or -1 when
 * the class is not closed.
 */
static int
filter_class_parse(struct pat *p, const char *s, size_t len, size_t *i)
{
	unsigned char *set;
	size_t k = *i, b;
	int neg = 0, first = 1;
	unsigned char lo, hi;

	p->cls = xrealloc(p->cls, (p->ncls + 1) * sizeof(*p->cls));
	set = p->cls[p->ncls++];
	memset(set, 0, sizeof(*p->cls));
	if (k < len && (s[k] == '!' || s[k] == '^')) {
		neg = 1;
		k++;
	}
	for (;;) {
		if (k >= len)
			return -1;
		if (s[k] == ']' && !first)
			break;
		first = 0;
		if (s[k] == '\\' && ++k >= len)
			return -1;
		lo = hi = (unsigned char)s[k++];
		if (k + 1 < len && s[k] == '-' && s[k + 1] != ']') {
			k++;
			if (s[k] == '\\' && ++k >= len)
				return -1;
			hi = (unsigned char)s[k++];
		}
		for (b = lo; b <= hi; b++)
			set[b / 8] |= 1u << (b % 8);
	}
	if (neg)
		for (b = 0; b < 32; b++)
			set[b] = ~set[b];
	*i = k + 1;
	return 0;
}

/*
 * Compile the "len" bytes of "s" (leading and trailing slashes already
 * taken off) into the tokens of "p".  Returns 0, or -1 with *why set.
 */
static int
filter_pat_compile(struct pat *p, const char *s, size_t len, const char **why)
{
	struct tok *t;
	size_t i = 0, n;
	int segstart;

	p->tok = xcalloc(len, sizeof(*p->tok));
	while (i < len) {
		t = &p->tok[p->ntok];
		segstart = p->ntok == 0 || t[-1].type == TOK_SEGSTAR ||
		    (t[-1].type == TOK_BYTE && t[-1].byte == '/');
		switch (s[i]) {
		case '\\':
			if (++i == len) {
				*why = "trailing backslash";
				return -1;
			}
			t->type = TOK_BYTE;
			t->byte = (unsigned char)s[i++];
			break;
		case '?':
			t->type = TOK_ANY;
			i++;
			break;
		case '[':
			i++;
			if (filter_class_parse(p, s, len, &i) == -1) {
				*why = "unclosed '['";
				return -1;
			}
			t->type = TOK_CLASS;
			t->cls = (uint16_t)(p->ncls - 1);
			break;
		case '*':
			for (n = 0; i < len && s[i] == '*'; i++)
				n++;
			if (n == 1)
				t->type = TOK_STAR;
			else if (segstart && i < len && s[i] == '/') {
				t->type = TOK_SEGSTAR;
				i++;
			} else
				t->type = TOK_STARSTAR;
			break;
		default:
			t->type = TOK_BYTE;
			t->byte = (unsigned char)s[i++];
			break;
		}
		if (t->type == TOK_SEGSTAR || (t->type == TOK_BYTE &&
		    t->byte == '/'))
			p->anchored = 1;
		p->ntok++;
	}
	return 0;
}

/*
 * Add the positions reachable from "set" without a byte.  A position
 * is 0 (dead), 1 (live) or 2 (live inside a TOK_SEGSTAR, between two
 * '/', where it cannot end yet).
 */
static void
filter_pat_closure(const struct pat *p, size_t ntok, unsigned char *set)
{
	size_t i;

	for (i = 0; i < ntok; i++)
		if ((set[i] & 1) && p->tok[i].type >= TOK_STAR)
			set[i + 1] |= 1;
}

/*
 * 1 when the first "ntok" tokens of "p" match the "len" bytes at "s"
 * or, with "prefix", the bytes before one of its '/'.
 */
static int
filter_pat_match(const struct pat *p, size_t ntok, const char *s, size_t len,
    int prefix)
{
	unsigned char states[2][FILTER_PATMAX + 1], *cur, *next, *swap;
	const struct tok *t;
	size_t i, k;
	int c, live, stay, step;

	cur = states[0];
	next = states[1];
	memset(cur, 0, ntok + 1);
	cur[0] = 1;
	filter_pat_closure(p, ntok, cur);
	for (k = 0; k < len; k++) {
		c = (unsigned char)s[k];
		if (prefix && c == '/' && cur[ntok])
			return 1;
		memset(next, 0, ntok + 1);
		live = 0;
		for (i = 0; i < ntok; i++) {
			if (!cur[i])
				continue;
			t = &p->tok[i];
			/* A star eats the byte and "stay"s; others "step" on. */
			stay = step = 0;
			if (t->type == TOK_STAR || t->type == TOK_STARSTAR)
				stay = t->type == TOK_STARSTAR || c != '/';
			else if (t->type == TOK_SEGSTAR)
				/* It may end only after a '/'. */
				stay = c == '/' ? 1 : 2;
			else if (t->type == TOK_BYTE)
				step = c == t->byte;
			else
				step = c != '/' && (t->type == TOK_ANY ||
				    (p->cls[t->cls][c / 8] >> (c % 8) & 1));
			next[i] |= stay;
			next[i + 1] |= step;
			live |= stay | step;
		}
		if (!live)
			return 0;
		filter_pat_closure(p, ntok, next);
		swap = cur;
		cur = next;
		next = swap;
	}
	return cur[ntok] != 0;
}

/*
 * 1 when "p" matches the directory "path" ("len" bytes) or one of its
 * parents, taken as directories: a name pattern is tried on each
 * segment, a path pattern on each leading part (in one pass, so that a
 * deep path costs no more than a long one).  A "subtree" pattern also
 * matches a directory all of whose contents it covers.
 */
static int
filter_pat_dir(const struct pat *p, const char *path, size_t len)
{
	size_t start = 0, end;

	if (p->anchored) {
		if (filter_pat_match(p, p->ntok, path, len, 1))
			return 1;
	} else
		for (end = 0; end <= len; end++) {
			if (end < len && path[end] != '/')
				continue;
			if (filter_pat_match(p, p->ntok, path + start,
			    end - start, 0))
				return 1;
			start = end + 1;
		}
	return p->subtree && filter_pat_match(p, p->ntok - 2, path, len, 0);
}

/*
 * 1 when "p" matches the file "path" (its last segment starts at
 * "name") itself; directory-only patterns never do.
 */
static int
filter_pat_file(const struct pat *p, const char *path, size_t len, size_t name)
{
	if (p->dironly)
		return 0;
	if (p->anchored)
		return filter_pat_match(p, p->ntok, path, len, 0);
	return filter_pat_match(p, p->ntok, path + name, len - name, 0);
}

/*
 * filter_add with "where" ("FILE:LINE") or NULL for messages.
 */
static int
filter_add_at(struct filter *f, int include, const char *pattern,
    const char *where)
{
	struct pat p;
	const char *why = NULL, *s = pattern;
	char *shown;
	size_t len = strlen(pattern), bs;
	int rc = -1;

	memset(&p, 0, sizeof(p));
	p.include = include;
	/* A trailing '/' (not escaped) means directories only. */
	while (len > 0 && s[len - 1] == '/') {
		for (bs = 0; bs < len - 1 && s[len - 2 - bs] == '\\'; bs++)
			;
		if (bs % 2 == 1)
			break;
		len--;
		p.dironly = 1;
	}
	/* A leading '/' anchors to the root. */
	for (; len > 0 && *s == '/'; s++, len--)
		p.anchored = 1;
	if (len == 0)
		why = "empty pattern";
	else if (len > FILTER_PATMAX)
		why = "pattern longer than 1024 bytes";
	else if (filter_pat_compile(&p, s, len, &why) == 0) {
		p.subtree = !p.dironly && p.ntok >= 2 &&
		    p.tok[p.ntok - 2].type == TOK_BYTE &&
		    p.tok[p.ntok - 2].byte == '/' &&
		    (p.tok[p.ntok - 1].type == TOK_STAR ||
		    p.tok[p.ntok - 1].type == TOK_STARSTAR);
		f->pats = xrealloc(f->pats, (f->npats + 1) * sizeof(*f->pats));
		f->use = xrealloc(f->use, (f->npats + 1) * sizeof(*f->use));
		memset(&f->use[f->npats], 0, sizeof(*f->use));
		f->use[f->npats].text = xstrdup(pattern);
		f->pats[f->npats++] = p;
		f->nincl += include != 0;
		memset(&p, 0, sizeof(p));
		rc = 0;
	}
	if (rc == -1) {
		shown = printable(pattern);
		if (where != NULL)
			warnx("%s: bad pattern \"%s\": %s", where, shown, why);
		else
			warnx("bad %s pattern \"%s\": %s", include ?
			    "--include" : "--exclude", shown, why);
		free(shown);
	}
	free(p.tok);
	free(p.cls);
	return rc;
}

/* A new, empty filter set (keeps everything); free with filter_free. */
struct filter *
filter_new(void)
{
	return xcalloc(1, sizeof(struct filter));
}

/* Free "f" and its patterns; accepts NULL. */
void
filter_free(struct filter *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->npats; i++) {
		free(f->pats[i].tok);
		free(f->pats[i].cls);
		free(f->use[i].text);
		free(f->use[i].dir);
	}
	free(f->pats);
	free(f->use);
	free(f);
}

/*
 * Compile "pattern" (copied) as an include ("include" 1, --include) or an
 * exclude (0, --exclude).  A pattern without '/' matches a name at any
 * depth; with '/' it matches the path from the root (a leading '/' is
 * dropped); a trailing '/' means directories only.  '*' and '?' stay
 * within a segment, '**' crosses segments, [...] is a class, '\' escapes.
 * Returns 0, or -1 after reporting a malformed pattern: empty, an
 * unclosed '[', a trailing lone '\', or longer than 1024 bytes.
 */
int
filter_add(struct filter *f, int include, const char *pattern)
{
	return filter_add_at(f, include, pattern, NULL);
}

/*
 * --exclude-from: add one exclude per line of the file "path": a trailing
 * "\r" is dropped, blank lines (spaces and tabs only) and lines starting
 * with '#' are skipped; the rest of a line is the pattern, spaces
 * included.  Returns 0, or -1 after reporting the file's error or the
 * first bad pattern (as "FILE:LINE"); the patterns before it stay added.
 */
int
filter_add_file(struct filter *f, const char *path)
{
	FILE *fp;
	char *line = NULL, *where;
	size_t cap = 0, lineno = 0;
	ssize_t len;
	int rc = -1, added;

	if ((fp = fopen(path, "r")) == NULL) {
		warn("%s", path);
		goto out;
	}
	while ((len = getline(&line, &cap, fp)) != -1) {
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (line[0] == '#' || strspn(line, " \t") == (size_t)len)
			continue;
		where = xasprintf("%s:%zu", path, lineno);
		added = filter_add_at(f, 0, line, where);
		free(where);
		if (added == -1)
			goto out;
	}
	if (ferror(fp)) {
		warn("%s", path);
		goto out;
	}
	rc = 0;
out:
	if (fp != NULL)
		fclose(fp);
	free(line);
	return rc;
}

/*
 * Whether the file at relative path "path" (no leading '/') is backed up:
 * no exclude matches it or a parent directory, and, when there are
 * includes, one matches it (or, directory-only, a parent).  A NULL filter
 * keeps everything.  Counts, for filter_hints, the files each include
 * keeps.
 */
int
filter_file(const struct filter *f, const char *path)
{
	const struct pat *p;
	const char *slash;
	size_t i, len, name;
	int keep;

	if (f == NULL)
		return 1;
	len = strlen(path);
	slash = strrchr(path, '/');
	name = slash == NULL ? 0 : (size_t)(slash - path) + 1;
	for (i = 0; i < f->npats; i++) {
		p = &f->pats[i];
		if (!p->include && ((name > 0 &&
		    filter_pat_dir(p, path, name - 1)) ||
		    filter_pat_file(p, path, len, name)))
			return 0;
	}
	keep = f->nincl == 0;
	for (i = 0; i < f->npats && !keep; i++) {
		p = &f->pats[i];
		if (p->include)
			keep = p->dironly ? name > 0 &&
			    filter_pat_dir(p, path, name - 1) :
			    filter_pat_file(p, path, len, name);
		if (keep)
			f->use[i].files++;
	}
	return keep;
}

/*
 * The scan met the directory "path" (not pruned): the first such
 * directory that an include would match as a file is noted, for
 * filter_hints.  Does nothing without includes or for a NULL filter.
 */
void
filter_seen_dir(const struct filter *f, const char *path)
{
	const char *slash;
	size_t i, len, name;

	if (f == NULL || f->nincl == 0)
		return;
	len = strlen(path);
	slash = strrchr(path, '/');
	name = slash == NULL ? 0 : (size_t)(slash - path) + 1;
	for (i = 0; i < f->npats; i++)
		if (f->pats[i].include && f->use[i].dir == NULL &&
		    filter_pat_file(&f->pats[i], path, len, name))
			f->use[i].dir = xstrdup(path);
}

/*
 * After a backup's scan: one note per include that kept no file but
 * matched a directory ("--include proj" where proj/ was meant), saying
 * what to write instead.  A NULL filter says nothing.
 */
void
filter_hints(const struct filter *f)
{
	char *pat, *dir;
	size_t i, n;

	if (f == NULL)
		return;
	for (i = 0; i < f->npats; i++) {
		if (!f->pats[i].include || f->use[i].files > 0 ||
		    f->use[i].dir == NULL)
			continue;
		pat = printable(f->use[i].text);
		dir = printable(f->use[i].dir);
		/* A trailing "/" keeps what is under the directory. */
		n = strlen(pat);
		while (n > 0 && pat[n - 1] == '/')
			n--;
		warnx("--include %s matched the directory %s but no file: for "
		    "what is under it write --include '%.*s/' (or '%.*s/**')",
		    pat, dir, (int)n, pat, (int)n, pat);
		free(pat);
		free(dir);
	}
}

/*
 * Whether the scan may skip the directory "path" (relative, no trailing
 * '/') without looking inside: an exclude matches it or a parent, or ends
 * in '/' then '*' or '**' and matches it up to there.  Includes never
 * prune.  A NULL filter prunes nothing.
 */
int
filter_prune_dir(const struct filter *f, const char *path)
{
	size_t i, len;

	if (f == NULL)
		return 0;
	len = strlen(path);
	for (i = 0; i < f->npats; i++)
		if (!f->pats[i].include &&
		    filter_pat_dir(&f->pats[i], path, len))
			return 1;
	return 0;
}

/* 1 when "f" holds at least one include; 0 for a NULL filter. */
int
filter_has_includes(const struct filter *f)
{
	return f != NULL && f->nincl > 0;
}
