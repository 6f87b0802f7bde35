/* What the commit status tests share (forge_status.c: the agent's way,
 * through gantry __forge-status; forge_status_child.c: the child's
 * protocol): a token and a commit, stand-ins for gantry, a request. */
#ifndef GANTRY_TEST_FORGE_STATUS_H
#define GANTRY_TEST_FORGE_STATUS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../../agent/agent.h"
#include "../../agent/forge_status.h"
#include "../../lib/buf.h"
#include "../../lib/fs.h"
#include "../../lib/jsonx.h"
#include "../../lib/util.h"

#define TOKEN "ghp_S3CRETtok3n0123456789"
#define SHA "0123456789abcdef0123456789abcdef01234567"

/* An executable script in dir named name; caller frees the path. */
static inline char *fake_exe(const char *dir, const char *name, const char *text)
{
	char *path = fs_join(dir, name);
	struct err e = ERR_INIT;

	assert_int_equal(fs_write_file(path, text, strlen(text), 0755, &e), 0);
	return path;
}

static inline void req_init(struct forge_status_req *q)
{
	memset(q, 0, sizeof(*q));
	q->forge = FORGE_GITHUB;
	q->state = xstrdup("success");
	q->context = xstrdup("gantry");
	q->repo = xstrdup("o/r");
	q->sha = xstrdup(SHA);
	q->url = xstrdup("http://127.0.0.1:1/repos/o/r/statuses/" SHA);
	q->clone_url = xstrdup("http://127.0.0.1:1/o/r.git");
	q->token = xstrdup(TOKEN);
}

/* No child of this process is left, not even a zombie. */
static inline void assert_all_reaped(void)
{
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

#endif
