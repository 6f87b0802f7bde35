/*
 * agent_fleet_keys: every agent of a fleet (PostgreSQL) publishes every
 * agent's OIDC public keys, so that AWS, fetching the JWKS from whichever
 * agent the issuer URL reaches, can verify the tokens of them all. Each
 * agent keeps its own keyring (the private keys never leave its disk);
 * the public keys go through the queue (queue_keys_put, table oidc_keys).
 *
 * Rules that always hold:
 * - A row is served only when its MAC checks out: HMAC-SHA256, under a
 *   key derived with PBKDF2 from the webhook secret (which every agent of
 *   a fleet has, and the database does not), of the version, the issuer,
 *   the time the row was put, the kid and the JWK. Whoever can write to
 *   the database but does not know the secret can neither add a key nor
 *   keep one served longer than FLEET_KEEP_MS after it was put; an agent
 *   serves only the keys put for its own issuer.
 * - What is served of a row is rebuilt from an allowlist: a public RSA
 *   (n, e) or P-256 EC (crv, x, y) key, use "sig", RS256 or ES256, whose
 *   kid is its RFC 7638 thumbprint. Nothing else of the row is served.
 * - An agent's own keys win over a row with the same kid.
 * - A row put more than FLEET_SKEW_MS in the reader's future is refused
 *   (a clock far ahead); rows older than FLEET_KEEP_MS are deleted by
 *   whoever puts (PostgreSQL: by the earlier of its clock and the
 *   database's), and refused meanwhile.
 * - The work is done by a thread of its own, so that a slow database
 *   never delays the heartbeat that renews the leases: it puts this
 *   agent's rows at once, every FLEET_PUT_EVERY_MS, when they change (a
 *   new webhook secret after SIGHUP) and when a read finds them missing;
 *   it reads the fleet's every third of QUEUE__LEASE. A SQLite queue has
 *   one agent, and no such thread.
 */
#include "agent.h"
#include "oidc.h"
#include "queue.h"
#include "../lib/crypto.h"
#include "../lib/jsonx.h"
#include "../lib/jwt.h"
#include "../lib/log.h"
#include "../lib/util.h"

#include <string.h>

#define FLEET_PUT_EVERY_MS (5LL * 60 * 1000)
#define FLEET_KEEP_MS (24LL * 3600 * 1000)
#define FLEET_SKEW_MS (3600LL * 1000)
#define FLEET_KDF_ROUNDS 200000U

static const char kdf_salt[] = "gantry fleet OIDC keys";
static const char mac_version[] = "gantry-fleet-key-v1";

/* The issuer, without trailing slashes (as tokens carry it), in out. */
static void issuer_of(struct buf *out, const struct agent *ag)
{
	const char *iss = ag->cfg.oidc_issuer ? ag->cfg.oidc_issuer : ag->cfg.public_url;
	size_t n = iss ? strlen(iss) : 0;

	while (n && iss[n - 1] == '/')
		n--;
	buf_add(out, iss ? iss : "", n);
}

/* The MAC key for the current webhook secret and issuer, derived once for
 * each (the caller holds cfg_lock; only one thread derives). The issuer
 * is in the salt, so that no guess of a secret serves two fleets. */
static const unsigned char *fleet_key(struct agent *ag)
{
	const char *secret = ag->cfg.webhook_secret ? ag->cfg.webhook_secret : "";
	unsigned char of[CRYPTO_SHA256_LEN];
	struct buf salt = BUF_INIT, both = BUF_INIT;

	buf_adds(&salt, kdf_salt);
	buf_addch(&salt, ' ');
	issuer_of(&salt, ag);
	buf_add(&both, salt.ptr, salt.len + 1);
	buf_adds(&both, secret);
	crypto_sha256(of, both.ptr, both.len);
	crypto_wipe(both.ptr, both.len);
	if (!ag->fleet_key_set || !crypto_memeq(of, ag->fleet_key_of, sizeof(of))) {
		crypto_pbkdf2_sha256(ag->fleet_key, secret, salt.ptr, FLEET_KDF_ROUNDS);
		memcpy(ag->fleet_key_of, of, sizeof(of));
		ag->fleet_key_set = true;
		ag->fleet_key_gen++;
	}
	crypto_wipe(of, sizeof(of));
	buf_release(&salt);
	buf_release(&both);
	return ag->fleet_key;
}

void agent_fleet_mac(char out[65], struct agent *ag, long long seen_ms,
		     const char *kid, const char *jwk)
{
	unsigned char md[CRYPTO_SHA256_LEN];
	struct buf msg = BUF_INIT;

	/* NUL-separated: no field can hold a NUL */
	buf_add(&msg, mac_version, sizeof(mac_version));
	issuer_of(&msg, ag);
	buf_addch(&msg, '\0');
	buf_printf(&msg, "%lld", seen_ms);
	buf_addch(&msg, '\0');
	buf_add(&msg, kid, strlen(kid) + 1);
	buf_adds(&msg, jwk);
	crypto_hmac_sha256(md, fleet_key(ag), CRYPTO_SHA256_LEN, msg.ptr, msg.len);
	hex_lower(out, md, sizeof(md));
	buf_release(&msg);
}

