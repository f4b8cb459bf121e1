/*
 * Unit tests for config.c: profile, credentials, region, endpoint,
 * addressing style and CA bundle precedence, against shared files
 * written to a temporary directory and a scrubbed environment.  The
 * expected precedence is the AWS CLI's (botocore's credentials.py and
 * the "Configuration and credential file settings" documentation).
 */
#include "config.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"
#include "tap.h"

extern char **environ;

static char tmpdir[4096];
static char credpath[4200], confpath[4200];
static char msg[4096];		/* stderr of the last load() */

/* Write "text" to "path", or remove the file when "text" is NULL. */
static void
put(const char *path, const char *text)
{
	FILE *f;

	if (text == NULL) {
		unlink(path);
		return;
	}
	if ((f = fopen(path, "w")) == NULL || fputs(text, f) == EOF ||
	    fclose(f) == EOF) {
		perror(path);
		exit(99);
	}
}

/*
 * Begin a case: remove every AWS_* variable, write the two shared files
 * (NULL: absent) and point AWS_SHARED_CREDENTIALS_FILE and
 * AWS_CONFIG_FILE at them.
 */
static void
start(const char *what, const char *creds, const char *conf)
{
	char *name;
	size_t i;

	tap_diag("%s", what);
	for (i = 0; environ[i] != NULL; ) {
		if (strncmp(environ[i], "AWS_", 4) == 0) {
			name = xstrndup(environ[i], strcspn(environ[i], "="));
			unsetenv(name);
			free(name);
			i = 0;
		} else
			i++;
	}
	put(credpath, creds);
	put(confpath, conf);
	setenv("AWS_SHARED_CREDENTIALS_FILE", credpath, 1);
	setenv("AWS_CONFIG_FILE", confpath, 1);
}

/* config_init "cfg" and set what options.c would from the arguments. */
static void
opts(struct config *cfg, const char *profile, const char *region,
    const char *endpoint, int path_style)
{
	config_init(cfg);
	if (profile != NULL) {
		cfg->profile = xstrdup(profile);
		cfg->profile_explicit = 1;
	}
	cfg->opt_region = region != NULL ? xstrdup(region) : NULL;
	cfg->opt_endpoint = endpoint != NULL ? xstrdup(endpoint) : NULL;
	cfg->opt_path_style = path_style;
}

/* config_load with stderr captured into msg. */
static int
load(struct config *cfg)
{
	int saved, rc;

	if ((saved = tap_capture_begin()) == -1)
		exit(99);
	rc = config_load(cfg);
	tap_capture_end(saved, msg, sizeof(msg));
	msg[strcspn(msg, "\n")] = '\0';
	if (msg[0] != '\0')
		tap_diag("stderr: %s", msg);
	return rc;
}

/* Whether msg contains "s"; says so in the test line. */
static void
msg_has(const char *s)
{
	ok(strstr(msg, s) != NULL, "message contains \"%s\"", s);
}

