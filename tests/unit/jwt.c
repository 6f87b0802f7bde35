/* Unit tests for lib/jwt.c: base64url, algorithm names, RFC 7638
 * thumbprints, keys, signing (and the verification of what was signed),
 * and fs_write_file_sync, which writes key files. lib/jwt.c is on GnuTLS;
 * OpenSSL here (and in lib/jwt_verify.c) is the independent other side:
 * key files the openssl command wrote load, and what lib/jwt.c writes
 * and signs OpenSSL reads and verifies. The refusals of
 * lib/jwt_verify.c and the PyJWT cross-check are in jwt_verify.c, the
 * keyring's tests in jwt_keyring.c; shared helpers in jwt_test.h. */
#include "jwt_test.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>


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

/* ---- key files of the openssl command ---- */

static int run_status(const char *cmd)
{
	int st = system(cmd);

	assert_int_not_equal(st, -1);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void run_ok(const char *fmt, const char *a, const char *b)
{
	char *cmd = xasprintf(fmt, a, b);

	assert_int_equal(run_status(cmd), 0);
	free(cmd);
}

/* base64url of bn: minimal (width 0) or left-padded to width bytes. */
static char *bn_b64(const BIGNUM *bn, int width)
{
	int n = width ? width : BN_num_bytes(bn);
	unsigned char *b = xmalloc((size_t)n);
	char *s;

	assert_int_equal(width ? BN_bn2binpad(bn, b, width) : BN_bn2bin(bn, b), n);
	s = jwt_b64url_encode(b, (size_t)n);
	free(b);
	return s;
}

/* Whether jwk's public numbers are those OpenSSL reads from the
 * unencrypted key file at path: checked apart from lib/jwt.c. */
static void assert_jwk_is_file(const json_t *jwk, const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *pkey;
	BIGNUM *a = NULL, *b = NULL;
	bool rsa;
	char *s1, *s2;

	assert_non_null(f);
	pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(pkey);
	rsa = EVP_PKEY_is_a(pkey, "RSA");
	assert_int_equal(EVP_PKEY_get_bn_param(pkey, rsa ? OSSL_PKEY_PARAM_RSA_N :
					       OSSL_PKEY_PARAM_EC_PUB_X, &a), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(pkey, rsa ? OSSL_PKEY_PARAM_RSA_E :
					       OSSL_PKEY_PARAM_EC_PUB_Y, &b), 1);
	s1 = bn_b64(a, rsa ? 0 : 32);
	s2 = bn_b64(b, rsa ? 0 : 32);
	assert_string_equal(jsonx_str(jwk, "kty"), rsa ? "RSA" : "EC");
	assert_string_equal(jsonx_str(jwk, rsa ? "n" : "x"), s1);
	assert_string_equal(jsonx_str(jwk, rsa ? "e" : "y"), s2);
	free(s1);
	free(s2);
	BN_free(a);
	BN_free(b);
	EVP_PKEY_free(pkey);
}

static void assert_starts(const char *path, const char *head)
{
	char *text = read_text(path);

	assert_true(str_starts_with(text, head));
	free(text);
}

/* A key of alg made by `openssl genpkey` (PKCS#8) loads, and so does its
 * traditional form; both give the key OpenSSL sees; a token it signs
 * verifies; saved, OpenSSL reads it again. Encrypted forms are refused. */
static void openssl_key(enum jwt_alg alg)
{
	const bool rsa = alg == JWT_RS256;
	char *dir = tmpdir_new(), *p8 = fs_join(dir, "p8.pem");
	char *trad = fs_join(dir, "trad.pem"), *saved = fs_join(dir, "saved.pem");
	char *enc = fs_join(dir, "enc.pem"), *tenc = fs_join(dir, "tenc.pem");
	json_t *claims = claims_exp(NOW, NOW + 600), *jwks, *jwk, *got = NULL;
	struct jwt_key *k = NULL, *l = NULL, *m = NULL;
	struct err e = ERR_INIT;
	char *tok = NULL;

	if (run_status("openssl version >/dev/null 2>&1") != 0) {
		print_message("the openssl command is missing: test skipped\n");
		skip();
	}
	run_ok("openssl genpkey %s -out '%s' 2>/dev/null",
	       rsa ? "-algorithm RSA -pkeyopt rsa_keygen_bits:2048"
		   : "-algorithm EC -pkeyopt ec_paramgen_curve:P-256", p8);
	run_ok("openssl pkey -in '%s' -traditional -out '%s'", p8, trad);
	run_ok("openssl pkey -in '%s' -aes256 -passout pass:gantry-test -out '%s'",
	       p8, enc);
	run_ok("openssl pkey -in '%s' -traditional -aes256 -passout pass:gantry-test -out '%s'",
	       p8, tenc);
	assert_starts(p8, "-----BEGIN PRIVATE KEY-----\n");
	assert_starts(trad, rsa ? "-----BEGIN RSA PRIVATE KEY-----\n"
				: "-----BEGIN EC PRIVATE KEY-----\n");
	assert_starts(enc, "-----BEGIN ENCRYPTED PRIVATE KEY-----\n");
	assert_starts(tenc, rsa ? "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
				: "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n");

	/* PKCS#8 and traditional: the same key, the one OpenSSL reads */
	assert_int_equal(jwt_key_load(&k, p8, &e), 0);
	assert_int_equal(jwt_key_alg(k), alg);
	jwk = jwt_key_jwk(k);
	assert_jwk_is_file(jwk, p8);
	json_decref(jwk);
	assert_int_equal(jwt_key_load(&l, trad, &e), 0);
	assert_int_equal(jwt_key_alg(l), alg);
	assert_string_equal(jwt_key_kid(l), jwt_key_kid(k));

	/* what it signs, OpenSSL (jwt_verify) verifies */
	assert_int_equal(jwt_sign(&tok, l, claims, &e), 0);
	jwks = jwks_of(k, NULL);
	assert_int_equal(jwt_verify(&got, tok, jwks, NOW, 0, &e), 0);
	assert_true(json_equal(got, claims));

	/* saved as PKCS#8, which OpenSSL reads as the same key */
	assert_int_equal(jwt_key_save(l, saved, &e), 0);
	assert_starts(saved, "-----BEGIN PRIVATE KEY-----\n");
	assert_int_equal(file_mode(saved), 0600);
	jwk = jwt_key_jwk(l);
	assert_jwk_is_file(jwk, saved);
	json_decref(jwk);
	assert_int_equal(jwt_key_load(&m, saved, &e), 0);
	assert_string_equal(jwt_key_kid(m), jwt_key_kid(k));

	/* encrypted, PKCS#8 or traditional: refused, no passphrase asked */
	jwt_key_free(m);
	m = NULL;
	assert_int_equal(jwt_key_load(&m, enc, &e), -1);
	assert_int_equal(e.code, ERR_SYNTAX);
	assert_non_null(strstr(e.msg, enc));
	err_clear(&e);
	assert_int_equal(jwt_key_load(&m, tenc, &e), -1);
	assert_int_equal(e.code, ERR_SYNTAX);
	assert_non_null(strstr(e.msg, tenc));
	assert_null(m);

	if (!rsa) {
		/* the curve is in an "EC PARAMETERS" block first (openssl
		 * ecparam -genkey): read; another 256-bit curve: refused */
		run_ok("openssl ecparam -genkey -name %s -out '%s'", "prime256v1", saved);
		assert_starts(saved, "-----BEGIN EC PARAMETERS-----\n");
		assert_int_equal(jwt_key_load(&m, saved, &e), 0);
		assert_int_equal(jwt_key_alg(m), JWT_ES256);
		jwt_key_free(m);
		m = NULL;
		run_ok("openssl ecparam -genkey -name %s -out '%s'", "secp256k1", saved);
		assert_int_equal(jwt_key_load(&m, saved, &e), -1);
		assert_non_null(strstr(e.msg, saved));
		assert_null(m);
	}

	free(tok);
	json_decref(got);
	json_decref(jwks);
	json_decref(claims);
	jwt_key_free(k);
	jwt_key_free(l);
	free(p8);
	free(trad);
	free(saved);
	free(enc);
	free(tenc);
	tmpdir_free(dir);
}

static void test_jwt_key_load_openssl_rs256(void **state)
{
	(void)state;
	openssl_key(JWT_RS256);
}

static void test_jwt_key_load_openssl_es256(void **state)
{
	(void)state;
	openssl_key(JWT_ES256);
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

	/* about 1 in 128 ECDSA signatures has an r or s under 2^248, and 1
	 * in 256 RSA signatures a leading zero byte: those are padded to
	 * their full width too, or verification fails */
	for (int i = 0; i < 768; i++) {
		json_t *c = claims_exp(NOW, NOW + 600 + i);
		char *t = NULL;

		assert_int_equal(jwt_sign(&t, k, c, &e), 0);
		free(part_decoded(t, 2, &len));
		assert_int_equal(len, alg == JWT_ES256 ? 64 : 256);
		assert_int_equal(verify_code(t, jwks, NOW, 0), ERR_NONE);
		json_decref(c);
		free(t);
	}

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
		cmocka_unit_test(test_jwt_key_load_openssl_rs256),
		cmocka_unit_test(test_jwt_key_load_openssl_es256),
		cmocka_unit_test(test_jwt_sign_verify_rs256),
		cmocka_unit_test(test_jwt_sign_verify_es256),
		cmocka_unit_test(test_fs_write_file_sync),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
