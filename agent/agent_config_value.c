/*
 * agent_config_value: one configuration value, on its own: parsing it as
 * its key's type (numbers in range, sizes such as 25M, booleans,
 * enumerations), the checks of string keys (listen addresses, http and
 * queue URLs, folders made absolute), URLs with their password shown as
 * ***, and quoting for YAML. Nothing here knows the key table or where a
 * value came from; a message about a value says only what is wrong with
 * it, and agent_config.c puts the key and source in front. A secret's
 * value is never quoted in a message.
 */
#include "agent_config_int.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../lib/fs.h"
#include "../lib/util.h"

#define CHECK_FN(fn) int fn(const char *val, const char *shown, \
			    char **fixed, struct buf *why)

/* ---- showing values ---- */

/* url with a password (user:PASS@ or password=...) replaced by ***. */
char *acv_redact_url(const char *url)
{
	struct buf b = BUF_INIT;
	const char *auth = strstr(url, "://"), *end, *at, *colon, *p;

	auth = auth ? auth + 3 : url;
	end = auth + strcspn(auth, "/?#");
	at = memrchr(auth, '@', (size_t)(end - auth));
	colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (colon) {
		buf_add(&b, url, (size_t)(colon + 1 - url));
		buf_adds(&b, "***");
		p = at;
	} else {
		p = url;
	}
	for (; *p; p++) {
		bool param = p > url && (p[-1] == '?' || p[-1] == '&');

		if (param && !strncasecmp(p, "password=", 9)) {
			buf_add(&b, p, 9);
			buf_adds(&b, "***");
			p += 9 + strcspn(p + 9, "&#");
			if (!*p)
				break;
		}
		buf_addch(&b, *p);
	}
	return buf_detach(&b, NULL);
}

/* What a message may quote of k's value val: nothing for a secret. */
static char *shown_value(const struct key *k, const char *val)
{
	if (k->flags & F_SECRET)
		return NULL;
	if (k->flags & F_URL)
		return acv_redact_url(val);
	if (strlen(val) > 200)
		return xasprintf("%.200s...", val);
	return xstrdup(val);
}

/* ---- value syntax ---- */

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return true;
	return false;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "1", "on" };
	static const char *const no[] = { "false", "no", "0", "off" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!str_casecmp(s, yes[i]))
			return *out = true, 0;
		if (!str_casecmp(s, no[i]))
			return *out = false, 0;
	}
	return -1;
}

int acv_parse(const struct key *k, const char *raw, union value *v,
	      struct buf *why)
{
	char *shown = shown_value(k, raw);
	const char *const *e;
	long long n;
	long l;
	int ret = -1;

	memset(v, 0, sizeof(*v));
	if (!(k->flags & F_SECRET) && has_control(raw)) {
		buf_adds(why, "contains a control character");
		goto done;
	}
	if (!*raw && (k->type != T_STR || k->def || k->compute)) {
		buf_adds(why, "is empty");
		goto done;
	}
	switch (k->type) {
	case T_STR:
		if (!*raw && !(k->flags & F_REQUIRED))
			break;
		if ((long long)strlen(raw) < k->min) {
			buf_printf(why, "is %zu byte%s; at least %lld are needed",
				   strlen(raw), strlen(raw) == 1 ? "" : "s", k->min);
			goto done;
		}
		if (k->check && k->check(raw, shown, &v->s, why) < 0)
			goto done;
		if (!v->s)
			v->s = xstrdup(raw);
		break;
	case T_INT:
		if ((*raw != '-' && !isdigit((unsigned char)*raw)) ||
		    str_to_long(raw, &l) < 0) {
			buf_printf(why, "'%s' is not a number", shown);
			goto done;
		}
		if (l < k->min || l > k->max) {
			buf_printf(why, "%ld is not between %lld and %lld", l,
				   k->min, k->max);
			goto done;
		}
		v->n = l;
		break;
	case T_BOOL:
		if (parse_bool(raw, &v->b) < 0) {
			buf_printf(why, "'%s' is not true or false (or yes, no, "
				   "1, 0)", shown);
			goto done;
		}
		break;
	case T_ENUM:
		for (e = k->values; *e && str_casecmp(*e, raw); e++)
			;
		if (!*e) {
			buf_printf(why, "'%s' is not one of", shown);
			for (e = k->values; *e; e++)
				buf_printf(why, "%s %s", e == k->values ? "" : ",",
					   *e);
			goto done;
		}
		v->idx = (int)(e - k->values);
		if (k->flags & F_TEXT)
			v->s = xstrdup(*e);
		break;
	case T_SIZE:
		if (str_to_size(raw, &n) < 0) {
			buf_printf(why, "'%s' is not a size (such as 512K, 25M, "
				   "4G or a number of bytes)", shown);
			goto done;
		}
		if (n < k->min || n > k->max) {
			buf_printf(why, "%s is not between %lld and %lld bytes",
				   shown, k->min, k->max);
			goto done;
		}
		v->size = n;
		if (k->flags & F_TEXT)
			v->s = xstrdup(raw);
		break;
	}
	ret = 0;
done:
	free(shown);
	return ret;
}

