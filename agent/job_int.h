/*
 * job_int: the structures of one running job instance, shared by job.c
 * (the step walk), stepio.c (a step's output, workflow commands, command
 * files and environment) and eval.c (values from the workflow). Private
 * to agent/.
 */
#ifndef GANTRY_JOB_INT_H
#define GANTRY_JOB_INT_H

#include "exec_int.h"
#include "../lib/buf.h"
#include "../lib/strv.h"
#include "../workflows/expr.h"
#include "../workflows/yml.h"
#include "../sandbox/sbx.h"

struct aws_credp;

/* Summaries, like GitHub's, are capped per step. */
#define STEP_SUMMARY_MAX (1024 * 1024)
#define FILE_CMD_MAX (16 * 1024 * 1024)
#define GROUP_FOLD_MAX 2000

struct jobrun {
	struct inst *in;
	struct run *run;
	const struct wf_job *job;
	json_t *ctx;			/* contexts; "steps" and "env" change */
	json_t *env;			/* workflow + job env, grows by GITHUB_ENV */
	struct strv path_add;		/* GITHUB_PATH entries, newest last */
	char *dir;			/* this instance's folder */
	char *temp;			/* RUNNER_TEMP */
	char *cmd_dir;			/* the command files, made once */
	int cmd_fd;			/* that folder, opened once (not followed later) */
	struct sbx_job *sbx;		/* the job's sandbox, or NULL (off, dry run) */
	const char *ro[3];		/* read-only folders for the sandbox */
	char *resolv_dir;		/* where /etc/resolv.conf points, under /run */
	char *plan_path;		/* dry run: PATH as steps would see it */
	size_t plan_path_n;		/* path_add.n when plan_path was made */
	char *shell_default;
	char *workdir_default;
	char *prefix;			/* "[build (ubuntu)]" */
	struct buf summary;		/* step summaries */
	json_t *annotations;
	long long deadline_ns;		/* job timeout, 0 for none */
	bool job_timed_out;
	unsigned step_seq;
	/* OIDC: the job's claims when its permissions grant id-token:
	 * write; the token request URL and bearer once registered */
	json_t *oidc_claims;
	char *oidc_url;
	char *oidc_bearer;		/* a secret: masked, wiped */
	/* AWS credentials a step set up for the job (configure-aws-
	 * credentials): refreshed into every later step's environment */
	struct aws_credp *aws;
	void (*aws_release)(void *arg);
	void *aws_arg;
};

/* The state of a composite action's steps or the job's own. */
struct scope {
	json_t *steps;			/* steps context */
	json_t *inputs;			/* composite inputs, or NULL */
	const char *action_path;
	enum expr_status status;
	int depth;
	const char *label;		/* "" or "action/" for nested steps */
};

struct stepexec {
	struct jobrun *jr;
	struct scope *sc;
	const struct wf_step *st;
	char *prefix;			/* "[job/step]" */
	char *label_src;		/* the step's id or name, unmasked, owned */
	long long timeout_ms;
	int cancel_gen;			/* the job's cancel level when it began */
	/* workflow commands */
	char *stop_token;
	bool in_group;
	bool echo;
	struct buf folded;		/* group lines held back on a terminal */
	size_t folded_lines;
	json_t *legacy_outputs;		/* ::set-output */
};

static inline bool dry(const struct jobrun *jr)
{
	return jr->run->o->dry_run;
}

static inline struct out *OUT(const struct jobrun *jr)
{
	return jr->run->o->out;
}

/* eval.c: values from the workflow, with expressions resolved.
 * Each returns 0, EXPR_UNKNOWN (dry run) or -1 with e filled. */
void eval_env_init(struct expr_env *xe, const struct jobrun *jr, json_t *ctx,
		   enum expr_status status);
/* A scalar as a string; NULL or null gives *out NULL. */
int eval_str(char **out, const struct yml_node *n, const struct expr_env *xe,
	     struct err *e);
/* env: mappings (or a whole ${{ }} object) into obj. */
int eval_env_map(json_t *obj, const struct yml_node *map,
		 const struct expr_env *xe, struct err *e);
/* continue-on-error and the like: a boolean or an expression. */
int eval_bool(bool *out, const struct yml_node *n, const struct expr_env *xe,
	      struct err *e);
/* timeout-minutes: a number or an expression; 0 when absent. */
int eval_minutes(double *out, const struct yml_node *n,
		 const struct expr_env *xe, struct err *e);

/* jobenv.c: what surrounds a job instance's steps */
json_t *jobenv_runner_ctx(struct jobrun *jr);
void jobenv_defaults(struct jobrun *jr, const struct expr_env *xe);
void jobenv_plan_header(struct jobrun *jr, const struct expr_env *xe);
/* The job's outputs into jr->in->outputs; outputs carrying a secret are
 * skipped with a warning, as GitHub does. */
void jobenv_outputs(struct jobrun *jr, const struct expr_env *xe);
/* GITHUB_EVENT_PATH: a copy in the instance's folder, visible to the job. */
int jobenv_write_event(struct jobrun *jr, struct err *e);
/* The job's sandbox (fails closed). */
int jobenv_sandbox(struct jobrun *jr, struct err *e);
/* OIDC: when the job's permissions grant id-token: write, its claims,
 * and (not in a dry run) its registration with the run's issuer. */
int jobenv_oidc(struct jobrun *jr, const struct expr_env *xe, struct err *e);

/* stepio.c: a step's output and what it says back */
void stepio_say(struct jobrun *jr, enum out_kind kind, const char *prefix,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* sbx_line_fn: ud is a struct stepexec. */
void stepio_on_line(void *ud, enum sbx_stream stream, const char *line, size_t len);
void stepio_fold_flush(struct stepexec *x, bool show);
/* x->prefix from x->label_src: masked first, then cut, so that no part of
 * a secret survives the cut; made again when ::add-mask:: adds a value. */
void stepio_set_prefix(struct stepexec *x);
void stepio_info(void *ud, const char *line);
void stepio_plan(void *ud, const char *line);
/* Make the command-file folder of a job with its five empty files. */
int stepio_cmd_files_init(const char *dir, struct err *e);
/* Read back GITHUB_ENV, GITHUB_OUTPUT, GITHUB_PATH, GITHUB_STEP_SUMMARY,
 * and empty the files again for the next step (never following links). */
int stepio_apply_files(struct jobrun *jr, json_t *outputs, struct err *e);
/* One command file, read and emptied through dirfd, never followed. */
int stepio_take_cmd_file(struct buf *b, int dirfd, const char *name,
			 const char *what, struct err *e);
/* Dry run: only PATH, as a step would see it. */
void stepio_plan_path(struct strv *envp, struct jobrun *jr);
/* The step's process environment. */
void stepio_build_envp(struct strv *envp, struct jobrun *jr, struct scope *sc,
		       json_t *env, const char *cmd_dir, const char *step_name);

#endif
