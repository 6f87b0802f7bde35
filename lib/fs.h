/*
 * fs: the file system operations gantry needs, with errors that name the
 * path. Paths are plain C strings; every returned string is the caller's.
 */
#ifndef GANTRY_FS_H
#define GANTRY_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "err.h"

/* Append the whole file to b (b's cap applies: ERR_LIMIT past it). */
int fs_read_file(struct buf *b, const char *path, struct err *e);
/* Write data to path atomically (temporary file in the same folder, then
 * rename), with the given mode. */
int fs_write_file(const char *path, const void *data, size_t len, mode_t mode,
		  struct err *e);
/* As fs_write_file, and durable: the temporary file (path.tmp-XXXXXX,
 * created with O_EXCL and mode, then set to exactly mode whatever the
 * umask) is written, fsynced and renamed over path, then the folder is
 * fsynced. On a failure before the rename the temporary file is removed
 * and path is untouched; a failure to sync the folder after the rename
 * leaves path with the new data (written, perhaps not yet durable). The
 * folder must exist. Errors are ERR_IO and name path. */
int fs_write_file_sync(const char *path, const void *data, size_t len,
		       mode_t mode, struct err *e);
/* Write all of data to fd, going on after short writes and EINTR; 0, or
 * -1 with errno set. */
int fs_write_all(int fd, const void *data, size_t len);
/* gantry's folder sub (such as "git") in the user's cache home:
 * $XDG_CACHE_HOME/gantry/sub, else $HOME/.cache/gantry/sub; NULL when
 * neither is an absolute path. Caller frees. */
char *fs_user_cache_dir(const char *sub);
/* Append to a file, creating it. */
int fs_append_file(const char *path, const void *data, size_t len,
		   struct err *e);
/* mkdir -p. */
int fs_mkdirs(const char *path, mode_t mode, struct err *e);
/* A new folder under $TMPDIR (or /tmp) named prefix-XXXXXX; *out owned. */
int fs_mkdtemp(char **out, const char *prefix, struct err *e);
/* rm -rf; a missing path is not an error. Does not follow symlinks. */
int fs_remove_tree(const char *path, struct err *e);
bool fs_exists(const char *path);
bool fs_is_dir(const char *path);
/* a/b, or b alone when b is absolute. Caller frees. */
char *fs_join(const char *a, const char *b);
/* Whether p is a relative path that stays below the folder it is joined
 * to: not empty, not absolute, no ".." part. */
bool fs_rel_inside(const char *p);
/* The folder part of path ("." for a bare name). Caller frees. */
char *fs_dirname(const char *path);
/* The absolute, resolved form of path; NULL (errno set) on failure. */
char *fs_realpath(const char *path);
/* Whether path, or its nearest existing ancestor, resolves (links
 * followed) to root (an already resolved absolute path) or below it. */
bool fs_inside(const char *root, const char *path);
/* Look name up in a PATH-style list; the absolute path or NULL. */
char *fs_which(const char *name, const char *path_list);

#endif
