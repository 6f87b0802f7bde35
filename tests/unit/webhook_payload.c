/* Unit tests for agent/webhook.c's payloads: every field's checks
 * (cases.txt: one change to an example per line and what the parse
 * gives), deleted branches, changed paths (deduplicated, or unknown when
 * the list may be cut), and delivery IDs. */
#include "webhook_test.h"

/* One line of cases.txt: the forge's example push with one payload
 * field or header changed. */
static void one_case(const char *line, int lineno)
{
	static const char *const names[] = { "github", "gitea", "forgejo", "gitlab" };
	static const char *const keys[] = { "ref", "repo", "clone_url", "after", "delivery" };
	static const struct webhook zero;
	char forge[16], field[64], *dot, *want;
	json_t *body, *obj, *v = NULL;
	json_error_t jerr;
	struct err e = ERR_INIT;
	struct webhook w;
	struct req r;
	int n = 0;
	size_t f, k;

	if (sscanf(line, "%15s %63s %n", forge, field, &n) != 2 || !n)
		fail_msg("cases.txt:%d: bad line", lineno);
	for (f = 0; f < ARRAY_SIZE(names) && strcmp(names[f], forge); f++)
		;
	assert_true(f < ARRAY_SIZE(names));
	line += n;
	if (*line == '-') {
		want = (char *)line + 1;
	} else {
		v = json_loads(line, JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK, &jerr);
		if (!v)
			fail_msg("cases.txt:%d: %s", lineno, jerr.text);
		want = (char *)line + jerr.position;
	}
	want += strspn(want, " \t");
	body = fixture(push_fixture[f]);
	obj = body;
	if (str_starts_with(field, "header:")) {
		req_make(&r, (enum who)f, push_event[f], dump(body));
		req_set(&r, field + 7, json_string_value(v));
		json_decref(v);
	} else {
		if ((dot = strchr(field, '.'))) {
			*dot = '\0';
			obj = json_object_get(body, field);
			memmove(field, dot + 1, strlen(dot + 1) + 1);
		}
		if (v)
			json_object_set_new(obj, field, v);
		else
			json_object_del(obj, field);
		req_make(&r, (enum who)f, push_event[f], dump(body));
	}
	memset(&w, 0xa5, sizeof(w));
	if (webhook_parse(&w, req_header, &r, r.body, r.len, MAX_BODY, SECRET, &e) == 0) {
		const char *got[] = { w.ref, w.repo, w.clone_url, w.after, w.delivery };

		if (strncmp(want, "ok", 2))
			fail_msg("cases.txt:%d: accepted", lineno);
		want += 2 + strspn(want + 2, " ");
		for (k = 0; *want && k < ARRAY_SIZE(keys); k++)
			if (str_starts_with(want, keys[k]) && want[strlen(keys[k])] == ' ')
				break;
		if (*want && (k == ARRAY_SIZE(keys) ||
			      strcmp(want + strlen(keys[k]) + 1, got[k])))
			fail_msg("cases.txt:%d: not %s", lineno, want);
		webhook_release(&w);
	} else {
		const char *code = err_code_name(e.code);

		if (!str_starts_with(want, code) || want[strlen(code)] != ' ' ||
		    !strstr(e.msg, want + strlen(code) + 1))
			fail_msg("cases.txt:%d: %s: %s", lineno, code, e.msg);
		check_secrets(&r, &e);
		assert_memory_equal(&w, &zero, sizeof(w));
	}
	req_release(&r);
}

/* Every payload field and header refused or taken as cases.txt says. */
static void test_webhook_cases(void **state)
{
	char line[1024];
	FILE *fp = fopen(DATA_DIR "cases.txt", "r");
	int lineno = 0, cases = 0;

	(void)state;
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp)) {
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		one_case(line, lineno);
		cases++;
	}
	fclose(fp);
	assert_true(cases > 100);
}

#define ZEROS "0000000000000000000000000000000000000000"

static void test_webhook_deleted_branch(void **state)
{
	struct webhook w;
	struct req r;

	(void)state;
	req_patch(&r, GH, "{\"after\": \"" ZEROS "\", \"deleted\": true,"
		  " \"commits\": [], \"head_commit\": null}");
	expect_ok(&r, &w);
	assert_true(w.deleted);
	assert_string_equal(w.after, ZEROS);
	assert_false(w.paths_known);
	webhook_release(&w);
	req_release(&r);
	/* "deleted": true alone */
	req_edit(&r, GITEA, "deleted", json_true());
	expect_ok(&r, &w);
	assert_true(w.deleted);
	webhook_release(&w);
	req_release(&r);
	/* GitLab: all zeros, no commits, checkout_sha null */
	req_patch(&r, GL, "{\"after\": \"" ZEROS "\", \"checkout_sha\": null,"
		  " \"commits\": [], \"total_commits_count\": 0}");
	expect_ok(&r, &w);
	assert_true(w.deleted);
	assert_false(w.paths_known);
	assert_true(json_is_true(json_object_get(w.event_payload, "deleted")));
	webhook_release(&w);
	req_release(&r);
}

