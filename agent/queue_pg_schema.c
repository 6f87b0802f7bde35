/*
 * queue_pg_schema: the PostgreSQL queue's tables: the migrations that
 * bring a database to QUEUE_SCHEMA_VERSION (pg_migrate, at open), the
 * tests' reset (pg_reset) and retention's prune (pg_prune). Both backends
 * hold the same tables (queue_sqlite.c has SQLite's).
 *
 * Rules that always hold here:
 * - Migrations run in one transaction under an advisory lock, so agents
 *   starting together migrate once: the first applies what is missing,
 *   the others find the version there when they get the lock.
 * - A database newer than this gantry is refused, never written.
 * - The migration scripts carry no values; they run with PQexec because
 *   they hold several statements.
 * - A prune deletes finished runs only, in batches that lock their runs
 *   (SKIP LOCKED: agents pruning at once take different ones).
 */
#include "queue_pg_int.h"

#include "../lib/buf.h"
#include "../lib/util.h"

/* pg_advisory_xact_lock key that serializes migrations */
#define PG_MIGRATE_LOCK "29104323170613105"

/* Version i's script brings a database at version i - 1 to version i. */
static const char *const migrations[] = {
	[1] =
	"CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS deliveries (id TEXT PRIMARY KEY,"
	" forge TEXT NOT NULL, event TEXT NOT NULL, received_ms BIGINT NOT NULL,"
	" payload TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS runs (id BIGSERIAL PRIMARY KEY,"
	" delivery TEXT NOT NULL UNIQUE REFERENCES deliveries(id),"
	" forge TEXT NOT NULL, event TEXT NOT NULL, repo TEXT NOT NULL,"
	" clone_url TEXT NOT NULL, ref TEXT NOT NULL, sha TEXT,"
	" workflow TEXT, inputs TEXT, status TEXT NOT NULL DEFAULT 'queued',"
	" note TEXT, error TEXT, agent TEXT, lease_until_ms BIGINT,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" cancel_requested INTEGER NOT NULL DEFAULT 0,"
	" created_ms BIGINT NOT NULL, started_ms BIGINT, finished_ms BIGINT,"
	" log_path TEXT, summary TEXT);"
	"CREATE INDEX IF NOT EXISTS runs_status_id ON runs(status, id);"
	"CREATE TABLE IF NOT EXISTS jobs (run_id BIGINT NOT NULL"
	" REFERENCES runs(id), idx INTEGER NOT NULL, workflow TEXT,"
	" job_id TEXT NOT NULL, name TEXT, result TEXT, started_at TEXT,"
	" finished_at TEXT, duration_ms BIGINT, PRIMARY KEY (run_id, idx));"
	"CREATE TABLE IF NOT EXISTS steps (run_id BIGINT NOT NULL,"
	" job_idx INTEGER NOT NULL, idx INTEGER NOT NULL, name TEXT,"
	" result TEXT, exit_code INTEGER, started_ms BIGINT, duration_ms BIGINT,"
	" PRIMARY KEY (run_id, job_idx, idx));"
	"CREATE TABLE IF NOT EXISTS agents (id TEXT PRIMARY KEY,"
	" heartbeat_ms BIGINT NOT NULL, started_ms BIGINT NOT NULL);",
	[2] =
	/* a repository's runs, newest first (queue_repo_knows_url) */
	"CREATE INDEX IF NOT EXISTS runs_repo_id ON runs(repo, id);",
	[3] =
	/* the fleet's OIDC public keys (queue_keys_put) */
	"CREATE TABLE IF NOT EXISTS oidc_keys (kid TEXT PRIMARY KEY,"
	" jwk TEXT NOT NULL, mac TEXT NOT NULL, agent TEXT NOT NULL,"
	" seen_ms BIGINT NOT NULL);",
};
_Static_assert(ARRAY_SIZE(migrations) == QUEUE_SCHEMA_VERSION + 1,
	       "one migration per schema version");

/* Schema version, 0 for an empty database. */
static int pg_version(struct queue_pg *q, long long *out, struct err *e)
{
	int r;

	r = pg_rows(q, "schema version", "SELECT 1 WHERE"
		    " to_regclass('schema_version') IS NOT NULL", 0, NULL, e);
	if (r <= 0) {
		*out = 0;
		return r;
	}
	r = pg_value(q, out, "schema version",
		     "SELECT coalesce(max(version), 0) FROM schema_version",
		     0, NULL, e);
	if (r >= 0 && *out > QUEUE_SCHEMA_VERSION)
		return err_set(e, ERR_INVALID, "queue %s: queue database is schema "
			       "version %lld; this gantry knows up to %d; upgrade "
			       "gantry", q->safe, *out, QUEUE_SCHEMA_VERSION);
	return r;
}

