/*
 * filter: on.<event> filters, GitHub's glob dialect and event rules.
 *
 * A pattern is compiled to a short list of tokens (a literal or a
 * character class, each optionally followed by '?' or '+', and the three
 * wildcards '*', '**' and '**' followed by '/'), then matched with a
 * dynamic programme over (token, position in the string): one pass per
 * token over a row of booleans, so time is O(tokens * length) and no
 * pattern can make it backtrack exponentially.
 *
 * Dialect choices where the cheat sheet is silent:
 *  - '**' directly followed by '/' also matches nothing at all (else
 *    it needs a run ending in '/'), so that the cheat sheet's examples
 *    hold: "README.md" matches '**' '/README.md', and "docs/README.md"
 *    matches 'docs/' '**' '/' '*.md' (written here in pieces);
 *  - '?' and '+' after a wildcard add nothing ('*?' is '*'); at the
 *    start of a pattern or after another '?'/'+' they are literal;
 *  - an unclosed '[' is a literal '['; inside brackets, 'a-z' style
 *    ranges and single characters only (no negation);
 *  - a trailing lone '\' is a literal backslash;
 *  - matching is case-sensitive.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/util.h"
#include "filter.h"

enum tok_kind {
	TOK_CHAR,	/* one literal byte */
	TOK_CLASS,	/* one byte from a [] set */
	TOK_STAR,	/* '*': any run without '/' */
	TOK_DSTAR,	/* '**': any run */
	TOK_DSTAR_DIR,	/* '**' + '/': nothing, or any run ending in '/' */
};

enum tok_rep { REP_ONE, REP_OPT, REP_PLUS };

struct tok {
	enum tok_kind kind;
	enum tok_rep rep;
	unsigned char c;
	unsigned char set[32];	/* TOK_CLASS: bitmap of bytes */
};

static void set_add(unsigned char *set, unsigned char c)
{
	set[c >> 3] |= (unsigned char)(1u << (c & 7));
}

static bool set_has(const unsigned char *set, unsigned char c)
{
	return set[c >> 3] & (1u << (c & 7));
}

/*
 * class := '[' ( char '-' char | char )+ ']'
 * Fills t and returns the length of the class in p (including both
 * brackets), or 0 when p does not start a closed class.
 */
static size_t parse_class(struct tok *t, const char *p)
{
	size_t i = 1;

	memset(t->set, 0, sizeof(t->set));
	if (p[i] == ']' || !p[i])
		return 0;
	while (p[i] && p[i] != ']') {
		unsigned char lo = (unsigned char)p[i];

		if (p[i + 1] == '-' && p[i + 2] && p[i + 2] != ']') {
			unsigned char hi = (unsigned char)p[i + 2];
			unsigned c;

			for (c = lo; c <= hi; c++)
				set_add(t->set, (unsigned char)c);
			i += 3;
		} else {
			set_add(t->set, lo);
			i++;
		}
	}
	if (p[i] != ']')
		return 0;
	t->kind = TOK_CLASS;
	return i + 1;
}

/*
 * pattern := ( atom [ '?' | '+' ] | '**' '/' | '**' | '*' )*
 * atom    := '\' char | class | char
 * Returns the token count; toks has room for strlen(p) tokens.
 */
static size_t compile(struct tok *toks, const char *p)
{
	size_t n = 0;

	while (*p) {
		struct tok *t = &toks[n];
		size_t len;

		memset(t, 0, sizeof(*t));
		if ((*p == '?' || *p == '+') && n > 0) {
			struct tok *prev = &toks[n - 1];

			if (prev->kind == TOK_STAR || prev->kind == TOK_DSTAR ||
			    prev->kind == TOK_DSTAR_DIR) {
				p++;
				continue;
			}
			if (prev->rep == REP_ONE) {
				prev->rep = *p == '?' ? REP_OPT : REP_PLUS;
				p++;
				continue;
			}
		}
		if (p[0] == '*' && p[1] == '*') {
			t->kind = p[2] == '/' ? TOK_DSTAR_DIR : TOK_DSTAR;
			p += p[2] == '/' ? 3 : 2;
		} else if (*p == '*') {
			t->kind = TOK_STAR;
			p++;
		} else if (*p == '\\' && p[1]) {
			t->kind = TOK_CHAR;
			t->c = (unsigned char)p[1];
			p += 2;
		} else if (*p == '[' && (len = parse_class(t, p)) > 0) {
			p += len;
		} else {
			t->kind = TOK_CHAR;
			t->c = (unsigned char)*p++;
		}
		n++;
	}
	return n;
}

