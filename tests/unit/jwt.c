/* Unit tests for lib/jwt.c and lib/jwt_verify.c: base64url, algorithm
 * names, RFC 7638 thumbprints, keys, signing and verification, a
 * cross-check with PyJWT, and fs_write_file_sync, which writes key files.
 * The keyring's tests are in jwt_keyring.c; shared helpers in jwt_test.h. */
#include "jwt_test.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#define SCRIPT "tests/unit/jwt_crosscheck.py"

/* ---- helpers ---- */

/* RFC 7638 thumbprint computed apart from lib/jwt.c: the canonical JSON
 * by hand, SHA-256 and standard base64 from OpenSSL, then made url-safe. */
static char *indep_thumbprint(const json_t *jwk)
{
	const char *kty = jsonx_str(jwk, "kty");
	unsigned char md[32], b64[64];
	unsigned int mdlen = 0;
	struct buf b = BUF_INIT;
	char *out;
	int n;

	assert_non_null(kty);
	if (!strcmp(kty, "RSA"))
		buf_printf(&b, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}",
			   jsonx_str(jwk, "e"), jsonx_str(jwk, "n"));
	else
		buf_printf(&b, "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
			   jsonx_str(jwk, "crv"), jsonx_str(jwk, "x"),
			   jsonx_str(jwk, "y"));
	assert_int_equal(EVP_Digest(b.ptr, b.len, md, &mdlen, EVP_sha256(), NULL), 1);
	n = EVP_EncodeBlock(b64, md, (int)mdlen);
	assert_int_equal(n, 44);
	out = xstrndup((char *)b64, 43);	/* drop the one '=' */
	for (char *p = out; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	buf_release(&b);
	return out;
}

static json_t *jwks_of(const struct jwt_key *a, const struct jwt_key *b)
{
	json_t *keys = json_array();

	json_array_append_new(keys, jwt_key_jwk(a));
	if (b)
		json_array_append_new(keys, jwt_key_jwk(b));
	return json_pack("{s:o}", "keys", keys);
}

static char *b64s(const char *s)
{
	return jwt_b64url_encode(s, strlen(s));
}

/* A token from header and claims JSON text and a signature part. */
static char *make_token(const char *hdr, const char *claims, const char *sig64)
{
	char *h = b64s(hdr), *c = b64s(claims);
	char *t = xasprintf("%s.%s.%s", h, c, sig64);

	free(h);
	free(c);
	return t;
}

/* Part i (0 to 2) of a token, as text. */
static char *token_part(const char *tok, int i)
{
	const char *p = tok, *end;

	while (i--) {
		p = strchr(p, '.');
		assert_non_null(p);
		p++;
	}
	end = strchr(p, '.');
	return end ? xstrndup(p, (size_t)(end - p)) : xstrdup(p);
}

static char *part_decoded(const char *tok, int i, size_t *len)
{
	char *p = token_part(tok, i);
	struct buf b = BUF_INIT;
	struct err e = ERR_INIT;

	assert_int_equal(jwt_b64url_decode(&b, p, strlen(p), &e), 0);
	free(p);
	return buf_detach(&b, len);
}

static struct jwt_key *key_of(enum jwt_alg alg)
{
	return alg == JWT_RS256 ? g_rsa : g_ec;
}

/* ---- base64url, names, thumbprints ---- */

static void test_jwt_b64url_vectors(void **state)
{
	/* RFC 4648 section 10, without padding, plus the two url-safe
	 * characters */
	static const struct { const char *raw; size_t len; const char *enc; } v[] = {
		{ "", 0, "" }, { "f", 1, "Zg" }, { "fo", 2, "Zm8" },
		{ "foo", 3, "Zm9v" }, { "foob", 4, "Zm9vYg" },
		{ "fooba", 5, "Zm9vYmE" }, { "foobar", 6, "Zm9vYmFy" },
		{ "\xfb\xff", 2, "-_8" }, { "\xff\xff\xfe", 3, "___-" },
		{ "\0\0", 2, "AAA" },
	};
	static const char *bad[] = {
		"Zg==", "Zm+v", "Zm/v", "Zm9 v", "Z", "Zm9vY", "Zh", "Zm9", "Zm9v\n",
	};
	struct err e = ERR_INIT;
	struct buf b = BUF_INIT;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		char *s = jwt_b64url_encode(v[i].raw, v[i].len);

		assert_string_equal(s, v[i].enc);
		free(s);
		buf_reset(&b);
		assert_int_equal(jwt_b64url_decode(&b, v[i].enc, strlen(v[i].enc), &e), 0);
		assert_int_equal(b.len, v[i].len);
		assert_memory_equal(b.ptr, v[i].raw, v[i].len);
	}
	/* decoding appends, and leaves out as it was on failure */
	buf_reset(&b);
	buf_adds(&b, "x");
	assert_int_equal(jwt_b64url_decode(&b, "Zm9v", 4, &e), 0);
	assert_string_equal(b.ptr, "xfoo");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err_clear(&e);
		assert_int_equal(jwt_b64url_decode(&b, bad[i], strlen(bad[i]), &e), -1);
		assert_int_equal(e.code, ERR_SYNTAX);
		assert_string_equal(b.ptr, "xfoo");
	}
	assert_int_equal(jwt_b64url_decode(&b, "Zm\0v", 4, &e), -1);
	assert_int_equal(e.code, ERR_SYNTAX);
	buf_release(&b);
	buf_init(&b, 2);
	assert_int_equal(jwt_b64url_decode(&b, "Zm9v", 4, &e), -1);
	assert_int_equal(e.code, ERR_LIMIT);
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

