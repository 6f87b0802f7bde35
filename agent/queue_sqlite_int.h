/*
 * queue_sqlite_int: what the two halves of the SQLite queue share, and
 * nothing else includes. queue_sqlite.c opens, migrates and writes, and
 * holds the ops table; queue_sqlite_read.c reads (get, list, counts) and
 * holds the plumbing both halves use: errors, cached statements and the
 * transaction that is run again, whole, while the file is busy.
 *
 * Rules that always hold: every statement is prepared once, in open, into
 * q->st[] (its SQL is st_sql[] in queue_sqlite.c, indexed by enum st) and
 * is used only through qsql_prep or qsql_vprep, which reset it and bind
 * its parameters. Every use runs inside qsql_tx_run, on the one thread
 * that holds the connection. A call that fails fills the caller's struct
 * err (untouched on success) and returns a negative number.
 */
#ifndef GANTRY_QUEUE_SQLITE_INT_H
#define GANTRY_QUEUE_SQLITE_INT_H

#include "queue_int.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>

#define QSQL_RETRY_MS 30000	/* how long a busy transaction is retried */

/* The cached statements, in the order of st_sql[]. */
enum st {
	/* transaction control, prepared before the migrations */
	ST_BEGIN_W, ST_BEGIN_R, ST_COMMIT, ST_ROLLBACK,
	ST_TX_END = ST_ROLLBACK,
	ST_ADD_DELIVERY, ST_ADD_RUN, ST_RUN_OF_DELIVERY,
	ST_CLAIM,
	ST_AGENT_BEAT, ST_LEASE_RENEW, ST_CANCEL_ASKED,
	ST_FAIL_LOST, ST_REQUEUE,
	ST_NOTE, ST_RELEASE,
	ST_FINISH, ST_JOBS_DEL, ST_STEPS_DEL, ST_JOB_ADD, ST_STEP_ADD,
	ST_STATUS, ST_CANCEL_QUEUED, ST_CANCEL_RUNNING,
	ST_GET, ST_GET_JOBS, ST_GET_STEPS, ST_LIST,
	ST_COUNT_RUNS, ST_COUNT_DELIVERIES,
	ST_PRUNE_PICK, ST_RUN_DEL, ST_DELIVERY_DEL,
	ST_COUNT
};

struct qsql {
	struct queue base;
	sqlite3 *db;
	char *url;			/* owned; for messages */
	int rc;				/* the last failure's SQLite code */
	sqlite3_stmt *st[ST_COUNT];	/* owned; finalized in close */
};

/* Every status a run can have (queue_sqlite.c); [2..] are the final ones. */
#define QSQL_NSTATUS 6
extern const char *const qsql_statuses[QSQL_NSTATUS];

/* ---- queue_sqlite_read.c: errors, statements, transactions ---- */

/* A SQLite code that means another connection holds the lock. */
bool qsql_busy(int rc);

/* Fill e from the connection's last failure ("queue URL: what: why") and
 * keep its SQLite code in q->rc. Returns -1. */
int qsql_err(struct qsql *q, struct err *e, const char *what);

/* "queue URL: run ID not found" (ERR_NOT_FOUND). Returns -1. */
int qsql_not_found(struct qsql *q, struct err *e, long long id);

/* q->st[which], reset, with ?1, ?2, ... bound as fmt says: 's' a string
 * (NULL binds NULL), 'i' a long long, 'k' a long long that binds NULL
 * when negative. The statement stays q's (borrowed). */
sqlite3_stmt *qsql_prep(struct qsql *q, enum st which, const char *fmt, ...);
sqlite3_stmt *qsql_vprep(struct qsql *q, enum st which, const char *fmt,
			 va_list ap);

/* Step s: 1 for a row, 0 when done, -1 with e filled. */
int qsql_step(struct qsql *q, sqlite3_stmt *s, const char *what,
	      struct err *e);

/* Sleep ms milliseconds, through signals. */
void qsql_sleep_ms(long ms);

/* The body of a transaction: >= 0 to commit, < 0 (e filled) to roll back. */
typedef int (*qsql_tx_fn)(struct qsql *q, void *ctx, struct err *e);

/* Run fn in one transaction (write: BEGIN IMMEDIATE, else BEGIN), rolled
 * back and run again, whole, while the database is busy, for up to
 * QSQL_RETRY_MS. Returns fn's result; e is untouched on success. */
int qsql_tx_run(struct qsql *q, bool write, qsql_tx_fn fn, void *ctx,
		const char *what, struct err *e);

/* ---- queue_sqlite_read.c: the reading ops (queue.h says what they
 * answer); *out is the caller's on success ---- */

int qsql_get(struct queue *base, long long run_id, json_t **out,
	     struct err *e);
int qsql_list(struct queue *base, long limit, long long before,
	      const char *status, json_t **out, struct err *e);
int qsql_counts(struct queue *base, json_t **out, struct err *e);

#endif
