/* Unit tests for lib/aws/: the profile files, endpoints, error answers of
 * every protocol, the retry rules, times, form encoding, the credential
 * chain's local sources and refresh, and one signed call against a small
 * HTTP server on loopback that checks what the client sends and answers
 * with errors before success (retries, request IDs, messages). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/aws/aws.h"
#include "../../lib/aws/creds.h"
#include "../../lib/aws/profile.h"
#include "../../lib/aws/sts.h"
#include "../../lib/aws/s3sync.h"
#include "../../lib/fs.h"
#include "../../lib/util.h"

static void test_aws_ini(void **state)
{
	const char *text =
		"# a comment\n"
		"[default]\n"
		"region = eu-west-1\n"
		"\n"
		"[profile ci]\n"
		"Region=us-east-2 ; inline comment\n"
		"role_arn = arn:aws:iam::1:role/r#not-a-comment\n"
		"s3 =\n"
		"  max_concurrent_requests = 20\n"
		"; another\n"
		"[profile other]\n"
		"region = ap-south-1\n";
	struct strv kv = STRV_INIT;
	struct err e = ERR_INIT;
	bool found;

	assert_int_equal(aws_ini_section(&kv, text, "profile ci", &found, "cfg", &e), 0);
	assert_true(found);
	assert_string_equal(strv_getenv(&kv, "region"), "us-east-2");
	assert_string_equal(strv_getenv(&kv, "role_arn"), "arn:aws:iam::1:role/r#not-a-comment");
	assert_string_equal(strv_getenv(&kv, "s3.max_concurrent_requests"), "20");
	assert_null(strv_getenv(&kv, "max_concurrent_requests"));
	strv_release(&kv);
	assert_int_equal(aws_ini_section(&kv, text, "nope", &found, "cfg", &e), 0);
	assert_false(found);
	assert_int_equal((int)kv.n, 0);
	assert_int_equal(aws_ini_section(&kv, "[x\n", "x", &found, "cfg", &e), -1);
	assert_non_null(strstr(e.msg, "cfg:1"));
	assert_int_equal(aws_ini_section(&kv, "[x]\njunk line\n", "x", &found,
					 "cfg", &e), -1);
	assert_non_null(strstr(e.msg, "cfg:2"));
	strv_release(&kv);
}

static char *tmpdir;

static char *write_tmp(const char *name, const char *text)
{
	char *p = fs_join(tmpdir, name);
	struct err e = ERR_INIT;

	assert_int_equal(fs_write_file(p, text, strlen(text), 0600, &e), 0);
	return p;
}

static void test_aws_profile_files(void **state)
{
	char *cfg = write_tmp("config", "[profile ci]\nregion = eu-north-1\n"
			      "aws_access_key_id = FROMCONFIG\n");
	char *cred = write_tmp("credentials", "[ci]\naws_access_key_id = AKIDCI\n"
			       "aws_secret_access_key = sk\n");
	struct strv env = STRV_INIT;
	struct aws_profile p;
	struct err e = ERR_INIT;

	strv_setenv(&env, "AWS_CONFIG_FILE", cfg);
	strv_setenv(&env, "AWS_SHARED_CREDENTIALS_FILE", cred);
	strv_setenv(&env, "AWS_PROFILE", "ci");
	assert_int_equal(aws_profile_load(&p, &env, NULL, &e), 0);
	assert_true(p.found);
	assert_string_equal(p.name, "ci");
	assert_string_equal(aws_profile_get(&p, "region"), "eu-north-1");
	/* the credentials file wins */
	assert_string_equal(aws_profile_get(&p, "aws_access_key_id"), "AKIDCI");
	aws_profile_release(&p);
	assert_int_equal(aws_profile_load(&p, &env, "missing", &e), 0);
	assert_false(p.found);
	aws_profile_release(&p);
	strv_release(&env);
	free(cfg);
	free(cred);
}

static struct aws_client *client_env(struct strv *env, const char *region)
{
	struct aws_client *c = NULL;
	struct aws_client_opts o = { .env = env, .region = region };
	struct err e = ERR_INIT;

	assert_int_equal(aws_client_new(&c, &o, &e), 0);
	return c;
}

