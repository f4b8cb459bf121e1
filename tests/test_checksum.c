/*
 * Unit tests for checksum.c: MD5 and multipart ETags against values
 * computed outside p3backup, the verdicts of checksum_file for every
 * layout it must recognise (and the ones it must not), the part size
 * p3backup picks, and checksum_table over a temporary tree.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/base64.h>
#include <mbedtls/md5.h>

#include "extern.h"
#include "s3.h"
#include "tap.h"

#define MIB		(1024ULL * 1024)
#define BIG_SIZE	(40 * MIB + 12345)

/*
 * Known answers for the first BIG_SIZE bytes of pattern(), computed
 * with Python 3's hashlib over the same xorshift64 stream (n BIG_SIZE;
 * etag(data, p) for p 5, 8, 16 and 7 MiB and 7,000,000):
 *
 *   M = (1 << 64) - 1; s = 0x9E3779B97F4A7C15; out = bytearray()
 *   for _ in range((n + 7) // 8):
 *       s ^= (s << 13) & M; s ^= s >> 7; s ^= (s << 17) & M
 *       out += struct.pack('<Q', s)
 *   data = bytes(out[:n])
 *   def etag(data, p):
 *       parts = [data[i:i+p] for i in range(0, len(data), p)] or [b'']
 *       d = b''.join(hashlib.md5(x).digest() for x in parts)
 *       return hashlib.md5(d).hexdigest() + '-%d' % len(parts)
 *
 * and checked with coreutils on the file it wrote: `md5sum pattern.bin`
 * for the whole MD5, and for the 7 MiB ETag `split -b 7M pattern.bin
 * part. && for f in part.*; do md5sum $f | cut -c1-32; done | tr -d
 * '\n' | xxd -r -p | md5sum`.  The empty one-part ETag is `printf '' |
 * md5sum | cut -c1-32 | xxd -r -p | md5sum`.
 */
#define BIG_MD5		"48a966ac4b0718fe2e1f63f78a260cf7"
#define BIG_ETAG_5MIB	"8c3e5344d077f08a783ecdf07fe30a68-9"
#define BIG_ETAG_8MIB	"1e7ba0af1570ffdcdf707726215af9ac-6"
#define BIG_ETAG_16MIB	"55528a35bcbc8aec0a347a2c1327217c-3"
#define BIG_ETAG_7MIB	"d2dfea2e5eaa19ed89823949ce1707fe-6"
#define BIG_ETAG_7MB	"862f6ed37ae6e75d4fdc6a3572c3c149-6"
#define EMPTY_MD5	"d41d8cd98f00b204e9800998ecf8427e"
#define EMPTY_ETAG_1	"59adb24ef3cdbe0297f05b395827453f-1"

static char tmpdir[4096];
static unsigned char *big;	/* BIG_SIZE bytes of pattern() */

static void
fatal(const char *what)
{
	tap_diag("%s: %s", what, strerror(errno));
	exit(99);
}

/* "n" bytes of a xorshift64 stream, little-endian words, into "out". */
static void
pattern(unsigned char *out, size_t n)
{
	uint64_t s = UINT64_C(0x9E3779B97F4A7C15);
	size_t i, j;

	for (i = 0; i < n; i += 8) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		for (j = 0; j < 8 && i + j < n; j++)
			out[i + j] = (unsigned char)(s >> (8 * j));
	}
}

/* tmpdir/"rel" holding "len" bytes of "data"; returns the path. */
static char *
put(const char *rel, const void *data, size_t len)
{
	char *path;
	int fd;

	path = xasprintf("%s/%s", tmpdir, rel);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1 ||
	    (len > 0 && write(fd, data, len) != (ssize_t)len) ||
	    close(fd) == -1)
		fatal(path);
	return path;
}

/* An entry (not in any table) whose ETag is "etag". */
static struct entry *
etag_entry(const char *etag)
{
	struct entry *e;

	e = xcalloc(1, sizeof(*e) + 1);
	table_set_etag(e, etag);
	return e;
}

