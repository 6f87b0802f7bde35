/*
 * agent_api: the runs API (bearer token) and the metrics.
 *
 *   GET  /runs?limit=N&before=ID&status=S   newest first
 *   GET  /runs/{id}                         the run, its jobs and steps
 *   GET  /runs/{id}/logs                    text; follows a live run to its end
 *   POST /runs        {"repo", "clone_url", "ref", "sha"?, "workflow"?, "inputs"?}
 *                     a workflow_dispatch run; Idempotency-Key makes it once-only
 *   POST /runs/{id}/cancel
 *
 * The token is compared as SHA-256 digests in constant time, so neither
 * its bytes nor its length leak through timing.
 */
#include "agent_api.h"

#include "../lib/buf.h"
#include "../lib/crypto.h"
#include "../lib/jsonx.h"
#include "../lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define LOG_FOLLOW_MAX_S (24 * 3600)

static bool authorized(struct agent *ag, struct MHD_Connection *c, const char **why)
{
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	unsigned char want[CRYPTO_SHA256_LEN], got[CRYPTO_SHA256_LEN];
	bool have;

	pthread_rwlock_rdlock(&ag->cfg_lock);
	have = ag->cfg.api_token != NULL;
	if (have)
		crypto_sha256(want, ag->cfg.api_token, strlen(ag->cfg.api_token));
	pthread_rwlock_unlock(&ag->cfg_lock);
	if (!have) {
		*why = "the API is off: set API__TOKEN (or API__TOKEN_FILE) to use it";
		return false;
	}
	if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) {
		*why = "an API token is required (Authorization: Bearer)";
		return false;
	}
	crypto_sha256(got, auth + 7, strlen(auth + 7));
	if (!crypto_memeq(want, got, sizeof(want))) {
		*why = "the API token is not valid";
		return false;
	}
	return true;
}

/* run the API's query on its shared connection */
#define API_Q(ag, call) ({ int rc_; pthread_mutex_lock(&(ag)->api_lock); \
	rc_ = (call); pthread_mutex_unlock(&(ag)->api_lock); rc_; })

static enum MHD_Result list_runs(struct agent *ag, struct MHD_Connection *c)
{
	const char *limit = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
	const char *before = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "before");
	const char *status = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "status");
	long lim = 50, bef = 0;
	json_t *out = NULL;
	struct err e = ERR_INIT;

	if ((limit && (str_to_long(limit, &lim) < 0 || lim < 1 || lim > 1000)) ||
	    (before && (str_to_long(before, &bef) < 0 || bef < 0)))
		return http_error(c, 400, "limit is 1 to 1000 and before a run ID");
	if (API_Q(ag, queue_list(ag->api_q, lim, bef, status, &out, &e)) < 0)
		return http_error(c, 500, e.msg);
	return http_json(c, 200, json_pack("{s:o}", "runs", out));
}

static bool hex40(const char *s)
{
	size_t n = 0;

	for (; s && s[n]; n++)
		if (!strchr("0123456789abcdef", s[n]))
			return false;
	return n == 40;
}

static bool safe_chars(const char *s, const char *extra, size_t max)
{
	size_t n = 0;

	if (!s || !*s)
		return false;
	for (; s[n]; n++)
		if (!(s[n] >= 'a' && s[n] <= 'z') && !(s[n] >= 'A' && s[n] <= 'Z') &&
		    !(s[n] >= '0' && s[n] <= '9') && !strchr(extra, s[n]))
			return false;
	return n <= max && !strstr(s, "..");
}

/* Whether a clone URL carries credentials: any user in an http(s) URL, a
 * password in an ssh one (they would show in the run's argv). */
static bool url_has_secret(const char *url)
{
	const char *a = strstr(url, "://"), *end, *at;

	if (!a)
		return false;	/* git@host:path */
	a += 3;
	end = a + strcspn(a, "/");
	at = memchr(a, '@', (size_t)(end - a));
	if (!at)
		return false;
	return !str_starts_with(url, "ssh://") || memchr(a, ':', (size_t)(at - a));
}