/* The public key of jwk as served (new reference), or NULL when jwk is
 * not a public RSA or P-256 EC signing key whose kid is its thumbprint. */
static json_t *public_jwk(const json_t *jwk)
{
	const char *kty = jsonx_str(jwk, "kty"), *kid = jsonx_str(jwk, "kid");
	const char *use = jsonx_str(jwk, "use"), *alg = jsonx_str(jwk, "alg");
	bool rsa = kty && !strcmp(kty, "RSA"), ec = kty && !strcmp(kty, "EC");
	struct err e = ERR_INIT;
	char *thumb = NULL;
	json_t *out;

	if (!json_is_object(jwk) || !kid || (!rsa && !ec) ||
	    (json_object_get(jwk, "use") && (!use || strcmp(use, "sig"))) ||
	    (json_object_get(jwk, "alg") && (!alg || strcmp(alg, rsa ? "RS256" : "ES256"))) ||
	    json_object_get(jwk, "d") ||
	    (ec && (!jsonx_str(jwk, "crv") || strcmp(jsonx_str(jwk, "crv"), "P-256"))))
		return NULL;
	out = rsa ? json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?}", "kty", "RSA",
			      "use", "sig", "alg", "RS256", "kid", kid,
			      "n", jsonx_str(jwk, "n"), "e", jsonx_str(jwk, "e"))
		  : json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:s?}", "kty", "EC",
			      "use", "sig", "alg", "ES256", "kid", kid, "crv", "P-256",
			      "x", jsonx_str(jwk, "x"), "y", jsonx_str(jwk, "y"));
	if (!out || jwt_jwk_thumbprint(&thumb, out, &e) < 0 || strcmp(thumb, kid)) {
		json_decref(out);
		out = NULL;
	}
	free(thumb);
	return out;
}

