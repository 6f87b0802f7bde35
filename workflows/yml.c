/*
 * yml: the YAML loader. Reads libyaml's event stream into a tree of
 * struct yml_node, each stamped with the 1-based line and column of its
 * first character.
 *
 * Ownership: every node, pair array and string lives in the doc's arena
 * (a list of chunks) and is freed at once by yml_doc_free(). Temporary
 * vectors used while a collection is being read are heap-allocated by the
 * frame that reads it and freed on its way out, success or not.
 *
 * Limits hold against hostile input: the input size is checked before
 * parsing; every node counts 1 towards max_nodes and an alias counts the
 * whole size of what it expands to (each anchor remembers that size), so a
 * billion-laughs document stops after a few events; depth counts what
 * aliases expand to as well (each anchor remembers its height), so a walk
 * over the finished DAG never goes deeper than max_depth. A zero field in
 * struct yml_limits means its default.
 *
 * Decisions: `<<` is an ordinary key (GitHub has no merge keys); an alias
 * may not refer to a node that contains it; a document that is only an
 * empty plain scalar ("---" and nothing else) has a NULL root, like an
 * empty stream; a `!!str` or `!` tag makes a plain scalar a string (style
 * YML_QUOTED), other tags are ignored.
 */
#include "yml.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "../lib/buf.h"
#include "../lib/util.h"

#define YML_DEFAULT_BYTES ((size_t)4 << 20)
#define YML_DEFAULT_DEPTH 64
#define YML_DEFAULT_NODES ((size_t)1000000)

/* ---- arena ---- */

#define ARENA_CHUNK ((size_t)64 << 10)

struct arena_chunk {
	struct arena_chunk *next;
	size_t used;
	size_t cap;
	max_align_t data[];
};

struct arena {
	struct arena_chunk *head;	/* owned list; head has free room */
};

