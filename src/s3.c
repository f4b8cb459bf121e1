/*
 * S3 requests: where a request goes (virtual-hosted or path-style),
 * how it is signed, and what its response means.  Running requests,
 * concurrency and retries belong to transfer.c; this file only builds
 * a call before each attempt and classifies it afterwards.
 */
#include "config.h"

#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "extern.h"
#include "s3.h"

#define EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* Largest error or result document we keep in memory. */
#define RESP_MAX_DEFAULT	(16u * 1024 * 1024)

/* The client. */
struct s3 {
	const struct config *cfg;
	char		*scheme;	/* "https" or "http" */
	char		*endpoint_host;	/* host[:port] of a custom endpoint */
	char		*endpoint_path;	/* path part of the endpoint, "" if none */
	char		*region;	/* follows region redirects */
	int		 path_style;
	struct xfer	*xfer;
	struct sse	 sse;		/* the SSE-C key, when one is set */
};

/* A call on the wire: what one attempt needs, and the redirect it took. */
struct s3_wire {
	void		*easy;		/* the attempt's curl handle */
	struct curl_slist *hdrlist;	/* its request headers */
	uint64_t	 sent;		/* body bytes read for it */
	int		 redirected;	/* the region changed once for it */
};

static int	 s3_xfer_prepare(void *, struct s3_call *, void *);
static int	 s3_xfer_finish(void *, struct s3_call *);

/*
 * A new client for "cfg" (which must outlive it), with its transfer
 * engine and the SSE-C key, if any.  Returns NULL after reporting a bad
 * endpoint or key file.  Free it with s3_free().
 */
struct s3 *
s3_new(const struct config *cfg)
{
	struct s3 *s3;
	struct xfer_ops ops;
	const char *p, *host;
	size_t hostlen;
	int rc = -1;

	s3 = xcalloc(1, sizeof(*s3));
	s3->cfg = cfg;
	s3->sse.cfg = cfg;
	s3->region = xstrdup(cfg->region != NULL ? cfg->region : "us-east-1");
	s3->path_style = cfg->path_style;
	if (cfg->endpoint == NULL) {
		s3->scheme = xstrdup("https");
		s3->endpoint_path = xstrdup("");
	} else {
		if (strncmp(cfg->endpoint, "https://", 8) == 0)
			s3->scheme = xstrdup("https");
		else if (strncmp(cfg->endpoint, "http://", 7) == 0)
			s3->scheme = xstrdup("http");
		else {
			warnx("endpoint %s: must start with http:// or https://",
			    cfg->endpoint);
			goto out;
		}
		host = strstr(cfg->endpoint, "://") + 3;
		hostlen = strcspn(host, "/?#");
		if (hostlen == 0) {
			warnx("endpoint %s: no host name", cfg->endpoint);
			goto out;
		}
		s3->endpoint_host = xstrndup(host, hostlen);
		p = host + hostlen;
		/* Keep a base path ("/s3" behind a proxy), without a trailing '/'. */
		hostlen = strcspn(p, "?#");
		while (hostlen > 0 && p[hostlen - 1] == '/')
			hostlen--;
		s3->endpoint_path = xstrndup(p, hostlen);
	}
	if (sse_load(&s3->sse) == -1)
		goto out;
	memset(&ops, 0, sizeof(ops));
	ops.prepare = s3_xfer_prepare;
	ops.finish = s3_xfer_finish;
	ops.errstr = s3_call_errstr;
	ops.arg = s3;
	ops.max_retries = cfg->max_retries;
	if ((s3->xfer = xfer_new(&ops, cfg->jobs > 0 ? cfg->jobs : 1)) == NULL)
		goto out;
	rc = 0;
out:
	if (rc == -1) {
		s3_free(s3);
		s3 = NULL;
	}
	return s3;
}

/* Free "s3" and its engine, wiping the SSE-C key; accepts NULL. */
void
s3_free(struct s3 *s3)
{
	if (s3 == NULL)
		return;
	xfer_free(s3->xfer);
	sse_free(&s3->sse);
	free(s3->scheme);
	free(s3->endpoint_host);
	free(s3->endpoint_path);
	free(s3->region);
	free(s3);
}

