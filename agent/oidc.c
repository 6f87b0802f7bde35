/*
 * oidc: the issuer, its endpoint and GitHub's token contract (oidc.h).
 *
 * Threat model: the endpoint listens on 127.0.0.1 only, but any process
 * on the machine can connect, so nothing is handed out without a job's
 * bearer token, compared in constant time; the tokens are 256 random
 * bits and die with the job. Requests are small GETs: bodies are
 * refused, connections are limited and time out.
 */
#include "oidc.h"
#include "http_reply.h"
#include "../lib/crypto.h"
#include "../lib/fs.h"
#include "../lib/jsonx.h"
#include "../lib/mask.h"
#include "../lib/util.h"
#include "../workflows/yml.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JOBS_MAX 4096
#define AUDIENCE_MAX 1024
#define TOKEN_PATH "/_apis/idtoken"
#define DISCOVERY_PATH "/.well-known/openid-configuration"
#define JWKS_PATH "/.well-known/jwks"

struct oidc_job {
	char bearer[65];
	json_t *claims;
	struct mask *mask;	/* borrowed: the run's; every token minted
				 * for the job is masked in its output */
};

struct oidc_issuer {
	pthread_mutex_t mu;
	struct jwt_keyring *keys;
	enum jwt_alg alg;
	long lifetime;
	char *issuer;		/* owned; NULL until the endpoint is up when
				 * the issuer is the endpoint itself */
	bool own_issuer;
	char *endpoint;		/* "http://127.0.0.1:PORT" once started */
	struct MHD_Daemon *mhd;
	struct oidc_job *jobs;
	size_t n_jobs, alloc_jobs;
};

static char *state_dir_default(void)
{
	const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");

	if (xdg && *xdg == '/')
		return xasprintf("%s/gantry/oidc", xdg);
	if (home && *home == '/')
		return xasprintf("%s/.local/share/gantry/oidc", home);
	return NULL;
}

int oidc_issuer_new(struct oidc_issuer **out, const struct oidc_opts *o,
		    struct err *e)
{
	struct oidc_issuer *is = xcalloc(1, sizeof(*is));
	char *dir = o->state_dir ? xstrdup(o->state_dir) : state_dir_default();
	char *parent = NULL;

	*out = NULL;
	pthread_mutex_init(&is->mu, NULL);
	is->alg = o->alg;
	is->lifetime = o->lifetime > 0 ? o->lifetime : OIDC_LIFETIME_DEFAULT;
	if (o->issuer) {
		size_t n = strlen(o->issuer);

		while (n && o->issuer[n - 1] == '/')
			n--;
		if (!str_starts_with(o->issuer, "https://") &&
		    !str_starts_with(o->issuer, "http://")) {
			err_set(e, ERR_INVALID, "the OIDC issuer '%s' is not an "
				"https:// URL", o->issuer);
			goto fail;
		}
		is->issuer = xstrndup(o->issuer, n);
	} else {
		is->own_issuer = true;
	}
	if (!dir) {
		err_set(e, ERR_INVALID, "no folder for the OIDC keys: HOME is "
			"not set");
		goto fail;
	}
	parent = fs_dirname(dir);
	if (fs_mkdirs(parent, 0700, e) < 0 ||
	    jwt_keyring_open(&is->keys, dir, is->alg, (long long)time(NULL),
			     is->lifetime, e) < 0) {
		err_wrap(e, "OIDC keys in %s", dir);
		goto fail;
	}
	is->alg = jwt_key_alg(jwt_keyring_current(is->keys));
	free(dir);
	free(parent);
	*out = is;
	return 0;
fail:
	free(dir);
	free(parent);
	oidc_issuer_free(is);
	return -1;
}

void oidc_issuer_free(struct oidc_issuer *is)
{
	if (!is)
		return;
	if (is->mhd)
		MHD_stop_daemon(is->mhd);
	for (size_t i = 0; i < is->n_jobs; i++) {
		crypto_wipe(is->jobs[i].bearer, sizeof(is->jobs[i].bearer));
		json_decref(is->jobs[i].claims);
	}
	free(is->jobs);
	jwt_keyring_free(is->keys);
	free(is->issuer);
	free(is->endpoint);
	pthread_mutex_destroy(&is->mu);
	free(is);
}

