/*
 * Unit tests for the expression API (workflows/expr.h): parse errors and
 * their columns, limits, ownership on every path, the hashFiles callback,
 * contexts_used, templates with unknown parts, offsets. The behaviour of
 * the language itself is table-driven in tests/unit/expr_cases.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/util.h"
#include "workflows/expr.h"

static int parse_fails(const char *src, enum err_code code, const char *msg)
{
	struct expr *x = (struct expr *)1;
	struct err e = ERR_INIT;
	int rc = expr_parse(&x, src, strlen(src), &e);

	assert_int_equal(rc, -1);
	assert_null(x);
	assert_int_equal(e.code, code);
	if (!strstr(e.msg, msg))
		fail_msg("'%s': got '%s', want '%s'", src, e.msg, msg);
	return 0;
}

static json_t *eval_str(const char *src, const struct expr_env *env,
			int *rc, struct err *e)
{
	struct expr *x = NULL;
	json_t *v = NULL;

	*rc = expr_parse(&x, src, strlen(src), e);
	if (*rc == 0)
		*rc = expr_eval(&v, x, env, e);
	expr_free(x);
	return v;
}

static void test_expr_parse_error_columns(void **state)
{
	parse_fails("foo(1)", ERR_SYNTAX, "unknown function 'foo' at column 1");
	parse_fails("a == bar()", ERR_SYNTAX, "unknown function 'bar' at "
		    "column 6");
	parse_fails("contains(1)", ERR_SYNTAX, "contains expects 2 arguments, "
		    "got 1");
	parse_fails("join(1, 2, 3)", ERR_SYNTAX, "join expects at most 2 "
		    "arguments, got 3");
	parse_fails("a.b ==", ERR_SYNTAX, "expected a value, found end of "
		    "expression at column 7");
	parse_fails("(a", ERR_SYNTAX, "expected ')'");
	parse_fails("a ] b", ERR_SYNTAX, "found ']' at column 3");
	parse_fails("\"x\"", ERR_SYNTAX, "single quotes");
	parse_fails("'abc", ERR_SYNTAX, "unterminated string at column 1");
	parse_fails("a @ b", ERR_SYNTAX, "unexpected '@' at column 3");
	parse_fails("", ERR_SYNTAX, "expected an expression");
}

static void test_expr_parse_embedded_nul(void **state)
{
	struct expr *x = NULL;
	struct err e = ERR_INIT;
	const char src[] = "a\0b";

	assert_int_equal(expr_parse(&x, src, 3, &e), -1);
	assert_null(x);
	assert_non_null(strstr(e.msg, "unexpected byte 0x00 at column 2"));
}

static char *repeat(const char *open, int n, const char *mid,
		    const char *close)
{
	struct buf b = BUF_INIT;
	int i;

	for (i = 0; i < n; i++)
		buf_adds(&b, open);
	buf_adds(&b, mid);
	for (i = 0; i < n; i++)
		buf_adds(&b, close);
	return buf_detach(&b, NULL);
}

static void test_expr_depth_limit(void **state)
{
	struct expr *x = NULL;
	struct err e = ERR_INIT;
	char *s;
	int n;

	for (n = 1; n <= EXPR_MAX_DEPTH + 2; n++) {
		s = repeat("(", n, "1", ")");
		err_clear(&e);
		if (n < EXPR_MAX_DEPTH) {
			assert_int_equal(expr_parse(&x, s, strlen(s), &e), 0);
			expr_free(x);
		} else if (n > EXPR_MAX_DEPTH) {
			assert_int_equal(expr_parse(&x, s, strlen(s), &e), -1);
			assert_int_equal(e.code, ERR_LIMIT);
		}
		free(s);
	}
	s = repeat("!", 200, "true", "");
	assert_int_equal(expr_parse(&x, s, strlen(s), &e), -1);
	assert_int_equal(e.code, ERR_LIMIT);
	free(s);
	s = repeat("a[", 100, "0", "]");
	assert_int_equal(expr_parse(&x, s, strlen(s), &e), -1);
	assert_int_equal(e.code, ERR_LIMIT);
	free(s);
	s = repeat("contains(", 100, "1, 2", ", 1)");
	assert_int_equal(expr_parse(&x, s, strlen(s), &e), -1);
	assert_int_equal(e.code, ERR_LIMIT);
	free(s);
}

static void test_expr_long_chains_stay_shallow(void **state)
{
	struct buf b = BUF_INIT;
	struct expr *x = NULL;
	struct err e = ERR_INIT;
	struct expr_env env = { 0 };
	json_t *v = NULL;
	int i;

	for (i = 0; i < 5000; i++)
		buf_adds(&b, i ? " && true" : "true");
	buf_adds(&b, " || false");
	assert_int_equal(expr_parse(&x, b.ptr, b.len, &e), 0);
	assert_int_equal(expr_eval(&v, x, &env, &e), 0);
	assert_true(json_is_true(v));
	json_decref(v);
	expr_free(x);
	buf_release(&b);
}

static void test_expr_length_limit(void **state)
{
	struct expr *x = NULL;
	struct err e = ERR_INIT;
	char *s = xmalloc(EXPR_MAX_LEN + 1);

	memset(s, ' ', EXPR_MAX_LEN + 1);
	s[0] = '1';
	assert_int_equal(expr_parse(&x, s, EXPR_MAX_LEN, &e), 0);
	expr_free(x);
	assert_int_equal(expr_parse(&x, s, EXPR_MAX_LEN + 1, &e), -1);
	assert_int_equal(e.code, ERR_LIMIT);
	free(s);
}

/* Every prefix of a rich expression parses or fails without leaks. */
static void test_expr_free_on_all_paths(void **state)
{
	const char *src = "!(github.event.commits[0].id == 'a''b') && "
			  "contains(fromJSON('[1]').*.x, format('{0}', "
			  "nums[1])) || join(a['b'], ',') != 0x1f && "
			  "success() >= -1.5e3";
	struct expr_env env = { 0 };
	size_t len = strlen(src), n;
	int ok = 0;

	for (n = 0; n <= len; n++) {
		struct expr *x = NULL;
		struct err e = ERR_INIT;
		json_t *v = NULL;

		if (expr_parse(&x, src, n, &e) == 0) {
			ok++;
			if (expr_eval(&v, x, &env, &e) == 0)
				json_decref(v);
		} else {
			assert_null(x);
			assert_int_not_equal(e.code, ERR_NONE);
		}
		expr_free(x);
	}
	assert_true(ok > 3);
	expr_free(NULL);
}

