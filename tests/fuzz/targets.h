/*
 * The fuzz targets of tests/fuzz/: one function per target, each
 * feeding one input to the parsers it covers and checking what they
 * promise.  The libFuzzer entry point (LLVMFuzzerTestOneInput) in each
 * fuzz_*.c calls its function; tests/test_fuzz_regress.c calls the same
 * functions on the seed corpora and the saved crashing inputs.  A
 * broken promise is an abort() (see fuzz_check), which libFuzzer and
 * the sanitizers report as a crash.
 */
#ifndef P3BACKUP_FUZZ_TARGETS_H
#define P3BACKUP_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* list_parse_page, versions_parse_page, raw and with encoding-type=url. */
int	 fuzz_list(const uint8_t *, size_t);
/*
 * xml_parse_error, mpdoc_parse_complete, _parts, _initiate,
 * xml_parse_delete_result.
 */
int	 fuzz_error(const uint8_t *, size_t);
/* ini_parse_buf. */
int	 fuzz_ini(const uint8_t *, size_t);
/* uri_encode / url_decode round trip, download_key_check. */
int	 fuzz_key(const uint8_t *, size_t);
/* filter_add, filter_file, filter_prune_dir: "patterns\0path". */
int	 fuzz_glob(const uint8_t *, size_t);
/* decode_file on the input as an object; encode_file round trip. */
int	 fuzz_decode(const uint8_t *, size_t);

/* libFuzzer's entry point, defined by each fuzz_*.c unless FUZZ_NO_ENTRY. */
int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Abort with "what" when "cond" does not hold. */
static inline void
fuzz_check(int cond, const char *target, const char *what)
{
	if (cond)
		return;
	fprintf(stderr, "fuzz_%s: broken promise: %s\n", target, what);
	abort();
}

#endif /* !P3BACKUP_FUZZ_TARGETS_H */
