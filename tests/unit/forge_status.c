/* Unit tests for agent/forge_status.c and forge_status_send.c: commit
 * statuses posted to a small HTTP server on loopback that records what it
 * is sent and answers with a scripted status: GitHub's, Gitea's and
 * GitLab's URLs, headers and states, the configured API URL, the cases that send nothing, a
 * foreign host refused, a retry after 500, an HTTP 401, and a token that
 * never shows in errors or logs. They go the agent's way, through the
 * sanitizer build's `gantry __forge-status` beside this test's folder
 * (build/asan/gantry; GANTRY_EXE overrides it). Then, with a stand-in for
 * gantry, what the child is given (argv, environment, descriptors, the
 * request on stdin), and an executable that is missing or cannot run.
 * The child's protocol itself: forge_status_child.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "forge_status_test.h"

static char *gantry_exe;	/* the gantry whose __forge-status posts */

/* ---- a loopback server that records requests ---- */

struct srv {
	struct MHD_Daemon *d;
	int port;
	pthread_mutex_t lock;
	unsigned statuses[4];	/* answer to request i; the last repeats */
	const char *answer;	/* body of every answer; NULL: {} */
	int n;			/* requests seen */
	char method[16];
	char path[256];		/* of the last request */
	char auth[256];
	char private_token[256];	/* GitLab's header */
	char accept[128];
	struct buf body;
};

