/*
 * queue_pg: the queue in PostgreSQL, for a fleet of agents sharing one
 * database (libpq, one connection per struct queue): the connection and
 * its retries, and every write. The migrations are in queue_pg_schema.c,
 * the reads in queue_pg_read.c; libpq is loaded by queue_pg_lib.c when
 * the first queue opens.
 *
 * Rules that always hold here:
 * - Values only ever travel as PQexecParams text parameters; the SQL text
 *   is constant.
 * - Leases are written and checked in the database's clock (PG_NOW), not
 *   an agent's: agents on several machines disagree on the time, and a
 *   lease written with one clock and checked with another would expire
 *   early or late (recover may be asked for a later "now": recover_work).
 *   The other times (created, started, finished) are the agents', for
 *   people.
 * - Every session runs with synchronous_commit on and a 30 s
 *   statement_timeout, so a COMMIT that answered is durable and no
 *   statement hangs an agent for ever.
 * - A lost connection is reset once and the work done again only when
 *   nothing of it can have committed: a statement outside a transaction
 *   (each of those here is safe to repeat), or a transaction that failed
 *   before its COMMIT was sent. When a COMMIT's answer is lost, claim,
 *   release and finish look whether their write is there (else a claimed
 *   run would stay held, its lease renewed, by an agent that does not
 *   know it, or a released one be carried out as well);
 *   add and recover report an error (a delivery not acknowledged comes
 *   again and is found by its ID; recover runs again on the next tick).
 * - Messages name the URL without its password (queue_url_redact).
 */
#include "queue_pg_int.h"

#include "../lib/buf.h"
#include "../lib/jsonx.h"
#include "../lib/util.h"

#include <stdlib.h>
#include <string.h>

#define PG_TRIES 3		/* a transaction's tries (deadlocks, lost links) */
/* now in Unix ms by the database's clock, for leases */
#define PG_NOW "(extract(epoch from clock_timestamp()) * 1000)::bigint"

static void ignore_notice(void *arg, const char *message)
{
}

/* Declared, with what it does, in queue_pg_int.h. */
int pg_fail(struct queue_pg *q, struct err *e, const PGresult *res,
	    const char *what)
{
	const char *msg = res ? PQresultErrorMessage(res) : "";
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	struct buf b = BUF_INIT;
	int r;

	if (!*msg)
		msg = PQerrorMessage(q->conn);
	/* one line: runs of blanks and line breaks become one space */
	for (const char *p = msg; *p; p++) {
		if (!strchr(" \t\r\n", *p))
			buf_addch(&b, *p);
		else if (b.len && b.ptr[b.len - 1] != ' ')
			buf_addch(&b, ' ');
	}
	if (b.len && b.ptr[b.len - 1] == ' ')
		buf_truncate(&b, b.len - 1);
	snprintf(q->sqlstate, sizeof(q->sqlstate), "%s", state ? state : "");
	r = err_set(e, !strcmp(q->sqlstate, "57014") ? ERR_TIMEOUT : ERR_IO,
		    "queue %s: %s: %s", q->safe, what, b.len ? b.ptr : "no answer");
	buf_release(&b);
	return r;
}

