/* Unit tests for agent/webhook.c's requests: each forge's push (branch
 * and tag), ping and ignored events, signatures and GitLab's token, the
 * limits, GitLab's translation to GitHub's shape (the forges' own example
 * payloads in tests/data/webhook, each with the summary of its parse
 * beside it, <name>.want.json), header names in any case, and that no
 * error message quotes the secret, the signature or the token. The
 * payload's fields, paths and delivery IDs: webhook_payload.c. */
#include "webhook_test.h"

static void test_webhook_forge_examples(void **state)
{
	static const struct { enum who who; const char *event, *name; } c[] = {
		{ GH, "push", "github_push" }, { GH, "push", "github_tag" },
		{ GH, "ping", "github_ping" }, { GITEA, "push", "gitea_push" },
		{ FORGEJO, "push", "gitea_push" }, { GL, "Push Hook", "gitlab_push" },
		{ GL, "Tag Push Hook", "gitlab_tag" },
	};
	struct webhook w;
	struct req r;

	(void)state;
	memset(&w, 0, sizeof(w));
	webhook_release(&w);	/* a zeroed one is released */
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		char want_name[64];
		json_t *body = fixture(c[i].name), *got, *want;

		snprintf(want_name, sizeof(want_name), "%s.want", c[i].name);
		want = fixture(want_name);
		req_make(&r, c[i].who, c[i].event, dump(json_incref(body)));
		expect_ok(&r, &w);
		got = summary(&w);
		if (!json_equal(got, want)) {
			char *g = jsonx_dump(got, 1);

			fail_msg("%s: got %s", c[i].name, g);
		}
		if (c[i].who != GL)
			assert_true(json_equal(w.event_payload, body));
		webhook_release(&w);
		webhook_release(&w);	/* idempotent */
		json_decref(got);
		json_decref(want);
		json_decref(body);
		req_release(&r);
	}
	/* a ping is still JSON */
	req_make(&r, GH, "ping", xstrdup("zen"));
	expect_fail(&r, ERR_SYNTAX, "not JSON");
	req_release(&r);
}

static void test_webhook_ignored_events(void **state)
{
	static const struct { enum who who; const char *event, *delivery; } c[] = {
		{ GH, "issues", "github:" GUID },
		{ GH, "pull_request", "github:" GUID },
		{ GITEA, "create", "gitea:" GUID },
		{ FORGEJO, "release", "gitea:" GUID },
		{ GL, "System Hook", "gitlab:" GUID },
		{ GL, "Merge Request Hook", "gitlab:" GUID },
	};
	struct webhook w;
	struct req r;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		/* the body is not looked at */
		req_make(&r, c[i].who, c[i].event, xstrdup("{\"action\": \"opened\""));
		expect_ok(&r, &w);
		assert_int_equal(w.kind, WEBHOOK_IGNORED);
		assert_string_equal(w.event, c[i].event);
		assert_string_equal(w.delivery, c[i].delivery);
		assert_null(w.event_payload);
		webhook_release(&w);
		/* but still signed */
		req_sign_with(&r, c[i].who, "other");
		expect_fail(&r, ERR_AUTH, NULL);
		req_release(&r);
	}
}

static void test_webhook_gitea_with_github_headers(void **state)
{
	struct webhook w;
	struct req r;

	(void)state;
	/* Gitea sends both families: X-GitHub-* decides */
	req_make(&r, GITEA, "push", dump(fixture("gitea_push")));
	req_set(&r, "X-Gitea-Signature", "00");
	req_set(&r, "X-GitHub-Event", "push");
	req_set(&r, "X-GitHub-Delivery", "gh-1");
	req_sign_with(&r, GH, SECRET);
	expect_ok(&r, &w);
	assert_int_equal(w.forge, FORGE_GITHUB);
	assert_string_equal(w.delivery, "github:gh-1");
	assert_string_equal(w.repo, "acme/rocket");
	assert_string_equal(w.sender, "jane");
	webhook_release(&w);
	/* and its signature must be right */
	req_set(&r, "X-Hub-Signature-256", NULL);
	req_sign_with(&r, GITEA, SECRET);
	expect_fail(&r, ERR_AUTH, "X-Hub-Signature-256");
	req_release(&r);
}

