/*
 * checkout: actions/checkout built in. The repository is fetched into a
 * bare mirror in the cache (one per remote, updated incrementally) and the
 * work tree checked out from it through alternates, so a new commit costs
 * one fetch and the files written.
 *
 * In `gantry run`, a checkout of the repository being run uses the working
 * tree as it is (as act does), unless --fresh-checkout asked for a clean
 * clone of the commit. Tokens are sent only to the server, never written
 * to .git/config or printed.
 */
#include "step.h"
#include "stepx.h"
#include "../lib/buf.h"
#include "../lib/fs.h"
#include "../lib/git.h"
#include "../lib/jsonx.h"
#include "../lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Inputs actions/checkout@v4 has; others get a warning, as GitHub gives. */
static const char *const known_inputs[] = {
	"repository", "ref", "token", "ssh-key", "ssh-known-hosts", "ssh-strict",
	"ssh-user", "persist-credentials", "path", "clean", "filter",
	"sparse-checkout", "sparse-checkout-cone-mode", "fetch-depth",
	"fetch-tags", "show-progress", "lfs", "submodules", "set-safe-directory",
	"github-server-url", NULL,
};

struct co {
	char *repository;
	char *server;
	char *ref;
	char *token;
	char *ssh_key;
	char *known_hosts;	/* contents of ssh-known-hosts */
	char *ssh_user;
	char *path;		/* absolute */
	char *submodules;
	char *fetch_depth;
	bool clean;
	bool lfs;
	bool persist;
	bool this_repo;
	char *url;		/* owned */
	char *shown_url;	/* url without user:password@, to print */
};

static void co_release(struct co *o)
{
	free(o->repository);
	free(o->server);
	free(o->ref);
	free(o->token);
	free(o->ssh_key);
	free(o->known_hosts);
	free(o->ssh_user);
	free(o->path);
	free(o->submodules);
	free(o->fetch_depth);
	free(o->url);
	free(o->shown_url);
	memset(o, 0, sizeof(*o));
}

/* path: input, inside the workspace only. */
static int resolve_path(char **out, struct step_ctx *c, const char *p, struct err *e)
{
	char *joined;

	if (!p || !*p) {
		*out = xstrdup(c->workspace);
		return 0;
	}
	if (!fs_rel_inside(p))
		return err_set(e, ERR_INVALID, "path '%s' must stay inside the workspace "
			       "(a relative path without ..)", p);
	joined = fs_join(c->workspace, p);
	/* drop a trailing slash and "./" */
	while (strlen(joined) > 1 && joined[strlen(joined) - 1] == '/')
		joined[strlen(joined) - 1] = '\0';
	*out = joined;
	return 0;
}

static int read_inputs(struct co *o, struct step_ctx *c, struct err *e)
{
	char *tmp = NULL, *path = NULL;
	const char *gh_repo = stepx_github(c, "repository");
	int r = -1;

	memset(o, 0, sizeof(*o));
	stepx_check_inputs(c, known_inputs, "actions/checkout");
	if (stepx_input(&o->repository, c, "repository", gh_repo, e) < 0 ||
	    stepx_input(&o->server, c, "github-server-url", stepx_github(c, "server_url"), e) < 0 ||
	    stepx_input(&o->ref, c, "ref", NULL, e) < 0 ||
	    stepx_input(&o->token, c, "token", stepx_github(c, "token"), e) < 0 ||
	    stepx_input(&o->ssh_key, c, "ssh-key", NULL, e) < 0 ||
	    stepx_input(&o->known_hosts, c, "ssh-known-hosts", NULL, e) < 0 ||
	    stepx_input(&o->ssh_user, c, "ssh-user", "git", e) < 0 ||
	    stepx_input(&path, c, "path", NULL, e) < 0 ||
	    stepx_input(&o->submodules, c, "submodules", "false", e) < 0 ||
	    stepx_input(&o->fetch_depth, c, "fetch-depth", NULL, e) < 0)
		goto done;
	if (stepx_input(&tmp, c, "clean", "true", e) < 0)
		goto done;
	o->clean = stepx_truthy(tmp, true);
	free(tmp);
	if (stepx_input(&tmp, c, "lfs", "false", e) < 0)
		goto done;
	o->lfs = stepx_truthy(tmp, false);
	if (o->lfs) {
		err_set(e, ERR_INVALID, "lfs: true is not supported yet: gantry's checkout "
			"fetches no Git LFS objects; run `git lfs pull` in a run: step");
		goto done;
	}
	free(tmp);
	if (stepx_input(&tmp, c, "persist-credentials", "true", e) < 0)
		goto done;
	o->persist = stepx_truthy(tmp, true);
	free(tmp);
	tmp = NULL;
	if (!o->repository || !strchr(o->repository, '/')) {
		err_set(e, ERR_INVALID, "repository '%s' must be owner/name",
			o->repository ? o->repository : "");
		goto done;
	}
	if (strcmp(o->submodules, "true") && strcmp(o->submodules, "false") &&
	    strcmp(o->submodules, "recursive")) {
		err_set(e, ERR_INVALID, "submodules '%s' must be true, false or recursive",
			o->submodules);
		goto done;
	}
	if (resolve_path(&o->path, c, path, e) < 0)
		goto done;
	o->this_repo = gh_repo && !str_casecmp(o->repository, gh_repo);
	if (o->this_repo && c->source_dir) {
		/* the repository being run: from the working tree's own .git */
		o->url = xstrdup(c->source_dir);
	} else {
		const char *srv = o->server ? o->server : "https://github.com";
		size_t n = strlen(srv);

		while (n && srv[n - 1] == '/')
			n--;
		o->url = xasprintf("%.*s/%s.git", (int)n, srv, o->repository);
	}
	o->shown_url = gitx_redact(o->url);
	r = 0;
done:
	free(tmp);
	free(path);
	return r;
}

