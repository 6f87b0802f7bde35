/*
 * job: gantry's side of a job sandbox: make the namespaces, start the
 * init inside them, hand it the configuration, and stop it at the end.
 *
 * Threat model: gantry itself is trusted and runs with whatever rights it
 * was given (root, or an ordinary user with user namespaces). It gives the
 * job's init only what the job needs (paths, limits); the init is exec'd
 * from gantry's binary with an empty environment, so no secret or setting
 * of gantry's crosses into the job. Everything the clone()d child needs is
 * prepared before clone(); after it, the child only resets its signal
 * mask, moves its socket to fd 3, waits for the go byte, and execs.
 */
#include "sbx.h"
#include "cgroup.h"
#include "proto.h"
#include "../lib/buf.h"
#include "../lib/fs.h"
#include "../lib/log.h"
#include "../lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sbx_int.h"

#define JOB_READY_MS 10000

const char *sbx_net_name(enum sbx_net net)
{
	static const char *const n[] = { "host", "loopback", "none" };

	return n[net];
}

static int write_file(const char *path, const char *text, struct err *e)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return err_sys(e, ERR_SANDBOX, "sandbox: open %s", path);
	n = write(fd, text, strlen(text));
	close(fd);
	if (n != (ssize_t)strlen(text))
		return err_sys(e, ERR_SANDBOX, "sandbox: write %s", path);
	return 0;
}

static void add_kv(struct buf *b, const char *k, const char *v)
{
	struct buf kv = BUF_INIT;

	buf_printf(&kv, "%s=%s", k, v ? v : "");
	proto_add(b, kv.ptr);
	buf_release(&kv);
}

static void add_num(struct buf *b, const char *k, long long v)
{
	char num[32];

	snprintf(num, sizeof(num), "%lld", v);
	add_kv(b, k, num);
}

/* Wait for READY (or ERROR) with a deadline. */
static int wait_ready(struct sbx_job *j, struct err *e)
{
	struct pollfd pf = { j->ctl, POLLIN, 0 };
	struct buf p = BUF_INIT;
	enum proto_type t;
	int fds[PROTO_MAX_FDS], r, ret = -1;
	size_t nfds = 0;

	r = poll(&pf, 1, JOB_READY_MS);
	if (r == 0) {
		err_set(e, ERR_SANDBOX, "sandbox: the job's init did not answer in %d s",
			JOB_READY_MS / 1000);
		goto done;
	}
	r = proto_recv(j->ctl, &t, &p, fds, &nfds);
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	if (r <= 0) {
		err_set(e, ERR_SANDBOX, "sandbox: the job's init ended during set-up");
		goto done;
	}
	if (t == PROTO_ERROR) {
		err_set(e, ERR_SANDBOX, "%s", p.ptr);
		goto done;
	}
	if (t != PROTO_READY) {
		err_set(e, ERR_SANDBOX, "sandbox: unexpected message %d from the init", (int)t);
		goto done;
	}
	ret = 0;
done:
	buf_release(&p);
	return ret;
}

/*
 * The first half of a job's sandbox: the init in its namespaces, exec'ing
 * gantry's binary, moved into its cgroups. Nothing of the job is known
 * yet; the init waits for its configuration (job_configure).
 */
static int job_spawn(struct sbx_job **out, enum sbx_net net,
		     const struct sbx_limits *limits, const char *self_exe,
		     struct err *e)
{
	struct sbx_job *j = xcalloc(1, sizeof(*j));
	char *self = NULL;
	char *argv[4] = { NULL, "__sandbox-init", "3", NULL };
	char *envp[1] = { NULL };
	int sv[2] = { -1, -1 };
	bool userns = geteuid() != 0;
	unsigned long flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
	sigset_t all, old;
	long long t0 = time_mono_ns();
	char go = 'g';
	pid_t pid;

