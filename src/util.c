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

void *
xmalloc(size_t n)
{
	void *p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL)
		err(3, "malloc");
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p;

	if ((p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size)) == NULL)
		err(3, "calloc");
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n == 0 ? 1 : n)) == NULL)
		err(3, "realloc");
	return p;
}

char *
xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		err(3, "strdup");
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p;

	p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

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
		err(3, "vasprintf");
	return p;
}

void
freezero_str(char *s)
{
	if (s == NULL)
		return;
	mbedtls_platform_zeroize(s, strlen(s));
	free(s);
}

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

void
buf_reserve(struct buf *b, size_t n)
{
	if (b->len + n + 1 <= b->cap)
		return;
	b->cap = b->len + n + 1;
	b->data = xrealloc(b->data, b->cap);
	b->data[b->len] = '\0';
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int
decimal_parse(const char *s, uint64_t max, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return *s >= '0' && *s <= '9' && *end == '\0' && errno == 0 &&
	    *v <= max ? 0 : -1;
}

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

uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

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

void
content_md5(const void *body, size_t len, char out[32])
{
	unsigned char md5[16];
	size_t olen;

	mbedtls_md5_ret((const unsigned char *)body, len, md5);
	mbedtls_base64_encode((unsigned char *)out, 32, &olen, md5, 16);
}

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

void
sha256_hex(const void *p, size_t len, char out[65])
{
	const mbedtls_md_info_t *md;
	unsigned char digest[32];

	if ((md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256)) == NULL ||
	    mbedtls_md(md, p, len, digest) != 0)
		errx(3, "SHA-256 failed");
	hex_encode(digest, sizeof(digest), out);
}
