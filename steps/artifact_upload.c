/*
 * artifact_upload: actions/upload-artifact@v4 built in.
 *
 * The files are found as the action finds them (@actions/glob): path is
 * one pattern a line ('#' lines are comments), relative to the workspace;
 * '*' does not cross '/', "**" does, '?' is one character, "[...]" a set;
 * a leading '!' excludes, and the patterns apply in order (a later one
 * can take back what an earlier one excluded); a folder brings everything
 * below it; '.' and '..' parts are refused, as the action does. Files and
 * folders whose names start with '.' are left out unless
 * include-hidden-files (v4.4). The root of the paths in the zip is the
 * least common ancestor of the patterns' literal parts (a single file's
 * own folder), as the action strips it.
 *
 * The zip is made with libarchive (deflate at compression-level, modes
 * kept) into the run's part of the artifact store (steps/artifact.h).
 * gantry reads with its own rights, outside the sandbox: only files in
 * the workspace or RUNNER_TEMP are read; a symbolic link is followed only
 * when it leads back into them (else skipped with a warning), and each
 * file is checked again once open, so a link swapped in meanwhile does
 * not leak a host file into the artifact.
 */
#include "artifact.h"
#include "stepx.h"
#include "../lib/buf.h"
#include "../lib/fs.h"
#include "../lib/jsonx.h"
#include "../lib/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const known_inputs[] = {
	"name", "path", "if-no-files-found", "retention-days",
	"compression-level", "overwrite", "include-hidden-files", NULL,
};

enum { MK_DIR = 1, MK_FILE = 2, MK_ALL = 3 };

struct up {
	char *name, *path, *if_none;
	long retention;			/* 0: not given */
	long level;
	bool overwrite, hidden;
};

/* One line of path:, made absolute and split. */
struct pat {
	char *abs;			/* owned; seg points into a copy */
	char *copy;			/* owned */
	char **seg;			/* owned array */
	size_t n;
	bool neg, trailing;
	char *search;			/* owned: the literal leading part */
};

struct found {
	char *abs;			/* owned */
	long long size;
};

struct walk {
	struct step_ctx *c;
	const struct up *o;
	struct pat *pats;
	size_t npat;
	struct art_roots roots;
	struct found *files;
	size_t n, alloc;
	long long bytes;
	struct stat store;		/* the store's folder, skipped */
	bool have_store;
	struct { dev_t dev; ino_t ino; } chain[ART_DEPTH_MAX + 1];
	struct err *e;
};

static void up_release(struct up *o)
{
	free(o->name);
	free(o->path);
	free(o->if_none);
	memset(o, 0, sizeof(*o));
}

static int whole_number(long *out, const char *s, const char *input,
			long lo, long hi, struct err *e)
{
	if (str_to_long(s, out) < 0 || *out < lo || *out > hi)
		return err_set(e, ERR_INVALID, "%s: '%s' is not a whole number from "
			       "%ld to %ld", input, s, lo, hi);
	return 0;
}

static int read_inputs(struct up *o, struct step_ctx *c, struct err *e)
{
	char *t = NULL;
	int ret = -1;

	memset(o, 0, sizeof(*o));
	stepx_check_inputs(c, known_inputs, "actions/upload-artifact");
	if (stepx_input(&o->name, c, "name", "artifact", e) < 0 ||
	    stepx_input(&o->path, c, "path", NULL, e) < 0 ||
	    stepx_input(&o->if_none, c, "if-no-files-found", "warn", e) < 0)
		goto done;
	if (art_name_check(o->name, "name", e) < 0)
		goto done;
	if (!o->path) {
		err_set(e, ERR_INVALID, "path: input required and not supplied "
			"(the files, folders or patterns to upload)");
		goto done;
	}
	if (strcmp(o->if_none, "warn") && strcmp(o->if_none, "error") &&
	    strcmp(o->if_none, "ignore")) {
		err_set(e, ERR_INVALID, "if-no-files-found: '%s' is not one of warn, "
			"error, ignore", o->if_none);
		goto done;
	}
	if (stepx_input(&t, c, "retention-days", NULL, e) < 0 ||
	    (t && whole_number(&o->retention, t, "retention-days", 0, 3650, e) < 0))
		goto done;
	free(t);
	if (stepx_input(&t, c, "compression-level", "6", e) < 0 ||
	    whole_number(&o->level, t, "compression-level", 0, 9, e) < 0)
		goto done;
	free(t);
	if (stepx_input(&t, c, "overwrite", "false", e) < 0)
		goto done;
	o->overwrite = stepx_truthy(t, false);
	free(t);
	if (stepx_input(&t, c, "include-hidden-files", "false", e) < 0)
		goto done;
	o->hidden = stepx_truthy(t, false);
	ret = 0;
done:
	free(t);
	return ret;
}

