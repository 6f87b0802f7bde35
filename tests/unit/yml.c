/* Unit tests for workflows/yml.c: the YAML loader, its limits and typing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/util.h"
#include "workflows/yml.h"

/* Load text as "t.yml", which must succeed. */
static struct yml_doc *load(const char *text)
{
	struct err e = ERR_INIT;
	struct yml_doc *doc = NULL;

	if (yml_load_mem(&doc, "t.yml", text, strlen(text), NULL, &e))
		fail_msg("load failed: %s", e.msg);
	assert_non_null(doc);
	return doc;
}

/* Load text (len bytes) with limits; it must fail with code and a message
 * that starts with want. */
static void load_fails(const char *text, size_t len,
		       const struct yml_limits *lim, enum err_code code,
		       const char *want)
{
	struct err e = ERR_INIT;
	struct yml_doc *doc = (struct yml_doc *)1;

	assert_int_equal(yml_load_mem(&doc, "t.yml", text, len, lim, &e), -1);
	assert_null(doc);
	if (e.code != code || strncmp(e.msg, want, strlen(want)))
		fail_msg("got %s '%s', want %s '%s...'", err_code_name(e.code),
			 e.msg, err_code_name(code), want);
}

static void fails(const char *text, enum err_code code, const char *want)
{
	load_fails(text, strlen(text), NULL, code, want);
}

static void assert_pos(const struct yml_node *n, int line, int col)
{
	assert_non_null(n);
	assert_string_equal(n->pos.file, "t.yml");
	if (n->pos.line != line || n->pos.col != col)
		fail_msg("at %d:%d, want %d:%d", n->pos.line, n->pos.col,
			 line, col);
}

/* yml_to_json of the root, dumped compactly, compared with want. */
static void assert_json(const char *text, const char *want)
{
	struct yml_doc *doc = load(text);
	json_t *j = yml_to_json(doc->root);
	char *got = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY |
			       JSON_PRESERVE_ORDER);

	if (strcmp(got, want))
		fail_msg("%s: got %s, want %s", text, got, want);
	free(got);
	json_decref(j);
	yml_doc_free(doc);
}

static void test_yml_positions(void **state)
{
	struct yml_doc *doc = load("on:\n  push:\n    branches: [main, \"x\"]\n"
				   "jobs:\n  build:\n    steps:\n"
				   "      - run: make\n        name: Build\n");
	const struct yml_node *on = yml_get(doc->root, "on");
	const struct yml_node *br = yml_get(yml_get(on, "push"), "branches");
	const struct yml_node *steps;

	assert_pos(doc->root, 1, 1);
	assert_pos(yml_get_key(doc->root, "on"), 1, 1);
	assert_pos(yml_get_key(on, "push"), 2, 3);
	assert_pos(br, 3, 15);
	assert_int_equal(br->kind, YML_SEQ);
	assert_int_equal(br->n_items, 2);
	assert_pos(br->items[0], 3, 16);
	assert_pos(br->items[1], 3, 22);
	assert_pos(yml_get_key(doc->root, "jobs"), 4, 1);
	steps = yml_get(yml_get(yml_get(doc->root, "jobs"), "build"), "steps");
	assert_pos(steps, 7, 7);
	assert_pos(steps->items[0], 7, 9);
	assert_pos(yml_get(steps->items[0], "run"), 7, 14);
	assert_pos(yml_get_key(steps->items[0], "name"), 8, 9);
	yml_doc_free(doc);
}

static void test_yml_positions_count_characters(void **state)
{
	struct yml_doc *doc = load("k: [\xc3\xa9t\xc3\xa9, x]\n");
	const struct yml_node *seq = yml_get(doc->root, "k");

	assert_pos(seq->items[1], 1, 10);
	yml_doc_free(doc);
}

