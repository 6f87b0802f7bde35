/*
 * http_reply: answers for libmicrohttpd handlers, shared by the agent's
 * port and the OIDC endpoint of gantry run: never cached (they carry
 * runs' states, tokens, keys), JSON or text.
 */
#include "http_reply.h"

#include "../lib/util.h"

#include <string.h>

enum MHD_Result http_answer(struct MHD_Connection *c, unsigned status,
			    const char *type, char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		strlen(body), body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result http_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	if (!s)
		s = xstrdup("{}");
	return http_answer(c, status, "application/json", s);
}

enum MHD_Result http_error(struct MHD_Connection *c, unsigned status,
			   const char *msg)
{
	return http_json(c, status, json_pack("{s:s}", "error", msg));
}
