/*
 * queue_int: what the queue's backends (queue_sqlite.c, queue_pg.c) share
 * with the dispatch in queue.c. Each backend's struct begins with a
 * struct queue, so a backend's handle is a struct queue.
 */
#ifndef GANTRY_QUEUE_INT_H
#define GANTRY_QUEUE_INT_H

#include "queue.h"

struct strv;

struct queue_ops {
	const char *name;
	int (*open)(struct queue **out, const char *url, const char *agent_id,
		    struct err *e);
	void (*close)(struct queue *q);
	int (*add)(struct queue *q, const struct queue_new *runs, size_t n,
		   long long *run_ids, bool *dup, struct err *e);
	int (*claim)(struct queue *q, struct queue_run *out, long lease_s,
		     struct err *e);
	int (*heartbeat)(struct queue *q, long lease_s, const long long *held,
			 size_t n_held, json_t **cancel, json_t **gone,
			 struct err *e);
	int (*recover)(struct queue *q, const char *agent_id, bool fail,
		       long max_attempts, long long now_ms, size_t *n,
		       struct err *e);
	int (*set_note)(struct queue *q, long long run_id, const char *note,
			struct err *e);
	int (*finish)(struct queue *q, long long run_id, const char *status,
		      const json_t *summary, const char *error,
		      const char *log_path, struct err *e);
	int (*cancel)(struct queue *q, long long run_id, struct err *e);
	int (*get)(struct queue *q, long long run_id, json_t **out, struct err *e);
	int (*list)(struct queue *q, long limit, long long before,
		    const char *status, json_t **out, struct err *e);
	int (*counts)(struct queue *q, json_t **out, struct err *e);
	/* queue_repo_knows_url's rows: append to *out the distinct clone
	 * URLs of the newest limit runs of repo whose delivery ID does not
	 * begin with "manual:" */
	int (*repo_clone_urls)(struct queue *q, const char *repo, long limit,
			       struct strv *out, struct err *e);
	int (*release)(struct queue *q, long long run_id, struct err *e);
	int (*keys_put)(struct queue *q, const json_t *rows, long long now_ms,
			long long keep_ms, struct err *e);
	int (*keys_get)(struct queue *q, long long since_ms, json_t **out,
			struct err *e);
	/* one batch of queue_prune, in one transaction: at most limit
	 * runs; *n gets how many were deleted */
	int (*prune)(struct queue *q, long long before_ms, size_t limit,
		     size_t *n, struct err *e);
	/* optional (NULL: nothing to relax): queue_relax_sync */
	void (*relax_sync)(struct queue *q);
	/* tests only: delete every row of every table (not the schema) */
	int (*reset)(struct queue *q, struct err *e);
};

struct queue {
	const struct queue_ops *ops;
	char *agent_id;		/* owned */
};

extern const struct queue_ops queue_sqlite_ops;
extern const struct queue_ops queue_pg_ops;

/* The backends' repo_clone_urls, for their ops tables (queue_sqlite_read.c,
 * queue_pg_read.c). */
int qsql_repo_clone_urls(struct queue *base, const char *repo, long limit,
			 struct strv *out, struct err *e);
int pg_repo_clone_urls(struct queue *base, const char *repo, long limit,
		       struct strv *out, struct err *e);
/* The backends' keys_put and keys_get (the same files). */
int qsql_keys_put(struct queue *base, const json_t *rows, long long now_ms,
		  long long keep_ms, struct err *e);
int qsql_keys_get(struct queue *base, long long since_ms, json_t **out,
		  struct err *e);
int pg_keys_put(struct queue *base, const json_t *rows, long long now_ms,
		long long keep_ms, struct err *e);
int pg_keys_get(struct queue *base, long long since_ms, json_t **out,
		struct err *e);

/* Tests only: empty the queue (ops->reset). */
int queue_test_reset(struct queue *q, struct err *e);


/* One job of a run's summary, as rows: called once per job with the
 * workflow's path (may be NULL) and the job object, then once per step. */
struct queue_job_row {
	const char *workflow;
	const char *job_id;
	const char *name;
	const char *result;
	const char *started_at;		/* ISO 8601, may be NULL */
	const char *finished_at;
	long long duration_ms;		/* -1 unknown */
};
struct queue_step_row {
	long idx;			/* 0-based within the job */
	const char *name;
	const char *result;		/* the step's conclusion */
	long exit_code;			/* -1 none */
	long long started_ms;		/* Unix ms; -1 unknown */
	long long duration_ms;		/* -1 unknown */
};
/* Walk summary (one workflow's object or an array of them); fn_job gets
 * each job (with its index across the run), fn_step each of its steps.
 * A callback that returns < 0 stops the walk, which returns that. */
int queue_walk_summary(const json_t *summary,
		       int (*fn_job)(void *ctx, long job_idx, const struct queue_job_row *j),
		       int (*fn_step)(void *ctx, long job_idx, const struct queue_step_row *s),
		       void *ctx);

/* "postgres://user:***@host/db": the URL without its password, for
 * messages. Caller frees. */
char *queue_url_redact(const char *url);

#endif
