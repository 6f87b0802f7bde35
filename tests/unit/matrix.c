/* Unit tests for workflows/matrix.c: GitHub's matrix expansion, with the
 * worked examples of GitHub's documentation ("Using a matrix for your
 * jobs") as facts. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "workflows/matrix.h"

static json_t *parse(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, 0, &jerr);

	if (!v)
		fail_msg("bad test JSON: %s: %s", jerr.text, text);
	return v;
}

/* Expand matrix (JSON text) and compare with want (JSON text), key order
 * included: both are dumped compactly in insertion order. */
static void check(const char *matrix, const char *want)
{
	struct err e = ERR_INIT;
	json_t *m = parse(matrix), *w = parse(want), *got = NULL;
	char *gs, *ws;

	if (matrix_expand(&got, m, &e) < 0)
		fail_msg("matrix_expand failed: %s", e.msg);
	gs = json_dumps(got, JSON_COMPACT);
	ws = json_dumps(w, JSON_COMPACT);
	if (strcmp(gs, ws))
		fail_msg("got  %s\nwant %s", gs, ws);
	free(gs);
	free(ws);
	json_decref(got);
	json_decref(m);
	json_decref(w);
}

/* Expand matrix and expect a failure with code and msg inside. */
static void check_err(const char *matrix, enum err_code code, const char *msg)
{
	struct err e = ERR_INIT;
	json_t *m = parse(matrix), *got = NULL;

	assert_int_equal(matrix_expand(&got, m, &e), -1);
	assert_null(got);
	assert_int_equal(e.code, code);
	if (!strstr(e.msg, msg))
		fail_msg("error '%s' does not say '%s'", e.msg, msg);
	json_decref(m);
}

/* Number of combinations of a matrix that must expand. */
static size_t count(const char *matrix)
{
	struct err e = ERR_INIT;
	json_t *m = parse(matrix), *got = NULL;
	size_t n;

	if (matrix_expand(&got, m, &e) < 0)
		fail_msg("matrix_expand failed: %s", e.msg);
	n = json_array_size(got);
	json_decref(got);
	json_decref(m);
	return n;
}

static void check_label(const char *combo, const char *want)
{
	json_t *c = parse(combo);
	char *got = matrix_label(c);

	assert_string_equal(got, want);
	free(got);
	json_decref(c);
}

/* "The order of the variables in the matrix determines the order in
 * which the jobs are created." */
static void test_matrix_docs_order(void **state)
{
	check("{\"version\":[10,12,14],\"os\":[\"ubuntu-latest\",\"windows-latest\"]}",
	      "[{\"version\":10,\"os\":\"ubuntu-latest\"},"
	      "{\"version\":10,\"os\":\"windows-latest\"},"
	      "{\"version\":12,\"os\":\"ubuntu-latest\"},"
	      "{\"version\":12,\"os\":\"windows-latest\"},"
	      "{\"version\":14,\"os\":\"ubuntu-latest\"},"
	      "{\"version\":14,\"os\":\"windows-latest\"}]");
}

static void test_matrix_single_dimension(void **state)
{
	check("{\"version\":[10,12,14]}",
	      "[{\"version\":10},{\"version\":12},{\"version\":14}]");
}

/* The worked example under "Expanding or adding matrix configurations". */
static void test_matrix_docs_include_worked_example(void **state)
{
	check("{\"fruit\":[\"apple\",\"pear\"],\"animal\":[\"cat\",\"dog\"],"
	      "\"include\":["
	      "{\"color\":\"green\"},"
	      "{\"color\":\"pink\",\"animal\":\"cat\"},"
	      "{\"fruit\":\"apple\",\"shape\":\"circle\"},"
	      "{\"fruit\":\"banana\"},"
	      "{\"fruit\":\"banana\",\"animal\":\"cat\"}]}",
	      "[{\"fruit\":\"apple\",\"animal\":\"cat\",\"color\":\"pink\",\"shape\":\"circle\"},"
	      "{\"fruit\":\"apple\",\"animal\":\"dog\",\"color\":\"green\",\"shape\":\"circle\"},"
	      "{\"fruit\":\"pear\",\"animal\":\"cat\",\"color\":\"pink\"},"
	      "{\"fruit\":\"pear\",\"animal\":\"dog\",\"color\":\"green\"},"
	      "{\"fruit\":\"banana\"},"
	      "{\"fruit\":\"banana\",\"animal\":\"cat\"}]");
}

