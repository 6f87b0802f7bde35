/*
 * validate: the schema of a workflow file and the checks behind
 * `gantry validate`. Private to workflows/: workflow.c builds the model and
 * calls wfv_check(), which walks the yml tree and adds one diagnostic per
 * problem (unknown keys, wrong types, events and their filters, cron
 * lines, inputs, jobs and steps, expression syntax, contexts used where
 * GitHub's availability table forbids them, uses: through the caller's
 * callback). Needs and cycles are checked in workflow.c, which owns the
 * job graph.
 *
 * Nothing here allocates anything that outlives the call except the
 * diagnostics, which belong to the caller's wf_diags.
 */
#ifndef GANTRY_VALIDATE_H
#define GANTRY_VALIDATE_H

#include <stddef.h>

#include "workflow.h"
#include "yml.h"

/* The source text the tree was read from, so that a diagnostic inside a
 * block scalar can point at the right line and column. */
struct wfv_src {
	const char *data;	/* borrowed */
	size_t len;
	size_t *line_off;	/* owned by workflow.c: byte offset of each line */
	size_t n_lines;
};

/* Where byte off of scalar n's value is in the file. */
void wfv_pos_in(struct yml_pos *out, const struct wfv_src *src,
		const struct yml_node *n, size_t off);

/* True when s is a job or step id: a letter or '_', then letters,
 * digits, '-' and '_'. */
int wfv_is_id(const char *s);

/* Check the whole tree of wf (wf->doc->root is a mapping). dir is the
 * folder of the workflow file, for opts->check_uses. */
void wfv_check(const struct workflow *wf, const struct wf_load_opts *opts,
	       const struct wfv_src *src, const char *dir,
	       struct wf_diags *d);

#endif
