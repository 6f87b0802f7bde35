/*
 * queue: the agent's durable state: deliveries, runs, jobs and steps, in
 * SQLite (one agent, the default) or PostgreSQL (a fleet of agents).
 *
 * URLs: "sqlite:///abs/path/queue.db" (or "sqlite://relative/path"), and
 * "postgres://user:pass@host:port/db?..." / "postgresql://..." handed to
 * libpq as they are (libpq's own keywords and environment apply).
 *
 * Rules that always hold:
 * - A delivery ID is stored once: queue_add() inserts the delivery and its
 *   run in one transaction; the same ID again inserts nothing and answers
 *   the first run's ID (until retention deletes that run: queue_prune). A
 *   call that returns 0 has committed durably (SQLite: WAL,
 *   synchronous=FULL; PostgreSQL: a committed transaction).
 * - A run is taken by exactly one agent: queue_claim() moves one queued
 *   run to running under the agent's ID with a lease (SQLite: one writer;
 *   PostgreSQL: FOR UPDATE SKIP LOCKED). The agent renews its leases with
 *   queue_heartbeat(); a run whose lease has expired is lost, and
 *   queue_recover() puts it back in the queue or fails it (on_lost), and
 *   fails it anyway once it has been lost max_attempts times.
 * - queue_finish() only writes a run the agent still holds; a run that was
 *   recovered meanwhile is left to whoever holds it now.
 * - The schema has a version (table schema_version); queue_open() applies
 *   the migrations it lacks, in one transaction each, and refuses a
 *   database newer than this gantry. Both backends hold the same tables.
 * - One struct queue is one database connection, for one thread at a time.
 *   Threads open their own (queue_open is cheap after the first).
 * - Times are Unix milliseconds (long long) in the database and the API.
 *
 * Run statuses: "queued", "running", "success", "failure", "cancelled",
 * "skipped" (no workflow ran on the event). Terminal: the last four.
 */
#ifndef GANTRY_QUEUE_H
#define GANTRY_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "../lib/err.h"

#define QUEUE_SCHEMA_VERSION 3

struct queue;

/* A run to add. Strings are borrowed. */
struct queue_new {
	const char *delivery;	/* unique ID ("github:<uuid>", "manual:<uuid>") */
	const char *forge;	/* "github", "gitea", "gitlab", "manual" */
	const char *event;	/* "push", "workflow_dispatch" */
	const char *repo;	/* owner/name */
	const char *clone_url;
	const char *ref;	/* refs/heads/x or refs/tags/x */
	const char *sha;	/* 40 hex; NULL for a manual run of a ref */
	const char *payload;	/* the event payload as JSON text (GitHub's shape) */
	const char *workflow;	/* manual runs: a workflow file name; else NULL */
	const char *inputs;	/* manual runs: inputs as a JSON object text; else NULL */
};

/* A claimed run. Everything owned; queue_run_release frees it. */
struct queue_run {
	long long id;
	char *delivery;
	char *forge;
	char *event;
	char *repo;
	char *clone_url;
	char *ref;
	char *sha;		/* NULL for a manual run of a ref */
	char *payload;
	char *workflow;		/* may be NULL */
	char *inputs;		/* may be NULL */
	long attempts;		/* times it was claimed before, lost each time */
	long long created_ms;	/* when the delivery was stored */
};

void queue_run_release(struct queue_run *r);

/* Milliseconds since the epoch, wall clock. */
long long queue_now_ms(void);

/* Open (creating and migrating) the queue at url for agent_id (borrowed,
 * copied). *out owned, queue_close frees it. ERR_INVALID for a URL that
 * is neither scheme; the message never contains a URL's password. */
int queue_open(struct queue **out, const char *url, const char *agent_id,
	       struct err *e);
