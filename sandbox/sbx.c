/*
 * sbx: start a step's process, capture its output, end it and its group.
 *
 * Threat model (this file): sbx_run() is the path with the sandbox off: the
 * step runs as gantry's user, contained in lifetime and environment only:
 * exactly envp, stdin from /dev/null, a new process group, no file
 * descriptor of gantry's beyond 0-2, and nothing in its group outlives the
 * step (a child that leaves the group with setsid escapes that kill: the
 * reason the sandbox exists). sbx_job_run() hands the same work to a job's
 * sandbox init (job.c, init.c), which isolates and kills everything.
 *
 * Flow of sbx_run(): resolve the program in envp's PATH, make the pipes
 * (all O_CLOEXEC, so a fork in another thread never keeps them open past
 * its exec), block signals, fork. The child only makes async-signal-safe
 * calls and reports a failure before exec as a struct sbx_status over the
 * status pipe. The parent polls stdout, stderr, a pidfd for the child's
 * exit (or, without pidfd_open, a short timeout and waitid) and cancel_fd.
 * When the main process exits, its group is killed before it is reaped, so
 * the group id cannot be reused in between; what is left in the pipes is
 * then drained for at most SBX_DRAIN_MS.
 *
 * Nothing here is global: several threads run sbx_run() at once.
 */
#include "sbx.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/util.h"
#include "proto.h"
#include "sbx_int.h"

#define SBX_MAX_LINE_DEFAULT (64 * 1024)
#define SBX_GRACE_DEFAULT_MS 2000
#define SBX_DRAIN_MS 1000
#define SBX_FALLBACK_POLL_MS 16
#define SBX_READ_CHUNK (64 * 1024)
#define SBX_MS_MAX (1000LL * 3600 * 24 * 365 * 100)	/* no overflow in ns */
#define SBX_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

/* What the child was doing when it failed before exec. */
enum sbx_step {
	SBX_STEP_SETPGID = 1,
	SBX_STEP_DUP2,
	SBX_STEP_CHDIR,
	SBX_STEP_EXEC,
};

/* Written by the child to the status pipe; nothing arrives on success. */
struct sbx_status {
	int step;
	int errnum;
};

/* One output stream being split into lines. */
struct sbx_stream_state {
	enum sbx_stream id;
	int fd;			/* owned; -1 at EOF */
	char *pend;		/* owned; the line so far, max_line bytes once
				   a line spans reads, NULL before */
	size_t len;
	bool split;		/* part of this line was passed already */
};

/* Everything fork() needs, built beforehand. */
struct sbx_child {
	char *path;		/* owned; absolute or as given with a '/' */
	char *const *argv;	/* borrowed */
	char *const *envp;	/* borrowed */
	const char *cwd;	/* borrowed, may be NULL */
	int devnull, out_w, err_w, status_w;
};

static long long sbx_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sbx_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Keep fd off 0-2 so the child's dup2() calls cannot clobber each other. */
static int sbx_high_fd(int *fd)
{
	int nfd;

	if (*fd > 2)
		return 0;
	nfd = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
	if (nfd < 0)
		return -1;
	close(*fd);
	*fd = nfd;
	return 0;
}

static int sbx_pipe(int fds[2], struct err *e)
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return err_sys(e, ERR_SANDBOX, "pipe");
	if (sbx_high_fd(&fds[0]) < 0 || sbx_high_fd(&fds[1]) < 0) {
		err_sys(e, ERR_SANDBOX, "fcntl");
		sbx_close(&fds[0]);
		sbx_close(&fds[1]);
		return -1;
	}
	return 0;
}

static const char *sbx_env_get(const char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp && *envp; envp++)
		if (!strncmp(*envp, name, n) && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

static bool sbx_is_exec(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode) && !access(path, X_OK);
}

/*
 * Find name in the PATH of envp (":"-separated; an empty entry is the
 * working directory). A relative entry is taken relative to cwd, or to
 * gantry's own directory when cwd is NULL, so the result is absolute.
 */
