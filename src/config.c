/*
 * Settings from the environment and the AWS shared files: profile,
 * credentials, region, endpoint, addressing style and CA bundle, with the
 * precedence of the AWS CLI (botocore).  options.c has already put the
 * command line into the struct config; config_load() resolves the rest.
 *
 * Only static keys are supported (no role_arn, SSO, credential_process).
 * Messages never contain a secret key or a session token.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <err.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "extern.h"

/* One setting of the selected profile; the value may be a secret. */
struct setting {
	char		*name;		/* "region", "s3.endpoint_url", ... */
	char		*value;		/* wiped before free */
	struct setting	*next;
};

/* The selected profile as found in one shared file. */
struct profile {
	char		*path;		/* as read, or as shown without HOME */
	char		*label;		/* "PATH [SECTION]", for messages */
	const char	*name;		/* the profile looked for */
	int		 is_config;	/* config file: "[profile NAME]" */
	int		 exists;	/* the file exists */
	int		 found;		/* the section has settings */
	struct setting	*settings;
};

/* Settings of credential providers we do not implement. */
static const char *const config_unsupported[] = {
	"credential_process", "role_arn", "sso_session", "sso_start_url",
	"web_identity_token_file", NULL
};

/*
 * Zero "cfg" and set the defaults of everything options.c may leave
 * unset.  Nothing is allocated.
 */
void
config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->jobs = 16;
	cfg->progress = -1;
	cfg->max_retries = 5;
	cfg->max_uploads = -1;
	cfg->max_delete = -1;
	cfg->history_days = -1;
	cfg->multipart_threshold = 64ULL * 1024 * 1024;
	cfg->part_size = 16ULL * 1024 * 1024;
}

/*
 * Free every string "cfg" owns, wiping the secret key and session token,
 * and zero it.  Accepts NULL.
 */
void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->bucket);
	free(cfg->directory);
	free(cfg->directory_from);
	free(cfg->profile);
	free(cfg->region);
	free(cfg->endpoint);
	free(cfg->prefix);
	free(cfg->ca_bundle);
	free(cfg->opt_region);
	free(cfg->opt_endpoint);
	free(cfg->creds.access_key);
	freezero_str(cfg->creds.secret_key);
	freezero_str(cfg->creds.session_token);
	free(cfg->creds.source);
	filter_free(cfg->filter);
	free(cfg->storage_class);
	free(cfg->report_path);
	free(cfg->job_path);
	free(cfg->restore_tier);
	free(cfg->as_of);
	free(cfg->lock_mode);
	free(cfg->encrypt_key);
	free(cfg->decrypt_key);
	free(cfg->sse);
	free(cfg->sse_kms_key_id);
	free(cfg->sse_c_key_file);
	free(cfg->acl);
	memset(cfg, 0, sizeof(*cfg));
}

/*
 * The environment variable "name", or NULL when it is unset or empty
 * (an empty variable counts as unset everywhere in this file).
 */
static const char *
config_env(const char *name)
{
	const char *v;

	v = getenv(name);
	return v != NULL && *v != '\0' ? v : NULL;
}

/*
 * The home directory: $HOME, else the password file.  NULL when neither
 * says; the caller frees.
 */
static char *
config_home(void)
{
	struct passwd *pw;
	const char *home;

	if ((home = config_env("HOME")) == NULL &&
	    (pw = getpwuid(getuid())) != NULL && pw->pw_dir != NULL &&
	    *pw->pw_dir != '\0')
		home = pw->pw_dir;
	return home != NULL ? xstrdup(home) : NULL;
}

/*
 * The path of a shared file: the variable "var" when set, with a leading
 * "~/" expanded as botocore does, else HOME/.aws/LEAF.  NULL when there
 * is no HOME to use.  The caller frees.
 */
static char *
config_path(const char *var, const char *home, const char *leaf)
{
	const char *v;
	char *path = NULL;

	if ((v = config_env(var)) != NULL) {
		if (v[0] == '~' && (v[1] == '/' || v[1] == '\0') &&
		    home != NULL)
			path = xasprintf("%s%s", home, v + 1);
		else
			path = xstrdup(v);
	} else if (home != NULL)
		path = xasprintf("%s/.aws/%s", home, leaf);
	return path;
}

/*
 * Whether "section" is the one for the wanted profile: "[NAME]" in the
 * credentials file; "[profile NAME]" in the config file, where the
 * default profile may also be plain "[default]".  botocore splits the
 * header like a shell, so the name may be in double quotes.
 */