/* ---- patterns ------------------------------------------------------- */

static void pats_free(struct pat *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].abs);
		free(p[i].copy);
		free(p[i].seg);
		free(p[i].search);
	}
	free(p);
}

static bool has_glob(const char *seg)
{
	return strpbrk(seg, "*?[") != NULL;
}

static char *home_of(struct step_ctx *c)
{
	const char *h = strv_getenv(c->envp, "HOME");

	if (!h || !*h)
		h = getenv("HOME");
	return h && *h == '/' ? xstrdup(h) : NULL;
}

/* line := { "!" } [ "~" ] pattern, made absolute against the workspace. */
static int pat_parse(struct pat *p, struct step_ctx *c,
		     const struct art_roots *roots, const char *line,
		     struct err *e)
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
		char *h = home_of(c);

		if (!h)
			return err_set(e, ERR_INVALID, "path: '%s': no HOME to expand ~ "
				       "with", line);
		p->abs = xasprintf("%s%s", h, line + 1);
		free(h);
	} else {
		p->abs = fs_join(c->workspace, line);
	}
	len = strlen(p->abs);
	p->trailing = len > 1 && p->abs[len - 1] == '/';
	p->copy = xstrdup(p->abs);
	{
		size_t cap = 2;
		char *save = NULL;

		for (const char *q = p->copy; *q; q++)
			cap += *q == '/';
		p->seg = xcalloc(cap, sizeof(char *));
		for (char *t = strtok_r(p->copy, "/", &save); t;
		     t = strtok_r(NULL, "/", &save))
			p->seg[p->n++] = t;
	}
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->seg[i], ".") || !strcmp(p->seg[i], ".."))
			return err_set(e, ERR_INVALID, "path: invalid pattern '%s': "
				       "relative pathing '.' and '..' is not allowed",
				       line);
	for (size_t i = 0; i < p->n && !has_glob(p->seg[i]); i++) {
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
	if (!p->neg && art_roots_find(roots, p->search, &rel) < 0)
		return err_set(e, ERR_INVALID, "path: '%s' is outside the workspace and "
			       "RUNNER_TEMP: gantry reads artifact files with its own "
			       "rights, outside the job's sandbox, so only from the job's "
			       "folders", line);
	return 0;
}

static int pats_parse(struct pat **out, size_t *n, struct step_ctx *c,
		      const struct art_roots *roots, const char *path,
		      struct err *e)
{
	char *copy = xstrdup(path), *save = NULL;
	struct pat *v = NULL;
	size_t k = 0, alloc = 0;
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
		ALLOC_GROW(v, k + 1, alloc);
		if (pat_parse(&v[k++], c, roots, l, e) < 0) {
			ret = -1;
			break;
		}
	}
	free(copy);
	if (!ret && !k)
		ret = err_set(e, ERR_INVALID, "path: no pattern in '%s'", path);
	if (ret < 0) {
		pats_free(v, k);
		return -1;
	}
	*out = v;
	*n = k;
	return 0;
}

