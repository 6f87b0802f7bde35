/*
 * forge_status: post a run's commit status to GitHub or Gitea (agent.h).
 *
 * Threat model: the git token is sent with every status, and the URL it
 * goes to comes partly from the webhook payload. So the URL's host must be
 * the clone URL's host, "api." + that host, or the host of the configured
 * status.api_url; anything else is refused before a connection is made.
 * Only http:// and https://, TLS always verified, no redirects followed.
 * The token lives in the curl header list only (never argv, logs or error
 * messages) and is wiped after the call; the forge's answer is capped and
 * masked before it is quoted.
 */
#include "agent.h"
#include "../lib/buf.h"
#include "../lib/jsonx.h"
#include "../lib/mask.h"
#include "../lib/util.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DESC_MAX_CHARS 140	/* GitHub's limit */
#define ANSWER_MAX (64 << 10)	/* kept of the forge's answer */
#define MESSAGE_MAX 200		/* bytes of its "message" quoted */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Write text as one line (masked) to fd; fd < 0: nothing. */
static void log_line(struct agent *ag, int fd, const char *text)
{
	char *m;
	struct buf b = BUF_INIT;
	size_t off = 0;

	if (fd < 0)
		return;
	m = mask_str(ag->mask, text);
	buf_printf(&b, "%s\n", m);
	while (off < b.len) {
		ssize_t w = write(fd, b.ptr + off, b.len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	free(m);
	buf_release(&b);
}

static bool segment_ok(const char *s, size_t n)
{
	if (!n || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '.' && s[i] != '-' && s[i] != '_' &&
		    !(s[i] >= '0' && s[i] <= '9') && !(s[i] >= 'a' && s[i] <= 'z') &&
		    !(s[i] >= 'A' && s[i] <= 'Z'))
			return false;
	return true;
}

/* owner/name of safe characters, so it cannot change the URL's path. */
static bool repo_ok(const char *repo)
{
	const char *slash = repo ? strchr(repo, '/') : NULL;

	return slash && segment_ok(repo, (size_t)(slash - repo)) &&
	       segment_ok(slash + 1, strlen(slash + 1));
}

static bool sha_ok(const char *sha)
{
	size_t n = strspn(sha, "0123456789abcdefABCDEF");

	return !sha[n] && n >= 7 && n <= 64;
}

/* The host of an http(s) URL, lower case (caller frees), or NULL; *web
 * (may be NULL) tells whether the scheme is http or https. */
static char *url_host(const char *url, bool *web)
{
	CURLU *u = curl_url();
	char *h = NULL, *s = NULL, *out = NULL;

	if (url && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &s, 0) == CURLUE_OK) {
		out = xstrdup(h);
		for (char *p = out; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	}
	if (web)
		*web = s && (!strcmp(s, "http") || !strcmp(s, "https"));
	curl_free(h);
	curl_free(s);
	curl_url_cleanup(u);
	return out;
}

/* The status URL for r (caller frees), or NULL when it cannot be made:
 * BASE/repos/R/statuses/SHA under the configured API URL; else GitHub's
 * repository.statuses_url, and for Gitea scheme://host[:port] of its
 * repository.html_url + /api/v1/repos/R/statuses/SHA. */
static char *status_url(const struct queue_run *r, bool github,
			const char *api_url)
{
	json_t *p;
	const char *s, *at;
	char *out = NULL;
	size_t n;

	if (api_url) {
		n = strlen(api_url);
		while (n && api_url[n - 1] == '/')
			n--;
		return xasprintf("%.*s/repos/%s/statuses/%s", (int)n, api_url,
				 r->repo, r->sha);
	}
	p = r->payload ? json_loads(r->payload, 0, NULL) : NULL;
	s = jsonx_str(json_object_get(p, "repository"),
		      github ? "statuses_url" : "html_url");
	if (s && github) {
		at = strstr(s, "{sha}");
		out = at ? xasprintf("%.*s%s%s", (int)(at - s), s, r->sha, at + 5)
			 : xstrdup(s);
	} else if (s && (at = strstr(s, "://"))) {
		n = (size_t)(at + 3 - s) + strcspn(at + 3, "/?#");
		out = xasprintf("%.*s/api/v1/repos/%s/statuses/%s", (int)n, s,
				r->repo, r->sha);
	}
	json_decref(p);
	return out;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t n = size * nmemb, room = ANSWER_MAX - b->len;

	buf_add(b, data, n < room ? n : room);	/* the rest is dropped */
	return n;
}

/* The first MESSAGE_MAX bytes of the answer's "message", one line, whole
 * UTF-8 characters; caller frees; NULL when there is none. */
static char *answer_message(const struct buf *ans)
{
	json_t *j = json_loadb(ans->ptr, ans->len, 0, NULL);
	const char *m = jsonx_str(j, "message");
	char *out = NULL;

	if (m && *m) {
		size_t n = strlen(m);

		if (n > MESSAGE_MAX) {
			n = MESSAGE_MAX;
			while (n && ((unsigned char)m[n] & 0xC0) == 0x80)
				n--;
		}
		out = xstrndup(m, n);
		for (char *p = out; *p; p++)
			if ((unsigned char)*p < 0x20)
				*p = ' ';
	}
	json_decref(j);
	return out;
}

/* Transport failures worth one more try. */
static bool retryable(CURLcode cc)
{
	return cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
	       cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_SEND_ERROR ||
	       cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING;
}

/* Whether the token may go to host: the clone URL's host, "api." + it,
 * or the configured API URL's host. */
static bool host_allowed(const char *host, const char *clone_url,
			 const char *api_url)
{
	char *clone = url_host(clone_url, NULL), *api = url_host(api_url, NULL);
	bool ok = (clone && (!strcmp(host, clone) ||
			     (str_starts_with(host, "api.") &&
			      !strcmp(host + 4, clone)))) ||
		  (api && !strcmp(host, api));

	free(clone);
	free(api);
	return ok;
}

/* {"state", "target_url", "description", "context"} as text; caller frees. */
static char *status_body(const char *state, const char *description,
			 const char *public_url, long long id,
			 const char *context)
{
	json_t *body = json_object();
	char *text;

	json_object_set_new(body, "state", json_string(state ? state : "error"));
	if (public_url) {
		int n = (int)strlen(public_url);

		while (n && public_url[n - 1] == '/')
			n--;
		json_object_set_new(body, "target_url", json_sprintf(
			"%.*s/runs/%lld", n, public_url, id));
	}
	if (description) {
		size_t n = 0, chars = 0;

		for (; description[n]; n++)	/* characters, not bytes */
			if (((unsigned char)description[n] & 0xC0) != 0x80 &&
			    ++chars > DESC_MAX_CHARS)
				break;
		json_object_set_new(body, "description",
				    json_stringn(description, n));
	}
	json_object_set_new(body, "context", json_string(context));
	text = jsonx_dump(body, 0);
	json_decref(body);
	return text;
}

/* POST text to url, once more after 1 s on a connection failure or a
 * 5xx; *status gets the HTTP status (0: none) and ans the answer. */
static CURLcode post(const char *url, struct curl_slist *hl, const char *text,
		     const char *ca, long *status, struct buf *ans,
		     char *errbuf)
{
	CURL *h = curl_easy_init();
	CURLcode cc = CURLE_FAILED_INIT;

	if (!h)
		return cc;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "gantry/" GANTRY_VERSION);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	if (ca)
		curl_easy_setopt(h, CURLOPT_CAINFO, ca);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, ans);
	for (int attempt = 0; attempt < 2; attempt++) {
		if (attempt)
			sleep(1);
		buf_reset(ans);
		errbuf[0] = '\0';
		*status = 0;
		cc = curl_easy_perform(h);
		if (cc == CURLE_OK)
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
		if (cc == CURLE_OK ? *status < 500 : !retryable(cc))
			break;
	}
	curl_easy_cleanup(h);
	return cc;
}

