/*
 * gantry's entry point: pick the subcommand from the table and run it.
 * The only place, with BUG(), where the process exits on its own.
 */
#include "cli.h"
#include "../sandbox/sbx.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
/* Sanitizer builds (the tests): full stacks for allocations, so that the
 * suppressions of libgit2's own leaks (lib/git.c) match inside libraries
 * built without frame pointers. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}
#endif

int main(int argc, char **argv)
{
	const struct cli_cmd *c;

	/* gantry makes and frees many small JSON values; glibc's fastbins
	 * then cost more in consolidation (16% of a large dry run) than
	 * they save, and the per-thread caches serve small sizes anyway */
	mallopt(M_MXFAST, 0);

	/* a job's sandbox init: gantry exec'd inside the job's namespaces */
	if (argc == 3 && !strcmp(argv[1], "__sandbox-init"))
		sbx_init_main((int)strtol(argv[2], NULL, 10));
	if (argc < 2) {
		cli_usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		cli_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version"))
		return cmd_version(argc - 1, argv + 1);
	c = cli_find(argv[1]);
	if (!c) {
		fprintf(stderr, "gantry: '%s' is not a gantry command; see gantry --help\n",
			argv[1]);
		return 2;
	}
	exit(c->fn(argc - 1, argv + 1));
}
