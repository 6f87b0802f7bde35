/*
 * aws_creds: aws-actions/configure-aws-credentials built in, with the
 * action's inputs, outputs and environment, on lib/aws/.
 *
 * Where the credentials come from, as the action decides it:
 *   aws-access-key-id + aws-secret-access-key   those keys, or, with
 *                                               role-to-assume, the role
 *                                               assumed with them;
 *   role-to-assume + web-identity-token-file    AssumeRoleWithWebIdentity
 *                                               with the file's token;
 *   role-to-assume + role-chaining              AssumeRole with the
 *                                               credentials already in
 *                                               the environment;
 *   role-to-assume                              AssumeRoleWithWebIdentity
 *                                               with the job's OIDC token
 *                                               (id-token: write).
 * The credentials are masked before they are exported, checked with
 * GetCallerIdentity, and kept by the job, which refreshes them into every
 * later step's environment before they expire. Errors say what to fix in
 * the role's trust policy, the IAM OIDC provider or the workflow.
 */
#include "step.h"
#include "stepx.h"
#include "../lib/aws/aws.h"
#include "../lib/aws/creds.h"
#include "../lib/aws/sts.h"
#include "../lib/fs.h"
#include "../lib/jsonx.h"
#include "../lib/jwt.h"
#include "../lib/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define ACTION "aws-actions/configure-aws-credentials"

static const char *const known_inputs[] = {
	"aws-region", "role-to-assume", "aws-access-key-id",
	"aws-secret-access-key", "aws-session-token", "web-identity-token-file",
	"role-chaining", "audience", "http-proxy", "mask-aws-account-id",
	"role-duration-seconds", "role-external-id", "role-session-name",
	"role-skip-session-tagging", "inline-session-policy",
	"managed-session-policies", "output-credentials",
	"unset-current-credentials", "disable-retry", "retry-max-attempts",
	"special-characters-workaround", "use-existing-credentials",
	"allowed-account-ids", NULL,
};

struct cac {
	char *region, *role, *ak, *sk, *st, *token_file, *audience;
	char *session, *external_id, *allowed, *proxy;
	long duration;
	int attempts;
	bool chaining, mask_account, output_creds, unset_current;
};

/* What the job keeps: the provider and what its token function needs. */
struct kept {
	struct aws_credp *p;
	struct aws_credp *src;	/* role chaining's source, or NULL */
	/* when src is the job's earlier provider: how to release it */
	void (*src_release)(void *arg);
	void *src_arg;
	struct strv env;	/* the client's environment */
	char *url, *bearer, *audience, *file;
};

static void cac_release(struct cac *o)
{
	free(o->region);
	free(o->role);
	free(o->ak);
	free(o->sk);
	free(o->st);
	free(o->token_file);
	free(o->audience);
	free(o->session);
	free(o->external_id);
	free(o->allowed);
	free(o->proxy);
	memset(o, 0, sizeof(*o));
}

static void kept_free(void *arg)
{
	struct kept *k = arg;

	if (!k)
		return;
	aws_credp_free(k->p);
	if (k->src_release)
		k->src_release(k->src_arg);	/* frees src */
	else
		aws_credp_free(k->src);
	strv_release(&k->env);
	free(k->url);
	if (k->bearer)
		explicit_bzero(k->bearer, strlen(k->bearer));
	free(k->bearer);
	free(k->audience);
	free(k->file);
	free(k);
}

static int number(long *out, const char *s, long lo, long hi,
		  const char *name, struct err *e)
{
	if (str_to_long(s, out) < 0 || *out < lo || *out > hi)
		return err_set(e, ERR_INVALID, "%s '%s' must be a number from "
			       "%ld to %ld", name, s, lo, hi);
	return 0;
}