struct hash_rec {
	int calls;
	size_t n;
	char first[64];
};

static int rec_hash(char **out, void *ud, const char *const *pats, size_t n,
		    struct err *e)
{
	struct hash_rec *r = ud;

	r->calls++;
	r->n = n;
	snprintf(r->first, sizeof(r->first), "%s", pats[0]);
	if (!strcmp(pats[0], "bad"))
		return err_set(e, ERR_IO, "read failed");
	*out = xstrdup("e3b0c442");
	return 0;
}

static void test_expr_hash_files_callback(void **state)
{
	struct hash_rec r = { 0 };
	struct expr_env env = { 0 };
	struct err e = ERR_INIT;
	json_t *v;
	int rc;

	v = eval_str("hashFiles('**/*.lock')", &env, &rc, &e);
	assert_int_equal(rc, -1);
	assert_null(v);
	assert_non_null(strstr(e.msg, "hashFiles at column 1: not available"));

	env.hash_files = rec_hash;
	env.ud = &r;
	err_clear(&e);
	v = eval_str("hashFiles('**/*.lock', 'go.sum')", &env, &rc, &e);
	assert_int_equal(rc, 0);
	assert_string_equal(json_string_value(v), "e3b0c442");
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.first, "**/*.lock");
	assert_int_equal(e.code, ERR_NONE);	/* untouched on success */
	json_decref(v);

	v = eval_str("'x' == hashFiles('bad')", &env, &rc, &e);
	assert_int_equal(rc, -1);
	assert_null(v);
	assert_int_equal(e.code, ERR_IO);
	assert_string_equal(e.msg, "hashFiles at column 8: read failed");

	/* not called when short-circuited */
	v = eval_str("false && hashFiles('x')", &env, &rc, &e);
	assert_int_equal(rc, 0);
	assert_int_equal(r.calls, 2);
	json_decref(v);
}