static void test_yml_scalar_styles(void **state)
{
	struct yml_doc *doc = load("a: plain\nb: 'single'\nc: \"dq\\tx\"\n"
				   "d: |\n  lit\ne: >\n  folded\n");
	const struct yml_node *c = yml_get(doc->root, "c");

	assert_int_equal(yml_get(doc->root, "a")->style, YML_PLAIN);
	assert_int_equal(yml_get(doc->root, "b")->style, YML_QUOTED);
	assert_int_equal(c->style, YML_QUOTED);
	assert_string_equal(c->str, "dq\tx");
	assert_int_equal(c->len, 4);
	assert_int_equal(yml_get(doc->root, "d")->style, YML_BLOCK);
	assert_int_equal(yml_get(doc->root, "e")->style, YML_BLOCK);
	yml_doc_free(doc);
}

static void test_yml_scalar_with_nul(void **state)
{
	struct yml_doc *doc = load("a: \"x\\0y\"\n");
	const struct yml_node *a = yml_get(doc->root, "a");
	json_t *j;

	assert_int_equal(a->len, 3);
	assert_memory_equal(a->str, "x\0y", 4);
	j = yml_to_json(a);
	assert_int_equal(json_string_length(j), 3);
	json_decref(j);
	yml_doc_free(doc);
}

static void test_yml_block_scalars(void **state)
{
	struct yml_doc *doc = load("steps:\n  - run: |\n      echo one\n"
				   "      echo two\n  - run: >-\n      a\n"
				   "      b\n  - run: |+\n      kept\n\n");
	const struct yml_node *steps = yml_get(doc->root, "steps");

	assert_string_equal(yml_get(steps->items[0], "run")->str,
			    "echo one\necho two\n");
	assert_string_equal(yml_get(steps->items[1], "run")->str, "a b");
	assert_string_equal(yml_get(steps->items[2], "run")->str, "kept\n\n");
	assert_json("x: |\n  1\n", "{\"x\":\"1\\n\"}");
	yml_doc_free(doc);
}

static void test_yml_anchor_alias_shares(void **state)
{
	struct yml_doc *doc = load("base: &env\n  A: 1\n  B: two\n"
				   "job: *env\nname: &n hello\nagain: *n\n");
	const struct yml_node *base = yml_get(doc->root, "base");

	assert_ptr_equal(yml_get(doc->root, "job"), base);
	assert_ptr_equal(yml_get(doc->root, "again"),
			 yml_get(doc->root, "name"));
	assert_json("a: &x [1, 2]\nb: *x\n", "{\"a\":[1,2],\"b\":[1,2]}");
	yml_doc_free(doc);
}

static void test_yml_anchor_redefined(void **state)
{
	assert_json("a: &x 1\nb: &x 2\nc: *x\n", "{\"a\":1,\"b\":2,\"c\":2}");
	/* The inner anchor is the later one in document order. */
	assert_json("a: &x [&x 1]\nb: *x\n", "{\"a\":[1],\"b\":1}");
}

static void test_yml_undefined_alias(void **state)
{
	fails("a: 1\nb:\n  c: *nope\n", ERR_INVALID,
	      "t.yml:3:6: undefined alias '*nope'");
	fails("a: *later\nb: &later 1\n", ERR_INVALID,
	      "t.yml:1:4: undefined alias '*later'");
}

static void test_yml_recursive_alias(void **state)
{
	fails("a: &a\n  b: *a\n", ERR_INVALID,
	      "t.yml:2:6: alias '*a' refers to a node that contains it");
}

static void test_yml_merge_key_is_ordinary(void **state)
{
	struct yml_doc *doc = load("base: &b {x: 1}\njob:\n  <<: *b\n  y: 2\n");
	const struct yml_node *job = yml_get(doc->root, "job");

	assert_int_equal(job->n_pairs, 2);
	assert_string_equal(job->pairs[0].key->str, "<<");
	assert_null(yml_get(job, "x"));
	assert_pos(yml_get_key(job, "<<"), 3, 3);
	yml_doc_free(doc);
}

static void test_yml_billion_laughs(void **state)
{
	static const char text[] =
		"a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n"
		"b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
		"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
		"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
		"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
		"f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
		"g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
		"h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
		"i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
	struct yml_limits lim = { 0, 0, 1000 };

	load_fails(text, strlen(text), NULL, ERR_LIMIT, "t.yml:7:");
	fails(text, ERR_LIMIT, "t.yml:7:");
	/* The message says what went over. */
	load_fails(text, strlen(text), &lim, ERR_LIMIT,
		   "t.yml:4:8: document expands to more than 1000 nodes");
}