/* The implicit descendants ("pattern" + "/" + "**"): what lies below a
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
			stepx_say(w->c, "warning: skipping %s: a symbolic link cycle", abs);
			return 0;
		}
	if (depth >= ART_DEPTH_MAX)
		return err_set(w->e, ERR_LIMIT, "path: %s is more than %d folders deep",
			       abs, ART_DEPTH_MAX);
	w->chain[depth].dev = st->st_dev;
	w->chain[depth].ino = st->st_ino;
	d = opendir(abs);
	if (!d) {
		stepx_say(w->c, "warning: skipping %s: %s", abs, strerror(errno));
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
	size_t ns = 0;
	struct stat st;
	int m, ret = 0;

	{
		size_t cap = 2;
		char *save = NULL;

		for (const char *q = copy; *q; q++)
			cap += *q == '/';
		s = xcalloc(cap, sizeof(char *));
		for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save))
			s[ns++] = t;
	}
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
		if (!real || !art_roots_contain_real(&w->roots, real)) {
			stepx_say(w->c, "warning: skipping %s: a symbolic link that leads "
				  "outside the workspace and RUNNER_TEMP", abs);
			goto done;
		}
	}
	if (S_ISDIR(st.st_mode)) {
		if (w->have_store && st.st_dev == w->store.st_dev &&
		    st.st_ino == w->store.st_ino)
			goto done;	/* the artifact store itself */
		ret = visit_dir(w, abs, &st, depth);
	} else if (!(m & MK_FILE)) {
		goto done;
	} else if (!S_ISREG(st.st_mode)) {
		stepx_say(w->c, "warning: skipping %s: not a regular file", abs);
	} else if (w->n >= ART_FILES_MAX) {
		ret = err_set(w->e, ERR_LIMIT, "path: more than %d files", ART_FILES_MAX);
	} else {
		ALLOC_GROW(w->files, w->n + 1, w->alloc);
		w->files[w->n].abs = xstrdup(abs);
		w->files[w->n++].size = st.st_size;
		w->bytes += st.st_size;
	}
done:
	free(real);
	free(s);
	free(copy);
	return ret;
}

/* The patterns' search paths, without those below another. */
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
	return strcmp(((const struct found *)a)->abs, ((const struct found *)b)->abs);
}

static void walk_release(struct walk *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->files[i].abs);
	free(w->files);
	pats_free(w->pats, w->npat);
	art_roots_release(&w->roots);
}

/* Find the files; *root (owned) is what the zip's paths are relative to. */
static int find_files(struct walk *w, char **root, struct step_ctx *c,
		      const struct up *o, struct err *e)
{
	struct strv sp = STRV_INIT;
	int ret = -1;

	memset(w, 0, sizeof(*w));
	w->c = c;
	w->o = o;
	w->e = e;
	*root = NULL;
	art_roots_init(&w->roots, c);
	if (pats_parse(&w->pats, &w->npat, c, &w->roots, o->path, e) < 0)
		goto done;
	if (c->artifact_store && c->artifact_store[0] == '/' &&
	    stat(c->artifact_store, &w->store) == 0)
		w->have_store = true;
	search_paths(&sp, w);
	for (size_t i = 0; i < sp.n; i++) {
		char *real = fs_realpath(sp.v[i]);

		if (!real) {
			continue;	/* nothing there */
		} else if (!art_roots_contain_real(&w->roots, real)) {
			stepx_say(c, "warning: skipping %s: it leads outside the workspace "
				  "and RUNNER_TEMP", sp.v[i]);
		} else if (visit(w, sp.v[i], 0) < 0) {
			free(real);
			goto done;
		}
		free(real);
	}
	if (w->n)
		qsort(w->files, w->n, sizeof(*w->files), cmp_found);
	if (sp.n > 1)
		*root = art_lca(sp.v, sp.n);
	else if (w->n == 1 && sp.n == 1 && !strcmp(sp.v[0], w->files[0].abs))
		*root = fs_dirname(w->files[0].abs);
	else
		*root = xstrdup(sp.n ? sp.v[0] : c->workspace);
	ret = 0;
done:
	strv_release(&sp);
	return ret;
}

