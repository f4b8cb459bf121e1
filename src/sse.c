/*
 * Server-side settings that ride on requests as headers, with the AWS
 * CLI's names: server-side encryption (--sse AES256 or aws:kms, with
 * --sse-kms-key-id), SSE-C (--sse-c-key-file: the 256-bit key the
 * server encrypts with and forgets), a canned ACL (--acl) and
 * requester pays (--request-payer).
 *
 * Which request carries what, after the S3 API reference:
 *   - PutObject and CreateMultipartUpload: x-amz-server-side-encryption
 *     (+ -aws-kms-key-id), x-amz-acl and the SSE-C triple;
 *   - UploadPart, and GetObject/HeadObject: the SSE-C triple (a server
 *     refuses to read or extend an SSE-C object without its key);
 *   - every request on a bucket: x-amz-request-payer: requester;
 *   - PutObject and CreateMultipartUpload with --lock-days:
 *     x-amz-object-lock-mode and x-amz-object-lock-retain-until-date
 *     (Object Lock takes them only with a Content-MD5, which every
 *     PutObject carries).
 * The SSE-C key is a secret: it lives base64-encoded in a heap buffer
 * wiped on free, and is never logged (-vv prints no header values).
 */
#include "config.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/base64.h>
#include <mbedtls/md5.h>
#include <mbedtls/platform_util.h>

#include "extern.h"
#include "s3.h"

#define SSEC_KEYLEN	32
/* A key file holds at most 64 hex digits and a line end. */
#define SSEC_FILE_MAX	128

/*
 * Whether "value" is a value of --sse; "what" names it in the message.
 * Returns 0, or -1 after reporting.
 */
int
sse_valid(const char *what, const char *value)
{
	if (strcmp(value, "AES256") == 0 || strcmp(value, "aws:kms") == 0 ||
	    strcmp(value, "aws:kms:dsse") == 0)
		return 0;
	warnx("%s %s: must be AES256, aws:kms or aws:kms:dsse", what, value);
	return -1;
}

/*
 * Whether "value" is a canned ACL for objects; "what" names it in the
 * message.  Returns 0, or -1 after reporting.
 */
int
sse_valid_acl(const char *what, const char *value)
{
	static const char *acls[] = { "private", "public-read",
	    "public-read-write", "authenticated-read", "aws-exec-read",
	    "bucket-owner-read", "bucket-owner-full-control" };
	size_t i;

	for (i = 0; i < sizeof(acls) / sizeof(acls[0]); i++)
		if (strcmp(value, acls[i]) == 0)
			return 0;
	warnx("%s %s: not a canned ACL for objects (private, public-read, "
	    "public-read-write, authenticated-read, aws-exec-read, "
	    "bucket-owner-read, bucket-owner-full-control)", what, value);
	return -1;
}

/*
 * Check the values of those settings in "cfg", and that they go
 * together, before any request.
 * Returns 0, or -1 after reporting (a usage error).
 */
int
sse_check(const struct config *cfg)
{
	if (cfg->sse != NULL && sse_valid("--sse", cfg->sse) == -1)
		return -1;
	if (cfg->acl != NULL && sse_valid_acl("--acl", cfg->acl) == -1)
		return -1;
	if (cfg->sse_kms_key_id != NULL && (cfg->sse == NULL ||
	    strncmp(cfg->sse, "aws:kms", 7) != 0)) {
		warnx("--sse-kms-key-id needs --sse aws:kms");
		return -1;
	}
	if (cfg->sse != NULL && cfg->sse_c_key_file != NULL) {
		warnx("--sse and --sse-c-key-file cannot be used together: an "
		    "object has one kind of server-side encryption");
		return -1;
	}
	return 0;
}

/*
 * The key in the "len" bytes of "buf": 32 raw bytes, or 64 hex digits
 * or the 44 base64 characters of 32 bytes, each with one optional line
 * end.  Returns 0 with key[] set, or -1.
 */
