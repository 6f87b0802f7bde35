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
#include "exec_int.h"
#include "filecmd.h"
#include "../lib/buf.h"
#include "../lib/fs.h"
#include "../lib/jsonx.h"
#include "../lib/log.h"
#include "../lib/util.h"
#include "../steps/step.h"
#include "../workflows/matrix.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const dry_unknown[] = { "steps", "needs", "jobs", NULL };

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
	char *shell_default;
	char *workdir_default;
	char *prefix;			/* "[build (ubuntu)]" */
	struct buf summary;		/* step summaries */
	json_t *annotations;
	long long deadline_ns;		/* job timeout, 0 for none */
	bool job_timed_out;
	unsigned step_seq;
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
	long long timeout_ms;
	/* workflow commands */
	char *stop_token;
	bool in_group;
	bool echo;
	struct buf folded;		/* group lines held back on a terminal */
	size_t folded_lines;
	json_t *legacy_outputs;		/* ::set-output */
};

static bool dry(const struct jobrun *jr)
{
	return jr->run->o->dry_run;
}

static struct out *OUT(const struct jobrun *jr)
{
	return jr->run->o->out;
}

/* ---- evaluating values from the workflow ---- */

static void make_env(struct expr_env *xe, const struct jobrun *jr, json_t *ctx,
		     enum expr_status status)
{
	memset(xe, 0, sizeof(*xe));
	xe->contexts = ctx;
	xe->status = status;
	if (dry(jr)) {
		xe->status_unknown = true;
		xe->unknown = dry_unknown;
	}
}

/* A scalar node as a string with its expressions resolved; NULL node or
 * null gives NULL. Returns 0, EXPR_UNKNOWN or -1. */
static int eval_str(char **out, const struct yml_node *n,
		    const struct expr_env *xe, struct err *e)
{
	*out = NULL;
	if (!n || yml_is_null(n))
		return 0;
	if (n->kind != YML_SCALAR)
		return err_set(e, ERR_INVALID, "%s:%d:%d: expected a string",
			       n->pos.file, n->pos.line, n->pos.col);
	return expr_interpolate(out, n->str, xe, e);
}

/* A mapping of env values into obj; values that stay unknown in a dry
 * run are kept as written. */
static int eval_env_map(json_t *obj, const struct yml_node *map,
			const struct expr_env *xe, struct err *e)
{
	if (!map || yml_is_null(map))
		return 0;
	if (map->kind == YML_SCALAR) {
		json_t *v = NULL;
		const char *k;
		json_t *x;

		if (expr_interpolate_value(&v, map->str, xe, e) < 0)
			return -1;
		if (!json_is_object(v)) {
			json_decref(v);
			return err_set(e, ERR_INVALID,
				       "%s:%d:%d: env must be a mapping",
				       map->pos.file, map->pos.line, map->pos.col);
		}
		json_object_foreach(v, k, x) {
			char *s = expr_to_string(x);

			jsonx_set_str(obj, k, s);
			free(s);
		}
		json_decref(v);
		return 0;
	}
	for (size_t i = 0; i < map->n_pairs; i++) {
		const struct yml_node *val = map->pairs[i].val;
		char *s = NULL;
		int r;

		if (val->kind != YML_SCALAR) {
			return err_set(e, ERR_INVALID, "%s:%d:%d: env value must be a string",
				       val->pos.file, val->pos.line, val->pos.col);
		}
		if (yml_is_null(val)) {
			jsonx_set_str(obj, map->pairs[i].key->str, "");
			continue;
		}
		r = expr_interpolate(&s, val->str, xe, e);
		if (r < 0)
			return err_wrap(e, "%s:%d:%d: env %s", val->pos.file,
					val->pos.line, val->pos.col,
					map->pairs[i].key->str);
		jsonx_set_str(obj, map->pairs[i].key->str, s);
		free(s);
	}
	return 0;
}

int eval_json_templates(json_t **out, const json_t *v,
			const struct expr_env *env, struct err *e)
{
	if (json_is_string(v)) {
		const char *s = json_string_value(v);

		if (!strstr(s, "${{")) {
			*out = json_incref((json_t *)v);
			return 0;
		}
		return expr_interpolate_value(out, s, env, e) < 0 ? -1 : 0;
	}
	if (json_is_array(v)) {
		json_t *a = json_array(), *x, *y;
		size_t i;

		json_array_foreach(v, i, x) {
			if (eval_json_templates(&y, x, env, e) < 0) {
				json_decref(a);
				return -1;
			}
			json_array_append_new(a, y);
		}
		*out = a;
		return 0;
	}
	if (json_is_object(v)) {
		json_t *o = json_object(), *x, *y;
		const char *k;

		json_object_foreach((json_t *)v, k, x) {
			if (eval_json_templates(&y, x, env, e) < 0) {
				json_decref(o);
				return -1;
			}
			json_object_set_new(o, k, y);
		}
		*out = o;
		return 0;
	}
	*out = json_incref((json_t *)v);
	return 0;
}

