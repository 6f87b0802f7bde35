/*
 * job: one job instance and its steps.
 *
 * For each step: decide its if:, build its environment (workflow -> job ->
 * step env, the default GITHUB_* variables, fresh command files), hand it
 * to its step type, then read back what it said (GITHUB_ENV, GITHUB_OUTPUT,
 * GITHUB_PATH, GITHUB_STEP_SUMMARY and the workflow commands on its
 * output), and record outcome and conclusion. In a dry run the same walk
 * prints the plan instead of running anything.
 */
#include "job_int.h"
#include "oidc.h"
#include "../lib/mask.h"
#include "../lib/buf.h"
#include "../lib/fs.h"
#include "../lib/jsonx.h"
#include "../lib/log.h"
#include "../lib/util.h"
#include "../steps/step.h"
#include "../workflows/matrix.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *const dry_unknown[] = { "steps", "needs", "jobs", NULL };
const char *const dry_unknown_matrix[] = { "steps", "needs", "jobs", "matrix",
					   "strategy", NULL };

/* A step decided while the job was not cancelled stops at the first
 * cancel (its pipe may already be readable: then it stops at once); a step
 * that runs because of always() after a cancel stops only at the second. */
static int inst_cancel_fd(const struct inst *in, int gen)
{
	return gen == 0 ? in->cancel_pipe[0] : in->kill_pipe[0];
}

static int host_spawn(void *ud, struct step_ctx *c, const char *const *argv,
		      const char *cwd, struct sbx_result *res, struct err *e)
{
	struct stepexec *x = ud;
	struct jobrun *jr = x->jr;
	struct sbx_opts o = { 0 };
	long long timeout = x->timeout_ms;
	int r;

	if (jr->deadline_ns) {
		long long left = (jr->deadline_ns - time_mono_ns()) / 1000000;

		if (left <= 0)
			left = 1;
		if (!timeout || left < timeout)
			timeout = left;
	}
	o.argv = argv;
	o.envp = (const char *const *)c->envp->v;
	o.cwd = cwd ? cwd : c->workspace;
	o.timeout_ms = timeout;
	o.cancel_fd = inst_cancel_fd(jr->in, x->cancel_gen);
	o.on_line = stepio_on_line;
	/* lines are masked whole; a line longer than this is masked in pieces */
	o.max_line = 1 << 20;
	o.ud = x;
	r = jr->sbx ? sbx_job_run(jr->sbx, res, &o, e) : sbx_run(res, &o, e);
	if (r == 0 && jr->sbx && res->exit_code != 0 && sbx_job_oom(jr->sbx))
		stepio_say(jr, OUT_FAIL, x->prefix, "Error: a process of the step was killed by "
			   "the job's memory limit (%lld MiB); raise it with --memory",
			   jr->run->o->limits.memory_bytes >> 20);
	if (r == 0 && x->in_group)
		stepio_fold_flush(x, res->exit_code != 0);
	if (r == 0 && res->timed_out) {
		bool job = jr->deadline_ns && time_mono_ns() >= jr->deadline_ns - 1000000;

		if (job)
			jr->job_timed_out = true;
		stepio_say(jr, OUT_FAIL, x->prefix, "Error: the %s has timed out after "
			   "its timeout-minutes", job ? "job" : "step");
	}
	return r;
}

static int run_step_list(struct jobrun *jr, struct scope *sc,
			 const struct wf_step *steps, size_t n, struct err *e);

static int host_run_steps(void *ud, struct step_ctx *c,
			  const struct wf_step *steps, size_t n, json_t *inputs,
			  const char *action_dir, json_t **steps_out,
			  struct err *e)
{
	struct stepexec *x = ud;
	struct scope sc = { 0 };
	char *label;
	int r;

