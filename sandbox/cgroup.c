/*
 * cgroup: memory, process-count and CPU limits for a job (see cgroup.h).
 *
 * Threat model: the job's code is hostile and runs as whatever uid the
 * sandbox gives it. The cgroup is the only thing that bounds its memory and
 * its number of processes across the whole tree (rlimits are per process
 * or per uid). gantry makes the folders and writes the limits before the
 * job's init process is moved in; the job sees its cgroup only through its
 * own cgroup namespace and a read-only /sys, so it cannot raise them.
 * Swap is closed too (v1 memsw, v2 memory.swap.max), so a job cannot push
 * its pages out to escape the memory limit.
 *
 * Layout: v2 when a cgroup2 mount holds gantry's cgroup with the memory and
 * pids controllers and gantry can enable them for a child (v2 forbids
 * processes in a cgroup whose subtree_control is set, so this fails when
 * gantry's own cgroup is not the root and holds gantry itself: then v1).
 * v1: one folder per hierarchy (memory, pids, cpu; co-mounted hierarchies
 * share one). The name gantry-<pid>-<n> is the same in every hierarchy.
 *
 * Threads: several jobs make cgroups at once; the name counter and the
 * "warned once" bits are atomics, everything else is per handle. A handle
 * is used by one thread at a time.
 */
#include "cgroup.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/fs.h"
#include "../lib/log.h"
#include "../lib/util.h"

#define CG_PERIOD_US 100000LL	/* cpu.max / cpu.cfs_period_us period */
#define CG_MIN_QUOTA_US 1000LL	/* the kernel's smallest quota */
#define CG_FILE_MAX (4u << 20)	/* cap on a cgroup or /proc file read */
#define CG_KILL_ROUNDS 50	/* kill rounds in sbx_cgroup_free */
#define CG_KILL_SLEEP_NS 10000000L
#define CG_RMDIR_ROUNDS 20	/* rmdir retries on EBUSY */
#define CG_RMDIR_SLEEP_NS 5000000L
#define CG_MAX_LINES 100000	/* lines scanned in one file */

enum cg_ctrl { CG_MEMORY, CG_PIDS, CG_CPU, CG_NCTRL };

static const char *const ctrl_name[CG_NCTRL] = { "memory", "pids", "cpu" };
static const char *const ctrl_fallback[CG_NCTRL] = {
	"memory use is not limited",
	"process counts are limited only by RLIMIT_NPROC, which root ignores",
	"CPU time is not limited",
};

#define WARN_NONE (1u << CG_NCTRL)

static atomic_uint cg_seq;	/* the <n> of gantry-<pid>-<n> */
static atomic_uint cg_warned;	/* bit per controller, WARN_NONE */

struct sbx_cgroup {
	int version;			/* 1 or 2 */
	char *dirs[CG_NCTRL];		/* owned: folders made, each once */
	size_t ndirs;
	const char *mem_dir;		/* borrowed from dirs; NULL: none */
	long long oom_seen;		/* last oom_kill counter read */
};

static void sleep_ns(long ns)
{
	struct timespec ts = { 0, ns };

	nanosleep(&ts, NULL);
}

static bool warn_first(unsigned bit)
{
	return !(atomic_fetch_or(&cg_warned, bit) & bit);
}

/* Write s to an existing cgroup file; -1 with errno on failure. */
static int write_str(const char *path, const char *s)
{
	size_t len = strlen(s);
	ssize_t n;
	int fd, saved;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	do
		n = write(fd, s, len);
	while (n < 0 && errno == EINTR);
	saved = errno;
	close(fd);
	if (n < 0) {
		errno = saved;
		return -1;
	}
	if ((size_t)n != len) {
		errno = EIO;
		return -1;
	}
	return 0;
}

static int write_file(const char *dir, const char *file, const char *s,
		      struct err *e)
{
	char *path = fs_join(dir, file);
	int ret = 0;

	if (write_str(path, s) < 0)
		ret = err_sys(e, ERR_SANDBOX, "cgroups: cannot write %s to %s",
			      s, path);
	free(path);
	return ret;
}

static int read_text(struct buf *b, const char *path)
{
	struct err e = ERR_INIT;

	buf_init(b, CG_FILE_MAX);
	if (fs_read_file(b, path, &e) < 0) {
		errno = e.sys_errno ? e.sys_errno : EIO;
		return -1;
	}
	return 0;
}

