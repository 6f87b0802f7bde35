/*
 * git_submodule: a work tree's submodules (gitx_submodules in git.h),
 * each fetched through its own mirror in the cache and checked out at
 * the commit its parent records; relative URLs resolved against the
 * parent's, paths kept inside the work tree, SUBMODULE_DEPTH_MAX levels
 * and SUBMODULES_MAX submodules at most.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fs.h"
#include "git.h"
#include "git_int.h"
#include "strv.h"
#include "util.h"

#define SUBMODULE_DEPTH_MAX 8
#define SUBMODULES_MAX 1000

/* A submodule URL: "./x" and "../x" are relative to the parent's URL, as
 * git resolves them; anything else is taken as it is. */
static char *resolve_url(const char *parent, const char *rel)
{
	char *base, *out;
	const char *sep = strstr(parent, "://");
	size_t floor, len;

	if (!str_starts_with(rel, "./") && !str_starts_with(rel, "../"))
		return xstrdup(rel);
	base = xstrdup(parent);
	len = strlen(base);
	while (len > 0 && base[len - 1] == '/')
		base[--len] = '\0';
	floor = sep ? (size_t)(sep - parent) + 3 : 0;
	for (size_t guard = strlen(rel); guard > 0; guard--) {
		if (str_starts_with(rel, "./")) {
			rel += 2;
		} else if (str_starts_with(rel, "../")) {
			char *cut = strrchr(base + floor, '/');

			if (!cut && !sep)
				cut = strrchr(base, ':');
			if (cut)
				*cut = '\0';
			rel += 3;
		} else {
			break;
		}
	}
	out = xasprintf("%s/%s", base, rel);
	free(base);
	return out;
}

struct sub_item {
	char *path;	/* owned */
	char *url;	/* owned, as written in .gitmodules */
	git_oid oid;
	bool has_oid;
};

struct sub_list {
	struct sub_item *v;
	size_t n, alloc;
};

static int collect_cb(git_submodule *sm, const char *name, void *payload)
{
	struct sub_list *l = payload;
	const git_oid *id = git_submodule_head_id(sm);
	struct sub_item *it;

	if (l->n >= SUBMODULES_MAX || !git_submodule_url(sm))
		return 0;
	ALLOC_GROW(l->v, l->n + 1, l->alloc);
	it = &l->v[l->n++];
	it->path = xstrdup(git_submodule_path(sm));
	it->url = xstrdup(git_submodule_url(sm));
	it->has_oid = id != NULL;
	if (id)
		git_oid_cpy(&it->oid, id);
	return 0;
}

static int submodules(const char *dir, const char *parent_url,
		      const char *cache_dir, bool recursive,
		      const struct gitx_creds *c, int depth, struct err *e)
{
	git_repository *repo = NULL;
	struct sub_list l = { NULL, 0, 0 };
	int rc = -1;

	if (depth >= SUBMODULE_DEPTH_MAX) {
		err_set(e, ERR_LIMIT, "submodules nest deeper than %d levels at %s",
			SUBMODULE_DEPTH_MAX, dir);
		return -1;
	}
	if (git_repository_open(&repo, dir) < 0 ||
	    git_submodule_foreach(repo, collect_cb, &l) < 0) {
		gitx_fail(e, -1, NULL, dir, dir, "listing submodules");
		goto done;
	}
	for (size_t i = 0; i < l.n; i++) {
		struct sub_item *it = &l.v[i];
		struct gitx_checkout_opts co = { 0 };
		struct gitx_creds sc;
		char sha[41], *url, *mirror = NULL, *sub_dir;
		int r;

		if (!it->has_oid)
			continue;
		if (!fs_rel_inside(it->path)) {	/* inside the work tree */
			err_set(e, ERR_INVALID, "submodule path '%s' leaves the "
				"work tree %s", it->path, dir);
			goto done;
		}
		url = resolve_url(parent_url, it->url);
		sub_dir = fs_join(dir, it->path);
		git_oid_tostr(sha, sizeof(sha), &it->oid);
		co.dir = sub_dir;
		co.url = url;
		co.sha = sha;
		gitx_creds_for(&sc, c, parent_url, url);
		r = gitx_mirror_update(&mirror, cache_dir, url, &sc, NULL, e);
		if (r == 0) {
			co.mirror = mirror;
			r = gitx_checkout(&co, NULL, e);
		}
		if (r == 0 && recursive)
			r = submodules(sub_dir, url, cache_dir, true, &sc, depth + 1, e);
		if (r < 0)
			err_wrap(e, "submodule %s", it->path);
		free(mirror);
		free(sub_dir);
		free(url);
		if (r < 0)
			goto done;
	}
	rc = 0;
done:
	for (size_t i = 0; i < l.n; i++) {
		free(l.v[i].path);
		free(l.v[i].url);
	}
	free(l.v);
	git_repository_free(repo);
	return rc;
}

int gitx_submodules(const char *dir, const char *parent_url,
		    const char *cache_dir, bool recursive,
		    const struct gitx_creds *c, struct err *e)
{
	if (gitx_ensure_init(e) < 0)
		return -1;
	return submodules(dir, parent_url, cache_dir, recursive, c, 0, e);
}

