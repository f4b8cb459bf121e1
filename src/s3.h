/*
 * p3backup: the S3 layer behind its own header, as acme-client keeps its
 * HTTP client behind http.h: request signing (sigv4.c), the response
 * documents (xml.c, list.c, mpdoc.c), requests and their answers (s3.c,
 * sse.c) and the engine that runs them (transfer.c).  One section per
 * file, named after it; each function's contract is at its definition.
 * Include after extern.h.
 */
#ifndef P3BACKUP_S3_H
#define P3BACKUP_S3_H

/* ------------------------------------------------------------------ */
/* sigv4.c: AWS Signature Version 4, a pure module */

struct sigv4_kv {
	const char	*name;
	const char	*value;
};

struct sigv4_request {
	const char	*method;
	const char	*path;		/* raw path bytes; encoded here */
	const struct sigv4_kv *query;	/* raw names/values; encoded here */
	size_t		 nquery;
	const struct sigv4_kv *headers;	/* all headers to sign */
	size_t		 nheaders;
	const char	*payload_hash;	/* hex SHA-256 or UNSIGNED-PAYLOAD */
	const char	*amzdate;	/* YYYYMMDDTHHMMSSZ */
	const char	*region;
	const char	*service;
	const char	*access_key;
	const char	*secret_key;
};

struct sigv4_result {
	char	*canonical_request;
	char	*string_to_sign;
	char	*signed_headers;
	char	*authorization;	/* the Authorization header's value */
};

/*
 * Sign "req".  Fills "res" (caller frees with sigv4_result_free).
 * Returns 0, or -1 on bad input (reported).
 */
int	 sigv4_sign(const struct sigv4_request *, struct sigv4_result *);
void	 sigv4_result_free(struct sigv4_result *);
/* Format "t" as YYYYMMDDTHHMMSSZ into out[17]. */
void	 sigv4_amzdate(time_t t, char out[17]);

/* ------------------------------------------------------------------ */
/* xml.c: the walk over S3's XML documents; <Error>, DeleteObjects */

/* What a callback of xml_walk() and xml_walk() itself return. */
enum XML_WALK {
	XML_WALK_GO = 0,	/* go on; from xml_walk: root closed, all read */
	XML_WALK_STOP = 1,	/* a callback stopped early, all is well */
	XML_WALK_FAIL = -1,	/* a callback failed (and reported it) */
	XML_WALK_BAD = -2	/* not well-formed: see the diagnostic */
};

/* The first error libxml2 (or the walk) found in a document. */
struct xml_diag {
	int	 code;		/* libxml2's xmlParserErrors, 0 for ours */
	int	 line;
	int	 col;
	char	 msg[256];
};

/*
 * Element callbacks.  "depth" is 0 for the root; "text" holds the
 * character data directly collected since the element started.
 */
struct xml_walker {
	int	(*start)(void *, int depth, const char *name);
	int	(*end)(void *, int depth, const char *name,
		    const struct buf *text);
	void	*arg;
};

int	 xml_walk(const char *, size_t, const struct xml_walker *,
	    struct xml_diag *);
void	 xml_skip_keepalive(const char **, size_t *);
const char *xml_unquote(struct buf *);

struct s3_error {
	char	*code;		/* e.g. "SignatureDoesNotMatch" */
	char	*message;
	char	*region;	/* <Region>, when the server names one */
};
int	 xml_parse_error(const char *, size_t, struct s3_error *);
void	 xml_error_free(struct s3_error *);

/* Per <Error> of a DeleteObjects answer: 0 goes on, -1 stops. */
typedef int (*delete_error_fn)(void *arg, const char *key,
	    const char *code, const char *message);
int	 xml_parse_delete_result(const char *, size_t, delete_error_fn,
	    void *arg);

/* ------------------------------------------------------------------ */
/* list.c (its S3 side; the stage is in extern.h): ListObjectsV2 */

