/*
 * queue_pg_read: the PostgreSQL queue's reads, for the API and the CLI:
 * one run with its jobs and steps (pg_get), a page of runs (pg_list) and
 * the counts by status (pg_counts), each turned from libpq's results into
 * JSON; a repository's clone URLs (pg_repo_clone_urls); pg_rows and
 * pg_value, which read one statement's answer for both files; and
 * pg_array_add, which writes a text[] parameter. The connection, its
 * retries and every other write are in queue_pg.c; a read is one
 * statement (or two, for a run's jobs and steps) outside any transaction,
 * so pg_exec may reset a lost connection and send it again. The fleet's
 * OIDC keys (pg_keys_put, pg_keys_get) are here too: their writes are
 * single statements that may be sent again as well.
 */
#include "queue_pg_int.h"

#include "../lib/buf.h"
#include "../lib/jsonx.h"
#include "../lib/strv.h"
#include "../lib/util.h"

#include <string.h>

#define PG_LIST_MAX 1000

/* ---- one statement's answer, for both files ---- */

int pg_rows(struct queue_pg *q, const char *what, const char *sql, int n,
	    const char *const *params, struct err *e)
{
	PGresult *res;
	int r = pg_exec(q, &res, what, sql, n, params, e);

	if (r < 0)
		return r;
	r = PQntuples(res);
	PQclear(res);
	return r;
}

int pg_value(struct queue_pg *q, long long *out, const char *what,
	     const char *sql, int n, const char *const *params, struct err *e)
{
	PGresult *res;
	int r = pg_exec(q, &res, what, sql, n, params, e);

	if (r < 0)
		return r;
	*out = PQntuples(res) == 1 ? pg_col_ll(res, 0, 0) : -1;
	PQclear(res);
	return 0;
}

/* ---- runs as JSON ---- */

#define RUN_COLS "id, delivery, forge, event, repo, ref, sha, workflow," \
	" status, note, error, agent, attempts, created_ms, started_ms," \
	" finished_ms, log_path"

/* Row row of res from column first on as an object, keyed by the column
 * names, numbers for integer columns, null for NULL; a new reference. */
static json_t *row_json(const PGresult *res, int row, int first)
{
	json_t *o = json_object(), *v;

	for (int c = first; c < PQnfields(res); c++) {
		Oid type = PQftype(res, c);

		if (PQgetisnull(res, row, c))
			v = json_null();
		else if (type == 20 || type == 21 || type == 23) /* int8/2/4 */
			v = json_integer(pg_col_ll(res, row, c));
		else
			v = json_string(PQgetvalue(res, row, c));
		json_object_set_new(o, PQfname(res, c), v ? v : json_null());
	}
	return o;
}

/* run["jobs"], each job with its "steps". */
static int get_jobs(struct queue_pg *q, const char *const *p, json_t *run,
		    struct err *e)
{
	json_t *jobs = json_array(), *job;
	PGresult *jr, *sr;
	int r, k;

	json_object_set_new(run, "jobs", jobs);
	r = pg_exec(q, &jr, "get: jobs",
		    "SELECT idx, workflow, job_id AS id, name, result, started_at,"
		    " finished_at, duration_ms FROM jobs WHERE run_id = $1"
		    " ORDER BY idx", 1, p, e);
	if (r < 0)
		return r;
	r = pg_exec(q, &sr, "get: steps",
		    "SELECT job_idx, name, result, exit_code, started_ms, duration_ms"
		    " FROM steps WHERE run_id = $1 ORDER BY job_idx, idx", 1, p, e);
	if (r < 0) {
		PQclear(jr);
		return r;
	}
	for (int i = 0; i < PQntuples(jr); i++) {
		job = row_json(jr, i, 1);
		json_object_set_new(job, "steps", json_array());
		json_array_append_new(jobs, job);
	}
	for (int i = 0; i < PQntuples(sr); i++) {
		for (k = 0; k < PQntuples(jr); k++)
			if (pg_col_ll(jr, k, 0) == pg_col_ll(sr, i, 0))
				break;
		job = json_array_get(jobs, (size_t)k);	/* NULL: no such job */
		json_array_append_new(json_object_get(job, "steps"),
				      row_json(sr, i, 1));
	}
	PQclear(jr);
	PQclear(sr);
	return 0;
}

