/*
 * config.c - the client configuration file (key = value lines).
 *
 * The file holds an API key, so it is written 0600 in a 0700 directory and
 * a file that others could read or write is refused on load (like ssh does
 * with ~/.ssh/config). Parsing is strict: an unknown key or a line that is
 * not "key = value" fails the whole load rather than being skipped, so a
 * typo never silently drops a setting. Nothing here prints.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "err.h"
#include "sn_assert.h"
#include "util.h"

#define LINE_MAX_LEN	4096

static void
why_set(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
why_set(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

void
sn_config_clear(struct sn_client_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->url);
	sn_strfreezero(cfg->api_key);
	free(cfg->ca_file);
	free(cfg->sa_name);
	free(cfg->sa_key_file);
	free(cfg->sa_id);
	free(cfg->log_file);
	free(cfg->oidc_token_file);
	free(cfg->oidc_token_env);
	free(cfg->oidc_github);
	free(cfg->oidc_audience);
	free(cfg->oidc_ca_file);
	free(cfg->require_inclusion_proof);
	free(cfg->log_key);
	free(cfg->approval_wait);
	free(cfg->listing_cache_ttl);
	free(cfg->listing_cache);
	memset(cfg, 0, sizeof(*cfg));
}

static int
set_str(char **dst, const char *v, int secret)
{
	char *n;

	if ((n = strdup(v)) == NULL)
		return SN_ERR_NOMEM;
	if (secret)
		sn_strfreezero(*dst);
	else
		free(*dst);
	*dst = n;
	return 0;
}

static int
dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL)
		return 0;
	return (*dst = strdup(src)) == NULL ? SN_ERR_NOMEM : 0;
}

int
sn_config_copy(const struct sn_client_config *src, struct sn_client_config *dst)
{
	int r;

	memset(dst, 0, sizeof(*dst));
	if ((r = dup_opt(&dst->url, src->url)) != 0 ||
	    (r = dup_opt(&dst->api_key, src->api_key)) != 0 ||
	    (r = dup_opt(&dst->ca_file, src->ca_file)) != 0 ||
	    (r = dup_opt(&dst->sa_name, src->sa_name)) != 0 ||
	    (r = dup_opt(&dst->sa_key_file, src->sa_key_file)) != 0 ||
	    (r = dup_opt(&dst->sa_id, src->sa_id)) != 0 ||
	    (r = dup_opt(&dst->log_file, src->log_file)) != 0 ||
	    (r = dup_opt(&dst->oidc_token_file, src->oidc_token_file)) != 0 ||
	    (r = dup_opt(&dst->oidc_token_env, src->oidc_token_env)) != 0 ||
	    (r = dup_opt(&dst->oidc_github, src->oidc_github)) != 0 ||
	    (r = dup_opt(&dst->oidc_audience, src->oidc_audience)) != 0 ||
	    (r = dup_opt(&dst->oidc_ca_file, src->oidc_ca_file)) != 0 ||
	    (r = dup_opt(&dst->require_inclusion_proof,
	    src->require_inclusion_proof)) != 0 ||
	    (r = dup_opt(&dst->log_key, src->log_key)) != 0 ||
	    (r = dup_opt(&dst->approval_wait, src->approval_wait)) != 0 ||
	    (r = dup_opt(&dst->listing_cache_ttl,
	    src->listing_cache_ttl)) != 0 ||
	    (r = dup_opt(&dst->listing_cache, src->listing_cache)) != 0) {
		sn_config_clear(dst);
		return r;
	}
	return 0;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static char **
field_for(struct sn_client_config *cfg, const char *key, int *secret)
{
	*secret = 0;
	if (strcmp(key, "url") == 0)
		return &cfg->url;
	if (strcmp(key, "api_key") == 0) {
		*secret = 1;
		return &cfg->api_key;
	}
	if (strcmp(key, "ca_file") == 0)
		return &cfg->ca_file;
	if (strcmp(key, "service_account") == 0)
		return &cfg->sa_name;
	if (strcmp(key, "service_account_id") == 0)
		return &cfg->sa_id;
	if (strcmp(key, "key_file") == 0)
		return &cfg->sa_key_file;
	if (strcmp(key, "log_file") == 0)
		return &cfg->log_file;
	if (strcmp(key, "oidc_token_file") == 0)
		return &cfg->oidc_token_file;
	if (strcmp(key, "oidc_token_env") == 0)
		return &cfg->oidc_token_env;
	if (strcmp(key, "oidc_github") == 0)
		return &cfg->oidc_github;
	if (strcmp(key, "oidc_audience") == 0)
		return &cfg->oidc_audience;
	if (strcmp(key, "oidc_ca_file") == 0)
		return &cfg->oidc_ca_file;
	if (strcmp(key, "require_inclusion_proof") == 0)
		return &cfg->require_inclusion_proof;
	if (strcmp(key, "log_key") == 0)
		return &cfg->log_key;
	if (strcmp(key, "approval_wait") == 0)
		return &cfg->approval_wait;
	if (strcmp(key, "listing_cache_ttl") == 0)
		return &cfg->listing_cache_ttl;
	if (strcmp(key, "listing_cache") == 0)
		return &cfg->listing_cache;
	return NULL;
}

int
sn_config_parse(const char *text, struct sn_client_config *cfg, char *why,
    size_t whylen)
{
	char line[LINE_MAX_LEN];
	const char *p = text, *nl;
	size_t len;
	int lineno = 0, secret, r;
	char *l, *eq, *key, *val, **dst;

	while (*p != '\0') {
		lineno++;
		nl = strchr(p, '\n');
		len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if (len >= sizeof(line)) {
			why_set(why, whylen, "line %d: too long", lineno);
			r = SN_ERR_INVALID;
			goto out;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl != NULL ? nl + 1 : p + len;
		if (memchr(line, '\0', len) != NULL) {
			why_set(why, whylen, "line %d: NUL byte", lineno);
			r = SN_ERR_INVALID;
			goto out;
		}
		l = trim(line);
		if (*l == '\0' || *l == '#')
			continue;
		if ((eq = strchr(l, '=')) == NULL) {
			why_set(why, whylen, "line %d: expected key = value",
			    lineno);
			r = SN_ERR_INVALID;
			goto out;
		}
		*eq = '\0';
		key = trim(l);
		val = trim(eq + 1);
		if (*key == '\0' || *val == '\0') {
			why_set(why, whylen, "line %d: expected key = value",
			    lineno);
			r = SN_ERR_INVALID;
			goto out;
		}
		if ((dst = field_for(cfg, key, &secret)) == NULL) {
			why_set(why, whylen, "line %d: unknown key \"%.64s\"",
			    lineno, key);
			r = SN_ERR_INVALID;
			goto out;
		}
		if (dst == &cfg->require_inclusion_proof &&
		    strcmp(val, "yes") != 0 && strcmp(val, "no") != 0) {
			why_set(why, whylen, "line %d: require_inclusion_proof "
			    "must be yes or no", lineno);
			r = SN_ERR_INVALID;
			goto out;
		}
		if (dst == &cfg->listing_cache &&
		    strcmp(val, "on") != 0 && strcmp(val, "off") != 0) {
			why_set(why, whylen, "line %d: listing_cache must be "
			    "on or off", lineno);
			r = SN_ERR_INVALID;
			goto out;
		}
		if (dst == &cfg->approval_wait) {
			int64_t secs = 0;

			if (strcmp(val, "0") != 0 &&
			    (sn_parse_duration(val, &secs) != 0 || secs < 0 ||
			    secs > 7 * 86400)) {
				why_set(why, whylen, "line %d: approval_wait must "
				    "be a duration up to 7d (0, 90s, 10m)", lineno);
				r = SN_ERR_INVALID;
				goto out;
			}
		}
		if (dst == &cfg->listing_cache_ttl) {
			int64_t secs = 0;

			if (strcmp(val, "0") != 0 &&
			    (sn_parse_duration(val, &secs) != 0 || secs < 0 ||
			    secs > 3600)) {
				why_set(why, whylen, "line %d: listing_cache_ttl "
				    "must be a duration up to 1h (0, 30s, 5m)",
				    lineno);
				r = SN_ERR_INVALID;
				goto out;
			}
		}
		if ((r = set_str(dst, val, secret)) != 0)
			goto out;
	}
	r = 0;
 out:
	explicit_bzero(line, sizeof(line));
	return r;
}

int
sn_config_path(char *buf, size_t len)
{
	const char *e, *home;
	int n;

	if ((e = getenv("SIGNET_CONFIG")) != NULL && *e != '\0')
		n = snprintf(buf, len, "%s", e);
	else {
		if ((home = getenv("HOME")) == NULL || *home == '\0')
			return SN_ERR_INVALID;
		n = snprintf(buf, len, "%s/.config/signet/config", home);
	}
	if (n < 0 || (size_t)n >= len)
		return SN_ERR_TOO_LARGE;
	return 0;
}

int
sn_config_load_file(const char *path, struct sn_client_config *cfg,
    char *why, size_t whylen)
{
	struct stat st;
	char *text = NULL;
	size_t tlen = 0;
	int r;

	if (stat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		why_set(why, whylen, "%s: %s", path, strerror(errno));
		return SN_ERR_IO;
	}
	if (!S_ISREG(st.st_mode)) {
		why_set(why, whylen, "%s: not a regular file", path);
		return SN_ERR_INVALID;
	}
	if (st.st_uid != geteuid()) {
		why_set(why, whylen, "%s: not owned by the current user", path);
		return SN_ERR_INVALID;
	}
	if ((st.st_mode & 077) != 0) {
		why_set(why, whylen, "%s: permissions %03o are too open "
		    "(it holds secrets; chmod 600 it)", path,
		    (unsigned)(st.st_mode & 0777));
		return SN_ERR_INVALID;
	}
	if ((r = sn_read_file(path, SN_CONFIG_MAX, &text, &tlen)) != 0) {
		why_set(why, whylen, "%s: %s", path, sn_strerror(r));
		return r;
	}
	if (strlen(text) != tlen) {
		why_set(why, whylen, "%s: NUL byte in file", path);
		r = SN_ERR_INVALID;
		goto out;
	}
	if ((r = sn_config_parse(text, cfg, why, whylen)) != 0 &&
	    why != NULL && whylen > 0) {
		char tmp[256];

		snprintf(tmp, sizeof(tmp), "%s", why);
		why_set(why, whylen, "%s: %s", path, tmp);
	}
 out:
	sn_freezero(text, tlen);
	return r;
}

int
sn_config_load_why(struct sn_client_config *cfg, char *why, size_t whylen)
{
	char path[PATH_MAX];
	const char *e;
	int r;

	memset(cfg, 0, sizeof(*cfg));
	if ((r = sn_config_path(path, sizeof(path))) != 0) {
		why_set(why, whylen, "cannot find the config path (HOME unset)");
		return SN_ERR_IO;
	}
	if ((r = sn_config_load_file(path, cfg, why, whylen)) != 0)
		goto out;
	if ((e = getenv("SIGNET_URL")) != NULL && *e != '\0' &&
	    (r = set_str(&cfg->url, e, 0)) != 0)
		goto out;
	if ((e = getenv("SIGNET_API_KEY")) != NULL && *e != '\0') {
		if ((r = set_str(&cfg->api_key, e, 1)) != 0)
			goto out;
		/* An explicit API key wins over a stored service account. */
		free(cfg->sa_name);
		free(cfg->sa_key_file);
		free(cfg->sa_id);
		cfg->sa_name = cfg->sa_key_file = cfg->sa_id = NULL;
		free(cfg->oidc_token_file);
		free(cfg->oidc_token_env);
		free(cfg->oidc_github);
		cfg->oidc_token_file = cfg->oidc_token_env = NULL;
		cfg->oidc_github = NULL;
	}
	if ((e = getenv("SIGNET_CA_FILE")) != NULL && *e != '\0' &&
	    (r = set_str(&cfg->ca_file, e, 0)) != 0)
		goto out;
	r = 0;
 out:
	if (r != 0)
		sn_config_clear(cfg);
	return r;
}

