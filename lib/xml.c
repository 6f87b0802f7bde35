/*
 * xml: an element tree built from expat's callbacks.
 *
 * The parser keeps a stack of open elements (at most XML_DEPTH_MAX deep):
 * each frame holds the element, its last child so far (siblings are
 * appended in document order) and the text gathered for it. Every node is
 * linked into the tree the moment it is created, so on any failure freeing
 * the root frees everything. A handler that refuses the document records
 * the error and stops expat; expat may still deliver a few callbacks after
 * that (an end tag for the start tag just refused), which do nothing once
 * the context has failed.
 */
#include "xml.h"
#include "buf.h"
#include "util.h"

#include <expat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* expat hands us "URI|local" for a name in a namespace, "local" otherwise.
 * '|' cannot occur in an XML name, so the local name is what follows the
 * last one. ('|' is not a URI character either, and expat refuses a
 * namespace URI holding it as a syntax error.) */
#define XML_NS_SEP '|'

/* XML_Parse takes an int length: longer documents go in pieces. */
#define XML_CHUNK (1 << 30)

struct xml_frame {
	struct xml *node;	/* borrowed: owned by the tree */
	struct xml *last;	/* borrowed: node's last child so far */
	struct buf text;	/* node's character data so far */
};

struct xml_ctx {
	XML_Parser p;
	struct err *e;
	struct xml *root;	/* owned until handed to the caller */
	struct xml_frame st[XML_DEPTH_MAX];
	int depth;		/* open elements, frames st[0..depth) */
	size_t nodes;
	int failed;
};

