#include "filecmd.h"
#include "../lib/buf.h"
#include "../lib/util.h"

#include <string.h>

/* One line of text at *p (without \n or a trailing \r); advances *p. */
static const char *next_line(const char **p, const char *end, size_t *n)
{
	const char *s = *p, *nl;

	if (s >= end)
		return NULL;
	nl = memchr(s, '\n', (size_t)(end - s));
	*n = nl ? (size_t)(nl - s) : (size_t)(end - s);
	*p = nl ? nl + 1 : end;
	if (*n && s[*n - 1] == '\r')
		(*n)--;
	return s;
}

/*
 * kv    := ( line NL )*
 * line  := '' | NAME '=' VALUE | NAME '<<' DELIM NL ( VALUELINE NL )* DELIM
 */
int filecmd_parse_kv(json_t *obj, const char *text, size_t len,
		     const char *file, struct err *e)
{
	const char *p = text, *end = text + len, *s;
	size_t n, lineno = 0;

	while ((s = next_line(&p, end, &n))) {
		const char *eq = memchr(s, '=', n);
		const char *heredoc = NULL;
		char *name;

		lineno++;
		if (!n)
			continue;
		for (const char *q = s; q + 1 < s + n; q++) {
			if (q[0] == '<' && q[1] == '<') {
				heredoc = q;
				break;
			}
		}
		if (heredoc && (!eq || heredoc < eq)) {
			size_t start_line = lineno;
			char *delim = xstrndup(heredoc + 2, (size_t)(s + n - heredoc - 2));
			struct buf val = BUF_INIT;
			bool found = false;
			size_t m;
			const char *l;

			name = xstrndup(s, (size_t)(heredoc - s));
			if (!*name || !*delim) {
				free(name);
				free(delim);
				return err_set(e, ERR_SYNTAX,
					       "%s:%zu: a name and a delimiter are needed "
					       "around '<<'", file, start_line);
			}
			while ((l = next_line(&p, end, &m))) {
				lineno++;
				if (m == strlen(delim) && !memcmp(l, delim, m)) {
					found = true;
					break;
				}
				if (val.len)
					buf_addch(&val, '\n');
				buf_add(&val, l, m);
			}
			if (!found) {
				err_set(e, ERR_SYNTAX,
					"%s:%zu: delimiter '%s' for '%s' not found",
					file, start_line, delim, name);
				free(name);
				free(delim);
				buf_release(&val);
				return -1;
			}
			json_object_set_new(obj, name, json_stringn(val.ptr, val.len));
			free(name);
			free(delim);
			buf_release(&val);
			continue;
		}
		if (!eq || eq == s)
			return err_set(e, ERR_SYNTAX,
				       "%s:%zu: expected NAME=value or NAME<<DELIMITER",
				       file, lineno);
		name = xstrndup(s, (size_t)(eq - s));
		json_object_set_new(obj, name,
				    json_stringn(eq + 1, (size_t)(s + n - eq - 1)));
		free(name);
	}
	return 0;
}

void filecmd_parse_path(struct strv *out, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *s;
	size_t n;

	while ((s = next_line(&p, end, &n)))
		if (n)
			strv_push_owned(out, xstrndup(s, n));
}

static char *unescape(const char *s, size_t n, bool prop)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			const char *t = s + i;
			size_t left = n - i;

			if (left >= 3 && !strncmp(t, "%25", 3)) { buf_addch(&b, '%'); i += 2; continue; }
			if (left >= 3 && !strncasecmp(t, "%0D", 3)) { buf_addch(&b, '\r'); i += 2; continue; }
			if (left >= 3 && !strncasecmp(t, "%0A", 3)) { buf_addch(&b, '\n'); i += 2; continue; }
			if (prop && left >= 3 && !strncasecmp(t, "%3A", 3)) { buf_addch(&b, ':'); i += 2; continue; }
			if (prop && left >= 3 && !strncasecmp(t, "%2C", 3)) { buf_addch(&b, ','); i += 2; continue; }
		}
		buf_addch(&b, s[i]);
	}
	return buf_detach(&b, NULL);
}

/* cmd := '::' NAME ( ' ' PROP ( ',' PROP )* )? '::' MESSAGE
 * PROP := KEY '=' VALUE */
int wfcmd_parse(struct wfcmd *out, const char *line, size_t len)
{
	const char *end = line + len, *p, *name_end, *sep = NULL;

	memset(out, 0, sizeof(*out));
	if (len < 4 || line[0] != ':' || line[1] != ':')
		return 0;
	for (p = line + 2; p + 1 < end; p++) {
		if (p[0] == ':' && p[1] == ':') {
			sep = p;
			break;
		}
	}
	if (!sep)
		return 0;
	name_end = line + 2;
	while (name_end < sep && *name_end != ' ')
		name_end++;
	if (name_end == line + 2)
		return 0;
	out->name = xstrndup(line + 2, (size_t)(name_end - line - 2));
	out->props = json_object();
	for (p = name_end; p < sep;) {
		const char *comma, *eq;

		while (p < sep && (*p == ' ' || *p == ','))
			p++;
		if (p >= sep)
			break;
		comma = memchr(p, ',', (size_t)(sep - p));
		if (!comma)
			comma = sep;
		eq = memchr(p, '=', (size_t)(comma - p));
		if (eq && eq > p) {
			char *k = xstrndup(p, (size_t)(eq - p));
			char *v = unescape(eq + 1, (size_t)(comma - eq - 1), true);

			json_object_set_new(out->props, k, json_string(v));
			free(k);
			free(v);
		}
		p = comma;
	}
	out->value = unescape(sep + 2, (size_t)(end - sep - 2), false);
	return 1;
}

void wfcmd_release(struct wfcmd *c)
{
	free(c->name);
	json_decref(c->props);
	free(c->value);
	memset(c, 0, sizeof(*c));
}
