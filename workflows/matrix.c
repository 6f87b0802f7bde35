/*
 * matrix: strategy.matrix expanded into job instances.
 *
 * The order of work follows GitHub's matrix builder: take the product of
 * the dimensions (first dimension slowest), drop each combination an
 * exclude entry matches, add to each survivor the extra keys of every
 * include entry that matches it, then append, in order, the include
 * entries that matched no combination at all.
 *
 * Matching (include and exclude alike) is GitHub's: every leaf of the
 * entry's value is compared with the value at the same path in the
 * combination, with the expression language's loose equality
 * (case-insensitive strings, numbers from strings, null == 0). So a
 * nested mapping in an entry matches on the keys it names, and an include
 * entry whose keys are all non-dimensions matches every combination.
 * An include entry's dimension keys only select; its other keys are what
 * it adds, so an original dimension value is never overwritten, while a
 * value added by an earlier entry can be.
 */
#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "../lib/util.h"
#include "matrix.h"

/* The product is walked in full before excludes shrink it; past this
 * many raw combinations we refuse rather than loop for minutes. */
#define MATRIX_PRODUCT_MAX (MATRIX_MAX * 256)
/* Nested values deeper than this are not compared or labelled further;
 * the YAML loader already caps depth well below it. */
#define MATRIX_DEPTH_MAX 64

struct dim {
	const char *key;	/* borrowed from the matrix */
	const json_t *values;	/* borrowed array */
};

struct inc {
	const json_t *entry;	/* borrowed object */
	bool matched;
};

/* A string as an expression number: empty (or blank) is 0, a whole
 * decimal, hex (0x) or exponent form is its value, anything else NaN. */
static double str_number(const char *s)
{
	const char *p = s, *q;
	char *end;
	double d;

	while (isspace((unsigned char)*p))
		p++;
	if (!*p)
		return 0;
	q = p;
	if (*q == '+' || *q == '-')
		q++;
	if (!isdigit((unsigned char)*q) && *q != '.')
		return NAN;	/* no "inf", "nan", "infinity" */
	d = strtod(p, &end);
	while (isspace((unsigned char)*end))
		end++;
	return *end ? NAN : d;
}

static double to_number(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_NULL:
	case JSON_FALSE:
		return 0;
	case JSON_TRUE:
		return 1;
	case JSON_INTEGER:
	case JSON_REAL:
		return json_number_value(v);
	case JSON_STRING:
		return str_number(json_string_value(v));
	default:
		return NAN;
	}
}

static bool is_num(const json_t *v)
{
	return json_is_integer(v) || json_is_real(v);
}

/* The expression language's ==, for a leaf of an entry (never an object
 * or array) against whatever the combination holds there (NULL: absent,
 * which reads as null). */
static bool loose_equal(const json_t *a, const json_t *b)
{
	json_t *null = json_null();

	if (!b)
		b = null;
	if (json_is_object(b) || json_is_array(b))
		return false;
	if (is_num(a) && is_num(b))
		return json_number_value(a) == json_number_value(b);
	if (json_typeof(a) == json_typeof(b)) {
		if (json_is_string(a))
			return str_casecmp(json_string_value(a),
					   json_string_value(b)) == 0;
		return true;	/* null, true, false */
	}
	if (json_is_boolean(a) && json_is_boolean(b))
		return false;
	return to_number(a) == to_number(b);	/* NaN != NaN */
}

/* Whether every leaf of want equals the value at its path in have. */
static bool leaves_match(const json_t *want, const json_t *have, int depth)
{
	const char *k;
	json_t *v;
	size_t i;

	if (depth > MATRIX_DEPTH_MAX)
		return false;
	if (json_is_object(want)) {
		json_object_foreach((json_t *)want, k, v) {
			const json_t *h = json_is_object(have) ?
				json_object_get(have, k) : NULL;

			if (!leaves_match(v, h, depth + 1))
				return false;
		}
		return true;
	}
	if (json_is_array(want)) {
		json_array_foreach(want, i, v) {
			const json_t *h = json_is_array(have) ?
				json_array_get(have, i) : NULL;

			if (!leaves_match(v, h, depth + 1))
				return false;
		}
		return true;
	}
	return loose_equal(want, have);
}