/* Per session: durability, a bound on every statement, UTF-8 text. */
static int pg_session(struct queue_pg *q, struct err *e)
{
	PGresult *res;
	int r = 0;

	res = PQexecParams(q->conn,
			   "SELECT set_config('synchronous_commit', 'on', false),"
			   " set_config('statement_timeout', '30s', false),"
			   " set_config('client_encoding', 'UTF8', false)",
			   0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		r = pg_fail(q, e, res, "session settings");
	PQclear(res);
	return r;
}

/* PQreset after a lost connection; 0 when it is back. */
static int pg_reconnect(struct queue_pg *q)
{
	struct err ignored = ERR_INIT;

	q->in_tx = false;
	PQreset(q->conn);
	if (PQstatus(q->conn) != CONNECTION_OK)
		return -1;
	return pg_session(q, &ignored);
}

/* Declared, with what it does, in queue_pg_int.h. */
int pg_exec(struct queue_pg *q, PGresult **out, const char *what,
	    const char *sql, int n, const char *const *params, struct err *e)
{
	PGresult *res;
	ExecStatusType st;
	int tries = 0, r;

	q->lost = false;
	q->sqlstate[0] = '\0';
	for (;;) {
		res = PQexecParams(q->conn, sql, n, NULL, params, NULL, NULL, 0);
		st = PQresultStatus(res);
		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
			if (out)
				*out = res;
			else
				PQclear(res);
			return 0;
		}
		if (PQstatus(q->conn) != CONNECTION_BAD)
			break;
		q->lost = true;
		if (q->in_tx || tries++ > 0)
			break;
		PQclear(res);
		res = NULL;
		if (pg_reconnect(q) < 0)
			break;
	}
	r = pg_fail(q, e, res, what);
	PQclear(res);
	return r;
}

/* After a failed transaction, rolled back: 1 when its lost COMMIT landed
 * after all, 0 to do it again (a deadlock; a connection lost before the
 * COMMIT, or at a COMMIT that did not land, and back now), -1 to stop. */
static int pg_after_fail(struct queue_pg *q, const struct pg_tx *tx,
			 struct err *e)
{
	int n;

	if (!q->lost)
		return strcmp(q->sqlstate, "40P01") &&
			strcmp(q->sqlstate, "40001") ? -1 : 0;
	if ((q->commit_sent && !tx->landed) || pg_reconnect(q) < 0)
		return -1;
	if (!q->commit_sent)
		return 0;
	n = pg_rows(q, "check the commit", tx->landed, tx->nparams,
		    tx->params, e);
	return n < 0 ? -1 : n > 0;
}

/* Declared, with what it does, in queue_pg_int.h. */
int pg_tx(struct queue_pg *q, const struct pg_tx *tx, struct err *e)
{
	struct err tmp = ERR_INIT;
	int r;

	for (int t = 0; t < PG_TRIES; t++) {
		err_clear(&tmp);
		q->commit_sent = false;
		if (pg_exec(q, NULL, "begin", "BEGIN", 0, NULL, &tmp) < 0)
			break;
		q->in_tx = true;
		r = tx->work(q, tx->ctx, &tmp);
		if (r >= 0) {
			q->commit_sent = true;
			if (pg_exec(q, NULL, "commit", "COMMIT", 0, NULL, &tmp) >= 0) {
				q->in_tx = false;
				return r;
			}
		}
		if (q->in_tx && PQstatus(q->conn) == CONNECTION_OK)
			PQclear(PQexec(q->conn, "ROLLBACK"));
		q->in_tx = false;
		r = pg_after_fail(q, tx, &tmp);
		if (r > 0)
			return r;
		if (r < 0)
			break;
	}
	*e = tmp;
	return -1;
}

static void pg_close(struct queue *base)
{
	struct queue_pg *q = (struct queue_pg *)base;

	if (!q)
		return;
	if (q->conn)	/* else libpq may not be loaded */
		PQfinish(q->conn);
	free(q->safe);
	free(q->base.agent_id);
	free(q);
}

/* Agents starting together migrate once: the first under the advisory
 * lock, the others find the version there when they get it. */
static int pg_open(struct queue **out, const char *url, const char *agent_id,
		   struct err *e)
{
	/* keywords before dbname are defaults the URL may override */
	const char *const keys[] = { "connect_timeout",
		"fallback_application_name", "dbname", NULL };
	const char *const vals[] = { "10", "gantry", url, NULL };
	struct queue_pg *q = xcalloc(1, sizeof(*q));
	int r;

