/*
 * agent_fleet_keys: every agent of a fleet publishes every agent's OIDC
 * public keys, so that AWS, fetching the JWKS from whichever agent the
 * issuer URL reaches, can verify the tokens of them all. Each agent
 * keeps its own keyring (the private keys never leave its disk); the
 * public keys go through the queue (queue_keys_put, table oidc_keys).
 *
 * Rules that always hold:
 * - A row is served only when its MAC checks out: HMAC-SHA256 of
 *   "kid\njwk" under a key derived from the webhook secret, which every
 *   agent of a fleet has (the forges sign with it) and the queue does
 *   not. Whoever can write to the database but does not know the secret
 *   cannot add a key AWS would then trust.
 * - A row is served only when its JWK is a public RSA or EC key whose kid
 *   is the row's: no private member ("d", "p", ...), nothing else.
 * - An agent puts its keys at its first heartbeat, every
 *   FLEET_PUT_EVERY_MS after, and at once when its rows change (a new
 *   webhook secret after SIGHUP); a row not put for FLEET_KEEP_MS (an
 *   agent gone, a key rotated away) is deleted, and so no longer served.
 * - The keys served are read at every heartbeat, never in a request.
 */
#include "agent.h"
#include "oidc.h"
#include "queue.h"
#include "../lib/crypto.h"
#include "../lib/jsonx.h"
#include "../lib/log.h"
#include "../lib/util.h"

#include <string.h>

#define FLEET_PUT_EVERY_MS (5LL * 60 * 1000)
#define FLEET_KEEP_MS (24LL * 3600 * 1000)

static const char mac_label[] = "gantry fleet OIDC keys v1";

void agent_fleet_mac(char out[65], const struct agent *ag, const char *kid,
		     const char *jwk)
{
	unsigned char key[CRYPTO_SHA256_LEN], md[CRYPTO_SHA256_LEN];
	struct buf msg = BUF_INIT;
	const char *secret = ag->cfg.webhook_secret ? ag->cfg.webhook_secret : "";

	crypto_hmac_sha256(key, secret, strlen(secret), mac_label,
			   sizeof(mac_label) - 1);
	buf_printf(&msg, "%s\n%s", kid, jwk);
	crypto_hmac_sha256(md, key, sizeof(key), msg.ptr, msg.len);
	crypto_wipe(key, sizeof(key));
	for (size_t i = 0; i < sizeof(md); i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	buf_release(&msg);
}

/* Whether jwk (parsed) is a public RSA or EC key named kid. */
static bool public_jwk(const json_t *jwk, const char *kid)
{
	static const char *const private_members[] = {
		"d", "p", "q", "dp", "dq", "qi", "oth", "k",
	};
	const char *kty = jsonx_str(jwk, "kty"), *k = jsonx_str(jwk, "kid");

	if (!json_is_object(jwk) || !k || strcmp(k, kid) || !kty ||
	    (strcmp(kty, "RSA") && strcmp(kty, "EC")))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(private_members); i++)
		if (json_object_get(jwk, private_members[i]))
			return false;
	return true;
}

json_t *agent_fleet_rows(struct agent *ag)
{
	json_t *own = ag->oidc ? oidc_jwks(ag->oidc) : NULL;
	json_t *rows = json_array(), *key;
	size_t i;

	pthread_rwlock_rdlock(&ag->cfg_lock);
	json_array_foreach(json_object_get(own, "keys"), i, key) {
		const char *kid = jsonx_str(key, "kid");
		char *text, mac[65];

		if (!kid || !public_jwk(key, kid))
			continue;
		text = json_dumps(key, JSON_COMPACT | JSON_SORT_KEYS);
		agent_fleet_mac(mac, ag, kid, text);
		json_array_append_new(rows, json_pack("{s:s, s:s, s:s}", "kid", kid,
						      "jwk", text, "mac", mac));
		free(text);
	}
	pthread_rwlock_unlock(&ag->cfg_lock);
	json_decref(own);
	return rows;
}

json_t *agent_fleet_check(struct agent *ag, const json_t *rows, size_t *refused)
{
	json_t *keys = json_array(), *row;
	size_t i;

	*refused = 0;
	pthread_rwlock_rdlock(&ag->cfg_lock);
	json_array_foreach(rows, i, row) {
		const char *kid = jsonx_str(row, "kid"), *text = jsonx_str(row, "jwk");
		const char *mac = jsonx_str(row, "mac");
		json_t *jwk;
		char want[65];

		if (!kid || !text || !mac || strlen(mac) != 64) {
			(*refused)++;
			continue;
		}
		agent_fleet_mac(want, ag, kid, text);
		jwk = crypto_memeq(want, mac, 64) ? json_loads(text, JSON_REJECT_DUPLICATES,
							      NULL) : NULL;
		if (jwk && public_jwk(jwk, kid))
			json_array_append(keys, jwk);
		else
			(*refused)++;
		json_decref(jwk);
	}
	pthread_rwlock_unlock(&ag->cfg_lock);
	return keys;
}

void agent_fleet_sync(struct agent *ag, struct queue *q, long long now_ms)
{
	struct err e = ERR_INIT;
	json_t *rows = NULL, *keys, *own;
	size_t refused = 0;
	char *text;

	if (!ag->oidc)
		return;
	own = agent_fleet_rows(ag);
	text = json_dumps(own, JSON_COMPACT);
	if (!ag->fleet_put_ms || now_ms - ag->fleet_put_ms >= FLEET_PUT_EVERY_MS ||
	    now_ms < ag->fleet_put_ms || !ag->fleet_put_rows ||
	    strcmp(text, ag->fleet_put_rows)) {
		if (queue_keys_put(q, own, now_ms, FLEET_KEEP_MS, &e) < 0) {
			log_msg(LOG_WARN, "agent: publishing the OIDC keys to the "
				"fleet: %s", e.msg);
			err_clear(&e);
		} else {
			ag->fleet_put_ms = now_ms;
			free(ag->fleet_put_rows);
			ag->fleet_put_rows = text;
			text = NULL;
		}
	}
	free(text);
	json_decref(own);
	if (queue_keys_get(q, now_ms - FLEET_KEEP_MS, &rows, &e) < 0) {
		log_msg(LOG_WARN, "agent: reading the fleet's OIDC keys: %s", e.msg);
		err_clear(&e);
		return;
	}
	keys = agent_fleet_check(ag, rows, &refused);
	json_decref(rows);
	if (refused && refused != ag->fleet_refused)
		log_msg(LOG_WARN, "agent: %zu OIDC key(s) in the queue are not "
			"served: their MAC does not match this agent's webhook "
			"secret, or they are not public RSA or EC keys", refused);
	ag->fleet_refused = refused;
	pthread_mutex_lock(&ag->lock);
	json_decref(ag->fleet_keys);
	ag->fleet_keys = keys;
	pthread_mutex_unlock(&ag->lock);
}

json_t *agent_jwks(struct agent *ag)
{
	json_t *doc = oidc_jwks(ag->oidc), *own = json_object_get(doc, "keys"), *k;
	size_t i;

	pthread_mutex_lock(&ag->lock);
	json_array_foreach(ag->fleet_keys, i, k) {
		const char *kid = jsonx_str(k, "kid");
		bool have = false;
		size_t j;
		json_t *o;

		json_array_foreach(own, j, o)
			if (!strcmp(jsonx_str(o, "kid") ? jsonx_str(o, "kid") : "", kid))
				have = true;
		if (!have)
			json_array_append_new(own, json_deep_copy(k));
	}
	pthread_mutex_unlock(&ag->lock);
	return doc;
}