static void test_aws_endpoints(void **state)
{
	struct strv env = STRV_INIT;
	struct aws_client *c;
	struct err e = ERR_INIT;
	char *ep;

	strv_setenv(&env, "AWS_CONFIG_FILE", "/nonexistent");
	strv_setenv(&env, "AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
	c = client_env(&env, "eu-west-1");
	assert_int_equal(aws_endpoint(&ep, c, "sts", &e), 0);
	assert_string_equal(ep, "https://sts.eu-west-1.amazonaws.com");
	free(ep);
	assert_int_equal(aws_endpoint(&ep, c, "ecr", &e), 0);
	assert_string_equal(ep, "https://api.ecr.eu-west-1.amazonaws.com");
	free(ep);
	assert_int_equal(aws_endpoint(&ep, c, "cloudfront", &e), 0);
	assert_string_equal(ep, "https://cloudfront.amazonaws.com");
	assert_string_equal(aws_signing_region(c, "cloudfront"), "us-east-1");
	assert_string_equal(aws_signing_region(c, "s3"), "eu-west-1");
	free(ep);
	aws_client_free(c);

	c = client_env(&env, "cn-north-1");
	assert_int_equal(aws_endpoint(&ep, c, "s3", &e), 0);
	assert_string_equal(ep, "https://s3.cn-north-1.amazonaws.com.cn");
	free(ep);
	aws_client_free(c);

	/* service-specific over global; trailing slash dropped */
	strv_setenv(&env, "AWS_ENDPOINT_URL", "http://127.0.0.1:9/");
	strv_setenv(&env, "AWS_ENDPOINT_URL_STS", "http://127.0.0.1:7/");
	c = client_env(&env, "eu-west-1");
	assert_int_equal(aws_endpoint(&ep, c, "sts", &e), 0);
	assert_string_equal(ep, "http://127.0.0.1:7");
	free(ep);
	assert_int_equal(aws_endpoint(&ep, c, "ecs", &e), 0);
	assert_string_equal(ep, "http://127.0.0.1:9");
	free(ep);
	aws_client_free(c);
	strv_setenv(&env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true");
	c = client_env(&env, "eu-west-1");
	assert_int_equal(aws_endpoint(&ep, c, "sts", &e), 0);
	assert_string_equal(ep, "https://sts.eu-west-1.amazonaws.com");
	free(ep);
	aws_client_free(c);

	/* no region: STS's global endpoint; others need one; bad names refused */
	strv_release(&env);
	strv_setenv(&env, "AWS_CONFIG_FILE", "/nonexistent");
	c = client_env(&env, NULL);
	assert_int_equal(aws_endpoint(&ep, c, "sts", &e), 0);
	assert_string_equal(ep, "https://sts.amazonaws.com");
	free(ep);
	assert_int_equal(aws_endpoint(&ep, c, "s3", &e), -1);
	assert_non_null(strstr(e.msg, "AWS_REGION"));
	aws_client_free(c);
	c = client_env(&env, "eu-west-1/../x");
	assert_int_equal(aws_endpoint(&ep, c, "s3", &e), -1);
	assert_non_null(strstr(e.msg, "not a region name"));
	aws_client_free(c);
	strv_release(&env);
}

static void parse_err(struct aws_resp *r, long status, const char *body,
		      enum aws_proto proto)
{
	aws_resp_init(r);
	r->status = status;
	buf_adds(&r->body, body);
	aws_error_parse(r, proto);
}

static void test_aws_errors(void **state)
{
	struct aws_resp r;

	parse_err(&r, 403, "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/"
		  "2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied"
		  "</Code><Message>Not authorized</Message></Error><RequestId>"
		  "r-1</RequestId></ErrorResponse>", AWS_PROTO_QUERY);
	assert_string_equal(r.code, "AccessDenied");
	assert_string_equal(r.message, "Not authorized");
	assert_string_equal(r.request_id, "r-1");
	aws_resp_release(&r);

	parse_err(&r, 404, "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code>"
		  "<Message>gone</Message><RequestId>r-2</RequestId></Error>",
		  AWS_PROTO_REST_XML);
	assert_string_equal(r.code, "NoSuchKey");
	assert_string_equal(r.request_id, "r-2");
	aws_resp_release(&r);

	parse_err(&r, 400, "{\"__type\":\"com.amazonaws.ecr#RepositoryNotFound"
		  "Exception\",\"message\":\"no repo\"}", AWS_PROTO_JSON);
	assert_string_equal(r.code, "RepositoryNotFoundException");
	assert_string_equal(r.message, "no repo");
	aws_resp_release(&r);

	parse_err(&r, 400, "{\"__type\":\"ThrottlingException:http://internal."
		  "amazon.com/\",\"Message\":\"slow down\"}", AWS_PROTO_JSON);
	assert_string_equal(r.code, "ThrottlingException");
	assert_string_equal(r.message, "slow down");
	aws_resp_release(&r);

	/* no body, junk body: the status names it */
	parse_err(&r, 503, "", AWS_PROTO_REST_XML);
	assert_string_equal(r.code, "ServiceUnavailable");
	aws_resp_release(&r);
	parse_err(&r, 502, "<html>bad gateway", AWS_PROTO_QUERY);
	assert_string_equal(r.code, "BadGateway");
	assert_null(r.message);
	aws_resp_release(&r);
	parse_err(&r, 418, "[1,2", AWS_PROTO_JSON);
	assert_string_equal(r.code, "HTTPError");
	aws_resp_release(&r);
}

static void test_aws_retryable(void **state)
{
	assert_true(aws_retryable(0, NULL));
	assert_true(aws_retryable(400, "Throttling"));
	assert_true(aws_retryable(400, "ThrottlingException"));
	assert_true(aws_retryable(503, "SlowDown"));
	assert_true(aws_retryable(500, "InternalError"));
	assert_true(aws_retryable(504, "GatewayTimeout"));
	assert_true(aws_retryable(400, "IDPCommunicationError"));
	assert_false(aws_retryable(403, "AccessDenied"));
	assert_false(aws_retryable(400, "InvalidIdentityToken"));
	assert_false(aws_retryable(400, "ValidationError"));
	assert_false(aws_retryable(404, "NoSuchKey"));
}

static void test_aws_time_and_form(void **state)
{
	long long t;
	struct strv p = STRV_INIT;
	struct buf b = BUF_INIT;

	assert_int_equal(aws_time_parse(&t, "2026-11-22T16:00:00Z"), 0);
	assert_int_equal(t, 1795363200LL);
	assert_int_equal(aws_time_parse(&t, "2026-11-22T16:00:00.123Z"), 0);
	assert_int_equal(t, 1795363200LL);
	assert_int_equal(aws_time_parse(&t, "2026-11-22T16:00:00+00:00"), 0);
	assert_int_equal(aws_time_parse(&t, "2026-11-22T16:00:00+02:00"), -1);
	assert_int_equal(aws_time_parse(&t, "tomorrow"), -1);

	strv_push(&p, "Action=AssumeRole");
	strv_push(&p, "RoleSessionName=a b+c/d=e");
	strv_push(&p, "Token=x~y.z_-");
	aws_form_encode(&b, &p);
	assert_string_equal(b.ptr, "Action=AssumeRole&RoleSessionName=a%20b%2Bc%2Fd%3De"
			    "&Token=x~y.z_-");
	buf_release(&b);
	strv_release(&p);
}

static void test_aws_session_name(void **state)
{
	struct err e = ERR_INIT;

	assert_int_equal(aws_sts_check_session_name("GitHubActions", &e), 0);
	assert_int_equal(aws_sts_check_session_name("a_b+c=d,e.f@g-h", &e), 0);
	assert_int_equal(aws_sts_check_session_name("x", &e), -1);
	assert_non_null(strstr(e.msg, "2 to 64"));
	assert_int_equal(aws_sts_check_session_name("has space", &e), -1);
	assert_non_null(strstr(e.msg, "' '"));
	assert_int_equal(aws_sts_check_session_name(
		"0123456789012345678901234567890123456789012345678901234567890123456",
		&e), -1);
}

static void test_aws_chain_local(void **state)
{
	char *cred = write_tmp("creds2", "[default]\naws_access_key_id = AKIDFILE\n"
			       "aws_secret_access_key = secretfile\n"
			       "[half]\naws_access_key_id = ONLY\n");
	struct strv env = STRV_INIT;
	struct aws_chain_opts o = { .env = &env };
	struct aws_credp *p;
	struct aws_creds c;
	struct err e = ERR_INIT;

	strv_setenv(&env, "HOME", tmpdir);
	strv_setenv(&env, "AWS_CONFIG_FILE", "/nonexistent");
	strv_setenv(&env, "AWS_SHARED_CREDENTIALS_FILE", cred);
	strv_setenv(&env, "AWS_EC2_METADATA_DISABLED", "true");
	strv_setenv(&env, "AWS_ACCESS_KEY_ID", "AKIDENV");
	strv_setenv(&env, "AWS_SECRET_ACCESS_KEY", "secretenv");
	aws_credp_chain(&p, &o);
	assert_int_equal(aws_credp_get(p, &c, &e), 0);
	assert_string_equal(c.access_key_id, "AKIDENV");
	assert_null(c.session_token);
	assert_string_equal(aws_credp_source(p), "environment");
	aws_creds_release(&c);
	aws_credp_free(p);

	/* only one of the pair: an error naming the missing one */
	strv_setenv(&env, "AWS_SECRET_ACCESS_KEY", "");
	aws_credp_chain(&p, &o);
	assert_int_equal(aws_credp_get(p, &c, &e), -1);
	assert_non_null(strstr(e.msg, "AWS_SECRET_ACCESS_KEY is not"));
	aws_credp_free(p);

	strv_setenv(&env, "AWS_ACCESS_KEY_ID", "");
	aws_credp_chain(&p, &o);
	assert_int_equal(aws_credp_get(p, &c, &e), 0);
	assert_string_equal(c.access_key_id, "AKIDFILE");
	assert_string_equal(aws_credp_source(p), "shared-credentials-file");
	aws_creds_release(&c);
	aws_credp_free(p);

	o.profile = "half";
	aws_credp_chain(&p, &o);
	assert_int_equal(aws_credp_get(p, &c, &e), -1);
	assert_non_null(strstr(e.msg, "only one of"));
	aws_credp_free(p);

	o.profile = "nosuch";
	aws_credp_chain(&p, &o);
	assert_int_equal(aws_credp_get(p, &c, &e), -1);
	assert_non_null(strstr(e.msg, "'nosuch'"));
	aws_credp_free(p);

	/* nothing anywhere, instance metadata disabled */
	o.profile = NULL;
	strv_setenv(&env, "AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
	aws_credp_chain(&p, &o);
	assert_int_equal(aws_credp_get(p, &c, &e), -1);
	assert_non_null(strstr(e.msg, "no AWS credentials found"));
	assert_non_null(strstr(e.msg, "AWS_EC2_METADATA_DISABLED"));
	aws_credp_free(p);

	/* web identity half-configured */
	strv_setenv(&env, "AWS_ROLE_ARN", "arn:aws:iam::1:role/x");
	aws_credp_chain(&p, &o);
	assert_int_equal(aws_credp_get(p, &c, &e), -1);
	assert_non_null(strstr(e.msg, "AWS_WEB_IDENTITY_TOKEN_FILE is not"));
	aws_credp_free(p);
	strv_release(&env);
	free(cred);
}

/* ---- a loopback server for one client's calls ---- */

struct srv {
	int lfd;
	int port;
	int fail_first;		/* answer 503 SlowDown to this many */
	bool json;		/* JSON 1.1 answers instead of STS's XML */
	const char *fixed;	/* else: this XML body, 200, to every request */
	int seen;
	char first_auth[512];	/* Authorization of the first request */
	char first_date[64];
	char first_target[128];	/* X-Amz-Target of the first request */
	char first_type[128];	/* Content-Type of the first request */
	pthread_t th;
};

static void read_request(int fd, char *buf, size_t n)
{
	size_t got = 0;

	while (got + 1 < n) {
		ssize_t r = read(fd, buf + got, n - got - 1);
		char *end;

		if (r <= 0)
			break;
		got += (size_t)r;
		buf[got] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end) {
			const char *cl = strcasestr(buf, "Content-Length:");
			size_t body = cl ? strtoul(cl + 15, NULL, 10) : 0;

			if (got >= (size_t)(end + 4 - buf) + body)
				break;
		}
	}
	buf[got] = '\0';
}

static void copy_header(char *out, size_t n, const char *req, const char *name)
{
	const char *h = strcasestr(req, name), *eol;

	out[0] = '\0';
	if (!h)
		return;
	h += strlen(name);
	while (*h == ' ')
		h++;
	eol = strstr(h, "\r\n");
	snprintf(out, n, "%.*s", (int)(eol ? eol - h : (long)strlen(h)), h);
}

static void *serve(void *arg)
{
	struct srv *s = arg;

	for (int i = 0; i < 8; i++) {
		char req[8192], ans[1024];
		int fd = accept(s->lfd, NULL, NULL);
		const char *body;

		if (fd < 0)
			break;
		read_request(fd, req, sizeof(req));
		if (s->seen == 0) {
			copy_header(s->first_auth, sizeof(s->first_auth), req,
				    "Authorization:");
			copy_header(s->first_date, sizeof(s->first_date), req,
				    "X-Amz-Date:");
			copy_header(s->first_target, sizeof(s->first_target),
				    req, "X-Amz-Target:");
			copy_header(s->first_type, sizeof(s->first_type), req,
				    "Content-Type:");
		}
		if (s->fixed)
			body = (s->seen++, s->fixed);
		else if (s->json)
			body = s->seen++ < s->fail_first ?
			       "{\"__type\":\"com.amazonaws.ecr#ThrottlingException\","
			       "\"message\":\"Rate exceeded\"}" :
			       "{\"repositories\":[{\"repositoryName\":\"web\"}]}";
		else if (s->seen++ < s->fail_first)
			body = "<ErrorResponse><Error><Code>Throttling</Code>"
			       "</Error></ErrorResponse>";
		else
			body = "<GetCallerIdentityResponse><GetCallerIdentityResult>"
			       "<Arn>arn:aws:iam::123456789012:user/t</Arn><UserId>"
			       "AIDAT</UserId><Account>123456789012</Account>"
			       "</GetCallerIdentityResult><ResponseMetadata><RequestId>"
			       "req-ok</RequestId></ResponseMetadata>"
			       "</GetCallerIdentityResponse>";
		snprintf(ans, sizeof(ans), "HTTP/1.1 %s\r\nContent-Type: %s\r\n"
			 "%sContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
			 s->seen <= s->fail_first ? (s->json ? "400 Bad Request" :
			 "503 Slow Down") : "200 OK",
			 s->json ? "application/x-amz-json-1.1" : "text/xml",
			 s->seen <= s->fail_first ? "x-amzn-RequestId: req-slow\r\n" : "",
			 strlen(body), body);
		if (write(fd, ans, strlen(ans)) < 0)
			break;
		close(fd);
		if (s->seen > s->fail_first && !s->fixed)
			break;
	}
	return NULL;
}

static void srv_start(struct srv *s, int fail_first, bool json)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);

	memset(s, 0, sizeof(*s));
	s->fail_first = fail_first;
	s->json = json;
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->lfd, 8), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&sa, &sl), 0);
	s->port = ntohs(sa.sin_port);
	pthread_create(&s->th, NULL, serve, s);
}

