/*
 * expr_eval: evaluation of a parsed expression, with GitHub's coercion,
 * comparison, truthiness and conversion to string.
 *
 * Type coercion, as GitHub documents it for == and the comparisons: when
 * the two sides differ in type, both become numbers:
 *
 *   from      to number
 *   null      0
 *   boolean   true 1, false 0
 *   string    parsed as a number (JSON forms, 0x hex, 0o octal, leading
 *             and trailing blanks allowed); '' is 0; anything else NaN
 *   array     NaN (never equal to another type)
 *   object    NaN (never equal to another type)
 *
 * Same types compare as themselves: strings case-insensitively, arrays
 * and objects only by identity, and NaN is unequal to everything.
 *
 * Unknown values (dry runs) never reach the caller as values: they carry
 * the reference they depend on, and what is known about their truthiness,
 * so that short-circuits still decide (false && x, true || x).
 */
#include "expr_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/util.h"

enum vkind { K_NULL, K_BOOL, K_NUM, K_STR, K_ARR, K_OBJ };

static enum vkind kind_of(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_TRUE:
	case JSON_FALSE:
		return K_BOOL;
	case JSON_INTEGER:
	case JSON_REAL:
		return K_NUM;
	case JSON_STRING:
		return K_STR;
	case JSON_ARRAY:
		return K_ARR;
	case JSON_OBJECT:
		return K_OBJ;
	default:
		return K_NULL;
	}
}

void expr_val_release(struct val *v)
{
	json_decref(v->j);
	free(v->ref);
	v->j = NULL;
	v->ref = NULL;
	v->truth = -1;
	v->ref_open = false;
	v->filtered = false;
}

void expr_val_set(struct val *v, json_t *j)
{
	expr_val_release(v);
	v->j = j;
}

void expr_val_unknown(struct val *v, const char *ref, bool open)
{
	char *copy = xstrdup(ref);

	expr_val_release(v);
	v->ref = copy;
	v->ref_open = open;
}

json_t *expr_json_string(const char *s, size_t len)
{
	json_t *j = json_stringn_nocheck(s, len);

	if (!j)
		BUG("json_stringn_nocheck failed");
	return j;
}

bool expr_is_primitive(const json_t *v)
{
	enum vkind k = kind_of(v);

	return k != K_ARR && k != K_OBJ;
}

static bool is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

/* Digits of base (8 or 16) from s to end, at most 2^53. */
static double parse_radix(const char *s, const char *end, int base)
{
	double d = 0;

	if (s >= end)
		return NAN;
	for (; s < end; s++) {
		int c = (unsigned char)*s, v;

		if (isdigit(c))
			v = c - '0';
		else if (base == 16 && isxdigit(c))
			v = tolower(c) - 'a' + 10;
		else
			return NAN;
		if (v >= base)
			return NAN;
		d = d * base + v;
		if (d > 9007199254740992.0)
			return NAN;
	}
	return d;
}

double expr_parse_number(const char *s, size_t len)
{
	const char *end = s + len, *p;
	char tmp[128];
	bool digits = false;

	while (s < end && is_blank((unsigned char)*s))
		s++;
	while (end > s && is_blank((unsigned char)end[-1]))
		end--;
	if (s == end)
		return 0;
	if (end - s > 2 && s[0] == '0' && s[1] == 'x')
		return parse_radix(s + 2, end, 16);
	if (end - s > 2 && s[0] == '0' && s[1] == 'o')
		return parse_radix(s + 2, end, 8);
	if ((size_t)(end - s) == 8 && !memcmp(s, "Infinity", 8))
		return INFINITY;
	if ((size_t)(end - s) == 9 && !memcmp(s, "-Infinity", 9))
		return -INFINITY;
	/* [+-]? digits* [. digits*] [(e|E) [+-]? digits+], some digit */
	p = s;
	if (p < end && (*p == '+' || *p == '-'))
		p++;
	while (p < end && isdigit((unsigned char)*p)) {
		p++;
		digits = true;
	}
	if (p < end && *p == '.') {
		p++;
		while (p < end && isdigit((unsigned char)*p)) {
			p++;
			digits = true;
		}
	}
	if (!digits)
		return NAN;
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || !isdigit((unsigned char)*p))
			return NAN;
		while (p < end && isdigit((unsigned char)*p))
			p++;
	}
	if (p != end || (size_t)(end - s) >= sizeof(tmp))
		return NAN;
	memcpy(tmp, s, (size_t)(end - s));
	tmp[end - s] = '\0';
	return strtod(tmp, NULL);
}

