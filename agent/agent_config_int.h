/*
 * agent_config_int: what agent_config.c (the key table, loading, defaults,
 * printing) shares with agent_config_value.c (parsing and checking one
 * value, redacting URLs, quoting for YAML). Not for use outside these two
 * files. The table's entries are struct key; a parsed value travels as a
 * union value whose string, if any, the receiver owns. The value module's
 * functions carry the prefix acv_ ("agent config value"); they never touch
 * the table itself, only the struct key they are handed.
 */
#ifndef GANTRY_AGENT_CONFIG_INT_H
#define GANTRY_AGENT_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "agent_config.h"
#include "../lib/buf.h"

enum key_type { T_STR, T_INT, T_BOOL, T_ENUM, T_SIZE };

#define F_SECRET	0x01	/* never printed, never in a message */
#define F_TEXT		0x02	/* T_ENUM, T_SIZE: kept as text (char *) */
#define F_URL		0x04	/* a URL whose password is hidden when shown */
#define F_REQUIRED	0x08	/* no default: loading fails without it */

struct key {
	const char *section;
	const char *name;
	enum key_type type;
	unsigned flags;
	size_t off;			/* the field in struct agent_config */
	const char *def;		/* default as text; NULL: none or computed */
	int (*compute)(char **out, const struct agent_config *c,
		       char *const *envp, struct buf *why);
	long long min, max;		/* T_INT, T_SIZE range; T_STR: min length */
	const char *const *values;	/* T_ENUM, NULL-terminated */
	int (*check)(const char *val, const char *shown, char **fixed,
		     struct buf *why);	/* T_STR */
};

union value {
	char *s;		/* owned */
	long n;
	long long size;
	bool b;
	int idx;
};

/*
 * Parse raw as k's type into *v (v->s, when set, is owned by the caller);
 * on failure append why to *why (without the value of a secret) and
 * return -1. An empty string unsets an optional string key.
 */
int acv_parse(const struct key *k, const char *raw, union value *v,
	      struct buf *why);

/* url with a password (user:PASS@ or password=...) replaced by ***;
 * the caller owns the result. */
char *acv_redact_url(const char *url);

/* s as a YAML scalar: plain when it reads back the same, else single
 * quoted. s has no control characters (acv_parse refuses them). */
void acv_print_string(FILE *f, const char *s);

/*
 * String keys' checks (struct key's check). shown is what a message may
 * quote of val (NULL for a secret); a check may hand back a rewritten
 * value in *fixed (owned by the caller). 0, or -1 with why filled.
 */
int acv_check_listen(const char *val, const char *shown, char **fixed,
		     struct buf *why);
int acv_check_http_url(const char *val, const char *shown, char **fixed,
		       struct buf *why);
int acv_check_queue_url(const char *val, const char *shown, char **fixed,
			struct buf *why);
int acv_check_abs_dir(const char *val, const char *shown, char **fixed,
		      struct buf *why);

#endif