/* ---- signatures and the token ---- */

static void upper(char *s)
{
	for (; *s; s++)
		if (*s >= 'a' && *s <= 'f')
			*s = (char)(*s - 'a' + 'A');
}

/* The headers' forms are in cases.txt; here the signature is well formed
 * but over something else. */
static void test_webhook_signature_refused(void **state)
{
	struct req r;

	(void)state;
	req_push(&r, GH);
	req_sign_with(&r, GH, "It's a Secret to Everybody");
	expect_fail(&r, ERR_AUTH, "does not match");
	req_sign_with(&r, GH, SECRET);
	r.len--;	/* the body's last byte cut off after signing */
	expect_fail(&r, ERR_AUTH, "does not match");
	req_release(&r);
}

/* Whatever is refused, the message quotes neither the secret nor the
 * signature or token sent (expect_fail checks every message so; here the
 * values are made of the secret). */
static void test_webhook_secrets_absent(void **state)
{
	static const char *const tokens[] = {
		SECRET "x", "x" SECRET, SECRET SECRET, "sha256=" SECRET };
	char hex[65];
	struct req r;

	(void)state;
	for (int who = GH; who <= GL; who++) {
		for (size_t i = 0; i < ARRAY_SIZE(tokens); i++) {
			req_push(&r, (enum who)who);
			req_set(&r, r.name[r.n - 1], tokens[i]);
			expect_fail(&r, ERR_AUTH, NULL);
			req_release(&r);
		}
		/* right, but for another body */
		req_push(&r, (enum who)who);
		webhook_hmac_hex(hex, SECRET, "{}", 2);
		req_set(&r, r.name[r.n - 1], who == GL ? SECRET "\n" : hex);
		expect_fail(&r, ERR_AUTH, NULL);
		req_release(&r);
	}
	/* a payload signed right may hold the secret: masked */
	req_edit(&r, GH, "ref", json_string("refs/heads/x:" SECRET));
	expect_fail(&r, ERR_INVALID, "'ref': 'refs/heads/x:***': not a valid git ref name");
	req_release(&r);
	req_make(&r, GL, "Push Hook", xstrdup("{\"ref\": " SECRET "}"));
	expect_fail(&r, ERR_SYNTAX, "not JSON: line 1 column");
	req_release(&r);
}

/* Upper-case hex, and prefix, are the same signature. */
static void test_webhook_signature_case(void **state)
{
	char hex[65], v[80];
	struct webhook w;
	struct req r;

	(void)state;
	for (int who = GH; who <= GITEA; who++) {
		req_push(&r, (enum who)who);
		webhook_hmac_hex(hex, SECRET, r.body, r.len);
		upper(hex);
		snprintf(v, sizeof(v), "%s%s", who == GH ? "SHA256=" : "", hex);
		req_set(&r, r.name[r.n - 1], v);
		expect_ok(&r, &w);
		webhook_release(&w);
		req_release(&r);
	}
}