/* The transfer engine of "s3", for callers that run calls themselves. */
struct xfer *
s3_xfer(const struct s3 *s3)
{
	return s3->xfer;
}

/* The settings "s3" was made with. */
const struct config *
s3_config(const struct s3 *s3)
{
	return s3->cfg;
}

/* The region requests are signed for now (it follows redirects). */
const char *
s3_region(const struct s3 *s3)
{
	return s3->region;
}

/*
 * A new call "method" on "bucket" and "key" (copied; either may be
 * NULL), without body or output file.  Free it with s3_call_free().
 */
struct s3_call *
s3_call_new(const char *method, const char *bucket, const char *key)
{
	struct s3_call *c;

	c = xcalloc(1, sizeof(*c));
	c->method = method;
	c->bucket = bucket != NULL ? xstrdup(bucket) : NULL;
	c->key = key != NULL ? xstrdup(key) : NULL;
	c->body_fd = -1;
	c->out_fd = -1;
	c->resp_max = RESP_MAX_DEFAULT;
	c->content_length = -1;
	return c;
}

/* Add query parameter "name" (a literal) = "value" (copied; NULL is ""). */
void
s3_call_query(struct s3_call *c, const char *name, const char *value)
{
	if (c->nquery == S3_MAXQUERY)
		errx(EXIT_FATAL, "internal error: too many query parameters");
	c->query[c->nquery].name = name;
	c->query[c->nquery].value = xstrdup(value != NULL ? value : "");
	c->nquery++;
}

/* Add request header "name" (a literal): "value" (copied). */
void
s3_call_header(struct s3_call *c, const char *name, const char *value)
{
	if (c->nhdr == S3_MAXHDR)
		errx(EXIT_FATAL, "internal error: too many request headers");
	c->hdr[c->nhdr].name = name;
	c->hdr[c->nhdr].value = xstrdup(value);
	c->nhdr++;
}

/* Forget the response of a previous attempt. */
void
s3_call_reset(struct s3_call *c)
{
	c->status = 0;
	buf_reset(&c->resp);
	free(c->etag);
	free(c->bucket_region);
	free(c->meta_mtime);
	free(c->meta_crypt);
	free(c->meta_psize);
	free(c->meta_hmac);
	free(c->meta_key);
	free(c->meta_md5);
	free(c->meta_mode);
	free(c->meta_uid);
	free(c->meta_gid);
	free(c->sse);
	free(c->sse_customer);
	free(c->storage_class);
	free(c->error_code);
	free(c->last_modified);
	free(c->want_value);
	free(c->curl_msg);
	c->etag = c->bucket_region = c->meta_mtime = c->storage_class = NULL;
	c->meta_crypt = c->meta_psize = c->meta_hmac = c->meta_key = NULL;
	c->meta_md5 = c->sse = c->sse_customer = NULL;
	c->meta_mode = c->meta_uid = c->meta_gid = NULL;
	c->error_code = NULL;
	c->last_modified = c->want_value = NULL;
	c->received = 0;
	c->out_errno = 0;
	c->curl_msg = NULL;
	c->content_length = -1;
	xml_error_free(&c->err);
	c->curl_code = 0;
	c->ok = 0;
	if (c->wire != NULL) {
		c->wire->sent = 0;
		curl_slist_free_all(c->wire->hdrlist);
		c->wire->hdrlist = NULL;
	}
}

/* Free "c" with everything it owns; accepts NULL. */
void
s3_call_free(struct s3_call *c)
{
	size_t i;

	if (c == NULL)
		return;
	s3_call_reset(c);
	buf_free(&c->resp);
	for (i = 0; i < c->nquery; i++)
		free(c->query[i].value);
	for (i = 0; i < c->nhdr; i++)
		free(c->hdr[i].value);
	free(c->server);
	free(c->bucket);
	free(c->key);
	free(c->wire);
	xfer_slot_free(c->slot);
	free(c);
}

/*
 * Where the call goes: the Host header value and the raw (unencoded)
 * path.  Both are owned by the caller.
 */
