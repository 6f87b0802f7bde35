/*
 * agent_worker: the workers, which carry out queued runs (the heartbeat
 * that keeps their leases is agent_heartbeat.c).
 *
 * A run: claim it; start `gantry run --clone URL --sha SHA` as a child,
 * which checks the commit out into the worker's own work tree for the
 * repository (kept between runs, so the next one costs a fetch and the
 * changed files; no fetch at all when the mirror already has the commit)
 * and runs the workflows, its output going to the run's log file; wait;
 * store the result; compress the log; post the commit status. The child
 * gets no secret of the agent's through its argv or environment: the git
 * token reaches it as the GITHUB_TOKEN secret, read from an environment
 * variable of the child's own (gantry run -s NAME).
 *
 * Threat model: the payload comes from a signed delivery or an API call
 * with the API token; its repository URL and ref were checked by
 * webhook.c / agent_api.c; the workflows themselves run in gantry run's
 * sandbox, with the agent's state hidden from them.
 */
#include "agent.h"
#include "run_standby.h"

#include "../lib/fs.h"
#include "../lib/git.h"
#include "../lib/jsonx.h"
#include "../lib/log.h"
#include "../lib/mask.h"
#include "../lib/strv.h"
#include "../lib/util.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

static long poll_ms(struct agent *ag)
{
	/* another agent's deliveries are only seen by polling */
	return strcmp(queue_backend(ag->api_q), "postgres") ? 1000 : 250;
}