/*
 * No part of path below the workspace may be a symbolic link: the
 * checkout runs in gantry's own process, with its rights, and an earlier
 * step could otherwise point `path` (or a parent) anywhere on the host,
 * where `clean` would delete files. Parts that do not exist yet are fine.
 */
static int no_symlinks(const char *workspace, const char *path, struct err *e)
{
	size_t wl = strlen(workspace), n = strlen(path);
	char *p;

	if (strncmp(path, workspace, wl) || (path[wl] && path[wl] != '/'))
		return err_set(e, ERR_INVALID, "path %s is outside the workspace", path);
	p = xstrdup(path);
	for (size_t i = wl + 1; i <= n; i++) {
		char ch = p[i];
		struct stat st;

		if (ch != '/' && ch != '\0')
			continue;
		p[i] = '\0';
		if (lstat(p, &st) == 0 && S_ISLNK(st.st_mode)) {
			err_set(e, ERR_INVALID, "path %s is a symbolic link: the checkout "
				"does not write through links (made by an earlier step?)", p);
			free(p);
			return -1;
		}
		p[i] = ch;
	}
	free(p);
	return 0;
}

static int set_outputs(struct step_ctx *c, const char *ref, const char *sha)
{
	jsonx_set_str(c->outputs, "ref", ref ? ref : "");
	jsonx_set_str(c->outputs, "commit", sha ? sha : "");
	return 0;
}

/* The working tree itself, as act does, when the run's own repository is
 * checked out at the workspace and no fresh checkout was asked for. */
static bool use_working_tree(const struct co *o, const struct step_ctx *c)
{
	return o->this_repo && !c->fresh_checkout && !strcmp(o->path, c->workspace);
}

static char *cache_dir(const struct step_ctx *c)
{
	char *d;

	if (c->cache_dir)
		return xstrdup(c->cache_dir);
	d = fs_user_cache_dir("git");
	return d ? d : xstrdup("/tmp/gantry-git-cache");
}

static int checkout_plan(struct step_ctx *c, struct err *e)
{
	struct co o;
	char *cache = NULL, *mirror = NULL;
	int ret = -1;

	if (read_inputs(&o, c, e) < 0)
		goto done;
	if (use_working_tree(&o, c)) {
		stepx_say(c, "checkout: %s uses the working tree %s as it is (--fresh-checkout "
		    "clones the commit instead)", o.repository, c->workspace);
		ret = 0;
		goto done;
	}
	cache = cache_dir(c);
	mirror = gitx_mirror_path(cache, o.url);
	stepx_say(c, "checkout: would fetch %s from %s", o.repository, o.shown_url);
	stepx_say(c, "  ref: %s", o.ref ? o.ref : o.this_repo ? "the commit being run" :
	    "the remote's default branch");
	if (gitx_init(e) < 0)
		goto done;
	if (!fs_exists(mirror))
		stepx_say(c, "  mirror: %s (not there yet: the first fetch clones it)", mirror);
	else if (o.ref && gitx_mirror_has(mirror, o.ref))
		stepx_say(c, "  mirror: %s (already has %s: nothing to download)", mirror, o.ref);
	else
		stepx_say(c, "  mirror: %s (there; an incremental fetch brings it up to date)", mirror);
	stepx_say(c, "  into: %s%s", o.path, o.clean ? " (untracked files removed)" : "");
	if (strcmp(o.submodules, "false"))
		stepx_say(c, "  submodules: %s", o.submodules);
	ret = 0;
done:
	free(cache);
	free(mirror);
	co_release(&o);
	return ret;
}

/* ssh-known-hosts contents go to a private file for the host key check. */
static int known_hosts_file(char **out, struct step_ctx *c, const char *text,
			    struct err *e)
{
	char *p = xasprintf("%s/gantry-known-hosts", c->runner_temp);

