/*
 * expr: lexer and recursive-descent parser for GitHub Actions expressions,
 * and the questions asked of a parsed tree (status functions, contexts).
 *
 * The lexer makes one token at a time on the parser's demand, because a
 * '.' means a property access after an operand and a number (".5") before
 * one, and a name after '.' may start with a digit ("steps.1st").
 * Keywords (true, false, null) are case-sensitive; context
 * and function names are not. Binary operators are left-associative; &&
 * and || chains become one n-ary node so that long chains stay shallow.
 * Every node records its height, capped at EXPR_MAX_DEPTH.
 */
#include "expr_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../lib/buf.h"
#include "../lib/util.h"

enum tok {
	T_EOF, T_NUM, T_STR, T_IDENT, T_LPAREN, T_RPAREN, T_LBRACK, T_RBRACK,
	T_DOT, T_COMMA, T_STAR, T_NOT, T_LT, T_LE, T_GT, T_GE, T_EQ, T_NE,
	T_AND, T_OR,
};

struct parser {
	const char *src;
	size_t len;
	size_t pos;		/* next byte to lex */
	enum tok tok;		/* current token */
	size_t tstart, tlen;	/* its bytes in src */
	json_t *tval;		/* owned: value of T_NUM and T_STR */
	enum tok prev;		/* token before the current one */
	int depth;		/* nesting of ( [ ! and calls */
	struct err *e;
};

/* Binary operator precedence, lowest first; levels 0 and 1 (|| and &&)
 * are n-ary and handled by parse_logic, the others by parse_binary. */
static const struct {
	enum tok tok;
	enum expr_node_kind kind;
	int level;
} binops[] = {
	{ T_OR, EXPR_N_OR, 0 },
	{ T_AND, EXPR_N_AND, 1 },
	{ T_EQ, EXPR_N_EQ, 2 },
	{ T_NE, EXPR_N_NE, 2 },
	{ T_LT, EXPR_N_LT, 3 },
	{ T_LE, EXPR_N_LE, 3 },
	{ T_GT, EXPR_N_GT, 3 },
	{ T_GE, EXPR_N_GE, 3 },
};
#define LEVEL_UNARY 4

static size_t col_of(const struct parser *p, size_t off)
{
	return off + 1;
}

static int syntax(struct parser *p, size_t off, const char *what)
{
	return err_set(p->e, ERR_SYNTAX, "%s at column %zu", what,
		       col_of(p, off));
}

static bool is_ident_start(int c)
{
	return isalpha(c) || c == '_';
}

static bool is_ident_char(int c)
{
	return isalnum(c) || c == '_' || c == '-';
}

/* Does the token just made end an operand (so '.' is an access)? */
static bool ends_operand(enum tok t)
{
	return t == T_NUM || t == T_STR || t == T_IDENT || t == T_RPAREN ||
	       t == T_RBRACK || t == T_STAR;
}

/* string := "'" ( [^'] | "''" )* "'" */
static int lex_string(struct parser *p)
{
	struct buf b;
	size_t i = p->pos + 1;
	int rc = -1;

	buf_init(&b, 0);
	for (;;) {
		if (i >= p->len) {
			syntax(p, p->pos, "unterminated string");
			goto done;
		}
		if (p->src[i] == '\'') {
			if (i + 1 < p->len && p->src[i + 1] == '\'') {
				buf_addch(&b, '\'');
				i += 2;
				continue;
			}
			i++;
			break;
		}
		buf_addch(&b, p->src[i]);
		i++;
	}
	p->tok = T_STR;
	p->tlen = i - p->pos;
	p->tval = expr_json_string(b.ptr, b.len);
	p->pos = i;
	rc = 0;
done:
	buf_release(&b);
	return rc;
}

/* number := any finite number the string-to-number rule accepts: 12,
 * -9.2, 0xff, 0o17, -2.99e-2, .5; as GitHub does, the token runs to the
 * next blank or operator character, so 1-2 is one bad symbol. jansson holds no NaN or infinity, so neither is a
 * literal here. */
