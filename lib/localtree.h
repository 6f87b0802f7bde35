/*
 * localtree: the files under a folder, for a sync: relative paths sorted
 * bytewise (as S3 lists keys), sizes and modification times. Symbolic
 * links are followed (follow = true, the AWS CLI's default) or skipped;
 * a link that leads nowhere, or into a loop, or a file or folder that
 * cannot be read, is skipped with a warning through the callback (the
 * AWS CLI's "warning: Skipping file ...") and counted, never fatal.
 * Only regular files are listed (no devices, sockets, FIFOs: those are
 * warned about too), and only those that open for reading. Without
 * following, links are skipped silently, as the AWS CLI does; the root
 * itself is always followed (as find -H). Bounded: LOCALTREE_FILES_MAX
 * files, LOCALTREE_DEPTH_MAX levels of folders below the root.
 */
#ifndef GANTRY_LOCALTREE_H
#define GANTRY_LOCALTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"
#include "strv.h"

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
	struct strv skipped_rel;	/* owned: the rel of each skipped entry
					 * (a folder's: nothing under it was
					 * listed), so a sync never deletes a
					 * copy because the original was
					 * unreadable */
};

/* msg is the AWS CLI's warning without its "warning: " prefix, naming the
 * absolute path: "Skipping file /abs/dist/a.js. File/Directory is not
 * readable." (also "File does not exist." for a dangling link, "File is
 * character special device, block special device, FIFO, or socket.", and,
 * gantry's own, "File/Directory is a symbolic link loop."). Borrowed for
 * the call. */
typedef void (*localtree_warn_fn)(void *arg, const char *msg);

/* List root (a folder; or a single file, listed as its base name).
 * -1 when root itself cannot be read (ERR_NOT_FOUND / ERR_IO, naming it),
 * a folder fails while being listed (ERR_IO) or a limit is passed
 * (ERR_LIMIT). warn may be NULL. *out is overwritten (it need not be
 * initialised) and is the caller's to localtree_release; after a failure
 * it is empty. */
int localtree_list(struct localtree *out, const char *root, bool follow,
		   localtree_warn_fn warn, void *arg, struct err *e);
/* Free the files and empty t; releasing twice is harmless. */
void localtree_release(struct localtree *t);

/* MD5 of a file as lower-case hex (32 + NUL), read with a 1 MB buffer
 * (OpenSSL EVP; a link is followed). -1 naming the path when it cannot be
 * read (ERR_NOT_FOUND, ERR_IO), ERR_INTERNAL when OpenSSL refuses MD5
 * (a FIPS-only provider). */
int localtree_md5(char out[33], const char *path, struct err *e);

#endif