static void *arena_alloc(struct arena *a, size_t n)
{
	size_t al = alignof(max_align_t);
	struct arena_chunk *c;
	void *p;

	if (n > SIZE_MAX - al - sizeof(*c))
		BUG("arena allocation of %zu bytes", n);
	n = (n + al - 1) / al * al;
	if (!n)
		n = al;
	c = a->head;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > ARENA_CHUNK / 4 ? n : ARENA_CHUNK;

		c = xmalloc(sizeof(*c) + cap);
		c->used = 0;
		c->cap = cap;
		if (cap == n && a->head) {
			/* A big block gets its own chunk behind the head,
			 * so the head's free room is not wasted. */
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

static void arena_free(struct arena *a)
{
	struct arena_chunk *c, *next;

	if (!a)
		return;
	for (c = a->head; c; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}

static char *arena_strndup(struct arena *a, const char *s, size_t len)
{
	char *p = arena_alloc(a, len + 1);

	if (len)
		memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* ---- string-keyed table: open addressing, strings borrowed ---- */

struct hent {
	const char *s;		/* NULL for an empty slot */
	size_t len;
	size_t val;
};

struct htab {
	struct hent *e;		/* owned */
	size_t cap;		/* 0 or a power of two */
	size_t n;
};

static size_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return (size_t)(h ^ (h >> 29));
}

static struct hent *htab_slot(struct hent *e, size_t cap, const char *s,
			      size_t len)
{
	size_t i = hash_bytes(s, len) & (cap - 1), probes;

	for (probes = 0; probes < cap; probes++) {
		if (!e[i].s || (e[i].len == len && !memcmp(e[i].s, s, len)))
			return &e[i];
		i = (i + 1) & (cap - 1);
	}
	BUG("hash table full");
}

static struct hent *htab_get(struct htab *t, const char *s, size_t len)
{
	struct hent *h;

	if (!t->cap)
		return NULL;
	h = htab_slot(t->e, t->cap, s, len);
	return h->s ? h : NULL;
}

/* Set s to val, replacing an older value of s. */
static void htab_put(struct htab *t, const char *s, size_t len, size_t val)
{
	struct hent *h;
	size_t i;

	if ((t->n + 1) * 4 > t->cap * 3) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct hent *e = xcalloc(cap, sizeof(*e));

		for (i = 0; i < t->cap; i++)
			if (t->e[i].s)
				*htab_slot(e, cap, t->e[i].s,
					   t->e[i].len) = t->e[i];
		free(t->e);
		t->e = e;
		t->cap = cap;
	}
	h = htab_slot(t->e, t->cap, s, len);
	if (!h->s)
		t->n++;
	h->s = s;
	h->len = len;
	h->val = val;
}

/* ---- loader ---- */

struct anchor {
	const char *name;	/* arena */
	size_t len;
	struct yml_node *node;	/* NULL while the node is still being read */
	size_t size;		/* nodes it expands to */
	int height;		/* 0 for a scalar, 1 + deepest child else */
};

struct loader {
	yaml_parser_t parser;
	yaml_event_t ev;	/* current event, owned when have_ev */
	bool have_ev;
	struct yml_doc *doc;
	struct arena *arena;
	struct yml_limits lim;
	const char *data;	/* the input, for reader error positions */
	size_t len;
	size_t total;		/* nodes so far, aliases expanded */
	struct anchor *anchors;	/* owned vector; names in the arena */
	size_t n_anchors, alloc_anchors;
	struct htab anchor_tab;	/* name -> latest index in anchors */
	struct err *e;
};

static struct yml_pos mark_pos(struct loader *ld, const yaml_mark_t *m)
{
	struct yml_pos p;

	p.file = ld->doc->file;
	p.line = m->line < INT_MAX ? (int)m->line + 1 : INT_MAX;
	p.col = m->column < INT_MAX ? (int)m->column + 1 : INT_MAX;
	return p;
}

static int ld_fail(struct loader *ld, enum err_code code,
		   const yaml_mark_t *m, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int ld_fail(struct loader *ld, enum err_code code,
		   const yaml_mark_t *m, const char *fmt, ...)
{
	struct yml_pos p = mark_pos(ld, m);
	char msg[ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(ld->e, code, "%s:%d:%d: %s", p.file, p.line, p.col,
		       msg);
}

/* A key or anchor name fit for a message: at most 48 bytes, cut on a
 * character boundary, control characters shown as '?'. */
static void show_name(char *out, size_t outsz, const char *s, size_t len)
{
	size_t n = len, i;

	if (n > 48) {
		n = 48;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	if (n > outsz - 4)
		n = outsz - 4;
	for (i = 0; i < n; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (n < len)
		memcpy(out + n, "...", 3), n += 3;
	out[n] = '\0';
}

/* Line and column of a byte offset, for reader errors (which carry an
 * offset but no mark). Columns count characters, as libyaml's do. */
static void offset_mark(struct loader *ld, size_t off, yaml_mark_t *m)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	if (off > ld->len)
		off = ld->len;
	for (i = 0; i < off; i++) {
		unsigned char c = (unsigned char)ld->data[i];

		if (c == '\n') {
			m->line++;
			m->column = 0;
		} else if ((c & 0xC0) != 0x80) {
			m->column++;
		}
	}
}

static int syntax_error(struct loader *ld)
{
	yaml_parser_t *p = &ld->parser;
	const char *problem = p->problem ? p->problem : "invalid YAML";
	yaml_mark_t m;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return err_set(ld->e, ERR_INTERNAL, "%s: out of memory in libyaml",
			       ld->doc->file);
	case YAML_READER_ERROR:
		offset_mark(ld, p->problem_offset, &m);
		if (p->problem_value != -1)
			return ld_fail(ld, ERR_SYNTAX, &m, "%s (byte 0x%02X)",
				       problem, (unsigned)p->problem_value);
		return ld_fail(ld, ERR_SYNTAX, &m, "%s", problem);
	default:
		break;
	}
	if (p->context)
		return ld_fail(ld, ERR_SYNTAX, &p->problem_mark,
			       "%s %s started at line %zu", problem,
			       p->context, p->context_mark.line + 1);
	return ld_fail(ld, ERR_SYNTAX, &p->problem_mark, "%s", problem);
}

/* Move to the next event; the previous one is released. */
static int next_event(struct loader *ld)
{
	if (ld->have_ev)
		yaml_event_delete(&ld->ev);
	ld->have_ev = false;
	if (!yaml_parser_parse(&ld->parser, &ld->ev))
		return syntax_error(ld);
	ld->have_ev = true;
	return 0;
}

/* Count n more nodes (after alias expansion) against max_nodes. */
static int count_nodes(struct loader *ld, size_t n, const yaml_mark_t *m)
{
	if (n > ld->lim.max_nodes - ld->total)
		return ld_fail(ld, ERR_LIMIT, m,
			       "document expands to more than %zu nodes "
			       "(aliases counted in full)", ld->lim.max_nodes);
	ld->total += n;
	return 0;
}

static struct yml_node *new_node(struct loader *ld, enum yml_kind kind,
				 const yaml_mark_t *m)
{
	struct yml_node *n = arena_alloc(ld->arena, sizeof(*n));

	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->pos = mark_pos(ld, m);
	return n;
}

/* Remember anchor name (NULL for none) as being read; returns its index. */
static size_t anchor_open(struct loader *ld, const yaml_char_t *name)
{
	struct anchor *a;
	size_t len = strlen((const char *)name);

	ALLOC_GROW(ld->anchors, ld->n_anchors + 1, ld->alloc_anchors);
	a = &ld->anchors[ld->n_anchors];
	memset(a, 0, sizeof(*a));
	a->name = arena_strndup(ld->arena, (const char *)name, len);
	a->len = len;
	htab_put(&ld->anchor_tab, a->name, a->len, ld->n_anchors);
	return ld->n_anchors++;
}

static void anchor_close(struct loader *ld, size_t idx, struct yml_node *n,
			 size_t size, int height)
{
	ld->anchors[idx].node = n;
	ld->anchors[idx].size = size;
	ld->anchors[idx].height = height;
}

struct built {
	struct yml_node *node;
	size_t size;		/* nodes, aliases expanded */
	int height;
};

static int load_node(struct loader *ld, int depth, struct built *out);

/* alias ::= ALIAS, naming an anchor that came before and is complete */
static int load_alias(struct loader *ld, int depth, struct built *out)
{
	const char *name = (const char *)ld->ev.data.alias.anchor;
	const yaml_mark_t *m = &ld->ev.start_mark;
	struct hent *h = htab_get(&ld->anchor_tab, name, strlen(name));
	char shown[64];
	struct anchor *a;

	show_name(shown, sizeof(shown), name, strlen(name));
	if (!h)
		return ld_fail(ld, ERR_INVALID, m, "undefined alias '*%s'",
			       shown);
	a = &ld->anchors[h->val];
	if (!a->node)
		return ld_fail(ld, ERR_INVALID, m, "alias '*%s' refers to a "
			       "node that contains it", shown);
	if (a->height > ld->lim.max_depth - depth)
		return ld_fail(ld, ERR_LIMIT, m, "alias '*%s' nests deeper "
			       "than %d levels", shown, ld->lim.max_depth);
	if (count_nodes(ld, a->size, m))
		return -1;
	out->node = a->node;
	out->size = a->size;
	out->height = a->height;
	return 0;
}

static bool is_str_tag(const yaml_char_t *tag)
{
	return tag && (!strcmp((const char *)tag, "!") ||
		       !strcmp((const char *)tag, YAML_STR_TAG));
}

/* scalar ::= SCALAR */
static int load_scalar(struct loader *ld, struct built *out)
{
	yaml_event_t *ev = &ld->ev;
	struct yml_node *n;

	if (count_nodes(ld, 1, &ev->start_mark))
		return -1;
	n = new_node(ld, YML_SCALAR, &ev->start_mark);
	switch (ev->data.scalar.style) {
	case YAML_SINGLE_QUOTED_SCALAR_STYLE:
	case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
		n->style = YML_QUOTED;
		break;
	case YAML_LITERAL_SCALAR_STYLE:
	case YAML_FOLDED_SCALAR_STYLE:
		n->style = YML_BLOCK;
		break;
	default:
		n->style = is_str_tag(ev->data.scalar.tag) ? YML_QUOTED
							   : YML_PLAIN;
		break;
	}
	n->len = ev->data.scalar.length;
	n->str = arena_strndup(ld->arena, (const char *)ev->data.scalar.value,
			       n->len);
	if (ev->data.scalar.anchor)
		anchor_close(ld, anchor_open(ld, ev->data.scalar.anchor), n,
			     1, 0);
	out->node = n;
	out->size = 1;
	out->height = 0;
	return 0;
}

/* sequence ::= SEQUENCE-START node* SEQUENCE-END */
static int load_seq(struct loader *ld, int depth, struct built *out)
{
	struct yml_node **items = NULL, *n;
	size_t n_items = 0, alloc = 0, size = 1, ai = SIZE_MAX, guard;
	int height = 0, ret = -1;
	struct built child;

	if (count_nodes(ld, 1, &ld->ev.start_mark))
		goto done;
	n = new_node(ld, YML_SEQ, &ld->ev.start_mark);
	if (ld->ev.data.sequence_start.anchor)
		ai = anchor_open(ld, ld->ev.data.sequence_start.anchor);
	/* Each item uses at least one byte of input. */
	for (guard = 0; guard <= ld->len + 1; guard++) {
		if (next_event(ld))
			goto done;
		if (ld->ev.type == YAML_SEQUENCE_END_EVENT)
			break;
		if (load_node(ld, depth + 1, &child))
			goto done;
		ALLOC_GROW(items, n_items + 1, alloc);
		items[n_items++] = child.node;
		size += child.size;
		if (child.height > height)
			height = child.height;
	}
	if (ld->ev.type != YAML_SEQUENCE_END_EVENT) {
		ld_fail(ld, ERR_INTERNAL, &ld->ev.start_mark,
			"sequence has no end");
		goto done;
	}
	n->n_items = n_items;
	if (n_items) {
		n->items = arena_alloc(ld->arena, n_items * sizeof(*items));
		memcpy(n->items, items, n_items * sizeof(*items));
	}
	if (ai != SIZE_MAX)
		anchor_close(ld, ai, n, size, height + 1);
	out->node = n;
	out->size = size;
	out->height = height + 1;
	ret = 0;
done:
	free(items);
	return ret;
}

/* mapping ::= MAPPING-START (key node)* MAPPING-END
 * key     ::= SCALAR | ALIAS of a scalar */
static int load_map(struct loader *ld, int depth, struct built *out)
{
	struct yml_pair *pairs = NULL;
	struct htab keys = { NULL, 0, 0 };
	struct yml_node *n;
	size_t n_pairs = 0, alloc = 0, size = 1, ai = SIZE_MAX, guard;
	int height = 0, ret = -1;
	struct built k, v;
	struct hent *h;
	char shown[64];

	if (count_nodes(ld, 1, &ld->ev.start_mark))
		goto done;
	n = new_node(ld, YML_MAP, &ld->ev.start_mark);
	if (ld->ev.data.mapping_start.anchor)
		ai = anchor_open(ld, ld->ev.data.mapping_start.anchor);
	for (guard = 0; guard <= ld->len + 1; guard++) {
		if (next_event(ld))
			goto done;
		if (ld->ev.type == YAML_MAPPING_END_EVENT)
			break;
		if (ld->ev.type == YAML_SEQUENCE_START_EVENT ||
		    ld->ev.type == YAML_MAPPING_START_EVENT) {
			ld_fail(ld, ERR_INVALID, &ld->ev.start_mark,
				"a mapping key must be a scalar, not a %s",
				ld->ev.type == YAML_SEQUENCE_START_EVENT ?
				"sequence" : "mapping");
			goto done;
		}
		if (load_node(ld, depth + 1, &k))
			goto done;
		if (k.node->kind != YML_SCALAR) {
			ld_fail(ld, ERR_INVALID, &ld->ev.start_mark,
				"a mapping key must be a scalar, not an alias "
				"of a %s", yml_kind_name(k.node));
			goto done;
		}
		h = htab_get(&keys, k.node->str, k.node->len);
		if (h) {
			show_name(shown, sizeof(shown), k.node->str,
				  k.node->len);
			ld_fail(ld, ERR_INVALID, &ld->ev.start_mark,
				"duplicate key '%s' (first at line %d)", shown,
				pairs[h->val].key->pos.line);
			goto done;
		}
		htab_put(&keys, k.node->str, k.node->len, n_pairs);
		if (next_event(ld) || load_node(ld, depth + 1, &v))
			goto done;
		ALLOC_GROW(pairs, n_pairs + 1, alloc);
		pairs[n_pairs].key = k.node;
		pairs[n_pairs].val = v.node;
		n_pairs++;
		size += k.size + v.size;
		if (v.height > height)
			height = v.height;
	}
	if (ld->ev.type != YAML_MAPPING_END_EVENT) {
		ld_fail(ld, ERR_INTERNAL, &ld->ev.start_mark,
			"mapping has no end");
		goto done;
	}
	n->n_pairs = n_pairs;
	if (n_pairs) {
		n->pairs = arena_alloc(ld->arena, n_pairs * sizeof(*pairs));
		memcpy(n->pairs, pairs, n_pairs * sizeof(*pairs));
	}
	if (ai != SIZE_MAX)
		anchor_close(ld, ai, n, size, height + 1);
	out->node = n;
	out->size = size;
	out->height = height + 1;
	ret = 0;
done:
	free(keys.e);
	free(pairs);
	return ret;
}

/* node ::= alias | scalar | sequence | mapping
 * depth is the number of collections around the node. */
static int load_node(struct loader *ld, int depth, struct built *out)
{
	switch (ld->ev.type) {
	case YAML_ALIAS_EVENT:
		return load_alias(ld, depth, out);
	case YAML_SCALAR_EVENT:
		return load_scalar(ld, out);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (depth >= ld->lim.max_depth)
			return ld_fail(ld, ERR_LIMIT, &ld->ev.start_mark,
				       "nesting deeper than %d levels",
				       ld->lim.max_depth);
		if (ld->ev.type == YAML_SEQUENCE_START_EVENT)
			return load_seq(ld, depth, out);
		return load_map(ld, depth, out);
	default:
		BUG("unexpected YAML event %d", (int)ld->ev.type);
	}
}

/* stream   ::= STREAM-START document? ...
 * document ::= DOCUMENT-START node DOCUMENT-END
 * Only the first document is read; what follows it is not parsed. */
static int load_stream(struct loader *ld)
{
	struct built root;

	if (next_event(ld))
		return -1;
	if (ld->ev.type != YAML_STREAM_START_EVENT)
		BUG("stream without start");
	if (next_event(ld))
		return -1;
	if (ld->ev.type == YAML_STREAM_END_EVENT)
		return 0;
	if (ld->ev.type != YAML_DOCUMENT_START_EVENT)
		BUG("unexpected YAML event %d", (int)ld->ev.type);
	if (next_event(ld) || load_node(ld, 0, &root))
		return -1;
	/* Errors right after the root (a stray key) surface here. */
	if (next_event(ld))
		return -1;
	if (ld->ev.type != YAML_DOCUMENT_END_EVENT)
		BUG("document without end");
	if (root.node->kind == YML_SCALAR && root.node->style == YML_PLAIN &&
	    root.node->len == 0)
		root.node = NULL;
	ld->doc->root = root.node;
	return 0;
}

static void limits_or_defaults(struct yml_limits *out,
			       const struct yml_limits *in)
{
	out->max_bytes = in && in->max_bytes ? in->max_bytes
					     : YML_DEFAULT_BYTES;
	out->max_depth = in && in->max_depth > 0 ? in->max_depth
						 : YML_DEFAULT_DEPTH;
	out->max_nodes = in && in->max_nodes ? in->max_nodes
					     : YML_DEFAULT_NODES;
}

int yml_load_mem(struct yml_doc **out, const char *name, const char *data,
		 size_t len, const struct yml_limits *limits, struct err *e)
{
	struct loader ld;
	struct yml_doc *doc;
	bool parser_ready = false;
	int ret = -1;

	*out = NULL;
	memset(&ld, 0, sizeof(ld));
	limits_or_defaults(&ld.lim, limits);
	doc = xcalloc(1, sizeof(*doc));
	doc->file = xstrdup(name ? name : "<input>");
	ld.arena = xcalloc(1, sizeof(*ld.arena));
	doc->arena = ld.arena;
	ld.doc = doc;
	ld.e = e;
	ld.data = data;
	ld.len = len;
	if (len > ld.lim.max_bytes) {
		err_set(e, ERR_LIMIT, "%s:1:1: input is %zu bytes, over the "
			"limit of %zu", doc->file, len, ld.lim.max_bytes);
		goto done;
	}
	if (!yaml_parser_initialize(&ld.parser)) {
		err_set(e, ERR_INTERNAL, "%s: cannot start the YAML parser",
			doc->file);
		goto done;
	}
	parser_ready = true;
	yaml_parser_set_input_string(&ld.parser,
				     (const unsigned char *)(data ? data : ""),
				     len);
	if (load_stream(&ld))
		goto done;
	*out = doc;
	doc = NULL;
	ret = 0;
done:
	if (ld.have_ev)
		yaml_event_delete(&ld.ev);
	if (parser_ready)
		yaml_parser_delete(&ld.parser);
	free(ld.anchors);
	free(ld.anchor_tab.e);
	yml_doc_free(doc);
	return ret;
}

int yml_load_file(struct yml_doc **out, const char *path,
		  const struct yml_limits *limits, struct err *e)
{
	struct yml_limits lim;
	struct buf b = BUF_INIT;
	char chunk[65536];
	struct stat st;
	size_t tries;
	int fd, ret = -1;

	*out = NULL;
	limits_or_defaults(&lim, limits);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err_sys(e, errno == ENOENT ? ERR_NOT_FOUND : ERR_IO,
			"%s: cannot open", path);
		goto done;
	}
	if (fstat(fd, &st) < 0) {
		err_sys(e, ERR_IO, "%s: cannot stat", path);
		goto done;
	}
	if (S_ISDIR(st.st_mode)) {
		err_set(e, ERR_IO, "%s: is a directory", path);
		goto done;
	}
	buf_init(&b, lim.max_bytes);
	/* Every pass reads at least a byte or ends; the cap bounds it. */
	for (tries = 0; tries <= lim.max_bytes + 100; tries++) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_sys(e, ERR_IO, "%s: cannot read", path);
			goto done;
		}
		if (n == 0)
			break;
		if (buf_add(&b, chunk, (size_t)n)) {
			err_set(e, ERR_LIMIT, "%s:1:1: file is over the limit "
				"of %zu bytes", path, lim.max_bytes);
			goto done;
		}
	}
	ret = yml_load_mem(out, path, b.ptr, b.len, &lim, e);
done:
	if (fd >= 0)
		close(fd);
	buf_release(&b);
	return ret;
}

void yml_doc_free(struct yml_doc *doc)
{
	if (!doc)
		return;
	arena_free(doc->arena);
	free(doc->file);
	free(doc);
}
