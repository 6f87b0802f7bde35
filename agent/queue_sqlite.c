/*
 * queue_sqlite: the queue in one SQLite file, for an agent on its own.
 *
 * One connection per struct queue, used by one thread at a time; several
 * connections (threads, or processes) share the file. WAL with
 * synchronous=FULL makes a commit durable; every write is one
 * BEGIN IMMEDIATE transaction, so writers queue up on the file's write
 * lock (busy_timeout) instead of failing half way. A transaction that
 * still meets SQLITE_BUSY (or a lock SQLite will not wait for) is rolled
 * back and run again, whole, until QSQL_RETRY_MS have passed: a delivery
 * is never refused because another writer was busy.
 *
 * Statements are prepared once, in open, and reset after each
 * transaction. The schema is the one queue_pg.c holds (same tables,
 * columns and meanings); migrations[] brings it up to date.
 *
 * This file opens, migrates and writes; queue_sqlite_read.c holds the
 * reading side and the statement and transaction plumbing both use, and
 * queue_sqlite_int.h is what the two share.
 */
#include "queue_sqlite_int.h"

#include "../lib/fs.h"
#include "../lib/jsonx.h"
#include "../lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define QSQL_BUSY_MS 10000	/* how long SQLite waits for a lock */

/* migrations[k] brings the schema from version k to version k + 1, in one
 * transaction with the version's update. Adding a version is one entry. */
static const char *const migrations[] = {
	/* 1: the first schema */
	"CREATE TABLE deliveries(id TEXT PRIMARY KEY, forge TEXT NOT NULL,"
	" event TEXT NOT NULL, received_ms INTEGER NOT NULL,"
	" payload TEXT NOT NULL);"
	"CREATE TABLE runs(id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" delivery TEXT NOT NULL UNIQUE REFERENCES deliveries(id),"
	" forge TEXT NOT NULL, event TEXT NOT NULL, repo TEXT NOT NULL,"
	" clone_url TEXT NOT NULL, ref TEXT NOT NULL, sha TEXT,"
	" workflow TEXT, inputs TEXT,"
	" status TEXT NOT NULL DEFAULT 'queued', note TEXT, error TEXT,"
	" agent TEXT, lease_until_ms INTEGER,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" cancel_requested INTEGER NOT NULL DEFAULT 0,"
	" created_ms INTEGER NOT NULL, started_ms INTEGER,"
	" finished_ms INTEGER, log_path TEXT, summary TEXT);"
	"CREATE INDEX runs_status_id ON runs(status, id);"
	"CREATE TABLE jobs(run_id INTEGER NOT NULL REFERENCES runs(id),"
	" idx INTEGER NOT NULL, workflow TEXT, job_id TEXT NOT NULL,"
	" name TEXT, result TEXT, started_at TEXT, finished_at TEXT,"
	" duration_ms INTEGER, PRIMARY KEY(run_id, idx));"
	"CREATE TABLE steps(run_id INTEGER NOT NULL, job_idx INTEGER NOT NULL,"
	" idx INTEGER NOT NULL, name TEXT, result TEXT, exit_code INTEGER,"
	" started_ms INTEGER, duration_ms INTEGER, PRIMARY KEY(run_id, job_idx, idx));"
	"CREATE TABLE agents(id TEXT PRIMARY KEY,"
	" heartbeat_ms INTEGER NOT NULL, started_ms INTEGER NOT NULL);",
	/* 2: a repository's runs, newest first (queue_repo_knows_url) */
	"CREATE INDEX runs_repo_id ON runs(repo, id);",
	/* 3: the fleet's OIDC public keys (queue_keys_put) */
	"CREATE TABLE oidc_keys(kid TEXT PRIMARY KEY, jwk TEXT NOT NULL,"
	" mac TEXT NOT NULL, agent TEXT NOT NULL, seen_ms INTEGER NOT NULL);",
};

_Static_assert(ARRAY_SIZE(migrations) == QUEUE_SCHEMA_VERSION,
	       "one migration per schema version");

