/*
 * Fuzz target: encrypted objects.  The input is an object stored under
 * FUZZ_DECODE_OKEY, decoded by decode_file() with the test key
 * tests/data/crypt/key1.pem and the input's length as the plaintext
 * limit (an uncompressed object is always longer than its plaintext,
 * so only a compressed one can hit it).  decode_file must keep its
 * promise: on success the output file is exactly *plain bytes long
 * (whatever was in it before), within the limit, and an uncompressed
 * object is H + P + 16n bytes; on failure there is a reason or errno.
 *
 * A short input is also encoded as a plaintext for key1.pub.pem by
 * encode_file(), with compression when its first byte is odd, and must
 * decode back byte for byte with its exact size as the limit; when its
 * last byte is a multiple of 4, a limit one byte short must be refused.
 * The fuzzer cannot forge a chunk, so this is how the compressor and
 * the body's success path get fuzzed.
 *
 * The keys are read once, from $top_srcdir (set by make check and
 * run.sh, as for the corpora) or, without it, from FUZZ_TOP_SRCDIR,
 * the source tree the target was built from, so that a crash replays
 * by hand.  Input and output are two unlinked temporary files, opened
 * once and truncated for every run.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"
#include "targets.h"

#ifndef FUZZ_TOP_SRCDIR
#define FUZZ_TOP_SRCDIR	"."
#endif

#define FUZZ_DECODE_OKEY	"fuzz/object"
#define FUZZ_DECODE_ROUND	4096	/* inputs shorter are encoded too */
#define FUZZ_DECODE_MEMMAX	(1024 * 1024) /* encode_file in memory */
#define FUZZ_DECODE_STALE	5000	/* output bytes left from "before" */

/* Set up once by fuzz_decode_init, for the life of the process. */
static struct crypt_key	*fuzz_decode_priv;
static struct crypt_key	*fuzz_decode_pub;
static int		 fuzz_decode_in = -1;	/* the object */
static int		 fuzz_decode_out = -1;	/* decode_file's output */

/* Load tests/data/crypt/"name" under "top"; abort when it does not load. */
static struct crypt_key *
fuzz_decode_key(const char *top, const char *name, int private)
{
	struct crypt_key *k;
	char *path, *why;

	path = xasprintf("%s/tests/data/crypt/%s", top, name);
	if ((k = crypt_key_load(path, private, &why)) == NULL)
		fprintf(stderr, "fuzz_decode: %s: %s\n", path, why);
	fuzz_check(k != NULL, "decode", "cannot load a test key "
	    "(set top_srcdir to the source tree)");
	free(path);
	return k;
}

/* A scratch file (scratch_open); aborts on failure. */
static int
fuzz_decode_tmpfile(void)
{
	int fd;

	if ((fd = scratch_open("fuzz")) == -1)
		fprintf(stderr, "fuzz_decode: scratch file: %s\n",
		    strerror(errno));
	fuzz_check(fd != -1, "decode", "cannot make a temporary file");
	return fd;
}

static void
fuzz_decode_init(void)
{
	const char *top;

	if (fuzz_decode_priv != NULL)
		return;
	if ((top = getenv("top_srcdir")) == NULL || *top == '\0')
		top = FUZZ_TOP_SRCDIR;
	fuzz_decode_priv = fuzz_decode_key(top, "key1.pem", 1);
	fuzz_decode_pub = fuzz_decode_key(top, "key1.pub.pem", 0);
	fuzz_decode_in = fuzz_decode_tmpfile();
	fuzz_decode_out = fuzz_decode_tmpfile();
}

/* Make "fd" hold exactly the "len" bytes at "p"; aborts on failure. */
static void
fuzz_decode_put(int fd, const void *p, size_t len)
{
	const char *c = p;
	size_t done = 0;
	ssize_t n;

	fuzz_check(ftruncate(fd, 0) == 0, "decode", "ftruncate failed");
	while (done < len) {
		n = pwrite(fd, c + done, len - done, (off_t)done);
		if (n == -1 && errno == EINTR)
			continue;
		fuzz_check(n > 0, "decode", "cannot write a temporary file");
		done += (size_t)n;
	}
}

/*
 * decode_file() the object now in fuzz_decode_in ("len" bytes), with
 * at most "max" plaintext bytes, into an output file that holds stale
 * bytes, and check its promise.  Returns its result, with the
 * plaintext length in *plain and the reason in *why.
 */
