/* Unit tests for lib/aws/s3filter.c: the examples of the AWS CLI's "Use
 * of Exclude and Include Filters" (aws s3 help) taken as facts, Python
 * fnmatch's rules for sets, and a pattern that would take exponential
 * time in a naive backtracking matcher. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/aws/s3filter.h"
#include "lib/err.h"
#include "lib/util.h"

struct glob_case {
	const char *pattern;
	const char *s;
	bool want;
};

static void run_glob_cases(const struct glob_case *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s3filter_glob(c[i].pattern, c[i].s) != c[i].want)
			fail_msg("pattern '%s' on '%s': want %s", c[i].pattern,
				 c[i].s, c[i].want ? "match" : "no match");
	}
}

/* The docs' tree: /tmp/foo/{.git/config,.git/description,foo.txt,bar.txt,
 * baz.jpg}, relative to the source root. */
static const char *const docs_tree[] = {
	".git/config", ".git/description", "foo.txt", "bar.txt", "baz.jpg",
};

struct filter_arg {
	bool include;
	const char *pattern;
};

/* Apply filters to docs_tree; want is one char per file, '+' kept. */
static void check_tree(const struct filter_arg *args, size_t nargs,
		       const char *want)
{
	struct err e = ERR_INIT;
	struct s3filter *f;
	size_t i;

	s3filter_new(&f);
	for (i = 0; i < nargs; i++)
		assert_int_equal(s3filter_add(f, args[i].include,
					      args[i].pattern, &e), 0);
	for (i = 0; i < ARRAY_SIZE(docs_tree); i++) {
		bool got = s3filter_match(f, docs_tree[i]);

		if (got != (want[i] == '+'))
			fail_msg("%s: want %s", docs_tree[i],
				 want[i] == '+' ? "included" : "excluded");
	}
	s3filter_free(f);
}

/* No filters, or only --include: everything is included. */
static void test_s3filter_default_includes(void **state)
{
	static const struct filter_arg inc[] = { { true, "*.txt" } };

	check_tree(NULL, 0, "+++++");
	check_tree(inc, ARRAY_SIZE(inc), "+++++");
}

/* --exclude ".git/<star>" drops .git/config and .git/description. */
static void test_s3filter_docs_exclude_git(void **state)
{
	static const struct filter_arg a[] = { { false, ".git/*" } };

	check_tree(a, ARRAY_SIZE(a), "--+++");
}

/* --exclude "ba*" drops bar.txt and baz.jpg. */
static void test_s3filter_docs_exclude_prefix(void **state)
{
	static const struct filter_arg a[] = { { false, "ba*" } };

	check_tree(a, ARRAY_SIZE(a), "+++--");
}

/* --exclude "*" --include "*.txt": only the .txt files. */
static void test_s3filter_docs_exclude_all_include_txt(void **state)
{
	static const struct filter_arg a[] = {
		{ false, "*" }, { true, "*.txt" },
	};

	check_tree(a, ARRAY_SIZE(a), "--++-");
}

/* --include "*.txt" --exclude "*": the later filter wins, nothing. */
static void test_s3filter_docs_order_matters(void **state)
{
	static const struct filter_arg a[] = {
		{ true, "*.txt" }, { false, "*" },
	};

	check_tree(a, ARRAY_SIZE(a), "-----");
}

/* --exclude "*" --include "*.jpg" --include "*.txt". */
static void test_s3filter_docs_two_includes(void **state)
{
	static const struct filter_arg a[] = {
		{ false, "*" }, { true, "*.jpg" }, { true, "*.txt" },
	};
	static const struct filter_arg b[] = {
		{ false, "*" }, { true, "*.jpg" },
	};

	check_tree(a, ARRAY_SIZE(a), "--+++");
	check_tree(b, ARRAY_SIZE(b), "----+");
}

/* --exclude "*.txt" --include "*": the include matches all, so all. And
 * a later exclude cuts back into an include. */