/* a line of the agent's own in the run's log, masked */
static void say(struct agent *ag, int fd, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(struct agent *ag, int fd, const char *fmt, ...)
{
	va_list ap;
	char *s, *m, *line;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		BUG("out of memory");
	va_end(ap);
	m = mask_str(ag->mask, s);
	line = xasprintf("gantry agent: %s\n", m);
	fs_write_all(fd, line, strlen(line));
	free(line);
	free(m);
	free(s);
}

static char *slug(const char *repo)
{
	char *s = xstrdup(repo);

	for (char *p = s; *p; p++)
		if (*p == '/')
			*p = '_';
	return s;
}

/* What the run's jobs must not see of the agent (under cfg_lock): the queue's database,
 * the logs and payloads of other runs, other repositories' work trees
 * (the data folder's default place, under ~/.local/share/gantry, is
 * hidden anyway; DATA__DIR may be anywhere). */
static void hide_agent_state(struct agent *ag, const struct queue_run *r,
			     struct strv *argv)
{
	static const char *const db_suffix[] = { "", "-wal", "-shm", "-journal", ".lock" };
	const char *url = ag->cfg.queue_url;
	char *own = slug(r->repo);
	DIR *d;
	struct dirent *de;

	strv_pushf(argv, "--hide=%s", ag->logs_dir);
	strv_pushf(argv, "--hide=%s", ag->runs_dir);
	if (str_starts_with(url, "sqlite://"))
		for (size_t i = 0; i < ARRAY_SIZE(db_suffix); i++)
			if (url[9] == '/')
				strv_pushf(argv, "--hide=%s%s", url + 9, db_suffix[i]);
	if (ag->cfg.artifacts[0] == '/')
		strv_pushf(argv, "--hide=%s", ag->cfg.artifacts);
	d = opendir(ag->work_dir);
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' && strcmp(de->d_name, own))
			strv_pushf(argv, "--hide=%s/%s", ag->work_dir, de->d_name);
	if (d)
		closedir(d);
	free(own);
}

/* The run's arguments for its `gantry run` (as it gets them: from "run"
 * on) and what it gets in its environment besides the agent's basics
 * (agent_standby.c): the git token, which must not be in its argv */
static void child_args(struct agent *ag, struct queue_run *r, const char *ws,
		       const char *event_path, const char *summary_path,
		       bool token_ok, struct strv *argv, struct strv *env)
{
	struct agent_config *c = &ag->cfg;
	json_t *inputs;
	const char *k;
	json_t *v;

	strv_push(argv, "run");
	strv_push(argv, r->event);
	strv_pushf(argv, "--directory=%s", ws);
	strv_pushf(argv, "--eventpath=%s", event_path);
	strv_pushf(argv, "--json-summary=%s", summary_path);
	strv_pushf(argv, "--cache-dir=%s", ag->cache_dir);
	strv_pushf(argv, "--run-id=%lld", r->id);
	pthread_rwlock_rdlock(&ag->cfg_lock);
	strv_pushf(argv, "--artifact-store=%s", c->artifacts);
	strv_pushf(argv, "--sandbox=%s", c->sandbox);
	strv_pushf(argv, "--network=%s", c->network);
	strv_pushf(argv, "--memory=%s", c->memory);
	strv_pushf(argv, "--oidc-issuer=%s", c->oidc_issuer ? c->oidc_issuer : c->public_url);
	strv_pushf(argv, "--oidc-lifetime=%ld", c->oidc_lifetime);
	if (c->jobs > 0)
		strv_pushf(argv, "--jobs=%ld", c->jobs);
	if (c->git_ca_bundle)
		strv_pushf(argv, "--ca-bundle=%s", c->git_ca_bundle);
	if (c->secrets_file)
		strv_pushf(argv, "--secret-file=%s", c->secrets_file);
	/* the checkout happens in the run's process (gantry run --clone):
	 * libgit2 leaks a little on every fetch, which must not add up in a
	 * process that lives for months */
	strv_pushf(argv, "--clone=%s", r->clone_url);
	if (r->sha)
		strv_pushf(argv, "--sha=%s", r->sha);
	if (c->git_token && token_ok && gitx_token_url_ok(r->clone_url)) {
		strv_push(argv, "--secret=GITHUB_TOKEN");
		strv_pushf(env, "GITHUB_TOKEN=%s", c->git_token);
	}
	hide_agent_state(ag, r, argv);
	pthread_rwlock_unlock(&ag->cfg_lock);
	if (r->workflow)
		strv_pushf(argv, "--workflows=.github/workflows/%s", r->workflow);
	inputs = r->inputs ? json_loads(r->inputs, 0, NULL) : NULL;
	json_object_foreach(inputs, k, v) {
		char *s = json_is_string(v) ? xstrdup(json_string_value(v))
					    : json_dumps(v, JSON_ENCODE_ANY);

		strv_pushf(argv, "--input=%s=%s", k, s);
		free(s);
	}
	json_decref(inputs);
}

static void fsync_dir(const char *path)
{
	char *dir = fs_dirname(path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

/* What gantry run said last as "gantry: ..." in the log (already masked
 * by it), for the run's error; or a pointer to the log. */
static char *last_error(const char *log_path)
{
	struct buf b = BUF_INIT;
	struct err ignore = ERR_INIT;
	char *found = NULL, *p, *nl;

	buf_init(&b, 4 << 20);
	if (fs_read_file(&b, log_path, &ignore) == 0) {
		for (p = b.ptr; p && *p; p = nl ? nl + 1 : NULL) {
			nl = strchr(p, '\n');
			if (str_starts_with(p, "gantry: ")) {
				free(found);
				found = xstrndup(p + 8, nl ? (size_t)(nl - p - 8) : strlen(p + 8));
			}
		}
	}
	buf_release(&b);
	return found ? found : xstrdup("the workflow is not valid, or the run could "
				       "not be carried out (see the log)");
}

/* gzip path into path.gz (written whole, then renamed into place) */
static int compress_log(const char *path, const char *gz_path, struct err *e)
{
	char *tmp = xasprintf("%s.tmp", gz_path);
	char buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1, out = -1;
	gzFile gz = NULL;
	ssize_t n;

	if (fd < 0) {
		err_sys(e, ERR_IO, "%s", path);
		goto done;
	}
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	gz = out >= 0 ? gzdopen(out, "wb6") : NULL;
	if (!gz) {
		err_sys(e, ERR_IO, "%s", tmp);
		if (out >= 0)
			close(out);
		goto done;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (gzwrite(gz, buf, (unsigned)n) != (int)n) {
			err_set(e, ERR_IO, "%s: compressing failed", tmp);
			goto done;
		}
	/* on the disk before the plain log goes */
	if (gzflush(gz, Z_FINISH) != Z_OK || fsync(out) < 0) {
		err_sys(e, ERR_IO, "%s", tmp);
		goto done;
	}
	if (gzclose(gz) != Z_OK) {
		gz = NULL;
		err_set(e, ERR_IO, "%s: compressing failed", tmp);
		goto done;
	}
	gz = NULL;
	if (rename(tmp, gz_path) < 0) {
		err_sys(e, ERR_IO, "%s", gz_path);
		goto done;
	}
	fsync_dir(gz_path);
	rc = 0;
done:
	if (gz)
		gzclose(gz);
	if (rc < 0)
		unlink(tmp);
	if (fd >= 0)
		close(fd);
	free(tmp);
	return rc;
}

static const char *status_of(int wstatus, const json_t *summary, bool cancelled)
{
	if (WIFEXITED(wstatus)) {
		int code = WEXITSTATUS(wstatus);

		if (code == 0)
			return (json_is_array(summary) && !json_array_size(summary)) || !summary
			       ? "skipped" : "success";
		if (code == 130)
			return "cancelled";
		return "failure";
	}
	return cancelled ? "cancelled" : "failure";
}

static void count_finished(struct agent *ag, const char *status)
{
	static const char *const names[4] = { "success", "failure", "cancelled", "skipped" };

	for (size_t i = 0; i < 4; i++)
		if (!strcmp(names[i], status))
			atomic_fetch_add(&ag->finished[i], 1);
}

/*
 * Store a run's result: 1 stored, 0 the run is another agent's now, -1
 * not stored. A failure is tried again on a new connection (a database
 * that restarted, a disk that was full for a moment), for up to about a
 * minute: a result that cannot be stored leaves the run held, and it is
 * recovered (run again) once this agent's lease on it runs out.
 */
static int finish(struct agent *ag, struct queue **q, long long id,
		  const char *status, const json_t *summary, const char *error,
		  const char *log_path)
{
	struct err e = ERR_INIT;
	int rc = -1;

	for (int attempt = 0; attempt < 8; attempt++) {
		if (attempt) {
			struct queue *nq = NULL;

			sleep(attempt < 4 ? 1U << attempt : 10U);
			err_clear(&e);
			if (queue_open(&nq, ag->cfg.queue_url, ag->cfg.agent_id, &e) < 0)
				continue;
			queue_relax_sync(nq);
			queue_close(*q);
			*q = nq;
		}
		err_clear(&e);
		rc = queue_finish(*q, id, status, summary, error, log_path, &e);
		if (rc >= 0)
			return rc;
		log_msg(LOG_ERROR, "agent: run %lld: storing the result: %s", id, e.msg);
	}
	return -1;
}

/*
 * Wait until the run's child has ended, without reaping it (its pid
 * cannot be reused while the slot names it). Every half second, whether
 * the leases are still renewed: when not, the run is stopped here, even
 * if the heartbeat itself hangs in a database call.
 */
static void wait_child(struct agent *ag, struct worker *w, pid_t pid)
{
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);

	for (;;) {
		siginfo_t si;

		memset(&si, 0, sizeof(si));
		if (pfd >= 0) {
			struct pollfd p = { .fd = pfd, .events = POLLIN };

			poll(&p, 1, 500);
		} else {
			usleep(50 * 1000);
		}
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT | WNOHANG) == 0 &&
		    si.si_pid == pid)
			break;
		if (agent_lease_stale(ag)) {
			pthread_mutex_lock(&ag->lock);
			if (!w->lost) {
				w->lost = true;
				w->cancel_sent = true;
				kill(-pid, SIGKILL);
				log_msg(LOG_ERROR, "agent: run %lld stopped: its lease was not "
					"renewed (the queue is unreachable)", w->run_id);
			}
			pthread_mutex_unlock(&ag->lock);
		}
	}
	if (pfd >= 0)
		close(pfd);
}

/*
 * Whether the git token may go with r: to its checkout, and to its
 * workflows as secrets.GITHUB_TOKEN. A run from a signed delivery has its
 * clone URL from the forge itself; a run started through the API
 * (delivery "manual:...") has whatever URL its caller gave, and whoever
 * controls what is there controls the workflows that get the token. So it
 * goes only with a clone URL that a signed delivery of the same repository
 * came with (queue_repo_knows_url). The run goes on without it otherwise
 * (a public repository still clones), and its log says so.
 */
static bool token_trusted(struct agent *ag, struct queue *q, const struct queue_run *r,
			  int log_fd)
{
	struct err e = ERR_INIT;
	int known;

	if (!str_starts_with(r->delivery, "manual:"))
		return true;
	known = queue_repo_knows_url(q, r->repo, r->clone_url, &e);
	if (known == 1)
		return true;
	if (known < 0)
		say(ag, log_fd, "the git token is not given to this run: the queue "
		    "could not tell whether %s is %s's (%s)", r->clone_url, r->repo, e.msg);
	else
		say(ag, log_fd, "the git token is not given to this run: no signed "
		    "delivery of %s came with the clone URL %s", r->repo, r->clone_url);
	err_clear(&e);
	return false;
}

static void run_one(struct worker *w, struct queue **qp, struct queue_run *r)
{
	struct agent *ag = w->ag;
	char *live = agent_live_log_path(ag, r->id);
	char *gz = xasprintf("%s.gz", live);
	char *rundir = xasprintf("%s/%lld", ag->runs_dir, r->id);
	char *event_path = fs_join(rundir, "event.json");
	char *summary_path = fs_join(rundir, "summary.json");
	char *name = slug(r->repo);
	char *ws = xasprintf("%s/%s/w%d", ag->work_dir, name, w->index);
	struct strv argv = STRV_INIT, env = STRV_INIT;
	struct forge_status_call *pending = NULL;
	const char *status = "failure", *state, *desc;
	char *error = NULL;
	json_t *summary = NULL;
	struct err e = ERR_INIT;
	int log_fd, wstatus = 0;
	bool cancelled, draining, trusted, lost = false;
	int owned;
	pid_t pid;

	log_fd = open(live, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (log_fd < 0)
		log_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	say(ag, log_fd, "run %lld of %s %s (%s%s%s), delivery %s%s", r->id, r->repo,
	    r->ref, r->event, r->sha ? " at " : "", r->sha ? r->sha : "", r->delivery,
	    r->attempts ? " (again: an agent was lost)" : "");
	trusted = token_trusted(ag, *qp, r, log_fd);
	err_clear(&e);
	/* what an earlier attempt of this run left (a crash) is not this one's */
	fs_remove_tree(rundir, NULL);
	if (fs_mkdirs(rundir, 0700, &e) < 0 || fs_mkdirs(ws, 0700, &e) < 0 ||
	    fs_write_file(event_path, r->payload, strlen(r->payload), 0600, &e) < 0) {
		error = xasprintf("%s", e.msg);
		goto finish;
	}
	child_args(ag, r, ws, event_path, summary_path, trusted, &argv, &env);
	pthread_mutex_lock(&ag->lock);
	cancelled = w->cancel_sent;
	draining = ag->draining;
	pthread_mutex_unlock(&ag->lock);
	if (cancelled) {
		status = "cancelled";
		goto finish;
	}
	if (draining && queue_release(*qp, r->id, &e) == 1) {
		/* nothing has run yet: back to the queue, for this agent after
		 * its restart or for another one */
		say(ag, log_fd, "run %lld: the agent is stopping; back in the queue", r->id);
		goto done;
	}
	err_clear(&e);
	pid = agent_standby_run(ag, w, &argv, &env, log_fd, &e);
	/* the token is the run process's now */
	run_standby_env_release(&env);
	if (pid < 0) {
		error = xasprintf("%s", e.msg);
		goto finish;
	}
	pthread_mutex_lock(&ag->lock);
	w->child = pid;
	lost = w->lost;
	if (lost)
		kill(-pid, SIGKILL);
	else if (w->cancel_sent)
		kill(pid, SIGTERM);
	draining = ag->draining;
	pthread_mutex_unlock(&ag->lock);
	/* posted once the run has started, while it runs (the forge may
	 * take a while to answer, and starting gantry for it takes a few
	 * milliseconds the run need not wait for); collected before the
	 * run's own status. A lost run gets neither. */
	if (trusted && !lost)
		forge_status_begin(&pending, ag, r, "pending",
				   "gantry is running the workflows", log_fd, &e);
	err_clear(&e);
	/* the next run's process gets ready while this one runs */
	if (!draining)
		agent_standby_prepare(ag, w);
	wait_child(ag, w, pid);
	pthread_mutex_lock(&ag->lock);
	w->child = 0;
	cancelled = w->cancel_sent;
	lost = w->lost;
	pthread_mutex_unlock(&ag->lock);
	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	summary = json_load_file(summary_path, 0, NULL);
	status = status_of(wstatus, summary, cancelled);
	if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 2)
		error = last_error(live);
	else if (WIFSIGNALED(wstatus) && !lost)
		error = xasprintf("gantry run was killed by signal %d", WTERMSIG(wstatus));
	else if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) > 2 && WEXITSTATUS(wstatus) != 130)
		error = xasprintf("gantry run ended with status %d", WEXITSTATUS(wstatus));
	if (summary)
		agent_metrics_steps(ag, summary);
