/*
 * gantry oidc: the issuer's public documents and keys.
 *   gantry oidc discovery --issuer URL [--out DIR]
 *   gantry oidc publish s3://BUCKET[/PREFIX] --issuer URL [AWS options]
 *   gantry oidc rotate
 * Common: --state-dir DIR (default ~/.local/share/gantry/oidc),
 * --alg RS256|ES256 (for a new keyring or key), --lifetime SECONDS (the
 * longest token lifetime, which decides how long a retired key stays
 * published; default 600).
 */
#include "cli.h"
#include "oidc.h"
#include "../lib/aws/aws.h"
#include "../lib/aws/creds.h"
#include "../lib/aws/s3.h"
#include "../lib/fs.h"
#include "../lib/util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXIT_USAGE 2

static const char oidc_usage[] =
"usage: gantry oidc discovery --issuer URL [--out DIR]\n"
"       gantry oidc publish s3://BUCKET[/PREFIX] --issuer URL [--region R]\n"
"                   [--profile P] [--endpoint-url URL]\n"
"       gantry oidc rotate\n"
"options for all: [--state-dir DIR] [--alg RS256|ES256] [--lifetime SECONDS]\n"
"\n"
"gantry signs jobs' OIDC tokens (permissions: id-token: write) with keys in\n"
"its state folder (~/.local/share/gantry/oidc). AWS checks a token against\n"
"the issuer's discovery document and keys, fetched from\n"
"  ISSUER/.well-known/openid-configuration and ISSUER/.well-known/jwks.\n"
"discovery prints both (or writes them under DIR, ready to serve); publish\n"
"uploads them to S3, where ISSUER is the bucket's (or CloudFront's) URL;\n"
"rotate makes a new signing key and keeps the old one published until the\n"
"tokens it signed have expired (publish again after rotating).\n";

struct oidc_args {
	const char *issuer, *state_dir, *out, *region, *profile, *endpoint;
	enum jwt_alg alg;
	long lifetime;
};

static int write_docs(const char *dir, const json_t *disc, const json_t *jwks,
		      struct err *e)
{
	char *wk = fs_join(dir, ".well-known");
	char *p1 = fs_join(wk, "openid-configuration"), *p2 = fs_join(wk, "jwks");
	char *d = json_dumps(disc, JSON_INDENT(2)), *k = json_dumps(jwks, JSON_INDENT(2));
	int rc = -1;

	if (fs_mkdirs(wk, 0755, e) == 0 &&
	    fs_write_file(p1, d, strlen(d), 0644, e) == 0 &&
	    fs_write_file(p2, k, strlen(k), 0644, e) == 0)
		rc = 0;
	free(wk);
	free(p1);
	free(p2);
	free(d);
	free(k);
	return rc;
}

static int publish(const struct oidc_args *a, const char *url,
		   const json_t *disc, const json_t *jwks, struct err *e)
{
	struct aws_credp *cp = NULL;
	struct aws_client *c = NULL;
	struct aws_chain_opts co = { .profile = a->profile, .region = a->region,
				     .endpoint_url = a->endpoint };
	struct aws_client_opts o = { .region = a->region, .profile = a->profile,
				     .endpoint_url = a->endpoint };
	const json_t *docs[2] = { disc, jwks };
	const char *names[2] = { "openid-configuration", "jwks" };
	char *bucket = NULL, *prefix = NULL;
	int rc = -1;

	if (aws_s3_url_parse(&bucket, &prefix, url, e) < 0)
		return -1;
	aws_credp_chain(&cp, &co);
	o.creds = cp;
	if (aws_client_new(&c, &o, e) < 0)
		goto done;
	for (int i = 0; i < 2; i++) {
		char *body = json_dumps(docs[i], JSON_INDENT(2));
		char *key = xasprintf("%s%s.well-known/%s", prefix,
				      *prefix ? "/" : "", names[i]);
		struct aws_s3_put p = {
			.bucket = bucket, .key = key, .body = body,
			.len = strlen(body), .content_type = "application/json",
			.cache_control = "max-age=300",
		};
		struct aws_resp resp;
		int r;

		aws_resp_init(&resp);
		r = aws_s3_put_object(c, &p, &resp, e);
		if (r == 0)
			printf("uploaded s3://%s/%s\n", bucket, key);
		aws_resp_release(&resp);
		free(body);
		free(key);
		if (r < 0)
			goto done;
	}
	rc = 0;
done:
	aws_client_free(c);
	aws_credp_free(cp);
	free(bucket);
	free(prefix);
	return rc;
}