int forge_status_post(struct agent *ag, const struct queue_run *r,
		      const char *state, const char *description, int log_fd,
		      struct err *e)
{
	char *token = NULL, *api_url = NULL, *context, *public_url, *ca;
	char *url = NULL, *host = NULL, *text = NULL, *msg = NULL, *m;
	char errbuf[CURL_ERROR_SIZE] = "", sha7[8];
	struct buf hdr = BUF_INIT, ans = BUF_INIT, line = BUF_INIT;
	struct curl_slist *hl = NULL;
	struct mask *tm = NULL;
	bool github, enabled, web = false;
	long status = 0;
	CURLcode cc;
	int rc = 0;

	if (!r || !r->sha || !r->forge)
		return 0;
	pthread_rwlock_rdlock(&ag->cfg_lock);
	enabled = ag->cfg.status && ag->cfg.git_token;
	if (enabled)
		token = xstrdup(ag->cfg.git_token);
	if (ag->cfg.status_api_url)
		api_url = xstrdup(ag->cfg.status_api_url);
	context = xstrdup(ag->cfg.status_context ? ag->cfg.status_context : "gantry");
	public_url = ag->cfg.public_url ? xstrdup(ag->cfg.public_url) : NULL;
	ca = ag->cfg.git_ca_bundle ? xstrdup(ag->cfg.git_ca_bundle) : NULL;
	pthread_rwlock_unlock(&ag->cfg_lock);