static int lex_number(struct parser *p)
{
	size_t i = p->pos;
	double d;
	char what[96];

	i++;
	while (i < p->len && !isspace((unsigned char)p->src[i]) &&
	       !strchr("()[],!<>=&|'", p->src[i]))
		i++;
	d = expr_parse_number(p->src + p->pos, i - p->pos);
	if (isnan(d) || isinf(d)) {
		snprintf(what, sizeof(what), "unexpected symbol '%.*s'",
			 (int)(i - p->pos > 64 ? 64 : i - p->pos),
			 p->src + p->pos);
		return syntax(p, p->pos, what);
	}
	p->tok = T_NUM;
	p->tlen = i - p->pos;
	if (d == floor(d) && fabs(d) < 9007199254740992.0 &&
	    !(d == 0 && signbit(d)))
		p->tval = json_integer((json_int_t)d);
	else
		p->tval = json_real(d);
	p->pos = i;
	return 0;
}

static const struct {
	const char *text;
	enum tok tok;
} puncts[] = {
	{ "&&", T_AND }, { "||", T_OR }, { "==", T_EQ }, { "!=", T_NE },
	{ "<=", T_LE }, { ">=", T_GE }, { "<", T_LT }, { ">", T_GT },
	{ "!", T_NOT }, { "(", T_LPAREN }, { ")", T_RPAREN },
	{ "[", T_LBRACK }, { "]", T_RBRACK }, { ".", T_DOT },
	{ ",", T_COMMA }, { "*", T_STAR },
};

/* Make the next token from p->pos. */
static int lex(struct parser *p)
{
	const char *s = p->src;
	size_t i;
	char what[64];

	json_decref(p->tval);
	p->tval = NULL;
	p->prev = p->tok;
	while (p->pos < p->len && isspace((unsigned char)s[p->pos]))
		p->pos++;
	p->tstart = p->pos;
	p->tlen = 0;
	if (p->pos >= p->len) {
		p->tok = T_EOF;
		return 0;
	}
	i = p->pos;
	if (p->prev == T_DOT && is_ident_char((unsigned char)s[i])) {
		while (i < p->len && is_ident_char((unsigned char)s[i]))
			i++;
		p->tok = T_IDENT;
		p->tlen = i - p->pos;
		p->pos = i;
		return 0;
	}
	if (s[i] == '\'')
		return lex_string(p);
	if (isdigit((unsigned char)s[i]) ||
	    ((s[i] == '-' || s[i] == '.') && !ends_operand(p->prev) &&
	     i + 1 < p->len &&
	     (isdigit((unsigned char)s[i + 1]) || s[i + 1] == '.')))
		return lex_number(p);
	if (is_ident_start((unsigned char)s[i])) {
		while (i < p->len && is_ident_char((unsigned char)s[i]))
			i++;
		p->tok = T_IDENT;
		p->tlen = i - p->pos;
		p->pos = i;
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(puncts); i++) {
		size_t n = strlen(puncts[i].text);

		if (p->pos + n <= p->len &&
		    !memcmp(s + p->pos, puncts[i].text, n)) {
			p->tok = puncts[i].tok;
			p->tlen = n;
			p->pos += n;
			return 0;
		}
	}
	if (s[p->pos] == '"')
		return syntax(p, p->pos, "unexpected '\"' (strings take "
			      "single quotes)");
	if (isprint((unsigned char)s[p->pos]))
		snprintf(what, sizeof(what), "unexpected '%c'", s[p->pos]);
	else
		snprintf(what, sizeof(what), "unexpected byte 0x%02x",
			 (unsigned char)s[p->pos]);
	return syntax(p, p->pos, what);
}

static int unexpected(struct parser *p, const char *expected)
{
	char what[160];

	if (p->tok == T_EOF)
		snprintf(what, sizeof(what), "expected %s, found end of "
			 "expression", expected);
	else
		snprintf(what, sizeof(what), "expected %s, found '%.*s'",
			 expected, (int)(p->tlen > 32 ? 32 : p->tlen),
			 p->src + p->tstart);
	return syntax(p, p->tstart, what);
}

