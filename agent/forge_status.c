/*
 * forge_status: the agent's side of a run's commit status (agent.h,
 * forge_status.h): the request made from the configuration and the run,
 * handed to `gantry __forge-status` (forge_status_send.c), whose answer
 * is logged. No libcurl here: the lean agent binary links this file.
 *
 * Threat model: the request holds the git token. It goes to the child on
 * a socket that is the child's stdin, never in its argv or environment
 * (an allowlist, agent_spawn.c), and the buffers that held it are wiped.
 * The child is gantry itself (ag->exe), gets no other descriptor of the
 * agent's, and is always reaped: killed when it has not answered by its
 * deadline, counted from its start (a pending status is collected when
 * the run ends; until then curl's own limits bound it). Where the
 * token may be sent is checked in the child, before a connection is made.
 */
#include "agent.h"
#include "forge_status.h"
#include "../lib/buf.h"
#include "../lib/crypto.h"
#include "../lib/jsonx.h"
#include "../lib/mask.h"
#include "../lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const char magic[5] = "GFS1";	/* with its NUL */

/* The request's strings, by key; "forge" and the token are apart. */
static const struct {
	const char *key;
	size_t off;
	bool required;
} fields[] = {
	{ "state", offsetof(struct forge_status_req, state), false },
	{ "description", offsetof(struct forge_status_req, description), false },
	{ "target_url", offsetof(struct forge_status_req, target_url), false },
	{ "context", offsetof(struct forge_status_req, context), true },
	{ "repo", offsetof(struct forge_status_req, repo), true },
	{ "sha", offsetof(struct forge_status_req, sha), true },
	{ "ref", offsetof(struct forge_status_req, ref), false },
	{ "url", offsetof(struct forge_status_req, url), false },
	{ "clone_url", offsetof(struct forge_status_req, clone_url), false },
	{ "api_url", offsetof(struct forge_status_req, api_url), false },
	{ "ca_bundle", offsetof(struct forge_status_req, ca_bundle), false },
	{ "token", offsetof(struct forge_status_req, token), true },
};

static char **field(struct forge_status_req *q, size_t i)
{
	return (char **)((char *)q + fields[i].off);
}

static const char *field_get(const struct forge_status_req *q, size_t i)
{
	return *(char *const *)((const char *)q + fields[i].off);
}

void forge_status_req_release(struct forge_status_req *q)
{
	if (q->token)
		crypto_wipe(q->token, strlen(q->token));
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		free(*field(q, i));
	memset(q, 0, sizeof(*q));
}

void forge_status_req_encode(struct buf *out, const struct forge_status_req *q)
{
	buf_add(out, magic, sizeof(magic));
	buf_printf(out, "forge=%s", forge_name(q->forge));
	buf_addch(out, '\0');
	/* in the table's order: the token last, so that the buffer never
	 * grows (leaving a copy behind) once it holds it */
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		const char *v = field_get(q, i);

		if (!v)
			continue;
		buf_printf(out, "%s=", fields[i].key);
		buf_add(out, v, strlen(v) + 1);
	}
}

int forge_status_req_decode(struct forge_status_req *out, const char *p, size_t len,
			    struct err *e)
{
	size_t off = sizeof(magic);
	bool forge = false, whole;

