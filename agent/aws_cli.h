/*
 * aws_cli: what the `gantry aws` operations share (agent/cmd_aws.c,
 * agent/cmd_aws_s3.c): the global options, a client on AWS's credential
 * chain, the AWS CLI's output and exit codes.
 */
#ifndef GANTRY_AWS_CLI_H
#define GANTRY_AWS_CLI_H

#include <jansson.h>

#include "../lib/aws/aws.h"
#include "../lib/aws/creds.h"

#define EXIT_USAGE 252
#define EXIT_CONFIG 253
#define EXIT_SERVICE 254
#define EXIT_OTHER 255

struct aws_cli {
	const char *region, *profile, *endpoint_url, *output, *ca_bundle;
	long connect_ms, read_ms;
};

/* A client for g's options, credentials from the default chain (*cp,
 * freed by the caller after the client). */
int aws_cli_client(struct aws_client **c, struct aws_credp **cp,
		   const struct aws_cli *g, struct err *e);
/* The AWS CLI's exit status for a failure of kind e->code. */
int aws_cli_exit(const struct err *e);
/* JSON as the AWS CLI prints it (4-space indent, keys in order). */
void aws_cli_print_json(const json_t *v);

/* The s3 operations (agent/cmd_aws_s3.c); argv[0..argc) are the
 * arguments after "s3 OPERATION". */
int aws_s3_sync_cmd(const struct aws_cli *g, int argc, char **argv);
int aws_s3_cp_cmd(const struct aws_cli *g, int argc, char **argv);
int aws_s3_ls_cmd(const struct aws_cli *g, int argc, char **argv);
int aws_s3_rm_cmd(const struct aws_cli *g, int argc, char **argv);

#endif