/* A workflow_dispatch input's name, as GitHub allows them. */
static bool input_name(const char *k)
{
	if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || *k == '_'))
		return false;
	return safe_chars(k, "_-", 100);
}

/* Whether url's path names repo (owner/name, with or without .git), so
 * that a run's identity (github.repository, the OIDC sub) is the
 * repository it checks out. */
static bool url_names_repo(const char *url, const char *repo)
{
	const char *p = strstr(url, "://");
	size_t n, rn = strlen(repo);

	if (p) {
		p = strchr(p + 3, '/');
	} else {
		p = strchr(url, ':');	/* git@host:owner/name */
		if (p)
			p++;
	}
	if (!p)
		return false;
	while (*p == '/')
		p++;
	n = strlen(p);
	if (n >= 4 && !strcmp(p + n - 4, ".git"))
		n -= 4;
	while (n && p[n - 1] == '/')
		n--;
	return n >= rn && !strncmp(p + n - rn, repo, rn) &&
	       (n == rn || p[n - rn - 1] == '/');
}

/* POST /runs: a workflow_dispatch run of a ref */
static enum MHD_Result start_run(struct agent *ag, struct MHD_Connection *c,
				 const char *body, size_t len)
{
	const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
	json_error_t je;
	json_t *in = json_loadb(body, len, 0, &je), *inputs, *payload, *v, *empty = NULL;
	const char *repo, *url, *ref, *sha, *wf, *k;
	char *full_ref = NULL, *delivery = NULL, *ptext = NULL, *itext = NULL;
	char *wfpath = NULL;
	struct intake_req ir;
	unsigned char rnd[16];
	enum MHD_Result ret;
	char msg[200];

	if (!json_is_object(in)) {
		json_decref(in);
		return http_error(c, 400, "the body must be a JSON object");
	}
	repo = jsonx_str(in, "repo");
	url = jsonx_str(in, "clone_url");
	ref = jsonx_str(in, "ref");
	sha = jsonx_str(in, "sha");
	wf = jsonx_str(in, "workflow");
	inputs = json_object_get(in, "inputs");
	msg[0] = 0;
	if (!safe_chars(repo, "._-/", 200) || repo[0] == '/')
		snprintf(msg, sizeof(msg), "\"repo\" must be owner/name");
	else if (!url || !(str_starts_with(url, "https://") || str_starts_with(url, "http://") ||
			   str_starts_with(url, "ssh://") || str_starts_with(url, "git@")) ||
		 strpbrk(url, " \t\r\n"))
		snprintf(msg, sizeof(msg), "\"clone_url\" must be an http(s) or ssh URL");
	else if (strpbrk(url, "?#\\"))
		/* a server may ignore what follows: the path would not be the
		 * repository's ("https://host/them/evil.git?x=/acme/app") */
		snprintf(msg, sizeof(msg), "\"clone_url\" must not have a query, a "
			 "fragment or a backslash");
	else if (url_has_secret(url))
		snprintf(msg, sizeof(msg), "\"clone_url\" must not carry credentials "
			 "(GIT__TOKEN is the agent's)");
	else if (!url_names_repo(url, repo))
		snprintf(msg, sizeof(msg), "\"clone_url\" must be the repository's: its "
			 "path must end with \"repo\"");
	else if (!safe_chars(ref, "._-/+@", 255))
		snprintf(msg, sizeof(msg), "\"ref\" must be a branch, a tag or refs/...");
	else if (sha && !hex40(sha))
		snprintf(msg, sizeof(msg), "\"sha\" must be 40 lowercase hex digits");
	else if (wf && (!safe_chars(wf, "._-", 200) ||
			!(str_ends_with(wf, ".yml") || str_ends_with(wf, ".yaml"))))
		snprintf(msg, sizeof(msg), "\"workflow\" must be a file name in "
			 ".github/workflows (name.yml)");
	else if (inputs && !json_is_object(inputs))
		snprintf(msg, sizeof(msg), "\"inputs\" must be an object");
	else if (key && !safe_chars(key, "._-", 128))
		snprintf(msg, sizeof(msg), "Idempotency-Key: only letters, digits, . _ - "
			 "and at most 128");
	if (msg[0]) {
		json_decref(in);
		return http_error(c, 400, msg);
	}
	if (json_object_size(inputs) > 64) {
		json_decref(in);
		return http_error(c, 400, "\"inputs\": at most 64");
	}
	json_object_foreach(inputs, k, v) {
		if (json_is_object(v) || json_is_array(v) || !input_name(k)) {
			json_decref(in);
			return http_error(c, 400, "\"inputs\": names are letters, digits, _ "
					  "and - (starting with a letter or _), values "
					  "strings, numbers or booleans");
		}
	}
	full_ref = str_starts_with(ref, "refs/") ? xstrdup(ref)
						 : xasprintf("refs/heads/%s", ref);
	if (key) {
		/* the same key for another repository is another request */
		unsigned char d[CRYPTO_SHA256_LEN];
		char *scoped = xasprintf("%s\n%s", repo, key);
		char hex[33];

		crypto_sha256(d, scoped, strlen(scoped));
		hex_lower(hex, d, 16);
		delivery = xasprintf("manual:%s", hex);
		free(scoped);
	} else {
		char hex[33];

		crypto_random(rnd, sizeof(rnd));
		hex_lower(hex, rnd, sizeof(rnd));
		delivery = xasprintf("manual:%s", hex);
	}
	if (wf)
		wfpath = xasprintf(".github/workflows/%s", wf);
	if (!inputs)
		inputs = empty = json_object();
	payload = json_pack("{s:s,s:O,s:{s:s,s:s,s:s},s:{s:s}}", "ref", full_ref,
			    "inputs", inputs,
			    "repository", "full_name", repo, "clone_url", url, "name",
			    strrchr(repo, '/') ? strrchr(repo, '/') + 1 : repo,
			    "sender", "login", "gantry-api");
	if (wfpath)
		jsonx_set_str(payload, "workflow", wfpath);
	ptext = json_dumps(payload, JSON_COMPACT);
	itext = json_dumps(inputs, JSON_COMPACT);
	memset(&ir, 0, sizeof(ir));
	ir.run.delivery = delivery;
	ir.run.forge = "manual";
	ir.run.event = "workflow_dispatch";
	ir.run.repo = repo;
	ir.run.clone_url = url;
	ir.run.ref = full_ref;
	ir.run.sha = sha;
	ir.run.payload = ptext;
	ir.run.workflow = wf;
	ir.run.inputs = itext;
	if (agent_intake_submit(ag, &ir) < 0)
		ret = http_error(c, 503, ir.e.msg);
	else
		ret = http_json(c, ir.dup ? 200 : 201, json_pack("{s:s,s:I}", "status",
			ir.dup ? "duplicate" : "queued", "run_id", (json_int_t)ir.run_id));
	json_decref(payload);
	json_decref(empty);
	json_decref(in);
	free(full_ref);
	free(delivery);
	free(ptext);
	free(itext);
	free(wfpath);
	return ret;
}

