/*
 * expr_func: the functions an expression may call, as one table.
 *
 * Names are matched case-insensitively; the table gives each function its
 * argument count, checked when parsing. A function receives its arguments
 * evaluated and known (an unknown argument makes the call unknown before
 * it gets here). Strings are built under the EXPR_MAX_STRING cap.
 */
#include "expr_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../lib/buf.h"
#include "../lib/util.h"

#define TOJSON_MAX_DEPTH 1024

static int set_string(struct val *out, struct buf *b)
{
	expr_val_set(out, expr_json_string(b->ptr, b->len));
	return 0;
}

static int too_long(struct err *e, const char *fn, size_t col)
{
	return err_set(e, ERR_LIMIT, "%s at column %zu: result longer than "
		       "%u bytes", fn, col, EXPR_MAX_STRING);
}

/* contains(search, item): a case-insensitive substring of a primitive
 * (both as strings), or an element of an array that == item. */
static int fn_contains(struct val *out, struct ev *ev, const struct val *a,
		       size_t n, size_t col)
{
	bool r = false;
	size_t i;
	json_t *item;

	if (expr_is_primitive(a[0].j) && expr_is_primitive(a[1].j)) {
		char *hay = expr_to_string(a[0].j);
		char *needle = expr_to_string(a[1].j);

		r = expr_ci_contains(hay, strlen(hay), needle, strlen(needle));
		free(hay);
		free(needle);
	} else if (json_is_array(a[0].j)) {
		json_array_foreach(a[0].j, i, item) {
			if (expr_loose_equal(item, a[1].j)) {
				r = true;
				break;
			}
		}
	}
	expr_val_set(out, json_boolean(r));
	return 0;
}

/* startsWith / endsWith: case-insensitive, both sides as strings; false
 * when either is an array or an object. */
static int affix(struct val *out, const struct val *a, bool at_end)
{
	bool r = false;

	if (expr_is_primitive(a[0].j) && expr_is_primitive(a[1].j)) {
		char *s = expr_to_string(a[0].j);
		char *x = expr_to_string(a[1].j);
		size_t ls = strlen(s), lx = strlen(x);

		if (lx <= ls)
			r = !strncasecmp(at_end ? s + ls - lx : s, x, lx);
		free(s);
		free(x);
	}
	expr_val_set(out, json_boolean(r));
	return 0;
}

static int fn_starts_with(struct val *out, struct ev *ev,
			  const struct val *a, size_t n, size_t col)
{
	return affix(out, a, false);
}

static int fn_ends_with(struct val *out, struct ev *ev, const struct val *a,
			size_t n, size_t col)
{
	return affix(out, a, true);
}

/* format(fmt, args...): {N} is argument N as a string, {{ and }} are
 * literal braces; any other brace, or a missing argument, is an error. */
static int fn_format(struct val *out, struct ev *ev, const struct val *a,
		     size_t n, size_t col)
{
	char *fmt = expr_to_string(a[0].j), **strs;
	size_t len = strlen(fmt), i = 0, nargs = n - 1, k;
	struct buf b;
	int rc = -1;

	strs = xcalloc(nargs + 1, sizeof(*strs));
	buf_init(&b, EXPR_MAX_STRING);
	while (i < len) {
		char c = fmt[i];
		size_t j, idx = 0;

		if (c == '{' && i + 1 < len && fmt[i + 1] == '{') {
			if (buf_addch(&b, '{') < 0)
				goto long_;
			i += 2;
		} else if (c == '}' && i + 1 < len && fmt[i + 1] == '}') {
			if (buf_addch(&b, '}') < 0)
				goto long_;
			i += 2;
		} else if (c == '{') {
			for (j = i + 1; j < len && j < i + 4 &&
			     fmt[j] >= '0' && fmt[j] <= '9'; j++)
				idx = idx * 10 + (size_t)(fmt[j] - '0');
			if (j == i + 1 || j >= len || fmt[j] != '}' ||
			    idx > 255) {
				/* the format string is not quoted: it may be
				 * (or hold) a secret */
				err_set(ev->e, ERR_INVALID, "format at column "
					"%zu: invalid format string (a '{' at "
					"character %zu is not {N})", col, i + 1);
				goto done;
			}
			if (idx >= nargs) {
				err_set(ev->e, ERR_INVALID, "format at column "
					"%zu: the format string references argument "
					"{%zu} but %zu %s given", col,
					idx, nargs,
					nargs == 1 ? "was" : "were");
				goto done;
			}
			if (!strs[idx])
				strs[idx] = expr_to_string(a[idx + 1].j);
			if (buf_adds(&b, strs[idx]) < 0)
				goto long_;
			i = j + 1;
		} else if (c == '}') {
			err_set(ev->e, ERR_INVALID, "format at column %zu: "
				"invalid format string (a '}' at character %zu "
				"is not }})", col, i + 1);
			goto done;
		} else {
			if (buf_addch(&b, c) < 0)
				goto long_;
			i++;
		}
	}
	rc = set_string(out, &b);
	goto done;
long_:
	too_long(ev->e, "format", col);
done:
	for (k = 0; k < nargs; k++)
		free(strs[k]);
	free(strs);
	free(fmt);
	buf_release(&b);
	return rc;
}

