/*
 * yml_read: reading a loaded YAML tree: mapping look-ups, the YAML 1.2
 * core schema's typing of plain scalars, and conversion to JSON. The
 * loader itself is yml.c.
 */
#include "yml.h"
#include "../lib/util.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- reading the tree ---- */

static const struct yml_pair *find_pair(const struct yml_node *map,
					const char *key)
{
	size_t len, i;

	if (!map || map->kind != YML_MAP || !key)
		return NULL;
	len = strlen(key);
	for (i = 0; i < map->n_pairs; i++) {
		const struct yml_node *k = map->pairs[i].key;

		if (k->len == len && !memcmp(k->str, key, len))
			return &map->pairs[i];
	}
	return NULL;
}

const struct yml_node *yml_get(const struct yml_node *map, const char *key)
{
	const struct yml_pair *p = find_pair(map, key);

	return p ? p->val : NULL;
}

const struct yml_node *yml_get_key(const struct yml_node *map, const char *key)
{
	const struct yml_pair *p = find_pair(map, key);

	return p ? p->key : NULL;
}

/* Whether the scalar's bytes are exactly one of the words. */
static bool scalar_is(const struct yml_node *n, const char *const *words,
		      size_t n_words)
{
	size_t i;

	for (i = 0; i < n_words; i++)
		if (strlen(words[i]) == n->len &&
		    !memcmp(n->str, words[i], n->len))
			return true;
	return false;
}

static bool plain_scalar(const struct yml_node *n)
{
	return n && n->kind == YML_SCALAR && n->style == YML_PLAIN;
}

/* A NULL node (missing document) reads as null too. */
bool yml_is_null(const struct yml_node *n)
{
	static const char *const words[] = { "", "~", "null", "Null", "NULL" };

	if (!n)
		return true;
	return plain_scalar(n) && scalar_is(n, words, ARRAY_SIZE(words));
}

int yml_bool(const struct yml_node *n, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE" };
	static const char *const no[] = { "false", "False", "FALSE" };

	if (!plain_scalar(n))
		return -1;
	if (scalar_is(n, yes, ARRAY_SIZE(yes)))
		*out = true;
	else if (scalar_is(n, no, ARRAY_SIZE(no)))
		*out = false;
	else
		return -1;
	return 0;
}

static size_t span(const char *s, size_t len, const char *set)
{
	size_t i = 0;

	while (i < len && s[i] && strchr(set, s[i]))
		i++;
	return i;
}

#define DIGITS "0123456789"

/* int ::= [-+]? [0-9]+ | 0o [0-7]+ | 0x [0-9a-fA-F]+
 * Sets *base (10, 8 or 16) and *skip (prefix before the digits). */
static bool core_int(const struct yml_node *n, int *base, size_t *skip)
{
	const char *s = n->str;
	size_t len = n->len, i = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
		*base = s[1] == 'o' ? 8 : 16;
		*skip = 2;
		return span(s + 2, len - 2, *base == 8 ? "01234567" :
			    DIGITS "abcdefABCDEF") == len - 2;
	}
	if (i < len && (s[i] == '-' || s[i] == '+'))
		i++;
	*base = 10;
	*skip = 0;
	return i < len && span(s + i, len - i, DIGITS) == len - i;
}

/* float ::= [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
 *         | [-+]? \. ( inf | Inf | INF ) | \. ( nan | NaN | NAN ) */
static bool core_float(const struct yml_node *n, double *out)
{
	static const char *const inf[] = { ".inf", ".Inf", ".INF" };
	static const char *const nan_[] = { ".nan", ".NaN", ".NAN" };
	const char *s = n->str;
	size_t len = n->len, i = 0, d, f = 0;
	struct yml_node rest = *n;
	bool neg = false;

	if (scalar_is(n, nan_, ARRAY_SIZE(nan_))) {
		*out = NAN;
		return true;
	}
	if (i < len && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	rest.str = n->str + i;
	rest.len = len - i;
	if (scalar_is(&rest, inf, ARRAY_SIZE(inf))) {
		*out = neg ? -INFINITY : INFINITY;
		return true;
	}
	d = span(s + i, len - i, DIGITS);
	i += d;
	if (i < len && s[i] == '.') {
		i++;
		f = span(s + i, len - i, DIGITS);
		i += f;
	}
	if (!d && !f)
		return false;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '-' || s[i] == '+'))
			i++;
		d = span(s + i, len - i, DIGITS);
		if (!d)
			return false;
		i += d;
	}
	if (i != len)
		return false;
	*out = strtod(n->str, NULL);
	return true;
}

