/*
 * agent: gantry as a daemon. Webhooks come in over HTTP, are checked and
 * stored in the queue before they are answered, and workers take them
 * from the queue and run them.
 *
 * Threads: libmicrohttpd's (one per connection: a request may wait for
 * the group commit or stream a log); the intake, which commits the
 * deliveries that arrive together in one transaction (group commit) and
 * wakes the workers; WORKERS__COUNT workers, each holding one run at a
 * time; the heartbeat, which renews this agent's leases, delivers
 * cancellations and recovers the runs of agents that died; and the main
 * thread, which waits for signals (SIGTERM/SIGINT: drain; SIGHUP:
 * reload).
 *
 * A run is carried out by a child process, `gantry run`, with the checked
 * out commit, the event payload and a summary file: each run has its own
 * process, so a run's crash, memory or cancellation stays its own, and
 * the agent's memory does not grow with the runs it has done. The child
 * dies with the agent (PR_SET_PDEATHSIG), and its run is then recovered
 * from the queue as QUEUE__ON_LOST says. Commit statuses are posted by a
 * short-lived child too (`gantry __forge-status`, forge_status.c), so the
 * agent itself never calls libcurl.
 */
#ifndef GANTRY_AGENT_H
#define GANTRY_AGENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include "agent_config.h"
#include "queue.h"
#include "../lib/strv.h"

struct mask;
struct oidc_issuer;
struct MHD_Daemon;

/* One delivery waiting for the group commit. */
struct intake_req {
	struct queue_new run;		/* borrowed strings */
	long long run_id;
	bool dup;
	bool done;
	int rc;				/* 0 stored, -1 e set */
	struct err e;
	struct intake_req *next;
};

struct worker {
	struct agent *ag;
	int index;
	pthread_t thread;
	/* under ag->lock: */
	long long run_id;		/* 0: idle */
	pid_t child;			/* 0: none */
	bool cancel_sent;
	bool lost;			/* its lease could not be renewed: stopped, not reported */
	long long busy_since_ns;
	long long busy_ns;		/* total, for utilisation */
	/* the worker's own (agent_standby.c): its next run's process */
	pid_t standby;			/* 0: none */
	int standby_sock;		/* -1: none */
	char *standby_key;		/* the settings it was made with */
	long long standby_retry_ns;	/* none started before (monotonic) */
};

/* Logs followed at once, and webhook body bytes held unverified at once
 * (over it: 503), so that no client can take all threads or memory. */
#define AGENT_FOLLOWERS_MAX 64
#define AGENT_UNVERIFIED_MAX (256LL << 20)

/* Step durations histogram bounds, seconds; the last bucket is +Inf. */
#define AGENT_HIST_N 9

struct agent {
	struct agent_config cfg;	/* owned; under cfg_lock for reloadable keys */
	pthread_rwlock_t cfg_lock;
	const char *config_path;	/* borrowed from argv, may be NULL */
	char *exe;			/* owned: the gantry that runs the workflows */
	char *cache_dir;		/* owned: DATA_DIR/git */
	char *logs_dir;			/* owned: DATA_DIR/logs */
	char *runs_dir;			/* owned: DATA_DIR/runs */
	char *work_dir;			/* owned: DATA_DIR/work */
	struct mask *mask;		/* owned: the configuration's secrets */
	struct oidc_issuer *oidc;	/* owned; NULL when the keyring failed */
	struct MHD_Daemon *httpd;
	unsigned short port;		/* the port listened on */

	pthread_mutex_t lock;		/* guards what follows */
	pthread_cond_t wake_workers;	/* a run was queued, or stopping */
	unsigned long work_gen;		/* bumped with each wake_workers broadcast */
	pthread_cond_t intake_cond;	/* a delivery waits, or stopping */
	pthread_cond_t intake_done;	/* a batch was committed */
	struct intake_req *pending;	/* FIFO */
	struct intake_req **pending_tail;
	bool draining;			/* SIGTERM: refuse deliveries, claim nothing */
	bool stopping;			/* threads exit */
	struct worker *workers;
	size_t n_workers;
	struct queue *api_q;		/* the API's connection, under api_lock */
	pthread_mutex_t api_lock;

