/*
 * Small services every stage uses: allocation that never returns NULL,
 * a growable buffer, hex encoding, leveled logging and a monotonic clock.
 */
#include "config.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/base64.h>
#include <mbedtls/md.h>
#include <mbedtls/md5.h>
#include <mbedtls/platform_util.h>

#include "extern.h"

int log_level = 0;
volatile sig_atomic_t stop_requested = 0;

/*
 * malloc(3) that never returns NULL: on failure it exits with status 3
 * after a message.  A size of 0 allocates one byte.  Caller frees.
 */
void *
xmalloc(size_t n)
{
	void *p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL)
		err(EXIT_FATAL, "malloc");
	return p;
}

/*
 * calloc(3) of "n" zeroed elements of "size" bytes that never returns
 * NULL: on failure it exits with status 3.  A count or size of 0 counts
 * as 1.  Caller frees.
 */
void *
xcalloc(size_t n, size_t size)
{
	void *p;

	if ((p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size)) == NULL)
		err(EXIT_FATAL, "calloc");
	return p;
}

/*
 * realloc(3) that never returns NULL: on failure it exits with status 3.
 * A size of 0 keeps one byte.
 */
void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n == 0 ? 1 : n)) == NULL)
		err(EXIT_FATAL, "realloc");
	return p;
}

/*
 * A copy of "s"; never NULL (exits with status 3 when out of memory).
 * Caller frees.
 */
char *
xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		err(EXIT_FATAL, "strdup");
	return p;
}

/*
 * A NUL-terminated copy of the first "n" bytes of "s", all of which must
 * be readable (a NUL among them does not end the copy, unlike
 * strndup(3)); never NULL.  Caller frees.
 */
char *
xstrndup(const char *s, size_t n)
{
	char *p;

	p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/*
 * printf(3) into a new string; never NULL (exits with status 3 on
 * failure).  Caller frees.
 */
char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		err(EXIT_FATAL, "vasprintf");
	return p;
}

/* Wipe then free a secret string; accepts NULL. */
void
freezero_str(char *s)
{
	if (s == NULL)
		return;
	mbedtls_platform_zeroize(s, strlen(s));
	free(s);
}

/*
 * Append the "n" bytes at "p" to "b", growing it as needed; b->data stays
 * NUL-terminated.  A zeroed struct buf is an empty buffer, and appending
 * 0 bytes to it makes b->data the empty string.
 */
void
buf_append(struct buf *b, const void *p, size_t n)
{
	size_t need;

	need = b->len + n + 1;
	if (need > b->cap) {
		b->cap = b->cap ? b->cap : 256;
		while (b->cap < need)
			b->cap *= 2;
		b->data = xrealloc(b->data, b->cap);
	}
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/*
 * Room for "n" more bytes (and the NUL) in "b" now, so that appending
 * them moves nothing (no stale copy of a secret left behind in freed
 * memory).
 */
void
buf_reserve(struct buf *b, size_t n)
{
	if (b->len + n + 1 <= b->cap)
		return;
	b->cap = b->len + n + 1;
	b->data = xrealloc(b->data, b->cap);
	b->data[b->len] = '\0';
}

/*
 * Empty "b", keeping its memory (b->data, if any, becomes "").  Nothing
 * is wiped.
 */
void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

/*
 * Free b's memory (not wiped) and leave "b" an empty buffer, ready for
 * reuse.
 */
void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/*
 * "s" as a whole number: decimal digits only (no sign, no blanks, not
 * empty), at most "max", into *v.  Returns 0, or -1 (*v then means
 * nothing); reports nothing.
 */
int
decimal_parse(const char *s, uint64_t max, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return *s >= '0' && *s <= '9' && *end == '\0' && errno == 0 &&
	    *v <= max ? 0 : -1;
}

/*
 * The 2 * n hex digits (either case) at "s" into out[n]; "s" may end
 * sooner (then -1: no byte past its NUL is read).  Returns 0, or -1 at
 * the first character that is not a hex digit, with "out" written up to
 * there; reports nothing.
 */
int
hex_decode(const char *s, size_t n, unsigned char *out)
{
	size_t i;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if ((hi = hex_digit((unsigned char)s[2 * i])) == -1 ||
		    (lo = hex_digit((unsigned char)s[2 * i + 1])) == -1)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/*
 * Write the "n" bytes at "p" as 2 * n lower-case hex digits and a NUL
 * into "out" (2 * n + 1 bytes).
 */
void
hex_encode(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

/*
 * Print "p3backup: msg" on stderr when level <= log_level (see log_level
 * in extern.h: a level of 1 shows with -v).
 */
void
logmsg(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
}

/*
 * "YYYY-MM-DDTHH:MM:SSZ" of "t" in UTC into out[ISO_TIME_LEN], as S3's
 * dates and tags write it.
 */
void
iso_time(time_t t, char out[ISO_TIME_LEN])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, ISO_TIME_LEN,
	    "%Y-%m-%dT%H:%M:%SZ", &tm) != ISO_TIME_LEN - 1)
		errx(EXIT_FATAL, "time %lld out of range", (long long)t);
}