static void
s3_call_target(const struct s3 *s3, const struct s3_call *c, char **host,
    char **path)
{
	const char *key = c->key != NULL ? c->key : "";
	int path_style;

	/* Dotted bucket names break TLS wildcard certificates on AWS. */
	path_style = s3->path_style || c->bucket == NULL ||
	    (s3->endpoint_host == NULL && strchr(c->bucket, '.') != NULL);
	if (s3->endpoint_host != NULL) {
		*host = path_style ? xstrdup(s3->endpoint_host) :
		    xasprintf("%s.%s", c->bucket, s3->endpoint_host);
	} else {
		*host = path_style ?
		    xasprintf("s3.%s.amazonaws.com", s3->region) :
		    xasprintf("%s.s3.%s.amazonaws.com", c->bucket, s3->region);
	}
	if (path_style && c->bucket != NULL)
		*path = xasprintf("%s/%s/%s", s3->endpoint_path != NULL ?
		    s3->endpoint_path : "", c->bucket, key);
	else
		*path = xasprintf("%s/%s", s3->endpoint_path != NULL ?
		    s3->endpoint_path : "", key);
}

/* Request body, from memory or from the file at its offset. */
static size_t
s3_read_body(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct s3_call *c = arg;
	struct s3_wire *w = c->wire;
	size_t want = size * nmemb;
	uint64_t left;
	ssize_t n;

	if (c->body_fd >= 0) {
		left = c->body_size - w->sent;
		if (want > left)
			want = left;
		if (want == 0)
			return 0;
		n = pread(c->body_fd, dst, want, c->body_off + (off_t)w->sent);
		if (n <= 0) {
			/* The file shrank or cannot be read: abort this attempt. */
			return CURL_READFUNC_ABORT;
		}
		w->sent += (uint64_t)n;
		return (size_t)n;
	}
	left = c->body_len - w->sent;
	if (want > left)
		want = left;
	memcpy(dst, c->body + w->sent, want);
	w->sent += want;
	return want;
}

static int
s3_seek_body(void *arg, curl_off_t offset, int origin)
{
	struct s3_call *c = arg;

	if (origin != SEEK_SET || offset < 0)
		return CURL_SEEKFUNC_CANTSEEK;
	c->wire->sent = (uint64_t)offset;
	return CURL_SEEKFUNC_OK;
}

static size_t
s3_write_resp(char *src, size_t size, size_t nmemb, void *arg)
{
	struct s3_call *c = arg;
	size_t n = size * nmemb, keep;
	ssize_t w;
	long status = 0;

	curl_easy_getinfo(c->wire->easy, CURLINFO_RESPONSE_CODE, &status);
	if (c->out_fd >= 0 && status >= 200 && status < 300) {
		/* pwrite: ranges of one object land at their own offsets. */
		for (keep = 0; keep < n; keep += (size_t)w) {
			w = pwrite(c->out_fd, src + keep, n - keep,
			    c->out_off + (off_t)(c->received + keep));
			if (w == -1 && errno == EINTR)
				w = 0;
			else if (w <= 0) {
				/* Disk full, say: curl reports CURLE_WRITE_ERROR. */
				c->out_errno = w == 0 ? EIO : errno;
				return 0;
			}
		}
		c->received += n;
		return n;
	}
	keep = c->resp.len < c->resp_max ? c->resp_max - c->resp.len : 0;
	buf_append(&c->resp, src, n < keep ? n : keep);
	return n;
}

static size_t
s3_write_header(char *src, size_t size, size_t nmemb, void *arg)
{
	s3_call_header_line(arg, src, size * nmemb);
	return size * nmemb;
}

/*
 * Record response header line "line" ("len" bytes, with its CRLF) in
 * the fields of "c" it fills; other headers are ignored.
 */
void
s3_call_header_line(struct s3_call *c, const char *line, size_t len)
{
	const char *colon, *v, *end;
	char **slot = NULL;
	size_t nlen;

	if ((colon = memchr(line, ':', len)) == NULL)
		return;
	nlen = colon - line;
	v = colon + 1;
	end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' ||
	    end[-1] == ' '))
		end--;
