/*
 * stepx: what built-in step types share: their inputs (with:, expressions
 * resolved), a line in the log or the plan, the github context.
 */
#ifndef GANTRY_STEPX_H
#define GANTRY_STEPX_H

#include <stdbool.h>

#include "step.h"

/* An input from with:, expressions resolved; a copy of def when absent or
 * empty (NULL when def is). *out owned. */
int stepx_input(char **out, struct step_ctx *c, const char *name,
		const char *def, struct err *e);
/* "true" (any case) is true; absent or empty is def; anything else false. */
bool stepx_truthy(const char *s, bool def);
/* A line about the step: the plan in a dry run, else the log; masked. */
void stepx_say(struct step_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A warning for each with: key not in known (NULL-terminated), as GitHub
 * gives for an action's unexpected input. */
void stepx_check_inputs(struct step_ctx *c, const char *const *known,
			const char *action);
/* Whether path (existing, or its nearest existing parent) resolves, links
 * followed, inside the workspace or RUNNER_TEMP: what a built-in step,
 * which runs in gantry's process outside the sandbox, may read or write. */
bool stepx_inside_job(struct step_ctx *c, const char *path);

/* The environment for AWS clients a built-in step makes: the step's,
 * except that variables naming files (AWS_WEB_IDENTITY_TOKEN_FILE,
 * AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, AWS_CONFIG_FILE,
 * AWS_SHARED_CREDENTIALS_FILE) are kept only when the file is inside the
 * job's folders, and the profile files default to none: gantry must not
 * hand the job what the sandbox hides from it (~/.aws, other files). */
void stepx_aws_env(struct strv *out, struct step_ctx *c);

/* A member of the github context, or NULL. Borrowed. */
const char *stepx_github(struct step_ctx *c, const char *key);

#endif
