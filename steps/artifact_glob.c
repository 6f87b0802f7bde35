/*
 * artifact_glob: @actions/glob's matching and search (see artifact_glob.h).
 */
#include "artifact_glob.h"
#include "../lib/buf.h"
#include "../lib/fs.h"
#include "../lib/util.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { MK_DIR = 1, MK_FILE = 2, MK_ALL = 3 };

/* ---- matching ------------------------------------------------------- */

/* One character's token at p against ch: the token's end, or NULL. */
static const char *glob_one(const char *p, char ch)
{
	if (*p == '?')
		return p + 1;
	if (*p == '\\' && p[1])
		return p[1] == ch ? p + 2 : NULL;
	if (*p == '[') {
		const char *q = p + 1;
		bool neg = false, hit = false;

		if (*q == '!' || *q == '^') {
			neg = true;
			q++;
		}
		/* a ']' first is a member */
		for (const char *s = q; *s; s++) {
			if (*s == ']' && s > q)
				return hit != neg ? s + 1 : NULL;
			if (s[1] == '-' && s[2] && s[2] != ']') {
				if ((unsigned char)ch >= (unsigned char)s[0] &&
				    (unsigned char)ch <= (unsigned char)s[2])
					hit = true;
				s += 2;
			} else if (*s == ch) {
				hit = true;
			}
		}
		/* no closing ']': a plain '[' */
		return ch == '[' ? p + 1 : NULL;
	}
	return *p == ch ? p + 1 : NULL;
}

/* glob := { "*" | token }, backtracking to the last '*' on a mismatch. */
bool art_glob_seg(const char *p, const char *s)
{
	const char *star_p = NULL, *star_s = NULL;

	while (*s) {
		const char *next;

		if (*p == '*') {
			while (*p == '*')
				p++;
			star_p = p;
			star_s = s;
			continue;
		}
		if (*p && (next = glob_one(p, *s))) {
			p = next;
			s++;
			continue;
		}
		if (!star_p)
			return false;
		p = star_p;
		s = ++star_s;
	}
	while (*p == '*')
		p++;
	return !*p;
}

/*
 * dp[i][j]: pattern segments i.. match string segments j..; computed
 * from the end, two rows. A "**" takes nothing or one more segment.
 */
bool art_glob_segs(char *const *p, size_t np, char *const *s, size_t ns,
		   bool partial)
{
	bool *next = xcalloc(ns + 1, sizeof(bool));
	bool *cur = xcalloc(ns + 1, sizeof(bool)), *tmp, r;

	next[ns] = true;	/* no pattern left, no string left */
	for (size_t i = np; i-- > 0;) {
		bool dstar = !strcmp(p[i], "**");

		cur[ns] = partial || (dstar && next[ns]);
		for (size_t j = ns; j-- > 0;) {
			if (dstar)
				cur[j] = next[j] || cur[j + 1];
			else
				cur[j] = next[j + 1] && art_glob_seg(p[i], s[j]);
		}
		tmp = next;
		next = cur;
		cur = tmp;
	}
	r = next[0];
	free(next);
	free(cur);
	return r;
}

/* Split on '/', dropping empty parts; the parts point into copy. */
static char **split(char *copy, size_t *n)
{
	size_t cap = 1;
	char **v, *save = NULL;

	for (const char *q = copy; *q; q++)
		cap += *q == '/';
	v = xcalloc(cap + 1, sizeof(*v));
	*n = 0;
	for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save))
		v[(*n)++] = t;
	return v;
}

bool art_glob(const char *pat, const char *s)
{
	char *pc = xstrdup(pat), *sc = xstrdup(s);
	size_t np, ns;
	char **pv = split(pc, &np), **sv = split(sc, &ns);
	bool r = art_glob_segs(pv, np, sv, ns, false);

	free(pv);
	free(sv);
	free(pc);
	free(sc);
	return r;
}

