/*
 * run_inputs: secrets, variables and inputs for `gantry run` from flags
 * and files, workflow_dispatch inputs checked and typed, and the paths a
 * push changed. Values that are secrets are never put in messages.
 */
#ifndef GANTRY_RUN_INPUTS_H
#define GANTRY_RUN_INPUTS_H

#include <stdbool.h>

#include <jansson.h>

#include "../lib/err.h"
#include "../lib/strv.h"
#include "../workflows/workflow.h"

/* NAME=VALUE lines of path into obj ('#' comments, blank lines, optional
 * quotes, "export "). */
int run_read_kv_file(json_t *obj, const char *path, struct err *e);
/* One NAME=VALUE (or, with from_env, NAME alone: the value from the
 * environment variable NAME) into obj; what names the flag in messages. */
int run_add_pair(json_t *obj, const char *arg, const char *what, bool from_env,
		 struct err *e);
/* workflow_dispatch inputs: given (strings) checked against wf's
 * declarations, defaults filled, typed; *out a new object. */
int run_dispatch_inputs(json_t **out, const struct workflow *wf, json_t *given,
			struct err *e);
/* The files a push changed, from its payload's commits (added, modified,
 * removed); *known false when the payload lists no commits. */
void run_event_paths(struct strv *out, bool *known, const json_t *event);

#endif