static int read_inputs(struct cac *o, struct step_ctx *c, struct err *e)
{
	char *dur = NULL, *att = NULL, *b[5] = { NULL };
	long n;
	int rc = -1;

	memset(o, 0, sizeof(*o));
	stepx_check_inputs(c, known_inputs, ACTION);
	if (stepx_input(&o->region, c, "aws-region", NULL, e) < 0 ||
	    stepx_input(&o->role, c, "role-to-assume", NULL, e) < 0 ||
	    stepx_input(&o->ak, c, "aws-access-key-id", NULL, e) < 0 ||
	    stepx_input(&o->sk, c, "aws-secret-access-key", NULL, e) < 0 ||
	    stepx_input(&o->st, c, "aws-session-token", NULL, e) < 0 ||
	    stepx_input(&o->token_file, c, "web-identity-token-file", NULL, e) < 0 ||
	    stepx_input(&o->audience, c, "audience", "sts.amazonaws.com", e) < 0 ||
	    stepx_input(&o->session, c, "role-session-name", "GitHubActions", e) < 0 ||
	    stepx_input(&o->external_id, c, "role-external-id", NULL, e) < 0 ||
	    stepx_input(&o->allowed, c, "allowed-account-ids", NULL, e) < 0 ||
	    stepx_input(&o->proxy, c, "http-proxy", NULL, e) < 0 ||
	    stepx_input(&dur, c, "role-duration-seconds", "3600", e) < 0 ||
	    stepx_input(&att, c, "retry-max-attempts", "12", e) < 0 ||
	    stepx_input(&b[0], c, "role-chaining", "false", e) < 0 ||
	    stepx_input(&b[1], c, "mask-aws-account-id", "false", e) < 0 ||
	    stepx_input(&b[2], c, "output-credentials", "false", e) < 0 ||
	    stepx_input(&b[3], c, "unset-current-credentials", "false", e) < 0 ||
	    stepx_input(&b[4], c, "disable-retry", "false", e) < 0)
		goto done;
	o->chaining = stepx_truthy(b[0], false);
	o->mask_account = stepx_truthy(b[1], false);
	o->output_creds = stepx_truthy(b[2], false);
	o->unset_current = stepx_truthy(b[3], false);
	if (!o->region) {
		err_set(e, ERR_INVALID, "input aws-region is required (e.g. "
			"us-east-1)");
		goto done;
	}
	for (const char *p = o->region; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) &&
		    *p != '-') {
			err_set(e, ERR_INVALID, "aws-region '%s' is not a region "
				"name (lower-case letters, digits and '-')",
				o->region);
			goto done;
		}
	if (number(&o->duration, dur, 900, 43200, "role-duration-seconds", e) < 0 ||
	    number(&n, att, 1, 100, "retry-max-attempts", e) < 0)
		goto done;
	o->attempts = stepx_truthy(b[4], false) ? 1 : (int)n;
	if (o->role && aws_sts_check_session_name(o->session, e) < 0) {
		err_wrap(e, "role-session-name");
		goto done;
	}
	if (!o->ak != !o->sk) {
		err_set(e, ERR_INVALID, "give both aws-access-key-id and "
			"aws-secret-access-key, or neither");
		goto done;
	}
	rc = 0;
done:
	free(dur);
	free(att);
	for (size_t i = 0; i < ARRAY_SIZE(b); i++)
		free(b[i]);
	return rc;
}

/* The token function of the OIDC flow: GET URL&audience=AUD with the
 * job's bearer, {"value": JWT}. */
static int oidc_token(char **out, void *arg, struct err *e)
{
	struct kept *k = arg;
	struct aws_client *c = NULL;
	struct aws_client_opts co = { .env = &k->env, .max_attempts = 3 };
	struct aws_resp resp;
	struct strv h = STRV_INIT;
	struct buf url = BUF_INIT;
	json_t *j = NULL;
	const char *v;
	int rc = -1;
	struct aws_req r = {
		.service = "oidc", .operation = "token request",
		.proto = AWS_PROTO_REST_JSON, .method = "GET",
		.unsigned_req = true, .headers = &h,
	};

	aws_resp_init(&resp);
	buf_printf(&url, "%s%saudience=", k->url, strchr(k->url, '?') ? "&" : "?");
	aws_uri_encode(&url, k->audience, strlen(k->audience), false);
	r.url = url.ptr;
	strv_pushf(&h, "Authorization:Bearer %s", k->bearer);
	if (aws_client_new(&c, &co, e) < 0 || aws_call(c, &r, &resp, e) < 0) {
		err_wrap(e, "the job's OIDC token");
		goto done;
	}
	j = json_loadb(resp.body.ptr, resp.body.len, 0, NULL);
	v = jsonx_str(j, "value");
	if (!v || !*v) {
		err_set(e, ERR_REMOTE, "the OIDC token endpoint answered "
			"without a token");
		goto done;
	}
	*out = xstrdup(v);
	rc = 0;
done:
	explicit_bzero(h.v[0], strlen(h.v[0]));
	strv_release(&h);
	buf_release(&url);
	json_decref(j);
	aws_resp_release(&resp);
	aws_client_free(c);
	return rc;
}