double expr_to_number(const json_t *v)
{
	switch (kind_of(v)) {
	case K_NULL:
		return 0;
	case K_BOOL:
		return json_is_true(v) ? 1 : 0;
	case K_NUM:
		return json_number_value(v);
	case K_STR:
		return expr_parse_number(json_string_value(v),
					 json_string_length(v));
	default:
		return NAN;
	}
}

/* Append n zeros at out[*o]. */
static void put_zeros(char *out, size_t outsz, size_t *o, int n)
{
	while (n-- > 0 && *o + 1 < outsz)
		out[(*o)++] = '0';
	out[*o] = '\0';
}

static void put_str(char *out, size_t outsz, size_t *o, const char *s,
		    size_t len)
{
	while (len-- > 0 && *s && *o + 1 < outsz)
		out[(*o)++] = *s++;
	out[*o] = '\0';
}

/* The shortest digits that read back as d, JavaScript's layout:
 * 1, 1.5, 0.000001, 1e-7, 100000000000000000000, 1e+21. */
void expr_format_number(char *out, size_t outsz, double d)
{
	char tmp[40], digits[24], ex[16];
	int prec, exp10 = 0, k = 0, n;
	const char *p;
	size_t o = 0;

	if (isnan(d)) {
		snprintf(out, outsz, "NaN");
		return;
	}
	if (isinf(d)) {
		snprintf(out, outsz, "%s", d < 0 ? "-Infinity" : "Infinity");
		return;
	}
	if (d == 0) {
		snprintf(out, outsz, "0");
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	for (p = tmp; *p && *p != 'e'; p++)
		if (isdigit((unsigned char)*p) && k < (int)sizeof(digits) - 1)
			digits[k++] = *p;
	digits[k] = '\0';
	while (k > 1 && digits[k - 1] == '0')
		digits[--k] = '\0';
	if (*p == 'e')
		exp10 = (int)strtol(p + 1, NULL, 10);
	n = exp10 + 1;	/* the decimal point sits after n digits */
	out[0] = '\0';
	if (d < 0)
		put_str(out, outsz, &o, "-", 1);
	if (k <= n && n <= 21) {
		put_str(out, outsz, &o, digits, (size_t)k);
		put_zeros(out, outsz, &o, n - k);
	} else if (0 < n && n <= 21) {
		put_str(out, outsz, &o, digits, (size_t)n);
		put_str(out, outsz, &o, ".", 1);
		put_str(out, outsz, &o, digits + n, (size_t)(k - n));
	} else if (-6 < n && n <= 0) {
		put_str(out, outsz, &o, "0.", 2);
		put_zeros(out, outsz, &o, -n);
		put_str(out, outsz, &o, digits, (size_t)k);
	} else {
		put_str(out, outsz, &o, digits, 1);
		if (k > 1) {
			put_str(out, outsz, &o, ".", 1);
			put_str(out, outsz, &o, digits + 1, (size_t)(k - 1));
		}
		snprintf(ex, sizeof(ex), "e%c%d", n - 1 < 0 ? '-' : '+',
			 abs(n - 1));
		put_str(out, outsz, &o, ex, strlen(ex));
	}
}

char *expr_to_string(const json_t *v)
{
	char num[40];

	switch (kind_of(v)) {
	case K_NULL:
		return xstrdup("");
	case K_BOOL:
		return xstrdup(json_is_true(v) ? "true" : "false");
	case K_NUM:
		expr_format_number(num, sizeof(num), json_number_value(v));
		return xstrdup(num);
	case K_STR:
		return xstrndup(json_string_value(v), json_string_length(v));
	case K_ARR:
		return xstrdup("Array");
	default:
		return xstrdup("Object");
	}
}

bool expr_truthy(const json_t *v)
{
	double d;

	switch (kind_of(v)) {
	case K_NULL:
		return false;
	case K_BOOL:
		return json_is_true(v);
	case K_NUM:
		d = json_number_value(v);
		return !(d == 0 || isnan(d));
	case K_STR:
		return json_string_length(v) > 0;
	default:
		return true;
	}
}

/* OrdinalIgnoreCase: compare ASCII letters upper-cased. */
static int ci_compare(const json_t *a, const json_t *b)
{
	const unsigned char *x = (const unsigned char *)json_string_value(a);
	const unsigned char *y = (const unsigned char *)json_string_value(b);
	size_t la = json_string_length(a), lb = json_string_length(b), i;

	for (i = 0; i < la && i < lb; i++) {
		int cx = toupper(x[i]), cy = toupper(y[i]);

		if (cx != cy)
			return cx < cy ? -1 : 1;
	}
	return la == lb ? 0 : la < lb ? -1 : 1;
}

bool expr_loose_equal(const json_t *a, const json_t *b)
{
	enum vkind ka = kind_of(a), kb = kind_of(b);

	if (ka == kb) {
		switch (ka) {
		case K_NULL:
			return true;
		case K_BOOL:
			return json_is_true(a) == json_is_true(b);
		case K_NUM:
			return json_number_value(a) == json_number_value(b);
		case K_STR:
			return ci_compare(a, b) == 0;
		default:
			return a == b;	/* the same instance */
		}
	}
	if (ka == K_ARR || ka == K_OBJ || kb == K_ARR || kb == K_OBJ)
		return false;
	return expr_to_number(a) == expr_to_number(b);	/* NaN: false */
}

/* <, <=, >, >=: -2 when not comparable, else -1, 0 or 1. */
static int loose_order(const json_t *a, const json_t *b)
{
	enum vkind ka = kind_of(a), kb = kind_of(b);
	double x, y;

	if (ka == K_ARR || ka == K_OBJ || kb == K_ARR || kb == K_OBJ)
		return -2;
	if (ka == K_STR && kb == K_STR)
		return ci_compare(a, b);
	x = expr_to_number(a);
	y = expr_to_number(b);
	if (isnan(x) || isnan(y))
		return -2;
	return x < y ? -1 : x > y ? 1 : 0;
}

bool expr_ci_contains(const char *hay, size_t hlen, const char *needle,
		      size_t nlen)
{
	char *h, *n;
	size_t i;
	bool found;

	if (nlen == 0)
		return true;
	if (nlen > hlen)
		return false;
	h = xmalloc(hlen);
	n = xmalloc(nlen);
	for (i = 0; i < hlen; i++)
		h[i] = (char)toupper((unsigned char)hay[i]);
	for (i = 0; i < nlen; i++)
		n[i] = (char)toupper((unsigned char)needle[i]);
	found = memmem(h, hlen, n, nlen) != NULL;
	free(h);
	free(n);
	return found;
}

/* Truthiness of a value known or not: -1 when not known. */
static int truth_of(const struct val *v)
{
	if (v->ref)
		return v->truth;
	return expr_truthy(v->j);
}

/* Move src into dst. */
static void val_move(struct val *dst, struct val *src)
{
	expr_val_release(dst);
	*dst = *src;
	src->j = NULL;
	src->ref = NULL;
	src->filtered = false;
}

static int eval_node(struct val *out, const struct expr_node *n,
		     struct ev *ev);

/* Case-insensitive object member, exact spelling first. */
static json_t *member(json_t *obj, const char *key, size_t klen)
{
	const char *k;
	json_t *v;

	v = json_object_getn(obj, key, klen);
	if (v)
		return v;
	json_object_foreach(obj, k, v) {
		if (strlen(k) == klen && !strncasecmp(k, key, klen))
			return v;
	}
	return NULL;
}

/* An index as an array position; -1 when it is none. */
static long long int_index(const json_t *idx)
{
	double d = expr_to_number(idx);

	if (isnan(d) || d < 0)
		return -1;
	d = floor(d);
	if (d > 2147483647.0)
		return -1;
	return (long long)d;
}

static json_t *array_at(json_t *arr, const json_t *idx)
{
	long long i = int_index(idx);

	if (i < 0 || (size_t)i >= json_array_size(arr))
		return NULL;
	return json_array_get(arr, (size_t)i);
}

static json_t *object_at(json_t *obj, const json_t *idx)
{
	char *key;
	json_t *v;

	if (!expr_is_primitive(idx))
		return NULL;
	key = expr_to_string(idx);
	v = member(obj, key, strlen(key));
	free(key);
	return v;
}

/* Append what base[idx] (idx NULL for *) selects to arr (each child of a
 * filtered array is indexed in turn, and missing members are skipped). */
static void select_into(json_t *arr, json_t *base, const json_t *idx)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_object(base)) {
		if (!idx) {
			json_object_foreach(base, k, v)
				json_array_append(arr, v);
		} else if ((v = object_at(base, idx))) {
			json_array_append(arr, v);
		}
	} else if (json_is_array(base)) {
		if (!idx) {
			json_array_foreach(base, i, v)
				json_array_append(arr, v);
		} else if ((v = array_at(base, idx))) {
			json_array_append(arr, v);
		}
	}
}

