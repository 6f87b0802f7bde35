/*
 * agent_heartbeat: this agent's liveness in the queue and what hangs on
 * it. The heartbeat renews the leases of the runs its workers carry out
 * (a third of QUEUE__LEASE apart), hands on cancellations asked through
 * any agent, recovers the runs of agents that stopped renewing theirs,
 * and fences: when its own leases could not be renewed for three
 * quarters of their life, it stops its runs and reports nothing for them,
 * since another agent may be about to run them again.
 */
#include "agent.h"

#include "../lib/log.h"
#include "../lib/util.h"

#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

char *agent_live_log_path(struct agent *ag, long long run_id)
{
	return xasprintf("%s/%lld.log", ag->logs_dir, run_id);
}

bool agent_run_is_live(struct agent *ag, long long run_id)
{
	bool live = false;

	pthread_mutex_lock(&ag->lock);
	for (size_t i = 0; i < ag->n_workers; i++)
		if (ag->workers[i].run_id == run_id)
			live = true;
	pthread_mutex_unlock(&ag->lock);
	return live;
}

bool agent_cancel_local(struct agent *ag, long long run_id)
{
	bool hit = false;

	pthread_mutex_lock(&ag->lock);
	for (size_t i = 0; i < ag->n_workers; i++) {
		struct worker *w = &ag->workers[i];

		if (w->run_id != run_id)
			continue;
		hit = true;
		if (!w->cancel_sent && w->child > 0)
			kill(w->child, SIGTERM);
		w->cancel_sent = true;
	}
	pthread_mutex_unlock(&ag->lock);
	return hit;
}

/* --- the heartbeat --- */

#define HELD_MAX 256	/* workers.count's largest */

bool agent_lease_stale(struct agent *ag)
{
	/* with SQLite no other agent can take a run: nothing to fence */
	if (str_starts_with(ag->cfg.queue_url, "sqlite://"))
		return false;
	return time_mono_ns() - atomic_load(&ag->last_renew_ns) >
	       (long long)ag->cfg.lease * 750000000LL;
}

/* A run this agent carries out that the queue gives to another (its
 * lease ran out before a renewal reached the database: a paused machine,
 * a clock stepped on the database's host): stopped here, not reported. */
static void taken_over(struct agent *ag, long long run_id)
{
	pthread_mutex_lock(&ag->lock);
	for (size_t i = 0; i < ag->n_workers; i++) {
		struct worker *w = &ag->workers[i];

		/* only a run still going: one that just ended may have
		 * stored its own result a moment ago */
		if (w->run_id != run_id || w->lost || w->child <= 0)
			continue;
		w->lost = true;
		w->cancel_sent = true;
		kill(-w->child, SIGKILL);
		log_msg(LOG_ERROR, "agent: run %lld stopped: it is no longer this agent's "
			"(its lease ran out and the queue took it back)", run_id);
	}
	pthread_mutex_unlock(&ag->lock);
}

/* Stop every run whose lease could not be renewed: killed (no always()
 * steps: another agent may start the run again at any moment), and its
 * result not reported. */
static void fence(struct agent *ag, long lease)
{
	pthread_mutex_lock(&ag->lock);
	for (size_t i = 0; i < ag->n_workers; i++) {
		struct worker *w = &ag->workers[i];

		if (!w->run_id || w->lost)
			continue;
		w->lost = true;
		w->cancel_sent = true;
		if (w->child > 0)
			kill(-w->child, SIGKILL);
		log_msg(LOG_ERROR, "agent: run %lld stopped: its lease was not renewed "
			"for %ld s (the queue is unreachable)", w->run_id, lease * 3 / 4);
	}
	pthread_mutex_unlock(&ag->lock);
}

