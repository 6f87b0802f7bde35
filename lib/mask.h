/*
 * mask: the set of secret values that must never be printed, and the
 * function that hides them.
 *
 * Every secret and every value added by ::add-mask:: is replaced by "***"
 * in everything gantry prints or writes. A multi-line value is also added
 * line by line (each line of two or more characters), so that output read
 * line by line is still masked. Longer values are replaced first, so a
 * secret that contains another is hidden whole. Empty values are ignored.
 * A struct mask is safe to use from several threads at once.
 */
#ifndef GANTRY_MASK_H
#define GANTRY_MASK_H

#include <stddef.h>

struct mask;

/* *out owned by the caller, freed with mask_free(). */
void mask_new(struct mask **out);
void mask_free(struct mask *m);
void mask_add(struct mask *m, const char *value);
size_t mask_count(const struct mask *m);
/* A copy of s[0..len) with every masked value replaced by "***".
 * Caller frees; *outlen (may be NULL) gets the length. m may be NULL. */
char *mask_apply(const struct mask *m, const char *s, size_t len, size_t *outlen);
/* The same on a NUL-terminated string. */
char *mask_str(const struct mask *m, const char *s);

#endif
