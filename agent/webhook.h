/*
 * webhook: what a forge's push webhook says, checked and reduced to one
 * shape whatever the forge.
 *
 * Forges: GitHub (X-GitHub-Event, X-GitHub-Delivery, X-Hub-Signature-256:
 * "sha256=" + hex HMAC-SHA256 of the body), Gitea and Forgejo
 * (X-Gitea-Event / X-Forgejo-Event, X-Gitea-Delivery / X-Forgejo-Delivery,
 * X-Gitea-Signature / X-Forgejo-Signature: hex HMAC-SHA256), GitLab
 * (X-Gitlab-Event "Push Hook" / "Tag Push Hook", X-Gitlab-Token: the
 * secret itself, X-Gitlab-Event-UUID or Idempotency-Key as the delivery).
 * The forge is told by its headers; X-GitHub-* wins when a forge sends
 * several families (Gitea sends GitHub's too).
 *
 * Rules that always hold: the signature (or GitLab's token) is checked,
 * in constant time, before the body is parsed at all; the body is parsed
 * with jansson with a depth limit and only after it is known to be at
 * most the caller's size limit; every string taken from the payload is
 * checked (refs are "refs/heads/..." or "refs/tags/...", SHAs 40 hex,
 * repository names owner/name without "..", URLs http(s) or ssh); a
 * problem gives an error naming the header or JSON field. Nothing here
 * does I/O.
 */
#ifndef GANTRY_WEBHOOK_H
#define GANTRY_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "../lib/err.h"
#include "../lib/strv.h"

enum forge { FORGE_GITHUB, FORGE_GITEA, FORGE_GITLAB };

const char *forge_name(enum forge f);	/* "github", "gitea", "gitlab" */

/* The headers of a request, looked up case-insensitively. */
typedef const char *(*webhook_header_fn)(void *ctx, const char *name);

enum webhook_kind {
	WEBHOOK_PUSH,		/* a push of a branch or tag: becomes a run */
	WEBHOOK_PING,		/* GitHub/Gitea ping, GitLab test: answered, not stored */
	WEBHOOK_IGNORED,	/* an event gantry does not run on (issues, ...) */
};

struct webhook {
	enum forge forge;
	enum webhook_kind kind;
	char *event;		/* the forge's event name as sent ("push", "Push Hook") */
	char *delivery;		/* "github:<X-GitHub-Delivery>"; unique per forge */
	/* push only: */
	char *repo;		/* "owner/name" (GitLab: path_with_namespace) */
	char *clone_url;	/* HTTPS (or ssh) URL to fetch */
	char *html_url;		/* the repository's web page, may be NULL */
	char *statuses_url;	/* GitHub: repository.statuses_url with {sha}; may be NULL */
	char *ref;		/* "refs/heads/main" or "refs/tags/v1" */
	char before[41];	/* 40 hex; all zeros for a new ref */
	char after[41];		/* 40 hex; all zeros for a deleted ref */
	bool deleted;		/* the ref was deleted (after all zeros or "deleted": true) */
	char *sender;		/* login of who pushed, may be NULL */
	char *default_branch;	/* may be NULL */
	/* the files the pushed commits added, modified or removed, from the
	 * payload's commits[] (deduplicated, in first-seen order); unknown
	 * (paths_known false) when the payload lists none or says it cut the
	 * list short */
	struct strv paths;
	bool paths_known;
	/* GitHub's push payload shape for the workflow's github.event: the
	 * body itself for GitHub and Gitea, a translation for GitLab (ref,
	 * before, after, repository.full_name/clone_url/html_url, pusher,
	 * sender, commits, head_commit). New reference. */
	json_t *event_payload;
};

/*
 * Check and parse one delivery. secret is the shared secret (never NULL
 * or empty). Errors, with the HTTP status the caller answers:
 *   ERR_AUTH (401): no signature/token header, a malformed one, or a
 *                   wrong one (the message never contains either value);
 *   ERR_INVALID (400): no event header, no delivery ID where the forge
 *                   always sends one, a payload field missing or bad;
 *   ERR_SYNTAX (400): the body is not JSON (or nested deeper than 64);
 *   ERR_LIMIT (413): len over max_body.
 * An event other than push/tag push/ping is parsed no further and comes
 * back as WEBHOOK_IGNORED with its forge, event and delivery filled.
 * On success *out is filled and owned by the caller (webhook_release).
 */
int webhook_parse(struct webhook *out, webhook_header_fn header, void *ctx,
		  const char *body, size_t len, size_t max_body,
		  const char *secret, struct err *e);
void webhook_release(struct webhook *w);

/* hex HMAC-SHA256(key, data) into out (65 bytes). For tests and tools. */
void webhook_hmac_hex(char out[65], const char *key, const void *data,
		      size_t len);

#endif
