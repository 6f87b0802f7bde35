/*
 * agent_api: the parts of the agent's HTTP port behind the API token
 * (/runs) and /metrics, and the answer helpers agent_http.c shares.
 */
#ifndef GANTRY_AGENT_API_H
#define GANTRY_AGENT_API_H

#include <microhttpd.h>
#include <jansson.h>

#include "agent.h"
#include "http_reply.h"

#define AGENT_API_MAX_BODY (1024 * 1024)


/* /runs and below; body is the request's (NUL-terminated). */
enum MHD_Result agent_api(struct agent *ag, struct MHD_Connection *c,
			  const char *url, const char *method,
			  const char *body, size_t len);
/* GET /metrics */
enum MHD_Result agent_metrics(struct agent *ag, struct MHD_Connection *c);

#endif
