/*
 * s3sync: sync and cp between a folder and S3, or S3 and S3 (s3sync.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "../fs.h"
#include "../jsonx.h"
#include "../localtree.h"
#include "../mime.h"
#include "../util.h"
#include "s3.h"
#include "s3sync.h"
#include "xfer.h"

#define PARTS_MAX 10000
#define COPY_MAX (5LL << 30)

/* One side of the transfer. */
struct side {
	bool s3;
	char *bucket, *prefix;	/* s3: prefix without a trailing '/' */
	char *path;		/* local: the folder (or file) */
	bool is_file;		/* local single file, or an S3 key (cp) */
};

struct entry {
	char *rel;
	long long size;
	long long mtime;	/* seconds */
	char etag[80];
};

struct listing {
	struct entry *v;
	size_t n, alloc;
};

enum act { ACT_UPLOAD, ACT_DOWNLOAD, ACT_COPY };

/* One file to send, and its multipart / ranged state. */
struct job {
	struct sync *s;
	enum act act;
	const struct entry *src;
	char *key;		/* destination key (upload, copy) */
	char *from_key;		/* source key (download, copy) */
	char *dst_path, *tmp_path;	/* download */
	int dirfd;		/* confined download: its folder, opened
				 * without following links; tmp_name and
				 * base are relative to it */
	char *tmp_name, *base;
	int fd;
	char md5_hex[33];
	char *upload_id;
	struct strv etags;	/* parts' ETags, by part number - 1 */
	int parts, parts_ended;
	bool failed;
	struct err err;
	struct aws_xfer_op *ops;	/* parts (or one) */
	struct strv *hdrs;		/* per op */
};

struct sync {
	const struct s3sync_opts *o;
	struct aws_client *c;
	struct aws_xfer *x;
	struct side src, dst;
	struct s3sync_result *r;
	long files_total, files_done;
	long long bytes_total;
	long long t0;
	bool any_failed;
	bool follow;		/* links followed (never when confined) */
	bool local_dst;		/* keys become local paths */
	struct strv protect;	/* source entries skipped (unreadable...):
				 * their copies are never deleted */
	struct err first_err;
};

static void say(struct sync *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void say(struct sync *s, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	if (!s->o->say)
		return;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	s->o->say(s->o->arg, b.ptr);
	buf_release(&b);
}

static int side_parse(struct side *sd, const char *spec, struct err *e)
{
	memset(sd, 0, sizeof(*sd));
	if (str_starts_with(spec, "s3://")) {
		sd->s3 = true;
		return aws_s3_url_parse(&sd->bucket, &sd->prefix, spec, e);
	}
	sd->path = xstrdup(spec);
	return 0;
}

static void side_release(struct side *sd)
{
	free(sd->bucket);
	free(sd->prefix);
	free(sd->path);
}

static char *key_of(const struct side *sd, const char *rel)
{
	if (sd->is_file)
		return xstrdup(sd->prefix);
	return *sd->prefix ? xasprintf("%s/%s", sd->prefix, rel) : xstrdup(rel);
}

static char *show(const struct side *sd, const char *rel)
{
	if (sd->s3) {
		char *k = key_of(sd, rel), *r = xasprintf("s3://%s/%s", sd->bucket, k);

		free(k);
		return r;
	}
	if (sd->is_file)
		return xstrdup(sd->path);
	return fs_join(sd->path, rel);
}

static void listing_release(struct listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].rel);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static struct entry *listing_push(struct listing *l, const char *rel)
{
	struct entry *en;

	ALLOC_GROW(l->v, l->n + 1, l->alloc);
	en = &l->v[l->n++];
	memset(en, 0, sizeof(*en));
	en->rel = xstrdup(rel);
	return en;
}

/* A key's relative path as a local path: no "", "." or ".." component,
 * not absolute (the AWS CLI skips such keys too). */
static bool safe_rel(const char *rel)
{
	const char *p = rel;

	if (*rel == '/')
		return false;
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n;
		if (*p == '/')
			p++;
	}
	return *rel != '\0';
}

/* Whether rel is, or lies under, a source entry that was skipped. */
static bool protected(const struct sync *s, const char *rel)
{
	for (size_t i = 0; i < s->protect.n; i++) {
		size_t n = strlen(s->protect.v[i]);

		if (!strncmp(rel, s->protect.v[i], n) &&
		    (rel[n] == '\0' || rel[n] == '/'))
			return true;
	}
	return false;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->rel, ((const struct entry *)b)->rel);
}

static void warn_cb(void *arg, const char *msg)
{
	struct sync *s = arg;

	say(s, "warning: %s", msg);
	s->r->skipped++;
}