static int
sse_key_parse(const unsigned char *buf, size_t len,
    unsigned char key[SSEC_KEYLEN])
{
	char text[SSEC_FILE_MAX + 1];
	size_t olen;
	int rc = -1;

	if (len == SSEC_KEYLEN) {
		memcpy(key, buf, SSEC_KEYLEN);
		return 0;
	}
	if (len > SSEC_FILE_MAX)
		return -1;
	memcpy(text, buf, len);
	text[len] = '\0';
	if (len > 0 && text[len - 1] == '\n')
		text[--len] = '\0';
	if (len > 0 && text[len - 1] == '\r')
		text[--len] = '\0';
	if (len == 2 * SSEC_KEYLEN)
		rc = hex_decode(text, SSEC_KEYLEN, key);
	else if (len == 44 && mbedtls_base64_decode(key, SSEC_KEYLEN, &olen,
	    (unsigned char *)text, len) == 0 && olen == SSEC_KEYLEN)
		rc = 0;
	mbedtls_platform_zeroize(text, sizeof(text));
	return rc;
}

/*
 * Read sse->cfg->sse_c_key_file, when set, into sse->ssec_key and
 * sse->ssec_md5 (free with sse_free); sse->lock_until from
 * cfg->lock_until.  Returns 0, or -1 after reporting
 * (a configuration error).
 */
int
sse_load(struct sse *sse)
{
	const char *path = sse->cfg->sse_c_key_file;
	unsigned char buf[SSEC_FILE_MAX + 1], key[SSEC_KEYLEN], md5[16];
	size_t len = 0, olen;
	ssize_t n;
	int fd = -1, rc = -1;

	sse->lock_until[0] = '\0';
	if (sse->cfg->lock_days > 0)
		iso_time(sse->cfg->lock_until, sse->lock_until);
	if (path == NULL)
		return 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		warn("--sse-c-key-file %s", path);
		goto out;
	}
	while (len < sizeof(buf) && (n = read(fd, buf + len,
	    sizeof(buf) - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			warn("--sse-c-key-file %s", path);
			goto out;
		}
		len += (size_t)n;
	}
	if (sse_key_parse(buf, len, key) == -1) {
		warnx("--sse-c-key-file %s: must hold a 256-bit key: 32 bytes, "
		    "or 64 hex digits, or 44 base64 characters", path);
		goto out;
	}
	mbedtls_md5_ret(key, sizeof(key), md5);
	sse->ssec_key = xmalloc(48);
	sse->ssec_md5 = xmalloc(32);
	mbedtls_base64_encode((unsigned char *)sse->ssec_key, 48, &olen, key,
	    sizeof(key));
	mbedtls_base64_encode((unsigned char *)sse->ssec_md5, 32, &olen, md5,
	    sizeof(md5));
	rc = 0;
out:
	mbedtls_platform_zeroize(buf, sizeof(buf));
	mbedtls_platform_zeroize(key, sizeof(key));
	if (fd != -1)
		close(fd);
	return rc;
}

/* Wipe and free what sse_load set. */
void
sse_free(struct sse *sse)
{
	freezero_str(sse->ssec_key);
	free(sse->ssec_md5);
	sse->ssec_key = sse->ssec_md5 = NULL;
}

/* Whether call "c" has the query parameter "name". */
static int
sse_has_query(const struct s3_call *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nquery; i++)
		if (strcmp(c->query[i].name, name) == 0)
			return 1;
	return 0;
}

/*
 * Fill hv[] (room for SSE_MAXHDR) with the headers the settings add to
 * call "c", by what the call is (see the top of this file).  The values
 * point into "sse" and its config.  Returns how many.
 */
size_t
sse_headers(const struct sse *sse, const struct s3_call *c,
    struct sigv4_kv *hv)
{
	const struct config *cfg = sse->cfg;
	int put, create, part, get, ssec;
	size_t n = 0;