	github = !strcmp(r->forge, "github");
	if (!enabled || (!github && strcmp(r->forge, "gitea"))) {
		if (enabled && !strcmp(r->forge, "gitlab"))
			log_line(ag, log_fd, "commit status: GitLab is not "
				 "supported; skipped");
		goto done;
	}
	snprintf(sha7, sizeof(sha7), "%s", r->sha);
	if (!repo_ok(r->repo) || !sha_ok(r->sha))
		rc = err_set(e, ERR_INVALID, "commit status: not sent: '%s' is "
			     "not a repository name or '%s' not a commit",
			     r->repo ? r->repo : "", r->sha);
	else if (!(url = status_url(r, github, api_url)) ||
		 !(host = url_host(url, &web)))
		rc = err_set(e, ERR_INVALID, "commit status for %s@%s: not sent: "
			     "no status URL (the payload has no repository.%s); "
			     "set STATUS__API_URL", r->repo, sha7,
			     github ? "statuses_url" : "html_url");
	else if (!web)
		rc = err_set(e, ERR_INVALID, "commit status: not sent: the "
			     "status URL is not http:// or https://");
	else if (!host_allowed(host, r->clone_url, api_url))
		rc = err_set(e, ERR_INVALID, "commit status: not sent: %s is "
			     "not the repository's host", host);
	if (rc < 0) {
		log_line(ag, log_fd, e->msg);
		goto done;
	}

	/* the token goes into the header list only, and is wiped after */
	buf_printf(&hdr, "Authorization: %s %s", github ? "Bearer" : "token",
		   token);
	hl = curl_slist_append(hl, hdr.ptr);
	explicit_bzero(hdr.ptr, hdr.len);
	hl = curl_slist_append(hl, github ? "Accept: application/vnd.github+json"
				  : "Accept: application/json");
	if (github)
		hl = curl_slist_append(hl, "X-GitHub-Api-Version: 2022-11-28");
	hl = curl_slist_append(hl, "Content-Type: application/json");
	hl = curl_slist_append(hl, "Expect:");
	text = status_body(state, description, public_url, r->id, context);
	pthread_once(&curl_once, curl_init);
	cc = hl && text ? post(url, hl, text, ca, &status, &ans, errbuf)
		       : CURLE_FAILED_INIT;

	/* the forge may quote what it was sent: hide the token there too */
	mask_new(&tm);
	mask_add(tm, token);
	if (cc != CURLE_OK) {
		m = mask_str(tm, *errbuf ? errbuf : curl_easy_strerror(cc));
		rc = err_set(e, cc == CURLE_OPERATION_TIMEDOUT ? ERR_TIMEOUT :
			     ERR_REMOTE, "commit status for %s@%s: cannot reach "
			     "%s: %s", r->repo, sha7, host, m);
		free(m);
	} else if (status < 200 || status > 299) {
		msg = answer_message(&ans);
		m = msg ? mask_str(tm, msg) : NULL;
		rc = err_set(e, ERR_REMOTE, "commit status for %s@%s: HTTP %ld%s%s%s",
			     r->repo, sha7, status, m ? ": " : "", m ? m : "",
			     status == 401 || status == 403 || status == 404 ?
			     " (check that git.token may write commit statuses "
			     "to the repository)" : "");
		free(m);
	}
	if (rc < 0) {
		log_line(ag, log_fd, e->msg);
	} else {
		buf_printf(&line, "commit status: %s posted to %s",
			   state ? state : "error", host);
		log_line(ag, log_fd, line.ptr);
	}

done:
	for (struct curl_slist *s = hl; s; s = s->next)
		explicit_bzero(s->data, strlen(s->data));
	curl_slist_free_all(hl);
	if (token)
		explicit_bzero(token, strlen(token));
	free(token);
	free(api_url);
	free(context);
	free(public_url);
	free(ca);
	mask_free(tm);
	free(text);
	free(url);
	free(host);
	free(msg);
	buf_release(&hdr);
	buf_release(&ans);
	buf_release(&line);
	return rc;
}
