/*
 * sigv4: AWS Signature Version 4 (the contract is in sigv4.h).
 *
 * A signature is an HMAC chain over a digest of the canonical request:
 *
 *   canonical-request = method LF canonical-path LF canonical-query LF
 *                       canonical-headers LF signed-headers LF payload-hash
 *   string-to-sign    = "AWS4-HMAC-SHA256" LF amz-date LF scope LF
 *                       hex(SHA256(canonical-request))
 *   scope             = yyyymmdd "/" region "/" service "/aws4_request"
 *   signing-key       = HMAC(HMAC(HMAC(HMAC("AWS4" secret, yyyymmdd),
 *                                          region), service), "aws4_request")
 *   signature         = hex(HMAC(signing-key, string-to-sign))
 *
 * The secret key only ever goes into the HMAC key (wiped after use); the
 * session token only into the output. No error message quotes a header
 * value, a query value or a credential: they name the part and its place.
 */
#include "sigv4.h"

#include "../util.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#define ALGORITHM "AWS4-HMAC-SHA256"
#define MAX_EXPIRES 604800	/* seven days, the most AWS accepts */

static const char hexdig[] = "0123456789ABCDEF";

/* A name and value pair: a header (name lower-cased, value trimmed) or a
 * query parameter (both encoded). */
struct kv {
	char *name;	/* owned */
	char *value;	/* owned */
	size_t seq;	/* position given, keeps duplicate headers in order */
};

struct kvs {
	struct kv *v;	/* owned */
	size_t n, alloc;
};

static void kvs_add(struct kvs *l, char *name, char *value)
{
	ALLOC_GROW(l->v, l->n + 1, l->alloc);
	l->v[l->n].name = name;
	l->v[l->n].value = value;
	l->v[l->n].seq = l->n;
	l->n++;
}

static void kvs_release(struct kvs *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].value);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->alloc = 0;
}

static const struct kv *kvs_find(const struct kvs *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].name, name))
			return &l->v[i];
	return NULL;
}

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

/* uri-encode = *( unreserved / ["/"] / "%" HEXDIG HEXDIG ), every byte that
 * is not unreserved (nor a kept '/') as %XX with upper-case hex. */
int aws_uri_encode(struct buf *b, const char *s, size_t n, bool keep_slash)
{
	size_t len0 = b->len;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[3] = { '%', hexdig[c >> 4], hexdig[c & 15] };
		int r;

		if (unreserved(c) || (c == '/' && keep_slash))
			r = buf_addch(b, (char)c);
		else
			r = buf_add(b, esc, sizeof(esc));
		if (r < 0) {
			buf_truncate(b, len0);
			return -1;
		}
	}
	return 0;
}

void aws_sha256_hex(char out[65], const void *data, size_t len)
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (!EVP_Digest(data ? data : "", len, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != sizeof(md))
		BUG("SHA-256 failed in libcrypto");
	hex_lower(out, md, sizeof(md));
}

static void hmac(unsigned char out[32], const void *key, size_t keylen,
		 const char *data)
{
	unsigned int outlen = 0;

	if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)data,
		  strlen(data), out, &outlen) || outlen != 32)
		BUG("HMAC-SHA256 failed in libcrypto");
}

char *aws_sigv4_wire_path(const char *path)
{
	struct buf b = BUF_INIT;

	if (!path || !*path)
		path = "/";
	aws_uri_encode(&b, path, strlen(path), true);
	return buf_detach(&b, NULL);
}

/*
 * resolved-path = "/" *( segment "/" ) [ segment ]
 * Segments are split on '/'; empty and "." segments are dropped and ".."
 * drops the segment before it, never climbing above the root (RFC 3986
 * 5.2.4, plus AWS's collapsing of empty segments: "//a//" is "/a/"). The
 * result ends in '/' when the path's last segment was empty, "." or "..".
 */
static void resolve_dots(struct buf *out, const char *path)
{
	const char *seg = path;
	bool slash_end = false;

	for (;;) {
		const char *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);

		slash_end = true;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			char *last = memrchr(out->ptr, '/', out->len);

			buf_truncate(out, last ? (size_t)(last - out->ptr) : 0);
		} else if (n && !(n == 1 && seg[0] == '.')) {
			buf_addch(out, '/');
			buf_add(out, seg, n);
			slash_end = false;
		}
		if (!end)
			break;
		seg = end + 1;
	}
	if (!out->len || slash_end)
		buf_addch(out, '/');
}

/*
 * canonical-path (S3)     = uri-encode(path)            once, as sent
 * canonical-path (others) = uri-encode(uri-encode(resolved-path))
 * '/' is kept in both passes; "" is "/".
 */
