/*
 * run_standby: `gantry run --standby=FD`, a run's process started ahead.
 *
 * The agent starts a worker's next `gantry run` before there is a run for
 * it: the process links, starts libgit2 and makes its first job's
 * sandbox (whose cgroup move waits for the kernel), then waits on FD, one
 * end of a Unix socket pair. A run is one request on it: the arguments
 * `gantry run` would have been given, variables its `--secret NAME`
 * flags may name (the git token, which never goes through argv) and, as
 * SCM_RIGHTS, the descriptor of the run's log, which becomes stdout and
 * stderr. The agent closing its end without a request lets the process
 * end quietly.
 *
 * The request: "GSR1", then a 4-byte little-endian length, then that many
 * bytes: the argument count and the variable count as decimal strings,
 * then the arguments, then the variables ("NAME=value"), each string
 * ending in NUL.
 */
#ifndef GANTRY_RUN_STANDBY_H
#define GANTRY_RUN_STANDBY_H

#include "../lib/err.h"
#include "../lib/strv.h"

/* A request's size at most (arguments with workflow_dispatch inputs). */
#define RUN_STANDBY_MAX (8U << 20)

/* The agent's side: send one request on sock. 0, or -1 (EPIPE and
 * ECONNRESET in e's errno when the process is gone). */
int run_standby_send(int sock, const struct strv *argv, const struct strv *env,
		     int log_fd, struct err *e);

/*
 * The standby's side: wait for the request on fd (closed after), make the
 * log descriptor stdout and stderr, and put its arguments in argv and its
 * variables ("NAME=value") in env; the process's own environment is not
 * changed, so the token never is in it. 0; 1 when the agent closed its
 * end without one; -1 on a malformed request (argv and env left empty).
 */
int run_standby_wait(struct strv *argv, struct strv *env, int fd, struct err *e);
/* strv_release of an env from run_standby_wait, its strings wiped first. */
void run_standby_env_release(struct strv *env);

#endif