/* The part of abs below root ("a/b.txt"). */
static const char *rel_to(const char *abs, const char *root)
{
	size_t n = strlen(root);

	if (!strcmp(root, "/"))
		return abs + 1;
	return abs[n] == '/' ? abs + n + 1 : abs + n;
}

/* ---- the zip -------------------------------------------------------- */

struct sink {
	int fd;
	EVP_MD_CTX *md;
	long long size;
	int err;
};

static la_ssize_t sink_write(struct archive *a, void *ud, const void *buf,
			     size_t n)
{
	struct sink *k = ud;

	if (fs_write_all(k->fd, buf, n) < 0) {
		k->err = errno;
		archive_set_error(a, errno, "cannot write the zip");
		return -1;
	}
	EVP_DigestUpdate(k->md, buf, n);
	k->size += (long long)n;
	return (la_ssize_t)n;
}

/* The file as open: still a plain file inside the roots (a link or a
 * folder swapped in since the walk is refused here). */
static int open_checked(int *out, struct stat *st, const struct walk *w,
			const char *abs, struct err *e)
{
	char proc[64], real[4096];
	int fd = open(abs, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return err_sys(e, ERR_IO, "path: cannot read %s", abs);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, real, sizeof(real) - 1);
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) || n <= 0 ||
	    (real[n] = '\0', !art_roots_contain_real(&w->roots, real))) {
		close(fd);
		return err_set(e, ERR_INVALID, "path: %s changed while it was being "
			       "archived (no longer a plain file in the workspace)", abs);
	}
	*out = fd;
	return 0;
}

static int add_file(struct archive *a, const struct walk *w, const char *abs,
		    const char *rel, struct err *e)
{
	struct archive_entry *ent = archive_entry_new();
	struct stat st;
	char chunk[65536];
	long long left;
	int fd = -1, ret = -1;

	if (open_checked(&fd, &st, w, abs, e) < 0)
		goto done;
	archive_entry_set_pathname(ent, rel);
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_perm(ent, st.st_mode & 0777);
	archive_entry_set_size(ent, st.st_size);
	archive_entry_set_mtime(ent, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	if (archive_write_header(a, ent) != ARCHIVE_OK) {
		err_set(e, ERR_IO, "zip: %s: %s", rel, archive_error_string(a));
		goto done;
	}
	for (left = st.st_size; left > 0;) {
		ssize_t n = read(fd, chunk, left < (long long)sizeof(chunk) ?
				 (size_t)left : sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_sys(e, ERR_IO, "path: cannot read %s", abs);
			goto done;
		}
		if (n == 0) {
			err_set(e, ERR_IO, "path: %s shrank while it was being archived", abs);
			goto done;
		}
		if (archive_write_data(a, chunk, (size_t)n) < 0) {
			err_set(e, ERR_IO, "zip: %s: %s", rel, archive_error_string(a));
			goto done;
		}
		left -= n;
	}
	if (archive_write_finish_entry(a) != ARCHIVE_OK) {
		err_set(e, ERR_IO, "zip: %s: %s", rel, archive_error_string(a));
		goto done;
	}
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	archive_entry_free(ent);
	return ret;
}

/* Write the zip of w's files into fd; *size and digest (hex) out. */
static int make_zip(int fd, const struct walk *w, const char *root,
		    const struct up *o, long long *size, char digest[65],
		    struct err *e)
{
	struct archive *a = archive_write_new();
	struct sink k = { .fd = fd, .md = EVP_MD_CTX_new() };
	unsigned char d[32];
	unsigned int dl = 32;
	char opt[48];
	int ret = -1;

	if (!a || !k.md) {
		err_set(e, ERR_INTERNAL, "zip: out of memory");
		goto done;
	}
	EVP_DigestInit_ex(k.md, EVP_sha256(), NULL);
	snprintf(opt, sizeof(opt), "zip:compression-level=%ld", o->level);
	if (archive_write_set_format_zip(a) != ARCHIVE_OK ||
	    archive_write_set_options(a, opt) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open(a, &k, NULL, sink_write, NULL) != ARCHIVE_OK) {
		err_set(e, ERR_INTERNAL, "zip: %s", archive_error_string(a));
		goto done;
	}
	for (size_t i = 0; i < w->n; i++)
		if (add_file(a, w, w->files[i].abs, rel_to(w->files[i].abs, root), e) < 0)
			goto done;
	if (archive_write_close(a) != ARCHIVE_OK) {
		err_set(e, ERR_IO, "zip: %s", archive_error_string(a));
		goto done;
	}
	EVP_DigestFinal_ex(k.md, d, &dl);
	for (int i = 0; i < 32; i++)
		snprintf(digest + 2 * i, 3, "%02x", d[i]);
	*size = k.size;
	ret = 0;
done:
	if (a)
		archive_write_free(a);
	EVP_MD_CTX_free(k.md);
	return ret;
}

/* ---- the step ------------------------------------------------------- */

static char *patterns_shown(const struct up *o)
{
	struct buf b = BUF_INIT;
	char *copy = xstrdup(o->path), *save = NULL;

	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		while (*l == ' ' || *l == '\t')
			l++;
		if (*l && *l != '#')
			buf_printf(&b, "%s%s", b.len ? ", " : "", l);
	}
	free(copy);
	return buf_detach(&b, NULL);
}

