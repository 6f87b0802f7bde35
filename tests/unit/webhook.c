/* Unit tests for agent/webhook.c: each forge's push (branch and tag),
 * ping and ignored events, signatures and GitLab's token, the limits, the
 * checks of every payload field, changed paths, GitLab's translation to
 * GitHub's shape, delivery IDs, and that no error message quotes the
 * secret, the signature or the token. Payloads are the forges' own
 * examples in tests/data/webhook, each with the summary of its parse
 * beside it (<name>.want.json); cases.txt changes one field or header of
 * an example per line and says what the parse gives. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/webhook.h"
#include "lib/buf.h"
#include "lib/jsonx.h"
#include "lib/util.h"

#define DATA_DIR "tests/data/webhook/"
#define SECRET "s3cr3t-7f2b9c-hook-key"
#define MAX_BODY (1u << 20)
#define GUID "72d3162e-cc78-11e3-81ab-4c9367dc0958"

enum who { GH, GITEA, FORGEJO, GL };

/* One request: headers (matched case-insensitively, like a server's) and
 * a body. */
struct req {
	char *name[16];		/* owned */
	char *value[16];	/* owned */
	size_t n;
	char *body;		/* owned */
	size_t len;
};

static const char *req_header(void *ctx, const char *name)
{
	struct req *r = ctx;

	for (size_t i = 0; i < r->n; i++)
		if (!strcasecmp(r->name[i], name))
			return r->value[i];
	return NULL;
}

/* Set, replace (value) or remove (NULL) a header. */
static void req_set(struct req *r, const char *name, const char *value)
{
	for (size_t i = 0; i < r->n; i++) {
		if (strcasecmp(r->name[i], name))
			continue;
		free(r->value[i]);
		if (value) {
			r->value[i] = xstrdup(value);
			return;
		}
		free(r->name[i]);
		r->n--;
		r->name[i] = r->name[r->n];
		r->value[i] = r->value[r->n];
		return;
	}
	if (!value)
		return;
	assert_true(r->n < ARRAY_SIZE(r->name));
	r->name[r->n] = xstrdup(name);
	r->value[r->n++] = xstrdup(value);
}

static void req_release(struct req *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->name[i]);
		free(r->value[i]);
	}
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* Sign the body for the forge with key into its signature header. */
static void req_sign_with(struct req *r, enum who who, const char *key)
{
	char hex[65], v[80];

	webhook_hmac_hex(hex, key, r->body, r->len);
	switch (who) {
	case GH:
		snprintf(v, sizeof(v), "sha256=%s", hex);
		req_set(r, "X-Hub-Signature-256", v);
		break;
	case GITEA:
		req_set(r, "X-Gitea-Signature", hex);
		break;
	case FORGEJO:
		req_set(r, "X-Forgejo-Signature", hex);
		break;
	case GL:
		req_set(r, "X-Gitlab-Token", key);
		break;
	}
}

/* A signed request of the forge with event and body (owned by r). */
static void req_make(struct req *r, enum who who, const char *event, char *body)
{
	static const char *const ev[] = {
		"X-GitHub-Event", "X-Gitea-Event", "X-Forgejo-Event", "X-Gitlab-Event" };
	static const char *const dl[] = {
		"X-GitHub-Delivery", "X-Gitea-Delivery", "X-Forgejo-Delivery",
		"X-Gitlab-Event-UUID" };

	memset(r, 0, sizeof(*r));
	r->body = body;
	r->len = strlen(body);
	req_set(r, ev[who], event);
	req_set(r, dl[who], GUID);
	req_sign_with(r, who, SECRET);
}

/* Each forge's push event and example. */
static const char *const push_event[] = { "push", "push", "push", "Push Hook" };
static const char *const push_fixture[] = {
	"github_push", "gitea_push", "gitea_push", "gitlab_push" };

static json_t *fixture(const char *name)
{
	char path[256];
	json_error_t jerr;
	json_t *j;

	snprintf(path, sizeof(path), DATA_DIR "%s.json", name);
	j = json_load_file(path, 0, &jerr);
	if (!j)
		fail_msg("%s: %s", path, jerr.text);
	return j;
}

/* Compact text of j, which is freed. */
static char *dump(json_t *j)
{
	char *s = jsonx_dump(j, 0);

	json_decref(j);
	return s;
}

/* The forge's example push, signed. */
static void req_push(struct req *r, enum who who)
{
	req_make(r, who, push_event[who], dump(fixture(push_fixture[who])));
}

/* The forge's example push with the members of the JSON object text
 * patch set at its top level, signed. */
static void req_patch(struct req *r, enum who who, const char *patch)
{
	json_t *j = fixture(push_fixture[who]), *p = json_loads(patch, 0, NULL);

	assert_non_null(p);
	json_object_update(j, p);
	json_decref(p);
	req_make(r, who, push_event[who], dump(j));
}

