/*
 * error: reading AWS's error answers, for every protocol (see aws.h).
 * The body is untrusted: parsed with lib/xml.c or jansson, bounded by the
 * response cap, and any body at all yields a code (from the status when
 * the body says nothing), never a failure. Fuzzed by tests/fuzz/fuzz_aws.c.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../util.h"
#include "aws.h"

/* Codes of standard retry mode (AWS SDKs' reference), besides 5xx. */
static const char *const throttling[] = {
	"Throttling", "ThrottlingException", "ThrottledException",
	"RequestThrottledException", "TooManyRequestsException",
	"ProvisionedThroughputExceededException",
	"TransactionInProgressException", "RequestLimitExceeded",
	"BandwidthLimitExceeded", "LimitExceededException",
	"RequestThrottled", "SlowDown", "PriorRequestNotComplete",
	"EC2ThrottledException",
};
static const char *const transient[] = {
	"RequestTimeout", "RequestTimeoutException", "InternalError",
	"InternalFailure", "ServiceUnavailable", "IDPCommunicationError",
};

static bool in_list(const char *code, const char *const *list, size_t n)
{
	for (size_t i = 0; code && i < n; i++)
		if (strcmp(code, list[i]) == 0)
			return true;
	return false;
}

bool aws_retryable(long status, const char *code)
{
	if (status == 0)
		return true;	/* no answer: connection refused, reset, timeout */
	if (in_list(code, throttling, ARRAY_SIZE(throttling)) ||
	    in_list(code, transient, ARRAY_SIZE(transient)))
		return true;
	return status == 500 || status == 502 || status == 503 ||
	       status == 504 || status == 429;
}

static void set_str(char **dst, const char *s)
{
	if (!s || !*s)
		return;
	free(*dst);
	*dst = xstrdup(s);
}

/* query:    <ErrorResponse><Error><Code/><Message/></Error><RequestId/>
 *           (also <Response><Errors><Error>... as EC2 writes it)
 * rest-xml: <Error><Code/><Message/><RequestId/></Error> */
static void from_xml(struct aws_resp *r)
{
	struct xml *root = NULL;
	const struct xml *err;
	struct err ignore = ERR_INIT;

	if (xml_parse(&root, r->body.ptr, r->body.len, &ignore) < 0)
		return;
	err = strcmp(root->name, "Error") == 0 ? root :
	      xml_find(root, "Error") ? xml_find(root, "Error") :
	      xml_find(root, "Errors/Error");
	if (err) {
		set_str(&r->code, xml_text(err, "Code"));
		set_str(&r->message, xml_text(err, "Message"));
		if (!r->request_id)
			set_str(&r->request_id, xml_text(err, "RequestId"));
	}
	if (!r->request_id)
		set_str(&r->request_id, xml_text(root, "RequestId"));
	if (!r->request_id)
		set_str(&r->request_id, xml_text(root, "RequestID"));
	xml_free(root);
}

/* json: {"__type": "prefix#Code" | "Code:uri", "message"|"Message": ...}
 * or {"code": ..., "message": ...} (credential endpoints) */
static void from_json(struct aws_resp *r)
{
	json_t *j = json_loadb(r->body.ptr, r->body.len, JSON_DISABLE_EOF_CHECK,
			       NULL);
	const char *type, *msg;

	if (!json_is_object(j)) {
		json_decref(j);
		return;
	}
	type = json_string_value(json_object_get(j, "__type"));
	if (!type)
		type = json_string_value(json_object_get(j, "code"));
	if (!type)
		type = json_string_value(json_object_get(j, "Code"));
	if (type) {
		const char *hash = strrchr(type, '#');
		char *code = xstrdup(hash ? hash + 1 : type), *colon;

		if ((colon = strchr(code, ':')))
			*colon = '\0';
		set_str(&r->code, code);
		free(code);
	}
	msg = json_string_value(json_object_get(j, "message"));
	if (!msg)
		msg = json_string_value(json_object_get(j, "Message"));
	if (!msg)
		msg = json_string_value(json_object_get(j, "errorMessage"));
	set_str(&r->message, msg);
	json_decref(j);
}

static const char *status_code(long status)
{
	switch (status) {
	case 400: return "BadRequest";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "NotFound";
	case 405: return "MethodNotAllowed";
	case 409: return "Conflict";
	case 412: return "PreconditionFailed";
	case 413: return "RequestEntityTooLarge";
	case 429: return "TooManyRequests";
	case 500: return "InternalError";
	case 502: return "BadGateway";
	case 503: return "ServiceUnavailable";
	case 504: return "GatewayTimeout";
	default: return "HTTPError";
	}
}

void aws_error_parse(struct aws_resp *r, enum aws_proto proto)
{
	const char *h;

	if (r->body.len) {
		if (proto == AWS_PROTO_JSON || proto == AWS_PROTO_REST_JSON)
			from_json(r);
		else
			from_xml(r);
	}
	/* JSON services may name the error in a header only */
	if (!r->code && (h = aws_resp_header(r, "x-amzn-errortype"))) {
		char *code = xstrdup(h), *colon = strchr(code, ':');

		if (colon)
			*colon = '\0';
		set_str(&r->code, code);
		free(code);
	}
	if (!r->code)
		set_str(&r->code, status_code(r->status));
}
