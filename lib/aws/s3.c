/*
 * s3: PutObject and GetObject (see s3.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
int aws_s3_address(char **url, char **path, struct aws_client *c,
		   const char *bucket, const char *key, struct err *e)
{
	char *ep = NULL;

	if (aws_endpoint(&ep, c, "s3", e) < 0)
		return -1;
	if (path_style(c, bucket, ep)) {
		*url = ep;
		*path = *key ? xasprintf("/%s/%s", bucket, key) :
			xasprintf("/%s", bucket);
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

static int s3_call_q(struct aws_client *c, const char *method,
		     const char *bucket, const char *key, const char *query,
		     const char *op, const struct strv *headers,
		     const void *body, size_t len, struct aws_resp *resp,
		     struct err *e);

static int s3_call(struct aws_client *c, const char *method,
		   const char *bucket, const char *key, const char *op,
		   const struct strv *headers, const void *body, size_t len,
		   struct aws_resp *resp, struct err *e)
{
	return s3_call_q(c, method, bucket, key, NULL, op, headers, body, len,
			 resp, e);
}

static int s3_call_q(struct aws_client *c, const char *method,
		     const char *bucket, const char *key, const char *query,
		     const char *op, const struct strv *headers,
		     const void *body, size_t len, struct aws_resp *resp,
		     struct err *e)
{
	char *url = NULL, *path = NULL;
	int rc;

	if (aws_s3_address(&url, &path, c, bucket, key, e) < 0)
		return -1;
	{
		struct aws_req r = {
			.service = "s3", .operation = op,
			.proto = AWS_PROTO_REST_XML, .method = method,
			.path = path, .query = query, .headers = headers,
			.body = body, .body_len = len, .s3 = true,
			.endpoint = url,
		};

		rc = aws_call(c, &r, resp, e);
	}
	if (rc < 0 && *key)
		err_wrap(e, "s3://%s/%s", bucket, key);
	else if (rc < 0)
		err_wrap(e, "s3://%s", bucket);
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

int aws_s3_md5_b64(char out[32], int fd, long long off, long long len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char buf[65536], md[16];
	unsigned int mdlen = 0;
	int rc = -1;

	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_md5(), NULL))
		goto done;
	while (len > 0) {
		size_t want = len < (long long)sizeof(buf) ? (size_t)len : sizeof(buf);
		ssize_t n = pread(fd, buf, want, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto done;
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		off += n;
		len -= n;
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_EncodeBlock((unsigned char *)out, md, 16);
	rc = 0;
done:
	EVP_MD_CTX_free(ctx);
	return rc;
}

static void obj_push(struct aws_s3_list *l, const struct xml *c)
{
	struct aws_s3_obj *o;
	const char *key = xml_text(c, "Key"), *size = xml_text(c, "Size");
	const char *lm = xml_text(c, "LastModified"), *etag = xml_text(c, "ETag");
	size_t n;

	ALLOC_GROW(l->v, l->n + 1, l->alloc);
	o = &l->v[l->n++];
	memset(o, 0, sizeof(*o));
	o->key = xstrdup(key);
	o->size = size ? strtoll(size, NULL, 10) : 0;
	if (lm)
		aws_time_parse(&o->mtime, lm);
	if (etag) {
		if (*etag == '"')
			etag++;
		n = strcspn(etag, "\"");
		if (n >= sizeof(o->etag))
			n = sizeof(o->etag) - 1;
		memcpy(o->etag, etag, n);
		o->etag[n] = '\0';
	}
}

/* ListBucketResult := { Contents { Key Size LastModified ETag } }
 *                     IsTruncated [NextContinuationToken] */
