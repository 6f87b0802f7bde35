/*
 * git_test: what the two git test files share (tests/unit/git.c for
 * lib/git.c, tests/unit/git_mirror.c for lib/git_mirror.c and
 * lib/git_tree.c): a temporary folder, shell helpers, and source
 * repositories made with the git CLI. Each test binary includes it once.
 */
#ifndef GANTRY_GIT_TEST_H
#define GANTRY_GIT_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "lib/buf.h"
#include "lib/fs.h"
#include "lib/git.h"
#include "lib/git_int.h"
#include "lib/util.h"

#define GIT "git -c user.name=t -c user.email=t@t -c init.defaultBranch=main " \
	"-c protocol.file.allow=always -c advice.detachedHead=false"

static char *root;	/* the temporary folder of this run */

/* Full stacks for malloc, so that lib/git.c's suppression of libgit2 1.5's
 * own leaks (symbols inside libgit2, built without frame pointers) applies. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}

static inline void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		fail_msg("command failed (%d): %s", rc, cmd);
}

/* The first line a command prints. Caller frees. */
static inline char *sh_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline char *sh_out(const char *fmt, ...)
{
	char cmd[8192], line[4096] = "";
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	assert_non_null(f);
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	pclose(f);
	line[strcspn(line, "\n")] = '\0';
	return xstrdup(line);
}

static inline char *tpath(const char *name)
{
	return fs_join(root, name);
}

/* A source repository: main = two commits (tag v1 on the first), feature
 * one commit further. Returns its path; *url (caller frees) its URL. */
static inline char *make_src(const char *name, char **url)
{
	char *dir = tpath(name);

	sh(GIT " init -q %s", dir);
	sh("cd %s && echo one > a.txt && " GIT " add a.txt && " GIT
	   " commit -qm one && " GIT " tag -a v1 -m v1 && echo two > b.txt && "
	   GIT " add b.txt && " GIT " commit -qm two && " GIT
	   " checkout -qb feature && echo f > f.txt && " GIT " add f.txt && "
	   GIT " commit -qm f && " GIT " checkout -q main", dir);
	*url = xasprintf("file://%s", dir);
	return dir;
}

static inline char *rev(const char *dir, const char *ref)
{
	return sh_out("git -C %s rev-parse '%s^{commit}'", dir, ref);
}

/* Mirror url into cache, asserting success. */
static inline char *update(const char *cache, const char *url, struct gitx_stats *st)
{
	struct err e = ERR_INIT;
	char *m = NULL;

	if (gitx_mirror_update(&m, cache, url, NULL, st, &e) < 0)
		fail_msg("mirror update: %s", e.msg);
	return m;
}

static inline void checkout(const char *dir, const char *mirror, const char *url,
		     const char *ref, bool clean)
{
	struct gitx_checkout_opts o = { 0 };
	struct err e = ERR_INIT;
	char sha[41], *full = NULL;

	if (gitx_resolve(sha, &full, mirror, url, ref, &e) < 0)
		fail_msg("resolve %s: %s", ref, e.msg);
	o.dir = dir;
	o.mirror = mirror;
	o.url = url;
	o.sha = sha;
	o.ref = full;
	o.clean = clean;
	if (gitx_checkout(&o, NULL, &e) < 0)
		fail_msg("checkout %s: %s", ref, e.msg);
	free(full);
}

static inline bool exists_in(const char *dir, const char *name)
{
	char *p = fs_join(dir, name);
	bool r = fs_exists(p);

	free(p);
	return r;
}

static inline int git_test_setup(void **state)
{
	struct err e = ERR_INIT;

	if (gitx_init(&e) < 0 || fs_mkdtemp(&root, "gantry-git-test", &e) < 0)
		return -1;
	sh("mkdir -p %s/srv", root);
	return 0;
}

static inline int git_test_teardown(void **state)
{
	struct err e = ERR_INIT;

	fs_remove_tree(root, &e);
	free(root);
	return 0;
}

#endif