static void check_contexts(const char *src, const char *const *want,
			   size_t nwant)
{
	struct expr *x = NULL;
	struct err e = ERR_INIT;
	char **names = NULL;
	size_t n = 0, i;

	assert_int_equal(expr_parse(&x, src, strlen(src), &e), 0);
	assert_int_equal(expr_contexts_used(&names, &n, x), 0);
	assert_int_equal(n, nwant);
	for (i = 0; i < n; i++) {
		assert_string_equal(names[i], want[i]);
		free(names[i]);
	}
	free(names);
	expr_free(x);
}

static void test_expr_contexts_used(void **state)
{
	static const char *const a[] = { "github", "env", "matrix" };
	static const char *const b[] = { "steps", "needs" };

	check_contexts("github.event_name == 'push' && env.X || "
		       "GITHUB.ref && Matrix.os && format('{0}', Env.Y)",
		       a, 3);
	check_contexts("contains(steps.*.outcome, needs['x'].result) && "
		       "success()", b, 2);
	check_contexts("1 == 'github'", NULL, 0);
	check_contexts("a.github.env", (const char *const[]){ "a" }, 1);
}

static void test_expr_has_status_function(void **state)
{
	static const struct {
		const char *src;
		bool want;
	} cases[] = {
		{ "success()", true }, { "!cancelled()", true },
		{ "a && (b || FAILURE())", true },
		{ "format('{0}', always())", true },
		{ "github.success", false }, { "'failure()'", false },
		{ "success", false },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct expr *x = NULL;
		struct err e = ERR_INIT;

		assert_int_equal(expr_parse(&x, cases[i].src,
					    strlen(cases[i].src), &e), 0);
		assert_int_equal(expr_has_status_function(x), cases[i].want);
		expr_free(x);
	}
	assert_false(expr_has_status_function(NULL));
}

static void test_expr_interpolate_unknown(void **state)
{
	static const char *const rt[] = { "steps", "needs", NULL };
	json_t *ctx = json_pack("{s:{s:s}}", "github", "sha", "abc");
	struct expr_env env = { 0 };
	struct err e = ERR_INIT;
	char *out = NULL;
	json_t *v = NULL;

	env.contexts = ctx;
	env.unknown = rt;
	assert_int_equal(expr_interpolate(&out, "sha=${{ github.sha }} "
					  "tag=${{ steps.b.outputs.TAG }} "
					  "n=${{ needs.x.result }}", &env,
					  &e), EXPR_UNKNOWN);
	assert_string_equal(out, "sha=abc tag=${{ steps.b.outputs.TAG }} "
			    "n=${{ needs.x.result }}");
	assert_int_equal(e.code, ERR_NONE);
	assert_string_equal(e.msg, "steps.b.outputs.tag");
	free(out);

	assert_int_equal(expr_interpolate_value(&v, " ${{ needs.a.outputs "
						"}} ", &env, &e),
			 EXPR_UNKNOWN);
	assert_string_equal(json_string_value(v), " ${{ needs.a.outputs }} ");
	assert_string_equal(e.msg, "needs.a.outputs");
	json_decref(v);

	/* an error after an unknown part wins */
	out = (char *)1;
	assert_int_equal(expr_interpolate(&out, "${{ steps.a }} ${{ "
					  "fromJSON('x') }}", &env, &e), -1);
	assert_null(out);
	assert_int_equal(e.code, ERR_INVALID);

	/* status unknown */
	env.status_unknown = true;
	assert_int_equal(expr_interpolate(&out, "${{ success() }}", &env,
					  &e), EXPR_UNKNOWN);
	assert_string_equal(e.msg, "job status");
	free(out);
	json_decref(ctx);
}

struct seen {
	size_t offsets[8];
	size_t n;
	int stop_at;
};

static int record(const struct expr *x, size_t offset, void *ud)
{
	struct seen *s = ud;

	assert_non_null(x);
	s->offsets[s->n++] = offset;
	return s->stop_at && (int)s->n == s->stop_at ? 7 : 0;
}