static int file_token(char **out, void *arg, struct err *e)
{
	struct kept *k = arg;
	struct buf b = BUF_INIT;
	size_t n;

	buf_init(&b, 64 * 1024);
	if (fs_read_file(&b, k->file, e) < 0) {
		buf_release(&b);
		return err_wrap(e, "web-identity-token-file");
	}
	n = b.len;
	while (n && isspace((unsigned char)b.ptr[n - 1]))
		n--;
	buf_truncate(&b, n);
	*out = buf_detach(&b, NULL);
	return 0;
}

/* "repo:acme/web:ref:refs/heads/x" from the token's payload, unverified:
 * only to say what the trust policy saw. */
static char *claim_of(const char *jwt, const char *name)
{
	const char *d1 = jwt ? strchr(jwt, '.') : NULL;
	const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	struct buf b = BUF_INIT;
	struct err ignore = ERR_INIT;
	json_t *j;
	char *v = NULL;

	if (!d2 || jwt_b64url_decode(&b, d1 + 1, (size_t)(d2 - d1 - 1),
				     &ignore) < 0) {
		buf_release(&b);
		return NULL;
	}
	j = json_loadb(b.ptr, b.len, 0, NULL);
	if (jsonx_str(j, name))
		v = xstrdup(jsonx_str(j, name));
	json_decref(j);
	buf_release(&b);
	return v;
}

/* The action says little; say what to change. */
static void explain(struct err *e, const struct cac *o, struct kept *k)
{
	char *tok = NULL, *sub = NULL, *iss = NULL, *aud = NULL;
	struct err ignore = ERR_INIT;
	const char *m = e->msg;

	if (k->bearer || k->file) {
		if ((k->bearer ? oidc_token(&tok, k, &ignore) :
		     file_token(&tok, k, &ignore)) == 0) {
			sub = claim_of(tok, "sub");
			iss = claim_of(tok, "iss");
			aud = claim_of(tok, "aud");
		}
	}
	if (strstr(m, "AccessDenied") && sub)
		err_wrap(e, "STS refused role %s: the token's sub is %s; check "
			 "the role's trust policy condition on sub", o->role, sub);
	else if (strstr(m, "ncorrect token audience"))
		err_wrap(e, "audience mismatch: the token's aud is %s and the "
			 "IAM OIDC provider for %s does not list it as a client "
			 "ID; add it there or set the audience input",
			 aud ? aud : o->audience, iss ? iss : "the issuer");
	else if (strstr(m, "No OpenIDConnect provider"))
		err_wrap(e, "no IAM OIDC provider for the issuer %s in the "
			 "role's account: create one for it", iss ? iss : "");
	else if (strstr(m, "IDPCommunicationError"))
		err_wrap(e, "AWS could not fetch %s/.well-known/openid-"
			 "configuration: publish it where AWS can reach it "
			 "(gantry oidc publish, --oidc-issuer)", iss ? iss : "");
	else if (strstr(m, "ExpiredToken"))
		err_wrap(e, "the token had expired when STS saw it: check this "
			 "machine's clock");
	if (tok)
		explicit_bzero(tok, strlen(tok));
	free(tok);
	free(sub);
	free(iss);
	free(aud);
}

static void chain_opts(struct aws_chain_opts *co, const struct kept *k,
		       const struct cac *o)
{
	memset(co, 0, sizeof(*co));
	co->env = &k->env;
	co->region = o->region;
	co->max_attempts = o->attempts;
}