	memset(out, 0, sizeof(*out));
	if (len < off || memcmp(p, magic, off) || p[len - 1] != '\0')
		return err_set(e, ERR_SYNTAX, "commit status: a malformed request");
	while (off < len) {
		const char *s = p + off, *eq = strchr(s, '=');
		size_t i = 0, klen = eq ? (size_t)(eq - s) : 0;

		off += strlen(s) + 1;
		if (eq && klen == 5 && !strncmp(s, "forge", 5) && !forge) {
			for (enum forge f = FORGE_GITHUB; f <= FORGE_GITLAB; f++)
				if (!strcmp(eq + 1, forge_name(f))) {
					out->forge = f;
					forge = true;
				}
			if (forge)
				continue;
		}
		while (eq && i < ARRAY_SIZE(fields) && (strlen(fields[i].key) != klen ||
							strncmp(s, fields[i].key, klen)))
			i++;
		if (!eq || i == ARRAY_SIZE(fields) || *field(out, i)) {
			forge_status_req_release(out);
			return err_set(e, ERR_SYNTAX, "commit status: a malformed request "
				       "(at '%.*s')", (int)klen, s);
		}
		*field(out, i) = xstrdup(eq + 1);
	}
	whole = forge;
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		if (fields[i].required && !*field(out, i))
			whole = false;
	if (!whole) {
		forge_status_req_release(out);
		return err_set(e, ERR_SYNTAX, "commit status: a request without "
			       "all its fields");
	}
	return 0;
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

const char *forge_status_state(enum forge f, const char *state)
{
	static const char *const words[][2] = {	/* GitHub's, GitLab's */
		{ "pending", "running" }, { "success", "success" },
		{ "failure", "failed" }, { "cancelled", "canceled" },
	};
	bool gitlab = f == FORGE_GITLAB;

	for (size_t i = 0; state && i < ARRAY_SIZE(words); i++)
		if (!strcmp(state, words[i][0]))
			return i == 3 && !gitlab ? "error" : words[i][gitlab];
	return gitlab ? "failed" : "error";
}

/* scheme://host[:port] of url, or NULL; caller frees. */
static char *url_origin(const char *url)
{
	const char *at = url ? strstr(url, "://") : NULL;

	if (!at)
		return NULL;
	return xstrndup(url, (size_t)(at + 3 - url) + strcspn(at + 3, "/?#"));
}

/* BASE of url when it is BASE/REPO + suffix (after trailing slashes, before
 * any query), BASE keeping at least scheme://h; else NULL. Caller frees. */
static char *strip_path(const char *url, const char *repo, const char *suffix)
{
	const char *scheme = url ? strstr(url, "://") : NULL;
	size_t n, rn = strlen(repo), sn = strlen(suffix), host;

	if (!scheme || !rn)
		return NULL;
	host = (size_t)(scheme - url) + 3;
	n = strcspn(url, "?#");
	while (n > host && url[n - 1] == '/')
		n--;
	if (n <= host + rn + sn + 1 || strncmp(url + n - sn, suffix, sn))
		return NULL;
	n -= sn;
	if (url[n - rn - 1] != '/' || strncmp(url + n - rn, repo, rn))
		return NULL;
	return xstrndup(url, n - rn - 1);
}

/* GitLab's base URL (where /api/v4 is), which keeps a relative URL root
 * (/gitlab): the project's web page BASE/REPO, else its HTTP clone URL
 * BASE/REPO.git, else the web page's scheme://host[:port]. Caller frees. */
static char *gitlab_base(const char *web_url, const char *clone_url, const char *repo)
{
	char *base = strip_path(web_url, repo, "");

	if (!base && clone_url && (str_starts_with(clone_url, "https://") ||
				   str_starts_with(clone_url, "http://")))
		base = strip_path(clone_url, repo, ".git");
	return base ? base : url_origin(web_url);
}

/* GitLab's :id for a project path: the path with each '/' as %2F. */
static void gitlab_project_id(struct buf *out, const char *repo)
{
	for (; *repo; repo++)
		if (*repo == '/')
			buf_adds(out, "%2F");
		else
			buf_addch(out, *repo);
}

/* The status URL for repo@sha (caller frees), or NULL when it cannot be
 * made. With a configured API URL: BASE/repos/R/statuses/SHA (GitLab:
 * BASE/projects/ID/statuses/SHA). Else GitHub's repository.statuses_url;
 * for Gitea scheme://host[:port] of its repository.html_url +
 * /api/v1/repos/R/statuses/SHA; for GitLab the base of its web page
 * (repository.html_url: the run's payload is in GitHub's shape) or clone
 * URL (gitlab_base) + /api/v4/projects/ID/statuses/SHA. */
static char *status_url(const char *repo, const char *sha, const char *payload,
			const char *clone_url, enum forge forge, const char *api_url)
{
	json_t *p = NULL;
	const char *s, *at;
	char *out = NULL, *base = NULL;
	struct buf tail = BUF_INIT;	/* the path under the API's root */
	size_t n;

	if (forge == FORGE_GITLAB) {
		buf_adds(&tail, "projects/");
		gitlab_project_id(&tail, repo);
	} else {
		buf_printf(&tail, "repos/%s", repo);
	}
	buf_printf(&tail, "/statuses/%s", sha);
	if (api_url) {
		n = strlen(api_url);
		while (n && api_url[n - 1] == '/')
			n--;
		out = xasprintf("%.*s/%s", (int)n, api_url, tail.ptr);
		goto done;
	}
	p = payload ? json_loads(payload, 0, NULL) : NULL;
	s = jsonx_str(json_object_get(p, "repository"),
		      forge == FORGE_GITHUB ? "statuses_url" : "html_url");
	if (s && forge == FORGE_GITHUB) {
		at = strstr(s, "{sha}");
		out = at ? xasprintf("%.*s%s%s", (int)(at - s), s, sha, at + 5)
			 : xstrdup(s);
	} else if (forge == FORGE_GITLAB && (base = gitlab_base(s, clone_url, repo))) {
		out = xasprintf("%s/api/v4/%s", base, tail.ptr);
	} else if (s && forge == FORGE_GITEA && (base = url_origin(s))) {
		out = xasprintf("%s/api/v1/%s", base, tail.ptr);
	}
done:
	free(base);
	buf_release(&tail);
	json_decref(p);
	return out;
}

/* Send req on sock (non-blocking) before deadline_ns, then end our side.
 * 0; 1 at the deadline; -1 on a failure of the socket. */
static int send_request(int sock, const struct buf *req, long long deadline_ns)
{
	size_t sent = 0;

	while (sent < req->len) {
		struct pollfd p = { .fd = sock, .events = POLLOUT };
		long long left = deadline_ns - time_mono_ns();
		ssize_t n;
		int r;

		if (left <= 0)
			return 1;
		r = poll(&p, 1, (int)((left + 999999) / 1000000));
		if (r < 0 && errno != EINTR)
			return -1;
		if (r <= 0)
			continue;
		n = send(sock, req->ptr + sent, req->len - sent, MSG_NOSIGNAL);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		/* the whole request, and the child reads to its end; or it is
		 * gone, which its exit status says */
		sent = n < 0 ? req->len : sent + (size_t)n;
	}
	shutdown(sock, SHUT_WR);
	return 0;
}

/* Read the answer into ans until the child closes its end. What it sent
 * before deadline_ns is read even when the deadline has passed since (a
 * pending status is collected once the run is over). 0; 1 when it was
 * still silent at the deadline; -1 on an answer too long or a failure. */
static int read_answer(int sock, struct buf *ans, long long deadline_ns)
{
	char chunk[1024];

	for (;;) {
		struct pollfd p = { .fd = sock, .events = POLLIN };
		long long left = deadline_ns - time_mono_ns();
		ssize_t n;
		int r;

		r = poll(&p, 1, left > 0 ? (int)((left + 999999) / 1000000) : 0);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r == 0 && left <= 0)
			return 1;
		if (r <= 0)
			continue;
		n = read(sock, chunk, sizeof(chunk));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return n < 0 && errno != ECONNRESET ? -1 : 0;
		if (buf_add(ans, chunk, (size_t)n) < 0)
			return -1;
	}
}

