/*
 * agent_retention: what the agent keeps, it keeps for data.retention_days
 * (0: for ever). A sweep deletes:
 * - the runs finished before then, with their jobs, steps and deliveries
 *   (queue_prune; a delivery redelivered after that makes a new run);
 * - DATA_DIR/logs/ID.log.gz, the logs of finished runs, by their mtime;
 * - DATA_DIR/logs/ID.log, a live log no worker of this agent holds: after
 *   a day when its ID.log.gz is there (the run was finished, the plain
 *   copy is a crash's leftover), else with the retention, as a .log.gz
 *   (it may be a finished run's only log, when gzip failed);
 * - DATA_DIR/logs/ID.log.gz.tmp, a half-written log, after an hour;
 * - DATA_DIR/runs/ID, a run's folder no worker of this agent holds, after
 *   a day (a worker removes its own when it is done: these are the
 *   leftovers of runs whose agent crashed and that were recovered);
 * - the git mirrors (DATA_DIR/git) not used for the retention period
 *   (gitx_cache_gc: by their last-used marker, under the mirror's lock,
 *   without libgit2).
 *
 * Rules that always hold: only names made by the agent (digits and the
 * suffix) are looked at; symbolic links are never followed nor deleted
 * (entries are read with AT_SYMLINK_NOFOLLOW, and must be a file or a
 * folder as expected); a sweep removes at most RET_REMOVE_MAX files and
 * folders and prunes for at most QUEUE_PRUNE_BUDGET_MS, so it never holds
 * its thread for long, and what it left is the next sweep's.
 */
#include "agent.h"

#include "../lib/buf.h"
#include "../lib/fs.h"
#include "../lib/git.h"
#include "../lib/log.h"
#include "../lib/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RET_REMOVE_MAX 10000	/* files and folders removed per sweep */
#define RET_SCAN_MAX 1000000	/* entries read per folder per sweep */
#define RET_LEFTOVER_S 86400	/* a crash's leftovers: after a day */
#define RET_TMP_S 3600		/* half-written logs: after an hour */
#define RET_ID_DIGITS 18	/* a run ID's digits at most (fits a long long) */

struct sweep {
	struct agent *ag;
	time_t now;
	long long keep_s;	/* the retention, in seconds */
	size_t budget;		/* removals left */
	size_t runs, logs, leftovers, tmps, mirrors;
	size_t failed;		/* removals that failed */
	bool more;		/* something was left for the next sweep */
};

/* The run ID of name when it is digits then exactly suffix, else -1. */
static long long id_of(const char *name, const char *suffix)
{
	size_t digits = strspn(name, "0123456789");
	long long id = 0;

	if (!digits || digits > RET_ID_DIGITS || strcmp(name + digits, suffix))
		return -1;
	for (size_t i = 0; i < digits; i++)
		id = id * 10 + (name[i] - '0');
	return id;
}

/* Whether the entry name of dfd is of type (S_IFREG, S_IFDIR), never
 * through a link, and older than age_s seconds. */
static bool old_entry(const struct sweep *s, int dfd, const char *name,
		      mode_t type, long long age_s)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    (st.st_mode & S_IFMT) != type)
		return false;
	return (long long)(s->now - st.st_mtime) > age_s;
}

/* How long the entry name of DATA_DIR/logs (dfd) is kept, in seconds;
 * -1 for a name the agent does not make, or a live log it holds now. */
static long long log_age_max(struct sweep *s, int dfd, const char *name)
{
	struct stat st;
	char *gz;
	long long id;
	bool compressed;

	if (id_of(name, ".log.gz") >= 0)
		return s->keep_s;
	if (id_of(name, ".log.gz.tmp") >= 0)
		return RET_TMP_S;
	id = id_of(name, ".log");
	if (id < 0 || agent_run_is_live(s->ag, id))
		return -1;
	gz = xasprintf("%s.gz", name);
	compressed = fstatat(dfd, gz, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		S_ISREG(st.st_mode);
	free(gz);
	return compressed ? RET_LEFTOVER_S : s->keep_s;
}

/* A folder to sweep, opened without following a link (*dfd its fd,
 * owned by the DIR); NULL when it is missing or unreadable. */
static DIR *open_dir(const char *path, int *dfd)
{
	DIR *d;

	*dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*dfd < 0) {
		if (errno != ENOENT)
			log_msg(LOG_WARN, "agent: retention: cannot read %s: %s", path,
				strerror(errno));
		return NULL;
	}
	d = fdopendir(*dfd);
	if (!d)
		close(*dfd);
	return d;
}