	if (x->sc->depth >= 8)
		return err_set(e, ERR_LIMIT, "composite actions nested deeper than 8");
	label = xasprintf("%s%s/", x->sc->label,
			  x->st->id ? x->st->id : c->uses);
	sc.steps = json_object();
	sc.inputs = inputs;
	sc.action_path = action_dir;
	sc.status = EXPR_STATUS_SUCCESS;
	sc.depth = x->sc->depth + 1;
	sc.label = label;
	r = run_step_list(x->jr, &sc, steps, n, e);
	if (r == 0) {
		if (sc.status == EXPR_STATUS_FAILURE)
			c->outcome = STEP_FAILURE;
		else if (sc.status == EXPR_STATUS_CANCELLED)
			c->outcome = STEP_CANCELLED;
		else
			c->outcome = STEP_SUCCESS;
	}
	*steps_out = sc.steps;
	free(label);
	return r;
}

static void host_add_mask(void *ud, const char *value)
{
	struct stepexec *x = ud;

	if (value && *value)
		mask_add(x->jr->run->o->mask, value);
}

static void host_export_env(void *ud, const char *name, const char *value)
{
	struct stepexec *x = ud;

	json_object_set_new(x->jr->env, name, json_string(value));
}

static json_t *host_oidc_claims(void *ud)
{
	struct stepexec *x = ud;

	return x->jr->oidc_claims ? json_incref(x->jr->oidc_claims) : NULL;
}

static void host_keep_aws(void *ud, struct aws_credp *p,
			  void (*release)(void *arg), void *arg)
{
	struct jobrun *jr = ((struct stepexec *)ud)->jr;

	if (jr->aws_release)
		jr->aws_release(jr->aws_arg);
	jr->aws = p;
	jr->aws_release = release;
	jr->aws_arg = arg;
}

static struct aws_credp *host_take_aws(void *ud, void (**release)(void *arg),
				       void **arg)
{
	struct jobrun *jr = ((struct stepexec *)ud)->jr;
	struct aws_credp *p = jr->aws;

	*release = jr->aws_release;
	*arg = jr->aws_arg;
	jr->aws = NULL;
	jr->aws_release = NULL;
	jr->aws_arg = NULL;
	return p;
}

static const struct step_host job_host = {
	.info = stepio_info,
	.spawn = host_spawn,
	.run_steps = host_run_steps,
	.plan = stepio_plan,
	.add_mask = host_add_mask,
	.export_env = host_export_env,
	.oidc_claims = host_oidc_claims,
	.keep_aws = host_keep_aws,
	.take_aws = host_take_aws,
};

/* ---- one step ---- */

static const char *outcome_name(enum step_outcome o)
{
	static const char *const n[] = { "success", "failure", "cancelled", "skipped" };

	return n[o];
}

/* The name a person sees: name:, else "Run <first line>", else uses. */
static char *step_display(struct jobrun *jr, const struct wf_step *st,
			  const struct expr_env *xe)
{
	char *name = NULL;
	struct err e = ERR_INIT;

	if (st->name && eval_str(&name, st->name, xe, &e) >= 0 && name && *name)
		return name;
	free(name);
	if (st->uses)
		return xasprintf("Run %s", st->uses);
	if (st->run && st->run->kind == YML_SCALAR) {
		const char *raw = st->run->str, *end;
		char *first, *text = NULL;
		const char *s, *nl;
		char *r;

		/* only the script's first line is shown: interpolate just that
		 * (the step type interpolates the whole script once, to run it),
		 * unless an expression runs on past it */
		while (*raw == ' ' || *raw == '\n')
			raw++;
		end = strchr(raw, '\n');
		first = xstrndup(raw, end ? (size_t)(end - raw) : strlen(raw));
		if (strstr(first, "${{") && !strstr(strrchr(first, '$'), "}}")) {
			free(first);
			first = xstrdup(st->run->str);
		}
		if (expr_interpolate(&text, first, xe, &e) < 0) {
			free(text);
			text = xstrdup(first);
		}
		free(first);
		s = text;
		while (*s == ' ' || *s == '\n')
			s++;
		nl = strchr(s, '\n');
		r = xasprintf("Run %.*s", (int)(nl ? nl - s : (long)strlen(s)), s);
		free(text);
		return r;
	}
	return xstrdup("step");
}


