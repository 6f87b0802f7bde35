/*
 * validate_on: the checks of a workflow's on: section (events and their
 * filters, schedule and cron lines, workflow_dispatch and workflow_call
 * inputs, workflow_call secrets and outputs). Part of validate: wfv_check()
 * calls val_check_on(), and the helpers come from validate.c through
 * validate.h.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "validate.h"

static const struct val_place
	P_CALL_DEFAULT = { S_WF, "on.workflow_call.inputs.<inputs_id>.default",
			   false },
	P_CALL_OUT = { C_GITHUB | C_JOBS | C_VARS | C_INPUTS,
		       "on.workflow_call.outputs.<output_id>.value", false };

/* Every event GitHub can start a workflow with. */
static const char *const events[] = {
	"branch_protection_rule", "check_run", "check_suite", "create",
	"delete", "deployment", "deployment_status", "discussion",
	"discussion_comment", "fork", "gollum", "image_version",
	"issue_comment", "issues", "label", "merge_group", "milestone",
	"page_build", "project", "project_card", "project_column", "public",
	"pull_request", "pull_request_review", "pull_request_review_comment",
	"pull_request_target", "push", "registry_package", "release",
	"repository_dispatch", "schedule", "status", "watch", "workflow_call",
	"workflow_dispatch", "workflow_run", NULL,
};

static const char *const push_keys[] = {
	"branches", "branches-ignore", "tags", "tags-ignore", "paths",
	"paths-ignore", NULL,
};
static const char *const pr_keys[] = {
	"branches", "branches-ignore", "paths", "paths-ignore", "types", NULL,
};
static const char *const run_keys[] = {
	"workflows", "types", "branches", "branches-ignore", NULL,
};
static const char *const dispatch_keys[] = { "inputs", NULL };
static const char *const call_keys[] = {
	"inputs", "outputs", "secrets", NULL,
};
static const char *const types_keys[] = { "types", NULL };

/* Cron fields: name, range, names for 1.. (months) or 0.. (weekdays). */
struct cron_field {
	const char *name;
	int lo, hi;
	const char *const *names;
	int names_base;
};

static const char *const cron_months[] = {
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
	"nov", "dec", NULL,
};
static const char *const cron_days[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL,
};
static const struct cron_field cron_fields[5] = {
	{ "minute", 0, 59, NULL, 0 },
	{ "hour", 0, 23, NULL, 0 },
	{ "day of month", 1, 31, NULL, 0 },
	{ "month", 1, 12, cron_months, 1 },
	{ "day of week", 0, 6, cron_days, 0 },
};

/* value := DIGITS | NAME; reads one from s[*i..len). */
static int cron_value(const char *s, size_t len, size_t *i,
		      const struct cron_field *f, int *out)
{
	size_t k, start = *i;
	long n = 0;

	if (*i < len && s[*i] >= '0' && s[*i] <= '9') {
		while (*i < len && s[*i] >= '0' && s[*i] <= '9' && n < 1000)
			n = n * 10 + (s[(*i)++] - '0');
		*out = (int)n;
		return (n >= f->lo && n <= f->hi) ? 0 : -1;
	}
	for (k = 0; f->names && f->names[k]; k++) {
		if (len - start >= 3 &&
		    !strncasecmp(s + start, f->names[k], 3)) {
			*i = start + 3;
			*out = (int)k + f->names_base;
			return 0;
		}
	}
	return -1;
}

/* item := ( '*' | value ( '-' value )? ) ( '/' DIGITS )? */
static int cron_item(const char *s, size_t len, const struct cron_field *f)
{
	size_t i = 0;
	int a, b, step;

	if (len == 0)
		return -1;
	if (s[0] == '*') {
		i = 1;
	} else {
		if (cron_value(s, len, &i, f, &a))
			return -1;
		if (i < len && s[i] == '-') {
			i++;
			if (cron_value(s, len, &i, f, &b) || b < a)
				return -1;
		}
	}
	if (i < len && s[i] == '/') {
		struct cron_field st = { f->name, 1, 1000, NULL, 0 };

		i++;
		if (cron_value(s, len, &i, &st, &step))
			return -1;
	}
	return i == len ? 0 : -1;
}

/* cron := field{5} separated by blanks; field := item ( ',' item )* */
static void check_cron(struct val_state *v, const struct yml_node *n)
{
	const char *s, *p;
	size_t nf = 0, fl[5];
	const char *fs[5];

	if (!val_is_str(n)) {
		val_bad_type(v, n, "cron", "a string");
		return;
	}
	s = n->str;
	for (p = s; *p;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (nf < 5) {
			fs[nf] = p;
			fl[nf] = strcspn(p, " \t");
		}
		nf++;
		p += strcspn(p, " \t");
	}
	if (nf != 5) {
		val_diag(v, n, "cron '%s' must have 5 fields (minute hour "
			 "day-of-month month day-of-week), not %zu", s, nf);
		return;
	}
	for (nf = 0; nf < 5; nf++) {
		const char *f = fs[nf];
		size_t off = 0;
		bool ok = true;

		while (off <= fl[nf] && ok) {
			size_t il = strcspn(f + off, ", \t");

			if (off + il > fl[nf])
				il = fl[nf] - off;
			ok = cron_item(f + off, il, &cron_fields[nf]) == 0;
			off += il + 1;
		}
		if (!ok) {
			val_diag(v, n, "cron '%s': bad %s field '%.*s' "
				 "(%d-%d)", s, cron_fields[nf].name,
				 (int)fl[nf], f,
				 cron_fields[nf].lo, cron_fields[nf].hi);
			return;
		}
	}
}