char *art_lca(char *const *paths, size_t n)
{
	struct buf b = BUF_INIT;
	char *first, **fv;
	size_t nf, common;

	if (!n)
		return xstrdup("/");
	first = xstrdup(paths[0]);
	fv = split(first, &nf);
	common = nf;
	for (size_t i = 1; i < n; i++) {
		char *c = xstrdup(paths[i]);
		size_t nc, k = 0;
		char **cv = split(c, &nc);

		while (k < common && k < nc && !strcmp(fv[k], cv[k]))
			k++;
		common = k;
		free(cv);
		free(c);
	}
	for (size_t k = 0; k < common; k++)
		buf_printf(&b, "/%s", fv[k]);
	if (!b.len)
		buf_addch(&b, '/');
	free(fv);
	free(first);
	return buf_detach(&b, NULL);
}

/* ---- patterns ------------------------------------------------------- */

/* One line of path:, made absolute and split. */
struct pat {
	char *copy;			/* owned: seg points into it */
	char **seg;			/* owned array */
	size_t n;
	bool neg, trailing;
	char *search;			/* owned: the literal leading part */
};

struct walk {
	const struct art_glob_opts *o;
	struct pat *pats;
	size_t npat;
	struct art_search *out;
	struct { dev_t dev; ino_t ino; } chain[ART_DEPTH_MAX + 1];
	struct err *e;
};

static void warn(const struct walk *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void warn(const struct walk *w, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (w->o->warn)
		w->o->warn(w->o->arg, b.ptr);
	buf_release(&b);
}

static void pats_free(struct pat *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].copy);
		free(p[i].seg);
		free(p[i].search);
	}
	free(p);
}

/* line := { "!" } [ "~" ] pattern, made absolute against cwd. */
static int pat_parse(struct pat *p, const struct art_glob_opts *o,
		     const char *line, struct err *e)
{
	struct buf lit = BUF_INIT;
	const char *rel;
	size_t len;

	memset(p, 0, sizeof(*p));
	while (*line == '!') {
		p->neg = !p->neg;
		line++;
	}
	if (line[0] == '~' && (line[1] == '/' || !line[1])) {
		if (!o->home)
			return err_set(e, ERR_INVALID, "path: '%s': no HOME to expand ~ "
				       "with", line);
		p->copy = xasprintf("%s%s", o->home, line + 1);
	} else {
		p->copy = fs_join(o->cwd, line);
	}
	len = strlen(p->copy);
	p->trailing = len > 1 && p->copy[len - 1] == '/';
	p->seg = split(p->copy, &p->n);
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->seg[i], ".") || !strcmp(p->seg[i], ".."))
			return err_set(e, ERR_INVALID, "path: invalid pattern '%s': "
				       "relative pathing '.' and '..' is not allowed",
				       line);
	for (size_t i = 0; i < p->n && !strpbrk(p->seg[i], "*?["); i++) {
		buf_addch(&lit, '/');
		for (const char *q = p->seg[i]; *q; q++)
			if (*q != '\\' || !q[1])
				buf_addch(&lit, *q);
			else
				buf_addch(&lit, *++q);
	}
	if (!lit.len)
		buf_addch(&lit, '/');
	p->search = buf_detach(&lit, NULL);
	if (!p->neg && art_roots_find(o->roots, p->search, &rel) < 0)
		return err_set(e, ERR_INVALID, "path: '%s' is outside the workspace and "
			       "RUNNER_TEMP: gantry reads artifact files with its own "
			       "rights, outside the job's sandbox, so only from the job's "
			       "folders", line);
	return 0;
}

static int pats_parse(struct walk *w, const char *text, struct err *e)
{
	char *copy = xstrdup(text), *save = NULL;
	size_t alloc = 0;
	int ret = 0;

	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *end;

		while (*l == ' ' || *l == '\t' || *l == '\r')
			l++;
		end = l + strlen(l);
		while (end > l && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			*--end = '\0';
		if (!*l || *l == '#')
			continue;
		ALLOC_GROW(w->pats, w->npat + 1, alloc);
		if (pat_parse(&w->pats[w->npat++], w->o, l, e) < 0) {
			ret = -1;
			break;
		}
	}
	free(copy);
	if (!ret && !w->npat)
		ret = err_set(e, ERR_INVALID, "path: no pattern in '%s'", text);
	return ret;
}