static void srv_stop(struct srv *s)
{
	shutdown(s->lfd, SHUT_RDWR);
	pthread_join(s->th, NULL);
	close(s->lfd);
}

static struct aws_client *signed_client(struct strv *env, struct aws_credp *p,
					int attempts)
{
	struct aws_client *c = NULL;
	struct aws_client_opts o = { .env = env, .region = "us-east-1",
				     .creds = p, .max_attempts = attempts,
				     .backoff_base_ms = 10 };
	struct err e = ERR_INIT;

	assert_int_equal(aws_client_new(&c, &o, &e), 0);
	return c;
}

static void test_aws_call_retries(void **state)
{
	struct aws_creds cr = { .access_key_id = "AKIDTEST",
				.secret_access_key = "s3cr3t-never-shown",
				.session_token = "t0ken-never-shown" };
	struct aws_credp *p;
	struct strv env = STRV_INIT;
	struct aws_client *c;
	struct aws_identity id;
	struct aws_resp resp;
	struct srv s;
	struct err e = ERR_INIT;
	char *url;

	aws_credp_static(&p, &cr, "test");
	srv_start(&s, 2, false);
	url = xasprintf("http://127.0.0.1:%d", s.port);
	strv_setenv(&env, "AWS_CONFIG_FILE", "/nonexistent");
	strv_setenv(&env, "AWS_ENDPOINT_URL_STS", url);
	c = signed_client(&env, p, 3);
	aws_resp_init(&resp);
	assert_int_equal(aws_sts_get_caller_identity(&id, c, &resp, &e), 0);
	assert_int_equal(resp.attempts, 3);
	assert_int_equal(s.seen, 3);
	assert_string_equal(id.arn, "arn:aws:iam::123456789012:user/t");
	assert_string_equal(resp.request_id, "req-ok");
	assert_true(str_starts_with(s.first_auth, "AWS4-HMAC-SHA256 Credential="
				    "AKIDTEST/"));
	assert_non_null(strstr(s.first_auth, "/us-east-1/sts/aws4_request"));
	assert_int_equal(strlen(s.first_date), 16);
	aws_identity_release(&id);
	aws_resp_release(&resp);
	srv_stop(&s);
	aws_client_free(c);

	/* too few attempts: the error names the code, the request ID and
	 * the attempts, and no secret */
	srv_start(&s, 5, false);
	free(url);
	url = xasprintf("http://127.0.0.1:%d", s.port);
	strv_setenv(&env, "AWS_ENDPOINT_URL_STS", url);
	c = signed_client(&env, p, 2);
	aws_resp_init(&resp);
	assert_int_equal(aws_sts_get_caller_identity(&id, c, &resp, &e), -1);
	assert_non_null(strstr(e.msg, "Throttling"));
	assert_non_null(strstr(e.msg, "req-slow"));
	assert_non_null(strstr(e.msg, "2 attempts"));
	assert_null(strstr(e.msg, "never-shown"));
	aws_resp_release(&resp);
	srv_stop(&s);
	aws_client_free(c);

	/* nobody listening: a transport error, retried, then named */
	c = signed_client(&env, p, 2);
	aws_resp_init(&resp);
	assert_int_equal(aws_sts_get_caller_identity(&id, c, &resp, &e), -1);
	assert_non_null(strstr(e.msg, "cannot reach"));
	assert_int_equal(resp.attempts, 2);
	aws_resp_release(&resp);
	aws_client_free(c);

	free(url);
	strv_release(&env);
	aws_credp_free(p);
}