static int list_local(struct listing *out, struct sync *s, struct side *sd,
		      bool must_exist, struct err *e)
{
	struct localtree t = { 0 };
	struct stat st;

	if (stat(sd->path, &st) < 0) {
		if (!must_exist && errno == ENOENT)
			return 0;
		return err_sys(e, errno == ENOENT ? ERR_NOT_FOUND : ERR_IO,
			       "%s", sd->path);
	}
	if (s->o->confine && !fs_inside(s->o->confine, sd->path))
		return err_set(e, ERR_INVALID, "%s is outside %s", sd->path,
			       s->o->confine);
	if (localtree_list(&t, sd->path, s->follow, warn_cb, s, e) < 0)
		return -1;
	sd->is_file = S_ISREG(st.st_mode);
	if (sd == &s->src)
		for (size_t i = 0; i < t.skipped_rel.n; i++)
			strv_push(&s->protect, t.skipped_rel.v[i]);
	for (size_t i = 0; i < t.n; i++) {
		struct entry *en;

		if (s->o->filter && !s3filter_match(s->o->filter, t.files[i].rel))
			continue;
		en = listing_push(out, t.files[i].rel);
		en->size = t.files[i].size;
		en->mtime = t.files[i].mtime_ns / 1000000000LL;
	}
	localtree_release(&t);
	return 0;
}

static int list_s3(struct listing *out, struct sync *s, struct side *sd,
		   struct err *e)
{
	struct aws_s3_list l;
	char *prefix = *sd->prefix ? xasprintf("%s/", sd->prefix) : xstrdup("");
	size_t pn = strlen(prefix);
	int r = aws_s3_list(&l, s->c, sd->bucket, prefix, e);

	if (r < 0) {
		err_wrap(e, "listing s3://%s/%s (nothing was sent or deleted)",
			 sd->bucket, prefix);
		free(prefix);
		return -1;
	}
	for (size_t i = 0; i < l.n; i++) {
		const char *rel;
		struct entry *en;

		/* a server's answer is not trusted to keep to the prefix */
		if (strncmp(l.v[i].key, prefix, pn) != 0)
			continue;
		rel = l.v[i].key + pn;
		if (!*rel || str_ends_with(rel, "/"))
			continue;	/* the prefix itself, folder markers */
		if (l.v[i].size < 0 || l.v[i].size > (5LL << 40)) {
			err_set(e, ERR_REMOTE, "s3://%s/%s: the listing gives a "
				"size of %lld bytes", sd->bucket, l.v[i].key,
				l.v[i].size);
			aws_s3_list_release(&l);
			free(prefix);
			listing_release(out);
			return -1;
		}
		if (s->local_dst && !safe_rel(rel)) {
			say(s, "warning: Skipping file s3://%s/%s. File references "
			    "a parent directory or is not a plain path.", sd->bucket,
			    l.v[i].key);
			s->r->skipped++;
			continue;
		}
		if (s->o->filter && !s3filter_match(s->o->filter, rel))
			continue;
		en = listing_push(out, rel);
		en->size = l.v[i].size;
		en->mtime = l.v[i].mtime;
		memcpy(en->etag, l.v[i].etag, sizeof(en->etag));
	}
	aws_s3_list_release(&l);
	free(prefix);
	/* S3 lists in UTF-8 byte order, but the comparison below must not
	 * depend on a server keeping to it (s3rver lists in file-system walk
	 * order): a wrong order would look like missing files, and --delete
	 * would act on it */
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), entry_cmp);
	/* and a key listed twice (pages that overlap) is one object */
	{
		size_t k = 0;

		for (size_t i = 0; i < out->n; i++) {
			if (k && strcmp(out->v[i].rel, out->v[k - 1].rel) == 0) {
				free(out->v[i].rel);
				continue;
			}
			out->v[k++] = out->v[i];
		}
		out->n = k;
	}
	return 0;
}

/* The MD5 of an entry on the local side, hex. */
static int local_md5(char out[33], struct sync *s, const struct side *sd,
		     const struct entry *en, struct err *e)
{
	char *p = sd->is_file ? xstrdup(sd->path) : fs_join(sd->path, en->rel);
	int rc = localtree_md5(out, p, e);

	free(p);
	return rc;
}

/* The content MD5 of an object: its ETag when single-part, else what
 * gantry stored in x-amz-meta-gantry-md5 (HeadObject); "" if unknown. */
