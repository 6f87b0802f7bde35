/* Unit tests for lib/jwt_verify.c: what jwt_verify refuses (tampered
 * tokens, alg none, unknown kids, expired and not yet valid tokens,
 * garbage), and a cross-check with an independent implementation, PyJWT,
 * in both directions. Shared helpers in jwt_test.h. */
#include "jwt_test.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#define SCRIPT "tests/unit/jwt_crosscheck.py"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jwt_tampered_refused_rs256),
		cmocka_unit_test(test_jwt_tampered_refused_es256),
		cmocka_unit_test(test_jwt_alg_none_refused),
		cmocka_unit_test(test_jwt_wrong_kid),
		cmocka_unit_test(test_jwt_expiry_and_not_before),
		cmocka_unit_test(test_jwt_garbage_tokens),
		cmocka_unit_test(test_jwt_crosscheck_pyjwt_verifies_ours),
		cmocka_unit_test(test_jwt_crosscheck_we_verify_pyjwt),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