/* continue-on-error: a boolean or an expression. */
static int eval_bool(bool *out, const struct yml_node *n,
		     const struct expr_env *xe, struct err *e)
{
	json_t *v = NULL;
	int r;

	*out = false;
	if (!n || yml_is_null(n))
		return 0;
	if (n->kind == YML_SCALAR && n->style == YML_PLAIN && yml_bool(n, out) == 0)
		return 0;
	if (n->kind != YML_SCALAR)
		return err_set(e, ERR_INVALID, "%s:%d:%d: expected a boolean",
			       n->pos.file, n->pos.line, n->pos.col);
	r = expr_interpolate_value(&v, n->str, xe, e);
	if (r < 0)
		return -1;
	if (r == EXPR_UNKNOWN) {
		json_decref(v);
		return EXPR_UNKNOWN;
	}
	if (json_is_string(v))
		*out = !strcmp(json_string_value(v), "true");
	else
		*out = expr_truthy(v);
	json_decref(v);
	return 0;
}

/* timeout-minutes: a number or an expression; 0 when absent. */
static int eval_minutes(double *out, const struct yml_node *n,
			const struct expr_env *xe, struct err *e)
{
	json_t *v = NULL;
	int r;

	*out = 0;
	if (!n || yml_is_null(n))
		return 0;
	if (n->kind == YML_SCALAR && n->style == YML_PLAIN && yml_number(n, out) == 0)
		return 0;
	if (n->kind != YML_SCALAR)
		return err_set(e, ERR_INVALID, "%s:%d:%d: expected a number",
			       n->pos.file, n->pos.line, n->pos.col);
	r = expr_interpolate_value(&v, n->str, xe, e);
	if (r)
		return r;
	if (json_is_number(v)) {
		*out = json_number_value(v);
	} else if (json_is_string(v)) {
		char *end;

		*out = strtod(json_string_value(v), &end);
		if (*end) {
			json_decref(v);
			return err_set(e, ERR_INVALID, "%s:%d:%d: timeout-minutes is not a number",
				       n->pos.file, n->pos.line, n->pos.col);
		}
	}
	json_decref(v);
	if (!isfinite(*out) || *out < 0)
		return err_set(e, ERR_INVALID, "%s:%d:%d: timeout-minutes must be a positive number",
			       n->pos.file, n->pos.line, n->pos.col);
	return 0;
}

/* ---- output and workflow commands ---- */

