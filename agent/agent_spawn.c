/*
 * agent_spawn: how the agent starts a gantry child (a run's `gantry run`,
 * agent_standby.c; a commit status's `gantry __forge-status`,
 * forge_status.c). Everything is prepared before fork; after it only
 * async-signal-safe calls. The child is its own process group, dies with
 * the thread that started it, gets the signal dispositions and mask a new
 * process has, the descriptors it is given and nothing else of the
 * agent's, and an environment from an allowlist (never the agent's
 * configuration, where its secrets are). An exec that fails is reported
 * on a close-on-exec pipe.
 */
#include "agent.h"

#include "../lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* The agent's environment variables a child gets: the basics, locale,
 * proxies and CA bundles, AWS_* (the agent's credentials source, for an
 * artifact store in S3), gantry's own and the sanitizers' settings. */
static bool env_passes(const char *kv)
{
	static const char *const exact[] = {
		"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ",
		"TMPDIR", "TERM", "http_proxy", "HTTP_PROXY", "https_proxy",
		"HTTPS_PROXY", "no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY",
		"SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE", "ASAN_OPTIONS",
		"UBSAN_OPTIONS", "LSAN_OPTIONS",
	};
	static const char *const prefix[] = { "LC_", "AWS_", "XDG_", "GANTRY_" };
	size_t n = strcspn(kv, "=");

	if (!kv[n])
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(exact); i++)
		if (strlen(exact[i]) == n && !strncmp(kv, exact[i], n))
			return true;
	for (size_t i = 0; i < ARRAY_SIZE(prefix); i++)
		if (str_starts_with(kv, prefix[i]) && !memmem(kv, n, "__", 2))
			return true;
	return false;
}

void agent_spawn_env(struct strv *env)
{
	for (char **p = environ; *p; p++)
		if (env_passes(*p))
			strv_push(env, *p);
}

pid_t agent_spawn(const struct strv *argv, const struct strv *env, const int *fds,
		  int nfds, const char *what, struct err *e)
{
	static char *const no_env[] = { NULL };
	char *const *envp = env->v ? env->v : no_env;
	int devnull, ep[2], why = 0;
	pid_t parent = getpid(), pid;
	sigset_t none;
	ssize_t n;

	if (nfds < 0 || nfds > AGENT_SPAWN_FDS)
		BUG("agent_spawn: %d descriptors", nfds);
	sigemptyset(&none);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		return err_sys(e, ERR_IO, "/dev/null");
	if (pipe2(ep, O_CLOEXEC) < 0) {
		close(devnull);
		return err_sys(e, ERR_IO, "cannot start %s: pipe", what);
	}
	pid = fork();
	if (pid == 0) {
		/* above what is moved to 0 .. nfds below, whatever they were */
		int tmp[AGENT_SPAWN_FDS], w = fcntl(ep[1], F_DUPFD_CLOEXEC, 10);
		bool ok;

		for (int i = 0; i < nfds; i++)
			tmp[i] = fcntl(fds[i] < 0 ? devnull : fds[i], F_DUPFD_CLOEXEC, 10);
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);	/* nobody to tell */
		signal(SIGPIPE, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		ok = w >= 0;
		for (int i = 0; ok && i < nfds; i++)
			ok = tmp[i] >= 0 && dup2(tmp[i], i) >= 0;
		if (ok && dup3(w, nfds, O_CLOEXEC) >= 0) {
			/* nothing else of the agent's: libraries open
			 * descriptors without close-on-exec (curl's sockets,
			 * zlib's files) */
			if (syscall(SYS_close_range, (unsigned)nfds + 1, ~0U, 0U) < 0)
				for (int fd = nfds + 1; fd < 65536; fd++)
					close(fd);
			execve(argv->v[0], argv->v, envp);
			w = nfds;
		}
		why = errno;
		if (write(w < 0 ? ep[1] : w, &why, sizeof(why)) < 0)
			_exit(127);
		_exit(127);
	}
	close(devnull);
	close(ep[1]);
	if (pid < 0) {
		close(ep[0]);
		return err_sys(e, ERR_SANDBOX, "cannot start %s", what);
	}
	/* also here, so that a signal to the group right away reaches it */
	setpgid(pid, pid);
	do
		n = read(ep[0], &why, sizeof(why));
	while (n < 0 && errno == EINTR);
	close(ep[0]);
	if (n > 0) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		errno = why;
		return err_sys(e, ERR_SANDBOX, "cannot run %s", argv->v[0]);
	}
	return pid;
}