static void remote_md5(char out[33], struct sync *s, const struct side *sd,
		       const struct entry *en)
{
	struct aws_resp resp;
	struct err ignore = ERR_INIT;
	const char *m;
	char *key;

	out[0] = '\0';
	if (!strchr(en->etag, '-') && strlen(en->etag) == 32) {
		memcpy(out, en->etag, 33);
		return;
	}
	key = key_of(sd, en->rel);
	aws_resp_init(&resp);
	if (aws_s3_head(s->c, sd->bucket, key, &resp, &ignore) == 0 &&
	    (m = aws_resp_header(&resp, "x-amz-meta-gantry-md5")) &&
	    strlen(m) == 32)
		memcpy(out, m, 33);
	aws_resp_release(&resp);
	free(key);
}

/* Whether src must go over dst (both present). */
static bool differs(struct sync *s, const struct entry *a, const struct entry *b)
{
	const struct s3sync_opts *o = s->o;
	char m1[33], m2[33];
	struct err ignore = ERR_INIT;

	if (a->size != b->size)
		return true;
	if (o->checksum) {
		const struct side *lside = s->src.s3 ? &s->dst : &s->src;
		const struct entry *le = s->src.s3 ? b : a, *re = s->src.s3 ? a : b;
		const struct side *rside = s->src.s3 ? &s->src : &s->dst;

		if (s->src.s3 && s->dst.s3) {
			remote_md5(m1, s, &s->src, a);
			remote_md5(m2, s, &s->dst, b);
			return !*m1 || strcmp(m1, m2) != 0;
		}
		if (local_md5(m1, s, lside, le, &ignore) < 0)
			return true;
		remote_md5(m2, s, rside, re);
		if (*m2)
			return strcmp(m1, m2) != 0;
		/* no content hash known: fall back to the times */
	}
	if (o->size_only)
		return false;
	if (!s->src.s3)				/* local -> S3: newer local */
		return a->mtime > b->mtime;
	if (!s->dst.s3 && o->exact_timestamps)	/* S3 -> local */
		return a->mtime != b->mtime;
	return a->mtime > b->mtime;
}

static void plan_add(struct sync *s, const char *action, const char *from,
		     const char *to, long long size)
{
	json_t *p = json_object();

	jsonx_set_str(p, "action", action);
	if (from)
		jsonx_set_str(p, "src", from);
	if (to)
		jsonx_set_str(p, "dst", to);
	json_object_set_new(p, "size", json_integer(size));
	json_array_append_new(s->r->plan, p);
}

/* ---- carrying out ---- */

static const char *act_name(enum act a)
{
	return a == ACT_UPLOAD ? "upload" : a == ACT_DOWNLOAD ? "download" : "copy";
}

static void job_ended(struct sync *s, struct job *j)
{
	char *from = show(&s->src, j->src->rel), *to = show(&s->dst, j->src->rel);

	if (j->failed) {
		say(s, "%s failed: %s to %s: %s", act_name(j->act), from, to,
		    j->err.msg);
		s->r->failed++;
		if (!s->any_failed)
			s->first_err = j->err;
		s->any_failed = true;
	} else {
		if (!s->o->quiet)
			say(s, "%s: %s to %s", act_name(j->act), from, to);
		s->r->bytes += j->src->size;
		if (j->act == ACT_UPLOAD)
			s->r->uploaded++;
		else if (j->act == ACT_DOWNLOAD)
			s->r->downloaded++;
		else
			s->r->copied++;
	}
	s->files_done++;
	if (s->o->progress)
		s->o->progress(s->o->arg, s->files_done, s->files_total,
			       s->r->bytes, s->bytes_total,
			       (double)(time_mono_ns() - s->t0) / 1e9);
	free(from);
	free(to);
}

static void job_fail(struct job *j, const struct err *e)
{
	if (!j->failed)
		j->err = *e;
	j->failed = true;
}

static void upload_headers(struct strv *h, struct sync *s, struct job *j)
{
	const struct s3sync_opts *o = s->o;
	const char *type = o->content_type;

	if (!type && !o->no_guess_mime)
		type = mime_type(j->src->rel[0] ? j->src->rel : s->src.path);
	if (type)
		strv_pushf(h, "Content-Type:%s", type);
	if (o->cache_control)
		strv_pushf(h, "Cache-Control:%s", o->cache_control);
	if (o->content_encoding)
		strv_pushf(h, "Content-Encoding:%s", o->content_encoding);
	if (o->content_disposition)
		strv_pushf(h, "Content-Disposition:%s", o->content_disposition);
	if (o->acl)
		strv_pushf(h, "x-amz-acl:%s", o->acl);
	if (o->storage_class)
		strv_pushf(h, "x-amz-storage-class:%s", o->storage_class);
	if (o->sse)
		strv_pushf(h, "x-amz-server-side-encryption:%s", o->sse);
	if (o->sse_kms_key_id)
		strv_pushf(h, "x-amz-server-side-encryption-aws-kms-key-id:%s",
			   o->sse_kms_key_id);
	for (size_t i = 0; o->metadata && i < o->metadata->n; i++) {
		const char *kv = o->metadata->v[i], *eq = strchr(kv, '=');

		if (eq)
			strv_pushf(h, "x-amz-meta-%.*s:%s", (int)(eq - kv), kv,
				   eq + 1);
	}
	if (*j->md5_hex)
		strv_pushf(h, "x-amz-meta-gantry-md5:%s", j->md5_hex);
}

