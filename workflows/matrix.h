/*
 * matrix: strategy.matrix expanded into job instances, exactly as GitHub
 * combines them.
 *
 * Input is the matrix as a JSON object after expressions are evaluated:
 * every key but include/exclude is a dimension whose value is an array (of
 * any JSON values, objects and arrays included). The product of the
 * dimensions is taken in key order (first key varies slowest); then each
 * exclude entry removes the combinations it matches (a partial match on the
 * keys it names; object values compared deeply); then each include entry is
 * added to every combination it can extend without overwriting an original
 * dimension value, and appended as a new combination when it extends none.
 * Limits: 256 combinations, as GitHub allows (and a product of more than
 * 65536 before exclude is refused rather than walked).
 */
#ifndef GANTRY_MATRIX_H
#define GANTRY_MATRIX_H

#include <jansson.h>

#include "../lib/err.h"

#define MATRIX_MAX 256

/* *out: a new JSON array of objects, one per job instance, in GitHub's
 * order. An empty result (all excluded, or an empty dimension) is an
 * error, as on GitHub ("matrix must define at least one vector"). */
int matrix_expand(json_t **out, const json_t *matrix, struct err *e);
/* The instance's name suffix as GitHub shows it inside the parentheses of
 * "build (a, b)": "a, b", the scalar values of the combination in order,
 * nested objects and arrays walked for their scalars, null and "" left
 * out; "" when nothing is left. The caller adds "job (...)" (GitHub cuts
 * the whole name at 100 characters with "..."). Caller frees. */
char *matrix_label(const json_t *combination);

#endif
