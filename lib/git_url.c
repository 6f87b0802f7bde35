/*
 * git_url: reading remote URLs, as lib/git.c's credential decisions and
 * the agent's clone URL checks need them (lib/git.h). No libgit2 here, so
 * that the agent (gantry-agent) links without it.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "git.h"
#include "git_int.h"
#include "util.h"

/* url := scheme "://" [userinfo "@"] host [":" port] ["/" path]
 *      | [user "@"] host ":" path		(scp form, ssh)
 *      | "/" path | "." path			(a local folder) */
int gitx_url_parse(struct gitx_url *out, const char *url, struct err *e)
{
	const char *sep = strstr(url, "://");
	const char *auth, *auth_end, *at, *hp, *colon;

	memset(out, 0, sizeof(*out));
	if (!*url)
		return err_set(e, ERR_INVALID, "empty repository URL");
	if (!sep) {
		colon = strchr(url, ':');
		if (url[0] == '/' || url[0] == '.' || !colon ||
		    (strchr(url, '/') && strchr(url, '/') < colon)) {
			out->scheme = xstrdup("file");
			out->host = xstrdup("");
			out->path = xstrdup(url + (url[0] == '/'));
			return 0;
		}
		at = memchr(url, '@', (size_t)(colon - url));
		out->scheme = xstrdup("ssh");
		out->user = at ? xstrndup(url, (size_t)(at - url)) : NULL;
		hp = at ? at + 1 : url;
		out->host = xstrndup(hp, (size_t)(colon - hp));
		out->path = xstrdup(colon + 1 + (colon[1] == '/'));
		return 0;
	}
	out->scheme = xstrndup(url, (size_t)(sep - url));
	auth = sep + 3;
	/* as libgit2 reads it: "https://evil.example?@github.com/x" is
	 * evil.example's */
	auth_end = auth + strcspn(auth, "/?#");
	at = NULL;
	for (const char *p = auth; p < auth_end; p++)
		if (*p == '@')
			at = p;
	if (at) {
		colon = memchr(auth, ':', (size_t)(at - auth));
		out->user = xstrndup(auth, (size_t)((colon ? colon : at) - auth));
	}
	hp = at ? at + 1 : auth;
	if (*hp == '[') {
		const char *rb = memchr(hp, ']', (size_t)(auth_end - hp));

		if (!rb)
			goto bad;
		out->host = xstrndup(hp + 1, (size_t)(rb - hp - 1));
		colon = rb + 1 < auth_end && rb[1] == ':' ? rb + 1 : NULL;
	} else {
		colon = memchr(hp, ':', (size_t)(auth_end - hp));
		out->host = xstrndup(hp, (size_t)((colon ? colon : auth_end) - hp));
	}
	if (colon && colon + 1 < auth_end) {
		char *ps = xstrndup(colon + 1, (size_t)(auth_end - colon - 1));
		long port;
		int bad_port = str_to_long(ps, &port) < 0 || port <= 0 ||
			       port > 65535;

		free(ps);
		if (bad_port)
			goto bad;
		out->port = (int)port;
	}
	out->path = xstrdup(*auth_end ? auth_end + 1 : "");
	return 0;
bad:
	gitx_url_release(out);
	{
		char *r = gitx_redact(url);

		err_set(e, ERR_INVALID, "'%s' is not a repository URL", r);
		free(r);
	}
	return -1;
}

void gitx_url_release(struct gitx_url *u)
{
	free(u->scheme);
	free(u->user);
	free(u->host);
	free(u->path);
	memset(u, 0, sizeof(*u));
}

bool gitx_same_origin(const char *a, const char *b)
{
	struct gitx_url ua, ub;
	struct err e = ERR_INIT;
	bool same;

	if (gitx_url_parse(&ua, a, &e) < 0)
		return false;
	if (gitx_url_parse(&ub, b, &e) < 0) {
		gitx_url_release(&ua);
		return false;
	}
	same = !strcmp(ua.scheme, ub.scheme) && !str_casecmp(ua.host, ub.host) &&
	       ua.port == ub.port;
	gitx_url_release(&ua);
	gitx_url_release(&ub);
	return same;
}

void gitx_creds_for(struct gitx_creds *out, const struct gitx_creds *c,
		    const char *from_url, const char *url)
{
	if (!c) {
		memset(out, 0, sizeof(*out));
		return;
	}
	*out = *c;
	if (gitx_same_origin(from_url, url))
		return;
	/* an SSH key stays: public-key authentication proves the key without
	 * handing it over, and actions/checkout uses it for every SSH host */
	out->token = NULL;
	out->username = NULL;
	out->password = NULL;
}

char *gitx_redact(const char *s)
{
	struct buf b = BUF_INIT;
	const char *p = s;

	for (;;) {
		const char *sep = strstr(p, "://");
		const char *auth, *end, *at = NULL;

		if (!sep) {
			buf_adds(&b, p);
			break;
		}
		auth = sep + 3;
		buf_add(&b, p, (size_t)(auth - p));
		end = auth + strcspn(auth, "/ \t\r\n'\"<>");
		for (const char *q = auth; q < end; q++)
			if (*q == '@')
				at = q;
		p = at ? at + 1 : auth;
	}
	return buf_detach(&b, NULL);
}

bool gitx_token_url_ok(const char *url)
{
	return str_starts_with(url, "https://") ||
	       str_starts_with(url, "http://127.0.0.1:") ||
	       str_starts_with(url, "http://127.0.0.1/") ||
	       str_starts_with(url, "http://localhost:") ||
	       str_starts_with(url, "http://localhost/") ||
	       str_starts_with(url, "http://[::1]:");
}
