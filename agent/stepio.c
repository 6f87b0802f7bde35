/*
 * stepio: what a step prints and what it says back. Output lines are
 * masked and printed with their job/step prefix; workflow commands
 * (::add-mask::, ::group::, ::error ...) are acted on; after the step its
 * command files (GITHUB_ENV, GITHUB_OUTPUT, GITHUB_PATH,
 * GITHUB_STEP_SUMMARY) are read back. Also builds a step's environment.
 */
#include "job_int.h"
#include "filecmd.h"
#include "../lib/fs.h"
#include "../lib/jsonx.h"
#include "../lib/log.h"
#include "../lib/mask.h"
#include "../lib/aws/creds.h"
#include "../lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


void stepio_say(struct jobrun *jr, enum out_kind kind, const char *prefix,
		const char *fmt, ...)
{
	char small[512];
	struct buf b = BUF_INIT;
	va_list ap;
	int n;

	/* most lines fit on the stack: one formatting pass, no allocation */
	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(small)) {
		out_line(OUT(jr), kind, prefix, small);
		return;
	}
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	out_line(OUT(jr), kind, prefix, b.ptr);
	buf_release(&b);
}

static void annotate(struct stepexec *x, const char *level, json_t *props,
		     const char *msg)
{
	struct jobrun *jr = x->jr;
	const char *file = jsonx_str(props, "file");
	const char *line = jsonx_str(props, "line");
	const char *col = jsonx_str(props, "col");
	const char *title = jsonx_str(props, "title");
	enum out_kind kind = !strcmp(level, "error") ? OUT_FAIL :
			     !strcmp(level, "warning") ? OUT_WARN : OUT_INFO;
	struct buf where = BUF_INIT;
	json_t *a = json_object();
	char *masked = mask_str(jr->run->o->mask, msg);

	if (file) {
		buf_adds(&where, file);
		if (line)
			buf_printf(&where, ":%s", line);
		if (line && col)
			buf_printf(&where, ":%s", col);
		buf_adds(&where, ": ");
	}
	stepio_say(jr, kind, x->prefix, "%c%s: %s%s%s%s", level[0] - 32, level + 1,
	    where.ptr, title ? title : "", title ? ": " : "", msg);
	jsonx_set_str(a, "level", level);
	jsonx_set_str(a, "message", masked);
	if (file)
		jsonx_set_str(a, "file", file);
	if (line)
		jsonx_set_str(a, "line", line);
	pthread_mutex_lock(&jr->run->mu);
	json_array_append_new(jr->annotations, a);
	pthread_mutex_unlock(&jr->run->mu);
	buf_release(&where);
	free(masked);
}

void stepio_fold_flush(struct stepexec *x, bool show)
{
	if (show && x->folded.len)
		out_line(OUT(x->jr), OUT_PLAIN, x->prefix, x->folded.ptr);
	buf_reset(&x->folded);
	x->folded_lines = 0;
}

static void print_step_line(struct stepexec *x, const char *line)
{
	if (x->in_group && OUT(x->jr)->tty) {
		/* folded: kept back, shown only if the step fails */
		if (x->folded_lines < GROUP_FOLD_MAX) {
			char *m = mask_str(x->jr->run->o->mask, line);

			buf_printf(&x->folded, "  %s\n", m);
			free(m);
			x->folded_lines++;
		}
		return;
	}
	if (x->in_group) {
		struct buf b = BUF_INIT;

		buf_printf(&b, "  %s", line);
		out_line(OUT(x->jr), OUT_PLAIN, x->prefix, b.ptr);
		buf_release(&b);
		return;
	}
	out_line(OUT(x->jr), OUT_PLAIN, x->prefix, line);
}

