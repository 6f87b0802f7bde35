/*
 * gantry aws: AWS operations with the AWS CLI's names, flags, output
 * shapes and exit codes (252 usage, 253 configuration, 254 an error from
 * the service, 255 anything else), on lib/aws/.
 *   gantry aws sts get-caller-identity [global options]
 * Global options: --region, --profile, --endpoint-url, --output
 * json|text, --ca-bundle, --cli-connect-timeout, --cli-read-timeout.
 * Operations are a table: service, operation, function.
 */
#include "cli.h"
#include "../lib/aws/aws.h"
#include "../lib/aws/creds.h"
#include "../lib/aws/sts.h"
#include "../lib/util.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 252
#define EXIT_CONFIG 253
#define EXIT_SERVICE 254
#define EXIT_OTHER 255

struct aws_cli {
	const char *region, *profile, *endpoint_url, *output, *ca_bundle;
	long connect_ms, read_ms;
};

struct aws_op {
	const char *service;
	const char *name;
	const char *summary;
	int (*fn)(const struct aws_cli *g, int argc, char **argv);
};

static int op_sts_get_caller_identity(const struct aws_cli *g, int argc,
				      char **argv);

static const struct aws_op ops[] = {
	{ "sts", "get-caller-identity",
	  "whose credentials the chain finds",
	  op_sts_get_caller_identity },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: gantry aws SERVICE OPERATION [--region R] [--profile P]\n"
		"           [--endpoint-url URL] [--output json|text] [--ca-bundle FILE]\n"
		"           [--cli-connect-timeout S] [--cli-read-timeout S]\n\n"
		"AWS operations with the AWS CLI's names, flags and output.\n"
		"Credentials come from AWS's default chain: environment, the\n"
		"profile's role, web identity, the profile's keys, container\n"
		"credentials, EC2 instance metadata (IMDSv2).\n\nOperations:\n");
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		fprintf(f, "  %s %-22s %s\n", ops[i].service, ops[i].name,
			ops[i].summary);
	fprintf(f, "\nExit status: 0 success, 252 usage, 253 configuration, "
		"254 an error\nfrom AWS, 255 anything else (as the AWS CLI).\n");
}

/* AWS CLI's JSON: 4-space indent, keys in the service's order. */
static void print_json(const json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(4) | JSON_PRESERVE_ORDER);

	if (s)
		printf("%s\n", s);
	free(s);
}

/* AWS CLI's text: the values of a flat object, tab-separated, in the
 * order of the sorted keys. */
static void print_text(const json_t *v)
{
	const char **keys = xcalloc(json_object_size(v) + 1, sizeof(*keys));
	const char *k;
	json_t *x;
	size_t n = 0;

	json_object_foreach((json_t *)v, k, x)
		keys[n++] = k;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
			const char *t = keys[j];

			keys[j] = keys[j - 1];
			keys[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i ? "\t" : "",
		       json_string_value(json_object_get(v, keys[i])) ?
		       json_string_value(json_object_get(v, keys[i])) : "");
	printf("\n");
	free(keys);
}

static void print_result(const struct aws_cli *g, const json_t *v)
{
	if (g->output && strcmp(g->output, "text") == 0)
		print_text(v);
	else
		print_json(v);
}

static int client_for(struct aws_client **c, struct aws_credp **cp,
		      const struct aws_cli *g, struct err *e)
{
	struct aws_chain_opts co = {
		.profile = g->profile, .region = g->region,
		.endpoint_url = g->endpoint_url,
	};
	struct aws_client_opts o = {
		.region = g->region, .profile = g->profile,
		.endpoint_url = g->endpoint_url, .ca_bundle = g->ca_bundle,
		.connect_timeout_ms = g->connect_ms, .timeout_ms = g->read_ms,
	};

	aws_credp_chain(cp, &co);
	o.creds = *cp;
	return aws_client_new(c, &o, e);
}

static int exit_for(const struct err *e)
{
	switch (e->code) {
	case ERR_INVALID:
	case ERR_SYNTAX:
	case ERR_NOT_FOUND:
		return EXIT_CONFIG;
	case ERR_AUTH:
	case ERR_REMOTE:
		return EXIT_SERVICE;
	default:
		return EXIT_OTHER;
	}
}