/* Decide the source and make the provider; -1 with a clear error. */
static int make_provider(struct kept *k, struct step_ctx *c,
			 const struct cac *o, struct err *e)
{
	struct aws_chain_opts co;
	const char *url = strv_getenv(c->envp, "ACTIONS_ID_TOKEN_REQUEST_URL");
	const char *bearer = strv_getenv(c->envp, "ACTIONS_ID_TOKEN_REQUEST_TOKEN");

	chain_opts(&co, k, o);
	if (o->ak) {
		struct aws_creds s = { .access_key_id = o->ak,
				       .secret_access_key = o->sk,
				       .session_token = o->st };

		if (!o->role) {
			aws_credp_static(&k->p, &s, "inputs");
			return 0;
		}
		aws_credp_static(&k->src, &s, "inputs");
	} else if (o->role && o->token_file) {
		k->file = *o->token_file == '/' ? xstrdup(o->token_file) :
			  fs_join(c->workspace, o->token_file);
		/* read by gantry, outside the sandbox: only the job's own */
		if (!stepx_inside_job(c, k->file))
			return err_set(e, ERR_INVALID, "web-identity-token-file %s "
				       "is outside the workspace and RUNNER_TEMP",
				       o->token_file);
		aws_credp_web_identity(&k->p, &co, o->role, o->session,
				       o->duration, file_token, k);
		return 0;
	} else if (o->role && o->chaining) {
		/* the job's earlier credentials, still refreshed by their own
		 * provider, else whatever the environment holds */
		if (c->host->take_aws)
			k->src = c->host->take_aws(c->host_ud, &k->src_release,
						   &k->src_arg);
		if (!k->src)
			aws_credp_chain(&k->src, &co);
	} else if (o->role) {
		if (!url || !*url || !bearer || !*bearer)
			return err_set(e, ERR_AUTH, "the job has no id-token: "
				       "write permission, so it cannot get an "
				       "OIDC token to assume %s: add "
				       "'permissions: id-token: write' to the "
				       "job or the workflow", o->role);
		k->url = xstrdup(url);
		k->bearer = xstrdup(bearer);
		k->audience = xstrdup(o->audience);
		aws_credp_web_identity(&k->p, &co, o->role, o->session,
				       o->duration, oidc_token, k);
		return 0;
	} else {
		return err_set(e, ERR_INVALID, "nothing to get credentials "
			       "from: give role-to-assume (with 'permissions: "
			       "id-token: write'), or aws-access-key-id and "
			       "aws-secret-access-key");
	}
	aws_credp_assume_role(&k->p, &co, k->src, o->role, o->session,
			      o->duration, o->external_id);
	return 0;
}

static void export_creds(struct step_ctx *c, const struct cac *o,
			 const struct aws_creds *cr)
{
	const struct step_host *h = c->host;

	h->add_mask(c->host_ud, cr->access_key_id);
	h->add_mask(c->host_ud, cr->secret_access_key);
	if (cr->session_token)
		h->add_mask(c->host_ud, cr->session_token);
	h->export_env(c->host_ud, "AWS_ACCESS_KEY_ID", cr->access_key_id);
	h->export_env(c->host_ud, "AWS_SECRET_ACCESS_KEY", cr->secret_access_key);
	h->export_env(c->host_ud, "AWS_SESSION_TOKEN",
		      cr->session_token ? cr->session_token : "");
	if (o->output_creds) {
		char ts[32] = "";

		if (cr->expiration)
			time_iso8601(ts, sizeof(ts), cr->expiration);
		jsonx_set_str(c->outputs, "aws-access-key-id", cr->access_key_id);
		jsonx_set_str(c->outputs, "aws-secret-access-key",
			      cr->secret_access_key);
		jsonx_set_str(c->outputs, "aws-session-token",
			      cr->session_token ? cr->session_token : "");
		jsonx_set_str(c->outputs, "aws-expiration", ts);
	}
}

/* allowed-account-ids: "123456789012, 210987654321" */
static bool account_allowed(const char *list, const char *account)
{
	size_t n = strlen(account);

	for (const char *p = list; p && *p;) {
		const char *end;

		while (*p == ' ' || *p == ',')
			p++;
		end = p + strcspn(p, ", ");
		if ((size_t)(end - p) == n && !strncmp(p, account, n))
			return true;
		p = end;
	}
	return false;
}

static int verify(struct step_ctx *c, const struct cac *o, struct kept *k,
		  struct err *e)
{
	struct aws_client *cl = NULL;
	struct aws_identity id = { 0 };
	struct aws_client_opts co = {
		.env = &k->env, .region = o->region, .creds = k->p,
		.max_attempts = o->attempts,
	};
	int rc = -1;

	if (aws_client_new(&cl, &co, e) < 0 ||
	    aws_sts_get_caller_identity(&id, cl, NULL, e) < 0) {
		err_wrap(e, "checking the credentials (GetCallerIdentity)");
		goto done;
	}
	if (o->mask_account)
		c->host->add_mask(c->host_ud, id.account);
	if (o->allowed && !account_allowed(o->allowed, id.account)) {
		err_set(e, ERR_AUTH, "the credentials belong to account %s, "
			"which allowed-account-ids does not list", id.account);
		goto done;
	}
	jsonx_set_str(c->outputs, "aws-account-id", id.account);
	jsonx_set_str(c->outputs, "authenticated-arn", id.arn);
	stepx_say(c, "authenticated as %s", id.arn);
	rc = 0;
done:
	aws_identity_release(&id);
	aws_client_free(cl);
	return rc;
}

