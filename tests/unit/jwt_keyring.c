/* Unit tests for lib/jwt_keyring.c: a keyring made, rotated, reopened
 * and pruned, damaged or lost files named in errors, the folder made
 * private, and two processes rotating at once (helpers in jwt_test.h). */
#include "jwt_test.h"

/* ---- keyring ---- */

static json_t *load_json(const char *path)
{
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);

	assert_non_null(j);
	return j;
}

static size_t jwks_count(const struct jwt_keyring *kr)
{
	json_t *jwks = jwt_keyring_jwks(kr);
	size_t n = json_array_size(json_object_get(jwks, "keys"));

	json_decref(jwks);
	return n;
}

/* Open must fail with code, naming path in the message. */
static void open_fails(const char *dir, enum err_code code, const char *path)
{
	struct jwt_keyring *kr = NULL;
	struct err e = ERR_INIT;

	assert_int_equal(jwt_keyring_open(&kr, dir, JWT_ES256, NOW + 1, 3600, &e), -1);
	assert_null(kr);
	if (e.code != code || !strstr(e.msg, path))
		fail_msg("wanted %s naming %s; got %s: %s", err_code_name(code),
			 path, err_code_name(e.code), e.msg);
	assert_null(strstr(e.msg, "PRIVATE KEY"));
}

static void test_jwt_keyring_open_creates_one_key(void **state)
{
	char *tmp = tmpdir_new(), *dir = fs_join(tmp, "state/keys");
	char *json_path = fs_join(dir, "keyring.json"), *pem;
	struct jwt_keyring *kr = NULL;
	struct err e = ERR_INIT;
	const struct jwt_key *cur;
	json_t *j, *jwks, *k;

	(void)state;
	assert_int_equal(jwt_keyring_open(&kr, dir, JWT_ES256, NOW, 3600, &e), 0);
	assert_int_equal(file_mode(dir), 0700);
	cur = jwt_keyring_current(kr);
	assert_int_equal(jwt_key_alg(cur), JWT_ES256);
	pem = xasprintf("%s/%s.pem", dir, jwt_key_kid(cur));
	assert_int_equal(file_mode(pem), 0600);
	assert_int_equal(file_mode(json_path), 0600);
	assert_int_equal(count_suffix(dir, ".pem"), 1);
	assert_int_equal(count_containing(dir, ".tmp-"), 0);

	jwks = jwt_keyring_jwks(kr);
	assert_int_equal(json_array_size(json_object_get(jwks, "keys")), 1);
	k = json_array_get(json_object_get(jwks, "keys"), 0);
	assert_string_equal(jsonx_str(k, "kid"), jwt_key_kid(cur));
	json_decref(jwks);

	j = load_json(json_path);
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "token_lifetime")), 3600);
	assert_string_equal(jsonx_str(j, "current"), jwt_key_kid(cur));
	k = json_array_get(json_object_get(j, "keys"), 0);
	assert_string_equal(jsonx_str(k, "kid"), jwt_key_kid(cur));
	assert_string_equal(jsonx_str(k, "alg"), "ES256");
	assert_int_equal(json_integer_value(json_object_get(k, "created_at")), NOW);
	assert_null(json_object_get(k, "retired_at"));
	json_decref(j);

	jwt_keyring_free(kr);
	jwt_keyring_free(NULL);
	free(pem);
	free(json_path);
	free(dir);
	tmpdir_free(tmp);
}