static void canonical_path(struct buf *out, const char *path, bool normalize)
{
	struct buf once = BUF_INIT, dots = BUF_INIT;

	if (!*path)
		path = "/";
	if (!normalize) {
		aws_uri_encode(out, path, strlen(path), true);
		return;
	}
	resolve_dots(&dots, path);
	aws_uri_encode(&once, dots.ptr, dots.len, true);
	aws_uri_encode(out, once.ptr, once.len, true);
	buf_release(&once);
	buf_release(&dots);
}

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* pct-decoded = *( "%" HEXDIG HEXDIG / byte ), '+' kept as '+' (RFC 3986:
 * AWS reads a query's '+' literally, so a space must be sent as %20).
 * Appends the uri-encoding of the decoded bytes; -1 on a bad escape. */
static int reencode(struct buf *out, const char *s, size_t n)
{
	struct buf raw = BUF_INIT;
	int ret = -1;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			buf_addch(&raw, s[i]);
			continue;
		}
		if (i + 2 >= n || unhex(s[i + 1]) < 0 || unhex(s[i + 2]) < 0)
			goto done;
		buf_addch(&raw, (char)(unhex(s[i + 1]) << 4 | unhex(s[i + 2])));
		i += 2;
	}
	aws_uri_encode(out, raw.ptr, raw.len, false);
	ret = 0;
done:
	buf_release(&raw);
	return ret;
}

/*
 * query     = [ param *( "&" param ) ]    empty params ("a&&b") skipped
 * param     = name [ "=" value ]          no '=' reads as an empty value
 * Each name and value is decoded and encoded again (reencode).
 */
static int parse_query(struct kvs *l, const char *q, struct err *e)
{
	size_t idx = 0;

	while (q && *q) {
		size_t n = strcspn(q, "&");
		const char *eq = memchr(q, '=', n);
		size_t nlen = eq ? (size_t)(eq - q) : n;
		struct buf name = BUF_INIT, value = BUF_INIT;

		idx++;
		if (n && (reencode(&name, q, nlen) < 0 ||
			  (eq && reencode(&value, eq + 1, n - nlen - 1) < 0))) {
			buf_release(&name);
			buf_release(&value);
			return err_set(e, ERR_INVALID, "sigv4: query parameter "
				       "%zu: malformed %%-escape", idx);
		}
		if (n)
			kvs_add(l, buf_detach(&name, NULL),
				buf_detach(&value, NULL));
		q += n + (q[n] == '&');
	}
	return 0;
}

/* Add a parameter given decoded, encoding name and value. */
static void query_add(struct kvs *l, const char *name, const char *value)
{
	struct buf n = BUF_INIT, v = BUF_INIT;

	aws_uri_encode(&n, name, strlen(name), false);
	aws_uri_encode(&v, value, strlen(value), false);
	kvs_add(l, buf_detach(&n, NULL), buf_detach(&v, NULL));
}

static int cmp_param(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

/* canonical-query = [ name "=" value *( "&" name "=" value ) ], sorted by
 * encoded name, then encoded value (byte order). */
static void canonical_query(struct buf *out, struct kvs *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cmp_param);
	for (size_t i = 0; i < l->n; i++)
		buf_printf(out, "%s%s=%s", i ? "&" : "", l->v[i].name,
			   l->v[i].value);
}

static bool ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* header-value = trimall(value): leading and trailing whitespace dropped,
 * each inner run of SP / HTAB / CR / LF (obsolete line folding: a value
 * given on several lines) made one SP. */
static char *trimall(const char *s)
{
	struct buf b = BUF_INIT;

	while (*s) {
		if (!ws(*s)) {
			buf_addch(&b, *s++);
			continue;
		}
		while (ws(*s))
			s++;
		if (*s && b.len)
			buf_addch(&b, ' ');
	}
	return buf_detach(&b, NULL);
}

/*
 * header      = name ":" value         one strv entry each
 * name        = 1*( VCHAR but ":" )    lower-cased for signing
 * Values are trimmed (trimall); duplicates stay in the order given.
 */
static int parse_headers(struct kvs *l, const struct strv *hdrs,
			 struct err *e)
{
	for (size_t i = 0; hdrs && i < hdrs->n; i++) {
		const char *h = hdrs->v[i], *colon = strchr(h, ':');
		char *name;

		if (!colon || colon == h)
			return err_set(e, ERR_INVALID, "sigv4: header %zu: "
				       "not \"Name:value\"", i + 1);
		name = xstrndup(h, (size_t)(colon - h));
		for (char *p = name; *p; p++) {
			if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 127) {
				free(name);
				return err_set(e, ERR_INVALID, "sigv4: header "
					       "%zu: bad byte in name", i + 1);
			}
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		}
		kvs_add(l, name, trimall(colon + 1));
	}
	return 0;
}

