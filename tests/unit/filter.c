/* Unit tests for workflows/filter.c: GitHub's filter patterns (the
 * examples of the "Filter pattern cheat sheet" in "Workflow syntax for
 * GitHub Actions" are taken as facts) and the on.<event> rules. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/util.h"
#include "workflows/filter.h"

struct glob_case {
	const char *pattern;
	const char *name;
	bool want;
};

static void run_glob_cases(const struct glob_case *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (filter_glob(c[i].pattern, c[i].name) != c[i].want)
			fail_msg("pattern '%s' on '%s': want %s", c[i].pattern,
				 c[i].name, c[i].want ? "match" : "no match");
	}
}

/* "Patterns to match branches and tags". */
static void test_filter_cheat_sheet_refs(void **state)
{
	static const struct glob_case c[] = {
		{ "feature/*", "feature/my-branch", true },
		{ "feature/*", "feature/your-branch", true },
		{ "feature/*", "feature/beta-a/my-branch", false },
		{ "feature/**", "feature/beta-a/my-branch", true },
		{ "feature/**", "feature/your-branch", true },
		{ "feature/**", "feature/mona/the/octocat", true },
		{ "feature/**", "features/x", false },
		{ "main", "main", true },
		{ "main", "main2", false },
		{ "main", "xmain", false },
		{ "releases/mona-the-octocat", "releases/mona-the-octocat", true },
		{ "*", "main", true },
		{ "*", "releases", true },
		{ "*", "releases/v1", false },
		{ "**", "all/the/branches", true },
		{ "**", "every/tag", true },
		{ "*feature", "mona-feature", true },
		{ "*feature", "feature", true },
		{ "*feature", "ver-10-feature", true },
		{ "*feature", "feature-x", false },
		{ "v2*", "v2", true },
		{ "v2*", "v2.0", true },
		{ "v2*", "v2.9", true },
		{ "v2*", "v3", false },
		{ "v[12].[0-9]+.[0-9]+", "v1.10.1", true },
		{ "v[12].[0-9]+.[0-9]+", "v2.0.0", true },
		{ "v[12].[0-9]+.[0-9]+", "v3.0.0", false },
		{ "v[12].[0-9]+.[0-9]+", "v1..1", false },
		{ "v[12].[0-9]+.[0-9]+", "v1.2.3-rc1", false },
		/* from the special characters list */
		{ "Octo*", "Octocat", true },
		{ "[CB]at", "Cat", true },
		{ "[CB]at", "Bat", true },
		{ "[CB]at", "Rat", false },
		{ "[1-2]00", "100", true },
		{ "[1-2]00", "200", true },
		{ "[1-2]00", "300", false },
		{ "[0-9a-z]", "q", true },
		{ "[0-9a-z]", "Q", false },
	};

	run_glob_cases(c, ARRAY_SIZE(c));
}

