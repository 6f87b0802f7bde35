/*
 * localtree: the files under a folder, for a sync: relative paths sorted
 * bytewise (as S3 lists keys), sizes and modification times. Symbolic
 * links are followed (follow = true, the AWS CLI's default) or skipped;
 * a link that leads nowhere, or into a loop, or a file or folder that
 * cannot be read, is skipped with a warning through the callback (the
 * AWS CLI's "warning: Skipping file ...") and counted, never fatal.
 * Only regular files are listed (no devices, sockets, FIFOs). Bounded:
 * LOCALTREE_FILES_MAX files, LOCALTREE_DEPTH_MAX levels.
 */
#ifndef GANTRY_LOCALTREE_H
#define GANTRY_LOCALTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

#define LOCALTREE_FILES_MAX 10000000
#define LOCALTREE_DEPTH_MAX 256

struct localfile {
	char *rel;		/* owned: "a/b.js", '/'-separated */
	off_t size;
	long long mtime_ns;	/* st_mtim, nanoseconds since the epoch */
};

struct localtree {
	struct localfile *files;	/* owned, sorted by rel (strcmp) */
	size_t n, alloc;
	size_t skipped;			/* warnings given */
};

typedef void (*localtree_warn_fn)(void *arg, const char *msg);

/* List root (a folder; or a single file, listed as its base name).
 * -1 when root itself cannot be read (ERR_NOT_FOUND / ERR_IO, naming it)
 * or a limit is passed (ERR_LIMIT). warn may be NULL. */
int localtree_list(struct localtree *out, const char *root, bool follow,
		   localtree_warn_fn warn, void *arg, struct err *e);
void localtree_release(struct localtree *t);

/* MD5 of a file as lower-case hex (32 + NUL), read with a 1 MB buffer.
 * -1 naming the path when it cannot be read. */
int localtree_md5(char out[33], const char *path, struct err *e);

#endif
