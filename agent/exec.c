/*
 * exec: the scheduler. Jobs start when their needs are done; a job's if:
 * is decided then, its matrix expanded then (so a matrix may come from a
 * needed job's outputs), and its instances started as slots allow
 * (--jobs overall, max-parallel per job). fail-fast cancels the other
 * instances of a job when one fails. Each instance runs in its own
 * thread; the scheduler waits on a pipe that instances write their index
 * to when they end, and on the cancel pipe.
 */
#include "exec_int.h"
#include "../lib/buf.h"
#include "../lib/fs.h"
#include "../lib/jsonx.h"
#include "../lib/log.h"
#include "../lib/util.h"
#include "../workflows/matrix.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *result_name(enum result r)
{
	static const char *const n[] = { "success", "failure", "cancelled", "skipped" };

	return n[r];
}

/* ---- cancellation ---- */

static int cancel_pipe[2] = { -1, -1 };
static volatile int cancel_lvl;

void cancel_init(void)
{
	if (cancel_pipe[0] >= 0)
		return;
	if (pipe2(cancel_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		BUG("cannot create the cancel pipe");
}

void cancel_request(void)
{
	int saved = errno;
	ssize_t n;

	__atomic_add_fetch(&cancel_lvl, 1, __ATOMIC_SEQ_CST);
	n = write(cancel_pipe[1], "c", 1);
	(void)n;
	errno = saved;
}

int cancel_level(void)
{
	return __atomic_load_n(&cancel_lvl, __ATOMIC_SEQ_CST);
}

/* ---- contexts for job-level expressions ---- */

json_t *job_contexts(struct run *r, struct job_state *js, json_t *matrix,
		     long index)
{
	json_t *c = json_object();
	json_t *strategy = json_object();

	json_object_set(c, "github", js && js->github ? js->github : r->github);
	json_object_set(c, "vars", r->o->vars);
	json_object_set(c, "secrets", r->o->secrets);
	json_object_set(c, "inputs", r->call_inputs ? r->call_inputs : r->o->inputs);
	json_object_set_new(c, "needs", js && js->needs_ctx ? json_incref(js->needs_ctx) :
			    json_object());
	json_object_set_new(c, "matrix", matrix ? json_incref(matrix) : json_object());
	if (js) {
		json_object_set_new(strategy, "fail-fast", json_boolean(js->fail_fast));
		json_object_set_new(strategy, "max-parallel",
				    json_integer(js->max_parallel ? js->max_parallel :
						 (json_int_t)js->n_inst));
		json_object_set_new(strategy, "job-total", json_integer((json_int_t)js->n_inst));
		json_object_set_new(strategy, "job-index", json_integer(index));
	}
	json_object_set_new(c, "strategy", strategy);
	json_object_set_new(c, "env", json_object());
	return c;
}

void run_expr_env(struct expr_env *xe, const struct run *r, json_t *ctx,
		  enum expr_status status)
{
	memset(xe, 0, sizeof(*xe));
	xe->contexts = ctx;
	xe->status = status;
	xe->hash_files = hashfiles;
	xe->ud = (void *)r->o->workspace;
	if (r->o->dry_run) {
		xe->status_unknown = true;
		xe->unknown = dry_unknown;
	}
}

/* ---- starting jobs ---- */

static struct job_state *find_js(struct run *r, const char *id)
{
	for (size_t i = 0; i < r->n_js; i++)
		if (!strcmp(r->js[i].job->id, id))
			return &r->js[i];
	return NULL;
}

static void say(struct run *r, enum out_kind k, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(struct run *r, enum out_kind k, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	out_line(r->o->out, k, NULL, b.ptr);
	buf_release(&b);
}

static char *job_name(struct run *r, struct job_state *js, json_t *matrix,
		      json_t *ctx)
{
	const struct yml_node *n = js->job->name;
	struct expr_env xe;
	struct err e = ERR_INIT;
	char *s = NULL;

	run_expr_env(&xe, r, ctx, EXPR_STATUS_SUCCESS);
	if (n && n->kind == YML_SCALAR && !yml_is_null(n) &&
	    expr_interpolate(&s, n->str, &xe, &e) >= 0 && s && *s) {
		/* a name that uses matrix values already tells them apart */
		if (!matrix || strstr(n->str, "matrix"))
			goto named;
	} else {
		free(s);
		s = xstrdup(js->job->id);
	}
	if (matrix && json_object_size(matrix)) {
		char *l = matrix_label(matrix);
		char *t = *l ? xasprintf("%s (%s)", s, l) : xstrdup(s);

		free(l);
		free(s);
		s = t;
	}
named:
	if (r->prefix[0]) {
		char *t = xasprintf("%s%s", r->prefix, s);

		free(s);
		s = t;
	}
	return s;
}

static struct inst *inst_new(struct run *r, struct job_state *js, size_t index,
			     json_t *matrix)
{
	struct inst *in = xcalloc(1, sizeof(*in));
	json_t *ctx = job_contexts(r, js, matrix, (long)index);

	in->run = r;
	in->js = js;
	in->index = index;
	in->matrix = matrix ? json_incref(matrix) : NULL;
	in->label = job_name(r, js, matrix, ctx);
	in->outputs = json_object();
	in->summary = json_object();
	in->result = RES_SKIPPED;
	in->cancel_pipe[0] = in->cancel_pipe[1] = -1;
	in->kill_pipe[0] = in->kill_pipe[1] = -1;
	/* a dry run starts nothing, so there is nothing to cancel */
	if (!r->o->dry_run && (pipe2(in->cancel_pipe, O_CLOEXEC | O_NONBLOCK) < 0 ||
			       pipe2(in->kill_pipe, O_CLOEXEC | O_NONBLOCK) < 0))
		BUG("cannot create a pipe: %s", strerror(errno));
	/* the contexts are kept for inst_run: made once per instance */
	in->ctx = ctx;
	ctx = NULL;
	jsonx_set_str(in->summary, "id", js->job->id);
	jsonx_set_str(in->summary, "name", in->label);
	json_object_set_new(in->summary, "matrix", matrix ? json_incref(matrix) : json_null());
	jsonx_set_str(in->summary, "result", "skipped");
	json_object_set_new(in->summary, "started_at", json_null());
	json_object_set_new(in->summary, "finished_at", json_null());
	json_object_set_new(in->summary, "outputs", json_object());
	json_object_set_new(in->summary, "steps", json_array());
	json_decref(ctx);
	return in;
}

static void inst_free(struct inst *in)
{
	if (!in)
		return;
	for (int i = 0; i < 2; i++) {
		if (in->cancel_pipe[i] >= 0)
			close(in->cancel_pipe[i]);
		if (in->kill_pipe[i] >= 0)
			close(in->kill_pipe[i]);
	}
	json_decref(in->matrix);
	json_decref(in->outputs);
	json_decref(in->summary);
	json_decref(in->ctx);
	free(in->label);
	free(in);
}

static void inst_cancel(struct inst *in, int level)
{
	ssize_t n;

	if (__atomic_load_n(&in->cancel_level, __ATOMIC_SEQ_CST) >= level)
		return;
	__atomic_store_n(&in->cancel_level, level, __ATOMIC_SEQ_CST);
	if (in->cancel_pipe[1] < 0)
		return;
	n = write(level == 1 ? in->cancel_pipe[1] : in->kill_pipe[1], "c", 1);
	(void)n;
}

/* The needs context of a job and whether every need succeeded. */
static enum expr_status needs_status(struct run *r, struct job_state *js)
{
	enum expr_status st = EXPR_STATUS_SUCCESS;
	json_t *needs = json_object();

	for (size_t i = 0; i < js->job->n_needs; i++) {
		struct job_state *n = find_js(r, js->job->needs[i]);
		json_t *ent = json_object();

		if (!n)
			continue;
		jsonx_set_str(ent, "result", result_name(n->result));
		json_object_set(ent, "outputs", n->outputs);
		json_object_set_new(needs, n->job->id, ent);
		if (n->result != RES_SUCCESS && st == EXPR_STATUS_SUCCESS)
			st = EXPR_STATUS_FAILURE;
	}
	json_decref(js->needs_ctx);
	js->needs_ctx = needs;
	if (r->cancelled)
		st = EXPR_STATUS_CANCELLED;
	return st;
}

static void job_finish(struct run *r, struct job_state *js, enum result res)
{
	js->state = JS_DONE;
	js->result = res;
}

static void skip_job(struct run *r, struct job_state *js, enum result res,
		     const char *why)
{
	struct inst *in = inst_new(r, js, 0, NULL);

	in->result = res;
	jsonx_set_str(in->summary, "result", result_name(res));
	if (r->o->dry_run)
		say(r, OUT_DIM, "job %s: skipped (%s)", in->label, why);
	else
		say(r, OUT_DIM, "[%s] job %s (%s)", in->label, result_name(res), why);
	js->inst = xcalloc(1, sizeof(*js->inst));
	js->inst[0] = in;
	js->n_inst = 1;
	in->finished = true;
	js->n_done = 1;
	job_finish(r, js, res);
}

/* Decide the job's if:, expand its matrix and make its instances. */
static void job_activate(struct run *r, struct job_state *js)
{
	const struct wf_job *job = js->job;
	enum expr_status st = needs_status(r, js);
	json_t *ctx = NULL, *combos = NULL;
	struct expr_env xe;
	struct err e = ERR_INIT;
	const char *cond = job->if_ && job->if_->kind == YML_SCALAR &&
			   !yml_is_null(job->if_) ? job->if_->str : "";
	bool ok = true;
	int rc;

	/* github.job is the job's id: one copy per job, made here before any
	 * of its instances' threads can read it */
	if (!js->github) {
		js->github = json_copy(r->github);
		jsonx_set_str(js->github, "job", job->id);
	}
	ctx = job_contexts(r, js, NULL, 0);
	run_expr_env(&xe, r, ctx, st);
	rc = expr_eval_if(&ok, cond, &xe, &e);
	if (rc < 0) {
		say(r, OUT_FAIL, "job %s: if: %s", job->id, e.msg);
		skip_job(r, js, RES_FAILURE, "its if: could not be evaluated");
		goto done;
	}
	if (r->o->dry_run && rc == EXPR_UNKNOWN) {
		if (*cond)
			say(r, OUT_DIM, "job %s: if: %s  (decided at run time on %s)", job->id,
			    cond, e.msg);
		err_clear(&e);
	} else if (!ok) {
		enum result res = st == EXPR_STATUS_CANCELLED ? RES_CANCELLED : RES_SKIPPED;
		char *why = xasprintf("if: %s is false", *cond ? cond : "success()");

		skip_job(r, js, res, why);
		free(why);
		goto done;
	}

	/* strategy */
	js->fail_fast = true;
	if (job->fail_fast && !yml_is_null(job->fail_fast)) {
		json_t *v = NULL, *raw = yml_to_json(job->fail_fast);

		if (eval_json_templates(&v, raw, &xe, &e) == 0 && json_is_boolean(v))
			js->fail_fast = json_is_true(v);
		else if (json_is_string(v))
			js->fail_fast = strcmp(json_string_value(v), "false") != 0;
		json_decref(v);
		json_decref(raw);
	}
	if (job->max_parallel && !yml_is_null(job->max_parallel)) {
		json_t *v = NULL, *raw = yml_to_json(job->max_parallel);

		if (eval_json_templates(&v, raw, &xe, &e) == 0) {
			if (json_is_integer(v))
				js->max_parallel = (long)json_integer_value(v);
			else if (json_is_string(v))
				js->max_parallel = strtol(json_string_value(v), NULL, 10);
		}
		json_decref(v);
		json_decref(raw);
		if (js->max_parallel < 0)
			js->max_parallel = 0;
	}
	if (job->matrix && !yml_is_null(job->matrix)) {
		json_t *raw = yml_to_json(job->matrix), *m = NULL;

		if (job->matrix->kind == YML_SCALAR) {
			rc = expr_interpolate_value(&m, job->matrix->str, &xe, &e);
		} else {
			rc = eval_json_templates(&m, raw, &xe, &e);
		}
		if (rc == 0 && r->o->dry_run) {
			char *d = jsonx_dump(m, 0);

			if (strstr(d, "${{"))
				rc = EXPR_UNKNOWN;
			free(d);
		}
		if (rc == EXPR_UNKNOWN) {
			char *d = jsonx_dump(raw, 0);

			say(r, OUT_DIM, "job %s: matrix decided at run time: %s", job->id, d);
			free(d);
			js->matrix_expr = xstrdup("run time");
		} else if (rc < 0 || (!json_is_object(m) &&
				      err_set(&e, ERR_INVALID, "the matrix is not a mapping"))) {
			say(r, OUT_FAIL, "job %s: strategy.matrix: %s", job->id, e.msg);
			json_decref(raw);
			json_decref(m);
			skip_job(r, js, RES_FAILURE, "its matrix could not be expanded");
			goto done;
		} else if (matrix_expand(&combos, m, &e) < 0) {
			say(r, OUT_FAIL, "job %s: strategy.matrix: %s", job->id, e.msg);
			json_decref(raw);
			json_decref(m);
			skip_job(r, js, RES_FAILURE, "its matrix could not be expanded");
			goto done;
		}
		json_decref(raw);
		json_decref(m);
	}
	if (combos) {
		size_t n = json_array_size(combos);

		js->inst = xcalloc(n, sizeof(*js->inst));
		js->n_inst = n;
		for (size_t i = 0; i < n; i++)
			js->inst[i] = inst_new(r, js, i, json_array_get(combos, i));
	} else {
		js->inst = xcalloc(1, sizeof(*js->inst));
		js->n_inst = 1;
		js->inst[0] = inst_new(r, js, 0, NULL);
	}
	js->state = JS_ACTIVE;
done:
	json_decref(combos);
	json_decref(ctx);
}

static void *inst_thread(void *arg)
{
	struct inst *in = arg;
	size_t idx = 0;
	ssize_t n;

	inst_run(in);
	/* tell the scheduler: the instance's address identifies it */
	idx = (size_t)in;
	do {
		n = write(in->run->ev_pipe[1], &idx, sizeof(idx));
	} while (n < 0 && errno == EINTR);
	return NULL;
}

static void inst_start(struct run *r, struct inst *in)
{
	in->started = true;
	in->js->n_running++;
	r->running++;
	if (in->run->cancelled)
		inst_cancel(in, 1);
	if (r->o->dry_run) {
		/* planning an instance is quick: inline, in order */
		inst_run(in);
		in->finished = true;
		in->js->n_running--;
		in->js->n_done++;
		r->running--;
		return;
	}
	if (pthread_create(&in->thread, NULL, inst_thread, in) != 0)
		BUG("cannot start a thread");
}

/* Merge an instance's result into its job. */
static void inst_done(struct run *r, struct inst *in)
{
	struct job_state *js = in->js;
	const char *k;
	json_t *v;
	struct err e = ERR_INIT;
	bool coe = false;

	pthread_join(in->thread, NULL);
	in->finished = true;
	js->n_running--;
	js->n_done++;
	r->running--;
	json_object_foreach(in->outputs, k, v)
		if (json_string_length(v) || !json_object_get(js->outputs, k))
			json_object_set(js->outputs, k, v);
	if (in->result == RES_FAILURE && js->job->continue_on_error) {
		/* only a failure asks whether it may continue */
		struct expr_env xe;
		json_t *ctx = job_contexts(r, js, in->matrix, (long)in->index);
		json_t *raw = yml_to_json(js->job->continue_on_error), *val = NULL;

		run_expr_env(&xe, r, ctx, EXPR_STATUS_SUCCESS);
		if (eval_json_templates(&val, raw, &xe, &e) == 0)
			coe = json_is_true(val) || (json_is_string(val) &&
						    !strcmp(json_string_value(val), "true"));
		json_decref(val);
		json_decref(raw);
		json_decref(ctx);
	}
	if (in->result == RES_FAILURE && !coe && js->fail_fast && !js->ff_tripped &&
	    js->n_inst > 1) {
		js->ff_tripped = true;
		for (size_t i = 0; i < js->n_inst; i++) {
			if (js->inst[i]->started && !js->inst[i]->finished)
				inst_cancel(js->inst[i], 1);
		}
	}
	if (in->result == RES_FAILURE && coe)
		json_object_set_new(in->summary, "continue_on_error", json_true());
}

static enum result job_result(struct job_state *js)
{
	bool fail = false, cancel = false, any = false;

	for (size_t i = 0; i < js->n_inst; i++) {
		struct inst *in = js->inst[i];

		if (in->result == RES_FAILURE &&
		    !json_is_true(json_object_get(in->summary, "continue_on_error")))
			fail = true;
		else if (in->result == RES_CANCELLED)
			cancel = true;
		if (in->result != RES_SKIPPED)
			any = true;
	}
	if (fail)
		return RES_FAILURE;
	if (cancel)
		return RES_CANCELLED;
	return any ? RES_SUCCESS : RES_SKIPPED;
}

/* Select the job -j names and everything it needs. */
static int select_jobs(struct run *r, const char *only, struct err *e)
{
	struct job_state *js;
	bool changed = true;

	if (!only) {
		for (size_t i = 0; i < r->n_js; i++)
			r->js[i].selected = true;
		return 0;
	}
	js = find_js(r, only);
	if (!js)
		return err_set(e, ERR_NOT_FOUND, "no job '%s' in %s", only, r->wf->path);
	js->selected = true;
	for (int rounds = 0; changed && rounds < 10000; rounds++) {
		changed = false;
		for (size_t i = 0; i < r->n_js; i++) {
			if (!r->js[i].selected)
				continue;
			for (size_t k = 0; k < r->js[i].job->n_needs; k++) {
				struct job_state *n = find_js(r, r->js[i].job->needs[k]);

				if (n && !n->selected) {
					n->selected = true;
					changed = true;
				}
			}
		}
	}
	return 0;
}

static bool needs_done(struct run *r, struct job_state *js)
{
	for (size_t i = 0; i < js->job->n_needs; i++) {
		struct job_state *n = find_js(r, js->job->needs[i]);

		if (n && n->state != JS_DONE)
			return false;
	}
	return true;
}

/* Cancel everything running; jobs not started yet see cancelled(). */
static void run_cancel(struct run *r, int level)
{
	r->cancelled = true;
	for (size_t i = 0; i < r->n_js; i++)
		for (size_t k = 0; k < r->js[i].n_inst; k++)
			if (r->js[i].inst[k]->started && !r->js[i].inst[k]->finished)
				inst_cancel(r->js[i].inst[k], level);
}

static void schedule(struct run *r)
{
	size_t order_n = r->wf->n_jobs;
	size_t *order = xcalloc(order_n ? order_n : 1, sizeof(*order));
	int max_jobs = r->o->max_jobs > 0 ? r->o->max_jobs : 1;
	bool cancel_seen = false;
	int last_level = 0;

	wf_job_order(r->wf, order);
	for (int guard = 0; guard < 1000000; guard++) {
		bool all_done = true, progress = false;

		/* activate jobs whose needs are done, in dependency order */
		for (size_t oi = 0; oi < order_n; oi++) {
			struct job_state *js = &r->js[order[oi]];

			if (!js->selected || js->state == JS_DONE)
				continue;
			all_done = false;
			if (js->state == JS_WAIT && needs_done(r, js)) {
				job_activate(r, js);
				progress = true;
			}
			if (js->state != JS_ACTIVE)
				continue;
			while (js->next < js->n_inst && r->running < max_jobs &&
			       (!js->max_parallel || (long)js->n_running < js->max_parallel)) {
				struct inst *in = js->inst[js->next++];

				if (js->ff_tripped || (r->cancelled && !r->o->dry_run)) {
					in->result = RES_CANCELLED;
					jsonx_set_str(in->summary, "result", "cancelled");
					in->finished = true;
					js->n_done++;
					continue;
				}
				inst_start(r, in);
				progress = true;
			}
			if (js->n_done == js->n_inst) {
				job_finish(r, js, job_result(js));
				progress = true;
			}
		}
		if (all_done)
			break;
		if (progress)
			continue;
		if (r->o->dry_run && !r->running) {
			/* nothing can block a dry run; a job left waiting has an
			 * unselected need */
			for (size_t i = 0; i < r->n_js; i++)
				if (r->js[i].selected && r->js[i].state != JS_DONE)
					skip_job(r, &r->js[i], RES_SKIPPED, "its needs did not run");
			continue;
		}
		/* wait for an instance to end or a cancel */
		{
			struct pollfd p[2] = {
				{ .fd = r->ev_pipe[0], .events = POLLIN },
				{ .fd = cancel_seen ? -1 : r->cancel_fd, .events = POLLIN },
			};
			int pr = poll(p, 2, 1000);

			if (pr < 0 && errno != EINTR)
				BUG("poll: %s", strerror(errno));
			if (r->cancel_fd >= 0 && !cancel_seen && (p[1].revents & POLLIN)) {
				cancel_seen = r->prefix[0] != '\0';	/* nested: level-triggered */
				if (!r->prefix[0]) {
					char drain[64];

					while (read(r->cancel_fd, drain, sizeof(drain)) > 0)
						;
				}
			}
			{
				int lvl = r->prefix[0] ? (cancel_seen ? 1 : 0) : cancel_level();

				if (lvl > last_level) {
					if (last_level == 0)
						say(r, OUT_WARN, "cancelling: running steps are stopped, "
						    "always() steps still run (again to stop those too)");
					last_level = lvl;
					run_cancel(r, lvl >= 2 ? 2 : 1);
				}
			}
			if (p[0].revents & POLLIN) {
				size_t idx;

				if (read(r->ev_pipe[0], &idx, sizeof(idx)) == sizeof(idx))
					inst_done(r, (struct inst *)idx);
			}
		}
	}
	free(order);
}

static void run_release(struct run *r)
{
	for (size_t i = 0; i < r->n_js; i++) {
		for (size_t k = 0; k < r->js[i].n_inst; k++)
			inst_free(r->js[i].inst[k]);
		free(r->js[i].inst);
		json_decref(r->js[i].outputs);
		json_decref(r->js[i].needs_ctx);
		json_decref(r->js[i].github);
		free(r->js[i].matrix_expr);
	}
	free(r->js);
	if (r->ev_pipe[0] >= 0) {
		close(r->ev_pipe[0]);
		close(r->ev_pipe[1]);
	}
	json_decref(r->github);
	pthread_mutex_destroy(&r->mu);
}

/* Shared with reusable.c through run_workflow_nested. */
int run_workflow_nested(json_t **summary, json_t **jobs_ctx,
			const struct workflow *wf, const struct run_opts *o,
			json_t *github, json_t *call_inputs, const char *prefix,
			int cancel_fd, struct err *e);

int run_workflow_nested(json_t **summary, json_t **jobs_ctx,
			const struct workflow *wf, const struct run_opts *o,
			json_t *github, json_t *call_inputs, const char *prefix,
			int cancel_fd, struct err *e)
{
	struct run r = { 0 };
	json_t *sum = json_object(), *jobs = json_array(), *jctx = json_object();
	enum result res = RES_SUCCESS;
	bool any = false;
	int ret = -1;

	r.o = o;
	r.wf = wf;
	r.prefix = prefix ? prefix : "";
	r.cancel_fd = cancel_fd;
	r.call_inputs = call_inputs;
	r.ev_pipe[0] = r.ev_pipe[1] = -1;
	pthread_mutex_init(&r.mu, NULL);
	if (github) {
		r.github = json_incref(github);
	} else if (ctx_github(&r.github, wf, o, e) < 0) {
		goto done;
	}
	if (pipe2(r.ev_pipe, O_CLOEXEC) < 0) {
		err_sys(e, ERR_INTERNAL, "pipe");
		goto done;
	}
	r.n_js = wf->n_jobs;
	r.js = xcalloc(r.n_js ? r.n_js : 1, sizeof(*r.js));
	for (size_t i = 0; i < r.n_js; i++) {
		r.js[i].job = &wf->jobs[i];
		r.js[i].outputs = json_object();
		r.js[i].result = RES_SKIPPED;
	}
	if (select_jobs(&r, prefix && *prefix ? NULL : o->only_job, e) < 0)
		goto done;
	schedule(&r);

	for (size_t i = 0; i < r.n_js; i++) {
		struct job_state *js = &r.js[i];
		json_t *jc;

		if (!js->selected)
			continue;
		jc = json_object();
		for (size_t k = 0; k < js->n_inst; k++)
			json_array_append(jobs, js->inst[k]->summary);
		jsonx_set_str(jc, "result", result_name(js->result));
		json_object_set(jc, "outputs", js->outputs);
		json_object_set_new(jctx, js->job->id, jc);
		if (js->result == RES_FAILURE)
			res = RES_FAILURE;
		else if (js->result == RES_CANCELLED && res != RES_FAILURE)
			res = RES_CANCELLED;
		if (js->result != RES_SKIPPED)
			any = true;
	}
	if (r.cancelled && res == RES_SUCCESS)
		res = RES_CANCELLED;
	if (!any && res == RES_SUCCESS)
		res = RES_SKIPPED;
	{
		const char *wfname = json_string_value(json_object_get(r.github, "workflow"));

		jsonx_set_str(sum, "workflow", wfname ? wfname : wf->path);
	}
	jsonx_set_str(sum, "path", wf->path);
	jsonx_set_str(sum, "event", o->event_name);
	/* a plan is "planned", unless planning a step failed (it would fail) */
	jsonx_set_str(sum, "result", o->dry_run && res != RES_FAILURE ? "planned" :
		      result_name(res));
	json_object_set(sum, "jobs", jobs);
	*summary = sum;
	sum = NULL;
	if (jobs_ctx) {
		*jobs_ctx = jctx;
		jctx = NULL;
	}
	ret = 0;
done:
	json_decref(sum);
	json_decref(jobs);
	json_decref(jctx);
	run_release(&r);
	return ret;
}

int run_workflow(json_t **summary, const struct workflow *wf,
		 const struct run_opts *o, struct err *e)
{
	cancel_init();
	return run_workflow_nested(summary, NULL, wf, o, NULL, NULL, NULL,
				   cancel_pipe[0], e);
}
