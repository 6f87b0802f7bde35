/*
 * webhook_int: what webhook.c (the request and the payloads) and
 * webhook_check.c (checks of single values, quoting, field errors) share.
 */
#ifndef GANTRY_WEBHOOK_INT_H
#define GANTRY_WEBHOOK_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "../lib/err.h"

#define MAX_DEPTH	64	/* JSON nesting */
#define MAX_DELIVERY	128	/* characters of a delivery ID */
#define MAX_EVENT	64	/* characters of an event name */
#define MAX_REF		255
#define MAX_REPO	255
#define MAX_URL		2048
#define MAX_NAME	255	/* logins, default branch */
#define MAX_PATHS	3000	/* distinct paths before they count as unknown */
#define GITHUB_MAX_COMMITS 2048	/* a push event lists at most this many commits */
#define PATH_SLOTS	8192	/* hash set size: a power of two > 2 * MAX_PATHS */
#define QUOTE_MAX	255	/* characters of a value quoted in a message */
#define QUOTE_BUF	(QUOTE_MAX * 4 + 3)

/* s in single quotes, escaped to printable ASCII, into out; only its
 * length when it is longer than QUOTE_MAX. Returns out. */
const char *wh_quote(char out[QUOTE_BUF], const char *s);
/* n hex digits of s, lower-cased into out (n + 1 bytes); false if not hex. */
bool wh_hex_lower(char *out, const char *s, size_t n);
bool wh_has_ctl(const char *s);
bool wh_delivery_ok(const char *s);
bool wh_event_ok(const char *s);
/* What is wrong with a ref (git's rules), or NULL. */
const char *wh_ref_problem(const char *r);
/* What is wrong with owner/name (groups: GitLab's a/b/c), or NULL. */
const char *wh_repo_problem(const char *s, bool groups);
/* A clone URL (web: only http(s)). */
bool wh_url_ok(const char *s, bool web);
bool wh_name_ok(const char *s);
/* ERR_INVALID "webhook payload field 'FIELD': ...". */
int wh_field_err(struct err *e, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
