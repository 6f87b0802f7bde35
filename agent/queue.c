/*
 * queue: the dispatch to the backend a URL names, and what both backends
 * share (reading a run's summary into rows, redacting URLs, comparing
 * clone URLs).
 */
#include "queue_int.h"

#include "../lib/buf.h"
#include "../lib/git.h"
#include "../lib/util.h"
#include "../lib/jsonx.h"
#include "../lib/strv.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How many of a repo's newest webhook runs queue_repo_knows_url reads. */
#define KNOWN_URL_RUNS 1000

long long queue_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *queue_url_redact(const char *url)
{
	const char *scheme = strstr(url, "://");
	const char *at, *colon, *slash;

	if (!scheme)
		return xstrdup(url);
	scheme += 3;
	slash = strchr(scheme, '/');
	at = strchr(scheme, '@');
	if (!at || (slash && at > slash))
		return xstrdup(url);
	colon = memchr(scheme, ':', (size_t)(at - scheme));
	if (!colon)
		return xstrdup(url);
	return xasprintf("%.*s:***%s", (int)(colon - url), url, at);
}

int queue_open(struct queue **out, const char *url, const char *agent_id,
	       struct err *e)
{
	const struct queue_ops *ops;
	char *safe;
	int r;

	if (str_starts_with(url, "sqlite://")) {
		ops = &queue_sqlite_ops;
	} else if (str_starts_with(url, "postgres://") ||
		   str_starts_with(url, "postgresql://")) {
		ops = &queue_pg_ops;
	} else {
		safe = queue_url_redact(url);
		r = err_set(e, ERR_INVALID, "queue URL '%s': expected sqlite:///path "
			    "or postgres://...", safe);
		free(safe);
		return r;
	}
	r = ops->open(out, url, agent_id, e);
	if (r < 0)
		return r;
	(*out)->ops = ops;
	if (!(*out)->agent_id)
		(*out)->agent_id = xstrdup(agent_id);
	return 0;
}

void queue_close(struct queue *q)
{
	if (q)
		q->ops->close(q);
}

void queue_relax_sync(struct queue *q)
{
	if (q->ops->relax_sync)
		q->ops->relax_sync(q);
}

const char *queue_backend(const struct queue *q)
{
	return q->ops->name;
}

void queue_run_release(struct queue_run *r)
{
	free(r->delivery);
	free(r->forge);
	free(r->event);
	free(r->repo);
	free(r->clone_url);
	free(r->ref);
	free(r->sha);
	free(r->payload);
	free(r->workflow);
	free(r->inputs);
	memset(r, 0, sizeof(*r));
}

int queue_add(struct queue *q, const struct queue_new *runs, size_t n,
	      long long *run_ids, bool *dup, struct err *e)
{
	return q->ops->add(q, runs, n, run_ids, dup, e);
}

int queue_claim(struct queue *q, struct queue_run *out, long lease_s,
		struct err *e)
{
	return q->ops->claim(q, out, lease_s, e);
}

int queue_heartbeat(struct queue *q, long lease_s, const long long *held,
		    size_t n_held, json_t **cancel, json_t **gone, struct err *e)
{
	return q->ops->heartbeat(q, lease_s, held, n_held, cancel, gone, e);
}

int queue_recover(struct queue *q, const char *agent_id, bool fail,
		  long max_attempts, long long now_ms, size_t *n,
		  struct err *e)
{
	return q->ops->recover(q, agent_id, fail, max_attempts, now_ms, n, e);
}

int queue_release(struct queue *q, long long run_id, struct err *e)
{
	return q->ops->release ? q->ops->release(q, run_id, e) : 0;
}

int queue_set_status_note(struct queue *q, long long run_id, const char *note,
			  struct err *e)
{
	return q->ops->set_note(q, run_id, note, e);
}

int queue_finish(struct queue *q, long long run_id, const char *status,
		 const json_t *summary, const char *error, const char *log_path,
		 struct err *e)
{
	return q->ops->finish(q, run_id, status, summary, error, log_path, e);
}

int queue_cancel(struct queue *q, long long run_id, struct err *e)
{
	return q->ops->cancel(q, run_id, e);
}

int queue_get(struct queue *q, long long run_id, json_t **out, struct err *e)
{
	return q->ops->get(q, run_id, out, e);
}

int queue_list(struct queue *q, long limit, long long before,
	       const char *status, json_t **out, struct err *e)
{
	return q->ops->list(q, limit, before, status, out, e);
}

