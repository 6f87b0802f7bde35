/*
 * Fuzz target for lib/xml.c: parse arbitrary bytes; when they fail, check
 * the error's shape; when they parse, walk the whole tree checking its
 * links and limits, look up the paths gantry's AWS clients read, walk the
 * repeated elements with xml_first/xml_next, and free the tree.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const paths[] = {
	"", "Error", "Error/Code", "Error/Message", "Error/Type",
	"RequestId", "ResponseMetadata/RequestId", "Errors/Error/Code",
	"AssumeRoleWithWebIdentityResult/Credentials/AccessKeyId",
	"AssumeRoleWithWebIdentityResult/Credentials/SecretAccessKey",
	"AssumeRoleWithWebIdentityResult/Credentials/SessionToken",
	"AssumeRoleWithWebIdentityResult/Credentials/Expiration",
	"GetCallerIdentityResult/Arn", "IsTruncated", "NextContinuationToken",
	"/Error//Code/", "a/b/c/d/e", "Contents/Key",
};

/* Visit n and its siblings and below; returns the number of elements. */
static size_t walk(const struct xml *n, const struct xml *parent, int depth)
{
	const struct xml *c, *m;
	size_t seen = 0;

	if (depth > XML_DEPTH_MAX)
		abort();
	for (; n; n = n->next) {
		if (!n->name || !n->text || n->parent != parent ||
		    !n->name[0] || strchr(n->name, '|'))
			abort();
		(void)strlen(n->text);
		if (xml_find(n, "") != n)
			abort();
		if (n->child) {
			/* the first child is the first of its name, and
			 * xml_next only visits later siblings of that name */
			if (xml_first(n, n->child->name) != n->child ||
			    xml_find(n, n->child->name) != n->child)
				abort();
			c = n->child;
			for (m = xml_next(c); m; m = xml_next(m)) {
				while (c != m && c)
					c = c->next;
				if (!c || strcmp(m->name, n->child->name))
					abort();
			}
		}
		seen += 1 + walk(n->child, n, depth + 1);
	}
	return seen;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e = ERR_INIT;
	struct xml *x = (struct xml *)&e;
	const struct xml *c;
	size_t i;

	if (xml_parse(&x, (const char *)data, size, &e)) {
		if (x || strncmp(e.msg, "line ", 5) ||
		    (e.code != ERR_SYNTAX && e.code != ERR_LIMIT))
			abort();
		return 0;
	}
	if (!x || e.code != ERR_NONE || x->next)
		abort();
	if (walk(x, NULL, 1) > XML_NODES_MAX)
		abort();
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		(void)xml_text(x, paths[i]);
	for (c = xml_first(x, "Contents"); c; c = xml_next(c)) {
		(void)xml_text(c, "Key");
		(void)xml_text(c, "Size");
	}
	for (c = xml_first(xml_find(x, "Errors"), "Error"); c;
	     c = xml_next(c))
		(void)xml_text(c, "Message");
	xml_free(x);
	return 0;
}
