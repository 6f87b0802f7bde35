/*
 * oidc: gantry as an OpenID Connect issuer, with GitHub Actions' contract,
 * so that jobs get ID tokens AWS (or anyone) can federate with.
 *
 * The issuer signs with the current key of a keyring (lib/jwt.h) in
 * gantry's state folder (~/.local/share/gantry/oidc, hidden from jobs).
 * Its HTTP endpoint (libmicrohttpd, 127.0.0.1 on an ephemeral port,
 * started at the first job that needs it) serves:
 *   GET /.well-known/openid-configuration   the discovery document
 *   GET /.well-known/jwks                   the published keys
 *   GET /_apis/idtoken?api-version=2.0&audience=AUD
 *       with "Authorization: Bearer <job token>": {"count": 1, "value": JWT}
 * A job whose permissions grant id-token: write is registered: it gets a
 * random bearer token that dies with the job (ACTIONS_ID_TOKEN_REQUEST_
 * TOKEN) and the URL above (ACTIONS_ID_TOKEN_REQUEST_URL). A wrong or
 * unregistered bearer gets 401. The issuer URL is --oidc-issuer's (where
 * the discovery document is published for AWS to fetch, gantry oidc
 * publish) or, without one, the loopback endpoint itself.
 *
 * Tokens carry GitHub's claims and shapes (sub "repo:OWNER/REPO:ref:REF",
 * ":environment:NAME" or ":pull_request"; run_id and friends as strings;
 * runner_environment "self-hosted"), live lifetime seconds (default 600)
 * and are never printed: the job host masks every value it hands out.
 */
#ifndef GANTRY_OIDC_H
#define GANTRY_OIDC_H

#include <stdbool.h>

#include <jansson.h>

#include "../lib/err.h"
#include "../lib/jwt.h"

#define OIDC_LIFETIME_DEFAULT 600

struct oidc_issuer;
struct yml_node;
struct mask;

struct oidc_opts {
	const char *issuer;	/* NULL: the loopback endpoint's URL */
	const char *state_dir;	/* NULL: ~/.local/share/gantry/oidc */
	enum jwt_alg alg;
	long lifetime;		/* seconds; 0: OIDC_LIFETIME_DEFAULT */
};

/* Open the keyring (creating its first key); the endpoint starts later,
 * at the first oidc_job_register. */
int oidc_issuer_new(struct oidc_issuer **out, const struct oidc_opts *o,
		    struct err *e);
void oidc_issuer_free(struct oidc_issuer *is);

/* The issuer URL tokens carry in iss (starts the endpoint when the
 * issuer is the endpoint itself). Borrowed. */
const char *oidc_issuer_url(struct oidc_issuer *is, struct err *e);

/* Register a job: claims are the job's (without iss, aud, exp, iat, nbf,
 * jti), copied; every token minted for it is added to mask (borrowed,
 * may be NULL; must outlive the registration). *url and *bearer owned;
 * bearer is a secret. */
int oidc_job_register(struct oidc_issuer *is, const json_t *claims,
		      struct mask *mask, char **url, char **bearer,
		      struct err *e);
void oidc_job_unregister(struct oidc_issuer *is, const char *bearer);

/* A signed token for claims (copied) with the given audience, now the
 * time; *out owned. For the endpoint and the tests. */
int oidc_mint(char **out, struct oidc_issuer *is, const json_t *claims,
	      const char *audience, long long now, struct err *e);

/* The discovery document for issuer (new reference). */
json_t *oidc_discovery(const char *issuer, enum jwt_alg alg);
/* The current key's algorithm and kid (borrowed). */
enum jwt_alg oidc_alg(struct oidc_issuer *is);
const char *oidc_current_kid(struct oidc_issuer *is);
/* A new signing key of alg; the old one stays published (jwt.h). */
int oidc_rotate(struct oidc_issuer *is, enum jwt_alg alg, struct err *e);
/* The JWKS now published (new reference). */
json_t *oidc_jwks(struct oidc_issuer *is);

/* The job's claims from its github context, its environment's name
 * (NULL: none) and the job_workflow_ref (NULL: the workflow_ref). */
json_t *oidc_job_claims(const json_t *github, const char *environment,
			const char *job_workflow_ref);
/* Whether permissions (the job's, else the workflow's) grant id-token:
 * write: "write-all", or a mapping with id-token: write. */
bool oidc_permitted(const struct yml_node *workflow_perms,
		    const struct yml_node *job_perms);

#endif