/* Whether tok is one of the sep-separated words of list[0..len). */
static bool has_word(const char *list, size_t len, const char *tok, char sep)
{
	size_t tl = strlen(tok);
	const char *p = list, *end = list + len;

	while (p < end) {
		const char *q = memchr(p, sep, (size_t)(end - p));
		size_t wl = q ? (size_t)(q - p) : (size_t)(end - p);

		if (wl == tl && !memcmp(p, tok, tl))
			return true;
		if (!q)
			break;
		p = q + 1;
	}
	return false;
}

/* Decode mountinfo's octal escapes (\040 for a space...) in place. */
static void unescape_octal(char *s)
{
	char *w = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
				      (s[3] - '0'));
			s += 4;
		} else {
			*w++ = *s++;
		}
	}
	*w = '\0';
}

/*
 * One line of /proc/self/mountinfo (proc(5)):
 *   line   = id SP parent SP major:minor SP root SP point SP options
 *            *(SP optional) SP "-" SP fstype SP source SP superoptions
 * Finds the mount of the v1 hierarchy holding ctrl (ctrl non-NULL: fstype
 * "cgroup", ctrl among the comma-separated super options) or the cgroup2
 * mount (ctrl NULL). *root and *point are the caller's; 0 when found.
 */
static int find_mount(const char *mountinfo, const char *ctrl, char **root,
		      char **point)
{
	const char *line = mountinfo;
	int nlines = 0;

	while (*line && nlines++ < CG_MAX_LINES) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char *copy = xstrndup(line, len), *save = NULL, *f[5];
		char *tok, *fstype = NULL, *super = NULL;
		int i, found = 0;

		for (i = 0; i < 5; i++)
			f[i] = strtok_r(i ? NULL : copy, " ", &save);
		while (f[4] && (tok = strtok_r(NULL, " ", &save)))
			if (!strcmp(tok, "-")) {
				fstype = strtok_r(NULL, " ", &save);
				if (fstype && strtok_r(NULL, " ", &save))
					super = strtok_r(NULL, " ", &save);
				break;
			}
		if (fstype && super) {
			if (!ctrl)
				found = !strcmp(fstype, "cgroup2");
			else
				found = !strcmp(fstype, "cgroup") &&
					has_word(super, strlen(super), ctrl,
						 ',');
		}
		if (found) {
			unescape_octal(f[3]);
			unescape_octal(f[4]);
			*root = xstrdup(f[3]);
			*point = xstrdup(f[4]);
		}
		free(copy);
		if (found)
			return 0;
		if (!nl)
			break;
		line = nl + 1;
	}
	return -1;
}

/*
 * One line of /proc/self/cgroup (cgroups(7)):
 *   line = hierarchy-id ":" controller-list ":" path
 * v2's line is "0::path". Returns our path in the hierarchy holding ctrl
 * (NULL: the v2 line), owned by the caller, or NULL when there is none.
 */
static char *self_path(const char *proccg, const char *ctrl)
{
	const char *line = proccg;
	int nlines = 0;

	while (*line && nlines++ < CG_MAX_LINES) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		const char *c1 = memchr(line, ':', len), *c2 = NULL;

		if (c1)
			c2 = memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line));
		if (c2) {
			size_t cl = (size_t)(c2 - c1 - 1);
			size_t pl = len - (size_t)(c2 + 1 - line);
			bool hit = ctrl ? has_word(c1 + 1, cl, ctrl, ',')
					: (cl == 0 && c1 - line == 1 &&
					   line[0] == '0');

			if (hit)
				return xstrndup(c2 + 1, pl);
		}
		if (!nl)
			break;
		line = nl + 1;
	}
	return NULL;
}

/* The folder of our own cgroup in the hierarchy of ctrl (NULL: v2), or
 * NULL with a reason in why. */
