/*
 * sts: AWS STS calls (see sts.h).
 */
#include <stdlib.h>
#include <string.h>

#include "../util.h"
#include "creds.h"
#include "sts.h"

#define DURATION_MIN 900
#define DURATION_MAX 43200

int aws_sts_check_session_name(const char *name, struct err *e)
{
	size_t n = name ? strlen(name) : 0;

	if (n < 2 || n > 64)
		return err_set(e, ERR_INVALID, "role session name '%s' must be "
			       "2 to 64 characters long (it is %zu)",
			       name ? name : "", n);
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || strchr("_+=,.@-", ch)))
			return err_set(e, ERR_INVALID, "role session name '%s' "
				       "may hold only letters, digits and "
				       "_+=,.@- (not '%c')", name, ch);
	}
	return 0;
}

static char *dup_text(const struct xml *n, const char *path)
{
	const char *t = xml_text(n, path);

	return t ? xstrdup(t) : NULL;
}

/* <Credentials><AccessKeyId/><SecretAccessKey/><SessionToken/>
 * <Expiration/></Credentials> */
static int read_creds(struct aws_creds *out, const struct xml *result,
		      const char *what, struct err *e)
{
	const struct xml *cr = xml_find(result, "Credentials");
	const char *exp = cr ? xml_text(cr, "Expiration") : NULL;

	memset(out, 0, sizeof(*out));
	if (!cr || !xml_text(cr, "AccessKeyId") ||
	    !xml_text(cr, "SecretAccessKey") || !xml_text(cr, "SessionToken") ||
	    !exp || aws_time_parse(&out->expiration, exp) < 0)
		return err_set(e, ERR_REMOTE, "sts %s: the answer's "
			       "<Credentials> are incomplete", what);
	out->access_key_id = dup_text(cr, "AccessKeyId");
	out->secret_access_key = dup_text(cr, "SecretAccessKey");
	out->session_token = dup_text(cr, "SessionToken");
	return 0;
}

static int check_duration(long duration, struct err *e)
{
	if (duration && (duration < DURATION_MIN || duration > DURATION_MAX))
		return err_set(e, ERR_INVALID, "role duration %ld s is outside "
			       "%d to %d seconds", duration, DURATION_MIN,
			       DURATION_MAX);
	return 0;
}

/* RoleArn, RoleSessionName, DurationSeconds, checked before any call. */
static int role_params(struct strv *p, const char *role_arn,
		       const char *session_name, long duration, struct err *e)
{
	if (aws_sts_check_session_name(session_name, e) < 0 ||
	    check_duration(duration, e) < 0)
		return -1;
	strv_pushf(p, "RoleArn=%s", role_arn);
	strv_pushf(p, "RoleSessionName=%s", session_name);
	if (duration)
		strv_pushf(p, "DurationSeconds=%ld", duration);
	return 0;
}

static int assume(struct aws_sts_role *out, struct aws_client *c,
		  const char *action, struct strv *params, bool sign,
		  struct aws_resp *resp, struct err *e)
{
	struct xml *root = NULL;
	const struct xml *res;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (aws_query_call(c, "sts", action, AWS_STS_VERSION, params, sign,
			   &root, &res, resp, e) < 0)
		goto done;
	if (read_creds(&out->creds, res, action, e) < 0)
		goto done;
	out->arn = dup_text(res, "AssumedRoleUser/Arn");
	out->assumed_role_id = dup_text(res, "AssumedRoleUser/AssumedRoleId");
	out->subject = dup_text(res, "SubjectFromWebIdentityToken");
	out->audience = dup_text(res, "Audience");
	out->provider = dup_text(res, "Provider");
	rc = 0;
done:
	if (rc < 0)
		aws_sts_role_release(out);
	xml_free(root);
	return rc;
}

int aws_sts_assume_role_with_web_identity(struct aws_sts_role *out,
					  struct aws_client *c,
					  const char *role_arn,
					  const char *session_name,
					  const char *token, long duration,
					  struct aws_resp *resp, struct err *e)
{
	struct strv p = STRV_INIT;
	int rc;

	memset(out, 0, sizeof(*out));
	if (role_params(&p, role_arn, session_name, duration, e) < 0)
		return -1;
	strv_pushf(&p, "WebIdentityToken=%s", token);
	rc = assume(out, c, "AssumeRoleWithWebIdentity", &p, false, resp, e);
	strv_release(&p);
	return rc;
}

int aws_sts_assume_role(struct aws_sts_role *out, struct aws_client *c,
			const char *role_arn, const char *session_name,
			long duration, const char *external_id,
			struct aws_resp *resp, struct err *e)
{
	struct strv p = STRV_INIT;
	int rc;

	memset(out, 0, sizeof(*out));
	if (role_params(&p, role_arn, session_name, duration, e) < 0)
		return -1;
	if (external_id && *external_id)
		strv_pushf(&p, "ExternalId=%s", external_id);
	rc = assume(out, c, "AssumeRole", &p, true, resp, e);
	strv_release(&p);
	return rc;
}

int aws_sts_get_caller_identity(struct aws_identity *out,
				struct aws_client *c, struct aws_resp *resp,
				struct err *e)
{
	struct xml *root = NULL;
	const struct xml *res;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (aws_query_call(c, "sts", "GetCallerIdentity", AWS_STS_VERSION,
			   NULL, true, &root, &res, resp, e) < 0)
		goto done;
	out->user_id = dup_text(res, "UserId");
	out->account = dup_text(res, "Account");
	out->arn = dup_text(res, "Arn");
	if (!out->account || !out->arn) {
		err_set(e, ERR_REMOTE, "sts GetCallerIdentity: the answer has "
			"no Account or Arn");
		aws_identity_release(out);
		goto done;
	}
	rc = 0;
done:
	xml_free(root);
	return rc;
}

void aws_sts_role_release(struct aws_sts_role *r)
{
	aws_creds_release(&r->creds);
	free(r->arn);
	free(r->assumed_role_id);
	free(r->subject);
	free(r->audience);
	free(r->provider);
	memset(r, 0, sizeof(*r));
}

void aws_identity_release(struct aws_identity *id)
{
	free(id->user_id);
	free(id->account);
	free(id->arn);
	memset(id, 0, sizeof(*id));
}
