/*
 * forge_status_send: `gantry __forge-status`, the child that posts a
 * commit status for the agent (forge_status.h): the only place of it that
 * uses libcurl.
 *
 * Threat model: the git token is sent with every status, and the URL it
 * goes to comes partly from the webhook payload. So the URL's host must be
 * the clone URL's host, "api." + that host, or the host of the configured
 * status.api_url; anything else is refused before a connection is made.
 * Only http:// and https://, never http:// for a repository cloned over
 * https (unless status.api_url is http://), no user name or password in
 * the URL, TLS always verified, no redirects followed.
 * The token comes on stdin (never argv or the environment), lives in the
 * curl header list only (never logs or error messages) and is wiped after
 * the call; the forge's answer is capped and masked before it is quoted.
 */
#include "cli.h"
#include "forge_status.h"
#include "../lib/buf.h"
#include "../lib/crypto.h"
#include "../lib/jsonx.h"
#include "../lib/mask.h"
#include "../lib/util.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define DESC_MAX_CHARS 140	/* GitHub's limit */
#define ANSWER_MAX (64 << 10)	/* kept of the forge's answer */
#define MESSAGE_MAX 200		/* bytes of its "message" quoted */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
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

/* owner/name of safe characters, so it cannot change the URL's path;
 * GitLab's group/subgroup/.../name has two segments or more. */
static bool repo_ok(const char *repo, bool nested)
{
	int segments = 0;

	if (!repo)
		return false;
	for (;;) {
		size_t n = strcspn(repo, "/");

		if (!segment_ok(repo, n))
			return false;
		segments++;
		if (!repo[n])
			break;
		repo += n + 1;
	}
	return nested ? segments >= 2 : segments == 2;
}

static bool sha_ok(const char *sha)
{
	size_t n = strspn(sha, "0123456789abcdefABCDEF");

	return !sha[n] && n >= 7 && n <= 64;
}

/* What the checks need of a URL. */
struct url_info {
	bool web;		/* http or https */
	bool tls;		/* https */
	bool user;		/* it has a user name or password */
};

/* The host of an http(s) URL, lower case (caller frees), or NULL; *info
 * (may be NULL) what else is known of it. */
static char *url_host(const char *url, struct url_info *info)
{
	CURLU *u = curl_url();
	char *h = NULL, *s = NULL, *user = NULL, *pw = NULL, *out = NULL;

	if (url && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &s, 0) == CURLUE_OK) {
		out = xstrdup(h);
		for (char *p = out; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		curl_url_get(u, CURLUPART_USER, &user, 0);
		curl_url_get(u, CURLUPART_PASSWORD, &pw, 0);
	}
	if (info) {
		info->tls = s && !strcmp(s, "https");
		info->web = info->tls || (s && !strcmp(s, "http"));
		info->user = user || pw;
	}
	curl_free(h);
	curl_free(s);
	curl_free(user);
	curl_free(pw);
	curl_url_cleanup(u);
	return out;
}

/* 1 for an http:// URL, 2 for https://, else 0 (NULL included). */
static int url_scheme(const char *url)
{
	struct url_info i = { 0 };

	free(url_host(url, &i));
	return i.tls ? 2 : i.web ? 1 : 0;
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

/* {"state", "target_url", "description", "context"} as text (GitLab names
 * the context "name", and gets "ref"); caller frees. */
static char *status_body(const struct forge_status_req *q)
{
	json_t *body = json_object();
	char *text;

	json_object_set_new(body, "state", json_string(q->state ? q->state :
						      forge_status_state(q->forge, NULL)));
	if (q->target_url)
		json_object_set_new(body, "target_url", json_string(q->target_url));
	if (q->description) {
		const char *d = q->description;
		size_t n = 0, chars = 0;

		for (; d[n]; n++)	/* characters, not bytes */
			if (((unsigned char)d[n] & 0xC0) != 0x80 && ++chars > DESC_MAX_CHARS)
				break;
		json_object_set_new(body, "description", json_stringn(d, n));
	}
	json_object_set_new(body, q->forge == FORGE_GITLAB ? "name" : "context",
			    json_string(q->context));
	if (q->forge == FORGE_GITLAB && q->ref)	/* else GitLab guesses one */
		json_object_set_new(body, "ref", json_string(q->ref));
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
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)FORGE_STATUS_CONNECT_S);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)FORGE_STATUS_ATTEMPT_S);
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

