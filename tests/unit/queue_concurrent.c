/* Unit tests for agent/queue.c and its backends, the concurrent cases:
 * threads that add and claim at once, each on its own connection, a run
 * that outlives its connection (durability across reopen), and
 * retention's prune (in batches, and by two agents at once). The cases
 * on one connection are tests/unit/queue.c; queue_test.h says how every
 * case runs against SQLite and then QUEUE_TEST_URL. Threads do not call
 * cmocka's asserts (they longjmp); they count failures for the main
 * thread to check. */
#include "queue_test.h"

#include "agent/queue_pg_int.h"	/* libpq, through pg_lib */

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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

/* ---- retention ---- */

#define NPRUNE (2 * QUEUE_PRUNE_BATCH + 100)	/* old runs: three batches */

/* Rows of table, read behind the queue's back. */
static long long count_rows(const char *url, const char *table)
{
	char *sql = xasprintf("SELECT count(*) FROM %s", table);
	long long n = -1;

	if (is_sqlite(url)) {
		sqlite3 *db = NULL;
		sqlite3_stmt *s = NULL;

		assert_int_equal(sqlite3_open(url + strlen("sqlite://"), &db), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(s), SQLITE_ROW);
		n = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
		sqlite3_close(db);
	} else {
		const char *const keys[] = { "dbname", NULL };
		const char *const vals[] = { url, NULL };
		struct err e = ERR_INIT;
		PGconn *c;
		PGresult *res;

		if (pg_lib_load(&e) < 0)
			fail_msg("%s", e.msg);
		c = PQconnectdbParams(keys, vals, 1);
		res = PQexec(c, sql);
		assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
		n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
		PQfinish(c);
	}
	free(sql);
	return n;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* queue_prune until nothing is left (it may stop for its time budget). */
static size_t prune_all(struct queue *q, long long before)
{
	struct err e = ERR_INIT;
	size_t total = 0, n;
	int r;

	do {
		n = 99;
		r = queue_prune(q, before, &n, &e);
		if (r < 0)
			fail_msg("queue_prune: %s", e.msg);
		total += n;
	} while (r == 1);
	return total;
}

static const char prune_summary[] =
	"{\"path\": \"ci.yml\", \"jobs\": [{\"id\": \"build\","
	" \"result\": \"success\", \"steps\": [{\"name\": \"make\","
	" \"conclusion\": \"success\", \"exit_code\": 0}]}]}";

/* NPRUNE cancelled runs and three with jobs and steps, all finished
 * before the cut: pruned with their rows. A running and a queued run,
 * older than the cut, and a run finished after it: kept. */
static void case_prune(const char *url)
{
	struct queue *q = open_q(url, "agent-a");
	static char names[NPRUNE][24];
	static struct queue_new b[NPRUNE];
	static long long ids[NPRUNE];
	static bool dup[NPRUNE];
	const char *const fin[] = { "success", "failure", "skipped" };
	json_t *summary = json_loads(prune_summary, 0, NULL), *run = NULL;
	long long old[3], running, queued, recent, cut, id;
	struct err e = ERR_INIT;

	assert_non_null(summary);
	queue_relax_sync(q);
	for (int i = 0; i < 3; i++) {
		char d[24];

		snprintf(d, sizeof(d), "d:fin%d", i);
		old[i] = add_one(q, d);
		assert_int_equal(claim_one(q, 60), old[i]);
		assert_int_equal(queue_finish(q, old[i], fin[i], summary, NULL,
					      NULL, &e), 1);
	}
	running = add_one(q, "d:running");
	assert_int_equal(claim_one(q, 60), running);
	queued = add_one(q, "d:queued");
	for (int i = 0; i < NPRUNE; i++) {
		snprintf(names[i], sizeof(names[i]), "d:old%d", i);
		b[i] = new_run(names[i], false);
	}
	if (queue_add(q, b, NPRUNE, ids, dup, &e) < 0)
		fail_msg("queue_add: %s", e.msg);
	for (int i = 0; i < NPRUNE; i++)
		if (queue_cancel(q, ids[i], &e) != 1)
			fail_msg("queue_cancel: %s", e.msg);
	sleep_ms(5);
	cut = queue_now_ms();
	sleep_ms(5);
	recent = add_one(q, "d:recent");
	assert_int_equal(queue_cancel(q, recent, &e), 1);
	assert_int_equal(count_rows(url, "jobs"), 3);
	assert_int_equal(count_rows(url, "steps"), 3);

	assert_int_equal(prune_all(q, 0), 0);	/* nothing finished before 0 */
	assert_int_equal(prune_all(q, cut), NPRUNE + 3);
	assert_int_equal(prune_all(q, cut), 0);
	assert_int_equal(count_rows(url, "jobs"), 0);
	assert_int_equal(count_rows(url, "steps"), 0);
	assert_int_equal(count_rows(url, "runs"), 3);
	assert_int_equal(count_of(q, NULL), 3);		/* deliveries */
	assert_int_equal(count_of(q, "running"), 1);
	assert_int_equal(count_of(q, "queued"), 1);
	assert_int_equal(count_of(q, "cancelled"), 1);
	assert_status(q, running, "running");
	assert_status(q, queued, "queued");
	assert_status(q, recent, "cancelled");
	assert_int_equal(queue_get(q, old[0], &run, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	err_clear(&e);
	assert_int_equal(queue_get(q, ids[NPRUNE - 1], &run, &e), -1);
	err_clear(&e);
	/* a pruned delivery's ID is unknown again: a new run */
	id = add_one(q, "d:old0");
	assert_true(id > recent);
	assert_status(q, id, "queued");
	json_decref(summary);
	queue_close(q);
}
QUEUE_TEST(prune)

struct pruner {
	const char *url;
	long long cut;
	size_t n;
	int failures;
	struct err err;
};

static void *prune_thread(void *arg)
{
	struct pruner *p = arg;
	struct queue *q = NULL;
	size_t n;
	int r;

	if (queue_open(&q, p->url, "pruner", &p->err) < 0) {
		p->failures++;
		return NULL;
	}
	do {
		r = queue_prune(q, p->cut, &n, &p->err);
		p->n += n;
	} while (r == 1);
	if (r < 0)
		p->failures++;
	queue_close(q);
	return NULL;
}

/* Two agents pruning at once delete each run once, without an error. */
static void case_prune_concurrent(const char *url)
{
	struct queue *q = open_q(url, "agent-a");
	static char names[NPRUNE][24];
	static struct queue_new b[NPRUNE];
	static long long ids[NPRUNE];
	static bool dup[NPRUNE];
	struct pruner p[2];
	pthread_t th[2];
	struct err e = ERR_INIT;
	long long cut;

	queue_relax_sync(q);
	for (int i = 0; i < NPRUNE; i++) {
		snprintf(names[i], sizeof(names[i]), "d:c%d", i);
		b[i] = new_run(names[i], false);
	}
	if (queue_add(q, b, NPRUNE, ids, dup, &e) < 0)
		fail_msg("queue_add: %s", e.msg);
	for (int i = 0; i < NPRUNE; i++)
		if (queue_cancel(q, ids[i], &e) != 1)
			fail_msg("queue_cancel: %s", e.msg);
	sleep_ms(2);
	cut = queue_now_ms() + 1;
	for (int t = 0; t < 2; t++) {
		p[t] = (struct pruner){ .url = url, .cut = cut };
		assert_int_equal(pthread_create(&th[t], NULL, prune_thread, &p[t]), 0);
	}
	for (int t = 0; t < 2; t++) {
		pthread_join(th[t], NULL);
		if (p[t].failures)
			fail_msg("pruner %d: %s", t, p[t].err.msg);
	}
	assert_int_equal(p[0].n + p[1].n, NPRUNE);
	assert_int_equal(count_of(q, NULL), 0);
	assert_int_equal(count_rows(url, "runs"), 0);
	queue_close(q);
}
QUEUE_TEST(prune_concurrent)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue_add_concurrent),
		cmocka_unit_test(test_queue_claim_concurrent),
		cmocka_unit_test(test_queue_durable),
		cmocka_unit_test(test_queue_prune),
		cmocka_unit_test(test_queue_prune_concurrent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
