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
#include "aws_cli.h"
#include "../lib/aws/aws.h"
#include "../lib/aws/creds.h"
#include "../lib/aws/sts.h"
#include "../lib/util.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	{ "s3", "sync", "make a prefix or folder the same as another",
	  aws_s3_sync_cmd },
	{ "s3", "cp", "copy files and objects", aws_s3_cp_cmd },
	{ "s3", "ls", "list buckets, prefixes or objects", aws_s3_ls_cmd },
	{ "s3", "rm", "delete objects", aws_s3_rm_cmd },
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
void aws_cli_print_json(const json_t *v)
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
		aws_cli_print_json(v);
}

int aws_cli_client(struct aws_client **c, struct aws_credp **cp,
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

int aws_cli_exit(const struct err *e)
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
	if (aws_cli_client(&c, &cp, g, &e) < 0 ||
	    aws_sts_get_caller_identity(&id, c, NULL, &e) < 0) {
		fprintf(stderr, "gantry aws sts get-caller-identity: %s\n", e.msg);
		ret = aws_cli_exit(&e);
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

/* A global option at argv[*i] ("--region R" or "--region=R"): 1 taken
 * (and *i moved past it), 0 not a global option, -1 refused (message
 * printed). Global options may stand anywhere, as the AWS CLI allows. */
static int take_global(struct aws_cli *g, int *i, int argc, char **argv)
{
	static const char *const with_value[] = {
		"--region", "--profile", "--endpoint-url", "--output",
		"--ca-bundle", "--cli-connect-timeout", "--cli-read-timeout",
		"--query",
	};
	const char *a = argv[*i], *eq = strchr(a, '='), *v = NULL;
	size_t n = eq ? (size_t)(eq - a) : strlen(a);
	size_t k;

	if (!strcmp(a, "--no-verify-ssl")) {
		fprintf(stderr, "gantry aws: --no-verify-ssl is refused: TLS "
			"verification stays on; give the endpoint's CA with "
			"--ca-bundle\n");
		return -1;
	}
	for (k = 0; k < ARRAY_SIZE(with_value); k++)
		if (strlen(with_value[k]) == n && !strncmp(a, with_value[k], n))
			break;
	if (k == ARRAY_SIZE(with_value))
		return 0;
	if (eq)
		v = eq + 1;
	else if (*i + 1 < argc)
		v = argv[++*i];
	if (!v) {
		fprintf(stderr, "gantry aws: %.*s needs a value\n", (int)n, a);
		return -1;
	}
	(*i)++;
	switch (k) {
	case 0: g->region = v; break;
	case 1: g->profile = v; break;
	case 2: g->endpoint_url = v; break;
	case 3:
		if (strcmp(v, "json") && strcmp(v, "text")) {
			fprintf(stderr, "gantry aws: --output %s: json and text are "
				"supported\n", v);
			return -1;
		}
		g->output = v;
		break;
	case 4: g->ca_bundle = v; break;
	case 5:
	case 6:
		if (seconds_ms(v, k == 5 ? &g->connect_ms : &g->read_ms) < 0) {
			fprintf(stderr, "gantry aws: %.*s %s: expected seconds from "
				"0 to 3600\n", (int)n, a, v);
			return -1;
		}
		break;
	default:
		fprintf(stderr, "gantry aws: --query is not supported yet; pipe "
			"the JSON output to jq\n");
		return -1;
	}
	return 1;
}

int cmd_aws(int argc, char **argv)
{
	struct aws_cli g = { 0 };
	char **rest = xcalloc((size_t)argc + 1, sizeof(*rest));
	int nrest = 0, ret = EXIT_USAGE;

	for (int i = 1; i < argc;) {
		int t = take_global(&g, &i, argc, argv);

		if (t < 0)
			goto done;
		if (t > 0)
			continue;
		if (nrest < 2 && (!strcmp(argv[i], "--help") ||
				  !strcmp(argv[i], "-h"))) {
			usage(stdout);
			ret = 0;
			goto done;
		}
		if (nrest < 2 && argv[i][0] == '-') {
			fprintf(stderr, "gantry aws: unknown option '%s'\n", argv[i]);
			usage(stderr);
			goto done;
		}
		rest[nrest++] = argv[i++];
	}
	if (nrest < 2) {
		usage(stderr);
		goto done;
	}
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		if (!strcmp(ops[i].service, rest[0]) &&
		    !strcmp(ops[i].name, rest[1])) {
			optind = 0;	/* the operation parses its own flags */
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
