/*
 * agent_config: the daemon's configuration, twelve-factor style.
 *
 * Sources, later ones winning: the built-in defaults; a YAML file
 * (--config), a mapping of sections to mappings of scalar keys; the
 * environment, where SECTION__KEY (upper case, double underscore) sets
 * section.key, and SECTION__KEY_FILE reads the value from a file (one
 * trailing newline dropped), so that secrets stay out of the environment
 * and argv. Setting both KEY and KEY_FILE is an error.
 *
 * Rules that always hold: every key is in one table (agent_config.c), with
 * its type, default and whether it is a secret; an unknown key in the file
 * is an error naming file:line:col; values are checked (numbers in range,
 * enumerations, listen addresses, queue URLs) and an error names the key
 * and where its value came from ("WORKERS__COUNT (environment): ...");
 * secret values never appear in messages or in agent_config_print().
 */
#ifndef GANTRY_AGENT_CONFIG_H
#define GANTRY_AGENT_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "../lib/err.h"

enum on_lost { ON_LOST_REQUEUE, ON_LOST_FAIL };

struct agent_config {
	/* server */
	char *listen;		/* "127.0.0.1:8080"; host may be [v6] or a name */
	char *public_url;	/* links in commit statuses; default http://LISTEN */
	long long max_body;	/* webhook body limit in bytes; default 25 MiB */
	/* data */
	char *data_dir;		/* default $HOME/.local/share/gantry/agent; root: /var/lib/gantry */
	long retention_days;	/* finished runs, their logs and unused git mirrors are
				 * deleted after this many days; 0 keeps everything;
				 * default 30 (reloadable) */
	/* queue */
	char *queue_url;	/* default sqlite://DATA_DIR/queue.db; or postgres://... */
	enum on_lost on_lost;	/* default requeue */
	long lease;		/* seconds an agent's claim lives without heartbeat; default 30 */
	long max_attempts;	/* a run lost this many times fails; default 3 */
	/* agent */
	char *agent_id;		/* default "HOSTNAME/8 hex of SHA-256(data_dir)" */
	/* webhook */
	char *webhook_secret;	/* secret; required */
	/* api */
	char *api_token;	/* secret; NULL: the /runs API refuses every request */
	/* git */
	char *git_token;	/* secret; HTTPS checkouts and commit statuses */
	char *git_ca_bundle;
	/* oidc */
	char *oidc_issuer;	/* NULL: the agent's public_url */
	long oidc_lifetime;	/* seconds; default 600 */
	/* workers */
	long workers;		/* default 2 */
	long grace;		/* seconds SIGTERM waits for running jobs; default 60 */
	long jobs;		/* jobs of one run at once; default 0 (CPUs) */
	char *sandbox;		/* "strict" (default) or "off" */
	char *network;		/* "host" (default), "loopback", "none" */
	char *memory;		/* job memory limit, e.g. "4G" (default) */
	bool prestart;		/* each worker's next run process started ahead; default true */
	/* storage */
	char *artifacts;	/* folder or s3://bucket/prefix; default DATA_DIR/artifacts */
	char *secrets_file;	/* NAME=VALUE lines handed to runs as secrets */
	/* status */
	bool status;		/* post commit statuses when git.token is set; default true */
	char *status_api_url;	/* NULL: from the payload (GitHub) or the forge's URL (Gitea) */
	char *status_context;	/* default "gantry" */
	/* where each key's value came from, for agent_config_print; owned */
	void *sources;
};

/*
 * Load: defaults, then path (NULL: no file), then envp (NULL: environ).
 * Everything in *out is owned and freed by agent_config_release.
 * On error *out is left released.
 */
int agent_config_load(struct agent_config *out, const char *path,
		      char *const *envp, struct err *e);
void agent_config_release(struct agent_config *c);

/* The effective configuration as YAML, one "section:" block per
 * section, each key with its value (secrets as "***" when set) and a
 * comment naming its source: "# default"; "# file PATH:LINE" for a
 * value in the config file; "# file PATH:LINE (secret_file: P)" for a
 * KEY_file there (here webhook.secret_file), P being the file read;
 * "# env NAME" for a variable such as SERVER__LISTEN; "# env NAME_FILE
 * (P)" for one such as WEBHOOK__SECRET_FILE, P being the file read. */
void agent_config_print(const struct agent_config *c, FILE *f);

#endif
