/*
 * TAP output for the unit tests (see tap.h).
 */
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"

static int tap_count;
static int tap_failed;
static FILE *tap_capture_file;	/* stderr between begin and end */

static void
tap_line(int pass, const char *fmt, va_list ap)
{
	tap_count++;
	if (!pass)
		tap_failed++;
	printf("%sok %d - ", pass ? "" : "not ", tap_count);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
}

int
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_line(pass, fmt, ap);
	va_end(ap);
	if (!pass)
		printf("#   failed at %s:%d\n", file, line);
	return pass;
}

int
tap_str(const char *got, const char *want, const char *file, int line,
    const char *fmt, ...)
{
	va_list ap;
	int pass;

	pass = (got == NULL && want == NULL) ||
	    (got != NULL && want != NULL && strcmp(got, want) == 0);
	va_start(ap, fmt);
	tap_line(pass, fmt, ap);
	va_end(ap);
	if (!pass) {
		printf("#   failed at %s:%d\n", file, line);
		printf("#   got:  [%s]\n", got ? got : "(null)");
		printf("#   want: [%s]\n", want ? want : "(null)");
	}
	return pass;
}

void
tap_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

int
tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

/*
 * Flush stderr and point fd 2 at a new temporary file, kept open in
 * tap_capture_file.  Returns the saved stderr fd, or -1 (reported).
 */
int
tap_capture_begin(void)
{
	int saved = -1;

	fflush(stderr);
	if ((tap_capture_file = tmpfile()) == NULL) {
		tap_diag("capture: tmpfile: %s", strerror(errno));
		goto out;
	}
	if ((saved = dup(2)) == -1 ||
	    dup2(fileno(tap_capture_file), 2) == -1) {
		tap_diag("capture: redirect stderr: %s", strerror(errno));
		if (saved != -1)
			close(saved);
		saved = -1;
		fclose(tap_capture_file);
		tap_capture_file = NULL;
	}
out:
	return saved;
}

/*
 * Flush stderr, put the saved fd "handle" back on fd 2 (closing
 * "handle"), then read the temporary file into "buf" and close it.
 */
void
tap_capture_end(int handle, char *buf, size_t size)
{
	size_t n = 0;

	fflush(stderr);
	if (handle != -1) {
		dup2(handle, 2);
		close(handle);
	}
	if (tap_capture_file != NULL) {
		rewind(tap_capture_file);
		if (size > 1)
			n = fread(buf, 1, size - 1, tap_capture_file);
		fclose(tap_capture_file);
		tap_capture_file = NULL;
	}
	if (size > 0)
		buf[n] = '\0';
}

static int tap_quiet_saved = -1;
static char tap_quiet_text[1 << 16];

/*
 * tap_capture_begin() for one check: bails out (exit 99) when stderr
 * cannot be redirected.  Ends with tap_quieted(); does not nest.
 */
void
tap_quiet(void)
{
	if ((tap_quiet_saved = tap_capture_begin()) == -1) {
		printf("Bail out! cannot redirect stderr\n");
		exit(99);
	}
}

/*
 * Restore stderr and return what was written since tap_quiet(), cut
 * to 64 KiB; valid until the next tap_quieted().
 */
const char *
tap_quieted(void)
{
	tap_capture_end(tap_quiet_saved, tap_quiet_text,
	    sizeof(tap_quiet_text));
	tap_quiet_saved = -1;
	return tap_quiet_text;
}

/*
 * One check that "msgs" is one line containing "want", or empty when
 * "want" is NULL; on failure "msgs" is shown.  Returns the check's
 * result.
 */
int
tap_one_line(const char *what, const char *msgs, const char *want)
{
	const char *p;
	int lines = 0, pass;

	for (p = msgs; *p != '\0'; p++)
		if (*p == '\n')
			lines++;
	pass = want == NULL ? msgs[0] == '\0' :
	    lines == 1 && strstr(msgs, want) != NULL;
	ok(pass, "%s: %s%s%s", what, want == NULL ? "nothing printed" :
	    "one line naming \"", want == NULL ? "" : want,
	    want == NULL ? "" : "\"");
	if (!pass)
		tap_diag("stderr was: %s", msgs);
	return pass;
}

static int
tap_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int
tap_rmtree(const char *dir)
{
	return nftw(dir, tap_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *
tap_fixture(const char *dir, const char *name, size_t *len)
{
	const char *top;
	char path[4096], *data;
	FILE *f;
	long n;

	if ((top = getenv("top_srcdir")) == NULL)
		top = ".";
	snprintf(path, sizeof(path), "%s/tests/data/%s/%s", top, dir, name);
	if ((f = fopen(path, "rb")) == NULL || fseek(f, 0, SEEK_END) != 0 ||
	    (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (data = malloc((size_t)n + 1)) == NULL) {
		printf("Bail out! cannot read %s\n", path);
		exit(99);
	}
	if (fread(data, 1, (size_t)n, f) != (size_t)n) {
		printf("Bail out! short read on %s\n", path);
		exit(99);
	}
	data[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return data;
}
