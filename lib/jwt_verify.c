/*
 * jwt verification: jwt_verify (see jwt.h), built on jwt.h's functions
 * only: the JWKS key chosen by kid, the JWK made an OpenSSL public key,
 * the signature checked (ES256's raw r || s made DER for OpenSSL), then
 * the claims' exp and nbf.
 *
 * Threat model: the token comes from anyone who can reach the agent, and
 * the JWKS may come from a remote server. Nothing in either is trusted
 * until the signature checks: the token is capped at JWT_TOKEN_MAX bytes
 * and each decoded part has its own cap, base64url is decoded strictly
 * (one text per byte string), the algorithm comes from the token but must
 * be one we implement and match the key's type ("none" and HMAC never
 * are), keys from a JWKS are size-checked before use, and messages quote
 * untrusted strings only cut short and with control characters replaced.
 */
#include "jwt.h"
#include "jwt_int.h"
#include "jsonx.h"
#include "util.h"

#include <stdbool.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#define JWT_TOKEN_MAX	16384		/* bytes of a compact JWS */
#define JWT_HEADER_MAX	2048		/* decoded header */
#define JWT_CLAIMS_MAX	12288		/* decoded claims */
#define JWT_SIG_MAX	1024		/* decoded signature: RSA 8192 */

/* Fill e from OpenSSL's error queue (reason only: it never holds key
 * material) and empty the queue so it does not leak into other code.
 * Returns -1. */
static int ossl_err(struct err *e, enum err_code code, const char *what)
{
	unsigned long c = ERR_peek_last_error();
	const char *r = c ? ERR_reason_error_string(c) : NULL;

	err_set(e, code, "%s: %s", what, r ? r : "OpenSSL failure");
	ERR_clear_error();
	return -1;
}

/* Recast an error on the way up (e may be NULL). */
static void set_code(struct err *e, enum err_code code)
{
	if (e)
		e->code = code;
}

/* Decode member name of jwk (base64url) into b, at most max bytes. */
static int jwk_bytes(struct buf *b, const json_t *jwk, const char *name,
		     size_t max, const char *kid, struct err *e)
{
	const char *s = jsonx_str(jwk, name);
	char q[64];

	b->max = max;
	if (!s || !*s)
		return err_set(e, ERR_AUTH, "JWK \"%s\" has no %s", quote(q, kid),
			       name);
	if (jwt_b64url_decode(b, s, strlen(s), e) < 0) {
		set_code(e, ERR_AUTH);
		return err_wrap(e, "JWK \"%s\": %s", quote(q, kid), name);
	}
	return 0;
}

/* The public key of jwk, which must be of alg's type. */
static int jwk_to_pkey(EVP_PKEY **out, const json_t *jwk, enum jwt_alg alg,
		       const char *kid, struct err *e)
{
	const char *kty = jsonx_str(jwk, "kty"), *crv;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	struct buf a = BUF_INIT, b = BUF_INIT;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL, *check = NULL;
	BIGNUM *n = NULL, *ev = NULL;
	unsigned char point[1 + 2 * JWT_EC_COORD];
	char q[64];
	int ret = -1;

	quote(q, kid);
	if (!bld) {
		ossl_err(e, ERR_INTERNAL, "OSSL_PARAM_BLD_new");
		goto done;
	}
	if (alg == JWT_RS256) {
		if (!kty || strcmp(kty, "RSA")) {
			err_set(e, ERR_AUTH, "alg RS256 does not match the kty of JWK \"%s\"", q);
			goto done;
		}
		if (jwk_bytes(&a, jwk, "n", JWT_RSA_MAX / 8, kid, e) < 0 ||
		    jwk_bytes(&b, jwk, "e", 8, kid, e) < 0)
			goto done;
		n = BN_bin2bn((unsigned char *)a.ptr, (int)a.len, NULL);
		ev = BN_bin2bn((unsigned char *)b.ptr, (int)b.len, NULL);
		if (!n || !ev) {
			ossl_err(e, ERR_INTERNAL, "BN_bin2bn");
			goto done;
		}
		if (BN_num_bits(n) < JWT_RSA_MIN || !BN_is_odd(ev) ||
		    BN_num_bits(ev) < 2) {
			err_set(e, ERR_AUTH, "JWK \"%s\" is not an RSA key of %d to %d bits",
				q, JWT_RSA_MIN, JWT_RSA_MAX);
			goto done;
		}
		if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, ev) != 1) {
			ossl_err(e, ERR_INTERNAL, "OSSL_PARAM_BLD_push_BN");
			goto done;
		}
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	} else {
		if (!kty || strcmp(kty, "EC")) {
			err_set(e, ERR_AUTH, "alg ES256 does not match the kty of JWK \"%s\"", q);
			goto done;
		}
		crv = jsonx_str(jwk, "crv");
		if (!crv || strcmp(crv, "P-256")) {
			err_set(e, ERR_AUTH, "JWK \"%s\" is not on the P-256 curve", q);
			goto done;
		}
		if (jwk_bytes(&a, jwk, "x", JWT_EC_COORD, kid, e) < 0 ||
		    jwk_bytes(&b, jwk, "y", JWT_EC_COORD, kid, e) < 0)
			goto done;
		if (a.len != JWT_EC_COORD || b.len != JWT_EC_COORD) {
			err_set(e, ERR_AUTH, "JWK \"%s\": x and y must be 32 bytes", q);
			goto done;
		}
		point[0] = 0x04;	/* uncompressed */
		memcpy(point + 1, a.ptr, JWT_EC_COORD);
		memcpy(point + 1 + JWT_EC_COORD, b.ptr, JWT_EC_COORD);
		if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
						    "prime256v1", 0) != 1 ||
		    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
						     point, sizeof(point)) != 1) {
			ossl_err(e, ERR_INTERNAL, "OSSL_PARAM_BLD_push");
			goto done;
		}
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	}
	params = OSSL_PARAM_BLD_to_param(bld);
	if (!ctx || !params || EVP_PKEY_fromdata_init(ctx) != 1) {
		ossl_err(e, ERR_INTERNAL, "EVP_PKEY_fromdata_init");
		goto done;
	}
	if (EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		ERR_clear_error();
		err_set(e, ERR_AUTH, "JWK \"%s\" is not a valid public key", q);
		goto done;
	}
	if (alg == JWT_ES256) {
		/* the point must be on the curve (invalid-curve attacks) */
		check = EVP_PKEY_CTX_new_from_pkey(NULL, *out, NULL);
		if (!check || EVP_PKEY_public_check(check) != 1) {
			ERR_clear_error();
			EVP_PKEY_free(*out);
			*out = NULL;
			err_set(e, ERR_AUTH, "JWK \"%s\" is not a point on P-256", q);
			goto done;
		}
	}
	ret = 0;