/* One <Contents> entry; pointers are valid during the callback only. */
struct list_entry {
	const char	*key;		/* decoded key bytes */
	size_t		 keylen;
	int64_t		 size;
	const char	*etag;		/* without the quotes */
	const char	*last_modified;	/* as sent, ISO-8601 */
	const char	*storage_class;
};
typedef int (*list_entry_fn)(void *arg, const struct list_entry *);

struct list_page {
	int	 truncated;	/* IsTruncated was true */
	char	*next_token;	/* NextContinuationToken, caller frees */
	long	 count;		/* <Contents> seen on this page */
};

int	 list_parse_page(const char *, size_t, int url_encoded,
	    list_entry_fn, void *arg, struct list_page *);
int	 list_objects(struct s3 *, const char *bucket, const char *prefix,
	    list_entry_fn, void *arg);

/* ------------------------------------------------------------------ */
/* mpdoc.c: the multipart upload answers */

/* One <Part> of a ListParts page. */
struct mpdoc_part {
	uint32_t	 number;
	int64_t		 size;
	const char	*etag;		/* without quotes */
};
typedef int (*mpdoc_part_fn)(void *arg, const struct mpdoc_part *);

int	 mpdoc_parse_initiate(const char *, size_t, char **upload_id);
int	 mpdoc_parse_complete(const char *, size_t, char **etag,
	    struct s3_error *);
int	 mpdoc_parse_parts(const char *, size_t, mpdoc_part_fn, void *arg,
	    int *truncated, uint32_t *next_marker);

/* ------------------------------------------------------------------ */
/* s3.c: S3 requests: addressing, signing, response classification */

/* The namespace of S3's request and answer documents. */
#define S3_XMLNS	"http://s3.amazonaws.com/doc/2006-03-01/"

#define S3_MAXQUERY	4
#define S3_MAXHDR	12

struct xfer;
struct s3_call;
typedef void (*s3_done_fn)(struct s3_call *, void *arg);

/* One client per run. */
struct s3 {
	const struct config *cfg;
	char		*scheme;	/* "https" or "http" */
	char		*endpoint_host;	/* host[:port] of a custom endpoint */
	char		*endpoint_path;	/* path part of the endpoint, "" if none */
	char		*region;	/* follows region redirects */
	int		 path_style;
	struct xfer	*xfer;
	char		*ssec_key;	/* SSE-C: base64 key (secret), or NULL */
	char		*ssec_md5;	/* ...and base64 of its MD5 */
};

/* A name/value pair owned by a call: the name is a literal. */
struct s3_pair {
	const char	*name;
	char		*value;
};

/*
 * One S3 request and its response.  Built with s3_call_new and the
 * s3_call_* setters, run by the transfer engine (which retries it),
 * freed with s3_call_free.
 */
struct s3_call {
	/* request */
	const char	*method;
	char		*bucket;	/* NULL: service level */
	char		*key;		/* raw key bytes, NULL for bucket ops */
	struct s3_pair	 query[S3_MAXQUERY];
	size_t		 nquery;
	struct s3_pair	 hdr[S3_MAXHDR];
	size_t		 nhdr;
	const char	*body;		/* memory body, not owned */
	size_t		 body_len;
	int		 body_fd;	/* file body when >= 0, not owned */
	off_t		 body_off;
	uint64_t	 body_size;
	int		 unsigned_payload; /* sign as UNSIGNED-PAYLOAD */
	int		 ssec_off;	/* sent without SSE-C (sse_c_plain_retry) */
	int		 out_fd;	/* response body to this fd when >= 0 */
	off_t		 out_off;	/* ...written from this offset on */
	uint64_t	 received;	/* body bytes written to out_fd */
	int		 out_errno;	/* why writing to out_fd failed, or 0 */
	size_t		 resp_max;	/* keep at most this much body */

