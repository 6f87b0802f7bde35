/*
 * client: sending one AWS request with signing and retries (see aws.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "../util.h"
#include "aws.h"
#include "client_int.h"
#include "creds.h"

#define ATTEMPTS_DEFAULT 3
#define ATTEMPTS_MAX 20
#define BACKOFF_CAP_MS 20000
#define HEADERS_MAX 200
#define HEADER_LINE_MAX 16384

extern char **environ;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

const char *aws_getenv(const struct strv *env, const char *name)
{
	return env ? strv_getenv(env, name) : getenv(name);
}

const char *aws_client_getenv(const struct aws_client *c, const char *name)
{
	return aws_getenv(c->has_env ? &c->env : NULL, name);
}

const char *aws_client_region(const struct aws_client *c)
{
	return c->region;
}

static const char *first_set(const struct aws_client *c, const char *a,
			     const char *b)
{
	const char *v = aws_client_getenv(c, a);

	if (!v || !*v)
		v = b ? aws_client_getenv(c, b) : NULL;
	return v && *v ? v : NULL;
}

int aws_client_new(struct aws_client **out, const struct aws_client_opts *o,
		   struct err *e)
{
	struct aws_client *c = xcalloc(1, sizeof(*c));
	const char *v;
	long n;

	*out = NULL;
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK) {
		free(c);
		return err_set(e, ERR_INTERNAL, "libcurl could not start");
	}
	pthread_mutex_init(&c->lock, NULL);
	if (o->env) {
		c->has_env = true;
		for (size_t i = 0; i < o->env->n; i++)
			strv_push(&c->env, o->env->v[i]);
	}
	if (aws_profile_load(&c->profile, c->has_env ? &c->env : NULL,
			     o->profile, e) < 0)
		goto fail;
	v = o->region && *o->region ? o->region :
	    first_set(c, "AWS_REGION", "AWS_DEFAULT_REGION");
	if (!v)
		v = aws_profile_get(&c->profile, "region");
	c->region = v ? xstrdup(v) : NULL;
	c->endpoint_url = o->endpoint_url ? xstrdup(o->endpoint_url) : NULL;
	v = o->ca_bundle ? o->ca_bundle : first_set(c, "AWS_CA_BUNDLE", NULL);
	if (!v)
		v = aws_profile_get(&c->profile, "ca_bundle");
	c->ca_bundle = v ? xstrdup(v) : NULL;
	c->creds = o->creds;
	c->max_attempts = o->max_attempts;
	if (c->max_attempts <= 0) {
		v = first_set(c, "AWS_MAX_ATTEMPTS", NULL);
		if (!v)
			v = aws_profile_get(&c->profile, "max_attempts");
		if (v && (str_to_long(v, &n) < 0 || n < 1 || n > ATTEMPTS_MAX)) {
			err_set(e, ERR_INVALID, "AWS_MAX_ATTEMPTS '%s' is not "
				"a number from 1 to %d", v, ATTEMPTS_MAX);
			goto fail;
		}
		c->max_attempts = v ? (int)n : ATTEMPTS_DEFAULT;
	}
	if (c->max_attempts > ATTEMPTS_MAX)
		c->max_attempts = ATTEMPTS_MAX;
	c->backoff_base_ms = o->backoff_base_ms > 0 ? o->backoff_base_ms : 1000;
	c->connect_timeout_ms = o->connect_timeout_ms > 0 ?
		o->connect_timeout_ms : 10000;
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 60000;
	c->curl = curl_easy_init();
	if (!c->curl) {
		err_set(e, ERR_INTERNAL, "libcurl could not make a handle");
		goto fail;
	}
	*out = c;
	return 0;
fail:
	aws_client_free(c);
	return -1;
}

void aws_client_free(struct aws_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	pthread_mutex_destroy(&c->lock);
	strv_release(&c->env);
	aws_profile_release(&c->profile);
	free(c->region);
	free(c->endpoint_url);
	free(c->ca_bundle);
	free(c);
}

void aws_resp_init(struct aws_resp *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, AWS_RESP_MAX);
}

void aws_resp_reset(struct aws_resp *r)
{
	int attempts = r->attempts;

	aws_resp_release(r);
	aws_resp_init(r);
	r->attempts = attempts;
}

void aws_resp_release(struct aws_resp *r)
{
	buf_release(&r->body);
	strv_release(&r->headers);
	free(r->request_id);
	free(r->code);
	free(r->message);
	memset(r, 0, sizeof(*r));
}

const char *aws_resp_header(const struct aws_resp *r, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < r->headers.n; i++)
		if (strncasecmp(r->headers.v[i], name, n) == 0 &&
		    r->headers.v[i][n] == ':')
			return r->headers.v[i] + n + 1;
	return NULL;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *p)
{
	struct aws_resp *r = p;

	return buf_add(&r->body, data, size * nmemb) < 0 ? 0 : size * nmemb;
}

/* header-line := name ":" OWS value OWS CRLF; a new status line (after a
 * 100 Continue or a redirect) starts the list again */
