#include "cli.h"

#include <stdio.h>
#include <string.h>

const struct cli_cmd cli_cmds[] = {
	{ "run", "run or dry-run workflows on this machine", cmd_run },
	{ "agent", "the daemon: webhooks in, a durable queue, workers running the workflows", cmd_agent },
	{ "validate", "check workflow files and report every error", cmd_validate },
	{ "cache", "manage the git mirror cache (gantry cache gc)", cmd_cache },
	{ "aws", "AWS operations with the AWS CLI's flags (gantry aws sts ...)", cmd_aws },
	{ "oidc", "the OIDC issuer's documents and keys (discovery, publish, rotate)", cmd_oidc },
	{ "version", "print gantry's version", cmd_version },
	/* internal: the agent's commit status child (forge_status.h) */
	{ "__forge-status", NULL, cmd_forge_status },
	{ NULL, NULL, NULL },
};

const struct cli_cmd *cli_find(const char *name)
{
	for (const struct cli_cmd *c = cli_cmds; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

void cli_usage(FILE *f)
{
	fprintf(f, "usage: gantry [--version] [--help] COMMAND [ARGS]\n\n"
		"gantry runs GitHub Actions workflows on your own machine.\n\n"
		"Commands:\n");
	for (const struct cli_cmd *c = cli_cmds; c->name; c++)
		if (c->summary)
			fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fprintf(f, "\nRun 'gantry COMMAND --help' for a command's options.\n");
}

int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("gantry %s\n", GANTRY_VERSION);
	return 0;
}
