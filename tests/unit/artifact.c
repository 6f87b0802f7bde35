/* Unit tests for steps/artifact.c: @actions/glob's matching (minimatch
 * with dot: true), artifact names and paths as @actions/artifact checks
 * them, zip entry names, the least common ancestor, folders opened
 * without following links, and a folder store's commit rules. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/util.h"
#include "steps/artifact.h"
#include "steps/artifact_glob.h"
#include "steps/artifact_store.h"

struct glob_case {
	const char *pattern;
	const char *s;
	bool want;
};

static void test_artifact_glob_seg(void **state)
{
	static const struct glob_case c[] = {
		{ "*", "abc", true }, { "*", "", true }, { "*", ".hidden", true },
		{ "a*c", "abbbc", true }, { "a*c", "abcd", false },
		{ "*.txt", "notes.txt", true }, { "*.txt", "notes.txt.bak", false },
		{ "ap?", "app", true }, { "ap?", "ap", false }, { "ap?", "appl", false },
		{ "[abc]rtifact", "artifact", true }, { "[abc]rtifact", "drtifact", false },
		{ "[!abc]x", "dx", true }, { "[!abc]x", "ax", false },
		{ "[^a]x", "ax", false }, { "[a-c]", "b", true }, { "[a-c]", "d", false },
		{ "[]]", "]", true }, { "[", "[", true }, { "a[", "a[", true },
		{ "\\*", "*", true }, { "\\*", "a", false },
		{ "*a*b*", "xxaxxbxx", true }, { "*a*b*", "xxbxxaxx", false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(c); i++)
		if (art_glob_seg(c[i].pattern, c[i].s) != c[i].want)
			fail_msg("'%s' on '%s': want %d", c[i].pattern, c[i].s, c[i].want);
}

static void test_artifact_glob_paths(void **state)
{
	static const struct glob_case c[] = {
		{ "logs-*", "logs-a", true }, { "logs-*", "other", false },
		{ "*", "a/b", false }, { "a/*", "a/b", true }, { "a/*", "a/b/c", false },
		{ "a/**", "a/b/c", true }, { "a/**", "a", true },
		{ "**/*.tmp", "x.tmp", true }, { "**/*.tmp", "a/b/x.tmp", true },
		{ "**/*.tmp", "a/b/x.txt", false },
		{ "a/**/b", "a/b", true }, { "a/**/b", "a/x/y/b", true },
		{ "a/**/b", "a/x/y/c", false }, { "**", "", true },
		{ "/ws/build/**/*", "/ws/build/bin/app", true },
		{ "/ws/.x/*", "/ws/.x/y", true },
	};

	for (size_t i = 0; i < ARRAY_SIZE(c); i++)
		if (art_glob(c[i].pattern, c[i].s) != c[i].want)
			fail_msg("'%s' on '%s': want %d", c[i].pattern, c[i].s, c[i].want);
}

static void test_artifact_glob_partial(void **state)
{
	char *p[] = { "ws", "a", "*", "b", "*.txt" };
	char *s1[] = { "ws", "a" }, *s2[] = { "ws", "a", "x", "b" };
	char *s3[] = { "ws", "c" };

	assert_true(art_glob_segs(p, 5, s1, 2, true));
	assert_true(art_glob_segs(p, 5, s2, 4, true));
	assert_false(art_glob_segs(p, 5, s2, 4, false));
	assert_false(art_glob_segs(p, 5, s3, 2, true));
}

static void test_artifact_lca(void **state)
{
	char *a[] = { "/ws/build", "/ws/logs" };
	char *b[] = { "/ws/out/bin", "/ws/out/lib", "/ws/out/lib/x" };
	char *c[] = { "/ws/a" };
	char *d[] = { "/ws", "/tmp/t" };
	char *r;

	r = art_lca(a, 2);
	assert_string_equal(r, "/ws");
	free(r);
	r = art_lca(b, 3);
	assert_string_equal(r, "/ws/out");
	free(r);
	r = art_lca(c, 1);
	assert_string_equal(r, "/ws/a");
	free(r);
	r = art_lca(d, 2);
	assert_string_equal(r, "/");
	free(r);
}