static void on_command(struct stepexec *x, struct wfcmd *c, const char *raw)
{
	struct jobrun *jr = x->jr;
	const char *n = c->name;

	if (!strcmp(n, "add-mask")) {
		mask_add(jr->run->o->mask, c->value);
		if (x->label_src)
			stepio_set_prefix(x);
	} else if (!strcmp(n, "group")) {
		if (x->in_group)
			stepio_fold_flush(x, false);
		x->in_group = true;
		stepio_say(jr, OUT_GROUP, x->prefix, "%s %s", OUT(jr)->tty ? "\u25b8" : "\u25be", c->value);
	} else if (!strcmp(n, "endgroup")) {
		stepio_fold_flush(x, false);
		x->in_group = false;
	} else if (!strcmp(n, "error") || !strcmp(n, "warning") ||
		   !strcmp(n, "notice")) {
		annotate(x, n, c->props, c->value);
	} else if (!strcmp(n, "debug")) {
		const char *dbg = jsonx_str(json_object_get(jr->ctx, "runner"), "debug");

		if (dbg && !strcmp(dbg, "1"))
			stepio_say(jr, OUT_DIM, x->prefix, "Debug: %s", c->value);
	} else if (!strcmp(n, "stop-commands")) {
		free(x->stop_token);
		x->stop_token = xstrdup(c->value);
	} else if (!strcmp(n, "echo")) {
		x->echo = !strcmp(c->value, "on");
	} else if (!strcmp(n, "set-output")) {
		const char *name = jsonx_str(c->props, "name");

		if (name)
			jsonx_set_str(x->legacy_outputs, name, c->value);
		stepio_say(jr, OUT_WARN, x->prefix,
		    "Warning: the set-output command is deprecated; write to $GITHUB_OUTPUT");
	} else if (!strcmp(n, "save-state")) {
		/* state is for post steps, which local steps do not have */
	} else if (!strcmp(n, "set-env") || !strcmp(n, "add-path")) {
		annotate(x, "error", c->props,
			 "the set-env and add-path commands are disabled (as on GitHub); "
			 "write to $GITHUB_ENV or $GITHUB_PATH");
	} else {
		/* not a command we know: GitHub prints such lines as they are */
		print_step_line(x, raw);
		return;
	}
	if (x->echo && strcmp(n, "add-mask"))
		print_step_line(x, raw);
}

void stepio_on_line(void *ud, enum sbx_stream stream, const char *line, size_t len)
{
	struct stepexec *x = ud;
	char *s = xstrndup(line, len);
	struct wfcmd c;

	(void)stream;
	if (x->stop_token) {
		size_t tl = strlen(x->stop_token);

		if (len == tl + 4 && !strncmp(s, "::", 2) &&
		    !strncmp(s + 2, x->stop_token, tl) && !strcmp(s + 2 + tl, "::")) {
			free(x->stop_token);
			x->stop_token = NULL;
		} else {
			print_step_line(x, s);
		}
		free(s);
		return;
	}
	if (wfcmd_parse(&c, s, len)) {
		on_command(x, &c, s);
		wfcmd_release(&c);
	} else {
		print_step_line(x, s);
	}
	free(s);
}


void stepio_info(void *ud, const char *line)
{
	struct stepexec *x = ud;

	out_line(OUT(x->jr), OUT_DIM, x->prefix, line);
}

void stepio_plan(void *ud, const char *text)
{
	static const char spaces[] = "                                        ";
	struct stepexec *x = ud;
	size_t ind = 4 + 2 * (size_t)x->sc->depth;
	struct buf b = BUF_INIT;

	if (ind > sizeof(spaces) - 1)
		ind = sizeof(spaces) - 1;
	/* each line indented; one call prints the whole block */
	for (const char *p = text;;) {
		const char *nl = strchr(p, '\n');

		buf_add(&b, spaces, ind);
		buf_add(&b, p, nl ? (size_t)(nl - p) : strlen(p));
		if (!nl || !nl[1])
			break;
		buf_addch(&b, '\n');
		p = nl + 1;
	}
	out_line(OUT(x->jr), OUT_PLAIN, NULL, b.ptr);
	buf_release(&b);
}

