/*
 * artifact_store: the run's artifacts in the artifact store (see
 * artifact_store.h).
 */
#include "artifact_store.h"
#include "stepx.h"
#include "../lib/aws/aws.h"
#include "../lib/aws/creds.h"
#include "../lib/aws/s3.h"
#include "../lib/aws/xfer.h"
#include "../lib/buf.h"
#include "../lib/fs.h"
#include "../lib/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define META_MAX (64 << 10)

int art_store_open(struct art_store *s, struct step_ctx *c, long long run_id,
		   bool create, struct err *e)
{
	char *store = NULL;
	int ret = -1;

	memset(s, 0, sizeof(*s));
	s->dirfd = -1;
	s->run_id = run_id;
	if (c->artifact_store && *c->artifact_store)
		store = xstrdup(c->artifact_store);
	else
		store = fs_join(c->workspace, ".gantry/artifacts");
	if (str_starts_with(store, "s3://")) {
		char *prefix = NULL;

		s->s3 = true;
		if (aws_s3_url_parse(&s->bucket, &prefix, store, e) < 0)
			goto done;
		s->prefix = *prefix ? xasprintf("%s/%lld/", prefix, run_id) :
			    xasprintf("%lld/", run_id);
		free(prefix);
		s->shown = xasprintf("s3://%s/%.*s", s->bucket,
				     (int)strlen(s->prefix) - 1, s->prefix);
		if (c->dry_run) {
			ret = 0;
			goto done;
		}
		{
			struct aws_chain_opts co = { 0 };
			struct aws_client_opts o = { 0 };

			stepx_aws_env(&s->env, c);
			co.env = &s->env;
			aws_credp_chain(&s->creds, &co);
			o.env = &s->env;
			o.creds = s->creds;
			o.ca_bundle = c->ca_bundle;
			if (aws_client_new(&s->cl, &o, e) < 0) {
				err_wrap(e, "artifact store %s", s->shown);
				goto done;
			}
		}
		ret = 0;
		goto done;
	}
	if (store[0] != '/') {
		char *abs = fs_join(c->workspace, store);

		free(store);
		store = abs;
	}
	s->dir = xasprintf("%s/%lld", store, run_id);
	s->shown = xstrdup(s->dir);
	{
		struct art_roots r;
		const char *rel;
		int root, rc;

		art_roots_init(&r, c);
		root = art_roots_find(&r, s->dir, &rel);
		if (root >= 0) {
			/* in the job's folders: no link a step made is followed */
			rc = art_open_below(&s->dirfd, r.dir[root], rel, create, 0700, e);
		} else {
			char *num = xasprintf("%lld", run_id);

			rc = art_open_below(&s->dirfd, store, num, create, 0700, e);
			free(num);
		}
		art_roots_release(&r);
		if (rc < 0 && !create && e->code == ERR_NOT_FOUND) {
			err_clear(e);
			s->dirfd = -1;	/* no artifact yet */
			rc = 0;
		}
		if (rc < 0) {
			err_wrap(e, "artifact store");
			goto done;
		}
	}
	ret = 0;
done:
	free(store);
	return ret;
}

void art_store_release(struct art_store *s)
{
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->shown);
	free(s->dir);
	free(s->bucket);
	free(s->prefix);
	aws_client_free(s->cl);
	aws_credp_free(s->creds);
	strv_release(&s->env);
	memset(s, 0, sizeof(*s));
	s->dirfd = -1;
}

/* file:// URLs carry their path percent-encoded. */
static void url_path(struct buf *b, const char *p)
{
	for (; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("/-._~", ch))
			buf_addch(b, (char)ch);
		else
			buf_printf(b, "%%%02X", ch);
	}
}

char *art_store_url(const struct art_store *s, const char *name)
{
	struct buf b = BUF_INIT;

	if (s->s3) {
		buf_printf(&b, "s3://%s/%s%s.zip", s->bucket, s->prefix, name);
	} else {
		char *p = xasprintf("%s/%s.zip", s->dir, name);

		buf_adds(&b, "file://");
		url_path(&b, p);
		free(p);
	}
	return buf_detach(&b, NULL);
}

/* "<name>.zip" when s names an artifact's zip, else NULL. Owned. */
static char *zip_name(const char *s)
{
	size_t n = strlen(s);
	char *name;
	struct err ignore = ERR_INIT;

	if (n <= 4 || strcmp(s + n - 4, ".zip"))
		return NULL;
	name = xstrndup(s, n - 4);
	if (art_name_check(name, "name", &ignore) < 0) {
		free(name);
		return NULL;
	}
	return name;
}

