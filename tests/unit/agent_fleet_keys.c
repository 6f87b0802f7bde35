/* Unit tests for agent/agent_fleet_keys.c: agents with keyrings of their
 * own and one SQLite queue serve each other's OIDC public keys; rows
 * whose MAC was made under another webhook secret, whose JWK was changed
 * or is not a public RSA or EC key named by its kid are not served; a new
 * webhook secret puts the rows again at once. (The same with three agents
 * on PostgreSQL: tests/agent's fleet.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "../../agent/agent.h"
#include "../../agent/oidc.h"
#include "../../agent/queue.h"
#include "../../lib/fs.h"
#include "../../lib/jsonx.h"
#include "../../lib/util.h"

struct fx {
	char *dir, *url;
	struct agent ag[3];
};

static void agent_init(struct agent *ag, const char *dir, const char *name,
		       const char *secret, enum jwt_alg alg)
{
	struct oidc_opts oo = { 0 };
	struct err e = ERR_INIT;
	char *state = fs_join(dir, name);

	memset(ag, 0, sizeof(*ag));
	pthread_rwlock_init(&ag->cfg_lock, NULL);
	pthread_mutex_init(&ag->lock, NULL);
	ag->cfg.webhook_secret = xstrdup(secret);
	oo.issuer = "https://gantry.example";
	oo.state_dir = state;
	oo.alg = alg;
	if (oidc_issuer_new(&ag->oidc, &oo, &e) < 0)
		fail_msg("oidc_issuer_new: %s", e.msg);
	free(state);
}

static void agent_release(struct agent *ag)
{
	oidc_issuer_free(ag->oidc);
	json_decref(ag->fleet_keys);
	free(ag->fleet_put_rows);
	free(ag->cfg.webhook_secret);
	pthread_rwlock_destroy(&ag->cfg_lock);
	pthread_mutex_destroy(&ag->lock);
}

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	struct err e = ERR_INIT;

	assert_int_equal(fs_mkdtemp(&f->dir, "gantry-fleet-keys", &e), 0);
	f->url = xasprintf("sqlite://%s/queue.db", f->dir);
	agent_init(&f->ag[0], f->dir, "a", "fleet-secret-0123456789", JWT_RS256);
	agent_init(&f->ag[1], f->dir, "b", "fleet-secret-0123456789", JWT_ES256);
	agent_init(&f->ag[2], f->dir, "c", "another-secret-012345678", JWT_RS256);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	for (int i = 0; i < 3; i++)
		agent_release(&f->ag[i]);
	fs_remove_tree(f->dir, NULL);
	free(f->dir);
	free(f->url);
	free(f);
	return 0;
}

static const char *kid_of(struct agent *ag)
{
	return oidc_current_kid(ag->oidc);
}

/* Whether the JWKS ag serves has kid, and nothing private. */
static bool serves(struct agent *ag, const char *kid)
{
	json_t *doc = agent_jwks(ag), *k;
	bool found = false;
	size_t i;

	json_array_foreach(json_object_get(doc, "keys"), i, k) {
		assert_null(json_object_get(k, "d"));
		if (!strcmp(jsonx_str(k, "kid"), kid))
			found = true;
	}
	json_decref(doc);
	return found;
}