static void test_artifact_names(void **state)
{
	static const char *const good[] = { "artifact", "logs-a", ".coverage",
					    "my artifact (1)", "a.zip" };
	static const char *const bad[] = { "", ".", "..", "a/b", "a\\b", "a:b",
					   "a*", "a?", "a\"b", "a<b", "a>b", "a|b",
					   "a\nb", "a\rb", "a\tb" };
	struct err e = ERR_INIT;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		if (art_name_check(good[i], "name", &e) < 0)
			fail_msg("'%s' refused: %s", good[i], e.msg);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err_clear(&e);
		if (art_name_check(bad[i], "name", &e) == 0)
			fail_msg("'%s' taken", bad[i]);
		assert_non_null(strstr(e.msg, "name:"));
	}
	{
		char longname[ART_NAME_MAX + 2];

		memset(longname, 'a', sizeof(longname) - 1);
		longname[ART_NAME_MAX] = '\0';
		assert_int_equal(art_name_check(longname, "name", &e), 0);
		longname[ART_NAME_MAX] = 'a';
		longname[ART_NAME_MAX + 1] = '\0';
		assert_int_equal(art_name_check(longname, "name", &e), -1);
	}
	assert_int_equal(art_path_check("dir/sub/file.txt", &e), 0);
	assert_int_equal(art_path_check("dir\\file", &e), 0);
	assert_int_equal(art_path_check("dir/a:b", &e), -1);
	assert_non_null(strstr(e.msg, "dir/a:b"));
}

static void test_artifact_entry_names(void **state)
{
	static const char *const ok[] = { "a.txt", "dir/", "dir/sub/x", "./a",
					  "a/./b", "..a", "a..", "a/..b/c" };
	static const char *const refused[] = { "", "/etc/passwd", "../evil",
					       "a/../../b", "a/..", "..", ".", "./",
					       "\\evil", "a\\..\\b", "//x" };

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		if (!art_entry_ok(ok[i]))
			fail_msg("'%s' refused", ok[i]);
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++)
		if (art_entry_ok(refused[i]))
			fail_msg("'%s' taken", refused[i]);
}

static void test_artifact_id_stable(void **state)
{
	long long a = art_id(42, "x"), b = art_id(42, "x"), c = art_id(43, "x");

	assert_true(a == b);
	assert_true(a != c);
	assert_true(a > 0 && a < (1LL << 52));
}

static char *scratch(void)
{
	char *d = NULL;
	struct err e = ERR_INIT;

	assert_int_equal(fs_mkdtemp(&d, "gantry-art-test", &e), 0);
	return d;
}

