/*
 * run_args: the command line of `gantry run`, parsed and checked
 * (run_args.c); the flags are act's where act has one.
 */
#ifndef GANTRY_RUN_ARGS_H
#define GANTRY_RUN_ARGS_H

#include <stdbool.h>

#include <jansson.h>

#include "../lib/err.h"
#include "../lib/strv.h"
#include "../sandbox/sbx.h"

struct run_args {
	const char *wpath;
	const char *job;
	const char *event_path;
	const char *event;
	const char *dir;
	const char *json_summary;
	const char *server_url;
	bool dry_run, list, graph, keep_temp, sandbox_off, fresh;
	const char *cache_dir;
	const char *ca_bundle;
	const char *oidc_issuer;
	long oidc_lifetime;
	const char *artifact_store;
	bool plan_remote;
	enum sbx_net net;
	long long memory;
	long pids;
	long long run_id;
	const char *clone, *sha;
	int standby;		/* --standby=FD, else -1 */
	const struct strv *env;	/* a standby's request's variables, for -s NAME */
	struct strv hide;
	int jobs;
	json_t *secrets, *vars, *inputs;
};

/* Empty arguments (the JSON objects made); run_args_release frees them. */
void run_args_init(struct run_args *a);
void run_args_release(struct run_args *a);
/* The sandbox limits the arguments ask for. */
void run_args_limits(const struct run_args *a, struct sbx_limits *l);
/* Parse argv (argv[0] is "run"): 0; 1 after --help (printed); -1 with e.
 * a keeps pointers into argv. */
int run_args_parse(struct run_args *a, int argc, char **argv, struct err *e);

#endif