static void test_s3filter_last_match_wins(void **state)
{
	static const struct filter_arg a[] = {
		{ false, "*.txt" }, { true, "*" },
	};
	static const struct filter_arg b[] = {
		{ false, "*" }, { true, "*.txt" }, { false, "bar.txt" },
	};
	static const struct filter_arg c[] = {
		{ false, "*.txt" }, { true, "foo.txt" }, { false, "*.jpg" },
	};

	check_tree(a, ARRAY_SIZE(a), "+++++");
	check_tree(b, ARRAY_SIZE(b), "--+--");
	check_tree(c, ARRAY_SIZE(c), "+++--");
}

/* '*' crosses '/' (fnmatch, unlike a shell): "*.txt" is any depth. */
static void test_s3filter_star_crosses_slash(void **state)
{
	static const struct glob_case c[] = {
		{ "*.txt", "a.txt", true },
		{ "*.txt", "a/b/c.txt", true },
		{ "*.txt", "a.txt/b", false },
		{ "a/*", "a/b/c", true },
		{ "a/*", "a/", true },
		{ "a/*", "a", false },
		{ "a/*", "ba/c", false },
		{ "*/b", "a/b", true },
		{ "*/b", "b", false },
		{ "*", "", true },
		{ "*", "x/y/z", true },
		{ "**", "x/y", true },
		{ "a*b*c", "a/b/c", true },
		{ "a*b*c", "acb", false },
		{ "*a", "bbba", true },
		{ "*a", "bbab", false },
		{ "", "", true },
		{ "", "a", false },
		{ "a", "", false },
		{ "abc", "abc", true },
		{ "abc", "abcd", false },
		{ "abc", "ABC", false },	/* case-sensitive */
		{ "*.TXT", "a.txt", false },
		{ ".git/*", "sub/.git/config", false },
		{ "*.git/*", "sub/.git/config", true },
	};

	run_glob_cases(c, ARRAY_SIZE(c));
}

static void test_s3filter_question_mark(void **state)
{
	static const struct glob_case c[] = {
		{ "?", "a", true },
		{ "?", "", false },
		{ "?", "ab", false },
		{ "a?c", "a/c", true },	/* '?' takes '/' too */
		{ "??.txt", "ab.txt", true },
		{ "??.txt", "a.txt", false },
		/* one character, not one byte: "é" is two bytes */
		{ "?.txt", "\xc3\xa9.txt", true },
		{ "??.txt", "\xc3\xa9.txt", false },
		{ "?", "\xe2\x82\xac", true },		/* € */
		{ "?", "\xf0\x9f\x98\x80", true },	/* U+1F600 */
		/* a byte that is not UTF-8 is one character of its own */
		{ "?", "\xff", true },
		{ "??", "\xc3", false },
		{ "?x", "\xc3x", true },
		{ "*\xc3\xa9", "ab\xc3\xa9", true },
		{ "*?", "\xc3\xa9", true },
		{ "*??", "\xc3\xa9", false },
	};

	run_glob_cases(c, ARRAY_SIZE(c));
}

static void test_s3filter_sets(void **state)
{
	static const struct glob_case c[] = {
		{ "[abc].js", "a.js", true },
		{ "[abc].js", "d.js", false },
		{ "[a-c]x", "bx", true },
		{ "[a-c]x", "dx", false },
		{ "[!a]x", "bx", true },
		{ "[!a]x", "ax", false },
		{ "[!a-c]", "d", true },
		{ "[!a-c]", "b", false },
		{ "[0-9a-f]", "7", true },
		{ "[0-9a-f]", "F", false },
		{ "[!/]", "/", false },
		{ "a[/]b", "a/b", true },
		/* ']' first is a member; '-' first or last is a member */
		{ "[]]", "]", true },
		{ "[]a]", "a", true },
		{ "[!]]", "]", false },
		{ "[!]]", "x", true },
		{ "[-a]", "-", true },
		{ "[a-]", "-", true },
		{ "[a-]", "b", false },
		{ "[!-]", "-", false },
		/* "a-b-c": the range a-b, then '-' and 'c' */
		{ "[a-b-c]", "-", true },
		{ "[a-b-c]", "c", true },
		{ "[a-b-c]", "d", false },
		/* a reversed range is empty */
		{ "[z-a]", "m", false },
		{ "[!z-a]", "m", true },
		/* wildcards and backslash are plain inside a set */
		{ "[*]", "*", true },
		{ "[*]", "a", false },
		{ "[?]", "?", true },
		{ "[[]", "[", true },
		{ "[\\]", "\\", true },
		{ "a\\*", "a\\b", true },	/* no escapes in fnmatch */
		/* ranges by code point */
		{ "[\xc3\xa0-\xc3\xbf]", "\xc3\xa9", true },
		{ "[!\xc3\xa9]", "\xc3\xa9", false },
		{ "[!\xc3\xa9]", "e", true },
		/* a '[' without ']' is literal in the glob */
		{ "a[b", "a[b", true },
		{ "a[b", "ab", false },
		{ "[!]", "[!]", true },
		{ "*[", "x[", true },
	};

	run_glob_cases(c, ARRAY_SIZE(c));
}

