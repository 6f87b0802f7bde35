/*
 * exec_int: the executor's internal structures, shared by exec.c (the
 * scheduler), job.c (one job instance and its steps) and reusable.c
 * (jobs that call a workflow). Not for use outside agent/.
 *
 * Locking: run->mu guards the job states and instance results while
 * threads run; an instance thread owns its struct inst until it writes
 * its index to run->ev_pipe, after which only the scheduler touches it.
 */
#ifndef GANTRY_EXEC_INT_H
#define GANTRY_EXEC_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <jansson.h>

#include "run.h"
#include "../workflows/expr.h"

enum js_state { JS_WAIT, JS_ACTIVE, JS_DONE };

struct inst;

struct job_state {
	const struct wf_job *job;
	enum js_state state;
	bool selected;			/* -j: part of this run */
	struct inst **inst;
	size_t n_inst;
	size_t next;			/* next instance to start */
	size_t n_running;
	size_t n_done;
	long max_parallel;		/* 0: no limit */
	bool fail_fast;
	bool ff_tripped;
	enum result result;
	json_t *outputs;		/* merged outputs of the instances */
	json_t *needs_ctx;		/* the needs context the job saw */
	json_t *github;			/* the github context with job set */
	char *matrix_expr;		/* dry run: matrix known only at run time */
	bool cancelled_before_start;
};

struct run {
	const struct run_opts *o;
	const struct workflow *wf;
	json_t *github;			/* base github context */
	json_t *call_inputs;		/* workflow_call: inputs context, or NULL */
	json_t *summary;		/* {"workflow", "event", "result", "jobs"} */
	const char *prefix;		/* "caller/" for called workflows, or "" */
	int cancel_fd;			/* readable once the run is cancelled */
	bool cancelled;
	pthread_mutex_t mu;
	int ev_pipe[2];
	struct job_state *js;
	size_t n_js;
	int running;
};

struct inst {
	struct run *run;
	struct job_state *js;
	size_t index;
	json_t *matrix;			/* the combination, or NULL */
	char *label;			/* "build (ubuntu, 14)" */
	pthread_t thread;
	bool started;
	bool finished;
	int cancel_pipe[2];		/* first cancel: stop the running step */
	int kill_pipe[2];		/* second cancel: stop always() steps too */
	int cancel_level;		/* atomic: 0, 1, 2 */
	enum result result;
	json_t *outputs;		/* job outputs */
	json_t *summary;		/* this instance's entry in "jobs" */
	json_t *ctx;			/* its job-level contexts, until inst_run takes them */
};

/* Run one instance to its end in the calling thread. */
void inst_run(struct inst *in);
/* The contexts a job-level expression sees (github, needs, vars, inputs,
 * secrets, strategy and matrix where given). New reference. */
json_t *job_contexts(struct run *r, struct job_state *js, json_t *matrix,
		     long index);
/* A called workflow (uses: ./.github/workflows/x.yml) as this instance. */
void reusable_run(struct inst *in, json_t *ctx);
/* Evaluate every ${{ }} inside a JSON value built from YAML (strings that
 * are a whole expression keep the value's type). New reference in *out. */
int eval_json_templates(json_t **out, const json_t *v,
			const struct expr_env *env, struct err *e);
/* The evaluation environment of job-level expressions: contexts, status,
 * hashFiles over the workspace, and in a dry run what is known only at
 * run time. */
void run_expr_env(struct expr_env *xe, const struct run *r, json_t *ctx,
		  enum expr_status status);
/* hashfiles.c: the hashFiles() callback of struct expr_env; ud is the
 * workspace folder. */
int hashfiles(char **out, void *ud, const char *const *patterns, size_t n,
	      struct err *e);
/* The dry-run unknown context list. */
extern const char *const dry_unknown[];
/* The same when the job's matrix is known only at run time. */
extern const char *const dry_unknown_matrix[];

#endif
