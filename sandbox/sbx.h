/*
 * sbx: the one way gantry starts a step's process.
 *
 * Every step runs through sbx_run(): a new process group, exactly the
 * environment given (nothing inherited), stdin from /dev/null, stdout and
 * stderr captured without blocking (poll) and handed back line by line.
 * On exit, timeout or cancel the whole process group is killed (SIGTERM,
 * then SIGKILL after a grace period) and every child reaped. The isolation
 * itself (namespaces, mounts, seccomp, limits) is the sandbox issue's and
 * goes behind this same interface.
 *
 * Everything the child needs is prepared before fork(); after fork() the
 * child calls only async-signal-safe functions; a failure in the child
 * before exec comes back as a fixed struct over a pipe and becomes an
 * ERR_SANDBOX error that names the program ("exec of bash: ENOENT").
 */
#ifndef GANTRY_SBX_H
#define GANTRY_SBX_H

#include <stdbool.h>
#include <stddef.h>

#include "../lib/err.h"

enum sbx_stream { SBX_STDOUT = 1, SBX_STDERR = 2 };

/* Called for each line, without its newline; a last line without one is
 * passed at the end. Lines longer than max_line are passed in pieces.
 * Runs in the calling thread. */
typedef void (*sbx_line_fn)(void *ud, enum sbx_stream stream,
			    const char *line, size_t len);

struct sbx_opts {
	const char *const *argv;	/* argv[0] found in envp's PATH if no '/' */
	const char *const *envp;	/* the whole environment */
	const char *cwd;		/* NULL: inherit */
	long long timeout_ms;		/* 0: none */
	int cancel_fd;			/* -1: none; readable means cancel */
	long long kill_grace_ms;	/* SIGTERM to SIGKILL; 0 means 2000 */
	size_t max_line;		/* 0 means 64 KiB */
	sbx_line_fn on_line;
	void *ud;
};

struct sbx_result {
	int exit_code;		/* exit status, or 128+signal */
	int term_signal;	/* 0 unless killed by a signal */
	bool timed_out;
	bool cancelled;
	long long duration_ns;
};

/* Run to the end. Returns 0 when the process ran (whatever its exit code),
 * -1 when it could not be started (e filled). */
int sbx_run(struct sbx_result *out, const struct sbx_opts *o, struct err *e);

#endif