static void job_free(struct job *j)
{
	for (int i = 0; i < j->parts; i++) {
		aws_xfer_op_release(&j->ops[i]);
		free((char *)j->ops[i].req.path);
		free((char *)j->ops[i].req.endpoint);
		free((char *)j->ops[i].req.query);
		strv_release(&j->hdrs[i]);
	}
	free(j->ops);
	free(j->hdrs);
	if (j->fd >= 0)
		close(j->fd);
	if (j->tmp_name && j->dirfd >= 0)
		unlinkat(j->dirfd, j->tmp_name, 0);
	else if (j->tmp_path)
		unlink(j->tmp_path);
	if (j->dirfd >= 0)
		close(j->dirfd);
	free(j->tmp_path);
	free(j->tmp_name);
	free(j->base);
	free(j->dst_path);
	free(j->key);
	free(j->from_key);
	free(j->upload_id);
	strv_release(&j->etags);
	free(j);
}

/* MD5 of the whole file (hex) and of each part (base64), one pass. */
static int hash_file(struct job *j, long long part, struct err *e)
{
	EVP_MD_CTX *all = EVP_MD_CTX_new();
	/* not static: jobs run in threads */
	unsigned char *buf = xmalloc(1 << 20);
	long long off = 0;
	unsigned char md[16];
	unsigned int mdlen;
	int rc = -1;

	EVP_DigestInit_ex(all, EVP_md5(), NULL);
	for (int p = 0; p < j->parts; p++) {
		long long len = p == j->parts - 1 ? j->src->size - off : part;
		EVP_MD_CTX *one = EVP_MD_CTX_new();
		char b64[32];

		EVP_DigestInit_ex(one, EVP_md5(), NULL);
		for (long long left = len; left > 0;) {
			ssize_t n = pread(j->fd, buf, left < (1LL << 20) ?
					  (size_t)left : (size_t)1 << 20, off + len - left);

			if (n <= 0) {
				EVP_MD_CTX_free(one);
				err_sys(e, ERR_IO, "cannot read %s", j->src->rel);
				goto done;
			}
			EVP_DigestUpdate(one, buf, (size_t)n);
			EVP_DigestUpdate(all, buf, (size_t)n);
			left -= n;
		}
		EVP_DigestFinal_ex(one, md, &mdlen);
		EVP_MD_CTX_free(one);
		EVP_EncodeBlock((unsigned char *)b64, md, 16);
		strv_pushf(&j->hdrs[p], "Content-MD5:%s", b64);
		off += len;
	}
	EVP_DigestFinal_ex(all, md, &mdlen);
	for (int i = 0; i < 16; i++)
		snprintf(j->md5_hex + 2 * i, 3, "%02x", md[i]);
	rc = 0;
done:
	EVP_MD_CTX_free(all);
	free(buf);
	return rc;
}

