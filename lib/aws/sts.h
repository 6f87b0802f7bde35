/*
 * sts: the AWS Security Token Service calls gantry makes (query protocol,
 * version 2011-06-15): AssumeRoleWithWebIdentity (unsigned: the token is
 * the credential), AssumeRole (signed by the client's credentials, for
 * role chaining and profiles' role_arn) and GetCallerIdentity.
 * Credentials returned are the caller's to release (aws_creds_release);
 * they never appear in an error message.
 */
#ifndef GANTRY_AWS_STS_H
#define GANTRY_AWS_STS_H

#include "aws.h"

#define AWS_STS_VERSION "2011-06-15"

struct aws_sts_role {
	struct aws_creds creds;		/* owned */
	char *arn;			/* owned: the assumed role's ARN */
	char *assumed_role_id;		/* owned: "AROA...:session" */
	char *subject;			/* owned: web identity only, or NULL */
	char *audience;			/* owned: web identity only, or NULL */
	char *provider;			/* owned: web identity only, or NULL */
};

struct aws_identity {
	char *user_id;			/* owned */
	char *account;			/* owned */
	char *arn;			/* owned */
};

/* The role session name's rules, checked before any call: 2 to 64 of
 * [A-Za-z0-9_+=,.@-]. -1 (ERR_INVALID) saying which rule failed. */
int aws_sts_check_session_name(const char *name, struct err *e);

int aws_sts_assume_role_with_web_identity(struct aws_sts_role *out,
					  struct aws_client *c,
					  const char *role_arn,
					  const char *session_name,
					  const char *token, long duration,
					  struct aws_resp *resp, struct err *e);
int aws_sts_assume_role(struct aws_sts_role *out, struct aws_client *c,
			const char *role_arn, const char *session_name,
			long duration, const char *external_id,
			struct aws_resp *resp, struct err *e);
int aws_sts_get_caller_identity(struct aws_identity *out,
				struct aws_client *c, struct aws_resp *resp,
				struct err *e);

void aws_sts_role_release(struct aws_sts_role *r);
void aws_identity_release(struct aws_identity *id);

#endif