json_t *oidc_discovery(const char *issuer, enum jwt_alg alg)
{
	static const char *const claims[] = {
		"sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref",
		"ref_type", "sha", "repository", "repository_owner", "run_id",
		"run_number", "run_attempt", "actor", "workflow",
		"workflow_ref", "job_workflow_ref", "head_ref", "base_ref",
		"event_name", "environment", "runner_environment",
	};
	json_t *d = json_object(), *a = json_array();

	json_object_set_new(d, "issuer", json_string(issuer));
	json_object_set_new(d, "jwks_uri", json_sprintf("%s" JWKS_PATH, issuer));
	json_object_set_new(d, "subject_types_supported",
			    json_pack("[s]", "public"));
	json_object_set_new(d, "response_types_supported",
			    json_pack("[s]", "id_token"));
	for (size_t i = 0; i < ARRAY_SIZE(claims); i++)
		json_array_append_new(a, json_string(claims[i]));
	json_object_set_new(d, "claims_supported", a);
	json_object_set_new(d, "id_token_signing_alg_values_supported",
			    json_pack("[s]", jwt_alg_name(alg)));
	json_object_set_new(d, "scopes_supported", json_pack("[s]", "openid"));
	return d;
}

enum jwt_alg oidc_alg(struct oidc_issuer *is)
{
	return is->alg;
}

const char *oidc_current_kid(struct oidc_issuer *is)
{
	return jwt_key_kid(jwt_keyring_current(is->keys));
}

int oidc_rotate(struct oidc_issuer *is, enum jwt_alg alg, struct err *e)
{
	int rc;

	pthread_mutex_lock(&is->mu);
	rc = jwt_keyring_rotate(is->keys, alg, (long long)time(NULL), e);
	if (rc == 0)
		is->alg = alg;
	pthread_mutex_unlock(&is->mu);
	return rc;
}

json_t *oidc_jwks(struct oidc_issuer *is)
{
	json_t *j;

	pthread_mutex_lock(&is->mu);
	j = jwt_keyring_jwks(is->keys);
	pthread_mutex_unlock(&is->mu);
	return j;
}

static void random_hex(char *out, size_t bytes)
{
	unsigned char b[64];

	if (bytes > sizeof(b))
		BUG("random_hex: %zu bytes", bytes);
	crypto_random(b, bytes);
	hex_lower(out, b, bytes);
	crypto_wipe(b, sizeof(b));
}

static const char *issuer_locked(struct oidc_issuer *is)
{
	return is->own_issuer ? is->endpoint : is->issuer;
}

int oidc_mint(char **out, struct oidc_issuer *is, const json_t *claims,
	      const char *audience, long long now, struct err *e)
{
	json_t *c = json_deep_copy(claims);
	char jti[37], hex[33];
	const char *iss;
	int rc;

	random_hex(hex, 16);
	snprintf(jti, sizeof(jti), "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8,
		 hex + 12, hex + 16, hex + 20);
	pthread_mutex_lock(&is->mu);
	iss = issuer_locked(is);
	json_object_set_new(c, "jti", json_string(jti));
	json_object_set_new(c, "iss", json_string(iss ? iss : ""));
	json_object_set_new(c, "aud", json_string(audience));
	json_object_set_new(c, "iat", json_integer(now));
	json_object_set_new(c, "nbf", json_integer(now - 5));
	json_object_set_new(c, "exp", json_integer(now + is->lifetime));
	rc = jwt_sign(out, jwt_keyring_current(is->keys), c, e);
	pthread_mutex_unlock(&is->mu);
	json_decref(c);
	return rc;
}

static struct oidc_job *find_job(struct oidc_issuer *is, const char *bearer)
{
	size_t n = strlen(bearer);
	struct oidc_job *hit = NULL;

	/* every entry compared, in constant time per entry */
	for (size_t i = 0; i < is->n_jobs; i++)
		if (n == 64 && crypto_memeq(is->jobs[i].bearer, bearer, 64))
			hit = &is->jobs[i];
	return hit;
}