static void say(struct jobrun *jr, enum out_kind kind, const char *prefix,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void say(struct jobrun *jr, enum out_kind kind, const char *prefix,
		const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	out_line(OUT(jr), kind, prefix, b.ptr);
	buf_release(&b);
}

static void annotate(struct stepexec *x, const char *level, json_t *props,
		     const char *msg)
{
	struct jobrun *jr = x->jr;
	const char *file = jsonx_str(props, "file");
	const char *line = jsonx_str(props, "line");
	const char *col = jsonx_str(props, "col");
	const char *title = jsonx_str(props, "title");
	enum out_kind kind = !strcmp(level, "error") ? OUT_FAIL :
			     !strcmp(level, "warning") ? OUT_WARN : OUT_INFO;
	struct buf where = BUF_INIT;
	json_t *a = json_object();
	char *masked = mask_str(jr->run->o->mask, msg);

	if (file) {
		buf_adds(&where, file);
		if (line)
			buf_printf(&where, ":%s", line);
		if (line && col)
			buf_printf(&where, ":%s", col);
		buf_adds(&where, ": ");
	}
	say(jr, kind, x->prefix, "%c%s: %s%s%s%s", level[0] - 32, level + 1,
	    where.ptr, title ? title : "", title ? ": " : "", msg);
	jsonx_set_str(a, "level", level);
	jsonx_set_str(a, "message", masked);
	if (file)
		jsonx_set_str(a, "file", file);
	if (line)
		jsonx_set_str(a, "line", line);
	pthread_mutex_lock(&jr->run->mu);
	json_array_append_new(jr->annotations, a);
	pthread_mutex_unlock(&jr->run->mu);
	buf_release(&where);
	free(masked);
}

static void fold_flush(struct stepexec *x, bool show)
{
	if (show && x->folded.len)
		out_line(OUT(x->jr), OUT_PLAIN, x->prefix, x->folded.ptr);
	buf_reset(&x->folded);
	x->folded_lines = 0;
}

static void print_step_line(struct stepexec *x, const char *line)
{
	if (x->in_group && OUT(x->jr)->tty) {
		/* folded: kept back, shown only if the step fails */
		if (x->folded_lines < GROUP_FOLD_MAX) {
			char *m = mask_str(x->jr->run->o->mask, line);

			buf_printf(&x->folded, "  %s\n", m);
			free(m);
			x->folded_lines++;
		}
		return;
	}
	if (x->in_group) {
		struct buf b = BUF_INIT;

		buf_printf(&b, "  %s", line);
		out_line(OUT(x->jr), OUT_PLAIN, x->prefix, b.ptr);
		buf_release(&b);
		return;
	}
	out_line(OUT(x->jr), OUT_PLAIN, x->prefix, line);
}

static void on_command(struct stepexec *x, struct wfcmd *c, const char *raw)
{
	struct jobrun *jr = x->jr;
	const char *n = c->name;

	if (!strcmp(n, "add-mask")) {
		mask_add(jr->run->o->mask, c->value);
	} else if (!strcmp(n, "group")) {
		if (x->in_group)
			fold_flush(x, false);
		x->in_group = true;
		say(jr, OUT_GROUP, x->prefix, "%s %s", OUT(jr)->tty ? "\u25b8" : "\u25be", c->value);
	} else if (!strcmp(n, "endgroup")) {
		fold_flush(x, false);
		x->in_group = false;
	} else if (!strcmp(n, "error") || !strcmp(n, "warning") ||
		   !strcmp(n, "notice")) {
		annotate(x, n, c->props, c->value);
	} else if (!strcmp(n, "debug")) {
		const char *dbg = strv_getenv(NULL, "x");

		(void)dbg;
		if (json_is_true(json_object_get(json_object_get(jr->ctx, "runner"), "debug")) ||
		    (jsonx_str(json_object_get(jr->ctx, "runner"), "debug") &&
		     !strcmp(jsonx_str(json_object_get(jr->ctx, "runner"), "debug"), "1")))
			say(jr, OUT_DIM, x->prefix, "Debug: %s", c->value);
	} else if (!strcmp(n, "stop-commands")) {
		free(x->stop_token);
		x->stop_token = xstrdup(c->value);
	} else if (!strcmp(n, "echo")) {
		x->echo = !strcmp(c->value, "on");
	} else if (!strcmp(n, "set-output")) {
		const char *name = jsonx_str(c->props, "name");

		if (name)
			jsonx_set_str(x->legacy_outputs, name, c->value);
		say(jr, OUT_WARN, x->prefix,
		    "Warning: the set-output command is deprecated; write to $GITHUB_OUTPUT");
	} else if (!strcmp(n, "save-state")) {
		/* state is for post steps, which local steps do not have */
	} else if (!strcmp(n, "set-env") || !strcmp(n, "add-path")) {
		annotate(x, "error", c->props,
			 "the set-env and add-path commands are disabled (as on GitHub); "
			 "write to $GITHUB_ENV or $GITHUB_PATH");
	} else {
		/* not a command we know: GitHub prints such lines as they are */
		print_step_line(x, raw);
		return;
	}
	if (x->echo && strcmp(n, "add-mask"))
		print_step_line(x, raw);
}

static void on_line(void *ud, enum sbx_stream stream, const char *line, size_t len)
{
	struct stepexec *x = ud;
	char *s = xstrndup(line, len);
	struct wfcmd c;

	(void)stream;
	if (x->stop_token) {
		size_t tl = strlen(x->stop_token);

		if (len == tl + 4 && !strncmp(s, "::", 2) &&
		    !strncmp(s + 2, x->stop_token, tl) && !strcmp(s + 2 + tl, "::")) {
			free(x->stop_token);
			x->stop_token = NULL;
		} else {
			print_step_line(x, s);
		}
		free(s);
		return;
	}
	if (wfcmd_parse(&c, s, len)) {
		on_command(x, &c, s);
		wfcmd_release(&c);
	} else {
		print_step_line(x, s);
	}
	free(s);
}

/* ---- the host interface for step types ---- */

static void host_info(void *ud, const char *line)
{
	struct stepexec *x = ud;

	out_line(OUT(x->jr), OUT_DIM, x->prefix, line);
}

static void host_plan(void *ud, const char *line)
{
	struct stepexec *x = ud;
	struct buf b = BUF_INIT;

	buf_printf(&b, "%*s%s", 4 + 2 * x->sc->depth, "", line);
	out_line(OUT(x->jr), OUT_PLAIN, NULL, b.ptr);
	buf_release(&b);
}

static int inst_cancel_fd(const struct inst *in)
{
	int lvl = __atomic_load_n(&in->cancel_level, __ATOMIC_SEQ_CST);

	return lvl == 0 ? in->cancel_pipe[0] : in->kill_pipe[0];
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
	o.cancel_fd = inst_cancel_fd(jr->in);
	o.on_line = on_line;
	o.ud = x;
	r = sbx_run(res, &o, e);
	if (r == 0 && x->in_group)
		fold_flush(x, res->exit_code != 0);
	if (r == 0 && res->timed_out) {
		bool job = jr->deadline_ns && time_mono_ns() >= jr->deadline_ns - 1000000;

		if (job)
			jr->job_timed_out = true;
		say(jr, OUT_FAIL, x->prefix, "Error: the %s has timed out after %s",
		    job ? "job" : "step", job ? "its timeout-minutes" : "its timeout-minutes");
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

static const struct step_host job_host = {
	.info = host_info,
	.spawn = host_spawn,
	.run_steps = host_run_steps,
	.plan = host_plan,
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
		char *text = NULL;
		const char *s, *nl;
		char *r;

		if (expr_interpolate(&text, st->run->str, xe, &e) < 0) {
			free(text);
			text = xstrdup(st->run->str);
		}
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

static char *short_label(const char *s)
{
	size_t n = strlen(s);

	if (n <= 24)
		return xstrdup(s);
	return xasprintf("%.21s...", s);
}

static int read_cmd_file(struct buf *b, const char *path, struct err *e)
{
	buf_init(b, FILE_CMD_MAX);
	if (fs_read_file(b, path, e) < 0) {
		if (e->code == ERR_NOT_FOUND) {
			err_clear(e);
			return 0;
		}
		return -1;
	}
	return 0;
}

/* Read back GITHUB_ENV, GITHUB_OUTPUT, GITHUB_PATH, GITHUB_STEP_SUMMARY. */
static int apply_file_commands(struct jobrun *jr, const char *dir,
			       json_t *outputs, struct err *e)
{
	static const char *const kinds[] = { "env", "output", "path", "summary" };
	int ret = 0;

	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		char *p = xasprintf("%s/%s", dir, kinds[k]);
		struct buf b;

		if (read_cmd_file(&b, p, e) < 0) {
			free(p);
			return -1;
		}
		if (k == 0 && filecmd_parse_kv(jr->env, b.ptr, b.len, "GITHUB_ENV", e) < 0)
			ret = -1;
		else if (k == 1 && filecmd_parse_kv(outputs, b.ptr, b.len, "GITHUB_OUTPUT", e) < 0)
			ret = -1;
		else if (k == 2)
			filecmd_parse_path(&jr->path_add, b.ptr, b.len);
		else if (k == 3 && b.len) {
			char *m = mask_apply(jr->run->o->mask, b.ptr, b.len, NULL);

			if (b.len > STEP_SUMMARY_MAX)
				log_warn("a step summary of %zu bytes is over the 1 MiB limit; cut",
					 b.len);
			buf_add(&jr->summary, m, strlen(m) > STEP_SUMMARY_MAX ?
				STEP_SUMMARY_MAX : strlen(m));
			if (jr->summary.len && jr->summary.ptr[jr->summary.len - 1] != '\n')
				buf_addch(&jr->summary, '\n');
			free(m);
		}
		buf_release(&b);
		free(p);
		if (ret < 0)
			return -1;
	}
	return 0;
}

/* The step's process environment. */
static void build_envp(struct strv *envp, struct jobrun *jr, struct scope *sc,
		       json_t *env, const char *cmd_dir, const char *step_name)
{
	json_t *gh = json_object_get(jr->ctx, "github");
	struct buf path = BUF_INIT;
	const char *k;
	json_t *v;
	char *p;

	ctx_host_env(envp);
	strv_setenv(envp, "CI", "true");
	strv_setenv(envp, "GITHUB_ACTIONS", "true");
	strv_setenv(envp, "GANTRY", "true");
	{
		static const struct { const char *var, *key; } map[] = {
			{ "GITHUB_WORKSPACE", "workspace" }, { "GITHUB_SHA", "sha" },
			{ "GITHUB_REF", "ref" }, { "GITHUB_REF_NAME", "ref_name" },
			{ "GITHUB_REF_TYPE", "ref_type" },
			{ "GITHUB_REPOSITORY", "repository" },
			{ "GITHUB_REPOSITORY_OWNER", "repository_owner" },
			{ "GITHUB_EVENT_NAME", "event_name" },
			{ "GITHUB_RUN_ID", "run_id" }, { "GITHUB_RUN_NUMBER", "run_number" },
			{ "GITHUB_RUN_ATTEMPT", "run_attempt" }, { "GITHUB_JOB", "job" },
			{ "GITHUB_ACTOR", "actor" }, { "GITHUB_TRIGGERING_ACTOR", "triggering_actor" },
			{ "GITHUB_WORKFLOW", "workflow" }, { "GITHUB_WORKFLOW_REF", "workflow_ref" },
			{ "GITHUB_SERVER_URL", "server_url" }, { "GITHUB_API_URL", "api_url" },
			{ "GITHUB_GRAPHQL_URL", "graphql_url" }, { "GITHUB_HEAD_REF", "head_ref" },
			{ "GITHUB_BASE_REF", "base_ref" }, { "GITHUB_RETENTION_DAYS", "retention_days" },
		};

		for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
			const char *s = jsonx_str(gh, map[i].key);

			strv_setenv(envp, map[i].var, s ? s : "");
		}
	}
	p = xasprintf("%s/event.json", jr->run->o->temp_root);
	strv_setenv(envp, "GITHUB_EVENT_PATH", p);
	free(p);
	strv_setenv(envp, "GITHUB_ACTION", step_name);
	strv_setenv(envp, "GITHUB_ACTION_PATH", sc->action_path ? sc->action_path : "");
	strv_setenv(envp, "RUNNER_OS", "Linux");
	strv_setenv(envp, "RUNNER_ARCH", jsonx_str(json_object_get(jr->ctx, "runner"), "arch"));
	strv_setenv(envp, "RUNNER_NAME", jsonx_str(json_object_get(jr->ctx, "runner"), "name"));
	strv_setenv(envp, "RUNNER_ENVIRONMENT", "self-hosted");
	strv_setenv(envp, "RUNNER_TEMP", jr->temp);
	strv_setenv(envp, "RUNNER_TOOL_CACHE", jr->run->o->tool_cache);
	strv_setenv(envp, "RUNNER_WORKSPACE", jr->dir);
	if (cmd_dir) {
		static const char *const f[][2] = {
			{ "GITHUB_ENV", "env" }, { "GITHUB_OUTPUT", "output" },
			{ "GITHUB_PATH", "path" }, { "GITHUB_STATE", "state" },
			{ "GITHUB_STEP_SUMMARY", "summary" },
		};

		for (size_t i = 0; i < ARRAY_SIZE(f); i++) {
			p = xasprintf("%s/%s", cmd_dir, f[i][1]);
			strv_setenv(envp, f[i][0], p);
			free(p);
		}
	}
	json_object_foreach(env, k, v)
		strv_setenv(envp, k, json_string_value(v) ? json_string_value(v) : "");
	/* GITHUB_PATH entries come first, newest first */
	for (size_t i = jr->path_add.n; i-- > 0;)
		buf_printf(&path, "%s:", jr->path_add.v[i]);
	buf_adds(&path, strv_getenv(envp, "PATH") ? strv_getenv(envp, "PATH") : "");
	strv_setenv(envp, "PATH", path.ptr);
	buf_release(&path);
}

static void record_step(struct jobrun *jr, struct scope *sc,
			const struct wf_step *st, const char *name,
			enum step_outcome outcome, enum step_outcome conclusion,
			int exit_code, json_t *outputs)
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
		jsonx_set_str(ent, "outcome", outcome_name(outcome));
		jsonx_set_str(ent, "conclusion", outcome_name(conclusion));
		json_object_set_new(ent, "exit_code",
				    exit_code >= 0 ? json_integer(exit_code) : json_null());
		json_object_set(ent, "outputs", outputs);
		json_array_append_new(json_object_get(jr->in->summary, "steps"), ent);
	}
}