int forge_status_send(const struct forge_status_req *q, struct buf *line,
		      struct err *e)
{
	char *host = NULL, *text = NULL, *msg = NULL, *m;
	char errbuf[CURL_ERROR_SIZE] = "", sha7[8];
	struct buf hdr = BUF_INIT, ans = BUF_INIT;
	struct curl_slist *hl = NULL;
	struct mask *tm = NULL;
	const char *repo = q->repo ? q->repo : "", *sha = q->sha ? q->sha : "";
	struct url_info ui = { 0 };
	long status = 0;
	CURLcode cc;
	int rc = 0;

	snprintf(sha7, sizeof(sha7), "%s", sha);
	if (!repo_ok(repo, q->forge == FORGE_GITLAB) || !sha_ok(sha))
		rc = err_set(e, ERR_INVALID, "commit status: not sent: '%s' is "
			     "not a repository name or '%s' not a commit", repo, sha);
	else if (!q->url || !(host = url_host(q->url, &ui)))
		rc = err_set(e, ERR_INVALID, "commit status for %s@%s: not sent: "
			     "no status URL (the payload has no %s); "
			     "set STATUS__API_URL", repo, sha7,
			     q->forge == FORGE_GITHUB ? "repository.statuses_url" :
			     q->forge == FORGE_GITLAB ? "project.web_url" :
			     "repository.html_url");
	else if (!ui.web)
		rc = err_set(e, ERR_INVALID, "commit status: not sent: the "
			     "status URL is not http:// or https://");
	else if (ui.user)
		rc = err_set(e, ERR_INVALID, "commit status: not sent: the "
			     "status URL has a user name or password");
	else if (!host_allowed(host, q->clone_url, q->api_url))
		rc = err_set(e, ERR_INVALID, "commit status: not sent: %s is "
			     "not the repository's host", host);
	else if (!ui.tls && url_scheme(q->clone_url) == 2 &&
		 url_scheme(q->api_url) != 1)
		rc = err_set(e, ERR_INVALID, "commit status: not sent: the "
			     "repository is cloned over https, the status URL "
			     "is http://");
	if (rc < 0)
		goto done;

	/* the token goes into the header list only, and is wiped after */
	buf_printf(&hdr, "%s%s", q->forge == FORGE_GITHUB ? "Authorization: Bearer " :
		   q->forge == FORGE_GITLAB ? "PRIVATE-TOKEN: " : "Authorization: token ",
		   q->token ? q->token : "");
	hl = curl_slist_append(hl, hdr.ptr);
	crypto_wipe(hdr.ptr, hdr.len);
	hl = curl_slist_append(hl, q->forge == FORGE_GITHUB ?
			       "Accept: application/vnd.github+json" : "Accept: application/json");
	if (q->forge == FORGE_GITHUB)
		hl = curl_slist_append(hl, "X-GitHub-Api-Version: 2022-11-28");
	hl = curl_slist_append(hl, "Content-Type: application/json");
	hl = curl_slist_append(hl, "Expect:");
	text = status_body(q);
	pthread_once(&curl_once, curl_init);
	cc = hl && text ? post(q->url, hl, text, q->ca_bundle, &status, &ans, errbuf)
		       : CURLE_FAILED_INIT;