/* base[idx] or base.* (idx NULL) into out; both known. */
static void index_known(struct val *out, const struct val *base,
			const json_t *idx)
{
	json_t *arr, *v = NULL, *item;
	size_t i;

	if (base->filtered) {
		arr = json_array();
		json_array_foreach(base->j, i, item)
			select_into(arr, item, idx);
		expr_val_set(out, arr);
		out->filtered = true;
		return;
	}
	if (!idx && (json_is_object(base->j) || json_is_array(base->j))) {
		arr = json_array();
		select_into(arr, base->j, NULL);
		expr_val_set(out, arr);
		out->filtered = true;
		return;
	}
	if (idx && json_is_object(base->j))
		v = object_at(base->j, idx);
	else if (idx && json_is_array(base->j))
		v = array_at(base->j, idx);
	expr_val_set(out, json_incref(v ? v : json_null()));
}

/* postfix: kids[0][kids[1]], kids[0].*; an unknown base grows its ref by
 * each literal name ("steps" -> "steps.build.outputs.tag"). */
static int eval_index(struct val *out, const struct expr_node *n,
		      struct ev *ev)
{
	struct val base = VAL_INIT, idx = VAL_INIT;
	const struct expr_node *ik = n->nkids > 1 ? n->kids[1] : NULL;
	int rc = -1;