static void node_free(struct expr_node *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	json_decref(n->lit);
	free(n->name);
	free(n);
}

static struct expr_node *node_new(enum expr_node_kind kind, size_t col)
{
	struct expr_node *n = xcalloc(1, sizeof(*n));

	n->kind = kind;
	n->col = col;
	n->height = 1;
	return n;
}

/* Add kid to n (taking it) and check the height cap. */
static int node_add(struct parser *p, struct expr_node *n,
		    struct expr_node *kid)
{
	n->kids = xrealloc(n->kids, (n->nkids + 1) * sizeof(*n->kids));
	n->kids[n->nkids++] = kid;
	if (kid->height + 1 > n->height)
		n->height = kid->height + 1;
	if (n->height > EXPR_MAX_DEPTH)
		return err_set(p->e, ERR_LIMIT, "expression nested deeper "
			       "than %d levels at column %zu",
			       EXPR_MAX_DEPTH, n->col);
	return 0;
}

static int enter(struct parser *p)
{
	if (++p->depth > EXPR_MAX_DEPTH)
		return err_set(p->e, ERR_LIMIT, "expression nested deeper "
			       "than %d levels at column %zu",
			       EXPR_MAX_DEPTH, col_of(p, p->tstart));
	return 0;
}

static int parse_level(struct expr_node **out, struct parser *p, int level);

/* args := [ or ( ',' or )* ]   (after '(' of IDENT '(') */
static int parse_call(struct expr_node **out, struct parser *p,
		      size_t start, size_t namelen)
{
	struct expr_node *n = NULL, *arg = NULL;
	const struct expr_func *fn;
	int rc = -1;

	fn = expr_func_lookup(p->src + start, namelen);
	if (!fn) {
		err_set(p->e, ERR_SYNTAX, "unknown function '%.*s' at column "
			"%zu", (int)(namelen > 64 ? 64 : namelen),
			p->src + start, col_of(p, start));
		goto done;
	}
	n = node_new(EXPR_N_CALL, col_of(p, start));
	n->fn = fn;
	if (enter(p) < 0 || lex(p) < 0)
		goto done;
	if (p->tok != T_RPAREN) {
		for (;;) {
			if (parse_level(&arg, p, 0) < 0)
				goto done;
			if (node_add(p, n, arg) < 0)
				goto done;
			arg = NULL;
			if (p->tok == T_RPAREN)
				break;
			if (p->tok != T_COMMA) {
				unexpected(p, "',' or ')'");
				goto done;
			}
			if (lex(p) < 0)
				goto done;
		}
	}
	p->depth--;
	if (n->nkids < fn->min_args || n->nkids > fn->max_args) {
		if (fn->min_args == fn->max_args)
			err_set(p->e, ERR_SYNTAX, "%s expects %zu argument%s, "
				"got %zu at column %zu", fn->name,
				fn->min_args, fn->min_args == 1 ? "" : "s",
				n->nkids, n->col);
		else if (n->nkids < fn->min_args)
			err_set(p->e, ERR_SYNTAX, "%s expects at least %zu "
				"argument%s, got %zu at column %zu", fn->name,
				fn->min_args, fn->min_args == 1 ? "" : "s",
				n->nkids, n->col);
		else
			err_set(p->e, ERR_SYNTAX, "%s expects at most %zu "
				"arguments, got %zu at column %zu", fn->name,
				fn->max_args, n->nkids, n->col);
		goto done;
	}
	if (lex(p) < 0)
		goto done;
	*out = n;
	n = NULL;
	rc = 0;
done:
	node_free(arg);
	node_free(n);
	return rc;
}

static bool is_keyword(const struct parser *p, const char *kw)
{
	return p->tlen == strlen(kw) && !memcmp(p->src + p->tstart, kw,
						p->tlen);
}