/* Put a complete key pair in the environment. */
static void
env_keys(void)
{
	setenv("AWS_ACCESS_KEY_ID", "AKID_ENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "s3kr1t_ENV", 1);
}

/* A load that must succeed; checks the credential source. */
static void
load_ok(struct config *cfg, const char *key, const char *source)
{
	ok(load(cfg) == 0, "config_load succeeds");
	is_str(cfg->creds.access_key, key, "access key");
	is_str(cfg->creds.source, source, "credential source");
}

/* A load that must fail without quoting any secret. */
static void
load_fails(struct config *cfg)
{
	ok(load(cfg) == -1, "config_load fails");
	ok(strstr(msg, "s3kr1t") == NULL, "message quotes no secret");
}

static void
test_credentials(void)
{
	struct config cfg;
	char *src, *token, *text;

	start("default profile from the credentials file",
	    "[default]\naws_access_key_id = AKID_CRED\n"
	    "aws_secret_access_key = s3kr1t_CRED\n", NULL);
	opts(&cfg, NULL, NULL, NULL, 0);
	src = xasprintf("%s [default]", credpath);
	load_ok(&cfg, "AKID_CRED", src);
	is_str(cfg.creds.secret_key, "s3kr1t_CRED", "secret key");
	ok(cfg.creds.session_token == NULL, "no session token");
	is_str(cfg.region, "us-east-1", "region defaults to us-east-1");
	ok(cfg.endpoint == NULL && cfg.path_style == 0, "AWS, virtual-hosted");
	free(src);
	config_free(&cfg);

	start("[profile x] from the config file through AWS_PROFILE", NULL,
	    "[default]\nregion = eu-north-1\n"
	    "[profile x]\naws_access_key_id = AKID_X\n"
	    "aws_secret_access_key = s3kr1t_X\nregion = ap-south-1\n");
	setenv("AWS_PROFILE", "x", 1);
	opts(&cfg, NULL, NULL, NULL, 0);
	src = xasprintf("%s [profile x]", confpath);
	load_ok(&cfg, "AKID_X", src);
	is_str(cfg.region, "ap-south-1", "region of profile x");
	free(src);
	config_free(&cfg);

	start("AWS_DEFAULT_PROFILE, [default] in the config file", NULL,
	    "[default]\naws_access_key_id = AKID_D\n"
	    "aws_secret_access_key = s3kr1t_D\n"
	    "[profile \"y z\"]\naws_access_key_id = AKID_YZ\n"
	    "aws_secret_access_key = s3kr1t_YZ\n");
	opts(&cfg, NULL, NULL, NULL, 0);
	src = xasprintf("%s [default]", confpath);
	load_ok(&cfg, "AKID_D", src);
	free(src);
	config_free(&cfg);
	setenv("AWS_DEFAULT_PROFILE", "y z", 1);
	opts(&cfg, NULL, NULL, NULL, 0);
	src = xasprintf("%s [profile y z]", confpath);
	load_ok(&cfg, "AKID_YZ", src);
	free(src);
	config_free(&cfg);

	start("--profile beats environment keys", "[x]\n"
	    "aws_access_key_id = AKID_X\naws_secret_access_key = s3kr1t_X\n"
	    "[bare]\nregion = us-west-1\n",
	    "[profile roles]\nrole_arn = arn:aws:iam::1:role/r\n");
	env_keys();
	opts(&cfg, "x", NULL, NULL, 0);
	src = xasprintf("%s [x]", credpath);
	load_ok(&cfg, "AKID_X", src);
	free(src);
	config_free(&cfg);
	opts(&cfg, "bare", NULL, NULL, 0);
	load_fails(&cfg);
	msg_has("environment not used with --profile");
	config_free(&cfg);
	opts(&cfg, "roles", NULL, NULL, 0);
	load_fails(&cfg);
	msg_has("role_arn, which p3backup does not support");
	config_free(&cfg);

	start("environment keys beat AWS_PROFILE's file keys", "[x]\n"
	    "aws_access_key_id = AKID_X\naws_secret_access_key = s3kr1t_X\n",
	    NULL);
	env_keys();
	setenv("AWS_PROFILE", "x", 1);
	opts(&cfg, NULL, NULL, NULL, 0);
	load_ok(&cfg, "AKID_ENV", "environment");
	is_str(cfg.creds.secret_key, "s3kr1t_ENV", "secret from environment");
	config_free(&cfg);

	start("credentials file beats config file",
	    "[default]\naws_access_key_id = AKID_CRED\n"
	    "aws_secret_access_key = s3kr1t_CRED\n",
	    "[default]\naws_access_key_id = AKID_CONF\n"
	    "aws_secret_access_key = s3kr1t_CONF\n");
	opts(&cfg, NULL, NULL, NULL, 0);
	src = xasprintf("%s [default]", credpath);
	load_ok(&cfg, "AKID_CRED", src);
	is_str(cfg.creds.secret_key, "s3kr1t_CRED", "secret from same file");
	free(src);
	config_free(&cfg);

	start("session token from the environment", NULL, NULL);
	env_keys();
	setenv("AWS_SESSION_TOKEN", "TOKEN_ENV", 1);
	opts(&cfg, NULL, NULL, NULL, 0);
	load_ok(&cfg, "AKID_ENV", "environment");
	is_str(cfg.creds.session_token, "TOKEN_ENV", "AWS_SESSION_TOKEN");
	config_free(&cfg);
	unsetenv("AWS_SESSION_TOKEN");
	setenv("AWS_SECURITY_TOKEN", "TOKEN_OLD", 1);
	opts(&cfg, NULL, NULL, NULL, 0);
	load_ok(&cfg, "AKID_ENV", "environment");
	is_str(cfg.creds.session_token, "TOKEN_OLD", "AWS_SECURITY_TOKEN");
	config_free(&cfg);

	token = xmalloc(1201);
	memset(token, 'T', 1200);
	token[1200] = '\0';
	text = xasprintf("[default]\naws_access_key_id = AKID_CRED\n"
	    "aws_secret_access_key = s3kr1t_CRED\naws_session_token = %s\n",
	    token);
	start("1200-byte session token from the file", text, NULL);
	opts(&cfg, NULL, NULL, NULL, 0);
	src = xasprintf("%s [default]", credpath);
	load_ok(&cfg, "AKID_CRED", src);
	is_str(cfg.creds.session_token, token, "aws_session_token");
	config_free(&cfg);
	env_keys();
	opts(&cfg, NULL, NULL, NULL, 0);
	load_ok(&cfg, "AKID_ENV", "environment");
	ok(cfg.creds.session_token == NULL, "no token mixed in from the file");
	config_free(&cfg);
	free(src);
	free(text);
	free(token);
}

static void
test_errors(void)
{
	static const char *const bad[] = { "http://", "https:///x",
	    "HTTP://h", "h:9000", "http://[::1", "http://[::1]x", NULL };
	struct config cfg;
	size_t i;
	char *s;

	start("no credentials anywhere", NULL, "[other]\nregion = x\n");
	opts(&cfg, NULL, NULL, NULL, 0);
	load_fails(&cfg);
	msg_has("no AWS credentials: looked in "
	    "environment (AWS_ACCESS_KEY_ID), ");
	s = xasprintf("%s [default] (no file), %s [default] (no section)",
	    credpath, confpath);
	msg_has(s);
	free(s);
	config_free(&cfg);

	start("unknown profile named by AWS_PROFILE", "[default]\n"
	    "aws_access_key_id = A\naws_secret_access_key = s3kr1t\n", NULL);
	env_keys();
	setenv("AWS_PROFILE", "nope", 1);
	opts(&cfg, NULL, NULL, NULL, 0);
	load_fails(&cfg);
	s = xasprintf("profile \"nope\" not found in %s or %s", credpath,
	    confpath);
	msg_has(s);
	config_free(&cfg);
	opts(&cfg, "nope", NULL, NULL, 0);
	load_fails(&cfg);
	msg_has(s);
	free(s);
	config_free(&cfg);

	start("half a key pair", "[default]\naws_access_key_id = A\n", NULL);
	setenv("AWS_SECRET_ACCESS_KEY", "s3kr1t_ENV", 1);
	opts(&cfg, NULL, NULL, NULL, 0);
	load_fails(&cfg);
	msg_has("environment: AWS_SECRET_ACCESS_KEY is set but not "
	    "AWS_ACCESS_KEY_ID");
	config_free(&cfg);
	unsetenv("AWS_SECRET_ACCESS_KEY");
	opts(&cfg, NULL, NULL, NULL, 0);
	load_fails(&cfg);
	msg_has("aws_access_key_id is set but not aws_secret_access_key");
	config_free(&cfg);

	start("bad endpoint, region, addressing style, syntax", NULL,
	    "[default]\nregion = us-east-2 # Ohio\n"
	    "s3 =\n  addressing_style = Path\n");
	env_keys();
	opts(&cfg, NULL, "us-west-2", "ftp://h", 0);
	load_fails(&cfg);
	msg_has("invalid endpoint URL \"ftp://h\" (from --endpoint-url)");
	config_free(&cfg);
	for (i = 0; bad[i] != NULL; i++) {
		setenv("AWS_ENDPOINT_URL", bad[i], 1);
		opts(&cfg, NULL, "us-west-2", NULL, 0);
		load_fails(&cfg);
		s = xasprintf("\"%s\" (from AWS_ENDPOINT_URL): expected",
		    bad[i]);
		msg_has(s);
		free(s);
		config_free(&cfg);
	}
	setenv("AWS_ENDPOINT_URL", "http://h # note", 1);
	opts(&cfg, NULL, "us-west-2", NULL, 0);
	load_fails(&cfg);
	msg_has("contains white space");
	config_free(&cfg);
	unsetenv("AWS_ENDPOINT_URL");
	opts(&cfg, NULL, NULL, NULL, 0);
	load_fails(&cfg);
	msg_has("invalid region \"us-east-2 # Ohio\"");
	config_free(&cfg);
	opts(&cfg, NULL, "us-west-2", NULL, 0);
	load_fails(&cfg);
	msg_has("must be auto, path or virtual, not \"Path\"");
	config_free(&cfg);
	put(confpath, "[default]\ns3kr1t\n");
	opts(&cfg, NULL, NULL, NULL, 0);
	load_fails(&cfg);
	s = xasprintf("%s:2: expected", confpath);
	msg_has(s);
	free(s);
	config_free(&cfg);
}

/*
 * Load with environment keys and the options into "cfg" (caller frees);
 * returns what config_load returned.
 */
static int
load_env(struct config *cfg, const char *region, const char *endpoint,
    int path_style)
{
	env_keys();
	opts(cfg, NULL, region, endpoint, path_style);
	return load(cfg);
}

static void
test_settings(void)
{
	struct config cfg;
	static const char *const local[] = { "http://127.0.0.1:9000",
	    "http://[::1]:9000/", "http://localhost", "https://LOCALHOST:1/x",
	    "http://user:pw@10.0.0.1", NULL };
	static const char *const named[] = { "https://s3.example.com",
	    "http://127.0.0.1.nip.io:9000", NULL };
	size_t i;

	start("region precedence", NULL, NULL);
	ok(load_env(&cfg, NULL, NULL, 0) == 0 &&
	    strcmp(cfg.region, "us-east-1") == 0, "default us-east-1");
	config_free(&cfg);
	put(confpath, "[default]\nregion = r-profile\n");
	ok(load_env(&cfg, NULL, NULL, 0) == 0 &&
	    strcmp(cfg.region, "r-profile") == 0, "profile region");
	config_free(&cfg);
	setenv("AWS_DEFAULT_REGION", "r-default", 1);
	ok(load_env(&cfg, NULL, NULL, 0) == 0 &&
	    strcmp(cfg.region, "r-default") == 0, "AWS_DEFAULT_REGION");
	config_free(&cfg);
	setenv("AWS_REGION", "r-env", 1);
	ok(load_env(&cfg, NULL, NULL, 0) == 0 &&
	    strcmp(cfg.region, "r-env") == 0, "AWS_REGION");
	config_free(&cfg);
	ok(load_env(&cfg, "r-opt", NULL, 0) == 0 &&
	    strcmp(cfg.region, "r-opt") == 0, "--region");
	config_free(&cfg);

	start("endpoint precedence", NULL, NULL);
	ok(load_env(&cfg, NULL, NULL, 0) == 0 && cfg.endpoint == NULL,
	    "no endpoint: AWS");
	config_free(&cfg);
	put(confpath, "[default]\nendpoint_url = http://top:1/\n");
	ok(load_env(&cfg, NULL, NULL, 0) == 0, "profile endpoint_url");
	is_str(cfg.endpoint, "http://top:1", "endpoint_url, '/' dropped");
	config_free(&cfg);
	put(confpath, "[default]\nendpoint_url = http://top:1\n"
	    "s3 =\n  endpoint_url = https://nested:2//\n");
	ok(load_env(&cfg, NULL, NULL, 0) == 0, "profile s3.endpoint_url");
	is_str(cfg.endpoint, "https://nested:2", "s3.endpoint_url wins");
	config_free(&cfg);
	setenv("AWS_ENDPOINT_URL", "http://env-all", 1);
	ok(load_env(&cfg, NULL, NULL, 0) == 0, "AWS_ENDPOINT_URL");
	is_str(cfg.endpoint, "http://env-all", "AWS_ENDPOINT_URL wins");
	config_free(&cfg);
	setenv("AWS_ENDPOINT_URL_S3", "http://env-s3/base/", 1);
	ok(load_env(&cfg, NULL, NULL, 0) == 0, "AWS_ENDPOINT_URL_S3");
	is_str(cfg.endpoint, "http://env-s3/base", "AWS_ENDPOINT_URL_S3 wins");
	config_free(&cfg);
	ok(load_env(&cfg, NULL, "https://opt.example", 0) == 0, "option");
	is_str(cfg.endpoint, "https://opt.example", "--endpoint-url wins");
	config_free(&cfg);

	start("automatic path-style", NULL, NULL);
	for (i = 0; local[i] != NULL; i++) {
		ok(load_env(&cfg, NULL, local[i], 0) == 0 &&
		    cfg.path_style == 1, "path-style for %s", local[i]);
		config_free(&cfg);
	}
	for (i = 0; named[i] != NULL; i++) {
		ok(load_env(&cfg, NULL, named[i], 0) == 0 &&
		    cfg.path_style == 0, "virtual-hosted for %s", named[i]);
		config_free(&cfg);
	}
	ok(load_env(&cfg, NULL, "https://s3.example.com", 1) == 0 &&
	    cfg.path_style == 1, "--path-style");
	config_free(&cfg);

	start("addressing_style", NULL,
	    "[default]\ns3 =\n  addressing_style = path\n");
	ok(load_env(&cfg, NULL, "https://s3.example.com", 0) == 0 &&
	    cfg.path_style == 1, "addressing_style = path");
	config_free(&cfg);
	ok(load_env(&cfg, NULL, NULL, 0) == 0 && cfg.path_style == 1,
	    "addressing_style = path on AWS");
	config_free(&cfg);
	put(confpath, "[default]\ns3 =\n  addressing_style = virtual\n");
	ok(load_env(&cfg, NULL, "http://localhost:9000", 0) == 0 &&
	    cfg.path_style == 0, "addressing_style = virtual beats auto");
	config_free(&cfg);
	ok(load_env(&cfg, NULL, "http://localhost:9000", 1) == 0 &&
	    cfg.path_style == 1, "--path-style beats virtual");
	config_free(&cfg);

	start("CA bundle", NULL, "[default]\nca_bundle = /etc/prof.pem\n");
	ok(load_env(&cfg, NULL, NULL, 0) == 0, "profile ca_bundle");
	is_str(cfg.ca_bundle, "/etc/prof.pem", "ca_bundle from profile");
	config_free(&cfg);
	setenv("AWS_CA_BUNDLE", "/etc/env.pem", 1);
	ok(load_env(&cfg, NULL, NULL, 0) == 0, "AWS_CA_BUNDLE");
	is_str(cfg.ca_bundle, "/etc/env.pem", "AWS_CA_BUNDLE wins");
	config_free(&cfg);
}

static void
test_files(void)
{
	struct config cfg;
	char *home, *dir, *path, *src;

	start("missing files are fine with environment keys", NULL, NULL);
	ok(load_env(&cfg, NULL, NULL, 0) == 0, "loads without files");
	is_str(cfg.creds.source, "environment", "credentials from environment");
	config_free(&cfg);

	home = xasprintf("%s/home", tmpdir);
	dir = xasprintf("%s/.aws", home);
	path = xasprintf("%s/credentials", dir);
	if (mkdir(home, 0700) == -1 || mkdir(dir, 0700) == -1) {
		perror(dir);
		exit(99);
	}
	put(path, "[default]\naws_access_key_id = AKID_HOME\n"
	    "aws_secret_access_key = s3kr1t_HOME\n");
	start("HOME/.aws/credentials by default", NULL, NULL);
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	unsetenv("AWS_CONFIG_FILE");
	setenv("HOME", home, 1);
	opts(&cfg, NULL, NULL, NULL, 0);
	src = xasprintf("%s [default]", path);
	load_ok(&cfg, "AKID_HOME", src);
	config_free(&cfg);

	setenv("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials", 1);
	opts(&cfg, NULL, NULL, NULL, 0);
	load_ok(&cfg, "AKID_HOME", src);
	config_free(&cfg);

	unlink(path);
	rmdir(dir);
	rmdir(home);
	free(src);
	free(path);
	free(dir);
	free(home);
}

int
main(void)
{
	const char *t;

	t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_config.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror(tmpdir);
		return 99;
	}
	snprintf(credpath, sizeof(credpath), "%s/credentials", tmpdir);
	snprintf(confpath, sizeof(confpath), "%s/config", tmpdir);

	test_credentials();
	test_errors();
	test_settings();
	test_files();

	unlink(credpath);
	unlink(confpath);
	rmdir(tmpdir);
	return tap_done();
}