/* The scalar's bytes as a C string, or false when it holds a NUL. */
static bool whole_string(const struct yml_node *n)
{
	return strlen(n->str) == n->len;
}

int yml_number(const struct yml_node *n, double *out)
{
	int base;
	size_t skip;

	if (!plain_scalar(n) || !whole_string(n))
		return -1;
	if (core_int(n, &base, &skip)) {
		if (base == 10)
			*out = strtod(n->str, NULL);
		else
			*out = (double)strtoull(n->str + skip, NULL, base);
		return 0;
	}
	return core_float(n, out) ? 0 : -1;
}

/* An integer scalar as JSON: an integer when it fits, a real otherwise. */
static json_t *int_json(const struct yml_node *n, int base, size_t skip)
{
	unsigned long long u;
	long long v;

	errno = 0;
	if (base == 10) {
		v = strtoll(n->str, NULL, 10);
		if (errno == ERANGE)
			return json_real(strtod(n->str, NULL));
		return json_integer(v);
	}
	u = strtoull(n->str + skip, NULL, base);
	if (errno == ERANGE || u > (unsigned long long)LLONG_MAX)
		return json_real((double)u);
	return json_integer((json_int_t)u);
}

/* A JSON string of the bytes; libyaml hands us valid UTF-8, but should a
 * byte sequence still be refused, non-ASCII bytes become '?'. */
static json_t *str_json(const char *s, size_t len)
{
	json_t *j = json_stringn(s, len);
	char *copy;
	size_t i;

	if (j)
		return j;
	copy = xstrndup(s, len);
	for (i = 0; i < len; i++)
		if ((unsigned char)copy[i] >= 0x80)
			copy[i] = '?';
	j = json_stringn(copy, len);
	free(copy);
	return j;
}

static json_t *scalar_json(const struct yml_node *n)
{
	json_t *j;
	bool b;
	double d;
	int base;
	size_t skip;

	if (n->style != YML_PLAIN || !whole_string(n))
		return str_json(n->str, n->len);
	if (yml_is_null(n))
		return json_null();
	if (!yml_bool(n, &b))
		return json_boolean(b);
	if (core_int(n, &base, &skip) && (j = int_json(n, base, skip)))
		return j;
	if (core_float(n, &d) && isfinite(d))
		return json_real(d);
	/* JSON has no infinity or NaN: those stay as written. */
	return str_json(n->str, n->len);
}

json_t *yml_to_json(const struct yml_node *n)
{
	json_t *j;
	size_t i;

	if (!n)
		return json_null();
	switch (n->kind) {
	case YML_SEQ:
		j = json_array();
		for (i = 0; j && i < n->n_items; i++)
			json_array_append_new(j, yml_to_json(n->items[i]));
		return j;
	case YML_MAP:
		j = json_object();
		for (i = 0; j && i < n->n_pairs; i++) {
			const struct yml_node *k = n->pairs[i].key;
			json_t *key = str_json(k->str, k->len);

			/* setn_new takes the value even when it fails. */
			json_object_setn_new(j, json_string_value(key),
					     json_string_length(key),
					     yml_to_json(n->pairs[i].val));
			json_decref(key);
		}
		return j;
	default:
		return scalar_json(n);
	}
}

const char *yml_kind_name(const struct yml_node *n)
{
	double d;
	bool b;

	if (!n)
		return "null";
	if (n->kind == YML_SEQ)
		return "sequence";
	if (n->kind == YML_MAP)
		return "mapping";
	if (yml_is_null(n))
		return "null";
	if (!yml_bool(n, &b))
		return "boolean";
	if (!yml_number(n, &d))
		return "number";
	return "string";
}
