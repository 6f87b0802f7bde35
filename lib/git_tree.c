/*
 * git_tree: write a commit's tree into an empty work tree, fast.
 *
 * libgit2's checkout is general (it compares, filters, protects) and spends
 * most of its time on a fresh checkout resolving each path again and again
 * (a dozen readlink calls a file). For the common case, a new work tree
 * that is empty but for .git, this writes the files itself, from the
 * mirror's objects, with a few threads (each with its own repository
 * handle, as libgit2 wants), then builds the index from the tree and the
 * stat data of the files just written, so `git status` is clean.
 *
 * It declines (returns 1, nothing written that the caller must undo but
 * the folders it made) when the tree asks for what only libgit2's checkout
 * does: a .gitattributes anywhere (filters, eol), a name git protects
 * (.git in any case) or a name that is not a plain file name. Files are
 * created with O_EXCL and O_NOFOLLOW, so a link in the tree can never be
 * written through.
 */
#include "git.h"
#include "git_int.h"
#include "buf.h"
#include "fs.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TW_THREADS 4

struct tw_entry {
	char *path;		/* relative to the work tree, owned */
	git_oid oid;
	git_filemode_t mode;
	struct stat st;
};

struct tw {
	const char *dir;
	const char *mirror;
	struct tw_entry *v;
	size_t n, alloc;
	size_t next;		/* next entry to write, under mu */
	pthread_mutex_t mu;
	bool decline;
	int err;		/* errno of the first failure */
	char *err_path;		/* owned */
};

static bool plain_name(const char *name)
{
	if (!*name || !strcmp(name, ".") || !strcmp(name, "..") || strchr(name, '/') ||
	    strchr(name, '\\'))
		return false;
	if (!str_casecmp(name, ".git") || !str_casecmp(name, ".gitattributes"))
		return false;
	return true;
}

static int walk_cb(const char *root, const git_tree_entry *te, void *payload)
{
	struct tw *t = payload;
	const char *name = git_tree_entry_name(te);
	git_object_t type = git_tree_entry_type(te);
	char *rel, *abs;

	if (!plain_name(name)) {
		t->decline = true;
		return -1;
	}
	rel = xasprintf("%s%s", root, name);
	if (type == GIT_OBJECT_TREE || type == GIT_OBJECT_COMMIT) {
		/* a folder; a submodule is an empty folder until updated */
		abs = fs_join(t->dir, rel);
		if (mkdir(abs, 0755) < 0) {
			t->err = errno;
			t->err_path = abs;
			free(rel);
			return -1;
		}
		free(abs);
		free(rel);
		return 0;
	}
	if (type != GIT_OBJECT_BLOB) {
		free(rel);
		t->decline = true;
		return -1;
	}
	ALLOC_GROW(t->v, t->n + 1, t->alloc);
	t->v[t->n].path = rel;
	git_oid_cpy(&t->v[t->n].oid, git_tree_entry_id(te));
	t->v[t->n].mode = git_tree_entry_filemode(te);
	t->n++;
	return 0;
}

static int write_entry(struct tw *t, git_odb *odb, struct tw_entry *en)
{
	git_odb_object *obj = NULL;
	char *abs = fs_join(t->dir, en->path);
	int ret = -1, fd;

	if (git_odb_read(&obj, odb, &en->oid) < 0) {
		errno = ENOENT;
		goto done;
	}
	if (en->mode == GIT_FILEMODE_LINK) {
		char *target = xstrndup(git_odb_object_data(obj), git_odb_object_size(obj));
		int r = symlink(target, abs);

		free(target);
		if (r < 0 || lstat(abs, &en->st) < 0)
			goto done;
		ret = 0;
		goto done;
	}
	fd = open(abs, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  en->mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644);
	if (fd < 0)
		goto done;
	if (fs_write_all(fd, git_odb_object_data(obj), git_odb_object_size(obj)) < 0 ||
	    fstat(fd, &en->st) < 0) {
		int err = errno;

		close(fd);
		errno = err;
		goto done;
	}
	if (close(fd) < 0)
		goto done;
	ret = 0;
done:
	if (ret < 0) {
		pthread_mutex_lock(&t->mu);
		if (!t->err) {
			t->err = errno ? errno : EIO;
			t->err_path = abs;
			abs = NULL;
		}
		pthread_mutex_unlock(&t->mu);
	}
	git_odb_object_free(obj);
	free(abs);
	return ret;
}

