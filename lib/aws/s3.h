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

/* The endpoint (owned) and decoded path (owned) of bucket/key, as the
 * addressing rules above say; for requests made with aws_xfer. */
int aws_s3_address(char **endpoint, char **path, struct aws_client *c,
		   const char *bucket, const char *key, struct err *e);

struct aws_s3_obj {
	char *key;		/* owned, whole key */
	long long size;
	long long mtime;	/* LastModified, unix seconds */
	char etag[80];		/* without quotes; "md5hex" or "md5hex-N" */
};

struct aws_s3_list {
	struct aws_s3_obj *v;	/* owned, in S3's order (UTF-8 bytes) */
	size_t n, alloc;
	int pages;
};

/* Every object under prefix (ListObjectsV2, 1,000 a page, following
 * continuation tokens). All or nothing: a failed page, an answer that
 * does not parse, or a truncated listing without a token is an error,
 * and out is empty then, so that no one acts on half a listing. */
int aws_s3_list(struct aws_s3_list *out, struct aws_client *c,
		const char *bucket, const char *prefix, struct err *e);
void aws_s3_list_release(struct aws_s3_list *l);


/* ListBuckets: "CreationDate-unix-seconds name" entries in out. */
int aws_s3_list_buckets(struct strv *out, struct aws_client *c, struct err *e);

/* HeadObject: the object's headers in resp->headers (x-amz-meta-*). */
int aws_s3_head(struct aws_client *c, const char *bucket, const char *key,
		struct aws_resp *resp, struct err *e);

/* DeleteObjects, 1,000 keys a request (Content-MD5); a key S3 reports
 * in <Error> is an error naming it. *deleted counts what went. */
int aws_s3_delete(struct aws_client *c, const char *bucket,
		  const char *const *keys, size_t n, size_t *deleted,
		  struct err *e);

/* Multipart: create (the upload ID, owned), complete (parts' ETags in
 * order, "etag" each), abort. */
int aws_s3_mpu_create(char **upload_id, struct aws_client *c,
		      const char *bucket, const char *key,
		      const struct strv *headers, struct err *e);
int aws_s3_mpu_complete(struct aws_client *c, const char *bucket,
			const char *key, const char *upload_id,
			const struct strv *etags, struct err *e);
int aws_s3_mpu_abort(struct aws_client *c, const char *bucket,
		     const char *key, const char *upload_id, struct err *e);

/* Base64 MD5 (for Content-MD5) of len bytes of fd from off; -1 when the
 * file cannot be read. */
int aws_s3_md5_b64(char out[32], int fd, long long off, long long len);

#endif