/* checksum_file on "path" against "etag". */
static int
check(const char *path, uint64_t size, const char *etag, uint64_t part)
{
	struct entry *e;
	int fd, rc;

	if ((fd = open(path, O_RDONLY)) == -1)
		fatal(path);
	e = etag_entry(etag);
	rc = checksum_file(fd, size, e, part);
	free(e);
	close(fd);
	return rc;
}

/* The multipart ETag of "data" in parts of "part" bytes, by hand. */
static void
etag_of(const unsigned char *data, size_t len, size_t part, char out[45])
{
	unsigned char *md5s;
	size_t n, i, take;

	n = len == 0 ? 1 : (len + part - 1) / part;
	md5s = xcalloc(n, 16);
	for (i = 0; i < n; i++) {
		take = len - i * part < part ? len - i * part : part;
		mbedtls_md5_ret(data + i * part, take, md5s + 16 * i);
	}
	checksum_multipart_etag(md5s, n, out);
	free(md5s);
}

static void
test_known(void)
{
	unsigned char md5[16];
	char hex[45];

	mbedtls_md5_ret((const unsigned char *)"", 0, md5);
	hex_encode(md5, 16, hex);
	is_str(hex, EMPTY_MD5, "md5 of \"\"");
	mbedtls_md5_ret(big, BIG_SIZE, md5);
	hex_encode(md5, 16, hex);
	is_str(hex, BIG_MD5, "md5 of the 40 MiB pattern");
	etag_of(big, BIG_SIZE, 5 * MIB, hex);
	is_str(hex, BIG_ETAG_5MIB, "multipart etag, 5 MiB parts");
	etag_of(big, BIG_SIZE, 8 * MIB, hex);
	is_str(hex, BIG_ETAG_8MIB, "multipart etag, 8 MiB parts");
	etag_of(big, BIG_SIZE, 16 * MIB, hex);
	is_str(hex, BIG_ETAG_16MIB, "multipart etag, 16 MiB parts");
	etag_of(big, BIG_SIZE, 7 * MIB, hex);
	is_str(hex, BIG_ETAG_7MIB, "multipart etag, 7 MiB parts");
	etag_of(big, 0, 5 * MIB, hex);
	is_str(hex, EMPTY_ETAG_1, "multipart etag of one empty part");
	mbedtls_md5_ret((const unsigned char *)"", 0, md5);
	checksum_multipart_etag(md5, 1, hex);
	is_str(hex, EMPTY_ETAG_1, "checksum_multipart_etag of md5(\"\")");
}

