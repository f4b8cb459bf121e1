/*
 * Fuzz target: one S3 answer through every other XML parser:
 * xml_parse_error, mpdoc_parse_complete, mpdoc_parse_parts,
 * mpdoc_parse_initiate, xml_parse_delete_result, and the one-setting
 * documents (versioning_parse, lock_parse) and lifecycle_merge, checking
 * the ownership and results each one promises.
 */
#include "config.h"

#include <string.h>

#include "extern.h"
#include "s3.h"
#include "history.h"
#include "targets.h"

static volatile size_t fuzz_error_sink;

static size_t
fuzz_error_touch(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 0;
}

static int
fuzz_error_part(void *arg, const struct mpdoc_part *p)
{
	int *n = arg;

	fuzz_check(p->number >= 1 && p->number <= MP_MAX_PARTS, "error",
	    "part number out of range");
	fuzz_check(p->size >= 0, "error", "negative part size");
	fuzz_check(p->etag != NULL && p->etag[0] != '\0', "error",
	    "part without an ETag");
	fuzz_error_sink += fuzz_error_touch(p->etag);
	return ++*n == 20 ? -1 : 0;
}

static int
fuzz_error_delete(void *arg, const char *key, const char *code,
    const char *message)
{
	int *n = arg;

	fuzz_check(key != NULL && key[0] != '\0', "error",
	    "delete error without a key");
	fuzz_check(code != NULL && message != NULL, "error",
	    "delete error with a NULL field");
	fuzz_error_sink += fuzz_error_touch(code) + fuzz_error_touch(message);
	return ++*n == 20 ? -1 : 0;
}

int
fuzz_error(const uint8_t *data, size_t size)
{
	const char *doc = (const char *)data;
	struct s3_error err;
	char *value;
	uint32_t marker;
	int truncated, n, rc;

	rc = xml_parse_error(doc, size, &err);
	fuzz_check(rc == -1 ? err.code == NULL && err.message == NULL &&
	    err.region == NULL : err.code != NULL, "error",
	    "xml_parse_error result and fields disagree");
	fuzz_error_sink += fuzz_error_touch(err.code) +
	    fuzz_error_touch(err.message) + fuzz_error_touch(err.region);
	xml_error_free(&err);

	rc = mpdoc_parse_complete(doc, size, &value, &err);
	fuzz_check(rc == 0 ? value != NULL && err.code == NULL :
	    value == NULL, "error",
	    "mpdoc_parse_complete result and ETag disagree");
	fuzz_error_sink += fuzz_error_touch(value) +
	    fuzz_error_touch(err.code) + fuzz_error_touch(err.message);
	free(value);
	xml_error_free(&err);

	n = 0;
	rc = mpdoc_parse_parts(doc, size, fuzz_error_part, &n, &truncated,
	    &marker);
	fuzz_check(rc == -1 || !truncated || marker != 0, "error",
	    "truncated ListParts without a marker accepted");
	fuzz_check(marker <= MP_MAX_PARTS, "error", "marker out of range");

	rc = mpdoc_parse_initiate(doc, size, &value);
	fuzz_check(rc == 0 ? value != NULL && value[0] != '\0' :
	    value == NULL, "error", "mpdoc_parse_initiate result and id disagree");
	fuzz_error_sink += fuzz_error_touch(value);
	free(value);

	n = 0;
	(void)xml_parse_delete_result(doc, size, fuzz_error_delete, &n);

	rc = versioning_parse(doc, size);
	fuzz_check(rc >= VERSIONING_ENABLED && rc <= VERSIONING_UNKNOWN,
	    "error", "versioning_parse out of range");
	rc = lock_parse(doc, size);
	fuzz_check(rc == 0 || rc == 1, "error", "lock_parse neither 0 nor 1");
	/* Ours set, then the result merged again: nothing left to change. */
	rc = lifecycle_merge(doc, size, "p3backup-history", "p/", 3, &value,
	    &n);
	fuzz_check(rc == -1 ? value == NULL : value != NULL, "error",
	    "lifecycle_merge result and document disagree");
	if (value != NULL) {
		char *again = NULL;

		rc = lifecycle_merge(value, strlen(value), "p3backup-history",
		    "p/", 3, &again, &n);
		fuzz_check(rc == 0 && again != NULL && n == 0, "error",
		    "lifecycle_merge of its own result changes it");
		free(again);
	}
	free(value);
	return 0;
}

#ifndef FUZZ_NO_ENTRY
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_error(data, size);
}
#endif
