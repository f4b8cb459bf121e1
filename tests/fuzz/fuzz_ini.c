/*
 * Fuzz target: an AWS shared file through ini_parse_buf(), with a
 * callback that reads every string it is given and checks the line
 * number ini_lineno() names.
 */
#include "config.h"

#include <string.h>

#include "extern.h"
#include "targets.h"

static volatile size_t fuzz_ini_sink;

struct fuzz_ini {
	size_t	 lines;		/* an upper bound: '\n' count + 1 */
	size_t	 last;		/* the line of the previous callback */
	size_t	 calls;
};

static int
fuzz_ini_setting(void *arg, const char *section, const char *name,
    const char *value)
{
	struct fuzz_ini *fi = arg;
	size_t line = ini_lineno();

	fuzz_check(section != NULL && section[0] != '\0', "ini",
	    "setting outside a named section");
	fuzz_check(name != NULL && name[0] != '\0', "ini", "empty name");
	fuzz_check(value != NULL, "ini", "NULL value");
	fuzz_check(strchr(name, '\n') == NULL && strchr(value, '\n') == NULL,
	    "ini", "newline inside a name or value");
	fuzz_check(line >= 1 && line <= fi->lines && line > fi->last, "ini",
	    "ini_lineno out of order or range");
	fi->last = line;
	fuzz_ini_sink += strlen(section) + strlen(name) + strlen(value);
	/* Stop on the 100th, to cover a callback's -1 too. */
	return ++fi->calls == 100 ? -1 : 0;
}

int
fuzz_ini(const uint8_t *data, size_t size)
{
	struct fuzz_ini fi;
	size_t i;

	memset(&fi, 0, sizeof(fi));
	fi.lines = 1;
	for (i = 0; i < size; i++)
		fi.lines += data[i] == '\n';
	(void)ini_parse_buf("fuzz", (const char *)data, size,
	    fuzz_ini_setting, &fi);
	fuzz_check(ini_lineno() == 0, "ini", "ini_lineno set after the parse");
	return 0;
}

#ifndef FUZZ_NO_ENTRY
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_ini(data, size);
}
#endif
