/*
 * validate_jobs: the checks of a workflow's jobs: section (each job's
 * keys, runs-on, container and services, strategy and matrix, environment,
 * reusable-workflow calls) and of each job's steps, duplicate step ids
 * included. Part of validate: wfv_check() calls val_check_jobs(), and the
 * helpers come from validate.c through validate.h. Needs and cycles are
 * checked in workflow.c, which owns the job graph.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/util.h"
#include "validate.h"

static const struct val_place
	P_J_CONC = { S_JOB, "jobs.<job_id>.concurrency", false },
	P_J_CONT = { S_JOB, "jobs.<job_id>.container", false },
	P_J_CONT_IMG = { S_JOB, "jobs.<job_id>.container.image", false },
	P_J_CONT_CRED = { S_JOB | C_ENV | C_SECRETS,
			  "jobs.<job_id>.container.credentials", false },
	P_J_CONT_ENV = { S_JOB | C_JOB | C_RUNNER | C_ENV | C_SECRETS,
			 "jobs.<job_id>.container.env.<env_id>", false },
	P_J_SVC = { S_JOB, "jobs.<job_id>.services", false },
	P_J_SVC_CRED = { S_JOB | C_ENV | C_SECRETS,
			 "jobs.<job_id>.services.<service_id>.credentials",
			 false },
	P_J_SVC_ENV = { S_JOB | C_JOB | C_RUNNER | C_ENV | C_SECRETS,
			"jobs.<job_id>.services.<service_id>.env.<env_id>",
			false },
	P_J_COE = { S_JOB, "jobs.<job_id>.continue-on-error", false },
	P_J_DEFAULTS = { S_JOB | C_ENV, "jobs.<job_id>.defaults.run", false },
	P_J_ENV = { S_JOB | C_SECRETS, "jobs.<job_id>.env", false },
	P_J_ENVIRONMENT = { S_JOB, "jobs.<job_id>.environment", false },
	P_J_ENV_URL = { S_JOB | C_JOB | C_RUNNER | C_ENV | C_STEPS,
			"jobs.<job_id>.environment.url", false },
	P_J_IF = { S_JOB_IF, "jobs.<job_id>.if", true },
	P_J_NAME = { S_JOB, "jobs.<job_id>.name", false },
	P_J_OUTPUTS = { S_STEP, "jobs.<job_id>.outputs.<output_id>", false },
	P_J_RUNS_ON = { S_JOB, "jobs.<job_id>.runs-on", false },
	P_J_SECRETS = { S_JOB | C_SECRETS, "jobs.<job_id>.secrets.<secrets_id>",
			false },
	P_J_STRATEGY = { S_JOB_IF, "jobs.<job_id>.strategy", false },
	P_J_TIMEOUT = { S_JOB, "jobs.<job_id>.timeout-minutes", false },
	P_J_WITH = { S_JOB, "jobs.<job_id>.with.<with_id>", false },
	P_S_COE = { S_STEP, "jobs.<job_id>.steps.continue-on-error", false },
	P_S_ENV = { S_STEP, "jobs.<job_id>.steps.env", false },
	P_S_IF = { S_STEP & ~C_SECRETS, "jobs.<job_id>.steps.if", true },
	P_S_NAME = { S_STEP, "jobs.<job_id>.steps.name", false },
	P_S_RUN = { S_STEP, "jobs.<job_id>.steps.run", false },
	P_S_SHELL = { S_STEP, "jobs.<job_id>.steps.shell", false },
	P_S_TIMEOUT = { S_STEP, "jobs.<job_id>.steps.timeout-minutes", false },
	P_S_WITH = { S_STEP, "jobs.<job_id>.steps.with", false },
	P_S_WD = { S_STEP, "jobs.<job_id>.steps.working-directory", false };

static void check_container(struct val_state *v, const struct yml_node *n,
			    const char *name, bool service)
{
	static const char *const keys[] = {
		"image", "credentials", "env", "ports", "volumes", "options",
		NULL,
	};
	static const char *const cred_keys[] = { "username", "password", NULL };
	const struct val_place *pl = service ? &P_J_SVC : &P_J_CONT;
	const struct yml_node *cred;
	char where[96];

	if (!service && val_is_str(n)) {
		val_check_tmpl(v, n, pl);
		return;
	}
	if (n->kind != YML_MAP) {
		val_bad_type(v, n, name, service ? "a mapping" :
			     "an image name or a mapping");
		return;
	}
	snprintf(where, sizeof(where), "in '%.80s'", name);
	val_check_keys(v, n, keys, where);
	if (!yml_get(n, "image"))
		val_diag(v, n, "'%s' needs an image", name);
	val_check_str(v, yml_get(n, "image"), "image",
		      service ? &P_J_SVC : &P_J_CONT_IMG);
	cred = yml_get(n, "credentials");
	if (cred && cred->kind != YML_MAP) {
		val_bad_type(v, cred, "credentials", "a mapping");
	} else if (cred) {
		val_check_keys(v, cred, cred_keys, "in 'credentials'");
		val_check_tree_tmpl(v, cred, service ? &P_J_SVC_CRED :
				    &P_J_CONT_CRED, 0);
	}
	val_check_str_map(v, yml_get(n, "env"), "env",
			  service ? &P_J_SVC_ENV : &P_J_CONT_ENV, false);
	val_check_str_seq(v, yml_get(n, "ports"), "ports", pl);
	val_check_str_seq(v, yml_get(n, "volumes"), "volumes", pl);
	val_check_str(v, yml_get(n, "options"), "options", pl);
}

static void check_runs_on(struct val_state *v, const struct yml_node *n)
{
	static const char *const keys[] = { "group", "labels", NULL };

	if (!n)
		return;
	if (n->kind == YML_MAP) {
		val_check_keys(v, n, keys, "in 'runs-on'");
		val_check_str(v, yml_get(n, "group"), "group", &P_J_RUNS_ON);
		val_check_str_seq(v, yml_get(n, "labels"), "labels",
				  &P_J_RUNS_ON);
	} else if (n->kind == YML_SEQ || val_is_str(n)) {
		val_check_str_seq(v, n, "runs-on", &P_J_RUNS_ON);
	} else {
		val_bad_type(v, n, "runs-on", "a label, a sequence of labels "
			     "or a mapping with group and labels");
	}
}

static void check_matrix(struct val_state *v, const struct yml_node *m)
{
	size_t i, k;

	if (!m)
		return;
	if (val_has_expr(m)) {
		val_check_tmpl(v, m, &P_J_STRATEGY);
		return;
	}
	if (m->kind != YML_MAP) {
		val_bad_type(v, m, "matrix", "a mapping or an expression");
		return;
	}
	for (i = 0; i < m->n_pairs; i++) {
		const char *dim = m->pairs[i].key->str;
		const struct yml_node *val = m->pairs[i].val;
		bool ie = !strcmp(dim, "include") || !strcmp(dim, "exclude");

		if (val_has_expr(val)) {
			val_check_tmpl(v, val, &P_J_STRATEGY);
			continue;
		}
		if (val->kind != YML_SEQ) {
			if (ie)
				val_bad_type(v, val, dim, "a sequence of "
					     "mappings or an expression");
			else
				val_diag(v, val, "matrix dimension '%s' must "
					 "be a sequence or an expression, "
					 "not %s", dim, val_kind(val));
			continue;
		}
		if (!ie && val->n_items == 0)
			val_diag(v, val, "matrix dimension '%s' has no values",
				 dim);
		for (k = 0; ie && k < val->n_items; k++)
			if (val->items[k]->kind != YML_MAP &&
			    !val_has_expr(val->items[k]))
				val_diag(v, val->items[k], "items of '%s' "
					 "must be mappings, not %s", dim,
					 val_kind(val->items[k]));
		val_check_tree_tmpl(v, val, &P_J_STRATEGY, 0);
	}
}

static void check_strategy(struct val_state *v, const struct yml_node *n)
{
	static const char *const keys[] = {
		"matrix", "fail-fast", "max-parallel", NULL,
	};

	if (!n)
		return;
	if (n->kind != YML_MAP) {
		val_bad_type(v, n, "strategy", "a mapping");
		return;
	}
	val_check_keys(v, n, keys, "in 'strategy'");
	check_matrix(v, yml_get(n, "matrix"));
	val_check_bool(v, yml_get(n, "fail-fast"), "fail-fast", &P_J_STRATEGY);
	val_check_num(v, yml_get(n, "max-parallel"), "max-parallel",
		      &P_J_STRATEGY);
}

static const char *const step_keys[] = {
	"id", "name", "if", "run", "shell", "working-directory", "env",
	"uses", "with", "continue-on-error", "timeout-minutes", NULL,
};

static void check_step(struct val_state *v, const char *job, size_t idx,
		       const struct yml_node *s)
{
	const struct yml_node *run, *uses, *id;
	char where[160];

	if (s->kind != YML_MAP) {
		val_diag(v, s, "step %zu of job '%s' must be a mapping, not %s",
			 idx, job, val_kind(s));
		return;
	}
	snprintf(where, sizeof(where), "in step %zu of job '%.100s'", idx,
		 job);
	val_check_keys(v, s, step_keys, where);
	run = yml_get(s, "run");
	uses = yml_get(s, "uses");
	if (run && uses)
		val_diag(v, s, "step must have either run or uses, not both");
	else if (!run && !uses)
		val_diag(v, s, "step must have either run or uses");
	if (!uses && yml_get(s, "with"))
		val_diag(v, yml_get_key(s, "with"), "'with' is only allowed "
			 "in a step with uses");
	if (!run && yml_get(s, "shell"))
		val_diag(v, yml_get_key(s, "shell"), "'shell' is only allowed "
			 "in a step with run");
	if (!run && yml_get(s, "working-directory"))
		val_diag(v, yml_get_key(s, "working-directory"), "'working-"
			 "directory' is only allowed in a step with run");
	id = yml_get(s, "id");
	if (id && (!val_is_str(id) || !wfv_is_id(id->str)))
		val_diag(v, id, "step id '%s' must start with a letter or '_' "
			 "and contain only letters, digits, '-' and '_'",
			 id->kind == YML_SCALAR ? id->str : val_kind(id));
	val_check_if(v, yml_get(s, "if"), &P_S_IF);
	val_check_str(v, yml_get(s, "name"), "name", &P_S_NAME);
	val_check_str(v, run, "run", &P_S_RUN);
	val_check_str(v, yml_get(s, "shell"), "shell", &P_S_SHELL);
	val_check_str(v, yml_get(s, "working-directory"), "working-directory",
		      &P_S_WD);
	val_check_str_map(v, yml_get(s, "env"), "env", &P_S_ENV, true);
	val_check_str_map(v, yml_get(s, "with"), "with", &P_S_WITH, false);
	val_check_bool(v, yml_get(s, "continue-on-error"), "continue-on-error",
		       &P_S_COE);
	val_check_num(v, yml_get(s, "timeout-minutes"), "timeout-minutes",
		      &P_S_TIMEOUT);
	val_check_uses(v, uses);
}

static int cmp_id_node(const void *a, const void *b)
{
	const struct yml_node *x = *(const struct yml_node *const *)a;
	const struct yml_node *y = *(const struct yml_node *const *)b;
	int c = strcmp(x->str, y->str);

	if (c)
		return c;
	if (x->pos.line != y->pos.line)
		return x->pos.line < y->pos.line ? -1 : 1;
	return x->pos.col < y->pos.col ? -1 : x->pos.col > y->pos.col;
}

static void check_steps(struct val_state *v, const char *job,
			const struct yml_node *n)
{
	const struct yml_node **ids;
	size_t i, nid = 0, first = 0;

	if (n->kind != YML_SEQ) {
		val_bad_type(v, n, "steps", "a sequence");
		return;
	}
	if (n->n_items == 0)
		val_diag(v, n, "job '%s' has no steps", job);
	ids = xcalloc(n->n_items + 1, sizeof(*ids));
	for (i = 0; i < n->n_items; i++) {
		const struct yml_node *id = yml_get(n->items[i], "id");

		check_step(v, job, i + 1, n->items[i]);
		if (val_is_str(id))
			ids[nid++] = id;
	}
	/* Duplicates sort next to each other, the first one first. */
	qsort(ids, nid, sizeof(*ids), cmp_id_node);
	for (i = 1; i < nid; i++) {
		if (strcmp(ids[i]->str, ids[first]->str)) {
			first = i;
			continue;
		}
		val_diag(v, ids[i], "duplicate step id '%s', first at line %d",
			 ids[i]->str, ids[first]->pos.line);
	}
	free(ids);
}