static void test_s3filter_add_refuses(void **state)
{
	struct err e = ERR_INIT;
	struct s3filter *f;
	char *big;

	s3filter_new(&f);
	assert_int_equal(s3filter_add(f, false, "a[b", &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_non_null(strstr(e.msg, "--exclude \"a[b\""));
	err_clear(&e);
	assert_int_equal(s3filter_add(f, true, "[!]", &e), -1);
	assert_non_null(strstr(e.msg, "--include"));
	err_clear(&e);

	big = xmalloc(1026);
	memset(big, 'a', 1025);
	big[1025] = '\0';
	assert_int_equal(s3filter_add(f, false, big, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	err_clear(&e);
	big[1024] = '\0';	/* exactly 1024 bytes is allowed */
	assert_int_equal(s3filter_add(f, false, big, &e), 0);
	free(big);

	/* balanced sets, "[[]" and "[]]" are fine */
	assert_int_equal(s3filter_add(f, false, "[[]x[]]*[!a-z]", &e), 0);
	assert_int_equal(e.code, ERR_NONE);
	/* the refused ones were not added: only "aaa..." and the last */
	assert_true(s3filter_match(f, "b"));
	assert_false(s3filter_match(f, "[x]yz0"));
	s3filter_free(f);
	s3filter_free(NULL);
}

/* 2,000 "*a" pairs then "b", against 4,000 "a"s with no "b": exponential
 * for a recursive matcher, at most quadratic here (bounded input; no
 * timing assertion: a slow matcher shows as a test that does not end). */
static void test_s3filter_pathological(void **state)
{
	size_t np = 2000, ns = 4000, i;
	char *p = xmalloc(2 * np + 2), *s = xmalloc(ns + 2);

	for (i = 0; i < np; i++) {
		p[2 * i] = '*';
		p[2 * i + 1] = 'a';
	}
	p[2 * np] = 'b';
	p[2 * np + 1] = '\0';
	memset(s, 'a', ns);
	s[ns] = '\0';
	assert_false(s3filter_glob(p, s));	/* no 'b' */
	s[ns] = 'b';
	s[ns + 1] = '\0';
	assert_true(s3filter_glob(p, s));
	s[1999] = 'b';				/* 1,999 'a's, then 'b' */
	s[2000] = '\0';
	assert_false(s3filter_glob(p, s));
	s[1999] = 'a';
	s[2000] = 'b';
	s[2001] = '\0';
	assert_true(s3filter_glob(p, s));	/* exactly 2,000 */
	free(p);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_s3filter_default_includes),
		cmocka_unit_test(test_s3filter_docs_exclude_git),
		cmocka_unit_test(test_s3filter_docs_exclude_prefix),
		cmocka_unit_test(test_s3filter_docs_exclude_all_include_txt),
		cmocka_unit_test(test_s3filter_docs_order_matters),
		cmocka_unit_test(test_s3filter_docs_two_includes),
		cmocka_unit_test(test_s3filter_last_match_wins),
		cmocka_unit_test(test_s3filter_star_crosses_slash),
		cmocka_unit_test(test_s3filter_question_mark),
		cmocka_unit_test(test_s3filter_sets),
		cmocka_unit_test(test_s3filter_add_refuses),
		cmocka_unit_test(test_s3filter_pathological),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
