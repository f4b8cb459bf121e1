/*
 * p3backup: shared structures and prototypes.
 * One section per source file, named after it, in the order a reader
 * meets them following main() (the services of util.c first).  Each
 * function's contract is in the comment above its definition; here are
 * the types, macros and prototypes.  File-local helpers are static in
 * their file and do not appear here.
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

struct config;		/* config.c */
struct crypt_key;	/* crypt.c */
struct report;		/* report.c */
struct run;		/* run.c */
struct s3;		/* s3.h: the S3 layer */
struct s3_call;
struct stat;

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
void	 md5_base64(const unsigned char md5[16], char out[32]);
void	 content_md5(const void *body, size_t len, char out[32]);

uint64_t now_ms(void);
#define ISO_TIME_LEN	21	/* "YYYY-MM-DDTHH:MM:SSZ" and its NUL */
void	 iso_time(time_t, char out[ISO_TIME_LEN]);
char	*uri_encode(const char *s, size_t len, int keep_slash);
void	 sha256_hex(const void *, size_t, char out[65]);

/* ------------------------------------------------------------------ */
/* options.c: the command line */

enum OPT_RESULT {
	OPT_RUN = 0,		/* go on with the run */
	OPT_EXIT = 1,		/* --help / --version printed, exit 0 */
	OPT_USAGE = -1		/* usage error reported, exit 2 */
};

int	 options_parse(struct config *, int, char *[]);

/* ------------------------------------------------------------------ */
/* opttab.c: the table of settings, for the command line and job files */

struct option;
void	 opttab_getopt(const struct option **longopts,
	    const char **shortopts);
const char *opttab_name(int ch);
/* At most this many settings: the size of a "given" array. */
#define OPTTAB_MAX	64
int	 opttab_option(struct config *, int ch, const char *arg,
	    unsigned char *given);
int	 opttab_given(const unsigned char *given, const char *name);
void	 opttab_prefix(struct config *, const char *arg);
int	 opttab_job_load(struct config *, const char *path);

/* ------------------------------------------------------------------ */
/* job.c: job files (--config) and their lock */

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
int	 job_load(const char *path, job_fn, void *arg);
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
int	 ini_parse_file(const char *path, ini_fn, void *arg);
int	 ini_parse_buf(const char *name, const char *buf, size_t len,
	    ini_fn, void *arg);
size_t	 ini_lineno(void);

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
	int	 no_owner;	/* --no-owner: a root restore sets no owner */
	int	 restore_special_bits; /* --restore-special-bits: setuid, setgid */
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
	int	 no_versioning;	/* --no-versioning: neither turn on nor warn */
	int	 history;	/* --history: list the run log */
	char	*as_of;		/* --as-of TIME, checked by asof_parse */
	int	 history_days;	/* --history-days N, -1: leave lifecycle alone */
	int	 lock_days;	/* --lock-days N, 0: no Object Lock */
	char	*lock_mode;	/* --lock-mode GOVERNANCE or COMPLIANCE */
	time_t	 lock_until;	/* this run's retain-until: start + N days */
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

void	 config_init(struct config *);
int	 config_load(struct config *);
void	 config_free(struct config *);

/* ------------------------------------------------------------------ */
/* state.c: the state directory, for resume journals and job locks */

char	*state_dir(void);
char	*state_ready(void);

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
/* bucket.c: bucket names, HeadBucket and CreateBucket */

/* "p3backup-MM-DD-YY-HHMMSS", a "-N" suffix and the NUL. */
#define BUCKET_DEFAULT_LEN	32
const char *bucket_check(const char *name);
void	 bucket_default_name(time_t t, char out[BUCKET_DEFAULT_LEN]);
void	 bucket_default_next(const char *base, int n,
	    char out[BUCKET_DEFAULT_LEN]);
int	 bucket_head(struct s3 *, const char *bucket);
int	 bucket_create(struct s3 *, const char *bucket, int must_be_new);

