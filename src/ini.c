/*
 * A reader for the INI dialect of the AWS shared files (~/.aws/credentials,
 * ~/.aws/config).
 *
 * Why not libinih: Debian builds it with INI_MAX_LINE=200 and a stack
 * buffer, so a 1200-byte aws_session_token line is cut and the parse
 * fails, while STS session tokens are routinely 800 bytes and more; it
 * does not strip '#' comments either.  This reader has no line length
 * limit: it reads the whole file into one heap buffer, which is wiped
 * before it is freed because the file holds secrets.
 *
 * The dialect, as botocore reads it through Python's configparser:
 * - "[section]" headers; the name between the brackets is trimmed.
 * - "name = value", split at the first '='; both sides are trimmed.
 * - Full-line comments: the first non-blank character is '#' or ';'.
 *   Inline comments are NOT stripped: the AWS CLI keeps "value  # note"
 *   as the value for most settings, and so do we.
 * - Nested blocks: a key with an empty value followed by lines indented
 *   deeper, e.g. "s3 =" then "  addressing_style = path", reports the
 *   inner lines as "s3.addressing_style".  Lines indented deeper than a
 *   key that has a value are configparser continuation lines; they are
 *   ignored.
 * - Lines end in "\n" or "\r\n"; a leading UTF-8 byte order mark is
 *   skipped.
 * Messages never quote a line, only names: values may be secrets.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>

#include "extern.h"

/* What the previous key line in the current section was. */
enum INI_KEY {
	INI_KEY_NONE = 0,	/* none yet: indentation means nothing */
	INI_KEY_VALUE,		/* "name = value": deeper lines are ignored */
	INI_KEY_NESTED		/* "name =": deeper lines are "name.sub" */
};

struct ini_state {
	const char	*name;		/* file name for messages */
	size_t		 lineno;
	ini_fn		 fn;
	void		*arg;
	char		*section;	/* NULL before the first header */
	enum INI_KEY	 key;
	size_t		 key_indent;	/* indentation of that key line */
	char		*parent;	/* its name, for INI_KEY_NESTED */
};

/* The line being parsed, for ini_lineno(); 0 outside a parse. */
static _Thread_local size_t ini_cur_line;

/*
 * Trim white space at both ends of "s" in place; returns the new start.
 */
