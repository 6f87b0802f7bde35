/*
 * s3sync_int: what lib/aws/s3sync.c (listing, comparing, the plan) and
 * lib/aws/s3sync_job.c (carrying a file over: parts, ranges, multipart
 * state) share. Not for use elsewhere.
 */
#ifndef GANTRY_AWS_S3SYNC_INT_H
#define GANTRY_AWS_S3SYNC_INT_H

#include <stdbool.h>

#include "../strv.h"
#include "s3sync.h"
#include "xfer.h"

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

/* A line through o->say (per-file lines, warnings). */
void s3sync_say(struct sync *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The key of rel on an S3 side; how a side's entry is shown. Owned. */
char *s3sync_key_of(const struct side *sd, const char *rel);
char *s3sync_show(const struct side *sd, const char *rel);
/* Queue the transfer of one entry (upload, download or copy); a file
 * that cannot start ends at once, counted as failed. */
void s3sync_queue(struct sync *s, enum act act, const struct entry *src);

#endif
