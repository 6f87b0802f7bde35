/*
 * validate: the workflow schema, checked node by node.
 *
 * Each check function takes a node that may be of any kind (or NULL when
 * the key is absent) and adds a diagnostic for each problem: the key node
 * for an unknown key, the value node for a wrong type. Checks never stop at
 * the first problem. Expressions are checked where GitHub evaluates them,
 * against the context availability table of GitHub's contexts reference
 * (struct place below carries one row of it).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "../lib/util.h"
#include "expr.h"
#include "validate.h"

enum {
	C_GITHUB = 1 << 0, C_ENV = 1 << 1, C_VARS = 1 << 2,
	C_SECRETS = 1 << 3, C_JOB = 1 << 4, C_JOBS = 1 << 5,
	C_STEPS = 1 << 6, C_RUNNER = 1 << 7, C_STRATEGY = 1 << 8,
	C_MATRIX = 1 << 9, C_NEEDS = 1 << 10, C_INPUTS = 1 << 11,
};

/* In the order of the bits above. */
static const char *const ctx_names[] = {
	"github", "env", "vars", "secrets", "job", "jobs", "steps",
	"runner", "strategy", "matrix", "needs", "inputs",
};

#define S_WF (C_GITHUB | C_INPUTS | C_VARS)
#define S_JOB (C_GITHUB | C_NEEDS | C_STRATEGY | C_MATRIX | C_INPUTS | C_VARS)
#define S_JOB_IF (C_GITHUB | C_NEEDS | C_VARS | C_INPUTS)
#define S_STEP (S_JOB | C_JOB | C_RUNNER | C_ENV | C_SECRETS | C_STEPS)

/* Where an expression is: the contexts it may read, GitHub's name for the
 * key, and whether status functions (success() ...) may be called. */
struct place {
	unsigned ctx;
	const char *key;
	bool is_if;
};

static const struct place
	P_RUN_NAME = { S_WF, "run-name", false },
	P_CONC = { S_WF, "concurrency", false },
	P_ENV = { S_WF | C_SECRETS, "env", false },
	/* Not in GitHub's table; the job-level row without job contexts. */
	P_DEFAULTS = { S_WF | C_ENV, "defaults.run", false },
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
	P_S_WD = { S_STEP, "jobs.<job_id>.steps.working-directory", false },
	P_CALL_DEFAULT = { S_WF, "on.workflow_call.inputs.<inputs_id>.default",
			   false },
	P_CALL_OUT = { C_GITHUB | C_JOBS | C_VARS | C_INPUTS,
		       "on.workflow_call.outputs.<output_id>.value", false };

struct v {
	struct wf_diags *d;
	const struct wf_load_opts *opts;
	const struct wfv_src *src;
	const char *dir;
};

