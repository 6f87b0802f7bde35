/*
 * run_clone: `gantry run --clone URL [--sha SHA]`: check a repository
 * out of its URL into -C DIR before its workflows run, through the mirror
 * cache (no fetch when the mirror has the commit; a work tree kept from
 * the run before costs only the files that changed). This is how the
 * agent's runs get their commit: the checkout happens in the run's own
 * process, which ends with it.
 *
 * The commit is --sha, else the event's "after" (a push), else its ref
 * (any refs/..., as workflow_dispatch gives it; an error when the remote lacks it), else the remote's HEAD.
 * The token (the GITHUB_TOKEN secret) is offered only over https, or over
 * http to this machine.
 */
#include "run.h"
#include "run_clone.h"

#include "../lib/fs.h"
#include "../lib/git.h"
#include "../lib/jsonx.h"
#include "../lib/util.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

static bool hex40(const char *s)
{
	size_t n = 0;

	for (; s && s[n]; n++)
		if (!strchr("0123456789abcdef", s[n]))
			return false;
	return n == 40 && strspn(s, "0") != 40;
}

/* A folder --clone may make its work tree: missing, empty, or a work
 * tree already (its .git there), since the checkout removes whatever the
 * commit does not have. */
static bool usable_dir(const char *dir)
{
	char *git = fs_join(dir, ".git");
	bool ok = fs_exists(git);
	DIR *d;
	struct dirent *de;

	free(git);
	if (ok || !fs_exists(dir))
		return true;
	d = opendir(dir);
	if (!d)
		return false;
	ok = true;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			ok = false;
	closedir(d);
	return ok;
}

int run_clone(struct run_clone_result *out, const struct run_clone_opts *o,
	      struct err *e)
{
	struct gitx_creds cr = { 0 };
	struct gitx_stats st = { 0 };
	struct gitx_checkout_opts co = { 0 };
	const char *want = o->sha;
	const char *ref = jsonx_str(o->event, "ref");
	char *mirror = NULL, *updated = NULL, *full_ref = NULL, *red;
	long long t0 = time_mono_ns();
	int rc = -1;

	memset(out, 0, sizeof(*out));
	red = gitx_redact(o->url);
	if (!want && hex40(jsonx_str(o->event, "after")))
		want = jsonx_str(o->event, "after");
	/* a ref the event names is the one to check out, or an error when
	 * the remote lacks it: never the default branch instead */
	if (ref && !str_starts_with(ref, "refs/"))
		ref = NULL;
	if (o->token && gitx_token_url_ok(o->url))
		cr.token = o->token;
	cr.ca_bundle = o->ca_bundle;
	if (!usable_dir(o->dir)) {
		err_set(e, ERR_INVALID, "%s is neither empty nor a checkout: --clone "
			"cleans its folder (untracked files are removed); give it a new "
			"or empty folder", o->dir);
		goto done;
	}
	if (gitx_init(e) < 0)
		goto done;
	mirror = gitx_mirror_path(o->cache_dir, o->url);
	if (!want || !gitx_mirror_has(mirror, want)) {
		if (gitx_mirror_update(&updated, o->cache_dir, o->url, &cr, &st, e) < 0)
			goto done;
		out->fetched = true;
	}
	if (want) {
		memcpy(out->sha, want, 41);
	} else if (gitx_resolve(out->sha, &full_ref, mirror, o->url, ref ? ref : "HEAD",
				e) < 0) {
		goto done;
	}
	co.dir = o->dir;
	co.mirror = mirror;
	co.url = o->url;
	co.sha = out->sha;
	co.ref = ref ? ref : full_ref;
	co.clean = true;
	if (gitx_checkout(&co, &st, e) < 0)
		goto done;
	out->ms = (time_mono_ns() - t0) / 1000000;
	rc = 0;
done:
	if (rc < 0)
		err_wrap(e, "checkout of %s", red);
	free(red);
	free(mirror);
	free(updated);
	free(full_ref);
	return rc;
}
