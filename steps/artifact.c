/*
 * artifact: what upload-artifact and download-artifact share (see
 * artifact.h).
 */
#include "artifact.h"
#include "../lib/aws/sigv4.h"
#include "../lib/buf.h"
#include "../lib/fs.h"
#include "../lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- roots ---------------------------------------------------------- */

static size_t trimmed_len(const char *p)
{
	size_t n = strlen(p);

	while (n > 1 && p[n - 1] == '/')
		n--;
	return n;
}

void art_roots_init(struct art_roots *r, const struct step_ctx *c)
{
	memset(r, 0, sizeof(*r));
	r->dir[r->n] = c->workspace;
	r->real[r->n++] = fs_realpath(c->workspace);
	if (c->runner_temp && strcmp(c->runner_temp, c->workspace)) {
		r->dir[r->n] = c->runner_temp;
		r->real[r->n++] = fs_realpath(c->runner_temp);
	}
}

void art_roots_release(struct art_roots *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->real[i]);
	memset(r, 0, sizeof(*r));
}

/* Whether p is dir or below it; *rel gets the part after "dir/". */
static bool under(const char *p, const char *dir, const char **rel)
{
	size_t n = trimmed_len(dir);

	if (n == 1 && dir[0] == '/') {
		*rel = p + 1;
		return p[0] == '/';
	}
	if (strncmp(p, dir, n) || (p[n] && p[n] != '/'))
		return false;
	*rel = p[n] ? p + n + 1 : p + n;
	return true;
}

int art_roots_find(const struct art_roots *r, const char *abs,
		   const char **rel)
{
	/* the longest root first: RUNNER_TEMP may lie in the workspace */
	int best = -1;
	size_t best_len = 0;

	for (size_t i = 0; i < r->n; i++) {
		const char *x;

		if (under(abs, r->dir[i], &x) && trimmed_len(r->dir[i]) >= best_len) {
			best = (int)i;
			best_len = trimmed_len(r->dir[i]);
			*rel = x;
		}
	}
	return best;
}

bool art_roots_contain_real(const struct art_roots *r, const char *real)
{
	const char *rel;

	for (size_t i = 0; i < r->n; i++)
		if (r->real[i] && under(real, r->real[i], &rel))
			return true;
	return false;
}

int art_openat_below(int *out, int start, const char *shown, const char *rel,
		     bool create, mode_t mode, struct err *e)
{
	char *copy = xstrdup(rel), *save = NULL;
	struct buf done = BUF_INIT;
	int fd = dup(start), ret = -1;

	if (fd < 0) {
		err_sys(e, ERR_IO, "cannot open %s", shown);
		goto done;
	}
	buf_adds(&done, shown);
	for (char *part = strtok_r(copy, "/", &save); part;
	     part = strtok_r(NULL, "/", &save)) {
		int next;

		if (!strcmp(part, "."))
			continue;
		buf_printf(&done, "/%s", part);
		if (!strcmp(part, "..")) {
			err_set(e, ERR_INVALID, "%s: '..' is not allowed here", done.ptr);
			goto done;
		}
		next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, part, mode) < 0 && errno != EEXIST) {
				err_sys(e, ERR_IO, "cannot make the folder %s", done.ptr);
				goto done;
			}
			next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (next < 0) {
			struct stat st;

			if (errno == ENOENT)
				err_sys(e, ERR_NOT_FOUND, "cannot open %s", done.ptr);
			else if (fstatat(fd, part, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
				 S_ISLNK(st.st_mode))
				err_set(e, ERR_INVALID, "%s is a symbolic link: gantry does not "
					"follow links here (made by an earlier step?)", done.ptr);
			else if (errno == ENOTDIR)
				err_set(e, ERR_INVALID, "%s is not a folder", done.ptr);
			else
				err_sys(e, ERR_IO, "cannot open %s", done.ptr);
			goto done;
		}
		close(fd);
		fd = next;
	}
	*out = fd;
	fd = -1;
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	free(copy);
	buf_release(&done);
	return ret;
}

