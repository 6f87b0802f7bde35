/*
 * artifact_store: a run's artifacts, in a folder or under an
 * s3://bucket/prefix URL (gantry run --artifact-store; by default
 * .gantry/artifacts in the workspace).
 *
 * Layout: <store>/<run_id>/<name>.zip, and beside it <name>.zip.json
 * (name, ID, size, SHA-256, files, retention-days, times, job), so the
 * jobs of one run hand files to each other through the store, and a later
 * run can read an earlier one's by its run ID. In a folder, a zip is
 * written under a temporary name in the run's folder and renamed into
 * place (or linked, when it must not replace one: two jobs uploading one
 * name at once cannot both win), so a reader never sees half an artifact;
 * the run's folder is opened without following links when it lies in the
 * job's folders (artifact.h). In S3, the zip goes up in one PutObject from
 * memory (ART_S3_PUT_MAX) and comes down streamed into a temporary file;
 * the client takes its credentials and region from the step's environment
 * (what configure-aws-credentials left), through the default chain.
 */
#ifndef GANTRY_STEPS_ARTIFACT_STORE_H
#define GANTRY_STEPS_ARTIFACT_STORE_H

#include <stdbool.h>

#include "artifact.h"
#include "../lib/strv.h"

/* PutObject sends the whole zip from memory for now: past this, use a
 * folder store (a multipart upload from the file would lift it). */
#define ART_S3_PUT_MAX (2LL << 30)

struct aws_credp;
struct aws_client;

struct art_store {
	bool s3;
	long long run_id;
	char *shown;			/* owned: "<store>/<run_id>", to print */
	/* a folder */
	char *dir;			/* owned: <store>/<run_id> */
	int dirfd;			/* the run's folder; -1: none yet */
	/* S3 */
	char *bucket, *prefix;		/* owned; prefix "<p>/<run_id>/" */
	struct aws_credp *creds;	/* owned */
	struct aws_client *cl;		/* owned; NULL in a dry run */
	struct strv env;		/* the client's environment */
};

/* Open run_id's part of c's store: for a folder, the run's folder (made
 * when create; dirfd -1 when absent and !create); for S3, a client. A
 * dry run makes no client (and contacts nothing). */
int art_store_open(struct art_store *s, struct step_ctx *c, long long run_id,
		   bool create, struct err *e);
/* Safe on a zeroed store with dirfd -1. */
void art_store_release(struct art_store *s);
/* Where name's zip is: file:///... (percent-encoded) or s3://... Owned. */
char *art_store_url(const struct art_store *s, const char *name);
/* The artifacts' names, sorted (files that are not valid names' zips are
 * left out). Empty in a dry run on S3. */
int art_store_list(struct art_store *s, struct strv *out, struct err *e);
/* 1 when name's zip exists, 0 when not, -1 on error. */
int art_store_exists(struct art_store *s, const char *name, struct err *e);

/* A zip being written: in the run's folder under a temporary name, or
 * (S3) in an unlinked temporary file under $TMPDIR. */
struct art_tmp {
	int fd;
	char *name;			/* owned: the temporary name, or NULL */
};

int art_store_begin(struct art_store *s, const char *name, struct art_tmp *t,
		    struct err *e);
/* Put t's zip (size bytes) in place as name, then meta (JSON text)
 * beside it: 0, or 1 when the zip is in place but meta could not be
 * written (e says why), or -1. !overwrite: an existing name is an error
 * (ERR_INVALID) in a folder; S3 has no such check here (ask
 * art_store_exists first). t is consumed either way. */
int art_store_commit(struct art_store *s, const char *name, struct art_tmp *t,
		     long long size, bool overwrite, const char *meta,
		     struct err *e);
/* Drop t (its temporary file too). */
void art_store_abort(struct art_store *s, struct art_tmp *t);
/* A descriptor to read name's zip from, and its size; from S3 the zip is
 * fetched into an unlinked temporary file first. The caller closes it. */
int art_store_fetch(struct art_store *s, const char *name, int *fd,
		    long long *size, struct err *e);
/* name's .zip.json, or NULL when absent or not a JSON object. New
 * reference. */
json_t *art_store_meta(struct art_store *s, const char *name);

#endif
