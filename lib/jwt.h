/*
 * jwt: signing keys, JWKs and JSON Web Tokens (RFC 7515, 7517, 7519,
 * 7638) for gantry's OIDC issuer. RS256 (RSA 2048) and ES256 (P-256).
 * Keys and signing are on GnuTLS (lib/jwt.c: the agent signs without
 * OpenSSL); jwt_verify is on OpenSSL 3 (lib/jwt_verify.c). A key's kid
 * is its RFC 7638 thumbprint (SHA-256, base64url). Private keys are
 * written as PKCS#8 PEM with mode 0600, atomically (a temporary file,
 * then rename), and never printed.
 *
 * A keyring is a folder (mode 0700) of such keys plus keyring.json, which
 * names the current key and, for each key retired by a rotation, when it
 * was retired. A retired key stays published in the JWKS until every
 * token it signed has expired (retired_at + the longest token lifetime
 * + 5 minutes of clock skew), then it is deleted. Changes to the folder
 * happen under an flock on <dir>/.lock, so two processes sharing a state
 * folder never lose a key.
 *
 * The folder holds <kid>.pem for each key and keyring.json:
 *   {"version": 1, "token_lifetime": 3600, "current": "<kid>",
 *    "keys": [{"kid": "<kid>", "alg": "ES256", "created_at": 1700000000},
 *             {"kid": "<kid>", "alg": "RS256", "created_at": 1690000000,
 *              "retired_at": 1700000000}]}
 * (times in Unix seconds; the current key first, the others newest
 * retirement first; token_lifetime is the longest lifetime any open
 * passed). A keyring.json that does not parse, or a key file that is
 * missing, damaged or does not match its kid, is an error naming the file:
 * a keyring is created only in a folder with no keyring.json and no .pem
 * file, since a silently new key would break every verifier that cached
 * the old JWKS.
 */
#ifndef GANTRY_JWT_H
#define GANTRY_JWT_H

#include <stddef.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"

enum jwt_alg { JWT_RS256, JWT_ES256 };

struct jwt_key;		/* opaque */
struct jwt_keyring;	/* opaque */

/* "RS256" / "ES256"; and back (-1 ERR_INVALID for anything else). */
const char *jwt_alg_name(enum jwt_alg alg);
int jwt_alg_parse(enum jwt_alg *out, const char *name, struct err *e);

/* base64url without padding. Encode: owned string. Decode: appends to
 * out; -1 (ERR_SYNTAX) on a character outside the alphabet ('=' included),
 * a length that no byte string encodes to (len % 4 == 1), or non-zero
 * unused bits in the last character (so each byte string has exactly one
 * text); ERR_LIMIT past out's cap. out is unchanged on failure. */
char *jwt_b64url_encode(const void *data, size_t len);
int jwt_b64url_decode(struct buf *out, const char *s, size_t len,
		      struct err *e);

int jwt_key_generate(struct jwt_key **out, enum jwt_alg alg, struct err *e);
/* A PKCS#8 PEM private key file; its algorithm from the key type (RSA
 * of 2048 to 8192 bits: RS256; EC P-256: ES256; others ERR_INVALID).
 * OpenSSL's traditional "RSA/EC PRIVATE KEY" PEM is read too; an
 * encrypted key is not (ERR_SYNTAX; no passphrase is ever asked for). A
 * damaged file is ERR_SYNTAX naming path. An EC key on another curve is
 * ERR_INVALID when GnuTLS names the curve unsupported, and ERR_SYNTAX
 * when it cannot parse the key at all (secp256k1, in GnuTLS 3.7);
 * messages never quote the file's content.
 * Save: PKCS#8 PEM, mode 0600, through a temporary file in the same
 * folder, fsync and rename; the folder must exist. */
int jwt_key_load(struct jwt_key **out, const char *path, struct err *e);
int jwt_key_save(const struct jwt_key *k, const char *path, struct err *e);
void jwt_key_free(struct jwt_key *k);
const char *jwt_key_kid(const struct jwt_key *k);	/* borrowed */
enum jwt_alg jwt_key_alg(const struct jwt_key *k);
/* The public JWK: kty, use "sig", alg, kid, and n/e or crv/x/y (n and
 * e without leading zero bytes, x and y 32 bytes each). A new object the
 * caller owns (a copy: changing it does not change the key). */
json_t *jwt_key_jwk(const struct jwt_key *k);
/* RFC 7638 thumbprint of a public JWK (RSA: e, kty, n; EC: crv, kty, x,
 * y; other members ignored): SHA-256 of the canonical JSON, base64url.
 * *out owned. ERR_INVALID when a required member is missing or not
 * base64url text. This is the kid of a jwt_key. */
int jwt_jwk_thumbprint(char **out, const json_t *jwk, struct err *e);

/* Sign claims (a JSON object, serialized compactly) with header
 * {"alg", "typ": "JWT", "kid"}. *out owned. */
int jwt_sign(char **out, const struct jwt_key *k, const json_t *claims,
	     struct err *e);
/* Check token's signature against the keys of a JWKS ({"keys": [...]}),
 * chosen by the header's kid, and its exp and nbf against now (seconds)
 * with leeway seconds; *claims_out a new reference on success. Errors:
 * ERR_SYNTAX (not a JWT), ERR_AUTH (no such kid, bad signature,
 * alg "none" or not the key's), ERR_TIMEOUT (expired, not yet valid).
 * token is untrusted: over 16 KB is ERR_SYNTAX, and each decoded part
 * has a cap. Also ERR_AUTH: no kid in the header, a "crit" header, a JWK
 * whose alg or use disagrees, an RSA JWK under 2048 or over 8192 bits, a
 * P-256 point not on the curve, no exp claim (every token must expire).
 * Expired means now - leeway >= exp; not yet valid, now + leeway < nbf.
 * ERR_INVALID when jwks has no "keys" array. */
int jwt_verify(json_t **claims_out, const char *token, const json_t *jwks,
	       long long now, long long leeway, struct err *e);

/* Open (creating when missing) the keyring in dir; a new keyring gets one
 * key of alg. Keys past their publication time are deleted here. dir is
 * created mode 0700 (and an existing one of ours tightened to 0700).
 * token_lifetime: seconds, 0 to 10^10. The keyring in memory is the
 * folder as of this open or the last rotate: a process that keeps
 * signing while another one rotates should open the folder again within
 * a few minutes, or its tokens may outlive their key's publication. */
int jwt_keyring_open(struct jwt_keyring **out, const char *dir,
		     enum jwt_alg alg, long long now,
		     long long token_lifetime, struct err *e);
void jwt_keyring_free(struct jwt_keyring *kr);
/* A new current key (of alg); the old one retired at now. Re-reads the
 * folder under the lock first, so a rotation by another process is kept;
 * keys past their publication time are deleted here too. */
int jwt_keyring_rotate(struct jwt_keyring *kr, enum jwt_alg alg,
		       long long now, struct err *e);
const struct jwt_key *jwt_keyring_current(const struct jwt_keyring *kr);
/* {"keys": [current, then retired keys still published]}; new ref. */
json_t *jwt_keyring_jwks(const struct jwt_keyring *kr);

#endif
