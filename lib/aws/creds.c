/*
 * creds: credential providers and the default chain (see creds.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "../buf.h"
#include "../fs.h"
#include "../util.h"
#include "creds.h"
#include "profile.h"
#include "sts.h"

#define PROFILE_DEPTH_MAX 4
#define TOKEN_FILE_MAX (64u << 10)
#define ECS_HOST "http://169.254.170.2"
#define IMDS_DEFAULT "http://169.254.169.254"
#define IMDS_TTL "21600"

enum kind { K_STATIC, K_CHAIN, K_WEB_IDENTITY, K_ASSUME_ROLE, K_CONTAINER,
	    K_IMDS };

struct aws_credp {
	pthread_mutex_t lock;
	enum kind kind;
	struct aws_creds cur;
	bool have;
	char *source;			/* owned */
	long long margin;
	int fetches;
	/* where the provider's own calls go */
	struct strv env;
	bool has_env;
	char *profile, *region, *endpoint_url;
	int max_attempts;
	long backoff_base_ms;
	/* web identity and assume role */
	char *role_arn, *session, *external_id, *token_file;
	long duration;
	aws_token_fn token_fn;
	void *token_arg;
	struct aws_credp *src;		/* borrowed unless own_src */
	bool own_src;
	/* container and IMDS */
	char *url, *auth_token, *auth_file;
	/* chain: the provider it settled on (owned) */
	struct aws_credp *resolved;
};