static bool is_dimension(const char *key)
{
	return strcmp(key, "include") && strcmp(key, "exclude");
}

/* key names a dimension of matrix. */
static bool is_dim_key(const json_t *matrix, const char *key)
{
	return is_dimension(key) && json_object_get(matrix, key);
}

/* Whether the entry's keys that are dimensions all match combo. */
static bool entry_matches(const json_t *entry, const json_t *combo,
			  const json_t *matrix)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)entry, k, v) {
		if (!is_dim_key(matrix, k))
			continue;	/* an include's extra key */
		if (!leaves_match(v, json_object_get(combo, k), 0))
			return false;
	}
	return true;
}


/* include/exclude: absent or null is none; otherwise a list of non-empty
 * mappings. */
static int check_entries(const json_t *matrix, const char *which,
			 struct err *e)
{
	const json_t *list = json_object_get(matrix, which);
	json_t *entry;
	size_t i;

	if (!list || json_is_null(list))
		return 0;
	if (!json_is_array(list))
		return err_set(e, ERR_INVALID,
			       "matrix %s must be a list of mappings", which);
	json_array_foreach(list, i, entry) {
		const char *k;
		json_t *v;

		if (!json_is_object(entry))
			return err_set(e, ERR_INVALID,
				       "matrix %s entry %zu must be a mapping",
				       which, i + 1);
		if (!json_object_size(entry))
			return err_set(e, ERR_INVALID,
				       "matrix %s entry %zu is empty",
				       which, i + 1);
		if (strcmp(which, "exclude"))
			continue;
		json_object_foreach(entry, k, v) {
			if (!is_dim_key(matrix, k))
				return err_set(e, ERR_INVALID,
					       "matrix exclude key '%s' does not match any key within the matrix",
					       k);
		}
	}
	return 0;
}

static bool excluded(const json_t *combo, const json_t *matrix)
{
	const json_t *list = json_object_get(matrix, "exclude");
	json_t *entry;
	size_t i;

	if (!json_is_array(list))
		return false;
	json_array_foreach(list, i, entry) {
		if (entry_matches(entry, combo, matrix))
			return true;
	}
	return false;
}

/* Add the extra keys of each include entry matching combo (which holds
 * only original values while we test it, so later entries select on
 * originals, never on what earlier entries added). */
static void apply_includes(json_t *combo, const json_t *matrix,
			   struct inc *incs, size_t n_inc)
{
	json_t *extra = json_object();
	const char *k;
	json_t *v;
	size_t i;

	for (i = 0; i < n_inc; i++) {
		if (!entry_matches(incs[i].entry, combo, matrix))
			continue;
		incs[i].matched = true;
		json_object_foreach((json_t *)incs[i].entry, k, v) {
			if (!is_dim_key(matrix, k))
				json_object_set_new(extra, k, json_deep_copy(v));
		}
	}
	json_object_update(combo, extra);
	json_decref(extra);
}

/* An unmatched include entry as a combination of its own: its dimension
 * keys first, then the others, each in the entry's order. */
static json_t *include_alone(const json_t *entry, const json_t *matrix)
{
	json_t *combo = json_object();
	const char *k;
	json_t *v;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		json_object_foreach((json_t *)entry, k, v) {
			bool dim = is_dim_key(matrix, k);

			if (dim == (pass == 0))
				json_object_set_new(combo, k, json_deep_copy(v));
		}
	}
	return combo;
}

static int too_many(size_t n, struct err *e)
{
	return err_set(e, ERR_LIMIT,
		       "matrix expands to %zu jobs; at most %d are allowed",
		       n, MATRIX_MAX);
}

