/*
 * jobenv: what surrounds a job instance's steps: the runner context, the
 * run defaults, the plan's header, the job's outputs (secrets skipped),
 * the event file and the job's sandbox.
 */
#include "job_int.h"
#include "oidc.h"
#include "../lib/mask.h"
#include "../lib/fs.h"
#include "../lib/jsonx.h"
#include "../lib/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char hostname_buf[256];

static void hostname_init(void)
{
	if (gethostname(hostname_buf, sizeof(hostname_buf) - 1) < 0 || !hostname_buf[0])
		snprintf(hostname_buf, sizeof(hostname_buf), "gantry");
}

json_t *jobenv_runner_ctx(struct jobrun *jr)
{
	json_t *r = json_object();
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, hostname_init);
	jsonx_set_str(r, "name", hostname_buf);
	jsonx_set_str(r, "os", "Linux");
#if defined(__aarch64__)
	jsonx_set_str(r, "arch", "ARM64");
#else
	jsonx_set_str(r, "arch", "X64");
#endif
	jsonx_set_str(r, "temp", jr->temp);
	jsonx_set_str(r, "tool_cache", jr->run->o->tool_cache);
	jsonx_set_str(r, "environment", "self-hosted");
	if (getenv("RUNNER_DEBUG") && !strcmp(getenv("RUNNER_DEBUG"), "1"))
		jsonx_set_str(r, "debug", "1");
	return r;
}

void jobenv_defaults(struct jobrun *jr, const struct expr_env *xe)
{
	const struct yml_node *d[2] = { jr->job->defaults_run, jr->run->wf->defaults_run };
	struct err e = ERR_INIT;

	for (int i = 0; i < 2; i++) {
		const struct yml_node *sh = d[i] ? yml_get(d[i], "shell") : NULL;
		const struct yml_node *wd = d[i] ? yml_get(d[i], "working-directory") : NULL;

		if (!jr->shell_default && sh && !yml_is_null(sh))
			eval_str(&jr->shell_default, sh, xe, &e);
		if (!jr->workdir_default && wd && !yml_is_null(wd))
			eval_str(&jr->workdir_default, wd, xe, &e);
	}
}

void jobenv_plan_header(struct jobrun *jr, const struct expr_env *xe)
{
	const struct yml_node *ro = jr->job->runs_on;
	char *s = NULL;
	struct err e = ERR_INIT;

	if (jr->job->n_needs) {
		struct buf nb = BUF_INIT;

		for (size_t i = 0; i < jr->job->n_needs; i++)
			buf_printf(&nb, "%s%s", i ? ", " : "", jr->job->needs[i]);
		stepio_say(jr, OUT_INFO, NULL, "job %s (needs: %s)", jr->in->label, nb.ptr);
		buf_release(&nb);
	} else {
		stepio_say(jr, OUT_INFO, NULL, "job %s", jr->in->label);
	}
	if (ro && ro->kind == YML_SCALAR && eval_str(&s, ro, xe, &e) >= 0 && s) {
		stepio_say(jr, OUT_DIM, NULL, "  runs-on: %s (runs on this machine)", s);
	} else if (ro) {
		json_t *j = yml_to_json(ro);
		char *d = jsonx_dump(j, 0);

		stepio_say(jr, OUT_DIM, NULL, "  runs-on: %s (runs on this machine)", d);
		free(d);
		json_decref(j);
	}
	free(s);
	if (jr->in->matrix) {
		char *d = jsonx_dump(jr->in->matrix, 0);

		stepio_say(jr, OUT_DIM, NULL, "  matrix: %s", d);
		free(d);
	}
	if (json_object_size(jr->env)) {
		const char *k;
		json_t *v;

		stepio_say(jr, OUT_DIM, NULL, "  env:");
		json_object_foreach(jr->env, k, v)
			stepio_say(jr, OUT_DIM, NULL, "    %s=%s", k, json_string_value(v));
	}
	if (jr->shell_default)
		stepio_say(jr, OUT_DIM, NULL, "  defaults.run.shell: %s", jr->shell_default);
	if (jr->workdir_default)
		stepio_say(jr, OUT_DIM, NULL, "  defaults.run.working-directory: %s", jr->workdir_default);
}