	/* the forge may quote what it was sent: hide the token there too */
	mask_new(&tm);
	mask_add(tm, q->token);
	if (cc != CURLE_OK) {
		m = mask_str(tm, *errbuf ? errbuf : curl_easy_strerror(cc));
		rc = err_set(e, cc == CURLE_OPERATION_TIMEDOUT ? ERR_TIMEOUT :
			     ERR_REMOTE, "commit status for %s@%s: cannot reach "
			     "%s: %s", repo, sha7, host, m);
		free(m);
	} else if (q->forge == FORGE_GITLAB && status == 400 &&
		   (msg = answer_message(&ans)) &&
		   strstr(msg, "Cannot transition status")) {
		/* the same state again (a run tried anew): it is there */
		buf_printf(line, "commit status: %s already set on %s", q->state ?
			   q->state : forge_status_state(q->forge, NULL), host);
	} else if (status < 200 || status > 299) {
		if (!msg)
			msg = answer_message(&ans);
		m = msg ? mask_str(tm, msg) : NULL;
		rc = err_set(e, ERR_REMOTE, "commit status for %s@%s: HTTP %ld%s%s%s",
			     repo, sha7, status, m ? ": " : "", m ? m : "",
			     status == 401 || status == 403 || status == 404 ?
			     " (check that git.token may write commit statuses "
			     "to the repository)" : "");
		free(m);
	} else {
		buf_printf(line, "commit status: %s posted to %s", q->state ? q->state :
			   forge_status_state(q->forge, NULL), host);
	}

done:
	for (struct curl_slist *s = hl; s; s = s->next)
		crypto_wipe(s->data, strlen(s->data));
	curl_slist_free_all(hl);
	mask_free(tm);
	free(text);
	free(host);
	free(msg);
	buf_release(&hdr);
	buf_release(&ans);
	return rc;
}

/* n bytes of p to fd; -1 on a failure */
static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* gantry __forge-status: the request on stdin (to its end), the answer on
 * stdout (forge_status.h). The exit status is 0 once an answer is written,
 * whatever it says. */
int cmd_forge_status(int argc, char **argv)
{
	struct forge_status_req q = { 0 };
	struct buf line = BUF_INIT, out = BUF_INIT;
	struct err e = ERR_INIT;
	char *in = xmalloc(FORGE_STATUS_REQ_MAX + 1);
	size_t len = 0;
	ssize_t n;
	int rc;

	/* the token comes next: no ptrace or /proc/PID/mem for it, as in
	 * the agent (exec made this process dumpable again) */
	prctl(PR_SET_DUMPABLE, 0);
	if (argc != 1) {
		free(in);
		fprintf(stderr, "gantry __forge-status: for the agent only; it takes "
			"its request on stdin\n");
		return 2;
	}
	/* into one buffer of the largest size, so that the token is never
	 * left behind in memory a reallocation freed */
	do {
		n = read(0, in + len, FORGE_STATUS_REQ_MAX + 1 - len);
		if (n > 0)
			len += (size_t)n;
	} while ((n > 0 && len <= FORGE_STATUS_REQ_MAX) || (n < 0 && errno == EINTR));
	if (n < 0)
		rc = err_sys(&e, ERR_IO, "commit status: reading the request");
	else if (len > FORGE_STATUS_REQ_MAX)
		rc = err_set(&e, ERR_LIMIT, "commit status: a request of more than %u "
			     "bytes", FORGE_STATUS_REQ_MAX);
	else
		rc = forge_status_req_decode(&q, in, len, &e);
	crypto_wipe(in, len);
	free(in);
	if (rc == 0)
		rc = forge_status_send(&q, &line, &e);
	forge_status_req_release(&q);
	buf_printf(&out, "%d", rc < 0 ? (int)(e.code ? e.code : ERR_INTERNAL) : 0);
	buf_addch(&out, '\0');
	buf_adds(&out, rc < 0 ? e.msg : line.ptr);
	buf_addch(&out, '\0');
	rc = write_all(1, out.ptr, out.len);
	buf_release(&line);
	buf_release(&out);
	return rc < 0 ? 1 : 0;
}
