/*
 * queue_sqlite_read: the reading side of the SQLite queue (queue_get,
 * queue_list, queue_counts and the helpers that turn rows into the JSON
 * queue.h shows; a repository's clone URLs), and under it the plumbing
 * both halves use: errors, cached statements, and the transaction that is run again, whole, while
 * the file is busy. queue_sqlite.c opens, migrates and writes;
 * queue_sqlite_int.h is what the two share.
 */
#include "queue_sqlite_int.h"

#include "../lib/jsonx.h"
#include "../lib/strv.h"
#include "../lib/util.h"

#include <errno.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <time.h>

#define QSQL_LIST_MAX 1000

/* ---- errors, statements, transactions ---- */

bool qsql_busy(int rc)
{
	return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

/* Fill e from the connection's last failure: "queue URL: what: why". */
int qsql_err(struct qsql *q, struct err *e, const char *what)
{
	enum err_code code = ERR_IO;

	q->rc = sqlite3_extended_errcode(q->db);
	if (qsql_busy(q->rc))
		code = ERR_TIMEOUT;
	else if ((q->rc & 0xff) == SQLITE_CONSTRAINT)
		code = ERR_INVALID;
	return err_set(e, code, "queue %s: %s: %s", q->url, what,
		       sqlite3_errmsg(q->db));
}

int qsql_not_found(struct qsql *q, struct err *e, long long id)
{
	return err_set(e, ERR_NOT_FOUND, "queue %s: run %lld not found", q->url, id);
}

sqlite3_stmt *qsql_vprep(struct qsql *q, enum st which, const char *fmt,
			 va_list ap)
{
	sqlite3_stmt *s = q->st[which];

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	for (int i = 1; *fmt; fmt++, i++) {
		if (*fmt == 's') {
			const char *v = va_arg(ap, const char *);

			if (v)
				sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
		} else {
			long long v = va_arg(ap, long long);

			if (*fmt == 'i' || v >= 0)
				sqlite3_bind_int64(s, i, v);
		}
	}
	return s;
}

/* The cached statement, reset, with ?1, ?2, ... bound as fmt says: 's' a
 * string (NULL binds NULL), 'i' a long long, 'k' a long long that binds
 * NULL when negative (a duration or exit code that is unknown). */
sqlite3_stmt *qsql_prep(struct qsql *q, enum st which, const char *fmt, ...)
{
	sqlite3_stmt *s;
	va_list ap;

	va_start(ap, fmt);
	s = qsql_vprep(q, which, fmt, ap);
	va_end(ap);
	return s;
}

/* Step s: 1 for a row, 0 when done, -1 with e filled. */
int qsql_step(struct qsql *q, sqlite3_stmt *s, const char *what,
	      struct err *e)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return qsql_err(q, e, what);
}

void qsql_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * Run fn in one transaction (write: BEGIN IMMEDIATE), committing when it
 * returns >= 0 and rolling back otherwise. A try that failed on a busy
 * or locked database is rolled back and made again, whole, so fn writes
 * its results only where a later try overwrites them. Returns fn's
 * result; e is untouched on success, even after retries.
 */
int qsql_tx_run(struct qsql *q, bool write, qsql_tx_fn fn, void *ctx,
		const char *what, struct err *e)
{
	long long deadline = time_mono_ns() + QSQL_RETRY_MS * 1000000LL;
	struct err te = ERR_INIT;
	sqlite3_stmt *s;
	long pause = 1;
	int r, c;

	for (;;) {
		err_clear(&te);
		q->rc = SQLITE_OK;
		r = qsql_step(q, qsql_prep(q, write ? ST_BEGIN_W : ST_BEGIN_R, ""),
			      what, &te);
		if (r >= 0)
			r = fn(q, ctx, &te);
		/* done with every statement (a pending one holds a read) */
		for (s = NULL; (s = sqlite3_next_stmt(q->db, s)); )
			if (sqlite3_stmt_busy(s))
				sqlite3_reset(s);
		if (r >= 0 && (c = qsql_step(q, qsql_prep(q, ST_COMMIT, ""), what,
					      &te)) >= 0)
			return r;
		if (r >= 0)
			r = c;
		if (!sqlite3_get_autocommit(q->db))
			sqlite3_step(qsql_prep(q, ST_ROLLBACK, ""));
		sqlite3_reset(q->st[ST_ROLLBACK]);
		if (!qsql_busy(q->rc) || time_mono_ns() > deadline)
			break;
		qsql_sleep_ms(pause + (long)(time_mono_ns() / 1000 % 7));
		pause = pause < 50 ? pause * 2 : 50;
	}
	*e = te;
	return r;
}

/* ---- reading ---- */

/* The row's first n columns as an object keyed by column name (NULL is
 * null, integers are integers). */
static json_t *row_json(sqlite3_stmt *s, int n)
{
	json_t *o = json_object(), *v;

	for (int i = 0; i < n; i++) {
		switch (sqlite3_column_type(s, i)) {
		case SQLITE_INTEGER:
			v = json_integer(sqlite3_column_int64(s, i));
			break;
		case SQLITE_NULL:
			v = json_null();
			break;
		default:
			v = json_string((const char *)sqlite3_column_text(s, i));
			break;
		}
		json_object_set_new(o, sqlite3_column_name(s, i), v ? v : json_null());
	}
	return o;
}

