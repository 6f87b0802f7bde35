/*
 * git_mirror: the mirror cache behind lib/git.h. One bare repository per
 * remote URL under the cache folder, updated under an exclusive flock on
 * <mirror>.lock (the lock file sits beside the mirror so that removing a
 * mirror never removes a lock someone holds open: a locker checks that the
 * file it locked is still the one at the path). <mirror>/gantry-fetching
 * exists while a fetch runs; finding it means a crash, and the mirror is
 * checked and rebuilt if broken. <mirror>/gantry-last-used dates the last
 * use for gc. Work trees borrow the mirror's objects via alternates.
 * The remote URL written to any config is redacted; the real one (which
 * may carry credentials) lives only in memory for the fetch.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "fs.h"
#include "git.h"
#include "git_int.h"
#include "strv.h"
#include "util.h"

#define MARKER "gantry-fetching"
#define LAST_USED GITX_LAST_USED
#define REFS_MAX 1000000
/* More packs than this after a fetch are written again as one (git's
 * gc.autoPackLimit is 50): libgit2 keeps every fetch's pack, and each
 * one more is one more index to search for every object read. */
#define PACKS_MAX 32
#define PACK_DIR_ENTRIES_MAX 100000

static long long ms_since(long long t0)
{
	return (time_mono_ns() - t0) / 1000000;
}

/* Create path if missing and set its times to now. */
static void touch(const char *dir, const char *name)
{
	char *path = fs_join(dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	if (fd >= 0) {
		futimens(fd, NULL);
		close(fd);
	}
	free(path);
}

/* Whether an object is readable; a commit's tree too. */
static bool object_ok(git_repository *repo, const git_oid *oid)
{
	git_object *obj = NULL;
	git_tree *tree = NULL;
	bool ok = git_object_lookup(&obj, repo, oid, GIT_OBJECT_ANY) == 0;

	if (ok && git_object_type(obj) == GIT_OBJECT_COMMIT)
		ok = git_commit_tree(&tree, (git_commit *)obj) == 0;
	if (ok && git_object_type(obj) == GIT_OBJECT_TAG) {
		git_object *peeled = NULL;

		ok = git_object_peel(&peeled, obj, GIT_OBJECT_ANY) == 0;
		git_object_free(peeled);
	}
	git_tree_free(tree);
	git_object_free(obj);
	return ok;
}

/* A mirror left by a crash is usable when it opens, HEAD reads (unborn is
 * fine) and every ref resolves to a readable object. */
static bool mirror_sane(const char *mirror)
{
	git_repository *repo = NULL;
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL, *head = NULL;
	git_odb *odb = NULL;
	bool ok = false;
	int rc;

	if (git_repository_open_bare(&repo, mirror) < 0 ||
	    git_repository_odb(&odb, repo) < 0 || git_odb_refresh(odb) < 0)
		goto done;
	rc = git_repository_head(&head, repo);
	if (rc < 0 && rc != GIT_EUNBORNBRANCH && rc != GIT_ENOTFOUND)
		goto done;
	if (git_reference_iterator_new(&it, repo) < 0)
		goto done;
	for (long n = 0; n < REFS_MAX; n++) {
		git_reference *res = NULL;

		rc = git_reference_next(&ref, it);
		if (rc == GIT_ITEROVER)
			break;
		if (rc < 0)
			goto done;
		rc = git_reference_resolve(&res, ref);
		if (rc == 0 && !object_ok(repo, git_reference_target(res)))
			rc = -1;
		git_reference_free(res);
		git_reference_free(ref);
		ref = NULL;
		if (rc < 0)
			goto done;
	}
	ok = true;
done:
	git_reference_iterator_free(it);
	git_reference_free(head);
	git_odb_free(odb);
	git_repository_free(repo);
	return ok;
}

/* A new bare mirror with origin at the redacted URL. */
static int mirror_create(git_repository **out, const char *mirror,
			 const char *red_url, struct err *e)
{
	git_repository_init_options io;
	git_remote *remote = NULL;
	git_config *cfg = NULL;
	int rc;

	git_repository_init_options_init(&io, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
	io.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH;
	rc = git_repository_init_ext(out, mirror, &io);
	if (rc == 0)
		rc = git_remote_create_with_fetchspec(&remote, *out, "origin", red_url,
						      "+refs/heads/*:refs/heads/*");
	if (rc == 0)
		rc = git_remote_add_fetch(*out, "origin", "+refs/tags/*:refs/tags/*");
	if (rc == 0)
		rc = git_remote_set_autotag(*out, "origin",
					    GIT_REMOTE_DOWNLOAD_TAGS_ALL);
	if (rc == 0)
		rc = git_repository_config(&cfg, *out);
	if (rc == 0)
		rc = git_config_set_bool(cfg, "remote.origin.prune", 1);
	git_config_free(cfg);
	git_remote_free(remote);
	if (rc < 0)
		return gitx_fail(e, rc, NULL, red_url, mirror, "creating the mirror");
	return 0;
}

/* The names of the packs (without ".pack") in pack_dir, at most
 * PACK_DIR_ENTRIES_MAX entries looked at. */
static int list_packs(struct strv *out, const char *pack_dir)
{
	DIR *d = opendir(pack_dir);
	struct dirent *de;
	int seen = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)) && seen++ < PACK_DIR_ENTRIES_MAX) {
		size_t n = strlen(de->d_name);

		if (n > 5 && strcmp(de->d_name + n - 5, ".pack") == 0)
			strv_push_owned(out, xstrndup(de->d_name, n - 5));
	}
	closedir(d);
	return 0;
}