finish:
	forge_status_end(ag, pending, log_fd, &e);
	pending = NULL;
	err_clear(&e);
	pthread_mutex_lock(&ag->lock);
	lost = w->lost;
	pthread_mutex_unlock(&ag->lock);
	if (lost) {
		/* a lost run, as if this agent had died: no result and no
		 * status from here; its lease runs out (it is no longer
		 * renewed) and the queue recovers it as QUEUE__ON_LOST says,
		 * counting the attempt */
		say(ag, log_fd, "run %lld: stopped: the agent could not renew its lease; "
		    "the queue recovers it when the lease runs out", r->id);
		goto done;
	}
	say(ag, log_fd, "run %lld: %s%s%s", r->id, status, error ? ": " : "",
	    error ? error : "");
	err_clear(&e);
	if (compress_log(live, gz, &e) < 0)
		log_msg(LOG_WARN, "agent: run %lld: log: %s", r->id, e.msg);
	err_clear(&e);
	owned = finish(ag, qp, r->id, status, summary, error, fs_exists(gz) ? gz : live);
	if (owned == 1 && fs_exists(gz))
		unlink(live);
	if (owned != 1) {
		/* recovered meanwhile (another agent holds it now), or the
		 * result could not be stored: nothing is reported for it */
		log_msg(LOG_WARN, "agent: run %lld: %s; its result here is dropped",
			r->id, owned == 0 ? "another agent took it over" : "the queue is unreachable");
		goto done;
	}
	count_finished(ag, status);
	state = !strcmp(status, "success") || !strcmp(status, "skipped") ? "success" :
		!strcmp(status, "failure") ? "failure" :
		!strcmp(status, "cancelled") ? "cancelled" : "error";
	err_clear(&e);
	desc = !strcmp(status, "success") ? "the workflows passed"
	       : !strcmp(status, "skipped") ? "no workflow runs on this push"
	       : !strcmp(status, "cancelled") ? "cancelled" : "a workflow failed";
	if (trusted && forge_status_post(ag, r, state, desc, -1, &e) < 0) {
		char *m = mask_str(ag->mask, e.msg);

		log_msg(LOG_WARN, "agent: run %lld: %s", r->id, m);
		free(m);
	}
	log_msg(LOG_INFO, "agent: run %lld (%s %s): %s", r->id, r->repo, r->ref, status);