static void xml_fail(struct xml_ctx *c, enum err_code code,
		     const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "line L, column C: what", at the event expat is handling or at the
 * error it stopped on; columns are counted from 1 here, from 0 by expat. */
static void xml_err_at(struct err *e, XML_Parser p, enum err_code code,
		       const char *what)
{
	err_set(e, code, "line %lu, column %lu: %s",
		(unsigned long)XML_GetCurrentLineNumber(p),
		(unsigned long)XML_GetCurrentColumnNumber(p) + 1, what);
}

/* Record the first failure with the position of the event being handled,
 * and stop the parser. Later failures (callbacks expat still delivers)
 * keep the first message. */
static void xml_fail(struct xml_ctx *c, enum err_code code,
		     const char *fmt, ...)
{
	char what[256];
	va_list ap;

	if (c->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	xml_err_at(c->e, c->p, code, what);
	c->failed = 1;
	XML_StopParser(c->p, XML_FALSE);
}

static void XMLCALL xml_on_start(void *data, const XML_Char *name,
				 const XML_Char **attrs)
{
	struct xml_ctx *c = data;
	const char *local = strrchr(name, XML_NS_SEP);
	struct xml_frame *up, *f;
	struct xml *n;

	(void)attrs;
	if (c->failed)
		return;
	if (c->depth >= XML_DEPTH_MAX) {
		xml_fail(c, ERR_LIMIT, "elements nested deeper than %d",
			 XML_DEPTH_MAX);
		return;
	}
	if (c->nodes >= XML_NODES_MAX) {
		xml_fail(c, ERR_LIMIT, "more than %d elements",
			 XML_NODES_MAX);
		return;
	}
	n = xcalloc(1, sizeof(*n));
	n->name = xstrdup(local ? local + 1 : name);
	c->nodes++;
	if (c->depth == 0) {
		/* expat allows one document element, so this is the first */
		c->root = n;
	} else {
		up = &c->st[c->depth - 1];
		n->parent = up->node;
		if (up->last)
			up->last->next = n;
		else
			up->node->child = n;
		up->last = n;
	}
	f = &c->st[c->depth++];
	f->node = n;
	f->last = NULL;
	buf_reset(&f->text);
}

static void XMLCALL xml_on_end(void *data, const XML_Char *name)
{
	struct xml_ctx *c = data;
	struct xml_frame *f;

	(void)name;
	if (c->failed || c->depth == 0)
		return;
	f = &c->st[--c->depth];
	f->node->text = buf_detach(&f->text, NULL);
}

/* Character data, CDATA sections included, arrives in pieces: the pieces
 * of one element are joined, whatever child elements sit between them. */
static void XMLCALL xml_on_text(void *data, const XML_Char *s, int len)
{
	struct xml_ctx *c = data;

	if (c->failed || c->depth == 0 || len <= 0)
		return;
	/* the frame's buffer has no cap, so this cannot fail */
	if (buf_add(&c->st[c->depth - 1].text, s, (size_t)len) < 0)
		BUG("xml: uncapped buffer refused text");
}

/* Any DOCTYPE is refused before its internal subset is read, so no entity
 * is ever declared: no entity expansion, no external entities. */
static void XMLCALL xml_on_doctype(void *data, const XML_Char *name,
				   const XML_Char *sysid,
				   const XML_Char *pubid, int has_subset)
{
	(void)name, (void)sysid, (void)pubid, (void)has_subset;
	xml_fail(data, ERR_SYNTAX, "DOCTYPE not allowed");
}

/* Unreachable without a DOCTYPE; kept as a second lock on the same door. */
static void XMLCALL xml_on_entity(void *data, const XML_Char *name,
				  int is_param, const XML_Char *value,
				  int value_len, const XML_Char *base,
				  const XML_Char *sysid, const XML_Char *pubid,
				  const XML_Char *notation)
{
	(void)name, (void)is_param, (void)value, (void)value_len;
	(void)base, (void)sysid, (void)pubid, (void)notation;
	xml_fail(data, ERR_SYNTAX, "entity declarations not allowed");
}

int xml_parse(struct xml **out, const char *data, size_t len, struct err *e)
{
	struct xml_ctx c = { .e = e };
	enum XML_Error code;
	size_t off = 0, n;
	int ret = -1, i;

	*out = NULL;
	if (!data)
		data = "";	/* len is 0: no pointer arithmetic on NULL */
	for (i = 0; i < XML_DEPTH_MAX; i++)
		buf_init(&c.st[i].text, 0);
	c.p = XML_ParserCreateNS(NULL, XML_NS_SEP);
	if (!c.p) {
		err_set(e, ERR_INTERNAL, "xml: cannot create a parser");
		goto done;
	}
	XML_SetUserData(c.p, &c);
	XML_SetElementHandler(c.p, xml_on_start, xml_on_end);
	XML_SetCharacterDataHandler(c.p, xml_on_text);
	XML_SetStartDoctypeDeclHandler(c.p, xml_on_doctype);
	XML_SetEntityDeclHandler(c.p, xml_on_entity);
	XML_SetParamEntityParsing(c.p, XML_PARAM_ENTITY_PARSING_NEVER);

	do {
		n = len - off < XML_CHUNK ? len - off : XML_CHUNK;
		if (XML_Parse(c.p, data + off, (int)n, off + n == len) ==
		    XML_STATUS_ERROR) {
			if (c.failed)
				goto done;
			code = XML_GetErrorCode(c.p);
			xml_err_at(e, c.p, code == XML_ERROR_NO_MEMORY ?
				   ERR_INTERNAL : ERR_SYNTAX,
				   XML_ErrorString(code));
			goto done;
		}
		off += n;
	} while (off < len);
	if (c.failed || !c.root || c.depth != 0)
		BUG("xml: expat accepted a document with no complete root");
	*out = c.root;
	c.root = NULL;
	ret = 0;
done:
	for (i = 0; i < XML_DEPTH_MAX; i++)
		buf_release(&c.st[i].text);
	xml_free(c.root);
	if (c.p)
		XML_ParserFree(c.p);
	return ret;
}

/* Recursion follows children only, so it is at most XML_DEPTH_MAX deep;
 * siblings are freed in a loop. */
void xml_free(struct xml *root)
{
	struct xml *n = root, *next;

	while (n) {
		next = n->next;
		xml_free(n->child);
		free(n->name);
		free(n->text);
		free(n);
		n = next;
	}
}

/* The first child of node whose name is name[0..len). */
static const struct xml *xml_child(const struct xml *node, const char *name,
				   size_t len)
{
	const struct xml *c;

	for (c = node->child; c; c = c->next)
		if (!strncmp(c->name, name, len) && c->name[len] == '\0')
			return c;
	return NULL;
}

const struct xml *xml_find(const struct xml *node, const char *path)
{
	const char *p = path, *slash;
	size_t len;

	while (node && *p) {
		slash = strchr(p, '/');
		len = slash ? (size_t)(slash - p) : strlen(p);
		if (len)
			node = xml_child(node, p, len);
		p += len + (slash != NULL);
	}
	return node;
}

const char *xml_text(const struct xml *node, const char *path)
{
	const struct xml *n = xml_find(node, path);

	return n ? n->text : NULL;
}

const struct xml *xml_first(const struct xml *node, const char *name)
{
	return node ? xml_child(node, name, strlen(name)) : NULL;
}

const struct xml *xml_next(const struct xml *c)
{
	const struct xml *n;

	if (!c)
		return NULL;
	for (n = c->next; n; n = n->next)
		if (!strcmp(n->name, c->name))
			return n;
	return NULL;
}