static void check_schedule(struct val_state *v, const struct yml_node *n)
{
	static const char *const keys[] = { "cron", NULL };
	size_t i;

	if (n->kind != YML_SEQ) {
		val_diag(v, n, "'schedule' must be a sequence of {cron: ...}, "
			 "not %s", val_kind(n));
		return;
	}
	for (i = 0; i < n->n_items; i++) {
		const struct yml_node *it = n->items[i];

		if (it->kind != YML_MAP) {
			val_diag(v, it, "items of 'schedule' must be mappings "
				 "with a cron, not %s", val_kind(it));
			continue;
		}
		val_check_keys(v, it, keys, "in 'schedule'");
		if (!yml_get(it, "cron"))
			val_diag(v, it, "schedule entry has no cron");
		else
			check_cron(v, yml_get(it, "cron"));
	}
}

static const char *const dispatch_types[] = {
	"string", "boolean", "number", "choice", "environment", NULL,
};
static const char *const call_types[] = {
	"boolean", "number", "string", NULL,
};

/* on.workflow_dispatch.inputs and on.workflow_call.inputs */
static void check_inputs(struct val_state *v, const struct yml_node *n,
			 bool call)
{
	static const char *const dkeys[] = {
		"description", "required", "default", "type", "options", NULL,
	};
	static const char *const ckeys[] = {
		"description", "required", "default", "type", NULL,
	};
	const char *const *types = call ? call_types : dispatch_types;
	size_t i;

	if (!n || yml_is_null(n))
		return;
	if (n->kind != YML_MAP) {
		val_bad_type(v, n, "inputs", "a mapping");
		return;
	}
	for (i = 0; i < n->n_pairs; i++) {
		const struct yml_node *k = n->pairs[i].key, *in = n->pairs[i].val;
		const struct yml_node *t, *req;
		bool b;

		if (!wfv_is_id(k->str))
			val_diag(v, k, "input name '%s' must start with a "
				 "letter or '_' and contain only letters, "
				 "digits, '-' and '_'", k->str);
		if (in->kind != YML_MAP) {
			if (call || !yml_is_null(in))
				val_diag(v, in, "input '%s' must be a "
					 "mapping, not %s", k->str,
					 val_kind(in));
			continue;
		}
		val_check_keys(v, in, call ? ckeys : dkeys, "in an input");
		val_check_str(v, yml_get(in, "description"), "description",
			      NULL);
		req = yml_get(in, "required");
		if (req && (req->kind != YML_SCALAR || yml_bool(req, &b)))
			val_bad_type(v, req, "required", "a boolean");
		t = yml_get(in, "type");
		if (!t && call)
			val_diag(v, k, "input '%s' has no type (boolean, "
				 "number or string)", k->str);
		else if (t && (!val_is_str(t) || !val_in_list(t->str, types)))
			val_diag(v, t, "input '%s' has type '%s'; use %s",
				 k->str, t->kind == YML_SCALAR ? t->str :
				 val_kind(t), call ?
				 "boolean, number or string" :
				 "string, boolean, number, choice or "
				 "environment");
		else if (t && !strcmp(t->str, "choice") &&
			 !yml_get(in, "options"))
			val_diag(v, t, "input '%s' of type choice needs "
				 "options", k->str);
		if (call) {
			if (yml_get(in, "default") &&
			    yml_get(in, "default")->kind != YML_SCALAR)
				val_bad_type(v, yml_get(in, "default"),
					     "default",
					     "a string, number or boolean");
			else
				val_check_tmpl(v, yml_get(in, "default"),
					       &P_CALL_DEFAULT);
		} else {
			val_check_str(v, yml_get(in, "default"), "default",
				      NULL);
			val_check_str_seq(v, yml_get(in, "options"), "options",
					  NULL);
		}
	}
}

static void check_call_secrets(struct val_state *v, const struct yml_node *n)
{
	static const char *const keys[] = { "description", "required", NULL };
	size_t i;

	if (!n || yml_is_null(n))
		return;
	if (n->kind != YML_MAP) {
		val_bad_type(v, n, "secrets", "a mapping");
		return;
	}
	for (i = 0; i < n->n_pairs; i++) {
		const struct yml_node *s = n->pairs[i].val, *req;
		bool b;

		if (yml_is_null(s))
			continue;
		if (s->kind != YML_MAP) {
			val_diag(v, s, "secret '%s' must be a mapping, not %s",
				 n->pairs[i].key->str, val_kind(s));
			continue;
		}
		val_check_keys(v, s, keys, "in a secret");
		val_check_str(v, yml_get(s, "description"), "description",
			      NULL);
		req = yml_get(s, "required");
		if (req && (req->kind != YML_SCALAR || yml_bool(req, &b)))
			val_bad_type(v, req, "required", "a boolean");
	}
}