#define HDR_IS(s) (nlen == sizeof(s) - 1 && strncasecmp(line, s, nlen) == 0)
	if (HDR_IS("etag")) {
		if (end - v >= 2 && *v == '"' && end[-1] == '"') {
			v++;
			end--;
		}
		slot = &c->etag;
	} else if (HDR_IS("x-amz-bucket-region"))
		slot = &c->bucket_region;
	else if (HDR_IS("x-amz-meta-mtime"))
		slot = &c->meta_mtime;
	else if (HDR_IS("x-amz-meta-p3-crypt"))
		slot = &c->meta_crypt;
	else if (HDR_IS("x-amz-meta-p3-size"))
		slot = &c->meta_psize;
	else if (HDR_IS("x-amz-meta-p3-hmac"))
		slot = &c->meta_hmac;
	else if (HDR_IS("x-amz-meta-p3-key"))
		slot = &c->meta_key;
	else if (HDR_IS("x-amz-meta-md5chksum"))
		slot = &c->meta_md5;
	else if (HDR_IS("x-amz-meta-mode"))
		slot = &c->meta_mode;
	else if (HDR_IS("x-amz-meta-uid"))
		slot = &c->meta_uid;
	else if (HDR_IS("x-amz-meta-gid"))
		slot = &c->meta_gid;
	else if (HDR_IS("x-amz-server-side-encryption"))
		slot = &c->sse;
	else if (HDR_IS("x-amz-server-side-encryption-customer-algorithm"))
		slot = &c->sse_customer;
	else if (HDR_IS("x-amz-storage-class"))
		slot = &c->storage_class;
	else if (HDR_IS("x-amz-error-code"))
		slot = &c->error_code;
	else if (HDR_IS("last-modified"))
		slot = &c->last_modified;
	else if (HDR_IS("content-length"))
		c->content_length = strtoll(v, NULL, 10);
	else if (c->want_header != NULL && nlen == strlen(c->want_header) &&
	    strncasecmp(line, c->want_header, nlen) == 0)
		slot = &c->want_value;
#undef HDR_IS
	if (slot != NULL) {
		free(*slot);
		*slot = xstrndup(v, end - v);
	}
}

/*
 * The canonical URI and query of a signed request are exactly what goes
 * on the wire: take them from the canonical request (lines 2 and 3) so
 * the URL and the signature can never disagree.
 */
static char *
s3_url(const char *scheme, const char *host, const char *creq)
{
	const char *uri, *q, *end;

	uri = strchr(creq, '\n') + 1;
	q = strchr(uri, '\n') + 1;
	end = strchr(q, '\n');
	if (end == q)
		return xasprintf("%s://%s%.*s", scheme, host,
		    (int)(q - 1 - uri), uri);
	return xasprintf("%s://%s%.*s?%.*s", scheme, host,
	    (int)(q - 1 - uri), uri, (int)(end - q), q);
}

/*
 * Sign "c" for now and configure the curl easy handle "easy" with its
 * URL, method, headers and body, forgetting any previous answer.  The
 * engine does this before every attempt.  Returns 0, or -1 (reported).
 */
