/*
 * expr: GitHub Actions' expression language, the part inside ${{ }}.
 *
 * Grammar (lowest precedence first; the precedence table lives in expr.c):
 *   or      := and ( '||' and )*
 *   and     := eq ( '&&' eq )*
 *   eq      := cmp ( ('==' | '!=') cmp )*
 *   cmp     := unary ( ('<' | '<=' | '>' | '>=') unary )*
 *   unary   := '!' unary | postfix
 *   postfix := primary ( '.' IDENT | '.' '*' | '[' or ']' | '[' '*' ']' )*
 *   primary := literal | IDENT | IDENT '(' args ')' | '(' or ')'
 *   literal := null | true | false | NUMBER | 'string' ('' escapes a quote)
 * Nesting depth is capped (EXPR_MAX_DEPTH) and so is the source length.
 *
 * Values are jansson values: null, boolean, number (integer or real),
 * string, array, object. Comparison and coercion follow GitHub's documented
 * rules (loose equality, numbers from strings, case-insensitive strings,
 * NaN unequal to everything). Property names are looked up
 * case-insensitively, as GitHub does; a missing property is null.
 *
 * Functions: contains, startsWith, endsWith, format, join, toJSON,
 * fromJSON, hashFiles, success, always, cancelled, failure. An unknown
 * function or a wrong argument count is a parse error (ERR_SYNTAX).
 *
 * Dry runs evaluate with some values unknown until run time (the contexts
 * listed in expr_env.unknown, and the job status when status_unknown is
 * set). Such a value is "unknown", it propagates through operators and
 * functions, and short-circuits still decide when they can
 * (false && unknown is false). A result that stays unknown is reported
 * with the return value EXPR_UNKNOWN.
 */
#ifndef GANTRY_EXPR_H
#define GANTRY_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "../lib/err.h"

#define EXPR_MAX_DEPTH 64
#define EXPR_MAX_LEN (64 * 1024)
/* Returned by the eval functions when the result depends on a run-time
 * value. *out is left NULL (or, for the interpolation functions, holds the
 * text with unresolved expressions kept as written) and e->msg names what it
 * depends on, such as "steps.build.outputs.tag" or "job status"; e->code
 * stays ERR_NONE. */
#define EXPR_UNKNOWN 1

struct expr;

enum expr_status {
	EXPR_STATUS_SUCCESS,	/* everything before succeeded */
	EXPR_STATUS_FAILURE,	/* a step or a needed job failed */
	EXPR_STATUS_CANCELLED,	/* the run was cancelled */
};

struct expr_env {
	json_t *contexts;	/* borrowed: {"github": {...}, "env": {...}, ...} */
	enum expr_status status;
	bool status_unknown;	/* dry run: status functions are unknown */
	/* dry run: NULL-terminated names of contexts known only at run time,
	 * e.g. { "steps", "needs", "jobs", NULL }; NULL for none */
	const char *const *unknown;
	/* hashFiles(patterns...): write the hex SHA-256 (or "" when nothing
	 * matched) into *out (caller frees). NULL makes hashFiles an error. */
	int (*hash_files)(char **out, void *ud, const char *const *patterns,
			  size_t n, struct err *e);
	void *ud;
};

/* Parse src (len bytes, without ${{ }}). *out is owned by the caller.
 * Errors say what was expected and at which column of src (1-based). */
int expr_parse(struct expr **out, const char *src, size_t len, struct err *e);
void expr_free(struct expr *x);

/* Evaluate a parsed expression. 0 with *out a new reference, EXPR_UNKNOWN,
 * or -1 with e filled (e.g. fromJSON of bad JSON). */
int expr_eval(json_t **out, const struct expr *x, const struct expr_env *env,
	      struct err *e);

/* True when the expression calls success, failure, always or cancelled. */
bool expr_has_status_function(const struct expr *x);
/* Each context name the expression reads (github, env, matrix, ...), in
 * order of first use, lower-cased; caller frees the array and strings. */
int expr_contexts_used(char ***out, size_t *n, const struct expr *x);

/* GitHub's truthiness: false, 0, -0, NaN, "" and null are false. */
bool expr_truthy(const json_t *v);
/* GitHub's conversion to string: null -> "", booleans -> "true"/"false",
 * numbers in the shortest round-trip form (1, 1.5, 1e+21), arrays ->
 * "Array", objects -> "Object". Caller frees. */
char *expr_to_string(const json_t *v);

/* --- templates: strings that contain ${{ }} --- */

/* Replace every ${{ }} in s by its value as a string. *out owned by the
 * caller. Returns 0, EXPR_UNKNOWN (unknown parts kept as written, *out
 * still set), or -1. */
int expr_interpolate(char **out, const char *s, const struct expr_env *env,
		     struct err *e);
/* As expr_interpolate, but when s is exactly one ${{ }} (blank space
 * around it allowed) the value keeps its type: used for matrix, with,
 * runs-on, continue-on-error, timeout-minutes. On EXPR_UNKNOWN, *out is
 * the string s itself. */
int expr_interpolate_value(json_t **out, const char *s,
			   const struct expr_env *env, struct err *e);
/* Check the syntax of every ${{ }} in s, without evaluating. On error,
 * *err_offset is the byte offset in s where the failing expression begins
 * (for file:line:col) and e says what is wrong. A ${{ without its }} is an
 * error. */
int expr_check_template(const char *s, size_t *err_offset, struct err *e);
/* Each expression inside ${{ }} in s, parsed, for context checks: calls
 * fn for each; stops at the first non-zero return. */
int expr_each_in_template(const char *s,
			  int (*fn)(const struct expr *x, size_t offset, void *ud),
			  void *ud, struct err *e);

/* An if: condition, with or without ${{ }}. When it calls no status
 * function it is evaluated as success() && (cond), as GitHub does.
 * An empty condition is success(). 0 with *out, EXPR_UNKNOWN, or -1. */
int expr_eval_if(bool *out, const char *cond, const struct expr_env *env,
		 struct err *e);
/* Syntax check of an if: condition; same offset rule as above. */
int expr_check_if(const char *cond, size_t *err_offset, struct err *e);

#endif
