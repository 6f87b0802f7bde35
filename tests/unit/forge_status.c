/* Unit tests for agent/forge_status.c and forge_status_send.c: commit
 * statuses posted to a small HTTP server on loopback that records what it
 * is sent and answers with a scripted status (forge_status_srv.h):
 * GitHub's and Gitea's URLs and headers, the configured API URL, the
 * cases that send nothing, a foreign host refused, a retry after 500, an
 * HTTP 401, and a token that never shows in errors or logs (GitLab's:
 * forge_status_gitlab.c). They go the agent's way, through the
 * sanitizer build's `gantry __forge-status` beside this test's folder
 * (build/asan/gantry; GANTRY_EXE overrides it). Then, with a stand-in for
 * gantry, what the child is given (argv, environment, descriptors, the
 * request on stdin), and an executable that is missing or cannot run.
 * The child's protocol itself: forge_status_child.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "forge_status_srv.h"

/* ---- tests ---- */

static void test_forge_status_github(void **state)
{
	struct srv s;
	struct fixture f;
	struct err e = ERR_INIT;
	char *su, *cu, *log;
	json_t *body;

	srv_start(&s, 201, 0);
	su = url_on(&s, "127.0.0.1", "/repos/o/r/statuses/{sha}");
	cu = url_on(&s, "127.0.0.1", "/o/r.git");
	fx_init(&f, "github");
	fx_urls(&f, "statuses_url", su, cu);
	assert_int_equal(fx_post(&f, "success", "2 jobs passed", &e), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.method, "POST");
	assert_string_equal(s.path, "/repos/o/r/statuses/" SHA);
	assert_string_equal(s.auth, "Bearer " TOKEN);
	assert_string_equal(s.accept, "application/vnd.github+json");
	body = json_loads(s.body.ptr, 0, NULL);
	assert_non_null(body);
	assert_string_equal(jsonx_str(body, "state"), "success");
	assert_string_equal(jsonx_str(body, "target_url"),
			    "http://gantry.example/runs/42");
	assert_string_equal(jsonx_str(body, "description"), "2 jobs passed");
	assert_string_equal(jsonx_str(body, "context"), "ci/gantry");
	json_decref(body);
	log = fx_log(&f);
	assert_non_null(strstr(log, "commit status: success posted to 127.0.0.1\n"));
	free(log);
	fx_release(&f);
	srv_stop(&s);
	free(su);
	free(cu);
}

static void test_forge_status_gitea(void **state)
{
	struct srv s;
	struct fixture f;
	struct err e = ERR_INIT;
	char *hu, *cu;

	srv_start(&s, 201, 0);
	hu = url_on(&s, "127.0.0.1", "/o/r?x=1#y");
	cu = url_on(&s, "127.0.0.1", "/o/r.git");
	fx_init(&f, "gitea");
	fx_urls(&f, "html_url", hu, cu);
	assert_int_equal(fx_post(&f, "pending", "running", &e), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.method, "POST");
	assert_string_equal(s.path, "/api/v1/repos/o/r/statuses/" SHA);
	assert_string_equal(s.auth, "token " TOKEN);
	assert_non_null(strstr(s.body.ptr, "\"state\":\"pending\""));
	fx_release(&f);
	srv_stop(&s);
	free(hu);
	free(cu);
}

static void test_forge_status_api_url(void **state)
{
	struct srv s;
	struct fixture f;
	struct err e = ERR_INIT;
	char *api;

	srv_start(&s, 201, 0);
	api = url_on(&s, "127.0.0.1", "/api/v3/");
	fx_init(&f, "github");
	/* the payload's URL is ignored; the clone's host does not matter */
	fx_urls(&f, "statuses_url", "https://evil.example/{sha}",
		"https://github.com/o/r.git");
	f.ag.cfg.status_api_url = api;
	assert_int_equal(fx_post(&f, "failure", NULL, &e), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.path, "/api/v3/repos/o/r/statuses/" SHA);
	assert_string_equal(s.auth, "Bearer " TOKEN);
	assert_null(strstr(s.body.ptr, "description"));
	fx_release(&f);

	/* Gitea with the override: the same path under the base */
	fx_init(&f, "gitea");
	fx_urls(&f, "html_url", "https://gitea.example/o/r",
		"https://gitea.example/o/r.git");
	f.ag.cfg.status_api_url = api;
	assert_int_equal(fx_post(&f, "success", "ok", &e), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.auth, "token " TOKEN);
	fx_release(&f);
	srv_stop(&s);
	free(api);
}