static int migrate_work(struct queue_pg *q, void *ctx, struct err *e)
{
	struct pg_num nv;
	const char *p[] = { pg_num_str(&nv, QUEUE_SCHEMA_VERSION) };
	PGresult *res;
	long long v;
	int r;

	r = pg_exec(q, NULL, "migration lock",
		    "SELECT pg_advisory_xact_lock(" PG_MIGRATE_LOCK ")", 0, NULL, e);
	if (r < 0 || (r = pg_version(q, &v, e)) < 0 || v == QUEUE_SCHEMA_VERSION)
		return r;
	for (long long i = v + 1; i <= QUEUE_SCHEMA_VERSION; i++) {
		res = PQexec(q->conn, migrations[i]);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			r = pg_fail(q, e, res, "migration");
		PQclear(res);
		if (r < 0)
			return r;
	}
	r = pg_exec(q, NULL, "schema version", "DELETE FROM schema_version",
		    0, NULL, e);
	if (r >= 0)
		r = pg_exec(q, NULL, "schema version",
			    "INSERT INTO schema_version (version) VALUES ($1)",
			    1, p, e);
	return r;
}

/* Declared, with what it does, in queue_pg_int.h. */
int pg_migrate(struct queue_pg *q, struct err *e)
{
	const struct pg_tx migrate = { migrate_work, NULL, NULL, 0, NULL };
	long long v;
	int r;

	r = pg_version(q, &v, e);
	if (r >= 0 && v < QUEUE_SCHEMA_VERSION)
		r = pg_tx(q, &migrate, e);
	return r < 0 ? r : 0;
}

/* Declared, with what it does, in queue_pg_int.h. */
int pg_reset(struct queue *base, struct err *e)
{
	return pg_exec((struct queue_pg *)base, NULL, "reset",
		       "TRUNCATE steps, jobs, runs, deliveries, agents, oidc_keys"
		       " RESTART IDENTITY CASCADE", 0, NULL, e);
}

struct prune_ctx {
	const char *p[2];	/* before, limit */
	size_t n;
};

/* The batch's runs, locked; then their rows, children before parents as
 * the foreign keys want: steps, jobs, runs, deliveries. */
static int prune_work(struct queue_pg *q, void *ctx, struct err *e)
{
	struct prune_ctx *c = ctx;
	struct buf ids = BUF_INIT, dlv = BUF_INIT;
	const char *p[1];
	PGresult *res;
	int r;

	c->n = 0;
	r = pg_exec(q, &res, "prune",
		    "SELECT id, delivery FROM runs WHERE status IN ('success',"
		    " 'failure', 'cancelled', 'skipped') AND finished_ms < $1"
		    " ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED", 2, c->p, e);
	if (r < 0)
		return r;
	for (int i = 0; i < PQntuples(res); i++) {
		pg_array_add(&ids, PQgetvalue(res, i, 0));
		pg_array_add(&dlv, PQgetvalue(res, i, 1));
	}
	c->n = (size_t)PQntuples(res);
	PQclear(res);
	if (c->n) {
		p[0] = pg_array_end(&ids);
		r = pg_exec(q, NULL, "prune: steps", "DELETE FROM steps"
			    " WHERE run_id = ANY($1::bigint[])", 1, p, e);
		if (r >= 0)
			r = pg_exec(q, NULL, "prune: jobs", "DELETE FROM jobs"
				    " WHERE run_id = ANY($1::bigint[])", 1, p, e);
		if (r >= 0)
			r = pg_exec(q, NULL, "prune: runs", "DELETE FROM runs"
				    " WHERE id = ANY($1::bigint[])", 1, p, e);
		p[0] = pg_array_end(&dlv);
		if (r >= 0)
			r = pg_exec(q, NULL, "prune: deliveries", "DELETE FROM"
				    " deliveries WHERE id = ANY($1::text[])", 1, p, e);
	}
	buf_release(&ids);
	buf_release(&dlv);
	return r;
}

/* Declared, with what it does, in queue_pg_int.h. A COMMIT whose answer
 * is lost is reported as an error: the next prune finds what is left. */
int pg_prune(struct queue *base, long long before_ms, size_t limit,
	     size_t *n, struct err *e)
{
	struct pg_num nbefore, nlimit;
	struct prune_ctx c = { { pg_num_str(&nbefore, before_ms),
				 pg_num_str(&nlimit, (long long)limit) }, 0 };
	const struct pg_tx tx = { prune_work, &c, NULL, 0, NULL };
	int r = pg_tx((struct queue_pg *)base, &tx, e);

	*n = r < 0 ? 0 : c.n;
	return r < 0 ? r : 0;
}
