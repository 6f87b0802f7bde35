/*
 * expr_tmpl: strings with ${{ }} in them, and if: conditions.
 *
 * The end of an expression is found by scanning it as the lexer would:
 * "}}" inside a 'string' does not end it (${{ format('{0}}}', x) }}).
 * Text outside the expressions is kept byte for byte.
 *
 * Error offsets (expr_check_template, expr_check_if) are byte offsets of
 * the "${{" that opens the failing expression, or of the first non-blank
 * byte of a bare if: condition; the message gives the column inside the
 * expression.
 */
#include "expr_int.h"

#include <pthread.h>
#include <string.h>

#include "../lib/buf.h"
#include "../lib/util.h"

/* One ${{ }} found in a template. */
struct part {
	size_t open;	/* offset of "${{" */
	size_t inner;	/* offset of the text after "${{" */
	size_t len;	/* length of that text, up to "}}" */
	size_t end;	/* offset just after "}}" */
};

/* Find the next ${{ }} at or after from: 1 found, 0 none, -1 error. */
static int next_part(struct part *p, const char *s, size_t from,
		     struct err *e)
{
	const char *open = strstr(s + from, "${{");
	size_t i;
	bool in_str = false;

	if (!open)
		return 0;
	p->open = (size_t)(open - s);
	p->inner = p->open + 3;
	for (i = p->inner; s[i]; i++) {
		if (s[i] == '\'') {
			in_str = !in_str;	/* '' toggles twice */
		} else if (!in_str && s[i] == '}' && s[i + 1] == '}') {
			p->len = i - p->inner;
			p->end = i + 2;
			return 1;
		}
	}
	if (in_str)
		return err_set(e, ERR_SYNTAX, "unterminated string in '${{' "
			       "expression (no closing '}}')");
	return err_set(e, ERR_SYNTAX, "'${{' without a closing '}}'");
}


/*
 * Parsed expressions, kept by their text: a workflow's templates are
 * evaluated again for every matrix instance and step, and parsing them
 * each time costs more than evaluating them. The AST is never changed by
 * evaluation, so one parse serves every thread. Bounded in entries and
 * bytes; past the bound expressions are parsed afresh (and the caller
 * frees them through *owned).
 */
#define CACHE_SLOTS 16384
#define CACHE_MAX_BYTES (8u << 20)

struct cache_ent {
	char *text;
	size_t len;
	struct expr *x;
};

static struct cache_ent cache_tab[CACHE_SLOTS];
static size_t cache_used, cache_bytes;
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;

