/*
 * yml: YAML documents as trees of nodes that remember where they came from.
 *
 * Built on libyaml. Every node carries file:line:col (1-based) of its first
 * character, so every later error can point at the input. Anchors and
 * aliases are resolved while loading: an alias shares the anchored node, so
 * the tree is a DAG, and the loader counts the nodes an alias expands to so
 * that a "billion laughs" document fails with ERR_LIMIT instead of eating
 * memory. Limits: input size, nesting depth, expanded node count.
 *
 * All nodes and strings belong to the yml_doc and live until yml_doc_free().
 * Mapping keys are scalars (complex keys are refused with ERR_INVALID);
 * a duplicate key in one mapping is an error, as GitHub treats it.
 * Only the first document of a stream is loaded.
 */
#ifndef GANTRY_YML_H
#define GANTRY_YML_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "../lib/err.h"

enum yml_kind { YML_SCALAR, YML_SEQ, YML_MAP };

/* How a scalar was written: plain scalars are typed (true, 1, null, ...),
 * quoted and block scalars are always strings. */
enum yml_style { YML_PLAIN, YML_QUOTED, YML_BLOCK };

struct yml_pos {
	const char *file;	/* borrowed from the doc */
	int line;		/* 1-based */
	int col;		/* 1-based */
};

struct yml_node;

struct yml_pair {
	struct yml_node *key;	/* always a scalar */
	struct yml_node *val;
};

struct yml_node {
	enum yml_kind kind;
	struct yml_pos pos;
	/* YML_SCALAR */
	enum yml_style style;
	char *str;		/* NUL-terminated, may contain NUL before len */
	size_t len;
	/* YML_SEQ */
	struct yml_node **items;
	size_t n_items;
	/* YML_MAP, in document order */
	struct yml_pair *pairs;
	size_t n_pairs;
};

struct yml_limits {
	size_t max_bytes;	/* default 4 MiB */
	int max_depth;		/* default 64 */
	size_t max_nodes;	/* default 1,000,000 after alias expansion */
};

struct yml_doc {
	struct yml_node *root;	/* NULL for an empty document */
	char *file;		/* owned: the name used in positions */
	/* private: arena of allocations */
	void *arena;
};

/* Load from a file. path is used as the file name in positions.
 * limits may be NULL for the defaults. *out is owned by the caller. */
int yml_load_file(struct yml_doc **out, const char *path,
		  const struct yml_limits *limits, struct err *e);
/* Load from memory; name is used as the file name in positions. */
int yml_load_mem(struct yml_doc **out, const char *name, const char *data,
		 size_t len, const struct yml_limits *limits, struct err *e);
void yml_doc_free(struct yml_doc *doc);

/* Value of key in a mapping (exact, case-sensitive), borrowed, or NULL
 * when node is not a mapping or has no such key. */
const struct yml_node *yml_get(const struct yml_node *map, const char *key);
/* The key node of key in a mapping, for positions; NULL if absent. */
const struct yml_node *yml_get_key(const struct yml_node *map, const char *key);

/* A plain scalar that YAML 1.2's core schema reads as null: "", "~",
 * "null", "Null", "NULL". Quoted scalars are never null. */
bool yml_is_null(const struct yml_node *n);
/* Typed reading of scalars (YAML 1.2 core schema; yes/no/on/off are
 * strings). Return 0 and fill out, or -1 when the scalar is not of that
 * type (nothing is written to e; callers word the error). */
int yml_bool(const struct yml_node *n, bool *out);
int yml_number(const struct yml_node *n, double *out);

/* The node as a JSON value, typed by the core schema (plain true/false ->
 * bool, integers -> integer, floats -> real, null forms -> null, the rest ->
 * string; .inf, .nan and overflowing floats, which JSON cannot hold, stay
 * strings as written). New reference; NULL input gives json null. */
json_t *yml_to_json(const struct yml_node *n);

/* "sequence", "mapping", "string", "number", "boolean" or "null": what a
 * user would call the node in an error message. */
const char *yml_kind_name(const struct yml_node *n);

#endif
