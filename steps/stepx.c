/*
 * stepx: helpers of built-in step types (see stepx.h).
 */
#include "stepx.h"
#include "../lib/buf.h"
#include "../lib/fs.h"
#include "../lib/jsonx.h"
#include "../lib/util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void stepx_say(struct step_ctx *c, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (c->dry_run)
		c->host->plan(c->host_ud, b.ptr);
	else
		c->host->info(c->host_ud, b.ptr);
	buf_release(&b);
}

int stepx_input(char **out, struct step_ctx *c, const char *name,
		const char *def, struct err *e)
{
	const struct yml_node *w = c->step->with;
	const struct yml_node *v = w && w->kind == YML_MAP ? yml_get(w, name) : NULL;
	char *s = NULL;

	*out = NULL;
	if (v && v->kind == YML_SCALAR && !yml_is_null(v)) {
		if (expr_interpolate(&s, v->str, c->xenv, e) < 0)
			return err_wrap(e, "input '%s'", name);
		if (*s) {
			*out = s;
			return 0;
		}
		free(s);
	}
	*out = def ? xstrdup(def) : NULL;
	return 0;
}

bool stepx_truthy(const char *s, bool def)
{
	if (!s || !*s)
		return def;
	return !str_casecmp(s, "true");
}

void stepx_check_inputs(struct step_ctx *c, const char *const *known,
			const char *action)
{
	const struct yml_node *w = c->step->with;

	for (size_t i = 0; w && w->kind == YML_MAP && i < w->n_pairs; i++) {
		bool found = false;

		for (const char *const *k = known; *k; k++)
			if (!strcmp(*k, w->pairs[i].key->str))
				found = true;
		if (!found)
			stepx_say(c, "warning: unexpected input '%s': %s has no "
				  "such input", w->pairs[i].key->str, action);
	}
}

const char *stepx_github(struct step_ctx *c, const char *key)
{
	return jsonx_str(json_object_get(c->xenv->contexts, "github"), key);
}

bool stepx_inside_job(struct step_ctx *c, const char *path)
{
	char *p = path[0] == '/' ? xstrdup(path) : fs_join(c->workspace, path);
	char *ws = fs_realpath(c->workspace);
	char *tmp = c->runner_temp ? fs_realpath(c->runner_temp) : NULL;
	bool ok = (ws && fs_inside(ws, p)) || (tmp && fs_inside(tmp, p));

	free(p);
	free(ws);
	free(tmp);
	return ok;
}

void stepx_aws_env(struct strv *out, struct step_ctx *c)
{
	static const char *const files[] = {
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
		"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
	};

	for (size_t i = 0; c->envp && i < c->envp->n; i++)
		strv_push(out, c->envp->v[i]);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		const char *v = strv_getenv(out, files[i]);

		if (v && *v && !stepx_inside_job(c, v)) {
			stepx_say(c, "warning: %s=%s is outside the job's folders: "
				  "not used", files[i], v);
			v = NULL;
		}
		if (!v || !*v)
			strv_setenv(out, files[i], i >= 2 ? "/dev/null" : "");
	}
}
