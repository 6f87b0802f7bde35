/*
 * webhook_check: checks of single values taken from a delivery (refs by
 * git's rules, repository names, URLs, delivery IDs, names), their
 * quoting in messages (printable ASCII, never cut), and the field error.
 */
#include "webhook_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../lib/util.h"

/* s in single quotes, with anything not printable ASCII (and the
 * backslash) as \xNN, into out; only its length when it is longer than
 * QUOTE_MAX, so that no value is cut (in the middle of a secret, which the
 * scrub in webhook_parse would then not recognize). */
const char *wh_quote(char out[QUOTE_BUF], const char *s)
{
	size_t o = 0, n = strlen(s);

	if (n > QUOTE_MAX) {
		snprintf(out, QUOTE_BUF, "(%zu characters)", n);
		return out;
	}
	out[o++] = '\'';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c > 0x7e || c == '\\')
			o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o++] = '\'';
	out[o] = '\0';
	return out;
}

/* Exactly 64 (or 40) hex digits: copied lowercased into out. */
bool wh_hex_lower(char *out, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!s[i] || !strchr("0123456789abcdefABCDEF", s[i]))
			return false;
		out[i] = (char)tolower((unsigned char)s[i]);
	}
	out[n] = '\0';
	return s[n] == '\0';
}

bool wh_has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* delivery-id = 1*128( ALPHA / DIGIT / "." / "_" / "-" ) */
bool wh_delivery_ok(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (n >= MAX_DELIVERY ||
		    !((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
		      (s[n] >= '0' && s[n] <= '9') || strchr("._-", s[n])))
			return false;
	return n > 0;
}

/* event = 1*64( printable ASCII ), as "push" or "Tag Push Hook" */
bool wh_event_ok(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (n >= MAX_EVENT || s[n] < 0x20 || s[n] > 0x7e)
			return false;
	return n > 0;
}

/* A ref as git check-ref-format allows it, under refs/heads/ or
 * refs/tags/; NULL when fine, else what is wrong. */
const char *wh_ref_problem(const char *r)
{
	size_t n = strlen(r);
	const char *p;

	if (!str_starts_with(r, "refs/heads/") && !str_starts_with(r, "refs/tags/"))
		return "not under refs/heads/ or refs/tags/";
	if (!strcmp(r, "refs/heads/") || !strcmp(r, "refs/tags/"))
		return "no branch or tag name";
	if (n > MAX_REF)
		return "longer than 255 characters";
	if (wh_has_ctl(r))
		return "control character";
	if (strstr(r, "..") || strstr(r, "//") || strstr(r, "/.") ||
	    strstr(r, "@{") || str_ends_with(r, "/") || str_ends_with(r, ".") ||
	    str_ends_with(r, ".lock"))
		return "not a valid git ref name";
	for (p = r; *p; p++)
		if (strchr(" ~^:?*[\\", *p))
			return "not a valid git ref name";
	return NULL;
}

/* repo = name 1*( "/" name ), name = 1*( ALPHA / DIGIT / "." / "_" / "-" ),
 * no "..", one "/" unless groups are allowed (GitLab). */
const char *wh_repo_problem(const char *s, bool groups)
{
	size_t n = strlen(s), slashes = 0;

	if (!n || n > MAX_REPO)
		return "empty or longer than 255 characters";
	for (const char *p = s; *p; p++) {
		if (*p == '/')
			slashes++;
		else if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			   (*p >= '0' && *p <= '9') || strchr("._-", *p)))
			return "characters other than A-Z a-z 0-9 . _ - /";
	}
	if (s[0] == '/' || s[n - 1] == '/' || strstr(s, "//") ||
	    strstr(s, "..") || !strcmp(s, ".") || str_starts_with(s, "./") ||
	    strstr(s, "/./") || str_ends_with(s, "/."))
		return "not owner/name";
	if (slashes == 0 || (!groups && slashes != 1))
		return groups ? "not group/name" : "not owner/name";
	return NULL;
}

/* A URL to fetch (ssh too) or, when web, a web page; no host that ssh
 * could take for an option. */
bool wh_url_ok(const char *s, bool web)
{
	static const char *const schemes[] = { "https://", "http://", "ssh://", "git@" };
	size_t i, nschemes = web ? 2 : ARRAY_SIZE(schemes);

	if (strlen(s) > MAX_URL)
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return false;
	for (i = 0; i < nschemes; i++)
		if (str_starts_with(s, schemes[i]) && s[strlen(schemes[i])] &&
		    s[strlen(schemes[i])] != '-')
			return true;
	return false;
}

/* A login or branch name: short, no control characters, not empty. */
bool wh_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n && n <= MAX_NAME && !wh_has_ctl(s);
}

int wh_field_err(struct err *e, const char *field, const char *fmt, ...)
{
	char what[QUOTE_BUF + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return err_set(e, ERR_INVALID, "webhook payload field '%s': %s", field, what);
}