static void
test_file(void)
{
	struct entry *e;
	char *path, *empty;
	unsigned char flip;
	int fd, rc;

	path = put("big", big, BIG_SIZE);
	empty = put("empty", "", 0);

	ok(check(empty, 0, EMPTY_MD5, 0) == CSUM_SAME, "empty file: same");
	ok(check(empty, 0, EMPTY_ETAG_1, 0) == CSUM_SAME,
	    "empty file as one empty part: same");
	ok(check(path, BIG_SIZE, BIG_MD5, 0) == CSUM_SAME,
	    "single part: same");
	ok(check(path, BIG_SIZE, BIG_ETAG_5MIB, 0) == CSUM_SAME,
	    "5 MiB parts (rclone): same");
	ok(check(path, BIG_SIZE, BIG_ETAG_8MIB, 0) == CSUM_SAME,
	    "8 MiB parts (aws cli): same");
	ok(check(path, BIG_SIZE, BIG_ETAG_16MIB, 0) == CSUM_SAME,
	    "16 MiB parts (p3backup default): same");
	ok(check(path, BIG_SIZE, BIG_ETAG_7MIB, 0) == CSUM_SAME,
	    "7 MiB parts (ceil(size/N) to a MiB): same");
	ok(check(path, BIG_SIZE, BIG_ETAG_7MB, 0) == CSUM_SAME,
	    "7 MB parts (ceil(size/N) to a MB): same");
	ok(check(path, BIG_SIZE, BIG_ETAG_16MIB, 10 * MIB) == CSUM_SAME,
	    "16 MiB parts with --part-size 10M (client default): same");
	ok(check(path, BIG_SIZE, "1e7ba0af1570ffdcdf707726215af9ad-6", 0) ==
	    CSUM_DIFF, "6 parts, wrong digest: diff");
	ok(check(path, BIG_SIZE, "1E7BA0AF1570FFDCDF707726215AF9AC-6", 0) ==
	    CSUM_SAME, "upper-case etag: same");
	ok(check(path, BIG_SIZE, BIG_ETAG_7MIB, 0) == CSUM_SAME &&
	    check(path, BIG_SIZE, BIG_ETAG_8MIB, 0) == CSUM_SAME,
	    "two layouts of 6 parts both recognised");

	/* One byte changed in the middle of part 3 of every layout. */
	if ((fd = open(path, O_RDWR)) == -1 ||
	    pread(fd, &flip, 1, 20 * MIB) != 1)
		fatal(path);
	flip ^= 0x01;
	if (pwrite(fd, &flip, 1, 20 * MIB) != 1)
		fatal(path);
	ok(check(path, BIG_SIZE, BIG_MD5, 0) == CSUM_DIFF,
	    "single part, one byte changed: diff");
	ok(check(path, BIG_SIZE, BIG_ETAG_5MIB, 0) == CSUM_DIFF,
	    "5 MiB parts, one byte changed: diff");
	ok(check(path, BIG_SIZE, BIG_ETAG_7MIB, 0) == CSUM_DIFF,
	    "7 MiB parts, one byte changed: diff");
	flip ^= 0x01;
	if (pwrite(fd, &flip, 1, 20 * MIB) != 1 || close(fd) == -1)
		fatal(path);

	/* A part count no plausible part size gives: nothing is read. */
	ok(check(path, BIG_SIZE, "1e7ba0af1570ffdcdf707726215af9ac-20", 0) ==
	    CSUM_UNKNOWN, "20 parts of 40 MiB: unknown");
	e = etag_entry("1e7ba0af1570ffdcdf707726215af9ac-20");
	ok(checksum_file(-1, BIG_SIZE, e, 0) == CSUM_UNKNOWN,
	    "unknown decided before reading (fd -1)");
	free(e);
	ok(check(path, BIG_SIZE, "1e7ba0af1570ffdcdf707726215af9ac-10000",
	    0) == CSUM_UNKNOWN, "10000 parts of 40 MiB: unknown");
	e = etag_entry("not-an-md5-etag-from-sse-kms-xxxxx");
	ok(!e->retag_md5 && checksum_file(-1, BIG_SIZE, e, 0) ==
	    CSUM_UNKNOWN, "etag not an MD5 (SSE-KMS): unknown, no read");
	free(e);

	/* The file is not the size the listing and the scan agreed on. */
	ok(check(path, BIG_SIZE + 1, BIG_MD5, 0) == CSUM_DIFF,
	    "file shorter than size: diff");
	ok(check(path, BIG_SIZE - 1, BIG_MD5, 0) == CSUM_DIFF,
	    "file longer than size: diff");
	ok(check(path, BIG_SIZE + 1, BIG_ETAG_8MIB, 0) == CSUM_DIFF,
	    "multipart, file shorter than size: diff");

	/* A read error: a directory cannot be read. */
	e = etag_entry(BIG_MD5);
	if ((fd = open(tmpdir, O_RDONLY | O_DIRECTORY)) == -1)
		fatal(tmpdir);
	errno = 0;
	rc = checksum_file(fd, 10, e, 0);
	ok(rc == -1 && errno == EISDIR, "read error: -1 with EISDIR");
	close(fd);
	free(e);
	free(path);
	free(empty);
}

/* Free an entry of etag_entry and what it grew. */
static void
drop(struct entry *e)
{
	free(e->rx);
	free(e);
}

/*
 * ETags that are no MD5 (SSE-KMS, SSE-C) and the content MD5 recorded
 * apart (the index, rclone's md5chksum): what --checksum and restores
 * compare then.
 */