done:
	forge_status_end(ag, pending, log_fd, &e);	/* NULL: ended at finish */
	close(log_fd);
	fs_remove_tree(rundir, NULL);
	json_decref(summary);
	strv_release(&argv);
	run_standby_env_release(&env);
	free(error);
	free(live);
	free(gz);
	free(rundir);
	free(event_path);
	free(summary_path);
	free(name);
	free(ws);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct agent *ag = w->ag;
	struct queue *q = NULL;
	struct err e = ERR_INIT;
	long lease;

	while (queue_open(&q, ag->cfg.queue_url, ag->cfg.agent_id, &e) < 0) {
		log_msg(LOG_ERROR, "agent: worker %d: %s; retrying in 5 s", w->index, e.msg);
		err_clear(&e);
		sleep(5);
		pthread_mutex_lock(&ag->lock);
		if (ag->draining) {
			pthread_mutex_unlock(&ag->lock);
			return NULL;
		}
		pthread_mutex_unlock(&ag->lock);
	}
	queue_relax_sync(q);
	lease = ag->cfg.lease;
	for (;;) {
		struct queue_run r = { 0 };
		unsigned long gen;
		int rc;

		pthread_mutex_lock(&ag->lock);
		if (ag->draining) {
			pthread_mutex_unlock(&ag->lock);
			break;
		}
		gen = ag->work_gen;
		pthread_mutex_unlock(&ag->lock);
		agent_standby_prepare(ag, w);
		if (agent_lease_stale(ag)) {
			/* a run claimed now could not be kept: wait for the
			 * heartbeat to reach the queue again */
			sleep(1);
			continue;
		}
		rc = queue_claim(q, &r, lease, &e);
		if (rc < 0) {
			log_msg(LOG_ERROR, "agent: worker %d: %s", w->index, e.msg);
			err_clear(&e);
		}
		if (rc == 1) {
			pthread_mutex_lock(&ag->lock);
			if (ag->draining) {
				/* SIGTERM came while claiming: not this life's */
				pthread_mutex_unlock(&ag->lock);
				queue_release(q, r.id, &e);
				err_clear(&e);
				queue_run_release(&r);
				continue;
			}
			w->lost = false;
			w->run_id = r.id;
			w->cancel_sent = false;
			w->busy_since_ns = time_mono_ns();
			pthread_mutex_unlock(&ag->lock);
			run_one(w, &q, &r);
			pthread_mutex_lock(&ag->lock);
			w->busy_ns += time_mono_ns() - w->busy_since_ns;
			w->run_id = 0;
			pthread_mutex_unlock(&ag->lock);
			queue_run_release(&r);
			continue;
		}
		pthread_mutex_lock(&ag->lock);
		if (gen == ag->work_gen && !ag->draining) {
			struct timespec ts;
			long ms = rc < 0 ? 2000 : poll_ms(ag);

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += ms / 1000;
			ts.tv_nsec += (ms % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&ag->wake_workers, &ag->lock, &ts);
		}
		pthread_mutex_unlock(&ag->lock);
	}
	agent_standby_stop(w);
	queue_close(q);
	return NULL;
}