void queue_close(struct queue *q);
/*
 * For a connection whose writes need not outlive a power failure, only a
 * crash of the agent: claims, heartbeats and results (a run whose claim
 * or result is lost with the power is queued again and carried out once
 * more); never the intake's, whose answer promises durability. SQLite:
 * synchronous=NORMAL on this connection (WAL: committed transactions
 * survive a crash of the process, and no fsync per commit); PostgreSQL:
 * nothing changes.
 */
void queue_relax_sync(struct queue *q);

/* "sqlite" or "postgres". */
const char *queue_backend(const struct queue *q);

/*
 * Store n deliveries with their runs in one transaction (group commit).
 * For each i, run_ids[i] is the run's ID and dup[i] whether the delivery
 * was there already (its first run's ID then). Either all are stored or,
 * on error, none.
 */
int queue_add(struct queue *q, const struct queue_new *runs, size_t n,
	      long long *run_ids, bool *dup, struct err *e);

/* Take the oldest queued run for this agent: 1 with *out filled, 0 when
 * none is queued. Its lease runs for lease_s seconds. */
int queue_claim(struct queue *q, struct queue_run *out, long lease_s,
		struct err *e);

/* Renew this agent's liveness and the leases of the runs in held (n_held
 * IDs: those its workers are carrying out; a run it claimed but no
 * longer carries out, such as one whose result could not be stored, is
 * left to expire and be recovered). *cancel (new reference, an array of
 * run IDs, may be empty) gets those of held whose cancellation was asked
 * for (queue_cancel); *gone (the same) those of held that are no longer
 * this agent's running runs (recovered by another agent after their lease
 * ran out, say): the agent must stop them. */
int queue_heartbeat(struct queue *q, long lease_s, const long long *held,
		    size_t n_held, json_t **cancel, json_t **gone, struct err *e);

/*
 * Recover lost runs: running runs whose lease expired before now_ms, or,
 * when agent_id is given, every running run held by that agent (an agent
 * that restarts recovers its own at once). Each goes back to queued
 * (attempts + 1) or, with on_lost fail or after max_attempts, to failure
 * with the reason "lost: agent X stopped renewing its lease". *n (may be
 * NULL) gets how many. now_ms 0 means now by the queue's clock: the
 * agent passes 0, so that on PostgreSQL, where leases are written and
 * checked in the database's clock, the agents' own clocks do not matter;
 * a later now_ms asks for the leases expired by then (tests, and SQLite's
 * start, where no other agent can hold a run).
 */
int queue_recover(struct queue *q, const char *agent_id, bool fail,
		  long max_attempts, long long now_ms, size_t *n,
		  struct err *e);

/* Give back a run this agent holds and has not started (the agent is
 * stopping): queued again, its attempts unchanged. 1 when given back, 0
 * when it is not this agent's running run. */
int queue_release(struct queue *q, long long run_id, struct err *e);

/* Mark the run's start of work, for the API (checkout done etc.). */
int queue_set_status_note(struct queue *q, long long run_id, const char *note,
			  struct err *e);

/*
 * Finish a run this agent holds: status (terminal), the run's summary
 * (what gantry run --json-summary wrote: one workflow's object or an
 * array of them; may be NULL), error (may be NULL) and the log's path.
 * The jobs and steps of the summary become rows. 1 when written, 0 when
 * the run is no longer this agent's.
 */
int queue_finish(struct queue *q, long long run_id, const char *status,
		 const json_t *summary, const char *error, const char *log_path,
		 struct err *e);

/* Ask for a run's cancellation: a queued run becomes cancelled at once;
 * a running one is flagged for its agent. 1 when the run exists and was
 * not finished, 0 when it is finished, ERR_NOT_FOUND when unknown. */
int queue_cancel(struct queue *q, long long run_id, struct err *e);

