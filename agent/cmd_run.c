/*
 * gantry run: run or dry-run the workflows of a repository on this
 * machine, with act's flags where act has one.
 */
#include "cli.h"
#include "oidc.h"
#include "report.h"
#include "run_clone.h"
#include "run_inputs.h"
#include "../lib/git.h"
#include "run.h"
#include "../lib/buf.h"
#include "../lib/fs.h"
#include "../lib/jsonx.h"
#include "../lib/log.h"
#include "../lib/mask.h"
#include "../lib/util.h"
#include "../steps/step.h"
#include "../workflows/filter.h"

#include <dirent.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
	struct strv hide;
	int jobs;
	json_t *secrets, *vars, *inputs;
};

/* The workflow files at path: the file itself, or the .yml and .yaml files in it. */
static int workflow_files(struct strv *out, const char *path, struct err *e)
{
	DIR *d;
	struct dirent *de;

	if (!fs_is_dir(path)) {
		if (!fs_exists(path))
			return err_set(e, ERR_NOT_FOUND, "%s: no such file or folder", path);
		strv_push(out, path);
		return 0;
	}
	d = opendir(path);
	if (!d)
		return err_sys(e, ERR_IO, "cannot read %s", path);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (str_ends_with(de->d_name, ".yml") || str_ends_with(de->d_name, ".yaml"))
			strv_push_owned(out, fs_join(path, de->d_name));
	}
	closedir(d);
	strv_sort(out, 0);
	if (!out->n)
		return err_set(e, ERR_NOT_FOUND, "no workflow files (*.yml, *.yaml) in %s", path);
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	cancel_request();
}

/* 512, 64K, 512M, 4G (powers of 1024). */
static int parse_size(const char *s, long long *out)
{
	char *end;
	double v = strtod(s, &end);
	long long mul = 1;

	if (end == s || v < 0)
		return -1;
	switch (*end) {
	case 'k': case 'K': mul = 1LL << 10; end++; break;
	case 'm': case 'M': mul = 1LL << 20; end++; break;
	case 'g': case 'G': mul = 1LL << 30; end++; break;
	case 't': case 'T': mul = 1LL << 40; end++; break;
	default: break;
	}
	if (*end == 'i' || *end == 'B' || *end == 'b')
		end++;
	if (*end || v * (double)mul > 9e18)
		return -1;
	*out = (long long)(v * (double)mul);
	return 0;
}

/* path made absolute against the current folder (it may not exist yet). */
static char *abs_path(const char *path)
{
	char cwd[4096];

	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return xstrdup(path);
	return fs_join(cwd, path);
}

/* Whether a job of wf may ask for OIDC tokens (a called workflow's jobs
 * too: the issuer is opened for any call, it costs one key read). */
static bool wants_oidc(const struct workflow *wf)
{
	for (size_t i = 0; i < wf->n_jobs; i++)
		if (wf->jobs[i].uses ||
		    oidc_permitted(wf->permissions, wf->jobs[i].permissions))
			return true;
	return false;
}