	q->safe = queue_url_redact(url);
	q->base.agent_id = agent_id ? xstrdup(agent_id) : NULL;
	if (pg_lib_load(e) < 0) {
		r = err_wrap(e, "queue %s", q->safe);
		goto done;
	}
	q->conn = PQconnectdbParams(keys, vals, 1);
	if (!q->conn) {
		r = err_set(e, ERR_INTERNAL, "queue %s: connect: out of memory",
			    q->safe);
		goto done;
	}
	PQsetNoticeProcessor(q->conn, ignore_notice, NULL);
	if (PQstatus(q->conn) != CONNECTION_OK) {
		r = pg_fail(q, e, NULL, "connect");
		goto done;
	}
	r = pg_session(q, e);
	if (r >= 0)
		r = pg_migrate(q, e);
done:
	if (r < 0) {
		pg_close(&q->base);
		return r;
	}
	*out = &q->base;
	return 0;
}

/*
 * add: one statement for the batch, whatever its size, and one more when
 * some deliveries were there already, between BEGIN and COMMIT. $1..$10:
 * the batch's deliveries, each once (its first run), in batch order, as
 * text[] columns (pg_array_add); $11: now. Deliveries go in by ID, bytes
 * compared, so that batches adding the same IDs lock them in one order
 * and cannot deadlock; one there already is skipped once its adder has
 * committed. Their runs go in in batch order (run IDs follow arrival, as
 * on SQLite). Answers (k, run ID) for each delivery added, k its place
 * in $1 from 1.
 */
static const char add_sql[] =
	"WITH b AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[],"
	" $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],"
	" $9::text[], $10::text[]) WITH ORDINALITY AS b(delivery, forge, event,"
	" repo, clone_url, ref, sha, payload, workflow, inputs, k)),"
	" d AS (INSERT INTO deliveries (id, forge, event, received_ms, payload)"
	" SELECT delivery, forge, event, $11::bigint, payload FROM b"
	" ORDER BY delivery COLLATE \"C\" ON CONFLICT (id) DO NOTHING"
	" RETURNING id),"
	" r AS (INSERT INTO runs (delivery, forge, event, repo, clone_url, ref,"
	" sha, workflow, inputs, created_ms) SELECT b.delivery, b.forge, b.event,"
	" b.repo, b.clone_url, b.ref, b.sha, b.workflow, b.inputs, $11::bigint"
	" FROM b JOIN d ON d.id = b.delivery ORDER BY b.k"
	" RETURNING delivery, id)"
	" SELECT b.k, r.id FROM r JOIN b ON b.delivery = r.delivery";

#define ADD_COLS 10	/* add_sql's text[] parameters */

struct add_ctx {
	const struct queue_new *runs;
	size_t n, nuniq;
	size_t *first;		/* owned: first[i], the first run of i's delivery */
	size_t *uniq;		/* in first: each i with first[i] == i, in order */
	struct buf cols[ADD_COLS];	/* uniq's columns, text[] literals */
	const char *p[ADD_COLS + 1];	/* cols' text, now */
	struct pg_num now;
	long long *run_ids;
	bool *dup;
};

/* Runs of one batch by delivery ID (bytes, as COLLATE "C"), then order. */
static int cmp_delivery(const void *a, const void *b)
{
	const struct queue_new *x = *(const struct queue_new *const *)a;
	const struct queue_new *y = *(const struct queue_new *const *)b;
	int c = strcmp(x->delivery, y->delivery);

	return c ? c : (x > y) - (x < y);
}

/* first, uniq and add_sql's parameters. */
static void add_prepare(struct add_ctx *c)
{
	const struct queue_new **by_id = xcalloc(c->n, sizeof(*by_id));
	size_t i;

	for (i = 0; i < c->n; i++)
		by_id[i] = &c->runs[i];
	for (size_t col = 0; col < ADD_COLS; col++)
		c->cols[col] = (struct buf)BUF_INIT;
	qsort(by_id, c->n, sizeof(*by_id), cmp_delivery);
	for (size_t k = 0; k < c->n; k++) {	/* a delivery's runs: together */
		i = (size_t)(by_id[k] - c->runs);
		c->first[i] = k && !strcmp(by_id[k - 1]->delivery,
			by_id[k]->delivery) ? c->first[by_id[k - 1] - c->runs] : i;
	}
	free(by_id);
	for (i = 0; i < c->n; i++) {
		const struct queue_new *m = &c->runs[i];
		const char *v[ADD_COLS] = { m->delivery, m->forge, m->event,
			m->repo, m->clone_url, m->ref, m->sha, m->payload,
			m->workflow, m->inputs };

		if (c->first[i] != i)
			continue;
		c->uniq[c->nuniq++] = i;
		for (size_t col = 0; col < ADD_COLS; col++)
			pg_array_add(&c->cols[col], v[col]);
	}
	for (size_t col = 0; col < ADD_COLS; col++)
		c->p[col] = pg_array_end(&c->cols[col]);
	c->p[ADD_COLS] = pg_num_str(&c->now, queue_now_ms());
}