static void
test_content_md5(void)
{
	struct s3_call c;
	struct entry *e;
	unsigned char md5[16], other[16];
	char *path, b64[32];
	size_t olen;
	int fd;

	path = put("big", big, BIG_SIZE);
	if ((fd = open(path, O_RDONLY)) == -1)
		fatal(path);
	mbedtls_md5_ret(big, BIG_SIZE, md5);
	memcpy(other, md5, 16);
	other[0] ^= 1;

	/* The ETag is the MD5: nothing kept apart. */
	e = etag_entry(BIG_MD5);
	entry_set_md5(e, md5);
	ok(e->rx == NULL && !e->rnotmd5 && entry_md5(e) == e->rmd5,
	    "an ETag that is the MD5 needs nothing more");
	drop(e);

	/* An SSE-KMS ETag: 32 hex digits, not the MD5. */
	e = etag_entry("52eeb3c4f1d1ac34e0df6c4a1f3c0f20");
	ok(checksum_file(fd, BIG_SIZE, e, 0) == CSUM_DIFF,
	    "SSE-KMS ETag taken for an MD5 when nothing says otherwise");
	entry_set_md5(e, md5);
	ok(e->rnotmd5 && entry_md5(e) != NULL &&
	    memcmp(entry_md5(e), md5, 16) == 0,
	    "the recorded MD5 marks the ETag as no MD5");
	ok(checksum_file(fd, BIG_SIZE, e, 0) == CSUM_SAME,
	    "...and is what the file is compared with: same");
	entry_set_md5(e, other);
	ok(checksum_file(fd, BIG_SIZE, e, 0) == CSUM_DIFF,
	    "another recorded MD5: diff");
	/* A plain object keeps its MD5 when told it is not encrypted. */
	entry_set_plain(e);
	ok(e->rx != NULL && e->rx->md5_known, "entry_set_plain keeps the MD5");
	drop(e);

	/* A multipart ETag no part size explains, with the MD5 recorded. */
	e = etag_entry("00000000000000000000000000000000-9999");
	ok(checksum_file(fd, BIG_SIZE, e, 0) == CSUM_UNKNOWN,
	    "an unexplained multipart ETag alone: unknown");
	entry_set_md5(e, md5);
	ok(!e->rnotmd5 && checksum_file(fd, BIG_SIZE, e, 0) == CSUM_SAME,
	    "with the recorded MD5: same, in one pass");
	drop(e);

	/* What a HEAD or GET answer says. */
	memset(&c, 0, sizeof(c));
	e = etag_entry("52eeb3c4f1d1ac34e0df6c4a1f3c0f20");
	c.sse = (char *)"aws:kms";
	checksum_note_answer(e, &c);
	ok(e->rnotmd5 && entry_md5(e) == NULL,
	    "an answer saying aws:kms: the ETag is no MD5");
	ok(checksum_file(-1, BIG_SIZE, e, 0) == CSUM_UNKNOWN,
	    "...so the file cannot be compared (and is not read)");
	mbedtls_base64_encode((unsigned char *)b64, sizeof(b64), &olen, md5,
	    16);
	c.meta_md5 = b64;
	checksum_note_answer(e, &c);
	ok(checksum_file(fd, BIG_SIZE, e, 0) == CSUM_SAME,
	    "x-amz-meta-md5chksum (rclone) is compared: same");
	drop(e);
	e = etag_entry(BIG_MD5);
	c.sse = NULL;
	c.sse_customer = (char *)"AES256";
	c.meta_md5 = (char *)"not base64!";
	checksum_note_answer(e, &c);
	ok(e->rnotmd5 && entry_md5(e) == NULL,
	    "SSE-C, and a bad md5chksum ignored: no MD5 known");
	c.sse_customer = NULL;
	c.meta_md5 = NULL;
	drop(e);
	e = etag_entry(BIG_MD5);
	checksum_note_answer(e, &c);
	ok(!e->rnotmd5 && checksum_file(fd, BIG_SIZE, e, 0) == CSUM_SAME,
	    "a plain answer leaves the ETag an MD5");
	drop(e);
	close(fd);
	free(path);
}