/* "Example: Expanding configurations": four jobs, npm added to one. */
static void test_matrix_docs_expanding(void **state)
{
	check("{\"os\":[\"windows-latest\",\"ubuntu-latest\"],\"node\":[14,16],"
	      "\"include\":[{\"os\":\"windows-latest\",\"node\":16,\"npm\":6}]}",
	      "[{\"os\":\"windows-latest\",\"node\":14},"
	      "{\"os\":\"windows-latest\",\"node\":16,\"npm\":6},"
	      "{\"os\":\"ubuntu-latest\",\"node\":14},"
	      "{\"os\":\"ubuntu-latest\",\"node\":16}]");
}

/* "Example: Adding configurations": ten jobs, the last one new. */
static void test_matrix_docs_adding(void **state)
{
	const char *m =
		"{\"os\":[\"macos-latest\",\"windows-latest\",\"ubuntu-latest\"],"
		"\"version\":[12,14,16],"
		"\"include\":[{\"os\":\"windows-latest\",\"version\":17}]}";
	struct err e = ERR_INIT;
	json_t *in = parse(m), *got = NULL, *last;

	assert_int_equal(matrix_expand(&got, in, &e), 0);
	assert_int_equal(json_array_size(got), 10);
	last = json_array_get(got, 9);
	assert_string_equal(json_string_value(json_object_get(last, "os")),
			    "windows-latest");
	assert_int_equal(json_integer_value(json_object_get(last, "version")), 17);
	/* the nine products are untouched */
	assert_int_equal(json_object_size(json_array_get(got, 4)), 2);
	json_decref(got);
	json_decref(in);
}

/* "If you don't specify any matrix variables, all configurations under
 * include will run." */
static void test_matrix_include_only(void **state)
{
	check("{\"include\":[{\"site\":\"production\",\"datacenter\":\"site-a\"},"
	      "{\"site\":\"staging\",\"datacenter\":\"site-b\"}]}",
	      "[{\"site\":\"production\",\"datacenter\":\"site-a\"},"
	      "{\"site\":\"staging\",\"datacenter\":\"site-b\"}]");
}

/* The exclude example: 12 configurations, one full and two partial
 * matches removed, nine jobs. */
static void test_matrix_docs_exclude(void **state)
{
	const char *m =
		"{\"os\":[\"macos-latest\",\"windows-latest\"],"
		"\"version\":[12,14,16],"
		"\"environment\":[\"staging\",\"production\"],"
		"\"exclude\":["
		"{\"os\":\"macos-latest\",\"version\":12,\"environment\":\"production\"},"
		"{\"os\":\"windows-latest\",\"version\":16}]}";

	assert_int_equal(count(m), 9);
	check("{\"os\":[\"a\",\"b\"],\"v\":[1,2],\"exclude\":[{\"os\":\"a\",\"v\":2},{\"v\":1,\"os\":\"b\"}]}",
	      "[{\"os\":\"a\",\"v\":1},{\"os\":\"b\",\"v\":2}]");
}

/* "All include combinations are processed after exclude": include can
 * put back what exclude removed, as a new combination at the end. */
static void test_matrix_include_after_exclude(void **state)
{
	check("{\"os\":[\"a\",\"b\"],\"v\":[1,2],"
	      "\"exclude\":[{\"os\":\"a\"}],"
	      "\"include\":[{\"os\":\"a\",\"v\":1,\"extra\":true}]}",
	      "[{\"os\":\"b\",\"v\":1},{\"os\":\"b\",\"v\":2},"
	      "{\"os\":\"a\",\"v\":1,\"extra\":true}]");
}

/* A later include overwrites what an earlier one added, in place; an
 * include naming only dimension values that exist adds nothing and is
 * not appended; an unmatched entry lists dimension keys first. */
