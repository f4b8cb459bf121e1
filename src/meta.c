/*
 * A file's mode and owner, in rclone's metadata dialect, so that either
 * tool restores the other's backup: x-amz-meta-mode holds st_mode in
 * octal with the type bits ("100750"), x-amz-meta-uid and -gid the
 * numeric owner in decimal.  A backup sends them with every file; a
 * restore applies them to the temporary file before it is renamed into
 * place: the owner when run as root (unless --no-owner; as another
 * user the owner is the user, as tar does), then the permission bits,
 * without setuid and setgid unless --restore-special-bits (the sticky
 * bit is kept).  Values that are no mode or no id refuse the file:
 * nothing is applied that these rules do not allow.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"
#include "s3.h"

/* The largest id: (uid_t)-1 means "no change" to chown(2). */
#define META_ID_MAX	4294967294ULL

/* Add x-amz-meta-mode, -uid and -gid of the file "st" to "c". */
void
meta_headers(struct s3_call *c, const struct stat *st)
{
	char num[24];

	snprintf(num, sizeof(num), "%o", (unsigned)st->st_mode);
	s3_call_header(c, "x-amz-meta-mode", num);
	snprintf(num, sizeof(num), "%lu", (unsigned long)st->st_uid);
	s3_call_header(c, "x-amz-meta-uid", num);
	snprintf(num, sizeof(num), "%lu", (unsigned long)st->st_gid);
	s3_call_header(c, "x-amz-meta-gid", num);
}

/*
 * A file's permission bits (07777 of "mode"; the type is not looked
 * at), owner and group as one 32-bit number, the entry's lperm and
 * rperm and the index's "P" flag: FNV-1a over the three as 32-bit
 * little-endian words.  Equal for equal metadata; a change is missed
 * once in 2^32.  Pure.
 */
uint32_t
meta_perm(unsigned long mode, unsigned long uid, unsigned long gid)
{
	uint32_t w[3], h = 2166136261U;
	int i, b;

	w[0] = (uint32_t)(mode & 07777);
	w[1] = (uint32_t)uid;
	w[2] = (uint32_t)gid;
	for (i = 0; i < 3; i++)
		for (b = 0; b < 32; b += 8) {
			h ^= (w[i] >> b) & 0xff;
			h *= 16777619U;
		}
	return h;
}

/* A decimal id of at most META_ID_MAX into *id.  0, or -1. */
static int
meta_id(const char *s, unsigned long *id)
{
	uint64_t n;

	if (decimal_parse(s, META_ID_MAX, &n) == -1)
		return -1;
	*id = (unsigned long)n;
	return 0;
}

/*
 * Parse what an object says of its file into "m" (zeroed first): "mode"
 * (octal, as rclone writes it, with an optional leading 0), "uid" and
 * "gid" (decimal), each NULL when the object has none.  A mode must be
 * a regular file's (S_IFREG), a symlink's (S_IFLNK, kept in m->type for
 * the caller to check against the key) or carry no type bits.  Returns 0, or -1
 * with *why (static text naming the header) when one is malformed.
 * Pure.
 */
int
meta_parse(const char *mode, const char *uid, const char *gid,
    struct meta *m, const char **why)
{
	unsigned long v = 0;
	const char *p;

	memset(m, 0, sizeof(*m));
	if (mode != NULL) {
		if (*mode == '\0' || strlen(mode) > 7)
			goto badmode;
		for (p = mode; *p != '\0'; p++) {
			if (*p < '0' || *p > '7')
				goto badmode;
			v = v * 8 + (unsigned long)(*p - '0');
		}
		if ((v & ~0177777UL) != 0 || ((v & S_IFMT) != 0 &&
		    (v & S_IFMT) != S_IFREG && (v & S_IFMT) != S_IFLNK)) {
			*why = "x-amz-meta-mode is not a regular file's mode";
			return -1;
		}
		m->mode = (mode_t)(v & 07777);
		m->type = (mode_t)(v & S_IFMT);
		m->has_mode = 1;
	}
	if (uid != NULL && meta_id(uid, &v) == -1) {
		*why = "x-amz-meta-uid is not a user id";
		return -1;
	}
	if (uid != NULL) {
		m->uid = (uid_t)v;
		m->has_uid = 1;
	}
	if (gid != NULL && meta_id(gid, &v) == -1) {
		*why = "x-amz-meta-gid is not a group id";
		return -1;
	}
	if (gid != NULL) {
		m->gid = (gid_t)v;
		m->has_gid = 1;
	}
	return 0;
badmode:
	*why = "x-amz-meta-mode is not an octal mode";
	return -1;
}

/*
 * The permission bits a restore gives for "mode": setuid and setgid
 * only with --restore-special-bits.  Pure.
 */
mode_t
meta_mode(const struct config *cfg, mode_t mode)
{
	if (!cfg->restore_special_bits)
		mode &= ~(mode_t)(S_ISUID | S_ISGID);
	return mode & 07777;
}

/*
 * Whether a restore gives "m"'s owner: as root, unless --no-owner, when
 * "m" names one.  Then *uid and *gid hold it ((uid_t)-1, (gid_t)-1 for
 * "unchanged").  Returns 1 or 0.
 */
static int
meta_owner(const struct meta *m, const struct config *cfg, uid_t *uid,
    gid_t *gid)
{
	*uid = m->has_uid ? m->uid : (uid_t)-1;
	*gid = m->has_gid ? m->gid : (gid_t)-1;
	return geteuid() == 0 && !cfg->no_owner && (m->has_uid || m->has_gid);
}

/*
 * Apply "m" to the open file "fd": the owner first (when root and not
 * --no-owner; chown clears setuid bits), then the mode.  Returns 0, or
 * -1 with errno set.
 */
int
meta_apply(int fd, const struct meta *m, const struct config *cfg)
{
	uid_t uid;
	gid_t gid;

	if (meta_owner(m, cfg, &uid, &gid) && fchown(fd, uid, gid) == -1)
		return -1;
	if (m->has_mode && fchmod(fd, meta_mode(cfg, m->mode)) == -1)
		return -1;
	return 0;
}

/*
 * Apply "m" to the symlink "name" of "dirfd" itself, never its target:
 * its owner as meta_apply does; a link's mode has no meaning (Linux
 * cannot change it) and is left.  Returns 0, or -1 with errno set.
 */
int
meta_apply_link(int dirfd, const char *name, const struct meta *m,
    const struct config *cfg)
{
	uid_t uid;
	gid_t gid;

	if (meta_owner(m, cfg, &uid, &gid) && fchownat(dirfd, name, uid, gid,
	    AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	return 0;
}
