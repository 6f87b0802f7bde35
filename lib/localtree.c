/*
 * localtree: the regular files under a folder, for a sync. See localtree.h.
 *
 * The walk holds a folder open and looks at each entry relative to it
 * (openat/fstatat), so a path is never resolved twice from the root.
 * Without following, an entry is looked at with AT_SYMLINK_NOFOLLOW and
 * opened with O_NOFOLLOW, so a link put in place during the walk is not
 * followed either. Following, the device and inode of each folder on the
 * current path are kept: a folder met again below itself is a loop.
 *
 * As the AWS CLI (awscli/customizations/s3/filegenerator.py), a file is
 * listed only if it can be opened for reading (it is opened and closed
 * again: that is the CLI's test too), a folder only if it can be opened;
 * without following, links are skipped silently; following, a link
 * that leads nowhere warns "File does not exist.". Warnings are the CLI's
 * text without its "warning: " prefix, naming the absolute path.
 */
#include "localtree.h"
#include "buf.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MD5_CHUNK (1u << 20)

#define WHY_UNREADABLE "File/Directory is not readable."
#define WHY_MISSING "File does not exist."
#define WHY_SPECIAL "File is character special device, block special " \
	"device, FIFO, or socket."
#define WHY_LOOP "File/Directory is a symbolic link loop."

struct dir_id {
	dev_t dev;
	ino_t ino;
};

struct walk {
	struct localtree *out;		/* borrowed */
	bool follow;
	localtree_warn_fn warn;
	void *arg;
	const char *abs_root;		/* borrowed */
	struct buf rel;			/* the entry being looked at */
	struct dir_id *path;		/* owned: folders from the root down */
	size_t depth, alloc;
	struct err *e;
};

/* Append the parts of path to b ("/a/b"): "." and empty parts dropped,
 * ".." taking the part before it. */
static void add_parts(struct buf *b, const char *p)
{
	while (*p) {
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			char *slash = strrchr(b->ptr, '/');

			buf_truncate(b, slash ? (size_t)(slash - b->ptr) : 0);
		} else if (n && !(n == 1 && p[0] == '.')) {
			buf_addch(b, '/');
			buf_add(b, p, n);
		}
		p += n;
	}
}

/* root as an absolute path, made lexically as Python's os.path.abspath
 * (which the CLI's messages use). Caller frees. */
static char *abs_path(const char *root)
{
	struct buf b = BUF_INIT;

	if (root[0] != '/') {
		char *cwd = getcwd(NULL, 0);

		if (!cwd)
			return xstrdup(root);
		add_parts(&b, cwd);
		free(cwd);
	}
	add_parts(&b, root);
	if (!b.len)
		buf_addch(&b, '/');
	return buf_detach(&b, NULL);
}

/* The absolute path of the entry being looked at. Caller frees. */
static char *entry_path(const struct walk *w)
{
	if (!w->rel.len)
		return xstrdup(w->abs_root);
	if (!strcmp(w->abs_root, "/"))
		return xasprintf("/%s", w->rel.ptr);
	return xasprintf("%s/%s", w->abs_root, w->rel.ptr);
}

static void skip(struct walk *w, const char *why)
{
	char *path = entry_path(w), *msg;

	msg = xasprintf("Skipping file %s. %s", path, why);
	if (w->warn)
		w->warn(w->arg, msg);
	free(msg);
	free(path);
	w->out->skipped++;
	if (w->rel.len)
		strv_push(&w->out->skipped_rel, w->rel.ptr);
}

/* Warn for a failed stat or open of the entry. */
static void skip_errno(struct walk *w, int errnum)
{
	char *why;

	switch (errnum) {
	case EACCES:
	case EPERM:
		skip(w, WHY_UNREADABLE);
		return;
	case ENOENT:
	case ENOTDIR:
		skip(w, WHY_MISSING);
		return;
	case ELOOP:
		skip(w, WHY_LOOP);
		return;
	}
	why = xasprintf("%s.", strerror(errnum));
	skip(w, why);
	free(why);
}