/* A run as the API shows it (queue.h), for queue_get and queue_list. */
#define RUN_COLS "id, delivery, forge, event, repo, ref, sha, workflow," \
	" status, note, error, agent, attempts, created_ms, started_ms," \
	" finished_ms, log_path"

/* Lost runs (queue_recover), and why: ?1 is now, ?2 the agent that
 * restarted (may be NULL). */
#define LOST_RUNS "status = 'running' AND (lease_until_ms < ?1 OR agent = ?2)"
#define LOST_WHY "'lost: agent ' || coalesce(agent, '(none)') || CASE" \
	" WHEN agent = ?2 THEN ' restarted'" \
	" ELSE ' stopped renewing its lease' END"

static const char *const st_sql[ST_COUNT] = {
	[ST_BEGIN_W] = "BEGIN IMMEDIATE",
	[ST_BEGIN_R] = "BEGIN",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_ADD_DELIVERY] =
		"INSERT INTO deliveries(id, forge, event, received_ms, payload)"
		" VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(id) DO NOTHING",
	[ST_ADD_RUN] =
		"INSERT INTO runs(delivery, forge, event, repo, clone_url, ref,"
		" sha, workflow, inputs, status, created_ms)"
		" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'queued', ?10)",
	[ST_RUN_OF_DELIVERY] = "SELECT id FROM runs WHERE delivery = ?1",
	[ST_CLAIM] =
		"UPDATE runs SET status = 'running', agent = ?1,"
		" lease_until_ms = ?2, started_ms = ?3"
		" WHERE id = (SELECT id FROM runs WHERE status = 'queued'"
		" ORDER BY id LIMIT 1)"
		" RETURNING id, delivery, forge, event, repo, clone_url, ref,"
		" sha, workflow, inputs, attempts, created_ms, (SELECT payload"
		" FROM deliveries WHERE deliveries.id = runs.delivery)",
	[ST_AGENT_BEAT] =
		"INSERT INTO agents(id, heartbeat_ms, started_ms)"
		" VALUES(?1, ?2, ?2) ON CONFLICT(id)"
		" DO UPDATE SET heartbeat_ms = excluded.heartbeat_ms",
	[ST_LEASE_RENEW] =
		"UPDATE runs SET lease_until_ms = ?2"
		" WHERE agent = ?1 AND status = 'running' AND id = ?3",
	[ST_CANCEL_ASKED] =
		"SELECT id FROM runs WHERE agent = ?1 AND status = 'running'"
		" AND cancel_requested = 1 ORDER BY id",
	/* ?1 now, ?2 the agent restarted, ?3 fail, ?4 max attempts */
	[ST_FAIL_LOST] =
		"UPDATE runs SET status = 'failure', attempts = attempts + 1,"
		" lease_until_ms = NULL, finished_ms = ?1, error = " LOST_WHY
		" || CASE WHEN ?4 > 0 AND attempts + 1 >= ?4"
		" THEN ' (lost ' || (attempts + 1) || ' times)' ELSE '' END"
		" WHERE " LOST_RUNS " AND (?3 OR (?4 > 0 AND attempts + 1 >= ?4))",
	[ST_REQUEUE] =
		"UPDATE runs SET status = 'queued', attempts = attempts + 1,"
		" agent = NULL, lease_until_ms = NULL, started_ms = NULL,"
		" error = " LOST_WHY " WHERE " LOST_RUNS,
	[ST_NOTE] = "UPDATE runs SET note = ?2 WHERE id = ?1",
	[ST_RELEASE] =
		"UPDATE runs SET status = 'queued', agent = NULL, lease_until_ms = NULL,"
		" started_ms = NULL WHERE id = ?1 AND agent = ?2 AND status = 'running'",
	[ST_FINISH] =
		"UPDATE runs SET status = ?3, summary = ?4, error = ?5,"
		" log_path = ?6, finished_ms = ?7, lease_until_ms = NULL"
		" WHERE id = ?1 AND agent = ?2 AND status = 'running'",
	[ST_JOBS_DEL] = "DELETE FROM jobs WHERE run_id = ?1",
	[ST_STEPS_DEL] = "DELETE FROM steps WHERE run_id = ?1",
	[ST_JOB_ADD] =
		"INSERT INTO jobs(run_id, idx, workflow, job_id, name, result,"
		" started_at, finished_at, duration_ms)"
		" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[ST_STEP_ADD] =
		"INSERT INTO steps(run_id, job_idx, idx, name, result,"
		" exit_code, started_ms, duration_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_STATUS] = "SELECT status FROM runs WHERE id = ?1",
	[ST_CANCEL_QUEUED] =
		"UPDATE runs SET status = 'cancelled', finished_ms = ?2"
		" WHERE id = ?1 AND status = 'queued'",
	[ST_CANCEL_RUNNING] =
		"UPDATE runs SET cancel_requested = 1"
		" WHERE id = ?1 AND status = 'running'",
	[ST_GET] = "SELECT " RUN_COLS " FROM runs WHERE id = ?1",
	[ST_GET_JOBS] =
		"SELECT workflow, job_id AS id, name, result, started_at,"
		" finished_at, duration_ms, idx FROM jobs WHERE run_id = ?1"
		" ORDER BY idx",
	[ST_GET_STEPS] =
		"SELECT name, result, exit_code, started_ms, duration_ms FROM steps"
		" WHERE run_id = ?1 AND job_idx = ?2 ORDER BY idx",
	[ST_LIST] =
		"SELECT " RUN_COLS " FROM runs WHERE (?2 <= 0 OR id < ?2)"
		" AND (?3 IS NULL OR status = ?3) ORDER BY id DESC LIMIT ?1",
	[ST_COUNT_RUNS] = "SELECT status, count(*) FROM runs GROUP BY status",
	[ST_COUNT_DELIVERIES] = "SELECT count(*) FROM deliveries",
	/* ?1 before, ?2 the batch's size */
	[ST_PRUNE_PICK] =
		"SELECT id, delivery FROM runs WHERE status IN ('success',"
		" 'failure', 'cancelled', 'skipped') AND finished_ms < ?1"
		" ORDER BY id LIMIT ?2",
	[ST_RUN_DEL] = "DELETE FROM runs WHERE id = ?1",
	[ST_DELIVERY_DEL] = "DELETE FROM deliveries WHERE id = ?1",
};

