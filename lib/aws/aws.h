/*
 * aws: the client core every AWS call of gantry goes through.
 *
 * A client knows a region, where each service's endpoint is, how to get
 * credentials (a provider, lib/aws/creds.h) and how to retry. One call is
 * signed (SigV4, lib/aws/sigv4.h) anew on every attempt, sent with libcurl
 * (one easy handle per client, so connections are reused; TLS verification
 * always on; proxy variables of the client's environment), and retried as
 * AWS's "standard" retry mode does: throttling codes, 500/502/503/504,
 * transient codes and connection errors, exponential backoff with full
 * jitter (random(0,1) x min(base x 2^attempt, 20 s)), max_attempts in all.
 *
 * An error from a service becomes a struct err whose message reads
 * "<service> <operation>: <Code>: <Message> (HTTP <status>, request ID
 * <id>)", with the code mapped to an err_code (ERR_AUTH for refused
 * credentials, ERR_NOT_FOUND, ERR_INVALID for validation, ERR_REMOTE for
 * the rest); the parts stay available in struct aws_resp. Messages never
 * hold a credential: requests are described by service and operation.
 *
 * The environment a client reads (AWS_REGION, AWS_ENDPOINT_URL_*, proxy
 * variables, AWS_MAX_ATTEMPTS ...) is the one given (a job's), or the
 * process's when none is.
 */
#ifndef GANTRY_AWS_H
#define GANTRY_AWS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "../buf.h"
#include "../err.h"
#include "../strv.h"
#include "../xml.h"
#include "sigv4.h"

struct aws_credp;	/* lib/aws/creds.h */
struct aws_client;	/* opaque */

/* Bodies of answers are capped at this (S3 objects are streamed, later). */
#define AWS_RESP_MAX (64u << 20)

enum aws_proto {
	AWS_PROTO_QUERY,	/* form POST, XML answers (STS) */
	AWS_PROTO_JSON,		/* JSON 1.1, X-Amz-Target (ECR, ECS) */
	AWS_PROTO_REST_XML,	/* S3, CloudFront */
	AWS_PROTO_REST_JSON,	/* credential endpoints: plain JSON */
};

struct aws_client_opts {
	const struct strv *env;		/* NAME=VALUE; NULL: the process's */
	const char *region;		/* NULL: AWS_REGION, AWS_DEFAULT_REGION,
					 * the profile's region */
	const char *profile;		/* NULL: AWS_PROFILE or "default" */
	const char *endpoint_url;	/* for every service (--endpoint-url) */
	struct aws_credp *creds;	/* borrowed; NULL: unsigned calls only */
	int max_attempts;		/* 0: AWS_MAX_ATTEMPTS, else 3 */
	long backoff_base_ms;		/* 0: 1000 */
	long connect_timeout_ms;	/* 0: 10 s */
	long timeout_ms;		/* 0: 60 s for a whole attempt */
	const char *ca_bundle;		/* NULL: AWS_CA_BUNDLE, else system */
};

int aws_client_new(struct aws_client **out, const struct aws_client_opts *o,
		   struct err *e);
void aws_client_free(struct aws_client *c);
const char *aws_client_region(const struct aws_client *c); /* maybe NULL */
/* NAME's value in the client's environment, or NULL. Borrowed. */
const char *aws_client_getenv(const struct aws_client *c, const char *name);

/* One request. Everything borrowed. */
struct aws_req {
	const char *service;	/* endpoint id: "sts", "s3", "ecr" ... */
	const char *signing_name; /* NULL: service */
	const char *operation;	/* for messages: "GetCallerIdentity" */
	enum aws_proto proto;	/* how an error answer is read */
	const char *method;
	const char *path;	/* decoded, as for aws_sigv4_sign; NULL: "/" */
	const char *query;	/* encoded; NULL: none */
	const struct strv *headers; /* "Name:value"; may be NULL */
	const void *body;
	size_t body_len;
	/* hex SHA-256 of the body, or AWS_UNSIGNED_PAYLOAD (a body sent from
	 * a file, S3 only); NULL: computed from body */
	const char *payload_hash;
	bool unsigned_req;	/* no signature (AssumeRoleWithWebIdentity) */
	bool s3;		/* S3's signing rules */
	const char *url;	/* a whole URL instead of the service's
				 * endpoint + path (credential endpoints) */
	const char *endpoint;	/* instead of the service's endpoint (S3's
				 * virtual-hosted bucket), signed as usual */
};

struct aws_resp {
	long status;		/* 0 when no answer came */
	struct buf body;
	struct strv headers;	/* "name:value", names lower-cased */
	char *request_id;	/* owned; NULL when none */
	char *code;		/* owned: the service's error code */
	char *message;		/* owned: the service's error message */
	int attempts;
};

void aws_resp_init(struct aws_resp *r);
void aws_resp_release(struct aws_resp *r);
const char *aws_resp_header(const struct aws_resp *r, const char *name);

/* Send r, retrying as described above. 0 on a 2xx answer; -1 otherwise,
 * with resp filled as far as it got and e set. */
int aws_call(struct aws_client *c, const struct aws_req *r,
	     struct aws_resp *resp, struct err *e);

/* The query protocol: Action=action&Version=version&params... (params
 * "Name=value", decoded) as a form POST; the answer's <...Result>
 * element's tree in *result (the caller frees *root). resp may be NULL
 * when the caller does not need the answer's details. */
int aws_query_call(struct aws_client *c, const char *service,
		   const char *action, const char *version,
		   const struct strv *params, bool sign, struct xml **root,
		   const struct xml **result, struct aws_resp *resp,
		   struct err *e);

/* JSON 1.1: POST / with X-Amz-Target: target, body a JSON object; the
 * answer object in *out (a new reference). */
int aws_json_call(struct aws_client *c, const char *service,
		  const char *signing_name, const char *target,
		  const json_t *body, json_t **out, struct aws_resp *resp,
		  struct err *e);

/* Read an error answer's code and message (and request ID, when the
 * body has one) into resp; for any protocol, any body, never failing. */
void aws_error_parse(struct aws_resp *resp, enum aws_proto proto);

/* Whether an answer (status, code) or a transport failure (status 0) is
 * worth another attempt under the standard retry mode. */
bool aws_retryable(long status, const char *code);

/* The endpoint of service: AWS_ENDPOINT_URL_<SERVICE> (upper case),
 * AWS_ENDPOINT_URL, the client's endpoint_url, else AWS's for the region
 * ("https://sts.eu-west-1.amazonaws.com", ".amazonaws.com.cn" in China,
 * CloudFront's global one). Owned, without a trailing '/'. -1
 * (ERR_INVALID) when no region is known and the service needs one. */
int aws_endpoint(char **out, const struct aws_client *c, const char *service,
		 struct err *e);
/* The region to sign service's requests for (CloudFront: us-east-1). */
const char *aws_signing_region(const struct aws_client *c,
			       const char *service);

/* NAME's value in env (NAME=VALUE entries), or in the process's
 * environment when env is NULL; NULL when unset. Borrowed. */
const char *aws_getenv(const struct strv *env, const char *name);

/* An ISO 8601 UTC time as AWS writes it ("2026-11-22T16:00:00Z", with
 * or without fractional seconds, "Z" or "+00:00") into unix seconds. */
int aws_time_parse(long long *out, const char *s);

/* Append "Name=value" pairs, form-encoded and joined with '&'. */
void aws_form_encode(struct buf *b, const struct strv *params);

#endif
