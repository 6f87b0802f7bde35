/*
 * hashfiles: the hashFiles() expression function. The files under the
 * workspace that the patterns match (GitHub's glob rules, '!' to exclude,
 * the last matching pattern deciding) are hashed one by one with SHA-256
 * in path order, and the digests hashed again into one hex string, as
 * GitHub's runner does; no match gives "". The walk is bounded in depth
 * and file count and follows symbolic links only to plain files inside
 * the workspace.
 */
#include "job_int.h"
#include "../lib/buf.h"
#include "../lib/fs.h"
#include "../lib/util.h"
#include "../workflows/filter.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HASH_MAX_FILES 200000
#define HASH_MAX_DEPTH 64

struct walk {
	const char *root;
	char *real_root;		/* root with its links resolved */
	const char *const *pats;	/* patterns relative to the root */
	size_t n;
	struct strv found;
	size_t seen;
	struct err *e;
};

/* A symbolic link is hashed when it leads to a plain file inside the
 * workspace: gantry hashes with its own rights, outside the sandbox, so a
 * link a step made must not lead it to a FIFO (which would block), a
 * device, or a host file the step cannot read. */
static bool link_ok(const struct walk *w, const char *full)
{
	struct stat st;
	char *real;
	size_t rl;
	bool ok;

	if (!w->real_root || stat(full, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	real = fs_realpath(full);
	rl = strlen(w->real_root);
	ok = real && !strncmp(real, w->real_root, rl) && real[rl] == '/';
	free(real);
	return ok;
}

static int walk_dir(struct walk *w, const char *rel, int depth)
{
	char *abs = *rel ? fs_join(w->root, rel) : xstrdup(w->root);
	DIR *d = opendir(abs);
	struct dirent *de;
	int ret = 0;

	free(abs);
	if (!d)
		return 0;	/* unreadable folders are skipped, as GitHub does */
	while ((de = readdir(d)) && ret == 0) {
		char *p;
		struct stat st;
		char *full;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (++w->seen > HASH_MAX_FILES) {
			ret = err_set(w->e, ERR_LIMIT, "hashFiles: more than %d files under %s",
				      HASH_MAX_FILES, w->root);
			break;
		}
		p = *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		full = fs_join(w->root, p);
		if (lstat(full, &st) == 0) {
			if (S_ISDIR(st.st_mode)) {
				if (depth < HASH_MAX_DEPTH && strcmp(p, ".git"))
					ret = walk_dir(w, p, depth + 1);
			} else if ((S_ISREG(st.st_mode) || link_ok(w, full)) &&
				   filter_list(w->pats, w->n, p)) {
				strv_push(&w->found, p);
			}
		}
		free(full);
		free(p);
	}
	closedir(d);
	return ret;
}

static int file_digest(unsigned char out[32], const char *path, struct err *e)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char chunk[65536];
	unsigned int len = 32;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), ret = -1;
	struct stat st;
	ssize_t n;

	if (fd < 0 || !ctx) {
		err_sys(e, ERR_IO, "hashFiles: cannot read %s", path);
		goto done;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		/* replaced since the walk saw it */
		err_set(e, ERR_INVALID, "hashFiles: %s is no longer a plain file", path);
		goto done;
	}
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		EVP_DigestUpdate(ctx, chunk, (size_t)n);
	}
	if (n < 0) {
		err_sys(e, ERR_IO, "hashFiles: cannot read %s", path);
		goto done;
	}
	EVP_DigestFinal_ex(ctx, out, &len);
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(ctx);
	return ret;
}

int hashfiles(char **out, void *ud, const char *const *patterns, size_t n,
	      struct err *e)
{
	const char *root = ud;
	struct walk w = { 0 };
	struct strv rel = STRV_INIT;
	EVP_MD_CTX *all = NULL;
	unsigned char d[32];
	unsigned int len = 32;
	int ret = -1;

	/* patterns relative to the workspace: strip "./" and the root */
	for (size_t i = 0; i < n; i++) {
		const char *p = patterns[i];
		bool neg = *p == '!';
		size_t rl = strlen(root);

		if (neg)
			p++;
		if (!strncmp(p, root, rl) && p[rl] == '/')
			p += rl + 1;
		while (!strncmp(p, "./", 2))
			p += 2;
		strv_pushf(&rel, "%s%s", neg ? "!" : "", p);
	}
	w.root = root;
	w.real_root = fs_realpath(root);
	w.pats = (const char *const *)rel.v;
	w.n = rel.n;
	w.e = e;
	if (walk_dir(&w, "", 0) < 0)
		goto done;
	if (!w.found.n) {
		*out = xstrdup("");
		ret = 0;
		goto done;
	}
	strv_sort(&w.found, 0);
	all = EVP_MD_CTX_new();
	EVP_DigestInit_ex(all, EVP_sha256(), NULL);
	for (size_t i = 0; i < w.found.n; i++) {
		char *full = fs_join(root, w.found.v[i]);
		int r = file_digest(d, full, e);

		free(full);
		if (r < 0)
			goto done;
		EVP_DigestUpdate(all, d, sizeof(d));
	}
	EVP_DigestFinal_ex(all, d, &len);
	{
		char hex[65];

		hex_lower(hex, d, 32);
		*out = xstrdup(hex);
	}
	ret = 0;
done:
	EVP_MD_CTX_free(all);
	strv_release(&rel);
	strv_release(&w.found);
	free(w.real_root);
	return ret;
}
