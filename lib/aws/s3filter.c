/*
 * s3filter: --exclude / --include as the AWS CLI applies them. See
 * s3filter.h.
 *
 * The AWS CLI (awscli/customizations/s3/filters.py) joins each pattern to
 * the source root and calls Python's fnmatch.fnmatch() on the full path;
 * on POSIX that is case-sensitive, '*' and '?' cross '/', and it matches
 * code points, not bytes. Matching the relative path against the pattern
 * is the same thing without the root (whose own '*' or '[' the CLI would
 * wrongly take as wildcards). So here, as there:
 * - '?' and a set match one character: one UTF-8 sequence, or one byte
 *   that is not part of a valid one (Python's surrogateescape);
 * - in a set, ']' first (after an optional '!') is a member, '-' first or
 *   last is a member, "a-z" is a range, a reversed range matches nothing,
 *   and '\' is an ordinary character (fnmatch has no escapes: "[*]" is a
 *   literal '*', "[[]" a literal '[');
 * - a '[' without its ']' is a literal '[' in s3filter_glob(), but
 *   s3filter_add() refuses it (the header's rule: it is nearly always a
 *   typo, and "[[]" says the literal plainly).
 * Left out on purpose: the CLI also adds the parent folders of each
 * --include pattern as include patterns, which only matters for its
 * directory walk (and makes an S3 key "a" match --include "a/b/x*").
 * An absolute pattern replaces the root in the CLI's os.path.join; here
 * it never matches a relative path.
 */
#include "s3filter.h"
#include "../util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define S3FILTER_PATTERN_MAX 1024

struct s3filter_rule {
	bool include;
	char *pattern;	/* owned */
};

struct s3filter {
	struct s3filter_rule *v;	/* owned, in the order given */
	size_t n, alloc;
};

void s3filter_new(struct s3filter **out)
{
	*out = xcalloc(1, sizeof(**out));
}

void s3filter_free(struct s3filter *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->n; i++)
		free(f->v[i].pattern);
	free(f->v);
	free(f);
}

/* One character of s (not at its NUL): the code point of a valid UTF-8
 * sequence, or 0xDC00 + the byte for a byte that does not start one
 * (surrogateescape, so such bytes still compare as themselves). *len is
 * the bytes taken. */
static uint32_t utf8_next(const char *str, size_t *len)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char b = s[0];
	uint32_t cp;
	size_t n, i;

	if (b < 0x80) {
		*len = 1;
		return b;
	}
	if (b >= 0xC2 && b <= 0xDF) {
		n = 2;
		cp = b & 0x1F;
	} else if (b >= 0xE0 && b <= 0xEF) {
		n = 3;
		cp = b & 0x0F;
	} else if (b >= 0xF0 && b <= 0xF4) {
		n = 4;
		cp = b & 0x07;
	} else {
		goto invalid;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			goto invalid;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	/* overlong forms, surrogates, past U+10FFFF */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		goto invalid;
	*len = n;
	return cp;
invalid:
	*len = 1;
	return 0xDC00 + b;
}

/* The set whose '[' is at p: set *end past its ']' and return whether c
 * is in it; -1 when the '[' has no closing ']' (then it is a literal). */
static int set_match(const char *p, uint32_t c, const char **end)
{
	bool negate = false, in = false, first = true;
	size_t len;

	p++;
	if (*p == '!') {
		negate = true;
		p++;
	}
	for (;;) {
		uint32_t lo, hi;

		if (!*p)
			return -1;
		if (*p == ']' && !first)
			break;
		first = false;
		lo = utf8_next(p, &len);
		p += len;
		hi = lo;
		if (p[0] == '-' && p[1] && p[1] != ']') {
			hi = utf8_next(p + 1, &len);
			p += 1 + len;
		}
		if (lo <= c && c <= hi)
			in = true;
	}
	*end = p + 1;
	return in != negate;
}

/* Whether the one-character atom at *p (not '*', not NUL) matches the
 * character at s (not NUL); on a match, advance *p and *s past them. */
static bool atom_match(const char **p, const char **s)
{
	size_t plen, slen;
	uint32_t c = utf8_next(*s, &slen), pc;
	const char *end;
	int r;

	if (**p == '?') {
		*p += 1;
		*s += slen;
		return true;
	}
	if (**p == '[') {
		r = set_match(*p, c, &end);
		if (r >= 0) {
			if (!r)
				return false;
			*p = end;
			*s += slen;
			return true;
		}
		/* no ']': a literal '[' */
	}
	pc = utf8_next(*p, &plen);
	if (pc != c)
		return false;
	*p += plen;
	*s += slen;
	return true;
}

/*
 * Iterative, backtracking to the last '*' only. That is complete here
 * because a '*' matches any run (including '/'): when a later '*' has
 * been reached, any extra text an earlier '*' could take can be taken by
 * the later one instead. Each step either advances in s or restarts from
 * the last '*' one character further, so the work is at most
 * O(len(pattern) * len(s)), never exponential.
 */
bool s3filter_glob(const char *pattern, const char *s)
{
	const char *p = pattern, *star_p = NULL, *star_s = NULL;
	size_t len;

	while (*s) {
		if (*p == '*') {
			while (*p == '*')
				p++;
			if (!*p)
				return true;	/* a trailing '*' takes the rest */
			star_p = p;
			star_s = s;
			continue;
		}
		if (*p && atom_match(&p, &s))
			continue;
		if (!star_p)
			return false;
		/* let the last '*' take one more character */
		utf8_next(star_s, &len);
		star_s += len;
		p = star_p;
		s = star_s;
	}
	while (*p == '*')
		p++;
	return !*p;
}

/* Whether every '[' of pattern has its ']'. */
static bool sets_balanced(const char *pattern)
{
	const char *p = pattern, *end;

	while (*p) {
		if (*p == '[') {
			if (set_match(p, 0, &end) < 0)
				return false;
			p = end;
		} else {
			p++;
		}
	}
	return true;
}

int s3filter_add(struct s3filter *f, bool include, const char *pattern,
		 struct err *e)
{
	const char *opt = include ? "--include" : "--exclude";

	if (strlen(pattern) > S3FILTER_PATTERN_MAX)
		return err_set(e, ERR_INVALID,
			       "%s pattern is longer than %d bytes", opt,
			       S3FILTER_PATTERN_MAX);
	if (!sets_balanced(pattern))
		return err_set(e, ERR_INVALID,
			       "%s \"%s\": '[' without a closing ']' (write "
			       "\"[[]\" for a literal '[')", opt, pattern);
	ALLOC_GROW(f->v, f->n + 1, f->alloc);
	f->v[f->n].include = include;
	f->v[f->n].pattern = xstrdup(pattern);
	f->n++;
	return 0;
}

bool s3filter_match(const struct s3filter *f, const char *rel)
{
	size_t i;

	/* the last filter that matches decides: look from the end */
	for (i = f->n; i > 0; i--)
		if (s3filter_glob(f->v[i - 1].pattern, rel))
			return f->v[i - 1].include;
	return true;
}