const char *const qsql_statuses[QSQL_NSTATUS] = {
	"queued", "running", "success", "failure", "cancelled", "skipped",
};

/* ---- statements that write ---- */

/* prep and run a statement that answers no rows: the rows it changed. */
static int run(struct qsql *q, struct err *e, const char *what, enum st which,
	       const char *fmt, ...)
{
	sqlite3_stmt *s;
	va_list ap;

	va_start(ap, fmt);
	s = qsql_vprep(q, which, fmt, ap);
	va_end(ap);
	if (qsql_step(q, s, what, e) < 0)
		return -1;
	return sqlite3_changes(q->db);
}

static char *col_dup(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t ? xstrdup((const char *)t) : NULL;
}

/* ---- open and migrate ---- */

static int exec(struct qsql *q, const char *sql, const char *what,
		struct err *e)
{
	if (sqlite3_exec(q->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return qsql_err(q, e, what);
	return 0;
}

/* The schema's version, in the caller's transaction: 0 for a new file
 * (schema_version is the one table made outside the migrations). */
static int schema_version(struct qsql *q, long *out, struct err *e)
{
	sqlite3_stmt *s;
	int r;

	*out = 0;
	if (exec(q, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER"
		 " NOT NULL)", "read the schema version", e) < 0)
		return -1;
	if (sqlite3_prepare_v2(q->db, "SELECT max(version) FROM schema_version",
			       -1, &s, NULL) != SQLITE_OK)
		return qsql_err(q, e, "read the schema version");
	if ((r = qsql_step(q, s, "read the schema version", e)) > 0)
		*out = (long)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return r < 0 ? r : 0;
}

/* One migration, in the caller's transaction: 1 when one was applied, 0
 * when the schema is current. */
static int migrate_one(struct qsql *q, void *ctx, struct err *e)
{
	long v;
	char *set, *what;
	int r;

	if (schema_version(q, &v, e) < 0)
		return -1;
	if (v > QUEUE_SCHEMA_VERSION)
		return err_set(e, ERR_INVALID, "queue %s: queue database is schema"
			       " version %ld; this gantry knows up to %d; upgrade"
			       " gantry", q->url, v, QUEUE_SCHEMA_VERSION);
	if (v == QUEUE_SCHEMA_VERSION)
		return 0;
	what = xasprintf("migrate to schema version %ld", v + 1);
	set = xasprintf("DELETE FROM schema_version;"
			" INSERT INTO schema_version(version) VALUES(%ld)", v + 1);
	r = exec(q, migrations[v], what, e);
	if (!r)
		r = exec(q, set, what, e);
	free(set);
	free(what);
	return r < 0 ? r : 1;
}

/* The file exists with mode 0600 (SQLite gives its -wal and -shm files
 * the same), in a folder that exists. */
static int create_file(const char *path, struct err *e)
{
	char *dir = fs_dirname(path);
	int fd, r = 0;

	if (!fs_is_dir(dir))
		r = fs_mkdirs(dir, 0700, e);
	free(dir);
	if (r < 0 || fs_exists(path))
		return r;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? 0 :
			err_sys(e, ERR_IO, "cannot create %s", path);
	if (fchmod(fd, 0600) < 0)
		r = err_sys(e, ERR_IO, "cannot set the mode of %s", path);
	close(fd);
	return r;
}

static int prepare(struct qsql *q, int from, int to, struct err *e)
{
	for (int i = from; i <= to; i++)
		if (sqlite3_prepare_v3(q->db, st_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
				       &q->st[i], NULL) != SQLITE_OK)
			return qsql_err(q, e, "prepare");
	return 0;
}

static void qsql_close(struct queue *base)
{
	struct qsql *q = (struct qsql *)base;

	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(q->st[i]);
	sqlite3_close(q->db);
	free(q->url);
	free(q->base.agent_id);
	free(q);
}

/* The PRAGMAs (outside a transaction: journal_mode needs a moment alone
 * with a new file, so a busy answer is tried again). */
static int set_up(struct qsql *q, struct err *e)
{
	long long deadline = time_mono_ns() + QSQL_RETRY_MS * 1000000LL;

	while (exec(q, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
		    " PRAGMA foreign_keys=ON; PRAGMA cache_size=-512", "set up", e) < 0) {
		if (!qsql_busy(q->rc) || time_mono_ns() > deadline)
			return -1;
		err_clear(e);
		qsql_sleep_ms(5);
	}
	return 0;
}

static int qsql_open(struct queue **out, const char *url, const char *agent_id,
		     struct err *e)
{
	const char *path = url + strlen("sqlite://");
	struct qsql *q;
	int r = 0;

	if (!*path)
		return err_set(e, ERR_INVALID, "queue %s: no file path (expected"
			       " sqlite:///path/queue.db)", url);
	if (create_file(path, e) < 0)
		return err_wrap(e, "queue %s", url);
	q = xcalloc(1, sizeof(*q));
	q->url = xstrdup(url);
	q->base.agent_id = xstrdup(agent_id);
	if (sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE |
			    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		r = q->db ? qsql_err(q, e, "open") :
			err_set(e, ERR_INTERNAL, "queue %s: open: out of memory", url);
		goto done;
	}
	sqlite3_extended_result_codes(q->db, 1);
	sqlite3_busy_timeout(q->db, QSQL_BUSY_MS);
	/* the transaction statements first, the rest once the tables exist */
	r = set_up(q, e);
	if (!r)
		r = prepare(q, 0, ST_TX_END, e);
	while (!r && (r = qsql_tx_run(q, true, migrate_one, NULL, "migrate", e)) > 0)
		r = 0;		/* one migration applied: look again */
	if (!r)
		r = prepare(q, ST_TX_END + 1, ST_COUNT - 1, e);
done:
	if (r < 0) {
		qsql_close(&q->base);
		return r;
	}
	*out = &q->base;
	return 0;
}

/* ---- adding and claiming ---- */

struct add_ctx {
	const struct queue_new *runs;
	size_t n;
	long long *ids;
	bool *dup;
	long long now;
};

static int add_tx(struct qsql *q, void *ctx, struct err *e)
{
	struct add_ctx *c = ctx;
	char what[256];
	sqlite3_stmt *s;
	int r;

	for (size_t i = 0; i < c->n; i++) {
		const struct queue_new *n = &c->runs[i];

		snprintf(what, sizeof(what), "add delivery %s", n->delivery);
		r = run(q, e, what, ST_ADD_DELIVERY, "sssis", n->delivery,
			n->forge, n->event, c->now, n->payload);
		if (r < 0)
			return r;
		c->dup[i] = r == 0;
		if (!c->dup[i]) {
			if (run(q, e, what, ST_ADD_RUN, "sssssssssi", n->delivery,
				n->forge, n->event, n->repo, n->clone_url, n->ref,
				n->sha, n->workflow, n->inputs, c->now) < 0)
				return -1;
			c->ids[i] = sqlite3_last_insert_rowid(q->db);
			continue;
		}
		s = qsql_prep(q, ST_RUN_OF_DELIVERY, "s", n->delivery);
		if ((r = qsql_step(q, s, what, e)) <= 0)
			return r < 0 ? r : err_set(e, ERR_INTERNAL, "queue %s:"
				" %s: the delivery has no run", q->url, what);
		c->ids[i] = sqlite3_column_int64(s, 0);
	}
	return 0;
}

static int qsql_add(struct queue *base, const struct queue_new *runs, size_t n,
		    long long *run_ids, bool *dup, struct err *e)
{
	struct qsql *q = (struct qsql *)base;
	struct add_ctx c = { runs, n, run_ids, dup, queue_now_ms() };

	for (size_t i = 0; i < n; i++) {
		const struct queue_new *r = &runs[i];
		const char *missing = !r->delivery ? "delivery" :
			!r->forge ? "forge" : !r->event ? "event" :
			!r->repo ? "repo" : !r->clone_url ? "clone_url" :
			!r->ref ? "ref" : !r->payload ? "payload" : NULL;

		if (missing)
			return err_set(e, ERR_INVALID, "queue %s: add: run %zu has"
				       " no %s", q->url, i, missing);
	}
	return n ? qsql_tx_run(q, true, add_tx, &c, "add", e) : 0;
}

struct claim_ctx {
	struct queue_run run;
	long lease_s;
};

static int claim_tx(struct qsql *q, void *ctx, struct err *e)
{
	struct claim_ctx *c = ctx;
	struct queue_run *run = &c->run;
	long long now = queue_now_ms();
	sqlite3_stmt *s;
	int r;

	queue_run_release(run);
	s = qsql_prep(q, ST_CLAIM, "sii", q->base.agent_id,
		 now + (long long)c->lease_s * 1000, now);
	if ((r = qsql_step(q, s, "claim", e)) <= 0)
		return r;
	run->id = sqlite3_column_int64(s, 0);
	run->delivery = col_dup(s, 1);
	run->forge = col_dup(s, 2);
	run->event = col_dup(s, 3);
	run->repo = col_dup(s, 4);
	run->clone_url = col_dup(s, 5);
	run->ref = col_dup(s, 6);
	run->sha = col_dup(s, 7);
	run->workflow = col_dup(s, 8);
	run->inputs = col_dup(s, 9);
	run->attempts = (long)sqlite3_column_int64(s, 10);
	run->created_ms = sqlite3_column_int64(s, 11);
	run->payload = col_dup(s, 12);
	if (qsql_step(q, s, "claim", e) < 0)
		return -1;
	if (!run->payload)
		return err_set(e, ERR_INTERNAL, "queue %s: claim: run %lld has no"
			       " delivery", q->url, run->id);
	return 1;
}

static int qsql_claim(struct queue *base, struct queue_run *out, long lease_s,
		      struct err *e)
{
	struct claim_ctx c = { .lease_s = lease_s };
	int r = qsql_tx_run((struct qsql *)base, true, claim_tx, &c, "claim", e);

	if (r > 0)
		*out = c.run;
	else
		queue_run_release(&c.run);
	return r;
}

/* ---- leases ---- */

struct beat_ctx {
	long lease_s;
	const long long *held;
	size_t n_held;
	json_t *cancel;
	json_t *gone;
};

static int beat_tx(struct qsql *q, void *ctx, struct err *e)
{
	struct beat_ctx *c = ctx;
	const char *me = q->base.agent_id;
	long long now = queue_now_ms();
	sqlite3_stmt *s;
	int r;

	json_array_clear(c->cancel);
	json_array_clear(c->gone);
	if (run(q, e, "heartbeat", ST_AGENT_BEAT, "si", me, now) < 0)
		return -1;
	for (size_t i = 0; i < c->n_held; i++) {
		int n = run(q, e, "heartbeat: leases", ST_LEASE_RENEW, "sii", me,
			    now + (long long)c->lease_s * 1000, c->held[i]);

		if (n < 0)
			return -1;
		if (n == 0)
			json_array_append_new(c->gone, json_integer(c->held[i]));
	}
	s = qsql_prep(q, ST_CANCEL_ASKED, "s", me);
	while ((r = qsql_step(q, s, "heartbeat: cancellations", e)) > 0) {
		long long id = sqlite3_column_int64(s, 0);

		for (size_t i = 0; i < c->n_held; i++)
			if (c->held[i] == id)
				json_array_append_new(c->cancel, json_integer(id));
	}
	return r;
}

static int qsql_heartbeat(struct queue *base, long lease_s, const long long *held,
			  size_t n_held, json_t **cancel, json_t **gone,
			  struct err *e)
{
	struct beat_ctx c = { lease_s, held, n_held, json_array(), json_array() };

	if (qsql_tx_run((struct qsql *)base, true, beat_tx, &c, "heartbeat", e) < 0) {
		json_decref(c.cancel);
		json_decref(c.gone);
		return -1;
	}
	*cancel = c.cancel;
	*gone = c.gone;
	return 0;
}

struct recover_ctx {
	const char *agent_id;
	long long fail, max_attempts, now_ms;
	size_t n;
};

/* The runs to fail first, then the rest back to the queue. */
static int recover_tx(struct qsql *q, void *ctx, struct err *e)
{
	struct recover_ctx *c = ctx;
	int failed, requeued;

	failed = run(q, e, "recover", ST_FAIL_LOST, "isii", c->now_ms,
		     c->agent_id, c->fail, c->max_attempts);
	if (failed < 0)
		return -1;
	requeued = run(q, e, "recover", ST_REQUEUE, "is", c->now_ms, c->agent_id);
	if (requeued < 0)
		return -1;
	c->n = (size_t)failed + (size_t)requeued;
	return 0;
}

static int qsql_recover(struct queue *base, const char *agent_id, bool fail,
			long max_attempts, long long now_ms, size_t *n,
			struct err *e)
{
	struct recover_ctx c = { agent_id, fail, max_attempts,
				 now_ms ? now_ms : queue_now_ms(), 0 };
	int r = qsql_tx_run((struct qsql *)base, true, recover_tx, &c, "recover", e);

	if (!r && n)
		*n = c.n;
	return r;
}

/* ---- notes, finishing, cancelling ---- */

struct run_ctx {
	long long id;
	const char *note;
};

static int note_tx(struct qsql *q, void *ctx, struct err *e)
{
	struct run_ctx *c = ctx;
	int r = run(q, e, "set note", ST_NOTE, "is", c->id, c->note);

	return r != 0 ? (r < 0 ? r : 0) : qsql_not_found(q, e, c->id);
}

static int qsql_set_note(struct queue *base, long long run_id, const char *note,
			 struct err *e)
{
	struct run_ctx c = { run_id, note };

	return qsql_tx_run((struct qsql *)base, true, note_tx, &c, "set note", e);
}

static int release_tx(struct qsql *q, void *ctx, struct err *e)
{
	struct run_ctx *c = ctx;

	return run(q, e, "release", ST_RELEASE, "is", c->id, q->base.agent_id);
}

static int qsql_release(struct queue *base, long long run_id, struct err *e)
{
	struct run_ctx c = { run_id, NULL };

	return qsql_tx_run((struct qsql *)base, true, release_tx, &c, "release", e);
}

struct finish_ctx {
	long long id;
	const char *status, *text, *error, *log_path;
	const json_t *summary;
	struct qsql *q;		/* for the walk's callbacks */
	struct err *e;
};

static int finish_job(void *ctx, long job_idx, const struct queue_job_row *j)
{
	struct finish_ctx *c = ctx;

	return run(c->q, c->e, "finish: job", ST_JOB_ADD, "iissssssk", c->id,
		   (long long)job_idx, j->workflow, j->job_id, j->name, j->result,
		   j->started_at, j->finished_at, j->duration_ms);
}

static int finish_step(void *ctx, long job_idx, const struct queue_step_row *st)
{
	struct finish_ctx *c = ctx;

	return run(c->q, c->e, "finish: step", ST_STEP_ADD, "iiisskkk", c->id,
		   (long long)job_idx, (long long)st->idx, st->name, st->result,
		   (long long)st->exit_code, st->started_ms, st->duration_ms);
}

static int finish_tx(struct qsql *q, void *ctx, struct err *e)
{
	struct finish_ctx *c = ctx;
	int r = run(q, e, "finish", ST_FINISH, "isssssi", c->id, q->base.agent_id,
		    c->status, c->text, c->error, c->log_path, queue_now_ms());

	if (r <= 0)
		return r;
	if (run(q, e, "finish: steps", ST_STEPS_DEL, "i", c->id) < 0 ||
	    run(q, e, "finish: jobs", ST_JOBS_DEL, "i", c->id) < 0)
		return -1;
	c->q = q;
	c->e = e;
	return queue_walk_summary(c->summary, finish_job, finish_step, c) < 0 ?
		-1 : 1;
}

static int qsql_finish(struct queue *base, long long run_id, const char *status,
		       const json_t *summary, const char *error,
		       const char *log_path, struct err *e)
{
	struct qsql *q = (struct qsql *)base;
	struct finish_ctx c = { run_id, status, NULL, error, log_path, summary,
				NULL, NULL };
	bool final = false;
	int r;

	/* qsql_statuses[2..] are the final ones */
	for (size_t i = 2; status && i < ARRAY_SIZE(qsql_statuses); i++)
		final = final || !strcmp(status, qsql_statuses[i]);
	if (!final)
		return err_set(e, ERR_INVALID, "queue %s: finish run %lld: '%s' is"
			       " not a final status", q->url, run_id,
			       status ? status : "(null)");
	c.text = summary ? jsonx_dump(summary, 0) : NULL;
	r = qsql_tx_run(q, true, finish_tx, &c, "finish", e);
	free((char *)c.text);
	return r;
}

static int cancel_tx(struct qsql *q, void *ctx, struct err *e)
{
	long long id = *(long long *)ctx;
	sqlite3_stmt *s = qsql_prep(q, ST_STATUS, "i", id);
	const char *status;
	int r;

	if ((r = qsql_step(q, s, "cancel", e)) <= 0)
		return r < 0 ? r : qsql_not_found(q, e, id);
	status = (const char *)sqlite3_column_text(s, 0);
	if (!strcmp(status, "queued"))
		r = run(q, e, "cancel", ST_CANCEL_QUEUED, "ii", id, queue_now_ms());
	else if (!strcmp(status, "running"))
		r = run(q, e, "cancel", ST_CANCEL_RUNNING, "i", id);
	else
		return 0;
	return r < 0 ? r : 1;
}

static int qsql_cancel(struct queue *base, long long run_id, struct err *e)
{
	return qsql_tx_run((struct qsql *)base, true, cancel_tx, &run_id, "cancel", e);
}

/* ---- retention ---- */

struct prune_ctx {
	long long before;
	size_t limit, n;
	long long *ids;		/* owned: the batch's runs */
	char **deliveries;	/* owned: and their deliveries */
};

static void prune_clear(struct prune_ctx *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->deliveries[i]);
	c->n = 0;
}

/* The batch is read whole before anything is deleted (a statement does
 * not walk a table that changes under it); children before parents, as
 * the foreign keys want: steps, jobs, the run, its delivery. */
static int prune_tx(struct qsql *q, void *ctx, struct err *e)
{
	struct prune_ctx *c = ctx;
	sqlite3_stmt *s;
	int r = 0;

	prune_clear(c);		/* a busy try before this one */
	s = qsql_prep(q, ST_PRUNE_PICK, "ii", c->before, (long long)c->limit);
	while (c->n < c->limit && (r = qsql_step(q, s, "prune", e)) > 0) {
		c->ids[c->n] = sqlite3_column_int64(s, 0);
		c->deliveries[c->n++] = col_dup(s, 1);
	}
	sqlite3_reset(s);
	if (r < 0)
		return r;
	for (size_t i = 0; i < c->n; i++)
		if (run(q, e, "prune: steps", ST_STEPS_DEL, "i", c->ids[i]) < 0 ||
		    run(q, e, "prune: jobs", ST_JOBS_DEL, "i", c->ids[i]) < 0 ||
		    run(q, e, "prune: run", ST_RUN_DEL, "i", c->ids[i]) < 0 ||
		    run(q, e, "prune: delivery", ST_DELIVERY_DEL, "s",
			c->deliveries[i]) < 0)
			return -1;
	return 0;
}

static int qsql_prune(struct queue *base, long long before_ms, size_t limit,
		      size_t *n, struct err *e)
{
	struct prune_ctx c = { before_ms, limit, 0, NULL, NULL };
	int r;

	c.ids = xcalloc(limit + 1, sizeof(*c.ids));
	c.deliveries = xcalloc(limit + 1, sizeof(*c.deliveries));
	r = qsql_tx_run((struct qsql *)base, true, prune_tx, &c, "prune", e);

	*n = r < 0 ? 0 : c.n;
	prune_clear(&c);
	free(c.ids);
	free(c.deliveries);
	return r < 0 ? r : 0;
}

static int reset_tx(struct qsql *q, void *ctx, struct err *e)
{
	return exec(q, "DELETE FROM steps; DELETE FROM jobs; DELETE FROM runs;"
		    " DELETE FROM deliveries; DELETE FROM agents;"
		    " DELETE FROM oidc_keys", "reset", e);
}

static int qsql_reset(struct queue *base, struct err *e)
{
	return qsql_tx_run((struct qsql *)base, true, reset_tx, NULL, "reset", e);
}

static void qsql_relax_sync(struct queue *q)
{
	struct qsql *s = (struct qsql *)q;

	sqlite3_exec(s->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
}

const struct queue_ops queue_sqlite_ops = {
	.name = "sqlite",
	.open = qsql_open,
	.close = qsql_close,
	.add = qsql_add,
	.claim = qsql_claim,
	.heartbeat = qsql_heartbeat,
	.recover = qsql_recover,
	.set_note = qsql_set_note,
	.finish = qsql_finish,
	.cancel = qsql_cancel,
	.get = qsql_get,
	.list = qsql_list,
	.counts = qsql_counts,
	.repo_clone_urls = qsql_repo_clone_urls,
	.reset = qsql_reset,
	.keys_put = qsql_keys_put,
	.keys_get = qsql_keys_get,
	.relax_sync = qsql_relax_sync,
	.release = qsql_release,
	.prune = qsql_prune,
};