static void record_step(struct jobrun *jr, struct scope *sc,
			const struct wf_step *st, const char *name,
			enum step_outcome outcome, enum step_outcome conclusion,
			int exit_code, long long ms, json_t *outputs)
{
	json_t *s;

	if (st->id) {
		s = json_object();
		json_object_set(s, "outputs", outputs);
		jsonx_set_str(s, "outcome", outcome_name(outcome));
		jsonx_set_str(s, "conclusion", outcome_name(conclusion));
		json_object_set_new(sc->steps, st->id, s);
	}
	if (sc->depth == 0) {
		json_t *ent = json_object();

		json_object_set_new(ent, "id", st->id ? json_string(st->id) : json_null());
		json_object_set_new(ent, "name", json_string(name));
		if (dry(jr) && outcome == STEP_SUCCESS) {
			/* planned, not run */
			json_object_set_new(ent, "outcome", json_null());
			json_object_set_new(ent, "conclusion", json_null());
		} else {
			jsonx_set_str(ent, "outcome", outcome_name(outcome));
			jsonx_set_str(ent, "conclusion", outcome_name(conclusion));
		}
		json_object_set_new(ent, "exit_code",
				    exit_code >= 0 ? json_integer(exit_code) : json_null());
		json_object_set(ent, "outputs", outputs);
		if (ms >= 0) {
			struct timespec ts;

			/* when gantry began the step (after its if: and
			 * inputs; the job's sandbox was up already), in Unix
			 * milliseconds: GitHub's steps[].started_at, finer */
			clock_gettime(CLOCK_REALTIME, &ts);
			json_object_set_new(ent, "started_ms", json_integer(
				(long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - ms));
			json_object_set_new(ent, "duration_ms", json_integer(ms));
		}
		json_array_append_new(json_object_get(jr->in->summary, "steps"), ent);
	}
}

static void plan_env(struct stepexec *x, json_t *env)
{
	const char *k;
	json_t *v;

	if (!json_object_size(env))
		return;
	stepio_plan(x, "env:");
	json_object_foreach(env, k, v) {
		char *line = xasprintf("  %s=%s", k, json_string_value(v));

		stepio_plan(x, line);
		free(line);
	}
}

/* Run (or plan) one step. Returns -1 only for errors that stop the job. */
static int run_step(struct jobrun *jr, struct scope *sc, const struct wf_step *st,
		    size_t index, int gen, struct err *e)
{
	const struct step_type *type = steps_find(st->uses);
	struct stepexec x = { 0 };
	struct step_ctx c = { 0 };
	struct expr_env xe;
	struct strv envp = STRV_INIT;
	json_t *ctx = NULL, *env = NULL, *outputs = json_object();
	json_t *saved_steps, *saved_inputs, *saved_env;
	char *name = NULL, *cond = NULL;
	enum step_outcome outcome = STEP_SUCCESS, conclusion;
	bool run_it = true, coe = false;
	double minutes = 0;
	long long t0 = time_mono_ns();
	int r, ret = 0;
	struct err se = ERR_INIT;

	/* contexts for this step: the job's, with this scope's steps */
	/* jr->ctx itself, changed for this step and put back at the end:
	 * steps (composite actions included) run one at a time, nested ones
	 * inside their parent, so a save and restore is enough and spares
	 * a copy of the contexts per step */
	ctx = jr->ctx;
	saved_steps = json_incref(json_object_get(ctx, "steps"));
	saved_inputs = json_incref(json_object_get(ctx, "inputs"));
	saved_env = json_incref(json_object_get(ctx, "env"));
	json_object_set(ctx, "steps", sc->steps);
	if (sc->inputs)
		json_object_set(ctx, "inputs", sc->inputs);
	json_object_set(ctx, "env", jr->env);
	{
		json_t *job = jsonx_obj(ctx, "job");

		json_object_set_new(job, "status",
				    json_string(sc->status == EXPR_STATUS_SUCCESS ? "success" :
						sc->status == EXPR_STATUS_FAILURE ? "failure" :
						"cancelled"));
	}
	eval_env_init(&xe, jr, ctx, sc->status);
	name = step_display(jr, st, &xe);
	x.jr = jr;
	x.sc = sc;
	if (!dry(jr)) {
		/* a plan prints no prefixes */
		x.label_src = xstrdup(st->id ? st->id : name);
		stepio_set_prefix(&x);
	}
	x.st = st;
	x.cancel_gen = gen;
	x.legacy_outputs = outputs;
	buf_init(&x.folded, 0);

	/* if: */
	if (st->if_ && st->if_->kind == YML_SCALAR && !yml_is_null(st->if_))
		cond = xstrdup(st->if_->str);
	{
		bool ok = true;

		r = expr_eval_if(&ok, cond ? cond : "", &xe, &se);
		if (r < 0) {
			stepio_say(jr, OUT_FAIL, x.prefix, "Error: if: %s", se.msg);
			outcome = STEP_FAILURE;
			run_it = false;
			goto result;
		}
		if (dry(jr)) {
			if (r == 0 && !ok) {
				stepio_say(jr, OUT_DIM, NULL, "  %*sstep %zu: %s  (skipped: if: %s is false)",
					   2 * sc->depth, "", index + 1, name,
					   cond ? cond : "success()");
				outcome = STEP_SKIPPED;
				run_it = false;
				goto result;
			}
			stepio_say(jr, OUT_INFO, NULL, "  %*sstep %zu: %s", 2 * sc->depth, "",
				   index + 1, name);
			if (cond && r == EXPR_UNKNOWN)
				stepio_say(jr, OUT_DIM, NULL, "  %*s  if: %s  (decided at run time on %s)",
					   2 * sc->depth, "", cond, se.msg);
			else if (cond)
				stepio_say(jr, OUT_DIM, NULL, "  %*s  if: %s  (true)",
					   2 * sc->depth, "", cond);
			err_clear(&se);
		} else if (!ok) {
			stepio_say(jr, OUT_DIM, x.prefix, "skipped (if: %s)", cond ? cond : "success()");
			outcome = STEP_SKIPPED;
			run_it = false;
			goto result;
		}
	}

	/* env: job env, then the step's (a copy only when the step has one) */
	env = st->env ? json_copy(jr->env) : json_incref(jr->env);
	if (st->env && eval_env_map(env, st->env, &xe, &se) < 0) {
		stepio_say(jr, OUT_FAIL, x.prefix, "Error: %s", se.msg);
		outcome = STEP_FAILURE;
		c.exit_code = -1;	/* nothing ran */
		goto result;
	}
	json_object_set(ctx, "env", env);
	if (eval_bool(&coe, st->continue_on_error, &xe, &se) < 0 ||
	    eval_minutes(&minutes, st->timeout_minutes, &xe, &se) < 0) {
		stepio_say(jr, OUT_FAIL, x.prefix, "Error: %s", se.msg);
		outcome = STEP_FAILURE;
		c.exit_code = -1;
		goto result;
	}
	x.timeout_ms = (long long)(minutes * 60000);

	if (!dry(jr))
		stepio_say(jr, OUT_INFO, x.prefix, "\u25b6 %s", name);
	if (!dry(jr))
		stepio_build_envp(&envp, jr, sc, env, jr->cmd_dir, st->id ? st->id : name);
	else
		stepio_plan_path(&envp, jr);

	c.step = st;
	c.uses = st->uses;
	c.xenv = &xe;
	c.envp = &envp;
	c.workspace = jr->run->o->workspace;
	c.runner_temp = jr->temp;
	c.shell_default = jr->shell_default;
	c.workdir_default = jr->workdir_default;
	c.path_env = strv_getenv(&envp, "PATH");
	c.cache_dir = jr->run->o->cache_dir;
	c.ca_bundle = jr->run->o->ca_bundle;
	c.script_dirfd = jr->cmd_fd;
	c.script_dir = jr->cmd_dir;
	c.source_dir = jr->run->o->source_dir;
	c.fresh_checkout = jr->run->o->fresh_checkout;
	c.artifact_store = jr->run->o->artifact_store;
	c.run_id = jr->run->o->run_id;
	c.plan_remote = jr->run->o->plan_remote;
	c.dry_run = dry(jr);
	c.host = &job_host;
	c.host_ud = &x;
	c.outputs = outputs;
	c.outcome = STEP_SUCCESS;
	if (dry(jr)) {
		if (st->uses)
			stepio_plan(&x, st->uses);
		if (coe)
			stepio_plan(&x, "continue-on-error: true");
		if (minutes > 0) {
			char *l = xasprintf("timeout-minutes: %g", minutes);

			stepio_plan(&x, l);
			free(l);
		}
		if (st->env && st->env->kind == YML_MAP) {
			json_t *own = json_object();

			for (size_t i = 0; i < st->env->n_pairs; i++) {
				const char *key = st->env->pairs[i].key->str;

				json_object_set(own, key, json_object_get(env, key));
			}
			plan_env(&x, own);
			json_decref(own);
		}
		if (type->plan(&c, &se) < 0) {
			stepio_say(jr, OUT_FAIL, NULL, "    error: %s", se.msg);
			outcome = STEP_FAILURE;
		}
		goto result;
	}
	if (type->run(&c, &se) < 0) {
		stepio_say(jr, OUT_FAIL, x.prefix, "Error: %s", se.msg);
		outcome = STEP_FAILURE;
		c.exit_code = -1;
	} else {
		outcome = c.outcome;
	}
	if (stepio_apply_files(jr, outputs, &se) < 0) {
		stepio_say(jr, OUT_FAIL, x.prefix, "Error: %s", se.msg);
		outcome = STEP_FAILURE;
	}

result:
	conclusion = outcome;
	if (outcome == STEP_FAILURE && coe)
		conclusion = STEP_SUCCESS;
	if (!dry(jr) && run_it) {
		double secs = (double)(time_mono_ns() - t0) / 1e9;

		if (outcome == STEP_SUCCESS)
			stepio_say(jr, OUT_OK, x.prefix, "\u2713 success (%.2fs)", secs);
		else if (outcome == STEP_FAILURE)
			if (c.exit_code >= 0)
				stepio_say(jr, OUT_FAIL, x.prefix, "\u2717 failure%s (exit code %d, %.2fs)",
					   coe ? ", continuing (continue-on-error)" : "",
					   c.exit_code, secs);
			else
				stepio_say(jr, OUT_FAIL, x.prefix, "\u2717 failure%s (%.2fs)",
					   coe ? ", continuing (continue-on-error)" : "", secs);
		else if (outcome == STEP_CANCELLED)
			stepio_say(jr, OUT_WARN, x.prefix, "cancelled (%.2fs)", secs);
	}
	record_step(jr, sc, st, name, outcome, conclusion,
		    run_it && !dry(jr) ? c.exit_code : -1,
		    dry(jr) ? -1 : (time_mono_ns() - t0) / 1000000, outputs);
	if (conclusion == STEP_FAILURE && sc->status == EXPR_STATUS_SUCCESS)
		sc->status = EXPR_STATUS_FAILURE;
	if (outcome == STEP_CANCELLED)
		sc->status = EXPR_STATUS_CANCELLED;
	if (jr->job_timed_out)
		sc->status = EXPR_STATUS_CANCELLED;
	free(x.prefix);
	free(x.label_src);
	free(x.stop_token);
	buf_release(&x.folded);
	strv_release(&envp);
	if (saved_steps)
		json_object_set_new(ctx, "steps", saved_steps);
	if (saved_inputs)
		json_object_set_new(ctx, "inputs", saved_inputs);
	else
		json_object_del(ctx, "inputs");
	if (saved_env)
		json_object_set_new(ctx, "env", saved_env);
	json_decref(env);
	json_decref(outputs);
	free(name);
	free(cond);
	(void)e;
	return ret;
}

static int run_step_list(struct jobrun *jr, struct scope *sc,
			 const struct wf_step *steps, size_t n, struct err *e)
{
	for (size_t i = 0; i < n; i++) {
		int gen = __atomic_load_n(&jr->in->cancel_level, __ATOMIC_SEQ_CST);

		if (gen > 0)
			sc->status = EXPR_STATUS_CANCELLED;
		if (run_step(jr, sc, &steps[i], i, gen, e) < 0)
			return -1;
	}
	return 0;
}

/* ---- the job instance ---- */

static void jobrun_release(struct jobrun *jr)
{
	if (jr->aws_release)
		jr->aws_release(jr->aws_arg);
	if (jr->oidc_bearer) {
		oidc_job_unregister(jr->run->o->oidc, jr->oidc_bearer);
		explicit_bzero(jr->oidc_bearer, strlen(jr->oidc_bearer));
	}
	free(jr->oidc_bearer);
	free(jr->oidc_url);
	json_decref(jr->oidc_claims);
	sbx_job_free(jr->sbx);
	json_decref(jr->ctx);
	json_decref(jr->env);
	json_decref(jr->annotations);
	strv_release(&jr->path_add);
	free(jr->dir);
	free(jr->temp);
	free(jr->cmd_dir);
	free(jr->resolv_dir);
	if (jr->cmd_fd >= 0)
		close(jr->cmd_fd);
	free(jr->plan_path);
	free(jr->shell_default);
	free(jr->workdir_default);
	free(jr->prefix);
	buf_release(&jr->summary);
}

void inst_run(struct inst *in)
{
	struct run *r = in->run;
	struct jobrun jr = { 0 };
	struct scope sc = { 0 };
	struct expr_env xe;
	struct err e = ERR_INIT;
	const struct wf_job *job = in->js->job;
	double minutes = 0;
	long long t0 = time_mono_ns();
	char ts[32];

	jr.in = in;
	jr.run = r;
	jr.job = job;
	buf_init(&jr.summary, 8 * STEP_SUMMARY_MAX);
	jr.annotations = json_array();
	jr.prefix = xasprintf("[%s]", in->label);
	jr.dir = xasprintf("%s/%s%s-%zu", r->o->temp_root, r->prefix[0] ? "call-" : "",
			   job->id, in->index);
	jr.temp = xasprintf("%s/tmp", jr.dir);
	time_iso8601(ts, sizeof(ts), time(NULL));
	json_object_set_new(in->summary, "started_at", json_string(ts));
	t0 = time_mono_ns();
	jr.cmd_dir = xasprintf("%s/_cmd", jr.dir);
	jr.cmd_fd = -1;
	if (!dry(&jr) && (fs_mkdirs(jr.temp, 0700, &e) < 0 ||
			  stepio_cmd_files_init(jr.cmd_dir, &e) < 0 ||
			  jobenv_write_event(&jr, &e) < 0 ||
			  (jr.cmd_fd = open(jr.cmd_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					    O_CLOEXEC)) < 0)) {
		if (jr.cmd_fd < 0 && e.code == ERR_NONE)
			err_sys(&e, ERR_IO, "cannot open %s", jr.cmd_dir);
		stepio_say(&jr, OUT_FAIL, jr.prefix, "Error: %s", e.msg);
		in->result = RES_FAILURE;
		goto done;
	}

	if (in->ctx) {
		jr.ctx = in->ctx;
		in->ctx = NULL;
	} else {
		jr.ctx = job_contexts(r, in->js, in->matrix, (long)in->index);
	}
	json_object_set_new(jr.ctx, "runner", jobenv_runner_ctx(&jr));
	json_object_set_new(jr.ctx, "steps", json_object());
	{
		json_t *j = json_object();

		jsonx_set_str(j, "status", "success");
		json_object_set_new(j, "container", json_object());
		json_object_set_new(j, "services", json_object());
		json_object_set_new(jr.ctx, "job", j);
	}

	if (job->uses) {
		reusable_run(in, jr.ctx);
		goto done;
	}

	/* env: workflow's, then the job's */
	jr.env = json_object();
	json_object_set(jr.ctx, "env", jr.env);
	eval_env_init(&xe, &jr, jr.ctx, EXPR_STATUS_SUCCESS);
	if (eval_env_map(jr.env, r->wf->env, &xe, &e) < 0 ||
	    eval_env_map(jr.env, job->env, &xe, &e) < 0 ||
	    eval_minutes(&minutes, job->timeout_minutes, &xe, &e) < 0) {
		stepio_say(&jr, OUT_FAIL, jr.prefix, "Error: %s", e.msg);
		in->result = RES_FAILURE;
		goto done;
	}
	if (minutes <= 0 && !job->timeout_minutes)
		minutes = 360;	/* GitHub's default */
	if (minutes > 0)
		jr.deadline_ns = time_mono_ns() + (long long)(minutes * 60e9);
	jobenv_defaults(&jr, &xe);

	if (job->container || job->services) {
		/* accepted so that workflows validate; not run yet */
		stepio_say(&jr, OUT_WARN, dry(&jr) ? NULL : jr.prefix,
			   "warning: %s%s%s %s not supported yet: the job's steps run on "
			   "this machine, not in a container", job->container ? "container:" : "",
			   job->container && job->services ? " and " : "",
			   job->services ? "services:" : "",
			   job->container && job->services ? "are" : "is");
	}
	if (dry(&jr)) {
		jobenv_plan_header(&jr, &xe);
	} else {
		const struct yml_node *ro = job->runs_on;
		char *s = NULL;

		if (ro && ro->kind == YML_SCALAR)
			eval_str(&s, ro, &xe, &e);
		stepio_say(&jr, OUT_INFO, jr.prefix, "\u25b6 job %s", in->label);
		if (s)
			stepio_say(&jr, OUT_DIM, jr.prefix, "runs-on: %s (running on this machine)", s);
		free(s);
	}

	if (jobenv_oidc(&jr, &xe, &e) < 0) {
		stepio_say(&jr, OUT_FAIL, dry(&jr) ? NULL : jr.prefix, "Error: %s", e.msg);
		in->result = RES_FAILURE;
		goto done;
	}
	if (!dry(&jr) && r->o->sandbox && jobenv_sandbox(&jr, &e) < 0) {
		/* strict: no isolation, no steps */
		stepio_say(&jr, OUT_FAIL, jr.prefix, "Error: %s", e.msg);
		in->result = RES_FAILURE;
		goto done;
	}
	sc.steps = json_object();
	sc.status = EXPR_STATUS_SUCCESS;
	sc.label = "";
	json_object_set(jr.ctx, "steps", sc.steps);
	if (run_step_list(&jr, &sc, job->steps, job->n_steps, &e) < 0)
		sc.status = EXPR_STATUS_FAILURE;

	/* outputs see the final steps context */
	json_object_set(jr.ctx, "steps", sc.steps);
	json_object_set(jr.ctx, "env", jr.env);
	eval_env_init(&xe, &jr, jr.ctx, sc.status);
	jobenv_outputs(&jr, &xe);
	if (jr.job_timed_out)
		in->result = RES_FAILURE;
	else if (sc.status == EXPR_STATUS_FAILURE)
		in->result = RES_FAILURE;
	else if (sc.status == EXPR_STATUS_CANCELLED)
		in->result = RES_CANCELLED;
	else
		in->result = RES_SUCCESS;
	json_decref(sc.steps);
done:
	time_iso8601(ts, sizeof(ts), time(NULL));
	json_object_set_new(in->summary, "finished_at", json_string(ts));
	json_object_set_new(in->summary, "duration_ms",
			    json_integer((time_mono_ns() - t0) / 1000000));
	/* a plan has not run: its jobs are "planned", not successful */
	json_object_set_new(in->summary, "result",
			    json_string(dry(&jr) && in->result == RES_SUCCESS ? "planned" :
					result_name(in->result)));
	json_object_set(in->summary, "outputs", in->outputs);
	if (jr.summary.len)
		json_object_set_new(in->summary, "summary", json_string(jr.summary.ptr));
	if (json_array_size(jr.annotations))
		json_object_set(in->summary, "annotations", jr.annotations);
	if (!dry(&jr)) {
		enum out_kind k = in->result == RES_SUCCESS ? OUT_OK :
				  in->result == RES_FAILURE ? OUT_FAIL : OUT_WARN;

		stepio_say(&jr, k, jr.prefix, "job %s: %s", in->label, result_name(in->result));
	}
	jobrun_release(&jr);
}