/* Each row (k, run ID) of res, which it clears: run_ids[uniq[k - 1]] (a
 * k out of range leaves a run without an ID, which add_work reports). */
static void add_answers(struct add_ctx *c, PGresult *res)
{
	for (int row = 0; row < PQntuples(res); row++) {
		long long k = pg_col_ll(res, row, 0);

		if (k >= 1 && (size_t)k <= c->nuniq)
			c->run_ids[c->uniq[k - 1]] = pg_col_ll(res, row, 1);
	}
	PQclear(res);
}

static int add_work(struct queue_pg *q, void *ctx, struct err *e)
{
	struct add_ctx *c = ctx;
	bool known = false;
	PGresult *res;
	int r;

	for (size_t u = 0; u < c->nuniq; u++)
		c->run_ids[c->uniq[u]] = -1;
	r = pg_exec(q, &res, "add", add_sql, ADD_COLS + 1, c->p, e);
	if (r < 0)
		return r;
	add_answers(c, res);
	for (size_t u = 0; u < c->nuniq; u++) {
		c->dup[c->uniq[u]] = c->run_ids[c->uniq[u]] < 0;
		known = known || c->dup[c->uniq[u]];
	}
	/* some were there before: the runs of all, in a new statement, which
	 * sees those that committed while add_sql waited for them */
	if (known) {
		r = pg_exec(q, &res, "add: deliveries there before",
			    "SELECT u.k, r.id FROM unnest($1::text[]) WITH"
			    " ORDINALITY AS u(delivery, k) JOIN runs r"
			    " ON r.delivery = u.delivery", 1, c->p, e);
		if (r < 0)
			return r;
		add_answers(c, res);
	}
	for (size_t i = 0; i < c->n; i++) {
		if (c->run_ids[c->first[i]] < 0)
			return err_set(e, ERR_INTERNAL, "queue %s: delivery %s has"
				       " no run", q->safe, c->runs[i].delivery);
		if (c->first[i] != i) {	/* its delivery came before in the batch */
			c->run_ids[i] = c->run_ids[c->first[i]];
			c->dup[i] = true;
		}
	}
	return 0;
}

static int pg_add(struct queue *base, const struct queue_new *runs, size_t n,
		  long long *run_ids, bool *dup, struct err *e)
{
	struct queue_pg *q = (struct queue_pg *)base;
	struct add_ctx c = { .runs = runs, .n = n, .run_ids = run_ids, .dup = dup };
	const struct pg_tx tx = { add_work, &c, NULL, 0, NULL };
	int r;

	/* as queue_sqlite.c: a run missing a field: refused, nothing written */
	for (size_t i = 0; i < n; i++) {
		const struct queue_new *m = &runs[i];
		const char *missing = !m->delivery ? "delivery" :
			!m->forge ? "forge" : !m->event ? "event" :
			!m->repo ? "repo" : !m->clone_url ? "clone_url" :
			!m->ref ? "ref" : !m->payload ? "payload" : NULL;

		if (missing)
			return err_set(e, ERR_INVALID, "queue %s: add: run %zu has"
				       " no %s", q->safe, i, missing);
	}
	if (!n)
		return 0;
	c.first = xcalloc(2 * n, sizeof(*c.first));
	c.uniq = c.first + n;
	add_prepare(&c);
	r = pg_tx(q, &tx, e);
	for (size_t col = 0; col < ADD_COLS; col++)
		buf_release(&c.cols[col]);
	free(c.first);
	return r < 0 ? r : 0;
}