static void plan_env(struct stepexec *x, json_t *env)
{
	const char *k;
	json_t *v;

	if (!json_object_size(env))
		return;
	host_plan(x, "env:");
	json_object_foreach(env, k, v) {
		char *line = xasprintf("  %s=%s", k, json_string_value(v));

		host_plan(x, line);
		free(line);
	}
}

/* Run (or plan) one step. Returns -1 only for errors that stop the job. */
static int run_step(struct jobrun *jr, struct scope *sc, const struct wf_step *st,
		    size_t index, struct err *e)
{
	const struct step_type *type = steps_find(st->uses);
	struct stepexec x = { 0 };
	struct step_ctx c = { 0 };
	struct expr_env xe;
	struct strv envp = STRV_INIT;
	json_t *ctx = NULL, *env = NULL, *outputs = json_object();
	char *name = NULL, *cond = NULL, *cmd_dir = NULL;
	enum step_outcome outcome = STEP_SUCCESS, conclusion;
	bool run_it = true, coe = false;
	double minutes = 0;
	long long t0 = time_mono_ns();
	int r, ret = 0;
	struct err se = ERR_INIT;

	/* contexts for this step: the job's, with this scope's steps */
	ctx = json_copy(jr->ctx);
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
	make_env(&xe, jr, ctx, sc->status);
	xe.hash_files = NULL;
	name = step_display(jr, st, &xe);
	{
		char *sl = short_label(st->id ? st->id : name);

		x.prefix = xasprintf("[%s/%s%s]", jr->in->label, sc->label, sl);
		free(sl);
	}
	x.jr = jr;
	x.sc = sc;
	x.st = st;
	x.legacy_outputs = outputs;
	buf_init(&x.folded, 0);

	/* if: */
	if (st->if_ && st->if_->kind == YML_SCALAR && !yml_is_null(st->if_))
		cond = xstrdup(st->if_->str);
	else if (st->if_ && st->if_->kind == YML_SCALAR && st->if_->style == YML_PLAIN &&
		 !strcmp(st->if_->str, "false"))
		cond = xstrdup("false");
	{
		bool ok = true;

		r = expr_eval_if(&ok, cond ? cond : "", &xe, &se);
		if (r < 0) {
			say(jr, OUT_FAIL, x.prefix, "Error: if: %s", se.msg);
			outcome = STEP_FAILURE;
			run_it = false;
			goto result;
		}
		if (dry(jr)) {
			if (r == EXPR_UNKNOWN)
				say(jr, OUT_INFO, NULL, "  step %zu: %s", index + 1, name),
				say(jr, OUT_DIM, NULL, "    if: %s  (decided at run time on %s)",
				    cond ? cond : "success()", se.msg);
			else if (!ok) {
				say(jr, OUT_DIM, NULL, "  step %zu: %s  (skipped: if: %s is false)",
				    index + 1, name, cond ? cond : "success()");
				outcome = STEP_SKIPPED;
				run_it = false;
				goto result;
			} else {
				say(jr, OUT_INFO, NULL, "  %*sstep %zu: %s", 2 * sc->depth, "",
				    index + 1, name);
			}
		} else if (!ok) {
			say(jr, OUT_DIM, x.prefix, "skipped (if: %s)", cond ? cond : "success()");
			outcome = STEP_SKIPPED;
			run_it = false;
			goto result;
		}
	}

	/* env: job env, then the step's */
	env = json_copy(jr->env);
	if (eval_env_map(env, st->env, &xe, &se) < 0) {
		say(jr, OUT_FAIL, x.prefix, "Error: %s", se.msg);
		outcome = STEP_FAILURE;
		goto result;
	}
	json_object_set(ctx, "env", env);
	if (eval_bool(&coe, st->continue_on_error, &xe, &se) < 0 ||
	    eval_minutes(&minutes, st->timeout_minutes, &xe, &se) < 0) {
		say(jr, OUT_FAIL, x.prefix, "Error: %s", se.msg);
		outcome = STEP_FAILURE;
		goto result;
	}
	x.timeout_ms = (long long)(minutes * 60000);

	if (!dry(jr)) {
		cmd_dir = xasprintf("%s/_cmd/%u", jr->dir, ++jr->step_seq);
		if (fs_mkdirs(cmd_dir, 0700, &se) < 0) {
			say(jr, OUT_FAIL, x.prefix, "Error: %s", se.msg);
			outcome = STEP_FAILURE;
			goto result;
		}
		for (int i = 0; i < 5; i++) {
			static const char *const f[] = { "env", "output", "path", "state", "summary" };
			char *p = xasprintf("%s/%s", cmd_dir, f[i]);

			fs_write_file(p, "", 0, 0644, NULL);
			free(p);
		}
		say(jr, OUT_INFO, x.prefix, "\u25b6 %s", name);
	}
	build_envp(&envp, jr, sc, env, cmd_dir, st->id ? st->id : name);

	c.step = st;
	c.uses = st->uses;
	c.xenv = &xe;
	c.envp = &envp;
	c.workspace = jr->run->o->workspace;
	c.runner_temp = jr->temp;
	c.shell_default = jr->shell_default;
	c.workdir_default = jr->workdir_default;
	c.path_env = strv_getenv(&envp, "PATH");
	c.dry_run = dry(jr);
	c.host = &job_host;
	c.host_ud = &x;
	c.outputs = outputs;
	c.outcome = STEP_SUCCESS;
	if (dry(jr)) {
		if (st->uses)
			host_plan(&x, st->uses);
		if (coe)
			host_plan(&x, "continue-on-error: true");
		if (minutes > 0) {
			char *l = xasprintf("timeout-minutes: %g", minutes);

			host_plan(&x, l);
			free(l);
		}
		plan_env(&x, (json_t *)st->env ? env : json_object_get(ctx, "__none"));
		if (type->plan(&c, &se) < 0) {
			say(jr, OUT_FAIL, NULL, "    error: %s", se.msg);
			outcome = STEP_FAILURE;
		}
		goto result;
	}
	if (type->run(&c, &se) < 0) {
		say(jr, OUT_FAIL, x.prefix, "Error: %s", se.msg);
		outcome = STEP_FAILURE;
		c.exit_code = -1;
	} else {
		outcome = c.outcome;
	}
	if (apply_file_commands(jr, cmd_dir, outputs, &se) < 0) {
		say(jr, OUT_FAIL, x.prefix, "Error: %s", se.msg);
		outcome = STEP_FAILURE;
	}

result:
	conclusion = outcome;
	if (outcome == STEP_FAILURE && coe)
		conclusion = STEP_SUCCESS;
	if (!dry(jr) && run_it) {
		double secs = (double)(time_mono_ns() - t0) / 1e9;

		if (outcome == STEP_SUCCESS)
			say(jr, OUT_OK, x.prefix, "\u2713 success (%.2fs)", secs);
		else if (outcome == STEP_FAILURE)
			say(jr, OUT_FAIL, x.prefix, "\u2717 failure%s (exit code %d, %.2fs)",
			    coe ? ", continuing (continue-on-error)" : "", c.exit_code, secs);
		else if (outcome == STEP_CANCELLED)
			say(jr, OUT_WARN, x.prefix, "cancelled (%.2fs)", secs);
	}
	record_step(jr, sc, st, name, outcome, conclusion,
		    run_it && !dry(jr) ? c.exit_code : -1, outputs);
	if (conclusion == STEP_FAILURE && sc->status == EXPR_STATUS_SUCCESS)
		sc->status = EXPR_STATUS_FAILURE;
	if (outcome == STEP_CANCELLED)
		sc->status = EXPR_STATUS_CANCELLED;
	if (jr->job_timed_out)
		sc->status = EXPR_STATUS_CANCELLED;
	free(x.prefix);
	free(x.stop_token);
	buf_release(&x.folded);
	strv_release(&envp);
	json_decref(ctx);
	json_decref(env);
	json_decref(outputs);
	free(name);
	free(cond);
	free(cmd_dir);
	(void)e;
	return ret;
}

