/*
 * A minimal TAP producer for the unit tests: each check prints one
 * "ok N - what" or "not ok N - what" line; tap_done() prints the plan
 * and returns the exit status (0 all passed, 1 some failed).
 */
#ifndef P3BACKUP_TAP_H
#define P3BACKUP_TAP_H

#include <stddef.h>

int	 tap_ok(int pass, const char *file, int line, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
/* Compare two strings (either may be NULL); prints both on mismatch. */
int	 tap_str(const char *got, const char *want, const char *file, int line,
	    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void	 tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int	 tap_done(void);
/*
 * The fixture tests/data/DIR/NAME (under $top_srcdir), NUL-terminated,
 * its length in *len; the caller frees.  Bails out (exit 99) when missing.
 */
char	*tap_fixture(const char *dir, const char *name, size_t *len);
/* Remove the tree under "dir" (not following symlinks); 0 or -1. */
int	 tap_rmtree(const char *dir);
/*
 * Send stderr to a temporary file until tap_capture_end(); returns a
 * handle (the saved fd), -1 on failure (reported with tap_diag, and
 * the caller should exit 99).  Captures do not nest.
 */
int	 tap_capture_begin(void);
/*
 * Restore stderr and copy what was written (NUL-terminated, cut to
 * size-1) into buf.
 */
void	 tap_capture_end(int handle, char *buf, size_t size);
/* The same for one check: bails out on failure; see tap.c. */
void	 tap_quiet(void);
const char *tap_quieted(void);
/* ok() that "msgs" is one line containing "want" (NULL: no line). */
int	 tap_one_line(const char *what, const char *msgs, const char *want);

#define ok(cond, ...)	tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, ...) \
	tap_str((got), (want), __FILE__, __LINE__, __VA_ARGS__)

#endif