/*
 * Read a command file the step could have tampered with, and empty it.
 * gantry does this outside the sandbox with its own rights, so nothing is
 * followed: the file is opened relative to the job's command folder
 * (dirfd, opened when the job began), without following a link, without
 * blocking on a FIFO, and used only when it is a regular file with one
 * link. Anything else is removed and made anew, and ERR_INVALID says so.
 */
int stepio_take_cmd_file(struct buf *b, int dirfd, const char *name,
			 const char *what, struct err *e)
{
	char chunk[65536];
	struct stat st;
	int fd, ret = -1;
	ssize_t n;

	buf_init(b, FILE_CMD_MAX);
	fd = openat(dirfd, name, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		goto remake;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		err_set(e, ERR_INVALID, "%s is no longer a plain file (replaced by a link "
			"or something else?): ignored", what);
		if (fd >= 0)
			close(fd);
		fd = -1;
		goto remake;
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_sys(e, ERR_IO, "cannot read %s", what);
			break;
		}
		if (n == 0)
			break;
		if (buf_add(b, chunk, (size_t)n) < 0) {
			err_set(e, ERR_LIMIT, "%s is larger than %d MiB", what,
				FILE_CMD_MAX >> 20);
			break;
		}
	}
	/* emptied also when it was too large or unreadable: the next step
	 * starts from an empty file, not from this step's leftovers */
	if ((b->len || e->code != ERR_NONE) && ftruncate(fd, 0) < 0 &&
	    e->code == ERR_NONE)
		err_sys(e, ERR_IO, "cannot empty %s", what);
	ret = e->code == ERR_NONE ? 0 : -1;
	goto done;
remake:
	unlinkat(dirfd, name, 0);
	unlinkat(dirfd, name, AT_REMOVEDIR);
	{
		int nfd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				 O_CLOEXEC, 0644);

		if (nfd >= 0)
			close(nfd);
	}
	ret = e->code == ERR_NONE ? 0 : -1;
done:
	if (fd >= 0)
		close(fd);
	return ret;
}

int stepio_cmd_files_init(const char *dir, struct err *e)
{
	static const char *const f[] = { "env", "output", "path", "state", "summary" };

	if (fs_mkdirs(dir, 0700, e) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(f); i++) {
		char *p = xasprintf("%s/%s", dir, f[i]);
		int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd < 0) {
			err_sys(e, ERR_IO, "cannot create %s", p);
			free(p);
			return -1;
		}
		close(fd);
		free(p);
	}
	return 0;
}

/*
 * Read back GITHUB_ENV, GITHUB_OUTPUT, GITHUB_PATH, GITHUB_STEP_SUMMARY
 * (and GITHUB_STATE), then empty them so the next step starts from empty
 * files. The files are made once per job: creating five files per step
 * costs more than the step itself on a slow disk.
 */
int stepio_apply_files(struct jobrun *jr, json_t *outputs, struct err *e)
{
	static const char *const kinds[][2] = {
		{ "env", "GITHUB_ENV" }, { "output", "GITHUB_OUTPUT" },
		{ "path", "GITHUB_PATH" }, { "summary", "GITHUB_STEP_SUMMARY" },
		{ "state", "GITHUB_STATE" },
	};
	int ret = 0;

	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		struct buf b;
		struct err fe = ERR_INIT;

		if (stepio_take_cmd_file(&b, jr->cmd_fd, kinds[k][0], kinds[k][1], &fe) < 0) {
			if (ret == 0)
				*e = fe;
			ret = -1;
			buf_release(&b);
			continue;
		}
		if (ret == 0 && k == 0 &&
		    filecmd_parse_kv(jr->env, b.ptr, b.len, "GITHUB_ENV", e) < 0)
			ret = -1;
		else if (ret == 0 && k == 1 &&
			 filecmd_parse_kv(outputs, b.ptr, b.len, "GITHUB_OUTPUT", e) < 0)
			ret = -1;
		else if (k == 2)
			filecmd_parse_path(&jr->path_add, b.ptr, b.len);
		else if (k == 3 && b.len) {
			char *m = mask_apply(jr->run->o->mask, b.ptr, b.len, NULL);
			size_t ml = strlen(m);

			if (ml > STEP_SUMMARY_MAX) {
				log_warn("a step summary of %zu bytes is over the 1 MiB limit; cut",
					 ml);
				ml = STEP_SUMMARY_MAX;
			}
			buf_add(&jr->summary, m, ml);
			if (jr->summary.len && jr->summary.ptr[jr->summary.len - 1] != '\n')
				buf_addch(&jr->summary, '\n');
			free(m);
		}
		buf_release(&b);
	}
	return ret;
}