static char *own_folder(const char *mountinfo, const char *proccg,
			const char *ctrl, char *why, size_t whysz)
{
	char *root = NULL, *point = NULL, *path = NULL, *dir = NULL;
	size_t rl;

	if (find_mount(mountinfo, ctrl, &root, &point) < 0) {
		snprintf(why, whysz, "no %s%s mount", ctrl ? ctrl : "cgroup2",
			 ctrl ? " hierarchy" : "");
		goto done;
	}
	path = self_path(proccg, ctrl);
	if (!path) {
		snprintf(why, whysz, "/proc/self/cgroup has no %s line",
			 ctrl ? ctrl : "0::");
		goto done;
	}
	/* the mount shows the subtree at root: strip it from our path */
	rl = strcmp(root, "/") ? strlen(root) : 0;
	if (strncmp(path, root, rl) || (path[rl] && path[rl] != '/')) {
		snprintf(why, whysz, "our cgroup %s is outside the mount at %s",
			 path, point);
		goto done;
	}
	dir = xasprintf("%s%s", point, strcmp(path + rl, "/") ? path + rl : "");
done:
	free(root);
	free(point);
	free(path);
	return dir;
}

/* mkdir base/name; a leftover of an earlier process with our pid (same
 * name) is removed first, and the first time, those of processes that are
 * gone (killed before they could remove theirs). Returns the folder, or
 * NULL with errno. */
static char *make_folder(const char *base, const char *name)
{
	char *dir = fs_join(base, name);

	sbx_cgroup_sweep_once(base);

	if (mkdir(dir, 0755) == 0)
		return dir;
	if (errno == EEXIST && rmdir(dir) == 0 && mkdir(dir, 0755) == 0)
		return dir;
	free(dir);
	return NULL;
}

static void remove_folder(const char *dir)
{
	int i;

	for (i = 0; i < CG_RMDIR_ROUNDS; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return;
		if (errno != EBUSY)
			break;
		sleep_ns(CG_RMDIR_SLEEP_NS);
	}
	log_warn("cgroups: cannot remove %s: %s", dir, strerror(errno));
}

static long long quota_us(double cpus)
{
	long long q = (long long)(cpus * (double)CG_PERIOD_US + 0.5);

	return q < CG_MIN_QUOTA_US ? CG_MIN_QUOTA_US : q;
}

static bool want(const struct sbx_limits *l, int c)
{
	/* memory and pids folders are made even without a limit: they count
	 * the job's memory (OOM report) and processes (kill on free) */
	return c != CG_CPU || l->cpus > 0;
}

static bool limited(const struct sbx_limits *l, int c)
{
	if (c == CG_MEMORY)
		return l->memory_bytes > 0;
	if (c == CG_PIDS)
		return l->pids_max > 0;
	return l->cpus > 0;
}

static void warn_ctrl(const struct sbx_limits *l, int c, const char *why)
{
	if (limited(l, c) && warn_first(1u << c))
		log_warn("cgroups: the %s controller is not available (%s); %s",
			 ctrl_name[c], why, ctrl_fallback[c]);
}

/* The limits of a v2 cgroup. */
static int v2_limits(const char *dir, const struct sbx_limits *l,
		     bool cpu_on, struct err *e)
{
	char val[64];
	char *swap = fs_join(dir, "memory.swap.max");
	bool has_swap = fs_exists(swap);

	free(swap);
	if (l->memory_bytes > 0) {
		snprintf(val, sizeof(val), "%lld", l->memory_bytes);
		if (write_file(dir, "memory.max", val, e) < 0)
			return -1;
	}
	if (has_swap && write_file(dir, "memory.swap.max", "0", e) < 0)
		return -1;
	if (l->pids_max > 0) {
		snprintf(val, sizeof(val), "%ld", l->pids_max);
		if (write_file(dir, "pids.max", val, e) < 0)
			return -1;
	}
	if (cpu_on) {
		snprintf(val, sizeof(val), "%lld %lld", quota_us(l->cpus),
			 CG_PERIOD_US);
		if (write_file(dir, "cpu.max", val, e) < 0)
			return -1;
	}
	return 0;
}

/* Enable ctrl for base's children unless it is on already. */
static int v2_enable(const char *base, const char *subtree, const char *ctrl)
{
	char *path, *val;
	int ret;

	if (has_word(subtree, strlen(subtree), ctrl, ' '))
		return 0;
	path = fs_join(base, "cgroup.subtree_control");
	val = xasprintf("+%s", ctrl);
	ret = write_str(path, val);
	free(path);
	free(val);
	return ret;
}

/*
 * Move gantry itself (all its threads) into a leaf cgroup base/gantry-main,
 * once per process, so that base may enable controllers for the jobs'
 * cgroups beside it. Fails (and changes nothing) when base holds other
 * processes too, such as the shell of a login session.
 */
