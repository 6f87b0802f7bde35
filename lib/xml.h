/*
 * xml: a small element tree over expat, for answers from remote services
 * (AWS's query and REST-XML protocols). Untrusted input: the document is
 * bounded in size by the caller, in depth by XML_DEPTH_MAX and in elements
 * by XML_NODES_MAX; a DOCTYPE (internal subset, entity declarations) is
 * refused, so no entity expansion can happen; namespaces are understood
 * and element names are kept without their prefix or namespace URI.
 * Only elements and their text are kept: attributes, comments and
 * processing instructions are dropped. The root element is at depth 1, so
 * at most XML_DEPTH_MAX elements are open at once.
 */
#ifndef GANTRY_XML_H
#define GANTRY_XML_H

#include <stddef.h>

#include "err.h"

#define XML_DEPTH_MAX 64
#define XML_NODES_MAX 200000

struct xml {
	char *name;		/* owned: local name, "Error" for "aws:Error" */
	char *text;		/* owned: the element's own character data
				 * (CDATA included, references decoded, UTF-8),
				 * concatenated, untrimmed; "" when none */
	struct xml *parent;	/* borrowed; NULL for the root */
	struct xml *child;	/* owned: first child element */
	struct xml *next;	/* owned: next sibling */
};

/* Parse data[0..len). -1 with ERR_SYNTAX ("line L, column C: ...", the
 * column counted from 1; a DOCTYPE is ERR_SYNTAX too) or ERR_LIMIT (same
 * form), or ERR_INTERNAL when expat runs out of memory; *out is NULL then.
 * The tree is the caller's: xml_free. */
int xml_parse(struct xml **out, const char *data, size_t len, struct err *e);
void xml_free(struct xml *root);

/* The first element at path ("Error/Code", names separated by '/')
 * below node, each step among the children of the one before; NULL when
 * there is none. "" finds node itself; empty steps ("a//b", a leading or
 * trailing '/') are skipped. A NULL node finds NULL, so lookups chain.
 * Borrowed. */
const struct xml *xml_find(const struct xml *node, const char *path);
/* xml_find(node, path)->text, or NULL. Borrowed. */
const char *xml_text(const struct xml *node, const char *path);
/* The first child of node named name; the next sibling after c with
 * c's name. For: for (c = xml_first(n, "member"); c; c = xml_next(c)).
 * Both return NULL for a NULL argument node. Borrowed. */
const struct xml *xml_first(const struct xml *node, const char *name);
const struct xml *xml_next(const struct xml *c);

#endif