int art_open_below(int *out, const char *root, const char *rel, bool create,
		   mode_t mode, struct err *e)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd < 0 && errno == ENOENT && create && fs_mkdirs(root, mode, e) == 0)
		fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno == ENOENT ? ERR_NOT_FOUND : ERR_IO,
			       "cannot open %s", root);
	r = art_openat_below(out, fd, root, rel, create, mode, e);
	close(fd);
	return r;
}

/* ---- names ---------------------------------------------------------- */

static const char *bad_char_name(char ch)
{
	switch (ch) {
	case '"': return "double quote \"";
	case ':': return "colon :";
	case '<': return "less than <";
	case '>': return "greater than >";
	case '|': return "vertical bar |";
	case '*': return "asterisk *";
	case '?': return "question mark ?";
	case '\\': return "backslash \\";
	case '/': return "forward slash /";
	case '\r': return "carriage return";
	case '\n': return "line feed";
	default: return NULL;
	}
}

int art_name_check(const char *name, const char *input, struct err *e)
{
	if (!name || !*name)
		return err_set(e, ERR_INVALID, "%s: the artifact name is empty", input);
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return err_set(e, ERR_INVALID, "%s: '%s' is not a valid artifact name",
			       input, name);
	if (strlen(name) > ART_NAME_MAX)
		return err_set(e, ERR_INVALID, "%s: the artifact name is longer than "
			       "%d bytes", input, ART_NAME_MAX);
	for (const char *p = name; *p; p++) {
		const char *why = bad_char_name(*p);

		if (!why && (unsigned char)*p < 0x20)
			why = "control character";
		if (why)
			return err_set(e, ERR_INVALID, "%s: the artifact name is not "
				       "valid: '%s' contains a %s; names may not contain "
				       "\" : < > | * ? \\ / or line breaks", input, name, why);
	}
	return 0;
}

int art_path_check(const char *rel, struct err *e)
{
	for (const char *p = rel; *p; p++) {
		const char *why = *p == '\\' || *p == '/' ? NULL : bad_char_name(*p);

		if (why)
			return err_set(e, ERR_INVALID, "the path of a file in the artifact "
				       "is not valid: '%s' contains a %s; paths may not "
				       "contain \" : < > | * ? or line breaks", rel, why);
	}
	return 0;
}

bool art_entry_ok(const char *name)
{
	size_t parts = 0;

	if (!name || !*name || name[0] == '/' || name[0] == '\\')
		return false;
	for (const char *p = name; *p;) {
		/* '\' counts as a separator too: Windows tools write it */
		size_t n = strcspn(p, "/\\");

		if (n > 255)
			return false;
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return false;
		if (n && !(n == 1 && p[0] == '.'))
			parts++;
		p += n;
		if (*p)
			p++;
	}
	return parts > 0 && parts <= ART_DEPTH_MAX;
}

/* ---- IDs and digests ----------------------------------------------- */

long long art_id(long long run_id, const char *name)
{
	char *s = xasprintf("%lld/%s", run_id, name), hex[65], top[14];

	aws_sha256_hex(hex, s, strlen(s));
	free(s);
	memcpy(top, hex, 13);
	top[13] = '\0';
	return strtoll(top, NULL, 16);
}

int art_sha256_fd(char out[65], int fd, struct err *e)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char chunk[65536], d[32];
	unsigned int len = 32;
	off_t off = 0;
	ssize_t n;

	if (!md)
		return err_set(e, ERR_INTERNAL, "SHA-256: out of memory");
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	while ((n = pread(fd, chunk, sizeof(chunk), off)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			EVP_MD_CTX_free(md);
			return err_sys(e, ERR_IO, "reading the zip");
		}
		EVP_DigestUpdate(md, chunk, (size_t)n);
		off += n;
	}
	EVP_DigestFinal_ex(md, d, &len);
	EVP_MD_CTX_free(md);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
	return 0;
}