/* ------------------------------------------------------------------ */
/* claim.c: a generated bucket is this run's alone */

int	 claim_bucket(struct s3 *, const char *bucket, int versioning);

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
	int64_t		 lock_until;	/* Object Lock retain-until, 0 unknown */
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
	uint32_t	 lperm;		/* meta_perm of the file's mode, owner */
	uint32_t	 rperm;		/* the object's, when rperm_known */
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
	unsigned	 rperm_known:1;	/* rperm is valid (index, HEAD, upload) */
	unsigned	 link:1;	/* local side: a symlink, its key the
					   link's path + LINK_SUFFIX */
	struct rmeta	*rx;		/* what we know beyond the listing, or NULL */
	char		*rversion;	/* --as-of: the version id to fetch */
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
/* scan.c: the local tree into the table */

struct scan_stats {
	size_t	 files;		/* regular files and symlinks recorded */
	size_t	 dirs;		/* directories with nothing recorded beneath,
				   recorded as markers (so restore keeps them) */
	size_t	 skipped;	/* special files, reported */
	size_t	 failed;	/* unreadable entries and bad names, reported */
	uint64_t bytes;		/* sum of recorded file sizes */
};

int	 scan_tree(const char *root, const struct config *, struct table *,
	    struct scan_stats *);

/* ------------------------------------------------------------------ */
/* list.c: the bucket's objects into the table */

/* Keys under this (relative) prefix are p3backup's own objects. */
#define RESERVED_PREFIX	".p3backup/"

int	 list_bucket(struct s3 *, const char *bucket, struct table *);
struct entry *list_remote(struct table *, size_t skip, const char *key,
	    size_t len, int64_t size, const char *etag, const char *last_modified);
int	 list_reserved(const char *key, size_t len);
char	*list_object_key(const struct config *, const char *key);

/* ------------------------------------------------------------------ */
/* index.c: stored mtimes without a request per file */

#define INDEX_NAME	RESERVED_PREFIX "index"	/* under the prefix */

struct index {
	char	*md5;		/* hex MD5 of the loaded index object, or NULL */
	size_t	 vouched;	/* entries whose mtime the listing confirmed */
	size_t	 malformed;	/* lines ignored */
	struct buf key;		/* scratch: the decoded key of a line */
};

int	 index_load(struct index *, struct s3 *, const char *bucket,
	    const char *version, struct table *);
int	 index_head_missing(struct run *, struct table *);
int	 index_head_doubtful(struct run *, struct table *, struct entry ***v,
	    size_t *n);
int	 index_save(struct index *, struct s3 *, const char *bucket,
	    const struct table *);
void	 index_free(struct index *);
void	 index_head_crypt(struct entry *, const struct s3_call *);

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
/* plan.c: what to do with each entry, a pure function */

enum ACT {
	ACT_UPLOAD,
	ACT_SKIP,
	ACT_DEFER,		/* an upload past --max-uploads */
	ACT_DELETE,		/* --delete: the local file is gone */
	ACT_TAG,		/* --tag-deleted: the local file is gone */
	ACT_DOWNLOAD,		/* --restore: object to file */
	ACT_MKDIR,		/* --restore: a directory marker */
	ACT_META		/* CopyObject onto itself: new mode, owner */
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
	REASON_META,		/* only the mode or owner differs */
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
	size_t		 nmeta;		/* ACT_META */
	size_t		 refused;	/* deletions over the safety cap */
	uint64_t	 upload_bytes;
};

void	 plan_build(const struct table *, const struct config *, struct plan *);
void	 plan_restore(const struct table *, const struct config *,
	    struct plan *);
void	 plan_free(struct plan *);
const char *plan_reason(enum REASON);
const struct action *plan_find(const struct plan *, const char *key);

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

void	 run_init(struct run *, struct s3 *, const char *bucket,
	    const char *root, struct plan *, struct report *,
	    const struct crypt_key *key);