static int
config_section_is(const struct profile *p, const char *section)
{
	const char *rest;
	size_t len;

	if (!p->is_config)
		return strcmp(section, p->name) == 0;
	if (strcmp(section, "default") == 0)
		return strcmp(p->name, "default") == 0;
	if (strncmp(section, "profile", 7) != 0 ||
	    !isspace((unsigned char)section[7]))
		return 0;
	rest = section + 7;
	while (isspace((unsigned char)*rest))
		rest++;
	len = strlen(rest);
	if (len >= 2 && rest[0] == '"' && rest[len - 1] == '"') {
		rest++;
		len -= 2;
	}
	return len == strlen(p->name) && strncmp(rest, p->name, len) == 0;
}

/*
 * An ini_fn: keep the settings of the wanted section.  A name set twice
 * keeps its last value, also across "[default]" and "[profile default]".
 */
static int
config_collect(void *arg, const char *section, const char *name,
    const char *value)
{
	struct profile *p = arg;
	struct setting *s;

	if (!config_section_is(p, section))
		return 0;
	p->found = 1;
	for (s = p->settings; s != NULL; s = s->next)
		if (strcmp(s->name, name) == 0)
			break;
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->name = xstrdup(name);
		s->next = p->settings;
		p->settings = s;
	} else
		freezero_str(s->value);
	s->value = xstrdup(value);
	return 0;
}

/*
 * The value of "name" in the profile, or NULL when absent or empty.
 */
static const char *
config_get(const struct profile *p, const char *name)
{
	const struct setting *s;

	for (s = p->settings; s != NULL; s = s->next)
		if (strcmp(s->name, name) == 0)
			return *s->value != '\0' ? s->value : NULL;
	return NULL;
}

/*
 * Read profile "name" from the shared file named by variable "var" or
 * HOME/.aws/LEAF into "p" (free with config_profile_free, even after
 * an error).  A missing file counts as an empty one, and so does
 * "~/.aws/LEAF" when there is no HOME.  Returns 0, or -1 on a read or
 * syntax error (reported).
 */
static int
config_profile_read(struct profile *p, const char *var, const char *home,
    const char *leaf, const char *name, int is_config)
{
	int rc = 0;

	p->name = name;
	p->is_config = is_config;
	if ((p->path = config_path(var, home, leaf)) != NULL) {
		rc = ini_parse_file(p->path, config_collect, p);
		p->exists = rc != 1;
		if (rc == 1)
			rc = 0;
	} else
		p->path = xasprintf("~/.aws/%s", leaf);
	if (is_config && strcmp(name, "default") != 0)
		p->label = xasprintf("%s [profile %s]", p->path, name);
	else
		p->label = xasprintf("%s [%s]", p->path, name);
	return rc;
}

/*
 * Free what config_profile_read stored in "p", wiping the values.
 */
static void
config_profile_free(struct profile *p)
{
	struct setting *s, *next;

	for (s = p->settings; s != NULL; s = next) {
		next = s->next;
		free(s->name);
		freezero_str(s->value);
		free(s);
	}
	free(p->path);
	free(p->label);
}

/* Append the string "s" to "b". */
static void
config_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

/*
 * Take credentials from one source into "c" when it has both the key
 * id and the secret; "id_name" and "secret_name" name them for the
 * message about a source with only one of the two.  Returns 1 when
 * taken, 0 when the source has neither, -1 for half a pair (reported).
 */
static int
config_creds_take(struct creds *c, const char *source, const char *id,
    const char *secret, const char *token, const char *id_name,
    const char *secret_name)
{
	if (id == NULL && secret == NULL)
		return 0;
	if (id == NULL || secret == NULL) {
		warnx("incomplete AWS credentials in %s: %s is set but not %s",
		    source, id != NULL ? id_name : secret_name,
		    id != NULL ? secret_name : id_name);
		return -1;
	}
	c->access_key = xstrdup(id);
	c->secret_key = xstrdup(secret);
	c->session_token = token != NULL ? xstrdup(token) : NULL;
	c->source = xstrdup(source);
	return 1;
}

/*
 * Fill cfg->creds.  A profile named with --profile ("from_cli") is the
 * only source, as in botocore, which drops its environment provider
 * then; otherwise the environment wins over the credentials file, which
 * wins over the config file.  Returns 0, or -1 after reporting every
 * place that was tried.
 */
