/*
 * gantry agent: the daemon. Loads the configuration, opens (and
 * migrates) the queue, recovers the runs a previous life of this agent
 * left running, starts the threads (agent.h) and waits for signals:
 * SIGTERM or SIGINT drain and stop, SIGHUP reloads the configuration.
 */
#include "agent.h"
#include "cli.h"
#include "oidc.h"

#include "../lib/crypto.h"
#include "../lib/fs.h"
#include "../lib/log.h"
#include "../lib/mask.h"
#include "../lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <unistd.h>

#define EXIT_USAGE 2

static const char agent_usage[] =
"usage: gantry agent [--config FILE] [--check-config]\n"
"\n"
"Run gantry as a daemon: push webhooks from GitHub, Gitea/Forgejo and\n"
"GitLab are checked, stored in a durable queue and answered, and workers\n"
"check each pushed commit out and run the repository's workflows that\n"
"start on it, in the sandbox.\n"
"\n"
"  -c, --config FILE   the configuration (YAML); every key can also be set\n"
"                      by an environment variable SECTION__KEY (e.g.\n"
"                      SERVER__LISTEN, QUEUE__URL), and secrets read from a\n"
"                      file with SECTION__KEY_FILE (e.g. WEBHOOK__SECRET_FILE)\n"
"      --check-config  check the configuration, print it with its secrets\n"
"                      masked, and exit\n"
"  -h, --help          this help\n"
"\n"
"HTTP (SERVER__LISTEN, default 127.0.0.1:8080): POST /webhook, GET /healthz,\n"
"GET /metrics, the runs API under /runs (Authorization: Bearer API__TOKEN),\n"
"and the OIDC issuer's /.well-known/openid-configuration and jwks (with a\n"
"PostgreSQL queue, the jwks of every agent that shares it, its webhook\n"
"secret and its issuer).\n"
"Signals: SIGTERM drains (running runs get WORKERS__GRACE seconds, then are\n"
"cancelled), SIGHUP reloads the configuration. docs/DEPLOY.md has the rest.\n"
"\n"
"Exit status: 0 stopped by a signal, 1 failed while running, 2 invalid\n"
"configuration or usage.\n";

static void add_secrets(struct mask *m, const struct agent_config *c)
{
	mask_add(m, c->webhook_secret);
	if (c->api_token)
		mask_add(m, c->api_token);
	if (c->git_token)
		mask_add(m, c->git_token);
}

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* The running value stays, the very same string: threads read these
 * keys without the lock, so their pointers never change. */
#define KEEP_STR(f, key) do { \
	if (!same(n.f, ag->cfg.f)) \
		log_msg(LOG_WARN, "agent: %s changed; restart the agent to apply it", key); \
	free(n.f); \
	n.f = ag->cfg.f; \
} while (0)
#define KEPT_STRS(X) X(listen, "server.listen") X(data_dir, "data.dir") \
	X(queue_url, "queue.url") X(agent_id, "agent.id") X(oidc_issuer, "oidc.issuer")
#define KEEP_STR_X(f, key) KEEP_STR(f, key);
#define DROP_STR_X(f, key) old.f = NULL;
#define KEEP_NUM(f, key) do { \
	if (n.f != ag->cfg.f) \
		log_msg(LOG_WARN, "agent: %s changed; restart the agent to apply it", key); \
	n.f = ag->cfg.f; \
} while (0)

/* SIGHUP: the new configuration applies at once (secrets, tokens,
 * commit statuses, what runs get: sandbox, network, memory, jobs,
 * artifacts, secrets file, OIDC lifetime; the grace period), except
 * where the agent listens, its data, queue, lease, lost-run policy, body
 * limit, ID, OIDC issuer and number of workers, which need a restart. */