/* No files: if-no-files-found decides. */
static int no_files(struct step_ctx *c, const struct up *o, struct err *e)
{
	char *shown = patterns_shown(o);
	int ret = 0;

	if (!strcmp(o->if_none, "error"))
		ret = err_set(e, ERR_NOT_FOUND, "path: no files were found with the "
			      "provided path: %s. No artifacts will be uploaded "
			      "(if-no-files-found: error)", shown);
	else if (!strcmp(o->if_none, "warn"))
		stepx_say(c, "warning: No files were found with the provided path: %s. "
			  "No artifacts will be uploaded.", shown);
	else
		stepx_say(c, "No files were found with the provided path: %s. No "
			  "artifacts will be uploaded.", shown);
	free(shown);
	return ret;
}

static char *meta_json(const struct step_ctx *c, const struct up *o,
		       long long id, long long size, const char *digest,
		       size_t files)
{
	json_t *j = json_object();
	const char *rd = stepx_github((struct step_ctx *)c, "retention_days");
	long days = o->retention;
	time_t now = time(NULL);
	char ts[32], exp[32];
	char *text;

	if (!days && (!rd || str_to_long(rd, &days) < 0 || days <= 0))
		days = 90;
	time_iso8601(ts, sizeof(ts), (long long)now);
	time_iso8601(exp, sizeof(exp), (long long)now + (long long)days * 86400);
	json_object_set_new(j, "name", json_string(o->name));
	json_object_set_new(j, "id", json_integer(id));
	json_object_set_new(j, "run_id", json_integer(c->run_id));
	json_object_set_new(j, "size", json_integer(size));
	json_object_set_new(j, "digest", json_string(digest));
	json_object_set_new(j, "files", json_integer((json_int_t)files));
	json_object_set_new(j, "retention_days", json_integer(days));
	json_object_set_new(j, "created_at", json_string(ts));
	json_object_set_new(j, "expires_at", json_string(exp));
	if (stepx_github((struct step_ctx *)c, "job"))
		json_object_set_new(j, "job", json_string(stepx_github((struct step_ctx *)c, "job")));
	text = jsonx_dump(j, 1);
	json_decref(j);
	return text;
}