	*out = NULL;
	j->pid = -1;
	j->ctl = -1;
	j->net = net;
	j->limits = *limits;
	j->t0 = t0;
	if (net != SBX_NET_HOST)
		flags |= CLONE_NEWNET;
	if (userns)
		flags |= CLONE_NEWUSER;
	self = self_exe ? xstrdup(self_exe) : fs_realpath("/proc/self/exe");
	if (!self) {
		err_sys(e, ERR_SANDBOX, "sandbox: cannot find gantry's own executable");
		goto fail;
	}
	argv[0] = self;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		err_sys(e, ERR_SANDBOX, "sandbox: socketpair");
		goto fail;
	}
	/* the child's end must not be 3 already, or dup2 would be a no-op
	 * that leaves close-on-exec set */
	if (sv[1] == 3) {
		int d = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);

		close(sv[1]);
		sv[1] = d;
	}

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid == 0) {
		/* the child: async-signal-safe calls only */
		sigset_t none;
		ssize_t r;

		sigemptyset(&none);
		close(sv[0]);
		if (dup2(sv[1], 3) < 0)
			_exit(126);
		/* only the socket crosses into the job: every other descriptor
		 * gantry holds (terminals, files, other jobs') is closed */
		syscall(SYS_close_range, 4U, ~0U, 0U);
		do
			r = read(3, &go, 1);
		while (r < 0 && errno == EINTR);
		if (r != 1)
			_exit(126);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		int err = errno;

		errno = err;
		err_sys(e, ERR_SANDBOX, "sandbox: cannot create the job's namespaces%s",
			userns ? " (as an ordinary user this needs user namespaces: "
			"sysctl user.max_user_namespaces and kernel.unprivileged_userns_clone)"
			: "");
		goto fail;
	}
	j->pid = pid;
	close(sv[1]);
	sv[1] = -1;
	j->ctl = sv[0];
	sv[0] = -1;

	if (userns) {
		char path[64], map[64];

		snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
		if (write_file(path, "deny", e) < 0)
			goto fail;
		snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)geteuid());
		if (write_file(path, map, e) < 0)
			goto fail;
		snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)getegid());
		if (write_file(path, map, e) < 0)
			goto fail;
	}

	/* go first: the child execs the init (loading gantry's binary)
	 * while the cgroup moves below wait for the kernel; the init starts
	 * nothing before it has the configuration, so it is inside the
	 * cgroup before any step */
	if (write(j->ctl, &go, 1) != 1) {
		err_sys(e, ERR_SANDBOX, "sandbox: cannot talk to the job's init");
		goto fail;
	}
	if (sbx_cgroup_new(&j->cg, limits, e) < 0)
		goto fail;
	if (j->cg && sbx_cgroup_add(j->cg, pid, e) < 0)
		goto fail;
	free(self);
	*out = j;
	return 0;
fail:
	free(self);
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	sbx_job_free(j);
	return -1;
}

/* The second half: the job's folders and limits to the init, which sets
 * its file system up and answers READY. j is freed on failure. */
static int job_configure(struct sbx_job *j, const struct sbx_job_opts *o,
			 struct err *e)
{
	struct buf cfg = BUF_INIT;
	bool userns = geteuid() != 0;

	add_kv(&cfg, "workspace", o->workspace);
	add_kv(&cfg, "temp", o->runner_temp);
	add_kv(&cfg, "toolcache", o->tool_cache);
	for (const char *const *h = o->hide; h && *h; h++)
		add_kv(&cfg, "hide", *h);
	for (const char *const *r = o->ro; r && *r; r++)
		if (fs_is_dir(*r))
			add_kv(&cfg, "ro", *r);
	add_kv(&cfg, "net", sbx_net_name(o->net));
	add_num(&cfg, "nofile", o->limits.nofile);
	/* without a pids cgroup, RLIMIT_NPROC is the fallback bound on
	 * processes (per uid, so with room for the user's others) */
	add_num(&cfg, "nproc", o->limits.nproc ? o->limits.nproc :
		!j->cg && o->limits.pids_max ? 4 * o->limits.pids_max : 0);
	add_num(&cfg, "fsize", o->limits.fsize_bytes);
	add_kv(&cfg, "userns", userns ? "1" : "0");
	if (proto_send(j->ctl, PROTO_CONFIG, cfg.ptr, cfg.len, NULL, 0) < 0) {
		err_sys(e, ERR_SANDBOX, "sandbox: cannot talk to the job's init");
		goto fail;
	}
	if (wait_ready(j, e) < 0)
		goto fail;
	j->setup_ns = time_mono_ns() - j->t0;
	buf_release(&cfg);
	return 0;
fail:
	buf_release(&cfg);
	sbx_job_free(j);
	return -1;
}