	/* response */
	long		 status;	/* HTTP status, 0 when none */
	struct buf	 resp;		/* body (error or result document) */
	char		*etag;		/* ETag without quotes */
	char		*bucket_region;	/* x-amz-bucket-region */
	char		*meta_mtime;	/* x-amz-meta-mtime */
	char		*meta_crypt;	/* x-amz-meta-p3-crypt: encrypted */
	char		*meta_psize;	/* x-amz-meta-p3-size: plaintext size */
	char		*meta_hmac;	/* x-amz-meta-p3-hmac: keyed checksum */
	char		*meta_key;	/* x-amz-meta-p3-key: the key id, short */
	char		*meta_md5;	/* x-amz-meta-md5chksum (rclone's) */
	char		*sse;		/* x-amz-server-side-encryption */
	char		*sse_customer;	/* ...-customer-algorithm: SSE-C */
	char		*storage_class;	/* x-amz-storage-class */
	char		*error_code;	/* x-amz-error-code, when sent */
	char		*last_modified;	/* Last-Modified, as sent */
	int64_t		 content_length;
	struct s3_error	 err;		/* parsed <Error>, when any */
	int		 curl_code;	/* CURLcode of the last attempt */
	char		*curl_msg;	/* curl's message for it */
	char		*server;	/* scheme://host it went to, for messages */
	int		 ok;		/* final: 1 when 2xx */

	/* completion */
	s3_done_fn	 done;
	void		*arg;
	void		*arg2;

	/* transfer engine state */
	int		 attempt;
	int		 redirected;
	uint64_t	 not_before;	/* monotonic ms */
	void		*easy;
	struct curl_slist *hdrlist;
	uint64_t	 sent;
	struct s3_call	*next;
};

/*
 * Set up the client from "cfg" (which must outlive it).  Returns 0, or
 * -1 after reporting a bad endpoint.
 */
int	 s3_init(struct s3 *, const struct config *);
void	 s3_free(struct s3 *);
/* A new call; bucket and key are copied (either may be NULL). */
struct s3_call *s3_call_new(const char *method, const char *bucket,
	    const char *key);
void	 s3_call_query(struct s3_call *, const char *name, const char *value);
void	 s3_call_header(struct s3_call *, const char *name, const char *value);
/*
 * Send "len" bytes of "body" (not owned; it must outlive the call) with
 * their Content-MD5 and content type "ctype".
 */
void	 s3_call_body(struct s3_call *, const char *body, size_t len,
	    const char *ctype);
/* Forget the response of a previous attempt. */
void	 s3_call_reset(struct s3_call *);
void	 s3_call_free(struct s3_call *);
/*
 * Sign the call for "now" and configure the curl easy handle "easy"
 * with its URL, method, headers and body.  Used by the transfer engine
 * before every attempt.  Returns 0, or -1 (reported).
 */
int	 s3_call_prepare(struct s3 *, struct s3_call *, void *easy);
/* Record one response header line (called by the engine). */
void	 s3_call_header_line(struct s3_call *, const char *, size_t);
/* Parse the error document, if any, after the call ended. */
void	 s3_call_finish(struct s3_call *);
/*
 * One line describing why a finished call failed, with a hint for the
 * well-known causes (wrong secret, clock skew, missing bucket).
 * Returns a string owned by the caller.
 */
char	*s3_call_errstr(const struct s3_call *);
/* 1 when the failure means no other request can succeed either. */
int	 s3_call_fatal(const struct s3_call *);
/* Run one call to completion (with retries).  Returns 0 on 2xx. */
int	 s3_exec(struct s3 *, struct s3_call *);

/*
 * HeadBucket.  Returns 0 when it exists and is ours, 1 when it does
 * not exist, -1 on any other failure (reported).
 */
int	 s3_head_bucket(struct s3 *, const char *bucket);
/*
 * CreateBucket "bucket" (with a LocationConstraint outside us-east-1).
 * Returns 0 when created, or already ours and "must_be_new" is 0; 1 when
 * it exists and "must_be_new" (BucketAlreadyOwnedByYou or
 * BucketAlreadyExists, without a message); -1 after reporting.
 */
int	 s3_create_bucket(struct s3 *, const char *bucket, int must_be_new);
/*
 * A PutObject call for "size" bytes of "fd" from offset 0, with
 * Content-MD5 "md5b64", x-amz-meta-mtime "mtime" and content type
 * "ctype" (either may be NULL).  The caller owns the call.
 */
