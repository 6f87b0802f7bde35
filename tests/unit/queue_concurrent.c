/* Unit tests for agent/queue.c and its backends, the concurrent cases:
 * threads that add and claim at once, each on its own connection, and a
 * run that outlives its connection (durability across reopen). The cases
 * on one connection are tests/unit/queue.c; queue_test.h says how every
 * case runs against SQLite and then QUEUE_TEST_URL. Threads do not call
 * cmocka's asserts (they longjmp); they count failures for the main
 * thread to check. */
#include "queue_test.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define NRUNS 500
#define NCLAIMERS 8
#define NADDERS 4
#define NIDS 200

/* ---- adding ---- */

struct adder {
	const char *url;
	int t;
	pthread_mutex_t *lock;
	long long *ids;		/* per delivery, shared */
	int failures;
	struct err err;		/* the last failure */
};

static void *add_thread(void *arg)
{
	struct adder *a = arg;
	struct err e = ERR_INIT;
	struct queue *q = NULL;
	char names[10][32];
	struct queue_new batch[10];
	long long ids[10];
	bool dup[10];

	if (queue_open(&q, a->url, "adder", &e) < 0) {
		a->err = e;
		a->failures++;
		return NULL;
	}
	/* each thread walks every ID, from its own starting point */
	for (int k = 0; k < NIDS; k += 10) {
		for (int j = 0; j < 10; j++) {
			snprintf(names[j], sizeof(names[j]), "d:%d",
				 (k + j + a->t * 50) % NIDS);
			batch[j] = new_run(names[j], false);
		}
		if (queue_add(q, batch, 10, ids, dup, &e) < 0) {
			a->err = e;
			a->failures++;
			break;
		}
		pthread_mutex_lock(a->lock);
		for (int j = 0; j < 10; j++) {
			long long *slot = &a->ids[(k + j + a->t * 50) % NIDS];

			if (*slot && *slot != ids[j])
				a->failures++;
			*slot = ids[j];
		}
		pthread_mutex_unlock(a->lock);
	}
	queue_close(q);
	return NULL;
}

static void case_add_concurrent(const char *url)
{
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	long long ids[NIDS] = { 0 };
	struct adder a[NADDERS];
	pthread_t th[NADDERS];
	struct queue *q;

	/* a new SQLite file is created and migrated by the threads at once */
	for (int t = 0; t < NADDERS; t++) {
		a[t] = (struct adder){ .url = url, .t = t, .lock = &lock, .ids = ids };
		assert_int_equal(pthread_create(&th[t], NULL, add_thread, &a[t]), 0);
	}
	for (int t = 0; t < NADDERS; t++) {
		pthread_join(th[t], NULL);
		if (a[t].failures)
			fail_msg("adder %d: %d failures: %s", t, a[t].failures, a[t].err.msg);
	}
	for (int i = 0; i < NIDS; i++)
		for (int j = i + 1; j < NIDS; j++)
			assert_true(ids[i] && ids[i] != ids[j]);
	q = open_q(url, "a1");
	assert_int_equal(count_of(q, NULL), NIDS);
	assert_int_equal(count_of(q, "queued"), NIDS);
	queue_close(q);
}
QUEUE_TEST(add_concurrent)

/* ---- claiming ---- */

struct claimer {
	const char *url;
	char agent[32];
	const long long *ids;	/* NRUNS run IDs, ascending */
	pthread_mutex_t *lock;
	unsigned char *seen;	/* NRUNS flags, shared */
	int claimed, failures;
	struct err err;		/* the last failure */
};

static int cmp_id(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static void *claim_thread(void *arg)
{
	struct claimer *c = arg;
	struct err e = ERR_INIT;
	struct queue *q = NULL;
	struct queue_run r;
	int got;

	if (queue_open(&q, c->url, c->agent, &e) < 0) {
		c->err = e;
		c->failures++;
		return NULL;
	}
	while ((got = queue_claim(q, &r, 60, &e)) == 1) {
		const long long *at = bsearch(&r.id, c->ids, NRUNS,
					      sizeof(*c->ids), cmp_id);

		pthread_mutex_lock(c->lock);
		if (!at || c->seen[at - c->ids]++)
			c->failures++;
		pthread_mutex_unlock(c->lock);
		c->claimed++;
		queue_run_release(&r);
	}
	if (got < 0) {
		c->err = e;
		c->failures++;
	}
	queue_close(q);
	return NULL;
}

static void case_claim_concurrent(const char *url)
{
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct queue *q = open_q(url, "a1");
	static unsigned char seen[NRUNS];
	struct queue_new batch[50];
	char names[50][32];
	long long ids[NRUNS];
	bool dup[50];
	struct err e = ERR_INIT;
	struct claimer c[NCLAIMERS];
	pthread_t th[NCLAIMERS];
	int total = 0;

	memset(seen, 0, sizeof(seen));
	for (int k = 0; k < NRUNS; k += 50) {
		for (int j = 0; j < 50; j++) {
			snprintf(names[j], sizeof(names[j]), "d:%d", k + j);
			batch[j] = new_run(names[j], false);
		}
		assert_int_equal(queue_add(q, batch, 50, ids + k, dup, &e), 0);
	}
	/* (a backend may number a batch in another order than given) */
	qsort(ids, NRUNS, sizeof(*ids), cmp_id);
	for (int i = 1; i < NRUNS; i++)
		assert_true(ids[i] > ids[i - 1]);
	for (int t = 0; t < NCLAIMERS; t++) {
		c[t] = (struct claimer){ .url = url, .ids = ids, .lock = &lock,
					 .seen = seen };
		snprintf(c[t].agent, sizeof(c[t].agent), "agent-%d", t);
		assert_int_equal(pthread_create(&th[t], NULL, claim_thread, &c[t]), 0);
	}
	for (int t = 0; t < NCLAIMERS; t++) {
		pthread_join(th[t], NULL);
		if (c[t].failures)
			fail_msg("claimer %d: %d failures: %s", t, c[t].failures, c[t].err.msg);
		total += c[t].claimed;
	}
	assert_int_equal(total, NRUNS);
	for (int i = 0; i < NRUNS; i++)
		assert_int_equal(seen[i], 1);
	assert_int_equal(count_of(q, "running"), NRUNS);
	queue_close(q);
}
QUEUE_TEST(claim_concurrent)

/* ---- durability ---- */

static void case_durable(const char *url)
{
	struct queue *q = open_q(url, "agent-a");
	long long id = add_one(q, "d:1");

	queue_close(q);
	q = open_q(url, "agent-b");
	assert_status(q, id, "queued");
	assert_int_equal(claim_one(q, 60), id);
	queue_close(q);
}
QUEUE_TEST(durable)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue_add_concurrent),
		cmocka_unit_test(test_queue_claim_concurrent),
		cmocka_unit_test(test_queue_durable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
