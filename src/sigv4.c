/*
 * AWS Signature Version 4, the way S3 wants it: the path is encoded once
 * and never normalised, query parameters are sorted by their encoded
 * form, and the payload hash line is whatever the caller sends in
 * x-amz-content-sha256.  A pure module: no I/O, no globals; it signs
 * exactly the headers it is given.
 */
#include "config.h"

#include <err.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>

#include "extern.h"
#include "s3.h"

#define SIGV4_ALGORITHM	"AWS4-HMAC-SHA256"
#define SIGV4_HASHLEN	32

/* One query parameter, encoded. */
struct sigv4_qparam {
	char	*name;
	char	*value;
};

/* One header, canonicalised; "order" keeps equal names stable. */
struct sigv4_hdr {
	char	*name;
	char	*value;
	size_t	 order;
};

static const mbedtls_md_info_t *
sigv4_md(void)
{
	const mbedtls_md_info_t *md;

	/* Only a mbedTLS built without SHA-256 gets here; nothing works then. */
	if ((md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256)) == NULL)
		errx(EXIT_FATAL, "sigv4: mbedTLS has no SHA-256");
	return md;
}

/*
 * Format "t" as YYYYMMDDTHHMMSSZ into out[17].  A time that does not fit
 * four-digit years leaves "" so that sigv4_sign() rejects it.
 */
void
sigv4_amzdate(time_t t, char out[17])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
		out[0] = '\0';
}

/* "s" must be non-empty and free of the bytes in "reject". */
static int
sigv4_word_ok(const char *what, const char *s, const char *reject)
{
	if (s == NULL || *s == '\0' || strpbrk(s, reject) != NULL) {
		warnx("sigv4: %s missing or malformed", what);
		return 0;
	}
	return 1;
}

/* Check everything sigv4_sign() needs; reports the first problem. */
static int
sigv4_check(const struct sigv4_request *req)
{
	size_t i;

	/* Region, service and key id must not add '/' to the scope. */
	if (!sigv4_word_ok("method", req->method, " \t\r\n") ||
	    !sigv4_word_ok("payload hash", req->payload_hash, " \t\r\n") ||
	    !sigv4_word_ok("region", req->region, "/ \t\r\n") ||
	    !sigv4_word_ok("service", req->service, "/ \t\r\n") ||
	    !sigv4_word_ok("access key", req->access_key, "/ \t\r\n") ||
	    !sigv4_word_ok("secret key", req->secret_key, ""))
		return 0;
	if (req->path == NULL || (*req->path != '\0' && *req->path != '/')) {
		warnx("sigv4: path must start with '/'");
		return 0;
	}
	if (req->amzdate == NULL || strlen(req->amzdate) != 16 ||
	    req->amzdate[8] != 'T' || req->amzdate[15] != 'Z' ||
	    strspn(req->amzdate, "0123456789") != 8 ||
	    strspn(req->amzdate + 9, "0123456789") != 6) {
		warnx("sigv4: amzdate \"%s\" is not YYYYMMDDTHHMMSSZ",
		    req->amzdate == NULL ? "(null)" : req->amzdate);
		return 0;
	}
	for (i = 0; i < req->nquery; i++)
		if (req->query == NULL || req->query[i].name == NULL) {
			warnx("sigv4: query parameter %zu has no name", i);
			return 0;
		}
	if (req->nheaders == 0 || req->headers == NULL) {
		warnx("sigv4: no headers to sign");
		return 0;
	}
	for (i = 0; i < req->nheaders; i++) {
		if (req->headers[i].name == NULL ||
		    req->headers[i].value == NULL ||
		    req->headers[i].name[0] == '\0' ||
		    strpbrk(req->headers[i].name, ": \t\r\n") != NULL) {
			warnx("sigv4: header %zu: missing or malformed name", i);
			return 0;
		}
		/* A line break would let a value forge canonical lines. */
		if (strpbrk(req->headers[i].value, "\r\n") != NULL) {
			warnx("sigv4: header %s: value has a line break",
			    req->headers[i].name);
			return 0;
		}
	}
	return 1;
}

static int
sigv4_qparam_cmp(const void *a, const void *b)
{
	const struct sigv4_qparam *x = a, *y = b;
	int c;

	if ((c = strcmp(x->name, y->name)) != 0)
		return c;
	return strcmp(x->value, y->value);
}

