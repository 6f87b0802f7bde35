/*
 * s3sync: `aws s3 sync` and `aws s3 cp`, natively: local → S3, S3 →
 * local, S3 → S3, with the AWS CLI's flags and comparison rules, faster
 * (every transfer on one multi handle, many at once) and safer:
 *
 * - A file is sent when the destination lacks it, its size differs, or
 *   (local → S3) the local file is newer than the object / (S3 → local)
 *   the object is newer than the local file; --size-only compares sizes
 *   only; --exact-timestamps (S3 → local) sends same-size files whose
 *   times differ at all. --checksum decides by content instead: the
 *   local MD5 against a single-part object's ETag, or against the MD5
 *   gantry stores in x-amz-meta-gantry-md5 on what it uploads multipart
 *   (HeadObject for those), so an identical rebuild sends nothing.
 * - --exclude/--include as the CLI (lib/aws/s3filter.h), applied to both
 *   sides' relative paths.
 * - Deletions (--delete) run only after every transfer succeeded, and
 *   only from a complete listing (a failed or cut-short listing is an
 *   error before anything is sent); --delete with an empty source is
 *   refused unless allow_empty_source.
 * - Uploads carry Content-MD5; files over the multipart threshold (8 MB)
 *   go in parts (8 MB, more when a file would need over 10,000), sent in
 *   parallel, completed in order, and aborted on any failure so that no
 *   upload is left behind. Downloads are written to a temporary file and
 *   renamed, with the object's time as the file's mtime (as the CLI).
 * - Memory stays bounded: bodies stream from and to files.
 * - A sync between a folder and S3 walks the folder (in a thread that
 *   only walks) while S3 lists; warnings and errors read as when the two
 *   are listed in turn (the source's error first).
 */
#ifndef GANTRY_AWS_S3SYNC_H
#define GANTRY_AWS_S3SYNC_H

#include <stdbool.h>

#include <jansson.h>

#include "../strv.h"
#include "aws.h"
#include "s3filter.h"

#define S3SYNC_PART_SIZE (8LL << 20)
#define S3SYNC_MULTIPART_THRESHOLD (8LL << 20)

enum s3sync_mode { S3SYNC_SYNC, S3SYNC_CP };

struct s3sync_opts {
	enum s3sync_mode mode;
	const char *src, *dst;		/* a local path or s3://bucket[/prefix] */
	bool recursive;			/* cp --recursive (sync always is) */
	bool delete_;
	bool size_only, exact_timestamps, checksum;
	bool dryrun, quiet;
	bool follow_symlinks;		/* default true */
	bool no_guess_mime;
	bool allow_empty_source;
	const struct s3filter *filter;	/* NULL: everything */
	const char *cache_control, *content_type, *content_encoding;
	const char *content_disposition, *acl, *storage_class;
	const char *sse, *sse_kms_key_id;	/* server-side encryption */
	const struct strv *metadata;	/* "key=value", may be NULL */
	int concurrency;		/* 0: 64 */
	/* an absolute, resolved folder, or NULL: every local file read or
	 * written must lie inside it, and no link is followed (built-in
	 * steps run outside the sandbox) */
	const char *confine;
	/* per-file lines ("upload: a.js to s3://b/a.js") and warnings */
	void (*say)(void *arg, const char *line);
	/* progress on a terminal: files done/total, bytes, rate */
	void (*progress)(void *arg, long done, long total, long long bytes,
			 long long total_bytes, double seconds);
	void *arg;
};

struct s3sync_result {
	long uploaded, downloaded, copied, deleted, unchanged, failed;
	long skipped;			/* unreadable local files, warned */
	long long bytes;		/* bytes transferred */
	double seconds;
	json_t *plan;			/* [{"action","src","dst","size"}...] */
};

/* Plan and carry out. 0 when everything planned was done (or, dryrun,
 * planned); -1 with e set otherwise (result still filled). */
int s3sync_run(struct s3sync_result *out, struct aws_client *c,
	       const struct s3sync_opts *o, struct err *e);
void s3sync_result_release(struct s3sync_result *r);

#endif
