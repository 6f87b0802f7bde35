/*
 * cgroup: memory, process-count and CPU limits for a job's processes.
 *
 * Uses cgroup v2 where the memory and pids controllers are delegated to
 * gantry's cgroup, else the cgroup v1 memory, pids and cpu hierarchies
 * (machines with a hybrid layout have v1 controllers and a v2 tree without
 * them). A job gets one cgroup named gantry-<pid>-<n> under gantry's own;
 * its init process is moved in before it starts any step, so everything
 * the job starts is inside. Where neither works (no permission, no
 * controllers) sbx_cgroup_new says so once per process and returns an
 * empty handle: the job goes on with rlimits only.
 */
#ifndef GANTRY_CGROUP_H
#define GANTRY_CGROUP_H

#include <stdbool.h>
#include <sys/types.h>

#include "../lib/err.h"
#include "priv.h"

struct sbx_cgroup;

/* Make a cgroup with l's memory, pids and cpu limits. *out is NULL (and 0
 * returned) when cgroups are unavailable. -1 only for errors that should
 * stop the job (a limit that cannot be written once the cgroup exists). */
int sbx_cgroup_new(struct sbx_cgroup **out, const struct sbx_limits *l,
		   struct err *e);
/* Move pid (and its future children) into the cgroup. */
int sbx_cgroup_add(struct sbx_cgroup *cg, pid_t pid, struct err *e);
/* Whether the memory limit killed something since the last call (for a
 * clear message: "killed by the memory limit of 4 GiB"). */
bool sbx_cgroup_oom_killed(struct sbx_cgroup *cg);
/* "v2", "v1" or "none". */
const char *sbx_cgroup_kind(const struct sbx_cgroup *cg);
/* Remove base's gantry-<pid>-<n> folders of processes that are gone and
 * that hold no process (what a killed gantry left). _once: only the first
 * time for base in this process (this module calls it before it makes its
 * first folder there; cgroup_sweep.c). */
void sbx_cgroup_sweep(const char *base);
void sbx_cgroup_sweep_once(const char *base);
/* Kill what is left inside, wait (bounded) for it to go, remove the
 * cgroup folders. NULL is fine. */
void sbx_cgroup_free(struct sbx_cgroup *cg);

#endif
