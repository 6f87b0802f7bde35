/* libFuzzer target: what gantry reads from AWS and from the AWS config
 * files: error answers of every protocol (XML and JSON), STS results, the
 * credential endpoints' JSON, and the INI profile files. The first byte
 * picks the reader. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/aws/aws.h"
#include "../../lib/aws/profile.h"
#include "../../lib/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aws_resp r;
	struct strv kv = STRV_INIT;
	struct err e = ERR_INIT;
	struct xml *root = NULL;
	char *text;
	bool found;
	long long t;

	if (size < 1 || size > (1u << 20))
		return 0;
	text = xstrndup((const char *)data + 1, size - 1);
	switch (data[0] % 4) {
	case 0:
	case 1:
		aws_resp_init(&r);
		r.status = 400 + data[0] % 120;
		buf_add(&r.body, data + 1, size - 1);
		aws_error_parse(&r, data[0] % 2 ? AWS_PROTO_JSON :
				(data[0] & 2) ? AWS_PROTO_QUERY : AWS_PROTO_REST_XML);
		aws_resp_release(&r);
		break;
	case 2:
		/* an STS answer as aws_query_call reads it */
		if (xml_parse(&root, text, strlen(text), &e) == 0) {
			const struct xml *res = xml_find(root, "AssumeRoleWithWebIdentityResult");
			const char *exp = res ? xml_text(res, "Credentials/Expiration") : NULL;

			if (exp)
				aws_time_parse(&t, exp);
			xml_text(root, "ResponseMetadata/RequestId");
			xml_free(root);
		}
		aws_time_parse(&t, text);
		break;
	default:
		aws_ini_section(&kv, text, "profile ci", &found, "fuzz", &e);
		aws_ini_section(&kv, text, "default", &found, "fuzz", &e);
		strv_release(&kv);
		break;
	}
	free(text);
	return 0;
}