	if (eval_node(&base, n->kids[0], ev) < 0)
		goto done;
	if (base.ref) {
		if (base.ref_open && ik && ik->kind == EXPR_N_LIT &&
		    json_is_string(ik->lit)) {
			char *grown = xasprintf("%s.%s", base.ref,
						json_string_value(ik->lit));
			char *c;

			for (c = grown; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			free(base.ref);
			base.ref = grown;
		} else {
			base.ref_open = false;
		}
		base.truth = -1;
		base.filtered = false;
		val_move(out, &base);
		rc = 0;
		goto done;
	}
	if (ik) {
		if (eval_node(&idx, ik, ev) < 0)
			goto done;
		if (idx.ref) {
			idx.truth = -1;
			idx.ref_open = false;
			val_move(out, &idx);
			rc = 0;
			goto done;
		}
	}
	index_known(out, &base, ik ? idx.j : NULL);
	rc = 0;
done:
	expr_val_release(&base);
	expr_val_release(&idx);
	return rc;
}

/* && and ||: each returns one of its operands, left to right. */
static int eval_logic(struct val *out, const struct expr_node *n,
		      struct ev *ev)
{
	bool is_and = n->kind == EXPR_N_AND;
	struct val cur = VAL_INIT, next = VAL_INIT;
	size_t i;
	int t, nt, rc = -1;

	if (eval_node(&cur, n->kids[0], ev) < 0)
		goto done;
	for (i = 1; i < n->nkids; i++) {
		t = truth_of(&cur);
		if (t == (is_and ? 0 : 1))
			break;	/* decided */
		if (eval_node(&next, n->kids[i], ev) < 0)
			goto done;
		if (t != -1) {
			val_move(&cur, &next);
			continue;
		}
		/* cur's truth unknown: the result is cur or next */
		nt = truth_of(&next);
		cur.ref_open = false;
		cur.filtered = false;
		cur.truth = nt == (is_and ? 0 : 1) ? nt : -1;
		expr_val_release(&next);
	}
	if (cur.ref)
		cur.ref_open = false;
	val_move(out, &cur);
	rc = 0;
done:
	expr_val_release(&cur);
	expr_val_release(&next);
	return rc;
}

static int eval_compare(struct val *out, const struct expr_node *n,
			struct ev *ev)
{
	struct val a = VAL_INIT, b = VAL_INIT;
	bool r = false;
	int o, rc = -1;