/* primary := literal | IDENT | IDENT '(' args ')' | '(' or ')' */
static int parse_primary(struct expr_node **out, struct parser *p)
{
	struct expr_node *n = NULL;
	size_t start = p->tstart, len = p->tlen;

	switch (p->tok) {
	case T_NUM:
	case T_STR:
		n = node_new(EXPR_N_LIT, col_of(p, start));
		n->lit = p->tval;
		p->tval = NULL;
		break;
	case T_IDENT:
		n = node_new(EXPR_N_LIT, col_of(p, start));
		if (is_keyword(p, "true"))
			n->lit = json_true();
		else if (is_keyword(p, "false"))
			n->lit = json_false();
		else if (is_keyword(p, "null"))
			n->lit = json_null();
		if (!n->lit) {
			size_t i;

			if (lex(p) < 0)
				goto fail;
			if (p->tok == T_LPAREN) {
				node_free(n);
				return parse_call(out, p, start, len);
			}
			n->kind = EXPR_N_CTX;
			n->name = xstrndup(p->src + start, len);
			for (i = 0; i < len; i++)
				n->name[i] = (char)tolower(
					(unsigned char)n->name[i]);
			*out = n;
			return 0;
		}
		break;
	case T_LPAREN:
		if (enter(p) < 0 || lex(p) < 0)
			return -1;
		if (parse_level(&n, p, 0) < 0)
			return -1;
		if (p->tok != T_RPAREN) {
			unexpected(p, "')'");
			goto fail;
		}
		p->depth--;
		break;
	default:
		return unexpected(p, "a value");
	}
	if (lex(p) < 0)
		goto fail;
	*out = n;
	return 0;
fail:
	node_free(n);
	return -1;
}

/* postfix := primary ( '.' IDENT | '.' '*' | '[' or ']' | '[' '*' ']' )* */
static int parse_postfix(struct expr_node **out, struct parser *p)
{
	struct expr_node *n = NULL, *idx = NULL, *acc;
	size_t col;

	if (parse_primary(&n, p) < 0)
		return -1;
	while (p->tok == T_DOT || p->tok == T_LBRACK) {
		col = col_of(p, p->tstart);
		if (p->tok == T_DOT) {
			if (lex(p) < 0)
				goto fail;
			if (p->tok == T_STAR) {
				acc = node_new(EXPR_N_WILD, col);
			} else if (p->tok == T_IDENT) {
				acc = node_new(EXPR_N_INDEX, col);
				idx = node_new(EXPR_N_LIT, col + 1);
				idx->lit = expr_json_string(p->src + p->tstart,
							    p->tlen);
			} else {
				unexpected(p, "a property name after '.'");
				goto fail;
			}
			if (lex(p) < 0) {
				node_free(acc);
				goto fail;
			}
		} else {
			if (enter(p) < 0 || lex(p) < 0)
				goto fail;
			if (p->tok == T_STAR) {
				acc = node_new(EXPR_N_WILD, col);
				if (lex(p) < 0) {
					node_free(acc);
					goto fail;
				}
			} else {
				if (parse_level(&idx, p, 0) < 0)
					goto fail;
				acc = node_new(EXPR_N_INDEX, col);
			}
			if (p->tok != T_RBRACK) {
				node_free(acc);
				unexpected(p, "']'");
				goto fail;
			}
			p->depth--;
			if (lex(p) < 0) {
				node_free(acc);
				goto fail;
			}
		}
		if (node_add(p, acc, n) < 0) {
			n = acc;
			goto fail;
		}
		n = acc;
		if (idx) {
			struct expr_node *k = idx;

			idx = NULL;
			if (node_add(p, n, k) < 0)
				goto fail;
		}
	}
	*out = n;
	return 0;
fail:
	node_free(idx);
	node_free(n);
	return -1;
}

/* unary := '!' unary | postfix */
static int parse_unary(struct expr_node **out, struct parser *p)
{
	struct expr_node *n, *kid = NULL;

	if (p->tok != T_NOT)
		return parse_postfix(out, p);
	n = node_new(EXPR_N_NOT, col_of(p, p->tstart));
	if (enter(p) < 0 || lex(p) < 0 || parse_unary(&kid, p) < 0) {
		node_free(n);
		return -1;
	}
	p->depth--;
	if (node_add(p, n, kid) < 0) {
		node_free(n);
		return -1;
	}
	*out = n;
	return 0;
}

