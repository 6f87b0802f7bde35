/*
 * reusable: a job that calls a workflow of the same repository,
 * uses: ./.github/workflows/x.yml, with with:, secrets: (or inherit) and
 * the called workflow's on.workflow_call inputs, secrets and outputs.
 * The called workflow's jobs run as a nested run whose job names are
 * prefixed with the caller's ("deploy/build").
 */
#include "exec_int.h"
#include "../lib/buf.h"
#include "../lib/fs.h"
#include "../lib/jsonx.h"
#include "../lib/util.h"
#include "../steps/step.h"

#include <stdlib.h>
#include <string.h>

int run_workflow_nested(json_t **summary, json_t **jobs_ctx,
			const struct workflow *wf, const struct run_opts *o,
			json_t *github, json_t *call_inputs, const char *prefix,
			int cancel_fd, struct err *e);

static void fail(struct inst *in, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail(struct inst *in, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	out_printf(in->run->o->out, OUT_FAIL, NULL, "[%s] Error: %s", in->label, b.ptr);
	in->result = RES_FAILURE;
	buf_release(&b);
}

/* A with: value converted to the input's declared type. */
static int typed_input(json_t **out, const struct wf_input *inp, json_t *v,
		       struct err *e)
{
	const char *type = inp->type ? inp->type : "string";

	if (!strcmp(type, "boolean")) {
		if (json_is_boolean(v)) {
			*out = json_incref(v);
			return 0;
		}
		if (json_is_string(v) && (!strcmp(json_string_value(v), "true") ||
					  !strcmp(json_string_value(v), "false"))) {
			*out = json_boolean(!strcmp(json_string_value(v), "true"));
			return 0;
		}
		return err_set(e, ERR_INVALID, "input '%s' must be a boolean", inp->name);
	}
	if (!strcmp(type, "number")) {
		if (json_is_number(v)) {
			*out = json_incref(v);
			return 0;
		}
		if (json_is_string(v)) {
			char *end;
			double d = strtod(json_string_value(v), &end);

			if (!*end && *json_string_value(v)) {
				*out = d == (double)(json_int_t)d ? json_integer((json_int_t)d) :
					json_real(d);
				return 0;
			}
		}
		return err_set(e, ERR_INVALID, "input '%s' must be a number", inp->name);
	}
	if (json_is_string(v)) {
		*out = json_incref(v);
	} else {
		char *s = expr_to_string(v);

		*out = json_string(s);
		free(s);
	}
	return 0;
}

static int call_inputs(json_t **out, const struct workflow *called,
		       const struct wf_job *job, const struct expr_env *xe,
		       struct err *e)
{
	json_t *in = json_object(), *with = NULL, *raw;
	const char *k;
	json_t *v;
	int ret = -1;

	raw = job->with ? yml_to_json(job->with) : json_object();
	if (eval_json_templates(&with, raw, xe, e) < 0)
		goto done;
	json_object_foreach(with, k, v) {
		bool known = false;

		for (size_t i = 0; i < called->n_call_inputs; i++)
			if (!strcmp(called->call_inputs[i].name, k))
				known = true;
		if (!known) {
			err_set(e, ERR_INVALID, "with: '%s' is not an input of %s", k,
				called->path);
			goto done;
		}
	}
	for (size_t i = 0; i < called->n_call_inputs; i++) {
		const struct wf_input *inp = &called->call_inputs[i];
		json_t *given = json_object_get(with, inp->name), *val = NULL;

		if (!given && inp->default_ && !yml_is_null(inp->default_)) {
			json_t *d = yml_to_json(inp->default_);

			if (eval_json_templates(&given, d, xe, e) < 0) {
				json_decref(d);
				goto done;
			}
			json_decref(d);
		} else if (given) {
			json_incref(given);
		}
		if (!given) {
			if (inp->required) {
				err_set(e, ERR_INVALID, "input '%s' of %s is required",
					inp->name, called->path);
				goto done;
			}
			given = !strcmp(inp->type ? inp->type : "string", "boolean") ?
				json_false() : !strcmp(inp->type ? inp->type : "", "number") ?
				json_integer(0) : json_string("");
		}
		if (typed_input(&val, inp, given, e) < 0) {
			json_decref(given);
			goto done;
		}
		json_decref(given);
		json_object_set_new(in, inp->name, val);
	}
	*out = in;
	in = NULL;
	ret = 0;
done:
	json_decref(in);
	json_decref(with);
	json_decref(raw);
	return ret;
}

static int call_secrets(json_t **out, const struct workflow *called,
			const struct wf_job *job, const struct expr_env *xe,
			json_t *caller_secrets, struct err *e)
{
	json_t *sec;

	if (job->secrets && job->secrets->kind == YML_SCALAR &&
	    !strcmp(job->secrets->str, "inherit")) {
		sec = json_copy(caller_secrets);
	} else {
		json_t *raw = job->secrets ? yml_to_json(job->secrets) : json_object();
		json_t *v = NULL;

		if (eval_json_templates(&v, raw, xe, e) < 0) {
			json_decref(raw);
			return -1;
		}
		json_decref(raw);
		sec = json_is_object(v) ? v : json_object();
		if (!json_is_object(v))
			json_decref(v);
	}
	if (called->call_secrets && called->call_secrets->kind == YML_MAP) {
		for (size_t i = 0; i < called->call_secrets->n_pairs; i++) {
			const char *name = called->call_secrets->pairs[i].key->str;
			const struct yml_node *spec = called->call_secrets->pairs[i].val;
			const struct yml_node *req = spec ? yml_get(spec, "required") : NULL;
			bool required = false;

			if (req && yml_bool(req, &required) == 0 && required &&
			    !json_object_get(sec, name)) {
				json_decref(sec);
				return err_set(e, ERR_INVALID,
					       "secret '%s' of %s is required and not passed",
					       name, called->path);
			}
		}
	}
	/* GITHUB_TOKEN is always there */
	if (!json_object_get(sec, "GITHUB_TOKEN") && json_object_get(caller_secrets, "GITHUB_TOKEN"))
		json_object_set(sec, "GITHUB_TOKEN", json_object_get(caller_secrets, "GITHUB_TOKEN"));
	*out = sec;
	return 0;
}

void reusable_run(struct inst *in, json_t *ctx)
{
	struct run *r = in->run;
	const struct wf_job *job = in->js->job;
	const char *root = r->o->workspace;
	struct wf_load_opts lo = { steps_check_uses, (void *)root, NULL };
	struct wf_diags d = WF_DIAGS_INIT;
	struct workflow *called = NULL;
	struct run_opts o2 = *r->o;
	struct expr_env xe = { 0 };
	struct err e = ERR_INIT;
	json_t *inputs = NULL, *secrets = NULL, *summary = NULL, *jobs = NULL;
	char *path = NULL, *prefix = NULL;

	if (strncmp(job->uses, "./", 2)) {
		fail(in, "uses: %s: only workflows of the same repository (./.github/workflows/...) "
		     "can be called so far", job->uses);
		goto done;
	}
	path = fs_join(root, job->uses + 2);
	{
		char *at = strchr(path, '@');

		if (at)
			*at = '\0';
	}
	if (wf_load(&called, path, &lo, &d, &e) < 0) {
		fail(in, "%s: %s", job->uses, d.n ? d.v[0].msg : e.msg);
		if (d.n)
			wf_diags_print(&d, stderr);
		goto done;
	}
	if (!wf_find_trigger(called, "workflow_call")) {
		fail(in, "%s is not a reusable workflow: its on: has no workflow_call", job->uses);
		goto done;
	}
	run_expr_env(&xe, r, ctx, EXPR_STATUS_SUCCESS);
	if (call_inputs(&inputs, called, job, &xe, &e) < 0 ||
	    call_secrets(&secrets, called, job, &xe, r->o->secrets, &e) < 0) {
		fail(in, "%s: %s", job->uses, e.msg);
		goto done;
	}
	o2.secrets = secrets;
	{
		/* values made for the call (fromJSON(...).x) are secrets too */
		const char *k;
		json_t *v;

		json_object_foreach(secrets, k, v)
			if (json_is_string(v))
				mask_add(r->o->mask, json_string_value(v));
	}
	prefix = xasprintf("%s%s/", r->prefix, in->label + strlen(r->prefix));
	if (r->o->dry_run)
		out_printf(r->o->out, OUT_INFO, NULL, "job %s calls %s", in->label, path);
	if (run_workflow_nested(&summary, &jobs, called, &o2, r->github, inputs, prefix,
				in->cancel_pipe[0], &e) < 0) {
		fail(in, "%s: %s", job->uses, e.msg);
		goto done;
	}
	{
		const char *res = jsonx_str(summary, "result");

		in->result = !res || !strcmp(res, "success") || !strcmp(res, "planned") ?
			RES_SUCCESS : !strcmp(res, "cancelled") ? RES_CANCELLED :
			!strcmp(res, "skipped") ? RES_SKIPPED : RES_FAILURE;
		json_object_set(in->summary, "jobs", json_object_get(summary, "jobs"));
	}
	/* outputs: on.workflow_call.outputs.<name>.value over the jobs context */
	if (called->call_outputs && called->call_outputs->kind == YML_MAP) {
		json_t *c2 = json_copy(ctx);

		json_object_set(c2, "jobs", jobs);
		json_object_set(c2, "inputs", inputs);
		xe.contexts = c2;
		if (r->o->dry_run)
			xe.unknown = NULL;
		for (size_t i = 0; i < called->call_outputs->n_pairs; i++) {
			const struct yml_node *spec = called->call_outputs->pairs[i].val;
			const struct yml_node *v = spec ? yml_get(spec, "value") : NULL;
			char *s = NULL;

			if (!v || v->kind != YML_SCALAR)
				continue;
			if (expr_interpolate(&s, v->str, &xe, &e) < 0) {
				fail(in, "output %s: %s", called->call_outputs->pairs[i].key->str, e.msg);
				continue;
			}
			jsonx_set_str(in->outputs, called->call_outputs->pairs[i].key->str, s);
			free(s);
		}
		json_decref(c2);
	}
done:
	wf_diags_release(&d);
	wf_free(called);
	json_decref(inputs);
	json_decref(secrets);
	json_decref(summary);
	json_decref(jobs);
	free(path);
	free(prefix);
}