/* join(array, sep = ','): the elements as strings between sep; a primitive
 * is its own string; anything else is ''. */
static int fn_join(struct val *out, struct ev *ev, const struct val *a,
		   size_t n, size_t col)
{
	char *sep, *s;
	struct buf b;
	size_t i;
	json_t *item;
	int rc = 0;

	if (expr_is_primitive(a[0].j)) {
		s = expr_to_string(a[0].j);
		expr_val_set(out, expr_json_string(s, strlen(s)));
		free(s);
		return 0;
	}
	buf_init(&b, EXPR_MAX_STRING);
	if (json_is_array(a[0].j)) {
		if (n > 1 && expr_is_primitive(a[1].j))
			sep = expr_to_string(a[1].j);
		else
			sep = xstrdup(",");
		json_array_foreach(a[0].j, i, item) {
			s = expr_to_string(item);
			if ((i && buf_adds(&b, sep) < 0) ||
			    buf_adds(&b, s) < 0)
				rc = -1;
			free(s);
			if (rc < 0)
				break;
		}
		free(sep);
	}
	if (rc == 0)
		set_string(out, &b);
	else
		too_long(ev->e, "join", col);
	buf_release(&b);
	return rc;
}

static int json_string_out(struct buf *b, const char *s, size_t len)
{
	size_t i;
	int rc = buf_addch(b, '"');

	for (i = 0; i < len && rc == 0; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"')
			rc = buf_adds(b, "\\\"");
		else if (c == '\\')
			rc = buf_adds(b, "\\\\");
		else if (c == '\n')
			rc = buf_adds(b, "\\n");
		else if (c == '\r')
			rc = buf_adds(b, "\\r");
		else if (c == '\t')
			rc = buf_adds(b, "\\t");
		else if (c == '\b')
			rc = buf_adds(b, "\\b");
		else if (c == '\f')
			rc = buf_adds(b, "\\f");
		else if (c < 0x20)
			rc = buf_printf(b, "\\u%04x", c);
		else
			rc = buf_addch(b, (char)c);
	}
	return rc < 0 ? -1 : buf_addch(b, '"');
}

static int indent(struct buf *b, int depth)
{
	int i;

	if (buf_addch(b, '\n') < 0)
		return -1;
	for (i = 0; i < depth; i++)
		if (buf_adds(b, "  ") < 0)
			return -1;
	return 0;
}

/* 0, -1 over the size cap, -2 over the depth cap. */
static int json_out(struct buf *b, const json_t *v, int depth)
{
	char num[40];
	const char *k;
	json_t *item;
	size_t i, n = 0;
	double d;

	if (depth > TOJSON_MAX_DEPTH)
		return -2;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		if (json_object_size(v) == 0)
			return buf_adds(b, "{}");
		if (buf_addch(b, '{') < 0)
			return -1;
		json_object_foreach((json_t *)v, k, item) {
			int rc;

			if ((n++ && buf_addch(b, ',') < 0) ||
			    indent(b, depth + 1) < 0 ||
			    json_string_out(b, k, strlen(k)) < 0 ||
			    buf_adds(b, ": ") < 0)
				return -1;
			if ((rc = json_out(b, item, depth + 1)) < 0)
				return rc;
		}
		if (indent(b, depth) < 0)
			return -1;
		return buf_addch(b, '}');
	case JSON_ARRAY:
		if (json_array_size(v) == 0)
			return buf_adds(b, "[]");
		if (buf_addch(b, '[') < 0)
			return -1;
		json_array_foreach((json_t *)v, i, item) {
			int rc;

			if ((i && buf_addch(b, ',') < 0) ||
			    indent(b, depth + 1) < 0)
				return -1;
			if ((rc = json_out(b, item, depth + 1)) < 0)
				return rc;
		}
		if (indent(b, depth) < 0)
			return -1;
		return buf_addch(b, ']');
	case JSON_STRING:
		return json_string_out(b, json_string_value(v),
				       json_string_length(v));
	case JSON_INTEGER:
		return buf_printf(b, "%lld",
				  (long long)json_integer_value(v));
	case JSON_REAL:
		d = json_real_value(v);
		expr_format_number(num, sizeof(num), d);
		return buf_adds(b, num);
	case JSON_TRUE:
		return buf_adds(b, "true");
	case JSON_FALSE:
		return buf_adds(b, "false");
	default:
		return buf_adds(b, "null");
	}
}