static void sweep_logs(struct sweep *s)
{
	struct dirent *de;
	int dfd;
	DIR *d = open_dir(s->ag->logs_dir, &dfd);

	if (!d)
		return;
	for (long n = 0; n < RET_SCAN_MAX && (de = readdir(d)); n++) {
		long long age_max = log_age_max(s, dfd, de->d_name);

		if (age_max < 0 || !old_entry(s, dfd, de->d_name, S_IFREG, age_max))
			continue;
		if (!s->budget) {
			s->more = true;
			break;
		}
		s->budget--;
		if (unlinkat(dfd, de->d_name, 0) < 0) {
			s->failed++;
			continue;
		}
		if (str_ends_with(de->d_name, ".tmp"))
			s->tmps++;
		else if (str_ends_with(de->d_name, ".gz"))
			s->logs++;
		else
			s->leftovers++;
	}
	closedir(d);
}

static void sweep_runs(struct sweep *s)
{
	struct dirent *de;
	int dfd;
	DIR *d = open_dir(s->ag->runs_dir, &dfd);

	if (!d)
		return;
	for (long n = 0; n < RET_SCAN_MAX && (de = readdir(d)); n++) {
		long long id = id_of(de->d_name, "");
		char *path;

		if (id < 0 || !old_entry(s, dfd, de->d_name, S_IFDIR, RET_LEFTOVER_S) ||
		    agent_run_is_live(s->ag, id))
			continue;
		if (!s->budget) {
			s->more = true;
			break;
		}
		s->budget--;
		/* fs_remove_tree follows no link, at any depth */
		path = fs_join(s->ag->runs_dir, de->d_name);
		if (fs_remove_tree(path, NULL) < 0)
			s->failed++;
		else
			s->leftovers++;
		free(path);
	}
	closedir(d);
}

/* One line, when anything was deleted: "agent: retention (30 days):
 * deleted 12 runs, 12 logs, 1 git mirror". */
static void report(const struct sweep *s, long days)
{
	const struct { size_t n; const char *one, *many; } what[] = {
		{ s->runs, "run", "runs" },
		{ s->logs, "log", "logs" },
		{ s->leftovers, "leftover of a crashed run", "leftovers of crashed runs" },
		{ s->tmps, "half-written log", "half-written logs" },
		{ s->mirrors, "git mirror", "git mirrors" },
	};
	struct buf line = BUF_INIT;

	for (size_t i = 0; i < ARRAY_SIZE(what); i++)
		if (what[i].n)
			buf_printf(&line, "%s%zu %s", line.len ? ", " : "", what[i].n,
				   what[i].n == 1 ? what[i].one : what[i].many);
	if (line.len)
		log_msg(LOG_INFO, "agent: retention (%ld day%s): deleted %s%s", days,
			days == 1 ? "" : "s",
			line.ptr, s->more ? " (more next time)" : "");
	buf_release(&line);
}

bool agent_retention_sweep(struct agent *ag, struct queue *q)
{
	struct sweep s = { .ag = ag, .now = time(NULL), .budget = RET_REMOVE_MAX };
	struct err e = ERR_INIT;
	size_t kept = 0;
	long days;
	int r;

	pthread_rwlock_rdlock(&ag->cfg_lock);
	days = ag->cfg.retention_days;
	pthread_rwlock_unlock(&ag->cfg_lock);
	if (days <= 0)
		return false;
	s.keep_s = (long long)days * 86400;
	r = q ? queue_prune(q, queue_now_ms() - s.keep_s * 1000, &s.runs, &e) : 0;
	if (r < 0)
		log_msg(LOG_WARN, "agent: retention: %s", e.msg);
	s.more = r > 0;
	err_clear(&e);
	if (ag->logs_dir)
		sweep_logs(&s);
	if (ag->runs_dir)
		sweep_runs(&s);
	if (ag->cache_dir &&
	    gitx_cache_gc(ag->cache_dir, s.keep_s, &s.mirrors, &kept, &e) < 0)
		log_msg(LOG_WARN, "agent: retention: git mirrors: %s", e.msg);
	if (s.failed)
		log_msg(LOG_WARN, "agent: retention: %zu files or folders could not"
			" be removed", s.failed);
	report(&s, days);
	return s.more;
}

/* The housekeeping thread: a sweep at start, then every hour (sooner
 * after a sweep that left more to do); its own queue connection, so that
 * a long sweep never delays the heartbeat and its leases. */
static void *retention_main(void *arg)
{
	struct agent *ag = arg;
	struct queue *q = NULL;
	struct err e = ERR_INIT;

	for (;;) {
		if (!q && queue_open(&q, ag->cfg.queue_url, ag->cfg.agent_id, &e) == 0)
			queue_relax_sync(q);
		err_clear(&e);
		bool more = agent_retention_sweep(ag, q);

		if (agent_nap(ag, (more ? 60L : 3600L) * 1000)) {
			queue_close(q);
			return NULL;
		}
	}
}

int agent_retention_start(struct agent *ag, pthread_t *th, struct err *e)
{
	if (pthread_create(th, NULL, retention_main, ag))
		return err_set(e, ERR_INTERNAL, "cannot start the housekeeping thread");
	return 0;
}
