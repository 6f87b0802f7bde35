/*
 * proto: the query and JSON 1.1 wire protocols over aws_call, and the
 * small encodings they need (see aws.h).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../util.h"
#include "aws.h"

void aws_form_encode(struct buf *b, const struct strv *params)
{
	for (size_t i = 0; params && i < params->n; i++) {
		const char *p = params->v[i], *eq = strchr(p, '=');
		size_t kn = eq ? (size_t)(eq - p) : strlen(p);

		if (b->len)
			buf_addch(b, '&');
		aws_uri_encode(b, p, kn, false);
		buf_addch(b, '=');
		if (eq)
			aws_uri_encode(b, eq + 1, strlen(eq + 1), false);
	}
}

/* time := YYYY "-" MM "-" DD "T" hh ":" mm ":" ss ["." digits]
 *         ("Z" | "+00:00" | "+0000") */
int aws_time_parse(long long *out, const char *s)
{
	struct tm tm = { 0 };
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);

	if (!p)
		return -1;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0 &&
	    strcmp(p, "+0000") != 0 && *p != '\0')
		return -1;
	*out = (long long)timegm(&tm);
	return 0;
}

int aws_query_call(struct aws_client *c, const char *service,
		   const char *action, const char *version,
		   const struct strv *params, bool sign, struct xml **root,
		   const struct xml **result, struct aws_resp *resp_in,
		   struct err *e)
{
	struct aws_resp local;
	struct aws_resp *resp = resp_in ? resp_in : &local;
	struct buf body = BUF_INIT;
	struct strv all = STRV_INIT, headers = STRV_INIT;
	char *result_name = xasprintf("%sResult", action);
	struct aws_req r = {
		.service = service, .operation = action,
		.proto = AWS_PROTO_QUERY, .method = "POST", .path = "/",
		.headers = &headers, .unsigned_req = !sign,
	};
	int rc = -1;

	*root = NULL;
	*result = NULL;
	if (!resp_in)
		aws_resp_init(&local);
	strv_pushf(&all, "Action=%s", action);
	strv_pushf(&all, "Version=%s", version);
	for (size_t i = 0; params && i < params->n; i++)
		strv_push(&all, params->v[i]);
	aws_form_encode(&body, &all);
	strv_push(&headers, "Content-Type:application/x-www-form-urlencoded; "
		  "charset=utf-8");
	r.body = body.ptr;
	r.body_len = body.len;
	if (aws_call(c, &r, resp, e) < 0)
		goto done;
	if (xml_parse(root, resp->body.ptr, resp->body.len, e) < 0) {
		err_wrap(e, "%s %s: the answer is not XML (request ID %s)",
			 service, action,
			 resp->request_id ? resp->request_id : "none");
		goto done;
	}
	*result = xml_find(*root, result_name);
	if (!*result) {
		err_set(e, ERR_REMOTE, "%s %s: the answer has no <%s> "
			"(request ID %s)", service, action, result_name,
			resp->request_id ? resp->request_id : "none");
		goto done;
	}
	if (!resp->request_id) {
		const char *id = xml_text(*root, "ResponseMetadata/RequestId");

		resp->request_id = id ? xstrdup(id) : NULL;
	}
	rc = 0;
done:
	if (rc < 0) {
		xml_free(*root);
		*root = NULL;
		*result = NULL;
	}
	free(result_name);
	buf_release(&body);
	strv_release(&all);
	strv_release(&headers);
	if (!resp_in)
		aws_resp_release(&local);
	return rc;
}

int aws_json_call(struct aws_client *c, const char *service,
		  const char *signing_name, const char *target,
		  const json_t *body, json_t **out, struct aws_resp *resp,
		  struct err *e)
{
	struct strv headers = STRV_INIT;
	char *text = json_dumps(body, JSON_COMPACT);
	const char *op = strrchr(target, '.');
	struct aws_req r = {
		.service = service, .signing_name = signing_name,
		.operation = op ? op + 1 : target, .proto = AWS_PROTO_JSON,
		.method = "POST", .path = "/", .headers = &headers,
		.body = text, .body_len = text ? strlen(text) : 0,
	};
	json_error_t je;
	int rc = -1;

	*out = NULL;
	strv_push(&headers, "Content-Type:application/x-amz-json-1.1");
	strv_pushf(&headers, "X-Amz-Target:%s", target);
	if (aws_call(c, &r, resp, e) < 0)
		goto done;
	*out = json_loadb(resp->body.ptr, resp->body.len, 0, &je);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		err_set(e, ERR_REMOTE, "%s %s: the answer is not a JSON object "
			"(request ID %s)", service, r.operation,
			resp->request_id ? resp->request_id : "none");
		goto done;
	}
	rc = 0;
done:
	free(text);
	strv_release(&headers);
	return rc;
}