static const char *const job_keys[] = {
	"name", "permissions", "needs", "if", "runs-on", "snapshot",
	"environment", "concurrency", "outputs", "env", "defaults", "steps",
	"timeout-minutes", "strategy", "continue-on-error", "container",
	"services", "uses", "with", "secrets", NULL,
};
/* What a job that calls a reusable workflow may have. */
static const char *const call_job_keys[] = {
	"name", "uses", "with", "secrets", "needs", "if", "permissions",
	"strategy", "concurrency", NULL,
};

static void check_environment(struct val_state *v, const struct yml_node *n)
{
	static const char *const keys[] = { "name", "url", NULL };

	if (!n)
		return;
	if (val_is_str(n)) {
		val_check_tmpl(v, n, &P_J_ENVIRONMENT);
		return;
	}
	if (n->kind != YML_MAP) {
		val_bad_type(v, n, "environment", "a name or a mapping");
		return;
	}
	val_check_keys(v, n, keys, "in 'environment'");
	if (!yml_get(n, "name"))
		val_diag(v, n, "'environment' needs a name");
	val_check_str(v, yml_get(n, "name"), "name", &P_J_ENVIRONMENT);
	val_check_str(v, yml_get(n, "url"), "url", &P_J_ENV_URL);
}

static void check_job_shape(struct val_state *v, const struct yml_node *key,
			    const struct yml_node *job)
{
	const char *id = key->str;
	const struct yml_node *uses = yml_get(job, "uses");
	const struct yml_node *steps = yml_get(job, "steps");
	size_t i;

	if (uses && steps) {
		val_diag(v, yml_get_key(job, "uses"), "job '%s' has both steps "
			 "and uses; a job runs steps or calls a reusable "
			 "workflow", id);
	} else if (!uses && !steps) {
		val_diag(v, key, "job '%s' has neither steps nor uses", id);
	} else if (steps) {
		if (!yml_get(job, "runs-on"))
			val_diag(v, key, "job '%s' has no runs-on", id);
		if (yml_get(job, "with"))
			val_diag(v, yml_get_key(job, "with"), "'with' is "
				 "only allowed in a job that calls a reusable "
				 "workflow");
		if (yml_get(job, "secrets"))
			val_diag(v, yml_get_key(job, "secrets"), "'secrets' is "
				 "only allowed in a job that calls a reusable "
				 "workflow");
	} else {
		for (i = 0; i < job->n_pairs; i++) {
			const struct yml_node *k = job->pairs[i].key;

			if (val_in_list(k->str, job_keys) &&
			    !val_in_list(k->str, call_job_keys))
				val_diag(v, k, "'%s' is not allowed in job "
					 "'%s', which calls a reusable "
					 "workflow", k->str, id);
		}
	}
}