static void *heartbeat_main(void *arg)
{
	struct agent *ag = arg;
	struct queue *q = NULL;
	struct err e = ERR_INIT;
	long long last_recover = 0, last_ok = time_mono_ns(), beat_start;

	atomic_store(&ag->last_renew_ns, last_ok);
	long long held[HELD_MAX];
	size_t n_held;

	for (;;) {
		json_t *cancel = NULL, *gone = NULL, *id;
		bool fail;
		long lease, max_attempts;
		size_t i, n = 0;

		pthread_mutex_lock(&ag->lock);
		if (ag->stopping) {
			pthread_mutex_unlock(&ag->lock);
			break;
		}
		pthread_mutex_unlock(&ag->lock);
		lease = ag->cfg.lease;
		fail = ag->cfg.on_lost == ON_LOST_FAIL;
		max_attempts = ag->cfg.max_attempts;
		if (!q) {
			if (queue_open(&q, ag->cfg.queue_url, ag->cfg.agent_id, &e) < 0) {
				log_msg(LOG_ERROR, "agent: heartbeat: %s", e.msg);
				err_clear(&e);
			} else {
				queue_relax_sync(q);
			}
		}
		n_held = 0;
		pthread_mutex_lock(&ag->lock);
		for (size_t k = 0; k < ag->n_workers && k < HELD_MAX; k++)
			if (ag->workers[k].run_id && !ag->workers[k].lost)
				held[n_held++] = ag->workers[k].run_id;
		pthread_mutex_unlock(&ag->lock);
		beat_start = time_mono_ns();
		if (q && queue_heartbeat(q, lease, held, n_held, &cancel, &gone, &e) < 0) {
			log_msg(LOG_ERROR, "agent: heartbeat: %s", e.msg);
			err_clear(&e);
			queue_close(q);
			q = NULL;
		} else if (q) {
			/* the leases were written at the start of the call */
			last_ok = beat_start;
			atomic_store(&ag->last_renew_ns, last_ok);
		}
		/* leases not renewed for three quarters of their life: other
		 * agents may soon take these runs, so they stop here (the
		 * workers check too, for when this thread hangs in a call to a
		 * database that stopped answering) */
		if (agent_lease_stale(ag))
			fence(ag, lease);
		json_array_foreach(cancel, i, id)
			agent_cancel_local(ag, (long long)json_integer_value(id));
		json_array_foreach(gone, i, id)
			taken_over(ag, (long long)json_integer_value(id));
		json_decref(gone);
		gone = NULL;
		json_decref(cancel);
		malloc_trim(0);
		if (q && time_mono_ns() - last_recover > (long long)lease * 500000000LL) {
			last_recover = time_mono_ns();
			if (queue_recover(q, NULL, fail, max_attempts, 0, &n, &e) < 0) {
				log_msg(LOG_ERROR, "agent: recovering lost runs: %s", e.msg);
				err_clear(&e);
			} else if (n) {
				log_msg(LOG_WARN, "agent: %zu run(s) of agents that stopped "
					"answering were %s", n, fail ? "failed" : "queued again");
				pthread_mutex_lock(&ag->lock);
				ag->work_gen++;
				pthread_cond_broadcast(&ag->wake_workers);
				pthread_mutex_unlock(&ag->lock);
			}
		}
		/* a third of the lease; a second after a failed beat */
		agent_nap(ag, last_ok == beat_start ? lease * 1000 / 3 : 1000);
	}
	queue_close(q);
	return NULL;
}

bool agent_nap(struct agent *ag, long ms)
{
	struct timespec ts = { 0, 100 * 1000000L };

	for (long t = 0;; t += 100) {
		bool stopping;

		pthread_mutex_lock(&ag->lock);
		stopping = ag->stopping;
		pthread_mutex_unlock(&ag->lock);
		if (stopping || t >= ms)
			return stopping;
		nanosleep(&ts, NULL);
	}
}

int agent_heartbeat_start(struct agent *ag, pthread_t *th, struct err *e)
{
	if (pthread_create(th, NULL, heartbeat_main, ag))
		return err_set(e, ERR_INTERNAL, "cannot start the heartbeat thread");
	return 0;
}
