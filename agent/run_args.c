/*
 * run_args: the command line of `gantry run` (and what a standby's
 * request gives it, run_standby.h), parsed and checked.
 */
#include "run_args.h"
#include "run_inputs.h"
#include "../lib/fs.h"
#include "../lib/jsonx.h"
#include "../lib/util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char run_usage[] =
"usage: gantry run [options] [EVENT]\n"
"\n"
"Run the workflows of the repository in the current folder that start on\n"
"EVENT (default push), on this machine.\n"
"\n"
"  -W, --workflows PATH     workflow file or folder (default .github/workflows)\n"
"  -j, --job ID             run only this job (and the jobs it needs)\n"
"  -e, --eventpath FILE     the event payload, as JSON\n"
"      --event NAME         the event name (default push)\n"
"  -s, --secret NAME[=VAL]  a secret; without =VAL it is read from the\n"
"                           environment variable NAME (keeps it out of argv)\n"
"      --secret-file FILE   secrets as NAME=VALUE lines\n"
"      --var NAME=VALUE     a configuration variable (vars context)\n"
"      --var-file FILE      variables as NAME=VALUE lines\n"
"      --input NAME=VALUE   a workflow_dispatch input\n"
"  -C, --directory DIR      the repository (default the current folder)\n"
"  -n, --dry-run            print the plan; run nothing, write nothing\n"
"  -l, --list               list the jobs and exit\n"
"      --graph              draw the jobs' needs graph and exit\n"
"      --jobs N             jobs run at once (default: the number of CPUs)\n"
"      --json-summary FILE  write the run's result as JSON\n"
"      --server-url URL     github.server_url (default https://github.com)\n"
"      --keep-temp          keep the run's temporary folder\n"
"      --cache-dir DIR      git mirrors for actions/checkout\n"
"                           (default ~/.cache/gantry/git)\n"
"      --ca-bundle FILE     CA certificates that checkouts trust for HTTPS\n"
"                           (default: the system's; verification is always on)\n"
"      --fresh-checkout     check the repository being run out of its commit into\n"
"                           a clean workspace, instead of using the working tree\n"
"      --oidc-issuer URL    the issuer of jobs' OIDC tokens (id-token: write),\n"
"                           where its discovery document is published (gantry\n"
"                           oidc publish); default: gantry's loopback endpoint\n"
"      --oidc-lifetime S    how long jobs' OIDC tokens live (default 600 s)\n"
"      --plan-remote        with -n: gantry/s3-sync steps read the bucket (read\n"
"                           only) to show what would change\n"
"      --artifact-store DIR|s3://BUCKET/PREFIX\n"
"                           where upload-artifact keeps artifacts (default\n"
"                           .gantry/artifacts in the repository)\n"
"      --sandbox MODE       strict (default): every step in an isolated sandbox,\n"
"                           failing when it cannot be set up; off: no isolation\n"
"      --network MODE       host (default), loopback (only lo) or none\n"
"      --memory SIZE        memory limit of a job, e.g. 512M, 4G (default 4G)\n"
"      --pids N             process limit of a job (default 4096)\n"
"      --run-id N           github.run_id and run_number (default: from the time)\n"
"      --clone URL          check the repository out of URL into -C DIR first\n"
"                           (through the mirror cache), at --sha SHA, else the\n"
"                           event's commit or ref, else the remote's HEAD\n"
"      --sha SHA            the commit --clone checks out\n"
"      --hide PATH          a file or folder no job may see (repeatable; gantry's\n"
"                           state, keys and credentials are always hidden)\n"
"  -h, --help               this help\n"
"\n"
"Exit status: 0 success, 1 a job failed, 2 invalid workflow or usage,\n"
"130 cancelled.\n";

void run_args_init(struct run_args *a)
{
	memset(a, 0, sizeof(*a));
	a->standby = -1;
	a->secrets = json_object();
	a->vars = json_object();
	a->inputs = json_object();
}

void run_args_release(struct run_args *a)
{
	strv_release(&a->hide);
	json_decref(a->secrets);
	json_decref(a->vars);
	json_decref(a->inputs);
}

void run_args_limits(const struct run_args *a, struct sbx_limits *l)
{
	sbx_limits_default(l);
	if (a->memory)
		l->memory_bytes = a->memory;
	if (a->pids)
		l->pids_max = a->pids;
}

