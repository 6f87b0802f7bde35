#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "agent/filecmd.h"
#include "lib/jsonx.h"
#include "steps/step.h"

static void test_filecmd_kv_simple(void **state)
{
	json_t *o = json_object();
	struct err e = ERR_INIT;
	const char *t = "A=1\nB=x=y\r\n\nC=\n";

	(void)state;
	assert_int_equal(filecmd_parse_kv(o, t, strlen(t), "GITHUB_ENV", &e), 0);
	assert_string_equal(jsonx_str(o, "A"), "1");
	assert_string_equal(jsonx_str(o, "B"), "x=y");
	assert_string_equal(jsonx_str(o, "C"), "");
	json_decref(o);
}

static void test_filecmd_kv_heredoc(void **state)
{
	json_t *o = json_object();
	struct err e = ERR_INIT;
	const char *t = "M<<EOF\nline 1\n\nline 3\nEOF\nN=after\nM2<<X\nX\n";

	(void)state;
	assert_int_equal(filecmd_parse_kv(o, t, strlen(t), "GITHUB_OUTPUT", &e), 0);
	assert_string_equal(jsonx_str(o, "M"), "line 1\n\nline 3");
	assert_string_equal(jsonx_str(o, "N"), "after");
	assert_string_equal(jsonx_str(o, "M2"), "");
	json_decref(o);
}

static void test_filecmd_kv_later_wins(void **state)
{
	json_t *o = json_object();
	struct err e = ERR_INIT;
	const char *t = "A=1\nA=2\n";

	(void)state;
	assert_int_equal(filecmd_parse_kv(o, t, strlen(t), "f", &e), 0);
	assert_string_equal(jsonx_str(o, "A"), "2");
	json_decref(o);
}

static void test_filecmd_kv_errors_name_line(void **state)
{
	json_t *o = json_object();
	struct err e = ERR_INIT;
	const char *t1 = "A=1\nnot a command\n";
	const char *t2 = "A=1\nSECRET<<END\nsupersecretvalue\n";

	(void)state;
	assert_int_equal(filecmd_parse_kv(o, t1, strlen(t1), "GITHUB_ENV", &e), -1);
	assert_string_equal(e.msg, "GITHUB_ENV:2: expected NAME=value or NAME<<DELIMITER");
	assert_int_equal(filecmd_parse_kv(o, t2, strlen(t2), "GITHUB_OUTPUT", &e), -1);
	assert_non_null(strstr(e.msg, "GITHUB_OUTPUT:2: delimiter 'END'"));
	assert_null(strstr(e.msg, "supersecretvalue"));
	json_decref(o);
}

static void test_filecmd_path_lines(void **state)
{
	struct strv sv = STRV_INIT;
	const char *t = "/a/bin\n\n/b/bin\r\n/c";

	(void)state;
	filecmd_parse_path(&sv, t, strlen(t));
	assert_int_equal(sv.n, 3);
	assert_string_equal(sv.v[1], "/b/bin");
	assert_string_equal(sv.v[2], "/c");
	strv_release(&sv);
}

static void test_filecmd_wfcmd_parse(void **state)
{
	struct wfcmd c;
	const char *l = "::error file=a%2Cb.c,line=3,title=T%3A1::msg%0Anext 100%25";

	(void)state;
	assert_int_equal(wfcmd_parse(&c, l, strlen(l)), 1);
	assert_string_equal(c.name, "error");
	assert_string_equal(jsonx_str(c.props, "file"), "a,b.c");
	assert_string_equal(jsonx_str(c.props, "line"), "3");
	assert_string_equal(jsonx_str(c.props, "title"), "T:1");
	assert_string_equal(c.value, "msg\nnext 100%");
	wfcmd_release(&c);
}

