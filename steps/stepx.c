/*
 * stepx: helpers of built-in step types (see stepx.h).
 */
#include "stepx.h"
#include "../lib/buf.h"
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
