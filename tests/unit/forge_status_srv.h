/* What the commit status tests that post through gantry __forge-status
 * share (forge_status.c, forge_status_gitlab.c): a loopback server that
 * records what it is sent and answers with a scripted status, an agent
 * and a run to post for, and the gantry to run. */
#ifndef GANTRY_TEST_FORGE_STATUS_SRV_H
#define GANTRY_TEST_FORGE_STATUS_SRV_H

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static inline enum MHD_Result handle(void *cls, struct MHD_Connection *c,
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

static inline void done_cb(void *cls, struct MHD_Connection *c, void **con_cls,
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
static inline size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	return strlen(s);
}

static inline void srv_start(struct srv *s, unsigned first, unsigned second)
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

static inline void srv_stop(struct srv *s)
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

static inline void fx_init(struct fixture *f, const char *forge)
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
static inline void fx_urls(struct fixture *f, const char *key, const char *value,
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

static inline int fx_post(struct fixture *f, const char *state, const char *desc,
		   struct err *e)
{
	return forge_status_post(&f->ag, &f->r, state, desc, fileno(f->log), e);
}

/* What was written to the log; caller frees. Checks it has no token. */
static inline char *fx_log(struct fixture *f)
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

static inline void fx_release(struct fixture *f)
{
	free(fx_log(f));
	fclose(f->log);
	free(f->payload);
	free(f->clone_url);
	pthread_rwlock_destroy(&f->ag.cfg_lock);
}

static inline char *url_on(const struct srv *s, const char *host, const char *path)
{
	return xasprintf("http://%s:%d%s", host, s->port, path);
}

/* build/asan/tests/unit_forge_status -> build/asan/gantry (GANTRY_EXE
 * overrides it) */
static inline char *find_gantry(void)
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

/* Run tests against the sanitizer build's gantry; 1 when there is none. */
static inline int run_with_gantry(const char *name, const struct CMUnitTest *tests,
				  size_t n)
{
	int rc;

	/* loopback requests never go through a proxy from the environment */
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	gantry_exe = find_gantry();
	if (!gantry_exe || access(gantry_exe, X_OK) < 0) {
		fprintf(stderr, "%s: no gantry to run at %s (make unit-bins builds "
			"it; GANTRY_EXE=PATH names another)\n", name,
			gantry_exe ? gantry_exe : "?");
		free(gantry_exe);
		return 1;
	}
	rc = _cmocka_run_group_tests(name, tests, n, NULL, NULL);
	free(gantry_exe);
	return rc;
}

#endif
