/*
 * s3: the S3 calls gantry makes so far (REST-XML): PutObject with
 * Content-MD5 and x-amz-content-sha256, and GetObject. Addressing is
 * virtual-hosted (https://BUCKET.s3.REGION.amazonaws.com/KEY) on AWS's
 * own endpoints and path-style (ENDPOINT/BUCKET/KEY) on an endpoint given
 * by AWS_ENDPOINT_URL(_S3) or --endpoint-url, or when the bucket name has
 * a dot (TLS names), or when AWS_S3_FORCE_PATH_STYLE is true.
 */
#ifndef GANTRY_AWS_S3_H
#define GANTRY_AWS_S3_H

#include "aws.h"

struct aws_s3_put {
	const char *bucket;
	const char *key;		/* without a leading '/' */
	const void *body;
	size_t len;
	const char *content_type;	/* NULL: binary/octet-stream */
	const char *cache_control;	/* NULL: none */
};

/* "s3://bucket/prefix" into bucket and prefix (without a trailing '/';
 * "" when none). -1 (ERR_INVALID) naming the URL otherwise. Owned. */
int aws_s3_url_parse(char **bucket, char **prefix, const char *url,
		     struct err *e);

int aws_s3_put_object(struct aws_client *c, const struct aws_s3_put *p,
		      struct aws_resp *resp, struct err *e);
/* The object's body into resp->body. */
int aws_s3_get_object(struct aws_client *c, const char *bucket,
		      const char *key, struct aws_resp *resp, struct err *e);

#endif
