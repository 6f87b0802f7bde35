/*
 * init: the first process of a job's sandbox, and the parent of its steps.
 *
 * Threat model: everything this process starts is hostile. It runs as PID
 * 1 of the job's new PID namespace, in new mount, IPC, UTS (and network)
 * namespaces made by gantry's clone(), exec'd from gantry's own binary with
 * an empty environment so that nothing of gantry's (secrets included) is in
 * /proc/1/environ. It builds the step's view of the file system (the host
 * root read-only and nosuid, the job's folders writable, a private /tmp, a
 * fresh /proc, a minimal /dev, gantry's state hidden), pivots into it, and
 * then gives up what it will never need again: capabilities, the right to
 * gain privileges, dangerous system calls (seccomp), unbounded resources.
 * Only then does it answer READY; after that it only forks steps, reaps,
 * and kills: when a step's main process ends, every other process in the
 * namespace is killed (kill(-1) from PID 1 reaches all of them, setsid'd
 * and double-forked ones included), and when gantry goes away this process
 * exits, which makes the kernel kill whatever is left in the namespace.
 * Signals sent to PID 1 from inside the namespace are ignored by the
 * kernel unless handled, so a step cannot kill it.
 *
 * This process is single-threaded and exits with _exit(): no atexit
 * handlers (nor LeakSanitizer's, which would need ptrace) run here.
 */
#include "sbx.h"
#include "proto.h"
#include "../lib/buf.h"
#include "../lib/fs.h"
#include "../lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define INIT_MAX_HIDE 64
#define STAGE "/tmp/.gantry-root"

struct init_cfg {
	const char *workspace;
	const char *temp;
	const char *toolcache;
	const char *hide[INIT_MAX_HIDE];
	size_t n_hide;
	const char *ro[8];
	size_t n_ro;
	const char *net;
	struct sbx_limits limits;
	bool userns;
};

static int ctl = -1;

static _Noreturn void init_fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* Tell gantry what failed, in a sentence, and stop. */
static _Noreturn void init_fail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	proto_send(ctl, PROTO_ERROR, msg, strlen(msg), NULL, 0);
	_exit(1);
}

static const char *errname(int err)
{
	switch (err) {
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ENOENT: return "ENOENT";
	case EINVAL: return "EINVAL";
	case ENOSYS: return "ENOSYS";
	case EBUSY: return "EBUSY";
	case ENOTDIR: return "ENOTDIR";
	case EROFS: return "EROFS";
	default: return strerror(err);
	}
}

static void parse_cfg(struct init_cfg *c, const struct buf *p)
{
	size_t pos = 0;
	const char *kv;

	memset(c, 0, sizeof(*c));
	c->net = "host";
	while ((kv = proto_next(p, &pos))) {
		const char *v = strchr(kv, '=');
		size_t kl;

		if (!v)
			continue;
		kl = (size_t)(v - kv);
		v++;
#define KEY(k) (kl == strlen(k) && !strncmp(kv, k, kl))
		if (KEY("workspace"))
			c->workspace = v;
		else if (KEY("temp"))
			c->temp = v;
		else if (KEY("toolcache"))
			c->toolcache = *v ? v : NULL;
		else if (KEY("hide") && c->n_hide < INIT_MAX_HIDE)
			c->hide[c->n_hide++] = v;
		else if (KEY("ro") && c->n_ro < 8)
			c->ro[c->n_ro++] = v;
		else if (KEY("net"))
			c->net = v;
		else if (KEY("nofile"))
			c->limits.nofile = strtol(v, NULL, 10);
		else if (KEY("nproc"))
			c->limits.nproc = strtol(v, NULL, 10);
		else if (KEY("fsize"))
			c->limits.fsize_bytes = strtoll(v, NULL, 10);
		else if (KEY("userns"))
			c->userns = !strcmp(v, "1");
#undef KEY
	}
	if (!c->workspace || !c->temp)
		init_fail("sandbox: the job's configuration names no workspace or temp folder");
}