/* "Patterns to match file paths". */
static void test_filter_cheat_sheet_paths(void **state)
{
	static const struct glob_case c[] = {
		{ "*", "README.md", true },
		{ "*", "server.rb", true },
		{ "*", "docs/README.md", false },
		{ "*.jsx?", "page.js", true },
		{ "*.jsx?", "page.jsx", true },
		{ "*.jsx?", "page.jsxx", false },
		{ "*.jsx?", "page.j", false },
		{ "**", "all/the/files.md", true },
		{ "*.js", "app.js", true },
		{ "*.js", "index.js", true },
		{ "*.js", "js/index.js", false },
		{ "**.js", "index.js", true },
		{ "**.js", "js/index.js", true },
		{ "**.js", "src/js/app.js", true },
		{ "**.js", "src/js/app.jsx", false },
		{ "docs/*", "docs/README.md", true },
		{ "docs/*", "docs/file.txt", true },
		{ "docs/*", "docs/mona/octocat.txt", false },
		{ "docs/**", "docs/README.md", true },
		{ "docs/**", "docs/mona/octocat.txt", true },
		{ "docs/**", "src/docs/a.md", false },
		{ "docs/**/*.md", "docs/README.md", true },
		{ "docs/**/*.md", "docs/mona/hello-world.md", true },
		{ "docs/**/*.md", "docs/a/markdown/file.md", true },
		{ "docs/**/*.md", "docs/a/markdown/file.txt", false },
		{ "**/docs/**", "docs/hello.md", true },
		{ "**/docs/**", "dir/docs/my-file.txt", true },
		{ "**/docs/**", "space/docs/plan/space.doc", true },
		{ "**/docs/**", "mydocs/x.md", false },
		{ "**/README.md", "README.md", true },
		{ "**/README.md", "js/README.md", true },
		{ "**/README.md", "js/NOTREADME.md", false },
		{ "**/*src/**", "a/src/app.js", true },
		{ "**/*src/**", "my-src/code/js/app.js", true },
		{ "**/*src/**", "source/app.js", false },
		{ "**/*-post.md", "my-post.md", true },
		{ "**/*-post.md", "path/their-post.md", true },
		{ "**/migrate-*.sql", "migrate-10909.sql", true },
		{ "**/migrate-*.sql", "db/migrate-v1.0.sql", true },
		{ "**/migrate-*.sql", "db/sept/migrate-v1.sql", true },
		{ "**/migrate-*.sql", "db/sept/migrate/v1.sql", false },
		{ "sub-project/**", "sub-project/src/index.js", true },
	};

	run_glob_cases(c, ARRAY_SIZE(c));
}

/* '?' and '+' bind to the preceding character or class; '\' escapes. */
static void test_filter_glob_operators(void **state)
{
	static const struct glob_case c[] = {
		{ "colou?r", "color", true },
		{ "colou?r", "colour", true },
		{ "colou?r", "colouur", false },
		{ "a+b", "b", false },
		{ "a+b", "ab", true },
		{ "a+b", "aaab", true },
		{ "[ab]+c", "abbac", true },
		{ "[ab]?c", "c", true },
		{ "a\\*b", "a*b", true },
		{ "a\\*b", "axb", false },
		{ "v1\\.0", "v1.0", true },
		{ "\\[x\\]", "[x]", true },
		{ "[x", "[x", true },
		{ "?a", "?a", true },
		{ "?a", "a", false },
		{ "a*?", "abc", true },
		{ "!x", "!x", true },
		{ "", "", true },
		{ "", "a", false },
		{ "a", "", false },
		{ "release/v[0-9].[0-9]", "release/v1.2", true },
		{ "release/v[0-9].[0-9]", "release/v1x2", false },
	};

	run_glob_cases(c, ARRAY_SIZE(c));
}

/* Patterns that make a backtracking matcher take exponential time run
 * in linear passes here. */
static void test_filter_glob_no_blowup(void **state)
{
	char s[4097], p[256];
	size_t i;
	long long t0 = time_mono_ns();

	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = 0;
	/* '**a**a...**ab' */
	for (i = 0; i < 40; i++)
		memcpy(p + i * 3, "**a", 3);
	memcpy(p + i * 3, "b", 2);
	assert_false(filter_glob(p, s));
	/* '*a*a...*ab' */
	for (i = 0; i < 60; i++)
		memcpy(p + i * 2, "*a", 2);
	memcpy(p + i * 2, "b", 2);
	assert_false(filter_glob(p, s));
	assert_true(filter_glob("a+a+a+a+a+a+a+a+a+a+a+a+a+a+a+a+a+a+a+", s));
	assert_true(time_mono_ns() - t0 < 5LL * 1000 * 1000 * 1000);
}