static void reload(struct agent *ag)
{
	struct agent_config n = { 0 }, old;
	struct err e = ERR_INIT;

	if (agent_config_load(&n, ag->config_path, NULL, &e) < 0) {
		log_msg(LOG_ERROR, "agent: reload: %s; keeping the configuration "
			"in use", e.msg);
		return;
	}
	add_secrets(ag->mask, &n);
	pthread_rwlock_wrlock(&ag->cfg_lock);
	KEPT_STRS(KEEP_STR_X)
	KEEP_NUM(workers, "workers.count");
	KEEP_NUM(lease, "queue.lease");
	KEEP_NUM(max_body, "server.max_body");
	KEEP_NUM(on_lost, "queue.on_lost");
	KEEP_NUM(max_attempts, "queue.max_attempts");
	old = ag->cfg;
	ag->cfg = n;
	pthread_rwlock_unlock(&ag->cfg_lock);
	/* the kept strings now belong to the new configuration */
	KEPT_STRS(DROP_STR_X)
	agent_config_release(&old);
	log_msg(LOG_INFO, "agent: configuration reloaded");
}

/* The path of a sqlite:// URL (sqlite:///abs or sqlite://rel). */
static char *sqlite_path(const char *url)
{
	return xstrdup(url + strlen("sqlite://"));
}

/* One agent per SQLite queue: a lock beside the database. */
static int lock_queue(int *fd, const char *url, struct err *e)
{
	char *db = sqlite_path(url);
	char *dir = fs_dirname(db);
	char *path = xasprintf("%s.lock", db);
	int rc = -1;

	if (fs_mkdirs(dir, 0700, e) < 0)
		goto done;
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0) {
		err_sys(e, ERR_IO, "%s", path);
		goto done;
	}
	if (flock(*fd, LOCK_EX | LOCK_NB) < 0) {
		err_set(e, ERR_INVALID, "the queue %s is in use by another agent; "
			"several agents share a queue in PostgreSQL (QUEUE__URL="
			"postgres://...)", url);
		close(*fd);
		*fd = -1;
		goto done;
	}
	rc = 0;
done:
	free(db);
	free(dir);
	free(path);
	return rc;
}

/* One agent per data folder, whatever the queue: two would share logs,
 * work trees and (by default) an agent ID, and each would recover the
 * other's runs as its own. */
static int lock_data_dir(int *fd, const char *dir, struct err *e)
{
	char *path = fs_join(dir, "agent.lock");
	int rc = -1;

	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0) {
		err_sys(e, ERR_IO, "%s", path);
	} else if (flock(*fd, LOCK_EX | LOCK_NB) < 0) {
		err_set(e, ERR_INVALID, "the data folder %s is in use by another agent "
			"(DATA__DIR); each agent needs its own", dir);
		close(*fd);
		*fd = -1;
	} else {
		rc = 0;
	}
	free(path);
	return rc;
}

static int prepare(struct agent *ag, struct err *e)
{
	const char *dirs[5];

	ag->cache_dir = fs_join(ag->cfg.data_dir, "git");
	ag->logs_dir = fs_join(ag->cfg.data_dir, "logs");
	ag->runs_dir = fs_join(ag->cfg.data_dir, "runs");
	ag->work_dir = fs_join(ag->cfg.data_dir, "work");
	dirs[0] = ag->cfg.data_dir;
	dirs[1] = ag->cache_dir;
	dirs[2] = ag->logs_dir;
	dirs[3] = ag->runs_dir;
	dirs[4] = ag->work_dir;
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		if (fs_mkdirs(dirs[i], 0700, e) < 0)
			return err_wrap(e, "data.dir");
	return 0;
}

static void release(struct agent *ag)
{
	oidc_issuer_free(ag->oidc);
	json_decref(ag->fleet_keys);
	json_decref(ag->fleet_until);
	free(ag->fleet_put_rows);
	crypto_wipe(ag->fleet_key, sizeof(ag->fleet_key));
	crypto_wipe(ag->fleet_key_of, sizeof(ag->fleet_key_of));
	pthread_mutex_destroy(&ag->fleet_lock);
	queue_close(ag->api_q);
	mask_free(ag->mask);
	free(ag->workers);
	free(ag->exe);
	free(ag->cache_dir);
	free(ag->logs_dir);
	free(ag->runs_dir);
	free(ag->work_dir);
	agent_config_release(&ag->cfg);
	pthread_rwlock_destroy(&ag->cfg_lock);
	pthread_mutex_destroy(&ag->lock);
	pthread_mutex_destroy(&ag->api_lock);
	pthread_cond_destroy(&ag->wake_workers);
	pthread_cond_destroy(&ag->intake_cond);
	pthread_cond_destroy(&ag->intake_done);
}

