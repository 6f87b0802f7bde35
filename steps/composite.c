/*
 * composite: a local composite action, uses: ./path with action.yml
 * (or action.yaml) whose runs.using is "composite". Its inputs come from
 * with: and the defaults in action.yml, its steps run through the host as
 * one step, and its outputs are evaluated from the nested steps context.
 */
#include "step.h"
#include "../lib/buf.h"
#include "../lib/fs.h"
#include "../lib/jsonx.h"
#include "../lib/util.h"

#include <stdlib.h>
#include <string.h>

static bool composite_matches(const char *uses)
{
	size_t n = strlen(uses);

	if (strncmp(uses, "./", 2))
		return false;
	/* ./.github/workflows/x.yml is a reusable workflow, a job's business */
	return !(n > 4 && (str_ends_with(uses, ".yml") || str_ends_with(uses, ".yaml")));
}

/* The action.yml of dir, or NULL. Caller frees. */
static char *action_file(const char *dir)
{
	char *p = fs_join(dir, "action.yml");

	if (fs_exists(p))
		return p;
	free(p);
	p = fs_join(dir, "action.yaml");
	if (fs_exists(p))
		return p;
	free(p);
	return NULL;
}

struct action {
	struct yml_doc *doc;
	char *dir;
	char *file;
	const struct yml_node *inputs;
	const struct yml_node *outputs;
	struct wf_step *steps;
	size_t n_steps;
};

static void action_release(struct action *a)
{
	for (size_t i = 0; i < a->n_steps; i++)
		free(a->steps[i].id);
	free(a->steps);
	yml_doc_free(a->doc);
	free(a->dir);
	free(a->file);
	memset(a, 0, sizeof(*a));
}

static const struct yml_node *opt_node(const struct yml_node *m, const char *k)
{
	const struct yml_node *n = yml_get(m, k);

	return n && !yml_is_null(n) ? n : NULL;
}

/* step := mapping with run (and shell) or uses */
static int action_step(struct wf_step *st, const struct yml_node *m,
		       const char *file, struct err *e)
{
	const struct yml_node *id;

	memset(st, 0, sizeof(*st));
	if (m->kind != YML_MAP)
		return err_set(e, ERR_INVALID, "%s:%d:%d: a step must be a mapping",
			       file, m->pos.line, m->pos.col);
	st->pos = m->pos;
	st->node = m;
	id = opt_node(m, "id");
	if (id && id->kind == YML_SCALAR)
		st->id = xstrdup(id->str);
	st->name = opt_node(m, "name");
	st->if_ = opt_node(m, "if");
	st->run = opt_node(m, "run");
	st->shell = opt_node(m, "shell");
	st->working_directory = opt_node(m, "working-directory");
	st->env = opt_node(m, "env");
	st->with = opt_node(m, "with");
	st->continue_on_error = opt_node(m, "continue-on-error");
	st->timeout_minutes = opt_node(m, "timeout-minutes");
	if (opt_node(m, "uses") && opt_node(m, "uses")->kind == YML_SCALAR)
		st->uses = opt_node(m, "uses")->str;
	if (!st->run == !st->uses)
		return err_set(e, ERR_INVALID,
			       "%s:%d:%d: a step must have either run or uses",
			       file, m->pos.line, m->pos.col);
	if (st->run && !st->shell)
		return err_set(e, ERR_INVALID,
			       "%s:%d:%d: run steps of a composite action need shell: "
			       "(GitHub requires it)", file, m->pos.line, m->pos.col);
	return 0;
}

static int action_load(struct action *a, const char *uses, const char *root,
		       struct err *e)
{
	const struct yml_node *runs, *using, *steps;

	memset(a, 0, sizeof(*a));
	a->dir = fs_join(root, uses + 2);
	a->file = action_file(a->dir);
	if (!a->file)
		return err_set(e, ERR_NOT_FOUND,
			       "'%s': no action.yml or action.yaml in %s", uses,
			       a->dir);
	if (yml_load_file(&a->doc, a->file, NULL, e) < 0)
		return -1;
	if (!a->doc->root || a->doc->root->kind != YML_MAP)
		return err_set(e, ERR_INVALID, "%s: an action must be a mapping",
			       a->file);
	runs = yml_get(a->doc->root, "runs");
	using = runs ? yml_get(runs, "using") : NULL;
	if (!using || using->kind != YML_SCALAR)
		return err_set(e, ERR_INVALID, "%s: runs.using is missing", a->file);
	if (strcmp(using->str, "composite"))
		return err_set(e, ERR_INVALID,
			       "%s:%d:%d: runs.using '%s' is not supported yet: gantry "
			       "runs composite actions (JavaScript and Docker actions "
			       "are on the roadmap)", a->file, using->pos.line,
			       using->pos.col, using->str);
	steps = yml_get(runs, "steps");
	if (!steps || steps->kind != YML_SEQ)
		return err_set(e, ERR_INVALID, "%s: runs.steps must be a list",
			       a->file);
	a->inputs = opt_node(a->doc->root, "inputs");
	a->outputs = opt_node(a->doc->root, "outputs");
	a->steps = xcalloc(steps->n_items ? steps->n_items : 1, sizeof(*a->steps));
	for (size_t i = 0; i < steps->n_items; i++) {
		if (action_step(&a->steps[i], steps->items[i], a->file, e) < 0) {
			a->n_steps = i + 1;
			return -1;
		}
		a->n_steps = i + 1;
	}
	return 0;
}

