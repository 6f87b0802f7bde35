/*
 * sbx_int: what sbx.c (spawning and supervising) and job.c (the job
 * sandbox) share. Private to sandbox/.
 */
#ifndef GANTRY_SBX_INT_H
#define GANTRY_SBX_INT_H

#include <stdbool.h>
#include <sys/types.h>

#include "cgroup.h"
#include "sbx.h"

struct sbx_job {
	pid_t pid;		/* the init, PID 1 of the job's namespace */
	int ctl;		/* gantry's end of the socket to it */
	struct sbx_cgroup *cg;	/* NULL when cgroups are unavailable */
	enum sbx_net net;	/* what it was made with (a prespawned one) */
	struct sbx_limits limits;
	long long t0;		/* when its making began */
	long long setup_ns;
};

/* Ask the init to send sig to everything in the job (but itself). */
void sbx_job_signal(struct sbx_job *j, int sig);

#endif