static int add_file(struct walk *w, const char *rel, const struct stat *st)
{
	struct localtree *t = w->out;
	struct localfile *f;

	if (t->n >= LOCALTREE_FILES_MAX)
		return err_set(w->e, ERR_LIMIT,
			       "%s holds more than %d files", w->abs_root,
			       LOCALTREE_FILES_MAX);
	ALLOC_GROW(t->files, t->n + 1, t->alloc);
	f = &t->files[t->n++];
	f->rel = xstrdup(rel);
	f->size = st->st_size;
	f->mtime_ns = (long long)st->st_mtim.tv_sec * 1000000000LL +
		      st->st_mtim.tv_nsec;
	return 0;
}

/* An entry opened for reading (not through a link unless following)
 * and its stat; -1 with the entry recorded as skipped when either fails. */
static int open_entry(struct walk *w, int dfd, const char *name, int flags,
		      struct stat *st)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | flags |
			(w->follow ? 0 : O_NOFOLLOW));

	if (fd < 0) {
		skip_errno(w, errno);
		return -1;
	}
	if (fstat(fd, st) < 0) {
		skip_errno(w, errno);
		close(fd);
		return -1;
	}
	return fd;
}

static int walk_dir(struct walk *w, int fd);

/* A folder entry: open it, refuse loops and depth, walk it. */
static int enter_dir(struct walk *w, int dfd, const char *name)
{
	struct stat st;
	size_t i;
	int fd;

	fd = open_entry(w, dfd, name, O_DIRECTORY, &st);
	if (fd < 0)
		return 0;
	for (i = 0; i < w->depth; i++) {
		if (w->path[i].dev == st.st_dev && w->path[i].ino == st.st_ino) {
			skip(w, WHY_LOOP);
			close(fd);
			return 0;
		}
	}
	if (w->depth > LOCALTREE_DEPTH_MAX) {
		char *path = entry_path(w);

		err_set(w->e, ERR_LIMIT, "%s is more than %d folders deep",
			path, LOCALTREE_DEPTH_MAX);
		free(path);
		close(fd);
		return -1;
	}
	ALLOC_GROW(w->path, w->depth + 1, w->alloc);
	w->path[w->depth].dev = st.st_dev;
	w->path[w->depth].ino = st.st_ino;
	w->depth++;
	if (walk_dir(w, fd) < 0)
		return -1;
	w->depth--;
	return 0;
}

/* A file entry: listed when it opens for reading and is still regular. */
static int take_file(struct walk *w, int dfd, const char *name)
{
	struct stat st;
	int fd;

	fd = open_entry(w, dfd, name, O_NONBLOCK | O_NOCTTY, &st);
	if (fd < 0)
		return 0;
	close(fd);
	if (!S_ISREG(st.st_mode)) {	/* replaced since the fstatat */
		if (S_ISDIR(st.st_mode))
			skip_errno(w, EISDIR);
		else
			skip(w, WHY_SPECIAL);
		return 0;
	}
	return add_file(w, w->rel.ptr, &st);
}

static int look_at(struct walk *w, int dfd, const char *name)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		skip_errno(w, errno);
		return 0;
	}
	if (S_ISLNK(st.st_mode)) {
		if (!w->follow)
			return 0;	/* the CLI skips these silently */
		if (fstatat(dfd, name, &st, 0) < 0) {
			skip_errno(w, errno);	/* dangling, or a chain loop */
			return 0;
		}
	}
	if (S_ISDIR(st.st_mode))
		return enter_dir(w, dfd, name);
	if (S_ISREG(st.st_mode))
		return take_file(w, dfd, name);
	skip(w, WHY_SPECIAL);
	return 0;
}

/* Walk the folder open at fd (taken over), whose rel is w->rel. */
static int walk_dir(struct walk *w, int fd)
{
	size_t prefix = w->rel.len;
	struct dirent *de;
	int ret = -1;
	DIR *d;

	d = fdopendir(fd);
	if (!d) {
		char *path = entry_path(w);

		err_sys(w->e, ERR_IO, "cannot list %s", path);
		free(path);
		close(fd);
		return -1;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno) {
				char *path;

				buf_truncate(&w->rel, prefix);
				path = entry_path(w);
				err_sys(w->e, ERR_IO, "cannot list %s", path);
				free(path);
				goto done;
			}
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		buf_truncate(&w->rel, prefix);
		if (prefix)
			buf_addch(&w->rel, '/');
		buf_adds(&w->rel, de->d_name);
		if (look_at(w, dirfd(d), de->d_name) < 0)
			goto done;
	}
	ret = 0;
