/*
 * queue_pg_int: what the two files of the queue's PostgreSQL backend
 * share, and nothing else includes: queue_pg.c (the connection, its
 * retries, the migrations, every write and the ops table) and
 * queue_pg_read.c (get, list and counts, results as JSON, and the
 * small helpers that read one statement's answer: pg_rows, pg_value).
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
 * Run one statement; *out (may be NULL) gets its result, which the caller
 * PQclear()s. A lost connection outside a transaction is reset and the
 * statement sent again, once. 0, or < 0 with e filled (what names the
 * statement in the message).
 */
int pg_exec(struct queue_pg *q, PGresult **out, const char *what,
	    const char *sql, int n, const char *const *params, struct err *e);

/* How many rows a statement answers; < 0 with e filled. */
int pg_rows(struct queue_pg *q, const char *what, const char *sql, int n,
	    const char *const *params, struct err *e);

/* *out: the first column of the only row as a number, -1 without a row
 * (or not exactly one); 0, or < 0 with e filled. */
int pg_value(struct queue_pg *q, long long *out, const char *what,
	     const char *sql, int n, const char *const *params, struct err *e);

/* The ops table's reads (queue_pg_read.c); see queue_int.h. *out is a
 * new reference the caller owns. */
int pg_get(struct queue *base, long long run_id, json_t **out, struct err *e);
int pg_list(struct queue *base, long limit, long long before,
	    const char *status, json_t **out, struct err *e);
int pg_counts(struct queue *base, json_t **out, struct err *e);

#endif