json_t *agent_fleet_rows(struct agent *ag, long long now_ms)
{
	json_t *own = ag->oidc ? oidc_jwks(ag->oidc) : NULL;
	json_t *rows = json_array(), *key;
	size_t i;

	pthread_rwlock_rdlock(&ag->cfg_lock);
	json_array_foreach(json_object_get(own, "keys"), i, key) {
		json_t *pub = public_jwk(key);
		char *text = pub ? json_dumps(pub, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		char mac[65];

		if (text) {
			agent_fleet_mac(mac, ag, now_ms, jsonx_str(pub, "kid"), text);
			json_array_append_new(rows, json_pack("{s:s, s:s, s:s}", "kid",
							      jsonx_str(pub, "kid"),
							      "jwk", text, "mac", mac));
		}
		free(text);
		json_decref(pub);
	}
	pthread_rwlock_unlock(&ag->cfg_lock);
	json_decref(own);
	return rows;
}

json_t *agent_fleet_check(struct agent *ag, const json_t *rows, long long now_ms,
			  json_t *until, size_t *refused)
{
	json_t *keys = json_array(), *row;
	size_t i;

	*refused = 0;
	pthread_rwlock_rdlock(&ag->cfg_lock);
	json_array_foreach(rows, i, row) {
		const char *kid = jsonx_str(row, "kid"), *text = jsonx_str(row, "jwk");
		const char *mac = jsonx_str(row, "mac");
		json_t *seen = json_object_get(row, "seen_ms"), *jwk = NULL, *pub = NULL;
		long long at = json_is_integer(seen) ? json_integer_value(seen) : -1;
		char want[65];

		if (kid && text && mac && strlen(mac) == 64 && at >= now_ms - FLEET_KEEP_MS &&
		    at <= now_ms + FLEET_SKEW_MS) {
			agent_fleet_mac(want, ag, at, kid, text);
			if (crypto_memeq(want, mac, 64))
				jwk = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
			pub = jwk ? public_jwk(jwk) : NULL;
		}
		if (pub && !strcmp(jsonx_str(pub, "kid"), kid)) {
			json_array_append(keys, pub);
			if (until)
				json_array_append_new(until, json_integer(at + FLEET_KEEP_MS));
		} else
			(*refused)++;
		json_decref(pub);
		json_decref(jwk);
	}
	pthread_rwlock_unlock(&ag->cfg_lock);
	return keys;
}

/* Whether every row of own has its kid among keys. */
static bool all_there(const json_t *own, const json_t *keys)
{
	const json_t *r, *k;
	size_t i, j;

	json_array_foreach(own, i, r) {
		bool found = false;

		json_array_foreach(keys, j, k)
			if (!strcmp(jsonx_str(k, "kid"), jsonx_str(r, "kid")))
				found = true;
		if (!found)
			return false;
	}
	return true;
}

/* What this agent's rows depend on besides the time: their kids and the
 * MAC key (which changes with the secret and the issuer); caller frees. */
static char *put_signature(struct agent *ag, const json_t *own)
{
	struct buf b = BUF_INIT;
	const json_t *r;
	size_t i;

	json_array_foreach(own, i, r)
		buf_printf(&b, "%s ", jsonx_str(r, "kid"));
	buf_printf(&b, "| key %lu", ag->fleet_key_gen);
	return buf_detach(&b, NULL);
}

int agent_fleet_sync(struct agent *ag, struct queue *q, long long now_ms, struct err *e)
{
	json_t *rows = NULL, *keys, *own, *until;
	size_t refused = 0;
	char *text;

	if (!ag->oidc)
		return 0;
	own = agent_fleet_rows(ag, now_ms);
	text = put_signature(ag, own);
	if (!ag->fleet_put_ms || now_ms - ag->fleet_put_ms >= FLEET_PUT_EVERY_MS ||
	    now_ms < ag->fleet_put_ms || !ag->fleet_put_rows ||
	    strcmp(text, ag->fleet_put_rows)) {
		if (queue_keys_put(q, own, now_ms, FLEET_KEEP_MS, e) < 0) {
			err_wrap(e, "publishing this agent's OIDC keys to the fleet");
			free(text);
			json_decref(own);
			return -1;
		}
		ag->fleet_put_ms = now_ms;
		free(ag->fleet_put_rows);
		ag->fleet_put_rows = text;
		text = NULL;
	}
	free(text);
	if (queue_keys_get(q, now_ms - FLEET_KEEP_MS, &rows, e) < 0) {
		json_decref(own);
		return err_wrap(e, "reading the fleet's OIDC keys");
	}
	until = json_array();
	keys = agent_fleet_check(ag, rows, now_ms, until, &refused);
	json_decref(rows);
	/* this agent's own rows should be there: if not (deleted, or put
	 * with another secret), they are put again at the next round */
	if (!all_there(own, keys))
		ag->fleet_put_ms = 0;
	json_decref(own);
	if (refused != ag->fleet_refused && refused)
		log_msg(LOG_WARN, "agent: %zu OIDC key(s) in the queue are not "
			"served: their MAC does not match this agent's webhook "
			"secret and issuer, they are older than a day or from "
			"the future, or they are not public RSA or EC keys of "
			"their kid", refused);
	ag->fleet_refused = refused;
	pthread_mutex_lock(&ag->fleet_lock);
	json_decref(ag->fleet_keys);
	json_decref(ag->fleet_until);
	ag->fleet_keys = keys;
	ag->fleet_until = until;
	pthread_mutex_unlock(&ag->fleet_lock);
	return 0;
}

json_t *agent_jwks(struct agent *ag)
{
	json_t *doc = oidc_jwks(ag->oidc), *own = json_object_get(doc, "keys");
	json_t *fleet, *until, *k;
	long long now = queue_now_ms();
	size_t i;

	/* copies: the fleet thread frees its arrays while this one serves */
	pthread_mutex_lock(&ag->fleet_lock);
	fleet = json_deep_copy(ag->fleet_keys);
	until = json_deep_copy(ag->fleet_until);
	pthread_mutex_unlock(&ag->fleet_lock);
	json_array_foreach(fleet, i, k) {
		bool have = false;

		/* a key past its day is not served, even when the queue could
		 * not be read since */
		if (json_integer_value(json_array_get(until, i)) <= now)
			continue;
		for (size_t j = 0; j < json_array_size(own) && !have; j++)
			have = !strcmp(jsonx_str(json_array_get(own, j), "kid") ?
				       jsonx_str(json_array_get(own, j), "kid") : "",
				       jsonx_str(k, "kid"));
		if (!have)
			json_array_append(own, k);
	}
	json_decref(fleet);
	json_decref(until);
	return doc;
}

static void *fleet_main(void *arg)
{
	struct agent *ag = arg;
	struct queue *q = NULL;
	struct err e = ERR_INIT;
	bool failing = false;

	while (!agent_nap(ag, 0)) {
		int r = q ? 0 : queue_open(&q, ag->cfg.queue_url, ag->cfg.agent_id, &e);

		if (r == 0)
			r = agent_fleet_sync(ag, q, queue_now_ms(), &e);
		if (r < 0 && !failing)	/* said once, not every round */
			log_msg(LOG_WARN, "agent: fleet OIDC keys: %s", e.msg);
		else if (r == 0 && failing)
			log_msg(LOG_INFO, "agent: fleet OIDC keys: the queue answers again");
		failing = r < 0;
		if (r < 0) {
			queue_close(q);
			q = NULL;
		}
		err_clear(&e);
		agent_nap(ag, ag->cfg.lease * 1000 / 3);
	}
	queue_close(q);
	return NULL;
}

int agent_fleet_start(struct agent *ag, pthread_t *th, bool *started, struct err *e)
{
	*started = false;
	if (!ag->oidc || !ag->api_q || !strcmp(queue_backend(ag->api_q), "sqlite"))
		return 0;
	if (pthread_create(th, NULL, fleet_main, ag))
		return err_set(e, ERR_INTERNAL, "cannot start the fleet keys thread");
	*started = true;
	return 0;
}