int matrix_expand(json_t **out, const json_t *matrix, struct err *e)
{
	struct dim *dims = NULL;
	struct inc *incs = NULL;
	size_t n_dims = 0, n_inc = 0, product = 1, idx, i;
	const json_t *inc_list;
	json_t *result = NULL, *v;
	const char *k;
	int ret = -1;

	if (!json_is_object(matrix)) {
		err_set(e, ERR_INVALID, "matrix must be a mapping");
		goto done;
	}
	dims = xcalloc(json_object_size(matrix) + 1, sizeof(*dims));
	json_object_foreach((json_t *)matrix, k, v) {
		if (!is_dimension(k))
			continue;
		if (!json_is_array(v)) {
			err_set(e, ERR_INVALID,
				"matrix dimension '%s' must be a list", k);
			goto done;
		}
		if (!json_array_size(v)) {
			err_set(e, ERR_INVALID,
				"matrix dimension '%s' is an empty list: matrix must define at least one vector",
				k);
			goto done;
		}
		dims[n_dims].key = k;
		dims[n_dims].values = v;
		n_dims++;
		product *= json_array_size(v);
		if (product > MATRIX_PRODUCT_MAX) {
			err_set(e, ERR_LIMIT,
				"matrix has over %d combinations before exclude; at most %d jobs are allowed",
				MATRIX_PRODUCT_MAX, MATRIX_MAX);
			goto done;
		}
	}
	if (!n_dims)
		product = 0;
	if (check_entries(matrix, "exclude", e) < 0 ||
	    check_entries(matrix, "include", e) < 0)
		goto done;

	inc_list = json_object_get(matrix, "include");
	n_inc = json_is_array(inc_list) ? json_array_size(inc_list) : 0;
	incs = xcalloc(n_inc + 1, sizeof(*incs));
	for (i = 0; i < n_inc; i++)
		incs[i].entry = json_array_get(inc_list, i);

	result = json_array();
	for (idx = 0; idx < product; idx++) {
		json_t *combo = json_object();
		size_t block = product;

		for (i = 0; i < n_dims; i++) {
			size_t n = json_array_size(dims[i].values);

			block /= n;
			json_object_set_new(combo, dims[i].key, json_deep_copy(
				json_array_get(dims[i].values, (idx / block) % n)));
		}
		if (excluded(combo, matrix)) {
			json_decref(combo);
			continue;
		}
		apply_includes(combo, matrix, incs, n_inc);
		json_array_append_new(result, combo);
		if (json_array_size(result) > MATRIX_MAX) {
			too_many(json_array_size(result), e);
			goto done;
		}
	}
	for (i = 0; i < n_inc; i++) {
		if (incs[i].matched)
			continue;
		json_array_append_new(result, include_alone(incs[i].entry, matrix));
	}
	if (json_array_size(result) > MATRIX_MAX) {
		too_many(json_array_size(result), e);
		goto done;
	}
	if (!json_array_size(result)) {
		err_set(e, ERR_INVALID,
			"matrix has no combinations left: matrix must define at least one vector");
		goto done;
	}
	*out = result;
	result = NULL;
	ret = 0;
done:
	json_decref(result);
	free(dims);
	free(incs);
	return ret;
}

/* A number as GitHub's expressions print it: integers without a point,
 * others in the shortest form that reads back the same. */
static void add_number(struct buf *b, double d)
{
	char tmp[64];
	int prec;

	if (d == floor(d) && fabs(d) < 1e15) {
		buf_printf(b, "%.0f", d == 0 ? 0.0 : d);
		return;
	}
	for (prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	buf_adds(b, tmp);
}

/* Scalars of v in document order, nested values walked depth first;
 * null and empty strings leave no segment, as on GitHub. */
static void add_segments(struct buf *b, const json_t *v, int depth)
{
	const char *k;
	json_t *c;
	size_t i;
	size_t before = b->len;

	if (depth > MATRIX_DEPTH_MAX)
		return;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		json_object_foreach((json_t *)v, k, c)
			add_segments(b, c, depth + 1);
		return;
	case JSON_ARRAY:
		json_array_foreach(v, i, c)
			add_segments(b, c, depth + 1);
		return;
	case JSON_NULL:
		return;
	case JSON_STRING:
		if (!json_string_length(v))
			return;
		break;
	default:
		break;
	}
	if (before)
		buf_adds(b, ", ");
	if (json_is_string(v))
		buf_add(b, json_string_value(v), json_string_length(v));
	else if (json_is_boolean(v))
		buf_adds(b, json_is_true(v) ? "true" : "false");
	else
		add_number(b, json_number_value(v));
}

char *matrix_label(const json_t *combination)
{
	struct buf b = BUF_INIT;

	if (combination)
		add_segments(&b, combination, 0);
	return buf_detach(&b, NULL);
}