static void
test_part_size(void)
{
	uint64_t p, size, tib = 1024 * 1024 * MIB;
	size_t bad = 0;

	ok(checksum_part_size(100 * MIB, 0) == 16 * MIB,
	    "100 MiB, default: 16 MiB");
	ok(checksum_part_size(100 * MIB, 16 * MIB) == 16 * MIB,
	    "100 MiB, 16 MiB: 16 MiB");
	ok(checksum_part_size(100 * MIB, 8 * MIB) == 8 * MIB,
	    "100 MiB, 8 MiB: 8 MiB");
	/* 2^40 / 10,000 is 104.86 MiB: 105 MiB, 9987 parts. */
	p = checksum_part_size(tib, 16 * MIB);
	ok(p == 105 * MIB, "1 TiB: 105 MiB, got %llu",
	    (unsigned long long)p);
	ok((tib + p - 1) / p <= MP_MAX_PARTS &&
	    (tib + p - MIB - 1) / (p - MIB) > MP_MAX_PARTS,
	    "1 TiB: the smallest whole MiB that fits 10,000 parts");
	ok(checksum_part_size(1, 0) == 16 * MIB, "1 byte, default: 16 MiB");
	ok(checksum_part_size(1, MIB) == MP_MIN_PART, "1 byte, 1 MiB: 5 MiB");
	ok(checksum_part_size(0, 1) == MP_MIN_PART, "0 bytes, 1 byte: 5 MiB");
	ok(checksum_part_size(6 * MIB, 5 * MIB + 1) == 5 * MIB + 1,
	    "a part size that fits is kept as given");
	ok(checksum_part_size(100 * 1024 * tib, 0) == MP_MAX_PART,
	    "100 PiB: at most 5 GiB");
	ok(checksum_part_size(tib, 8 * 1024 * MIB) == MP_MAX_PART,
	    "8 GiB wanted: 5 GiB");
	/* Every size S3 can hold in 10,000 parts of at most 5 GiB. */
	for (size = 1; size <= MP_MAX_PARTS * MP_MAX_PART;
	    size = size * 3 + 12345) {
		p = checksum_part_size(size, 0);
		if (p < MP_MIN_PART || p > MP_MAX_PART ||
		    (size + p - 1) / p > MP_MAX_PARTS ||
		    (p != 16 * MIB && p % MIB != 0))
			bad++;
	}
	ok(bad == 0, "sizes up to 48.8 TiB: within limits (%zu bad)", bad);
}

/* Add "key" as seen on both sides with "size" bytes and "etag". */
static struct entry *
add(struct table *tbl, const char *key, int64_t size, const char *etag)
{
	struct entry *e;

	e = table_get(tbl, key, strlen(key));
	e->local = e->remote = 1;
	e->lsize = e->rsize = size;
	table_set_etag(e, etag);
	return e;
}

