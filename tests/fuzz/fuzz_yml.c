/*
 * Fuzz target for workflows/yml.c: load arbitrary bytes; when they load,
 * walk the whole tree (aliases expanded), read every scalar with the typed
 * readers, and convert the tree to JSON. The node limit is lowered so a
 * small alias bomb cannot make one input slow; everything else keeps its
 * default.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "workflows/yml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Visit n and below; returns the number of nodes seen. */
static size_t walk(const struct yml_node *n, int depth)
{
	size_t seen = 1, i;
	double d;
	bool b;

	if (depth > 64 || n->pos.line < 1 || n->pos.col < 1 || !n->pos.file)
		abort();
	(void)yml_kind_name(n);
	switch (n->kind) {
	case YML_SCALAR:
		if (!n->str || n->str[n->len] != '\0')
			abort();
		(void)yml_is_null(n);
		(void)yml_bool(n, &b);
		(void)yml_number(n, &d);
		break;
	case YML_SEQ:
		for (i = 0; i < n->n_items; i++)
			seen += walk(n->items[i], depth + 1);
		break;
	case YML_MAP:
		for (i = 0; i < n->n_pairs; i++) {
			if (n->pairs[i].key->kind != YML_SCALAR)
				abort();
			/* Keys are unique, so lookup finds this very pair. */
			if (strlen(n->pairs[i].key->str) ==
			    n->pairs[i].key->len &&
			    yml_get(n, n->pairs[i].key->str) != n->pairs[i].val)
				abort();
			seen += walk(n->pairs[i].key, depth + 1);
			seen += walk(n->pairs[i].val, depth + 1);
		}
		break;
	}
	return seen;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct yml_limits lim = { 0, 0, 100000 };
	struct err e = ERR_INIT;
	struct yml_doc *doc = NULL;
	json_t *j;

	if (yml_load_mem(&doc, "fuzz.yml", (const char *)data, size, &lim,
			 &e)) {
		if (doc || strncmp(e.msg, "fuzz.yml:", 9))
			abort();
		return 0;
	}
	if (doc->root && walk(doc->root, 0) > lim.max_nodes)
		abort();
	j = yml_to_json(doc->root);
	if (!j)
		abort();
	json_decref(j);
	yml_doc_free(doc);
	return 0;
}
