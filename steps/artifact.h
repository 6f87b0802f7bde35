/*
 * artifact: what upload-artifact and download-artifact share: the folders
 * gantry may read and write for a step, folders opened without following
 * links, artifact names and the names inside a zip.
 *
 * Threat model: these step types run in gantry's own process, with its
 * rights, outside the job's sandbox, on folders the job's steps can
 * write (the workspace, RUNNER_TEMP, a store inside the workspace). So
 * they read files only from those roots (art_roots), and every folder
 * they write into, or read zips from, below a root is opened one
 * component at a time with O_NOFOLLOW (art_open_below): a symbolic link
 * an earlier step planted, or swaps in while they work, cannot lead them
 * to the host's files. Zips are untrusted input (a step can put any file
 * in the store): their entry names are checked (art_entry_ok) before
 * anything is written.
 *
 * Modules: artifact_glob.h finds the files to upload, artifact_store.h
 * keeps the run's zips; artifact_upload.c and artifact_download.c are the
 * two step types.
 */
#ifndef GANTRY_STEPS_ARTIFACT_H
#define GANTRY_STEPS_ARTIFACT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "step.h"

/* Walks and zips: files taken, folder depth. */
#define ART_FILES_MAX 1000000
#define ART_DEPTH_MAX 256
/* Extraction, against zip bombs: every artifact of one step together
 * writes at most ART_EXTRACT_MAX bytes, and one artifact at most
 * ART_RATIO times its zip's size (but ART_EXTRACT_FLOOR whatever the
 * zip), counted as written, not as the headers claim; an entry that
 * holds more than its header says is refused. */
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
/* The root (index) that abs lies in lexically, the innermost when they
 * nest; *rel (borrowed from abs) gets the part below it ("" for the root
 * itself). -1 when none. */
int art_roots_find(const struct art_roots *r, const char *abs,
		   const char **rel);
/* Whether a resolved path is inside one of the roots' resolved forms. */
bool art_roots_contain_real(const struct art_roots *r, const char *real);

/* The folder rel below root, opened one component at a time without
 * following links ("" is root itself, which is opened as it is); made
 * (mode) when create. -1: ERR_INVALID naming the part that is a link or
 * not a folder, or a ".." part; ERR_NOT_FOUND when absent and !create. */
int art_open_below(int *out, const char *root, const char *rel, bool create,
		   mode_t mode, struct err *e);
/* The same from an open folder (start; shown names it in messages). */
int art_openat_below(int *out, int start, const char *shown, const char *rel,
		     bool create, mode_t mode, struct err *e);

/* Artifact names as @actions/artifact takes them: not empty, none of
 * " : < > | * ? \ / CR LF (nor other control characters), not "." or
 * "..", at most ART_NAME_MAX bytes (the store's file names add to it).
 * input names the input in the message. */
#define ART_NAME_MAX 200
int art_name_check(const char *name, const char *input, struct err *e);
/* A path inside an artifact as @actions/artifact takes it: none of
 * " : < > | * ? CR LF. */
int art_path_check(const char *rel, struct err *e);
/* Whether a zip entry's name may be written below a folder: relative,
 * no ".." part ('\' counts as a separator too), something left after
 * "." parts, at most ART_DEPTH_MAX parts of at most 255 bytes. */
bool art_entry_ok(const char *name);

/* A stable artifact ID for (run, name): 52 bits of SHA-256, decimal. */
long long art_id(long long run_id, const char *name);
/* Lower-case hex SHA-256 of fd's whole content (out[65]). */
int art_sha256_fd(char out[65], int fd, struct err *e);

#endif
