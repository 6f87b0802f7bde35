/*
 * filter: which events start which workflow: on.<event> filters with
 * GitHub's glob rules.
 *
 * Glob (GitHub's filter pattern cheat sheet): '*' matches any characters
 * but '/', '**' matches any characters including '/', '?' matches zero or
 * one of the preceding character, '+' one or more of the preceding
 * character, '[]' a character class with ranges, '!' at the start negates
 * a pattern (in branches/tags/paths lists), '\' escapes. Patterns are
 * matched against the whole string.
 */
#ifndef GANTRY_FILTER_H
#define GANTRY_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "../lib/err.h"
#include "workflow.h"

/* One pattern against one name (branch, tag or path). */
bool filter_glob(const char *pattern, const char *s);
/* A list of patterns with '!' negations, GitHub's order rule: the last
 * pattern that matches decides. */
bool filter_list(const char *const *patterns, size_t n, const char *s);

struct filter_event {
	const char *name;		/* "push", "pull_request", ... */
	const char *ref;		/* "refs/heads/main", "refs/tags/v1", or NULL */
	const char *base_ref;		/* pull_request: target branch, or NULL */
	const char *const *paths;	/* changed files, or NULL when unknown */
	size_t n_paths;
	const char *action;		/* pull_request "opened" etc., or NULL */
};

/* Whether wf runs for ev: the event is in on:, and its branches/tags/paths
 * (and -ignore) filters and types let it through. Unknown paths (NULL)
 * pass path filters. */
bool filter_workflow(const struct workflow *wf, const struct filter_event *ev);

#endif
