/*
 * context: the github context and the host part of a step's environment,
 * worked out from the workspace's git metadata, the event and the options.
 */
#include "run.h"
#include "../lib/buf.h"
#include "../lib/fs.h"
#include "../lib/jsonx.h"
#include "../lib/strv.h"
#include "../lib/util.h"

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Read a small text file's first line; NULL when missing. */
static char *read_line(const char *path)
{
	struct buf b = BUF_INIT;
	char *nl;

	buf_init(&b, 1 << 20);
	if (fs_read_file(&b, path, NULL) < 0) {
		buf_release(&b);
		return NULL;
	}
	nl = strchr(b.ptr, '\n');
	if (nl)
		buf_truncate(&b, (size_t)(nl - b.ptr));
	return buf_detach(&b, NULL);
}

/* The commit a ref points at, from loose refs or packed-refs. */
static char *git_resolve(const char *gitdir, const char *ref)
{
	char *path = xasprintf("%s/%s", gitdir, ref);
	char *sha = read_line(path);
	struct buf b = BUF_INIT;

	free(path);
	if (sha)
		return sha;
	path = xasprintf("%s/packed-refs", gitdir);
	buf_init(&b, 64 << 20);
	if (fs_read_file(&b, path, NULL) == 0) {
		size_t rl = strlen(ref);

		for (char *l = b.ptr, *nl; l && *l; l = nl ? nl + 1 : NULL) {
			nl = strchr(l, '\n');
			if (nl)
				*nl = '\0';
			if (strlen(l) == 41 + rl && l[40] == ' ' && !strcmp(l + 41, ref)) {
				sha = xstrndup(l, 40);
				break;
			}
		}
	}
	buf_release(&b);
	free(path);
	return sha;
}

/* owner/name from the origin remote's URL in .git/config. */
static char *git_repository(const char *gitdir)
{
	char *path = xasprintf("%s/config", gitdir);
	struct buf b = BUF_INIT;
	char *repo = NULL;
	bool in_origin = false;

	buf_init(&b, 1 << 20);
	if (fs_read_file(&b, path, NULL) < 0)
		goto done;
	for (char *l = b.ptr, *nl; l && *l; l = nl ? nl + 1 : NULL) {
		char *s = l, *url, *end;

		nl = strchr(l, '\n');
		if (nl)
			*nl = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '[') {
			in_origin = !strcmp(s, "[remote \"origin\"]");
			continue;
		}
		if (!in_origin || strncmp(s, "url", 3))
			continue;
		url = strchr(s, '=');
		if (!url)
			continue;
		url++;
		while (*url == ' ')
			url++;
		end = url + strlen(url);
		if (end - url > 4 && !strcmp(end - 4, ".git"))
			end -= 4;
		while (end > url && end[-1] == '/')
			end--;
		/* the last two path parts: owner/name */
		{
			const char *p = end, *slash1 = NULL, *slash2 = NULL;

			while (p > url) {
				p--;
				if (*p == '/' || *p == ':') {
					if (!slash1)
						slash1 = p;
					else {
						slash2 = p;
						break;
					}
				}
			}
			if (slash1 && slash2)
				repo = xstrndup(slash2 + 1, (size_t)(end - slash2 - 1));
		}
		break;
	}
done:
	buf_release(&b);
	free(path);
	return repo;
}

/* The .git of the repository holding dir: dir's own, or its nearest
 * parent's, as git finds it (a workflow folder inside a larger
 * repository, such as examples/). */
static char *find_gitdir(const char *dir)
{
	char *cur = xstrdup(dir);

	for (int depth = 0; depth < 64; depth++) {
		char *g = fs_join(cur, ".git"), *up;

		if (fs_exists(g)) {
			free(cur);
			return g;
		}
		free(g);
		if (!strcmp(cur, "/"))
			break;
		up = fs_dirname(cur);
		free(cur);
		cur = up;
	}
	free(cur);
	return fs_join(dir, ".git");
}

static void set_ref(json_t *gh, const char *ref)
{
	const char *name = ref, *type = "branch";

	if (str_starts_with(ref, "refs/heads/")) {
		name = ref + 11;
	} else if (str_starts_with(ref, "refs/tags/")) {
		name = ref + 10;
		type = "tag";
	} else if (str_starts_with(ref, "refs/pull/")) {
		name = ref + 5;
	}
	jsonx_set_str(gh, "ref", ref);
	jsonx_set_str(gh, "ref_name", name);
	jsonx_set_str(gh, "ref_type", type);
}