static int run_step_list(struct jobrun *jr, struct scope *sc,
			 const struct wf_step *steps, size_t n, struct err *e)
{
	for (size_t i = 0; i < n; i++) {
		if (__atomic_load_n(&jr->in->cancel_level, __ATOMIC_SEQ_CST) > 0)
			sc->status = EXPR_STATUS_CANCELLED;
		if (run_step(jr, sc, &steps[i], i, e) < 0)
			return -1;
	}
	return 0;
}

/* ---- the job instance ---- */

static json_t *runner_ctx(struct jobrun *jr)
{
	json_t *r = json_object();
	char host[256] = "gantry";

	gethostname(host, sizeof(host) - 1);
	jsonx_set_str(r, "name", host);
	jsonx_set_str(r, "os", "Linux");
#if defined(__aarch64__)
	jsonx_set_str(r, "arch", "ARM64");
#else
	jsonx_set_str(r, "arch", "X64");
#endif
	jsonx_set_str(r, "temp", jr->temp);
	jsonx_set_str(r, "tool_cache", jr->run->o->tool_cache);
	jsonx_set_str(r, "environment", "self-hosted");
	if (getenv("RUNNER_DEBUG") && !strcmp(getenv("RUNNER_DEBUG"), "1"))
		jsonx_set_str(r, "debug", "1");
	return r;
}