int run_args_parse(struct run_args *a, int argc, char **argv, struct err *e)
{
	enum { O_EVENT = 256, O_SECRET_FILE, O_VAR, O_VAR_FILE, O_INPUT, O_GRAPH,
	       O_JOBS, O_JSON, O_SERVER, O_KEEP, O_SANDBOX, O_NETWORK, O_MEMORY,
	       O_PIDS, O_CACHE, O_FRESH, O_CA, O_OIDC, O_OIDC_LIFE, O_ARTIFACTS, O_PLAN_REMOTE, O_RUN_ID, O_HIDE, O_CLONE, O_SHA,
	       O_STANDBY };
	static const struct option opts[] = {
		{ "workflows", required_argument, NULL, 'W' },
		{ "job", required_argument, NULL, 'j' },
		{ "eventpath", required_argument, NULL, 'e' },
		{ "event", required_argument, NULL, O_EVENT },
		{ "secret", required_argument, NULL, 's' },
		{ "secret-file", required_argument, NULL, O_SECRET_FILE },
		{ "var", required_argument, NULL, O_VAR },
		{ "var-file", required_argument, NULL, O_VAR_FILE },
		{ "input", required_argument, NULL, O_INPUT },
		{ "directory", required_argument, NULL, 'C' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "list", no_argument, NULL, 'l' },
		{ "graph", no_argument, NULL, O_GRAPH },
		{ "jobs", required_argument, NULL, O_JOBS },
		{ "json-summary", required_argument, NULL, O_JSON },
		{ "server-url", required_argument, NULL, O_SERVER },
		{ "keep-temp", no_argument, NULL, O_KEEP },
		{ "sandbox", required_argument, NULL, O_SANDBOX },
		{ "network", required_argument, NULL, O_NETWORK },
		{ "memory", required_argument, NULL, O_MEMORY },
		{ "pids", required_argument, NULL, O_PIDS },
		{ "cache-dir", required_argument, NULL, O_CACHE },
		{ "fresh-checkout", no_argument, NULL, O_FRESH },
		{ "ca-bundle", required_argument, NULL, O_CA },
		{ "oidc-issuer", required_argument, NULL, O_OIDC },
		{ "oidc-lifetime", required_argument, NULL, O_OIDC_LIFE },
		{ "artifact-store", required_argument, NULL, O_ARTIFACTS },
		{ "plan-remote", no_argument, NULL, O_PLAN_REMOTE },
		{ "run-id", required_argument, NULL, O_RUN_ID },
		{ "hide", required_argument, NULL, O_HIDE },
		{ "clone", required_argument, NULL, O_CLONE },
		{ "sha", required_argument, NULL, O_SHA },
		{ "standby", required_argument, NULL, O_STANDBY },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	long n;

	optind = 1;
	while ((c = getopt_long(argc, argv, "W:j:e:s:C:nlh", opts, NULL)) != -1) {
		switch (c) {
		case 'W': a->wpath = optarg; break;
		case 'j': a->job = optarg; break;
		case 'e': a->event_path = optarg; break;
		case O_EVENT: a->event = optarg; break;
		case 's':
			/* -s NAME: a standby's request may carry NAME */
			if (a->env && !strchr(optarg, '=') && strv_getenv(a->env, optarg)) {
				jsonx_set_str(a->secrets, optarg, strv_getenv(a->env, optarg));
				break;
			}
			if (run_add_pair(a->secrets, optarg, "--secret", true, e) < 0)
				return -1;
			break;
		case O_SECRET_FILE:
			if (run_read_kv_file(a->secrets, optarg, e) < 0)
				return -1;
			break;
		case O_VAR:
			if (run_add_pair(a->vars, optarg, "--var", false, e) < 0)
				return -1;
			break;
		case O_VAR_FILE:
			if (run_read_kv_file(a->vars, optarg, e) < 0)
				return -1;
			break;
		case O_INPUT:
			if (run_add_pair(a->inputs, optarg, "--input", false, e) < 0)
				return -1;
			break;
		case 'C': a->dir = optarg; break;
		case 'n': a->dry_run = true; break;
		case 'l': a->list = true; break;
		case O_GRAPH: a->graph = true; break;
		case O_JOBS:
			if (str_to_long(optarg, &n) < 0 || n < 1 || n > 1024)
				return err_set(e, ERR_INVALID, "--jobs %s: expected a number "
					       "from 1 to 1024", optarg);
			a->jobs = (int)n;
			break;
		case O_JSON: a->json_summary = optarg; break;
		case O_SERVER: a->server_url = optarg; break;
		case O_KEEP: a->keep_temp = true; break;
		case O_CACHE: a->cache_dir = optarg; break;
		case O_FRESH: a->fresh = true; break;
		case O_OIDC: a->oidc_issuer = optarg; break;
		case O_ARTIFACTS: a->artifact_store = optarg; break;
		case O_PLAN_REMOTE: a->plan_remote = true; break;
		case O_OIDC_LIFE:
			if (str_to_long(optarg, &a->oidc_lifetime) < 0 ||
			    a->oidc_lifetime < 60 || a->oidc_lifetime > 86400)
				return err_set(e, ERR_INVALID, "--oidc-lifetime %s: "
					       "expected seconds from 60 to 86400",
					       optarg);
			break;
		case O_CA:
			if (!fs_exists(optarg))
				return err_set(e, ERR_NOT_FOUND, "--ca-bundle %s: no such file",
					       optarg);
			a->ca_bundle = optarg;
			break;
		case O_SANDBOX:
			if (!strcmp(optarg, "strict"))
				a->sandbox_off = false;
			else if (!strcmp(optarg, "off"))
				a->sandbox_off = true;
			else
				return err_set(e, ERR_INVALID, "--sandbox %s: expected strict or off",
					       optarg);
			break;
		case O_NETWORK:
			if (!strcmp(optarg, "host"))
				a->net = SBX_NET_HOST;
			else if (!strcmp(optarg, "loopback"))
				a->net = SBX_NET_LOOPBACK;
			else if (!strcmp(optarg, "none"))
				a->net = SBX_NET_NONE;
			else
				return err_set(e, ERR_INVALID, "--network %s: expected host, "
					       "loopback or none", optarg);
			break;
		case O_MEMORY:
			if (str_to_size(optarg, &a->memory) < 0 || a->memory < (16LL << 20))
				return err_set(e, ERR_INVALID, "--memory %s: expected a size of "
					       "at least 16M, such as 512M or 4G", optarg);
			break;
		case O_PIDS:
			if (str_to_long(optarg, &n) < 0 || n < 8 || n > 4194304)
				return err_set(e, ERR_INVALID, "--pids %s: expected a number from "
					       "8 to 4194304", optarg);
			a->pids = n;
			break;
		case O_CLONE: a->clone = optarg; break;
		case O_SHA:
			if (strlen(optarg) != 40 || strspn(optarg, "0123456789abcdef") != 40)
				return err_set(e, ERR_INVALID, "--sha %s: expected 40 lowercase "
					       "hex digits", optarg);
			a->sha = optarg;
			break;
		case O_HIDE:
			if (optarg[0] != '/')
				return err_set(e, ERR_INVALID, "--hide %s: expected an absolute "
					       "path", optarg);
			strv_push(&a->hide, optarg);
			break;
		case O_RUN_ID:
			if (str_to_long(optarg, &n) < 0 || n < 1)
				return err_set(e, ERR_INVALID, "--run-id %s: expected a positive "
					       "number", optarg);
			a->run_id = n;
			break;
		case O_STANDBY:
			/* the agent's (run_standby.h); not in --help */
			if (str_to_long(optarg, &n) < 0 || n < 3 || n > 1023)
				return err_set(e, ERR_INVALID, "--standby %s: expected a "
					       "descriptor number", optarg);
			a->standby = (int)n;
			break;
		case 'h':
			fputs(run_usage, stdout);
			return 1;
		default:
			return err_set(e, ERR_INVALID, "see gantry run --help");
		}
	}
	if (optind < argc) {
		if (a->event)
			return err_set(e, ERR_INVALID, "the event is given twice ('%s' and --event %s)",
				       argv[optind], a->event);
		a->event = argv[optind++];
	}
	if (optind < argc)
		return err_set(e, ERR_INVALID, "unexpected argument '%s'", argv[optind]);
	if (a->clone && !a->dir)
		return err_set(e, ERR_INVALID, "--clone needs -C DIR, the folder to check "
			       "the repository out into");
	if (a->sha && !a->clone)
		return err_set(e, ERR_INVALID, "--sha goes with --clone");
	return 0;
}
