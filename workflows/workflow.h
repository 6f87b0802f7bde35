/*
 * workflow: a GitHub Actions workflow file, loaded and validated.
 *
 * wf_load() reads a file with yml, checks the whole workflow syntax (keys,
 * types, required keys, needs, step ids, expression syntax and contexts,
 * uses: through a caller's callback) and builds the model below. Every
 * problem found becomes one diagnostic with file:line:col and a plain
 * message; loading goes on after an error so that a user sees them all.
 *
 * The model keeps fields as yml nodes (borrowed from the doc the workflow
 * owns) because most of them are templates evaluated at run time; the few
 * that are fixed by the file (ids, needs, uses) are plain strings.
 * Nothing here runs anything or knows about the agent.
 */
#ifndef GANTRY_WORKFLOW_H
#define GANTRY_WORKFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../lib/err.h"
#include "yml.h"

struct wf_diag {
	struct yml_pos pos;	/* file borrowed from the workflow's doc */
	char *msg;		/* owned */
};

struct wf_diags {
	struct wf_diag *v;
	size_t n;
	size_t alloc;
};

#define WF_DIAGS_INIT { NULL, 0, 0 }

void wf_diag_add(struct wf_diags *d, const struct yml_pos *pos,
		 const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void wf_diags_release(struct wf_diags *d);
/* "file:line:col: error: msg" one per line, sorted by position. */
void wf_diags_print(const struct wf_diags *d, FILE *f);

struct wf_step {
	struct yml_pos pos;
	const struct yml_node *node;	/* the step's mapping */
	char *id;			/* the id: key, or NULL */
	const char *uses;		/* borrowed, or NULL */
	const struct yml_node *name;
	const struct yml_node *if_;
	const struct yml_node *run;
	const struct yml_node *shell;
	const struct yml_node *working_directory;
	const struct yml_node *env;		/* mapping */
	const struct yml_node *with;		/* mapping */
	const struct yml_node *continue_on_error;
	const struct yml_node *timeout_minutes;
};

struct wf_job {
	char *id;
	struct yml_pos pos;
	const struct yml_node *node;	/* the job's mapping */
	char **needs;			/* owned strings, in file order */
	size_t n_needs;
	const struct yml_node *name;
	const struct yml_node *if_;
	const struct yml_node *runs_on;
	const struct yml_node *environment;
	const struct yml_node *outputs;		/* mapping */
	const struct yml_node *env;		/* mapping */
	const struct yml_node *defaults_run;	/* mapping: shell, working-directory */
	const struct yml_node *timeout_minutes;
	const struct yml_node *continue_on_error;
	const struct yml_node *strategy;	/* mapping */
	const struct yml_node *matrix;		/* strategy.matrix: mapping or ${{ }} string */
	const struct yml_node *fail_fast;
	const struct yml_node *max_parallel;
	const struct yml_node *permissions;
	const struct yml_node *concurrency;
	const struct yml_node *container;	/* accepted, not run: see README */
	const struct yml_node *services;
	/* A job that calls a reusable workflow instead of having steps. */
	const char *uses;			/* borrowed, or NULL */
	const struct yml_node *with;
	const struct yml_node *secrets;		/* mapping, or scalar "inherit" */
	struct wf_step *steps;
	size_t n_steps;
};

struct wf_input {
	char *name;
	const struct yml_node *node;		/* the input's mapping */
	const struct yml_node *description;
	const struct yml_node *default_;
	const char *type;	/* "string", "boolean", "number", "choice", "environment" */
	bool required;
	const struct yml_node *options;		/* choice */
};

struct wf_trigger {
	char *event;			/* "push", "pull_request", ... */
	const struct yml_node *config;	/* NULL, or the event's mapping */
};

struct workflow {
	struct yml_doc *doc;		/* owned */
	char *path;			/* owned */
	const struct yml_node *name;
	const struct yml_node *run_name;
	const struct yml_node *env;
	const struct yml_node *defaults_run;
	const struct yml_node *permissions;
	const struct yml_node *concurrency;
	struct wf_trigger *triggers;
	size_t n_triggers;
	/* on.workflow_dispatch.inputs and on.workflow_call.inputs */
	struct wf_input *dispatch_inputs;
	size_t n_dispatch_inputs;
	struct wf_input *call_inputs;
	size_t n_call_inputs;
	const struct yml_node *call_secrets;	/* on.workflow_call.secrets */
	const struct yml_node *call_outputs;	/* on.workflow_call.outputs */
	struct wf_job *jobs;		/* in file order */
	size_t n_jobs;
};

/*
 * Checks a step's uses: value. Returns 0 when it names a known step type,
 * -1 with a message in e otherwise ("unknown action 'foo/bar@v1': gantry
 * runs these built in: ..."). dir is the folder of the workflow file.
 * Supplied by the caller because step types live in steps/.
 */
typedef int (*wf_uses_check_fn)(const char *uses, const char *dir, void *ud,
				 struct err *e);

struct wf_load_opts {
	wf_uses_check_fn check_uses;	/* NULL: accept any uses: */
	void *ud;
	const struct yml_limits *limits;	/* NULL: defaults */
};

/*
 * Load and validate. Returns 0 and *out (caller frees with wf_free) when the
 * workflow is valid; -1 otherwise, with each problem in diags (if the file
 * cannot be read or parsed at all, that is one diagnostic too, and e says
 * it in one line).
 */
int wf_load(struct workflow **out, const char *path,
	    const struct wf_load_opts *opts, struct wf_diags *diags,
	    struct err *e);
/* The same from memory; name is the file name in positions. */
int wf_load_mem(struct workflow **out, const char *name, const char *data,
		size_t len, const struct wf_load_opts *opts,
		struct wf_diags *diags, struct err *e);
void wf_free(struct workflow *wf);

const struct wf_job *wf_find_job(const struct workflow *wf, const char *id);
const struct wf_trigger *wf_find_trigger(const struct workflow *wf,
					 const char *event);

/*
 * The jobs in an order where every job comes after its needs (stable:
 * file order among independent jobs). Fills order[] with n_jobs indices.
 * Cycles are rejected by wf_load, so this cannot fail on a loaded workflow.
 */
void wf_job_order(const struct workflow *wf, size_t *order);

#endif