	/* metrics (atomic: counted from many threads) */
	atomic_llong deliveries[8];	/* by enum agent_delivery_result */
	atomic_llong finished[4];	/* runs this agent finished: success, failure, cancelled, skipped */
	atomic_llong step_hist[AGENT_HIST_N];
	atomic_llong step_count;
	atomic_llong step_ms_sum;
	atomic_int followers;		/* GET /runs/ID/logs being served */
	atomic_llong unverified;	/* body bytes held before their signature is checked */
	atomic_llong last_renew_ns;	/* monotonic time of the last renewal of the leases */
	/* agent_fleet_keys.c: the fleet's OIDC keys, checked (under
	 * fleet_lock); the rest is its thread's own */
	pthread_mutex_t fleet_lock;
	json_t *fleet_keys;		/* owned; NULL before the first read */
	json_t *fleet_until;		/* owned: when each is a day old (ms) */
	long long fleet_put_ms;		/* when this agent's keys were put */
	char *fleet_put_rows;		/* owned: what they depended on then */
	size_t fleet_refused;		/* rows refused at the last read */
	unsigned char fleet_key[32];	/* the MAC key (secret) */
	unsigned char fleet_key_of[32];	/* SHA-256 of what it is of (secret) */
	bool fleet_key_set;
	unsigned long fleet_key_gen;	/* counts the keys derived */
	long long started_ns;
};

enum agent_delivery_result {
	DLV_QUEUED, DLV_DUPLICATE, DLV_IGNORED, DLV_PING, DLV_UNAUTHORIZED,
	DLV_INVALID, DLV_TOO_LARGE, DLV_UNAVAILABLE,
};
extern const char *const agent_delivery_result_names[8];
extern const double agent_hist_bounds[AGENT_HIST_N - 1];

/* cmd_agent.c: the daemon, for gantry agent and gantry-agent: argv as
 * gantry agent's (argv[0] the command's name). run_exe: the gantry binary
 * that runs the workflows (gantry run); the agent refuses to start when
 * it cannot be executed. Returns the exit status. */
int agent_main(int argc, char **argv, const char *run_exe);

/* agent_fleet_keys.c: the fleet's OIDC public keys through the queue.
 * rows: this agent's keys as queue_keys_put rows, each with its MAC for
 * now_ms; mac: a row's MAC, 64 hex digits (the caller holds cfg_lock);
 * check: the public keys of the rows seen_ms within the day before now_ms
 * whose MAC and key check out (with, when until is an array, when each
 * is a day old appended to it), *refused counting the others; sync: put
 * this agent's rows when due and read the fleet's good ones for jwks:
 * this agent's JWKS with the fleet's keys it lacks. start: the thread
 * that syncs every third of the lease (*started false for SQLite, or
 * without an issuer). Only that thread (or a test) calls rows, mac,
 * check and sync. */
json_t *agent_fleet_rows(struct agent *ag, long long now_ms);
void agent_fleet_mac(char out[65], struct agent *ag, long long seen_ms,
		     const char *kid, const char *jwk);
json_t *agent_fleet_check(struct agent *ag, const json_t *rows, long long now_ms,
			  json_t *until, size_t *refused);
int agent_fleet_sync(struct agent *ag, struct queue *q, long long now_ms, struct err *e);
json_t *agent_jwks(struct agent *ag);
int agent_fleet_start(struct agent *ag, pthread_t *th, bool *started, struct err *e);

/* agent_http.c: start and stop the HTTP server on cfg.listen. */
int agent_http_start(struct agent *ag, struct err *e);
void agent_http_stop(struct agent *ag);

/* agent_intake.c: the group commit. agent_intake_submit blocks until req
 * is committed or failed (or the agent stops: ERR_CANCELLED). */
int agent_intake_start(struct agent *ag, pthread_t *th, struct err *e);
int agent_intake_submit(struct agent *ag, struct intake_req *req);

/* agent_worker.c: the workers. */
int agent_workers_start(struct agent *ag, struct err *e);
/* Wait for the workers to finish their runs; after grace_s seconds,
 * cancel what still runs (SIGTERM to the runs, whose always() steps run),
 * and after a further grace, kill. Then join them. */
void agent_workers_stop(struct agent *ag, long grace_s);

