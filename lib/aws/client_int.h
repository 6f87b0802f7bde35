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

#endif