/* Lists: the last matching pattern decides. */
static void test_filter_list_order(void **state)
{
	static const char *const md[] = { "*.md", "!README.md" };
	static const char *const md2[] = { "*.md", "!README.md", "README*" };
	static const char *const rel[] = { "releases/**", "!releases/**-alpha" };
	static const char *const only_neg[] = { "!main" };
	static const char *const sub[] = { "sub-project/**", "!sub-project/docs/**" };

	assert_true(filter_list(md, 2, "hello.md"));
	assert_false(filter_list(md, 2, "README.md"));
	assert_false(filter_list(md, 2, "docs/hello.md"));
	assert_true(filter_list(md2, 3, "hello.md"));
	assert_true(filter_list(md2, 3, "README.md"));
	assert_true(filter_list(md2, 3, "README.doc"));
	assert_true(filter_list(rel, 2, "releases/10"));
	assert_true(filter_list(rel, 2, "releases/beta/mona"));
	assert_false(filter_list(rel, 2, "releases/10-alpha"));
	assert_false(filter_list(rel, 2, "releases/beta/3-alpha"));
	assert_false(filter_list(only_neg, 1, "main"));
	assert_false(filter_list(only_neg, 1, "dev"));
	assert_false(filter_list(NULL, 0, "dev"));
	assert_true(filter_list(sub, 2, "sub-project/index.js"));
	assert_false(filter_list(sub, 2, "sub-project/docs/readme.md"));
}

/* A workflow built by hand from the on: mapping of a YAML document. */
struct wf_fixture {
	struct yml_doc *doc;
	struct workflow wf;
	struct wf_trigger trig[8];
};

static void load(struct wf_fixture *f, const char *yaml)
{
	struct err e = ERR_INIT;
	const struct yml_node *on;
	size_t i;

	memset(f, 0, sizeof(*f));
	if (yml_load_mem(&f->doc, "test.yml", yaml, strlen(yaml), NULL, &e) < 0)
		fail_msg("yml_load_mem: %s", e.msg);
	on = yml_get(f->doc->root, "on");
	assert_non_null(on);
	if (on->kind == YML_SCALAR) {
		f->trig[0].event = on->str;
		f->wf.n_triggers = 1;
	} else if (on->kind == YML_SEQ) {
		for (i = 0; i < on->n_items && i < ARRAY_SIZE(f->trig); i++)
			f->trig[i].event = on->items[i]->str;
		f->wf.n_triggers = i;
	} else {
		for (i = 0; i < on->n_pairs && i < ARRAY_SIZE(f->trig); i++) {
			f->trig[i].event = on->pairs[i].key->str;
			f->trig[i].config = on->pairs[i].val->kind == YML_MAP ?
				on->pairs[i].val : NULL;
		}
		f->wf.n_triggers = i;
	}
	f->wf.triggers = f->trig;
}

static void unload(struct wf_fixture *f)
{
	yml_doc_free(f->doc);
}

static bool push(const struct wf_fixture *f, const char *ref,
		 const char *const *paths, size_t n)
{
	struct filter_event ev = { "push", ref, NULL, paths, n, NULL };

	return filter_workflow(&f->wf, &ev);
}

static bool pr(const struct wf_fixture *f, const char *base, const char *action,
	       const char *const *paths, size_t n)
{
	struct filter_event ev = { "pull_request", "refs/pull/1/merge", base,
				   paths, n, action };

	return filter_workflow(&f->wf, &ev);
}

static void test_filter_event_listed(void **state)
{
	struct wf_fixture f;
	struct filter_event ev = { "workflow_dispatch", NULL, NULL, NULL, 0, NULL };

	load(&f, "on: push\n");
	assert_true(push(&f, "refs/heads/main", NULL, 0));
	assert_true(push(&f, "refs/tags/v1", NULL, 0));
	assert_false(pr(&f, "main", "opened", NULL, 0));
	unload(&f);

	load(&f, "on: [push, workflow_dispatch]\n");
	assert_true(filter_workflow(&f.wf, &ev));
	assert_true(pr(&f, "main", NULL, NULL, 0) == false);
	unload(&f);
}