char *queue_clone_url_norm(const char *url)
{
	static const struct { const char *scheme; int port; } dflt[] = {
		{ "https", 443 }, { "http", 80 }, { "ssh", 22 }, { "git", 9418 },
	};
	size_t n = strspn(url, "abcdefghijklmnopqrstuvwxyz"
			  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");
	struct gitx_url u;
	struct err e = ERR_INIT;
	struct buf b = BUF_INIT;
	size_t plen;
	int port;

	/* scheme://... only (not the scp form), without query or fragment */
	if (!n || !isalpha((unsigned char)url[0]) || strncmp(url + n, "://", 3) ||
	    strpbrk(url, "?#") || gitx_url_parse(&u, url, &e) < 0)
		return NULL;
	if (!*u.host) {		/* "https:///x", "https://:443/x" */
		gitx_url_release(&u);
		return NULL;
	}
	for (char *c = u.scheme; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	for (char *c = u.host; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	port = u.port;
	for (size_t k = 0; k < ARRAY_SIZE(dflt); k++)
		if (port == dflt[k].port && !strcmp(u.scheme, dflt[k].scheme))
			port = 0;
	plen = strlen(u.path);
	while (plen && u.path[plen - 1] == '/')
		plen--;
	if (plen >= 4 && !strncmp(u.path + plen - 4, ".git", 4))
		plen -= 4;
	while (plen && u.path[plen - 1] == '/')
		plen--;
	/* an IPv6 host keeps its brackets */
	buf_printf(&b, strchr(u.host, ':') ? "%s://[%s]" : "%s://%s", u.scheme, u.host);
	if (port)
		buf_printf(&b, ":%d", port);
	if (plen)
		buf_printf(&b, "/%.*s", (int)plen, u.path);
	gitx_url_release(&u);
	return buf_detach(&b, NULL);
}

int queue_repo_knows_url(struct queue *q, const char *repo, const char *url,
			 struct err *e)
{
	struct strv urls = STRV_INIT;
	char *want = queue_clone_url_norm(url);
	int r = 0;

	if (!want)
		return 0;
	if (q->ops->repo_clone_urls(q, repo, KNOWN_URL_RUNS, &urls, e) < 0)
		r = -1;
	for (size_t i = 0; r == 0 && i < urls.n; i++) {
		char *have = queue_clone_url_norm(urls.v[i]);

		r = have && !strcmp(have, want);
		free(have);
	}
	strv_release(&urls);
	free(want);
	return r;
}

int queue_counts(struct queue *q, json_t **out, struct err *e)
{
	return q->ops->counts(q, out, e);
}

int queue_keys_put(struct queue *q, const json_t *rows, long long now_ms,
		   long long keep_ms, struct err *e)
{
	size_t i;
	const json_t *row;

	json_array_foreach(rows, i, row)
		if (!jsonx_str(row, "kid") || !jsonx_str(row, "jwk") ||
		    !jsonx_str(row, "mac"))
			return err_set(e, ERR_INVALID, "queue: OIDC key row %zu "
				       "lacks its kid, jwk or mac", i);
	return q->ops->keys_put(q, rows, now_ms, keep_ms, e);
}

int queue_keys_get(struct queue *q, long long since_ms, json_t **out,
		   struct err *e)
{
	*out = NULL;
	return q->ops->keys_get(q, since_ms, out, e);
}

/* The batches and the time budget are the same for both backends: here. */
int queue_prune(struct queue *q, long long before_ms, size_t *n,
		struct err *e)
{
	long long deadline = time_mono_ns() + QUEUE_PRUNE_BUDGET_MS * 1000000LL;
	size_t total = 0, got;
	int r;

	for (;;) {
		got = 0;
		r = q->ops->prune(q, before_ms, QUEUE_PRUNE_BATCH, &got, e);
		total += got;
		if (r < 0 || got < QUEUE_PRUNE_BATCH)
			break;
		if (time_mono_ns() > deadline) {
			r = 1;		/* more may be left: the next call's */
			break;
		}
	}
	if (n)
		*n = total;
	return r < 0 ? r : r > 0;
}

int queue_test_reset(struct queue *q, struct err *e)
{
	return q->ops->reset(q, e);
}

static long long int_or(const json_t *o, const char *key, long long dflt)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static int walk_one(const json_t *wf, long *job_idx,
		    int (*fn_job)(void *, long, const struct queue_job_row *),
		    int (*fn_step)(void *, long, const struct queue_step_row *),
		    void *ctx)
{
	size_t i, k;
	json_t *job, *step;
	int r;

	json_array_foreach(json_object_get(wf, "jobs"), i, job) {
		struct queue_job_row j = {
			.workflow = jsonx_str(wf, "path"),
			.job_id = jsonx_str(job, "id"),
			.name = jsonx_str(job, "name"),
			.result = jsonx_str(job, "result"),
			.started_at = jsonx_str(job, "started_at"),
			.finished_at = jsonx_str(job, "finished_at"),
			.duration_ms = int_or(job, "duration_ms", -1),
		};

		if (!j.job_id || !j.result)
			continue;
		r = fn_job(ctx, *job_idx, &j);
		if (r < 0)
			return r;
		json_array_foreach(json_object_get(job, "steps"), k, step) {
			struct queue_step_row s = {
				.idx = (long)k,
				.name = jsonx_str(step, "name"),
				.result = jsonx_str(step, "conclusion"),
				.exit_code = (long)int_or(step, "exit_code", -1),
				.started_ms = int_or(step, "started_ms", -1),
				.duration_ms = int_or(step, "duration_ms", -1),
			};

			if (!s.name)
				continue;
			r = fn_step(ctx, *job_idx, &s);
			if (r < 0)
				return r;
		}
		(*job_idx)++;
	}
	return 0;
}

int queue_walk_summary(const json_t *summary,
		       int (*fn_job)(void *ctx, long job_idx, const struct queue_job_row *j),
		       int (*fn_step)(void *ctx, long job_idx, const struct queue_step_row *s),
		       void *ctx)
{
	long job_idx = 0;
	size_t i;
	json_t *wf;
	int r;

	if (json_is_object(summary))
		return walk_one(summary, &job_idx, fn_job, fn_step, ctx);
	json_array_foreach(summary, i, wf) {
		r = walk_one(wf, &job_idx, fn_job, fn_step, ctx);
		if (r < 0)
			return r;
	}
	return 0;
}
