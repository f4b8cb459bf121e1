/*
 * p3backup: shared structures and prototypes.
 * One section per source file, named after it.  File-local helpers are
 * static in their file and do not appear here.
 */
#ifndef P3BACKUP_EXTERN_H
#define P3BACKUP_EXTERN_H

#include <sys/types.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <uthash.h>

struct crypt_key;	/* crypt.c */
struct s3;		/* s3.h: the S3 layer */
struct s3_call;

/* ------------------------------------------------------------------ */
/* util.c: allocation that never fails, growable buffers, hex, logging */

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
char	*xasprintf(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
void	 freezero_str(char *);

/* A growable byte buffer, always NUL-terminated for convenience. */
struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};
void	 buf_append(struct buf *, const void *, size_t);
void	 buf_reserve(struct buf *, size_t n);
void	 buf_reset(struct buf *);
void	 buf_free(struct buf *);

int	 hex_digit(int c);
int	 url_decode(struct buf *dst, const char *s, size_t len,
	    int plus_is_space);
void	 hex_encode(const unsigned char *, size_t, char *out);
int	 decimal_parse(const char *s, uint64_t max, uint64_t *v);
int	 hex_decode(const char *s, size_t n, unsigned char *out);

/* Set by SIGINT/SIGTERM: start no new work, let calls under way end. */
extern volatile sig_atomic_t stop_requested;