int
s3_call_prepare(struct s3 *s3, struct s3_call *c, void *easy)
{
	const struct config *cfg = s3->cfg;
	struct sigv4_kv qv[S3_MAXQUERY], hv[S3_MAXHDR + 4 + SSE_MAXHDR];
	struct sigv4_request sr;
	struct sigv4_result res;
	char amzdate[17], hash[65], *host = NULL, *path = NULL, *url = NULL;
	char *line;
	size_t i, nh = 0;
	int rc = -1;

	memset(&res, 0, sizeof(res));
	s3_call_reset(c);
	if (c->wire == NULL)
		c->wire = xcalloc(1, sizeof(*c->wire));
	c->wire->easy = easy;
	s3_call_target(s3, c, &host, &path);
	sigv4_amzdate(time(NULL), amzdate);
	if (c->unsigned_payload || c->body_fd >= 0)
		strcpy(hash, "UNSIGNED-PAYLOAD");
	else if (c->body != NULL)
		sha256_hex(c->body, c->body_len, hash);
	else
		strcpy(hash, EMPTY_SHA256);

	for (i = 0; i < c->nquery; i++) {
		qv[i].name = c->query[i].name;
		qv[i].value = c->query[i].value;
	}
	hv[nh].name = "host";
	hv[nh++].value = host;
	hv[nh].name = "x-amz-date";
	hv[nh++].value = amzdate;
	hv[nh].name = "x-amz-content-sha256";
	hv[nh++].value = hash;
	if (cfg->creds.session_token != NULL) {
		hv[nh].name = "x-amz-security-token";
		hv[nh++].value = cfg->creds.session_token;
	}
	for (i = 0; i < c->nhdr; i++) {
		hv[nh].name = c->hdr[i].name;
		hv[nh++].value = c->hdr[i].value;
	}
	nh += sse_headers(&s3->sse, c, hv + nh);

	memset(&sr, 0, sizeof(sr));
	sr.method = c->method;
	sr.path = path;
	sr.query = qv;
	sr.nquery = c->nquery;
	sr.headers = hv;
	sr.nheaders = nh;
	sr.payload_hash = hash;
	sr.amzdate = amzdate;
	sr.region = s3->region;
	sr.service = "s3";
	sr.access_key = cfg->creds.access_key;
	sr.secret_key = cfg->creds.secret_key;
	if (sigv4_sign(&sr, &res) == -1)
		goto out;

	url = s3_url(s3->scheme, host, res.canonical_request);
	free(c->server);
	c->server = xasprintf("%s://%s", s3->scheme, host);
	logmsg(2, "%s %s", c->method, url);
	for (i = 0; i < nh; i++) {
		line = xasprintf("%s: %s", hv[i].name, hv[i].value);
		c->wire->hdrlist = curl_slist_append(c->wire->hdrlist, line);
		freezero_str(line);
	}
	line = xasprintf("Authorization: %s", res.authorization);
	c->wire->hdrlist = curl_slist_append(c->wire->hdrlist, line);
	freezero_str(line);
	/* No 100-continue round trip, and no default content type. */
	c->wire->hdrlist = curl_slist_append(c->wire->hdrlist, "Expect:");
	c->wire->hdrlist = curl_slist_append(c->wire->hdrlist, "Accept:");
	if (c->wire->hdrlist == NULL)
		errx(EXIT_FATAL, "curl_slist_append: out of memory");

	curl_easy_setopt(easy, CURLOPT_URL, url);
	/* Keys may hold "." and ".." segments: send the path as signed. */
	curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, c->wire->hdrlist);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cfg->ca_bundle != NULL)
		curl_easy_setopt(easy, CURLOPT_CAINFO, cfg->ca_bundle);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME,
	    (long)(cfg->timeout > 0 ? cfg->timeout : 60));
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, s3_write_resp);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, s3_write_header);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);

	if (strcmp(c->method, "HEAD") == 0)
		curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
	else if (strcmp(c->method, "PUT") == 0 || strcmp(c->method, "POST") == 0) {
		curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)(c->body_fd >= 0 ? c->body_size : c->body_len));
		curl_easy_setopt(easy, CURLOPT_READFUNCTION, s3_read_body);
		curl_easy_setopt(easy, CURLOPT_READDATA, c);
		curl_easy_setopt(easy, CURLOPT_SEEKFUNCTION, s3_seek_body);
		curl_easy_setopt(easy, CURLOPT_SEEKDATA, c);
		if (strcmp(c->method, "POST") == 0)
			curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, "POST");
	} else if (strcmp(c->method, "GET") != 0)
		curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, c->method);
	rc = 0;
out:
	sigv4_result_free(&res);
	free(host);
	free(path);
	free(url);
	return rc;
}

/* The list of request headers of the last attempt, or NULL (for tests). */
const struct curl_slist *
s3_call_sent_headers(const struct s3_call *c)
{
	return c->wire != NULL ? c->wire->hdrlist : NULL;
}

/*
 * After an attempt ended: parse its error document, if any, and set
 * c->ok (2xx, and no <Error> inside).
 */