static int insert_cb(const git_oid *oid, void *payload)
{
	return git_packbuilder_insert(payload, oid, NULL);
}

/* Write every object of the mirror into one pack and drop the packs it
 * replaces, when there are more than PACKS_MAX. Every object is kept,
 * reachable or not: a work tree may still borrow one that a force-push
 * left behind. Under the mirror's lock; readers that hold an old pack
 * open keep reading it, new ones find the objects in the new pack, which
 * exists before any old one goes. A failure leaves the packs as they
 * were, plus at most a pack that duplicates them. */
static void consolidate(git_repository *repo, const char *mirror)
{
	char *dir = fs_join(mirror, "objects/pack");
	struct strv packs = STRV_INIT;
	git_packbuilder *pb = NULL;
	git_odb *odb = NULL;
	const char *keep;

	if (list_packs(&packs, dir) < 0 || packs.n <= PACKS_MAX)
		goto done;
	if (git_repository_odb(&odb, repo) < 0 ||
	    git_packbuilder_new(&pb, repo) < 0)
		goto done;
	git_packbuilder_set_threads(pb, 1);	/* the same objects, the same pack */
	if (git_odb_foreach(odb, insert_cb, pb) < 0 ||
	    git_packbuilder_write(pb, dir, 0, NULL, NULL) < 0)
		goto done;
	/* the bare hash: the files are pack-<hash>.pack and .idx; the same
	 * objects make the same name, so a pack written again over an
	 * earlier one (an interrupted consolidation) must be kept */
	keep = git_packbuilder_name(pb);
	for (size_t i = 0; keep && i < packs.n; i++) {
		char *idx, *pack;

		if (str_starts_with(packs.v[i], "pack-") &&
		    strcmp(packs.v[i] + 5, keep) == 0)
			continue;
		/* the index first: a pack without one is not read */
		idx = xasprintf("%s/%s.idx", dir, packs.v[i]);
		pack = xasprintf("%s/%s.pack", dir, packs.v[i]);
		if (unlink(idx) == 0 || errno == ENOENT)
			unlink(pack);
		free(idx);
		free(pack);
	}
done:
	git_packbuilder_free(pb);
	git_odb_free(odb);
	strv_release(&packs);
	free(dir);
}

/* Fetch into an open mirror; marker and stats handled by the caller. */
static int mirror_fetch(git_repository *repo, const char *mirror,
			const char *url, const struct gitx_creds *c,
			struct gitx_stats *st, struct err *e)
{
	struct gitx_cb cb;
	git_fetch_options fo;
	git_remote *remote = NULL;
	git_buf head = { 0 };
	char *bearer = NULL, *red = gitx_redact(url);
	int rc = -1, grc;
	long long t0 = time_mono_ns();

