/*
 * sigv4: AWS Signature Version 4, on OpenSSL (HMAC-SHA256, SHA-256).
 *
 * One call signs one request, either in the Authorization header or as a
 * presigned URL (the signature in the query string). The request is given
 * as it will be sent, except for the path, which is given decoded (raw
 * bytes, as on the vectors' request lines: "/example space/", "/ሴ"); the
 * signer encodes it (aws_uri_encode) and the caller sends the same encoded
 * form, which aws_sigv4_wire_path() gives. Rules that always hold:
 * - query parameters are sorted by encoded name, then value; every name and
 *   value is decoded from the given query and encoded again the AWS way
 *   ('+' is a literal plus: send a space as %20; "a" alone reads "a=");
 * - header names are lower-cased, values trimmed and inner runs of spaces
 *   folded (tabs and line breaks count as spaces, so a value continued on
 *   several lines reads as one); duplicate names joined with ',' in the
 *   order given;
 * - with normalize (every service but S3) the path's dot segments are
 *   resolved, empty segments dropped ("//a//" is "/a/") and the path
 *   encoded twice, as the service re-encodes the path it receives; without
 *   it (S3) none of this happens and the signed path is the wire path.
 *   (AWS's published vectors encode once even with normalize, reading the
 *   request line as the wire path: see "twice" in tests/unit/sigv4.c.)
 * - the secret key and session token never appear in an error message.
 */
#ifndef GANTRY_AWS_SIGV4_H
#define GANTRY_AWS_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "../buf.h"
#include "../err.h"
#include "../strv.h"

/* Credentials. Strings owned by whoever filled the struct. */
struct aws_creds {
	char *access_key_id;
	char *secret_access_key;
	char *session_token;	/* NULL (or "") for long-term keys */
	long long expiration;	/* unix seconds; 0: does not expire */
};

enum aws_sigv4_mode {
	AWS_SIGV4_HEADER,	/* Authorization header */
	AWS_SIGV4_QUERY,	/* presigned URL: X-Amz-* in the query */
};

#define AWS_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

/* What to sign. Everything borrowed. */
struct aws_sigv4_req {
	const char *method;		/* "GET" */
	const char *path;		/* decoded: "/", "/bucket/a b+c" */
	const char *query;		/* after '?', encoded as sent; NULL or "" */
	const struct strv *headers;	/* "Name:value" each; must hold Host */
	const void *body;		/* may be NULL when body_len is 0 */
	size_t body_len;
	/* hex SHA-256 of the body, or AWS_UNSIGNED_PAYLOAD, used as given;
	 * NULL: computed from body (an empty body's hash when body is NULL) */
	const char *payload_hash;
};

struct aws_sigv4_params {
	const struct aws_creds *creds;
	const char *region;		/* "us-east-1" */
	const char *service;		/* signing name: "sts", "s3", "ecr" */
	time_t now;			/* the request's time, UTC */
	enum aws_sigv4_mode mode;
	bool normalize;			/* false for S3 */
	/* S3: send x-amz-content-sha256 (header mode), signed; the payload
	 * hash is in the canonical request either way; no effect in query
	 * mode */
	bool content_sha256_header;
	long expires;			/* query mode: X-Amz-Expires, seconds,
					 * 1..604800 */
};

/* The result. All owned; release with aws_sigv4_out_release. */
struct aws_sigv4_out {
	char *canonical_request;
	char *string_to_sign;
	char signature[65];		/* lower-case hex */
	/* header mode: "Name:value" to add to the request, in this order:
	 * X-Amz-Date, [X-Amz-Security-Token], [x-amz-content-sha256],
	 * Authorization. Query mode: empty. */
	struct strv add_headers;
	/* query mode: the whole query string to send: the canonical query
	 * (given and X-Amz-* parameters, sorted, encoded), then
	 * "&X-Amz-Signature=..." last; header mode: the given query with its
	 * parameters sorted and encoded ("" when none). Never NULL after
	 * success. */
	char *query;
};

/* Sign. out is filled from scratch (whatever it held is not freed).
 * -1 (ERR_INVALID) for a request that cannot be signed (no Host header, a
 * missing credential, a malformed query escape; also: a header or query
 * parameter the signer sets itself given as well, a path not starting
 * with '/', body NULL with body_len, expires out of range in query mode);
 * out is then left empty (zeroed; releasing it is harmless). The
 * credentials' expiration is not checked here. */
int aws_sigv4_sign(struct aws_sigv4_out *out, const struct aws_sigv4_req *req,
		   const struct aws_sigv4_params *p, struct err *e);
void aws_sigv4_out_release(struct aws_sigv4_out *out);

/* The path as it goes on the wire: each byte but unreserved ones
 * (A-Z a-z 0-9 - . _ ~) and '/' as %XX, upper-case hex, once; NULL or ""
 * is "/". Owned. Send it as it is: curl resolves "/./" and "/../" itself
 * unless CURLOPT_PATH_AS_IS is set, and S3 signs them unresolved. */
char *aws_sigv4_wire_path(const char *path);

/* Append s[0..n) to b, encoded the SigV4 way (unreserved bytes kept,
 * everything else %XX upper-case; '/' kept when keep_slash). -1 only
 * when b's cap is passed. */
int aws_uri_encode(struct buf *b, const char *s, size_t n, bool keep_slash);

/* Lower-case hex SHA-256 of data into out[65]. */
void aws_sha256_hex(char out[65], const void *data, size_t len);

#endif
