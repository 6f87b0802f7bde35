/* What the webhook tests (webhook.c: requests, forges, signatures,
 * limits; webhook_payload.c: payload fields, paths, deliveries) share: a
 * request to build, sign and edit, the forges' example payloads, and
 * checks that every refusal quotes no secret. */
#ifndef GANTRY_TEST_WEBHOOK_H
#define GANTRY_TEST_WEBHOOK_H

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

static inline const char *req_header(void *ctx, const char *name)
{
	struct req *r = ctx;

	for (size_t i = 0; i < r->n; i++)
		if (!strcasecmp(r->name[i], name))
			return r->value[i];
	return NULL;
}

/* Set, replace (value) or remove (NULL) a header. */
static inline void req_set(struct req *r, const char *name, const char *value)
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

static inline void req_release(struct req *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->name[i]);
		free(r->value[i]);
	}
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* Sign the body for the forge with key into its signature header. */
static inline void req_sign_with(struct req *r, enum who who, const char *key)
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
static inline void req_make(struct req *r, enum who who, const char *event, char *body)
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

static inline json_t *fixture(const char *name)
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
static inline char *dump(json_t *j)
{
	char *s = jsonx_dump(j, 0);

	json_decref(j);
	return s;
}

/* The forge's example push, signed. */
static inline void req_push(struct req *r, enum who who)
{
	req_make(r, who, push_event[who], dump(fixture(push_fixture[who])));
}

/* The forge's example push with the members of the JSON object text
 * patch set at its top level, signed. */
static inline void req_patch(struct req *r, enum who who, const char *patch)
{
	json_t *j = fixture(push_fixture[who]), *p = json_loads(patch, 0, NULL);

	assert_non_null(p);
	json_object_update(j, p);
	json_decref(p);
	req_make(r, who, push_event[who], dump(j));
}

/* The forge's example push with key = v (NULL: removed), signed. */
static inline void req_edit(struct req *r, enum who who, const char *key, json_t *v)
{
	json_t *j = fixture(push_fixture[who]);

	if (v)
		json_object_set_new(j, key, v);
	else
		json_object_del(j, key);
	req_make(r, who, push_event[who], dump(j));
}

static inline void expect_ok(struct req *r, struct webhook *w)
{
	struct err e = ERR_INIT;

	if (webhook_parse(w, req_header, r, r->body, r->len, MAX_BODY, SECRET, &e))
		fail_msg("refused: %s", e.msg);
}

/* None of the secret, the signature or the token, nor the right HMAC. */
static inline void check_secrets(const struct req *r, const struct err *e)
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
static inline void expect_fail_max(struct req *r, size_t max, enum err_code code,
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

static inline void expect_fail(struct req *r, enum err_code code, const char *needle)
{
	expect_fail_max(r, MAX_BODY, code, needle);
}

/* ---- each forge ---- */

/* What a parse gave, as JSON, to compare with a .want.json file. */
static inline json_t *summary(const struct webhook *w)
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


static inline void expect_delivery(struct req *r, const char *want)
{
	struct webhook w;

	expect_ok(r, &w);
	assert_string_equal(w.delivery, want);
	webhook_release(&w);
}

#endif
