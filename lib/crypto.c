/*
 * crypto: digests, MACs, random bytes and secret handling on GnuTLS
 * (crypto.h). GnuTLS initialises itself when loaded, so there is no init
 * function here.
 */
#include "crypto.h"
#include "util.h"

#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

void crypto_sha256(unsigned char out[CRYPTO_SHA256_LEN], const void *data,
		   size_t len)
{
	int rc = gnutls_hash_fast(GNUTLS_DIG_SHA256, len ? data : "", len, out);

	if (rc < 0)
		BUG("SHA-256 failed: %s", gnutls_strerror(rc));
}

void crypto_hmac_sha256(unsigned char out[CRYPTO_SHA256_LEN], const void *key,
			size_t keylen, const void *data, size_t len)
{
	int rc = gnutls_hmac_fast(GNUTLS_MAC_SHA256, keylen ? key : "", keylen,
				  len ? data : "", len, out);

	if (rc < 0)
		BUG("HMAC-SHA256 failed: %s", gnutls_strerror(rc));
}

void crypto_pbkdf2_sha256(unsigned char out[CRYPTO_SHA256_LEN], const char *pass,
			  const char *salt, unsigned rounds)
{
	gnutls_datum_t k = { (unsigned char *)pass, (unsigned)strlen(pass) };
	gnutls_datum_t s = { (unsigned char *)salt, (unsigned)strlen(salt) };
	int rc = gnutls_pbkdf2(GNUTLS_MAC_SHA256, &k, &s, rounds, out,
			       CRYPTO_SHA256_LEN);

	if (rc < 0)
		BUG("PBKDF2-HMAC-SHA256 failed: %s", gnutls_strerror(rc));
}

void crypto_random(void *buf, size_t n)
{
	int rc;

	if (!n)
		return;
	rc = gnutls_rnd(GNUTLS_RND_RANDOM, buf, n);
	if (rc < 0)
		BUG("random generator failed: %s", gnutls_strerror(rc));
}

bool crypto_memeq(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;

	/* every byte is read whatever the others hold: no early exit, and
	 * volatile keeps the compiler from adding one */
	for (size_t i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

void crypto_wipe(void *p, size_t n)
{
	if (n)
		explicit_bzero(p, n);
}
