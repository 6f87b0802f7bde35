/*
 * jwt_int: what lib/jwt.c and lib/jwt_verify.c share: the RSA and P-256
 * size limits, and two helpers for messages. Not for use outside
 * lib/jwt*.c.
 *
 * The helpers are static inline so that each file keeps its own private
 * copy, as before, and libgantry.a exports no symbol named quote or
 * ossl_err. Neither ever prints key material: quote cuts and cleans an
 * untrusted string, ossl_err takes only the reason from OpenSSL's queue.
 */
#ifndef GANTRY_JWT_INT_H
#define GANTRY_JWT_INT_H

#include <stddef.h>
#include <string.h>

#include <openssl/err.h>

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

/* Fill e from OpenSSL's error queue (reason only: it never holds key
 * material) and empty the queue so it does not leak into other code.
 * Returns -1. */
static inline int ossl_err(struct err *e, enum err_code code, const char *what)
{
	unsigned long c = ERR_peek_last_error();
	const char *r = c ? ERR_reason_error_string(c) : NULL;

	err_set(e, code, "%s: %s", what, r ? r : "OpenSSL failure");
	ERR_clear_error();
	return -1;
}

#endif