static int sbx_resolve(char **out, const char *name, const char *const *envp,
		       const char *cwd, struct err *e)
{
	const char *path = sbx_env_get(envp, "PATH");
	const char *p, *colon;
	char here[PATH_MAX], *cand;
	int ret = -1;

	if (strchr(name, '/')) {
		*out = xstrdup(name);
		return 0;
	}
	if (!path)
		path = SBX_DEFAULT_PATH;
	for (p = path;; p = colon + 1) {
		size_t dl;

		colon = strchr(p, ':');
		dl = colon ? (size_t)(colon - p) : strlen(p);
		if ((!dl || p[0] != '/') && !cwd)
			cwd = getcwd(here, sizeof(here)) ? here : "/";
		if (dl && p[0] == '/')
			cand = xasprintf("%.*s/%s", (int)dl, p, name);
		else if (dl)
			cand = xasprintf("%s/%.*s/%s", cwd, (int)dl, p, name);
		else
			cand = xasprintf("%s/%s", cwd, name);
		if (sbx_is_exec(cand)) {
			*out = cand;
			ret = 0;
			goto done;
		}
		free(cand);
		if (!colon)
			break;
	}
	errno = ENOENT;
	err_set(e, ERR_SANDBOX, "exec of %s: not found in PATH", name);
	if (e)
		e->sys_errno = ENOENT;
done:
	return ret;
}

/* In the child: report and leave. Async-signal-safe. */
static _Noreturn void sbx_child_fail(int status_w, int step)
{
	struct sbx_status st = { step, errno };
	ssize_t r;

	do
		r = write(status_w, &st, sizeof(st));
	while (r < 0 && errno == EINTR);
	_exit(127);
}

/* dup2 that also clears close-on-exec when from == to. */
static int sbx_dup_to(int from, int to)
{
	if (from == to)
		return fcntl(to, F_SETFD, 0);
	return dup2(from, to) < 0 ? -1 : 0;
}

/* In the child, after fork(): only async-signal-safe calls from here. */
static _Noreturn void sbx_child(const struct sbx_child *c)
{
	struct sigaction sa;
	sigset_t none;
	int sig;

	if (setpgid(0, 0) < 0)
		sbx_child_fail(c->status_w, SBX_STEP_SETPGID);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++) {
		/* glibc refuses its own signals (32, 33) with EINVAL; a parent
		 * such as make may have left them ignored, so ask the kernel */
		struct { void *handler; unsigned long flags; void *restorer;
			 unsigned long mask; } ksa = { 0 };

		if (sigaction(sig, &sa, NULL) < 0 && sig != SIGKILL && sig != SIGSTOP)
			syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof(ksa.mask));
	}
	if (sbx_dup_to(c->devnull, 0) < 0 || sbx_dup_to(c->out_w, 1) < 0 ||
	    sbx_dup_to(c->err_w, 2) < 0)
		sbx_child_fail(c->status_w, SBX_STEP_DUP2);
#ifdef SYS_close_range
	/* Whatever gantry opened without O_CLOEXEC stays out of the step. */
	syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */);
#endif
	if (c->cwd && chdir(c->cwd) < 0)
		sbx_child_fail(c->status_w, SBX_STEP_CHDIR);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(c->path, c->argv, c->envp);
	sbx_child_fail(c->status_w, SBX_STEP_EXEC);
}

static int sbx_child_error(const struct sbx_status *st, const char *name,
			   const char *cwd, struct err *e)
{
	errno = st->errnum;
	switch (st->step) {
	case SBX_STEP_CHDIR:
		return err_sys(e, ERR_SANDBOX, "chdir to %s failed", cwd);
	case SBX_STEP_EXEC:
		return err_sys(e, ERR_SANDBOX, "exec of %s failed", name);
	case SBX_STEP_SETPGID:
		return err_sys(e, ERR_SANDBOX, "setpgid for %s failed", name);
	default:
		return err_sys(e, ERR_SANDBOX, "redirecting output of %s failed",
			       name);
	}
}