static void test_expr_each_in_template_offsets(void **state)
{
	const char *t = "a ${{ x }} b ${{ format('}}', y) }}${{z}}";
	struct seen s = { { 0 }, 0, 0 };
	struct err e = ERR_INIT;

	assert_int_equal(expr_each_in_template(t, record, &s, &e), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.offsets[0], 2);
	assert_int_equal(s.offsets[1], 13);
	assert_int_equal(s.offsets[2], 35);

	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	assert_int_equal(expr_each_in_template(t, record, &s, &e), 7);
	assert_int_equal(s.n, 2);

	memset(&s, 0, sizeof(s));
	assert_int_equal(expr_each_in_template("${{ a }} ${{ b( }}", record,
					       &s, &e), -1);
	assert_int_equal(s.n, 1);
	assert_int_equal(e.code, ERR_SYNTAX);

	memset(&s, 0, sizeof(s));
	assert_int_equal(expr_each_in_template("plain", record, &s, &e), 0);
	assert_int_equal(s.n, 0);
}

static void test_expr_check_offsets(void **state)
{
	struct err e = ERR_INIT;
	size_t off = 99;

	assert_int_equal(expr_check_template("ok ${{ 1 }}", &off, &e), 0);
	assert_int_equal(off, 99);
	assert_int_equal(expr_check_template("x\ny ${{ 1 }} ${{ a.. }}",
					     &off, &e), -1);
	assert_int_equal(off, 13);
	assert_non_null(strstr(e.msg, "at column 4"));
	assert_int_equal(expr_check_template("abc ${{ 'x }}", &off, &e), -1);
	assert_int_equal(off, 4);

	assert_int_equal(expr_check_if("  github.x ==", &off, &e), -1);
	assert_int_equal(off, 2);
	assert_int_equal(expr_check_if(" ${{ a ==  }}", &off, &e), -1);
	assert_int_equal(off, 1);
	assert_int_equal(expr_check_if("x ${{ a }} ${{ b( }}", &off, &e), -1);
	assert_int_equal(off, 11);
	assert_int_equal(expr_check_if("", &off, &e), 0);
	assert_int_equal(expr_check_if("${{ success() }}", &off, &e), 0);
	assert_int_equal(expr_check_if("github.ref == 'x' && always()", &off,
				       &e), 0);
}

static void test_expr_eval_if_forms(void **state)
{
	json_t *ctx = json_pack("{s:{s:s}}", "github", "ref", "refs/heads/x");
	struct expr_env env = { 0 };
	struct err e = ERR_INIT;
	bool out = true;

	env.contexts = ctx;
	assert_int_equal(expr_eval_if(&out, "github.ref == 'refs/heads/x'",
				      &env, &e), 0);
	assert_true(out);
	assert_int_equal(expr_eval_if(&out, "${{ github.ref == 'nope' }}",
				      &env, &e), 0);
	assert_false(out);
	/* the pitfall: text around ${{ }} makes a non-empty string */
	assert_int_equal(expr_eval_if(&out, "${{ github.ref == 'nope' }} "
				      "&& true", &env, &e), 0);
	assert_true(out);
	env.status = EXPR_STATUS_FAILURE;
	assert_int_equal(expr_eval_if(&out, "true", &env, &e), 0);
	assert_false(out);
	assert_int_equal(expr_eval_if(&out, "failure() && true", &env, &e), 0);
	assert_true(out);
	assert_int_equal(expr_eval_if(&out, "${{ x( }}", &env, &e), -1);
	assert_int_equal(e.code, ERR_SYNTAX);
	assert_int_equal(expr_eval_if(&out, "fromJSON('x')", &env, &e), -1);
	json_decref(ctx);
}