static void job_defaults(struct jobrun *jr, const struct expr_env *xe)
{
	const struct yml_node *d[2] = { jr->job->defaults_run, jr->run->wf->defaults_run };
	struct err e = ERR_INIT;

	for (int i = 0; i < 2; i++) {
		const struct yml_node *sh = d[i] ? yml_get(d[i], "shell") : NULL;
		const struct yml_node *wd = d[i] ? yml_get(d[i], "working-directory") : NULL;

		if (!jr->shell_default && sh && !yml_is_null(sh))
			eval_str(&jr->shell_default, sh, xe, &e);
		if (!jr->workdir_default && wd && !yml_is_null(wd))
			eval_str(&jr->workdir_default, wd, xe, &e);
	}
}

static void plan_job_header(struct jobrun *jr, const struct expr_env *xe)
{
	const struct yml_node *ro = jr->job->runs_on;
	char *s = NULL;
	struct err e = ERR_INIT;

	say(jr, OUT_INFO, NULL, "job %s", jr->in->label);
	if (ro && ro->kind == YML_SCALAR && eval_str(&s, ro, xe, &e) >= 0 && s) {
		say(jr, OUT_DIM, NULL, "  runs-on: %s (runs on this machine)", s);
	} else if (ro) {
		json_t *j = yml_to_json(ro);
		char *d = jsonx_dump(j, 0);

		say(jr, OUT_DIM, NULL, "  runs-on: %s (runs on this machine)", d);
		free(d);
		json_decref(j);
	}
	free(s);
	if (jr->in->matrix) {
		char *d = jsonx_dump(jr->in->matrix, 0);

		say(jr, OUT_DIM, NULL, "  matrix: %s", d);
		free(d);
	}
	if (json_object_size(jr->env)) {
		const char *k;
		json_t *v;

		say(jr, OUT_DIM, NULL, "  env:");
		json_object_foreach(jr->env, k, v)
			say(jr, OUT_DIM, NULL, "    %s=%s", k, json_string_value(v));
	}
	if (jr->shell_default)
		say(jr, OUT_DIM, NULL, "  defaults.run.shell: %s", jr->shell_default);
	if (jr->workdir_default)
		say(jr, OUT_DIM, NULL, "  defaults.run.working-directory: %s", jr->workdir_default);
}