/* The docs' "Including branches and tags" example. */
static void test_filter_push_branches_and_tags(void **state)
{
	struct wf_fixture f;

	load(&f, "on:\n  push:\n    branches:\n      - main\n"
		 "      - 'mona/octocat'\n      - 'releases/**'\n"
		 "    tags:\n      - v2\n      - v1.*\n");
	assert_true(push(&f, "refs/heads/main", NULL, 0));
	assert_true(push(&f, "refs/heads/mona/octocat", NULL, 0));
	assert_true(push(&f, "refs/heads/releases/10", NULL, 0));
	assert_false(push(&f, "refs/heads/dev", NULL, 0));
	assert_true(push(&f, "refs/tags/v2", NULL, 0));
	assert_true(push(&f, "refs/tags/v1.9.1", NULL, 0));
	assert_false(push(&f, "refs/tags/v3", NULL, 0));
	assert_false(push(&f, "refs/tags/main", NULL, 0));
	unload(&f);
}

/* The docs' "Excluding branches and tags" example. */
static void test_filter_push_ignore(void **state)
{
	struct wf_fixture f;

	load(&f, "on:\n  push:\n    branches-ignore:\n      - 'mona/octocat'\n"
		 "      - 'releases/**-alpha'\n"
		 "    tags-ignore:\n      - v2\n      - v1.*\n");
	assert_false(push(&f, "refs/heads/mona/octocat", NULL, 0));
	assert_false(push(&f, "refs/heads/releases/beta/3-alpha", NULL, 0));
	assert_true(push(&f, "refs/heads/releases/beta/3", NULL, 0));
	assert_true(push(&f, "refs/heads/main", NULL, 0));
	assert_false(push(&f, "refs/tags/v2", NULL, 0));
	assert_false(push(&f, "refs/tags/v1.9", NULL, 0));
	assert_true(push(&f, "refs/tags/v3.0", NULL, 0));
	unload(&f);
}

/* "If you define only tags/tags-ignore or only branches/branches-ignore,
 * the workflow won't run for events affecting the undefined Git ref." */
static void test_filter_push_undefined_ref_kind(void **state)
{
	struct wf_fixture f;

	load(&f, "on:\n  push:\n    branches: [main]\n");
	assert_true(push(&f, "refs/heads/main", NULL, 0));
	assert_false(push(&f, "refs/tags/v1", NULL, 0));
	unload(&f);

	load(&f, "on:\n  push:\n    tags-ignore: ['v0.*']\n");
	assert_true(push(&f, "refs/tags/v1", NULL, 0));
	assert_false(push(&f, "refs/tags/v0.1", NULL, 0));
	assert_false(push(&f, "refs/heads/main", NULL, 0));
	unload(&f);

	load(&f, "on:\n  push:\n    paths: ['src/**']\n");
	assert_true(push(&f, "refs/tags/v1", NULL, 0));	/* no path filter on tags */
	unload(&f);
}

static void test_filter_push_negation(void **state)
{
	struct wf_fixture f;

	load(&f, "on:\n  push:\n    branches:\n      - 'releases/**'\n"
		 "      - '!releases/**-alpha'\n");
	assert_true(push(&f, "refs/heads/releases/10", NULL, 0));
	assert_true(push(&f, "refs/heads/releases/beta/mona", NULL, 0));
	assert_false(push(&f, "refs/heads/releases/10-alpha", NULL, 0));
	assert_false(push(&f, "refs/heads/releases/beta/3-alpha", NULL, 0));
	unload(&f);
}

static void test_filter_push_paths(void **state)
{
	static const char *const js[] = { "README.md", "src/app.js" };
	static const char *const docs[] = { "docs/a.md", "docs/b/c.md" };
	static const char *const mixed[] = { "docs/a.md", "main.c" };
	static const char *const subdocs[] = { "sub-project/docs/readme.md" };
	static const char *const subsrc[] = { "sub-project/src/index.js" };
	struct wf_fixture f;

	load(&f, "on:\n  push:\n    paths:\n      - '**.js'\n");
	assert_true(push(&f, "refs/heads/main", js, 2));
	assert_false(push(&f, "refs/heads/main", docs, 2));
	assert_true(push(&f, "refs/heads/main", NULL, 0));	/* unknown */
	assert_false(push(&f, "refs/heads/main", js, 0));	/* nothing changed */
	unload(&f);

	load(&f, "on:\n  push:\n    paths-ignore:\n      - 'docs/**'\n");
	assert_false(push(&f, "refs/heads/main", docs, 2));
	assert_true(push(&f, "refs/heads/main", mixed, 2));
	assert_true(push(&f, "refs/heads/main", NULL, 0));
	unload(&f);

	load(&f, "on:\n  push:\n    paths:\n      - 'sub-project/**'\n"
		 "      - '!sub-project/docs/**'\n");
	assert_false(push(&f, "refs/heads/main", subdocs, 1));
	assert_true(push(&f, "refs/heads/main", subsrc, 1));
	unload(&f);

	/* branches and paths must both pass */
	load(&f, "on:\n  push:\n    branches: [main]\n    paths: ['**.js']\n");
	assert_true(push(&f, "refs/heads/main", js, 2));
	assert_false(push(&f, "refs/heads/dev", js, 2));
	assert_false(push(&f, "refs/heads/main", docs, 2));
	unload(&f);
}