	if (gitx_cb_init(&cb, red, c, e) < 0) {
		free(red);
		return -1;
	}
	if (gitx_ca_bundle(c, e) < 0)
		goto done;
	gitx_fetch_opts(&fo, &cb, &bearer);
	grc = git_remote_lookup(&remote, repo, "origin");
	if (grc == 0)
		grc = git_remote_set_instance_url(remote, url);
	if (grc == 0)
		grc = git_remote_fetch(remote, NULL, &fo, "gantry: fetch");
	if (grc < 0) {
		gitx_fail(e, grc, &cb, url, mirror, "fetch");
		goto done;
	}
	if (st) {
		const git_indexer_progress *p = git_remote_stats(remote);

		st->received_objects = p->received_objects;
		st->received_bytes = p->received_bytes;
		st->fetch_ms = ms_since(t0);
	}
	/* the remote's default branch becomes the mirror's HEAD, if known */
	if (git_remote_default_branch(&head, remote) == 0)
		git_repository_set_head(repo, head.ptr);
	rc = 0;
done:
	git_buf_dispose(&head);
	git_remote_free(remote);
	gitx_cb_release(&cb);
	free(bearer);
	free(red);
	return rc;
}

int gitx_mirror_update(char **mirror, const char *cache_dir, const char *url,
		       const struct gitx_creds *c, struct gitx_stats *stats,
		       struct err *e)
{
	struct gitx_stats local = { 0 };
	struct gitx_stats *st = stats ? stats : &local;
	git_repository *repo = NULL;
	char *path = NULL, *marker = NULL, *red = gitx_redact(url);
	int fd = -1, rc = -1;
	bool exists, crashed;

	memset(st, 0, sizeof(*st));
	*mirror = NULL;
	if (gitx_ensure_init(e) < 0 || fs_mkdirs(cache_dir, 0755, e) < 0)
		goto done;
	path = gitx_mirror_path(cache_dir, url);
	marker = fs_join(path, MARKER);
	if (gitx_lock_mirror(&fd, path, true, e) != 0)
		goto done;
	exists = fs_exists(path);
	crashed = exists && fs_exists(marker);
	if (crashed && mirror_sane(path))
		st->repaired = true;	/* the fetch below completes it */
	if (exists && ((crashed && !st->repaired) ||
		       git_repository_open_bare(&repo, path) < 0)) {
		git_repository_free(repo);
		repo = NULL;
		if (fs_remove_tree(path, e) < 0)
			goto done;
		st->rebuilt = true;
	}
	if (!repo) {
		if (mirror_create(&repo, path, red, e) < 0)
			goto done;
		st->cloned = true;
	}
	touch(path, MARKER);
	if (mirror_fetch(repo, path, url, c, st, e) < 0) {
		if (st->cloned) {
			struct err ignore = ERR_INIT;

			git_repository_free(repo);
			repo = NULL;
			fs_remove_tree(path, &ignore);
		}
		goto done;
	}
	consolidate(repo, path);
	if (unlink(marker) < 0 && errno != ENOENT) {
		err_sys(e, ERR_IO, "cannot remove %s", marker);
		goto done;
	}
	touch(path, LAST_USED);
	*mirror = path;
	path = NULL;
	rc = 0;
done:
	git_repository_free(repo);
	if (fd >= 0)
		close(fd);
	free(marker);
	free(path);
	free(red);
	return rc;
}

static bool all_hex(const char *s, size_t *len)
{
	size_t n = strspn(s, "0123456789abcdefABCDEF");

	*len = n;
	return s[n] == '\0';
}