static int
fuzz_decode_run(uint64_t len, int64_t max, uint64_t *plain,
    const char **why)
{
	struct stat st;
	int rc;

	fuzz_check(ftruncate(fuzz_decode_out, FUZZ_DECODE_STALE) == 0,
	    "decode", "ftruncate failed");
	errno = 0;
	rc = decode_file(fuzz_decode_in, len, fuzz_decode_out,
	    fuzz_decode_priv, FUZZ_DECODE_OKEY, max, plain, why);
	if (rc == 0) {
		fuzz_check(fstat(fuzz_decode_out, &st) == 0, "decode",
		    "fstat failed");
		fuzz_check((uint64_t)st.st_size == *plain, "decode",
		    "output length is not *plain");
		fuzz_check(max < 0 || *plain <= (uint64_t)max, "decode",
		    "more plaintext than the limit");
	} else {
		fuzz_check(rc == -1, "decode", "decode_file returned not 0/-1");
		fuzz_check((*why != NULL && (*why)[0] != '\0') ||
		    errno != 0, "decode", "failure without a reason or errno");
	}
	return rc;
}

/*
 * Encode the "size" input bytes as a plaintext, compressed when the
 * first is odd, and decode the object: the same bytes must come back.
 */
static void
fuzz_decode_round(const uint8_t *data, size_t size)
{
	struct encoded enc;
	unsigned char *back = NULL;
	uint64_t plain, stored;
	const char *dwhy;
	char *why = NULL;
	int compress, rc;

	compress = size > 0 && (data[0] & 1);
	fuzz_decode_put(fuzz_decode_in, data, size);
	rc = encode_file(fuzz_decode_in, size, fuzz_decode_pub,
	    FUZZ_DECODE_OKEY, compress, FUZZ_DECODE_MEMMAX, &enc, &why);
	if (rc != 0)
		fprintf(stderr, "fuzz_decode: encode_file: %d, %s\n", rc,
		    why != NULL ? why : "no reason");
	fuzz_check(rc == 0, "decode", "encode_file failed on a steady file");
	fuzz_check(enc.fd == -1 && enc.mem != NULL, "decode",
	    "a small object was not kept in memory");
	stored = crypt_size(crypt_header_len(fuzz_decode_pub), size);
	if (enc.compressed)
		fuzz_check(compress && enc.len < stored, "decode",
		    "compressed without being asked, or without gain");
	else
		fuzz_check(enc.len == stored, "decode",
		    "uncompressed object is not H + P + 16n bytes");

	fuzz_decode_put(fuzz_decode_in, enc.mem, (size_t)enc.len);
	if (size > 0 && data[size - 1] % 4 == 0)
		fuzz_check(fuzz_decode_run(enc.len, (int64_t)size - 1, &plain,
		    &dwhy) == -1 && dwhy != NULL, "decode",
		    "plaintext past the limit accepted");
	fuzz_check(fuzz_decode_run(enc.len, (int64_t)size, &plain,
	    &dwhy) == 0, "decode", "decode_file refused what encode_file made");
	fuzz_check(plain == size, "decode", "round trip changed the length");
	/* Exactly "size" bytes, so that ASan sees a read past them. */
	back = xmalloc(size > 0 ? size : 1);
	fuzz_check(pread(fuzz_decode_out, back, size, 0) == (ssize_t)size,
	    "decode", "cannot read the output back");
	fuzz_check(memcmp(back, data, size) == 0, "decode",
	    "round trip changed the bytes");
	free(back);
	free(why);
	encoded_free(&enc);
}

int
fuzz_decode(const uint8_t *data, size_t size)
{
	const char *why;
	uint64_t plain;
	size_t hlen;

	fuzz_decode_init();
	fuzz_decode_put(fuzz_decode_in, data, size);
	if (fuzz_decode_run(size, (int64_t)size, &plain, &why) == 0 &&
	    !(data[7] & CRYPT_F_ZSTD)) {
		/* It opened, so it has a whole header for key1. */
		hlen = crypt_header_len(fuzz_decode_priv);
		fuzz_check(size == crypt_size(hlen, plain), "decode",
		    "uncompressed object is not H + P + 16n bytes");
	}
	if (size < FUZZ_DECODE_ROUND)
		fuzz_decode_round(data, size);
	return 0;
}

#ifndef FUZZ_NO_ENTRY
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_decode(data, size);
}
#endif
