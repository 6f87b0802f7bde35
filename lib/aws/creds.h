/*
 * creds: where AWS credentials come from, cached and refreshed.
 *
 * A provider hands out a copy of its credentials and gets new ones when
 * they are within the refresh margin (5 minutes) of expiring, so a job
 * longer than the credentials' lifetime keeps working. Providers are
 * thread-safe. The default chain walks the sources in the order of AWS's
 * SDKs (botocore's):
 *   1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 *      AWS_SESSION_TOKEN;
 *   2. the profile's role_arn, from source_profile (its keys, or its own
 *      role, 4 deep at most) or credential_source (Environment,
 *      Ec2InstanceMetadata, EcsContainer), by sts:AssumeRole;
 *   3. web identity: AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN and
 *      AWS_ROLE_SESSION_NAME (or the profile's web_identity_token_file
 *      and role_arn), by sts:AssumeRoleWithWebIdentity, the token file
 *      read again at every refresh;
 *   4. the profile's aws_access_key_id / aws_secret_access_key /
 *      aws_session_token (credentials file, then config file);
 *   5. ECS container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
 *      (on 169.254.170.2), or AWS_CONTAINER_CREDENTIALS_FULL_URI (https,
 *      or http to a loopback or the ECS/EKS link-local address) with
 *      AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE) as Authorization;
 *   6. EC2 instance metadata, IMDSv2 only (a session token first), at
 *      AWS_EC2_METADATA_SERVICE_ENDPOINT or 169.254.169.254, unless
 *      AWS_EC2_METADATA_DISABLED is true.
 * The chain settles on the first source that is configured; a source that
 * is configured and fails is an error (it does not fall through), as in
 * the SDKs. Secrets never appear in messages; aws_creds_release wipes.
 */
#ifndef GANTRY_AWS_CREDS_H
#define GANTRY_AWS_CREDS_H

#include "aws.h"

#define AWS_REFRESH_MARGIN 300

struct aws_credp;

/* Where the chain's own calls go (STS, credential endpoints). */
struct aws_chain_opts {
	const struct strv *env;		/* NULL: the process's */
	const char *profile;		/* NULL: AWS_PROFILE or "default" */
	const char *region;		/* NULL: from env / profile */
	const char *endpoint_url;	/* for the chain's STS calls */
	int max_attempts;		/* 0: as aws_client */
	long backoff_base_ms;		/* 0: as aws_client */
};

/* Fetch a web identity token (a JWT) anew; *out owned. */
typedef int (*aws_token_fn)(char **out, void *arg, struct err *e);

void aws_creds_copy(struct aws_creds *dst, const struct aws_creds *src);
void aws_creds_release(struct aws_creds *c);

/* Fixed credentials (copied). */
void aws_credp_static(struct aws_credp **out, const struct aws_creds *c,
		      const char *source);
/* The default chain above; resolved at the first aws_credp_get. */
void aws_credp_chain(struct aws_credp **out, const struct aws_chain_opts *o);
/* sts:AssumeRoleWithWebIdentity with a token from fn, for the action;
 * duration 0: STS's default. */
void aws_credp_web_identity(struct aws_credp **out,
			    const struct aws_chain_opts *o,
			    const char *role_arn, const char *session_name,
			    long duration, aws_token_fn fn, void *fn_arg);
/* sts:AssumeRole with credentials from source (borrowed; must outlive
 * the new provider), for role chaining. */
void aws_credp_assume_role(struct aws_credp **out,
			   const struct aws_chain_opts *o,
			   struct aws_credp *source, const char *role_arn,
			   const char *session_name, long duration,
			   const char *external_id);
void aws_credp_free(struct aws_credp *p);

/* A copy of valid credentials into out (caller releases), refreshed when
 * they expire within the margin. */
int aws_credp_get(struct aws_credp *p, struct aws_creds *out, struct err *e);
/* Where the last credentials came from: "environment", "assume-role",
 * "web-identity", "shared-credentials-file", "config-file",
 * "container-role", "iam-role", or the static provider's source. */
const char *aws_credp_source(const struct aws_credp *p);
/* How many times credentials were fetched (tests, logs). */
int aws_credp_fetches(const struct aws_credp *p);
/* Change the refresh margin (seconds; tests). */
void aws_credp_set_margin(struct aws_credp *p, long long seconds);

#endif