struct req_body {
	struct buf b;
};

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct srv *s = cls;
	struct req_body *rb = *con_cls;
	struct MHD_Response *resp;
	const char *h, *a;
	unsigned status;
	enum MHD_Result ret;

	if (!rb) {
		rb = xcalloc(1, sizeof(*rb));
		buf_init(&rb->b, 0);
		*con_cls = rb;
		return MHD_YES;
	}
	if (*upload_size) {
		buf_add(&rb->b, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&s->lock);
	snprintf(s->method, sizeof(s->method), "%s", method);
	snprintf(s->path, sizeof(s->path), "%s", url);
	h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	snprintf(s->auth, sizeof(s->auth), "%s", h ? h : "");
	h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "PRIVATE-TOKEN");
	snprintf(s->private_token, sizeof(s->private_token), "%s", h ? h : "");
	h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
	snprintf(s->accept, sizeof(s->accept), "%s", h ? h : "");
	buf_reset(&s->body);
	buf_add(&s->body, rb->b.ptr, rb->b.len);
	status = s->statuses[s->n < 4 ? s->n : 3];
	if (!status)
		status = s->statuses[0] ? s->statuses[0] : 201;
	s->n++;
	a = s->answer ? s->answer : "{}";
	pthread_mutex_unlock(&s->lock);
	resp = MHD_create_response_from_buffer(strlen(a), (void *)a,
					       MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void done_cb(void *cls, struct MHD_Connection *c, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	struct req_body *rb = *con_cls;

	if (rb) {
		buf_release(&rb->b);
		free(rb);
		*con_cls = NULL;
	}
}

/* The path as sent: GitLab's %2F must stay visible. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	return strlen(s);
}

static void srv_start(struct srv *s, unsigned first, unsigned second)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	const union MHD_DaemonInfo *info;

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	buf_init(&s->body, 0);
	s->statuses[0] = first;
	s->statuses[1] = second;
	s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
				MHD_USE_ERROR_LOG, 0, NULL, NULL, handle, s,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_NOTIFY_COMPLETED, done_cb, NULL,
				MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
				MHD_OPTION_END);
	assert_non_null(s->d);
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(info);
	s->port = info->port;
}

static void srv_stop(struct srv *s)
{
	MHD_stop_daemon(s->d);
	buf_release(&s->body);
	pthread_mutex_destroy(&s->lock);
}

/* ---- the agent and the run ---- */

struct fixture {
	struct agent ag;
	struct queue_run r;
	char *payload, *clone_url;
	FILE *log;
};

static void fx_init(struct fixture *f, const char *forge)
{
	memset(f, 0, sizeof(*f));
	pthread_rwlock_init(&f->ag.cfg_lock, NULL);
	f->ag.cfg.git_token = TOKEN;
	f->ag.cfg.status = true;
	f->ag.cfg.status_context = "ci/gantry";
	f->ag.cfg.public_url = "http://gantry.example/";
	f->ag.exe = gantry_exe;
	f->r.id = 42;
	f->r.forge = (char *)forge;
	f->r.repo = "o/r";
	f->r.sha = SHA;
	f->log = tmpfile();
	assert_non_null(f->log);
}

/* A payload whose repository has key = value; the clone URL on host. */
static void fx_urls(struct fixture *f, const char *key, const char *value,
		    const char *clone_url)
{
	json_t *p = json_pack("{s:{s:s, s:s}}", "repository", "full_name",
			      "o/r", key, value);

	f->payload = jsonx_dump(p, 0);
	json_decref(p);
	f->r.payload = f->payload;
	f->clone_url = xstrdup(clone_url);
	f->r.clone_url = f->clone_url;
}

static int fx_post(struct fixture *f, const char *state, const char *desc,
		   struct err *e)
{
	return forge_status_post(&f->ag, &f->r, state, desc, fileno(f->log), e);
}

/* What was written to the log; caller frees. Checks it has no token. */
static char *fx_log(struct fixture *f)
{
	char text[8192];
	size_t n;

	fflush(f->log);
	rewind(f->log);
	n = fread(text, 1, sizeof(text) - 1, f->log);
	text[n] = '\0';
	assert_null(strstr(text, TOKEN));
	return xstrdup(text);
}

static void fx_release(struct fixture *f)
{
	free(fx_log(f));
	fclose(f->log);
	free(f->payload);
	free(f->clone_url);
	pthread_rwlock_destroy(&f->ag.cfg_lock);
}

static char *url_on(const struct srv *s, const char *host, const char *path)
{
	return xasprintf("http://%s:%d%s", host, s->port, path);
}

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

/* GitLab: the project's path as its :id, under the base of its web page
 * (a relative URL root kept), PRIVATE-TOKEN, "name" for the context and
 * GitLab's words for the states. */
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
	char *wu, *cu, *log, *want;
	json_t *body;

	srv_start(&s, 201, 0);
	wu = url_on(&s, "127.0.0.1", "/gitlab/grp/sub/app/");
	cu = url_on(&s, "127.0.0.1", "/gitlab/grp/sub/app.git");
	fx_init(&f, "gitlab");
	f.r.repo = "grp/sub/app";
	fx_urls(&f, "html_url", wu, cu);
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
	fx_release(&f);
	free(wu);

	/* a web page that does not end in the path: its host's root; and
	 * GitLab's own payload (project.web_url) */
	fx_init(&f, "gitlab");
	f.r.repo = "grp/app";
	want = url_on(&s, "127.0.0.1", "/elsewhere");
	f.payload = xasprintf("{\"project\":{\"web_url\":\"%s\"}}", want);
	f.r.payload = f.payload;
	f.clone_url = xstrdup(cu);
	f.r.clone_url = f.clone_url;
	assert_int_equal(fx_post(&f, "success", NULL, &e), 0);
	assert_string_equal(s.path, "/api/v4/projects/grp%2Fapp/statuses/" SHA);
	fx_release(&f);
	free(want);

	/* STATUS__API_URL is GitLab's API root, .../api/v4 */
	want = url_on(&s, "127.0.0.1", "/api/v4/");
	fx_init(&f, "gitlab");
	f.r.repo = "grp/app";
	fx_urls(&f, "html_url", "https://gitlab.example/grp/app",
		"https://gitlab.example/grp/app.git");
	f.ag.cfg.status_api_url = want;
	assert_int_equal(fx_post(&f, "failure", "a workflow failed", &e), 0);
	assert_string_equal(s.path, "/api/v4/projects/grp%2Fapp/statuses/" SHA);
	fx_release(&f);
	free(want);

	/* a path that could change the URL is refused before any request,
	 * and only GitLab has nested groups */
	fx_init(&f, "gitlab");
	f.r.repo = "grp/../app";
	fx_urls(&f, "html_url", cu, cu);
	assert_int_equal(fx_post(&f, "success", NULL, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_non_null(strstr(e.msg, "'grp/../app' is not a repository name"));
	fx_release(&f);
	fx_init(&f, "github");
	f.r.repo = "grp/sub/app";
	fx_urls(&f, "statuses_url", cu, cu);
	err_clear(&e);
	assert_int_equal(fx_post(&f, "success", NULL, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	fx_release(&f);
	assert_int_equal(s.n, 7);
	srv_stop(&s);
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

/* build/asan/tests/unit_forge_status -> build/asan/gantry */
static char *find_gantry(void)
{
	const char *env = getenv("GANTRY_EXE");
	char *self, *tests, *top, *out;

	if (env && *env)
		return xstrdup(env);
	self = fs_realpath("/proc/self/exe");
	if (!self)
		return NULL;
	tests = fs_dirname(self);
	top = fs_dirname(tests);
	out = fs_join(top, "gantry");
	free(self);
	free(tests);
	free(top);
	return out;
}

int main(void)
{
	int rc;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forge_status_github),
		cmocka_unit_test(test_forge_status_gitea),
		cmocka_unit_test(test_forge_status_gitlab),
		cmocka_unit_test(test_forge_status_states),
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

	/* loopback requests never go through a proxy from the environment */
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	gantry_exe = find_gantry();
	if (!gantry_exe || access(gantry_exe, X_OK) < 0) {
		fprintf(stderr, "unit_forge_status: no gantry to run at %s (make "
			"unit-bins builds it; GANTRY_EXE=PATH names another)\n",
			gantry_exe ? gantry_exe : "?");
		free(gantry_exe);
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	free(gantry_exe);
	return rc;
}