static int op_sts_get_caller_identity(const struct aws_cli *g, int argc,
				      char **argv)
{
	struct aws_client *c = NULL;
	struct aws_credp *cp = NULL;
	struct aws_identity id = { 0 };
	struct err e = ERR_INIT;
	json_t *out;
	int ret;

	if (argc > 0) {
		fprintf(stderr, "gantry aws sts get-caller-identity: unexpected "
			"argument '%s'\n", argv[0]);
		return EXIT_USAGE;
	}
	if (client_for(&c, &cp, g, &e) < 0 ||
	    aws_sts_get_caller_identity(&id, c, NULL, &e) < 0) {
		fprintf(stderr, "gantry aws sts get-caller-identity: %s\n", e.msg);
		ret = exit_for(&e);
		goto done;
	}
	out = json_object();
	json_object_set_new(out, "UserId", json_string(id.user_id ? id.user_id : ""));
	json_object_set_new(out, "Account", json_string(id.account));
	json_object_set_new(out, "Arn", json_string(id.arn));
	print_result(g, out);
	json_decref(out);
	ret = 0;
done:
	aws_identity_release(&id);
	aws_client_free(c);
	aws_credp_free(cp);
	return ret;
}

static int seconds_ms(const char *s, long *out)
{
	long v;

	if (str_to_long(s, &v) < 0 || v < 0 || v > 3600)
		return -1;
	*out = v * 1000;
	return 0;
}

int cmd_aws(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "region", required_argument, NULL, 'r' },
		{ "profile", required_argument, NULL, 'p' },
		{ "endpoint-url", required_argument, NULL, 'u' },
		{ "output", required_argument, NULL, 'o' },
		{ "ca-bundle", required_argument, NULL, 'c' },
		{ "cli-connect-timeout", required_argument, NULL, 'C' },
		{ "cli-read-timeout", required_argument, NULL, 'R' },
		{ "no-verify-ssl", no_argument, NULL, 'V' },
		{ "query", required_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct aws_cli g = { 0 };
	char **rest = xcalloc((size_t)argc + 1, sizeof(*rest));
	int nrest = 0, c, ret = EXIT_USAGE;

	optind = 1;
	opterr = 0;
	/* "+": stop at nothing; operands are collected in order */
	while (optind < argc) {
		if ((c = getopt_long(argc, argv, "-h", opts, NULL)) == -1)
			break;
		switch (c) {
		case 1: rest[nrest++] = optarg; break;
		case 'r': g.region = optarg; break;
		case 'p': g.profile = optarg; break;
		case 'u': g.endpoint_url = optarg; break;
		case 'c': g.ca_bundle = optarg; break;
		case 'o':
			if (strcmp(optarg, "json") && strcmp(optarg, "text")) {
				fprintf(stderr, "gantry aws: --output %s: json and "
					"text are supported\n", optarg);
				goto done;
			}
			g.output = optarg;
			break;
		case 'C':
		case 'R':
			if (seconds_ms(optarg, c == 'C' ? &g.connect_ms :
				       &g.read_ms) < 0) {
				fprintf(stderr, "gantry aws: %s: expected seconds "
					"from 0 to 3600\n", optarg);
				goto done;
			}
			break;
		case 'V':
			fprintf(stderr, "gantry aws: --no-verify-ssl is refused: "
				"TLS verification stays on; give the "
				"endpoint's CA with --ca-bundle\n");
			goto done;
		case 'q':
			fprintf(stderr, "gantry aws: --query is not supported "
				"yet; pipe the JSON output to jq\n");
			goto done;
		case 'h':
			usage(stdout);
			ret = 0;
			goto done;
		default:
			fprintf(stderr, "gantry aws: unknown option '%s'\n",
				argv[optind - 1]);
			usage(stderr);
			goto done;
		}
	}
	while (optind < argc)
		rest[nrest++] = argv[optind++];
	if (nrest < 2) {
		usage(stderr);
		goto done;
	}
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		if (!strcmp(ops[i].service, rest[0]) &&
		    !strcmp(ops[i].name, rest[1])) {
			ret = ops[i].fn(&g, nrest - 2, rest + 2);
			goto done;
		}
	fprintf(stderr, "gantry aws: unknown operation '%s %s'\n", rest[0],
		rest[1]);
	usage(stderr);
done:
	free(rest);
	return ret;
}