/* JSON 1.1 (ECR, ECS): the target header, the content type, a
 * ThrottlingException retried, the answer object. */
static void test_aws_json_call(void **state)
{
	struct aws_creds cr = { .access_key_id = "AKIDTEST",
				.secret_access_key = "s3cr3t" };
	struct aws_credp *p;
	struct strv env = STRV_INIT;
	struct aws_client *c;
	struct aws_resp resp;
	struct srv s;
	struct err e = ERR_INIT;
	json_t *body = json_pack("{s:[s]}", "repositoryNames", "web"), *out;
	char *url;

	aws_credp_static(&p, &cr, "test");
	srv_start(&s, 1, true);
	url = xasprintf("http://127.0.0.1:%d", s.port);
	strv_setenv(&env, "AWS_CONFIG_FILE", "/nonexistent");
	strv_setenv(&env, "AWS_ENDPOINT_URL_ECR", url);
	c = signed_client(&env, p, 3);
	aws_resp_init(&resp);
	assert_int_equal(aws_json_call(c, "ecr", "ecr", "AmazonEC2ContainerRegistry_"
				       "V20150921.DescribeRepositories", body,
				       &out, &resp, &e), 0);
	assert_int_equal(resp.attempts, 2);
	assert_string_equal(s.first_target, "AmazonEC2ContainerRegistry_V20150921."
			    "DescribeRepositories");
	assert_string_equal(s.first_type, "application/x-amz-json-1.1");
	assert_non_null(strstr(s.first_auth, "/us-east-1/ecr/aws4_request"));
	assert_string_equal(json_string_value(json_object_get(json_array_get(
		json_object_get(out, "repositories"), 0), "repositoryName")), "web");
	json_decref(out);
	aws_resp_release(&resp);
	srv_stop(&s);
	aws_client_free(c);
	json_decref(body);
	free(url);
	strv_release(&env);
	aws_credp_free(p);
}

