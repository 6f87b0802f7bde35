#include "fs.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int fs_read_file(struct buf *b, const char *path, struct err *e)
{
	char chunk[65536];
	int fd, ret = -1;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno == ENOENT ? ERR_NOT_FOUND : ERR_IO,
			       "cannot open %s", path);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_sys(e, ERR_IO, "cannot read %s", path);
			goto done;
		}
		if (n == 0)
			break;
		if (buf_add(b, chunk, (size_t)n) < 0) {
			err_set(e, ERR_LIMIT, "%s is larger than %zu bytes",
				path, b->max);
			goto done;
		}
	}
	ret = 0;
done:
	close(fd);
	return ret;
}

int fs_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;	/* no progress: stop rather than spin */
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fs_write_file(const char *path, const void *data, size_t len, mode_t mode,
		  struct err *e)
{
	char *tmp = xasprintf("%s.tmp-XXXXXX", path);
	int fd, ret = -1;

	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		err_sys(e, ERR_IO, "cannot create %s", tmp);
		goto done;
	}
	if (fchmod(fd, mode) < 0 || fs_write_all(fd, data, len) < 0) {
		err_sys(e, ERR_IO, "cannot write %s", path);
		close(fd);
		unlink(tmp);
		goto done;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		err_sys(e, ERR_IO, "cannot write %s", path);
		unlink(tmp);
		goto done;
	}
	ret = 0;
done:
	free(tmp);
	return ret;
}

/* path.tmp-XXXXXX with six random letters and digits (from the clock and
 * pid when getrandom fails: O_EXCL keeps a guessed name safe anyway). */
static char *tmp_name_beside(const char *path)
{
	static const char chars[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	static unsigned counter;
	unsigned char r[6];
	char suffix[7];

	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		struct timespec ts;
		unsigned long v;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		v = (unsigned long)ts.tv_nsec ^ (unsigned long)ts.tv_sec << 20 ^
		    (unsigned long)getpid() << 8 ^ counter++;
		for (size_t i = 0; i < sizeof(r); i++, v = v * 2654435761u + 1)
			r[i] = (unsigned char)(v >> 11);
	}
	for (size_t i = 0; i < sizeof(r); i++)
		suffix[i] = chars[r[i] % (sizeof(chars) - 1)];
	suffix[6] = '\0';
	return xasprintf("%s.tmp-%s", path, suffix);
}

int fs_write_file_sync(const char *path, const void *data, size_t len,
		       mode_t mode, struct err *e)
{
	char *tmp = NULL, *dir = NULL;
	int fd = -1, dfd = -1, ret = -1;
	bool created = false;

	for (int tries = 0; fd < 0 && tries < 100; tries++) {
		free(tmp);
		tmp = tmp_name_beside(path);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY,
			  mode);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		err_sys(e, ERR_IO, "cannot create a temporary file beside %s", path);
		goto done;
	}
	created = true;
	/* fchmod: exactly mode, whatever the umask */
	if (fchmod(fd, mode) < 0 || fs_write_all(fd, data, len) < 0 ||
	    fsync(fd) < 0) {
		err_sys(e, ERR_IO, "cannot write %s", path);
		goto done;
	}
	if (close(fd) < 0) {
		fd = -1;
		err_sys(e, ERR_IO, "cannot write %s", path);
		goto done;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		err_sys(e, ERR_IO, "cannot write %s", path);
		goto done;
	}
	created = false;	/* it is path now */
	dir = fs_dirname(path);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0) {
		err_sys(e, ERR_IO, "wrote %s, but cannot sync its folder %s",
			path, dir);
		goto done;
	}
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (created)
		unlink(tmp);
	free(tmp);
	free(dir);
	return ret;
}

int fs_append_file(const char *path, const void *data, size_t len,
		   struct err *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	int ret = 0;

	if (fd < 0)
		return err_sys(e, ERR_IO, "cannot open %s", path);
	if (fs_write_all(fd, data, len) < 0)
		ret = err_sys(e, ERR_IO, "cannot write %s", path);
	close(fd);
	return ret;
}