/* ref := "HEAD" | "refs/" ... | branch | tag | hex{7,40} */
static int resolve(git_repository *repo, git_oid *oid, char **full_ref,
		   const char *url, const char *ref, struct err *e)
{
	char *cand[2] = { NULL, NULL };
	size_t hexlen;
	int rc = -1;

	if (str_starts_with(ref, "refs/") || strcmp(ref, "HEAD") == 0) {
		cand[0] = xstrdup(ref);
	} else {
		cand[0] = xasprintf("refs/heads/%s", ref);
		cand[1] = xasprintf("refs/tags/%s", ref);
	}
	for (size_t i = 0; i < ARRAY_SIZE(cand) && cand[i]; i++) {
		git_reference *r = NULL, *res = NULL;
		git_object *obj = NULL;

		if (git_reference_lookup(&r, repo, cand[i]) == 0 &&
		    git_reference_resolve(&res, r) == 0 &&
		    git_reference_peel(&obj, res, GIT_OBJECT_COMMIT) == 0) {
			git_oid_cpy(oid, git_object_id(obj));
			if (full_ref)
				*full_ref = xstrdup(git_reference_name(res));
			rc = 0;
		}
		git_object_free(obj);
		git_reference_free(res);
		git_reference_free(r);
		if (rc == 0)
			goto done;
	}
	if (all_hex(ref, &hexlen) && hexlen >= 7 && hexlen <= GIT_OID_HEXSZ) {
		git_oid prefix;
		git_object *obj = NULL, *commit = NULL;
		int grc = git_oid_fromstrn(&prefix, ref, hexlen);

		if (grc == 0)
			grc = git_object_lookup_prefix(&obj, repo, &prefix, hexlen,
						       GIT_OBJECT_ANY);
		if (grc == GIT_EAMBIGUOUS) {
			char *red = gitx_redact(url);

			err_set(e, ERR_INVALID, "ref '%s' is ambiguous in %s: give "
				"more digits of the SHA", ref, red);
			free(red);
			goto done;
		}
		if (grc == 0 && git_object_peel(&commit, obj, GIT_OBJECT_COMMIT) == 0) {
			git_oid_cpy(oid, git_object_id(commit));
			if (full_ref)
				*full_ref = NULL;
			rc = 0;
		}
		git_object_free(commit);
		git_object_free(obj);
		if (rc == 0)
			goto done;
	}
	{
		char *red = gitx_redact(url);

		err_set(e, ERR_NOT_FOUND, "ref '%s' not found in %s", ref, red);
		free(red);
	}
done:
	free(cand[0]);
	free(cand[1]);
	return rc;
}

int gitx_resolve(char sha[41], char **full_ref, const char *mirror,
		 const char *url, const char *ref, struct err *e)
{
	git_repository *repo = NULL;
	git_oid oid;
	int rc = -1;

	if (full_ref)
		*full_ref = NULL;
	if (gitx_ensure_init(e) < 0)
		return -1;
	if (git_repository_open_bare(&repo, mirror) < 0) {
		err_set(e, ERR_NOT_FOUND, "no mirror at %s", mirror);
		goto done;
	}
	if (resolve(repo, &oid, full_ref, url, ref, e) < 0)
		goto done;
	git_oid_tostr(sha, 41, &oid);
	rc = 0;
done:
	git_repository_free(repo);
	return rc;
}

bool gitx_mirror_has(const char *mirror, const char *ref)
{
	char sha[41];
	struct err e = ERR_INIT;

	return fs_is_dir(mirror) &&
	       gitx_resolve(sha, NULL, mirror, mirror, ref, &e) == 0;
}

/* The work tree's .git must borrow from this mirror (or not exist yet). */
static int prepare_repo(const char *dir, const char *alt, struct err *e)
{
	char *gitdir = fs_join(dir, ".git");
	char *info = fs_join(gitdir, "objects/info");
	char *alt_file = fs_join(info, "alternates");
	struct buf have = BUF_INIT;
	git_repository *repo = NULL;
	int rc = -1;

	have.max = 64 << 10;
	if (fs_exists(gitdir)) {
		struct err ignore = ERR_INIT;
		char *line, *real;
		bool same;

		if (fs_read_file(&have, alt_file, &ignore) < 0)
			buf_reset(&have);
		line = have.ptr;
		line[strcspn(line, "\r\n")] = '\0';
		real = *line ? fs_realpath(line) : NULL;
		same = real && strcmp(real, alt) == 0;
		free(real);
		if (!same) {
			err_set(e, ERR_INVALID, "%s is a different repository: its "
				"objects do not come from the mirror %s; remove it "
				"first", dir, alt);
			goto done;
		}
		rc = 0;
		goto done;
	}
	if (fs_mkdirs(dir, 0755, e) < 0)
		goto done;
	if (git_repository_init(&repo, dir, 0) < 0) {
		gitx_fail(e, -1, NULL, dir, dir, "init");
		goto done;
	}
	if (fs_mkdirs(info, 0755, e) < 0)
		goto done;
	buf_printf(&have, "%s\n", alt);
	if (fs_write_file(alt_file, have.ptr, have.len, 0644, e) < 0)
		goto done;
	rc = 0;
done:
	git_repository_free(repo);
	buf_release(&have);
	free(alt_file);
	free(info);
	free(gitdir);
	return rc;
}