size_t aws_on_header(char *data, size_t size, size_t nmemb, void *p)
{
	struct aws_resp *r = p;
	size_t n = size * nmemb, k;
	const char *colon = memchr(data, ':', n);
	char *name, *value;

	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		strv_release(&r->headers);
		return n;
	}
	if (!colon || n > HEADER_LINE_MAX || r->headers.n >= HEADERS_MAX)
		return n;
	name = xstrndup(data, (size_t)(colon - data));
	for (char *q = name; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	k = (size_t)(colon - data) + 1;
	while (k < n && (data[k] == ' ' || data[k] == '\t'))
		k++;
	while (n > k && (data[n - 1] == '\r' || data[n - 1] == '\n' ||
			 data[n - 1] == ' '))
		n--;
	value = xstrndup(data + k, n - k);
	strv_pushf(&r->headers, "%s:%s", name, value);
	free(name);
	free(value);
	return size * nmemb;
}

/* The proxy for url from the client's own environment (a job's), so that
 * gantry's process environment does not leak into the job's calls. */
static void set_proxy(struct aws_client *c, CURL *h, const char *url)
{
	const char *proxy, *no;

	if (!c->has_env)
		return;		/* libcurl reads the process's variables */
	proxy = str_starts_with(url, "https:") ?
		first_set(c, "https_proxy", "HTTPS_PROXY") :
		first_set(c, "http_proxy", "HTTP_PROXY");
	if (!proxy)
		proxy = first_set(c, "all_proxy", "ALL_PROXY");
	no = first_set(c, "no_proxy", "NO_PROXY");
	curl_easy_setopt(h, CURLOPT_PROXY, proxy ? proxy : "");
	curl_easy_setopt(h, CURLOPT_NOPROXY, no ? no : "");
}

/* "scheme://host[:port][/base]": host[:port] as the Host header says it
 * and the base path to put before the request's path. */
static int split_endpoint(const char *url, char **hostport, char **base,
			  struct err *e)
{
	const char *p = strstr(url, "://"), *slash;

	if (!p || (!str_starts_with(url, "http://") &&
		   !str_starts_with(url, "https://")))
		return err_set(e, ERR_INVALID, "the endpoint '%s' is not an "
			       "http:// or https:// URL", url);
	p += 3;
	slash = strchr(p, '/');
	*hostport = slash ? xstrndup(p, (size_t)(slash - p)) : xstrdup(p);
	*base = xstrdup(slash ? slash : "");
	if (!**hostport || strchr(*hostport, '@')) {
		free(*hostport);
		free(*base);
		return err_set(e, ERR_INVALID, "the endpoint '%s' has no host "
			       "(or has credentials in it)", url);
	}
	/* a default port is not written in Host */
	if ((str_starts_with(url, "https:") && str_ends_with(*hostport, ":443")) ||
	    (str_starts_with(url, "http:") && str_ends_with(*hostport, ":80")))
		(*hostport)[strlen(*hostport) - (url[4] == 's' ? 4 : 3)] = '\0';
	return 0;
}

void aws_prepared_release(struct aws_prepared *p)
{
	free(p->url);
	strv_release(&p->headers);
}