done:
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(ev);
	buf_release(&a);
	buf_release(&b);
	return ret;
}

/* Whether sig (raw r || s for ES256) is pkey's signature of data. */
static bool verify_bytes(EVP_PKEY *pkey, enum jwt_alg alg, const char *data,
			 size_t len, const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *ctx = NULL;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	bool ok = false;
	int dlen;

	if (alg == JWT_ES256) {
		if (siglen != 2 * JWT_EC_COORD)
			goto done;
		es = ECDSA_SIG_new();
		r = BN_bin2bn(sig, JWT_EC_COORD, NULL);
		s = BN_bin2bn(sig + JWT_EC_COORD, JWT_EC_COORD, NULL);
		if (!es || !r || !s || ECDSA_SIG_set0(es, r, s) != 1)
			goto done;
		r = s = NULL;	/* es owns them */
		dlen = i2d_ECDSA_SIG(es, &der);
		if (dlen <= 0)
			goto done;
		sig = der;
		siglen = (size_t)dlen;
	} else if (siglen != (size_t)EVP_PKEY_get_size(pkey)) {
		goto done;
	}
	ctx = EVP_MD_CTX_new();
	ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pkey) == 1 &&
	     EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)data, len) == 1;
done:
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	BN_free(r);
	BN_free(s);
	return ok;
}

/* Decode one part of the token and parse it as a JSON object. */
static int part_json(json_t **out, struct buf *b, const char *s, size_t len,
		     const char *what, struct err *e)
{
	json_error_t jerr;

	if (jwt_b64url_decode(b, s, len, e) < 0) {
		set_code(e, ERR_SYNTAX);
		return err_wrap(e, "not a JWT: %s", what);
	}
	*out = json_loadb(b->ptr, b->len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return err_set(e, ERR_SYNTAX, "not a JWT: %s is not a JSON object",
			       what);
	}
	return 0;
}

static int jwks_find(const json_t **out, const json_t *jwks, const char *kid,
		     struct err *e)
{
	json_t *keys = json_object_get(jwks, "keys"), *k;
	char q[64];
	size_t i;

	if (!json_is_array(keys))
		return err_set(e, ERR_INVALID, "the JWKS has no \"keys\" array");
	json_array_foreach(keys, i, k) {
		const char *kk = jsonx_str(k, "kid");

		if (kk && !strcmp(kk, kid)) {
			*out = k;
			return 0;
		}
	}
	return err_set(e, ERR_AUTH, "no key with kid \"%s\" in the JWKS",
		       quote(q, kid));
}

/* A NumericDate claim: *present false when absent. */
static int time_claim(double *out, bool *present, const json_t *claims,
		      const char *name, struct err *e)
{
	json_t *v = json_object_get(claims, name);

	*present = v != NULL;
	if (!v)
		return 0;
	if (!json_is_number(v))
		return err_set(e, ERR_SYNTAX, "JWT claim %s is not a number", name);
	*out = json_number_value(v);
	return 0;
}