done:
	buf_truncate(&w->rel, prefix);
	closedir(d);
	return ret;
}

static int file_cmp(const void *a, const void *b)
{
	const struct localfile *x = a, *y = b;

	return strcmp(x->rel, y->rel);
}

/* root is a file: list it as its base name. */
static int list_one(struct walk *w, const char *root)
{
	const char *base = strrchr(root, '/');
	struct stat st;
	int fd;

	base = base ? base + 1 : root;
	fd = open(root, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(w->e, errno == ENOENT ? ERR_NOT_FOUND : ERR_IO,
			       "cannot read %s", root);
	if (fstat(fd, &st) < 0) {
		err_sys(w->e, ERR_IO, "cannot read %s", root);
		close(fd);
		return -1;
	}
	close(fd);
	if (!S_ISREG(st.st_mode)) {
		skip(w, WHY_SPECIAL);
		return 0;
	}
	return add_file(w, base, &st);
}

int localtree_list(struct localtree *out, const char *root, bool follow,
		   localtree_warn_fn warn, void *arg, struct err *e)
{
	struct walk w = { .out = out, .follow = follow, .warn = warn,
			  .arg = arg, .rel = BUF_INIT, .e = e };
	struct stat st;
	char *abs = NULL;
	int fd, ret = -1;

	memset(out, 0, sizeof(*out));
	/* The root itself is always followed (as find -H). */
	if (stat(root, &st) < 0) {
		err_sys(e, errno == ENOENT || errno == ENOTDIR ? ERR_NOT_FOUND
			: ERR_IO, "cannot list %s", root);
		goto done;
	}
	abs = abs_path(root);
	w.abs_root = abs;
	if (!S_ISDIR(st.st_mode)) {
		ret = 0;
		if (S_ISREG(st.st_mode))
			ret = list_one(&w, root);
		else
			skip(&w, WHY_SPECIAL);
		goto done;
	}
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		err_sys(e, errno == ENOENT ? ERR_NOT_FOUND : ERR_IO,
			"cannot list %s", root);
		if (fd >= 0)
			close(fd);
		goto done;
	}
	ALLOC_GROW(w.path, 1, w.alloc);
	w.path[0].dev = st.st_dev;
	w.path[0].ino = st.st_ino;
	w.depth = 1;
	ret = walk_dir(&w, fd);
done:
	if (ret < 0)
		localtree_release(out);
	else if (out->n > 1)
		qsort(out->files, out->n, sizeof(*out->files), file_cmp);
	buf_release(&w.rel);
	free(w.path);
	free(abs);
	return ret;
}

void localtree_release(struct localtree *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->files[i].rel);
	free(t->files);
	strv_release(&t->skipped_rel);
	memset(t, 0, sizeof(*t));
}

int localtree_md5(char out[33], const char *path, struct err *e)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	EVP_MD_CTX *ctx = NULL;
	char *chunk = NULL;
	int fd, ret = -1;
	ssize_t n;

	fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno == ENOENT ? ERR_NOT_FOUND : ERR_IO,
			       "cannot read %s", path);
	ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_md5(), NULL)) {
		err_set(e, ERR_INTERNAL, "MD5 of %s: OpenSSL has no MD5", path);
		goto done;
	}
	chunk = xmalloc(MD5_CHUNK);
	for (;;) {
		n = read(fd, chunk, MD5_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_sys(e, ERR_IO, "cannot read %s", path);
			goto done;
		}
		if (n == 0)
			break;
		if (!EVP_DigestUpdate(ctx, chunk, (size_t)n)) {
			err_set(e, ERR_INTERNAL, "MD5 of %s failed", path);
			goto done;
		}
	}
	if (!EVP_DigestFinal_ex(ctx, md, &mdlen) || mdlen != 16) {
		err_set(e, ERR_INTERNAL, "MD5 of %s failed", path);
		goto done;
	}
	for (i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[32] = '\0';
	ret = 0;
done:
	free(chunk);
	EVP_MD_CTX_free(ctx);
	close(fd);
	return ret;
}