static void xmount(const char *src, const char *target, const char *type,
		   unsigned long flags, const char *data)
{
	if (mount(src, target, type, flags, data) < 0) {
		int err = errno;
		const char *shown = target;

		if (!strncmp(shown, STAGE, strlen(STAGE)))
			shown += strlen(STAGE);
		init_fail("sandbox: mount of %s%s%s failed: %s; run as root or enable user "
			  "namespaces, or use --sandbox=off", type ? type : "",
			  type ? " on " : "", *shown ? shown : "/", errname(err));
	}
}

/* mkdir -p of a path inside the stage (in writable parts only). */
static void mkdirs(const char *path)
{
	char tmp[4096];

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		init_fail("sandbox: path too long: %s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(tmp, 0755);
		*p = '/';
	}
	mkdir(tmp, 0755);
}

/* Whether path lies under one of the job's own mounts (the private /tmp,
 * the empty /run, the fresh /dev), which cover the host's there. */
static bool fresh_mount_covers(const char *path)
{
	return str_starts_with(path, "/tmp/") || str_starts_with(path, "/dev/") ||
	       str_starts_with(path, "/run/");
}

static char *staged(const char *path)
{
	return xasprintf("%s%s", STAGE, path);
}

/* A detached, writable copy of a host folder, to attach in the new root. */
static int clone_rw(const char *path)
{
	struct mount_attr a = { 0 };
	int fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
			   AT_RECURSIVE);

	if (fd < 0)
		init_fail("sandbox: cannot bind %s: %s", path, errname(errno));
	a.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
	if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0)
		init_fail("sandbox: cannot make %s nosuid: %s", path, errname(errno));
	return fd;
}

/* A detached, read-only copy of a host folder. */
static int clone_ro(const char *path)
{
	struct mount_attr a = { 0 };
	int fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
			   AT_RECURSIVE);

	if (fd < 0)
		init_fail("sandbox: cannot bind %s: %s", path, errname(errno));
	a.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
	if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0)
		init_fail("sandbox: cannot make %s read-only: %s", path, errname(errno));
	return fd;
}