int ctx_github(json_t **out, const struct workflow *wf,
	       const struct run_opts *o, struct err *e)
{
	json_t *gh = json_object();
	const char *src = o->source_dir ? o->source_dir : o->workspace;
	char *gitdir = find_gitdir(src);
	char *head = NULL, *sha = NULL, *repo = NULL, *wfname = NULL;
	const char *ev_ref, *ev_sha, *owner_end;
	const char *server = o->server_url ? o->server_url : "https://github.com";
	const char *user = getenv("USER");
	char num[32];

	head = read_line(gitdir);
	if (head && str_starts_with(head, "gitdir: ")) {
		/* a worktree or submodule: .git is a file naming the folder */
		char *top = fs_dirname(gitdir);
		char *real = fs_join(top, head + 8);

		free(top);

		free(gitdir);
		gitdir = real;
	}
	free(head);
	head = xasprintf("%s/HEAD", gitdir);
	{
		char *h = read_line(head);

		free(head);
		head = h;
	}
	if (head && str_starts_with(head, "ref: ")) {
		sha = git_resolve(gitdir, head + 5);
		set_ref(gh, head + 5);
	} else if (head && strlen(head) >= 40) {
		sha = xstrndup(head, 40);
		set_ref(gh, "refs/heads/main");
	} else {
		set_ref(gh, "refs/heads/main");
	}
	repo = git_repository(gitdir);
	if (!repo) {
		char *base = strrchr(src, '/');

		repo = xasprintf("local/%s", base && base[1] ? base + 1 : "workspace");
	}
	/* the event payload wins where it says something */
	ev_ref = jsonx_str(o->event, "ref");
	if (ev_ref && str_starts_with(ev_ref, "refs/"))
		set_ref(gh, ev_ref);
	ev_sha = jsonx_str(o->event, "after");
	if (!ev_sha)
		ev_sha = jsonx_str(json_object_get(o->event, "head_commit"), "id");
	if (ev_sha && strlen(ev_sha) == 40) {
		free(sha);
		sha = xstrdup(ev_sha);
	}
	if (json_is_object(json_object_get(o->event, "repository")) &&
	    jsonx_str(json_object_get(o->event, "repository"), "full_name")) {
		free(repo);
		repo = xstrdup(jsonx_str(json_object_get(o->event, "repository"),
					 "full_name"));
	}
	if (!strcmp(o->event_name, "pull_request") ||
	    !strcmp(o->event_name, "pull_request_target")) {
		json_t *pr = json_object_get(o->event, "pull_request");
		const char *h = jsonx_str(json_object_get(pr, "head"), "ref");
		const char *b = jsonx_str(json_object_get(pr, "base"), "ref");

		jsonx_set_str(gh, "head_ref", h ? h : "");
		jsonx_set_str(gh, "base_ref", b ? b : "");
	} else {
		jsonx_set_str(gh, "head_ref", "");
		jsonx_set_str(gh, "base_ref", "");
	}
	jsonx_set_str(gh, "sha", sha ? sha : "0000000000000000000000000000000000000000");
	jsonx_set_str(gh, "repository", repo);
	owner_end = strchr(repo, '/');
	json_object_set_new(gh, "repository_owner",
			    json_stringn(repo, owner_end ? (size_t)(owner_end - repo) : strlen(repo)));
	{
		char *u = xasprintf("%s/%s", server, repo);

		jsonx_set_str(gh, "repositoryUrl", u);
		free(u);
	}
	jsonx_set_str(gh, "event_name", o->event_name);
	json_object_set(gh, "event", o->event ? o->event : json_object());
	if (!user) {
		struct passwd *pw = getpwuid(getuid());

		user = pw ? pw->pw_name : "gantry";
	}
	jsonx_set_str(gh, "actor", user);
	jsonx_set_str(gh, "triggering_actor", user);
	jsonx_set_str(gh, "server_url", server);
	if (!strcmp(server, "https://github.com")) {
		jsonx_set_str(gh, "api_url", "https://api.github.com");
		jsonx_set_str(gh, "graphql_url", "https://api.github.com/graphql");
	} else {
		char *u = xasprintf("%s/api/v3", server);

		jsonx_set_str(gh, "api_url", u);
		free(u);
		u = xasprintf("%s/api/graphql", server);
		jsonx_set_str(gh, "graphql_url", u);
		free(u);
	}
	snprintf(num, sizeof(num), "%lld", o->run_id);
	jsonx_set_str(gh, "run_id", num);
	snprintf(num, sizeof(num), "%lld", o->run_number);
	jsonx_set_str(gh, "run_number", num);
	jsonx_set_str(gh, "run_attempt", "1");
	jsonx_set_str(gh, "retention_days", "90");
	if (wf->name && wf->name->kind == YML_SCALAR && !yml_is_null(wf->name))
		wfname = xstrdup(wf->name->str);
	else
		wfname = xstrdup(wf->path);
	jsonx_set_str(gh, "workflow", wfname);
	{
		const char *rel = wf->path;
		char *wref;

		if (str_starts_with(rel, src) && rel[strlen(src)] == '/')
			rel += strlen(src) + 1;
		wref = xasprintf("%s/%s@%s", repo, rel,
				 jsonx_str(gh, "ref") ? jsonx_str(gh, "ref") : "");
		jsonx_set_str(gh, "workflow_ref", wref);
		free(wref);
	}
	jsonx_set_str(gh, "workspace", o->workspace);
	jsonx_set_str(gh, "action", "");
	jsonx_set_str(gh, "action_path", "");
	jsonx_set_str(gh, "job", "");
	/* no token is issued to local runs; secrets.GITHUB_TOKEN may be given */
	{
		const char *tok = jsonx_str(o->secrets, "GITHUB_TOKEN");

		jsonx_set_str(gh, "token", tok ? tok : "");
	}
	*out = gh;
	free(gitdir);
	free(head);
	free(sha);
	free(repo);
	free(wfname);
	(void)e;
	return 0;
}

void ctx_host_env(struct strv *out)
{
	static const char *const keep[] = {
		"HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TERM", "TZ",
		"http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY",
		"HTTPS_PROXY", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR",
	};
	const char *path = getenv("PATH");

	strv_setenv(out, "PATH", path && *path ? path :
		    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
		const char *v = getenv(keep[i]);

		if (v)
			strv_setenv(out, keep[i], v);
	}
}
