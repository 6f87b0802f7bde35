/*
 * crypto: the few primitives the agent needs outside of JWTs (webhook
 * signatures, API and job tokens, ids from digests), on GnuTLS, which
 * libmicrohttpd loads anyway; no OpenSSL, so that the daemon does not map
 * libcrypto's providers.
 *
 * None of these fails in a way a caller could handle: a digest, MAC or
 * random generator that does not work is a broken installation, and
 * BUG()s. Compare secrets with crypto_memeq, never memcmp, and wipe them
 * with crypto_wipe, which the compiler does not drop.
 */
#ifndef GANTRY_CRYPTO_H
#define GANTRY_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#define CRYPTO_SHA256_LEN 32

/* SHA-256 of data[0..len) into out. */
void crypto_sha256(unsigned char out[CRYPTO_SHA256_LEN], const void *data,
		   size_t len);
/* HMAC-SHA256 of data[0..len) under key[0..keylen) (an empty key is
 * allowed) into out. */
void crypto_hmac_sha256(unsigned char out[CRYPTO_SHA256_LEN], const void *key,
			size_t keylen, const void *data, size_t len);
/* PBKDF2-HMAC-SHA256 of pass with salt, rounds iterations, into
 * out[0..CRYPTO_SHA256_LEN): a key from a secret that may be guessed. */
void crypto_pbkdf2_sha256(unsigned char out[CRYPTO_SHA256_LEN], const char *pass,
			  const char *salt, unsigned rounds);
/* n bytes from GnuTLS's generator, fit for secrets (bearer tokens, key
 * material); safe after fork. */
void crypto_random(void *buf, size_t n);
/* Whether a[0..n) and b[0..n) are equal, in a time that depends on n
 * only. */
bool crypto_memeq(const void *a, const void *b, size_t n);
/* Zero p[0..n) in a way the compiler keeps; p may be NULL when n is 0. */
void crypto_wipe(void *p, size_t n);

#endif