static size_t cache_hash(const char *s, size_t n)
{
	size_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static int parse_cached(const struct expr **out, struct expr **owned,
			const char *src, size_t len, struct err *e)
{
	size_t h = cache_hash(src, len) % CACHE_SLOTS, i;
	struct expr *x;

	*owned = NULL;
	pthread_mutex_lock(&cache_mu);
	for (i = 0; i < CACHE_SLOTS; i++) {
		struct cache_ent *c = &cache_tab[(h + i) % CACHE_SLOTS];

		if (!c->text)
			break;
		if (c->len == len && !memcmp(c->text, src, len)) {
			*out = c->x;
			pthread_mutex_unlock(&cache_mu);
			return 0;
		}
	}
	pthread_mutex_unlock(&cache_mu);
	if (expr_parse(&x, src, len, e) < 0)
		return -1;
	pthread_mutex_lock(&cache_mu);
	if (cache_used < CACHE_SLOTS / 2 && cache_bytes + len <= CACHE_MAX_BYTES) {
		for (i = 0; i < CACHE_SLOTS; i++) {
			struct cache_ent *c = &cache_tab[(h + i) % CACHE_SLOTS];

			if (c->text && c->len == len && !memcmp(c->text, src, len)) {
				/* another thread was first */
				*out = c->x;
				pthread_mutex_unlock(&cache_mu);
				expr_free(x);
				return 0;
			}
			if (!c->text) {
				c->text = xstrndup(src, len);
				c->len = len;
				c->x = x;
				cache_used++;
				cache_bytes += len;
				*out = x;
				pthread_mutex_unlock(&cache_mu);
				return 0;
			}
		}
	}
	pthread_mutex_unlock(&cache_mu);
	*owned = x;
	*out = x;
	return 0;
}

static int parse_part(const struct expr **x, struct expr **owned, const char *s,
		      const struct part *p, struct err *e)
{
	return parse_cached(x, owned, s + p->inner, p->len, e);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

/* Trimmed bounds of s. */
static void trim(const char *s, size_t *b, size_t *end)
{
	*b = 0;
	*end = strlen(s);
	while (*b < *end && is_blank(s[*b]))
		(*b)++;
	while (*end > *b && is_blank(s[*end - 1]))
		(*end)--;
}

/* Is the trimmed s exactly one ${{ }}? Fills p when it is. */
static int single_part(struct part *p, const char *s, struct err *e)
{
	size_t b, end;
	int rc;

	trim(s, &b, &end);
	if (end - b < 3 || memcmp(s + b, "${{", 3))
		return 0;
	rc = next_part(p, s, b, e);
	if (rc <= 0)
		return rc;
	return p->end == end;
}

/*
 * The common loop of expr_interpolate: *known_len counts the bytes of the
 * output that do not come from unknown expressions, *has_status whether
 * any expression calls a status function.
 */
static int interpolate(char **out, const char *s, const struct expr_env *env,
		       size_t *known_len, bool *has_status, struct err *e)
{
	struct buf b;
	struct part p;
	const struct expr *x = NULL;
	struct expr *owned = NULL;
	json_t *v = NULL;
	char *str, *first = NULL;
	size_t from = 0, known = 0;
	int r, rc = -1;

	*out = NULL;
	buf_init(&b, EXPR_MAX_STRING);
	for (;;) {
		r = next_part(&p, s, from, e);
		if (r < 0)
			goto done;
		if (r == 0)
			break;
		if (buf_add(&b, s + from, p.open - from) < 0)
			goto too_long;
		known += p.open - from;
		if (parse_part(&x, &owned, s, &p, e) < 0)
			goto done;
		if (has_status && expr_has_status_function(x))
			*has_status = true;
		r = expr_eval(&v, x, env, e);
		expr_free(owned);
		owned = NULL;
		if (r < 0)
			goto done;
		if (r == EXPR_UNKNOWN) {
			if (!first)
				first = xstrdup(e->msg);
			if (buf_add(&b, s + p.open, p.end - p.open) < 0)
				goto too_long;
		} else {
			str = expr_to_string(v);
			json_decref(v);
			v = NULL;
			r = buf_adds(&b, str);
			known += strlen(str);
			free(str);
			if (r < 0)
				goto too_long;
		}
		from = p.end;
	}
	if (buf_adds(&b, s + from) < 0)
		goto too_long;
	known += strlen(s + from);
	if (known_len)
		*known_len = known;
	*out = buf_detach(&b, NULL);
	rc = 0;
	if (first) {
		expr_set_unknown_msg(e, first);
		rc = EXPR_UNKNOWN;
	}
	goto done;
too_long:
	err_set(e, ERR_LIMIT, "template result longer than %u bytes",
		EXPR_MAX_STRING);
done:
	free(first);
	expr_free(owned);
	buf_release(&b);
	return rc;
}

int expr_interpolate(char **out, const char *s, const struct expr_env *env,
		     struct err *e)
{
	return interpolate(out, s, env, NULL, NULL, e);
}

int expr_interpolate_value(json_t **out, const char *s,
			   const struct expr_env *env, struct err *e)
{
	struct part p;
	struct expr *x = NULL;
	char *str;
	int r;

	*out = NULL;
	r = single_part(&p, s, e);
	if (r < 0)
		return -1;
	if (r == 1) {
		const struct expr *cx;

		if (parse_part(&cx, &x, s, &p, e) < 0)
			return -1;
		r = expr_eval(out, cx, env, e);
		expr_free(x);
		if (r == EXPR_UNKNOWN)
			*out = expr_json_string(s, strlen(s));
		return r;
	}
	r = expr_interpolate(&str, s, env, e);
	if (r < 0)
		return -1;
	*out = expr_json_string(str, strlen(str));
	free(str);
	return r;
}

int expr_check_template(const char *s, size_t *err_offset, struct err *e)
{
	struct part p;
	struct expr *x;
	size_t from = 0;
	int r;

	for (;;) {
		r = next_part(&p, s, from, e);
		if (r == 0)
			return 0;
		if (r < 0 || expr_parse(&x, s + p.inner, p.len, e) < 0) {
			*err_offset = p.open;
			return -1;
		}
		expr_free(x);
		from = p.end;
	}
}

int expr_each_in_template(const char *s,
			  int (*fn)(const struct expr *x, size_t offset, void *ud),
			  void *ud, struct err *e)
{
	struct part p;
	struct expr *x;
	size_t from = 0;
	int r;

	for (;;) {
		r = next_part(&p, s, from, e);
		if (r <= 0)
			return r;
		if (expr_parse(&x, s + p.inner, p.len, e) < 0)
			return -1;
		r = fn(x, p.open, ud);
		expr_free(x);
		if (r)
			return r;
		from = p.end;
	}
}

enum if_form { IF_EMPTY, IF_EXPR, IF_TEMPLATE };

/* How an if: condition reads, and the bounds of its expression. */
static int if_form(const char *cond, size_t *start, size_t *len,
		   size_t *offset, struct err *e)
{
	struct part p;
	size_t b, end;
	int r;

	trim(cond, &b, &end);
	*offset = b;
	if (b == end)
		return IF_EMPTY;
	r = single_part(&p, cond, e);
	if (r < 0)
		return -1;
	if (r == 1) {
		*start = p.inner;
		*len = p.len;
		return IF_EXPR;
	}
	if (strstr(cond, "${{"))
		return IF_TEMPLATE;
	*start = b;
	*len = end - b;
	return IF_EXPR;
}

/* The condition's own value as a val, before the implicit success(). */
static int eval_cond(struct val *v, bool *has_status, const char *cond,
		     const struct expr_env *env, struct err *e)
{
	struct expr *x = NULL;
	size_t start = 0, len = 0, off, known = 0;
	char *str = NULL;
	int form, r;

	form = if_form(cond, &start, &len, &off, e);
	if (form < 0)
		return -1;
	if (form == IF_EMPTY) {
		*has_status = false;
		expr_val_set(v, json_true());
		return 0;
	}
	if (form == IF_EXPR) {
		const struct expr *cx;

		if (parse_cached(&cx, &x, cond + start, len, e) < 0)
			return -1;
		*has_status = expr_has_status_function(cx);
		r = expr_eval_val(v, cx, env, e);
		expr_free(x);
		return r;
	}
	/* a template: its string counts, so any text makes it true */
	*has_status = false;
	r = interpolate(&str, cond, env, &known, has_status, e);
	if (r < 0)
		return -1;
	if (r == EXPR_UNKNOWN) {
		expr_val_unknown(v, e->msg, false);
		v->truth = known > 0 ? 1 : -1;
	} else {
		expr_val_set(v, json_boolean(str[0] != '\0'));
	}
	free(str);
	return 0;
}

int expr_eval_if(bool *out, const char *cond, const struct expr_env *env,
		 struct err *e)
{
	struct val v = VAL_INIT;
	bool has_status = false;
	int t, st, rc = -1;

	*out = false;
	if (eval_cond(&v, &has_status, cond, env, e) < 0)
		goto done;
	t = v.ref ? v.truth : expr_truthy(v.j);
	if (!has_status) {
		/* success() && (cond) */
		st = env->status_unknown ? -1 :
		     env->status == EXPR_STATUS_SUCCESS;
		if (st == 0 || t == 0) {
			t = 0;
		} else if (st == -1 && t == 1) {
			t = -1;
			if (!v.ref)
				expr_val_unknown(&v, "job status", false);
		}
	}
	if (t == -1) {
		expr_set_unknown_msg(e, v.ref ? v.ref : "job status");
		rc = EXPR_UNKNOWN;
		goto done;
	}
	*out = t == 1;
	rc = 0;
done:
	expr_val_release(&v);
	return rc;
}

int expr_check_if(const char *cond, size_t *err_offset, struct err *e)
{
	struct expr *x = NULL;
	size_t start = 0, len = 0, off = 0;
	int form;

	form = if_form(cond, &start, &len, &off, e);
	if (form < 0) {
		*err_offset = off;
		return -1;
	}
	if (form == IF_TEMPLATE)
		return expr_check_template(cond, err_offset, e);
	if (form == IF_EMPTY)
		return 0;
	if (expr_parse(&x, cond + start, len, e) < 0) {
		*err_offset = off;
		return -1;
	}
	expr_free(x);
	return 0;
}