static void test_artifact_open_below(void **state)
{
	char *d = scratch(), *p;
	struct err e = ERR_INIT;
	int fd = -1;

	assert_int_equal(art_open_below(&fd, d, "a/b/c", true, 0700, &e), 0);
	close(fd);
	p = xasprintf("%s/a/link", d);
	assert_int_equal(symlink("/tmp", p), 0);
	free(p);
	assert_int_equal(art_open_below(&fd, d, "a/link/x", true, 0700, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_non_null(strstr(e.msg, "symbolic link"));
	err_clear(&e);
	assert_int_equal(art_open_below(&fd, d, "a/missing", false, 0700, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	err_clear(&e);
	assert_int_equal(art_open_below(&fd, d, "a/../a", false, 0700, &e), -1);
	fs_remove_tree(d, NULL);
	free(d);
}

static void test_artifact_roots(void **state)
{
	struct step_ctx c = { .workspace = "/w/ws", .runner_temp = "/w/ws/_temp" };
	struct art_roots r;
	const char *rel = NULL;

	art_roots_init(&r, &c);
	assert_int_equal(art_roots_find(&r, "/w/ws/x/y", &rel), 0);
	assert_string_equal(rel, "x/y");
	assert_int_equal(art_roots_find(&r, "/w/ws/_temp/t", &rel), 1);
	assert_string_equal(rel, "t");
	assert_int_equal(art_roots_find(&r, "/w/ws", &rel), 0);
	assert_string_equal(rel, "");
	assert_int_equal(art_roots_find(&r, "/w/wsx", &rel), -1);
	assert_int_equal(art_roots_find(&r, "/etc", &rel), -1);
	art_roots_release(&r);
}

/* A zip-shaped file through begin/commit, as upload-artifact does. */
static int put(struct art_store *s, const char *name, const char *data,
	       bool overwrite, struct err *e)
{
	struct art_tmp t;

	if (art_store_begin(s, name, &t, e) < 0)
		return -1;
	assert_int_equal(fs_write_all(t.fd, data, strlen(data)), 0);
	return art_store_commit(s, name, &t, (long long)strlen(data), overwrite,
				"{\"digest\": \"x\"}", e);
}

static void test_artifact_store_folder(void **state)
{
	char *d = scratch(), *store = xasprintf("%s/.gantry/artifacts", d);
	struct step_ctx c = { .workspace = d, .runner_temp = d,
			      .artifact_store = store, .run_id = 7 };
	struct art_store s;
	struct strv names = STRV_INIT;
	struct err e = ERR_INIT;
	char buf[16] = "";
	long long size = 0;
	int fd = -1;
	json_t *meta;

	assert_int_equal(art_store_open(&s, &c, 7, false, &e), 0);
	assert_int_equal(s.dirfd, -1);	/* nothing uploaded yet */
	assert_int_equal(art_store_list(&s, &names, &e), 0);
	assert_int_equal(names.n, 0);
	art_store_release(&s);

	assert_int_equal(art_store_open(&s, &c, 7, true, &e), 0);
	assert_int_equal(put(&s, "b", "one", false, &e), 0);
	assert_int_equal(put(&s, "a", "two", false, &e), 0);
	assert_int_equal(put(&s, "b", "three", false, &e), -1);
	assert_non_null(strstr(e.msg, "already exists"));
	err_clear(&e);
	assert_int_equal(put(&s, "b", "four", true, &e), 0);
	assert_int_equal(art_store_exists(&s, "b", &e), 1);
	assert_int_equal(art_store_exists(&s, "c", &e), 0);
	assert_int_equal(art_store_list(&s, &names, &e), 0);
	assert_int_equal(names.n, 2);
	assert_string_equal(names.v[0], "a");
	assert_string_equal(names.v[1], "b");
	assert_int_equal(art_store_fetch(&s, "b", &fd, &size, &e), 0);
	assert_int_equal(size, 4);
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), 4);
	assert_string_equal(buf, "four");
	close(fd);
	meta = art_store_meta(&s, "b");
	assert_non_null(meta);
	assert_string_equal(json_string_value(json_object_get(meta, "digest")), "x");
	json_decref(meta);
	assert_int_equal(art_store_fetch(&s, "c", &fd, &size, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	{
		char *url = art_store_url(&s, "my art");

		assert_non_null(strstr(url, "file://"));
		assert_non_null(strstr(url, "/7/my%20art.zip"));
		free(url);
	}
	art_store_release(&s);
	strv_release(&names);
	fs_remove_tree(d, NULL);
	free(store);
	free(d);
}

/* A step that swapped the run's folder for a link is refused. */
static void test_artifact_store_link_refused(void **state)
{
	char *d = scratch(), *store = xasprintf("%s/store", d), *p;
	struct step_ctx c = { .workspace = d, .runner_temp = d,
			      .artifact_store = store, .run_id = 9 };
	struct art_store s;
	struct err e = ERR_INIT;

	assert_int_equal(mkdir(store, 0700), 0);
	p = xasprintf("%s/9", store);
	assert_int_equal(symlink("/etc", p), 0);
	free(p);
	assert_int_equal(art_store_open(&s, &c, 9, true, &e), -1);
	assert_non_null(strstr(e.msg, "symbolic link"));
	art_store_release(&s);
	fs_remove_tree(d, NULL);
	free(store);
	free(d);
}

static void touch(const char *dir, const char *rel)
{
	char *p = xasprintf("%s/%s", dir, rel), *d = fs_dirname(p);
	struct err e = ERR_INIT;

	assert_int_equal(fs_mkdirs(d, 0755, &e), 0);
	assert_int_equal(fs_write_file(p, "x", 1, 0644, &e), 0);
	free(d);
	free(p);
}

static void count_warning(void *arg, const char *line)
{
	(*(int *)arg)++;
	assert_non_null(strstr(line, "warning: skipping"));
}

/* The files a search takes, relative to its root, ' '-joined. Owned. */
static char *search(const char *ws, const char *patterns, bool hidden,
		    int *warnings, char **root)
{
	struct step_ctx c = { .workspace = ws, .runner_temp = ws };
	struct art_roots r;
	struct art_glob_opts o = { .cwd = ws, .hidden = hidden,
				   .warn = count_warning, .arg = warnings };
	struct art_search s;
	struct err e = ERR_INIT;
	struct buf b = BUF_INIT;

	art_roots_init(&r, &c);
	o.roots = &r;
	if (art_search_run(&s, patterns, &o, &e) < 0) {
		art_roots_release(&r);
		buf_printf(&b, "error: %s", e.msg);
		return buf_detach(&b, NULL);
	}
	for (size_t i = 0; i < s.n; i++)
		buf_printf(&b, "%s%s", i ? " " : "", art_search_rel(&s, s.files[i].abs));
	if (root)
		*root = xstrdup(s.root + strlen(ws));
	art_search_release(&s);
	art_roots_release(&r);
	return buf_detach(&b, NULL);
}

static void test_artifact_search(void **state)
{
	char *d = scratch(), *got, *root = NULL, *p;
	int warnings = 0;

	touch(d, "build/bin/app");
	touch(d, "build/lib/x/lib.so");
	touch(d, "build/lib/x/junk.tmp");
	touch(d, "logs/run.log");
	touch(d, "logs/.hidden/h.log");
	touch(d, "logs/.dot.log");
	touch(d, "notes.txt");

	got = search(d, "build/**/*\nlogs/*.log\n!**/*.tmp", false, &warnings, &root);
	assert_string_equal(got, "build/bin/app build/lib/x/lib.so logs/run.log");
	assert_string_equal(root, "");
	free(got);
	free(root);
	got = search(d, "build/\n!build/**/*.tmp\nbuild/lib/x/junk.tmp", false,
		     &warnings, &root);
	assert_string_equal(got, "bin/app lib/x/junk.tmp lib/x/lib.so");
	assert_string_equal(root, "/build");
	free(got);
	free(root);
	got = search(d, "notes.txt", false, &warnings, &root);
	assert_string_equal(got, "notes.txt");
	assert_string_equal(root, "");	/* a single file: its own folder */
	free(got);
	free(root);
	got = search(d, "logs", false, &warnings, NULL);
	assert_string_equal(got, "run.log");
	free(got);
	got = search(d, "logs/**/*.log", true, &warnings, NULL);
	assert_string_equal(got, ".dot.log .hidden/h.log run.log");
	free(got);
	got = search(d, "# only a comment\n\n  nothing/*  \n", false, &warnings, NULL);
	assert_string_equal(got, "");
	free(got);
	got = search(d, "build/../notes.txt", false, &warnings, NULL);
	assert_non_null(strstr(got, "'.' and '..' is not allowed"));
	free(got);
	got = search(d, "/etc/hostname", false, &warnings, NULL);
	assert_non_null(strstr(got, "outside the workspace"));
	free(got);
	p = xasprintf("%s/logs/host", d);
	assert_int_equal(symlink("/etc/hostname", p), 0);
	free(p);
	got = search(d, "logs/*", false, &warnings, NULL);
	assert_string_equal(got, "run.log");
	assert_int_equal(warnings, 1);
	free(got);
	fs_remove_tree(d, NULL);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_artifact_glob_seg),
		cmocka_unit_test(test_artifact_glob_paths),
		cmocka_unit_test(test_artifact_glob_partial),
		cmocka_unit_test(test_artifact_lca),
		cmocka_unit_test(test_artifact_names),
		cmocka_unit_test(test_artifact_entry_names),
		cmocka_unit_test(test_artifact_id_stable),
		cmocka_unit_test(test_artifact_open_below),
		cmocka_unit_test(test_artifact_roots),
		cmocka_unit_test(test_artifact_store_folder),
		cmocka_unit_test(test_artifact_store_link_refused),
		cmocka_unit_test(test_artifact_search),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