int pg_get(struct queue *base, long long run_id, json_t **out, struct err *e)
{
	struct queue_pg *q = (struct queue_pg *)base;
	struct pg_num nid;
	const char *p[] = { pg_num_str(&nid, run_id) };
	PGresult *res;
	json_t *run;
	int r;

	r = pg_exec(q, &res, "get", "SELECT " RUN_COLS " FROM runs WHERE id = $1",
		    1, p, e);
	if (r < 0)
		return r;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return err_set(e, ERR_NOT_FOUND, "queue %s: run %lld not found",
			       q->safe, run_id);
	}
	run = row_json(res, 0, 0);
	PQclear(res);
	r = get_jobs(q, p, run, e);
	if (r < 0) {
		json_decref(run);
		return r;
	}
	*out = run;
	return 0;
}

int pg_list(struct queue *base, long limit, long long before,
	    const char *status, json_t **out, struct err *e)
{
	struct pg_num nlim, nbefore;
	long lim = limit < 1 ? 1 : limit > PG_LIST_MAX ? PG_LIST_MAX : limit;
	const char *p[] = { pg_num_str(&nlim, lim), pg_num_str(&nbefore, before), status };
	PGresult *res;
	int r;

	r = pg_exec((struct queue_pg *)base, &res, "list",
		    "SELECT " RUN_COLS " FROM runs"
		    " WHERE ($2::bigint <= 0 OR id < $2::bigint)"
		    " AND ($3::text IS NULL OR status = $3::text)"
		    " ORDER BY id DESC LIMIT $1", 3, p, e);
	if (r < 0)
		return r;
	*out = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(*out, row_json(res, i, 0));
	PQclear(res);
	return 0;
}

int pg_counts(struct queue *base, json_t **out, struct err *e)
{
	static const char *const statuses[] = { "queued", "running", "success",
		"failure", "cancelled", "skipped" };
	json_t *o, *runs;
	PGresult *res;
	int r;

	r = pg_exec((struct queue_pg *)base, &res, "counts",
		    "SELECT status, count(*) FROM runs GROUP BY status"
		    " UNION ALL SELECT NULL, count(*) FROM deliveries", 0, NULL, e);
	if (r < 0)
		return r;
	o = json_object();
	runs = json_object();
	json_object_set_new(o, "runs", runs);
	for (size_t i = 0; i < ARRAY_SIZE(statuses); i++)
		json_object_set_new(runs, statuses[i], json_integer(0));
	for (int i = 0; i < PQntuples(res); i++)
		json_object_set_new(PQgetisnull(res, i, 0) ? o : runs,
				    PQgetisnull(res, i, 0) ? "deliveries" :
				    PQgetvalue(res, i, 0),
				    json_integer(pg_col_ll(res, i, 1)));
	PQclear(res);
	json_object_set(o, "queued", json_object_get(runs, "queued"));
	json_object_set(o, "running", json_object_get(runs, "running"));
	*out = o;
	return 0;
}

int pg_repo_clone_urls(struct queue *base, const char *repo, long limit,
		       struct strv *out, struct err *e)
{
	struct pg_num nlim;
	const char *p[] = { repo, pg_num_str(&nlim, limit < 1 ? 1 : limit) };
	PGresult *res;
	int r;

	r = pg_exec((struct queue_pg *)base, &res, "repo clone URLs",
		    "SELECT DISTINCT clone_url FROM (SELECT clone_url FROM runs"
		    " WHERE repo = $1 AND substr(delivery, 1, 7) <> 'manual:'"
		    " ORDER BY id DESC LIMIT $2::bigint) AS newest", 2, p, e);
	if (r < 0)
		return r;
	for (int i = 0; i < PQntuples(res); i++)
		strv_push(out, PQgetvalue(res, i, 0));
	PQclear(res);
	return 0;
}

