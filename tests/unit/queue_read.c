/* Unit tests for agent/queue.c and its backends, the reading side, on one
 * connection: a page of runs (queue_list), the counts by status, which
 * clone URLs came with a repository's signed deliveries
 * (queue_repo_knows_url), and the fleet's OIDC keys (queue_keys_put,
 * queue_keys_get). queue_test.h says how every case runs against
 * SQLite and then QUEUE_TEST_URL. */
#include "queue_test.h"

#include <stdio.h>
#include <string.h>

/* ---- reading ---- */

static void assert_ids(const json_t *list, const long long *want, size_t n)
{
	assert_int_equal(json_array_size(list), n);
	for (size_t i = 0; i < n; i++) {
		json_t *run = json_array_get(list, i);

		assert_int_equal(int_of(run, "id"), want[i]);
		assert_null(json_object_get(run, "jobs"));
		assert_non_null(jsonx_str(run, "delivery"));
	}
}

static void case_list(const char *url)
{
	struct queue *q = open_q(url, "agent-a");
	struct err e = ERR_INIT;
	long long ids[10];
	char name[16];
	json_t *l = NULL;

	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "d:%d", i);
		ids[i] = add_one(q, name);
	}
	claim_one(q, 60);
	claim_one(q, 60);
	assert_int_equal(queue_list(q, 3, 0, NULL, &l, &e), 0);
	assert_ids(l, (long long[]){ ids[9], ids[8], ids[7] }, 3);
	json_decref(l);
	assert_int_equal(queue_list(q, 3, ids[5], NULL, &l, &e), 0);
	assert_ids(l, (long long[]){ ids[4], ids[3], ids[2] }, 3);
	json_decref(l);
	assert_int_equal(queue_list(q, 100, 0, "running", &l, &e), 0);
	assert_ids(l, (long long[]){ ids[1], ids[0] }, 2);
	json_decref(l);
	assert_int_equal(queue_list(q, 100, ids[1], "running", &l, &e), 0);
	assert_ids(l, ids, 1);
	json_decref(l);
	assert_int_equal(queue_list(q, 100, 0, "success", &l, &e), 0);
	assert_int_equal(json_array_size(l), 0);
	json_decref(l);
	assert_int_equal(queue_list(q, 0, 0, NULL, &l, &e), 0);	/* clamped */
	assert_ids(l, &ids[9], 1);
	json_decref(l);
	assert_int_equal(queue_list(q, 5000, 0, NULL, &l, &e), 0);
	assert_int_equal(json_array_size(l), 10);
	json_decref(l);
	queue_close(q);
}
QUEUE_TEST(list)

static void case_counts(const char *url)
{
	struct queue *q = open_q(url, "agent-a");
	struct queue_new n = new_run("d:1", false);
	struct err e = ERR_INIT;
	long long id;
	bool dup;
	json_t *c = NULL;

	add_one(q, "d:1");
	add_one(q, "d:2");
	add_one(q, "d:3");
	assert_int_equal(queue_add(q, &n, 1, &id, &dup, &e), 0);	/* a dup */
	id = claim_one(q, 60);
	assert_int_equal(queue_finish(q, id, "skipped", NULL, NULL, NULL, &e), 1);
	claim_one(q, 60);
	assert_int_equal(queue_counts(q, &c, &e), 0);
	assert_int_equal(int_of(c, "deliveries"), 3);
	assert_int_equal(int_of(c, "queued"), 1);
	assert_int_equal(int_of(c, "running"), 1);
	json_decref(c);
	assert_int_equal(count_of(q, "skipped"), 1);
	assert_int_equal(count_of(q, "queued"), 1);
	assert_int_equal(count_of(q, "failure"), 0);
	queue_close(q);
}
QUEUE_TEST(counts)

/* ---- which clone URLs came with a repo's signed deliveries ---- */

static int knows(struct queue *q, const char *repo, const char *url)
{
	struct err e = ERR_INIT;
	int r = queue_repo_knows_url(q, repo, url, &e);

	if (r < 0)
		fail_msg("queue_repo_knows_url: %s", e.msg);
	return r;
}

#define NNEWER 1000	/* queue_repo_knows_url's bound */