static void test_jwt_keyring_rotate_publishes_then_expires(void **state)
{
	char *dir = tmpdir_new(), *old_pem, *old_kid, *new_kid;
	struct jwt_keyring *kr = NULL;
	struct err e = ERR_INIT;
	const long long life = 3600, t1 = NOW + 100;
	json_t *jwks, *keys;
	char *tok;

	(void)state;
	assert_int_equal(jwt_keyring_open(&kr, dir, JWT_ES256, NOW, life, &e), 0);
	old_kid = xstrdup(jwt_key_kid(jwt_keyring_current(kr)));
	old_pem = xasprintf("%s/%s.pem", dir, old_kid);
	tok = sign_claims(jwt_keyring_current(kr), claims_exp(t1 - 1, t1 - 1 + life));

	assert_int_equal(jwt_keyring_rotate(kr, JWT_RS256, t1, &e), 0);
	new_kid = xstrdup(jwt_key_kid(jwt_keyring_current(kr)));
	assert_string_not_equal(new_kid, old_kid);
	assert_int_equal(jwt_key_alg(jwt_keyring_current(kr)), JWT_RS256);
	jwks = jwt_keyring_jwks(kr);
	keys = json_object_get(jwks, "keys");
	assert_int_equal(json_array_size(keys), 2);
	assert_string_equal(jsonx_str(json_array_get(keys, 0), "kid"), new_kid);
	assert_string_equal(jsonx_str(json_array_get(keys, 1), "kid"), old_kid);
	/* a token the old key signed still verifies */
	assert_int_equal(verify_code(tok, jwks, t1 + 10, 0), ERR_NONE);
	json_decref(jwks);
	jwt_keyring_free(kr);

	/* one second before every token of the old key has expired
	 * everywhere, it is still published */
	assert_int_equal(jwt_keyring_open(&kr, dir, JWT_ES256, t1 + life + 299, life, &e), 0);
	assert_int_equal(jwks_count(kr), 2);
	assert_true(fs_exists(old_pem));
	jwt_keyring_free(kr);

	/* then it is gone, from the JWKS, keyring.json and the folder */
	assert_int_equal(jwt_keyring_open(&kr, dir, JWT_ES256, t1 + life + 300, life, &e), 0);
	assert_int_equal(jwks_count(kr), 1);
	assert_string_equal(jwt_key_kid(jwt_keyring_current(kr)), new_kid);
	assert_false(fs_exists(old_pem));
	assert_int_equal(count_suffix(dir, ".pem"), 1);
	jwt_keyring_free(kr);
	assert_int_equal(jwt_keyring_open(&kr, dir, JWT_ES256, t1 + life + 301, life, &e), 0);
	assert_int_equal(jwks_count(kr), 1);

	/* rotate prunes too */
	assert_int_equal(jwt_keyring_rotate(kr, JWT_ES256, NOW + 10000, &e), 0);
	assert_int_equal(jwt_keyring_rotate(kr, JWT_ES256, NOW + 20000, &e), 0);
	assert_int_equal(jwks_count(kr), 2);
	assert_int_equal(count_suffix(dir, ".pem"), 2);
	jwt_keyring_free(kr);

	free(tok);
	free(old_pem);
	free(old_kid);
	free(new_kid);
	tmpdir_free(dir);
}