static int v2_move_self(const char *base)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static bool moved;
	char *leaf, *procs, pid[32];
	int ret = 0;

	pthread_mutex_lock(&mu);
	if (moved)
		goto done;
	leaf = fs_join(base, "gantry-main");
	if (mkdir(leaf, 0755) < 0 && errno != EEXIST) {
		ret = -1;
		free(leaf);
		goto done;
	}
	procs = fs_join(leaf, "cgroup.procs");
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	ret = write_str(procs, pid);
	if (ret == 0)
		moved = true;
	else
		rmdir(leaf);
	free(procs);
	free(leaf);
done:
	pthread_mutex_unlock(&mu);
	errno = EBUSY;
	return ret;
}

/*
 * Try v2. Returns -1 only when the cgroup exists and a limit cannot be
 * written; otherwise 0, with cg->version 2 when v2 is in use, or a reason
 * in why when it is not.
 */
static int v2_try(struct sbx_cgroup *cg, const char *name,
		  const struct sbx_limits *l, const char *mountinfo,
		  const char *proccg, char *why, size_t whysz, struct err *e)
{
	struct buf ctl = BUF_INIT, sub = BUF_INIT;
	char *base, *path = NULL, *dir = NULL;
	bool cpu_on = false;
	int ret = 0;

	base = own_folder(mountinfo, proccg, NULL, why, whysz);
	if (!base)
		return 0;
	path = fs_join(base, "cgroup.controllers");
	if (read_text(&ctl, path) < 0) {
		snprintf(why, whysz, "cannot read %s: %s", path,
			 strerror(errno));
		goto done;
	}
	buf_truncate(&ctl, strcspn(ctl.ptr, "\n"));
	if (!has_word(ctl.ptr, ctl.len, "memory", ' ') ||
	    !has_word(ctl.ptr, ctl.len, "pids", ' ')) {
		snprintf(why, whysz, "%s lacks memory or pids", path);
		goto done;
	}
	free(path);
	path = fs_join(base, "cgroup.subtree_control");
	if (read_text(&sub, path) < 0) {
		snprintf(why, whysz, "cannot read %s: %s", path,
			 strerror(errno));
		goto done;
	}
	buf_truncate(&sub, strcspn(sub.ptr, "\n"));
	if ((v2_enable(base, sub.ptr, "memory") < 0 ||
	     v2_enable(base, sub.ptr, "pids") < 0) && errno == EBUSY &&
	    v2_move_self(base) == 0) {
		/* v2 allows controllers for children only in a cgroup without
		 * processes of its own: gantry moved itself into a leaf, so try
		 * once more */
		buf_reset(&sub);
		if (read_text(&sub, path) == 0)
			buf_truncate(&sub, strcspn(sub.ptr, "\n"));
	}
	if (v2_enable(base, sub.ptr, "memory") < 0 ||
	    v2_enable(base, sub.ptr, "pids") < 0) {
		snprintf(why, whysz, "cannot enable memory and pids in %s: %s%s",
			 path, strerror(errno),
			 errno == EBUSY ? " (gantry's cgroup holds processes)"
					: "");
		goto done;
	}
	if (l->cpus > 0) {
		if (has_word(ctl.ptr, ctl.len, "cpu", ' ') &&
		    v2_enable(base, sub.ptr, "cpu") == 0)
			cpu_on = true;
		else
			warn_ctrl(l, CG_CPU, "not delegated to gantry's cgroup");
	}
	dir = make_folder(base, name);
	if (!dir) {
		snprintf(why, whysz, "cannot create %s/%s: %s", base, name,
			 strerror(errno));
		goto done;
	}
	cg->version = 2;
	cg->dirs[cg->ndirs++] = dir;
	cg->mem_dir = dir;
	if (v2_limits(dir, l, cpu_on, e) < 0)
		ret = -1;
done:
	buf_release(&ctl);
	buf_release(&sub);
	free(path);
	free(base);
	return ret;
}

/* The limits of controller c in its v1 folder dir. */
static int v1_limits(const char *dir, int c, const struct sbx_limits *l,
		     struct err *e)
{
	char val[64];
	char *memsw;
	int ret = 0;

