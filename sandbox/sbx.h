/*
 * sbx: the one way gantry starts a step's process.
 *
 * A step runs through sbx_job_run() inside its job's sandbox (below), or
 * through sbx_run() when the sandbox is off: exactly the environment given
 * (nothing inherited), stdin from /dev/null, stdout and stderr captured
 * without blocking (poll) and handed back line by line. On exit, timeout
 * or cancel the step's processes are killed (SIGTERM, then SIGKILL after a
 * grace period): its process group with sbx_run(), everything in the
 * job's PID namespace with sbx_job_run().
 *
 * Everything the child needs is prepared before fork(); after fork() the
 * child calls only async-signal-safe functions; a failure in the child
 * before exec comes back as a fixed struct over a pipe and becomes an
 * ERR_SANDBOX error that names the program ("exec of bash: not found in
 * PATH").
 */
#ifndef GANTRY_SBX_H
#define GANTRY_SBX_H

#include <stdbool.h>
#include <stddef.h>

#include "../lib/err.h"
#include "priv.h"

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

/* ---- the job sandbox ---- */

enum sbx_net {
	SBX_NET_HOST,		/* the host's network (builds download things) */
	SBX_NET_LOOPBACK,	/* a network namespace with only lo, up */
	SBX_NET_NONE,		/* a network namespace with lo down */
};

struct sbx_job_opts {
	enum sbx_net net;
	const char *workspace;		/* writable */
	const char *runner_temp;	/* writable */
	const char *tool_cache;		/* writable, may be NULL */
	/* folders mounted read-only even where the job's own /tmp or /dev
	 * would cover them (the git mirrors work trees borrow objects from);
	 * NULL-terminated, may be NULL */
	const char *const *ro;
	/* folders and files the job must not see (gantry's state, the run's
	 * other jobs); NULL-terminated, may be NULL */
	const char *const *hide;
	struct sbx_limits limits;
	/* gantry's own executable, exec'd as the job's init; NULL: this
	 * process's /proc/self/exe */
	const char *self_exe;
};

/*
 * A job's sandbox: a process that lives in new mount, PID, IPC, UTS,
 * cgroup (and network, unless host) namespaces, with a user namespace when
 * gantry is not root, the host root read-only, only the job's folders
 * writable, a private /tmp, a fresh /proc, a minimal /dev, no capabilities,
 * no_new_privs, a seccomp filter, rlimits and a cgroup. Steps are started
 * inside it by sbx_job_run(), so the set-up is paid once per job. When a
 * step's main process ends, everything else in the job is killed; when the
 * job ends (sbx_job_free), its whole PID namespace dies.
 */
struct sbx_job;

/* Fails (ERR_SANDBOX, with what to do) when isolation cannot be set up. */
int sbx_job_new(struct sbx_job **out, const struct sbx_job_opts *o,
		struct err *e);
/*
 * A job's sandbox in two halves, so that the slow one overlaps other work:
 * sbx_job_prespawn makes the init, its namespaces and cgroups (moving a
 * process into a cgroup v1 controller waits for the kernel, 10 ms and
 * more) before the job's folders are known; sbx_job_new_from finishes it
 * for o, or, when pre was made with other network or limits (or is NULL),
 * frees it and makes a new one. pre is consumed either way.
 */
int sbx_job_prespawn(struct sbx_job **out, enum sbx_net net,
		     const struct sbx_limits *limits, struct err *e);
int sbx_job_new_from(struct sbx_job **out, struct sbx_job *pre,
		     const struct sbx_job_opts *o, struct err *e);

/*
 * A pool of one: a sandbox prespawned in a thread of its own, for the
 * first job that asks (sbx_pool_take waits for the thread; thread-safe;
 * NULL after the first call or when prespawning failed, and the caller
 * then makes its own). sbx_pool_free frees what nobody took.
 */
struct sbx_pool;
void sbx_pool_start(struct sbx_pool **out, enum sbx_net net,
		    const struct sbx_limits *limits);
struct sbx_job *sbx_pool_take(struct sbx_pool *p);
void sbx_pool_free(struct sbx_pool *p);

/* As sbx_run, inside the job's sandbox. */
int sbx_job_run(struct sbx_job *j, struct sbx_result *out,
		const struct sbx_opts *o, struct err *e);
void sbx_job_free(struct sbx_job *j);
/* Whether the job's memory limit killed a process since the last call. */
bool sbx_job_oom(struct sbx_job *j);
/* "strict (pid, mount, ipc, uts, cgroup, net namespaces; ...)" for plans. */
const char *sbx_net_name(enum sbx_net net);

/* The init side: gantry's main() calls this when started as
 * "gantry __sandbox-init FD". Never returns. */
_Noreturn void sbx_init_main(int ctl_fd);

#endif