static void test_forge_status_nothing_sent(void **state)
{
	struct srv s;
	struct fixture f;
	struct err e = ERR_INIT;
	char *su, *cu, *log;

	srv_start(&s, 201, 0);
	su = url_on(&s, "127.0.0.1", "/repos/o/r/statuses/{sha}");
	cu = url_on(&s, "127.0.0.1", "/o/r.git");
	fx_init(&f, "github");
	fx_urls(&f, "statuses_url", su, cu);
	f.ag.cfg.git_token = NULL;
	assert_int_equal(fx_post(&f, "success", "x", &e), 0);
	f.ag.cfg.git_token = TOKEN;
	f.ag.cfg.status = false;
	assert_int_equal(fx_post(&f, "success", "x", &e), 0);
	f.ag.cfg.status = true;
	f.r.sha = NULL;
	assert_int_equal(fx_post(&f, "success", "x", &e), 0);
	f.r.sha = SHA;
	f.r.forge = "manual";
	assert_int_equal(fx_post(&f, "success", "x", &e), 0);
	log = fx_log(&f);
	assert_string_equal(log, "");
	free(log);
	assert_int_equal(s.n, 0);
	assert_int_equal(e.code, ERR_NONE);
	fx_release(&f);
	srv_stop(&s);
	free(su);
	free(cu);
}