/* ---- checks of string keys ---- */

CHECK_FN(acv_check_listen)
{
	const char *host = val, *hend, *port;
	long p;

	if (*val == '[') {
		host = val + 1;
		hend = strchr(host, ']');
		if (!hend || hend[1] != ':' || !memchr(host, ':', (size_t)(hend - host)))
			goto bad;
		port = hend + 2;
	} else {
		port = strrchr(val, ':');
		if (!port || memchr(val, ':', (size_t)(port - val))) {
			if (port)
				buf_printf(why, "'%s': write an IPv6 address in "
					   "brackets, as [::1]:8080", shown);
			goto bad;
		}
		hend = port++;
	}
	if (hend == host || strcspn(host, " \t\r\n/@") < (size_t)(hend - host))
		goto bad;
	if (!isdigit((unsigned char)*port) || str_to_long(port, &p) < 0 ||
	    p < 1 || p > 65535) {
		buf_printf(why, "'%s': the port is not a number from 1 to 65535",
			   shown);
		return -1;
	}
	return 0;
bad:
	if (!why->len)
		buf_printf(why, "'%s' is not HOST:PORT (such as 127.0.0.1:8080 "
			   "or [::1]:8080)", shown);
	return -1;
}

/* Whether val starts with prefix and has something after it, with no
 * white space or control characters anywhere. */
static bool url_ok(const char *val, const char *prefix)
{
	return str_starts_with(val, prefix) && val[strlen(prefix)] &&
	       !strchr(val, ' ') && !has_control(val);
}

CHECK_FN(acv_check_http_url)
{
	if (url_ok(val, "http://") || url_ok(val, "https://"))
		return 0;
	buf_printf(why, "'%s' is not an http:// or https:// URL", shown);
	return -1;
}

CHECK_FN(acv_check_queue_url)
{
	if (url_ok(val, "sqlite://") || url_ok(val, "postgres://") ||
	    url_ok(val, "postgresql://"))
		return 0;
	buf_printf(why, "'%s' does not start with sqlite://, postgres:// or "
		   "postgresql://", shown);
	return -1;
}

/* The folder made absolute against the current one (not created), without
 * trailing slashes. */
CHECK_FN(acv_check_abs_dir)
{
	char cwd[4096];
	size_t n;

	if (*val == '/') {
		*fixed = xstrdup(val);
	} else {
		if (!getcwd(cwd, sizeof(cwd))) {
			buf_printf(why, "'%s' is relative and the current folder "
				   "is unknown", shown);
			return -1;
		}
		*fixed = fs_join(cwd, val);
	}
	n = strlen(*fixed);
	while (n > 1 && (*fixed)[n - 1] == '/')
		(*fixed)[--n] = '\0';
	return 0;
}

/* ---- YAML ---- */

/* Whether s can be written as a plain YAML scalar that reads back as the
 * same string. */
static bool plain_ok(const char *s)
{
	static const char *const words[] = {
		"null", "true", "false", "yes", "no", "on", "off", "y", "n",
	};
	const char *p;
	char *end;
	size_t i;

	/* indicators, ".inf", "+1", "0o17", "key:" */
	if (!*s || strchr("-.+~:,@%=*", *s) || str_starts_with(s, "0o") ||
	    s[strlen(s) - 1] == ':')
		return false;
	for (p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._/:@+-=,%*", *p))
			return false;
	/* 1:20 is a number to YAML 1.1 readers */
	if (!s[strspn(s, "0123456789:")])
		return false;
	for (i = 0; i < ARRAY_SIZE(words); i++)
		if (!str_casecmp(s, words[i]))
			return false;
	(void)strtod(s, &end);
	return *end != '\0';
}

/* Non-secret values have no control characters (acv_parse refuses
 * them), so single quotes can hold any of them. */
void acv_print_string(FILE *f, const char *s)
{
	if (plain_ok(s)) {
		fputs(s, f);
		return;
	}
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', f);
		fputc(*s, f);
	}
	fputc('\'', f);
}