/* agent_standby.c: a worker's run processes. prepare starts the next one
 * ahead when workers.prestart is on (and none waits, or the waiting one
 * was made with other settings), else stops a waiting one; run hands the
 * run (argv as `gantry run` takes it, env to add, its log as stdout and
 * stderr) to the waiting process or a new one: its pid, or -1 with e;
 * stop ends a waiting one. Only w's own thread calls them. */
void agent_standby_prepare(struct agent *ag, struct worker *w);
pid_t agent_standby_run(struct agent *ag, struct worker *w, const struct strv *argv,
			const struct strv *env, int log_fd, struct err *e);
void agent_standby_stop(struct worker *w);

/* agent_spawn.c: start a gantry child of the agent. argv->v[0] is the
 * path, env the whole environment; fds[i] (i < nfds <= AGENT_SPAWN_FDS,
 * -1: /dev/null) becomes the child's descriptor i, and nothing else of the
 * agent's is open there. The child is its own process group and is
 * killed when the calling thread ends. Its pid (the caller reaps it), or
 * -1 with e: ERR_SANDBOX "cannot run PATH: why" when it cannot be
 * executed, what ("gantry run") naming it in the other errors. */
#define AGENT_SPAWN_FDS 8
pid_t agent_spawn(const struct strv *argv, const struct strv *env, const int *fds,
		  int nfds, const char *what, struct err *e);
/* Push onto env the agent's variables that a child may have: an
 * allowlist, never the configuration's, where the secrets are. */
void agent_spawn_env(struct strv *env);

/* agent_heartbeat.c: leases, cancellations, recovery, fencing. */
int agent_heartbeat_start(struct agent *ag, pthread_t *th, struct err *e);
/* Whether the leases were last renewed more than 3/4 of QUEUE__LEASE ago. */
bool agent_lease_stale(struct agent *ag);
/* Sleep ms milliseconds in steps of 100, or less when the agent stops:
 * whether it is stopping (the background threads' wait). */
bool agent_nap(struct agent *ag, long ms);
/* Whether run_id is running in one of this agent's workers. */
bool agent_run_is_live(struct agent *ag, long long run_id);
/* Ask the worker holding run_id to cancel it (SIGTERM to its run). */
bool agent_cancel_local(struct agent *ag, long long run_id);
/* The live log's path of a run (not necessarily existing). Caller frees. */
char *agent_live_log_path(struct agent *ag, long long run_id);
/* Count a finished run's step durations into the histogram. */
void agent_metrics_steps(struct agent *ag, const json_t *summary);

/* agent_retention.c: delete what is older than data.retention_days (runs
 * and their rows through q, logs, git mirrors) and what crashed runs left
 * (DATA_DIR/runs/ID, live logs no worker holds); nothing when it is 0.
 * Bounded per call (files removed, time pruning): what is left is the
 * next call's. Never fails: problems are logged. True when it stopped
 * with more left to do. */
bool agent_retention_sweep(struct agent *ag, struct queue *q);
/* The thread that sweeps at start and every hour, until ag->stopping. */
int agent_retention_start(struct agent *ag, pthread_t *th, struct err *e);

/* forge_status.c: post a commit status for a run; never fails the run:
 * problems are written to log_fd (masked) and returned. state is
 * "pending", "success", "failure", "cancelled" or "error", in the forge's
 * words when it is sent (forge_status_state). */
int forge_status_post(struct agent *ag, const struct queue_run *r,
		      const char *state, const char *description, int log_fd,
		      struct err *e);
/* The same in two halves, so that the run starts while its pending status
 * is posted: begin starts the post (*out NULL when there is nothing to
 * post: statuses off, or not GitHub, Gitea or GitLab; -1 with e, logged, when it
 * could not start); end waits for it (at most the deadline counted from
 * begin), logs its line and frees c (NULL: 0). Every begun call must be
 * ended: it holds a child process. */
struct forge_status_call;
int forge_status_begin(struct forge_status_call **out, struct agent *ag,
		       const struct queue_run *r, const char *state,
		       const char *description, int log_fd, struct err *e);
int forge_status_end(struct agent *ag, struct forge_status_call *c, int log_fd,
		     struct err *e);

#endif