static void unset_current(struct step_ctx *c)
{
	static const char *const names[] = {
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_REGION", "AWS_DEFAULT_REGION",
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		c->host->export_env(c->host_ud, names[i], "");
		strv_setenv(c->envp, names[i], "");
	}
}

static int cac_run(struct step_ctx *c, struct err *e)
{
	struct cac o;
	struct kept *k = xcalloc(1, sizeof(*k));
	struct aws_creds cr = { 0 };
	int rc = -1;

	if (read_inputs(&o, c, e) < 0)
		goto done;
	if (o.unset_current)
		unset_current(c);
	stepx_aws_env(&k->env, c);
	if (o.proxy) {
		strv_setenv(&k->env, "https_proxy", o.proxy);
		strv_setenv(&k->env, "http_proxy", o.proxy);
	}
	c->host->export_env(c->host_ud, "AWS_REGION", o.region);
	c->host->export_env(c->host_ud, "AWS_DEFAULT_REGION", o.region);
	strv_setenv(&k->env, "AWS_REGION", o.region);
	if (o.ak) {
		c->host->add_mask(c->host_ud, o.sk);
		if (o.st)
			c->host->add_mask(c->host_ud, o.st);
	}
	if (make_provider(k, c, &o, e) < 0)
		goto done;
	if (o.role)
		stepx_say(c, "assuming %s (%s)", o.role, o.ak ? "with the given "
			  "keys" : o.chaining ? "role chaining" : o.token_file ?
			  "web identity token file" : "OIDC");
	else
		stepx_say(c, "warning: long-term access keys: prefer a role "
			  "assumed with OIDC (role-to-assume, id-token: write)");
	if (aws_credp_get(k->p, &cr, e) < 0) {
		explain(e, &o, k);
		goto done;
	}
	export_creds(c, &o, &cr);
	if (verify(c, &o, k, e) < 0)
		goto done;
	c->host->keep_aws(c->host_ud, k->p, kept_free, k);
	k = NULL;
	rc = 0;
done:
	/* a chained role that failed: the job keeps its earlier credentials */
	if (k && k->src_release) {
		c->host->keep_aws(c->host_ud, k->src, k->src_release, k->src_arg);
		k->src = NULL;
		k->src_release = NULL;
	}
	aws_creds_release(&cr);
	kept_free(k);
	cac_release(&o);
	return rc;
}

static int cac_plan(struct step_ctx *c, struct err *e)
{
	struct cac o;
	json_t *claims = c->host->oidc_claims ?
			 c->host->oidc_claims(c->host_ud) : NULL;
	int rc = -1;

	if (read_inputs(&o, c, e) < 0)
		goto done;
	stepx_say(c, "region: %s (AWS_REGION, AWS_DEFAULT_REGION)", o.region);
	if (o.ak && o.role)
		stepx_say(c, "would assume %s with the given access keys "
			  "(sts:AssumeRole), session %s, %ld s", o.role,
			  o.session, o.duration);
	else if (o.ak)
		stepx_say(c, "would export the given access keys (long-term)");
	else if (o.role && o.token_file)
		stepx_say(c, "would assume %s with the token in %s "
			  "(sts:AssumeRoleWithWebIdentity), session %s, %ld s",
			  o.role, o.token_file, o.session, o.duration);
	else if (o.role && o.chaining)
		stepx_say(c, "would assume %s with the credentials already in "
			  "the environment (role chaining), session %s, %ld s",
			  o.role, o.session, o.duration);
	else if (o.role && claims)
		stepx_say(c, "would assume %s with an OIDC token "
			  "(sts:AssumeRoleWithWebIdentity): audience %s, sub %s; "
			  "session %s, %ld s", o.role, o.audience,
			  jsonx_str(claims, "sub"), o.session, o.duration);
	else if (o.role) {
		err_set(e, ERR_AUTH, "the job has no id-token: write permission, "
			"so it cannot get an OIDC token to assume %s", o.role);
		goto done;
	} else {
		err_set(e, ERR_INVALID, "nothing to get credentials from: give "
			"role-to-assume or access keys");
		goto done;
	}
	stepx_say(c, "then: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
		  "AWS_SESSION_TOKEN exported (masked), checked with "
		  "sts:GetCallerIdentity");
	rc = 0;
done:
	json_decref(claims);
	cac_release(&o);
	return rc;
}

const struct step_type step_type_aws_creds = {
	.name = "aws-actions/configure-aws-credentials",
	.plan = cac_plan,
	.run = cac_run,
};