int expr_to_json_text(char **out, const json_t *v, struct err *e)
{
	struct buf b;
	int rc;

	buf_init(&b, EXPR_MAX_STRING);
	rc = json_out(&b, v, 0);
	if (rc == 0) {
		*out = buf_detach(&b, NULL);
		return 0;
	}
	buf_release(&b);
	*out = NULL;
	if (rc == -2)
		return err_set(e, ERR_LIMIT, "value nested deeper than %d "
			       "levels", TOJSON_MAX_DEPTH);
	return err_set(e, ERR_LIMIT, "result longer than %u bytes",
		       EXPR_MAX_STRING);
}

/* toJSON(value): pretty-printed with a 2-space indent. */
static int fn_to_json(struct val *out, struct ev *ev, const struct val *a,
		      size_t n, size_t col)
{
	char *text;

	if (expr_to_json_text(&text, a[0].j, ev->e) < 0)
		return err_wrap(ev->e, "toJSON at column %zu", col);
	expr_val_set(out, expr_json_string(text, strlen(text)));
	free(text);
	return 0;
}

/* fromJSON(text): any JSON value; invalid JSON is an error. */
static int fn_from_json(struct val *out, struct ev *ev, const struct val *a,
			size_t n, size_t col)
{
	char *text = expr_to_string(a[0].j);
	size_t len = json_is_string(a[0].j) ? json_string_length(a[0].j) :
		     strlen(text);
	json_error_t jerr;
	json_t *v;

	v = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
	if (!v && json_error_code(&jerr) == json_error_numeric_overflow)
		v = json_loadb(text, len,
			       JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL,
			       &jerr);
	free(text);
	if (!v)
		/* jansson's text quotes a piece of the input, which may be a
		 * piece of a secret that masking would not recognize */
		return err_set(ev->e, ERR_INVALID, "fromJSON at column %zu: "
			       "invalid JSON at line %d, column %d "
			       "(byte %d)", col, jerr.line, jerr.column,
			       jerr.position);
	expr_val_set(out, v);
	return 0;
}

/* hashFiles(patterns...): through the environment's callback. */
static int fn_hash_files(struct val *out, struct ev *ev,
			 const struct val *a, size_t n, size_t col)
{
	char **pats = xcalloc(n + 1, sizeof(*pats)), *hash = NULL;
	size_t i;
	int rc = -1;

	if (!ev->env->hash_files) {
		err_set(ev->e, ERR_INVALID, "hashFiles at column %zu: not "
			"available here", col);
		goto done;
	}
	for (i = 0; i < n; i++)
		pats[i] = expr_to_string(a[i].j);
	if (ev->env->hash_files(&hash, ev->env->ud,
				(const char *const *)pats, n, ev->e) < 0) {
		err_wrap(ev->e, "hashFiles at column %zu", col);
		goto done;
	}
	expr_val_set(out, expr_json_string(hash ? hash : "",
					   hash ? strlen(hash) : 0));
	rc = 0;
done:
	for (i = 0; i < n; i++)
		free(pats[i]);
	free(pats);
	free(hash);
	return rc;
}

static int status_is(struct val *out, struct ev *ev, enum expr_status st)
{
	if (ev->env->status_unknown)
		expr_val_unknown(out, "job status", false);
	else
		expr_val_set(out, json_boolean(ev->env->status == st));
	return 0;
}

static int fn_success(struct val *out, struct ev *ev, const struct val *a,
		      size_t n, size_t col)
{
	return status_is(out, ev, EXPR_STATUS_SUCCESS);
}

static int fn_failure(struct val *out, struct ev *ev, const struct val *a,
		      size_t n, size_t col)
{
	return status_is(out, ev, EXPR_STATUS_FAILURE);
}

static int fn_cancelled(struct val *out, struct ev *ev, const struct val *a,
			size_t n, size_t col)
{
	return status_is(out, ev, EXPR_STATUS_CANCELLED);
}

static int fn_always(struct val *out, struct ev *ev, const struct val *a,
		     size_t n, size_t col)
{
	expr_val_set(out, json_true());
	return 0;
}

static const struct expr_func funcs[] = {
	{ "contains", 2, 2, false, fn_contains },
	{ "startsWith", 2, 2, false, fn_starts_with },
	{ "endsWith", 2, 2, false, fn_ends_with },
	{ "format", 1, 256, false, fn_format },
	{ "join", 1, 2, false, fn_join },
	{ "toJSON", 1, 1, false, fn_to_json },
	{ "fromJSON", 1, 1, false, fn_from_json },
	{ "hashFiles", 1, 256, false, fn_hash_files },
	{ "success", 0, 0, true, fn_success },
	{ "always", 0, 0, true, fn_always },
	{ "cancelled", 0, 0, true, fn_cancelled },
	{ "failure", 0, 0, true, fn_failure },
};

const struct expr_func *expr_func_lookup(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(funcs); i++)
		if (strlen(funcs[i].name) == len &&
		    !strncasecmp(funcs[i].name, name, len))
			return &funcs[i];
	return NULL;
}