static void job_outputs(struct jobrun *jr, const struct expr_env *xe)
{
	const struct yml_node *o = jr->job->outputs;
	struct err e = ERR_INIT;

	if (!o || o->kind != YML_MAP)
		return;
	for (size_t i = 0; i < o->n_pairs; i++) {
		char *s = NULL;
		int r = eval_str(&s, o->pairs[i].val, xe, &e);

		if (r < 0) {
			say(jr, OUT_WARN, jr->prefix, "Warning: output %s: %s",
			    o->pairs[i].key->str, e.msg);
			continue;
		}
		if (dry(jr)) {
			say(jr, OUT_DIM, NULL, "  output %s = %s", o->pairs[i].key->str,
			    s ? s : "");
		}
		jsonx_set_str(jr->in->outputs, o->pairs[i].key->str, s ? s : "");
		free(s);
	}
}

static void jobrun_release(struct jobrun *jr)
{
	json_decref(jr->ctx);
	json_decref(jr->env);
	json_decref(jr->annotations);
	strv_release(&jr->path_add);
	free(jr->dir);
	free(jr->temp);
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
	if (!dry(&jr) && fs_mkdirs(jr.temp, 0700, &e) < 0) {
		say(&jr, OUT_FAIL, jr.prefix, "Error: %s", e.msg);
		in->result = RES_FAILURE;
		goto done;
	}

	jr.ctx = job_contexts(r, in->js, in->matrix, (long)in->index);
	{
		json_t *gh = json_copy(json_object_get(jr.ctx, "github"));

		jsonx_set_str(gh, "job", job->id);
		json_object_set_new(jr.ctx, "github", gh);
	}
	json_object_set_new(jr.ctx, "runner", runner_ctx(&jr));
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
	make_env(&xe, &jr, jr.ctx, EXPR_STATUS_SUCCESS);
	if (eval_env_map(jr.env, r->wf->env, &xe, &e) < 0 ||
	    eval_env_map(jr.env, job->env, &xe, &e) < 0 ||
	    eval_minutes(&minutes, job->timeout_minutes, &xe, &e) < 0) {
		say(&jr, OUT_FAIL, jr.prefix, "Error: %s", e.msg);
		in->result = RES_FAILURE;
		goto done;
	}
	if (minutes <= 0 && !job->timeout_minutes)
		minutes = 360;	/* GitHub's default */
	if (minutes > 0)
		jr.deadline_ns = time_mono_ns() + (long long)(minutes * 60e9);
	job_defaults(&jr, &xe);

	if (dry(&jr)) {
		plan_job_header(&jr, &xe);
	} else {
		const struct yml_node *ro = job->runs_on;
		char *s = NULL;

		if (ro && ro->kind == YML_SCALAR)
			eval_str(&s, ro, &xe, &e);
		say(&jr, OUT_INFO, jr.prefix, "\u25b6 job %s", in->label);
		if (s)
			say(&jr, OUT_DIM, jr.prefix, "runs-on: %s (running on this machine)", s);
		free(s);
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
	make_env(&xe, &jr, jr.ctx, sc.status);
	job_outputs(&jr, &xe);
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
	json_object_set_new(in->summary, "result", json_string(result_name(in->result)));
	json_object_set(in->summary, "outputs", in->outputs);
	if (jr.summary.len)
		json_object_set_new(in->summary, "summary", json_string(jr.summary.ptr));
	if (json_array_size(jr.annotations))
		json_object_set(in->summary, "annotations", jr.annotations);
	if (!dry(&jr)) {
		enum out_kind k = in->result == RES_SUCCESS ? OUT_OK :
				  in->result == RES_FAILURE ? OUT_FAIL : OUT_WARN;

		say(&jr, k, jr.prefix, "job %s: %s", in->label, result_name(in->result));
	}
	jobrun_release(&jr);
}
