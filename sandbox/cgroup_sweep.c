/*
 * cgroup_sweep: the cgroup folders that killed gantry processes left (see
 * cgroup.h). A folder is gantry-<pid>-<n>; it is removed when no process
 * has that pid any more, and the kernel itself refuses to remove one that
 * still holds processes, so a live job's cgroup is never touched.
 */
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/fs.h"
#include "../lib/util.h"

#define CG_SWEEP_MAX 100000	/* entries looked at by one sweep */

void sbx_cgroup_sweep(const char *base)
{
	DIR *d = opendir(base);
	struct dirent *de;
	pid_t self = getpid();

	for (int seen = 0; d && (de = readdir(d)) && seen < CG_SWEEP_MAX; seen++) {
		int pid, end = 0;
		unsigned n;
		char *dir;

		if (sscanf(de->d_name, "gantry-%d-%u%n", &pid, &n, &end) != 2 ||
		    de->d_name[end] || pid <= 0 || pid == self ||
		    kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		/* the kernel refuses to remove a cgroup that holds processes */
		dir = fs_join(base, de->d_name);
		rmdir(dir);
		free(dir);
	}
	if (d)
		closedir(d);
}

void sbx_cgroup_sweep_once(const char *base)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static char *swept[8];	/* v1: a base per hierarchy */
	bool todo = false;
	size_t i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < ARRAY_SIZE(swept) && swept[i] && strcmp(swept[i], base); i++)
		;
	if (i < ARRAY_SIZE(swept) && !swept[i]) {
		swept[i] = xstrdup(base);
		todo = true;
	}
	pthread_mutex_unlock(&lock);
	if (todo)
		sbx_cgroup_sweep(base);
}