void aws_creds_copy(struct aws_creds *dst, const struct aws_creds *src)
{
	dst->access_key_id = src->access_key_id ?
		xstrdup(src->access_key_id) : NULL;
	dst->secret_access_key = src->secret_access_key ?
		xstrdup(src->secret_access_key) : NULL;
	dst->session_token = src->session_token ?
		xstrdup(src->session_token) : NULL;
	dst->expiration = src->expiration;
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void aws_creds_release(struct aws_creds *c)
{
	free(c->access_key_id);
	wipe_free(c->secret_access_key);
	wipe_free(c->session_token);
	memset(c, 0, sizeof(*c));
}

static char *dup0(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

static struct aws_credp *credp_new(enum kind kind,
				   const struct aws_chain_opts *o)
{
	struct aws_credp *p = xcalloc(1, sizeof(*p));

	pthread_mutex_init(&p->lock, NULL);
	p->kind = kind;
	p->margin = AWS_REFRESH_MARGIN;
	if (o) {
		if (o->env) {
			p->has_env = true;
			for (size_t i = 0; i < o->env->n; i++)
				strv_push(&p->env, o->env->v[i]);
		}
		p->profile = dup0(o->profile);
		p->region = dup0(o->region);
		p->endpoint_url = dup0(o->endpoint_url);
		p->max_attempts = o->max_attempts;
		p->backoff_base_ms = o->backoff_base_ms;
	}
	return p;
}

static void opts_of(struct aws_chain_opts *o, const struct aws_credp *p)
{
	o->env = p->has_env ? &p->env : NULL;
	o->profile = p->profile;
	o->region = p->region;
	o->endpoint_url = p->endpoint_url;
	o->max_attempts = p->max_attempts;
	o->backoff_base_ms = p->backoff_base_ms;
}

static const char *penv(const struct aws_credp *p, const char *name)
{
	const char *v = aws_getenv(p->has_env ? &p->env : NULL, name);

	return v && *v ? v : NULL;
}

void aws_credp_static(struct aws_credp **out, const struct aws_creds *c,
		      const char *source)
{
	struct aws_credp *p = credp_new(K_STATIC, NULL);

	aws_creds_copy(&p->cur, c);
	p->have = true;
	p->source = xstrdup(source ? source : "static");
	*out = p;
}

void aws_credp_chain(struct aws_credp **out, const struct aws_chain_opts *o)
{
	*out = credp_new(K_CHAIN, o);
}

void aws_credp_web_identity(struct aws_credp **out,
			    const struct aws_chain_opts *o,
			    const char *role_arn, const char *session_name,
			    long duration, aws_token_fn fn, void *fn_arg)
{
	struct aws_credp *p = credp_new(K_WEB_IDENTITY, o);

	p->role_arn = xstrdup(role_arn);
	p->session = xstrdup(session_name);
	p->duration = duration;
	p->token_fn = fn;
	p->token_arg = fn_arg;
	p->source = xstrdup("web-identity");
	*out = p;
}

void aws_credp_assume_role(struct aws_credp **out,
			   const struct aws_chain_opts *o,
			   struct aws_credp *source, const char *role_arn,
			   const char *session_name, long duration,
			   const char *external_id)
{
	struct aws_credp *p = credp_new(K_ASSUME_ROLE, o);

	p->src = source;
	p->role_arn = xstrdup(role_arn);
	p->session = xstrdup(session_name);
	p->duration = duration;
	p->external_id = dup0(external_id);
	p->source = xstrdup("assume-role");
	*out = p;
}

void aws_credp_free(struct aws_credp *p)
{
	if (!p)
		return;
	aws_creds_release(&p->cur);
	pthread_mutex_destroy(&p->lock);
	strv_release(&p->env);
	free(p->source);
	free(p->profile);
	free(p->region);
	free(p->endpoint_url);
	free(p->role_arn);
	free(p->session);
	free(p->external_id);
	free(p->token_file);
	free(p->url);
	wipe_free(p->auth_token);
	free(p->auth_file);
	if (p->own_src)
		aws_credp_free(p->src);
	aws_credp_free(p->resolved);
	free(p);
}

const char *aws_credp_source(const struct aws_credp *p)
{
	if (p->kind == K_CHAIN)
		return p->resolved ? aws_credp_source(p->resolved) : "none";
	return p->source ? p->source : "none";
}

int aws_credp_fetches(const struct aws_credp *p)
{
	return p->kind == K_CHAIN && p->resolved ?
	       aws_credp_fetches(p->resolved) : p->fetches;
}

void aws_credp_set_margin(struct aws_credp *p, long long seconds)
{
	p->margin = seconds;
	if (p->resolved)
		aws_credp_set_margin(p->resolved, seconds);
}

/* A client for the provider's own calls; creds: its signer or NULL. */
static int own_client(struct aws_client **out, const struct aws_credp *p,
		      struct aws_credp *creds, long connect_ms, int attempts,
		      struct err *e)
{
	struct aws_client_opts co = {
		.env = p->has_env ? &p->env : NULL, .region = p->region,
		.profile = p->profile, .endpoint_url = p->endpoint_url,
		.creds = creds,
		.max_attempts = attempts ? attempts : p->max_attempts,
		.backoff_base_ms = p->backoff_base_ms,
		.connect_timeout_ms = connect_ms,
	};

	return aws_client_new(out, &co, e);
}

static int read_token_file(char **out, const char *path, struct err *e)
{
	struct buf b = BUF_INIT;
	size_t n;

	buf_init(&b, TOKEN_FILE_MAX);
	if (fs_read_file(&b, path, e) < 0) {
		buf_release(&b);
		return err_wrap(e, "web identity token file");
	}
	n = b.len;
	while (n && (b.ptr[n - 1] == '\n' || b.ptr[n - 1] == '\r' ||
		     b.ptr[n - 1] == ' '))
		n--;
	buf_truncate(&b, n);
	if (!n) {
		buf_release(&b);
		return err_set(e, ERR_INVALID, "the web identity token file %s "
			       "is empty", path);
	}
	*out = buf_detach(&b, NULL);
	return 0;
}

static int take_role(struct aws_credp *p, struct aws_sts_role *r)
{
	aws_creds_release(&p->cur);
	p->cur = r->creds;
	memset(&r->creds, 0, sizeof(r->creds));
	aws_sts_role_release(r);
	return 0;
}

static int fetch_web_identity(struct aws_credp *p, struct err *e)
{
	struct aws_client *c = NULL;
	struct aws_sts_role r;
	char *token = NULL;
	int rc = -1;

	if (p->token_fn ? p->token_fn(&token, p->token_arg, e) < 0 :
	    read_token_file(&token, p->token_file, e) < 0)
		return -1;
	if (own_client(&c, p, NULL, 0, 0, e) < 0)
		goto done;
	if (aws_sts_assume_role_with_web_identity(&r, c, p->role_arn,
						  p->session, token,
						  p->duration, NULL, e) < 0)
		goto done;
	rc = take_role(p, &r);
done:
	aws_client_free(c);
	wipe_free(token);
	return rc;
}

static int fetch_assume_role(struct aws_credp *p, struct err *e)
{
	struct aws_client *c = NULL;
	struct aws_sts_role r;
	int rc = -1;

	if (own_client(&c, p, p->src, 0, 0, e) < 0)
		return -1;
	if (aws_sts_assume_role(&r, c, p->role_arn, p->session, p->duration,
				p->external_id, NULL, e) == 0)
		rc = take_role(p, &r);
	aws_client_free(c);
	return rc;
}

/* {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"} */
static int creds_from_json(struct aws_credp *p, const struct aws_resp *resp,
			   const char *what, struct err *e)
{
	json_t *j = json_loadb(resp->body.ptr, resp->body.len, 0, NULL);
	const char *ak = json_string_value(json_object_get(j, "AccessKeyId"));
	const char *sk = json_string_value(json_object_get(j, "SecretAccessKey"));
	const char *tk = json_string_value(json_object_get(j, "Token"));
	const char *ex = json_string_value(json_object_get(j, "Expiration"));
	const char *code = json_string_value(json_object_get(j, "Code"));
	long long exp = 0;
	int rc = -1;

	if (code && strcmp(code, "Success") != 0) {
		err_set(e, ERR_AUTH, "%s answered Code %s", what, code);
		goto done;
	}
	if (!ak || !sk || (ex && aws_time_parse(&exp, ex) < 0)) {
		err_set(e, ERR_REMOTE, "%s answered without AccessKeyId, "
			"SecretAccessKey or a readable Expiration", what);
		goto done;
	}
	aws_creds_release(&p->cur);
	p->cur.access_key_id = xstrdup(ak);
	p->cur.secret_access_key = xstrdup(sk);
	p->cur.session_token = tk ? xstrdup(tk) : NULL;
	p->cur.expiration = exp;
	rc = 0;
done:
	json_decref(j);
	return rc;
}

static int fetch_container(struct aws_credp *p, struct err *e)
{
	struct aws_client *c = NULL;
	struct aws_resp resp;
	struct strv h = STRV_INIT;
	char *tok = NULL;
	struct aws_req r = {
		.service = "container", .operation = "credentials",
		.proto = AWS_PROTO_REST_JSON, .method = "GET", .url = p->url,
		.unsigned_req = true, .headers = &h,
	};
	int rc = -1;

	aws_resp_init(&resp);
	if (p->auth_file && read_token_file(&tok, p->auth_file, e) < 0)
		goto done;
	if (tok || p->auth_token)
		strv_pushf(&h, "Authorization:%s", tok ? tok : p->auth_token);
	if (own_client(&c, p, NULL, 2000, 3, e) < 0 ||
	    aws_call(c, &r, &resp, e) < 0)
		goto done;
	rc = creds_from_json(p, &resp, "the container credentials endpoint", e);
done:
	for (size_t i = 0; i < h.n; i++)
		explicit_bzero(h.v[i], strlen(h.v[i]));
	strv_release(&h);
	wipe_free(tok);
	aws_resp_release(&resp);
	aws_client_free(c);
	return rc;
}

static int imds_get(struct aws_client *c, const char *url, const char *token,
		    struct aws_resp *resp, struct err *e)
{
	struct strv h = STRV_INIT;
	struct aws_req r = {
		.service = "imds", .operation = "GET", .method = "GET",
		.proto = AWS_PROTO_REST_JSON, .url = url, .unsigned_req = true,
		.headers = &h,
	};
	int rc;

	strv_pushf(&h, "X-aws-ec2-metadata-token:%s", token);
	rc = aws_call(c, &r, resp, e);
	explicit_bzero(h.v[0], strlen(h.v[0]));
	strv_release(&h);
	return rc;
}

static int fetch_imds(struct aws_credp *p, struct err *e)
{
	struct aws_client *c = NULL;
	struct aws_resp resp;
	struct strv h = STRV_INIT;
	char *url = xasprintf("%s/latest/api/token", p->url), *token = NULL;
	char *role = NULL, *nl;
	struct aws_req r = {
		.service = "imds", .operation = "PUT token", .method = "PUT",
		.proto = AWS_PROTO_REST_JSON, .url = url, .unsigned_req = true,
		.headers = &h,
	};
	int rc = -1;

	aws_resp_init(&resp);
	strv_push(&h, "X-aws-ec2-metadata-token-ttl-seconds:" IMDS_TTL);
	if (own_client(&c, p, NULL, 1000, 1, e) < 0 ||
	    aws_call(c, &r, &resp, e) < 0)
		goto done;
	token = buf_detach(&resp.body, NULL);
	free(url);
	url = xasprintf("%s/latest/meta-data/iam/security-credentials/", p->url);
	if (imds_get(c, url, token, &resp, e) < 0)
		goto done;
	role = xstrndup(resp.body.ptr, resp.body.len);
	if ((nl = strchr(role, '\n')))
		*nl = '\0';
	if (!*role || strchr(role, '/')) {
		err_set(e, ERR_AUTH, "EC2 instance metadata: no instance "
			"profile role is attached");
		goto done;
	}
	free(url);
	url = xasprintf("%s/latest/meta-data/iam/security-credentials/%s",
			p->url, role);
	if (imds_get(c, url, token, &resp, e) < 0)
		goto done;
	rc = creds_from_json(p, &resp, "EC2 instance metadata", e);
done:
	if (rc < 0)
		err_wrap(e, "EC2 instance metadata (IMDSv2)");
	strv_release(&h);
	wipe_free(token);
	free(role);
	free(url);
	aws_resp_release(&resp);
	aws_client_free(c);
	return rc;
}

static int fetch(struct aws_credp *p, struct err *e)
{
	switch (p->kind) {
	case K_WEB_IDENTITY:
		return fetch_web_identity(p, e);
	case K_ASSUME_ROLE:
		return fetch_assume_role(p, e);
	case K_CONTAINER:
		return fetch_container(p, e);
	case K_IMDS:
		return fetch_imds(p, e);
	default:
		return err_set(e, ERR_AUTH, "credentials from %s have expired "
			       "and cannot be refreshed", p->source);
	}
}


/* A provider for profile name (and its source_profile, depth deep):
 * role_arn with web_identity_token_file, source_profile or
 * credential_source; else its static keys; NULL in *out when it has
 * neither. */
static int from_profile(struct aws_credp **out, struct aws_credp *p,
			const char *name, int depth, struct err *e);

static int container_or_imds(struct aws_credp **out, struct aws_credp *p,
			     bool imds, struct err *e)
{
	struct aws_chain_opts o;
	struct aws_credp *q;
	const char *rel = penv(p, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = penv(p, "AWS_CONTAINER_CREDENTIALS_FULL_URI");

	opts_of(&o, p);
	*out = NULL;
	if (!imds && (rel || full)) {
		q = credp_new(K_CONTAINER, &o);
		q->source = xstrdup("container-role");
		if (rel) {
			q->url = xasprintf(ECS_HOST "%s%s", rel[0] == '/' ? "" : "/",
					   rel);
		} else {
			if (!str_starts_with(full, "https://") &&
			    !str_starts_with(full, "http://127.") &&
			    !str_starts_with(full, "http://localhost") &&
			    !str_starts_with(full, "http://[::1]") &&
			    !str_starts_with(full, "http://169.254.170.2") &&
			    !str_starts_with(full, "http://169.254.170.23") &&
			    !str_starts_with(full, "http://[fd00:ec2::23]")) {
				aws_credp_free(q);
				return err_set(e, ERR_INVALID,
					       "AWS_CONTAINER_CREDENTIALS_FULL_URI "
					       "%s must be https, or http to a "
					       "loopback or the ECS/EKS link-local "
					       "address", full);
			}
			q->url = xstrdup(full);
			q->auth_file = dup0(penv(p,
				"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"));
			if (!q->auth_file)
				q->auth_token = dup0(penv(p,
					"AWS_CONTAINER_AUTHORIZATION_TOKEN"));
		}
		*out = q;
		return 0;
	}
	if (!imds)
		return 0;
	q = credp_new(K_IMDS, &o);
	q->source = xstrdup("iam-role");
	{
		const char *ep = penv(p, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
		size_t n = strlen(ep ? ep : IMDS_DEFAULT);

		while (n && (ep ? ep : IMDS_DEFAULT)[n - 1] == '/')
			n--;
		q->url = xstrndup(ep ? ep : IMDS_DEFAULT, n);
	}
	*out = q;
	return 0;
}

static char *default_session(void)
{
	return xasprintf("gantry-session-%lld", (long long)time(NULL));
}

static int profile_role(struct aws_credp **out, struct aws_credp *p,
			const struct aws_profile *pr, int depth,
			struct err *e)
{
	const char *role = aws_profile_get(pr, "role_arn");
	const char *session = aws_profile_get(pr, "role_session_name");
	const char *tf = aws_profile_get(pr, "web_identity_token_file");
	const char *sp = aws_profile_get(pr, "source_profile");
	const char *cs = aws_profile_get(pr, "credential_source");
	const char *dur = aws_profile_get(pr, "duration_seconds");
	struct aws_chain_opts o;
	struct aws_credp *src = NULL;
	char *sess = session ? xstrdup(session) : default_session();
	long duration = 0;
	int rc = -1;

	opts_of(&o, p);
	if (dur && (str_to_long(dur, &duration) < 0 || duration < 900)) {
		err_set(e, ERR_INVALID, "profile %s: duration_seconds '%s' is "
			"not a number of seconds from 900", pr->name, dur);
		goto done;
	}
	if (tf) {
		struct aws_credp *q;

		aws_credp_web_identity(&q, &o, role, sess, duration, NULL, NULL);
		q->token_file = xstrdup(tf);
		*out = q;
		rc = 0;
		goto done;
	}
	if (sp && cs) {
		err_set(e, ERR_INVALID, "profile %s has both source_profile "
			"and credential_source; keep one", pr->name);
		goto done;
	}
	if (sp) {
		if (depth >= PROFILE_DEPTH_MAX) {
			err_set(e, ERR_INVALID, "profile %s: source_profile "
				"chain deeper than %d (a loop?)", pr->name,
				PROFILE_DEPTH_MAX);
			goto done;
		}
		if (from_profile(&src, p, sp, depth + 1, e) < 0)
			goto done;
		if (!src) {
			err_set(e, ERR_AUTH, "profile %s: its source_profile "
				"%s has no credentials", pr->name, sp);
			goto done;
		}
	} else if (cs && strcmp(cs, "Environment") == 0) {
		struct aws_creds c = {
			.access_key_id = (char *)penv(p, "AWS_ACCESS_KEY_ID"),
			.secret_access_key =
				(char *)penv(p, "AWS_SECRET_ACCESS_KEY"),
			.session_token = (char *)penv(p, "AWS_SESSION_TOKEN"),
		};

		if (!c.access_key_id || !c.secret_access_key) {
			err_set(e, ERR_AUTH, "profile %s: credential_source "
				"Environment, but AWS_ACCESS_KEY_ID or "
				"AWS_SECRET_ACCESS_KEY is not set", pr->name);
			goto done;
		}
		aws_credp_static(&src, &c, "environment");
	} else if (cs && (strcmp(cs, "Ec2InstanceMetadata") == 0 ||
			  strcmp(cs, "EcsContainer") == 0)) {
		if (container_or_imds(&src, p,
				      strcmp(cs, "Ec2InstanceMetadata") == 0, e) < 0)
			goto done;
		if (!src) {
			err_set(e, ERR_AUTH, "profile %s: credential_source "
				"EcsContainer, but no AWS_CONTAINER_CREDENTIALS_"
				"*_URI is set", pr->name);
			goto done;
		}
	} else {
		err_set(e, ERR_INVALID, "profile %s has role_arn but no "
			"source_profile, credential_source or "
			"web_identity_token_file%s%s", pr->name,
			cs ? "; unknown credential_source " : "", cs ? cs : "");
		goto done;
	}
	aws_credp_assume_role(out, &o, src, role, sess, duration,
			      aws_profile_get(pr, "external_id"));
	(*out)->own_src = true;
	src = NULL;
	rc = 0;
done:
	aws_credp_free(src);
	free(sess);
	return rc;
}

static int from_profile(struct aws_credp **out, struct aws_credp *p,
			const char *name, int depth, struct err *e)
{
	struct aws_profile pr;
	struct aws_creds c = { 0 };
	int rc = -1;

	*out = NULL;
	if (aws_profile_load(&pr, p->has_env ? &p->env : NULL, name, e) < 0)
		return -1;
	if (aws_profile_get(&pr, "role_arn")) {
		rc = profile_role(out, p, &pr, depth, e);
		goto done;
	}
	c.access_key_id = (char *)aws_profile_get(&pr, "aws_access_key_id");
	c.secret_access_key =
		(char *)aws_profile_get(&pr, "aws_secret_access_key");
	c.session_token = (char *)aws_profile_get(&pr, "aws_session_token");
	if (c.access_key_id && c.secret_access_key)
		aws_credp_static(out, &c, "shared-credentials-file");
	else if (c.access_key_id || c.secret_access_key) {
		err_set(e, ERR_INVALID, "profile %s has only one of "
			"aws_access_key_id and aws_secret_access_key", pr.name);
		goto done;
	}
	rc = 0;
done:
	aws_profile_release(&pr);
	return rc;
}

static int chain_resolve(struct aws_credp *p, struct err *e)
{
	const char *ak = penv(p, "AWS_ACCESS_KEY_ID");
	const char *sk = penv(p, "AWS_SECRET_ACCESS_KEY");
	const char *tf = penv(p, "AWS_WEB_IDENTITY_TOKEN_FILE");
	const char *role = penv(p, "AWS_ROLE_ARN");
	const char *disabled = penv(p, "AWS_EC2_METADATA_DISABLED");
	const char *name = aws_profile_name(p->has_env ? &p->env : NULL,
					    p->profile);
	struct aws_chain_opts o;
	struct aws_profile pr;

	opts_of(&o, p);
	if (ak && sk) {
		struct aws_creds c = {
			.access_key_id = (char *)ak,
			.secret_access_key = (char *)sk,
			.session_token = (char *)penv(p, "AWS_SESSION_TOKEN"),
		};

		aws_credp_static(&p->resolved, &c, "environment");
		return 0;
	}
	if (ak || sk)
		return err_set(e, ERR_INVALID, "%s is set but %s is not",
			       ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
			       ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
	if (aws_profile_load(&pr, p->has_env ? &p->env : NULL, name, e) < 0)
		return -1;
	if (!pr.found && (p->profile || penv(p, "AWS_PROFILE"))) {
		aws_profile_release(&pr);
		return err_set(e, ERR_NOT_FOUND, "the AWS profile '%s' is in "
			       "neither the config nor the credentials file",
			       name);
	}
	if (aws_profile_get(&pr, "role_arn")) {
		int rc = profile_role(&p->resolved, p, &pr, 0, e);

		aws_profile_release(&pr);
		return rc;
	}
	aws_profile_release(&pr);
	if (tf || role) {
		const char *sess = penv(p, "AWS_ROLE_SESSION_NAME");
		char *s = sess ? xstrdup(sess) : default_session();

		if (!tf || !role) {
			free(s);
			return err_set(e, ERR_INVALID, "%s is set but %s is not",
				       tf ? "AWS_WEB_IDENTITY_TOKEN_FILE" :
				       "AWS_ROLE_ARN",
				       tf ? "AWS_ROLE_ARN" :
				       "AWS_WEB_IDENTITY_TOKEN_FILE");
		}
		aws_credp_web_identity(&p->resolved, &o, role, s, 0, NULL, NULL);
		p->resolved->token_file = xstrdup(tf);
		free(s);
		return 0;
	}
	if (from_profile(&p->resolved, p, name, 0, e) < 0)
		return -1;
	if (p->resolved)
		return 0;
	if (container_or_imds(&p->resolved, p, false, e) < 0)
		return -1;
	if (p->resolved)
		return 0;
	if (!(disabled && str_casecmp(disabled, "true") == 0)) {
		struct err ie = ERR_INIT;
		struct aws_creds c;

		if (container_or_imds(&p->resolved, p, true, e) < 0)
			return -1;
		p->resolved->margin = p->margin;
		if (aws_credp_get(p->resolved, &c, &ie) == 0) {
			aws_creds_release(&c);
			return 0;
		}
		aws_credp_free(p->resolved);
		p->resolved = NULL;
		return err_set(e, ERR_NOT_FOUND, "no AWS credentials found: no "
			       "AWS_ACCESS_KEY_ID, no AWS_WEB_IDENTITY_TOKEN_FILE, "
			       "no keys or role in profile '%s', no container "
			       "credentials, and %s", name, ie.msg);
	}
	return err_set(e, ERR_NOT_FOUND, "no AWS credentials found: no "
		       "AWS_ACCESS_KEY_ID, no AWS_WEB_IDENTITY_TOKEN_FILE, no "
		       "keys or role in profile '%s', no container credentials, "
		       "and instance metadata is disabled "
		       "(AWS_EC2_METADATA_DISABLED)", name);
}

int aws_credp_get(struct aws_credp *p, struct aws_creds *out, struct err *e)
{
	long long now = (long long)time(NULL);
	int rc = -1;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&p->lock);
	if (p->kind == K_CHAIN) {
		if (!p->resolved && chain_resolve(p, e) < 0)
			goto done;
		p->resolved->margin = p->margin;
		pthread_mutex_unlock(&p->lock);
		return aws_credp_get(p->resolved, out, e);
	}
	if (!p->have || (p->cur.expiration &&
			 p->cur.expiration - p->margin <= now)) {
		if (p->kind == K_STATIC && p->have) {
			if (p->cur.expiration > now) {
				aws_creds_copy(out, &p->cur);
				rc = 0;
				goto done;
			}
		}
		if (fetch(p, e) < 0) {
			/* a refresh ahead of time that fails: the credentials
			 * held are still good until they expire */
			if (p->have && p->cur.expiration > now) {
				aws_creds_copy(out, &p->cur);
				rc = 0;
			}
			goto done;
		}
		p->have = true;
		p->fetches++;
	}
	aws_creds_copy(out, &p->cur);
	rc = 0;
done:
	pthread_mutex_unlock(&p->lock);
	return rc;
}
