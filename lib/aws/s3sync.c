/*
 * s3sync: sync and cp between a folder and S3, or S3 and S3 (s3sync.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
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
#include "s3sync_int.h"
#include "xfer.h"



void s3sync_say(struct sync *s, const char *fmt, ...)
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

char *s3sync_key_of(const struct side *sd, const char *rel)
{
	if (sd->is_file)
		return xstrdup(sd->prefix);
	return *sd->prefix ? xasprintf("%s/%s", sd->prefix, rel) : xstrdup(rel);
}

char *s3sync_show(const struct side *sd, const char *rel)
{
	if (sd->s3) {
		char *k = s3sync_key_of(sd, rel), *r = xasprintf("s3://%s/%s", sd->bucket, k);

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

/*
 * The walk of a local side. A sync between a folder and S3 walks the
 * folder in a thread of its own while the S3 side is listed (list_pair):
 * a sync with nothing to send is its two listings, and neither needs the
 * other. The thread only walks, into its struct local_walk; what the walk
 * warns is kept, and said (and counted) on the caller's thread when the
 * walk is finished, as are the entries filtered into the listing.
 */
struct local_walk {
	const char *path;	/* borrowed: the side's */
	bool follow;
	bool absent;		/* it need not exist, and does not */
	bool threaded;		/* th runs, or ran, and is not joined */
	pthread_t th;
	struct localtree t;
	struct strv warnings;	/* the walk's, without "warning: " */
	struct err err;
	int rc;
};

static void keep_warning(void *arg, const char *msg)
{
	struct local_walk *w = arg;

	strv_push(&w->warnings, msg);
}

static void *walk_run(void *arg)
{
	struct local_walk *w = arg;

	w->rc = localtree_list(&w->t, w->path, w->follow, keep_warning, w,
			       &w->err);
	return NULL;
}

/* Start walking sd: in a thread when threaded (and one can be made; the
 * walk runs here otherwise). -1 with e set, and nothing started, when sd
 * cannot be walked at all; a side that need not exist and does not is an
 * empty listing. Every walk started is ended by walk_finish. */
