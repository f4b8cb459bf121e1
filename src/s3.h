/*
 * p3backup: the S3 layer behind its own header, as acme-client keeps its
 * HTTP client behind http.h: request signing (sigv4.c), the response
 * documents (xml.c, list.c, versions.c, mpdoc.c), requests and their
 * answers (s3.c, sse.c) and the engine that runs them (transfer.c).
 * One section per file, named after it; each function's contract is at
 * its definition.
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

int	 sigv4_sign(const struct sigv4_request *, struct sigv4_result *);
void	 sigv4_result_free(struct sigv4_result *);
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
int	 xml_root_field(const char *, size_t, const char *root,
	    const char *field, struct buf *);
int	 xml_keep_field(const char *const *names, int n, const char *name,
	    const struct buf *text, struct buf *field, int *have);

struct s3_error {
	char	*code;		/* e.g. "SignatureDoesNotMatch" */
	char	*message;
	char	*region;	/* <Region>, when the server names one */
};
int	 xml_parse_error(const char *, size_t, struct s3_error *);
void	 xml_error_free(struct s3_error *);

/* Per <Error> of a DeleteObjects answer: 0 goes on, -1 stops. */
typedef int (*xml_delete_fn)(void *arg, const char *key,
	    const char *code, const char *message);
int	 xml_parse_delete_result(const char *, size_t, xml_delete_fn,
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

/* What every listing page parser shares; "what" starts each message. */
int	 list_walk_page(const char *what, const char *, size_t,
	    const struct xml_walker *, const int *is_error);
int	 list_encoding_url(const char *what, const char *, size_t);
int	 list_key_decode(const char *what, struct buf *dst,
	    const struct buf *src);
int	 list_parse_size(const char *what, const char *key, const char *,
	    int64_t *);
int	 list_parse_bool(const char *what, const char *name, const char *,
	    int *);

/* ------------------------------------------------------------------ */
/* versions.c (S3 side): ListObjectVersions */

/*
 * One <Version> or <DeleteMarker>; pointers are valid during the
 * callback only.
 */
struct versions_entry {
	const char	*key;		/* decoded key bytes */
	size_t		 keylen;
	const char	*version_id;	/* as sent; "null": from before versioning */
	int		 is_latest;
	int		 delete_marker;	/* a <DeleteMarker>: no size, no etag */
	int64_t		 size;		/* -1 for a delete marker */
	const char	*etag;		/* no quotes; NULL for a delete marker */
	const char	*last_modified;	/* ISO-8601 as sent */
	const char	*storage_class;
};
typedef int (*versions_entry_fn)(void *arg, const struct versions_entry *);

struct versions_page {
	int	 truncated;		/* IsTruncated was true */
	char	*next_key_marker;	/* NextKeyMarker, decoded; caller frees */
	char	*next_version_id_marker; /* NextVersionIdMarker; caller frees */
	long	 count;			/* entries seen on this page */
};

int	 versions_parse_page(const char *, size_t, int url_encoded,
	    versions_entry_fn, void *arg, struct versions_page *);
int	 versions_list(struct s3 *, const char *bucket, const char *prefix,
	    versions_entry_fn, void *arg);

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

/* ListObjectVersions sends the most: versions, encoding, prefix, 2 markers. */
#define S3_MAXQUERY	5
#define S3_MAXHDR	16

struct s3;		/* the client, one per run: s3_new() */
struct s3_call;
struct s3_wire;		/* s3.c's state of a call on the wire */
struct xfer_slot;	/* transfer.c's state of a queued call */
struct curl_slist;
struct xfer;
typedef void (*s3_done_fn)(struct s3_call *, void *arg);

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
	char		*meta_mode;	/* x-amz-meta-mode, -uid, -gid (rclone's) */
	char		*meta_uid;
	char		*meta_gid;
	char		*sse;		/* x-amz-server-side-encryption */
	char		*sse_customer;	/* ...-customer-algorithm: SSE-C */
	char		*storage_class;	/* x-amz-storage-class */
	char		*error_code;	/* x-amz-error-code, when sent */
	char		*last_modified;	/* Last-Modified, as sent */
	const char	*want_header;	/* one more header to keep (literal)... */
	char		*want_value;	/* ...its value, when sent */
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

	/* private: s3.c's and transfer.c's own */
	struct s3_wire	*wire;
	struct xfer_slot *slot;
};

