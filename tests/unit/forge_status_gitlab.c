/* Unit tests for GitLab's commit statuses (agent/forge_status.c and
 * forge_status_send.c), through the sanitizer build's `gantry
 * __forge-status` and a loopback server (forge_status_srv.h): the
 * project's path as its :id under the base of its web page or clone URL
 * (a relative URL root kept), PRIVATE-TOKEN, "name" for the context, the
 * branch or tag as "ref", GitLab's words for the states, the same state
 * again taken for done, and the URLs that are refused before a request. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forge_status_srv.h"

#define PATH_APP "/api/v4/projects/grp%2Fapp/statuses/" SHA

/* A GitLab run of repo whose payload has repository.html_url = web (NULL:
 * none) and whose clone URL is clone_url. */
static void fx_gitlab(struct fixture *f, const char *repo, const char *web,
		      const char *clone_url)
{
	fx_init(f, "gitlab");
	f->r.repo = (char *)repo;
	f->r.ref = "refs/heads/main";
	if (web) {
		fx_urls(f, "html_url", web, clone_url);
	} else {
		f->clone_url = xstrdup(clone_url);
		f->r.clone_url = f->clone_url;
	}
}

static void test_forge_status_gitlab(void **state)
{
	static const char *const states[][2] = {
		{ "pending", "running" }, { "success", "success" },
		{ "failure", "failed" }, { "cancelled", "canceled" },
		{ "error", "failed" },
	};
	struct srv s;
	struct fixture f;
	struct err e = ERR_INIT;
	char *wu, *cu, *log;
	json_t *body;

	srv_start(&s, 201, 0);
	wu = url_on(&s, "127.0.0.1", "/gitlab/grp/sub/app/");
	cu = url_on(&s, "127.0.0.1", "/gitlab/grp/sub/app.git");
	fx_gitlab(&f, "grp/sub/app", wu, cu);
	for (size_t i = 0; i < ARRAY_SIZE(states); i++) {
		assert_int_equal(fx_post(&f, states[i][0], "gantry", &e), 0);
		assert_int_equal(s.n, (int)i + 1);
		assert_string_equal(s.method, "POST");
		assert_string_equal(s.path, "/gitlab/api/v4/projects/grp%2Fsub%2Fapp"
				    "/statuses/" SHA);
		assert_string_equal(s.private_token, TOKEN);
		assert_string_equal(s.auth, "");
		assert_string_equal(s.accept, "application/json");
		body = json_loads(s.body.ptr, 0, NULL);
		assert_non_null(body);
		assert_string_equal(jsonx_str(body, "state"), states[i][1]);
		assert_string_equal(jsonx_str(body, "name"), "ci/gantry");
		assert_string_equal(jsonx_str(body, "ref"), "main");
		assert_null(json_object_get(body, "context"));
		assert_string_equal(jsonx_str(body, "target_url"),
				    "http://gantry.example/runs/42");
		json_decref(body);
		assert_string_equal(forge_status_state(FORGE_GITLAB, states[i][0]),
				    states[i][1]);
	}
	log = fx_log(&f);
	assert_non_null(strstr(log, "commit status: running posted to 127.0.0.1\n"));
	assert_non_null(strstr(log, "commit status: canceled posted to 127.0.0.1\n"));
	free(log);
	/* a tag's run names the tag */
	f.r.ref = "refs/tags/v1.2";
	assert_int_equal(fx_post(&f, "success", NULL, &e), 0);
	body = json_loads(s.body.ptr, 0, NULL);
	assert_string_equal(jsonx_str(body, "ref"), "v1.2");
	json_decref(body);
	fx_release(&f);
	srv_stop(&s);
	free(wu);
	free(cu);
}

/* Where the status goes for web pages and clone URLs of every shape, and
 * the ones that send nothing. */
