/*
 * queue_pg_int: what the files of the queue's PostgreSQL backend share,
 * and nothing else includes but their tests: queue_pg_lib.c (libpq,
 * loaded at run time), queue_pg.c (the connection, its retries, every
 * write and the ops table), queue_pg_read.c (get, list and counts,
 * results as JSON, and the small helpers that read one statement's
 * answer: pg_rows, pg_value; and pg_array_add, which writes a text[]
 * parameter) and queue_pg_schema.c (the migrations, the tests' reset,
 * retention's prune).
 *
 * Rules that always hold: values travel only as PQexecParams text
 * parameters (struct pg_num for numbers), and every statement goes
 * through pg_exec, which fills the caller's struct err with a message
 * that names the URL without its password (queue_pg.safe).
 */
#ifndef GANTRY_QUEUE_PG_INT_H
#define GANTRY_QUEUE_PG_INT_H

#include "queue_int.h"

#include <libpq-fe.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * libpq, loaded at run time (queue_pg_lib.c): gantry does not link it, so
 * a process that opens no PostgreSQL queue never maps it nor needs it
 * installed. pg_open calls pg_lib_load first; the PQ names
 * below then call through pg_lib, whose members keep <libpq-fe.h>'s
 * types, so the compiler checks every call as before. These macros are
 * for the files that include this header only.
 */
struct pg_lib {
	__typeof__(PQclear) *clear;
	__typeof__(PQconnectdbParams) *connectdb_params;
	__typeof__(PQerrorMessage) *error_message;
	__typeof__(PQexec) *exec;
	__typeof__(PQexecParams) *exec_params;
	__typeof__(PQfinish) *finish;
	__typeof__(PQfname) *fname;
	__typeof__(PQftype) *ftype;
	__typeof__(PQgetisnull) *getisnull;
	__typeof__(PQgetvalue) *getvalue;
	__typeof__(PQnfields) *nfields;
	__typeof__(PQntuples) *ntuples;
	__typeof__(PQreset) *reset;
	__typeof__(PQresultErrorField) *result_error_field;
	__typeof__(PQresultErrorMessage) *result_error_message;
	__typeof__(PQresultStatus) *result_status;
	__typeof__(PQsetNoticeProcessor) *set_notice_processor;
	__typeof__(PQstatus) *status;
};

/* Filled once by pg_lib_load, read-only after; all NULL until then. */
extern struct pg_lib pg_lib;

/*
 * Load libpq.so.5 and every function of struct pg_lib, once per process
 * (thread-safe; a failure is kept too, and answered again). 0, or -1
 * with e (ERR_IO) naming the library, dlerror()'s reason and what to
 * install.
 */
int pg_lib_load(struct err *e);

/* Tests only: load name (borrowed, must outlive the process's load)
 * instead of libpq.so.5. Must be called before the first pg_lib_load. */
void pg_lib_name_for_test(const char *name);

#define PQclear pg_lib.clear
#define PQconnectdbParams pg_lib.connectdb_params
#define PQerrorMessage pg_lib.error_message
#define PQexec pg_lib.exec
#define PQexecParams pg_lib.exec_params
#define PQfinish pg_lib.finish
#define PQfname pg_lib.fname
#define PQftype pg_lib.ftype
#define PQgetisnull pg_lib.getisnull
#define PQgetvalue pg_lib.getvalue
#define PQnfields pg_lib.nfields
#define PQntuples pg_lib.ntuples
#define PQreset pg_lib.reset
#define PQresultErrorField pg_lib.result_error_field
#define PQresultErrorMessage pg_lib.result_error_message
#define PQresultStatus pg_lib.result_status
#define PQsetNoticeProcessor pg_lib.set_notice_processor
#define PQstatus pg_lib.status

struct queue_pg {
	struct queue base;
	PGconn *conn;		/* owned */
	char *safe;		/* owned: the URL without its password */
	bool in_tx;		/* between BEGIN and COMMIT or ROLLBACK */
	bool lost;		/* the last failure lost the connection */
	bool commit_sent;	/* the transaction's COMMIT was sent */
	char sqlstate[6];	/* the last failure's SQLSTATE, "" when none */
};

