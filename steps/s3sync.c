/*
 * s3sync: `uses: gantry/s3-sync@v1`, the native sync as a step.
 *   with: source (a folder in the workspace, or s3://...), destination
 *         (s3://bucket/prefix, or a folder), delete (false), exclude and
 *         include (one pattern per line, excludes first, as the CLI
 *         applies them in order), cache-control, checksum (true)
 *   outputs: uploaded, deleted, unchanged, bytes
 * Credentials and region come from the step's environment (what a
 * configure-aws-credentials step left, refreshed by the job), through
 * AWS's chain. The dry run says what it would compare; with
 * `gantry run -n --plan-remote` it lists the bucket (read only, with the
 * credentials gantry itself finds) and prints the exact plan.
 */
#include "step.h"
#include "stepx.h"
#include "../lib/aws/aws.h"
#include "../lib/aws/creds.h"
#include "../lib/aws/s3filter.h"
#include "../lib/aws/s3sync.h"
#include "../lib/fs.h"
#include "../lib/jsonx.h"
#include "../lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACTION "gantry/s3-sync"

static const char *const known_inputs[] = {
	"source", "destination", "delete", "exclude", "include",
	"cache-control", "checksum", NULL,
};

struct ss {
	char *src, *dst, *cache;
	bool del, checksum;
	struct s3filter *filter;
	char *src_abs;
};

static void ss_release(struct ss *o)
{
	free(o->src);
	free(o->dst);
	free(o->cache);
	free(o->src_abs);
	s3filter_free(o->filter);
	memset(o, 0, sizeof(*o));
}

/* Patterns, one a line, blank lines skipped. */
static int add_patterns(struct s3filter *f, const char *text, bool include,
			struct err *e)
{
	int rc = 0;

	for (const char *p = text; p && *p && rc == 0;) {
		const char *nl = strchr(p, '\n');
		char *line = xstrndup(p, nl ? (size_t)(nl - p) : strlen(p));
		char *t = line;
		size_t n;

		while (*t == ' ' || *t == '\t')
			t++;
		n = strlen(t);
		while (n && (t[n - 1] == ' ' || t[n - 1] == '\t' || t[n - 1] == '\r'))
			t[--n] = '\0';
		if (*t && s3filter_add(f, include, t, e) < 0) {
			err_wrap(e, "input %s", include ? "include" : "exclude");
			rc = -1;
		}
		free(line);
		p = nl ? nl + 1 : NULL;
	}
	return rc;
}

static int read_inputs(struct ss *o, struct step_ctx *c, struct err *e)
{
	char *del = NULL, *sum = NULL, *ex = NULL, *in = NULL;
	int rc = -1;

	memset(o, 0, sizeof(*o));
	s3filter_new(&o->filter);
	stepx_check_inputs(c, known_inputs, ACTION);
	if (stepx_input(&o->src, c, "source", NULL, e) < 0 ||
	    stepx_input(&o->dst, c, "destination", NULL, e) < 0 ||
	    stepx_input(&o->cache, c, "cache-control", NULL, e) < 0 ||
	    stepx_input(&del, c, "delete", "false", e) < 0 ||
	    stepx_input(&sum, c, "checksum", "true", e) < 0 ||
	    stepx_input(&ex, c, "exclude", NULL, e) < 0 ||
	    stepx_input(&in, c, "include", NULL, e) < 0)
		goto done;
	if (!o->src || !o->dst) {
		err_set(e, ERR_INVALID, "inputs source and destination are "
			"required (e.g. source: dist, destination: "
			"s3://bucket/site)");
		goto done;
	}
	if (!str_starts_with(o->src, "s3://") && !str_starts_with(o->dst, "s3://")) {
		err_set(e, ERR_INVALID, "source '%s' or destination '%s' must be "
			"an s3:// URL", o->src, o->dst);
		goto done;
	}
	o->del = stepx_truthy(del, false);
	o->checksum = stepx_truthy(sum, true);
	if (add_patterns(o->filter, ex, false, e) < 0 ||
	    add_patterns(o->filter, in, true, e) < 0)
		goto done;
	/* a local side: inside the workspace (gantry reads and writes it
	 * itself, outside the sandbox), links and all */
	{
		char **local = str_starts_with(o->src, "s3://") ? &o->dst : &o->src;

		o->src_abs = **local == '/' ? xstrdup(*local) :
			     fs_join(c->workspace, *local);
		if (**local == '/' || !fs_rel_inside(*local) ||
		    !stepx_inside_job(c, o->src_abs)) {
			err_set(e, ERR_INVALID, "'%s' must be a path inside the "
				"workspace (relative, no .., no link out of it)",
				*local);
			goto done;
		}
	}
	rc = 0;
done:
	free(del);
	free(sum);
	free(ex);
	free(in);
	return rc;
}