static void test_forge_status_gitlab_urls(void **state)
{
	static const struct {
		const char *host, *web, *clone, *path;	/* path NULL: refused */
		const char *why;
	} cases[] = {
		/* the web page's query and fragment are not part of it */
		{ NULL, "/gitlab/grp/app?x=1#y", "/gitlab/grp/app.git", "/gitlab" PATH_APP, NULL },
		/* a page that only ends like the path: the clone URL's base */
		{ NULL, "/xgrp/app", "/gitlab/grp/app.git", "/gitlab" PATH_APP, NULL },
		/* no page: the clone URL's base */
		{ NULL, NULL, "/gitlab/grp/app.git", "/gitlab" PATH_APP, NULL },
		/* neither ends in the path: the page's host */
		{ NULL, "/elsewhere", "/other.git", PATH_APP, NULL },
		/* the project at the root */
		{ NULL, "/grp/app", "/grp/app.git", PATH_APP, NULL },
		/* a user name in the page: refused, not sent with it */
		{ "user@127.0.0.1", "/grp/app", "/grp/app.git", NULL,
		  "has a user name or password" },
		/* another host */
		{ "localhost", "/grp/app", "/grp/app.git", NULL,
		  "localhost is not the repository's host" },
	};
	struct srv s;
	struct fixture f;
	struct err e = ERR_INIT;
	char *web, *clone;
	int sent = 0;

	srv_start(&s, 201, 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		web = cases[i].web ? url_on(&s, cases[i].host ? cases[i].host :
					    "127.0.0.1", cases[i].web) : NULL;
		clone = url_on(&s, "127.0.0.1", cases[i].clone);
		fx_gitlab(&f, "grp/app", web, clone);
		err_clear(&e);
		if (cases[i].path) {
			assert_int_equal(fx_post(&f, "success", NULL, &e), 0);
			assert_int_equal(s.n, ++sent);
			assert_string_equal(s.path, cases[i].path);
		} else {
			assert_int_equal(fx_post(&f, "success", NULL, &e), -1);
			assert_int_equal(e.code, ERR_INVALID);
			assert_non_null(strstr(e.msg, cases[i].why));
			assert_int_equal(s.n, sent);
		}
		fx_release(&f);
		free(web);
		free(clone);
	}

	/* STATUS__API_URL is GitLab's API root, .../api/v4 */
	web = url_on(&s, "127.0.0.1", "/api/v4/");
	fx_gitlab(&f, "grp/app", "https://gitlab.example/grp/app",
		  "https://gitlab.example/grp/app.git");
	f.ag.cfg.status_api_url = web;
	assert_int_equal(fx_post(&f, "failure", "a workflow failed", &e), 0);
	assert_int_equal(s.n, ++sent);
	assert_string_equal(s.path, PATH_APP);
	fx_release(&f);
	free(web);

	/* cloned over https, the status is not sent over http */
	web = url_on(&s, "127.0.0.1", "/grp/app");
	fx_gitlab(&f, "grp/app", web, "https://127.0.0.1/grp/app.git");
	err_clear(&e);
	assert_int_equal(fx_post(&f, "success", NULL, &e), -1);
	assert_non_null(strstr(e.msg, "cloned over https, the status URL is http://"));
	fx_release(&f);
	free(web);

	/* a path that could change the URL is refused before any request,
	 * and only GitLab has nested groups */
	clone = url_on(&s, "127.0.0.1", "/grp/app.git");
	fx_gitlab(&f, "grp/../app", clone, clone);
	err_clear(&e);
	assert_int_equal(fx_post(&f, "success", NULL, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_non_null(strstr(e.msg, "'grp/../app' is not a repository name"));
	fx_release(&f);
	fx_init(&f, "github");
	f.r.repo = "grp/sub/app";
	fx_urls(&f, "statuses_url", clone, clone);
	err_clear(&e);
	assert_int_equal(fx_post(&f, "success", NULL, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	fx_release(&f);
	assert_int_equal(s.n, sent);
	srv_stop(&s);
	free(clone);
}

/* A run tried anew posts "running" again; GitLab answers 400 "Cannot
 * transition status": the status is there, which is not an error. Any
 * other 400 is. */
static void test_forge_status_gitlab_again(void **state)
{
	struct srv s;
	struct fixture f;
	struct err e = ERR_INIT;
	char *wu, *cu, *log;

	srv_start(&s, 400, 0);
	s.answer = "{\"message\":\"Cannot transition status via :run from "
		   ":running (Reason(s): Status cannot transition via \\\"run\\\".)\"}";
	wu = url_on(&s, "127.0.0.1", "/grp/app");
	cu = url_on(&s, "127.0.0.1", "/grp/app.git");
	fx_gitlab(&f, "grp/app", wu, cu);
	assert_int_equal(fx_post(&f, "pending", NULL, &e), 0);
	log = fx_log(&f);
	assert_non_null(strstr(log, "commit status: running already set on 127.0.0.1\n"));
	free(log);
	s.answer = "{\"message\":{\"state\":[\"is invalid\"]}}";
	assert_int_equal(fx_post(&f, "pending", NULL, &e), -1);
	assert_int_equal(e.code, ERR_REMOTE);
	assert_non_null(strstr(e.msg, "HTTP 400"));
	assert_int_equal(s.n, 2);
	fx_release(&f);
	srv_stop(&s);
	free(wu);
	free(cu);
}

/* GitHub and Gitea have no "cancelled": a cancelled run is "error". */
static void test_forge_status_states(void **state)
{
	for (enum forge f = FORGE_GITHUB; f <= FORGE_GITEA; f++) {
		assert_string_equal(forge_status_state(f, "pending"), "pending");
		assert_string_equal(forge_status_state(f, "success"), "success");
		assert_string_equal(forge_status_state(f, "failure"), "failure");
		assert_string_equal(forge_status_state(f, "cancelled"), "error");
		assert_string_equal(forge_status_state(f, "error"), "error");
		assert_string_equal(forge_status_state(f, NULL), "error");
	}
	assert_string_equal(forge_status_state(FORGE_GITLAB, NULL), "failed");
	assert_string_equal(forge_status_state(FORGE_GITLAB, "odd"), "failed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forge_status_gitlab),
		cmocka_unit_test(test_forge_status_gitlab_urls),
		cmocka_unit_test(test_forge_status_gitlab_again),
		cmocka_unit_test(test_forge_status_states),
	};

	return run_with_gantry("unit_forge_status_gitlab", tests, ARRAY_SIZE(tests));
}