int aws_s3_list(struct aws_s3_list *out, struct aws_client *c,
		const char *bucket, const char *prefix, struct err *e)
{
	char *token = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	for (int page = 0; page < 1000000; page++) {
		struct buf q = BUF_INIT;
		struct aws_resp resp;
		struct xml *root = NULL;
		const char *trunc, *next;
		bool more;
		int r;

		buf_adds(&q, "list-type=2&max-keys=1000");
		if (token) {
			buf_adds(&q, "&continuation-token=");
			aws_uri_encode(&q, token, strlen(token), false);
		}
		if (prefix && *prefix) {
			buf_adds(&q, "&prefix=");
			aws_uri_encode(&q, prefix, strlen(prefix), false);
		}
		aws_resp_init(&resp);
		r = s3_call_q(c, "GET", bucket, "", q.ptr, "ListObjectsV2", NULL,
			      NULL, 0, &resp, e);
		buf_release(&q);
		if (r == 0 && xml_parse(&root, resp.body.ptr, resp.body.len, e) < 0) {
			err_wrap(e, "s3://%s: ListObjectsV2: the answer is not XML",
				 bucket);
			r = -1;
		}
		aws_resp_release(&resp);
		if (r < 0)
			goto done;
		/* a page is a ListBucketResult that says whether more follow:
		 * anything else is not taken for a (complete) listing */
		if (strcmp(root->name, "ListBucketResult") != 0 ||
		    !xml_text(root, "IsTruncated")) {
			err_set(e, ERR_REMOTE, "s3://%s: ListObjectsV2 answered "
				"<%s> without IsTruncated: not a listing", bucket,
				root->name);
			xml_free(root);
			goto done;
		}
		for (const struct xml *o = xml_first(root, "Contents"); o;
		     o = xml_next(o))
			if (xml_text(o, "Key"))
				obj_push(out, o);
		out->pages++;
		trunc = xml_text(root, "IsTruncated");
		next = xml_text(root, "NextContinuationToken");
		free(token);
		token = next && *next ? xstrdup(next) : NULL;
		more = trunc && strcmp(trunc, "true") == 0;
		xml_free(root);
		if (!more) {
			rc = 0;
			goto done;
		}
		if (!token) {
			err_set(e, ERR_REMOTE, "s3://%s: ListObjectsV2 says the "
				"listing is truncated but gives no continuation "
				"token", bucket);
			goto done;
		}
	}
	err_set(e, ERR_LIMIT, "s3://%s: more than a million pages", bucket);
done:
	free(token);
	if (rc < 0)
		aws_s3_list_release(out);
	return rc;
}

void aws_s3_list_release(struct aws_s3_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].key);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int aws_s3_head(struct aws_client *c, const char *bucket, const char *key,
		struct aws_resp *resp, struct err *e)
{
	return s3_call(c, "HEAD", bucket, key, "HeadObject", NULL, NULL, 0,
		       resp, e);
}

static void xml_escape(struct buf *b, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '&': buf_adds(b, "&amp;"); break;
		case '<': buf_adds(b, "&lt;"); break;
		case '>': buf_adds(b, "&gt;"); break;
		case '"': buf_adds(b, "&quot;"); break;
		case '\'': buf_adds(b, "&apos;"); break;
		default:
			if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n' &&
			    *s != '\r')
				buf_printf(b, "&#%d;", *s);
			else
				buf_addch(b, *s);
		}
}

int aws_s3_delete(struct aws_client *c, const char *bucket,
		  const char *const *keys, size_t n, size_t *deleted,
		  struct err *e)
{
	*deleted = 0;
	for (size_t at = 0; at < n; at += 1000) {
		size_t cnt = n - at < 1000 ? n - at : 1000;
		struct buf body = BUF_INIT;
		struct strv h = STRV_INIT;
		struct aws_resp resp;
		struct xml *root = NULL;
		const struct xml *er;
		char md5[32];
		int r;

		buf_adds(&body, "<Delete xmlns=\"http://s3.amazonaws.com/doc/"
			 "2006-03-01/\"><Quiet>true</Quiet>");
		for (size_t i = 0; i < cnt; i++) {
			buf_adds(&body, "<Object><Key>");
			xml_escape(&body, keys[at + i]);
			buf_adds(&body, "</Key></Object>");
		}
		buf_adds(&body, "</Delete>");
		md5_b64(md5, body.ptr, body.len);
		strv_pushf(&h, "Content-MD5:%s", md5);
		strv_push(&h, "Content-Type:application/xml");
		aws_resp_init(&resp);
		r = s3_call_q(c, "POST", bucket, "", "delete", "DeleteObjects", &h,
			      body.ptr, body.len, &resp, e);
		if (r == 0 && xml_parse(&root, resp.body.ptr, resp.body.len, e) < 0)
			r = -1;
		er = root ? xml_first(root, "Error") : NULL;
		if (r == 0 && er) {
			err_set(e, ERR_REMOTE, "s3://%s/%s: DeleteObjects: %s: %s",
				bucket, xml_text(er, "Key") ? xml_text(er, "Key") : "?",
				xml_text(er, "Code") ? xml_text(er, "Code") : "Error",
				xml_text(er, "Message") ? xml_text(er, "Message") : "");
			r = -1;
		}
		xml_free(root);
		aws_resp_release(&resp);
		strv_release(&h);
		buf_release(&body);
		if (r < 0)
			return -1;
		*deleted += cnt;
	}
	return 0;
}