static int upload_plan(struct step_ctx *c, struct err *e)
{
	struct up o;
	struct walk w;
	struct art_store s;
	char *root = NULL, *url = NULL, *shown = NULL;
	int ret = -1;

	memset(&w, 0, sizeof(w));
	memset(&s, 0, sizeof(s));
	s.dirfd = -1;
	if (read_inputs(&o, c, e) < 0)
		goto done;
	shown = patterns_shown(&o);
	stepx_say(c, "upload-artifact '%s': path %s", o.name, shown);
	if (find_files(&w, &root, c, &o, e) < 0 ||
	    art_store_open(&s, c, c->run_id, false, e) < 0)
		goto done;
	if (w.n)
		stepx_say(c, "  now: %zu file%s, %lld bytes, below %s", w.n,
			  w.n == 1 ? "" : "s", w.bytes, root);
	else
		stepx_say(c, "  now: no files match (if-no-files-found: %s; steps before "
			  "this one have not run in a dry run)", o.if_none);
	url = art_store_url(&s, o.name);
	stepx_say(c, "  would write %s (zip, compression level %ld%s)", url, o.level,
		  o.overwrite ? ", replacing one of the same name" : "");
	ret = 0;
done:
	free(url);
	free(root);
	free(shown);
	art_store_release(&s);
	walk_release(&w);
	up_release(&o);
	return ret;
}

static int upload_run(struct step_ctx *c, struct err *e)
{
	struct up o;
	struct walk w;
	struct art_store s;
	struct art_tmp t = { .fd = -1 };
	char *root = NULL, *url = NULL, *meta = NULL;
	char digest[65] = "", idtext[32];
	long long size = 0, id;
	int ret = -1;

	memset(&w, 0, sizeof(w));
	memset(&s, 0, sizeof(s));
	s.dirfd = -1;
	if (read_inputs(&o, c, e) < 0)
		goto done;
	if (find_files(&w, &root, c, &o, e) < 0)
		goto done;
	if (!w.n) {
		ret = no_files(c, &o, e);
		goto done;
	}
	for (size_t i = 0; i < w.n; i++)
		if (art_path_check(rel_to(w.files[i].abs, root), e) < 0)
			goto done;
	stepx_say(c, "With the provided path, there will be %zu file%s uploaded "
		  "(%lld bytes, paths relative to %s)", w.n, w.n == 1 ? "" : "s",
		  w.bytes, root);
	if (art_store_open(&s, c, c->run_id, true, e) < 0)
		goto done;
	if (!o.overwrite) {
		int r = art_store_exists(&s, o.name, e);

		if (r < 0)
			goto done;
		if (r > 0) {
			err_set(e, ERR_INVALID, "name: an artifact named '%s' already "
				"exists in run %lld (%s): set overwrite: true to replace "
				"it, or give this one another name", o.name, c->run_id,
				s.shown);
			goto done;
		}
	}
	if (art_store_begin(&s, o.name, &t, e) < 0 ||
	    make_zip(t.fd, &w, root, &o, &size, digest, e) < 0)
		goto done;
	id = art_id(c->run_id, o.name);
	meta = meta_json(c, &o, id, size, digest, w.n);
	if (art_store_commit(&s, o.name, &t, size, o.overwrite, meta, e) < 0) {
		err_wrap(e, "name '%s'", o.name);
		goto done;
	}
	url = art_store_url(&s, o.name);
	snprintf(idtext, sizeof(idtext), "%lld", id);
	jsonx_set_str(c->outputs, "artifact-id", idtext);
	jsonx_set_str(c->outputs, "artifact-url", url);
	jsonx_set_str(c->outputs, "artifact-digest", digest);
	stepx_say(c, "SHA256 digest of uploaded artifact zip is %s", digest);
	stepx_say(c, "Artifact %s has been successfully uploaded! Final size is "
		  "%lld bytes. Artifact ID is %s", o.name, size, idtext);
	stepx_say(c, "Artifact download URL: %s", url);
	if (o.retention)
		stepx_say(c, "retention-days %ld: recorded in %s.zip.json; gantry's "
			  "store keeps artifacts until they are deleted", o.retention,
			  o.name);
	c->outcome = STEP_SUCCESS;
	ret = 0;
done:
	if (t.fd >= 0)
		art_store_abort(&s, &t);
	free(meta);
	free(url);
	free(root);
	art_store_release(&s);
	walk_release(&w);
	up_release(&o);
	return ret;
}

const struct step_type step_type_upload_artifact = {
	.name = "actions/upload-artifact",
	.plan = upload_plan,
	.run = upload_run,
};