/* A transaction that reads into a new JSON value: *out on success. */
static int tx_json(struct qsql *q, qsql_tx_fn fn, void *ctx, json_t **slot,
		   const char *what, json_t **out, struct err *e)
{
	if (qsql_tx_run(q, false, fn, ctx, what, e) < 0) {
		json_decref(*slot);
		return -1;
	}
	*out = *slot;
	return 0;
}

struct read_ctx {
	long long id;		/* get: the run; list: before */
	long long limit;
	const char *status;
	json_t *out;
};

static int get_tx(struct qsql *q, void *ctx, struct err *e)
{
	struct read_ctx *c = ctx;
	sqlite3_stmt *s = qsql_prep(q, ST_GET, "i", c->id), *ss;
	json_t *jobs, *job, *steps;
	int r;

	json_decref(c->out);
	c->out = NULL;
	if ((r = qsql_step(q, s, "get", e)) <= 0)
		return r < 0 ? r : qsql_not_found(q, e, c->id);
	c->out = row_json(s, sqlite3_column_count(s));
	json_object_set_new(c->out, "jobs", jobs = json_array());
	s = qsql_prep(q, ST_GET_JOBS, "i", c->id);
	while ((r = qsql_step(q, s, "get: jobs", e)) > 0) {
		job = row_json(s, sqlite3_column_count(s) - 1);	/* not idx */
		json_object_set_new(job, "steps", steps = json_array());
		json_array_append_new(jobs, job);
		ss = qsql_prep(q, ST_GET_STEPS, "ii", c->id,
			       sqlite3_column_int64(s, 7));
		while ((r = qsql_step(q, ss, "get: steps", e)) > 0)
			json_array_append_new(steps, row_json(ss, 5));
		if (r < 0)
			return r;
	}
	return r;
}

int qsql_get(struct queue *base, long long run_id, json_t **out,
	     struct err *e)
{
	struct read_ctx c = { .id = run_id };

	return tx_json((struct qsql *)base, get_tx, &c, &c.out, "get", out, e);
}

static int list_tx(struct qsql *q, void *ctx, struct err *e)
{
	struct read_ctx *c = ctx;
	sqlite3_stmt *s = qsql_prep(q, ST_LIST, "iis", c->limit, c->id,
				    c->status);
	int r;

	json_array_clear(c->out);
	while ((r = qsql_step(q, s, "list", e)) > 0)
		json_array_append_new(c->out, row_json(s, sqlite3_column_count(s)));
	return r;
}

int qsql_list(struct queue *base, long limit, long long before,
	      const char *status, json_t **out, struct err *e)
{
	struct read_ctx c = { before, limit, status, json_array() };

	c.limit = limit < 1 ? 1 : limit > QSQL_LIST_MAX ? QSQL_LIST_MAX : limit;
	return tx_json((struct qsql *)base, list_tx, &c, &c.out, "list", out, e);
}

static int counts_tx(struct qsql *q, void *ctx, struct err *e)
{
	struct read_ctx *c = ctx;
	json_t *runs = json_object();
	sqlite3_stmt *s = qsql_prep(q, ST_COUNT_RUNS, "");
	int r;

	json_object_clear(c->out);
	json_object_set_new(c->out, "runs", runs);
	for (size_t i = 0; i < ARRAY_SIZE(qsql_statuses); i++)
		json_object_set_new(runs, qsql_statuses[i], json_integer(0));
	while ((r = qsql_step(q, s, "counts", e)) > 0)
		json_object_set_new(runs, (const char *)sqlite3_column_text(s, 0),
				    json_integer(sqlite3_column_int64(s, 1)));
	s = qsql_prep(q, ST_COUNT_DELIVERIES, "");
	if (r < 0 || (r = qsql_step(q, s, "counts", e)) <= 0)
		return r;
	json_object_set_new(c->out, "deliveries",
			    json_integer(sqlite3_column_int64(s, 0)));
	json_object_set(c->out, "queued", json_object_get(runs, "queued"));
	json_object_set(c->out, "running", json_object_get(runs, "running"));
	return 0;
}

int qsql_counts(struct queue *base, json_t **out, struct err *e)
{
	struct read_ctx c = { .out = json_object() };

	return tx_json((struct qsql *)base, counts_tx, &c, &c.out, "counts", out,
		       e);
}

/*
 * The distinct clone URLs of the newest ?2 runs of repo ?1 that came from
 * a webhook (not "manual:"), for queue_repo_knows_url. Prepared for each
 * call, not kept in q->st[] like the others (open's schema check is the
 * other exception).
 */
#define CLONE_URLS_SQL \
	"SELECT DISTINCT clone_url FROM (SELECT clone_url FROM runs" \
	" WHERE repo = ?1 AND substr(delivery, 1, 7) <> 'manual:'" \
	" ORDER BY id DESC LIMIT ?2) AS newest"