/* following a log: a plain file (live, possibly unlinked when the run is
 * compressed) or the compressed one */
struct logstream {
	struct agent *ag;
	struct MHD_Connection *conn;
	long long run_id;
	int fd;
	gzFile gz;
	time_t deadline;
};

/* Whether the client that follows a log has hung up: followers wait in
 * this thread, and one that left must not hold it until the run ends. */
static bool client_gone(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct pollfd p;

	if (!ci)
		return false;
	p.fd = ci->connect_fd;
	p.events = POLLRDHUP;
	p.revents = 0;
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static ssize_t log_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct logstream *ls = cls;
	ssize_t n;

	(void)pos;
	if (ls->gz) {
		int r = gzread(ls->gz, out, (unsigned)(max > 65536 ? 65536 : max));

		return r > 0 ? r : r == 0 ? MHD_CONTENT_READER_END_OF_STREAM
					 : MHD_CONTENT_READER_END_WITH_ERROR;
	}
	for (;;) {
		n = read(ls->fd, out, max);
		if (n > 0)
			return n;
		if (n < 0 && errno != EINTR)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (n == 0) {
			bool stopping;

			if (!agent_run_is_live(ls->ag, ls->run_id)) {
				/* whatever was written before the end */
				n = read(ls->fd, out, max);
				return n > 0 ? n : MHD_CONTENT_READER_END_OF_STREAM;
			}
			pthread_mutex_lock(&ls->ag->lock);
			stopping = ls->ag->stopping;
			pthread_mutex_unlock(&ls->ag->lock);
			if (stopping || time(NULL) > ls->deadline || client_gone(ls->conn))
				return MHD_CONTENT_READER_END_OF_STREAM;
			usleep(100 * 1000);
		}
	}
}