static int
config_creds(struct config *cfg, struct profile files[2], int from_cli)
{
	struct buf looked;
	const struct profile *p;
	const char *token, *unsupported = NULL;
	size_t i, j;
	int found = 0;

	memset(&looked, 0, sizeof(looked));
	if (!from_cli) {
		if ((token = config_env("AWS_SESSION_TOKEN")) == NULL)
			token = config_env("AWS_SECURITY_TOKEN");
		found = config_creds_take(&cfg->creds, "environment",
		    config_env("AWS_ACCESS_KEY_ID"),
		    config_env("AWS_SECRET_ACCESS_KEY"), token,
		    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY");
		config_puts(&looked, "environment (AWS_ACCESS_KEY_ID)");
	}
	for (i = 0; found == 0 && i < 2; i++) {
		p = &files[i];
		if ((token = config_get(p, "aws_session_token")) == NULL)
			token = config_get(p, "aws_security_token");
		found = config_creds_take(&cfg->creds, p->label,
		    config_get(p, "aws_access_key_id"),
		    config_get(p, "aws_secret_access_key"), token,
		    "aws_access_key_id", "aws_secret_access_key");
		if (looked.len > 0)
			config_puts(&looked, ", ");
		config_puts(&looked, p->label);
		if (!p->exists)
			config_puts(&looked, " (no file)");
		else if (!p->found)
			config_puts(&looked, " (no section)");
		for (j = 0; unsupported == NULL && config_unsupported[j]; j++)
			if (config_get(p, config_unsupported[j]) != NULL)
				unsupported = config_unsupported[j];
	}
	if (found == 0)
		warnx("no AWS credentials: looked in %s%s%s%s%s", looked.data,
		    from_cli ? " (environment not used with --profile)" : "",
		    unsupported != NULL ? "; profile sets " : "",
		    unsupported != NULL ? unsupported : "",
		    unsupported != NULL ? ", which p3backup does not support" :
		    "");
	buf_free(&looked);
	return found == 1 ? 0 : -1;
}

/*
 * Set cfg->region: --region, AWS_REGION, AWS_DEFAULT_REGION, the
 * profile's region, else us-east-1.  The region goes into host names,
 * so only letters, digits, '-', '_' and '.' are accepted.  Returns 0,
 * or -1 (reported).
 */
static int
config_region(struct config *cfg, const struct profile *conf)
{
	const char *v, *from;

	if ((v = cfg->opt_region) != NULL && *v != '\0')
		from = "--region";
	else if ((v = config_env("AWS_REGION")) != NULL)
		from = "AWS_REGION";
	else if ((v = config_env("AWS_DEFAULT_REGION")) != NULL)
		from = "AWS_DEFAULT_REGION";
	else if ((v = config_get(conf, "region")) != NULL)
		from = conf->label;
	else
		v = from = "us-east-1";
	if (v[strspn(v, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")] != '\0') {
		warnx("invalid region \"%s\" (from %s)", v, from);
		return -1;
	}
	free(cfg->region);
	cfg->region = xstrdup(v);
	return 0;
}

/*
 * Set cfg->endpoint: --endpoint-url, AWS_ENDPOINT_URL_S3,
 * AWS_ENDPOINT_URL, the profile's s3.endpoint_url, its endpoint_url,
 * else NULL for AWS itself.  The URL must be http:// or https:// and a
 * host, without white space; trailing slashes are dropped.  Returns 0,
 * or -1 (reported).
 */
static int
config_endpoint(struct config *cfg, const struct profile *conf)
{
	const char *v, *from, *host = NULL, *end;
	size_t len;
	int rc = -1;

	if ((v = cfg->opt_endpoint) != NULL && *v != '\0')
		from = "--endpoint-url";
	else if ((v = config_env("AWS_ENDPOINT_URL_S3")) != NULL)
		from = "AWS_ENDPOINT_URL_S3";
	else if ((v = config_env("AWS_ENDPOINT_URL")) != NULL)
		from = "AWS_ENDPOINT_URL";
	else if ((v = config_get(conf, "s3.endpoint_url")) != NULL ||
	    (v = config_get(conf, "endpoint_url")) != NULL)
		from = conf->label;
	else {
		rc = 0;
		goto out;
	}

	if (strncmp(v, "https://", 8) == 0)
		host = v + 8;
	else if (strncmp(v, "http://", 7) == 0)
		host = v + 7;
	if (host == NULL || *host == '\0' || strchr("/?#", *host) != NULL ||
	    (*host == '[' && ((end = strchr(host, ']')) == NULL ||
	    strchr(":/?#", end[1]) == NULL))) {
		warnx("invalid endpoint URL \"%s\" (from %s): expected "
		    "http://HOST or https://HOST", v, from);
		goto out;
	}
	for (len = 0; v[len] != '\0'; len++)
		if (isspace((unsigned char)v[len]) ||
		    iscntrl((unsigned char)v[len])) {
			warnx("invalid endpoint URL \"%s\" (from %s): "
			    "contains white space", v, from);
			goto out;
		}
	/* The host is not empty and starts with no '/', so this stops. */
	while (v[len - 1] == '/')
		len--;
	free(cfg->endpoint);
	cfg->endpoint = xstrndup(v, len);
	rc = 0;
out:
	return rc;
}

/*
 * Whether the host of the validated endpoint "url" is an IP address
 * (v4, or v6 in brackets) or localhost: names under which a bucket
 * sub-domain cannot resolve.
 */
static int
config_host_is_local(const char *url)
{
	struct in6_addr a6;
	struct in_addr a4;
	const char *host, *end, *p;
	char *name, *cut;
	int local;

	host = strstr(url, "://") + 3;
	end = host + strcspn(host, "/?#");
	for (p = host; p < end; p++)
		if (*p == '@')
			host = p + 1;
	name = xstrndup(host, end - host);
	if (name[0] == '[') {
		if ((cut = strchr(name, ']')) != NULL)
			*cut = '\0';
		local = inet_pton(AF_INET6, name + 1, &a6) == 1;
	} else {
		if ((cut = strchr(name, ':')) != NULL)
			*cut = '\0';
		local = inet_pton(AF_INET, name, &a4) == 1 ||
		    strcasecmp(name, "localhost") == 0;
	}
	free(name);
	return local;
}

/*
 * Set cfg->path_style: --path-style; else the profile's
 * s3.addressing_style (path or virtual); else automatic: path-style for
 * an IP or localhost endpoint.  Returns 0, or -1 for an unknown style
 * (reported).
 */
static int
config_path_style(struct config *cfg, const struct profile *conf)
{
	const char *style;

	style = config_get(conf, "s3.addressing_style");
	if (style != NULL && strcmp(style, "auto") != 0 &&
	    strcmp(style, "path") != 0 && strcmp(style, "virtual") != 0) {
		warnx("%s: s3.addressing_style must be auto, path or virtual, "
		    "not \"%s\"", conf->label, style);
		return -1;
	}
	if (cfg->opt_path_style)
		cfg->path_style = 1;
	else if (style != NULL && strcmp(style, "path") == 0)
		cfg->path_style = 1;
	else if (style != NULL && strcmp(style, "virtual") == 0)
		cfg->path_style = 0;
	else
		cfg->path_style = cfg->endpoint != NULL &&
		    config_host_is_local(cfg->endpoint);
	return 0;
}

/*
 * Resolve the profile (--profile, AWS_PROFILE, AWS_DEFAULT_PROFILE,
 * "default"), read it from the credentials file
 * ($AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials) and the config
 * file ($AWS_CONFIG_FILE or ~/.aws/config), then fill cfg->creds,
 * region, endpoint, path_style and ca_bundle from the environment and
 * those files with the precedence of the AWS CLI, all owned by "cfg".
 * A profile named explicitly must exist in one of the files.  Returns 0,
 * or -1 after reporting the problem (missing credentials list every
 * place that was tried).
 */
int
config_load(struct config *cfg)
{
	struct profile files[2];	/* credentials file, config file */
	const char *name, *v;
	char *home;
	int named = 1, rc = -1;

	memset(files, 0, sizeof(files));
	home = config_home();
	if ((name = cfg->profile) == NULL &&
	    (name = config_env("AWS_PROFILE")) == NULL &&
	    (name = config_env("AWS_DEFAULT_PROFILE")) == NULL) {
		name = "default";
		named = 0;
	}

	if (config_profile_read(&files[0], "AWS_SHARED_CREDENTIALS_FILE",
	    home, "credentials", name, 0) == -1 ||
	    config_profile_read(&files[1], "AWS_CONFIG_FILE", home, "config",
	    name, 1) == -1)
		goto out;
	if (named && !files[0].found && !files[1].found) {
		warnx("profile \"%s\" not found in %s or %s", name,
		    files[0].path, files[1].path);
		goto out;
	}
	if (config_creds(cfg, files,
	    cfg->profile != NULL && cfg->profile_explicit) == -1 ||
	    config_region(cfg, &files[1]) == -1 ||
	    config_endpoint(cfg, &files[1]) == -1 ||
	    config_path_style(cfg, &files[1]) == -1)
		goto out;

	if ((v = config_env("AWS_CA_BUNDLE")) != NULL ||
	    (v = config_get(&files[1], "ca_bundle")) != NULL) {
		free(cfg->ca_bundle);
		cfg->ca_bundle = xstrdup(v);
	}
	rc = 0;
out:
	config_profile_free(&files[0]);
	config_profile_free(&files[1]);
	free(home);
	return rc;
}
