/*
 * client_int: the inside of struct aws_client, shared by lib/aws/client.c
 * and lib/aws/endpoint.c. Not for use elsewhere.
 */
#ifndef GANTRY_AWS_CLIENT_INT_H
#define GANTRY_AWS_CLIENT_INT_H

#include <pthread.h>
#include <stdbool.h>

#include <curl/curl.h>

#include "../strv.h"
#include "aws.h"
#include "profile.h"

struct aws_client {
	struct strv env;		/* owned copy; has_env: use it */
	bool has_env;
	char *region;			/* owned; NULL when none is known */
	char *endpoint_url;		/* owned; NULL when not given */
	char *ca_bundle;		/* owned; NULL: the system's */
	struct aws_profile profile;	/* owned */
	struct aws_credp *creds;	/* borrowed */
	int max_attempts;
	long backoff_base_ms;
	long connect_timeout_ms;
	long timeout_ms;
	pthread_mutex_t lock;		/* guards curl */
	CURL *curl;			/* owned; one call at a time */
};

/* A request ready to send: its URL and every header, signed. */
struct aws_prepared {
	char *url;
	struct strv headers;
};

/* Endpoint, Host, signature (anew: the date is now). */
int aws_prepare(struct aws_prepared *out, struct aws_client *c,
		const struct aws_req *r, struct err *e);
void aws_prepared_release(struct aws_prepared *p);
/* Every option of one attempt on handle h; *hl (curl's header list) is
 * the caller's to free after the transfer; errbuf CURL_ERROR_SIZE. The
 * body goes to resp->body and the headers to resp->headers. */
void aws_curl_setup(CURL *h, struct aws_client *c, const struct aws_req *r,
		    const struct aws_prepared *p, struct aws_resp *resp,
		    struct curl_slist **hl, char *errbuf);
/* libcurl's header callback filling resp->headers (userdata: resp). */
size_t aws_on_header(char *data, size_t size, size_t nmemb, void *p);
/* A transfer that got no answer, as an error for r. */
void aws_transport_error(struct err *e, const struct aws_req *r, CURLcode cc,
			 const char *errbuf);
/* The request ID from the answer's headers into resp->request_id. */
void aws_request_id(struct aws_resp *resp);
/* A service's error answer as e ("service operation: Code: message (HTTP
 * status, request ID id[, N attempts])"). */
void aws_error_message(struct err *e, const struct aws_req *r,
		       const struct aws_resp *resp, bool exhausted);
/* Full-jitter backoff before attempt + 1, in ms. */
long aws_backoff_ms(const struct aws_client *c, int attempt);
/* Empty resp for another attempt, keeping its attempt count. */
void aws_resp_reset(struct aws_resp *r);

#endif
