/*
 * jwt_int: what lib/jwt.c and lib/jwt_verify.c share: the RSA and P-256
 * size limits, and a helper for messages. Not for use outside
 * lib/jwt*.c. It names no crypto library: jwt.c signs with GnuTLS (the
 * agent signs without OpenSSL), jwt_verify.c verifies with OpenSSL, and
 * each has its own helper for its library's errors.
 *
 * quote is static inline so that each file keeps its own private copy,
 * and libgantry.a exports no symbol named quote. It never prints key
 * material: it cuts and cleans an untrusted string.
 */
#ifndef GANTRY_JWT_INT_H
#define GANTRY_JWT_INT_H

#include <stddef.h>
#include <string.h>

#include "err.h"

#define JWT_RSA_MIN	2048		/* accepted RSA moduli (jwt.h) */
#define JWT_RSA_MAX	8192
#define JWT_EC_COORD	32		/* P-256 coordinate and r, s */

/* Quote an untrusted string for a message: at most 50 characters, others
 * than printable ASCII shown as '?', "..." when cut. Returns out, which
 * the caller owns. */
static inline const char *quote(char out[64], const char *s)
{
	size_t i;

	for (i = 0; s[i] && i < 50; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' ? s[i] : '?';
	if (s[i]) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

#endif