/* The forge's example push with key = v (NULL: removed), signed. */
static void req_edit(struct req *r, enum who who, const char *key, json_t *v)
{
	json_t *j = fixture(push_fixture[who]);

	if (v)
		json_object_set_new(j, key, v);
	else
		json_object_del(j, key);
	req_make(r, who, push_event[who], dump(j));
}

static void expect_ok(struct req *r, struct webhook *w)
{
	struct err e = ERR_INIT;

	if (webhook_parse(w, req_header, r, r->body, r->len, MAX_BODY, SECRET, &e))
		fail_msg("refused: %s", e.msg);
}

/* None of the secret, the signature or the token, nor the right HMAC. */
static void check_secrets(const struct req *r, const struct err *e)
{
	static const char *const sig_hdrs[] = {
		"X-Hub-Signature-256", "X-Gitea-Signature", "X-Forgejo-Signature",
		"X-Gitlab-Token" };
	char hex[65];

	assert_null(strstr(e->msg, SECRET));
	webhook_hmac_hex(hex, SECRET, r->body, r->len);
	assert_null(strstr(e->msg, hex));
	for (size_t i = 0; i < r->n; i++)
		for (size_t k = 0; k < ARRAY_SIZE(sig_hdrs); k++)
			if (!strcasecmp(r->name[i], sig_hdrs[k]) &&
			    strlen(r->value[i]) >= 6 && strstr(e->msg, r->value[i]))
				fail_msg("%s value in \"%s\"", sig_hdrs[k], e->msg);
	for (const char *p = e->msg; *p; p++)
		assert_true(*p >= 0x20 && *p <= 0x7e);
}

/* The request is refused with code and a message holding needle; out is
 * left released. */
static void expect_fail_max(struct req *r, size_t max, enum err_code code,
			    const char *needle)
{
	static const struct webhook zero;
	struct webhook w;
	struct err e = ERR_INIT;

	memset(&w, 0xa5, sizeof(w));
	assert_int_equal(webhook_parse(&w, req_header, r, r->body, r->len, max,
				       SECRET, &e), -1);
	if (e.code != code)
		fail_msg("want %s, got %s: %s", err_code_name(code),
			 err_code_name(e.code), e.msg);
	if (needle && !strstr(e.msg, needle))
		fail_msg("want \"%s\" in \"%s\"", needle, e.msg);
	check_secrets(r, &e);
	assert_memory_equal(&w, &zero, sizeof(w));
}

static void expect_fail(struct req *r, enum err_code code, const char *needle)
{
	expect_fail_max(r, MAX_BODY, code, needle);
}

/* ---- each forge ---- */

/* What a parse gave, as JSON, to compare with a .want.json file. */
static json_t *summary(const struct webhook *w)
{
	static const char *const kinds[] = { "push", "ping", "ignored" };
	json_t *j = json_object(), *paths = json_array();
	const struct { const char *k, *v; } s[] = {
		{ "forge", forge_name(w->forge) }, { "kind", kinds[w->kind] },
		{ "event", w->event }, { "delivery", w->delivery },
		{ "repo", w->repo }, { "clone_url", w->clone_url },
		{ "html_url", w->html_url }, { "statuses_url", w->statuses_url },
		{ "ref", w->ref }, { "before", w->before }, { "after", w->after },
		{ "sender", w->sender }, { "default_branch", w->default_branch },
	};

	for (size_t i = 0; i < ARRAY_SIZE(s); i++)
		json_object_set_new(j, s[i].k, s[i].v ? json_string(s[i].v) : json_null());
	json_object_set_new(j, "deleted", json_boolean(w->deleted));
	json_object_set_new(j, "paths_known", json_boolean(w->paths_known));
	for (size_t i = 0; i < w->paths.n; i++)
		json_array_append_new(paths, json_string(w->paths.v[i]));
	json_object_set_new(j, "paths", paths);
	/* GitHub's and Gitea's are the body itself, checked apart */
	if (w->forge == FORGE_GITLAB)
		json_object_set(j, "event_payload", w->event_payload);
	return j;
}

/* Each forge's own example: pushes of a branch and a tag, a ping. */
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
static void expect_delivery(struct req *r, const char *want)
{
	struct webhook w;

	expect_ok(r, &w);
	assert_string_equal(w.delivery, want);
	webhook_release(&w);
}

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
		cmocka_unit_test(test_webhook_cases),
		cmocka_unit_test(test_webhook_deleted_branch),
		cmocka_unit_test(test_webhook_paths_dedupe),
		cmocka_unit_test(test_webhook_paths_unknown),
		cmocka_unit_test(test_webhook_delivery_id),
		cmocka_unit_test(test_webhook_header_case),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
