/*
 * gantry run: run or dry-run the workflows of a repository on this
 * machine, with act's flags where act has one.
 */
#include "cli.h"
#include "oidc.h"
#include "report.h"
#include "run_clone.h"
#include "run_args.h"
#include "run_inputs.h"
#include "run_standby.h"
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
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


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

/* What a standby said before it had its run's log (the sandbox's warnings
 * about cgroups, said once per process), into the log now. */
static void replay(int early)
{
	char chunk[4096];
	ssize_t n;

	if (early < 0)
		return;
	if (lseek(early, 0, SEEK_SET) == 0)
		while ((n = read(early, chunk, sizeof(chunk))) > 0)
			if (fs_write_all(2, chunk, (size_t)n) < 0)
				break;
	close(early);
}

/*
 * gantry run --standby=FD (run_standby.h): get ready for a run that is not
 * there yet (the first job's sandbox, libgit2), wait for it, then take its
 * arguments, which req keeps (and its variables, env), as if they had
 * been given. 1: the agent dropped this standby (or --help).
 */
static int standby(struct run_args *a, struct sbx_pool **pool, struct strv *req,
		   struct strv *env, struct err *e)
{
	struct sbx_limits limits;
	int early = memfd_create("gantry-standby", MFD_CLOEXEC);
	int own = fcntl(2, F_DUPFD_CLOEXEC, 3), r;

	/* SIGTERM keeps its default action until the run's handlers are set
	 * (after the checkout and loading), as in any gantry run: a cancel
	 * while it clones ends it at once. What is said before the run
	 * comes is the run's (early); what is said when none comes goes to
	 * the agent's stderr (own), which it was started with */
	if (early >= 0)
		dup2(early, 2);
	run_args_limits(a, &limits);
	if (!a->sandbox_off)
		sbx_pool_start(pool, a->net, &limits);
	if (gitx_init(e) < 0)
		err_clear(e);
	r = run_standby_wait(req, env, a->standby, e);
	if (r == 0) {
		replay(early);
	} else {
		if (own >= 0)
			dup2(own, 2);
		if (early >= 0)
			close(early);
	}
	if (own >= 0)
		close(own);
	if (r != 0)
		return r;
	run_args_release(a);
	run_args_init(a);
	a->env = env;
	r = run_args_parse(a, (int)req->n, req->v, e);
	if (r == 0 && a->standby >= 0)
		return err_set(e, ERR_INVALID, "--standby: a run cannot ask for another standby");
	return r;
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
	struct strv request = STRV_INIT, request_env = STRV_INIT;
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

	run_args_init(&a);
	mask_new(&mask);
	r = run_args_parse(&a, argc, argv, &e);
	if (r == 0 && a.standby >= 0)
		r = standby(&a, &pool, &request, &request_env, &e);
	out_init(&out, stdout, mask);
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
	run_args_limits(&a, &limits);
	/* the first job's sandbox is made while the rest gets ready (the
	 * checkout, loading): its cgroup move waits for the kernel; a
	 * standby made it before the run came */
	if (a.dry_run || a.sandbox_off || a.list || a.graph) {
		sbx_pool_free(pool);
		pool = NULL;
	} else if (!pool) {
		sbx_pool_start(&pool, a.net, &limits);
	}
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
	run_args_release(&a);
	strv_release(&request);
	run_standby_env_release(&request_env);
	json_decref(event);
	json_decref(results);
	json_decref(inputs);
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
