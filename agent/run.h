/*
 * run: the job executor, the agent's side of running a workflow.
 *
 * run_workflow() takes a loaded workflow and runs its jobs in needs order,
 * independent jobs in parallel (one thread per job instance, at most
 * max_jobs at once), matrix instances expanded when their job becomes
 * ready, fail-fast and max-parallel honoured, and builds the run's summary
 * (the JSON that --json-summary writes). In a dry run nothing is started:
 * the same path prints the plan instead.
 *
 * Cancellation: cancel_request() is async-signal-safe (SIGINT/SIGTERM call
 * it). The first request cancels running steps, after which the jobs' if:
 * conditions see cancelled() and always() steps still run; a second one
 * kills those too.
 */
#ifndef GANTRY_RUN_H
#define GANTRY_RUN_H

#include <stdbool.h>
#include <jansson.h>

#include "../lib/err.h"
#include "../lib/mask.h"
#include "../lib/strv.h"
#include "../sandbox/sbx.h"
#include "../workflows/workflow.h"
#include "output.h"

struct oidc_issuer;

enum result { RES_SUCCESS, RES_FAILURE, RES_CANCELLED, RES_SKIPPED };

const char *result_name(enum result r);

struct run_opts {
	const char *workspace;		/* absolute; GITHUB_WORKSPACE */
	const char *event_name;
	json_t *event;			/* payload; borrowed */
	json_t *secrets;		/* object of strings; borrowed */
	json_t *vars;
	json_t *inputs;			/* workflow_dispatch inputs as given */
	struct mask *mask;		/* borrowed */
	struct out *out;		/* borrowed */
	bool dry_run;
	int max_jobs;
	const char *only_job;		/* -j: run this job (and its needs) */
	const char *temp_root;		/* a folder the run may use; removed by the caller */
	const char *server_url;		/* https://github.com unless told */
	const char *tool_cache;		/* RUNNER_TOOL_CACHE */
	long long run_id;
	long long run_number;
	bool sandbox;			/* false: --sandbox=off */
	enum sbx_net net;
	struct sbx_limits limits;
	const char *const *hide;	/* paths the jobs must not see */
	const char *cache_dir;		/* git mirrors; NULL: the default */
	const char *ca_bundle;		/* TLS roots for checkouts; NULL: the system's */
	const char *source_dir;		/* the working tree the run started in */
	bool fresh_checkout;
	struct oidc_issuer *oidc;	/* borrowed; NULL: no job may ask for tokens */
	/* where upload-artifact puts a run's artifacts: a folder, or an
	 * s3://bucket/prefix URL; the run's are under "<store>/<run_id>/" */
	const char *artifact_store;
	bool plan_remote;		/* dry run: gantry/s3-sync lists the bucket */
	/* a job sandbox made ahead, for the first job (may be NULL) */
	struct sbx_pool *pool;		/* borrowed */
};

/* Run wf. 0 with *summary (new reference) whatever the jobs' results;
 * -1 when the run could not be carried out at all. */
int run_workflow(json_t **summary, const struct workflow *wf,
		 const struct run_opts *o, struct err *e);

void cancel_init(void);
void cancel_request(void);
int cancel_level(void);

/* --- shared between exec.c, job.c, reusable.c --- */

struct run;
struct inst;

/* The contexts object for a job instance before its steps run. */
int ctx_github(json_t **out, const struct workflow *wf,
	       const struct run_opts *o, struct err *e);
/* HOME, PATH and the like from gantry's environment: the base every
 * step's environment is built on. */
void ctx_host_env(struct strv *out);

#endif