static void test_matrix_include_overwrites_added(void **state)
{
	check("{\"fruit\":[\"apple\",\"pear\"],\"animal\":[\"cat\",\"dog\"],"
	      "\"include\":[{\"color\":\"green\",\"size\":1},"
	      "{\"animal\":\"cat\",\"color\":\"pink\"},"
	      "{\"fruit\":\"pear\",\"animal\":\"dog\"},"
	      "{\"shape\":\"round\",\"fruit\":\"kiwi\"}]}",
	      "[{\"fruit\":\"apple\",\"animal\":\"cat\",\"color\":\"pink\",\"size\":1},"
	      "{\"fruit\":\"apple\",\"animal\":\"dog\",\"color\":\"green\",\"size\":1},"
	      "{\"fruit\":\"pear\",\"animal\":\"cat\",\"color\":\"pink\",\"size\":1},"
	      "{\"fruit\":\"pear\",\"animal\":\"dog\",\"color\":\"green\",\"size\":1},"
	      "{\"fruit\":\"kiwi\",\"shape\":\"round\"}]");
}

/* Dimension values may be objects: an entry matches on the nested keys
 * it names, and values are deep copies. */
static void test_matrix_object_values(void **state)
{
	check("{\"cfg\":[{\"name\":\"a\",\"v\":1},{\"name\":\"b\",\"v\":2}],"
	      "\"os\":[\"x\"],"
	      "\"exclude\":[{\"cfg\":{\"name\":\"b\"}}],"
	      "\"include\":[{\"cfg\":{\"v\":1},\"tag\":\"one\"},"
	      "{\"cfg\":{\"name\":\"c\"}}]}",
	      "[{\"cfg\":{\"name\":\"a\",\"v\":1},\"os\":\"x\",\"tag\":\"one\"},"
	      "{\"cfg\":{\"name\":\"c\"}}]");
	/* arrays compared by position */
	check("{\"l\":[[1,2],[1,3]],\"exclude\":[{\"l\":[1,3]}]}",
	      "[{\"l\":[1,2]}]");
}

/* GitHub compares with the expression language's ==: strings ignore
 * case, and a number equals its string. */
static void test_matrix_loose_equality(void **state)
{
	check("{\"os\":[\"Ubuntu\",\"macos\"],\"v\":[12,\"14\"],"
	      "\"exclude\":[{\"os\":\"ubuntu\",\"v\":\"12\"},{\"v\":14,\"os\":\"MACOS\"}]}",
	      "[{\"os\":\"Ubuntu\",\"v\":\"14\"},{\"os\":\"macos\",\"v\":12}]");
	check("{\"b\":[true,false],\"exclude\":[{\"b\":false}]}",
	      "[{\"b\":true}]");
}

static void test_matrix_errors(void **state)
{
	check_err("{\"os\":\"ubuntu\"}", ERR_INVALID,
		  "matrix dimension 'os' must be a list");
	check_err("{\"os\":[]}", ERR_INVALID, "'os'");
	check_err("{}", ERR_INVALID, "at least one vector");
	check_err("[1]", ERR_INVALID, "mapping");
	check_err("{\"os\":[\"a\"],\"exclude\":[{\"os\":\"a\"}]}", ERR_INVALID,
		  "at least one vector");
	check_err("{\"os\":[\"a\"],\"exclude\":[{\"arch\":\"x\"}]}", ERR_INVALID,
		  "exclude key 'arch' does not match any key within the matrix");
	check_err("{\"os\":[\"a\"],\"exclude\":[{}]}", ERR_INVALID,
		  "exclude entry 1 is empty");
	check_err("{\"os\":[\"a\"],\"include\":[{\"x\":1},{}]}", ERR_INVALID,
		  "include entry 2 is empty");
	check_err("{\"os\":[\"a\"],\"include\":{\"x\":1}}", ERR_INVALID,
		  "include must be a list");
	check_err("{\"os\":[\"a\"],\"include\":[\"x\"]}", ERR_INVALID,
		  "include entry 1 must be a mapping");
}