static void *worker(void *arg)
{
	struct tw *t = arg;
	git_repository *repo = NULL;
	git_odb *odb = NULL;

	if (git_repository_open_bare(&repo, t->mirror) < 0 ||
	    git_repository_odb(&odb, repo) < 0) {
		pthread_mutex_lock(&t->mu);
		if (!t->err) {
			t->err = EIO;
			t->err_path = xstrdup(t->mirror);
		}
		pthread_mutex_unlock(&t->mu);
		goto done;
	}
	for (;;) {
		size_t i;
		bool stop;

		pthread_mutex_lock(&t->mu);
		stop = t->err != 0 || t->next >= t->n;
		i = t->next++;
		pthread_mutex_unlock(&t->mu);
		if (stop || write_entry(t, odb, &t->v[i]) < 0)
			break;
	}
done:
	git_odb_free(odb);
	git_repository_free(repo);
	return NULL;
}

/* The index from the tree, with the stat data of the files written, so
 * that git sees an unmodified work tree without hashing every file. */
static int write_index(git_repository *repo, git_tree *tree, struct tw *t,
		       struct err *e)
{
	git_index *idx = NULL;
	int ret = -1;

	if (git_repository_index(&idx, repo) < 0 || git_index_read_tree(idx, tree) < 0)
		goto fail;
	for (size_t i = 0; i < t->n; i++) {
		const git_index_entry *ie = git_index_get_bypath(idx, t->v[i].path, 0);
		const struct stat *st = &t->v[i].st;
		git_index_entry ne;

		if (!ie)
			continue;
		ne = *ie;
		ne.path = t->v[i].path;	/* ours: the add may free ie's */
		ne.ctime.seconds = (int32_t)st->st_ctim.tv_sec;
		ne.ctime.nanoseconds = (uint32_t)st->st_ctim.tv_nsec;
		ne.mtime.seconds = (int32_t)st->st_mtim.tv_sec;
		ne.mtime.nanoseconds = (uint32_t)st->st_mtim.tv_nsec;
		ne.dev = (uint32_t)st->st_dev;
		ne.ino = (uint32_t)st->st_ino;
		ne.uid = (uint32_t)st->st_uid;
		ne.gid = (uint32_t)st->st_gid;
		ne.file_size = (uint32_t)st->st_size;
		if (git_index_add(idx, &ne) < 0)
			goto fail;
	}
	if (git_index_write(idx) < 0)
		goto fail;
	ret = 0;
	goto done;
fail:
	gitx_fail(e, -1, NULL, t->dir, t->dir, "writing the index");
done:
	git_index_free(idx);
	return ret;
}

/* Only .git in dir: the work tree is new. */
static bool only_git(const char *dir)
{
	char *p;
	bool empty = true;
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return false;
	while ((de = readdir(d))) {
		p = de->d_name;
		if (strcmp(p, ".") && strcmp(p, "..") && strcmp(p, ".git")) {
			empty = false;
			break;
		}
	}
	closedir(d);
	return empty;
}

int gitx_write_worktree(git_repository *repo, const git_commit *commit,
			const char *dir, const char *mirror, struct err *e)
{
	struct tw t;
	git_tree *tree = NULL;
	pthread_t th[TW_THREADS];
	int nth = 0, ret = -1;

	if (!only_git(dir))
		return 1;
	memset(&t, 0, sizeof(t));
	t.dir = dir;
	t.mirror = mirror;
	pthread_mutex_init(&t.mu, NULL);
	if (git_commit_tree(&tree, commit) < 0) {
		gitx_fail(e, -1, NULL, dir, dir, "reading the commit's tree");
		goto done;
	}
	if (git_tree_walk(tree, GIT_TREEWALK_PRE, walk_cb, &t) < 0 && !t.err &&
	    !t.decline) {
		gitx_fail(e, -1, NULL, dir, dir, "walking the commit's tree");
		goto done;
	}
	if (t.decline) {
		ret = 1;
		goto done;
	}
	for (int i = 0; i < TW_THREADS && !t.err && (size_t)i * 64 < t.n + 63; i++)
		if (pthread_create(&th[nth], NULL, worker, &t) == 0)
			nth++;
	if (nth == 0)
		worker(&t);	/* no thread could start: write them here */
	for (int i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	if (t.err) {
		errno = t.err;
		err_sys(e, t.err == ENOSPC ? ERR_IO : ERR_IO, "%s %s",
			t.err == ENOSPC ? "disk full while writing" : "cannot write",
			t.err_path ? t.err_path : dir);
		goto done;
	}
	if (write_index(repo, tree, &t, e) < 0)
		goto done;
	ret = 0;
done:
	for (size_t i = 0; i < t.n; i++)
		free(t.v[i].path);
	free(t.v);
	free(t.err_path);
	git_tree_free(tree);
	pthread_mutex_destroy(&t.mu);
	return ret;
}