int cmd_oidc(int argc, char **argv)
{
	enum { O_ISSUER = 256, O_STATE, O_OUT, O_ALG, O_LIFETIME, O_REGION,
	       O_PROFILE, O_ENDPOINT };
	static const struct option opts[] = {
		{ "issuer", required_argument, NULL, O_ISSUER },
		{ "state-dir", required_argument, NULL, O_STATE },
		{ "out", required_argument, NULL, O_OUT },
		{ "alg", required_argument, NULL, O_ALG },
		{ "lifetime", required_argument, NULL, O_LIFETIME },
		{ "region", required_argument, NULL, O_REGION },
		{ "profile", required_argument, NULL, O_PROFILE },
		{ "endpoint-url", required_argument, NULL, O_ENDPOINT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct oidc_args a = { .alg = JWT_RS256, .lifetime = OIDC_LIFETIME_DEFAULT };
	struct oidc_issuer *is = NULL;
	struct err e = ERR_INIT;
	const char *action, *target = NULL;
	json_t *disc = NULL, *jwks = NULL;
	int c, ret = EXIT_USAGE;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(oidc_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	action = argv[1];
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_ISSUER: a.issuer = optarg; break;
		case O_STATE: a.state_dir = optarg; break;
		case O_OUT: a.out = optarg; break;
		case O_REGION: a.region = optarg; break;
		case O_PROFILE: a.profile = optarg; break;
		case O_ENDPOINT: a.endpoint = optarg; break;
		case O_ALG:
			if (jwt_alg_parse(&a.alg, optarg, &e) < 0) {
				fprintf(stderr, "gantry oidc: --alg %s: RS256 or "
					"ES256\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case O_LIFETIME:
			if (str_to_long(optarg, &a.lifetime) < 0 ||
			    a.lifetime < 60 || a.lifetime > 86400) {
				fprintf(stderr, "gantry oidc: --lifetime %s: seconds "
					"from 60 to 86400\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			fputs(oidc_usage, stdout);
			return 0;
		default:
			fputs(oidc_usage, stderr);
			return EXIT_USAGE;
		}
	}
	/* operands come last once getopt has permuted them */
	if (optind < argc - 1)
		target = argv[1 + optind];
	if (target && strcmp(action, "publish") != 0) {
		fprintf(stderr, "gantry oidc %s: unexpected argument '%s'\n",
			action, target);
		return EXIT_USAGE;
	}
	if (strcmp(action, "discovery") && strcmp(action, "publish") &&
	    strcmp(action, "rotate")) {
		fprintf(stderr, "gantry oidc: unknown action '%s'\n%s", action,
			oidc_usage);
		return EXIT_USAGE;
	}
	if (strcmp(action, "rotate") && !a.issuer) {
		fprintf(stderr, "gantry oidc %s: --issuer URL is required: the "
			"URL AWS fetches the documents from\n", action);
		return EXIT_USAGE;
	}
	if (!strcmp(action, "publish") && !target) {
		fprintf(stderr, "gantry oidc publish: where to? "
			"s3://BUCKET[/PREFIX]\n");
		return EXIT_USAGE;
	}
	{
		struct oidc_opts oo = { .issuer = a.issuer, .state_dir = a.state_dir,
					.alg = a.alg, .lifetime = a.lifetime };

		if (oidc_issuer_new(&is, &oo, &e) < 0)
			goto fail;
	}
	if (!strcmp(action, "rotate")) {
		if (oidc_rotate(is, a.alg, &e) < 0)
			goto fail;
		printf("new signing key %s; publish the keys again\n",
		       oidc_current_kid(is));
		ret = 0;
		goto done;
	}
	disc = oidc_discovery(a.issuer, oidc_alg(is));
	jwks = oidc_jwks(is);
	if (!strcmp(action, "publish")) {
		if (publish(&a, target, disc, jwks, &e) < 0)
			goto fail;
	} else if (a.out) {
		if (write_docs(a.out, disc, jwks, &e) < 0)
			goto fail;
		printf("wrote %s/.well-known/openid-configuration and "
		       "%s/.well-known/jwks\n", a.out, a.out);
	} else {
		char *d = json_dumps(disc, JSON_INDENT(2));
		char *k = json_dumps(jwks, JSON_INDENT(2));

		printf("# %s/.well-known/openid-configuration\n%s\n"
		       "# %s/.well-known/jwks\n%s\n", a.issuer, d, a.issuer, k);
		free(d);
		free(k);
	}
	ret = 0;
	goto done;
fail:
	fprintf(stderr, "gantry oidc %s: %s\n", action, e.msg);
	ret = 1;
done:
	json_decref(disc);
	json_decref(jwks);
	oidc_issuer_free(is);
	return ret;
}
