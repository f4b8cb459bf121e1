/*
 * p3backup: the history a backup keeps in its bucket -- S3 versioning
 * (versioning.c), the run log (runlog.c), the tree at a time (asof.c),
 * Object Lock (lock.c), its length (lifecycle.c) -- with each function's
 * contract at its definition.  The ListObjectVersions request and
 * document are the S3 layer's (s3.h, versions.c).
 * Include after extern.h.
 */
#ifndef P3BACKUP_HISTORY_H
#define P3BACKUP_HISTORY_H

/* ------------------------------------------------------------------ */
/* versioning.c: the bucket keeps old copies; on by default */

/* A bucket's versioning state, as GetBucketVersioning gives it. */
enum VERSIONING {
	VERSIONING_ENABLED,
	VERSIONING_SUSPENDED,
	VERSIONING_OFF,		/* never enabled: no <Status> */
	VERSIONING_UNKNOWN	/* another answer: no versioning there */
};

int	 versioning_parse(const char *, size_t);
int	 versioning_enable(struct s3 *, const char *bucket);
int	 versioning_check(struct s3 *, const char *bucket);

/* ------------------------------------------------------------------ */
/* runlog.c: one object per backup run, and --history */

/* "YYYY-MM-DDTHH:MM:SSZ-XXXXXXXX" and its NUL. */
#define RUNLOG_ID_LEN	30

void	 runlog_id(const struct timespec *start, char out[RUNLOG_ID_LEN]);
int	 runlog_id_valid(const char *, size_t);
int	 runlog_write(struct run *, const char *id,
	    const struct timespec *start, int rc);
int	 runlog_history(struct s3 *, const char *bucket);
int	 runlog_end(struct s3 *, const char *bucket, const char *id,
	    time_t *end);

/* ------------------------------------------------------------------ */
/* asof.c: --as-of, the tree as it was at a time, from its versions */

/* What asof_parse() found. */
enum ASOF { ASOF_TIME = 0, ASOF_RUN = 1 };

int	 asof_parse(const char *, time_t *);
int	 asof_time(struct s3 *, const char *bucket, const char *arg,
	    time_t *);
int	 asof_list(struct s3 *, const char *bucket, time_t, struct table *,
	    char **index_version);

/* ------------------------------------------------------------------ */
/* lock.c: S3 Object Lock, checked and kept */

int	 lock_parse(const char *, size_t);
int64_t	 lock_parse_retention(const char *, size_t);
int	 lock_check(struct s3 *, const char *bucket);
int	 lock_extend(struct run *, struct table *);

/* ------------------------------------------------------------------ */
/* lifecycle.c: --history-days, one lifecycle rule among the bucket's */

char	*lifecycle_id(const char *prefix);
int	 lifecycle_merge(const char *, size_t, const char *id,
	    const char *prefix, int days, char **out, int *changed);
int	 lifecycle_apply(struct s3 *, const char *bucket);

#endif /* !P3BACKUP_HISTORY_H */
