#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fs.h"
#include "lib/strv.h"
#include "lib/util.h"

static void test_strv_push_null_terminated(void **state)
{
	struct strv sv = STRV_INIT;

	(void)state;
	strv_push(&sv, "a");
	strv_pushf(&sv, "%s-%d", "b", 2);
	strv_push_owned(&sv, xstrdup("c"));
	assert_int_equal(sv.n, 3);
	assert_string_equal(sv.v[1], "b-2");
	assert_null(sv.v[3]);
	strv_release(&sv);
	assert_null(sv.v);
}

static void test_strv_setenv_replaces(void **state)
{
	struct strv sv = STRV_INIT;

	(void)state;
	strv_setenv(&sv, "A", "1");
	strv_setenv(&sv, "AB", "2");
	strv_setenv(&sv, "A", "3");
	assert_int_equal(sv.n, 2);
	assert_string_equal(strv_getenv(&sv, "A"), "3");
	assert_string_equal(strv_getenv(&sv, "AB"), "2");
	assert_null(strv_getenv(&sv, "ABC"));
	strv_release(&sv);
}

/* strv_sort sorts from the index given on and leaves the rest as it is;
 * fs_rel_inside keeps a relative path below its folder. */
static void test_strv_sort_and_rel_inside(void **state)
{
	struct strv sv = STRV_INIT;

	(void)state;
	strv_push(&sv, "z");
	strv_push(&sv, "c");
	strv_push(&sv, "a");
	strv_push(&sv, "b");
	strv_sort(&sv, 1);
	assert_string_equal(sv.v[0], "z");
	assert_string_equal(sv.v[1], "a");
	assert_string_equal(sv.v[3], "c");
	assert_null(sv.v[4]);
	strv_sort(&sv, 0);
	assert_string_equal(sv.v[0], "a");
	assert_string_equal(sv.v[3], "z");
	strv_release(&sv);
	assert_true(fs_rel_inside("a/b"));
	assert_true(fs_rel_inside("a/..b"));
	assert_false(fs_rel_inside(""));
	assert_false(fs_rel_inside("/etc"));
	assert_false(fs_rel_inside(".."));
	assert_false(fs_rel_inside("../x"));
	assert_false(fs_rel_inside("a/../../x"));
	assert_false(fs_rel_inside("a/.."));
}

static void test_strv_fs_join_dirname(void **state)
{
	char *p;

	(void)state;
	p = fs_join("/a/b", "c");
	assert_string_equal(p, "/a/b/c");
	free(p);
	p = fs_join("/a/b/", "c");
	assert_string_equal(p, "/a/b/c");
	free(p);
	p = fs_join("/a", "/abs");
	assert_string_equal(p, "/abs");
	free(p);
	p = fs_dirname("/x/y/z.yml");
	assert_string_equal(p, "/x/y");
	free(p);
	p = fs_dirname("z.yml");
	assert_string_equal(p, ".");
	free(p);
}

static void test_strv_fs_write_read_remove(void **state)
{
	struct err e = ERR_INIT;
	struct buf b = BUF_INIT;
	char *dir = NULL, *sub, *file;

	(void)state;
	assert_int_equal(fs_mkdtemp(&dir, "gantry-test", &e), 0);
	sub = fs_join(dir, "a/b/c");
	assert_int_equal(fs_mkdirs(sub, 0700, &e), 0);
	file = fs_join(sub, "f.txt");
	assert_int_equal(fs_write_file(file, "hello", 5, 0600, &e), 0);
	assert_int_equal(fs_append_file(file, " world", 6, &e), 0);
	assert_int_equal(fs_read_file(&b, file, &e), 0);
	assert_string_equal(b.ptr, "hello world");
	buf_release(&b);
	buf_init(&b, 4);
	assert_int_equal(fs_read_file(&b, file, &e), -1);
	assert_int_equal(e.code, ERR_LIMIT);
	buf_release(&b);
	assert_int_equal(fs_remove_tree(dir, &e), 0);
	assert_false(fs_exists(dir));
	assert_int_equal(fs_read_file(&b, file, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_non_null(strstr(e.msg, file));
	free(file);
	free(sub);
	free(dir);
}

static void test_strv_fs_which(void **state)
{
	char *p;

	(void)state;
	p = fs_which("sh", "/nonexistent:/bin:/usr/bin");
	assert_non_null(p);
	assert_int_equal(access(p, X_OK), 0);
	free(p);
	assert_null(fs_which("no-such-program-gantry", "/bin:/usr/bin"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strv_push_null_terminated),
		cmocka_unit_test(test_strv_setenv_replaces),
		cmocka_unit_test(test_strv_sort_and_rel_inside),
		cmocka_unit_test(test_strv_fs_join_dirname),
		cmocka_unit_test(test_strv_fs_write_read_remove),
		cmocka_unit_test(test_strv_fs_which),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