int fs_mkdirs(const char *path, mode_t mode, struct err *e)
{
	char *p = xstrdup(path);
	int ret = 0;

	for (char *s = p + 1; ; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			ret = err_sys(e, ERR_IO, "cannot create folder %s", p);
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	if (!ret && !fs_is_dir(path))
		ret = err_set(e, ERR_IO, "%s exists and is not a folder", path);
	free(p);
	return ret;
}

int fs_mkdtemp(char **out, const char *prefix, struct err *e)
{
	const char *base = getenv("TMPDIR");
	char *tmpl;

	if (!base || !*base)
		base = "/tmp";
	tmpl = xasprintf("%s/%s-XXXXXX", base, prefix);
	if (!mkdtemp(tmpl)) {
		err_sys(e, ERR_IO, "cannot create a temporary folder in %s", base);
		free(tmpl);
		return -1;
	}
	*out = tmpl;
	return 0;
}

static int remove_at(int parent, const char *name, int depth)
{
	struct stat st;
	int ret = 0;

	if (depth > 256)
		return -1;
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (S_ISDIR(st.st_mode)) {
		int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *d;
		struct dirent *de;

		if (fd < 0)
			return -1;
		d = fdopendir(fd);
		if (!d) {
			close(fd);
			return -1;
		}
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (remove_at(dirfd(d), de->d_name, depth + 1) < 0)
				ret = -1;
		}
		closedir(d);
		if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			ret = -1;
		return ret;
	}
	if (unlinkat(parent, name, 0) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

int fs_remove_tree(const char *path, struct err *e)
{
	if (remove_at(AT_FDCWD, path, 0) < 0)
		return err_sys(e, ERR_IO, "cannot remove %s", path);
	return 0;
}

bool fs_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

bool fs_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool fs_rel_inside(const char *p)
{
	return *p && p[0] != '/' && strcmp(p, "..") != 0 &&
	       !str_starts_with(p, "../") && !strstr(p, "/../") &&
	       !str_ends_with(p, "/..");
}

char *fs_join(const char *a, const char *b)
{
	size_t n = strlen(a);

	if (b[0] == '/' || !n)
		return xstrdup(b);
	if (a[n - 1] == '/')
		return xasprintf("%s%s", a, b);
	return xasprintf("%s/%s", a, b);
}

char *fs_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

char *fs_realpath(const char *path)
{
	return realpath(path, NULL);
}

bool fs_inside(const char *root, const char *path)
{
	char *p = xstrdup(path), *real = NULL;
	size_t n = root ? strlen(root) : 0;
	bool ok;

	for (int i = 0; i < 256 && !(real = fs_realpath(p)); i++) {
		char *parent = fs_dirname(p);

		if (!parent || !strcmp(parent, p)) {
			free(parent);
			break;
		}
		free(p);
		p = parent;
	}
	ok = real && n && !strncmp(real, root, n) &&
	     (real[n] == '/' || !real[n] || (n == 1 && root[0] == '/'));
	free(real);
	free(p);
	return ok;
}

char *fs_which(const char *name, const char *path_list)
{
	const char *p = path_list;

	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? xstrdup(name) : NULL;
	while (p && *p) {
		const char *colon = strchr(p, ':');
		size_t n = colon ? (size_t)(colon - p) : strlen(p);
		char *dir = n ? xstrndup(p, n) : xstrdup(".");
		char *cand = fs_join(dir, name);

		free(dir);
		if (access(cand, X_OK) == 0 && !fs_is_dir(cand))
			return cand;
		free(cand);
		p = colon ? colon + 1 : NULL;
	}
	return NULL;
}

char *fs_user_cache_dir(const char *sub)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	if (xdg && *xdg == '/')
		return xasprintf("%s/gantry/%s", xdg, sub);
	if (home && *home == '/')
		return xasprintf("%s/.cache/gantry/%s", home, sub);
	return NULL;
}