/* ---- text[] parameters, for queue_pg.c ---- */

/*
 * Inside double quotes, PostgreSQL's array input takes every byte as it
 * is but '"' and '\', which stand for themselves after a backslash; so
 * blanks, line breaks, commas, braces and the word NULL need nothing
 * more, and the element reads back byte for byte. NULL, unquoted, is the
 * null element.
 */
void pg_array_add(struct buf *b, const char *s)
{
	size_t k;

	buf_addch(b, b->len ? ',' : '{');
	if (!s) {
		buf_adds(b, "NULL");
		return;
	}
	buf_addch(b, '"');
	while (*s) {
		k = strcspn(s, "\"\\");
		buf_add(b, s, k);
		s += k;
		if (*s) {
			buf_addch(b, '\\');
			buf_addch(b, *s++);
		}
	}
	buf_addch(b, '"');
}

const char *pg_array_end(struct buf *b)
{
	buf_adds(b, b->len ? "}" : "{}");
	return b->ptr;
}

/* ---- the fleet's OIDC public keys (queue_keys_put, queue_keys_get) ---- */

/* One statement each, so that pg_exec may send it again after a lost
 * connection: an upsert of one key, and the deletion of the old ones. */
int pg_keys_put(struct queue *base, const json_t *rows, long long now_ms,
		long long keep_ms, struct err *e)
{
	struct queue_pg *q = (struct queue_pg *)base;
	struct pg_num now, old;
	const json_t *row;
	size_t i;

	pg_num_str(&now, now_ms);
	json_array_foreach(rows, i, row) {
		const char *p[] = { jsonx_str(row, "kid"), jsonx_str(row, "jwk"),
				    jsonx_str(row, "mac"), base->agent_id, now.s };

		if (pg_exec(q, NULL, "OIDC keys",
			    "INSERT INTO oidc_keys (kid, jwk, mac, agent, seen_ms)"
			    " VALUES ($1, $2, $3, $4, $5::bigint) ON CONFLICT (kid)"
			    " DO UPDATE SET jwk = $2, mac = $3, agent = $4,"
			    " seen_ms = $5::bigint", 5, p, e) < 0)
			return -1;
	}
	{
		struct pg_num keep;
		const char *p[] = { pg_num_str(&old, now_ms - keep_ms),
				    pg_num_str(&keep, keep_ms) };

		/* by the earlier of this clock and the database's: an agent
		 * whose clock runs ahead deletes no one's rows early */
		return pg_exec(q, NULL, "OIDC keys", "DELETE FROM oidc_keys"
			       " WHERE seen_ms < LEAST($1::bigint, (extract(epoch FROM"
			       " clock_timestamp()) * 1000)::bigint - $2::bigint)",
			       2, p, e) < 0 ? -1 : 0;
	}
}

int pg_keys_get(struct queue *base, long long since_ms, json_t **out,
		struct err *e)
{
	static const char *const names[] = { "kid", "jwk", "mac", "agent" };
	struct pg_num since;
	const char *p[] = { pg_num_str(&since, since_ms) };
	PGresult *res;
	json_t *a;

	if (pg_exec((struct queue_pg *)base, &res, "OIDC keys",
		    "SELECT kid, jwk, mac, agent, seen_ms FROM oidc_keys"
		    " WHERE seen_ms >= $1::bigint ORDER BY kid", 1, p, e) < 0)
		return -1;
	a = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *o = json_object();

		for (int k = 0; k < 4; k++)
			jsonx_set_str(o, names[k], PQgetvalue(res, i, k));
		json_object_set_new(o, "seen_ms", json_integer(pg_col_ll(res, i, 4)));
		json_array_append_new(a, o);
	}
	PQclear(res);
	*out = a;
	return 0;
}