static void test_yml_node_limit_plain(void **state)
{
	struct yml_limits lim = { 0, 0, 4 };
	struct yml_doc *doc = NULL;
	struct err e = ERR_INIT;

	/* map + 2 keys + 2 values = 5 nodes */
	load_fails("a: 1\nb: 2\n", 10, &lim, ERR_LIMIT, "t.yml:2:4: ");
	lim.max_nodes = 5;
	assert_int_equal(yml_load_mem(&doc, "t.yml", "a: 1\nb: 2\n", 10,
				      &lim, &e), 0);
	yml_doc_free(doc);
}

static char *nested(int levels, const char *open, const char *close)
{
	struct buf b = BUF_INIT;
	int i;

	for (i = 0; i < levels; i++)
		buf_adds(&b, open);
	buf_adds(&b, "x");
	for (i = 0; i < levels; i++)
		buf_adds(&b, close);
	return buf_detach(&b, NULL);
}

static void test_yml_depth_limit(void **state)
{
	struct err e = ERR_INIT;
	struct yml_doc *doc = NULL;
	char *ok = nested(64, "[", "]");
	char *deep = nested(65, "[", "]");
	char *huge = nested(5000, "{a: ", "}");

	assert_int_equal(yml_load_mem(&doc, "t.yml", ok, strlen(ok), NULL,
				      &e), 0);
	yml_doc_free(doc);
	fails(deep, ERR_LIMIT, "t.yml:1:65: nesting deeper than 64 levels");
	fails(huge, ERR_LIMIT, "t.yml:1:");
	free(ok);
	free(deep);
	free(huge);
}

static void test_yml_depth_limit_through_alias(void **state)
{
	struct yml_limits lim = { 0, 3, 0 };

	/* &a is two deep; used two levels down it would make four. */
	load_fails("a: &a [[1]]\nb: [*a]\n", 20, &lim, ERR_LIMIT,
		   "t.yml:2:5: alias '*a' nests deeper than 3 levels");
	lim.max_depth = 4;
	load_fails("a: &a [[1]]\nb: [[*a]]\n", 22, &lim, ERR_LIMIT,
		   "t.yml:2:6: ");
}

static void test_yml_size_limit(void **state)
{
	struct yml_limits lim = { 8, 0, 0 };
	struct yml_doc *doc = NULL;
	struct err e = ERR_INIT;

	load_fails("a: 12345678\n", 12, &lim, ERR_LIMIT,
		   "t.yml:1:1: input is 12 bytes, over the limit of 8");
	assert_int_equal(yml_load_mem(&doc, "t.yml", "a: 12345", 8, &lim, &e),
			 0);
	yml_doc_free(doc);
}

static void test_yml_duplicate_key(void **state)
{
	fails("name: a\non: push\nname: b\n", ERR_INVALID,
	      "t.yml:3:1: duplicate key 'name' (first at line 1)");
	fails("a:\n  x: 1\n  'x': 2\n", ERR_INVALID,
	      "t.yml:3:3: duplicate key 'x' (first at line 2)");
	/* The same key in two mappings is fine. */
	yml_doc_free(load("a: {x: 1}\nb: {x: 2}\n"));
}

static void test_yml_duplicate_key_in_large_mapping(void **state)
{
	struct buf b = BUF_INIT;
	int i;

	for (i = 0; i < 500; i++)
		buf_printf(&b, "k%d: %d\n", i, i);
	yml_doc_free(load(b.ptr));
	buf_adds(&b, "k250: again\n");
	fails(b.ptr, ERR_INVALID,
	      "t.yml:501:1: duplicate key 'k250' (first at line 251)");
	buf_release(&b);
}

static void test_yml_complex_keys(void **state)
{
	fails("? [a, b]\n: 1\n", ERR_INVALID,
	      "t.yml:1:3: a mapping key must be a scalar, not a sequence");
	fails("{ {a: 1}: 2 }\n", ERR_INVALID,
	      "t.yml:1:3: a mapping key must be a scalar, not a mapping");
	fails("a: &m {x: 1}\n*m : 2\n", ERR_INVALID,
	      "t.yml:2:1: a mapping key must be a scalar");
	/* An alias of a scalar is a fine key. */
	assert_json("a: &k name\n*k : 2\n", "{\"a\":\"name\",\"name\":2}");
}

