/*
 * jwt_test: what the two jwt test programs share (tests/unit/jwt.c for
 * lib/jwt.c and lib/jwt_verify.c, tests/unit/jwt_keyring.c for
 * lib/jwt_keyring.c): temporary folders and file helpers, signing and
 * verifying claims, and one key of each algorithm made by the group
 * setup (RSA generation is slow under the sanitizers). Each test program
 * includes it once.
 */
#ifndef GANTRY_JWT_TEST_H
#define GANTRY_JWT_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/jsonx.h"
#include "lib/jwt.h"
#include "lib/util.h"

#define NOW 1700000000LL

/* One key of each algorithm for the whole program (owned; made by
 * group_setup, freed by group_teardown). */
static struct jwt_key *g_rsa, *g_ec;

/* ---- helpers ---- */

static inline char *tmpdir_new(void)
{
	struct err e = ERR_INIT;
	char *dir = NULL;

	assert_int_equal(fs_mkdtemp(&dir, "gantry-jwt-test", &e), 0);
	return dir;
}

static inline void tmpdir_free(char *dir)
{
	struct err e = ERR_INIT;

	assert_int_equal(fs_remove_tree(dir, &e), 0);
	free(dir);
}

static inline void write_text(const char *path, const char *text)
{
	struct err e = ERR_INIT;

	assert_int_equal(fs_write_file(path, text, strlen(text), 0600, &e), 0);
}

static inline char *read_text(const char *path)
{
	struct buf b = BUF_INIT;
	struct err e = ERR_INIT;

	assert_int_equal(fs_read_file(&b, path, &e), 0);
	return buf_detach(&b, NULL);
}

static inline unsigned file_mode(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static inline int count_containing(const char *dir, const char *needle)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (strstr(de->d_name, needle))
			n++;
	closedir(d);
	return n;
}

static inline int count_suffix(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (str_ends_with(de->d_name, suffix))
			n++;
	closedir(d);
	return n;
}

static inline json_t *claims_exp(long long iat, long long exp)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:I}",
			 "iss", "https://gantry.example", "sub", "repo:org/app:ref:refs/heads/main",
			 "aud", "sts.amazonaws.com", "iat", (json_int_t)iat,
			 "exp", (json_int_t)exp);
}

static inline char *sign_claims(const struct jwt_key *k, json_t *claims)
{
	struct err e = ERR_INIT;
	char *tok = NULL;

	assert_int_equal(jwt_sign(&tok, k, claims, &e), 0);
	json_decref(claims);
	return tok;
}

static inline int verify_code(const char *tok, const json_t *jwks,
			      long long now, long long leeway)
{
	struct err e = ERR_INIT;
	json_t *claims = NULL;

	if (jwt_verify(&claims, tok, jwks, now, leeway, &e) == 0) {
		json_decref(claims);
		return ERR_NONE;
	}
	assert_null(claims);
	assert_int_not_equal(e.code, ERR_NONE);
	assert_true(e.msg[0] != '\0');
	return (int)e.code;
}

/* ---- group setup ---- */

static inline int group_setup(void **state)
{
	struct err e = ERR_INIT;

	(void)state;
	if (jwt_key_generate(&g_rsa, JWT_RS256, &e) < 0 ||
	    jwt_key_generate(&g_ec, JWT_ES256, &e) < 0) {
		print_error("key generation: %s\n", e.msg);
		return -1;
	}
	return 0;
}

static inline int group_teardown(void **state)
{
	(void)state;
	jwt_key_free(g_rsa);
	jwt_key_free(g_ec);
	return 0;
}

/* ---- tokens and keys for the signing and verification tests ---- */

static inline json_t *jwks_of(const struct jwt_key *a, const struct jwt_key *b)
{
	json_t *keys = json_array();

	json_array_append_new(keys, jwt_key_jwk(a));
	if (b)
		json_array_append_new(keys, jwt_key_jwk(b));
	return json_pack("{s:o}", "keys", keys);
}

static inline char *b64s(const char *s)
{
	return jwt_b64url_encode(s, strlen(s));
}

/* A token from header and claims JSON text and a signature part. */
static inline char *make_token(const char *hdr, const char *claims, const char *sig64)
{
	char *h = b64s(hdr), *c = b64s(claims);
	char *t = xasprintf("%s.%s.%s", h, c, sig64);

	free(h);
	free(c);
	return t;
}

/* Part i (0 to 2) of a token, as text. */
static inline char *token_part(const char *tok, int i)
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

static inline char *part_decoded(const char *tok, int i, size_t *len)
{
	char *p = token_part(tok, i);
	struct buf b = BUF_INIT;
	struct err e = ERR_INIT;

	assert_int_equal(jwt_b64url_decode(&b, p, strlen(p), &e), 0);
	free(p);
	return buf_detach(&b, len);
}

static inline struct jwt_key *key_of(enum jwt_alg alg)
{
	return alg == JWT_RS256 ? g_rsa : g_ec;
}

/* ---- base64url, names, thumbprints ---- */

#endif