/* Append the canonical query string (possibly empty) to "out". */
static void
sigv4_canon_query(const struct sigv4_request *req, struct buf *out)
{
	struct sigv4_qparam *qp;
	const char *v;
	size_t i;

	if (req->nquery == 0)
		return;
	qp = xcalloc(req->nquery, sizeof(*qp));
	for (i = 0; i < req->nquery; i++) {
		/* A NULL value is a bare "?name", signed as "name=". */
		v = req->query[i].value != NULL ? req->query[i].value : "";
		qp[i].name = uri_encode(req->query[i].name,
		    strlen(req->query[i].name), 0);
		qp[i].value = uri_encode(v, strlen(v), 0);
	}
	qsort(qp, req->nquery, sizeof(*qp), sigv4_qparam_cmp);
	for (i = 0; i < req->nquery; i++) {
		if (i > 0)
			buf_append(out, "&", 1);
		buf_append(out, qp[i].name, strlen(qp[i].name));
		buf_append(out, "=", 1);
		buf_append(out, qp[i].value, strlen(qp[i].value));
		free(qp[i].name);
		free(qp[i].value);
	}
	free(qp);
}

/* Trim a header value and collapse inner runs of blanks to one space. */
static char *
sigv4_trim(const char *v)
{
	struct buf b = { NULL, 0, 0 };
	int blank = 0;

	buf_append(&b, "", 0);
	for (; *v != '\0'; v++) {
		if (*v == ' ' || *v == '\t') {
			blank = 1;
			continue;
		}
		if (blank && b.len > 0)
			buf_append(&b, " ", 1);
		blank = 0;
		buf_append(&b, v, 1);
	}
	return b.data;
}

static int
sigv4_hdr_cmp(const void *a, const void *b)
{
	const struct sigv4_hdr *x = a, *y = b;
	int c;

	if ((c = strcmp(x->name, y->name)) != 0)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/*
 * Append the canonical header lines to "canon" (each ending in '\n') and
 * the signed header list to "names".  Headers sharing a name are merged
 * with ',' in the order given.
 */
static void
sigv4_canon_headers(const struct sigv4_request *req, struct buf *canon,
    struct buf *names)
{
	struct sigv4_hdr *hs;
	size_t i, n = req->nheaders;
	char *p;

	hs = xcalloc(n, sizeof(*hs));
	for (i = 0; i < n; i++) {
		hs[i].name = xstrdup(req->headers[i].name);
		for (p = hs[i].name; *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p += 'a' - 'A';
		hs[i].value = sigv4_trim(req->headers[i].value);
		hs[i].order = i;
	}
	qsort(hs, n, sizeof(*hs), sigv4_hdr_cmp);
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(hs[i].name, hs[i - 1].name) == 0)
			buf_append(canon, ",", 1);
		else {
			if (i > 0) {
				buf_append(canon, "\n", 1);
				buf_append(names, ";", 1);
			}
			buf_append(canon, hs[i].name, strlen(hs[i].name));
			buf_append(canon, ":", 1);
			buf_append(names, hs[i].name, strlen(hs[i].name));
		}
		buf_append(canon, hs[i].value, strlen(hs[i].value));
	}
	buf_append(canon, "\n", 1);
	for (i = 0; i < n; i++) {
		free(hs[i].name);
		/* Values may carry the session token. */
		freezero_str(hs[i].value);
	}
	free(hs);
}

/*
 * Derive the signing key for the date, region and service of "req" into
 * key[SIGV4_HASHLEN] (caller's heap buffer, caller wipes).  Every
 * intermediate key is wiped here.  Returns 0, or -1 on an HMAC failure.
 */
static int
sigv4_signing_key(const struct sigv4_request *req, unsigned char *key)
{
	const mbedtls_md_info_t *md = sigv4_md();
	const char *part[3] = { req->region, req->service, "aws4_request" };
	unsigned char *k = NULL;
	char *ksecret = NULL;
	size_t i;
	int rc = -1;

	ksecret = xasprintf("AWS4%s", req->secret_key);
	k = xmalloc(2 * SIGV4_HASHLEN);
	/* k alternates between its halves: input key, then output. */
	if (mbedtls_md_hmac(md, (const unsigned char *)ksecret,
	    strlen(ksecret), (const unsigned char *)req->amzdate, 8, k) != 0)
		goto out;
	for (i = 0; i < 3; i++)
		if (mbedtls_md_hmac(md, k + (i % 2) * SIGV4_HASHLEN,
		    SIGV4_HASHLEN, (const unsigned char *)part[i],
		    strlen(part[i]), k + ((i + 1) % 2) * SIGV4_HASHLEN) != 0)
			goto out;
	/* Three rounds after the first leave the key in the second half. */
	memcpy(key, k + SIGV4_HASHLEN, SIGV4_HASHLEN);
	rc = 0;
out:
	if (rc != 0)
		warnx("sigv4: HMAC-SHA256 failed");
	mbedtls_platform_zeroize(k, 2 * SIGV4_HASHLEN);
	free(k);
	freezero_str(ksecret);
	return rc;
}