struct claim_ctx {
	struct queue_run *out;
	const char *p[3];	/* agent, lease in ms, now (the agent's) */
	const char *landed[3];	/* run ID, agent, now */
	struct pg_num nid;
};

static int claim_work(struct queue_pg *q, void *ctx, struct err *e)
{
	struct claim_ctx *c = ctx;
	char **text[] = { &c->out->delivery, &c->out->forge, &c->out->event,
		&c->out->repo, &c->out->clone_url, &c->out->ref, &c->out->sha,
		&c->out->payload, &c->out->workflow, &c->out->inputs };
	PGresult *res;
	int r;

	queue_run_release(c->out);
	c->landed[0] = "0";
	r = pg_exec(q, &res, "claim",
		    "UPDATE runs r SET status = 'running', agent = $1,"
		    " lease_until_ms = " PG_NOW " + $2::bigint, started_ms = $3"
		    " FROM deliveries d"
		    " WHERE r.id = (SELECT id FROM runs WHERE status = 'queued'"
		    " ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)"
		    " AND r.status = 'queued' AND d.id = r.delivery"
		    " RETURNING r.id, r.attempts, r.created_ms, r.delivery,"
		    " r.forge, r.event, r.repo, r.clone_url, r.ref, r.sha,"
		    " d.payload, r.workflow, r.inputs", 3, c->p, e);
	if (r < 0)
		return r;
	r = PQntuples(res) == 1;
	if (r) {
		c->out->id = pg_col_ll(res, 0, 0);
		c->out->attempts = (long)pg_col_ll(res, 0, 1);
		c->out->created_ms = pg_col_ll(res, 0, 2);
		for (size_t i = 0; i < ARRAY_SIZE(text); i++)
			*text[i] = PQgetisnull(res, 0, (int)i + 3) ? NULL :
				xstrdup(PQgetvalue(res, 0, (int)i + 3));
		c->landed[0] = pg_num_str(&c->nid, c->out->id);
	}
	PQclear(res);
	return r;
}

static int pg_claim(struct queue *base, struct queue_run *out, long lease_s,
		    struct err *e)
{
	struct queue_pg *q = (struct queue_pg *)base;
	struct pg_num nlease, nnow;
	struct claim_ctx c = { out, { q->base.agent_id,
		pg_num_str(&nlease, (long long)lease_s * 1000),
		pg_num_str(&nnow, queue_now_ms()) },
		{ "0", q->base.agent_id, nnow.s }, { { 0 } } };
	const struct pg_tx tx = { claim_work, &c,
		"SELECT 1 FROM runs WHERE id = $1 AND agent = $2"
		" AND status = 'running' AND started_ms = $3", 3, c.landed };
	int r;

	memset(out, 0, sizeof(*out));
	r = pg_tx(q, &tx, e);
	if (r <= 0)
		queue_run_release(out);
	return r;
}

/*
 * One statement: the agent's liveness, and the leases of the runs in held
 * that it holds, until the database's now + lease_s; answers those of them
 * whose cancellation was asked for. $3: held as a bigint[] literal.
 */
static int pg_heartbeat(struct queue *base, long lease_s, const long long *held,
			size_t n_held, json_t **cancel, json_t **gone,
			struct err *e)
{
	struct queue_pg *q = (struct queue_pg *)base;
	struct pg_num nlease, nid;
	struct buf ids = BUF_INIT;
	const char *p[3];
	PGresult *res;
	int r;