static bool tok_takes(const struct tok *t, unsigned char c)
{
	return t->kind == TOK_CHAR ? t->c == c : set_has(t->set, c);
}

/* next[] from cur[]: the string positions reachable after token t. */
static void step(const struct tok *t, const unsigned char *s, size_t len,
		 const bool *cur, bool *next)
{
	bool any = false, before = false;
	size_t j;

	memset(next, 0, (len + 1) * sizeof(*next));
	switch (t->kind) {
	case TOK_CHAR:
	case TOK_CLASS:
		for (j = 0; j <= len; j++) {
			if (t->rep == REP_OPT && cur[j])
				next[j] = true;
			if (j == len || !tok_takes(t, s[j]))
				continue;
			/* with '+', next[j] already means "took one or more" */
			if (cur[j] || (t->rep == REP_PLUS && next[j]))
				next[j + 1] = true;
		}
		break;
	case TOK_STAR:
		for (j = 0; j <= len; j++) {
			if (cur[j])
				next[j] = true;
			if (j < len && next[j] && s[j] != '/')
				next[j + 1] = true;
		}
		break;
	case TOK_DSTAR:
		for (j = 0; j <= len; j++) {
			any = any || cur[j];
			next[j] = any;
		}
		break;
	case TOK_DSTAR_DIR:
		/* nothing, or at least one byte then a '/' */
		for (j = 0; j <= len; j++) {
			if (cur[j])
				next[j] = true;
			if (j >= 2 && s[j - 1] == '/' && before)
				next[j] = true;
			if (j >= 1)
				before = before || cur[j - 1];
		}
		break;
	}
}

bool filter_glob(const char *pattern, const char *s)
{
	size_t plen = strlen(pattern), len = strlen(s), n, i;
	struct tok *toks = xcalloc(plen + 1, sizeof(*toks));
	bool *cur = xcalloc(len + 1, sizeof(bool));
	bool *next = xcalloc(len + 1, sizeof(bool)), *tmp;
	bool ok;

	n = compile(toks, pattern);
	cur[0] = true;
	for (i = 0; i < n; i++) {
		step(&toks[i], (const unsigned char *)s, len, cur, next);
		tmp = cur;
		cur = next;
		next = tmp;
	}
	ok = cur[len];
	free(toks);
	free(cur);
	free(next);
	return ok;
}

bool filter_list(const char *const *patterns, size_t n, const char *s)
{
	bool in = false;
	size_t i;

	for (i = 0; i < n; i++) {
		const char *p = patterns[i];
		bool neg = p[0] == '!';

		if (filter_glob(neg ? p + 1 : p, s))
			in = !neg;
	}
	return in;
}

/* The patterns under key in an event's mapping: a sequence of scalars or
 * one scalar. Returns false when the key is absent; *out (borrowed
 * strings, caller frees the array) may then hold 0 entries. */
static bool patterns_of(const struct yml_node *config, const char *key,
			const char ***out, size_t *n)
{
	const struct yml_node *node = config ? yml_get(config, key) : NULL;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!node)
		return false;
	if (node->kind == YML_SCALAR) {
		if (yml_is_null(node))
			return false;
		*out = xmalloc(sizeof(**out));
		(*out)[(*n)++] = node->str;
		return true;
	}
	if (node->kind != YML_SEQ)
		return true;
	*out = xcalloc(node->n_items + 1, sizeof(**out));
	for (i = 0; i < node->n_items; i++) {
		if (node->items[i]->kind == YML_SCALAR)
			(*out)[(*n)++] = node->items[i]->str;
	}
	return true;
}

/*
 * A name against key (include list) and key-ignore (exclude list).
 * *defined says whether either is present. name NULL (unknown) passes.
 */