struct urls_ctx {
	const char *repo;
	long long limit;
	struct strv urls;	/* owned; this try's rows */
};

static int clone_urls_tx(struct qsql *q, void *ctx, struct err *e)
{
	struct urls_ctx *c = ctx;
	sqlite3_stmt *s = NULL;
	int r;

	strv_release(&c->urls);		/* a try made again starts over */
	if (sqlite3_prepare_v2(q->db, CLONE_URLS_SQL, -1, &s, NULL) != SQLITE_OK)
		return qsql_err(q, e, "repo clone URLs");
	sqlite3_bind_text(s, 1, c->repo, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, c->limit);
	while ((r = qsql_step(q, s, "repo clone URLs", e)) > 0) {
		const char *url = (const char *)sqlite3_column_text(s, 0);

		if (url)
			strv_push(&c->urls, url);
	}
	sqlite3_finalize(s);
	return r;
}

int qsql_repo_clone_urls(struct queue *base, const char *repo, long limit,
			 struct strv *out, struct err *e)
{
	struct urls_ctx c = { repo, limit < 1 ? 1 : limit, STRV_INIT };
	int r;

	r = qsql_tx_run((struct qsql *)base, false, clone_urls_tx, &c,
			"repo clone URLs", e);
	for (size_t i = 0; r >= 0 && i < c.urls.n; i++)
		strv_push(out, c.urls.v[i]);
	strv_release(&c.urls);
	return r < 0 ? r : 0;
}

/* ---- the fleet's OIDC public keys (queue_keys_put, queue_keys_get) ---- */

struct keys_ctx {
	const json_t *rows;
	long long now_ms, keep_ms, since_ms;
	json_t *out;		/* get: this try's rows */
};

static int keys_put_tx(struct qsql *q, void *ctx, struct err *e)
{
	struct keys_ctx *c = ctx;
	sqlite3_stmt *s = NULL;
	const json_t *row;
	size_t i;
	int r = 0;

	if (sqlite3_prepare_v2(q->db, "INSERT OR REPLACE INTO oidc_keys(kid, jwk,"
			       " mac, agent, seen_ms) VALUES(?1, ?2, ?3, ?4, ?5)",
			       -1, &s, NULL) != SQLITE_OK)
		return qsql_err(q, e, "OIDC keys");
	json_array_foreach(c->rows, i, row) {
		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, jsonx_str(row, "kid"), -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 2, jsonx_str(row, "jwk"), -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 3, jsonx_str(row, "mac"), -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 4, q->base.agent_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, 5, c->now_ms);
		if ((r = qsql_step(q, s, "OIDC keys", e)) < 0)
			break;
	}
	sqlite3_finalize(s);
	if (r < 0)
		return r;
	if (sqlite3_prepare_v2(q->db, "DELETE FROM oidc_keys WHERE seen_ms < ?1",
			       -1, &s, NULL) != SQLITE_OK)
		return qsql_err(q, e, "OIDC keys");
	sqlite3_bind_int64(s, 1, c->now_ms - c->keep_ms);
	r = qsql_step(q, s, "OIDC keys", e);
	sqlite3_finalize(s);
	return r;
}

int qsql_keys_put(struct queue *base, const json_t *rows, long long now_ms,
		  long long keep_ms, struct err *e)
{
	struct keys_ctx c = { rows, now_ms, keep_ms, 0, NULL };

	return qsql_tx_run((struct qsql *)base, true, keys_put_tx, &c,
			   "OIDC keys", e) < 0 ? -1 : 0;
}

static int keys_get_tx(struct qsql *q, void *ctx, struct err *e)
{
	struct keys_ctx *c = ctx;
	sqlite3_stmt *s = NULL;
	int r;

	json_decref(c->out);		/* a try made again starts over */
	c->out = json_array();
	if (sqlite3_prepare_v2(q->db, "SELECT kid, jwk, mac, agent, seen_ms FROM oidc_keys"
			       " WHERE seen_ms >= ?1 ORDER BY kid", -1, &s,
			       NULL) != SQLITE_OK)
		return qsql_err(q, e, "OIDC keys");
	sqlite3_bind_int64(s, 1, c->since_ms);
	while ((r = qsql_step(q, s, "OIDC keys", e)) > 0) {
		json_t *o = json_object();
		static const char *const names[] = { "kid", "jwk", "mac", "agent" };

		for (int k = 0; k < 4; k++) {
			const char *v = (const char *)sqlite3_column_text(s, k);

			jsonx_set_str(o, names[k], v ? v : "");
		}
		json_object_set_new(o, "seen_ms", json_integer(sqlite3_column_int64(s, 4)));
		json_array_append_new(c->out, o);
	}
	sqlite3_finalize(s);
	return r;
}

int qsql_keys_get(struct queue *base, long long since_ms, json_t **out,
		  struct err *e)
{
	struct keys_ctx c = { NULL, 0, 0, since_ms, NULL };

	if (qsql_tx_run((struct qsql *)base, false, keys_get_tx, &c,
			"OIDC keys", e) < 0) {
		json_decref(c.out);
		return -1;
	}
	*out = c.out;
	return 0;
}