int sbx_job_new(struct sbx_job **out, const struct sbx_job_opts *o, struct err *e)
{
	struct sbx_job *j;

	*out = NULL;
	if (job_spawn(&j, o->net, &o->limits, o->self_exe, e) < 0 ||
	    job_configure(j, o, e) < 0)
		return -1;
	*out = j;
	return 0;
}

int sbx_job_prespawn(struct sbx_job **out, enum sbx_net net,
		     const struct sbx_limits *limits, struct err *e)
{
	return job_spawn(out, net, limits, NULL, e);
}

int sbx_job_new_from(struct sbx_job **out, struct sbx_job *pre,
		     const struct sbx_job_opts *o, struct err *e)
{
	*out = NULL;
	if (!pre)
		return sbx_job_new(out, o, e);
	if (pre->net != o->net || o->self_exe ||
	    memcmp(&pre->limits, &o->limits, sizeof(o->limits))) {
		sbx_job_free(pre);
		return sbx_job_new(out, o, e);
	}
	if (job_configure(pre, o, e) < 0)
		return -1;
	*out = pre;
	return 0;
}

void sbx_job_signal(struct sbx_job *j, int sig)
{
	char num[16];

	snprintf(num, sizeof(num), "%d", sig);
	proto_send(j->ctl, PROTO_SIGNAL, num, strlen(num) + 1, NULL, 0);
}

void sbx_job_free(struct sbx_job *j)
{
	if (!j)
		return;
	if (j->ctl >= 0)
		close(j->ctl);	/* the init sees EOF, kills everything, exits */
	if (j->pid > 0) {
		int pfd = (int)syscall(SYS_pidfd_open, j->pid, 0), st;
		pid_t w = 0;

		/* wait for it to go (a pidfd wakes us at once), at most 1 s,
		 * then kill it: PID 1 gone, the namespace dies */
		if (pfd >= 0) {
			struct pollfd pf = { pfd, POLLIN, 0 };

			if (poll(&pf, 1, 1000) <= 0)
				kill(j->pid, SIGKILL);
			close(pfd);
		} else {
			for (int i = 0; i < 100 && (w = waitpid(j->pid, &st, WNOHANG)) == 0; i++)
				usleep(10000);
			/* once reaped, its PID may be another process's */
			if (w != j->pid)
				kill(j->pid, SIGKILL);
		}
		while (w != j->pid && waitpid(j->pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	sbx_cgroup_free(j->cg);
	free(j);
}

bool sbx_job_oom(struct sbx_job *j)
{
	return j->cg && sbx_cgroup_oom_killed(j->cg);
}

struct sbx_pool {
	pthread_t thread;
	pthread_mutex_t lock;
	bool joined;		/* under lock */
	bool taken;		/* under lock */
	enum sbx_net net;
	struct sbx_limits limits;
	struct sbx_job *job;	/* written by the thread, read after the join */
};

static void *pool_main(void *arg)
{
	struct sbx_pool *p = arg;
	struct err e = ERR_INIT;

	if (sbx_job_prespawn(&p->job, p->net, &p->limits, &e) < 0)
		p->job = NULL;	/* the job makes its own, and reports why */
	return NULL;
}

void sbx_pool_start(struct sbx_pool **out, enum sbx_net net,
		    const struct sbx_limits *limits)
{
	struct sbx_pool *p = xcalloc(1, sizeof(*p));

	p->net = net;
	p->limits = *limits;
	pthread_mutex_init(&p->lock, NULL);
	if (pthread_create(&p->thread, NULL, pool_main, p)) {
		p->joined = true;
		p->taken = true;
	}
	*out = p;
}

/* under p->lock */
static void pool_join(struct sbx_pool *p)
{
	if (!p->joined) {
		pthread_join(p->thread, NULL);
		p->joined = true;
	}
}

struct sbx_job *sbx_pool_take(struct sbx_pool *p)
{
	struct sbx_job *j = NULL;

	if (!p)
		return NULL;
	pthread_mutex_lock(&p->lock);
	pool_join(p);
	if (!p->taken) {
		j = p->job;
		p->job = NULL;
		p->taken = true;
	}
	pthread_mutex_unlock(&p->lock);
	return j;
}

void sbx_pool_free(struct sbx_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	pool_join(p);
	pthread_mutex_unlock(&p->lock);
	sbx_job_free(p->job);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