struct s3	*s3_new(const struct config *);
void		 s3_free(struct s3 *);
struct xfer	*s3_xfer(const struct s3 *);
const struct config *s3_config(const struct s3 *);
const char	*s3_region(const struct s3 *);

struct s3_call	*s3_call_new(const char *method, const char *bucket,
		    const char *key);
void		 s3_call_query(struct s3_call *, const char *name,
		    const char *value);
void		 s3_call_header(struct s3_call *, const char *name,
		    const char *value);
void		 s3_call_body(struct s3_call *, const char *body, size_t len,
		    const char *ctype);
void		 s3_call_reset(struct s3_call *);
void		 s3_call_free(struct s3_call *);
int		 s3_call_prepare(struct s3 *, struct s3_call *, void *easy);
const struct curl_slist *s3_call_sent_headers(const struct s3_call *);
void		 s3_call_header_line(struct s3_call *, const char *, size_t);
void		 s3_call_finish(struct s3_call *);
char		*s3_call_errstr(const struct s3_call *);
int		 s3_call_fatal(const struct s3_call *);
int		 s3_exec(struct s3 *, struct s3_call *);

struct s3_call	*s3_put_new(const char *bucket, const char *key, int fd,
		    uint64_t size, const char *md5b64, const char *mtime,
		    const char *ctype);

/* ------------------------------------------------------------------ */
/* sse.c: server-side settings sent as headers: --sse, --sse-kms-key-id,
 * --sse-c-key-file, --acl, --request-payer */

/* The most headers sse_headers adds to one request. */
#define SSE_MAXHDR	9

/* The settings and the SSE-C key they load (s3.c keeps one). */
struct sse {
	const struct config *cfg;
	char		*ssec_key;	/* SSE-C: base64 key (secret), or NULL */
	char		*ssec_md5;	/* ...and base64 of its MD5 */
	char		 lock_until[32]; /* --lock-days: retain-until, or "" */
};

int	 sse_valid(const char *what, const char *value);
int	 sse_valid_acl(const char *what, const char *value);
int	 sse_check(const struct config *);
int	 sse_load(struct sse *);
void	 sse_free(struct sse *);
size_t	 sse_headers(const struct sse *, const struct s3_call *,
	    struct sigv4_kv *);
const char *sse_c_hint(const struct config *, const struct s3_call *);
int	 sse_c_plain_retry(const struct sse *, struct s3_call *);
int	 sse_etag_is_md5(const struct s3_call *);
int	 sse_etags_not_md5(const struct config *);

/* ------------------------------------------------------------------ */
/* transfer.c: the libcurl multi engine; the one place retries happen */

/*
 * What the engine asks of the layer whose calls it runs (s3.c), so that
 * it never calls back into it by name.  "arg" is passed to each.
 */
struct xfer_ops {
	/* Set up "easy" for the next attempt: 0, or -1 (reported). */
	int	(*prepare)(void *arg, struct s3_call *, void *easy);
	/*
	 * The attempt ended (status, curl_code set): classify the answer;
	 * return 1 when the call goes again at once, uncounted.
	 */
	int	(*finish)(void *arg, struct s3_call *);
	/* Why a failed attempt failed, for the retry message; caller frees. */
	char	*(*errstr)(const struct s3_call *);
	void	*arg;
	int	 max_retries;	/* retries of a failed attempt */
};

enum { XFER_FEED_DONE = 0, XFER_FEED_MORE = 1, XFER_FEED_WAIT = 2,
	XFER_FEED_LATER = 3 };
typedef int (*xfer_feed_fn)(void *arg);

struct xfer *xfer_new(const struct xfer_ops *, int jobs);
void	 xfer_free(struct xfer *);
void	 xfer_slot_free(struct xfer_slot *);
void	 xfer_set_feed(struct xfer *, xfer_feed_fn, void *arg);
void	 xfer_wakeup(void *xfer);
void	 xfer_submit(struct xfer *, struct s3_call *);
int	 xfer_run(struct xfer *);
uint64_t xfer_backoff_ms(int attempt);

#endif /* !P3BACKUP_S3_H */
