/*
 * expr_cases: runs every table of cases in tests/data/expr (each .txt), one
 * cmocka test per file; every failing case is printed as file:line and the
 * total number of cases is reported at the end.
 *
 * File format (jq's jq.test in spirit). A case is a block of "key: value"
 * lines; blocks are separated by blank lines; lines starting with '#' are
 * comments. The value is the rest of the line after "key:" and one space.
 * A key ending in "-json" takes a JSON string literal instead (for
 * newlines, tabs, leading or trailing blanks): string-json: "a\nb".
 *
 * One input key says what is run:
 *   expr: E       expr_parse + expr_eval of E
 *   template: T   expr_interpolate of T
 *   value: T      expr_interpolate_value of T
 *   if: C         expr_eval_if of C
 *   check: T      expr_check_template of T (with error: for failures)
 * Optional settings:
 *   ctx: {JSON}   contexts merged over the default ones (key by key)
 *   status: success | failure | cancelled | unknown
 *   runtime: steps,needs   contexts known only at run time (dry run)
 * Expectations (one or more):
 *   result: JSON  the value (numbers compare by value; if: true | false)
 *   string: S     expr_to_string of the value, or the template's output
 *   error: S      failure, and S is a substring of the message
 *   code: NAME    with error:, the err_code (ERR_SYNTAX, ERR_LIMIT, ...)
 *   unknown: R    EXPR_UNKNOWN, and the message is exactly R
 *   offset: N     with check: and error:, the reported byte offset
 *
 * The default contexts are default_ctx below. hashFiles answers
 * "hash(p1|p2...)", "" when the first pattern is "none", and fails for
 * "fail".
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/strv.h"
#include "lib/util.h"
#include "workflows/expr.h"

#define DATA_DIR "tests/data/expr"

static const char default_ctx[] =
	"{"
	"\"github\": {\"event_name\": \"push\", \"ref\": \"refs/heads/main\","
	" \"ref_name\": \"main\", \"sha\": \"ffac537e6cbbf934b08745a378932722df287a53\","
	" \"repository\": \"octo-org/octo-repo\", \"actor\": \"octocat\","
	" \"run_number\": 42, \"run_attempt\": 1,"
	" \"event\": {\"ref\": \"refs/heads/main\", \"forced\": false,"
	"  \"head_commit\": {\"message\": \"Fix the build [skip ci]\","
	"   \"author\": {\"name\": \"Mona\"}},"
	"  \"commits\": [{\"id\": \"a1\", \"message\": \"one\"},"
	"   {\"id\": \"b2\", \"message\": \"two\"}],"
	"  \"pull_request\": {\"number\": 7, \"draft\": false,"
	"   \"labels\": [{\"name\": \"bug\"}, {\"name\": \"ci\"}]}}},"
	"\"env\": {\"NAME\": \"Mona\", \"EMPTY\": \"\", \"NUM\": \"42\","
	" \"ZERO\": \"0\", \"FLAG\": \"true\", \"FALSE\": \"false\"},"
	"\"vars\": {\"REGION\": \"eu-west-1\"},"
	"\"secrets\": {\"TOKEN\": \"s3cr3t\"},"
	"\"matrix\": {\"os\": \"ubuntu-latest\", \"node\": 18,"
	" \"experimental\": false},"
	"\"strategy\": {\"fail-fast\": true, \"job-index\": 0},"
	"\"runner\": {\"os\": \"Linux\", \"arch\": \"X64\"},"
	"\"inputs\": {\"name\": \"world\", \"count\": 3, \"debug\": false},"
	"\"steps\": {\"build\": {\"outputs\": {\"tag\": \"v1.2.3\","
	"  \"list\": \"[\\\"a\\\",\\\"b\\\"]\", \"flag\": \"true\"},"
	"  \"outcome\": \"success\", \"conclusion\": \"success\"},"
	" \"test\": {\"outputs\": {}, \"outcome\": \"failure\","
	"  \"conclusion\": \"success\"}},"
	"\"needs\": {\"setup\": {\"result\": \"success\","
	" \"outputs\": {\"matrix\": \"{\\\"os\\\":[\\\"a\\\",\\\"b\\\"]}\"}},"
	" \"lint\": {\"result\": \"skipped\", \"outputs\": {}}},"
	"\"fruits\": [{\"name\": \"apple\", \"quantity\": 1},"
	" {\"name\": \"orange\", \"quantity\": 2}, {\"name\": \"pear\"}],"
	"\"vegetables\": {"
	" \"scallions\": {\"colors\": [\"green\", \"white\", \"red\"],"
	"  \"ediblePortions\": [\"roots\", \"stalks\"]},"
	" \"beets\": {\"colors\": [\"purple\", \"red\", \"gold\", \"white\","
	"  \"pink\"], \"ediblePortions\": [\"roots\", \"stems\", \"leaves\"]},"
	" \"artichokes\": {\"colors\": [\"green\", \"purple\", \"red\","
	"  \"black\"], \"ediblePortions\": [\"hearts\", \"stems\", \"leaves\"]}},"
	"\"nums\": [1, 2, 3], \"strs\": [\"a\", \"B\", \"c\"],"
	"\"mixed\": [1, \"two\", true, null, {\"k\": \"v\"}, [1]],"
	"\"empty_arr\": [], \"empty_obj\": {},"
	"\"obj\": {\"Key\": \"value\", \"n\": 1.5, \"nested\": {\"deep\":"
	" {\"x\": 1}}, \"arr\": [10, 20, 30]}"
	"}";

struct kv {
	char *key;
	char *val;
};

struct tcase {
	const char *file;
	int line;
	struct kv *kv;
	size_t n, alloc;
};

static int total_cases, total_failed;

static const char *get(const struct tcase *c, const char *key)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (!strcmp(c->kv[i].key, key))
			return c->kv[i].val;
	return NULL;
}

static void fail_case(const struct tcase *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: ", c->file, c->line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int fake_hash(char **out, void *ud, const char *const *pats, size_t n,
		     struct err *e)
{
	struct buf b = BUF_INIT;
	size_t i;

	if (n && !strcmp(pats[0], "fail"))
		return err_set(e, ERR_IO, "cannot read files");
	if (n && !strcmp(pats[0], "none")) {
		*out = xstrdup("");
		return 0;
	}
	buf_adds(&b, "hash(");
	for (i = 0; i < n; i++) {
		if (i)
			buf_addch(&b, '|');
		buf_adds(&b, pats[i]);
	}
	buf_addch(&b, ')');
	*out = buf_detach(&b, NULL);
	return 0;
}

/* JSON equality where 1 and 1.0 are the same number. */
static bool same_json(const json_t *a, const json_t *b)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	if (json_typeof(a) != json_typeof(b))
		return false;
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return false;
		json_array_foreach(a, i, v)
			if (!same_json(v, json_array_get(b, i)))
				return false;
		return true;
	}
	if (json_is_object(a)) {
		if (json_object_size(a) != json_object_size(b))
			return false;
		json_object_foreach((json_t *)a, k, v) {
			json_t *w = json_object_get(b, k);

			if (!w || !same_json(v, w))
				return false;
		}
		return true;
	}
	return json_equal((json_t *)a, (json_t *)b);
}