/* AWS credentials a step set up for the job, fresh for this step: a
 * step that starts within five minutes of their expiry gets new ones. */
static void refresh_aws(struct strv *envp, struct jobrun *jr)
{
	struct aws_creds c;
	struct err e = ERR_INIT;

	if (aws_credp_get(jr->aws, &c, &e) < 0) {
		stepio_say(jr, OUT_WARN, jr->prefix, "warning: the job's AWS "
			   "credentials could not be refreshed: %s", e.msg);
		return;
	}
	mask_add(jr->run->o->mask, c.secret_access_key);
	if (c.session_token)
		mask_add(jr->run->o->mask, c.session_token);
	strv_setenv(envp, "AWS_ACCESS_KEY_ID", c.access_key_id);
	strv_setenv(envp, "AWS_SECRET_ACCESS_KEY", c.secret_access_key);
	if (c.session_token)
		strv_setenv(envp, "AWS_SESSION_TOKEN", c.session_token);
	aws_creds_release(&c);
}

/* The step's process environment. */
void stepio_build_envp(struct strv *envp, struct jobrun *jr, struct scope *sc,
		       json_t *env, const char *cmd_dir, const char *step_name)
{
	json_t *gh = json_object_get(jr->ctx, "github");
	struct buf path = BUF_INIT;
	const char *k;
	json_t *v;
	char *p;

	ctx_host_env(envp);
	strv_setenv(envp, "CI", "true");
	strv_setenv(envp, "GITHUB_ACTIONS", "true");
	strv_setenv(envp, "GANTRY", "true");
	{
		static const struct { const char *var, *key; } map[] = {
			{ "GITHUB_WORKSPACE", "workspace" }, { "GITHUB_SHA", "sha" },
			{ "GITHUB_REF", "ref" }, { "GITHUB_REF_NAME", "ref_name" },
			{ "GITHUB_REF_TYPE", "ref_type" },
			{ "GITHUB_REPOSITORY", "repository" },
			{ "GITHUB_REPOSITORY_OWNER", "repository_owner" },
			{ "GITHUB_EVENT_NAME", "event_name" },
			{ "GITHUB_RUN_ID", "run_id" }, { "GITHUB_RUN_NUMBER", "run_number" },
			{ "GITHUB_RUN_ATTEMPT", "run_attempt" }, { "GITHUB_JOB", "job" },
			{ "GITHUB_ACTOR", "actor" }, { "GITHUB_TRIGGERING_ACTOR", "triggering_actor" },
			{ "GITHUB_WORKFLOW", "workflow" }, { "GITHUB_WORKFLOW_REF", "workflow_ref" },
			{ "GITHUB_SERVER_URL", "server_url" }, { "GITHUB_API_URL", "api_url" },
			{ "GITHUB_GRAPHQL_URL", "graphql_url" }, { "GITHUB_HEAD_REF", "head_ref" },
			{ "GITHUB_BASE_REF", "base_ref" }, { "GITHUB_RETENTION_DAYS", "retention_days" },
		};

		for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
			const char *s = jsonx_str(gh, map[i].key);

			strv_setenv(envp, map[i].var, s ? s : "");
		}
	}
	p = xasprintf("%s/event.json", jr->dir);
	strv_setenv(envp, "GITHUB_EVENT_PATH", p);
	free(p);
	strv_setenv(envp, "GITHUB_ACTION", step_name);
	strv_setenv(envp, "GITHUB_ACTION_PATH", sc->action_path ? sc->action_path : "");
	strv_setenv(envp, "RUNNER_OS", "Linux");
	strv_setenv(envp, "RUNNER_ARCH", jsonx_str(json_object_get(jr->ctx, "runner"), "arch"));
	strv_setenv(envp, "RUNNER_NAME", jsonx_str(json_object_get(jr->ctx, "runner"), "name"));
	strv_setenv(envp, "RUNNER_ENVIRONMENT", "self-hosted");
	strv_setenv(envp, "RUNNER_TEMP", jr->temp);
	strv_setenv(envp, "RUNNER_TOOL_CACHE", jr->run->o->tool_cache);
	strv_setenv(envp, "RUNNER_WORKSPACE", jr->dir);
	if (cmd_dir) {
		static const char *const f[][2] = {
			{ "GITHUB_ENV", "env" }, { "GITHUB_OUTPUT", "output" },
			{ "GITHUB_PATH", "path" }, { "GITHUB_STATE", "state" },
			{ "GITHUB_STEP_SUMMARY", "summary" },
		};

		for (size_t i = 0; i < ARRAY_SIZE(f); i++) {
			p = xasprintf("%s/%s", cmd_dir, f[i][1]);
			strv_setenv(envp, f[i][0], p);
			free(p);
		}
	}
	json_object_foreach(env, k, v)
		strv_setenv(envp, k, json_string_value(v) ? json_string_value(v) : "");
	/* GITHUB_PATH entries come first, newest first */
	for (size_t i = jr->path_add.n; i-- > 0;)
		buf_printf(&path, "%s:", jr->path_add.v[i]);
	buf_adds(&path, strv_getenv(envp, "PATH") ? strv_getenv(envp, "PATH") : "");
	strv_setenv(envp, "PATH", path.ptr);
	buf_release(&path);
	if (jr->oidc_bearer) {
		strv_setenv(envp, "ACTIONS_ID_TOKEN_REQUEST_URL", jr->oidc_url);
		strv_setenv(envp, "ACTIONS_ID_TOKEN_REQUEST_TOKEN", jr->oidc_bearer);
	}
	if (jr->aws)
		refresh_aws(envp, jr);
}