	if (c == CG_MEMORY && l->memory_bytes > 0) {
		snprintf(val, sizeof(val), "%lld", l->memory_bytes);
		if (write_file(dir, "memory.limit_in_bytes", val, e) < 0)
			return -1;
		/* after the plain limit: memsw may not be below it */
		memsw = fs_join(dir, "memory.memsw.limit_in_bytes");
		if (fs_exists(memsw))
			ret = write_file(dir, "memory.memsw.limit_in_bytes",
					 val, e);
		free(memsw);
	} else if (c == CG_PIDS && l->pids_max > 0) {
		snprintf(val, sizeof(val), "%ld", l->pids_max);
		ret = write_file(dir, "pids.max", val, e);
	} else if (c == CG_CPU && l->cpus > 0) {
		snprintf(val, sizeof(val), "%lld", CG_PERIOD_US);
		if (write_file(dir, "cpu.cfs_period_us", val, e) < 0)
			return -1;
		snprintf(val, sizeof(val), "%lld", quota_us(l->cpus));
		ret = write_file(dir, "cpu.cfs_quota_us", val, e);
	}
	return ret;
}

/* v1: a folder per hierarchy; the unusable ones are skipped with a
 * warning. -1 only when a limit cannot be written. */
static int v1_make(struct sbx_cgroup *cg, const char *name,
		   const struct sbx_limits *l, const char *mountinfo,
		   const char *proccg, char *why, size_t whysz, struct err *e)
{
	char *bases[CG_NCTRL] = { NULL };
	char *shared[CG_NCTRL] = { NULL };	/* borrowed from cg->dirs */
	char reason[CG_NCTRL][256];
	size_t len;
	int c, d, ret = 0;

	for (c = 0; c < CG_NCTRL; c++) {
		if (!want(l, c))
			continue;
		bases[c] = own_folder(mountinfo, proccg, ctrl_name[c],
				      reason[c], sizeof(reason[c]));
		for (d = 0; bases[c] && d < c; d++)
			if (bases[d] && !strcmp(bases[c], bases[d]))
				shared[c] = shared[d];	/* co-mounted */
		if (bases[c] && !shared[c]) {
			shared[c] = make_folder(bases[c], name);
			if (shared[c])
				cg->dirs[cg->ndirs++] = shared[c];
			else
				snprintf(reason[c], sizeof(reason[c]),
					 "cannot create %s/%s: %s", bases[c],
					 name, strerror(errno));
		}
		if (!shared[c])
			continue;
		if (c == CG_MEMORY)
			cg->mem_dir = shared[c];
		if (v1_limits(shared[c], c, l, e) < 0) {
			ret = -1;
			break;
		}
	}
	if (cg->ndirs)
		cg->version = 1;
	for (c = 0, len = 0; !cg->ndirs && c < CG_NCTRL && len < whysz; c++)
		if (want(l, c) && !shared[c])
			len += (size_t)snprintf(why + len, whysz - len, "%s%s",
						len ? "; " : "", reason[c]);
	/* one warning per missing controller, when some others work (when
	 * none does, the caller says so once) */
	for (c = 0; ret == 0 && cg->ndirs && c < CG_NCTRL; c++)
		if (want(l, c) && !shared[c])
			warn_ctrl(l, c, reason[c]);
	for (c = 0; c < CG_NCTRL; c++)
		free(bases[c]);
	return ret;
}

int sbx_cgroup_new(struct sbx_cgroup **out, const struct sbx_limits *l,
		   struct err *e)
{
	struct buf mountinfo = BUF_INIT, proccg = BUF_INIT;
	struct sbx_cgroup *cg = xcalloc(1, sizeof(*cg));
	char why2[512] = "", why1[1024] = "no v1 hierarchy was needed";
	char name[64];
	unsigned n = atomic_fetch_add(&cg_seq, 1) + 1;
	int ret = -1;

	*out = NULL;
	snprintf(name, sizeof(name), "gantry-%ld-%u", (long)getpid(), n);
	if (read_text(&mountinfo, "/proc/self/mountinfo") < 0 ||
	    read_text(&proccg, "/proc/self/cgroup") < 0) {
		snprintf(why2, sizeof(why2), "cannot read /proc/self: %s",
			 strerror(errno));
		why1[0] = '\0';
		goto none;
	}
	if (v2_try(cg, name, l, mountinfo.ptr, proccg.ptr, why2, sizeof(why2),
		   e) < 0)
		goto fail;
	if (!cg->version && v1_make(cg, name, l, mountinfo.ptr, proccg.ptr,
				    why1, sizeof(why1), e) < 0)
		goto fail;
	if (cg->version) {
		*out = cg;
		cg = NULL;
		ret = 0;
		goto done;
	}
none:
	if (warn_first(WARN_NONE))
		log_warn("cgroups: not available (v2: %s; v1: %s); memory, "
			 "process counts and CPU time are limited by rlimits "
			 "only", why2, why1);
	ret = 0;
	goto done;
fail:
	err_wrap(e, "job cgroup %s", name);
done:
	sbx_cgroup_free(cg);
	buf_release(&mountinfo);
	buf_release(&proccg);
	return ret;
}