/* The implicit descendants (pattern + "/" + "**"): what lies below a
 * match matches too. */
static bool below_match(const struct pat *p, char **s, size_t ns)
{
	if (p->n && !p->trailing && !strcmp(p->seg[p->n - 1], "**"))
		return false;	/* the pattern says it already */
	for (size_t j = ns; j-- > 0;)
		if (art_glob_segs(p->seg, p->n, s, j, false))
			return true;
	return false;
}

/* @actions/glob's match: includes add, excludes take away, in order. */
static int match_all(const struct walk *w, char **s, size_t ns)
{
	int r = 0;

	for (size_t i = 0; i < w->npat; i++) {
		const struct pat *p = &w->pats[i];
		int m = 0;

		if (art_glob_segs(p->seg, p->n, s, ns, false))
			m = p->trailing ? MK_DIR : MK_ALL;
		if (below_match(p, s, ns))
			m |= MK_ALL;
		r = p->neg ? (r & ~m) : (r | m);
	}
	return r;
}

static bool partial_any(const struct walk *w, char **s, size_t ns)
{
	for (size_t i = 0; i < w->npat; i++)
		if (!w->pats[i].neg &&
		    art_glob_segs(w->pats[i].seg, w->pats[i].n, s, ns, true))
			return true;
	return false;
}

/* ---- the walk ------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int visit(struct walk *w, const char *abs, size_t depth);

static int visit_dir(struct walk *w, const char *abs, const struct stat *st,
		     size_t depth)
{
	DIR *d;
	struct dirent *de;
	struct strv names = STRV_INIT;
	int ret = 0;

	for (size_t i = 0; i < depth; i++)
		if (w->chain[i].dev == st->st_dev && w->chain[i].ino == st->st_ino) {
			warn(w, "warning: skipping %s: a symbolic link cycle", abs);
			return 0;
		}
	if (depth >= ART_DEPTH_MAX)
		return err_set(w->e, ERR_LIMIT, "path: %s is more than %d folders deep",
			       abs, ART_DEPTH_MAX);
	w->chain[depth].dev = st->st_dev;
	w->chain[depth].ino = st->st_ino;
	d = opendir(abs);
	if (!d) {
		warn(w, "warning: skipping %s: %s", abs, strerror(errno));
		return 0;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			strv_push(&names, de->d_name);
	closedir(d);
	if (names.n)
		qsort(names.v, names.n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < names.n && ret == 0; i++) {
		char *child = strcmp(abs, "/") ? xasprintf("%s/%s", abs, names.v[i]) :
			      xasprintf("/%s", names.v[i]);

		ret = visit(w, child, depth + 1);
		free(child);
	}
	strv_release(&names);
	return ret;
}

static int visit(struct walk *w, const char *abs, size_t depth)
{
	char *copy = xstrdup(abs), **s, *real = NULL;
	const char *base = strrchr(abs, '/');
	struct art_search *out = w->out;
	size_t ns = 0;
	struct stat st;
	int m, ret = 0;

	s = split(copy, &ns);
	m = match_all(w, s, ns);
	if (!m && !partial_any(w, s, ns))
		goto done;
	base = base ? base + 1 : abs;
	if (!w->o->hidden && base[0] == '.')
		goto done;
	if (lstat(abs, &st) < 0)
		goto done;
	if (S_ISLNK(st.st_mode)) {
		if (stat(abs, &st) < 0)
			goto done;	/* a broken link: left out, as the action does */
		real = fs_realpath(abs);
		if (!real || !art_roots_contain_real(w->o->roots, real)) {
			warn(w, "warning: skipping %s: a symbolic link that leads "
			     "outside the workspace and RUNNER_TEMP", abs);
			goto done;
		}
	}
	if (S_ISDIR(st.st_mode)) {
		if (w->o->skip && st.st_dev == w->o->skip->st_dev &&
		    st.st_ino == w->o->skip->st_ino)
			goto done;
		ret = visit_dir(w, abs, &st, depth);
	} else if (!(m & MK_FILE)) {
		goto done;
	} else if (!S_ISREG(st.st_mode)) {
		warn(w, "warning: skipping %s: not a regular file", abs);
	} else if (out->n >= ART_FILES_MAX) {
		ret = err_set(w->e, ERR_LIMIT, "path: more than %d files", ART_FILES_MAX);
	} else {
		ALLOC_GROW(out->files, out->n + 1, out->alloc);
		out->files[out->n].abs = xstrdup(abs);
		out->files[out->n++].size = st.st_size;
		out->bytes += st.st_size;
	}
