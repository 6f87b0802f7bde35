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
 *
 * The module is three files: validate.c (shared checks and the top-level
 * walk), validate_on.c (the on: section) and validate_jobs.c (jobs and
 * steps). The val_ part of this header is their internal interface; only
 * wfv_ names are for workflow.c.
 */
#ifndef GANTRY_VALIDATE_H
#define GANTRY_VALIDATE_H

#include <stdbool.h>
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

/* ---- internal to validate*.c ---- */

/* The contexts of GitHub's contexts reference, one bit each (validate.c
 * keeps their names in this order). */
enum {
	C_GITHUB = 1 << 0, C_ENV = 1 << 1, C_VARS = 1 << 2,
	C_SECRETS = 1 << 3, C_JOB = 1 << 4, C_JOBS = 1 << 5,
	C_STEPS = 1 << 6, C_RUNNER = 1 << 7, C_STRATEGY = 1 << 8,
	C_MATRIX = 1 << 9, C_NEEDS = 1 << 10, C_INPUTS = 1 << 11,
};

#define S_WF (C_GITHUB | C_INPUTS | C_VARS)
#define S_JOB (C_GITHUB | C_NEEDS | C_STRATEGY | C_MATRIX | C_INPUTS | C_VARS)
#define S_JOB_IF (C_GITHUB | C_NEEDS | C_VARS | C_INPUTS)
#define S_STEP (S_JOB | C_JOB | C_RUNNER | C_ENV | C_SECRETS | C_STEPS)

/* Where an expression is: the contexts it may read, GitHub's name for the
 * key, and whether status functions (success() ...) may be called. Each
 * validate*.c file defines the rows (P_...) for the keys it checks. */
struct val_place {
	unsigned ctx;
	const char *key;
	bool is_if;
};

/* One run of wfv_check(); every pointer is borrowed from its caller. */
struct val_state {
	struct wf_diags *d;
	const struct wf_load_opts *opts;
	const struct wfv_src *src;
	const char *dir;
};

/* Add a diagnostic at node n (which must not be NULL) to v->d. */
void val_diag(struct val_state *v, const struct yml_node *n,
	      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "a mapping", "a string", "null": the node's kind inside a sentence
 * (static storage). */
const char *val_kind(const struct yml_node *n);

/* A scalar that is not null. */
bool val_is_str(const struct yml_node *n);

/* A scalar that holds "${{". */
bool val_has_expr(const struct yml_node *n);

/* "'name' must be want, not <kind of n>" at n. */
void val_bad_type(struct val_state *v, const struct yml_node *n,
		  const char *name, const char *want);

/* True when s is in the NULL-terminated list. */
bool val_in_list(const char *s, const char *const *list);

/* "unknown <what> '<key>' <where>", with a suggestion from list when one
 * is close enough to be a typo. */
void val_unknown(struct val_state *v, const struct yml_node *key,
		 const char *what, const char *where,
		 const char *const *list);

/* Each key of mapping map not in keys is unknown; map may be NULL or of
 * any kind (then nothing is checked). */
void val_check_keys(struct val_state *v, const struct yml_node *map,
		    const char *const *keys, const char *where);

/* Expressions. n may be NULL. A scalar that may hold ${{ }}: syntax,
 * then contexts against pl. */
void val_check_tmpl(struct val_state *v, const struct yml_node *n,
		    const struct val_place *pl);

/* val_check_tmpl on every scalar under n, at most 64 levels deep. */
void val_check_tree_tmpl(struct val_state *v, const struct yml_node *n,
			 const struct val_place *pl, int depth);

/* An if: condition, with or without ${{ }}. */
void val_check_if(struct val_state *v, const struct yml_node *n,
		  const struct val_place *pl);

/* Value shapes; n may be NULL (absent key), name is the key for messages,
 * pl may be NULL where no expression is evaluated (val_check_str,
 * val_check_str_seq). */
void val_check_str(struct val_state *v, const struct yml_node *n,
		   const char *name, const struct val_place *pl);
void val_check_num(struct val_state *v, const struct yml_node *n,
		   const char *name, const struct val_place *pl);
void val_check_bool(struct val_state *v, const struct yml_node *n,
		    const char *name, const struct val_place *pl);
/* A mapping of names to strings (env, with, outputs, secrets); with
 * allow_expr, a whole-mapping ${{ }} string too. */
void val_check_str_map(struct val_state *v, const struct yml_node *n,
		       const char *name, const struct val_place *pl,
		       bool allow_expr);
/* A string or a sequence of strings (filters, labels, needs). */
void val_check_str_seq(struct val_state *v, const struct yml_node *n,
		       const char *name, const struct val_place *pl);
/* uses: a string without expressions, then opts->check_uses. */
void val_check_uses(struct val_state *v, const struct yml_node *n);

/* Sections shared by the workflow and its jobs; n may be NULL. */
void val_check_permissions(struct val_state *v, const struct yml_node *n);
void val_check_concurrency(struct val_state *v, const struct yml_node *n,
			   const struct val_place *pl);
void val_check_defaults(struct val_state *v, const struct yml_node *n,
			const struct val_place *pl);

/* validate_on.c: the on: value (not NULL). */
void val_check_on(struct val_state *v, const struct yml_node *on);

/* validate_jobs.c: the jobs: value (NULL when absent; then the
 * diagnostic goes on root). */
void val_check_jobs(struct val_state *v, const struct yml_node *jobs,
		    const struct yml_node *root);

#endif
