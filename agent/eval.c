/*
 * eval: values from the workflow file, with their expressions resolved
 * against a job's contexts: env maps, booleans and numbers that may be
 * expressions, and JSON built from YAML.
 */
#include "job_int.h"
#include "filecmd.h"
#include "../lib/fs.h"
#include "../lib/jsonx.h"
#include "../lib/log.h"
#include "../lib/util.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


void eval_env_init(struct expr_env *xe, const struct jobrun *jr, json_t *ctx,
		   enum expr_status status)
{
	run_expr_env(xe, jr->run, ctx, status);
	if (dry(jr) && jr->in->js->matrix_expr)
		xe->unknown = dry_unknown_matrix;
}

/* A scalar node as a string with its expressions resolved; NULL node or
 * null gives NULL. Returns 0, EXPR_UNKNOWN or -1. */
int eval_str(char **out, const struct yml_node *n,
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
int eval_env_map(json_t *obj, const struct yml_node *map,
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
int eval_bool(bool *out, const struct yml_node *n,
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
int eval_minutes(double *out, const struct yml_node *n,
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