int art_store_list(struct art_store *s, struct strv *out, struct err *e)
{
	if (s->s3) {
		struct aws_s3_list l;
		size_t pl = strlen(s->prefix);

		if (!s->cl)
			return 0;	/* dry run */
		if (aws_s3_list(&l, s->cl, s->bucket, s->prefix, e) < 0)
			return err_wrap(e, "listing the artifacts in %s", s->shown);
		for (size_t i = 0; i < l.n; i++) {
			char *name;

			if (strncmp(l.v[i].key, s->prefix, pl))
				continue;
			name = zip_name(l.v[i].key + pl);
			if (name)
				strv_push_owned(out, name);
		}
		aws_s3_list_release(&l);
	} else if (s->dirfd >= 0) {
		int fd = dup(s->dirfd);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		struct dirent *de;

		if (!d) {
			if (fd >= 0)
				close(fd);
			return err_sys(e, ERR_IO, "cannot list %s", s->dir);
		}
		rewinddir(d);
		while ((de = readdir(d))) {
			struct stat st;
			char *name = zip_name(de->d_name);

			if (name && fstatat(s->dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISREG(st.st_mode))
				strv_push_owned(out, name);
			else
				free(name);
		}
		closedir(d);
	}
	strv_sort(out, 0);
	return 0;
}

int art_store_exists(struct art_store *s, const char *name, struct err *e)
{
	char *zip = xasprintf("%s.zip", name);
	int r = 0;

	if (s->s3 && s->cl) {
		struct aws_resp resp;
		char *key = xasprintf("%s%s", s->prefix, zip);

		aws_resp_init(&resp);
		if (aws_s3_head(s->cl, s->bucket, key, &resp, e) == 0)
			r = 1;
		else if (resp.status == 404 || e->code == ERR_NOT_FOUND)
			err_clear(e);
		else
			r = err_wrap(e, "artifact store %s", s->shown);
		aws_resp_release(&resp);
		free(key);
	} else if (!s->s3 && s->dirfd >= 0) {
		struct stat st;

		r = fstatat(s->dirfd, zip, &st, AT_SYMLINK_NOFOLLOW) == 0;
	}
	free(zip);
	return r;
}

static void random_suffix(char out[13])
{
	static const char az[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char r[12];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		for (size_t i = 0; i < sizeof(r); i++)
			r[i] = (unsigned char)(time_mono_ns() >> (i % 8));
	for (size_t i = 0; i < sizeof(r); i++)
		out[i] = az[r[i] % (sizeof(az) - 1)];
	out[12] = '\0';
}

/* A new file base.tmp-XXXX in dirfd; *tmp owned. */
static int tmp_in(int dirfd, const char *base, char **tmp, struct err *e)
{
	for (int i = 0; i < 100; i++) {
		char suf[13];
		int fd;

		random_suffix(suf);
		*tmp = xasprintf("%s.tmp-%s", base, suf);
		fd = openat(dirfd, *tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
			    O_CLOEXEC, 0600);
		if (fd >= 0)
			return fd;
		free(*tmp);
		*tmp = NULL;
		if (errno != EEXIST)
			break;
	}
	return err_sys(e, ERR_IO, "cannot make a temporary file for %s", base);
}

/* An unlinked temporary file under $TMPDIR (gantry's, not the job's). */
static int tmp_anon(struct err *e)
{
	const char *t = getenv("TMPDIR");
	char *tmpl = xasprintf("%s/gantry-artifact-XXXXXX", t && *t == '/' ? t : "/tmp");
	int fd = mkostemp(tmpl, O_CLOEXEC);

	if (fd < 0)
		err_sys(e, ERR_IO, "cannot make a temporary file in %s", tmpl);
	else
		unlink(tmpl);
	free(tmpl);
	return fd;
}

int art_store_begin(struct art_store *s, const char *name, struct art_tmp *t,
		    struct err *e)
{
	char *base;

	t->name = NULL;
	if (s->s3) {
		t->fd = tmp_anon(e);
		return t->fd < 0 ? -1 : 0;
	}
	if (s->dirfd < 0)
		return err_set(e, ERR_INTERNAL, "artifact store %s is not open", s->shown);
	base = xasprintf("%s.zip", name);
	t->fd = tmp_in(s->dirfd, base, &t->name, e);
	free(base);
	return t->fd < 0 ? -1 : 0;
}

void art_store_abort(struct art_store *s, struct art_tmp *t)
{
	if (t->fd >= 0)
		close(t->fd);
	if (t->name && s->dirfd >= 0)
		unlinkat(s->dirfd, t->name, 0);
	free(t->name);
	t->name = NULL;
	t->fd = -1;
}

static int exists_error(struct art_store *s, const char *name, struct err *e)
{
	return err_set(e, ERR_INVALID, "an artifact named '%s' already exists in "
		       "run %lld (%s): set overwrite: true to replace it, or give "
		       "this one another name", name, s->run_id, s->shown);
}

/* The sidecar, replaced atomically (folder) or put (S3). */
static int put_meta(struct art_store *s, const char *name, const char *meta,
		    struct err *e)
{
	char *base = xasprintf("%s.zip.json", name), *tmp = NULL;
	int fd = -1, ret = -1;

	if (s->s3) {
		struct aws_resp resp;
		char *key = xasprintf("%s%s", s->prefix, base);
		struct aws_s3_put p = { .bucket = s->bucket, .key = key, .body = meta,
					.len = strlen(meta),
					.content_type = "application/json" };

		aws_resp_init(&resp);
		ret = aws_s3_put_object(s->cl, &p, &resp, e);
		aws_resp_release(&resp);
		free(key);
		goto done;
	}
	fd = tmp_in(s->dirfd, base, &tmp, e);
	if (fd < 0)
		goto done;
	if (fs_write_all(fd, meta, strlen(meta)) < 0 ||
	    renameat(s->dirfd, tmp, s->dirfd, base) < 0) {
		err_sys(e, ERR_IO, "cannot write %s/%s", s->dir, base);
		unlinkat(s->dirfd, tmp, 0);
		goto done;
	}
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	free(tmp);
	free(base);
	return ret;
}

/* PutObject from memory: the whole zip is read in (ART_S3_PUT_MAX). */
static int put_s3(struct art_store *s, const char *name, int fd, long long size,
		  struct err *e)
{
	struct aws_resp resp;
	struct buf b = BUF_INIT;
	char *key = xasprintf("%s%s.zip", s->prefix, name);
	int ret = -1;
	off_t off = 0;

	aws_resp_init(&resp);
	if (size > ART_S3_PUT_MAX) {
		err_set(e, ERR_LIMIT, "the zip is %lld MiB: gantry sends artifacts to "
			"S3 in one PutObject from memory, at most %lld MiB for now; "
			"use a folder as the artifact store (--artifact-store DIR)",
			size >> 20, ART_S3_PUT_MAX >> 20);
		goto done;
	}
	if (buf_grow(&b, (size_t)size) < 0)
		goto done;
	while (off < size) {
		ssize_t n = pread(fd, b.ptr + off, (size_t)(size - off), off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err_sys(e, ERR_IO, "reading the zip back");
			goto done;
		}
		off += n;
	}
	b.len = (size_t)size;
	{
		struct aws_s3_put p = { .bucket = s->bucket, .key = key, .body = b.ptr,
					.len = b.len, .content_type = "application/zip" };

		ret = aws_s3_put_object(s->cl, &p, &resp, e);
	}
done:
	aws_resp_release(&resp);
	buf_release(&b);
	free(key);
	return ret;
}

int art_store_commit(struct art_store *s, const char *name, struct art_tmp *t,
		     long long size, bool overwrite, const char *meta,
		     struct err *e)
{
	char *zip = xasprintf("%s.zip", name);
	int ret = -1;

	if (s->s3) {
		/* no conditional PutObject here: the caller asked HeadObject */
		if (put_s3(s, name, t->fd, size, e) < 0)
			goto done;
	} else {
		if (fsync(t->fd) < 0) {
			err_sys(e, ERR_IO, "cannot write %s/%s", s->dir, zip);
			goto done;
		}
		if (overwrite) {
			if (renameat(s->dirfd, t->name, s->dirfd, zip) < 0) {
				err_sys(e, ERR_IO, "cannot rename into %s/%s", s->dir, zip);
				goto done;
			}
		} else {
			/* a link fails when the name is taken: two jobs that
			 * upload the same name at once cannot both win */
			if (linkat(s->dirfd, t->name, s->dirfd, zip, 0) < 0) {
				if (errno == EEXIST)
					exists_error(s, name, e);
				else
					err_sys(e, ERR_IO, "cannot link into %s/%s",
						s->dir, zip);
				goto done;
			}
			unlinkat(s->dirfd, t->name, 0);
		}
		free(t->name);
		t->name = NULL;
	}
	/* the zip is in place: a missing sidecar only loses the record */
	ret = put_meta(s, name, meta, e) < 0 ? 1 : 0;
done:
	art_store_abort(s, t);
	free(zip);
	return ret;
}

/* GetObject streamed into fd (no size cap in memory). */
static int fetch_s3(struct art_store *s, const char *name, int fd,
		    struct err *e)
{
	struct aws_xfer *x = NULL;
	struct aws_xfer_op op;
	char *key = xasprintf("%s%s.zip", s->prefix, name);
	char *ep = NULL, *path = NULL;
	int ret = -1;

	aws_xfer_op_init(&op);
	if (aws_s3_address(&ep, &path, s->cl, s->bucket, key, e) < 0 ||
	    aws_xfer_new(&x, s->cl, 1, e) < 0)
		goto done;
	op.req.service = "s3";
	op.req.operation = "GetObject";
	op.req.proto = AWS_PROTO_REST_XML;
	op.req.method = "GET";
	op.req.path = path;
	op.req.s3 = true;
	op.req.endpoint = ep;
	op.dst_fd = fd;
	op.dst_off = 0;
	aws_xfer_add(x, &op);
	if (aws_xfer_run(x, e) < 0)
		goto done;
	if (op.rc < 0) {
		*e = op.e;
		err_wrap(e, "s3://%s/%s", s->bucket, key);
		goto done;
	}
	if (ftruncate(fd, op.got) < 0) {
		err_sys(e, ERR_IO, "writing the zip");
		goto done;
	}
	ret = 0;
done:
	aws_xfer_op_release(&op);
	aws_xfer_free(x);
	free(ep);
	free(path);
	free(key);
	return ret;
}

int art_store_fetch(struct art_store *s, const char *name, int *fd,
		    long long *size, struct err *e)
{
	char *zip = xasprintf("%s.zip", name);
	struct stat st;
	int f = -1, ret = -1;

	if (s->s3) {
		f = tmp_anon(e);
		if (f < 0 || fetch_s3(s, name, f, e) < 0)
			goto done;
	} else {
		if (s->dirfd < 0) {
			err_set(e, ERR_NOT_FOUND, "%s: no such folder", s->dir);
			goto done;
		}
		f = openat(s->dirfd, zip, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (f < 0) {
			err_sys(e, errno == ENOENT ? ERR_NOT_FOUND : ERR_INVALID,
				"cannot open %s/%s", s->dir, zip);
			goto done;
		}
	}
	if (fstat(f, &st) < 0 || !S_ISREG(st.st_mode)) {
		err_set(e, ERR_INVALID, "%s/%s is not a plain file", s->shown, zip);
		goto done;
	}
	*size = st.st_size;
	*fd = f;
	f = -1;
	ret = 0;
done:
	if (f >= 0)
		close(f);
	free(zip);
	return ret;
}

json_t *art_store_meta(struct art_store *s, const char *name)
{
	char *base = xasprintf("%s.zip.json", name);
	struct buf b = BUF_INIT;
	json_t *j = NULL;

	buf_init(&b, META_MAX);
	if (s->s3 && s->cl) {
		struct aws_resp resp;
		struct err ignore = ERR_INIT;
		char *key = xasprintf("%s%s", s->prefix, base);

		aws_resp_init(&resp);
		if (aws_s3_get_object(s->cl, s->bucket, key, &resp, &ignore) == 0 &&
		    resp.body.len <= META_MAX)
			j = json_loadb(resp.body.ptr, resp.body.len, 0, NULL);
		aws_resp_release(&resp);
		free(key);
	} else if (!s->s3 && s->dirfd >= 0) {
		int fd = openat(s->dirfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
				O_CLOEXEC);
		char chunk[4096];
		ssize_t n;

		while (fd >= 0 && (n = read(fd, chunk, sizeof(chunk))) > 0)
			if (buf_add(&b, chunk, (size_t)n) < 0)
				break;
		if (fd >= 0)
			close(fd);
		j = json_loadb(b.ptr, b.len, 0, NULL);
	}
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	buf_release(&b);
	free(base);
	return j;
}