int sbx_cgroup_add(struct sbx_cgroup *cg, pid_t pid, struct err *e)
{
	char val[32];
	size_t i;

	if (!cg)
		return 0;
	snprintf(val, sizeof(val), "%ld", (long)pid);
	for (i = 0; i < cg->ndirs; i++)
		if (write_file(cg->dirs[i], "cgroup.procs", val, e) < 0)
			return err_wrap(e, "cannot move process %ld", (long)pid);
	return 0;
}

/*
 * memory.events (v2) and memory.oom_control (v1) are lines of
 *   line = key SP decimal
 * Returns the value of key, or -1 when it is missing.
 */
static long long keyed_value(const char *text, const char *key)
{
	size_t kl = strlen(key);
	const char *line = text;
	int nlines = 0;

	while (*line && nlines++ < CG_MAX_LINES) {
		const char *nl = strchr(line, '\n');

		if (!strncmp(line, key, kl) && line[kl] == ' ') {
			char *end;
			long long v = strtoll(line + kl + 1, &end, 10);

			if (end != line + kl + 1 && (*end == '\n' || !*end))
				return v;
		}
		if (!nl)
			break;
		line = nl + 1;
	}
	return -1;
}

bool sbx_cgroup_oom_killed(struct sbx_cgroup *cg)
{
	struct buf b = BUF_INIT;
	char *path;
	long long kills;
	bool hit = false;

	if (!cg || !cg->mem_dir)
		return false;
	path = fs_join(cg->mem_dir, cg->version == 2 ? "memory.events"
						     : "memory.oom_control");
	if (read_text(&b, path) == 0) {
		kills = keyed_value(b.ptr, "oom_kill");
		if (kills > cg->oom_seen) {
			cg->oom_seen = kills;
			hit = true;
		}
		if (cg->version == 1 && keyed_value(b.ptr, "under_oom") > 0)
			hit = true;
	}
	buf_release(&b);
	free(path);
	return hit;
}

const char *sbx_cgroup_kind(const struct sbx_cgroup *cg)
{
	if (!cg || !cg->version)
		return "none";
	return cg->version == 2 ? "v2" : "v1";
}

/* SIGKILL every process listed in dir/cgroup.procs; whether it was empty. */
static bool kill_listed(const char *dir)
{
	struct buf b = BUF_INIT;
	char *path = fs_join(dir, "cgroup.procs"), *p, *save = NULL;
	bool empty = true;
	long pid;
	int nlines = 0;

	if (read_text(&b, path) < 0)
		goto done;	/* gone or unreadable: nothing to do */
	for (p = strtok_r(b.ptr, "\n", &save); p && nlines++ < CG_MAX_LINES;
	     p = strtok_r(NULL, "\n", &save)) {
		if (str_to_long(p, &pid) < 0 || pid <= 1 || pid == getpid())
			continue;
		empty = false;
		kill((pid_t)pid, SIGKILL);
	}
done:
	buf_release(&b);
	free(path);
	return empty;
}

void sbx_cgroup_free(struct sbx_cgroup *cg)
{
	size_t i;
	int round;

	if (!cg)
		return;
	for (i = 0; i < cg->ndirs; i++) {
		if (cg->version == 2) {
			char *kill_path = fs_join(cg->dirs[i], "cgroup.kill");

			if (fs_exists(kill_path))
				write_str(kill_path, "1");
			free(kill_path);
		}
		for (round = 0; round < CG_KILL_ROUNDS; round++) {
			if (kill_listed(cg->dirs[i]))
				break;
			sleep_ns(CG_KILL_SLEEP_NS);
		}
	}
	for (i = 0; i < cg->ndirs; i++) {
		remove_folder(cg->dirs[i]);
		free(cg->dirs[i]);
	}
	free(cg);
}
