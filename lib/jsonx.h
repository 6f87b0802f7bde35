/*
 * jsonx: small additions to jansson that gantry uses everywhere.
 */
#ifndef GANTRY_JSONX_H
#define GANTRY_JSONX_H

#include <jansson.h>

/* Member of obj by key, case-insensitive (exact match first); borrowed. */
json_t *jsonx_get_ci(const json_t *obj, const char *key);
/* Set obj[key] to a new string (steals nothing). */
void jsonx_set_str(json_t *obj, const char *key, const char *value);
/* obj[key] if it is a string, else NULL; borrowed. */
const char *jsonx_str(const json_t *obj, const char *key);
/* Compact or pretty (2-space) text; caller frees. */
char *jsonx_dump(const json_t *v, int pretty);
/* Get obj[key], making it an empty object when absent; borrowed. */
json_t *jsonx_obj(json_t *obj, const char *key);

#endif