static int composite_validate(const char *uses, const char *root, struct err *e)
{
	struct action a;
	int r = action_load(&a, uses, root, e);

	action_release(&a);
	return r;
}

/* The action's inputs context from with: and the defaults. */
static int action_inputs(json_t **out, struct action *a, struct step_ctx *c,
			 struct err *e)
{
	json_t *in = json_object();
	const struct yml_node *with = c->step->with;
	int ret = -1;

	if (a->inputs && a->inputs->kind == YML_MAP) {
		for (size_t i = 0; i < a->inputs->n_pairs; i++) {
			const char *name = a->inputs->pairs[i].key->str;
			const struct yml_node *spec = a->inputs->pairs[i].val;
			const struct yml_node *v = with ? yml_get(with, name) : NULL;
			const struct yml_node *def = spec ? yml_get(spec, "default") : NULL;
			const struct yml_node *req = spec ? yml_get(spec, "required") : NULL;
			char *s = NULL;
			bool required = false;

			if (!v && def && !yml_is_null(def))
				v = def;
			if (v && v->kind == YML_SCALAR && !yml_is_null(v)) {
				if (expr_interpolate(&s, v->str, c->xenv, e) < 0) {
					err_wrap(e, "input '%s'", name);
					goto done;
				}
			} else if (req && yml_bool(req, &required) == 0 && required) {
				char *msg = xasprintf("input '%s' of %s is required and not given",
						      name, c->uses);

				c->host->info(c->host_ud, msg);
				free(msg);
			}
			json_object_set_new(in, name, json_string(s ? s : ""));
			free(s);
		}
	}
	if (with && with->kind == YML_MAP) {
		for (size_t i = 0; i < with->n_pairs; i++) {
			const char *name = with->pairs[i].key->str;

			if (!a->inputs || !yml_get(a->inputs, name)) {
				char *msg = xasprintf("warning: unexpected input '%s': %s "
						      "does not declare it", name, c->uses);

				c->host->info(c->host_ud, msg);
				free(msg);
			}
		}
	}
	*out = in;
	in = NULL;
	ret = 0;
done:
	json_decref(in);
	return ret;
}

static int action_outputs(struct action *a, struct step_ctx *c, json_t *inputs,
			  json_t *steps_ctx, struct err *e)
{
	json_t *ctx = json_copy(c->xenv->contexts);
	struct expr_env env = *c->xenv;
	int ret = -1;

	json_object_set(ctx, "steps", steps_ctx);
	json_object_set(ctx, "inputs", inputs);
	env.contexts = ctx;
	if (a->outputs && a->outputs->kind == YML_MAP) {
		for (size_t i = 0; i < a->outputs->n_pairs; i++) {
			const struct yml_node *spec = a->outputs->pairs[i].val;
			const struct yml_node *v = spec ? yml_get(spec, "value") : NULL;
			char *s = NULL;

			if (!v || v->kind != YML_SCALAR)
				continue;
			if (expr_interpolate(&s, v->str, &env, e) < 0) {
				err_wrap(e, "output '%s'", a->outputs->pairs[i].key->str);
				goto done;
			}
			json_object_set_new(c->outputs, a->outputs->pairs[i].key->str,
					    json_string(s));
			free(s);
		}
	}
	ret = 0;
done:
	json_decref(ctx);
	return ret;
}

static int composite_run(struct step_ctx *c, struct err *e)
{
	struct action a;
	json_t *inputs = NULL, *steps_ctx = NULL;
	char *msg;
	int ret = -1;

	if (action_load(&a, c->uses, c->workspace, e) < 0)
		goto done;
	if (action_inputs(&inputs, &a, c, e) < 0)
		goto done;
	if (c->dry_run) {
		msg = xasprintf("composite action %s (%zu steps):", a.file, a.n_steps);
		c->host->plan(c->host_ud, msg);
		free(msg);
	}
	if (c->host->run_steps(c->host_ud, c, a.steps, a.n_steps, inputs, a.dir,
			       &steps_ctx, e) < 0)
		goto done;
	if (!c->dry_run && action_outputs(&a, c, inputs, steps_ctx, e) < 0)
		goto done;
	ret = 0;
done:
	if (ret < 0)
		err_wrap(e, "action %s", c->uses);
	json_decref(inputs);
	json_decref(steps_ctx);
	action_release(&a);
	return ret;
}

const struct step_type step_type_composite = {
	.name = "composite",
	.matches = composite_matches,
	.validate = composite_validate,
	.plan = composite_run,
	.run = composite_run,
};