static void test_filecmd_wfcmd_not_commands(void **state)
{
	struct wfcmd c;
	static const char *const lines[] = {
		"plain text", ":: no name", "::", "::group", "x::group::y", "",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		assert_int_equal(wfcmd_parse(&c, lines[i], strlen(lines[i])), 0);
}

static void test_filecmd_wfcmd_simple(void **state)
{
	struct wfcmd c;
	const char *l = "::add-mask::s3cret";
	const char *g = "::endgroup::";

	(void)state;
	assert_int_equal(wfcmd_parse(&c, l, strlen(l)), 1);
	assert_string_equal(c.name, "add-mask");
	assert_string_equal(c.value, "s3cret");
	wfcmd_release(&c);
	assert_int_equal(wfcmd_parse(&c, g, strlen(g)), 1);
	assert_string_equal(c.name, "endgroup");
	assert_string_equal(c.value, "");
	wfcmd_release(&c);
}

static void test_filecmd_shell_templates(void **state)
{
	struct strv a = STRV_INIT;
	struct err e = ERR_INIT;
	const char *ext;

	(void)state;
	assert_int_equal(steps_shell_argv(&a, "bash", "/t/s.sh", "/bin:/usr/bin", &ext, &e), 0);
	assert_int_equal(a.n, 6);
	assert_string_equal(a.v[0], "bash");
	assert_string_equal(a.v[3], "-eo");
	assert_string_equal(a.v[4], "pipefail");
	strv_release(&a);
	assert_int_equal(steps_shell_argv(&a, "sh", "/t/s.sh", "/bin", &ext, &e), 0);
	assert_string_equal(a.v[2], "/t/s.sh");
	assert_string_equal(ext, ".sh");
	strv_release(&a);
	assert_int_equal(steps_shell_argv(&a, "python", "/t/s.py", "/bin", &ext, &e), 0);
	assert_string_equal(ext, ".py");
	strv_release(&a);
	assert_int_equal(steps_shell_argv(&a, "perl -w '{0}' x", "/t/s", "/bin", &ext, &e), 0);
	assert_int_equal(a.n, 4);
	assert_string_equal(a.v[2], "/t/s");
	strv_release(&a);
	assert_int_equal(steps_shell_argv(&a, NULL, "/t/s", "/bin:/usr/bin", &ext, &e), 0);
	assert_string_equal(a.v[1], "-e");
	strv_release(&a);
	assert_int_equal(steps_shell_argv(&a, "fish", "/t/s", "/bin", &ext, &e), -1);
	assert_non_null(strstr(e.msg, "unknown shell 'fish'"));
	assert_int_equal(steps_shell_argv(&a, "cmd", "/t/s", "/bin", &ext, &e), -1);
	strv_release(&a);
}

static void test_filecmd_step_table(void **state)
{
	struct err e = ERR_INIT;

	(void)state;
	assert_ptr_equal(steps_find(NULL), &step_type_run);
	assert_ptr_equal(steps_find("./my/action"), &step_type_composite);
	assert_null(steps_find("./.github/workflows/x.yml"));
	assert_null(steps_find("someone/unknown-action@v1"));
	assert_int_equal(steps_check_uses("someone/unknown-action@v1", ".", (void *)".", &e), -1);
	assert_non_null(strstr(e.msg, "someone/unknown-action@v1"));
	assert_int_equal(steps_check_uses("docker://alpine", ".", (void *)".", &e), -1);
	assert_int_equal(steps_check_uses("org/repo/.github/workflows/x.yml@v1", ".",
					  (void *)".", &e), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filecmd_kv_simple),
		cmocka_unit_test(test_filecmd_kv_heredoc),
		cmocka_unit_test(test_filecmd_kv_later_wins),
		cmocka_unit_test(test_filecmd_kv_errors_name_line),
		cmocka_unit_test(test_filecmd_path_lines),
		cmocka_unit_test(test_filecmd_wfcmd_parse),
		cmocka_unit_test(test_filecmd_wfcmd_not_commands),
		cmocka_unit_test(test_filecmd_wfcmd_simple),
		cmocka_unit_test(test_filecmd_shell_templates),
		cmocka_unit_test(test_filecmd_step_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