void jobenv_outputs(struct jobrun *jr, const struct expr_env *xe)
{
	const struct yml_node *o = jr->job->outputs;
	struct err e = ERR_INIT;

	if (!o || o->kind != YML_MAP)
		return;
	for (size_t i = 0; i < o->n_pairs; i++) {
		char *s = NULL;
		int r = eval_str(&s, o->pairs[i].val, xe, &e);

		if (r < 0) {
			stepio_say(jr, OUT_WARN, jr->prefix, "Warning: output %s: %s",
			    o->pairs[i].key->str, e.msg);
			continue;
		}
		if (dry(jr)) {
			stepio_say(jr, OUT_DIM, NULL, "  output %s = %s", o->pairs[i].key->str,
			    s ? s : "");
		}
		if (!dry(jr) && s) {
			char *m = mask_str(jr->run->o->mask, s);
			bool secret = strcmp(m, s) != 0;

			free(m);
			if (secret) {
				/* as GitHub: outputs carrying a secret are not passed on */
				stepio_say(jr, OUT_WARN, jr->prefix, "Warning: output %s is skipped "
					   "since it may contain a secret", o->pairs[i].key->str);
				free(s);
				continue;
			}
		}
		jsonx_set_str(jr->in->outputs, o->pairs[i].key->str, s ? s : "");
		free(s);
	}
}

/* GITHUB_EVENT_PATH: a copy in the instance's folder, which the job's
 * sandbox can see (the run's own folder it cannot). */
int jobenv_write_event(struct jobrun *jr, struct err *e)
{
	char *p = xasprintf("%s/event.json", jr->dir);
	char *text = jsonx_dump(jr->run->o->event ? jr->run->o->event : json_object(), 1);
	int r = fs_write_file(p, text, strlen(text), 0600, e);

	free(p);
	free(text);
	return r;
}

int jobenv_sandbox(struct jobrun *jr, struct err *e)
{
	struct sbx_job_opts so = { 0 };

	so.net = jr->run->o->net;
	so.workspace = jr->run->o->workspace;
	so.runner_temp = jr->dir;	/* RUNNER_TEMP and the command files */
	so.tool_cache = jr->run->o->tool_cache;
	so.hide = jr->run->o->hide;
	/* work trees borrow the mirrors' objects (alternates); and DNS, where
	 * /etc/resolv.conf points into /run, which the job gets empty */
	{
		size_t n = 0;
		char *rc = fs_realpath("/etc/resolv.conf");

		if (jr->run->o->cache_dir)
			jr->ro[n++] = jr->run->o->cache_dir;
		if (rc && str_starts_with(rc, "/run/")) {
			jr->resolv_dir = fs_dirname(rc);
			jr->ro[n++] = jr->resolv_dir;
		}
		free(rc);
		jr->ro[n] = NULL;
		so.ro = jr->ro;
	}
	so.limits = jr->run->o->limits;
	if (sbx_job_new_from(&jr->sbx, sbx_pool_take(jr->run->o->pool), &so, e) < 0)
		return err_wrap(e, "job %s", jr->in->label);
	return 0;
}

/* environment: NAME | { name: NAME, url: URL } */
static int environment_name(char **out, const struct wf_job *job,
			    const struct expr_env *xe, struct err *e)
{
	const struct yml_node *n = job->environment;

	*out = NULL;
	if (n && n->kind == YML_MAP)
		n = yml_get(n, "name");
	if (!n || yml_is_null(n))
		return 0;
	return eval_str(out, n, xe, e);
}

int jobenv_oidc(struct jobrun *jr, const struct expr_env *xe, struct err *e)
{
	struct run *r = jr->run;
	char *envname = NULL;
	int rc = -1;

	if (!oidc_permitted(r->wf->permissions, jr->job->permissions))
		return 0;
	if (environment_name(&envname, jr->job, xe, e) < 0)
		return -1;
	jr->oidc_claims = oidc_job_claims(json_object_get(jr->ctx, "github"),
					  envname, NULL);
	if (dry(jr) || !r->o->oidc) {
		rc = 0;
		goto done;
	}
	if (oidc_job_register(r->o->oidc, jr->oidc_claims, r->o->mask, &jr->oidc_url,
			      &jr->oidc_bearer, e) < 0)
		goto done;
	mask_add(r->o->mask, jr->oidc_bearer);
	rc = 0;
done:
	free(envname);
	return rc;
}