int	 run_stop(struct run *);
char	*run_call_failed(struct run *, const char *key,
	    const struct s3_call *, const char *what);
void	 run_failed(struct run *, const struct entry *, const char *action,
	    const char *error);
char	*run_endpoint(const struct run *);
void	 run_put_headers(const struct run *, struct s3_call *, int sealed,
	    uint64_t psize, const unsigned char hmac[32], const struct stat *);
void	 run_uploaded(struct run *, struct entry *, int64_t size,
	    const struct stat *st, int sealed, const unsigned char *hmac,
	    const char *etag, const unsigned char md5[16]);

/* ------------------------------------------------------------------ */
/* download.c: the restore direction, written safely */

const char *download_key_check(const char *key, size_t len);
int	 download_run(struct run *, size_t *pending);
int	 download_http_date(const char *, int64_t *sec);

/* ------------------------------------------------------------------ */
/* meta.c: mode and owner in rclone's metadata dialect */

/* What an object says of its file's mode and owner. */
struct meta {
	mode_t	 mode;		/* permission bits (07777) */
	mode_t	 type;		/* S_IFREG, S_IFLNK, or 0 when not said */
	uid_t	 uid;
	gid_t	 gid;
	unsigned has_mode:1;
	unsigned has_uid:1;
	unsigned has_gid:1;
};

void	 meta_headers(struct s3_call *, const struct stat *);
uint32_t meta_perm(unsigned long mode, unsigned long uid, unsigned long gid);
int	 meta_parse(const char *mode, const char *uid, const char *gid,
	    struct meta *, const char **why);
mode_t	 meta_mode(const struct config *, mode_t);
int	 meta_apply(int fd, const struct meta *, const struct config *);
int	 meta_apply_link(int dirfd, const char *name, const struct meta *,
	    const struct config *);

/* ------------------------------------------------------------------ */
/* link.c: symlinks as rclone's ".rclonelink" objects */

#define LINK_SUFFIX	".rclonelink"
#define LINK_SUFFIX_LEN	(sizeof(LINK_SUFFIX) - 1)
#define LINK_MAX	4095	/* bytes of a link target, as PATH_MAX - 1 */

struct dlfile;
int	 link_key(const char *key, size_t len);
int	 link_read(const char *path, struct stat *st, char **target,
	    size_t *len);
void	 link_commit(struct dlfile *, int64_t size);

/* ------------------------------------------------------------------ */
/* fsutil.c: paths under a root without following symlinks; temp files */

/* ".p3b-" 8 hex digits ".tmp" and its NUL. */
#define FSUTIL_TMPLEN	18

int	 fsutil_opendir(int rootfd, const char *path, size_t len, int create,
	    int *created, char **why);
int	 fsutil_tmpfile(int dirfd, char name[FSUTIL_TMPLEN]);
int	 fsutil_tmplink(int dirfd, const char *target,
	    char name[FSUTIL_TMPLEN]);
int	 fsutil_is_tmpname(const char *name);
size_t	 fsutil_clean_stale(int dirfd);
void	 random_fill(unsigned char *, size_t);

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
	const char	*name;		/* its last component: inside e->key,
					   or linkname */
	char		*linkname;	/* a link object: the link's name (the
					   key's last component less
					   LINK_SUFFIX), else NULL */
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
	struct meta	 meta;		/* mode and owner, from the first answer */
	char		*what;		/* archived: the storage class */
	char		*body;		/* the RestoreObject request */
	char		*error;		/* why it failed, for --report */
	struct dlfile	*prev, *next_live;
};

