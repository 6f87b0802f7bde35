/*
 * forge_status: a run's commit status, in two processes. The agent
 * (forge_status.c, forge_status_post in agent.h) makes the request from
 * its configuration and the run, and hands it to a short-lived `gantry
 * __forge-status` on that child's stdin; the child (forge_status_send.c)
 * checks where it would go, posts it with libcurl and answers on its
 * stdout. So the agent process never calls libcurl, and the token is
 * never in a child's argv or environment.
 *
 * The request: "GFS1" and NUL, then "key=value" strings each ending in
 * NUL, a key at most once; a key left out is NULL. The answer: the
 * err_code as a decimal string (0: posted), NUL, one line (the line to
 * log, or the error's message), NUL. Both are capped (FORGE_STATUS_REQ_MAX,
 * FORGE_STATUS_ANSWER_MAX).
 */
#ifndef GANTRY_FORGE_STATUS_H
#define GANTRY_FORGE_STATUS_H

#include "webhook.h"	/* enum forge */
#include "../lib/buf.h"
#include "../lib/err.h"

#include <stdbool.h>

struct forge_status_call;	/* a child at work (forge_status.c) */

#define FORGE_STATUS_REQ_MAX (256U << 10)
#define FORGE_STATUS_ANSWER_MAX (ERR_MSG_MAX + 32)
/* curl's limits for one attempt; there are two, 1 s apart */
#define FORGE_STATUS_CONNECT_S 10
#define FORGE_STATUS_ATTEMPT_S 20
/* how long the agent waits for the child's answer: both attempts, the
 * pause and a margin for the process's start */
#define FORGE_STATUS_DEADLINE_MS ((2 * FORGE_STATUS_ATTEMPT_S + 1 + 15) * 1000)

/* Every string owned; the token is wiped by forge_status_req_release. */
struct forge_status_req {
	enum forge forge;
	char *state;		/* the forge's own word (forge_status_state);
				 * NULL: "error" (GitLab: "failed") */
	char *description;	/* NULL: none */
	char *target_url;	/* the run's page; NULL: none */
	char *context;
	char *repo, *sha;	/* as the run has them: not checked yet */
	char *ref;		/* GitLab: the branch or tag (refs/... less its
				 * prefix); NULL: none */
	char *url;		/* where to post it; NULL: none could be made */
	char *clone_url;	/* the token may go to its host ("api." + it), */
	char *api_url;		/* and to status.api_url's host (may be NULL) */
	char *ca_bundle;	/* NULL: the system's */
	char *token;
};

void forge_status_req_release(struct forge_status_req *q);
/* The forge's word for a run's state, given as GitHub's ("pending",
 * "success", "failure", "error") or "cancelled": GitHub and Gitea show a
 * cancelled run as "error"; GitLab's words are "running", "success",
 * "failed" and "canceled". */
const char *forge_status_state(enum forge f, const char *state);
/* The request as bytes, added to out (the caller wipes and releases it). */
void forge_status_req_encode(struct buf *out, const struct forge_status_req *q);
/* Fill out (zeroed first) from p[0..len); -1 with e (ERR_SYNTAX) when it
 * is malformed, out then released. */
int forge_status_req_decode(struct forge_status_req *out, const char *p, size_t len,
			    struct err *e);

/* The agent's side: run `exe __forge-status` with q and wait for its
 * answer at most timeout_ms (then it is killed); it is always reaped.
 * 0 with the line to log in line, or -1 with e: the child's own error,
 * or ERR_SANDBOX (it could not be run, or ended without an answer) or
 * ERR_TIMEOUT. */
int forge_status_child(const char *exe, const struct forge_status_req *q,
		       int timeout_ms, struct buf *line, struct err *e);
/* The same in two halves, so that the caller goes on meanwhile: start
 * (the child started and given the whole request; -1 with e, nothing
 * left running), then finish (the answer, read even after the deadline
 * if it came before it; the child reaped; c freed). */
int forge_status_child_start(struct forge_status_call **out, const char *exe,
			     const struct forge_status_req *q, int timeout_ms,
			     struct err *e);
int forge_status_child_finish(struct forge_status_call *c, struct buf *line,
			      struct err *e);

/* The child's side (libcurl): check where q would go, then post it.
 * 0 with the line to log in line ("commit status: STATE posted to HOST"),
 * or -1 with e, whose message is also the line to log. */
int forge_status_send(const struct forge_status_req *q, struct buf *line,
		      struct err *e);

#endif