static void part_done(struct aws_xfer *x, struct aws_xfer_op *op)
{
	struct job *j = op->arg;
	struct sync *s = j->s;
	int idx = (int)(op - j->ops);

	if (op->rc < 0) {
		job_fail(j, &op->e);
	} else if (j->act == ACT_DOWNLOAD &&
		   ((j->parts > 1 && op->resp.status != 206) ||
		    op->got != op->src_len)) {
		struct err e = ERR_INIT;

		/* a range answered whole, or cut short: never stitched in */
		err_set(&e, ERR_REMOTE, "s3://%s/%s: GetObject returned %lld of "
			"%lld bytes (HTTP %ld)", s->src.bucket, j->from_key,
			(long long)op->got, (long long)op->src_len, op->resp.status);
		job_fail(j, &e);
	} else if (j->act == ACT_UPLOAD && j->upload_id) {
		const char *etag = aws_resp_header(&op->resp, "etag");

		free(j->etags.v[idx]);
		j->etags.v[idx] = xstrdup(etag ? etag : "");
	}
	if (++j->parts_ended < j->parts)
		return;
	/* the last part of this file ended */
	if (j->upload_id) {
		struct err e = ERR_INIT;

		if (j->failed) {
			struct err ae = ERR_INIT;

			aws_s3_mpu_abort(s->c, s->dst.bucket, j->key, j->upload_id,
					 &ae);
		} else if (aws_s3_mpu_complete(s->c, s->dst.bucket, j->key,
					       j->upload_id, &j->etags, &e) < 0) {
			struct err ae = ERR_INIT;

			job_fail(j, &e);
			aws_s3_mpu_abort(s->c, s->dst.bucket, j->key, j->upload_id,
					 &ae);
		}
	}
	if (j->act == ACT_DOWNLOAD && !j->failed) {
		struct timespec ts[2] = { { j->src->mtime, 0 }, { j->src->mtime, 0 } };
		struct err e = ERR_INIT;

		if (futimens(j->fd, ts) < 0 ||
		    (j->dirfd >= 0 ? renameat(j->dirfd, j->tmp_name, j->dirfd,
					      j->base) :
		     rename(j->tmp_path, j->dst_path)) < 0)
			job_fail(j, (err_sys(&e, ERR_IO, "cannot write %s",
					     j->dst_path), &e));
		else {
			free(j->tmp_path);
			j->tmp_path = NULL;
			free(j->tmp_name);
			j->tmp_name = NULL;
		}
	}
	job_ended(s, j);
	job_free(j);
	(void)x;
}

/* A confined download (a step, outside the sandbox): the folders from
 * the destination root down are opened one by one without following a
 * link (made when missing), and the file is created and renamed in the
 * last one through its descriptor, so that a link planted or swapped in
 * by a job cannot take the write elsewhere. */
static int open_confined(struct job *j, struct sync *s, struct err *e)
{
	const char *rel = j->src->rel, *p = rel, *slash;
	int fd = open(s->dst.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return err_sys(e, ERR_IO, "cannot open %s", s->dst.path);
	while ((slash = strchr(p, '/'))) {
		char *part = xstrndup(p, (size_t)(slash - p));
		int nfd;

		if (mkdirat(fd, part, 0755) < 0 && errno != EEXIST)
			nfd = -1;
		else
			nfd = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
				     O_CLOEXEC);
		free(part);
		close(fd);
		if (nfd < 0)
			return err_sys(e, ERR_INVALID, "%s: a folder on the way is "
				       "not a plain folder (a link?)", j->dst_path);
		fd = nfd;
		p = slash + 1;
	}
	j->dirfd = fd;
	j->base = xstrdup(p);
	j->tmp_name = xasprintf(".gantry-tmp-%d-%lx", (int)getpid(),
				(unsigned long)arc4random());
	j->fd = openat(fd, j->tmp_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		       O_CLOEXEC, 0644);
	if (j->fd < 0) {
		free(j->tmp_name);
		j->tmp_name = NULL;
		return err_sys(e, ERR_IO, "cannot write in the folder of %s",
			       j->dst_path);
	}
	return 0;
}