static void test_yml_syntax_errors(void **state)
{
	fails("a: 1\n b: 2\n", ERR_SYNTAX,
	      "t.yml:2:3: mapping values are not allowed in this context");
	fails("a: 1\nb: [1, 2\nc: 3\n", ERR_SYNTAX,
	      "t.yml:3:2: did not find expected ',' or ']' while parsing "
	      "a flow sequence started at line 2");
	fails("a: \"open\n", ERR_SYNTAX, "t.yml:2:1: found unexpected end");
	fails("a:\n\tb: 1\n", ERR_SYNTAX, "t.yml:2:1: ");
}

static void test_yml_invalid_utf8(void **state)
{
	fails("a: 1\nb: x\xff\n", ERR_SYNTAX, "t.yml:2:5: ");
}

static void test_yml_empty_documents(void **state)
{
	static const char *const empty[] = { "", "\n\n", "# only a comment\n",
					     "---\n", "--- \n...\n" };
	struct yml_doc *doc;
	json_t *j;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(empty); i++) {
		doc = load(empty[i]);
		assert_null(doc->root);
		j = yml_to_json(doc->root);
		assert_true(json_is_null(j));
		json_decref(j);
		yml_doc_free(doc);
	}
	doc = load("~\n");
	assert_non_null(doc->root);
	assert_true(yml_is_null(doc->root));
	yml_doc_free(doc);
}

static void test_yml_first_document_only(void **state)
{
	assert_json("a: 1\n---\nb: 2\n", "{\"a\":1}");
	/* What follows the first document is not even parsed. */
	assert_json("a: 1\n---\nb: [\n", "{\"a\":1}");
}

static void test_yml_scalar_typing(void **state)
{
	static const struct {
		const char *yaml, *json;
	} cases[] = {
		{ "", "null" }, { "~", "null" }, { "null", "null" },
		{ "Null", "null" }, { "NULL", "null" }, { "nULL", "\"nULL\"" },
		{ "true", "true" }, { "True", "true" }, { "TRUE", "true" },
		{ "false", "false" }, { "False", "false" },
		{ "FALSE", "false" }, { "yes", "\"yes\"" }, { "on", "\"on\"" },
		{ "off", "\"off\"" }, { "y", "\"y\"" }, { "tRUE", "\"tRUE\"" },
		{ "0", "0" }, { "42", "42" }, { "-17", "-17" }, { "+3", "3" },
		{ "007", "7" }, { "0o17", "15" }, { "0x1F", "31" },
		{ "0xff", "255" }, { "0b101", "\"0b101\"" },
		{ "0o9", "\"0o9\"" }, { "-0x1", "\"-0x1\"" },
		{ "1.5", "1.5" }, { "-2.25", "-2.25" }, { "1e3", "1000.0" },
		{ "1E-2", "0.01" }, { ".5", "0.5" }, { "2.", "2.0" },
		{ "1_000", "\"1_000\"" }, { "1.2.3", "\"1.2.3\"" },
		{ "2.50", "2.5" }, { "e3", "\"e3\"" }, { "1e", "\"1e\"" },
		{ ".", "\".\"" }, { "+", "\"+\"" },
		{ "'true'", "\"true\"" }, { "\"42\"", "\"42\"" },
		{ "'null'", "\"null\"" }, { "''", "\"\"" },
		{ "!!str 42", "\"42\"" }, { "! true", "\"true\"" },
		{ "!!int 42", "42" },
		{ "9223372036854775807", "9223372036854775807" },
		{ "99999999999999999999", "1e20" },
		{ ".inf", "\".inf\"" }, { "-.INF", "\"-.INF\"" },
		{ ".nan", "\".nan\"" }, { "1e999", "\"1e999\"" },
		{ "hello world", "\"hello world\"" },
		{ "${{ github.ref }}", "\"${{ github.ref }}\"" },
	};
	char text[128], want[128];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(text, sizeof(text), "- %s\n", cases[i].yaml);
		snprintf(want, sizeof(want), "[%s]", cases[i].json);
		assert_json(text, want);
	}
	assert_json("a:\n", "{\"a\":null}");
}