	for (size_t i = 0; i < n_held; i++)
		pg_array_add(&ids, pg_num_str(&nid, held[i]));
	p[0] = q->base.agent_id;
	p[1] = pg_num_str(&nlease, (long long)lease_s * 1000);
	p[2] = pg_array_end(&ids);
	r = pg_exec(q, &res, "heartbeat",
		    "WITH t AS (SELECT " PG_NOW " AS ms),"
		    " a AS (INSERT INTO agents (id, heartbeat_ms, started_ms)"
		    " SELECT $1::text, ms, ms FROM t ON CONFLICT (id) DO UPDATE"
		    " SET heartbeat_ms = EXCLUDED.heartbeat_ms),"
		    " u AS (UPDATE runs SET lease_until_ms = t.ms + $2::bigint"
		    " FROM t WHERE agent = $1 AND status = 'running'"
		    " AND id = ANY($3::bigint[]) RETURNING id, cancel_requested)"
		    " SELECT id, cancel_requested FROM u ORDER BY id",
		    3, p, e);
	buf_release(&ids);
	if (r < 0)
		return r;
	*cancel = json_array();
	*gone = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		if (pg_col_ll(res, i, 1) != 0)
			json_array_append_new(*cancel, json_integer(pg_col_ll(res, i, 0)));
	/* held runs the update did not touch are no longer this agent's */
	for (size_t k = 0; k < n_held; k++) {
		bool renewed = false;

		for (int i = 0; i < PQntuples(res) && !renewed; i++)
			renewed = pg_col_ll(res, i, 0) == held[k];
		if (!renewed)
			json_array_append_new(*gone, json_integer(held[k]));
	}
	PQclear(res);
	return 0;
}

struct recover_ctx {
	const char *agent_id;
	bool fail;
	long max_attempts;
	long long now_ms;
	size_t n;
};

/* Row i of res (id, agent, attempts), a lost run: queued again, or failed
 * when asked to or once it has been lost max_attempts times. */
static int recover_one(struct queue_pg *q, const struct recover_ctx *c,
		       const PGresult *res, int i, struct err *e)
{
	const char *who = PQgetisnull(res, i, 1) ? "(none)" : PQgetvalue(res, i, 1);
	long lost = (long)pg_col_ll(res, i, 2) + 1;
	bool spent = c->max_attempts > 0 && lost >= c->max_attempts;
	struct pg_num nlost, nnow;
	char *why, *full;
	const char *p[4];
	int r;

	why = c->agent_id && !strcmp(c->agent_id, who) ?
		xasprintf("lost: agent %s restarted", who) :
		xasprintf("lost: agent %s stopped renewing its lease", who);
	full = spent ? xasprintf("%s (lost %ld times)", why, lost) : xstrdup(why);
	p[0] = PQgetvalue(res, i, 0);
	p[1] = pg_num_str(&nlost, lost);
	p[2] = full;
	p[3] = pg_num_str(&nnow, c->now_ms);
	if (c->fail || spent)
		r = pg_exec(q, NULL, "recover",
			    "UPDATE runs SET status = 'failure', attempts = $2,"
			    " lease_until_ms = NULL, error = $3, finished_ms = $4"
			    " WHERE id = $1", 4, p, e);
	else
		r = pg_exec(q, NULL, "recover",
			    "UPDATE runs SET status = 'queued', agent = NULL,"
			    " lease_until_ms = NULL, started_ms = NULL,"
			    " attempts = $2, error = $3 WHERE id = $1", 3, p, e);
	free(why);
	free(full);
	return r;
}

/*
 * SKIP LOCKED: agents recovering at once share the lost runs out. A lease
 * has expired when it ends before the database's now (PG_NOW, the clock
 * that wrote it), or before c->now_ms when that is later: a caller may
 * ask for the leases that will have expired by a later time (the tests,
 * which cannot wait). An agent that passes its own clock's now and runs
 * ahead of the database's therefore still expires leases early by that
 * much; one that runs behind changes nothing.
 */
static int recover_work(struct queue_pg *q, void *ctx, struct err *e)
{
	struct recover_ctx *c = ctx;
	struct pg_num nnow;
	const char *p[] = { pg_num_str(&nnow, c->now_ms), c->agent_id };
	PGresult *res;
	int r;

	r = pg_exec(q, &res, "recover",
		    "SELECT id, agent, attempts FROM runs WHERE status = 'running'"
		    " AND (coalesce(lease_until_ms, 0) < (SELECT GREATEST("
		    PG_NOW ", $1::bigint)) OR agent = $2)"
		    " ORDER BY id FOR UPDATE SKIP LOCKED", 2, p, e);
	if (r < 0)
		return r;
	c->n = (size_t)PQntuples(res);
	for (int i = 0; r >= 0 && i < PQntuples(res); i++)
		r = recover_one(q, c, res, i, e);
	PQclear(res);
	return r;
}

