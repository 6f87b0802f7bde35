/*
 * artifact_glob: @actions/glob, as upload-artifact@v4 finds its files,
 * and the minimatch rules download-artifact's pattern: uses on names.
 *
 * Matching is minimatch's with dot: '*' any run of characters but '/',
 * '?' one character, "[...]" a set or range ("[!...]", "[^...]" its
 * complement), '\' escapes, and "**" as a whole segment any number of
 * segments. The search (art_search_run) takes one pattern a line ('#'
 * lines are comments), relative to a folder; a leading '!' excludes, and
 * the patterns apply in order (a later one takes back what an earlier one
 * excluded); what lies below a matched folder matches too; '.' and '..'
 * parts are refused, as the action does; names starting with '.' are
 * left out unless hidden. The files' root is the least common ancestor
 * of the patterns' literal leading parts (a single file's own folder), as
 * upload-artifact strips it.
 *
 * The search runs with gantry's rights: it takes files only from the
 * roots (artifact.h) and follows a symbolic link only when it leads back
 * into them (else it warns and skips it); a broken link is left out, as
 * the action does; a link cycle is warned about and skipped. Bounded by
 * ART_FILES_MAX files and ART_DEPTH_MAX levels.
 */
#ifndef GANTRY_STEPS_ARTIFACT_GLOB_H
#define GANTRY_STEPS_ARTIFACT_GLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "artifact.h"

/* One segment (no '/'). */
bool art_glob_seg(const char *pat, const char *s);
/* A '/'-separated pattern against a '/'-separated string (empty parts
 * ignored). */
bool art_glob(const char *pat, const char *s);
/* The same on split segments; partial: whether s could also be a folder
 * above a match (s ran out first). */
bool art_glob_segs(char *const *p, size_t np, char *const *s, size_t ns,
		   bool partial);
/* The least common ancestor of absolute paths, by whole segments ("/"
 * when none). Owned. */
char *art_lca(char *const *paths, size_t n);

struct art_glob_opts {
	const char *cwd;		/* what relative patterns start from */
	const char *home;		/* for '~'; NULL: '~' is an error */
	const struct art_roots *roots;	/* where files may come from */
	bool hidden;			/* take names starting with '.' */
	const struct stat *skip;	/* a folder not to enter, or NULL */
	void (*warn)(void *arg, const char *line);
	void *arg;
};

struct art_found {
	char *abs;			/* owned */
	long long size;
};

struct art_search {
	struct art_found *files;	/* owned, sorted by abs */
	size_t n, alloc;
	long long bytes;
	char *root;			/* owned: files' paths are relative to it */
	size_t npat;			/* patterns read */
};

/* Find the files patterns (path:'s text) name. -1 (ERR_INVALID) naming
 * the pattern for one outside the roots or with '.' or '..' parts, or
 * ERR_LIMIT; no match is not an error (n is 0). */
int art_search_run(struct art_search *out, const char *patterns,
		   const struct art_glob_opts *o, struct err *e);
void art_search_release(struct art_search *s);
/* abs's part below root ("a/b.txt"). Borrowed from abs. */
const char *art_search_rel(const struct art_search *s, const char *abs);

#endif