/* Queue the requests of one file. */
static int job_start(struct sync *s, struct job *j, struct err *e)
{
	long long part = S3SYNC_PART_SIZE, size = j->src->size;
	char *ep = NULL, *path = NULL;
	bool multi = j->act != ACT_COPY && size > S3SYNC_MULTIPART_THRESHOLD;
	struct strv create_h = STRV_INIT;

	while (multi && (size + part - 1) / part > PARTS_MAX)
		part *= 2;
	j->parts = multi ? (int)((size + part - 1) / part) : 1;
	j->ops = xcalloc((size_t)j->parts, sizeof(*j->ops));
	j->hdrs = xcalloc((size_t)j->parts, sizeof(*j->hdrs));
	for (int i = 0; i < j->parts; i++)
		strv_push(&j->etags, "");
	if (j->act == ACT_UPLOAD) {
		char *p = s->src.is_file ? xstrdup(s->src.path) :
			  fs_join(s->src.path, j->src->rel);

		j->fd = open(p, O_RDONLY | O_CLOEXEC);
		free(p);
		if (j->fd < 0)
			return err_sys(e, ERR_IO, "cannot read %s", j->src->rel);
		if (hash_file(j, part, e) < 0)
			return -1;
		if (aws_s3_address(&ep, &path, s->c, s->dst.bucket, j->key, e) < 0)
			return -1;
		if (multi) {
			upload_headers(&create_h, s, j);
			if (aws_s3_mpu_create(&j->upload_id, s->c, s->dst.bucket,
					      j->key, &create_h, e) < 0) {
				strv_release(&create_h);
				free(ep);
				free(path);
				return -1;
			}
			strv_release(&create_h);
		} else {
			upload_headers(&j->hdrs[0], s, j);
		}
	} else if (j->act == ACT_DOWNLOAD) {
		char *dir;

		j->dst_path = s->dst.is_file ? xstrdup(s->dst.path) :
			      fs_join(s->dst.path, j->src->rel);
		if (s->o->confine && !s->dst.is_file) {
			if (open_confined(j, s, e) < 0)
				return -1;
			goto addressed;
		}
		dir = fs_dirname(j->dst_path);
		if (s->o->confine && !fs_inside(s->o->confine, dir)) {
			err_set(e, ERR_INVALID, "%s is outside %s (a link?)", dir,
				s->o->confine);
			free(dir);
			return -1;
		}
		if (fs_mkdirs(dir, 0755, e) < 0) {
			free(dir);
			return -1;
		}
		j->tmp_path = xasprintf("%s/.gantry-tmp-%d-%lx", dir, (int)getpid(),
					(unsigned long)arc4random());
		free(dir);
		j->fd = open(j->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			     0644);
		if (j->fd < 0) {
			free(j->tmp_path);
			j->tmp_path = NULL;
			return err_sys(e, ERR_IO, "cannot write in the folder of %s",
				       j->dst_path);
		}
addressed:
		if (aws_s3_address(&ep, &path, s->c, s->src.bucket, j->from_key, e) < 0)
			return -1;
	} else {
		struct buf src = BUF_INIT;

		if (size > COPY_MAX)
			return err_set(e, ERR_LIMIT, "s3://%s/%s is over 5 GB: "
				       "copying it needs a multipart copy, which "
				       "gantry does not do yet", s->src.bucket,
				       j->from_key);
		buf_printf(&src, "%s/", s->src.bucket);
		aws_uri_encode(&src, j->from_key, strlen(j->from_key), true);
		strv_pushf(&j->hdrs[0], "x-amz-copy-source:%s", src.ptr);
		strv_push(&j->hdrs[0], "x-amz-metadata-directive:COPY");
		buf_release(&src);
		if (aws_s3_address(&ep, &path, s->c, s->dst.bucket, j->key, e) < 0)
			return -1;
	}
	for (int i = 0; i < j->parts; i++) {
		struct aws_xfer_op *op = &j->ops[i];
		long long off = (long long)i * part;
		long long len = i == j->parts - 1 ? size - off : part;

		aws_xfer_op_init(op);
		op->req.service = "s3";
		op->req.proto = AWS_PROTO_REST_XML;
		op->req.s3 = true;
		op->req.endpoint = xstrdup(ep);
		op->req.path = xstrdup(path);
		op->req.headers = &j->hdrs[i];
		op->done = part_done;
		op->arg = j;
		if (j->act == ACT_UPLOAD) {
			op->req.method = "PUT";
			op->req.operation = j->upload_id ? "UploadPart" : "PutObject";
			op->src_fd = j->fd;
			op->src_off = off;
			op->src_len = len;
			if (j->upload_id) {
				struct buf q = BUF_INIT;

				buf_printf(&q, "partNumber=%d&uploadId=", i + 1);
				aws_uri_encode(&q, j->upload_id, strlen(j->upload_id),
					       false);
				op->req.query = buf_detach(&q, NULL);
			}
		} else if (j->act == ACT_DOWNLOAD) {
			op->req.method = "GET";
			op->req.operation = "GetObject";
			op->dst_fd = j->fd;
			op->dst_off = off;
			op->src_len = len;	/* what must arrive */
			if (j->parts > 1) {
				strv_pushf(&j->hdrs[i], "Range:bytes=%lld-%lld", off,
					   off + len - 1);
				/* every range from the same version */
				if (*j->src->etag)
					strv_pushf(&j->hdrs[i], "If-Match:\"%s\"",
						   j->src->etag);
			}
		} else {
			op->req.method = "PUT";
			op->req.operation = "CopyObject";
		}
		aws_xfer_add(s->x, op);
	}
	free(ep);
	free(path);
	return 0;
}