void
s3_call_finish(struct s3_call *c)
{
	xml_error_free(&c->err);
	if (c->resp.len > 0)
		(void)xml_parse_error(c->resp.data, c->resp.len, &c->err);
	/* Some servers send the code only as a header (or bad XML). */
	if (c->err.code == NULL && c->error_code != NULL &&
	    (c->status >= 300 || c->status == 0))
		c->err.code = xstrdup(c->error_code);
	c->ok = c->curl_code == CURLE_OK && c->status >= 200 &&
	    c->status < 300 && c->err.code == NULL;
}

/* A hint for the error codes users meet first; NULL when none. */
static const char *
s3_hint(const char *code)
{
	static const struct {
		const char *code;
		const char *hint;
	} hints[] = {
		{ "SignatureDoesNotMatch", "signature does not match: "
		    "check your secret key" },
		{ "InvalidAccessKeyId", "the server does not know this "
		    "access key id: check your access key" },
		{ "RequestTimeTooSkewed", "the local clock is too far from "
		    "the server's: fix the system time (NTP)" },
		{ "ExpiredToken", "the session token has expired: "
		    "refresh your credentials" },
		{ "InvalidToken", "the session token is not valid: "
		    "refresh your credentials" },
		{ "NoSuchBucket", "the bucket does not exist" },
		{ "BucketAlreadyExists", "the bucket name belongs to another "
		    "account: choose another name" },
		{ "AccessDenied", "access denied: check the credentials' "
		    "permissions for this bucket" },
	};
	size_t i;

	for (i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
		if (strcmp(code, hints[i].code) == 0)
			return hints[i].hint;
	return NULL;
}

/*
 * One line describing why a finished call failed, with a hint for the
 * well-known causes (wrong secret, clock skew, missing bucket).
 * Returns a string owned by the caller.
 */
char *
s3_call_errstr(const struct s3_call *c)
{
	const char *hint;

	if (c->curl_code == CURLE_WRITE_ERROR && c->out_errno != 0)
		return xasprintf("write: %s", strerror(c->out_errno));
	if (c->curl_code == CURLE_OPERATION_TIMEDOUT)
		return xasprintf("the server did not answer in time (%s; "
		    "see --timeout)", c->curl_msg != NULL ? c->curl_msg :
		    curl_easy_strerror(c->curl_code));
	/* Say where: an endpoint typo should be plain to see. */
	if ((c->curl_code == CURLE_COULDNT_CONNECT ||
	    c->curl_code == CURLE_COULDNT_RESOLVE_HOST ||
	    c->curl_code == CURLE_SSL_CONNECT_ERROR) && c->server != NULL)
		return xasprintf("cannot connect to %s: %s", c->server,
		    c->curl_msg != NULL ? c->curl_msg :
		    curl_easy_strerror(c->curl_code));
	if (c->curl_code != CURLE_OK)
		return xasprintf("%s", c->curl_msg != NULL ? c->curl_msg :
		    curl_easy_strerror(c->curl_code));
	if (c->err.code != NULL) {
		hint = s3_hint(c->err.code);
		if (hint != NULL)
			return xasprintf("%s (HTTP %ld %s)", hint, c->status,
			    c->err.code);
		return xasprintf("HTTP %ld %s: %s", c->status, c->err.code,
		    c->err.message != NULL ? c->err.message : "no message");
	}
	switch (c->status) {
	case 301:
		return xasprintf("HTTP 301: the bucket is in another region%s%s",
		    c->bucket_region ? " (" : "",
		    c->bucket_region ? c->bucket_region : "");
	case 403:
		return xasprintf("HTTP 403: access denied (no error document; "
		    "check your credentials)");
	case 404:
		return xasprintf("HTTP 404: not found");
	default:
		return xasprintf("HTTP %ld", c->status);
	}
}

/* 1 when the failure of "c" means no other request can succeed either. */
int
s3_call_fatal(const struct s3_call *c)
{
	static const char *fatal[] = {
		"SignatureDoesNotMatch", "InvalidAccessKeyId",
		"RequestTimeTooSkewed", "ExpiredToken", "InvalidToken",
		"NoSuchBucket", "AuthorizationHeaderMalformed",
		"InvalidBucketName", "PermanentRedirect",
	};
	size_t i;

	if (c->ok)
		return 0;
	/* Retries are exhausted: the network or the server is down. */
	if (c->curl_code != CURLE_OK && c->curl_code != CURLE_ABORTED_BY_CALLBACK &&
	    c->curl_code != CURLE_READ_ERROR && c->curl_code != CURLE_WRITE_ERROR)
		return 1;
	if (c->status >= 500)
		return 1;
	if (c->err.code != NULL)
		for (i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
			if (strcmp(c->err.code, fatal[i]) == 0)
				return 1;
	return 0;
}

/*
 * Run "c" to completion on the engine of "s3" (with its retries).
 * Returns 0 on 2xx, -1 otherwise (not reported: see s3_call_errstr).
 */
int
s3_exec(struct s3 *s3, struct s3_call *c)
{
	xfer_submit(s3->xfer, c);
	if (xfer_run(s3->xfer) == -1)
		return -1;
	return c->ok ? 0 : -1;
}

/*
 * Send "len" bytes of "body" (not owned; it must outlive the call) with
 * their Content-MD5 and content type "ctype".
 */
void
s3_call_body(struct s3_call *c, const char *body, size_t len,
    const char *ctype)
{
	char md5[32];

	c->body = body;
	c->body_len = len;
	content_md5(body, len, md5);
	s3_call_header(c, "content-md5", md5);
	s3_call_header(c, "content-type", ctype);
}

/*
 * A PutObject call for "size" bytes of "fd" from offset 0, with
 * Content-MD5 "md5b64", x-amz-meta-mtime "mtime" and content type
 * "ctype" (any may be NULL; the type is then application/octet-stream).
 * The caller owns the call.
 */
struct s3_call *
s3_put_new(const char *bucket, const char *key, int fd, uint64_t size,
    const char *md5b64, const char *mtime, const char *ctype)
{
	struct s3_call *c;

	c = s3_call_new("PUT", bucket, key);
	c->body_fd = fd;
	c->body_off = 0;
	c->body_size = size;
	c->unsigned_payload = 1;
	if (md5b64 != NULL) {
		s3_call_header(c, "content-md5", md5b64);
		/* rclone's: the MD5 survives ETags that are not one. */
		s3_call_header(c, "x-amz-meta-md5chksum", md5b64);
	}
	s3_call_header(c, "content-type",
	    ctype != NULL ? ctype : "application/octet-stream");
	if (mtime != NULL)
		s3_call_header(c, "x-amz-meta-mtime", mtime);
	return c;
}

/* The engine's prepare: see s3_call_prepare(). */
static int
s3_xfer_prepare(void *arg, struct s3_call *c, void *easy)
{
	return s3_call_prepare(arg, c, easy);
}

/*
 * A 301, or a 400 naming another region, means the bucket lives
 * elsewhere: switch the client's region once and go again at once.
 */
static int
s3_redirect(struct s3 *s3, struct s3_call *c)
{
	const char *region;

	if (c->wire->redirected || (c->status != 301 && c->status != 400))
		return 0;
	region = c->bucket_region != NULL ? c->bucket_region : c->err.region;
	if (region == NULL || *region == '\0' ||
	    strcmp(region, s3->region) == 0)
		return 0;
	logmsg(1, "bucket %s is in region %s, not %s: following it",
	    c->bucket != NULL ? c->bucket : "", region, s3->region);
	free(s3->region);
	s3->region = xstrdup(region);
	c->wire->redirected = 1;
	return 1;
}

/*
 * The engine's finish: classify the answer, and send the call again at
 * once when it went to the wrong region or needs no SSE-C headers.
 */
static int
s3_xfer_finish(void *arg, struct s3_call *c)
{
	struct s3 *s3 = arg;

	c->wire->easy = NULL;	/* the engine has cleaned it up */
	s3_call_finish(c);
	return !c->ok && (s3_redirect(s3, c) ||
	    sse_c_plain_retry(&s3->sse, c));
}
