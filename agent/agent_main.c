/*
 * gantry-agent: the agent daemon (gantry agent) as a binary of its own.
 * It links only what the daemon uses: libmicrohttpd (and the GnuTLS it
 * brings), SQLite, libyaml, jansson and zlib; PostgreSQL's libpq is
 * loaded when a postgres:// queue is configured, and commit statuses are
 * posted by a gantry child (agent/forge_status.c). gantry agent starts it
 * when it sits beside gantry, and names itself in GANTRY_RUN_EXE as the
 * gantry that runs the workflows; started otherwise, it uses the gantry
 * beside it.
 */
#include "agent.h"

#include "../lib/fs.h"
#include "../lib/util.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	const char *named = getenv("GANTRY_RUN_EXE");
	char *gantry;
	int ret;

	/* as gantry's main (agent/main.c) */
	mallopt(M_MXFAST, 0);
	if (named && *named) {
		gantry = xstrdup(named);
	} else {
		char *self = fs_realpath("/proc/self/exe"), *dir;

		if (!self) {
			fprintf(stderr, "gantry agent: cannot find its own executable: %s\n",
				strerror(errno));
			return 1;
		}
		dir = fs_dirname(self);
		gantry = fs_join(dir, "gantry");
		free(dir);
		free(self);
	}
	unsetenv("GANTRY_RUN_EXE");	/* not for the runs */
	ret = agent_main(argc, argv, gantry);
	free(gantry);
	return ret;
}