void	 dlfile_fail(struct dlfile *, int say, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
int	 dlfile_target_ok(struct dlfile *);
void	 dlfile_commit(struct dlfile *);

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
int	 archive_classify(long status, const char *code);
char	*archive_restore_body(int days, const char *tier);
int	 archive_class(const char *doc, size_t len,
	    char **storage_class, char **access_tier);

/* ------------------------------------------------------------------ */
/* upload.c: the plan's uploads through the transfer engine */

int	 upload_run(struct run *);
const char *upload_ctype(const char *key);

/* ------------------------------------------------------------------ */
/* multipart.c: one large file in parts, resumable */

struct mpfile;
uint64_t multipart_part_size(const struct run *, uint64_t size);
struct mpfile *multipart_begin(struct run *, struct entry *, int fd,
	    const struct stat *st);
int	 multipart_feed(struct mpfile **mpp);
void	 multipart_stop(struct mpfile **mpp);
void	 multipart_abort(struct run *, const char *okey, const char *upload_id);

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
struct readahead *readahead_start(const struct ra_spec *);
int	 readahead_take(struct readahead *, struct ra_part *);
void	 readahead_stop(struct readahead *);

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

void	 mpcomplete_start(struct mpcomplete *);

/* ------------------------------------------------------------------ */
/* journal.c: crash-safe resume of multipart uploads */

/* What is known of one part of a multipart upload. */
enum PART_STATE {
	PART_MISSING = 0,	/* not stored (as far as known) */
	PART_STORED = 1,	/* stored: the journal says so */
	PART_CONFIRMED = 2	/* stored, and ListParts showed it */
};

/*
 * What a multipart upload in progress has stored, kept in a small file
 * under $XDG_STATE_HOME/p3backup/ (default ~/.local/state/p3backup/),
 * named after the endpoint, bucket and key, and valid only for the
 * file's size and mtime recorded in it.
 */
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

int	 journal_open(struct journal *, const char *endpoint,
	    const char *bucket, const char *key, uint64_t size,
	    int64_t mtime_sec, int32_t mtime_nsec, uint64_t part_size,
	    char **stale_id);
int	 journal_save(struct journal *);
void	 journal_remove(struct journal *);
void	 journal_free(struct journal *);
void	 journal_forget(const char *endpoint, const char *bucket,
	    const char *key, uint64_t size, int64_t mtime_sec,
	    int32_t mtime_nsec, uint64_t part_size, const char *name,
	    char **stale_id);
void	 journal_sweep(const char *endpoint, const char *bucket,
	    const char *root, const char *prefix,
	    int (*gone)(void *, const char *),
	    void (*abort_fn)(void *, const char *, const char *), void *arg);

/* ------------------------------------------------------------------ */
/* sweep.c: journals of uploads that are gone */

void	 sweep_run(struct run *);

/* ------------------------------------------------------------------ */
/* delete.c: --delete and --tag-deleted */

int	 delete_run(struct run *);

/* ------------------------------------------------------------------ */
/* metacopy.c: a new mode or owner without sending the file again */

/* CopyObject's limit: larger objects need UploadPartCopy. */
#define METACOPY_MAX	(5ULL * 1024 * 1024 * 1024)

int	 metacopy_run(struct run *);

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
	size_t		 metadata_updated; /* ACT_META done (or, dry, planned) */
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
FILE	*report_stream(const struct config *);
void	 report_action(struct report *, const char *verb, const char *why,
	    const char *key);
void	 report_error(struct report *, const char *key, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	 report_keep(struct report *, const char *key, const char *msg);
const char *report_error_of(const struct report *, const char *key);
void	 report_progress(struct report *, int force);
void	 report_record(struct report *, const struct entry *,
	    const char *action, const char *result, const char *error);
int	 report_open(struct report *);
void	 report_close(struct report *);
void	 report_summary(struct report *, const char *bucket);
void	 report_take_stderr(void);
void	 report_keep_cause(void);
void	 report_signal_note(const char *msg, size_t n);
void	 report_json(const struct report *, const char *bucket, int dry_run,
	    int rc);
struct json_t *report_json_new(const struct report *, const char *bucket,
	    int dry_run, int rc);
void	 report_json_set(struct json_t *, const char *name, const char *);
void	 report_bytes(uint64_t, char out[32]);

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

#endif /* !P3BACKUP_EXTERN_H */