static int sbx_pidfd_open(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

/* Pass pend to on_line, dropping a '\r' before the newline. */
static void sbx_emit(const struct sbx_opts *o, struct sbx_stream_state *s,
		     bool newline)
{
	size_t len = s->len;

	if (newline && len && s->pend[len - 1] == '\r')
		len--;
	/* A long line's tail that was only its "\r" is not a line of its own. */
	if (!(newline && s->split && !len) && o->on_line)
		o->on_line(o->ud, s->id, s->pend, len);
	s->len = 0;
	s->split = !newline;
}

/* Split data into lines; a line never holds more than max bytes. */
static void sbx_feed(const struct sbx_opts *o, struct sbx_stream_state *s,
		     size_t max, const char *data, size_t n)
{
	while (n) {
		const char *nl = memchr(data, '\n', n);
		size_t seg = nl ? (size_t)(nl - data) : n;

		if (nl && !s->len && seg <= max) {
			/* A whole line in the chunk: no copy. */
			size_t len = seg;

			if (len && data[len - 1] == '\r')
				len--;
			if (o->on_line)
				o->on_line(o->ud, s->id, data, len);
			data += seg + 1;
			n -= seg + 1;
			continue;
		}
		if (seg && !s->pend)
			s->pend = xmalloc(max);
		while (seg) {
			size_t take;

			if (s->len == max)
				sbx_emit(o, s, false);
			take = max - s->len < seg ? max - s->len : seg;
			memcpy(s->pend + s->len, data, take);
			s->len += take;
			data += take;
			n -= take;
			seg -= take;
		}
		if (nl) {
			sbx_emit(o, s, true);
			data++;
			n--;
		}
	}
}

/* Read what fd has now; at EOF pass the last partial line and close it. */
static void sbx_read(const struct sbx_opts *o, struct sbx_stream_state *s,
		     size_t max, char *chunk)
{
	int i;

	for (i = 0; i < 16 && s->fd >= 0; i++) {
		ssize_t r = read(s->fd, chunk, SBX_READ_CHUNK);

		if (r > 0) {
			sbx_feed(o, s, max, chunk, (size_t)r);
			if (r < SBX_READ_CHUNK)
				return;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		if (s->len)
			sbx_emit(o, s, false);
		sbx_close(&s->fd);
	}
}

static int sbx_ms_until(long long now, long long then)
{
	long long ms;

	if (then <= now)
		return 0;
	ms = (then - now + 999999) / 1000000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

static int sbx_min_timeout(int a, int b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

/* Has the main process exited? Leaves it unreaped so its pgid stays ours. */
/* The process being supervised: a child of ours (pid, pidfd) or a step
 * inside a job sandbox (job), whose end the job's init reports. */
struct sbx_proc {
	pid_t pid;
	struct sbx_job *job;	/* NULL for a direct child */
	int status;		/* wait status, once known */
	bool have_status;
};

static void sbx_proc_kill(struct sbx_proc *p, int sig)
{
	if (p->job)
		sbx_job_signal(p->job, sig);
	else
		kill(-p->pid, sig);
}

/* A job's init wrote to the socket: 1 when it said the step ended (or
 * the init is gone, which ends everything), else 0. */
static int sbx_job_event(struct sbx_proc *p)
{
	struct buf b = BUF_INIT;
	enum proto_type t;
	int fds[PROTO_MAX_FDS], r;
	size_t nfds = 0;

	r = proto_recv(p->job->ctl, &t, &b, fds, &nfds);
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	if (r <= 0) {
		p->status = SIGKILL;	/* as if killed: the job is over */
		p->have_status = true;
	} else if (t == PROTO_EXITED) {
		p->status = (int)strtol(b.ptr, NULL, 10);
		p->have_status = true;
	}
	buf_release(&b);
	return p->have_status;
}

static bool sbx_exited(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return errno != EINTR;
	return si.si_pid == pid;
}

/* The part of sbx_run() after a successful exec. */
static void sbx_supervise(struct sbx_result *out, const struct sbx_opts *o,
			  struct sbx_proc *proc, struct sbx_stream_state st[2],
			  long long start)
{
	pid_t pid = proc->pid;
	long long grace_ms = o->kill_grace_ms > 0 ? o->kill_grace_ms :
			     SBX_GRACE_DEFAULT_MS;
	long long grace_ns = (grace_ms < SBX_MS_MAX ? grace_ms : SBX_MS_MAX) *
			     1000000LL;
	long long deadline = o->timeout_ms > 0 ? start + 1000000LL *
			     (o->timeout_ms < SBX_MS_MAX ? o->timeout_ms :
			      SBX_MS_MAX) : 0;
	long long kill_at = 0, drain_end = 0, now;
	size_t max = o->max_line ? o->max_line : SBX_MAX_LINE_DEFAULT;
	int pidfd = proc->job ? proc->job->ctl : sbx_pidfd_open(pid);
	int cancel_fd = o->cancel_fd;
	bool exited = false, termed = false, killed = false;
	char *chunk = xmalloc(SBX_READ_CHUNK);
	int status = 0, fallback_ms = 1, i;

	for (i = 0; i < 2; i++)
		fcntl(st[i].fd, F_SETFL, O_NONBLOCK);	/* a pipe has no others */
	for (;;) {
		struct pollfd pfd[4];
		int np = 0, timeout = -1, ipid = -1, icancel = -1;
		int istream[2] = { -1, -1 };

		now = sbx_now_ns();
		if (!exited && !termed && deadline && now >= deadline) {
			out->timed_out = true;
			termed = true;
		}
		if (termed && !kill_at) {
			sbx_proc_kill(proc, SIGTERM);
			kill_at = now + grace_ns;
		}
		if (kill_at && !killed && now >= kill_at) {
			sbx_proc_kill(proc, SIGKILL);
			killed = true;
		}
		if (!exited && pidfd < 0 && sbx_exited(pid))
			exited = true;
		if (exited && !drain_end) {
			if (proc->job) {
				/* the job's init has killed the rest already */
				status = proc->status;
				pidfd = -1;
			} else {
				/* Nothing in the group outlives the main process. */
				kill(-pid, SIGKILL);
				while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
					;
				sbx_close(&pidfd);
			}
			drain_end = sbx_now_ns() + SBX_DRAIN_MS * 1000000LL;
		}
		if (exited && (now >= drain_end || (st[0].fd < 0 &&
						    st[1].fd < 0)))
			break;

		for (i = 0; i < 2; i++) {
			if (st[i].fd < 0)
				continue;
			istream[i] = np;
			pfd[np].fd = st[i].fd;
			pfd[np++].events = POLLIN;
		}
		if (!exited && pidfd >= 0) {
			ipid = np;
			pfd[np].fd = pidfd;
			pfd[np++].events = POLLIN;
		}
		if (!exited && !termed && cancel_fd >= 0) {
			icancel = np;
			pfd[np].fd = cancel_fd;
			pfd[np++].events = POLLIN;
		}
		if (exited)
			timeout = sbx_ms_until(now, drain_end);
		else if (pidfd < 0) {
			/* No pidfd: look again after 1, 2, 4 ... ms. */
			timeout = fallback_ms;
			if (fallback_ms < SBX_FALLBACK_POLL_MS)
				fallback_ms *= 2;
		}
		if (!exited && deadline && !termed)
			timeout = sbx_min_timeout(timeout,
						  sbx_ms_until(now, deadline));
		if (!exited && kill_at && !killed)
			timeout = sbx_min_timeout(timeout,
						  sbx_ms_until(now, kill_at));
		if (poll(pfd, (nfds_t)np, timeout) < 0) {
			if (errno == EINTR)
				continue;
			BUG("poll: %s", strerror(errno));
		}
		for (i = 0; i < 2; i++)
			if (istream[i] >= 0 && pfd[istream[i]].revents)
				sbx_read(o, &st[i], max, chunk);
		if (icancel >= 0 && pfd[icancel].revents) {
			out->cancelled = true;
			termed = true;
		}
		if (ipid >= 0 && pfd[ipid].revents &&
		    (proc->job ? sbx_job_event(proc) : sbx_exited(pid)))
			exited = true;
	}
	for (i = 0; i < 2; i++) {
		if (st[i].fd >= 0 && st[i].len)
			sbx_emit(o, &st[i], false);
		free(st[i].pend);
		st[i].pend = NULL;
	}
	free(chunk);
	if (WIFSIGNALED(status)) {
		out->term_signal = WTERMSIG(status);
		out->exit_code = 128 + out->term_signal;
	} else {
		out->exit_code = WEXITSTATUS(status);
	}
	out->duration_ns = sbx_now_ns() - start;
}

int sbx_run(struct sbx_result *out, const struct sbx_opts *o, struct err *e)
{
	struct sbx_stream_state st[2] = {
		{ SBX_STDOUT, -1, NULL, 0, false },
		{ SBX_STDERR, -1, NULL, 0, false },
	};
	struct sbx_child c = { NULL, NULL, NULL, NULL, -1, -1, -1, -1 };
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, statp[2] = { -1, -1 };
	struct sbx_status status;
	sigset_t all, old;
	long long start = sbx_now_ns();
	ssize_t r;
	pid_t pid;
	int ret = -1, i;

	memset(out, 0, sizeof(*out));
	if (!o->argv || !o->argv[0] || !o->argv[0][0]) {
		err_set(e, ERR_SANDBOX, "no program to run");
		goto done;
	}
	if (sbx_resolve(&c.path, o->argv[0], o->envp, o->cwd, e) < 0)
		goto done;
	c.argv = (char *const *)o->argv;
	c.envp = (char *const *)(o->envp ? o->envp : (const char *const[]){ NULL });
	c.cwd = o->cwd;
	c.devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (c.devnull < 0 || sbx_high_fd(&c.devnull) < 0) {
		err_sys(e, ERR_SANDBOX, "open /dev/null");
		goto done;
	}
	if (sbx_pipe(outp, e) < 0 || sbx_pipe(errp, e) < 0 ||
	    sbx_pipe(statp, e) < 0)
		goto done;
	c.out_w = outp[1];
	c.err_w = errp[1];
	c.status_w = statp[1];

	/* No handler of ours may run in the child before it resets them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0)
		sbx_child(&c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		err_sys(e, ERR_SANDBOX, "fork for %s", o->argv[0]);
		goto done;
	}
	setpgid(pid, pid);	/* also here, or kill(-pid) could race it */
	sbx_close(&outp[1]);
	sbx_close(&errp[1]);
	sbx_close(&statp[1]);

	/* EOF means exec succeeded (the write end was close-on-exec). */
	do
		r = read(statp[0], &status, sizeof(status));
	while (r < 0 && errno == EINTR);
	if (r == (ssize_t)sizeof(status)) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		sbx_child_error(&status, o->argv[0], o->cwd, e);
		goto done;
	}
	st[0].fd = outp[0];
	st[1].fd = errp[0];
	outp[0] = errp[0] = -1;
	{
		struct sbx_proc proc = { pid, NULL, 0, false };

		sbx_supervise(out, o, &proc, st, start);
	}
	ret = 0;
done:
	for (i = 0; i < 2; i++) {
		sbx_close(&outp[i]);
		sbx_close(&errp[i]);
		sbx_close(&statp[i]);
		sbx_close(&st[i].fd);
	}
	sbx_close(&c.devnull);
	free(c.path);
	return ret;
}

/* The step's failure before exec, as the job's init reported it. */
static int sbx_job_failed(const struct buf *b, const struct sbx_opts *o,
			  struct err *e)
{
	size_t pos = 0;
	const char *what = proto_next(b, &pos), *num = proto_next(b, &pos);
	int w = what ? (int)strtol(what, NULL, 10) : 0;

	errno = num ? (int)strtol(num, NULL, 10) : EIO;
	if (w == 1)
		return err_sys(e, ERR_SANDBOX, "chdir to %s failed", o->cwd ? o->cwd : "?");
	if (w == 2)
		return err_sys(e, ERR_SANDBOX, "exec of %s failed", o->argv[0]);
	return err_sys(e, ERR_SANDBOX, "sandbox: starting %s failed", o->argv[0]);
}

int sbx_job_run(struct sbx_job *j, struct sbx_result *out,
		const struct sbx_opts *o, struct err *e)
{
	struct sbx_stream_state st[2] = {
		{ SBX_STDOUT, -1, NULL, 0, false },
		{ SBX_STDERR, -1, NULL, 0, false },
	};
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, devnull = -1;
	struct buf msg = BUF_INIT, reply = BUF_INIT;
	long long start = sbx_now_ns();
	char *path = NULL;
	size_t argc = 0, envc = 0, nfds = 0;
	enum proto_type t;
	int fds[PROTO_MAX_FDS];
	char num[32];
	int ret = -1, r, i;

	memset(out, 0, sizeof(*out));
	if (!o->argv || !o->argv[0] || !o->argv[0][0]) {
		err_set(e, ERR_SANDBOX, "no program to run");
		goto done;
	}
	/* the job sees the host's paths (read-only), so resolve here */
	if (sbx_resolve(&path, o->argv[0], o->envp, o->cwd, e) < 0)
		goto done;
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0) {
		err_sys(e, ERR_SANDBOX, "open /dev/null");
		goto done;
	}
	if (sbx_pipe(outp, e) < 0 || sbx_pipe(errp, e) < 0)
		goto done;
	while (o->argv[argc])
		argc++;
	while (o->envp && o->envp[envc])
		envc++;
	proto_add(&msg, path);
	proto_add(&msg, o->cwd ? o->cwd : "/");
	snprintf(num, sizeof(num), "%zu", argc);
	proto_add(&msg, num);
	for (size_t k = 0; k < argc; k++)
		proto_add(&msg, o->argv[k]);
	snprintf(num, sizeof(num), "%zu", envc);
	proto_add(&msg, num);
	for (size_t k = 0; k < envc; k++)
		proto_add(&msg, o->envp[k]);
	{
		int send_fds[3] = { devnull, outp[1], errp[1] };

		if (proto_send(j->ctl, PROTO_RUN, msg.ptr, msg.len, send_fds, 3) < 0) {
			err_sys(e, ERR_SANDBOX, "sandbox: the job's init is gone");
			goto done;
		}
	}
	sbx_close(&outp[1]);
	sbx_close(&errp[1]);
	{
		/* the init answers at once (after its vfork and exec); a job
		 * whose init does not is broken: a bounded wait. A cancel is
		 * heard once the step runs (answering it here would leave the
		 * init's STARTED unread) */
		struct pollfd pf = { j->ctl, POLLIN, 0 };
		int pr;

		do
			pr = poll(&pf, 1, 30000);
		while (pr < 0 && errno == EINTR);
		if (pr <= 0) {
			err_set(e, ERR_SANDBOX, "sandbox: the job's init did not start %s "
				"within 30 s", o->argv[0]);
			goto done;
		}
	}
	r = proto_recv(j->ctl, &t, &reply, fds, &nfds);
	for (size_t k = 0; k < nfds; k++)
		close(fds[k]);
	if (r <= 0) {
		err_set(e, ERR_SANDBOX, "sandbox: the job's init is gone");
		goto done;
	}
	if (t == PROTO_FAILED) {
		sbx_job_failed(&reply, o, e);
		goto done;
	}
	if (t != PROTO_STARTED) {
		err_set(e, ERR_SANDBOX, "sandbox: unexpected answer %d from the init", (int)t);
		goto done;
	}
	st[0].fd = outp[0];
	st[1].fd = errp[0];
	outp[0] = errp[0] = -1;
	{
		struct sbx_proc proc = { (pid_t)strtol(reply.ptr, NULL, 10), j, 0, false };

		sbx_supervise(out, o, &proc, st, start);
	}
	ret = 0;
done:
	for (i = 0; i < 2; i++) {
		sbx_close(&outp[i]);
		sbx_close(&errp[i]);
		sbx_close(&st[i].fd);
	}
	sbx_close(&devnull);
	buf_release(&msg);
	buf_release(&reply);
	free(path);
	return ret;
}
