/* Unit tests for agent/agent_fleet_keys.c: agents with keyrings of their
 * own and one queue serve each other's OIDC public keys; rows made under
 * another webhook secret or for another issuer, older than a day or from
 * the future, whose JWK was changed, is private, symmetric or not named
 * by its thumbprint are not served, and what is served is rebuilt from an
 * allowlist; a new webhook secret, or rows gone missing, put them again.
 * (Three agents on PostgreSQL, through their thread: tests/agent's
 * fleet.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "../../agent/agent.h"
#include "../../agent/oidc.h"
#include "../../agent/queue.h"
#include "../../lib/crypto.h"
#include "../../lib/fs.h"
#include "../../lib/jsonx.h"
#include "../../lib/util.h"

#define NOW 1800000000000LL	/* ms */
#define DAY (24LL * 3600 * 1000)

struct fx {
	char *dir, *url;
	struct agent ag[4];
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
	pthread_mutex_init(&ag->fleet_lock, NULL);
	ag->cfg.webhook_secret = xstrdup(secret);
	ag->cfg.oidc_issuer = "https://gantry.example";
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
	json_decref(ag->fleet_until);
	free(ag->fleet_put_rows);
	free(ag->cfg.webhook_secret);
	pthread_rwlock_destroy(&ag->cfg_lock);
	pthread_mutex_destroy(&ag->lock);
	pthread_mutex_destroy(&ag->fleet_lock);
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
	/* the same secret, another issuer */
	agent_init(&f->ag[3], f->dir, "d", "fleet-secret-0123456789", JWT_RS256);
	f->ag[3].cfg.oidc_issuer = "https://other.example";
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	for (int i = 0; i < 4; i++)
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

/* A row for kid and the JWK text, put at seen by ag (its MAC). */
static json_t *row(struct agent *ag, long long seen, const char *kid, const char *jwk)
{
	char mac[65];

	agent_fleet_mac(mac, ag, seen, kid, jwk);
	return json_pack("{s:s, s:s, s:s, s:I}", "kid", kid, "jwk", jwk, "mac", mac,
			 "seen_ms", (json_int_t)seen);
}

/* Check one row as a, now: how many keys came out. */
static size_t served(struct agent *a, json_t *r, json_t **key)
{
	json_t *rows = json_pack("[o]", r), *keys;
	size_t refused, n;

	keys = agent_fleet_check(a, rows, NOW, NULL, &refused);
	n = json_array_size(keys);
	assert_int_equal(n + refused, 1);
	if (key)
		*key = n ? json_incref(json_array_get(keys, 0)) : NULL;
	json_decref(keys);
	json_decref(rows);
	return n;
}

static void test_fleet_kdf(void **state)
{
	unsigned char out[CRYPTO_SHA256_LEN];
	char hex[65];

	/* RFC 7914, section 11: PBKDF2-HMAC-SHA256 ("passwd", "salt", 1) */
	crypto_pbkdf2_sha256(out, "passwd", "salt", 1);
	for (size_t i = 0; i < sizeof(out); i++)
		snprintf(hex + 2 * i, 3, "%02x", out[i]);
	assert_string_equal(hex, "55ac046e56e3089fec1691c22544b605"
			    "f94185216dde0465e68b9d57c20dacbc");
}

static void test_fleet_rows_and_checks(void **state)
{
	struct fx *f = *state;
	struct agent *a = &f->ag[0], *b = &f->ag[1];
	json_t *rows = agent_fleet_rows(a, NOW), *own, *key = NULL, *j;
	const char *text;
	char *s;

	assert_int_equal(json_array_size(rows), 1);
	own = json_array_get(rows, 0);
	text = jsonx_str(own, "jwk");
	assert_string_equal(jsonx_str(own, "kid"), kid_of(a));
	assert_null(strstr(text, "\"d\""));
	/* served as put, and only by agents of its secret and issuer */
	assert_int_equal(served(a, row(a, NOW, kid_of(a), text), &key), 1);
	assert_string_equal(jsonx_str(key, "kty"), "RSA");
	json_decref(key);
	assert_int_equal(served(b, row(a, NOW, kid_of(a), text), NULL), 1);
	assert_int_equal(served(&f->ag[2], row(a, NOW, kid_of(a), text), NULL), 0);
	assert_int_equal(served(&f->ag[3], row(a, NOW, kid_of(a), text), NULL), 0);
	/* an issuer is the same with a trailing slash, as tokens carry it */
	b->cfg.oidc_issuer = "https://gantry.example//";
	assert_int_equal(served(b, row(a, NOW, kid_of(a), text), NULL), 1);
	b->cfg.oidc_issuer = "https://gantry.example";
	/* the MAC holds the time put: a day old, or an hour ahead, is refused */
	assert_int_equal(served(a, row(a, NOW - DAY - 1, kid_of(a), text), NULL), 0);
	assert_int_equal(served(a, row(a, NOW - DAY + 1000, kid_of(a), text), NULL), 1);
	assert_int_equal(served(a, row(a, NOW + 1800000, kid_of(a), text), NULL), 1);
	assert_int_equal(served(a, row(a, NOW + 3600001, kid_of(a), text), NULL), 0);
	{
		json_t *r = row(a, NOW, kid_of(a), text);

		/* a later seen_ms than the MAC's (kept served by a writer) */
		json_object_set_new(r, "seen_ms", json_integer(NOW + 1));
		assert_int_equal(served(a, r, NULL), 0);
		/* the JWK changed after its MAC was made */
		r = row(a, NOW, kid_of(a), text);
		s = xasprintf("%s ", text);
		json_object_set_new(r, "jwk", json_string(s));
		free(s);
		assert_int_equal(served(a, r, NULL), 0);
		/* a short MAC */
		r = row(a, NOW, kid_of(a), text);
		json_object_set_new(r, "mac", json_string("00"));
		assert_int_equal(served(a, r, NULL), 0);
	}
	/* well MAC'd, but private, symmetric, a list, duplicate members */
	{
		static const char *const bad[][2] = {
			{ "p1", "{\"kid\":\"p1\",\"kty\":\"RSA\",\"n\":\"AQ\",\"e\":\"AQAB\",\"d\":\"AQ\"}" },
			{ "p2", "{\"kid\":\"p2\",\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AQ\",\"y\":\"AQ\",\"d\":\"AQ\"}" },
			{ "p3", "{\"kid\":\"p3\",\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}" },
			{ "p4", "[\"kid\",\"p4\"]" },
			{ "p5", "{\"kid\":\"p5\",\"kid\":\"p5\",\"kty\":\"RSA\",\"n\":\"AQ\",\"e\":\"AQAB\"}" },
		};

		for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
			assert_int_equal(served(a, row(a, NOW, bad[i][0], bad[i][1]), NULL), 0);
	}
	/* a key under a kid that is not its thumbprint: b's key as a's kid,
	 * and a's key under another name */
	{
		json_t *brows = agent_fleet_rows(b, NOW);
		json_t *bk = json_loads(jsonx_str(json_array_get(brows, 0), "jwk"), 0, NULL);

		json_object_set_new(bk, "kid", json_string(kid_of(a)));
		s = json_dumps(bk, JSON_COMPACT);
		assert_int_equal(served(a, row(a, NOW, kid_of(a), s), NULL), 0);
		free(s);
		json_decref(bk);
		json_decref(brows);
	}
	j = json_loads(text, 0, NULL);
	json_object_set_new(j, "kid", json_string("other"));
	s = json_dumps(j, JSON_COMPACT);
	assert_int_equal(served(a, row(a, NOW, "other", s), NULL), 0);
	free(s);
	/* what is served is rebuilt: a member beyond the allowlist goes */
	json_object_set_new(j, "kid", json_string(kid_of(a)));
	json_object_set_new(j, "x5u", json_string("https://evil.example/x5u"));
	s = json_dumps(j, JSON_COMPACT);
	assert_int_equal(served(a, row(a, NOW, kid_of(a), s), &key), 1);
	assert_null(json_object_get(key, "x5u"));
	assert_string_equal(jsonx_str(key, "n"), jsonx_str(j, "n"));
	json_decref(key);
	free(s);
	/* an alg or use of another kind is refused */
	json_object_del(j, "x5u");
	json_object_set_new(j, "alg", json_string("none"));
	s = json_dumps(j, JSON_COMPACT);
	assert_int_equal(served(a, row(a, NOW, kid_of(a), s), NULL), 0);
	free(s);
	json_decref(j);
	json_decref(rows);
}

/* The MAC of ag's row in rows, or NULL; caller frees. */
static char *mac_of(const json_t *rows, struct agent *ag)
{
	const json_t *r;
	size_t i;

	json_array_foreach(rows, i, r)
		if (!strcmp(jsonx_str(r, "kid"), kid_of(ag)))
			return xstrdup(jsonx_str(r, "mac"));
	return NULL;
}

static void test_fleet_sync(void **state)
{
	struct fx *f = *state;
	struct agent *a = &f->ag[0], *b = &f->ag[1], *c = &f->ag[2];
	struct queue *qa = NULL, *qb = NULL, *qc = NULL;
	struct err e = ERR_INIT;
	json_t *rows = NULL, *r;
	char *before, *after;
	size_t i;

	assert_int_equal(queue_open(&qa, f->url, "agent-a", &e), 0);
	assert_int_equal(queue_open(&qb, f->url, "agent-b", &e), 0);
	assert_int_equal(queue_open(&qc, f->url, "agent-c", &e), 0);
	/* before any sync, each agent serves its own key only */
	assert_true(serves(a, kid_of(a)));
	assert_false(serves(a, kid_of(b)));
	assert_int_equal(agent_fleet_sync(a, qa, NOW, &e), 0);
	assert_int_equal(agent_fleet_sync(b, qb, NOW + 100, &e), 0);
	assert_int_equal(agent_fleet_sync(c, qc, NOW + 200, &e), 0);
	assert_int_equal(agent_fleet_sync(a, qa, NOW + 300, &e), 0);
	assert_true(serves(a, kid_of(b)));
	assert_true(serves(b, kid_of(a)));
	assert_true(serves(a, kid_of(a)));
	/* c has another secret: it serves neither, and neither serves its */
	assert_false(serves(c, kid_of(a)));
	assert_false(serves(a, kid_of(c)));
	assert_int_equal(c->fleet_refused, 2);
	assert_int_equal(a->fleet_refused, 1);
	/* each row names the agent that put it */
	assert_int_equal(queue_keys_get(qa, 0, &rows, &e), 0);
	assert_int_equal(json_array_size(rows), 3);
	json_array_foreach(rows, i, r)
		assert_string_equal(jsonx_str(r, "agent"),
				    !strcmp(jsonx_str(r, "kid"), kid_of(a)) ? "agent-a" :
				    !strcmp(jsonx_str(r, "kid"), kid_of(b)) ? "agent-b" :
				    "agent-c");
	before = mac_of(rows, a);
	json_decref(rows);

	/* unchanged rows are not put again before their time */
	assert_int_equal(agent_fleet_sync(a, qa, NOW + 400, &e), 0);
	assert_int_equal(a->fleet_put_ms, NOW);
	/* a new webhook secret (SIGHUP) puts a's rows again at once */
	free(a->cfg.webhook_secret);
	a->cfg.webhook_secret = xstrdup("another-secret-012345678");
	assert_int_equal(agent_fleet_sync(a, qa, NOW + 500, &e), 0);
	assert_int_equal(a->fleet_put_ms, NOW + 500);
	assert_true(serves(a, kid_of(c)));
	assert_false(serves(a, kid_of(b)));
	assert_int_equal(agent_fleet_sync(c, qc, NOW + 600, &e), 0);
	assert_true(serves(c, kid_of(a)));
	assert_int_equal(queue_keys_get(qa, 0, &rows, &e), 0);
	after = mac_of(rows, a);
	assert_non_null(after);
	assert_string_not_equal(before, after);
	json_decref(rows);
	free(before);
	free(after);

	/* a's rows deleted (c puts with a clock two days ahead): a's next
	 * read finds them missing, and the round after puts them again */
	assert_int_equal(agent_fleet_sync(c, qc, NOW + 2 * DAY, &e), 0);
	assert_int_equal(agent_fleet_sync(a, qa, NOW + 700, &e), 0);
	assert_int_equal(a->fleet_put_ms, 0);
	assert_int_equal(agent_fleet_sync(a, qa, NOW + 800, &e), 0);
	assert_int_equal(a->fleet_put_ms, NOW + 800);
	assert_int_equal(queue_keys_get(qa, 0, &rows, &e), 0);
	assert_non_null((before = mac_of(rows, a)));
	free(before);
	json_decref(rows);

	/* b's too, two rounds later */
	assert_int_equal(agent_fleet_sync(b, qb, NOW + 900, &e), 0);
	assert_int_equal(agent_fleet_sync(b, qb, NOW + 1000, &e), 0);
	assert_int_equal(queue_keys_get(qa, 0, &rows, &e), 0);
	assert_non_null((before = mac_of(rows, b)));
	free(before);
	json_decref(rows);

	/* a day later, rows not put since are gone (b's); c's, stamped by a
	 * clock two days ahead, is still there but not served: it is from
	 * a's future */
	assert_int_equal(agent_fleet_sync(a, qa, NOW + 1000 + DAY + 1, &e), 0);
	assert_int_equal(queue_keys_get(qa, 0, &rows, &e), 0);
	assert_int_equal(json_array_size(rows), 2);
	assert_null(mac_of(rows, b));
	json_decref(rows);
	assert_false(serves(a, kid_of(b)));
	assert_false(serves(a, kid_of(c)));
	assert_true(serves(a, kid_of(a)));

	/* a key's day counts when it is served too: keys read a day ago (the
	 * queue unreachable since) are not served any more */
	{
		long long past = queue_now_ms() - DAY - 60000;

		/* (a has c's secret by now) */
		assert_int_equal(agent_fleet_sync(c, qc, past, &e), 0);
		assert_int_equal(agent_fleet_sync(a, qa, past + 1, &e), 0);
		pthread_mutex_lock(&a->fleet_lock);
		assert_int_equal(json_array_size(a->fleet_keys), 2);
		pthread_mutex_unlock(&a->fleet_lock);
		assert_false(serves(a, kid_of(c)));
		assert_true(serves(a, kid_of(a)));
	}
	queue_close(qa);
	queue_close(qb);
	queue_close(qc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fleet_kdf),
		cmocka_unit_test(test_fleet_rows_and_checks),
		cmocka_unit_test(test_fleet_sync),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
