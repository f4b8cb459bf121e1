/*
 * Unit tests for versioning.c's reading of GetBucketVersioning answers
 * (the states S3 documents, and what servers without versioning answer
 * instead) and lock.c's of GetObjectLockConfiguration.
 */
#include "config.h"

#include <string.h>

#include "extern.h"
#include "history.h"
#include "tap.h"

#define NS	"xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""
#define LOCKDOC(x) "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
	"<ObjectLockConfiguration " NS ">" x "</ObjectLockConfiguration>"

static int
parse(const char *doc)
{
	return versioning_parse(doc, strlen(doc));
}

static int64_t
retention(const char *doc)
{
	return lock_parse_retention(doc, strlen(doc));
}

static int
locked(const char *doc)
{
	return lock_parse(doc, strlen(doc));
}

int
main(void)
{
	/* The API reference's response forms (GetBucketVersioning). */
	ok(parse("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<VersioningConfiguration " NS "><Status>Enabled</Status>"
	    "</VersioningConfiguration>") == VERSIONING_ENABLED,
	    "Status Enabled");
	ok(parse("<VersioningConfiguration " NS "><Status>Suspended</Status>"
	    "<MfaDelete>Disabled</MfaDelete></VersioningConfiguration>") ==
	    VERSIONING_SUSPENDED, "Status Suspended, with MfaDelete");
	ok(parse("<VersioningConfiguration " NS "><MfaDelete>Disabled"
	    "</MfaDelete><Status>Enabled</Status></VersioningConfiguration>")
	    == VERSIONING_ENABLED, "Status after MfaDelete");
	/* Never enabled: an empty configuration (AWS, Ceph RGW). */
	ok(parse("<VersioningConfiguration " NS "/>") == VERSIONING_OFF,
	    "empty configuration: off");
	ok(parse("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "<VersioningConfiguration " NS "></VersioningConfiguration>") ==
	    VERSIONING_OFF, "configuration without Status: off");
	ok(parse("<VersioningConfiguration><Status>Enabled</Status>"
	    "</VersioningConfiguration>") == VERSIONING_ENABLED,
	    "no namespace: Enabled");
	/* s3rver ignores ?versioning and lists the bucket. */
	ok(parse("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<ListBucketResult xmlns=\"http://doc.s3.amazonaws.com/2006-03-01/\">"
	    "<Name>vbucket</Name><Prefix></Prefix><Marker></Marker>"
	    "<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>"
	    "</ListBucketResult>") == VERSIONING_UNKNOWN,
	    "a listing instead (s3rver): unknown");
	ok(parse("<VersioningConfiguration><Status>Maybe</Status>"
	    "</VersioningConfiguration>") == VERSIONING_UNKNOWN,
	    "another Status: unknown");
	ok(parse("<VersioningConfiguration><Status>Enabled</Status>") ==
	    VERSIONING_UNKNOWN, "unclosed document: unknown");
	ok(parse("") == VERSIONING_UNKNOWN, "empty answer: unknown");
	ok(parse("<Other><Status>Enabled</Status></Other>") ==
	    VERSIONING_UNKNOWN, "Status of another root: unknown");
	ok(parse("<VersioningConfiguration><Rule><Status>Enabled</Status>"
	    "</Rule></VersioningConfiguration>") == VERSIONING_OFF,
	    "a nested Status is not the bucket's");

	/* GetObjectLockConfiguration (API reference; Ceph RGW 16 the same). */
	ok(locked(LOCKDOC("<ObjectLockEnabled>Enabled</ObjectLockEnabled>")),
	    "ObjectLockEnabled Enabled: locked");
	ok(locked(LOCKDOC("<ObjectLockEnabled>Enabled</ObjectLockEnabled>"
	    "<Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days>"
	    "</DefaultRetention></Rule>")),
	    "with a default retention rule: locked");
	ok(!locked(LOCKDOC("")), "no ObjectLockEnabled: not locked");
	ok(!locked(LOCKDOC("<ObjectLockEnabled>Disabled</ObjectLockEnabled>")),
	    "another value: not locked");
	ok(!locked("<Error><Code>ObjectLockConfigurationNotFoundError</Code>"
	    "</Error>"), "an error document: not locked");
	ok(!locked("<ListBucketResult " NS "><Name>b</Name>"
	    "</ListBucketResult>"), "a listing (s3rver): not locked");
	ok(!locked("<ObjectLockConfiguration><ObjectLockEnabled>Enabled"),
	    "truncated: not locked");
	ok(!locked("<X><ObjectLockConfiguration><ObjectLockEnabled>Enabled"
	    "</ObjectLockEnabled></ObjectLockConfiguration></X>"),
	    "nested deeper: not locked");

	/* GetObjectRetention (API reference; Ceph RGW 16 writes 9 digits). */
	ok(retention("<Retention " NS "><Mode>GOVERNANCE</Mode>"
	    "<RetainUntilDate>2026-12-04T20:11:48.000000000Z</RetainUntilDate>"
	    "</Retention>") == 1796415108, "RetainUntilDate in seconds");
	ok(retention("<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>"
	    "2026-12-04T20:11:48Z</RetainUntilDate></Retention>") ==
	    1796415108, "without a fraction");
	ok(retention("<Retention><Mode>GOVERNANCE</Mode></Retention>") == 0,
	    "no date: 0");
	ok(retention("<Retention><RetainUntilDate>tomorrow</RetainUntilDate>"
	    "</Retention>") == 0, "not a date: 0");
	ok(retention("<Error><Code>NoSuchObjectLockConfiguration</Code>"
	    "</Error>") == 0, "an error: 0");
	return tap_done();
}
