/*
 * Unit tests for ini.c, the reader of the AWS shared-file dialect.
 * Inputs are written inline, modelled on the examples in the AWS CLI
 * documentation ("Configuration and credential file settings").
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"
#include "tap.h"

/* Every callback appends "[section] name=value\n" here. */
static struct buf seen;
/* The callback returns -1 once it has been called this many times. */
static int stop_after = -1;
static char tmpdir[4096];

static int
collect(void *arg, const char *section, const char *name, const char *value)
{
	char *line;

	(void)arg;
	if (stop_after == 0)
		return -1;
	if (stop_after > 0)
		stop_after--;
	line = xasprintf("[%s] %s=%s\n", section, name, value);
	buf_append(&seen, line, strlen(line));
	free(line);
	return 0;
}

/* Parse "text" from memory; returns what ini_parse_buf returned. */
static int
parse(const char *text)
{
	buf_reset(&seen);
	buf_append(&seen, "", 0);
	return ini_parse_buf("test.ini", text, strlen(text), collect, NULL);
}

/* Parse "text" and compare what the callback saw with "want". */
static void
check(const char *text, const char *want, const char *what)
{
	ok(parse(text) == 0, "%s: parses", what);
	is_str(seen.data, want, "%s: settings", what);
}

/*
 * Parse "text", which must fail with a message on stderr containing
 * "msg"; stderr goes to a temporary file meanwhile.
 */
static void
check_error(const char *text, const char *msg, const char *what)
{
	char got[1024];
	int saved, rc;

	if ((saved = tap_capture_begin()) == -1)
		exit(99);
	rc = parse(text);
	tap_capture_end(saved, got, sizeof(got));
	ok(rc == -1, "%s: fails", what);
	ok(strstr(got, msg) != NULL, "%s: message has \"%s\"", what, msg);
	if (strstr(got, msg) == NULL)
		tap_diag("stderr: %s", got);
	ok(strstr(got, "SECRET") == NULL, "%s: message quotes no value", what);
}

/* Write "text" to tmpdir/name; returns the path (static storage). */
static const char *
write_file(const char *name, const char *text)
{
	static char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if ((f = fopen(path, "w")) == NULL ||
	    fputs(text, f) == EOF || fclose(f) == EOF) {
		perror(path);
		exit(99);
	}
	return path;
}

int
main(void)
{
	struct buf big;
	char *want, *text;
	const char *path, *t;
	size_t i;

	t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_ini.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror(tmpdir);
		return 99;
	}

	check("[default]\n"
	    "aws_access_key_id=AKIDEXAMPLE\n"
	    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n"
	    "\n"
	    "[profile user1]\n"
	    "region = us-west-2\n",
	    "[default] aws_access_key_id=AKIDEXAMPLE\n"
	    "[default] aws_secret_access_key="
	    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n"
	    "[profile user1] region=us-west-2\n",
	    "two sections");

	check("# leading comment\n"
	    "; another\n"
	    "   \t\n"
	    "  [  spaced  ]  \n"
	    "\tname\t=\t value with  spaces \t\n"
	    "    # indented comment\n"
	    "empty =\n"
	    "url = http://h/?a=b&c=d\n"
	    "note = keep # this ; too\n"
	    "[x] ; comment after header\n"
	    "k = v\n",
	    "[spaced] name=value with  spaces\n"
	    "[spaced] empty=\n"
	    "[spaced] url=http://h/?a=b&c=d\n"
	    "[spaced] note=keep # this ; too\n"
	    "[x] k=v\n",
	    "comments, blank lines, white space, '=' in values");

	check("[profile dev]\n"
	    "region = eu-west-1\n"
	    "s3 =\n"
	    "  addressing_style = path\n"
	    "  # a comment inside\n"
	    "\n"
	    "  endpoint_url = http://127.0.0.1:9000\n"
	    "  max_concurrent_requests=20\n"
	    "output = json\n"
	    "  ignored = continuation of output\n"
	    "[profile other]\n"
	    "  first = indented after a header\n",
	    "[profile dev] region=eu-west-1\n"
	    "[profile dev] s3=\n"
	    "[profile dev] s3.addressing_style=path\n"
	    "[profile dev] s3.endpoint_url=http://127.0.0.1:9000\n"
	    "[profile dev] s3.max_concurrent_requests=20\n"
	    "[profile dev] output=json\n"
	    "[profile other] first=indented after a header\n",
	    "nested s3 block");

	check("[a]\r\nk = v\r\ns3 =\r\n  x = y\r\n\r\n[b]\r\nz=1",
	    "[a] k=v\n[a] s3=\n[a] s3.x=y\n[b] z=1\n",
	    "CRLF line endings, no final newline");

	check("\xef\xbb\xbf[bom]\nk = v\n", "[bom] k=v\n", "byte order mark");
	check("", "", "empty input");

	/* A long STS session token: libinih cuts lines at 200 bytes. */
	memset(&big, 0, sizeof(big));
	buf_append(&big, "[default]\naws_session_token = ", 30);
	for (i = 0; i < 1500; i++)
		buf_append(&big, &"ABCDEFGHIJ+/0123456789"[i % 22], 1);
	buf_append(&big, "\nregion = us-east-2\n", 20);
	want = xasprintf("[default] aws_session_token=%.1500s\n"
	    "[default] region=us-east-2\n", big.data + 30);
	check(big.data, want, "1500-byte value");

	path = write_file("long", big.data);
	buf_reset(&seen);
	buf_append(&seen, "", 0);
	ok(ini_parse_file(path, collect, NULL) == 0, "file: parses");
	is_str(seen.data, want, "file: 1500-byte value read back");
	unlink(path);
	free(want);
	buf_free(&big);

	text = xasprintf("%s/does-not-exist", tmpdir);
	ok(ini_parse_file(text, collect, NULL) == 1, "missing file returns 1");
	free(text);

	check_error("[default]\nk = v\n[unterminated\n",
	    "test.ini:3: unterminated section header", "unterminated header");
	check_error("aws_secret_access_key = SECRET\n[default]\n",
	    "test.ini:1: \"aws_secret_access_key\" outside any [section]",
	    "key before any section");
	check_error("[default]\n\nSECRET\n", "test.ini:3: expected",
	    "line without '='");
	check_error("[default]\n = SECRET\n", "test.ini:2: missing name",
	    "empty name");
	check_error("[]\n", "test.ini:1: empty section name", "empty header");
	check_error("[a] SECRET\n", "test.ini:1: text after section header",
	    "text after header");
	check_error("[a]\ns3 =\n  SECRET\n", "test.ini:3: expected",
	    "nested line without '='");
	ok(ini_parse_buf("nul.ini", "[a]\nk = v\0w\n", 12, collect, NULL) == -1,
	    "NUL byte is an error");

	stop_after = 1;
	ok(parse("[a]\nk = 1\nl = 2\n") == -1, "callback -1 stops the parse");
	is_str(seen.data, "[a] k=1\n", "callback not called after -1");
	stop_after = -1;

	buf_free(&seen);
	rmdir(tmpdir);
	return tap_done();
}