/*
 * Sign "req".  Fills "res" (caller frees with sigv4_result_free; on
 * failure every field is NULL).  A query value may be NULL, meaning a
 * bare "?name".  Returns 0, or -1 on bad input (reported).
 */
int
sigv4_sign(const struct sigv4_request *req, struct sigv4_result *res)
{
	struct buf creq = { NULL, 0, 0 }, names = { NULL, 0, 0 };
	unsigned char *key = NULL;
	char *uri = NULL, *scope = NULL;
	char hash[2 * SIGV4_HASHLEN + 1], sig[2 * SIGV4_HASHLEN + 1];
	int rc = -1;

	if (res != NULL)
		memset(res, 0, sizeof(*res));
	if (req == NULL || res == NULL) {
		warnx("sigv4: no request to sign or no result to fill");
		goto out;
	}
	if (!sigv4_check(req))
		goto out;

	/* S3: encode the path once, keep '/', never normalise. */
	uri = *req->path == '\0' ? xstrdup("/") :
	    uri_encode(req->path, strlen(req->path), 1);
	buf_append(&creq, req->method, strlen(req->method));
	buf_append(&creq, "\n", 1);
	buf_append(&creq, uri, strlen(uri));
	buf_append(&creq, "\n", 1);
	sigv4_canon_query(req, &creq);
	buf_append(&creq, "\n", 1);
	sigv4_canon_headers(req, &creq, &names);
	buf_append(&creq, "\n", 1);
	buf_append(&creq, names.data, names.len);
	buf_append(&creq, "\n", 1);
	buf_append(&creq, req->payload_hash, strlen(req->payload_hash));

	scope = xasprintf("%.8s/%s/%s/aws4_request", req->amzdate,
	    req->region, req->service);
	sha256_hex(creq.data, creq.len, hash);
	res->string_to_sign = xasprintf("%s\n%s\n%s\n%s", SIGV4_ALGORITHM,
	    req->amzdate, scope, hash);

	key = xmalloc(2 * SIGV4_HASHLEN);
	if (sigv4_signing_key(req, key) != 0)
		goto out;
	if (mbedtls_md_hmac(sigv4_md(), key, SIGV4_HASHLEN,
	    (const unsigned char *)res->string_to_sign,
	    strlen(res->string_to_sign), key + SIGV4_HASHLEN) != 0) {
		warnx("sigv4: HMAC-SHA256 failed");
		goto out;
	}
	hex_encode(key + SIGV4_HASHLEN, SIGV4_HASHLEN, sig);

	res->authorization = xasprintf("%s Credential=%s/%s, "
	    "SignedHeaders=%s, Signature=%s", SIGV4_ALGORITHM,
	    req->access_key, scope, names.data, sig);
	res->signed_headers = names.data;
	names.data = NULL;
	res->canonical_request = creq.data;
	creq.data = NULL;
	rc = 0;
out:
	if (key != NULL) {
		mbedtls_platform_zeroize(key, 2 * SIGV4_HASHLEN);
		free(key);
	}
	mbedtls_platform_zeroize(sig, sizeof(sig));
	freezero_str(creq.data);
	buf_free(&names);
	free(uri);
	free(scope);
	if (rc != 0)
		sigv4_result_free(res);
	return rc;
}

/*
 * Free what "res" holds (not "res" itself) and leave it zeroed; accepts
 * NULL.  Everything is wiped first: the canonical request may carry the
 * session token, the authorization a live signature.
 */
void
sigv4_result_free(struct sigv4_result *res)
{
	if (res == NULL)
		return;
	freezero_str(res->canonical_request);
	freezero_str(res->string_to_sign);
	freezero_str(res->signed_headers);
	freezero_str(res->authorization);
	memset(res, 0, sizeof(*res));
}