int aws_prepare(struct aws_prepared *out, struct aws_client *c,
		   const struct aws_req *r, struct err *e)
{
	char *endpoint = NULL, *hostport = NULL, *base = NULL, *path = NULL;
	char *wire = NULL, *origin = NULL;
	const char *query = r->query;
	struct aws_creds cr = { 0 };
	struct aws_sigv4_out so = { 0 };
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (r->url || r->endpoint)
		endpoint = xstrdup(r->url ? r->url : r->endpoint);
	else if (aws_endpoint(&endpoint, c, r->service, e) < 0)
		goto done;
	if (split_endpoint(endpoint, &hostport, &base, e) < 0)
		goto done;
	strv_pushf(&out->headers, "Host:%s", hostport);
	for (size_t i = 0; r->headers && i < r->headers->n; i++)
		strv_push(&out->headers, r->headers->v[i]);
	if (r->url) {
		/* a credential endpoint's URL, sent as given, never signed */
		out->url = xstrdup(r->url);
		rc = 0;
		goto done;
	}
	origin = xstrndup(endpoint, strlen(endpoint) - strlen(base));
	path = xasprintf("%s%s", base, r->path ? r->path : "/");
	wire = aws_sigv4_wire_path(path);
	if (!r->unsigned_req) {
		struct aws_sigv4_req sr = {
			.method = r->method, .path = path, .query = r->query,
			.headers = &out->headers, .body = r->body,
			.body_len = r->body_len, .payload_hash = r->payload_hash,
		};
		struct aws_sigv4_params sp = {
			.creds = &cr,
			.region = aws_signing_region(c, r->service),
			.service = r->signing_name ? r->signing_name : r->service,
			.now = time(NULL), .mode = AWS_SIGV4_HEADER,
			.normalize = !r->s3, .content_sha256_header = r->s3,
		};

		if (!c->creds) {
			err_set(e, ERR_AUTH, "no AWS credentials to sign %s %s "
				"with", r->service, r->operation);
			goto done;
		}
		if (aws_credp_get(c->creds, &cr, e) < 0)
			goto done;
		if (aws_sigv4_sign(&so, &sr, &sp, e) < 0)
			goto done;
		for (size_t i = 0; i < so.add_headers.n; i++)
			strv_push(&out->headers, so.add_headers.v[i]);
		query = so.query;
	}
	out->url = xasprintf("%s%s%s%s", origin, wire,
			     query && *query ? "?" : "", query ? query : "");
	rc = 0;
done:
	aws_sigv4_out_release(&so);
	aws_creds_release(&cr);
	free(endpoint);
	free(origin);
	free(hostport);
	free(base);
	free(path);
	free(wire);
	if (rc < 0)
		aws_prepared_release(out);
	return rc;
}

void aws_curl_setup(CURL *h, struct aws_client *c, const struct aws_req *r,
		    const struct aws_prepared *p, struct aws_resp *resp,
		    struct curl_slist **hl, char *errbuf)
{
	for (size_t i = 0; i < p->headers.n; i++)
		*hl = curl_slist_append(*hl, p->headers.v[i]);
	*hl = curl_slist_append(*hl, "Expect:");
	curl_easy_setopt(h, CURLOPT_URL, p->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hl);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	if (r->body_len > (1u << 20) || r->method[0] == 'G') {
		/* big or streamed transfers: stalled, not slow, is the failure */
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
				 (long)(c->timeout_ms / 1000));
	} else {
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	}
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	/* the path as signed: no /./ or /../ resolved by curl (S3 keys) */
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "gantry/" GANTRY_VERSION);
	if (c->ca_bundle)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_bundle);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, aws_on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
	if (r->url) {
		/* credential and token endpoints are local or link-local:
		 * a bearer token or credentials never go through a proxy */
		curl_easy_setopt(h, CURLOPT_PROXY, "");
		curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	} else {
		set_proxy(c, h, p->url);
	}
	if (strcmp(r->method, "GET") == 0) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(r->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)r->body_len);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS,
				 r->body ? (const char *)r->body : "");
	}
}

void aws_transport_error(struct err *e, const struct aws_req *r, CURLcode cc,
			 const char *errbuf)
{
	const char *why = errbuf && *errbuf ? errbuf : curl_easy_strerror(cc);

	if (cc == CURLE_WRITE_ERROR)
		err_set(e, ERR_LIMIT, "%s %s: the answer is over %u MB or could "
			"not be written", r->service, r->operation,
			AWS_RESP_MAX >> 20);
	else if (cc == CURLE_OPERATION_TIMEDOUT)
		err_set(e, ERR_TIMEOUT, "%s %s: no answer in time: %s",
			r->service, r->operation, why);
	else
		err_set(e, ERR_REMOTE, "%s %s: cannot reach the endpoint: %s",
			r->service, r->operation, why);
}

/* One attempt: 0 with resp->status set (any status), -1 when no answer
 * came (transport error, in e). */
static int send_once(struct aws_client *c, const struct aws_req *r,
		     const struct aws_prepared *p, struct aws_resp *resp,
		     struct err *e)
{
	struct curl_slist *hl = NULL;
	CURL *h = c->curl;
	CURLcode cc;
	char errbuf[CURL_ERROR_SIZE] = "";

