/*
 * The step-type table: every built-in step type, in one list.
 */
#include "step.h"
#include "../lib/util.h"
#include "../lib/fs.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const struct step_type *const step_types[] = {
	&step_type_composite,
	&step_type_checkout,
	&step_type_aws_creds,
	&step_type_upload_artifact,
	&step_type_download_artifact,
	&step_type_s3sync,
};

/* "owner/name@ref" without "@ref", compared case-insensitively. */
static bool name_matches(const char *uses, const char *name)
{
	size_t n = strlen(name);

	return !strncasecmp(uses, name, n) && (uses[n] == '@' || !uses[n]);
}

const struct step_type *steps_find(const char *uses)
{
	if (!uses)
		return &step_type_run;
	for (size_t i = 0; i < ARRAY_SIZE(step_types); i++) {
		const struct step_type *t = step_types[i];

		if (t->matches && t->matches(uses))
			return t;
		if (name_matches(uses, t->name))
			return t;
		for (const char *const *a = t->aliases; a && *a; a++)
			if (name_matches(uses, *a))
				return t;
	}
	return NULL;
}

const char *const *steps_names(void)
{
	static const char *names[64];

	if (!names[0]) {
		size_t k = 0;

		for (size_t i = 0; i < ARRAY_SIZE(step_types) && k < 62; i++) {
			if (!step_types[i]->matches)
				names[k++] = step_types[i]->name;
			for (const char *const *a = step_types[i]->aliases;
			     a && *a && k < 62; a++)
				names[k++] = *a;
		}
		names[k] = NULL;
	}
	return names;
}

int steps_check_uses(const char *uses, const char *dir, void *ud,
		     struct err *e)
{
	const char *root = ud;
	const struct step_type *t;

	if (!strncmp(uses, "docker://", 9))
		return err_set(e, ERR_INVALID,
			       "'%s': docker:// actions need Docker, which gantry does not use; "
			       "run the tool in a run: step instead", uses);
	if (strstr(uses, ".github/workflows/")) {
		/* a job calling a reusable workflow */
		char *path, *at;
		int r = 0;

		if (strncmp(uses, "./", 2))
			return err_set(e, ERR_INVALID,
				       "'%s': reusable workflows from other repositories are not "
				       "supported yet; copy it into .github/workflows/", uses);
		path = fs_join(root ? root : dir, uses + 2);
		at = strchr(path, '@');
		if (at)
			*at = '\0';
		if (!fs_exists(path))
			r = err_set(e, ERR_NOT_FOUND, "'%s': no such workflow file (%s)", uses, path);
		free(path);
		return r;
	}
	t = steps_find(uses);
	if (!t) {
		struct buf b = BUF_INIT;
		const char *const *n = steps_names();

		buf_printf(&b, "'%s' is not a step type gantry knows: built in are local "
			   "composite actions (uses: ./path)", uses);
		for (; *n; n++)
			buf_printf(&b, ", %s", *n);
		err_set(e, ERR_NOT_FOUND, "%s", b.ptr);
		buf_release(&b);
		return -1;
	}
	if (t->validate)
		return t->validate(uses, root ? root : dir, e);
	return 0;
}

static const char *shell_script_ext(const char *shell)
{
	if (!strcmp(shell, "python"))
		return ".py";
	if (!strcmp(shell, "pwsh") || !strcmp(shell, "powershell"))
		return ".ps1";
	return ".sh";
}

/* Whether bash is on path: asked once per PATH value, since the answer is
 * the same for every step of a run and the lookup costs system calls. */
static bool have_bash(const char *path_env)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static char *cached_path;
	static bool cached;
	const char *p = path_env ? path_env : "";
	bool r;

	pthread_mutex_lock(&mu);
	if (!cached_path || strcmp(cached_path, p)) {
		char *bash = fs_which("bash", p);

		free(cached_path);
		cached_path = xstrdup(p);
		cached = bash != NULL;
		free(bash);
	}
	r = cached;
	pthread_mutex_unlock(&mu);
	return r;
}

int steps_shell_argv(struct strv *out, const char *shell, const char *script,
		     const char *path_env, const char **ext, struct err *e)
{
	const char *tmpl;

	if (!shell || !*shell) {
		bool have = have_bash(path_env);

		tmpl = have ? "bash -e {0}" : "sh -e {0}";
		shell = have ? "bash" : "sh";
	} else if (!strcmp(shell, "bash")) {
		tmpl = "bash --noprofile --norc -eo pipefail {0}";
	} else if (!strcmp(shell, "sh")) {
		tmpl = "sh -e {0}";
	} else if (!strcmp(shell, "python")) {
		tmpl = "python {0}";
	} else if (!strcmp(shell, "pwsh")) {
		tmpl = "pwsh -command \". '{0}'\"";
	} else if (!strcmp(shell, "cmd") || !strcmp(shell, "powershell")) {
		return err_set(e, ERR_INVALID,
			       "shell '%s' exists only on Windows runners", shell);
	} else if (strstr(shell, "{0}")) {
		tmpl = shell;
	} else {
		return err_set(e, ERR_INVALID,
			       "unknown shell '%s': use bash, sh, python, pwsh, or a "
			       "command with {0} where the script file goes", shell);
	}
	*ext = shell_script_ext(shell);
	/* split on blanks; a word may be quoted with ' or " */
	for (const char *p = tmpl; *p;) {
		struct buf w = BUF_INIT;
		char q = 0;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		for (; *p && (q || (*p != ' ' && *p != '\t')); p++) {
			if (!q && (*p == '\'' || *p == '"')) {
				q = *p;
				continue;
			}
			if (q && *p == q) {
				q = 0;
				continue;
			}
			if (!strncmp(p, "{0}", 3)) {
				buf_adds(&w, script);
				p += 2;
				continue;
			}
			buf_addch(&w, *p);
		}
		strv_push_owned(out, buf_detach(&w, NULL));
	}
	if (!out->n)
		return err_set(e, ERR_INVALID, "shell '%s' is empty", shell);
	return 0;
}