int
sn_config_load(struct sn_client_config *cfg)
{
	return sn_config_load_why(cfg, NULL, 0);
}

static int
valid_value(const char *v)
{
	/* Values are single-line and must survive the trim on reload. */
	if (v == NULL)
		return 1;
	if (strpbrk(v, "\r\n") != NULL || *v == ' ' || *v == '\t')
		return 0;
	return *v == '\0' || (v[strlen(v) - 1] != ' ' && v[strlen(v) - 1] != '\t');
}

int
sn_config_format(const struct sn_client_config *cfg, char **out)
{
	static const char *names[] = { "url", "api_key", "ca_file",
	    "service_account", "service_account_id", "key_file", "log_file",
	    "oidc_token_file", "oidc_token_env", "oidc_github", "oidc_audience",
	    "oidc_ca_file", "require_inclusion_proof", "log_key",
	    "approval_wait", "listing_cache_ttl", "listing_cache" };
	const char *vals[17];
	char *buf = NULL;
	size_t cap = 256, used = 0;
	int i, n;

	*out = NULL;
	vals[0] = cfg->url;
	vals[1] = cfg->api_key;
	vals[2] = cfg->ca_file;
	vals[3] = cfg->sa_name;
	vals[4] = cfg->sa_id;
	vals[5] = cfg->sa_key_file;
	vals[6] = cfg->log_file;
	vals[7] = cfg->oidc_token_file;
	vals[8] = cfg->oidc_token_env;
	vals[9] = cfg->oidc_github;
	vals[10] = cfg->oidc_audience;
	vals[11] = cfg->oidc_ca_file;
	vals[12] = cfg->require_inclusion_proof;
	vals[13] = cfg->log_key;
	vals[14] = cfg->approval_wait;
	vals[15] = cfg->listing_cache_ttl;
	vals[16] = cfg->listing_cache;
	for (i = 0; i < 17; i++) {
		if (!valid_value(vals[i]))
			return SN_ERR_INVALID;
		if (vals[i] != NULL) {
			if (strlen(vals[i]) > LINE_MAX_LEN - 64)
				return SN_ERR_TOO_LARGE;
			cap += strlen(names[i]) + strlen(vals[i]) + 8;
		}
	}
	if ((buf = malloc(cap)) == NULL)
		return SN_ERR_NOMEM;
	n = snprintf(buf, cap, "# signet client configuration "
	    "(written by signet login; keep it 0600)\n");
	used = (size_t)n;
	for (i = 0; i < 17; i++) {
		if (vals[i] == NULL || *vals[i] == '\0')
			continue;
		n = snprintf(buf + used, cap - used, "%s = %s\n", names[i],
		    vals[i]);
		/* cap was summed from these very strings above */
		if (SN_NEVER(n < 0 || (size_t)n >= cap - used)) {
			sn_freezero(buf, cap);
			return SN_ERR_INTERNAL;
		}
		used += (size_t)n;
	}
	*out = buf;
	return 0;
}

static int
mkdirs(const char *dir)
{
	char tmp[PATH_MAX];
	char *p;
	int n;

	n = snprintf(tmp, sizeof(tmp), "%s", dir);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return SN_ERR_TOO_LARGE;
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
			return SN_ERR_IO;
		*p = '/';
	}
	if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
		return SN_ERR_IO;
	return 0;
}

int
sn_config_save_path(const struct sn_client_config *cfg, const char *path)
{
	char dir[PATH_MAX];
	char *text = NULL, *slash;
	int n, r;

	n = snprintf(dir, sizeof(dir), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return SN_ERR_TOO_LARGE;
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if ((r = mkdirs(dir)) != 0)
			return r;
	}
	if ((r = sn_config_format(cfg, &text)) != 0)
		return r;
	r = sn_write_file(path, text, strlen(text), 0600);
	sn_strfreezero(text);
	return r;
}

int
sn_config_save(const struct sn_client_config *cfg)
{
	char path[PATH_MAX];
	int r;

	if ((r = sn_config_path(path, sizeof(path))) != 0)
		return r;
	return sn_config_save_path(cfg, path);
}
