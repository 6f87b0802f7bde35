/*
 * http_reply: queueing an answer on a libmicrohttpd connection, with
 * "Cache-Control: no-store". Each queues the response and drops its own
 * reference; the return value is the handler's.
 */
#ifndef GANTRY_HTTP_REPLY_H
#define GANTRY_HTTP_REPLY_H

#include <microhttpd.h>
#include <jansson.h>

/* body owned (freed by MHD); j's reference stolen. */
enum MHD_Result http_answer(struct MHD_Connection *c, unsigned status,
			    const char *type, char *body);
enum MHD_Result http_json(struct MHD_Connection *c, unsigned status, json_t *j);
/* {"error": msg} */
enum MHD_Result http_error(struct MHD_Connection *c, unsigned status,
			   const char *msg);

#endif
