/*
 * s3filter: the AWS CLI's --exclude / --include rules for s3 sync, cp, rm.
 *
 * As the AWS CLI: every path is included by default; the filters are
 * applied in the order given and the last one that matches decides
 * (last match wins). A pattern matches a path relative to the source's
 * root ("dist/" + "a/b.js" is matched as "a/b.js"): fnmatch-style, where
 * '*' matches any run of characters including '/', '?' any one
 * character, "[...]" a set or range and "[!...]" its complement. Matching
 * is case-sensitive, by UTF-8 character ('?' takes "é" whole), with no
 * escapes: "[*]" is a literal '*', "[[]" a literal '['. Patterns and
 * paths are '/'-separated. Worst case O(pattern * path), never
 * exponential. The details, and where the CLI differs, atop s3filter.c.
 */
#ifndef GANTRY_AWS_S3FILTER_H
#define GANTRY_AWS_S3FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "../err.h"

struct s3filter;

/* An empty list (everything included); *out is the caller's to
 * s3filter_free (NULL does nothing). */
void s3filter_new(struct s3filter **out);
void s3filter_free(struct s3filter *f);
/* Append "--exclude PATTERN" (include false) or "--include PATTERN".
 * -1 (ERR_INVALID) for an unbalanced '[' or a pattern over 1024 bytes. */
int s3filter_add(struct s3filter *f, bool include, const char *pattern,
		 struct err *e);
/* Whether rel (relative to the root, no leading '/') is included: the
 * last filter whose pattern matches decides, else included. */
bool s3filter_match(const struct s3filter *f, const char *rel);
/* The glob alone (for the tests): does pattern match s? Here a '['
 * without its ']' is a literal '[', as in Python's fnmatch. */
bool s3filter_glob(const char *pattern, const char *s);

#endif