static void test_webhook_hmac_vectors(void **state)
{
	char hex[65];

	(void)state;
	/* RFC 4231 test case 2 */
	webhook_hmac_hex(hex, "Jefe", "what do ya want for nothing?", 28);
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* GitHub's documentation of X-Hub-Signature-256 */
	webhook_hmac_hex(hex, "It's a Secret to Everybody", "Hello, World!", 13);
	assert_string_equal(hex, "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
}

/* ---- the body ---- */

static void test_webhook_limits(void **state)
{
	struct webhook w;
	struct req r;

	(void)state;
	req_push(&r, GH);
	expect_fail_max(&r, r.len - 1, ERR_LIMIT, "over the limit");
	/* exactly at the limit is fine */
	assert_int_equal(webhook_parse(&w, req_header, &r, r.body, r.len, r.len,
				       SECRET, NULL), 0);
	webhook_release(&w);
	/* the size comes before anything else: no headers at all */
	while (r.n)
		req_set(&r, r.name[0], NULL);
	expect_fail_max(&r, 10, ERR_LIMIT, "over the limit");
	req_release(&r);
}

/* {"zen": "[[{{", "a": ...} with the object and arrays depth levels */
static char *nested(int depth)
{
	char open[80] = "", close[80] = "";

	memset(open, '[', (size_t)depth - 1);
	memset(close, ']', (size_t)depth - 1);
	return xasprintf("{\"zen\": \"[[{{\", \"a\": %s%s}", open, close);
}

static void test_webhook_not_json(void **state)
{
	static const struct { const char *body, *needle; } c[] = {
		{ "", "not JSON" }, { "push", "not JSON" },
		{ "{\"ref\": \"refs/heads/main\",", "not JSON" },
		{ "{\"a\": 1} x", "not JSON" }, { "{\"a\": \"\\u0000\"}", "not JSON" },
		{ "\xff\xfe{}", "not JSON" }, { "[]", "not an object" },
		{ "[{\"ref\": \"refs/heads/main\"}]", "not an object" },
		{ "\"x\"", "not an object" }, { "42", "not an object" },
		{ "null", "not an object" },
	};
	struct webhook w;
	struct req r;
	char *text;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		req_make(&r, i % 2 ? GITEA : GH, "push", xstrdup(c[i].body));
		expect_fail(&r, ERR_SYNTAX, c[i].needle);
		req_release(&r);
	}
	/* the example cut in half */
	text = dump(fixture("gitlab_push"));
	text[strlen(text) / 2] = '\0';
	req_make(&r, GL, "Push Hook", text);
	expect_fail(&r, ERR_SYNTAX, "not JSON");
	req_release(&r);
	/* 64 levels are fine, 65 are not; brackets in strings do not count */
	req_make(&r, GH, "ping", nested(64));
	expect_ok(&r, &w);
	webhook_release(&w);
	req_release(&r);
	req_make(&r, GH, "ping", nested(65));
	expect_fail(&r, ERR_SYNTAX, "deeper than 64");
	req_release(&r);
}

static void test_webhook_header_case(void **state)
{
	static const char *const want[] = {
		"github:" GUID, "gitea:" GUID, "gitea:" GUID, "gitlab:" GUID };
	struct webhook w;
	struct req r;

	(void)state;
	for (int who = GH; who <= GL; who++) {
		req_push(&r, (enum who)who);
		for (size_t i = 0; i < r.n; i++)
			for (char *p = r.name[i]; *p; p++)
				*p = (char)(i % 2 ? toupper((unsigned char)*p) :
					    tolower((unsigned char)*p));
		expect_delivery(&r, want[who]);
		req_release(&r);
	}
	/* the event's value is not case-folded */
	req_push(&r, GL);
	req_set(&r, "X-Gitlab-Event", "push hook");
	expect_ok(&r, &w);
	assert_int_equal(w.kind, WEBHOOK_IGNORED);
	webhook_release(&w);
	req_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_webhook_forge_examples),
		cmocka_unit_test(test_webhook_ignored_events),
		cmocka_unit_test(test_webhook_gitea_with_github_headers),
		cmocka_unit_test(test_webhook_signature_refused),
		cmocka_unit_test(test_webhook_signature_case),
		cmocka_unit_test(test_webhook_secrets_absent),
		cmocka_unit_test(test_webhook_hmac_vectors),
		cmocka_unit_test(test_webhook_limits),
		cmocka_unit_test(test_webhook_not_json),
		cmocka_unit_test(test_webhook_header_case),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