static int cmp_header(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/*
 * canonical-headers = *( name ":" value *( "," value ) LF )
 * signed-headers    = name *( ";" name )
 * Sorted by lower-case name; a name given more than once is one line, its
 * values joined with ',' in the order given.
 */
static void canonical_headers(struct buf *canon, struct buf *names,
			      struct kvs *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cmp_header);
	for (size_t i = 0; i < l->n; i++) {
		if (i && !strcmp(l->v[i].name, l->v[i - 1].name)) {
			buf_truncate(canon, canon->len - 1);
			buf_printf(canon, ",%s\n", l->v[i].value);
			continue;
		}
		buf_printf(canon, "%s:%s\n", l->v[i].name, l->v[i].value);
		buf_printf(names, "%s%s", i ? ";" : "", l->v[i].name);
	}
}

/* A header (header mode) or query parameter (query mode) that the signer
 * sets itself must not be given too: it would be sent and signed twice. */
static int check_reserved(const struct kvs *l, bool hdr_mode, bool token,
			  bool sha_header, struct err *e)
{
	enum { ALWAYS, IF_TOKEN, IF_SHA_HEADER };
	static const struct {
		bool hdr;
		const char *name;
		int when;
	} set_here[] = {
		{ true, "authorization", ALWAYS },
		{ true, "x-amz-date", ALWAYS },
		{ true, "x-amz-security-token", IF_TOKEN },
		{ true, "x-amz-content-sha256", IF_SHA_HEADER },
		{ false, "X-Amz-Algorithm", ALWAYS },
		{ false, "X-Amz-Credential", ALWAYS },
		{ false, "X-Amz-Date", ALWAYS },
		{ false, "X-Amz-Expires", ALWAYS },
		{ false, "X-Amz-SignedHeaders", ALWAYS },
		{ false, "X-Amz-Signature", ALWAYS },
		{ false, "X-Amz-Security-Token", IF_TOKEN },
	};

	for (size_t i = 0; i < ARRAY_SIZE(set_here); i++) {
		if (set_here[i].hdr != hdr_mode ||
		    (set_here[i].when == IF_TOKEN && !token) ||
		    (set_here[i].when == IF_SHA_HEADER && !sha_header))
			continue;
		if (kvs_find(l, set_here[i].name))
			return err_set(e, ERR_INVALID, "sigv4: %s %s is set by "
				       "the signer; do not give it",
				       hdr_mode ? "header" : "query parameter",
				       set_here[i].name);
	}
	return 0;
}

static int check_input(const struct aws_sigv4_req *req,
		       const struct aws_sigv4_params *p, struct err *e)
{
	const struct aws_creds *c = p->creds;

	if (!c || !c->access_key_id || !*c->access_key_id)
		return err_set(e, ERR_INVALID, "sigv4: no access key id");
	if (!c->secret_access_key || !*c->secret_access_key)
		return err_set(e, ERR_INVALID, "sigv4: no secret access key");
	if (!p->region || !*p->region || !p->service || !*p->service)
		return err_set(e, ERR_INVALID, "sigv4: no region or service");
	if (!req->method || !*req->method)
		return err_set(e, ERR_INVALID, "sigv4: no method");
	if (req->path && *req->path && *req->path != '/')
		return err_set(e, ERR_INVALID, "sigv4: path does not start "
			       "with '/'");
	if (!req->body && req->body_len)
		return err_set(e, ERR_INVALID, "sigv4: body_len without body");
	if (p->mode == AWS_SIGV4_QUERY &&
	    (p->expires < 1 || p->expires > MAX_EXPIRES))
		return err_set(e, ERR_INVALID, "sigv4: expires %ld is not "
			       "within 1..%d seconds", p->expires, MAX_EXPIRES);
	return 0;
}

/* The signing key, derived from the secret and the scope; see the top. */
static void signing_key(unsigned char key[32], const char *secret,
			const char *date, const char *region,
			const char *service)
{
	char *k0 = xasprintf("AWS4%s", secret);
	unsigned char k1[32], k2[32], k3[32];

	hmac(k1, k0, strlen(k0), date);
	hmac(k2, k1, sizeof(k1), region);
	hmac(k3, k2, sizeof(k2), service);
	hmac(key, k3, sizeof(k3), "aws4_request");
	OPENSSL_cleanse(k0, strlen(k0));
	OPENSSL_cleanse(k1, sizeof(k1));
	OPENSSL_cleanse(k2, sizeof(k2));
	OPENSSL_cleanse(k3, sizeof(k3));
	free(k0);
}

