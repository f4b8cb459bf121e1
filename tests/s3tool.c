/*
 * s3tool: drives the S3 core of the library from the shell so the
 * integration tests exercise the real request code against s3rver.
 *
 *   s3tool mb BUCKET              HeadBucket, CreateBucket when missing
 *   s3tool ls BUCKET [PREFIX]     ListObjectsV2: "size etag key" lines
 *   s3tool lsv BUCKET [PREFIX]    ListObjectVersions: "V|D latest size
 *                                 etag version-id key" lines, a delete
 *                                 marker's size -1 and etag "-"
 *   s3tool put BUCKET KEY FILE    PutObject with Content-MD5 and mtime
 *
 * Configuration comes from the environment as for p3backup.
 * Exit: 0 ok, 2 usage/configuration, 3 request failed.
 */
#include "config.h"

#include <err.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libxml/parser.h>
#include <mbedtls/base64.h>
#include <mbedtls/md5.h>

#include "extern.h"
#include "s3.h"

static int
print_entry(void *arg, const struct list_entry *e)
{
	(void)arg;
	printf("%lld %s ", (long long)e->size, e->etag);
	fwrite(e->key, 1, e->keylen, stdout);
	putchar('\n');
	return 0;
}

static int
print_version(void *arg, const struct versions_entry *e)
{
	(void)arg;
	printf("%c %d %lld %s %s ", e->delete_marker ? 'D' : 'V',
	    e->is_latest, (long long)e->size, e->etag != NULL ? e->etag : "-",
	    e->version_id);
	fwrite(e->key, 1, e->keylen, stdout);
	putchar('\n');
	return 0;
}

static int
put_file(struct s3 *s3, const char *bucket, const char *key, const char *path)
{
	unsigned char md5[16], b64[32];
	char mtime[64], buf[65536], *msg;
	mbedtls_md5_context ctx;
	struct s3_call *c;
	struct stat st;
	size_t olen;
	ssize_t n;
	int fd, rc = 3;

	if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &st) == -1)
		err(2, "%s", path);
	mbedtls_md5_init(&ctx);
	mbedtls_md5_starts_ret(&ctx);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		mbedtls_md5_update_ret(&ctx, (unsigned char *)buf, n);
	mbedtls_md5_finish_ret(&ctx, md5);
	mbedtls_md5_free(&ctx);
	mbedtls_base64_encode(b64, sizeof(b64), &olen, md5, sizeof(md5));
	snprintf(mtime, sizeof(mtime), "%lld.%09ld",
	    (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	c = s3_put_new(bucket, key, fd, st.st_size, (char *)b64, mtime, NULL);
	if (s3_exec(s3, c) == 0)
		rc = 0;
	else {
		msg = s3_call_errstr(c);
		warnx("put %s: %s", key, msg);
		free(msg);
	}
	s3_call_free(c);
	close(fd);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct config cfg;
	struct s3 *s3;
	int rc = 2, exists;

	if (argc < 3)
		errx(2, "usage: s3tool mb|ls|lsv|put BUCKET [ARGS]");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	config_init(&cfg);
	if (getenv("S3TOOL_VERBOSE") != NULL)
		log_level = 2;
	if (config_load(&cfg) == -1 || (s3 = s3_new(&cfg)) == NULL)
		goto out;
	rc = 3;
	if (strcmp(argv[1], "mb") == 0) {
		if ((exists = bucket_head(s3, argv[2])) == 0 ||
		    (exists == 1 && bucket_create(s3, argv[2], 0) == 0))
			rc = 0;
	} else if (strcmp(argv[1], "ls") == 0) {
		if (list_objects(s3, argv[2], argc > 3 ? argv[3] : NULL,
		    print_entry, NULL) == 0)
			rc = 0;
	} else if (strcmp(argv[1], "lsv") == 0) {
		if (versions_list(s3, argv[2], argc > 3 ? argv[3] : NULL,
		    print_version, NULL) == 0)
			rc = 0;
	} else if (strcmp(argv[1], "put") == 0 && argc == 5)
		rc = put_file(s3, argv[2], argv[3], argv[4]);
	else {
		warnx("unknown command %s", argv[1]);
		rc = 2;
	}
	s3_free(s3);
out:
	config_free(&cfg);
	curl_global_cleanup();
	xmlCleanupParser();
	return rc;
}