static char *dump(const json_t *v)
{
	char *s = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;

	return s ? s : xstrdup("(none)");
}

/* Compare what ran with what the case expects; true when it passes. */
static bool check(const struct tcase *c, int rc, const struct err *e,
		  const json_t *val, const char *str)
{
	const char *want_err = get(c, "error"), *want_unk = get(c, "unknown");
	const char *want_res = get(c, "result"), *want_str = get(c, "string");
	const char *want_code = get(c, "code");
	bool ok = true;

	if (want_err) {
		if (rc != -1) {
			fail_case(c, "expected error '%s', got rc %d", want_err,
				  rc);
			return false;
		}
		if (!strstr(e->msg, want_err)) {
			fail_case(c, "expected error containing '%s', got '%s'",
				  want_err, e->msg);
			ok = false;
		}
		if (want_code && str_casecmp(err_code_name(e->code),
					     str_starts_with(want_code, "ERR_") ?
					     want_code + 4 : want_code)) {
			fail_case(c, "expected code %s, got %s", want_code,
				  err_code_name(e->code));
			ok = false;
		}
		return ok;
	}
	if (rc == -1) {
		fail_case(c, "unexpected error: %s", e->msg);
		return false;
	}
	if (want_unk) {
		if (rc != EXPR_UNKNOWN) {
			fail_case(c, "expected unknown '%s', got rc %d",
				  want_unk, rc);
			return false;
		}
		if (strcmp(e->msg, want_unk) || e->code != ERR_NONE) {
			fail_case(c, "expected unknown '%s', got '%s'",
				  want_unk, e->msg);
			ok = false;
		}
	} else if (rc != 0) {
		fail_case(c, "unexpected unknown result: %s", e->msg);
		return false;
	}
	if (want_res) {
		json_error_t jerr;
		json_t *w = json_loads(want_res, JSON_DECODE_ANY, &jerr);

		if (!w) {
			fail_case(c, "bad result JSON: %s", jerr.text);
			ok = false;
		} else if (!val || !same_json(val, w)) {
			char *got = dump(val);

			fail_case(c, "expected %s, got %s", want_res, got);
			free(got);
			ok = false;
		}
		json_decref(w);
	}
	if (want_str) {
		char *got = str ? xstrdup(str) :
			    val ? expr_to_string(val) : NULL;

		if (!got || strcmp(got, want_str)) {
			fail_case(c, "expected string '%s', got '%s'",
				  want_str, got ? got : "(none)");
			ok = false;
		}
		free(got);
	}
	return ok;
}