static void test_fleet_rows_and_checks(void **state)
{
	struct fx *f = *state;
	struct agent *a = &f->ag[0], *c = &f->ag[2];
	json_t *rows = agent_fleet_rows(a), *keys, *bad;
	char mac[65], *text;
	size_t refused;

	assert_int_equal(json_array_size(rows), 1);
	assert_string_equal(jsonx_str(json_array_get(rows, 0), "kid"), kid_of(a));
	assert_null(strstr(jsonx_str(json_array_get(rows, 0), "jwk"), "\"d\""));
	keys = agent_fleet_check(a, rows, &refused);
	assert_int_equal(json_array_size(keys), 1);
	assert_int_equal(refused, 0);
	assert_string_equal(jsonx_str(json_array_get(keys, 0), "kty"), "RSA");
	json_decref(keys);
	/* another webhook secret: the MAC does not match */
	keys = agent_fleet_check(c, rows, &refused);
	assert_int_equal(json_array_size(keys), 0);
	assert_int_equal(refused, 1);
	json_decref(keys);

	bad = json_array();
	/* the JWK changed after its MAC was made */
	text = xasprintf("{\"e\":\"AQAB\",\"kid\":\"%s\",\"kty\":\"RSA\",\"n\":\"AAAA\"}",
			 kid_of(a));
	json_array_append_new(bad, json_pack("{s:s, s:s, s:s}", "kid", kid_of(a),
					     "jwk", text, "mac",
					     jsonx_str(json_array_get(rows, 0), "mac")));
	free(text);
	/* well signed, but private, not named by its kid, or symmetric */
	{
		static const char *const jwks[][2] = {
			{ "p1", "{\"kid\":\"p1\",\"kty\":\"RSA\",\"n\":\"AQ\",\"e\":\"AQAB\",\"d\":\"AQ\"}" },
			{ "p2", "{\"kid\":\"other\",\"kty\":\"RSA\",\"n\":\"AQ\",\"e\":\"AQAB\"}" },
			{ "p3", "{\"kid\":\"p3\",\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}" },
			{ "p4", "[\"kid\",\"p4\"]" },
		};

		for (size_t i = 0; i < ARRAY_SIZE(jwks); i++) {
			agent_fleet_mac(mac, a, jwks[i][0], jwks[i][1]);
			json_array_append_new(bad, json_pack("{s:s, s:s, s:s}", "kid",
							     jwks[i][0], "jwk", jwks[i][1],
							     "mac", mac));
		}
	}
	/* a short MAC */
	json_array_append_new(bad, json_pack("{s:s, s:s, s:s}", "kid", "p5", "jwk",
					     "{}", "mac", "00"));
	keys = agent_fleet_check(a, bad, &refused);
	assert_int_equal(json_array_size(keys), 0);
	assert_int_equal(refused, json_array_size(bad));
	json_decref(keys);
	json_decref(bad);
	json_decref(rows);
}

static void test_fleet_sync(void **state)
{
	struct fx *f = *state;
	struct agent *a = &f->ag[0], *b = &f->ag[1], *c = &f->ag[2];
	struct queue *q = NULL;
	struct err e = ERR_INIT;
	json_t *rows = NULL;
	char *mac_before;

	assert_int_equal(queue_open(&q, f->url, "agent-a", &e), 0);
	/* before any sync, each agent serves its own key only */
	assert_true(serves(a, kid_of(a)));
	assert_false(serves(a, kid_of(b)));
	agent_fleet_sync(a, q, 100000);
	agent_fleet_sync(b, q, 100100);
	agent_fleet_sync(c, q, 100200);
	agent_fleet_sync(a, q, 100300);
	assert_true(serves(a, kid_of(b)));
	assert_true(serves(b, kid_of(a)));
	assert_true(serves(a, kid_of(a)));
	/* c has another secret: it serves neither, and neither serves its */
	assert_false(serves(c, kid_of(a)));
	assert_false(serves(a, kid_of(c)));
	assert_int_equal(c->fleet_refused, 2);
	assert_int_equal(a->fleet_refused, 1);

	/* a new webhook secret (SIGHUP) puts a's rows again at once */
	assert_int_equal(queue_keys_get(q, 0, &rows, &e), 0);
	mac_before = xstrdup(jsonx_str(json_array_get(rows, 0), "mac"));
	json_decref(rows);
	free(a->cfg.webhook_secret);
	a->cfg.webhook_secret = xstrdup("another-secret-012345678");
	agent_fleet_sync(a, q, 100400);
	assert_int_equal(a->fleet_put_ms, 100400);
	assert_true(serves(a, kid_of(c)));
	assert_false(serves(a, kid_of(b)));
	agent_fleet_sync(c, q, 100500);
	assert_true(serves(c, kid_of(a)));
	assert_int_equal(queue_keys_get(q, 0, &rows, &e), 0);
	assert_int_equal(json_array_size(rows), 3);
	{
		size_t i;
		json_t *r;
		bool changed = false;

		json_array_foreach(rows, i, r)
			if (!strcmp(jsonx_str(r, "kid"), kid_of(a)))
				changed = strcmp(jsonx_str(r, "mac"), mac_before) != 0;
		assert_true(changed);
	}
	json_decref(rows);
	free(mac_before);
	/* unchanged rows are not put again before their time */
	agent_fleet_sync(a, q, 100600);
	assert_int_equal(a->fleet_put_ms, 100400);
	/* a day later, rows not put since are gone */
	agent_fleet_sync(a, q, 100400 + 24LL * 3600 * 1000 + 1);
	assert_int_equal(queue_keys_get(q, 0, &rows, &e), 0);
	assert_int_equal(json_array_size(rows), 1);
	json_decref(rows);
	assert_false(serves(a, kid_of(c)));
	queue_close(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fleet_rows_and_checks),
		cmocka_unit_test(test_fleet_sync),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
