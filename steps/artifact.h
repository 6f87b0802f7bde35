/*
 * artifact: what upload-artifact and download-artifact share: the run's
 * artifact store, artifact names, and @actions/glob's matching rules.
 *
 * The store is a folder or an s3://bucket/prefix URL (gantry run
 * --artifact-store). A run's artifacts are <store>/<run_id>/<name>.zip,
 * each with <name>.zip.json beside it (name, size, SHA-256, retention,
 * time), so the jobs of one run hand files to each other through it. In a
 * folder, a zip is written under a temporary name and renamed into place
 * (or linked, when it must not replace one), so a reader never sees half
 * an artifact.
 *
 * Threat model: these step types run in gantry's own process, with its
 * rights, outside the job's sandbox, on folders the job's steps can
 * write (the workspace, RUNNER_TEMP, a store inside the workspace). So
 * every folder they write into or read zips from below those is opened
 * one component at a time with O_NOFOLLOW (art_open_below): a symbolic
 * link an earlier step planted, or swaps in while we work, cannot lead
 * them to the host's files. Zips are untrusted input (a step can put any
 * file in the store): entry names are checked (art_entry_ok) before
 * anything is written.
 */
#ifndef GANTRY_STEPS_ARTIFACT_H
#define GANTRY_STEPS_ARTIFACT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "step.h"
#include "../lib/strv.h"

/* PutObject sends the whole zip from memory for now: past this, upload
 * to a folder store instead (a multipart upload would lift it). */
#define ART_S3_PUT_MAX (2LL << 30)
/* Walks: files taken, folder depth. */
#define ART_FILES_MAX 1000000
#define ART_DEPTH_MAX 256
/* Extraction, against zip bombs: every artifact of one step together
 * writes at most ART_EXTRACT_MAX bytes, and one artifact at most
 * ART_RATIO times its zip's size (but ART_EXTRACT_FLOOR whatever the
 * zip), counted as written, not as the headers claim. */
#define ART_EXTRACT_MAX (16LL << 30)
#define ART_EXTRACT_FLOOR (1LL << 30)
#define ART_RATIO 100
#define ART_ENTRIES_MAX 1000000

/* The step's folders gantry may read and write for it. */
struct art_roots {
	const char *dir[2];		/* borrowed: workspace, RUNNER_TEMP */
	char *real[2];			/* owned: their resolved forms */
	size_t n;
};

void art_roots_init(struct art_roots *r, const struct step_ctx *c);
void art_roots_release(struct art_roots *r);
/* The root (index) that abs lies under lexically ("" rel when it is the
 * root), or -1. *rel borrowed from abs. */
int art_roots_find(const struct art_roots *r, const char *abs,
		   const char **rel);
/* Whether a resolved path is inside one of the roots' resolved forms. */
bool art_roots_contain_real(const struct art_roots *r, const char *real);

/* The folder rel below root, opened one component at a time without
 * following links ("" is root itself); created (mode) when create.
 * -1 (ERR_INVALID) naming the part that is a link or not a folder,
 * ERR_NOT_FOUND when absent and !create. */
int art_open_below(int *out, const char *root, const char *rel, bool create,
		   mode_t mode, struct err *e);
/* The same from an open folder (start, shown as shown in messages). */
int art_openat_below(int *out, int start, const char *shown, const char *rel,
		     bool create, mode_t mode, struct err *e);

/* Artifact names as @actions/artifact takes them: not empty, none of
 * " : < > | * ? \ / CR LF (nor other control characters), not "." or
 * "..", at most 250 bytes. input names the input for the message. */
int art_name_check(const char *name, const char *input, struct err *e);
/* A path inside an artifact as @actions/artifact takes it: none of
 * " : < > | * ? CR LF. */
int art_path_check(const char *rel, struct err *e);
/* Whether a zip entry's name may be written below a folder: relative,
 * not empty, no ".." part, no NUL-less tricks (no empty name after "./"
 * parts), at most ART_DEPTH_MAX parts of at most 255 bytes. */
bool art_entry_ok(const char *name);

/* One glob path segment (no '/') as minimatch with dot: '*' any run,
 * '?' any one character, "[...]" a set or range ("[!...]", "[^...]"
 * its complement), '\' escapes. */
bool art_glob_seg(const char *pat, const char *s);
/* A '/'-separated pattern against a '/'-separated string: the segments
 * above, and "**" as a whole segment for any number of segments. For
 * artifact names (download's pattern:) and the tests. */
bool art_glob(const char *pat, const char *s);
/* The same on split segments; partial: whether s could be a folder
 * above a match (s ran out first). */
bool art_glob_segs(char *const *p, size_t np, char *const *s, size_t ns,
		   bool partial);

/* The least common ancestor of absolute paths, by whole segments ("/"
 * when none). Owned. */
char *art_lca(char *const *paths, size_t n);

/* A stable artifact ID for (run, name): 52 bits of SHA-256, decimal. */
long long art_id(long long run_id, const char *name);

/* The run's part of the store. */
struct art_store {
	bool s3;
	long long run_id;
	char *shown;			/* owned: "<store>/<run_id>" to print */
	/* folder */
	char *dir;			/* owned: <store>/<run_id> */
	int dirfd;			/* the run's folder; -1: none yet */
	/* S3 */
	char *bucket, *prefix;		/* owned; prefix "<p>/<run_id>/" */
	struct aws_credp *creds;	/* owned */
	struct aws_client *cl;		/* owned */
	struct strv env;		/* the client's environment */
};

/* Open the store's run_id part: for a folder, its folder (made when
 * create; else dirfd -1 when absent); for S3, a client with the step's
 * environment (the credentials configure-aws-credentials left). The
 * dry run never contacts S3 (no client). */
int art_store_open(struct art_store *s, struct step_ctx *c, long long run_id,
		   bool create, struct err *e);
void art_store_release(struct art_store *s);
/* Where name's zip is: file:///... or s3://... Owned. */
char *art_store_url(const struct art_store *s, const char *name);
/* The artifacts' names, sorted. */
int art_store_list(struct art_store *s, struct strv *out, struct err *e);
/* 1 when name's zip exists, 0 when not, -1 on error. */
int art_store_exists(struct art_store *s, const char *name, struct err *e);

/* A zip being written: into the run's folder under a temporary name, or
 * (S3) into an unlinked temporary file. */
struct art_tmp {
	int fd;
	char *name;			/* owned: the temporary name, or NULL */
};

int art_store_begin(struct art_store *s, const char *name, struct art_tmp *t,
		    struct err *e);
/* Put t's zip (size bytes) in place as name, and meta (JSON text)
 * beside it; !overwrite: an existing name is an error. t is consumed. */
int art_store_commit(struct art_store *s, const char *name, struct art_tmp *t,
		     long long size, bool overwrite, const char *meta,
		     struct err *e);
void art_store_abort(struct art_store *s, struct art_tmp *t);
/* A file descriptor to read name's zip from (*size its size); S3 zips
 * are fetched into an unlinked temporary file. The caller closes it. */
int art_store_fetch(struct art_store *s, const char *name, int *fd,
		    long long *size, struct err *e);
/* name's .zip.json, or NULL when absent or unreadable. New reference. */
json_t *art_store_meta(struct art_store *s, const char *name);

/* Lower-case hex SHA-256 of the rest of fd from offset 0 (out[65]). */
int art_sha256_fd(char out[65], int fd, struct err *e);

#endif
