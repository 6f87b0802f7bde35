/*
 * run_clone: the repository of a `gantry run --clone URL` run, checked
 * out of its URL (through the mirror cache) into the run's directory
 * before anything else happens.
 */
#ifndef GANTRY_RUN_CLONE_H
#define GANTRY_RUN_CLONE_H

#include <stdbool.h>

#include <jansson.h>

#include "../lib/err.h"

struct run_clone_opts {
	const char *url;
	const char *sha;	/* NULL: the event's after, else its ref, else HEAD */
	const json_t *event;	/* borrowed; may be an empty object */
	const char *dir;	/* the work tree (created if missing, kept between runs) */
	const char *cache_dir;	/* the mirrors */
	const char *ca_bundle;	/* NULL: the system's */
	const char *token;	/* secret; offered only where gitx_token_url_ok */
};

struct run_clone_result {
	char sha[41];		/* the commit checked out */
	bool fetched;		/* the mirror was fetched (it lacked the commit) */
	long long ms;		/* fetch and checkout */
};

int run_clone(struct run_clone_result *out, const struct run_clone_opts *o,
	      struct err *e);


#endif