/* A listing is not trusted: keys that would leave the destination
 * folder are skipped, keys outside the prefix ignored, and an answer that
 * is not a listing is an error (nothing is acted on). */
static void test_aws_s3sync_untrusted_listing(void **state)
{
	static const char listing[] =
		"<ListBucketResult><IsTruncated>false</IsTruncated>"
		"<Contents><Key>p/../escaped.txt</Key><Size>3</Size></Contents>"
		"<Contents><Key>p//tmp/abs.txt</Key><Size>3</Size></Contents>"
		"<Contents><Key>p/./dot.txt</Key><Size>3</Size></Contents>"
		"<Contents><Key>other/x.txt</Key><Size>3</Size></Contents>"
		"</ListBucketResult>";
	struct aws_creds cr = { .access_key_id = "AKIDTEST",
				.secret_access_key = "s3cr3t" };
	struct aws_credp *p;
	struct strv env = STRV_INIT;
	struct aws_client *c;
	struct s3sync_result r;
	struct srv s;
	struct err e = ERR_INIT;
	char *url, *dst = fs_join(tmpdir, "dl"), *esc = fs_join(tmpdir, "escaped.txt");
	struct s3sync_opts o = { .mode = S3SYNC_SYNC, .src = "s3://b/p",
				 .dst = dst, .follow_symlinks = true };

	aws_credp_static(&p, &cr, "test");
	srv_start(&s, 0, false);
	s.fixed = listing;
	url = xasprintf("http://127.0.0.1:%d", s.port);
	strv_setenv(&env, "AWS_CONFIG_FILE", "/nonexistent");
	strv_setenv(&env, "AWS_ENDPOINT_URL_S3", url);
	c = signed_client(&env, p, 1);
	assert_int_equal(s3sync_run(&r, c, &o, &e), 0);
	assert_int_equal(r.skipped, 3);
	assert_int_equal(r.downloaded, 0);
	assert_false(fs_exists(esc));
	assert_false(fs_exists("/tmp/abs.txt"));
	s3sync_result_release(&r);

	s.fixed = "<Error><Code>AccessDenied</Code></Error>";
	assert_int_equal(s3sync_run(&r, c, &o, &e), -1);
	assert_non_null(strstr(e.msg, "not a listing"));
	s3sync_result_release(&r);
	srv_stop(&s);
	aws_client_free(c);
	free(url);
	free(dst);
	free(esc);
	strv_release(&env);
	aws_credp_free(p);
}