/* Verbosity: -1 quiet, 0 normal, 1 -v, 2 -vv (request tracing). */
extern int log_level;
void	 logmsg(int level, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

char	*printable(const char *s);

int	 file_open(const char *path, int follow);
int	 scratch_open(const char *what);
void	 content_md5(const void *body, size_t len, char out[32]);

uint64_t now_ms(void);
/*
 * Percent-encode "len" bytes of "s" the way S3 signs them: every byte
 * outside A-Za-z0-9-._~ becomes %XX (upper-case hex), and '/' too
 * unless keep_slash.  Result is owned by the caller.
 */
char	*uri_encode(const char *s, size_t len, int keep_slash);
/* Lower-case hex SHA-256 of a buffer into out[65]. */
void	 sha256_hex(const void *, size_t, char out[65]);

/* ------------------------------------------------------------------ */
/* options.c: the command line */

enum OPT_RESULT {
	OPT_RUN = 0,		/* go on with the run */
	OPT_EXIT = 1,		/* --help / --version printed, exit 0 */
	OPT_USAGE = -1		/* usage error reported, exit 2 */
};

struct config;
/*
 * Parse argv into "cfg" (which must be zeroed by config_init first).
 * Reports usage errors itself.  Returns an OPT_RESULT.
 */
int	 options_parse(struct config *, int, char *[]);

/* ------------------------------------------------------------------ */
/* opttab.c: the table of settings, for the command line and job files */

struct option;
/*
 * getopt_long's long options and short-option string for every setting
 * that has a command-line option (built once, static: do not free).
 */
void	 opttab_getopt(const struct option **longopts,
	    const char **shortopts);
/*
 * The long name ("jobs") of the option for getopt_long's result "ch",
 * or NULL when "ch" is none ('?', ':').
 */
const char *opttab_name(int ch);
/* At most this many settings: the size of a "given" array. */
#define OPTTAB_MAX	64
/*
 * Apply getopt_long's result "ch" (one that opttab_name knows) and its
 * optarg "arg" to "cfg" as the command line does, and set its mark in
 * given[OPTTAB_MAX] (zeroed by the caller).  The command line's own
 * options (-h, -V, -q, -v, --config) set nothing here: the caller acts.
 * Returns 0, or -1 after reporting "--NAME VALUE: ...".
 */
int	 opttab_option(struct config *, int ch, const char *arg,
	    unsigned char *given);
/* Whether "given" marks the option named "name" ("size-only"). */
int	 opttab_given(const unsigned char *given, const char *name);
/*
 * Set cfg->prefix from "arg" as --prefix does: without '/' at its
 * ends, NULL when nothing is left.
 */
void	 opttab_prefix(struct config *, const char *arg);
/*
 * Read the job file "path" into "cfg" as --config FILE does: each key
 * goes through its setting's row and checks as its command-line option
 * (bucket, directory, prefix, include, exclude, exclude_from,
 * storage_class, mtime, size_only, checksum, follow_symlinks, delete,
 * tag_deleted, max_delete, max_uploads, jobs, endpoint_url, region,
 * profile, report, encrypt_key, compress, sse, sse_kms_key_id,
 * sse_c_key_file, acl, request_payer).  Returns 0, or -1 after
 * reporting "FILE:LINE: ..." (an unknown key, an empty or bad value).
 */
int	 opttab_job_load(struct config *, const char *path);

/* ------------------------------------------------------------------ */
/* config.c: environment and ~/.aws files into one settings struct */

struct creds {
	char	*access_key;	/* AWS_ACCESS_KEY_ID or aws_access_key_id */
	char	*secret_key;	/* wiped before free */
	char	*session_token;	/* NULL when none; wiped before free */
	char	*source;	/* where they came from, for messages */
};

struct config {
	/* positional arguments */
	char	*bucket;	/* NULL: generate p3backup-MM-DD-YY-HHMMSS */
	char	*directory;	/* NULL: "." */
	char	*directory_from; /* "FILE:LINE" of a job's, else NULL */

	/* from the command line; NULL/-1 when not given */
	char	*profile;	/* --profile (explicit) */
	char	*region;	/* resolved region */
	char	*endpoint;	/* resolved endpoint URL, NULL for AWS */
	int	 path_style;	/* 1 path-style, 0 virtual-hosted */
	char	*prefix;	/* key prefix without trailing '/', or NULL */
	int	 dry_run;
	int	 mtime;	/* --mtime: stored mtimes, HEAD where unknown */
	int	 size_only; /* --size-only: sizes alone (no mtime) */
	int	 checksum;
	struct filter *filter;	/* --include/--exclude/--exclude-from, or NULL */
	char	*storage_class;	/* --storage-class, validated, or NULL */
	long	 max_uploads;	/* --max-uploads, -1 for no limit */
	int	 delete_mode;	/* enum DELETE_MODE */
	long	 max_delete;	/* --max-delete, -1: at most half the bucket */
	char	*report_path;	/* --report FILE (JSON Lines) */
	char	*job_path;	/* --config FILE */
	int	 restore;	/* --restore: bucket to DIRECTORY */
	int	 include_deleted; /* --include-deleted: restore tagged ones too */
	int	 restore_days;	/* --restore-request DAYS, 0: none */
	char	*restore_tier;	/* --restore-tier: Standard, Bulk, Expedited */
	uint64_t multipart_threshold;	/* bytes; files this big use multipart */
	uint64_t part_size;		/* bytes; raised to fit 10,000 parts */
	int	 jobs;		/* concurrent transfers */
	int	 json;
	int	 progress;	/* -1 auto (TTY), 0 off, 1 on */
	int	 follow_symlinks;
	int	 max_retries;	/* attempts after the first */
	int	 timeout;	/* seconds without progress before a retry; 0: 60 */
	char	*ca_bundle;	/* AWS_CA_BUNDLE or profile ca_bundle */
	char	*encrypt_key;	/* --encrypt-key PUB.pem, or NULL */
	char	*decrypt_key;	/* --decrypt-key KEY.pem, or NULL */
	int	 compress;	/* --compress (with --encrypt-key) */
	int	 new_settings;	/* --new-settings: replace the recorded ones */
	char	*sse;		/* --sse AES256, aws:kms or aws:kms:dsse */
	char	*sse_kms_key_id; /* --sse-kms-key-id */
	char	*sse_c_key_file; /* --sse-c-key-file FILE */
	char	*acl;		/* --acl: a canned ACL */
	int	 request_payer;	/* --request-payer */

	/* internal: set by options_parse, read by config_load */
	int	 profile_explicit;	/* profile came from --profile */
	char	*opt_region;		/* --region as given */
	char	*opt_endpoint;		/* --endpoint-url as given */
	int	 opt_path_style;	/* --path-style given */
	/* set by main once the key is loaded: its objects' header length */
	size_t	 crypt_hlen;		/* 0: no --encrypt-key/--decrypt-key */
	const unsigned char *crypt_hkey; /* its keyed checksum key, 32 bytes */
	const unsigned char *crypt_keyid; /* its key id (crypt_key_id) */

	struct creds creds;
};

enum DELETE_MODE {
	DELETE_NONE = 0,
	DELETE_OBJECTS,		/* --delete */
	DELETE_TAG		/* --tag-deleted */
};

/* Zero "cfg" and set defaults. */
void	 config_init(struct config *);
/*
 * Fill region, endpoint, addressing style, CA bundle and credentials
 * from the environment and the shared files, honouring the precedence
 * of the AWS CLI.  Returns 0, or -1 after reporting a configuration
 * error (missing credentials list every place that was tried).
 */
int	 config_load(struct config *);
/* Free everything "cfg" owns, wiping secrets. */
void	 config_free(struct config *);

/* ------------------------------------------------------------------ */
/* filter.c: --include / --exclude on relative paths */

struct filter;
struct filter *filter_new(void);
void	 filter_free(struct filter *);
int	 filter_add(struct filter *, int include, const char *pattern);
int	 filter_add_file(struct filter *, const char *path);
int	 filter_file(const struct filter *, const char *path);
int	 filter_prune_dir(const struct filter *, const char *path);
int	 filter_has_includes(const struct filter *);
void	 filter_seen_dir(const struct filter *, const char *path);
void	 filter_hints(const struct filter *);

/* ------------------------------------------------------------------ */
/* job.c: job files (--config) and their lock */

/*
 * A hint for a value that seems to end in an inline comment ("x # y"),
 * which INI job files do not have: "" or a parenthesized sentence with
 * a leading space.
 */
const char *job_comment_hint(const char *value);
/* One "name = value" line of a job file's [job], as job_load hands it. */
struct job_line {
	const char	*where;	/* "FILE:LINE", for messages */
	const char	*what;	/* "FILE:LINE: NAME", for messages on values */
	const char	*name;
	const char	*value;
	const char	*path;	/* the value as a path: a relative one taken
				   from the job file's directory */
};
/* Called once per line of [job]: 0 to go on, -1 (reported) to stop. */
typedef int (*job_fn)(void *arg, const struct job_line *);
/*
 * Read the job file "path" (INI, section [job]) and hand every line of
 * [job] to "fn" with "arg", in order; what a key means is the caller's
 * (options_job_load).  Returns 0, or -1 after reporting: the file cannot
 * be read, a syntax error or a key outside [job] ("FILE:LINE: ..."), or
 * "fn" returned -1.
 */
int	 job_load(const char *path, job_fn, void *arg);
/*
 * Take the lock of the job "cfg->job_path" (flock on a file in the
 * state directory).  Returns the lock's fd (kept open for the run), or
 * -1 after reporting that another run holds it or it failed.
 */
int	 job_lock(const struct config *);

/* ------------------------------------------------------------------ */
/* ini.c: the AWS shared-file dialect of INI */

/*
 * Called once per "name = value" with the section name as written
 * between the brackets ("default", "profile x").  Nested values
 * ("s3 =" followed by indented "k = v" lines) arrive with name
 * "s3.k".  Return 0 to go on, -1 to stop.
 */
typedef int (*ini_fn)(void *arg, const char *section, const char *name,
	    const char *value);
/*
 * Parse the file at "path".  Returns 0 on success, 1 when the file does
 * not exist, -1 on a read or syntax error (reported with file and line).
 */
int	 ini_parse_file(const char *path, ini_fn, void *arg);
/* Same over a memory buffer; "name" is used in messages. */
int	 ini_parse_buf(const char *name, const char *buf, size_t len,
	    ini_fn, void *arg);
/*
 * During a callback, the number of the line it was given (from 1), so
 * that callers can name "path:line" in their own messages; else 0.
 */
size_t	 ini_lineno(void);

/* ------------------------------------------------------------------ */
/* bucket.c: bucket names, HeadBucket and CreateBucket */

/* "p3backup-MM-DD-YY-HHMMSS" and its NUL. */
/* "p3backup-MM-DD-YY-HHMMSS", a "-N" suffix and the NUL. */
#define BUCKET_DEFAULT_LEN	32
/*
 * Check "name" against S3's bucket naming rules.  Returns NULL when it
 * is valid, else the rule it breaks (a static string).
 */
const char *bucket_check(const char *name);
/* The generated name for local time "t". */
void	 bucket_default_name(time_t t, char out[BUCKET_DEFAULT_LEN]);
/*
 * The n-th candidate for a generated name: "base" itself for n 1, else
 * "base-N" (p3backup-12-03-26-085638-2), into out.
 */
void	 bucket_default_next(const char *base, int n,
	    char out[BUCKET_DEFAULT_LEN]);
/*
 * HeadBucket.  Returns 0 when it exists and is ours, 1 when it does
 * not exist, -1 on any other failure (reported).
 */
int	 bucket_head(struct s3 *, const char *bucket);
/*
 * CreateBucket "bucket" (with a LocationConstraint outside us-east-1).
 * Returns 0 when created, or already ours and "must_be_new" is 0; 1 when
 * it exists and "must_be_new" (BucketAlreadyOwnedByYou or
 * BucketAlreadyExists, without a message); -1 after reporting.
 */
int	 bucket_create(struct s3 *, const char *bucket, int must_be_new);

/* ------------------------------------------------------------------ */
/* sweep.c: journals of uploads that are gone */

/*
 * After a whole upload stage: remove the resume journals of this
 * endpoint, bucket, DIRECTORY and prefix whose file is no longer a
 * large regular file there (deleted, shrunk), and abort their uploads,
 * whose parts would otherwise cost.  Best effort: an abort that fails
 * is noted with -v; a journal that cannot be read or locked is warned
 * about as journals are.  Nothing without run->realroot.
 */
struct run;
void	 sweep_run(struct run *);

/* ------------------------------------------------------------------ */
/* claim.c: a generated bucket is this run's alone */

/*
 * Claim a bucket this run created for a generated name: PUT
 * .p3backup/claim with If-None-Match: * (409 is asked again; a 412 for
 * a claim holding this run's own nonce, whose answer was lost, is
 * ours).  Returns 0 when claimed, 1 when another run claimed it, -1
 * after reporting.  A server without conditional writes (501), or one
 * that ignores the header, lets every run win.
 */
int	 claim_bucket(struct s3 *, const char *bucket);

/* ------------------------------------------------------------------ */
/* table.c: local and remote entries meet in one table keyed by key */

/*
 * Bytes of the key id (crypt.c) kept with each object: enough to tell
 * keys apart.
 */
#define CRYPT_KEYID_SHORT	8

/* Whether an object is in the encrypted format (doc/encryption.md). */
enum RCRYPT {
	RCRYPT_UNKNOWN = 0,	/* listed only: its metadata not seen */
	RCRYPT_NO,
	RCRYPT_YES
};

/*
 * What the metadata (or the index) says of an object beyond the
 * listing: of an encrypted object, its plaintext size, keyed checksum
 * and key id; of any object, the MD5 of its content when the ETag is
 * not that MD5 (multipart, SSE-KMS, SSE-C).
 */
struct rmeta {
	int64_t		 psize;		/* plaintext size, -1 unknown */
	unsigned char	 hmac[32];	/* keyed checksum of the plaintext */
	int		 hmac_known;
	unsigned char	 keyid[CRYPT_KEYID_SHORT]; /* whose key sealed it */
	int		 keyid_known;
	unsigned char	 md5[16];	/* MD5 of the object's bytes */
	int		 md5_known;
};

/*
 * One object key: what the scan found on disk and what the listing
 * found in the bucket.  The key is relative to DIRECTORY and to the
 * --prefix ("a/b.txt"; an empty directory is "a/dir/"), stored once.
 */
struct entry {
	UT_hash_handle	 hh;
	int64_t		 lsize;		/* local size in bytes */
	int64_t		 lmtime_sec;	/* local mtime */
	int64_t		 rsize;		/* remote size */
	int64_t		 rmtime_sec;	/* stored x-amz-meta-mtime, or see rlastmod */
	int32_t		 lmtime_nsec;
	int32_t		 rmtime_nsec;
	unsigned char	 rmd5[16];	/* ETag as bytes when it is hex MD5 */
	uint16_t	 rparts;	/* "-N" multipart suffix, 0 if none */
	unsigned	 local:1;	/* found by the scan */
	unsigned	 remote:1;	/* found by the listing */
	unsigned	 dir:1;		/* an empty-directory marker "x/" */
	unsigned	 rmtime_known:1; /* rmtime_* is valid */
	unsigned	 rlastmod:1;	/* without rmtime_known: rmtime_sec is
					   the listing's LastModified */
	unsigned	 retag_md5:1;	/* rmd5/rparts hold the ETag */
	unsigned	 rnotmd5:1;	/* the ETag is no MD5 (SSE-KMS, SSE-C) */
	unsigned	 csum:2;	/* enum CSUM: --checksum's verdict */
	unsigned	 rtagged:1;	/* tagged Deleted=True (from the index) */
	unsigned	 merged:1;	/* table_merge: copied into another */
	unsigned	 rcrypt:2;	/* enum RCRYPT: is the object encrypted */
	struct rmeta	*rx;		/* what we know beyond the listing, or NULL */
	char		 key[];		/* NUL-terminated */
};

/*
 * Every entry in the order added (v), and for the tables that are
 * looked up (the listing's) a uthash index over them (hash).  The
 * scan's table has no index: at a million files, hashing and inserting
 * every path was a fifth of the scan, for lookups nobody makes.
 */
struct table {
	struct entry	*hash;		/* uthash head, or NULL */
	struct entry	**v;		/* every entry */
	size_t		 n;
	size_t		 cap;
	size_t		 nlocal;
	size_t		 nremote;
};

/* for (i, e) over every entry of "tbl", in the order added. */
#define TABLE_FOREACH(tbl, i, e)					\
	for ((i) = 0; (i) < (tbl)->n && ((e) = (tbl)->v[(i)], 1); (i)++)

/* The length of e's key (without the NUL). */
#define ENTRY_KEYLEN(e)	((size_t)(e)->hh.keylen)

struct entry *table_find(const struct table *, const char *key, size_t keylen);
struct entry *table_add(struct table *, const char *key, size_t keylen);
struct entry *table_get(struct table *, const char *key, size_t keylen);
void	 table_merge(struct table *into, struct table *from);
void	 table_free(struct table *);
struct rmeta *entry_rmeta(struct entry *);
struct rmeta *entry_rcrypt(struct entry *);
void	 entry_set_plain(struct entry *);
void	 entry_set_md5(struct entry *, const unsigned char *md5);
const unsigned char *entry_md5(const struct entry *);
void	 table_set_etag(struct entry *, const char *etag);
int	 mtime_parse(const char *, int64_t *sec, int32_t *nsec);
int	 lastmod_parse(const char *, int64_t *sec);
void	 mtime_format(int64_t sec, int32_t nsec, char out[32]);

/* ------------------------------------------------------------------ */
/* list.c: the bucket's objects into the table */

/* Keys under this (relative) prefix are p3backup's own objects. */
#define RESERVED_PREFIX	".p3backup/"

/*
 * List every object under cfg->prefix into the remote side of "tbl",
 * keys relative to the prefix, reserved keys left out.  Returns 0, or
 * -1 (reported).
 */
int	 list_bucket(struct s3 *, const char *bucket, struct table *);
/* 1 when a key has a RESERVED_PREFIX segment, at any depth. */
int	 list_reserved(const char *key, size_t len);
/* The full object key for relative "key" (with the prefix); caller frees. */
char	*list_object_key(const struct config *, const char *key);

/* ------------------------------------------------------------------ */
/* scan.c: the local tree into the table */

struct scan_stats {
	size_t	 files;		/* regular files recorded */
	size_t	 dirs;		/* directories with nothing recorded beneath,
				   recorded as markers (so restore keeps them) */
	size_t	 skipped;	/* symlinks and special files, reported */
	size_t	 failed;	/* unreadable entries and bad names, reported */
	uint64_t bytes;		/* sum of recorded file sizes */
};

int	 scan_tree(const char *root, const struct config *, struct table *,
	    struct scan_stats *);

/* ------------------------------------------------------------------ */
/* checksum.c: local content against remote ETags, for --checksum */

enum CSUM {
	CSUM_NONE = 0,		/* not compared */
	CSUM_SAME,		/* the file's content gives the object's ETag */
	CSUM_DIFF,		/* it does not */
	CSUM_UNKNOWN		/* the ETag is not an MD5 we can recompute */
};

#define MP_MAX_PARTS	10000
#define MP_MIN_PART	(5ULL * 1024 * 1024)
#define MP_MAX_PART	(5ULL * 1024 * 1024 * 1024)

void	 checksum_multipart_etag(const unsigned char *md5s, size_t n,
	    char out[45]);
uint64_t checksum_part_size(uint64_t size, uint64_t want);
void	 checksum_note_answer(struct entry *, const struct s3_call *);
int	 checksum_file(int fd, uint64_t size, const struct entry *e,
	    uint64_t part_size);
void	 checksum_table(const char *root, const struct config *,
	    struct table *, size_t *failed);
int	 checksum_doubtful(const struct entry *, const struct config *);
void	 checksum_again(const char *root, const struct config *,
	    struct entry **v, size_t n, size_t *failed);

/* ------------------------------------------------------------------ */
/* plan.c: what to do with each entry, a pure function */

enum ACT {
	ACT_UPLOAD,
	ACT_SKIP,
	ACT_DEFER,		/* an upload past --max-uploads */
	ACT_DELETE,		/* --delete: the local file is gone */
	ACT_TAG,		/* --tag-deleted: the local file is gone */
	ACT_DOWNLOAD,		/* --restore: object to file */
	ACT_MKDIR		/* --restore: a directory marker */
};

enum REASON {
	REASON_NEW,		/* not in the bucket */
	REASON_SIZE,		/* size differs */
	REASON_MTIME,		/* the mtimes differ (or --mtime: unknown) */
	REASON_CHECKSUM,	/* --checksum: content differs */
	REASON_UNVERIFIABLE,	/* --checksum: the ETag cannot be checked */
	REASON_KEY,		/* encrypted for another --encrypt-key */
	REASON_REAPPEARED,	/* tagged deleted, and the file is back */
	REASON_GONE,		/* no local file (delete or tag) */
	REASON_LIMIT,		/* deferred by --max-uploads */
	REASON_MISSING,		/* --restore: no local file */
	REASON_TAGGED,		/* --restore: tagged Deleted=True, left out */
	REASON_SAME		/* nothing to do */
};

struct action {
	enum ACT	 act;
	enum REASON	 why;
	struct entry	*e;
};

struct plan {
	struct action	*v;		/* sorted by key */
	size_t		 n;
	size_t		 nupload;
	size_t		 nskip;
	size_t		 ndefer;	/* uploads left for a later run */
	size_t		 ndelete;	/* ACT_DELETE + ACT_TAG */
	size_t		 refused;	/* deletions over the safety cap */
	uint64_t	 upload_bytes;
};

/*
 * Decide for every local entry of "tbl": upload when it is missing in
 * the bucket, its size differs, or its mtime (plan.c's
 * plan_mtime_differs); with cfg->checksum when the content differs or
 * cannot be checked; skip otherwise.  Remote-only entries are deleted
 * (--delete) or tagged (--tag-deleted) when the filters cover them,
 * within the safety cap; uploads past --max-uploads are deferred.  No
 * I/O.  Fills "plan" (free with plan_free).
 */
void	 plan_build(const struct table *, const struct config *, struct plan *);
/*
 * The restore direction: for every remote entry of "tbl" (the target
 * directory scanned as the local side), download when the file is
 * missing, its size differs or its mtime (as for a backup, the
 * object's unknown mtime being its LastModified); with cfg->checksum when the
 * content differs or cannot be checked.  Directory markers become
 * ACT_MKDIR when the directory is missing.  Objects tagged deleted are
 * skipped (REASON_TAGGED) unless cfg->include_deleted; objects the
 * filters leave out get no action (their local files are not touched).
 * Local-only files get no action: a restore deletes nothing.  Pure,
 * sorted by key.
 */
void	 plan_restore(const struct table *, const struct config *,
	    struct plan *);
void	 plan_free(struct plan *);
/*
 * The reason as one word for messages and the dry-run listing, a
 * static string: "new", "size", "mtime", "checksum", "unverifiable",
 * "other-key", "reappeared", "gone", "max-uploads", "missing",
 * "tagged-deleted" or "same".
 */
const char *plan_reason(enum REASON);
/* The action for "key" (relative, as in the table), or NULL. */
const struct action *plan_find(const struct plan *, const char *key);

/* ------------------------------------------------------------------ */
/* index.c: stored mtimes without a request per file */

struct index {
	char	*md5;		/* hex MD5 of the loaded index object, or NULL */
	size_t	 vouched;	/* entries whose mtime the listing confirmed */
	size_t	 malformed;	/* lines ignored */
	struct buf key;		/* scratch: the decoded key of a line */
};

/*
 * Read the index object and set rmtime for every remote entry of "tbl"
 * whose listed size and ETag match the index line.  A missing or
 * unreadable index is not an error.  Returns 0, or -1 on a fatal
 * error (reported).
 */
int	 index_load(struct index *, struct s3 *, const char *bucket,
	    struct table *);
/*
 * HEAD every object of "tbl" whose metadata the plan needs and neither
 * the listing nor the index gave (a stored mtime for --mtime, the keyed
 * checksum of an encrypted object for --checksum), and take its
 * x-amz-meta-mtime and p3-* fields.  Returns 0, or -1 on a fatal error
 * (reported; run->fatal set); other failures leave them unknown.
 */
int	 index_head_missing(struct run *, struct table *);
/*
 * --checksum's second look: HEAD every entry that came out different
 * or unknown by its ETag alone (checksum_doubtful), so that an SSE-KMS
 * or SSE-C ETag is recognised and rclone's (or our) md5chksum is read.
 * *v (caller frees) and *n are the entries asked, for checksum_again.
 * Returns 0, or -1 on a fatal error (reported).
 */
int	 index_head_doubtful(struct run *, struct table *, struct entry ***v,
	    size_t *n);
/*
 * Write the index of every remote entry with a known mtime, unless it
 * is byte-identical to the one loaded.  Returns 0, or -1 (reported).
 */
int	 index_save(struct index *, struct s3 *, const char *bucket,
	    const struct table *);
void	 index_free(struct index *);

/* What the p3-* metadata of HEAD answer "c" says of e's encryption. */
void	 index_head_crypt(struct entry *, const struct s3_call *);

/* ------------------------------------------------------------------ */
/* run.c: one run's context and what every transfer stage needs of it */

/*
 * Set up once by main() and passed to each stage that talks to the
 * bucket; a stage's own state (its cursor, what is under way) is
 * private to its file.
 */
struct run {
	struct s3		*s3;
	const struct config	*cfg;		/* s3->cfg */
	const char		*bucket;
	const char		*root;		/* DIRECTORY */
	const char		*realroot;	/* its real path, or NULL */
	struct plan		*plan;
	struct report		*rep;
	const struct crypt_key	*key;		/* --encrypt-key or --decrypt-key */
	int			 fatal;		/* stop: nothing can succeed;
						   cleared as each stage starts */
};

struct stat;
/* Fill "run" (zeroed first; realroot NULL, fatal clear). */
void	 run_init(struct run *, struct s3 *, const char *bucket,
	    const char *root, struct plan *, struct report *,
	    const struct crypt_key *key);
/* Mark the run fatal; 1 the first time (the caller says why), else 0. */
int	 run_stop(struct run *);
/*
 * Call "c" for "key" failed: say so on stderr (report_error).  A fatal
 * failure (s3_call_fatal: credentials, bucket, network) is said once,
 * as the bare message, and marks the run fatal; again, it is only kept
 * for key's --report line (report_keep).  Any other is said as "WHAT
 * failed: MESSAGE".  Returns what was said or kept (caller frees).
 */
char	*run_call_failed(struct run *, const char *key,
	    const struct s3_call *, const char *what);
/* "e" failed for good: count it (rep->failed) and write its --report line. */
void	 run_failed(struct run *, const struct entry *, const char *action,
	    const char *error);
/* The endpoint as journals name it ("aws:REGION" on AWS); caller frees. */
char	*run_endpoint(const struct run *);
/* The Content-MD5 value (base64) of the digest "md5" into out. */
void	 run_content_md5(const unsigned char md5[16], char out[32]);
/*
 * The headers of an object this run writes beyond s3_put_new's: when
 * "sealed" (encrypted for run->key), x-amz-meta-p3-crypt, -p3-size
 * ("psize" plaintext bytes), -p3-key (the key id, CRYPT_KEYID_SHORT
 * bytes in hex) and -p3-hmac (when "hmac" is not NULL); and the
 * --storage-class.
 */
void	 run_put_headers(const struct run *, struct s3_call *, int sealed,
	    uint64_t psize, const unsigned char hmac[32]);
/*
 * "e" was stored as an object of "size" bytes from the file as "st"
 * saw it (plaintext size, mtime), encrypted for run->key when "sealed"
 * (keyed checksum "hmac", or NULL when unknown), its ETag "etag" and
 * the MD5 of its bytes "md5": record that in "e", count it uploaded,
 * say so with -v and write its --report line.
 */
void	 run_uploaded(struct run *, struct entry *, int64_t size,
	    const struct stat *st, int sealed, const unsigned char *hmac,
	    const char *etag, const unsigned char md5[16]);

/* ------------------------------------------------------------------ */
/* upload.c: the plan's uploads through the transfer engine */

/*
 * Upload every ACT_UPLOAD entry of run->plan, at most cfg->jobs at
 * once; files from cfg->multipart_threshold on in parts (multipart.c).
 * Successful uploads update the entry's remote side (size, MD5, mtime)
 * and the report; failures are reported and counted in rep->failed.
 * A skipped file's finished or stale resume journal is cleared
 * (journal_forget).  Returns 0, or -1 when a fatal error (credentials,
 * bucket, network after retries) stopped the run (reported).
 */
int	 upload_run(struct run *);

/* ------------------------------------------------------------------ */
/* multipart.c: one large file in parts, resumable */

struct mpfile;
/*
 * The part size for a file of "size" bytes: checksum_part_size, made
 * a multiple of CRYPT_CHUNK when the run encrypts.
 */
uint64_t multipart_part_size(const struct run *, uint64_t size);
/*
 * Start the multipart upload of "e" from "fd" (which it takes over; "st"
 * is the file as opened), resuming from the journal when one matches.
 * Returns the upload, whose parts multipart_feed then hands to the
 * engine; NULL when it could not start (reported and counted).  The
 * upload ends by itself once its calls are done: it counts the file
 * (run_uploaded or run_failed) and frees itself.
 */
struct mpfile *multipart_begin(struct run *, struct entry *, int fd,
	    const struct stat *st);
/*
 * Submit the next part of *mpp: an XFER_FEED_* value.  When every part
 * is submitted (or the file failed) *mpp is cleared; completion and
 * clean-up follow from the calls' callbacks.
 */
int	 multipart_feed(struct mpfile **mpp);
/*
 * After the engine stopped early (interrupted): let go of *mpp (NULL is
 * fine), its journal kept for the next run, the file counted as failed.
 */
void	 multipart_stop(struct mpfile **mpp);
/* Abort the upload "upload_id" of "okey" (full key); the answer is ignored. */
void	 multipart_abort(struct run *, const char *okey, const char *upload_id);

/* ------------------------------------------------------------------ */
/* mpcomplete.c: CompleteMultipartUpload and the check of what it made */

/* A multipart upload whose parts are all stored (multipart.c fills it). */
struct mpcomplete {
	struct run		*run;
	struct entry		*e;		/* the file */
	const char		*okey;		/* its full object key */
	struct journal		*j;		/* upload id, part MD5s */
	char			**petag;	/* part ETags that are no MD5, or NULL */
	const struct stat	*st;		/* the file as it was read */
	uint64_t		 size;		/* object bytes */
	unsigned char		 whole[16];	/* MD5 of the object bytes */
	int			 sealed;	/* encrypted for run->key... */
	unsigned char		 hmac[32];	/* ...its keyed checksum */
	int			 sse;		/* ETags may be no MD5 */
	void			(*done)(void *arg, int ok);
	void			*arg;
	char			*body;		/* the request's, while it is sent */
};

/*
 * Send CompleteMultipartUpload for "mc" (kept valid by the caller until
 * done runs) and check the object's ETag (a HEAD's when the answer has
 * none): the parts' multipart ETag, the whole MD5, or with SSE any ETag
 * of our part count and size.  Then done(arg, ok) once: ok 1 when the
 * file is stored (journal removed, counted by run_uploaded), 0 when not
 * (reported; the journal removed when the server refused the parts).
 */
void	 mpcomplete_start(struct mpcomplete *);

/* ------------------------------------------------------------------ */
/* readahead.c: the parts of a multipart file prepared in a thread */

/* What the thread works with; it owns none of it. */
struct ra_spec {
	int			 fd;
	const struct stat	*st;		/* the file as the upload began */
	uint64_t		 size;
	uint64_t		 part_size;
	uint32_t		 nparts;
	struct crypt_obj	*obj;		/* seal with it, or NULL */
	void			*hmac;		/* mbedtls_md_context_t, or NULL */
	void			*whole;		/* mbedtls_md5_context */
	void			(*wake)(void *);	/* after each part */
	void			*wake_arg;
};

/* One prepared part: its bytes as sent, or why it could not be. */
struct ra_part {
	uint32_t		 n;		/* 0-based */
	char			*buf;		/* NULL: failed */
	size_t			 len;
	unsigned char		 md5[16];
	char			*why;		/* failed: the reason (caller frees) */
	int			 changed;	/* failed: the file changed */
};

struct readahead;
/*
 * Start a thread that prepares parts 0 .. nparts-1 in order (read,
 * check size and mtime against spec->st, update hmac with the
 * plaintext, seal with obj, MD5 of the part, update whole), keeping a
 * few ready.  It stops after a failed part.  NULL if no thread starts.
 */
struct readahead *readahead_start(const struct ra_spec *);
/*
 * The next prepared part into *out (the caller owns buf and why): 1;
 * 0 when none is ready yet (spec->wake will be called); -1 when there
 * are no more.  hmac and whole are complete once every part was taken.
 */
int	 readahead_take(struct readahead *, struct ra_part *);
/* Stop and join the thread, free parts not taken.  Accepts NULL. */
void	 readahead_stop(struct readahead *);

/* ------------------------------------------------------------------ */
/* delete.c: --delete and --tag-deleted */

/*
 * Carry out run->plan's ACT_DELETE actions with DeleteObjects (at most
 * 1,000 keys a request) and its ACT_TAG actions with PutObjectTagging
 * (Deleted=True, DeletedAt=<ISO-8601 UTC>), through the transfer
 * engine.  Updates entries (remote cleared / rtagged set) and the
 * report's deleted, tagged and failed counts.  Returns 0, or -1 when a
 * fatal error stopped it (reported).
 */
int	 delete_run(struct run *);

/* ------------------------------------------------------------------ */
/* download.c: the restore direction, written safely */

/*
 * Whether a relative key can be written under the root: not empty, no
 * leading '/', no empty, "." or ".." segment, no NUL or backslash.
 * Returns NULL when it can, else the reason (a static string).
 */
const char *download_key_check(const char *key, size_t len);
/*
 * Carry out run->plan's ACT_DOWNLOAD and ACT_MKDIR actions under
 * run->root (with run->key, --decrypt-key, when set): each file is written to a temporary name in its directory,
 * checked against the object's ETag, given its stored mtime, fsync'd
 * and renamed into place; no path component is followed through a
 * symlink, nothing is written outside the root.  Bad keys and failed
 * files are reported and counted; archived objects (GLACIER,
 * DEEP_ARCHIVE) are reported as pending, counted in *pending, and with
 * cfg->restore_days a RestoreObject request is made for them.  Returns
 * 0, or -1 when a fatal error stopped it (reported).
 */
int	 download_run(struct run *, size_t *pending);

/*
 * Parse an HTTP date in the IMF-fixdate form S3 sends in Last-Modified
 * ("Sun, 22 Nov 2026 03:04:05 GMT") into seconds since the epoch.
 * Returns 0, or -1 when malformed.
 */
int	 download_http_date(const char *, int64_t *sec);

/* ------------------------------------------------------------------ */
/* archive.c: archived objects seen from a restore, pure */

/* What an answer to a GET or a RestoreObject request means. */
enum DL_ANSWER {
	DL_OK,			/* 2xx: the object; RestoreObject 200: a
				   restored copy is already there */
	DL_ARCHIVED,		/* InvalidObjectState: archived, not restored */
	DL_RESTORE_STARTED,	/* RestoreObject 202: restore requested */
	DL_RESTORE_RUNNING,	/* RestoreAlreadyInProgress (409) */
	DL_FAILED		/* anything else */
};
/*
 * Classify a finished call by its HTTP "status" and S3 error "code"
 * (NULL when none).  Pure.  Returns an enum DL_ANSWER.
 */
int	 archive_classify(long status, const char *code);
/*
 * The RestoreObject body for "days" (0: no <Days>, as the
 * Intelligent-Tiering archive tiers require) and retrieval "tier"
 * (Standard, Bulk, Expedited).  Caller frees.
 */
char	*archive_restore_body(int days, const char *tier);
/*
 * The <StorageClass> and <AccessTier> of an S3 <Error> document (an
 * InvalidObjectState answer), each NULL when absent (caller frees).
 * Returns 0, or -1 when "doc" is not an <Error> document (both NULL;
 * nothing reported).
 */
int	 archive_class(const char *doc, size_t len,
	    char **storage_class, char **access_tier);

/* ------------------------------------------------------------------ */
/* fsutil.c: paths under a root without following symlinks; temp files */

/* ".p3b-" 8 hex digits ".tmp" and its NUL. */
#define FSUTIL_TMPLEN	18

/*
 * Open the directory "path" ("len" bytes of '/'-separated components,
 * checked by download_key_check) under the directory "rootfd", one
 * component at a time with O_NOFOLLOW: no symlink below the root is
 * ever followed.  With "create", missing components are made (0755
 * less the umask) and *created (if not NULL) says whether the last one
 * was.  An empty path opens the root.  Returns a descriptor, or -1
 * with *why a message naming the component ("path component a/b is a
 * symlink"; caller frees).
 */
int	 fsutil_opendir(int rootfd, const char *path, size_t len, int create,
	    int *created, char **why);
/*
 * Create ".p3b-XXXXXXXX.tmp" (random hex) in "dirfd" with O_EXCL and
 * O_NOFOLLOW, mode 0644 less the umask, read-write, flock'ed while it
 * is open.  Its name goes to name[].  Returns the fd, or -1 (errno).
 */
int	 fsutil_tmpfile(int dirfd, char name[FSUTIL_TMPLEN]);
/* 1 when "name" is a name fsutil_tmpfile makes (for the scan to skip). */
int	 fsutil_is_tmpname(const char *name);
/*
 * Remove from "dirfd" the temporary files no live process holds (left
 * by a run that was killed).  Returns how many were removed.
 */
size_t	 fsutil_clean_stale(int dirfd);

/* ------------------------------------------------------------------ */
/* dlfile.c: a file of a restore, from its temporary file into place */

enum DLF_STATE {
	DLF_RUNNING,		/* calls under way or to come */
	DLF_FAILED,		/* reported; counted in rep->failed */
	DLF_PENDING		/* archived; counted as pending */
};

struct download;
/* One file being downloaded (download.c makes, feeds and frees it). */
struct dlfile {
	struct download	*dl;		/* download.c's run */
	struct run	*run;
	struct entry	*e;
	char		*okey;		/* full object key */
	int		 dirfd;		/* its directory */
	const char	*name;		/* its last component, inside e->key */
	char		 tmp[FSUTIL_TMPLEN]; /* "" once renamed */
	int		 fd;		/* the temporary file */
	uint64_t	 size;		/* as listed */
	uint64_t	 range;		/* bytes per ranged GET; 0: one GET */
	uint32_t	 nranges;
	uint32_t	 next;		/* next range to submit */
	uint32_t	 inflight;	/* calls under way */
	int		 feeding;	/* the large file fed: more ranges to come */
	enum DLF_STATE	 state;
	char		*etag;		/* of the first answer: all must agree */
	int		 encrypted;	/* x-amz-meta-p3-crypt: decode it */
	int64_t		 psize;		/* x-amz-meta-p3-size, -1 unknown */
	int		 mtime_known;
	struct timespec	 mtime;
	char		*what;		/* archived: the storage class */
	char		*body;		/* the RestoreObject request */
	char		*error;		/* why it failed, for --report */
	struct dlfile	*prev, *next_live;
};

/*
 * "f" failed: keep the reason in f->error for --report and, when "say",
 * print it (report_error).  Only the first failure of a file counts:
 * later ones, and any once f is no longer DLF_RUNNING, are ignored.
 */
void	 dlfile_fail(struct dlfile *, int say, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
/*
 * Whether f's final name is absent or a regular file (a symlink, a
 * directory or anything else is never replaced): 1, or 0 after
 * dlfile_fail.
 */
int	 dlfile_target_ok(struct dlfile *);
/*
 * Every byte of "f" is in its temporary file: check its size, then its
 * content against the ETag (plain) or decrypt it with run->key, every
 * chunk checked (encrypted); give it the stored mtime, fsync it and
 * rename it over the target (f->tmp "" then, and e's local side set).
 * Failures go through dlfile_fail; the caller removes what is left.
 */
void	 dlfile_commit(struct dlfile *);

/* ------------------------------------------------------------------ */
/* report.c: progress, per-action lines, errors and the summary */

struct report {
	const struct config *cfg;
	uint64_t	 start_ms;
	uint64_t	 last_draw_ms;
	int		 progress;	/* draw the progress line */
	size_t		 scanned;
	size_t		 objects;	/* a restore: objects it checked */
	size_t		 to_upload;
	size_t		 uploaded;
	uint64_t	 uploaded_bytes;	/* of the files uploaded */
	uint64_t	 sent_bytes;	/* all sent, parts too: progress */
	size_t		 skipped;
	size_t		 deleted;
	size_t		 tagged;
	size_t		 downloaded;
	uint64_t	 downloaded_bytes;
	size_t		 pending;	/* archived objects not restored yet */
	size_t		 failed;
	size_t		 deferred;	/* left for a later run (--max-uploads) */
	size_t		 left_out;	/* symlinks and special files (scan) */
	void		*jsonl;		/* the --report stream (FILE *) */
	struct report_err *errors;	/* each key's first report_error */
};

/* A key's first report_error message (uthash by key). */
struct report_err {
	UT_hash_handle	 hh;
	char		*msg;
	char		 key[];
};

/* The exit statuses (README, p3backup(1)). */
enum {
	EXIT_SYNC = 0,		/* all in sync */
	EXIT_PARTIAL = 1,	/* some files failed, the rest done */
	EXIT_USAGE = 2,		/* usage or configuration error */
	EXIT_FATAL = 3		/* fatal error during the run */
};

void	 report_init(struct report *, const struct config *);
/* Where human lines go: stdout, or stderr under --json. */
FILE	*report_stream(const struct config *);
/*
 * One line for an action ("upload", "would upload", "skip") with -v
 * or in a dry run, on report_stream's stream; "why" may be NULL.
 */
void	 report_action(struct report *, const char *verb, const char *why,
	    const char *key);
/*
 * "KEY: message" on stderr; does not count anything.  The first message
 * of each key is kept for its --report line (report_error_of).
 */
void	 report_error(struct report *, const char *key, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
/*
 * Keep "msg" for key's --report line without printing it (an error
 * already said once for the whole run).
 */
void	 report_keep(struct report *, const char *key, const char *msg);
/* The first report_error message of "key", or NULL. */
const char *report_error_of(const struct report *, const char *key);
/* Redraw the progress line (at most 5 times a second unless "force"). */
void	 report_progress(struct report *, int force);
/*
 * With --report FILE: one compact JSON object per line for an entry's
 * outcome: key (relative), object (full key), action ("upload",
 * "skip", "delete", "tag", "defer"), size, mtime (null without a local
 * file), md5 (hex of what an upload stored, or null), result ("ok",
 * "failed", "skipped") and error (null or the message); a string that
 * is not UTF-8 is null plus "<name>_hex".  Flushed per line.  A no-op
 * without --report.
 */
void	 report_record(struct report *, const struct entry *,
	    const char *action, const char *result, const char *error);
/*
 * Open the --report file, truncated, mode 0644; "-" is refused (stdout
 * carries the summary).  0, or -1 (reported).  report_close closes it
 * and reports a write error; both are no-ops without --report.
 */
int	 report_open(struct report *);
void	 report_close(struct report *);
/*
 * The one-line summary on stdout (a dry run's says "would"); nothing
 * with --json or -q.
 */
void	 report_summary(struct report *, const char *bucket);
/*
 * Take over stderr (for --json, and under a progress line): what is
 * written there still goes to fd 2, but a progress line is cleared
 * before each message, and the last line is kept for report_json's
 * "error".  Once; harmless when repeated.
 */
void	 report_take_stderr(void);
/*
 * The run is stopping for what the main thread said last: keep that as
 * report_json's "error", whatever is printed after it.
 */
void	 report_keep_cause(void);
/* For a signal handler: clear the progress line, write "msg" to fd 2. */
void	 report_signal_note(const char *msg, size_t n);
/*
 * --json, at the very end: one JSON object on stdout with every count
 * of "r" (zero when the run never started), "bucket" (null when not
 * known), elapsed_seconds, dry_run, exit_code "rc" and "error": for
 * exit statuses 2 and 3 the last line of stderr, else null.
 */
void	 report_json(const struct report *, const char *bucket, int dry_run,
	    int rc);

/* ------------------------------------------------------------------ */
/* settings.c: the backup's defining settings, recorded in the bucket */

struct settings {
	int		 present;	/* the settings object is there */
	int		 inferred;	/* none: from the objects themselves */
	int		 encrypted;
	unsigned char	 keyid[32];	/* for which key (crypt_key_id) */
	size_t		 keyid_len;	/* 32, or CRYPT_KEYID_SHORT inferred */
	int		 compress;
	int		 unsure;	/* none, and objects could not be asked */
};

int	 settings_load(struct s3 *, const char *bucket, struct table *,
	    struct settings *);
int	 settings_check(const struct settings *, const struct config *,
	    const char *bucket);
int	 settings_changed(const struct settings *, const struct config *);
int	 settings_save(struct s3 *, const char *bucket);

/* ------------------------------------------------------------------ */
/* crypt.c: the encrypted object format (doc/encryption.md), pure */

#define CRYPT_MAGIC	"P3BENC"	/* 6 bytes, then the version */
#define CRYPT_VERSION	1
#define CRYPT_FIXED	48		/* header bytes before the wrapped key */
#define CRYPT_CHUNK	65536		/* plaintext bytes per chunk */
#define CRYPT_TAG	16		/* GCM tag after each chunk */
#define CRYPT_MAX_HDR	(CRYPT_FIXED + 1024) /* RSA up to 8192 bits */
#define CRYPT_MIN_BITS	3072
#define CRYPT_F_ZSTD	0x01		/* header flag: zstd before encryption */

/* An RSA key read from a PEM file: public for backups, private for restores. */
struct crypt_key;

struct crypt_key *crypt_key_load(const char *path, int private, char **why);
void	 crypt_key_free(struct crypt_key *);
size_t	 crypt_header_len(const struct crypt_key *);
const unsigned char *crypt_key_id(const struct crypt_key *);
const unsigned char *crypt_checksum_key(const struct crypt_key *);

/* One object's encryption state. */
struct crypt_obj {
	unsigned char	 key[32];	/* the data key */
	unsigned char	 hdr[CRYPT_MAX_HDR];
	size_t		 hlen;
	unsigned	 flags;		/* CRYPT_F_* */
	unsigned char	 aad[64];	/* SHA-256(header) || SHA-256(object key) */
	void		*gcm;		/* mbedtls_gcm_context */
};

int	 crypt_obj_new(struct crypt_obj *, const struct crypt_key *pub,
	    const char *okey, unsigned flags);
int	 crypt_obj_resume(struct crypt_obj *, const unsigned char key[32],
	    const unsigned char *hdr, size_t hlen, const char *okey);
long	 crypt_header_peek(const unsigned char *buf, size_t len);
int	 crypt_obj_open(struct crypt_obj *, const struct crypt_key *priv,
	    const unsigned char *hdr, size_t hlen, const char *okey,
	    const char **why);
void	 crypt_obj_free(struct crypt_obj *);
size_t	 crypt_seal(struct crypt_obj *, uint64_t first, int last,
	    const unsigned char *in, size_t len, unsigned char *out);
size_t	 crypt_sealed_len(size_t len);
int	 crypt_open_chunk(struct crypt_obj *, uint64_t index, int final,
	    const unsigned char *in, size_t len, unsigned char *out);
uint64_t crypt_nchunks(uint64_t size);
uint64_t crypt_size(size_t hlen, uint64_t size);

/* ------------------------------------------------------------------ */
/* encode.c: whole files into and out of the encrypted format */

/* What encode_file made. */
struct encoded {
	int		 fd;		/* an unlinked temporary file, or -1 */
	char		*mem;		/* or the object in memory */
	uint64_t	 len;		/* object bytes */
	unsigned char	 md5[16];	/* of the object bytes */
	unsigned char	 hmac[32];	/* keyed checksum of the plaintext */
	int		 compressed;	/* CRYPT_F_ZSTD was worth it */
};

int	 encode_file(int fd, uint64_t size, const struct crypt_key *pub,
	    const char *okey, int compress, size_t memmax, struct encoded *,
	    char **why);
void	 encoded_free(struct encoded *);
int	 decode_file(int in, uint64_t len, int out, const struct crypt_key *priv,
	    const char *okey, int64_t max, uint64_t *plain, const char **why);

/* ------------------------------------------------------------------ */
/* journal.c: crash-safe resume of multipart uploads */

/*
 * What a multipart upload in progress has stored, kept in a small file
 * under $XDG_STATE_HOME/p3backup/ (default ~/.local/state/p3backup/),
 * named after the endpoint, bucket and key, and valid only for the
 * file's size and mtime recorded in it.
 */
/* What is known of one part of a multipart upload. */
enum PART_STATE {
	PART_MISSING = 0,	/* not stored (as far as known) */
	PART_STORED = 1,	/* stored: the journal says so */
	PART_CONFIRMED = 2	/* stored, and ListParts showed it */
};

struct journal {
	char		*path;		/* the journal file */
	char		*endpoint;	/* identity: where... */
	char		*bucket;
	char		*key;		/* full object key */
	uint64_t	 size;		/* ...and which version of the file */
	int64_t		 mtime_sec;
	int32_t		 mtime_nsec;
	char		*upload_id;	/* NULL before CreateMultipartUpload */
	uint64_t	 part_size;
	uint32_t	 nparts;
	unsigned char	*md5s;		/* nparts * 16 bytes */
	unsigned char	*done;		/* nparts enum PART_STATE */
	unsigned char	*sealed;	/* nparts flags: MD5 recorded before
					   the part was sent (encrypted) */
	unsigned char	*crypt;		/* data key and header, or NULL */
	size_t		 crypt_len;
	char		*lock;		/* its lock file, flock(2)ed... */
	int		 lockfd;	/* ...through this fd when lock is set */
	char		*root;		/* DIRECTORY's real path, or NULL */
	char		*prefix;	/* --prefix ("" for none) with root */
};

/* journal_open: another run holds the journal's lock. */
#define JOURNAL_BUSY	(-2)

/*
 * Set up "j" for the upload of "key" from a file of the given size and
 * mtime.  If a journal for the same endpoint, bucket and key exists and
 * matches size, mtime and part size, its upload id and stored parts are
 * loaded and 1 is returned; if one exists but does not match, its
 * upload id is put in *stale_id (caller frees; the caller aborts that
 * upload), the file is removed and 0 is returned; 0 when there is none;
 * -1 on an error (reported).  The journal directory is created.  The
 * journal is locked (flock on "HASH.lock") until journal_free:
 * JOURNAL_BUSY, without a message, when another run holds it.
 */
int	 journal_open(struct journal *, const char *endpoint,
	    const char *bucket, const char *key, uint64_t size,
	    int64_t mtime_sec, int32_t mtime_nsec, uint64_t part_size,
	    char **stale_id);
/*
 * Write the journal atomically (temporary file, fsync, rename, fsync of
 * the directory).  Returns 0, or -1 (reported).
 */
int	 journal_save(struct journal *);
/* Remove the journal file (the upload completed or was aborted). */
void	 journal_remove(struct journal *);
void	 journal_free(struct journal *);
/*
 * A file of "size" bytes and this mtime, uploaded as "key" in parts of
 * "part_size", needs no upload this run (the plan skips it): remove its
 * journal when every part is stored (a run killed after completing the
 * upload left it; no later run would touch it); one for another
 * version of the file is removed by journal_open and its upload id put
 * in *stale_id (caller frees, and aborts that upload).  One with parts
 * missing is left to resume.  "name" names the file in messages.  Does
 * nothing when there is no journal directory.
 */
void	 journal_forget(const char *endpoint, const char *bucket,
	    const char *key, uint64_t size, int64_t mtime_sec,
	    int32_t mtime_nsec, uint64_t part_size, const char *name,
	    char **stale_id);
/* The journal directory for this user; caller frees. */
char	*journal_dir(void);
/*
 * journal_dir(), created (0700) when missing and checked writable;
 * caller frees.  NULL after one line naming the directory, what it is
 * for and how to move it (XDG_STATE_HOME).
 */
char	*journal_ready(void);
/*
 * Journals of uploads that are gone: every journal of "endpoint",
 * "bucket", "root" (DIRECTORY's real path) and "prefix" (--prefix, ""
 * for none) for which gone(arg, KEY without "PREFIX/") holds is
 * removed (unless another run holds its lock), after which
 * abort_fn(arg, KEY, UPLOADID) lets the caller abort its upload.
 * Journals written before they recorded their root are left alone.
 */
void	 journal_sweep(const char *endpoint, const char *bucket,
	    const char *root, const char *prefix,
	    int (*gone)(void *, const char *),
	    void (*abort_fn)(void *, const char *, const char *), void *arg);

#endif /* !P3BACKUP_EXTERN_H */