/* Build {"a":[0..na-1],"b":[0..nb-1]}. */
static json_t *grid(int na, int nb)
{
	json_t *m = json_object(), *a = json_array(), *b = json_array();
	int i;

	for (i = 0; i < na; i++)
		json_array_append_new(a, json_integer(i));
	for (i = 0; i < nb; i++)
		json_array_append_new(b, json_integer(i));
	json_object_set_new(m, "a", a);
	json_object_set_new(m, "b", b);
	return m;
}

/* 256 jobs are allowed, 257 are not, whether from the product, from
 * includes, or from a product too large even before exclude. */
static void test_matrix_limit(void **state)
{
	struct err e = ERR_INIT;
	json_t *m, *got = NULL, *inc;
	int i;

	m = grid(16, 16);
	assert_int_equal(matrix_expand(&got, m, &e), 0);
	assert_int_equal(json_array_size(got), MATRIX_MAX);
	json_decref(got);
	got = NULL;
	inc = json_array();
	json_array_append_new(inc, json_pack("{s:i}", "a", 99));
	json_object_set_new(m, "include", inc);
	assert_int_equal(matrix_expand(&got, m, &e), -1);
	assert_int_equal(e.code, ERR_LIMIT);
	assert_null(got);
	json_decref(m);

	m = grid(17, 16);
	assert_int_equal(matrix_expand(&got, m, &e), -1);
	assert_int_equal(e.code, ERR_LIMIT);
	json_decref(m);

	m = json_object();
	inc = json_array();
	for (i = 0; i < MATRIX_MAX + 1; i++)
		json_array_append_new(inc, json_pack("{s:i}", "n", i));
	json_object_set_new(m, "include", inc);
	assert_int_equal(matrix_expand(&got, m, &e), -1);
	assert_int_equal(e.code, ERR_LIMIT);
	json_decref(m);

	/* 1000 x 1000 with everything excluded: refused, not walked */
	m = grid(1000, 1000);
	json_object_set_new(m, "exclude", json_pack("[{s:i}]", "a", 0));
	assert_int_equal(matrix_expand(&got, m, &e), -1);
	assert_int_equal(e.code, ERR_LIMIT);
	json_decref(m);
}

/* A product trimmed by exclude to within the limit is fine. */
static void test_matrix_limit_after_exclude(void **state)
{
	struct err e = ERR_INIT;
	json_t *m = grid(20, 20), *got = NULL, *ex = json_array();
	int i;

	for (i = 10; i < 20; i++)
		json_array_append_new(ex, json_pack("{s:i}", "a", i));
	json_object_set_new(m, "exclude", ex);
	assert_int_equal(matrix_expand(&got, m, &e), 0);
	assert_int_equal(json_array_size(got), 200);
	json_decref(got);
	json_decref(m);
}

static void test_matrix_label(void **state)
{
	check_label("{\"os\":\"ubuntu\",\"node\":14}", "ubuntu, 14");
	check_label("{\"python\":3.10,\"ok\":true,\"no\":false}", "3.1, true, false");
	check_label("{\"a\":null,\"b\":\"\",\"c\":\"x\"}", "x");
	check_label("{\"cfg\":{\"name\":\"a\",\"v\":[1,2.5]},\"os\":\"linux\"}",
		    "a, 1, 2.5, linux");
	check_label("{}", "");
	check_label("{\"n\":-3,\"big\":1e20}", "-3, 1e+20");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matrix_docs_order),
		cmocka_unit_test(test_matrix_single_dimension),
		cmocka_unit_test(test_matrix_docs_include_worked_example),
		cmocka_unit_test(test_matrix_docs_expanding),
		cmocka_unit_test(test_matrix_docs_adding),
		cmocka_unit_test(test_matrix_include_only),
		cmocka_unit_test(test_matrix_docs_exclude),
		cmocka_unit_test(test_matrix_include_after_exclude),
		cmocka_unit_test(test_matrix_include_overwrites_added),
		cmocka_unit_test(test_matrix_object_values),
		cmocka_unit_test(test_matrix_loose_equality),
		cmocka_unit_test(test_matrix_errors),
		cmocka_unit_test(test_matrix_limit),
		cmocka_unit_test(test_matrix_limit_after_exclude),
		cmocka_unit_test(test_matrix_label),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