static void case_repo_knows_url(const char *url)
{
	static const struct { const char *delivery, *repo, *clone_url; } rs[] = {
		{ "github:1", "acme/app", "https://git.example.com/acme/app.git" },
		{ "gitea:2", "acme/app", "https://GIT.example.com:8443/acme/app.git" },
		{ "gitlab:3", "acme/app", "git@ssh.example.com:acme/app.git" },
		{ "manual:4", "acme/app", "https://evil.example/acme/app" },
		{ "github:5", "other/x", "https://bot:p@ss@other.example:8443/x.git" },
		{ "manual:6", "other/x", "https://evil.example/other/x" },
	};
	static char names[NNEWER][32];
	static struct queue_new b[NNEWER];
	static long long ids[NNEWER];
	static bool dup[NNEWER];
	struct queue *q = open_q(url, "a1");
	struct err e = ERR_INIT;

	for (size_t i = 0; i < ARRAY_SIZE(rs); i++) {
		b[i] = new_run(rs[i].delivery,
			       str_starts_with(rs[i].delivery, "manual:"));
		b[i].repo = rs[i].repo;
		b[i].clone_url = rs[i].clone_url;
	}
	if (queue_add(q, b, ARRAY_SIZE(rs), ids, dup, &e) < 0)
		fail_msg("queue_add: %s", e.msg);

	/* the same URL up to case of scheme and host, default port, ".git", "/" */
	assert_int_equal(knows(q, "acme/app", "https://git.example.com/acme/app.git"), 1);
	assert_int_equal(knows(q, "acme/app", "HTTPS://Git.Example.COM/acme/app"), 1);
	assert_int_equal(knows(q, "acme/app", "https://git.example.com:443/acme/app/"), 1);
	assert_int_equal(knows(q, "acme/app", "https://git.example.com:8443/acme/app"), 1);
	/* another path, scheme, port or case of the path: not the same */
	assert_int_equal(knows(q, "acme/app", "https://git.example.com/them/acme/app.git"), 0);
	assert_int_equal(knows(q, "acme/app", "https://git.example.com/them/evil.git"), 0);
	assert_int_equal(knows(q, "acme/app",
			       "https://git.example.com/them/evil.git?x=/acme/app"), 0);
	assert_int_equal(knows(q, "acme/app", "https://git.example.com/acme/app.git#x"), 0);
	assert_int_equal(knows(q, "acme/app", "https://git.example.com/ACME/app.git"), 0);
	assert_int_equal(knows(q, "acme/app", "http://git.example.com/acme/app.git"), 0);
	assert_int_equal(knows(q, "acme/app", "https://git.example.com:444/acme/app.git"), 0);
	assert_int_equal(knows(q, "acme/app", "https://evil.example/acme/app"), 0); /* manual */
	assert_int_equal(knows(q, "acme/app", "git@ssh.example.com:acme/app.git"), 0);
	assert_int_equal(knows(q, "acme/app", ""), 0);
	assert_int_equal(knows(q, "acme/app", "https:///acme/app"), 0);
	assert_int_equal(knows(q, "acme/app", "https://:443/acme/app"), 0);
	/* userinfo is not part of it (the last '@' ends it) */
	assert_int_equal(knows(q, "other/x", "https://other.example:8443/x"), 1);
	assert_int_equal(knows(q, "other/x", "https://other.example/x"), 0);
	assert_int_equal(knows(q, "other/x", "https://evil.example/other/x"), 0);
	assert_int_equal(knows(q, "nobody/none", "https://git.example.com/acme/app.git"), 0);
	assert_int_equal(knows(q, "ACME/app", "https://git.example.com/acme/app.git"), 0);

	/* only the newest NNEWER webhook runs count: the first three fall out */
	for (int i = 0; i < NNEWER; i++) {
		snprintf(names[i], sizeof(names[i]), "github:newer-%04d", i);
		b[i] = new_run(names[i], false);
		b[i].repo = "acme/app";
		b[i].clone_url = i % 2 ? "https://new.example/acme/app.git" :
			"ssh://git@New.Example:2222/acme/app.git";
	}
	if (queue_add(q, b, NNEWER, ids, dup, &e) < 0)
		fail_msg("queue_add: %s", e.msg);
	assert_int_equal(knows(q, "acme/app", "https://new.example/acme/app"), 1);
	assert_int_equal(knows(q, "acme/app", "ssh://new.example:2222/acme/app.git"), 1);
	assert_int_equal(knows(q, "acme/app", "ssh://new.example:22/acme/app.git"), 0);
	assert_int_equal(knows(q, "acme/app", "https://git.example.com/acme/app.git"), 0);
	assert_int_equal(knows(q, "acme/app", "https://git.example.com:8443/acme/app"), 0);
	assert_int_equal(knows(q, "other/x", "https://other.example:8443/x.git"), 1);
	queue_close(q);
}
QUEUE_TEST(repo_knows_url)

