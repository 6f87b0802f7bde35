/*
 * run_inputs: what a `gantry run` is given besides its workflows:
 * secrets, variables and inputs from the command line and from NAME=VALUE
 * files, workflow_dispatch inputs checked against their declarations, and
 * the files a push changed (for paths: filters).
 */
#include "run_inputs.h"

#include "../lib/buf.h"
#include "../lib/fs.h"
#include "../lib/jsonx.h"
#include "../lib/strv.h"
#include "../lib/util.h"
#include "../workflows/expr.h"

#include <stdlib.h>
#include <string.h>

/* NAME=VALUE lines; '#' comments, blank lines, optional quotes, "export ". */
int run_read_kv_file(json_t *obj, const char *path, struct err *e)
{
	struct buf b = BUF_INIT;
	int ret = -1;
	size_t lineno = 0;

	buf_init(&b, 16 << 20);
	if (fs_read_file(&b, path, e) < 0)
		goto done;
	for (char *l = b.ptr, *nl; l && *l; l = nl ? nl + 1 : NULL) {
		char *eq, *v, *end;

		nl = strchr(l, '\n');
		if (nl)
			*nl = '\0';
		lineno++;
		while (*l == ' ' || *l == '\t')
			l++;
		if (!*l || *l == '#')
			continue;
		if (!strncmp(l, "export ", 7))
			l += 7;
		eq = strchr(l, '=');
		if (!eq || eq == l) {
			err_set(e, ERR_SYNTAX, "%s:%zu: expected NAME=VALUE", path, lineno);
			goto done;
		}
		*eq = '\0';
		v = eq + 1;
		end = v + strlen(v);
		/* blanks around a value are not part of it (a shell would drop
		 * them, and a secret printed without them would not be masked) */
		while (end > v && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		while (*v == ' ' || *v == '\t')
			v++;
		if (end - v >= 2 && (*v == '"' || *v == '\'') && end[-1] == *v) {
			v++;
			*--end = '\0';
		}
		jsonx_set_str(obj, l, v);
	}
	ret = 0;
done:
	buf_release(&b);
	return ret;
}

int run_add_pair(json_t *obj, const char *arg, const char *what, bool from_env,
		    struct err *e)
{
	const char *eq = strchr(arg, '=');
	char *name;

	if (!eq && from_env) {
		const char *v = getenv(arg);

		if (!v)
			return err_set(e, ERR_INVALID,
				       "%s %s: no =VALUE given and no environment variable %s",
				       what, arg, arg);
		jsonx_set_str(obj, arg, v);
		return 0;
	}
	if (!eq || eq == arg)
		return err_set(e, ERR_INVALID, "%s '%s': expected NAME=VALUE", what, arg);
	name = xstrndup(arg, (size_t)(eq - arg));
	jsonx_set_str(obj, name, eq + 1);
	free(name);
	return 0;
}

/* workflow_dispatch inputs: check what was given against the declared
 * inputs and fill defaults; booleans and numbers keep their type. */
int run_dispatch_inputs(json_t **out, const struct workflow *wf, json_t *given,
			   struct err *e)
{
	json_t *in = json_object();
	const char *k;
	json_t *v;

	json_object_foreach(given, k, v) {
		bool known = false;

		for (size_t i = 0; i < wf->n_dispatch_inputs; i++)
			if (!strcmp(wf->dispatch_inputs[i].name, k))
				known = true;
		if (!known && wf->n_dispatch_inputs) {
			json_decref(in);
			return err_set(e, ERR_INVALID, "--input %s: %s declares no such "
				       "workflow_dispatch input", k, wf->path);
		}
		json_object_set(in, k, v);
	}
	for (size_t i = 0; i < wf->n_dispatch_inputs; i++) {
		const struct wf_input *d = &wf->dispatch_inputs[i];
		const char *type = d->type ? d->type : "string";
		const char *s = jsonx_str(given, d->name);
		char *def = NULL;

		if (!s && d->default_ && !yml_is_null(d->default_) &&
		    d->default_->kind == YML_SCALAR)
			s = def = xstrdup(d->default_->str);
		if (!s) {
			if (d->required) {
				json_decref(in);
				return err_set(e, ERR_INVALID,
					       "input '%s' is required: pass --input %s=VALUE",
					       d->name, d->name);
			}
			s = "";
		}
		if (!strcmp(type, "boolean")) {
			if (*s && strcmp(s, "true") && strcmp(s, "false")) {
				free(def);
				json_decref(in);
				return err_set(e, ERR_INVALID, "input '%s' must be true or false",
					       d->name);
			}
			json_object_set_new(in, d->name, json_boolean(!strcmp(s, "true")));
		} else if (!strcmp(type, "number")) {
			char *end;
			double n = strtod(s, &end);

			if (*s && *end) {
				free(def);
				json_decref(in);
				return err_set(e, ERR_INVALID, "input '%s' must be a number", d->name);
			}
			json_object_set_new(in, d->name, n == (double)(json_int_t)n ?
					    json_integer((json_int_t)n) : json_real(n));
		} else {
			if (!strcmp(type, "choice") && d->options && d->options->kind == YML_SEQ &&
			    *s) {
				bool ok = false;

				for (size_t k2 = 0; k2 < d->options->n_items; k2++)
					if (!strcmp(d->options->items[k2]->str, s))
						ok = true;
				if (!ok) {
					free(def);
					json_decref(in);
					return err_set(e, ERR_INVALID,
						       "input '%s' must be one of its options", d->name);
				}
			}
			jsonx_set_str(in, d->name, s);
		}
		free(def);
	}
	*out = in;
	return 0;
}

/*
 * The files a push changed, from its payload's commits (added, modified,
 * removed; GitHub and Gitea list them, gantry agent translates GitLab's):
 * unknown (*known false) when the payload lists no commits, as for a
 * push of a tag, so that path filters let the workflow run, as GitHub
 * does when it cannot tell.
 */
void run_event_paths(struct strv *out, bool *known, const json_t *event)
{
	static const char *const kinds[] = { "added", "modified", "removed" };
	json_t *commits = json_object_get(event, "commits"), *c, *p;
	size_t i, k;

	*known = json_is_array(commits) && json_array_size(commits) > 0;
	json_array_foreach(commits, i, c) {
		for (size_t j = 0; j < ARRAY_SIZE(kinds); j++) {
			json_array_foreach(json_object_get(c, kinds[j]), k, p) {
				if (json_is_string(p))
					strv_push(out, json_string_value(p));
			}
		}
	}
}