static enum MHD_Result token_request(struct oidc_issuer *is,
				     struct MHD_Connection *c)
{
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						       "Authorization");
	const char *aud = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
						      "audience");
	struct oidc_job *job;
	struct mask *mask = NULL;
	json_t *claims = NULL;
	char *jwt = NULL, *def_aud = NULL;
	struct err e = ERR_INIT;
	enum MHD_Result ret;

	if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
		return http_json(c, 401, json_pack("{s:s}", "message",
			"a job token is required (Authorization: Bearer)"));
	pthread_mutex_lock(&is->mu);
	job = find_job(is, auth + 7);
	if (job) {
		claims = json_deep_copy(job->claims);
		mask = job->mask;
	}
	pthread_mutex_unlock(&is->mu);
	if (!claims)
		return http_json(c, 401, json_pack("{s:s}", "message",
			"the job token is not valid (the job has ended?)"));
	if (!aud || !*aud) {
		/* GitHub's default audience: the repository owner's URL */
		const char *srv = jsonx_str(claims, "_server_url");

		def_aud = xasprintf("%s/%s", srv ? srv : "https://github.com",
				    jsonx_str(claims, "repository_owner") ?
				    jsonx_str(claims, "repository_owner") : "");
		aud = def_aud;
	}
	json_object_del(claims, "_server_url");
	if (strlen(aud) > AUDIENCE_MAX) {
		ret = http_json(c, 400, json_pack("{s:s}", "message",
						    "audience is too long"));
		goto done;
	}
	if (oidc_mint(&jwt, is, claims, aud, (long long)time(NULL), &e) < 0) {
		ret = http_json(c, 500, json_pack("{s:s}", "message", e.msg));
		goto done;
	}
	/* masked before the step can print it (unregister happens before
	 * the run's mask goes) */
	if (mask)
		mask_add(mask, jwt);
	ret = http_json(c, 200, json_pack("{s:i,s:s}", "count", 1,
					    "value", jwt));
done:
	if (jwt)
		crypto_wipe(jwt, strlen(jwt));
	free(jwt);
	free(def_aud);
	json_decref(claims);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct oidc_issuer *is = cls;
	const char *iss;
	json_t *j;

	(void)version;
	(void)upload;
	(void)con_cls;
	if (*upload_size)
		return MHD_NO;	/* no bodies here: close */
	if (strcmp(method, "GET") != 0)
		return http_json(c, 405, json_pack("{s:s}", "message",
						     "only GET"));
	if (strcmp(url, TOKEN_PATH) == 0)
		return token_request(is, c);
	if (strcmp(url, DISCOVERY_PATH) == 0) {
		pthread_mutex_lock(&is->mu);
		iss = issuer_locked(is);
		j = oidc_discovery(iss ? iss : "", is->alg);
		pthread_mutex_unlock(&is->mu);
		return http_json(c, 200, j);
	}
	if (strcmp(url, JWKS_PATH) == 0)
		return http_json(c, 200, oidc_jwks(is));
	return http_json(c, 404, json_pack("{s:s}", "message", "not found"));
}

/* Start the endpoint once; under is->mu. */
static int start_locked(struct oidc_issuer *is, struct err *e)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	const union MHD_DaemonInfo *info;

	if (is->mhd)
		return 0;
	is->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
				   MHD_USE_POLL, 0, NULL, NULL, handle, is,
				   MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				   MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
				   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
				   MHD_OPTION_CONNECTION_MEMORY_LIMIT,
				   (size_t)(64 * 1024), MHD_OPTION_END);
	if (!is->mhd)
		return err_set(e, ERR_IO, "the OIDC token endpoint could not "
			       "listen on 127.0.0.1");
	info = MHD_get_daemon_info(is->mhd, MHD_DAEMON_INFO_BIND_PORT);
	if (!info || !info->port) {
		MHD_stop_daemon(is->mhd);
		is->mhd = NULL;
		return err_set(e, ERR_IO, "the OIDC token endpoint has no port");
	}
	is->endpoint = xasprintf("http://127.0.0.1:%u", (unsigned)info->port);
	return 0;
}

const char *oidc_issuer_url(struct oidc_issuer *is, struct err *e)
{
	const char *iss;

	pthread_mutex_lock(&is->mu);
	if (is->own_issuer && start_locked(is, e) < 0)
		iss = NULL;
	else
		iss = issuer_locked(is);
	pthread_mutex_unlock(&is->mu);
	return iss;
}

int oidc_job_register(struct oidc_issuer *is, const json_t *claims,
		      struct mask *mask, char **url, char **bearer,
		      struct err *e)
{
	struct oidc_job *j;
	int rc = -1;