static void test_expr_to_string_and_truthy(void **state)
{
	static const struct {
		double d;
		const char *s;
	} nums[] = {
		{ 1, "1" }, { 1.5, "1.5" }, { -0.0, "0" }, { 1e21, "1e+21" },
		{ 1e20, "100000000000000000000" }, { 0.1, "0.1" },
		{ 1e-7, "1e-7" }, { 123e-20, "1.23e-18" },
		{ 0.000001, "0.000001" }, { -2.5, "-2.5" },
		{ 1.0 / 3, "0.3333333333333333" },
		{ 5e-324, "5e-324" }, { 1.7976931348623157e308,
					"1.7976931348623157e+308" },
	};
	size_t i;
	char *s;
	json_t *v;

	for (i = 0; i < ARRAY_SIZE(nums); i++) {
		v = json_real(nums[i].d);
		s = expr_to_string(v);
		assert_string_equal(s, nums[i].s);
		free(s);
		json_decref(v);
	}
	v = json_pack("[n,b,b,i,s,s,[],{}]", 1, 0, 0, "", "0");
	s = expr_to_string(json_array_get(v, 0));
	assert_string_equal(s, "");
	free(s);
	s = expr_to_string(json_array_get(v, 6));
	assert_string_equal(s, "Array");
	free(s);
	s = expr_to_string(json_array_get(v, 7));
	assert_string_equal(s, "Object");
	free(s);
	assert_false(expr_truthy(json_array_get(v, 0)));
	assert_true(expr_truthy(json_array_get(v, 1)));
	assert_false(expr_truthy(json_array_get(v, 2)));
	assert_false(expr_truthy(json_array_get(v, 3)));
	assert_false(expr_truthy(json_array_get(v, 4)));
	assert_true(expr_truthy(json_array_get(v, 5)));
	assert_true(expr_truthy(json_array_get(v, 6)));
	assert_true(expr_truthy(json_array_get(v, 7)));
	json_decref(v);
}

static void test_expr_eval_keeps_context_identity(void **state)
{
	json_t *ctx = json_pack("{s:{s:[i]}}", "obj", "a", 1);
	struct expr_env env = { 0 };
	struct err e = ERR_INIT;
	json_t *v;
	int rc;

	env.contexts = ctx;
	v = eval_str("obj.A", &env, &rc, &e);
	assert_int_equal(rc, 0);
	assert_ptr_equal(v, json_object_get(json_object_get(ctx, "obj"), "a"));
	json_decref(v);
	v = eval_str("OBJ.a == obj['A']", &env, &rc, &e);
	assert_true(json_is_true(v));
	json_decref(v);
	/* no contexts at all: every name is null */
	env.contexts = NULL;
	v = eval_str("obj.a", &env, &rc, &e);
	assert_int_equal(rc, 0);
	assert_true(json_is_null(v));
	json_decref(v);
	json_decref(ctx);
}

static void test_expr_string_cap(void **state)
{
	struct buf b = BUF_INIT;
	struct expr_env env = { 0 };
	struct err e = ERR_INIT;
	json_t *v;
	int rc, i;

	/* each level quadruples the text: 4^12 bytes is over the cap */
	for (i = 0; i < 12; i++)
		buf_adds(&b, "format('{0}{0}{0}{0}', ");
	buf_adds(&b, "'x'");
	for (i = 0; i < 12; i++)
		buf_adds(&b, ")");
	v = eval_str(b.ptr, &env, &rc, &e);
	assert_int_equal(rc, -1);
	assert_null(v);
	assert_int_equal(e.code, ERR_LIMIT);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expr_parse_error_columns),
		cmocka_unit_test(test_expr_parse_embedded_nul),
		cmocka_unit_test(test_expr_depth_limit),
		cmocka_unit_test(test_expr_long_chains_stay_shallow),
		cmocka_unit_test(test_expr_length_limit),
		cmocka_unit_test(test_expr_free_on_all_paths),
		cmocka_unit_test(test_expr_hash_files_callback),
		cmocka_unit_test(test_expr_contexts_used),
		cmocka_unit_test(test_expr_has_status_function),
		cmocka_unit_test(test_expr_interpolate_unknown),
		cmocka_unit_test(test_expr_each_in_template_offsets),
		cmocka_unit_test(test_expr_check_offsets),
		cmocka_unit_test(test_expr_eval_if_forms),
		cmocka_unit_test(test_expr_to_string_and_truthy),
		cmocka_unit_test(test_expr_eval_keeps_context_identity),
		cmocka_unit_test(test_expr_string_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