done:
	free(real);
	free(s);
	free(copy);
	return ret;
}

/* The patterns' search paths, in order, without those below another. */
static void search_paths(struct strv *out, const struct walk *w)
{
	for (size_t i = 0; i < w->npat; i++) {
		const struct pat *p = &w->pats[i];
		bool dup = false;

		if (p->neg)
			continue;
		for (size_t j = 0; j < w->npat && !dup; j++) {
			const struct pat *q = &w->pats[j];
			size_t n = strlen(q->search);

			if (q->neg || j == i)
				continue;
			if (!strcmp(q->search, p->search))
				dup = j < i;
			else if (!strncmp(p->search, q->search, n) &&
				 (p->search[n] == '/' || !strcmp(q->search, "/")))
				dup = true;	/* below q's */
		}
		if (!dup)
			strv_push(out, p->search);
	}
}

static int cmp_found(const void *a, const void *b)
{
	return strcmp(((const struct art_found *)a)->abs,
		      ((const struct art_found *)b)->abs);
}

int art_search_run(struct art_search *out, const char *patterns,
		   const struct art_glob_opts *o, struct err *e)
{
	struct walk w = { .o = o, .out = out, .e = e };
	struct strv sp = STRV_INIT;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (pats_parse(&w, patterns, e) < 0)
		goto done;
	out->npat = w.npat;
	search_paths(&sp, &w);
	for (size_t i = 0; i < sp.n; i++) {
		char *real = fs_realpath(sp.v[i]);
		int r = 0;

		if (real && !art_roots_contain_real(o->roots, real))
			warn(&w, "warning: skipping %s: it leads outside the workspace "
			     "and RUNNER_TEMP", sp.v[i]);
		else if (real)
			r = visit(&w, sp.v[i], 0);
		free(real);
		if (r < 0)
			goto done;
	}
	if (out->n)
		qsort(out->files, out->n, sizeof(*out->files), cmp_found);
	/* the root, as upload-artifact's findFilesToUpload decides it */
	if (sp.n > 1)
		out->root = art_lca(sp.v, sp.n);
	else if (out->n == 1 && sp.n == 1 && !strcmp(sp.v[0], out->files[0].abs))
		out->root = fs_dirname(out->files[0].abs);
	else
		out->root = xstrdup(sp.n ? sp.v[0] : o->cwd);
	ret = 0;
done:
	if (ret < 0)
		art_search_release(out);
	pats_free(w.pats, w.npat);
	strv_release(&sp);
	return ret;
}

void art_search_release(struct art_search *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->files[i].abs);
	free(s->files);
	free(s->root);
	memset(s, 0, sizeof(*s));
}

const char *art_search_rel(const struct art_search *s, const char *abs)
{
	size_t n = strlen(s->root);

	if (!strcmp(s->root, "/"))
		return abs + 1;
	return abs[n] == '/' ? abs + n + 1 : abs + n;
}