int agent_workers_start(struct agent *ag, struct err *e)
{
	ag->n_workers = (size_t)ag->cfg.workers;
	ag->workers = xcalloc(ag->n_workers, sizeof(*ag->workers));
	for (size_t i = 0; i < ag->n_workers; i++) {
		ag->workers[i].ag = ag;
		ag->workers[i].index = (int)i;
		ag->workers[i].standby_sock = -1;
		if (pthread_create(&ag->workers[i].thread, NULL, worker_main,
				   &ag->workers[i]))
			BUG("cannot start worker %zu", i);
	}
	return 0;
}

static size_t busy_workers(struct agent *ag)
{
	size_t n = 0;

	pthread_mutex_lock(&ag->lock);
	for (size_t i = 0; i < ag->n_workers; i++)
		n += ag->workers[i].run_id != 0;
	pthread_mutex_unlock(&ag->lock);
	return n;
}

/* wait up to s seconds for the workers to be idle */
static bool wait_idle(struct agent *ag, long s)
{
	for (long t = 0; t < s * 10; t++) {
		if (!busy_workers(ag))
			return true;
		usleep(100 * 1000);
	}
	return !busy_workers(ag);
}

static void signal_children(struct agent *ag, int sig)
{
	pthread_mutex_lock(&ag->lock);
	for (size_t i = 0; i < ag->n_workers; i++) {
		struct worker *w = &ag->workers[i];

		if (w->run_id && w->child > 0)
			kill(sig == SIGKILL ? -w->child : w->child, sig);
		if (w->run_id)
			w->cancel_sent = true;
	}
	pthread_mutex_unlock(&ag->lock);
}

void agent_workers_stop(struct agent *ag, long grace_s)
{
	pthread_mutex_lock(&ag->lock);
	ag->draining = true;
	ag->work_gen++;
	pthread_cond_broadcast(&ag->wake_workers);
	pthread_mutex_unlock(&ag->lock);
	if (busy_workers(ag))
		log_msg(LOG_INFO, "agent: waiting up to %ld s for %zu running run(s)",
			grace_s, busy_workers(ag));
	if (!wait_idle(ag, grace_s)) {
		log_msg(LOG_INFO, "agent: grace period over: cancelling the running runs");
		signal_children(ag, SIGTERM);
		if (!wait_idle(ag, grace_s > 30 ? grace_s : 30)) {
			log_msg(LOG_WARN, "agent: runs still going after cancelling: killing them");
			signal_children(ag, SIGKILL);
		}
	}
	for (size_t i = 0; i < ag->n_workers; i++)
		pthread_join(ag->workers[i].thread, NULL);
}