	curl_easy_reset(h);
	aws_curl_setup(h, c, r, p, resp, &hl, errbuf);
	cc = curl_easy_perform(h);
	curl_slist_free_all(hl);
	if (cc != CURLE_OK) {
		aws_transport_error(e, r, cc, errbuf);
		resp->status = 0;
		return -1;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	return 0;
}

long aws_backoff_ms(const struct aws_client *c, int attempt)
{
	long long cap = c->backoff_base_ms;

	for (int i = 1; i < attempt && cap < BACKOFF_CAP_MS; i++)
		cap *= 2;
	if (cap > BACKOFF_CAP_MS)
		cap = BACKOFF_CAP_MS;
	return (long)arc4random_uniform((uint32_t)cap + 1);
}

static void sleep_backoff(const struct aws_client *c, int attempt)
{
	long ms = aws_backoff_ms(c, attempt);
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static enum err_code code_class(const char *code, long status)
{
	static const char *const auth[] = {
		"AccessDenied", "AccessDeniedException", "InvalidIdentityToken",
		"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId",
		"SignatureDoesNotMatch", "UnrecognizedClientException",
		"IncompleteSignature", "MissingAuthenticationToken",
		"InvalidAccessKeyId", "AuthFailure", "IDPRejectedClaim",
		"UnauthorizedOperation", "InvalidToken", "Forbidden",
		"Unauthorized",
	};
	static const char *const invalid[] = {
		"ValidationError", "ValidationException", "InvalidParameterValue",
		"InvalidParameterException", "MalformedPolicyDocument",
		"InvalidParameterCombination", "MissingParameter", "BadRequest",
		"InvalidArgument",
	};

	for (size_t i = 0; code && i < ARRAY_SIZE(auth); i++)
		if (strcmp(code, auth[i]) == 0)
			return ERR_AUTH;
	for (size_t i = 0; code && i < ARRAY_SIZE(invalid); i++)
		if (strcmp(code, invalid[i]) == 0)
			return ERR_INVALID;
	if (status == 404 || (code && (strstr(code, "NotFound") ||
				       str_starts_with(code, "NoSuch"))))
		return ERR_NOT_FOUND;
	return ERR_REMOTE;
}

void aws_request_id(struct aws_resp *resp)
{
	const char *id = aws_resp_header(resp, "x-amzn-requestid");

	if (!id)
		id = aws_resp_header(resp, "x-amz-request-id");
	if (id && *id) {
		free(resp->request_id);
		resp->request_id = xstrdup(id);
	}
}

void aws_error_message(struct err *e, const struct aws_req *r,
		       const struct aws_resp *resp, bool exhausted)
{
	char note[64] = "";

	if (exhausted)
		snprintf(note, sizeof(note), ", %d attempts", resp->attempts);
	err_set(e, code_class(resp->code, resp->status),
		"%s %s: %s: %s (HTTP %ld, request ID %s%s)", r->service,
		r->operation, resp->code ? resp->code : "HTTPError",
		resp->message ? resp->message : "no message", resp->status,
		resp->request_id ? resp->request_id : "none", note);
}

int aws_call(struct aws_client *c, const struct aws_req *r,
	     struct aws_resp *resp, struct err *e)
{
	struct aws_prepared p;
	int rc = -1;

	pthread_mutex_lock(&c->lock);
	aws_resp_reset(resp);
	resp->attempts = 0;
	for (int attempt = 1; attempt <= c->max_attempts; attempt++) {
		struct err te = ERR_INIT;
		bool again;

		if (attempt > 1) {
			aws_resp_reset(resp);
			sleep_backoff(c, attempt - 1);
		}
		resp->attempts = attempt;
		/* signed again each time: a retry must carry its own date */
		if (aws_prepare(&p, c, r, e) < 0)
			goto done;
		if (send_once(c, r, &p, resp, &te) < 0) {
			aws_prepared_release(&p);
			*e = te;
			if (te.code == ERR_LIMIT || attempt == c->max_attempts) {
				size_t n = strlen(e->msg);

				if (attempt > 1)
					snprintf(e->msg + n, sizeof(e->msg) - n,
						 " (%d attempts)", attempt);
				goto done;
			}
			continue;
		}
		aws_prepared_release(&p);
		aws_request_id(resp);
		if (resp->status >= 200 && resp->status < 300) {
			rc = 0;
			goto done;
		}
		aws_error_parse(resp, r->proto);
		again = aws_retryable(resp->status, resp->code);
		if (!again || attempt == c->max_attempts) {
			aws_error_message(e, r, resp, again);
			goto done;
		}
	}
done:
	pthread_mutex_unlock(&c->lock);
	return rc;
}