/* Milliseconds from a monotonic clock: for intervals, not the time of day. */
uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * A copy of "s" safe to print on one line: control bytes (below 0x20, and
 * DEL) and '\' become \xNN, other bytes (UTF-8 included) are copied.
 * Caller frees.
 */
char *
printable(const char *s)
{
	struct buf b;
	char esc[5];

	memset(&b, 0, sizeof(b));
	buf_append(&b, "", 0);
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '\\') {
			snprintf(esc, sizeof(esc), "\\x%02x", (unsigned char)*s);
			buf_append(&b, esc, 4);
		} else
			buf_append(&b, s, 1);
	}
	return b.data;
}

/* The value of hex digit "c" (either case), or -1. */
int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decode "len" bytes of "s" into "dst" (emptied first, and always
 * NUL-terminated): %XX is a byte, and '+' a space when "plus_is_space".
 * Returns 0, or -1 on a malformed escape or a NUL byte, decoded or raw
 * (then "dst" holds what came before it); reports nothing.
 */
int
url_decode(struct buf *dst, const char *s, size_t len, int plus_is_space)
{
	size_t i;
	int hi, lo;
	char c;

	buf_reset(dst);
	buf_append(dst, "", 0);
	for (i = 0; i < len; i++) {
		c = s[i];
		if (c == '+' && plus_is_space)
			c = ' ';
		else if (c == '%') {
			if (i + 2 >= len ||
			    (hi = hex_digit((unsigned char)s[i + 1])) == -1 ||
			    (lo = hex_digit((unsigned char)s[i + 2])) == -1)
				return -1;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0')
			return -1;
		buf_append(dst, &c, 1);
	}
	return 0;
}

/*
 * Open a file to back it up: read-only, close-on-exec, without changing
 * its access time where allowed (O_NOATIME is dropped for a file we do
 * not own), never blocking on a FIFO, and not through a final symlink
 * unless "follow".  Returns the fd, or -1 with errno set; reports
 * nothing.
 */
int
file_open(const char *path, int follow)
{
	int fd, flags;

	/* O_NONBLOCK: never hang on a FIFO swapped in since the scan. */
	flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOATIME;
	if (!follow)
		flags |= O_NOFOLLOW;
	fd = open(path, flags);
	/* O_NOATIME is only for the file's owner (or root). */
	if (fd == -1 && errno == EPERM)
		fd = open(path, flags & ~O_NOATIME);
	return fd;
}

/*
 * A scratch file: created under $TMPDIR (or /tmp), named after "what",
 * and unlinked at once, so it goes away with its descriptor.  Returns the
 * fd (the caller closes it), or -1 with errno set; reports nothing.
 */
int
scratch_open(const char *what)
{
	const char *dir;
	char *path;
	int fd, saved;

	if ((dir = getenv("TMPDIR")) == NULL || *dir == '\0')
		dir = "/tmp";
	path = xasprintf("%s/p3backup-%s.XXXXXX", dir, what);
	if ((fd = mkstemp(path)) != -1 && unlink(path) == -1) {
		saved = errno;
		close(fd);
		fd = -1;
		errno = saved;
	}
	free(path);
	return fd;
}

/*
 * The Content-MD5 value of the digest "md5" (16 bytes in base64: 24
 * characters and a NUL) into out[32].
 */
void
md5_base64(const unsigned char md5[16], char out[32])
{
	size_t olen;

	mbedtls_base64_encode((unsigned char *)out, 32, &olen, md5, 16);
}

/*
 * The Content-MD5 value of the "len" bytes at "body" (their MD5 in
 * base64: 24 characters and a NUL) into "out".
 */
void
content_md5(const void *body, size_t len, char out[32])
{
	unsigned char md5[16];

	mbedtls_md5_ret((const unsigned char *)body, len, md5);
	md5_base64(md5, out);
}

/*
 * Percent-encode "len" bytes of "s" the way S3 signs them: every byte
 * outside A-Za-z0-9-._~ becomes %XX (upper-case hex), and '/' too unless
 * "keep_slash".  Returns a new NUL-terminated string (caller frees);
 * never NULL.
 */
char *
uri_encode(const char *s, size_t len, int keep_slash)
{
	static const char digits[] = "0123456789ABCDEF";
	struct buf b = { NULL, 0, 0 };
	unsigned char c;
	char esc[3];
	size_t i;

	buf_append(&b, "", 0);
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~' || (c == '/' && keep_slash)) {
			buf_append(&b, &s[i], 1);
			continue;
		}
		esc[0] = '%';
		esc[1] = digits[c >> 4];
		esc[2] = digits[c & 0xf];
		buf_append(&b, esc, sizeof(esc));
	}
	return b.data;
}

/*
 * The SHA-256 of the "len" bytes at "p" as 64 lower-case hex digits and
 * a NUL into out[65].  Exits (status 3) if mbedTLS cannot hash, which is
 * a bug.
 */
void
sha256_hex(const void *p, size_t len, char out[65])
{
	const mbedtls_md_info_t *md;
	unsigned char digest[32];

	if ((md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256)) == NULL ||
	    mbedtls_md(md, p, len, digest) != 0)
		errx(EXIT_FATAL, "SHA-256 failed");
	hex_encode(digest, sizeof(digest), out);
}