static int serve(struct agent *ag)
{
	struct err e = ERR_INIT;
	pthread_t intake, heartbeat, housekeeping, fleet;
	bool fleet_on = false;
	struct oidc_opts oo = { 0 };
	sigset_t set;
	size_t n = 0;
	int sig, lock_fd = -1, dir_fd = -1, ret = 1;
	bool sqlite = str_starts_with(ag->cfg.queue_url, "sqlite://");

	/* blocked before anything slow (a migration): a SIGHUP then must
	 * not end the agent; sigwait takes them once it serves */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (prepare(ag, &e) < 0)
		goto fail;
	if (lock_data_dir(&dir_fd, ag->cfg.data_dir, &e) < 0)
		goto fail;
	/* the configuration's secrets are in this process's environment and
	 * memory: with the sandbox off, a step runs as the same user and
	 * could read /proc/<agent>/environ; not dumpable, it cannot (the
	 * runs' children, exec'd, are dumpable again) */
	prctl(PR_SET_DUMPABLE, 0);
	if (sqlite && lock_queue(&lock_fd, ag->cfg.queue_url, &e) < 0)
		goto fail;
	if (queue_open(&ag->api_q, ag->cfg.queue_url, ag->cfg.agent_id, &e) < 0)
		goto fail;
	/* runs a previous life of this agent left running; with SQLite no
	 * other agent can hold any, so every running run is one */
	if (queue_recover(ag->api_q, sqlite ? NULL : ag->cfg.agent_id,
			  ag->cfg.on_lost == ON_LOST_FAIL, ag->cfg.max_attempts,
			  sqlite ? LLONG_MAX / 2 : 0, &n, &e) < 0)
		goto fail;
	if (n)
		log_msg(LOG_WARN, "agent: %zu run(s) in flight when the agent last "
			"stopped were %s", n, ag->cfg.on_lost == ON_LOST_FAIL ?
			"failed" : "queued again");
	oo.issuer = ag->cfg.oidc_issuer ? ag->cfg.oidc_issuer : ag->cfg.public_url;
	oo.alg = JWT_RS256;
	oo.lifetime = ag->cfg.oidc_lifetime;
	if (oidc_issuer_new(&ag->oidc, &oo, &e) < 0) {
		log_msg(LOG_WARN, "agent: the OIDC issuer is off: %s", e.msg);
		err_clear(&e);
		ag->oidc = NULL;
	}

	ag->started_ns = time_mono_ns();
	/* the recovery above was this agent's first word to the queue */
	atomic_store(&ag->last_renew_ns, time_mono_ns());
	if (agent_intake_start(ag, &intake, &e) < 0)
		goto fail;
	agent_workers_start(ag, &e);
	if (agent_heartbeat_start(ag, &heartbeat, &e) < 0 ||
	    agent_retention_start(ag, &housekeeping, &e) < 0 ||
	    agent_fleet_start(ag, &fleet, &fleet_on, &e) < 0)
		BUG("%s", e.msg);
	if (agent_http_start(ag, &e) < 0) {
		log_msg(LOG_ERROR, "agent: %s", e.msg);
		ret = 1;
		goto stop;
	}
	log_msg(LOG_INFO, "agent: %s listening on %s (port %u); queue %s; %ld worker(s)",
		ag->cfg.agent_id, ag->cfg.listen, (unsigned)ag->port,
		queue_backend(ag->api_q), ag->cfg.workers);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			reload(ag);
			continue;
		}
		log_msg(LOG_INFO, "agent: %s: draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	}
	ret = 0;
stop:
	pthread_mutex_lock(&ag->lock);
	ag->draining = true;
	pthread_mutex_unlock(&ag->lock);
	agent_workers_stop(ag, ag->cfg.grace);
	pthread_mutex_lock(&ag->lock);
	ag->stopping = true;
	pthread_cond_broadcast(&ag->intake_cond);
	pthread_mutex_unlock(&ag->lock);
	agent_http_stop(ag);
	pthread_join(intake, NULL);
	pthread_join(heartbeat, NULL);
	pthread_join(housekeeping, NULL);
	if (fleet_on)
		pthread_join(fleet, NULL);
	log_msg(LOG_INFO, "agent: stopped");
	goto done;
fail:
	log_msg(LOG_ERROR, "agent: %s", e.msg);
	ret = 1;
done:
	if (lock_fd >= 0)
		close(lock_fd);
	if (dir_fd >= 0)
		close(dir_fd);
	return ret;
}

