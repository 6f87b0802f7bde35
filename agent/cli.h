/*
 * cli: the table of gantry's subcommands. Each has a name, a one-line
 * description that --help prints, and a function that takes the
 * subcommand's own argv and returns the process exit status. An internal
 * one, which gantry starts itself, is named "__..." and has no
 * description: --help leaves it out.
 */
#ifndef GANTRY_CLI_H
#define GANTRY_CLI_H

#include <stdio.h>

struct cli_cmd {
	const char *name;
	const char *summary;	/* NULL: internal, not in --help */
	int (*fn)(int argc, char **argv);
};

/* NULL-terminated table, in the order --help lists it. */
extern const struct cli_cmd cli_cmds[];

const struct cli_cmd *cli_find(const char *name);
void cli_usage(FILE *f);

int cmd_run(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_cache(int argc, char **argv);
int cmd_aws(int argc, char **argv);
int cmd_oidc(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_forge_status(int argc, char **argv);

#endif