/* Whether HEAD is already what the checkout would make it: the branch
 * ref (refs/heads/x) pointing at oid with HEAD on it, or, for anything
 * else, HEAD detached at oid. */
static bool head_is(git_repository *repo, const char *ref, const git_oid *oid)
{
	git_reference *head = NULL, *res = NULL;
	bool same = false;

	if (git_reference_lookup(&head, repo, "HEAD") < 0)
		return false;
	if (ref && str_starts_with(ref, "refs/heads/")) {
		same = git_reference_type(head) == GIT_REFERENCE_SYMBOLIC &&
		       !strcmp(git_reference_symbolic_target(head), ref) &&
		       git_reference_resolve(&res, head) == 0 &&
		       git_oid_equal(git_reference_target(res), oid);
	} else {
		same = git_reference_type(head) == GIT_REFERENCE_DIRECT &&
		       git_oid_equal(git_reference_target(head), oid);
	}
	git_reference_free(res);
	git_reference_free(head);
	return same;
}

int gitx_checkout(const struct gitx_checkout_opts *o, struct gitx_stats *stats,
		  struct err *e)
{
	long long t0 = time_mono_ns();
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	git_commit *commit = NULL;
	git_reference *branch = NULL;
	git_checkout_options co;
	git_oid oid;
	char *real = NULL, *alt = NULL, *red = gitx_redact(o->url ? o->url : "");
	int rc = -1, grc, fw;

	if (gitx_ensure_init(e) < 0)
		goto done;
	real = fs_realpath(o->mirror);
	if (!real) {
		err_sys(e, ERR_NOT_FOUND, "no mirror at %s", o->mirror);
		goto done;
	}
	alt = fs_join(real, "objects");
	if (prepare_repo(o->dir, alt, e) < 0)
		goto done;
	if (git_repository_open(&repo, o->dir) < 0) {
		gitx_fail(e, -1, NULL, o->dir, o->dir, "opening the work tree");
		goto done;
	}
	if (o->url) {
		grc = git_remote_lookup(&remote, repo, "origin");
		if (grc == GIT_ENOTFOUND)
			grc = git_remote_create(&remote, repo, "origin", red);
		else if (grc == 0 && strcmp(git_remote_url(remote) ? git_remote_url(remote) : "", red))
			grc = git_remote_set_url(repo, "origin", red);
		if (grc < 0) {
			gitx_fail(e, grc, NULL, o->url, o->dir, "setting origin");
			goto done;
		}
	}
	if (git_oid_fromstr(&oid, o->sha) < 0 ||
	    git_commit_lookup(&commit, repo, &oid) < 0) {
		err_set(e, ERR_NOT_FOUND, "commit %s is not in the mirror of %s",
			o->sha, red);
		goto done;
	}
	git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
	co.checkout_strategy = GIT_CHECKOUT_FORCE;
	if (o->clean)
		co.checkout_strategy |= GIT_CHECKOUT_REMOVE_UNTRACKED |
					GIT_CHECKOUT_REMOVE_IGNORED;
	/* a new, empty work tree is written by gantry itself (faster);
	 * anything else goes through libgit2's checkout */
	fw = gitx_write_worktree(repo, commit, o->dir, real, e);
	if (fw < 0)
		goto done;
	grc = fw == 0 ? 0 : git_checkout_tree(repo, (const git_object *)commit, &co);
	if (grc == 0 && head_is(repo, o->ref, &oid)) {
		/* the branch (or detached HEAD) is there already: each ref
		 * write is a file written, and a run of the same commit
		 * again (the agent, a re-run) needs none */
	} else if (grc == 0 && o->ref && str_starts_with(o->ref, "refs/heads/")) {
		grc = git_reference_create(&branch, repo, o->ref, &oid, 1,
					   "gantry: checkout");
		if (grc == 0)
			grc = git_repository_set_head(repo, o->ref);
	} else if (grc == 0) {
		grc = git_repository_set_head_detached(repo, &oid);
	}
	if (grc < 0) {
		gitx_fail(e, grc, NULL, red, o->dir, "checkout");
		goto done;
	}
	touch(o->mirror, LAST_USED);
	if (stats)
		stats->checkout_ms = ms_since(t0);
	rc = 0;
done:
	git_reference_free(branch);
	git_commit_free(commit);
	git_remote_free(remote);
	git_repository_free(repo);
	free(alt);
	free(real);
	free(red);
	return rc;
}