static bool run_case(const struct tcase *c, json_t *base_ctx)
{
	struct expr_env env;
	struct err e = ERR_INIT;
	struct strv rt = STRV_INIT;
	const char *s, *st;
	json_t *ctx = json_deep_copy(base_ctx), *extra, *val = NULL;
	char *str = NULL;
	bool ok = false, bres;
	int rc;

	memset(&env, 0, sizeof(env));
	env.hash_files = fake_hash;
	if ((s = get(c, "ctx"))) {
		json_error_t jerr;

		extra = json_loads(s, 0, &jerr);
		if (!extra) {
			fail_case(c, "bad ctx JSON: %s", jerr.text);
			goto done;
		}
		json_object_update(ctx, extra);
		json_decref(extra);
	}
	env.contexts = ctx;
	if ((st = get(c, "status"))) {
		if (!strcmp(st, "failure"))
			env.status = EXPR_STATUS_FAILURE;
		else if (!strcmp(st, "cancelled"))
			env.status = EXPR_STATUS_CANCELLED;
		else if (!strcmp(st, "unknown"))
			env.status_unknown = true;
	}
	if ((s = get(c, "runtime"))) {
		char *copy = xstrdup(s), *tok, *save = NULL;

		for (tok = strtok_r(copy, ", ", &save); tok;
		     tok = strtok_r(NULL, ", ", &save))
			strv_push(&rt, tok);
		free(copy);
		env.unknown = (const char *const *)rt.v;
	}
	if ((s = get(c, "expr"))) {
		struct expr *x = NULL;

		rc = expr_parse(&x, s, strlen(s), &e);
		if (rc == 0)
			rc = expr_eval(&val, x, &env, &e);
		expr_free(x);
		ok = check(c, rc, &e, val, NULL);
	} else if ((s = get(c, "template"))) {
		rc = expr_interpolate(&str, s, &env, &e);
		ok = check(c, rc, &e, NULL, str);
	} else if ((s = get(c, "value"))) {
		rc = expr_interpolate_value(&val, s, &env, &e);
		ok = check(c, rc, &e, val, NULL);
	} else if ((s = get(c, "if"))) {
		rc = expr_eval_if(&bres, s, &env, &e);
		val = rc == 0 ? json_boolean(bres) : NULL;
		ok = check(c, rc, &e, val, NULL);
	} else if ((s = get(c, "check"))) {
		size_t off = (size_t)-1;
		const char *want_off = get(c, "offset");

		rc = expr_check_template(s, &off, &e);
		ok = check(c, rc, &e, NULL, NULL);
		if (ok && want_off && off != (size_t)strtoul(want_off, NULL,
							      10)) {
			fail_case(c, "expected offset %s, got %zu", want_off,
				  off);
			ok = false;
		}
	} else {
		fail_case(c, "no expr/template/value/if/check key");
	}
done:
	json_decref(val);
	json_decref(ctx);
	free(str);
	strv_release(&rt);
	return ok;
}