/*
 * Reading, for the API. A run as JSON: {"id", "delivery", "forge",
 * "event", "repo", "ref", "sha", "workflow", "status", "note", "error",
 * "agent", "attempts", "created_ms", "started_ms", "finished_ms",
 * "log_path", "jobs": [{"workflow", "id", "name", "result", "started_at",
 * "finished_at", "duration_ms", "steps": [{"name", "result", "exit_code",
 * "started_ms", "duration_ms"}]}]} (jobs only in queue_get). ERR_NOT_FOUND for an
 * unknown ID.
 */
int queue_get(struct queue *q, long long run_id, json_t **out, struct err *e);
/* The newest runs first, at most limit, with IDs below before (0: any),
 * of one status (NULL: any); an array, without jobs. */
int queue_list(struct queue *q, long limit, long long before,
	       const char *status, json_t **out, struct err *e);

/* Whether url is the clone URL of a run of repo that came from a signed
 * webhook delivery (its delivery ID not "manual:..."), up to the case of
 * its scheme and host, a default port, userinfo and a trailing "/" or
 * ".git": 1 yes, 0 no (also for a URL with a query or fragment), -1 with
 * e. The newest 1,000 such runs are looked at, at most. */
int queue_repo_knows_url(struct queue *q, const char *repo, const char *url,
			 struct err *e);
/* url in the form queue_repo_knows_url compares (caller frees): scheme and
 * host in lower case, without userinfo or the scheme's default port, the
 * path without a trailing "/" or ".git"; NULL for what is not
 * scheme://host/path, or has a query or a fragment (which a git server
 * may ignore: "https://host/them/evil.git?x=/acme/app"). */
char *queue_clone_url_norm(const char *url);

/*
 * Retention (data.retention_days): delete the finished runs (success,
 * failure, cancelled, skipped) whose finished_ms is before before_ms, with
 * their jobs, steps and delivery rows (payloads up to server.max_body
 * each); never a queued or running run. *n (may be NULL) gets how many
 * runs were deleted, also when a later batch failed.
 *
 * The work is done in batches of at most QUEUE_PRUNE_BATCH runs, each in
 * its own transaction, so that a big backlog never holds the database
 * (the intake and the claims wait for one batch at most, not for the
 * whole prune), and it stops between batches once it has worked for
 * QUEUE_PRUNE_BUDGET_MS, so that its caller (the heartbeat) is not held
 * for long: 1 then says runs may be left for the next call, 0 that none
 * is. A failed batch is rolled back whole; those before it stay deleted.
 * Agents pruning at once share the runs out (PostgreSQL: SKIP LOCKED).
 *
 * A pruned run's delivery ID is unknown again: a delivery redelivered
 * after its run was pruned is stored as a new run, and runs again.
 * Forges redeliver within days (GitHub: 3), so a retention of a week or
 * more never meets one.
 */
#define QUEUE_PRUNE_BATCH 1000
#define QUEUE_PRUNE_BUDGET_MS 2000
int queue_prune(struct queue *q, long long before_ms, size_t *n,
		struct err *e);

/* Counts for /metrics: {"runs": {status: n, ...}, "deliveries": n,
 * "queued": n, "running": n}. */
int queue_counts(struct queue *q, json_t **out, struct err *e);

/* The fleet's OIDC public keys (table oidc_keys, schema 3), so that every
 * agent can publish every agent's (agent_fleet_keys.c). put stores rows,
 * an array of {"kid", "jwk", "mac"} strings (the JWK as JSON text, and a
 * MAC the agents make and check: the queue stores it only), as this
 * agent's, seen at now_ms (a kid stored before is replaced), and deletes
 * the rows not seen since now_ms - keep_ms (PostgreSQL: since the earlier
 * of now_ms and the database's clock, less keep_ms). get answers the rows
 * seen since since_ms as {"kid", "jwk", "mac", "agent", "seen_ms"}
 * objects, by kid. */
int queue_keys_put(struct queue *q, const json_t *rows, long long now_ms,
		   long long keep_ms, struct err *e);
int queue_keys_get(struct queue *q, long long since_ms, json_t **out,
		   struct err *e);

#endif
