/*
 * expr_int: what the expression modules share and nobody else sees.
 *
 * expr.c parses source into a tree of struct expr_node, expr_eval.c walks
 * the tree with struct val values, expr_func.c holds the function table and
 * expr_tmpl.c handles ${{ }} templates and if: conditions.
 *
 * A struct val owns one reference to a jansson value, or, when the value is
 * only known at run time, owns the text of the reference it depends on
 * (ref) instead. A tree owns every node, literal and name below its root.
 */
#ifndef GANTRY_EXPR_INT_H
#define GANTRY_EXPR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "expr.h"

/* Cap on one string built by an expression (format, join, toJSON, a
 * template), like GitHub's cap on expression memory. */
#define EXPR_MAX_STRING (4u << 20)

enum expr_node_kind {
	EXPR_N_LIT,	/* lit */
	EXPR_N_CTX,	/* name: a context, lower-cased */
	EXPR_N_INDEX,	/* kids[0][kids[1]]; a.b is a['b'] */
	EXPR_N_WILD,	/* kids[0].* or kids[0][*] */
	EXPR_N_NOT,	/* !kids[0] */
	EXPR_N_AND,	/* kids[0] && kids[1] && ... (n-ary) */
	EXPR_N_OR,	/* kids[0] || kids[1] || ... (n-ary) */
	EXPR_N_EQ,
	EXPR_N_NE,
	EXPR_N_LT,
	EXPR_N_LE,
	EXPR_N_GT,
	EXPR_N_GE,
	EXPR_N_CALL,	/* fn(kids...) */
};

struct val;
struct ev;

/* One entry of the function table (expr_func.c). */
struct expr_func {
	const char *name;	/* as GitHub spells it: startsWith */
	size_t min_args, max_args;
	bool status;		/* success, failure, cancelled, always */
	/* Called with known arguments (unknown ones are handled before). */
	int (*call)(struct val *out, struct ev *ev,
		    const struct val *args, size_t n, size_t col);
};

struct expr_node {
	enum expr_node_kind kind;
	size_t col;			/* 1-based column in the source */
	json_t *lit;			/* owned, EXPR_N_LIT */
	char *name;			/* owned, EXPR_N_CTX */
	const struct expr_func *fn;	/* EXPR_N_CALL */
	struct expr_node **kids;	/* owned */
	size_t nkids;
	size_t height;			/* 1 for a leaf */
};

struct expr {
	struct expr_node *root;	/* owned */
};

/* A value during evaluation. */
struct val {
	json_t *j;	/* owned reference; NULL when unknown */
	char *ref;	/* owned; set iff unknown: what it depends on */
	int truth;	/* unknown only: -1 not known, 0 falsy, 1 truthy */
	bool ref_open;	/* unknown only: ref may still grow by .name */
	bool filtered;	/* j is an array made by a filter (a.*) */
};

#define VAL_INIT { NULL, NULL, -1, false, false }

/* Evaluation state. */
struct ev {
	const struct expr_env *env;
	struct err *e;
};

/* expr_eval.c */
void expr_val_release(struct val *v);
/* Take ownership of j (a new reference). */
void expr_val_set(struct val *v, json_t *j);
/* An unknown value depending on ref (copied). */
void expr_val_unknown(struct val *v, const char *ref, bool open);
/* GitHub's conversion to a number: null 0, true 1, '' 0, '12' 12,
 * 'abc' NaN, arrays and objects NaN. */
double expr_to_number(const json_t *v);
/* A string as a number; NaN when it is none. */
double expr_parse_number(const char *s, size_t len);
/* Shortest round-trip text of d, JavaScript style, into out (>= 32). */
void expr_format_number(char *out, size_t outsz, double d);
/* Primitive: null, boolean, number or string. */
bool expr_is_primitive(const json_t *v);
/* Loose equality, as == does. */
bool expr_loose_equal(const json_t *a, const json_t *b);
/* A string value that need not be valid UTF-8 (new reference). */
json_t *expr_json_string(const char *s, size_t len);
/* Case-insensitive (ASCII) substring search over len bytes. */
bool expr_ci_contains(const char *hay, size_t hlen, const char *needle,
		      size_t nlen);

/* Evaluate into a val (unknown values included); 0 or -1. */
int expr_eval_val(struct val *out, const struct expr *x,
		  const struct expr_env *env, struct err *e);
/* Report an unknown result: e->msg = ref, e->code ERR_NONE. */
void expr_set_unknown_msg(struct err *e, const char *ref);

/* expr_func.c */
const struct expr_func *expr_func_lookup(const char *name, size_t len);
/* GitHub's toJSON text (2-space indent) into *out; -1 over the caps. */
int expr_to_json_text(char **out, const json_t *v, struct err *e);

/* expr_tmpl.c helpers shared with nothing else are static there. */

#endif