static void queue(struct sync *s, enum act act, const struct entry *src)
{
	struct job *j = xcalloc(1, sizeof(*j));
	struct err e = ERR_INIT;

	j->s = s;
	j->act = act;
	j->src = src;
	j->fd = -1;
	j->dirfd = -1;
	if (act != ACT_DOWNLOAD)
		j->key = key_of(&s->dst, src->rel);
	if (act != ACT_UPLOAD)
		j->from_key = key_of(&s->src, src->rel);
	/* job_start queues the parts last: a failure queued nothing */
	if (job_start(s, j, &e) < 0) {
		job_fail(j, &e);
		job_ended(s, j);
		job_free(j);
	}
}

static int delete_extra(struct sync *s, struct listing *extra, struct err *e)
{
	const struct s3sync_opts *o = s->o;

	if (!extra->n)
		return 0;
	if (s->dst.s3) {
		const char **keys = xcalloc(extra->n, sizeof(*keys));
		size_t deleted = 0;
		int rc;

		for (size_t i = 0; i < extra->n; i++)
			keys[i] = key_of(&s->dst, extra->v[i].rel);
		rc = aws_s3_delete(s->c, s->dst.bucket, keys, extra->n, &deleted, e);
		for (size_t i = 0; i < deleted && !o->quiet; i++)
			say(s, "delete: s3://%s/%s", s->dst.bucket, keys[i]);
		s->r->deleted += (long)deleted;
		for (size_t i = 0; i < extra->n; i++)
			free((char *)keys[i]);
		free(keys);
		return rc;
	}
	for (size_t i = 0; i < extra->n; i++) {
		char *p = fs_join(s->dst.path, extra->v[i].rel);

		if (unlink(p) < 0 && errno != ENOENT) {
			err_sys(e, ERR_IO, "cannot delete %s", p);
			free(p);
			return -1;
		}
		if (!o->quiet)
			say(s, "delete: %s", p);
		s->r->deleted++;
		free(p);
	}
	return 0;
}

static void on_progress(void *arg, long long sent, long long got, long ops)
{
	(void)arg;
	(void)sent;
	(void)got;
	(void)ops;
}

/* The destination of a single file (cp FILE s3://b/key or .../prefix/,
 * cp s3://b/key PATH): the key or path itself, or under it. */
static void single_dst(struct sync *s, const char *dst_spec, const char *name)
{
	if (s->dst.s3) {
		if (!*s->dst.prefix || str_ends_with(dst_spec, "/")) {
			char *k = *s->dst.prefix ?
				  xasprintf("%s/%s", s->dst.prefix, name) :
				  xstrdup(name);

			free(s->dst.prefix);
			s->dst.prefix = k;
		}
		s->dst.is_file = true;
		return;
	}
	if (fs_is_dir(s->dst.path) || str_ends_with(dst_spec, "/")) {
		char *p = fs_join(s->dst.path, name);

		free(s->dst.path);
		s->dst.path = p;
	}
	s->dst.is_file = true;
}