static int parse_args(struct run_args *a, int argc, char **argv, struct err *e)
{
	enum { O_EVENT = 256, O_SECRET_FILE, O_VAR, O_VAR_FILE, O_INPUT, O_GRAPH,
	       O_JOBS, O_JSON, O_SERVER, O_KEEP, O_SANDBOX, O_NETWORK, O_MEMORY,
	       O_PIDS, O_CACHE, O_FRESH, O_CA, O_OIDC, O_OIDC_LIFE, O_ARTIFACTS, O_PLAN_REMOTE, O_RUN_ID, O_HIDE, O_CLONE, O_SHA };
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
			if (parse_size(optarg, &a->memory) < 0 || a->memory < (16LL << 20))
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

/* --clone: the repository into -C DIR, before anything is loaded */
static int clone_first(const struct run_args *a, const json_t *event,
		       struct out *out, struct err *e)
{
	struct run_clone_opts co = { 0 };
	struct run_clone_result res;
	char *cache = a->cache_dir ? xstrdup(a->cache_dir) : fs_user_cache_dir("git");
	char *red = gitx_redact(a->clone);
	int rc = -1;

	co.url = a->clone;
	co.sha = a->sha;
	co.event = event;
	co.dir = a->dir;
	co.cache_dir = cache;
	co.ca_bundle = a->ca_bundle;
	co.token = jsonx_str(a->secrets, "GITHUB_TOKEN");
	if (!cache)
		err_set(e, ERR_NOT_FOUND, "--clone: no cache folder (HOME is not set; "
			"give --cache-dir)");
	else if (fs_mkdirs(cache, 0700, e) == 0 && run_clone(&res, &co, e) == 0) {
		out_printf(out, OUT_DIM, NULL, "Checked out %.12s of %s in %lld ms%s", res.sha,
			   red, res.ms, res.fetched ? " (fetched)" : " (the mirror had it)");
		rc = 0;
	}
	free(cache);
	free(red);
	return rc;
}

int cmd_run(int argc, char **argv)
{
	struct run_args a = { 0 };
	struct err e = ERR_INIT;
	struct strv files = STRV_INIT, hide = STRV_INIT;
	struct workflow **wfs = NULL;
	struct mask *mask = NULL;
	struct oidc_issuer *oidc = NULL;
	char *artifact_store = NULL;
	struct out out;
	struct run_opts o = { 0 };
	struct sbx_limits limits;
	struct sbx_pool *pool = NULL;
	json_t *event = NULL, *results = json_array(), *inputs = NULL;
	char *workspace = NULL, *wpath = NULL, *temp = NULL, *tool_cache = NULL;
	char *fresh_ws = NULL, *cache_dir = NULL;
	size_t n_selected = 0;
	struct strv paths = STRV_INIT;
	bool paths_known = false, paths_done = false;
	bool invalid = false, any_fail = false;
	int ret = 2, r;
	const char *k;
	json_t *v;

	a.secrets = json_object();
	a.vars = json_object();
	a.inputs = json_object();
	mask_new(&mask);
	out_init(&out, stdout, mask);
	r = parse_args(&a, argc, argv, &e);
	/* secrets are masked from the moment they are known */
	json_object_foreach(a.secrets, k, v)
		mask_add(mask, json_string_value(v));
	if (r > 0) {
		ret = 0;
		goto done;
	}
	if (r < 0)
		goto fail;
	if (!a.event)
		a.event = "push";
	if (a.sandbox_off && a.net != SBX_NET_HOST) {
		err_set(&e, ERR_INVALID, "--network %s needs the sandbox: it cannot be used "
			"with --sandbox=off", sbx_net_name(a.net));
		goto fail;
	}
	out.buffered = a.dry_run && !out.tty;
	if (a.event_path) {
		struct buf b = BUF_INIT;
		json_error_t je;

		buf_init(&b, 25 << 20);
		if (fs_read_file(&b, a.event_path, &e) < 0) {
			buf_release(&b);
			goto fail;
		}
		event = json_loadb(b.ptr, b.len, 0, &je);
		buf_release(&b);
		if (!json_is_object(event)) {
			err_set(&e, ERR_SYNTAX, "%s:%d:%d: the event payload must be a JSON object%s%s",
				a.event_path, je.line, je.column, event ? "" : ": ",
				event ? "" : je.text);
			goto fail;
		}
	} else {
		event = json_object();
	}
	sbx_limits_default(&limits);
	if (a.memory)
		limits.memory_bytes = a.memory;
	if (a.pids)
		limits.pids_max = a.pids;
	/* the first job's sandbox is made while the rest gets ready (the
	 * checkout, loading): its cgroup move waits for the kernel */
	if (!a.dry_run && !a.sandbox_off && !a.list && !a.graph)
		sbx_pool_start(&pool, a.net, &limits);
	if (a.clone && clone_first(&a, event, &out, &e) < 0)
		goto fail;
	workspace = fs_realpath(a.dir ? a.dir : ".");
	if (!workspace) {
		err_sys(&e, ERR_NOT_FOUND, "-C %s", a.dir ? a.dir : ".");
		goto fail;
	}
	wpath = fs_join(workspace, a.wpath ? a.wpath : ".github/workflows");
	if (a.wpath && a.wpath[0] != '/' && fs_exists(a.wpath) && !a.dir) {
		free(wpath);
		wpath = fs_realpath(a.wpath);
	}
	if (workflow_files(&files, wpath, &e) < 0)
		goto fail;

	/* load and validate everything before running anything */
	wfs = xcalloc(files.n, sizeof(*wfs));
	for (size_t i = 0; i < files.n; i++) {
		struct wf_load_opts lo = { steps_check_uses, workspace, NULL };
		struct wf_diags d = WF_DIAGS_INIT;
		struct err le = ERR_INIT;

		if (wf_load(&wfs[i], files.v[i], &lo, &d, &le) < 0) {
			if (d.n)
				wf_diags_print(&d, stderr);
			else
				fprintf(stderr, "%s\n", le.msg);
			invalid = true;
		}
		wf_diags_release(&d);
	}
	if (invalid) {
		fprintf(stderr, "gantry: invalid workflow; nothing was run\n");
		goto done;
	}


	if (a.list || a.graph) {
		for (size_t i = 0; i < files.n; i++)
			report_list_jobs(wfs[i], a.graph);
		ret = 0;
		goto done;
	}

	if (fs_mkdtemp(&temp, "gantry-run", &e) < 0)
		goto fail;
	if (getenv("RUNNER_TOOL_CACHE") && *getenv("RUNNER_TOOL_CACHE")) {
		tool_cache = xstrdup(getenv("RUNNER_TOOL_CACHE"));
	} else {
		tool_cache = fs_user_cache_dir("tool-cache");
		if (!tool_cache)
			tool_cache = fs_join(temp, "tool-cache");
	}
	if (!a.dry_run && fs_mkdirs(tool_cache, 0755, &e) < 0) {
		free(tool_cache);
		tool_cache = fs_join(temp, "tool-cache");
		fs_mkdirs(tool_cache, 0755, NULL);
	}

	{
		struct sigaction sa = { 0 };

		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		signal(SIGPIPE, SIG_IGN);
	}
	o.source_dir = workspace;
	o.fresh_checkout = a.fresh;
	if (a.cache_dir) {
		cache_dir = fs_realpath(a.cache_dir);
		if (!cache_dir)
			cache_dir = xstrdup(a.cache_dir);
	} else {
		cache_dir = fs_user_cache_dir("git");
	}
	o.cache_dir = cache_dir;
	if (a.artifact_store && !str_starts_with(a.artifact_store, "s3://"))
		artifact_store = abs_path(a.artifact_store);
	else if (a.artifact_store)
		artifact_store = xstrdup(a.artifact_store);
	else
		artifact_store = fs_join(workspace, ".gantry/artifacts");
	o.artifact_store = artifact_store;
	o.plan_remote = a.plan_remote;
	o.ca_bundle = a.ca_bundle;
	/* made now, so that the job sandboxes can mount it (read-only) */
	if (cache_dir && !a.dry_run)
		fs_mkdirs(cache_dir, 0700, NULL);
	if (a.fresh) {
		/* a clean workspace: actions/checkout fills it from the commit */
		fresh_ws = fs_join(temp, "workspace");
		if (fs_mkdirs(fresh_ws, 0755, &e) < 0)
			goto fail;
		o.workspace = fresh_ws;
	} else {
		o.workspace = workspace;
	}
	o.event_name = a.event;
	o.event = event;
	o.secrets = a.secrets;
	o.vars = a.vars;
	o.mask = mask;
	o.out = &out;
	o.dry_run = a.dry_run;
	o.max_jobs = a.jobs ? a.jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (o.max_jobs < 1)
		o.max_jobs = 1;
	o.only_job = a.job;
	o.temp_root = temp;
	o.server_url = a.server_url;
	o.tool_cache = tool_cache;
	o.run_id = a.run_id ? a.run_id : (long long)time(NULL) * 1000 + (getpid() % 1000);
	o.run_number = a.run_id ? a.run_id : 1;
	o.sandbox = !a.sandbox_off;
	o.net = a.net;
	o.limits = limits;
	o.pool = pool;
	report_hidden_paths(&hide, temp);
	for (size_t i = 0; i < a.hide.n; i++)
		report_hide_path(&hide, a.hide.v[i]);
	o.hide = (const char *const *)hide.v;
	if (a.sandbox_off && !a.dry_run)
		log_warn("--sandbox=off: steps run without isolation, with gantry's rights");
	ret = 0;
	for (size_t i = 0; i < files.n; i++) {
		struct workflow *wf = wfs[i];
		struct filter_event fe = { 0 };
		json_t *summary = NULL;

		fe.name = a.event;
		if (a.event_path) {
			fe.ref = jsonx_str(event, "ref");
			fe.action = jsonx_str(event, "action");
			fe.base_ref = jsonx_str(json_object_get(json_object_get(event,
							"pull_request"), "base"), "ref");
			if (!paths_done) {
				run_event_paths(&paths, &paths_known, event);
				paths_done = true;
			}
			if (paths_known) {
				fe.paths = (const char *const *)paths.v;
				fe.n_paths = paths.n;
			}
		}
		if (!filter_workflow(wf, &fe)) {
			if (files.n == 1 || (a.wpath && !fs_is_dir(wpath)))
				out_printf(&out, OUT_WARN, NULL, "%s does not run on '%s'%s",
					   wf->path, a.event, a.event_path ?
					   " with this event payload" : "");
			continue;
		}
		if (a.job && !wf_find_job(wf, a.job))
			continue;
		n_selected++;
		json_decref(inputs);
		inputs = NULL;
		if (run_dispatch_inputs(&inputs, wf, a.inputs, &e) < 0)
			goto fail;
		if (!strcmp(a.event, "workflow_dispatch") && !json_object_get(event, "inputs")) {
			json_t *evin = json_object();

			json_object_foreach(inputs, k, v) {
				char *s = expr_to_string(v);

				jsonx_set_str(evin, k, s);
				free(s);
			}
			json_object_set_new(event, "inputs", evin);
		}
		o.inputs = inputs;
		if (a.dry_run) {
			out_printf(&out, OUT_INFO, NULL, "Plan of %s on %s (dry run: nothing is run)",
				   wf->path, a.event);
			if (o.sandbox)
				out_printf(&out, OUT_DIM, NULL, "sandbox: strict (namespaces, read-only "
					   "host, seccomp, no capabilities); network: %s; memory: %lld MiB; "
					   "processes: %ld", sbx_net_name(o.net),
					   o.limits.memory_bytes >> 20, o.limits.pids_max);
			else
				out_printf(&out, OUT_DIM, NULL, "sandbox: off (steps run without "
					   "isolation); network: host");
		}
		else
			out_printf(&out, OUT_INFO, NULL, "Running %s on %s", wf->path, a.event);
		if (!oidc && !a.dry_run && wants_oidc(wf)) {
			struct oidc_opts oo = { .issuer = a.oidc_issuer,
						.alg = JWT_RS256,
						.lifetime = a.oidc_lifetime };

			if (oidc_issuer_new(&oidc, &oo, &e) < 0)
				goto fail;
			o.oidc = oidc;
		}
		if (run_workflow(&summary, wf, &o, &e) < 0)
			goto fail;
		if (!a.dry_run)
			report_closing_table(&out, summary);
		if (!strcmp(jsonx_str(summary, "result"), "failure"))
			any_fail = true;
		json_array_append_new(results, summary);
		if (cancel_level() > 0)
			break;
	}
	if (!n_selected) {
		out_printf(&out, OUT_WARN, NULL, "no workflow in %s runs on '%s'%s%s", wpath,
			   a.event, a.job ? " with a job " : "", a.job ? a.job : "");
		ret = a.job ? 2 : 0;
	}
	if (a.json_summary) {
		json_t *s = json_array_size(results) == 1 ? json_array_get(results, 0) : results;

		if (report_write_summary(a.json_summary, s, mask, &e) < 0)
			goto fail;
	}
	if (cancel_level() > 0)
		ret = 130;
	else if (any_fail)
		ret = 1;
	goto done;
fail:
	{
		char *m = mask_str(mask, e.msg);

		fprintf(stderr, "gantry: %s\n", m);
		free(m);
	}
	ret = 2;
done:
	sbx_pool_free(pool);
	oidc_issuer_free(oidc);
	free(artifact_store);
	if (temp && !a.keep_temp)
		fs_remove_tree(temp, NULL);
	else if (temp)
		fprintf(stderr, "gantry: temporary folder kept: %s\n", temp);
	for (size_t i = 0; wfs && i < files.n; i++)
		wf_free(wfs[i]);
	free(wfs);
	strv_release(&files);
	strv_release(&hide);
	strv_release(&paths);
	strv_release(&a.hide);
	json_decref(event);
	json_decref(results);
	json_decref(inputs);
	json_decref(a.secrets);
	json_decref(a.vars);
	json_decref(a.inputs);
	out_release(&out);
	mask_free(mask);
	free(workspace);
	free(wpath);
	free(temp);
	free(tool_cache);
	free(fresh_ws);
	free(cache_dir);
	return ret;
}
