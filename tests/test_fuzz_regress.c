/*
 * The fuzz targets of tests/fuzz/ as a unit test: every seed in
 * tests/fuzz/corpus/TARGET/ and every input a fuzzer once crashed on,
 * kept in tests/fuzz/regress/TARGET/, goes through the same function
 * the fuzzer calls.  A broken promise aborts, and the sanitizers of
 * --enable-debug catch what ASan caught under libFuzzer.  An input
 * that takes longer than INPUT_SECONDS (a matcher gone quadratic, say)
 * is killed by SIGALRM, and the test fails.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"
#include "fuzz/targets.h"
#include "tap.h"

/* libFuzzer's -timeout in run.sh is 10 s; leave room for slow machines. */
#define INPUT_SECONDS	30

struct target {
	const char	*name;
	int		(*fn)(const uint8_t *, size_t);
};

static const struct target targets[] = {
	{ "list", fuzz_list },
	{ "error", fuzz_error },
	{ "ini", fuzz_ini },
	{ "key", fuzz_key },
	{ "glob", fuzz_glob },
	{ "decode", fuzz_decode },
};

/*
 * Read the file "path" into a buffer of exactly its size, so that ASan
 * sees a read past the input's end.  Exits 99 when it cannot.
 */
static uint8_t *
slurp(const char *path, size_t *len)
{
	uint8_t *data;
	FILE *f;
	long n;

	if ((f = fopen(path, "rb")) == NULL || fseek(f, 0, SEEK_END) != 0 ||
	    (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		printf("Bail out! cannot read %s\n", path);
		exit(99);
	}
	data = xmalloc(n > 0 ? (size_t)n : 1);
	if (fread(data, 1, (size_t)n, f) != (size_t)n) {
		printf("Bail out! short read on %s\n", path);
		exit(99);
	}
	fclose(f);
	*len = (size_t)n;
	return data;
}

static int
no_dot(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/*
 * Run every file of "dir" through "t", in name order.  A missing
 * directory is an error only when "required".  Returns the number of
 * files run.
 */
static int
run_dir(const struct target *t, const char *dir, int required)
{
	struct dirent **names;
	uint8_t *data;
	char *path;
	size_t len;
	int i, n;

	if ((n = scandir(dir, &names, no_dot, alphasort)) == -1) {
		if (required || errno != ENOENT) {
			printf("Bail out! %s: %s\n", dir, strerror(errno));
			exit(99);
		}
		return 0;
	}
	for (i = 0; i < n; i++) {
		path = xasprintf("%s/%s", dir, names[i]->d_name);
		data = slurp(path, &len);
		alarm(INPUT_SECONDS);
		ok(t->fn(data, len) == 0, "%s: %s", t->name, path);
		alarm(0);
		free(data);
		free(path);
		free(names[i]);
	}
	free(names);
	return n;
}

int
main(void)
{
	const char *top;
	char *dir;
	size_t i;
	int n;

	if ((top = getenv("top_srcdir")) == NULL)
		top = ".";
	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		dir = xasprintf("%s/tests/fuzz/corpus/%s", top,
		    targets[i].name);
		n = run_dir(&targets[i], dir, 1);
		ok(n > 0, "%s: seed corpus is not empty", targets[i].name);
		free(dir);
		dir = xasprintf("%s/tests/fuzz/regress/%s", top,
		    targets[i].name);
		run_dir(&targets[i], dir, 0);
		free(dir);
	}
	return tap_done();
}