static bool names_pass(const struct yml_node *config, const char *key,
		       const char *name, bool *defined)
{
	const char **pats;
	size_t n;
	char ignore[64];
	bool ok = true;

	snprintf(ignore, sizeof(ignore), "%s-ignore", key);
	*defined = false;
	if (patterns_of(config, key, &pats, &n)) {
		*defined = true;
		if (name)
			ok = filter_list(pats, n, name);
		free(pats);
	}
	if (patterns_of(config, ignore, &pats, &n)) {
		*defined = true;
		if (name && ok)
			ok = !filter_list(pats, n, name);
		free(pats);
	}
	return ok;
}

/* paths: some changed file is included; paths-ignore: some changed file
 * is not ignored. Unknown changes (NULL) pass. */
static bool paths_pass(const struct yml_node *config,
		       const struct filter_event *ev)
{
	const char **pats;
	size_t n, i;
	bool ok = true, hit;

	if (!ev->paths)
		return true;
	if (patterns_of(config, "paths", &pats, &n)) {
		for (hit = false, i = 0; i < ev->n_paths && !hit; i++)
			hit = filter_list(pats, n, ev->paths[i]);
		ok = hit;
		free(pats);
	}
	if (patterns_of(config, "paths-ignore", &pats, &n)) {
		for (hit = false, i = 0; i < ev->n_paths && !hit; i++)
			hit = !filter_list(pats, n, ev->paths[i]);
		ok = ok && hit;
		free(pats);
	}
	return ok;
}

/* types: the action must be listed; without types, pull_request and
 * pull_request_target take only opened, synchronize and reopened.
 * An unknown action (NULL) passes. */
static bool types_pass(const struct yml_node *config,
		       const struct filter_event *ev)
{
	static const char *const pr_default[] = {
		"opened", "synchronize", "reopened",
	};
	const char **pats;
	size_t n, i;
	bool ok = false;

	if (!ev->action)
		return true;
	if (patterns_of(config, "types", &pats, &n)) {
		for (i = 0; i < n && !ok; i++)
			ok = strcmp(pats[i], ev->action) == 0;
		free(pats);
		return ok;
	}
	if (strcmp(ev->name, "pull_request") &&
	    strcmp(ev->name, "pull_request_target"))
		return true;
	for (i = 0; i < ARRAY_SIZE(pr_default); i++) {
		if (!strcmp(pr_default[i], ev->action))
			return true;
	}
	return false;
}

static const char *strip(const char *ref, const char *prefix)
{
	return ref && str_starts_with(ref, prefix) ? ref + strlen(prefix) : NULL;
}

/* push: branches to refs/heads/, tags to refs/tags/; defining only one
 * kind keeps the other kind out; no path filters on tag pushes. */
static bool push_pass(const struct yml_node *config,
		      const struct filter_event *ev)
{
	const char *branch = strip(ev->ref, "refs/heads/");
	const char *tag = strip(ev->ref, "refs/tags/");
	bool b_def, t_def, b_ok, t_ok;

	b_ok = names_pass(config, "branches", branch, &b_def);
	t_ok = names_pass(config, "tags", tag, &t_def);
	if (!ev->ref)
		return b_ok && t_ok && paths_pass(config, ev);
	if (branch) {
		if (!b_def && t_def)
			return false;
		return b_ok && paths_pass(config, ev);
	}
	if (tag)
		return t_def || !b_def ? t_ok : false;
	return !b_def && !t_def && paths_pass(config, ev);
}

bool filter_workflow(const struct workflow *wf, const struct filter_event *ev)
{
	const struct yml_node *config = NULL;
	const char *branch;
	bool found = false, defined;
	size_t i;

	if (!wf || !ev || !ev->name)
		return false;
	for (i = 0; i < wf->n_triggers && !found; i++) {
		if (!strcmp(wf->triggers[i].event, ev->name)) {
			config = wf->triggers[i].config;
			found = true;
		}
	}
	if (!found)
		return false;
	if (config && config->kind != YML_MAP)
		config = NULL;
	if (!types_pass(config, ev))
		return false;
	if (!strcmp(ev->name, "push"))
		return push_pass(config, ev);
	/* pull_request and friends filter on the target branch; other
	 * events with branches (workflow_run, ...) on the ref's branch. */
	if (ev->base_ref)
		branch = strip(ev->base_ref, "refs/heads/") ?
			strip(ev->base_ref, "refs/heads/") : ev->base_ref;
	else
		branch = strip(ev->ref, "refs/heads/");
	if (!names_pass(config, "branches", branch, &defined))
		return false;
	return paths_pass(config, ev);
}
