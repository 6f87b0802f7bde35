/*
 * s3sync_job: carrying one file over for a sync (s3sync.h): an upload in
 * one request or in parallel parts (multipart, aborted when a part
 * fails for good), a download in one request or in parallel ranges into
 * a temporary file renamed when complete, a copy; each request on the
 * sync's aws_xfer engine.
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
#include "../mime.h"
#include "../util.h"
#include "s3.h"
#include "s3sync_int.h"

#define PARTS_MAX 10000
#define COPY_MAX (5LL << 30)

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


static const char *act_name(enum act a)
{
	return a == ACT_UPLOAD ? "upload" : a == ACT_DOWNLOAD ? "download" : "copy";
}

static void job_ended(struct sync *s, struct job *j)
{
	char *from = s3sync_show(&s->src, j->src->rel), *to = s3sync_show(&s->dst, j->src->rel);

	if (j->failed) {
		s3sync_say(s, "%s failed: %s to %s: %s", act_name(j->act), from, to,
		    j->err.msg);
		s->r->failed++;
		if (!s->any_failed)
			s->first_err = j->err;
		s->any_failed = true;
	} else {
		if (!s->o->quiet)
			s3sync_say(s, "%s: %s to %s", act_name(j->act), from, to);
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
	hex_lower(j->md5_hex, md, 16);
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

void s3sync_queue(struct sync *s, enum act act, const struct entry *src)
{
	struct job *j = xcalloc(1, sizeof(*j));
	struct err e = ERR_INIT;

	j->s = s;
	j->act = act;
	j->src = src;
	j->fd = -1;
	j->dirfd = -1;
	if (act != ACT_DOWNLOAD)
		j->key = s3sync_key_of(&s->dst, src->rel);
	if (act != ACT_UPLOAD)
		j->from_key = s3sync_key_of(&s->src, src->rel);
	/* job_start queues the parts last: a failure queued nothing */
	if (job_start(s, j, &e) < 0) {
		job_fail(j, &e);
		job_ended(s, j);
		job_free(j);
	}
}