static void test_aws_static_expiry(void **state)
{
	struct aws_creds cr = { .access_key_id = "A", .secret_access_key = "S",
				.expiration = (long long)time(NULL) - 1 };
	struct aws_credp *p;
	struct aws_creds c;
	struct err e = ERR_INIT;

	aws_credp_static(&p, &cr, "test");
	assert_int_equal(aws_credp_get(p, &c, &e), -1);
	assert_non_null(strstr(e.msg, "expired"));
	aws_credp_free(p);
	cr.expiration = (long long)time(NULL) + 60;	/* within the margin */
	aws_credp_static(&p, &cr, "test");
	assert_int_equal(aws_credp_get(p, &c, &e), 0);
	aws_creds_release(&c);
	aws_credp_free(p);
}

static int setup(void **state)
{
	struct err e = ERR_INIT;

	return fs_mkdtemp(&tmpdir, "gantry-aws-test", &e);
}

static int teardown(void **state)
{
	struct err e = ERR_INIT;

	fs_remove_tree(tmpdir, &e);
	free(tmpdir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aws_ini),
		cmocka_unit_test(test_aws_profile_files),
		cmocka_unit_test(test_aws_endpoints),
		cmocka_unit_test(test_aws_errors),
		cmocka_unit_test(test_aws_retryable),
		cmocka_unit_test(test_aws_time_and_form),
		cmocka_unit_test(test_aws_session_name),
		cmocka_unit_test(test_aws_chain_local),
		cmocka_unit_test(test_aws_call_retries),
		cmocka_unit_test(test_aws_json_call),
		cmocka_unit_test(test_aws_s3sync_untrusted_listing),
		cmocka_unit_test(test_aws_static_expiry),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
