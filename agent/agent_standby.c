/*
 * agent_standby: a worker's run processes. Each run is a child `gantry
 * run`; with workers.prestart the worker starts its next one when it
 * starts and as soon as it has handed a run over (`gantry run --standby`,
 * run_standby.h), so that what a run process does before it knows its run
 * (linking, starting libgit2, the first job's sandbox with its cgroup
 * move) is not waited for when a run comes. Without prestart the same
 * process is started when the run comes and handed the run at once.
 *
 * The standby gets the agent's environment as a run would (agent_spawn.c);
 * the run itself (its arguments, the git token) only comes with the
 * request. A standby made with other sandbox settings than the current
 * configuration's (SIGHUP), or from a gantry since replaced on disk, is
 * replaced before it gets a run; one that ends by itself is said and
 * replaced after RETRY_NS.
 */
#include "agent.h"
#include "run_standby.h"

#include "../lib/log.h"
#include "../lib/util.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define STOP_GRACE_MS 5000		/* for a standby to end once told */
#define RETRY_NS (5 * 1000000000LL)	/* after one ended by itself */

/* What the standby is made with (under cfg_lock): its arguments, one a
 * line, and which file its executable was, so that a gantry upgraded in
 * place runs the next run */
static char *standby_key(struct agent *ag)
{
	struct agent_config *c = &ag->cfg;
	struct stat st;

	if (stat(ag->exe, &st) < 0)
		memset(&st, 0, sizeof(st));
	return xasprintf("--sandbox=%s\n--network=%s\n--memory=%s\n#%llu:%llu:%lld.%09ld",
			 c->sandbox, c->network, c->memory, (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino, (long long)st.st_mtim.tv_sec,
			 st.st_mtim.tv_nsec);
}

/* Start a standby for w (none running); -1 with e when it cannot start */
static int start(struct agent *ag, struct worker *w, struct err *e)
{
	struct strv argv = STRV_INIT, env = STRV_INIT;
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return err_sys(e, ERR_IO, "cannot start gantry run: socketpair");
	strv_push(&argv, ag->exe);
	strv_push(&argv, "run");
	strv_push(&argv, "--standby=3");
	pthread_rwlock_rdlock(&ag->cfg_lock);
	w->standby_key = standby_key(ag);
	pthread_rwlock_unlock(&ag->cfg_lock);
	for (char *k = w->standby_key, *nl; k && *k != '#'; k = nl ? nl + 1 : NULL) {
		nl = strchr(k, '\n');
		strv_push_owned(&argv, xstrndup(k, nl ? (size_t)(nl - k) : strlen(k)));
	}
	/* of the agent's environment, what a run needs (never its
	 * configuration, where its secrets are, nor a database password) */
	agent_spawn_env(&env);
	/* stdout and stderr become the run's log with the request; until
	 * then stderr is the agent's (what a standby that gets no run says,
	 * as it ends) */
	pid = agent_spawn(&argv, &env, (int[]){ -1, -1, 2, sv[1] }, 4, "gantry run", e);
	close(sv[1]);
	strv_release(&argv);
	strv_release(&env);
	if (pid < 0) {
		close(sv[0]);
		free(w->standby_key);
		w->standby_key = NULL;
		return -1;
	}
	w->standby = pid;
	w->standby_sock = sv[0];
	return 0;
}

/* w has no standby any more (its pid handed over, or reaped) */
static void forget(struct worker *w)
{
	if (w->standby_sock >= 0)
		close(w->standby_sock);
	w->standby = 0;
	w->standby_sock = -1;
	free(w->standby_key);
	w->standby_key = NULL;
}

/* End w's standby; its wait status, or -1 when there was none */
static int stop(struct worker *w)
{
	int pfd, status = -1;
	pid_t got = 0;

	if (w->standby <= 0)
		return -1;
	/* without a request the process ends by itself, freeing its
	 * sandbox; a kill would leave the sandbox's cgroups behind */
	close(w->standby_sock);
	w->standby_sock = -1;
	pfd = (int)syscall(SYS_pidfd_open, w->standby, 0);
	if (pfd >= 0) {
		struct pollfd p = { .fd = pfd, .events = POLLIN };

		if (poll(&p, 1, STOP_GRACE_MS) <= 0)
			kill(-w->standby, SIGKILL);
		close(pfd);
		got = waitpid(w->standby, &status, 0);
	} else {
		/* no pidfd (Linux before 5.3): look every 10 ms */
		for (int i = 0; i < STOP_GRACE_MS / 10 && got == 0; i++) {
			got = waitpid(w->standby, &status, WNOHANG);
			if (got == 0)
				usleep(10 * 1000);
		}
		if (got == 0)
			kill(-w->standby, SIGKILL);
	}
	while (got <= 0 && (got = waitpid(w->standby, &status, 0)) < 0 && errno == EINTR)
		;
	forget(w);
	return status;
}

void agent_standby_stop(struct worker *w)
{
	stop(w);
}

/* Whether w's standby is there, alive and made as the configuration says now */
static bool usable(struct agent *ag, struct worker *w)
{
	int status;
	bool same;
	char *key;

	if (w->standby <= 0)
		return false;
	if (waitpid(w->standby, &status, WNOHANG) == w->standby) {
		/* it ended by itself while waiting (killed, or it could not
		 * start): said, and not started again at once */
		if (WIFSIGNALED(status))
			log_msg(LOG_WARN, "agent: worker %d: its waiting gantry run was killed "
				"by signal %d", w->index, WTERMSIG(status));
		else
			log_msg(LOG_WARN, "agent: worker %d: its waiting gantry run ended "
				"with status %d", w->index, WEXITSTATUS(status));
		w->standby_retry_ns = time_mono_ns() + RETRY_NS;
		forget(w);
		return false;
	}
	pthread_rwlock_rdlock(&ag->cfg_lock);
	key = standby_key(ag);
	pthread_rwlock_unlock(&ag->cfg_lock);
	same = !strcmp(key, w->standby_key);
	free(key);
	if (!same)
		agent_standby_stop(w);
	return same;
}

void agent_standby_prepare(struct agent *ag, struct worker *w)
{
	struct err e = ERR_INIT;
	bool on;

	pthread_rwlock_rdlock(&ag->cfg_lock);
	on = ag->cfg.prestart;
	pthread_rwlock_unlock(&ag->cfg_lock);
	if (!on) {
		agent_standby_stop(w);
		return;
	}
	if (usable(ag, w) || time_mono_ns() < w->standby_retry_ns)
		return;
	if (start(ag, w, &e) < 0) {
		w->standby_retry_ns = time_mono_ns() + RETRY_NS;
		/* the run will try again, and say why in its log */
		log_msg(LOG_WARN, "agent: worker %d: %s", w->index, e.msg);
		err_clear(&e);
	}
}

pid_t agent_standby_run(struct agent *ag, struct worker *w, const struct strv *argv,
			const struct strv *env, int log_fd, struct err *e)
{
	int status = -1;
	pid_t pid;

	/* a standby that died between the check and the request is
	 * replaced once */
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!usable(ag, w) && start(ag, w, e) < 0)
			return -1;
		if (run_standby_send(w->standby_sock, argv, env, log_fd, e) == 0) {
			pid = w->standby;
			forget(w);
			return pid;
		}
		/* only a process that is gone is replaced; anything else is
		 * the request's own failure (the process is kept) */
		if (e->sys_errno != EPIPE && e->sys_errno != ECONNRESET)
			return -1;
		status = stop(w);
		err_clear(e);
	}
	if (status >= 0 && WIFSIGNALED(status))
		return err_set(e, ERR_SANDBOX, "%s run ended before it took the run: "
			       "killed by signal %d", ag->exe, WTERMSIG(status));
	return err_set(e, ERR_SANDBOX, "%s run ended before it took the run (exit "
		       "status %d)", ag->exe, status >= 0 ? WEXITSTATUS(status) : -1);
}