/* The answer's err code and line (forge_status.h); -1 when malformed */
static int parse_answer(const struct buf *ans, long *code, const char **text)
{
	const char *nul = memchr(ans->ptr, '\0', ans->len);

	if (!nul || ans->len < 2 || ans->ptr[ans->len - 1] != '\0' ||
	    memchr(nul + 1, '\0', ans->len - 1 - (size_t)(nul + 1 - ans->ptr)) ||
	    str_to_long(ans->ptr, code) < 0 || *code < 0 || *code > ERR_REMOTE)
		return -1;
	*text = nul + 1;
	return 0;
}

struct forge_status_call {
	char *exe;
	char what[200];		/* "commit status for o/r@0123456": our errors' prefix */
	pid_t pid;
	int sock;
	int timeout_ms;
	long long deadline_ns;
};

int forge_status_child_start(struct forge_status_call **out, const char *exe,
			     const struct forge_status_req *q, int timeout_ms,
			     struct err *e)
{
	struct forge_status_call *c = xcalloc(1, sizeof(*c));
	struct strv argv = STRV_INIT, env = STRV_INIT;
	struct buf req = BUF_INIT;
	int sv[2] = { -1, -1 }, x = -1, rc = -1;
	char sha7[8];

	*out = NULL;
	c->exe = xstrdup(exe);
	c->pid = -1;
	c->sock = -1;
	c->timeout_ms = timeout_ms;
	c->deadline_ns = time_mono_ns() + timeout_ms * 1000000LL;
	snprintf(sha7, sizeof(sha7), "%s", q->sha ? q->sha : "");
	snprintf(c->what, sizeof(c->what), "commit status for %.150s@%s",
		 q->repo ? q->repo : "", sha7);
	forge_status_req_encode(&req, q);
	if (req.len > FORGE_STATUS_REQ_MAX) {
		err_set(e, ERR_LIMIT, "not sent: a request of %zu bytes (at most %u)",
			req.len, FORGE_STATUS_REQ_MAX);
		goto done;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		err_sys(e, ERR_IO, "cannot start gantry __forge-status: socketpair");
		goto done;
	}
	strv_push(&argv, exe);
	strv_push(&argv, "__forge-status");
	agent_spawn_env(&env);
	/* the socket is its stdin (the request) and stdout (the answer);
	 * stderr stays the agent's, for what a crash says */
	c->pid = agent_spawn(&argv, &env, (int[]){ sv[1], sv[1], 2 }, 3,
			     "gantry __forge-status", e);
	close(sv[1]);
	if (c->pid < 0)
		goto done;
	c->sock = sv[0];
	sv[0] = -1;
	if (fcntl(c->sock, F_SETFL, O_NONBLOCK) == 0)
		x = send_request(c->sock, &req, c->deadline_ns);
	if (x > 0)
		err_set(e, ERR_TIMEOUT, "%s __forge-status did not take the request "
			"in %g s", exe, timeout_ms / 1000.0);
	else if (x < 0)
		err_sys(e, ERR_IO, "%s __forge-status: cannot send the request", exe);
	else
		rc = 0;
done:
	if (sv[0] >= 0)
		close(sv[0]);
	crypto_wipe(req.ptr, req.len);
	buf_release(&req);
	strv_release(&argv);
	strv_release(&env);
	if (rc < 0) {
		err_wrap(e, "%s", c->what);
		if (c->pid > 0) {
			kill(-c->pid, SIGKILL);
			while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
		if (c->sock >= 0)
			close(c->sock);
		free(c->exe);
		free(c);
		return -1;
	}
	*out = c;
	return 0;
}

int forge_status_child_finish(struct forge_status_call *c, struct buf *line,
			      struct err *e)
{
	struct buf ans = BUF_INIT;
	const char *text = NULL, *exe = c->exe;
	int status = 0, rc = -1, x;
	long code = 0;

