/*
 * Fuzz target: the same bytes as one ListObjectsV2 page through
 * list_parse_page() and as one ListObjectVersions page through
 * versions_parse_page(), each once as a plain listing and once as if
 * encoding-type=url had been asked for.  Every field the callbacks are
 * given is read in full, so that a dangling or unterminated one is
 * caught by ASan.
 */
#include "config.h"

#include <string.h>

#include "extern.h"
#include "s3.h"
#include "targets.h"

/* Keeps the reads of the fields from being optimised away. */
static volatile size_t fuzz_list_sink;

/* Read a whole optional string. */
static size_t
fuzz_list_touch(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 0;
}

static int
fuzz_list_entry(void *arg, const struct list_entry *e)
{
	long *count = arg;

	fuzz_check(e->key != NULL, "list", "entry without a key");
	fuzz_check(e->keylen > 0, "list", "entry with an empty key");
	fuzz_check(e->key[e->keylen] == '\0', "list", "key not terminated");
	/* Raw keys come out of libxml2, decoded ones refuse NUL bytes. */
	fuzz_check(strlen(e->key) == e->keylen, "list", "NUL inside a key");
	fuzz_check(e->size >= 0, "list", "negative size");
	fuzz_list_sink += fuzz_list_touch(e->etag) +
	    fuzz_list_touch(e->last_modified) +
	    fuzz_list_touch(e->storage_class) + (size_t)e->size % 7;
	(*count)++;
	/* Stop on the 50th, to cover a callback's -1 too. */
	return *count == 50 ? -1 : 0;
}

static int
fuzz_list_version(void *arg, const struct versions_entry *e)
{
	long *count = arg;

	fuzz_check(e->key != NULL, "list", "version without a key");
	fuzz_check(e->keylen > 0, "list", "version with an empty key");
	fuzz_check(e->key[e->keylen] == '\0', "list",
	    "version key not terminated");
	fuzz_check(strlen(e->key) == e->keylen, "list",
	    "NUL inside a version key");
	fuzz_check(e->version_id != NULL && e->version_id[0] != '\0',
	    "list", "version without a version id");
	fuzz_check(e->is_latest == 0 || e->is_latest == 1, "list",
	    "is_latest neither 0 nor 1");
	if (e->delete_marker)
		fuzz_check(e->size == -1 && e->etag == NULL, "list",
		    "delete marker with a size or an etag");
	else
		fuzz_check(e->size >= 0, "list",
		    "version with a negative size");
	fuzz_list_sink += fuzz_list_touch(e->version_id) +
	    fuzz_list_touch(e->etag) + fuzz_list_touch(e->last_modified) +
	    fuzz_list_touch(e->storage_class);
	(*count)++;
	return *count == 50 ? -1 : 0;
}

/* The same page as a ListObjectVersions page. */
static void
fuzz_list_versions(const uint8_t *data, size_t size, int url)
{
	struct versions_page page;
	long count = 0;
	int rc;

	rc = versions_parse_page((const char *)data, size, url,
	    fuzz_list_version, &count, &page);
	fuzz_check(rc == 0 || (page.next_key_marker == NULL &&
	    page.next_version_id_marker == NULL), "list",
	    "version markers left set on failure");
	fuzz_check(count == page.count, "list",
	    "versions page count differs from callbacks");
	fuzz_check(rc == -1 || !page.truncated ||
	    (page.next_key_marker != NULL && page.next_key_marker[0] != '\0' &&
	    page.next_version_id_marker != NULL &&
	    page.next_version_id_marker[0] != '\0'), "list",
	    "truncated versions page without its markers accepted");
	fuzz_list_sink += fuzz_list_touch(page.next_key_marker) +
	    fuzz_list_touch(page.next_version_id_marker);
	free(page.next_key_marker);
	free(page.next_version_id_marker);
}

int
fuzz_list(const uint8_t *data, size_t size)
{
	struct list_page page;
	long count;
	int url, rc;

	for (url = 0; url <= 1; url++) {
		count = 0;
		rc = list_parse_page((const char *)data, size, url,
		    fuzz_list_entry, &count, &page);
		fuzz_check(rc == 0 || page.next_token == NULL, "list",
		    "next_token left set on failure");
		fuzz_check(count == page.count, "list",
		    "page count differs from callbacks");
		fuzz_check(rc == -1 || !page.truncated ||
		    (page.next_token != NULL && page.next_token[0] != '\0'),
		    "list", "truncated page without a token accepted");
		fuzz_list_sink += fuzz_list_touch(page.next_token);
		free(page.next_token);
		fuzz_list_versions(data, size, url);
	}
	return 0;
}

#ifndef FUZZ_NO_ENTRY
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_list(data, size);
}
#endif