int jwt_verify(json_t **claims_out, const char *token, const json_t *jwks,
	       long long now, long long leeway, struct err *e)
{
	struct buf hb, cb, sb;
	const char *d1, *d2, *alg_s, *kid, *s;
	json_t *hdr = NULL, *claims = NULL;
	const json_t *jwk = NULL;
	EVP_PKEY *pkey = NULL;
	enum jwt_alg alg;
	double exp = 0, nbf = 0;
	bool has_exp, has_nbf;
	size_t len;
	char q[64];
	int ret = -1;

	buf_init(&hb, JWT_HEADER_MAX);
	buf_init(&cb, JWT_CLAIMS_MAX);
	buf_init(&sb, JWT_SIG_MAX);
	if (leeway < 0)
		leeway = 0;
	len = token ? strnlen(token, JWT_TOKEN_MAX + 1) : 0;
	if (!len) {
		err_set(e, ERR_SYNTAX, "not a JWT: empty token");
		goto done;
	}
	if (len > JWT_TOKEN_MAX) {
		err_set(e, ERR_SYNTAX, "not a JWT: longer than %d bytes",
			JWT_TOKEN_MAX);
		goto done;
	}
	d1 = memchr(token, '.', len);
	d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
	if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token))) {
		err_set(e, ERR_SYNTAX,
			"not a JWT: a signed JWT has three parts separated by dots");
		goto done;
	}

	/* header: alg and kid, checked before any key is touched */
	if (part_json(&hdr, &hb, token, (size_t)(d1 - token), "header", e) < 0)
		goto done;
	alg_s = jsonx_str(hdr, "alg");
	if (!alg_s) {
		err_set(e, ERR_SYNTAX, "not a JWT: the header has no alg");
		goto done;
	}
	if (!str_casecmp(alg_s, "none")) {
		err_set(e, ERR_AUTH, "JWT refused: alg none (unsigned tokens are never accepted)");
		goto done;
	}
	if (jwt_alg_parse(&alg, alg_s, e) < 0) {
		set_code(e, ERR_AUTH);
		err_wrap(e, "JWT refused");
		goto done;
	}
	if (json_object_get(hdr, "crit")) {
		err_set(e, ERR_AUTH, "JWT refused: critical header extensions are not supported");
		goto done;
	}
	kid = jsonx_str(hdr, "kid");
	if (!kid) {
		err_set(e, ERR_AUTH, "JWT refused: the header has no kid");
		goto done;
	}
	if (jwks_find(&jwk, jwks, kid, e) < 0) {
		err_wrap(e, "JWT refused");
		goto done;
	}
	s = jsonx_str(jwk, "alg");
	if (s && strcmp(s, alg_s)) {
		char q2[64];

		err_set(e, ERR_AUTH, "JWT refused: alg %s, but JWK \"%s\" is for %s",
			alg_s, quote(q, kid), quote(q2, s));
		goto done;
	}
	s = jsonx_str(jwk, "use");
	if (s && strcmp(s, "sig")) {
		err_set(e, ERR_AUTH, "JWT refused: JWK \"%s\" is not a signing key",
			quote(q, kid));
		goto done;
	}
	if (jwk_to_pkey(&pkey, jwk, alg, kid, e) < 0) {
		err_wrap(e, "JWT refused");
		goto done;
	}

	/* signature over the first two parts as sent */
	if (jwt_b64url_decode(&sb, d2 + 1, len - (size_t)(d2 + 1 - token), e) < 0) {
		set_code(e, ERR_SYNTAX);
		err_wrap(e, "not a JWT: signature");
		goto done;
	}
	if (!verify_bytes(pkey, alg, token, (size_t)(d2 - token),
			  (const unsigned char *)sb.ptr, sb.len)) {
		err_set(e, ERR_AUTH, "JWT refused: bad signature (key \"%s\")",
			quote(q, kid));
		goto done;
	}

	/* claims, now that they are known to be the signer's */
	if (part_json(&claims, &cb, d1 + 1, (size_t)(d2 - d1 - 1), "claims", e) < 0 ||
	    time_claim(&exp, &has_exp, claims, "exp", e) < 0 ||
	    time_claim(&nbf, &has_nbf, claims, "nbf", e) < 0)
		goto done;
	if (!has_exp) {
		err_set(e, ERR_AUTH, "JWT refused: no exp claim (tokens must expire)");
		goto done;
	}
	if ((double)now - (double)leeway >= exp) {
		err_set(e, ERR_TIMEOUT, "JWT expired at %.0f (now %lld, leeway %lld s)",
			exp, now, leeway);
		goto done;
	}
	if (has_nbf && (double)now + (double)leeway < nbf) {
		err_set(e, ERR_TIMEOUT, "JWT not valid before %.0f (now %lld, leeway %lld s)",
			nbf, now, leeway);
		goto done;
	}
	*claims_out = claims;
	claims = NULL;
	ret = 0;
done:
	EVP_PKEY_free(pkey);
	json_decref(hdr);
	json_decref(claims);
	buf_release(&hb);
	buf_release(&cb);
	buf_release(&sb);
	return ret;
}
