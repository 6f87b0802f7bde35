/* Unit tests for agent/queue.c and its backends, the cases on one
 * connection at a time: opening, adding, claiming, leases, recovery,
 * finishing and cancelling. tests/unit/queue_read.c has the reading,
 * tests/unit/queue_concurrent.c the threaded cases and durability across
 * reopen; queue_test.h says how every case runs against SQLite and then
 * QUEUE_TEST_URL. */
#include "queue_test.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* ---- opening ---- */

static void case_open_twice(const char *url)
{
	struct queue *q = open_q(url, "a1");
	struct err e = ERR_INIT;
	json_t *c = NULL;
	struct stat st;

	assert_string_equal(queue_backend(q), is_sqlite(url) ? "sqlite" : "postgres");
	queue_close(q);
	q = open_q(url, "a1");		/* migrated already: nothing to do */
	assert_int_equal(queue_counts(q, &c, &e), 0);
	assert_int_equal(int_of(c, "deliveries"), 0);
	assert_int_equal(int_of(c, "queued"), 0);
	assert_int_equal(int_of(c, "running"), 0);
	assert_true(json_is_object(json_object_get(c, "runs")));
	json_decref(c);
	queue_close(q);
	if (!is_sqlite(url))
		return;
	/* the folder was made, private; so is the file */
	assert_int_equal(stat(url + strlen("sqlite://"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}
QUEUE_TEST(open_twice)

static void case_newer_schema(const char *url)
{
	const char *path = url + strlen("sqlite://");
	struct err e = ERR_INIT;
	struct queue *q = NULL;
	sqlite3 *db = NULL;

	if (!is_sqlite(url))
		return;		/* the SQL that does it differs; one is enough */
	queue_close(open_q(url, "a1"));
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE schema_version SET version = 99",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(queue_open(&q, url, "a1", &e), -1);
	assert_null(q);
	assert_int_equal(e.code, ERR_INVALID);
	assert_non_null(strstr(e.msg, "schema version 99"));
	assert_non_null(strstr(e.msg, "upgrade gantry"));
}
QUEUE_TEST(newer_schema)

/* A database of version 1 (before runs_repo_id and oidc_keys) is brought
 * to the current version at open, keeping its runs. */
static void case_older_schema(const char *url)
{
	const char *path = url + strlen("sqlite://");
	struct err e = ERR_INIT;
	struct queue_new b = new_run("github:old", false);
	struct queue *q;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long id;
	bool dup;

	if (!is_sqlite(url))
		return;		/* the SQL that does it differs; one is enough */
	q = open_q(url, "a1");
	if (queue_add(q, &b, 1, &id, &dup, &e) < 0)
		fail_msg("queue_add: %s", e.msg);
	queue_close(q);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP INDEX runs_repo_id;"
				      "DROP TABLE oidc_keys;"
				      "UPDATE schema_version SET version = 1",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	queue_close(open_q(url, "a1"));
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT (SELECT max(version) FROM "
					    "schema_version), (SELECT count(*) FROM "
					    "sqlite_master WHERE name IN ('runs_repo_id',"
					    " 'oidc_keys')), (SELECT count(*) FROM runs)",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), QUEUE_SCHEMA_VERSION);
	assert_int_equal(sqlite3_column_int(st, 1), 2);
	assert_int_equal(sqlite3_column_int(st, 2), 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
}
QUEUE_TEST(older_schema)

static void test_queue_bad_url(void **state)
{
	struct err e = ERR_INIT;
	struct queue *q = NULL;

	(void)state;
	assert_int_equal(queue_open(&q, "mysql://u:hunter2@db/q", "a1", &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_null(strstr(e.msg, "hunter2"));
	err_clear(&e);
	assert_int_equal(queue_open(&q, "sqlite://", "a1", &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
}

/* libpq loads (queue_pg_lib.c), and a server that is not there is a
 * connection error that hides the password; no server needed. A missing
 * libpq: tests/unit/queue_pg_lib.c. */
static void test_queue_pg_unreachable(void **state)
{
	struct err e = ERR_INIT;
	struct queue *q = NULL;

	(void)state;
	assert_int_equal(queue_open(&q, "postgres://gantry:hunter2@127.0.0.1:1/q",
				    "a1", &e), -1);
	assert_null(q);
	assert_int_equal(e.code, ERR_IO);
	assert_non_null(strstr(e.msg, "queue postgres://gantry:***@127.0.0.1:1/q:"
			       " connect: "));
	assert_null(strstr(e.msg, "hunter2"));
	assert_null(strstr(e.msg, "cannot load"));
}

/* ---- adding ---- */

static void case_add_dup(const char *url)
{
	struct queue *q = open_q(url, "a1");
	struct queue_new b1[] = { new_run("d:a", false), new_run("d:b", true),
				  new_run("d:a", false) };
	struct queue_new b2[] = { new_run("d:b", false), new_run("d:c", false) };
	long long ids[3];
	bool dup[3];
	struct err e = ERR_INIT;
	json_t *run;

	assert_int_equal(queue_add(q, b1, 3, ids, dup, &e), 0);
	assert_false(dup[0]);
	assert_false(dup[1]);
	assert_true(dup[2]);
	assert_true(ids[0] != ids[1]);
	assert_true(ids[2] == ids[0]);
	assert_int_equal(queue_add(q, b2, 2, ids + 1, dup + 1, &e), 0);
	assert_true(dup[1]);
	assert_false(dup[2]);
	assert_int_equal(count_of(q, NULL), 3);
	assert_int_equal(count_of(q, "queued"), 3);

	run = get(q, ids[1]);	/* the manual run of b1, not b2's push */
	assert_int_equal(int_of(run, "id"), ids[1]);
	assert_string_equal(jsonx_str(run, "delivery"), "d:b");
	assert_string_equal(jsonx_str(run, "forge"), "manual");
	assert_string_equal(jsonx_str(run, "event"), "workflow_dispatch");
	assert_string_equal(jsonx_str(run, "repo"), "org/app");
	assert_string_equal(jsonx_str(run, "ref"), "refs/heads/main");
	assert_true(json_is_null(json_object_get(run, "sha")));
	assert_string_equal(jsonx_str(run, "workflow"), "deploy.yml");
	assert_string_equal(jsonx_str(run, "status"), "queued");
	assert_true(json_is_null(json_object_get(run, "agent")));
	assert_true(json_is_null(json_object_get(run, "started_ms")));
	assert_int_equal(int_of(run, "attempts"), 0);
	assert_true(int_of(run, "created_ms") > 1600000000000LL);
	assert_int_equal(json_array_size(json_object_get(run, "jobs")), 0);
	json_decref(run);

	/* a batch with a run that cannot be stored stores none of them */
	b2[0].delivery = "d:new";
	b2[1].delivery = NULL;
	assert_int_equal(queue_add(q, b2, 2, ids, dup, &e), -1);
	assert_int_equal(count_of(q, NULL), 3);
	assert_int_equal(count_of(q, "queued"), 3);
	queue_close(q);
}
QUEUE_TEST(add_dup)

/* Strings that a literal, an array or a JSON text could mangle. */
static const char *const awkward[] = {
	"d:\"quoted\" \\back\\slash\\",
	"a,b {c} \"d\" 'e' NULL",
	"NULL",
	"",
	"  blanks around\t\r\n",
	"line one\nline two\\n\\\"",
	"\xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x9a\x80 \\u00e9",
	"{\"ref\": \"refs/heads/\\\"x\\\"\", \"a\": [1, {\"b\": null}]}\\",
	"}{,\"\\\\\"",
};
#define NAWK ((int)ARRAY_SIZE(awkward))

static void assert_same(const char *got, const char *want)
{
	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_int_equal(strlen(got), strlen(want));
	assert_memory_equal(got, want, strlen(want));
}

/* Run i of the awkward batch: every field from the table, shifted by i;
 * runs 0 and 1 have no sha, workflow and inputs. */
static struct queue_new awkward_run(int i)
{
	struct queue_new n = {
		.delivery = awkward[i % NAWK], .forge = awkward[(i + 1) % NAWK],
		.event = awkward[(i + 2) % NAWK], .repo = awkward[(i + 3) % NAWK],
		.clone_url = awkward[(i + 4) % NAWK], .ref = awkward[(i + 5) % NAWK],
		.sha = i < 2 ? NULL : awkward[(i + 6) % NAWK],
		.payload = awkward[(i + 7) % NAWK],
		.workflow = i < 2 ? NULL : awkward[(i + 8) % NAWK],
		.inputs = i < 2 ? NULL : awkward[(i + 1) % NAWK],
	};

	return n;
}

static void case_add_awkward(const char *url)
{
	struct queue *q = open_q(url, "a1");
	struct queue_new b[NAWK];
	long long ids[NAWK], again[NAWK];
	bool dup[NAWK];
	struct err e = ERR_INIT;
	struct queue_run r;
	json_t *run;
	int i;

	for (i = 0; i < NAWK; i++)
		b[i] = awkward_run(i);
	if (queue_add(q, b, NAWK, ids, dup, &e) < 0)
		fail_msg("queue_add: %s", e.msg);
	for (int n = 0; n < NAWK; n++) {
		assert_false(dup[n]);
		assert_int_equal(queue_claim(q, &r, 60, &e), 1);
		for (i = 0; i < NAWK && ids[i] != r.id; i++)
			;
		assert_true(i < NAWK);
		assert_same(r.delivery, b[i].delivery);
		assert_same(r.forge, b[i].forge);
		assert_same(r.event, b[i].event);
		assert_same(r.repo, b[i].repo);
		assert_same(r.clone_url, b[i].clone_url);
		assert_same(r.ref, b[i].ref);
		assert_same(r.sha, b[i].sha);
		assert_same(r.payload, b[i].payload);
		assert_same(r.workflow, b[i].workflow);
		assert_same(r.inputs, b[i].inputs);
		queue_run_release(&r);

		run = get(q, ids[i]);
		assert_same(jsonx_str(run, "delivery"), b[i].delivery);
		assert_same(jsonx_str(run, "forge"), b[i].forge);
		assert_same(jsonx_str(run, "repo"), b[i].repo);
		assert_same(jsonx_str(run, "ref"), b[i].ref);
		assert_same(jsonx_str(run, "sha"), b[i].sha);
		assert_same(jsonx_str(run, "workflow"), b[i].workflow);
		json_decref(run);
	}
	assert_int_equal(queue_claim(q, &r, 60, &e), 0);
	/* the same again: every one a dup, found by its awkward ID */
	for (i = 0; i < NAWK; i++)
		b[i].repo = "org/other";
	assert_int_equal(queue_add(q, b, NAWK, again, dup, &e), 0);
	for (i = 0; i < NAWK; i++) {
		assert_true(dup[i]);
		assert_int_equal(again[i], ids[i]);
		assert_same(jsonx_str(run = get(q, ids[i]), "repo"),
			    awkward[(i + 3) % NAWK]);
		json_decref(run);
	}
	assert_int_equal(count_of(q, NULL), NAWK);
	queue_close(q);
}
QUEUE_TEST(add_awkward)

#define NBIG 600	/* runs in the batch */
#define NBIG_DUP 100	/* of them, deliveries that came before in it */
#define NBIG_OLD 20	/* deliveries added before the batch */

/* Delivery of run i of the big batch: 500 distinct IDs in a shuffled
 * order, then 100 of them again; those below NBIG_OLD came before. */
static int big_delivery(int i)
{
	return i < NBIG - NBIG_DUP ? i * 7 % (NBIG - NBIG_DUP) :
		big_delivery((i - (NBIG - NBIG_DUP)) * 5);
}

static void case_add_big_batch(const char *url)
{
	struct queue *q = open_q(url, "a1");
	static char names[NBIG][16];
	static struct queue_new b[NBIG];
	static long long ids[NBIG];
	static bool dup[NBIG];
	long long old[NBIG_OLD], last = 0;
	struct err e = ERR_INIT;
	char name[16];
	json_t *run;

	for (int i = 0; i < NBIG; i++) {
		snprintf(names[i], sizeof(names[i]), "big:%04d", big_delivery(i));
		b[i] = new_run(names[i], i % 3 == 0);
		b[i].repo = i < NBIG - NBIG_DUP ? "org/first" : "org/again";
	}
	for (int i = 0; i < NBIG_OLD; i++) {
		snprintf(name, sizeof(name), "big:%04d", i);
		old[i] = add_one(q, name);
	}
	if (queue_add(q, b, NBIG, ids, dup, &e) < 0)
		fail_msg("queue_add: %s", e.msg);
	for (int i = 0; i < NBIG; i++) {
		int d = big_delivery(i);

		if (i >= NBIG - NBIG_DUP) {
			int first = (i - (NBIG - NBIG_DUP)) * 5;

			assert_true(dup[i]);
			assert_int_equal(ids[i], ids[first]);
		} else if (d < NBIG_OLD) {
			assert_true(dup[i]);
			assert_int_equal(ids[i], old[d]);
		} else {
			/* new: run IDs in batch order */
			assert_false(dup[i]);
			assert_true(ids[i] > last);
			last = ids[i];
		}
	}
	/* each delivery's run is its first one's: org/first, not org/again */
	for (int i = NBIG - NBIG_DUP; i < NBIG; i++) {
		run = get(q, ids[i]);
		assert_string_equal(jsonx_str(run, "delivery"), names[i]);
		assert_string_equal(jsonx_str(run, "repo"),
				    big_delivery(i) < NBIG_OLD ? "org/app" : "org/first");
		json_decref(run);
	}
	assert_int_equal(count_of(q, NULL), NBIG - NBIG_DUP);
	assert_int_equal(count_of(q, "queued"), NBIG - NBIG_DUP);
	queue_close(q);
}
QUEUE_TEST(add_big_batch)

/* ---- claiming ---- */

static void case_claim_fifo(const char *url)
{
	struct queue *q = open_q(url, "a1");
	struct queue_new manual = new_run("d:2", true);
	struct queue_run r;
	struct err e = ERR_INIT;
	long long ids[3];
	bool dup;
	json_t *run;

	assert_int_equal(queue_claim(q, &r, 60, &e), 0);	/* empty */
	ids[0] = add_one(q, "d:1");
	assert_int_equal(queue_add(q, &manual, 1, &ids[1], &dup, &e), 0);
	ids[2] = add_one(q, "d:3");
	assert_true(ids[0] < ids[1] && ids[1] < ids[2]);

	assert_int_equal(queue_claim(q, &r, 60, &e), 1);
	assert_int_equal(r.id, ids[0]);
	assert_string_equal(r.delivery, "d:1");
	assert_string_equal(r.sha, "0123456789abcdef0123456789abcdef01234567");
	assert_string_equal(r.payload, "{\"ref\":\"refs/heads/main\"}");
	assert_string_equal(r.clone_url, "https://git.example/org/app.git");
	assert_null(r.workflow);
	assert_null(r.inputs);
	assert_int_equal(r.attempts, 0);
	assert_true(r.created_ms > 1600000000000LL);
	queue_run_release(&r);

	assert_int_equal(queue_claim(q, &r, 60, &e), 1);
	assert_int_equal(r.id, ids[1]);
	assert_string_equal(r.forge, "manual");
	assert_string_equal(r.event, "workflow_dispatch");
	assert_null(r.sha);
	assert_string_equal(r.workflow, "deploy.yml");
	assert_string_equal(r.inputs, "{\"env\":\"prod\"}");
	queue_run_release(&r);

	assert_int_equal(claim_one(q, 60), ids[2]);
	assert_int_equal(queue_claim(q, &r, 60, &e), 0);

	run = get(q, ids[0]);
	assert_string_equal(jsonx_str(run, "status"), "running");
	assert_string_equal(jsonx_str(run, "agent"), "a1");
	assert_true(json_is_integer(json_object_get(run, "started_ms")));
	json_decref(run);
	assert_int_equal(queue_set_status_note(q, ids[0], "checkout done", &e), 0);
	run = get(q, ids[0]);
	assert_string_equal(jsonx_str(run, "note"), "checkout done");
	json_decref(run);
	assert_int_equal(count_of(q, "running"), 3);
	queue_close(q);
}
QUEUE_TEST(claim_fifo)

/* ---- leases ---- */

static void case_heartbeat(const char *url)
{
	struct queue *a = open_q(url, "agent-a"), *b = open_q(url, "agent-b");
	long long now = queue_now_ms(), id1, id2;
	struct err e = ERR_INIT;
	json_t *cancel = NULL, *gone = NULL;

	id1 = add_one(a, "d:1");
	id2 = add_one(a, "d:2");
	assert_int_equal(claim_one(a, 1), id1);
	assert_int_equal(claim_one(b, 1), id2);
	/* a renews for 10 minutes; b does not */
	assert_int_equal(queue_heartbeat(a, 600, &id1, 1, &cancel, &gone, &e), 0);
	assert_true(json_is_array(cancel));
	assert_int_equal(json_array_size(cancel), 0);
	assert_int_equal(json_array_size(gone), 0);
	json_decref(cancel);
	json_decref(gone);
	assert_int_equal(recover(a, NULL, false, 5, now + 300000), 1);
	assert_status(a, id1, "running");
	assert_status(a, id2, "queued");
	/* b still thinks it holds id2, which the queue took back: gone */
	assert_int_equal(queue_heartbeat(b, 600, &id2, 1, &cancel, &gone, &e), 0);
	assert_int_equal(json_array_size(gone), 1);
	assert_int_equal(json_integer_value(json_array_get(gone, 0)), id2);
	json_decref(cancel);
	json_decref(gone);

	/* a cancellation is handed to the agent that holds the run only */
	assert_int_equal(queue_cancel(b, id1, &e), 1);
	assert_int_equal(queue_heartbeat(b, 600, &id2, 1, &cancel, &gone, &e), 0);
	assert_int_equal(json_array_size(cancel), 0);
	json_decref(cancel);
	json_decref(gone);
	assert_int_equal(queue_heartbeat(a, 600, &id1, 1, &cancel, &gone, &e), 0);
	assert_int_equal(json_array_size(cancel), 1);
	assert_int_equal(json_integer_value(json_array_get(cancel, 0)), id1);
	assert_int_equal(json_array_size(gone), 0);
	json_decref(cancel);
	json_decref(gone);
	assert_status(a, id1, "running");
	/* only the runs named as held are renewed, even of this agent's */
	assert_int_equal(claim_one(a, 1), id2);	/* queued again above */
	assert_int_equal(queue_heartbeat(a, 600, &id1, 1, &cancel, &gone, &e), 0);
	json_decref(cancel);
	json_decref(gone);
	assert_int_equal(recover(a, NULL, false, 5, now + 300000), 1);
	assert_status(a, id2, "queued");
	/* a run the agent no longer names as held is left to expire, and
	 * its cancellation is no longer handed out */
	assert_int_equal(queue_heartbeat(a, 600, NULL, 0, &cancel, &gone, &e), 0);
	assert_int_equal(json_array_size(cancel), 0);
	json_decref(cancel);
	json_decref(gone);
	assert_int_equal(recover(a, NULL, false, 5, now + 300000), 0);
	assert_int_equal(recover(a, NULL, false, 5, now + 700000), 1);
	assert_status(a, id1, "queued");
	queue_close(a);
	queue_close(b);
}
QUEUE_TEST(heartbeat)

static void case_recover_lease(const char *url)
{
	struct queue *a = open_q(url, "agent-a"), *b = open_q(url, "agent-b");
	long long now = queue_now_ms(), id = add_one(a, "d:1");
	struct queue_run r;
	struct err e = ERR_INIT;
	json_t *run;

	assert_int_equal(claim_one(a, 60), id);
	assert_int_equal(recover(b, NULL, false, 5, now), 0);	/* not expired */
	assert_int_equal(recover(b, NULL, false, 5, now + 120000), 1);
	run = get(b, id);
	assert_string_equal(jsonx_str(run, "status"), "queued");
	assert_int_equal(int_of(run, "attempts"), 1);
	assert_non_null(strstr(jsonx_str(run, "error"), "lost"));
	assert_non_null(strstr(jsonx_str(run, "error"), "agent-a"));
	json_decref(run);

	assert_int_equal(queue_claim(b, &r, 60, &e), 1);
	assert_int_equal(r.id, id);
	assert_int_equal(r.attempts, 1);
	queue_run_release(&r);
	assert_string_equal(jsonx_str(run = get(b, id), "agent"), "agent-b");
	json_decref(run);

	/* on_lost fail */
	assert_int_equal(recover(a, NULL, true, 5, now + 120000), 1);
	run = get(a, id);
	assert_string_equal(jsonx_str(run, "status"), "failure");
	assert_int_equal(int_of(run, "attempts"), 2);
	assert_true(int_of(run, "finished_ms") > 0);
	assert_non_null(strstr(jsonx_str(run, "error"), "agent-b"));
	json_decref(run);
	assert_int_equal(recover(a, NULL, false, 5, now + 120000), 0);
	queue_close(a);
	queue_close(b);
}
QUEUE_TEST(recover_lease)

static void case_recover_max_attempts(const char *url)
{
	struct queue *q = open_q(url, "agent-a");
	long long later = queue_now_ms() + 120000, id = add_one(q, "d:1");
	json_t *run;

	assert_int_equal(claim_one(q, 60), id);
	assert_int_equal(recover(q, NULL, false, 2, later), 1);
	assert_status(q, id, "queued");
	assert_int_equal(claim_one(q, 60), id);
	assert_int_equal(recover(q, NULL, false, 2, later), 1);
	run = get(q, id);
	assert_string_equal(jsonx_str(run, "status"), "failure");
	assert_int_equal(int_of(run, "attempts"), 2);
	assert_non_null(strstr(jsonx_str(run, "error"), "lost"));
	assert_non_null(strstr(jsonx_str(run, "error"), "2 times"));
	json_decref(run);
	queue_close(q);
}
QUEUE_TEST(recover_max_attempts)

static void case_recover_agent(const char *url)
{
	struct queue *a = open_q(url, "agent-a"), *b = open_q(url, "agent-b");
	long long now = queue_now_ms(), id1, id2, id3;
	json_t *run;

	id1 = add_one(a, "d:1");
	id2 = add_one(a, "d:2");
	id3 = add_one(a, "d:3");
	claim_one(a, 600);
	claim_one(b, 600);
	claim_one(a, 600);
	/* agent-a restarted: its runs come back at once, leases or not */
	assert_int_equal(recover(a, "agent-a", false, 5, now), 2);
	assert_status(a, id2, "running");
	run = get(a, id1);
	assert_string_equal(jsonx_str(run, "status"), "queued");
	assert_non_null(strstr(jsonx_str(run, "error"), "restarted"));
	json_decref(run);
	assert_status(a, id3, "queued");
	assert_int_equal(recover(a, "agent-a", false, 5, now), 0);
	queue_close(a);
	queue_close(b);
}
QUEUE_TEST(recover_agent)

/* A run given back before it started: queued, attempts unchanged. */
static void case_release(const char *url)
{
	struct queue *a = open_q(url, "agent-a"), *b = open_q(url, "agent-b");
	long long now = queue_now_ms(), id1, id2;
	struct queue_run r;
	struct err e = ERR_INIT;
	json_t *run;

	id1 = add_one(a, "d:1");
	id2 = add_one(a, "d:2");
	assert_int_equal(claim_one(a, 60), id1);
	assert_int_equal(recover(a, NULL, false, 5, now + 120000), 1);
	assert_int_equal(claim_one(a, 600), id1);	/* attempts 1 now */
	assert_int_equal(claim_one(b, 600), id2);
	assert_int_equal(queue_release(a, id1, &e), 1);
	run = get(a, id1);
	assert_string_equal(jsonx_str(run, "status"), "queued");
	assert_int_equal(int_of(run, "attempts"), 1);
	assert_true(json_is_null(json_object_get(run, "agent")));
	assert_true(json_is_null(json_object_get(run, "started_ms")));
	json_decref(run);
	assert_int_equal(queue_release(a, id1, &e), 0);	/* not running */
	assert_int_equal(queue_release(a, id2, &e), 0);	/* agent-b's */
	assert_int_equal(queue_release(a, id2 + 100, &e), 0);	/* unknown */
	assert_status(a, id2, "running");
	assert_string_equal(jsonx_str(run = get(a, id2), "agent"), "agent-b");
	json_decref(run);

	/* claimable again, by anyone */
	assert_int_equal(queue_claim(b, &r, 600, &e), 1);
	assert_int_equal(r.id, id1);
	assert_int_equal(r.attempts, 1);
	queue_run_release(&r);
	assert_int_equal(queue_finish(b, id1, "success", NULL, NULL, NULL, &e), 1);
	assert_int_equal(queue_release(b, id1, &e), 0);	/* finished */
	assert_status(a, id1, "success");
	queue_close(a);
	queue_close(b);
}
QUEUE_TEST(release)

/* ---- finishing and cancelling ---- */

static const char summary_json[] =
	"[{\"path\": \".github/workflows/ci.yml\", \"jobs\": ["
	" {\"id\": \"build\", \"name\": \"Build\", \"result\": \"success\","
	"  \"started_at\": \"2026-01-02T03:04:05Z\","
	"  \"finished_at\": \"2026-01-02T03:05:05Z\", \"duration_ms\": 60000,"
	"  \"steps\": [{\"name\": \"checkout\", \"conclusion\": \"success\","
	"   \"exit_code\": 0, \"duration_ms\": 1200},"
	"  {\"name\": \"make\", \"conclusion\": \"success\", \"exit_code\": 0,"
	"   \"duration_ms\": 50000}]}]},"
	" {\"path\": \".github/workflows/deploy.yml\", \"jobs\": ["
	" {\"id\": \"deploy\", \"name\": \"Deploy\", \"result\": \"failure\","
	"  \"steps\": [{\"name\": \"sync\", \"conclusion\": \"failure\","
	"   \"exit_code\": 2}]}]}]";

static void case_finish_owner(const char *url)
{
	struct queue *q = open_q(url, "agent-a");
	long long id = add_one(q, "d:1");
	json_t *summary = json_loads(summary_json, 0, NULL), *run, *jobs, *j, *s;
	struct err e = ERR_INIT;

	assert_non_null(summary);
	assert_int_equal(claim_one(q, 60), id);
	assert_int_equal(queue_finish(q, id, "running", NULL, NULL, NULL, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_int_equal(queue_finish(q, id, "failure", summary, "job deploy failed",
				      "/var/log/gantry/1.log", &e), 1);
	run = get(q, id);
	assert_string_equal(jsonx_str(run, "status"), "failure");
	assert_string_equal(jsonx_str(run, "error"), "job deploy failed");
	assert_string_equal(jsonx_str(run, "log_path"), "/var/log/gantry/1.log");
	assert_true(int_of(run, "finished_ms") >= int_of(run, "started_ms"));
	jobs = json_object_get(run, "jobs");
	assert_int_equal(json_array_size(jobs), 2);
	j = json_array_get(jobs, 0);
	assert_string_equal(jsonx_str(j, "workflow"), ".github/workflows/ci.yml");
	assert_string_equal(jsonx_str(j, "id"), "build");
	assert_string_equal(jsonx_str(j, "name"), "Build");
	assert_string_equal(jsonx_str(j, "result"), "success");
	assert_string_equal(jsonx_str(j, "started_at"), "2026-01-02T03:04:05Z");
	assert_string_equal(jsonx_str(j, "finished_at"), "2026-01-02T03:05:05Z");
	assert_int_equal(int_of(j, "duration_ms"), 60000);
	assert_int_equal(json_array_size(json_object_get(j, "steps")), 2);
	s = json_array_get(json_object_get(j, "steps"), 1);
	assert_string_equal(jsonx_str(s, "name"), "make");
	assert_string_equal(jsonx_str(s, "result"), "success");
	assert_int_equal(int_of(s, "exit_code"), 0);
	assert_int_equal(int_of(s, "duration_ms"), 50000);
	j = json_array_get(jobs, 1);
	assert_string_equal(jsonx_str(j, "id"), "deploy");
	assert_true(json_is_null(json_object_get(j, "started_at")));
	assert_true(json_is_null(json_object_get(j, "duration_ms")));
	s = json_array_get(json_object_get(j, "steps"), 0);
	assert_string_equal(jsonx_str(s, "result"), "failure");
	assert_int_equal(int_of(s, "exit_code"), 2);
	assert_true(json_is_null(json_object_get(s, "duration_ms")));
	json_decref(run);
	/* finished: no longer this agent's to write */
	assert_int_equal(queue_finish(q, id, "success", NULL, NULL, NULL, &e), 0);
	assert_status(q, id, "failure");
	json_decref(summary);
	queue_close(q);
}
QUEUE_TEST(finish_owner)

static void case_finish_not_owner(const char *url)
{
	struct queue *a = open_q(url, "agent-a"), *b = open_q(url, "agent-b");
	long long id = add_one(a, "d:1"), id2 = add_one(a, "d:2");
	json_t *summary = json_loads(summary_json, 0, NULL), *run;
	struct err e = ERR_INIT;

	assert_int_equal(claim_one(a, 60), id);
	assert_int_equal(queue_finish(b, id, "success", summary, NULL, "/x", &e), 0);
	run = get(a, id);
	assert_string_equal(jsonx_str(run, "status"), "running");
	assert_string_equal(jsonx_str(run, "agent"), "agent-a");
	assert_true(json_is_null(json_object_get(run, "finished_ms")));
	assert_true(json_is_null(json_object_get(run, "log_path")));
	assert_int_equal(json_array_size(json_object_get(run, "jobs")), 0);
	json_decref(run);
	/* recovered meanwhile: the old holder cannot write it either */
	assert_int_equal(claim_one(a, 60), id2);
	assert_int_equal(recover(b, "agent-a", false, 5, queue_now_ms()), 2);
	assert_int_equal(queue_finish(a, id2, "success", summary, NULL, NULL, &e), 0);
	assert_status(a, id2, "queued");
	json_decref(summary);
	queue_close(a);
	queue_close(b);
}
QUEUE_TEST(finish_not_owner)

static void case_cancel(const char *url)
{
	struct queue *q = open_q(url, "agent-a");
	long long done = add_one(q, "d:1"), running = add_one(q, "d:2");
	long long queued = add_one(q, "d:3");
	struct queue_run r;
	struct err e = ERR_INIT;
	json_t *run;

	assert_int_equal(claim_one(q, 60), done);
	assert_int_equal(queue_finish(q, done, "success", NULL, NULL, NULL, &e), 1);
	assert_int_equal(claim_one(q, 60), running);

	assert_int_equal(queue_cancel(q, queued, &e), 1);
	run = get(q, queued);
	assert_string_equal(jsonx_str(run, "status"), "cancelled");
	assert_true(int_of(run, "finished_ms") > 0);
	json_decref(run);
	assert_int_equal(queue_claim(q, &r, 60, &e), 0);	/* not claimable */

	assert_int_equal(queue_cancel(q, running, &e), 1);
	assert_status(q, running, "running");	/* the agent stops it */
	assert_int_equal(queue_cancel(q, running, &e), 1);

	assert_int_equal(queue_cancel(q, done, &e), 0);
	assert_status(q, done, "success");
	assert_int_equal(queue_cancel(q, queued, &e), 0);

	assert_int_equal(queue_cancel(q, queued + 1000, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	err_clear(&e);
	assert_int_equal(queue_get(q, queued + 1000, &run, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	queue_close(q);
}
QUEUE_TEST(cancel)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue_open_twice),
		cmocka_unit_test(test_queue_newer_schema),
		cmocka_unit_test(test_queue_older_schema),
		cmocka_unit_test(test_queue_bad_url),
		cmocka_unit_test(test_queue_pg_unreachable),
		cmocka_unit_test(test_queue_add_dup),
		cmocka_unit_test(test_queue_add_awkward),
		cmocka_unit_test(test_queue_add_big_batch),
		cmocka_unit_test(test_queue_claim_fifo),
		cmocka_unit_test(test_queue_heartbeat),
		cmocka_unit_test(test_queue_recover_lease),
		cmocka_unit_test(test_queue_recover_max_attempts),
		cmocka_unit_test(test_queue_recover_agent),
		cmocka_unit_test(test_queue_release),
		cmocka_unit_test(test_queue_finish_owner),
		cmocka_unit_test(test_queue_finish_not_owner),
		cmocka_unit_test(test_queue_cancel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