static void log_free(void *cls)
{
	struct logstream *ls = cls;

	if (ls->gz)
		gzclose(ls->gz);
	if (ls->fd >= 0)
		close(ls->fd);
	atomic_fetch_sub(&ls->ag->followers, 1);
	free(ls);
}

static enum MHD_Result run_logs(struct agent *ag, struct MHD_Connection *c,
				long long id)
{
	struct logstream *ls;
	struct MHD_Response *r;
	json_t *run = NULL;
	struct err e = ERR_INIT;
	const char *status, *path;
	enum MHD_Result ret;
	char *live;
	int fd = -1;

	if (API_Q(ag, queue_get(ag->api_q, id, &run, &e)) < 0)
		return http_error(c, e.code == ERR_NOT_FOUND ? 404 : 500, e.msg);
	if (atomic_fetch_add(&ag->followers, 1) >= AGENT_FOLLOWERS_MAX) {
		atomic_fetch_sub(&ag->followers, 1);
		json_decref(run);
		return http_error(c, 503, "too many logs are being followed; try again later");
	}
	live = agent_live_log_path(ag, id);
	if (agent_run_is_live(ag, id))
		fd = open(live, O_RDONLY | O_CLOEXEC);
	free(live);
	ls = xcalloc(1, sizeof(*ls));
	ls->ag = ag;
	ls->conn = c;
	ls->run_id = id;
	ls->fd = fd;
	ls->deadline = time(NULL) + LOG_FOLLOW_MAX_S;
	if (fd < 0) {
		/* finished (or finished meanwhile): the compressed log */
		json_decref(run);
		run = NULL;
		if (API_Q(ag, queue_get(ag->api_q, id, &run, &e)) < 0) {
			log_free(ls);
			return http_error(c, 500, e.msg);
		}
		status = jsonx_str(run, "status");
		path = jsonx_str(run, "log_path");
		if (path)
			ls->gz = gzopen(path, "rbe");
		if (!ls->gz) {
			char msg[300];

			if (!strcmp(status, "queued"))
				snprintf(msg, sizeof(msg), "run %lld has not started", id);
			else if (!strcmp(status, "running"))
				snprintf(msg, sizeof(msg), "run %lld runs on agent %s; its log is "
					 "there", id, jsonx_str(run, "agent") ?
					 jsonx_str(run, "agent") : "?");
			else
				snprintf(msg, sizeof(msg), "run %lld has no log on this agent", id);
			log_free(ls);
			json_decref(run);
			return http_error(c, 404, msg);
		}
	}
	json_decref(run);
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, log_read,
					      ls, log_free);
	if (!r) {
		log_free(ls);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result agent_api(struct agent *ag, struct MHD_Connection *c,
			  const char *url, const char *method,
			  const char *body, size_t len)
{
	const char *why = NULL, *rest;
	char *end;
	long long id;
	json_t *run = NULL;
	struct err e = ERR_INIT;
	int rc;

	if (!authorized(ag, c, &why)) {
		struct MHD_Response *r;
		json_t *j = json_pack("{s:s}", "error", why);
		char *b = json_dumps(j, JSON_COMPACT);
		enum MHD_Result ret;

		json_decref(j);

		r = MHD_create_response_from_buffer(strlen(b), b, MHD_RESPMEM_MUST_FREE);
		MHD_add_response_header(r, "Content-Type", "application/json");
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
		ret = MHD_queue_response(c, 401, r);
		MHD_destroy_response(r);
		return ret;
	}
	if (!strcmp(url, "/runs") || !strcmp(url, "/runs/")) {
		if (!strcmp(method, "GET"))
			return list_runs(ag, c);
		if (!strcmp(method, "POST"))
			return start_run(ag, c, body, len);
		return http_error(c, 405, "GET or POST /runs");
	}
	rest = url + strlen("/runs/");
	id = strtoll(rest, &end, 10);
	if (end == rest || id <= 0 || (*end && *end != '/'))
		return http_error(c, 404, "no such run");
	if (!*end && !strcmp(method, "GET")) {
		if (API_Q(ag, queue_get(ag->api_q, id, &run, &e)) < 0)
			return http_error(c, e.code == ERR_NOT_FOUND ? 404 : 500, e.msg);
		return http_json(c, 200, run);
	}
	if (!strcmp(end, "/logs") && !strcmp(method, "GET"))
		return run_logs(ag, c, id);
	if (!strcmp(end, "/cancel") && !strcmp(method, "POST")) {
		rc = API_Q(ag, queue_cancel(ag->api_q, id, &e));
		if (rc < 0)
			return http_error(c, e.code == ERR_NOT_FOUND ? 404 : 500, e.msg);
		if (rc == 0)
			return http_json(c, 409, json_pack("{s:s,s:I}", "error",
				"the run has finished", "run_id", (json_int_t)id));
		/* a run of this agent stops now; another agent's at its
		 * next heartbeat */
		agent_cancel_local(ag, id);
		return http_json(c, 202, json_pack("{s:s,s:I}", "status",
			"cancelling", "run_id", (json_int_t)id));
	}
	return http_error(c, 404, "not found");
}

const double agent_hist_bounds[AGENT_HIST_N - 1] = {
	0.1, 0.5, 1, 5, 10, 30, 60, 300,
};

void agent_metrics_steps(struct agent *ag, const json_t *summary)
{
	const json_t *wfs = summary;
	json_t *one = NULL, *wf, *job, *step;
	size_t i, j, k;

	if (json_is_object(summary)) {
		one = json_array();
		json_array_append(one, (json_t *)summary);
		wfs = one;
	}
	json_array_foreach(wfs, i, wf) {
		json_array_foreach(json_object_get(wf, "jobs"), j, job) {
			json_array_foreach(json_object_get(job, "steps"), k, step) {
				json_t *d = json_object_get(step, "duration_ms");
				long long ms;
				size_t b = 0;

				if (!json_is_integer(d))
					continue;
				ms = json_integer_value(d);
				while (b < AGENT_HIST_N - 1 && ms > agent_hist_bounds[b] * 1000)
					b++;
				atomic_fetch_add(&ag->step_hist[b], 1);
				atomic_fetch_add(&ag->step_count, 1);
				atomic_fetch_add(&ag->step_ms_sum, ms);
			}
		}
	}
	json_decref(one);
}

enum MHD_Result agent_metrics(struct agent *ag, struct MHD_Connection *c)
{
	static const char *const fin[4] = { "success", "failure", "cancelled", "skipped" };
	struct buf b = BUF_INIT;
	json_t *counts = NULL, *v;
	struct err e = ERR_INIT;
	const char *k;
	long long busy_ns = 0, now = time_mono_ns(), cum = 0;
	size_t busy = 0;

	buf_adds(&b, "# HELP gantry_webhook_deliveries_total Webhook deliveries by result.\n"
		 "# TYPE gantry_webhook_deliveries_total counter\n");
	for (size_t i = 0; i < 8; i++)
		buf_printf(&b, "gantry_webhook_deliveries_total{result=\"%s\"} %lld\n",
			   agent_delivery_result_names[i], (long long)ag->deliveries[i]);
	if (API_Q(ag, queue_counts(ag->api_q, &counts, &e)) == 0) {
		buf_printf(&b, "# HELP gantry_queue_depth Runs waiting for a worker.\n"
			   "# TYPE gantry_queue_depth gauge\ngantry_queue_depth %lld\n",
			   (long long)json_integer_value(json_object_get(counts, "queued")));
		buf_adds(&b, "# HELP gantry_runs Runs in the queue's database by status.\n"
			 "# TYPE gantry_runs gauge\n");
		json_object_foreach(json_object_get(counts, "runs"), k, v)
			buf_printf(&b, "gantry_runs{status=\"%s\"} %lld\n", k,
				   (long long)json_integer_value(v));
	}
	json_decref(counts);
	buf_adds(&b, "# HELP gantry_runs_finished_total Runs this agent finished, by result.\n"
		 "# TYPE gantry_runs_finished_total counter\n");
	for (size_t i = 0; i < 4; i++)
		buf_printf(&b, "gantry_runs_finished_total{result=\"%s\"} %lld\n", fin[i],
			   (long long)ag->finished[i]);
	buf_adds(&b, "# HELP gantry_step_duration_seconds Durations of the steps this agent ran.\n"
		 "# TYPE gantry_step_duration_seconds histogram\n");
	for (size_t i = 0; i < AGENT_HIST_N; i++) {
		cum += ag->step_hist[i];
		if (i < AGENT_HIST_N - 1)
			buf_printf(&b, "gantry_step_duration_seconds_bucket{le=\"%g\"} %lld\n",
				   agent_hist_bounds[i], cum);
		else
			buf_printf(&b, "gantry_step_duration_seconds_bucket{le=\"+Inf\"} %lld\n", cum);
	}
	buf_printf(&b, "gantry_step_duration_seconds_sum %.3f\n"
		   "gantry_step_duration_seconds_count %lld\n",
		   (double)ag->step_ms_sum / 1000.0, (long long)ag->step_count);
	pthread_mutex_lock(&ag->lock);
	for (size_t i = 0; i < ag->n_workers; i++) {
		busy_ns += ag->workers[i].busy_ns;
		if (ag->workers[i].run_id) {
			busy++;
			busy_ns += now - ag->workers[i].busy_since_ns;
		}
	}
	pthread_mutex_unlock(&ag->lock);
	buf_printf(&b, "# HELP gantry_workers Workers of this agent.\n# TYPE gantry_workers gauge\n"
		   "gantry_workers %zu\n"
		   "# HELP gantry_workers_busy Workers running a run now.\n"
		   "# TYPE gantry_workers_busy gauge\ngantry_workers_busy %zu\n"
		   "# HELP gantry_worker_busy_seconds_total Time workers spent on runs; "
		   "utilisation is its rate over gantry_workers.\n"
		   "# TYPE gantry_worker_busy_seconds_total counter\n"
		   "gantry_worker_busy_seconds_total %.3f\n"
		   "# HELP gantry_uptime_seconds Seconds since the agent started.\n"
		   "# TYPE gantry_uptime_seconds gauge\ngantry_uptime_seconds %.0f\n",
		   ag->n_workers, busy, (double)busy_ns / 1e9,
		   (double)(now - ag->started_ns) / 1e9);
	return http_answer(c, 200, "text/plain; version=0.0.4", buf_detach(&b, NULL));
}