static void
test_table(void)
{
	static const char small[] = "hello, world\n";
	struct table tbl = { 0 };
	struct config cfg;
	struct entry *same, *diff, *kms, *size, *lonly, *dir, *gone, *grew;
	struct entry *lnk, *bigp, *guess, *ctl;
	char msg[4096], md5hex[33], *path;
	unsigned char md5[16];
	size_t failed = 1;
	int cap;

	memset(&cfg, 0, sizeof(cfg));
	cfg.part_size = 16 * MIB;
	mbedtls_md5_ret((const unsigned char *)small, sizeof(small) - 1, md5);
	hex_encode(md5, 16, md5hex);
	free(put("same", small, sizeof(small) - 1));
	free(put("diff", "HELLO, WORLD\n", sizeof(small) - 1));
	free(put("kms", small, sizeof(small) - 1));
	free(put("size", small, sizeof(small) - 1));
	free(put("grew", "hello, world!\n", sizeof(small)));
	path = xasprintf("%s/d", tmpdir);
	if (mkdir(path, 0755) == -1)
		fatal(path);
	free(path);
	free(put("d/x", small, sizeof(small) - 1));
	path = xasprintf("%s/link", tmpdir);
	if (symlink("same", path) == -1)
		fatal(path);
	free(path);

	same = add(&tbl, "same", sizeof(small) - 1, md5hex);
	diff = add(&tbl, "diff", sizeof(small) - 1, md5hex);
	kms = add(&tbl, "kms", sizeof(small) - 1, "kms-etag");
	size = add(&tbl, "size", sizeof(small) - 1, md5hex);
	size->rsize++;
	lonly = add(&tbl, "d/x", sizeof(small) - 1, md5hex);
	lonly->remote = 0;
	dir = add(&tbl, "d/", 0, EMPTY_MD5);
	dir->dir = 1;
	gone = add(&tbl, "gone", sizeof(small) - 1, md5hex);
	grew = add(&tbl, "grew", sizeof(small) - 1, md5hex);
	lnk = add(&tbl, "link", sizeof(small) - 1, md5hex);
	bigp = add(&tbl, "big", BIG_SIZE, BIG_ETAG_8MIB);
	guess = add(&tbl, "big2", BIG_SIZE,
	    "1e7ba0af1570ffdcdf707726215af9ac-20");
	free(put("big2", big, BIG_SIZE));
	ctl = add(&tbl, "c\x01tl", 1, md5hex);
	/* A stale verdict must not survive. */
	size->csum = CSUM_SAME;

	if ((cap = tap_capture_begin()) == -1)
		exit(99);
	checksum_table(tmpdir, &cfg, &tbl, &failed);
	tap_capture_end(cap, msg, sizeof(msg));

	ok(same->csum == CSUM_SAME, "table: same content");
	ok(diff->csum == CSUM_DIFF, "table: same size, other content");
	ok(kms->csum == CSUM_UNKNOWN, "table: etag not an MD5");
	ok(size->csum == CSUM_NONE, "table: sizes differ, not compared");
	ok(lonly->csum == CSUM_NONE, "table: local only, not compared");
	ok(dir->csum == CSUM_NONE, "table: directory marker, not compared");
	ok(grew->csum == CSUM_DIFF, "table: file changed size since the scan");
	ok(bigp->csum == CSUM_SAME, "table: multipart, 8 MiB parts");
	ok(guess->csum == CSUM_UNKNOWN, "table: multipart, no layout fits");
	ok(gone->csum == CSUM_NONE && lnk->csum == CSUM_NONE &&
	    ctl->csum == CSUM_NONE, "table: unreadable files left CSUM_NONE");
	ok(failed == 4, "table: 3 failures added to *failed (%zu)", failed);
	ok(strstr(msg, "gone: No such file or directory") != NULL,
	    "table: missing file reported");
	ok(strstr(msg, "link: is now a symbolic link") != NULL,
	    "table: symlink reported");
	ok(strstr(msg, "c\\x01tl: ") != NULL,
	    "table: control byte escaped in the message");
	ok(strstr(msg, "same") == NULL && strstr(msg, "big") == NULL &&
	    strstr(msg, "diff") == NULL, "table: nothing else reported");

	cfg.follow_symlinks = 1;
	failed = 0;
	if ((cap = tap_capture_begin()) == -1)
		exit(99);
	checksum_table(tmpdir, &cfg, &tbl, &failed);
	tap_capture_end(cap, msg, sizeof(msg));
	ok(lnk->csum == CSUM_SAME, "table --follow-symlinks: link read");
	ok(failed == 2, "table --follow-symlinks: 2 failures (%zu)", failed);

	table_free(&tbl);
	failed = 0;
	checksum_table(tmpdir, &cfg, &tbl, &failed);
	ok(failed == 0, "table: empty table");
}

int
main(void)
{
	const char *t;

	t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_checksum.XXXXXX",
	    t != NULL && t[0] != '\0' ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror(tmpdir);
		return 99;
	}
	big = xmalloc(BIG_SIZE);
	pattern(big, BIG_SIZE);
	test_known();
	test_file();
	test_content_md5();
	test_part_size();
	test_table();
	ok(tap_rmtree(tmpdir) == 0,
	    "temporary directory removed");
	free(big);
	return tap_done();
}