static void test_jwt_keyring_reopen_keeps_state(void **state)
{
	char *dir = tmpdir_new(), *json_path = fs_join(dir, "keyring.json");
	struct jwt_keyring *kr = NULL, *kr2 = NULL;
	struct err e = ERR_INIT;
	json_t *a, *b, *j;
	char *kid;

	(void)state;
	assert_int_equal(jwt_keyring_open(&kr, dir, JWT_RS256, NOW, 3600, &e), 0);
	assert_int_equal(jwt_keyring_rotate(kr, JWT_ES256, NOW + 5, &e), 0);
	kid = xstrdup(jwt_key_kid(jwt_keyring_current(kr)));
	a = jwt_keyring_jwks(kr);
	jwt_keyring_free(kr);

	/* the alg of open only matters for a new keyring */
	assert_int_equal(jwt_keyring_open(&kr, dir, JWT_RS256, NOW + 6, 7200, &e), 0);
	assert_string_equal(jwt_key_kid(jwt_keyring_current(kr)), kid);
	assert_int_equal(jwt_key_alg(jwt_keyring_current(kr)), JWT_ES256);
	b = jwt_keyring_jwks(kr);
	assert_true(json_equal(a, b));
	json_decref(b);

	/* the longest lifetime is kept */
	j = load_json(json_path);
	assert_int_equal(json_integer_value(json_object_get(j, "token_lifetime")), 7200);
	json_decref(j);
	assert_int_equal(jwt_keyring_open(&kr2, dir, JWT_RS256, NOW + 7, 60, &e), 0);
	j = load_json(json_path);
	assert_int_equal(json_integer_value(json_object_get(j, "token_lifetime")), 7200);
	json_decref(j);

	/* a rotation by another handle is seen by the next rotation */
	assert_int_equal(jwt_keyring_rotate(kr2, JWT_ES256, NOW + 8, &e), 0);
	assert_int_equal(jwt_keyring_rotate(kr, JWT_ES256, NOW + 9, &e), 0);
	assert_int_equal(jwks_count(kr), 4);
	assert_int_equal(count_suffix(dir, ".pem"), 4);

	assert_int_equal(jwt_keyring_open(&kr2, dir, JWT_RS256, -1, 60, &e) , -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_int_equal(jwt_keyring_open(&kr2, dir, JWT_RS256, NOW, -1, &e) , -1);
	assert_int_equal(e.code, ERR_INVALID);

	json_decref(a);
	jwt_keyring_free(kr);
	jwt_keyring_free(kr2);
	free(kid);
	free(json_path);
	tmpdir_free(dir);
}

static void test_jwt_keyring_corrupted_json(void **state)
{
	char *dir = tmpdir_new(), *json_path = fs_join(dir, "keyring.json"), *good, *bad;
	struct jwt_keyring *kr = NULL;
	struct err e = ERR_INIT;
	json_t *j;

	(void)state;
	assert_int_equal(jwt_keyring_open(&kr, dir, JWT_ES256, NOW, 3600, &e), 0);
	jwt_keyring_free(kr);
	good = read_text(json_path);

	write_text(json_path, "{\"version\": 1, \"keys\": [");
	open_fails(dir, ERR_SYNTAX, json_path);
	write_text(json_path, "");
	open_fails(dir, ERR_SYNTAX, json_path);
	write_text(json_path, "[]");
	open_fails(dir, ERR_SYNTAX, json_path);
	/* never a silent new key */
	assert_int_equal(count_suffix(dir, ".pem"), 1);

	/* parses, but is not a keyring */
	j = json_loads(good, 0, NULL);
	json_object_set_new(j, "current", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	bad = jsonx_dump(j, 1);
	write_text(json_path, bad);
	open_fails(dir, ERR_SYNTAX, json_path);
	free(bad);
	json_decref(j);

	j = json_loads(good, 0, NULL);
	json_object_set_new(json_array_get(json_object_get(j, "keys"), 0), "kid",
			    json_string("../../etc/passwd"));
	bad = jsonx_dump(j, 1);
	write_text(json_path, bad);
	open_fails(dir, ERR_SYNTAX, json_path);
	free(bad);
	json_decref(j);

	j = json_loads(good, 0, NULL);
	json_object_set_new(j, "version", json_integer(2));
	bad = jsonx_dump(j, 1);
	write_text(json_path, bad);
	open_fails(dir, ERR_INVALID, json_path);
	free(bad);
	json_decref(j);

	j = json_loads(good, 0, NULL);
	json_object_set_new(j, "token_lifetime", json_string("1h"));
	bad = jsonx_dump(j, 1);
	write_text(json_path, bad);
	open_fails(dir, ERR_SYNTAX, json_path);
	free(bad);
	json_decref(j);

	/* restored, it opens again with the same key */
	write_text(json_path, good);
	assert_int_equal(jwt_keyring_open(&kr, dir, JWT_ES256, NOW, 3600, &e), 0);
	jwt_keyring_free(kr);
	assert_int_equal(count_suffix(dir, ".pem"), 1);

	free(good);
	free(json_path);
	tmpdir_free(dir);
}

static void test_jwt_keyring_damaged_or_lost_files(void **state)
{
	char *dir = tmpdir_new(), *json_path = fs_join(dir, "keyring.json");
	char *pem, *text, *half, *saved, *other_pem;
	struct jwt_keyring *kr = NULL;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(jwt_keyring_open(&kr, dir, JWT_RS256, NOW, 3600, &e), 0);
	pem = xasprintf("%s/%s.pem", dir, jwt_key_kid(jwt_keyring_current(kr)));
	jwt_keyring_free(kr);
	text = read_text(pem);

	/* damaged: named, and its content not quoted */
	half = xstrndup(text, strlen(text) / 2);
	write_text(pem, half);
	open_fails(dir, ERR_SYNTAX, pem);
	free(half);

	/* another key under this name */
	other_pem = fs_join(dir, "other");
	assert_int_equal(jwt_key_save(g_rsa, other_pem, &e), 0);
	assert_int_equal(rename(other_pem, pem), 0);
	open_fails(dir, ERR_INVALID, pem);
	free(other_pem);

	/* missing */
	assert_int_equal(unlink(pem), 0);
	open_fails(dir, ERR_NOT_FOUND, pem);
	write_text(pem, text);
	assert_int_equal(jwt_keyring_open(&kr, dir, JWT_RS256, NOW, 3600, &e), 0);
	jwt_keyring_free(kr);

	/* keyring.json lost while keys remain: refused, nothing created */
	saved = read_text(json_path);
	assert_int_equal(unlink(json_path), 0);
	open_fails(dir, ERR_NOT_FOUND, json_path);
	assert_false(fs_exists(json_path));
	assert_int_equal(count_suffix(dir, ".pem"), 1);
	write_text(json_path, saved);
	assert_int_equal(jwt_keyring_open(&kr, dir, JWT_RS256, NOW, 3600, &e), 0);
	jwt_keyring_free(kr);

	free(saved);
	free(text);
	free(pem);
	free(json_path);
	tmpdir_free(dir);
}

static void test_jwt_keyring_folder_made_private(void **state)
{
	char *tmp = tmpdir_new(), *dir = fs_join(tmp, "keys"), *readme;
	struct jwt_keyring *kr = NULL;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	/* a folder without keys (other files do not count) gets a keyring */
	readme = fs_join(dir, "README");
	write_text(readme, "gantry's OIDC signing keys\n");
	free(readme);
	assert_int_equal(jwt_keyring_open(&kr, dir, JWT_ES256, NOW, 3600, &e), 0);
	assert_int_equal(file_mode(dir), 0700);
	jwt_keyring_free(kr);
	free(dir);
	tmpdir_free(tmp);
}

/* Two processes rotating the same folder at once lose no key. */
static void test_jwt_keyring_concurrent_rotations(void **state)
{
	char *dir = tmpdir_new();
	struct jwt_keyring *kr = NULL;
	struct err e = ERR_INIT;
	json_t *jwks, *keys, *k;
	int status = 0;
	size_t i;
	pid_t pid;

	(void)state;
	assert_int_equal(jwt_keyring_open(&kr, dir, JWT_ES256, NOW, 3600, &e), 0);
	jwt_keyring_free(kr);
	kr = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int bad = jwt_keyring_open(&kr, dir, JWT_ES256, NOW, 3600, &e) < 0;

		for (int r = 0; r < 5 && !bad; r++)
			bad = jwt_keyring_rotate(kr, JWT_ES256, NOW + 1 + r, &e) < 0;
		jwt_keyring_free(kr);
		_exit(bad);
	}
	assert_int_equal(jwt_keyring_open(&kr, dir, JWT_ES256, NOW, 3600, &e), 0);
	for (int r = 0; r < 5; r++)
		assert_int_equal(jwt_keyring_rotate(kr, JWT_ES256, NOW + 1 + r, &e), 0);
	jwt_keyring_free(kr);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	assert_int_equal(jwt_keyring_open(&kr, dir, JWT_ES256, NOW + 10, 3600, &e), 0);
	jwks = jwt_keyring_jwks(kr);
	keys = json_object_get(jwks, "keys");
	assert_int_equal(json_array_size(keys), 11);
	assert_int_equal(count_suffix(dir, ".pem"), 11);
	json_array_foreach(keys, i, k) {
		char *pem = xasprintf("%s/%s.pem", dir, jsonx_str(k, "kid"));

		assert_true(fs_exists(pem));
		free(pem);
	}
	json_decref(jwks);
	jwt_keyring_free(kr);
	tmpdir_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jwt_keyring_open_creates_one_key),
		cmocka_unit_test(test_jwt_keyring_rotate_publishes_then_expires),
		cmocka_unit_test(test_jwt_keyring_reopen_keeps_state),
		cmocka_unit_test(test_jwt_keyring_corrupted_json),
		cmocka_unit_test(test_jwt_keyring_damaged_or_lost_files),
		cmocka_unit_test(test_jwt_keyring_folder_made_private),
		cmocka_unit_test(test_jwt_keyring_concurrent_rotations),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