	if (fs_write_file(p, text, strlen(text), 0600, e) < 0) {
		free(p);
		return -1;
	}
	*out = p;
	return 0;
}

static int checkout_run(struct step_ctx *c, struct err *e)
{
	struct co o;
	struct gitx_creds cr = { 0 };
	struct gitx_stats st = { 0 };
	struct gitx_checkout_opts co = { 0 };
	char *cache = NULL, *mirror = NULL, *full_ref = NULL, *kh = NULL;
	char sha[41] = "";
	const char *ref, *full_ref_default = NULL;
	int ret = -1;

	if (read_inputs(&o, c, e) < 0)
		goto done;
	if (o.fetch_depth && strcmp(o.fetch_depth, "0"))
		stepx_say(c, "fetch-depth %s: gantry keeps the full history in its mirror, so later "
		    "fetches are incremental; the work tree is the same", o.fetch_depth);
	if (use_working_tree(&o, c)) {
		stepx_say(c, "using the working tree %s as it is (gantry run --fresh-checkout "
		    "clones the commit into a clean workspace instead)", c->workspace);
		set_outputs(c, stepx_github(c, "ref"), stepx_github(c, "sha"));
		c->outcome = STEP_SUCCESS;
		ret = 0;
		goto done;
	}
	if (gitx_init(e) < 0)
		goto done;
	cache = cache_dir(c);
	if (fs_mkdirs(cache, 0700, e) < 0)
		goto done;
	if (o.ssh_key) {
		cr.ssh_key = o.ssh_key;
		cr.ssh_user = o.ssh_user;
	}
	if (o.known_hosts && known_hosts_file(&kh, c, o.known_hosts, e) < 0)
		goto done;
	cr.known_hosts = kh;
	if (o.token && *o.token) {
		cr.token = o.token;
		if (str_starts_with(o.url, "http://"))
			stepx_say(c, "warning: the token goes to %s over plain HTTP, unencrypted",
			    o.repository);
	}
	cr.ca_bundle = c->ca_bundle;
	if (gitx_mirror_update(&mirror, cache, o.url, &cr, &st, e) < 0) {
		if (kh && strstr(e->msg, kh))
			stepx_say(c, "the known hosts file named above holds the ssh-known-hosts "
			    "input: fix the input");
		goto done;
	}
	stepx_say(c, "%s %s: %zu objects, %zu KiB in %lld ms (mirror %s)%s",
	    st.cloned ? "cloned" : "fetched", o.shown_url, st.received_objects,
	    st.received_bytes >> 10, st.fetch_ms, mirror,
	    st.rebuilt ? "; it had been left broken by an interrupted fetch and was rebuilt" :
	    st.repaired ? "; an interrupted fetch had left it unfinished: checked and repaired by "
	    "fetching again" : "");
	ref = o.ref;
	if (!ref && o.this_repo) {
		/* the commit being run, on its branch, as actions/checkout
		 * checks out the triggering ref at github.sha */
		ref = stepx_github(c, "sha");
		if (stepx_github(c, "ref") && str_starts_with(stepx_github(c, "ref"), "refs/"))
			full_ref_default = stepx_github(c, "ref");
	}
	if (!ref || !*ref)
		ref = "HEAD";
	if (gitx_resolve(sha, &full_ref, mirror, o.url, ref, e) < 0)
		goto done;
	if (!full_ref && full_ref_default)
		full_ref = xstrdup(full_ref_default);
	if (no_symlinks(c->workspace, o.path, e) < 0)
		goto done;
	co.dir = o.path;
	co.mirror = mirror;
	co.url = o.url;
	co.sha = sha;
	co.ref = full_ref && str_starts_with(full_ref, "refs/heads/") ? full_ref : NULL;
	co.clean = o.clean;
	if (fs_mkdirs(o.path, 0755, e) < 0 || gitx_checkout(&co, &st, e) < 0)
		goto done;
	stepx_say(c, "checked out %.12s%s%s into %s in %lld ms", sha, full_ref ? " " : "",
	    full_ref ? full_ref : "", o.path, st.checkout_ms);
	if (strcmp(o.submodules, "false") &&
	    gitx_submodules(o.path, o.url, cache, !strcmp(o.submodules, "recursive"),
			    &cr, e) < 0)
		goto done;
	if (o.persist && cr.token)
		stepx_say(c, "persist-credentials: the token is not written into .git/config; "
		    "git commands in later steps pass their own credentials");
	set_outputs(c, full_ref ? full_ref : ref, sha);
	c->outcome = STEP_SUCCESS;
	ret = 0;
done:
	if (kh) {
		unlink(kh);
		free(kh);
	}
	free(cache);
	free(mirror);
	free(full_ref);
	co_release(&o);
	return ret;
}

const struct step_type step_type_checkout = {
	.name = "actions/checkout",
	.plan = checkout_plan,
	.run = checkout_run,
};