/* A dry run needs only PATH, to find shells: the host's with GITHUB_PATH
 * entries first. Building the whole environment per planned step would
 * dominate a large plan. */
void stepio_plan_path(struct strv *envp, struct jobrun *jr)
{
	const char *host = getenv("PATH");
	struct buf path = BUF_INIT;

	/* the same for every step until a step adds to GITHUB_PATH, which in
	 * a dry run none does: made once per job */
	if (!jr->plan_path || jr->plan_path_n != jr->path_add.n) {
		for (size_t i = jr->path_add.n; i-- > 0;)
			buf_printf(&path, "%s:", jr->path_add.v[i]);
		buf_adds(&path, host && *host ? host : "/usr/local/bin:/usr/bin:/bin");
		free(jr->plan_path);
		jr->plan_path = buf_detach(&path, NULL);
		jr->plan_path_n = jr->path_add.n;
	}
	strv_push_owned(envp, xasprintf("PATH=%s", jr->plan_path));
}

void stepio_set_prefix(struct stepexec *x)
{
	char *masked = mask_str(x->jr->run->o->mask, x->label_src);
	size_t n = strlen(masked), cut = 21;

	if (n > 24) {
		while (cut > 0 && ((unsigned char)masked[cut] & 0xC0) == 0x80)
			cut--;
		masked[cut] = '\0';
	}
	free(x->prefix);
	x->prefix = xasprintf("[%s/%s%s%s]", x->jr->in->label, x->sc->label, masked,
			      n > 24 ? "..." : "");
	free(masked);
}