int s3sync_run(struct s3sync_result *out, struct aws_client *c,
	       const struct s3sync_opts *o, struct err *e)
{
	struct sync s = { .o = o, .c = c, .r = out };
	struct listing src = { 0 }, dst = { 0 }, extra = { 0 };
	const struct entry **send = NULL;
	size_t n_send = 0;
	bool single;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->plan = json_array();
	s.t0 = time_mono_ns();
	s.follow = o->follow_symlinks && !o->confine;
	if (side_parse(&s.src, o->src, e) < 0 || side_parse(&s.dst, o->dst, e) < 0)
		goto done;
	s.local_dst = !s.dst.s3;
	if (!s.src.s3 && !s.dst.s3) {
		err_set(e, ERR_INVALID, "one side must be s3://BUCKET[/PREFIX] "
			"(%s and %s are both local)", o->src, o->dst);
		goto done;
	}
	single = o->mode == S3SYNC_CP && !o->recursive;
	/* the source */
	if (!s.src.s3) {
		if (list_local(&src, &s, &s.src, true, e) < 0)
			goto done;
		if (single != s.src.is_file) {
			err_set(e, ERR_INVALID, single ? "%s is a folder: cp it with "
				"--recursive" : "%s is a file: sync and cp --recursive "
				"take a folder", o->src);
			goto done;
		}
	} else if (single) {
		struct entry *en;
		struct aws_resp resp;
		const char *len, *lm;
		long long t = 0;

		s.src.is_file = true;
		aws_resp_init(&resp);
		if (aws_s3_head(c, s.src.bucket, s.src.prefix, &resp, e) < 0) {
			aws_resp_release(&resp);
			goto done;
		}
		len = aws_resp_header(&resp, "content-length");
		lm = aws_resp_header(&resp, "last-modified");
		en = listing_push(&src, strrchr(s.src.prefix, '/') ?
				  strrchr(s.src.prefix, '/') + 1 : s.src.prefix);
		en->size = len ? strtoll(len, NULL, 10) : 0;
		if (lm) {
			struct tm tm = { 0 };

			if (strptime(lm, "%a, %d %b %Y %H:%M:%S GMT", &tm))
				t = (long long)timegm(&tm);
		}
		en->mtime = t;
		aws_resp_release(&resp);
	} else if (list_s3(&src, &s, &s.src, e) < 0) {
		goto done;
	}
	if (single && !src.n) {
		err_set(e, ERR_INVALID, "nothing to copy: %s was skipped or "
			"excluded", o->src);
		goto done;
	}
	if (single)
		single_dst(&s, o->dst, src.v[0].rel);
	if (o->delete_ && !src.n && !o->allow_empty_source) {
		err_set(e, ERR_INVALID, "the source %s has no files: --delete "
			"would empty %s; pass --allow-empty-source if that is "
			"what you want", o->src, o->dst);
		goto done;
	}
	/* the destination, for sync; cp sends everything */
	if (o->mode == S3SYNC_SYNC) {
		if (s.dst.s3 ? list_s3(&dst, &s, &s.dst, e) < 0 :
		    list_local(&dst, &s, &s.dst, false, e) < 0)
			goto done;
	}
	/* compare: both listings are sorted by rel */
	send = xcalloc(src.n + 1, sizeof(*send));
	for (size_t i = 0, k = 0; i < src.n || k < dst.n;) {
		int cmp = i == src.n ? 1 : k == dst.n ? -1 :
			  strcmp(src.v[i].rel, dst.v[k].rel);

		if (cmp < 0) {
			send[n_send++] = &src.v[i++];
		} else if (cmp > 0) {
			if (o->delete_ && protected(&s, dst.v[k].rel)) {
				char *shown = show(&s.dst, dst.v[k].rel);

				say(&s, "warning: not deleting %s: its source was "
				    "skipped", shown);
				free(shown);
			} else if (o->delete_) {
				struct entry *en = listing_push(&extra, dst.v[k].rel);

				en->size = dst.v[k].size;
			}
			k++;
		} else {
			if (differs(&s, &src.v[i], &dst.v[k]))
				send[n_send++] = &src.v[i];
			else
				out->unchanged++;
			i++;
			k++;
		}
	}
	for (size_t i = 0; i < n_send; i++) {
		char *from = show(&s.src, send[i]->rel), *to = show(&s.dst, send[i]->rel);
		const char *act = !s.src.s3 ? "upload" : !s.dst.s3 ? "download" : "copy";

		plan_add(&s, act, from, to, send[i]->size);
		if (o->dryrun && !o->quiet)
			say(&s, "(dryrun) %s: %s to %s", act, from, to);
		s.bytes_total += send[i]->size;
		free(from);
		free(to);
	}
	for (size_t i = 0; i < extra.n; i++) {
		char *gone = show(&s.dst, extra.v[i].rel);

		plan_add(&s, "delete", NULL, gone, extra.v[i].size);
		if (o->dryrun && !o->quiet)
			say(&s, "(dryrun) delete: %s", gone);
		free(gone);
	}
	if (o->dryrun) {
		rc = 0;
		goto done;
	}
	/* transfers, all at once */
	s.files_total = (long)n_send;
	if (aws_xfer_new(&s.x, c, o->concurrency, e) < 0)
		goto done;
	aws_xfer_on_progress(s.x, on_progress, &s);
	for (size_t i = 0; i < n_send; i++)
		queue(&s, !s.src.s3 ? ACT_UPLOAD : !s.dst.s3 ? ACT_DOWNLOAD :
		      ACT_COPY, send[i]);
	if (aws_xfer_run(s.x, e) < 0)
		goto done;
	if (s.any_failed) {
		*e = s.first_err;
		err_wrap(e, "%ld of %zu transfers failed%s", out->failed, n_send,
			 extra.n ? "; nothing was deleted" : "");
		goto done;
	}
	/* deletions only now: every transfer made it */
	if (delete_extra(&s, &extra, e) < 0)
		goto done;
	rc = 0;
done:
	out->seconds = (double)(time_mono_ns() - s.t0) / 1e9;
	aws_xfer_free(s.x);
	free(send);
	listing_release(&src);
	listing_release(&dst);
	listing_release(&extra);
	side_release(&s.src);
	side_release(&s.dst);
	strv_release(&s.protect);
	return rc;
}

void s3sync_result_release(struct s3sync_result *r)
{
	json_decref(r->plan);
	memset(r, 0, sizeof(*r));
}