	buf_init(&ans, FORGE_STATUS_ANSWER_MAX);
	x = read_answer(c->sock, &ans, c->deadline_ns);
	if (x != 0)
		kill(-c->pid, SIGKILL);
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (x > 0)
		err_set(e, ERR_TIMEOUT, "%s __forge-status did not answer in %g s; "
			"it was killed", exe, c->timeout_ms / 1000.0);
	else if (x < 0)
		err_set(e, ERR_SANDBOX, "%s __forge-status: an answer too long or "
			"unreadable; it was killed", exe);
	else if (WIFSIGNALED(status))
		err_set(e, ERR_SANDBOX, "%s __forge-status was killed by signal %d",
			exe, WTERMSIG(status));
	else if (WEXITSTATUS(status))
		err_set(e, ERR_SANDBOX, "%s __forge-status ended with status %d",
			exe, WEXITSTATUS(status));
	else if (parse_answer(&ans, &code, &text) < 0) {
		code = 0;	/* not its own error: ours, with the prefix */
		err_set(e, ERR_SANDBOX, "%s __forge-status gave no answer", exe);
	}
	else if (code)
		err_set(e, (enum err_code)code, "%s", text);	/* says which status */
	else {
		buf_adds(line, text);
		rc = 0;
	}
	if (rc < 0 && !code)
		err_wrap(e, "%s", c->what);
	close(c->sock);
	buf_release(&ans);
	free(c->exe);
	free(c);
	return rc;
}

int forge_status_child(const char *exe, const struct forge_status_req *q,
		       int timeout_ms, struct buf *line, struct err *e)
{
	struct forge_status_call *c;

	if (forge_status_child_start(&c, exe, q, timeout_ms, e) < 0)
		return -1;
	return forge_status_child_finish(c, line, e);
}

int forge_status_begin(struct forge_status_call **out, struct agent *ag,
		       const struct queue_run *r, const char *state,
		       const char *description, int log_fd, struct err *e)
{
	struct forge_status_req q = { 0 };
	char *public_url = NULL;
	enum forge forge;
	bool enabled;
	int rc = 0;

	*out = NULL;
	if (!r || !r->sha || !r->forge)
		return 0;
	pthread_rwlock_rdlock(&ag->cfg_lock);
	enabled = ag->cfg.status && ag->cfg.git_token;
	if (enabled)
		q.token = xstrdup(ag->cfg.git_token);
	if (ag->cfg.status_api_url)
		q.api_url = xstrdup(ag->cfg.status_api_url);
	q.context = xstrdup(ag->cfg.status_context ? ag->cfg.status_context : "gantry");
	public_url = ag->cfg.public_url ? xstrdup(ag->cfg.public_url) : NULL;
	q.ca_bundle = ag->cfg.git_ca_bundle ? xstrdup(ag->cfg.git_ca_bundle) : NULL;
	pthread_rwlock_unlock(&ag->cfg_lock);

	for (forge = FORGE_GITHUB; forge <= FORGE_GITLAB; forge++)
		if (!strcmp(r->forge, forge_name(forge)))
			break;
	if (!enabled || forge > FORGE_GITLAB)
		goto done;
	q.forge = forge;
	q.state = xstrdup(forge_status_state(forge, state));
	q.description = description ? xstrdup(description) : NULL;
	if (public_url) {
		int n = (int)strlen(public_url);

		while (n && public_url[n - 1] == '/')
			n--;
		q.target_url = xasprintf("%.*s/runs/%lld", n, public_url, r->id);
	}
	q.repo = xstrdup(r->repo ? r->repo : "");
	q.sha = xstrdup(r->sha);
	q.url = status_url(q.repo, q.sha, r->payload, r->clone_url, forge, q.api_url);
	if (forge == FORGE_GITLAB && r->ref) {
		const char *ref = r->ref;

		if (str_starts_with(ref, "refs/heads/"))
			ref += 11;
		else if (str_starts_with(ref, "refs/tags/"))
			ref += 10;
		q.ref = xstrdup(ref);
	}
	q.clone_url = r->clone_url ? xstrdup(r->clone_url) : NULL;
	rc = forge_status_child_start(out, ag->exe, &q, FORGE_STATUS_DEADLINE_MS, e);
	if (rc < 0)
		log_line(ag, log_fd, e->msg);
done:
	forge_status_req_release(&q);
	free(public_url);
	return rc;
}

int forge_status_end(struct agent *ag, struct forge_status_call *c, int log_fd,
		     struct err *e)
{
	struct buf line = BUF_INIT;
	int rc;

	if (!c)
		return 0;
	rc = forge_status_child_finish(c, &line, e);
	log_line(ag, log_fd, rc < 0 ? e->msg : line.ptr);
	buf_release(&line);
	return rc;
}

int forge_status_post(struct agent *ag, const struct queue_run *r,
		      const char *state, const char *description, int log_fd,
		      struct err *e)
{
	struct forge_status_call *c;

	if (forge_status_begin(&c, ag, r, state, description, log_fd, e) < 0)
		return -1;
	return forge_status_end(ag, c, log_fd, e);
}
