/* Shared by the queue's unit tests (tests/unit/queue.c, the cases on one
 * connection, and tests/unit/queue_concurrent.c, the threaded cases and
 * durability across reopen). Each program is built from one .c file, so
 * the helpers are static inline here. A case is a function of a queue URL;
 * QUEUE_TEST(name) makes test_queue_<name>, which runs case_<name> against
 * a new SQLite file in a temporary folder, then, when QUEUE_TEST_URL names
 * a PostgreSQL database (tests/queue/run sets it), against that, emptied
 * first with queue_test_reset(). The helpers fail the test (cmocka) on an
 * unexpected error, so they are for the main thread only. */
#ifndef GANTRY_TESTS_QUEUE_TEST_H
#define GANTRY_TESTS_QUEUE_TEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>

#include "agent/queue_int.h"
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/jsonx.h"
#include "lib/util.h"

static inline bool is_sqlite(const char *url)
{
	return str_starts_with(url, "sqlite://");
}

static inline struct queue *open_q(const char *url, const char *agent)
{
	struct err e = ERR_INIT;
	struct queue *q = NULL;

	if (queue_open(&q, url, agent, &e) < 0)
		fail_msg("queue_open: %s", e.msg);
	return q;
}

/* A run of delivery d (a push, or a manual run when manual). */
static inline struct queue_new new_run(const char *d, bool manual)
{
	struct queue_new n = {
		.delivery = d, .forge = manual ? "manual" : "github",
		.event = manual ? "workflow_dispatch" : "push",
		.repo = "org/app", .clone_url = "https://git.example/org/app.git",
		.ref = "refs/heads/main",
		.sha = manual ? NULL : "0123456789abcdef0123456789abcdef01234567",
		.payload = "{\"ref\":\"refs/heads/main\"}",
		.workflow = manual ? "deploy.yml" : NULL,
		.inputs = manual ? "{\"env\":\"prod\"}" : NULL,
	};

	return n;
}

static inline long long add_one(struct queue *q, const char *d)
{
	struct queue_new n = new_run(d, false);
	struct err e = ERR_INIT;
	long long id = 0;
	bool dup = true;

	if (queue_add(q, &n, 1, &id, &dup, &e) < 0)
		fail_msg("queue_add: %s", e.msg);
	assert_false(dup);
	return id;
}

static inline long long claim_one(struct queue *q, long lease_s)
{
	struct queue_run r;
	struct err e = ERR_INIT;
	long long id;

	if (queue_claim(q, &r, lease_s, &e) != 1)
		fail_msg("queue_claim: %s", e.msg);
	id = r.id;
	queue_run_release(&r);
	return id;
}

/* queue_get(id), which must succeed; the caller decrefs. */
static inline json_t *get(struct queue *q, long long id)
{
	struct err e = ERR_INIT;
	json_t *run = NULL;

	if (queue_get(q, id, &run, &e) < 0)
		fail_msg("queue_get: %s", e.msg);
	return run;
}

static inline void assert_status(struct queue *q, long long id,
				 const char *status)
{
	json_t *run = get(q, id);

	assert_string_equal(jsonx_str(run, "status"), status);
	json_decref(run);
}

static inline long long int_of(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

/* A count of queue_counts, 0 when a backend leaves a status out. */
static inline long long count_of(struct queue *q, const char *status)
{
	struct err e = ERR_INIT;
	json_t *c = NULL, *v;
	long long n;

	assert_int_equal(queue_counts(q, &c, &e), 0);
	v = status ? json_object_get(json_object_get(c, "runs"), status) :
		json_object_get(c, "deliveries");
	n = json_is_integer(v) ? json_integer_value(v) : 0;
	json_decref(c);
	return n;
}

static inline size_t recover(struct queue *q, const char *agent, bool fail,
			     long max, long long now)
{
	struct err e = ERR_INIT;
	size_t n = 99;

	if (queue_recover(q, agent, fail, max, now, &n, &e) < 0)
		fail_msg("queue_recover: %s", e.msg);
	return n;
}

/* Run fn against a new SQLite file, then against QUEUE_TEST_URL. */
static inline void each_backend(void (*fn)(const char *url))
{
	const char *pg = getenv("QUEUE_TEST_URL");
	struct err e = ERR_INIT;
	char *dir = NULL, *url;
	struct queue *q;

	assert_int_equal(fs_mkdtemp(&dir, "gantry-queue-test", &e), 0);
	url = xasprintf("sqlite://%s/state/queue.db", dir);
	fn(url);
	free(url);
	assert_int_equal(fs_remove_tree(dir, &e), 0);
	free(dir);
	if (!pg || !*pg)
		return;
	q = open_q(pg, "reset");
	if (queue_test_reset(q, &e) < 0)
		fail_msg("queue_test_reset: %s", e.msg);
	queue_close(q);
	fn(pg);
}

#define QUEUE_TEST(name) \
	static void test_queue_##name(void **state) \
	{ \
		(void)state; \
		each_backend(case_##name); \
	}

#endif
