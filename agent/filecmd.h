/*
 * filecmd: how a step talks back to the runner.
 *
 * File commands: the files named by GITHUB_ENV, GITHUB_OUTPUT and
 * GITHUB_STATE hold NAME=value lines and multi-line NAME<<DELIMITER ...
 * DELIMITER blocks; GITHUB_PATH holds one folder per line.
 * Workflow commands: stdout lines of the form "::name k=v,k=v::message",
 * with GitHub's escapes (%25 %0D %0A, and %3A %2C in properties).
 * These functions only parse; the job runner acts on what they return.
 */
#ifndef GANTRY_FILECMD_H
#define GANTRY_FILECMD_H

#include <stddef.h>
#include <jansson.h>

#include "../lib/err.h"
#include "../lib/strv.h"

/* Set obj[name] = value for each entry of text (later entries win).
 * Errors name file:line ("GITHUB_OUTPUT:3: no '=' or '<<' in the line",
 * "GITHUB_ENV:5: delimiter 'EOF' not found"). Values are never quoted in
 * errors, since they may be secrets. */
int filecmd_parse_kv(json_t *obj, const char *text, size_t len,
		     const char *file, struct err *e);
/* Each non-empty line of text, in order. */
void filecmd_parse_path(struct strv *out, const char *text, size_t len);

struct wfcmd {
	char *name;		/* owned: "add-mask", "group", "error", ... */
	json_t *props;		/* owned: object of strings */
	char *value;		/* owned, unescaped */
};

/* 1 and *out filled when line is a workflow command, 0 when it is not. */
int wfcmd_parse(struct wfcmd *out, const char *line, size_t len);
void wfcmd_release(struct wfcmd *c);

#endif