static void check_call_outputs(struct val_state *v, const struct yml_node *n)
{
	static const char *const keys[] = { "description", "value", NULL };
	size_t i;

	if (!n || yml_is_null(n))
		return;
	if (n->kind != YML_MAP) {
		val_bad_type(v, n, "outputs", "a mapping");
		return;
	}
	for (i = 0; i < n->n_pairs; i++) {
		const struct yml_node *k = n->pairs[i].key, *o = n->pairs[i].val;

		if (o->kind != YML_MAP) {
			val_diag(v, o, "output '%s' must be a mapping, not %s",
				 k->str, val_kind(o));
			continue;
		}
		val_check_keys(v, o, keys, "in an output");
		val_check_str(v, yml_get(o, "description"), "description",
			      NULL);
		if (!yml_get(o, "value"))
			val_diag(v, k, "output '%s' has no value", k->str);
		val_check_str(v, yml_get(o, "value"), "value", &P_CALL_OUT);
	}
}

/* Filters that cannot be used together on one event. */
static void check_exclusive(struct val_state *v, const struct yml_node *cfg,
			    const char *a, const char *b)
{
	if (yml_get(cfg, a) && yml_get(cfg, b))
		val_diag(v, yml_get_key(cfg, b), "'%s' and '%s' cannot both be "
			 "set for one event", a, b);
}

static void check_event(struct val_state *v, const struct yml_node *key,
			const struct yml_node *cfg)
{
	const char *ev = key->str;
	const char *const *keys = types_keys;
	char where[96];
	size_t i;

	if (!strcmp(ev, "schedule")) {
		check_schedule(v, cfg);
		return;
	}
	if (!cfg || yml_is_null(cfg))
		return;
	if (cfg->kind != YML_MAP) {
		val_diag(v, cfg, "'on.%s' must be a mapping, not %s", ev,
			 val_kind(cfg));
		return;
	}
	if (!strcmp(ev, "push"))
		keys = push_keys;
	else if (!strcmp(ev, "pull_request") ||
		 !strcmp(ev, "pull_request_target"))
		keys = pr_keys;
	else if (!strcmp(ev, "workflow_run"))
		keys = run_keys;
	else if (!strcmp(ev, "workflow_dispatch"))
		keys = dispatch_keys;
	else if (!strcmp(ev, "workflow_call"))
		keys = call_keys;
	snprintf(where, sizeof(where), "in 'on.%.60s'", ev);
	val_check_keys(v, cfg, keys, where);
	for (i = 0; i < cfg->n_pairs; i++) {
		const char *k = cfg->pairs[i].key->str;

		if (strcmp(k, "inputs") && strcmp(k, "outputs") &&
		    strcmp(k, "secrets") && val_in_list(k, keys))
			val_check_str_seq(v, cfg->pairs[i].val, k, NULL);
	}
	check_exclusive(v, cfg, "branches", "branches-ignore");
	check_exclusive(v, cfg, "tags", "tags-ignore");
	check_exclusive(v, cfg, "paths", "paths-ignore");
	if (keys == dispatch_keys || keys == call_keys)
		check_inputs(v, yml_get(cfg, "inputs"), keys == call_keys);
	if (keys == call_keys) {
		check_call_secrets(v, yml_get(cfg, "secrets"));
		check_call_outputs(v, yml_get(cfg, "outputs"));
	}
}

static bool check_event_name(struct val_state *v, const struct yml_node *n)
{
	if (!val_is_str(n)) {
		val_diag(v, n, "an event name must be a string, not %s",
			 val_kind(n));
		return false;
	}
	if (val_in_list(n->str, events))
		return true;
	val_unknown(v, n, "event", "", events);
	return false;
}

void val_check_on(struct val_state *v, const struct yml_node *on)
{
	size_t i;

	if (on->kind == YML_SCALAR) {
		if (check_event_name(v, on) && !strcmp(on->str, "schedule"))
			check_schedule(v, on);
	} else if (on->kind == YML_SEQ) {
		if (on->n_items == 0)
			val_diag(v, on, "'on' lists no events");
		for (i = 0; i < on->n_items; i++)
			if (check_event_name(v, on->items[i]) &&
			    !strcmp(on->items[i]->str, "schedule"))
				check_schedule(v, on->items[i]);
	} else {
		if (on->n_pairs == 0)
			val_diag(v, on, "'on' lists no events");
		for (i = 0; i < on->n_pairs; i++)
			if (check_event_name(v, on->pairs[i].key))
				check_event(v, on->pairs[i].key,
					    on->pairs[i].val);
	}
}
