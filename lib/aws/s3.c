/*
 * s3: PutObject and GetObject (see s3.h).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../util.h"
#include "s3.h"

int aws_s3_url_parse(char **bucket, char **prefix, const char *url,
		     struct err *e)
{
	const char *b, *slash;
	size_t n;

	*bucket = *prefix = NULL;
	if (!str_starts_with(url, "s3://") || !url[5] || url[5] == '/')
		return err_set(e, ERR_INVALID, "'%s' is not an s3://BUCKET[/PREFIX] "
			       "URL", url);
	b = url + 5;
	slash = strchr(b, '/');
	*bucket = slash ? xstrndup(b, (size_t)(slash - b)) : xstrdup(b);
	n = slash ? strlen(slash + 1) : 0;
	while (n && slash[n] == '/')
		n--;
	*prefix = slash ? xstrndup(slash + 1, n) : xstrdup("");
	return 0;
}

/* Whether requests go ENDPOINT/BUCKET/KEY rather than to BUCKET.HOST. */
static bool path_style(const struct aws_client *c, const char *bucket,
		       const char *endpoint)
{
	const char *f = aws_client_getenv(c, "AWS_S3_FORCE_PATH_STYLE");

	if (f && (str_casecmp(f, "true") == 0 || strcmp(f, "1") == 0))
		return true;
	if (strchr(bucket, '.'))
		return true;
	return !strstr(endpoint, ".amazonaws.com");
}

/* The request's endpoint and path for bucket/key. */
static int address(char **url, char **path, struct aws_client *c,
		   const char *bucket, const char *key, struct err *e)
{
	char *ep = NULL;

	if (aws_endpoint(&ep, c, "s3", e) < 0)
		return -1;
	if (path_style(c, bucket, ep)) {
		*url = ep;
		*path = xasprintf("/%s/%s", bucket, key);
	} else {
		const char *host = strstr(ep, "://") + 3;

		*url = xasprintf("%.*s%s.%s", (int)(host - ep), ep, bucket, host);
		*path = xasprintf("/%s", key);
		free(ep);
	}
	return 0;
}

static void md5_b64(char out[32], const void *data, size_t len)
{
	unsigned char md[16];
	unsigned int n = 0;

	EVP_Digest(data, len, md, &n, EVP_md5(), NULL);
	EVP_EncodeBlock((unsigned char *)out, md, 16);
}

static int s3_call(struct aws_client *c, const char *method,
		   const char *bucket, const char *key, const char *op,
		   const struct strv *headers, const void *body, size_t len,
		   struct aws_resp *resp, struct err *e)
{
	char *url = NULL, *path = NULL;
	int rc;

	if (address(&url, &path, c, bucket, key, e) < 0)
		return -1;
	{
		struct aws_req r = {
			.service = "s3", .operation = op,
			.proto = AWS_PROTO_REST_XML, .method = method,
			.path = path, .headers = headers, .body = body,
			.body_len = len, .s3 = true, .endpoint = url,
		};

		rc = aws_call(c, &r, resp, e);
	}
	if (rc < 0)
		err_wrap(e, "s3://%s/%s", bucket, key);
	free(url);
	free(path);
	return rc;
}

int aws_s3_put_object(struct aws_client *c, const struct aws_s3_put *p,
		      struct aws_resp *resp, struct err *e)
{
	struct strv h = STRV_INIT;
	char md5[32];
	int rc;

	md5_b64(md5, p->body, p->len);
	strv_pushf(&h, "Content-MD5:%s", md5);
	strv_pushf(&h, "Content-Type:%s", p->content_type ? p->content_type :
		   "binary/octet-stream");
	if (p->cache_control)
		strv_pushf(&h, "Cache-Control:%s", p->cache_control);
	rc = s3_call(c, "PUT", p->bucket, p->key, "PutObject", &h, p->body,
		     p->len, resp, e);
	strv_release(&h);
	return rc;
}

int aws_s3_get_object(struct aws_client *c, const char *bucket,
		      const char *key, struct aws_resp *resp, struct err *e)
{
	return s3_call(c, "GET", bucket, key, "GetObject", NULL, NULL, 0,
		       resp, e);
}