/* A number as a text parameter. */
struct pg_num {
	char s[24];
};

/* v as text in n; returns n->s (borrowed from n). */
static inline const char *pg_num_str(struct pg_num *n, long long v)
{
	snprintf(n->s, sizeof(n->s), "%lld", v);
	return n->s;
}

/* v as text in n, or NULL when it is -1 (unknown, in a summary's rows). */
static inline const char *pg_num_or_null(struct pg_num *n, long long v)
{
	return v < 0 ? NULL : pg_num_str(n, v);
}

/* Column col of row row of res as a number. */
static inline long long pg_col_ll(const PGresult *res, int row, int col)
{
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/*
 * "queue <url>: <what>: <libpq's message on one line>" in e (ERR_TIMEOUT
 * for a statement cancelled by statement_timeout, else ERR_IO), from res
 * (may be NULL: the connection's message); q->sqlstate gets its SQLSTATE.
 * Returns -1.
 */
int pg_fail(struct queue_pg *q, struct err *e, const PGresult *res,
	    const char *what);

/*
 * Run one statement; *out (may be NULL) gets its result, which the caller
 * PQclear()s. A lost connection outside a transaction is reset and the
 * statement sent again, once. 0, or < 0 with e filled (what names the
 * statement in the message).
 */
int pg_exec(struct queue_pg *q, PGresult **out, const char *what,
	    const char *sql, int n, const char *const *params, struct err *e);

/* A transaction: work (>= 0, or < 0 with e filled) and, when a lost
 * COMMIT may have landed anyway, how to tell (landed: a statement that
 * finds work's write, with its nparams params; NULL: give up). */
struct pg_tx {
	int (*work)(struct queue_pg *q, void *ctx, struct err *e);
	void *ctx;
	const char *landed;
	int nparams;
	const char *const *params;	/* work may fill them in */
};

/* Run tx->work between BEGIN and COMMIT, again after a deadlock or a
 * lost connection when nothing can have committed (a few times at most);
 * answers what work did, 1 when landed found a lost COMMIT's write, or
 * < 0 with e filled. */
int pg_tx(struct queue_pg *q, const struct pg_tx *tx, struct err *e);

/* How many rows a statement answers; < 0 with e filled. */
int pg_rows(struct queue_pg *q, const char *what, const char *sql, int n,
	    const char *const *params, struct err *e);

/* *out: the first column of the only row as a number, -1 without a row
 * (or not exactly one); 0, or < 0 with e filled. */
int pg_value(struct queue_pg *q, long long *out, const char *what,
	     const char *sql, int n, const char *const *params, struct err *e);

/* A text[] parameter, built in b (which the caller releases): append s
 * (NULL for a null element) as the next element with pg_array_add, then
 * close it with pg_array_end, which answers its text (borrowed from b). */
struct buf;
void pg_array_add(struct buf *b, const char *s);
const char *pg_array_end(struct buf *b);

/* The ops table's reads (queue_pg_read.c); see queue_int.h. *out is a
 * new reference the caller owns. */
int pg_get(struct queue *base, long long run_id, json_t **out, struct err *e);
int pg_list(struct queue *base, long limit, long long before,
	    const char *status, json_t **out, struct err *e);
int pg_counts(struct queue *base, json_t **out, struct err *e);

/* queue_pg_schema.c: bring the database to QUEUE_SCHEMA_VERSION, once
 * among agents starting together; ERR_INVALID for a newer one. */
int pg_migrate(struct queue_pg *q, struct err *e);
/* Tests only (queue_ops.reset): empty every table, schema kept. */
int pg_reset(struct queue *base, struct err *e);
/* queue_ops.prune: one batch of queue_prune (queue.h), one transaction. */
int pg_prune(struct queue *base, long long before_ms, size_t limit,
	     size_t *n, struct err *e);

#endif
