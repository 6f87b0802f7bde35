/*
 * endpoint: where each service is (see aws_endpoint in aws.h).
 *
 * Precedence, as AWS's SDKs have it: an endpoint given to the client
 * (--endpoint-url), then AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL,
 * the profile's endpoint_url (none of the last three when
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true), then AWS's own endpoint
 * for the region.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../util.h"
#include "aws.h"
#include "client_int.h"

/* Service ids whose default host differs from "<id>.<region>.<domain>". */
static const struct {
	const char *id;
	const char *env;	/* AWS_ENDPOINT_URL_<env> */
	const char *host;	/* NULL: "<id>.<region>." */
} services[] = {
	{ "sts", "STS", NULL },
	{ "s3", "S3", NULL },
	{ "ecr", "ECR", "api.ecr" },
	{ "ecs", "ECS", NULL },
	{ "cloudfront", "CLOUDFRONT", NULL },
	{ "iam", "IAM", NULL },
};

static bool truthy(const char *v)
{
	return v && (str_casecmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

static char *strip_slash(const char *url)
{
	size_t n = strlen(url);

	while (n && url[n - 1] == '/')
		n--;
	return xstrndup(url, n);
}

static char *service_env(const char *service)
{
	char *name = xasprintf("AWS_ENDPOINT_URL_%s", service);

	for (char *p = name; *p; p++)
		*p = *p == '-' || *p == ' ' ? '_' :
		     (char)toupper((unsigned char)*p);
	return name;
}

int aws_endpoint(char **out, const struct aws_client *c, const char *service,
		 struct err *e)
{
	const char *region = aws_client_region(c), *v, *host = NULL;
	const char *domain;

	*out = NULL;
	if (c->endpoint_url && *c->endpoint_url) {
		*out = strip_slash(c->endpoint_url);
		return 0;
	}
	if (!truthy(aws_client_getenv(c, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"))) {
		char *name = service_env(service);

		v = aws_client_getenv(c, name);
		free(name);
		if (!v || !*v)
			v = aws_client_getenv(c, "AWS_ENDPOINT_URL");
		if (!v || !*v)
			v = aws_profile_get(&c->profile, "endpoint_url");
		if (v && *v) {
			*out = strip_slash(v);
			return 0;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(services); i++)
		if (strcmp(services[i].id, service) == 0)
			host = services[i].host;
	if (strcmp(service, "cloudfront") == 0) {
		*out = xstrdup("https://cloudfront.amazonaws.com");
		return 0;
	}
	if (!region || !*region) {
		if (strcmp(service, "sts") == 0) {
			*out = xstrdup("https://sts.amazonaws.com");
			return 0;
		}
		return err_set(e, ERR_INVALID, "no AWS region for %s: set "
			       "AWS_REGION (or aws-region, --region)", service);
	}
	for (const char *p = region; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-')
			return err_set(e, ERR_INVALID, "the AWS region '%s' is "
				       "not a region name", region);
	domain = str_starts_with(region, "cn-") ? "amazonaws.com.cn" :
		 "amazonaws.com";
	*out = xasprintf("https://%s.%s.%s", host ? host : service, region,
			 domain);
	return 0;
}

const char *aws_signing_region(const struct aws_client *c, const char *service)
{
	const char *region = aws_client_region(c);

	if (strcmp(service, "cloudfront") == 0 || strcmp(service, "iam") == 0)
		return "us-east-1";
	return region && *region ? region : "us-east-1";
}
