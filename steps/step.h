/*
 * step: the step-type table.
 *
 * A step's uses: value picks its type from the table in steps/steps.c,
 * and a step without uses: is a "run" step. Adding a step type is: one new
 * file in steps/ with a const struct step_type, one line in the table in
 * steps/steps.c, one test file. Built-in types answer to the names people
 * already use (actions/checkout, aws-actions/...), matched without the
 * "@ref" part.
 *
 * A step type never prints, spawns or reads files of the job directly: it
 * asks the host (the agent's job runner) through struct step_host, so that
 * masking, workflow commands, the sandbox and cancellation apply to every
 * step type alike.
 */
#ifndef GANTRY_STEP_H
#define GANTRY_STEP_H

#include <stdbool.h>
#include <jansson.h>

#include "../lib/err.h"
#include "../lib/strv.h"
#include "../sandbox/sbx.h"
#include "../workflows/expr.h"
#include "../workflows/workflow.h"

enum step_outcome { STEP_SUCCESS, STEP_FAILURE, STEP_CANCELLED, STEP_SKIPPED };

struct step_ctx;
struct aws_credp;

struct step_host {
	/* A line about the step from gantry ("using the working tree"),
	 * printed with the job/step prefix and masked. */
	void (*info)(void *ud, const char *line);
	/* Run a process for the step; its output goes through the host
	 * (workflow commands, masking, printing). cwd NULL: the workspace. */
	int (*spawn)(void *ud, struct step_ctx *c, const char *const *argv,
		     const char *cwd, struct sbx_result *res, struct err *e);
	/* Run the steps of a composite action as one step: inputs is the
	 * action's inputs context, action_dir its folder. *steps_out gets
	 * the nested steps context (new reference). Fills c->outcome. */
	int (*run_steps)(void *ud, struct step_ctx *c,
			 const struct wf_step *steps, size_t n, json_t *inputs,
			 const char *action_dir, json_t **steps_out,
			 struct err *e);
	/* Dry run: one line of the step's plan. */
	void (*plan)(void *ud, const char *line);
	/* Mask value in everything printed from now on. */
	void (*add_mask)(void *ud, const char *value);
	/* Set NAME for the job's later steps, as GITHUB_ENV does. */
	void (*export_env)(void *ud, const char *name, const char *value);
	/* The job's OIDC claims (new reference) when its permissions grant
	 * id-token: write, else NULL; the token URL and bearer are in the
	 * step's environment (ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN). */
	json_t *(*oidc_claims)(void *ud);
	/* Give the job AWS credentials to keep fresh: every later step's
	 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN
	 * come from p, refreshed before they expire. The job calls
	 * release(arg) at its end (which frees p). */
	void (*keep_aws)(void *ud, struct aws_credp *p,
			 void (*release)(void *arg), void *arg);
	/* Take the job's kept credentials (role chaining builds on them):
	 * the provider, and the release the caller must call once it no
	 * longer needs it. NULL when the job keeps none. */
	struct aws_credp *(*take_aws)(void *ud, void (**release)(void *arg),
				      void **arg);
};

struct step_ctx {
	const struct wf_step *step;	/* borrowed */
	const char *uses;		/* NULL for run: */
	struct expr_env *xenv;		/* contexts for this step; env merged */
	struct strv *envp;		/* the step's process environment */
	const char *workspace;		/* GITHUB_WORKSPACE */
	const char *runner_temp;	/* RUNNER_TEMP */
	const char *shell_default;	/* defaults.run.shell, or NULL */
	const char *workdir_default;	/* defaults.run.working-directory, or NULL */
	const char *path_env;		/* PATH to find shells in */
	const char *cache_dir;		/* the git mirror cache */
	const char *ca_bundle;		/* TLS roots for fetches, or NULL */
	/* where a step type may write the script it runs: a folder the step
	 * can write too, so written through dirfd, never followed */
	int script_dirfd;
	const char *script_dir;
	const char *source_dir;		/* the working tree gantry run started in */
	bool fresh_checkout;		/* --fresh-checkout: clone even that one */
	const char *artifact_store;	/* folder or s3://bucket/prefix (run_opts) */
	long long run_id;		/* github.run_id: the run's artifacts */
	bool plan_remote;		/* dry run may read remote state (read-only) */
	bool dry_run;
	const struct step_host *host;
	void *host_ud;
	/* filled by the step type */
	json_t *outputs;		/* object made by the host */
	int exit_code;
	enum step_outcome outcome;
};

struct step_type {
	const char *name;
	const char *const *aliases;	/* NULL-terminated, or NULL */
	/* For types matched by shape rather than name ("./path"). */
	bool (*matches)(const char *uses);
	/* Static check at validate time; root is the repository root. */
	int (*validate)(const char *uses, const char *root, struct err *e);
	/* Dry run: describe through host->plan what run would do. */
	int (*plan)(struct step_ctx *c, struct err *e);
	int (*run)(struct step_ctx *c, struct err *e);
};

/* The type for a uses: value (NULL: the run type), or NULL if none. */
const struct step_type *steps_find(const char *uses);
/* Every built-in name, for messages; NULL-terminated, static. */
const char *const *steps_names(void);
/* wf_uses_check_fn for wf_load: ud is the repository root (const char *). */
int steps_check_uses(const char *uses, const char *dir, void *ud,
		     struct err *e);

/* The shell command line GitHub uses for a shell: name (bash, sh,
 * python, pwsh or a custom "cmd {0}"), with {0} replaced by script.
 * NULL shell: GitHub's default (bash -e {0} when bash is on path_env,
 * else sh -e {0}). *ext gets the script file extension. */
int steps_shell_argv(struct strv *out, const char *shell, const char *script,
		     const char *path_env, const char **ext, struct err *e);

extern const struct step_type step_type_run;
extern const struct step_type step_type_composite;
extern const struct step_type step_type_checkout;
extern const struct step_type step_type_aws_creds;
extern const struct step_type step_type_upload_artifact;
extern const struct step_type step_type_download_artifact;
extern const struct step_type step_type_s3sync;

#endif