static char *
ini_trim(char *s)
{
	size_t len;

	while (isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
	return s;
}

/*
 * Split "p" at its first '=' into trimmed *name and *value (in place).
 * Returns 0, or -1 when there is no '='.
 */
static int
ini_split(char *p, char **name, char **value)
{
	char *eq;

	if ((eq = strchr(p, '=')) == NULL)
		return -1;
	*eq = '\0';
	*name = ini_trim(p);
	*value = ini_trim(eq + 1);
	return 0;
}

/*
 * Handle a "[section]" line starting at "p".  Anything after the last
 * ']' must be blank or a comment.  Returns 0, or -1 (reported).
 */
static int
ini_section(struct ini_state *st, char *p)
{
	char *end, *after, *name;

	if ((end = strrchr(p, ']')) == NULL) {
		warnx("%s:%zu: unterminated section header", st->name,
		    st->lineno);
		return -1;
	}
	after = ini_trim(end + 1);
	if (*after != '\0' && *after != '#' && *after != ';') {
		warnx("%s:%zu: text after section header", st->name,
		    st->lineno);
		return -1;
	}
	*end = '\0';
	name = ini_trim(p + 1);
	if (*name == '\0') {
		warnx("%s:%zu: empty section name", st->name, st->lineno);
		return -1;
	}
	free(st->section);
	st->section = xstrdup(name);
	free(st->parent);
	st->parent = NULL;
	st->key = INI_KEY_NONE;
	return 0;
}

/*
 * Handle one line (NUL-terminated, without its "\n"), modifying it in
 * place.  Returns 0, or -1 on a syntax error (reported) or when the
 * callback asked to stop.
 */
static int
ini_line(struct ini_state *st, char *line)
{
	char *p, *name, *value, *full = NULL;
	size_t indent;
	int rc = -1;

	indent = strspn(line, " \t\f\v");
	p = ini_trim(line);
	if (*p == '\0' || *p == '#' || *p == ';') {
		rc = 0;
		goto out;
	}

	if (st->key != INI_KEY_NONE && indent > st->key_indent) {
		if (st->key == INI_KEY_VALUE) {
			/* A continuation line: botocore has no use for them. */
			rc = 0;
			goto out;
		}
		if (ini_split(p, &name, &value) == -1) {
			warnx("%s:%zu: expected \"name = value\" in nested "
			    "block \"%s\"", st->name, st->lineno, st->parent);
			goto out;
		}
		if (*name == '\0') {
			warnx("%s:%zu: missing name before '='", st->name,
			    st->lineno);
			goto out;
		}
		full = xasprintf("%s.%s", st->parent, name);
		if (st->fn(st->arg, st->section, full, value) == 0)
			rc = 0;
		goto out;
	}

	if (*p == '[') {
		rc = ini_section(st, p);
		goto out;
	}
	if (ini_split(p, &name, &value) == -1) {
		warnx("%s:%zu: expected \"[section]\" or \"name = value\"",
		    st->name, st->lineno);
		goto out;
	}
	if (*name == '\0') {
		warnx("%s:%zu: missing name before '='", st->name, st->lineno);
		goto out;
	}
	if (st->section == NULL) {
		warnx("%s:%zu: \"%s\" outside any [section]", st->name,
		    st->lineno, name);
		goto out;
	}
	free(st->parent);
	st->parent = NULL;
	st->key_indent = indent;
	if (*value == '\0') {
		st->key = INI_KEY_NESTED;
		st->parent = xstrdup(name);
	} else
		st->key = INI_KEY_VALUE;
	if (st->fn(st->arg, st->section, name, value) == 0)
		rc = 0;
out:
	free(full);
	return rc;
}

/*
 * Parse "len" bytes of "buf", which must have room for one more byte;
 * the buffer is modified.  Returns 0 or -1 (reported, or the callback
 * stopped).
 */
static int
ini_run(const char *name, char *buf, size_t len, ini_fn fn, void *arg)
{
	struct ini_state st;
	char *line, *nl, *end;
	int rc = 0;

	memset(&st, 0, sizeof(st));
	st.name = name;
	st.fn = fn;
	st.arg = arg;

	end = buf + len;
	line = buf;
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		line += 3;
	while (rc == 0 && line < end) {
		st.lineno++;
		if ((nl = memchr(line, '\n', end - line)) == NULL)
			nl = end;
		*nl = '\0';
		if (memchr(line, '\0', nl - line) != NULL) {
			warnx("%s:%zu: NUL byte in line", name, st.lineno);
			rc = -1;
		} else {
			ini_cur_line = st.lineno;
			rc = ini_line(&st, line);
		}
		line = nl + 1;
	}
	ini_cur_line = 0;
	free(st.section);
	free(st.parent);
	return rc;
}

/*
 * Read all of "fd" into a heap buffer with one spare byte at the end.
 * Growing copies and wipes the old buffer, as the file holds secrets.
 * On success *bufp (caller wipes and frees) and *lenp are set.
 * Returns 0, or -1 on a read error (reported).
 */
static int
ini_read(int fd, const char *path, char **bufp, size_t *lenp)
{
	struct stat sb;
	char *buf, *bigger;
	size_t cap = 4096, len = 0;
	ssize_t n;
	int rc = -1;

	/* Room for the file, the spare byte and an end-of-file read. */
	if (fstat(fd, &sb) == 0 && sb.st_size > 0)
		cap = (size_t)sb.st_size + 2;
	buf = xmalloc(cap);
	for (;;) {
		if (len + 1 == cap) {
			bigger = xmalloc(cap * 2);
			memcpy(bigger, buf, len);
			mbedtls_platform_zeroize(buf, cap);
			free(buf);
			buf = bigger;
			cap *= 2;
		}
		if ((n = read(fd, buf + len, cap - len - 1)) == -1) {
			if (errno == EINTR)
				continue;
			warn("%s", path);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	rc = 0;
out:
	if (rc == -1) {
		mbedtls_platform_zeroize(buf, cap);
		free(buf);
		buf = NULL;
	}
	*bufp = buf;
	*lenp = len;
	return rc;
}

/*
 * Parse the shared file at "path", calling "fn" for every setting.
 * Returns 0, 1 when the file does not exist (not reported), or -1 on a
 * read or syntax error (reported as "path:line: cause") or when "fn"
 * returned -1.
 */
int
ini_parse_file(const char *path, ini_fn fn, void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	int fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			rc = 1;
		else
			warn("%s", path);
		goto out;
	}
	if (ini_read(fd, path, &buf, &len) == -1)
		goto out;
	rc = ini_run(path, buf, len, fn, arg);
out:
	if (buf != NULL) {
		mbedtls_platform_zeroize(buf, len);
		free(buf);
	}
	if (fd != -1)
		close(fd);
	return rc;
}

/*
 * During a callback, the number of the line whose setting it is being
 * given, counted from 1, so that callers can name "path:line" in their
 * own messages; 0 outside a callback.  Per thread.
 */
size_t
ini_lineno(void)
{
	return ini_cur_line;
}

/*
 * As ini_parse_file over the "len" bytes at "buf" (left untouched; need
 * not end in NUL), called "name" in messages.  Returns 0, or -1 on a
 * syntax error (reported) or when "fn" returned -1.
 */
int
ini_parse_buf(const char *name, const char *buf, size_t len, ini_fn fn,
    void *arg)
{
	char *copy;
	int rc;

	copy = xmalloc(len + 1);
	if (len > 0)
		memcpy(copy, buf, len);
	rc = ini_run(name, copy, len, fn, arg);
	mbedtls_platform_zeroize(copy, len + 1);
	free(copy);
	return rc;
}