/* n commits, commit i touching "f<i % mod>" plus "common", and entries
 * that are not strings. */
static json_t *commits(int n, int mod)
{
	json_t *a = json_array();

	for (int i = 0; i < n; i++) {
		char name[32];

		snprintf(name, sizeof(name), "f%d", i % mod);
		json_array_append_new(a, json_pack("{s:s, s:[s, i], s:[], s:[s, n, {}]}",
						   "id", "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
						   "added", name, 42, "removed",
						   "modified", "common"));
	}
	return a;
}

/* r parses with paths_known as known and n paths; r is released. */
static void expect_known(struct req *r, bool known, size_t n)
{
	struct webhook w;

	expect_ok(r, &w);
	assert_int_equal(w.paths_known, known);
	assert_int_equal(w.paths.n, n);
	webhook_release(&w);
	req_release(r);
}

static void test_webhook_paths_dedupe(void **state)
{
	static const char *const want[] = { "f0", "common", "f1", "f2" };
	struct webhook w;
	struct req r;

	(void)state;
	req_edit(&r, GH, "commits", commits(7, 3));
	expect_ok(&r, &w);
	assert_true(w.paths_known);
	assert_int_equal(w.paths.n, ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		assert_string_equal(w.paths.v[i], want[i]);
	webhook_release(&w);
	req_release(&r);
}

static void test_webhook_paths_unknown(void **state)
{
	struct webhook w;
	struct req r;
	json_t *many;

	(void)state;
	/* a push event lists 2,048 commits at most: 2,048 may be a cut list */
	req_edit(&r, GH, "commits", commits(1, 100));
	expect_known(&r, true, 2);
	req_edit(&r, GH, "commits", commits(2047, 100));
	expect_known(&r, true, 101);
	req_edit(&r, GH, "commits", commits(2048, 100));
	expect_known(&r, false, 0);
	req_edit(&r, GH, "commits", commits(2049, 100));
	expect_known(&r, false, 0);
	/* no commits[]; a commit without any list */
	req_edit(&r, GH, "commits", NULL);
	expect_known(&r, false, 0);
	req_edit(&r, GH, "commits",
		 json_pack("[{s:s}]", "id", "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"));
	expect_known(&r, false, 0);
	/* Gitea's total_commits and GitLab's total_commits_count say more */
	req_edit(&r, GITEA, "total_commits", json_integer(10));
	expect_known(&r, false, 0);
	req_edit(&r, GL, "total_commits_count",
		 json_integer(30));
	expect_ok(&r, &w);
	assert_false(w.paths_known);
	assert_int_equal(w.paths.n, 0);
	/* the translation still lists the commits there are */
	assert_int_equal(json_array_size(json_object_get(w.event_payload, "commits")), 2);
	webhook_release(&w);
	req_release(&r);
	/* 3000 distinct paths are known, 3001 are not */
	for (int n = 2999; n <= 3000; n++) {
		many = json_array();
		for (int i = 0; i < n; i++) {
			char name[32];

			snprintf(name, sizeof(name), "dir/file%d.c", i);
			json_array_append_new(many, json_string(name));
		}
		req_edit(&r, GH, "commits",
			 json_pack("[{s:o, s:[s, s], s:[]}]", "added", many, "modified",
				   "README.md", "dir/file0.c", "removed"));
		expect_known(&r, n == 2999, n == 2999 ? 3000 : 0);
	}
}

/* ---- headers ---- */

/* r parses with delivery want. */
/* GitLab's delivery: X-Gitlab-Event-UUID, else Idempotency-Key, else
 * X-Gitlab-Webhook-UUID; the other forms are in cases.txt. */
static void test_webhook_delivery_id(void **state)
{
	struct req r;

	(void)state;
	req_push(&r, GL);
	req_set(&r, "Idempotency-Key", "idem-1");
	req_set(&r, "X-Gitlab-Webhook-UUID", "hook-1");
	expect_delivery(&r, "gitlab:" GUID);
	req_set(&r, "X-Gitlab-Event-UUID", NULL);
	expect_delivery(&r, "gitlab:idem-1");
	req_set(&r, "Idempotency-Key", NULL);
	expect_delivery(&r, "gitlab:hook-1");
	req_set(&r, "X-Gitlab-Webhook-UUID", "bad id");
	expect_fail(&r, ERR_INVALID, "X-Gitlab-Webhook-UUID header is not");
	req_set(&r, "X-Gitlab-Webhook-UUID", NULL);
	expect_fail(&r, ERR_INVALID,
		    "no X-Gitlab-Event-UUID, Idempotency-Key or X-Gitlab-Webhook-UUID header");
	req_release(&r);
}

/* Header names in any case; values as sent. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_webhook_cases),
		cmocka_unit_test(test_webhook_deleted_branch),
		cmocka_unit_test(test_webhook_paths_dedupe),
		cmocka_unit_test(test_webhook_paths_unknown),
		cmocka_unit_test(test_webhook_delivery_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