	*url = *bearer = NULL;
	pthread_mutex_lock(&is->mu);
	if (start_locked(is, e) < 0)
		goto done;
	if (is->n_jobs >= JOBS_MAX) {
		err_set(e, ERR_LIMIT, "more than %d jobs hold OIDC tokens",
			JOBS_MAX);
		goto done;
	}
	ALLOC_GROW(is->jobs, is->n_jobs + 1, is->alloc_jobs);
	j = &is->jobs[is->n_jobs++];
	random_hex(j->bearer, 32);
	j->claims = json_deep_copy(claims);
	j->mask = mask;
	*bearer = xstrdup(j->bearer);
	*url = xasprintf("%s" TOKEN_PATH "?api-version=2.0", is->endpoint);
	rc = 0;
done:
	pthread_mutex_unlock(&is->mu);
	return rc;
}

void oidc_job_unregister(struct oidc_issuer *is, const char *bearer)
{
	struct oidc_job *j;

	if (!bearer)
		return;
	pthread_mutex_lock(&is->mu);
	j = find_job(is, bearer);
	if (j) {
		crypto_wipe(j->bearer, sizeof(j->bearer));
		json_decref(j->claims);
		*j = is->jobs[--is->n_jobs];
	}
	pthread_mutex_unlock(&is->mu);
}

static void set_nonempty(json_t *o, const char *key, const char *v)
{
	if (v && *v)
		json_object_set_new(o, key, json_string(v));
}

json_t *oidc_job_claims(const json_t *github, const char *environment,
			const char *job_workflow_ref)
{
	static const char *const copy[] = {
		"ref", "sha", "repository", "repository_owner", "run_id",
		"run_number", "run_attempt", "actor", "workflow", "workflow_ref",
		"head_ref", "base_ref", "event_name", "ref_type",
	};
	json_t *c = json_object();
	const char *repo = jsonx_str(github, "repository");
	const char *event = jsonx_str(github, "event_name");
	const char *ref = jsonx_str(github, "ref");
	char *sub;

	for (size_t i = 0; i < ARRAY_SIZE(copy); i++) {
		json_t *v = json_object_get(github, copy[i]);

		if (json_is_string(v))
			json_object_set_new(c, copy[i], json_string(json_string_value(v)));
		else if (json_is_integer(v))	/* numbers as strings, as GitHub */
			json_object_set_new(c, copy[i], json_sprintf(
				"%" JSON_INTEGER_FORMAT, json_integer_value(v)));
	}
	if (!json_object_get(c, "head_ref"))
		json_object_set_new(c, "head_ref", json_string(""));
	if (!json_object_get(c, "base_ref"))
		json_object_set_new(c, "base_ref", json_string(""));
	set_nonempty(c, "job_workflow_ref", job_workflow_ref ? job_workflow_ref :
		     jsonx_str(github, "workflow_ref"));
	json_object_set_new(c, "runner_environment", json_string("self-hosted"));
	if (environment && *environment) {
		json_object_set_new(c, "environment", json_string(environment));
		sub = xasprintf("repo:%s:environment:%s", repo ? repo : "",
				environment);
	} else if (event && (strcmp(event, "pull_request") == 0 ||
			     strcmp(event, "pull_request_target") == 0)) {
		sub = xasprintf("repo:%s:pull_request", repo ? repo : "");
	} else {
		sub = xasprintf("repo:%s:ref:%s", repo ? repo : "",
				ref ? ref : "");
	}
	json_object_set_new(c, "sub", json_string(sub));
	free(sub);
	/* not a claim: the default audience's server, dropped when minted */
	set_nonempty(c, "_server_url", jsonx_str(github, "server_url"));
	return c;
}

static int perms_grant(const struct yml_node *p, bool *out)
{
	const struct yml_node *v;

	if (!p)
		return -1;	/* not set here */
	if (p->kind == YML_SCALAR) {
		*out = strcmp(p->str, "write-all") == 0;
		return 0;
	}
	v = p->kind == YML_MAP ? yml_get(p, "id-token") : NULL;
	*out = v && v->kind == YML_SCALAR && strcmp(v->str, "write") == 0;
	return 0;
}

bool oidc_permitted(const struct yml_node *workflow_perms,
		    const struct yml_node *job_perms)
{
	bool ok = false;

	if (perms_grant(job_perms, &ok) == 0)
		return ok;
	if (perms_grant(workflow_perms, &ok) == 0)
		return ok;
	return false;	/* GitHub's default grants no id-token */
}
