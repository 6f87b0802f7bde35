/*
 * validate: the workflow schema, checked node by node.
 *
 * Each check function takes a node that may be of any kind (or NULL when
 * the key is absent) and adds a diagnostic for each problem: the key node
 * for an unknown key, the value node for a wrong type. Checks never stop at
 * the first problem. Expressions are checked where GitHub evaluates them,
 * against the context availability table of GitHub's contexts reference
 * (struct val_place in validate.h carries one row of it).
 *
 * This file holds the shared checks (keys, value shapes, expressions,
 * permissions, concurrency, defaults) and the top-level walk, wfv_check().
 * The on: section is checked in validate_on.c, jobs and steps in
 * validate_jobs.c; each file keeps the rows of the table for its own keys.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "../lib/util.h"
#include "expr.h"
#include "validate.h"

/* In the order of the C_ bits in validate.h. */
static const char *const ctx_names[] = {
	"github", "env", "vars", "secrets", "job", "jobs", "steps",
	"runner", "strategy", "matrix", "needs", "inputs",
};

static const struct val_place
	P_RUN_NAME = { S_WF, "run-name", false },
	P_CONC = { S_WF, "concurrency", false },
	P_ENV = { S_WF | C_SECRETS, "env", false },
	/* Not in GitHub's table; the job-level row without job contexts. */
	P_DEFAULTS = { S_WF | C_ENV, "defaults.run", false };

void val_diag(struct val_state *v, const struct yml_node *n,
	      const char *fmt, ...)
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
const char *val_kind(const struct yml_node *n)
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

bool val_is_str(const struct yml_node *n)
{
	return n && n->kind == YML_SCALAR && !yml_is_null(n);
}

bool val_has_expr(const struct yml_node *n)
{
	return n && n->kind == YML_SCALAR && strstr(n->str, "${{");
}