	if (eval_node(&a, n->kids[0], ev) < 0 ||
	    eval_node(&b, n->kids[1], ev) < 0)
		goto done;
	if (a.ref || b.ref) {
		expr_val_unknown(out, a.ref ? a.ref : b.ref, false);
		rc = 0;
		goto done;
	}
	switch (n->kind) {
	case EXPR_N_EQ:
		r = expr_loose_equal(a.j, b.j);
		break;
	case EXPR_N_NE:
		r = !expr_loose_equal(a.j, b.j);
		break;
	default:
		o = loose_order(a.j, b.j);
		if (o == -2)
			r = false;
		else if (n->kind == EXPR_N_LT)
			r = o < 0;
		else if (n->kind == EXPR_N_LE)
			r = o <= 0;
		else if (n->kind == EXPR_N_GT)
			r = o > 0;
		else
			r = o >= 0;
		break;
	}
	expr_val_set(out, json_boolean(r));
	rc = 0;
done:
	expr_val_release(&a);
	expr_val_release(&b);
	return rc;
}

static int eval_call(struct val *out, const struct expr_node *n,
		     struct ev *ev)
{
	struct val *args = xcalloc(n->nkids + 1, sizeof(*args));
	const char *ref = NULL;
	size_t i;
	int rc = -1;

	for (i = 0; i < n->nkids; i++) {
		args[i].truth = -1;
		if (eval_node(&args[i], n->kids[i], ev) < 0)
			goto done;
		if (args[i].ref && !ref)
			ref = args[i].ref;
	}
	if (ref) {
		expr_val_unknown(out, ref, false);
		rc = 0;
		goto done;
	}
	rc = n->fn->call(out, ev, args, n->nkids, n->col);
done:
	for (i = 0; i < n->nkids; i++)
		expr_val_release(&args[i]);
	free(args);
	return rc;
}

static bool is_unknown_context(const struct expr_env *env, const char *name)
{
	size_t i;

	for (i = 0; env->unknown && env->unknown[i]; i++)
		if (!str_casecmp(env->unknown[i], name))
			return true;
	return false;
}

static int eval_node(struct val *out, const struct expr_node *n,
		     struct ev *ev)
{
	json_t *v;
	int t;

	switch (n->kind) {
	case EXPR_N_LIT:
		expr_val_set(out, json_incref(n->lit));
		return 0;
	case EXPR_N_CTX:
		if (is_unknown_context(ev->env, n->name)) {
			expr_val_unknown(out, n->name, true);
			return 0;
		}
		v = NULL;
		if (json_is_object(ev->env->contexts))
			v = member(ev->env->contexts, n->name,
				   strlen(n->name));
		expr_val_set(out, json_incref(v ? v : json_null()));
		return 0;
	case EXPR_N_INDEX:
	case EXPR_N_WILD:
		return eval_index(out, n, ev);
	case EXPR_N_NOT:
		if (eval_node(out, n->kids[0], ev) < 0)
			return -1;
		t = truth_of(out);
		if (t == -1) {
			out->ref_open = false;
			out->filtered = false;
			return 0;
		}
		expr_val_set(out, json_boolean(!t));
		return 0;
	case EXPR_N_AND:
	case EXPR_N_OR:
		return eval_logic(out, n, ev);
	case EXPR_N_CALL:
		return eval_call(out, n, ev);
	default:
		return eval_compare(out, n, ev);
	}
}

int expr_eval_val(struct val *out, const struct expr *x,
		  const struct expr_env *env, struct err *e)
{
	struct ev ev = { env, e };

	expr_val_release(out);
	if (eval_node(out, x->root, &ev) < 0) {
		expr_val_release(out);
		return -1;
	}
	return 0;
}

void expr_set_unknown_msg(struct err *e, const char *ref)
{
	e->code = ERR_NONE;
	e->sys_errno = 0;
	snprintf(e->msg, sizeof(e->msg), "%s", ref);
}

int expr_eval(json_t **out, const struct expr *x, const struct expr_env *env,
	      struct err *e)
{
	struct val v = VAL_INIT;

	*out = NULL;
	if (expr_eval_val(&v, x, env, e) < 0)
		return -1;
	if (v.ref) {
		expr_set_unknown_msg(e, v.ref);
		expr_val_release(&v);
		return EXPR_UNKNOWN;
	}
	*out = v.j;
	return 0;
}