static void check_job(struct val_state *v, const struct yml_node *key,
		      const struct yml_node *job)
{
	const char *id = key->str;
	const struct yml_node *n;
	char where[128];
	size_t i;

	if (!wfv_is_id(id))
		val_diag(v, key, "job id '%s' must start with a letter or '_' "
			 "and contain only letters, digits, '-' and '_'", id);
	if (job->kind != YML_MAP) {
		val_diag(v, job, "job '%s' must be a mapping, not %s", id,
			 val_kind(job));
		return;
	}
	snprintf(where, sizeof(where), "in job '%.100s'", id);
	val_check_keys(v, job, job_keys, where);
	check_job_shape(v, key, job);
	val_check_str(v, yml_get(job, "name"), "name", &P_J_NAME);
	val_check_permissions(v, yml_get(job, "permissions"));
	n = yml_get(job, "needs");
	if (n && !val_is_str(n) && n->kind != YML_SEQ)
		val_bad_type(v, n, "needs",
			     "a job id or a sequence of job ids");
	else
		val_check_str_seq(v, n, "needs", NULL);
	val_check_if(v, yml_get(job, "if"), &P_J_IF);
	check_runs_on(v, yml_get(job, "runs-on"));
	n = yml_get(job, "snapshot");
	if (n && !val_is_str(n) && n->kind != YML_MAP)
		val_bad_type(v, n, "snapshot", "an image name or a mapping");
	check_environment(v, yml_get(job, "environment"));
	val_check_concurrency(v, yml_get(job, "concurrency"), &P_J_CONC);
	val_check_str_map(v, yml_get(job, "outputs"), "outputs", &P_J_OUTPUTS,
			  false);
	val_check_str_map(v, yml_get(job, "env"), "env", &P_J_ENV, true);
	val_check_defaults(v, yml_get(job, "defaults"), &P_J_DEFAULTS);
	val_check_num(v, yml_get(job, "timeout-minutes"), "timeout-minutes",
		      &P_J_TIMEOUT);
	check_strategy(v, yml_get(job, "strategy"));
	val_check_bool(v, yml_get(job, "continue-on-error"),
		       "continue-on-error", &P_J_COE);
	n = yml_get(job, "container");
	if (n)
		check_container(v, n, "container", false);
	n = yml_get(job, "services");
	if (n && n->kind != YML_MAP)
		val_bad_type(v, n, "services", "a mapping");
	for (i = 0; n && n->kind == YML_MAP && i < n->n_pairs; i++)
		check_container(v, n->pairs[i].val, n->pairs[i].key->str, true);
	val_check_uses(v, yml_get(job, "uses"));
	val_check_str_map(v, yml_get(job, "with"), "with", &P_J_WITH, false);
	n = yml_get(job, "secrets");
	if (n && !(val_is_str(n) && !strcmp(n->str, "inherit")))
		val_check_str_map(v, n, "secrets", &P_J_SECRETS, false);
	n = yml_get(job, "steps");
	if (n)
		check_steps(v, id, n);
}

void val_check_jobs(struct val_state *v, const struct yml_node *jobs,
		    const struct yml_node *root)
{
	size_t i;

	if (!jobs) {
		val_diag(v, root, "workflow has no jobs");
		return;
	}
	if (jobs->kind != YML_MAP) {
		if (yml_is_null(jobs))
			val_diag(v, jobs, "workflow has no jobs");
		else
			val_bad_type(v, jobs, "jobs", "a mapping");
		return;
	}
	if (jobs->n_pairs == 0)
		val_diag(v, jobs, "workflow has no jobs");
	for (i = 0; i < jobs->n_pairs; i++)
		check_job(v, jobs->pairs[i].key, jobs->pairs[i].val);
}
