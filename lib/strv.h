/*
 * strv: a NULL-terminated vector of owned strings, for argv and environment
 * lists. v is NULL until the first push; after it, v[n] is always NULL.
 */
#ifndef GANTRY_STRV_H
#define GANTRY_STRV_H

#include <stddef.h>

struct strv {
	char **v;	/* owned, each string owned */
	size_t n;
	size_t alloc;
};

#define STRV_INIT { NULL, 0, 0 }

void strv_push(struct strv *sv, const char *s);
void strv_push_owned(struct strv *sv, char *s);
void strv_pushf(struct strv *sv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void strv_release(struct strv *sv);
/* Sort the entries from index `from` on, by strcmp. */
void strv_sort(struct strv *sv, size_t from);
/* For NAME=VALUE lists: set NAME to value, replacing an earlier entry. */
void strv_setenv(struct strv *sv, const char *name, const char *value);
/* Value of NAME in a NAME=VALUE list, borrowed, or NULL. */
const char *strv_getenv(const struct strv *sv, const char *name);

#endif