static void test_yml_special_floats(void **state)
{
	struct yml_doc *doc = load("[.inf, -.inf, +.Inf, .nan, .NaN, .Nan]\n");
	const struct yml_node *s = doc->root;
	double d;

	assert_int_equal(yml_number(s->items[0], &d), 0);
	assert_true(isinf(d) && d > 0);
	assert_int_equal(yml_number(s->items[1], &d), 0);
	assert_true(isinf(d) && d < 0);
	assert_int_equal(yml_number(s->items[2], &d), 0);
	assert_true(isinf(d) && d > 0);
	assert_int_equal(yml_number(s->items[3], &d), 0);
	assert_true(isnan(d));
	assert_int_equal(yml_number(s->items[4], &d), 0);
	assert_int_equal(yml_number(s->items[5], &d), -1);
	yml_doc_free(doc);
}

static void test_yml_typed_readers(void **state)
{
	struct yml_doc *doc = load("[true, 'true', FALSE, 12, '12', 0x10, "
				   "~, '', x, [1], {a: 1}, 1.5]\n");
	const struct yml_node *s = doc->root;
	static const char *const kinds[] = {
		"boolean", "string", "boolean", "number", "string", "number",
		"null", "string", "string", "sequence", "mapping", "number",
	};
	bool b = false;
	double d = 0;
	size_t i;

	assert_int_equal(yml_bool(s->items[0], &b), 0);
	assert_true(b);
	assert_int_equal(yml_bool(s->items[1], &b), -1);
	assert_int_equal(yml_bool(s->items[2], &b), 0);
	assert_false(b);
	assert_int_equal(yml_bool(s->items[3], &b), -1);
	assert_int_equal(yml_number(s->items[3], &d), 0);
	assert_true(d == 12);
	assert_int_equal(yml_number(s->items[4], &d), -1);
	assert_int_equal(yml_number(s->items[5], &d), 0);
	assert_true(d == 16);
	assert_int_equal(yml_number(s->items[9], &d), -1);
	assert_true(yml_is_null(s->items[6]));
	assert_false(yml_is_null(s->items[7]));
	assert_true(yml_is_null(NULL));
	for (i = 0; i < ARRAY_SIZE(kinds); i++)
		assert_string_equal(yml_kind_name(s->items[i]), kinds[i]);
	assert_string_equal(yml_kind_name(NULL), "null");
	yml_doc_free(doc);
}

static void test_yml_get(void **state)
{
	struct yml_doc *doc = load("Name: a\nname: b\n1: one\n");

	assert_string_equal(yml_get(doc->root, "name")->str, "b");
	assert_string_equal(yml_get(doc->root, "Name")->str, "a");
	assert_string_equal(yml_get(doc->root, "1")->str, "one");
	assert_null(yml_get(doc->root, "NAME"));
	assert_null(yml_get_key(doc->root, "missing"));
	assert_null(yml_get(yml_get(doc->root, "name"), "x"));
	assert_null(yml_get(NULL, "x"));
	yml_doc_free(doc);
}

static void test_yml_to_json_workflow(void **state)
{
	assert_json("name: CI\n"
		    "on:\n  push:\n    branches: [main]\n  pull_request:\n"
		    "env:\n  DEBUG: false\n  LEVEL: 3\n"
		    "jobs:\n  test:\n    runs-on: ubuntu-latest\n"
		    "    timeout-minutes: 10\n"
		    "    steps:\n      - uses: actions/checkout@v4\n"
		    "      - run: |\n          make\n          make test\n",
		    "{\"name\":\"CI\",\"on\":{\"push\":{\"branches\":[\"main\"]},"
		    "\"pull_request\":null},\"env\":{\"DEBUG\":false,"
		    "\"LEVEL\":3},\"jobs\":{\"test\":{\"runs-on\":"
		    "\"ubuntu-latest\",\"timeout-minutes\":10,\"steps\":[{"
		    "\"uses\":\"actions/checkout@v4\"},{\"run\":"
		    "\"make\\nmake test\\n\"}]}}}");
	/* Keys stay strings whatever they look like. */
	assert_json("true: 1\n~: 2\n3: x\n",
		    "{\"true\":1,\"~\":2,\"3\":\"x\"}");
}