int aws_s3_mpu_create(char **upload_id, struct aws_client *c,
		      const char *bucket, const char *key,
		      const struct strv *headers, struct err *e)
{
	struct aws_resp resp;
	struct xml *root = NULL;
	const char *id;
	int rc = -1;

	*upload_id = NULL;
	aws_resp_init(&resp);
	if (s3_call_q(c, "POST", bucket, key, "uploads", "CreateMultipartUpload",
		      headers, NULL, 0, &resp, e) < 0)
		goto done;
	if (xml_parse(&root, resp.body.ptr, resp.body.len, e) < 0 ||
	    !(id = xml_text(root, "UploadId")) || !*id) {
		err_set(e, ERR_REMOTE, "s3://%s/%s: CreateMultipartUpload: no "
			"UploadId in the answer", bucket, key);
		goto done;
	}
	*upload_id = xstrdup(id);
	rc = 0;
done:
	xml_free(root);
	aws_resp_release(&resp);
	return rc;
}

int aws_s3_mpu_complete(struct aws_client *c, const char *bucket,
			const char *key, const char *upload_id,
			const struct strv *etags, struct err *e)
{
	struct buf body = BUF_INIT, q = BUF_INIT;
	struct aws_resp resp;
	struct xml *root = NULL;
	int rc = -1;

	buf_adds(&body, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws."
		 "com/doc/2006-03-01/\">");
	for (size_t i = 0; i < etags->n; i++) {
		buf_printf(&body, "<Part><PartNumber>%zu</PartNumber><ETag>", i + 1);
		xml_escape(&body, etags->v[i]);
		buf_adds(&body, "</ETag></Part>");
	}
	buf_adds(&body, "</CompleteMultipartUpload>");
	buf_adds(&q, "uploadId=");
	aws_uri_encode(&q, upload_id, strlen(upload_id), false);
	aws_resp_init(&resp);
	if (s3_call_q(c, "POST", bucket, key, q.ptr, "CompleteMultipartUpload",
		      NULL, body.ptr, body.len, &resp, e) < 0)
		goto done;
	/* S3 may answer 200 with an <Error> body */
	if (xml_parse(&root, resp.body.ptr, resp.body.len, e) == 0 &&
	    strcmp(root->name, "Error") == 0) {
		err_set(e, ERR_REMOTE, "s3://%s/%s: CompleteMultipartUpload: %s",
			bucket, key, xml_text(root, "Code") ? xml_text(root, "Code")
			: "Error");
		goto done;
	}
	rc = 0;
done:
	xml_free(root);
	aws_resp_release(&resp);
	buf_release(&body);
	buf_release(&q);
	return rc;
}

int aws_s3_mpu_abort(struct aws_client *c, const char *bucket,
		     const char *key, const char *upload_id, struct err *e)
{
	struct buf q = BUF_INIT;
	struct aws_resp resp;
	int rc;

	buf_adds(&q, "uploadId=");
	aws_uri_encode(&q, upload_id, strlen(upload_id), false);
	aws_resp_init(&resp);
	rc = s3_call_q(c, "DELETE", bucket, key, q.ptr, "AbortMultipartUpload",
		       NULL, NULL, 0, &resp, e);
	aws_resp_release(&resp);
	buf_release(&q);
	return rc;
}


/* ListAllMyBucketsResult := Buckets { Bucket { Name CreationDate } } */
int aws_s3_list_buckets(struct strv *out, struct aws_client *c, struct err *e)
{
	char *ep = NULL;
	struct aws_resp resp;
	struct xml *root = NULL;
	const struct xml *b;
	int rc = -1;

	aws_resp_init(&resp);
	if (aws_endpoint(&ep, c, "s3", e) < 0)
		goto done;
	{
		struct aws_req r = {
			.service = "s3", .operation = "ListBuckets",
			.proto = AWS_PROTO_REST_XML, .method = "GET", .path = "/",
			.s3 = true, .endpoint = ep,
		};

		if (aws_call(c, &r, &resp, e) < 0)
			goto done;
	}
	if (xml_parse(&root, resp.body.ptr, resp.body.len, e) < 0)
		goto done;
	for (b = xml_first(xml_find(root, "Buckets"), "Bucket"); b; b = xml_next(b)) {
		long long t = 0;
		const char *d = xml_text(b, "CreationDate"), *n = xml_text(b, "Name");

		if (!n)
			continue;
		if (d)
			aws_time_parse(&t, d);
		strv_pushf(out, "%lld %s", t, n);
	}
	rc = 0;
done:
	xml_free(root);
	aws_resp_release(&resp);
	free(ep);
	return rc;
}
