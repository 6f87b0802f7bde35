/*
 * Fuzz target for agent/webhook.c. The first byte chooses the request
 * around the body (the rest of the input):
 *   bits 0-1  forge headers: GitHub, Gitea, Forgejo, GitLab
 *   bits 2-3  event: push ("Push Hook"), ping ("Tag Push Hook" for
 *             GitLab), an ignored one, push again
 *   bits 4-6  signature: right (0-2), right in upper case (3), wrong (4),
 *             missing (5), malformed (6), right with the body one byte
 *             over max_body (7)
 *   bit 7     GitLab's delivery in Idempotency-Key; for the others, the
 *             delivery header missing
 * A right signature is the HMAC of the body with a fixed secret, so most
 * inputs reach the JSON parser and the payload checks. An acceptance must
 * give a webhook whose strings have the documented shape; a refusal must
 * have one of the documented codes, a printable message quoting neither
 * the secret nor the signature, and *out left released.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/webhook.h"
#include "lib/util.h"

#define SECRET	"fuzz-webhook-secret-0123"
#define GUID	"72d3162e-cc78-11e3-81ab-4c9367dc0958"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct hdrs {
	const char *name[4];
	const char *value[4];
	size_t n;
};

static const char *hdr(void *ctx, const char *name)
{
	struct hdrs *h = ctx;

	for (size_t i = 0; i < h->n; i++)
		if (!strcasecmp(h->name[i], name))
			return h->value[i];
	return NULL;
}

static void add(struct hdrs *h, const char *name, const char *value)
{
	h->name[h->n] = name;
	h->value[h->n++] = value;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool lower_hex40(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == 40;
}

static void check_push(const struct webhook *w)
{
	char **sorted;

	if (!w->repo || !w->clone_url || !w->ref || strstr(w->repo, "..") ||
	    strstr(w->ref, "..") || (!str_starts_with(w->ref, "refs/heads/") &&
				     !str_starts_with(w->ref, "refs/tags/")) ||
	    !lower_hex40(w->before) || !lower_hex40(w->after) ||
	    !json_is_object(w->event_payload))
		abort();
	if (w->forge != FORGE_GITLAB && strchr(w->repo, '/') != strrchr(w->repo, '/'))
		abort();
	if (!strcmp(w->after, "0000000000000000000000000000000000000000") && !w->deleted)
		abort();
	if ((!w->paths_known && w->paths.n) || w->paths.n > 3000)
		abort();
	if (w->paths.n && w->paths.v[w->paths.n])
		abort();
	/* no path twice */
	sorted = xcalloc(w->paths.n + 1, sizeof(*sorted));
	if (w->paths.n)
		memcpy(sorted, w->paths.v, w->paths.n * sizeof(*sorted));
	qsort(sorted, w->paths.n, sizeof(*sorted), cmp_str);
	for (size_t i = 1; i < w->paths.n; i++)
		if (!strcmp(sorted[i - 1], sorted[i]) || !*sorted[i])
			abort();
	free(sorted);
}

static void check_message(const struct err *e, const char *sig)
{
	if (!e->msg[0] || strstr(e->msg, SECRET) || (sig && strstr(e->msg, sig)))
		abort();
	for (const char *p = e->msg; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			abort();	/* untrusted text quoted raw */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ev_hdr[] = {
		"X-GitHub-Event", "X-Gitea-Event", "X-Forgejo-Event", "X-Gitlab-Event" };
	static const char *const dl_hdr[] = {
		"X-GitHub-Delivery", "X-Gitea-Delivery", "X-Forgejo-Delivery",
		"X-Gitlab-Event-UUID" };
	static const char *const sig_hdr[] = {
		"X-Hub-Signature-256", "X-Gitea-Signature", "X-Forgejo-Signature",
		"X-Gitlab-Token" };
	static const char *const events[2][4] = {
		{ "push", "ping", "issues", "push" },
		{ "Push Hook", "Tag Push Hook", "System Hook", "Push Hook" },
	};
	static const struct webhook zero;
	unsigned forge, ev, mode;
	const char *body, *event;
	char hex[65], sig[80];
	struct hdrs h = { { NULL }, { NULL }, 0 };
	struct webhook w;
	struct err e = ERR_INIT;
	size_t len, max_body = 1u << 20;
	int rc;

	if (size < 1 || size > (1u << 17))
		return 0;
	forge = data[0] & 3;
	ev = (data[0] >> 2) & 3;
	mode = (data[0] >> 4) & 7;
	body = (const char *)data + 1;
	len = size - 1;
	event = events[forge == 3][ev];
	if (mode == 7 && !len)
		mode = 0;	/* no body can be over a limit */

	add(&h, ev_hdr[forge], event);
	if (forge == 3 && (data[0] & 0x80))
		add(&h, "Idempotency-Key", "idem-1");
	else if (!(data[0] & 0x80))
		add(&h, dl_hdr[forge], GUID);
	webhook_hmac_hex(hex, SECRET, body, len);
	if (forge == 3)
		snprintf(sig, sizeof(sig), "%s", SECRET);
	else
		snprintf(sig, sizeof(sig), "%s%s", forge ? "" : "sha256=", hex);
	switch (mode) {
	case 3:
		for (char *p = sig; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		break;
	case 4:
		sig[strlen(sig) - 1] ^= 1;	/* '0' <-> '1', 'a' <-> '`', ... */
		break;
	case 6:
		sig[strlen(sig) - 2] = '\0';
		break;
	case 7:
		max_body = len ? len - 1 : 0;
		break;
	}
	if (mode != 5)
		add(&h, sig_hdr[forge], sig);

	memset(&w, 0xa5, sizeof(w));
	rc = webhook_parse(&w, hdr, &h, body, len, max_body, SECRET, &e);
	if (rc == 0) {
		bool token_upper = forge == 3 && mode == 3;

		if (e.code != ERR_NONE || mode >= 4 || token_upper)
			abort();	/* a wrong signature accepted */
		if (w.forge != (forge == 0 ? FORGE_GITHUB : forge == 3 ? FORGE_GITLAB :
				FORGE_GITEA) || strcmp(w.event, event) ||
		    !str_starts_with(w.delivery, forge_name(w.forge)) ||
		    w.delivery[strlen(forge_name(w.forge))] != ':')
			abort();
		if (w.kind == WEBHOOK_PUSH)
			check_push(&w);
		else if (w.kind == WEBHOOK_PING ? !json_is_object(w.event_payload) :
			 w.event_payload != NULL)
			abort();
		if (ev == 2 && w.kind != WEBHOOK_IGNORED)
			abort();
	} else {
		switch (e.code) {
		case ERR_AUTH:
			if (mode < 3 || (mode == 3 && forge != 3) || mode == 7)
				abort();	/* a right signature refused */
			break;
		case ERR_LIMIT:
			if (mode != 7)
				abort();
			break;
		case ERR_INVALID:
		case ERR_SYNTAX:
			if ((mode >= 4 && mode != 7) || (mode == 3 && forge == 3))
				abort();	/* parsed before the signature */
			break;
		default:
			abort();
		}
		if (mode == 7 && e.code != ERR_LIMIT)
			abort();
		check_message(&e, forge == 3 ? sig : hex);
		if (memcmp(&w, &zero, sizeof(w)))
			abort();
	}
	webhook_release(&w);
	webhook_release(&w);
	return 0;
}