static void test_yml_load_file(void **state)
{
	static const char text[] = "on: push\njobs:\n  a:\n    runs-on: x\n";
	char path[] = "/tmp/gantry-yml-XXXXXX";
	struct yml_doc *doc = NULL;
	struct err e = ERR_INIT;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1),
			 (ssize_t)(sizeof(text) - 1));
	close(fd);
	assert_int_equal(yml_load_file(&doc, path, NULL, &e), 0);
	assert_string_equal(doc->file, path);
	assert_string_equal(yml_get(yml_get(yml_get(doc->root, "jobs"), "a"),
				    "runs-on")->str, "x");
	assert_string_equal(yml_get_key(doc->root, "jobs")->pos.file, path);
	assert_int_equal(yml_get_key(doc->root, "jobs")->pos.line, 2);
	yml_doc_free(doc);
	{
		struct yml_limits lim = { 10, 0, 0 };

		doc = (struct yml_doc *)1;
		assert_int_equal(yml_load_file(&doc, path, &lim, &e), -1);
		assert_null(doc);
		assert_int_equal(e.code, ERR_LIMIT);
	}
	unlink(path);
}

static void test_yml_load_file_errors(void **state)
{
	struct yml_doc *doc = NULL;
	struct err e = ERR_INIT;

	assert_int_equal(yml_load_file(&doc, "/nonexistent/wf.yml", NULL, &e),
			 -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_non_null(strstr(e.msg, "/nonexistent/wf.yml"));
	assert_int_equal(yml_load_file(&doc, "/tmp", NULL, &e), -1);
	assert_int_equal(e.code, ERR_IO);
}

static void test_yml_error_leaves_no_leaks(void **state)
{
	/* Errors deep inside collections free every frame (ASan checks). */
	fails("a:\n  b: [1, {c: [x, *zz]}]\n", ERR_INVALID,
	      "t.yml:2:18: undefined alias");
	fails("a: &a {b: [1, 2]}\nc: {d: [*a, {e: 1, e: 2}]}\n", ERR_INVALID,
	      "t.yml:2:20: duplicate key 'e'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_yml_positions),
		cmocka_unit_test(test_yml_positions_count_characters),
		cmocka_unit_test(test_yml_scalar_styles),
		cmocka_unit_test(test_yml_scalar_with_nul),
		cmocka_unit_test(test_yml_block_scalars),
		cmocka_unit_test(test_yml_anchor_alias_shares),
		cmocka_unit_test(test_yml_anchor_redefined),
		cmocka_unit_test(test_yml_undefined_alias),
		cmocka_unit_test(test_yml_recursive_alias),
		cmocka_unit_test(test_yml_merge_key_is_ordinary),
		cmocka_unit_test(test_yml_billion_laughs),
		cmocka_unit_test(test_yml_node_limit_plain),
		cmocka_unit_test(test_yml_depth_limit),
		cmocka_unit_test(test_yml_depth_limit_through_alias),
		cmocka_unit_test(test_yml_size_limit),
		cmocka_unit_test(test_yml_duplicate_key),
		cmocka_unit_test(test_yml_duplicate_key_in_large_mapping),
		cmocka_unit_test(test_yml_complex_keys),
		cmocka_unit_test(test_yml_syntax_errors),
		cmocka_unit_test(test_yml_invalid_utf8),
		cmocka_unit_test(test_yml_empty_documents),
		cmocka_unit_test(test_yml_first_document_only),
		cmocka_unit_test(test_yml_scalar_typing),
		cmocka_unit_test(test_yml_special_floats),
		cmocka_unit_test(test_yml_typed_readers),
		cmocka_unit_test(test_yml_get),
		cmocka_unit_test(test_yml_to_json_workflow),
		cmocka_unit_test(test_yml_load_file),
		cmocka_unit_test(test_yml_load_file_errors),
		cmocka_unit_test(test_yml_error_leaves_no_leaks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
