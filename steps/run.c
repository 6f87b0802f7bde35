/*
 * run: a step with a script. The script is written to a file in
 * RUNNER_TEMP and started with the step's shell, as GitHub's runner does:
 * bash --noprofile --norc -eo pipefail {0}, sh -e {0}, python {0}, or a
 * custom command with {0}.
 */
#include "step.h"
#include "../lib/buf.h"
#include "../lib/fs.h"
#include "../lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Rewrite the job's script file in place: written over from the start,
 * then cut to length. Not O_TRUNC: ext4 flushes a file truncated to zero
 * and rewritten when it is closed (auto_da_alloc), which costs more than
 * the step on a slow disk. */
/* Rewrite the job's script file in place: written over from the start,
 * then cut to length. Not O_TRUNC: ext4 flushes a file truncated to zero
 * and rewritten when it is closed (auto_da_alloc), which costs more than
 * the step on a slow disk. The folder is writable by the steps, and this
 * runs outside the sandbox with gantry's rights: the file is opened through
 * the folder's descriptor without following a link, and replaced when it
 * is not a plain file of one link. */
static int write_script(int dirfd, const char *name, const char *script,
			struct err *e)
{
	size_t len = strlen(script);
	struct stat st;
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK |
			O_CLOEXEC, 0700);

	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1)) {
		close(fd);
		fd = -1;
		errno = ELOOP;
	}
	if (fd < 0 && (errno == ELOOP || errno == ENXIO || errno == EISDIR)) {
		unlinkat(dirfd, name, 0);
		unlinkat(dirfd, name, AT_REMOVEDIR);
		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
			    O_CLOEXEC, 0700);
	}
	if (fd < 0)
		return err_sys(e, ERR_IO, "cannot write the step's script %s", name);
	if (fs_write_all(fd, script, len) < 0 || ftruncate(fd, (off_t)len) < 0 ||
	    fchmod(fd, 0700) < 0) {
		err_sys(e, ERR_IO, "cannot write the step's script %s", name);
		close(fd);
		return -1;
	}
	if (close(fd) < 0)
		return err_sys(e, ERR_IO, "cannot write the step's script %s", name);
	return 0;
}

/* The step's working folder: working-directory, else defaults, else the
 * workspace; relative folders are under the workspace. Caller frees. */
static int run_workdir(char **out, struct step_ctx *c, struct err *e)
{
	const struct yml_node *wd = c->step->working_directory;
	char *dir = NULL;
	int r;

	if (wd && wd->kind == YML_SCALAR && !yml_is_null(wd)) {
		r = expr_interpolate(&dir, wd->str, c->xenv, e);
		if (r < 0)
			return err_wrap(e, "working-directory");
	} else if (c->workdir_default) {
		dir = xstrdup(c->workdir_default);
	}
	if (!dir || !*dir) {
		free(dir);
		*out = xstrdup(c->workspace);
		return 0;
	}
	*out = fs_join(c->workspace, dir);
	free(dir);
	return 0;
}

static const char *run_shell(struct step_ctx *c)
{
	const struct yml_node *sh = c->step->shell;

	if (sh && sh->kind == YML_SCALAR && !yml_is_null(sh))
		return sh->str;
	return c->shell_default;
}

/* Build the argv for script file path; python falls back to python3. */
static int run_argv(struct strv *argv, struct step_ctx *c, const char *script,
		    const char **ext, struct err *e)
{
	if (steps_shell_argv(argv, run_shell(c), script, c->path_env, ext, e) < 0)
		return -1;
	if (!strcmp(argv->v[0], "python")) {
		char *py = fs_which("python", c->path_env);

		if (!py) {
			free(argv->v[0]);
			argv->v[0] = xstrdup("python3");
		}
		free(py);
	}
	return 0;
}

static int run_script(char **out, struct step_ctx *c, struct err *e)
{
	const struct yml_node *run = c->step->run;
	int r;

	if (!run || run->kind != YML_SCALAR)
		return err_set(e, ERR_INVALID, "step has no run: script");
	r = expr_interpolate(out, run->str, c->xenv, e);
	if (r < 0)
		return err_wrap(e, "run");
	return r;
}

static int run_plan(struct step_ctx *c, struct err *e)
{
	struct strv argv = STRV_INIT;
	struct buf line = BUF_INIT;
	char *script = NULL, *dir = NULL;
	const char *ext;
	int ret = -1;

	if (run_script(&script, c, e) < 0 || run_workdir(&dir, c, e) < 0)
		goto done;
	if (run_argv(&argv, c, "{0}", &ext, e) < 0)
		goto done;
	/* one block: the host prints it indented under the step */
	buf_adds(&line, "shell:");
	for (size_t i = 0; i < argv.n; i++)
		buf_printf(&line, " %s", argv.v[i]);
	buf_printf(&line, "\nworking-directory: %s\nscript:", dir);
	for (char *p = script, *nl; p && *p; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		buf_adds(&line, "\n  | ");
		buf_add(&line, p, nl ? (size_t)(nl - p) : strlen(p));
	}
	c->host->plan(c->host_ud, line.ptr);
	ret = 0;
done:
	strv_release(&argv);
	buf_release(&line);
	free(script);
	free(dir);
	return ret;
}

static int run_run(struct step_ctx *c, struct err *e)
{
	struct strv argv = STRV_INIT;
	struct sbx_result res;
	char *script = NULL, *dir = NULL, *path = NULL;
	const char *ext;
	int ret = -1;

	if (run_script(&script, c, e) < 0 || run_workdir(&dir, c, e) < 0)
		goto done;
	if (!fs_is_dir(dir)) {
		err_set(e, ERR_NOT_FOUND,
			"working-directory %s does not exist", dir);
		goto done;
	}
	/* the extension depends on the shell: find it before naming the file */
	if (run_argv(&argv, c, "", &ext, e) < 0)
		goto done;
	strv_release(&argv);
	/* one script file per job, rewritten for each step: steps of a job
	 * run one at a time, and a new file per step costs more than the
	 * step on a slow disk */
	{
		char *name = xasprintf("gantry-step%s", ext);
		int r = write_script(c->script_dirfd, name, script, e);

		path = xasprintf("%s/%s", c->script_dir, name);
		free(name);
		if (r < 0)
			goto done;
	}
	if (run_argv(&argv, c, path, &ext, e) < 0)
		goto done;
	if (c->host->spawn(c->host_ud, c, (const char *const *)argv.v, dir,
			   &res, e) < 0)
		goto done;
	c->exit_code = res.exit_code;
	if (res.cancelled)
		c->outcome = STEP_CANCELLED;
	else
		c->outcome = res.exit_code == 0 ? STEP_SUCCESS : STEP_FAILURE;
	ret = 0;
done:
	strv_release(&argv);
	free(script);
	free(dir);
	free(path);
	return ret;
}

const struct step_type step_type_run = {
	.name = "run",
	.plan = run_plan,
	.run = run_run,
};