struct s3_call *s3_put_new(const char *bucket, const char *key, int fd,
	    uint64_t size, const char *md5b64, const char *mtime,
	    const char *ctype);

/* ------------------------------------------------------------------ */
/* sse.c: server-side settings sent as headers: --sse, --sse-kms-key-id,
 * --sse-c-key-file, --acl, --request-payer */

/* The most headers sse_headers adds to one request. */
#define SSE_MAXHDR	7

/*
 * Whether "value" is a value of --sse / a canned ACL for objects;
 * "what" names it in the message.  0, or -1 after reporting.
 */
int	 sse_valid(const char *what, const char *value);
int	 sse_valid_acl(const char *what, const char *value);
/*
 * Check the values of those settings in "cfg", and that they go
 * together, before any request.
 * Returns 0, or -1 after reporting (a usage error).
 */
int	 sse_check(const struct config *);
/*
 * Read cfg->sse_c_key_file, when set, into s3->ssec_key/ssec_md5.
 * Returns 0, or -1 after reporting (a configuration error).
 */
int	 sse_load(struct s3 *);
/* Wipe and free what sse_load set. */
void	 sse_free(struct s3 *);
/*
 * Fill hv[] (room for SSE_MAXHDR) with the headers the settings add to
 * call "c", by what the call is (see the top of sse.c).  The values
 * point into s3 and its config.  Returns how many.
 */
size_t	 sse_headers(const struct s3 *, const struct s3_call *,
	    struct sigv4_kv *);
/*
 * What a failed GET or HEAD of an object means when SSE-C is in play:
 * the key is missing, or another key sealed the object; NULL when the
 * answer says neither.
 */
const char *sse_c_hint(const struct config *, const struct s3_call *);
/*
 * A GET or HEAD sent with SSE-C headers failed with 400: mark it to go
 * again without them (the object may be stored plain) and return 1,
 * once; else 0.
 */
int	 sse_c_plain_retry(const struct s3 *, struct s3_call *);
/*
 * Whether the ETag of answer "c" can be the MD5 of the content: not
 * when the server says it stored the object with SSE-KMS or SSE-C
 * (AWS documents that those ETags are not an MD5).
 */
int	 sse_etag_is_md5(const struct s3_call *);
/* Whether the settings ask for SSE-KMS or SSE-C: ETags are no MD5. */
int	 sse_etags_not_md5(const struct config *);

/* ------------------------------------------------------------------ */
/* transfer.c: the libcurl multi engine; the one place retries happen */

/* A new engine running at most "jobs" requests at once. */
struct xfer *xfer_new(struct s3 *, int jobs);
void	 xfer_free(struct xfer *);
/*
 * Called by the engine whenever it has room for more work: submit the
 * next call and return XFER_FEED_MORE; return XFER_FEED_WAIT when
 * nothing can start until a call under way finishes, XFER_FEED_LATER
 * when another thread will call xfer_wakeup once something can start,
 * XFER_FEED_DONE when there is nothing left at all.
 */
enum { XFER_FEED_DONE = 0, XFER_FEED_MORE = 1, XFER_FEED_WAIT = 2,
	XFER_FEED_LATER = 3 };
typedef int (*xfer_feed_fn)(void *arg);
void	 xfer_set_feed(struct xfer *, xfer_feed_fn, void *arg);
/* From any thread: make xfer_run ask its feed again soon (a struct xfer). */
void	 xfer_wakeup(void *xfer);
/* Queue a call; its done callback runs once it succeeded or gave up. */
void	 xfer_submit(struct xfer *, struct s3_call *);
/*
 * Run until every queued call has finished (callbacks may queue more).
 * Returns 0, or -1 when the engine itself failed (reported).
 */
int	 xfer_run(struct xfer *);
/* Exponential backoff with full jitter for retry "attempt" (1-based). */
uint64_t xfer_backoff_ms(int attempt);

#endif /* !P3BACKUP_S3_H */