static int pg_recover(struct queue *base, const char *agent_id, bool fail,
		      long max_attempts, long long now_ms, size_t *n,
		      struct err *e)
{
	struct recover_ctx c = { agent_id, fail, max_attempts, now_ms, 0 };
	const struct pg_tx tx = { recover_work, &c, NULL, 0, NULL };
	int r = pg_tx((struct queue_pg *)base, &tx, e);

	if (r >= 0 && n)
		*n = c.n;
	return r < 0 ? r : 0;
}

static int pg_set_note(struct queue *base, long long run_id, const char *note,
		       struct err *e)
{
	struct pg_num nid;
	const char *p[] = { pg_num_str(&nid, run_id), note };

	return pg_exec((struct queue_pg *)base, NULL, "set note",
		       "UPDATE runs SET note = $2 WHERE id = $1", 2, p, e);
}

static int release_work(struct queue_pg *q, void *ctx, struct err *e)
{
	return pg_rows(q, "release",
		       "UPDATE runs SET status = 'queued', agent = NULL,"
		       " lease_until_ms = NULL, started_ms = NULL"
		       " WHERE id = $1 AND agent = $2 AND status = 'running'"
		       " RETURNING id", 2, ctx, e);
}

/* When the COMMIT's answer is lost, a run that is no longer this agent's
 * running run counts as given back: released, or recovered meanwhile,
 * the agent must not carry it out either way. */
static int pg_release(struct queue *base, long long run_id, struct err *e)
{
	struct queue_pg *q = (struct queue_pg *)base;
	struct pg_num nid;
	const char *p[] = { pg_num_str(&nid, run_id), q->base.agent_id };
	const struct pg_tx tx = { release_work, p,
		"SELECT 1 FROM runs WHERE id = $1"
		" AND (agent IS DISTINCT FROM $2 OR status <> 'running')", 2, p };

	return pg_tx(q, &tx, e);
}

struct finish_ctx {
	const char *p[7];	/* run ID, agent, status, summary, error, log, now */
	const json_t *summary;
	struct queue_pg *q;
	struct err *e;		/* for the walk's callbacks */
};

static int finish_job(void *arg, long job_idx, const struct queue_job_row *j)
{
	struct finish_ctx *c = arg;
	struct pg_num nidx, ndur;
	const char *p[] = { c->p[0], pg_num_str(&nidx, job_idx), j->workflow,
		j->job_id, j->name, j->result, j->started_at, j->finished_at,
		pg_num_or_null(&ndur, j->duration_ms) };

	return pg_exec(c->q, NULL, "finish: job",
		       "INSERT INTO jobs (run_id, idx, workflow, job_id, name,"
		       " result, started_at, finished_at, duration_ms)"
		       " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", 9, p, c->e);
}

static int finish_step(void *arg, long job_idx, const struct queue_step_row *s)
{
	struct finish_ctx *c = arg;
	struct pg_num njob, nidx, ncode, nstart, ndur;
	const char *p[] = { c->p[0], pg_num_str(&njob, job_idx),
		pg_num_str(&nidx, s->idx), s->name, s->result,
		pg_num_or_null(&ncode, s->exit_code),
		pg_num_or_null(&nstart, s->started_ms),
		pg_num_or_null(&ndur, s->duration_ms) };

	return pg_exec(c->q, NULL, "finish: step",
		       "INSERT INTO steps (run_id, job_idx, idx, name, result,"
		       " exit_code, started_ms, duration_ms)"
		       " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", 8, p, c->e);
}

