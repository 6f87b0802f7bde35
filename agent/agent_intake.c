/*
 * agent_intake: the group commit. HTTP threads hand their checked
 * deliveries to one thread, which stores all those that arrived together
 * in one transaction: one fsync for many deliveries, so that intake
 * scales with the load while every answer still waits for its delivery
 * to be durable.
 */
#include "agent.h"

#include "../lib/log.h"
#include "../lib/util.h"

#include <stdlib.h>
#include <string.h>

#define INTAKE_BATCH 512

struct intake {
	struct agent *ag;
	struct queue *q;
};

static void *intake_main(void *arg)
{
	struct intake *in = arg;
	struct agent *ag = in->ag;
	struct intake_req *batch[INTAKE_BATCH];
	struct queue_new *runs = xcalloc(INTAKE_BATCH, sizeof(*runs));
	long long *ids = xcalloc(INTAKE_BATCH, sizeof(*ids));
	bool *dup = xcalloc(INTAKE_BATCH, sizeof(*dup));

	for (;;) {
		size_t n = 0, queued = 0;
		struct err e = ERR_INIT;
		int rc;

		pthread_mutex_lock(&ag->lock);
		while (!ag->pending && !ag->stopping)
			pthread_cond_wait(&ag->intake_cond, &ag->lock);
		if (!ag->pending && ag->stopping) {
			pthread_mutex_unlock(&ag->lock);
			break;
		}
		while (ag->pending && n < INTAKE_BATCH) {
			batch[n] = ag->pending;
			ag->pending = ag->pending->next;
			n++;
		}
		if (!ag->pending)
			ag->pending_tail = &ag->pending;
		pthread_mutex_unlock(&ag->lock);

		for (size_t i = 0; i < n; i++)
			runs[i] = batch[i]->run;
		rc = queue_add(in->q, runs, n, ids, dup, &e);
		if (rc < 0) {
			/* once more, on a fresh connection: a database that went
			 * away for a moment should not cost deliveries */
			struct queue *nq = NULL;
			struct err e2 = ERR_INIT;

			log_msg(LOG_WARN, "agent: storing %zu deliveries: %s; retrying", n, e.msg);
			if (queue_open(&nq, ag->cfg.queue_url, ag->cfg.agent_id, &e2) == 0) {
				queue_close(in->q);
				in->q = nq;
				err_clear(&e);
				rc = queue_add(in->q, runs, n, ids, dup, &e);
			}
		}
		pthread_mutex_lock(&ag->lock);
		for (size_t i = 0; i < n; i++) {
			batch[i]->done = true;
			batch[i]->rc = rc;
			if (rc < 0) {
				batch[i]->e = e;
			} else {
				batch[i]->run_id = ids[i];
				batch[i]->dup = dup[i];
				queued += !dup[i];
			}
		}
		pthread_cond_broadcast(&ag->intake_done);
		if (queued) {
			ag->work_gen++;
			pthread_cond_broadcast(&ag->wake_workers);
		}
		pthread_mutex_unlock(&ag->lock);
	}
	free(runs);
	free(ids);
	free(dup);
	queue_close(in->q);
	free(in);
	return NULL;
}

int agent_intake_start(struct agent *ag, pthread_t *th, struct err *e)
{
	struct intake *in = xcalloc(1, sizeof(*in));

	in->ag = ag;
	if (queue_open(&in->q, ag->cfg.queue_url, ag->cfg.agent_id, e) < 0) {
		free(in);
		return -1;
	}
	if (pthread_create(th, NULL, intake_main, in)) {
		queue_close(in->q);
		free(in);
		return err_set(e, ERR_INTERNAL, "cannot start the intake thread");
	}
	return 0;
}

int agent_intake_submit(struct agent *ag, struct intake_req *req)
{
	req->next = NULL;
	req->done = false;
	pthread_mutex_lock(&ag->lock);
	if (ag->stopping) {
		pthread_mutex_unlock(&ag->lock);
		return err_set(&req->e, ERR_CANCELLED, "the agent is stopping");
	}
	*ag->pending_tail = req;
	ag->pending_tail = &req->next;
	pthread_cond_signal(&ag->intake_cond);
	while (!req->done)
		pthread_cond_wait(&ag->intake_done, &ag->lock);
	pthread_mutex_unlock(&ag->lock);
	if (req->rc < 0)
		return -1;
	return 0;
}