static void case_release(struct tcase *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->kv[i].key);
		free(c->kv[i].val);
	}
	free(c->kv);
	c->kv = NULL;
	c->n = c->alloc = 0;
}

/* "key: value" or "key-json: "..."" into the case; false on a bad line. */
static bool add_line(struct tcase *c, const char *line)
{
	const char *colon = strchr(line, ':'), *v;
	char *key;
	size_t klen;

	if (!colon)
		return false;
	klen = (size_t)(colon - line);
	v = colon[1] == ' ' ? colon + 2 : colon + 1;
	key = xstrndup(line, klen);
	ALLOC_GROW(c->kv, c->n + 1, c->alloc);
	if (klen > 5 && !strcmp(key + klen - 5, "-json")) {
		json_error_t jerr;
		json_t *j = json_loads(v, JSON_DECODE_ANY, &jerr);

		if (!json_is_string(j)) {
			json_decref(j);
			free(key);
			return false;
		}
		key[klen - 5] = '\0';
		c->kv[c->n].val = xstrdup(json_string_value(j));
		json_decref(j);
	} else {
		c->kv[c->n].val = xstrdup(v);
	}
	c->kv[c->n++].key = key;
	return true;
}

static void test_expr_cases_file(void **state)
{
	const char *path = *state;
	FILE *f = fopen(path, "r");
	json_error_t jerr;
	json_t *ctx = json_loads(default_ctx, 0, &jerr);
	struct tcase c = { path, 0, NULL, 0, 0 };
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, failed = 0, ran = 0;
	bool more = true;

	assert_non_null(ctx);
	assert_non_null(f);
	while (more) {
		size_t len;

		more = getline(&line, &cap, f) >= 0;
		lineno++;
		len = more ? strlen(line) : 0;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (more && line[0] == '#')
			continue;
		if (more && len) {
			if (!c.n)
				c.line = lineno;
			if (!add_line(&c, line)) {
				fprintf(stderr, "%s:%d: bad line\n", path,
					lineno);
				failed++;
			}
			continue;
		}
		if (c.n) {
			ran++;
			if (!run_case(&c, ctx))
				failed++;
			case_release(&c);
		}
	}
	fclose(f);
	free(line);
	json_decref(ctx);
	total_cases += ran;
	total_failed += failed;
	printf("%s: %d cases, %d failed\n", path, ran, failed);
	assert_int_equal(failed, 0);
	assert_true(ran > 0);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	DIR *d = opendir(DATA_DIR);
	struct dirent *de;
	char **paths = NULL;
	struct CMUnitTest *tests;
	size_t n = 0, alloc = 0, i;
	int rc;

	if (!d) {
		fprintf(stderr, "cannot open %s (run from the repository "
			"root)\n", DATA_DIR);
		return 1;
	}
	while ((de = readdir(d))) {
		if (!str_ends_with(de->d_name, ".txt"))
			continue;
		ALLOC_GROW(paths, n + 1, alloc);
		paths[n++] = xasprintf("%s/%s", DATA_DIR, de->d_name);
	}
	closedir(d);
	if (!n)
		return 1;
	qsort(paths, n, sizeof(*paths), cmp_names);
	tests = xcalloc(n, sizeof(*tests));
	for (i = 0; i < n; i++) {
		const char *base = strrchr(paths[i], '/') + 1;

		tests[i].name = xasprintf("test_expr_cases_%.*s",
					  (int)(strlen(base) - 4), base);
		tests[i].test_func = test_expr_cases_file;
		tests[i].initial_state = paths[i];
	}
	rc = _cmocka_run_group_tests("expr_cases", tests, n, NULL, NULL);
	printf("expr_cases: %d cases run in %zu files, %d failed\n",
	       total_cases, n, total_failed);
	for (i = 0; i < n; i++) {
		free((char *)tests[i].name);
		free(paths[i]);
	}
	free(tests);
	free(paths);
	return rc;
}