static void say_cb(void *arg, const char *line)
{
	stepx_say(arg, "%s", line);
}

static int run_sync(struct step_ctx *c, struct ss *o, const struct strv *env,
		    bool dryrun, struct err *e)
{
	struct aws_credp *cp = NULL;
	struct aws_client *cl = NULL;
	struct aws_chain_opts co = { .env = env };
	struct aws_client_opts ao = { .env = env };
	char *confine = fs_realpath(c->workspace);
	struct s3sync_result r = { 0 };
	bool local_src = !str_starts_with(o->src, "s3://");
	struct s3sync_opts so = {
		.mode = S3SYNC_SYNC,
		.src = local_src ? o->src_abs : o->src,
		.dst = local_src ? o->dst : o->src_abs,
		.delete_ = o->del, .checksum = o->checksum, .dryrun = dryrun,
		.follow_symlinks = true, .filter = o->filter,
		.cache_control = o->cache, .say = say_cb, .arg = c,
		/* outside the sandbox: no link is followed, nothing is
		 * written outside the workspace */
		.confine = confine,
	};
	int rc = -1;

	aws_credp_chain(&cp, &co);
	ao.creds = cp;
	if (aws_client_new(&cl, &ao, e) < 0)
		goto done;
	if (s3sync_run(&r, cl, &so, e) < 0)
		goto done;
	if (!dryrun) {
		char n[32];

		snprintf(n, sizeof(n), "%ld", r.uploaded + r.downloaded + r.copied);
		jsonx_set_str(c->outputs, "uploaded", n);
		snprintf(n, sizeof(n), "%ld", r.deleted);
		jsonx_set_str(c->outputs, "deleted", n);
		snprintf(n, sizeof(n), "%ld", r.unchanged);
		jsonx_set_str(c->outputs, "unchanged", n);
		snprintf(n, sizeof(n), "%lld", r.bytes);
		jsonx_set_str(c->outputs, "bytes", n);
	}
	if (dryrun) {
		long sends = 0, dels = 0;
		size_t i;
		json_t *p;

		json_array_foreach(r.plan, i, p) {
			if (!strcmp(jsonx_str(p, "action"), "delete"))
				dels++;
			else
				sends++;
		}
		stepx_say(c, "would send %ld, delete %ld; %ld unchanged", sends,
			  dels, r.unchanged);
	} else {
		stepx_say(c, "%ld sent, %ld deleted, %ld unchanged (%.2f s)",
			  r.uploaded + r.downloaded + r.copied, r.deleted,
			  r.unchanged, r.seconds);
	}
	rc = 0;
done:
	s3sync_result_release(&r);
	aws_client_free(cl);
	aws_credp_free(cp);
	free(confine);
	return rc;
}

static int ss_run(struct step_ctx *c, struct err *e)
{
	struct ss o;
	int rc = -1;

	if (read_inputs(&o, c, e) < 0)
		goto done;
	{
		struct strv env = STRV_INIT;

		stepx_aws_env(&env, c);
		rc = run_sync(c, &o, &env, false, e);
		strv_release(&env);
	}
done:
	ss_release(&o);
	return rc;
}

static int ss_plan(struct step_ctx *c, struct err *e)
{
	struct ss o;
	int rc = -1;

	if (read_inputs(&o, c, e) < 0)
		goto done;
	stepx_say(c, "sync %s to %s%s, comparing by %s", o.src, o.dst,
		  o.del ? ", deleting what the source lacks (after every upload)" : "",
		  o.checksum ? "content (MD5 against ETag)" : "size and time");
	if (!c->plan_remote) {
		stepx_say(c, "(run with --plan-remote to list the bucket and "
			  "show the exact changes)");
		rc = 0;
		goto done;
	}
	/* read only: the bucket is listed, nothing is sent; the credentials
	 * are gantry's own (a dry run has run no configure step) */
	rc = run_sync(c, &o, NULL, true, e);
done:
	ss_release(&o);
	return rc;
}

const struct step_type step_type_s3sync = {
	.name = "gantry/s3-sync",
	.plan = ss_plan,
	.run = ss_run,
};