static void diag(struct v *v, const struct yml_node *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void diag(struct v *v, const struct yml_node *n, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	wf_diag_add(v->d, &n->pos, "%s", b.ptr);
	buf_release(&b);
}

/* "a mapping", "a string", "null": the node's kind inside a sentence. */
static const char *kind(const struct yml_node *n)
{
	const char *k = yml_kind_name(n);

	if (!strcmp(k, "null"))
		return "null";
	if (!strcmp(k, "sequence"))
		return "a sequence";
	if (!strcmp(k, "mapping"))
		return "a mapping";
	if (!strcmp(k, "number"))
		return "a number";
	if (!strcmp(k, "boolean"))
		return "a boolean";
	return "a string";
}

static bool is_str(const struct yml_node *n)
{
	return n && n->kind == YML_SCALAR && !yml_is_null(n);
}

static bool has_expr(const struct yml_node *n)
{
	return n && n->kind == YML_SCALAR && strstr(n->str, "${{");
}

static void bad_type(struct v *v, const struct yml_node *n, const char *name,
		     const char *want)
{
	diag(v, n, "'%s' must be %s, not %s", name, want, kind(n));
}

int wfv_is_id(const char *s)
{
	size_t i;

	if (!s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    *s == '_'))
		return 0;
	for (i = 1; s[i]; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

/* ---- positions inside scalars ---- */

/* Leading blanks of the first non-blank line from line (1-based) on. */
static int block_indent(const struct wfv_src *src, int line)
{
	size_t l;

	for (l = (size_t)line - 1; l < src->n_lines; l++) {
		size_t i = src->line_off[l], start = i;

		while (i < src->len && src->data[i] == ' ')
			i++;
		if (i < src->len && src->data[i] != '\n' && src->data[i] != '\r')
			return (int)(i - start);
	}
	return 0;
}

void wfv_pos_in(struct yml_pos *out, const struct wfv_src *src,
		const struct yml_node *n, size_t off)
{
	size_t i, nl = 0, ls = 0;

	*out = n->pos;
	if (n->kind != YML_SCALAR)
		return;
	if (off > n->len)
		off = n->len;
	for (i = 0; i < off; i++) {
		if (n->str[i] == '\n') {
			nl++;
			ls = i + 1;
		}
	}
	if (n->style == YML_BLOCK && src && src->line_off) {
		/* Content starts on the line after the | or > indicator. */
		out->line = n->pos.line + 1 + (int)nl;
		out->col = block_indent(src, n->pos.line + 1) + 1 +
			(int)(off - ls);
		return;
	}
	if (nl > 0 && src && src->line_off) {
		/* A quoted string over several lines: best effort. */
		out->line = n->pos.line + (int)nl;
		out->col = block_indent(src, out->line) + 1 + (int)(off - ls);
		return;
	}
	out->col = n->pos.col + (int)off + (n->style == YML_QUOTED ? 1 : 0);
}

/* ---- unknown keys ---- */

/* Levenshtein distance, capped: strings over 64 bytes count as far. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[65], i, j;

	if (la > 64 || lb > 64)
		return 99;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diagv = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j], best;

			best = diagv + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diagv = up;
			row[j] = best;
		}
	}
	return row[lb];
}

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

/* The closest entry of list to s when it is close enough to be a typo. */
static const char *suggest(const char *s, const char *const *list)
{
	const char *best = NULL;
	size_t bd = 3;

	for (; *list; list++) {
		size_t dist = edit_distance(s, *list);

		if (dist < bd && dist < strlen(s)) {
			bd = dist;
			best = *list;
		}
	}
	return best;
}

static void unknown(struct v *v, const struct yml_node *key,
		    const char *what, const char *where,
		    const char *const *list)
{
	const char *s = suggest(key->str, list);

	if (s)
		diag(v, key, "unknown %s '%s'%s%s; did you mean '%s'?", what,
		     key->str, where[0] ? " " : "", where, s);
	else
		diag(v, key, "unknown %s '%s'%s%s", what, key->str,
		     where[0] ? " " : "", where);
}

static void check_keys(struct v *v, const struct yml_node *map,
		       const char *const *keys, const char *where)
{
	size_t i;

	if (!map || map->kind != YML_MAP)
		return;
	for (i = 0; i < map->n_pairs; i++)
		if (!in_list(map->pairs[i].key->str, keys))
			unknown(v, map->pairs[i].key, "key", where, keys);
}

/* ---- expressions ---- */

struct xcb {
	struct v *v;
	const struct yml_node *n;
	const struct place *pl;
};

static int check_contexts(const struct expr *x, size_t off, void *ud)
{
	struct xcb *cb = ud;
	struct yml_pos pos;
	char **names = NULL;
	size_t n = 0, i, k;

	wfv_pos_in(&pos, cb->v->src, cb->n, off);
	if (!cb->pl->is_if && expr_has_status_function(x))
		wf_diag_add(cb->v->d, &pos, "status functions (success, "
			    "failure, always, cancelled) are only allowed in "
			    "if, not in '%s'", cb->pl->key);
	if (expr_contexts_used(&names, &n, x))
		return 0;
	for (i = 0; i < n; i++) {
		for (k = 0; k < ARRAY_SIZE(ctx_names); k++)
			if (!strcmp(names[i], ctx_names[k]))
				break;
		if (k == ARRAY_SIZE(ctx_names))
			wf_diag_add(cb->v->d, &pos, "unknown context '%s'",
				    names[i]);
		else if (!(cb->pl->ctx & (1u << k)))
			wf_diag_add(cb->v->d, &pos, "context '%s' is not "
				    "available in '%s'", names[i],
				    cb->pl->key);
		free(names[i]);
	}
	free(names);
	return 0;
}

/* A scalar that may hold ${{ }}: syntax, then contexts. */
static void check_tmpl(struct v *v, const struct yml_node *n,
		       const struct place *pl)
{
	struct err e = ERR_INIT;
	struct xcb cb = { v, n, pl };
	struct yml_pos pos;
	size_t off = 0;

	if (!has_expr(n))
		return;
	if (expr_check_template(n->str, &off, &e)) {
		wfv_pos_in(&pos, v->src, n, off);
		wf_diag_add(v->d, &pos, "%s", e.msg);
		return;
	}
	expr_each_in_template(n->str, check_contexts, &cb, &e);
}

/* Every scalar under n (values of mappings, items of sequences). */
static void check_tree_tmpl(struct v *v, const struct yml_node *n,
			    const struct place *pl, int depth)
{
	size_t i;

	if (!n || depth > 64)
		return;
	if (n->kind == YML_SCALAR)
		check_tmpl(v, n, pl);
	for (i = 0; i < n->n_items; i++)
		check_tree_tmpl(v, n->items[i], pl, depth + 1);
	for (i = 0; i < n->n_pairs; i++)
		check_tree_tmpl(v, n->pairs[i].val, pl, depth + 1);
}

/* if: a condition with or without ${{ }}. */
static void check_if(struct v *v, const struct yml_node *n,
		     const struct place *pl)
{
	struct err e = ERR_INIT;
	struct xcb cb = { v, n, pl };
	struct yml_pos pos;
	struct expr *x = NULL;
	size_t off = 0;

	if (!n)
		return;
	if (n->kind != YML_SCALAR) {
		bad_type(v, n, "if", "a string");
		return;
	}
	if (yml_is_null(n))
		return;
	if (expr_check_if(n->str, &off, &e)) {
		wfv_pos_in(&pos, v->src, n, off);
		wf_diag_add(v->d, &pos, "%s", e.msg);
		return;
	}
	if (strstr(n->str, "${{")) {
		expr_each_in_template(n->str, check_contexts, &cb, &e);
		return;
	}
	if (n->str[strspn(n->str, " \t\r\n")] == '\0')
		return;
	if (expr_parse(&x, n->str, n->len, &e) == 0)
		check_contexts(x, 0, &cb);
	expr_free(x);
}

/* ---- value shapes ---- */

static void check_str(struct v *v, const struct yml_node *n, const char *name,
		      const struct place *pl)
{
	if (!n)
		return;
	if (n->kind != YML_SCALAR) {
		bad_type(v, n, name, "a string");
		return;
	}
	if (pl)
		check_tmpl(v, n, pl);
}

static void check_num(struct v *v, const struct yml_node *n, const char *name,
		      const struct place *pl)
{
	double d;

	if (!n)
		return;
	if (has_expr(n))
		check_tmpl(v, n, pl);
	else if (n->kind != YML_SCALAR || n->style != YML_PLAIN ||
		 yml_number(n, &d))
		bad_type(v, n, name, "a number or an expression");
}

static void check_bool(struct v *v, const struct yml_node *n,
		       const char *name, const struct place *pl)
{
	bool b;

	if (!n)
		return;
	if (has_expr(n))
		check_tmpl(v, n, pl);
	else if (n->kind != YML_SCALAR || n->style != YML_PLAIN ||
		 yml_bool(n, &b))
		bad_type(v, n, name, "a boolean or an expression");
}

/* A mapping of names to strings (env, with, outputs, secrets); with
 * allow_expr, a whole-mapping ${{ }} string too. */
static void check_str_map(struct v *v, const struct yml_node *n,
			  const char *name, const struct place *pl,
			  bool allow_expr)
{
	size_t i;

	if (!n)
		return;
	if (allow_expr && has_expr(n)) {
		check_tmpl(v, n, pl);
		return;
	}
	if (n->kind != YML_MAP) {
		bad_type(v, n, name, allow_expr ? "a mapping or an expression"
			 : "a mapping");
		return;
	}
	for (i = 0; i < n->n_pairs; i++) {
		const struct yml_node *val = n->pairs[i].val;

		if (val->kind != YML_SCALAR)
			diag(v, val, "value of '%s' in '%s' must be a string, "
			     "number or boolean, not %s",
			     n->pairs[i].key->str, name, kind(val));
		else
			check_tmpl(v, val, pl);
	}
}

/* A string or a sequence of strings (filters, labels, needs). */
static void check_str_seq(struct v *v, const struct yml_node *n,
			  const char *name, const struct place *pl)
{
	size_t i;

	if (!n)
		return;
	if (is_str(n)) {
		if (pl)
			check_tmpl(v, n, pl);
		return;
	}
	if (n->kind != YML_SEQ) {
		bad_type(v, n, name, "a string or a sequence of strings");
		return;
	}
	for (i = 0; i < n->n_items; i++) {
		if (!is_str(n->items[i]))
			diag(v, n->items[i], "items of '%s' must be strings, "
			     "not %s", name, kind(n->items[i]));
		else if (pl)
			check_tmpl(v, n->items[i], pl);
	}
}

static void check_uses(struct v *v, const struct yml_node *n)
{
	struct err e = ERR_INIT;

	if (!n)
		return;
	if (!is_str(n)) {
		bad_type(v, n, "uses", "a string");
		return;
	}
	if (strstr(n->str, "${{")) {
		diag(v, n, "'uses' cannot contain an expression");
		return;
	}
	if (v->opts && v->opts->check_uses &&
	    v->opts->check_uses(n->str, v->dir, v->opts->ud, &e))
		diag(v, n, "%s", e.msg[0] ? e.msg : "uses: not accepted");
}

/* ---- shared sections: permissions, concurrency, defaults ---- */

static const char *const perm_scopes[] = {
	"actions", "artifact-metadata", "attestations", "checks", "contents",
	"deployments", "discussions", "id-token", "issues", "models",
	"packages", "pages", "pull-requests", "repository-projects",
	"security-events", "statuses", NULL,
};

static void check_permissions(struct v *v, const struct yml_node *n)
{
	size_t i;

	if (!n)
		return;
	if (is_str(n)) {
		if (strcmp(n->str, "read-all") && strcmp(n->str, "write-all"))
			diag(v, n, "'permissions' must be read-all, write-all "
			     "or a mapping of scopes, not '%s'", n->str);
		return;
	}
	if (n->kind != YML_MAP) {
		bad_type(v, n, "permissions", "read-all, write-all or a mapping");
		return;
	}
	for (i = 0; i < n->n_pairs; i++) {
		const struct yml_node *k = n->pairs[i].key, *val = n->pairs[i].val;
		const char *want = "read, write or none";

		if (!in_list(k->str, perm_scopes)) {
			unknown(v, k, "permission", "", perm_scopes);
			continue;
		}
		if (!strcmp(k->str, "id-token"))
			want = "write or none";
		else if (!strcmp(k->str, "models"))
			want = "read or none";
		if (!is_str(val) || !strstr(want, val->str) ||
		    (strcmp(val->str, "read") && strcmp(val->str, "write") &&
		     strcmp(val->str, "none")))
			diag(v, val, "permission '%s' must be %s, not '%s'",
			     k->str, want, val->kind == YML_SCALAR ? val->str
			     : yml_kind_name(val));
	}
}

static void check_concurrency(struct v *v, const struct yml_node *n,
			      const struct place *pl)
{
	static const char *const keys[] = {
		"group", "cancel-in-progress", NULL,
	};

	if (!n)
		return;
	if (is_str(n)) {
		check_tmpl(v, n, pl);
		return;
	}
	if (n->kind != YML_MAP) {
		bad_type(v, n, "concurrency", "a string or a mapping");
		return;
	}
	check_keys(v, n, keys, "in 'concurrency'");
	if (!yml_get(n, "group"))
		diag(v, n, "'concurrency' needs a group");
	check_str(v, yml_get(n, "group"), "group", pl);
	check_bool(v, yml_get(n, "cancel-in-progress"), "cancel-in-progress",
		   pl);
}

static void check_defaults(struct v *v, const struct yml_node *n,
			   const struct place *pl)
{
	static const char *const keys[] = { "run", NULL };
	static const char *const run_keys[] = {
		"shell", "working-directory", NULL,
	};
	const struct yml_node *run;

	if (!n)
		return;
	if (n->kind != YML_MAP) {
		bad_type(v, n, "defaults", "a mapping");
		return;
	}
	check_keys(v, n, keys, "in 'defaults'");
	run = yml_get(n, "run");
	if (!run)
		return;
	if (run->kind != YML_MAP) {
		bad_type(v, run, "run", "a mapping");
		return;
	}
	check_keys(v, run, run_keys, "in 'defaults.run'");
	check_str(v, yml_get(run, "shell"), "shell", pl);
	check_str(v, yml_get(run, "working-directory"), "working-directory",
		  pl);
}

/* ---- on: events, filters, schedule, inputs ---- */

/* Every event GitHub can start a workflow with. */
static const char *const events[] = {
	"branch_protection_rule", "check_run", "check_suite", "create",
	"delete", "deployment", "deployment_status", "discussion",
	"discussion_comment", "fork", "gollum", "image_version",
	"issue_comment", "issues", "label", "merge_group", "milestone",
	"page_build", "project", "project_card", "project_column", "public",
	"pull_request", "pull_request_review", "pull_request_review_comment",
	"pull_request_target", "push", "registry_package", "release",
	"repository_dispatch", "schedule", "status", "watch", "workflow_call",
	"workflow_dispatch", "workflow_run", NULL,
};

static const char *const push_keys[] = {
	"branches", "branches-ignore", "tags", "tags-ignore", "paths",
	"paths-ignore", NULL,
};
static const char *const pr_keys[] = {
	"branches", "branches-ignore", "paths", "paths-ignore", "types", NULL,
};
static const char *const run_keys[] = {
	"workflows", "types", "branches", "branches-ignore", NULL,
};
static const char *const dispatch_keys[] = { "inputs", NULL };
static const char *const call_keys[] = {
	"inputs", "outputs", "secrets", NULL,
};
static const char *const types_keys[] = { "types", NULL };

/* Cron fields: name, range, names for 1.. (months) or 0.. (weekdays). */
struct cron_field {
	const char *name;
	int lo, hi;
	const char *const *names;
	int names_base;
};

static const char *const cron_months[] = {
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
	"nov", "dec", NULL,
};
static const char *const cron_days[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL,
};
static const struct cron_field cron_fields[5] = {
	{ "minute", 0, 59, NULL, 0 },
	{ "hour", 0, 23, NULL, 0 },
	{ "day of month", 1, 31, NULL, 0 },
	{ "month", 1, 12, cron_months, 1 },
	{ "day of week", 0, 6, cron_days, 0 },
};

/* value := DIGITS | NAME; reads one from s[*i..len). */
static int cron_value(const char *s, size_t len, size_t *i,
		      const struct cron_field *f, int *out)
{
	size_t k, start = *i;
	long n = 0;

	if (*i < len && s[*i] >= '0' && s[*i] <= '9') {
		while (*i < len && s[*i] >= '0' && s[*i] <= '9' && n < 1000)
			n = n * 10 + (s[(*i)++] - '0');
		*out = (int)n;
		return (n >= f->lo && n <= f->hi) ? 0 : -1;
	}
	for (k = 0; f->names && f->names[k]; k++) {
		if (len - start >= 3 &&
		    !strncasecmp(s + start, f->names[k], 3)) {
			*i = start + 3;
			*out = (int)k + f->names_base;
			return 0;
		}
	}
	return -1;
}

/* item := ( '*' | value ( '-' value )? ) ( '/' DIGITS )? */
static int cron_item(const char *s, size_t len, const struct cron_field *f)
{
	size_t i = 0;
	int a, b, step;

	if (len == 0)
		return -1;
	if (s[0] == '*') {
		i = 1;
	} else {
		if (cron_value(s, len, &i, f, &a))
			return -1;
		if (i < len && s[i] == '-') {
			i++;
			if (cron_value(s, len, &i, f, &b) || b < a)
				return -1;
		}
	}
	if (i < len && s[i] == '/') {
		struct cron_field st = { f->name, 1, 1000, NULL, 0 };

		i++;
		if (cron_value(s, len, &i, &st, &step))
			return -1;
	}
	return i == len ? 0 : -1;
}

/* cron := field{5} separated by blanks; field := item ( ',' item )* */
static void check_cron(struct v *v, const struct yml_node *n)
{
	const char *s, *p;
	size_t nf = 0, fl[5];
	const char *fs[5];

	if (!is_str(n)) {
		bad_type(v, n, "cron", "a string");
		return;
	}
	s = n->str;
	for (p = s; *p;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (nf < 5) {
			fs[nf] = p;
			fl[nf] = strcspn(p, " \t");
		}
		nf++;
		p += strcspn(p, " \t");
	}
	if (nf != 5) {
		diag(v, n, "cron '%s' must have 5 fields (minute hour "
		     "day-of-month month day-of-week), not %zu", s, nf);
		return;
	}
	for (nf = 0; nf < 5; nf++) {
		const char *f = fs[nf];
		size_t off = 0;
		bool ok = true;

		while (off <= fl[nf] && ok) {
			size_t il = strcspn(f + off, ", \t");

			if (off + il > fl[nf])
				il = fl[nf] - off;
			ok = cron_item(f + off, il, &cron_fields[nf]) == 0;
			off += il + 1;
		}
		if (!ok) {
			diag(v, n, "cron '%s': bad %s field '%.*s' (%d-%d)", s,
			     cron_fields[nf].name, (int)fl[nf], f,
			     cron_fields[nf].lo, cron_fields[nf].hi);
			return;
		}
	}
}

static void check_schedule(struct v *v, const struct yml_node *n)
{
	static const char *const keys[] = { "cron", NULL };
	size_t i;

	if (n->kind != YML_SEQ) {
		diag(v, n, "'schedule' must be a sequence of {cron: ...}, "
		     "not %s", kind(n));
		return;
	}
	for (i = 0; i < n->n_items; i++) {
		const struct yml_node *it = n->items[i];

		if (it->kind != YML_MAP) {
			diag(v, it, "items of 'schedule' must be mappings "
			     "with a cron, not %s", kind(it));
			continue;
		}
		check_keys(v, it, keys, "in 'schedule'");
		if (!yml_get(it, "cron"))
			diag(v, it, "schedule entry has no cron");
		else
			check_cron(v, yml_get(it, "cron"));
	}
}

static const char *const dispatch_types[] = {
	"string", "boolean", "number", "choice", "environment", NULL,
};
static const char *const call_types[] = {
	"boolean", "number", "string", NULL,
};

/* on.workflow_dispatch.inputs and on.workflow_call.inputs */
static void check_inputs(struct v *v, const struct yml_node *n, bool call)
{
	static const char *const dkeys[] = {
		"description", "required", "default", "type", "options", NULL,
	};
	static const char *const ckeys[] = {
		"description", "required", "default", "type", NULL,
	};
	const char *const *types = call ? call_types : dispatch_types;
	size_t i;

	if (!n || yml_is_null(n))
		return;
	if (n->kind != YML_MAP) {
		bad_type(v, n, "inputs", "a mapping");
		return;
	}
	for (i = 0; i < n->n_pairs; i++) {
		const struct yml_node *k = n->pairs[i].key, *in = n->pairs[i].val;
		const struct yml_node *t, *req;
		bool b;

		if (!wfv_is_id(k->str))
			diag(v, k, "input name '%s' must start with a letter "
			     "or '_' and contain only letters, digits, '-' "
			     "and '_'", k->str);
		if (in->kind != YML_MAP) {
			if (call || !yml_is_null(in))
				diag(v, in, "input '%s' must be a mapping, not %s",
				     k->str, kind(in));
			continue;
		}
		check_keys(v, in, call ? ckeys : dkeys, "in an input");
		check_str(v, yml_get(in, "description"), "description", NULL);
		req = yml_get(in, "required");
		if (req && (req->kind != YML_SCALAR || yml_bool(req, &b)))
			bad_type(v, req, "required", "a boolean");
		t = yml_get(in, "type");
		if (!t && call)
			diag(v, k, "input '%s' has no type (boolean, number or "
			     "string)", k->str);
		else if (t && (!is_str(t) || !in_list(t->str, types)))
			diag(v, t, "input '%s' has type '%s'; use %s", k->str,
			     t->kind == YML_SCALAR ? t->str : kind(t),
			     call ? "boolean, number or string" :
			     "string, boolean, number, choice or environment");
		else if (t && !strcmp(t->str, "choice") &&
			 !yml_get(in, "options"))
			diag(v, t, "input '%s' of type choice needs options",
			     k->str);
		if (call) {
			if (yml_get(in, "default") &&
			    yml_get(in, "default")->kind != YML_SCALAR)
				bad_type(v, yml_get(in, "default"), "default",
					 "a string, number or boolean");
			else
				check_tmpl(v, yml_get(in, "default"),
					   &P_CALL_DEFAULT);
		} else {
			check_str(v, yml_get(in, "default"), "default", NULL);
			check_str_seq(v, yml_get(in, "options"), "options",
				      NULL);
		}
	}
}

static void check_call_secrets(struct v *v, const struct yml_node *n)
{
	static const char *const keys[] = { "description", "required", NULL };
	size_t i;

	if (!n || yml_is_null(n))
		return;
	if (n->kind != YML_MAP) {
		bad_type(v, n, "secrets", "a mapping");
		return;
	}
	for (i = 0; i < n->n_pairs; i++) {
		const struct yml_node *s = n->pairs[i].val, *req;
		bool b;

		if (yml_is_null(s))
			continue;
		if (s->kind != YML_MAP) {
			diag(v, s, "secret '%s' must be a mapping, not %s",
			     n->pairs[i].key->str, kind(s));
			continue;
		}
		check_keys(v, s, keys, "in a secret");
		check_str(v, yml_get(s, "description"), "description", NULL);
		req = yml_get(s, "required");
		if (req && (req->kind != YML_SCALAR || yml_bool(req, &b)))
			bad_type(v, req, "required", "a boolean");
	}
}

static void check_call_outputs(struct v *v, const struct yml_node *n)
{
	static const char *const keys[] = { "description", "value", NULL };
	size_t i;

	if (!n || yml_is_null(n))
		return;
	if (n->kind != YML_MAP) {
		bad_type(v, n, "outputs", "a mapping");
		return;
	}
	for (i = 0; i < n->n_pairs; i++) {
		const struct yml_node *k = n->pairs[i].key, *o = n->pairs[i].val;

		if (o->kind != YML_MAP) {
			diag(v, o, "output '%s' must be a mapping, not %s",
			     k->str, kind(o));
			continue;
		}
		check_keys(v, o, keys, "in an output");
		check_str(v, yml_get(o, "description"), "description", NULL);
		if (!yml_get(o, "value"))
			diag(v, k, "output '%s' has no value", k->str);
		check_str(v, yml_get(o, "value"), "value", &P_CALL_OUT);
	}
}

/* Filters that cannot be used together on one event. */
static void check_exclusive(struct v *v, const struct yml_node *cfg,
			    const char *a, const char *b)
{
	if (yml_get(cfg, a) && yml_get(cfg, b))
		diag(v, yml_get_key(cfg, b), "'%s' and '%s' cannot both be "
		     "set for one event", a, b);
}

static void check_event(struct v *v, const struct yml_node *key,
			const struct yml_node *cfg)
{
	const char *ev = key->str;
	const char *const *keys = types_keys;
	char where[96];
	size_t i;

	if (!strcmp(ev, "schedule")) {
		check_schedule(v, cfg);
		return;
	}
	if (!cfg || yml_is_null(cfg))
		return;
	if (cfg->kind != YML_MAP) {
		diag(v, cfg, "'on.%s' must be a mapping, not %s", ev, kind(cfg));
		return;
	}
	if (!strcmp(ev, "push"))
		keys = push_keys;
	else if (!strcmp(ev, "pull_request") ||
		 !strcmp(ev, "pull_request_target"))
		keys = pr_keys;
	else if (!strcmp(ev, "workflow_run"))
		keys = run_keys;
	else if (!strcmp(ev, "workflow_dispatch"))
		keys = dispatch_keys;
	else if (!strcmp(ev, "workflow_call"))
		keys = call_keys;
	snprintf(where, sizeof(where), "in 'on.%.60s'", ev);
	check_keys(v, cfg, keys, where);
	for (i = 0; i < cfg->n_pairs; i++) {
		const char *k = cfg->pairs[i].key->str;

		if (strcmp(k, "inputs") && strcmp(k, "outputs") &&
		    strcmp(k, "secrets") && in_list(k, keys))
			check_str_seq(v, cfg->pairs[i].val, k, NULL);
	}
	check_exclusive(v, cfg, "branches", "branches-ignore");
	check_exclusive(v, cfg, "tags", "tags-ignore");
	check_exclusive(v, cfg, "paths", "paths-ignore");
	if (keys == dispatch_keys || keys == call_keys)
		check_inputs(v, yml_get(cfg, "inputs"), keys == call_keys);
	if (keys == call_keys) {
		check_call_secrets(v, yml_get(cfg, "secrets"));
		check_call_outputs(v, yml_get(cfg, "outputs"));
	}
}

static bool check_event_name(struct v *v, const struct yml_node *n)
{
	if (!is_str(n)) {
		diag(v, n, "an event name must be a string, not %s", kind(n));
		return false;
	}
	if (in_list(n->str, events))
		return true;
	unknown(v, n, "event", "", events);
	return false;
}

static void check_on(struct v *v, const struct yml_node *on)
{
	size_t i;

	if (on->kind == YML_SCALAR) {
		if (check_event_name(v, on) && !strcmp(on->str, "schedule"))
			check_schedule(v, on);
	} else if (on->kind == YML_SEQ) {
		if (on->n_items == 0)
			diag(v, on, "'on' lists no events");
		for (i = 0; i < on->n_items; i++)
			if (check_event_name(v, on->items[i]) &&
			    !strcmp(on->items[i]->str, "schedule"))
				check_schedule(v, on->items[i]);
	} else {
		if (on->n_pairs == 0)
			diag(v, on, "'on' lists no events");
		for (i = 0; i < on->n_pairs; i++)
			if (check_event_name(v, on->pairs[i].key))
				check_event(v, on->pairs[i].key,
					    on->pairs[i].val);
	}
}

/* ---- jobs and steps ---- */

static void check_container(struct v *v, const struct yml_node *n,
			    const char *name, bool service)
{
	static const char *const keys[] = {
		"image", "credentials", "env", "ports", "volumes", "options",
		NULL,
	};
	static const char *const cred_keys[] = { "username", "password", NULL };
	const struct place *pl = service ? &P_J_SVC : &P_J_CONT;
	const struct yml_node *cred;
	char where[96];

	if (!service && is_str(n)) {
		check_tmpl(v, n, pl);
		return;
	}
	if (n->kind != YML_MAP) {
		bad_type(v, n, name, service ? "a mapping" :
			 "an image name or a mapping");
		return;
	}
	snprintf(where, sizeof(where), "in '%.80s'", name);
	check_keys(v, n, keys, where);
	if (!yml_get(n, "image"))
		diag(v, n, "'%s' needs an image", name);
	check_str(v, yml_get(n, "image"), "image",
		  service ? &P_J_SVC : &P_J_CONT_IMG);
	cred = yml_get(n, "credentials");
	if (cred && cred->kind != YML_MAP) {
		bad_type(v, cred, "credentials", "a mapping");
	} else if (cred) {
		check_keys(v, cred, cred_keys, "in 'credentials'");
		check_tree_tmpl(v, cred, service ? &P_J_SVC_CRED :
				&P_J_CONT_CRED, 0);
	}
	check_str_map(v, yml_get(n, "env"), "env",
		      service ? &P_J_SVC_ENV : &P_J_CONT_ENV, false);
	check_str_seq(v, yml_get(n, "ports"), "ports", pl);
	check_str_seq(v, yml_get(n, "volumes"), "volumes", pl);
	check_str(v, yml_get(n, "options"), "options", pl);
}

static void check_runs_on(struct v *v, const struct yml_node *n)
{
	static const char *const keys[] = { "group", "labels", NULL };

	if (!n)
		return;
	if (n->kind == YML_MAP) {
		check_keys(v, n, keys, "in 'runs-on'");
		check_str(v, yml_get(n, "group"), "group", &P_J_RUNS_ON);
		check_str_seq(v, yml_get(n, "labels"), "labels", &P_J_RUNS_ON);
	} else if (n->kind == YML_SEQ || is_str(n)) {
		check_str_seq(v, n, "runs-on", &P_J_RUNS_ON);
	} else {
		bad_type(v, n, "runs-on", "a label, a sequence of labels or a "
			 "mapping with group and labels");
	}
}

static void check_matrix(struct v *v, const struct yml_node *m)
{
	size_t i, k;

	if (!m)
		return;
	if (has_expr(m)) {
		check_tmpl(v, m, &P_J_STRATEGY);
		return;
	}
	if (m->kind != YML_MAP) {
		bad_type(v, m, "matrix", "a mapping or an expression");
		return;
	}
	for (i = 0; i < m->n_pairs; i++) {
		const char *dim = m->pairs[i].key->str;
		const struct yml_node *val = m->pairs[i].val;
		bool ie = !strcmp(dim, "include") || !strcmp(dim, "exclude");

		if (has_expr(val)) {
			check_tmpl(v, val, &P_J_STRATEGY);
			continue;
		}
		if (val->kind != YML_SEQ) {
			if (ie)
				bad_type(v, val, dim, "a sequence of mappings "
					 "or an expression");
			else
				diag(v, val, "matrix dimension '%s' must be a "
				     "sequence or an expression, not %s", dim,
				     kind(val));
			continue;
		}
		if (!ie && val->n_items == 0)
			diag(v, val, "matrix dimension '%s' has no values", dim);
		for (k = 0; ie && k < val->n_items; k++)
			if (val->items[k]->kind != YML_MAP &&
			    !has_expr(val->items[k]))
				diag(v, val->items[k], "items of '%s' must be "
				     "mappings, not %s", dim,
				     kind(val->items[k]));
		check_tree_tmpl(v, val, &P_J_STRATEGY, 0);
	}
}

static void check_strategy(struct v *v, const struct yml_node *n)
{
	static const char *const keys[] = {
		"matrix", "fail-fast", "max-parallel", NULL,
	};

	if (!n)
		return;
	if (n->kind != YML_MAP) {
		bad_type(v, n, "strategy", "a mapping");
		return;
	}
	check_keys(v, n, keys, "in 'strategy'");
	check_matrix(v, yml_get(n, "matrix"));
	check_bool(v, yml_get(n, "fail-fast"), "fail-fast", &P_J_STRATEGY);
	check_num(v, yml_get(n, "max-parallel"), "max-parallel",
		  &P_J_STRATEGY);
}

static const char *const step_keys[] = {
	"id", "name", "if", "run", "shell", "working-directory", "env",
	"uses", "with", "continue-on-error", "timeout-minutes", NULL,
};

static void check_step(struct v *v, const char *job, size_t idx,
		       const struct yml_node *s)
{
	const struct yml_node *run, *uses, *id;
	char where[160];

	if (s->kind != YML_MAP) {
		diag(v, s, "step %zu of job '%s' must be a mapping, not %s",
		     idx, job, kind(s));
		return;
	}
	snprintf(where, sizeof(where), "in step %zu of job '%.100s'", idx,
		 job);
	check_keys(v, s, step_keys, where);
	run = yml_get(s, "run");
	uses = yml_get(s, "uses");
	if (run && uses)
		diag(v, s, "step must have either run or uses, not both");
	else if (!run && !uses)
		diag(v, s, "step must have either run or uses");
	if (!uses && yml_get(s, "with"))
		diag(v, yml_get_key(s, "with"), "'with' is only allowed in a "
		     "step with uses");
	if (!run && yml_get(s, "shell"))
		diag(v, yml_get_key(s, "shell"), "'shell' is only allowed in "
		     "a step with run");
	if (!run && yml_get(s, "working-directory"))
		diag(v, yml_get_key(s, "working-directory"), "'working-"
		     "directory' is only allowed in a step with run");
	id = yml_get(s, "id");
	if (id && (!is_str(id) || !wfv_is_id(id->str)))
		diag(v, id, "step id '%s' must start with a letter or '_' and "
		     "contain only letters, digits, '-' and '_'",
		     id->kind == YML_SCALAR ? id->str : kind(id));
	check_if(v, yml_get(s, "if"), &P_S_IF);
	check_str(v, yml_get(s, "name"), "name", &P_S_NAME);
	check_str(v, run, "run", &P_S_RUN);
	check_str(v, yml_get(s, "shell"), "shell", &P_S_SHELL);
	check_str(v, yml_get(s, "working-directory"), "working-directory",
		  &P_S_WD);
	check_str_map(v, yml_get(s, "env"), "env", &P_S_ENV, true);
	check_str_map(v, yml_get(s, "with"), "with", &P_S_WITH, false);
	check_bool(v, yml_get(s, "continue-on-error"), "continue-on-error",
		   &P_S_COE);
	check_num(v, yml_get(s, "timeout-minutes"), "timeout-minutes",
		  &P_S_TIMEOUT);
	check_uses(v, uses);
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

static void check_steps(struct v *v, const char *job,
			const struct yml_node *n)
{
	const struct yml_node **ids;
	size_t i, nid = 0, first = 0;

	if (n->kind != YML_SEQ) {
		bad_type(v, n, "steps", "a sequence");
		return;
	}
	if (n->n_items == 0)
		diag(v, n, "job '%s' has no steps", job);
	ids = xcalloc(n->n_items + 1, sizeof(*ids));
	for (i = 0; i < n->n_items; i++) {
		const struct yml_node *id = yml_get(n->items[i], "id");

		check_step(v, job, i + 1, n->items[i]);
		if (is_str(id))
			ids[nid++] = id;
	}
	/* Duplicates sort next to each other, the first one first. */
	qsort(ids, nid, sizeof(*ids), cmp_id_node);
	for (i = 1; i < nid; i++) {
		if (strcmp(ids[i]->str, ids[first]->str)) {
			first = i;
			continue;
		}
		diag(v, ids[i], "duplicate step id '%s', first at line %d",
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

static void check_environment(struct v *v, const struct yml_node *n)
{
	static const char *const keys[] = { "name", "url", NULL };

	if (!n)
		return;
	if (is_str(n)) {
		check_tmpl(v, n, &P_J_ENVIRONMENT);
		return;
	}
	if (n->kind != YML_MAP) {
		bad_type(v, n, "environment", "a name or a mapping");
		return;
	}
	check_keys(v, n, keys, "in 'environment'");
	if (!yml_get(n, "name"))
		diag(v, n, "'environment' needs a name");
	check_str(v, yml_get(n, "name"), "name", &P_J_ENVIRONMENT);
	check_str(v, yml_get(n, "url"), "url", &P_J_ENV_URL);
}

static void check_job_shape(struct v *v, const struct yml_node *key,
			    const struct yml_node *job)
{
	const char *id = key->str;
	const struct yml_node *uses = yml_get(job, "uses");
	const struct yml_node *steps = yml_get(job, "steps");
	size_t i;

	if (uses && steps) {
		diag(v, yml_get_key(job, "uses"), "job '%s' has both steps "
		     "and uses; a job runs steps or calls a reusable "
		     "workflow", id);
	} else if (!uses && !steps) {
		diag(v, key, "job '%s' has neither steps nor uses", id);
	} else if (steps) {
		if (!yml_get(job, "runs-on"))
			diag(v, key, "job '%s' has no runs-on", id);
		if (yml_get(job, "with"))
			diag(v, yml_get_key(job, "with"), "'with' is only "
			     "allowed in a job that calls a reusable workflow");
		if (yml_get(job, "secrets"))
			diag(v, yml_get_key(job, "secrets"), "'secrets' is "
			     "only allowed in a job that calls a reusable "
			     "workflow");
	} else {
		for (i = 0; i < job->n_pairs; i++) {
			const struct yml_node *k = job->pairs[i].key;

			if (in_list(k->str, job_keys) &&
			    !in_list(k->str, call_job_keys))
				diag(v, k, "'%s' is not allowed in job '%s', "
				     "which calls a reusable workflow", k->str,
				     id);
		}
	}
}

static void check_job(struct v *v, const struct yml_node *key,
		      const struct yml_node *job)
{
	const char *id = key->str;
	const struct yml_node *n;
	char where[128];
	size_t i;

	if (!wfv_is_id(id))
		diag(v, key, "job id '%s' must start with a letter or '_' and "
		     "contain only letters, digits, '-' and '_'", id);
	if (job->kind != YML_MAP) {
		diag(v, job, "job '%s' must be a mapping, not %s", id,
		     kind(job));
		return;
	}
	snprintf(where, sizeof(where), "in job '%.100s'", id);
	check_keys(v, job, job_keys, where);
	check_job_shape(v, key, job);
	check_str(v, yml_get(job, "name"), "name", &P_J_NAME);
	check_permissions(v, yml_get(job, "permissions"));
	n = yml_get(job, "needs");
	if (n && !is_str(n) && n->kind != YML_SEQ)
		bad_type(v, n, "needs", "a job id or a sequence of job ids");
	else
		check_str_seq(v, n, "needs", NULL);
	check_if(v, yml_get(job, "if"), &P_J_IF);
	check_runs_on(v, yml_get(job, "runs-on"));
	n = yml_get(job, "snapshot");
	if (n && !is_str(n) && n->kind != YML_MAP)
		bad_type(v, n, "snapshot", "an image name or a mapping");
	check_environment(v, yml_get(job, "environment"));
	check_concurrency(v, yml_get(job, "concurrency"), &P_J_CONC);
	check_str_map(v, yml_get(job, "outputs"), "outputs", &P_J_OUTPUTS,
		      false);
	check_str_map(v, yml_get(job, "env"), "env", &P_J_ENV, true);
	check_defaults(v, yml_get(job, "defaults"), &P_J_DEFAULTS);
	check_num(v, yml_get(job, "timeout-minutes"), "timeout-minutes",
		  &P_J_TIMEOUT);
	check_strategy(v, yml_get(job, "strategy"));
	check_bool(v, yml_get(job, "continue-on-error"), "continue-on-error",
		   &P_J_COE);
	n = yml_get(job, "container");
	if (n)
		check_container(v, n, "container", false);
	n = yml_get(job, "services");
	if (n && n->kind != YML_MAP)
		bad_type(v, n, "services", "a mapping");
	for (i = 0; n && n->kind == YML_MAP && i < n->n_pairs; i++)
		check_container(v, n->pairs[i].val, n->pairs[i].key->str, true);
	check_uses(v, yml_get(job, "uses"));
	check_str_map(v, yml_get(job, "with"), "with", &P_J_WITH, false);
	n = yml_get(job, "secrets");
	if (n && !(is_str(n) && !strcmp(n->str, "inherit")))
		check_str_map(v, n, "secrets", &P_J_SECRETS, false);
	n = yml_get(job, "steps");
	if (n)
		check_steps(v, id, n);
}

static void check_jobs(struct v *v, const struct yml_node *jobs,
		       const struct yml_node *root)
{
	size_t i;

	if (!jobs) {
		diag(v, root, "workflow has no jobs");
		return;
	}
	if (jobs->kind != YML_MAP) {
		if (yml_is_null(jobs))
			diag(v, jobs, "workflow has no jobs");
		else
			bad_type(v, jobs, "jobs", "a mapping");
		return;
	}
	if (jobs->n_pairs == 0)
		diag(v, jobs, "workflow has no jobs");
	for (i = 0; i < jobs->n_pairs; i++)
		check_job(v, jobs->pairs[i].key, jobs->pairs[i].val);
}


void wfv_check(const struct workflow *wf, const struct wf_load_opts *opts,
	       const struct wfv_src *src, const char *dir,
	       struct wf_diags *d)
{
	static const char *const keys[] = {
		"name", "run-name", "on", "env", "defaults", "permissions",
		"concurrency", "jobs", NULL,
	};
	const struct yml_node *root = wf->doc->root;
	struct v v = { d, opts, src, dir };

	check_keys(&v, root, keys, "in the workflow");
	check_str(&v, yml_get(root, "name"), "name", NULL);
	check_str(&v, yml_get(root, "run-name"), "run-name", &P_RUN_NAME);
	if (!yml_get(root, "on"))
		diag(&v, root, "workflow has no 'on' (the events that "
		     "trigger it)");
	else
		check_on(&v, yml_get(root, "on"));
	check_str_map(&v, yml_get(root, "env"), "env", &P_ENV, false);
	check_defaults(&v, yml_get(root, "defaults"), &P_DEFAULTS);
	check_permissions(&v, yml_get(root, "permissions"));
	check_concurrency(&v, yml_get(root, "concurrency"), &P_CONC);
	check_jobs(&v, yml_get(root, "jobs"), root);
}