int aws_sigv4_sign(struct aws_sigv4_out *out, const struct aws_sigv4_req *req,
		   const struct aws_sigv4_params *p, struct err *e)
{
	const char *token, *payload = req->payload_hash;
	bool hdr_mode = p->mode == AWS_SIGV4_HEADER;
	struct kvs hdrs = { 0 }, params = { 0 };
	struct buf canon = BUF_INIT, names = BUF_INIT, query = BUF_INIT;
	struct buf creq = BUF_INIT;
	char date[9], amzdate[17], body_hash[65], creq_hash[65];
	char *scope = NULL, *s;
	unsigned char key[32], sig[32];
	struct tm tm;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (check_input(req, p, e) < 0)
		goto done;
	token = p->creds->session_token && *p->creds->session_token ?
		p->creds->session_token : NULL;
	if (!gmtime_r(&p->now, &tm) ||
	    !strftime(amzdate, sizeof(amzdate), "%Y%m%dT%H%M%SZ", &tm)) {
		err_set(e, ERR_INVALID, "sigv4: time out of range");
		goto done;
	}
	memcpy(date, amzdate, 8);
	date[8] = '\0';
	scope = xasprintf("%s/%s/%s/aws4_request", date, p->region, p->service);
	if (!payload) {
		aws_sha256_hex(body_hash, req->body, req->body_len);
		payload = body_hash;
	}

	if (parse_headers(&hdrs, req->headers, e) < 0)
		goto done;
	if (!kvs_find(&hdrs, "host")) {
		err_set(e, ERR_INVALID, "sigv4: no Host header");
		goto done;
	}
	if (parse_query(&params, req->query, e) < 0)
		goto done;
	if (check_reserved(hdr_mode ? &hdrs : &params, hdr_mode, token,
			   p->content_sha256_header, e) < 0)
		goto done;
	if (hdr_mode) {
		kvs_add(&hdrs, xstrdup("x-amz-date"), xstrdup(amzdate));
		if (token)
			kvs_add(&hdrs, xstrdup("x-amz-security-token"),
				xstrdup(token));
		if (p->content_sha256_header)
			kvs_add(&hdrs, xstrdup("x-amz-content-sha256"),
				xstrdup(payload));
	}
	canonical_headers(&canon, &names, &hdrs);

	if (!hdr_mode) {
		s = xasprintf("%s/%s", p->creds->access_key_id, scope);
		query_add(&params, "X-Amz-Algorithm", ALGORITHM);
		query_add(&params, "X-Amz-Credential", s);
		query_add(&params, "X-Amz-Date", amzdate);
		free(s);
		s = xasprintf("%ld", p->expires);
		query_add(&params, "X-Amz-Expires", s);
		free(s);
		if (token)
			query_add(&params, "X-Amz-Security-Token", token);
		query_add(&params, "X-Amz-SignedHeaders", names.ptr);
	}
	canonical_query(&query, &params);

	buf_printf(&creq, "%s\n", req->method);
	canonical_path(&creq, req->path ? req->path : "", p->normalize);
	buf_printf(&creq, "\n%s\n%s\n%s\n%s", query.ptr, canon.ptr, names.ptr,
		   payload);
	aws_sha256_hex(creq_hash, creq.ptr, creq.len);
	out->string_to_sign = xasprintf(ALGORITHM "\n%s\n%s\n%s", amzdate,
					scope, creq_hash);
	signing_key(key, p->creds->secret_access_key, date, p->region,
		    p->service);
	hmac(sig, key, sizeof(key), out->string_to_sign);
	OPENSSL_cleanse(key, sizeof(key));
	hex_lower(out->signature, sig, sizeof(sig));
	out->canonical_request = buf_detach(&creq, NULL);

	if (hdr_mode) {
		strv_pushf(&out->add_headers, "X-Amz-Date:%s", amzdate);
		if (token)
			strv_pushf(&out->add_headers, "X-Amz-Security-Token:%s",
				   token);
		if (p->content_sha256_header)
			strv_pushf(&out->add_headers, "x-amz-content-sha256:%s",
				   payload);
		strv_pushf(&out->add_headers, "Authorization:" ALGORITHM
			   " Credential=%s/%s, SignedHeaders=%s, Signature=%s",
			   p->creds->access_key_id, scope, names.ptr,
			   out->signature);
	} else {
		buf_printf(&query, "%sX-Amz-Signature=%s",
			   query.len ? "&" : "", out->signature);
	}
	out->query = buf_detach(&query, NULL);
	ret = 0;
done:
	if (ret < 0)
		aws_sigv4_out_release(out);
	kvs_release(&hdrs);
	kvs_release(&params);
	buf_release(&canon);
	buf_release(&names);
	buf_release(&query);
	buf_release(&creq);
	free(scope);
	return ret;
}

void aws_sigv4_out_release(struct aws_sigv4_out *out)
{
	free(out->canonical_request);
	free(out->string_to_sign);
	strv_release(&out->add_headers);
	free(out->query);
	memset(out, 0, sizeof(*out));
}