static int walk_start(struct local_walk *w, struct sync *s, struct side *sd,
		      bool must_exist, bool threaded, struct err *e)
{
	struct stat st;

	memset(w, 0, sizeof(*w));
	w->path = sd->path;
	w->follow = s->follow;
	if (stat(sd->path, &st) < 0) {
		if (!must_exist && errno == ENOENT) {
			w->absent = true;
			return 0;
		}
		return err_sys(e, errno == ENOENT ? ERR_NOT_FOUND : ERR_IO,
			       "%s", sd->path);
	}
	if (s->o->confine && !fs_inside(s->o->confine, sd->path))
		return err_set(e, ERR_INVALID, "%s is outside %s", sd->path,
			       s->o->confine);
	sd->is_file = S_ISREG(st.st_mode);
	if (threaded) {
		sigset_t all, old;

		/* signals stay with the caller's thread */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		w->threaded = pthread_create(&w->th, NULL, walk_run, w) == 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (!w->threaded)
		walk_run(w);
	return 0;
}

/* Wait for the walk of sd, say its warnings (unless quiet: the sync
 * failed before it would have walked), and list its files (those the
 * filter takes) in out; a source's skipped entries are protected from
 * --delete. -1 with e set when the walk failed. */
static int walk_finish(struct listing *out, struct sync *s, struct side *sd,
		       struct local_walk *w, bool quiet, struct err *e)
{
	struct localtree *t = &w->t;
	int rc = -1;

	if (w->threaded)
		pthread_join(w->th, NULL);
	w->threaded = false;
	for (size_t i = 0; !quiet && i < w->warnings.n; i++) {
		s3sync_say(s, "warning: %s", w->warnings.v[i]);
		s->r->skipped++;
	}
	if (w->absent) {
		rc = 0;
		goto done;
	}
	if (w->rc < 0) {
		*e = w->err;
		goto done;
	}
	if (sd == &s->src)
		for (size_t i = 0; i < t->skipped_rel.n; i++)
			strv_push(&s->protect, t->skipped_rel.v[i]);
	for (size_t i = 0; i < t->n; i++) {
		struct entry *en;

		if (s->o->filter && !s3filter_match(s->o->filter, t->files[i].rel))
			continue;
		en = listing_push(out, t->files[i].rel);
		en->size = t->files[i].size;
		en->mtime = t->files[i].mtime_ns / 1000000000LL;
	}
	rc = 0;
done:
	localtree_release(t);
	strv_release(&w->warnings);
	return rc;
}

/* The source folder (or file), walked here: for cp. */
static int list_local(struct listing *out, struct sync *s, struct side *sd,
		      struct err *e)
{
	struct local_walk w;

	if (walk_start(&w, s, sd, true, false, e) < 0)
		return -1;
	return walk_finish(out, s, sd, &w, false, e);
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
			s3sync_say(s, "warning: Skipping file s3://%s/%s. File references "
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

/* Both sides of a sync between a folder and S3: the folder is walked
 * while S3 lists. When both fail, the source's error is the one given,
 * as when they are listed in turn; on failure both listings are empty. */
static int list_pair(struct listing *src, struct listing *dst, struct sync *s,
		     struct err *e)
{
	bool up = !s->src.s3;
	struct side *local = up ? &s->src : &s->dst, *remote = up ? &s->dst : &s->src;
	struct listing *lout = up ? src : dst, *rout = up ? dst : src;
	struct local_walk w;
	struct err re = ERR_INIT;
	int lr, rr;

	if (walk_start(&w, s, local, up, true, e) < 0)
		return -1;
	/* a sync takes a folder (s3sync_run refuses a file): S3 is not asked */
	if (up && local->is_file)
		return walk_finish(lout, s, local, &w, false, e);
	rr = list_s3(rout, s, remote, &re);
	/* listed in turn, a failed source would have stopped the sync
	 * before the destination's walk said anything */
	lr = walk_finish(lout, s, local, &w, rr < 0 && !up, e);
	if (lr == 0 && rr == 0)
		return 0;
	if (rr < 0 && (lr == 0 || !up))
		*e = re;
	listing_release(src);
	listing_release(dst);
	return -1;
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
	key = s3sync_key_of(sd, en->rel);
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
			keys[i] = s3sync_key_of(&s->dst, extra->v[i].rel);
		rc = aws_s3_delete(s->c, s->dst.bucket, keys, extra->n, &deleted, e);
		for (size_t i = 0; i < deleted && !o->quiet; i++)
			s3sync_say(s, "delete: s3://%s/%s", s->dst.bucket, keys[i]);
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
			s3sync_say(s, "delete: %s", p);
		s->r->deleted++;
		free(p);
	}
	return 0;
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
	bool single, pair;
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
	/* the source; a sync between a folder and S3 lists both sides at once */
	pair = o->mode == S3SYNC_SYNC && s.src.s3 != s.dst.s3;
	if (pair || !s.src.s3) {
		if (pair ? list_pair(&src, &dst, &s, e) < 0 :
		    list_local(&src, &s, &s.src, e) < 0)
			goto done;
		if (!s.src.s3 && single != s.src.is_file) {
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
	/* the destination, for a sync from S3 to S3 (list_pair listed it
	 * when one side is a folder); cp sends everything */
	if (o->mode == S3SYNC_SYNC && !pair && list_s3(&dst, &s, &s.dst, e) < 0)
		goto done;
	/* compare: both listings are sorted by rel */
	send = xcalloc(src.n + 1, sizeof(*send));
	for (size_t i = 0, k = 0; i < src.n || k < dst.n;) {
		int cmp = i == src.n ? 1 : k == dst.n ? -1 :
			  strcmp(src.v[i].rel, dst.v[k].rel);

		if (cmp < 0) {
			send[n_send++] = &src.v[i++];
		} else if (cmp > 0) {
			if (o->delete_ && protected(&s, dst.v[k].rel)) {
				char *shown = s3sync_show(&s.dst, dst.v[k].rel);

				s3sync_say(&s, "warning: not deleting %s: its source was "
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
		char *from = s3sync_show(&s.src, send[i]->rel), *to = s3sync_show(&s.dst, send[i]->rel);
		const char *act = !s.src.s3 ? "upload" : !s.dst.s3 ? "download" : "copy";

		plan_add(&s, act, from, to, send[i]->size);
		if (o->dryrun && !o->quiet)
			s3sync_say(&s, "(dryrun) %s: %s to %s", act, from, to);
		s.bytes_total += send[i]->size;
		free(from);
		free(to);
	}
	for (size_t i = 0; i < extra.n; i++) {
		char *gone = s3sync_show(&s.dst, extra.v[i].rel);

		plan_add(&s, "delete", NULL, gone, extra.v[i].size);
		if (o->dryrun && !o->quiet)
			s3sync_say(&s, "(dryrun) delete: %s", gone);
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
	for (size_t i = 0; i < n_send; i++)
		s3sync_queue(&s, !s.src.s3 ? ACT_UPLOAD : !s.dst.s3 ? ACT_DOWNLOAD :
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