static void test_forge_status_foreign_host(void **state)
{
	struct srv s;
	struct fixture f;
	struct err e = ERR_INIT;
	char *su, *cu, *log;

	srv_start(&s, 201, 0);
	su = url_on(&s, "localhost", "/repos/o/r/statuses/{sha}");
	cu = url_on(&s, "127.0.0.1", "/o/r.git");
	fx_init(&f, "github");
	fx_urls(&f, "statuses_url", su, cu);
	assert_int_equal(fx_post(&f, "success", "x", &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_non_null(strstr(e.msg, "localhost is not the repository's host"));
	assert_null(strstr(e.msg, TOKEN));
	assert_int_equal(s.n, 0);
	log = fx_log(&f);
	assert_string_equal(log, "commit status: not sent: localhost is not "
			    "the repository's host\n");
	free(log);
	fx_release(&f);

	/* not http(s), and a repository name that would change the path */
	fx_init(&f, "github");
	fx_urls(&f, "statuses_url", "file://127.0.0.1/x/{sha}", cu);
	assert_int_equal(fx_post(&f, "success", "x", &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	fx_release(&f);
	fx_init(&f, "github");
	fx_urls(&f, "statuses_url", su, cu);
	f.r.repo = "o/../../x";
	assert_int_equal(fx_post(&f, "success", "x", &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_int_equal(s.n, 0);
	fx_release(&f);
	srv_stop(&s);
	free(su);
	free(cu);
}

static void test_forge_status_retry(void **state)
{
	struct srv s;
	struct fixture f;
	struct err e = ERR_INIT;
	char *su, *cu;

	srv_start(&s, 500, 201);
	su = url_on(&s, "127.0.0.1", "/repos/o/r/statuses/{sha}");
	cu = url_on(&s, "127.0.0.1", "/o/r.git");
	fx_init(&f, "github");
	fx_urls(&f, "statuses_url", su, cu);
	assert_int_equal(fx_post(&f, "success", "x", &e), 0);
	assert_int_equal(s.n, 2);
	fx_release(&f);

	/* 500 twice: one retry only, then the error */
	s.n = 0;
	s.statuses[1] = 502;
	fx_init(&f, "github");
	fx_urls(&f, "statuses_url", su, cu);
	assert_int_equal(fx_post(&f, "success", "x", &e), -1);
	assert_int_equal(e.code, ERR_REMOTE);
	assert_non_null(strstr(e.msg, "HTTP 502"));
	assert_int_equal(s.n, 2);
	fx_release(&f);
	srv_stop(&s);
	free(su);
	free(cu);
}

static void test_forge_status_unreachable(void **state)
{
	struct srv s;
	struct fixture f;
	struct err e = ERR_INIT;
	char *su, *cu;

	srv_start(&s, 201, 0);
	su = url_on(&s, "127.0.0.1", "/repos/o/r/statuses/{sha}");
	cu = url_on(&s, "127.0.0.1", "/o/r.git");
	srv_stop(&s);		/* nothing listens on the port any more */
	fx_init(&f, "github");
	fx_urls(&f, "statuses_url", su, cu);
	assert_int_equal(fx_post(&f, "success", "x", &e), -1);
	assert_int_equal(e.code, ERR_REMOTE);
	assert_non_null(strstr(e.msg, "cannot reach 127.0.0.1"));
	fx_release(&f);
	free(su);
	free(cu);
}

static void test_forge_status_unauthorized(void **state)
{
	struct srv s;
	struct fixture f;
	struct err e = ERR_INIT;
	char *su, *cu, *log;

	srv_start(&s, 401, 0);
	s.answer = "{\"message\":\"Bad credentials: " TOKEN "\","
		   "\"documentation_url\":\"https://docs.github.com/rest\"}";
	su = url_on(&s, "127.0.0.1", "/repos/o/r/statuses/{sha}");
	cu = url_on(&s, "127.0.0.1", "/o/r.git");
	fx_init(&f, "github");
	fx_urls(&f, "statuses_url", su, cu);
	assert_int_equal(fx_post(&f, "failure", "x", &e), -1);
	assert_int_equal(e.code, ERR_REMOTE);
	assert_int_equal(s.n, 1);
	assert_non_null(strstr(e.msg, "commit status for o/r@0123456: HTTP 401: "
			       "Bad credentials: ***"));
	assert_null(strstr(e.msg, TOKEN));
	log = fx_log(&f);
	assert_non_null(strstr(log, "HTTP 401: Bad credentials"));
	free(log);
	fx_release(&f);
	srv_stop(&s);
	free(su);
	free(cu);
}

static void test_forge_status_description(void **state)
{
	struct srv s;
	struct fixture f;
	struct err e = ERR_INIT;
	char *su, *cu, desc[301];
	json_t *body;

	/* 150 two-byte characters: cut at 140 characters, not bytes */
	for (int i = 0; i < 150; i++) {
		desc[2 * i] = (char)0xC3;
		desc[2 * i + 1] = (char)0xA9;
	}
	desc[300] = '\0';
	srv_start(&s, 201, 0);
	su = url_on(&s, "127.0.0.1", "/repos/o/r/statuses/{sha}");
	cu = url_on(&s, "127.0.0.1", "/o/r.git");
	fx_init(&f, "github");
	fx_urls(&f, "statuses_url", su, cu);
	f.ag.cfg.public_url = NULL;
	assert_int_equal(fx_post(&f, "error", desc, &e), 0);
	body = json_loads(s.body.ptr, 0, NULL);
	assert_non_null(body);
	assert_int_equal(strlen(jsonx_str(body, "description")), 280);
	assert_null(json_object_get(body, "target_url"));
	json_decref(body);
	fx_release(&f);
	srv_stop(&s);
	free(su);
	free(cu);
}

/* ---- the child, with stand-ins for gantry ---- */

/* What the child is given: two arguments, the allowlisted environment
 * (not a variable that holds the token), descriptors 0 to 2 only, the
 * token on stdin; its answer is the line logged. */
static void test_forge_status_child_view(void **state)
{
	static const char script[] =
		"#!/usr/bin/python3\n"
		"import json, os, sys\n"
		"req = sys.stdin.buffer.read()\n"
		"def is_open(fd):\n"
		"    try:\n"
		"        os.fstat(fd)\n"
		"        return True\n"
		"    except OSError:\n"
		"        return False\n"
		"fds = [fd for fd in range(1024) if is_open(fd)]\n"
		"with open('/proc/self/cmdline', 'rb') as f:\n"
		"    cmdline = f.read().decode()\n"
		"with open('/proc/self/environ', 'rb') as f:\n"
		"    environ = f.read().decode()\n"
		"view = {'fds': fds, 'argv': '|'.join(sys.argv), 'cmdline': cmdline,\n"
		"        'environ': environ,\n"
		"        'request': req.decode()}\n"
		"view = {k: v.replace('\\0', '|') if isinstance(v, str) else v\n"
		"        for k, v in view.items()}\n"
		"with open(os.path.join(os.path.dirname(sys.argv[0]), 'view'), 'w') as f:\n"
		"    json.dump(view, f)\n"
		"sys.stdout.buffer.write(b'0\\0commit status: seen by the stand-in\\0')\n";
	struct fixture f;
	struct err e = ERR_INIT;
	char *dir, *exe, *path, *log, *want;
	json_t *view, *fds;

	assert_int_equal(fs_mkdtemp(&dir, "forge-status", &e), 0);
	exe = fake_exe(dir, "gantry", script);
	path = fs_join(dir, "view");
	setenv("GIT__TOKEN", TOKEN, 1);
	setenv("GANTRY_STATUS_TEST", "kept", 1);
	fx_init(&f, "github");
	fx_urls(&f, "statuses_url", "http://127.0.0.1:1/repos/o/r/statuses/{sha}",
		"http://127.0.0.1:1/o/r.git");
	f.ag.exe = exe;
	assert_int_equal(fx_post(&f, "success", "x", &e), 0);
	unsetenv("GIT__TOKEN");
	unsetenv("GANTRY_STATUS_TEST");
	log = fx_log(&f);
	assert_string_equal(log, "commit status: seen by the stand-in\n");
	view = json_load_file(path, 0, NULL);
	assert_non_null(view);
	want = xasprintf("%s|__forge-status", exe);
	assert_string_equal(jsonx_str(view, "argv"), want);
	assert_null(strstr(jsonx_str(view, "cmdline"), TOKEN));
	assert_null(strstr(jsonx_str(view, "environ"), TOKEN));
	assert_null(strstr(jsonx_str(view, "environ"), "GIT__TOKEN"));
	assert_non_null(strstr(jsonx_str(view, "environ"), "GANTRY_STATUS_TEST=kept"));
	assert_non_null(strstr(jsonx_str(view, "request"), "|token=" TOKEN "|"));
	assert_non_null(strstr(jsonx_str(view, "request"), "|url=http://127.0.0.1:1/"
			       "repos/o/r/statuses/" SHA "|"));
	fds = json_object_get(view, "fds");
	assert_int_equal(json_array_size(fds), 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(json_integer_value(json_array_get(fds, i)), (long long)i);
	assert_all_reaped();
	json_decref(view);
	free(want);
	free(log);
	fx_release(&f);
	fs_remove_tree(dir, NULL);
	free(path);
	free(exe);
	free(dir);
}

/* An executable that is missing or cannot run: said, nothing sent. */
static void test_forge_status_no_exe(void **state)
{
	struct fixture f;
	struct err e = ERR_INIT;
	char *dir, *exe, *log, *want;

	assert_int_equal(fs_mkdtemp(&dir, "forge-status", &e), 0);
	fx_init(&f, "github");
	fx_urls(&f, "statuses_url", "http://127.0.0.1:1/repos/o/r/statuses/{sha}",
		"http://127.0.0.1:1/o/r.git");
	f.ag.exe = "/nonexistent/gantry";
	assert_int_equal(fx_post(&f, "success", "x", &e), -1);
	assert_int_equal(e.code, ERR_SANDBOX);
	assert_string_equal(e.msg, "commit status for o/r@0123456: cannot run "
			    "/nonexistent/gantry: No such file or directory");
	log = fx_log(&f);
	assert_string_equal(log, "commit status for o/r@0123456: cannot run "
			    "/nonexistent/gantry: No such file or directory\n");
	free(log);
	fx_release(&f);

	exe = fake_exe(dir, "gantry", "#!/bin/sh\nexit 0\n");
	chmod(exe, 0644);
	fx_init(&f, "github");
	fx_urls(&f, "statuses_url", "http://127.0.0.1:1/repos/o/r/statuses/{sha}",
		"http://127.0.0.1:1/o/r.git");
	f.ag.exe = exe;
	err_clear(&e);
	assert_int_equal(fx_post(&f, "success", "x", &e), -1);
	assert_int_equal(e.code, ERR_SANDBOX);
	want = xasprintf("commit status for o/r@0123456: cannot run %s: "
			 "Permission denied", exe);
	assert_string_equal(e.msg, want);
	assert_all_reaped();
	free(want);
	fx_release(&f);
	fs_remove_tree(dir, NULL);
	free(exe);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forge_status_github),
		cmocka_unit_test(test_forge_status_gitea),
		cmocka_unit_test(test_forge_status_api_url),
		cmocka_unit_test(test_forge_status_nothing_sent),
		cmocka_unit_test(test_forge_status_foreign_host),
		cmocka_unit_test(test_forge_status_retry),
		cmocka_unit_test(test_forge_status_unreachable),
		cmocka_unit_test(test_forge_status_unauthorized),
		cmocka_unit_test(test_forge_status_description),
		cmocka_unit_test(test_forge_status_child_view),
		cmocka_unit_test(test_forge_status_no_exe),
	};

	return run_with_gantry("unit_forge_status", tests, ARRAY_SIZE(tests));
}