int agent_main(int argc, char **argv, const char *run_exe)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct agent ag;
	struct err e = ERR_INIT;
	bool check = false;
	int c, ret, fd;

	/* started with stdin, stdout or stderr closed: /dev/null in their
	 * place, before a file (the queue's database) gets descriptor 2 and
	 * the log lines, and before the runs' children inherit the gap */
	while ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0 && fd <= 2)
		fcntl(fd, F_SETFD, 0);
	if (fd > 2)
		close(fd);
	memset(&ag, 0, sizeof(ag));
	/* a long-lived process with threads that come and go (one per HTTP
	 * connection): two malloc arenas instead of eight per core keep its
	 * resident memory flat (the heartbeat trims them too) */
	mallopt(M_ARENA_MAX, 2);
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ag.config_path = optarg;
			break;
		case 'k':
			check = true;
			break;
		case 'h':
			fputs(agent_usage, stdout);
			return 0;
		default:
			fputs(agent_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "gantry agent: unexpected argument '%s'\n%s", argv[optind],
			agent_usage);
		return EXIT_USAGE;
	}
	if (agent_config_load(&ag.cfg, ag.config_path, NULL, &e) < 0) {
		fprintf(stderr, "gantry agent: %s\n", e.msg);
		return EXIT_USAGE;
	}
	if (check) {
		agent_config_print(&ag.cfg, stdout);
		agent_config_release(&ag.cfg);
		return 0;
	}
	if (!run_exe || access(run_exe, X_OK) < 0) {
		fprintf(stderr, "gantry agent: cannot run %s, the gantry that runs the "
			"workflows: %s\n", run_exe ? run_exe : "gantry",
			run_exe ? strerror(errno) : "no path to it");
		agent_config_release(&ag.cfg);
		return 1;
	}
	ag.exe = xstrdup(run_exe);
	mask_new(&ag.mask);
	add_secrets(ag.mask, &ag.cfg);
	pthread_rwlock_init(&ag.cfg_lock, NULL);
	pthread_mutex_init(&ag.lock, NULL);
	pthread_mutex_init(&ag.api_lock, NULL);
	pthread_mutex_init(&ag.fleet_lock, NULL);
	pthread_cond_init(&ag.wake_workers, NULL);
	pthread_cond_init(&ag.intake_cond, NULL);
	pthread_cond_init(&ag.intake_done, NULL);
	ag.pending_tail = &ag.pending;
	ret = serve(&ag);
	release(&ag);
	return ret;
}

/* gantry agent in the gantry binary: the agent of gantry-agent beside it,
 * a binary without libcurl, libgit2, libpq and OpenSSL, so that the
 * daemon's idle memory is not that of every library gantry run needs.
 * Without it (an install of gantry alone), the agent runs here. */
int cmd_agent(int argc, char **argv)
{
	char *self = fs_realpath("/proc/self/exe"), *dir, *lean;
	int ret;

	if (!self) {
		fprintf(stderr, "gantry agent: cannot find gantry's own executable: %s\n",
			strerror(errno));
		return 1;
	}
	dir = fs_dirname(self);
	lean = fs_join(dir, "gantry-agent");
	if (access(lean, X_OK) == 0) {
		argv[0] = "gantry-agent";
		/* this gantry runs the workflows, whatever its file's name */
		setenv("GANTRY_RUN_EXE", self, 1);
		execv(lean, argv);
		fprintf(stderr, "gantry agent: cannot run %s (%s); the agent runs in "
			"gantry instead\n", lean, strerror(errno));
	}
	unsetenv("GANTRY_RUN_EXE");	/* the runs' own environment's, not ours */
	ret = agent_main(argc, argv, self);
	free(lean);
	free(dir);
	free(self);
	return ret;
}
