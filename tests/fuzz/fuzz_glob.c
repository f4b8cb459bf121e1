/*
 * Fuzz target: --include / --exclude.  The input is "patterns", a NUL
 * byte, then a relative path.  Each line of "patterns" is added with
 * filter_add(): an include when it starts with '+' (dropped), else an
 * exclude.  The path, and each of its leading directories, then goes
 * through filter_file() and filter_prune_dir().  Nothing may crash,
 * and the matcher must stay linear: libFuzzer's -timeout catches a
 * pattern that backtracks.
 */
#include "config.h"

#include <string.h>

#include "extern.h"
#include "targets.h"

static volatile int fuzz_glob_sink;

int
fuzz_glob(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *nul, *line, *nl, *end;
	struct filter *f;
	char *pattern, *path, *slash;
	size_t plen;
	int include, depth, added = 0;

	if ((nul = memchr(in, '\0', size)) == NULL)
		nul = in + size;
	end = nul;
	f = filter_new();
	for (line = in; line < end; line = nl + 1) {
		if ((nl = memchr(line, '\n', end - line)) == NULL)
			nl = end;
		include = line < nl && line[0] == '+';
		pattern = xstrndup(line + include, nl - line - include);
		if (filter_add(f, include, pattern) == 0)
			added++;
		free(pattern);
	}
	fuzz_check(filter_has_includes(f) == 0 || added > 0, "glob",
	    "includes without a pattern");

	plen = nul < in + size ? size - (nul - in) - 1 : 0;
	path = xstrndup(nul < in + size ? nul + 1 : "", plen);
	fuzz_glob_sink += filter_file(f, path);
	fuzz_glob_sink += filter_prune_dir(f, path);
	if (added == 0)
		fuzz_check(filter_file(f, path) == 1 &&
		    filter_prune_dir(f, path) == 0, "glob",
		    "an empty filter dropped something");
	/*
	 * The scan asks about every directory on the way down; a few of
	 * them will do (each costs the path's length, all of them its
	 * square).
	 */
	for (depth = 0; depth < 8 && (slash = strrchr(path, '/')) != NULL;
	    depth++) {
		*slash = '\0';
		fuzz_glob_sink += filter_prune_dir(f, path);
	}
	fuzz_check(filter_file(NULL, path) == 1 &&
	    filter_prune_dir(NULL, path) == 0, "glob",
	    "a NULL filter dropped something");
	free(path);
	filter_free(f);
	return 0;
}

#ifndef FUZZ_NO_ENTRY
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_glob(data, size);
}
#endif