/* ---- the fleet's OIDC keys ---- */

static json_t *key_row(const char *kid, const char *jwk, const char *mac)
{
	return json_pack("{s:s, s:s, s:s}", "kid", kid, "jwk", jwk, "mac", mac);
}

static void case_keys(const char *url)
{
	struct queue *a = open_q(url, "agent-a"), *b = open_q(url, "agent-b");
	struct err e = ERR_INIT;
	json_t *rows = json_array(), *got = NULL, *r;

	json_array_append_new(rows, key_row("k2", "{\"kid\":\"k2\"}", "m2"));
	json_array_append_new(rows, key_row("k1", "{\"kid\":\"k1\"}", "m1"));
	assert_int_equal(queue_keys_put(a, rows, 1000, 500, &e), 0);
	json_decref(rows);
	rows = json_array();
	json_array_append_new(rows, key_row("k3", "{\"kid\":\"k3\"}", "m3"));
	assert_int_equal(queue_keys_put(b, rows, 1200, 500, &e), 0);
	/* by kid, with the agent that put each */
	assert_int_equal(queue_keys_get(b, 0, &got, &e), 0);
	assert_int_equal(json_array_size(got), 3);
	r = json_array_get(got, 0);
	assert_string_equal(jsonx_str(r, "kid"), "k1");
	assert_string_equal(jsonx_str(r, "jwk"), "{\"kid\":\"k1\"}");
	assert_string_equal(jsonx_str(r, "mac"), "m1");
	assert_string_equal(jsonx_str(r, "agent"), "agent-a");
	assert_string_equal(jsonx_str(json_array_get(got, 2), "agent"), "agent-b");
	json_decref(got);
	/* seen since */
	assert_int_equal(queue_keys_get(a, 1100, &got, &e), 0);
	assert_int_equal(json_array_size(got), 1);
	assert_string_equal(jsonx_str(json_array_get(got, 0), "kid"), "k3");
	json_decref(got);
	/* the same kid again replaces it; rows not seen for keep_ms go */
	json_decref(rows);
	rows = json_array();
	json_array_append_new(rows, key_row("k3", "{\"kid\":\"k3\",\"n\":1}", "m3b"));
	assert_int_equal(queue_keys_put(a, rows, 1600, 500, &e), 0);
	assert_int_equal(queue_keys_get(a, 0, &got, &e), 0);
	assert_int_equal(json_array_size(got), 1);
	r = json_array_get(got, 0);
	assert_string_equal(jsonx_str(r, "mac"), "m3b");
	assert_string_equal(jsonx_str(r, "agent"), "agent-a");
	json_decref(got);
	/* a row without its MAC is refused, and nothing is stored */
	json_decref(rows);
	rows = json_pack("[{s:s, s:s}]", "kid", "k9", "jwk", "{}");
	assert_int_equal(queue_keys_put(a, rows, 1700, 500, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	err_clear(&e);
	assert_int_equal(queue_keys_get(a, 0, &got, &e), 0);
	assert_int_equal(json_array_size(got), 1);
	json_decref(got);
	json_decref(rows);
	queue_close(a);
	queue_close(b);
}
QUEUE_TEST(keys)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue_list),
		cmocka_unit_test(test_queue_counts),
		cmocka_unit_test(test_queue_repo_knows_url),
		cmocka_unit_test(test_queue_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