static void attach(int fd, const char *path)
{
	char *t = staged(path);
	struct stat st;

	/* a mount point missing from the new root can be made only where it
	 * is writable: the private /tmp, or a hidden folder (still writable
	 * until hide_seal()) */
	if (stat(t, &st) < 0)
		mkdirs(t);
	if (move_mount(fd, "", AT_FDCWD, t, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		init_fail("sandbox: cannot mount %s writable: %s", path, errname(errno));
	close(fd);
	free(t);
}

/* Make a path of the host invisible: an empty tmpfs over a folder (made
 * read-only by hide_seal() once the job's own folders are mounted, since
 * one may lie inside, such as this job's folder in the run's folder),
 * /dev/null over a file. Paths that do not exist are fine. */
static const char *sealed[INIT_MAX_HIDE];
static size_t n_sealed;

static void hide(const char *path)
{
	char *t;
	struct stat st;

	if (fresh_mount_covers(path))
		return;
	t = staged(path);

	if (lstat(t, &st) == 0 && !S_ISLNK(st.st_mode)) {
		if (S_ISDIR(st.st_mode)) {
			xmount("tmpfs", t, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			       "mode=0755,size=16k");
			if (n_sealed < INIT_MAX_HIDE)
				sealed[n_sealed++] = path;
		} else {
			xmount("/dev/null", t, NULL, MS_BIND, NULL);
			xmount(NULL, t, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID |
			       MS_NODEV | MS_NOEXEC, NULL);
		}
	}
	free(t);
}

static void hide_seal(void)
{
	for (size_t i = 0; i < n_sealed; i++) {
		char *t = staged(sealed[i]);

		xmount(NULL, t, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		       "mode=0755,size=16k");
		free(t);
	}
}

static void ro_bind_self(const char *path)
{
	char *t = staged(path);
	struct stat st;

	if (stat(t, &st) == 0) {
		xmount(t, t, NULL, MS_BIND | MS_REC, NULL);
		xmount(NULL, t, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID |
		       MS_NODEV | MS_NOEXEC, NULL);
	}
	free(t);
}

static void make_dev(bool userns)
{
	static const char *const nodes[] = { "null", "zero", "full", "random",
					     "urandom", "tty" };
	static const char *const links[][2] = {
		{ "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" },
		{ "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
		{ "pts/ptmx", "ptmx" },
	};
	char p[256], host[64];

	xmount("tmpfs", STAGE "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k");
	for (size_t i = 0; i < ARRAY_SIZE(nodes); i++) {
		int fd;

		snprintf(p, sizeof(p), STAGE "/dev/%s", nodes[i]);
		snprintf(host, sizeof(host), "/dev/%s", nodes[i]);
		fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
		if (fd < 0)
			init_fail("sandbox: cannot create /dev/%s: %s", nodes[i], errname(errno));
		close(fd);
		xmount(host, p, NULL, MS_BIND, NULL);
	}
	mkdir(STAGE "/dev/pts", 0755);
	xmount("devpts", STAGE "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
	       userns ? "newinstance,ptmxmode=0666,mode=620" :
	       "newinstance,ptmxmode=0666,mode=620,gid=5");
	mkdir(STAGE "/dev/shm", 01777);
	xmount("tmpfs", STAGE "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		snprintf(p, sizeof(p), STAGE "/dev/%s", links[i][1]);
		if (symlink(links[i][0], p) < 0)
			init_fail("sandbox: cannot create /dev/%s: %s", links[i][1],
				  errname(errno));
	}
}

static void lo_up(void)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		init_fail("sandbox: socket for lo: %s", errname(errno));
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		init_fail("sandbox: cannot read lo's flags: %s", errname(errno));
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		init_fail("sandbox: cannot bring lo up: %s", errname(errno));
	close(s);
}

static void setup(const struct init_cfg *c)
{
	struct mount_attr ro = { 0 };
	int root, ws, tmp, tc = -1, rofd[8];
	struct err e = ERR_INIT;

	if (unshare(CLONE_NEWCGROUP) < 0)
		init_fail("sandbox: cannot make a cgroup namespace: %s", errname(errno));
	if (sethostname("gantry", 6) < 0)
		init_fail("sandbox: cannot set the hostname: %s", errname(errno));
	if (!strcmp(c->net, "loopback"))
		lo_up();
	xmount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);

	/* detached copies first: the stage below covers /tmp */
	root = open_tree(AT_FDCWD, "/", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (root < 0)
		init_fail("sandbox: cannot copy the host's root: %s", errname(errno));
	ro.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
	if (mount_setattr(root, "", AT_EMPTY_PATH | AT_RECURSIVE, &ro, sizeof(ro)) < 0)
		init_fail("sandbox: mount of / read-only failed: %s; run as root or enable "
			  "user namespaces, or use --sandbox=off", errname(errno));
	ws = clone_rw(c->workspace);
	tmp = clone_rw(c->temp);
	if (c->toolcache)
		tc = clone_rw(c->toolcache);
	for (size_t i = 0; i < c->n_ro; i++)
		rofd[i] = clone_ro(c->ro[i]);

	xmount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700,size=64k");
	if (mkdir(STAGE, 0755) < 0)
		init_fail("sandbox: cannot make the stage: %s", errname(errno));
	if (move_mount(root, "", AT_FDCWD, STAGE, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		init_fail("sandbox: cannot attach the new root: %s", errname(errno));
	close(root);

	/* a private /tmp (this also hides the run's other jobs under it) */
	xmount("tmpfs", STAGE "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	/* /run (and /var/run) holds the host's sockets: docker, systemd, the
	 * D-Bus system bus, databases, the user's agents; a read-only mount
	 * does not stop connect(), so the job gets an empty /run instead */
	{
		struct stat rst;

		if (stat(STAGE "/run", &rst) == 0 && S_ISDIR(rst.st_mode))
			xmount("tmpfs", STAGE "/run", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			       "mode=0755,size=64k");
	}
	for (size_t i = 0; i < c->n_hide; i++)
		hide(c->hide[i]);
	xmount("proc", STAGE "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	/* sysfs shows the network namespace it was mounted in: a job with
	 * its own network gets its own, read-only */
	if (strcmp(c->net, "host"))
		xmount("sysfs", STAGE "/sys", "sysfs",
		       MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	ro_bind_self("/proc/sys");
	ro_bind_self("/proc/sysrq-trigger");
	ro_bind_self("/proc/irq");
	ro_bind_self("/proc/bus");
	make_dev(c->userns);
	/* the job's own folders last, so that none is covered by the private
	 * /tmp, /dev/shm or a hidden folder they may lie in */
	attach(ws, c->workspace);
	attach(tmp, c->temp);
	if (tc >= 0)
		attach(tc, c->toolcache);
	/* read-only folders only where /tmp or /dev covered them; elsewhere
	 * the read-only host root shows them already */
	for (size_t i = 0; i < c->n_ro; i++) {
		if (fresh_mount_covers(c->ro[i]))
			attach(rofd[i], c->ro[i]);
		else
			close(rofd[i]);
	}
	hide_seal();

	if (chdir(STAGE) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
		init_fail("sandbox: pivot_root failed: %s", errname(errno));
	if (umount2(".", MNT_DETACH) < 0)
		init_fail("sandbox: cannot detach the old root: %s", errname(errno));
	if (chdir("/") < 0 || chdir(c->workspace) < 0)
		init_fail("sandbox: cannot enter %s: %s", c->workspace, errname(errno));

	if (sbx_apply_rlimits(&c->limits, &e) < 0 || sbx_drop_privileges(&e) < 0 ||
	    sbx_seccomp_apply(&e) < 0)
		init_fail("sandbox: %s", e.msg);
}

/* ---- serving steps ---- */

struct step_fail {
	int what;	/* 1 chdir, 2 exec, 3 dup2 */
	int err;
};

static pid_t start_step(const struct buf *p, int *fds, size_t nfds)
{
	size_t pos = 0;
	const char *path = proto_next(p, &pos), *cwd = proto_next(p, &pos);
	const char *s;
	long argc, envc;
	char **argv, **envp;
	int sp[2];
	struct step_fail f;
	sigset_t none;
	pid_t pid;
	ssize_t r;

	if (!path || !cwd || nfds != 3 || !(s = proto_next(p, &pos)))
		return -EINVAL;
	argc = strtol(s, NULL, 10);
	if (argc < 1 || argc > 1 << 20)
		return -EINVAL;
	argv = xcalloc((size_t)argc + 1, sizeof(*argv));
	for (long i = 0; i < argc; i++)
		argv[i] = (char *)proto_next(p, &pos);
	s = proto_next(p, &pos);
	envc = s ? strtol(s, NULL, 10) : -1;
	if (envc < 0 || envc > 1 << 20) {
		free(argv);
		return -EINVAL;
	}
	envp = xcalloc((size_t)envc + 1, sizeof(*envp));
	for (long i = 0; i < envc; i++)
		envp[i] = (char *)proto_next(p, &pos);
	if (pipe2(sp, O_CLOEXEC) < 0) {
		r = -errno;
		free(argv);
		free(envp);
		return (pid_t)r;
	}
	/* vfork: no copy of the init's page tables per step; the child only
	 * makes system calls on memory prepared above, then execs */
	pid = vfork();
	if (pid == 0) {
		struct sigaction sa;

		setsid();
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		for (int sig = 1; sig < NSIG; sig++)
			sigaction(sig, &sa, NULL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		f.what = 3;
		if (dup2(fds[0], 0) < 0 || dup2(fds[1], 1) < 0 || dup2(fds[2], 2) < 0)
			goto fail;
		/* nothing of the init's reaches the step but 0, 1, 2 */
		syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */);
		f.what = 1;
		if (chdir(cwd) < 0)
			goto fail;
		f.what = 2;
		execve(path, argv, envp);
fail:
		f.err = errno;
		r = write(sp[1], &f, sizeof(f));
		(void)r;
		_exit(127);
	}
	free(argv);
	free(envp);
	close(sp[1]);
	if (pid < 0) {
		int err = errno;

		close(sp[0]);
		return -err;
	}
	do
		r = read(sp[0], &f, sizeof(f));
	while (r < 0 && errno == EINTR);
	close(sp[0]);
	if (r == (ssize_t)sizeof(f)) {
		char msg[64];

		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		snprintf(msg, sizeof(msg), "%d", f.what);
		{
			struct buf b = BUF_INIT;
			char num[32];

			proto_add(&b, msg);
			snprintf(num, sizeof(num), "%d", f.err);
			proto_add(&b, num);
			proto_send(ctl, PROTO_FAILED, b.ptr, b.len, NULL, 0);
			buf_release(&b);
		}
		return 0;
	}
	{
		char num[32];

		snprintf(num, sizeof(num), "%d", (int)pid);
		proto_send(ctl, PROTO_STARTED, num, strlen(num) + 1, NULL, 0);
	}
	return pid;
}

static _Noreturn void serve(void)
{
	struct buf p = BUF_INIT;
	sigset_t chld;
	pid_t step = 0;
	int sfd;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		init_fail("sandbox: signalfd: %s", errname(errno));
	proto_send(ctl, PROTO_READY, NULL, 0, NULL, 0);
	for (;;) {
		struct pollfd pf[2] = { { ctl, POLLIN, 0 }, { sfd, POLLIN, 0 } };

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[1].revents) {
			struct signalfd_siginfo si;
			int st;
			pid_t w;

			while (read(sfd, &si, sizeof(si)) > 0)
				;
			while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
				char num[32];

				if (w != step)
					continue;	/* an orphan, reaped */
				step = 0;
				/* nothing outlives its step */
				kill(-1, SIGKILL);
				snprintf(num, sizeof(num), "%d", st);
				proto_send(ctl, PROTO_EXITED, num, strlen(num) + 1, NULL, 0);
			}
		}
		if (pf[0].revents) {
			enum proto_type t;
			int fds[PROTO_MAX_FDS];
			size_t nfds = 0;
			int r = proto_recv(ctl, &t, &p, fds, &nfds);

			if (r <= 0)
				break;	/* gantry is gone: the job ends */
			if (t == PROTO_RUN && step) {
				struct buf b = BUF_INIT;

				proto_add(&b, "4");
				proto_add(&b, "16");	/* EBUSY */
				proto_send(ctl, PROTO_FAILED, b.ptr, b.len, NULL, 0);
				buf_release(&b);
			} else if (t == PROTO_RUN) {
				pid_t pid = start_step(&p, fds, nfds);

				if (pid < 0) {
					struct buf b = BUF_INIT;
					char num[32];

					proto_add(&b, "4");
					snprintf(num, sizeof(num), "%d", (int)-pid);
					proto_add(&b, num);
					proto_send(ctl, PROTO_FAILED, b.ptr, b.len, NULL, 0);
					buf_release(&b);
				} else if (pid > 0) {
					step = pid;
				}
			} else if (t == PROTO_SIGNAL) {
				int sig = (int)strtol(p.ptr, NULL, 10);

				if (step && (sig == SIGTERM || sig == SIGKILL || sig == SIGINT))
					kill(-1, sig);
			}
			for (size_t i = 0; i < nfds; i++)
				close(fds[i]);
		}
	}
	kill(-1, SIGKILL);
	_exit(0);
}

_Noreturn void sbx_init_main(int fd)
{
	struct buf p = BUF_INIT;
	struct init_cfg c;
	enum proto_type t;
	int fds[PROTO_MAX_FDS];
	size_t nfds;

	ctl = fd;
	/* steps run as the same uid: without this they could ptrace this
	 * process, read its memory, or take its descriptors (pidfd_getfd) */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* fd 3 came without close-on-exec (dup2); no step may inherit it */
	fcntl(ctl, F_SETFD, FD_CLOEXEC);
	/* nothing of gantry's but the socket: 0, 1, 2 become /dev/null */
	{
		int dn = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (dn >= 0) {
			dup2(dn, 0);
			dup2(dn, 1);
			dup2(dn, 2);
			if (dn > 2)
				close(dn);
		}
	}
	if (getpid() != 1)
		init_fail("sandbox: the init must be PID 1 of a new PID namespace");
	if (proto_recv(ctl, &t, &p, fds, &nfds) != 1 || t != PROTO_CONFIG)
		_exit(1);
	parse_cfg(&c, &p);
	setup(&c);
	serve();
}
