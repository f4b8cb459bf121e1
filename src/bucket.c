/*
 * Bucket names: the generated default name and the checks S3 applies,
 * done locally so a bad name fails before any request is sent.
 * Rules from the AWS S3 User Guide, "General purpose bucket naming rules".
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "extern.h"

const char *
bucket_check(const char *name)
{
	static const char *bad_prefix[] = { "xn--", "sthree-", "amzn-s3-demo-" };
	static const char *bad_suffix[] = { "-s3alias", "--ol-s3", ".mrap",
	    "--x-s3", "--table-s3" };
	size_t len, i, n;
	int dots = 0, digits_only = 1;
	const char *p;

	len = strlen(name);
	if (len < 3 || len > 63)
		return "must be 3 to 63 characters long";
	for (p = name; *p != '\0'; p++) {
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) ||
		    *p == '.' || *p == '-'))
			return "may contain only lower-case letters, digits, "
			    "'.' and '-'";
		if (*p == '.') {
			dots++;
			if (p[1] == '.')
				return "must not contain two adjacent periods";
		} else if (!isdigit((unsigned char)*p))
			digits_only = 0;
	}
	if (!isalnum((unsigned char)name[0]) ||
	    !isalnum((unsigned char)name[len - 1]))
		return "must begin and end with a letter or digit";
	if (dots == 3 && digits_only)
		return "must not be formatted as an IP address";
	for (i = 0; i < sizeof(bad_prefix) / sizeof(bad_prefix[0]); i++)
		if (strncmp(name, bad_prefix[i], strlen(bad_prefix[i])) == 0)
			return "must not start with a prefix S3 reserves "
			    "(xn--, sthree-, amzn-s3-demo-)";
	for (i = 0; i < sizeof(bad_suffix) / sizeof(bad_suffix[0]); i++) {
		n = strlen(bad_suffix[i]);
		if (len >= n && strcmp(name + len - n, bad_suffix[i]) == 0)
			return "must not end with a suffix S3 reserves "
			    "(-s3alias, --ol-s3, .mrap, --x-s3, --table-s3)";
	}
	return NULL;
}

void
bucket_default_name(time_t t, char out[BUCKET_DEFAULT_LEN])
{
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(out, BUCKET_DEFAULT_LEN, "p3backup-%m-%d-%y-%H%M%S", &tm);
}

void
bucket_default_next(const char *base, int n, char out[BUCKET_DEFAULT_LEN])
{
	/* n is at most 99: 24 + 3 characters and the NUL always fit. */
	if (n <= 1 || n > 99)
		snprintf(out, BUCKET_DEFAULT_LEN, "%.24s", base);
	else
		snprintf(out, BUCKET_DEFAULT_LEN, "%.24s-%u", base,
		    (unsigned)n % 100);
}