static void test_jwt_alg_names(void **state)
{
	struct err e = ERR_INIT;
	enum jwt_alg a;

	(void)state;
	assert_string_equal(jwt_alg_name(JWT_RS256), "RS256");
	assert_string_equal(jwt_alg_name(JWT_ES256), "ES256");
	assert_int_equal(jwt_alg_parse(&a, "ES256", &e), 0);
	assert_int_equal(a, JWT_ES256);
	assert_int_equal(jwt_alg_parse(&a, "RS256", &e), 0);
	assert_int_equal(a, JWT_RS256);
	assert_int_equal(jwt_alg_parse(&a, "rs256", &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_int_equal(jwt_alg_parse(&a, "HS256", &e), -1);
	assert_int_equal(jwt_alg_parse(&a, "none", &e), -1);
}

static const char rfc7638_n[] =
	"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

static void test_jwt_thumbprint_rfc7638(void **state)
{
	json_t *jwk = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "RSA",
				"n", rfc7638_n, "e", "AQAB", "alg", "RS256",
				"kid", "2011-04-29");
	json_t *bad = json_pack("{s:s, s:s, s:s}", "kty", "EC", "crv", "P-256",
				"x", "AAAA");
	json_t *oct = json_pack("{s:s, s:s}", "kty", "oct", "k", "AAAA");
	struct err e = ERR_INIT;
	char *t = NULL, *u;

	(void)state;
	assert_int_equal(jwt_jwk_thumbprint(&t, jwk, &e), 0);
	assert_string_equal(t, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	u = indep_thumbprint(jwk);
	assert_string_equal(u, t);
	free(t);
	free(u);
	assert_int_equal(jwt_jwk_thumbprint(&t, bad, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_int_equal(jwt_jwk_thumbprint(&t, oct, &e), -1);
	json_decref(jwk);
	json_decref(bad);
	json_decref(oct);
}

/* ---- keys ---- */

static void key_roundtrip(enum jwt_alg alg)
{
	struct jwt_key *k = key_of(alg), *l = NULL;
	char *dir = tmpdir_new(), *path = fs_join(dir, "key.pem"), *text, *tp = NULL;
	json_t *jwk = jwt_key_jwk(k), *jwk2;
	struct err e = ERR_INIT;
	struct buf b = BUF_INIT;

	assert_int_equal(jwt_key_save(k, path, &e), 0);
	assert_int_equal(file_mode(path), 0600);
	assert_int_equal(count_suffix(dir, ""), 3);	/* ., .., key.pem */
	text = read_text(path);
	assert_true(str_starts_with(text, "-----BEGIN PRIVATE KEY-----\n"));
	free(text);
	/* saving again replaces the file */
	assert_int_equal(jwt_key_save(k, path, &e), 0);
	assert_int_equal(count_suffix(dir, ""), 3);

	assert_int_equal(jwt_key_load(&l, path, &e), 0);
	assert_int_equal(jwt_key_alg(l), alg);
	assert_string_equal(jwt_key_kid(l), jwt_key_kid(k));
	jwk2 = jwt_key_jwk(l);
	assert_true(json_equal(jwk, jwk2));

	/* the JWK's shape */
	assert_string_equal(jsonx_str(jwk, "use"), "sig");
	assert_string_equal(jsonx_str(jwk, "alg"), jwt_alg_name(alg));
	assert_string_equal(jsonx_str(jwk, "kid"), jwt_key_kid(k));
	if (alg == JWT_RS256) {
		assert_string_equal(jsonx_str(jwk, "kty"), "RSA");
		assert_string_equal(jsonx_str(jwk, "e"), "AQAB");
		assert_int_equal(jwt_b64url_decode(&b, jsonx_str(jwk, "n"),
						   strlen(jsonx_str(jwk, "n")), &e), 0);
		assert_int_equal(b.len, 256);
		assert_true((unsigned char)b.ptr[0] != 0);
		assert_null(json_object_get(jwk, "d"));
	} else {
		assert_string_equal(jsonx_str(jwk, "kty"), "EC");
		assert_string_equal(jsonx_str(jwk, "crv"), "P-256");
		assert_int_equal(strlen(jsonx_str(jwk, "x")), 43);
		assert_int_equal(strlen(jsonx_str(jwk, "y")), 43);
		assert_null(json_object_get(jwk, "d"));
	}
	/* kid: RFC 7638, computed independently, and by jwt_jwk_thumbprint */
	text = indep_thumbprint(jwk);
	assert_string_equal(text, jwt_key_kid(k));
	assert_int_equal(jwt_jwk_thumbprint(&tp, jwk, &e), 0);
	assert_string_equal(tp, jwt_key_kid(k));
	/* the copy is the caller's */
	json_object_set_new(jwk2, "kid", json_string("changed"));
	json_decref(jwk2);
	jwk2 = jwt_key_jwk(l);
	assert_string_equal(jsonx_str(jwk2, "kid"), jwt_key_kid(k));

	free(text);
	free(tp);
	json_decref(jwk);
	json_decref(jwk2);
	buf_release(&b);
	jwt_key_free(l);
	free(path);
	tmpdir_free(dir);
}

static void test_jwt_key_roundtrip_rs256(void **state)
{
	(void)state;
	key_roundtrip(JWT_RS256);
}

static void test_jwt_key_roundtrip_es256(void **state)
{
	(void)state;
	key_roundtrip(JWT_ES256);
}

static void write_pkey(const char *path, EVP_PKEY *pkey)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long len;
	struct err e = ERR_INIT;

	assert_non_null(pkey);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL), 1);
	len = BIO_get_mem_data(bio, &data);
	assert_int_equal(fs_write_file(path, data, (size_t)len, 0600, &e), 0);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
}

static void test_jwt_key_load_refuses(void **state)
{
	char *dir = tmpdir_new(), *path = fs_join(dir, "k.pem"), *text, *half, *line2;
	struct jwt_key *k = NULL;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(jwt_key_load(&k, path, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_non_null(strstr(e.msg, path));

	write_text(path, "not a key\n");
	assert_int_equal(jwt_key_load(&k, path, &e), -1);
	assert_int_equal(e.code, ERR_SYNTAX);
	assert_non_null(strstr(e.msg, path));

	/* a damaged key: the message names the file, never its content */
	assert_int_equal(jwt_key_save(g_rsa, path, &e), 0);
	text = read_text(path);
	half = xstrndup(text, strlen(text) / 2);
	line2 = xstrndup(strchr(text, '\n') + 1, 40);
	write_text(path, half);
	assert_int_equal(jwt_key_load(&k, path, &e), -1);
	assert_non_null(strstr(e.msg, path));
	assert_null(strstr(e.msg, line2));
	assert_null(strstr(e.msg, "MII"));
	free(text);
	free(half);
	free(line2);

	/* keys that cannot sign RS256 or ES256 */
	write_pkey(path, EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024));
	assert_int_equal(jwt_key_load(&k, path, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	write_pkey(path, EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"));
	assert_int_equal(jwt_key_load(&k, path, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	write_pkey(path, EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
	assert_int_equal(jwt_key_load(&k, path, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_null(k);

	jwt_key_free(NULL);
	free(path);
	tmpdir_free(dir);
}

/* ---- sign and verify ---- */

static void sign_verify(enum jwt_alg alg)
{
	struct jwt_key *k = key_of(alg);
	json_t *claims = claims_exp(NOW, NOW + 600), *got = NULL;
	json_t *jwks = jwks_of(key_of(alg == JWT_RS256 ? JWT_ES256 : JWT_RS256), k);
	struct err e = ERR_INIT;
	char *tok = NULL, *hdr, *want, *body, *cs;
	size_t len = 0;

	assert_int_equal(jwt_sign(&tok, k, claims, &e), 0);
	hdr = part_decoded(tok, 0, NULL);
	want = xasprintf("{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
			 jwt_alg_name(alg), jwt_key_kid(k));
	assert_string_equal(hdr, want);
	body = part_decoded(tok, 1, NULL);
	cs = json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(body, cs);
	free(part_decoded(tok, 2, &len));
	assert_int_equal(len, alg == JWT_ES256 ? 64 : 256);

	assert_int_equal(jwt_verify(&got, tok, jwks, NOW, 0, &e), 0);
	assert_true(json_equal(got, claims));
	json_decref(got);

	/* claims must be an object */
	json_decref(claims);
	claims = json_string("x");
	free(want);
	want = NULL;
	assert_int_equal(jwt_sign(&want, k, claims, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_null(want);

	free(hdr);
	free(body);
	free(cs);
	free(tok);
	json_decref(claims);
	json_decref(jwks);
}

static void test_jwt_sign_verify_rs256(void **state)
{
	(void)state;
	sign_verify(JWT_RS256);
}

static void test_jwt_sign_verify_es256(void **state)
{
	(void)state;
	sign_verify(JWT_ES256);
}

static void tampered(enum jwt_alg alg)
{
	struct jwt_key *k = key_of(alg);
	json_t *jwks = jwks_of(g_rsa, g_ec);
	char *tok = sign_claims(k, claims_exp(NOW, NOW + 600));
	char *h = token_part(tok, 0), *c = token_part(tok, 1), *s = token_part(tok, 2);
	char *raw, *t, *x, *hj;
	size_t len = 0;

	assert_int_equal(verify_code(tok, jwks, NOW, 0), ERR_NONE);

	/* payload: other claims under the same header and signature */
	x = b64s("{\"iss\":\"https://gantry.example\",\"sub\":\"repo:evil/app\",\"exp\":1700000600}");
	t = xasprintf("%s.%s.%s", h, x, s);
	assert_int_equal(verify_code(t, jwks, NOW, 0), ERR_AUTH);
	free(x);
	free(t);

	/* signature: one bit flipped */
	raw = part_decoded(tok, 2, &len);
	raw[len / 2] ^= 0x01;
	x = jwt_b64url_encode(raw, len);
	t = xasprintf("%s.%s.%s", h, c, x);
	assert_int_equal(verify_code(t, jwks, NOW, 0), ERR_AUTH);
	free(raw);
	free(x);
	free(t);

	/* signature cut short, or missing */
	t = xasprintf("%s.%s.%.*s", h, c, (int)strlen(s) - 4, s);
	assert_int_not_equal(verify_code(t, jwks, NOW, 0), ERR_NONE);
	free(t);
	t = xasprintf("%s.%s.", h, c);
	assert_int_equal(verify_code(t, jwks, NOW, 0), ERR_AUTH);
	free(t);

	/* header: a member added */
	hj = xasprintf("{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\",\"x\":1}",
		       jwt_alg_name(alg), jwt_key_kid(k));
	x = b64s(hj);
	t = xasprintf("%s.%s.%s", x, c, s);
	assert_int_equal(verify_code(t, jwks, NOW, 0), ERR_AUTH);
	free(hj);
	free(x);
	free(t);

	/* header: the other algorithm for the same kid */
	hj = xasprintf("{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
		       alg == JWT_RS256 ? "ES256" : "RS256", jwt_key_kid(k));
	x = b64s(hj);
	t = xasprintf("%s.%s.%s", x, c, s);
	assert_int_equal(verify_code(t, jwks, NOW, 0), ERR_AUTH);
	free(hj);
	free(x);
	free(t);

	/* every single-character change is refused (base64url is decoded
	 * strictly, so none decodes to the same bytes) */
	t = xstrdup(tok);
	for (size_t i = 0; t[i]; i++) {
		static const char subs[] = { 'A', 'B', '_', '.', '=' };

		for (size_t j = 0; j < sizeof(subs); j++) {
			char was = t[i];

			if (was == subs[j])
				continue;
			t[i] = subs[j];
			assert_int_not_equal(verify_code(t, jwks, NOW, 0), ERR_NONE);
			t[i] = was;
		}
	}
	free(t);

	free(h);
	free(c);
	free(s);
	free(tok);
	json_decref(jwks);
}

static void test_jwt_tampered_refused_rs256(void **state)
{
	(void)state;
	tampered(JWT_RS256);
}

static void test_jwt_tampered_refused_es256(void **state)
{
	(void)state;
	tampered(JWT_ES256);
}

static void test_jwt_alg_none_refused(void **state)
{
	json_t *jwks = jwks_of(g_rsa, g_ec);
	const char *claims = "{\"sub\":\"x\",\"exp\":1700000600}";
	static const char *algs[] = { "none", "None", "NONE", "HS256", "ES384", "" };
	char *hj, *t;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(algs); i++) {
		hj = xasprintf("{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
			       algs[i], jwt_key_kid(g_ec));
		t = make_token(hj, claims, "");
		assert_int_equal(verify_code(t, jwks, NOW, 0), ERR_AUTH);
		free(t);
		t = make_token(hj, claims, "c2lnbmF0dXJl");
		assert_int_equal(verify_code(t, jwks, NOW, 0), ERR_AUTH);
		free(t);
		free(hj);
	}
	/* no alg at all */
	hj = xasprintf("{\"typ\":\"JWT\",\"kid\":\"%s\"}", jwt_key_kid(g_ec));
	t = make_token(hj, claims, "");
	assert_int_equal(verify_code(t, jwks, NOW, 0), ERR_SYNTAX);
	free(t);
	free(hj);
	/* crit is refused */
	hj = xasprintf("{\"alg\":\"ES256\",\"kid\":\"%s\",\"crit\":[\"b64\"],\"b64\":false}",
		       jwt_key_kid(g_ec));
	t = make_token(hj, claims, "");
	assert_int_equal(verify_code(t, jwks, NOW, 0), ERR_AUTH);
	free(t);
	free(hj);
	json_decref(jwks);
}

static void test_jwt_wrong_kid(void **state)
{
	struct jwt_key *other = NULL;
	struct err e = ERR_INIT;
	char *tok = sign_claims(g_ec, claims_exp(NOW, NOW + 600)), *hj, *t, *c, *s;
	json_t *only_rsa = jwks_of(g_rsa, NULL), *relabeled, *jwk;
	json_t *claims = NULL;

	(void)state;
	assert_int_equal(jwt_verify(&claims, tok, only_rsa, NOW, 0, &e), -1);
	assert_int_equal(e.code, ERR_AUTH);
	assert_non_null(strstr(e.msg, "no key"));

	/* the RSA key under the EC key's kid: kty does not match */
	relabeled = jwks_of(g_rsa, NULL);
	jwk = json_array_get(json_object_get(relabeled, "keys"), 0);
	json_object_set_new(jwk, "kid", json_string(jwt_key_kid(g_ec)));
	json_object_del(jwk, "alg");
	assert_int_equal(verify_code(tok, relabeled, NOW, 0), ERR_AUTH);
	json_decref(relabeled);

	/* another EC key under this kid: bad signature */
	assert_int_equal(jwt_key_generate(&other, JWT_ES256, &e), 0);
	relabeled = jwks_of(other, NULL);
	jwk = json_array_get(json_object_get(relabeled, "keys"), 0);
	json_object_set_new(jwk, "kid", json_string(jwt_key_kid(g_ec)));
	assert_int_equal(verify_code(tok, relabeled, NOW, 0), ERR_AUTH);
	json_decref(relabeled);

	/* the right key but a JWK for another alg, or not for signing */
	relabeled = jwks_of(g_ec, NULL);
	jwk = json_array_get(json_object_get(relabeled, "keys"), 0);
	json_object_set_new(jwk, "alg", json_string("ES384"));
	assert_int_equal(verify_code(tok, relabeled, NOW, 0), ERR_AUTH);
	json_object_set_new(jwk, "alg", json_string("ES256"));
	json_object_set_new(jwk, "use", json_string("enc"));
	assert_int_equal(verify_code(tok, relabeled, NOW, 0), ERR_AUTH);
	json_object_del(jwk, "use");
	json_object_del(jwk, "alg");
	assert_int_equal(verify_code(tok, relabeled, NOW, 0), ERR_NONE);
	json_decref(relabeled);

	/* no kid in the header */
	c = token_part(tok, 1);
	s = token_part(tok, 2);
	hj = b64s("{\"alg\":\"ES256\",\"typ\":\"JWT\"}");
	t = xasprintf("%s.%s.%s", hj, c, s);
	assert_int_equal(verify_code(t, only_rsa, NOW, 0), ERR_AUTH);
	free(t);
	free(hj);
	free(c);
	free(s);

	jwt_key_free(other);
	json_decref(only_rsa);
	free(tok);
}

static void test_jwt_expiry_and_not_before(void **state)
{
	json_t *jwks = jwks_of(g_rsa, g_ec);
	char *tok;

	(void)state;
	tok = sign_claims(g_ec, claims_exp(NOW - 600, NOW - 10));
	assert_int_equal(verify_code(tok, jwks, NOW, 0), ERR_TIMEOUT);
	assert_int_equal(verify_code(tok, jwks, NOW, 10), ERR_TIMEOUT);
	assert_int_equal(verify_code(tok, jwks, NOW, 11), ERR_NONE);
	assert_int_equal(verify_code(tok, jwks, NOW - 11, 0), ERR_NONE);
	assert_int_equal(verify_code(tok, jwks, NOW - 10, 0), ERR_TIMEOUT);
	assert_int_equal(verify_code(tok, jwks, NOW, -100), ERR_TIMEOUT);
	free(tok);

	tok = sign_claims(g_rsa, json_pack("{s:s, s:I, s:I}", "sub", "x",
					   "nbf", (json_int_t)(NOW + 30),
					   "exp", (json_int_t)(NOW + 600)));
	assert_int_equal(verify_code(tok, jwks, NOW, 0), ERR_TIMEOUT);
	assert_int_equal(verify_code(tok, jwks, NOW, 29), ERR_TIMEOUT);
	assert_int_equal(verify_code(tok, jwks, NOW, 30), ERR_NONE);
	assert_int_equal(verify_code(tok, jwks, NOW + 30, 0), ERR_NONE);
	free(tok);

	/* NumericDate may have a fraction */
	tok = sign_claims(g_ec, json_pack("{s:f}", "exp", (double)NOW + 0.5));
	assert_int_equal(verify_code(tok, jwks, NOW, 0), ERR_NONE);
	assert_int_equal(verify_code(tok, jwks, NOW + 1, 0), ERR_TIMEOUT);
	free(tok);

	/* every token must expire; exp must be a number */
	tok = sign_claims(g_ec, json_pack("{s:s}", "sub", "forever"));
	assert_int_equal(verify_code(tok, jwks, NOW, 0), ERR_AUTH);
	free(tok);
	tok = sign_claims(g_ec, json_pack("{s:s}", "exp", "tomorrow"));
	assert_int_equal(verify_code(tok, jwks, NOW, 0), ERR_SYNTAX);
	free(tok);
	tok = sign_claims(g_ec, json_pack("{s:I, s:b}", "exp", (json_int_t)(NOW + 9), "nbf", 1));
	assert_int_equal(verify_code(tok, jwks, NOW, 0), ERR_SYNTAX);
	free(tok);
	json_decref(jwks);
}

static void test_jwt_garbage_tokens(void **state)
{
	static const char *garbage[] = {
		"", ".", "..", "...", "a.", ".a", "a.b", "a.b.c.d", "a.b.c.d.e",
		"@@@.x.y", "eyJ.x.y", "eyJhbGciOiJFUzI1NiJ9", "eyJhbGciOiJFUzI1NiJ9..",
		"e30.e30.", "W10.e30.e30", "bnVsbA.e30.e30", "IiI.e30.e30",
		"eyJhbGciOiJFUzI1NiIsImFsZyI6Im5vbmUifQ.e30.e30",	/* alg twice */
		"eyJhbGciOjF9.e30.e30",					/* alg 1 */
		"eyJhbGciOiJFUzI1NiIsImtpZCI6MX0.e30.e30",		/* kid 1 */
		"\xff\xfe.\x01.\x7f",
	};
	json_t *jwks = jwks_of(g_rsa, g_ec);
	struct err e = ERR_INIT;
	json_t *claims = NULL;
	char *huge, *hj, *t, *c, *pad;
	size_t n = 1 << 20;

	(void)state;
	assert_int_equal(jwt_verify(&claims, NULL, jwks, NOW, 0, &e), -1);
	assert_int_equal(e.code, ERR_SYNTAX);
	for (size_t i = 0; i < ARRAY_SIZE(garbage); i++) {
		int code = verify_code(garbage[i], jwks, NOW, 0);

		assert_true(code == ERR_SYNTAX || code == ERR_AUTH);
	}
	assert_int_equal(verify_code("e30.e30.e30", jwks, NOW, 0), ERR_SYNTAX);

	/* huge: 1 MB of base64url with the dots of a JWT */
	huge = xmalloc(n + 1);
	memset(huge, 'e', n);
	huge[1000] = huge[n - 1000] = '.';
	huge[n] = '\0';
	assert_int_equal(verify_code(huge, jwks, NOW, 0), ERR_SYNTAX);
	free(huge);

	/* just past the cap, and a valid header with a huge payload */
	hj = xasprintf("{\"alg\":\"ES256\",\"kid\":\"%s\"}", jwt_key_kid(g_ec));
	pad = xmalloc(16400);
	memset(pad, 'A', 16399);
	pad[16399] = '\0';
	c = b64s(hj);
	t = xasprintf("%s.%s.AAAA", c, pad);
	assert_int_equal(verify_code(t, jwks, NOW, 0), ERR_SYNTAX);
	free(t);
	t = xasprintf("%s.%.*s.AAAA", c, 12000, pad);
	assert_int_not_equal(verify_code(t, jwks, NOW, 0), ERR_NONE);
	free(t);
	/* a header that is not JSON, a signature that is not base64url */
	t = xasprintf("%s.e30.%s", "bm90IGpzb24", "!!!!");
	assert_int_equal(verify_code(t, jwks, NOW, 0), ERR_SYNTAX);
	free(t);
	t = xasprintf("%s.e30.!!!!", c);
	assert_int_equal(verify_code(t, jwks, NOW, 0), ERR_SYNTAX);
	free(t);

	/* a JWKS that is not one, or whose keys are damaged */
	t = xasprintf("%s.e30.AAAA", c);
	assert_int_equal(verify_code(t, NULL, NOW, 0), ERR_INVALID);
	claims = json_pack("{s:i}", "keys", 3);
	assert_int_equal(verify_code(t, claims, NOW, 0), ERR_INVALID);
	json_decref(claims);
	claims = json_pack("{s:[i, s, n, {s:s}]}", "keys", 1, "x",
			   "kid", jwt_key_kid(g_ec));
	assert_int_equal(verify_code(t, claims, NOW, 0), ERR_AUTH);
	json_decref(claims);
	/* x and y not on the curve */
	claims = json_pack("{s:[{s:s, s:s, s:s, s:s, s:s}]}", "keys", "kty", "EC",
			   "crv", "P-256", "kid", jwt_key_kid(g_ec),
			   "x", "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA",
			   "y", "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA");
	assert_int_equal(verify_code(t, claims, NOW, 0), ERR_AUTH);
	json_decref(claims);
	/* x too short; crv not P-256 */
	claims = json_pack("{s:[{s:s, s:s, s:s, s:s, s:s}]}", "keys", "kty", "EC",
			   "crv", "P-256", "kid", jwt_key_kid(g_ec), "x", "AQID",
			   "y", "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA");
	assert_int_equal(verify_code(t, claims, NOW, 0), ERR_AUTH);
	json_decref(claims);
	free(t);
	free(hj);
	free(c);

	/* RSA JWKs: too small, too large, bad base64url */
	hj = xasprintf("{\"alg\":\"RS256\",\"kid\":\"%s\"}", jwt_key_kid(g_rsa));
	c = b64s(hj);
	t = xasprintf("%s.e30.AAAA", c);
	claims = json_pack("{s:[{s:s, s:s, s:s, s:s}]}", "keys", "kty", "RSA",
			   "kid", jwt_key_kid(g_rsa), "n", "AQAB", "e", "AQAB");
	assert_int_equal(verify_code(t, claims, NOW, 0), ERR_AUTH);
	json_decref(claims);
	claims = json_pack("{s:[{s:s, s:s, s:s, s:s}]}", "keys", "kty", "RSA",
			   "kid", jwt_key_kid(g_rsa), "n", pad, "e", "AQAB");
	assert_int_equal(verify_code(t, claims, NOW, 0), ERR_AUTH);
	json_decref(claims);
	claims = json_pack("{s:[{s:s, s:s, s:s, s:s}]}", "keys", "kty", "RSA",
			   "kid", jwt_key_kid(g_rsa), "n", "A=A", "e", "AQAB");
	assert_int_equal(verify_code(t, claims, NOW, 0), ERR_AUTH);
	json_decref(claims);
	free(t);
	free(hj);
	free(c);
	free(pad);
	json_decref(jwks);
}

/* ---- cross-check with PyJWT ---- */

static int run_status(const char *cmd)
{
	int st = system(cmd);

	assert_int_not_equal(st, -1);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void skip_without_pyjwt(void)
{
	if (run_status("/usr/bin/python3 -c 'import jwt, cryptography' 2>/dev/null") != 0) {
		print_message("PyJWT or python3-cryptography missing: cross-check skipped\n");
		skip();
	}
}

static void test_jwt_crosscheck_pyjwt_verifies_ours(void **state)
{
	char *dir, *jwks_path, *tok_path, *ok_cmd, *fail_cmd, *text, *tok;
	char *h, *c, *s, *t, *x;
	json_t *jwks = jwks_of(g_rsa, g_ec);

	(void)state;
	skip_without_pyjwt();
	dir = tmpdir_new();
	assert_null(strchr(dir, '\''));
	jwks_path = fs_join(dir, "jwks.json");
	tok_path = fs_join(dir, "token");
	text = jsonx_dump(jwks, 1);
	write_text(jwks_path, text);
	free(text);
	ok_cmd = xasprintf(SCRIPT " verify '%s' '%s' >/dev/null", jwks_path, tok_path);
	fail_cmd = xasprintf(SCRIPT " verify '%s' '%s' >/dev/null 2>&1", jwks_path,
			     tok_path);
	for (int a = 0; a < 2; a++) {
		struct jwt_key *k = a ? g_ec : g_rsa;
		long long now = (long long)time(NULL);

		tok = sign_claims(k, claims_exp(now, now + 300));
		write_text(tok_path, tok);
		assert_int_equal(run_status(ok_cmd), 0);
		h = token_part(tok, 0);
		c = token_part(tok, 1);
		s = token_part(tok, 2);
		/* a signature character changed */
		s[3] = s[3] == 'A' ? 'B' : 'A';
		t = xasprintf("%s.%s.%s", h, c, s);
		write_text(tok_path, t);
		assert_int_equal(run_status(fail_cmd), 1);
		free(t);
		/* other claims under the original signature */
		s[3] = tok[strlen(h) + strlen(c) + 2 + 3];
		x = b64s("{\"sub\":\"repo:evil/app\",\"exp\":4000000000}");
		t = xasprintf("%s.%s.%s", h, x, s);
		write_text(tok_path, t);
		assert_int_equal(run_status(fail_cmd), 1);
		free(t);
		t = xasprintf("%s.%s.%s", h, c, s);	/* restored: passes */
		write_text(tok_path, t);
		assert_int_equal(run_status(ok_cmd), 0);
		free(t);
		free(x);
		free(h);
		free(c);
		free(s);
		free(tok);
	}
	free(ok_cmd);
	free(fail_cmd);
	json_decref(jwks);
	free(jwks_path);
	free(tok_path);
	tmpdir_free(dir);
}

static void test_jwt_crosscheck_we_verify_pyjwt(void **state)
{
	json_t *jwks = jwks_of(g_rsa, g_ec), *claims = NULL;
	struct err e = ERR_INIT;
	char *dir, *pem, *cmd, line[8192];

	(void)state;
	skip_without_pyjwt();
	dir = tmpdir_new();
	assert_null(strchr(dir, '\''));
	pem = fs_join(dir, "key.pem");
	for (int a = 0; a < 2; a++) {
		struct jwt_key *k = a ? g_ec : g_rsa;
		long long now = (long long)time(NULL);
		FILE *p;
		size_t n;

		assert_int_equal(jwt_key_save(k, pem, &e), 0);
		cmd = xasprintf(SCRIPT " sign '%s' %s", pem, jwt_alg_name(jwt_key_alg(k)));
		p = popen(cmd, "r");
		assert_non_null(p);
		assert_non_null(fgets(line, sizeof(line), p));
		assert_int_equal(pclose(p), 0);
		n = strlen(line);
		assert_true(n > 0 && line[n - 1] == '\n');
		line[n - 1] = '\0';
		/* PyJWT's kid is its own RFC 7638 thumbprint of the key */
		assert_int_equal(jwt_verify(&claims, line, jwks, now, 5, &e), 0);
		assert_string_equal(jsonx_str(claims, "sub"), "repo:org/x:ref");
		assert_string_equal(jsonx_str(claims, "aud"), "sts.amazonaws.com");
		json_decref(claims);
		claims = NULL;
		/* refused once expired, or with its claims changed */
		assert_int_equal(verify_code(line, jwks, now + 400, 0), ERR_TIMEOUT);
		line[strchr(line, '.') - line + 3] ^= 1;
		assert_int_not_equal(verify_code(line, jwks, now, 5), ERR_NONE);
		free(cmd);
	}
	free(pem);
	json_decref(jwks);
	tmpdir_free(dir);
}

/* ---- fs_write_file_sync, which writes key files and keyring.json ---- */

static void test_fs_write_file_sync(void **state)
{
	char *dir = tmpdir_new(), *path = fs_join(dir, "f.json");
	char *sub = fs_join(dir, "sub"), *inner = fs_join(sub, "x");
	char *missing = fs_join(dir, "no/such/f.json"), *text;
	struct err e = ERR_INIT;
	mode_t old = umask(022);

	(void)state;
	/* a new file: mode, content, no temporary file left */
	assert_int_equal(fs_write_file_sync(path, "{\"a\": 1}\n", 9, 0600, &e), 0);
	assert_int_equal(e.code, ERR_NONE);
	assert_int_equal(file_mode(path), 0600);
	text = read_text(path);
	assert_string_equal(text, "{\"a\": 1}\n");
	free(text);
	assert_int_equal(count_containing(dir, ".tmp-"), 0);

	/* replaced, with exactly the mode given whatever the umask */
	umask(077);
	assert_int_equal(fs_write_file_sync(path, "second", 6, 0640, &e), 0);
	assert_int_equal(file_mode(path), 0640);
	text = read_text(path);
	assert_string_equal(text, "second");
	free(text);
	assert_int_equal(fs_write_file_sync(path, "", 0, 0600, &e), 0);
	assert_int_equal(file_mode(path), 0600);
	text = read_text(path);
	assert_string_equal(text, "");
	free(text);
	assert_int_equal(count_containing(dir, ".tmp-"), 0);

	/* the rename fails (a folder in the way): temporary file removed,
	 * the folder untouched, the error names the path */
	assert_int_equal(fs_mkdirs(sub, 0700, &e), 0);
	write_text(inner, "keep");
	assert_int_equal(fs_write_file_sync(sub, "data", 4, 0600, &e), -1);
	assert_int_equal(e.code, ERR_IO);
	assert_non_null(strstr(e.msg, sub));
	assert_true(fs_is_dir(sub));
	text = read_text(inner);
	assert_string_equal(text, "keep");
	free(text);
	assert_int_equal(count_containing(dir, ".tmp-"), 0);

	/* no folder to write in */
	err_clear(&e);
	assert_int_equal(fs_write_file_sync(missing, "data", 4, 0600, &e), -1);
	assert_int_equal(e.code, ERR_IO);
	assert_non_null(strstr(e.msg, missing));
	assert_false(fs_exists(missing));

	umask(old);
	free(path);
	free(sub);
	free(inner);
	free(missing);
	tmpdir_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jwt_b64url_vectors),
		cmocka_unit_test(test_jwt_alg_names),
		cmocka_unit_test(test_jwt_thumbprint_rfc7638),
		cmocka_unit_test(test_jwt_key_roundtrip_rs256),
		cmocka_unit_test(test_jwt_key_roundtrip_es256),
		cmocka_unit_test(test_jwt_key_load_refuses),
		cmocka_unit_test(test_jwt_sign_verify_rs256),
		cmocka_unit_test(test_jwt_sign_verify_es256),
		cmocka_unit_test(test_jwt_tampered_refused_rs256),
		cmocka_unit_test(test_jwt_tampered_refused_es256),
		cmocka_unit_test(test_jwt_alg_none_refused),
		cmocka_unit_test(test_jwt_wrong_kid),
		cmocka_unit_test(test_jwt_expiry_and_not_before),
		cmocka_unit_test(test_jwt_garbage_tokens),
		cmocka_unit_test(test_jwt_crosscheck_pyjwt_verifies_ours),
		cmocka_unit_test(test_jwt_crosscheck_we_verify_pyjwt),
		cmocka_unit_test(test_fs_write_file_sync),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