/* pull_request: branches filter the target branch; default types. */
static void test_filter_pull_request(void **state)
{
	static const char *const js[] = { "src/app.js" };
	struct wf_fixture f;

	load(&f, "on:\n  pull_request:\n    branches:\n      - main\n"
		 "      - 'mona/octocat'\n      - 'releases/**'\n");
	assert_true(pr(&f, "main", "opened", NULL, 0));
	assert_true(pr(&f, "refs/heads/releases/10", "synchronize", NULL, 0));
	assert_false(pr(&f, "dev", "opened", NULL, 0));
	assert_false(pr(&f, "main", "closed", NULL, 0));
	assert_false(pr(&f, "main", "labeled", NULL, 0));
	assert_true(pr(&f, "main", "reopened", NULL, 0));
	assert_true(pr(&f, "main", NULL, NULL, 0));
	unload(&f);

	load(&f, "on:\n  pull_request:\n    types: [closed, labeled]\n"
		 "    branches-ignore: ['mona/octocat', 'releases/**-alpha']\n"
		 "    paths: ['src/**']\n");
	assert_true(pr(&f, "main", "closed", js, 1));
	assert_false(pr(&f, "main", "opened", js, 1));
	assert_false(pr(&f, "releases/beta/3-alpha", "labeled", js, 1));
	assert_false(pr(&f, "mona/octocat", "closed", js, 1));
	unload(&f);

	load(&f, "on:\n  pull_request:\n  push:\n    branches: [main]\n");
	assert_true(pr(&f, "anything", "opened", NULL, 0));
	assert_false(pr(&f, "anything", "edited", NULL, 0));
	assert_false(push(&f, "refs/heads/anything", NULL, 0));
	unload(&f);
}

/* A single string instead of a list, and other events' types. */
static void test_filter_scalar_and_types(void **state)
{
	struct wf_fixture f;
	struct filter_event label = { "label", NULL, NULL, NULL, 0, "created" };
	struct filter_event label_del = { "label", NULL, NULL, NULL, 0, "deleted" };

	load(&f, "on:\n  push:\n    branches: main\n  label:\n    types: [created, edited]\n");
	assert_true(push(&f, "refs/heads/main", NULL, 0));
	assert_false(push(&f, "refs/heads/dev", NULL, 0));
	assert_true(filter_workflow(&f.wf, &label));
	assert_false(filter_workflow(&f.wf, &label_del));
	unload(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter_cheat_sheet_refs),
		cmocka_unit_test(test_filter_cheat_sheet_paths),
		cmocka_unit_test(test_filter_glob_operators),
		cmocka_unit_test(test_filter_glob_no_blowup),
		cmocka_unit_test(test_filter_list_order),
		cmocka_unit_test(test_filter_event_listed),
		cmocka_unit_test(test_filter_push_branches_and_tags),
		cmocka_unit_test(test_filter_push_ignore),
		cmocka_unit_test(test_filter_push_undefined_ref_kind),
		cmocka_unit_test(test_filter_push_negation),
		cmocka_unit_test(test_filter_push_paths),
		cmocka_unit_test(test_filter_pull_request),
		cmocka_unit_test(test_filter_scalar_and_types),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