static int finish_work(struct queue_pg *q, void *ctx, struct err *e)
{
	struct finish_ctx *c = ctx;
	int r;

	r = pg_rows(q, "finish",
		    "UPDATE runs SET status = $3, summary = $4, error = $5,"
		    " log_path = $6, finished_ms = $7, lease_until_ms = NULL"
		    " WHERE id = $1 AND agent = $2 AND status = 'running'"
		    " RETURNING id", 7, c->p, e);
	if (r <= 0 || !c->summary)
		return r;
	c->q = q;
	c->e = e;
	if (queue_walk_summary(c->summary, finish_job, finish_step, c) < 0)
		return -1;
	return 1;
}

static int pg_finish(struct queue *base, long long run_id, const char *status,
		     const json_t *summary, const char *error,
		     const char *log_path, struct err *e)
{
	struct queue_pg *q = (struct queue_pg *)base;
	struct pg_num nid, nnow;
	char *text = summary ? jsonx_dump(summary, 0) : NULL;
	struct finish_ctx c = { { pg_num_str(&nid, run_id), q->base.agent_id, status,
		text, error, log_path, pg_num_str(&nnow, queue_now_ms()) }, summary,
		NULL, NULL };
	const struct pg_tx tx = { finish_work, &c,
		"SELECT 1 FROM runs WHERE id = $1 AND agent = $2 AND status = $3"
		" AND $4::text IS NOT DISTINCT FROM summary"
		" AND $5::text IS NOT DISTINCT FROM error"
		" AND $6::text IS NOT DISTINCT FROM log_path"
		" AND finished_ms = $7", 7, c.p };
	int r;

	if (!status || (strcmp(status, "success") && strcmp(status, "failure") &&
			strcmp(status, "cancelled") && strcmp(status, "skipped")))
		r = err_set(e, ERR_INVALID, "queue %s: finish run %lld: '%s' is"
			    " not a final status", q->safe, run_id,
			    status ? status : "(null)");
	else
		r = pg_tx(q, &tx, e);
	free(text);
	return r;
}

/* One statement: a run claimed meanwhile is flagged, not cancelled (the
 * UPDATE waits for the claim and looks at the row again). */
static int pg_cancel(struct queue *base, long long run_id, struct err *e)
{
	struct queue_pg *q = (struct queue_pg *)base;
	struct pg_num nid, nnow;
	const char *p[] = { pg_num_str(&nid, run_id),
		pg_num_str(&nnow, queue_now_ms()) };
	int r;

	r = pg_rows(q, "cancel",
		    "UPDATE runs SET"
		    " finished_ms = CASE WHEN status = 'queued' THEN $2::bigint"
		    " ELSE finished_ms END,"
		    " cancel_requested = CASE WHEN status = 'running' THEN 1"
		    " ELSE cancel_requested END,"
		    " status = CASE WHEN status = 'queued' THEN 'cancelled'"
		    " ELSE status END"
		    " WHERE id = $1 AND status IN ('queued', 'running')"
		    " RETURNING id", 2, p, e);
	if (r != 0)
		return r < 0 ? r : 1;
	r = pg_rows(q, "cancel", "SELECT 1 FROM runs WHERE id = $1", 1, p, e);
	if (r == 0)
		return err_set(e, ERR_NOT_FOUND, "queue %s: run %lld not found",
			       q->safe, run_id);
	return r < 0 ? r : 0;
}

/* The reads (pg_get, pg_list, pg_counts) are in queue_pg_read.c, the
 * migrations, pg_reset and pg_prune in queue_pg_schema.c. */

const struct queue_ops queue_pg_ops = {
	.name = "postgres",
	.open = pg_open,
	.close = pg_close,
	.add = pg_add,
	.claim = pg_claim,
	.heartbeat = pg_heartbeat,
	.recover = pg_recover,
	.set_note = pg_set_note,
	.finish = pg_finish,
	.cancel = pg_cancel,
	.get = pg_get,
	.list = pg_list,
	.counts = pg_counts,
	.repo_clone_urls = pg_repo_clone_urls,
	.release = pg_release,
	.reset = pg_reset,
	.keys_put = pg_keys_put,
	.keys_get = pg_keys_get,
	.prune = pg_prune,
};