void val_bad_type(struct val_state *v, const struct yml_node *n,
		  const char *name, const char *want)
{
	val_diag(v, n, "'%s' must be %s, not %s", name, want, val_kind(n));
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

bool val_in_list(const char *s, const char *const *list)
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

void val_unknown(struct val_state *v, const struct yml_node *key,
		 const char *what, const char *where,
		 const char *const *list)
{
	const char *s = suggest(key->str, list);

	if (s)
		val_diag(v, key, "unknown %s '%s'%s%s; did you mean '%s'?",
			 what, key->str, where[0] ? " " : "", where, s);
	else
		val_diag(v, key, "unknown %s '%s'%s%s", what, key->str,
			 where[0] ? " " : "", where);
}

void val_check_keys(struct val_state *v, const struct yml_node *map,
		    const char *const *keys, const char *where)
{
	size_t i;

	if (!map || map->kind != YML_MAP)
		return;
	for (i = 0; i < map->n_pairs; i++)
		if (!val_in_list(map->pairs[i].key->str, keys))
			val_unknown(v, map->pairs[i].key, "key", where, keys);
}

/* ---- expressions ---- */

struct xcb {
	struct val_state *v;
	const struct yml_node *n;
	const struct val_place *pl;
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
void val_check_tmpl(struct val_state *v, const struct yml_node *n,
		    const struct val_place *pl)
{
	struct err e = ERR_INIT;
	struct xcb cb = { v, n, pl };
	struct yml_pos pos;
	size_t off = 0;

	if (!val_has_expr(n))
		return;
	if (expr_check_template(n->str, &off, &e)) {
		wfv_pos_in(&pos, v->src, n, off);
		wf_diag_add(v->d, &pos, "%s", e.msg);
		return;
	}
	expr_each_in_template(n->str, check_contexts, &cb, &e);
}

/* Every scalar under n (values of mappings, items of sequences). */
void val_check_tree_tmpl(struct val_state *v, const struct yml_node *n,
			 const struct val_place *pl, int depth)
{
	size_t i;

	if (!n || depth > 64)
		return;
	if (n->kind == YML_SCALAR)
		val_check_tmpl(v, n, pl);
	for (i = 0; i < n->n_items; i++)
		val_check_tree_tmpl(v, n->items[i], pl, depth + 1);
	for (i = 0; i < n->n_pairs; i++)
		val_check_tree_tmpl(v, n->pairs[i].val, pl, depth + 1);
}

/* if: a condition with or without ${{ }}. */
void val_check_if(struct val_state *v, const struct yml_node *n,
		  const struct val_place *pl)
{
	struct err e = ERR_INIT;
	struct xcb cb = { v, n, pl };
	struct yml_pos pos;
	struct expr *x = NULL;
	size_t off = 0;

	if (!n)
		return;
	if (n->kind != YML_SCALAR) {
		val_bad_type(v, n, "if", "a string");
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

void val_check_str(struct val_state *v, const struct yml_node *n,
		   const char *name, const struct val_place *pl)
{
	if (!n)
		return;
	if (n->kind != YML_SCALAR) {
		val_bad_type(v, n, name, "a string");
		return;
	}
	if (pl)
		val_check_tmpl(v, n, pl);
}

void val_check_num(struct val_state *v, const struct yml_node *n,
		   const char *name, const struct val_place *pl)
{
	double d;

	if (!n)
		return;
	if (val_has_expr(n))
		val_check_tmpl(v, n, pl);
	else if (n->kind != YML_SCALAR || n->style != YML_PLAIN ||
		 yml_number(n, &d))
		val_bad_type(v, n, name, "a number or an expression");
}

void val_check_bool(struct val_state *v, const struct yml_node *n,
		    const char *name, const struct val_place *pl)
{
	bool b;

	if (!n)
		return;
	if (val_has_expr(n))
		val_check_tmpl(v, n, pl);
	else if (n->kind != YML_SCALAR || n->style != YML_PLAIN ||
		 yml_bool(n, &b))
		val_bad_type(v, n, name, "a boolean or an expression");
}

/* A mapping of names to strings (env, with, outputs, secrets); with
 * allow_expr, a whole-mapping ${{ }} string too. */
void val_check_str_map(struct val_state *v, const struct yml_node *n,
		       const char *name, const struct val_place *pl,
		       bool allow_expr)
{
	size_t i;

	if (!n)
		return;
	if (allow_expr && val_has_expr(n)) {
		val_check_tmpl(v, n, pl);
		return;
	}
	if (n->kind != YML_MAP) {
		val_bad_type(v, n, name, allow_expr ?
			     "a mapping or an expression" : "a mapping");
		return;
	}
	for (i = 0; i < n->n_pairs; i++) {
		const struct yml_node *val = n->pairs[i].val;

		if (val->kind != YML_SCALAR)
			val_diag(v, val, "value of '%s' in '%s' must be a "
				 "string, number or boolean, not %s",
				 n->pairs[i].key->str, name, val_kind(val));
		else
			val_check_tmpl(v, val, pl);
	}
}

/* A string or a sequence of strings (filters, labels, needs). */
void val_check_str_seq(struct val_state *v, const struct yml_node *n,
		       const char *name, const struct val_place *pl)
{
	size_t i;

	if (!n)
		return;
	if (val_is_str(n)) {
		if (pl)
			val_check_tmpl(v, n, pl);
		return;
	}
	if (n->kind != YML_SEQ) {
		val_bad_type(v, n, name, "a string or a sequence of strings");
		return;
	}
	for (i = 0; i < n->n_items; i++) {
		if (!val_is_str(n->items[i]))
			val_diag(v, n->items[i], "items of '%s' must be "
				 "strings, not %s", name,
				 val_kind(n->items[i]));
		else if (pl)
			val_check_tmpl(v, n->items[i], pl);
	}
}

void val_check_uses(struct val_state *v, const struct yml_node *n)
{
	struct err e = ERR_INIT;

	if (!n)
		return;
	if (!val_is_str(n)) {
		val_bad_type(v, n, "uses", "a string");
		return;
	}
	if (strstr(n->str, "${{")) {
		val_diag(v, n, "'uses' cannot contain an expression");
		return;
	}
	if (v->opts && v->opts->check_uses &&
	    v->opts->check_uses(n->str, v->dir, v->opts->ud, &e))
		val_diag(v, n, "%s", e.msg[0] ? e.msg : "uses: not accepted");
}

/* ---- shared sections: permissions, concurrency, defaults ---- */

static const char *const perm_scopes[] = {
	"actions", "artifact-metadata", "attestations", "checks", "contents",
	"deployments", "discussions", "id-token", "issues", "models",
	"packages", "pages", "pull-requests", "repository-projects",
	"security-events", "statuses", NULL,
};

void val_check_permissions(struct val_state *v, const struct yml_node *n)
{
	size_t i;

	if (!n)
		return;
	if (val_is_str(n)) {
		if (strcmp(n->str, "read-all") && strcmp(n->str, "write-all"))
			val_diag(v, n, "'permissions' must be read-all, "
				 "write-all or a mapping of scopes, not '%s'",
				 n->str);
		return;
	}
	if (n->kind != YML_MAP) {
		val_bad_type(v, n, "permissions",
			     "read-all, write-all or a mapping");
		return;
	}
	for (i = 0; i < n->n_pairs; i++) {
		const struct yml_node *k = n->pairs[i].key, *val = n->pairs[i].val;
		const char *want = "read, write or none";

		if (!val_in_list(k->str, perm_scopes)) {
			val_unknown(v, k, "permission", "", perm_scopes);
			continue;
		}
		if (!strcmp(k->str, "id-token"))
			want = "write or none";
		else if (!strcmp(k->str, "models"))
			want = "read or none";
		if (!val_is_str(val) || !strstr(want, val->str) ||
		    (strcmp(val->str, "read") && strcmp(val->str, "write") &&
		     strcmp(val->str, "none")))
			val_diag(v, val, "permission '%s' must be %s, not '%s'",
				 k->str, want, val->kind == YML_SCALAR ?
				 val->str : yml_kind_name(val));
	}
}

void val_check_concurrency(struct val_state *v, const struct yml_node *n,
			   const struct val_place *pl)
{
	static const char *const keys[] = {
		"group", "cancel-in-progress", NULL,
	};

	if (!n)
		return;
	if (val_is_str(n)) {
		val_check_tmpl(v, n, pl);
		return;
	}
	if (n->kind != YML_MAP) {
		val_bad_type(v, n, "concurrency", "a string or a mapping");
		return;
	}
	val_check_keys(v, n, keys, "in 'concurrency'");
	if (!yml_get(n, "group"))
		val_diag(v, n, "'concurrency' needs a group");
	val_check_str(v, yml_get(n, "group"), "group", pl);
	val_check_bool(v, yml_get(n, "cancel-in-progress"),
		       "cancel-in-progress", pl);
}

void val_check_defaults(struct val_state *v, const struct yml_node *n,
			const struct val_place *pl)
{
	static const char *const keys[] = { "run", NULL };
	static const char *const run_keys[] = {
		"shell", "working-directory", NULL,
	};
	const struct yml_node *run;

	if (!n)
		return;
	if (n->kind != YML_MAP) {
		val_bad_type(v, n, "defaults", "a mapping");
		return;
	}
	val_check_keys(v, n, keys, "in 'defaults'");
	run = yml_get(n, "run");
	if (!run)
		return;
	if (run->kind != YML_MAP) {
		val_bad_type(v, run, "run", "a mapping");
		return;
	}
	val_check_keys(v, run, run_keys, "in 'defaults.run'");
	val_check_str(v, yml_get(run, "shell"), "shell", pl);
	val_check_str(v, yml_get(run, "working-directory"), "working-directory",
		      pl);
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
	struct val_state v = { d, opts, src, dir };

	val_check_keys(&v, root, keys, "in the workflow");
	val_check_str(&v, yml_get(root, "name"), "name", NULL);
	val_check_str(&v, yml_get(root, "run-name"), "run-name", &P_RUN_NAME);
	if (!yml_get(root, "on"))
		val_diag(&v, root, "workflow has no 'on' (the events that "
			 "trigger it)");
	else
		val_check_on(&v, yml_get(root, "on"));
	val_check_str_map(&v, yml_get(root, "env"), "env", &P_ENV, false);
	val_check_defaults(&v, yml_get(root, "defaults"), &P_DEFAULTS);
	val_check_permissions(&v, yml_get(root, "permissions"));
	val_check_concurrency(&v, yml_get(root, "concurrency"), &P_CONC);
	val_check_jobs(&v, yml_get(root, "jobs"), root);
}