	put = strcmp(c->method, "PUT") == 0 && c->key != NULL &&
	    c->nquery == 0;
	create = strcmp(c->method, "POST") == 0 && c->key != NULL &&
	    sse_has_query(c, "uploads");
	part = strcmp(c->method, "PUT") == 0 && sse_has_query(c, "partNumber");
	get = (strcmp(c->method, "GET") == 0 ||
	    strcmp(c->method, "HEAD") == 0) && c->key != NULL &&
	    (c->nquery == 0 || sse_has_query(c, "partNumber") ||
	    sse_has_query(c, "versionId"));
	ssec = sse->ssec_key != NULL && !c->ssec_off &&
	    (put || create || part || get);
	if ((put || create) && cfg->sse != NULL) {
		hv[n].name = "x-amz-server-side-encryption";
		hv[n++].value = cfg->sse;
		if (cfg->sse_kms_key_id != NULL) {
			hv[n].name = "x-amz-server-side-encryption-aws-kms-key-id";
			hv[n++].value = cfg->sse_kms_key_id;
		}
	}
	if ((put || create) && cfg->acl != NULL) {
		hv[n].name = "x-amz-acl";
		hv[n++].value = cfg->acl;
	}
	if ((put || create) && sse->lock_until[0] != '\0') {
		hv[n].name = "x-amz-object-lock-mode";
		hv[n++].value = cfg->lock_mode;
		hv[n].name = "x-amz-object-lock-retain-until-date";
		hv[n++].value = sse->lock_until;
	}
	if (ssec) {
		hv[n].name = "x-amz-server-side-encryption-customer-algorithm";
		hv[n++].value = "AES256";
		hv[n].name = "x-amz-server-side-encryption-customer-key";
		hv[n++].value = sse->ssec_key;
		hv[n].name = "x-amz-server-side-encryption-customer-key-md5";
		hv[n++].value = sse->ssec_md5;
	}
	if (cfg->request_payer && c->bucket != NULL) {
		hv[n].name = "x-amz-request-payer";
		hv[n++].value = "requester";
	}
	return n;
}

/*
 * What a failed GET or HEAD of an object means when SSE-C is in play:
 * the key is missing, or another key sealed the object; NULL when the
 * answer says neither.
 */
const char *
sse_c_hint(const struct config *cfg, const struct s3_call *c)
{
	const char *code = c->err.code;
	int bad, head;

	/*
	 * Without the key AWS answers 400 InvalidRequest, Ceph RGW 400
	 * InvalidArgument; with another key AWS answers 403 AccessDenied,
	 * Ceph 400 InvalidArgument ("the calculated MD5 hash of the key
	 * did not match").  A HEAD has no body to tell the code.
	 */
	head = strcmp(c->method, "HEAD") == 0;
	if (c->curl_code != 0)
		return NULL;
	if (cfg->sse_c_key_file == NULL)
		bad = c->status == 400 && (code == NULL ? head :
		    strcmp(code, "InvalidRequest") == 0 ||
		    strcmp(code, "InvalidArgument") == 0);
	else
		bad = (c->status == 403 && (code == NULL ||
		    strcmp(code, "AccessDenied") == 0)) ||
		    (c->status == 400 && (code == NULL ? head :
		    strcmp(code, "InvalidArgument") == 0));
	if (!bad)
		return NULL;
	if (cfg->sse_c_key_file == NULL)
		return "stored with SSE-C: it needs --sse-c-key-file "
		    "KEYFILE";
	return "encrypted with another SSE-C key than --sse-c-key-file (or "
	    "access denied)";
}

/*
 * A GET or HEAD sent with SSE-C headers failed with 400: mark it to go
 * again without them (the object may be stored plain) and return 1,
 * once; else 0.
 */
int
sse_c_plain_retry(const struct sse *sse, struct s3_call *c)
{
	/*
	 * AWS refuses SSE-C headers on an object stored without them (400
	 * InvalidRequest, "The encryption parameters are not applicable to
	 * this object"), and a HEAD shows no code: ask once more without.
	 * An SSE-C object then fails the same way again.
	 */
	if (sse->ssec_key == NULL || c->ssec_off || c->curl_code != 0 ||
	    c->status != 400 || c->key == NULL ||
	    (strcmp(c->method, "GET") != 0 && strcmp(c->method, "HEAD") != 0))
		return 0;
	c->ssec_off = 1;
	return 1;
}

/* Whether the settings ask for SSE-KMS or SSE-C: ETags are no MD5. */
int
sse_etags_not_md5(const struct config *cfg)
{
	return cfg->sse_c_key_file != NULL || (cfg->sse != NULL &&
	    strncmp(cfg->sse, "aws:kms", 7) == 0);
}

/*
 * Whether the ETag of answer "c" can be the MD5 of the content: not
 * when the server says it stored the object with SSE-KMS or SSE-C
 * (AWS documents that those ETags are not an MD5).
 */
int
sse_etag_is_md5(const struct s3_call *c)
{
	if (c->sse_customer != NULL)
		return 0;
	return c->sse == NULL || strncmp(c->sse, "aws:kms", 7) != 0;
}