static int binop_of(enum tok t, int level, enum expr_node_kind *kind)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(binops); i++) {
		if (binops[i].tok == t && binops[i].level == level) {
			*kind = binops[i].kind;
			return 1;
		}
	}
	return 0;
}

/*
 * or  := and ( '||' and )*      (one n-ary node)
 * and := eq ( '&&' eq )*        (one n-ary node)
 * eq  := cmp ( ('==' | '!=') cmp )*
 * cmp := unary ( ('<' | '<=' | '>' | '>=') unary )*
 */
static int parse_level(struct expr_node **out, struct parser *p, int level)
{
	struct expr_node *n = NULL, *rhs = NULL, *op;
	enum expr_node_kind kind;

	if (level >= LEVEL_UNARY)
		return parse_unary(out, p);
	if (parse_level(&n, p, level + 1) < 0)
		return -1;
	while (binop_of(p->tok, level, &kind)) {
		size_t col = col_of(p, p->tstart);
		bool nary = kind == EXPR_N_AND || kind == EXPR_N_OR;

		if (lex(p) < 0 || parse_level(&rhs, p, level + 1) < 0)
			goto fail;
		if (nary && n->kind == kind) {
			op = n;
		} else {
			op = node_new(kind, col);
			if (node_add(p, op, n) < 0) {
				n = op;
				goto fail;
			}
		}
		n = op;
		op = rhs;
		rhs = NULL;
		if (node_add(p, n, op) < 0)
			goto fail;
	}
	*out = n;
	return 0;
fail:
	node_free(rhs);
	node_free(n);
	return -1;
}

int expr_parse(struct expr **out, const char *src, size_t len, struct err *e)
{
	struct parser p;
	struct expr_node *root = NULL;
	int rc = -1;

	*out = NULL;
	if (len > EXPR_MAX_LEN)
		return err_set(e, ERR_LIMIT, "expression longer than %d bytes",
			       EXPR_MAX_LEN);
	memset(&p, 0, sizeof(p));
	p.src = src;
	p.len = len;
	p.tok = T_EOF;
	p.e = e;
	if (lex(&p) < 0)
		goto done;
	if (p.tok == T_EOF) {
		err_set(e, ERR_SYNTAX, "expected an expression at column 1");
		goto done;
	}
	if (parse_level(&root, &p, 0) < 0)
		goto done;
	if (p.tok != T_EOF) {
		unexpected(&p, "an operator or the end");
		goto done;
	}
	*out = xcalloc(1, sizeof(**out));
	(*out)->root = root;
	root = NULL;
	rc = 0;
done:
	json_decref(p.tval);
	node_free(root);
	return rc;
}

void expr_free(struct expr *x)
{
	if (!x)
		return;
	node_free(x->root);
	free(x);
}

static bool node_has_status(const struct expr_node *n)
{
	size_t i;

	if (n->kind == EXPR_N_CALL && n->fn->status)
		return true;
	for (i = 0; i < n->nkids; i++)
		if (node_has_status(n->kids[i]))
			return true;
	return false;
}

bool expr_has_status_function(const struct expr *x)
{
	return x && node_has_status(x->root);
}

static void collect_contexts(const struct expr_node *n, char ***out,
			     size_t *nout)
{
	size_t i;

	if (n->kind == EXPR_N_CTX) {
		for (i = 0; i < *nout; i++)
			if (!strcmp((*out)[i], n->name))
				return;
		*out = xrealloc(*out, (*nout + 1) * sizeof(**out));
		(*out)[(*nout)++] = xstrdup(n->name);
		return;
	}
	for (i = 0; i < n->nkids; i++)
		collect_contexts(n->kids[i], out, nout);
}

int expr_contexts_used(char ***out, size_t *n, const struct expr *x)
{
	*out = NULL;
	*n = 0;
	if (x)
		collect_contexts(x->root, out, n);
	return 0;
}
